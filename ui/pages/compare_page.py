"""已保存的运行与方案对比 / Saved runs and comparison.

The project's saved runs (from the app or ``--save-run`` on the command line) with their
names and local time (``settings.LOCAL_TIMEZONE``); a run reopens as its map and tables
from its stored result layers (:func:`workflows.runs.reopen`, nothing is computed again),
marked when its inputs changed since it was saved; two runs of one analysis (方案A /
方案B) side by side: the indicators of ``compare.csv`` and the two maps with the same
extent and legend (:mod:`workflows.compare`), and ``compare.png`` to download.

The maps are :func:`ui.run_view.run_map` (:func:`ui.mapview.show_map`: guarded fragments,
built once per run).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from export.compare_map import compare_extent
from layers.project import Project, RunRecord
from ui.common import built_download, guarded, md_text, project_or_stop, session_memo
from ui.i18n import T, lang
from ui.run_view import changed_note, run_frames, run_map, show_report
from ui.tables import show_table
from workflows import compare, runs
from workflows.analyses import title as analysis_title


def _label(rec: RunRecord) -> str:
    return (
        f"{rec.label} · {analysis_title(rec.analysis, lang())} · {runs.local_time(rec.created_at)}"
    )


def _runs_list(project: Project) -> None:
    st.subheader(T("已保存的运行", "Saved runs"))
    table = session_memo(  # read once per project version, not on every rerun
        "runs_table",
        (project.ref, project.version, lang()),
        lambda: runs.runs_table(project, lang=lang()),
    )
    yes, no, unknown = T("是", "yes"), T("否", "no"), T("未知", "unknown")
    view = pd.DataFrame(
        {
            "id": table["id"],
            "run_name": table["name"],
            "analysis": table["analysis"],
            "local_time": table["local_time"],
            "inputs_changed": [
                unknown if v is None else yes if v else no for v in table["inputs_changed"]
            ],
        }
    )
    show_table(view, key="runs_list", name=T("已保存的运行", "Saved runs"), downloads=False)


def _reopen(project: Project) -> None:
    st.subheader(T("打开运行", "Open a run"))
    ids = [r.id for r in reversed(project.runs)]
    pick = st.selectbox(
        T("运行", "Run"), ids, key="runs_open", format_func=lambda i: _label(project.run(i))
    )
    report = session_memo(
        "runs_open",
        (project.ref, project.version, pick),
        lambda: guarded(runs.reopen, project, project.run(pick)),
    )
    if report is not None:
        show_report(project, report, page="run_open")


def _pick_pair(project: Project) -> tuple[str, str] | None:
    c1, c2 = st.columns(2)
    ids = [r.id for r in reversed(project.runs)]
    a = c1.selectbox(
        T("方案A", "Run A"), ids, key="cmp_a", format_func=lambda i: _label(project.run(i))
    )
    kind = project.run(a).analysis
    others = [i for i in ids if i != a and project.run(i).analysis == kind]
    if not others:
        c2.info(T("没有同一种分析的其他运行可对比。", "No other run of this analysis to compare."))
        return None
    b = c2.selectbox(
        T("方案B", "Run B"), others, key="cmp_b", format_func=lambda i: _label(project.run(i))
    )
    return a, b


def _shown(key: str, value, *, difference: bool = False) -> str:
    """An indicator's value as read: shares in % (their differences in percentage points),
    counts without decimals."""
    if value is None or pd.isna(value):
        return "—"
    if "share" in key:
        return f"{value * 100:+.1f} {T('百分点', 'pp')}" if difference else f"{value:.1%}"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return f"+{text}" if difference and value > 0 else text


def _indicator_table(report) -> None:
    t = report.tables["compare"]
    keys = list(t["indicator"])
    view = pd.DataFrame(
        {
            "indicator_label": t["indicator_en"] if lang() == "en" else t["指标"],
            "value_a": [_shown(k, v) for k, v in zip(keys, t["a"], strict=True)],
            "value_b": [_shown(k, v) for k, v in zip(keys, t["b"], strict=True)],
            "difference": [
                _shown(k, v, difference=True) for k, v in zip(keys, t["difference"], strict=True)
            ],
        }
    )
    show_table(view, key="cmp_table", name=T("方案对比", "Comparison"))


def _compare(project: Project) -> None:
    st.subheader(T("方案对比 (A / B)", "Compare two runs (A / B)"))
    pair = _pick_pair(project)
    if pair is None:
        return
    report = session_memo(
        "runs_compare",
        (project.ref, project.version, pair, lang()),
        lambda: guarded(compare.run, project, compare.CompareRequest(runs=pair)),
    )
    if report is None:
        return
    ra, rb = report.result.a, report.result.b
    _indicator_table(report)
    fa, fb = run_frames(ra), run_frames(rb)
    if not (fa or fb):
        return
    names = [*fa, *fb]
    bounds = compare_extent(fa, fb)
    cols = st.columns(2)
    for col, tag, side, page in ((cols[0], "A", ra, "cmp_a"), (cols[1], "B", rb, "cmp_b")):
        with col:
            st.markdown(f"**{T('方案', 'Run ')}{tag}** · {md_text(side.summary['run']['label'])}")
            changed_note(side)
            run_map(project, side, page=page, names=names, bounds=bounds)
    _png_button(report)


def _png_button(report) -> None:
    built_download(
        key=tuple(r["id"] for r in report.summary["runs"]),
        build=lambda: guarded(compare.png, report),
        button=T("生成对比图 compare.png", "Make compare.png"),
        button_key="cmp_png",
        label=T("下载 compare.png", "Download compare.png"),
        file_name="compare.png",
        mime="image/png",
        download_key="cmp_png_download",
    )


def main() -> None:
    st.title(T("已保存的运行与方案对比", "Saved runs and comparison"))
    project = project_or_stop()
    if not project.runs:
        st.info(
            T(
                "项目中还没有保存的运行: 在分析页点击“保存本次分析”, 或在命令行加 --save-run 名称。",
                "The project has no saved runs yet: save one on an analysis page, or add "
                "--save-run NAME on the command line.",
            )
        )
        return
    _runs_list(project)
    views = {"compare": T("方案对比", "Compare"), "open": T("打开运行", "Open a run")}
    view = st.radio(
        T("查看", "View"), list(views), format_func=views.get, horizontal=True, key="runs_view"
    )  # not tabs: a map in a hidden tab is drawn without a size
    (_compare if view == "compare" else _reopen)(project)


main()
