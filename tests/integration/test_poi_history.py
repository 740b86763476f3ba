"""core.poi_history from three dated harvests: a POI missing from a later harvest is closed
on that harvest's date (never deleted), one that reappears is open again, and the rebuild
is the same whatever order the months are published in."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration
D1, D2, D3 = date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31)
# poi -> snapshots it appears in
PRESENT = {"A": (D1, D2, D3), "B": (D1,), "C": (D1, D3), "D": (D2, D3), "E": (D1, D2)}


def _stage(conn, snapshots):
    for poi, dates in PRESENT.items():
        for d in dates:
            if d in snapshots:
                conn.execute(sa.text("""INSERT INTO staging.poi (snapshot_date, poi_id, load_id, name, typecode,
                    typecodes, category_code, lng, lat, lng_gcj, lat_gcj) VALUES (:d, :p, 'test', :n, '060200',
                    ARRAY['060200'], 'convenience_store', :x, 34.58, :x, 34.58)"""),
                             {"d": d, "p": poi, "n": f"{poi} 店 {d:%m}", "x": 105.7 + d.month / 1000})


def _history(conn):
    from lifecircle.warehouse.engine import run_sql_file

    run_sql_file(conn, "core/publish_poi_history.sql")
    return {r.poi_id: r for r in conn.execute(sa.text("SELECT * FROM core.poi_history ORDER BY poi_id"))}


def test_three_snapshots(warehouse_url):
    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            conn.execute(sa.text("DELETE FROM staging.poi"))
            _stage(conn, {D1})
            first = _history(conn)
            assert set(first) == {"A", "B", "C", "E"} and all(r.closed_on is None for r in first.values())
            _stage(conn, {D2})
            h = _history(conn)
            assert h["B"].closed_on == D2 and h["C"].closed_on == D2 and h["D"].first_seen == D2
            _stage(conn, {D3})
            h = _history(conn)
            assert (h["A"].first_seen, h["A"].last_seen, h["A"].closed_on) == (D1, D3, None)
            assert (h["B"].last_seen, h["B"].closed_on) == (D1, D2)       # gone, kept
            assert (h["C"].last_seen, h["C"].closed_on) == (D3, None)                   # reopened
            assert (h["D"].first_seen, h["D"].closed_on) == (D2, None)
            assert (h["E"].last_seen, h["E"].closed_on) == (D2, D3)
            assert h["A"].name == "A 店 05" and h["A"].lng == pytest.approx(105.705)
            assert _history(conn) == h                                     # idempotent
            # back-fill order does not matter: stage May, then March, then April
            conn.execute(sa.text("DELETE FROM staging.poi"))
            for d in (D3, D1, D2):
                _stage(conn, {d})
                _history(conn)
            assert _history(conn) == h
        finally:
            tx.rollback()
