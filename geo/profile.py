"""Corridor profiles: resources and coverage along an axis, bin by bin.

A corridor axis (a line in metres) is cut into bins of ``bin_m`` from its start;
the last bin ends exactly at the axis' end (it may be shorter). A point belongs
to the profile when its perpendicular distance to the axis is at most
``band_m`` (on either side) and its projection falls on the axis (points beyond
either end are left out); it is assigned to the bin holding its projection
(the distance along the axis of its nearest point on the axis).

Pure functions on a shapely ``LineString`` and ``(n, 2)`` metric coordinates; no
files, no CRS handling (callers project first).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

import settings
from layers.errors import InnoMapError

__all__ = [
    "MAX_BINS",
    "ProfileError",
    "bin_edges",
    "corridor_profile",
    "locate_points",
]

#: Work limit: bins of one profile (axis length ÷ bin length).
MAX_BINS = settings.PROFILE_MAX_BINS
#: Tolerance (m) of "on the axis" at its ends.
_END_TOL_M = 1e-6


class ProfileError(InnoMapError):
    """A profile cannot be computed (bad axis, bin or band); the message says why."""


def bin_edges(length_m: float, bin_m: float) -> np.ndarray:
    """Edges ``0, bin_m, 2·bin_m, …, length_m`` of the bins along an axis.

    Every bin is ``bin_m`` long except the last, which ends exactly at
    ``length_m`` (``0 < last ≤ bin_m``), so the bins cover the axis exactly.

    Raises
    ------
    ProfileError
        A non-positive length or bin, or more than :data:`MAX_BINS` bins.
    """
    length_m, bin_m = float(length_m), float(bin_m)
    if not np.isfinite(length_m) or length_m <= 0:
        raise ProfileError(
            f"轴线长度为 {length_m:g} 米 / the axis has length {length_m:g} m: draw it as a line "
            "of at least two distinct points"
        )
    if not np.isfinite(bin_m) or bin_m <= 0:
        raise ProfileError(f"分段长度应为正数 / bin_m must be positive, got {bin_m!r}")
    n = int(np.ceil(length_m / bin_m - 1e-9))
    if n > MAX_BINS:
        raise ProfileError(
            f"分段 {n:,} 个超过上限 {MAX_BINS:,} / {n:,} bins exceed the limit {MAX_BINS:,}: "
            f"use a bin length ≥ {length_m / MAX_BINS:.0f} m"
        )
    edges = np.arange(n + 1, dtype=float) * bin_m
    edges[-1] = length_m
    return edges


def _unit(a, b) -> np.ndarray:
    d = np.asarray(b, float) - np.asarray(a, float)
    n = float(np.hypot(*d))
    return d / n if n > 0 else d


def locate_points(axis: shapely.LineString, xy: np.ndarray, *, band_m: float) -> pd.DataFrame:
    """Distance along the axis, offset from it and band membership of each point.

    Returns
    -------
    DataFrame
        ``along_m`` (distance from the axis' start of the point's nearest point on
        the axis), ``offset_m`` (distance to the axis) and ``in_band`` (offset ≤
        ``band_m`` and not beyond either end), one row per point, in order.
    """
    if not isinstance(axis, shapely.LineString) or axis.is_empty:
        raise ProfileError(
            "轴线应为一条连续的线 / the axis must be one continuous line (LineString)"
        )
    band = float(band_m)
    if not np.isfinite(band) or band <= 0:
        raise ProfileError(f"带宽应为正数 / band_m must be positive, got {band_m!r}")
    xy = np.asarray(xy, float).reshape(-1, 2)
    pts = shapely.points(xy)
    along = shapely.line_locate_point(axis, pts)
    offset = shapely.distance(axis, pts)
    coords = np.asarray(axis.coords, float)
    length = float(axis.length)
    # beyond an end: the projection on the end segment's line falls outside the axis
    before = ((xy - coords[0]) @ _unit(coords[0], coords[1])) < -_END_TOL_M
    after = ((xy - coords[-1]) @ _unit(coords[-2], coords[-1])) > _END_TOL_M
    beyond = (before & (along <= _END_TOL_M)) | (after & (along >= length - _END_TOL_M))
    in_band = (offset <= band) & ~beyond
    return pd.DataFrame({"along_m": along, "offset_m": offset, "in_band": in_band})


def corridor_profile(
    axis: shapely.LineString,
    xy: np.ndarray,
    kinds,
    *,
    bin_m: float,
    band_m: float,
    covered=None,
    kind_order: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The profile table of points along ``axis`` and each point's place on it.

    Parameters
    ----------
    axis : shapely.LineString
        The corridor axis in metres, from its start.
    xy : numpy.ndarray
        ``(n, 2)`` point coordinates in the axis' CRS.
    kinds : array-like of str
        Kind of each point (a count column per kind).
    bin_m, band_m : float
        Bin length along the axis and band half-width (each side), metres.
    covered : array-like of bool, optional
        Whether each point is covered (e.g. within 15 minutes of a service);
        gives ``covered`` and ``covered_share`` per bin.
    kind_order : list of str, optional
        Order of the count columns (default: sorted kinds of the points).

    Returns
    -------
    table : DataFrame
        One row per bin: ``bin`` (1…), ``from_m``, ``to_m``, ``length_m``, a count
        per kind, ``total``, ``per_km`` (total ÷ bin length in km), ``covered`` and
        ``covered_share`` (NaN without ``covered`` or where a bin is empty).
    points : DataFrame
        ``along_m``, ``offset_m``, ``in_band`` and ``bin`` (0 outside the band) per point.
    """
    edges = bin_edges(axis.length, bin_m)
    loc = locate_points(axis, xy, band_m=band_m)
    kinds = np.asarray(kinds, dtype=object).astype(str)
    if len(kinds) != len(loc):
        raise ProfileError(
            f"类别数 {len(kinds)} 与点数 {len(loc)} 不一致 / {len(kinds)} kinds for {len(loc)} points"
        )
    n_bins = len(edges) - 1
    idx = np.clip(
        np.searchsorted(edges, loc["along_m"].to_numpy(), side="right") - 1, 0, n_bins - 1
    )
    inb = loc["in_band"].to_numpy()
    loc["bin"] = np.where(inb, idx + 1, 0)
    order = list(kind_order) if kind_order is not None else sorted(set(kinds[inb]))
    table = pd.DataFrame(
        {
            "bin": np.arange(1, n_bins + 1),
            "from_m": edges[:-1],
            "to_m": edges[1:],
            "length_m": np.diff(edges),
        }
    )
    for k in order:
        table[k] = np.bincount(idx[inb & (kinds == k)], minlength=n_bins)
    table["total"] = np.bincount(idx[inb], minlength=n_bins)
    table["per_km"] = table["total"] / (table["length_m"] / 1000.0)
    if covered is None:
        table["covered"] = np.nan
        table["covered_share"] = np.nan
    else:
        cov = np.asarray(covered, bool)
        if len(cov) != len(loc):
            raise ProfileError(
                f"覆盖标记数 {len(cov)} 与点数 {len(loc)} 不一致 / {len(cov)} coverage flags for "
                f"{len(loc)} points"
            )
        c = np.bincount(idx[inb & cov], minlength=n_bins)
        table["covered"] = c
        with np.errstate(invalid="ignore", divide="ignore"):
            table["covered_share"] = np.where(table["total"] > 0, c / table["total"], np.nan)
    return table, loc
