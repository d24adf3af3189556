"""End-to-end in headless Chromium (issue 27): runs saved on the command line
(``coverage --save-run 方案A`` / ``方案B``) are reopened in the app's 方案对比 page: A and B
side by side — two maps framed alike on what both runs hold, each marked because the
enterprises changed after the runs were saved — and compare.png downloaded. Every click is
made once, when the app is idle."""

from __future__ import annotations

import re

import pytest
from PIL import Image

import settings
from layers import auth
from layers import project as P
from tests.cli_run import run_cli
from tests.test_e2e_browser import _free_port, _idle, browser, start_app, stop_app  # noqa: F401
from tests.tiny_project import make_project

pytestmark = pytest.mark.browser

MAP = "iframe[title*='st_folium']"


@pytest.fixture()
def project(tmp_path):
    """The tiny project, two coverage runs saved from the CLI, then the enterprises edited."""
    p = make_project(tmp_path).ref
    for name, services in (("方案A", ["科普场馆"]), ("方案B", ["科普场馆", "孵化器"])):
        r = run_cli(
            "coverage", "--project", p, "--service", *services, "--demand", "企业",
            "--method", "straight", "--minutes", "5,10,15", "--out", tmp_path / name,
            "--save-run", name,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        proj = P.open_project(p)
        g = proj.layers["企业"].gdf.copy()
        g["employees"] = g["employees"] + 1
        P.add_layer(proj, P.ProjectLayer(name="企业", kind="enterprises", gdf=g), replace=True)
    finally:
        auth.set_actor(None)
    return p


def _bounds(page, i: int) -> tuple[float, float, float, float]:
    el = page.frame_locator(MAP).nth(i).locator(".leaflet-container").first
    el.wait_for(timeout=60000)
    b = el.evaluate(
        "() => { const b = window.map.getBounds();"
        " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"
    )
    return tuple(float(x) for x in b)


def test_cli_runs_side_by_side_in_the_browser(browser, project, tmp_path):  # noqa: F811
    from export.compare_map import compare_extent
    from workflows import runs

    port = _free_port()
    proc = start_app(
        port,
        INNOMAP_PROJECT=project,
        INNOMAP_HOME=str(tmp_path / "home"),
        INNOMAP_USERS=None,
        INNOMAP_TRUSTED_HEADER=None,
    )
    try:
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(f"http://127.0.0.1:{port}/compare_page")
        page.get_by_text("已保存的运行与方案对比").first.wait_for(timeout=90000)
        _idle(page)
        # A: 方案A (the newest run, 方案B, is chosen first); B is then the other coverage run
        boxes = page.get_by_test_id("stMain").get_by_test_id("stSelectbox")
        boxes.first.get_by_role("combobox").click()
        page.get_by_role("option", name=re.compile(r"^方案A · ")).click()
        _idle(page)
        # each side is headed by its run: A is 方案A now, B the other coverage run
        page.get_by_text("方案A · 方案A", exact=True).wait_for(timeout=60000)
        page.get_by_text("方案B · 方案B", exact=True).wait_for(timeout=60000)
        page.locator(MAP).nth(1).wait_for(timeout=90000)
        _idle(page)
        assert page.locator(MAP).count() == 2
        # both runs are marked: the enterprises changed since they were saved
        marks = page.get_by_test_id("stAlertContentWarning").filter(has_text="保存后输入已更改")
        marks.nth(1).wait_for(timeout=60000)
        assert marks.count() == 2 and "企业" in marks.first.inner_text()
        # the two maps show the same extent, holding every stored layer of both runs
        left, right = _bounds(page, 0), _bounds(page, 1)
        assert left == pytest.approx(right, abs=1e-9)
        proj = P.open_project(project)
        ra, rb = (runs.reopen(proj, runs.resolve_run(proj, n)) for n in ("方案A", "方案B"))
        x0, y0, x1, y1 = compare_extent({**ra.layers}, {**rb.layers})
        assert left[0] <= x0 and left[1] <= y0 and x1 <= left[2] and y1 <= left[3]
        # compare.png: the two print maps side by side
        page.get_by_role("button", name="生成对比图 compare.png").click()
        download = page.get_by_role("button", name="下载 compare.png")
        download.wait_for(timeout=120000)
        _idle(page)
        with page.expect_download() as info:
            download.click()
        path = tmp_path / "compare.png"
        info.value.save_as(path)
        with Image.open(path) as im:
            side = round(210 / 25.4 * settings.COMPARE_DPI)
            assert abs(im.width - 2 * side) <= 2
        assert page.get_by_test_id("stException").count() == 0
    finally:
        stop_app(proc)
