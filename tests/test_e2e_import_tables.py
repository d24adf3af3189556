"""End-to-end in headless Chromium: a titled list on the import page (issue 23) — the header
row is detected past the title and the planner can pick another one, the guessed column
mapping is shown and a column changed, the footnote is a note, the layer is added."""

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
from tests.test_e2e_import_geo import _metric, _ready, _wait_metric

pytestmark = pytest.mark.browser

TABLE = (
    "合肥市科技企业孵化器名单\n"
    "名称,运营单位,类型,经度,纬度\n"
    "甲孵化器,甲公司,国家级孵化器,117.20,31.80\n"
    "乙空间,乙公司,众创空间,117.21,31.81\n"
    "注：数据来源于合肥市科技局\n"
)


def _pick(page, label: str, option: str) -> None:
    """Choose ``option`` in the select box labelled ``label`` (once the app is idle)."""
    _idle(page)
    combo = page.get_by_role("combobox", name=label, exact=True)
    combo.scroll_into_view_if_needed()
    box = page.get_by_test_id("stSelectbox").filter(has=combo)
    box.get_by_role("button", name="Open").click()
    for _ in range(300):  # the open list's option of that exact text
        choice = [
            o
            for o in page.get_by_role("option").all()
            if o.is_visible() and o.inner_text().strip() == option
        ]
        if choice:
            break
        page.wait_for_timeout(100)
    assert len(choice) == 1, (
        label,
        option,
        [o.inner_text() for o in page.get_by_role("option").all()],
    )
    choice[0].click()
    _idle(page)


def _settled(page) -> None:
    """The preview of the import is drawn (its map's frame holds the Leaflet map) and the
    app is idle."""
    frame = page.frame_locator("iframe[title*='st_folium']").first
    frame.locator(".leaflet-container").first.wait_for(state="attached", timeout=60000)
    _idle(page)


def _selected(page, label: str) -> str:
    """The value shown by the select box labelled exactly ``label``."""
    return page.get_by_role("combobox", name=label, exact=True).input_value()


def test_header_row_and_column_mapping_in_the_browser(browser, tmp_path):  # noqa: F811
    proj = tmp_path / "hf.gpkg"
    create_project(proj, name="合肥测试", city="合肥市", counties=["蜀山区"])
    csv = tmp_path / "孵化器名单_高德.csv"
    csv.write_text(TABLE, encoding="utf-8")
    port = _free_port()
    proc = start_app(port, INNOMAP_HOME=str(tmp_path / "home"), INNOMAP_PROJECT=str(proj))
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/import_page")
        _ready(page)
        page.locator("input[type=file]").first.set_input_files(str(csv))
        page.get_by_text("表格结构").wait_for(timeout=60000)
        _wait_metric(page, "总行数", "2")
        _settled(page)
        header = "表头行(表头上方的标题行、下方的表注作为备注保留)"
        assert _selected(page, header).startswith("第 2 行(自动识别)")
        assert _selected(page, "图层类别") == "孵化器/众创空间"  # the title names 孵化器
        page.get_by_text("第 5 行为表注").first.wait_for(timeout=30000)  # a note, not an error
        assert _metric(page, "被拒绝") == "0"
        # the title row as header: nothing to read, the page says so; back to the header
        _pick(page, header, "第 1 行: 合肥市科技企业孵化器名单")
        page.get_by_text("no coordinate columns").first.wait_for(timeout=60000)
        _pick(page, header, "第 2 行(自动识别): 名称 | 运营单位 | 类型 | 经度 | 纬度")
        _wait_metric(page, "总行数", "2")
        _settled(page)
        # the guessed mapping reads names from 名称; the planner points it at 运营单位
        assert _selected(page, "名称") == "自动: 名称"
        _pick(page, "名称", "运营单位")
        assert _selected(page, "名称") == "运营单位"
        _settled(page)  # read again with the names from 运营单位
        page.get_by_role("button", name="加入项目").click()
        page.get_by_text("已加入项目").wait_for(timeout=60000)
        kept = open_project(proj).layers["孵化器名单_高德"]
        assert kept.gdf["name"].tolist() == ["甲公司", "乙公司"] and kept.crs_in == "GCJ-02"
        assert "第 5 行为表注" in kept.note
        assert page.get_by_test_id("stException").count() == 0
    finally:
        stop_app(proc)
