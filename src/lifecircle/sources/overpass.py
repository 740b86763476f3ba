"""OpenStreetMap POIs from the Overpass API, as a second map provider.

``fetch_overpass`` POSTs an Overpass QL query (form field ``data``) and returns the JSON;
``parse_overpass`` turns its ``elements`` into rows with the same fields as
:func:`lifecircle.sources.amap.parse_pois` plus ``category_code``:

* ``id`` = ``osm:<type>/<id>`` (``osm:node/123``), ``name`` from ``name`` (else ``name:zh``);
* position: a node's ``lat``/``lon``; a way's or relation's ``center`` (query with
  ``out center``); elements without either are skipped and counted;
* OSM is WGS-84, so ``lng``/``lat`` are the coordinates as given; ``lng_gcj``/``lat_gcj``
  are the forward WGS-84 → GCJ-02 conversion, only so the rows have the schema of AMap's
  (where GCJ-02 is what the source sent);
* ``typecode`` None and ``typecodes`` [] (AMap-only), ``type`` = the matched ``key=value``;
* ``address`` from ``addr:full`` or ``addr:street`` + ``addr:housenumber``; ``adcode``,
  ``adname``, ``tel`` (``phone``/``contact:phone``);
* ``category_code`` from ``config/mappings/osm_tags.csv`` (key, value): the first mapped
  tag in the order shop, amenity, craft, leisure; unmapped features keep None and are
  counted in the summary by ``key=value``.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

import pandas as pd
import requests

from lifecircle.sources.http import SourceError, make_session

TAG_KEYS = ("shop", "amenity", "craft", "leisure")


def load_osm_tags() -> pd.DataFrame:
    from lifecircle.refdata import config_dir

    return pd.read_csv(config_dir() / "mappings" / "osm_tags.csv", dtype=str, keep_default_na=False)


def fetch_overpass(base_url: str, query: str, session: requests.Session | None = None,
                   timeout: float = 180.0) -> dict:
    """POST ``data=<query>`` to ``<base_url>/api/interpreter``; the answer's JSON.
    A non-200 status or a body that is not JSON raises :class:`SourceError` naming it."""
    session = session or make_session()
    url = base_url.rstrip("/")
    if not url.endswith("/interpreter"):
        url += "/api/interpreter"
    try:
        resp = session.post(url, data={"data": query}, timeout=timeout)
    except requests.RequestException as exc:
        raise SourceError(f"Overpass request failed: {type(exc).__name__}: {exc}") from exc
    if resp.status_code != 200:
        raise SourceError(f"Overpass answered HTTP {resp.status_code}: {resp.text[:200]}")
    try:
        return resp.json()
    except ValueError as exc:
        raise SourceError("Overpass answered HTTP 200 with a body that is not JSON") from exc


def _address(tags: dict) -> str | None:
    if tags.get("addr:full"):
        return tags["addr:full"]
    parts = [tags.get(k) for k in ("addr:city", "addr:district", "addr:street", "addr:housenumber")]
    text = "".join(p for p in parts if p)
    return text or None


def parse_overpass(payload: dict, osm_tags: pd.DataFrame | None = None) -> tuple[list[dict], dict[str, Any]]:
    """Overpass JSON -> (rows, summary). ``summary``: elements, rows, skipped_no_position,
    unmapped (count), unmapped_tags {"key=value": n}."""
    from lifecircle.geo.gcj02 import wgs84_to_gcj02

    tags_map = load_osm_tags() if osm_tags is None else osm_tags
    lookup = {(r.key, r.value): r.category_code for r in tags_map.itertuples()}
    rows: list[dict] = []
    unmapped: Counter = Counter()
    skipped = 0
    elements: Iterable[dict] = payload.get("elements") or []
    n = 0
    for el in elements:
        n += 1
        tags = el.get("tags") or {}
        if el.get("type") == "node" and "lat" in el and "lon" in el:
            lat, lng = float(el["lat"]), float(el["lon"])
        elif isinstance(el.get("center"), dict):
            lat, lng = float(el["center"]["lat"]), float(el["center"]["lon"])
        else:
            skipped += 1
            continue
        present = [(k, tags[k]) for k in TAG_KEYS if k in tags]
        category, matched = None, None
        for kv in present:
            if kv in lookup:
                category, matched = lookup[kv], kv
                break
        if category is None:
            for k, v in present[:1]:
                unmapped[f"{k}={v}"] += 1
            if not present:
                unmapped["(no shop/amenity/craft/leisure tag)"] += 1
        kv = matched or (present[0] if present else None)
        glng, glat = wgs84_to_gcj02(lng, lat)
        rows.append({
            "id": f"osm:{el.get('type')}/{el.get('id')}", "name": tags.get("name") or tags.get("name:zh"),
            "type": f"{kv[0]}={kv[1]}" if kv else None, "typecode": None, "typecodes": [],
            "address": _address(tags), "adcode": tags.get("addr:adcode"), "adname": tags.get("addr:district"),
            "tel": tags.get("phone") or tags.get("contact:phone"),
            "lng": lng, "lat": lat, "lng_gcj": float(glng), "lat_gcj": float(glat), "category_code": category,
        })
    summary = {"elements": n, "rows": len(rows), "skipped_no_position": skipped,
               "unmapped": sum(unmapped.values()), "unmapped_tags": dict(unmapped.most_common())}
    return rows, summary
