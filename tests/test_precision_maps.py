"""Imprecise points on every map, and service circles that keep their area (issue 24).

Points coarser than street level (``settings.STREET_LEVEL_PRECISION_M``) are drawn
with their own hollow symbol and a legend entry ("位置为近似") on the print map, the
single-file HTML map and the large-layer payload; the app map in a real browser is
in :mod:`tests.test_e2e_precision`.
"""

from __future__ import annotations

import base64
import json
import math
import re
import shutil

import geopandas as gpd
import matplotlib
import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import settings
from export.printmap import PrintLayer, render_print_map
from geo.reach import ReachParams, circles, coverage_polygons
from render.compact import decode_approx, decode_points, encode_points, encode_points_raw
from render.webmap import MapLayer, build_map

LABEL = "位置为近似"


def _points(precisions):
    n = len(precisions)
    return gpd.GeoDataFrame(
        {
            "id": [f"P{i}" for i in range(n)],
            "name": [f"点{i}" for i in range(n)],
            "coord_precision_m": precisions,
            "synthetic": [False] * n,
        },
        geometry=gpd.points_from_xy(121.5 + 0.01 * np.arange(n), [29.8] * n),
        crs=4326,
    )


@hsettings(max_examples=30, deadline=None)
@given(
    radius=st.floats(1.0, 50_000.0),
    quad_segs=st.integers(4, 64),
)
def test_a_drawn_circle_keeps_the_circle_area(radius, quad_segs):
    area = circles(shapely.Point(0.0, 0.0), radius, quad_segs=quad_segs).area
    assert abs(area / (math.pi * radius**2) - 1) < 1e-3


def test_service_areas_are_off_by_less_than_a_thousandth():
    params = ReachParams(method="straight", mode="walk", speed_kmh=None, detour=1.3, max_snap_m=300)
    r = 15 * 4.5 * 1000 / 60 / 1.3
    (one,) = coverage_polygons(np.array([[0.0, 0.0]]), params=params, minutes=(15.0,))
    assert abs(one.area / (math.pi * r**2) - 1) < 1e-3
    # two overlapping circles: the exact union area (lens formula) within 0.1 %
    d = r  # centres one radius apart
    (two,) = coverage_polygons(np.array([[0.0, 0.0], [d, 0.0]]), params=params, minutes=(15.0,))
    lens = 2 * r**2 * math.acos(d / (2 * r)) - d / 2 * math.sqrt(4 * r**2 - d**2)
    assert abs(two.area / (2 * math.pi * r**2 - lens) - 1) < 1e-3
    # the old inscribed 32-gon was 0.64 % low: the test can fail
    assert abs(shapely.Point(0, 0).buffer(r).area / (math.pi * r**2) - 1) > 1e-3


def test_print_map_draws_imprecise_points_hollow_with_a_legend_entry():
    g = _points([10.0, 5000.0, np.nan, 100.0, 250.0])
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        svg = render_print_map([PrintLayer("孵化器", g)], title="t", fmt="svg", dpi=60).decode()
    assert 'id="innomap-approx"' in svg
    assert f"{LABEL} (精度粗于 100 米) (2)" in svg  # 5,000 m and 250 m; 100 m is street level
    assert "空心圆为位置近似的点 (2 个" in svg
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        exact = render_print_map(
            [PrintLayer("孵化器", g.iloc[[0, 2, 3]])], title="t", fmt="svg", dpi=60
        )
    assert b"innomap-approx" not in exact and LABEL.encode() not in exact


def _payload(html: str) -> dict:
    m = re.search(r"InnoMap\.pointLayer\(\s*(\{.*?\}), \{\"color", html, re.S)
    return json.loads(m.group(1))


def test_html_map_marks_imprecise_points_and_names_the_symbol():
    html = (
        build_map(
            [MapLayer("inc", "孵化器", _points([10.0, 5000.0, np.nan, 250.0]), "#d62728", "point")]
        )
        .get_root()
        .render()
    )
    assert _payload(html)["approx"] == [1, 3]
    assert LABEL in html and '"shape":"approx"' in html.replace(" ", "")
    plain = (
        build_map([MapLayer("inc", "孵化器", _points([10.0, 20.0]), "#d62728", "point")])
        .get_root()
        .render()
    )
    assert _payload(plain)["approx"] == [] and LABEL not in plain


def test_export_html_of_a_project_has_the_hollow_symbol(tmp_path):
    from export.maps import export_html
    from layers.project import ProjectLayer, add_layer, open_project
    from tests.tiny_project import lonlat, make_project

    p = make_project(tmp_path)
    x, y = lonlat(p, 800, 800)
    g = _points([12000.0]).set_geometry(gpd.points_from_xy([x], [y], crs=4326))
    g = g.assign(kind="研发平台", subtype="重点实验室", source="t", coord_source="geocode:county")
    from layers.registry import REGISTRY, normalise_columns

    add_layer(
        p,
        ProjectLayer(
            name="平台", kind="platforms", gdf=normalise_columns(g, REGISTRY["platforms"])
        ),
    )
    html = export_html(open_project(p.ref), ["platforms", "incubators"]).decode()
    assert LABEL in html and '"approx":[0]' in html.replace(" ", "")


@pytest.mark.parametrize("precisions", [[10.0, 5000.0, np.nan, 250.0] * 5, [10.0] * 7, [300.0] * 9])
def test_large_layer_payload_carries_the_approximate_flags(precisions):
    g = _points(precisions).assign(synthetic=[i % 3 == 0 for i in range(len(precisions))])
    xy = g.geometry.get_coordinates().to_numpy()
    payload = encode_points(xy[:, 0], xy[:, 1], g, ("id",))
    want = np.nan_to_num(np.asarray(precisions, float)) > settings.STREET_LEVEL_PRECISION_M
    assert decode_approx(payload).tolist() == want.tolist()
    assert decode_points(payload)[2].tolist() == g["synthetic"].tolist()  # synth unchanged
    raw = encode_points_raw(xy[:, 0], xy[:, 1], g, ("id",))
    plane = math.ceil(len(g) / 8)
    assert len(raw.flag_planes()) == (2 * plane if want.any() else len(raw.synth))


_APPROX_DRIVER = r"""
require(process.argv[2]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const p = input.payload;
const inline = window.InnoMap.glPointLayer(p, { color: "#d62728" })._d;
// a data file: the pairs, then the flag planes (synth, approx) as the app serves them
const file = window.InnoMap.glPointLayer({ n: p.n, src: "x.bin" }, { color: "#d62728" });
const planes = Buffer.from(p.planes, "base64");
file._setData(new Uint8Array(Buffer.from(p.xy, "base64")), new Uint8Array(planes));
const a = d => (d.approx ? Array.from(d.approx) : []);
const s = d => (d.synth ? Array.from(d.synth) : []);
console.log(JSON.stringify({ inline: a(inline), file: a(file._d), synth: s(file._d) }));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_large_layer_renderer_reads_the_approximate_flags(tmp_path):
    """The real static/innomap_gl.js (under node) decodes which points to draw hollow,
    from the page's payload and from a data file's flag planes."""
    from tests.test_large import _NODE_PRELUDE, _drive

    precisions = [10.0, 5000.0, np.nan, 250.0, 30.0, 100.0, 101.0, 9000.0, 5.0, 700.0]
    g = _points(precisions).assign(synthetic=[i % 4 == 0 for i in range(len(precisions))])
    xy = g.geometry.get_coordinates().to_numpy()
    raw = encode_points_raw(xy[:, 0], xy[:, 1], g, ("id",))
    payload = raw.as_base64() | {"planes": base64.b64encode(raw.flag_planes()).decode()}
    out = _drive(tmp_path, _NODE_PRELUDE + _APPROX_DRIVER, payload, [])
    want = [int(v) for v in np.nan_to_num(np.asarray(precisions), nan=0.0) > 100.0]
    assert out["inline"] == want and out["file"] == want
    assert out["synth"] == [int(v) for v in g["synthetic"]]
