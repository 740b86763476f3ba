"""Typology 基础型/提升型/品质型 with the documented default rules (config/typology/default.yaml):
every grade boundary on both sides, the reasons kept for the grades not reached, and
malformed rules refused with the field named."""
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml

from lifecircle.coverage.typology import CircleFacts, RulesError, circle_facts, grade, typology_table, validate_rules

RULES = validate_rules(yaml.safe_load((Path(__file__).resolve().parents[2] / "config/typology/default.yaml")
                                      .read_text(encoding="utf-8")))
QUALITY = [f"q{i}" for i in range(1, 8)]
CATEGORIES = pd.DataFrame({
    "category_code": ["a", "b", "basic_other", *QUALITY, "quality_other"],
    "category_group": ["basic"] * 3 + ["quality"] * 8,
    "required_for_coverage": [True, True, False] + [False] * 8,
})
# quality (品质型) exactly at every boundary: all basic, 6 quality categories, chain 0.3,
# satisfaction 90 % from 50 responses, smart platform
TOP = CircleFacts(frozenset({"a", "b", *QUALITY[:6]}), 0.3, 90.0, 50, True)


def g(facts):
    return grade(RULES, facts, CATEGORIES, min_responses=50)


def test_quality_at_the_boundary():
    r = g(TOP)
    assert (r.code, r.label, r.rank, r.reasons) == ("quality", "品质型", 3, [])


@pytest.mark.parametrize("change, failed", [
    ({"satisfaction_pct": 89.99}, "min_satisfaction_pct"),
    ({"responses": 49}, "min_satisfaction_pct"),                      # sample too small: not valid
    ({"satisfaction_pct": None, "responses": None}, "min_satisfaction_pct"),
    ({"chain_share": 0.2999}, "min_chain_share"),
    ({"smart_platform": False}, "require_smart_platform"),
    ({"smart_platform": None}, "require_smart_platform"),            # no annex-5 form
    ({"categories_present": frozenset({"a", "b", *QUALITY[:5]})}, "min_quality_categories"),
    # the "other" row does not count as a sixth quality category
    ({"categories_present": frozenset({"a", "b", *QUALITY[:5], "quality_other"})}, "min_quality_categories"),
])
def test_just_below_quality_is_improved(change, failed):
    r = g(replace(TOP, **change))
    assert (r.code, r.label, r.rank) == ("improved", "提升型", 2)
    assert [x["condition"] for x in r.reasons] == [failed] and {x["grade"] for x in r.reasons} == {"quality"}


def test_improved_at_its_boundary():
    r = g(CircleFacts(frozenset({"a", "b", *QUALITY[:3]}), 0.2, None, None, None))
    assert (r.code, r.rank) == ("improved", 2)
    assert {x["condition"] for x in r.reasons} == {"min_quality_categories", "min_chain_share",
                                                   "min_satisfaction_pct", "require_smart_platform"}


@pytest.mark.parametrize("facts", [
    CircleFacts(frozenset({"a", "b", *QUALITY[:2]}), 0.5, None, None, None),   # 2 quality categories
    CircleFacts(frozenset({"a", "b", *QUALITY[:3]}), 0.1999, None, None, None),  # chain share short
    CircleFacts(frozenset({"a", "b", *QUALITY[:3]}), None, None, None, None),    # no registered outlets
    CircleFacts(frozenset({"a", "b"}), None, None, None, None),                  # basic only
])
def test_basic(facts):
    r = g(facts)
    assert (r.code, r.label, r.rank) == ("basic", "基础型", 1)
    assert {x["grade"] for x in r.reasons} == {"quality", "improved"}


def test_missing_basic_category_is_ungraded_and_says_which():
    r = g(replace(TOP, categories_present=frozenset({"a", *QUALITY})))
    assert (r.code, r.label, r.rank) == ("ungraded", "未达标", 0)
    basic = [x for x in r.reasons if x["grade"] == "basic"]
    assert basic == [{"grade": "basic", "label": "基础型", "condition": "require_all_basic", "required": True,
                      "actual": {"missing": ["b"]}}]
    # basic_other (required_for_coverage=false, excluded) is never demanded
    assert "basic_other" not in str(r.reasons)


def test_rules_are_data_a_city_file_changes_the_grade():
    rules = {"grades": [{"code": "quality", "label": "品质型", "min_quality_categories": 1},
                        {"code": "basic", "label": "基础型"}], "ungraded_label": "未分型"}
    r = grade(validate_rules(rules), CircleFacts(frozenset({"q1"}), None, None, None, None), CATEGORIES, 50)
    assert (r.code, r.rank) == ("quality", 2)


@pytest.mark.parametrize("rules, message", [
    ({}, "'grades' must be a non-empty list"),
    ({"grades": [{"code": "x"}]}, "grades[0]: every grade needs 'code' and 'label'"),
    ({"grades": [{"code": "x", "label": "X", "min_chain": 0.3}]}, "unknown condition(s) ['min_chain']"),
    ({"grades": [{"code": "x", "label": "X", "min_chain_share": 30}]}, "min_chain_share is a fraction 0-1"),
    ({"grades": [{"code": "x", "label": "X"}, {"code": "x", "label": "Y"}]}, "duplicate grade code 'x'"),
])
def test_malformed_rules_are_refused(rules, message):
    with pytest.raises(RulesError, match=None) as err:
        validate_rules(rules, "cities/x/typology.yaml")
    assert message in str(err.value) and "cities/x/typology.yaml" in str(err.value)


def test_circle_facts_and_table():
    members = pd.DataFrame({"circle_code": ["Q1", "Q1", "Q2"], "community_code": ["K1", "K2", "K3"]})
    located = pd.DataFrame({"category_code": ["a", "b", "q1", "a", None], "community_code": ["K1", "K2", "K2", "K3", "K3"]})
    sat = pd.DataFrame({"circle_code": ["Q1"], "responses": [60], "satisfied": [57]})
    surveys = pd.DataFrame({"circle_code": ["Q1"], "smart_platform": [True]})
    facts = circle_facts(["Q1", "Q2"], members, located, {"Q1": 0.25, "Q2": None}, sat, surveys)
    assert facts["Q1"] == CircleFacts(frozenset({"a", "b", "q1"}), 0.25, 95.0, 60, True)
    assert facts["Q2"] == CircleFacts(frozenset({"a"}), None, None, None, None)
    table = typology_table(RULES, facts, CATEGORIES, 50)
    assert table[["circle_code", "grade_code", "grade_label", "grade_rank"]].values.tolist() == [
        ["Q1", "basic", "基础型", 1], ["Q2", "ungraded", "未达标", 0]]
    assert table.loc[0, "facts"]["categories_present"] == ["a", "b", "q1"]
