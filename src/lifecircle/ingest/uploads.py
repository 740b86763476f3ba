"""Survey uploads: files people send (annex-5 forms, satisfaction exports, task-progress
reports) from the landing area (folder or bucket, ``landing_store``) -> immutable store +
uploads register -> staging/quarantine -> core.

Every file is hashed and kept; each gets a status (accepted / partly_accepted /
rejected) with every reason; a second copy of the same content is recognised. A file is
refused before any parser opens it (``file_guard``: size, zip bombs, macros, not really
a workbook) and routed by what it contains (``detect``), the suffix only as a fallback.
``pending(period)`` tells the watcher DAG whether anything new has landed."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import tempfile
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from lifecircle import refdata, settings
from lifecircle.ingest import landing_store, loads
from lifecircle.ingest.landing_store import LandedFile
from lifecircle.period import Month
from lifecircle.quality import checks as table_checks
from lifecircle.quality import gate, gx_runner, routing
from lifecircle.surveys import detect, file_guard
from lifecircle.surveys.annex5 import parse_annex5
from lifecircle.surveys.satisfaction import parse_responses
from lifecircle.surveys.task_progress import parse_task_progress
from lifecircle.warehouse.bulk import copy_rows, replace_rows
from lifecircle.warehouse.engine import get_engine, run_sql_file

log = logging.getLogger(__name__)
SOURCE = "uploads"
MAX_BYTES = 20 * 1024 * 1024
SUFFIX_KINDS = {".xlsx": "annex5", ".csv": "satisfaction"}  # only when the content says nothing
STAGING_TABLES = ("staging.survey_category", "staging.survey_form", "staging.satisfaction_response",
                  "staging.task_progress")
TASK_PROGRESS_COLS = ["upload_id", "row_no", "task_id", "unit", "status", "progress_pct", "as_of", "notes"]


def pii_salt() -> str:
    salt = os.environ.get("LIFECIRCLE_PII_SALT")
    if not salt:
        log.warning("LIFECIRCLE_PII_SALT is not set: using the development salt (set a secret one in production)")
        salt = "lifecircle-development-salt"
    return salt


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _norm(text: str) -> str:
    table = str.maketrans("（）　", "() ")
    return re.sub(r"\s+", "", str(text or "").translate(table))


def circle_matcher(circles: pd.DataFrame, communities: pd.DataFrame):
    """Circle name as people write it -> circle_code: exact name, code, or the anchor
    community named inside it (大城一刻钟便民生活圈（光明社区） / 光明社区生活圈)."""
    by_name = {_norm(r.name): r.circle_code for r in circles.itertuples()}
    by_code = {r.circle_code: r.circle_code for r in circles.itertuples()}
    anchor_names = dict(zip(communities["community_code"], communities["name"]))
    by_anchor = {_norm(anchor_names.get(r.anchor_community, "")): r.circle_code for r in circles.itertuples()}

    def match(name) -> str | None:
        key = _norm(name)
        if key in by_name:
            return by_name[key]
        if key in by_code:
            return by_code[key]
        hits = {code for anchor, code in by_anchor.items() if anchor and anchor in key}
        return hits.pop() if len(hits) == 1 else None

    return match


def _register(conn, month: Month, local: Path, entry: LandedFile) -> tuple[str, bool, Path]:
    """Hash, keep an immutable copy, record the receipt; returns (upload_id, duplicate, stored)."""
    upload_id = sha256_file(local)
    stored = stored_path(upload_id, entry.name)
    landing_store.copy_into_store(local, stored)
    conn.execute(sa.text("""
        INSERT INTO raw.upload (upload_id, file_name, kind, size_bytes, stored_path, period, status)
        VALUES (:u, :f, 'unknown', :s, :p, :m, 'received') ON CONFLICT (upload_id) DO NOTHING
    """), {"u": upload_id, "f": entry.name, "s": stored.stat().st_size, "p": stored.name, "m": str(month)})
    conn.execute(sa.text("""
        INSERT INTO raw.upload_receipt (period, file_name, upload_id, duplicate, landing_uri, landing_version, landed_at)
        VALUES (:m, :f, :u, false, :uri, :v, :t)
        ON CONFLICT (period, file_name) DO UPDATE SET upload_id = EXCLUDED.upload_id,
            landing_uri = EXCLUDED.landing_uri, landing_version = EXCLUDED.landing_version, landed_at = EXCLUDED.landed_at
    """), {"m": str(month), "f": entry.name, "u": upload_id, "uri": entry.uri, "v": entry.version, "t": entry.landed_at})
    first = conn.execute(sa.text("""SELECT period, file_name FROM raw.upload_receipt WHERE upload_id = :u
        ORDER BY period, landed_at NULLS FIRST, file_name LIMIT 1"""), {"u": upload_id}).one()
    duplicate = (first.period, first.file_name) != (str(month), entry.name)
    conn.execute(sa.text("UPDATE raw.upload_receipt SET duplicate = :d WHERE period = :m AND file_name = :f"),
                 {"d": duplicate, "m": str(month), "f": entry.name})
    return upload_id, duplicate, stored


def stored_path(upload_id: str, file_name: str) -> Path:
    """The immutable copy of an upload: named by content hash, suffix kept."""
    return settings.upload_store_dir() / f"{upload_id}{Path(file_name).suffix.lower()}"


def _finish(conn, upload_id: str, kind: str, status: str, reasons: list[str], accepted: int, rejected: int,
            problems: list[tuple]) -> None:
    """Record the file's outcome; ``problems`` are (location, reason_code, message[, expectation])."""
    conn.execute(sa.text("""UPDATE raw.upload SET kind = :k, status = :s, reasons = CAST(:r AS jsonb),
        rows_accepted = :a, rows_rejected = :j WHERE upload_id = :u"""),
                 {"k": kind, "s": status, "r": json.dumps(reasons, ensure_ascii=False), "a": accepted,
                  "j": rejected, "u": upload_id})
    q = pd.DataFrame([{"upload_id": upload_id, "seq": i, "location": p[0], "reason_code": p[1], "message": p[2],
                       "expectation": p[3] if len(p) > 3 else None} for i, p in enumerate(problems)],
                     columns=["upload_id", "seq", "location", "reason_code", "message", "expectation"])
    replace_rows(conn, "quarantine.upload", q, "upload_id = :u", {"u": upload_id})
    for table in STAGING_TABLES:
        if status == "rejected":
            conn.execute(sa.text(f"DELETE FROM {table} WHERE upload_id = :u"), {"u": upload_id})


def _location(message: str) -> str | None:
    m = re.match(r"^([^:：]+![A-Z]+[0-9]+|row \d+[^:]*)[:：]", message)
    return m.group(1) if m else None


def _annex5(conn, upload_id: str, stored: Path, match_circle, period: str, file_name: str
            ) -> tuple[str, list[str], int, int, list]:
    res = parse_annex5(stored)
    problems = [(_location(e), "error", e) for e in res.errors] + [(_location(w), "warning", w) for w in res.warnings]
    if not res.ok:
        return "rejected", res.errors + res.warnings, 0, 1, problems
    form = res.form
    circle = match_circle(form["circle_name"])
    if circle is None:
        msg = f"试点生活圈 {form['circle_name']!r} is not a known circle (config circles.csv)"
        return "rejected", [msg], 0, 1, problems + [(None, "error", msg)]
    rows = pd.DataFrame(form["rows"]).assign(upload_id=upload_id)
    cols = ["upload_id", "category_code", "outlets", "employees_10k", "chain_outlets", "satisfaction_pct", "demand_list"]
    header = pd.DataFrame([{
        "upload_id": upload_id, "circle_code": circle, "as_of": form["as_of"],
        "operator_types": form.get("operator_types") or [], "smart_platform": form.get("smart_platform"),
        "development_form": form.get("development_form"), "commercial_centres": form.get("commercial_centres"),
        "residents_covered_10k": form.get("residents_covered_10k"),
        "facility_area_share_pct": form.get("facility_area_share_pct"),
    }])
    # A form is one unit (the circle re-sends it whole), so a failed critical on its
    # category rows or header rejects the form — not row routing — naming the expectation.
    checks = (gx_runner.validate_dataframe(rows[cols], "staging_survey_category")
              + gx_runner.validate_dataframe(header, "staging_survey_form"))
    gate.gate(period, SOURCE, f"staging.survey_category+survey_form ({file_name})",
              [dataclasses.replace(c, routed=True) for c in checks])  # stored; the rejection below is the gate
    failed = [c for c in checks if not c.success and c.severity == "critical"]
    if failed:
        msgs = [(f"check {c.expectation} failed ({c.unexpected_count} rows)", c.expectation) for c in failed]
        return ("rejected", [m for m, _ in msgs], 0, len(rows),
                problems + [(None, "error", m, e) for m, e in msgs])
    replace_rows(conn, "staging.survey_category", pd.DataFrame(columns=cols), "upload_id = :u", {"u": upload_id})
    replace_rows(conn, "staging.survey_form", header, "upload_id = :u", {"u": upload_id})
    copy_rows(conn, "staging.survey_category", rows, cols)
    return ("accepted", res.warnings, len(rows), 0, problems)


def _satisfaction(conn, upload_id: str, stored: Path, match_circle, comm_codes: dict, period: str,
                  file_name: str) -> tuple:
    res = parse_responses(stored, salt=pii_salt())
    problems = [(_location(e), "error", e) for e in res.errors] + [(_location(w), "warning", w) for w in res.warnings]
    good, bad = [], 0
    for i, row in enumerate(res.rows, start=1):
        circle = match_circle(row.get("circle_name"))
        if circle is None:
            bad += 1
            problems.append((f"row {i}", "error", f"row {i}: circle {row.get('circle_name')!r} is not a known circle"))
            continue
        good.append({"upload_id": upload_id, "row_no": i, "circle_code": circle,
                     "community_code": comm_codes.get(_norm(row.get("community_name"))),
                     "respondent_hash": row["respondent_hash"], "satisfied": bool(row["satisfied"]),
                     "score": row.get("satisfaction_score"), "missing_categories": row.get("missing_categories") or [],
                     "submitted_at": row.get("submitted_at")})
    df = pd.DataFrame(good, columns=["upload_id", "row_no", "circle_code", "community_code", "respondent_hash",
                                     "satisfied", "score", "missing_categories", "submitted_at"])
    bad += len(res.errors)
    if df.empty:
        return "rejected", res.errors or ["no usable responses"], 0, bad, problems
    checks = gx_runner.validate_dataframe(df, "staging_satisfaction_response")
    kept, failures, checks = routing.route_rows(df, checks)
    for f in failures.itertuples(index=False):
        row_no = int(df.at[f.row, "row_no"])
        problems.append((f"row {row_no}", "error", f"row {row_no}: failed data-quality expectation {f.expectation}",
                         f.expectation))
    bad += failures["row"].nunique()
    df = kept
    gate.gate(period, SOURCE, f"staging.satisfaction_response ({file_name})", checks)
    if df.empty:
        return "rejected", ["no usable responses"], 0, bad, problems
    replace_rows(conn, "staging.satisfaction_response", df, "upload_id = :u", {"u": upload_id})
    status = "accepted" if bad == 0 else "partly_accepted"
    return status, res.errors + res.warnings, len(df), bad, problems


def _task_progress(conn, upload_id: str, stored: Path, tasks: pd.DataFrame, units: pd.DataFrame, period: str,
                   file_name: str) -> tuple:
    """A unit's progress report: usable rows -> staging.task_progress; rows with an unknown
    task or unit (or unreadable values) are errors, each in quarantine.upload."""
    res = parse_task_progress(stored, tasks, units)
    problems = [(_location(e), "error", e) for e in res.errors] + [(_location(w), "warning", w) for w in res.warnings]
    if not res.ok:
        return "rejected", (res.errors + res.warnings) or ["no usable task rows"], 0, max(len(res.errors), 1), problems
    df = pd.DataFrame(res.rows).assign(upload_id=upload_id)
    df["row_no"] = range(1, len(df) + 1)
    df = df[TASK_PROGRESS_COLS]
    checks = gx_runner.validate_dataframe(df, "staging_task_progress")
    kept, failures, checks = routing.route_rows(df, checks)
    bad = len(res.errors)
    reasons = res.errors + res.warnings
    for f in failures.itertuples(index=False):
        where = f"task {df.at[f.row, 'task_id']} ({df.at[f.row, 'unit']})"
        msg = f"{where}: failed data-quality expectation {f.expectation}; row left out"
        problems.append((where, "error", msg, f.expectation))
        reasons.append(msg)
    bad += failures["row"].nunique()
    blocking = [c for c in checks if not c.success and c.severity == "critical" and not c.routed]
    # A file-level failure (e.g. one task reported twice) rejects this file only, naming
    # the expectation; the results are stored as routed so the other uploads go on.
    gate.gate(period, SOURCE, f"staging.task_progress ({file_name})",
              [dataclasses.replace(c, routed=True) for c in checks])
    if blocking:
        msgs = [(f"check {c.expectation} failed ({c.unexpected_count} rows)", c.expectation) for c in blocking]
        return ("rejected", [m for m, _ in msgs] + reasons, 0, len(df),
                problems + [(None, "error", m, e) for m, e in msgs])
    if kept.empty:
        return "rejected", reasons or ["no usable task rows"], 0, bad, problems
    replace_rows(conn, "staging.task_progress", kept, "upload_id = :u", {"u": upload_id})
    return ("accepted" if bad == 0 else "partly_accepted"), reasons, len(kept), bad, problems


@dataclasses.dataclass(frozen=True)
class _Reference:
    """The reference data every parser matches against, loaded once per run."""

    match_circle: object
    comm_codes: dict
    tasks: pd.DataFrame
    units: pd.DataFrame

    @classmethod
    def load(cls, city: str | None) -> "_Reference":
        communities = refdata.load_communities(city)
        return cls(circle_matcher(refdata.load_circles(city), communities),
                   {_norm(n): c for n, c in zip(communities["name"], communities["community_code"])},
                   refdata.load_tasks(city), refdata.load_units(city))


def kind_of(stored: Path, file_name: str) -> str | None:
    """annex5 | satisfaction | task_progress from the content; else from the suffix."""
    return detect.detect_kind(stored) or SUFFIX_KINDS.get(Path(file_name).suffix.lower())


def _intake(conn, month: Month, entry: LandedFile, local: Path, ref: _Reference) -> str:
    """Register one landed file and decide its fate; returns its status (or "duplicate")."""
    upload_id, duplicate, stored = _register(conn, month, local, entry)
    if duplicate:
        log.info("%s: same content as an earlier upload (%s…): recognised as a duplicate", entry.name, upload_id[:12])
        return "duplicate"
    refusals = file_guard.check_upload(stored, MAX_BYTES)
    if refusals:  # refused before any parser opened it; the stored copy is kept
        _finish(conn, upload_id, "unknown", "rejected", refusals, 0, 1, [(None, "error", m) for m in refusals])
        return "rejected"
    kind = kind_of(stored, entry.name)
    period = str(month)
    if kind == "annex5":
        status, reasons, ok, bad, problems = _annex5(conn, upload_id, stored, ref.match_circle, period, entry.name)
    elif kind == "satisfaction":
        status, reasons, ok, bad, problems = _satisfaction(conn, upload_id, stored, ref.match_circle, ref.comm_codes,
                                                           period, entry.name)
    elif kind == "task_progress":
        status, reasons, ok, bad, problems = _task_progress(conn, upload_id, stored, ref.tasks, ref.units, period,
                                                            entry.name)
    else:
        msg = (f"{entry.name}: neither an annex-5 form, a satisfaction export nor a task-progress report "
               f"(no known title or headers), and the suffix {Path(entry.name).suffix!r} says nothing either; "
               "expected .xlsx (annex 5, task progress) or .csv (responses, task progress)")
        status, reasons, ok, bad, problems = "rejected", [msg], 0, 1, [(None, "error", msg)]
    _finish(conn, upload_id, kind or "unknown", status, reasons, ok, bad, problems)
    log.info("%s: %s %s (%d rows accepted, %d rejected)", entry.name, kind or "unknown", status, ok, bad)
    return status


def _receipts(conn, month: Month) -> dict[str, tuple[str | None, str]]:
    """file_name -> (landing_version, upload_id) of the files already received for the period."""
    if not sa.inspect(conn).has_table("upload_receipt", schema="raw"):
        return {}
    rows = conn.execute(sa.text("SELECT file_name, landing_version, upload_id FROM raw.upload_receipt "
                                "WHERE period = :p"), {"p": str(month)})
    return {r.file_name: (r.landing_version, r.upload_id) for r in rows}


def pending(period: str, landing: str | None = None) -> dict:
    """Files in the landing area not yet received for ``period`` (new, or a new version
    under a known name). The watcher DAG announces uploads only when this is non-empty."""
    month = Month.parse(period)
    store = landing_store.open_store(landing)
    entries = store.list()
    with get_engine().connect() as conn:
        known = _receipts(conn, month)
    new = [e.name for e in entries if known.get(e.name, (None, None))[0] != e.version]
    return {"period": str(month), "landing": store.uri, "files": len(entries), "pending": new}


def ingest(period: str, landing: str | None = None, city: str | None = None) -> dict:
    """Register, keep and parse every file in the landing area (folder or bucket) for ``period``."""
    month = Month.parse(period)
    store = landing_store.open_store(landing)
    ref = _Reference.load(city)
    engine = get_engine()
    counts = {"files": 0, "accepted": 0, "partly_accepted": 0, "rejected": 0, "duplicates": 0, "failed": 0}
    with engine.begin() as conn:
        load = loads.begin(conn, SOURCE, month, ())
        known = _receipts(conn, month)
    entries = store.list()
    with tempfile.TemporaryDirectory(prefix="lifecircle-uploads-") as work:
        for entry in entries:
            counts["files"] += 1
            version, upload_id = known.get(entry.name, (None, None))
            stored = stored_path(upload_id, entry.name) if upload_id else None
            # Seen in this period already, same version: read the kept copy, not the bucket again.
            local = stored if version == entry.version and stored and stored.exists() else store.fetch(entry, Path(work))
            try:
                with engine.begin() as conn:
                    status = _intake(conn, month, entry, local, ref)
            except gx_runner.QualityGateFailed:
                raise
            except Exception as exc:  # noqa: BLE001 - one broken file must not hide the others
                log.exception("%s: could not be processed", entry.name)
                msg = (f"{entry.name}: could not be processed ({type(exc).__name__}: {exc}); the file is kept and "
                       "is read again on the next run of the period")
                with engine.begin() as conn:
                    upload_id, _, _ = _register(conn, month, local, entry)
                    _finish(conn, upload_id, "unknown", "rejected", [msg], 0, 1, [(None, "error", msg)])
                status = "rejected"
                counts["failed"] += 1
            counts["duplicates" if status == "duplicate" else status] += 1
            if local.parent == Path(work):
                local.unlink(missing_ok=True)
    with engine.begin() as conn:
        loads.set_status(conn, load.load_id, "validated", rows_received=counts["files"],
                         rows_accepted=counts["accepted"] + counts["partly_accepted"],
                         rows_quarantined=counts["rejected"], details={**counts, "landing": store.uri})
    return counts


def publish(period: str, city: str | None = None) -> dict:
    """staging surveys -> core.circle_survey / core.circle_satisfaction / core.task_progress
    for the period, then, in the same transaction, their suites and the table-level checks
    (freshness of the uploads load, key, every survey and response for a known circle,
    every reported task a known task); a failed critical rolls the publish back."""
    month = Month.parse(period)
    cfg = refdata.load_city(city)
    qcfg = table_checks.config(city)
    engine = get_engine()
    p = {"p": str(month)}
    with engine.begin() as conn:
        fresh = table_checks.freshness(conn, SOURCE, str(month), qcfg["freshness_severity"])
        run_sql_file(conn, "core/publish_surveys.sql", period=str(month), period_end=month.end,
                     min_responses=int(cfg.get("satisfaction_min_responses", 50)))
        received = ("upload_id IN (SELECT upload_id FROM raw.upload_receipt WHERE period = :p)")
        for table in ("core.circle_survey", "core.circle_satisfaction"):
            results = gx_runner.validate_table(conn, table, where="period = :p", params=p) + [
                table_checks.unique_key(conn, table, ["period", "circle_code"], "period = :p", p),
                table_checks.references(conn, table, "circle_code", "core.circle", "circle_code", "period = :p", p)]
            if table == "core.circle_survey":
                results += [fresh]
            else:
                results += [table_checks.references(conn, "staging.satisfaction_response", "circle_code", "core.circle",
                                                    "circle_code", received, p)]
            gate.gate(str(month), SOURCE, table, results)
        tasks = _publish_task_progress(conn, month)
        loads.set_status(conn, loads.load_id(SOURCE, month), "succeeded")
        forms = conn.execute(sa.text("SELECT count(*) FROM core.circle_survey WHERE period = :p"), p).scalar()
        sat = conn.execute(sa.text("SELECT count(*) FROM core.circle_satisfaction WHERE period = :p"), p).scalar()
    return {"circle_forms": int(forms), "circle_satisfaction": int(sat), "task_progress": tasks}


def _publish_task_progress(conn, month: Month) -> int:
    """Reports first received in the period -> core.task_progress (later upload of the
    same task and unit wins, see publish_task_progress.sql); every task id must be known."""
    p = {"p": str(month)}
    received = "upload_id IN (SELECT upload_id FROM raw.upload_receipt WHERE period = :p)"
    gate.gate(str(month), SOURCE, "staging.task_progress",
              [table_checks.references(conn, "staging.task_progress", "task_id", "core.task", "task_id", received, p)])
    run_sql_file(conn, "core/publish_task_progress.sql", period=str(month))
    gate.gate(str(month), SOURCE, "core.task_progress",
              [table_checks.unique_key(conn, "core.task_progress", ["period", "task_id", "unit"], "period = :p", p)])
    return int(conn.execute(sa.text("SELECT count(*) FROM core.task_progress WHERE period = :p"), p).scalar())
