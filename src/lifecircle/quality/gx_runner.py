"""Run a Great Expectations (GX Core 1.x) suite stored as JSON under ``expectations/``.

Suites are plain JSON files beside the code so reviewers see every rule; they are loaded
into an ephemeral GX context on each run (the GX Airflow provider does not install with
Airflow 3.3, so tasks call GX Core directly). ``critical`` expectations block publishing,
``warning`` ones are reported.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lifecircle import settings

# GX logs every API registration at INFO on import; Airflow's structlog would print them all.
for _name in ("great_expectations", "great_expectations._docs_decorators"):
    logging.getLogger(_name).setLevel(logging.WARNING)


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
    target = kwargs.get("column") or ",".join(kwargs.get("column_list", []) or []) or ""
    return f"{cfg['type']}({target})" if target else cfg["type"]


def validate_dataframe(df: pd.DataFrame, suite_name: str) -> list[ExpectationResult]:
    """Validate ``df`` against ``expectations/<suite_name>.json``."""
    import great_expectations as gx

    spec = load_suite_json(suite_name)
    suite = build_suite(spec)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas(name="frames")
    asset = source.add_dataframe_asset(name=suite_name)
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": df})
    run = batch.validate(context.suites.add(suite))
    out = []
    for res in run.results:
        cfg = res.expectation_config.to_json_dict()
        detail = res.result or {}
        observed = detail.get("observed_value")
        out.append(ExpectationResult(
            suite=suite_name,
            expectation=_label(cfg),
            severity=str(cfg.get("severity") or "critical"),
            success=bool(res.success),
            observed_value=None if observed is None else str(observed),
            unexpected_count=detail.get("unexpected_count"),
            element_count=detail.get("element_count", len(df)),
        ))
    return sorted(out, key=lambda r: r.expectation)


def enforce(results: list[ExpectationResult]) -> None:
    failed = [r for r in results if not r.success and r.severity == "critical"]
    if failed:
        names = ", ".join(f"{r.suite}: {r.expectation} (observed {r.observed_value}, "
                          f"{r.unexpected_count} unexpected)" for r in failed)
        raise QualityGateFailed(f"critical expectations failed, not publishing: {names}")
