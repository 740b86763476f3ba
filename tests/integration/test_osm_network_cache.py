"""The cleaned OSM network is cached under <state>/network_cache and picked by
citydata.network: OSM source first, then the generated CSVs, then none."""
import logging
import shutil

import pandas as pd
import pytest

from lifecircle import citydata
from lifecircle.coverage import osm_network as osm
from tests.fixtures import osm_tiny as t


@pytest.fixture
def city_dir(tmp_path, monkeypatch):
    """An empty city-data folder and a private state dir (so the cache starts empty)."""
    data = tmp_path / "citydata"
    (data / "network").mkdir(parents=True)
    monkeypatch.setenv("LIFECIRCLE_CITY_DATA", str(data))
    monkeypatch.setenv("LIFECIRCLE_STATE_DIR", str(tmp_path / "state"))
    return data / "network"


def _cache_entries():
    return sorted(p.name for p in osm.cache_dir().glob("*.parquet"))


def test_second_run_reads_the_cache(city_dir, caplog):
    t.write_pbf(city_dir / "tiny.osm.pbf")
    caplog.set_level(logging.INFO, logger=osm.__name__)
    nodes1, edges1, first = citydata.network_with_summary()
    assert first["cache"] == "miss" and first["nodes"] == 10 and first["edges"] == 9
    assert len(first["source_sha256"]) == 64
    assert len(_cache_entries()) == 2   # <key>.nodes.parquet, <key>.edges.parquet
    caplog.clear()
    nodes2, edges2, second = citydata.network_with_summary()
    assert second["cache"] == "hit"
    assert "cache hit" in caplog.text
    pd.testing.assert_frame_equal(nodes1, nodes2)
    pd.testing.assert_frame_equal(edges1, edges2)
    assert {k: v for k, v in first.items() if k != "cache"} == {k: v for k, v in second.items() if k != "cache"}
    # network() is the same data, in the shape coverage/run.py expects
    nodes3, edges3 = citydata.network()
    pd.testing.assert_frame_equal(edges1, edges3)


def test_changed_source_or_parameter_is_a_new_key(city_dir, tmp_path):
    source = t.write_pbf(city_dir / "tiny.osm.pbf")
    _, _, base = osm.load_network(source, max_segment_m=50)
    _, _, other_param = osm.load_network(source, max_segment_m=25)
    assert other_param["cache"] == "miss" and other_param["cache_key"] != base["cache_key"]
    rules = tmp_path / "rules.csv"
    shutil.copy(osm.rules_path(), rules)
    with open(rules, "a", encoding="utf-8") as fh:
        fh.write("highway,bridleway,true,\n")
    _, _, other_rules = osm.load_network(source, max_segment_m=50, rules=rules)
    assert other_rules["cache"] == "miss" and other_rules["cache_key"] != base["cache_key"]
    edited = t.write_overpass(city_dir / "overpass.json")   # different bytes, same streets
    _, _, other_source = osm.load_network(edited, max_segment_m=50)
    assert other_source["cache"] == "miss" and other_source["source_sha256"] != base["source_sha256"]
    assert len(_cache_entries()) == 2 * 4
    assert osm.load_network(source, max_segment_m=50)[2]["cache"] == "hit"


def test_source_choice(city_dir):
    assert citydata.network() is None
    pd.DataFrame({"node_id": [1, 2], "lng": [105.7, 105.701], "lat": [34.58, 34.58]}).to_csv(
        city_dir / "nodes.csv", index=False)
    pd.DataFrame({"u": [1], "v": [2], "length_m": [91.6]}).to_csv(city_dir / "edges.csv", index=False)
    nodes, edges = citydata.network()
    assert len(nodes) == 2 and len(edges) == 1   # the generated CSVs, as they are
    t.write_overpass(city_dir / "overpass.json")
    assert citydata.network_with_summary()[2]["source"].endswith("overpass.json")
    t.write_pbf(city_dir / "a.osm.pbf")
    assert citydata.network_with_summary()[2]["source"].endswith("a.osm.pbf")   # .pbf wins
    t.write_pbf(city_dir / "b.osm.pbf")
    with pytest.raises(osm.NetworkSourceError, match=r"several \.osm\.pbf files"):
        citydata.network()


def test_unreadable_pbf_names_the_file(city_dir):
    (city_dir / "broken.osm.pbf").write_bytes(b"this is not a pbf")
    with pytest.raises(osm.NetworkSourceError, match="broken.osm.pbf"):
        citydata.network()
    assert _cache_entries() == []
