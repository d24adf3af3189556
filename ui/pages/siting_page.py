"""Incubator siting page: gaps, optimal new sites with existing ones fixed, what-if on the map."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st
from streamlit_folium import st_folium

from geo.reach import ReachParams
from geo.siting import SitingError
from geo.siting_geo import grid_candidates, run_siting, scenario_coverage
from layers.crs import to_metric
from layers.importer import ALLOWED_EXTENSIONS, ImportFileError, ImportOptions, import_file
from layers.registry import REGISTRY
from render.webmap import MapLayer, build_map
from ui.i18n import lang
from ui.state import project_layers

GAP_COLORS = {"1": "#b10026", "2": "#e31a1c", "3": "#fc4e2a", "4": "#fd8d3c", "5": "#feb24c"}


def T(zh: str, en: str) -> str:
    return en if lang() == "en" else zh


def _demand(layers, keys, weight):
    parts = []
    for k in keys:
        g = layers[k].copy()
        g["layer"] = k
        if weight and weight not in g:
            g[weight] = 1.0
        parts.append(g)
    d = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)
    d["id"] = d["layer"] + ":" + d["id"].astype(str)
    return d


def _read_exclusion(up) -> shapely.Geometry | None:
    if up is None:
        return None
    try:
        g = gpd.read_file(io.BytesIO(up.getvalue()), driver="GeoJSON")
    except Exception as exc:  # pyogrio raises several types for bad files
        st.error(
            T(
                f"{up.name}: 无法读取禁建区 GeoJSON ({type(exc).__name__})",
                f"{up.name}: cannot read the exclusion GeoJSON ({type(exc).__name__})",
            )
        )
        return None
    if g.crs is None:
        g = g.set_crs(4326)
    return g


def _candidates(layers, d_m):
    src = st.radio(
        T("候选点来源", "Candidate source"),
        ["grid", "file", "clicked"],
        format_func=lambda s: {
            "grid": T("片区内六边形格网中心", "Hex-grid centres in a zone"),
            "file": T("候选楼宇/地块文件 (CSV)", "Candidate buildings/plots file (CSV)"),
            "clicked": T("地图上点选的候选点", "Points clicked on the map"),
        }[s],
        horizontal=True,
        key="site_src",
    )
    if src == "grid":
        c1, c2, c3 = st.columns(3)
        zone = c1.selectbox(T("片区", "Zone"), layers["zones"]["name"].tolist(), key="site_zone")
        spacing = c2.number_input(
            T("格网间距 (m)", "Grid spacing (m)"), 100.0, 5000.0, 600.0, 50.0, key="site_spacing"
        )
        excl = c3.file_uploader(
            T("禁建区(水域等, GeoJSON, 可选)", "Forbidden areas (GeoJSON, optional)"),
            type=["geojson"],
            key="site_excl",
        )
        area = layers["zones"][layers["zones"]["name"] == zone].to_crs(d_m.crs).geometry.iloc[0]
        ex = _read_exclusion(excl)
        ex_geom = (
            shapely.union_all(ex.to_crs(d_m.crs).geometry.values)
            if ex is not None and len(ex)
            else None
        )
        return grid_candidates(area, spacing_m=spacing, crs=d_m.crs, exclude=ex_geom)
    if src == "file":
        up = st.file_uploader(
            T(
                "候选楼宇/地块文件(CSV、XLSX、GeoJSON、GeoPackage、Shapefile zip、KML)",
                "Candidate buildings/plots (CSV, XLSX, GeoJSON, GeoPackage, zipped Shapefile, KML)",
            ),
            type=[e.lstrip(".") for e in ALLOWED_EXTENSIONS],
            key="site_file",
        )
        if up is None:
            return gpd.GeoDataFrame({"id": []}, geometry=[], crs=d_m.crs)
        suffix = Path(up.name).suffix.lower()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"candidates{suffix}"  # never the client's file name
            path.write_bytes(up.getvalue())
            try:
                res = import_file(path, ImportOptions(kind="incubators"))
            except (ImportFileError, ValueError) as exc:
                st.error(f"{up.name}: {exc}")
                return gpd.GeoDataFrame({"id": []}, geometry=[], crs=d_m.crs)
        if len(res.rejected):
            st.warning(T(f"{len(res.rejected)} 行被拒绝", f"{len(res.rejected)} rows rejected"))
            st.dataframe(res.rejected, hide_index=True)
        cand = res.valid
        if not (cand.geom_type == "Point").all():
            cand = cand.set_geometry(cand.geometry.representative_point())
        return cand.to_crs(d_m.crs)
    pts = st.session_state.get("site_clicked", [])
    st.caption(
        T(
            f"已点选 {len(pts)} 个候选点(在下方“情景推演”地图上选择“添加候选点”后点击)",
            f"{len(pts)} clicked candidates (use 'add candidate' on the what-if map below)",
        )
    )
    if not pts:
        return gpd.GeoDataFrame({"id": []}, geometry=[], crs=d_m.crs)
    g = gpd.GeoDataFrame(
        {"id": [f"click{i + 1}" for i in range(len(pts))], "source": "clicked"},
        geometry=gpd.points_from_xy([p[0] for p in pts], [p[1] for p in pts]),
        crs=4326,
    )
    return g.to_crs(d_m.crs)


def main() -> None:
    L = lang()
    st.title(T("孵化器选址", "Incubator siting"))
    layers = project_layers()
    c1, c2, c3, c4 = st.columns(4)
    dem_keys = c1.multiselect(
        T("需求", "Demand"),
        ["enterprises", "universities", "communities"],
        default=["enterprises"],
        format_func=lambda k: REGISTRY[k].name(L),
        key="site_demand",
    )
    weight = c2.selectbox(
        T("权重", "Weight"),
        ["", "employees", "rd_spend_wan", "population"],
        format_func=lambda w: w or T("计数", "count"),
        key="site_weight",
    )
    minutes = c3.number_input(
        T("服务时间 (分钟)", "Travel time (min)"), 1.0, 120.0, 15.0, 1.0, key="site_minutes"
    )
    mode = c4.selectbox(T("出行方式", "Mode"), ["walk", "bike", "drive"], key="site_mode")
    c5, c6, c7 = st.columns(3)
    speed = c5.number_input(
        T("速度 (km/h)", "Speed (km/h)"),
        1.0,
        120.0,
        {"walk": 4.5, "bike": 15.0, "drive": 30.0}[mode],
        key=f"site_speed_{mode}",
    )
    detour = c6.number_input(
        T("绕行系数(直线法)", "Detour factor"), 1.0, 3.0, 1.3, 0.05, key="site_detour"
    )
    graph = st.session_state.get("network_graph")
    method = c7.radio(
        T("方法", "Method"),
        ["straight", "network"] if graph is not None else ["straight"],
        format_func=lambda m: (
            T("路网法", "Road network") if m == "network" else T("直线距离近似法", "Straight-line")
        ),
        key="site_method",
    )
    if not dem_keys:
        st.info(T("请选择需求图层。", "Choose a demand layer."))
        return
    params = ReachParams(method=method, mode=mode, speed_kmh=speed, detour=detour)
    demand = _demand(layers, dem_keys, weight or None)
    d_m = to_metric(demand, graph.crs if method == "network" else None)
    existing = layers["incubators"].to_crs(d_m.crs)
    st.caption(
        T("方法与参数: ", "Method and parameters: ") + params.label(L) + f"; {minutes:g} min"
    )

    st.subheader(T("候选点", "Candidates"))
    cands = _candidates(layers, d_m)
    st.caption(
        T(
            f"候选点 {len(cands)} 个; 现有孵化器 {len(existing)} 个(始终保留)",
            f"{len(cands)} candidates; {len(existing)} existing incubators (always kept)",
        )
    )

    st.subheader(T("模型", "Model"))
    m1, m2, m3, m4 = st.columns(4)
    model = m1.selectbox(
        T("模型", "Model"),
        ["mclp", "lscp", "pmedian"],
        format_func=lambda m: {
            "mclp": T("最大覆盖 MCLP", "Maximal covering"),
            "lscp": T("集合覆盖 LSCP", "Set covering"),
            "pmedian": T("P 中值", "p-median"),
        }[m],
        key="site_model",
    )
    k = m2.number_input("k", 1, 100, 5, key="site_k")
    target = m3.number_input(
        T("目标覆盖率", "Target share"), 0.05, 1.0, 0.6, 0.05, key="site_target"
    )
    solver = m4.selectbox(
        T("求解", "Solver"),
        ["auto", "heuristic", "exact"],
        format_func=lambda s: {
            "auto": T("自动", "auto"),
            "heuristic": T("快速(启发式+界)", "fast (heuristic + bound)"),
            "exact": T("优化(MILP, 限时)", "optimise (MILP, time-limited)"),
        }[s],
        key="site_solver",
    )
    if st.button(T("求解选址", "Solve"), type="primary", key="site_run"):
        try:
            with st.spinner(T("正在求解…", "Solving…")):
                res = run_siting(
                    d_m,
                    existing,
                    cands,
                    params=params,
                    minutes=minutes,
                    model=model,
                    k=int(k),
                    target_share=float(target),
                    solver=solver,
                    time_limit=30.0,
                    weight_col=weight or None,
                    capacity_col="floor_area_m2",
                    graph=graph if method == "network" else None,
                )
            st.session_state["site_result"] = res
        except SitingError as exc:
            st.error(str(exc))  # earlier results stay

    res = st.session_state.get("site_result")
    if res is not None:
        _show_result(res, layers, L)
    _what_if(
        layers,
        d_m,
        existing,
        params,
        minutes,
        weight or None,
        graph if method == "network" else None,
        L,
    )


def _show_result(res, layers, L):
    sol = res.solution
    bound_name = {
        "mclp": T("上界", "upper bound"),
        "lscp": T("站点数下界", "lower bound (sites)"),
        "pmedian": T("加权时间下界", "lower bound (weighted min)"),
    }[sol.model]
    st.success(
        f"{sol.model.upper()}: {len(sol.selected)} {T('个新址', 'new sites')}; "
        f"{T('覆盖率', 'covered')} {res.share_before:.1%} → {res.share_after:.1%}; "
        f"{T('目标值', 'objective')} {sol.objective:,.1f}, {bound_name} {sol.upper_bound:,.1f}, "
        f"{T('已证明差距', 'proven gap')} {sol.gap:.2%} ({sol.solver}, {sol.seconds:.2f} s)"
    )
    label = res.params.label(L) + f"; {res.minutes:g} min"
    table = pd.DataFrame(res.selected.drop(columns="geometry"))
    cols = [
        c
        for c in (
            "rank",
            "id",
            "name",
            "lon",
            "lat",
            "marginal_gain",
            "newly_covered_points",
            "newly_covered_weight",
            "catchment_points",
        )
        if c in table
    ]
    table = table[cols].copy()
    table["method"] = label
    st.subheader(T("推荐新址(按边际增益排序)", "Recommended sites (by marginal gain)"))
    st.dataframe(table, hide_index=True, width="stretch")
    c1, c2 = st.columns(2)
    with c1:
        st.caption(T("片区覆盖变化", "Change by zone"))
        st.dataframe(res.by_zone, hide_index=True, width="stretch")
    with c2:
        st.caption(T("区县覆盖变化", "Change by district"))
        st.dataframe(res.by_district, hide_index=True, width="stretch")
    gaps = res.gaps.head(200).to_crs(4326)
    gaps["name"] = T("缺口排名 ", "gap rank ") + gaps["gap_rank"].astype(str)
    gaps["tier"] = np.minimum(5, 1 + (gaps["gap_rank"] - 1) // 40).astype(str)
    sel = res.selected.to_crs(4326)
    sel["name"] = T("推荐新址 #", "new site #") + sel["rank"].astype(str)
    ml = [
        MapLayer(
            "zones", REGISTRY["zones"].name(L), layers["zones"], REGISTRY["zones"].color, "polygon"
        ),
        MapLayer(
            "gaps",
            T("覆盖缺口(前200格)", "Coverage gaps (top 200 cells)"),
            gaps,
            "#e31a1c",
            "polygon",
            fields=("name", "demand", "unserved", "unserved_share", "access_2sfca"),
            style={
                "fillOpacity": 0.45,
                "weight": 0.3,
                "colorField": "tier",
                "colorMap": GAP_COLORS,
            },
        ),
        MapLayer(
            "catch",
            T("新址服务范围", "New sites' catchments"),
            res.catchments.to_crs(4326).assign(
                name=lambda d: T("服务范围 #", "catchment #") + d["rank"].astype(str)
            ),
            "#2c7fb8",
            "polygon",
            fields=("name", "minutes"),
            style={"fillOpacity": 0.12, "weight": 1.5},
        ),
        MapLayer(
            "existing",
            T("现有孵化器", "Existing incubators"),
            layers["incubators"],
            REGISTRY["incubators"].color,
            "point",
        ),
        MapLayer(
            "new",
            T("推荐新址", "Recommended sites"),
            sel,
            "#08519c",
            "point",
            fields=("name", "id", "marginal_gain", "newly_covered_weight"),
            style={"radius": 9},
        ),
    ]
    m = build_map(
        ml,
        lang=L,
        legend_title=T("选址", "Siting"),
        extra_notes=(label,),
        fit_bounds=tuple(res.catchments.to_crs(4326).total_bounds) if len(res.catchments) else None,
    )
    st_folium(m, key="site_map", height=560, use_container_width=True, returned_objects=[])
    if st.button(
        T("导出选址资料包 (地图+图层+表格)", "Export siting pack (map + layers + tables)"),
        key="site_export",
    ):
        st.session_state["site_pack"] = _siting_pack(res, layers, label)
    if "site_pack" in st.session_state:
        st.download_button(
            T("下载选址资料包", "Download siting pack"),
            st.session_state["site_pack"],
            file_name="innomap_siting.zip",
            mime="application/zip",
            key="site_dl",
        )


def _siting_pack(res, layers, label) -> bytes:
    from export.maps import siting_print_layers
    from export.pack import result_pack

    pl = siting_print_layers(res, layers["incubators"])
    sol = res.solution
    tables = {
        "selected": pd.DataFrame(res.selected.drop(columns="geometry")).assign(method=label),
        "by_zone": res.by_zone,
        "by_district": res.by_district,
        "gaps": pd.DataFrame(res.gaps.drop(columns="geometry")),
    }
    params = {
        "model": sol.model,
        "solver": sol.solver,
        "objective": sol.objective,
        "bound": sol.upper_bound,
        "gap": sol.gap,
        "minutes": res.minutes,
        "method": label,
        "share_before": res.share_before,
        "share_after": res.share_after,
    }
    return result_pack(
        title="孵化器选址方案",
        print_layers=pl,
        layers={"sites": res.selected, "catchments": res.catchments, "gaps": res.gaps},
        tables=tables,
        params=params,
        subtitle=label,
        notes=[
            f"方法: {label}",
            f"覆盖 {res.share_before:.1%} → {res.share_after:.1%}, 证明差距 {sol.gap:.2%}",
        ],
        extent=tuple(res.catchments.to_crs(4326).total_bounds) if len(res.catchments) else None,
    )


def _what_if(layers, d_m, existing, params, minutes, weight, graph, L):
    st.subheader(T("情景推演(在地图上点击)", "What-if (click on the map)"))
    if "whatif_sites" not in st.session_state:
        st.session_state["whatif_sites"] = [
            {
                "id": str(r.id),
                "name": r.name,
                "lon": r.geometry.x,
                "lat": r.geometry.y,
                "kind": "existing",
            }
            for r in layers["incubators"].itertuples()
        ]
    action = st.radio(
        T("点击操作", "Click action"),
        ["add", "candidate", "remove", "move"],
        format_func=lambda a: {
            "add": T("添加假设孵化器", "Add hypothetical incubator"),
            "candidate": T("添加候选点", "Add candidate"),
            "remove": T("删除最近的孵化器", "Remove nearest incubator"),
            "move": T(
                "移动: 先点孵化器, 再点新位置", "Move: click an incubator, then its new place"
            ),
        }[a],
        horizontal=True,
        key="whatif_action",
    )
    sites = st.session_state["whatif_sites"]
    g = gpd.GeoDataFrame(
        pd.DataFrame(sites),
        geometry=gpd.points_from_xy([s["lon"] for s in sites], [s["lat"] for s in sites]),
        crs=4326,
    )
    sc = scenario_coverage(
        d_m, g.to_crs(d_m.crs), params=params, minutes=minutes, weight_col=weight, graph=graph
    )
    base = scenario_coverage(
        d_m, existing, params=params, minutes=minutes, weight_col=weight, graph=graph
    )
    c1, c2, c3 = st.columns(3)
    c1.metric(
        T("情景覆盖率", "Scenario coverage"),
        f"{sc['share']:.1%}",
        f"{(sc['share'] - base['share']) * 100:+.1f} pp",
    )
    c2.metric(T("孵化器数量", "Incubators"), sc["sites"], sc["sites"] - base["sites"])
    c3.metric(T("覆盖权重", "Covered weight"), f"{sc['covered']:,.0f}")
    pending = st.session_state.get("whatif_move_from")
    if pending:
        st.info(T(f"已选择 {pending}: 请点击新位置", f"Selected {pending}: click its new place"))
    ml = [
        # zones are not clickable here, so every click reaches the map
        MapLayer(
            "zones",
            REGISTRY["zones"].name(L),
            layers["zones"],
            REGISTRY["zones"].color,
            "polygon",
            style={"interactive": False},
        ),
        MapLayer(
            "sites",
            T("情景孵化器", "Scenario incubators"),
            g,
            REGISTRY["incubators"].color,
            "point",
            fields=("id", "name", "kind"),
            style={"cluster": False},
        ),
    ]
    clicked = st.session_state.get("site_clicked", [])
    if clicked:
        cg = gpd.GeoDataFrame(
            {
                "id": [f"click{i + 1}" for i in range(len(clicked))],
                "name": T("候选点", "candidate"),
            },
            geometry=gpd.points_from_xy([p[0] for p in clicked], [p[1] for p in clicked]),
            crs=4326,
        )
        ml.append(
            MapLayer(
                "clicked",
                T("点选候选点", "Clicked candidates"),
                cg,
                "#41ab5d",
                "point",
                fields=("id", "name"),
            )
        )
    m = build_map(
        ml,
        lang=L,
        legend_title=T("情景", "Scenario"),
        extra_notes=(params.label(L),),
        fit_bounds=tuple(layers["zones"].total_bounds),
    )
    out = st_folium(
        m, key="whatif_map", height=520, use_container_width=True, returned_objects=["last_clicked"]
    )
    click = (out or {}).get("last_clicked")
    if click and click != st.session_state.get("whatif_last_click"):
        st.session_state["whatif_last_click"] = click
        _apply_click(action, float(click["lng"]), float(click["lat"]))
        st.rerun()
    with st.expander(T("按坐标操作(与点击地图相同)", "Apply by coordinates (same as a map click)")):
        e1, e2, e3 = st.columns(3)
        lon = e1.number_input(
            T("经度", "Longitude"), 73.0, 136.0, 121.64, 0.0005, format="%.5f", key="whatif_lon"
        )
        lat = e2.number_input(
            T("纬度", "Latitude"), 3.0, 54.0, 29.93, 0.0005, format="%.5f", key="whatif_lat"
        )
        if e3.button(T("执行", "Apply"), key="whatif_apply"):
            _apply_click(action, float(lon), float(lat))
            st.rerun()
    n1, n2 = st.columns([3, 1])
    name = n1.text_input(
        T("情景名称", "Scenario name"),
        value=f"情景{len(st.session_state.get('scenarios', {})) + 1}",
        key="whatif_name",
    )
    if n2.button(T("保存情景", "Save scenario"), key="whatif_save"):
        st.session_state.setdefault("scenarios", {})[name] = {
            "sites": len(sites),
            "share": sc["share"],
            "covered": sc["covered"],
            "change_pp": (sc["share"] - base["share"]) * 100,
            "method": params.label(L),
            "minutes": minutes,
        }
    if st.button(T("重置为现状", "Reset to current incubators"), key="whatif_reset"):
        del st.session_state["whatif_sites"]
        st.session_state.pop("whatif_move_from", None)
        st.rerun()
    if st.session_state.get("scenarios"):
        st.caption(T("情景对比", "Scenario comparison"))
        st.dataframe(
            pd.DataFrame.from_dict(st.session_state["scenarios"], orient="index")
            .rename_axis("scenario")
            .reset_index(),
            hide_index=True,
            width="stretch",
        )


def _nearest(sites, lon, lat) -> int:
    d = [(s["lon"] - lon) ** 2 + ((s["lat"] - lat) * 1.15) ** 2 for s in sites]
    return int(np.argmin(d))


def _apply_click(action: str, lon: float, lat: float) -> None:
    """Apply one map click to the what-if scenario (session state only)."""
    sites = st.session_state["whatif_sites"]
    if action == "add":
        n = sum(1 for s in sites if s["kind"] == "hypothetical") + 1
        sites.append(
            {
                "id": f"H{n}",
                "name": f"假设孵化器{n}",
                "lon": lon,
                "lat": lat,
                "kind": "hypothetical",
            }
        )
    elif action == "candidate":
        st.session_state.setdefault("site_clicked", []).append((lon, lat))
    elif action == "remove" and sites:
        sites.pop(_nearest(sites, lon, lat))
    elif action == "move" and sites:
        src = st.session_state.get("whatif_move_from")
        if src is None:
            st.session_state["whatif_move_from"] = sites[_nearest(sites, lon, lat)]["id"]
        else:
            for s in sites:
                if s["id"] == src:
                    s["lon"], s["lat"], s["kind"] = lon, lat, "moved"
            st.session_state.pop("whatif_move_from", None)


main()
