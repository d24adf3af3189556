"""End-to-end in headless Chromium: a planner creates a project, imports a file, saves a run;
a reload and a server restart keep all of it.
"""

from __future__ import annotations

import pytest

from tests.test_e2e_browser import (  # noqa: F401
    _free_port,
    _idle,
    _wait_or_say,
    browser,
    start_app,
    stop_app,
)

pytestmark = pytest.mark.browser


def _start(home, port: int):
    return start_app(port, INNOMAP_HOME=str(home), INNOMAP_PROJECT=None)


def _ready(page) -> None:
    """The page has run to its end (and the demo's first-run guide, if shown, is closed: it
    makes the rest of the page inert)."""
    page.get_by_test_id("stHeading").first.wait_for(timeout=60000)
    _idle(page)  # the guide is shown by the page's run: look for it once the run has ended
    start = page.get_by_role("button", name="开始使用")
    if start.count():
        start.click()
        start.wait_for(state="detached", timeout=30000)
        _idle(page)


def _sidebar_tab(page, expander: str, tab: str):
    sb = page.get_by_test_id("stSidebar")
    sb.get_by_text(expander).click()
    sb.get_by_role("tab", name=tab).click()
    return sb


def test_project_survives_reload_and_restart(browser, tmp_path):  # noqa: F811
    home = tmp_path / "home"
    csv = tmp_path / "孵化器名单.csv"
    csv.write_text(
        "name,lon,lat,subtype\n海州孵化器甲,119.17,34.60,孵化器\n"
        "海州孵化器乙,119.18,34.61,众创空间\n",
        encoding="utf-8",
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(home, port)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        _ready(page)
        sb = _sidebar_tab(page, "项目: 打开 / 新建 / 另存为", "新建")
        sb.get_by_label("项目名称").fill("连云港科创")
        sb.get_by_label("城市(名称或行政区划代码)").fill("连云港市")
        sb.get_by_label("区县(可选, 逗号分隔)").fill("海州区")
        page.keyboard.press("Tab")  # the last field committed too
        _idle(page)  # each committed field reruns the page: click when it has settled
        sb.get_by_role("button", name="新建项目").click()
        sb.get_by_text("项目: 连云港科创").wait_for(timeout=180000)
        assert "project=" in page.url  # the project is in the URL: a reload keeps it
        query = page.url.split("?", 1)[1]
        # import a file into the new project
        page.goto(f"{url}/import_page?{query}")
        _ready(page)
        page.locator("input[type=file]").first.set_input_files(str(csv))
        kind = page.get_by_test_id("stSelectbox").filter(has_text="图层类别")
        kind.wait_for(timeout=60000)
        kind.get_by_role("combobox").click()
        page.get_by_role("option", name="孵化器/众创空间").click()
        page.get_by_text("WGS84 (GPS/天地图)").wait_for(timeout=60000)  # no CRS stated: it asks
        page.get_by_text("WGS84 (GPS/天地图)").click()
        page.get_by_role("button", name="加入项目").click()
        _wait_or_say(page, page.get_by_text("已加入项目"))
        # a saved run: compute coverage and save it
        page.goto(f"{url}/coverage_page?{query}")
        _ready(page)
        page.get_by_text("点击“计算覆盖”").wait_for(timeout=60000)
        tab = page.get_by_role("tab", name="导出与保存")
        page.get_by_role("button", name="计算覆盖").click()  # once: a click is never lost
        tab.click(timeout=60000)
        page.get_by_role("button", name="保存本次分析").click(timeout=20000)
        # saved (the message may sit in a tab that a rerun under load has switched away from)
        page.get_by_text("已保存").first.wait_for(state="attached", timeout=60000)
        # reload: still the same project, with the layer
        page.goto(f"{url}/data_page?{query}")
        page.reload()
        _ready(page)
        page.get_by_test_id("stSidebar").get_by_text("项目: 连云港科创").wait_for(timeout=60000)
        page.get_by_text("2 个图层").first.wait_for(timeout=60000)  # 行政区 + the import
    finally:
        stop_app(proc)
    # restart the server, open the project from the recent list
    proc = _start(home, port)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/data_page")
        _ready(page)
        sb = _sidebar_tab(page, "项目: 打开 / 新建 / 另存为", "打开")
        sb.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name=str(home / "projects" / "连云港科创.gpkg")).click()
        sb.get_by_text("项目: 连云港科创").wait_for(timeout=60000)
        page.get_by_text("2 个图层").first.wait_for(timeout=60000)
        page.get_by_text("共 1 个已保存的分析").wait_for(timeout=60000)  # the saved run
        from layers.project import open_project

        kept = open_project(home / "projects" / "连云港科创.gpkg")
        assert kept.layers["孵化器名单"].source_file == "孵化器名单.csv"
        assert [r.analysis for r in kept.runs] == ["coverage"]
        assert page.get_by_test_id("stException").count() == 0
    finally:
        stop_app(proc)
