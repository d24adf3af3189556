"""Zones and corridor axes drawn on the map (issue 27): the map's answer → the project's layer.

Oracles: published GCJ-02 ↔ WGS84 control points (a shape drawn on the 高德 basemap is saved
at their WGS84 within 0.5 m), the stored geometry (an unchanged shape is kept exactly), the
import's own checks (geometry must fit the kind, zone names unique) and the page's HTML
(Leaflet.draw from the app's static folder, no external address)."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layers.project import create_project, open_project
from render.basemaps import make_basemap
from render.drawing import drawing_map, editable_features
from workflows.drawing import (
    DRAWN_SOURCE,
    MOVED,
    NEW,
    SAME,
    DrawingError,
    drawing_precision_m,
    read_drawings,
    save_drawings,
)

#: Published GCJ-02 → WGS84 pairs (gcj, wgs): hutool / tool.lu (北京) and hujiulong/gcoord's
#: GCJ02.spec.js (GCJ-02 (123, 45) → WGS84 (122.99395597, 44.99804071)).
CONTROL = [
    ((116.41024449916938, 39.91640428150164), (116.404, 39.915)),
    ((123.0, 45.0), (122.99395597, 44.99804071)),
]


def _metres(a, b) -> float:
    (x1, y1), (x2, y2) = a, b
    return math.hypot((x1 - x2) * 111_320 * math.cos(math.radians(y1)), (y1 - y2) * 110_574)


def _feature(geom: dict, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geom}


def _ring(x0, y0, d=0.01):
    return [[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d], [x0, y0]]


@pytest.fixture
def project(tmp_path):
    return create_project(tmp_path / "p.gpkg", name="绘制测试", city="宁波市", counties=["镇海区"])


def _draw(project, kind, layer, feats, names, types=None, *, overlay="WGS84", zoom=16):
    old = project.layers.get(layer)
    dr = read_drawings(feats, None if old is None else old.gdf, kind=kind, overlay_crs=overlay)
    new = dr.shapes["row"] < 0
    dr.shapes.loc[new, "name"] = names
    if types is not None:
        dr.shapes.loc[new, "subtype"] = types
    return save_drawings(
        project, kind=kind, layer=layer, drawings=dr, zoom=zoom, overlay_crs=overlay
    )


def test_shapes_drawn_on_the_gcj_basemap_are_saved_at_published_wgs84(project):
    (g1, w1), (g2, w2) = CONTROL
    axis = _feature({"type": "LineString", "coordinates": [list(g1), list(g2)]})
    zone_ring = [list(g1), [g1[0] + 0.01, g1[1]], [g1[0] + 0.01, g1[1] + 0.01], list(g1)]
    zone = _feature({"type": "Polygon", "coordinates": [zone_ring]})
    _draw(project, "corridor_axes", "绘制轴线", [axis], ["控制点轴线"], overlay="GCJ-02")
    _draw(project, "zones", "绘制片区", [zone], ["控制点片区"], overlay="GCJ-02")
    back = open_project(project.ref)
    line = back.layers["绘制轴线"].gdf.geometry.iloc[0]
    assert _metres(line.coords[0], w1) < 0.5 and _metres(line.coords[1], w2) < 0.5
    poly = back.layers["绘制片区"].gdf.geometry.iloc[0]
    assert _metres(poly.exterior.coords[0], w1) < 0.5
    row = back.layers["绘制片区"].gdf.iloc[0]
    assert row["source"] == DRAWN_SOURCE and "GCJ-02 → WGS84" in row["coord_source"]
    assert back.layers["绘制片区"].crs_in == "GCJ-02"


def test_editable_features_are_shown_in_gcj_on_the_amap_basemap(project):
    _draw(
        project,
        "zones",
        "片区",
        [_feature({"type": "Polygon", "coordinates": [_ring(121.6, 29.95)]})],
        ["甲"],
    )
    gdf = open_project(project.ref).layers["片区"].gdf
    fc = editable_features(gdf, "GCJ-02")
    x, y = fc["features"][0]["geometry"]["coordinates"][0][0]
    from layers.crs import wgs84_to_gcj02

    gx, gy = wgs84_to_gcj02(121.6, 29.95)
    assert (x, y) == pytest.approx((float(gx), float(gy)), abs=1e-12)
    assert fc["features"][0]["properties"] == {"row": 0, "name": "甲"}


def test_unchanged_shapes_keep_their_geometry_moved_ones_are_replaced_missing_ones_deleted(project):
    feats = [
        _feature({"type": "Polygon", "coordinates": [_ring(121.60, 29.95)]}),
        _feature({"type": "Polygon", "coordinates": [_ring(121.63, 29.95)]}),
        _feature({"type": "Polygon", "coordinates": [_ring(121.66, 29.95)]}),
    ]
    _draw(project, "zones", "片区", feats, ["甲", "乙", "丙"], ["科创区", "滨江带", "高新区"])
    proj = open_project(project.ref)
    gdf = proj.layers["片区"].gdf
    assert list(gdf["subtype"]) == ["科创区", "其他", "高新区"]  # open category as in imports
    assert gdf["zone_type_raw"].iloc[1] == "滨江带"
    shown = editable_features(gdf, "GCJ-02")["features"]  # what the 高德 map shows

    # the map answers with 6-decimal coordinates; 甲 untouched, 乙 moved 0.005°, 丙 deleted
    def rounded(f):
        ring = [[round(x, 6), round(y, 6)] for x, y in f["geometry"]["coordinates"][0]]
        return _feature({"type": "Polygon", "coordinates": [ring]}, **f["properties"])

    a, b = rounded(shown[0]), rounded(shown[1])
    b["geometry"]["coordinates"][0][0][0] -= 0.005
    b["geometry"]["coordinates"][0][-1][0] -= 0.005
    dr = read_drawings([a, b], gdf, kind="zones", overlay_crs="GCJ-02")
    assert list(dr.shapes["state"]) == [SAME, MOVED] and dr.deleted == (2,)
    res = save_drawings(
        proj, kind="zones", layer="片区", drawings=dr, zoom=17, overlay_crs="GCJ-02"
    )
    assert (res.added, res.edited, res.deleted) == (0, 1, 1)
    after = open_project(project.ref).layers["片区"].gdf
    assert list(after["name"]) == ["甲", "乙"]
    assert after.geometry.iloc[0].equals_exact(gdf.geometry.iloc[0], 0)  # exactly as stored
    from layers.crs import wgs84_to_gcj02  # checked against published vectors (test_crs)

    x, y = after.geometry.iloc[1].exterior.coords[0]
    gx, gy = wgs84_to_gcj02(x, y)  # saved in WGS84: shown on 高德 where the vertex was put
    assert _metres((float(gx), float(gy)), b["geometry"]["coordinates"][0][0]) < 0.05
    assert after["coord_precision_m"].iloc[1] == drawing_precision_m(17, 29.95)
    assert after["zone_type_raw"].iloc[1] == "滨江带"  # a type left as it was keeps its spelling


def test_a_new_shape_is_added_to_an_existing_layer_with_a_fresh_id(project):
    feats = [_feature({"type": "LineString", "coordinates": [[121.6, 29.95], [121.62, 29.96]]})]
    _draw(project, "corridor_axes", "轴线", feats, ["一号轴线"])
    proj = open_project(project.ref)
    gdf = proj.layers["轴线"].gdf
    shown = editable_features(gdf, "WGS84")["features"]
    new = _feature({"type": "LineString", "coordinates": [[121.7, 29.95], [121.72, 29.96]]})
    dr = read_drawings([*shown, new], gdf, kind="corridor_axes", overlay_crs="WGS84")
    assert list(dr.shapes["state"]) == [SAME, NEW]
    dr.shapes.loc[1, "name"] = "二号轴线"
    save_drawings(proj, kind="corridor_axes", layer="轴线", drawings=dr, zoom=14)
    after = open_project(project.ref).layers["轴线"].gdf
    assert list(after["name"]) == ["一号轴线", "二号轴线"]
    assert list(after["id"]) == ["D1", "D2"] and list(after["subtype"]) == ["轴线", "轴线"]


def test_zone_names_are_unique_in_the_project_and_nothing_is_written(project):
    _draw(
        project,
        "zones",
        "片区A",
        [_feature({"type": "Polygon", "coordinates": [_ring(121.6, 29.95)]})],
        ["科创片区"],
    )
    proj = open_project(project.ref)
    version = proj.version
    with pytest.raises(DrawingError, match="科创片区"):
        _draw(
            proj,
            "zones",
            "片区B",
            [_feature({"type": "Polygon", "coordinates": [_ring(121.7, 29.95)]})],
            ["科创片区 "],
        )
    assert (
        open_project(project.ref).version == version
        and "片区B" not in open_project(project.ref).layers
    )


def test_geometry_must_fit_the_kind_as_in_imports(project):
    line = _feature({"type": "LineString", "coordinates": [[121.6, 29.95], [121.62, 29.96]]})
    with pytest.raises(DrawingError, match=r"第 1 个图形.*corridor_axes"):
        _draw(project, "zones", "片区", [line], ["线当片区"])
    assert "片区" not in open_project(project.ref).layers


def test_a_shape_without_a_name_is_refused(project):
    feats = [
        _feature({"type": "Polygon", "coordinates": [_ring(121.6, 29.95)]}),
        _feature({"type": "Polygon", "coordinates": [_ring(121.7, 29.95)]}),
    ]
    with pytest.raises(DrawingError, match="第 2 个图形没有名称"):
        _draw(project, "zones", "片区", feats, ["甲", " "])


def test_no_answer_from_the_map_means_no_change(project):
    feats = [_feature({"type": "Polygon", "coordinates": [_ring(121.6, 29.95)]})]
    _draw(project, "zones", "片区", feats, ["甲"])
    gdf = open_project(project.ref).layers["片区"].gdf
    for overlay in ("WGS84", "GCJ-02"):  # a map just shown has reported nothing yet
        dr = read_drawings(None, gdf, kind="zones", overlay_crs=overlay)
        assert not dr.changed and dr.deleted == () and list(dr.shapes["state"]) == [SAME]
    assert read_drawings(None, None, kind="zones", overlay_crs="WGS84").shapes.empty


def test_deleting_every_shape_removes_the_layer(project):
    _draw(
        project,
        "zones",
        "片区",
        [_feature({"type": "Polygon", "coordinates": [_ring(121.6, 29.95)]})],
        ["甲"],
    )
    proj = open_project(project.ref)
    dr = read_drawings([], proj.layers["片区"].gdf, kind="zones", overlay_crs="WGS84")
    assert dr.deleted == (0,)
    res = save_drawings(proj, kind="zones", layer="片区", drawings=dr)
    assert res.removed_layer and "片区" not in open_project(project.ref).layers


@given(st.integers(min_value=3, max_value=18), st.floats(min_value=0, max_value=60))
def test_drawing_precision_halves_with_each_zoom_step(zoom, lat):
    a, b = drawing_precision_m(zoom, lat), drawing_precision_m(zoom + 1, lat)
    assert a == pytest.approx(2 * b, abs=0.11)


def test_precision_at_zoom_16_is_three_pixels():
    # 156543.03 m per pixel at zoom 0 on the equator → 2.39 m at zoom 16, × 3 px
    assert drawing_precision_m(16, 0.0) == pytest.approx(7.2, abs=0.05)


def test_drawing_map_uses_the_vendored_plugin_and_no_external_address(project):
    _draw(
        project,
        "zones",
        "片区",
        [_feature({"type": "Polygon", "coordinates": [_ring(121.6, 29.95)]})],
        ["<b>甲</b>"],
    )
    gdf = open_project(project.ref).layers["片区"].gdf
    m = drawing_map([], kind="zones", editable=gdf, basemap=make_basemap("none"))
    html = m.get_root().render()
    assert (
        "/app/static/vendor/leaflet.draw.js" in html
        and "/app/static/vendor/leaflet.draw.css" in html
    )
    assert not re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", html)
    assert "cdnjs" not in html and "<b>甲</b>" not in html  # names reach the page escaped
    assert '"polygon": {' in html and '"polyline": false' in html
    plain = (
        drawing_map([], kind="zones", editable=None, basemap=make_basemap("none"))
        .get_root()
        .render()
    )
    assert "leaflet.draw" not in plain and "L.Control.Draw" not in plain


def test_inline_drawing_map_is_one_offline_file(project):
    m = drawing_map(
        [],
        kind="corridor_axes",
        editable=project.kind_frame("corridor_axes"),
        basemap=make_basemap("none"),
        asset_mode="inline",
    )
    html = m.get_root().render()
    assert "data:text/javascript;base64," in html and "/app/static" not in html
