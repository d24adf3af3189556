"""AppTest of the coverage page."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def _page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("ui/pages/coverage_page.py").run()
    assert not at.exception, at.exception
    return at


def test_coverage_page_straight_line_run_and_label():
    at = _page()
    assert at.title[0].value == "15分钟科普/科技服务圈"
    at.button(key="cov_run").click().run()
    assert not at.exception, at.exception
    assert any("直线距离近似法" in s.value for s in at.success)
    assert any("直线距离近似" in w.value for w in at.warning)
    summary = at.dataframe[0].value
    assert list(summary["minutes"]) == [5.0, 10.0, 15.0]
    assert summary["share"].is_monotonic_increasing
    assert summary["method"].str.contains("直线").all()
    at.button(key="cov_export").click().run()
    assert not at.exception, at.exception
    import io
    import zipfile

    zf = zipfile.ZipFile(io.BytesIO(at.session_state["cov_pack"]))
    names = zf.namelist()
    assert {"map.png", "map.pdf", "layers.gpkg", "tables.xlsx", "README.md"} <= set(names)
    # the pack's tables are for people: Chinese headers with units, field names kept
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(zf.read("tables.xlsx")))
    assert "字段说明 fields" in wb.sheetnames
    assert "覆盖率 (%)" in [c.value for c in wb["results"][1]]
    csv_rows = zf.read("tables.csv").decode("utf-8-sig").splitlines()
    assert "覆盖率 (%)" in csv_rows[0] and "share" in csv_rows[1].split(",")


def test_coverage_page_gb_preset_and_sensitivity():
    at = _page()
    at.button(key="cov_gb").click().run()  # GB 50180 preset (sidebar)
    assert not at.exception
    assert any("300 m" in i.value for i in at.info)
    at.button(key="cov_run").click().run()
    summary = at.dataframe[0].value
    assert list(summary["minutes"]) == [4.5, 7.5, 15.0]
    at.button(key="cov_sens").click().run()
    assert not at.exception, at.exception
    sens = at.dataframe[-1].value
    assert {"speed_kmh", "minutes", "share"} <= set(sens.columns)


def test_coverage_page_bad_minutes_keeps_result():
    at = _page()
    at.button(key="cov_run").click().run()
    n_before = len(at.dataframe)
    next(w for w in at.text_input if "时间阈值" in w.label).input("abc").run()
    assert any("abc" in e.value for e in at.error)
    assert "coverage_result" in at.session_state
    assert n_before > 0


def test_coverage_page_network_method_reports_unsnapped(tmp_path):
    from tests.fixtures_net import write_osm_xml

    osm = write_osm_xml(tmp_path / "zh.osm", lon0=121.630, lat0=29.920, n=6, step_deg=0.002)
    at = _page()
    at.session_state["cov_osm_path"] = str(osm)
    at.run()
    assert not at.exception, at.exception
    at.radio(key="cov_method").set_value("network").run()
    at.button(key="cov_run").click().run()
    assert not at.exception, at.exception
    assert any("路网法" in s.value for s in at.success)
    assert any("超出最大接入距离" in w.value for w in at.warning)
    summary = at.dataframe[0].value
    assert summary["method"].str.contains("路网法").all()
    assert 0 < summary["covered"].iloc[-1] < summary["demand_total"].iloc[-1]
