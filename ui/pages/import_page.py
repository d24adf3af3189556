"""Data import page: upload, preview, choose kind and CRS, errors, add to the project."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import streamlit as st
from streamlit_folium import st_folium

from layers.importer import (
    ALLOWED_EXTENSIONS,
    ImportFileError,
    ImportOptions,
    import_file,
    inspect_file,
)
from layers.registry import REGISTRY
from layers.safe import neutralize_cell
from render.webmap import MapLayer, build_map
from ui.i18n import lang
from ui.state import add_user_layer, remove_user_layer, user_layers

KINDS = [k for k, s in REGISTRY.items() if s.geometry == "point"] + ["zones"]
CRS_CHOICES = [
    "",
    "WGS84",
    "CGCS2000",
    "GCJ-02",
    "BD-09",
    "EPSG:4549",
    "EPSG:4550",
    "EPSG:32651",
    "EPSG:32650",
]


def T(zh: str, en: str) -> str:
    return en if lang() == "en" else zh


def _save_upload(up) -> Path:
    """Store the upload under a digest name with its (allowed) suffix: never the client's file name."""
    data = up.getvalue()
    suffix = Path(up.name).suffix.lower()
    if suffix not in ALLOWED_EXTENSIONS:
        raise ImportFileError(f"不支持的文件类型 {suffix!r} / unsupported file type")
    folder = Path(tempfile.gettempdir()) / "innomap-uploads"
    folder.mkdir(exist_ok=True)
    path = folder / (hashlib.sha256(data).hexdigest()[:24] + suffix)
    if not path.exists():
        path.write_bytes(data)
    return path


def main() -> None:
    L = lang()
    st.title(T("导入数据", "Import data"))
    st.caption(
        T(
            "支持 CSV / XLSX / GeoJSON / GeoPackage / 压缩 Shapefile (.zip) / KML / KMZ; 编码自动识别 "
            "(UTF-8、GBK/GB18030、UTF-16); 坐标系可选 WGS84、CGCS2000、GCJ-02(高德/腾讯)、BD-09(百度) 或 EPSG 代码。",
            "CSV, XLSX, GeoJSON, GeoPackage, zipped Shapefile, KML, KMZ; encodings detected; "
            "source systems WGS84, CGCS2000, GCJ-02 (AMap/Tencent), BD-09 (Baidu) or an EPSG code.",
        )
    )
    up = st.file_uploader(
        T("上传文件", "Upload a file"),
        type=[e.lstrip(".") for e in ALLOWED_EXTENSIONS],
        key="imp_file",
    )
    path = None
    display_name = ""
    if up is not None:
        try:
            path = _save_upload(up)
            display_name = up.name
        except ImportFileError as exc:
            st.error(f"{up.name}: {exc}")
    elif st.session_state.get("imp_path"):  # a path set by tests or a previous run
        path = Path(st.session_state["imp_path"])
        display_name = path.name
    if path is None:
        _current_layers(L)
        return
    try:
        info = inspect_file(path)
    except ImportFileError as exc:
        st.error(f"{display_name}: {exc}")
        _current_layers(L)
        return
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox(
        T("图层类别", "Layer kind"),
        KINDS,
        format_func=lambda k: REGISTRY[k].name(L),
        key="imp_kind",
    )
    crs = c2.selectbox(
        T("坐标系(空 = 自动判断)", "Coordinate system (empty = guess)"),
        CRS_CHOICES,
        format_func=lambda c: c or T("自动判断", "guess"),
        key="imp_crs",
    )
    choice = None
    if info["available"]:
        choice = c3.selectbox(T("工作表/图层", "Sheet / layer"), info["available"], key="imp_layer")
    e1, e2, e3, e4 = st.columns(4)
    lon_col = e1.text_input(T("经度列(可选)", "Longitude column (optional)"), key="imp_lon") or None
    lat_col = e2.text_input(T("纬度列(可选)", "Latitude column (optional)"), key="imp_lat") or None
    fix_swapped = e3.checkbox(
        T("自动交换颠倒的经纬度", "Swap lon/lat where swapped"), key="imp_swap"
    )
    repair = e4.checkbox(
        T("修复无效多边形 (make_valid)", "Repair invalid polygons (make_valid)"), key="imp_repair"
    )
    opts = ImportOptions(
        kind=kind,
        crs=crs or None,
        sheet=choice if info["format"] == "xlsx" else None,
        layer=choice if info["format"] != "xlsx" else None,
        lon_col=lon_col,
        lat_col=lat_col,
        repair_geometry=repair,
        fix_swapped=fix_swapped,
    )
    progress = st.progress(0, text=T("读取中…", "Reading…"))
    try:
        rep = import_file(path, opts)
    except (ImportFileError, ValueError) as exc:
        progress.empty()
        st.error(f"{display_name}: {exc}")
        _current_layers(L)
        return
    progress.progress(100, text=T("完成", "Done"))
    st.info(
        f"{display_name}: {rep.format.upper()} · {T('编码', 'encoding')} {rep.encoding or '-'} · "
        f"{T('坐标系', 'CRS')} {rep.crs_in} ({rep.crs_reason}) · {T('坐标列', 'coordinate columns')} "
        f"{', '.join(c for c in rep.coordinate_columns if c) or '-'}"
    )
    m1, m2, m3 = st.columns(3)
    m1.metric(T("总行数", "Rows"), rep.rows_total)
    m2.metric(T("有效", "Valid"), rep.rows_valid)
    m3.metric(T("被拒绝", "Rejected"), len(rep.rejected))
    if rep.errors:
        st.error(
            T(
                f"{len(rep.errors)} 个错误(这些行不会导入)",
                f"{len(rep.errors)} errors (these rows are not imported)",
            )
        )
        st.dataframe(
            [
                {"row": i.row, "field": i.field, "value": i.value, "message": i.message}
                for i in rep.errors
            ],
            hide_index=True,
            width="stretch",
        )
        csv = rep.rejected.map(neutralize_cell).to_csv(index=False).encode("utf-8-sig")
        st.download_button(
            T("下载被拒绝的行 (CSV, 含原因)", "Download rejected rows (CSV with reason)"),
            csv,
            file_name="rejected_rows.csv",
            mime="text/csv",
            key="imp_dl_rej",
        )
    if rep.warnings:
        with st.expander(T(f"{len(rep.warnings)} 个警告", f"{len(rep.warnings)} warnings")):
            st.dataframe(
                [
                    {"row": i.row, "field": i.field, "value": i.value, "message": i.message}
                    for i in rep.warnings
                ],
                hide_index=True,
                width="stretch",
            )
    if rep.rows_valid:
        st.dataframe(rep.valid.drop(columns="geometry").head(500), hide_index=True, width="stretch")
        spec = REGISTRY[kind]
        m = build_map(
            [MapLayer("preview", display_name, rep.valid, "#e377c2", spec.geometry)],
            lang=L,
            legend_title=T("预览", "Preview"),
        )
        st_folium(m, key="imp_map", height=420, use_container_width=True, returned_objects=[])
        targets = ["", *[u.key for u in user_layers()]]
        rep_target = st.selectbox(
            T("添加方式", "Add as"),
            targets,
            format_func=lambda k: T("新图层", "new layer") if not k else T("替换 ", "replace ") + k,
            key="imp_target",
        )
        if st.button(T("加入项目", "Add to project"), type="primary", key="imp_add"):
            key = add_user_layer(
                kind, display_name, rep.valid, rep.rejected, replace=rep_target or None
            )
            st.success(T(f"已加入项目: {key}", f"Added to the project: {key}"))
    _current_layers(L)


def _current_layers(L) -> None:
    st.subheader(T("本会话导入的图层", "Layers imported in this session"))
    layers = user_layers()
    if not layers:
        st.caption(T("暂无", "None yet"))
        return
    for ul in layers:
        c1, c2 = st.columns([4, 1])
        c1.write(f"{ul.key} · {ul.label} · {REGISTRY[ul.layer_key].name(L)} · {len(ul.gdf)}")
        if c2.button(T("移除", "Remove"), key=f"imp_rm_{ul.key}"):
            remove_user_layer(ul.key)
            st.rerun()


main()
