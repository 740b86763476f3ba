"""The POI stage with ``poi_source: osm``: the tiny city's four outlets served as OpenStreetMap
elements by a fake Overpass API, extracted in one request, validated and published ->
core.outlet_location has the four outlets, categorised by their OSM tags, within 1 m."""
from __future__ import annotations

import json
import os

import pandas as pd
import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration
MONTH = "2024-05"
# the tiny city's outlets as OSM elements: (osm id, type, tags, x metres along the street)
ELEMENTS = [
    (1, "node", {"shop": "convenience", "name": "美宜佳便利店（甲社区店）"}, 300),
    (2, "node", {"shop": "convenience", "name": "美宜佳便利店（乙社区店）"}, 1100),
    (3, "way", {"amenity": "pharmacy", "name": "仁和药房"}, 600),
    (4, "node", {"shop": "books", "name": "丙街书屋"}, 1800),
]
EXPECTED_CATEGORY = {"osm:node/1": "convenience_store", "osm:node/2": "convenience_store",
                     "osm:way/3": "pharmacy", "osm:node/4": "bookstore"}


@pytest.fixture()
def osm_city(tiny_city, warehouse_url, tmp_path):
    """The tiny city switched to ``poi_source: osm`` (its city.yaml and an osm_tags.csv in
    its config), a fake Overpass API serving its outlets, AIRFLOW_CONN_OVERPASS_API set."""
    from lifecircle.devservers import OverpassServer
    from lifecircle.warehouse.reference import prepare
    from tests.fixtures.tiny_city import LAT0, lng_at

    cfg = tiny_city["config"]
    city_yaml = cfg / "cities/tiny/city.yaml"
    original = city_yaml.read_text(encoding="utf-8")
    city_yaml.write_text(original + "poi_source: osm\n", encoding="utf-8")
    pd.DataFrame([{"key": "shop", "value": "convenience", "category_code": "convenience_store"},
                  {"key": "amenity", "value": "pharmacy", "category_code": "pharmacy"},
                  {"key": "shop", "value": "books", "category_code": "bookstore"}]
                 ).to_csv(cfg / "mappings/osm_tags.csv", index=False)
    prepare()
    elements = []
    for osm_id, kind, tags, x in ELEMENTS:
        el = {"type": kind, "id": osm_id, "tags": tags}
        if kind == "node":
            el.update(lat=LAT0, lon=lng_at(x))
        else:
            el["center"] = {"lat": LAT0, "lon": lng_at(x)}
        elements.append(el)
    path = tmp_path / "overpass.json"
    path.write_text(json.dumps({"version": 0.6, "elements": elements}, ensure_ascii=False), encoding="utf-8")
    saved = os.environ.get("AIRFLOW_CONN_OVERPASS_API")
    try:
        with OverpassServer(path) as server:
            os.environ["AIRFLOW_CONN_OVERPASS_API"] = f"http://127.0.0.1:{server.port}"
            yield server
    finally:
        city_yaml.write_text(original, encoding="utf-8")
        (cfg / "mappings/osm_tags.csv").unlink(missing_ok=True)
        if saved is None:
            os.environ.pop("AIRFLOW_CONN_OVERPASS_API", None)
        else:
            os.environ["AIRFLOW_CONN_OVERPASS_API"] = saved


def test_osm_pois_extract_validate_publish(osm_city, warehouse_url):
    from lifecircle.geo.gcj02 import haversine_m
    from lifecircle.ingest import pois
    from tests.fixtures.tiny_city import LAT0, lng_at

    out = pois.extract(MONTH)
    assert out["pois"] == 4 and out["queries"] == 1 and len(osm_city.queries) == 1
    query = osm_city.queries[0]
    assert "out center" in query and '"shop"~"^(books|convenience)$"' in query
    assert '"amenity"~"^(pharmacy)$"' in query and "(34.57,105.69,34.59,105.73)" in query

    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT cell_id, poi_id, typecode FROM raw.poi "
                                   "WHERE load_id = 'pois:2024-05' ORDER BY seq")).all()
        status = conn.execute(sa.text("SELECT status FROM raw.load WHERE load_id = 'pois:2024-05'")).scalar()
    assert status == "extracted" and {r.cell_id for r in raw} == {"overpass"}
    assert [(r.poi_id, r.typecode) for r in raw] == [
        ("osm:node/1", "shop=convenience"), ("osm:node/2", "shop=convenience"),
        ("osm:way/3", "amenity=pharmacy"), ("osm:node/4", "shop=books")]

    checked = pois.validate(MONTH)
    assert checked["accepted"] == 4 and checked["quarantined"] == 0 and checked["unmapped"] == 0
    pois.publish(MONTH)
    with engine.connect() as conn:
        located = {r.poi_id: r for r in conn.execute(sa.text(
            "SELECT poi_id, category_code, lng, lat FROM core.outlet_location WHERE snapshot_date = '2024-05-31'"))}
    assert {k: r.category_code for k, r in located.items()} == EXPECTED_CATEGORY
    x_by_id = {f"osm:{kind}/{osm_id}": x for osm_id, kind, _, x in ELEMENTS}
    for poi_id, r in located.items():
        assert haversine_m(r.lng, r.lat, lng_at(x_by_id[poi_id]), LAT0) < 1.0, poi_id


def test_failed_overpass_request_marks_the_load_failed(osm_city, warehouse_url):
    from lifecircle.ingest import pois
    from lifecircle.sources.http import SourceError

    osm_city.fail_with = 504
    with pytest.raises(SourceError, match="HTTP 504"):
        pois.extract(MONTH)
    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        status = conn.execute(sa.text("SELECT status FROM raw.load WHERE load_id = 'pois:2024-05'")).scalar()
    assert status == "failed"
    osm_city.fail_with = None
    assert pois.extract(MONTH)["pois"] == 4
