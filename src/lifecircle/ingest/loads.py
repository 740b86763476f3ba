"""Load bookkeeping in raw.load: one row per source and period, with a resume checkpoint.

The load id is ``<source>:<period>``, so re-running a period replaces its own rows, and a
run that failed part-way finds its checkpoint and resumes instead of starting over."""
from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa

from lifecircle.period import Month


@dataclass(frozen=True)
class Load:
    load_id: str
    source: str
    period: Month
    resumed: bool
    checkpoint: dict


def load_id(source: str, period: Month) -> str:
    return f"{source}:{period}"


def begin(conn: sa.Connection, source: str, period: Month, raw_tables: tuple[str, ...]) -> Load:
    """Start (or resume) the load of ``source`` for ``period``.

    A load left ``running``/``failed``/``stopped_by_quota`` is resumed from its checkpoint;
    a finished one is started again from scratch (its raw rows replaced)."""
    lid = load_id(source, period)
    row = conn.execute(sa.text("SELECT status, checkpoint FROM raw.load WHERE load_id = :l"), {"l": lid}).first()
    if row is not None and row.status in ("running", "failed", "stopped_by_quota"):
        conn.execute(sa.text("UPDATE raw.load SET status = 'running' WHERE load_id = :l"), {"l": lid})
        return Load(lid, source, period, True, dict(row.checkpoint or {}))
    for table in raw_tables:
        conn.execute(sa.text(f"DELETE FROM {table} WHERE load_id = :l"), {"l": lid})
    conn.execute(sa.text("""
        INSERT INTO raw.load (load_id, source, period, as_of, status, checkpoint)
        VALUES (:l, :s, :p, :a, 'running', '{}'::jsonb)
        ON CONFLICT (load_id) DO UPDATE SET status = 'running', checkpoint = '{}'::jsonb,
            rows_received = 0, rows_accepted = 0, rows_quarantined = 0, details = '{}'::jsonb
    """), {"l": lid, "s": source, "p": str(period), "a": period.end})
    return Load(lid, source, period, False, {})


def checkpoint(conn: sa.Connection, lid: str, state: dict) -> None:
    conn.execute(sa.text("UPDATE raw.load SET checkpoint = CAST(:c AS jsonb) WHERE load_id = :l"),
                 {"c": json.dumps(state, sort_keys=True), "l": lid})


def set_status(conn: sa.Connection, lid: str, status: str, **counts) -> None:
    details = counts.pop("details", None)
    sets = ", ".join(f"{k} = :{k}" for k in counts)
    params = {"l": lid, "s": status, **counts}
    if details is not None:
        sets = (sets + ", " if sets else "") + "details = details || CAST(:d AS jsonb)"
        params["d"] = json.dumps(details, sort_keys=True, ensure_ascii=False, default=str)
    conn.execute(sa.text(f"UPDATE raw.load SET status = :s{', ' + sets if sets else ''} WHERE load_id = :l"), params)


def get(conn: sa.Connection, lid: str):
    return conn.execute(sa.text("SELECT * FROM raw.load WHERE load_id = :l"), {"l": lid}).mappings().first()
