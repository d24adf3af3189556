"""Corridor profile page (走廊剖面): widgets → request → workflow → chart and table."""

from __future__ import annotations

import streamlit as st

import settings
from export.profile_chart import profile_chart
from layers.registry import POINT_LAYERS
from ui.common import (
    T,
    guarded,
    md_text,
    project_or_stop,
    reopen_run,
    report_button,
    save_run_button,
    synthetic_banner,
)
from ui.i18n import lang, t
from ui.precision import include_imprecise_checkbox, precision_banner
from ui.run_view import show_saved_run
from ui.state import layer_choices, layer_label
from ui.tables import show_table
from workflows import profile


def _request(project):
    """The request of the widgets (None when the project has no axis or a value is refused)."""
    axes = profile.axis_names(project)
    if not axes:
        st.info(
            T(
                "项目中没有走廊轴线: 请在“导入数据”页添加类别为“走廊轴线”的线图层。",
                "The project has no corridor axis: add a line layer of kind corridor_axes.",
            )
        )
        return None
    opts = layer_choices(project, POINT_LAYERS)

    def label(ref: str) -> str:
        return layer_label(project, ref, lang())

    axis = st.selectbox(T("走廊轴线", "Corridor axis"), axes, key="pf_axis")
    layers = st.multiselect(
        T("资源图层", "Layers"),
        opts,
        default=[k for k in profile.DEFAULT_KINDS if k in opts],
        format_func=label,
        key="pf_layers",
        placeholder=t("choose"),
    )
    c1, c2, c3, c4 = st.columns(4)
    bin_m = c1.number_input(
        T("分段长度 (米)", "Bin length (m)"),
        50.0,
        20_000.0,
        settings.PROFILE_BIN_M,
        50.0,
        key="pf_bin",
    )
    band_m = c2.number_input(
        T("带宽 (轴线每侧, 米)", "Band (each side, m)"),
        50.0,
        profile.MAX_BAND_M,
        settings.PROFILE_BAND_M,
        50.0,
        key="pf_band",
    )
    service = c3.multiselect(
        T("服务点 (可选, 求覆盖率)", "Service points (optional)"),
        opts,
        format_func=label,
        key="pf_service",
        placeholder=t("choose"),
    )
    minutes = c4.number_input(
        T("步行时间 (分钟, 直线近似)", "Walk minutes (straight line)"),
        1.0,
        60.0,
        settings.COVERAGE_MINUTES[-1],
        1.0,
        key="pf_minutes",
    )
    imprecise = include_imprecise_checkbox(key="pf_imprecise")
    return guarded(
        profile.ProfileRequest,
        axis=axis,
        layers=tuple(layers),
        bin_m=bin_m,
        band_m=band_m,
        service=tuple(service),
        minutes=minutes,
        include_imprecise=imprecise,
    )


def _run(project, req) -> None:
    st.session_state["pf_report"] = guarded(profile.run, project, req)


def _show(project, report) -> None:
    s = report.summary
    precision_banner(s)  # leads: points left out as imprecise
    synthetic_banner(s)
    share = (
        "" if s["covered_share"] is None else f"; {T('覆盖率', 'covered')} {s['covered_share']:.1%}"
    )
    st.success(
        md_text(
            f"{s['axis']}: {s['axis_length_m'] / 1000:.2f} km, {s['n_bins']} {T('段', 'bins')}; "
            f"{T('带内资源', 'points in the band')} {s['points_in_band']:,} "
            f"({s['per_km']:.1f} {T('个/km', 'per km')}){share}"
        )
    )
    for note in report.notes[1:]:
        if not note.startswith("注意"):
            st.caption(md_text(note))
    st.image(profile_chart(s, lang=lang()), width="stretch")
    show_table(
        report.tables["profile"].drop(columns="length_m"),
        key="pf_bins",
        name=T("分段表", "Bins"),
    )
    title = f"{s['axis']} {s['bin_m']:g} m"
    save_run_button(project, report, key="pf_save", title=title)
    report_button(project, report, key="pf", title=title)


def main() -> None:
    st.title(T("走廊剖面", "Corridor profile"))
    st.caption(
        T(
            "沿走廊轴线分段统计两侧带内各类创新资源的数量与覆盖率, 比较各段差异。",
            "Resources per kind and covered share, bin by bin along a corridor axis.",
        )
    )
    project = project_or_stop()
    reopen_run(
        project,
        "profile",
        key="pf_saved",
        rerun=lambda d: _run(project, profile.ProfileRequest.from_dict(d)),
    )
    req = _request(project)
    go = req is not None and st.button(T("生成剖面", "Run profile"), key="pf_run")
    if go:
        _run(project, req)
    if show_saved_run(project, key="pf_saved", fresh=go):
        return  # a saved run, from its stored layers
    report = st.session_state.get("pf_report")
    if report:
        _show(project, report)


main()
