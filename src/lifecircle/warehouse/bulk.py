"""Bulk writes with PostgreSQL COPY (never row-by-row inserts)."""
from __future__ import annotations

import csv
import io
import json
import math

import pandas as pd
import sqlalchemy as sa


def _cell(value) -> str:
    """One CSV field for COPY: NULL as \\N, arrays as PostgreSQL array literals."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return r"\N"
    if isinstance(value, (list, tuple)):
        return "{" + ",".join("NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
                              for v in value) + "}"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def copy_rows(conn: sa.Connection, table: str, df: pd.DataFrame, columns: list[str] | None = None) -> int:
    """COPY ``df`` (its ``columns``) into ``table``; returns the row count."""
    columns = columns or list(df.columns)
    if df.empty:
        return 0
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in df[columns].itertuples(index=False, name=None):
        writer.writerow([_cell(v) for v in row])
    buf.seek(0)
    cols = ", ".join(f'"{c}"' for c in columns)
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buf)
    return len(df)


def replace_rows(conn: sa.Connection, table: str, df: pd.DataFrame, where: str, params: dict,
                 columns: list[str] | None = None) -> int:
    """Delete the slice ``where`` of ``table`` and COPY ``df`` in its place — the
    idempotent write every task uses (a re-run replaces its own slice)."""
    conn.execute(sa.text(f"DELETE FROM {table} WHERE {where}"), params)
    return copy_rows(conn, table, df, columns)


def upsert_rows(conn: sa.Connection, table: str, df: pd.DataFrame, keys: list[str],
                columns: list[str] | None = None) -> int:
    """COPY ``df`` into a temporary table, then insert-or-update ``table`` on ``keys``.

    For records that more than one load can bring (overlapping windows, a back-filled
    month loaded after later ones): the latest load's copy wins instead of a key clash."""
    columns = columns or list(df.columns)
    if df.empty:
        return 0
    temp = f"tmp_upsert_{table.replace('.', '_')}"
    conn.execute(sa.text(f"CREATE TEMP TABLE {temp} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP"))
    copy_rows(conn, temp, df, columns)
    cols = ", ".join(f'"{c}"' for c in columns)
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns if c not in keys)
    conn.execute(sa.text(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {temp} "
                         f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"))
    conn.execute(sa.text(f"DROP TABLE {temp}"))
    return len(df)
