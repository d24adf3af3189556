"""End-to-end in headless Chromium: a 奥维 KML with several folders on the import page — the
layer list shows every folder with its rows, the layer choice offers all folders or one, and
the folder picked (with its sub-folder) is added with its folder names (issue 23)."""

from __future__ import annotations

import pytest

from layers.project import create_project, open_project
from tests.test_e2e_browser import (  # noqa: F401
    _free_port,
    _idle,
    browser,
    start_app,
    stop_app,
)
from tests.test_import_geo_sources import kml_text

pytestmark = pytest.mark.browser

FOLDERS = ["科技馆", "科普基地", "科普基地/学校", "企业科技馆", "踏勘轨迹"]


def _ready(page) -> None:
    page.get_by_test_id("stHeading").first.wait_for(timeout=60000)
    page.wait_for_timeout(500)
    _idle(page)


def _metric(page, label: str) -> str:
    m = page.get_by_test_id("stMetric").filter(has_text=label).first
    return m.get_by_test_id("stMetricValue").inner_text().strip()


def _wait_metric(page, label: str, value: str, timeout_s: float = 60) -> None:
    for _ in range(int(timeout_s * 10)):
        try:
            if _metric(page, label) == value:
                return
        except Exception:
            pass
        page.wait_for_timeout(100)
    assert _metric(page, label) == value


def test_kml_layer_list_in_the_browser(browser, tmp_path):  # noqa: F811
    proj = tmp_path / "hf.gpkg"
    create_project(proj, name="合肥测试", city="合肥市", counties=["蜀山区"])
    kml = tmp_path / "奥维科普场馆.kml"
    kml.write_text(kml_text(), encoding="utf-8")
    port = _free_port()
    proc = start_app(port, INNOMAP_HOME=str(tmp_path / "home"), INNOMAP_PROJECT=str(proj))
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/import_page")
        _ready(page)
        page.locator("input[type=file]").first.set_input_files(str(kml))
        kind = page.get_by_test_id("stSelectbox").filter(has_text="图层类别")
        kind.wait_for(timeout=60000)
        _idle(page)
        kind.get_by_role("combobox").click()
        page.get_by_role("option", name="科普场馆/基地").click()
        page.get_by_text("文件中的图层/文件夹").wait_for(timeout=60000)  # the layer list
        grid = page.get_by_test_id("stDataFrame").filter(has_text="几何类型").first
        grid.wait_for(timeout=60000)  # the list's table: every folder, its rows and geometry
        text = grid.text_content()
        for folder, rows, geometry, fit in (
            ("科技馆", 2, "Point 2", 2),
            ("科普基地", 1, "Point 1", 1),
            ("科普基地/学校", 1, "Point 1", 1),
            ("企业科技馆", 1, "Point 1", 1),
            ("踏勘轨迹", 1, "LineString 1", 0),
        ):
            assert f"{folder}{rows}{geometry}{fit}" in text, text
        _wait_metric(page, "总行数", "6")
        assert _metric(page, "有效") == "5" and _metric(page, "被拒绝") == "1"
        # the layer choice lists "all" and every folder; picking one reads only it
        _idle(page)
        layer = page.get_by_test_id("stSelectbox").filter(has_text="工作表/图层")
        layer.get_by_role("combobox").click()
        options = [o.inner_text().strip() for o in page.get_by_role("option").all()]
        assert options == ["全部图层/文件夹(合并, 保留来源字段)", *FOLDERS]
        page.get_by_role("option", name="科普基地", exact=True).click()  # with its sub-folder
        _wait_metric(page, "总行数", "2")
        _idle(page)
        page.get_by_role("button", name="加入项目").click()
        page.get_by_text("已加入项目").wait_for(timeout=60000)
        kept = open_project(proj).layers["奥维科普场馆"]
        assert kept.rows == 2 and set(kept.gdf["folder"]) == {"科普基地", "科普基地/学校"}
        assert page.get_by_test_id("stException").count() == 0
    finally:
        stop_app(proc)
