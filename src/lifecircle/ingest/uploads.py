"""Survey uploads: files people send (annex-5 forms, satisfaction exports) from a landing
folder -> immutable store + uploads register -> staging/quarantine -> core.

Every file is hashed and kept; each gets a status (accepted / partly_accepted /
rejected) with every reason; a second copy of the same content is recognised."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from lifecircle import refdata, settings
from lifecircle.ingest import loads
from lifecircle.period import Month
from lifecircle.quality import checks as table_checks
from lifecircle.quality import gate, gx_runner, routing
from lifecircle.surveys.annex5 import parse_annex5
from lifecircle.surveys.satisfaction import parse_responses
from lifecircle.warehouse.bulk import copy_rows, replace_rows
from lifecircle.warehouse.engine import get_engine, run_sql_file

log = logging.getLogger(__name__)
SOURCE = "uploads"
MAX_BYTES = 20 * 1024 * 1024
KINDS = {".xlsx": "annex5", ".csv": "satisfaction"}


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


def _register(conn, month: Month, path: Path) -> tuple[str, bool, Path]:
    """Hash, keep an immutable copy, record the receipt; returns (upload_id, duplicate, stored)."""
    upload_id = sha256_file(path)
    stored = settings.upload_store_dir() / f"{upload_id}{path.suffix.lower()}"
    if not stored.exists():
        shutil.copyfile(path, stored)
        stored.chmod(0o444)
    conn.execute(sa.text("""
        INSERT INTO raw.upload (upload_id, file_name, kind, size_bytes, stored_path, period, status)
        VALUES (:u, :f, :k, :s, :p, :m, 'received') ON CONFLICT (upload_id) DO NOTHING
    """), {"u": upload_id, "f": path.name, "k": KINDS.get(path.suffix.lower(), "unknown"),
           "s": path.stat().st_size, "p": stored.name, "m": str(month)})
    conn.execute(sa.text("""
        INSERT INTO raw.upload_receipt (period, file_name, upload_id, duplicate) VALUES (:m, :f, :u, false)
        ON CONFLICT (period, file_name) DO UPDATE SET upload_id = EXCLUDED.upload_id
    """), {"m": str(month), "f": path.name, "u": upload_id})
    first = conn.execute(sa.text("""SELECT period, file_name FROM raw.upload_receipt WHERE upload_id = :u
        ORDER BY period, file_name LIMIT 1"""), {"u": upload_id}).one()
    duplicate = (first.period, first.file_name) != (str(month), path.name)
    conn.execute(sa.text("UPDATE raw.upload_receipt SET duplicate = :d WHERE period = :m AND file_name = :f"),
                 {"d": duplicate, "m": str(month), "f": path.name})
    return upload_id, duplicate, stored


def _finish(conn, upload_id: str, status: str, reasons: list[str], accepted: int, rejected: int,
            problems: list[tuple]) -> None:
    """Record the file's outcome; ``problems`` are (location, reason_code, message[, expectation])."""
    conn.execute(sa.text("""UPDATE raw.upload SET status = :s, reasons = CAST(:r AS jsonb), rows_accepted = :a,
        rows_rejected = :j WHERE upload_id = :u"""),
                 {"s": status, "r": json.dumps(reasons, ensure_ascii=False), "a": accepted, "j": rejected, "u": upload_id})
    q = pd.DataFrame([{"upload_id": upload_id, "seq": i, "location": p[0], "reason_code": p[1], "message": p[2],
                       "expectation": p[3] if len(p) > 3 else None} for i, p in enumerate(problems)],
                     columns=["upload_id", "seq", "location", "reason_code", "message", "expectation"])
    replace_rows(conn, "quarantine.upload", q, "upload_id = :u", {"u": upload_id})
    for table in ("staging.survey_category", "staging.survey_form", "staging.satisfaction_response"):
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


def ingest(period: str, landing: str | None = None, city: str | None = None) -> dict:
    """Register, keep and parse every file in the landing folder for ``period``."""
    month = Month.parse(period)
    folder = Path(landing) if landing else settings.landing_dir()
    circles = refdata.load_circles(city)
    communities = refdata.load_communities(city)
    match_circle = circle_matcher(circles, communities)
    comm_codes = {_norm(n): c for n, c in zip(communities["name"], communities["community_code"])}
    engine = get_engine()
    counts = {"files": 0, "accepted": 0, "partly_accepted": 0, "rejected": 0, "duplicates": 0}
    with engine.begin() as conn:
        load = loads.begin(conn, SOURCE, month, ())
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        counts["files"] += 1
        with engine.begin() as conn:
            if path.stat().st_size > MAX_BYTES:
                upload_id, duplicate, stored = _register(conn, month, path)
                msg = f"{path.name}: {path.stat().st_size} bytes is over the {MAX_BYTES} byte limit; not parsed"
                _finish(conn, upload_id, "rejected", [msg], 0, 1, [(None, "error", msg)])
                counts["rejected"] += 1
                continue
            upload_id, duplicate, stored = _register(conn, month, path)
            if duplicate:
                counts["duplicates"] += 1
                log.info("%s: same content as an earlier upload (%s…): recognised as a duplicate", path.name, upload_id[:12])
                continue
            kind = KINDS.get(path.suffix.lower())
            if kind == "annex5":
                status, reasons, ok, bad, problems = _annex5(conn, upload_id, stored, match_circle, str(month), path.name)
            elif kind == "satisfaction":
                status, reasons, ok, bad, problems = _satisfaction(conn, upload_id, stored, match_circle, comm_codes, str(month),
                                                                 path.name)
            else:
                msg = f"{path.name}: unknown file type {path.suffix!r}, expected .xlsx (annex 5) or .csv (responses)"
                status, reasons, ok, bad, problems = "rejected", [msg], 0, 1, [(None, "error", msg)]
            _finish(conn, upload_id, status, reasons, ok, bad, problems)
            counts[status] += 1
            log.info("%s: %s (%d rows accepted, %d rejected)", path.name, status, ok, bad)
    with engine.begin() as conn:
        loads.set_status(conn, load.load_id, "validated", rows_received=counts["files"],
                         rows_accepted=counts["accepted"] + counts["partly_accepted"],
                         rows_quarantined=counts["rejected"], details=counts)
    return counts


def publish(period: str, city: str | None = None) -> dict:
    """staging surveys -> core.circle_survey / core.circle_satisfaction for the period,
    then, in the same transaction, their suites and the table-level checks (freshness of
    the uploads load, key, every survey and response for a known circle); a failed
    critical rolls the publish back."""
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
        loads.set_status(conn, loads.load_id(SOURCE, month), "succeeded")
        forms = conn.execute(sa.text("SELECT count(*) FROM core.circle_survey WHERE period = :p"), p).scalar()
        sat = conn.execute(sa.text("SELECT count(*) FROM core.circle_satisfaction WHERE period = :p"), p).scalar()
    return {"circle_forms": int(forms), "circle_satisfaction": int(sat)}
