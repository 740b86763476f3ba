"""Row counts and content checksums of warehouse tables, to prove re-runs change nothing."""
from __future__ import annotations

import sqlalchemy as sa

MART_TABLES = ("mart.community_category_access", "mart.coverage_indicator",
               "mart.monthly_progress", "mart.dq_results", "mart.missing_category",
               "mart.candidate_site", "mart.circle_typology")


def table_checksum(conn: sa.Connection, table: str) -> tuple[int, str]:
    """(row count, md5 of all rows in a fixed order) — independent of physical order."""
    row = conn.execute(sa.text(
        f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), md5('')) FROM {table} t"
    )).one()
    return int(row[0]), str(row[1])


def checksums(engine: sa.Engine, tables: tuple[str, ...] = MART_TABLES) -> dict[str, tuple[int, str]]:
    with engine.connect() as conn:
        return {t: table_checksum(conn, t) for t in tables}
