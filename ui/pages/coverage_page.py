"""15-minute science service circles page (15分钟科普/科技服务圈)."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.coverage import GB50180_TIERS, gb50180_preset, run_coverage, sensitivity_table
from geo.network import NetworkError
from geo.reach import ReachParams
from layers.crs import to_metric
from layers.registry import REGISTRY
from render.webmap import MapLayer, build_map
from ui.i18n import lang
from ui.state import project_layers
from workflows.network import load_network

NETWORK_SUFFIXES = (".osm", ".pbf", ".graphml", ".gpkg", ".zip", ".npz")
CUT_COLORS = ("#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59")


def T(zh: str, en: str) -> str:
    return en if lang() == "en" else zh


@st.cache_resource(show_spinner=False, max_entries=4)
def _network_from_bytes(digest: str, suffix: str, data: bytes):
    # the file name is never taken from the client: a digest and an allowed suffix only
    folder = Path(tempfile.gettempdir()) / "innomap-networks"
    folder.mkdir(exist_ok=True)
    path = folder / f"{digest}{suffix}"
    if not path.exists():
        path.write_bytes(data)
    return load_network(path)


def _network_controls():
    up = st.file_uploader(
        T("路网文件(可选)", "Road network (optional)"),
        type=[s.lstrip(".") for s in NETWORK_SUFFIXES],
        help=T(
            "OSM XML (.osm)、OSM PBF、GraphML、道路中心线 GeoPackage 或压缩 Shapefile(.zip)。未加载路网时使用直线距离近似法。",
            "OSM XML, OSM PBF, GraphML, road-centreline GeoPackage or zipped Shapefile. Without a network the straight-line approximation is used.",
        ),
        key="cov_network",
    )
    if up is None:
        return _osm_fetch_controls()
    name = up.name.lower()
    suffix = next((s for s in (".osm.pbf", *NETWORK_SUFFIXES) if name.endswith(s)), None)
    if suffix is None:
        st.error(T("不支持的路网格式", "Unsupported network format"))
        return None
    data = up.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:20]
    try:
        with st.spinner(T("正在准备路网(仅首次)…", "Preparing the network (first time only)…")):
            graph = _network_from_bytes(digest, suffix, data)
    except (NetworkError, ValueError) as exc:
        st.error(f"{up.name}: {exc}")
        return None
    st.caption(
        T(
            f"路网: {graph.n_nodes} 个节点, {graph.n_edges} 条路段",
            f"Network: {graph.n_nodes} nodes, {graph.n_edges} edges",
        )
    )
    st.session_state["network_graph"] = graph  # shared with the siting page
    return graph


@st.cache_resource(show_spinner=False, max_entries=4)
def _network_from_path(path: str):
    return load_network(path)


def _osm_fetch_controls():
    """Online only: fetch the study area's network with osmnx and keep it for reuse."""
    path = st.session_state.get("cov_osm_path")
    if st.button(
        T(
            "从 OpenStreetMap 在线获取研究区路网(需联网)",
            "Fetch the study area's network from OSM (online)",
        ),
        key="cov_fetch",
    ):
        import osmnx as ox

        from workflows.network import CACHE_DIR

        zones = project_layers()["zones"]
        w, s, e, n = zones.total_bounds
        mode = st.session_state.get("cov_mode", "walk")
        net_type = {"walk": "walk", "bike": "bike", "drive": "drive"}[mode]
        target = CACHE_DIR / f"osm-{net_type}-{w:.3f}-{s:.3f}-{e:.3f}-{n:.3f}.graphml"
        try:
            with st.spinner(T("正在下载 OSM 路网…", "Downloading the OSM network…")):
                if not target.exists():
                    g = ox.graph_from_bbox(
                        (w - 0.01, s - 0.01, e + 0.01, n + 0.01), network_type=net_type
                    )
                    target.parent.mkdir(parents=True, exist_ok=True)
                    ox.save_graphml(g, target)
            st.session_state["cov_osm_path"] = str(target)
            path = str(target)
        except Exception as exc:  # no internet, Overpass errors …: say so, keep going
            st.error(
                T(
                    f"无法获取 OSM 路网(可能未联网): {type(exc).__name__}",
                    f"Could not fetch the OSM network (offline?): {type(exc).__name__}",
                )
            )
            return None
    if not path:
        return None
    try:
        graph = _network_from_path(path)
    except (NetworkError, ValueError) as exc:
        st.error(str(exc))
        return None
    st.caption(
        T(
            f"OSM 路网(© OpenStreetMap contributors, ODbL): {graph.n_nodes} 个节点",
            f"OSM network (© OpenStreetMap contributors, ODbL): {graph.n_nodes} nodes",
        )
    )
    st.session_state["network_graph"] = graph  # shared with the siting page
    return graph


def _service_choices(layers):
    opts = []
    for key in ("science_venues", "incubators", "universities", "platforms"):
        opts.append(key)
        opts.extend(f"{key}:{s}" for s in REGISTRY[key].subtypes)
    return opts


def _label_ref(ref: str) -> str:
    key, _, sub = ref.partition(":")
    name = REGISTRY[key].name(lang()) if key in REGISTRY else key
    return f"{name} · {sub}" if sub else f"{name} ({T('全部', 'all')})"


def _select(layers, refs: list[str]) -> gpd.GeoDataFrame:
    parts = []
    for ref in refs:
        key, _, sub = ref.partition(":")
        g = layers[key]
        if sub:
            g = g[g["subtype"] == sub]
        g = g.copy()
        g["layer"] = key
        parts.append(g)
    if not parts:
        return gpd.GeoDataFrame({"id": []}, geometry=[], crs=4326)
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)
    return out.drop_duplicates(subset=["layer", "id"]).reset_index(drop=True)


def main() -> None:
    L = lang()
    st.title(T("15分钟科普/科技服务圈", "15-minute science service circles"))
    layers = project_layers()

    if st.button(
        T(
            "一键套用 GB 50180-2018 生活圈(5/10/15 分钟 = 步行 300/500/1000 米)",
            "Apply GB 50180-2018 life circles (5/10/15 min = 300/500/1000 m walk)",
        )
    ):
        pre = gb50180_preset()
        st.session_state["cov_mode"] = pre["mode"]
        st.session_state["cov_speed"] = pre["speed_kmh"]
        st.session_state["cov_minutes"] = ",".join(f"{m:g}" for m in pre["minutes"])
        st.session_state["cov_preset"] = True

    c1, c2, c3 = st.columns(3)
    with c1:
        services = st.multiselect(
            T("服务点定义", "Service points"),
            _service_choices(layers),
            default=["science_venues"],
            format_func=_label_ref,
            key="cov_services",
        )
        demand_key = st.selectbox(
            T("需求图层", "Demand layer"),
            ["enterprises", "communities", "universities", "incubators"],
            format_func=lambda k: REGISTRY[k].name(L),
            key="cov_demand",
        )
        wopts = ["", *REGISTRY[demand_key].weight_fields]
        weight = st.selectbox(
            T("权重字段", "Weight"),
            wopts,
            format_func=lambda w: w or T("无(按个数)", "none (count)"),
            key="cov_weight",
        )
    with c2:
        mode = st.selectbox(
            T("出行方式", "Mode"),
            ["walk", "bike", "drive"],
            format_func=lambda m: {"walk": "步行 walk", "bike": "骑行 bike", "drive": "驾车 drive"}[
                m
            ],
            key="cov_mode",
        )
        default_speed = {"walk": 4.5, "bike": 15.0, "drive": 30.0}[mode]
        speed = st.number_input(
            T("速度 (km/h)", "Speed (km/h)"),
            min_value=0.5,
            max_value=120.0,
            value=float(st.session_state.get("cov_speed", default_speed)),
            step=0.5,
        )
        minutes_text = st.text_input(
            T("时间阈值(分钟, 逗号分隔)", "Cut-offs (minutes, comma separated)"),
            value=st.session_state.get("cov_minutes", "5,10,15"),
        )
    with c3:
        graph = _network_controls()
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
            value=1.3,
            step=0.05,
        )
        max_snap = st.number_input(
            T("最大接入距离 (米)", "Max snap distance (m)"),
            min_value=10.0,
            max_value=5000.0,
            value=300.0,
            step=10.0,
        )

    if st.session_state.get("cov_preset"):
        st.info(
            " · ".join(
                f"{t.name_zh if L == 'zh' else t.name_en}: {t.distance_m:g} m ({t.residents})"
                for t in GB50180_TIERS
            )
        )

    try:
        minutes = tuple(sorted(float(x) for x in minutes_text.split(",") if x.strip()))
        if not minutes or minutes[0] <= 0:
            raise ValueError
    except ValueError:
        st.error(
            T(
                f"时间阈值无效: {minutes_text!r}, 请输入如 5,10,15",
                f"Invalid cut-offs {minutes_text!r}: use e.g. 5,10,15",
            )
        )
        return

    if st.button(T("计算覆盖", "Compute coverage"), type="primary", key="cov_run"):
        try:
            params = ReachParams(
                method=method,
                mode=mode,
                speed_kmh=None if (mode == "drive" and method == "network") else speed,
                detour=detour,
                max_snap_m=max_snap,
            )
            svc = _select(layers, services)
            if svc.empty:
                raise NetworkError(T("没有选中服务点", "No service points selected"))
            dem = layers[demand_key]
            crs = graph.crs if graph is not None and method == "network" else None
            with st.status(T("正在计算…", "Computing…"), expanded=False) as status:
                d_m = to_metric(dem, crs)
                s_m = to_metric(svc, d_m.crs)
                zones = layers["zones"].to_crs(d_m.crs)
                status.update(label=T("计算可达时间与等时圈…", "Reach and isochrones…"))
                res = run_coverage(
                    d_m,
                    s_m,
                    params=params,
                    minutes=minutes,
                    weight_col=weight or None,
                    graph=graph if method == "network" else None,
                    zones=zones,
                    per_service_isochrones=len(s_m) <= 400,
                )
                status.update(label=T("完成", "Done"), state="complete")
            st.session_state["coverage_result"] = {
                "res": res,
                "services": svc,
                "demand_key": demand_key,
            }
        except (NetworkError, ValueError) as exc:
            st.error(str(exc))  # earlier results stay in session_state

    stored = st.session_state.get("coverage_result")
    if not stored:
        st.caption(
            T("设置参数后点击“计算覆盖”。", "Set the parameters and press Compute coverage.")
        )
        return
    res = stored["res"]
    label = res.params.label(L)
    st.success(T("方法与参数: ", "Method and parameters: ") + label)
    if res.params.method == "straight":
        st.warning(
            T(
                "当前为直线距离近似结果, 非路网实测; 加载路网后可使用路网法。",
                "These are straight-line approximations, not network travel times; load a network for the network method.",
            )
        )
    if res.unsnapped_demand:
        st.warning(
            T(
                f"{res.unsnapped_demand} 个需求点超出最大接入距离, 计为未覆盖。",
                f"{res.unsnapped_demand} demand points are beyond the max snap distance and count as not covered.",
            )
        )

    summary = res.summary.copy()
    summary["method"] = label
    st.subheader(T("覆盖率", "Coverage"))
    st.dataframe(summary, hide_index=True, width="stretch")

    _coverage_map(res, stored, L)

    if len(res.by_zone):
        st.subheader(T("按片区", "By zone"))
        bz = res.by_zone.copy()
        bz["method"] = label
        st.dataframe(bz, hide_index=True, width="stretch")
        chart = bz.pivot_table(index="zone", columns="minutes", values="share")
        chart.columns = [f"{c:g} min" for c in chart.columns]
        st.bar_chart(chart)
    if len(res.by_district):
        st.subheader(T("按区县", "By district"))
        bd = res.by_district.copy()
        bd["method"] = label
        st.dataframe(bd, hide_index=True, width="stretch")
    if len(res.zone_area):
        st.subheader(T("片区面积覆盖率", "Zone area covered"))
        za = res.zone_area.copy()
        za["method"] = label
        st.dataframe(za, hide_index=True, width="stretch")
    st.subheader(T("服务点冗余度(最大阈值)", "Service redundancy (largest cut-off)"))
    red = res.redundancy.sort_values("only_here").copy()
    red["method"] = label
    st.dataframe(red, hide_index=True, width="stretch")

    if st.button(
        T("导出结果资料包 (地图+图层+表格)", "Export result pack (map + layers + tables)"),
        key="cov_export",
    ):
        st.session_state["cov_pack"] = _coverage_pack(res, stored, label)
    if "cov_pack" in st.session_state:
        st.download_button(
            T("下载服务圈资料包", "Download coverage pack"),
            st.session_state["cov_pack"],
            file_name="innomap_coverage.zip",
            mime="application/zip",
            key="cov_dl",
        )

    st.subheader(T("敏感性分析(速度 × 时间)", "Sensitivity (speed × cut-off)"))
    if st.button(T("计算敏感性表", "Compute sensitivity table"), key="cov_sens"):
        svc = stored["services"]
        d_m = res.demand
        s_m = svc.to_crs(d_m.crs)
        base = res.params.effective_speed_kmh or 30.0
        speeds = tuple(sorted({round(base * f, 2) for f in (0.75, 0.875, 1.0, 1.125, 1.25)}))
        sens = sensitivity_table(
            d_m.geometry.get_coordinates().to_numpy(),
            s_m.geometry.get_coordinates().to_numpy(),
            params=res.params,
            speeds_kmh=speeds,
            minutes=res.minutes,
            graph=graph if res.params.method == "network" else None,
            weights=None if res.weight_col is None else d_m[res.weight_col].to_numpy(float),
        )
        sens["method"] = label
        st.session_state["coverage_sensitivity"] = sens
    if "coverage_sensitivity" in st.session_state:
        st.dataframe(st.session_state["coverage_sensitivity"], hide_index=True, width="stretch")


def _coverage_pack(res, stored, label) -> bytes:
    from export.maps import coverage_print_layers
    from export.pack import result_pack

    pl = coverage_print_layers(res, stored["services"])
    tables = {
        "summary": res.summary.assign(method=label),
        "by_zone": res.by_zone.assign(method=label),
        "by_district": res.by_district.assign(method=label),
        "zone_area": res.zone_area,
        "redundancy": res.redundancy,
    }
    layers = {
        "demand": res.demand.assign(method=label),
        "coverage_areas": res.coverage_areas,
        "blind_spots": res.blind_spots,
    }
    if len(res.isochrones):
        layers["isochrones"] = res.isochrones
    params = {
        "method": res.params.method,
        "mode": res.params.mode,
        "speed_kmh": res.params.effective_speed_kmh,
        "detour": res.params.detour,
        "minutes": list(res.minutes),
        "weight": res.weight_col,
        "demand": stored["demand_key"],
        "services": sorted(set(stored["services"]["layer"])),
    }
    return result_pack(
        title="15分钟科普服务圈覆盖分析",
        print_layers=pl,
        layers=layers,
        tables=tables,
        params=params,
        notes=[f"方法: {label}"],
        subtitle=label,
    )


def _coverage_map(res, stored, L):
    layers = project_layers()
    ml = [
        MapLayer("districts", REGISTRY["districts"].name(L), layers["districts"], "#444", "polygon")
    ]
    ml.append(
        MapLayer(
            "zones", REGISTRY["zones"].name(L), layers["zones"], REGISTRY["zones"].color, "polygon"
        )
    )
    blind = res.blind_spots.to_crs(4326).iloc[[-1]].copy()
    blind["name"] = T(
        f"盲区(>{res.minutes[-1]:g} 分钟)", f"Blind spots (> {res.minutes[-1]:g} min)"
    )
    ml.append(
        MapLayer(
            "blind",
            blind["name"].iloc[0],
            blind,
            "#7f7f7f",
            "polygon",
            fields=("name", "minutes"),
            style={"fillOpacity": 0.25, "weight": 0.5},
        )
    )
    areas = res.coverage_areas.to_crs(4326)
    for i in range(len(areas) - 1, -1, -1):
        a = areas.iloc[[i]].copy()
        m = a["minutes"].iloc[0]
        a["name"] = T(f"{m:g} 分钟服务圈", f"{m:g}-min service area")
        ml.append(
            MapLayer(
                f"area_{i}",
                a["name"].iloc[0],
                a,
                CUT_COLORS[i % len(CUT_COLORS)],
                "polygon",
                fields=("name", "minutes", "label"),
                style={"fillOpacity": 0.3, "weight": 1},
            )
        )
    dem = res.demand.to_crs(4326)
    last = f"covered_{res.minutes[-1]:g}"
    fields = ("id", "name", "subtype", "district", "travel_min", "nearest_service_id", "synthetic")
    cov = dem[dem[last]]
    unc = dem[~dem[last]]
    ml.append(
        MapLayer(
            "uncovered", T("未覆盖需求", "Not covered"), unc, "#d7191c", "point", fields=fields
        )
    )
    ml.append(
        MapLayer("covered", T("已覆盖需求", "Covered"), cov, "#2b83ba", "point", fields=fields)
    )
    svc = stored["services"]
    ml.append(
        MapLayer(
            "services",
            T("服务点", "Service points"),
            svc,
            "#6a3d9a",
            "point",
            style={"radius": 7, "cluster": False},
        )
    )
    m = build_map(
        ml,
        lang=L,
        legend_title=T("服务圈", "Service circles"),
        extra_notes=(res.params.label(L),),
        fit_bounds=tuple(layers["zones"].total_bounds),
    )
    st_folium(m, key="cov_map", height=600, use_container_width=True, returned_objects=[])


main()
