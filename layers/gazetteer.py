"""A local address register (标准地址/门牌 table) as a geocoder.

A planning institute holds a register of standard addresses with coordinates
(any supported CRS). :func:`read_register` reads it through the importer's table
reader (header detection, encodings, XLSX sheets) or, for GIS files, GDAL;
:class:`Gazetteer` indexes it; :class:`LocalGeocoder` matches addresses against
it and falls back to the offline geocoder for what it cannot match.

Matching
--------
Both sides are normalised the same way (:func:`address_key`): ``cpca`` reads
the province/city/county, which are then compared as codes, not as text; the
rest of the address is NFKC-normalised (full-width digits), stripped of spaces
and punctuation, of a leading development-zone name and of 第; Chinese
numerals before 号/幢/栋/楼/层/室/单元 become digits; 号楼/栋/座 are read as 幢.
A register row is a candidate only when it carries **the same door numbers**
(every digit group, in order) and no other county or city; the candidates are
scored with rapidfuzz's ``ratio`` (0–100). A match needs
``settings.GAZETTEER_MIN_SCORE`` and a lead of ``settings.GAZETTEER_MIN_LEAD``
over the best candidate at a different place; otherwise the offline geocoder
answers (status ``coarse`` or whatever it finds) and the note says why.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import settings
from layers.errors import InnoMapError
from layers.geocode import ZONE_WORDS, GeocodeResult, _cpca, _status_for, normalise_address

__all__ = [
    "ADDRESS_COLUMNS",
    "Gazetteer",
    "GazetteerError",
    "LocalGeocoder",
    "address_key",
    "read_register",
]

#: Column names of a register's full address, best first.
ADDRESS_COLUMNS = (
    "标准地址",
    "地址",
    "门牌地址",
    "详细地址",
    "完整地址",
    "地址全称",
    "标准地址名称",
    "address",
    "addr",
    "full_address",
)
_PRECISION_COLUMNS = ("coord_precision_m", "精度", "坐标精度", "精度(米)", "precision")
#: Register points closer than this (m) are one place (a row listed twice).
_SAME_PLACE_M = 30.0

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CN_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUM = re.compile(r"[零〇一二两三四五六七八九十百千]+(?=号|幢|栋|楼|层|室|单元|座|弄|巷)")
_PUNCT = re.compile(r"[\s,，、。.;；:：·'\"“”‘’()（）\[\]【】<>《》{}#＃/\\|_]+")
_DASH = re.compile(r"[-‐‑–—−－~～]+")
_BUILDING = re.compile(r"(\d+)(?:号楼|栋|座|幢)")
_ZONE_HEAD = re.compile(r"^[^\d]{0,8}?(?:" + "|".join(map(re.escape, ZONE_WORDS)) + ")")


class GazetteerError(InnoMapError):
    """An address register that cannot be used (no address or coordinate column …)."""


def _cn_to_int(text: str) -> int:
    total, digit = 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:
            unit = _CN_UNITS[ch]
            total += (1 if digit is None else digit) * unit
            digit = None
    if digit is not None:
        total += digit
    return total


def _remainder_key(text: str) -> str:
    """The street part of an address (after 省市区), normalised (see the module docstring)."""
    s = unicodedata.normalize("NFKC", str(text))
    s = _DASH.sub("-", s)
    s = _PUNCT.sub("", s)
    s = s.removeprefix("中国")
    s = _CN_NUM.sub(lambda m: str(_cn_to_int(m.group(0))), s)
    s = s.replace("第", "")
    s = _BUILDING.sub(r"\1幢", s)
    s = s.replace("号门牌", "号").replace("门牌号", "").replace("门牌", "")
    m = _ZONE_HEAD.match(s)
    if m and len(s) > m.end():  # 高新区天智路97号 → 天智路97号 (the zone is no part of the street)
        s = s[m.end() :]
    return s.strip("-")


def _numbers(rem: str) -> tuple[str, ...]:
    return tuple(str(int(n)) for n in re.findall(r"\d+", rem))


def address_key(addresses: list[str], *, umap: dict | None = None) -> list[tuple[str, str, str]]:
    """``(city code, county code, street key)`` of each address ("" where not named).

    The codes are 6-digit adcodes read by ``cpca`` (city ``xxxx00``); the street
    key is the normalised rest of the address.
    """
    if not addresses:
        return []
    texts = [normalise_address(a) for a in addresses]
    df = _cpca().transform(texts, umap=umap or {})
    out = []
    for code, county, rest in zip(df["adcode"], df["区"], df["地址"], strict=True):
        code = str(code) if isinstance(code, str) and len(str(code)) == 6 else ""
        city = code[:4] + "00" if code else ""
        county_code = code if code and isinstance(county, str) and county else ""
        out.append((city, county_code, _remainder_key(rest if isinstance(rest, str) else "")))
    return out


# ---------------------------------------------------------------- reading a register
def _find_column(columns, names) -> str | None:
    norm = {str(c).strip().lower(): c for c in columns}
    for n in names:
        if n.lower() in norm:
            return norm[n.lower()]
    return None


def _precision(values) -> np.ndarray:
    p = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(p) | (p <= 0)
    return np.where(bad, settings.GAZETTEER_DEFAULT_PRECISION_M, p)


def _table_points(p: Path, *, crs: str | None, sheet: str | None, encoding: str | None):
    """``(lon, lat, crs_in, attributes)`` of a CSV/XLSX register (WGS84; NaN where unusable)."""
    from layers.coords import (
        detect_coordinate_columns,
        guess_source_crs,
        normalise_crs_name,
        parse_coordinate_series,
        split_pair,
        to_wgs84,
    )
    from layers.importer import ImportOptions, read_table_for_geocoding

    # the importer's table reader: encodings, the header past title rows, sheets
    df = read_table_for_geocoding(p, ImportOptions(sheet=sheet, encoding=encoding))
    lon_col, lat_col, pair = detect_coordinate_columns(df.columns)
    if lon_col and lat_col:
        xs, ys = df[lon_col], df[lat_col]
    elif pair:
        xs, ys = split_pair(df[pair])
    else:
        raise GazetteerError(
            f"{p.name}: 地址库没有坐标列 / the register has no coordinate columns among "
            f"{', '.join(map(str, df.columns))}: name them 经度/纬度 (or X/Y)"
        )
    x = parse_coordinate_series(xs)
    y = parse_coordinate_series(ys)
    if crs:
        crs_in = normalise_crs_name(crs)
    else:
        hints = " ".join(map(str, df.columns)) + " " + p.name
        crs_in, why = guess_source_crs(x, y, hints=hints)
        if not crs_in:
            raise GazetteerError(f"{p.name}: {why} (--gazetteer-crs)")
    ok = np.isfinite(x) & np.isfinite(y)
    lon = np.full(len(df), np.nan)
    lat = np.full(len(df), np.nan)
    if ok.any():
        lon[ok], lat[ok] = to_wgs84(x[ok], y[ok], crs_in)
    return lon, lat, crs_in, df


def _geo_points(p: Path, *, crs: str | None):
    """``(lon, lat, crs_in, attributes)`` of a GIS register file read by GDAL (WGS84)."""
    import pyogrio

    from layers.coords import normalise_crs_name, to_wgs84

    try:
        gdf = pyogrio.read_dataframe(p)
    except Exception as exc:  # GDAL on a damaged file
        raise GazetteerError(
            f"{p.name}: 无法读取地址库 / cannot read the register ({type(exc).__name__})"
        ) from None
    geom = gdf.geometry
    geom = geom.where(geom.geom_type == "Point", geom.representative_point())
    if crs:  # the file's coordinates are in the system given (GCJ-02, GK3:39 …)
        crs_in = normalise_crs_name(crs)
        lon, lat = to_wgs84(geom.x.to_numpy(float), geom.y.to_numpy(float), crs_in)
    elif gdf.crs is None:
        raise GazetteerError(
            f"{p.name}: 地址库没有坐标系 / the register states no CRS: give --gazetteer-crs"
        )
    else:
        crs_in = gdf.crs.to_string()
        pts = geom.to_crs(4326)
        lon, lat = pts.x.to_numpy(dtype=float), pts.y.to_numpy(dtype=float)
    return lon, lat, crs_in, pd.DataFrame(gdf.drop(columns=gdf.geometry.name))


def read_register(
    path,
    *,
    crs: str | None = None,
    address_col: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
):
    """A register file as ``(frame, notes)``: WGS84 points with ``address`` and ``coord_precision_m``.

    CSV/XLSX go through the importer's table reader
    (:func:`layers.importer.read_table_for_geocoding`: encodings, a header below
    title rows, sheets) and its coordinate-column detection and CRS guess (file and column names as hints; ``crs`` overrides);
    GeoPackage/Shapefile/GeoJSON/KML through GDAL. Rows without an address or
    with unusable coordinates are left out and counted in ``notes``.

    Raises
    ------
    GazetteerError
        No address column, no coordinates, or no usable row.
    layers.importer.ImportFileError
        The file cannot be read.
    """
    import geopandas as gpd
    import shapely

    from layers.importer import inspect_file

    p = Path(path)
    notes: list[str] = []
    if inspect_file(p)["format"] in ("csv", "xlsx"):
        lon, lat, crs_in, attrs = _table_points(p, crs=crs, sheet=sheet, encoding=encoding)
    else:
        lon, lat, crs_in, attrs = _geo_points(p, crs=crs)
    col = address_col or _find_column(attrs.columns, ADDRESS_COLUMNS)
    if col is None or col not in attrs.columns:
        raise GazetteerError(
            f"{p.name}: 地址库没有地址列 / the register has no address column among "
            f"{', '.join(map(str, attrs.columns))}: name it 标准地址 or 地址 "
            "(or give --gazetteer-address-col)"
        )
    address = attrs[col].astype(object).where(attrs[col].notna(), "").astype(str).str.strip()
    pcol = _find_column(attrs.columns, _PRECISION_COLUMNS)
    prec = (
        _precision(attrs[pcol])
        if pcol is not None
        else np.full(len(attrs), settings.GAZETTEER_DEFAULT_PRECISION_M)
    )
    good = np.isfinite(lon) & np.isfinite(lat) & (address.to_numpy() != "")
    good &= (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    dropped = int((~good).sum())
    if dropped:
        notes.append(
            f"地址库 {p.name}: {dropped} 行无地址或坐标无效, 未使用 / {dropped} register rows "
            "without an address or with unusable coordinates were left out"
        )
    if not good.any():
        raise GazetteerError(f"{p.name}: 地址库没有可用的行 / no usable row in the register")
    if pcol is None:
        notes.append(
            f"地址库未注明精度, 按 {settings.GAZETTEER_DEFAULT_PRECISION_M:g} 米记 / the register "
            f"states no precision: {settings.GAZETTEER_DEFAULT_PRECISION_M:g} m assumed"
        )
    frame = gpd.GeoDataFrame(
        {
            "address": address.to_numpy()[good],
            "coord_precision_m": prec[good],
        },
        geometry=shapely.points(lon[good], lat[good]),
        crs=4326,
    )
    frame.attrs["crs_in"] = crs_in
    return frame, notes


# ---------------------------------------------------------------- the index
@dataclass
class Gazetteer:
    """An indexed register (WGS84 points; see the module docstring)."""

    address: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    precision_m: np.ndarray
    city: list[str]
    county: list[str]
    street: list[str]
    name: str = ""
    by_numbers: dict[tuple, list[int]] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, frame, *, name: str = "", counties=()) -> Gazetteer:
        """Index a register frame (``address``, ``coord_precision_m``, point geometry, WGS84)."""
        umap = {str(n): str(a) for n, a in counties}
        keys = address_key([str(a) for a in frame["address"]], umap=umap)
        g = cls(
            address=np.asarray(frame["address"], dtype=object),
            lon=frame.geometry.x.to_numpy(dtype=float),
            lat=frame.geometry.y.to_numpy(dtype=float),
            precision_m=_precision(frame["coord_precision_m"]),
            city=[k[0] for k in keys],
            county=[k[1] for k in keys],
            street=[k[2] for k in keys],
            name=name,
        )
        for i, street in enumerate(g.street):
            if street:
                g.by_numbers.setdefault(_numbers(street), []).append(i)
        return g

    def geocoder(self, *, fallback) -> LocalGeocoder:
        """This register as a geocoder; what it cannot match goes to ``fallback``
        (what ``layers.geocode.make_geocoder("local", gazetteer=…)`` returns)."""
        return LocalGeocoder(self, fallback=fallback)

    def __len__(self) -> int:
        return len(self.address)

    def _same_place(self, i: int, j: int) -> bool:
        kx = 111_320.0 * math.cos(math.radians(self.lat[i]))
        dx = (self.lon[i] - self.lon[j]) * kx
        dy = (self.lat[i] - self.lat[j]) * 110_574.0
        return math.hypot(dx, dy) <= _SAME_PLACE_M

    def match(self, city: str, county: str, street: str) -> tuple[int | None, float, str]:
        """``(row, score, why)`` of the best register row for a normalised address.

        ``row`` is None when nothing reaches the threshold with the required lead.
        """
        from rapidfuzz import fuzz

        if not street:
            return None, 0.0, "地址无街道门牌 / no street or number in the address"
        cands = [
            i
            for i in self.by_numbers.get(_numbers(street), ())
            if not (county and self.county[i] and self.county[i] != county)
            and not (city and self.city[i] and self.city[i] != city)
        ]
        if not cands:
            return None, 0.0, "地址库无同门牌号的地址 / no register address with these numbers"
        if len(cands) <= 64:
            scores = [(fuzz.ratio(street, self.street[i]), i) for i in cands]
        else:  # many rows share the numbers (or have none): rapidfuzz's C loop
            from rapidfuzz import process

            top = process.extract(
                street, [self.street[i] for i in cands], scorer=fuzz.ratio, limit=16
            )
            scores = [(score, cands[k]) for _, score, k in top]
        scores.sort(key=lambda t: -t[0])
        best, i1 = scores[0]
        rival = next((s for s, j in scores[1:] if not self._same_place(i1, j)), 0.0)
        if best < settings.GAZETTEER_MIN_SCORE:
            return (
                None,
                best,
                (
                    f"最佳匹配分 {best:.0f} 低于 {settings.GAZETTEER_MIN_SCORE:g} / best score "
                    f"{best:.0f} below {settings.GAZETTEER_MIN_SCORE:g}"
                ),
            )
        if best - rival < settings.GAZETTEER_MIN_LEAD:
            return (
                None,
                best,
                (
                    f"地址库中有多个相近地址 (得分 {best:.0f} 与 {rival:.0f}) / several register "
                    f"addresses score alike ({best:.0f}, {rival:.0f})"
                ),
            )
        return i1, best, ""


class LocalGeocoder:
    """Addresses → the local register (:class:`Gazetteer`), else ``fallback`` (offline)."""

    name = "local"

    def __init__(self, gazetteer: Gazetteer, *, fallback):
        self.gazetteer = gazetteer
        self.fallback = fallback
        self.asked = 0
        self.matched = 0

    def geocode_many(self, addresses: list[str]) -> list[GeocodeResult]:
        if not addresses:
            return []
        keys = address_key(list(addresses), umap=getattr(self.fallback, "_umap", None))
        self.asked += len(addresses)
        out: list[GeocodeResult | None] = []
        misses: list[tuple[int, str]] = []
        g = self.gazetteer
        for pos, key in enumerate(keys):
            row, score, why = g.match(*key)
            if row is None:
                misses.append((pos, why))
                out.append(None)
                continue
            self.matched += 1
            prec = float(g.precision_m[row])
            district = ""
            if g.county[row]:
                from layers.geocode import _county_index

                rec = _county_index().get(g.county[row])
                district = rec["district"] if rec else ""
            out.append(
                GeocodeResult(
                    status=_status_for(prec),
                    lon=float(g.lon[row]),
                    lat=float(g.lat[row]),
                    level="门牌号",
                    precision_m=prec,
                    source="geocode:local:门牌号",
                    note=f"地址库 {g.name}: {g.address[row]} (得分 {score:.0f}) / register match "
                    f"(score {score:.0f})",
                    adcode=g.county[row],
                    district=district,
                )
            )
        if misses:
            fb = self.fallback.geocode_many([addresses[p] for p, _ in misses])
            for (pos, why), r in zip(misses, fb, strict=True):
                prefix = f"地址库未匹配 ({why}); "
                out[pos] = GeocodeResult(**{**r.__dict__, "note": prefix + r.note})
        return out  # type: ignore[return-value]

    def geocode(self, address: str) -> GeocodeResult:
        return self.geocode_many([address])[0]
