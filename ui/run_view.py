"""A saved run shown from what was stored: its map and tables, marked when inputs changed.

:func:`workflows.runs.reopen` rebuilds the run's report from its stored result layers and
tables (nothing is computed again); this module draws it. The analysis pages show the run
picked in their "打开已保存的分析" picker (:func:`ui.common.reopen_run`) with
:func:`show_saved_run`.
"""

from __future__ import annotations

import streamlit as st

from layers.project import Project
from ui.common import guarded
from ui.i18n import T, lang
from ui.mapview import show_map
from ui.tables import show_table
from workflows import runs

__all__ = [
    "changed_note",
    "open_key",
    "run_frames",
    "run_map",
    "show_report",
    "show_saved_run",
    "stored",
]


def open_key(key: str) -> str:
    """The session key holding the id of the run the picker ``key`` opened."""
    return f"{key}_open"


def stored(rec) -> bool:
    """Whether a run kept result layers or tables (runs saved before they did kept none)."""
    return bool(rec.layers) or bool((rec.meta or {}).get("tables"))


def changed_note(report) -> None:
    """The warning that a reopened run's inputs changed since it was saved (or unknown)."""
    changed = report.summary.get("inputs_changed")
    if changed:
        st.warning(
            T(
                f"保存后输入已更改: {'、'.join(changed)}。地图与表格为保存时的结果。",
                f"Inputs changed since the run was saved: {', '.join(changed)}. The map and "
                "tables show the result as saved.",
            )
        )
    elif changed is None:
        st.caption(
            T(
                "此运行未记录输入指纹, 无法判断输入是否更改。",
                "This run kept no input fingerprints: whether its inputs changed is unknown.",
            )
        )
    left = report.summary["run"]["left_out"]
    if left:
        st.caption(T(f"未保存的大图层: {', '.join(left)}", f"Layers not kept: {', '.join(left)}"))


def run_frames(report) -> dict:
    """A reopened run's stored layers: result layers, then ``input:<role>`` layers."""
    return {**report.layers, **{f"{runs.INPUT_PREFIX}{k}": g for k, g in report.inputs.items()}}


def run_map(project: Project, report, *, page: str, names=None, bounds=None) -> None:
    """The map of a reopened run's stored layers (``names``: the layers the legend knows,
    ``bounds``: the frame; both default to the run's own, for maps shown side by side)."""
    from export.compare_map import compare_extent
    from render.analysis_maps import outline_map_layers
    from render.run_layers import run_map_layers
    from render.webmap import build_map

    L = lang()
    frames = run_frames(report)
    if not frames:
        return
    names = list(frames) if names is None else names
    bounds = compare_extent(frames) if bounds is None else bounds
    show_map(
        lambda: build_map(
            [*outline_map_layers(project, L), *run_map_layers(frames, lang=L, names=names)],
            lang=L,
            legend_title=report.summary["run"]["label"],
            fit_bounds=bounds,
        ),
        page=page,
        key=(project.ref, project.version, report.summary["run"]["id"], tuple(bounds), L),
        reset_on=(project.ref, report.summary["run"]["id"], tuple(bounds)),
        height=480,
        tight_top=False,  # below the run's table and choices, drawn once they are chosen
    )


def show_report(project: Project, report, *, page: str) -> None:
    """A reopened run (:func:`workflows.runs.reopen`): the note, the map, the tables."""
    changed_note(report)
    run_map(project, report, page=page)
    for name, table in report.tables.items():
        st.caption(name)
        show_table(table, key=f"{page}_{name}", name=name, height=240)


def show_saved_run(project: Project, *, key: str, fresh: bool = False) -> bool:
    """Show the run the picker ``key`` opened, from its stored layers; True when shown.

    ``fresh``: the page has just computed a new result, which is shown instead (the
    opened run is closed).
    """
    rid = st.session_state.get(open_key(key))
    if fresh or not rid or rid not in {r.id for r in project.runs}:
        st.session_state.pop(open_key(key), None)
        return False
    rec = project.run(rid)
    st.subheader(T(f"已保存的运行: {rec.label}", f"Saved run: {rec.label}"))
    st.caption(
        T(
            f"保存于 {runs.local_time(rec.created_at)}; 显示保存的结果, 未重新计算。",
            f"Saved {runs.local_time(rec.created_at)}; the stored result, not computed again.",
        )
    )
    if not stored(rec):
        st.info(
            T(
                "此运行保存时未存结果图层与表格 (较早的运行): 请在侧栏点击“按保存的参数重新计算”。",
                "This run kept no result layers or tables (an older run): press "
                "“Compute again with its parameters” in the sidebar.",
            )
        )
        return True
    report = guarded(runs.reopen, project, rec)
    if report is not None:
        show_report(project, report, page=f"{key}_run")
    return True
