"""Clustering and hot spots page (集聚与热点分析): widgets → request → workflow → render."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import settings
from layers.registry import POINT_LAYERS, REGISTRY
from render.analysis_maps import (
    area_bounds,
    cluster_map_layers,
    hotspot_map_layers,
    kde_png,
    ripley_figure,
)
from render.input_maps import Role
from render.webmap import add_image_overlay, build_map
from ui.common import (
    T,
    guarded,
    md_text,
    pack_buttons,
    project_or_stop,
    reopen_run,
    report_button,
    save_run_button,
    session_memo,
    synthetic_banner,
)
from ui.i18n import CHOICE_LABELS, choice_label, column_header, lang, t
from ui.mapview import input_map, show_map
from ui.precision import include_imprecise_checkbox, precision_banner
from ui.run_view import show_saved_run
from ui.state import layer_choices, layer_label
from ui.tables import bar_chart, show_table
from workflows import clusters, hotspots, pointstats

DEFAULT_KINDS = ("enterprises", "incubators", "universities", "platforms")


def _inputs(project):
    opts = layer_choices(project, POINT_LAYERS)
    keys = st.multiselect(
        T("分析图层", "Layers"),
        opts,
        default=[k for k in DEFAULT_KINDS if k in opts] or opts[:1],
        format_func=lambda r: layer_label(project, r, lang()),
        key="cl_layers",
        placeholder=t("choose"),
    )
    zone = st.selectbox(
        T("研究区", "Study area"),
        ["", *project.zone_names()],
        format_func=lambda z: z or T("点的凸包", "hull of the points"),
        key="cl_zone",
    )
    include_imprecise_checkbox(key="cl_imprecise")  # clusters, hot spots and statistics
    return tuple(keys), zone or None


def _imprecise() -> bool:
    return bool(st.session_state.get("cl_imprecise", False))


def _run(project, req) -> None:
    st.session_state["cl_report"] = guarded(clusters.run, project, req)
    st.session_state.pop("cl_pack", None)
    st.session_state["cl_shown"] = "clusters"


def _cluster_controls(project, keys, zone) -> None:
    """Sidebar: DBSCAN/HDBSCAN parameters and the run button."""
    st.caption(
        T(
            "DBSCAN: 邻域半径 eps 内至少有“核心点最少点数”个点即为核心点, 相互可达的核心点组成一个簇; "
            "HDBSCAN: 自动适应不同密度, 只需最小簇规模。距离单位为米(投影坐标)。",
            "DBSCAN: a core point has min_samples points within eps; connected core points form a "
            "cluster. HDBSCAN adapts to varying density. Distances in metres.",
        )
    )
    reopen_run(
        project,
        "clusters",
        key="cl_saved",
        rerun=lambda d: _run(project, clusters.ClustersRequest.from_dict(d)),
    )
    method = st.radio(
        T("方法", "Method"),
        ["dbscan", "hdbscan"],
        format_func=lambda m: choice_label("cluster_method", m),
        key="cl_method",
        horizontal=True,
    )
    c1, c2 = st.columns(2)
    eps = c1.number_input(
        T("邻域半径 eps (米)", "eps (m)"),
        20.0,
        clusters.MAX_EPS_M,
        settings.CLUSTER_EPS_M,
        10.0,
        key="cl_eps",
    )
    ms = c2.number_input(
        T("核心点最少点数", "min_samples"), 1, 500, settings.CLUSTER_MIN_SAMPLES, key="cl_ms"
    )
    mcs = st.number_input(
        T("最小簇规模 (HDBSCAN)", "min_cluster_size (HDBSCAN)"),
        2,
        5000,
        settings.CLUSTER_MIN_CLUSTER_SIZE,
        key="cl_mcs",
    )
    if st.button(T("运行聚类", "Run clustering"), key="cl_run", type="primary", width="stretch"):
        req = guarded(
            clusters.ClustersRequest,
            layers=keys,
            method=method,
            eps_m=eps,
            min_samples=int(ms),
            min_cluster_size=int(mcs),
            zone=zone,
            include_imprecise=_imprecise(),
        )
        if req is not None:
            _run(project, req)


def _hotspot_controls(project, keys, zone) -> None:
    """Sidebar: Gi* grid, permutations, weight, KDE bandwidth and the run button."""
    st.caption(
        T(
            "Getis-Ord Gi*: 六边形格网上每个格网及其邻域与全局均值比较; 置换检验给出伪 p 值, "
            "按错误发现率 (FDR) 校正后分为 90/95/99% 置信度的热点/冷点。",
            "Getis-Ord Gi* on a hexagonal grid; permutation pseudo p-values, FDR correction, "
            "hot/cold spots at 90/95/99 %.",
        )
    )
    c1, c2 = st.columns(2)
    cell = c1.number_input(
        T("格网间距 (米)", "Cell spacing (m)"),
        100.0,
        10000.0,
        settings.HOTSPOT_CELL_M,
        50.0,
        key="hs_cell",
    )
    perms = c2.number_input(
        T("置换次数", "Permutations"), 0, 9999, settings.HOTSPOT_PERMUTATIONS, key="hs_perm"
    )
    wopts = [""] + sorted({w for k in keys if k in REGISTRY for w in REGISTRY[k].weight_fields})
    weight = st.selectbox(
        T("权重", "Weight"),
        wopts,
        format_func=lambda w: column_header(w) if w else T("计数", "count"),
        key="hs_w",
    )
    bw = st.number_input(
        T("核密度带宽 (米, 0 = 经验公式)", "KDE bandwidth (m, 0 = rule of thumb)"),
        0.0,
        20000.0,
        0.0,
        10.0,
        key="hs_bw",
    )
    if st.button(T("运行热点分析", "Run hot spot analysis"), key="hs_run", width="stretch"):
        req = guarded(
            hotspots.HotspotsRequest,
            layers=keys,
            weight=weight or None,
            cell_m=cell,
            permutations=int(perms),
            zone=zone,
            include_imprecise=_imprecise(),
        )
        report = guarded(hotspots.run, project, req) if req else None
        if report is not None:
            surf = guarded(hotspots.kde, report, bandwidth_m=bw or None, weight=weight or None)
            st.session_state["hs_report"] = (report, surf)
            st.session_state.pop("hs_pack", None)
            st.session_state["cl_shown"] = "hotspots"


def _stats_controls(project, keys, zone):
    """Sidebar: Ripley's L and the co-location quotient (results in the statistics tab);
    returns the nearest-neighbour report (None when the points cannot be read)."""
    req = pointstats.PointStatsRequest(layers=keys, zone=zone, include_imprecise=_imprecise())
    report = session_memo(  # once per project state and request, not on every rerun
        "cl_stats",
        (project.ref, project.version, repr(req), lang()),
        lambda: guarded(pointstats.run, project, req, lang=lang()),
    )
    if report is None:
        return None
    kinds = sorted(report.inputs["points"]["kind"].astype(str).unique())
    kind = st.selectbox(T("Ripley's L: 类别", "Ripley's L: kind"), kinds, key="rl_kind")
    if st.button(
        T("计算 L 函数(99 次模拟包络)", "Compute L (99-simulation envelope)"), key="rl_run"
    ):
        rl = guarded(pointstats.ripley, project, req, kind=kind)
        st.session_state["rl_result"] = rl
    c1, c2 = st.columns(2)
    a = c1.selectbox("CLQ A", kinds, key="clq_a")
    b = c2.selectbox("CLQ B", kinds, index=min(1, len(kinds) - 1), key="clq_b")
    if st.button(T("计算 CLQ(499 次置换)", "Compute CLQ (499 permutations)"), key="clq_run"):
        st.session_state["clq_result"] = guarded(pointstats.clq, project, req, kind_a=a, kind_b=b)
    return report


def _controls(project):
    """The sidebar: layers, study area and the three analyses' parameters."""
    with st.sidebar:
        st.header(T("集聚与热点参数", "Parameters"))
        keys, zone = _inputs(project)
        if not keys:
            return keys, zone, None
        with st.expander(T("密度聚类", "Density clusters"), expanded=True):
            _cluster_controls(project, keys, zone)
        with st.expander(T("热点分析 Gi*", "Hot spots (Gi*)")):
            _hotspot_controls(project, keys, zone)
        with st.expander(T("点模式统计", "Point-pattern statistics")):
            stats = _stats_controls(project, keys, zone)
    return keys, zone, stats


def _cluster_map(project, report):
    s = report.summary
    return build_map(
        cluster_map_layers(project, report, lang()),
        lang=lang(),
        legend_title=T("密度聚类", "Density clusters"),
        extra_notes=(s["params_label"],),
        fit_bounds=tuple(report.inputs["points"].to_crs(4326).total_bounds),
    )


def _hotspot_map(project, report, surf):
    label = _hotspot_label(report.summary)
    m = build_map(
        hotspot_map_layers(project, report, lang()),
        lang=lang(),
        legend_title="Gi*",
        extra_notes=(label,),
        fit_bounds=area_bounds(report.result, report.layers["cells"].crs),
    )
    if surf is not None:
        png, _b, box = kde_png(surf)
        add_image_overlay(
            m, png, area_bounds(box, report.layers["cells"].crs), name=T("核密度", "Kernel density")
        )
    return m


def _hot_class(value) -> str:
    """A Gi* class (``hot_99``) as the session's language shows it (热点 (99% 置信度))."""
    return choice_label("hot_class", value)


def _hotspot_label(s: dict) -> str:
    return (
        f"Gi* {T('格网', 'cell')} {s['cell_m']:g} {T('米', 'm')}, {s['permutations']} "
        f"{T('次置换', 'permutations')}, {T('错误发现率 (FDR) 校正', 'FDR')}"
    )


def _map(project, keys) -> None:
    """The map of the result last run (clusters or hot spots), else the chosen points."""
    cl, hs = st.session_state.get("cl_report"), st.session_state.get("hs_report")
    shown = st.session_state.get("cl_shown")
    if shown == "hotspots" and hs:
        precision_banner(hs[0].summary)  # leads: points left out as imprecise
        synthetic_banner(hs[0].summary)
        show_map(
            lambda: _hotspot_map(project, *hs),
            page="cl",
            key=(project, *hs, lang()),  # built once per result
            reset_on=(project.ref,),
        )
    elif cl:
        precision_banner(cl.summary)
        synthetic_banner(cl.summary)
        show_map(
            lambda: _cluster_map(project, cl),
            page="cl",
            key=(project, cl, lang()),  # built once per result
            reset_on=(project.ref,),
        )
    else:
        input_map(
            project,
            [Role("points", T("分析点", "Points"), keys)],
            page="cl",
            legend_title=T("分析图层", "Layers"),
        )
    if cl and hs:
        st.radio(
            T("地图显示", "Map shows"),
            ["clusters", "hotspots"],
            format_func=lambda v: (
                T("密度聚类", "Density clusters")
                if v == "clusters"
                else T("热点分析 Gi*", "Hot spots (Gi*)")
            ),
            horizontal=True,
            key="cl_shown",
        )


def _clusters_tab(project) -> None:
    report = st.session_state.get("cl_report")
    if not report:
        st.caption(T("在侧栏设置参数后点击“运行聚类”。", "Set the parameters and run clustering."))
        return
    s = report.summary
    st.success(
        md_text(
            f"{T(s['params_label'], s.get('params_label_en', s['params_label']))}: "
            f"{s['n_clusters']} {T('个簇', 'clusters')}, "
            f"{s['n_noise']} {T('个噪声点', 'noise points')}"
        )
    )
    tab = report.tables["clusters"].assign(params=s["params_label"])
    if len(tab):
        top = tab.sort_values("size", ascending=False).head(30)
        top = top.assign(id=[f"#{i}" for i in top["id"]])
        bar_chart(top, index="id", value="size")
    show_table(tab, key="cl_clusters", name=T("簇", "Clusters"))
    pack_buttons(
        project, report, title="创新资源密度聚类", prefix="cl", file_name="innomap_clusters.zip"
    )
    save_run_button(project, report, key="cl_save", title=s["params_label"])
    report_button(project, report, key="cl", title=s["params_label"])


def _hotspots_tab(project) -> None:
    held = st.session_state.get("hs_report")
    if not held:
        st.caption(T("在侧栏设置参数后点击“运行热点分析”。", "Set the parameters and run."))
        return
    report = held[0]
    label = _hotspot_label(report.summary)
    st.success(md_text(label))
    classes = report.tables["classes"]
    order = list(CHOICE_LABELS["hot_class"])  # hot 99 … not significant … cold 99
    classes = classes.assign(
        rank=classes["class"].map(lambda c: order.index(c) if c in order else len(order)),
        label=classes["class"].map(_hot_class),
    ).sort_values("rank")
    classes = classes[["label", "cells"]].rename(columns={"label": "class"})
    bar_chart(classes, index="class", value="cells")
    show_table(classes, key="hs_classes", name=T("热点类别", "Classes"))
    pack_buttons(
        project,
        report,
        title="创新资源热点分析 (Gi*)",
        prefix="hs",
        file_name="innomap_hotspots.zip",
    )
    save_run_button(project, report, key="hs_save", title=label)
    report_button(project, report, key="hs", title=label)


def _stats_tab(report) -> None:
    if report is None:
        return
    st.subheader(T("平均最近邻 (Clark–Evans R)", "Average nearest neighbour (Clark–Evans R)"))
    show_table(
        pd.DataFrame(report.summary["nearest_neighbour"]),
        key="nn",
        name=T("平均最近邻", "Nearest neighbour"),
    )
    c1, c2 = st.columns(2)
    with c1:
        st.subheader(T("Ripley's L 函数", "Ripley's L function"))
        if st.session_state.get("rl_result") is not None:
            st.pyplot(ripley_figure(st.session_state["rl_result"], lang=lang()))
        else:
            st.caption(T("在侧栏“点模式统计”中计算。", "Compute it in the sidebar."))
    with c2:
        st.subheader(T("共址商 (CLQ)", "Co-location quotient"))
        r = st.session_state.get("clq_result")
        if r is not None:
            show_table(pd.DataFrame([r]), key="clq", name="CLQ", downloads=False)
            st.caption(
                T(
                    "CLQ > 1 且 p < 0.05: A 的最近邻更常为 B(显著共址)。",
                    "CLQ > 1 with p < 0.05: A's nearest neighbour is B more often than by chance.",
                )
            )


def main() -> None:
    st.title(T("集聚与热点分析", "Clusters and hot spots"))
    project = project_or_stop()
    keys, _zone, stats = _controls(project)
    if show_saved_run(project, key="cl_saved"):
        return  # a saved run, from its stored layers (choose “—” to go back)
    if not keys:
        st.info(T("请至少选择一个图层。", "Choose at least one layer."))
        return
    _map(project, keys)
    t3, t1, t2 = st.tabs(
        [
            T("点模式统计", "Point-pattern statistics"),
            T("密度聚类", "Density clusters"),
            T("热点分析 Gi*", "Hot spots (Gi*)"),
        ]
    )
    with t3:
        _stats_tab(stats)
    with t1:
        _clusters_tab(project)
    with t2:
        _hotspots_tab(project)


main()
