"""Loaders for the versioned reference data under ``config/``.

Every CSV is read with ``dtype=str`` so codes keep their leading zeros; booleans,
integers, dates and ``;``-joined lists are then converted column by column. The
functions are pure (no caching, no side effects) and never import Airflow.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from lifecircle import settings

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


# ------------------------------------------------------------------ helpers
def config_dir() -> Path:
    """The repository's ``config/`` folder (``LIFECIRCLE_CONFIG_DIR`` overrides)."""
    env = os.environ.get("LIFECIRCLE_CONFIG_DIR")
    return Path(env) if env else settings.repo_root() / "config"


def _city(city: str | None) -> str:
    return city or settings.city()


def _city_dir(city: str | None) -> Path:
    return config_dir() / "cities" / _city(city)


def parse_bool(value: Any) -> bool:
    """``true``/``false`` (and 1/0, yes/no) to bool; anything else is an error."""
    if isinstance(value, bool):
        return value
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    text = text.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def split_list(value: Any, sep: str = ";") -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [p.strip() for p in str(value).split(sep) if p.strip()]


def _read_csv(path: Path, *, bools=(), ints=(), floats=(), dates=(), lists=()) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    df.columns = [c.strip() for c in df.columns]
    for col in df.columns:
        df[col] = df[col].str.strip()
    for col in bools:
        df[col] = df[col].map(parse_bool).astype(bool)
    for col in ints:
        df[col] = df[col].astype(int)
    for col in floats:
        df[col] = df[col].astype(float)
    for col in dates:
        df[col] = [pd.Timestamp(v).date() if v else None for v in df[col]]
    for col in lists:
        df[col] = df[col].map(split_list)
    return df


def _read_yaml(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


# ------------------------------------------------------------------ taxonomy
def load_categories() -> pd.DataFrame:
    return _read_csv(config_dir() / "taxonomy" / "categories.csv",
                     bools=("required_for_coverage", "in_annex5"),
                     ints=("annex5_order", "walk_minutes"))


# ------------------------------------------------------------------ city
def load_city(city: str | None = None) -> dict:
    """``cities/<city>/city.yaml`` as a dict (``city`` defaults to ``LIFECIRCLE_CITY`` / tianshui)."""
    return _read_yaml(_city_dir(city) / "city.yaml")


def typology_path(city_cfg: dict) -> Path:
    """Resolve ``typology_rules`` from city.yaml (written as ``config/...``) against config_dir()."""
    raw = Path(city_cfg.get("typology_rules", "config/typology/default.yaml"))
    if raw.is_absolute():
        return raw
    parts = raw.parts[1:] if raw.parts and raw.parts[0] == "config" else raw.parts
    return config_dir().joinpath(*parts)


def load_typology(city_cfg: dict) -> dict:
    return _read_yaml(typology_path(city_cfg))


def load_divisions(city: str | None = None) -> pd.DataFrame:
    return _read_csv(_city_dir(city) / "divisions.csv")


def load_communities(city: str | None = None) -> pd.DataFrame:
    return _read_csv(_city_dir(city) / "communities.csv", bools=("synthetic", "code_synthetic"))


def load_circles(city: str | None = None) -> pd.DataFrame:
    return _read_csv(_city_dir(city) / "circles.csv", ints=("build_year", "batch"))


def load_circle_members(city: str | None = None) -> pd.DataFrame:
    return _read_csv(_city_dir(city) / "circle_members.csv")


def load_targets(city: str | None = None) -> pd.DataFrame:
    """Targets; ``due_date`` is a ``datetime.date`` or None (standing rule)."""
    return _read_csv(_city_dir(city) / "targets.csv", floats=("target_value",), dates=("due_date",))


def load_tasks(city: str | None = None) -> pd.DataFrame:
    """Annex-3/4 tasks; ``lead_units``/``co_units`` become lists, ``deadline`` a date or None."""
    return _read_csv(_city_dir(city) / "tasks.csv", ints=("annex", "seq"), bools=("ongoing",),
                     dates=("deadline",), lists=("lead_units", "co_units"))


def load_units(city: str | None = None) -> pd.DataFrame:
    return _read_csv(_city_dir(city) / "units.csv")


# ------------------------------------------------------------------ mappings
def load_amap_typecodes() -> pd.DataFrame:
    """AMap typecode rows; ``is_prefix`` is True for 4-digit prefix rows."""
    df = _read_csv(config_dir() / "mappings" / "amap_typecode.csv")
    df["is_prefix"] = df["typecode"].str.len() == 4
    return df


def load_gbt4754() -> pd.DataFrame:
    return _read_csv(config_dir() / "mappings" / "gbt4754.csv")


def load_keywords() -> pd.DataFrame:
    return _read_csv(config_dir() / "mappings" / "keywords.csv")


def load_brands() -> pd.DataFrame:
    """Known chain brands; ``aliases`` becomes a list."""
    return _read_csv(config_dir() / "brands" / "known_brands.csv", lists=("aliases",))


# ------------------------------------------------------------------ thresholds
def walk_threshold_m(categories_df: pd.DataFrame, city_cfg: dict) -> dict[str, float]:
    """Walking-distance threshold in metres per category_code:
    (city ``walk_minutes_override`` or taxonomy ``walk_minutes``) × ``walking_speed_m_per_min``."""
    speed = float(city_cfg.get("walking_speed_m_per_min", 80))
    overrides = city_cfg.get("walk_minutes_override") or {}
    unknown = set(overrides) - set(categories_df["category_code"])
    if unknown:
        raise ValueError(f"walk_minutes_override names unknown categories: {sorted(unknown)}")
    out: dict[str, float] = {}
    for code, minutes in zip(categories_df["category_code"], categories_df["walk_minutes"]):
        out[code] = float(overrides.get(code, minutes)) * speed
    return out
