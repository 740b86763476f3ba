"""Community-level location from address text and from coordinates."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from lifecircle.ingest.literal_search import first_literal_index


def community_from_address(addresses: pd.Series, communities: pd.DataFrame) -> pd.Series:
    """The community whose name appears in the address (leftmost; the longest name where
    several start at the same place), else None.

    Registrations carry an address, not coordinates; naming the community is the match
    level this gives (geocoding to coordinates is a later stage). Vectorised over the
    column (:mod:`lifecircle.ingest.literal_search`): a million addresses in about a second."""
    names = sorted(communities["name"], key=len, reverse=True)
    code_of = dict(zip(communities["name"], communities["community_code"]))
    idx, found = first_literal_index(addresses.fillna("").to_numpy(dtype=object), names)
    codes = np.asarray([*(code_of[n] or None for n in found), None], dtype=object)
    return pd.Series(codes[idx], index=addresses.index)


def local_xy(lng, lat, lat0: float) -> np.ndarray:
    """Equirectangular metres around ``lat0`` — exact enough within a city for nearest-
    neighbour look-ups (errors well under 1% over 20 km)."""
    k = 111_320.0
    return np.column_stack([np.asarray(lng, float) * k * np.cos(np.radians(lat0)), np.asarray(lat, float) * k])


def nearest_community(lng, lat, points: pd.DataFrame) -> np.ndarray:
    """Community of the nearest population point, for each (lng, lat)."""
    lat0 = float(points["lat"].mean())
    tree = cKDTree(local_xy(points["lng"], points["lat"], lat0))
    _, idx = tree.query(local_xy(lng, lat, lat0))
    return points["community_code"].to_numpy()[idx]


def nearby_communities(lng, lat, points: pd.DataFrame, radius_m: float) -> list[list[str]]:
    """For each (lng, lat): the community of the nearest population point plus every
    community with a population point within ``radius_m`` (sorted, nearest's first).
    Used to block POI-registration matching, where the nearest point is only a proxy for
    the community the registration's address names."""
    lat0 = float(points["lat"].mean())
    tree = cKDTree(local_xy(points["lng"], points["lat"], lat0))
    xy = local_xy(lng, lat, lat0)
    codes = points["community_code"].to_numpy()
    _, nearest = tree.query(xy)
    within = tree.query_ball_point(xy, r=radius_m)
    out = []
    for n, idx in zip(nearest, within):
        first = codes[n]
        out.append([first, *sorted({codes[i] for i in idx} - {first})])
    return out
