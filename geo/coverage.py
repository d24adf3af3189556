"""Coverage statistics of service circles (15分钟科普/科技服务圈).

Pure functions on arrays plus a thin GeoDataFrame adapter
(:func:`run_coverage`). Inputs are projected (metric) GeoDataFrames; inputs are
never modified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix

import settings
from geo.network import NetworkError, RoadGraph
from geo.reach import (
    TOL_MIN,
    ReachParams,
    coverage_polygons,
    nearest_service,
    service_isochrones,
    service_reach_matrix,
)

__all__ = [
    "GB50180_TIERS",
    "CoverageResult",
    "LifeCircleTier",
    "coverage_by_group",
    "coverage_table",
    "gb50180_preset",
    "redundancy_table",
    "run_coverage",
    "sensitivity_table",
    "zone_area_table",
]


@dataclass(frozen=True)
class LifeCircleTier:
    """A GB 50180-2018 life-circle tier (walking distance and residents)."""

    name_zh: str
    name_en: str
    minutes: int
    distance_m: float
    residents: str


#: GB 50180-2018 城市居住区规划设计标准, 表 3.0.4 (tiers are not nested in the standard).
GB50180_TIERS: tuple[LifeCircleTier, ...] = (
    LifeCircleTier("5分钟生活圈居住街坊", "5-min life circle", 5, 300.0, "5,000–12,000"),
    LifeCircleTier("10分钟生活圈居住区", "10-min life circle", 10, 500.0, "15,000–25,000"),
    LifeCircleTier("15分钟生活圈居住区", "15-min life circle", 15, 1000.0, "50,000–100,000"),
)

#: Walking speed of the preset: 1000 m in 15 min = 4 km/h (ningbo-facts.md).
GB50180_WALK_KMH = 4.0


def gb50180_preset() -> dict:
    """Walk mode at 4 km/h with cut-offs equal to the standard's walking distances.

    Returns a dict with ``mode``, ``speed_kmh``, ``minutes`` (the distance
    thresholds 300/500/1000 m expressed in minutes at 4 km/h: 4.5, 7.5, 15) and
    ``tiers``.
    """
    per_min = GB50180_WALK_KMH * 1000 / 60
    return {
        "mode": "walk",
        "speed_kmh": GB50180_WALK_KMH,
        "minutes": tuple(round(t.distance_m / per_min, 2) for t in GB50180_TIERS),
        "tiers": GB50180_TIERS,
    }


def coverage_table(
    travel_min: np.ndarray, minutes: tuple[float, ...], *, weights: np.ndarray | None = None
) -> pd.DataFrame:
    """Covered count, share and weighted share per cut-off.

    Unreachable points (``nan``) count as demand and as not covered.
    """
    t = np.asarray(travel_min, float)
    w = np.ones(len(t)) if weights is None else np.nan_to_num(np.asarray(weights, float))
    total, wtotal = len(t), float(w.sum())
    rows = []
    for m in minutes:
        cov = np.nan_to_num(t, nan=np.inf) <= m + TOL_MIN
        rows.append(
            {
                "minutes": float(m),
                "demand_total": total,
                "covered": int(cov.sum()),
                "share": float(cov.sum() / total) if total else 0.0,
                "weight_total": wtotal,
                "weighted_covered": float(w[cov].sum()),
                "weighted_share": float(w[cov].sum() / wtotal) if wtotal > 0 else 0.0,
            }
        )
    return pd.DataFrame(rows)


def coverage_by_group(
    travel_min: np.ndarray,
    groups: pd.Series,
    minutes: tuple[float, ...],
    *,
    weights: np.ndarray | None = None,
    group_name: str = "group",
) -> pd.DataFrame:
    """:func:`coverage_table` for every group value (e.g. district or zone).

    A point in several zones (``"A、B"``) counts in each of them; points with an
    empty group are left out.
    """
    t = np.asarray(travel_min, float)
    w = np.ones(len(t)) if weights is None else np.asarray(weights, float)
    g = pd.Series(groups).astype(str).reset_index(drop=True)
    # split each distinct value once (1M points carry a handful of district/zone strings);
    # a point is counted once per distinct group name (a zone imported twice is one zone)
    codes, uniques = pd.factorize(g)
    members: dict[str, list[int]] = {}
    for k, value in enumerate(uniques):
        for name in dict.fromkeys(p for p in str(value).split("、") if p):
            members.setdefault(name, []).append(k)
    parts = []
    for name in sorted(members):
        ii = np.flatnonzero(np.isin(codes, members[name]))
        tab = coverage_table(t[ii], minutes, weights=w[ii])
        tab.insert(0, group_name, name)
        parts.append(tab)
    if not parts:
        return pd.DataFrame(columns=[group_name, *coverage_table(t[:0], minutes).columns])
    return pd.concat(parts, ignore_index=True)


def zone_area_table(
    polygons: list, minutes: tuple[float, ...], zones: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Share of each zone's area inside the coverage polygons (metric CRS).

    Zones of one name (under :func:`layers.filters.zone_key`) are one zone: their
    geometries are united first (a boundary imported twice is not counted twice).
    """
    from layers.filters import zone_key

    merged: dict[str, list] = {}
    shown: dict[str, str] = {}
    for name, geom in zip(zones["name"], zones.geometry.values, strict=True):
        if geom is None or geom.is_empty:
            continue
        k = zone_key(name)
        merged.setdefault(k, []).append(geom)
        shown.setdefault(k, str(name))
    rows = []
    for k, geoms in merged.items():
        name = shown[k]
        geom = geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)
        area = float(geom.area)
        for m, poly in zip(minutes, polygons, strict=True):
            inter = float(shapely.intersection(geom, poly).area) if not poly.is_empty else 0.0
            rows.append(
                {
                    "zone": name,
                    "minutes": float(m),
                    "zone_km2": area / 1e6,
                    "covered_km2": inter / 1e6,
                    "area_share": inter / area if area > 0 else 0.0,
                }
            )
    return pd.DataFrame(rows)


def redundancy_table(
    reach: csr_matrix, service_ids: list[str], *, weights: np.ndarray | None = None
) -> pd.DataFrame:
    """Demand each service point covers, and the part only it covers.

    ``reach`` is the demand × service boolean matrix at one cut-off. A service
    with ``only_here == 0`` is redundant at that cut-off.
    """
    r = reach.tocsr().astype(bool)
    nd = r.shape[0]
    w = np.ones(nd) if weights is None else np.nan_to_num(np.asarray(weights, float))
    mult = np.asarray(r.sum(axis=1)).ravel()
    only = csr_matrix(r.multiply((mult == 1)[:, None]))
    rt = r.T.tocsr()
    ot = only.T.tocsr()
    return pd.DataFrame(
        {
            "service_id": list(service_ids),
            "covered": np.asarray(rt.sum(axis=1)).ravel().astype(int),
            "weighted_covered": rt @ w,
            "only_here": np.asarray(ot.sum(axis=1)).ravel().astype(int),
            "weighted_only_here": ot @ w,
        }
    )


def sensitivity_table(
    demand_xy: np.ndarray,
    service_xy: np.ndarray,
    *,
    params: ReachParams,
    speeds_kmh: tuple[float, ...],
    minutes: tuple[float, ...],
    graph: RoadGraph | None = None,
    weights: np.ndarray | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Covered share for every (speed, cut-off) pair; ``on_progress(done, total)`` counts
    the speeds computed (``(0, total)`` first)."""
    rows = []
    if on_progress is not None:
        on_progress(0, len(speeds_kmh))
    for i, v in enumerate(speeds_kmh, start=1):
        p = ReachParams(
            method=params.method,
            mode=params.mode,
            speed_kmh=v,
            detour=params.detour,
            max_snap_m=params.max_snap_m,
        )
        res = nearest_service(demand_xy, service_xy, params=p, graph=graph)
        tab = coverage_table(res.minutes, minutes, weights=weights)
        for r in tab.itertuples():
            rows.append(
                {
                    "speed_kmh": v,
                    "minutes": r.minutes,
                    "share": r.share,
                    "weighted_share": r.weighted_share,
                }
            )
        if on_progress is not None:
            on_progress(i, len(speeds_kmh))
    return pd.DataFrame(rows)


@dataclass
class CoverageResult:
    """Everything a coverage run produces (all frames in the analysis CRS)."""

    params: ReachParams
    minutes: tuple[float, ...]
    demand: gpd.GeoDataFrame
    summary: pd.DataFrame
    by_district: pd.DataFrame
    by_zone: pd.DataFrame
    zone_area: pd.DataFrame
    coverage_areas: gpd.GeoDataFrame
    blind_spots: gpd.GeoDataFrame
    isochrones: gpd.GeoDataFrame
    redundancy: pd.DataFrame
    unsnapped_demand: int
    unsnapped_service: list[str] = field(default_factory=list)
    weight_col: str | None = None


def _xy(gdf: gpd.GeoDataFrame) -> np.ndarray:
    pts = (
        gdf.geometry.representative_point()
        if not (gdf.geom_type == "Point").all()
        else gdf.geometry
    )
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])


def _checked_inputs(demand, services, graph, minutes) -> tuple[float, ...]:
    """The cut-offs, ascending, once the frames are metric and share the graph's CRS."""
    minutes = settings.COVERAGE_MINUTES if minutes is None else minutes
    for name, g in (("demand", demand), ("services", services)):
        if g.crs is None or not g.crs.is_projected:
            raise NetworkError(
                f"{name} 必须为米制投影坐标 / {name} must be in a projected CRS (metres)"
            )
    if services.crs != demand.crs or (graph is not None and graph.crs != demand.crs):
        raise NetworkError(
            "需求、服务点与路网的坐标系必须一致 / demand, services and network CRS differ"
        )
    minutes = tuple(sorted(float(m) for m in minutes))
    if not minutes or minutes[0] <= 0:
        raise NetworkError(f"时间阈值必须为正 / cut-offs must be positive minutes, got {minutes}")
    return minutes


def _demand_weights(demand: gpd.GeoDataFrame, weight_col: str | None) -> np.ndarray | None:
    """The demand weights (non-numbers as 0), or None without a weight column."""
    if not weight_col:
        return None
    if weight_col not in demand.columns:
        raise NetworkError(
            f"需求图层没有权重字段 {weight_col!r} / demand has no column {weight_col!r}: "
            f"choose one of {', '.join(c for c in demand.columns if c != 'geometry')}"
        )
    return pd.to_numeric(demand[weight_col], errors="coerce").fillna(0).to_numpy(float)


def _isochrone_frame(sxy, sid, params, minutes, graph, buffer_m, crs) -> gpd.GeoDataFrame:
    """One row per service and cut-off: the service's own isochrone."""
    isos = service_isochrones(sxy, params=params, minutes=minutes, graph=graph, buffer_m=buffer_m)
    rows = [
        {"service_id": sid[j], "minutes": m, "geometry": p}
        for j, polys_j in enumerate(isos)
        for m, p in zip(minutes, polys_j, strict=True)
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def run_coverage(
    demand: gpd.GeoDataFrame,
    services: gpd.GeoDataFrame,
    *,
    params: ReachParams,
    minutes: tuple[float, ...] | None = None,
    weight_col: str | None = None,
    graph: RoadGraph | None = None,
    zones: gpd.GeoDataFrame | None = None,
    study_area=None,
    per_service_isochrones: bool = True,
    buffer_m: float | None = None,
) -> CoverageResult:
    """Run a coverage analysis (GeoDataFrame adapter over the array core).

    Parameters
    ----------
    demand, services : geopandas.GeoDataFrame
        Projected (metric) frames; ``services`` needs an ``id`` column.
    params : ReachParams
        Method, mode, speed, detour and snapping.
    minutes : tuple of float
        Cut-offs, ascending.
    weight_col : str, optional
        Demand weight column (employees, population …).
    graph : RoadGraph, optional
        Road graph (same CRS) for the network method.
    zones : geopandas.GeoDataFrame, optional
        Zones for the area share (``name`` column, same CRS).
    study_area : shapely geometry, optional
        Area whose uncovered part is reported as blind spots (default: convex
        hull of the demand, buffered by 500 m).

    Raises
    ------
    NetworkError
        For geographic (degree) inputs, CRS mismatch or a bad weight column.
    """
    buffer_m = settings.ISOCHRONE_BUFFER_M if buffer_m is None else buffer_m
    minutes = _checked_inputs(demand, services, graph, minutes)
    weights = _demand_weights(demand, weight_col)
    dxy, sxy = _xy(demand), _xy(services)
    sid = (
        services["id"].astype(str).tolist()
        if "id" in services
        else [str(i) for i in range(len(services))]
    )
    res = nearest_service(dxy, sxy, params=params, graph=graph)
    out = demand.copy()
    out["nearest_service_id"] = [sid[i] if i >= 0 else None for i in res.service]
    out["travel_min"] = np.where(np.isfinite(res.minutes), np.round(res.minutes, 3), np.nan)
    out["snapped"] = res.snapped
    for m in minutes:
        out[f"covered_{m:g}"] = np.nan_to_num(res.minutes, nan=np.inf) <= m + TOL_MIN
    summary = coverage_table(res.minutes, minutes, weights=weights)
    by_district = (
        coverage_by_group(
            res.minutes, demand["district"], minutes, weights=weights, group_name="district"
        )
        if "district" in demand
        else pd.DataFrame()
    )
    by_zone = (
        coverage_by_group(res.minutes, demand["zone"], minutes, weights=weights, group_name="zone")
        if "zone" in demand
        else pd.DataFrame()
    )
    polys = coverage_polygons(sxy, params=params, minutes=minutes, graph=graph, buffer_m=buffer_m)
    crs = demand.crs
    areas = gpd.GeoDataFrame(
        {"minutes": list(minutes), "method": params.method, "label": params.label("zh")},
        geometry=list(polys),
        crs=crs,
    )
    if study_area is None:
        study_area = (
            shapely.convex_hull(shapely.multipoints(dxy)).buffer(500)
            if len(dxy)
            else shapely.Polygon()
        )
    blind = gpd.GeoDataFrame(
        {"minutes": list(minutes)},
        geometry=[shapely.difference(study_area, p) for p in polys],
        crs=crs,
    )
    zone_area = (
        zone_area_table(polys, minutes, zones)
        if zones is not None and len(zones)
        else pd.DataFrame()
    )
    isochrones = (
        _isochrone_frame(sxy, sid, params, minutes, graph, buffer_m, crs)
        if per_service_isochrones and len(sxy)
        else gpd.GeoDataFrame({"service_id": [], "minutes": []}, geometry=[], crs=crs)
    )
    reach = service_reach_matrix(dxy, sxy, params=params, minutes=minutes[-1], graph=graph)
    red = redundancy_table(reach, sid, weights=weights)
    return CoverageResult(
        params=params,
        minutes=minutes,
        demand=out,
        summary=summary,
        by_district=by_district,
        by_zone=by_zone,
        zone_area=zone_area,
        coverage_areas=areas,
        blind_spots=blind,
        isochrones=isochrones,
        redundancy=red,
        unsnapped_demand=int((~res.snapped).sum()),
        unsnapped_service=[sid[j] for j in np.flatnonzero(~res.service_snapped)],
        weight_col=weight_col,
    )
