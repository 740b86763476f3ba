"""Table-level data-quality checks that GX row expectations cannot express.

Each check returns an :class:`ExpectationResult` (suite ``table_checks``), so it is
stored in mart.dq_results beside the GX results and gated the same way
(:func:`lifecircle.quality.gate.gate`): a failed *critical* check blocks publishing.
They are SQL against the warehouse, run inside the publishing transaction, so they see
what is about to be committed:

- freshness per source: raw.load has the period's load, validated, describing the period's end;
- row-count change against the previous period/snapshot beyond the configured ±%;
- uniqueness of the business key;
- referential integrity (outlets in known communities, surveys for known circles);
- coordinates inside the city's boundary polygon (:mod:`boundary`).

Configuration: the ``quality:`` block of config/cities/<city>/city.yaml over
:data:`DEFAULTS`.
"""
from __future__ import annotations

import sqlalchemy as sa

from lifecircle import refdata
from lifecircle.quality import boundary
from lifecircle.quality.gx_runner import ExpectationResult

SUITE = "table_checks"
DEFAULTS = {"row_count_max_change_pct": 30.0, "row_count_severity": "critical", "freshness_severity": "critical"}


def config(city: str | None = None) -> dict:
    """The city's ``quality:`` settings over :data:`DEFAULTS`."""
    return {**DEFAULTS, **(refdata.load_city(city).get("quality") or {})}


def _result(name: str, success: bool, observed, unexpected: int | None = None, elements: int | None = None,
            severity: str = "critical") -> ExpectationResult:
    return ExpectationResult(suite=SUITE, expectation=name, severity=severity, success=bool(success),
                             observed_value=None if observed is None else str(observed),
                             unexpected_count=unexpected, element_count=elements)


def freshness(conn: sa.Connection, source: str, period: str, severity: str = "critical") -> ExpectationResult:
    """The source's load of ``period`` exists, got through validation (status validated or
    succeeded) and describes the period's end — else core would be built from stale data."""
    from lifecircle.period import Month

    row = conn.execute(sa.text("SELECT status, as_of FROM raw.load WHERE source = :s AND period = :p"),
                       {"s": source, "p": period}).first()
    ok = row is not None and row.status in ("validated", "succeeded") and row.as_of == Month.parse(period).end
    observed = "no load" if row is None else f"{row.status} as of {row.as_of}"
    return _result(f"freshness({source})", ok, observed, severity=severity)


def row_count_change(name: str, current: int, previous: int | None, max_pct: float,
                     severity: str = "critical") -> ExpectationResult:
    """``current`` within ±``max_pct`` % of ``previous``; passes when there is no previous
    (first period) — the observed value says so."""
    if not previous:
        return _result(f"row_count_change({name})", True, f"{current} rows, no previous period", elements=current,
                       severity=severity)
    change = 100.0 * (current - previous) / previous
    return _result(f"row_count_change({name})", abs(change) <= max_pct,
                   f"{current} vs {previous} rows ({change:+.1f}%, limit ±{max_pct:g}%)", elements=current,
                   severity=severity)


def unique_key(conn: sa.Connection, table: str, key: list[str], where: str = "TRUE", params: dict | None = None
               ) -> ExpectationResult:
    """No two rows of ``table`` (slice ``where``) share the business key ``key``.

    When PostgreSQL already enforces it — an immediate, non-partial unique index (a
    primary key, say) on exactly these NOT NULL columns — the check says so and only
    counts the rows: grouping a million rows to re-prove a constraint cost ~0.8 s."""
    cols = ", ".join(key)
    index = enforcing_index(conn, table, key)
    if index:
        total = conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {where}"), params or {}).scalar()
        return _result(f"unique_business_key({cols})", True, f"0 rows share a key (enforced by unique index {index})",
                       0, int(total))
    total, dup = conn.execute(sa.text(f"""
        SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE n > 1), 0)
        FROM (SELECT count(*) AS n FROM {table} WHERE {where} GROUP BY {cols}) g"""), params or {}).one()
    return _result(f"unique_business_key({cols})", dup == 0, f"{int(dup)} rows share a key", int(dup), int(total))


def enforcing_index(conn: sa.Connection, table: str, key: list[str]) -> str | None:
    """Name of a unique index that guarantees ``key`` is unique in ``table`` at any point
    of a transaction (immediate, no predicate or expressions, every column NOT NULL, so
    NULLs cannot repeat), else None."""
    rows = conn.execute(sa.text("""
        SELECT i.indexrelid::regclass::text, array_agg(a.attname::text), bool_and(a.attnotnull), i.indnatts
        FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = to_regclass(:t) AND i.indisunique AND i.indimmediate
          AND i.indpred IS NULL AND i.indexprs IS NULL
        GROUP BY i.indexrelid, i.indnatts"""), {"t": table}).all()
    for name, cols, not_null, n_cols in rows:
        if not_null and n_cols == len(cols) and sorted(cols) == sorted(key):
            return name
    return None


def references(conn: sa.Connection, table: str, column: str, parent: str, parent_column: str,
               where: str = "TRUE", params: dict | None = None) -> ExpectationResult:
    """Every non-null ``table.column`` (slice ``where``) exists in ``parent.parent_column``."""
    total, missing, example = conn.execute(sa.text(f"""
        SELECT count(*), count(*) FILTER (WHERE p.{parent_column} IS NULL),
               min(t.{column}) FILTER (WHERE p.{parent_column} IS NULL)
        FROM {table} t LEFT JOIN {parent} p ON p.{parent_column} = t.{column}
        WHERE t.{column} IS NOT NULL AND ({where})"""), params or {}).one()
    observed = f"{int(missing)} unknown, e.g. {example}" if missing else "all known"
    return _result(f"referential_integrity({table}.{column}->{parent}.{parent_column})", missing == 0, observed, int(missing), int(total))


def inside_boundary(conn: sa.Connection, table: str, where: str = "TRUE", params: dict | None = None,
                    city: str | None = None) -> ExpectationResult:
    """Every (lng, lat) of ``table`` (slice ``where``) lies inside the city's polygon."""
    import pandas as pd

    rings, origin = boundary.city_polygons(city)
    df = pd.read_sql(sa.text(f"SELECT lng, lat FROM {table} WHERE {where}"), conn, params=params or {})
    outside = int((~boundary.inside(df["lng"], df["lat"], rings)).sum())
    return _result("coordinates_inside_boundary(lng,lat)", outside == 0,
                   f"{outside} outside the {origin} polygon", outside, len(df))
