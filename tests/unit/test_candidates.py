"""补什么 candidate sites: greedy maximum coverage on hand graphs, checked against values
worked by hand and against a brute force (all-pairs shortest paths + plain-Python greedy)."""
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from lifecircle.coverage.candidates import candidate_sites, greedy_max_coverage
from lifecircle.coverage.network import build_graph

LNG0, LAT0 = 105.70, 34.58
M_PER_DEG_LNG = 111_320.0 * math.cos(math.radians(LAT0))
M_PER_DEG_LAT = 111_320.0


def lng_at(x):
    return LNG0 + x / M_PER_DEG_LNG


def lat_at(y):
    return LAT0 + y / M_PER_DEG_LAT


def line_city():
    """A street of 11 nodes, 100 m apart (node k at x = 100 k); one circle Q of two communities.

    points: P1 node 1 (100 people, K1), P2 node 2 (50, K1), P3 node 8 (300, K2), P4 node 9 (10, K2)
    an outlet of category shop at node 0; threshold 150 m
      P1 100 m from it -> covered; P2 200 m, P3, P4 far -> not covered (360 residents)
      nodes within 150 m: of P2 -> 1, 2, 3; of P3 -> 7, 8, 9; of P4 -> 8, 9, 10
    greedy: node 8 (P3 + P4 = 310; 8 and 9 tie, the lower wins), then node 1 (P2, 50), then nothing left."""
    nodes = pd.DataFrame({"node_id": [1000 + k for k in range(11)], "lng": [lng_at(100 * k) for k in range(11)],
                          "lat": [LAT0] * 11})
    edges = pd.DataFrame({"u": [1000 + k for k in range(10)], "v": [1001 + k for k in range(10)], "length_m": 100.0})
    points = pd.DataFrame({"point_id": ["P1", "P2", "P3", "P4"], "community_code": ["K1", "K1", "K2", "K2"],
                           "lng": [lng_at(x) for x in (100, 200, 800, 900)], "lat": [LAT0] * 4,
                           "population": [100, 50, 300, 10]})
    members = pd.DataFrame({"circle_code": ["Q", "Q"], "community_code": ["K1", "K2"]})
    outlets = pd.DataFrame({"category_code": ["shop"], "lng": [lng_at(0)], "lat": [LAT0]})
    gaps = pd.DataFrame({"circle_code": ["Q"], "category_code": ["shop"]})
    return nodes, edges, points, members, outlets, gaps


def test_line_city_hand_worked():
    nodes, edges, points, members, outlets, gaps = line_city()
    out = candidate_sites(gaps, members, points, outlets, {"shop": 150.0}, build_graph(nodes, edges),
                          node_ids=nodes["node_id"].to_numpy(), top_k=3)
    assert out[["rank", "node_id", "residents_newly_covered", "cumulative_residents", "residents_uncovered"]] \
        .values.tolist() == [[1, 1008, 310, 310, 360], [2, 1001, 50, 360, 360]]
    assert set(out["method"]) == {"network"}
    assert out.loc[0, "lng"] == pytest.approx(lng_at(800), abs=1e-7)


def test_top_k_limits_and_no_gap_gives_nothing():
    nodes, edges, points, members, outlets, gaps = line_city()
    graph = build_graph(nodes, edges)
    one = candidate_sites(gaps, members, points, outlets, {"shop": 150.0}, graph, top_k=1)
    assert one["node_id"].tolist() == [8]          # node index when no ids are given
    none = candidate_sites(gaps.iloc[0:0], members, points, outlets, {"shop": 150.0}, graph)
    assert none.empty and list(none.columns)[:3] == ["circle_code", "category_code", "rank"]


def test_approximate_mode_uses_points_as_sites():
    _, _, points, members, outlets, gaps = line_city()
    out = candidate_sites(gaps, members, points, outlets, {"shop": 150.0}, None, detour_factor=1.0, top_k=3)
    # straight line: P3's site covers P3 + P4 (310; P3 before P4 on a tie), then P1's site covers P2 (100 m)
    assert out[["rank", "residents_newly_covered", "cumulative_residents"]].values.tolist() == [[1, 310, 310],
                                                                                             [2, 50, 360]]
    assert out["node_id"].isna().all() and set(out["method"]) == {"approximate"}
    assert out.loc[0, "lng"] == pytest.approx(lng_at(800), abs=1e-7)
    assert out.loc[1, "lng"] == pytest.approx(lng_at(100), abs=1e-7)


def test_detour_factor_shrinks_reach():
    _, _, points, members, outlets, gaps = line_city()
    out = candidate_sites(gaps, members, points, outlets, {"shop": 150.0}, None, detour_factor=2.0, top_k=5)
    # 2 x straight line: P1 is 200 m from the outlet now, uncovered too; radius 75 m, so each
    # site covers only its own point -> P3 (300), P1 (100), P2 (50), P4 (10)
    assert out["residents_newly_covered"].tolist() == [300, 100, 50, 10]
    assert out["residents_uncovered"].tolist() == [460] * 4


def test_greedy_stops_when_nothing_is_left_and_breaks_ties_low():
    inc = sparse.csr_matrix(np.array([[1, 1, 0], [0, 0, 1]], bool))
    picks = greedy_max_coverage(inc, np.array([5.0, 5.0]), 5)
    assert [(p.site, p.gain, p.cumulative) for p in picks] == [(0, 5.0, 5.0), (2, 5.0, 10.0)]
    assert greedy_max_coverage(inc, np.zeros(2), 3) == []


# ---------------------------------------------------------------- brute force on a grid
def grid_city(size=6, step=100.0):
    """A size x size street grid (step m) with a few diagonal-free gaps; points on some nodes."""
    ids = {(i, j): i * size + j for i in range(size) for j in range(size)}
    nodes = pd.DataFrame({"node_id": list(ids.values()), "lng": [lng_at(step * j) for (i, j) in ids],
                          "lat": [lat_at(step * i) for (i, j) in ids]})
    missing = {((2, 2), (2, 3)), ((3, 1), (4, 1))}    # two blocked street segments
    edges = [(ids[a], ids[b], step) for a in ids for b in ((a[0] + 1, a[1]), (a[0], a[1] + 1))
             if b in ids and (a, b) not in missing]
    edges = pd.DataFrame(edges, columns=["u", "v", "length_m"])
    rng = np.random.default_rng(7)
    cells = [(i, j) for i in range(size) for j in range(size)]
    chosen = [cells[k] for k in rng.choice(len(cells), 14, replace=False)]
    points = pd.DataFrame({"point_id": [f"P{k:02d}" for k in range(len(chosen))],
                           "community_code": ["K1" if c[1] < size // 2 else "K2" for c in chosen],
                           "lng": [lng_at(step * c[1]) for c in chosen], "lat": [lat_at(step * c[0]) for c in chosen],
                           "population": rng.integers(10, 500, len(chosen))})
    outlets = pd.DataFrame({"category_code": ["shop"], "lng": [lng_at(0)], "lat": [lat_at(0)]})
    return nodes, edges, points, outlets, ids


def all_pairs(n, edges):
    d = [[0.0 if a == b else math.inf for b in range(n)] for a in range(n)]
    for u, v, w in edges.itertuples(index=False):
        d[u][v] = d[v][u] = min(d[u][v], w)
    for k, a, b in itertools.product(range(n), repeat=3):   # Floyd-Warshall (k outermost)
        if d[a][k] + d[k][b] < d[a][b]:
            d[a][b] = d[a][k] + d[k][b]
    return d


@pytest.mark.parametrize("threshold", [150.0, 250.0, 420.0])
def test_grid_matches_brute_force(threshold):
    nodes, edges, points, outlets, ids = grid_city()
    n = len(nodes)
    d = all_pairs(n, edges)
    pnode = {r.point_id: ids[(round((r.lat - LAT0) * M_PER_DEG_LAT / 100), round((r.lng - LNG0) * M_PER_DEG_LNG / 100))]
             for r in points.itertuples()}
    pop = dict(zip(points["point_id"], points["population"].astype(float)))
    uncovered = {p for p, k in pnode.items() if d[k][0] > threshold}     # the outlet sits on node 0
    covers = {s: {p for p in uncovered if d[pnode[p]][s] <= threshold} for s in range(n)}
    expected, left, total = [], set(uncovered), 0.0
    for _ in range(4):
        best = max(range(n), key=lambda s: (sum(pop[p] for p in covers[s] & left), -s))
        gain = sum(pop[p] for p in covers[best] & left)
        if gain <= 0:
            break
        total += gain
        expected.append([best, int(gain), int(total)])
        left -= covers[best]
    # rank 1 is the best single site overall
    if expected:
        assert expected[0][1] == max(sum(pop[p] for p in covers[s]) for s in range(n))
    members = pd.DataFrame({"circle_code": ["Q", "Q"], "community_code": ["K1", "K2"]})
    gaps = pd.DataFrame({"circle_code": ["Q"], "category_code": ["shop"]})
    out = candidate_sites(gaps, members, points, outlets, {"shop": threshold}, build_graph(nodes, edges),
                          node_ids=nodes["node_id"].to_numpy(), top_k=4)
    assert out[["node_id", "residents_newly_covered", "cumulative_residents"]].values.tolist() == expected
    assert (out["residents_uncovered"] == int(sum(pop[p] for p in uncovered))).all()


def test_tiny_city_community_c(tmp_path):
    """The tiny city (tests/fixtures/tiny_city.py) with community C (node 18, 3,000 residents)
    as a circle: C lacks both required categories. Brute force on its street: a site at node
    k covers C when |100 k - 1800| + 1 mm (C's walk to its street node, never below 1 mm) is
    within the threshold -> convenience store (400 m): nodes 15..20, the lowest wins;
    pharmacy (640 m): nodes 12..20."""
    from tests.fixtures.tiny_city import write_city_data

    data = write_city_data(tmp_path)
    nodes, edges = pd.read_csv(data / "network/nodes.csv"), pd.read_csv(data / "network/edges.csv")
    points = pd.read_csv(data / "population_points.csv", dtype={"community_code": str})
    outlets = pd.DataFrame({"category_code": ["convenience_store", "convenience_store", "pharmacy", "bookstore"],
                            "lng": [lng_at(x) for x in (300, 1100, 600, 1800)], "lat": [LAT0] * 4})
    members = pd.DataFrame({"circle_code": ["TC02"], "community_code": ["990101001003"]})
    gaps = pd.DataFrame({"circle_code": ["TC02", "TC02"], "category_code": ["convenience_store", "pharmacy"]})
    thresholds = {"convenience_store": 400.0, "pharmacy": 640.0}
    out = candidate_sites(gaps, members, points, outlets, thresholds, build_graph(nodes, edges),
                          node_ids=nodes["node_id"].to_numpy())
    brute = {cat: min(k for k in range(21) if abs(100 * k - 1800) + 0.001 <= thr) for cat, thr in thresholds.items()}
    assert out[["category_code", "rank", "node_id", "residents_newly_covered", "residents_uncovered"]].values.tolist() \
        == [["convenience_store", 1, brute["convenience_store"], 3000, 3000], ["pharmacy", 1, brute["pharmacy"], 3000, 3000]]
    assert brute == {"convenience_store": 15, "pharmacy": 12}
