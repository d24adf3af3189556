"""Point-pattern statistics of a project's points: Clark–Evans R per kind, Ripley's L, CLQ.

The study area is :func:`workflows.common.study_area` (the one definition).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

import settings
from geo.pointstats import PointStatsError, clark_evans, colocation_quotient, ripley_l
from layers.errors import InnoMapError
from layers.project import Project
from workflows.common import (
    PrecisionRule,
    Report,
    input_provenance,
    precision_notes,
    select_layers,
    study_area,
    study_area_label,
    synthetic_note,
)

__all__ = ["PointStatsRequest", "clq", "nearest_neighbour_table", "ripley", "run"]

#: Simulations and permutations of the significance envelopes (bounded).
RIPLEY_SIMULATIONS = settings.RIPLEY_SIMULATIONS
CLQ_PERMUTATIONS = settings.CLQ_PERMUTATIONS


@dataclass(frozen=True)
class PointStatsRequest:
    """Points and study area of the point-pattern statistics.

    Points coarser than ``settings.POINTSTATS_PRECISION_SCALE_M`` (× the precision
    factor) are left out and counted unless ``include_imprecise``.
    """

    layers: tuple[str, ...] = ("enterprises",)
    zone: str | None = None
    crs: str | None = None
    skip_invalid: bool = False
    include_imprecise: bool = False

    def precision_rule(self) -> PrecisionRule:
        d = float(settings.POINTSTATS_PRECISION_SCALE_M)
        return PrecisionRule(
            scale_m=d,
            basis=f"点格局统计尺度 {d:g} 米",
            basis_en=f"point-pattern scale {d:g} m",
            include_imprecise=bool(self.include_imprecise),
        )

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(self.layers))

    def to_dict(self) -> dict:
        return asdict(self) | {"layers": list(self.layers)}

    @classmethod
    def from_dict(cls, d: dict) -> PointStatsRequest:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "layer" in d and "layers" not in known:
            known["layers"] = d["layer"]
        return cls(**known)


def nearest_neighbour_table(points_m: gpd.GeoDataFrame, area, *, lang: str = "en") -> list[dict]:
    """Clark–Evans R per kind inside ``area`` (rows with an ``error`` where n is too small)."""
    out = []
    for kind, grp in points_m.groupby(points_m["kind"].astype(str)):
        xy = grp.geometry.get_coordinates().to_numpy()
        try:
            ce = clark_evans(xy, area=area)
        except PointStatsError as exc:
            out.append({"kind": kind, "n": len(grp), "error": str(exc)})
            continue
        out.append(
            {
                "kind": kind,
                "n": ce.n,
                "observed_mean_nn_m": ce.observed_m,
                "expected_mean_nn_m": ce.expected_m,
                "R": float(ce.R),
                "z": ce.z,
                "p": ce.p,
                "pattern": ce.interpretation(lang),
                "study_area_km2": ce.area_m2 / 1e6,
            }
        )
    return out


def _points(project: Project, request: PointStatsRequest, rule: PrecisionRule | None = None):
    sel = select_layers(project, request.layers, crs=request.crs, skip_invalid=request.skip_invalid)
    rule = rule or request.precision_rule()
    sel = rule.apply(sel, "points")
    pts = sel.gdf.to_crs(project.metric_crs())
    area = study_area(project, pts, zone=request.zone)
    if request.zone:
        pts = pts[pts.within(area)]
    if len(pts) < 2:
        raise InnoMapError("研究区内点太少 / too few points in the study area (need at least 2)")
    return sel, pts, area


def run(project: Project, request: PointStatsRequest, *, lang: str = "en") -> Report:
    """Clark–Evans R per kind (the table the CLI and the page show)."""
    rule = request.precision_rule()
    sel, pts, area = _points(project, request, rule)
    rows = nearest_neighbour_table(pts, area, lang=lang)
    prov = input_provenance(project, points=sel)
    summary = {
        "layers": list(request.layers),
        "study_area": study_area_label(request.zone, "en"),
        "study_area_km2": area.area / 1e6,
        "nearest_neighbour": rows,
        "skipped_invalid": sel.skipped,
        **prov,
        **rule.report_fields(),
    }
    return Report(
        analysis="pointstats",
        request=request.to_dict(),
        summary=summary,
        tables={"nearest_neighbour": pd.DataFrame(rows)},
        inputs={"points": pts},
        notes=[*precision_notes(summary), *synthetic_note(prov)],
        result=area,
    )


def ripley(project: Project, request: PointStatsRequest, *, kind: str, steps: int = 20) -> dict:
    """Ripley's L of one kind with a CSR envelope (distances up to a quarter of the area's side)."""
    _sel, pts, area = _points(project, request)
    sub = pts[pts["kind"].astype(str) == kind].geometry.get_coordinates().to_numpy()
    dmax = np.sqrt(area.area) / 4
    return ripley_l(
        sub,
        area=area,
        distances_m=np.linspace(dmax / steps, dmax, steps),
        simulations=RIPLEY_SIMULATIONS,
    ) | {"n": len(sub), "kind": kind}


def clq(project: Project, request: PointStatsRequest, *, kind_a: str, kind_b: str) -> dict:
    """Co-location quotient of ``kind_a`` → ``kind_b`` with permutations."""
    _sel, pts, _area = _points(project, request)
    return colocation_quotient(
        pts.geometry.get_coordinates().to_numpy(),
        pts["kind"].astype(str).to_numpy(),
        kind_a,
        kind_b,
        permutations=CLQ_PERMUTATIONS,
    )
