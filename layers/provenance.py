"""The marker InnoMap puts on the files it writes, and its reader.

A file InnoMap wrote (a geocoded list, a layer export) says which coordinate
system its coordinates are in and where they came from, so that importing it back
keeps CRS, precision and provenance — with no "unstated CRS" question:

* **tables** (CSV/XLSX): the columns ``crs`` (one vocabulary name for every row),
  ``coord_source`` and ``coord_precision_m``; a geocoded list
  (:mod:`workflows.geocode`: ``lon``/``lat`` in WGS84 with ``coord_source``,
  ``coord_precision_m`` and ``geocode_status``) is recognised by those columns;
* **GeoJSON**: a foreign member ``"innomap": {...}`` at the top of the
  FeatureCollection (written first, so a reader finds it in the first bytes);
* **GeoPackage**: each layer's ``gpkg_contents.description`` holds
  ``innomap:{...}`` (GDAL's ``DESCRIPTION`` layer option);
* **zipped shapefiles**: an ``innomap.json`` member (``kinds`` by layer name, the
  layers' names per file in ``layer_names.csv``).

A GeoJSON or zip marker may carry ``kinds``: ``{layer name: kind}`` of the layers it
holds (the GeoJSON's features name theirs in a ``layer`` column).

The marker is a small JSON object: ``{"app": "InnoMap", "version": 1, "crs":
"WGS84", "kind": "zones", "source": "…"}``.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pandas as pd

__all__ = [
    "MARKER_KEY",
    "TABLE_CRS_COLUMN",
    "gpkg_layer_markers",
    "gpkg_layer_options",
    "kind_of_value",
    "make_marker",
    "mark_table",
    "marker_from_json",
    "read_geojson_marker",
    "table_marker",
    "write_geojson",
]

MARKER_KEY = "innomap"
TABLE_CRS_COLUMN = "crs"
_PREFIX = "innomap:"
_GEOCODE_COLUMNS = {"lon", "lat", "coord_source", "coord_precision_m", "geocode_status"}


def make_marker(*, crs: str = "WGS84", kind: str | None = None, source: str | None = None) -> dict:
    """A marker: the CRS of the coordinates, the layer kind and the data's source."""
    m = {"app": "InnoMap", "version": 1, "crs": crs}
    if kind:
        m["kind"] = kind
    if source:
        m["source"] = source
    return m


def _valid(marker) -> dict | None:
    from layers.crs import UnknownCRSError, parse_crs

    if not isinstance(marker, dict) or marker.get("app") != "InnoMap":
        return None
    try:
        marker = dict(marker, crs=parse_crs(marker.get("crs", "WGS84")).name)
    except UnknownCRSError:
        return None
    return marker


# ---------------------------------------------------------------- tables
def mark_table(frame: pd.DataFrame, *, crs: str = "WGS84") -> pd.DataFrame:
    """The table with the ``crs`` column (after ``lon``/``lat`` when present)."""
    out = frame.copy()
    out[TABLE_CRS_COLUMN] = crs
    return out


def table_marker(frame: pd.DataFrame) -> dict | None:
    """The marker of a table InnoMap wrote, or ``None``.

    A ``crs`` column with one vocabulary name for every row, next to ``coord_source``,
    marks it; so do the columns of a geocoded list (WGS84).
    """
    from layers.crs import UnknownCRSError, parse_crs

    cols = {str(c).strip() for c in frame.columns}
    if TABLE_CRS_COLUMN in cols and "coord_source" in cols:
        values = frame[TABLE_CRS_COLUMN].dropna().astype(str).str.strip()
        values = values[values != ""].unique()
        if len(values) == 1:
            try:
                return make_marker(crs=parse_crs(values[0]).name, source="table")
            except UnknownCRSError:
                return None
    if _GEOCODE_COLUMNS <= cols:
        return make_marker(crs="WGS84", source="geocode")
    return None


# ---------------------------------------------------------------- GeoJSON
def write_geojson(gdf, path, *, marker: dict) -> None:
    """Write a WGS84 GeoJSON FeatureCollection with the marker as its first member."""
    body = json.loads(gdf.to_crs(4326).to_json(drop_id=True, ensure_ascii=False))
    doc = {MARKER_KEY: marker, "type": "FeatureCollection", "features": body["features"]}
    Path(path).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def read_geojson_marker(path, *, head_bytes: int = 65_536) -> dict | None:
    """The ``"innomap"`` member of a GeoJSON file (searched in its first bytes), or ``None``."""
    with open(path, "rb") as f:
        head = f.read(head_bytes).decode("utf-8", errors="replace")
    m = re.search(r'"' + MARKER_KEY + r'"\s*:\s*\{', head)
    if not m:
        return None
    try:
        obj, _ = json.JSONDecoder().raw_decode(head, m.end() - 1)
    except ValueError:
        return None
    return _valid(obj)


def geojson_states_crs(path, *, head_bytes: int = 65_536) -> bool:
    """Whether a GeoJSON file has a ``"crs"`` member (old-style CRS declaration)."""
    with open(path, "rb") as f:
        head = f.read(head_bytes)
    return re.search(rb'"crs"\s*:\s*\{\s*"type"', head) is not None


# ---------------------------------------------------------------- GeoPackage
def gpkg_layer_options(marker: dict) -> dict:
    """``layer_options`` for :func:`pyogrio.write_dataframe` that store the marker."""
    return {"DESCRIPTION": _PREFIX + json.dumps(marker, ensure_ascii=False)}


def gpkg_layer_markers(path) -> dict[str, dict]:
    """``{layer: marker}`` of the layers of a GeoPackage InnoMap wrote (others absent)."""
    from urllib.parse import quote

    out: dict[str, dict] = {}
    try:
        con = sqlite3.connect(
            f"file:{quote(str(Path(path).resolve()))}?mode=ro&immutable=1", uri=True
        )
    except sqlite3.Error:
        return out
    try:
        rows = con.execute("SELECT table_name, description FROM gpkg_contents").fetchall()
    except sqlite3.Error:
        rows = []
    finally:
        con.close()
    for table, desc in rows:
        if isinstance(desc, str) and desc.startswith(_PREFIX):
            try:
                m = _valid(json.loads(desc[len(_PREFIX) :]))
            except ValueError:
                m = None
            if m:
                out[str(table)] = m
    return out


def marker_from_json(data: bytes | str) -> dict | None:
    """The marker of an ``innomap.json`` (a shapefile zip InnoMap wrote), or ``None``."""
    try:
        return _valid(json.loads(data))
    except (ValueError, TypeError):
        return None


def kind_of_value(value) -> str | None:
    """The registry kind a ``kind`` cell names (key, Chinese kind or layer name), or ``None``."""
    from layers.registry import REGISTRY

    v = str(value).strip()
    for key, spec in REGISTRY.items():
        if v in (key, spec.kind, spec.name_zh):
            return key
    return None
