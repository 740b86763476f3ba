"""Exact walking distances: one multi-source Dijkstra per category from all its outlets.

A virtual source joined to every outlet's street node by the outlet's walk to the street
turns "distance to the nearest outlet" into one single-source search, capped at the
largest distance we report, so cost grows with the network, not with outlets x origins."""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from lifecircle.coverage.network import EPS_M, WalkGraph


def nearest_outlet_distance(graph: WalkGraph, outlet_nodes: np.ndarray, outlet_offsets: np.ndarray,
                            limit: float) -> np.ndarray:
    """Network distance from every node to the nearest outlet (inf beyond ``limit``),
    counting each outlet's walk to its street node."""
    n = graph.n
    if len(outlet_nodes) == 0:
        return np.full(n, np.inf)
    # Keep the shortest offset per node (several outlets may snap to one node).
    order = np.lexsort((outlet_offsets, outlet_nodes))
    nodes, first = np.unique(outlet_nodes[order], return_index=True)
    offsets = np.maximum(outlet_offsets[order][first], EPS_M)
    virtual = sparse.csr_matrix((offsets, (np.zeros(len(nodes), dtype=np.int64), nodes)), shape=(1, n + 1))
    grown = sparse.vstack([sparse.hstack([graph.matrix, sparse.csr_matrix((n, 1))]), virtual]).tocsr()
    dist = dijkstra(grown, directed=True, indices=n, limit=limit)
    return dist[:n]


def distances_from_origins(graph: WalkGraph, origin_nodes: np.ndarray, limit: float) -> np.ndarray:
    """Network distance from each origin node to every node (inf beyond ``limit``):
    rows = origins. Used to count outlets within reach of a community centroid."""
    return dijkstra(graph.matrix, directed=True, indices=origin_nodes, limit=limit)
