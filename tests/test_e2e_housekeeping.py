"""End-to-end in headless Chromium (issue 27): on the data page a planner renames a layer,
merges two incubator lists, then clicks 撤销 twice — each click reverts one change, checked
on the project file after every step. Every click is made once, when the app is idle."""

from __future__ import annotations

import pytest

from layers import auth
from layers import project as P
from tests.test_e2e_browser import _free_port, _idle, browser, start_app, stop_app  # noqa: F401
from tests.tiny_project import make_project

pytestmark = pytest.mark.browser


@pytest.fixture()
def project(tmp_path):
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        p = make_project(tmp_path)
        more = p.layers["孵化器"].gdf.iloc[:1].copy()
        more["id"], more["name"] = "I9", "第二批孵化器"
        P.add_layer(p, P.ProjectLayer(name="孵化器二", kind="incubators", gdf=more))
    finally:
        auth.set_actor(None)
    return p.ref


def _names(ref) -> list[str]:
    return list(P.open_project(ref).layers)


def _pick(page, box, option: str) -> None:
    _idle(page)
    box.get_by_role("combobox").click()
    page.get_by_role("option", name=option, exact=True).click()


def _said(page, text: str) -> None:
    page.get_by_test_id("stAlertContentSuccess").filter(has_text=text).first.wait_for(timeout=60000)
    _idle(page)


def test_rename_merge_then_undo_twice_in_the_browser(browser, project, tmp_path):  # noqa: F811
    port = _free_port()
    proc = start_app(
        port,
        INNOMAP_PROJECT=project,
        INNOMAP_HOME=str(tmp_path / "home"),
        INNOMAP_USERS=None,
        INNOMAP_TRUSTED_HEADER=None,
    )
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/data_page")
        panel = page.get_by_test_id("stForm").first
        panel.wait_for(timeout=90000)
        _idle(page)

        # rename 企业 → 企业名单
        rename = page.get_by_test_id("stForm").filter(has_text="新名称").first
        _pick(page, rename.get_by_test_id("stSelectbox"), "企业 (科技企业)")
        rename.get_by_role("textbox").fill("企业名单")
        _idle(page)
        rename.get_by_role("button", name="重命名").click()
        _said(page, "已重命名为 企业名单")
        assert "企业名单" in _names(project) and "企业" not in _names(project)

        # merge the two incubator lists
        page.get_by_role("tab", name="合并图层").click()
        merge = page.get_by_test_id("stForm").filter(has_text="合并后的图层名").first
        merge.wait_for(timeout=60000)
        for option in ("孵化器 (孵化器/众创空间)", "孵化器二 (孵化器/众创空间)"):
            _pick(page, merge.get_by_test_id("stMultiSelect"), option)
        page.keyboard.press("Escape")
        merge.get_by_role("textbox").fill("全部孵化器")
        _idle(page)
        merge.get_by_role("button", name="合并").click()
        _said(page, "已合并")
        merged = P.open_project(project).layers["全部孵化器"]
        assert merged.rows == 3 and set(merged.gdf["source_layer"]) == {"孵化器", "孵化器二"}

        # 撤销 twice in a row: the merge, then the rename
        page.get_by_role("button", name="撤销", exact=True).first.click()
        _said(page, "已撤销: 合并图层")
        names = _names(project)
        assert "孵化器" in names and "孵化器二" in names and "全部孵化器" not in names
        assert "企业名单" in names
        page.get_by_role("button", name="撤销", exact=True).first.click()
        _said(page, "已撤销: 重命名图层")
        assert "企业" in _names(project) and "企业名单" not in _names(project)
        actions = [r["action"] for r in P.audit_log(P.open_project(project))]
        assert actions[-4:] == ["rename_layer", "merge_layers", "undo", "undo"]
        assert page.get_by_test_id("stException").count() == 0
    finally:
        stop_app(proc)
