"""AppTest of the clusters and hot spots page."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def _page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("ui/pages/clusters_page.py").run()
    assert not at.exception, at.exception
    return at


def test_clusters_page_dbscan_hdbscan_hotspots_stats():
    at = _page()
    assert at.title[0].value == "集聚与热点分析"
    ann = at.dataframe[0].value
    assert "R" in ann.columns and (ann["R"] < 1).any()
    at.button(key="cl_run").click().run()
    assert not at.exception, at.exception
    assert any("DBSCAN 邻域半径 300 米" in s.value for s in at.success)
    at.button(key="cl_export").click().run()
    assert not at.exception, at.exception
    assert at.session_state["cl_pack"][:2] == b"PK"
    at.radio(key="cl_method").set_value("hdbscan").run()
    at.button(key="cl_run").click().run()
    assert not at.exception, at.exception
    assert any("HDBSCAN" in s.value for s in at.success)
    at.number_input(key="hs_perm").set_value(99).run()
    at.button(key="hs_run").click().run()
    assert not at.exception, at.exception
    # the label is shown as text: Markdown source "Gi\*" renders as "Gi*"
    assert any("Gi\\*" in s.value for s in at.success)
    at.button(key="hs_export").click().run()
    assert not at.exception, at.exception
    assert at.session_state["hs_pack"][:2] == b"PK"
    at.button(key="rl_run").click().run()
    assert not at.exception, at.exception
    at.button(key="clq_run").click().run()
    assert not at.exception, at.exception


def test_clusters_page_zone_study_area():
    at = _page()
    at.selectbox(key="cl_zone").set_value("中官路创业创新大街").run()
    assert not at.exception, at.exception
    at.button(key="cl_run").click().run()
    assert not at.exception, at.exception


def test_point_statistics_are_computed_once_per_project_state(monkeypatch):
    """Reruns (a click elsewhere on the page) reuse the nearest-neighbour statistics."""
    from workflows import pointstats

    calls = []
    real = pointstats.run

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pointstats, "run", counted)
    at = _page()
    at.button(key="cl_run").click().run()
    at.run()
    assert not at.exception, at.exception
    assert len(calls) == 1
    assert "R" in at.dataframe[0].value.columns
