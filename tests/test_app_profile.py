"""AppTest of the corridor profile page (demo project) and its Word report button."""

from docx import Document
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def test_profile_page_chart_table_and_word_report():
    import io

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("ui/pages/profile_page.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "走廊剖面"
    at.multiselect(key="pf_service").set_value(["science_venues"]).run()
    at.button(key="pf_run").click().run()
    assert not at.exception, at.exception
    report = at.session_state["pf_report"]
    s = report.summary
    assert any(f"{s['n_bins']} 段" in x.value for x in at.success)
    assert any("模拟数据" in w.value for w in at.warning)  # the demo's enterprises are synthetic
    table = at.dataframe[0].value
    assert len(table) == s["n_bins"] and {"起点 (米)", "覆盖率", "科技企业"} <= set(table.columns)
    assert table["合计"].sum() == s["points_in_band"]
    at.button(key="pf_docx_button").click().run()
    assert not at.exception, at.exception
    data = at.session_state["pf_docx"][1]
    doc = Document(io.BytesIO(data))
    heads = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert heads[0].startswith("1 科创走廊剖面分析") and len(doc.inline_shapes) == 2
