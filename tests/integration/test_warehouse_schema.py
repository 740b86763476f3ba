"""Warehouse migrations on real PostgreSQL: layers exist, everything is commented for
analysts, and the migrations go down and up again cleanly."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration
LAYERS = ("raw", "staging", "quarantine", "core", "mart")


def test_every_layer_has_tables(warehouse_url):
    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT table_schema, count(*) FROM information_schema.tables "
                                    "WHERE table_schema = ANY(:s) GROUP BY 1"), {"s": list(LAYERS)}).all()
    assert {schema for schema, n in rows if n > 0} == set(LAYERS)


def test_every_table_and_column_is_commented(warehouse_url):
    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        tables = conn.execute(sa.text("""
            SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r' AND n.nspname = ANY(:s) AND obj_description(c.oid, 'pg_class') IS NULL
        """), {"s": list(LAYERS)}).scalars().all()
        columns = conn.execute(sa.text("""
            SELECT n.nspname || '.' || c.relname || '.' || a.attname
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r' AND n.nspname = ANY(:s) AND a.attnum > 0 AND NOT a.attisdropped
              AND col_description(c.oid, a.attnum) IS NULL
        """), {"s": list(LAYERS)}).scalars().all()
        schemas = conn.execute(sa.text("SELECT nspname FROM pg_namespace WHERE nspname = ANY(:s) "
                                       "AND obj_description(oid, 'pg_namespace') IS NULL"), {"s": list(LAYERS)}).scalars().all()
    assert tables == [] and columns == [] and schemas == []


def test_migrations_go_down_and_up(warehouse_url):
    from lifecircle.warehouse import migrate

    engine = sa.create_engine(warehouse_url)
    migrate.downgrade(warehouse_url, "base")
    with engine.connect() as conn:
        left = conn.execute(sa.text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = ANY(:s)"),
                            {"s": list(LAYERS)}).scalar()
    assert left == 0
    migrate.upgrade(warehouse_url)
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM public.alembic_version")).scalar()
    assert version == "0005"
