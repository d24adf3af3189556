"""Hot and cold spots (Getis-Ord Gi* on a hexagonal grid, FDR) and kernel density.

The request is checked against the work it implies before anything is
allocated: the number of hexagons (study area ÷ cell area) and permutations.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

import settings
from geo.hotspots import arcgis_bandwidth, hotspot_cells, kde_surface
from layers.errors import InnoMapError
from layers.project import Project
from workflows.common import (
    PrecisionRule,
    Report,
    check_positive,
    input_provenance,
    precision_notes,
    select_layers,
    study_area,
    study_area_label,
    synthetic_note,
)
from workflows.pointstats import nearest_neighbour_table
from workflows.progress import ProgressFn, stages

__all__ = ["MAX_CELLS", "MAX_PERMUTATIONS", "HotspotsRequest", "kde", "run"]

#: Work limits (named in the error when exceeded).
MAX_CELLS = settings.HOTSPOT_MAX_CELLS
MAX_PERMUTATIONS = settings.HOTSPOT_MAX_PERMUTATIONS
MIN_CELL_M = settings.HOTSPOT_MIN_CELL_M
#: KDE raster size limit (cells).
MAX_KDE_CELLS = settings.KDE_MAX_CELLS


@dataclass(frozen=True)
class HotspotsRequest:
    """A Gi* hot-spot request (hexagon spacing in metres, permutations, study area).

    ``include_imprecise`` uses points coarser than the cell (× the precision factor);
    by default they are left out and counted (``precision`` in the summary).
    """

    layers: tuple[str, ...] = ("enterprises",)
    weight: str | None = None
    cell_m: float = settings.HOTSPOT_CELL_M
    permutations: int = settings.HOTSPOT_PERMUTATIONS
    zone: str | None = None
    crs: str | None = None
    skip_invalid: bool = False
    include_imprecise: bool = False

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(self.layers))
        check_positive("cell_m", self.cell_m, unit=" m")
        if float(self.cell_m) < MIN_CELL_M:
            raise InnoMapError(
                f"cell_m = {self.cell_m:g} m 小于下限 {MIN_CELL_M:g} m / cell_m is below the limit "
                f"{MIN_CELL_M:g} m: choose a larger hexagon spacing"
            )
        p = self.permutations
        if not float(p).is_integer() or not 0 <= int(p) <= MAX_PERMUTATIONS:
            raise InnoMapError(
                f"permutations = {p!r} 超出范围 0–{MAX_PERMUTATIONS} / permutations must be a whole "
                f"number from 0 to {MAX_PERMUTATIONS}"
            )

    def to_dict(self) -> dict:
        return asdict(self) | {"layers": list(self.layers)}

    @classmethod
    def from_dict(cls, d: dict) -> HotspotsRequest:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "layer" in d and "layers" not in known:
            known["layers"] = d["layer"]
        if isinstance(known.get("layers"), str):
            known["layers"] = [known["layers"]]
        return cls(**known)

    def precision_rule(self) -> PrecisionRule:
        """The precision rule: the scale is the cell (hexagon spacing)."""
        c = float(self.cell_m)
        return PrecisionRule(
            scale_m=c,
            basis=f"格网 {c:g} 米",
            basis_en=f"cell {c:g} m",
            include_imprecise=bool(self.include_imprecise),
        )

    def label(self, lang: str = "zh") -> str:
        """The method and its parameters in ``lang``."""
        if lang != "zh":
            return f"Gi* cells {self.cell_m:g} m, {int(self.permutations)} permutations, FDR"
        return (
            f"Gi* 格网 {self.cell_m:g} 米, {int(self.permutations)} 次置换, 错误发现率 (FDR) 校正"
        )


def _check_cells(area, cell_m: float) -> int:
    hex_area = math.sqrt(3) / 2 * cell_m**2
    n = int(area.area / hex_area) + 1
    if n > MAX_CELLS:
        raise InnoMapError(
            f"格网数约 {n:,} 超过上限 {MAX_CELLS:,} / about {n:,} hexagons exceed the limit "
            f"{MAX_CELLS:,}: use a larger cell_m (≥ {math.sqrt(area.area / MAX_CELLS / (math.sqrt(3) / 2)):.0f} m) "
            "or a smaller study area (--zone)"
        )
    return n


def run(
    project: Project, request: HotspotsRequest, *, on_progress: ProgressFn | None = None
) -> Report:
    """Gi* cells (hot/cold at 90/95/99 % after FDR) and Clark–Evans R per kind.

    ``on_progress(done, 3)`` after the points, the Gi* cells and the statistics."""
    step = stages(on_progress, 3)
    sel = select_layers(project, request.layers, crs=request.crs, skip_invalid=request.skip_invalid)
    rule = request.precision_rule()
    sel = rule.apply(sel, "points")
    rule.require(sel.gdf, "points")
    pts = sel.gdf.to_crs(project.metric_crs())
    area = study_area(project, pts, zone=request.zone)
    if request.zone:
        pts = pts[pts.within(area)]
    _check_cells(area, float(request.cell_m))
    step(1)
    cells = hotspot_cells(
        pts,
        cell_m=float(request.cell_m),
        weight_col=request.weight,
        permutations=int(request.permutations),
        area=area,
    )
    cells["cell_m"] = float(request.cell_m)
    step(2)
    counts = {str(k): int(v) for k, v in cells["hotspot_class"].value_counts().items()}
    prov = input_provenance(project, points=sel)
    summary = {
        "layers": list(request.layers),
        "weight": request.weight,
        "cell_m": float(request.cell_m),
        "permutations": int(request.permutations),
        "n_cells": len(cells),
        "classes": counts,
        "classification": "Gi* z sign and Benjamini-Hochberg FDR-adjusted normal p (90/95/99 %); gi_p is the permutation p",
        "nearest_neighbour": nearest_neighbour_table(pts, area),
        "study_area": study_area_label(request.zone),
        "study_area_en": study_area_label(request.zone, "en"),
        "zone": request.zone,
        "synthetic_points": int(pts["synthetic"].sum()) if "synthetic" in pts else 0,
        "skipped_invalid": sel.skipped,
        **prov,
        **rule.report_fields(),
    }
    table = pd.DataFrame({"class": list(counts), "cells": list(counts.values())})
    step(3)
    return Report(
        analysis="hotspots",
        request=request.to_dict(),
        summary=summary,
        tables={"classes": table, "cells": pd.DataFrame(cells.drop(columns="geometry"))},
        layers={"cells": cells},
        inputs={"points": pts},
        notes=[*precision_notes(summary), request.label(), *synthetic_note(prov)],
        result=area,
    )


def kde(report: Report, *, bandwidth_m: float | None = None, weight: str | None = None):
    """Kernel density of a hot-spot report's points (bandwidth default: ArcGIS rule of thumb).

    The raster (cell = bandwidth ÷ 4 over the points' extent) is checked against
    ``MAX_KDE_CELLS`` before it is allocated.
    """
    pts = report.inputs["points"]
    xy = pts.geometry.get_coordinates().to_numpy()
    bw = float(bandwidth_m) if bandwidth_m else arcgis_bandwidth(xy)
    check_positive("bandwidth_m", bw, maximum=100_000, unit=" m")
    span = (np.ptp(xy[:, 0]) + 6 * bw) * (np.ptp(xy[:, 1]) + 6 * bw)
    n = span / (bw / 4) ** 2
    if n > MAX_KDE_CELLS:
        raise InnoMapError(
            f"核密度栅格约 {n:,.0f} 格超过上限 {MAX_KDE_CELLS:,} / the density raster would have about "
            f"{n:,.0f} cells (limit {MAX_KDE_CELLS:,}): use a larger bandwidth"
        )
    w = None if not weight else pts[weight].fillna(0).to_numpy(float)
    return kde_surface(xy, bandwidth_m=bw, weights=w)


def default_bandwidth_m(report: Report) -> float:
    xy = report.inputs["points"].geometry.get_coordinates().to_numpy()
    return float(np.round(arcgis_bandwidth(xy), -1))
