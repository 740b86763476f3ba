"""The city's own geodata: communities with population, population points, walking network.

A city provides these files (for the sample city the generator writes them) in the folder
``LIFECIRCLE_CITY_DATA`` (default ``<state>/samplecity/<city>``), laid out as in
docs/architecture.md."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from lifecircle import settings


class CityDataMissing(FileNotFoundError):
    pass


def city_data_dir(city: str | None = None) -> Path:
    env = os.environ.get("LIFECIRCLE_CITY_DATA")
    return Path(env) if env else settings.state_dir() / "samplecity" / (city or settings.city())


def _read(relpath: str, dtype: dict | None = None, city: str | None = None) -> pd.DataFrame:
    path = city_data_dir(city) / relpath
    if not path.exists():
        raise CityDataMissing(f"city data file missing: {path} (generate the sample city with "
                              f"`lifecircle generate`, or set LIFECIRCLE_CITY_DATA)")
    return pd.read_csv(path, dtype=dtype or {}, keep_default_na=False, na_values=[""])


def communities(city: str | None = None) -> pd.DataFrame:
    """community_code,name,street_code,district_code,synthetic,lng,lat,population,households"""
    df = _read("communities.csv", {"community_code": str, "street_code": str, "district_code": str}, city)
    df["synthetic"] = df["synthetic"].astype(str).str.lower().isin(["true", "1"])
    return df


def population_points(city: str | None = None) -> pd.DataFrame:
    """point_id,community_code,lng,lat,population"""
    return _read("population_points.csv", {"point_id": str, "community_code": str}, city)


def network(city: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(nodes, edges) of the walking network, or None when the city has none (the
    coverage stage then falls back to straight line x detour factor, labelled approximate)."""
    found = network_with_summary(city)
    return None if found is None else found[:2]


def network_with_summary(city: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict] | None:
    """(nodes, edges, summary) from ``<city data>/network``: the city's OpenStreetMap
    source (one ``*.osm.pbf``, else ``overpass.json``) cleaned and cached by
    :mod:`lifecircle.coverage.osm_network` with city.yaml's ``network:`` settings; else the
    generated ``nodes.csv``/``edges.csv`` as they are; else None."""
    from lifecircle.coverage import osm_network

    base = city_data_dir(city) / "network"
    source = osm_network.find_source(base)
    if source is not None:
        from lifecircle.refdata import config_dir, load_city

        cfg = load_city(city).get("network") or {}
        rules = cfg.get("walkable_rules")
        rules_path = None
        if rules:   # written as config/..., like typology_rules
            parts = Path(rules).parts
            rules_path = config_dir().joinpath(*(parts[1:] if parts[0] == "config" else parts))
        return osm_network.load_network(
            source, max_segment_m=float(cfg.get("max_segment_m", osm_network.DEFAULT_MAX_SEGMENT_M)),
            rules=rules_path)
    if not (base / "nodes.csv").exists():
        return None
    nodes = pd.read_csv(base / "nodes.csv", dtype={"node_id": "int64"})
    edges = pd.read_csv(base / "edges.csv", dtype={"u": "int64", "v": "int64"})
    return nodes, edges, {"source": str(base / "nodes.csv"), "nodes": len(nodes), "edges": len(edges),
                          "cache": "none"}
