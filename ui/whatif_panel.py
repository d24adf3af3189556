"""The what-if section of the siting page: edit a scenario by map clicks, compare, save."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from layers import auth
from render.analysis_maps import whatif_map_layers
from render.webmap import build_map
from ui.common import T, guarded, synthetic_banner
from ui.guard import guarded_fragment
from ui.i18n import lang
from ui.mapview import show_map
from ui.state import refresh_project
from ui.tables import show_table
from workflows import whatif
from workflows.runs import save_report

__all__ = ["what_if"]

ACTIONS = {
    "add": ("添加假设孵化器", "Add hypothetical incubator"),
    "candidate": ("添加候选点", "Add candidate"),
    "remove": ("删除最近的孵化器", "Remove nearest incubator"),
    "move": ("移动: 先点孵化器, 再点新位置", "Move: click an incubator, then its new place"),
}


def _apply(action: str, lon: float, lat: float) -> None:
    sites, move_from, cand = whatif.apply_edit(
        st.session_state["whatif_sites"],
        action,
        lon,
        lat,
        move_from=st.session_state.get("whatif_move_from"),
    )
    st.session_state["whatif_sites"] = sites
    st.session_state["whatif_move_from"] = move_from
    if cand is not None:
        st.session_state.setdefault("site_clicked", []).append(cand)


def _metrics(report) -> None:
    s = report.summary
    c1, c2, c3 = st.columns(3)
    c1.metric(
        T("情景覆盖率", "Scenario coverage"),
        f"{s['share']:.1%}",
        f"{s['delta_share'] * 100:+.1f} {T('百分点', 'pp')}",
    )
    c2.metric(T("孵化器数量", "Incubators"), s["sites"], s["sites"] - s["baseline_sites"])
    c3.metric(T("覆盖权重", "Covered weight"), f"{s['covered']:,.0f}")


#: The what-if panel's fragment: a click reruns it alone, not the page.
PANEL = "whatif_panel"


def _on_click(action: str):
    """Apply a new map click (``streamlit_folium``'s ``last_clicked``) in the map's callback,
    then rerun the what-if panel (its numbers), not the page."""

    def handle(out: dict) -> None:
        click = out.get("last_clicked")
        if click and click != st.session_state.get("whatif_last_click"):
            st.session_state["whatif_last_click"] = click
            _apply(action, float(click["lng"]), float(click["lat"]))
            st.rerun(PANEL)

    return handle


def _map(project, action: str, report) -> None:
    if st.session_state.get("whatif_move_from"):
        st.info(
            T(
                f"已选择 {st.session_state['whatif_move_from']}: 请点击新位置",
                f"Selected {st.session_state['whatif_move_from']}: click its new place",
            )
        )
    L, sites = lang(), st.session_state["whatif_sites"]
    clicked, note = st.session_state.get("site_clicked", []), report.summary["method_label"]
    show_map(
        lambda: build_map(
            whatif_map_layers(project, sites, clicked, L),
            lang=L,
            legend_title=T("情景", "Scenario"),
            extra_notes=(note,),
            fit_bounds=project.bounds(),
        ),
        page="whatif",
        key=(project, repr(sites), repr(clicked), L, note),  # built once per scenario
        reset_on=(project.ref,),
        returned=("last_clicked",),
        on_change=_on_click(action),
    )


def _by_coordinates(project, action: str) -> None:
    x0, y0 = whatif.default_point(project)
    st.caption(T("按坐标操作(与点击地图相同)", "Apply by coordinates (same as a map click)"))
    e1, e2, e3 = st.columns(3)
    e1.number_input(
        T("经度", "Longitude"),
        73.0,
        136.0,
        round(x0, 5),
        0.0005,
        format="%.5f",
        key="whatif_lon",
    )
    e2.number_input(
        T("纬度", "Latitude"), 3.0, 54.0, round(y0, 5), 0.0005, format="%.5f", key="whatif_lat"
    )
    e3.button(  # applied before the panel reruns (it alone)
        T("执行", "Apply"),
        key="whatif_apply",
        on_click=lambda: _apply(  # the inputs' values as sent with this click
            action, float(st.session_state["whatif_lon"]), float(st.session_state["whatif_lat"])
        ),
    )


def _save(project, report) -> None:
    n1, n2 = st.columns([3, 1])
    name = n1.text_input(
        T("情景名称", "Scenario name"),
        value=f"情景{len(st.session_state.get('scenarios', {})) + 1}",
        key="whatif_name",
    )
    if n2.button(T("保存情景", "Save scenario"), key="whatif_save"):
        s = report.summary
        st.session_state.setdefault("scenarios", {})[name] = {
            "sites": s["sites"],
            "share": s["share"],
            "weighted_covered": s["covered"],
            "change": s["delta_share"],  # a difference of shares: shown ×100 as 百分点 / pp
            "method": s["method_label"],
            "minutes": s["minutes"],
        }
        if not project.read_only and auth.can("editor"):  # a named scenario of the project
            named = dataclasses.replace(report, request=report.request | {"name": name})
            rec = guarded(save_report, project, named, name=name, kind="scenario")
            if rec is not None:
                refresh_project()
    if st.session_state.get("scenarios"):
        st.caption(T("情景对比", "Scenario comparison"))
        show_table(
            pd.DataFrame.from_dict(st.session_state["scenarios"], orient="index")
            .rename_axis("scenario")
            .reset_index(),
            key="whatif_scenarios",
            name=T("情景对比", "Scenarios"),
        )


def _reset_button() -> None:
    if st.button(T("重置为现状", "Reset to current incubators"), key="whatif_reset"):
        st.session_state.pop("whatif_sites", None)
        st.session_state.pop("whatif_move_from", None)
        st.rerun()


def what_if(project, base: dict, graph) -> None:
    """The what-if view: the click action in the sidebar, the map, then the numbers and the
    scenarios under it. ``base`` holds demand, weight, existing, minutes and reach."""
    baseline = (project.ref, base["existing"])
    if st.session_state.get("whatif_baseline") != baseline:  # another project or layer: start over
        st.session_state.pop("whatif_sites", None)
        st.session_state.pop("whatif_move_from", None)
        st.session_state["whatif_baseline"] = baseline
    if "whatif_sites" not in st.session_state:
        st.session_state["whatif_sites"] = (
            guarded(whatif.existing_sites, project, base["existing"]) or []
        )
    with st.sidebar:
        st.subheader(T("情景推演", "What-if"))
        action = st.radio(
            T("点击地图: ", "Map click: "),
            list(ACTIONS),
            format_func=lambda a: T(*ACTIONS[a]),
            key="whatif_action",
        )
        _reset_button()
    _panel(project, base, graph, action)


@guarded_fragment(key=PANEL)
def _panel(project, base: dict, graph, action: str) -> None:
    """The map, the numbers and the scenarios: a click, an apply or a save reruns this alone."""
    req = guarded(whatif.WhatIfRequest, sites=tuple(st.session_state["whatif_sites"]), **base)
    report = guarded(whatif.run, project, req, graph=graph) if req else None
    if report is None:
        return
    synthetic_banner(report.summary)
    _map(project, action, report)
    _metrics(report)
    t1, t2 = st.tabs([T("情景对比与保存", "Compare and save"), T("按坐标操作", "By coordinates")])
    with t1:
        _save(project, report)
    with t2:
        _by_coordinates(project, action)
