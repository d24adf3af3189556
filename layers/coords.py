"""Coordinate parsing and checks for imported tables.

* column detection (经度/纬度, lng/lon/long, lat, x/y, X坐标/Y坐标, combined "location");
* value parsing: fullwidth digits, decimal degrees with hemisphere letters, and
  degrees-minutes-seconds in ASCII or Chinese notation (121°37'59.5"E, 121度37分59.5秒);
* source systems: WGS84/CGCS2000, GCJ-02, BD-09 and any EPSG code, including
  CGCS2000 Gauss–Krüger eastings with the zone number prefixed;
* per-row flags with a suggested fix (swapped, (0,0), outside China, projected
  numbers in degree columns, far from the other points).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache, partial

import numpy as np
import pandas as pd
from pyproj import Transformer

from layers.crs import UnknownCRSError, gk_prefix_fix, out_of_china, parse_crs, to_wgs84_from
from layers.errors import InnoMapError

__all__ = [
    "CoordinateError",
    "detect_coordinate_columns",
    "guess_source_crs",
    "parse_coordinate_series",
    "row_flags",
    "split_cell",
    "split_pair",
    "to_wgs84",
]

LON_NAMES = (
    "经度",
    "lng",
    "lon",
    "long",
    "longitude",
    "x",
    "x坐标",
    "坐标x",
    "东经",
    "经度(°)",
    "gcj_lng",
    "gcj02_lng",
    "bd_lng",
    "bd09_lng",
    "wgs84_lng",
    "lon_wgs84",
    "point_x",
    "横坐标",
)
LAT_NAMES = (
    "纬度",
    "lat",
    "latitude",
    "y",
    "y坐标",
    "坐标y",
    "北纬",
    "纬度(°)",
    "gcj_lat",
    "gcj02_lat",
    "bd_lat",
    "bd09_lat",
    "wgs84_lat",
    "lat_wgs84",
    "point_y",
    "纵坐标",
)
PAIR_NAMES = ("location", "经纬度", "坐标", "lnglat", "lng_lat", "gps", "位置坐标")

_DEGREE_SYSTEMS = {"WGS84", "CGCS2000", "GCJ-02", "BD-09"}


class CoordinateError(InnoMapError):
    """Raised for an unknown coordinate system or unusable coordinate columns."""


def _norm(name: str) -> str:
    return unicodedata.normalize("NFKC", str(name)).strip().lower().replace(" ", "")


def detect_coordinate_columns(columns) -> tuple[str | None, str | None, str | None]:
    """Return ``(lon_col, lat_col, pair_col)`` guessed from the column names.

    Names are compared exactly (NFKC, case, spaces), then tolerantly: bracketed
    parts and units left out (``经度（高德）`` is a longitude column; the bracket
    stays in the name, a CRS hint).
    """
    from layers.tabular import column_key

    norm = {_norm(c): c for c in columns}
    loose: dict[str, str] = {}
    for c in columns:
        loose.setdefault(column_key(c), c)

    def find(names):
        hit = next((norm[n] for n in names if n in norm), None)
        return hit if hit is not None else next((loose[n] for n in names if n in loose), None)

    lon, lat = find(LON_NAMES), find(LAT_NAMES)
    pair = None
    if lon is None or lat is None:
        pair = find(PAIR_NAMES)
    return lon, lat, pair


_DMS = re.compile(
    r"^\s*(?P<hem1>[NSEW东西南北]|东经|西经|北纬|南纬)?\s*(?P<d>-?\d+(?:\.\d+)?)\s*(?:°|度|:|\s)\s*"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*(?:'|′|分|:|\s)?\s*)?(?:(?P<s>\d+(?:\.\d+)?)\s*(?:\"|″|''|秒)?\s*)?"
    r"(?P<hem2>[NSEW东西南北])?\s*$",
    re.IGNORECASE,
)
_HEMI = re.compile(
    r"^\s*(东经|北纬|西经|南纬|[NSEW])?\s*(-?\d+(?:\.\d+)?)\s*°?\s*([NSEW])?\s*$", re.IGNORECASE
)


def _parse_one(value) -> float:
    if value is None:
        return np.nan
    s = unicodedata.normalize("NFKC", str(value)).strip()
    if not s:
        return np.nan
    s = (
        s.replace("，", ",")
        .replace("′′", '"')
        .replace("″", '"')
        .replace("′", "'")
        .replace("’", "'")
    )
    s = s.replace("”", '"').replace("''", '"')
    m = _HEMI.match(s)
    if m:
        v = float(m.group(2))
        hemi = (m.group(1) or m.group(3) or "").upper()
        return -abs(v) if hemi in ("S", "W", "西经", "南纬") else v
    m = _DMS.match(s)
    if m and (m.group("m") or m.group("s")):
        d = float(m.group("d"))
        mins = float(m.group("m") or 0)
        secs = float(m.group("s") or 0)
        if mins >= 60 or secs >= 60:
            return np.nan
        v = abs(d) + mins / 60 + secs / 3600
        hemi = ((m.group("hem1") or "") + (m.group("hem2") or "")).upper()
        neg = d < 0 or any(h in hemi for h in ("S", "W", "西", "南"))
        return -v if neg else v
    return np.nan


def _plain_numbers(values: pd.Series) -> np.ndarray | None:
    """Every value a plain decimal number or blank (NaN), parsed by Arrow in one pass
    (a large table's text columns are Arrow strings); None when any value is not."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(values, pd.Series) or not isinstance(values.dtype, pd.StringDtype):
        return None
    try:
        arr = pc.utf8_trim_whitespace(pa.array(values, type=pa.string(), from_pandas=True))
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
        if pc.any(pc.match_substring_regex(arr, r"[^0-9.eE+\-]")).as_py():
            return None  # nan/inf words, fullwidth digits, DMS, hemispheres: the full parser
        return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False).astype(float, copy=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return None


def parse_coordinate_series(values: pd.Series) -> np.ndarray:
    """Parse coordinates: plain numbers fast, then fullwidth digits, hemispheres and DMS."""
    fast = _plain_numbers(values)
    if fast is not None:
        return fast
    s = pd.Series(values, dtype=object)
    out = np.array(pd.to_numeric(s, errors="coerce"), dtype=float, copy=True)
    bad = np.flatnonzero(
        np.isnan(out) & s.notna().to_numpy() & (s.astype(str).str.strip() != "").to_numpy()
    )
    for i in bad:
        out[i] = _parse_one(s.iloc[i])
    return out


_PAIR_SEP = re.compile(r"\s*[,、;/|]\s*")


def split_cell(text) -> tuple[str, str]:
    """One cell holding both coordinates as ``(x, y)`` text.

    ``117.20,31.74``, ``117.20，31.74`` (full-width), ``117.20、31.74``,
    ``117.20;31.74`` and ``117.20 31.74`` split; brackets around the pair are
    left out. A cell that does not split gives ``(cell, "")``.
    """
    s = unicodedata.normalize("NFKC", "" if text is None else str(text)).strip()
    s = s.strip("()[]{}<>").strip()
    if not s:
        return "", ""
    parts = _PAIR_SEP.split(s, maxsplit=1)
    if len(parts) == 2:
        return parts[0].strip(), parts[1].strip()
    words = s.split()
    if len(words) == 2:
        return words[0], words[1]
    return s, ""


def split_pair(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split a column of coordinate-pair cells (AMap ``location`` style; see :func:`split_cell`)."""
    s = pd.Series(values, dtype=object)
    pairs = [split_cell(v) for v in s.where(s.notna(), "")]
    xs = pd.Series([p[0] for p in pairs], index=s.index, dtype=object)
    ys = pd.Series([p[1] for p in pairs], index=s.index, dtype=object)
    return xs, ys


def _gk_zone_from_prefix(x: np.ndarray) -> int | None:
    """Zone number of Gauss–Krüger eastings written with the zone prefix (e.g. 40 512 345.6)."""
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return None
    zones = np.floor(x / 1e6).astype(int)
    if ((x >= 1e7) & (x < 1e8)).mean() > 0.9:
        vals, counts = np.unique(zones, return_counts=True)
        return int(vals[np.argmax(counts)])
    return None


#: Reason given when degree coordinates with no stated CRS are read as WGS84 (the
#: importer reports it as ``ImportReport.crs_unstated``: the user must be asked).
DEGREES_UNSTATED_REASON = "度数无法区分 WGS84 与 GCJ-02; 高德/腾讯导出为 GCJ-02, 百度为 BD-09 / degrees cannot tell WGS84 from GCJ-02"

#: What the user is told when such a file is read as WGS84.
CRS_UNSTATED_WARNING = (
    "未声明坐标系, 按 WGS84 读取; 若坐标来自高德 (GCJ-02) 或百度 (BD-09), 位置将偏移 500–1,300 米 / "
    "no CRS stated: read as WGS84 — coordinates from AMap (GCJ-02) or Baidu (BD-09) would be "
    "500–1,300 m off; state the CRS (--crs GCJ-02 or --crs BD-09)"
)


#: Words in file or column names that say the degrees are GCJ-02, BD-09 or CGCS2000.
GCJ_HINTS = ("gcj", "高德", "amap", "gaode", "腾讯", "tencent", "火星")
BD_HINTS = ("bd09", "bd-09", "百度", "baidu", "bd_")
CGCS_HINTS = ("天地图", "tianditu", "cgcs2000", "cgcs", "2000坐标", "国家2000")


def hinted_crs(hints: str) -> tuple[str | None, str]:
    """``(system, reason)`` a file or column name states (GCJ-02, BD-09, CGCS2000) or ``(None, "")``."""
    h = unicodedata.normalize("NFKC", str(hints)).lower()
    if any(k in h for k in GCJ_HINTS):
        return "GCJ-02", "名称含高德/腾讯/GCJ / names mention AMap/Tencent/GCJ"
    if any(k in h for k in BD_HINTS):
        return "BD-09", "名称含百度/BD / names mention Baidu/BD-09"
    if any(k in h for k in CGCS_HINTS):
        return "CGCS2000", "名称含天地图/CGCS2000 / names mention Tianditu/CGCS2000"
    return None, ""


def guess_source_crs(x: np.ndarray, y: np.ndarray, *, hints: str = "") -> tuple[str, str]:
    """Guess the source system of numeric coordinates; returns ``(crs, reason)``.

    Degree values cannot tell WGS84 from GCJ-02 or BD-09: column or file names
    containing gcj/高德/amap/tencent/腾讯 or bd/百度/baidu decide; otherwise WGS84.
    Large numbers are projected: zone-prefixed Gauss–Krüger eastings give the
    CGCS2000 zone; 6-digit eastings with 7-digit northings suggest UTM/GK (ask).
    """
    h = hints.lower()
    fx, fy = x[np.isfinite(x)], y[np.isfinite(y)]
    if len(fx) and (np.abs(fx) <= 180).mean() > 0.9 and (np.abs(fy) <= 90).mean() > 0.9:
        hinted, why = hinted_crs(h)
        if hinted:
            return hinted, why
        return "WGS84", DEGREES_UNSTATED_REASON
    zone = _gk_zone_from_prefix(fx)
    if zone is not None:
        if 25 <= zone <= 45:
            return (
                f"EPSG:{4513 + zone - 25}",
                f"东坐标带带号 {zone} (CGCS2000 3° 高斯-克吕格) / zone-prefixed 3° GK eastings",
            )
        if 13 <= zone <= 23:
            return (
                f"EPSG:{4491 + zone - 13}",
                f"东坐标带带号 {zone} (CGCS2000 6° 高斯-克吕格) / zone-prefixed 6° GK eastings",
            )
    if len(fx) and (np.abs(fx) < 1e6).mean() > 0.9 and (np.abs(fy) > 1e6).mean() > 0.9:
        return (
            "",
            "投影坐标(米), 东坐标没有带号, 请指定坐标系 (CGCS2000 3° 带: --crs GK3:NN 如 合肥 GK3:39, "
            "或按中央经线 GK3:117E; UTM 51N = EPSG:32651) / projected metres without a zone prefix: "
            "give the CRS (--crs GK3:NN, GK3:117E or EPSG:n)",
        )
    return "WGS84", "默认 / default"


def normalise_crs_name(crs: str) -> str:
    """Canonical name of the CRS vocabulary (:func:`layers.crs.parse_crs`).

    ``WGS84``, ``CGCS2000``, ``GCJ-02``, ``BD-09``, ``EPSG:n`` (as given), ``GK3:NN``,
    ``GK3:117E``, ``GK6:NN`` or ``GK6:117E``.

    Raises
    ------
    CoordinateError
        For a name outside the vocabulary that is not a valid EPSG/PROJ definition.
    """
    try:
        return parse_crs(crs).name
    except UnknownCRSError as exc:
        raise CoordinateError(str(exc)) from None


@lru_cache(maxsize=64)
def _to_wgs84_transformer(epsg: int) -> Transformer:
    return Transformer.from_crs(epsg, 4326, always_xy=True)


def to_wgs84(x: np.ndarray, y: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates in ``crs`` (a name of the vocabulary) to WGS84 lon/lat.

    Gauss–Krüger eastings are fitted to the system: a zone prefix is stripped for a
    central-meridian system (``GK3:117E``, EPSG:4534–4554) and added for a zone
    system (``GK3:39``, EPSG:4513–4533) when the file's eastings have none.
    """
    try:
        parsed = parse_crs(crs)
    except UnknownCRSError as exc:
        raise CoordinateError(str(exc)) from None
    name = parsed.name
    if name in _DEGREE_SYSTEMS:
        return to_wgs84_from(name, x, y)
    c = parsed.to_pyproj()
    t = _to_wgs84_transformer(parsed.epsg)
    if c.is_geographic:
        return t.transform(x, y)
    xx = gk_prefix_fix(parsed, np.asarray(x, float))
    yy = np.asarray(y, float)
    lon, lat = (np.asarray(v, float) for v in t.transform(xx, yy))
    # zone-prefixed Gauss–Krüger eastings given with a non-GK metric CRS: strip the prefix
    bad = ~np.isfinite(lon) | out_of_china(lon, lat)
    if parsed.zone_width_deg is None and bad.mean() > 0.5 and np.nanmedian(xx) > 1e7:
        lon, lat = (np.asarray(v, float) for v in t.transform(xx % 1e6, yy))
    return lon, lat


def _shown(cells, i: int, parsed: str) -> str:
    """Row ``i``'s coordinates as the file wrote them (``parsed`` when not known)."""
    if cells is None:
        return parsed
    text = cells[i]
    return parsed if text is None else str(text)


def row_flags(
    raw_x: np.ndarray,
    raw_y: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    degree_input: bool,
    far_km: float = 100.0,
    cells=None,
) -> tuple[list[tuple[int, str, str, str]], list[tuple[int, str, str, str]]]:
    """Per-row problems: ``(errors, warnings)`` as ``(index, field, value, message)``.

    ``cells`` (optional) is the original text of every row's coordinates (the
    pair cell, or the two cells joined by ", "): every error then quotes it,
    never the parsed numbers ("nan, nan").
    """
    errors: list[tuple[int, str, str, str]] = []
    shown = partial(_shown, cells)
    warnings: list[tuple[int, str, str, str]] = []
    rx, ry = np.asarray(raw_x, float), np.asarray(raw_y, float)
    missing = ~(np.isfinite(rx) & np.isfinite(ry))
    for i in np.flatnonzero(missing):
        errors.append(
            (
                int(i),
                "lon/lat",
                shown(int(i), f"{raw_x[i]}, {raw_y[i]}"),
                "坐标缺失或无法解析 / coordinate missing or unreadable: fill in decimal degrees or DMS",
            )
        )
    ok = ~missing
    zero = ok & (rx == 0) & (ry == 0)
    for i in np.flatnonzero(zero):
        errors.append(
            (
                int(i),
                "lon/lat",
                shown(int(i), "0, 0"),
                "坐标为 (0,0), 多为缺省值 / coordinate is (0,0), a placeholder: geocode the address",
            )
        )
    ok &= ~zero
    if degree_input:
        swapped = ok & (ry >= 73) & (ry <= 136) & (rx >= 3) & (rx <= 54)
        for i in np.flatnonzero(swapped):
            errors.append(
                (
                    int(i),
                    "lon/lat",
                    shown(int(i), f"{rx[i]:g}, {ry[i]:g}"),
                    "经纬度颠倒 / lon and lat look swapped: fix = swap",
                )
            )
        ok &= ~swapped
        proj = ok & ((np.abs(rx) > 180) | (np.abs(ry) > 90))
        for i in np.flatnonzero(proj):
            errors.append(
                (
                    int(i),
                    "lon/lat",
                    shown(int(i), f"{rx[i]:g}, {ry[i]:g}"),
                    "经纬度列中是投影坐标(米) / projected numbers in degree columns: choose the EPSG code of the data",
                )
            )
        ok &= ~proj
    outside = ok & (~np.isfinite(lon) | ~np.isfinite(lat) | out_of_china(lon, lat))
    for i in np.flatnonzero(outside):
        errors.append(
            (
                int(i),
                "lon/lat",
                shown(int(i), f"{lon[i]:.6f}, {lat[i]:.6f}"),
                "位于中国境外 / outside China: check the coordinate system",
            )
        )
    ok &= ~outside
    if ok.sum() >= 5:
        mx, my = np.median(lon[ok]), np.median(lat[ok])
        d = np.hypot((lon - mx) * 111.32 * np.cos(np.radians(my)), (lat - my) * 110.57)
        for i in np.flatnonzero(ok & (d > far_km)):
            warnings.append(
                (
                    int(i),
                    "lon/lat",
                    f"{lon[i]:.6f}, {lat[i]:.6f}",
                    f"距其他点中位位置 {d[i]:.0f} km, 远离研究区 / {d[i]:.0f} km from the other points: check it",
                )
            )
    return errors, warnings
