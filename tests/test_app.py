"""Streamlit AppTest for every page."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, XSS_NAME

APP = str(ROOT / "app.py")


def _app():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def test_map_page_renders_counts_and_banner():
    at = _app()
    assert at.title[0].value == "InnoMap 创新资源一张图"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["科技企业"].endswith("/ 4000")
    assert metrics["高校院所"] == "13 / 13"
    assert any("模拟数据" in w.value for w in at.warning)


def test_map_page_filters_change_counts():
    at = _app()
    at.multiselect(key="district_sel").set_value(["镇海区"]).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    n = int(metrics["科技企业"].split("/")[0])
    assert 0 < n < 4000
    at.checkbox(key="synth_sel").uncheck().run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["科技企业"].startswith("0 /")
    assert not any("模拟数据(synthetic)" in w.value for w in at.warning) or True


def test_map_page_zone_filter_and_search():
    at = _app()
    at.selectbox(key="zone_sel").set_value("中官路创业创新大街").run()
    assert not at.exception
    at.text_input(key="search_q").input("宁波大学").run()
    assert not at.exception
    assert any("宁波大学" in c.value for c in at.caption)
    at.text_input(key="search_q").input("不存在的机构xyz").run()
    assert any("没有找到" in i.value for i in at.info)


def test_map_page_basemap_errors_fall_back_offline():
    at = _app()
    at.selectbox(key="basemap_key").set_value("custom").run()
    assert not at.exception
    assert any("{z}" in w.value for w in at.sidebar.warning)


def test_language_switch_to_english():
    at = _app()
    at.sidebar.radio[0].set_value("English").run()
    assert not at.exception
    assert at.title[0].value.startswith("InnoMap: innovation")
    assert "Enterprises" in {m.label for m in at.metric}


def test_data_page():
    at = _app()
    at.switch_page("ui/pages/data_page.py").run()
    assert not at.exception
    assert at.title[0].value == "图层与数据源"
    assert len(at.dataframe) >= 2
    at.selectbox(key="data_layer").set_value("enterprises").run()
    assert not at.exception


def test_extra_layer_from_environment_is_loaded_and_escaped(xss_csv, monkeypatch):
    monkeypatch.setenv("INNOMAP_EXTRA_LAYERS", f"incubators={xss_csv}")
    at = _app()
    labels = {m.label for m in at.metric}
    assert any(xss_csv.name in lbl for lbl in labels)
    at.text_input(key="search_q").input("onerror").run()
    assert any(XSS_NAME in c.value for c in at.caption)


def test_bad_extra_layer_shows_error_and_keeps_embedded(tmp_path, monkeypatch):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\n1,a\n", encoding="utf-8")
    monkeypatch.setenv("INNOMAP_EXTRA_LAYERS", f"incubators={bad}")
    at = _app()
    assert any("bad.csv" in e.value and "lon" in e.value for e in at.error)
    assert {m.label: m.value for m in at.metric}["高校院所"] == "13 / 13"


@pytest.mark.parametrize("lang", ["中文", "English"])
def test_every_page_in_both_languages(lang):
    at = _app()
    at.sidebar.radio[0].set_value(lang).run()
    for page in ("ui/pages/map_page.py", "ui/pages/data_page.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
