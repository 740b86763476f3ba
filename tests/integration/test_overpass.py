"""OSM POIs from the (fake) Overpass API over a real socket: parsed to the AMap row schema,
categorised by config/mappings/osm_tags.csv, unmapped tags counted, errors raised."""
from __future__ import annotations

import json

import pytest

from lifecircle.devservers import OverpassServer
from lifecircle.sources.amap import parse_pois
from lifecircle.sources.http import SourceError, make_session
from lifecircle.sources.overpass import fetch_overpass, parse_overpass

pytestmark = pytest.mark.integration
QUERY = '[out:json];nwr["shop"](34.5,105.6,34.7,105.8);out center;'
PAYLOAD = {"version": 0.6, "elements": [
    {"type": "node", "id": 1, "lat": 34.58, "lon": 105.70,
     "tags": {"shop": "convenience", "name": "美宜佳", "addr:street": "民主西路", "addr:housenumber": "12号"}},
    {"type": "way", "id": 2, "center": {"lat": 34.59, "lon": 105.71},
     "tags": {"shop": "supermarket", "name": "华润万家", "phone": "0938-1"}},
    {"type": "relation", "id": 3, "center": {"lat": 34.60, "lon": 105.72},
     "tags": {"amenity": "marketplace", "name": "东关菜市场"}},
    {"type": "node", "id": 4, "lat": 34.58, "lon": 105.70, "tags": {"amenity": "pharmacy", "name": "仁和药房"}},
    {"type": "node", "id": 5, "lat": 34.58, "lon": 105.70, "tags": {"craft": "shoemaker", "name": "修鞋"}},
    {"type": "node", "id": 6, "lat": 34.58, "lon": 105.70, "tags": {"shop": "greengrocer"}},
    {"type": "node", "id": 7, "lat": 34.58, "lon": 105.70, "tags": {"amenity": "kindergarten", "name": "幼儿园"}},
    {"type": "node", "id": 8, "lat": 34.58, "lon": 105.70, "tags": {"shop": "car", "name": "4S店"}},
    {"type": "node", "id": 9, "lat": 34.58, "lon": 105.70, "tags": {"shop": "car", "name": "车行"}},
    {"type": "node", "id": 10, "lat": 34.58, "lon": 105.70, "tags": {"amenity": "bench"}},
    {"type": "way", "id": 11, "tags": {"shop": "books"}},  # no center: skipped
    {"type": "node", "id": 12, "lat": 34.58, "lon": 105.70, "tags": {"leisure": "fitness_centre", "name": "健身"}},
]}


@pytest.fixture()
def server(tmp_path):
    path = tmp_path / "overpass.json"
    path.write_text(json.dumps(PAYLOAD, ensure_ascii=False), encoding="utf-8")
    with OverpassServer(path) as srv:
        yield srv


def test_fetch_and_parse_over_a_socket(server):
    payload = fetch_overpass(server.url, QUERY, make_session(retries=0))
    assert server.queries == [QUERY]
    rows, summary = parse_overpass(payload)
    by_id = {r["id"]: r for r in rows}
    assert summary["elements"] == 12 and summary["rows"] == 11 and summary["skipped_no_position"] == 1
    assert summary["unmapped_tags"] == {"shop=car": 2, "amenity=bench": 1} and summary["unmapped"] == 3
    assert {k: by_id[k]["category_code"] for k in ("osm:node/1", "osm:way/2", "osm:relation/3", "osm:node/4",
                                                     "osm:node/5", "osm:node/6", "osm:node/7", "osm:node/12")} == {
        "osm:node/1": "convenience_store", "osm:way/2": "supermarket", "osm:relation/3": "wet_market",
        "osm:node/4": "pharmacy", "osm:node/5": "repair", "osm:node/6": "fresh_food_store",
        "osm:node/7": "childcare", "osm:node/12": "fitness"}
    one = by_id["osm:node/1"]
    assert (one["lng"], one["lat"]) == (105.70, 34.58) and one["address"] == "民主西路12号"
    assert one["typecode"] is None and one["typecodes"] == []
    assert by_id["osm:way/2"]["tel"] == "0938-1" and by_id["osm:way/2"]["lat"] == 34.59
    # same fields as AMap rows; the GCJ-02 pair converts back to the WGS-84 one
    amap = parse_pois([{"id": "B1", "name": "x", "typecode": "060200", "location": "105.7,34.58"}])[0]
    assert set(amap) <= set(one) and set(one) - set(amap) == {"category_code"}
    back = parse_pois([{"id": "x", "location": f"{one['lng_gcj']},{one['lat_gcj']}"}])[0]
    assert back["lng"] == pytest.approx(105.70, abs=1e-6) and back["lat"] == pytest.approx(34.58, abs=1e-6)


def test_errors_raise_source_error_with_status(server):
    server.fail_with = 429
    with pytest.raises(SourceError, match="HTTP 429"):
        fetch_overpass(server.url, QUERY, make_session(retries=0))
    server.fail_with = None
    with pytest.raises(SourceError, match="HTTP 400"):
        fetch_overpass(server.url, "", make_session(retries=0))
