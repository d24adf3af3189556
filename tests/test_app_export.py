"""AppTest of the export page."""

import io
import zipfile

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def test_export_page_preview_downloads_and_pack():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.run()
    at.switch_page("ui/pages/export_page.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value.startswith("导出")
    assert len(at.get("image")) == 1
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
