"""Alembic migrations, run from code (CLI, DAG tasks and tests share one path).

Each revision applies the SQL files of its number from every layer
(``include/sql/<layer>/<NNNN>_*.sql``), so DDL stays plain SQL next to the transforms."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from lifecircle import settings
from lifecircle.warehouse.engine import run_sql_file

LAYERS = ("raw", "staging", "quarantine", "core", "mart")
MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url or settings.warehouse_url()), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url or settings.warehouse_url()), revision)


def apply_layer_files(conn: sa.Connection, number: str, down: bool = False) -> None:
    """Run ``include/sql/<layer>/<number>_*.sql`` for every layer, in layer order — or,
    with ``down``, the ``<number>_*.down.sql`` files in reverse layer order."""
    for layer in (reversed(LAYERS) if down else LAYERS):
        for path in sorted((settings.sql_dir() / layer).glob(f"{number}_*.sql")):
            if path.name.endswith(".down.sql") == down:
                run_sql_file(conn, f"{layer}/{path.name}")
