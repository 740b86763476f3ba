"""补什么: where to add an outlet of a missing category so that most residents gain it.

For each circle and each required category missing in it, the top-k candidate sites are
picked by greedy maximum coverage: the site that newly covers the most not-yet-covered
residents within the category's threshold, then the next one counting those residents as
covered, and so on (greedy is the standard (1 - 1/e) approximation of this NP-hard
problem; exact optimisation buys little for k = 3 and costs an ILP solver we do not ship).

Distances are exact network distances, as for coverage: ``distances.within_reach`` from
each population point's street node gives, per point, every node within the threshold —
the sites that would cover it — and whether an existing outlet already does. Candidate sites are network nodes (an
outlet placed on the street: no walk from the street to its door). Without a network the
population points themselves are the candidate sites and distances are straight line x
the city's detour factor; those rows say ``approximate``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from lifecircle.coverage.distances import within_reach
from lifecircle.coverage.network import WalkGraph
from lifecircle.ingest.locate import local_xy

CANDIDATE_COLUMNS = ["circle_code", "category_code", "rank", "node_id", "lng", "lat", "residents_newly_covered",
                     "cumulative_residents", "residents_uncovered", "method"]
DEFAULT_TOP_K = 3


@dataclass(frozen=True)
class Pick:
    site: int            # column of the incidence matrix
    gain: float          # residents newly covered
    cumulative: float    # residents covered by the picks so far


def greedy_max_coverage(incidence: sparse.spmatrix, weights: np.ndarray, k: int) -> list[Pick]:
    """Up to ``k`` columns of ``incidence`` (points x sites, nonzero = site covers point)
    maximising the covered weight, greedily. Ties go to the lowest column; stops early
    when no site adds anyone."""
    a = sparse.csc_matrix(incidence, dtype=bool).astype(np.float64)
    w = np.asarray(weights, dtype=float).copy()
    picks, total = [], 0.0
    for _ in range(k):
        if a.shape[1] == 0:
            break
        gain = a.T @ w
        j = int(np.argmax(gain))           # first maximum = lowest column
        if gain[j] <= 0:
            break
        total += float(gain[j])
        picks.append(Pick(j, float(gain[j]), total))
        w[a.indices[a.indptr[j]:a.indptr[j + 1]]] = 0.0
    return picks


def _network_incidences(graph: WalkGraph, p_nodes: np.ndarray, p_off: np.ndarray,
                        wanted: dict[str, tuple[tuple, float]]) -> tuple[np.ndarray, dict]:
    """Exact network reach of one circle's population points, per category.

    ``wanted``: category -> ((outlet nodes, outlet offsets), threshold). Returns (the global
    node ids within reach of any point, ascending so ties stay "lowest node"; {category:
    (points x those-nodes incidence of the points no outlet reaches, uncovered mask)}).
    One :func:`distances.within_reach` search (each point's limit net of its own walk to
    the street) serves every category."""
    limit = max(thr for _, thr in wanted.values())
    reach = within_reach(graph, p_nodes, np.maximum(limit - p_off, 0.0))
    nodes, col = np.unique(reach.node, return_inverse=True)
    d = reach.dist + p_off[reach.origin]                          # from the point's door
    out = {}
    for cat, ((o_nodes, o_off), thr) in wanted.items():
        door = np.full(graph.n, np.inf)                           # shortest outlet walk per node
        np.minimum.at(door, o_nodes, o_off)
        covered = np.zeros(len(p_nodes), bool)
        covered[reach.origin[d + door[reach.node] <= thr]] = True
        keep = (d <= thr) & ~covered[reach.origin]
        out[cat] = (sparse.csr_matrix((np.ones(int(keep.sum()), bool), (reach.origin[keep], col[keep])),
                                      shape=(len(p_nodes), len(nodes))), ~covered)
    return nodes, out


def _approximate_incidence(xy: np.ndarray, outlet_xy: np.ndarray, threshold: float, detour: float):
    """(incidence points x points, uncovered mask): sites are the points themselves."""
    radius = threshold / detour
    if len(outlet_xy):
        uncovered = cKDTree(outlet_xy).query(xy)[0] > radius
    else:
        uncovered = np.ones(len(xy), bool)
    tree = cKDTree(xy)
    rows, cols = [], []
    for i in np.flatnonzero(uncovered):
        near = np.asarray(tree.query_ball_point(xy[i], radius), dtype=np.int64)
        rows.append(np.full(len(near), i))
        cols.append(near)
    r = np.concatenate(rows) if rows else np.array([], np.int64)
    c = np.concatenate(cols) if cols else np.array([], np.int64)
    return sparse.csr_matrix((np.ones(len(r), bool), (r, c)), shape=(len(xy), len(xy))), uncovered


def candidate_sites(gaps: pd.DataFrame, members: pd.DataFrame, points: pd.DataFrame, outlets: pd.DataFrame,
                    thresholds: dict[str, float], graph: WalkGraph | None, *, node_ids=None,
                    detour_factor: float = 1.3, top_k: int = DEFAULT_TOP_K) -> pd.DataFrame:
    """Top-``top_k`` sites per (circle, missing category).

    ``gaps``: circle_code, category_code (the required categories missing in the circle);
    ``members``: circle_code, community_code; ``points``: point_id, community_code, lng,
    lat, population; ``outlets``: category_code, lng, lat (open at the period's end);
    ``node_ids``: the city's id of each graph node (defaults to the node's index)."""
    method = "network" if graph is not None else "approximate"
    pairs = gaps[["circle_code", "category_code"]].dropna().drop_duplicates().sort_values(
        ["circle_code", "category_code"])
    if graph is not None:
        node_ids = np.arange(graph.n) if node_ids is None else np.asarray(node_ids)
        snapped = {}
    lat0 = float(points["lat"].mean()) if len(points) else 0.0
    by_cat = {cat: g for cat, g in outlets.groupby("category_code", sort=False)}
    empty = outlets.iloc[0:0]
    populated = points[points["population"] > 0].sort_values("point_id")
    rows = []
    for circle, cats in pairs.groupby("circle_code", sort=True):
        comms = set(members.loc[members["circle_code"] == circle, "community_code"])
        pts = populated[populated["community_code"].isin(comms)]
        if pts.empty:
            continue
        pop = pts["population"].to_numpy(float)
        cat_list = list(cats["category_code"])
        if graph is not None:
            for cat in cat_list:
                if cat not in snapped:
                    sel = by_cat.get(cat, empty)
                    snapped[cat] = graph.snap(sel["lng"], sel["lat"]) if len(sel) else (np.array([], np.int64),
                                                                                         np.array([]))
            sub_nodes, reach = _network_incidences(graph, *graph.snap(pts["lng"], pts["lat"]),
                                                   {c: (snapped[c], float(thresholds[c])) for c in cat_list})
        else:
            xy = local_xy(pts["lng"], pts["lat"], lat0)
        for cat in cat_list:
            if graph is not None:
                inc, uncovered = reach[cat]
            else:
                sel = by_cat.get(cat, empty)
                inc, uncovered = _approximate_incidence(xy, local_xy(sel["lng"], sel["lat"], lat0),
                                                        float(thresholds[cat]), detour_factor)
            before = float(pop[uncovered].sum())
            for rank, pick in enumerate(greedy_max_coverage(inc, np.where(uncovered, pop, 0.0), top_k), start=1):
                if graph is not None:
                    g = sub_nodes[pick.site]
                    node, lng, lat = int(node_ids[g]), float(graph.lng[g]), float(graph.lat[g])
                else:
                    node, lng, lat = None, float(pts["lng"].iloc[pick.site]), float(pts["lat"].iloc[pick.site])
                rows.append({"circle_code": circle, "category_code": cat, "rank": rank, "node_id": node,
                             "lng": round(lng, 7), "lat": round(lat, 7),
                             "residents_newly_covered": int(round(pick.gain)),
                             "cumulative_residents": int(round(pick.cumulative)),
                             "residents_uncovered": int(round(before)), "method": method})
    out = pd.DataFrame(rows, columns=CANDIDATE_COLUMNS)
    out["node_id"] = out["node_id"].astype("Int64")
    return out
