"""Print-map cartography (issue 27): names placed without overlap (measured from the drawn
label boxes), the number left out stated in the footer, district and zone names drawn,
an inset (局部放大) of the densest part when points crowd, the frame fitted to the map."""

from __future__ import annotations

import itertools

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from export.printmap import PrintLayer, compose_print_map
from render.labels import AREA_GID, POINT_GID, label_boxes

LON0, LAT0 = 121.55, 29.88
NAMES = [
    "中科院大连化物所国家技术转移中心宁波中心",
    "中科院宁波材料所初创园",
    "清华校友创业创新基地",
    "西电宁波研究院和产业园",
    "中欧国际应用能源创新研究院",
    "甬江实验室",
    "镇海科技市场",
    "和丰创意广场",
    "明空间创业园",
    "宁波诺丁汉大学",
    "浙大宁波理工学院",
    "宁波工程学院",
    "宁波大学科学技术学院",
]


def _districts() -> gpd.GeoDataFrame:
    west = shapely.box(LON0 - 0.5, LAT0 - 0.45, LON0, LAT0 + 0.45)
    east = shapely.box(LON0, LAT0 - 0.45, LON0 + 0.3, LAT0 + 0.45)
    return gpd.GeoDataFrame({"name": ["甲区", "乙区"]}, geometry=[west, east], crs=4326)


def _zone() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["核心片区"]}, geometry=[shapely.box(LON0 - 0.03, LAT0 - 0.02, LON0 + 0.03, LAT0 + 0.02)], crs=4326
    )  # fmt: skip


def _points(xy: np.ndarray, names: list[str] | None = None) -> gpd.GeoDataFrame:
    names = names if names is not None else [None] * len(xy)
    return gpd.GeoDataFrame(
        {"name": names}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4326
    )


def _crowded_layers(n_named: int = len(NAMES)) -> list[PrintLayer]:
    """The demo's corridor core in small: 13 long names and 600 points within ~3 km, 40
    points spread over two districts, one zone."""
    rng = np.random.default_rng(7)
    core = rng.normal((LON0, LAT0), 0.012, size=(600, 2))
    spread = np.column_stack(
        [rng.uniform(LON0 - 0.45, LON0 + 0.25, 40), rng.uniform(LAT0 - 0.4, LAT0 + 0.4, 40)]
    )
    named = rng.normal((LON0, LAT0), 0.006, size=(n_named, 2))
    return [
        PrintLayer("行政区", _districts(), "polygon", "#444444", label_field="name",
                   style={"facecolor": "none", "zorder": 1}),
        PrintLayer("片区", _zone(), "polygon", "#17becf", label_field="name",
                   style={"fill_alpha": 0.12, "linestyle": "--", "zorder": 2}),
        PrintLayer("企业", _points(np.vstack([core, spread])), "point", "#2ca02c", style={"size": 3}),
        PrintLayer("高校院所", _points(named, NAMES[:n_named]), "point", "#1f77b4",
                   label_field="name", style={"size": 20, "zorder": 6}),
    ]  # fmt: skip


def _overlapping_pairs(fig) -> list:
    boxes = label_boxes(fig)
    return [(a, b) for a, b in itertools.combinations(boxes, 2) if a.overlaps(b)]


def _label_texts(fig, gid: str) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == gid]


@pytest.fixture()
def crowded():
    sheet = compose_print_map(_crowded_layers(), title="测试", paper="A4", dpi=72)
    yield sheet
    plt.close(sheet.fig)


def test_crowded_map_has_an_inset_and_no_label_overlaps(crowded):
    fig = crowded.fig
    assert crowded.inset is not None
    assert any(ax.get_gid() == "innomap-inset" for ax in fig.axes)
    # the inset shows the core: its view is well inside the map's and holds the names
    ix0, ix1 = crowded.inset.get_xlim()
    mx0, mx1 = crowded.ax.get_xlim()
    assert (ix1 - ix0) < 0.5 * (mx1 - mx0)
    assert _overlapping_pairs(fig) == []
    points = _label_texts(fig, POINT_GID)
    assert len(points) >= 8, points  # most of the 13 core names find room in the inset
    assert set(points) <= set(NAMES)
    assert len(points) == len(set(points))


def test_dropped_names_are_counted_and_stated(crowded):
    fig = crowded.fig
    placed = len(_label_texts(fig, POINT_GID)) + len(_label_texts(fig, AREA_GID))
    assert crowded.labels_total == len(NAMES) + 3  # 13 names, 2 districts, 1 zone
    assert placed + crowded.labels_dropped == crowded.labels_total
    if crowded.labels_dropped:
        assert f"另有 {crowded.labels_dropped} 个因图面空间不足未标注" in crowded.footer
    else:
        assert "未标注" not in crowded.footer


def test_district_and_zone_names_are_drawn(crowded):
    areas = _label_texts(crowded.fig, AREA_GID)
    assert {"甲区", "乙区", "核心片区"} <= set(areas)


def test_tight_space_drops_names_and_says_how_many():
    """On a small page with a large font share, not every name fits: the footer says so."""
    layers = _crowded_layers()
    layers[-1] = PrintLayer(
        "高校院所",
        _points(np.random.default_rng(3).normal((LON0, LAT0), 0.0004, size=(13, 2)), NAMES),
        "point",
        "#1f77b4",
        label_field="name",
        style={"size": 20, "zorder": 6},
    )
    sheet = compose_print_map(layers[2:], title="测试", paper="A4", orientation="portrait", dpi=72)
    try:
        assert _overlapping_pairs(sheet.fig) == []
        placed = len(_label_texts(sheet.fig, POINT_GID))
        assert placed + sheet.labels_dropped == sheet.labels_total == len(NAMES)
        assert sheet.labels_dropped > 0
        assert f"{sheet.labels_dropped} of {len(NAMES)} names not labelled" in sheet.footer
    finally:
        plt.close(sheet.fig)


def test_spread_points_get_no_inset_and_the_frame_fits_the_map():
    rng = np.random.default_rng(11)
    xy = np.column_stack(
        [rng.uniform(LON0 - 0.45, LON0 + 0.25, 300), rng.uniform(LAT0 - 0.4, LAT0 + 0.4, 300)]
    )
    layers = [
        PrintLayer("行政区", _districts(), "polygon", "#444444", label_field="name",
                   style={"facecolor": "none", "zorder": 1}),
        PrintLayer("企业", _points(xy), "point", "#2ca02c", style={"size": 3}),
    ]  # fmt: skip
    sheet = compose_print_map(layers, title="测试", paper="A4", orientation="landscape", dpi=72)
    try:
        assert sheet.inset is None
        assert not any(ax.get_gid() == "innomap-inset" for ax in sheet.fig.axes)
        # a tall map on a landscape page: the frame is fitted (no wide empty margins) and
        # the legend moves into the side panel beside it
        assert sheet.panel is not None
        b = sheet.ax.get_window_extent()
        data = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4326).to_crs(32651)
        x0, y0, x1, y1 = data.total_bounds
        vx0, vx1 = sheet.ax.get_xlim()
        assert (vx1 - vx0) < 1.25 * (x1 - x0) + 400  # padding only (6 % a side + 200 m)
        assert abs((vx1 - vx0) / (y1 - y0 + 0) - b.width / b.height) < 0.35
        assert {"甲区", "乙区"} <= set(_label_texts(sheet.fig, AREA_GID))
        assert _overlapping_pairs(sheet.fig) == []
    finally:
        plt.close(sheet.fig)


def test_demo_a4_map_names_do_not_overlap():
    """The demo's A4 map (issue 27: 13 names overlapping in the corridor core)."""
    from layers.project import demo_project
    from workflows.exports import default_layers, map_content, zone_extent

    demo = demo_project()
    content = map_content(demo, default_layers(demo))
    sheet = compose_print_map(
        content.layers,
        title="宁波",
        paper="A4",
        dpi=72,
        crs=demo.metric_crs(),
        extent=zone_extent(demo, None),
    )
    try:
        assert sheet.inset is not None
        assert _overlapping_pairs(sheet.fig) == []
        areas = set(_label_texts(sheet.fig, AREA_GID))
        assert {"海曙区", "鄞州区", "北仑区"} <= areas
        placed = len(_label_texts(sheet.fig, POINT_GID)) + len(areas)
        assert placed + sheet.labels_dropped == sheet.labels_total
        assert placed >= 25
    finally:
        plt.close(sheet.fig)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    spread=st.floats(0.0005, 0.2),
    n=st.integers(1, len(NAMES)),
)
def test_labels_never_overlap(seed, spread, n):
    """Whatever the crowding, drawn labels never overlap and every name is drawn or counted."""
    rng = np.random.default_rng(seed)
    xy = rng.normal((LON0, LAT0), spread, size=(n, 2))
    layer = PrintLayer(
        "点", _points(xy, NAMES[:n]), "point", label_field="name", style={"size": 20}
    )
    sheet = compose_print_map([layer], title="t", paper="A4", dpi=50)
    try:
        assert _overlapping_pairs(sheet.fig) == []
        placed = len(_label_texts(sheet.fig, POINT_GID))
        assert placed + sheet.labels_dropped == sheet.labels_total == n
    finally:
        plt.close(sheet.fig)


def test_a_map_without_points_has_no_inset():
    layers = [
        PrintLayer("行政区", _districts(), "polygon", "#444444", label_field="name",
                   style={"facecolor": "none", "zorder": 1}),
    ]  # fmt: skip
    sheet = compose_print_map(layers, title="测试", paper="A4", dpi=50)
    try:
        assert sheet.inset is None
        assert {"甲区", "乙区"} <= set(_label_texts(sheet.fig, AREA_GID))
    finally:
        plt.close(sheet.fig)


def test_a_print_sheet_is_rendered_once_when_saved(monkeypatch):
    """geopandas asks for a redraw after every layer; the sheet is drawn once, by savefig
    (the label placement's layout passes, ``draw_without_rendering``, are not renders)."""
    from matplotlib.figure import Figure

    from export.printmap import render_print_map

    renders, layout = [], []
    draw, dry = Figure.draw, Figure.draw_without_rendering

    def counted(self, renderer):
        if not layout:
            renders.append(self)
        return draw(self, renderer)

    def layout_pass(self):
        layout.append(self)
        try:
            return dry(self)
        finally:
            layout.pop()

    monkeypatch.setattr(Figure, "draw", counted)
    monkeypatch.setattr(Figure, "draw_without_rendering", layout_pass)
    png = render_print_map(_crowded_layers(), title="测试", paper="A4", dpi=50)
    assert png[:4] == b"\x89PNG"
    assert len(renders) == 1, f"{len(renders)} renders of one sheet"


def test_one_layout_pass_for_the_map_and_its_inset_and_the_same_sheet(monkeypatch):
    """The inset's names reuse the layout pass the map's names ran (textalloc would run a
    second full draw of the sheet): one pass, and the sheet is byte for byte the same."""
    from matplotlib.figure import Figure

    import export.printmap as pm
    from export.printmap import render_print_map

    passes = []
    dry = Figure.draw_without_rendering

    def counted(self):
        passes.append(self)
        return dry(self)

    far = np.array([[LON0 - 0.35, LAT0 + 0.3], [LON0 + 0.2, LAT0 - 0.3], [LON0 - 0.3, LAT0 - 0.25]])
    layers = [  # names in the inset (the core) and on the map outside it
        *_crowded_layers(),
        PrintLayer("孵化器", _points(far, ["北仑孵化园", "鄞州众创空间", "奉化创业园"]), "point",
                   "#d62728", label_field="name", style={"size": 20, "zorder": 6}),
    ]  # fmt: skip
    monkeypatch.setattr(Figure, "draw_without_rendering", counted)
    one = render_print_map(layers, title="测试", paper="A4", dpi=50)
    assert len(passes) == 1, f"{len(passes)} layout passes"
    real = pm.place_point_labels
    monkeypatch.setattr(  # as before: every placement runs its own pass
        pm, "place_point_labels", lambda *a, **kw: real(*a, **(kw | {"laid_out": False}))
    )
    passes.clear()
    two = render_print_map(layers, title="测试", paper="A4", dpi=50)
    assert len(passes) == 2
    assert one == two
