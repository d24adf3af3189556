"""Corridor profile (geo.profile): bins cover the axis exactly; counts add up to the band."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from geo.profile import MAX_BINS, ProfileError, bin_edges, corridor_profile, locate_points

lengths = st.floats(1.0, 50_000.0, allow_nan=False)
bins = st.floats(10.0, 5_000.0, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(length=lengths, bin_m=bins)
def test_bins_cover_the_axis_exactly(length, bin_m):
    assume(length / bin_m < MAX_BINS)
    e = bin_edges(length, bin_m)
    assert e[0] == 0.0 and e[-1] == length
    widths = np.diff(e)
    assert (widths > 0).all()
    assert (widths <= bin_m * (1 + 1e-9)).all()
    assert np.allclose(widths[:-1], bin_m)
    assert math.isclose(widths.sum(), length, rel_tol=1e-12)


@settings(max_examples=80, deadline=None)
@given(
    length=st.floats(200.0, 20_000.0),
    angle=st.floats(0.0, 2 * math.pi),
    bin_m=st.floats(50.0, 3_000.0),
    band=st.floats(10.0, 2_000.0),
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(0, 300),
)
def test_counts_sum_to_the_points_within_the_band(length, angle, bin_m, band, seed, n):
    """A straight axis of any direction: expected membership by plain vector arithmetic."""
    rng = np.random.default_rng(seed)
    u = np.array([math.cos(angle), math.sin(angle)])
    v = np.array([-u[1], u[0]])
    o = np.array([500_000.0, 3_300_000.0])
    axis = shapely.LineString([o, o + length * u])
    s = rng.uniform(-0.2 * length, 1.2 * length, n)
    t = rng.uniform(-2 * band, 2 * band, n)
    # keep clear of the band's edges (floating point at the boundary is not the law tested)
    keep = (np.abs(np.abs(t) - band) > 1e-3) & (np.abs(s) > 1e-3) & (np.abs(s - length) > 1e-3)
    s, t = s[keep], t[keep]
    xy = o + s[:, None] * u + t[:, None] * v
    kinds = rng.choice(["enterprises", "incubators", "universities"], len(xy))
    covered = rng.random(len(xy)) < 0.5
    table, pts = corridor_profile(axis, xy, kinds, bin_m=bin_m, band_m=band, covered=covered)
    expected = (np.abs(t) <= band) & (s >= 0) & (s <= length)
    assert int(table["total"].sum()) == int(expected.sum())
    assert (pts["in_band"].to_numpy() == expected).all()
    kind_cols = [c for c in ("enterprises", "incubators", "universities") if c in table]
    assert (table[kind_cols].sum(axis=1) == table["total"]).all()
    assert int(table["covered"].sum()) == int((expected & covered).sum())
    # each point in the bin holding its distance along the axis
    e = bin_edges(length, bin_m)
    for along, b in zip(s[expected], pts.loc[expected, "bin"], strict=True):
        assert e[b - 1] - 1e-6 <= along <= e[b] + 1e-6
    share = table["covered_share"].to_numpy()
    assert np.isnan(share[table["total"].to_numpy() == 0]).all()


def test_bent_axis_known_answer():
    """An L-shaped axis 1000 m east then 1000 m north, bins of 500 m, band 100 m."""
    axis = shapely.LineString([(0, 0), (1000, 0), (1000, 1000)])
    xy = np.array(
        [
            [100, 50],  # bin 1
            [600, -90],  # bin 2
            [1050, 400],  # along 1400: bin 3
            [990, 900],  # along 1900: bin 4
            [1000, 1050],  # beyond the end: out
            [-50, 0],  # before the start: out
            [500, 150],  # too far: out
        ],
        float,
    )
    table, pts = corridor_profile(
        axis, xy, ["a", "b", "a", "a", "a", "a", "a"], bin_m=500, band_m=100
    )
    assert table["from_m"].tolist() == [0, 500, 1000, 1500]
    assert table["to_m"].tolist() == [500, 1000, 1500, 2000]
    assert table["a"].tolist() == [1, 0, 1, 1] and table["b"].tolist() == [0, 1, 0, 0]
    assert table["per_km"].tolist() == [2.0, 2.0, 2.0, 2.0]
    assert pts["bin"].tolist() == [1, 2, 3, 4, 0, 0, 0]
    assert table["covered_share"].isna().all()


def test_last_bin_is_shorter_and_ends_at_the_axis_end():
    e = bin_edges(1234.5, 500)
    assert e.tolist() == [0, 500, 1000, 1234.5]


@pytest.mark.parametrize(
    ("length", "bin_m", "words"),
    [(0, 500, "length"), (1000, 0, "bin_m"), (1e9, 1, "limit")],
)
def test_bad_bins_are_refused_with_a_reason(length, bin_m, words):
    with pytest.raises(ProfileError, match=words):
        bin_edges(length, bin_m)


def test_bad_axis_or_band_is_refused():
    with pytest.raises(ProfileError, match="LineString"):
        locate_points(shapely.MultiLineString([[(0, 0), (1, 0)], [(5, 5), (6, 6)]]), [], band_m=10)
    with pytest.raises(ProfileError, match="band_m"):
        locate_points(shapely.LineString([(0, 0), (1, 0)]), [], band_m=0)
