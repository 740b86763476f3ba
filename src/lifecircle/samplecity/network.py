"""Walking network of the sample city: jittered street grids joined by roads.

Why this shape: coverage is measured as walking distance on a graph, so the graph must
be connected, metric (edge length = haversine of its ends) and dense enough that
snapping a point to its nearest node costs little compared with 400-1,200 m thresholds.
Each district gets a street grid of 100-150 m blocks with small jitter, a few parks
(grid nodes removed), a river between street-block rows that can only be crossed on
bridges, and a few diagonal streets. Districts are joined by straight roads along a
minimum spanning tree. Finally every edge longer than ``segment_m`` is split into
equal pieces, as the shape points of an OSM way would be, so there is a node at least
every ~50 m. Everything is numpy; one connected component is kept (and asserted).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lifecircle.geo import haversine_m
from lifecircle.samplecity.geography import Geography
from lifecircle.samplecity.names import ROAD_TYPES_MAIN, ROAD_TYPES_MINOR, road_names

GRID_SPACING_M = (100.0, 150.0)
NODE_JITTER_M = 12.0
MARGIN_M = 320.0
SEGMENT_M = 50.0
MAIN_ROAD_EVERY = 4


@dataclass
class ClusterGrid:
    """The regular (unjittered) grid of one district, used to put shops on streets."""

    district_code: str
    x0: float
    y0: float
    sx: float
    sy: float
    nx: int
    ny: int
    v_stems: list[str] = field(default_factory=list)  # N-S road at x0 + i*sx
    h_stems: list[str] = field(default_factory=list)  # E-W road at y0 + j*sy
    v_types: list[str] = field(default_factory=list)
    h_types: list[str] = field(default_factory=list)
    main_off: int = 0

    @property
    def xmax(self) -> float:
        return self.x0 + (self.nx - 1) * self.sx

    @property
    def ymax(self) -> float:
        return self.y0 + (self.ny - 1) * self.sy


@dataclass
class Network:
    lng: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    grids: list[ClusterGrid]

    @property
    def n_nodes(self) -> int:
        return len(self.lng)

    @property
    def n_edges(self) -> int:
        return len(self.u)


def _largest_component(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Boolean mask of the nodes in the largest connected component (ties: lowest label)."""
    if n == 0:
        return np.zeros(0, dtype=bool)
    g = coo_matrix((np.ones(len(u), dtype=np.int8), (u, v)), shape=(n, n))
    _, labels = connected_components(g, directed=False)
    sizes = np.bincount(labels)
    return labels == int(np.argmax(sizes))


def _cluster_grid(c: dict, rng: np.random.Generator):
    """Nodes (x, y), edges (u, v) in local ids, and the ClusterGrid for one district."""
    sx, sy = rng.uniform(*GRID_SPACING_M, size=2)
    x0 = c["xmin"] - MARGIN_M
    y0 = c["ymin"] - MARGIN_M
    nx = int(math.ceil((c["xmax"] + MARGIN_M - x0) / sx)) + 1
    ny = int(math.ceil((c["ymax"] + MARGIN_M - y0) / sy)) + 1
    jj, ii = np.mgrid[0:ny, 0:nx]
    x = x0 + ii * sx + rng.uniform(-NODE_JITTER_M, NODE_JITTER_M, size=(ny, nx))
    y = y0 + jj * sy + rng.uniform(-NODE_JITTER_M, NODE_JITTER_M, size=(ny, nx))
    alive = np.ones((ny, nx), dtype=bool)
    # parks / squares / school grounds: the interior nodes of small cell rectangles
    n_parks = max(1, (nx * ny) // 180)
    for _ in range(n_parks):
        w, h = int(rng.integers(2, 5)), int(rng.integers(2, 4))
        if nx - w - 1 <= 1 or ny - h - 1 <= 1:
            continue
        i0, j0 = int(rng.integers(1, nx - w - 1)), int(rng.integers(1, ny - h - 1))
        alive[j0 + 1:j0 + h, i0 + 1:i0 + w] = False
    ids = np.arange(ny * nx).reshape(ny, nx)
    # horizontal and vertical street segments
    hu, hv = ids[:, :-1].ravel(), ids[:, 1:].ravel()
    vu, vv = ids[:-1, :].ravel(), ids[1:, :].ravel()
    v_keep = np.ones(len(vu), dtype=bool)
    for yr in c["river_ys"]:
        j_r = int(math.floor((yr - y0) / sy))
        if 0 <= j_r < ny - 1:
            every = int(rng.integers(6, 9))
            off = int(rng.integers(0, every))
            cols = np.arange(nx)
            blocked = ids[j_r, :][cols % every != off]
            v_keep &= ~np.isin(vu, blocked)
    # diagonal streets
    du, dv = [], []
    n_diag = int(min(6, max(1, (nx * ny) // 1500)))
    flat_y = y.ravel()
    for _ in range(n_diag):
        if nx < 4 or ny < 4:
            break
        L = int(rng.integers(8, 30))
        step = 1 if rng.uniform() < 0.5 else -1
        i_start, j_start = int(rng.integers(0, nx)), int(rng.integers(0, ny))
        t = np.arange(L + 1)
        ii_d, jj_d = i_start + t, j_start + step * t
        ok = (ii_d < nx) & (jj_d >= 0) & (jj_d < ny)
        ii_d, jj_d = ii_d[ok], jj_d[ok]
        if len(ii_d) < 2:
            continue
        a, b = ids[jj_d[:-1], ii_d[:-1]], ids[jj_d[1:], ii_d[1:]]
        crosses = np.zeros(len(a), dtype=bool)
        for yr in c["river_ys"]:
            crosses |= (flat_y[a] - yr) * (flat_y[b] - yr) < 0
        du.append(a[~crosses])
        dv.append(b[~crosses])
    u = np.concatenate([hu, vu[v_keep]] + du)
    v = np.concatenate([hv, vv[v_keep]] + dv)
    al = alive.ravel()
    keep = al[u] & al[v]
    u, v = u[keep], v[keep]
    main = _largest_component(nx * ny, u, v)
    keep = main[u] & main[v]
    u, v = u[keep], v[keep]
    # road names: main roads every 4th line, minor streets and lanes between
    stems = road_names(rng, nx + ny)
    main_off = int(rng.integers(0, MAIN_ROAD_EVERY))
    def _types(n):
        is_main = (np.arange(n) % MAIN_ROAD_EVERY) == main_off
        mt = rng.choice(ROAD_TYPES_MAIN, size=n)
        nt = rng.choice(ROAD_TYPES_MINOR, size=n)
        return [str(a) if m else str(b) for a, b, m in zip(mt, nt, is_main)]
    grid = ClusterGrid(district_code=c["district_code"], x0=float(x0), y0=float(y0),
                       sx=float(sx), sy=float(sy), nx=nx, ny=ny,
                       v_stems=stems[:nx], h_stems=stems[nx:], v_types=_types(nx),
                       h_types=_types(ny), main_off=main_off)
    return x.ravel(), y.ravel(), main, u, v, grid


def _mst_pairs(centres: np.ndarray) -> list[tuple[int, int]]:
    """Prim's minimum spanning tree over a handful of cluster centres."""
    k = len(centres)
    if k < 2:
        return []
    d = np.hypot(centres[:, None, 0] - centres[None, :, 0], centres[:, None, 1] - centres[None, :, 1])
    in_tree = np.zeros(k, dtype=bool)
    in_tree[0] = True
    pairs = []
    for _ in range(k - 1):
        sub = np.where(in_tree[:, None] & ~in_tree[None, :], d, np.inf)
        a, b = np.unravel_index(int(np.argmin(sub)), sub.shape)
        pairs.append((int(a), int(b)))
        in_tree[b] = True
    return pairs


def _subdivide(x, y, u, v, segment_m):
    """Split every edge longer than ``segment_m`` into equal straight pieces."""
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    k = np.maximum(1, np.ceil(length / segment_m - 1e-9).astype(np.int64))
    n0 = len(x)
    n_new = int((k - 1).sum())
    # new points: for edge e, t = 1..k-1 over k
    e_idx = np.repeat(np.arange(len(u)), k - 1)
    starts = np.cumsum(k - 1) - (k - 1)
    t = (np.arange(n_new) - np.repeat(starts, k - 1) + 1) / np.repeat(k, k - 1)
    nx_ = x[u[e_idx]] + t * (x[v[e_idx]] - x[u[e_idx]])
    ny_ = y[u[e_idx]] + t * (y[v[e_idx]] - y[u[e_idx]])
    new_ids = n0 + np.arange(n_new)
    # sequences u, new..., v per edge, then consecutive pairs within an edge
    seq_len = k + 1
    seq_start = np.cumsum(seq_len) - seq_len
    seq = np.empty(int(seq_len.sum()), dtype=np.int64)
    seq[seq_start] = u
    seq[seq_start + k] = v
    inner_pos = np.repeat(seq_start, k - 1) + (np.arange(n_new) - np.repeat(starts, k - 1) + 1)
    seq[inner_pos] = new_ids
    edge_of = np.repeat(np.arange(len(u)), seq_len)
    same = edge_of[:-1] == edge_of[1:]
    return (np.concatenate([x, nx_]), np.concatenate([y, ny_]), seq[:-1][same], seq[1:][same])


def build_network(geo: Geography, rng: np.random.Generator, segment_m: float = SEGMENT_M) -> Network:
    """The walking network over every district of ``geo`` (WGS-84 nodes, metric edges)."""
    xs, ys, alive, us, vs, grids = [], [], [], [], [], []
    offset = 0
    for c in geo.clusters:
        x, y, main, u, v, grid = _cluster_grid(c, rng)
        xs.append(x)
        ys.append(y)
        alive.append(main)
        us.append(u + offset)
        vs.append(v + offset)
        grids.append(grid)
        offset += len(x)
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    alive_all = np.concatenate(alive)
    u = np.concatenate(us)
    v = np.concatenate(vs)
    # join districts along a minimum spanning tree of their centres
    centres = np.array([[(c["xmin"] + c["xmax"]) / 2, (c["ymin"] + c["ymax"]) / 2] for c in geo.clusters])
    bounds = np.cumsum([0] + [len(a) for a in xs])
    extra_x, extra_y, eu, ev = [], [], [], []
    next_id = len(x)
    for a, b in _mst_pairs(centres):
        ia = np.arange(bounds[a], bounds[a + 1])[alive[a]]
        ib = np.arange(bounds[b], bounds[b + 1])[alive[b]]
        na = ia[np.argmin(np.hypot(x[ia] - centres[b, 0], y[ia] - centres[b, 1]))]
        nb = ib[np.argmin(np.hypot(x[ib] - x[na], y[ib] - y[na]))]
        dist = math.hypot(x[nb] - x[na], y[nb] - y[na])
        k = max(1, int(math.ceil(dist / segment_m)))
        t = np.arange(1, k) / k
        px, py = x[na] + t * (x[nb] - x[na]), y[na] + t * (y[nb] - y[na])
        chain = np.concatenate([[na], next_id + np.arange(k - 1), [nb]])
        extra_x.append(px)
        extra_y.append(py)
        eu.append(chain[:-1])
        ev.append(chain[1:])
        next_id += k - 1
    if extra_x:
        x = np.concatenate([x] + extra_x)
        y = np.concatenate([y] + extra_y)
        alive_all = np.concatenate([alive_all, np.ones(next_id - len(alive_all), dtype=bool)])
        u = np.concatenate([u] + eu)
        v = np.concatenate([v] + ev)
    # drop dead grid nodes, renumber densely in creation order
    keep = alive_all & _largest_component(len(x), u, v)
    new_id = np.full(len(x), -1, dtype=np.int64)
    new_id[keep] = np.arange(int(keep.sum()))
    ok = keep[u] & keep[v]
    x, y, u, v = x[keep], y[keep], new_id[u[ok]], new_id[v[ok]]
    x, y, u, v = _subdivide(x, y, u, v, segment_m)
    lng, lat = geo.proj.to_lnglat(x, y)
    lng = np.round(lng, 7)
    lat = np.round(lat, 7)
    length = np.round(haversine_m(lng[u], lat[u], lng[v], lat[v]), 2)
    assert _largest_component(len(lng), u, v).all(), "network must be one connected component"
    return Network(lng=lng, lat=lat, u=u, v=v, length_m=length, grids=grids)
