"""WGS-84 <-> GCJ-02 ("Mars coordinates") and great-circle distance, vectorised.

Why hand-written: AMap returns GCJ-02, our network and truth are WGS-84, and no
well-kept library covers GCJ-02. pyproj/PROJ has no GCJ-02 definition (it is an
obfuscation, not a geodetic datum); the PyPI packages ``eviltransform`` and
``coord-convert`` have been unmaintained since 2018/2019 and work on one point at a
time, which is too slow for a million POIs. The forward formula below is the widely
published one (Krasovsky ellipsoid, a = 6378245.0, ee = 0.00669342162296594323); the
inverse has no closed form, so it is solved by fixed-point iteration until the forward
image matches the input to < 1e-7 degrees (about 1 cm), at most ``max_iter`` steps.

All functions accept scalars or array-likes and broadcast like numpy ufuncs; scalar
input gives Python floats back.
"""
from __future__ import annotations

import numpy as np

A = 6378245.0  # Krasovsky 1940 semi-major axis (m)
EE = 0.00669342162296594323  # Krasovsky first eccentricity squared
EARTH_RADIUS_M = 6371008.8  # mean Earth radius (IUGG), for haversine

_PI = np.pi


def _as_arrays(lng, lat):
    x = np.asarray(lng, dtype=float)
    y = np.asarray(lat, dtype=float)
    scalar = x.ndim == 0 and y.ndim == 0
    x, y = np.broadcast_arrays(x, y)
    return x, y, scalar


def _out(x, y, scalar):
    if scalar:
        return float(x), float(y)
    return x, y


def out_of_china(lng, lat):
    """True where the point is outside the rough China rectangle GCJ-02 applies to.

    This is the standard (coarse) check every implementation uses; it deliberately
    matches them so our coordinates agree with AMap's near the borders.
    """
    x, y, scalar = _as_arrays(lng, lat)
    res = (x < 72.004) | (x > 137.8347) | (y < 0.8293) | (y > 55.8271)
    return bool(res) if scalar else res


def _delta(x, y):
    """GCJ-02 offset (dlng, dlat) in degrees at WGS-84 (x=lng, y=lat)."""
    u = x - 105.0
    v = y - 35.0
    s6u = np.sin(6.0 * u * _PI)
    s2u = np.sin(2.0 * u * _PI)
    common = (20.0 * s6u + 20.0 * s2u) * 2.0 / 3.0
    sqrt_abs_u = np.sqrt(np.abs(u))

    dlat = -100.0 + 2.0 * u + 3.0 * v + 0.2 * v * v + 0.1 * u * v + 0.2 * sqrt_abs_u
    dlat = dlat + common
    dlat = dlat + (20.0 * np.sin(v * _PI) + 40.0 * np.sin(v / 3.0 * _PI)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(v / 12.0 * _PI) + 320.0 * np.sin(v * _PI / 30.0)) * 2.0 / 3.0

    dlng = 300.0 + u + 2.0 * v + 0.1 * u * u + 0.1 * u * v + 0.1 * sqrt_abs_u
    dlng = dlng + common
    dlng = dlng + (20.0 * np.sin(u * _PI) + 40.0 * np.sin(u / 3.0 * _PI)) * 2.0 / 3.0
    dlng = dlng + (150.0 * np.sin(u / 12.0 * _PI) + 300.0 * np.sin(u / 30.0 * _PI)) * 2.0 / 3.0

    radlat = y / 180.0 * _PI
    magic = 1.0 - EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrtmagic) * _PI)
    dlng = (dlng * 180.0) / (A / sqrtmagic * np.cos(radlat) * _PI)
    outside = (x < 72.004) | (x > 137.8347) | (y < 0.8293) | (y > 55.8271)
    return np.where(outside, 0.0, dlng), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lng, lat):
    """WGS-84 -> GCJ-02 (degrees). Points outside China come back unchanged."""
    x, y, scalar = _as_arrays(lng, lat)
    dx, dy = _delta(x, y)
    return _out(x + dx, y + dy, scalar)


def gcj02_to_wgs84(lng, lat, *, tol: float = 1e-7, max_iter: int = 10):
    """GCJ-02 -> WGS-84 (degrees) by fixed-point iteration.

    A one-step inverse (subtract the offset computed at the GCJ point) errs by up to a
    few metres; iterating ``w <- w - (f(w) - g)`` converges by roughly two orders of
    magnitude per step, so 3-4 steps reach ``tol`` (1e-7 degrees, ~1 cm).
    """
    gx, gy, scalar = _as_arrays(lng, lat)
    dx, dy = _delta(gx, gy)
    wx, wy = gx - dx, gy - dy
    for _ in range(max_iter):
        fx, fy = wgs84_to_gcj02(wx, wy)
        ex, ey = fx - gx, fy - gy
        wx, wy = wx - ex, wy - ey
        if ex.size == 0 or max(np.max(np.abs(ex)), np.max(np.abs(ey))) < tol:
            break
    return _out(wx, wy, scalar)


def haversine_m(lng1, lat1, lng2, lat2):
    """Great-circle distance in metres (spherical Earth, mean radius), broadcast."""
    lng1 = np.asarray(lng1, dtype=float)
    lat1 = np.asarray(lat1, dtype=float)
    lng2 = np.asarray(lng2, dtype=float)
    lat2 = np.asarray(lat2, dtype=float)
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lng2 - lng1)
    h = np.sin(dp / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    d = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    if d.ndim == 0:
        return float(d)
    return d
