"""Walking network from OSM: walkability rules, cleaning and exact lengths on a tiny
hand-drawn network (tests/fixtures/osm_tiny.py), read from .osm.pbf and from Overpass JSON,
and compute_access on the result against distances worked out by hand."""
import json

import numpy as np
import pandas as pd
import pytest

from lifecircle.coverage import osm_network as osm
from lifecircle.coverage.access import compute_access
from lifecircle.coverage.network import build_graph
from tests.fixtures import osm_tiny as t

LENGTH_TOL = 0.03   # metres: coordinates carry OSM's 1e-7 degree (~1 cm) precision


@pytest.fixture(scope="module")
def rules():
    return osm.load_rules(osm.rules_path())


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("osm")
    return {"pbf": t.write_pbf(folder / "tiny.osm.pbf"), "overpass": t.write_overpass(folder / "overpass.json")}


@pytest.mark.parametrize("tags, walkable", [
    ({"highway": "footway"}, True),
    ({"highway": "primary"}, True),
    ({"highway": "primary", "foot": "no"}, False),
    ({"highway": "residential", "access": "private"}, False),
    ({"highway": "residential", "access": "private", "foot": "yes"}, True),
    ({"highway": "motorway"}, False),
    ({"highway": "trunk_link"}, False),
    ({"highway": "trunk", "foot": "yes"}, True),
    ({"highway": "no_such_class"}, False),
    ({"building": "yes", "foot": "yes"}, False),
])
def test_walkability_rules(rules, tags, walkable):
    assert osm.is_walkable(tags, rules) is walkable


def test_rules_file_errors_name_the_line(tmp_path):
    bad = tmp_path / "rules.csv"
    bad.write_text("key,value,walkable\nhighway,footway,true\nhighway,path,maybe\n", encoding="utf-8")
    with pytest.raises(osm.NetworkSourceError, match=r"rules.csv line 3, field walkable"):
        osm.load_rules(bad)
    bad.write_text("key,value,walkable\nsidewalk,both,true\n", encoding="utf-8")
    with pytest.raises(osm.NetworkSourceError, match="line 2: key 'sidewalk'"):
        osm.load_rules(bad)


def _cleaned(source, rules):
    return osm.clean(osm.read_source(source, rules), max_segment_m=50)


@pytest.mark.parametrize("kind", ["pbf", "overpass"])
def test_tiny_network_cleaned_as_worked_by_hand(sources, rules, kind):
    nodes, edges, summary = _cleaned(sources[kind], rules)
    assert {k: summary[k] for k in t.EXPECTED_SUMMARY} == t.EXPECTED_SUMMARY
    assert set(nodes["node_id"]) == t.EXPECTED_NODES
    got = {frozenset((u, v)): w for u, v, w in edges.itertuples(index=False)}
    want = {frozenset(pair): w for pair, w in t.EXPECTED_EDGES.items()}
    assert got.keys() == want.keys()
    for pair, length in want.items():
        assert got[pair] == pytest.approx(length, abs=LENGTH_TOL), pair
    assert edges["length_m"].max() <= 50
    at = nodes.set_index("node_id")
    for node_id, (x, y) in t.EXPECTED_NEW_NODES.items():
        lng, lat = t.lnglat(x, y)
        assert at.loc[node_id, "lng"] == pytest.approx(lng, abs=2e-7)
        assert at.loc[node_id, "lat"] == pytest.approx(lat, abs=2e-7)
    assert nodes["node_id"].dtype == np.int64 and edges["u"].dtype == np.int64


def test_pbf_and_overpass_give_the_same_network(sources, rules):
    pbf_nodes, pbf_edges, pbf_summary = _cleaned(sources["pbf"], rules)
    op_nodes, op_edges, op_summary = _cleaned(sources["overpass"], rules)
    pd.testing.assert_frame_equal(pbf_nodes, op_nodes, check_exact=False, rtol=0, atol=1e-9)
    pd.testing.assert_frame_equal(pbf_edges, op_edges, check_exact=False, rtol=0, atol=1e-6)
    assert pbf_summary == op_summary


def test_smaller_max_segment_splits_more(sources, rules):
    nodes, edges, summary = osm.clean(osm.read_source(sources["pbf"], rules), max_segment_m=25)
    # 40 m -> 2 pieces (x4 edges), 30 m -> 2, 180 m -> 8: added 1 x 4 + 1 + 7 = 12 nodes
    assert summary["split_edges"] == 6 and summary["added_nodes"] == 12
    assert summary["edges"] == 2 * 4 + 2 + 8
    assert edges["length_m"].max() <= 25
    assert edges["length_m"].sum() == pytest.approx(sum(t.EXPECTED_EDGES.values()), abs=0.1)


def test_overpass_errors_name_the_file(tmp_path, rules):
    broken = tmp_path / "overpass.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(osm.NetworkSourceError, match="overpass.json: not Overpass JSON"):
        osm.read_overpass(broken, rules)
    broken.write_text(json.dumps({"elements": [], "remark": "runtime error: Query timed out"}), encoding="utf-8")
    with pytest.raises(osm.NetworkSourceError, match="incomplete"):
        osm.read_overpass(broken, rules)
    broken.write_text(json.dumps({"elements": [{"type": "way", "id": 1, "nodes": [1, 2],
                                                "tags": {"highway": "motorway"}}]}), encoding="utf-8")
    with pytest.raises(osm.NetworkSourceError, match="no walkable street segment"):
        osm.clean(osm.read_overpass(broken, rules))


def test_compute_access_on_the_osm_network(sources, rules):
    """Hand-worked: P1 stands on A, P2 10 m east of C (its nearest node is C: B is 41 m
    away, the first split node 46 m). The shop stands on H, the repair shop on E.
      P1 -> shop  A-B-C-D-H = 40+40+180+40 = 300;  P1 -> repair A-B-E = 40+30 = 70
      P2 -> shop  10 + C-D-H = 10+180+40 = 230;    P2 -> repair 10 + C-B-E = 10+40+30 = 80
    Thresholds shop 250, repair 75: P2 (50 people) reaches the shop, P1 (100) the repair."""
    graph = build_graph(*_cleaned(sources["pbf"], rules)[:2])
    a, c_east = t.lnglat(*t.XY[t.A]), t.lnglat(10, 80)
    communities = pd.DataFrame({"community_code": ["c1"], "lng": [a[0]], "lat": [a[1]]})
    points = pd.DataFrame({"point_id": ["p1", "p2"], "community_code": ["c1", "c1"],
                           "lng": [a[0], c_east[0]], "lat": [a[1], c_east[1]], "population": [100.0, 50.0]})
    outlets = pd.DataFrame({"category_code": ["shop", "repair"],
                            "lng": [t.lnglat(*t.XY[t.H])[0], t.lnglat(*t.XY[t.E])[0]],
                            "lat": [t.lnglat(*t.XY[t.H])[1], t.lnglat(*t.XY[t.E])[1]]})
    categories = pd.DataFrame({"category_code": ["shop", "repair"], "threshold_m": [250.0, 75.0],
                               "required_for_coverage": [True, True]})
    access, flags = compute_access(communities, points, outlets, categories, graph,
                                   walking_speed=80.0, detour_factor=1.3)
    row = access.set_index("category_code")
    assert row.loc["shop", "nearest_m"] == pytest.approx((100 * 300 + 50 * 230) / 150, abs=0.15)
    assert row.loc["repair", "nearest_m"] == pytest.approx((100 * 70 + 50 * 80) / 150, abs=0.15)
    assert row.loc["shop", "population_within"] == 50 and row.loc["repair", "population_within"] == 100
    assert row.loc["shop", "outlets_within"] == 0 and row.loc["repair", "outlets_within"] == 1  # from A
    assert set(row["method"]) == {"network"}
    assert not flags["covered_all"].any()
