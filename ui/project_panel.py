"""The project panel in the sidebar (every page): which project, its city and CRS; open, create, save as."""

from __future__ import annotations

import re

import streamlit as st

from layers import auth
from layers.project import DEMO_REF, create_project, save_as
from layers.safe import safe_file_name
from ui.common import T, guarded, md_text
from ui.state import (
    RESULT_KEYS,
    current_project,
    projects_dir,
    recent_projects,
    set_project,
    team_projects,
)

__all__ = ["project_panel"]


def _file_name(name: str) -> str:
    safe = safe_file_name(name, default="project")
    return str(projects_dir() / f"{safe}.gpkg")


def _open(ref: str) -> None:
    if guarded(set_project, ref) is not None:
        for k in RESULT_KEYS:
            st.session_state.pop(k, None)
        st.rerun()


def _open_controls() -> None:
    if auth.can("admin"):
        recent = recent_projects()
    else:  # the user's own recent team projects first, then the rest of the team's
        team = team_projects()
        recent = [r for r in recent_projects() if r in team]
        recent += [r for r in team if r not in recent]
    if st.session_state.pop("prj_recent_reset", False):  # the list shows — again
        st.session_state["prj_recent"] = ""
    pick = st.selectbox(
        T("最近的项目(选中即打开)", "Recent projects (opens when chosen)"),
        ["", DEMO_REF, *recent],
        format_func=lambda r: r or "—",
        key="prj_recent",
    )
    if pick:  # one action opens it: no second click (an Open button) to lose while the
        # choice's rerun settles the sidebar; opened here, after the page's sign-in guard.
        # The list is cleared only once the attempt has ended: a run interrupted before
        # (another click) opens it on the next run
        opened = guarded(set_project, pick) is not None
        st.session_state["prj_recent_reset"] = True
        if opened:
            for k in RESULT_KEYS:
                st.session_state.pop(k, None)
            st.rerun()
    if not auth.can("admin"):  # others open the team's projects only
        return
    path = st.text_input(
        T(
            "打开服务器上的项目 (.gpkg 路径或 postgresql://…)",
            "Open a project on the server (.gpkg path or postgresql://…)",
        ),
        key="prj_open_path",
    )
    # always enabled: the path is committed when the field loses focus, i.e. by this very click
    if st.button(T("打开项目", "Open project"), key="prj_open"):
        if path.strip():
            _open(path.strip())
        else:
            st.warning(T("请先填写项目路径。", "Enter the project's path first."))


def _new_controls() -> None:
    name = st.text_input(T("项目名称", "Project name"), key="prj_new_name")
    city = st.text_input(
        T("城市(名称或行政区划代码)", "City (name or adcode)"),
        placeholder="连云港市 / 320700",
        key="prj_new_city",
    )
    counties = st.text_input(
        T("区县(可选, 逗号分隔)", "Counties (optional, comma separated)"), key="prj_new_counties"
    )
    system = st.radio(
        T("米制坐标系", "Metric CRS"),
        ["utm", "gk3"],
        horizontal=True,
        format_func=lambda s: "UTM" if s == "utm" else "CGCS2000 3° GK",
        key="prj_new_crs",
    )
    if st.button(T("新建项目", "Create project"), key="prj_new") and name and city:
        parts = [c for c in re.split(r"[,，、\s]+", counties) if c]
        p = guarded(
            create_project,
            _file_name(name),
            name=name,
            city=city,
            counties=parts or None,
            crs_system=system,
        )
        if p is not None:
            _open(p.ref)


def _save_as_controls(project) -> None:
    default = _file_name(project.name if not project.is_demo else f"{project.name}副本")
    target = st.text_input(
        T("另存为 (.gpkg 路径)", "Save as (.gpkg path)"), value=default, key="prj_saveas_path"
    )
    if st.button(T("另存为", "Save as"), key="prj_saveas"):
        copy = guarded(save_as, project, target.strip())
        if copy is not None:
            _open(copy.ref)


def project_panel() -> None:
    """Show the current project and the project actions in the sidebar."""
    with st.sidebar:
        project = guarded(current_project)
        if project is None:
            # a reload must not repeat the failure: the bad reference leaves the URL at once
            st.query_params.pop("project", None)
            if st.button(T("回到示例项目", "Back to the demo project"), key="prj_demo"):
                _open(DEMO_REF)
            return
        badge = T(" · 只读示例", " · read-only demo") if project.read_only else ""
        st.markdown(f"**{T('项目', 'Project')}: {md_text(project.name)}**{badge}")
        st.caption(
            md_text(
                f"{project.province}{project.city if project.city != project.province else ''}"
                f" · {project.crs_label()} · {len(project.layers)} {T('个图层', 'layers')}"
            )
        )
        if not auth.can("admin"):
            with st.expander(T("项目: 打开", "Project: open")):
                _open_controls()
            return
        with st.expander(T("项目: 打开 / 新建 / 另存为", "Project: open / new / save as")):
            t1, t2, t3 = st.tabs([T("打开", "Open"), T("新建", "New"), T("另存为", "Save as")])
            with t1:
                _open_controls()
            with t2:
                _new_controls()
            with t3:
                _save_as_controls(project)
