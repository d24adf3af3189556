"""What the project stores share (:mod:`layers.store_gpkg`, :mod:`layers.store_postgis`).

One place for: the clock and the acting user of the audit table, the copy of a layer
a store can write (:func:`_storable`) and the canonical columns it reads back
(:func:`_read_back`), generated table names and free layer names, the zone-name check
made inside a store's write lock, and the row mapping between the model
(:mod:`layers.project_model`) and the stores' tables — written and read the same way
by every store.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from io import StringIO

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from layers.project_model import (
    Project,
    ProjectConflictError,
    ProjectError,
    ProjectLayer,
    ProjectNetwork,
    RunRecord,
)
from layers.registry import REGISTRY, normalise_columns


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user() -> str:
    """Name of the acting user for the audit table (see :func:`layers.auth.current_actor`)."""
    from layers import auth

    who = auth.current_actor()
    return who.name if who else "anonymous"


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


def _table_name(prefix: str = "lyr") -> str:
    """A new table name InnoMap generates: ``lyr_<hex>`` (layers), ``net_`` (networks),
    ``gaz_`` (address registers)."""
    return f"{prefix}_" + uuid.uuid4().hex[:12]


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)`` … — the first not in ``taken``."""
    out, n = name, 2
    while out in taken:
        out, n = f"{name} ({n})", n + 1
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


# ---------------------------------------------------------------- row mapping (every store)
#: Columns of a layers-table row as the stores read it (:func:`layer_from_row`).
LAYER_READ_COLUMNS = "name, kind, tbl, source_file, crs_in, encoding, imported_at, note"
#: Columns of a runs-table row (:func:`run_values`, :func:`run_from_row`).
RUN_COLUMNS = "id, analysis, title, created_at, request, summary, layers"
#: Columns of a networks-table row (:func:`network_values`, :func:`network_from_row`).
NETWORK_COLUMNS = "name, tbl, source_file, imported_at, edges"


def layer_values(lyr: ProjectLayer, tbl: str, pos: int) -> tuple:
    """``(name, kind, tbl, position, source_file, crs_in, encoding, imported_at, rows, note)``."""
    return (
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
    )


def rejected_text(rejected: pd.DataFrame) -> str:
    """A layer's rejected rows as stored (JSON, ``orient="split"``, every value as text)."""
    return rejected.astype(str).to_json(orient="split", force_ascii=False)


def run_values(rec: RunRecord) -> tuple:
    """``(id, analysis, title, created_at, request, summary, layers)``, the last three as JSON."""
    return (
        rec.id,
        rec.analysis,
        rec.title,
        rec.created_at,
        json.dumps(rec.request, ensure_ascii=False),
        json.dumps(rec.summary, ensure_ascii=False),
        json.dumps(rec.layers, ensure_ascii=False),
    )


#: Columns of a run-meta row (:func:`run_meta_values`, :func:`apply_run_meta`): a run's
#: name and what reopening it needs, kept beside the runs table (one row per named run).
RUN_META_COLUMNS = "id, name, meta"


def run_meta_values(rec: RunRecord) -> tuple:
    """``(id, name, meta)`` of a run, ``meta`` as JSON text."""
    return (rec.id, rec.name or "", json.dumps(rec.meta or {}, ensure_ascii=False, default=str))


def apply_run_meta(runs: list[RunRecord], rows) -> list[RunRecord]:
    """Set the name and meta of ``runs`` from run-meta rows (rows of absent runs ignored)."""
    by_id = {r[0]: r for r in rows or ()}
    for rec in runs:
        row = by_id.get(rec.id)
        if row is None:
            continue
        rec.name = row[1] or ""
        try:
            rec.meta = _json(row[2] or "{}") or {}
        except ValueError:  # a damaged meta row: the run stays, unnamed of its tables
            rec.meta = {}
    return runs


def check_run_name(name: str, taken) -> None:
    """Refuse a run name another run of the project has (compared under ``zone_key``)."""
    from layers.filters import zone_key

    if name and zone_key(name) in {zone_key(t) for t in taken if t}:
        raise ProjectConflictError(
            f"项目中已有名为 {name!r} 的运行 / a run named {name!r} is already in the project: "
            "choose another name (run names are unique in a project)"
        )


def network_values(net: ProjectNetwork) -> tuple:
    """``(name, tbl, source_file, imported_at, edges)``."""
    return (net.name, net.table, net.source_file, net.imported_at, net.edges)


def _json(value):
    """A JSON column as read: text (GeoPackage) is parsed, JSONB (PostGIS) arrives parsed."""
    return json.loads(value) if isinstance(value, str) else value


def run_from_row(row) -> RunRecord:
    """A :class:`RunRecord` from a runs-table row (``RUN_COLUMNS``, any store)."""
    return RunRecord(
        id=row[0],
        analysis=row[1],
        title=row[2] or "",
        created_at=row[3] or "",
        request=_json(row[4]),
        summary=_json(row[5]),
        layers=_json(row[6] or "{}"),
    )


def network_from_row(row) -> ProjectNetwork:
    """A :class:`ProjectNetwork` from a networks-table row (``NETWORK_COLUMNS``, any store)."""
    return ProjectNetwork(
        name=row[0],
        table=row[1],
        source_file=row[2] or "",
        imported_at=row[3] or "",
        edges=int(row[4] or 0),
    )


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
    return StringIO(text)
