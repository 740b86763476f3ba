"""Geodesy helpers: GCJ-02 conversion (AMap's coordinate system) and distances."""
from lifecircle.geo.gcj02 import (
    gcj02_to_wgs84,
    haversine_m,
    out_of_china,
    wgs84_to_gcj02,
)

__all__ = ["gcj02_to_wgs84", "haversine_m", "out_of_china", "wgs84_to_gcj02"]
