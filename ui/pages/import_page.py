"""Data import page: upload, preview, choose kind and CRS, errors, add to the current project.

The upload is written to a private temporary folder under its original file name
(the importer reads CRS hints such as 高德/百度 from it) and deleted when the
import of this run ends; what is kept is the layer in the project, with the
original file name, input CRS, encoding, import time and rejected rows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

import settings
from layers import auth
from layers.cities import city_outline
from layers.errors import InnoMapError
from layers.geocode import PROVIDERS, provider_key
from layers.importer import (
    ALLOWED_EXTENSIONS,
    CRSQuestionError,
    ImportOptions,
    apply_value_map,
    guess_columns,
    inspect_file,
    table_head,
)
from layers.project import OUTLINE_KINDS, remove_layer
from layers.registry import OTHER, REGISTRY, guess_kind, vocabulary
from layers.safe import safe_csv, safe_file_name
from render.webmap import MapLayer, build_map, project_outline_layers
from ui.common import T, guarded, md_text, project_or_stop
from ui.i18n import lang
from ui.map_data import prepare_in_background
from ui.mapview import show_map
from ui.progress import ProgressBar, was_cancelled
from ui.state import current_project, refresh_project
from ui.tables import show_table
from ui.undo import show_message, undo_button
from ui.uploads import upload_ok
from workflows.geocode import (
    GeocodeRequest,
    address_columns,
    address_table,
    import_geocoded,
)
from workflows.geocode import run as run_geocode
from workflows.importing import add_to_project
from workflows.importing import run as run_import

KINDS = [k for k, s in REGISTRY.items() if s.geometry == "point"] + ["zones", "corridor_axes"]
CRS_CHOICES = ["", "WGS84", "CGCS2000", "GCJ-02", "BD-09", "EPSG", "GK3", "GK3E"]
ASK_CHOICES = ("WGS84", "GCJ-02", "BD-09")
_ERRORS_SHOWN = 1_000
_TOO_LARGE_FIX = (
    "请拆分文件, 或在服务器上用 python cli.py project add 导入",
    "split the file, or import it on the server with python cli.py project add",
)


def _safe_name(name: str) -> str:
    return safe_file_name(Path(name).name, default="upload")[-120:]


def _source():
    """``(bytes or path, display name)`` of the file to import, or ``(None, "")``."""
    up = st.file_uploader(
        T("上传文件", "Upload a file"),
        type=[e.lstrip(".") for e in ALLOWED_EXTENSIONS],
        key="imp_file",
    )
    if up is not None and up.file_id == st.session_state.get("imp_released"):
        return None, ""  # added to the project already: released, not read again
    if up is not None:
        if not upload_ok(up, max_mb=settings.IMPORT_UPLOAD_MAX_MB, fix=_TOO_LARGE_FIX):
            return None, ""  # refused before its bytes are read
        return up, up.name  # read once per upload (its digest is kept), not per rerun
    if st.session_state.get("imp_path"):  # a path on the server (tests, scripted use)
        p = Path(st.session_state["imp_path"])
        return p, p.name
    return None, ""


def _crs_choice(c2) -> str | None:
    crs = c2.selectbox(
        T("坐标系(空 = 自动判断)", "Coordinate system (empty = guess)"),
        CRS_CHOICES,
        format_func=lambda c: {
            "": T("自动判断", "guess"),
            "EPSG": T("EPSG 代码…", "EPSG code…"),
            "GK3": T(
                "CGCS2000 3° 带号坐标(东坐标含带号)", "CGCS2000 3° GK, zone-prefixed eastings"
            ),
            "GK3E": T(
                "CGCS2000 3° 中央经线(东坐标无带号)", "CGCS2000 3° GK by central meridian, no prefix"
            ),
        }.get(c, c),
        key="imp_crs",
    )
    if crs == "EPSG":
        code = c2.text_input(T("EPSG 代码", "EPSG code"), placeholder="4549", key="imp_epsg")
        return f"EPSG:{code.strip().removeprefix('EPSG:')}" if code.strip() else None
    if crs == "GK3":
        zone = c2.number_input(T("带号 (25–45)", "Zone (25–45)"), 25, 45, 40, key="imp_gk_zone")
        return f"GK3:{int(zone)}"
    if crs == "GK3E":
        cm = c2.number_input(
            T("中央经线 (75–135°E, 3 的倍数)", "Central meridian (75–135°E, multiple of 3)"),
            75,
            135,
            117,
            step=3,
            key="imp_gk_cm",
        )
        return f"GK3:{int(cm)}E"
    return st.session_state.get("imp_crs_confirm") or crs or None


def _options(info) -> ImportOptions:
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox(
        T("图层类别", "Layer kind"),
        KINDS,
        format_func=lambda k: REGISTRY[k].name(lang()),
        key="imp_kind",
    )
    crs = _crs_choice(c2)
    choice = None
    if info["available"]:
        hidden = set(info.get("hidden") or [])  # hidden sheets are listed last, marked
        visible = [s for s in info["available"] if s not in hidden]
        merged = info["format"] == "xlsx" and len(visible) > 1  # never silently the first sheet
        layered = info["format"] != "xlsx" and len(info["available"]) > 1  # folders/layers
        choice = c3.selectbox(
            T("工作表/图层", "Sheet / layer"),
            ([_ALL_SHEETS] if merged or layered else []) + list(info["available"]),
            format_func=lambda s: (
                T("全部工作表(表头相同时合并)", "All sheets (merged if one header)")
                if merged
                else T("全部图层/文件夹(合并, 保留来源字段)", "All layers/folders (merged, source kept)")
            )
            if s == _ALL_SHEETS
            else s + (T("(隐藏)", " (hidden)") if s in hidden else ""),
            key="imp_layer",
        )
        choice = None if choice == _ALL_SHEETS else choice
    e1, e2, e3, e4 = st.columns(4)
    return ImportOptions(
        kind=kind,
        crs=crs,
        sheet=choice if info["format"] == "xlsx" else None,
        layer=choice if info["format"] != "xlsx" else None,
        lon_col=e1.text_input(T("经度列(可选)", "Longitude column (optional)"), key="imp_lon")
        or None,
        lat_col=e2.text_input(T("纬度列(可选)", "Latitude column (optional)"), key="imp_lat")
        or None,
        fix_swapped=e3.checkbox(
            T("自动交换颠倒的经纬度", "Swap lon/lat where swapped"), key="imp_swap"
        ),
        repair_geometry=e4.checkbox(
            T("修复无效多边形 (make_valid)", "Repair invalid polygons"), key="imp_repair"
        ),
        city_outline=city_outline(current_project()),
        drop_outside_city=st.checkbox(
            T(
                "剔除项目城市范围以外的行(默认保留并标记 outside_city)",
                "Drop rows outside the project's city (default: keep, flagged outside_city)",
            ),
            key="imp_drop_outside",
        ),
    )


_ALL_SHEETS = "\x00all"
#: Fields whose column the planner may choose on the page (coordinates first).
_MAPPED_FIELDS = ("lon", "lat", "lonlat", "name", "id", "address", "subtype", "level", "district")


def _field_label(f: str) -> str:
    from layers.schema import field_label

    return {
        "lonlat": T("经纬度(一格)", "Lon/lat in one cell"),
        "subtype": T("子类/类型", "Subtype / type"),
    }.get(f, field_label(f, lang()))


def _head(path_of, info, opts: ImportOptions, digest: str):
    """The table's first rows and detected header (kept per file, sheet and encoding)."""
    sig = (digest, opts.sheet, opts.encoding)
    head = _held("imp_head", sig)
    if head is None:
        head = guarded(table_head, path_of(), ImportOptions(sheet=opts.sheet, encoding=opts.encoding))
        if head is None:
            return None
        st.session_state["imp_head"] = (sig, head)
    return head


def _table_layout(path_of, info, opts: ImportOptions, digest: str) -> ImportOptions:
    """A table's header row (detected, the planner may pick another) and its column mapping
    (guessed, each field's column may be changed): the options the import reads with."""
    head = _head(path_of, info, opts, digest)
    if not head or not head["rows"]:
        return opts
    st.subheader(T("表格结构", "Table layout"))
    rows = head["rows"]
    numbers = [n for n, _ in rows]
    width = max(len(r) for _, r in rows)
    top = pd.DataFrame(
        [r for _, r in rows],
        index=pd.Index(numbers, name=T("行", "row")),
        columns=[f"{chr(65 + j) if j < 26 else j + 1}" for j in range(width)],
    )
    st.table(top.head(12))  # a small static table: the import's own tables stay dataframes
    detected = head["detected"]
    row = st.selectbox(
        T("表头行(表头上方的标题行、下方的表注作为备注保留)", "Header row (titles above and footnotes below are kept as notes)"),
        numbers,
        index=numbers.index(detected) if detected in numbers else 0,
        format_func=lambda n: T(f"第 {n} 行", f"row {n}")
        + (T("(自动识别)", " (detected)") if n == detected else "")
        + ": "
        + " | ".join(c for c in dict(rows)[n] if c)[:80],
        key="imp_header_row",
    )
    header_row = None if row == detected else int(row)
    columns = head["columns"]
    if header_row is not None:
        chosen = table_head(path_of(), ImportOptions(sheet=opts.sheet, encoding=opts.encoding, header_row=header_row))
        columns = chosen["columns"]
    overrides: dict[str, str] = {}
    extra = tuple(REGISTRY[opts.kind].extra_fields) if opts.kind in REGISTRY else ()
    fields = [f for f in (*_MAPPED_FIELDS, *extra) if f not in ("approximate", "boundary_note")]
    keyed = f"{header_row or detected}"
    for f in fields:
        picked = st.session_state.get(f"imp_col_{f}_{keyed}", "")
        if picked and picked in columns:
            overrides[f] = picked
    guessed = guess_columns(columns, overrides)
    st.caption(T("列对应(可修改):", "Column mapping (change any):"))
    grid = st.columns(4)
    for k, f in enumerate(fields):
        auto = guessed.get(f) if f not in overrides else None
        grid[k % 4].selectbox(
            _field_label(f),
            ["", *columns],
            format_func=lambda c, a=auto: (T("自动: ", "auto: ") + (a or "—")) if c == "" else c,
            key=f"imp_col_{f}_{keyed}",
        )
    shown = pd.DataFrame(
        {T("文件中的列", "Column of the file"): list(guessed.values())},
        index=pd.Index([_field_label(f) for f in guessed], name=T("字段", "Field")),
    )
    st.table(shown)
    return dataclasses.replace(opts, header_row=header_row, columns=overrides)


def _digest(src, name: str) -> str:
    """The upload's content digest (once per upload: kept by its file id), or a file's stamp."""
    if isinstance(src, Path):
        return f"{name}|{_stamp(src)}"
    held = st.session_state.get("imp_digest")
    if held and held[0] == src.file_id:
        return held[1]
    digest = f"{name}|{hashlib.sha1(src.getbuffer()).hexdigest()}"
    st.session_state["imp_digest"] = (src.file_id, digest)
    return digest


def _held(key: str, sig):
    """The value kept in the session under ``key`` for ``sig`` (None when another file's)."""
    held = st.session_state.get(key)
    return held[1] if held and held[0] == sig else None


def _import(path_of, opts: ImportOptions, digest: str):
    """The import report, read once per file and options (kept for reruns), with a
    progress bar (rows read) and a cancel button; None when cancelled. ``path_of()``
    gives the file (the upload is written out only when it is read)."""
    sig = (digest, repr(opts))
    if was_cancelled("imp_progress"):
        st.session_state["imp_cancelled"] = sig
    if st.session_state.get("imp_cancelled") == sig:
        st.info(T("已取消读取此文件。", "Reading this file was cancelled."))
        if not st.button(T("重新读取", "Read it again"), key="imp_retry"):
            return None
        st.session_state.pop("imp_cancelled", None)
    rep = _held("imp_report", sig)
    if rep is not None:
        return rep
    st.session_state.pop("imp_report", None)  # the previous file's rows go before these are read
    with ProgressBar(
        T("读取", "Reading"),
        key="imp_progress",
        unit=T("行", "rows"),
        lazy=True,
        after=T("校验中", "checking"),
    ) as bar:
        rep = run_import(path_of(), opts, on_progress=bar)
    st.session_state["imp_report"] = (sig, rep)
    return rep


def _stamp(path: Path) -> str:
    st_ = path.stat()
    return f"{path.resolve()}|{st_.st_size}|{st_.st_mtime_ns}"


def _read(src, name: str):
    """Inspect and import the file, both kept in the session by the file's digest: a rerun
    with the same file and options reads nothing. An upload is written to a temporary
    copy only when it must be read; the copy is deleted before this returns.

    A table with no coordinate columns is geocoded first (:func:`_geocode`).
    """
    digest = _digest(src, name)
    if st.session_state.get("imp_crs_confirm_for") != digest:  # an answer is for its own file
        st.session_state.pop("imp_crs_confirm", None)
    with tempfile.TemporaryDirectory(prefix="innomap-upload-") as d:
        kept: dict[str, Path] = {}

        def path_of() -> Path:
            if isinstance(src, Path):
                return src
            if "path" not in kept:
                kept["path"] = Path(d) / _safe_name(name)
                with open(kept["path"], "wb") as f:
                    f.write(src.getvalue())
            return kept["path"]

        info = _held("imp_info", digest)
        if info is None:
            info = guarded(inspect_file, path_of())
            if info is None:
                return None, None
            st.session_state["imp_info"] = (digest, info)
            cols, texts = info.get("columns") or (), ()
            if info["format"] in ("csv", "xlsx"):  # titles and values tell an incubator list
                head = guarded(table_head, path_of()) or {}
                cols = head.get("columns") or cols
                texts = [*head.get("titles", ()), *(c for _, r in head.get("rows", ()) for c in r)]
            kind = guess_kind(name, cols, texts)
            if kind in KINDS:  # a new file: its likely kind preselected (the user may change it)
                st.session_state["imp_kind"] = kind
        if _add_by_kind(path_of, info, name, src):  # an InnoMap export of several kinds
            return None, None
        opts = _options(info)
        if info["format"] in ("csv", "xlsx"):
            opts = _table_layout(path_of, info, opts, digest)
        table = None
        try:
            rep = _import(path_of, opts, digest)
        except CRSQuestionError as question:  # hinted GeoJSON/KML, metres without a zone prefix
            rep = None
            _ask_file_crs(question)
        except InnoMapError as exc:  # a table without coordinates can still be geocoded
            rep, table = None, address_table(path_of(), opts)
            if table is None:
                st.error(md_text(exc))  # names the file, a column or a value: shown as typed
        if rep is None and table is not None:
            geo = _geocode(table, name)
            # the geocoded table is written with its header on the first line
            regeo = dataclasses.replace(opts, header_row=None, sheet=None)
            out = guarded(import_geocoded, geo, d, name, regeo) if geo is not None else None
            rep = out[0] if out else None
    return rep, opts


_STATUS_LABEL = {
    "ok": ("精确", "ok"),
    "coarse": ("粗略", "coarse"),
    "ambiguous": ("有歧义", "ambiguous"),
    "no_match": ("无匹配", "no match"),
    "failed": ("失败", "failed"),
    "outside_project": ("项目范围外", "outside the project"),
}


def _provider_label(p: str) -> str:
    return {
        "offline": T("离线 (定位到开发区/区县)", "Offline (to the zone or county)"),
        "local": T("本地地址库 (标准地址/门牌)", "Local address register"),
        "amap": T("高德", "AMap"),
        "tianditu": T("天地图", "Tianditu"),
        "baidu": T("百度", "Baidu"),
    }[p]


def _geocode(table, name: str):
    """No coordinate columns: geocode the addresses; the geocoded table, or None until done."""
    project = project_or_stop()
    st.warning(
        T(
            "文件中没有坐标列。可按地址列地理编码后导入: 离线方式定位到地址所写的项目片区 (高新区、"
            "经开区…) 或区县/城市, 精度为该范围的真实上界 (精度粗于分析尺度的点默认不计入); "
            "本地地址库 (标准地址/门牌表) 可逐门牌匹配; 在线服务 (高德/天地图/百度) 需要 Key。",
            "The file has no coordinate columns. Geocode its address column, then import: offline "
            "places rows in the project zone (高新区, 经开区 …) or county/city the address names, "
            "with that area's true bound as precision (left out of finer analyses by default); a "
            "local address register matches door numbers; online services (AMap/Tianditu/Baidu) "
            "need a key.",
        )
    )
    c1, c2 = st.columns(2)
    col = c1.selectbox(T("地址列", "Address column"), address_columns(table), key="imp_geo_col")
    provider = c2.selectbox(
        T("地理编码服务", "Geocoder"),
        PROVIDERS,
        format_func=_provider_label,
        key="imp_geo_provider",
    )
    key = None
    register = None
    if provider == "local":
        register = _register_choice(project)
        if register is None:
            return None
    elif provider != "offline":
        key = provider_key(provider, secrets=st.secrets) or st.text_input(
            T("Key (仅本次使用, 不保存)", "Key (used for this run only, never saved)"),
            type="password",
            key="imp_geo_key",
        )
    sig = (name, len(table), col, provider, register[0] if register else None)
    held = st.session_state.get("imp_geo")
    if held is None or held[0] != sig:
        go = st.button(T("开始地理编码", "Geocode"), type="primary", key="imp_geo_run")
        if not (go or st.session_state.pop("imp_geo_resume_now", False)):
            return None
        bar = st.progress(0.0, text=T("地理编码中…", "Geocoding…"))

        def progress(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"{done:,} / {total:,}")

        req = GeocodeRequest(
            address_col=col,
            provider=provider,
            key=key or None,
            gazetteer=register[0] if register else None,
        )
        rep = guarded(
            run_geocode,
            table,
            req,
            project=project,
            on_progress=progress,
            register=register[1] if register else None,
        )
        if rep is None:
            return None
        held = (sig, rep)
        st.session_state["imp_geo"] = held
    return _geocode_result(held[1])


_REGISTER_TYPES = ["csv", "txt", "xlsx", "gpkg", "geojson", "json", "kml"]


def _register_choice(project):
    """The local register to use: ``(name, Gazetteer or None)`` — one kept in the project
    (by name) or one uploaded here (kept in the project when it is writable) — or None."""
    from layers.gazetteer import Gazetteer, read_register
    from layers.project import add_gazetteer, gazetteer_names

    names = gazetteer_names(project)
    up = st.file_uploader(
        T(
            "地址库 (标准地址/门牌表, 含坐标; 可写项目中保存, 下次直接选用)",
            "Address register (standard addresses with coordinates; kept in a writable project)",
        ),
        type=_REGISTER_TYPES,
        key="imp_geo_gaz_up",
    )
    crs = st.text_input(
        T("地址库坐标系 (留空按列名/文件名识别)", "Register CRS (empty: from its names)"),
        key="imp_geo_gaz_crs",
        placeholder="GCJ-02 / CGCS2000 / GK3:39 / EPSG:4549",
    )
    session = st.session_state.get("imp_geo_gaz_session")  # (name, Gazetteer) of an upload
    fix = ("请在服务器上用 python cli.py geocode --gazetteer", "use python cli.py geocode --gazetteer")
    if up is not None and upload_ok(up, max_mb=settings.IMPORT_UPLOAD_MAX_MB, fix=fix):
        if st.button(T("读取地址库", "Read the register"), key="imp_geo_gaz_read"):
            with tempfile.TemporaryDirectory() as d:
                path = Path(d) / _safe_name(up.name)
                path.write_bytes(up.getvalue())
                got = guarded(read_register, path, crs=crs.strip() or None)
            if got is None:
                return None
            frame, notes = got
            for n in notes:
                st.caption(md_text(n))
            stem = Path(up.name).stem
            if not project.read_only and auth.can("editor"):
                kept = guarded(
                    add_gazetteer, project, name=stem, frame=frame, source_file=up.name
                )
                if kept is None:
                    return None
                refresh_project()
                names = gazetteer_names(project)
                st.session_state["imp_geo_gaz"] = kept
                st.success(
                    T(
                        f"地址库 {md_text(kept)} ({len(frame):,} 条) 已保存到项目",
                        f"Register {md_text(kept)} ({len(frame):,} rows) kept in the project",
                    )
                )
            else:
                session = (stem, Gazetteer.from_frame(frame, name=stem, counties=project.counties))
                st.session_state["imp_geo_gaz_session"] = session
    choices = list(names) + ([session[0]] if session and session[0] not in names else [])
    if not choices:
        st.info(
            T(
                "项目中还没有地址库: 请上传标准地址/门牌表并读取。",
                "No register in the project yet: upload a standard-address table and read it.",
            )
        )
        return None
    chosen = st.selectbox(T("地址库", "Register"), choices, key="imp_geo_gaz")
    if chosen in names:
        return chosen, None
    return chosen, session[1]


def _geocode_result(rep):
    """Counts by status, the rows not ok (listed, downloadable) and a resume button."""
    s = rep.summary
    shown = [(k, n) for k, n in s["counts"].items() if n]
    for c, (k, n) in zip(st.columns(max(len(shown), 1)), shown, strict=False):
        c.metric(T(*_STATUS_LABEL[k]), n)
    if s["interrupted"]:
        st.warning(s["interrupted"])
        if st.button(
            T("继续 (已查询的地址不再查询)", "Resume (answered addresses are not asked again)"),
            key="imp_geo_resume",
        ):
            st.session_state.pop("imp_geo", None)
            st.session_state["imp_geo_resume_now"] = True
            st.rerun()
    listed = rep.tables["listed"]
    if len(listed):
        st.caption(
            T(
                f"{len(listed)} 行未精确定位 (粗略的仍导入, 其余不导入):",
                f"{len(listed)} rows not placed precisely (coarse ones are imported, the others not):",
            )
        )
        cols = [rep.request["address_col"], "geocode_status", "coord_precision_m", "geocode_note"]
        show_table(listed[cols], key="imp_geo_listed", downloads=False)
        csv = safe_csv(listed)  # formulas neutralised, CR/LF quoted
        st.download_button(
            T("下载这些行 (CSV)", "Download these rows (CSV)"),
            csv,
            file_name="geocode_listed.csv",
            mime="text/csv",
            key="imp_geo_dl",
        )
    return rep.tables["geocoded"]


def _issues(rep) -> None:
    st.info(
        f"{md_text(rep.file)}: {rep.format.upper()} · {T('编码', 'encoding')} "
        f"{md_text(rep.encoding or '-')} · {T('坐标系', 'CRS')} {md_text(rep.crs_in)} "
        f"({md_text(rep.crs_reason)}) · {T('坐标列', 'coordinate columns')} "
        f"{md_text(', '.join(c for c in rep.coordinate_columns if c) or '-')}"
    )
    m1, m2, m3 = st.columns(3)
    m1.metric(T("总行数", "Rows"), rep.rows_total)
    m2.metric(T("有效", "Valid"), rep.rows_valid)
    m3.metric(T("被拒绝", "Rejected"), len(rep.rejected))

    def rows(issues):
        return [
            {"row": i.row, "field": i.field, "value": i.value, "message": i.message} for i in issues
        ]

    if rep.errors:
        st.error(
            T(
                f"{len(rep.errors)} 个错误(这些行不会导入)",
                f"{len(rep.errors)} errors (these rows are not imported)",
            )
        )
        shown = rep.errors[:_ERRORS_SHOWN]  # all of them are in the download below
        if len(shown) < len(rep.errors):
            st.caption(
                T(
                    f"显示前 {len(shown):,} 个错误; 全部被拒绝的行及原因见下载。",
                    f"The first {len(shown):,} errors; download the rejected rows for all.",
                )
            )
        show_table(pd.DataFrame(rows(shown)), key="imp_errors", downloads=False)
        rejected = rep.rejected
        st.download_button(  # written when clicked: not 600k rows of CSV on every rerun
            T("下载被拒绝的行 (CSV, 含原因)", "Download rejected rows (CSV with reason)"),
            lambda: safe_csv(rejected),  # formulas neutralised, CR/LF quoted
            file_name="rejected_rows.csv",
            mime="text/csv",
            key="imp_dl_rej",
            on_click="ignore",
        )
    if rep.warnings:
        with st.expander(T(f"{len(rep.warnings)} 个警告", f"{len(rep.warnings)} warnings")):
            show_table(pd.DataFrame(rows(rep.warnings)), key="imp_warnings", downloads=False)


def _ask_file_crs(question: CRSQuestionError) -> None:
    """The file's CRS cannot be decided without the planner: ask (GCJ-02/BD-09 for a GeoJSON
    or KML named after AMap/Baidu; the GK zone of CAD metres without a zone prefix)."""
    from layers.crs import UnknownCRSError, parse_crs

    st.warning(md_text(question))  # names the file
    labels = {
        "WGS84": T("WGS84 (GPS/天地图)", "WGS84 (GPS/Tianditu)"),
        "GCJ-02": T("GCJ-02 (高德/腾讯)", "GCJ-02 (AMap/Tencent)"),
        "BD-09": T("BD-09 (百度)", "BD-09 (Baidu)"),
    }
    choices = list(question.choices)
    if question.question == "projected":  # the project's own 3° zone first (合肥: GK3:117E)
        try:
            x0, _, x1, _ = project_or_stop().bounds()
            own = f"GK3:{3 * round((x0 + x1) / 6)}E"
            parse_crs(own)
            choices = [own, *(c for c in choices if c != own)]
        except (InnoMapError, TypeError, ValueError):
            pass
    ans = st.radio(
        T("文件的坐标系", "The file's coordinate system"),
        choices,
        index=None,
        horizontal=True,
        format_func=lambda c: labels.get(c, c),
        key="imp_crs_file_ask",
    )
    if question.question == "projected":
        typed = st.text_input(
            T("或输入 (如 GK3:39、GK3:117E、EPSG:4549)", "Or type one (e.g. GK3:39, GK3:117E, EPSG:4549)"),
            key="imp_crs_file_typed",
        ).strip()
        if typed:
            try:
                ans = parse_crs(typed).name
            except UnknownCRSError as exc:
                st.error(md_text(exc))  # quotes what was typed
                return
    if ans:
        st.session_state["imp_crs_confirm"] = ans
        st.session_state["imp_crs_confirm_for"] = (st.session_state.get("imp_info") or (None,))[0]
        st.rerun()


def _add_by_kind(path_of, info, name: str, src) -> bool:
    """A file InnoMap wrote with layers of several kinds (a layer export): offer to add each
    layer into its own kind. True once added (the file is then released)."""
    kinds = {k: v for k, v in (info.get("layer_kinds") or {}).items() if v}
    if len(set(kinds.values())) < 2:
        return False
    project = project_or_stop()
    listed = ", ".join(
        f"{md_text(Path(k).stem)} → {REGISTRY[v].name(lang())}" for k, v in kinds.items()
    )
    st.info(
        T(
            f"InnoMap 导出的文件, 含不同类别的图层: {listed}。可按各自类别逐层加入项目, "
            "或在下方选择一个类别只导入该类别的图层。",
            f"A file InnoMap wrote, with layers of several kinds: {listed}. Add each layer into "
            "its own kind, or choose a kind below to import only its layers.",
        )
    )
    if project.read_only or not st.button(
        T("按各自类别逐层加入项目", "Add each layer into its own kind"), key="imp_add_by_kind"
    ):
        return False
    added = []
    for lyr, kind in kinds.items():
        rep = guarded(run_import, path_of(), ImportOptions(kind=kind, layer=lyr))
        if rep is None:
            return False
        if not rep.rows_valid:
            continue
        stored = guarded(  # report → layer → add_layer, as cli.py project add
            add_to_project,
            project,
            rep,
            name=Path(lyr).stem,
            kind=kind,
            source_file=name,
            note=False,
        )
        if stored is None:
            break
        added.append(f"{md_text(stored.name)} ({stored.rows})")
    _release(src)
    _say_added(
        refresh_project(),
        T(f"已加入项目: {', '.join(added)}", f"Added to the project: {', '.join(added)}"),
    )
    if added:
        st.rerun()  # the page (and its list of the project's layers) as stored now
    return False


def _layer_list(rep) -> None:
    """What a multi-layer source holds: folders/layers, rows, geometry types, rows fitting."""
    if not rep.contents or (len(rep.contents) < 2 and not rep.contents[0].get("field")):
        return
    st.subheader(T("文件中的图层/文件夹", "Layers/folders of the file"))
    st.dataframe(
        pd.DataFrame(
            {
                T("图层/文件夹", "Layer/folder"): [c["name"] or rep.file for c in rep.contents],
                T("行数", "Rows"): [c["rows"] for c in rep.contents],
                T("几何类型", "Geometry"): [
                    ", ".join(f"{t} {n}" for t, n in c["geometry"].items()) for c in rep.contents
                ],
                T("符合图层类别", "Fit the kind"): [
                    c.get("rows_fitting_kind", c["rows"]) for c in rep.contents
                ],
            }
        ),
        key="imp_layer_list",
        hide_index=True,
        width="stretch",
    )


def _ask_crs(rep) -> bool:
    """Degrees with no stated CRS: ask before adding. True when the user has answered."""
    if not rep.crs_unstated:
        return True
    st.warning(
        T(
            "文件未声明坐标系, 经纬度无法区分 WGS84 / GCJ-02 / BD-09。坐标来自高德或百度吗? "
            "若是而按 WGS84 导入, 位置将偏移 500–1,300 米。",
            "The file states no CRS and degrees cannot tell WGS84 from GCJ-02 or BD-09. Did the "
            "coordinates come from AMap or Baidu? Read as WGS84 they would be 500–1,300 m off.",
        )
    )
    ans = st.radio(
        T("坐标来源", "Coordinates are"),
        ASK_CHOICES,
        index=None,
        horizontal=True,
        format_func=lambda c: {
            "WGS84": T("WGS84 (GPS/天地图)", "WGS84 (GPS/Tianditu)"),
            "GCJ-02": T("GCJ-02 (高德/腾讯)", "GCJ-02 (AMap/Tencent)"),
            "BD-09": T("BD-09 (百度)", "BD-09 (Baidu)"),
        }[c],
        key="imp_crs_ask",
    )
    if ans and ans != "WGS84":
        st.session_state["imp_crs_confirm"] = ans
        st.session_state["imp_crs_confirm_for"] = (st.session_state.get("imp_info") or (None,))[0]
        st.rerun()
    return ans == "WGS84"


def _preview_rows(valid, limit: int):
    """At most ``limit`` rows spread evenly over the layer (the preview map's sample)."""
    if len(valid) <= limit:
        return valid
    return valid.iloc[np.linspace(0, len(valid) - 1, limit).astype(np.int64)]


def _notes(rep) -> None:
    """Title and footnote rows of a table, kept as notes (also in the layer's metadata)."""
    if rep.notes:
        st.info(
            T(f"{len(rep.notes)} 条备注 (表头上方的标题、数据下方的表注; 不是错误):", f"{len(rep.notes)} notes (titles above the header, footnotes below the data; not errors):")
            + "\n\n"
            + "\n\n".join(f"- {md_text(n)}" for n in rep.notes)  # file text shown as typed
        )


def _value_mapping(rep, opts) -> dict[str, dict[str, str]]:
    """Values outside the vocabulary (kept as 其他): the planner maps each to a vocabulary
    value before adding. ``{field: {raw: value}}`` of the values mapped."""
    if not rep.other_values or opts.kind not in REGISTRY:
        return {}
    spec = REGISTRY[opts.kind]
    st.subheader(T("词表外的取值", "Values outside the vocabulary"))
    st.caption(
        T(
            "这些取值不在词表中, 按“其他”导入 (原值保留在 *_raw 列)。可在加入项目前映射到词表:",
            "These values are not in the vocabulary and are imported as 其他 (the original kept in "
            "the *_raw column). Map them to the vocabulary before adding:",
        )
    )
    mapping: dict[str, dict[str, str]] = {}
    for fld, counts in rep.other_values.items():
        options = list(vocabulary(spec, fld))
        for i, (raw, n) in enumerate(counts.items()):
            value = st.selectbox(
                f"{_field_label(fld)}: {md_text(raw)} ({n} {T('行', 'rows')})",  # labels are Markdown
                options,
                index=options.index(OTHER),
                key=f"imp_map_{fld}_{i}",
            )
            if value != OTHER:
                mapping.setdefault(fld, {})[raw] = value
    return mapping


def _preview(rep, opts, name: str) -> None:
    """The first rows and a map of (a sample of) the valid rows."""
    _notes(rep)
    show_table(rep.valid.drop(columns="geometry").head(500), key="imp_preview", downloads=False)
    limit = settings.IMPORT_PREVIEW_MAP_POINTS
    shown = _preview_rows(rep.valid, limit)
    if len(shown) < len(rep.valid):
        st.caption(
            T(
                f"预览地图显示均匀抽取的 {len(shown):,} / {len(rep.valid):,} 行; 加入项目后地图页显示全部。",
                f"The preview map shows {len(shown):,} of {len(rep.valid):,} rows, spread evenly; "
                "the map page shows all of them once added.",
            )
        )
    held = st.session_state.get("imp_report")  # (file and options, report), kept for reruns
    project, L = current_project(), lang()

    def build():
        # the project's outlines first: a point beyond them, or shifted by a wrong CRS, shows
        outlines = [lyr for lyr in project_outline_layers(project, lang=L) if lyr.kind != "zones"]
        return build_map(
            [*outlines, MapLayer("preview", name, shown, "#e377c2", REGISTRY[opts.kind].geometry)],
            fit_bounds=tuple(shown.total_bounds) if len(shown) else None,
            lang=L,
            legend_title=T("预览", "Preview"),
        )

    sig = held[0] if held and held[1] is rep else None  # None: the map's content is its key
    key = (sig, project, name, L) if sig else None  # built once per kept report and language
    show_map(build, page="imp", key=key, reset_on=(project.ref, sig), height=420, tight_top=False)


def _release(src) -> None:
    """Forget the file after its import: the kept report, and an upload's bytes on the server."""
    for key in (
        "imp_report",
        "imp_info",
        "imp_digest",
        "imp_crs_confirm",
        "mapview_imp_built",
        "imp_head",
    ):
        st.session_state.pop(key, None)
    if isinstance(src, Path):
        return
    st.session_state["imp_released"] = src.file_id
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None and ctx.uploaded_file_mgr is not None:  # as st.chat_input does
        ctx.uploaded_file_mgr.remove_file(ctx.session_id, src.file_id)


def _add(project, rep, opts, name: str, src) -> bool:
    """Preview, CRS question and the add button; True once the layer is in the project."""
    _preview(rep, opts, name)
    if project.read_only:
        st.info(
            T(
                "示例项目只读: 请先在侧栏“项目 → 另存为”或新建项目, 再导入。",
                "The demo project is read-only: save it as a project or create one (sidebar), then import.",
            )
        )
        return False
    if not _ask_crs(rep):
        return False
    layer_name = st.text_input(T("图层名称", "Layer name"), value=Path(name).stem, key="imp_name")
    replace = st.selectbox(
        T("添加方式", "Add as"),
        ["", *project.layers],
        format_func=lambda k: T("新图层", "new layer") if not k else T("替换 ", "replace ") + k,
        key="imp_target",
    )
    mapping = _value_mapping(rep, opts)
    if not st.button(T("加入项目", "Add to project"), type="primary", key="imp_add"):
        return False
    gdf = apply_value_map(rep.valid, opts.kind, mapping) if mapping else None
    with ProgressBar(
        T("写入项目", "Writing to the project"), key="imp_write", unit=T("行", "rows"), lazy=True
    ) as bar:  # report → layer → add_layer, as cli.py project add
        stored = guarded(
            add_to_project,
            project,
            rep,
            name=replace or layer_name,
            kind=opts.kind,
            source_file=name,
            gdf=gdf,
            replace=bool(replace),
            on_progress=bar,
        )
    if stored is None:
        return False
    # the project object held before the add is stale (the store's version moved on): drop
    # its copy of the new layer, the page reads the project again
    project.layers.pop(stored.name, None)
    _release(src)
    current = refresh_project()
    if stored.rows > settings.WEBGL_THRESHOLD:  # the map page, usually next, finds it ready
        prepare_in_background(current, lang=lang())
    _say_added(
        current,
        T(
            f"已加入项目: {md_text(stored.name)} ({stored.rows} 行)",
            f"Added to the project: {md_text(stored.name)} ({stored.rows} rows)",
        )
        + "".join(f"\n\n{md_text(n)}" for n in stored.add_notes),  # names zones of the file
    )
    return True


def _current_layers(project) -> None:
    st.subheader(T("项目中的图层", "Layers of the project"))
    for lyr in project.layers.values():
        c1, c2 = st.columns([4, 1])
        c1.write(  # names from files and users: shown as typed
            f"{md_text(lyr.name) + ' · ' if lyr.name != lyr.kind else ''}"
            f"{REGISTRY[lyr.kind].name(lang())} · {lyr.rows:,} · "
            f"{md_text(lyr.source_file or '-')} · {md_text(lyr.crs_in or '-')}"
        )
        if project.read_only or lyr.kind in OUTLINE_KINDS[:1]:
            continue
        if c2.button(T("移除", "Remove"), key=f"imp_rm_{lyr.name}"):
            st.session_state["imp_rm_pending"] = lyr.name
    pending = st.session_state.get("imp_rm_pending")
    if pending and pending in project.layers:
        shown = md_text(pending)
        st.warning(T(f"确定移除图层 {shown}?", f"Remove layer {shown}?"))
        if st.button(T("确认移除", "Confirm removal"), key="imp_rm_confirm"):
            if guarded(remove_layer, project, pending) is None:
                refresh_project()
            st.session_state.pop("imp_rm_pending", None)
            st.rerun()


def _say_added(project, msg: str) -> None:
    """Keep 已加入项目 for the page (see :func:`_added_message`), with the project's version."""
    st.session_state["imp_added"] = (msg, project.version)


def _added_message() -> None:
    """已加入项目, shown until a new file is uploaded or the project changes again (an
    automatic rerun — the map reporting its view, a widget — does not take it away); a
    server path's message is shown once."""
    held = st.session_state.get("imp_added")
    if not held:
        return
    msg, version = held
    up = st.session_state.get("imp_file")
    new_file = up is not None and up.file_id != st.session_state.get("imp_released")
    if new_file or current_project().version != version:
        st.session_state.pop("imp_added", None)  # a new file, or the project changed since
        return
    if st.session_state.get("imp_path"):
        st.session_state.pop("imp_added", None)  # a server path is read again: said once
    st.success(msg)


def main() -> None:
    st.title(T("导入数据", "Import data"))
    project = project_or_stop()
    if not auth.can("editor"):
        st.info(T("导入需要编辑者角色; 您可以浏览、分析和导出。",
                  "Importing needs the editor role; you can browse, analyse and export."))
        return
    st.caption(
        T(
            "支持 CSV / XLSX / GeoJSON / GeoPackage / 压缩 Shapefile (.zip) / KML / KMZ / CAD DXF; "
            "编码自动识别; 多图层文件 (KML 文件夹、GeoPackage 图层、多个 Shapefile) 默认全部导入; "
            "坐标系可选 WGS84、CGCS2000、GCJ-02(高德/腾讯)、BD-09(百度)、任意 EPSG 代码或 CGCS2000 高斯-克吕格 "
            "(GK3:39 带号 / GK3:117E 中央经线)。",
            "CSV, XLSX, GeoJSON, GeoPackage, zipped Shapefile, KML, KMZ, CAD DXF; encodings detected; "
            "multi-layer files (KML folders, GeoPackage layers, several shapefiles) are imported whole; "
            "WGS84, CGCS2000, GCJ-02, BD-09, any EPSG code or CGCS2000 GK (GK3:39 zone / GK3:117E meridian).",
        )
    )
    src, name = _source()
    added = False
    if src is not None:
        rep, opts = _read(src, name)
        if rep is not None:
            _issues(rep)
            _layer_list(rep)
            if rep.rows_valid:
                added = _add(project, rep, opts, name, src)
    if added:
        project = project_or_stop()  # the project as stored now
    _added_message()
    show_message()  # an undo made below
    undo_button(project, key="imp_undo")  # 撤销 the import or removal just made
    _current_layers(project)


main()
