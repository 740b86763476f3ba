"""Run a Great Expectations (GX Core 1.x) suite stored as JSON under ``expectations/``.

Suites are plain JSON files beside the code so reviewers see every rule; they are loaded
into an ephemeral GX context on each run (the GX Airflow provider does not install with
Airflow 3.3, so tasks call GX Core directly).

Severity: each expectation in the JSON carries ``"severity": "critical" | "warning"``
(GX 1.x's own ``FailureSeverity`` values). ``critical`` is what the issue and the report
call *error*: it blocks publishing to core/mart — except a failed *row-level*
expectation (values not null / in set / matching / between ...), whose failing rows are
routed to the table's quarantine table with the expectation's name instead
(:mod:`lifecircle.quality.routing`), so one bad record does not hold back a month.
``warning`` is stored in mart.dq_results and shown in the report, never blocks.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from lifecircle import settings

# GX logs every API registration at INFO on import; Airflow's structlog would print them all.
for _name in ("great_expectations", "great_expectations._docs_decorators"):
    logging.getLogger(_name).setLevel(logging.WARNING)

# GX's pandas engine fingerprints every batch (``hash_pandas_object`` of the whole frame,
# twice per validation) unless the frame's memory is at least ``HASH_THRESHOLD`` bytes
# (1e9 by default). The fingerprint is only a batch marker that nothing here reads, and at
# a million rows it cost 1.4 s per validation; frames of this size or more now skip it,
# through GX's own threshold.
GX_FINGERPRINT_MAX_BYTES = 16 * 2**20


def _limit_fingerprinting() -> None:
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = min(pandas_execution_engine.HASH_THRESHOLD, GX_FINGERPRINT_MAX_BYTES)


class QualityGateFailed(RuntimeError):
    """A critical expectation failed: the data must not be published."""


@dataclass(frozen=True)
class ExpectationResult:
    suite: str
    expectation: str
    severity: str
    success: bool
    observed_value: str | None
    unexpected_count: int | None
    element_count: int | None
    # Row-level expectation (one verdict per row): its failing rows can be quarantined.
    row_level: bool = False
    # Positions (0..n-1 of the validated frame) of the failing rows, for row routing.
    unexpected_rows: tuple = field(default=(), compare=False, repr=False)
    # True once the failing rows were routed to quarantine: then it no longer blocks.
    routed: bool = False


# Expectations that judge each row on its own, so a failure can be pinned to rows and
# those rows quarantined. Uniqueness is deliberately absent: a duplicated business key
# is a table-level fault (which of the two copies is wrong?) and blocks publishing.
ROW_LEVEL_TYPES = frozenset({
    "expect_column_values_to_not_be_null", "expect_column_values_to_be_null",
    "expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
    "expect_column_values_to_be_between", "expect_column_value_lengths_to_equal",
    "expect_column_value_lengths_to_be_between", "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_column_pair_values_to_be_equal",
})


def load_suite_json(name: str) -> dict:
    path = settings.expectations_dir() / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"expectation suite not found: {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def build_suite(spec: dict):
    """Build a GX suite from our JSON and refuse silently dropped expectations.

    GX logs (instead of raising) an expectation it cannot build; we compare counts so a
    typo in a suite file fails loudly."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=spec["name"], expectations=[
        {"type": e["type"], "kwargs": e.get("kwargs", {}), "severity": e.get("severity", "critical"),
         "meta": e.get("meta", {})}
        for e in spec["expectations"]
    ])
    if len(suite.expectations) != len(spec["expectations"]):
        raise ValueError(f"suite {spec['name']}: {len(spec['expectations'])} expectations in the file, "
                         f"{len(suite.expectations)} accepted by GX — check the types and kwargs")
    return suite


def _label(cfg: dict) -> str:
    kwargs = cfg.get("kwargs", {})
    target = (kwargs.get("column") or ",".join(kwargs.get("column_list", []) or [])
              or ",".join(kwargs[k] for k in ("column_A", "column_B") if kwargs.get(k)) or "")
    return f"{cfg['type']}({target})" if target else cfg["type"]


def validate_dataframe(df: pd.DataFrame, suite_name: str) -> list[ExpectationResult]:
    """Validate ``df`` against ``expectations/<suite_name>.json``.

    Runs with ``result_format="COMPLETE"`` so GX returns ``unexpected_index_list`` (the
    pandas index labels of failing rows); the frame is validated with a fresh RangeIndex,
    so those labels are row positions that :mod:`routing` maps back to records."""
    import great_expectations as gx

    df = df.reset_index(drop=True)
    spec = load_suite_json(suite_name)
    suite = build_suite(spec)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _limit_fingerprinting()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas(name="frames")
    asset = source.add_dataframe_asset(name=suite_name)
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": df})
    run = batch.validate(context.suites.add(suite), result_format={"result_format": "COMPLETE"})
    out = []
    for res in run.results:
        cfg = res.expectation_config.to_json_dict()
        detail = res.result or {}
        observed = detail.get("observed_value")
        row_level = cfg["type"] in ROW_LEVEL_TYPES
        out.append(ExpectationResult(
            suite=suite_name,
            expectation=_label(cfg),
            severity=str(cfg.get("severity") or "critical"),
            success=bool(res.success),
            observed_value=None if observed is None else str(observed),
            unexpected_count=detail.get("unexpected_count"),
            element_count=detail.get("element_count", len(df)),
            row_level=row_level,
            unexpected_rows=tuple(int(i) for i in detail.get("unexpected_index_list") or ()) if row_level else (),
        ))
    return sorted(out, key=lambda r: r.expectation)


def validate_table(conn, table: str, suite_name: str | None = None, where: str | None = None,
                   params: dict | None = None) -> list[ExpectationResult]:
    """Validate a warehouse table (or the slice ``where``) with its suite.

    The table is read through ``conn`` — the publishing transaction itself — so the check
    sees the rows the publish SQL just wrote, and a failed critical (raised by
    :func:`enforce`) rolls the publish back. Reading into pandas rather than using a GX
    SQL data source is deliberate: a GX SQL source opens its own connection and could not
    see the uncommitted rows. ``numeric`` columns arrive as ``Decimal`` and are made floats."""
    import sqlalchemy as sa

    suite_name = suite_name or table.replace(".", "_")
    sql = f"SELECT * FROM {table}" + (f" WHERE {where}" if where else "")
    df = pd.read_sql(sa.text(sql), conn, params=params or {})
    for col in df.columns:
        if df[col].dtype == object and df[col].map(lambda v: isinstance(v, Decimal)).any():
            df[col] = pd.to_numeric(df[col].map(lambda v: float(v) if isinstance(v, Decimal) else v))
    return validate_dataframe(df, suite_name)


def enforce(results: list[ExpectationResult]) -> None:
    """Raise :class:`QualityGateFailed` for failed critical results not routed to quarantine."""
    failed = [r for r in results if not r.success and r.severity == "critical" and not r.routed]
    if failed:
        names = ", ".join(f"{r.suite}: {r.expectation} (observed {r.observed_value}, "
                          f"{r.unexpected_count} unexpected)" for r in failed)
        raise QualityGateFailed(f"critical expectations failed, not publishing: {names}")
