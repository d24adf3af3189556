"""The project model: a planner's unit of work, independent of where it is stored.

A :class:`Project` holds a city (province/city/county adcodes), the metric CRS
chosen from its extent, and *layers*: every layer — districts, zones, corridor
axes, resource points — is a :class:`ProjectLayer` with a ``kind`` (a registry
key), its original file name, input CRS and encoding, import time and rejected
rows. Districts, zones and corridors are the layers of those kinds. A project
also keeps saved analysis runs (:class:`RunRecord`) and road networks
(:class:`ProjectNetwork`).

This module knows no store: :mod:`layers.project` is the public API (open, add,
save …) and dispatches to one module per store (:mod:`layers.store_gpkg`,
:mod:`layers.store_postgis`); what both stores share is :mod:`layers.store_common`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from layers.errors import InnoMapError
from layers.registry import get_spec

__all__ = [
    "DEMO_REF",
    "FORMAT",
    "OUTLINE_KINDS",
    "Project",
    "ProjectConflictError",
    "ProjectError",
    "ProjectLayer",
    "ProjectNetwork",
    "RunRecord",
]

DEMO_REF = "demo"
FORMAT = "innomap-project/1"
#: Kinds that draw as outlines (not resources).
OUTLINE_KINDS = ("districts", "zones", "corridor_axes")


class ProjectError(InnoMapError):
    """A project cannot be opened, created or changed; the message says why."""


class ProjectConflictError(ProjectError):
    """The project changed since it was opened; reload and apply the change again."""


@dataclass
class ProjectLayer:
    """One layer of a project (WGS84, canonical columns of its kind)."""

    name: str
    kind: str
    gdf: gpd.GeoDataFrame
    source_file: str = ""
    crs_in: str = "WGS84"
    encoding: str = ""
    imported_at: str = ""
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)
    table: str = ""
    note: str = ""
    #: What the store said while adding the layer (e.g. zones not added: their name was taken).
    add_notes: list[str] = field(default_factory=list)
    #: Why the layer's table could not be read ("" when it is sound): it opens empty.
    damaged: str = ""
    #: Its table was not as InnoMap wrote it (changed in QGIS …) and was validated again:
    #: what was found ("" when read as written: no second validation). Not stored.
    revalidated: str = ""

    @property
    def rows(self) -> int:
        return len(self.gdf)

    @property
    def synthetic_rows(self) -> int:
        return int(self.gdf["synthetic"].sum()) if "synthetic" in self.gdf else 0

    def info(self) -> dict:
        """JSON-able description (no geometry)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "rows": self.rows,
            "synthetic_rows": self.synthetic_rows,
            "rejected_rows": len(self.rejected),
            "source_file": self.source_file,
            "crs_in": self.crs_in,
            "encoding": self.encoding,
            "imported_at": self.imported_at,
            "note": self.note,
            "damaged": self.damaged,
            "revalidated": self.revalidated,
        }


@dataclass
class ProjectNetwork:
    """A road network kept in the project (its edges are read on demand)."""

    name: str
    source_file: str = ""
    imported_at: str = ""
    edges: int = 0
    table: str = ""

    def info(self) -> dict:
        return {
            "name": self.name,
            "source_file": self.source_file,
            "edges": self.edges,
            "imported_at": self.imported_at,
        }


@dataclass
class RunRecord:
    """A saved analysis run: the full request and its results."""

    id: str
    analysis: str
    title: str
    created_at: str
    request: dict
    summary: dict
    layers: dict[str, str] = field(default_factory=dict)  # name -> GeoJSON text (WGS84)
    #: The run's name, unique in its project (under :func:`layers.filters.zone_key`);
    #: ``""`` for a run saved without one.
    name: str = ""
    #: What reopening the run needs besides its layers (kept beside the run, see
    #: :func:`layers.store_common.run_meta_values`): ``inputs`` (fingerprints of the
    #: project layers it read), ``tables`` (its result tables), ``kind`` (``run`` or
    #: ``scenario``).
    meta: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The run's name, else its title, else its id."""
        return self.name or self.title or self.id

    def result_layer(self, name: str) -> gpd.GeoDataFrame:
        """A stored result layer as a WGS84 GeoDataFrame."""
        text = self.layers.get(name)
        if text is None:
            raise ProjectError(
                f"运行 {self.id} 没有结果图层 {name!r} / run {self.id} has no result layer "
                f"{name!r}: stored layers are {', '.join(self.layers) or 'none'}"
            )
        feats = json.loads(text).get("features", []) if text.strip() else []
        if not feats:
            return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4326), crs=4326)
        return gpd.GeoDataFrame.from_features(feats, crs=4326)


@dataclass
class Project:
    """A planner's project (see the module docstring)."""

    name: str
    province: str
    city: str
    adcode: str
    counties: list[tuple[str, str]]
    metric_epsg: int
    layers: dict[str, ProjectLayer] = field(default_factory=dict)
    runs: list[RunRecord] = field(default_factory=list)
    networks: dict[str, ProjectNetwork] = field(default_factory=dict)
    ref: str = ""
    read_only: bool = False
    version: int = 0
    created_at: str = ""

    # ------------------------------------------------------------------ views
    @property
    def is_demo(self) -> bool:
        return self.ref == DEMO_REF

    def metric_crs(self) -> CRS:
        """The project's metric CRS (metres), used by every analysis."""
        return CRS.from_epsg(self.metric_epsg)

    def crs_label(self) -> str:
        """E.g. ``WGS 84 / UTM zone 50N (EPSG:32650)``."""
        return f"{self.metric_crs().name} (EPSG:{self.metric_epsg})"

    def layers_of_kind(self, kind: str) -> list[ProjectLayer]:
        return [lyr for lyr in self.layers.values() if lyr.kind == kind]

    def kind_frame(self, kind: str) -> gpd.GeoDataFrame:
        """All rows of the layers of ``kind`` (WGS84); empty frame with the kind's columns if none."""
        parts = [lyr.gdf for lyr in self.layers_of_kind(kind)]
        if not parts:
            spec = get_spec(kind)
            cols = list(spec.fields) + list(spec.extra_fields)
            return gpd.GeoDataFrame(
                {c: pd.Series(dtype=object) for c in dict.fromkeys(cols)},
                geometry=gpd.GeoSeries([], crs=4326),
                crs=4326,
            )
        if len(parts) == 1:
            return parts[0].copy()
        return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)

    @property
    def districts(self) -> gpd.GeoDataFrame:
        return self.kind_frame("districts")

    @property
    def zones(self) -> gpd.GeoDataFrame:
        return self.kind_frame("zones")

    @property
    def corridors(self) -> gpd.GeoDataFrame:
        return self.kind_frame("corridor_axes")

    def zone_names(self) -> list[str]:
        z = self.zones
        return [str(n) for n in z["name"]] if len(z) else []

    def district_names(self) -> list[str]:
        """The districts in the one order every page, table and chart uses: as the
        project's district layers list them (a city's counties by administrative code),
        each name once (``workflows.common.district_order``)."""
        d = self.districts
        return list(dict.fromkeys(str(n) for n in d["name"])) if len(d) else []

    def bounds(self) -> tuple[float, float, float, float]:
        """WGS84 bounds of the districts (else of all layers)."""
        d = self.districts
        if len(d):
            return tuple(float(v) for v in d.total_bounds)
        parts = [lyr.gdf for lyr in self.layers.values() if len(lyr.gdf)]
        if not parts:
            raise ProjectError(
                f"项目 {self.name} 没有范围 / project {self.name!r} has no districts and no data: "
                "add districts (project new --city) or a layer first"
            )
        b = pd.concat([p.geometry.bounds for p in parts])
        return (b.minx.min(), b.miny.min(), b.maxx.max(), b.maxy.max())

    def resource_layers(self) -> list[ProjectLayer]:
        """Point layers (everything that is not an outline)."""
        return [lyr for lyr in self.layers.values() if lyr.kind not in OUTLINE_KINDS]

    def run(self, run_id: str) -> RunRecord:
        for r in self.runs:
            if r.id == run_id:
                return r
        raise ProjectError(
            f"未找到运行 / no run {run_id!r} in project {self.name!r}: saved runs are "
            f"{', '.join(r.id for r in self.runs) or 'none'}"
        )

    def info(self) -> dict:
        """JSON-able description of the project (what ``project info --json`` prints)."""
        return {
            "name": self.name,
            "ref": self.ref,
            "read_only": self.read_only,
            "version": self.version,
            "province": self.province,
            "city": self.city,
            "adcode": self.adcode,
            "counties": [{"name": n, "adcode": a} for n, a in self.counties],
            "metric_crs": {"epsg": self.metric_epsg, "name": self.metric_crs().name},
            "layers": [lyr.info() for lyr in self.layers.values()],
            "districts": self.district_names(),
            "zones": [
                {"name": str(r["name"]), "type": str(r.get("subtype", ""))}
                for _, r in self.zones.iterrows()
            ],
            "networks": [n.info() for n in self.networks.values()],
            "runs": [
                {"id": r.id, "analysis": r.analysis, "title": r.title, "created_at": r.created_at}
                for r in self.runs
            ],
        }
