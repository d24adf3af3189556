"""15-minute service circles: the share of demand within cut-offs of service points.

One definition for ``cli.py coverage``, the coverage page and the print map/pack:
build a :class:`CoverageRequest`, call :func:`run`. The reach options
(:class:`ReachOptions`) are shared with siting and what-if.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import geopandas as gpd
import pandas as pd

import settings
from geo.coverage import GB50180_TIERS, gb50180_preset, run_coverage, sensitivity_table
from geo.reach import ReachParams
from layers.errors import InnoMapError
from layers.project import Project
from workflows.choices import MODES, PRESETS, REACH_METHODS
from workflows.common import (
    PrecisionRule,
    Report,
    check_positive,
    in_district_order,
    input_provenance,
    precision_notes,
    select_layers,
    study_area,
    study_area_label,
    synthetic_note,
)
from workflows.progress import ProgressFn, stages

__all__ = [
    "GB50180_TIERS",
    "MAX_CUTOFFS",
    "MAX_MINUTES",
    "MODES",
    "PRESETS",
    "REACH_METHODS",
    "SENSITIVITY_FACTORS",
    "CoverageRequest",
    "ReachOptions",
    "demand_output",
    "gb50180_preset",
    "load_graph",
    "request_fields",
    "run",
    "sensitivity",
]

#: Work limits (named in the error when exceeded).
MAX_MINUTES = settings.MAX_MINUTES
MAX_CUTOFFS = settings.MAX_CUTOFFS
MAX_SPEED_KMH = settings.MAX_SPEED_KMH
#: Named presets of a coverage request (mode, speed and cut-offs set by a standard).
#: Speeds of the sensitivity table, as factors of the request's speed.
SENSITIVITY_FACTORS: tuple[float, ...] = (0.75, 0.875, 1.0, 1.125, 1.25)


@dataclass(frozen=True)
class ReachOptions:
    """How travel time is measured (shared by coverage, siting and what-if).

    ``method`` defaults to ``network`` when a network is given, else ``straight``
    (the straight-line approximation, labelled as such everywhere).
    ``network`` is a road network kept in the project or a network file.
    """

    mode: str = "walk"
    method: str | None = None
    speed_kmh: float | None = None
    detour: float = settings.DETOUR
    max_snap_m: float = settings.MAX_SNAP_M
    network: str | None = None

    def __post_init__(self):
        if self.mode not in MODES:
            raise InnoMapError(
                f"未知出行方式 / unknown mode {self.mode!r}: use walk, bike or drive"
            )
        method = self.method or ("network" if self.network else "straight")
        if method not in REACH_METHODS:
            raise InnoMapError(
                f"未知方法 / unknown method {self.method!r}: use network or straight"
            )
        if method == "network" and not self.network:
            raise InnoMapError(
                "路网法需要路网 / the network method needs a road network: give --network "
                "(a network kept in the project or a file), or use --method straight"
            )
        object.__setattr__(self, "method", method)
        if self.speed_kmh is not None:
            check_positive("speed_kmh", self.speed_kmh, maximum=MAX_SPEED_KMH, unit=" km/h")
        check_positive("detour", self.detour, maximum=5.0)
        if float(self.detour) < 1.0:
            raise InnoMapError(f"绕行系数不能小于 1 / detour must be ≥ 1, got {self.detour}")
        check_positive("max_snap_m", self.max_snap_m, maximum=10_000, unit=" m")

    def reach_m(self, minutes: float) -> float:
        """Distance reached within ``minutes`` at the mode's speed (m): the precision scale.

        Speed × time, before the detour (15 min walk at 4.5 km/h = 1,125 m); drive on a
        network (speed by road class) at ``settings.STRAIGHT_DRIVE_KMH``.
        """
        v = self.params().effective_speed_kmh or settings.STRAIGHT_DRIVE_KMH
        return float(v) * 1000.0 / 60.0 * float(minutes)

    def precision_rule(self, minutes: float, *, include_imprecise: bool) -> PrecisionRule:
        """The precision rule of an analysis reaching ``minutes`` (the largest cut-off)."""
        v = self.params().effective_speed_kmh or settings.STRAIGHT_DRIVE_KMH
        mode_zh = {"walk": "步行", "bike": "骑行", "drive": "驾车"}[self.mode]
        d = self.reach_m(minutes)
        return PrecisionRule(
            scale_m=d,
            basis=f"{float(minutes):g} 分钟{mode_zh} ({float(v):g} km/h) 可达 {d:,.0f} 米",
            basis_en=f"{float(minutes):g} min {self.mode} at {float(v):g} km/h reaches {d:,.0f} m",
            include_imprecise=bool(include_imprecise),
        )

    def params(self) -> ReachParams:
        return ReachParams(
            method=self.method,
            mode=self.mode,
            speed_kmh=self.speed_kmh,
            detour=float(self.detour),
            max_snap_m=float(self.max_snap_m),
        )


def cutoff_minutes(values) -> tuple[float, ...]:
    """Cut-off minutes, sorted and distinct: a number, a list or a comma-separated text
    (``5,10,15``); each finite, > 0 and ≤ :data:`MAX_MINUTES`, at most :data:`MAX_CUTOFFS`.

    The one check of minutes: requests call it, and the command line's ``--minutes``.
    """
    text = values if isinstance(values, str) else ",".join(map(str, _listed(values)))
    shown = text if len(text) <= 60 else text[:59] + "…"
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InnoMapError(
            f"minutes {shown!r}: 应为逗号分隔的分钟数 / give comma-separated minutes, e.g. 5,10,15"
        ) from None
    if not vals:
        raise InnoMapError("没有时间阈值 / no cut-off minutes given: e.g. 5,10,15")
    if not all(math.isfinite(v) and 0 < v <= MAX_MINUTES for v in vals):
        raise InnoMapError(
            f"minutes {shown!r}: 分钟数须为有限正数且不超过 {MAX_MINUTES:g} / minutes must be "
            f"finite, > 0 and ≤ {MAX_MINUTES:g}"
        )
    if len(set(vals)) > MAX_CUTOFFS:
        raise InnoMapError(
            f"{len(set(vals))} 个时间阈值超过上限 {MAX_CUTOFFS} / {len(set(vals))} cut-offs "
            f"exceed the limit of {MAX_CUTOFFS}: give fewer minutes"
        )
    return tuple(sorted(set(vals)))


def _listed(values) -> list:
    return [values] if isinstance(values, (int, float)) else list(values)


_minutes = cutoff_minutes


@dataclass(frozen=True)
class CoverageRequest:
    """A coverage request (layer references resolved against the project).

    Attributes
    ----------
    service, demand : tuple of str
        Layer references (project layer names, kinds, ``kind:subtype``, files).
    weight : str, optional
        Demand weight column (e.g. ``employees``).
    minutes : tuple of float
        Cut-offs (finite, positive, ≤ :data:`MAX_MINUTES`, at most :data:`MAX_CUTOFFS`).
    reach : ReachOptions
        Mode, method, speed, detour, snapping and road network.
    zone : str, optional
        A project zone: only demand inside it counts, and it is the study area of
        the blind spots (default: :func:`workflows.common.study_area` of the demand).
    preset : {"gb50180"}, optional
        GB 50180-2018 life circles: walk at 4 km/h, cut-offs = 300/500/1000 m
        (sets ``reach.mode``, ``reach.speed_kmh`` and ``minutes``).
    crs, skip_invalid
        For layer references that are files.
    include_imprecise : bool
        Use points coarser than the precision rule allows
        (:class:`workflows.common.PrecisionRule`: ``coord_precision_m`` ≤ the distance
        the largest cut-off reaches × ``settings.PRECISION_SCALE_FACTOR``); by default
        they are left out of demand and services and counted in the summary
        (``precision``, ``demand_coarse_excluded``).
    include_coarse : bool
        The former name of ``include_imprecise`` (saved requests still load).
    no_geometry : bool
        Output only: the per-demand result layer (``demand.gpkg``) is written as a
        table without geometry (``--no-geometry``); the analysis is the same.
    """

    service: tuple[str, ...] = ("science_venues",)
    demand: tuple[str, ...] = ("enterprises",)
    weight: str | None = None
    minutes: tuple[float, ...] = settings.COVERAGE_MINUTES
    reach: ReachOptions = field(default_factory=ReachOptions)
    zone: str | None = None
    preset: str | None = None
    crs: str | None = None
    skip_invalid: bool = False
    include_coarse: bool = False
    include_imprecise: bool = False
    no_geometry: bool = False

    def __post_init__(self):
        both = bool(self.include_imprecise or self.include_coarse)
        object.__setattr__(self, "include_imprecise", both)
        object.__setattr__(self, "include_coarse", both)
        for name in ("service", "demand"):
            v = getattr(self, name)
            object.__setattr__(self, name, (v,) if isinstance(v, str) else tuple(v))
        if isinstance(self.reach, dict):
            object.__setattr__(self, "reach", ReachOptions(**self.reach))
        if self.preset is not None:
            if self.preset not in PRESETS:
                raise InnoMapError(
                    f"未知预设 / unknown preset {self.preset!r}: use {', '.join(PRESETS)}"
                )
            pre = gb50180_preset()
            object.__setattr__(self, "minutes", pre["minutes"])
            r = asdict(self.reach) | {"mode": pre["mode"], "speed_kmh": pre["speed_kmh"]}
            object.__setattr__(self, "reach", ReachOptions(**r))
        object.__setattr__(self, "minutes", _minutes(self.minutes))
        if self.zone is not None and not str(self.zone).strip():
            object.__setattr__(self, "zone", None)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["service"], d["demand"], d["minutes"] = (
            list(self.service),
            list(self.demand),
            list(self.minutes),
        )
        return d

    @classmethod
    def from_dict(cls, d: dict) -> CoverageRequest:
        """From :meth:`to_dict` or the CLI's JSON keys (``mode``, ``speed_kmh`` … at top level)."""
        known, reach = request_fields(cls, d)
        return cls(**known, reach=reach)


def request_fields(cls, d: dict) -> tuple[dict, ReachOptions]:
    """The fields of request class ``cls`` and its :class:`ReachOptions` from JSON keys.

    Reach options may be nested (``"reach": {...}``, as :meth:`to_dict` writes) or
    at the top level (as ``export-map --params`` takes them). An unknown key is an
    error naming the keys allowed, so a typo never silently falls back to a default.
    """
    if not isinstance(d, dict):
        raise InnoMapError(
            f"{cls.__name__} 参数应为 JSON 对象 / parameters must be a JSON object, got "
            f"{type(d).__name__}"
        )
    reach_keys = set(ReachOptions.__dataclass_fields__)
    fields = set(cls.__dataclass_fields__)
    unknown = sorted(set(d) - reach_keys - fields)
    if unknown:
        allowed = sorted((fields - {"reach"}) | reach_keys)
        raise InnoMapError(
            f"未知参数 / unknown parameter(s) {', '.join(map(repr, unknown))} for "
            f"{cls.__name__}: use {', '.join(allowed)}"
        )
    nested = d.get("reach") or {}
    if isinstance(nested, ReachOptions):
        nested = asdict(nested)
    bad = sorted(set(nested) - reach_keys)
    if bad:
        raise InnoMapError(
            f"未知出行参数 / unknown reach option(s) {', '.join(map(repr, bad))}: use "
            f"{', '.join(sorted(reach_keys))}"
        )
    reach = dict(nested) | {k: v for k, v in d.items() if k in reach_keys}
    known = {k: v for k, v in d.items() if k in fields and k != "reach"}
    return known, ReachOptions(**reach)


def load_graph(project: Project, reach: ReachOptions):
    """The road graph of ``reach`` (``None`` for the straight-line method)."""
    if reach.method != "network":
        return None
    from workflows.network import project_graph

    return project_graph(project, reach.network)


def _clean(records: list[dict]) -> list[dict]:
    out = []
    for r in records:
        out.append(
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in r.items()
            }
        )
    return out


def _inputs(project: Project, request: CoverageRequest, crs, rule: PrecisionRule):
    """Services and demand (selections and metric frames, precise enough for ``rule``);
    demand kept inside the zone."""
    kw = {"crs": request.crs, "skip_invalid": request.skip_invalid}
    services = select_layers(project, request.service, default_kind="science_venues", **kw)
    demand = select_layers(project, request.demand, default_kind="enterprises", **kw)
    services = rule.apply(services, "services")
    demand = rule.apply(demand, "demand")
    rule.require(demand.gdf, "demand")
    rule.require(services.gdf, "services")
    d_m = demand.gdf.to_crs(crs)
    s_m = services.gdf.to_crs(crs)
    if len(d_m) == 0 or len(s_m) == 0:
        raise InnoMapError("需求或服务点为空 / no demand or no service points: check the layers")
    n_outside = 0
    if request.zone:
        inside = d_m.within(study_area(project, d_m, zone=request.zone))
        n_outside = int((~inside).sum())
        d_m = d_m[inside].reset_index(drop=True)
        if d_m.empty:
            raise InnoMapError(
                f"片区 {request.zone} 内没有需求点 / no demand point lies in zone "
                f"{request.zone!r}: choose another zone or no zone"
            )
    return services, demand, s_m, d_m, n_outside


def _summary(request: CoverageRequest, res, services, demand, n_outside: int, prov: dict) -> dict:
    """summary.json of a coverage run (every key the CLI has always written, plus provenance)."""
    reach, params = request.reach, res.params
    return {
        "method": reach.method,
        "method_label": params.label("zh"),
        "method_label_en": params.label("en"),
        "mode": reach.mode,
        "speed_kmh": params.effective_speed_kmh,
        "detour": params.detour if reach.method == "straight" else None,
        "network": reach.network,
        "minutes": list(res.minutes),
        "service": list(request.service),
        "demand": list(request.demand),
        "weight": request.weight,
        "zone": request.zone,
        "preset": request.preset,
        "study_area": study_area_label(request.zone, "zh"),
        "study_area_en": study_area_label(request.zone, "en"),
        "demand_outside_zone": n_outside,
        "demand_total": int(res.summary["demand_total"].iloc[0]),
        "weight_total": float(res.summary["weight_total"].iloc[0]),
        "results": _clean(
            res.summary[["minutes", "covered", "share", "weighted_share"]].to_dict("records")
        ),
        "by_zone": _clean(res.by_zone.to_dict("records")),
        "by_district": _clean(res.by_district.to_dict("records")),
        "zone_area": _clean(res.zone_area.to_dict("records")),
        "unsnapped": res.unsnapped_demand,
        "unsnapped_services": res.unsnapped_service,
        "synthetic_demand": demand.synthetic_rows > 0,
        "synthetic_services": services.synthetic_rows > 0,
        "skipped_invalid": services.skipped + demand.skipped,
        "skipped_rows": services.skipped_rows + demand.skipped_rows,
        **prov,
    }


def run(
    project: Project, request: CoverageRequest, *, graph=None, on_progress: ProgressFn | None = None
) -> Report:
    """Coverage of the demand by the services within each cut-off, in the project's metric CRS.

    ``graph`` may be passed when the caller already holds the request's road graph.
    The study area of the blind spots is :func:`workflows.common.study_area`
    (the zone, else the demand's hull + ``settings.STUDY_AREA_BUFFER_M``).
    ``on_progress(done, 4)`` after the road graph, the inputs, the analysis and the report.
    """
    step = stages(on_progress, 4)
    params = request.reach.params()
    if graph is None:
        graph = load_graph(project, request.reach)
    step(1)
    crs = graph.crs if graph is not None else project.metric_crs()
    rule = request.reach.precision_rule(
        max(request.minutes), include_imprecise=request.include_imprecise
    )
    services, demand, s_m, d_m, n_outside = _inputs(project, request, crs, rule)
    step(2)
    res = run_coverage(
        d_m,
        s_m,
        params=params,
        minutes=request.minutes,
        weight_col=request.weight,
        graph=graph,
        zones=project.zones.to_crs(crs),
        study_area=study_area(project, d_m, zone=request.zone),
    )
    res.by_district = in_district_order(res.by_district, project)  # one stated order
    step(3)
    prov = input_provenance(project, services=services, demand=demand)
    summary = _summary(request, res, services, demand, n_outside, prov)
    summary |= rule.report_fields() | {
        "demand_coarse_excluded": rule.roles["demand"]["excluded"],
        "max_precision_m": None if request.include_imprecise else rule.limit_m(),
    }
    label = params.label("zh")
    dem = res.demand.assign(travel_min=res.demand["travel_min"].astype(float), method_label=label)
    share = ", ".join(f"{r.minutes:g} 分钟 {r.share:.1%}" for r in res.summary.itertuples())
    step(4)
    return Report(
        analysis="coverage",
        request=request.to_dict(),
        summary=summary,
        tables={
            "results": res.summary,
            "by_district": res.by_district,
            "by_zone": res.by_zone,
            "zone_area": res.zone_area,
        },
        layers={
            "demand": dem,
            "isochrones": res.isochrones.assign(method_label=label),
            "coverage_areas": res.coverage_areas,
            "blind_spots": res.blind_spots.assign(method_label=label),
        },
        inputs={"services": s_m, "demand": d_m},
        # the demand's own WGS84 points, row for row (none left out by a zone)
        wgs84={"demand": demand.gdf.geometry.values} if len(demand.gdf) == len(dem) else {},
        notes=[
            *precision_notes(summary),
            f"方法: {label}",
            f"覆盖率: {share}",
            f"研究范围: {study_area_label(request.zone, 'zh')}",
            *synthetic_note(prov),
        ],
        result=res,
    )


def sensitivity(
    project: Project,
    report: Report,
    *,
    factors: tuple[float, ...] = SENSITIVITY_FACTORS,
    graph=None,
    on_progress: ProgressFn | None = None,
):
    """Covered share for speeds around the request's speed × its cut-offs.

    Uses the demand and services of ``report`` (so the zone and the layers are the
    report's). Drive on a network (speed by road class) varies a uniform speed
    around ``settings.STRAIGHT_DRIVE_KMH``. ``on_progress(done, total)`` counts the
    speeds computed (one step each).
    """
    req = CoverageRequest.from_dict(report.request)
    params = req.reach.params()
    base = params.effective_speed_kmh or settings.STRAIGHT_DRIVE_KMH
    speeds = tuple(sorted({round(base * f, 2) for f in factors}))
    d_m, s_m = report.inputs["demand"], report.inputs["services"]
    if graph is None:
        graph = load_graph(project, req.reach)
    weights = None
    if req.weight:
        weights = pd.to_numeric(d_m[req.weight], errors="coerce").fillna(0).to_numpy(float)
    return sensitivity_table(
        d_m.geometry.get_coordinates().to_numpy(),
        s_m.geometry.get_coordinates().to_numpy(),
        params=params,
        minutes=req.minutes,
        speeds_kmh=speeds,
        graph=graph,
        weights=weights,
        on_progress=on_progress,
    )


#: Input columns the per-demand result layer keeps: they name the input row.
DEMAND_KEY_COLUMNS: tuple[str, ...] = ("id", "layer")


def demand_output(report: Report, *, geometry: bool = True) -> pd.DataFrame:
    """The per-demand result layer as written to ``demand.gpkg``: one row per demand point
    with its id and layer and what the analysis found (nearest service, minutes, snapped,
    covered flags) — the input columns copied onto it (name, address, weight …) are left
    out, they are in the project. WGS84 points, or a table without geometry when
    ``geometry`` is false (``--no-geometry``)."""
    dem = report.layers["demand"]
    inputs = report.inputs.get("demand")
    copied = set(inputs.columns if inputs is not None else ()) - set(DEMAND_KEY_COLUMNS)
    cols = [
        c
        for c in dem.columns
        if c != dem.geometry.name and c not in copied and c != "method_label"
    ]
    if not geometry:
        return pd.DataFrame(dem[cols]).reset_index(drop=True)
    points = report.wgs84.get("demand")
    if points is None or len(points) != len(dem):
        return dem[[*cols, dem.geometry.name]].to_crs(4326)
    return gpd.GeoDataFrame(dem[cols].reset_index(drop=True), geometry=points, crs=4326)
