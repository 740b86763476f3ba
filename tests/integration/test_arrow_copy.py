"""COPY between Arrow/pandas and real PostgreSQL: the binary path stores exactly what the
CSV path stores, falls back to CSV where a column has no safe cast, and sorts on request."""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import psycopg2
import pyarrow as pa
import pytest
import sqlalchemy as sa

from lifecircle.warehouse import arrow_copy

pytestmark = pytest.mark.integration

DDL = """
CREATE TEMP TABLE t_copy (
    code text NOT NULL, n integer, big bigint, flag boolean, x double precision, day date,
    at timestamptz, local_at timestamp, doc jsonb, PRIMARY KEY (code)
) ON COMMIT DROP"""
COLS = "code, n, big, flag, x, day, at, local_at, doc"


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "code": ["b", "a", "c", "d"],
        "n": [1, None, 3, 2**31 - 1],
        "big": [2**20, 0, -1, None],
        "flag": [True, False, None, True],
        "x": [1.5, None, -0.25, 1e300],
        "day": [dt.date(2024, 5, 31), None, dt.date(1999, 1, 1), dt.date(2024, 2, 29)],
        "at": pd.to_datetime(["2024-05-31T23:59:59.123456+08:00", None, "2000-01-01T00:00:00Z",
                              "2024-03-10T02:30:00-05:00"], utc=True, format="ISO8601"),
        "local_at": pd.to_datetime(["2024-05-31 12:00:00", None, "1970-01-01 00:00:00", "2038-01-19 03:14:08"]),
        "doc": [json.dumps({"名称": "王记包子铺", "n": 1}, ensure_ascii=False), "[]", None, '"text"'],
    })


def _copy_and_read(engine, data, *, force_csv: bool = False, order_by=None):
    with engine.begin() as conn:
        conn.execute(sa.text(DDL))
        if force_csv:  # as on a platform without the encoder's wheel
            original, arrow_copy.pgpq = arrow_copy.pgpq, None
        try:
            n = arrow_copy.copy_arrow(conn, "t_copy", data, order_by=order_by)
        finally:
            if force_csv:
                arrow_copy.pgpq = original
        rows = conn.execute(sa.text(f"SELECT {COLS} FROM t_copy ORDER BY ctid")).all()
    return n, rows


def test_binary_copy_stores_what_csv_copy_stores(warehouse_url):
    engine = sa.create_engine(warehouse_url)
    frame = _frame()
    with engine.begin() as conn:
        conn.execute(sa.text(DDL))
        assert arrow_copy.binary_copy_table(conn, "t_copy", arrow_copy._as_arrow(frame, None)) is not None
    n_bin, binary = _copy_and_read(engine, frame)
    n_csv, csv = _copy_and_read(engine, frame, force_csv=True)
    assert n_bin == n_csv == 4
    assert binary == csv
    first = binary[0]
    assert first.at == dt.datetime(2024, 5, 31, 15, 59, 59, 123456, tzinfo=dt.timezone.utc)
    assert first.doc == {"名称": "王记包子铺", "n": 1}
    assert binary[1].n is None and binary[1].day is None and binary[2].flag is None


def test_empty_string_and_null_stay_apart(warehouse_url):
    engine = sa.create_engine(warehouse_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE t_text (code text, other varchar(3)) ON COMMIT DROP"))
        arrow_copy.copy_arrow(conn, "t_text", pa.table({"code": ["", None], "other": ["x", ""]}))
        rows = conn.execute(sa.text("SELECT code, other FROM t_text ORDER BY ctid")).all()
    assert rows == [("", "x"), (None, "")]


def test_varchar_length_is_still_enforced(warehouse_url):
    engine = sa.create_engine(warehouse_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE t_len (v varchar(3)) ON COMMIT DROP"))
        assert arrow_copy.binary_copy_table(conn, "t_len", pa.table({"v": ["abc"]})) is not None
        with pytest.raises(psycopg2.DataError, match="too long"):
            arrow_copy.copy_arrow(conn, "t_len", pa.table({"v": ["abcd"]}))


def test_text_where_a_date_is_declared_goes_the_csv_way(warehouse_url):
    """No cast is guessed: PostgreSQL parses the text (and would name a bad value)."""
    engine = sa.create_engine(warehouse_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE t_day (day date, n integer) ON COMMIT DROP"))
        arrow = pa.table({"day": ["2024-05-31"], "n": pa.array([7], pa.int64())})
        assert arrow_copy.binary_copy_table(conn, "t_day", arrow) is None
        arrow_copy.copy_arrow(conn, "t_day", arrow)
        assert conn.execute(sa.text("SELECT day, n FROM t_day")).one() == (dt.date(2024, 5, 31), 7)
        with pytest.raises(psycopg2.DataError, match="date"):
            with conn.begin_nested():
                arrow_copy.copy_arrow(conn, "t_day", pa.table({"day": ["2024-13-45"]}))


def test_overflowing_integer_is_refused_by_postgresql_not_wrapped(warehouse_url):
    engine = sa.create_engine(warehouse_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE t_int (n integer) ON COMMIT DROP"))
        arrow = pa.table({"n": pa.array([2**40], pa.int64())})
        assert arrow_copy.binary_copy_table(conn, "t_int", arrow) is None
        with pytest.raises(psycopg2.DataError, match="out of range"):
            arrow_copy.copy_arrow(conn, "t_int", arrow)


def test_order_by_sorts_before_the_copy(warehouse_url):
    engine = sa.create_engine(warehouse_url)
    _, rows = _copy_and_read(engine, _frame(), order_by=["code"])
    assert [r.code for r in rows] == ["a", "b", "c", "d"]


def test_many_batches_arrive_whole_and_in_order(warehouse_url, monkeypatch):
    monkeypatch.setattr(arrow_copy, "COPY_BATCH_ROWS", 7)
    engine = sa.create_engine(warehouse_url)
    n = 100
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE t_many (i integer PRIMARY KEY, s text) ON COMMIT DROP"))
        backwards = list(range(n))[::-1]
        arrow_copy.copy_arrow(conn, "t_many", pa.table({"i": pa.array(backwards, pa.int32()),
                                                        "s": [f"行{i}" for i in backwards]}), order_by=["i"])
        got = conn.execute(sa.text("SELECT count(*), sum(i), min(s), max(s) FROM t_many")).one()
        stored = conn.execute(sa.text("SELECT i, s FROM t_many ORDER BY ctid")).all()
    assert tuple(got) == (n, sum(range(n)), "行0", "行99")
    assert stored == [(i, f"行{i}") for i in range(n)]  # sorted a batch at a time, rows kept whole
