"""Read KML (and the KML inside a KMZ) with a safe XML parser.

GDAL's KML driver reads one folder per layer and turns Chinese ExtendedData keys
into ``______``; planners' files (奥维互动地图, Google Earth, 天地图 exports) keep
their placemarks in several, often nested, folders and their attributes in
``<ExtendedData>`` (``<Data name="级别"><value>…</value></Data>`` or
``<SchemaData><SimpleData name="类别">…</SimpleData></SchemaData>``).

:func:`read_kml` parses the document with :mod:`defusedxml` (no entity
expansion, no external entities, no DTD retrieval) and returns every placemark
with its folder path (``科技馆``, ``合肥/科技馆`` for nested folders), its name,
description and ExtendedData keys as columns (kept as written, Chinese included),
and its geometry (Point, LineString, LinearRing, Polygon with holes, and
MultiGeometry as the matching multi-part type or a collection).
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from defusedxml import ElementTree as SafeET

import settings
from layers.tabular import ImportFileError

__all__ = ["FOLDER_FIELD", "MAX_PLACEMARKS", "read_kml"]

#: Column naming the folder path of each placemark.
FOLDER_FIELD = "folder"
#: Upper bound on placemarks read from one document.
MAX_PLACEMARKS = settings.KML_MAX_PLACEMARKS


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(el, name: str):
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _text(el) -> str:
    return "".join(el.itertext()).strip() if el is not None else ""


def _coords(text: str) -> list[tuple[float, float]]:
    out = []
    for tok in re.sub(r"\s*,\s*", ",", text).split():
        parts = tok.split(",")
        if len(parts) >= 2:
            out.append((float(parts[0]), float(parts[1])))
    return out


def _geometry(el):
    """The shapely geometry of a KML geometry element (``None`` if unknown or empty)."""
    name = _local(el.tag)
    if name == "Point":
        c = _coords(_text(_child(el, "coordinates")))
        return shapely.Point(c[0]) if c else None
    if name in ("LineString", "LinearRing"):
        c = _coords(_text(_child(el, "coordinates")))
        return shapely.LineString(c) if len(c) >= 2 else None
    if name == "Polygon":
        return _polygon(el)
    if name == "MultiGeometry":
        return _multi([g for g in (_geometry(c) for c in el) if g is not None])
    return None


def _ring(boundary) -> list:
    """The coordinates of a boundary's LinearRing (empty when it has none)."""
    ring = _child(boundary, "LinearRing") if boundary is not None else None
    return _coords(_text(_child(ring, "coordinates"))) if ring is not None else []


def _polygon(el):
    shell = _ring(_child(el, "outerBoundaryIs"))
    if len(shell) < 3:
        return None
    holes = [h for h in (_ring(b) for b in el if _local(b.tag) == "innerBoundaryIs") if len(h) >= 3]
    return shapely.Polygon(shell, holes)


def _multi(parts: list):
    """A MultiGeometry's parts as one multi-geometry of their type, else a collection."""
    if not parts:
        return None
    types = {g.geom_type for g in parts}
    if types == {"Point"}:
        return shapely.MultiPoint(parts)
    if types == {"LineString"}:
        return shapely.MultiLineString(parts)
    if types <= {"Polygon", "MultiPolygon"}:
        polys = [p for g in parts for p in getattr(g, "geoms", [g])]
        return shapely.MultiPolygon(polys)
    return shapely.GeometryCollection(parts)


_GEOMETRY_TAGS = {"Point", "LineString", "LinearRing", "Polygon", "MultiGeometry"}


def _placemark(pm, folder: str) -> dict:
    row: dict = {FOLDER_FIELD: folder}
    name = _child(pm, "name")
    row["name"] = _text(name)
    desc = _child(pm, "description")
    if desc is not None and _text(desc):
        row["description"] = _text(desc)
    pid = pm.get("id")
    if pid:
        row["id"] = pid
    ext = _child(pm, "ExtendedData")
    if ext is not None:
        for d in ext.iter():
            tag = _local(d.tag)
            if tag == "Data" and d.get("name"):
                row[d.get("name").strip()] = _text(_child(d, "value"))
            elif tag == "SimpleData" and d.get("name"):
                row[d.get("name").strip()] = _text(d)
    geom = None
    for c in pm:
        if _local(c.tag) in _GEOMETRY_TAGS:
            geom = _geometry(c)
            break
    row["geometry"] = geom
    return row


def _walk(el, path: list[str], rows: list[dict], name: str) -> str:
    """Add the placemarks below ``el`` to ``rows`` (folder paths from ``path``); returns the
    name of the top document ("" when it has none)."""
    top = ""
    for c in el:
        tag = _local(c.tag)
        if tag in ("Folder", "Document"):
            label = _text(_child(c, "name"))
            sub = path + [label] if tag == "Folder" else path
            inner = _walk(c, sub, rows, name)  # a later document's name wins, as it is read
            if not path and tag == "Document":
                top = inner or label or top
        elif tag == "Placemark":
            if len(rows) >= MAX_PLACEMARKS:
                raise ImportFileError(
                    f"{name}: 地标超过 {MAX_PLACEMARKS:,} 个 / more than {MAX_PLACEMARKS:,} "
                    "placemarks: split the file"
                )
            rows.append(_placemark(c, "/".join(p or "?" for p in path)))
    return top


def read_kml(data: bytes, *, name: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Placemarks of a KML document and its folder paths (in document order).

    Parameters
    ----------
    data : bytes
        The KML document.
    name : str
        The file name, for messages.

    Returns
    -------
    tuple
        ``(frame, folders)``: one row per placemark (WGS84) with ``folder``, ``name``,
        ``description`` and the ExtendedData keys; the folder paths that hold
        placemarks (placemarks outside any folder: the document's name or the file stem).

    Raises
    ------
    ImportFileError
        For XML that cannot be parsed (entities, DTDs, broken markup) or a document
        without placemarks.
    """
    try:
        root = SafeET.fromstring(data)
    except Exception as exc:  # defusedxml's refusals and ParseError alike
        raise ImportFileError(
            f"{name}: KML 无法解析 / the KML cannot be parsed ({type(exc).__name__}): "
            "export it again (奥维/Google Earth/QGIS); entity and DTD declarations are refused"
        ) from None
    rows: list[dict] = []
    top = _walk(root, [], rows, name) or Path(name).stem
    if not rows:
        raise ImportFileError(
            f"{name}: KML 中没有地标 / no placemarks in the KML: check that it holds features"
        )
    for r in rows:
        if not r[FOLDER_FIELD]:
            r[FOLDER_FIELD] = top
    frame = pd.DataFrame(rows)
    geoms = frame.pop("geometry")
    cols = [FOLDER_FIELD, "name"] + [c for c in frame.columns if c not in (FOLDER_FIELD, "name")]
    frame = frame[cols].astype(object).where(frame[cols].notna(), "")
    if not frame["name"].astype(str).str.strip().any():
        frame = frame.drop(columns="name")  # no <name>: a 名称 key of ExtendedData may be the name
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(list(geoms), crs=4326), crs=4326)
    folders = list(dict.fromkeys(gdf[FOLDER_FIELD]))
    return gdf, folders
