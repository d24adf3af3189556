"""Clustering and hot spots page (集聚与热点分析)."""

from __future__ import annotations

import io

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shapely
import streamlit as st
from streamlit_folium import st_folium

from export.fonts import cjk_font
from geo.clusters import ClusterError, cluster_points, cluster_summary
from geo.hotspots import HotspotError, arcgis_bandwidth, hotspot_cells, kde_surface
from geo.pointstats import PointStatsError, clark_evans, colocation_quotient, ripley_l
from layers.crs import to_metric
from layers.registry import REGISTRY
from render.webmap import MapLayer, add_image_overlay, build_map
from ui.i18n import lang
from ui.state import project_layers

POINT_KEYS = (
    "enterprises",
    "incubators",
    "universities",
    "platforms",
    "science_venues",
    "communities",
)
HOT_COLORS = {
    "hot_99": "#d7191c",
    "hot_95": "#f46d43",
    "hot_90": "#fdae61",
    "not_significant": "#eeeeee",
    "cold_90": "#abd9e9",
    "cold_95": "#74add1",
    "cold_99": "#2c7bb6",
}


def T(zh: str, en: str) -> str:
    return en if lang() == "en" else zh


def _points(layers, keys) -> gpd.GeoDataFrame:
    parts = []
    for k in keys:
        g = layers[k].copy()
        g["layer"] = k
        parts.append(g)
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)
    out["id"] = out["layer"] + ":" + out["id"].astype(str)
    return out


def _study_area(layers, pts_m, zone):
    if zone:
        return layers["zones"][layers["zones"]["name"] == zone].to_crs(pts_m.crs).geometry.iloc[0]
    xy = pts_m.geometry.get_coordinates().to_numpy()
    return shapely.convex_hull(shapely.multipoints(xy)).buffer(100.0)


def _kde_png(surface) -> bytes:
    d = surface.density
    d = np.ma.masked_less_equal(d, d.max() * 0.02 if d.max() > 0 else 0)
    buf = io.BytesIO()
    plt.imsave(buf, d, cmap="YlOrRd", format="png")
    return buf.getvalue()


def main() -> None:
    L = lang()
    st.title(T("集聚与热点分析", "Clusters and hot spots"))
    layers = project_layers()
    keys = st.multiselect(
        T("分析图层", "Layers"),
        list(POINT_KEYS),
        default=["enterprises", "incubators", "universities", "platforms"],
        format_func=lambda k: REGISTRY[k].name(L),
        key="cl_layers",
    )
    zone_opts = ["", *layers["zones"]["name"].tolist()]
    zone = st.selectbox(
        T("研究区", "Study area"),
        zone_opts,
        format_func=lambda z: z or "点的凸包 / hull of the points",
        key="cl_zone",
    )
    if not keys:
        st.info(T("请至少选择一个图层。", "Choose at least one layer."))
        return
    pts = _points(layers, keys)
    if zone:
        pts = pts[pts["zone"].str.split("、").apply(lambda zs: zone in zs)]
    if len(pts) < 3:
        st.warning(T("研究区内点太少。", "Too few points in the study area."))
        return
    pts_m = to_metric(pts)
    area = _study_area(layers, pts_m, zone)

    t1, t2, t3 = st.tabs(
        [
            T("密度聚类", "Density clusters"),
            T("热点分析 Gi*", "Hot spots (Gi*)"),
            T("点模式统计", "Point-pattern statistics"),
        ]
    )
    with t1:
        st.caption(
            T(
                "DBSCAN: 半径 eps 内至少 min_samples 个点即为核心点, 相互可达的核心点组成一个簇; "
                "HDBSCAN: 自动适应不同密度, 只需最小簇规模。距离单位为米(投影坐标)。",
                "DBSCAN: a core point has min_samples points within eps; connected core points form a cluster. "
                "HDBSCAN adapts to varying density and needs only a minimum cluster size. Distances in metres.",
            )
        )
        c1, c2, c3, c4 = st.columns(4)
        method = c1.radio(T("方法", "Method"), ["dbscan", "hdbscan"], key="cl_method")
        eps = c2.number_input("eps (m)", 20.0, 5000.0, 300.0, 10.0, key="cl_eps")
        ms = c3.number_input("min_samples", 1, 500, 10, key="cl_ms")
        mcs = c4.number_input("min_cluster_size (HDBSCAN)", 2, 5000, 20, key="cl_mcs")
        if st.button(T("运行聚类", "Run clustering"), key="cl_run"):
            try:
                lab = cluster_points(
                    pts_m, method=method, eps_m=eps, min_samples=int(ms), min_cluster_size=int(mcs)
                )
                summ = cluster_summary(lab, zones=layers["zones"], districts=layers["districts"])
                params = (
                    f"DBSCAN eps={eps:g} m, min_samples={int(ms)}"
                    if method == "dbscan"
                    else f"HDBSCAN min_cluster_size={int(mcs)}, min_samples={int(ms)}"
                )
                st.session_state["cl_result"] = {"labelled": lab, "summary": summ, "params": params}
            except ClusterError as exc:
                st.error(str(exc))
        res = st.session_state.get("cl_result")
        if res:
            lab, summ = res["labelled"], res["summary"]
            st.success(
                f"{res['params']}: {len(summ)} {T('个簇', 'clusters')}, "
                f"{int((lab['cluster'] < 0).sum())} {T('个噪声点', 'noise points')}"
            )
            tab = pd.DataFrame(
                summ.drop(columns=["geometry", "centroid_x", "centroid_y"], errors="ignore")
            )
            tab["by_kind"] = tab["by_kind"].map(
                lambda d: "、".join(f"{k} {v}" for k, v in d.items())
            )
            tab["params"] = res["params"]
            st.dataframe(tab, hide_index=True, width="stretch")
            hulls = summ.to_crs(4326)
            hulls["name"] = hulls["label"] + " #" + hulls["id"].astype(str)
            clustered = lab[lab["cluster"] >= 0].to_crs(4326)
            noise = lab[lab["cluster"] < 0].to_crs(4326)
            fields = ("id", "name", "kind", "subtype", "cluster", "synthetic")
            ml = [
                MapLayer(
                    "zones",
                    REGISTRY["zones"].name(L),
                    layers["zones"],
                    REGISTRY["zones"].color,
                    "polygon",
                ),
                MapLayer(
                    "hulls",
                    T("簇范围(凹包)", "Cluster hulls"),
                    hulls,
                    "#e6550d",
                    "polygon",
                    fields=(
                        "name",
                        "size",
                        "label",
                        "area_km2",
                        "density_per_km2",
                        "zone",
                        "district",
                    ),
                    style={"fillOpacity": 0.25, "weight": 2},
                ),
                MapLayer("noise", T("噪声点", "Noise"), noise, "#999999", "point", fields=fields),
                MapLayer(
                    "clustered",
                    T("簇内点", "Clustered points"),
                    clustered,
                    "#e6550d",
                    "point",
                    fields=fields,
                ),
            ]
            m = build_map(
                ml,
                lang=L,
                legend_title=T("密度聚类", "Density clusters"),
                extra_notes=(res["params"],),
                fit_bounds=tuple(gpd.GeoSeries([area], crs=pts_m.crs).to_crs(4326).total_bounds),
            )
            st_folium(m, key="cl_map", height=560, use_container_width=True, returned_objects=[])
            if st.button(T("导出聚类资料包", "Export cluster pack"), key="cl_export"):
                from export.maps import cluster_print_layers
                from export.pack import result_pack

                pl = cluster_print_layers(lab, summ, zone=zone or None)
                st.session_state["cl_pack"] = result_pack(
                    title="创新资源密度聚类",
                    print_layers=pl,
                    layers={
                        "points": lab,
                        "clusters": summ.drop(columns=["centroid_x", "centroid_y"]),
                    },
                    tables={"clusters": tab},
                    params={"params": res["params"], "layers": keys, "zone": zone},
                    notes=[res["params"]],
                    subtitle=res["params"],
                )
            if "cl_pack" in st.session_state:
                st.download_button(
                    T("下载聚类资料包", "Download cluster pack"),
                    st.session_state["cl_pack"],
                    file_name="innomap_clusters.zip",
                    mime="application/zip",
                    key="cl_dl",
                )

    with t2:
        st.caption(
            T(
                "Getis-Ord Gi*: 在六边形格网上比较每个格网及其邻域与全局均值; 置换检验给出伪 p 值, "
                "并按错误发现率 (FDR) 校正后分为 90/95/99% 置信度的热点/冷点。核密度带宽默认采用经验公式。",
                "Getis-Ord Gi* on a hexagonal grid: each cell and its neighbours against the global mean; "
                "permutation pseudo p-values, FDR correction, hot/cold at 90/95/99 %. The KDE bandwidth defaults to a rule of thumb.",
            )
        )
        c1, c2, c3, c4 = st.columns(4)
        cell = c1.number_input(
            T("格网间距 (m)", "Cell spacing (m)"), 100.0, 10000.0, 500.0, 50.0, key="hs_cell"
        )
        perms = c2.number_input(T("置换次数", "Permutations"), 0, 9999, 999, key="hs_perm")
        wopts = [""] + sorted({w for k in keys for w in REGISTRY[k].weight_fields})
        weight = c3.selectbox(
            T("权重", "Weight"), wopts, format_func=lambda w: w or T("计数", "count"), key="hs_w"
        )
        xy = pts_m.geometry.get_coordinates().to_numpy()
        bw_default = arcgis_bandwidth(xy)
        bw = c4.number_input(
            T("核密度带宽 (m)", "KDE bandwidth (m)"),
            50.0,
            20000.0,
            float(round(bw_default, -1)),
            10.0,
            key="hs_bw",
        )
        if st.button(T("运行热点分析", "Run hot spot analysis"), key="hs_run"):
            try:
                w = weight or None
                cells = hotspot_cells(
                    pts_m, cell_m=cell, weight_col=w, permutations=int(perms), area=area
                )
                surf = kde_surface(
                    xy,
                    bandwidth_m=bw,
                    weights=None if not w else pts_m[w].fillna(0).to_numpy(float),
                )
                params = f"Gi* {T('格网', 'cell')} {cell:g} m, {int(perms)} {T('次置换', 'permutations')}, FDR; KDE h={bw:g} m"
                st.session_state["hs_result"] = {"cells": cells, "kde": surf, "params": params}
            except (HotspotError, ValueError) as exc:
                st.error(str(exc))
        res = st.session_state.get("hs_result")
        if res:
            cells = res["cells"]
            st.success(res["params"])
            counts = (
                cells["hotspot_class"].value_counts().rename_axis("class").reset_index(name="cells")
            )
            counts["params"] = res["params"]
            st.dataframe(counts, hide_index=True)
            sig = cells[cells["hotspot_class"] != "not_significant"].to_crs(4326)
            sig["name"] = sig["hotspot_class"]
            ml = [
                MapLayer(
                    "zones",
                    REGISTRY["zones"].name(L),
                    layers["zones"],
                    REGISTRY["zones"].color,
                    "polygon",
                ),
                MapLayer(
                    "hex",
                    T("热点/冷点格网", "Hot/cold cells"),
                    sig,
                    "#d7191c",
                    "polygon",
                    fields=("name", "count", "gi_z", "gi_p", "gi_p_fdr"),
                    style={
                        "fillOpacity": 0.6,
                        "weight": 0.5,
                        "colorField": "name",
                        "colorMap": HOT_COLORS,
                        "lineColor": "#666666",
                    },
                ),
            ]
            m = build_map(
                ml,
                lang=L,
                legend_title="Gi*",
                extra_notes=(res["params"],),
                fit_bounds=tuple(gpd.GeoSeries([area], crs=pts_m.crs).to_crs(4326).total_bounds),
            )
            surf = res["kde"]
            b = gpd.GeoSeries([shapely.box(*surf.bounds)], crs=pts_m.crs).to_crs(4326).total_bounds
            add_image_overlay(m, _kde_png(surf), tuple(b), name=T("核密度", "Kernel density"))
            st_folium(m, key="hs_map", height=560, use_container_width=True, returned_objects=[])
            if st.button(T("导出热点资料包", "Export hot spot pack"), key="hs_export"):
                from export.maps import hotspot_print_layers
                from export.pack import result_pack

                pl = hotspot_print_layers(cells, zone=zone or None)
                st.session_state["hs_pack"] = result_pack(
                    title="创新资源热点分析 (Gi*)",
                    print_layers=pl,
                    layers={"cells": cells},
                    tables={
                        "classes": counts,
                        "cells": pd.DataFrame(cells.drop(columns="geometry")),
                    },
                    params={"params": res["params"], "layers": keys, "zone": zone},
                    notes=[res["params"]],
                    subtitle=res["params"],
                )
            if "hs_pack" in st.session_state:
                st.download_button(
                    T("下载热点资料包", "Download hot spot pack"),
                    st.session_state["hs_pack"],
                    file_name="innomap_hotspots.zip",
                    mime="application/zip",
                    key="hs_dl",
                )

    with t3:
        rows = []
        for kind, grp in pts_m.groupby(pts_m["kind"].astype(str)):
            try:
                ce = clark_evans(grp.geometry.get_coordinates().to_numpy(), area=area)
                rows.append(
                    {
                        "kind": kind,
                        "n": ce.n,
                        "observed_m": ce.observed_m,
                        "expected_m": ce.expected_m,
                        "R": float(ce.R),
                        "z": ce.z,
                        "p": ce.p,
                        "pattern": ce.interpretation(L),
                    }
                )
            except PointStatsError as exc:
                rows.append({"kind": kind, "n": len(grp), "pattern": str(exc)})
        st.subheader(T("平均最近邻 (Clark–Evans R)", "Average nearest neighbour (Clark–Evans R)"))
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        kinds = sorted(pts_m["kind"].astype(str).unique())
        c1, c2 = st.columns(2)
        with c1:
            st.subheader(T("Ripley's L 函数", "Ripley's L function"))
            kind = st.selectbox(T("类别", "Kind"), kinds, key="rl_kind")
            if st.button(
                T("计算 L 函数(99 次模拟包络)", "Compute L (99-simulation envelope)"), key="rl_run"
            ):
                sub = pts_m[pts_m["kind"].astype(str) == kind].geometry.get_coordinates().to_numpy()
                try:
                    dmax = np.sqrt(area.area) / 4
                    rl = ripley_l(
                        sub, area=area, distances_m=np.linspace(dmax / 20, dmax, 20), simulations=99
                    )
                    fig, ax = plt.subplots(figsize=(5, 3.5))
                    font = cjk_font()
                    ax.fill_between(
                        rl["distances"],
                        rl["env_low"] - rl["distances"],
                        rl["env_high"] - rl["distances"],
                        color="#cccccc",
                        label=T("CSR 包络 (99 次)", "CSR envelope (99)"),
                    )
                    ax.plot(rl["distances"], rl["L_minus_d"], color="#d62728", label="L(d) − d")
                    ax.axhline(0, color="#555", lw=0.8)
                    ax.set_xlabel(T("距离 d (米)", "distance d (m)"), fontproperties=font)
                    ax.set_ylabel("L(d) − d (m)")
                    ax.set_title(f"{kind}  n={len(sub)}", fontproperties=font)
                    ax.legend(prop=font)
                    st.pyplot(fig)
                    plt.close(fig)
                except PointStatsError as exc:
                    st.error(str(exc))
        with c2:
            st.subheader(T("共址商 (CLQ)", "Co-location quotient"))
            a = st.selectbox("A", kinds, key="clq_a")
            b = st.selectbox("B", kinds, index=min(1, len(kinds) - 1), key="clq_b")
            if st.button(
                T("计算 CLQ(499 次置换)", "Compute CLQ (499 permutations)"), key="clq_run"
            ):
                try:
                    r = colocation_quotient(
                        pts_m.geometry.get_coordinates().to_numpy(),
                        pts_m["kind"].astype(str).to_numpy(),
                        a,
                        b,
                    )
                    st.dataframe(pd.DataFrame([r]), hide_index=True)
                    st.caption(
                        T(
                            "CLQ > 1 且 p < 0.05: A 的最近邻更常为 B(显著共址)。",
                            "CLQ > 1 with p < 0.05: A's nearest neighbour is B more often than by chance.",
                        )
                    )
                except PointStatsError as exc:
                    st.error(str(exc))


main()
