"""Map POIs: AMap harvest (or one OpenStreetMap Overpass query) over the whole city -> raw ->
validated staging -> core locations.

The provider is the city's ``poi_source`` in city.yaml: ``amap`` (default) or ``osm``, for
cities or years where AMap is not used. OSM elements land in raw.poi with the AMap columns:
``cell_id`` 'overpass', ``poi_id`` ``osm:<type>/<id>``, ``typecode`` the OSM tag as text
(``shop=convenience``, the first mapped tag in the order shop, amenity, craft, leisure)
and ``location`` the WGS-84 position forward-converted to GCJ-02. Why GCJ-02: raw.poi's
``location`` is what AMap sends, and :func:`transform` converts every row GCJ-02 ->
WGS-84 by iteration that converges to 1e-7 degrees, so the OSM coordinate comes back to
well under 1 cm — one transform path for both providers, no provider flag in staging.
``transform`` then categorises rows whose typecode looks like ``key=value`` by
``config/mappings/osm_tags.csv`` (else by a name keyword) instead of the AMap typecodes.
"""
from __future__ import annotations

import logging

import pandas as pd
import sqlalchemy as sa

from lifecircle import citydata, refdata, settings
from lifecircle.geo.gcj02 import wgs84_to_gcj02
from lifecircle.ingest import categorise, loads, locate
from lifecircle.period import Month
from lifecircle.quality import boundary, gate, gx_runner, routing
from lifecircle.quality import checks as table_checks
from lifecircle.sources import overpass
from lifecircle.sources.amap import AmapQuotaError, harvest, parse_pois
from lifecircle.warehouse.bulk import replace_rows
from lifecircle.warehouse.engine import get_engine, run_sql_file

log = logging.getLogger(__name__)
SOURCE = "pois"
RAW_COLUMNS = ["load_id", "cell_id", "seq", "poi_id", "name", "type", "typecode", "address", "location",
               "adcode", "adname", "tel"]


def city_bbox_gcj(city_cfg: dict) -> tuple[float, float, float, float]:
    """The city's WGS-84 bbox as a GCJ-02 rectangle, padded by the largest GCJ shift so no
    POI near the edge is missed."""
    b = city_cfg["bbox"]
    lo = wgs84_to_gcj02(b["min_lng"], b["min_lat"])
    hi = wgs84_to_gcj02(b["max_lng"], b["max_lat"])
    pad = 0.01
    return (float(lo[0]) - pad, float(lo[1]) - pad, float(hi[0]) + pad, float(hi[1]) + pad)


# AMap big categories holding every business category we track: 05 catering (breakfast),
# 06 shopping, 07 life services, 08 sports & leisure, 09 medical, 14 education & culture.
DEFAULT_HARVEST_TYPES = ("050000", "060000", "070000", "080000", "090000", "140000")


def harvest_types(city_cfg: dict) -> list[str]:
    """Type codes to harvest: the city's ``amap_harvest_types`` or the default families.
    Broad families, not just mapped codes, so keyword-recognised outlets (早餐, 家政, 回收)
    are harvested too."""
    return list(city_cfg.get("amap_harvest_types") or DEFAULT_HARVEST_TYPES)


def _flat(value) -> str | None:
    if value is None or value == []:
        return None
    return value if isinstance(value, str) else str(value)


POI_SOURCES = ("amap", "osm")
OVERPASS_CELL = "overpass"
OSM_TAG_RE = r"^(shop|amenity|craft|leisure)=."


def poi_source(city_cfg: dict) -> str:
    """The city's map provider: city.yaml ``poi_source`` (``amap`` when missing)."""
    src = str(city_cfg.get("poi_source") or "amap").strip().lower()
    if src not in POI_SOURCES:
        raise ValueError(f"city.yaml poi_source must be one of {', '.join(POI_SOURCES)}, got {src!r}")
    return src


def overpass_query(city_cfg: dict, osm_tags: pd.DataFrame | None = None, timeout_s: int = 180) -> str:
    """Overpass QL for every node/way/relation inside the city's WGS-84 bbox carrying one of
    the tags mapped in osm_tags.csv (one exact-value regex per key), ``out center`` so ways
    and relations come with a position."""
    import re

    tags = overpass.load_osm_tags() if osm_tags is None else osm_tags
    b = city_cfg["bbox"]
    box = f"({b['min_lat']},{b['min_lng']},{b['max_lat']},{b['max_lng']})"
    parts = []
    for key in overpass.TAG_KEYS:
        values = sorted({v for k, v in zip(tags["key"], tags["value"]) if k == key and v})
        if values:
            regex = "|".join(re.escape(v) for v in values)
            parts.append(f'  nwr["{key}"~"^({regex})$"]{box};')
    if not parts:
        raise ValueError("osm_tags.csv maps no shop/amenity/craft/leisure tag: nothing to query")
    return f"[out:json][timeout:{int(timeout_s)}];\n(\n" + "\n".join(parts) + "\n);\nout center;"


def _extract_osm(month: Month, cfg: dict) -> dict:
    """One Overpass request for the whole city -> raw.poi (cell ``overpass``). No partial
    state is worth keeping, so any failure marks the load failed and the rerun asks again."""
    conn_info = settings.get_connection("overpass_api")
    engine = get_engine()
    with engine.begin() as conn:
        load = loads.begin(conn, SOURCE, month, ("raw.poi",))
    query = overpass_query(cfg)
    try:
        payload = overpass.fetch_overpass(conn_info.base_url, query)
        rows, summary = overpass.parse_overpass(payload)
        df = pd.DataFrame([{
            "load_id": load.load_id, "cell_id": OVERPASS_CELL, "seq": i, "poi_id": r["id"], "name": r["name"],
            "type": r["type"], "typecode": r["type"], "address": r["address"],
            # repr keeps every digit: GCJ-02 -> WGS-84 in transform returns the OSM position
            "location": f"{r['lng_gcj']!r},{r['lat_gcj']!r}",
            "adcode": _flat(r["adcode"]), "adname": _flat(r["adname"]), "tel": _flat(r["tel"]),
        } for i, r in enumerate(rows)], columns=RAW_COLUMNS)
        with engine.begin() as conn:
            # the whole load: an OSM snapshot replaces any AMap cells of an earlier attempt
            replace_rows(conn, "raw.poi", df, "load_id = :l", {"l": load.load_id})
            loads.checkpoint(conn, load.load_id, {"done_cells": [OVERPASS_CELL]})
    except Exception:
        with engine.begin() as conn:
            loads.set_status(conn, load.load_id, "failed")
        raise
    with engine.begin() as conn:
        loads.set_status(conn, load.load_id, "extracted", rows_received=len(df),
                         details={"poi_source": "osm", "queries": 1, "elements": summary["elements"],
                                  "skipped_no_position": summary["skipped_no_position"],
                                  "unmapped_tags": summary["unmapped_tags"]})
    return {"load_id": load.load_id, "pois": len(df), "cells": 1, "queries": 1, "poi_source": "osm"}


def extract(period: str, city: str | None = None, qps: float | None = None) -> dict:
    """Harvest every POI of the mapped typecodes, one checkpointed map cell at a time. A
    quota stop keeps every finished cell and resumes from there on the next run.
    With ``poi_source: osm`` one Overpass request for the city bbox instead (``qps`` unused)."""
    month = Month.parse(period)
    cfg = refdata.load_city(city)
    if poi_source(cfg) == "osm":
        return _extract_osm(month, cfg)
    conn_info = settings.get_connection("amap_api")
    types = harvest_types(cfg)
    engine = get_engine()
    with engine.begin() as conn:
        load = loads.begin(conn, SOURCE, month, ("raw.poi",))
    done = list(load.checkpoint.get("done_cells", []))

    def on_cell(cell_id: str, raws: list[dict]) -> None:
        df = pd.DataFrame([{
            "load_id": load.load_id, "cell_id": cell_id, "seq": i, "poi_id": _flat(p.get("id")),
            "name": _flat(p.get("name")), "type": _flat(p.get("type")), "typecode": _flat(p.get("typecode")),
            "address": _flat(p.get("address")), "location": _flat(p.get("location")),
            "adcode": _flat(p.get("adcode")), "adname": _flat(p.get("adname")), "tel": _flat(p.get("tel")),
        } for i, p in enumerate(raws)], columns=RAW_COLUMNS)
        done.append(cell_id)
        with engine.begin() as conn:
            replace_rows(conn, "raw.poi", df, "load_id = :l AND cell_id = :c", {"l": load.load_id, "c": cell_id})
            loads.checkpoint(conn, load.load_id, {"done_cells": done})

    qps = qps if qps is not None else float(conn_info.extra.get("qps", 0) or 0) or None
    try:
        summary = harvest(conn_info.base_url, conn_info.password or "", city_bbox_gcj(cfg), types,
                          qps=qps, done_cells=done, on_cell=on_cell, log=log.info)
    except AmapQuotaError as exc:
        with engine.begin() as conn:
            loads.set_status(conn, load.load_id, "stopped_by_quota", details={"quota_infocode": exc.infocode})
        raise
    except Exception:
        with engine.begin() as conn:
            loads.set_status(conn, load.load_id, "failed")
        raise
    with engine.begin() as conn:
        received = conn.execute(sa.text("SELECT count(*) FROM raw.poi WHERE load_id = :l"), {"l": load.load_id}).scalar()
        loads.set_status(conn, load.load_id, "extracted", rows_received=received,
                         details={k: summary[k] for k in ("leaf_cells", "queries", "split_cells")
                                  if k in summary} | {"truncated_cells": len(summary.get("truncated_cells") or [])})
    return {"load_id": load.load_id, "pois": int(received), "cells": summary.get("leaf_cells"),
            "queries": summary.get("queries")}


STAGING_COLUMNS = ["snapshot_date", "poi_id", "load_id", "name", "typecode", "typecodes", "category_code",
                   "lng", "lat", "lng_gcj", "lat_gcj", "address", "adcode", "community_code"]


def transform(raw: pd.DataFrame, snapshot_date, load_id: str, city: str | None = None
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse, convert, categorise and locate raw POIs; quarantine the ones we can't trust."""
    import json

    cfg = refdata.load_city(city)
    records = raw.to_dict("records")
    parsed = pd.DataFrame(parse_pois([{
        "id": r["poi_id"], "name": r["name"], "type": r["type"], "typecode": r["typecode"],
        "address": r["address"], "location": r["location"], "adcode": r["adcode"], "adname": r["adname"],
        "tel": r["tel"]} for r in records]))
    if parsed.empty:
        parsed = pd.DataFrame(columns=["id", "name", "typecode", "typecodes", "lng", "lat", "lng_gcj", "lat_gcj",
                                       "address", "adcode"])
    parsed["seq"] = range(len(parsed))
    rings, origin = boundary.city_polygons(city)
    problems = []
    no_loc = parsed["lng"].isna()
    problems += [(i, "bad_location", "location", f"location {raw.at[i, 'location']!r} is not 'lng,lat'") for i in parsed.index[no_loc]]
    # The city's boundary polygon (config/cities/<city>/boundary.geojson), else its bbox.
    outside = ~no_loc & ~pd.Series(boundary.inside(parsed["lng"], parsed["lat"], rings), index=parsed.index)
    problems += [(i, "outside_city", "location", f"({parsed.at[i, 'lng']:.5f}, {parsed.at[i, 'lat']:.5f}) is outside the city {origin}") for i in parsed.index[outside]]
    no_name = parsed["name"].isna()
    problems += [(i, "missing_field", "name", "name is empty") for i in parsed.index[no_name]]
    dup = parsed.duplicated(subset=["id"], keep="first") & parsed["id"].notna()
    problems += [(i, "duplicate", "id", f"POI {parsed.at[i, 'id']} returned more than once") for i in parsed.index[dup]]
    no_id = parsed["id"].isna()
    problems += [(i, "missing_field", "id", "POI id is empty") for i in parsed.index[no_id]]
    quarantine = pd.DataFrame([{
        "load_id": load_id, "poi_id": parsed.at[i, "id"] or f"row-{i}", "seq": int(i), "reason_code": code,
        "field": field, "message": msg, "record": json.dumps(records[i], ensure_ascii=False, default=str),
    } for i, code, field, msg in problems], columns=["load_id", "poi_id", "seq", "reason_code", "field", "message", "record"])
    good = parsed.drop(index=sorted({p[0] for p in problems}))
    category = categorise.categorise_pois(good["typecodes"], good["name"], refdata.load_amap_typecodes(),
                                          refdata.load_keywords())
    # OSM rows (typecode 'key=value'): osm_tags.csv, else a name keyword; never AMap codes
    is_osm = good["typecode"].astype("string").str.match(OSM_TAG_RE).fillna(False).astype(bool)
    if is_osm.any():
        tags = overpass.load_osm_tags()
        osm_lookup = {f"{k}={v}": c for k, v, c in zip(tags["key"], tags["value"], tags["category_code"])}
        keyword = categorise.keyword_categories(good.loc[is_osm, "name"], refdata.load_keywords(), "name")
        by_tag = good.loc[is_osm, "typecode"].map(osm_lookup)
        osm_cat = by_tag.where(by_tag.notna(), keyword)
        category = pd.Series(category, index=good.index, dtype="object")
        category[is_osm] = osm_cat.astype("object").where(osm_cat.notna(), None)
    good = good.assign(
        snapshot_date=snapshot_date, load_id=load_id, poi_id=good["id"],
        category_code=category,
        community_code=locate.nearest_community(good["lng"], good["lat"], citydata.population_points(city))
        if len(good) else [],
    )
    return good, quarantine


QUARANTINE_COLUMNS = ["load_id", "poi_id", "seq", "reason_code", "field", "message", "record", "expectation"]


def route_quarantine(good: pd.DataFrame, failures: pd.DataFrame, load_id: str) -> pd.DataFrame:
    """quarantine.poi rows for POIs a critical row-level GX expectation failed on."""
    import json

    rows = []
    for r in failures.itertuples(index=False):
        rec = good.loc[r.row]
        rows.append({"load_id": load_id, "poi_id": rec["poi_id"] if isinstance(rec["poi_id"], str) else f"row-{r.row}",
                     "seq": int(rec["seq"]), "reason_code": routing.reason_code(r.expectation),
                     "field": r.expectation.partition("(")[2][:-1] or None,
                     "message": f"failed data-quality expectation {r.expectation}",
                     "record": json.dumps({k: rec[k] for k in ("poi_id", "name", "typecode", "lng_gcj", "lat_gcj",
                                                               "address", "adcode")}, ensure_ascii=False, default=str),
                     "expectation": r.expectation})
    return pd.DataFrame(rows, columns=QUARANTINE_COLUMNS)


def validate(period: str, city: str | None = None) -> dict:
    """Raw POIs -> quarantine and staging; rows failing a critical row-level GX expectation
    are quarantined with its name, other critical failures block."""
    month = Month.parse(period)
    lid = loads.load_id(SOURCE, month)
    engine = get_engine()
    with engine.connect() as conn:
        raw = pd.read_sql(sa.text("SELECT * FROM raw.poi WHERE load_id = :l ORDER BY cell_id, seq"), conn,
                          params={"l": lid})
    good, quarantine = transform(raw, month.end, lid, city)
    checks = gx_runner.validate_dataframe(good[STAGING_COLUMNS], "staging_poi")
    kept, failures, checks = routing.route_rows(good, checks)
    routed = route_quarantine(good, failures, lid)
    good = kept
    quarantine = quarantine.assign(expectation=None)
    if len(routed):
        quarantine = pd.concat([quarantine, routed], ignore_index=True)
    dq = gate.gate(str(month), SOURCE, "staging.poi", checks)
    unmapped = good.loc[good["category_code"].isna(), "typecode"].value_counts().head(20).to_dict()
    with engine.begin() as conn:
        replace_rows(conn, "quarantine.poi", quarantine, "load_id = :l", {"l": lid}, QUARANTINE_COLUMNS)
        replace_rows(conn, "staging.poi", good, "snapshot_date = :d", {"d": month.end}, STAGING_COLUMNS)
        loads.set_status(conn, lid, "validated", rows_accepted=len(good), rows_quarantined=len(quarantine),
                         details={"unmapped_typecodes": unmapped,
                                  "unmapped_share": round(float(good["category_code"].isna().mean()) if len(good) else 0, 4)})
    return {"accepted": len(good), "quarantined": len(quarantine),
            "unmapped": int(good["category_code"].isna().sum()), "dq_failed": dq["failed"]}


def publish(period: str, city: str | None = None) -> dict:
    """staging.poi -> core.outlet_location for the period's snapshot, then, inside the same
    transaction, suite core_outlet_location and the table-level checks (freshness, key,
    known communities, inside the city boundary, row count vs the previous snapshot); a
    failed critical rolls the publish back. Then, in the same transaction, core.poi_history
    is rebuilt from all staged harvests and the snapshot's POIs are matched to the open
    registrations (core.poi_registration_match; count and rate in raw.load.details), each
    checked by its suite."""
    month = Month.parse(period)
    qcfg = table_checks.config(city)
    engine = get_engine()
    snap = {"d": month.end}
    with engine.begin() as conn:
        fresh = table_checks.freshness(conn, SOURCE, str(month), qcfg["freshness_severity"])
        run_sql_file(conn, "core/publish_outlet_location.sql", snapshot_date=month.end)
        n = conn.execute(sa.text("SELECT count(*) FROM core.outlet_location WHERE snapshot_date = :d"), snap).scalar()
        previous = conn.execute(sa.text("""SELECT count(*) FROM core.outlet_location WHERE snapshot_date =
            (SELECT max(snapshot_date) FROM core.outlet_location WHERE snapshot_date < :d)"""), snap).scalar()
        results = gx_runner.validate_table(conn, "core.outlet_location", where="snapshot_date = :d", params=snap)
        results += [
            fresh,
            table_checks.unique_key(conn, "core.outlet_location", ["snapshot_date", "poi_id"], "snapshot_date = :d", snap),
            table_checks.references(conn, "core.outlet_location", "community_code", "core.community", "community_code",
                                    "snapshot_date = :d", snap),
            table_checks.inside_boundary(conn, "core.outlet_location", "snapshot_date = :d", snap, city),
            table_checks.row_count_change("core.outlet_location snapshot", int(n), int(previous or 0),
                                          float(qcfg["row_count_max_change_pct"]), qcfg["row_count_severity"]),
        ]
        gate.gate(str(month), SOURCE, "core.outlet_location", results)
        # POI history: full rebuild from every staged harvest (order-independent re-runs)
        run_sql_file(conn, "core/publish_poi_history.sql")
        history = conn.execute(sa.text("SELECT count(*), count(closed_on) FROM core.poi_history")).one()
        gate.gate(str(month), SOURCE, "core.poi_history", gx_runner.validate_table(conn, "core.poi_history"))
        matched = publish_matches(conn, month.end, city)
        gate.gate(str(month), SOURCE, "core.poi_registration_match",
                  gx_runner.validate_table(conn, "core.poi_registration_match", where="snapshot_date = :d",
                                           params=snap))
        rate = round(matched / int(n), 4) if n else 0.0
        loads.set_status(conn, loads.load_id(SOURCE, month), "succeeded",
                         details={"registration_matches": matched, "registration_match_rate": rate})
    return {"located_outlets": int(n), "poi_history": int(history[0]), "poi_history_closed": int(history[1]),
            "registration_matches": matched, "registration_match_rate": rate}


MATCH_NEARBY_RADIUS_M = 500.0


def publish_matches(conn: sa.Connection, snapshot_date, city: str | None = None) -> int:
    """core.poi_registration_match for one snapshot: the located POIs against the
    registrations open on the snapshot date (core.outlet_history), one-to-one. Returns the
    number of matches."""
    from lifecircle.ingest import matching

    cfg = refdata.load_city(city)
    pois = pd.read_sql(sa.text("""SELECT poi_id, name, category_code, community_code, lng, lat
        FROM core.outlet_location WHERE snapshot_date = :d ORDER BY poi_id"""), conn, params={"d": snapshot_date})
    regs = pd.read_sql(sa.text("""SELECT uscc, name, category_code, community_code, lng, lat FROM core.outlet_history
        WHERE is_open AND valid_from <= :d AND (valid_to IS NULL OR valid_to > :d) ORDER BY uscc"""),
                       conn, params={"d": snapshot_date})
    conn.execute(sa.text("DELETE FROM core.poi_registration_match WHERE snapshot_date = :d"), {"d": snapshot_date})
    if pois.empty or regs.empty:
        return 0
    radius = float(cfg.get("matching_nearby_radius_m", MATCH_NEARBY_RADIUS_M))
    pois["nearby_communities"] = locate.nearby_communities(pois["lng"], pois["lat"],
                                                           citydata.population_points(city), radius)
    # Geocoded registrations carry coordinates (null where geocoding failed): the distance
    # term applies where both sides have them.
    found = matching.match(pois, regs, known_brands=refdata.load_brands())
    if len(found):
        replace_rows(conn, "core.poi_registration_match", found.assign(snapshot_date=snapshot_date),
                     "snapshot_date = :d", {"d": snapshot_date},
                     ["snapshot_date", *matching.MATCH_COLUMNS])
    return int(len(found))
