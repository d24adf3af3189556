"""Export page: print map preview and downloads, layers, tables, HTML and the planning pack."""

from __future__ import annotations

import streamlit as st

from export.layers_io import to_bytes, write_layers, write_tables
from export.maps import base_layers, export_html, zone_extent
from export.pack import result_pack
from export.printmap import PrintError, render_print_map
from layers.registry import REGISTRY
from ui.i18n import lang
from ui.state import project_layers

POINT_KEYS = (
    "universities",
    "platforms",
    "incubators",
    "science_venues",
    "enterprises",
    "communities",
)


def T(zh: str, en: str) -> str:
    return en if lang() == "en" else zh


@st.cache_data(show_spinner=False, max_entries=16)
def _print(
    keys: tuple[str, ...],
    zone: str,
    title: str,
    paper: str,
    orientation: str,
    dpi: int,
    fmt: str,
    basemap_key: str = "none",
    tile_url: str = "",
) -> bytes:
    from ui.basemaps import make_basemap

    bm = None if basemap_key == "none" else make_basemap(basemap_key, custom_url=tile_url)
    return render_print_map(
        base_layers(list(keys), zone=zone or None),
        title=title,
        subtitle=zone,
        paper=paper,
        orientation=orientation,
        dpi=dpi,
        fmt=fmt,
        extent=zone_extent(zone or None),
        basemap=bm,
    )


def main() -> None:
    L = lang()
    st.title(T("导出(规划文本/图集)", "Export for planning documents"))
    layers = project_layers()
    keys = st.multiselect(
        T("图层", "Layers"),
        list(POINT_KEYS),
        default=["universities", "platforms", "incubators", "enterprises"],
        format_func=lambda k: REGISTRY[k].name(L),
        key="ex_layers",
    )
    c1, c2, c3, c4 = st.columns(4)
    zone = c1.selectbox(
        T("范围", "Extent"),
        ["", *layers["zones"]["name"].tolist()],
        format_func=lambda z: z or "全部片区 / all zones",
        key="ex_zone",
    )
    paper = c2.selectbox(T("纸张", "Paper"), ["A4", "A3"], key="ex_paper")
    orientation = c3.selectbox(
        T("方向", "Orientation"),
        ["landscape", "portrait"],
        format_func=lambda o: {"landscape": "横版 landscape", "portrait": "竖版 portrait"}[o],
        key="ex_orient",
    )
    dpi = c4.selectbox("DPI", [150, 300], index=1, key="ex_dpi")
    title = st.text_input(T("图名", "Title"), value="宁波市创新资源分布图", key="ex_title")
    b1, b2 = st.columns(2)
    bm_key = b1.selectbox(
        T("打印底图", "Print basemap"),
        ["none", "osm", "amap", "custom"],
        format_func=lambda k: {
            "none": T("无(区县界与片区, 离线)", "none (outlines, offline)"),
            "osm": "OpenStreetMap",
            "amap": "高德 AMap (GCJ-02)",
            "custom": T("自定义 XYZ", "custom XYZ"),
        }[k],
        key="ex_bm",
    )
    tile_url = (
        b2.text_input(T("XYZ 地址(自定义)", "XYZ URL (custom)"), key="ex_tile_url")
        if bm_key == "custom"
        else ""
    )
    if bm_key != "none":
        st.caption(
            T(
                "在线底图需要联网; 离线时将提示错误, 请改用“无”。",
                "Online basemaps need internet; offline you get an error: choose none.",
            )
        )
    if not keys:
        st.info(T("请至少选择一个图层。", "Choose at least one layer."))
        return
    try:
        preview = _print(tuple(keys), zone, title, paper, orientation, 80, "png", bm_key, tile_url)
    except (PrintError, ValueError) as exc:
        st.error(str(exc))
        return
    st.caption(T("打印图预览(80 dpi)", "Print map preview (80 dpi)"))
    st.image(preview, width="stretch")
    fmt = st.radio(
        T("地图格式", "Map format"), ["png", "pdf", "svg"], horizontal=True, key="ex_fmt"
    )
    if st.button(T("生成打印图", "Render the print map"), key="ex_render"):
        st.session_state["ex_map"] = (
            fmt,
            _print(tuple(keys), zone, title, paper, orientation, int(dpi), fmt),
        )
    if "ex_map" in st.session_state:
        f, data = st.session_state["ex_map"]
        mime = {"png": "image/png", "pdf": "application/pdf", "svg": "image/svg+xml"}[f]
        st.download_button(
            T(f"下载地图 ({f.upper()})", f"Download map ({f.upper()})"),
            data,
            file_name=f"innomap_map.{f}",
            mime=mime,
            key="ex_dl_map",
        )

    st.subheader(T("图层与表格", "Layers and tables"))
    sel = {k: layers[k] for k in keys}
    lf = st.selectbox(
        T("图层格式", "Layer format"), ["gpkg", "geojson", "shp", "kml"], key="ex_lfmt"
    )
    enc = (
        st.selectbox(T("Shapefile 编码", "Shapefile encoding"), ["UTF-8", "GBK"], key="ex_enc")
        if lf == "shp"
        else "UTF-8"
    )
    if st.button(T("准备图层文件", "Prepare layer file"), key="ex_layers_btn"):
        suffix = {"gpkg": ".gpkg", "geojson": ".geojson", "shp": ".zip", "kml": ".kml"}[lf]
        st.session_state["ex_layer_file"] = (
            suffix,
            to_bytes(write_layers, suffix, sel, fmt=lf, encoding=enc),
        )
    if "ex_layer_file" in st.session_state:
        suffix, data = st.session_state["ex_layer_file"]
        st.download_button(
            T("下载图层", "Download layers"),
            data,
            file_name=f"innomap_layers{suffix}",
            key="ex_dl_layers",
        )
    tf = st.selectbox(T("表格格式", "Table format"), ["xlsx", "csv"], key="ex_tfmt")
    if st.button(T("准备表格", "Prepare tables"), key="ex_tables_btn"):
        tables = {}
        for k, g in sel.items():
            t = g.drop(columns="geometry").copy()
            t.insert(2, "lon", g.geometry.x.round(6))
            t.insert(3, "lat", g.geometry.y.round(6))
            tables[REGISTRY[k].name_zh] = t
        st.session_state["ex_table_file"] = (
            tf,
            to_bytes(write_tables, f".{tf}", tables, fmt=tf),
        )
    if "ex_table_file" in st.session_state:
        f, data = st.session_state["ex_table_file"]
        st.download_button(
            T("下载表格", "Download tables"),
            data,
            file_name=f"innomap_tables.{f}",
            key="ex_dl_tables",
        )
    st.download_button(
        T(
            "下载交互式 HTML 地图(离线单文件)",
            "Download interactive HTML map (offline, single file)",
        ),
        export_html(keys, zone=zone or None, title=title),
        file_name="innomap_map.html",
        mime="text/html",
        key="ex_dl_html",
    )

    st.subheader(T("规划资料包", "Planning pack"))
    if st.button(T("生成规划资料包 (zip)", "Build planning pack (zip)"), key="ex_pack"):
        with st.spinner(T("正在生成…", "Building…")):
            tables = {REGISTRY[k].name_zh: sel[k].drop(columns="geometry") for k in keys}
            data = result_pack(
                title=title,
                print_layers=base_layers(keys, zone=zone or None),
                layers=sel,
                tables=tables,
                params={"layers": keys, "zone": zone, "paper": paper, "orientation": orientation},
                extent=zone_extent(zone or None),
                subtitle=zone,
            )
        st.session_state["ex_pack_file"] = data
    if "ex_pack_file" in st.session_state:
        st.download_button(
            T("下载规划资料包", "Download planning pack"),
            st.session_state["ex_pack_file"],
            file_name="innomap_planning_pack.zip",
            mime="application/zip",
            key="ex_dl_pack",
        )


main()
