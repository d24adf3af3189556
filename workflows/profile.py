"""Corridor profile: resources per kind and coverage share bin by bin along a corridor axis.

One definition for ``cli.py profile``, the profile page, print maps and the Word
report: build a :class:`ProfileRequest`, call :func:`run`. The axis is a feature
(by its ``name``) or a whole layer of kind ``corridor_axes`` of the project, in
the direction it was drawn; points within ``band_m`` on either side whose
projection falls on the axis are counted in the bin of their projection
(:mod:`geo.profile`). With service layers, each point is *covered* when a
service point is within ``minutes`` (the reach options of coverage/siting).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from itertools import pairwise

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

import settings
from geo.profile import corridor_profile
from geo.reach import TOL_MIN, nearest_service
from layers.errors import InnoMapError
from layers.project import Project
from layers.registry import REGISTRY
from workflows.common import (
    PrecisionRule,
    Report,
    check_positive,
    input_provenance,
    precision_notes,
    select_layers,
    synthetic_note,
)
from workflows.coverage import MAX_MINUTES, ReachOptions, load_graph, request_fields
from workflows.progress import ProgressFn, stages

__all__ = ["AXIS_KIND", "DEFAULT_KINDS", "ProfileRequest", "axis_names", "run"]

#: The project layer kind that holds corridor axes.
AXIS_KIND = "corridor_axes"
#: Default layers: the innovation-resource kinds the project has (communities are demand).
DEFAULT_KINDS = ("platforms", "incubators", "universities", "enterprises", "science_venues")
#: Work limits (named in the error when exceeded).
MAX_BAND_M = settings.PROFILE_MAX_BAND_M
MIN_BIN_M = settings.PROFILE_MIN_BIN_M


@dataclass(frozen=True)
class ProfileRequest:
    """A corridor-profile request.

    Attributes
    ----------
    axis : str
        A feature name of a ``corridor_axes`` layer, or the layer's name (all its
        lines, which must join into one line). Empty: the project's only axis.
    layers : tuple of str
        Point layer references (default: the :data:`DEFAULT_KINDS` the project has).
    bin_m : float
        Bin length along the axis (m); the last bin ends at the axis' end.
    band_m : float
        Band half-width on each side of the axis (m).
    service : tuple of str
        Service layers: points within ``minutes`` of one are covered (optional).
    minutes : float
        Coverage cut-off (minutes), with ``reach`` (mode, method, speed …).
    include_imprecise : bool
        Use points coarser than the precision rule allows: profile points are used when
        ``coord_precision_m`` ≤ min(bin, band) × ``settings.PRECISION_SCALE_FACTOR``,
        service points when ≤ the distance ``minutes`` reach; by default the others are
        left out and counted (``precision`` in the summary).
    """

    axis: str = ""
    layers: tuple[str, ...] = ()
    bin_m: float = settings.PROFILE_BIN_M
    band_m: float = settings.PROFILE_BAND_M
    service: tuple[str, ...] = ()
    minutes: float = settings.COVERAGE_MINUTES[-1]
    reach: ReachOptions = field(default_factory=ReachOptions)
    crs: str | None = None
    skip_invalid: bool = False
    include_imprecise: bool = False

    def __post_init__(self):
        for name in ("layers", "service"):
            v = getattr(self, name)
            object.__setattr__(self, name, (v,) if isinstance(v, str) else tuple(v))
        if isinstance(self.reach, dict):
            object.__setattr__(self, "reach", ReachOptions(**self.reach))
        check_positive("bin_m", self.bin_m, unit=" m")
        if float(self.bin_m) < MIN_BIN_M:
            raise InnoMapError(
                f"bin_m = {self.bin_m:g} m 小于下限 {MIN_BIN_M:g} m / bin_m is below the limit "
                f"{MIN_BIN_M:g} m: use e.g. {settings.PROFILE_BIN_M:g}"
            )
        check_positive("band_m", self.band_m, maximum=MAX_BAND_M, unit=" m")
        check_positive("minutes", self.minutes, maximum=MAX_MINUTES, unit=" min")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["layers"], d["service"] = list(self.layers), list(self.service)
        return d

    def precision_rule(self) -> PrecisionRule:
        """The precision rule: min(bin, band) for the points (services: their reach)."""
        d = min(float(self.bin_m), float(self.band_m))
        return PrecisionRule(
            scale_m=d,
            basis=f"min(分段 {float(self.bin_m):g} 米, 带宽 {float(self.band_m):g} 米)",
            basis_en=f"min(bin {float(self.bin_m):g} m, band {float(self.band_m):g} m)",
            include_imprecise=bool(self.include_imprecise),
        )

    @classmethod
    def from_dict(cls, d: dict) -> ProfileRequest:
        """From :meth:`to_dict` or JSON keys with reach options at the top level."""
        known, reach = request_fields(cls, d)
        return cls(**known, reach=reach)


def axis_names(project: Project) -> list[str]:
    """Names of the project's corridor axes (feature names, else layer names)."""
    out: list[str] = []
    for lyr in project.layers_of_kind(AXIS_KIND):
        names = [str(n) for n in lyr.gdf.get("name", pd.Series(dtype=str)) if str(n).strip()]
        out += names or [lyr.name]
    return list(dict.fromkeys(out))


def _axis(project: Project, name: str):
    """``(line in metres, layer name, rows)`` of the axis named ``name``."""
    layers = project.layers_of_kind(AXIS_KIND)
    names = axis_names(project)
    if not layers:
        raise InnoMapError(
            f"项目 {project.name} 没有走廊轴线 / project {project.name!r} has no corridor axis: add "
            "a line layer with `python cli.py project add FILE --kind corridor_axes`"
        )
    if not name:
        if len(names) != 1:
            raise InnoMapError(
                f"请指定轴线 / name the axis (--axis): the project's axes are {', '.join(names)}"
            )
        name = names[0]
    rows, layer = None, ""
    for lyr in layers:
        g = lyr.gdf
        hit = g[g["name"].astype(str) == name] if "name" in g else g.iloc[:0]
        if len(hit):
            rows, layer = hit, lyr.name
            break
    if rows is None:
        by_layer = [lyr for lyr in layers if lyr.name == name]
        if not by_layer:
            raise InnoMapError(
                f"未知轴线 / unknown axis {name!r}: the project's axes are {', '.join(names)}"
            )
        rows, layer = by_layer[0].gdf, by_layer[0].name
    geom = _axis_line(rows.to_crs(project.metric_crs()).geometry.values, name)
    return geom, layer, rows, name


def _axis_line(geoms, name: str) -> shapely.LineString:
    """One line from the axis features: joined end to end (not cut where it crosses itself)."""
    lines = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        lines += list(g.geoms) if hasattr(g, "geoms") else [g]
    lines = [g for g in lines if isinstance(g, shapely.LineString)]
    if not lines or sum(g.length for g in lines) == 0:
        raise InnoMapError(
            f"轴线 {name} 长度为零 / axis {name!r} has no length (its points coincide or it is "
            "empty): import or draw a line through at least two distinct points"
        )
    geom = lines[0] if len(lines) == 1 else shapely.line_merge(shapely.MultiLineString(lines))
    if not isinstance(geom, shapely.LineString):
        parts = len(getattr(geom, "geoms", [])) or 0
        raise InnoMapError(
            f"轴线 {name} 由 {parts} 段首尾不相连的线组成 / axis {name!r} has {parts} parts that "
            "do not meet end to end: join them into one line, or name one feature"
        )
    return geom


def _kinds(sel) -> np.ndarray:
    """The registry kind of each selected point (from the layer it came from)."""
    by_layer = {str(s["layer"]): str(s["kind"]) for s in sel.sources}
    return sel.gdf["layer"].astype(str).map(by_layer).fillna("").to_numpy()


def _covered(project, request: ProfileRequest, pts_m, near: np.ndarray, graph, rule):
    """Covered flag of each point (only points near the axis are computed) and the selection."""
    if not request.service:
        return None, None
    services = select_layers(
        project,
        request.service,
        default_kind="science_venues",
        crs=request.crs,
        skip_invalid=request.skip_invalid,
    )
    services = rule.apply(
        services, "services", scale_m=request.reach.reach_m(float(request.minutes))
    )
    s_m = services.gdf.to_crs(pts_m.crs)
    cov = np.zeros(len(pts_m), bool)
    if near.any() and len(s_m):
        xy = pts_m.geometry.get_coordinates().to_numpy()[near]
        res = nearest_service(
            xy,
            s_m.geometry.get_coordinates().to_numpy(),
            params=request.reach.params(),
            graph=graph,
        )
        cov[near] = np.nan_to_num(res.minutes, nan=np.inf) <= float(request.minutes) + TOL_MIN
    return cov, services


def _clean(v):
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _summary(request, name, layer, line, table, loc, kinds, cov, sel, services, prov) -> dict:
    inb = loc["in_band"].to_numpy()
    kind_keys = [k for k in REGISTRY if k in set(kinds[inb])]
    n_in = int(inb.sum())
    return {
        "axis": name,
        "axis_layer": layer,
        "axis_length_m": float(line.length),
        "bin_m": float(request.bin_m),
        "band_m": float(request.band_m),
        "n_bins": len(table),
        "layers": list(request.layers),
        "kinds": kind_keys,
        "kind_labels": {k: REGISTRY[k].name_zh for k in kind_keys},
        "points_total": len(loc),
        "points_in_band": n_in,
        "by_kind": {k: int(((kinds == k) & inb).sum()) for k in kind_keys},
        "per_km": n_in / (line.length / 1000.0),
        "service": list(request.service),
        "minutes": float(request.minutes) if request.service else None,
        "method_label": request.reach.params().label("zh") if request.service else None,
        "covered": int((cov & inb).sum()) if cov is not None else None,
        "covered_share": (float((cov & inb).sum() / n_in) if n_in else None)
        if cov is not None
        else None,
        "bins": [{k: _clean(v) for k, v in r.items()} for r in table.to_dict("records")],
        "skipped_invalid": sel.skipped + (services.skipped if services else 0),
        **prov,
    }


def _notes(request: ProfileRequest, summary: dict, approximate: bool, prov: dict) -> list[str]:
    s = summary
    notes = [
        f"方法: 沿轴线每 {s['bin_m']:g} 米分段, 轴线两侧各 {s['band_m']:g} 米",
        f"轴线 {s['axis']} 全长 {s['axis_length_m'] / 1000:.2f} km; 带内资源按其在轴线上的投影位置"
        f"计入分段: {s['points_in_band']:,} 个, 平均 {s['per_km']:.1f} 个/km",
    ]
    if s["covered"] is not None:
        share = s["covered_share"]
        notes.append(
            f"覆盖: {s['method_label']}; {s['minutes']:g} 分钟内有服务点的资源占 "
            + (f"{share:.1%}" if share is not None else "—")
        )
    if approximate:
        notes.append("注: 轴线为示意绘制(approximate), 分段位置仅供参考")
    return [*notes, *synthetic_note(prov)]


def run(
    project: Project, request: ProfileRequest, *, graph=None, on_progress: ProgressFn | None = None
) -> Report:
    """The profile table and chart data of ``request`` along the project's axis;
    ``on_progress(done, 4)`` after the points, the services' reach, the bins and the report."""
    step = stages(on_progress, 4)
    line, layer, rows, name = _axis(project, request.axis)
    refs = list(request.layers) or [k for k in DEFAULT_KINDS if project.layers_of_kind(k)]
    if not refs:
        raise InnoMapError(
            f"项目 {project.name} 没有资源图层 / project {project.name!r} has no resource layers: "
            "add one with `python cli.py project add`"
        )
    sel = select_layers(project, refs, crs=request.crs, skip_invalid=request.skip_invalid)
    rule = request.precision_rule()
    sel = rule.apply(sel, "points")
    rule.require(sel.gdf, "points")
    if request.service and graph is None:
        graph = load_graph(project, request.reach)
    crs = graph.crs if graph is not None else project.metric_crs()
    if crs != project.metric_crs():
        line = gpd.GeoSeries([line], crs=project.metric_crs()).to_crs(crs).iloc[0]
    pts = sel.gdf.to_crs(crs)
    kinds = _kinds(sel)
    xy = pts.geometry.get_coordinates().to_numpy()
    near = shapely.distance(line, shapely.points(xy)) <= float(request.band_m)
    step(1)
    cov, services = _covered(project, request, pts, near, graph, rule)
    step(2)
    order = [k for k in REGISTRY if k in set(kinds[near])]
    table, loc = corridor_profile(
        line, xy, kinds, bin_m=request.bin_m, band_m=request.band_m, covered=cov, kind_order=order
    )
    step(3)
    sels = {"points": sel} | ({"services": services} if services else {})
    prov = input_provenance(project, **sels)
    summary = _summary(request, name, layer, line, table, loc, kinds, cov, sel, services, prov)
    approximate = bool(rows["approximate"].astype(bool).any()) if "approximate" in rows else False
    summary["axis_approximate"] = approximate
    summary |= rule.report_fields()
    inb = loc["in_band"].to_numpy()
    in_pts = pts.assign(
        kind_key=kinds, along_m=loc["along_m"].to_numpy(), bin=loc["bin"].to_numpy()
    )
    if cov is not None:
        in_pts["covered"] = cov
    edges = np.r_[table["from_m"].to_numpy(), table["to_m"].iloc[-1]]
    segments = gpd.GeoDataFrame(
        table[["bin", "from_m", "to_m", "total"]],
        geometry=[substring(line, a, b) for a, b in pairwise(edges)],
        crs=crs,
    )
    step(4)
    return Report(
        analysis="profile",
        request=request.to_dict(),
        summary=summary,
        tables={"profile": table},
        layers={
            "axis": gpd.GeoDataFrame({"name": [name]}, geometry=[line], crs=crs),
            "band": gpd.GeoDataFrame(
                {"band_m": [float(request.band_m)]},
                geometry=[line.buffer(float(request.band_m), cap_style="flat")],
                crs=crs,
            ),
            "segments": segments,
            "points": in_pts[inb].reset_index(drop=True),
        },
        inputs={"points": pts} | ({"services": services.gdf.to_crs(crs)} if services else {}),
        notes=[*precision_notes(summary), *_notes(request, summary, approximate, prov)],
    )
