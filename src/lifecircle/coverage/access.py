"""Per community x category: who reaches the category on foot within its threshold.

Three steps, each vectorised over the whole city:

1. **distances** from every population point to the nearest outlet of every category —
   exact network distances (:mod:`lifecircle.coverage.distances`; walk point -> street,
   street network, street -> outlet) or, with no network, straight line x the city's
   detour factor, labelled ``approximate``; capped at :data:`REPORT_CAP_FACTOR` x the
   largest threshold (beyond it a point counts as unreached and ``nearest_m`` is null);
2. **outlets within** each category's threshold of the community centroid (exact bounded
   searches from the centroids; a separate step so it can be timed and reused);
3. **aggregation** to community x category with ``np.bincount``: people within, the
   population-weighted nearest distance, presence (share of people within >=
   ``presence_share``), and per point whether every required category is within reach.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from lifecircle.coverage.distances import OutletsByNode, count_outlets_within, nearest_by_group
from lifecircle.coverage.network import WalkGraph
from lifecircle.ingest.locate import local_xy

log = logging.getLogger(__name__)

ACCESS_COLUMNS = ["community_code", "category_code", "nearest_m", "nearest_walk_min", "threshold_m",
                  "population_within", "population_share_within", "outlets_within", "present", "method"]
# nearest_m is reported up to this many times the largest threshold: far enough to say how
# far a missing category is, bounded so a category with no outlet nearby cannot make a
# search cover the whole network.
REPORT_CAP_FACTOR = 2.0


def category_of_outlets(outlets: pd.DataFrame, categories: list[str]) -> np.ndarray:
    """Position of each outlet's category in ``categories``; -1 for a category not listed
    or an outlet without coordinates (counted in the log, never guessed)."""
    cat = pd.Categorical(outlets["category_code"], categories=categories).codes.astype(np.int64)
    located = np.isfinite(outlets["lng"].to_numpy(float)) & np.isfinite(outlets["lat"].to_numpy(float))
    if (~located).any():
        log.warning("coverage: %d outlets without coordinates left out of distances", int((~located).sum()))
    return np.where(located, cat, -1)


def network_distances(graph: WalkGraph, points: pd.DataFrame, outlets: pd.DataFrame, outlet_cat: np.ndarray,
                      n_cat: int, limit: float, workers: int | None = None):
    """((categories x points) network distance to the nearest outlet, snapped outlets).

    The snapped outlets (nodes, offsets, categories) are returned for step 2."""
    p_nodes, p_off = graph.snap(points["lng"], points["lat"])
    keep = outlet_cat >= 0
    o_nodes, o_off = graph.snap(outlets["lng"].to_numpy(float)[keep], outlets["lat"].to_numpy(float)[keep])
    o_cat = outlet_cat[keep]
    targets, inverse = np.unique(p_nodes, return_inverse=True)
    node_dist = nearest_by_group(graph, o_nodes, o_off, o_cat, [limit] * n_cat, targets, workers=workers)
    return node_dist[:, inverse] + p_off[None, :], (o_nodes, o_off, o_cat)


def network_outlets_within(graph: WalkGraph, communities: pd.DataFrame, snapped_outlets, thresholds: np.ndarray,
                           workers: int | None = None) -> np.ndarray:
    """(communities x categories) outlets within each threshold of the community centroid."""
    o_nodes, o_off, o_cat = snapped_outlets
    c_nodes, c_off = graph.snap(communities["lng"], communities["lat"])
    by_node = OutletsByNode.build(graph.n, o_nodes, o_cat, o_off)
    return count_outlets_within(graph, c_nodes, c_off, by_node, thresholds, workers=workers)


def straight_line_access(communities: pd.DataFrame, points: pd.DataFrame, outlets: pd.DataFrame,
                         outlet_cat: np.ndarray, thresholds: np.ndarray, detour_factor: float):
    """The no-network fallback: straight line x detour for both distances and counts."""
    lat0 = float(points["lat"].mean()) if len(points) else float(communities["lat"].mean())
    p_xy = local_xy(points["lng"], points["lat"], lat0)
    c_xy = local_xy(communities["lng"], communities["lat"], lat0)
    o_xy = local_xy(outlets["lng"], outlets["lat"], lat0)
    dist = np.full((len(thresholds), len(points)), np.inf)
    counts = np.zeros((len(communities), len(thresholds)), dtype=np.int64)
    for c, thr in enumerate(thresholds):
        mine = o_xy[outlet_cat == c]
        if len(mine) == 0:
            continue
        tree = cKDTree(mine)
        if len(points):
            dist[c] = tree.query(p_xy, workers=-1)[0] * detour_factor
        if len(communities):
            counts[:, c] = tree.query_ball_point(c_xy, thr / detour_factor, return_length=True, workers=-1)
    return dist, counts


def aggregate(communities: pd.DataFrame, points: pd.DataFrame, categories: list[str], thresholds: np.ndarray,
              dist: np.ndarray, counts: np.ndarray, *, walking_speed: float, presence_share: float,
              method: str) -> pd.DataFrame:
    """The access frame (category-major rows) from point distances and centroid counts."""
    codes = communities["community_code"].to_numpy()
    n_comm, n_cat = len(codes), len(categories)
    comm = pd.Index(codes).get_indexer(points["community_code"])
    mine = comm >= 0                              # points of communities not listed are left out
    pop = points["population"].to_numpy(float)[mine]
    comm, dist = comm[mine], dist[:, mine]
    key = (np.arange(n_cat)[:, None] * n_comm + comm[None, :]).ravel()
    size = n_cat * n_comm

    def per_community(values: np.ndarray) -> np.ndarray:
        return np.bincount(key, weights=values.ravel(), minlength=size).reshape(n_cat, n_comm)

    total = np.bincount(comm, weights=pop, minlength=n_comm)[None, :]
    within = per_community(np.where(dist <= thresholds[:, None], pop[None, :], 0.0))
    # people-weighted distance; inf when anyone is unreached. Empty points weigh nothing.
    weighted = per_community(np.where(pop[None, :] > 0, dist * pop[None, :], 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        nearest = np.where((total > 0) & np.isfinite(weighted), weighted / total, np.nan)
        share = np.where(total > 0, within / total, 0.0)
    return pd.DataFrame({
        "community_code": np.tile(codes, n_cat),
        "category_code": np.repeat(np.asarray(categories, dtype=object), n_comm),
        "nearest_m": np.round(nearest, 1).ravel(),
        "nearest_walk_min": np.round(nearest / walking_speed, 1).ravel(),
        "threshold_m": np.repeat(thresholds, n_comm),
        "population_within": np.rint(within).astype(np.int64).ravel(),
        "population_share_within": np.round(share, 4).ravel(),
        "outlets_within": counts.T.astype(np.int64).ravel(),
        "present": (share >= presence_share).ravel(),
        "method": method,
    }, columns=ACCESS_COLUMNS)


def compute_access(communities: pd.DataFrame, points: pd.DataFrame, outlets: pd.DataFrame,
                   categories: pd.DataFrame, graph: WalkGraph | None, *, walking_speed: float,
                   detour_factor: float, presence_share: float = 0.5
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(access per community x category, per-point coverage flags).

    ``outlets``: category_code, lng, lat (open at the period's end). ``categories``:
    category_code, threshold_m, required_for_coverage. With no ``graph`` the distances are
    straight line x ``detour_factor`` and every row says method = approximate."""
    cats = categories["category_code"].tolist()
    thresholds = categories["threshold_m"].to_numpy(float)
    limit = REPORT_CAP_FACTOR * float(thresholds.max()) if len(thresholds) else 0.0
    outlet_cat = category_of_outlets(outlets, cats)
    if graph is not None:
        method = "network"
        dist, snapped = network_distances(graph, points, outlets, outlet_cat, len(cats), limit)
        counts = network_outlets_within(graph, communities, snapped, thresholds)
    else:
        method = "approximate"
        dist, counts = straight_line_access(communities, points, outlets, outlet_cat, thresholds, detour_factor)
    dist = np.where(dist > limit, np.inf, dist)
    access = aggregate(communities, points, cats, thresholds, dist, counts, walking_speed=walking_speed,
                       presence_share=presence_share, method=method)
    required = categories["required_for_coverage"].astype(bool).to_numpy()
    covered_all = (dist[required] <= thresholds[required, None]).all(axis=0)
    point_flags = pd.DataFrame({"point_id": points["point_id"].to_numpy(),
                                "community_code": points["community_code"].to_numpy(),
                                "population": points["population"].to_numpy(float), "covered_all": covered_all})
    return access, point_flags
