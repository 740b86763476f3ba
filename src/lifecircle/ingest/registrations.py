"""Merchant registrations: registry API -> raw -> validated staging -> core outlet history."""
from __future__ import annotations

import logging

import pandas as pd
import sqlalchemy as sa

from lifecircle import refdata, settings
from lifecircle.ingest import brands, categorise, loads, locate
from lifecircle.ingest.registration_rules import RAW_FIELDS, check_rows, record_json
from lifecircle.period import Month
from lifecircle.quality import checks as table_checks
from lifecircle.quality import gate, gx_runner, routing
from lifecircle.sources.http import make_session
from lifecircle.sources.registry_api import fetch_registrations
from lifecircle.warehouse.bulk import replace_rows, upsert_rows
from lifecircle.warehouse.engine import get_engine, run_sql_file

log = logging.getLogger(__name__)
SOURCE = "registrations"


def _window_start(conn: sa.Connection, period: Month) -> str | None:
    """The watermark: the end of the window of the latest earlier successful load."""
    return conn.execute(sa.text("""
        SELECT max(details->>'updated_until') FROM raw.load
        WHERE source = :s AND period < :p AND status = 'succeeded'
    """), {"s": SOURCE, "p": str(period)}).scalar()


def extract(period: str, page_size: int = 500, retries: int = 5) -> dict:
    """Fetch the registrations changed since the last load, up to the period's end,
    one checkpointed page at a time (a failed run resumes at the next page)."""
    month = Month.parse(period)
    conn_info = settings.get_connection("registry_api")
    engine = get_engine()
    until = f"{month.end.isoformat()}T23:59:59+08:00"
    with engine.begin() as conn:
        load = loads.begin(conn, SOURCE, month, ("raw.registration",))
        since = _window_start(conn, month)
        loads.set_status(conn, load.load_id, "running", details={"updated_since": since, "updated_until": until})
    start_page = int(load.checkpoint.get("last_page", 0)) + 1

    def on_page(page_no: int, items: list[dict]) -> None:
        df = pd.DataFrame(items, columns=list(RAW_FIELDS)).astype("object")
        df.insert(0, "row_no", range(len(df)))
        df.insert(0, "page_no", page_no)
        df.insert(0, "load_id", load.load_id)
        with engine.begin() as conn:
            replace_rows(conn, "raw.registration", df, "load_id = :l AND page_no = :p",
                         {"l": load.load_id, "p": page_no})
            loads.checkpoint(conn, load.load_id, {"last_page": page_no})

    try:
        token = conn_info.password or ""
        summary = fetch_registrations(conn_info.base_url, token, since, until, page_size=page_size,
                                      start_page=start_page, on_page=on_page, log=log.info,
                                      session=make_session(retries=retries, secrets=[token]))
    except Exception:
        with engine.begin() as conn:
            loads.set_status(conn, load.load_id, "failed")
        raise
    with engine.begin() as conn:
        received = conn.execute(sa.text("SELECT count(*) FROM raw.registration WHERE load_id = :l"),
                                {"l": load.load_id}).scalar()
        loads.set_status(conn, load.load_id, "extracted", rows_received=received,
                         details={"pages": summary["last_page"], "resumed_from_page": start_page})
    return {"load_id": load.load_id, "rows": int(received), "pages": summary["last_page"],
            "resumed_from_page": start_page}


def transform(raw: pd.DataFrame, city: str | None = None, communities: pd.DataFrame | None = None
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Row rules, categories, brands and community for raw registration rows (pure).
    ``communities`` defaults to the city's reference list (config/cities/<city>)."""
    valid, quarantined = check_rows(raw)
    valid = categorise.categorise_registrations(valid, refdata.load_gbt4754(), refdata.load_keywords())
    valid["brand"], valid["is_known_brand"] = brands.brand_column(valid["name"], refdata.load_brands())
    comms = communities if communities is not None else refdata.load_communities(city)
    valid["community_code"] = locate.community_from_address(valid["address"], comms)
    return valid, quarantined


STAGING_COLUMNS = ["uscc", "updated_at", "load_id", "name", "address", "industry_code", "business_scope",
                   "established_date", "approved_date", "status", "is_closed", "district_adcode",
                   "community_code", "category_code", "category_rule", "brand", "is_known_brand"]


def route_quarantine(raw: pd.DataFrame, failures: pd.DataFrame) -> pd.DataFrame:
    """quarantine.registration rows for the records a critical row-level GX expectation
    failed on (``failures`` from :func:`routing.route_rows`; their ``row`` labels are
    ``raw``'s index, which the row rules keep), named by the expectation and kept whole
    as received."""
    rows = []
    for r in failures.itertuples(index=False):
        rec = raw.loc[r.row]
        rows.append({"load_id": rec["load_id"], "page_no": int(rec["page_no"]), "row_no": int(rec["row_no"]),
                     "reason_code": routing.reason_code(r.expectation), "field": r.expectation.partition("(")[2][:-1] or None,
                     "message": f"failed data-quality expectation {r.expectation}", "expectation": r.expectation,
                     "record": record_json(rec)})
    return pd.DataFrame(rows, columns=QUARANTINE_COLUMNS)


QUARANTINE_COLUMNS = ["load_id", "page_no", "row_no", "reason_code", "field", "message", "record", "expectation"]


def validate(period: str) -> dict:
    """Raw rows of the period's load -> quarantine (with reasons) and staging (after GX).

    Rows failing a critical row-level expectation are quarantined with its name; any other
    critical failure (e.g. a duplicated business key) blocks the batch."""
    month = Month.parse(period)
    lid = loads.load_id(SOURCE, month)
    engine = get_engine()
    with engine.connect() as conn:
        raw = pd.read_sql(sa.text("SELECT * FROM raw.registration WHERE load_id = :l ORDER BY page_no, row_no"),
                          conn, params={"l": lid})
    valid, quarantined = transform(raw)
    checks = gx_runner.validate_dataframe(valid[STAGING_COLUMNS], "staging_registration")
    kept, failures, checks = routing.route_rows(valid, checks)
    routed = route_quarantine(raw, failures)
    valid = kept
    quarantined = quarantined.assign(expectation=None)
    if len(routed):
        quarantined = pd.concat([quarantined, routed], ignore_index=True)
    dq = gate.gate(str(month), SOURCE, "staging.registration", checks)
    with engine.begin() as conn:
        replace_rows(conn, "quarantine.registration", quarantined, "load_id = :l", {"l": lid}, QUARANTINE_COLUMNS)
        conn.execute(sa.text("DELETE FROM staging.registration WHERE load_id = :l"), {"l": lid})
        upsert_rows(conn, "staging.registration", valid, ["uscc", "updated_at"], STAGING_COLUMNS)
        unmapped = int(valid["category_code"].isna().sum())
        n_quarantined = int(quarantined[["page_no", "row_no"]].drop_duplicates().shape[0])
        loads.set_status(conn, lid, "validated", rows_accepted=len(valid), rows_quarantined=n_quarantined,
                         details={"unmapped_category": unmapped,
                                  "unmapped_share": round(unmapped / max(len(valid), 1), 4),
                                  "quarantine_reasons": quarantined["reason_code"].value_counts().to_dict()})
    return {"accepted": len(valid), "quarantined_rows": n_quarantined,
            "unmapped_category": unmapped, **{f"dq_{k}": v for k, v in dq.items() if k != "failed_expectations"}}


def publish(period: str, city: str | None = None) -> dict:
    """Rebuild core.outlet_history (SCD2) from every staged version; deterministic, so a
    re-run of any period leaves the same state.

    Inside the publishing transaction, the rebuilt table is validated (suite
    core_outlet_history) and the table-level checks run (freshness of the period's load,
    business key, outlets in known communities, open outlets vs the previous month end);
    a failed critical raises and rolls the publish back."""
    month = Month.parse(period)
    cfg = refdata.load_city(city)
    qcfg = table_checks.config(city)
    engine = get_engine()
    with engine.begin() as conn:
        fresh = table_checks.freshness(conn, SOURCE, str(month), qcfg["freshness_severity"])
        run_sql_file(conn, "core/publish_outlet_history.sql", chain_min=int(cfg.get("chain_min_outlets", 3)))
        # Only the versions that exist by the period's end: the table also holds later
        # periods' versions after a back-fill, and a re-run must store identical results.
        upto = {"d": month.end}
        results = gx_runner.validate_table(conn, "core.outlet_history", where="valid_from <= :d", params=upto)
        open_sql = ("SELECT count(*) FROM core.outlet_history WHERE is_open AND valid_from <= :d "
                    "AND (valid_to IS NULL OR valid_to > :d)")
        open_now = conn.execute(sa.text(open_sql), {"d": month.end}).scalar()
        open_before = conn.execute(sa.text(open_sql), {"d": month.shift(-1).end}).scalar()
        results += [
            fresh,
            table_checks.unique_key(conn, "core.outlet_history", ["uscc", "valid_from"], "valid_from <= :d", upto),
            table_checks.references(conn, "core.outlet_history", "community_code", "core.community", "community_code",
                                    "valid_from <= :d", upto),
            table_checks.row_count_change("open outlets at period end", int(open_now), int(open_before),
                                          float(qcfg["row_count_max_change_pct"]), qcfg["row_count_severity"]),
        ]
        gate.gate(str(month), SOURCE, "core.outlet_history", results)
        loads.set_status(conn, loads.load_id(SOURCE, month), "succeeded")
        n = conn.execute(sa.text("SELECT count(*) FROM core.outlet_history")).scalar()
    return {"outlet_versions": int(n), "open_at_period_end": int(open_now)}
