"""Zones and corridor axes drawn on the map → the project's layer (the drawing page).

The drawing map (:func:`render.drawing.drawing_map`) answers with every shape of its
editable group (``all_drawings``: GeoJSON features in the basemap's overlay system; a
shape of the layer carries ``properties.row``, a new one none). This workflow:

1. :func:`read_drawings` — reads that answer against the layer: coordinates back to
   WGS84 (on a 高德 basemap the map shows GCJ-02: :func:`layers.crs.gcj02_to_wgs84`),
   each shape marked new, moved or unchanged (an unchanged shape keeps its stored
   geometry exactly), and the layer's rows no longer on the map listed as deleted;
2. :func:`save_drawings` — with the names and types the user gave, new and moved shapes
   go through the import (:func:`layers.importer.import_file` on a GeoJSON: geometry
   must fit the kind, types mapped to the vocabulary with others kept as 其他, the
   provenance columns), zone names are checked unique in the project
   (:func:`layers.filters.zone_key`), and the layer is written in one transaction
   (:func:`layers.project.add_layer`, replacing the edited layer with a version check, or
   :func:`workflows.importing.add_to_project` for a new layer). Nothing is written when a
   shape is refused; the error names the shape and the fix.

Drawn rows carry ``source`` 绘制/drawn, ``coord_source`` "绘制/drawn (<overlay system>
→ WGS84)" and ``coord_precision_m`` from the map's zoom when the shapes were drawn
(:func:`drawing_precision_m`).
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import settings
from layers.crs import gcj02_to_wgs84
from layers.errors import InnoMapError
from layers.filters import zone_key
from layers.importer import ImportOptions, import_file, map_vocabulary
from layers.project import Project, ProjectLayer, add_layer, remove_layer
from layers.registry import REGISTRY
from workflows.importing import add_to_project

__all__ = [
    "DRAWABLE_KINDS",
    "DRAWN_FILE",
    "DRAWN_SOURCE",
    "DrawResult",
    "DrawingError",
    "Drawings",
    "drawing_precision_m",
    "read_drawings",
    "save_drawings",
    "to_wgs84",
]

#: The ``source`` of a drawn row.
DRAWN_SOURCE = "绘制/drawn"
#: The ``source_file`` of a layer drawn anew.
DRAWN_FILE = "绘制-drawn"
#: Kinds that can be drawn: zones (polygons) and corridor axes (lines).
DRAWABLE_KINDS = ("zones", "corridor_axes")
#: Shapes closer than this (degrees, ~0.15 m) to the shown geometry are unchanged: the map
#: rounds coordinates to 6 decimals (~0.1 m), a vertex dragged by one pixel at zoom 19
#: moves ~0.3 m.
_SAME_DEG = 1.5e-6

#: States of a shape (Chinese / English).
NEW, MOVED, SAME = "新绘制 / new", "已修改 / edited", "未变 / unchanged"


class DrawingError(InnoMapError):
    """Drawn shapes cannot be saved; the message names the shape and the fix."""


@dataclass
class Drawings:
    """The map's answer read against the edited layer.

    Attributes
    ----------
    shapes : GeoDataFrame
        One row per shape on the map (WGS84): ``row`` (its row in the layer, -1 for a new
        shape), ``state`` (:data:`NEW`, :data:`MOVED`, :data:`SAME`), ``name``,
        ``subtype`` (zone type / axis type) and the geometry.
    deleted : tuple of int
        Rows of the layer shown on the map and no longer there.
    """

    shapes: gpd.GeoDataFrame
    deleted: tuple[int, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.deleted) or bool((self.shapes["state"] != SAME).any())


@dataclass
class DrawResult:
    """What a save did."""

    layer: str
    added: int
    edited: int
    deleted: int
    removed_layer: bool = False
    notes: list[str] = field(default_factory=list)


def to_wgs84(geometry, overlay_crs: str):
    """A shape in the map's overlay system (GeoJSON mapping or shapely) in WGS84.

    Parameters
    ----------
    geometry : dict or shapely geometry
        Coordinates as the map shows them.
    overlay_crs : {"WGS84", "GCJ-02"}
        The basemap's overlay system (:attr:`render.basemaps.Basemap.overlay_crs`).
    """
    g = geometry if isinstance(geometry, shapely.Geometry) else shapely.geometry.shape(geometry)
    if overlay_crs == "WGS84":
        return g
    if overlay_crs != "GCJ-02":
        raise DrawingError(
            f"未知的叠加坐标系 / unknown overlay system {overlay_crs!r}: use WGS84 or GCJ-02"
        )

    def back(xy: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(g, back)


def _shown(geom, overlay_crs: str):
    """The stored WGS84 geometry as the map shows it."""
    if overlay_crs == "WGS84":
        return geom
    from layers.crs import wgs84_to_gcj02

    def fwd(xy: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, fwd)


def _same(drawn, stored, overlay_crs: str) -> bool:
    shown = _shown(stored, overlay_crs)
    return bool(drawn.hausdorff_distance(shown) <= _SAME_DEG)


def _row_of(feature: dict, n_rows: int) -> int:
    row = (feature.get("properties") or {}).get("row")
    return int(row) if isinstance(row, (int, float)) and 0 <= int(row) < n_rows else -1


def _text(gdf: gpd.GeoDataFrame | None, col: str, i: int, default: str) -> str:
    if gdf is None or col not in gdf.columns or i < 0:
        return default
    v = gdf[col].iloc[i]
    return default if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _shape_row(feature: dict, layer: gpd.GeoDataFrame | None, kind: str, overlay_crs: str):
    drawn = shapely.geometry.shape(feature["geometry"])
    n = 0 if layer is None else len(layer)
    row = _row_of(feature, n)
    default_type = REGISTRY[kind].subtypes[-1] if kind == "zones" else REGISTRY[kind].subtypes[0]
    if row < 0:
        state, geom = NEW, to_wgs84(drawn, overlay_crs)
    elif _same(drawn, layer.geometry.iloc[row], overlay_crs):
        state, geom = SAME, layer.geometry.iloc[row]  # stored exactly, not re-rounded
    else:
        state, geom = MOVED, to_wgs84(drawn, overlay_crs)
    return {
        "row": row,
        "state": state,
        "name": _text(layer, "name", row, ""),
        "subtype": _text(layer, "subtype", row, default_type),
        "geometry": geom,
    }


def _as_shown(layer: gpd.GeoDataFrame, overlay_crs: str) -> list[dict]:
    """The layer's shapes as the map shows them before any change (with their rows)."""
    return [
        {
            "type": "Feature",
            "properties": {"row": i},
            "geometry": shapely.geometry.mapping(_shown(g, overlay_crs)),
        }
        for i, g in enumerate(layer.geometry)
        if g is not None and not g.is_empty
    ]


def read_drawings(
    features: list[dict] | None,
    layer: gpd.GeoDataFrame | None,
    *,
    kind: str,
    overlay_crs: str,
) -> Drawings:
    """Read the map's ``all_drawings`` against the edited ``layer``.

    Parameters
    ----------
    features : list of dict or None
        GeoJSON features in the overlay system (``properties.row`` for the layer's shapes);
        None when the map has not reported a drawing yet: the layer as shown, unchanged.
    layer : GeoDataFrame or None
        The edited layer (WGS84) as it was put on the map; None for a new layer.
    kind : {"zones", "corridor_axes"}
        The layer's kind (default type of a new shape: 自定义 / 轴线).
    overlay_crs : {"WGS84", "GCJ-02"}
        The basemap's overlay system.
    """
    if features is None:  # the map has not reported a drawing since it was shown
        features = [] if layer is None else _as_shown(layer, overlay_crs)
    feats = [f for f in features if isinstance(f, dict) and f.get("geometry")]
    rows = [_shape_row(f, layer, kind, overlay_crs) for f in feats]
    cols = ["row", "state", "name", "subtype", "geometry"]
    shapes = gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry="geometry", crs=4326)
    shown = set()
    if layer is not None:
        shown = {i for i, g in enumerate(layer.geometry) if g is not None and not g.is_empty}
    deleted = tuple(sorted(shown - {int(r) for r in shapes["row"] if r >= 0}))
    return Drawings(shapes=shapes, deleted=deleted)


def drawing_precision_m(zoom: float | None, lat: float) -> float:
    """Positional precision (m) of a shape drawn at map ``zoom`` near latitude ``lat``:
    ``settings.DRAWN_PRECISION_PX`` screen pixels of a Web-Mercator tile map (the whole
    earth is 256 px at zoom 0); 100 m when the zoom is not known."""
    if zoom is None:
        return 100.0
    metres_per_px = 2 * math.pi * 6378137.0 * math.cos(math.radians(lat)) / (256 * 2**zoom)
    return round(settings.DRAWN_PRECISION_PX * metres_per_px, 1)


def _check_names(shapes: gpd.GeoDataFrame) -> None:
    blank = [i + 1 for i, n in enumerate(shapes["name"]) if not str(n or "").strip()]
    if blank:
        raise DrawingError(
            f"第 {'、'.join(map(str, blank))} 个图形没有名称 / shape(s) {blank} have no name: "
            "type a name for each shape in the table, then save again (nothing was saved)"
        )


def _check_unique_zones(project: Project, layer_name: str, names: list[str]) -> None:
    """Zone names unique in the project (other zone layers and this layer's rows)."""
    taken = {
        zone_key(n): lyr.name
        for lyr in project.layers_of_kind("zones")
        if lyr.name != layer_name and "name" in lyr.gdf
        for n in lyr.gdf["name"]
    }
    seen: set[str] = set()
    for n in names:
        k = zone_key(n)
        where = taken.get(k) or (layer_name if k in seen else None)
        if where is not None:
            raise DrawingError(
                f"片区名称已存在 / a zone named {n!r} is already in the project (layer "
                f"{where!r}): zone names are unique, give this shape another name "
                "(nothing was saved)"
            )
        seen.add(k)


def _imported(
    shapes: gpd.GeoDataFrame, *, kind: str, overlay_crs: str, precision_m: float, ids: list[str]
):
    """Drawn shapes through the import (:func:`layers.importer.import_file`): the import's
    report (valid rows in the shapes' order). Refused rows raise :class:`DrawingError`."""
    coord_source = (
        f"{DRAWN_SOURCE} ({overlay_crs} → WGS84)"
        if overlay_crs != "WGS84"
        else f"{DRAWN_SOURCE} (WGS84)"
    )
    gdf = gpd.GeoDataFrame(
        {
            "id": ids,
            "name": [str(n).strip() for n in shapes["name"]],
            "subtype": [str(s) for s in shapes["subtype"]],
            "source": DRAWN_SOURCE,
            "coord_source": coord_source,
            "coord_precision_m": float(precision_m),
        },
        geometry=list(shapes.geometry),
        crs=4326,
    )
    with tempfile.TemporaryDirectory(prefix="innomap-draw-") as tmp:
        path = Path(tmp) / "绘制.geojson"
        path.write_text(gdf.to_json(ensure_ascii=False, drop_id=True), encoding="utf-8")
        try:
            rep = import_file(path, ImportOptions(kind=kind, crs="WGS84"))
        except InnoMapError as exc:  # no shape fits the kind (a line drawn as a zone …)
            raise DrawingError(
                f"第 1 个图形不能保存 / shape 1 cannot be saved: {exc} (nothing was saved)"
            ) from exc
    if len(rep.valid) < len(gdf):
        got = set(rep.valid["id"].astype(str))
        shape_no = next(n + 1 for n, i in enumerate(ids) if i not in got)
        why = rep.errors[0].message if rep.errors else "; ".join(map(str, rep.notes))
        raise DrawingError(
            f"第 {shape_no} 个图形不能保存 / shape {shape_no} cannot be saved: {why} "
            "(nothing was saved)"
        )
    return rep


def _new_ids(existing: pd.Series | None, n: int) -> list[str]:
    taken = set(existing.astype(str)) if existing is not None else set()
    out, k = [], 1
    while len(out) < n:
        if f"D{k}" not in taken:
            out.append(f"D{k}")
        k += 1
    return out


def _edited_rows(layer: gpd.GeoDataFrame, shapes, drawn_valid, kind: str) -> gpd.GeoDataFrame:
    """The layer's kept rows with the names, types and moved geometries of ``shapes``."""
    old = shapes[shapes["row"] >= 0]
    out = layer.iloc[old["row"].astype(int).tolist()].copy()
    out["name"] = [str(n).strip() for n in old["name"]]
    typed = pd.Series([str(v) for v in old["subtype"]], index=out.index)
    stored = out["subtype"].astype(str) if "subtype" in out else typed.where(False, "")
    retyped = typed != stored  # a type left as it was keeps its raw spelling
    if retyped.any():
        sub, _lvl = map_vocabulary(typed[retyped], kind)
        known = sub.isin(REGISTRY[kind].subtypes)
        raw_col = "zone_type_raw" if kind == "zones" else "subtype_raw"
        if raw_col not in out:
            out[raw_col] = ""
        out.loc[retyped, "subtype"] = sub.where(known, "其他")
        out.loc[retyped, raw_col] = sub.where(~known, "")
    moved = (old["state"] == MOVED).to_numpy()
    if moved.any():
        got = drawn_valid.set_index("id")
        for pos in np.flatnonzero(moved):
            key = out.index[pos]
            rid = str(out.at[key, "id"])
            out.at[key, "geometry"] = got.geometry.loc[rid]
            for col in ("coord_source", "coord_precision_m"):
                out.at[key, col] = got.at[rid, col]
    return out


def _combine(old_rows: gpd.GeoDataFrame, new_rows: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    parts = [p for p in (old_rows, new_rows) if len(p)]
    if not parts:
        return old_rows.iloc[:0]
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326)


def save_drawings(
    project: Project,
    *,
    kind: str,
    layer: str,
    drawings: Drawings,
    zoom: float | None = None,
    overlay_crs: str = "WGS84",
) -> DrawResult:
    """Save the shapes on the map (with their names and types) as the project's ``layer``.

    Parameters
    ----------
    project : Project
        The project (editor role; the store checks it).
    kind : {"zones", "corridor_axes"}
        The layer's kind.
    layer : str
        The edited layer (replaced, refused as a conflict if it changed meanwhile) or the
        name of a new layer.
    drawings : Drawings
        :func:`read_drawings`'s answer with ``shapes.name`` / ``shapes.subtype`` as the
        user typed them.
    zoom : float, optional
        Map zoom when drawn (the precision of drawn shapes, :func:`drawing_precision_m`).
    overlay_crs : {"WGS84", "GCJ-02"}
        The basemap's overlay system when drawn (``coord_source``, the layer's ``crs_in``).
    """
    if kind not in DRAWABLE_KINDS:
        raise DrawingError(
            f"不能绘制类别 / kind {kind!r} cannot be drawn: use one of {', '.join(DRAWABLE_KINDS)}"
        )
    shapes = drawings.shapes.reset_index(drop=True)
    _check_names(shapes)
    if kind == "zones":
        _check_unique_zones(project, layer, list(shapes["name"]))
    old = project.layers.get(layer)
    if old is not None and old.kind != kind:
        raise DrawingError(
            f"图层 {layer!r} 的类别是 {old.kind} / layer {layer!r} is of kind {old.kind}, not "
            f"{kind}: choose a {kind} layer or a new layer name"
        )
    b = shapes.total_bounds
    lat = float((b[1] + b[3]) / 2) if len(shapes) else 30.0
    precision = drawing_precision_m(zoom, lat)
    if old is None:
        return _save_new(project, kind, layer, shapes, overlay_crs, precision)
    return _save_edit(project, kind, old, drawings, shapes, overlay_crs, precision)


def _save_new(project, kind, layer, shapes, overlay_crs, precision) -> DrawResult:
    if shapes.empty:
        raise DrawingError(
            "没有可保存的图形 / nothing to save: draw a shape with the toolbar on the map first"
        )
    ids = _new_ids(None, len(shapes))
    rep = _imported(shapes, kind=kind, overlay_crs=overlay_crs, precision_m=precision, ids=ids)
    rep = dataclasses.replace(rep, crs_in=overlay_crs)
    stored = add_to_project(project, rep, name=layer, kind=kind, source_file=DRAWN_FILE, note=False)
    return DrawResult(stored.name, len(shapes), 0, 0, notes=list(stored.add_notes))


def _save_edit(project, kind, old: ProjectLayer, drawings, shapes, overlay_crs, precision):
    gdf = old.gdf.reset_index(drop=True)
    redo = shapes[shapes["state"] != SAME]
    ids_new = _new_ids(gdf["id"] if "id" in gdf else None, int((redo["row"] < 0).sum()))
    it = iter(ids_new)
    ids = [str(gdf["id"].iloc[r]) if r >= 0 else next(it) for r in redo["row"]]
    valid = gdf.iloc[:0]
    if len(redo):
        rep = _imported(redo, kind=kind, overlay_crs=overlay_crs, precision_m=precision, ids=ids)
        valid = rep.valid
    kept = _edited_rows(gdf, shapes, valid, kind)
    new_rows = valid[valid["id"].astype(str).isin(ids_new)] if len(valid) else valid
    combined = _combine(kept, new_rows)
    n_new, n_moved = len(new_rows), int((shapes["state"] == MOVED).sum())
    if combined.empty:
        remove_layer(project, old.name)
        return DrawResult(old.name, 0, 0, len(drawings.deleted), removed_layer=True)
    stored = add_layer(
        project,
        dataclasses.replace(old, gdf=combined, add_notes=[], table=""),
        replace=True,
    )
    return DrawResult(
        stored.name, n_new, n_moved, len(drawings.deleted), notes=list(stored.add_notes)
    )
