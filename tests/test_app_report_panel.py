"""AppTest of the export page's report panel (issue 27): the report's runs and sections
chosen and ordered in the app, and what to install when LibreOffice is missing."""

from __future__ import annotations

import io

import docx
import pytest
from streamlit.testing.v1 import AppTest

from layers.project import open_project, save_run
from tests.conftest import ROOT
from tests.tiny_project import make_project
from workflows import clusters


@pytest.fixture(scope="module")
def project_ref(tmp_path_factory):
    p = make_project(tmp_path_factory.mktemp("report_panel"))
    rep = clusters.run(
        p, clusters.ClustersRequest(layers=("enterprises",), eps_m=200, min_samples=2)
    )
    save_run(p, analysis=rep.analysis, title="测试聚类", request=rep.request, summary=rep.summary)
    return open_project(p.ref).ref


def _export_page(monkeypatch, ref) -> AppTest:
    monkeypatch.setenv("INNOMAP_PROJECT", ref)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.run()
    at.switch_page("ui/pages/export_page.py").run()
    assert not at.exception, at.exception
    return at


def test_sections_chosen_and_ordered_in_the_app(monkeypatch, project_ref):
    at = _export_page(monkeypatch, project_ref)
    sections = at.multiselect(key="ex_report_sections")
    assert sections.value == ["title", "method", "results", "sources", "notes", "maps", "data"]
    assert "方法与参数" in sections.options  # shown by their Chinese names
    sections.set_value(["title", "results", "method"]).run()
    at.button(key="ex_report_btn").click().run()
    assert not at.exception, at.exception
    fmt, data = at.session_state["ex_report_file"]
    assert fmt == "docx"
    doc = docx.Document(io.BytesIO(data))
    h2 = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert h2 == ["1.1 主要结果", "1.2 方法与参数"]
    h1 = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert h1 == ["1 创新资源密度聚类: 测试聚类"]  # no 项目数据 chapter: not chosen


def test_pdf_without_libreoffice_says_what_to_install(monkeypatch, project_ref):
    import export.report_docx as report_docx

    monkeypatch.setattr(report_docx.shutil, "which", lambda name: None)
    at = _export_page(monkeypatch, project_ref)
    at.radio(key="ex_report_fmt").set_value("pdf").run()
    assert not at.exception, at.exception
    text = " ".join(w.value for w in at.warning)
    assert "LibreOffice" in text and "apt-get install libreoffice-writer-nogui" in text
    assert "ex_report_btn" not in [b.key for b in at.button]  # no build that would fail
