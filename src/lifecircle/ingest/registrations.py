"""Merchant registrations: registry API and bulk exports -> Parquet landing -> raw ->
validated staging -> core outlet history (SCD2)."""
from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from lifecircle import refdata, settings
from lifecircle.ingest import brands, bulk_exports, categorise, loads, locate, parquet_landing
from lifecircle.ingest.registration_rules import RAW_FIELDS, check_rows, record_json
from lifecircle.period import Month
from lifecircle.quality import checks as table_checks
from lifecircle.quality import gate, gx_runner, routing
from lifecircle.sources.http import make_session
from lifecircle.sources.registry_api import fetch_registrations
from lifecircle.warehouse.arrow_copy import copy_arrow, read_arrow, upsert_arrow
from lifecircle.warehouse.engine import get_engine, run_sql_file

log = logging.getLogger(__name__)
SOURCE = "registrations"
RAW_TABLES = ("raw.registration", "raw.registration_file")  # a load started afresh empties its slice of both
DEFAULT_PAGE_SIZE = 500  # the API contract allows 1000; the connection's extra ``page_size`` overrides
# Validation and the SCD2 rebuild sort every staged version (upsert, window functions,
# DISTINCT ON); at a million rows PostgreSQL's default 4 MB would spill those to disk.
WORK_MEM = "256MB"


def _window_start(conn: sa.Connection, period: Month) -> str | None:
    """The watermark: the end of the window of the latest earlier successful load."""
    return conn.execute(sa.text("""
        SELECT max(details->>'updated_until') FROM raw.load
        WHERE source = :s AND period < :p AND status = 'succeeded'
    """), {"s": SOURCE, "p": str(period)}).scalar()


def extract(period: str, page_size: int | None = None, retries: int = 5) -> dict:
    """Land the period's registrations from every configured channel into raw.registration
    (as Parquet first, then by COPY): the registry API when ``AIRFLOW_CONN_REGISTRY_API``
    is set, and the export files waiting in :func:`bulk_exports.exports_dir`.

    A failed run resumes: API pages after the checkpointed one, export files this load
    has not read yet. A re-run of a finished period lands the same rows again."""
    month = Month.parse(period)
    engine = get_engine()
    until = f"{month.end.isoformat()}T23:59:59+08:00"
    with engine.begin() as conn:
        load = loads.begin(conn, SOURCE, month, RAW_TABLES)
        since = _window_start(conn, month)
        loads.set_status(conn, load.load_id, "running", details={"updated_since": since, "updated_until": until})
    if not load.resumed:
        parquet_landing.remove_load_files(month.end, load.load_id)
    try:
        api = _extract_api(engine, load, month, since, until, page_size, retries)
        bulk = _extract_bulk(engine, load, month)
        files_seen = bulk["files_landed"] + bulk["files_rejected"] + bulk["files_skipped_duplicate"]
        if api["api"] == "not configured" and not files_seen:
            # Neither channel exists: a misconfiguration, not an empty month.
            raise RuntimeError(f"registrations: no source for {month}: AIRFLOW_CONN_REGISTRY_API is not set "
                               f"and {bulk_exports.exports_dir()} holds no export files (.csv/.xlsx)")
    except Exception:
        with engine.begin() as conn:
            loads.set_status(conn, load.load_id, "failed")
        raise
    with engine.begin() as conn:
        counts = dict(conn.execute(sa.text("SELECT source, count(*) FROM raw.registration WHERE load_id = :l "
                                           "GROUP BY source"), {"l": load.load_id}).all())
        received = sum(counts.values())
        loads.set_status(conn, load.load_id, "extracted", rows_received=received,
                         details={**api, **{k: v for k, v in bulk.items() if k != "rejected"},
                                  "rejected_files": bulk["rejected"]})
    return {"load_id": load.load_id, "rows": int(received), "api_rows": int(counts.get("api", 0)),
            "bulk_rows": int(counts.get("bulk", 0)), **api,
            **{k: v for k, v in bulk.items() if k not in ("duplicate_files", "rejected")},
            "rejected_files": [r["file_name"] for r in bulk["rejected"]]}


def _extract_api(engine: sa.Engine, load: loads.Load, month: Month, since: str | None, until: str,
                 page_size: int | None, retries: int) -> dict:
    """Page through the registry API into the raw landing; a checkpoint per page."""
    try:
        conn_info = settings.get_connection("registry_api")
    except settings.ConnectionMissing:
        log.info("registrations: no registry_api connection (AIRFLOW_CONN_REGISTRY_API unset) — exports only")
        return {"api": "not configured", "pages": 0, "resumed_from_page": None}
    if load.checkpoint.get("api_complete"):
        last = int(load.checkpoint["last_page"])
        log.info("registrations: API pages already landed by this load (%d), not fetched again", last)
        return {"api": "configured", "pages": last, "resumed_from_page": None}
    page_size = int(page_size or conn_info.extra.get("page_size") or DEFAULT_PAGE_SIZE)
    start_page = int(load.checkpoint.get("last_page", 0)) + 1

    def land_page(page_no: int, items: list[dict] | pa.Table) -> None:
        table = parquet_landing.api_page_table(items, load_id=load.load_id, page_no=page_no)
        path = parquet_landing.page_path(month.end, load.load_id, page_no)
        with engine.begin() as conn:
            parquet_landing.land(conn, table, path, "load_id = :l AND page_no = :p", {"l": load.load_id, "p": page_no})
            loads.checkpoint(conn, load.load_id, {"last_page": page_no})

    token = conn_info.password or ""
    with _OnePageAhead(land_page) as lander:
        summary = fetch_registrations(conn_info.base_url, token, since, until, page_size=page_size,
                                      start_page=start_page, on_page=lander.submit, log=log.info,
                                      session=make_session(retries=retries, secrets=[token]),
                                      text_fields=RAW_FIELDS)
    with engine.begin() as conn:
        loads.checkpoint(conn, load.load_id, {"last_page": summary["last_page"], "api_complete": True})
    return {"api": "configured", "pages": summary["last_page"], "resumed_from_page": start_page}


class _OnePageAhead:
    """Land page N in a worker thread while page N+1 is being fetched.

    Why: the COPY of a page runs in the PostgreSQL server process and the JSON of the
    next page is parsed here, so on two cores the two overlap. At most one page is in
    flight and pages land in order, so the checkpoint still only moves past a page once
    it is committed; a landing failure stops the fetching at the next page, and a fetch
    failure waits for the page in flight before it propagates (the checkpoint is then
    exactly the last page landed)."""

    def __init__(self, land):
        from concurrent.futures import ThreadPoolExecutor

        self._land = land
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="registrations-landing")
        self._pending = None

    def submit(self, page_no: int, items: list[dict]) -> None:
        self._drain()
        self._pending = self._pool.submit(self._land, page_no, items)

    def _drain(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._drain()
            elif self._pending is not None:
                try:
                    self._pending.result()
                except Exception:  # the fetch error is the one to report; this one is logged
                    log.exception("registrations: landing the page in flight failed too")
        finally:
            self._pool.shutdown(wait=True)


def _extract_bulk(engine: sa.Engine, load: loads.Load, month: Month) -> dict:
    """Land every export file not landed before (by content hash); reject unusable ones
    whole, with the reason stored in raw.registration_file and returned."""
    files = bulk_exports.export_files(bulk_exports.exports_dir())
    out = {"files_landed": 0, "files_rejected": 0, "files_skipped_duplicate": 0, "duplicate_files": [],
           "rejected": []}
    if not files:
        return out
    mapping = bulk_exports.load_column_mapping()
    with engine.connect() as conn:
        earlier = {r.file_hash: r for r in conn.execute(sa.text(
            "SELECT DISTINCT ON (file_hash) file_hash, load_id, file_name FROM raw.registration_file "
            "WHERE status = 'landed' AND load_id <> :l ORDER BY file_hash, load_id"), {"l": load.load_id})}
        mine = {r.file_hash: r for r in conn.execute(sa.text(
            "SELECT file_hash, file_name, page_no, status, message FROM raw.registration_file WHERE load_id = :l"),
            {"l": load.load_id})}
    ordinal = max((-r.page_no for r in mine.values()), default=0)
    seen: set[str] = set()
    for path in files:
        digest = bulk_exports.file_sha256(path)
        if digest in seen or digest in earlier:
            first = earlier[digest].file_name if digest in earlier else "an earlier file of this run"
            by = earlier[digest].load_id if digest in earlier else load.load_id
            log.info("registrations: %s skipped — same content (sha256 %s…) already imported as %s by load %s",
                     path.name, digest[:12], first, by)
            out["files_skipped_duplicate"] += 1
            out["duplicate_files"].append({"file_name": path.name, "file_hash": digest, "imported_by": by})
            continue
        seen.add(digest)
        if digest in mine:  # a resumed load read this file before it failed
            done = mine[digest]
            if done.status == "landed":
                out["files_landed"] += 1
            else:
                out["files_rejected"] += 1
                out["rejected"].append({"file_name": done.file_name, "message": done.message})
            continue
        ordinal += 1
        status = _land_export(engine, load, month, path, digest, -ordinal, mapping)
        if status["status"] == "landed":
            out["files_landed"] += 1
        else:
            out["files_rejected"] += 1
            out["rejected"].append({"file_name": path.name, "message": status["message"]})
    return out


def _land_export(engine: sa.Engine, load: loads.Load, month: Month, path, digest: str, page_no: int,
                 mapping: bulk_exports.ColumnMapping) -> dict:
    """Read one export; land its rows (Parquet + COPY) or record why it was rejected."""
    row = {"l": load.load_id, "h": digest, "n": path.name, "p": page_no, "f": path.suffix.lower().lstrip("."),
           "e": None, "r": 0, "m": None, "c": "{}", "lf": None}
    with engine.begin() as conn:
        try:
            read = bulk_exports.read_export(path, mapping)
        except bulk_exports.ExportRejected as exc:
            log.error("registrations: export rejected: %s", exc)
            row.update(s="rejected", m=str(exc))
        else:
            table = parquet_landing.export_table(read.fields, read.row_numbers, load_id=load.load_id,
                                                 page_no=page_no, file_name=path.name, file_hash=digest)
            target = parquet_landing.file_path(month.end, load.load_id, digest)
            parquet_landing.land(conn, table, target, "load_id = :l AND page_no = :p",
                                 {"l": load.load_id, "p": page_no})
            log.info("registrations: %s landed, %d rows (%s%s), unmapped headers: %s", path.name, read.rows,
                     read.format, f", {read.encoding}" if read.encoding else "", ", ".join(read.unmapped) or "none")
            row.update(s="landed", f=read.format, e=read.encoding, r=read.rows,
                       c=json.dumps(read.columns_info(), ensure_ascii=False), lf=parquet_landing.relative(target))
        conn.execute(sa.text("""
            INSERT INTO raw.registration_file (load_id, file_hash, file_name, page_no, format, encoding, status,
                                               rows, message, columns, landing_file)
            VALUES (:l, :h, :n, :p, :f, :e, :s, :r, :m, CAST(:c AS jsonb), :lf)"""), row)
    return {"status": row["s"], "message": row["m"]}


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
    return pd.DataFrame(rows, columns=QUARANTINE_COLUMNS[:-2])


QUARANTINE_COLUMNS = ["load_id", "page_no", "row_no", "reason_code", "field", "message", "record", "expectation",
                      "source", "file_name"]
RAW_SELECT = ("SELECT load_id, source, page_no, row_no, file_name, " + ", ".join(RAW_FIELDS)
              + " FROM raw.registration WHERE load_id = %(l)s")


def read_raw(conn: sa.Connection, lid: str) -> pd.DataFrame:
    """The load's raw rows, API pages first, then export files in the order they were
    read (the row rules keep the first of two identical versions). Read through
    ``COPY TO`` + pyarrow and sorted by Arrow rather than by an ORDER BY, which would
    make PostgreSQL sort a million wide rows (on disk at the default work_mem)."""
    table = read_arrow(conn, RAW_SELECT, {"l": lid}, text_columns=["load_id", "source", "file_name", *RAW_FIELDS])
    if table.num_columns == 0 or table.num_rows == 0:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("page_no", "row_no") else "str")
                             for c in ["load_id", "source", "page_no", "row_no", "file_name", *RAW_FIELDS]})
    # One integer key per row (source, then file/page, then row: unique within a load),
    # checked before anything moves: the rows usually come back in the order they were
    # landed, and then the million strings are not copied again.
    key = (pc.equal(table["source"], "bulk").to_numpy().astype(np.int64) << 62
           | np.abs(table["page_no"].to_numpy().astype(np.int64)) << 31
           | table["row_no"].to_numpy().astype(np.int64))
    if len(key) > 1 and not (np.diff(key) > 0).all():
        table = table.take(np.argsort(key, kind="stable"))
    return table.to_pandas()


def lean_frame(df: pd.DataFrame, suite_name: str) -> pd.DataFrame:
    """Only the columns ``suite_name`` reads, text held as Arrow strings.

    Why: GX's pandas metrics run per column (and it fingerprints frames below
    ``gx_runner.GX_FINGERPRINT_MAX_BYTES``), so at a million rows every extra column and
    every Python-object string column costs seconds; Arrow-backed strings match (regex,
    set) in C++. Same values, same row order, so results map back by position."""
    frame = df[suite_columns(suite_name)]
    text = [c for c in frame.columns
            if frame[c].dtype == object and pd.api.types.infer_dtype(frame[c], skipna=True) in ("string", "empty")]
    return frame.astype({c: "str" for c in text}) if text else frame


def suite_columns(suite_name: str) -> list[str]:
    """Columns an expectation suite reads: validating only those keeps GX's frame lean."""
    cols: list[str] = []
    for e in gx_runner.load_suite_json(suite_name)["expectations"]:
        kw = e.get("kwargs", {})
        for c in [kw.get("column"), kw.get("column_A"), kw.get("column_B"), *(kw.get("column_list") or [])]:
            if c and c not in cols:
                cols.append(c)
    return cols


def write_staging(conn: sa.Connection, valid: pd.DataFrame) -> str:
    """Add the load's versions to staging.registration; another load's copy of the same
    (uscc, updated_at) is replaced (overlapping windows, a re-sent full export).

    When no staged version lies within the batch's update-time range no key can clash,
    and the rows are COPYed straight in (the usual monthly increment); otherwise they
    go through the COPY-to-temporary-table upsert. Returns which path was taken."""
    if valid.empty:
        return "empty"
    lo, hi = valid["updated_at"].min(), valid["updated_at"].max()
    overlap = conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM staging.registration "
                                   "WHERE updated_at BETWEEN :lo AND :hi)"), {"lo": lo, "hi": hi}).scalar()
    if overlap:
        upsert_arrow(conn, "staging.registration", valid, ["uscc", "updated_at"], STAGING_COLUMNS)
        return "upsert"
    # In key order (a code's few versions may come in any order): appending to the
    # primary key's B-tree instead of inserting at random pages halves the COPY.
    copy_arrow(conn, "staging.registration", valid, STAGING_COLUMNS, order_by=["uscc"])
    return "copy"


def validate(period: str) -> dict:
    """Raw rows of the period's load -> quarantine (with reasons) and staging (after GX).

    Rows failing a critical row-level expectation are quarantined with its name; any other
    critical failure (e.g. a duplicated business key) blocks the batch. GX sees every
    row, but only the columns its suite reads."""
    month = Month.parse(period)
    lid = loads.load_id(SOURCE, month)
    engine = get_engine()
    with engine.connect() as conn:
        raw = read_raw(conn, lid)
    valid, quarantined = transform(raw)
    checks = gx_runner.validate_dataframe(lean_frame(valid, "staging_registration"), "staging_registration")
    kept, failures, checks = routing.route_rows(valid, checks)
    routed = route_quarantine(raw, failures)
    valid = kept
    quarantined = quarantined.assign(expectation=None)
    if len(routed):
        quarantined = pd.concat([quarantined, routed], ignore_index=True)
    origin = raw[["page_no", "row_no", "source", "file_name"]].astype({"page_no": "int64", "row_no": "int64"})
    quarantined = quarantined.astype({"page_no": "int64", "row_no": "int64"}).merge(
        origin, on=["page_no", "row_no"], how="left", validate="many_to_one")
    dq = gate.gate(str(month), SOURCE, "staging.registration", checks)
    with engine.begin() as conn:
        conn.execute(sa.text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
        conn.execute(sa.text("DELETE FROM quarantine.registration WHERE load_id = :l"), {"l": lid})
        copy_arrow(conn, "quarantine.registration", quarantined, QUARANTINE_COLUMNS)
        conn.execute(sa.text("DELETE FROM staging.registration WHERE load_id = :l"), {"l": lid})
        write_staging(conn, valid)
        unmapped = int(valid["category_code"].isna().sum())
        n_quarantined = int(quarantined[["page_no", "row_no"]].drop_duplicates().shape[0])
        loads.set_status(conn, lid, "validated", rows_accepted=len(valid), rows_quarantined=n_quarantined,
                         details={"unmapped_category": unmapped,
                                  "unmapped_share": round(unmapped / max(len(valid), 1), 4),
                                  "quarantine_reasons": quarantined["reason_code"].value_counts().to_dict()})
    return {"accepted": len(valid), "quarantined_rows": n_quarantined,
            "unmapped_category": unmapped, **{f"dq_{k}": v for k, v in dq.items() if k != "failed_expectations"}}


def validate_core(conn: sa.Connection, upto) -> list:
    """Suite core_outlet_history on the versions valid from ``upto`` or earlier, read
    inside the publishing transaction (it must see the rows just written) with only the
    columns the suite reads, through COPY + pyarrow rather than row-by-row fetching."""
    cols = suite_columns("core_outlet_history")
    dates = {"valid_from", "valid_to"}
    table = read_arrow(conn, f"SELECT {', '.join(cols)} FROM core.outlet_history WHERE valid_from <= %(d)s",
                       {"d": upto}, text_columns=[c for c in cols if c not in dates])
    frame = table.to_pandas() if table.num_columns else pd.DataFrame(columns=cols)
    return gx_runner.validate_dataframe(frame, "core_outlet_history")


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
        conn.execute(sa.text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
        fresh = table_checks.freshness(conn, SOURCE, str(month), qcfg["freshness_severity"])
        run_sql_file(conn, "core/publish_outlet_history.sql", chain_min=int(cfg.get("chain_min_outlets", 3)))
        # Only the versions that exist by the period's end: the table also holds later
        # periods' versions after a back-fill, and a re-run must store identical results.
        upto = {"d": month.end}
        results = validate_core(conn, month.end)
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
