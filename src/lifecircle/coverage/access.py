"""Per community x category: who reaches the category on foot within its threshold."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from lifecircle.coverage.distances import distances_from_origins, nearest_outlet_distance
from lifecircle.coverage.network import WalkGraph
from lifecircle.ingest.locate import local_xy

ACCESS_COLUMNS = ["community_code", "category_code", "nearest_m", "nearest_walk_min", "threshold_m",
                  "population_within", "population_share_within", "outlets_within", "present", "method"]


ORIGIN_CHUNK = 128  # centroid searches per batch: bounds memory to chunk x nodes


def _outlets_within_of_centroids(graph: WalkGraph, communities: pd.DataFrame, snapped: dict,
                                 thresholds: dict, limit: float) -> dict[str, np.ndarray]:
    """Per category, outlets within the threshold of each community centroid (network)."""
    c_nodes, c_off = graph.snap(communities["lng"], communities["lat"])
    counts = {cat: np.zeros(len(communities), dtype=np.int64) for cat in thresholds}
    for start in range(0, len(c_nodes), ORIGIN_CHUNK):
        rows = slice(start, start + ORIGIN_CHUNK)
        dist = distances_from_origins(graph, c_nodes[rows], limit) + c_off[rows, None]
        for cat, (o_nodes, o_off) in snapped.items():
            if len(o_nodes):
                counts[cat][rows] = ((dist[:, o_nodes] + o_off[None, :]) <= thresholds[cat]).sum(axis=1)
    return counts


def compute_access(communities: pd.DataFrame, points: pd.DataFrame, outlets: pd.DataFrame,
                   categories: pd.DataFrame, graph: WalkGraph | None, *, walking_speed: float,
                   detour_factor: float, presence_share: float = 0.5
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(access per community x category, per-point coverage flags).

    ``outlets``: category_code, lng, lat (open at the period's end). ``categories``:
    category_code, threshold_m, required_for_coverage. With no ``graph`` the distances are
    straight line x ``detour_factor`` and every row says method = approximate."""
    thresholds = dict(zip(categories["category_code"], categories["threshold_m"].astype(float)))
    limit = 2 * max(thresholds.values())
    method = "network" if graph is not None else "approximate"
    pop = points["population"].to_numpy(float)
    comm_of_point = points["community_code"].to_numpy()
    comm_pop = points.groupby("community_code")["population"].sum()
    lat0 = float(points["lat"].mean())

    if graph is not None:
        p_nodes, p_off = graph.snap(points["lng"], points["lat"])
        snapped = {}
        for cat in categories["category_code"]:
            sel = outlets[outlets["category_code"] == cat]
            snapped[cat] = graph.snap(sel["lng"], sel["lat"]) if len(sel) else (np.array([], np.int64), np.array([]))
        centroid_counts = _outlets_within_of_centroids(graph, communities, snapped, thresholds, limit)
    else:
        p_xy = local_xy(points["lng"], points["lat"], lat0)
        c_xy = local_xy(communities["lng"], communities["lat"], lat0)

    point_dist = {}
    rows = []
    for cat in categories["category_code"]:
        thr = thresholds[cat]
        sel = outlets[outlets["category_code"] == cat]
        if graph is not None:
            o_nodes, o_off = snapped[cat]
            node_dist = nearest_outlet_distance(graph, o_nodes, o_off, limit)
            d_point = node_dist[p_nodes] + p_off
            within_counts = centroid_counts[cat]
        else:
            if len(sel):
                o_xy = local_xy(sel["lng"], sel["lat"], lat0)
                tree = cKDTree(o_xy)
                d_point = tree.query(p_xy)[0] * detour_factor
                within_counts = np.array([len(x) for x in tree.query_ball_point(c_xy, thr / detour_factor)])
            else:
                d_point = np.full(len(points), np.inf)
                within_counts = np.zeros(len(communities), int)
        d_point = np.where(d_point > limit, np.inf, d_point)
        point_dist[cat] = d_point
        frame = pd.DataFrame({"community_code": comm_of_point, "pop": pop, "d": d_point})
        frame["within"] = np.where(frame["d"] <= thr, frame["pop"], 0.0)
        frame["wd"] = frame["d"] * frame["pop"]
        g = frame.groupby("community_code")
        agg = pd.DataFrame({"within": g["within"].sum(), "wd": g["wd"].sum(), "pop": g["pop"].sum()})
        counts = pd.Series(within_counts, index=communities["community_code"].to_numpy())
        for code in communities["community_code"]:
            total = float(comm_pop.get(code, 0.0))
            within = float(agg["within"].get(code, 0.0))
            wd = float(agg["wd"].get(code, np.inf))
            nearest = wd / total if total and np.isfinite(wd) else None
            share = within / total if total else 0.0
            rows.append({
                "community_code": code, "category_code": cat,
                "nearest_m": None if nearest is None else round(nearest, 1),
                "nearest_walk_min": None if nearest is None else round(nearest / walking_speed, 1),
                "threshold_m": thr, "population_within": int(round(within)),
                "population_share_within": round(share, 4), "outlets_within": int(counts.get(code, 0)),
                "present": bool(share >= presence_share), "method": method,
            })
    required = categories.loc[categories["required_for_coverage"].astype(bool), "category_code"]
    covered_all = np.ones(len(points), bool)
    for cat in required:
        covered_all &= point_dist[cat] <= thresholds[cat]
    point_flags = pd.DataFrame({"point_id": points["point_id"].to_numpy(), "community_code": comm_of_point,
                                "population": pop, "covered_all": covered_all})
    return pd.DataFrame(rows, columns=ACCESS_COLUMNS), point_flags
