"""Incubator siting page (孵化器选址): widgets → request → workflow → render; what-if below."""

from __future__ import annotations

import io

import geopandas as gpd
import pandas as pd
import shapely
import streamlit as st

import settings
from layers.registry import REGISTRY
from render.analysis_maps import siting_map_layers
from render.input_maps import Role
from render.webmap import build_map
from ui.common import (
    T,
    guarded,
    md_text,
    pack_buttons,
    project_or_stop,
    reopen_run,
    report_button,
    save_run_button,
    synthetic_banner,
)
from ui.i18n import choice_label, column_header, lang, t
from ui.mapview import input_map, show_map
from ui.precision import include_imprecise_checkbox, precision_banner
from ui.progress import ProgressBar, was_cancelled
from ui.run_view import show_saved_run
from ui.state import layer_choices, layer_label
from ui.tables import bar_chart, show_table
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
            md_text(
                T(
                    f"{up.name}: 无法读取禁建区 GeoJSON ({type(exc).__name__})",
                    f"{up.name}: cannot read the exclusion GeoJSON ({type(exc).__name__})",
                )
            )
        )
        return None
    g = g.set_crs(4326) if g.crs is None else g.to_crs(4326)
    return shapely.union_all(g.geometry.values).wkt if len(g) else None


def _demand_and_reach(project):
    opts = layer_choices(project, DEMAND_KINDS)
    demand = st.multiselect(
        T("需求", "Demand"),
        opts,
        default=opts[:1],
        format_func=lambda r: layer_label(project, r, lang()),
        key="site_demand",
        placeholder=t("choose"),
    )
    kinds = {r if r in REGISTRY else project.layers[r].kind for r in demand}
    weights = dict.fromkeys(w for k in sorted(kinds) for w in REGISTRY[k].weight_fields)
    weight = st.selectbox(
        T("权重", "Weight"),
        ["", *weights],
        format_func=lambda w: column_header(w) if w else T("计数", "count"),
        key="site_weight",
    )
    c1, c2 = st.columns(2)
    minutes = c1.number_input(
        T("服务时间 (分钟)", "Travel time (min)"),
        1.0,
        120.0,
        settings.SITING_MINUTES,
        1.0,
        key="site_minutes",
    )
    mode = c2.selectbox(
        T("出行方式", "Mode"),
        ["walk", "bike", "drive"],
        format_func=lambda m: choice_label("mode", m),
        key="site_mode",
    )
    c3, c4 = st.columns(2)
    speed = c3.number_input(
        T("速度 (千米/小时)", "Speed (km/h)"),
        1.0,
        120.0,
        settings.default_speed_kmh(mode) or settings.STRAIGHT_DRIVE_KMH,
        key=f"site_speed_{mode}",
    )
    detour = c4.number_input(
        T("绕行系数(直线法)", "Detour factor"), 1.0, 3.0, settings.DETOUR, 0.05, key="site_detour"
    )
    net = st.session_state.get("network_ref")
    method = st.radio(
        T("方法", "Method"),
        ["straight", "network"] if net else ["straight"],
        format_func=lambda m: (
            T("路网法", "Road network") if m == "network" else T("直线距离近似法", "Straight-line")
        ),
        horizontal=True,
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
        key="site_src",
    )
    zone = st.selectbox(
        T("片区(候选范围)", "Zone (candidate area)"),
        ["", *project.zone_names()],
        format_func=lambda z: z or T("需求点的凸包", "hull of the demand"),
        key="site_zone",
    )
    clicked = tuple(st.session_state.get("site_clicked", []))
    if src == "grid":
        spacing = st.number_input(
            T("格网间距 (米)", "Grid spacing (m)"),
            siting.MIN_GRID_M,
            5000.0,
            settings.SITING_GRID_M,
            50.0,
            key="site_spacing",
        )
        excl = st.file_uploader(
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
        ref = st.selectbox(T("候选图层", "Candidate layer"), opts, key="site_cand_layer")
        return {"candidates": ref, "zone": zone or None}
    st.caption(
        T(
            f"已点选 {len(clicked)} 个候选点(在“情景推演”地图上选择“添加候选点”后点击)",
            f"{len(clicked)} clicked candidates (use 'add candidate' on the what-if map)",
        )
    )
    return {"candidates": "clicked", "zone": zone or None, "extra_candidates": clicked}


def _model() -> dict:
    model = st.selectbox(
        T("模型", "Model"), list(MODELS), format_func=lambda m: T(*MODELS[m]), key="site_model"
    )
    m2, m3 = st.columns(2)
    k = m2.number_input(T("新址数 k", "New sites k"), 1, 100, settings.SITING_K, key="site_k")
    target = m3.number_input(
        T("目标覆盖率", "Target share"), 0.05, 1.0, 0.6, 0.05, key="site_target"
    )
    solver = st.selectbox(
        T("求解", "Solver"), list(SOLVERS), format_func=lambda s: T(*SOLVERS[s]), key="site_solver"
    )
    if model == "lscp":
        return {"model": model, "k": None, "target_share": float(target), "solver": solver}
    return {"model": model, "k": int(k), "target_share": None, "solver": solver}


def _aggregation(project, demand) -> dict:
    """Demand merged to cells for large demand (proposed above a row count)."""
    refs = set(demand)
    rows = sum(lyr.rows for lyr in project.layers.values() if lyr.name in refs or lyr.kind in refs)
    big = rows > settings.SITING_AGGREGATE_ABOVE_ROWS
    cell = st.number_input(
        T("需求合并格网 (米, 0 = 逐点)", "Merge demand to cells (m, 0 = every point)"),
        0.0,
        siting.MAX_AGGREGATE_M,
        settings.SITING_AGGREGATE_M if big else 0.0,
        25.0,
        key="site_aggregate_m",
        help=T(
            f"需求 {rows:,} 行。大量需求时先按格网合并再选址; 覆盖率仍按全部需求点精确计算, 并报告误差上界。",
            f"{rows:,} demand rows. For large demand the sites are chosen on merged cells; "
            "coverage stays exact on every point and the error bound is reported.",
        ),
    )
    return {"aggregate_m": float(cell) if cell > 0 else None}


def _aggregation_caption(s: dict) -> None:
    if "aggregate_m" in s:
        st.caption(
            T(
                f"需求按 {s['aggregate_m']:g} 米格网合并为 {s['aggregated_rows']:,} 行后选址; "
                f"最大位移 {s['aggregation_max_displacement_m']:,.0f} 米 "
                f"(≤ {s['aggregation_max_minutes']:.2f} 分钟), 可能判断有误的需求 ≤ "
                f"{s['aggregation_band_share']:.2%}; 覆盖率按全部需求点精确计算。",
                f"Sites chosen on demand merged to {s['aggregate_m']:g} m cells "
                f"({s['aggregated_rows']:,} rows): displacement ≤ "
                f"{s['aggregation_max_displacement_m']:,.0f} m (≤ "
                f"{s['aggregation_max_minutes']:.2f} min), demand possibly misjudged ≤ "
                f"{s['aggregation_band_share']:.2%}; coverage is exact on every point.",
            )
        )


def _run(project, req) -> None:
    with ProgressBar(
        T("评估候选点", "Evaluating candidates"),
        key="site_progress",
        unit=T("个", "candidates"),
        after=T("求解中…", "solving…"),
    ) as bar:
        # in a worker: the seconds run on and cancel works while the solver runs too
        report = guarded(bar.run, lambda progress: siting.run(project, req, on_progress=progress))
    if report is not None:
        st.session_state["site_result"] = report
        st.session_state.pop("site_pack", None)


def _solution_text(res) -> str:
    sol = res.solution
    bound = {
        "mclp": T("上界", "upper bound"),
        "lscp": T("站点数下界", "lower bound (sites)"),
        "pmedian": T("加权时间下界", "lower bound (weighted min)"),
    }[sol.model]
    return (
        f"{sol.model.upper()}: {len(sol.selected)} {T('个新址', 'new sites')}; "
        f"{T('覆盖率', 'covered')} {res.share_before:.1%} → {res.share_after:.1%}; "
        f"{T('目标值', 'objective')} {sol.objective:,.1f}, {bound} {sol.upper_bound:,.1f}, "
        f"{T('已证明差距', 'proven gap')} {sol.gap:.2%} ({choice_label('solver', sol.solver)}, {sol.seconds:.2f} {T('秒', 's')})"
    )


SELECTED_COLUMNS = [
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


def _show(project, report) -> None:
    """The result map first, then the solution line and the result tabs under it."""
    s, res = report.summary, report.result
    precision_banner(s)  # first: existing sites left out as imprecise (the headline)
    synthetic_banner(s)
    label = res.params.label(lang()) + f"; {res.minutes:g} min"
    table = pd.DataFrame(res.selected.drop(columns="geometry"))
    table = table[[c for c in SELECTED_COLUMNS if c in table]].assign(method=label)
    L = lang()
    show_map(
        lambda: build_map(
            siting_map_layers(project, report, L),
            lang=L,
            legend_title=T("选址", "Siting"),
            extra_notes=(label,),
            fit_bounds=tuple(res.catchments.to_crs(4326).total_bounds)
            if len(res.catchments)
            else None,
        ),
        page="site",
        key=(project, report, L),  # built once per result
        reset_on=(project.ref,),
    )
    st.success(_solution_text(res))
    _aggregation_caption(s)
    t1, t2, t3, t4 = st.tabs(
        [
            T("推荐新址", "Recommended sites"),
            T("片区覆盖变化", "Change by zone"),
            T("区县覆盖变化", "Change by district"),
            T("导出与保存", "Export and save"),
        ]
    )
    with t1:
        st.caption(T("按边际增益排序", "By marginal gain"))
        show_table(table, key="site_selected", name=T("推荐新址", "Sites"))
        bar_chart(
            table.assign(rank=[f"#{r}" for r in table["rank"]]), index="rank", value="marginal_gain"
        )
    for tab, df, group, name in (
        (t2, res.by_zone, "zone", T("片区覆盖变化", "By zone")),
        (t3, res.by_district, "district", T("区县覆盖变化", "By district")),
    ):
        with tab:
            show_table(df, key=f"site_{group}", name=name)
            bar_chart(_before_after(df, group), index=group, value="share", series="when")
    with t4:
        _export(project, report, table, label)


def _before_after(df: pd.DataFrame, group: str) -> pd.DataFrame:
    """Share before and after by group, long (one row a group and moment)."""
    if df.empty:
        return df
    before = df[[group, "share_before"]].rename(columns={"share_before": "share"})
    after = df[[group, "share_after"]].rename(columns={"share_after": "share"})
    return pd.concat(
        [before.assign(when=T("现状", "before")), after.assign(when=T("新增后", "after"))]
    )


def _export(project, report, table, label: str) -> None:
    res = report.result
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


def _controls(project):
    """The sidebar: what to show, demand and travel, existing sites, candidates, model.

    Returns ``(base, request or None)``: ``base`` for the what-if (None when incomplete).
    """
    with st.sidebar:
        st.header(T("选址参数", "Parameters"))
        view = st.radio(
            T("显示", "Show"),
            ["result", "whatif"],
            format_func=lambda v: (
                T("选址结果", "Siting result")
                if v == "result"
                else T("情景推演(点击地图)", "What-if (click the map)")
            ),
            horizontal=True,
            key="site_view",
        )
        reopen_run(
            project,
            "site",
            key="site_saved",
            rerun=lambda d: _run(project, siting.SitingRequest.from_dict(d)),
        )
        with st.expander(T("需求与出行", "Demand and travel"), expanded=True):
            demand, weight, minutes, reach = _demand_and_reach(project)
        if not demand or reach is None:
            return view, None, None
        existing = _existing(project)
        if existing is None:
            return view, None, None
        with st.expander(T("候选点", "Candidates")):
            cands = _candidates(project)
        with st.expander(T("模型", "Model"), expanded=True):
            model = _model() | _aggregation(project, demand)
        imprecise = include_imprecise_checkbox(key="site_imprecise")
        go = st.button(T("求解选址", "Solve"), type="primary", key="site_run", width="stretch")
    base = {
        "demand": demand,
        "weight": weight,
        "existing": existing,
        "minutes": minutes,
        "reach": reach,
    }
    if not go:
        return view, base, None
    req = guarded(siting.SitingRequest, **base, **cands, **model, include_imprecise=imprecise)
    return view, base, req


def main() -> None:
    st.title(T("孵化器选址", "Incubator siting"))
    project = project_or_stop()
    if was_cancelled("site_progress"):
        st.info(T("已取消求解。", "Solving was cancelled."))
    view, base, req = _controls(project)
    if base is None:
        st.info(
            T("请在侧栏选择需求图层与现有孵化器。", "Choose the demand and existing incubators.")
        )
        return
    if req is not None:
        _run(project, req)
    if view == "whatif":
        reach = base["reach"]
        graph = guarded(project_graph, project, reach.network) if reach.network else None
        what_if(project, base, graph)
        return
    if show_saved_run(project, key="site_saved", fresh=req is not None):
        return  # a saved run, from its stored layers
    report = st.session_state.get("site_result")
    if report is None:
        input_map(
            project,
            [
                Role("demand", T("需求", "Demand"), base["demand"]),
                Role("existing", T("现有孵化器", "Existing incubators"), (base["existing"],)),
            ],
            page="site",
            legend_title=T("需求与现有孵化器", "Demand and existing incubators"),
        )
        st.caption(T("在侧栏设置参数后点击“求解选址”。", "Set the parameters and press Solve."))
        return
    _show(project, report)


main()
