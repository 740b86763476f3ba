"""Circle typology 基础型 / 提升型 / 品质型 from a rules file (config/typology/default.yaml).

The grading rules are data, not code: MOFCOM's official tables are not available, so the
city points ``typology_rules`` in city.yaml at its own file. Grades are checked from the
highest to the lowest and a circle gets the first grade whose every condition holds; the
conditions that failed for each higher grade are kept, so "why not 提升型" is answerable.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

CONDITIONS = ("require_all_basic", "min_quality_categories", "min_chain_share", "min_satisfaction_pct",
              "require_smart_platform")
TYPOLOGY_COLUMNS = ["circle_code", "grade_code", "grade_label", "grade_rank", "reasons", "facts"]


class RulesError(ValueError):
    """The typology rules file is malformed (the message names the file and the field)."""


@dataclass(frozen=True)
class CircleFacts:
    """What the rules look at for one circle in one month."""
    categories_present: frozenset          # categories with >= 1 outlet in the circle
    chain_share: float | None              # chain outlets / outlets (registry), 0-1
    satisfaction_pct: float | None         # resident satisfaction, %
    responses: int | None                  # its sample size
    smart_platform: bool | None            # annex-5 "smart service platform" (None = no form)


@dataclass(frozen=True)
class Grade:
    code: str
    label: str
    rank: int                              # 0 = ungraded, then 1, 2, ... upwards
    reasons: list = field(default_factory=list)


def validate_rules(rules: dict, source: str = "typology rules") -> dict:
    """Check the structure early, with errors that name the file and the field."""
    grades = rules.get("grades")
    if not isinstance(grades, list) or not grades:
        raise RulesError(f"{source}: 'grades' must be a non-empty list (highest grade first)")
    seen = set()
    for i, g in enumerate(grades):
        where = f"{source}: grades[{i}]"
        if not isinstance(g, dict) or not g.get("code") or not g.get("label"):
            raise RulesError(f"{where}: every grade needs 'code' and 'label'")
        if g["code"] in seen:
            raise RulesError(f"{where}: duplicate grade code {g['code']!r}")
        seen.add(g["code"])
        unknown = set(g) - {"code", "label", *CONDITIONS}
        if unknown:
            raise RulesError(f"{where} ({g['code']}): unknown condition(s) {sorted(unknown)}; known: {list(CONDITIONS)}")
        for key in ("min_quality_categories", "min_chain_share", "min_satisfaction_pct"):
            if key in g and not isinstance(g[key], (int, float)):
                raise RulesError(f"{where} ({g['code']}): {key} must be a number, got {g[key]!r}")
        if "min_chain_share" in g and not 0 <= g["min_chain_share"] <= 1:
            raise RulesError(f"{where} ({g['code']}): min_chain_share is a fraction 0-1, got {g['min_chain_share']}")
    return rules


def _failures(g: dict, facts: CircleFacts, required: set, quality: set, min_responses: int) -> list[dict]:
    out = []

    def fail(condition, required_value, actual):
        out.append({"grade": g["code"], "label": g["label"], "condition": condition, "required": required_value,
                    "actual": actual})

    if g.get("require_all_basic"):
        lacking = sorted(required - facts.categories_present)
        if lacking:
            fail("require_all_basic", True, {"missing": lacking})
    if "min_quality_categories" in g:
        n = len(quality & facts.categories_present)
        if n < g["min_quality_categories"]:
            fail("min_quality_categories", g["min_quality_categories"], n)
    if "min_chain_share" in g:
        if facts.chain_share is None or facts.chain_share < g["min_chain_share"]:
            fail("min_chain_share", g["min_chain_share"], facts.chain_share)
    if "min_satisfaction_pct" in g:
        valid = facts.satisfaction_pct is not None and (facts.responses or 0) >= min_responses
        if not valid:
            fail("min_satisfaction_pct", g["min_satisfaction_pct"],
                 {"satisfaction_pct": facts.satisfaction_pct, "responses": facts.responses,
                  "min_responses": min_responses})
        elif facts.satisfaction_pct < g["min_satisfaction_pct"]:
            fail("min_satisfaction_pct", g["min_satisfaction_pct"], facts.satisfaction_pct)
    if g.get("require_smart_platform") and facts.smart_platform is not True:
        fail("require_smart_platform", True, facts.smart_platform)
    return out


def grade(rules: dict, facts: CircleFacts, categories: pd.DataFrame, min_responses: int) -> Grade:
    """The circle's grade and, for every higher grade, the conditions it failed.

    ``categories``: category_code, category_group, required_for_coverage (the taxonomy);
    rows named in the rules' ``excluded_from_counts`` never count as quality categories."""
    excluded = set(rules.get("excluded_from_counts") or [])
    required = set(categories.loc[categories["required_for_coverage"].astype(bool), "category_code"]) - excluded
    quality = set(categories.loc[categories["category_group"] == "quality", "category_code"]) - excluded
    grades = rules["grades"]
    reasons: list[dict] = []
    for i, g in enumerate(grades):
        failed = _failures(g, facts, required, quality, min_responses)
        if not failed:
            return Grade(g["code"], g["label"], len(grades) - i, reasons)
        reasons += failed
    return Grade("ungraded", rules.get("ungraded_label", "未达标"), 0, reasons)


def circle_facts(circle_codes: list[str], members: pd.DataFrame, located: pd.DataFrame,
                 chain_share: dict, satisfaction: pd.DataFrame, surveys: pd.DataFrame) -> dict[str, CircleFacts]:
    """Facts per circle. ``located``: category_code, community_code (map outlets of the
    snapshot); ``chain_share``: circle -> registry chain share; ``satisfaction``:
    circle_code, responses, satisfied; ``surveys``: circle_code, smart_platform."""
    comm_cats = located.dropna(subset=["community_code", "category_code"]).groupby("community_code")["category_code"] \
        .agg(lambda s: frozenset(s)).to_dict()
    sat = {r.circle_code: (int(r.responses), int(r.satisfied)) for r in satisfaction.itertuples()}
    smart = {r.circle_code: (None if pd.isna(r.smart_platform) else bool(r.smart_platform))
             for r in surveys.itertuples()} if "smart_platform" in surveys else {}
    out = {}
    for code in circle_codes:
        comms = members.loc[members["circle_code"] == code, "community_code"]
        present = frozenset().union(*[comm_cats.get(c, frozenset()) for c in comms])
        responses, satisfied = sat.get(code, (None, None))
        pct = round(100.0 * satisfied / responses, 2) if responses else None
        share = chain_share.get(code)
        out[code] = CircleFacts(present, None if share is None or pd.isna(share) else float(share),
                                pct, responses, smart.get(code))
    return out


def typology_table(rules: dict, facts: dict[str, CircleFacts], categories: pd.DataFrame,
                   min_responses: int) -> pd.DataFrame:
    """One row per circle: grade_code, grade_label, grade_rank, reasons (list of failed
    conditions of the higher grades) and facts (the inputs, for auditing)."""
    rows = []
    for code in sorted(facts):
        f = facts[code]
        g = grade(rules, f, categories, min_responses)
        rows.append({"circle_code": code, "grade_code": g.code, "grade_label": g.label, "grade_rank": g.rank,
                     "reasons": g.reasons,
                     "facts": {"categories_present": sorted(f.categories_present), "chain_share": f.chain_share,
                               "satisfaction_pct": f.satisfaction_pct, "responses": f.responses,
                               "smart_platform": f.smart_platform}})
    return pd.DataFrame(rows, columns=TYPOLOGY_COLUMNS)
