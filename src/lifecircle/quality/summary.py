"""The data-quality section of the monthly report, as plain data.

``dq_summary`` is what ``report/templates/_dq_section.html.j2`` renders (context
variable ``dq``): what was checked, what failed, how many records were quarantined per
source and why, and the period's loads. Plain dicts and lists (no DataFrames) so the
template and JSON dumps need nothing special; ordered, so the report is deterministic.
"""
from __future__ import annotations

import sqlalchemy as sa

# Per source: the quarantine table and how to find the period's rows in it.
_QUARANTINE = (
    ("registrations", """SELECT reason_code, expectation, count(*) AS n, min(message) AS example
        FROM quarantine.registration WHERE load_id = :lid GROUP BY reason_code, expectation"""),
    ("pois", """SELECT reason_code, expectation, count(*) AS n, min(message) AS example
        FROM quarantine.poi WHERE load_id = :lid GROUP BY reason_code, expectation"""),
    ("uploads", """SELECT q.reason_code, q.expectation, count(*) AS n, min(q.message) AS example
        FROM quarantine.upload q JOIN raw.upload_receipt r ON r.upload_id = q.upload_id AND r.period = :p
        AND NOT r.duplicate GROUP BY q.reason_code, q.expectation"""),
)


def dq_summary(conn: sa.Connection, period: str) -> dict:
    """``checks`` (mart.dq_results rows of the period and of the reference tables),
    ``failed`` (those not passed), ``quarantine`` (per source and reason: count and an
    example message), ``loads`` (raw.load rows of the period)."""
    checks = [dict(r) for r in conn.execute(sa.text("""
        SELECT period, source, table_name, suite, expectation, severity, success, observed_value,
               unexpected_count, element_count, action
        FROM mart.dq_results WHERE period IN (:p, 'reference')
        ORDER BY source, table_name, suite, expectation"""), {"p": period}).mappings()]
    quarantine = []
    for source, sql in _QUARANTINE:
        rows = conn.execute(sa.text(sql + " ORDER BY n DESC, reason_code"),
                            {"lid": f"{source}:{period}", "p": period}).mappings()
        quarantine += [{"source": source, "reason_code": r["reason_code"], "expectation": r["expectation"],
                        "count": int(r["n"]), "example": r["example"]} for r in rows]
    loads = [dict(r) for r in conn.execute(sa.text("""
        SELECT load_id, source, period, as_of, status, rows_received, rows_accepted, rows_quarantined
        FROM raw.load WHERE period = :p ORDER BY source"""), {"p": period}).mappings()]
    return {"period": period, "checks": checks, "failed": [c for c in checks if c["action"] != "passed"],
            "quarantine": quarantine, "loads": loads}
