"""compute_access against a brute-force oracle on random small street grids.

The oracle is built independently of the code under test: all-pairs shortest paths with
scipy's csgraph.shortest_path on the edge list, snapping by brute-force haversine to every
node. The code under test snaps with an equirectangular KD-tree, which differs from
haversine by ~0.1% (≈0.02 m on our ≤ 20 m snaps, ≈1 m per km of straight line), so every
threshold comparison is checked against [value at thr - tol, value at thr + tol] and
distances with a matching tolerance."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.sparse.csgraph import connected_components, shortest_path

from lifecircle.coverage.access import ACCESS_COLUMNS, compute_access
from lifecircle.coverage.distances import nearest_outlet_distance
from lifecircle.coverage.network import build_graph
from lifecircle.geo.gcj02 import haversine_m

LNG0, LAT0 = 105.7, 34.58
M_PER_DEG_LAT = 111_195.0
M_PER_DEG_LNG = M_PER_DEG_LAT * math.cos(math.radians(LAT0))
GRID, SPACING = 12, 80.0
WALK = 80.0       # m/min
DETOUR = 1.3
CATEGORIES = pd.DataFrame({
    "category_code": ["shop", "market", "pharmacy"],
    "threshold_m": [300.0, 500.0, 400.0],
    "required_for_coverage": [True, True, False],
})
LIMIT = 2 * CATEGORIES["threshold_m"].max()
NET_TOL = 1.0     # metres, network mode (only the snaps are equirectangular)
APPROX_REL = 0.003  # relative, approximate mode (whole distance is equirectangular)


def _to_lnglat(x, y):
    return LNG0 + np.asarray(x) / M_PER_DEG_LNG, LAT0 + np.asarray(y) / M_PER_DEG_LAT


def _near(rng, xy, radius):
    """Points at a random distance < radius (metres) from the given xy positions."""
    r = radius * np.sqrt(rng.random(len(xy)))
    a = rng.random(len(xy)) * 2 * np.pi
    return xy[:, 0] + r * np.cos(a), xy[:, 1] + r * np.sin(a)


def make_city(seed: int):
    rng = np.random.default_rng(seed)
    ix, iy = np.meshgrid(np.arange(GRID), np.arange(GRID), indexing="ij")
    ix, iy = ix.ravel(), iy.ravel()
    n = GRID * GRID
    xy = np.column_stack([ix * SPACING, iy * SPACING]) + rng.uniform(-10, 10, (n, 2))
    lng, lat = _to_lnglat(xy[:, 0], xy[:, 1])
    node_ids = 1000 + 7 * rng.permutation(n)   # non-contiguous ids, not in row order
    # grid edges, some removed while the network stays connected
    pairs = [(k, k + GRID) for k in range(n) if ix[k] < GRID - 1] + [(k, k + 1) for k in range(n) if iy[k] < GRID - 1]
    keep = np.ones(len(pairs), bool)
    removed = 0
    for e in rng.permutation(len(pairs)):
        if removed >= int(0.15 * len(pairs)):
            break
        keep[e] = False
        u = [pairs[i][0] for i in np.flatnonzero(keep)]
        v = [pairs[i][1] for i in np.flatnonzero(keep)]
        m = sparse.coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
        if connected_components(m, directed=False)[0] == 1:
            removed += 1
        else:
            keep[e] = True
    kept = [pairs[i] for i in np.flatnonzero(keep)]
    u = np.array([p[0] for p in kept])
    v = np.array([p[1] for p in kept])
    length = haversine_m(lng[u], lat[u], lng[v], lat[v])
    order = rng.permutation(n)   # node table in shuffled order
    nodes = pd.DataFrame({"node_id": node_ids[order], "lng": lng[order], "lat": lat[order]})
    edges = pd.DataFrame({"u": node_ids[u], "v": node_ids[v], "length_m": length})

    # 4 communities = grid quadrants (centroid near a node), plus one with no residents
    half = GRID // 2
    quadrant = (ix >= half).astype(int) * 2 + (iy >= half).astype(int)
    centre_nodes = [k for k in range(n) if (ix[k], iy[k]) in {(2, 3), (3, 8), (8, 2), (9, 9)}]
    cx, cy = _near(rng, xy[centre_nodes], 15.0)
    extra = int(rng.integers(n))
    c_lng, c_lat = _to_lnglat(np.append(cx, xy[extra, 0]), np.append(cy, xy[extra, 1]))
    codes = [f"C{quadrant[k]}" for k in centre_nodes] + ["C_EMPTY"]
    communities = pd.DataFrame({"community_code": codes, "lng": c_lng, "lat": c_lat})

    # population points near random nodes
    p_nodes = rng.integers(0, n, 70)
    px, py = _near(rng, xy[p_nodes], 20.0)
    p_lng, p_lat = _to_lnglat(px, py)
    points = pd.DataFrame({"point_id": [f"P{i}" for i in range(len(p_nodes))],
                           "community_code": [f"C{quadrant[k]}" for k in p_nodes],
                           "lng": p_lng, "lat": p_lat,
                           "population": rng.integers(5, 400, len(p_nodes)).astype(float)})

    # outlets: shops exactly on nodes, markets near nodes, pharmacies none at all
    shop_nodes = rng.choice(n, 6, replace=False)
    market_nodes = rng.choice(n, 3, replace=False)
    mx, my = _near(rng, xy[market_nodes], 20.0)
    o_lng = np.concatenate([lng[shop_nodes], _to_lnglat(mx, my)[0]])
    o_lat = np.concatenate([lat[shop_nodes], _to_lnglat(mx, my)[1]])
    outlets = pd.DataFrame({"category_code": ["shop"] * 6 + ["market"] * 3, "lng": o_lng, "lat": o_lat})
    return nodes, edges, communities, points, outlets


# ------------------------------------------------------------------ the oracle
def oracle_snap(node_lng, node_lat, lng, lat):
    d = haversine_m(np.asarray(lng)[:, None], np.asarray(lat)[:, None], node_lng[None, :], node_lat[None, :])
    idx = d.argmin(axis=1)
    best = d[np.arange(len(idx)), idx]
    second = np.partition(d, 1, axis=1)[:, 1]
    assert (second - best > 5).all(), "test data must snap unambiguously"
    return idx, np.maximum(best, 1e-3)


def oracle_network(nodes, edges, communities, points, outlets):
    """{cat: (point distance array, centroid->outlet distance matrix)} by brute force."""
    pos = {nid: i for i, nid in enumerate(nodes["node_id"])}
    n = len(nodes)
    u = edges["u"].map(pos).to_numpy()
    v = edges["v"].map(pos).to_numpy()
    adj = sparse.coo_matrix((edges["length_m"].to_numpy(), (u, v)), shape=(n, n)).tocsr()
    all_pairs = shortest_path(adj, method="D", directed=False)
    nl, nt = nodes["lng"].to_numpy(), nodes["lat"].to_numpy()
    pn, poff = oracle_snap(nl, nt, points["lng"], points["lat"])
    cn, coff = oracle_snap(nl, nt, communities["lng"], communities["lat"])
    out = {}
    for cat in CATEGORIES["category_code"]:
        sel = outlets[outlets["category_code"] == cat]
        if len(sel) == 0:
            out[cat] = (np.full(len(points), np.inf), np.zeros((len(communities), 0)))
            continue
        on, ooff = oracle_snap(nl, nt, sel["lng"], sel["lat"])
        d_point = (all_pairs[pn][:, on] + ooff[None, :]).min(axis=1) + poff
        d_centroid = all_pairs[cn][:, on] + ooff[None, :] + coff[:, None]
        out[cat] = (d_point, d_centroid)
    return out


def oracle_straight(communities, points, outlets):
    out = {}
    for cat in CATEGORIES["category_code"]:
        sel = outlets[outlets["category_code"] == cat]
        if len(sel) == 0:
            out[cat] = (np.full(len(points), np.inf), np.zeros((len(communities), 0)))
            continue
        dp = haversine_m(points["lng"].to_numpy()[:, None], points["lat"].to_numpy()[:, None],
                         sel["lng"].to_numpy()[None, :], sel["lat"].to_numpy()[None, :])
        dc = haversine_m(communities["lng"].to_numpy()[:, None], communities["lat"].to_numpy()[:, None],
                         sel["lng"].to_numpy()[None, :], sel["lat"].to_numpy()[None, :])
        out[cat] = (dp.min(axis=1) * DETOUR, dc * DETOUR)
    return out


def check_against_oracle(access, communities, points, oracle, tol_of):
    """Compare every access row with the oracle; tol_of(d) = allowed error at distance d."""
    assert list(access.columns) == ACCESS_COLUMNS
    assert len(access) == len(communities) * len(CATEGORIES)
    rows = access.set_index(["community_code", "category_code"])
    assert rows.index.is_unique
    pop = points["population"].to_numpy()
    interesting = {"partial_within": 0, "outlets_within": 0, "nearest": 0}
    for cat, thr in zip(CATEGORIES["category_code"], CATEGORIES["threshold_m"]):
        d_point, d_centroid = oracle[cat]
        tol_thr = tol_of(thr)
        for ci, code in enumerate(communities["community_code"]):
            r = rows.loc[(code, cat)]
            mine = (points["community_code"] == code).to_numpy()
            d, w = d_point[mine], pop[mine]
            total = w.sum()
            assert r["threshold_m"] == thr
            # population within: between the counts at thr - tol and thr + tol
            lo, hi = w[d <= thr - tol_thr].sum(), w[d <= thr + tol_thr].sum()
            assert lo <= r["population_within"] <= hi, (code, cat)
            if total:
                share_lo, share_hi = lo / total, hi / total
                assert share_lo - 1e-4 <= r["population_share_within"] <= share_hi + 1e-4
                if share_lo >= 0.5:
                    assert r["present"]
                if share_hi < 0.5:
                    assert not r["present"]
                interesting["partial_within"] += 0 < lo and hi < total
            else:
                assert r["population_within"] == 0
                assert r["population_share_within"] == 0.0
                assert not r["present"]
            # outlets within reach of the centroid
            dc = d_centroid[ci]
            olo, ohi = int((dc <= thr - tol_thr).sum()), int((dc <= thr + tol_thr).sum())
            assert olo <= r["outlets_within"] <= ohi, (code, cat)
            interesting["outlets_within"] += olo > 0
            # population-weighted nearest distance; None when anyone is beyond the limit
            beyond = d > LIMIT + tol_of(LIMIT)
            surely_within = d <= LIMIT - tol_of(LIMIT)
            if total == 0 or beyond.any():
                assert r["nearest_m"] is None or pd.isna(r["nearest_m"]), (code, cat)
                assert r["nearest_walk_min"] is None or pd.isna(r["nearest_walk_min"])
            elif surely_within.all():
                expected = float((d * w).sum() / total)
                assert r["nearest_m"] == pytest.approx(expected, abs=tol_of(expected) + 0.05), (code, cat)
                assert r["nearest_walk_min"] == pytest.approx(r["nearest_m"] / WALK, abs=0.051)
                interesting["nearest"] += 1
    # the random city must exercise the interesting cases, or the test proves little
    assert interesting["outlets_within"] > 0
    assert interesting["partial_within"] > 0
    assert interesting["nearest"] > 0
    # no outlets of the category: nothing reachable anywhere
    none = rows.xs("pharmacy", level="category_code")
    assert none["nearest_m"].isna().all()
    assert (none["population_within"] == 0).all()
    assert (none["outlets_within"] == 0).all()
    assert not none["present"].any()


SEEDS = [7, 2024, 31337]


@pytest.mark.parametrize("seed", SEEDS)
def test_network_access_matches_brute_force(seed):
    nodes, edges, communities, points, outlets = make_city(seed)
    graph = build_graph(nodes, edges)
    access, flags = compute_access(communities, points, outlets, CATEGORIES, graph,
                                   walking_speed=WALK, detour_factor=DETOUR)
    assert set(access["method"]) == {"network"}
    oracle = oracle_network(nodes, edges, communities, points, outlets)
    check_against_oracle(access, communities, points, oracle, lambda d: NET_TOL)

    # per-point flags: covered when every required category is within its threshold
    assert flags["point_id"].tolist() == points["point_id"].tolist()
    assert flags["population"].tolist() == points["population"].tolist()
    surely = np.ones(len(points), bool)
    maybe = np.ones(len(points), bool)
    for cat, thr in zip(CATEGORIES["category_code"][:2], CATEGORIES["threshold_m"][:2]):
        surely &= oracle[cat][0] <= thr - NET_TOL
        maybe &= oracle[cat][0] <= thr + NET_TOL
    got = flags["covered_all"].to_numpy()
    assert (got[surely]).all()
    assert not (got[~maybe]).any()


@pytest.mark.parametrize("seed", SEEDS)
def test_approximate_access_uses_straight_line_times_detour(seed):
    _, _, communities, points, outlets = make_city(seed)
    access, flags = compute_access(communities, points, outlets, CATEGORIES, None,
                                   walking_speed=WALK, detour_factor=DETOUR)
    assert set(access["method"]) == {"approximate"}
    oracle = oracle_straight(communities, points, outlets)
    check_against_oracle(access, communities, points, oracle, lambda d: APPROX_REL * d + 0.05)


def test_build_graph_symmetric_and_maps_ids():
    nodes = pd.DataFrame({"node_id": [30, 10, 20], "lng": [105.700, 105.701, 105.702], "lat": [34.58] * 3})
    edges = pd.DataFrame({"u": [10, 20], "v": [20, 30], "length_m": [91.5, 0.0]})
    g = build_graph(nodes, edges)
    m = g.matrix.toarray()
    # row order follows the nodes table: 30 -> 0, 10 -> 1, 20 -> 2
    assert m[1, 2] == m[2, 1] == 91.5
    assert m[2, 0] == m[0, 2] == 1e-3   # zero lengths kept as a tiny positive weight
    assert m[0, 1] == m[1, 0] == 0.0
    assert g.n == 3
    idx, off = g.snap([105.701], [34.58])
    assert idx.tolist() == [1]
    assert off.tolist() == [1e-3]


def test_nearest_outlet_distance_on_a_path():
    # 0 -100- 1 -100- 2 -100- 3 ; outlets at node 0 (walk 5 m) and node 3 (walk 40 m, and 10 m)
    nodes = pd.DataFrame({"node_id": [0, 1, 2, 3], "lng": [105.7 + i * 0.001 for i in range(4)], "lat": [34.58] * 4})
    edges = pd.DataFrame({"u": [0, 1, 2], "v": [1, 2, 3], "length_m": [100.0, 100.0, 100.0]})
    g = build_graph(nodes, edges)
    d = nearest_outlet_distance(g, np.array([0, 3, 3]), np.array([5.0, 40.0, 10.0]), limit=1000)
    assert d.tolist() == pytest.approx([5.0, 105.0, 110.0, 10.0])
    capped = nearest_outlet_distance(g, np.array([0]), np.array([5.0]), limit=150)
    assert capped[:2].tolist() == pytest.approx([5.0, 105.0])
    assert np.isinf(capped[2:]).all()
    assert np.isinf(nearest_outlet_distance(g, np.array([], np.int64), np.array([]), 1000)).all()
