"""Registration addresses -> coordinates (issue 3): the step between registrations
``validate`` and ``publish``.

For the period's load: every staged address is normalised
(:func:`lifecircle.sources.amap_geocode.normalise_address` with the city's
``geocoding.strip_prefixes``), looked up in the persistent cache ``raw.geocode_cache``
(one row per city and normalised address, found or not), and only the misses are sent to
AMap's geocoder (connection ``amap_api``, up to 10 per request). Each batch's answers are
cached in their own transaction before the next request, so a quota stop loses nothing
and the re-run asks only for what is still missing. Then, in one transaction, staging
rows get ``address_norm, lng, lat`` (WGS-84), ``geocode_level`` and ``geocode_status``
(ok | too_coarse | not_found | empty_address), and the records whose address failed are
written to ``quarantine.registration`` (reason ``geocode_failed`` or
``geocode_too_coarse``, field ``address``), replacing this step's earlier rows for the
load — re-runs give the same state and, with a warm cache, make no request.

Why the record stays in staging and core: the registration itself is valid (the outlet
exists, its code and dates check out); only its position is unknown or vague. Dropping it
would undercount outlets and chain shares, so it is published with null coordinates
(``geocode_level`` kept) and the quarantine row is the analyst's work list, not a
rejection. ``raw.load.rows_quarantined`` keeps counting rejected records only; this
step's counts go to ``raw.load.details`` (``geocode_*``).

``geocoding.min_usable_level`` (city.yaml, default 兴趣点) decides "too coarse": a point
on the road (道路) or the district centre (区县) would mislead the 100 m distance term of
POI-registration matching. Without the ``amap_api`` connection (or with
``geocoding.enabled: false``) the step logs why and returns ``skipped``; coordinates stay
null and matching falls back to name + category + community.
"""
from __future__ import annotations

import logging
import unicodedata

import pandas as pd
import sqlalchemy as sa

from lifecircle import refdata, settings
from lifecircle.ingest import loads
from lifecircle.ingest.registration_rules import RAW_FIELDS, record_json
from lifecircle.period import Month
from lifecircle.sources.amap import AmapQuotaError
from lifecircle.sources.amap_geocode import LEVEL_RANK, MAX_BATCH, GeocodeResult, geocode_addresses, normalise_address
from lifecircle.warehouse.bulk import copy_rows
from lifecircle.warehouse.engine import get_engine, read_frame

log = logging.getLogger(__name__)
SOURCE = "registrations"
PROVIDER = "amap"
REASONS = {"not_found": "geocode_failed", "empty_address": "geocode_failed", "too_coarse": "geocode_too_coarse"}
DEFAULTS = {"enabled": True, "min_usable_level": "兴趣点", "batch_size": MAX_BATCH, "strip_prefixes": None}
CACHE_COLUMNS = ["city_code", "address_norm", "query_address", "provider", "found", "level", "lng_gcj", "lat_gcj",
                 "lng", "lat", "formatted_address", "adcode", "response", "first_load_id"]


def config(city: str | None = None) -> dict:
    """city.yaml's ``geocoding`` block over :data:`DEFAULTS`, checked, plus the city's code
    (cache key), the ``city`` the requests name (adcode) and the prefixes to strip
    (default: the city's own name)."""
    cfg = refdata.load_city(city)
    g = {**DEFAULTS, **(cfg.get("geocoding") or {})}
    if g["min_usable_level"] not in LEVEL_RANK:
        raise ValueError(f"city.yaml geocoding.min_usable_level {g['min_usable_level']!r} is not an AMap level; "
                         f"use one of {', '.join(LEVEL_RANK)}")
    if not 1 <= int(g["batch_size"]) <= MAX_BATCH:
        raise ValueError(f"city.yaml geocoding.batch_size must be 1..{MAX_BATCH}, got {g['batch_size']}")
    prefixes = g["strip_prefixes"] if g["strip_prefixes"] is not None else [cfg.get("name", "")]
    code = str(cfg.get("city_code") or cfg.get("adcode") or "")
    return {**g, "batch_size": int(g["batch_size"]), "strip_prefixes": [str(p) for p in prefixes if p],
            "city_code": code, "query_city": str(cfg.get("adcode") or code) or None,
            "usable_levels": sorted(lv for lv, r in LEVEL_RANK.items() if r >= LEVEL_RANK[g["min_usable_level"]])}


def status_of(found: bool | None, level: str | None, usable_levels) -> str:
    """ok | too_coarse | not_found for a cache row (``found`` None: never asked)."""
    if not found:
        return "not_found"
    return "ok" if level in usable_levels else "too_coarse"


def _clean(address: str) -> str:
    """The text sent to the geocoder: NFKC, runs of whitespace as one space, no ``|``."""
    return " ".join(unicodedata.normalize("NFKC", address).replace("|", " ").split())


def _cache_row(r: GeocodeResult, key: str, city_code: str, load_id: str) -> dict:
    return {"city_code": city_code, "address_norm": key, "query_address": r.address, "provider": PROVIDER,
            "found": r.found, "level": r.level, "lng_gcj": r.lng_gcj, "lat_gcj": r.lat_gcj, "lng": r.lng, "lat": r.lat,
            "formatted_address": r.formatted_address, "adcode": r.adcode, "response": r.raw or None,
            "first_load_id": load_id}


def _store(engine: sa.Engine, rows: list[dict]) -> None:
    """Add answers to the cache (first answer wins: a concurrent run cannot clash)."""
    if not rows:
        return
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE tmp_geocode_cache (LIKE raw.geocode_cache) ON COMMIT DROP"))
        copy_rows(conn, "tmp_geocode_cache", pd.DataFrame(rows, columns=CACHE_COLUMNS), CACHE_COLUMNS)
        conn.execute(sa.text("INSERT INTO raw.geocode_cache SELECT * FROM tmp_geocode_cache "
                             "ON CONFLICT (city_code, address_norm) DO NOTHING"))


def _addresses(conn: sa.Connection, lid: str, prefixes: list[str]) -> pd.DataFrame:
    """The load's distinct staged addresses with their cache key."""
    df = read_frame(conn, "SELECT DISTINCT address FROM staging.registration WHERE load_id = :l ORDER BY address", l=lid)
    df["address_norm"] = [normalise_address(a, prefixes) for a in df["address"]]
    return df


def _misses(conn: sa.Connection, keys: list[str], city_code: str) -> set[str]:
    if not keys:
        return set()
    cached = conn.execute(sa.text("SELECT address_norm FROM raw.geocode_cache WHERE city_code = :c "
                                  "AND address_norm = ANY(:k)"), {"c": city_code, "k": keys}).scalars().all()
    return set(keys) - set(cached)


def _quarantine_rows(conn: sa.Connection, lid: str, failed: pd.DataFrame, min_level: str) -> pd.DataFrame:
    """quarantine.registration rows for the load's accepted raw records (not set aside by
    validation) whose address failed; one per record version, kept whole as received."""
    raw = read_frame(conn, """SELECT r.* FROM raw.registration r WHERE r.load_id = :l AND NOT EXISTS (
            SELECT 1 FROM quarantine.registration q WHERE q.load_id = r.load_id AND q.page_no = r.page_no
            AND q.row_no = r.row_no AND q.reason_code NOT IN ('geocode_failed', 'geocode_too_coarse'))
        ORDER BY r.page_no, r.row_no""", l=lid)
    by_address = failed.set_index("address")
    raw["_address"] = raw["address"].map(lambda a: a.strip() if isinstance(a, str) else a)
    raw = raw[raw["_address"].isin(by_address.index)]
    extra = [c for c in ("source", "file_name") if c in raw.columns]  # bulk-export channel, when present
    rows = []
    for rec in raw.to_dict("records"):
        f = by_address.loc[rec["_address"]]
        status = f["geocode_status"]
        if status == "too_coarse":
            message = (f"address {rec['_address']!r} was geocoded only to level {f['geocode_level']}, coarser than "
                       f"geocoding.min_usable_level {min_level}: no coordinates published")
        elif status == "empty_address":
            message = "address is empty after normalisation: nothing to geocode"
        else:
            message = f"address {rec['_address']!r} could not be geocoded: AMap found no location (count 0)"
        rows.append({"load_id": lid, "page_no": int(rec["page_no"]), "row_no": int(rec["row_no"]),
                     "reason_code": REASONS[status], "field": "address", "message": message,
                     "record": record_json({k: rec.get(k) for k in RAW_FIELDS}), "expectation": None,
                     **{c: rec[c] for c in extra}})
    return pd.DataFrame(rows, columns=["load_id", "page_no", "row_no", "reason_code", "field", "message", "record",
                                       "expectation", *extra])


def geocode(period: str, city: str | None = None, qps: float | None = None) -> dict:
    """Geocode the period's staged registration addresses (see the module docstring).

    Returns ``{addresses, cache_hits, requests, ok, too_coarse, not_found, empty_address,
    quarantined}`` or ``{skipped: True, reason}``. A spent AMap quota raises
    :class:`AmapQuotaError` after storing every answer received; re-run the task later."""
    month = Month.parse(period)
    lid = loads.load_id(SOURCE, month)
    gcfg = config(city)
    if not gcfg["enabled"]:
        log.info("geocoding skipped: geocoding.enabled is false in city.yaml; registrations keep null coordinates")
        return {"skipped": True, "reason": "geocoding.enabled is false in city.yaml"}
    try:
        conn_info = settings.get_connection("amap_api")
    except settings.ConnectionMissing as exc:
        log.warning("geocoding skipped: %s; registrations keep null coordinates", exc)
        return {"skipped": True, "reason": str(exc)}
    engine = get_engine()
    city_code = gcfg["city_code"]
    with engine.connect() as conn:
        load = loads.get(conn, lid)
        if load is None or load["status"] not in ("validated", "succeeded"):
            state = "no such load" if load is None else f"load status {load['status']}"
            raise RuntimeError(f"geocoding {lid}: {state}; run the registrations extract and validate first")
        addrs = _addresses(conn, lid, gcfg["strip_prefixes"])
        keys = sorted(k for k in set(addrs["address_norm"]) if k)
        misses = _misses(conn, keys, city_code)
    query_of = (addrs[addrs["address_norm"].isin(misses)].assign(q=lambda d: d["address"].map(_clean))
                .groupby("address_norm")["q"].min())
    requests = 0
    if len(query_of):
        key_of = {q: k for k, q in query_of.items()}

        def on_batch(results: list[GeocodeResult]) -> None:
            _store(engine, [_cache_row(r, key_of[r.address], city_code, lid) for r in results])

        qps = qps if qps is not None else float(conn_info.extra.get("qps", 0) or 0) or None
        try:
            summary = geocode_addresses(conn_info.base_url, conn_info.password or "", list(query_of.values),
                                        city=gcfg["query_city"], batch_size=gcfg["batch_size"], qps=qps,
                                        on_batch=on_batch, log=log.info)
        except AmapQuotaError as exc:
            done = (exc.summary or {}).get("done", 0)
            log.error("geocoding %s stopped by AMap infocode %s %s: %d of %d new addresses cached; re-run the task "
                      "after the quota resets (cached answers are not asked again)", lid, exc.infocode, exc.info,
                      done, len(query_of))
            raise
        requests = summary["requests"]
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE tmp_geocode_addr (address text, address_norm text) ON COMMIT DROP"))
        copy_rows(conn, "tmp_geocode_addr", addrs, ["address", "address_norm"])
        conn.execute(sa.text("""
            UPDATE staging.registration s SET
                address_norm = t.address_norm,
                geocode_status = CASE WHEN t.address_norm = '' THEN 'empty_address'
                                      WHEN c.found IS NOT TRUE THEN 'not_found'
                                      WHEN c.level = ANY(:usable) THEN 'ok' ELSE 'too_coarse' END,
                geocode_level = c.level,
                lng = CASE WHEN c.found AND c.level = ANY(:usable) THEN c.lng END,
                lat = CASE WHEN c.found AND c.level = ANY(:usable) THEN c.lat END
            FROM tmp_geocode_addr t
            LEFT JOIN raw.geocode_cache c ON c.city_code = :c AND c.address_norm = t.address_norm
            WHERE s.load_id = :l AND s.address = t.address"""),
            {"usable": gcfg["usable_levels"], "c": city_code, "l": lid})
        outcome = read_frame(conn, """SELECT address, geocode_status, geocode_level FROM staging.registration
            WHERE load_id = :l GROUP BY address, geocode_status, geocode_level ORDER BY address""", l=lid)
        failed = outcome[outcome["geocode_status"] != "ok"]
        conn.execute(sa.text("DELETE FROM quarantine.registration WHERE load_id = :l "
                             "AND reason_code IN ('geocode_failed', 'geocode_too_coarse')"), {"l": lid})
        quarantine = _quarantine_rows(conn, lid, failed, gcfg["min_usable_level"])
        copy_rows(conn, "quarantine.registration", quarantine)
        counts = {s: int((outcome["geocode_status"] == s).sum()) for s in ("ok", "too_coarse", "not_found",
                                                                           "empty_address")}
        loads.set_status(conn, lid, load["status"], details={
            **{f"geocode_{k}": v for k, v in counts.items()}, "geocode_quarantined": len(quarantine),
            "geocode_min_usable_level": gcfg["min_usable_level"]})
    result = {"addresses": len(addrs), "cache_hits": len(keys) - len(misses), "requests": requests, **counts,
              "quarantined": len(quarantine)}
    log.info("geocoding %s: %s", lid, result)
    return result
