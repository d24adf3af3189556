"""Build the interactive Leaflet map (folium) from layers, fully offline.

No CDN is used: Leaflet, MarkerCluster and the InnoMap helpers are served from
``static/`` (Streamlit static serving) or inlined as ``data:`` URIs for a
single-file HTML export. Data reaches the page only as escaped JSON
(:func:`layers.safe.js_literal`) and is put into the DOM with ``textContent``.

Point layers with more than ``settings.WEBGL_THRESHOLD`` features are sent as a
compact payload (:mod:`render.compact`) and drawn in one pass by
``static/innomap_gl.js`` (WebGL through the vendored leaflet.glify where a GPU draws
it, a culled 2D canvas elsewhere); smaller layers keep one Leaflet marker per point. In the app
(``gl_data="files"``) that payload is not put into the page: it is written once
to ``static/cache/`` (served by Streamlit at ``/app/static/cache/``) under a name
no one can guess (a keyed hash with a secret of the process), and the browser
fetches it as binary; a layer given a ``version`` token is encoded only the
first time, so a rerun that does not change it costs nothing and sends a page
of a few kilobytes instead of megabytes.

This module has no Streamlit dependency, so the CLI can build the same map.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template

import settings
from layers.crs import wgs84_to_gcj02
from layers.safe import escape_html, escape_label, js_literal
from layers.schema import COMMON_FIELDS, field_label
from render.basemaps import Basemap, make_basemap
from render.compact import RawPoints, encode_points_raw
from render.compact import popup_value as _fmt
from settings import STREET_LEVEL_PRECISION_M, WEBGL_THRESHOLD

__all__ = [
    "CHINA_BOUNDS",
    "OSM_CREDIT",
    "POPUP_FIELDS",
    "MapLayer",
    "add_image_overlay",
    "asset_links",
    "build_map",
    "osm_derived",
    "to_overlay_crs",
]

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
STATIC_URL = "/app/static"
#: Data files of large layers (``gl_data="files"``), served at ``/app/static/cache/``.
GL_CACHE_DIR = STATIC_DIR / "cache"
#: The cache folder is kept below this size, oldest files first removed (Streamlit
#: stops serving ``static/`` altogether when it holds more than 1 GB at start).
GL_CACHE_MAX_MB = settings.GL_CACHE_MAX_MB
#: Key of the data file names: a new secret per process, so names cannot be guessed.
_SECRET = secrets.token_bytes(32)
#: WGS84 bounds shown when neither bounds nor data are given (mainland China).
CHINA_BOUNDS: tuple[float, float, float, float] = (73.5, 18.0, 135.1, 53.6)

#: Attribution required (ODbL) wherever OpenStreetMap-derived records are shown.
OSM_CREDIT = "© OpenStreetMap contributors"
_OSM_RE = re.compile(r"openstreetmap|(?<![a-z])osm(?![a-z])", re.IGNORECASE)


def osm_derived(gdf) -> bool:
    """True when any row's ``source`` or ``coord_source`` comes from OpenStreetMap."""
    for col in ("source", "coord_source"):
        if len(gdf) and col in gdf.columns:
            if any(_OSM_RE.search(v) for v in pd.unique(gdf[col].astype(str))):
                return True
    return False


#: Fields a point's popup shows: the fields every record carries.
POPUP_FIELDS: tuple[str, ...] = COMMON_FIELDS

_ASSETS_JS = [
    ("leaflet", "vendor/leaflet.js"),
    ("innomap", "innomap.js"),
]
_ASSETS_CSS = [
    ("leaflet_css", "vendor/leaflet.css"),
    ("innomap_css", "innomap.css"),
]
_CLUSTER_JS = [("markercluster", "vendor/leaflet.markercluster.js")]
_CLUSTER_CSS = [
    ("markercluster_css", "vendor/MarkerCluster.css"),
    ("markercluster_default_css", "vendor/MarkerCluster.Default.css"),
]
#: Large point layers: leaflet.glify (WebGL) and the InnoMap layer built on it.
_GL_JS = [("glify", "vendor/glify-browser.js"), ("innomap_gl", "innomap_gl.js")]


@lru_cache(maxsize=16)
def _data_uri(rel: str) -> str:
    path = STATIC_DIR / rel
    raw = path.read_bytes()
    if rel.endswith(".css"):
        text = raw.decode("utf-8")

        def repl(m: re.Match) -> str:
            target = (path.parent / m.group(1)).resolve()
            if STATIC_DIR not in target.parents or not target.exists():
                return m.group(0)
            b64 = base64.b64encode(target.read_bytes()).decode()
            return f"url(data:image/png;base64,{b64})"

        text = re.sub(r"url\(([^):]+\.png)\)", repl, text)
        return "data:text/css;base64," + base64.b64encode(text.encode()).decode()
    mime = "text/javascript" if rel.endswith(".js") else "application/octet-stream"
    return f"data:{mime};base64," + base64.b64encode(raw).decode()


@lru_cache(maxsize=32)
def _asset_version(rel: str) -> str:
    """A short hash of the asset's bytes: a browser never runs a cached older copy."""
    return hashlib.sha256((STATIC_DIR / rel).read_bytes()).hexdigest()[:12]


def asset_links(pairs: list[tuple[str, str]], *, mode: str) -> list[tuple[str, str]]:
    """Resolve asset names to URLs: ``static`` (served by Streamlit, with a content
    version) or ``inline``."""
    if mode == "static":
        return [(name, f"{STATIC_URL}/{rel}?v={_asset_version(rel)}") for name, rel in pairs]
    if mode == "inline":
        return [(name, _data_uri(rel)) for name, rel in pairs]
    raise ValueError(f"unknown asset mode {mode!r}: use 'static' or 'inline'")


@dataclass
class MapLayer:
    """One layer to draw.

    Attributes
    ----------
    key : str
        Stable key (the project layer name, or a result layer key).
    label : str
        Display name (raw text; escaped when drawn).
    gdf : geopandas.GeoDataFrame
        Features in WGS84.
    color : str
        Hex colour.
    geometry : {"point", "polygon", "line"}
    show : bool
        Shown when the map opens.
    fields : tuple of str
        Popup fields, in order.
    style : dict
        Overrides of the drawing options (``fillOpacity``, ``weight``,
        ``dashArray``, ``radius``, ``cluster``).
    kind : str
        Layer kind (registry key) used for the default outline style
        (``districts``, ``zones``, ``corridor_axes``); defaults to ``key``.
    version : hashable, optional
        Content token: equal tokens (with equal ``key``) promise equal records, so
        the data file of a large layer (``gl_data="files"``) is reused, not encoded
        again. ``None``: encoded every time.
    """

    key: str
    label: str
    gdf: gpd.GeoDataFrame
    color: str
    geometry: str = "point"
    show: bool = True
    fields: tuple[str, ...] = field(default_factory=lambda: POPUP_FIELDS)
    style: dict = field(default_factory=dict)
    kind: str = ""
    version: Hashable | None = None


def _zoom_for(bounds: list[float]) -> int:
    """A Leaflet zoom level that shows ``bounds`` (WGS84) in about 1000 px."""
    span = max(bounds[2] - bounds[0], bounds[3] - bounds[1], 1e-4)
    return int(np.clip(np.floor(np.log2(360.0 * 1000 / 256 / span)), 3, 18))


def to_overlay_crs(gdf: gpd.GeoDataFrame, overlay_crs: str) -> gpd.GeoSeries:
    """Return the geometries of a WGS84 frame in the basemap's overlay system."""
    geoms = gdf.geometry
    if overlay_crs == "WGS84":
        return geoms

    def tx(coords: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return gpd.GeoSeries(shapely.transform(geoms.values, tx), index=geoms.index, crs=None)


def _columns(gdf: gpd.GeoDataFrame, fields: tuple[str, ...]) -> dict:
    cols = {}
    for f in fields:
        if f not in gdf.columns:
            continue
        values = [_fmt(v) for v in gdf[f].tolist()]
        codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        cols[f] = {"u": list(uniques), "c": codes.tolist()}
    return cols


class _RawText(Element):
    """Text put into the page as is (not compiled as a Jinja template)."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def render(self, **kwargs) -> str:
        return self.text


class _RawScriptMixin(MacroElement):
    """Adds the ``script`` macro's output to the figure as raw text: branca would compile
    megabytes of payload as a Jinja template (5 s for 1M points)."""

    def render(self, **kwargs):
        script = self._template.module.__dict__["script"]
        self.get_root().script.add_child(_RawText(str(script(self, kwargs))), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


class _DataLayer(JSCSSMixin, Layer, _RawScriptMixin):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = InnoMap.{{ this.factory }}(
                {{ this.payload }}, {{ this.opts }});
        {% endmacro %}
        """
    )

    def __init__(self, *, name, factory, payload, opts, show, js, css):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "InnoMapLayer"
        self.factory = factory
        self.payload = payload
        self.opts = opts
        self.default_js = js
        self.default_css = css


class _GlDataLayer(_DataLayer):
    """A large point layer (``InnoMap.glPointLayer``) with its compact payload."""


class _Script(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this.code }}
        {% endmacro %}
        """
    )

    def __init__(self, code: str):
        super().__init__()
        self._name = "InnoMapScript"
        self.code = code


_NO_PROPS = {
    True: "此浏览器无法解压属性表, 请使用新版浏览器",
    False: "This browser cannot unpack the attribute table; use a recent browser",
}
_NO_DATA = {
    True: "此浏览器无法载入大图层 {name} 的数据, 请使用新版 Chrome / Edge / Firefox / Safari",
    False: "This browser cannot load the data of the large layer {name}: use a recent "
    "Chrome, Edge, Firefox or Safari",
}


def _gl_raw(gdf: gpd.GeoDataFrame, geoms: gpd.GeoSeries, fields: tuple[str, ...]) -> RawPoints:
    xy = shapely.get_coordinates(geoms.values)
    if len(xy) != len(geoms):  # empty or missing points: slower, aligned
        xy = np.column_stack([geoms.x.to_numpy(), geoms.y.to_numpy()])
    return encode_points_raw(xy[:, 0], xy[:, 1], gdf, fields)


def _inline(raw: RawPoints) -> str:
    """The compact payload as a script-safe literal (ASCII base64)."""
    return json.dumps(raw.as_base64(), separators=(",", ":"))


def _files_literal(name: str, n: int) -> str:
    url = f"{STATIC_URL}/{GL_CACHE_DIR.name}/{name}"
    return json.dumps({"n": n, "src": f"{url}{_DATA_SUFFIX}", "propsSrc": f"{url}{_PROPS_SUFFIX}"})


#: Suffixes of a large layer's data files. Both are gzip (``.gz``): served as
#: ``application/gzip``, which the server's gzip middleware leaves alone — an
#: ``application/octet-stream`` file is compressed again on every request (level 9,
#: ~2 s for a million points); the browser unpacks them (``DecompressionStream``).
_DATA_SUFFIX, _PROPS_SUFFIX = ".bin.gz", ".props.gz"


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _prune(keep: tuple[Path, ...]) -> None:
    """Remove the oldest data files while the folder is above ``GL_CACHE_MAX_MB``."""
    files = []
    for f in GL_CACHE_DIR.iterdir():
        if f.name.endswith((_DATA_SUFFIX, _PROPS_SUFFIX, ".bin", ".props")) and f not in keep:
            try:
                st = f.stat()
            except OSError:
                continue
            files.append((st.st_mtime, st.st_size, f))
    total = sum(size for _, size, _ in files) + sum(f.stat().st_size for f in keep)
    for _, size, f in sorted(files):
        if total <= GL_CACHE_MAX_MB * 1e6:
            break
        f.unlink(missing_ok=True)
        total -= size


#: Locks of versioned data files (by name hash): a page and a background preparation
#: of the same layer version encode it once, the second waits for the first.
_FILE_LOCKS = [threading.Lock() for _ in range(64)]


def _gl_files(lyr: MapLayer, geoms, fields, overlay_crs: str) -> tuple[str, RawPoints | None]:
    """Data files of a large layer: ``(payload literal, None)``, or ``("", raw)`` when the
    folder cannot be written (the caller inlines ``raw``).

    The file names are a keyed hash (:data:`_SECRET`) of the layer's version token,
    else of the encoded bytes; existing files are reused (and marked recent).
    """
    if lyr.version is None:
        return _gl_write(lyr, geoms, fields, None)
    token = repr((lyr.key, lyr.version, overlay_crs, fields, "approx")).encode("utf-8")
    name = hmac.new(_SECRET, token, hashlib.sha256).hexdigest()[:40]
    with _FILE_LOCKS[int(name[:8], 16) % len(_FILE_LOCKS)]:
        return _gl_write(lyr, geoms, fields, name)


def _gl_write(lyr: MapLayer, geoms, fields, name: str | None) -> tuple[str, RawPoints | None]:
    """:func:`_gl_files` once the name is known (``None``: named after the content)."""
    if name is not None:
        paths = (GL_CACHE_DIR / f"{name}{_DATA_SUFFIX}", GL_CACHE_DIR / f"{name}{_PROPS_SUFFIX}")
        try:
            now = time.time()
            for f in paths:
                os.utime(f, (now, now))
            return _files_literal(name, len(lyr.gdf)), None
        except OSError:
            pass  # not written yet (or pruned): encode
    raw = _gl_raw(lyr.gdf, geoms, fields)
    if name is None:
        h = hmac.new(_SECRET, raw.xy, hashlib.sha256)
        h.update(raw.flag_planes())
        h.update(raw.props)
        name = h.hexdigest()[:40]
    paths = (GL_CACHE_DIR / f"{name}{_DATA_SUFFIX}", GL_CACHE_DIR / f"{name}{_PROPS_SUFFIX}")
    try:
        GL_CACHE_DIR.mkdir(exist_ok=True)
        _write(paths[0], gzip.compress(raw.xy + raw.flag_planes(), compresslevel=1, mtime=0))
        _write(paths[1], raw.props)
        _prune(paths)
    except OSError:
        return "", raw
    return _files_literal(name, raw.n), None


def project_outline_layers(project, *, zone: str | None = None, lang: str = "zh") -> list[MapLayer]:
    """One map layer per outline layer of a :class:`layers.project.Project` (districts,
    corridors, zones: only ``zone`` when given), labelled with its kind's name when named
    after the kind: the app's map page and the exported interactive map draw the same.
    (:func:`render.analysis_maps.outline_map_layers` merges each kind for result maps.)"""
    from layers.project import OUTLINE_KINDS
    from layers.registry import REGISTRY

    out = []
    for kind in OUTLINE_KINDS:
        spec = REGISTRY[kind]
        for lyr in project.layers_of_kind(kind):
            g = lyr.gdf
            if kind == "zones" and zone:
                g = g[g["name"].astype(str) == str(zone)]
            label = spec.name(lang) if lyr.name == lyr.kind else lyr.name
            out.append(MapLayer(lyr.name, label, g, spec.color, spec.geometry, kind=kind))
    return out


def approximate_positions(gdf) -> np.ndarray:
    """Points coarser than street level (``settings.STREET_LEVEL_PRECISION_M``): drawn hollow."""
    if "coord_precision_m" not in gdf.columns or not len(gdf):
        return np.zeros(len(gdf), bool)
    prec = pd.to_numeric(gdf["coord_precision_m"], errors="coerce").to_numpy(float)
    return np.nan_to_num(prec, nan=0.0) > STREET_LEVEL_PRECISION_M


def approximate_label(lang: str = "zh") -> str:
    """The legend entry of the hollow "approximate position" symbol."""
    m = f"{STREET_LEVEL_PRECISION_M:g}"
    return f"位置为近似 (精度粗于 {m} 米)" if lang == "zh" else f"approximate position (> {m} m)"


def approximate_legend_item(n: int, lang: str = "zh") -> dict:
    """Legend item of the hollow symbol (shape ``approx``) for ``n`` points."""
    return {"label": approximate_label(lang), "color": "#444444", "count": n, "shape": "approx"}


def _labels(fields, lang):
    return {f: field_label(f, lang) for f in fields}


def build_map(
    layers: list[MapLayer],
    *,
    basemap: Basemap | None = None,
    lang: str = "zh",
    focus: tuple[str, str] | None = None,
    asset_mode: str = "static",
    cluster_threshold: int = 1000,
    gl_threshold: int | None = None,
    legend_title: str | None = None,
    extra_notes: tuple[str, ...] = (),
    fit_bounds: tuple[float, float, float, float] | None = None,
    gl_data: str = "inline",
) -> folium.Map:
    """Build a folium map of ``layers``.

    Parameters
    ----------
    layers : list of MapLayer
        Drawn bottom to top; polygons should come first.
    basemap : Basemap, optional
        Defaults to no tiles (offline).
    lang : {"zh", "en"}
        Language of popups and the legend.
    focus : (layer_key, record_id), optional
        Zoom to this record and open its popup.
    asset_mode : {"static", "inline"}
        Serve JS/CSS from Streamlit's static folder or inline them.
    cluster_threshold : int
        Point layers with more features are clustered (MarkerCluster).
    gl_threshold : int, optional
        Point layers with more features are drawn by the GPU from a compact
        payload (:mod:`render.compact`; default ``settings.WEBGL_THRESHOLD``).
    legend_title : str, optional
        Title of the legend.
    extra_notes : tuple of str
        Extra legend notes (e.g. analysis parameters).
    fit_bounds : tuple of float, optional
        WGS84 ``(minx, miny, maxx, maxy)`` to show first, e.g. the project's
        bounds (default: the points, else all features, else mainland China).
    gl_data : {"inline", "files"}
        Large point layers: their payload in the page (a single-file map, the CLI),
        or written to ``static/cache/`` and fetched by the browser from
        ``/app/static/cache/`` (the app; needs ``asset_mode="static"``; falls back
        to inline when the folder cannot be written).

    Returns
    -------
    folium.Map
    """
    if gl_data not in ("inline", "files"):
        raise ValueError(f"unknown gl_data {gl_data!r}: use 'inline' or 'files'")
    basemap = basemap or make_basemap("none")
    bounds, center = _view(layers, fit_bounds, basemap)
    m = _base_map(bounds, center, basemap, asset_mode)
    gl_min = WEBGL_THRESHOLD if gl_threshold is None else gl_threshold
    legend_items = []
    counts: dict[str, int] = {}
    var_names: dict[str, str] = {}
    any_synth = any_approx = any_osm = False
    n_imprecise = 0
    for lyr in layers:
        gdf = lyr.gdf
        any_osm |= osm_derived(gdf)
        n = counts[lyr.key] = len(gdf)
        any_synth |= bool(gdf["synthetic"].any()) if "synthetic" in gdf.columns and n else False
        any_approx |= bool(n and "approximate" in gdf.columns and gdf["approximate"].any())
        if lyr.geometry == "point" and n > gl_min:
            el = _gl_point_layer(lyr, basemap, lang, asset_mode, gl_data)
        else:
            el = _data_layer(lyr, basemap, lang, asset_mode, cluster_threshold)
        el.add_to(m)
        var_names[lyr.key] = el.get_name()
        legend_items.append(
            {"label": lyr.label, "color": lyr.color, "count": n, "shape": lyr.geometry}
        )
        if lyr.geometry == "point":
            n_imprecise += int(approximate_positions(gdf).sum())
    if n_imprecise:  # one entry for the hollow symbol of every point layer
        legend_items.append(approximate_legend_item(n_imprecise, lang))
    legend = {
        "title": legend_title or ("图例" if lang == "zh" else "Legend"),
        "items": legend_items,
        "notes": _legend_notes(extra_notes, any_synth, any_approx, basemap, lang),
    }
    map_var = m.get_name()
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    code = f"InnoMap.legend({map_var}, {js_literal(legend)});\n"
    if focus is not None and focus[0] in var_names:
        code += f"InnoMap.focus({map_var}, {var_names[focus[0]]}, {js_literal(str(focus[1]))});\n"
    else:
        code += (
            f"{map_var}.fitBounds([[{bounds[1]}, {bounds[0]}], [{bounds[3]}, {bounds[2]}]], "
            "{padding: [20, 20]});\n"
        )
    if any_osm and not any("OpenStreetMap" in (attr or "") for _, attr, _ in basemap.tiles):
        code += f"{map_var}.attributionControl.addAttribution({js_literal(OSM_CREDIT)});\n"
    code += f"InnoMap.ready({map_var}, {js_literal(counts)});"
    _Script(code).add_to(m)
    return m


def _view(layers: list[MapLayer], fit_bounds, basemap: Basemap) -> tuple[list[float], tuple]:
    """The bounds to show first and the map's centre ``(lon, lat)``, in the overlay CRS."""
    all_bounds = [
        lyr.gdf.total_bounds for lyr in layers if len(lyr.gdf) and lyr.geometry == "point"
    ] or [lyr.gdf.total_bounds for lyr in layers if len(lyr.gdf)]
    if fit_bounds is not None:
        bounds = [float(v) for v in fit_bounds]
    elif all_bounds:
        b = np.array(all_bounds)
        bounds = [
            float(b[:, 0].min()),
            float(b[:, 1].min()),
            float(b[:, 2].max()),
            float(b[:, 3].max()),
        ]
    else:
        bounds = [float(v) for v in CHINA_BOUNDS]
    center_lon, center_lat = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    if basemap.overlay_crs == "GCJ-02":
        lo, la = wgs84_to_gcj02([bounds[0], bounds[2]], [bounds[1], bounds[3]])
        bounds = [float(lo[0]), float(la[0]), float(lo[1]), float(la[1])]
        c = wgs84_to_gcj02(center_lon, center_lat)
        center_lon, center_lat = float(c[0]), float(c[1])
    return bounds, (center_lon, center_lat)


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres and kilometres only (folium's ``control_scale`` adds
    miles and feet too)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}"""
    )


def _base_map(bounds, center, basemap: Basemap, asset_mode: str) -> folium.Map:
    """The map with its zoom, assets, a metric scale bar and the basemap's tiles."""
    m = folium.Map(
        location=[center[1], center[0]],
        zoom_start=_zoom_for(bounds),
        tiles=None,
        control_scale=False,  # folium's own shows miles too: MetricScale instead
    )
    MetricScale().add_to(m)
    m.options["max_zoom"] = 19
    m.options["min_zoom"] = 3
    m.default_js = asset_links(_ASSETS_JS, mode=asset_mode)
    m.default_css = asset_links(_ASSETS_CSS, mode=asset_mode)
    for i, (url, attr, subdomains) in enumerate(basemap.tiles):
        kwargs = {"subdomains": subdomains} if subdomains else {}
        folium.TileLayer(
            tiles=url,
            attr=attr or " ",
            name=escape_html(f"{basemap.key}-{i}"),
            overlay=i > 0,
            control=False,
            max_zoom=19,
            **kwargs,
        ).add_to(m)
    return m


def _layer_opts(lyr: MapLayer, fields: tuple[str, ...], lang: str) -> dict:
    synth_label = "模拟数据 (synthetic)" if lang == "zh" else "Synthetic data (模拟)"
    return {
        "color": lyr.color,
        "fields": list(fields),
        "labels": _labels(fields, lang),
        "synthLabel": synth_label,
    }


def _gl_point_layer(lyr: MapLayer, basemap, lang: str, asset_mode: str, gl_data: str):
    """A large point layer drawn by the GPU from a compact payload (inline or a file)."""
    gdf = lyr.gdf
    fields = tuple(f for f in lyr.fields if f in gdf.columns)
    geoms = to_overlay_crs(gdf, basemap.overlay_crs)
    payload_js, raw = "", None
    if gl_data == "files" and asset_mode == "static":
        payload_js, raw = _gl_files(lyr, geoms, fields, basemap.overlay_crs)
    if not payload_js:
        payload_js = _inline(raw or _gl_raw(gdf, geoms, fields))
    opts = _layer_opts(lyr, fields, lang) | {
        "radius": 3,
        "noProps": _NO_PROPS[lang == "zh"],
        "noData": _NO_DATA[lang == "zh"].format(name=lyr.label),
    }
    opts.update(lyr.style)
    return _GlDataLayer(
        name=escape_label(f"{lyr.label} ({len(gdf)})"),
        factory="glPointLayer",
        payload=payload_js,
        opts=js_literal(opts),
        show=lyr.show,
        js=asset_links(_GL_JS, mode=asset_mode),
        css=[],
    )


def _data_layer(lyr: MapLayer, basemap, lang: str, asset_mode: str, cluster_threshold: int):
    """A point layer (clustered above ``cluster_threshold``) or a line/polygon layer."""
    gdf = lyr.gdf
    n = len(gdf)
    fields = tuple(f for f in lyr.fields if f in gdf.columns)
    geoms = to_overlay_crs(gdf, basemap.overlay_crs)
    opts = _layer_opts(lyr, fields, lang)
    js, css = [], []
    if lyr.geometry == "point":
        cluster = n > cluster_threshold
        payload = {
            "lat": np.round(geoms.y.to_numpy(), 6).tolist(),
            "lon": np.round(geoms.x.to_numpy(), 6).tolist(),
            "columns": _columns(gdf, fields),
            "approx": np.flatnonzero(approximate_positions(gdf)).tolist(),
        }
        opts.update({"cluster": cluster, "radius": 6 if n < 300 else 4})
        if cluster:
            js = asset_links(_CLUSTER_JS, mode=asset_mode)
            css = asset_links(_CLUSTER_CSS, mode=asset_mode)
        factory = "pointLayer"
    else:
        # coordinates to 6 decimals (0.1 m), as the points: the JSON half as long
        rounded = shapely.transform(np.asarray(geoms.values), lambda xy: np.round(xy, 6))
        feats = [
            {
                "type": "Feature",
                "properties": {"__i": i},
                "geometry": shapely.geometry.mapping(g),
            }
            for i, g in enumerate(rounded)
            if g is not None and not g.is_empty
        ]
        payload = {
            "geojson": {"type": "FeatureCollection", "features": feats},
            "columns": _columns(gdf, fields),
        }
        polygon = lyr.geometry == "polygon"
        kind = lyr.kind or lyr.key
        opts.update(
            {
                "weight": 1.5 if kind == "districts" else 2.5,
                "fillOpacity": 0.0 if kind == "districts" else (0.12 if polygon else 0),
                "dashArray": "6,4" if kind in ("zones", "corridor_axes") else None,
            }
        )
        factory = "vectorLayer"
    opts.update(lyr.style)
    return _DataLayer(
        name=escape_label(f"{lyr.label} ({n})"),
        factory=factory,
        payload=js_literal(payload),
        opts=js_literal(opts),
        show=lyr.show,
        js=js,
        css=css,
    )


def _legend_notes(extra_notes, any_synth: bool, any_approx: bool, basemap, lang: str) -> list:
    notes = list(extra_notes)
    if any_synth:
        notes.append(
            "虚线/半透明点为模拟数据, 非真实记录"
            if lang == "zh"
            else "Dashed, faded points are synthetic, not real records"
        )
    if any_approx:
        notes.append(
            "片区边界为示意, 按公布四至绘制" if lang == "zh" else "Zone boundaries are approximate"
        )
    if basemap.overlay_crs == "GCJ-02":
        notes.append(
            "叠加图层已转换为 GCJ-02 以匹配底图"
            if lang == "zh"
            else "Overlays shifted to GCJ-02 to match tiles"
        )
    return notes


def add_image_overlay(
    m: folium.Map,
    png: bytes,
    bounds_wgs84: tuple[float, float, float, float],
    *,
    name: str,
    opacity: float = 0.6,
    overlay_crs: str = "WGS84",
) -> None:
    """Add a PNG (e.g. a density surface) as an inline image overlay (no file, no URL)."""
    minx, miny, maxx, maxy = bounds_wgs84
    if overlay_crs == "GCJ-02":
        lo, la = wgs84_to_gcj02([minx, maxx], [miny, maxy])
        minx, maxx, miny, maxy = float(lo[0]), float(lo[1]), float(la[0]), float(la[1])
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    folium.raster_layers.ImageOverlay(
        image=uri,
        bounds=[[miny, minx], [maxy, maxx]],
        opacity=opacity,
        name=escape_label(name),
        interactive=False,
        zindex=1,
        control=False,
    ).add_to(m)
