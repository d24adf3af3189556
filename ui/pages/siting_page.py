"""Incubator siting page (孵化器选址): widgets → request → workflow → render; what-if below."""

from __future__ import annotations

import io

import geopandas as gpd
import pandas as pd
import shapely
import streamlit as st
from streamlit_folium import st_folium

import settings
from layers.registry import REGISTRY
from render.analysis_maps import siting_map_layers
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
from ui.i18n import lang
from ui.state import layer_choices, layer_label
from ui.whatif_panel import what_if
from workflows import siting
from workflows.coverage import ReachOptions
from workflows.network import project_graph

DEMAND_KINDS = ("enterprises", "universities", "communities")
MODELS = {
    "mclp": ("最大覆盖 MCLP", "Maximal covering"),
    "lscp": ("集合覆盖 LSCP", "Set covering"),
    "pmedian": ("P 中值", "p-median"),
}
SOLVERS = {
    "auto": ("自动", "auto"),
    "heuristic": ("快速(启发式+界)", "fast (heuristic + bound)"),
    "exact": ("优化(MILP, 限时)", "optimise (MILP, time-limited)"),
}


def _exclusion_wkt(up) -> str | None:
    if up is None:
        return None
    try:
        g = gpd.read_file(io.BytesIO(up.getvalue()), driver="GeoJSON")
    except Exception as exc:
        st.error(
            T(
                f"{up.name}: 无法读取禁建区 GeoJSON ({type(exc).__name__})",
                f"{up.name}: cannot read the exclusion GeoJSON ({type(exc).__name__})",
            )
        )
        return None
    g = g.set_crs(4326) if g.crs is None else g.to_crs(4326)
    return shapely.union_all(g.geometry.values).wkt if len(g) else None


def _demand_and_reach(project):
    c1, c2, c3, c4 = st.columns(4)
    opts = layer_choices(project, DEMAND_KINDS)
    demand = c1.multiselect(
        T("需求", "Demand"),
        opts,
        default=opts[:1],
        format_func=lambda r: layer_label(project, r, lang()),
        key="site_demand",
    )
    kinds = {r if r in REGISTRY else project.layers[r].kind for r in demand}
    weights = dict.fromkeys(w for k in sorted(kinds) for w in REGISTRY[k].weight_fields)
    weight = c2.selectbox(
        T("权重", "Weight"),
        ["", *weights],
        format_func=lambda w: w or T("计数", "count"),
        key="site_weight",
    )
    minutes = c3.number_input(
        T("服务时间 (分钟)", "Travel time (min)"),
        1.0,
        120.0,
        settings.SITING_MINUTES,
        1.0,
        key="site_minutes",
    )
    mode = c4.selectbox(T("出行方式", "Mode"), ["walk", "bike", "drive"], key="site_mode")
    c5, c6, c7 = st.columns(3)
    speed = c5.number_input(
        T("速度 (km/h)", "Speed (km/h)"),
        1.0,
        120.0,
        settings.default_speed_kmh(mode) or settings.STRAIGHT_DRIVE_KMH,
        key=f"site_speed_{mode}",
    )
    detour = c6.number_input(
        T("绕行系数(直线法)", "Detour factor"), 1.0, 3.0, settings.DETOUR, 0.05, key="site_detour"
    )
    net = st.session_state.get("network_ref")
    method = c7.radio(
        T("方法", "Method"),
        ["straight", "network"] if net else ["straight"],
        format_func=lambda m: (
            T("路网法", "Road network") if m == "network" else T("直线距离近似法", "Straight-line")
        ),
        key="site_method",
    )
    reach = guarded(
        ReachOptions,
        mode=mode,
        method=method,
        # drive on a network: speed by road class (settings), as on the coverage page and the CLI
        speed_kmh=None if (mode == "drive" and method == "network") else speed,
        detour=detour,
        network=net if method == "network" else None,
    )
    return tuple(demand), weight or None, minutes, reach


def _existing(project) -> str | None:
    """The existing incubators kept as sites: a kind or a layer of the project."""
    opts = layer_choices(project, ("incubators",))
    if not opts:
        st.info(
            T(
                "项目中没有孵化载体图层: 请先在“导入数据”页添加现有孵化器。",
                "The project has no incubator layer: add the existing incubators on the import page.",
            )
        )
        return None
    return st.selectbox(
        T("现有孵化器(始终保留)", "Existing incubators (always kept)"),
        opts,
        format_func=lambda r: layer_label(project, r, lang()),
        key="site_existing",
    )


def _candidates(project) -> dict:
    src = st.radio(
        T("候选点来源", "Candidate source"),
        ["grid", "layer", "clicked"],
        format_func=lambda s: {
            "grid": T("六边形格网中心", "Hex-grid centres"),
            "layer": T("项目中的候选楼宇/地块图层", "A candidate layer of the project"),
            "clicked": T("地图上点选的候选点", "Points clicked on the map"),
        }[s],
        horizontal=True,
        key="site_src",
    )
    c1, c2, c3 = st.columns(3)
    zone = c1.selectbox(
        T("片区(候选范围)", "Zone (candidate area)"),
        ["", *project.zone_names()],
        format_func=lambda z: z or T("需求点的凸包", "hull of the demand"),
        key="site_zone",
    )
    clicked = tuple(st.session_state.get("site_clicked", []))
    if src == "grid":
        spacing = c2.number_input(
            T("格网间距 (m)", "Grid spacing (m)"),
            siting.MIN_GRID_M,
            5000.0,
            settings.SITING_GRID_M,
            50.0,
            key="site_spacing",
        )
        excl = c3.file_uploader(
            T("禁建区(水域等, GeoJSON, 可选)", "Forbidden areas (GeoJSON, optional)"),
            type=["geojson"],
            key="site_excl",
        )
        return {
            "candidates": f"grid:{spacing:g}",
            "zone": zone or None,
            "exclude_wkt": _exclusion_wkt(excl),
        }
    if src == "layer":
        opts = [lyr.name for lyr in project.resource_layers()]
        ref = c2.selectbox(T("候选图层", "Candidate layer"), opts, key="site_cand_layer")
        return {"candidates": ref, "zone": zone or None}
    st.caption(
        T(
            f"已点选 {len(clicked)} 个候选点(在下方“情景推演”地图上选择“添加候选点”后点击)",
            f"{len(clicked)} clicked candidates (use 'add candidate' on the what-if map below)",
        )
    )
    return {"candidates": "clicked", "zone": zone or None, "extra_candidates": clicked}


def _model() -> dict:
    m1, m2, m3, m4 = st.columns(4)
    model = m1.selectbox(
        T("模型", "Model"), list(MODELS), format_func=lambda m: T(*MODELS[m]), key="site_model"
    )
    k = m2.number_input("k", 1, 100, settings.SITING_K, key="site_k")
    target = m3.number_input(
        T("目标覆盖率", "Target share"), 0.05, 1.0, 0.6, 0.05, key="site_target"
    )
    solver = m4.selectbox(
        T("求解", "Solver"), list(SOLVERS), format_func=lambda s: T(*SOLVERS[s]), key="site_solver"
    )
    if model == "lscp":
        return {"model": model, "k": None, "target_share": float(target), "solver": solver}
    return {"model": model, "k": int(k), "target_share": None, "solver": solver}


def _run(project, req) -> None:
    with st.spinner(T("正在求解…", "Solving…")):
        report = guarded(siting.run, project, req)
    if report is not None:
        st.session_state["site_result"] = report
        st.session_state.pop("site_pack", None)


def _show(project, report) -> None:
    s, res = report.summary, report.result
    sol = res.solution
    synthetic_banner(s)
    bound = {
        "mclp": T("上界", "upper bound"),
        "lscp": T("站点数下界", "lower bound (sites)"),
        "pmedian": T("加权时间下界", "lower bound (weighted min)"),
    }[sol.model]
    st.success(
        f"{sol.model.upper()}: {len(sol.selected)} {T('个新址', 'new sites')}; "
        f"{T('覆盖率', 'covered')} {res.share_before:.1%} → {res.share_after:.1%}; "
        f"{T('目标值', 'objective')} {sol.objective:,.1f}, {bound} {sol.upper_bound:,.1f}, "
        f"{T('已证明差距', 'proven gap')} {sol.gap:.2%} ({sol.solver}, {sol.seconds:.2f} s)"
    )
    label = res.params.label(lang()) + f"; {res.minutes:g} min"
    cols = [
        "rank",
        "id",
        "name",
        "lon",
        "lat",
        "marginal_gain",
        "newly_covered_points",
        "newly_covered_weight",
        "catchment_points",
    ]
    table = pd.DataFrame(res.selected.drop(columns="geometry"))
    table = table[[c for c in cols if c in table]].assign(method=label)
    st.subheader(T("推荐新址(按边际增益排序)", "Recommended sites (by marginal gain)"))
    st.dataframe(table, hide_index=True, width="stretch")
    c1, c2 = st.columns(2)
    c1.caption(T("片区覆盖变化", "Change by zone"))
    c1.dataframe(res.by_zone, hide_index=True, width="stretch")
    c2.caption(T("区县覆盖变化", "Change by district"))
    c2.dataframe(res.by_district, hide_index=True, width="stretch")
    m = build_map(
        siting_map_layers(project, report, lang()),
        lang=lang(),
        legend_title=T("选址", "Siting"),
        extra_notes=(label,),
        fit_bounds=tuple(res.catchments.to_crs(4326).total_bounds) if len(res.catchments) else None,
    )
    st_folium(m, key="site_map", height=560, use_container_width=True, returned_objects=[])
    pack_buttons(
        project,
        report,
        title="孵化器选址分析",
        prefix="site",
        file_name="innomap_siting.zip",
        tables={"selected": table, "by_zone": res.by_zone, "by_district": res.by_district},
    )
    save_run_button(project, report, key="site_save", title=label)
    report_button(project, report, key="site", title=label)


def main() -> None:
    st.title(T("孵化器选址", "Incubator siting"))
    project = project_or_stop()
    reopen_run(
        project,
        "site",
        key="site_saved",
        rerun=lambda d: _run(project, siting.SitingRequest.from_dict(d)),
    )
    demand, weight, minutes, reach = _demand_and_reach(project)
    if not demand or reach is None:
        st.info(T("请选择需求图层。", "Choose a demand layer."))
        return
    existing = _existing(project)
    if existing is None:
        return
    st.subheader(T("候选点", "Candidates"))
    cands = _candidates(project)
    st.subheader(T("模型", "Model"))
    model = _model()
    if st.button(T("求解选址", "Solve"), type="primary", key="site_run"):
        req = guarded(
            siting.SitingRequest,
            demand=demand,
            weight=weight,
            existing=existing,
            minutes=minutes,
            reach=reach,
            **cands,
            **model,
        )
        if req is not None:
            _run(project, req)
    if st.session_state.get("site_result") is not None:
        _show(project, st.session_state["site_result"])
    graph = guarded(project_graph, project, reach.network) if reach.network else None
    what_if(
        project,
        {
            "demand": demand,
            "weight": weight,
            "existing": existing,
            "minutes": minutes,
            "reach": reach,
        },
        graph,
    )


main()
