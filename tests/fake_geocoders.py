"""Fake geocoding services on 127.0.0.1 answering in each provider's documented JSON.

* AMap ``/v3/geocode/geo`` (``status``/``info``/``infocode``/``count``/``geocodes``,
  ``location = "lng,lat"`` in GCJ-02, ``level``);
* Tianditu ``/geocoder?ds={"keyWord": …}&tk=`` (``status`` "0"/"101"/"404",
  ``location {lon, lat, level, score}`` in CGCS2000);
* Baidu ``/geocoding/v3/`` (``status`` 0/1/302/200…, ``result {location {lng, lat},
  precise, confidence, comprehension, level}`` in BD-09).

What a request gets depends on words in the address: ``歧义`` (several far-apart
candidates / a low score), ``无此地`` (no match), ``道路`` / ``区县级`` (coarse
levels), ``超时`` (the answer comes after :attr:`FakeGeocoder.delay_s`), ``北京``
(a point in Beijing), ``交换`` (longitude and latitude swapped), ``非数`` (NaN
coordinates); anything else is a door-number match at :func:`truth`.

Broken transports, by words too: ``慢滴`` (the body drips one byte every
:attr:`FakeGeocoder.drip_s`), ``巨大`` (a 5 MB body without Content-Length),
``巨头`` (a Content-Length of 300 MB), ``断开`` (fewer bytes than announced, then
the connection closes), ``乱码`` (a body that is not JSON), ``无回应`` (the connection
closes before any answer).
A wrong key gets the provider's bad-key answer; after :attr:`quota` answers, the
quota answer.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from layers.crs import wgs84_to_bd09, wgs84_to_gcj02

GOOD_KEY = "GOOD-KEY-7f3a9c"
PATHS = {"amap": "/v3/geocode/geo", "tianditu": "/geocoder", "baidu": "/geocoding/v3/"}
BEIJING = (116.4074, 39.9042)


def truth(address: str) -> tuple[float, float]:
    """The true WGS84 point of ``address`` (deterministic, inside Ningbo's 鄞州/海曙 area)."""
    if "北京" in address:
        return BEIJING
    h = hashlib.sha256(address.encode()).digest()
    return 121.52 + h[0] / 255 * 0.06, 29.80 + h[1] / 255 * 0.05


def _xy(address: str, lon: float, lat: float) -> tuple[float, float]:
    """The coordinates a fake answers with: swapped for 交换, NaN for 非数."""
    if "交换" in address:
        return lat, lon
    if "非数" in address:
        return float("nan"), float("nan")
    return lon, lat


def _amap(address: str, key_ok: bool, quota_left: bool) -> tuple[int, dict]:
    if not key_ok:
        return 200, {"status": "0", "info": "INVALID_USER_KEY", "infocode": "10001"}
    if not quota_left:
        return 200, {"status": "0", "info": "DAILY_QUERY_OVER_LIMIT", "infocode": "10003"}
    if "无此地" in address:
        return 200, {"status": "1", "info": "OK", "infocode": "10000", "count": "0", "geocodes": []}
    level = "道路" if "道路" in address else "区县" if "区县级" in address else "门牌号"
    pts = [truth(address)]
    if "歧义" in address:
        pts.append((pts[0][0] + 0.3, pts[0][1] + 0.2))
    geocodes = []
    for lon, lat in pts:
        glon, glat = wgs84_to_gcj02([lon], [lat])
        glon, glat = (float(v) for v in _xy(address, float(glon[0]), float(glat[0])))
        glon, glat = [glon], [glat]
        geocodes.append(
            {
                "formatted_address": f"浙江省宁波市鄞州区{address}",
                "country": "中国",
                "province": "北京市" if "北京" in address else "浙江省",
                "citycode": "010" if "北京" in address else "0574",
                "city": "北京市" if "北京" in address else "宁波市",
                "district": "东城区" if "北京" in address else "鄞州区",
                "township": [],
                "neighborhood": {"name": [], "type": []},
                "building": {"name": [], "type": []},
                "adcode": "110101" if "北京" in address else "330212",
                "street": "天童南路",
                "number": "588号",
                "location": f"{glon[0]:.6f},{glat[0]:.6f}",
                "level": level,
            }
        )
    return 200, {
        "status": "1",
        "info": "OK",
        "infocode": "10000",
        "count": str(len(geocodes)),
        "geocodes": geocodes,
    }


def _tianditu(address: str, key_ok: bool, quota_left: bool, tk: str) -> tuple[int, dict]:
    if not key_ok:  # the service echoes the key it refused: it must not reach any message
        return 403, {"msg": f"权限验证失败, tk={tk} 非法", "status": "403"}
    if not quota_left:
        return 200, {"msg": "当日访问次数超过限制", "status": "404"}
    if "无此地" in address:
        return 200, {"msg": "无结果", "searchVersion": "6.4.9V", "status": "101"}
    level = "道路" if "道路" in address else "区县" if "区县级" in address else "门址"
    lon, lat = _xy(address, *truth(address))
    return 200, {
        "msg": "ok",
        "location": {
            "score": 40 if "歧义" in address else 100,
            "level": level,
            "lon": round(lon, 6),
            "lat": round(lat, 6),
            "keyWord": address,
        },
        "searchVersion": "6.4.9V",
        "status": "0",
    }


def _baidu(address: str, key_ok: bool, quota_left: bool) -> tuple[int, dict]:
    if not key_ok:
        return 200, {"status": 200, "message": "APP不存在，AK有误请检查再重试"}
    if not quota_left:
        return 200, {"status": 302, "message": "天配额超限，限制访问"}
    if "无此地" in address:
        return 200, {"status": 1, "msg": "Internal Service Error:无相关结果", "results": []}
    level, conf = "门址", 80
    if "道路" in address:
        level, conf = "道路", 50
    elif "区县级" in address:
        level, conf = "区县", 20
    blon, blat = wgs84_to_bd09(*([v] for v in truth(address)))
    blng, blat2 = _xy(address, float(blon[0]), float(blat[0]))
    return 200, {
        "status": 0,
        "result": {
            "location": {"lng": blng, "lat": blat2},
            "precise": 0 if "歧义" in address else 1,
            "confidence": conf,
            "comprehension": 30 if "歧义" in address else 100,
            "level": level,
        },
    }


class FakeGeocoder:
    """One provider's geocoder on loopback; records the addresses asked."""

    def __init__(self, provider: str, *, key: str = GOOD_KEY, quota: int | None = None):
        self.provider = provider
        self.key = key
        self.quota = quota
        self.delay_s = 2.0
        self.drip_s = 0.05
        self.too_frequent = 0  # this many next requests get the provider's "too frequent" answer
        self.answered = 0
        self.asked: list[str] = []
        self.raw_queries: list[str] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                return

            def do_GET(self):
                fake._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{PATHS[self.provider]}"

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(h.path)
        q = dict(urllib.parse.parse_qsl(parts.query))
        if self.provider == "tianditu":
            address = json.loads(q.get("ds", "{}")).get("keyWord", "")
            key = q.get("tk", "")
        else:
            address = q.get("address", "")
            key = q.get("key" if self.provider == "amap" else "ak", "")
        with self._lock:
            self.asked.append(address)
            self.raw_queries.append(parts.query)
            key_ok = key == self.key
            quota_left = self.quota is None or self.answered < self.quota
            busy = self.too_frequent > 0
            self.too_frequent = max(0, self.too_frequent - 1)
            if key_ok and quota_left and not busy:
                self.answered += 1
        if "超时" in address:
            time.sleep(self.delay_s)
        if busy:
            code, body = {
                "amap": (
                    200,
                    {"status": "0", "info": "CUQPS_HAS_EXCEEDED_THE_LIMIT", "infocode": "10021"},
                ),
                "tianditu": (429, {"msg": "请求过于频繁", "status": "429"}),
                "baidu": (200, {"status": 401, "message": "当前并发量已经超过约定并发配额"}),
            }[self.provider]
        elif self.provider == "amap":
            code, body = _amap(address, key_ok, quota_left)
        elif self.provider == "tianditu":
            code, body = _tianditu(address, key_ok, quota_left, key)
        else:
            code, body = _baidu(address, key_ok, quota_left)
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            if self._broken(h, address, data):
                return
            h.send_response(code)
            h.send_header("Content-Type", "application/json; charset=utf-8")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, OSError):  # the client timed out and left
            pass

    def _broken(self, h: BaseHTTPRequestHandler, address: str, data: bytes) -> bool:
        """Answer ``address`` with a broken transport when it asks for one."""
        if not any(w in address for w in ("慢滴", "巨大", "巨头", "断开", "乱码", "无回应")):
            return False
        if "无回应" in address:
            h.close_connection = True
            return True
        h.send_response(200)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        if "慢滴" in address:
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            for i in range(len(data)):
                h.wfile.write(data[i : i + 1])
                h.wfile.flush()
                time.sleep(self.drip_s)
        elif "巨大" in address:
            h.send_header("Connection", "close")
            h.end_headers()
            h.close_connection = True
            block = b" " * 65536
            for _ in range(80):  # 5 MB of white space before the JSON
                h.wfile.write(block)
            h.wfile.write(data)
        elif "巨头" in address:
            h.send_header("Content-Length", str(300 * 1024 * 1024))
            h.end_headers()
            h.wfile.write(data)
            h.close_connection = True
        elif "断开" in address:
            h.send_header("Content-Length", str(len(data) + 1000))
            h.end_headers()
            h.wfile.write(data[:10])
            h.wfile.flush()
            h.close_connection = True
        else:
            junk = b"<html>\xff\xfe not json {"
            h.send_header("Content-Length", str(len(junk)))
            h.end_headers()
            h.wfile.write(junk)
        return True

    def count(self, address: str) -> int:
        return sum(1 for a in self.asked if address in a)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
