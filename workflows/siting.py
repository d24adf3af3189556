"""Incubator siting: gaps and the best new sites with the project's existing ones kept.

One definition for ``cli.py site``, the siting page and the print map/pack. The
candidates are a hexagon grid over the study area (the zone, else the demand's
hull — :func:`workflows.common.study_area`), a layer, or points clicked on the map.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import geopandas as gpd
import pandas as pd
import shapely

import settings
from geo.siting_geo import grid_candidates, run_siting
from layers.errors import InnoMapError
from layers.project import Project
from workflows.choices import SITING_MODELS, SITING_SOLVERS
from workflows.common import (
    PrecisionRule,
    Report,
    check_positive,
    drop_synthetic,
    in_district_order,
    input_provenance,
    precision_notes,
    select_layers,
    share_text,
    study_area,
    study_area_label,
    synthetic_note,
)
from workflows.coverage import ReachOptions, load_graph, request_fields

__all__ = ["MAX_CANDIDATES", "MODELS", "SOLVERS", "SitingRequest", "candidates", "run"]

#: Work limits (named in the error when exceeded).
MAX_CANDIDATES = settings.SITING_MAX_CANDIDATES
MAX_K = settings.SITING_MAX_K
MODELS = SITING_MODELS
SOLVERS = SITING_SOLVERS
MIN_GRID_M = settings.SITING_MIN_GRID_M
#: Largest demand cell for ``aggregate_m`` (a cell wider than a walk of minutes is no answer).
MAX_AGGREGATE_M = settings.SITING_MAX_AGGREGATE_M


@dataclass(frozen=True)
class SitingRequest:
    """A siting request.

    Attributes
    ----------
    demand : tuple of str
        Demand layer references.
    existing : str
        Existing incubators (kept as sites): a reference in the project.
    candidates : str
        ``grid:<metres>`` over the study area, a layer reference, or ``clicked``
        (only ``extra_candidates``).
    zone : str, optional
        Restrict candidates to this project zone.
    k, target_share, model
        MCLP/p-median with ``k`` new sites, or LSCP for ``target_share``.
    extra_candidates : tuple of (lon, lat)
        Candidates clicked on the map (WGS84).
    exclude_wkt : str, optional
        Areas where no site may go (WGS84 WKT).
    include_imprecise : bool
        Use points coarser than the precision rule allows (``coord_precision_m`` ≤ the
        distance ``minutes`` reach × ``settings.PRECISION_SCALE_FACTOR``); by default they
        are left out of demand, existing sites and candidates and counted (``precision``,
        ``demand_coarse_excluded``, ``existing_imprecise_excluded``; the headline says
        when existing sites were left out).
    include_coarse : bool
        The former name of ``include_imprecise`` (saved requests still load).
    include_synthetic_existing : bool
        Count synthetic records of ``existing`` (e.g. the demo's generated maker
        spaces) as existing sites. Default: left out, and counted in the summary.
    aggregate_m : float, optional
        Choose the sites on demand merged to cells of this size (metres) — for large
        demand (a million firms); coverage before/after stays exact on every point and
        the summary reports the error bound (``aggregation_*``). ``None``: every point.
    """

    demand: tuple[str, ...] = ("enterprises",)
    weight: str | None = None
    existing: str = "incubators"
    candidates: str = f"grid:{settings.SITING_GRID_M:g}"
    zone: str | None = None
    k: int | None = settings.SITING_K
    target_share: float | None = None
    model: str | None = None
    minutes: float = settings.SITING_MINUTES
    reach: ReachOptions = field(default_factory=ReachOptions)
    solver: str = "auto"
    time_limit: float = settings.SITING_TIME_LIMIT_S
    extra_candidates: tuple[tuple[float, float], ...] = ()
    exclude_wkt: str | None = None
    crs: str | None = None
    skip_invalid: bool = False
    include_coarse: bool = False
    include_synthetic_existing: bool = False
    aggregate_m: float | None = None
    include_imprecise: bool = False

    def __post_init__(self):
        both = bool(self.include_imprecise or self.include_coarse)
        object.__setattr__(self, "include_imprecise", both)
        object.__setattr__(self, "include_coarse", both)
        d = self.demand
        object.__setattr__(self, "demand", (d,) if isinstance(d, str) else tuple(d))
        object.__setattr__(
            self, "extra_candidates", tuple((float(x), float(y)) for x, y in self.extra_candidates)
        )
        if isinstance(self.reach, dict):
            object.__setattr__(self, "reach", ReachOptions(**self.reach))
        if (self.k is None) == (self.target_share is None):
            raise InnoMapError(
                "请给出 k 或目标覆盖率之一 / give exactly one of --k and --target-share"
            )
        model = self.model or ("lscp" if self.target_share is not None else "mclp")
        if model not in MODELS:
            raise InnoMapError(f"未知模型 / unknown model {model!r}: use mclp, lscp or pmedian")
        if model == "lscp" and self.target_share is None:
            raise InnoMapError("--model lscp 需要 --target-share / lscp needs --target-share")
        if model in ("mclp", "pmedian") and self.k is None:
            raise InnoMapError(f"--model {model} 需要 --k / {model} needs --k")
        object.__setattr__(self, "model", model)
        if self.k is not None:
            check_positive("k", self.k, maximum=MAX_K)
        if self.target_share is not None:
            check_positive("target_share", self.target_share, maximum=1.0)
        check_positive("minutes", self.minutes, maximum=settings.MAX_MINUTES, unit=" min")
        check_positive("time_limit", self.time_limit, maximum=3600, unit=" s")
        if self.aggregate_m is not None:
            check_positive("aggregate_m", self.aggregate_m, maximum=MAX_AGGREGATE_M, unit=" m")
        if self.candidates.startswith("grid:"):
            try:
                spacing = float(self.candidates.split(":", 1)[1])
            except ValueError:
                raise InnoMapError(
                    f"--candidates {self.candidates!r}: use grid:<metres>, e.g. grid:500"
                ) from None
            check_positive("grid spacing", spacing, unit=" m")
            if spacing < MIN_GRID_M:
                raise InnoMapError(
                    f"候选格网间距 {spacing:g} m 小于下限 {MIN_GRID_M:g} m / grid spacing is below "
                    f"the limit {MIN_GRID_M:g} m: use e.g. grid:{settings.SITING_GRID_M:g}"
                )

    @property
    def grid_m(self) -> float | None:
        return (
            float(self.candidates.split(":", 1)[1]) if self.candidates.startswith("grid:") else None
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["demand"] = list(self.demand)
        d["extra_candidates"] = [list(p) for p in self.extra_candidates]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> SitingRequest:
        """From :meth:`to_dict` or the CLI's JSON keys (reach options at top level)."""
        known, reach = request_fields(cls, d)
        if "k" not in known and known.get("target_share") is not None:
            known["k"] = None
        return cls(**known, reach=reach)


def candidates(
    project: Project,
    request: SitingRequest,
    demand_m: gpd.GeoDataFrame,
    *,
    selections: list | None = None,
    rule: PrecisionRule | None = None,
):
    """The candidate sites (metric CRS) of a request, with the work limit checked first.

    A candidate layer may hold plots (polygons): their representative points are
    used. Candidates of a layer or clicked are kept inside ``request.zone`` and
    outside the exclusion area (grid cells are cut by both already).
    ``selections`` (if given) receives the candidate layer's selection, for its
    provenance and skipped rows. ``rule`` leaves out candidates of a layer that are
    too imprecise (role ``candidates``; grid and clicked candidates are exact).
    """
    crs = demand_m.crs
    area = study_area(project, demand_m, zone=request.zone)
    exclude = None
    if request.exclude_wkt:
        exclude = (
            gpd.GeoSeries([shapely.from_wkt(request.exclude_wkt)], crs=4326).to_crs(crs).iloc[0]
        )
    parts = []
    if request.grid_m is not None:
        n = area.area / (0.866 * request.grid_m**2)
        if n > MAX_CANDIDATES:
            raise InnoMapError(
                f"候选点约 {n:,.0f} 个超过上限 {MAX_CANDIDATES:,} / about {n:,.0f} grid candidates "
                f"exceed the limit {MAX_CANDIDATES:,}: use a larger spacing or a zone"
            )
        parts.append(grid_candidates(area, spacing_m=request.grid_m, crs=crs, exclude=exclude))
    elif request.candidates == "clicked":
        if not request.extra_candidates:
            raise InnoMapError(
                "没有点选的候选点 / no clicked candidates: add candidates on the what-if map first"
            )
    else:
        sel = select_layers(
            project,
            [request.candidates],
            default_kind="incubators",
            crs=request.crs,
            skip_invalid=request.skip_invalid,
            points_only=False,
        )
        if rule is not None:
            sel = rule.apply(sel, "candidates")
        if selections is not None:
            selections.append(sel)
        c = sel.gdf.to_crs(crs)
        if len(c) and not c.geom_type.eq("Point").all():
            c = c.set_geometry(c.geometry.representative_point())
        parts.append(c[["id", "geometry"]].assign(source=request.candidates))
    if request.extra_candidates:
        xs, ys = zip(*request.extra_candidates, strict=True)
        clicked = gpd.GeoDataFrame(
            {"id": [f"C{i + 1}" for i in range(len(xs))], "source": "map"},
            geometry=gpd.points_from_xy(xs, ys),
            crs=4326,
        ).to_crs(crs)
        parts.append(clicked)
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)
    if request.grid_m is None:
        if request.zone:
            out = out[out.within(area)]
        if exclude is not None:
            out = out[~out.within(exclude)]
        out = out.reset_index(drop=True)
    if len(out) > MAX_CANDIDATES:
        raise InnoMapError(
            f"候选点 {len(out):,} 个超过上限 {MAX_CANDIDATES:,} / {len(out):,} candidates exceed the "
            f"limit {MAX_CANDIDATES:,}"
        )
    return out


def _summary(request: SitingRequest, res, sels: dict, e_m, n_candidates: int, prov: dict) -> dict:
    """summary.json of a siting run (every key the CLI has always written, plus provenance)."""
    sol = res.solution
    reach, params = request.reach, res.params
    subtype = e_m["subtype"].astype(str) if "subtype" in e_m else pd.Series("", index=e_m.index)
    synthetic = e_m["synthetic"].astype(bool) if "synthetic" in e_m else False
    by_sub = (
        pd.DataFrame({"subtype": subtype, "synthetic": synthetic})
        .groupby("subtype")
        .agg(n=("synthetic", "size"), synthetic=("synthetic", "sum"))
    )
    return {
        "model": request.model,
        "k": len(sol.selected) if request.model == "lscp" else request.k,
        "target_share": request.target_share,
        "objective": sol.objective,
        "upper_bound": sol.upper_bound,
        "gap": sol.gap,
        "bound_kind": "lower bound on weighted minutes"
        if request.model == "pmedian"
        else (
            "lower bound on the number of sites"
            if request.model == "lscp"
            else "upper bound on weighted covered demand"
        ),
        "solver": sol.solver,
        "solver_status": sol.status,
        "seconds": sol.seconds,
        "covered_before": res.covered_before,
        "covered_after": res.covered_after,
        "share_before": res.share_before,
        "share_after": res.share_after,
        "weight_total": res.weight_total,
        "weight": request.weight,
        "minutes": float(request.minutes),
        "method": reach.method,
        "method_label": params.label("zh"),
        "mode": reach.mode,
        "speed_kmh": params.effective_speed_kmh,
        "network": reach.network,
        "candidates": request.candidates,
        "n_candidates": n_candidates,
        "zone": request.zone,
        "study_area": study_area_label(request.zone, "zh"),
        "study_area_en": study_area_label(request.zone, "en"),
        "existing": request.existing,
        "n_existing": len(e_m),
        "existing_by_subtype": {
            str(k): {"n": int(v.n), "synthetic": int(v.synthetic)} for k, v in by_sub.iterrows()
        },
        "selected": [
            {
                "rank": int(r["rank"]),
                "id": str(r["id"]),
                "lon": float(r["lon"]),
                "lat": float(r["lat"]),
                "marginal_gain": float(r["marginal_gain"]),
                "newly_covered_weight": float(r["newly_covered_weight"]),
            }
            for _, r in res.selected.iterrows()
        ],
        "by_zone": res.by_zone.to_dict("records"),
        "by_district": res.by_district.to_dict("records"),
        **_aggregation(res.solution.extra, res.weight_total),
        "synthetic_demand": sels["demand"].synthetic_rows > 0,
        "skipped_invalid": sum(sel.skipped for sel in sels.values()),
        "skipped_rows": [r for sel in sels.values() for r in sel.skipped_rows],
        **prov,
    }


def _aggregation(extra: dict, weight_total: float) -> dict:
    """The aggregation's error bound for the summary (nothing when every point was solved)."""
    if "aggregate_m" not in extra:
        return {}
    band = float(extra["aggregation_band_weight"])
    return {
        "aggregate_m": float(extra["aggregate_m"]),
        "aggregated_rows": int(extra["aggregated_rows"]),
        "aggregation_max_displacement_m": float(extra["aggregation_max_displacement_m"]),
        "aggregation_max_minutes": float(extra["aggregation_max_minutes"]),
        "aggregation_band_weight": band,
        "aggregation_band_share": band / weight_total if weight_total else 0.0,
    }


#: How a solution was found, in the notes (summary.json keeps ``solver`` as the key).
SOLVER_ZH = {"exact": "精确求解", "heuristic": "启发式", "exact+heuristic": "精确求解 + 启发式"}


def _notes(request: SitingRequest, res, summary: dict) -> list[str]:
    """Method, before → after with the proven gap, candidate area, synthetic existing sites."""
    sol = res.solution
    notes = [
        f"方法: {summary['method_label']}",
        f"覆盖 {res.share_before:.1%} → {res.share_after:.1%}; 证明差距 {sol.gap:.2%} "
        f"({SOLVER_ZH.get(sol.solver, sol.solver)})",
        f"候选范围: {summary['study_area']}; 候选点 {summary['n_candidates']} 个",
    ]
    if "aggregate_m" in summary:
        a = summary
        notes.append(
            f"需求按 {a['aggregate_m']:g} 米格网合并后选址 ({a['aggregated_rows']:,} 行); 最大位移 "
            f"{a['aggregation_max_displacement_m']:.0f} 米 (≤ {a['aggregation_max_minutes']:.2f} 分钟), "
            f"可能判断有误的需求 ≤ {share_text(a['aggregation_band_share'])}; 覆盖率按全部需求点精确计算 / "
            f"sites chosen on demand merged to {a['aggregate_m']:g} m cells "
            f"({a['aggregated_rows']:,} rows): displacement ≤ "
            f"{a['aggregation_max_displacement_m']:.0f} m (≤ {a['aggregation_max_minutes']:.2f} min), "
            f"demand possibly misjudged ≤ {share_text(a['aggregation_band_share'])}; coverage "
            "is exact on every point"
        )
    n = summary.get("existing_synthetic_excluded", 0)
    if n:
        notes.append(
            f"现有孵化器中 {n} 个模拟记录未计入现状 (include_synthetic_existing 可计入) / {n} "
            "synthetic existing sites were left out (include_synthetic_existing counts them)"
        )
    by_sub = summary["existing_by_subtype"]
    synth = sum(v["synthetic"] for v in by_sub.values())
    if synth:
        parts = ", ".join(f"{k} {v['synthetic']}" for k, v in by_sub.items() if v["synthetic"])
        notes.append(
            f"现有站点中 {synth} 个为模拟数据 (按子类: {parts}) / {synth} existing sites are "
            "synthetic"
        )
    return notes


def existing_headline(n: int) -> str:
    """The siting headline when ``n`` existing sites were left out as imprecise ("" if none)."""
    if not n:
        return ""
    return (
        f"{n} 个现有孵化器位置不精确, 未计入现状; 新选址可能与其重复 / {n} existing incubators "
        "with imprecise positions were not counted; new sites may duplicate them"
    )


def run(
    project: Project,
    request: SitingRequest,
    *,
    graph=None,
    extra_candidates: list[tuple[float, float]] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Gaps, the best new sites (existing kept) and before/after coverage.

    ``graph`` may be passed when the caller already holds the request's road
    graph; ``extra_candidates`` (WGS84 lon/lat, e.g. clicked on a map) are added
    to the request's (and recorded in the report's request).
    ``on_progress(done, total)`` counts the candidates evaluated (``(0, n)`` first).
    """
    if extra_candidates:
        request = replace(
            request,
            extra_candidates=(*request.extra_candidates, *(tuple(p) for p in extra_candidates)),
        )
    reach = request.reach
    params = reach.params()
    if graph is None:
        graph = load_graph(project, reach)
    kw = {"crs": request.crs, "skip_invalid": request.skip_invalid}
    existing = select_layers(project, [request.existing], default_kind="incubators", **kw)
    excluded = 0
    if not request.include_synthetic_existing:
        existing, excluded = drop_synthetic(existing)
    rule = reach.precision_rule(request.minutes, include_imprecise=request.include_imprecise)
    demand = rule.apply(
        select_layers(project, request.demand, default_kind="enterprises", **kw), "demand"
    )
    rule.require(demand.gdf, "demand")
    sels = {"demand": demand, "existing": rule.apply(existing, "existing")}
    crs = graph.crs if graph is not None else project.metric_crs()
    d_m = sels["demand"].gdf.to_crs(crs)
    e_m = sels["existing"].gdf.to_crs(crs)
    cand_sel: list = []
    cands = candidates(project, request, d_m, selections=cand_sel, rule=rule)
    if cand_sel:
        sels["candidates"] = cand_sel[0]
    cap = "floor_area_m2" if "floor_area_m2" in e_m else None
    if on_progress is not None:
        on_progress(0, len(cands))
    res = run_siting(
        d_m,
        e_m,
        cands,
        params=params,
        minutes=float(request.minutes),
        model=request.model,
        k=None if request.k is None else int(request.k),
        target_share=request.target_share,
        solver=request.solver,
        time_limit=float(request.time_limit),
        weight_col=request.weight,
        capacity_col=cap,
        graph=graph,
        aggregate_m=None if request.aggregate_m is None else float(request.aggregate_m),
        on_progress=on_progress,
    )
    res.by_district = in_district_order(res.by_district, project)  # one stated order
    label = params.label("zh")
    prov = input_provenance(project, **sels)
    summary = _summary(request, res, sels, e_m, len(cands), prov)
    n_ex = rule.roles["existing"]["excluded"]
    summary |= rule.report_fields() | {
        "demand_coarse_excluded": rule.roles["demand"]["excluded"],
        "max_precision_m": None if request.include_imprecise else rule.limit_m(),
        "existing_imprecise_excluded": n_ex,
        "headline": existing_headline(n_ex),
    }
    summary["include_synthetic_existing"] = bool(request.include_synthetic_existing)
    summary["existing_synthetic_excluded"] = excluded
    return Report(
        analysis="site",
        request=request.to_dict(),
        summary=summary,
        tables={
            "selected": res.selected.drop(columns="geometry"),
            "by_zone": res.by_zone,
            "by_district": res.by_district,
        },
        layers={
            "sites": res.selected.assign(method_label=label),
            "catchments": res.catchments,
            "gaps": res.gaps.assign(method_label=label),
        },
        inputs={"demand": d_m, "existing": e_m, "candidates": cands},
        notes=[*precision_notes(summary), *_notes(request, res, summary), *synthetic_note(prov)],
        result=res,
    )
