"""The data page's 整理项目 panel (issue 27): rename, merge, zone edit and 撤销 twice, as
AppTest; the oracle is the project file read back after each click."""

from __future__ import annotations

import pytest

from layers import auth
from layers import project as P
from tests.conftest import app_on_page
from tests.tiny_project import ZONE, make_project


@pytest.fixture()
def app(monkeypatch, tmp_path):
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        ref = make_project(tmp_path).ref
    finally:
        auth.set_actor(None)
    return app_on_page(monkeypatch, ref, tmp_path / "home", "data_page"), ref


def _names(ref) -> list[str]:
    return list(P.open_project(ref).layers)


def test_rename_merge_zone_edit_then_undo_twice(app):
    at, ref = app
    assert not at.button(key="hk_undo_rename").proto.disabled  # the imports can be undone
    at.selectbox(key="hk_rename_old").set_value("企业")
    at.text_input(key="hk_rename_new").input("企业名单")
    at.button(key="hk_rename_go").click().run()
    assert not at.exception, at.exception
    assert "企业名单" in _names(ref) and "企业" not in _names(ref)
    assert any("企业名单" in s.value for s in at.success)

    at.multiselect(key="hk_merge_layers").set_value(["科普场馆", "孵化器"])
    at.text_input(key="hk_merge_name").input("混合")
    at.button(key="hk_merge_go").click().run()
    assert any("one kind" in e.value or "同一类别" in e.value for e in at.error)
    assert "混合" not in _names(ref)

    at.selectbox(key="hk_zone").set_value(ZONE)
    at.text_input(key="hk_zone_name").input("新片区")
    at.selectbox(key="hk_zone_type").set_value("高新区")
    at.button(key="hk_zone_go").click().run()
    assert not at.exception, at.exception
    z = P.open_project(ref).zones
    assert z["name"].tolist() == ["新片区"] and z["subtype"].tolist() == ["高新区"]

    at.button(key="hk_undo_zone").click().run()
    assert P.open_project(ref).zone_names() == [ZONE]
    assert any("已撤销" in s.value for s in at.success)
    at.button(key="hk_undo_rename").click().run()
    assert "企业" in _names(ref) and "企业名单" not in _names(ref)
    actions = [r["action"] for r in P.audit_log(P.open_project(ref))]
    assert actions[-4:] == ["rename_layer", "edit_zone", "undo", "undo"]


def test_viewers_see_no_changes(monkeypatch, tmp_path):
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        ref = make_project(tmp_path).ref
    finally:
        auth.set_actor(None)
    monkeypatch.setattr(auth, "can", lambda role: role == "viewer")
    at = app_on_page(monkeypatch, ref, tmp_path / "home", "data_page")
    assert not [b for b in at.button if b.key and b.key.startswith("hk_")]


def test_import_page_offers_undo_of_the_last_import(monkeypatch, tmp_path):
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        ref = make_project(tmp_path).ref  # its last change: the corridor axis imported
    finally:
        auth.set_actor(None)
    at = app_on_page(monkeypatch, ref, tmp_path / "home", "import_page")
    assert any("导入图层: 走廊轴线" in c.value for c in at.caption)
    at.button(key="imp_undo").click().run()
    assert not at.exception, at.exception
    assert "走廊轴线" not in P.open_project(ref).layers
    assert any("已撤销: 导入图层" in s.value for s in at.success)
    assert P.audit_log(P.open_project(ref))[-1]["action"] == "undo"


def test_a_click_on_a_stale_page_is_a_conflict(app):
    """Another session changes the project after this page was drawn: the rerun reads the
    new project, yet 撤销 and rename clicked here are refused (the version seen is older)."""
    at, ref = app
    other = P.open_project(ref)
    P.rename_layer(other, "科普场馆", "场馆")  # someone else, after the page was drawn
    at.button(key="hk_undo_rename").click().run()
    assert not at.exception, at.exception
    assert any("changed since" in e.value for e in at.error)
    assert P.audit_log(P.open_project(ref))[-1]["action"] == "rename_layer"  # not undone
    # drawn again, the page offers the undo of that change, and it goes through
    at.button(key="hk_undo_rename").click().run()
    assert "科普场馆" in P.open_project(ref).layers
