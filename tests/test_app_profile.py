"""AppTest of the corridor profile page (demo project) and of the Word report button."""

import io
import json

from docx import Document
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def test_profile_page_chart_and_table():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("ui/pages/profile_page.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "走廊剖面"
    at.multiselect(key="pf_service").set_value(["science_venues"]).run()
    at.button(key="pf_run").click().run()
    assert not at.exception, at.exception
    s = at.session_state["pf_report"].summary
    assert any(f"{s['n_bins']} 段" in x.value for x in at.success)
    assert any("模拟数据" in w.value for w in at.warning)  # the demo's enterprises are synthetic
    table = at.dataframe[0].value
    shown = json.loads(at.dataframe[0].proto.columns)  # headers shown (Chinese, with units)
    assert {"起点 (米)", "覆盖率 (%)", "科技企业"} <= {c.get("label") for c in shown.values()}
    assert len(table) == s["n_bins"] and table["total"].sum() == s["points_in_band"]
    assert len(at.image) == 1 and at.button(key="pf_docx_button") is not None


def _report_page(folder: str):
    import pathlib

    import streamlit as st

    from tests.tiny_project import make_project
    from ui.common import report_button
    from workflows import clusters

    if "rep" not in st.session_state:  # a page keeps its report between reruns
        p = make_project(pathlib.Path(folder))
        req = clusters.ClustersRequest(layers=("enterprises",), eps_m=200, min_samples=2)
        st.session_state["proj"] = p
        st.session_state["rep"] = clusters.run(p, req)
    report_button(st.session_state["proj"], st.session_state["rep"], key="t", title="聚类")


def test_report_button_builds_a_word_file(tmp_path):
    at = AppTest.from_function(_report_page, kwargs={"folder": str(tmp_path)}, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert at.button(key="t_docx_button").label == "生成 Word 报告"
    at.button(key="t_docx_button").click().run()
    assert not at.exception, at.exception
    doc = Document(io.BytesIO(at.session_state["t_docx"][1]))
    heads = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert heads == ["1 创新资源密度聚类: 聚类", "2 项目数据"] and len(doc.inline_shapes) == 1
