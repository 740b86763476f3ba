"""The city's boundary polygon and a point-in-polygon test.

The boundary is ``config/cities/<city>/boundary.geojson`` (WGS-84; a Polygon or
MultiPolygon, outer rings only — holes are ignored). A city without that file (the tiny
test city, bench cities) falls back to its ``bbox`` from city.yaml, so the check always
runs. The test is an even-odd ray cast in numpy: a few dozen vertices against a
million points is a handful of vector operations, so no geometry dependency (shapely,
GEOS) is needed for it.
"""
from __future__ import annotations

import json

import numpy as np

from lifecircle import refdata, settings


def _bbox_ring(b: dict) -> list[tuple[float, float]]:
    return [(b["min_lng"], b["min_lat"]), (b["max_lng"], b["min_lat"]), (b["max_lng"], b["max_lat"]),
            (b["min_lng"], b["max_lat"]), (b["min_lng"], b["min_lat"])]


def city_polygons(city: str | None = None) -> tuple[list[list[tuple[float, float]]], str]:
    """Outer rings of the city's boundary and where they came from (``boundary.geojson`` | ``bbox``)."""
    path = refdata.config_dir() / "cities" / (city or settings.city()) / "boundary.geojson"
    if not path.exists():
        return [_bbox_ring(refdata.load_city(city)["bbox"])], "bbox"
    doc = json.loads(path.read_text(encoding="utf-8"))
    geoms = [f["geometry"] for f in doc["features"]] if doc.get("type") == "FeatureCollection" else \
        [doc["geometry"]] if doc.get("type") == "Feature" else [doc]
    rings = []
    for g in geoms:
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        rings += [[tuple(map(float, pt[:2])) for pt in poly[0]] for poly in polys]
    return rings, "boundary.geojson"


def inside(lng, lat, rings: list[list[tuple[float, float]]]) -> np.ndarray:
    """Boolean array: each (lng, lat) inside any ring (even-odd rule; NaN is outside)."""
    x = np.asarray(lng, dtype=float)
    y = np.asarray(lat, dtype=float)
    result = np.zeros(x.shape, dtype=bool)
    for ring in rings:
        pts = np.asarray(ring, dtype=float)
        hit = np.zeros(x.shape, dtype=bool)
        for (x1, y1), (x2, y2) in zip(pts, np.roll(pts, -1, axis=0)):
            if y1 == y2:
                continue
            crosses = (y1 > y) != (y2 > y)
            x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            hit ^= crosses & (x < x_at)
        result |= hit
    return result
