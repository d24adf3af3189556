"""Read CAD boundaries and axes from DXF with :mod:`ezdxf`.

Planning boundaries arrive as DXF: one closed LWPOLYLINE (or POLYLINE, or a HATCH)
per 片区 on a layer such as 规划边界, a TEXT/MTEXT label inside each, coordinates
in CGCS2000 Gauss–Krüger metres (often with the zone number before the easting).

:func:`read_dxf` returns one row per boundary or line of the model space:

* closed LWPOLYLINE/POLYLINE → Polygon (arcs of bulges flattened to 0.05 m),
  HATCH → Polygon (holes by the even–odd rule; a hatch that repeats a closed
  polyline's boundary is dropped as a duplicate, counted in the notes);
* open LWPOLYLINE/POLYLINE, LINE, ARC, SPLINE → LineString (corridor axes);
* TEXT/MTEXT inside a polygon → its ``name`` (the tallest text when several);
  a polygon without a label is named after its CAD layer and number (noted);
* ``cad_layer`` keeps the CAD layer name, ``cad_entity`` the entity type,
  ``cad_handle`` the entity handle.

The frame has no CRS: a DXF does not state one (the importer decides it from
zone-prefixed eastings or asks for ``--crs``).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import settings
from layers.tabular import ImportFileError

__all__ = ["LAYER_FIELD", "MAX_ENTITIES", "read_dxf"]

#: Column keeping the CAD layer of each entity.
LAYER_FIELD = "cad_layer"
#: Upper bound on model-space entities read.
MAX_ENTITIES = settings.DXF_MAX_ENTITIES
_FLATTEN_M = 0.05


def _flat(path) -> list[tuple[float, float]]:
    return [(float(v.x), float(v.y)) for v in path.flattening(_FLATTEN_M)]


def _hatch_polygon(e):
    from ezdxf import path as ezpath

    rings = []
    for pth in ezpath.from_hatch(e):
        pts = _flat(pth)
        if len(pts) >= 3:
            poly = shapely.Polygon(pts)
            if not poly.is_valid:
                poly = shapely.make_valid(poly)
            rings.append(poly)
    if not rings:
        return None
    out = rings[0]
    for r in rings[1:]:
        out = out.symmetric_difference(r)  # even–odd: a ring inside another is a hole
    return out if not out.is_empty else None


def read_dxf(path: Path, *, name: str) -> tuple[gpd.GeoDataFrame, list[str], list[str]]:
    """Boundaries and lines of a DXF's model space.

    Returns
    -------
    tuple
        ``(frame, layers, notes)``: rows with ``name``, ``cad_layer``, ``cad_entity``,
        ``cad_handle`` and geometry (no CRS); the CAD layers that hold rows; notes on
        what was skipped (texts outside every polygon, duplicate hatches, blocks …).

    Raises
    ------
    ImportFileError
        For a file ezdxf cannot read or one without boundaries or lines.
    """
    import ezdxf

    try:
        doc = ezdxf.readfile(str(path))
    except Exception as exc:  # DXFStructureError, IOError, UnicodeError …
        raise ImportFileError(
            f"{name}: DXF 无法读取 / the DXF cannot be read ({type(exc).__name__}): save it "
            "again as DXF (AutoCAD 2000–2018 ASCII DXF) in CAD"
        ) from None
    rows, texts, skipped = _model_space(doc, name)
    notes: list[str] = []
    if not rows:
        raise ImportFileError(
            f"{name}: DXF 模型空间中没有边界或线 / no boundaries (closed polylines, hatches) or "
            "lines in the model space: explode blocks (CAD: EXPLODE) and save again"
        )
    rows, dup = _without_repeated_hatches(rows)
    if dup:
        notes.append(
            f"{dup} 个填充与闭合多段线边界相同, 按一个片区计 / {dup} hatches repeat a closed "
            "polyline's boundary: counted once"
        )
    frame = pd.DataFrame(rows)
    geoms = list(frame.pop("geometry"))
    names, outside = _text_names(geoms, texts)
    if outside:
        notes.append(
            f"{outside} 个文字不在任何闭合边界内, 未使用 / {outside} TEXT/MTEXT labels lie outside "
            "every closed boundary: not used"
        )
    unnamed = 0
    counter: dict[str, int] = {}
    for i, g in enumerate(geoms):
        lay = frame.at[i, LAYER_FIELD]
        counter[lay] = counter.get(lay, 0) + 1
        if not names[i]:
            names[i] = f"{lay}-{counter[lay]}"
            unnamed += g.geom_type in ("Polygon", "MultiPolygon")
    if unnamed:
        notes.append(
            f"{unnamed} 个边界内没有文字标注, 已按图层名编号命名 / {unnamed} boundaries have no "
            "TEXT label inside: named after their CAD layer and number"
        )
    if skipped:
        what = ", ".join(f"{k} {v}" for k, v in sorted(skipped.items()))
        notes.append(f"未导入的 CAD 实体 / CAD entities not imported: {what}")
    frame.insert(0, "name", names)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms), crs=None)
    layers = list(dict.fromkeys(gdf[LAYER_FIELD]))
    return gdf, layers, notes


def _count(skipped: dict[str, int], what: str) -> None:
    skipped[what] = skipped.get(what, 0) + 1


def _model_space(doc, name: str):
    """``(rows, texts, skipped)`` of the model space: a row per boundary or line, the
    texts ``(x, y, height, text)`` and the count of entities passed over, by type."""
    from ezdxf import path as ezpath

    rows: list[dict] = []
    texts: list[tuple[float, float, float, str]] = []
    skipped: dict[str, int] = {}

    def entities(source, depth: int = 0):
        """Model-space entities, block references exploded (nested up to 4 levels)."""
        for e in source:
            if e.dxftype() == "INSERT" and depth < 4:
                try:
                    yield from entities(e.virtual_entities(), depth + 1)
                except Exception:
                    _count(skipped, "INSERT (unreadable)")
            else:
                yield e

    for n, e in enumerate(entities(doc.modelspace())):
        if n >= MAX_ENTITIES:
            raise ImportFileError(
                f"{name}: 实体超过 {MAX_ENTITIES:,} 个 / more than {MAX_ENTITIES:,} entities: "
                "keep only the boundary layers (CAD: LAYISO, WBLOCK)"
            )
        t = e.dxftype()
        try:
            geom = _entity_geometry(e, t, ezpath, texts, skipped)
        except Exception:
            _count(skipped, t + " (unreadable)")
            continue
        if geom is False:  # a text, or a type not imported (counted)
            continue
        if geom is None or geom.is_empty:
            _count(skipped, t + " (empty)")
            continue
        layer = str(e.dxf.get("layer", "0"))
        rows.append(
            {LAYER_FIELD: layer, "cad_entity": t, "cad_handle": str(e.dxf.handle), "geometry": geom}
        )
    return rows, texts, skipped


def _entity_geometry(e, t: str, ezpath, texts: list, skipped: dict[str, int]):
    """The entity's polygon or line (None: too few points), or False when it is a text
    (added to ``texts``) or an entity not imported (counted in ``skipped``)."""
    if t in ("LWPOLYLINE", "POLYLINE"):
        if t == "POLYLINE" and (e.is_poly_face_mesh or e.is_polygon_mesh):
            _count(skipped, t + " mesh")
            return False
        pts = _flat(ezpath.make_path(e))
        closed = bool(e.closed if t == "LWPOLYLINE" else e.is_closed)
        if closed and len(pts) >= 3:
            return shapely.Polygon(pts)
        if len(pts) >= 3 and pts[0] == pts[-1]:
            return shapely.Polygon(pts)  # closed by repeating the first vertex
        return shapely.LineString(pts) if len(pts) >= 2 else None
    if t == "HATCH":
        return _hatch_polygon(e)
    if t in ("LINE", "ARC", "SPLINE"):
        pts = _flat(ezpath.make_path(e))
        return shapely.LineString(pts) if len(pts) >= 2 else None
    if t in ("TEXT", "MTEXT"):
        p = e.dxf.insert
        txt = e.plain_text() if t == "MTEXT" else e.dxf.get("text", "")
        h = float(e.dxf.get("char_height" if t == "MTEXT" else "height", 1.0) or 1.0)
        txt = " ".join(str(txt).split())
        if txt:
            texts.append((float(p.x), float(p.y), h, txt))
        return False
    _count(skipped, t)
    return False


def _without_repeated_hatches(rows: list[dict]) -> tuple[list[dict], int]:
    """A hatch repeating a closed polyline's boundary is one 片区, not two."""
    polys = [r for r in rows if r["geometry"].geom_type in ("Polygon", "MultiPolygon")]
    outlines = [r["geometry"] for r in polys if r["cad_entity"] != "HATCH"]
    if not outlines:
        return rows, 0
    tree = shapely.STRtree(outlines)
    keep, dup = [], 0
    for r in rows:
        g = r["geometry"]
        if r["cad_entity"] == "HATCH" and any(
            outlines[i].symmetric_difference(g).area <= 1e-6 * max(g.area, 1.0)
            for i in tree.query(g)
        ):
            dup += 1
            continue
        keep.append(r)
    return keep, dup


def _text_names(geoms: list, texts: list) -> tuple[list[str], int]:
    """Each polygon's name: the tallest text inside it (innermost polygon); and the count
    of texts outside every polygon."""
    names = [""] * len(geoms)
    heights = [-1.0] * len(geoms)
    poly_idx = [i for i, g in enumerate(geoms) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not texts:
        return names, 0
    if not poly_idx:
        return names, len(texts)
    outside = 0
    tree = shapely.STRtree([geoms[i] for i in poly_idx])
    for x, y, h, txt in texts:
        hits = [poly_idx[j] for j in tree.query(shapely.Point(x, y), predicate="within")]
        if not hits:
            outside += 1
            continue
        i = min(hits, key=lambda k: geoms[k].area)  # the innermost polygon
        if h > heights[i]:
            names[i], heights[i] = txt, h
    return names, outside


def sample_xy(gdf: gpd.GeoDataFrame, limit: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``limit`` vertex coordinates of a frame (for guessing its CRS)."""
    xy = shapely.get_coordinates(gdf.geometry.values)
    if len(xy) > limit:
        xy = xy[:: max(1, len(xy) // limit)]
    return xy[:, 0], xy[:, 1]
