"""GeoDataFrame adapter of the siting models: gaps, candidates, solve, proof.

Inputs are projected (metric) GeoDataFrames; nothing is modified in place.
Reach uses :mod:`geo.reach` (the coverage machinery), not a second one.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix

import settings
from geo.coverage import coverage_by_group
from geo.hotspots import hex_counts, hex_grid
from geo.reach import (
    ReachParams,
    _access_kmh,
    _mpm,
    nearest_service,
    service_isochrones,
    service_reach_matrix,
    service_time_matrix,
)
from geo.siting import (
    SitingError,
    SitingSolution,
    solve_lscp,
    solve_mclp,
    solve_pmedian,
    two_step_fca,
)

__all__ = [
    "AggregatedDemand",
    "SitingResult",
    "aggregate_demand",
    "gap_cells",
    "grid_candidates",
    "run_siting",
    "scenario_coverage",
]


def _xy(g: gpd.GeoDataFrame) -> np.ndarray:
    pts = g.geometry if (g.geom_type == "Point").all() else g.geometry.representative_point()
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])


def _weights(demand: gpd.GeoDataFrame, weight_col: str | None) -> np.ndarray:
    if not weight_col:
        return np.ones(len(demand))
    if weight_col not in demand:
        raise SitingError(
            f"需求图层没有权重字段 {weight_col!r} / demand has no column {weight_col!r}"
        )
    return pd.to_numeric(demand[weight_col], errors="coerce").fillna(0).to_numpy(float)


def grid_candidates(area, *, spacing_m: float, crs, exclude=None) -> gpd.GeoDataFrame:
    """Hexagon-centre candidates ``spacing_m`` apart inside ``area``, minus ``exclude`` polygons."""
    if not spacing_m > 0:
        raise SitingError(f"候选格网间距必须为正 / grid spacing must be positive, got {spacing_m}")
    grid = hex_grid(area, cell_m=spacing_m, crs=crs)
    cen = grid.geometry.centroid
    ok = shapely.contains_xy(area, cen.x.to_numpy(), cen.y.to_numpy())
    if exclude is not None and not exclude.is_empty:
        ok &= ~shapely.contains_xy(exclude, cen.x.to_numpy(), cen.y.to_numpy())
    cen = cen[ok]
    return gpd.GeoDataFrame(
        {"id": [f"G{i:05d}" for i in range(len(cen))], "source": "grid"},
        geometry=cen.to_numpy(),
        crs=crs,
    )


def _hull(xy: np.ndarray):
    """Convex hull of points (from the hull vertices only: 1M points in ~0.1 s)."""
    if len(xy) >= 3:
        try:
            from scipy.spatial import ConvexHull

            xy = xy[ConvexHull(xy).vertices]
        except Exception:  # collinear or repeated points: shapely handles them
            pass
    return shapely.convex_hull(shapely.multipoints(xy))


def gap_cells(
    demand: gpd.GeoDataFrame,
    existing: gpd.GeoDataFrame,
    *,
    params: ReachParams,
    minutes: float,
    weight_col: str | None = None,
    capacity_col: str | None = None,
    cell_m: float | None = None,
    graph=None,
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """Hexagons of demand with unserved weighted demand and 2SFCA accessibility.

    Returns ``(cells, covered_by_existing, accessibility)``; cells are ranked by
    unserved weighted demand (``gap_rank`` 1 = largest gap).
    """
    cell_m = settings.SITING_GAP_CELL_M if cell_m is None else cell_m
    dxy, exy = _xy(demand), _xy(existing)
    w = _weights(demand, weight_col)
    reach = service_reach_matrix(dxy, exy, params=params, minutes=minutes, graph=graph)
    covered = np.asarray(reach.sum(axis=1)).ravel() > 0
    if capacity_col and capacity_col in existing:
        cap = pd.to_numeric(existing[capacity_col], errors="coerce").to_numpy(float)
        cap = np.where(
            np.isfinite(cap) & (cap > 0), cap, np.nanmedian(cap) if np.isfinite(cap).any() else 1.0
        )
    else:
        cap = np.ones(len(existing))
    access, _ = two_step_fca(reach, w, cap)
    area = _hull(dxy).buffer(cell_m)
    grid = hex_grid(area, cell_m=cell_m, crs=demand.crs)
    grid["demand"] = hex_counts(grid, dxy, cell_m=cell_m, weights=w)
    grid["unserved"] = hex_counts(grid, dxy[~covered], cell_m=cell_m, weights=w[~covered])
    acc_sum = hex_counts(grid, dxy, cell_m=cell_m, weights=access * w)
    grid["access_2sfca"] = np.divide(
        acc_sum, grid["demand"], out=np.zeros(len(grid)), where=grid["demand"] > 0
    )
    grid = grid[grid["demand"] > 0].copy()
    grid["unserved_share"] = grid["unserved"] / grid["demand"]
    grid = grid.sort_values("unserved", ascending=False).reset_index(drop=True)
    grid["gap_rank"] = np.arange(1, len(grid) + 1)
    return grid, covered, access


@dataclass
class AggregatedDemand:
    """Demand merged to cells (see :func:`aggregate_demand`).

    Attributes
    ----------
    xy : numpy.ndarray
        ``(m, 2)`` representative point of each merged row (weighted centroid).
    weights : numpy.ndarray
        Summed weight of each row.
    covered : numpy.ndarray of bool
        Existing coverage of each row (rows never mix covered and uncovered demand).
    inverse : numpy.ndarray
        Row of every original demand point.
    max_displacement_m : float
        Largest distance from a demand point to its row's representative point.
    """

    xy: np.ndarray
    weights: np.ndarray
    covered: np.ndarray
    inverse: np.ndarray
    max_displacement_m: float


def aggregate_demand(
    xy: np.ndarray, weights: np.ndarray, covered: np.ndarray, *, cell_m: float
) -> AggregatedDemand:
    """Merge demand points to square cells of ``cell_m`` metres, one row per cell and
    existing-coverage status, at the weighted centroid of its points.

    Every point moves by at most ``max_displacement_m`` (≤ ``cell_m·√2``), so its travel
    time changes by at most that distance at the access speed (straight-line method:
    times the detour factor): the error bound reported by :func:`run_siting`.
    """
    if not cell_m > 0:
        raise SitingError(f"聚合格网必须为正 / aggregate_m must be positive, got {cell_m!r}")
    xy = np.asarray(xy, float).reshape(-1, 2)
    w = np.asarray(weights, float)
    cov = np.asarray(covered, bool)
    if len(xy) == 0:
        return AggregatedDemand(xy, w, cov, np.zeros(0, np.int64), 0.0)
    ij = np.floor((xy - xy.min(axis=0)) / cell_m).astype(np.int64)
    key = (ij[:, 0] * (int(ij[:, 1].max()) + 1) + ij[:, 1]) * 2 + cov
    uniq, inv = np.unique(key, return_inverse=True)
    inv = inv.ravel()
    m = len(uniq)
    wpos = np.clip(np.nan_to_num(w), 0, None)
    wsum = np.bincount(inv, weights=wpos, minlength=m)
    cnt = np.bincount(inv, minlength=m).astype(float)
    use_w = (wsum > 0) & (cnt > 1)  # a lone point stays exactly where it is
    rep = np.empty((m, 2))
    for d in (0, 1):
        by_w = np.bincount(inv, weights=wpos * xy[:, d], minlength=m)
        plain = np.bincount(inv, weights=xy[:, d], minlength=m)
        rep[:, d] = np.where(use_w, by_w / np.where(use_w, wsum, 1), plain / cnt)
    disp = np.hypot(*(xy - rep[inv]).T)
    return AggregatedDemand(
        xy=rep,
        weights=np.bincount(inv, weights=w, minlength=m),
        covered=(uniq % 2).astype(bool),
        inverse=inv,
        max_displacement_m=float(disp.max()),
    )


@dataclass
class SitingResult:
    """Everything a siting run produces (frames in the analysis CRS)."""

    solution: SitingSolution
    params: ReachParams
    minutes: float
    selected: gpd.GeoDataFrame
    catchments: gpd.GeoDataFrame
    by_zone: pd.DataFrame
    by_district: pd.DataFrame
    gaps: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    covered_before: float
    covered_after: float
    weight_total: float

    @property
    def share_before(self) -> float:
        return self.covered_before / self.weight_total if self.weight_total else 0.0

    @property
    def share_after(self) -> float:
        return self.covered_after / self.weight_total if self.weight_total else 0.0


def _before_after(flags_before, flags_after, groups, w, name):
    t_before = np.where(flags_before, 0.0, np.inf)
    t_after = np.where(flags_after, 0.0, np.inf)
    b = coverage_by_group(t_before, groups, (0.5,), weights=w, group_name=name)
    a = coverage_by_group(t_after, groups, (0.5,), weights=w, group_name=name)
    out = b[[name, "demand_total", "weight_total", "weighted_covered", "weighted_share"]].rename(
        columns={"weighted_covered": "covered_before", "weighted_share": "share_before"}
    )
    out["covered_after"] = a["weighted_covered"].to_numpy()
    out["share_after"] = a["weighted_share"].to_numpy()
    out["change"] = out["share_after"] - out["share_before"]
    return out


def _selected_reach(dxy, cxy, sel_idx, params, minutes, graph):
    """Demand × candidate reach with only the chosen candidates' columns filled."""
    sub = service_reach_matrix(dxy, cxy[sel_idx], params=params, minutes=minutes, graph=graph)
    coo = sub.tocoo()
    return csr_matrix(
        (coo.data, (coo.row, sel_idx[coo.col])), shape=(len(dxy), len(cxy)), dtype=bool
    )


def _aggregation_report(agg, dxy, w, sel_xy, params, minutes, graph) -> dict:
    """Error bound of choosing the sites on merged demand (see :func:`run_siting`)."""
    if params.method == "straight":
        per_min = _mpm(params.effective_speed_kmh) / params.detour
    else:
        per_min = _mpm(_access_kmh(params))
    bound_min = agg.max_displacement_m / per_min
    band_w = 0.0
    if len(sel_xy):
        t = nearest_service(dxy, sel_xy, params=params, graph=graph).minutes
        band = np.abs(np.nan_to_num(t, nan=np.inf) - minutes) <= bound_min
        band_w = float(w[band].sum())
    return {
        "aggregated_rows": len(agg.xy),
        "aggregation_max_displacement_m": agg.max_displacement_m,
        "aggregation_max_minutes": float(bound_min),
        "aggregation_band_weight": band_w,
    }


def _check_inputs(demand, existing, candidates, model: str) -> None:
    for name, g in (("demand", demand), ("existing", existing), ("candidates", candidates)):
        if g.crs is None or not g.crs.is_projected:
            raise SitingError(
                f"{name} 必须为米制投影坐标 / {name} must be in a projected CRS (metres)"
            )
    if len(candidates) == 0:
        raise SitingError(
            "没有候选点 / no candidate sites: choose a zone grid, a file or click on the map"
        )
    if model not in ("mclp", "lscp", "pmedian"):
        raise SitingError(f"未知模型 / unknown model {model!r}: use mclp, lscp or pmedian")


def _solve(
    model,
    reach,
    rows_xy,
    rows_w,
    rows_cov,
    *,
    existing,
    cxy,
    params,
    minutes,
    graph,
    k,
    target_share,
    opts,
) -> SitingSolution:
    """The chosen model solved on the (possibly aggregated) demand rows."""
    if model == "mclp":
        if k is None:
            raise SitingError("MCLP 需要 k / MCLP needs k")
        return solve_mclp(reach, rows_w, rows_cov, k=k, **opts)
    if model == "lscp":
        if target_share is None:
            raise SitingError("LSCP 需要目标覆盖率 / LSCP needs --target-share")
        return solve_lscp(reach, rows_w, rows_cov, target_share=target_share, **opts)
    if k is None:
        raise SitingError("p-median 需要 k / p-median needs k")
    horizon = 2.0 * minutes
    base = nearest_service(rows_xy, _xy(existing), params=params, graph=graph).minutes
    base = np.minimum(np.nan_to_num(base, nan=horizon), horizon)
    cost = service_time_matrix(rows_xy, cxy, params=params, max_minutes=horizon, graph=graph)
    return solve_pmedian(cost, base, rows_w, k=k, **opts)


def _selected_sites(candidates, sel_idx, reach, covered, w, sol):
    """The chosen sites in rank order with what each newly covers, and the coverage after."""
    after = covered.copy()
    newly = []
    rt = reach.tocsr().T.tocsr()
    for j in sel_idx:
        rows = rt.indices[rt.indptr[j] : rt.indptr[j + 1]]
        new = rows[~after[rows]]
        newly.append(new)
        after[rows] = True
    sel = candidates.iloc[sel_idx].copy()
    sel.insert(0, "rank", np.arange(1, len(sel_idx) + 1))
    sel["marginal_gain"] = sol.marginal_gain
    sel["newly_covered_points"] = [len(n) for n in newly]
    sel["newly_covered_weight"] = [float(w[n].sum()) for n in newly]
    sel["catchment_points"] = [int(rt.indptr[j + 1] - rt.indptr[j]) for j in sel_idx]
    ll = sel.to_crs(4326)
    sel["lon"] = ll.geometry.x.round(6).to_numpy()
    sel["lat"] = ll.geometry.y.round(6).to_numpy()
    return sel, after


def _catchments(sel, sel_idx, cxy, params, minutes, graph, crs) -> gpd.GeoDataFrame:
    """Each chosen site's isochrone at the cut-off."""
    isos = (
        service_isochrones(cxy[sel_idx], params=params, minutes=(minutes,), graph=graph)
        if len(sel_idx)
        else []
    )
    return gpd.GeoDataFrame(
        {
            "rank": sel["rank"].to_numpy(),
            "id": sel["id"].astype(str).to_numpy() if "id" in sel else sel_idx,
            "minutes": minutes,
        },
        geometry=[p[0] for p in isos],
        crs=crs,
    )


def run_siting(
    demand: gpd.GeoDataFrame,
    existing: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    params: ReachParams,
    minutes: float | None = None,
    model: str = "mclp",
    k: int | None,
    target_share: float | None = None,
    solver: str = "auto",
    time_limit: float | None = None,
    weight_col: str | None = None,
    capacity_col: str | None = None,
    graph=None,
    gap_cell_m: float | None = None,
    aggregate_m: float | None = None,
    on_progress=None,
) -> SitingResult:
    """Gap analysis and optimal new sites with the existing incubators kept.

    ``on_progress(done, total)`` (optional) counts the candidates evaluated.

    With ``aggregate_m`` (large demand, e.g. a million firms) the model chooses the
    sites on demand merged to cells of that size (:func:`aggregate_demand`); the gap
    analysis, the coverage before and after and every per-point flag are still computed
    on the full demand. ``solution.extra`` then reports the error bound: the largest
    displacement (m) and the travel time it can change (min; exact for the
    straight-line method, the access leg for the road network), the weight of demand
    whose time to the chosen new sites is that close to the cut-off (the only demand
    the aggregated model may have judged wrongly for those sites) and the rows solved.

    Raises
    ------
    SitingError
        For geographic inputs, an empty candidate set, or bad model options.
    """
    minutes = settings.SITING_MINUTES if minutes is None else minutes
    time_limit = settings.SITING_TIME_LIMIT_S if time_limit is None else time_limit
    gap_cell_m = settings.SITING_GAP_CELL_M if gap_cell_m is None else gap_cell_m
    _check_inputs(demand, existing, candidates, model)
    dxy, cxy = _xy(demand), _xy(candidates)
    w = _weights(demand, weight_col)
    gaps, covered, access = gap_cells(
        demand,
        existing,
        params=params,
        minutes=minutes,
        weight_col=weight_col,
        capacity_col=capacity_col,
        cell_m=gap_cell_m,
        graph=graph,
    )
    agg = None
    rows_xy, rows_w, rows_cov = dxy, w, covered
    if aggregate_m is not None:
        agg = aggregate_demand(dxy, w, covered, cell_m=aggregate_m)
        rows_xy, rows_w, rows_cov = agg.xy, agg.weights, agg.covered
    reach = service_reach_matrix(
        rows_xy, cxy, params=params, minutes=minutes, graph=graph, on_progress=on_progress
    )
    sol = _solve(
        model,
        reach,
        rows_xy,
        rows_w,
        rows_cov,
        existing=existing,
        cxy=cxy,
        params=params,
        minutes=minutes,
        graph=graph,
        k=k,
        target_share=target_share,
        opts={"solver": solver, "time_limit": time_limit},
    )
    sel_idx = np.array(sol.selected, dtype=int)
    if agg is not None:  # the chosen sites' coverage, exactly, on the full demand
        reach = _selected_reach(dxy, cxy, sel_idx, params, minutes, graph)
        sol.extra.update(_aggregation_report(agg, dxy, w, cxy[sel_idx], params, minutes, graph))
        sol.extra["aggregate_m"] = float(aggregate_m)
    sel, after = _selected_sites(candidates, sel_idx, reach, covered, w, sol)
    catch = _catchments(sel, sel_idx, cxy, params, minutes, graph, demand.crs)
    out_d = demand.copy()
    out_d["covered_before"] = covered
    out_d["covered_after"] = after
    out_d["access_2sfca"] = access
    groups = {}
    for col in ("zone", "district"):
        groups[col] = (
            _before_after(covered, after, demand[col], w, col) if col in demand else pd.DataFrame()
        )
    total = float(w.sum())
    return SitingResult(
        solution=sol,
        params=params,
        minutes=minutes,
        selected=sel,
        catchments=catch,
        by_zone=groups["zone"],
        by_district=groups["district"],
        gaps=gaps,
        demand=out_d,
        covered_before=float(w[covered].sum()),
        covered_after=float(w[after].sum()),
        weight_total=total,
    )


def scenario_coverage(
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    params: ReachParams,
    minutes: float,
    weight_col: str | None = None,
    graph=None,
) -> dict:
    """Covered weight and share of a set of incubators (for what-if scenarios)."""
    w = _weights(demand, weight_col)
    if len(sites) == 0:
        return {"sites": 0, "covered": 0.0, "share": 0.0, "weight_total": float(w.sum())}
    t = nearest_service(_xy(demand), _xy(sites), params=params, graph=graph).minutes
    cov = np.nan_to_num(t, nan=np.inf) <= minutes + 1e-6
    return {
        "sites": len(sites),
        "covered": float(w[cov].sum()),
        "share": float(w[cov].sum() / w.sum()) if w.sum() else 0.0,
        "weight_total": float(w.sum()),
        "covered_mask": cov,
    }
