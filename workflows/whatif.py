"""What-if scenarios: add, remove or move incubators and see the coverage change.

A scenario is a list of sites (WGS84 lon/lat); the baseline is the project's
existing incubators. The page edits the list by map clicks; the CLI (``whatif --add
LON,LAT … --remove ID …``) gives the same edits on the existing incubators
(:func:`scenario_sites`), so both reach the same numbers. Scenarios can be saved with the
project as runs (``analysis="whatif"``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import geopandas as gpd
import pandas as pd

import settings
from geo.siting_geo import scenario_coverage
from layers.errors import InnoMapError
from layers.project import Project
from workflows.common import (
    Report,
    check_positive,
    drop_synthetic,
    input_provenance,
    precision_notes,
    select_layers,
    synthetic_note,
)
from workflows.coverage import ReachOptions, load_graph, request_fields

__all__ = [
    "WhatIfRequest",
    "apply_edit",
    "default_point",
    "existing_sites",
    "run",
    "run_whatif",
    "scenario_sites",
]


@dataclass(frozen=True)
class WhatIfRequest:
    """A scenario: the sites (dicts with id, name, lon, lat, kind) and how reach is measured.

    The baseline is the project's ``existing`` incubators without their synthetic
    records unless ``include_synthetic_existing`` (the summary counts those left out),
    and without demand and existing sites too imprecise for the cut-off unless
    ``include_imprecise`` (:class:`workflows.common.PrecisionRule`, counted).

    ``added`` (``(lon, lat)`` pairs, or ``"lon,lat"`` texts as the CLI's ``--add``) and
    ``removed`` (site ids, ``--remove``) are edits made as the what-if panel's clicks
    (:func:`apply_edit`) on ``sites`` — or, when ``sites`` is empty, on the existing
    incubators the panel starts from (:func:`scenario_sites`).
    """

    sites: tuple[dict, ...] = ()
    demand: tuple[str, ...] = ("enterprises",)
    weight: str | None = None
    existing: str = "incubators"
    minutes: float = settings.SITING_MINUTES
    reach: ReachOptions = field(default_factory=ReachOptions)
    name: str = ""
    include_synthetic_existing: bool = False
    include_imprecise: bool = False
    added: tuple[tuple[float, float], ...] = ()
    removed: tuple[str, ...] = ()

    def __post_init__(self):
        d = self.demand
        object.__setattr__(self, "demand", (d,) if isinstance(d, str) else tuple(d))
        object.__setattr__(self, "sites", tuple(dict(s) for s in self.sites))
        object.__setattr__(self, "added", tuple(_lonlat(v) for v in self.added or ()))
        object.__setattr__(self, "removed", tuple(str(v) for v in self.removed or ()))
        if isinstance(self.reach, dict):
            object.__setattr__(self, "reach", ReachOptions(**self.reach))
        check_positive("minutes", self.minutes, maximum=180, unit=" min")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["demand"], d["sites"] = list(self.demand), [dict(s) for s in self.sites]
        d["added"], d["removed"] = [list(a) for a in self.added], list(self.removed)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> WhatIfRequest:
        known, reach = request_fields(cls, d)
        return cls(**known, reach=reach)


def _lonlat(value) -> tuple[float, float]:
    """An added site's ``(lon, lat)`` from a pair or a ``"lon,lat"`` text (WGS84 degrees)."""
    parts = value.replace("，", ",").split(",") if isinstance(value, str) else list(value)
    try:
        lon, lat = (float(v) for v in parts)
    except (TypeError, ValueError):
        lon = lat = float("nan")
    if not (73.0 <= lon <= 136.0 and 3.0 <= lat <= 54.0):
        raise InnoMapError(
            f"新增站点坐标无效 / bad added site {value!r}: give LON,LAT in WGS84 degrees within "
            "China (longitude 73–136, latitude 3–54), e.g. --add 119.18,34.60"
        )
    return lon, lat


def scenario_sites(project: Project, request: WhatIfRequest) -> list[dict]:
    """The scenario's sites: ``request.sites`` (or, when empty, the existing incubators the
    panel starts from, under the request's precision rule) without ``removed`` and with
    ``added`` as the panel's 新增 clicks (``H1``, ``假设孵化器1`` …)."""
    sites = [dict(s) for s in request.sites] or existing_sites(
        project,
        request.existing,
        include_synthetic=request.include_synthetic_existing,
        minutes=request.minutes,
        reach=request.reach,
        include_imprecise=request.include_imprecise,
    )
    unknown = sorted(set(request.removed) - {str(s["id"]) for s in sites})
    if unknown:
        raise InnoMapError(
            f"没有要删除的站点 / no site {', '.join(unknown)} to remove: sites are "
            f"{', '.join(str(s['id']) for s in sites) or 'none'}"
        )
    sites = [s for s in sites if str(s["id"]) not in set(request.removed)]
    for lon, lat in request.added:
        sites = apply_edit(sites, "add", lon, lat)[0]
    return sites


def _existing(project: Project, existing: str, include_synthetic: bool, rule=None):
    """The existing incubators' selection and how many synthetic ones were left out
    (and, with ``rule``, without those too imprecise for it: role ``existing``)."""
    sel = select_layers(project, [existing], default_kind="incubators")
    sel, n = (sel, 0) if include_synthetic else drop_synthetic(sel)
    return (rule.apply(sel, "existing") if rule is not None else sel), n


def existing_sites(
    project: Project,
    existing: str = "incubators",
    *,
    include_synthetic: bool = False,
    minutes: float | None = None,
    reach: ReachOptions | None = None,
    include_imprecise: bool = False,
) -> list[dict]:
    """The project's existing incubators as scenario sites: synthetic ones only if asked,
    imprecise ones only if asked (else those precise enough for ``minutes`` of ``reach``,
    default the siting cut-off on foot — as :func:`run` counts its baseline)."""
    rule = None
    if not include_imprecise:
        rule = (reach or ReachOptions()).precision_rule(
            minutes or settings.SITING_MINUTES, include_imprecise=False
        )
    return _site_dicts(_existing(project, existing, include_synthetic, rule)[0].gdf)


def _site_dicts(g) -> list[dict]:
    return [
        {
            "id": str(r.id),
            "name": str(r.name),
            "lon": float(r.geometry.x),
            "lat": float(r.geometry.y),
            "kind": "existing",
        }
        for r in g.itertuples()
    ]


def default_point(project: Project) -> tuple[float, float]:
    """A sensible first point for a what-if edit: the first zone's centre, else the districts'."""
    z = project.zones
    geom = z.geometry.iloc[0] if len(z) else project.districts.union_all()
    if geom is None or geom.is_empty:  # no outlines: the centre of the project's data
        w, s, e, n = project.bounds()
        return (w + e) / 2, (s + n) / 2
    p = gpd.GeoSeries([geom], crs=4326).to_crs(project.metric_crs()).representative_point()
    q = p.to_crs(4326).iloc[0]
    return float(q.x), float(q.y)


def _sites_frame(sites, crs) -> gpd.GeoDataFrame:
    df = pd.DataFrame(list(sites), columns=["id", "name", "lon", "lat", "kind"])
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326).to_crs(
        crs
    )


def run(project: Project, request: WhatIfRequest, *, graph=None) -> Report:
    """Coverage of the scenario against the baseline of existing incubators (edits
    ``added``/``removed`` applied first: the report's request lists the sites)."""
    if request.added or request.removed:
        request = replace(request, sites=scenario_sites(project, request), added=(), removed=())
    params = request.reach.params()
    if graph is None:
        graph = load_graph(project, request.reach)
    rule = request.reach.precision_rule(
        request.minutes, include_imprecise=request.include_imprecise
    )
    demand = rule.apply(
        select_layers(project, request.demand, default_kind="enterprises"), "demand"
    )
    rule.require(demand.gdf, "demand")
    crs = graph.crs if graph is not None else project.metric_crs()
    d_m = demand.gdf.to_crs(crs)
    base_sel, excluded = _existing(
        project, request.existing, request.include_synthetic_existing, rule
    )
    base_sites = _sites_frame(_site_dicts(base_sel.gdf), crs)
    sites = _sites_frame(request.sites, crs)
    kw = {
        "params": params,
        "minutes": float(request.minutes),
        "weight_col": request.weight,
        "graph": graph,
    }
    sc = scenario_coverage(d_m, sites, **kw)
    base = scenario_coverage(d_m, base_sites, **kw)
    prov = input_provenance(project, demand=demand, baseline=base_sel)
    summary = {
        "name": request.name,
        "minutes": float(request.minutes),
        "method_label": params.label("zh"),
        "sites": sc["sites"],
        "share": sc["share"],
        "covered": sc["covered"],
        "baseline_sites": base["sites"],
        "baseline_share": base["share"],
        "delta_share": sc["share"] - base["share"],
        "weight_total": sc["weight_total"],
        "added": sum(1 for s in request.sites if s.get("kind") != "existing"),
        "include_synthetic_existing": bool(request.include_synthetic_existing),
        "baseline_synthetic_excluded": excluded,
        **prov,
        **rule.report_fields(),
        "existing_imprecise_excluded": rule.roles["existing"]["excluded"],
    }
    return Report(
        analysis="whatif",
        request=request.to_dict(),
        summary=summary,
        layers={"sites": sites},
        inputs={"demand": d_m, "baseline": base_sites},
        notes=[
            *precision_notes(summary),
            f"方法: {params.label('zh')}",
            *(
                [f"现状孵化器中 {excluded} 个模拟记录未计入 / {excluded} synthetic sites left out"]
                if excluded
                else []
            ),
            *synthetic_note(prov),
        ],
        result=sc,
    )


def _nearest(sites: list[dict], lon: float, lat: float) -> int:
    d = [(s["lon"] - lon) ** 2 + ((s["lat"] - lat) * 1.15) ** 2 for s in sites]
    return min(range(len(d)), key=d.__getitem__)


def apply_edit(
    sites: list[dict], action: str, lon: float, lat: float, *, move_from: str | None = None
) -> tuple[list[dict], str | None, tuple[float, float] | None]:
    """Apply one map click to a scenario.

    Returns ``(sites, move_from, candidate)``: the new site list; the id picked
    for a pending move (first click of ``move``); a clicked candidate (``candidate``).
    """
    sites = [dict(s) for s in sites]
    if action == "add":
        n = sum(1 for s in sites if s["kind"] == "hypothetical") + 1
        sites.append(
            {
                "id": f"H{n}",
                "name": f"假设孵化器{n}",
                "lon": lon,
                "lat": lat,
                "kind": "hypothetical",
            }
        )
    elif action == "candidate":
        return sites, move_from, (lon, lat)
    elif action == "remove" and sites:
        sites.pop(_nearest(sites, lon, lat))
    elif action == "move" and sites:
        if move_from is None:
            return sites, sites[_nearest(sites, lon, lat)]["id"], None
        for s in sites:
            if s["id"] == move_from:
                s["lon"], s["lat"], s["kind"] = lon, lat, "moved"
        return sites, None, None
    return sites, move_from, None


#: The what-if workflow under its descriptive name (same function as :func:`run`).
run_whatif = run
