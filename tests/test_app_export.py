"""AppTest of the export page."""

import io
import zipfile

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def test_export_page_preview_downloads_and_pack(monkeypatch):
    import export.maps

    built = []  # the interactive HTML map: built when its button is pressed, not on a view
    monkeypatch.setattr(export.maps, "export_html", lambda *a, **k: built.append(a) or b"")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.run()
    at.switch_page("ui/pages/export_page.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value.startswith("导出")
    assert len(at.get("image")) == 1
    assert built == [] and "ex_dl_html" not in [b.key for b in at.get("download_button")]
    at.button(key="ex_html_btn").click().run()
    assert not at.exception, at.exception
    assert len(built) == 1 and "ex_dl_html" in [b.key for b in at.get("download_button")]
    at.radio(key="ex_fmt").set_value("pdf").run()
    at.button(key="ex_render").click().run()
    assert not at.exception, at.exception
    at.button(key="ex_layers_btn").click().run()
    at.button(key="ex_tables_btn").click().run()
    assert not at.exception, at.exception
    at.selectbox(key="ex_zone").set_value("中官路创业创新大街").run()
    at.button(key="ex_pack").click().run()
    assert not at.exception, at.exception
    data = at.session_state["ex_pack_file"]
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert {"map.png", "map.pdf", "layers.gpkg", "tables.xlsx", "tables.csv", "README.md"} <= set(
        names
    )
    assert at.session_state["ex_map"][1][:4] == b"%PDF"


def test_export_page_offline_basemap_error_is_clear():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.run()
    at.switch_page("ui/pages/export_page.py").run()
    at.selectbox(key="ex_bm").set_value("custom").run()
    at.text_input(key="ex_tile_url").input("http://127.0.0.1:9/{z}/{x}/{y}.png").run()
    assert not at.exception, at.exception
    assert any("could not be fetched" in e.value for e in at.error)


def test_map_and_export_pages_work_on_a_project_of_another_city(tmp_path, monkeypatch):
    """连云港 project: options, title and frames come from the project, nothing from Ningbo."""
    import geopandas as gpd
    import numpy as np

    from layers.project import ProjectLayer, add_layer, create_project

    project = create_project(tmp_path / "p.gpkg", name="t", city="连云港市", counties=["海州区"])
    rng = np.random.default_rng(3)
    inc = gpd.GeoDataFrame(
        {
            "id": [f"I{i}" for i in range(12)],
            "name": [f"孵化器{i}" for i in range(12)],
            "subtype": "孵化器",
            "source": "test",
        },
        geometry=gpd.points_from_xy(
            119.17 + rng.normal(0, 0.01, 12), 34.58 + rng.normal(0, 0.01, 12)
        ),
        crs=4326,
    )
    add_layer(
        project,
        ProjectLayer(name="孵化器名单", kind="incubators", gdf=inc, source_file="孵化器名单.xlsx"),
    )
    monkeypatch.setenv("INNOMAP_PROJECT", project.ref)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.run()
    assert not at.exception, at.exception
    assert at.multiselect(key="district_sel").options == ["海州区"]
    assert {m.label: m.value for m in at.metric} == {"孵化器名单 (孵化器/众创空间)": "12 / 12"}
    at.switch_page("ui/pages/export_page.py").run()
    assert not at.exception, at.exception
    assert at.text_input(key="ex_title").value == "连云港市创新资源分布图"
    assert at.multiselect(key="ex_layers").value == ["incubators"]
    assert len(at.get("image")) == 1
    at.button(key="ex_layers_btn").click().run()
    assert not at.exception, at.exception
    out = tmp_path / "layers.gpkg"
    out.write_bytes(at.session_state["ex_layer_file"][1])
    assert len(gpd.read_file(out)) == 12
