"""The fast coverage path against brute force, on random small cities.

The reference is deliberately naive: one scipy Dijkstra per target node over the whole
network, then min / count over every outlet. The fast path is forced through all its
branches by shrinking its tuning constants: many tiles, targets the tiles cannot certify,
both ways of finishing those (whole-network search, bounded search from the target),
forked workers, and a network with a "tunnel" edge shorter than the straight line."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.sparse.csgraph import dijkstra

from lifecircle.coverage import distances
from lifecircle.coverage.access import ACCESS_COLUMNS, compute_access
from lifecircle.coverage.distances import (OutletsByNode, count_outlets_within, nearest_by_group,
                                           within_reach)
from lifecircle.coverage.network import build_graph

LNG0, LAT0 = 105.7, 34.58
M_LAT = 111_320.0
M_LNG = M_LAT * math.cos(math.radians(LAT0))
SIDE, SPACING = 24, 60.0
CATEGORIES = pd.DataFrame({"category_code": ["dense", "medium", "sparse", "none"],
                           "threshold_m": [300.0, 500.0, 800.0, 400.0],
                           "required_for_coverage": [True, True, False, False]})
COUNTS = [150, 30, 4, 0]
CAP = 2 * 800.0
SEEDS = [1, 17, 2024]


def _lnglat(xy):
    return LNG0 + xy[:, 0] / M_LNG, LAT0 + xy[:, 1] / M_LAT


def make_city(seed: int, tunnel: bool = False):
    """A jittered street grid with 15% of streets removed (some corners cut off entirely)."""
    rng = np.random.default_rng(seed)
    k = np.arange(SIDE * SIDE)
    ix, iy = k // SIDE, k % SIDE
    xy = np.column_stack([ix, iy]) * SPACING + rng.uniform(-25, 25, (len(k), 2))
    u = np.concatenate([k[iy < SIDE - 1], k[ix < SIDE - 1]])
    v = np.concatenate([k[iy < SIDE - 1] + 1, k[ix < SIDE - 1] + SIDE])
    keep = rng.random(len(u)) >= 0.15
    u, v = u[keep], v[keep]
    length = np.hypot(*(xy[u] - xy[v]).T) * rng.uniform(1.0, 1.1, len(u))
    if tunnel:   # opposite corners joined by a 1 m path: far shorter than the straight line
        u, v = np.append(u, 0), np.append(v, len(k) - 1)
        length = np.append(length, 1.0)
    lng, lat = _lnglat(xy)
    nodes = pd.DataFrame({"node_id": 10 * k + 3, "lng": lng, "lat": lat})
    edges = pd.DataFrame({"u": 10 * u + 3, "v": 10 * v + 3, "length_m": length})
    extent = xy.max(axis=0)

    def spots(m):
        return _lnglat(rng.uniform(0, 1, (m, 2)) * extent)

    c_lng, c_lat = spots(12)
    communities = pd.DataFrame({"community_code": [f"C{i:02d}" for i in range(12)], "lng": c_lng, "lat": c_lat})
    p_lng, p_lat = spots(150)
    points = pd.DataFrame({"point_id": [f"P{i}" for i in range(150)],
                           "community_code": [f"C{i:02d}" for i in rng.integers(0, 13, 150)],  # C12: not listed
                           "lng": p_lng, "lat": p_lat,
                           "population": rng.integers(0, 500, 150).astype(float)})
    cats = np.repeat(CATEGORIES["category_code"].to_numpy(), COUNTS)
    o_lng, o_lat = spots(len(cats))
    outlets = pd.DataFrame({"category_code": cats, "lng": o_lng, "lat": o_lat})
    if tunnel:   # a resident at one end, a shop at the other: nearest through the tunnel
        far, near = _lnglat(xy[[-1]]), _lnglat(xy[[0]] + 2.0)
        outlets.loc[len(outlets)] = ["dense", far[0][0], far[1][0]]
        points.loc[len(points)] = ["P_TUNNEL", "C00", near[0][0], near[1][0], 100.0]
    return nodes, edges, communities, points, outlets


def snapped(graph, outlets):
    nodes, off = graph.snap(outlets["lng"], outlets["lat"])
    group = pd.Categorical(outlets["category_code"], categories=CATEGORIES["category_code"]).codes
    return nodes, off, group.astype(np.int64)


def brute_node_distances(graph, nodes):
    """Full-network Dijkstra from each node: rows = nodes."""
    return dijkstra(graph.matrix, directed=True, indices=nodes)


def brute_nearest(graph, targets, o_nodes, o_off, o_group, limits):
    all_d = brute_node_distances(graph, targets)
    out = np.full((len(limits), len(targets)), np.inf)
    for g, limit in enumerate(limits):
        mine = o_group == g
        if mine.any():
            d = (all_d[:, o_nodes[mine]] + o_off[mine][None, :]).min(axis=1)
            out[g] = np.where(d <= limit, d, np.inf)
    return out


@pytest.fixture
def small_tiles(monkeypatch):
    """Tiles of ~8x8 nodes with a 2-block margin: most of the machinery runs."""
    monkeypatch.setattr(distances, "REGION_NODES", 150)
    monkeypatch.setattr(distances, "MARGIN_M", 120.0)
    monkeypatch.setattr(distances, "TILE_PER_LIMIT", 0.5)


@pytest.fixture
def spy(monkeypatch):
    """Counts how uncertain pairs were finished (workers=1 keeps the calls in-process)."""
    calls = {"global": 0, "reach": 0}
    for name, key in (("_global_nearest", "global"), ("_reach_nearest", "reach")):
        real = getattr(distances, name)

        def wrapped(shared, task, real=real, key=key):
            calls[key] += 1
            return real(shared, task)
        monkeypatch.setattr(distances, name, wrapped)
    return calls


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("finish", ["global", "reach"])
def test_nearest_by_group_equals_brute_force(seed, finish, small_tiles, spy, monkeypatch):
    monkeypatch.setattr(distances, "GLOBAL_IF_UNRESOLVED", -1 if finish == "global" else 10**9)
    nodes, edges, _, points, outlets = make_city(seed)
    graph = build_graph(nodes, edges)
    o_nodes, o_off, o_group = snapped(graph, outlets)
    targets = np.unique(graph.snap(points["lng"], points["lat"])[0])
    limits = [CAP, CAP, 700.0, CAP]
    got = nearest_by_group(graph, o_nodes, o_off, o_group, limits, targets, workers=1)
    want = brute_nearest(graph, targets, o_nodes, o_off, o_group, limits)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert spy[finish] > 0 and spy["reach" if finish == "global" else "global"] == 0
    assert np.isfinite(want[2]).any() and np.isinf(want[2]).any()   # the cap bites


def test_nearest_with_a_tunnel_shorter_than_the_straight_line(small_tiles):
    nodes, edges, _, points, outlets = make_city(5, tunnel=True)
    graph = build_graph(nodes, edges)
    assert graph.detour_floor < 0.1        # tiles must grow to stay exact
    o_nodes, o_off, o_group = snapped(graph, outlets)
    targets = np.unique(graph.snap(points["lng"], points["lat"])[0])
    got = nearest_by_group(graph, o_nodes, o_off, o_group, [CAP] * 4, targets, workers=1)
    want = brute_nearest(graph, targets, o_nodes, o_off, o_group, [CAP] * 4)
    np.testing.assert_allclose(got, want, atol=1e-9)
    assert want[0, targets == 0][0] < 5.0   # the tunnel is the way to the shop


@pytest.mark.parametrize("seed", SEEDS)
def test_count_outlets_within_equals_brute_force(seed, small_tiles):
    nodes, edges, communities, _, outlets = make_city(seed)
    graph = build_graph(nodes, edges)
    o_nodes, o_off, o_group = snapped(graph, outlets)
    c_nodes, c_off = graph.snap(communities["lng"], communities["lat"])
    thr = CATEGORIES["threshold_m"].to_numpy()
    got = count_outlets_within(graph, c_nodes, c_off, OutletsByNode.build(graph.n, o_nodes, o_group, o_off), thr,
                               workers=1)
    walk = brute_node_distances(graph, c_nodes)[:, o_nodes] + o_off[None, :] + c_off[:, None]
    want = np.stack([(walk[:, o_group == g] <= thr[g]).sum(axis=1) for g in range(len(thr))], axis=1)
    np.testing.assert_array_equal(got, want)
    assert want[:, 0].max() > 1 and want[:, 2].max() >= 1


@pytest.mark.parametrize("tunnel", [False, True])
def test_within_reach_lists_exactly_the_nodes_in_reach(tunnel, small_tiles):
    nodes, edges, _, points, _ = make_city(3, tunnel=tunnel)
    graph = build_graph(nodes, edges)
    p_nodes, _ = graph.snap(points["lng"], points["lat"])
    limits = np.linspace(0, 400, len(p_nodes))
    reach = within_reach(graph, p_nodes, limits)
    got = np.full((len(p_nodes), graph.n), np.inf)
    got[reach.origin, reach.node] = reach.dist
    want = brute_node_distances(graph, p_nodes)
    want[want > limits[:, None]] = np.inf
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_forked_workers_give_the_same_answer(small_tiles, monkeypatch):
    monkeypatch.setattr(distances, "PARALLEL_MIN_NODES", 0)
    monkeypatch.setattr(distances, "PARALLEL_MIN_ORIGINS", 0)
    nodes, edges, communities, points, outlets = make_city(11)
    graph = build_graph(nodes, edges)
    kw = dict(walking_speed=80.0, detour_factor=1.3)
    monkeypatch.setattr(distances, "default_workers", lambda: 1)
    serial = compute_access(communities, points, outlets, CATEGORIES, graph, **kw)
    monkeypatch.setattr(distances, "default_workers", lambda: 2)
    forked = compute_access(communities, points, outlets, CATEGORIES, graph, **kw)
    pd.testing.assert_frame_equal(serial[0], forked[0])
    pd.testing.assert_frame_equal(serial[1], forked[1])


@pytest.mark.parametrize("seed", SEEDS)
def test_compute_access_equals_brute_force(seed, small_tiles):
    nodes, edges, communities, points, outlets = make_city(seed)
    graph = build_graph(nodes, edges)
    access, flags = compute_access(communities, points, outlets, CATEGORIES, graph, walking_speed=80.0,
                                   detour_factor=1.3, presence_share=0.5)
    assert list(access.columns) == ACCESS_COLUMNS
    assert len(access) == len(communities) * len(CATEGORIES) and set(access["method"]) == {"network"}

    p_nodes, p_off = graph.snap(points["lng"], points["lat"])
    c_nodes, c_off = graph.snap(communities["lng"], communities["lat"])
    o_nodes, o_off, o_group = snapped(graph, outlets)
    from_points = brute_node_distances(graph, p_nodes) + p_off[:, None]
    from_centroids = brute_node_distances(graph, c_nodes) + c_off[:, None]
    rows = access.set_index(["community_code", "category_code"])
    pop = points["population"].to_numpy()
    covered = np.ones(len(points), bool)
    for g, (cat, thr, required) in enumerate(CATEGORIES.itertuples(index=False)):
        mine = o_group == g
        d = (from_points[:, o_nodes[mine]] + o_off[mine]).min(axis=1) if mine.any() else np.full(len(points), np.inf)
        d[d > CAP] = np.inf
        if required:
            covered &= d <= thr
        for ci, code in enumerate(communities["community_code"]):
            r = rows.loc[(code, cat)]
            member = (points["community_code"] == code).to_numpy()
            w, dd = pop[member], d[member]
            total = w.sum()
            within = w[dd <= thr].sum()
            assert r["population_within"] == round(within), (code, cat)
            assert r["population_share_within"] == pytest.approx(within / total if total else 0.0, abs=5e-5)
            assert r["present"] == bool(total and within / total >= 0.5)
            counted = w > 0
            if total and np.isfinite(dd[counted]).all():
                assert r["nearest_m"] == pytest.approx((dd[counted] * w[counted]).sum() / total, abs=0.051)
                assert r["nearest_walk_min"] == pytest.approx(r["nearest_m"] / 80.0, abs=0.051)
            else:
                assert pd.isna(r["nearest_m"]) and pd.isna(r["nearest_walk_min"])
            reach = from_centroids[ci, o_nodes[mine]] + o_off[mine]
            assert r["outlets_within"] == int((reach <= thr).sum()), (code, cat)
    assert flags["covered_all"].tolist() == covered.tolist()
    assert flags["point_id"].tolist() == points["point_id"].tolist()
