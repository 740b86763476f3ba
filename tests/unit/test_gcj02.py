"""GCJ-02 conversion: reference pairs, round trip around Tianshui, passthrough abroad."""
import numpy as np
import pytest

from lifecircle.geo import gcj02_to_wgs84, haversine_m, out_of_china, wgs84_to_gcj02

# Published pairs (wgs_lng, wgs_lat, gcj_lng, gcj_lat) from the eviltransform test suite
# (github.com/googollee/eviltransform, python/test.py).
PUBLISHED = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]


def _tianshui_grid(n=41):
    lng, lat = np.meshgrid(np.linspace(105.6, 106.0, n), np.linspace(34.4, 34.7, n))
    return lng.ravel(), lat.ravel()


@pytest.mark.parametrize("wlng,wlat,glng,glat", PUBLISHED)
def test_forward_matches_published_pairs(wlng, wlat, glng, glat):
    x, y = wgs84_to_gcj02(wlng, wlat)
    assert x == pytest.approx(glng, abs=1e-6)
    assert y == pytest.approx(glat, abs=1e-6)


def test_forward_tiananmen():
    x, y = wgs84_to_gcj02(116.397128, 39.916527)
    assert abs(x - 116.403370) < 1e-5
    assert abs(y - 39.917929) < 1e-5


@pytest.mark.parametrize("wlng,wlat,glng,glat", PUBLISHED)
def test_inverse_matches_published_pairs(wlng, wlat, glng, glat):
    x, y = gcj02_to_wgs84(glng, glat)
    assert haversine_m(x, y, wlng, wlat) < 0.05


def test_round_trip_tianshui_grid_within_1m():
    lng, lat = _tianshui_grid()
    glng, glat = wgs84_to_gcj02(lng, lat)
    blng, blat = gcj02_to_wgs84(glng, glat)
    err = haversine_m(lng, lat, blng, blat)
    assert err.max() <= 1.0
    # the iterative inverse is far better than the 1 m requirement
    assert err.max() < 0.01


def test_shift_around_tianshui_300_to_500_m():
    lng, lat = _tianshui_grid()
    glng, glat = wgs84_to_gcj02(lng, lat)
    shift = haversine_m(lng, lat, glng, glat)
    assert shift.min() > 300.0
    assert shift.max() < 500.0


def test_out_of_china_passthrough():
    pts = [(2.3522, 48.8566), (-74.006, 40.7128), (139.69, 35.69), (151.2, -33.9)]
    for lng, lat in pts:
        assert out_of_china(lng, lat)
        assert wgs84_to_gcj02(lng, lat) == (lng, lat)
        assert gcj02_to_wgs84(lng, lat) == (lng, lat)
    assert not out_of_china(105.72, 34.58)


def test_vectorised_shapes_and_scalars():
    x, y = wgs84_to_gcj02(105.72, 34.58)
    assert isinstance(x, float) and isinstance(y, float)
    lng = np.array([[105.72, 2.35], [105.89, 105.80]])
    lat = np.array([[34.58, 48.85], [34.56, 34.57]])
    gx, gy = wgs84_to_gcj02(lng, lat)
    assert gx.shape == (2, 2) and gy.shape == (2, 2)
    assert gx[0, 1] == 2.35 and gy[0, 1] == 48.85
    wx, wy = gcj02_to_wgs84(gx, gy)
    assert np.allclose(wx, lng, atol=1e-7) and np.allclose(wy, lat, atol=1e-7)
    # broadcasting a scalar latitude against an array of longitudes
    bx, by = wgs84_to_gcj02(np.array([105.7, 105.8]), 34.5)
    assert bx.shape == (2,) and by.shape == (2,)


def test_haversine_known_distance():
    # one degree of latitude on the mean sphere ~ 111.195 km
    assert haversine_m(105.0, 34.0, 105.0, 35.0) == pytest.approx(111194.9, rel=1e-4)
    d = haversine_m(np.array([105.0, 105.0]), np.array([34.0, 34.0]), 105.0, np.array([34.0, 35.0]))
    assert d.shape == (2,) and d[0] == 0.0
