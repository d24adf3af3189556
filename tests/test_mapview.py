"""The page map (``ui/mapview.py``): built and serialised once per key across reruns, the
component's arguments as ``st_folium`` makes them, drawn in a fragment."""

from __future__ import annotations

import copy

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "app.py")


def _small_map():
    from layers.project import open_project
    from render.input_maps import Role, input_map_layers, layers_bounds
    from render.webmap import build_map

    p = open_project(None)
    layers = input_map_layers(p, [Role("pts", "点", ("universities",))], "zh")
    return build_map(layers, lang="zh", legend_title="图例", fit_bounds=layers_bounds(p, layers))


def test_payload_is_what_st_folium_sends(monkeypatch):
    """The cached arguments equal ``st_folium``'s own for the same map (a pinned library's
    internals: this fails when an upgrade changes them)."""
    import streamlit_folium

    from ui.mapview import folium_payload

    m = _small_map()
    sent = {}
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kw: sent.update(kw))
    streamlit_folium.st_folium(copy.deepcopy(m), key="k")  # every default
    ours = folium_payload(copy.deepcopy(m))
    for k in ("script", "header", "html", "id", "css_links", "js_links"):
        assert ours[k] == sent[k], k
    assert {"bounds": ours["bounds"], "zoom": ours["zoom"]} == {
        k: sent["default"][k] for k in ("bounds", "zoom")
    }
    assert "InnoMap" in ours["script"] and len(ours["script"]) > 1000


def _count(monkeypatch, module, name: str) -> list:
    calls: list = []
    real = getattr(module, name)

    def counted(*a, **kw):
        calls.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_map_page_builds_its_map_once_across_reruns(monkeypatch):
    import ui.map_data
    import ui.mapview

    monkeypatch.setattr(ui.mapview, "_SHARED", [])  # no map of an earlier test
    builds = _count(monkeypatch, ui.map_data, "project_map")
    serialised = _count(monkeypatch, ui.mapview, "folium_payload")
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["guide_seen"] = True
    at.run()
    assert not at.exception, at.exception
    for _ in range(4):  # unchanged inputs: reruns (another widget, the map's report …)
        at.run()
    assert not at.exception, at.exception
    assert (len(builds), len(serialised)) == (1, 1)
    assert at.main.get("component_instance")  # still drawn on every run
    at.checkbox(key="synth_sel").uncheck().run()  # a filter: the map shows other records
    assert (len(builds), len(serialised)) == (2, 2)
    at.run()
    assert (len(builds), len(serialised)) == (2, 2)
    other = AppTest.from_file(APP, default_timeout=180)  # another session, the same layers
    other.session_state["guide_seen"] = True
    other.run()
    assert not other.exception, other.exception
    assert other.main.get("component_instance")
    assert (len(builds), len(serialised)) == (2, 2)  # the map built for the first session


def test_result_map_built_once_per_result(monkeypatch):
    import render.webmap

    builds = _count(monkeypatch, render.webmap, "build_map")
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["guide_seen"] = True
    at.run()
    at.switch_page("ui/pages/coverage_page.py").run()
    at.sidebar.button(key="cov_run").click().run()
    assert not at.exception, at.exception
    after_run = len(builds)
    for _ in range(3):
        at.run()
    assert not at.exception, at.exception
    assert len(builds) == after_run  # the result's map: not built again
    at.sidebar.button(key="cov_run").click().run()  # a new result: a new map, once
    at.run()
    assert len(builds) == after_run + 1


def test_every_map_has_a_metric_scale_bar_only():
    html = _small_map().get_root().render()
    assert "L.control.scale({metric: true, imperial: false})" in html
    assert "L.control.scale()" not in html  # folium's own: miles and feet too
