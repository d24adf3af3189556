"""Streamlit pieces every analysis page shares: errors, saved runs, result packs, banners."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

import streamlit as st

from layers import auth
from layers.errors import InnoMapError
from layers.project import Project, RunRecord
from ui.i18n import T, column_header, field_unit, lang
from ui.state import current_project, refresh_project

__all__ = [
    "T",
    "built_download",
    "guarded",
    "md_text",
    "pack_buttons",
    "reopen_run",
    "report_button",
    "save_run_button",
    "session_memo",
    "synthetic_banner",
]


#: Characters with a meaning anywhere in Streamlit's Markdown (CommonMark + GFM, math ``$``,
#: HTML ``<``, entities ``&``): each is backslash-escaped by :func:`md_text`. (``!`` and
#: ``(`` need a ``[`` to make an image or link, and that is escaped.)
_MD_SPECIAL = frozenset("\\`*_{}[]<>#|~$&")
#: A list item or a thematic break at the start of a line (``- x``, ``+ x``, ``1. x``).
_MD_LINE_START = re.compile(r"^(\s*)([-+=]|\d+[.)])")
#: What makes GFM turn bare text into a link (``http://…``, ``www.…``): its ``:`` or ``.``
#: is escaped too (inside such a link an escape would show as a backslash).
_MD_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(:)(?=//)|(?<=\bwww)(\.)")


def md_text(value: object) -> str:
    """``value`` as literal text inside Markdown (``st.caption``, ``st.markdown``, ``st.info``…).

    Markdown-active characters are backslash-escaped, control characters become spaces and
    line breaks hard breaks, so a name such as ``![x](http://host/p.png)``, ``**b**``,
    ``$x$`` or ``<img …>`` shows as typed and makes the browser fetch nothing. Use
    ``st.text`` where the whole element is a name.
    """
    lines = str(value).splitlines() if value is not None else []
    out = []
    for line in lines:
        text = "".join(
            "\\" + ch if ch in _MD_SPECIAL else ch if ch >= " " or ch == "\t" else " "
            for ch in line
        )
        text = _MD_AUTOLINK.sub(lambda m: "\\" + m.group(), text)
        m = _MD_LINE_START.match(text)
        if m:
            text = f"{m.group(1)}{m.group(2)[:-1]}\\{m.group(2)[-1]}{text[m.end() :]}"
        out.append(text)
    return "  \n".join(out)


def session_memo(name: str, sig, compute: Callable):
    """``compute()`` once per ``sig`` (e.g. the project's reference and version and the
    request), kept in the session under ``name`` (one entry); a rerun with the same
    ``sig`` — another widget changed, the map reported its view — reads it back. A
    ``None`` result (an error shown by :func:`guarded`) is not kept."""
    held = st.session_state.get(f"memo_{name}")
    if held is not None and held[0] == sig:
        return held[1]
    value = compute()
    if value is not None:
        st.session_state[f"memo_{name}"] = (sig, value)
    return value


def built_download(
    *,
    key,
    build: Callable,
    button: str,
    button_key: str,
    label: str,
    file_name: str,
    mime: str,
    download_key: str,
) -> None:
    """A file built by its own button, in the page's run (not on every page view), then
    offered for download while ``key`` (what it was built from) is unchanged. ``build()``
    returning None (an error shown by :func:`guarded`) offers nothing."""
    if st.button(button, key=button_key):
        data = build()
        if data is not None:
            st.session_state[f"{download_key}_built"] = (key, data)
    held = st.session_state.get(f"{download_key}_built")
    if held is not None and held[0] == key:  # the file of the options shown, not older ones
        st.download_button(label, held[1], file_name=file_name, mime=mime, key=download_key)


def guarded(fn: Callable, *args, **kwargs):
    """Call ``fn``; an :class:`InnoMapError` is shown as an error (no traceback) and gives None."""
    try:
        return fn(*args, **kwargs)
    except InnoMapError as exc:
        st.error(md_text(exc))  # messages name files, layers, values: shown as typed
        return None


def synthetic_banner(summary: dict) -> None:
    """A prominent warning when synthetic rows drive the result (and synthetic sites left out)."""
    from workflows.common import share_text

    share = summary.get("synthetic_share") or 0.0
    if share:
        pct = share_text(share)
        st.warning(
            T(
                f"注意: 本结果的输入中 {pct} 为模拟数据, 结果仅用于演示方法, 不能用于规划决策。",
                f"Note: {pct} of this result's input rows are synthetic: it demonstrates the "
                "method only and must not be used for planning decisions.",
            )
        )
    n = summary.get("existing_synthetic_excluded") or summary.get("baseline_synthetic_excluded")
    if n:
        st.warning(
            T(
                f"{n} 个模拟的现有孵化器未计入现状 (如模拟众创空间)。",
                f"{n} synthetic existing incubators (e.g. generated maker spaces) were left out.",
            )
        )
    for w in summary.get("warnings") or []:
        st.warning(md_text(w))


def save_run_button(project: Project, report, *, key: str, title: str) -> None:
    """Save the report as a named run of the project (writable projects only).

    The name (unique in the project; default: the title) is what the CLI's ``--save-run``
    gives: the run is listed, reopened and compared by it (方案对比 page).
    """
    if project.read_only:
        st.caption(
            T(
                "示例项目只读: 另存为项目后可保存分析。",
                "The demo project is read-only: save it as a project to keep runs.",
            )
        )
        return
    if not auth.can("editor"):
        st.caption(
            T(
                "查看者不能保存分析 (需要编辑者角色)。",
                "Viewers cannot save runs (the editor role is needed).",
            )
        )
        return
    from workflows.runs import save_report

    name = st.text_input(T("运行名称", "Run name"), value=title, key=f"{key}_name")
    if st.button(T("保存本次分析", "Save this run"), key=key):
        rec = guarded(save_report, project, report, name=name.strip(), title=title)
        if rec is not None:
            refresh_project()
            st.success(T(f"已保存: {rec.name} ({rec.id})", f"Saved: {rec.name} ({rec.id})"))


def report_button(project: Project, run_or_report, *, key: str, title: str = "") -> None:
    """A Word report of this analysis (a report just computed, or a saved run) to download."""
    if st.button(T("生成 Word 报告", "Word report"), key=f"{key}_docx_button"):
        from workflows.report import ReportRequest, build

        saved = isinstance(run_or_report, RunRecord)
        req = ReportRequest(runs=(run_or_report.id,) if saved else ())
        kw = {} if saved else {"reports": [(run_or_report, title)]}
        from ui.progress import ProgressBar

        with ProgressBar(
            T("正在生成报告", "Building the report"),
            key=f"{key}_docx_progress",
            unit=T("步", "steps"),
        ) as bar:  # one step per section (maps drawn), then the document
            out = guarded(bar.run, lambda progress: build(project, req, on_progress=progress, **kw))
        if out is not None:
            st.session_state[f"{key}_docx"] = (id(run_or_report), out[0])
    made = st.session_state.get(f"{key}_docx")
    if made and made[0] == id(run_or_report):  # not a report of an earlier result
        st.download_button(
            T("下载报告 (.docx)", "Download report (.docx)"),
            made[1],
            file_name=f"innomap_{run_or_report.analysis}.docx",
            mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            key=f"{key}_docx_download",
        )


def reopen_run(project: Project, analysis: str, *, key: str, rerun: Callable) -> None:
    """A picker of the project's saved runs of ``analysis``; a picked run is opened as saved.

    The page shows the opened run from its stored layers and tables with
    :func:`ui.run_view.show_saved_run` (nothing is computed again; the opened run's id is
    kept under ``<key>_open``); a run that kept no result (an older run) is said to be so.
    Computing again is an explicit button: ``rerun(request_dict)`` rebuilds the request
    (``from_dict``) and stores the report.
    """
    from workflows.runs import local_time

    runs = [r for r in project.runs if r.analysis == analysis]
    if not runs:
        return
    ids = ["", *[r.id for r in runs]]
    labels = {r.id: f"{local_time(r.created_at)} · {r.label}" for r in runs}
    pick = st.selectbox(
        T("打开已保存的分析", "Open a saved run"),
        ids,
        key=key,
        format_func=lambda i: labels.get(i, "—"),
    )
    if not pick:
        st.session_state.pop(f"{key}_loaded", None)
        st.session_state.pop(f"{key}_open", None)
        return
    if st.session_state.get(f"{key}_loaded") != pick:  # newly picked: open it
        st.session_state[f"{key}_loaded"] = pick
        st.session_state[f"{key}_open"] = pick
    rec = project.run(pick)
    if st.button(
        T("按保存的参数重新计算", "Compute again with its parameters"), key=f"{key}_rerun"
    ):
        st.session_state.pop(f"{key}_open", None)
        guarded(rerun, rec.request)


def pack_buttons(
    project: Project, report, *, title: str, prefix: str, file_name: str, tables: dict | None = None
) -> None:
    """Export button for a result pack (print map, layers, tables, README) and its download."""
    if st.button(T("导出资料包", "Export result pack"), key=f"{prefix}_export"):
        from workflows.packs import analysis_pack

        def build(progress):  # the CLI's files of the analysis, plus maps, layers, tables, README
            return analysis_pack(
                project,
                report,
                title=title,
                tables=tables,
                header=partial(column_header, lang=lang()),  # tables for people, fields kept
                unit=field_unit,
                on_progress=progress,
            )

        from ui.progress import ProgressBar, pack_stages

        with ProgressBar(
            T("正在生成资料包 (打印图、图层、表格)", "Building the pack (maps, layers, tables)"),
            key=f"{prefix}_pack_progress",
            unit=T("步", "steps"),
            stages=pack_stages(),
        ) as bar:
            data = guarded(bar.run, build)
        if data is not None:
            st.session_state[f"{prefix}_pack"] = data
    if f"{prefix}_pack" in st.session_state:
        st.download_button(
            T("下载资料包", "Download pack"),
            st.session_state[f"{prefix}_pack"],
            file_name=file_name,
            mime="application/zip",
            key=f"{prefix}_dl",
        )


def project_or_stop() -> Project:
    """The current project; stops the page with a message if it cannot be opened."""
    project = guarded(current_project)
    if project is None:
        st.stop()
    return project
