"""15-minute science service circles page (15分钟科普/科技服务圈): widgets → request → workflow → render."""

from __future__ import annotations

import streamlit as st

import settings
from layers.registry import POINT_LAYERS, REGISTRY
from render.analysis_maps import coverage_map_layers
from render.input_maps import Role
from render.webmap import build_map
from ui.common import (
    T,
    guarded,
    pack_buttons,
    project_or_stop,
    reopen_run,
    report_button,
    save_run_button,
    synthetic_banner,
)
from ui.i18n import choice_label, column_header, lang, t
from ui.mapview import input_map, show_map
from ui.network_panel import network_controls
from ui.precision import include_imprecise_checkbox, precision_banner
from ui.progress import ProgressBar, was_cancelled
from ui.run_view import show_saved_run
from ui.state import layer_choices, layer_label
from ui.tables import bar_chart, line_chart, show_table
from workflows import coverage
from workflows.coverage import GB50180_TIERS, gb50180_preset

SERVICE_KINDS = ("science_venues", "incubators", "universities", "platforms")
DEMAND_KINDS = ("enterprises", "communities", "universities", "incubators")


def _preset_button() -> None:
    if st.button(
        T(
            "一键套用 GB 50180-2018 生活圈(5/10/15 分钟 = 步行 300/500/1000 米)",
            "Apply GB 50180-2018 life circles (5/10/15 min = 300/500/1000 m walk)",
        ),
        key="cov_gb",
    ):
        pre = gb50180_preset()
        st.session_state["cov_mode"] = pre["mode"]
        st.session_state["cov_speed"] = pre["speed_kmh"]
        st.session_state["cov_minutes"] = ",".join(f"{m:g}" for m in pre["minutes"])
        st.session_state["cov_preset"] = True
    if st.session_state.get("cov_preset"):
        st.info(
            " · ".join(
                f"{t.name_zh if lang() == 'zh' else t.name_en}: {t.distance_m:g} m ({t.residents})"
                for t in GB50180_TIERS
            )
        )


def _preset(reach, minutes) -> str | None:
    """``gb50180`` when the widgets still hold the GB 50180 values (recorded in the request)."""
    pre = gb50180_preset()
    same = (
        reach.mode == pre["mode"]
        and reach.speed_kmh == pre["speed_kmh"]
        and tuple(sorted(minutes)) == tuple(pre["minutes"])
    )
    return "gb50180" if st.session_state.get("cov_preset") and same else None


def _service_options(project) -> list[str]:
    opts = []
    for ref in layer_choices(project, SERVICE_KINDS):
        opts.append(ref)
        kind = ref if ref in REGISTRY else project.layers[ref].kind
        opts.extend(f"{ref}:{s}" for s in REGISTRY[kind].subtypes)
    return opts


def _label(project, ref: str) -> str:
    base, _, sub = ref.partition(":")
    if base not in project.layers and base not in REGISTRY:
        base, sub = ref, ""
    return layer_label(project, base, lang()) + (f" · {sub}" if sub else "")


def _layers(project):
    services = st.multiselect(
        T("服务点定义", "Service points"),
        _service_options(project),
        default=[o for o in ("science_venues",) if o in _service_options(project)]
        or _service_options(project)[:1],
        format_func=lambda r: _label(project, r),
        key="cov_services",
        placeholder=t("choose"),
    )
    demand = st.selectbox(
        T("需求图层", "Demand layer"),
        layer_choices(project, DEMAND_KINDS) or layer_choices(project, POINT_LAYERS),
        format_func=lambda r: _label(project, r),
        key="cov_demand",
    )
    kind = demand if demand in REGISTRY else project.layers[demand].kind if demand else None
    wopts = ["", *(REGISTRY[kind].weight_fields if kind else ())]
    weight = st.selectbox(
        T("权重字段", "Weight"),
        wopts,
        format_func=lambda w: column_header(w) if w else T("无(按个数)", "none (count)"),
        key="cov_weight",
    )
    zone = st.selectbox(
        T("片区(只计片区内需求)", "Zone (demand inside only)"),
        ["", *project.zone_names()],
        format_func=lambda z: z or T("全部需求", "all demand"),
        key="cov_zone",
    )
    return tuple(services), demand, weight or None, zone or None


def _travel():
    mode = st.selectbox(
        T("出行方式", "Mode"),
        ["walk", "bike", "drive"],
        format_func=lambda m: choice_label("mode", m),
        key="cov_mode",
    )
    default_speed = settings.default_speed_kmh(mode) or settings.STRAIGHT_DRIVE_KMH
    speed = st.number_input(
        T("速度 (km/h)", "Speed (km/h)"),
        min_value=0.5,
        max_value=120.0,
        value=float(st.session_state.get("cov_speed", default_speed)),
        step=0.5,
    )
    default_minutes = ",".join(f"{m:g}" for m in settings.COVERAGE_MINUTES)
    minutes_text = st.text_input(
        T("时间阈值(分钟, 逗号分隔)", "Cut-offs (minutes, comma separated)"),
        value=st.session_state.get("cov_minutes", default_minutes),
    )
    return mode, speed, minutes_text


def _method(project, mode: str, speed: float):
    net, graph = network_controls(project)
    method = st.radio(
        T("方法", "Method"),
        ["network", "straight"] if graph is not None else ["straight"],
        format_func=lambda m: (
            T("路网法", "Road network")
            if m == "network"
            else T("直线距离近似法", "Straight-line approximation")
        ),
        key="cov_method",
    )
    detour = st.number_input(
        T("绕行系数(直线法)", "Detour factor (straight-line)"),
        min_value=1.0,
        max_value=3.0,
        value=settings.DETOUR,
        step=0.05,
    )
    max_snap = st.number_input(
        T("最大接入距离 (米)", "Max snap distance (m)"),
        min_value=10.0,
        max_value=5000.0,
        value=settings.MAX_SNAP_M,
        step=10.0,
    )
    drive_net = mode == "drive" and method == "network"
    reach = guarded(
        coverage.ReachOptions,
        mode=mode,
        method=method,
        speed_kmh=None if drive_net else speed,
        detour=detour,
        max_snap_m=max_snap,
        network=net if method == "network" else None,
    )
    return reach, graph


def _parse_minutes(text: str):
    try:
        return tuple(float(x) for x in text.replace("，", ",").split(",") if x.strip())
    except ValueError:
        st.error(
            T(
                f"时间阈值无效: {text!r}, 请输入如 5,10,15",
                f"Invalid cut-offs {text!r}: use e.g. 5,10,15",
            )
        )
        return None


def _run(project, req, graph=None) -> None:
    with ProgressBar(
        T("正在计算可达时间与服务圈", "Computing reach and service areas"),
        key="cov_progress",
        stages=(  # coverage.run reports these four steps
            T("路网", "road network"),
            T("读取图层", "reading the layers"),
            T("计算覆盖", "computing coverage"),
            T("整理结果", "the report"),
        ),
    ) as bar:  # the step, the seconds, and a cancel
        report = guarded(
            bar.run,
            lambda progress: coverage.run(project, req, graph=graph, on_progress=progress),
        )
    if report is not None:
        st.session_state["coverage_result"] = report
        st.session_state.pop("cov_pack", None)
        st.session_state.pop("coverage_sensitivity", None)


def _controls(project):
    """The sidebar: presets, saved runs, layers, travel, method; ``(request, graph)`` when
    "计算覆盖" was pressed, else ``(None, None)``."""
    with st.sidebar:
        st.header(T("服务圈参数", "Parameters"))
        _preset_button()
        reopen_run(
            project,
            "coverage",
            key="cov_saved",
            rerun=lambda d: _run(project, coverage.CoverageRequest.from_dict(d)),
        )
        with st.expander(T("图层", "Layers"), expanded=True):
            services, demand, weight, zone = _layers(project)
        with st.expander(T("出行方式与时间", "Travel and time"), expanded=True):
            mode, speed, minutes_text = _travel()
        with st.expander(T("方法与路网", "Method and road network")):
            reach, graph = _method(project, mode, speed)
        minutes = _parse_minutes(minutes_text)
        imprecise = include_imprecise_checkbox(key="cov_imprecise")
        if minutes is None or reach is None:
            return None, None, (services, demand)
        go = st.button(
            T("计算覆盖", "Compute coverage"), type="primary", key="cov_run", width="stretch"
        )
    if not go:
        return None, None, (services, demand)
    req = guarded(
        coverage.CoverageRequest,
        service=services,
        demand=(demand,),
        weight=weight,
        minutes=minutes,
        reach=reach,
        zone=zone,
        preset=_preset(reach, minutes),
        include_imprecise=imprecise,
    )
    return req, (graph if reach.method == "network" else None), (services, demand)


def _messages(res, label: str) -> None:
    st.success(T("方法与参数: ", "Method and parameters: ") + label)
    if res.params.method == "straight":
        st.warning(
            T(
                "当前为直线距离近似结果, 非路网实测; 加载路网后可使用路网法。",
                "These are straight-line approximations, not network travel times; "
                "load a network for the network method.",
            )
        )
    if res.unsnapped_demand:
        st.warning(
            T(
                f"{res.unsnapped_demand} 个需求点超出最大接入距离, 计为未覆盖。",
                f"{res.unsnapped_demand} demand points are beyond the max snap distance "
                "and count as not covered.",
            )
        )


def _show(project, report) -> None:
    """The result map first, then messages and the result tabs under it."""
    s, res = report.summary, report.result
    precision_banner(s)  # leads: a role more than half left out as imprecise
    synthetic_banner(s)
    label = res.params.label(lang())
    L = lang()
    show_map(
        lambda: build_map(
            coverage_map_layers(project, report, L),
            lang=L,
            legend_title=T("服务圈", "Service circles"),
            extra_notes=(label,),
            fit_bounds=tuple(report.inputs["demand"].to_crs(4326).total_bounds),
        ),
        page="cov",
        key=(project, report, L),  # built once per result
        reset_on=(project.ref,),
    )
    _messages(res, label)
    tabs = st.tabs(
        [
            T("覆盖率", "Coverage"),
            T("按片区", "By zone"),
            T("按区县", "By district"),
            T("片区面积", "Zone area"),
            T("服务点冗余度", "Redundancy"),
            T("导出与保存", "Export and save"),
            T("敏感性", "Sensitivity"),
        ]
    )
    with tabs[0]:
        _summary_tab(res, label)
    _group_tabs(tabs[1:5], res, label)
    with tabs[5]:
        _export_tab(project, report, label)
    with tabs[6]:
        _sensitivity(project, report, label)


def _summary_tab(res, label: str) -> None:
    rows = res.summary
    cols = st.columns(max(len(rows), 1))
    for col, (_, r) in zip(cols, rows.iterrows(), strict=False):
        col.metric(
            T(f"{r['minutes']:g} 分钟覆盖率", f"{r['minutes']:g}-min coverage"),
            f"{r['share']:.1%}",
            help=T(
                f"{int(r['covered']):,} / {int(r['demand_total']):,} 个需求点",
                f"{int(r['covered']):,} of {int(r['demand_total']):,} demand points",
            ),
        )
    show_table(rows.assign(method=label), key="cov_summary", name=T("覆盖率", "Coverage"))


def _minutes_label(m) -> str:
    return T(f"{m:g} 分钟", f"{m:g} min")


def _group_tabs(tabs, res, label: str) -> None:
    """By zone and by district (bars and table), zone area covered, service redundancy."""
    for tab, tab_df, group, name in (
        (tabs[0], res.by_zone, "zone", T("按片区", "By zone")),
        (tabs[1], res.by_district, "district", T("按区县", "By district")),
    ):
        with tab:
            if not len(tab_df):
                st.caption(T("没有数据。", "No data."))
                continue
            bar_chart(
                tab_df,
                index=group,
                value="share",
                series="minutes",
                series_label=_minutes_label,
            )
            show_table(tab_df.assign(method=label), key=f"cov_{group}", name=name)
    with tabs[2]:
        if len(res.zone_area):
            show_table(
                res.zone_area.assign(method=label), key="cov_area", name=T("片区面积", "Zone area")
            )
        else:
            st.caption(T("项目中没有片区。", "The project has no zones."))
    with tabs[3]:
        st.caption(
            T("最大时间阈值下各服务点覆盖的需求", "Demand each service covers (largest cut-off)")
        )
        show_table(
            res.redundancy.sort_values("only_here").assign(method=label),
            key="cov_redundancy",
            name=T("冗余度", "Redundancy"),
        )


def _export_tab(project, report, label: str) -> None:
    pack_buttons(
        project,
        report,
        title="15分钟科普服务圈覆盖分析",
        prefix="cov",
        file_name="innomap_coverage.zip",
        tables={**report.tables, "redundancy": report.result.redundancy},
    )
    save_run_button(project, report, key="cov_save", title=label)
    report_button(project, report, key="cov", title=label)


def _sensitivity(project, report, label: str) -> None:
    st.caption(T("不同速度与时间阈值下的覆盖率", "Coverage by speed and cut-off"))
    if st.button(T("计算敏感性表", "Compute sensitivity table"), key="cov_sens"):
        with ProgressBar(
            T("计算敏感性表", "Computing the sensitivity table"),
            key="cov_sens_progress",
            unit=T("个速度", "speeds"),
        ) as bar:
            sens = guarded(
                bar.run,
                lambda progress: coverage.sensitivity(project, report, on_progress=progress),
            )
        if sens is not None:
            st.session_state["coverage_sensitivity"] = sens.assign(method=label)
    if "coverage_sensitivity" in st.session_state:
        sens = st.session_state["coverage_sensitivity"]
        line_chart(
            sens,
            index="minutes",
            value="share",
            series="speed_kmh",
            series_label=lambda v: f"{v:g} km/h",
        )
        show_table(sens, key="cov_sensitivity", name=T("敏感性", "Sensitivity"))


def main() -> None:
    st.title(T("15分钟科普/科技服务圈", "15-minute science service circles"))
    project = project_or_stop()
    if any([was_cancelled("cov_progress"), was_cancelled("cov_sens_progress")]):
        st.info(T("已取消计算。", "The computation was cancelled."))
    req, graph, (services, demand) = _controls(project)
    if req is not None:
        _run(project, req, graph=graph)
    if show_saved_run(project, key="cov_saved", fresh=req is not None):
        return  # a saved run, from its stored layers
    report = st.session_state.get("coverage_result")
    if report is None:
        input_map(
            project,
            [
                Role("services", T("服务点", "Service points"), tuple(services)),
                Role("demand", T("需求", "Demand"), (demand,) if demand else ()),
            ],
            page="cov",
            legend_title=T("服务点与需求", "Services and demand"),
        )
        st.caption(
            T(
                "在侧栏设置参数后点击“计算覆盖”。",
                "Set the parameters in the sidebar and press Compute coverage.",
            )
        )
        return
    _show(project, report)


main()
