"""Publish the reference data (config/ files and the city's geodata) into core tables.

Every DAG starts by calling :func:`prepare`, so any DAG can run first on a new warehouse
and reference data always matches the files in the repository."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from lifecircle import citydata, refdata
from lifecircle.warehouse import migrate
from lifecircle.warehouse.bulk import copy_rows
from lifecircle.warehouse.engine import get_engine

# Children first: deleting in this order respects the foreign keys.
_TABLES = ("core.circle_member", "core.circle", "core.population_point", "core.community",
           "core.division", "core.category", "core.target", "core.task")


def reference_frames(city: str | None = None) -> dict[str, pd.DataFrame]:
    cfg = refdata.load_city(city)
    cats = refdata.load_categories()
    thresholds = refdata.walk_threshold_m(cats, cfg)
    cats = cats.assign(threshold_m=cats["category_code"].map(thresholds))
    comms = citydata.communities(city)
    known = set(refdata.load_communities(city)["community_code"])
    unknown = sorted(set(comms["community_code"]) - known)
    if unknown:
        raise ValueError(f"city data has communities missing from config/cities/{city or 'tianshui'}"
                         f"/communities.csv: {unknown[:5]} ...")
    return {
        "core.division": refdata.load_divisions(city),
        "core.community": comms,
        "core.population_point": citydata.population_points(city),
        "core.circle": refdata.load_circles(city),
        "core.circle_member": refdata.load_circle_members(city),
        "core.category": cats,
        "core.target": refdata.load_targets(city),
        "core.task": refdata.load_tasks(city),
    }


# Reference results are stored under this period in mart.dq_results (they belong to no month).
DQ_PERIOD = "reference"


def _reference_checks(conn: sa.Connection, city: str | None) -> dict[str, list]:
    """Suite core_<table> for every reference table, plus the table-level checks:
    communities in known streets, points in known communities, both inside the city."""
    from lifecircle.quality import checks, gx_runner

    out = {table: gx_runner.validate_table(conn, table) for table in _TABLES}
    out["core.community"] += [
        checks.references(conn, "core.community", "street_code", "core.division", "code"),
        checks.inside_boundary(conn, "core.community", city=city)]
    out["core.population_point"] += [
        checks.references(conn, "core.population_point", "community_code", "core.community", "community_code"),
        checks.inside_boundary(conn, "core.population_point", city=city)]
    out["core.circle"] += [checks.references(conn, "core.circle", "anchor_community", "core.community", "community_code")]
    return out


def prepare(city: str | None = None) -> dict:
    """Migrate the warehouse to head and refresh core reference tables (idempotent).

    The refreshed tables are validated inside the same transaction (period ``reference``
    in mart.dq_results); a failed critical rolls the refresh back, so every DAG stops
    before building on broken reference data."""
    from lifecircle.quality import gate

    migrate.upgrade()
    frames = reference_frames(city)
    engine = get_engine()
    counts = {}
    with engine.begin() as conn:
        for table in _TABLES:
            conn.execute(sa.text(f"DELETE FROM {table}"))
        for table in reversed(_TABLES):
            columns = _columns(conn, table)
            df = frames[table]
            counts[table] = copy_rows(conn, table, df, [c for c in columns if c in df.columns])
        for table, results in _reference_checks(conn, city).items():
            gate.gate(DQ_PERIOD, "reference", table, results)
    return counts


def _columns(conn: sa.Connection, table: str) -> list[str]:
    schema, name = table.split(".")
    return list(conn.execute(sa.text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema=:s AND table_name=:t "
        "ORDER BY ordinal_position"), {"s": schema, "t": name}).scalars())
