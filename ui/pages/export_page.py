"""Export page: print map preview and downloads, layers, tables, HTML and the planning pack.

Everything is of the current project and goes through the export workflow
(:mod:`workflows.exports`), so the page, ``cli.py export-map`` and
``cli.py export-layers`` give the same maps and rows.
"""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

import settings
from export.labelled import labelled_csv, labelled_xlsx
from export.layers_io import to_bytes, write_layers
from export.maps import export_html
from layers.errors import InnoMapError
from layers.project import OUTLINE_KINDS, Project
from layers.registry import REGISTRY
from ui.common import built_download, md_text
from ui.i18n import T, choice_label, column_header, field_unit, lang, t
from ui.progress import ProgressBar, pack_stages, was_cancelled
from ui.report_panel import report_panel
from ui.state import current_project, layer_choices, layer_label
from ui.tables import show_table
from workflows.exports import (
    MapExportRequest,
    default_layers,
    default_title,
    layer_frames,
    layer_tables,
    run_map_export,
)
from workflows.packs import planning_pack

#: Resource kinds offered (every kind that is not an outline).
RESOURCE_KINDS = tuple(k for k in REGISTRY if k not in OUTLINE_KINDS)
MIME = {"png": "image/png", "pdf": "application/pdf", "svg": "image/svg+xml"}


def _signature(project: Project) -> tuple:
    """Cache key of the project's content (reference, version, layers and rows)."""
    return (project.ref, project.version, tuple((n, lyr.rows) for n, lyr in project.layers.items()))


@st.cache_data(show_spinner=False, max_entries=16)
def _print(_project: Project, signature: tuple, request: dict) -> bytes:
    from render.basemaps import make_basemap

    req = dict(request)
    key, url = req.pop("basemap_key"), req.pop("tile_url")
    bm = None if key == "none" else make_basemap(key, custom_url=url)
    return run_map_export(_project, MapExportRequest(**req, basemap=bm))


def _map_options(project: Project) -> dict:
    """Widgets of the print map; returns the request fields (without format and dpi)."""
    L = lang()
    opts = layer_choices(project, RESOURCE_KINDS)
    keys = st.multiselect(
        T("图层", "Layers"),
        opts,
        default=[k for k in default_layers(project) if k in opts],
        format_func=lambda r: layer_label(project, r, L),
        key="ex_layers",
        placeholder=t("choose"),
    )
    c1, c2, c3, c4 = st.columns(4)
    zone = c1.selectbox(
        T("范围", "Extent"),
        ["", *project.zone_names()],
        format_func=lambda z: z or T("项目全域(行政区)", "whole project (districts)"),
        key="ex_zone",
    )
    paper = c2.selectbox(
        T("纸张", "Paper"),
        ["A4", "A3"],
        index=["A4", "A3"].index(settings.PRINT_PAPER),
        key="ex_paper",
    )
    orients = ["landscape", "portrait"]
    orientation = c3.selectbox(
        T("方向", "Orientation"),
        orients,
        index=orients.index(settings.PRINT_ORIENTATION),
        format_func=lambda o: choice_label("orientation", o),
        key="ex_orient",
    )
    dpis = sorted({150, 300, settings.PRINT_DPI})
    dpi = c4.selectbox("DPI", dpis, index=dpis.index(settings.PRINT_DPI), key="ex_dpi")
    title = st.text_input(T("图名", "Title"), value=default_title(project), key="ex_title")
    return {
        "layers": list(keys),
        "zone": zone or None,
        "title": title,
        "paper": paper,
        "orientation": orientation,
        "dpi": int(dpi),
    } | _basemap_options()


def _basemap_options() -> dict:
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
    url = (
        b2.text_input(T("XYZ 地址(自定义)", "XYZ URL (custom)"), key="ex_tile_url")
        if (bm_key == "custom")
        else ""
    )
    if bm_key != "none":
        st.caption(
            T(
                "在线底图需要联网; 离线时将提示错误, 请改用“无”。",
                "Online basemaps need internet; offline you get an error: choose none.",
            )
        )
    return {"basemap_key": bm_key, "tile_url": url}


def _map_section(project: Project, req: dict) -> bool:
    """Preview (80 dpi) and the print-map download; ``False`` when the map cannot be drawn."""
    sig = _signature(project)
    try:
        preview = _print(project, sig, req | {"dpi": 80, "format": "png"})
    except InnoMapError as exc:
        st.error(md_text(exc))
        return False
    st.caption(T("打印图预览(80 dpi)", "Print map preview (80 dpi)"))
    st.image(preview, width="stretch")
    fmt = st.radio(
        T("地图格式", "Map format"), ["png", "pdf", "svg"], horizontal=True, key="ex_fmt"
    )
    if st.button(T("生成打印图", "Render the print map"), key="ex_render"):
        try:
            st.session_state["ex_map"] = (fmt, _print(project, sig, req | {"format": fmt}))
        except InnoMapError as exc:
            st.error(md_text(exc))
    if "ex_map" in st.session_state:
        f, data = st.session_state["ex_map"]
        st.download_button(
            T(f"下载地图 ({f.upper()})", f"Download map ({f.upper()})"),
            data,
            file_name=f"innomap_map.{f}",
            mime=MIME[f],
            key="ex_dl_map",
        )
    return True


def _series_section(project: Project, req: dict) -> None:
    """A map series: one print map per district or zone, with a progress bar (maps written)."""
    import io
    import zipfile

    from workflows.exports import series_files

    st.subheader(T("地图集", "Map series"))
    c1, c2 = st.columns(2)
    series = c1.selectbox(
        T("每张图", "One map per"),
        ["district", "zone"],
        format_func=lambda v: T("区县", "district") if v == "district" else T("片区", "zone"),
        key="ex_series",
    )
    fmt = c2.selectbox(T("格式", "Format"), ["png", "pdf"], key="ex_series_fmt")
    if was_cancelled("ex_series_progress"):
        st.info(T("已取消地图集。", "The map series was cancelled."))
    if st.button(T("生成地图集 (zip)", "Build the map series (zip)"), key="ex_series_btn"):
        from render.basemaps import make_basemap

        fields = {k: v for k, v in req.items() if k not in ("basemap_key", "tile_url", "zone")}
        key, url = req["basemap_key"], req["tile_url"]
        bm = None if key == "none" else make_basemap(key, custom_url=url)
        with ProgressBar(
            T("绘制地图", "Drawing maps"), key="ex_series_progress", unit=T("张", "maps")
        ) as bar:
            maps = run_map_export(
                project,
                MapExportRequest(**fields, format=fmt, series=series, basemap=bm),
                on_progress=bar,
            )
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in series_files(maps, fmt):  # the CLI's --series names
                zf.writestr(name, data)
        st.session_state["ex_series_file"] = buf.getvalue()
    if "ex_series_file" in st.session_state:
        st.download_button(
            T("下载地图集", "Download the map series"),
            st.session_state["ex_series_file"],
            file_name="innomap_atlas.zip",
            mime="application/zip",
            key="ex_dl_series",
        )


def _layers_section(project: Project, keys: list[str]) -> None:
    """GIS layers and tables of the chosen layers (every row), outlines too, in a chosen CRS."""
    from export.crs_out import OFFSET_SYSTEMS, TARGET_CHOICES, marked_path, resolve_target

    st.subheader(T("图层与表格", "Layers and tables"))
    outline_opts = [lyr.name for lyr in project.layers.values() if lyr.kind in OUTLINE_KINDS]
    outlines = st.multiselect(
        T("另含区县界、片区与走廊轴线", "Also districts, zones and corridor axes"),
        outline_opts,
        default=outline_opts,
        format_func=lambda r: layer_label(project, r, lang()),
        key="ex_outlines",
        placeholder=t("choose"),
    )
    keys = [*keys, *[o for o in outlines if o not in keys]]
    _overview(project, keys)
    c1, c2 = st.columns(2)
    lf = c1.selectbox(
        T("图层格式", "Layer format"),
        ["gpkg", "geojson", "shp", "kml", "kmz"],
        format_func=lambda f: {
            "kml": T(
                "kml (奥维 / Google Earth, 按类别着色)", "kml (Ovital / Google Earth, styled)"
            ),
            "kmz": T("kmz (奥维 / Google Earth, 压缩)", "kmz (Ovital / Google Earth, zipped)"),
        }.get(f, f),
        key="ex_lfmt",
    )
    kml = lf in ("kml", "kmz")
    to_crs = c2.selectbox(
        T("坐标系", "Coordinate system"),
        ["WGS84"] if kml else list(TARGET_CHOICES),
        format_func=lambda c: {
            "WGS84": "WGS84 (EPSG:4326)",
            "CGCS2000": T("CGCS2000 国家2000 (EPSG:4490)", "CGCS2000 (EPSG:4490)"),
            "GK3": T("CGCS2000 3° 高斯-克吕格 (带号按范围)", "CGCS2000 3° Gauss-Krüger (zone)"),
            "GCJ-02": T("GCJ-02 高德/腾讯", "GCJ-02 (AMap/Tencent)"),
            "BD-09": T("BD-09 百度", "BD-09 (Baidu)"),
        }[c],
        key="ex_to_crs",
        help=T(
            "KML/KMZ 按标准只能是 WGS84。GCJ-02/BD-09 没有 EPSG 代码: 文件名与 InnoMap 标记注明坐标系, 不写 .prj。",
            "KML/KMZ are WGS84 by definition. GCJ-02/BD-09 have no EPSG code: the file name and "
            "InnoMap's marker state the system; no .prj is written.",
        ),
    )
    enc = (
        st.selectbox(T("Shapefile 编码", "Shapefile encoding"), ["UTF-8", "GBK"], key="ex_enc")
        if lf == "shp"
        else "UTF-8"
    )
    if to_crs in OFFSET_SYSTEMS:
        st.caption(
            T(
                f"{to_crs} 坐标为加偏坐标, 仅用于对应的在线地图; 文件名含 {to_crs}。",
                f"{to_crs} coordinates are offset for the matching web maps; the file name says "
                f"{to_crs}.",
            )
        )
    if st.button(T("准备图层文件", "Prepare layer file"), key="ex_layers_btn"):
        frames, sels = layer_frames(project, keys)
        suffix = {"gpkg": ".gpkg", "geojson": ".geojson", "shp": ".zip"}.get(lf, f".{lf}")
        target = resolve_target(to_crs, frames)
        kinds = {n: s.sources[0]["kind"] for n, s in sels.items() if len(s.sources) == 1}
        data = to_bytes(
            write_layers, suffix, frames, fmt=lf, encoding=enc, to_crs=target.name, kinds=kinds
        )
        name = marked_path(f"innomap_layers{suffix}", target).name
        st.session_state["ex_layer_file"] = (name, data)
        st.session_state["ex_layer_crs"] = target.name
    if "ex_layer_file" in st.session_state:
        name, data = st.session_state["ex_layer_file"]
        st.download_button(
            T(
                f"下载图层 ({st.session_state.get('ex_layer_crs', 'WGS84')})",
                f"Download layers ({st.session_state.get('ex_layer_crs', 'WGS84')})",
            ),
            data,
            file_name=name,
            key="ex_dl_layers",
        )
    _tables_section(project, keys)
    _qgis_section(project)


def _qgis_section(project: Project) -> None:
    """A QGIS project (.qgz with its GeoPackage) of the whole project, in one zip."""
    from export.qgis import qgis_zip

    st.subheader(T("QGIS 工程", "QGIS project"))
    st.caption(
        T(
            "全部项目图层, 应用的配色 (按类别与子类, 近似位置为空心)、名称标注与 A4 打印布局; QGIS 3.22 及以上打开 .qgz。",
            "Every project layer with the app's symbology, name labels and an A4 print layout; "
            "open the .qgz in QGIS 3.22 or later.",
        )
    )
    if st.button(T("生成 QGIS 工程 (zip)", "Build the QGIS project (zip)"), key="ex_qgis_btn"):
        st.session_state["ex_qgis_file"] = qgis_zip(project)
    if "ex_qgis_file" in st.session_state:
        st.download_button(
            T("下载 QGIS 工程", "Download the QGIS project"),
            st.session_state["ex_qgis_file"],
            file_name="innomap_qgis.zip",
            mime="application/zip",
            key="ex_dl_qgis",
        )


def labelled_tables(tables: dict[str, pd.DataFrame], fmt: str) -> bytes:
    """Tables for people: headers with units in the UI's language, the field names kept
    (CSV: a second header row, several tables with a 表/table column; XLSX: a fields sheet)."""
    header = partial(column_header, lang=lang())
    if fmt == "xlsx":
        return labelled_xlsx(tables, header=header, unit=field_unit)
    frames = [pd.DataFrame(df).assign(table=name) for name, df in tables.items()]
    one = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return labelled_csv(
        one[["table", *[c for c in one if c != "table"]]], header=header, unit=field_unit
    )


def _overview(project: Project, keys: list[str]) -> None:
    """The chosen layers: records and synthetic records (what the files will hold)."""
    rows = [
        {k: info[k] for k in ("name", "kind", "rows", "synthetic_rows")}
        | {"kind": REGISTRY[lyr.kind].name(lang())}
        for lyr in project.layers.values()
        if lyr.name in keys or lyr.kind in keys
        for info in (lyr.info(),)
    ]
    if rows:
        show_table(pd.DataFrame(rows), key="ex_overview", downloads=False)


def _tables_section(project: Project, keys: list[str]) -> None:
    tf = st.selectbox(
        T("表格格式", "Table format"),
        ["xlsx", "csv"],
        key="ex_tfmt",
        help=T(
            "表头为中文并注明单位; CSV 第二行为字段名, XLSX 含“字段说明”工作表",
            "Headers with units; CSV: field names in the second row, XLSX: a fields sheet",
        ),
    )
    if st.button(T("准备表格", "Prepare tables"), key="ex_tables_btn"):
        tables = layer_tables(layer_frames(project, keys)[0])
        st.session_state["ex_table_file"] = (tf, labelled_tables(tables, tf))
    if "ex_table_file" in st.session_state:
        f, data = st.session_state["ex_table_file"]
        st.download_button(
            T("下载表格", "Download tables"),
            data,
            file_name=f"innomap_tables.{f}",
            key="ex_dl_tables",
        )


def _pack_section(project: Project, req: dict) -> None:
    """The planning pack: maps, layers, tables and a README naming sources and parameters."""
    st.subheader(T("规划资料包", "Planning pack"))
    if was_cancelled("ex_pack_progress"):
        st.info(T("已取消规划资料包。", "The planning pack was cancelled."))
    if st.button(T("生成规划资料包 (zip)", "Build planning pack (zip)"), key="ex_pack"):
        pack = partial(  # maps, layers with the outlines, tables, README (workflows.packs)
            planning_pack,
            project,
            req,
            header=partial(column_header, lang=lang()),  # tables for people, fields kept
            unit=field_unit,
        )
        with ProgressBar(
            T("生成规划资料包 (打印图、图层、表格)", "Building the pack (maps, layers, tables)"),
            key="ex_pack_progress",
            unit=T("步", "steps"),
            stages=pack_stages(),
        ) as bar:  # the pack's steps counted (maps, layers, tables, README), and a cancel
            st.session_state["ex_pack_file"] = bar.run(lambda progress: pack(on_progress=progress))
    if "ex_pack_file" in st.session_state:
        st.download_button(
            T("下载规划资料包", "Download planning pack"),
            st.session_state["ex_pack_file"],
            file_name="innomap_planning_pack.zip",
            mime="application/zip",
            key="ex_dl_pack",
        )


def _html_section(project: Project, req: dict) -> None:
    """The interactive HTML map (offline, one file): built on its button, not on a page view
    (~0.3 s of server CPU on the demo), in the page's run (its errors shown here)."""
    built_download(
        key=(_signature(project), tuple(req["layers"]), req["zone"], req["title"]),
        build=lambda: export_html(
            project, list(req["layers"]), zone=req["zone"], title=req["title"]
        ),
        button=T(
            "生成交互式 HTML 地图(离线单文件)", "Build the interactive HTML map (offline, one file)"
        ),
        button_key="ex_html_btn",
        label=T("下载交互式 HTML 地图", "Download the interactive HTML map"),
        file_name="innomap_map.html",
        mime="text/html",
        download_key="ex_dl_html",
    )


def main() -> None:
    st.title(T("导出(规划文本/图集)", "Export for planning documents"))
    try:
        project = current_project()
    except InnoMapError as exc:
        st.error(md_text(exc))
        return
    st.caption(md_text(f"{project.name} · {project.city} · {project.crs_label()}"))
    req = _map_options(project)
    if not req["layers"]:
        st.info(T("请至少选择一个图层。", "Choose at least one layer."))
        return
    if not _map_section(project, req):
        return
    try:
        _series_section(project, req)
        _layers_section(project, req["layers"])
        _html_section(project, req)
        _pack_section(project, req)
        report_panel(project)
    except InnoMapError as exc:
        st.error(md_text(exc))


main()
