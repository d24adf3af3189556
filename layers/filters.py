"""Attribute and spatial filters used by the map and the CLI; zone and district of points."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = [
    "UNDECIDED",
    "LayerFilter",
    "assign_districts",
    "assign_zones",
    "distinct_zone_names",
    "filter_layer",
    "search_records",
    "zone_key",
]


def assign_zones(points: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.Series:
    """Names of the zones containing each point, joined with "、" ("" if none).

    Both frames must share a CRS and ``points`` must hold points. Returns a
    Series aligned with ``points``. A point coarser than street level is given a
    zone only when its whole precision disc lies inside it, else :data:`UNDECIDED`
    (see :func:`zone_combinations`).
    """
    if points.empty or zones.empty:
        return pd.Series([""] * len(points), index=points.index, dtype=object)
    combo, labels = zone_combinations(points, zones)
    return pd.Series(labels[combo], index=points.index, dtype=object)


def zone_combinations(
    points: gpd.GeoDataFrame, zones: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Which zones hold each point, as codes into labels: ``(codes, labels)`` with
    ``labels[codes]`` the names of :func:`assign_zones` (``labels[0]`` is ``""``).

    Points whose ``coord_precision_m`` is coarser than
    ``settings.STREET_LEVEL_PRECISION_M`` keep point-in-polygon only where their whole
    precision disc lies inside the zone (or wholly outside every zone); a disc that
    crosses a zone boundary gets :data:`UNDECIDED` ("未定", the last label).
    """
    combo, labels = _point_combinations(points, zones)
    undecided = _undecided(points, zones)
    if undecided is not None and undecided.any():
        combo = np.where(undecided, len(labels), combo)
        labels = np.append(labels, np.array([UNDECIDED], dtype=object))
    return combo, labels


#: The district/zone of a coarse point whose precision disc crosses a boundary.
UNDECIDED = "未定"


def assign_districts(points: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> pd.Series:
    """District name of each point from the project's districts (the record's own if outside all)."""
    own = (
        points["district"].astype(str)
        if "district" in points
        else pd.Series("", index=points.index)
    )
    if points.empty or districts.empty:
        return own
    d = districts.to_crs(points.crs) if districts.crs != points.crs else districts
    codes, labels = zone_combinations(points, d[["name", "geometry"]])
    first = np.array([v.split("、")[0] for v in labels], dtype=object)  # once per label
    inside = (first != "")[codes]
    values = np.where(inside, first[codes], own.to_numpy(dtype=object))
    return pd.Series(values, index=own.index, dtype="str")


def _undecided(points: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> np.ndarray | None:
    """Points coarser than street level whose precision disc crosses a zone boundary."""
    import settings

    if "coord_precision_m" not in points or points.empty or zones.empty:
        return None
    prec = pd.to_numeric(points["coord_precision_m"], errors="coerce").to_numpy(float)
    coarse = np.flatnonzero(prec > settings.STREET_LEVEL_PRECISION_M)  # NaN: not coarse
    if not len(coarse):
        return None
    sub = points.iloc[coarse]
    zn = zones[zones.geometry.notna() & ~zones.geometry.is_empty]
    if sub.crs is not None and sub.crs.is_geographic:  # metres: a local UTM zone
        metric = sub.estimate_utm_crs()
        sub, zn = sub.to_crs(metric), zn.to_crs(metric)
    elif zones.crs != points.crs and zones.crs is not None and points.crs is not None:
        zn = zn.to_crs(points.crs)
    pts = sub.geometry.values
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    r = prec[coarse]
    radii = np.unique(r)
    out = np.zeros(len(points), bool)
    for geom in zn.geometry.values:
        # the disc reaches over the boundary (distance to it < r): either side is possible
        lo_x, lo_y, hi_x, hi_y = geom.bounds
        near = np.flatnonzero(
            (x >= lo_x - r) & (x <= hi_x + r) & (y >= lo_y - r) & (y <= hi_y + r)
        )  # a disc clear of the bounding box cannot reach the boundary
        if not len(near):
            continue
        if len(radii) <= _FEW_RADII:  # few precisions (the usual case): one band each
            for radius in radii:
                at = near[r[near] == radius]
                if not len(at):
                    continue
                # a band a little wider than the radius (its arcs are polygons) picks the
                # candidates; the exact distance decides
                band = shapely.buffer(geom.boundary, float(radius) * 1.02, quad_segs=8)
                shapely.prepare(band)
                at = at[shapely.contains_xy(band, x[at], y[at])]
                out[coarse[at[shapely.distance(geom.boundary, pts[at]) < radius]]] = True
        else:
            d = shapely.distance(geom.boundary, pts[near])
            out[coarse[near[d < r[near]]]] = True
    return out


#: Up to this many distinct precisions, the boundary bands are buffered once each.
_FEW_RADII = 16


def _point_combinations(
    points: gpd.GeoDataFrame, zones: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Point-in-polygon combinations of :func:`zone_combinations` (no precision rule)."""
    pts = points.geometry.values
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    names = [str(n) for n in zones["name"]]
    # which zones hold each point, as a combination id: one pass per zone, then one
    # label per distinct combination (a handful) instead of one join per point
    combo = np.zeros(len(pts), dtype=np.int64)
    members: dict[int, tuple[int, ...]] = {0: ()}
    for k, geom in enumerate(zones.geometry.values):
        if geom is None or geom.is_empty:
            continue
        shapely.prepare(geom)  # in place: a prepared geometry is the same geometry, faster
        lo_x, lo_y, hi_x, hi_y = geom.bounds
        near = np.flatnonzero((x >= lo_x) & (x <= hi_x) & (y >= lo_y) & (y <= hi_y))
        inside = near[shapely.contains_xy(geom, x[near], y[near])]
        if not len(inside):
            continue
        old = combo[inside]
        new = np.empty_like(old)
        for c in np.unique(old):  # a new id for each (earlier combination + this zone)
            nid = len(members)
            members[nid] = (*members[int(c)], k)
            new[old == c] = nid
        combo[inside] = new
    labels = np.array(
        ["、".join(distinct_zone_names(names[k] for k in members[c])) for c in range(len(members))],
        dtype=object,
    )
    return combo, labels


def zone_key(name) -> str:
    """The comparison form of a zone name: NFKC (full-width → half-width), trimmed, inner
    white space collapsed. Zone names are unique in a project under this key."""
    import re
    import unicodedata

    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(name or ""))).strip()


def distinct_zone_names(names) -> list[str]:
    """``names`` without blanks and without repeats under :func:`zone_key` (first spelling
    kept), sorted: a point inside two zones of one name (a boundary imported twice) is
    counted once in that zone."""
    seen: dict[str, str] = {}
    for n in names:
        k = zone_key(n)
        if k and k not in seen:
            seen[k] = str(n).strip()
    return sorted(seen.values())


@dataclass(frozen=True)
class LayerFilter:
    """Filter values; an empty tuple means "no restriction"."""

    subtypes: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    zone: str = ""
    include_synthetic: bool = True


def filter_layer(gdf: gpd.GeoDataFrame, flt: LayerFilter) -> gpd.GeoDataFrame:
    """Return the records of ``gdf`` that pass ``flt`` (a new frame).

    ``zone`` matches against the ``zone`` column made by :func:`assign_zones`.
    """
    mask = pd.Series(True, index=gdf.index)
    if flt.subtypes and "subtype" in gdf:
        mask &= gdf["subtype"].isin(flt.subtypes)
    if flt.levels and "level" in gdf:
        mask &= gdf["level"].isin(flt.levels)
    if flt.districts and "district" in gdf:
        mask &= gdf["district"].isin(flt.districts)
    if flt.zone and "zone" in gdf:
        hit = {v: flt.zone in str(v).split("、") for v in pd.unique(gdf["zone"])}
        mask &= gdf["zone"].map(hit).astype(bool)  # decided once per distinct zone label
    if not flt.include_synthetic and "synthetic" in gdf:
        mask &= ~gdf["synthetic"].astype(bool)
    return gdf[mask].copy()


def search_records(
    layers: dict[str, gpd.GeoDataFrame], query: str, *, limit: int = 50
) -> pd.DataFrame:
    """Find records whose name (or English name) contains ``query``.

    Returns a frame with ``layer, id, name, lon, lat``; exact name matches first.
    Matching is case-insensitive and literal (no regular expressions).
    """
    q = query.strip().casefold()
    cols = ["layer", "id", "name", "lon", "lat"]
    if not q:
        return pd.DataFrame(columns=cols)
    hits = []
    for key, gdf in layers.items():
        if gdf.empty or "name" not in gdf:
            continue
        names = gdf["name"].astype(str)
        m = names.str.casefold().str.contains(q, regex=False)
        if "name_en" in gdf:
            m |= gdf["name_en"].astype(str).str.casefold().str.contains(q, regex=False)
        sub = gdf[m]
        if sub.empty:
            continue
        pts = sub.geometry.representative_point()
        hits.append(
            pd.DataFrame(
                {
                    "layer": key,
                    "id": sub["id"].astype(str).to_numpy(),
                    "name": sub["name"].astype(str).to_numpy(),
                    "lon": pts.x.to_numpy(),
                    "lat": pts.y.to_numpy(),
                }
            )
        )
    if not hits:
        return pd.DataFrame(columns=cols)
    out = pd.concat(hits, ignore_index=True)
    out["_exact"] = out["name"].str.casefold() != q
    return (
        out.sort_values(["_exact", "name"])
        .drop(columns="_exact")
        .head(limit)
        .reset_index(drop=True)
    )
