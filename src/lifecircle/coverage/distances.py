"""Exact walking distances on the network, fast enough for a whole city every month.

Everything runs on ``scipy.sparse.csgraph.dijkstra``; what makes it fast is *where*:

- **Nearest outlet of each group** (category), from target nodes (population points):
  a multi-source search from a virtual source joined to every outlet's street node by the
  outlet's walk to the street. On a large network such a search is bound by memory
  latency (measured: ~3x slower per node on 400,000 nodes than on 10,000), so it runs
  per spatial *tile* of targets on the tile's subgraph (the tile plus a margin), which
  stays in cache. A tile's answer is *certified*: a path that leaves the subgraph is at
  least ``detour_floor`` x the planar distance from the target to the subgraph's edge, so
  any distance below that bound is the true one. The rare (target, group) pairs left
  uncertain are finished exactly: one whole-network search for a group with many of
  them, a bounded search from the target otherwise.
- **Everything within reach of an origin** (centroids for ``outlets_within``, points for
  candidate sites): bounded searches per tile on the tile's subgraph, which holds every
  node within ``limit / detour_floor`` of the tile's origins, so no path of length <=
  ``limit`` is cut. scipy initialises a node array of the whole graph for every source;
  on the subgraph that cost is small.

csgraph holds the GIL, so tiles run on forked processes, which inherit the graph instead
of pickling it (``fork_map``). ``detour_floor`` is ~1 for real street geometry; a bad edge
only makes it smaller, i.e. the subgraphs larger and the run slower, never wrong.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from lifecircle.coverage.network import EPS_M, WalkGraph

log = logging.getLogger(__name__)

REGION_NODES = 16_000    # target subgraph size of a tile: stays in cache, few Python round trips
MARGIN_M = 500.0         # planar margin of a nearest-outlet tile; larger = fewer uncertain pairs
GLOBAL_IF_UNRESOLVED = 256   # a group with more uncertain targets gets one whole-network search
TILE_PER_LIMIT = 2.5     # bounded searches: tile side = this x the search limit
SLACK_M = 1.0            # planar slack on every certification (float noise in local metres)
PARALLEL_MIN_NODES = 20_000  # below this a fork (~0.1 s) costs more than it saves
PARALLEL_MIN_ORIGINS = 500   # the same for bounded searches (~1 ms each)


# ------------------------------------------------------------------ processes
_SHARED: dict = {}


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _call(fn: Callable, task):
    return fn(_SHARED, task)


def fork_map(fn: Callable, tasks: Sequence, shared: dict, workers: int) -> list:
    """``[fn(shared, task) for task in tasks]`` on ``workers`` forked processes.

    ``shared`` (the graph, snapped outlets) reaches the workers by fork, never pickled;
    only tasks and results cross the pipe, so both must stay small. Serial when one
    worker is asked for or the platform cannot fork."""
    global _SHARED
    if workers <= 1 or len(tasks) <= 1 or "fork" not in mp.get_all_start_methods():
        return [fn(shared, t) for t in tasks]
    _SHARED = shared
    try:
        with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=mp.get_context("fork")) as pool:
            return list(pool.map(_call, [fn] * len(tasks), tasks))
    finally:
        _SHARED = {}


def _workers(graph: WalkGraph, workers: int | None) -> int:
    if graph.n < PARALLEL_MIN_NODES:
        return 1
    return default_workers() if workers is None else workers


# ------------------------------------------------------------------ building blocks
@dataclass(frozen=True)
class OutletsByNode:
    """Outlets sorted by street node: ``ptr[v]:ptr[v+1]`` are the outlets on node ``v``."""
    ptr: np.ndarray      # n + 1
    node: np.ndarray     # street node of each outlet (sorted)
    group: np.ndarray    # group (category) position of each outlet
    offset: np.ndarray   # walk from the outlet to its street node (m)

    @classmethod
    def build(cls, n: int, nodes, groups, offsets, shortest_only: bool = False) -> "OutletsByNode":
        """``shortest_only``: keep one outlet per (node, group), the one nearest the street."""
        nodes, groups = np.asarray(nodes, np.int64), np.asarray(groups, np.int64)
        offsets = np.maximum(np.asarray(offsets, float), EPS_M)
        if shortest_only and len(nodes):
            n_groups = int(groups.max()) + 1
            key = nodes * n_groups + groups
            order = np.argsort(key, kind="stable")          # one int sort: ~3x faster than lexsort
            sorted_key = key[order]
            first = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
            offsets = np.minimum.reduceat(offsets[order], first)
            nodes, groups = sorted_key[first] // n_groups, sorted_key[first] % n_groups
        else:
            order = np.argsort(nodes, kind="stable")
            nodes, groups, offsets = nodes[order], groups[order], offsets[order]
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(nodes, minlength=n), out=ptr[1:])
        return cls(ptr, nodes, groups, offsets)

    def on(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions of the outlets standing on ``nodes``, index into ``nodes`` of each)."""
        start = self.ptr[nodes]
        per = self.ptr[nodes + 1] - start
        owner = np.repeat(np.arange(len(nodes)), per)
        return np.repeat(start - np.cumsum(per) + per, per) + np.arange(len(owner)), owner


def with_virtual_source(matrix: sparse.csr_matrix, nodes: np.ndarray, offsets: np.ndarray) -> sparse.csr_matrix:
    """The graph plus one node (index n) with an edge to each ``nodes[i]`` of ``offsets[i]``.

    Only a row is appended (the virtual node has no in-edges): three array
    concatenations, not a sparse vstack/hstack."""
    n = matrix.shape[0]
    indptr = np.append(matrix.indptr, matrix.indptr[-1] + len(nodes)).astype(np.int32)
    return sparse.csr_matrix((np.concatenate([matrix.data, np.maximum(offsets, EPS_M)]),
                              np.concatenate([matrix.indices, np.asarray(nodes).astype(np.int32)]), indptr),
                             shape=(n + 1, n + 1))


def induced_subgraph(matrix: sparse.csr_matrix, keep: np.ndarray, position: np.ndarray) -> sparse.csr_matrix:
    """Rows/columns ``keep`` (sorted) of ``matrix``; ``position`` is a scratch array of -1
    (length n), left as it was found. scipy's fancy indexing costs O(n) per call."""
    position[keep] = np.arange(len(keep))
    start, end = matrix.indptr[keep], matrix.indptr[keep + 1]
    per = end - start
    pos = np.repeat(start - np.cumsum(per) + per, per) + np.arange(int(per.sum()))
    rows = np.repeat(np.arange(len(keep)), per)
    cols = position[matrix.indices[pos]]
    inside = cols >= 0
    sub = sparse.csr_matrix((matrix.data[pos][inside], (rows[inside], cols[inside])), shape=(len(keep), len(keep)))
    position[keep] = -1
    return sub


def _tiles(xy: np.ndarray, side: float) -> list[np.ndarray]:
    """Row positions of ``xy`` grouped by square tile of the given side."""
    if len(xy) == 0:
        return []
    cell = np.floor((xy - xy.min(axis=0)) / side).astype(np.int64)
    key = cell[:, 0] * (cell[:, 1].max() + 1) + cell[:, 1]
    order = np.argsort(key, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(key[order])) + 1)


def _region(graph: WalkGraph, xy: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted nodes of the square around ``xy`` grown by ``margin``, its low and high corners)."""
    centre = (xy.min(axis=0) + xy.max(axis=0)) / 2
    half = float((xy.max(axis=0) - xy.min(axis=0)).max() / 2 + margin)
    keep = np.sort(np.asarray(graph.tree.query_ball_point(centre, half, p=np.inf), dtype=np.int64))
    return keep, centre - half, centre + half


# ------------------------------------------------------------------ nearest outlet per group
def nearest_outlet_distance(graph: WalkGraph, outlet_nodes: np.ndarray, outlet_offsets: np.ndarray,
                            limit: float) -> np.ndarray:
    """Network distance from every node to the nearest outlet (inf beyond ``limit``),
    counting each outlet's walk to its street node: one whole-network search."""
    n = graph.n
    if len(outlet_nodes) == 0:
        return np.full(n, np.inf)
    by_node = OutletsByNode.build(n, outlet_nodes, np.zeros(len(outlet_nodes), np.int64), outlet_offsets,
                                  shortest_only=True)
    dist = dijkstra(with_virtual_source(graph.matrix, by_node.node, by_node.offset), directed=True,
                    indices=n, limit=limit)
    return dist[:n]


def _tile_nearest(shared: dict, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(members, groups x members distances, NaN where the tile cannot certify it)."""
    graph, by_node, limits = shared["graph"], shared["outlets"], shared["limits"]
    t_nodes = shared["targets"][members]
    xy = graph.xy[t_nodes]
    keep, lo, hi = _region(graph, xy, shared["margin"])
    sub = induced_subgraph(graph.matrix, keep, np.full(graph.n, -1, dtype=np.int64))
    local_t = np.searchsorted(keep, t_nodes)
    pos, o_local = by_node.on(keep)
    o_group, o_off = by_node.group[pos], by_node.offset[pos]
    order = np.argsort(o_group, kind="stable")
    bounds = np.searchsorted(o_group[order], np.arange(len(limits) + 1))
    whole = len(keep) == graph.n               # the square holds the whole network
    # a path leaving the square is at least detour_floor x the target's planar room long
    room = np.full(len(members), np.inf) if whole else (
        graph.detour_floor * np.minimum(xy - lo, hi - xy).min(axis=1) - SLACK_M)
    out = np.full((len(limits), len(members)), np.inf)
    for g in range(len(limits)):
        mine = order[bounds[g]:bounds[g + 1]]
        reach = min(limits[g], float(room.max()))   # nothing past the roomiest target is certain
        if len(mine) and reach >= 0:
            d = dijkstra(with_virtual_source(sub, o_local[mine], o_off[mine]), directed=True,
                         indices=len(keep), limit=reach)
            out[g] = d[local_t]
    certain = (out <= room[None, :]) | (room[None, :] >= limits[:, None])
    return members, np.where(certain, out, np.nan)


def _global_nearest(shared: dict, g: int) -> np.ndarray:
    by_node = shared["outlets"]
    mine = by_node.group == g
    n = shared["graph"].n
    if not mine.any():
        return np.full(len(shared["targets"]), np.inf)
    d = dijkstra(with_virtual_source(shared["graph"].matrix, by_node.node[mine], by_node.offset[mine]),
                 directed=True, indices=n, limit=shared["limits"][g])
    return d[shared["targets"]]


def _reach_nearest(shared: dict, tiles: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For uncertain (target, group) pairs: (target, group, distance) from bounded searches."""
    graph, by_node, limits = shared["graph"], shared["outlets"], shared["limits"]
    uncertain = shared["uncertain"]            # groups x targets bool
    position = np.full(graph.n, -1, dtype=np.int64)
    found = []
    for members in tiles:
        reach = _tile_reach(graph, shared["targets"], shared["reach_limits"], members, position)
        pos, pair = by_node.on(reach.node)
        t, g = reach.origin[pair], by_node.group[pos]
        d = reach.dist[pair] + by_node.offset[pos]
        ok = uncertain[g, t] & (d <= limits[g])
        found.append((t[ok], g[ok], d[ok]))
    return found


def nearest_by_group(graph: WalkGraph, outlet_nodes, outlet_offsets, outlet_groups, limits: Sequence[float],
                     targets: np.ndarray, workers: int | None = None) -> np.ndarray:
    """(groups x targets) network distance from each target node to the nearest outlet of
    each group, counting the outlet's walk to its street node; inf beyond the group's limit.

    Exact: tiles certify what they can, the rest is searched again (see module doc)."""
    limits = np.asarray(limits, float)
    targets = np.asarray(targets, np.int64)
    n_groups = len(limits)
    out = np.full((n_groups, len(targets)), np.inf)
    if n_groups == 0 or len(targets) == 0 or len(outlet_nodes) == 0:
        return out
    by_node = OutletsByNode.build(graph.n, outlet_nodes, outlet_groups, outlet_offsets, shortest_only=True)
    workers = _workers(graph, workers)
    shared = {"graph": graph, "outlets": by_node, "limits": limits, "targets": targets, "margin": MARGIN_M}
    xy = graph.xy
    area_per_node = float(np.prod(xy.max(axis=0) - xy.min(axis=0))) / max(graph.n, 1)
    side = max(2 * MARGIN_M, (REGION_NODES * area_per_node) ** 0.5 - 2 * MARGIN_M)
    tiles = _tiles(xy[targets], side)
    for members, dist in fork_map(_tile_nearest, tiles, shared, workers):
        out[:, members] = dist

    uncertain = np.isnan(out)
    many = np.flatnonzero(uncertain.sum(axis=1) > GLOBAL_IF_UNRESOLVED)
    log.debug("nearest: %d tiles of %.0f m, %d uncertain (target, group) pairs, %d groups searched whole",
              len(tiles), side, int(uncertain.sum()), len(many))
    for g, dist in zip(many, fork_map(_global_nearest, list(many), shared, workers)):
        out[g] = dist
    uncertain[many] = False
    few = np.flatnonzero(uncertain.any(axis=0))
    if len(few):
        out[uncertain] = np.inf
        reach_limits = np.full(len(targets), -1.0)
        reach_limits[few] = (np.where(uncertain[:, few], limits[:, None], -1.0)).max(axis=0)
        shared.update(uncertain=uncertain, reach_limits=reach_limits)
        side = max(TILE_PER_LIMIT * float(reach_limits.max()), 100.0)
        tiles = [few[t] for t in _tiles(xy[targets[few]], side)]
        reach_workers = workers if len(few) >= PARALLEL_MIN_ORIGINS else 1
        for part in fork_map(_reach_nearest, _batches(tiles, reach_workers), shared, reach_workers):
            for t, g, d in part:
                np.minimum.at(out, (g, t), d)
    return out


# ------------------------------------------------------------------ bounded searches from origins
@dataclass(frozen=True)
class Reach:
    """Every (origin, node) pair within the origin's limit: parallel arrays, any order."""
    origin: np.ndarray   # position in the origins passed in
    node: np.ndarray     # graph node
    dist: np.ndarray     # network metres from the origin's node


def _tile_reach(graph: WalkGraph, origin_nodes: np.ndarray, limits: np.ndarray, members: np.ndarray,
                position: np.ndarray) -> Reach:
    """Bounded searches from the origins ``members`` (one tile) on the tile's subgraph."""
    own = origin_nodes[members]
    lim = limits[members]
    reach_lim = float(lim.max())
    keep, _, _ = _region(graph, graph.xy[own], reach_lim / graph.detour_floor + SLACK_M)
    sub = induced_subgraph(graph.matrix, keep, position)
    dist = dijkstra(sub, directed=True, indices=np.searchsorted(keep, own), limit=reach_lim)
    row, col = np.nonzero(dist <= lim[:, None])
    return Reach(members[row], keep[col], dist[row, col])


def _batches(tiles: list, workers: int) -> list[list]:
    """Contiguous runs of tiles (neighbours share cache), a few per worker for balance."""
    if not tiles:
        return []
    return [[tiles[i] for i in b] for b in np.array_split(np.arange(len(tiles)), min(len(tiles), 4 * workers))
            if len(b)]


def _origin_tiles(graph: WalkGraph, origin_nodes: np.ndarray, limits: np.ndarray) -> list[np.ndarray]:
    active = np.flatnonzero(limits >= 0)
    if len(active) == 0:
        return []
    side = max(TILE_PER_LIMIT * float(limits[active].max()), 100.0)
    return [active[t] for t in _tiles(graph.xy[origin_nodes[active]], side)]


def within_reach(graph: WalkGraph, origin_nodes: np.ndarray, limits) -> Reach:
    """Every node within ``limits`` (per origin, or one value) of each origin node, with its
    network distance. For greedy candidate sites: the nodes that would cover a point."""
    origin_nodes = np.asarray(origin_nodes, dtype=np.int64)
    limits = np.broadcast_to(np.asarray(limits, float), origin_nodes.shape)
    position = np.full(graph.n, -1, dtype=np.int64)
    parts = [_tile_reach(graph, origin_nodes, limits, t, position) for t in _origin_tiles(graph, origin_nodes, limits)]
    if not parts:
        empty = np.array([], np.int64)
        return Reach(empty, empty, np.array([], float))
    return Reach(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("origin", "node", "dist")))


# ------------------------------------------------------------------ outlets within reach
def _count_task(shared: dict, tiles: list[np.ndarray]) -> np.ndarray:
    graph, nodes, by_node, thresholds = shared["graph"], shared["origin_nodes"], shared["outlets"], shared["thresholds"]
    position = np.full(graph.n, -1, dtype=np.int64)
    n_origins, k = len(nodes), len(thresholds)
    counts = np.zeros(n_origins * k, dtype=np.int64)
    for members in tiles:
        reach = _tile_reach(graph, nodes, shared["limits"], members, position)
        pos, pair = by_node.on(reach.node)
        origin, group = reach.origin[pair], by_node.group[pos]
        walk = reach.dist[pair] + by_node.offset[pos] + shared["origin_offsets"][origin]
        ok = walk <= thresholds[group]
        counts += np.bincount(origin[ok] * k + group[ok], minlength=n_origins * k)
    return counts.reshape(n_origins, k)


def count_outlets_within(graph: WalkGraph, origin_nodes: np.ndarray, origin_offsets: np.ndarray,
                         outlets: OutletsByNode, thresholds: np.ndarray, workers: int | None = None) -> np.ndarray:
    """(origins x groups) outlets within each group's threshold of each origin, exactly:
    origin -> its street node -> network -> the outlet's street node -> the outlet."""
    origin_nodes = np.asarray(origin_nodes, dtype=np.int64)
    origin_offsets = np.asarray(origin_offsets, float)
    thresholds = np.asarray(thresholds, float)
    if len(origin_nodes) == 0 or len(thresholds) == 0:
        return np.zeros((len(origin_nodes), len(thresholds)), dtype=np.int64)
    # search no further than the largest threshold minus the origin's own walk to the street
    limits = float(thresholds.max()) - origin_offsets
    tiles = _origin_tiles(graph, origin_nodes, limits)
    workers = _workers(graph, workers) if len(origin_nodes) >= PARALLEL_MIN_ORIGINS else 1
    shared = {"graph": graph, "origin_nodes": origin_nodes, "origin_offsets": origin_offsets, "limits": limits,
              "outlets": outlets, "thresholds": thresholds}
    parts = fork_map(_count_task, _batches(tiles, workers), shared, workers)
    return sum(parts) if parts else np.zeros((len(origin_nodes), len(thresholds)), dtype=np.int64)
