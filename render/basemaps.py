"""Basemap choices and the coordinate system their tiles use.

The offline default is no tile layer at all (district outlines are drawn as
vectors). Online options: OpenStreetMap (WGS84), 高德 AMap (GCJ-02: overlays are
shifted to GCJ-02 before drawing), 天地图 (CGCS2000 ≈ WGS84, needs a user key) and
a custom XYZ URL whose coordinate system the user declares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from layers.errors import InnoMapError
from layers.safe import escape_html

__all__ = ["BASEMAPS", "TILE_CRS", "Basemap", "BasemapError", "make_basemap"]


class BasemapError(InnoMapError):
    """Raised for an unknown basemap, a missing key or a malformed custom URL."""


@dataclass(frozen=True)
class Basemap:
    """A resolved basemap.

    Attributes
    ----------
    key : str
        ``none``, ``osm``, ``amap``, ``tianditu`` or ``custom``.
    tiles : tuple of (url, attribution_html, subdomains)
        Tile layers to stack, bottom first (empty for ``none``).
    overlay_crs : {"WGS84", "GCJ-02"}
        The system overlays must be drawn in so they sit on the tiles.
    online : bool
        Whether the basemap needs network access.
    """

    key: str
    tiles: tuple[tuple[str, str, str], ...]
    overlay_crs: str
    online: bool


#: key -> (Chinese label, English label)
#: Coordinate systems of custom XYZ tiles (``export-map --tile-crs``).
TILE_CRS = ("WGS84", "GCJ-02")

BASEMAPS: dict[str, tuple[str, str]] = {
    "none": ("无底图(离线, 默认)", "None (offline, default)"),
    "osm": ("OpenStreetMap", "OpenStreetMap"),
    "amap": ("高德地图 (GCJ-02)", "AMap (GCJ-02)"),
    "tianditu": ("天地图 (需密钥)", "Tianditu (key required)"),
    "custom": ("自定义 XYZ", "Custom XYZ"),
}

_TDT = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}"
    "&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)


def make_basemap(
    key: str,
    *,
    tianditu_key: str = "",
    custom_url: str = "",
    custom_crs: str = "WGS84",
    custom_attribution: str = "",
) -> Basemap:
    """Resolve a basemap choice.

    Parameters
    ----------
    key : str
        One of :data:`BASEMAPS`.
    tianditu_key : str
        The user's 天地图 key (``tk``), required for ``tianditu``.
    custom_url : str
        For ``custom``: an ``http(s)://`` URL containing ``{z}``, ``{x}`` and ``{y}``.
    custom_crs : {"WGS84", "GCJ-02"}
        The system of the custom tiles.
    custom_attribution : str
        Attribution text (escaped before display).

    Raises
    ------
    BasemapError
        With a message naming the bad value and the fix.
    """
    if key == "none":
        return Basemap("none", (), "WGS84", False)
    if key == "osm":
        return Basemap(
            "osm",
            (
                (
                    "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                    "&copy; OpenStreetMap contributors",
                    "",
                ),
            ),
            "WGS84",
            True,
        )
    if key == "amap":
        return Basemap(
            "amap",
            (
                (
                    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
                    "&style=8&x={x}&y={y}&z={z}",
                    "&copy; 高德地图 AutoNavi (GCJ-02)",
                    "1234",
                ),
            ),
            "GCJ-02",
            True,
        )
    if key == "tianditu":
        tk = tianditu_key.strip()
        if not re.fullmatch(r"[0-9a-fA-F]{16,64}", tk):
            raise BasemapError(
                "天地图需要有效密钥(tk, 十六进制) / Tianditu needs a valid key (hex `tk`); "
                "apply at console.tianditu.gov.cn and paste it"
            )
        return Basemap(
            "tianditu",
            (
                (_TDT.format(s="{s}", layer="vec", key=tk), "&copy; 天地图 Tianditu", "01234567"),
                (_TDT.format(s="{s}", layer="cva", key=tk), "", "01234567"),
            ),
            "WGS84",
            True,
        )
    if key == "custom":
        url = custom_url.strip()
        if not re.fullmatch(r"https?://[^\s\"'<>`]+", url) or not all(
            t in url for t in ("{z}", "{x}", "{y}")
        ):
            raise BasemapError(
                f"自定义底图地址无效 / invalid custom tile URL {escape_html(url[:80])!s}: "
                "it must start with http(s):// and contain {z}, {x} and {y}"
            )
        crs = custom_crs.upper().replace("_", "-")
        if crs not in TILE_CRS:
            raise BasemapError(
                f"自定义底图坐标系 {custom_crs!r} 不支持 / unsupported tile system: use WGS84 or GCJ-02"
            )
        subdomains = "abc" if "{s}" in url else ""
        return Basemap("custom", ((url, escape_html(custom_attribution), subdomains),), crs, True)
    raise BasemapError(f"未知底图 / unknown basemap {key!r}: choose one of {', '.join(BASEMAPS)}")
