"""Escaping and the offline map builder."""

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layers.registry import REGISTRY
from layers.safe import escape_html, js_literal
from render.basemaps import BasemapError, make_basemap
from render.webmap import CHINA_BOUNDS, MapLayer, build_map
from tests.conftest import XSS_NAME


@given(st.text())
def test_js_literal_round_trips_and_is_inert(text):
    out = js_literal({"name": text, "list": [text]})
    assert json.loads(out) == {"name": text, "list": [text]}
    for ch in "<>`$'&\u2028\u2029":
        assert ch not in out


def test_escape_html():
    assert (
        escape_html(XSS_NAME)
        == "&lt;img src=x onerror=&quot;document.title=&#x27;XSS&#x27;&quot;&gt;"
    )


def _layers(
    embedded, name=None, keys=("districts", "zones", "universities", "incubators", "enterprises")
):
    out = []
    for k in keys:
        gdf = embedded[k].copy()
        if name is not None and k == "incubators":
            gdf.loc[gdf.index[0], "name"] = name
            gdf.loc[gdf.index[0], "address"] = "${alert(1)}`</script>"
        out.append(MapLayer(k, REGISTRY[k].name_zh, gdf, REGISTRY[k].color, REGISTRY[k].geometry))
    return out


def _external_urls(html):
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    return [u for u in urls if not u.startswith(("/app/static/", "data:", "#"))]


@pytest.mark.parametrize("mode", ["static", "inline"])
def test_offline_map_uses_no_cdn(embedded, mode):
    html = build_map(_layers(embedded), asset_mode=mode).get_root().render()
    assert _external_urls(html) == []
    assert "cdn" not in html.lower()
    # no tiles, no CDN, nothing remote (record sources may cite web pages as text)
    assert not re.search(r"""tileLayer\(\s*["'](?:https?:)?//|url\(\s*["']?(?:https?:)?//""", html)
    assert "InnoMap.ready" in html


def test_inline_map_embeds_leaflet_and_cluster_assets(embedded):
    html = build_map(_layers(embedded), asset_mode="inline").get_root().render()
    assert html.count("data:text/javascript;base64,") >= 3  # leaflet, innomap, markercluster


def test_data_text_is_escaped_for_script_context(embedded):
    layers = _layers(embedded, name=XSS_NAME)
    # a layer name from a hostile file name
    layers.append(MapLayer("user:0", "<b>x</b>`${y}`.csv", embedded["platforms"], "#000", "point"))
    html = build_map(layers, asset_mode="static").get_root().render()
    assert "<img src=x" not in html
    assert '</script>"' not in html and "${alert" not in html
    assert "<b>x</b>" not in html
    assert "\\u003cimg src=x onerror" in html  # present, but only as an escaped JSON string
    # the layer-control name is HTML-escaped (then JSON-escaped by folium)
    assert "\\u0026lt;b\\u0026gt;x\\u0026lt;/b\\u0026gt;\\u0026#96;\\u0026#36;{y}" in html


def test_large_point_layers_are_clustered(embedded):
    html = (
        build_map(_layers(embedded, keys=("enterprises",)), cluster_threshold=1000)
        .get_root()
        .render()
    )
    assert '"cluster":true' in html
    html = build_map(_layers(embedded, keys=("universities",))).get_root().render()
    assert '"cluster":false' in html
    assert "markercluster" not in html


def test_amap_basemap_shifts_overlays_to_gcj02(embedded):
    uni = embedded["universities"]
    layer = [MapLayer("universities", "u", uni, "#000", "point")]
    wgs = build_map(layer).get_root().render()
    gcj = build_map(layer, basemap=make_basemap("amap")).get_root().render()
    lat_w = json.loads(re.search(r'"lat":(\[[^\]]*\])', wgs).group(1))
    lat_g = json.loads(re.search(r'"lat":(\[[^\]]*\])', gcj).group(1))
    lon_w = json.loads(re.search(r'"lon":(\[[^\]]*\])', wgs).group(1))
    lon_g = json.loads(re.search(r'"lon":(\[[^\]]*\])', gcj).group(1))
    # Ningbo: GCJ-02 is ~0.0041° east and ~0.0026° south of WGS84
    assert all(0.003 < g - w < 0.006 for w, g in zip(lon_w, lon_g, strict=True))
    assert all(-0.004 < g - w < -0.001 for w, g in zip(lat_w, lat_g, strict=True))
    assert "autonavi" in gcj


def test_focus_opens_record(embedded):
    html = build_map(_layers(embedded), focus=("universities", "U001")).get_root().render()
    assert "InnoMap.focus(" in html and '"U001"' in html


def test_basemap_errors_name_the_fix():
    with pytest.raises(BasemapError, match="valid key"):
        make_basemap("tianditu", tianditu_key="")
    with pytest.raises(BasemapError, match=r"\{z\}"):
        make_basemap("custom", custom_url="https://x.org/tiles.png")
    with pytest.raises(BasemapError, match="unknown basemap"):
        make_basemap("google")
    bm = make_basemap("tianditu", tianditu_key="0123456789abcdef0123456789abcdef")
    assert bm.overlay_crs == "WGS84" and len(bm.tiles) == 2
    bm = make_basemap(
        "custom",
        custom_url="https://t.example/{z}/{x}/{y}.png",
        custom_crs="GCJ-02",
        custom_attribution="<b>me</b>",
    )
    assert bm.overlay_crs == "GCJ-02" and bm.tiles[0][1] == "&lt;b&gt;me&lt;/b&gt;"


def test_map_frames_given_bounds_else_data_else_china(embedded):
    """No city is built in: the first view comes from the bounds passed in or the data."""
    import geopandas as gpd

    bounds = (119.1, 34.5, 119.4, 34.7)  # any city's project bounds
    html = (
        build_map(_layers(embedded, keys=("universities",)), fit_bounds=bounds).get_root().render()
    )
    assert "fitBounds([[34.5, 119.1], [34.7, 119.4]]" in html
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    html = build_map([MapLayer("x", "x", empty, "#000", "point")]).get_root().render()
    x0, y0, x1, y1 = CHINA_BOUNDS
    assert f"fitBounds([[{y0}, {x0}], [{y1}, {x1}]]" in html
    assert "121.45" not in html and "29.75" not in html


def test_outline_style_follows_kind_not_key(embedded):
    lyr = MapLayer("行政区", "行政区", embedded["districts"], "#444", "polygon", kind="districts")
    html = build_map([lyr]).get_root().render()
    assert '"fillOpacity":0.0' in html.replace(" ", "")


def test_template_syntax_in_data_is_drawn_as_typed(embedded):
    """A name holding Jinja syntax stays text: the layer's script is not compiled as a
    template (branca would evaluate ``{{ 7*7 }}`` and fail on ``{% x %}``)."""
    layers = _layers(embedded, name="孵化器{{ 7*7 }}{% raw %}", keys=("incubators",))
    html = build_map(layers, asset_mode="static").get_root().render()
    assert "孵化器{{ 7*7 }}{% raw %}" in html
    assert "孵化器49" not in html
