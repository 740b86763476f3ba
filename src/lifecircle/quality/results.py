"""Store expectation results in mart.dq_results, where analysts and the report read them."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from lifecircle.quality.gx_runner import ExpectationResult
from lifecircle.warehouse.bulk import replace_rows


def store(conn: sa.Connection, period: str, source: str, table_name: str,
          results: list[ExpectationResult]) -> dict:
    df = pd.DataFrame([{
        "period": period, "source": source, "table_name": table_name, "suite": r.suite,
        "expectation": r.expectation, "severity": r.severity, "success": r.success,
        "observed_value": r.observed_value, "unexpected_count": r.unexpected_count,
        "element_count": r.element_count,
    } for r in results])
    for col in ("unexpected_count", "element_count"):
        df[col] = pd.to_numeric(df[col]).round().astype("Int64")
    replace_rows(conn, "mart.dq_results", df, "period = :p AND table_name = :t", {"p": period, "t": table_name})
    failed = [r.expectation for r in results if not r.success]
    return {"checked": len(results), "failed": len(failed), "failed_expectations": failed}
