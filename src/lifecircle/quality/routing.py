"""Route the rows that break a critical row-level expectation to quarantine.

Why: a critical expectation protects core/mart, but when it judges rows one by one
(not null, in set, regex, between, ...) the fault is in those rows, not in the batch.
Holding back a whole month of registrations for one bad record would hurt analysts more
than it protects them; so the failing rows are set aside — named by the expectation that
caught them — and the rest is published. The results are marked ``routed`` so
:func:`gx_runner.enforce` lets them through; table-level failures still block.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from lifecircle.quality.gx_runner import ExpectationResult


def route_rows(df: pd.DataFrame, results: list[ExpectationResult]
               ) -> tuple[pd.DataFrame, pd.DataFrame, list[ExpectationResult]]:
    """Split ``df`` by the routable failures in ``results`` (from ``validate_dataframe(df)``).

    Returns ``(kept, failures, results)``: ``kept`` is ``df`` without the failing rows
    (its index kept, so callers can find the source records); ``failures`` has one row
    per (row, expectation): ``row`` (the original index label of ``df``) and
    ``expectation``; ``results`` is the input with routed ones marked ``routed=True``."""
    rows, out = [], []
    for r in results:
        if not r.success and r.severity == "critical" and r.row_level and r.unexpected_rows:
            rows += [(df.index[pos], r.expectation) for pos in r.unexpected_rows]
            # Every failing row must be known, else we cannot route and must block.
            routed = r.unexpected_count is None or len(r.unexpected_rows) == r.unexpected_count
            out.append(replace(r, routed=routed))
        else:
            out.append(r)
    failures = pd.DataFrame(rows, columns=["row", "expectation"]).drop_duplicates()
    kept = df.drop(index=sorted(set(failures["row"]))) if len(failures) else df
    return kept, failures, out


def reason_code(expectation: str) -> str:
    """Quarantine reason code for a routed expectation: ``dq_<expectation type>``."""
    return "dq_" + expectation.split("(", 1)[0].removeprefix("expect_")
