"""AppTest of the import page and the project panel: the planner's own files, kept in the project."""

import os

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from layers.crs import wgs84_to_bd09, wgs84_to_gcj02
from layers.project import create_project, open_project
from tests.conftest import ROOT, app_on_page


@pytest.fixture(scope="module")
def lyg_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "lyg.gpkg"
    create_project(path, name="连云港测试", city="连云港市", counties=["海州区"])
    return path


@pytest.fixture()
def app(tmp_path, lyg_template, monkeypatch):
    """The app opened on a fresh 连云港 project, with its own INNOMAP_HOME."""
    proj = tmp_path / "p.gpkg"
    proj.write_bytes(lyg_template.read_bytes())
    return app_on_page(monkeypatch, proj, tmp_path / "home", "import_page"), proj


def test_import_page_adds_into_the_project(app, tmp_path):
    at, proj = app
    lon, lat = wgs84_to_gcj02([119.17, 119.18, 119.19], [34.60, 34.61, 34.59])
    df = pd.DataFrame(
        {
            "名称": ["甲孵化器", "乙众创空间", ""],
            "类型": ["国家级孵化器", "众创空间", "孵化器"],
            "gcj_lng": lon,
            "gcj_lat": lat,
        }
    )
    p = tmp_path / "amap_export.csv"
    df.to_csv(p, index=False, encoding="gbk")
    before = set(os.listdir(os.environ.get("TMPDIR", "/tmp")))
    at.session_state["imp_path"] = str(p)
    at.run()
    at.selectbox(key="imp_kind").set_value("incubators").run()
    assert not at.exception, at.exception
    info = at.info[0].value
    assert "GBK" in info and "GCJ-02" in info
    assert [m.value for m in at.metric][:3] == ["3", "2", "1"]
    assert any("1 个错误" in e.value for e in at.error)
    at.button(key="imp_add").click().run()
    assert not at.exception, at.exception
    assert any(r"amap\_export" in s.value for s in at.success)  # the name as text (md_text)
    kept = open_project(proj).layers["amap_export"]  # on disk: a reload or restart keeps it
    assert kept.rows == 2 and kept.source_file == "amap_export.csv" and kept.crs_in == "GCJ-02"
    assert len(kept.rejected) == 1
    leftovers = {
        f
        for f in set(os.listdir(os.environ.get("TMPDIR", "/tmp"))) - before
        if f.startswith("innomap-upload")
    }
    assert not leftovers  # the upload copy is gone when the import ends
    at.switch_page("ui/pages/map_page.py").run()
    assert not at.exception, at.exception
    at.switch_page("ui/pages/import_page.py").run()
    at.button(key="imp_rm_amap_export").click().run()
    at.button(key="imp_rm_confirm").click().run()
    assert not at.exception, at.exception
    assert "amap_export" not in open_project(proj).layers


def test_import_asks_for_the_crs_of_unstated_degrees(app, tmp_path):
    at, proj = app
    blon, blat = wgs84_to_bd09([119.17, 119.18], [34.60, 34.61])
    p = tmp_path / "名单.csv"
    pd.DataFrame({"name": ["甲", "乙"], "lon": blon, "lat": blat}).to_csv(p, index=False)
    at.session_state["imp_path"] = str(p)
    at.run()
    at.selectbox(key="imp_kind").set_value("enterprises").run()
    assert any("500–1,300" in w.value for w in at.warning)
    assert "imp_add" not in [b.key for b in at.button]  # nothing can be added before the answer
    at.radio(key="imp_crs_ask").set_value("BD-09").run()
    assert not at.exception, at.exception
    at.button(key="imp_add").click().run()
    g = open_project(proj).layers["名单"].gdf
    assert abs(g.geometry.x.iloc[0] - 119.17) < 1e-5 and abs(g.geometry.y.iloc[0] - 34.60) < 1e-5
    assert open_project(proj).layers["名单"].crs_in == "BD-09"


def test_the_likely_kind_is_preselected_and_a_choice_sticks(app, tmp_path):
    """An enterprise list (its credit-code header, its name) opens as 科技企业, not as the
    first kind with every row rejected; the planner's own choice is kept on reruns."""
    at, _ = app
    p = tmp_path / "企业名录.csv"
    p.write_text(
        "统一社会信用代码,企业名称,经度,纬度\n91320700MA1,甲公司,119.17,34.60\n", encoding="utf-8"
    )
    at.session_state["imp_path"] = str(p)
    at.run()
    assert at.selectbox(key="imp_kind").value == "enterprises"
    assert [m.value for m in at.metric][:3] == ["1", "1", "0"]
    at.selectbox(key="imp_kind").set_value("platforms").run()
    at.run()
    assert at.selectbox(key="imp_kind").value == "platforms"


def test_guess_kind_from_names_and_headers():
    from layers.registry import guess_kind

    assert guess_kind("企业名单.csv", ["统一社会信用代码", "经度", "纬度"]) == "enterprises"
    assert guess_kind("list.csv", ["孵化器名称", "lon", "lat"]) == "incubators"
    assert guess_kind("宁波高校.xlsx") == "universities"
    assert (
        guess_kind("data.csv", ["name", "lon", "lat"]) is None
    )  # nothing to go by: the user picks


def test_demo_is_read_only_on_the_import_page(tmp_path, monkeypatch):
    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("INNOMAP_PROJECT", raising=False)
    p = tmp_path / "x.csv"
    p.write_text("name,lon,lat\n甲,121.6,29.9\n", encoding="utf-8")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("ui/pages/import_page.py").run()
    at.session_state["imp_path"] = str(p)
    at.run()
    assert any("只读" in i.value for i in at.info)
    assert "imp_add" not in [b.key for b in at.button]


def test_unreadable_file_keeps_project(app, tmp_path):
    at, proj = app
    p = tmp_path / "bad.gpkg"
    p.write_bytes(b"not a geopackage")
    at.session_state["imp_path"] = str(p)
    at.run()
    assert any("bad.gpkg" in e.value and "GeoPackage" in e.value for e in at.error)
    assert not at.exception
    assert set(open_project(proj).layers) == {"行政区"}


def test_project_panel_create_open_and_save_as(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("INNOMAP_HOME", str(home))
    monkeypatch.delenv("INNOMAP_PROJECT", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    assert any("宁波示例项目" in m.value for m in at.sidebar.markdown)
    at.sidebar.text_input(key="prj_new_name").input("连云港科创").run()
    at.sidebar.text_input(key="prj_new_city").input("连云港").run()
    at.sidebar.text_input(key="prj_new_counties").input("海州区,连云区").run()
    at.sidebar.button(key="prj_new").click().run()
    assert not at.exception, at.exception
    assert any("连云港科创" in m.value for m in at.sidebar.markdown)
    path = home / "projects" / "连云港科创.gpkg"
    assert open_project(path).district_names() == ["海州区", "连云区"]
    assert any("EPSG:32650" in c.value for c in at.sidebar.caption)
    # a wrong city shows the candidates, nothing is created
    at.sidebar.text_input(key="prj_new_name").input("x").run()
    at.sidebar.text_input(key="prj_new_city").input("鼓楼").run()
    at.sidebar.button(key="prj_new").click().run()
    assert any("南京市" in e.value for e in at.sidebar.error)
    # back to the demo, save it as an editable copy
    at.sidebar.selectbox(key="prj_recent").set_value("demo").run()  # opens when chosen
    assert at.session_state["project_ref"] == "demo"
    assert at.sidebar.selectbox(key="prj_recent").value == ""  # the list is ready again
    at.sidebar.text_input(key="prj_saveas_path").input(str(tmp_path / "nb.gpkg")).run()
    at.sidebar.button(key="prj_saveas").click().run()
    assert not at.exception, at.exception
    assert not open_project(tmp_path / "nb.gpkg").read_only
    assert str(tmp_path / "nb.gpkg") in at.sidebar.selectbox(key="prj_recent").options


def test_preview_map_is_built_once_per_file_and_options(app, tmp_path, monkeypatch):
    """The preview goes through ``ui.mapview.show_map``: built and serialised once per kept
    report, not on every rerun, and still drawn on every run."""
    import render.webmap
    import ui.mapview

    at, _ = app
    built, serialised = [], []
    real, real_payload = render.webmap.build_map, ui.mapview.folium_payload
    monkeypatch.setattr(
        render.webmap, "build_map", lambda *a, **k: built.append(1) or real(*a, **k)
    )
    monkeypatch.setattr(
        ui.mapview, "folium_payload", lambda m: serialised.append(1) or real_payload(m)
    )
    p = tmp_path / "孵化器名单.csv"
    pd.DataFrame({"名称": ["甲", "乙"], "lon": [119.17, 119.18], "lat": [34.60, 34.61]}).to_csv(
        p, index=False
    )
    at.session_state["imp_path"] = str(p)
    at.run()
    at.selectbox(key="imp_kind").set_value("incubators").run()
    n, s = len(built), len(serialised)
    assert n >= 1 and s >= 1
    for _ in range(3):  # reruns with the same file and options (e.g. the CRS answer): no new map
        at.run()
    assert not at.exception, at.exception
    assert (len(built), len(serialised)) == (n, s)
    assert at.main.get("component_instance")  # still drawn on every run
    at.selectbox(key="imp_kind").set_value("platforms").run()  # other options: a new preview
    assert (len(built), len(serialised)) == (n + 1, s + 1)
    at.run()
    assert (len(built), len(serialised)) == (n + 1, s + 1)
