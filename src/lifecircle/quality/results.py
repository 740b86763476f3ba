"""Store expectation results in mart.dq_results, where analysts and the report read them.

No timestamps are stored: a re-run of a period writes identical rows (the e2e test
checks the warehouse is unchanged), and the period plus the load's own row in raw.load
already say which run a result belongs to."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from lifecircle.quality.gx_runner import ExpectationResult
from lifecircle.warehouse.bulk import replace_rows


def action(r: ExpectationResult) -> str:
    """What the result did: passed | reported (warning) | quarantined (rows routed) | blocked."""
    if r.success:
        return "passed"
    if r.severity != "critical":
        return "reported"
    return "quarantined" if r.routed else "blocked"


def store(conn: sa.Connection, period: str, source: str, table_name: str,
          results: list[ExpectationResult]) -> dict:
    """Replace the rows of (period, table_name, each suite in ``results``) — so the GX
    suite and the table-level checks of one table can be stored by separate calls."""
    labels = [(r.suite, r.expectation) for r in results]
    if len(labels) != len(set(labels)):
        raise ValueError(f"{table_name}: two results share a (suite, expectation) label: {sorted(labels)}")
    df = pd.DataFrame([{
        "period": period, "source": source, "table_name": table_name, "suite": r.suite,
        "expectation": r.expectation, "severity": r.severity, "success": r.success,
        "observed_value": r.observed_value, "unexpected_count": r.unexpected_count,
        "element_count": r.element_count, "action": action(r),
    } for r in results], columns=["period", "source", "table_name", "suite", "expectation", "severity", "success",
                                  "observed_value", "unexpected_count", "element_count", "action"])
    for col in ("unexpected_count", "element_count"):
        df[col] = pd.to_numeric(df[col]).round().astype("Int64")
    suites = sorted({r.suite for r in results})
    replace_rows(conn, "mart.dq_results", df, "period = :p AND table_name = :t AND suite = ANY(:s)",
                 {"p": period, "t": table_name, "s": suites})
    failed = [r.expectation for r in results if not r.success]
    return {"checked": len(results), "failed": len(failed), "failed_expectations": failed}
