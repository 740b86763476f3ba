"""One engine per warehouse URL; SQL files from include/sql/<layer>/."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa

from lifecircle import settings


@lru_cache(maxsize=8)
def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, pool_pre_ping=True, future=True)


def get_engine(url: str | None = None) -> sa.Engine:
    return _engine(url or settings.warehouse_url())


def read_frame(conn: sa.Connection, sql: str, **params) -> "pd.DataFrame":
    """A query's rows as a DataFrame, with bound ``:name`` parameters."""
    import pandas as pd

    return pd.read_sql(sa.text(sql), conn, params=params)


def read_sql_text(relpath: str) -> str:
    """Text of ``include/sql/<relpath>`` (e.g. ``core/publish_outlets.sql``)."""
    path = settings.sql_dir() / relpath
    if not path.exists():
        raise FileNotFoundError(f"SQL file not found: {path}")
    return path.read_text(encoding="utf-8")


def run_sql_file(conn: sa.Connection, relpath: str | Path, **params) -> None:
    """Run every statement of a SQL file with bound parameters (``:name``).

    Statements are split on lines that end with ``;`` — our SQL files keep one statement
    per block for that reason (no procedural bodies)."""
    text = read_sql_text(str(relpath))
    for stmt in split_statements(text):
        used = {k: v for k, v in params.items() if f":{k}" in stmt}
        conn.execute(sa.text(stmt), used)


def split_statements(text: str) -> list[str]:
    statements, current = [], []
    for line in text.splitlines():
        if (line.strip().startswith("--") or not line.strip()) and not any(c.strip() for c in current):
            current = []
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            stmt = "\n".join(current).strip().rstrip(";").strip()
            if stmt:
                statements.append(stmt)
            current = []
    tail = "\n".join(line for line in current if not line.strip().startswith("--")).strip()
    if tail:
        statements.append(tail)
    return statements
