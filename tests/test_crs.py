import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from layers.crs import (
    CRSChoiceError,
    bd09_to_wgs84,
    choose_metric_crs,
    gcj02_to_wgs84,
    to_wgs84_from,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")

# Published WGS84 -> GCJ-02 vectors (lat, lng) from shared/reference/ningbo-facts.md
VECTORS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
]


@pytest.mark.parametrize(("wgs", "gcj"), VECTORS)
def test_gcj_forward_matches_published_vectors(wgs, gcj):
    lon, lat = wgs84_to_gcj02(wgs[1], wgs[0])
    assert lon == pytest.approx(gcj[1], abs=1e-9)
    assert lat == pytest.approx(gcj[0], abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), VECTORS)
def test_gcj_inverse_recovers_wgs_to_centimetres(wgs, gcj):
    lon, lat = gcj02_to_wgs84(gcj[1], gcj[0])
    _, _, dist = GEOD.inv(lon, lat, wgs[1], wgs[0])
    assert dist < 0.01


def test_ningbo_reference_point_gcj_and_bd():
    glon, glat = wgs84_to_gcj02(121.6139, 29.9956)
    assert (float(glon), float(glat)) == pytest.approx((121.618004, 29.992977), abs=2e-6)
    blon, blat = wgs84_to_bd09(121.6139, 29.9956)
    assert (float(blon), float(blat)) == pytest.approx((121.624587, 29.998612), abs=2e-6)
    # GCJ-02 shifts Ningbo about 500 m
    _, _, d = GEOD.inv(121.6139, 29.9956, float(glon), float(glat))
    assert 400 < d < 600


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(min_value=73.6, max_value=134.7),
    lat=st.floats(min_value=18.2, max_value=53.5),
)
def test_round_trips_under_half_a_metre(lon, lat):
    for fwd, inv in ((wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)):
        x, y = inv(*fwd(lon, lat))
        _, _, d = GEOD.inv(lon, lat, float(x), float(y))
        assert d < 0.5


def test_outside_china_is_unchanged():
    lon, lat = wgs84_to_gcj02(2.35, 48.85)
    assert (float(lon), float(lat)) == (2.35, 48.85)


def test_to_wgs84_from_names_and_errors():
    lon, _lat = to_wgs84_from("gcj02", *wgs84_to_gcj02(121.6, 29.9))
    assert float(lon) == pytest.approx(121.6, abs=1e-8)
    assert to_wgs84_from("CGCS2000", 121.6, 29.9)[0] == 121.6
    with pytest.raises(CRSChoiceError, match="unknown coordinate system"):
        to_wgs84_from("Mars", 1, 2)


def test_metric_crs_is_chosen_from_extent():
    assert choose_metric_crs((121.4, 29.7, 121.9, 30.1)).to_epsg() == 32651
    # Lianyungang (seed 002) lies in UTM 50N
    assert choose_metric_crs((119.0, 34.4, 119.6, 34.8)).to_epsg() == 32650
    assert choose_metric_crs((121.0, -30.0, 121.5, -29.0)).to_epsg() == 32751
    with pytest.raises(CRSChoiceError):
        choose_metric_crs((np.nan, 0, 1, 1))
    with pytest.raises(CRSChoiceError, match="not in degrees"):
        choose_metric_crs((500000, 3300000, 510000, 3310000))
