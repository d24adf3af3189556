"""AppTest of the siting page: solve, proof tables, what-if scenarios."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def _page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("ui/pages/siting_page.py").run()
    assert not at.exception, at.exception
    return at


def test_siting_page_solves_and_proves():
    at = _page()
    assert at.title[0].value == "孵化器选址"
    at.selectbox(key="site_zone").set_value("中官路创业创新大街").run()
    at.number_input(key="site_k").set_value(3).run()
    at.button(key="site_run").click().run()
    assert not at.exception, at.exception
    msg = next(s.value for s in at.success if "MCLP" in s.value)
    assert ("→" in msg and "gap" in msg.lower()) or "差距" in msg
    table = at.dataframe[0].value
    assert table["rank"].tolist() == [1, 2, 3]
    assert table["method"].str.contains("直线").all()
    at.button(key="site_export").click().run()
    assert not at.exception, at.exception
    assert at.session_state["site_pack"][:2] == b"PK"
    at.selectbox(key="site_model").set_value("lscp").run()
    at.number_input(key="site_target").set_value(0.3).run()
    at.button(key="site_run").click().run()
    assert not at.exception, at.exception


def test_what_if_add_remove_move_and_compare():
    at = _page()
    at.sidebar.radio(key="site_view").set_value("whatif").run()  # the what-if view
    assert not at.exception, at.exception
    share0 = at.metric[0].value
    n0 = int(at.metric[1].value)  # the real existing incubators (synthetic ones left out)
    at.radio(key="whatif_action").set_value("add").run()
    at.number_input(key="whatif_lon").set_value(121.70).run()
    at.number_input(key="whatif_lat").set_value(29.94).run()
    at.button(key="whatif_apply").click().run()
    assert not at.exception, at.exception
    assert at.metric[1].value == str(n0 + 1)
    share1 = at.metric[0].value
    assert float(share1.rstrip("%")) >= float(share0.rstrip("%"))
    at.button(key="whatif_save").click().run()
    at.radio(key="whatif_action").set_value("remove").run()
    at.button(key="whatif_apply").click().run()
    assert at.metric[1].value == str(n0)
    at.radio(key="whatif_action").set_value("move").run()
    at.button(key="whatif_apply").click().run()
    assert any("新位置" in i.value for i in at.info)
    at.number_input(key="whatif_lon").set_value(121.60).run()
    at.button(key="whatif_apply").click().run()
    assert not at.exception, at.exception
    at.text_input(key="whatif_name").input("移动后").run()
    at.button(key="whatif_save").click().run()
    comp = at.dataframe[-1].value
    assert len(comp) == 2 and "share" in comp.columns
    at.radio(key="whatif_action").set_value("candidate").run()
    at.button(key="whatif_apply").click().run()
    at.radio(key="site_src").set_value("clicked").run()
    at.button(key="site_run").click().run()
    assert not at.exception, at.exception


def test_siting_uses_the_network_loaded_on_the_coverage_page(tmp_path):
    from tests.fixtures_net import write_osm_xml

    osm = write_osm_xml(tmp_path / "zh.osm", lon0=121.600, lat0=29.900, n=12, step_deg=0.006)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("ui/pages/coverage_page.py").run()
    at.session_state["cov_osm_path"] = str(osm)
    at.run()
    assert "network_graph" in at.session_state
    at.switch_page("ui/pages/siting_page.py").run()
    at.radio(key="site_method").set_value("network").run()
    at.selectbox(key="site_zone").set_value("中官路创业创新大街").run()
    at.number_input(key="site_k").set_value(2).run()
    at.button(key="site_run").click().run()
    assert not at.exception, at.exception
    assert any("MCLP" in s.value for s in at.success)
    assert at.dataframe[0].value["method"].str.contains("路网法").all()
