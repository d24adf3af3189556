"""End-to-end in headless Chromium: drawing a zone and a corridor axis with the vendored
Leaflet.draw toolbar on the drawing page (issue 27).

The editor turns on edit mode, clicks the toolbar's polygon tool and four points in the map,
closes the polygon, names it and saves; then the same with the line tool for an axis; last it
deletes the zone with the toolbar's trash tool and saves (the emptied layer is removed). The
oracle of the coordinates is the map itself: Leaflet's ``containerPointToLatLng`` of the
clicked pixels (no basemap: the overlay system is WGS84), and the project must hold each
vertex within 0.5 m. The page loads nothing from outside the app (Leaflet.draw is vendored).
"""

from __future__ import annotations

import math
from urllib.parse import urlparse

import pytest

from layers.project import create_project, open_project
from tests.test_e2e_browser import (  # noqa: F401
    _free_port,
    _idle,
    browser,
    start_app,
    stop_app,
)

pytestmark = pytest.mark.browser

MAP = "iframe[title*='st_folium']"


def _metres(a, b) -> float:
    (x1, y1), (x2, y2) = a, b
    return math.hypot((x1 - x2) * 111_320 * math.cos(math.radians(y1)), (y1 - y2) * 110_574)


def _latlng(frame_el, x: float, y: float) -> tuple[float, float]:
    """(lon, lat) of the map's container pixel (x, y), by Leaflet."""
    ll = frame_el.evaluate(
        "(_el, [x, y]) => { const p = window.map.containerPointToLatLng([x, y]);"
        " return [p.lng, p.lat]; }",
        [x, y],
    )
    return float(ll[0]), float(ll[1])


def _click_map(page, points) -> None:
    """Click the map's container pixels ``points`` (the map's place on the screen is read
    after the tool's click, which may have scrolled the page)."""
    iframe = page.locator(MAP).first
    iframe.scroll_into_view_if_needed()  # the whole map on the screen
    box = iframe.bounding_box()
    for x, y in points:
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_timeout(150)


def _wait_tool(page, tool: str):
    frame = page.frame_locator(MAP).first
    button = frame.locator(f"a.leaflet-draw-draw-{tool}")
    button.wait_for(timeout=60000)
    frame.locator("[data-innomap-ready]").wait_for(state="attached", timeout=60000)
    return frame, button


def _name_and_save(page, name: str) -> None:
    field = page.get_by_label("图形 1 名称")
    field.wait_for(timeout=60000)
    _idle(page)
    field.fill(name)
    field.press("Enter")
    _idle(page)
    page.get_by_role("button", name="保存到项目").click()
    page.get_by_text("已保存到图层").wait_for(timeout=60000)
    page.get_by_role("button", name="撤销").wait_for(timeout=60000)  # 撤销 after a save
    _idle(page)


def _draw_zone(page, proj) -> None:
    """A zone: polygon tool, four vertices, click the first to close."""
    frame, tool = _wait_tool(page, "polygon")
    _idle(page)
    container = frame.locator(".leaflet-container").first
    ring = [(500, 200), (700, 200), (700, 380), (500, 380)]
    want = [_latlng(container, x, y) for x, y in ring]
    tool.click()
    _click_map(page, [*ring, ring[0]])
    _name_and_save(page, "画的片区")
    zone = open_project(proj).layers["绘制片区"].gdf
    assert list(zone["name"]) == ["画的片区"] and zone["source"].iloc[0] == "绘制/drawn"
    got = list(zone.geometry.iloc[0].exterior.coords)[:-1]
    assert len(got) == 4
    for w in want:
        assert min(_metres(w, g) for g in got) < 0.5, (w, got)


def _draw_axis(page, proj) -> None:
    """An axis: line tool, three vertices, click the last again to finish."""
    page.get_by_text("走廊轴线(线)", exact=True).click()
    frame, tool = _wait_tool(page, "polyline")
    _idle(page)
    container = frame.locator(".leaflet-container").first
    line = [(450, 450), (600, 420), (760, 470)]
    want = [_latlng(container, x, y) for x, y in line]
    tool.click()
    _click_map(page, [*line, line[-1]])
    _name_and_save(page, "画的轴线")
    axis = open_project(proj).layers["绘制轴线"].gdf
    assert list(axis["name"]) == ["画的轴线"] and list(axis["subtype"]) == ["轴线"]
    got = list(axis.geometry.iloc[0].coords)
    assert len(got) == 3
    for w, g in zip(want, got, strict=True):
        assert _metres(w, g) < 0.5, (w, g)


def _delete_zone(page, proj) -> None:
    """Back on the zones: the trash tool, click the zone, 完成, save: the layer is gone."""
    page.get_by_text("片区(面)", exact=True).click()
    frame, _tool = _wait_tool(page, "polygon")
    _idle(page)
    remove = frame.locator("a.leaflet-draw-edit-remove")
    remove.click()
    frame.locator("path.leaflet-interactive[stroke='#17becf']").click()  # the zone's outline
    frame.locator(".leaflet-draw-actions a", has_text="完成").first.click()
    page.get_by_text("待删除的图形: 1 个").wait_for(timeout=60000)
    _idle(page)
    page.get_by_role("button", name="保存到项目").click()
    page.get_by_text("图层已移除").wait_for(timeout=60000)
    assert "绘制片区" not in open_project(proj).layers


def test_draw_a_zone_and_an_axis_in_the_browser(browser, tmp_path):  # noqa: F811
    proj = tmp_path / "draw.gpkg"
    create_project(proj, name="绘制端到端", city="宁波市", counties=["镇海区"])
    port = _free_port()
    proc = start_app(port, INNOMAP_HOME=str(tmp_path / "home"), INNOMAP_PROJECT=str(proj))
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"http://127.0.0.1:{port}/draw_page")
        page.get_by_test_id("stHeading").first.wait_for(timeout=60000)
        page.locator(MAP).first.wait_for(timeout=60000)
        _idle(page)
        # out of edit mode: no toolbar
        assert page.frame_locator(MAP).first.locator(".leaflet-draw").count() == 0
        page.get_by_text("编辑模式", exact=True).click()

        _draw_zone(page, proj)
        _draw_axis(page, proj)
        _delete_zone(page, proj)
        # the axis is still there, and nothing came from outside the app
        assert list(open_project(proj).layers["绘制轴线"].gdf["name"]) == ["画的轴线"]
        own = f"127.0.0.1:{port}"
        foreign = {
            urlparse(u).netloc for u in requests if urlparse(u).scheme in ("http", "https")
        } - {own}
        assert foreign == set(), foreign
        assert errors == [] and page.get_by_test_id("stException").count() == 0
    finally:
        stop_app(proc)
