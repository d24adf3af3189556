"""Coordinate systems used by Chinese sources and the choice of a metric CRS.

Chinese web maps publish coordinates in two obfuscated systems that no EPSG code
describes and that PROJ does not implement:

* **GCJ-02** ("Mars coordinates"), used by AMap/Gaode, Tencent and Google China;
* **BD-09**, Baidu's further offset of GCJ-02.

CGCS2000 (EPSG:4490) equals WGS84 (EPSG:4326) to within decimetres, so it is
treated as WGS84 for display and analysis at city scale.

The forward GCJ-02 formula is the published one; the inverse is iterative (a
fixed-point iteration on the forward transform) and converges to well below a
centimetre. All functions are vectorised over NumPy arrays.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from pyproj import CRS

from layers.errors import InnoMapError

__all__ = [
    "CRS_VOCABULARY_HELP",
    "SOURCE_SYSTEMS",
    "CRSChoiceError",
    "CRSName",
    "UnknownCRSError",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "choose_metric_crs",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "gk_name",
    "gk_prefix_fix",
    "out_of_china",
    "parse_crs",
    "to_wgs84_from",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0

#: Source coordinate systems a layer may declare (besides any ``EPSG:nnnn``).
SOURCE_SYSTEMS = ("WGS84", "CGCS2000", "GCJ-02", "BD-09")


class CRSChoiceError(InnoMapError):
    """Raised when no metric CRS can be chosen for the given data."""


def out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Return a boolean mask of points outside the GCJ-02 domain (rough China box).

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees.

    Returns
    -------
    numpy.ndarray
        ``True`` where the point lies outside 72.004–137.8347 E, 0.8293–55.8271 N,
        where the GCJ-02 offset is not applied.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _offsets(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 105.0
    y = lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS84 longitude/latitude to GCJ-02 (points outside China unchanged).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 degrees.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitude and latitude.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _offsets(lon, lat)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_wgs84(lon, lat, *, tolerance_deg: float = 1e-10, max_iter: int = 30):
    """Invert GCJ-02 to WGS84 iteratively.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 degrees.
    tolerance_deg : float, optional
        Stop when every point moves less than this (1e-10 deg ≈ 0.01 mm).
    max_iter : int, optional
        Upper bound on iterations (convergence usually takes 3–6).

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude.
    """
    glon = np.asarray(lon, dtype=float)
    glat = np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = glon - flon, glat - flat
        wlon = wlon + dlon
        wlat = wlat + dlat
        if np.all(np.abs(np.nan_to_num(dlon)) < tolerance_deg) and np.all(
            np.abs(np.nan_to_num(dlat)) < tolerance_deg
        ):
            break
    return wlon, wlat


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 to BD-09 (Baidu)."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat, *, tolerance_deg: float = 1e-10, max_iter: int = 30):
    """Invert BD-09 to GCJ-02 iteratively (the closed form is only ~1 m accurate)."""
    blon = np.asarray(lon, dtype=float)
    blat = np.asarray(lat, dtype=float)
    x = blon - 0.0065
    y = blat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_iter):
        flon, flat = gcj02_to_bd09(glon, glat)
        dlon, dlat = blon - flon, blat - flat
        glon = glon + dlon
        glat = glat + dlat
        if np.all(np.abs(np.nan_to_num(dlon)) < tolerance_deg) and np.all(
            np.abs(np.nan_to_num(dlat)) < tolerance_deg
        ):
            break
    return glon, glat


def wgs84_to_bd09(lon, lat):
    """Convert WGS84 to BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """Convert BD-09 to WGS84 (via GCJ-02, both steps iterative)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84_from(system: str, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Convert degrees in a named Chinese source system to WGS84.

    Parameters
    ----------
    system : {"WGS84", "CGCS2000", "GCJ-02", "BD-09"}
        The source system (case and hyphen insensitive).
    lon, lat : array_like
        Coordinates in that system.

    Raises
    ------
    CRSChoiceError
        If ``system`` is not one of the names above.
    """
    key = system.upper().replace("-", "").replace("_", "")
    if key in ("WGS84", "CGCS2000", "EPSG4326", "EPSG4490"):
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if key == "GCJ02":
        return gcj02_to_wgs84(lon, lat)
    if key == "BD09":
        return bd09_to_wgs84(lon, lat)
    raise CRSChoiceError(
        f"未知坐标系 / unknown coordinate system {system!r}: use one of {', '.join(SOURCE_SYSTEMS)}"
    )


def choose_metric_crs(bounds: tuple[float, float, float, float]) -> CRS:
    """Choose a projected (metre) CRS for data with the given WGS84 bounds.

    The UTM zone of the bounds' centre is used (WGS84 / UTM, EPSG:326xx in the
    north, 327xx in the south). For a city this keeps scale error below 0.1 %.

    Parameters
    ----------
    bounds : tuple of float
        ``(minx, miny, maxx, maxy)`` in WGS84 degrees.

    Returns
    -------
    pyproj.CRS
        The chosen projected CRS.

    Raises
    ------
    CRSChoiceError
        If the bounds are empty, not finite or not in degree range.
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise CRSChoiceError(
            f"无法选择投影:范围无效 {bounds!r} / cannot choose a metric CRS for empty or "
            "non-finite bounds; make sure the layer has valid geometries"
        )
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise CRSChoiceError(
            f"范围 {bounds!r} 不是经纬度 / bounds are not in degrees: reproject to EPSG:4326 first"
        )
    lon = (minx + maxx) / 2.0
    lat = (miny + maxy) / 2.0
    zone = int((lon + 180.0) // 6.0) + 1
    zone = min(max(zone, 1), 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def to_metric(gdf, crs=None):
    """Project a GeoDataFrame to a metric CRS (chosen from its extent unless given).

    Returns a new frame; raises :class:`CRSChoiceError` for a frame without CRS.
    """
    if gdf.crs is None:
        raise CRSChoiceError("图层缺少坐标系 / the layer has no CRS: declare it before analysis")
    if crs is None:
        wgs = gdf.to_crs(4326) if not gdf.crs.equals(CRS.from_epsg(4326)) else gdf
        crs = choose_metric_crs(tuple(wgs.total_bounds))
    return gdf.to_crs(crs)


# ---------------------------------------------------------------- the CRS vocabulary
#: CGCS2000 Gauss–Krüger EPSG ranges: (zone width, prefixed eastings) -> (first EPSG, first
#: zone, last zone). 3° zones 25–45 have central meridians 75–135°E (3 × zone); 6° zones
#: 13–23 have central meridians 75–135°E (6 × zone − 3).
_GK_RANGES = {
    (3, True): (4513, 25, 45),
    (3, False): (4534, 25, 45),
    (6, True): (4491, 13, 23),
    (6, False): (4502, 13, 23),
}

#: The names the vocabulary accepts, for messages and help texts.
CRS_VOCABULARY_HELP = (
    "WGS84, CGCS2000, GCJ-02, BD-09, EPSG:n, GK3:NN (CGCS2000 3° zone NN, zone-prefixed "
    "eastings), GK3:117E (central meridian, no prefix), GK6:NN, GK6:117E"
)

_ALIASES = {
    "WGS84": "WGS84",
    "WGS-84": "WGS84",
    "EPSG:4326": "WGS84",
    "4326": "WGS84",
    "CGCS2000": "CGCS2000",
    "CGCS-2000": "CGCS2000",
    "2000坐标": "CGCS2000",
    "2000坐标系": "CGCS2000",
    "国家2000": "CGCS2000",
    "天地图": "CGCS2000",
    "EPSG:4490": "CGCS2000",
    "4490": "CGCS2000",
    "GCJ02": "GCJ-02",
    "GCJ-02": "GCJ-02",
    "GCJ": "GCJ-02",
    "火星坐标": "GCJ-02",
    "高德": "GCJ-02",
    "BD09": "BD-09",
    "BD-09": "BD-09",
    "BAIDU": "BD-09",
    "百度": "BD-09",
}

_GK_RE = re.compile(r"^GK\s*([36])\s*[:\-_ ]?\s*(\d{2,3})\s*(E|°E|度)?$")


class UnknownCRSError(CRSChoiceError):
    """A coordinate-system name outside the vocabulary (and not a PROJ/EPSG definition)."""


@dataclass(frozen=True)
class CRSName:
    """A coordinate system of the vocabulary.

    Attributes
    ----------
    name : str
        The canonical name: ``WGS84``, ``CGCS2000``, ``GCJ-02``, ``BD-09``, ``EPSG:n``,
        ``GK3:NN``, ``GK3:117E``, ``GK6:NN`` or ``GK6:117E``.
    epsg : int or None
        The EPSG code (``None`` for GCJ-02 and BD-09, which no EPSG code describes).
    zone_width_deg : int or None
        3 or 6 for a Gauss–Krüger name (also for an ``EPSG:n`` in the CGCS2000 GK ranges).
    zone : int or None
        The zone number of a GK name.
    central_meridian_deg : int or None
        The central meridian of a GK name (degrees east).
    prefixed : bool
        Eastings carry the zone number (``39 512 345.6``) — the ``GK3:NN`` form.
    """

    name: str
    epsg: int | None
    zone_width_deg: int | None = None
    zone: int | None = None
    central_meridian_deg: int | None = None
    prefixed: bool = False

    @property
    def degrees(self) -> bool:
        """Coordinates are longitude/latitude degrees (the four named systems, geographic EPSG)."""
        if self.name in SOURCE_SYSTEMS:
            return True
        return self.epsg is not None and CRS.from_epsg(self.epsg).is_geographic

    def to_pyproj(self) -> CRS:
        """The pyproj CRS (GCJ-02/BD-09: WGS84, their offsets being applied separately)."""
        return CRS.from_epsg(self.epsg if self.epsg is not None else 4326)


def gk_name(
    width_deg: int, *, zone: int | None = None, central_meridian_deg: int | None = None
) -> CRSName:
    """The Gauss–Krüger name of a zone (prefixed eastings) or of a central meridian (no prefix).

    Raises
    ------
    UnknownCRSError
        For a zone or meridian outside China's CGCS2000 GK ranges.
    """
    if width_deg not in (3, 6) or (zone is None) == (central_meridian_deg is None):
        raise UnknownCRSError("GK: give the zone width (3 or 6) and a zone or a central meridian")
    step = 3 if width_deg == 3 else 6
    prefixed = zone is not None
    first, z0, z1 = _GK_RANGES[(width_deg, prefixed)]
    if zone is None:
        cm = int(central_meridian_deg)
        z = cm // 3 if width_deg == 3 else (cm + 3) // 6
        if not (z0 <= z <= z1) or (z * step - (0 if width_deg == 3 else 3)) != cm:
            valid = ", ".join(str(n * step - (0 if width_deg == 3 else 3)) for n in (z0, z1))
            raise UnknownCRSError(
                f"GK{width_deg}:{cm}E 不是 CGCS2000 {width_deg}° 带的中央经线 / not a central meridian "
                f"of CGCS2000 {width_deg}° zones: use a multiple of {step} between "
                f"{valid.replace(', ', ' and ')} (e.g. GK{width_deg}:117E)"
            )
        return CRSName(f"GK{width_deg}:{cm}E", first + z - z0, width_deg, z, cm, prefixed=False)
    z = int(zone)
    if not (z0 <= z <= z1):
        raise UnknownCRSError(
            f"GK{width_deg}:{z} 不是 CGCS2000 {width_deg}° 带号 / not a CGCS2000 {width_deg}° zone: "
            f"use {z0}–{z1} (合肥 = GK3:39)"
            if width_deg == 3
            else f"GK6:{z} 不是 CGCS2000 6° 带号 / not a CGCS2000 6° zone: use {z0}–{z1}"
        )
    cm = z * 3 if width_deg == 3 else z * 6 - 3
    return CRSName(f"GK{width_deg}:{z}", first + z - z0, width_deg, z, cm, prefixed=True)


def _gk_of_epsg(epsg: int) -> CRSName | None:
    for (width, prefixed), (first, z0, z1) in _GK_RANGES.items():
        if first <= epsg <= first + (z1 - z0):
            z = z0 + epsg - first
            cm = z * 3 if width == 3 else z * 6 - 3
            return CRSName(f"EPSG:{epsg}", epsg, width, z, cm, prefixed)
    return None


def parse_crs(text) -> CRSName:
    """Parse a coordinate-system name of the vocabulary (CLI ``--crs``, the app, files).

    Accepted (case-insensitive, full-width forms folded): ``WGS84``, ``CGCS2000``,
    ``GCJ-02``, ``BD-09`` (and the words 高德/百度/天地图/2000坐标/火星坐标), ``EPSG:n``
    or a bare code, ``GK3:NN`` (zone-prefixed eastings, EPSG:4513–4533),
    ``GK3:117E`` (central meridian, no prefix, EPSG:4534–4554), ``GK6:NN``
    (EPSG:4491–4501), ``GK6:117E`` (EPSG:4502–4512); any other PROJ definition is
    accepted when it has an EPSG code.

    Raises
    ------
    UnknownCRSError
        For anything else; the message lists the vocabulary.
    """
    import unicodedata

    raw = str(text)
    key = unicodedata.normalize("NFKC", raw).strip().upper().replace("_", "-")
    key = re.sub(r"\s+", "", key) if key.startswith("GK") else key
    if key in _ALIASES:
        name = _ALIASES[key]
        return CRSName(name, {"WGS84": 4326, "CGCS2000": 4490}.get(name))
    m = _GK_RE.match(key)
    if m:
        width, num, east = int(m.group(1)), int(m.group(2)), m.group(3)
        if east or num >= 60:  # zone numbers are < 50, central meridians ≥ 75
            return gk_name(width, central_meridian_deg=num)
        return gk_name(width, zone=num)
    epsg = _epsg_of(key, raw)
    if epsg is None:
        raise UnknownCRSError(
            f"未知坐标系 / unknown coordinate system {raw[:60]!r}: use {CRS_VOCABULARY_HELP}"
        )
    if epsg == 4326:
        return CRSName("WGS84", 4326)
    if epsg == 4490:
        return CRSName("CGCS2000", 4490)
    return _gk_of_epsg(epsg) or CRSName(f"EPSG:{epsg}", epsg)


def _epsg_of(key: str, raw: str) -> int | None:
    """The EPSG code of ``EPSG:n``, a bare code or a PROJ definition (None: none known)."""
    if re.fullmatch(r"\d{4,5}", key):
        key = "EPSG:" + key
    m = re.fullmatch(r"EPSG:(\d{4,5})", key)
    if m is None:
        from pyproj.exceptions import CRSError

        try:
            return CRS.from_user_input(raw.strip()).to_epsg()
        except CRSError:
            return None
    try:
        CRS.from_epsg(int(m.group(1)))
    except Exception:
        return None
    return int(m.group(1))


def gk_prefix_fix(name: CRSName, x: np.ndarray) -> np.ndarray:
    """Eastings made to fit a GK system: the zone prefix added (prefixed system, plain
    eastings) or stripped (plain system, prefixed eastings); other systems unchanged."""
    x = np.asarray(x, dtype=float)
    if name.zone_width_deg is None or not np.isfinite(x).any():
        return x
    med = float(np.nanmedian(x))
    if name.prefixed and 0 < med < 1e6:
        return x + name.zone * 1e6
    if not name.prefixed and med >= 1e7:
        return x % 1e6
    return x
