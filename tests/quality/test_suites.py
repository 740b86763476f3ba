"""Every GX suite under expectations/: data that passes it, data that must fail it, and
no expectation silently lost (GX logs an expectation it cannot build instead of raising)."""
from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from lifecircle import settings
from lifecircle.quality import gx_runner
from lifecircle.quality.routing import route_rows
from tests.fixtures.tiny_city import uscc

SUITES = sorted(p.stem for p in settings.expectations_dir().glob("*.json"))
U1, U2 = uscc(1), uscc(2)
H = "a" * 64

# Per suite: a frame that passes, and (mutation, the expectation it must break).
GOOD = {
    "mart_missing_category": pd.DataFrame({
        "circle_code": ["TC01", None], "community_code": ["c1", "c3"], "category_code": ["pharmacy"] * 2,
        "required": [True, True], "residents_affected": [10, 0], "demanded_by_survey": [False, True],
        "survey_mentions": [0, 2], "annex5_demand": [None, "缺少药店"], "method": ["network", "approximate"]}),
    "mart_candidate_site": pd.DataFrame({
        "circle_code": ["TC01"] * 2, "category_code": ["pharmacy"] * 2, "rank": [1, 2], "node_id": [12, None],
        "lng": [105.7, 105.71], "lat": [34.58] * 2, "residents_newly_covered": [300, 10],
        "cumulative_residents": [300, 310], "residents_uncovered": [400] * 2, "method": ["network", "approximate"]}),
    "mart_circle_typology": pd.DataFrame({
        "circle_code": ["TC01", "TC02"], "grade_code": ["basic", "ungraded"], "grade_label": ["基础型", "未达标"],
        "grade_rank": [1, 0], "reasons": ["[]", "[]"], "facts": ["{}", "{}"]}),
    "staging_task_progress": pd.DataFrame({
        "upload_id": ["u1", "u1"], "row_no": [1, 2], "task_id": ["A3-01", "A4-12"], "unit": ["市商务局", "市商务局"],
        "status": ["in_progress", "completed"], "progress_pct": [60.0, 100.0], "as_of": [date(2024, 5, 31)] * 2,
        "notes": ["早餐网点已布局", None]}),
    "staging_registration": pd.DataFrame({
        "uscc": [U1, U2], "updated_at": ["2024-01-01T00:00:00+08:00"] * 2, "load_id": ["l"] * 2, "name": ["甲", "乙"],
        "address": ["a", "b"], "industry_code": ["5213"] * 2, "business_scope": [None] * 2,
        "established_date": [date(2020, 1, 1)] * 2, "approved_date": [None] * 2, "status": ["存续", "注销"],
        "is_closed": [False, True], "district_adcode": ["620502"] * 2, "community_code": ["990101001001"] * 2,
        "category_code": ["pharmacy"] * 2, "category_rule": ["industry"] * 2, "brand": ["甲", "乙"],
        "is_known_brand": [False] * 2}),
    "staging_poi": pd.DataFrame({
        "snapshot_date": [date(2024, 5, 31)] * 2, "poi_id": ["B1", "B2"], "load_id": ["l"] * 2, "name": ["甲", "乙"],
        "typecode": ["060200"] * 2, "typecodes": [["060200"]] * 2, "category_code": ["convenience_store"] * 2,
        "lng": [105.7, 105.8], "lat": [34.58, 34.57], "lng_gcj": [105.71, 105.81], "lat_gcj": [34.58, 34.57],
        "address": ["a", "b"], "adcode": ["620502"] * 2, "community_code": ["990101001001"] * 2}),
    "staging_survey_form": pd.DataFrame({
        "upload_id": ["u1", "u2"], "circle_code": ["TC01", "TC02"], "as_of": [date(2024, 5, 31)] * 2,
        "operator_types": [["private"]] * 2, "smart_platform": [True, None], "development_form": ["clustered", None],
        "commercial_centres": [1, 0], "residents_covered_10k": [1.5, 0.3], "facility_area_share_pct": [12.5, 30.0]}),
    "staging_survey_category": pd.DataFrame({
        "upload_id": ["u1", "u1"], "category_code": ["pharmacy", "bookstore"], "outlets": [3, 0],
        "employees_10k": [0.01, 0.0], "chain_outlets": [1, 0], "satisfaction_pct": [80.0, 100.0], "demand_list": ["", None]}),
    "staging_satisfaction_response": pd.DataFrame({
        "upload_id": ["u1"] * 2, "row_no": [1, 2], "circle_code": ["TC01"] * 2, "community_code": [None, "c"],
        "respondent_hash": [H, "b" * 64], "satisfied": [True, False], "score": [5, 2], "missing_categories": [[], ["x"]]}),
    "core_division": pd.DataFrame({"code": ["990100", "990101", "990101001"], "name": ["市", "区", "街道"],
                                   "level": ["city", "district", "street"], "parent_code": ["990000", "990100", "990101"]}),
    "core_community": pd.DataFrame({
        "community_code": ["990101001001", "990101001002"], "name": ["甲", "乙"], "street_code": ["990101001"] * 2,
        "district_code": ["990101"] * 2, "synthetic": [True] * 2, "lng": [105.7, 105.71], "lat": [34.58] * 2,
        "population": [1000, 0], "households": [357, 0]}),
    "core_population_point": pd.DataFrame({"point_id": ["P1", "P2"], "community_code": ["c1", "c2"],
                                           "lng": [105.7, 105.71], "lat": [34.58] * 2, "population": [10, 20]}),
    "core_circle": pd.DataFrame({"circle_code": ["TC01", "TC02"], "name": ["甲", "乙"],
                                 "anchor_community": ["c1", "c2"], "build_year": [2023, None], "batch": [1, 2]}),
    "core_circle_member": pd.DataFrame({"circle_code": ["TC01", "TC01"], "community_code": ["c1", "c2"],
                                        "role": ["anchor", "member"]}),
    "core_category": pd.DataFrame({
        "category_code": ["pharmacy", "bookstore"], "name_zh": ["药店", "书店"], "category_group": ["basic", "quality"],
        "annex5_order": [1, 2], "walk_minutes": [8.0, 15.0], "threshold_m": [640.0, 1200.0],
        "required_for_coverage": [True, False]}),
    "core_target": pd.DataFrame({
        "indicator": ["communities_covered_share", "communities_covered_share"], "level": ["city", "city"],
        "due_date": [date(2023, 12, 31), None], "target_value": [0.3, 0.5], "unit": ["share"] * 2,
        "comparator": [">=", ">="], "source": ["plan"] * 2}),
    "core_task": pd.DataFrame({
        "task_id": ["A3-01", "A4-12"], "annex": [3, 4], "seq": [1, 12], "item": ["x", None], "measure": ["m", "n"],
        "lead_units": [["a"], ["b"]], "co_units": [[], []], "deadline_raw": [None] * 2, "deadline": [None] * 2,
        "ongoing": [True, True]}),
    "core_outlet_history": pd.DataFrame({
        "uscc": [U1, U1], "valid_from": [date(2020, 1, 1), date(2024, 2, 1)], "valid_to": [date(2024, 2, 1), None],
        "name": ["甲"] * 2, "brand": ["甲"] * 2, "is_chain": [False] * 2, "category_code": [None, "pharmacy"],
        "status": ["存续", "注销"], "is_open": [True, False], "community_code": ["c1"] * 2, "address": ["a"] * 2,
        "geocode_level": ["门牌号", "区县"]}),
    "core_outlet_location": pd.DataFrame({
        "snapshot_date": [date(2024, 5, 31)] * 2, "poi_id": ["B1", "B2"], "name": ["甲", "乙"],
        "category_code": ["pharmacy"] * 2, "lng": [105.7, 105.71], "lat": [34.58] * 2, "community_code": ["c1", "c2"]}),
    "core_poi_history": pd.DataFrame({
        "poi_id": ["B1", "B2"], "name": ["甲", "乙"], "category_code": ["pharmacy", None],
        "first_seen": [date(2024, 3, 31)] * 2, "last_seen": [date(2024, 3, 31), date(2024, 5, 31)],
        "closed_on": [date(2024, 4, 30), None], "lng": [105.7, 105.71], "lat": [34.58] * 2}),
    "core_poi_registration_match": pd.DataFrame({
        "snapshot_date": [date(2024, 5, 31)] * 2, "poi_id": ["B1", "B2"], "uscc": [U1, "x"],
        "score": [0.9, 1.0], "name_score": [0.95, 1.0], "distance_m": [None, 12.5], "same_category": [True, False]}),
    "core_circle_survey": pd.DataFrame({
        "period": ["2024-05"] * 2, "circle_code": ["TC01", "TC02"], "upload_id": ["u1", "u2"],
        "as_of": [date(2024, 5, 31)] * 2, "operator_types": [["private"]] * 2, "smart_platform": [True] * 2,
        "development_form": ["clustered", "dispersed"], "commercial_centres": [1, 2], "residents_covered_10k": [1.0] * 2,
        "facility_area_share_pct": [12.5, 40.0], "satisfaction_pct": [75.0, 90.0], "demand_list": [None] * 2}),
    "core_circle_satisfaction": pd.DataFrame({
        "period": ["2024-05"] * 2, "circle_code": ["TC01", "TC02"], "responses": [4, 60], "satisfied": [3, 60],
        "satisfaction_pct": [75.0, 100.0], "sample_ok": [False, True], "repeat_respondents": [0, 2]}),
    "mart_community_category_access": pd.DataFrame({
        "community_code": ["c1", "c1"], "category_code": ["pharmacy", "bookstore"], "population_share_within": [1.0, 0.0],
        "nearest_m": [100.0, 2500.0], "method": ["network", "approximate"]}),
}


def _set(col, value, row=0):
    def mutate(df):
        df = df.copy()
        df[col] = df[col].astype(object)
        df.at[row, col] = value
        return df
    return mutate


def _dup(cols):
    def mutate(df):
        df = df.copy()
        for c in cols:
            df.at[1, c] = df.at[0, c]
        return df
    return mutate


BAD = {
    "mart_missing_category": (_set("residents_affected", -1), "expect_column_values_to_be_between(residents_affected)"),
    "mart_candidate_site": (_set("cumulative_residents", 500),
                            "expect_column_pair_values_a_to_be_greater_than_b(residents_uncovered,cumulative_residents)"),
    "mart_circle_typology": (_dup(["circle_code"]), "expect_column_values_to_be_unique(circle_code)"),
    "staging_task_progress": (_set("progress_pct", 120.0), "expect_column_values_to_be_between(progress_pct)"),
    "staging_registration": (_set("status", "营业"), "expect_column_values_to_be_in_set(status)"),
    "staging_poi": (_set("lat", 80.0), "expect_column_values_to_be_between(lat)"),
    "staging_survey_form": (_set("facility_area_share_pct", 120.0), "expect_column_values_to_be_between(facility_area_share_pct)"),
    "staging_survey_category": (_dup(["category_code"]), "expect_compound_columns_to_be_unique(upload_id,category_code)"),
    "staging_satisfaction_response": (_set("respondent_hash", "13800138000"), "expect_column_values_to_match_regex(respondent_hash)"),
    "core_division": (_set("level", "province"), "expect_column_values_to_be_in_set(level)"),
    "core_community": (_set("community_code", "12345"), "expect_column_values_to_match_regex(community_code)"),
    "core_population_point": (_set("population", -5), "expect_column_values_to_be_between(population)"),
    "core_circle": (_dup(["circle_code"]), "expect_column_values_to_be_unique(circle_code)"),
    "core_circle_member": (_set("role", "leader"), "expect_column_values_to_be_in_set(role)"),
    "core_category": (_set("category_group", "luxury"), "expect_column_values_to_be_in_set(category_group)"),
    "core_target": (_set("comparator", "=="), "expect_column_values_to_be_in_set(comparator)"),
    "core_task": (_set("task_id", "A5-01"), "expect_column_values_to_match_regex(task_id)"),
    "core_outlet_history": (_set("valid_to", date(2019, 1, 1)), "expect_column_pair_values_a_to_be_greater_than_b(valid_to,valid_from)"),
    "core_outlet_location": (_dup(["poi_id"]), "expect_compound_columns_to_be_unique(snapshot_date,poi_id)"),
    "core_poi_history": (_set("closed_on", date(2024, 3, 31)), "expect_column_pair_values_a_to_be_greater_than_b(closed_on,last_seen)"),
    "core_poi_registration_match": (_dup(["uscc"]), "expect_compound_columns_to_be_unique(snapshot_date,uscc)"),
    "core_circle_survey": (_set("satisfaction_pct", 101.0), "expect_column_values_to_be_between(satisfaction_pct)"),
    "core_circle_satisfaction": (_set("satisfied", 5), "expect_column_pair_values_a_to_be_greater_than_b(responses,satisfied)"),
    "mart_community_category_access": (_set("method", "guess"), "expect_column_values_to_be_in_set(method)"),
}


def test_every_suite_has_pass_and_fail_data():
    assert set(GOOD) == set(BAD) == set(SUITES)


@pytest.mark.parametrize("suite", SUITES)
def test_suite_keeps_every_expectation(suite):
    """The JSON's expectation count equals the built GX suite's, and each result comes back."""
    spec = json.loads((settings.expectations_dir() / f"{suite}.json").read_text(encoding="utf-8"))
    assert len(gx_runner.build_suite(spec).expectations) == len(spec["expectations"])
    assert len(gx_runner.validate_dataframe(GOOD[suite], suite)) == len(spec["expectations"])
    assert all(e.get("severity") in ("critical", "warning") for e in spec["expectations"])


def test_build_suite_refuses_a_dropped_expectation():
    spec = {"name": "broken", "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}},
        {"type": "expect_column_values_to_be_nonsense", "kwargs": {"column": "a"}}]}
    with pytest.raises(Exception):
        gx_runner.build_suite(spec)


@pytest.mark.parametrize("suite", SUITES)
def test_suite_passes_good_data(suite):
    failed = [r.expectation for r in gx_runner.validate_dataframe(GOOD[suite], suite) if not r.success]
    assert failed == []


@pytest.mark.parametrize("suite", SUITES)
def test_suite_fails_bad_data(suite):
    mutate, expectation = BAD[suite]
    results = gx_runner.validate_dataframe(mutate(GOOD[suite]), suite)
    failed = {r.expectation: r for r in results if not r.success}
    assert expectation in failed
    assert failed[expectation].severity == "critical"
    with pytest.raises(gx_runner.QualityGateFailed):
        gx_runner.enforce(results)


def test_row_level_failures_are_routed_not_blocking():
    """A bad status on one row: that row goes to quarantine named by the expectation; the
    rest passes the gate. A duplicated key (table-level) still blocks."""
    df = GOOD["staging_registration"].copy()
    df.index = [10, 11]
    df.loc[11, "status"] = "营业"
    results = gx_runner.validate_dataframe(df, "staging_registration")
    kept, failures, routed = route_rows(df, results)
    assert list(kept.index) == [10]
    assert failures.to_dict("records") == [{"row": 11, "expectation": "expect_column_values_to_be_in_set(status)"}]
    gx_runner.enforce(routed)  # does not raise
    dup = _dup(["uscc"])(GOOD["staging_registration"])
    kept, failures, routed = route_rows(dup, gx_runner.validate_dataframe(dup, "staging_registration"))
    assert failures.empty
    with pytest.raises(gx_runner.QualityGateFailed):
        gx_runner.enforce(routed)
