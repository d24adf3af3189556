"""The export page's Word/PDF report: saved runs and the report's sections, chosen and
ordered (as ``cli.py report --runs … --sections …``), and what to install for PDF."""

from __future__ import annotations

import streamlit as st

from export.report_docx import DEFAULT_SECTIONS, REPORT_SECTIONS, REPORT_SECTIONS_EN, libreoffice
from layers.errors import InnoMapError
from layers.project import Project
from ui.common import guarded, md_text
from ui.i18n import T, lang, t
from ui.progress import ProgressBar
from workflows import analyses
from workflows.report import MAX_RUNS, ReportRequest, build

__all__ = ["report_panel"]

MIME = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


def _section_name(key: str) -> str:
    return REPORT_SECTIONS[key] if lang() == "zh" else REPORT_SECTIONS_EN[key]


def _run_label(project: Project, run_id: str) -> str:
    run = project.run(run_id)
    a = analyses.get(run.analysis)
    kind = a.title_zh if lang() == "zh" else a.title_en
    return f"{run.title or run.id} · {kind}"


def libreoffice_missing() -> str | None:
    """The message saying what to install for PDF reports, or None when LibreOffice is there."""
    try:
        libreoffice()
    except InnoMapError as exc:
        return str(exc)
    return None


def report_panel(project: Project) -> None:
    """Runs and sections of a report (checklists kept in the order chosen), the format,
    and the report to download."""
    st.subheader(T("分析报告 (Word / PDF)", "Analysis report (Word / PDF)"))
    ids = [r.id for r in project.runs]
    if not ids:
        st.info(
            T(
                "项目中还没有保存的分析: 在分析页保存后即可生成报告。",
                "The project has no saved runs yet: save a run on an analysis page to report it.",
            )
        )
        return
    runs = st.multiselect(
        T("报告中的分析 (按选择顺序)", "Runs in the report (in the order chosen)"),
        ids,
        default=ids[:MAX_RUNS],
        format_func=lambda i: _run_label(project, i),
        key="ex_report_runs",
        placeholder=t("choose"),
    )
    sections = st.multiselect(
        T("章节 (勾选并按选择顺序排列)", "Sections (ticked, in the order chosen)"),
        list(REPORT_SECTIONS),
        default=list(DEFAULT_SECTIONS),
        format_func=_section_name,
        key="ex_report_sections",
        placeholder=t("choose"),
    )
    fmt = st.radio(
        T("报告格式", "Report format"), ["docx", "pdf"], horizontal=True, key="ex_report_fmt"
    )
    missing = libreoffice_missing() if fmt == "pdf" else None
    if missing:
        st.warning(md_text(missing))
        return
    if not runs or not sections:
        st.info(T("请至少选择一项分析和一个章节。", "Choose at least one run and one section."))
        return
    if st.button(T("生成报告", "Build the report"), key="ex_report_btn"):
        _build(project, runs, sections, fmt)
    made = st.session_state.get("ex_report_file")
    if made and made[0] == fmt:
        st.download_button(
            T(f"下载报告 (.{fmt})", f"Download the report (.{fmt})"),
            made[1],
            file_name=f"innomap_report.{fmt}",
            mime=MIME[fmt],
            key="ex_report_dl",
        )


def _build(project: Project, runs: list[str], sections: list[str], fmt: str) -> None:
    req = guarded(ReportRequest, runs=tuple(runs), sections=tuple(sections), format=fmt)
    if req is None:
        return
    with ProgressBar(
        T("正在生成报告", "Building the report"), key="ex_report_progress", unit=T("步", "steps")
    ) as bar:
        out = guarded(bar.run, lambda progress: build(project, req, on_progress=progress))
    if out is not None:
        st.session_state["ex_report_file"] = (fmt, out[0])
