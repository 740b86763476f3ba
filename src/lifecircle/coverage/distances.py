"""Exact walking distances on the network, fast enough for a whole city every month.

Two searches, both exact, both on ``scipy.sparse.csgraph.dijkstra``:

- **nearest outlet of a group** (a category): one multi-source search from a virtual
  source joined to every outlet's street node by the outlet's walk to the street, capped
  at ``limit``. Cost grows with the network, not with outlets x origins. Groups are
  independent, so they run on every core: csgraph holds the GIL, hence forked processes,
  which inherit the graph instead of pickling it.
- **everything within reach of an origin** (a centroid, a population point): bounded
  searches run per spatial tile on the tile's own small subgraph. scipy initialises a
  node array of the whole graph for every source, which would dominate thousands of
  short searches on a large network. The subgraph holds every node within
  ``limit / detour_floor`` of the tile's origins in the plane, so every path of length
  <= ``limit`` stays inside it: the tiling is exact, not a heuristic.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from lifecircle.coverage.network import EPS_M, WalkGraph

# Forking costs ~0.1 s; below this many node visits (nodes x groups) one process is faster.
PARALLEL_MIN_WORK = 3_000_000
PARALLEL_MIN_ORIGINS = 500      # the same for bounded searches (each ~1,000 node visits)
# Tiles of origins for bounded searches: side = this x the search limit. Larger tiles mean
# fewer Python round trips, smaller ones less subgraph per origin; 1-2 is flat in practice.
TILE_PER_LIMIT = 1.5
SLACK_M = 1.0  # planar margin on top of limit / detour_floor (float noise in local metres)


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


# ------------------------------------------------------------------ nearest outlet per group
def with_virtual_source(matrix: sparse.csr_matrix, nodes: np.ndarray, offsets: np.ndarray) -> sparse.csr_matrix:
    """The graph plus one node (index n) with an edge to each ``nodes[i]`` of ``offsets[i]``.

    Only a row is appended (the virtual node has no in-edges), so this is three array
    concatenations, not a sparse vstack/hstack."""
    n = matrix.shape[0]
    indptr = np.append(matrix.indptr, matrix.indptr[-1] + len(nodes)).astype(np.int32)
    return sparse.csr_matrix((np.concatenate([matrix.data, np.maximum(offsets, EPS_M)]),
                              np.concatenate([matrix.indices, nodes.astype(np.int32)]), indptr),
                             shape=(n + 1, n + 1))


def _shortest_offset_per_node(nodes: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Several outlets may snap to one node: only the shortest walk to the street counts."""
    order = np.lexsort((offsets, nodes))
    uniq, first = np.unique(nodes[order], return_index=True)
    return uniq, offsets[order][first]


def nearest_outlet_distance(graph: WalkGraph, outlet_nodes: np.ndarray, outlet_offsets: np.ndarray,
                            limit: float) -> np.ndarray:
    """Network distance from every node to the nearest outlet (inf beyond ``limit``),
    counting each outlet's walk to its street node."""
    n = graph.n
    if len(outlet_nodes) == 0:
        return np.full(n, np.inf)
    nodes, offsets = _shortest_offset_per_node(np.asarray(outlet_nodes), np.asarray(outlet_offsets, float))
    dist = dijkstra(with_virtual_source(graph.matrix, nodes, offsets), directed=True, indices=n, limit=limit)
    return dist[:n]


def _nearest_task(shared: dict, g: int) -> np.ndarray:
    nodes, offsets = shared["groups"][g]
    if len(nodes) == 0:
        return np.full(len(shared["targets"]), np.inf)
    graph = with_virtual_source(shared["matrix"], nodes, offsets)
    dist = dijkstra(graph, directed=True, indices=shared["matrix"].shape[0], limit=shared["limits"][g])
    return dist[shared["targets"]]


def nearest_by_group(graph: WalkGraph, groups: Sequence[tuple[np.ndarray, np.ndarray]], limits: Sequence[float],
                     targets: np.ndarray, workers: int | None = None) -> np.ndarray:
    """(groups x targets) network distance from each target node to the nearest outlet of
    each group (inf beyond that group's limit). ``groups[g]`` = (street nodes, walks to the
    street) of the group's outlets, at most one entry per node (the shortest walk)."""
    workers = default_workers() if workers is None else workers
    if graph.n * len(groups) < PARALLEL_MIN_WORK:
        workers = 1
    shared = {"matrix": graph.matrix, "groups": groups, "limits": list(limits), "targets": np.asarray(targets)}
    rows = fork_map(_nearest_task, list(range(len(groups))), shared, workers)
    return np.vstack(rows) if rows else np.zeros((0, len(targets)))


# ------------------------------------------------------------------ bounded searches from origins
@dataclass(frozen=True)
class Reach:
    """Every (origin, node) pair within the origin's limit: parallel arrays, any order."""
    origin: np.ndarray   # position in the origins passed in
    node: np.ndarray     # graph node
    dist: np.ndarray     # network metres from the origin's node


def _tiles(xy: np.ndarray, side: float) -> list[np.ndarray]:
    """Origins (rows of ``xy``) grouped by square tile of the given side."""
    if len(xy) == 0:
        return []
    cell = np.floor((xy - xy.min(axis=0)) / side).astype(np.int64)
    key = cell[:, 0] * (cell[:, 1].max() + 1) + cell[:, 1]
    order = np.argsort(key, kind="stable")
    cuts = np.flatnonzero(np.diff(key[order])) + 1
    return np.split(order, cuts)


def induced_subgraph(matrix: sparse.csr_matrix, keep: np.ndarray, position: np.ndarray) -> sparse.csr_matrix:
    """Rows/columns ``keep`` of ``matrix``; ``position`` is a scratch array of -1 (length n),
    left as it was found. Avoids scipy's fancy indexing, which costs O(n) per call."""
    position[keep] = np.arange(len(keep))
    starts, ends = matrix.indptr[keep], matrix.indptr[keep + 1]
    counts = ends - starts
    total = int(counts.sum())
    pos = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
    rows = np.repeat(np.arange(len(keep)), counts)
    cols = position[matrix.indices[pos]]
    inside = cols >= 0
    sub = sparse.csr_matrix((matrix.data[pos][inside], (rows[inside], cols[inside])), shape=(len(keep), len(keep)))
    position[keep] = -1
    return sub


def _tile_reach(graph: WalkGraph, origin_nodes: np.ndarray, limits: np.ndarray, members: np.ndarray,
                position: np.ndarray) -> Reach:
    """Bounded searches for the origins ``members`` (one tile) on the tile's subgraph."""
    own = origin_nodes[members]
    lim = limits[members]
    reach_lim = float(lim.max())
    xy = graph.xy[own]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    radius = float(np.hypot(*(hi - lo)) / 2 + reach_lim / graph.detour_floor + SLACK_M)
    keep = np.sort(np.asarray(graph.tree.query_ball_point((lo + hi) / 2, radius), dtype=np.int64))
    sub = induced_subgraph(graph.matrix, keep, position)
    local = np.searchsorted(keep, own)
    dist = dijkstra(sub, directed=True, indices=local, limit=reach_lim)   # small: tile origins x subgraph
    row, col = np.nonzero(dist <= lim[:, None])
    return Reach(members[row], keep[col], dist[row, col])


def reach_tiles(graph: WalkGraph, origin_nodes: np.ndarray, limits: np.ndarray):
    """Yield a :class:`Reach` per spatial tile of origins (exact; see the module doc)."""
    origin_nodes = np.asarray(origin_nodes, dtype=np.int64)
    limits = np.broadcast_to(np.asarray(limits, float), origin_nodes.shape)
    active = np.flatnonzero(limits >= 0)
    if len(active) == 0:
        return
    side = max(TILE_PER_LIMIT * float(limits[active].max()), 100.0)
    position = np.full(graph.n, -1, dtype=np.int64)
    for tile in _tiles(graph.xy[origin_nodes[active]], side):
        yield _tile_reach(graph, origin_nodes, limits, active[tile], position)


def within_reach(graph: WalkGraph, origin_nodes: np.ndarray, limits) -> Reach:
    """Every node within ``limits`` (per origin, or one value) of each origin node."""
    parts = list(reach_tiles(graph, origin_nodes, limits))
    if not parts:
        empty = np.array([], np.int64)
        return Reach(empty, empty, np.array([], float))
    return Reach(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("origin", "node", "dist")))


def distances_from_origins(graph: WalkGraph, origin_nodes: np.ndarray, limit: float) -> np.ndarray:
    """Network distance from each origin node to every node (inf beyond ``limit``):
    rows = origins. Dense (origins x nodes): for a handful of origins only."""
    return dijkstra(graph.matrix, directed=True, indices=origin_nodes, limit=limit)


# ------------------------------------------------------------------ outlets within reach
@dataclass(frozen=True)
class OutletsByNode:
    """Outlets sorted by street node: ``ptr[v]:ptr[v+1]`` are the outlets on node ``v``."""
    ptr: np.ndarray      # n + 1
    group: np.ndarray    # group (category) position of each outlet
    offset: np.ndarray   # walk from the outlet to its street node (m)

    @classmethod
    def build(cls, n: int, nodes: np.ndarray, groups: np.ndarray, offsets: np.ndarray) -> "OutletsByNode":
        order = np.argsort(nodes, kind="stable")
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(nodes, minlength=n), out=ptr[1:])
        return cls(ptr, np.asarray(groups)[order], np.asarray(offsets, float)[order])


def _count_reach(reach: Reach, origin_offsets: np.ndarray, outlets: OutletsByNode, thresholds: np.ndarray,
                 n_origins: int) -> np.ndarray:
    """(origins x groups) outlets whose walk origin -> street -> outlet is within the
    group's threshold, from the (origin, node, dist) pairs of bounded searches."""
    k = len(thresholds)
    start, end = outlets.ptr[reach.node], outlets.ptr[reach.node + 1]
    per = end - start
    total = int(per.sum())
    pair = np.repeat(np.arange(len(reach.node)), per)
    pos = np.repeat(start - np.cumsum(per) + per, per) + np.arange(total)
    origin = reach.origin[pair]
    group = outlets.group[pos]
    walk = reach.dist[pair] + outlets.offset[pos] + origin_offsets[origin]
    ok = walk <= thresholds[group]
    return np.bincount(origin[ok] * k + group[ok], minlength=n_origins * k).reshape(n_origins, k)


def _count_task(shared: dict, tiles: list[np.ndarray]) -> np.ndarray:
    graph, nodes, limits = shared["graph"], shared["origin_nodes"], shared["limits"]
    position = np.full(graph.n, -1, dtype=np.int64)
    n_origins, k = len(nodes), len(shared["thresholds"])
    counts = np.zeros((n_origins, k), dtype=np.int64)
    for members in tiles:
        reach = _tile_reach(graph, nodes, limits, members, position)
        counts += _count_reach(reach, shared["origin_offsets"], shared["outlets"], shared["thresholds"], n_origins)
    return counts


def count_outlets_within(graph: WalkGraph, origin_nodes: np.ndarray, origin_offsets: np.ndarray,
                         outlets: OutletsByNode, thresholds: np.ndarray, workers: int | None = None) -> np.ndarray:
    """(origins x groups) outlets within each group's threshold of each origin, exactly:
    origin -> its street node -> network -> the outlet's street node -> the outlet."""
    origin_nodes = np.asarray(origin_nodes, dtype=np.int64)
    origin_offsets = np.asarray(origin_offsets, float)
    thresholds = np.asarray(thresholds, float)
    n_origins = len(origin_nodes)
    if n_origins == 0 or len(thresholds) == 0:
        return np.zeros((n_origins, len(thresholds)), dtype=np.int64)
    # search no further than the largest threshold minus the origin's own walk to the street
    limits = float(thresholds.max()) - origin_offsets
    active = np.flatnonzero(limits >= 0)
    if len(active) == 0:
        return np.zeros((n_origins, len(thresholds)), dtype=np.int64)
    side = max(TILE_PER_LIMIT * float(limits[active].max()), 100.0)
    tiles = [active[t] for t in _tiles(graph.xy[origin_nodes[active]], side)]
    workers = default_workers() if workers is None else workers
    if n_origins < PARALLEL_MIN_ORIGINS:
        workers = 1
    # contiguous batches (tiles are in space-filling order), a few per worker for balance
    batches = [list(b) for b in np.array_split(np.arange(len(tiles)), max(1, min(len(tiles), 4 * workers)))]
    tasks = [[tiles[i] for i in b] for b in batches if len(b)]
    shared = {"graph": graph, "origin_nodes": origin_nodes, "origin_offsets": origin_offsets, "limits": limits,
              "outlets": outlets, "thresholds": thresholds}
    return sum(fork_map(_count_task, tasks, shared, workers))
