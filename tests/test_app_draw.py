"""AppTest of the drawing page (issue 27): editors only, read-only projects refused, edit mode
switches the toolbar on; the map returns drawings only in edit mode."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from layers.project import create_project
from tests.conftest import ROOT, app_on_page


def _map_args(at) -> dict:
    """The arguments of the page's map component (its script, the objects it returns …)."""
    return json.loads(at.get("component_instance")[-1].proto.json_args)


def test_the_page_draws_only_in_edit_mode(tmp_path, monkeypatch):
    proj = tmp_path / "p.gpkg"
    create_project(proj, name="绘制页测试", city="宁波市", counties=["镇海区"])
    at = app_on_page(monkeypatch, proj, tmp_path / "home", "draw_page")
    assert at.title[0].value == "绘制片区与轴线"
    args = _map_args(at)
    assert args["returned_objects"] == ["center", "zoom"]  # no drawings out of edit mode
    assert "L.Control.Draw" not in args["script"]
    at.toggle(key="draw_edit").set_value(True).run()
    assert not at.exception, at.exception
    args = _map_args(at)
    assert args["returned_objects"] == ["center", "zoom", "all_drawings"]
    assert "L.Control.Draw" in args["script"]
    assert any("vendor/leaflet.draw.js" in link for link in args["js_links"])
    assert at.button(key="draw_save").disabled  # nothing drawn yet
    at.radio(key="draw_kind").set_value("corridor_axes").run()
    assert '"polyline": {' in _map_args(at)["script"]


def test_the_demo_project_cannot_be_drawn_on(tmp_path, monkeypatch):
    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("INNOMAP_PROJECT", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("ui/pages/draw_page.py").run()
    assert not at.exception, at.exception
    assert any("另存为" in i.value for i in at.info)
    assert not at.get("component_instance")
