"""Density clusters (DBSCAN / HDBSCAN in metres) of a project's point layers.

``cli.py clusters``, the clusters page and the print map/pack call :func:`run`
with a :class:`ClustersRequest`, so the same request gives the same clusters.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd

import settings
from geo.clusters import cluster_points, cluster_summary
from layers.errors import InnoMapError
from layers.project import Project
from workflows.choices import CLUSTER_METHODS
from workflows.common import (
    PrecisionRule,
    Report,
    check_positive,
    input_provenance,
    precision_notes,
    select_layers,
    synthetic_note,
    zone_geometry,
)

__all__ = ["MAX_EPS_M", "MAX_MIN_SAMPLES", "METHODS", "ClustersRequest", "run"]

#: Limits that bound the work of a request (named in the error when exceeded).
MAX_EPS_M = settings.CLUSTER_MAX_EPS_M
METHODS = CLUSTER_METHODS
MAX_MIN_SAMPLES = settings.CLUSTER_MAX_MIN_SAMPLES


@dataclass(frozen=True)
class ClustersRequest:
    """A density-clustering request.

    Attributes
    ----------
    layers : tuple of str
        Layer references (project layer names, kinds, ``kind:subtype``, files).
    method : {"dbscan", "hdbscan"}
    eps_m : float
        DBSCAN radius (metres).
    min_samples : int
    min_cluster_size : int
        HDBSCAN minimum cluster size.
    weight : str, optional
        DBSCAN sample weight column.
    zone : str, optional
        Keep only points inside this project zone.
    include_imprecise : bool
        Use points coarser than the precision rule allows (``coord_precision_m`` ≤
        :meth:`scale_m` × ``settings.PRECISION_SCALE_FACTOR``); by default they are left
        out and counted (``precision`` in the summary).
    """

    layers: tuple[str, ...] = ("enterprises",)
    method: str = "dbscan"
    eps_m: float = settings.CLUSTER_EPS_M
    min_samples: int = settings.CLUSTER_MIN_SAMPLES
    min_cluster_size: int = settings.CLUSTER_MIN_CLUSTER_SIZE
    weight: str | None = None
    zone: str | None = None
    crs: str | None = None
    skip_invalid: bool = False
    include_imprecise: bool = False

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(self.layers))
        if self.method not in METHODS:
            raise InnoMapError(
                f"未知聚类方法 / unknown method {self.method!r}: use dbscan or hdbscan"
            )
        check_positive("eps_m", self.eps_m, maximum=MAX_EPS_M, unit=" m")
        for name, v in (
            ("min_samples", self.min_samples),
            ("min_cluster_size", self.min_cluster_size),
        ):
            check_positive(name, v, maximum=MAX_MIN_SAMPLES)
            if not float(v).is_integer():
                raise InnoMapError(f"{name} 应为整数 / {name} must be a whole number, got {v!r}")

    def to_dict(self) -> dict:
        return asdict(self) | {"layers": list(self.layers)}

    @classmethod
    def from_dict(cls, d: dict) -> ClustersRequest:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "layer" in d and "layers" not in known:  # CLI JSON name
            known["layers"] = d["layer"]
        if isinstance(known.get("layers"), str):
            known["layers"] = [known["layers"]]
        return cls(**known)

    def scale_m(self) -> float:
        """The precision scale: eps (DBSCAN), ``settings.HDBSCAN_PRECISION_SCALE_M`` (HDBSCAN)."""
        if self.method == "dbscan":
            return float(self.eps_m)
        return float(settings.HDBSCAN_PRECISION_SCALE_M)

    def precision_rule(self) -> PrecisionRule:
        d = self.scale_m()
        zh, en = (
            (f"DBSCAN eps {d:g} 米", f"DBSCAN eps {d:g} m")
            if self.method == "dbscan"
            else (f"HDBSCAN 尺度 {d:g} 米 (街区尺度)", f"HDBSCAN scale {d:g} m (street blocks)")
        )
        return PrecisionRule(
            scale_m=d, basis=zh, basis_en=en, include_imprecise=bool(self.include_imprecise)
        )

    def label(self, lang: str = "zh") -> str:
        """The method and its parameters in ``lang`` ("zh": 邻域半径 300 米, …)."""
        ms = int(self.min_samples)
        if lang != "zh":
            if self.method == "dbscan":
                return f"DBSCAN eps={self.eps_m:g} m, min_samples={ms}"
            return f"HDBSCAN min_cluster_size={int(self.min_cluster_size)}, min_samples={ms}"
        if self.method == "dbscan":
            return f"DBSCAN 邻域半径 {self.eps_m:g} 米, 核心点最少点数 {ms}"
        return f"HDBSCAN 最小簇规模 {int(self.min_cluster_size)}, 核心点最少点数 {ms}"


def run(project: Project, request: ClustersRequest) -> Report:
    """Cluster the points of ``request.layers`` in the project's metric CRS.

    Returns a :class:`~workflows.common.Report`: ``summary`` (the CLI's
    summary.json), ``layers['points']`` (labelled points) and ``layers['clusters']``
    (hull polygons), ``tables['clusters']``.
    """
    sel = select_layers(project, request.layers, crs=request.crs, skip_invalid=request.skip_invalid)
    rule = request.precision_rule()
    sel = rule.apply(sel, "points")
    rule.require(sel.gdf, "points")
    pts = sel.gdf.to_crs(project.metric_crs())
    if request.zone:
        area = zone_geometry(project, request.zone, pts.crs)
        pts = pts[pts.within(area)]
    if len(pts) == 0:
        raise InnoMapError("没有可聚类的点 / no points to cluster: check the layers and the zone")
    labelled = cluster_points(
        pts,
        method=request.method,
        eps_m=float(request.eps_m),
        min_samples=int(request.min_samples),
        min_cluster_size=int(request.min_cluster_size),
        weight_col=request.weight,
    )
    summ = cluster_summary(labelled, zones=project.zones, districts=project.districts)
    prov = input_provenance(project, points=sel)
    params = {
        "method": request.method,
        "eps_m": float(request.eps_m) if request.method == "dbscan" else None,
        "min_samples": int(request.min_samples),
        "min_cluster_size": int(request.min_cluster_size) if request.method == "hdbscan" else None,
        "weight": request.weight,
        "layers": list(request.layers),
    }
    clusters = [
        {
            "id": int(r["id"]),
            "size": int(r["size"]),
            "by_kind": r["by_kind"],
            "label": r["label"],
            "centroid_lon": float(r["centroid_lon"]),
            "centroid_lat": float(r["centroid_lat"]),
            "area_km2": float(r["area_km2"]),
            "density_per_km2": float(r["density_per_km2"])
            if math.isfinite(float(r["density_per_km2"]))
            else None,
            "zone": r.get("zone", ""),
            "district": r.get("district", ""),
        }
        for _, r in summ.iterrows()
    ]
    summary = {
        **params,
        "zone": request.zone,
        "params_label": request.label(),
        "params_label_en": request.label("en"),
        "n_points": len(labelled),
        "n_clusters": len(summ),
        "n_noise": int((labelled["cluster"] < 0).sum()),
        "clusters": clusters,
        "synthetic_points": int(labelled["synthetic"].sum()) if "synthetic" in labelled else 0,
        "skipped_invalid": sel.skipped,
        **prov,
        **rule.report_fields(),
    }
    table = pd.DataFrame(
        summ.drop(columns=["geometry", "centroid_x", "centroid_y"], errors="ignore")
    )
    if len(table):
        table["by_kind"] = table["by_kind"].map(
            lambda d: "、".join(f"{k} {v}" for k, v in d.items())
        )
    hulls = summ.drop(columns=["centroid_x", "centroid_y"], errors="ignore")
    return Report(
        analysis="clusters",
        request=request.to_dict(),
        summary=summary,
        tables={"clusters": table},
        layers={"points": labelled, "clusters": hulls},
        inputs={"points": pts},
        notes=[*precision_notes(summary), request.label(), *synthetic_note(prov)],
    )
