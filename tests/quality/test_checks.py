"""Table-level checks, the gate and row routing on real PostgreSQL (tiny city)."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from lifecircle.quality import checks, gate, gx_runner

pytestmark = pytest.mark.integration
PERIOD = "2030-01"  # a month no other test module writes


@pytest.fixture(scope="module")
def engine(warehouse_url, tiny_city):
    from lifecircle.warehouse.reference import prepare

    prepare()
    engine = sa.create_engine(warehouse_url)
    yield engine
    # The session database is shared: leave no rows another module's loads could collide with.
    lid = {"l": f"registrations:{PERIOD}", "p": PERIOD}
    with engine.begin() as conn:
        for table in ("staging.registration", "quarantine.registration", "raw.registration"):
            conn.execute(sa.text(f"DELETE FROM {table} WHERE load_id = :l"), lid)
        conn.execute(sa.text("DELETE FROM raw.load WHERE period = :p"), lid)
        conn.execute(sa.text("DELETE FROM mart.dq_results WHERE period = :p"), lid)
    engine.dispose()


def test_reference_tables_are_validated_in_prepare(engine):
    dq = pd.read_sql("SELECT * FROM mart.dq_results WHERE period = 'reference'", engine)
    assert {"core.community", "core.population_point", "core.division", "core.circle", "core.circle_member",
            "core.category", "core.target", "core.task"} <= set(dq["table_name"])
    assert dq["success"].all(), dq.loc[~dq["success"], ["table_name", "expectation", "observed_value"]]
    assert "coordinates_inside_boundary(lng,lat)" in set(dq.loc[dq["table_name"] == "core.population_point", "expectation"])


def test_freshness_needs_the_periods_validated_load(engine):
    with engine.begin() as conn:
        assert not checks.freshness(conn, "pois", PERIOD).success
        conn.execute(sa.text("INSERT INTO raw.load (load_id, source, period, as_of, status) "
                             "VALUES ('pois:2030-01', 'pois', :p, '2030-01-31', 'running')"), {"p": PERIOD})
        assert not checks.freshness(conn, "pois", PERIOD).success
        conn.execute(sa.text("UPDATE raw.load SET status = 'validated' WHERE load_id = 'pois:2030-01'"))
        assert checks.freshness(conn, "pois", PERIOD).success
        conn.rollback()


def test_row_count_change_limit():
    assert checks.row_count_change("t", 100, None, 30).success
    assert checks.row_count_change("t", 129, 100, 30).success
    bad = checks.row_count_change("t", 60, 100, 30)
    assert not bad.success and "-40.0%" in bad.observed_value
    assert checks.config()["row_count_max_change_pct"] == 30.0  # default when city.yaml has no quality block


def test_unique_key_references_and_boundary(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE t (k text, community_code text, lng float8, lat float8)"))
        conn.execute(sa.text("INSERT INTO t VALUES ('a', '990101001001', 105.70, 34.58), "
                             "('a', 'nowhere', 105.70, 34.58), ('b', NULL, 120.0, 30.0)"))
        uniq = checks.unique_key(conn, "t", ["k"])
        assert not uniq.success and uniq.unexpected_count == 2
        ref = checks.references(conn, "t", "community_code", "core.community", "community_code")
        assert not ref.success and ref.unexpected_count == 1 and "nowhere" in ref.observed_value
        inside = checks.inside_boundary(conn, "t")
        assert not inside.success and inside.unexpected_count == 1 and "bbox" in inside.observed_value
        conn.execute(sa.text("DELETE FROM t WHERE k = 'b' OR community_code = 'nowhere'"))
        assert checks.unique_key(conn, "t", ["k"]).success
        assert checks.references(conn, "t", "community_code", "core.community", "community_code").success
        assert checks.inside_boundary(conn, "t").success
        conn.rollback()


def test_unique_key_enforced_by_an_index_is_not_grouped_again(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE pk (a text, b int, c text, PRIMARY KEY (b, a))"))
        conn.execute(sa.text("CREATE TEMP TABLE nullable (a text, UNIQUE (a))"))
        conn.execute(sa.text("CREATE TEMP TABLE partial (a text NOT NULL)"))
        conn.execute(sa.text("CREATE UNIQUE INDEX ON partial (a) WHERE a <> 'x'"))
        conn.execute(sa.text("CREATE TEMP TABLE deferred (a text NOT NULL, UNIQUE (a) DEFERRABLE INITIALLY DEFERRED)"))
        conn.execute(sa.text("INSERT INTO pk VALUES ('x', 1, 'c'), ('y', 1, 'c'), ('x', 2, 'c')"))
        assert checks.enforcing_index(conn, "pk", ["a", "b"]) == "pk_pkey"
        assert checks.enforcing_index(conn, "pk", ["a"]) is None
        assert checks.enforcing_index(conn, "pk", ["a", "b", "c"]) is None
        for table in ("nullable", "partial", "deferred"):
            assert checks.enforcing_index(conn, table, ["a"]) is None, table
        res = checks.unique_key(conn, "pk", ["a", "b"], "b = :b", {"b": 1})
        assert res.success and res.element_count == 2 and "pk_pkey" in res.observed_value
        conn.execute(sa.text("INSERT INTO nullable VALUES (NULL), (NULL)"))
        conn.execute(sa.text("INSERT INTO deferred VALUES ('d'), ('d')"))  # checked only at commit
        assert not checks.unique_key(conn, "nullable", ["a"]).success
        assert not checks.unique_key(conn, "deferred", ["a"]).success
        conn.rollback()


def test_blocked_publish_rolls_back_but_keeps_the_results(engine):
    """validate_table inside the publishing transaction sees the new rows; a failed
    critical raises, the publish is rolled back, and mart.dq_results says why."""
    with pytest.raises(gx_runner.QualityGateFailed):
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO core.outlet_location VALUES "
                                 "('2030-01-31', 'X1', '甲', 'pharmacy', 105.70, 34.58, '990101001001'), "
                                 "('2030-01-31', 'X2', '乙', 'pharmacy', 150.00, 34.58, 'nowhere')"))
            snap = {"d": "2030-01-31"}
            results = gx_runner.validate_table(conn, "core.outlet_location", where="snapshot_date = :d", params=snap)
            results += [checks.references(conn, "core.outlet_location", "community_code", "core.community",
                                          "community_code", "snapshot_date = :d", snap),
                        checks.inside_boundary(conn, "core.outlet_location", "snapshot_date = :d", snap)]
            gate.gate(PERIOD, "pois", "core.outlet_location", results)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM core.outlet_location WHERE snapshot_date = '2030-01-31'")).scalar() == 0
        blocked = dict(conn.execute(sa.text("SELECT expectation, action FROM mart.dq_results WHERE period = :p "
                                            "AND table_name = 'core.outlet_location' AND NOT success"), {"p": PERIOD}).all())
    assert blocked == {"expect_column_values_to_be_between(lng)": "blocked",
                       "referential_integrity(core.outlet_location.community_code->core.community.community_code)": "blocked",
                       "coordinates_inside_boundary(lng,lat)": "blocked"}


def test_failing_rows_are_quarantined_with_the_expectation(engine, tiny_city, monkeypatch):
    """A record that passes the Python row rules but breaks a critical row-level GX
    expectation goes to quarantine.registration named by it; the rest reaches staging."""
    from lifecircle.ingest import loads, registrations
    from lifecircle.ingest.registration_rules import RAW_FIELDS
    from lifecircle.period import Month
    from lifecircle.warehouse.bulk import copy_rows

    lines = (tiny_city["citydata"] / "registry/registrations.jsonl").read_text(encoding="utf-8").splitlines()
    raw = pd.DataFrame([json.loads(x) for x in lines], columns=list(RAW_FIELDS)).astype("object")
    raw.insert(0, "row_no", range(len(raw)))
    raw.insert(0, "page_no", 1)
    raw.insert(0, "load_id", f"registrations:{PERIOD}")
    with engine.begin() as conn:
        loads.begin(conn, "registrations", Month.parse(PERIOD), ("raw.registration",))
        copy_rows(conn, "raw.registration", raw)
    real = registrations.transform

    def spoiled(df, *a, **k):  # the first valid record gets a status outside the registry vocabulary
        valid, quarantined = real(df, *a, **k)
        valid.loc[valid.index[0], "status"] = "营业中"
        return valid, quarantined

    monkeypatch.setattr(registrations, "transform", spoiled)
    out = registrations.validate(PERIOD)
    with engine.connect() as conn:
        q = pd.read_sql(sa.text("SELECT * FROM quarantine.registration WHERE load_id = :l"), conn,
                        params={"l": f"registrations:{PERIOD}"})
        staged = conn.execute(sa.text("SELECT count(*) FROM staging.registration WHERE load_id = :l"),
                              {"l": f"registrations:{PERIOD}"}).scalar()
        action = conn.execute(sa.text("SELECT action FROM mart.dq_results WHERE period = :p AND table_name = "
                                      "'staging.registration' AND expectation = 'expect_column_values_to_be_in_set(status)'"),
                              {"p": PERIOD}).scalar()
    routed = q[q["expectation"].notna()]
    assert routed["expectation"].tolist() == ["expect_column_values_to_be_in_set(status)"]
    assert routed["reason_code"].tolist() == ["dq_column_values_to_be_in_set"]
    assert routed["record"].iloc[0]["status"] == "存续"  # the record as received
    assert set(q.loc[q["expectation"].isna(), "reason_code"]) == {"uscc_check_digit"}
    assert staged == out["accepted"] == len(raw) - 2
    assert action == "quarantined"


def test_summary_and_data_docs(engine, tmp_path):
    from jinja2 import Environment, FileSystemLoader

    from lifecircle import settings
    from lifecircle.quality import docs
    from lifecircle.quality.summary import dq_summary

    with engine.connect() as conn:
        dq = dq_summary(conn, PERIOD)
    assert {"checks", "failed", "quarantine", "loads"} <= set(dq)
    assert any(q["expectation"] == "expect_column_values_to_be_in_set(status)" and q["count"] == 1
               for q in dq["quarantine"])
    assert any(c["action"] == "blocked" for c in dq["failed"])
    env = Environment(loader=FileSystemLoader(settings.repo_root() / "src/lifecircle/report/templates"), autoescape=True)
    html = env.get_template("_dq_section.html.j2").render(dq=dq)
    assert "数据质量" in html and "阻断发布" in html and "不合格记录已隔离" in html
    page = docs.build(tmp_path / "data_docs", engine).read_text(encoding="utf-8")
    assert PERIOD in page and "reference" in page and "http" not in page.split("</head>")[0]
