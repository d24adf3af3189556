"""The coordinate system of layer exports (``--to-crs``, the export page's choice).

Names are those of the CRS vocabulary (:func:`layers.crs.parse_crs`): ``WGS84``,
``CGCS2000`` (EPSG:4490), ``GK3`` (CGCS2000 3° Gauss–Krüger, the zone chosen from the
layers' extent, zone-prefixed eastings; ``GK3:NN`` or ``GK3:117E`` to choose; ``GK6``
likewise), ``GCJ-02``, ``BD-09`` and ``EPSG:n``.

EPSG targets are projected with pyproj. GCJ-02 and BD-09 have no EPSG code: their
coordinates are the published offsets of WGS84 (:func:`layers.crs.wgs84_to_gcj02`,
:func:`layers.crs.wgs84_to_bd09`) and the files carry **no** coordinate system
definition (no ``.prj``, an undefined GeoPackage SRS) — the CRS is stated in the file
name and InnoMap's marker (:mod:`layers.provenance`), never as a false WGS84.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from layers.coords import hinted_crs
from layers.crs import CRSName, gk_name, parse_crs, wgs84_to_bd09, wgs84_to_gcj02
from layers.errors import InnoMapError

__all__ = [
    "OFFSET_SYSTEMS",
    "TARGET_CHOICES",
    "ExportCRSError",
    "marked_path",
    "reproject",
    "resolve_target",
]

#: Systems with no EPSG code (offsets of WGS84): no CRS definition is written for them.
OFFSET_SYSTEMS = ("GCJ-02", "BD-09")
#: The choices offered by the export page (any vocabulary name works on the CLI).
TARGET_CHOICES = ("WGS84", "CGCS2000", "GK3", "GCJ-02", "BD-09")
_AUTO_GK = re.compile(r"^\s*GK\s*([36])\s*$", re.IGNORECASE)


class ExportCRSError(InnoMapError):
    """A target CRS that cannot be used for this export."""


def _extent(frames) -> tuple[float, float, float, float] | None:
    bounds = [g.to_crs(4326).total_bounds for g in frames.values() if len(g)]
    bounds = [b for b in bounds if np.isfinite(b).all()]
    if not bounds:
        return None
    b = np.array(bounds)
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


def resolve_target(text: str | None, frames: dict[str, gpd.GeoDataFrame]) -> CRSName:
    """The target CRS of ``text`` for the layers ``frames`` (``None``/empty: WGS84).

    ``GK3``/``GK6`` without a zone take the zone of the layers' extent (its centre's
    longitude); the zone-prefixed form is used (EPSG:4513–4533 / 4491–4501).

    Raises
    ------
    ExportCRSError
        Outside the vocabulary, or ``GK3`` for layers with no geometry or outside China's zones.
    """
    if text is None or not str(text).strip():
        return parse_crs("WGS84")
    m = _AUTO_GK.match(str(text))
    if m:
        width = int(m.group(1))
        ext = _extent(frames)
        if ext is None:
            raise ExportCRSError(
                f"GK{width}: 图层没有几何, 无法按范围选择带号 / the layers have no geometry to "
                f"choose the zone from: give it, e.g. --to-crs GK{width}:39"
            )
        lon = (ext[0] + ext[2]) / 2
        zone = math.floor(lon / 3 + 0.5) if width == 3 else math.floor(lon / 6) + 1
        try:
            return gk_name(width, zone=zone)
        except InnoMapError as exc:
            raise ExportCRSError(str(exc)) from None
    try:
        return parse_crs(text)
    except InnoMapError as exc:
        raise ExportCRSError(str(exc)) from None


def reproject(gdf: gpd.GeoDataFrame, target: CRSName) -> gpd.GeoDataFrame:
    """``gdf`` in ``target``: projected with pyproj, or offset to GCJ-02/BD-09 (then with no CRS)."""
    wgs = gdf.to_crs(4326)
    if target.name not in OFFSET_SYSTEMS:
        return wgs.to_crs(target.to_pyproj())
    fn = wgs84_to_gcj02 if target.name == "GCJ-02" else wgs84_to_bd09

    def move(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(fn(xy[:, 0], xy[:, 1])) if len(xy) else xy

    out = wgs.copy()
    out = out.set_geometry(shapely.transform(wgs.geometry.values, move))
    return out.set_crs(None, allow_override=True)


def marked_path(path: str | Path, target: CRSName) -> Path:
    """The output path: for GCJ-02/BD-09 the CRS is added to the file name (``x_GCJ-02.gpkg``)
    unless the name already says it (so importing the file back recognises the system)."""
    p = Path(path)
    if target.name not in OFFSET_SYSTEMS:
        return p
    if hinted_crs(p.stem)[0] == target.name:
        return p
    return p.with_name(f"{p.stem}_{target.name}{p.suffix}")
