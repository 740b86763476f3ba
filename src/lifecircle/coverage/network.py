"""The walking network as a sparse graph, and snapping points onto it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from lifecircle.ingest.locate import local_xy

# scipy's csgraph treats stored zeros as missing edges: keep every weight positive.
EPS_M = 1e-3


@dataclass
class WalkGraph:
    matrix: sparse.csr_matrix   # directed, both directions stored; n x n
    lng: np.ndarray
    lat: np.ndarray
    lat0: float
    tree: cKDTree

    @property
    def n(self) -> int:
        return self.matrix.shape[0]

    def snap(self, lng, lat) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of each point and the straight walk to it (metres)."""
        dist, idx = self.tree.query(local_xy(lng, lat, self.lat0))
        return idx.astype(np.int64), np.maximum(dist, EPS_M)


def build_graph(nodes: pd.DataFrame, edges: pd.DataFrame) -> WalkGraph:
    """Graph from ``nodes(node_id,lng,lat)`` and undirected ``edges(u,v,length_m)``."""
    index = pd.Series(np.arange(len(nodes)), index=nodes["node_id"].to_numpy())
    u = index.loc[edges["u"].to_numpy()].to_numpy()
    v = index.loc[edges["v"].to_numpy()].to_numpy()
    w = np.maximum(edges["length_m"].to_numpy(dtype=float), EPS_M)
    n = len(nodes)
    matrix = sparse.coo_matrix((np.concatenate([w, w]), (np.concatenate([u, v]), np.concatenate([v, u]))),
                               shape=(n, n)).tocsr()
    matrix.sum_duplicates()
    lng, lat = nodes["lng"].to_numpy(float), nodes["lat"].to_numpy(float)
    lat0 = float(lat.mean())
    return WalkGraph(matrix, lng, lat, lat0, cKDTree(local_xy(lng, lat, lat0)))
