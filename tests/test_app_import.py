"""AppTest of the import page: guess, errors, add to the project, remove."""

import pandas as pd
from streamlit.testing.v1 import AppTest

from layers.crs import wgs84_to_gcj02
from tests.conftest import ROOT


def test_import_page_flow(tmp_path):
    lon, lat = wgs84_to_gcj02([121.62, 121.63, 121.64], [29.92, 29.93, 29.94])
    df = pd.DataFrame(
        {
            "名称": ["甲孵化器", "乙众创空间", ""],
            "类型": ["国家级孵化器", "众创空间", "孵化器"],
            "高德经度": lon,
            "高德纬度": lat,
        }
    )
    df = df.rename(columns={"高德经度": "gcj_lng", "高德纬度": "gcj_lat"})
    p = tmp_path / "amap_export.csv"
    df.to_csv(p, index=False, encoding="gbk")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("ui/pages/import_page.py").run()
    assert not at.exception, at.exception
    at.session_state["imp_path"] = str(p)
    at.run()
    at.selectbox(key="imp_kind").set_value("incubators").run()
    assert not at.exception, at.exception
    info = at.info[0].value
    assert "GBK" in info and "GCJ-02" in info
    assert [m.value for m in at.metric] == ["3", "2", "1"]
    assert any("1 个错误" in e.value for e in at.error)
    at.button(key="imp_add").click().run()
    assert not at.exception, at.exception
    assert any("user:1" in s.value for s in at.success)
    at.switch_page("ui/pages/map_page.py").run()
    assert any("amap_export.csv" in m.label for m in at.metric)
    at.switch_page("ui/pages/import_page.py").run()
    at.button(key="imp_rm_user:1").click().run()
    assert not at.exception, at.exception
    at.switch_page("ui/pages/map_page.py").run()
    assert not any("amap_export.csv" in m.label for m in at.metric)


def test_import_page_unreadable_file_keeps_project(tmp_path):
    p = tmp_path / "bad.gpkg"
    p.write_bytes(b"not a geopackage")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("ui/pages/import_page.py").run()
    at.session_state["imp_path"] = str(p)
    at.run()
    assert any("bad.gpkg" in e.value and "GeoPackage" in e.value for e in at.error)
    at.switch_page("ui/pages/map_page.py").run()
    assert {m.label: m.value for m in at.metric}["高校院所"] == "13 / 13"
