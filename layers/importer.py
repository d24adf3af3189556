"""Import planners' own data: CSV, XLSX, GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ.

Security: formats are decided by extension *and* magic bytes from an allow-list
(a ``.geojson`` that is really an OGR VRT is refused; ``GDAL_SKIP=VRT`` is set
before GDAL loads, see :mod:`layers`); zip archives are checked for size,
compression ratio and entry count before anything is read; members are copied
to a private temporary folder under generated names (never a path built from a
client's file name).

Every problem names the file, the sheet/layer, the row as the user sees it
(spreadsheet row, header = 1), the field, the escaped value and the fix. Valid
rows load; rejected rows are kept with a ``reason``; nothing is dropped silently.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import itertools
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.coords import (
    CoordinateError,
    detect_coordinate_columns,
    guess_source_crs,
    normalise_crs_name,
    parse_coordinate_series,
    row_flags,
    split_pair,
    to_wgs84,
)
from layers.registry import REGISTRY, get_spec, normalise_columns
from layers.safe import escape_html, truncate
from layers.tabular import (
    READ_LIMITS,
    ImportFileError,
    RowProblem,
    Table,
    _sniff_delimiter,
    columns_text,
    dedupe_columns,
    nul_problems,
    read_csv_table,
    read_xlsx_table,
    scan_text,
    writable_names,
    xlsx_sheets,
)
from layers.validation import ValidationIssue, validate_layer

__all__ = [
    "ALLOWED_EXTENSIONS",
    "ZIP_LIMITS",
    "ImportFileError",
    "ImportOptions",
    "ImportReport",
    "import_file",
    "inspect_file",
    "map_vocabulary",
]

ALLOWED_EXTENSIONS = (".csv", ".txt", ".xlsx", ".geojson", ".json", ".gpkg", ".zip", ".kml", ".kmz")
#: zip safety limits, checked before extraction
ZIP_LIMITS = {"max_total_bytes": 1_000_000_000, "max_ratio": 200.0, "max_entries": 5_000}
MAX_FILE_BYTES = 500 * 1024 * 1024

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "id": (
        "id",
        "编号",
        "序号",
        "代码",
        "统一社会信用代码",
        "信用代码",
        "code",
        "uid",
        "poiid",
        "poi_id",
    ),
    "name": (
        "name",
        "名称",
        "机构名称",
        "企业名称",
        "单位名称",
        "载体名称",
        "平台名称",
        "场馆名称",
        "名字",
        "title",
    ),
    "address": ("address", "地址", "详细地址", "注册地址", "办公地址", "addr"),
    "subtype": (
        "subtype",
        "子类",
        "类型",
        "类别",
        "载体类型",
        "平台类型",
        "type",
        "category",
        "kind",
    ),
    "level": ("level", "级别", "等级", "认定级别", "grade"),
    "district": ("district", "区县", "所在区", "所属区县", "行政区", "区", "adname"),
    "source": ("source", "来源", "数据来源"),
    "coord_precision_m": ("coord_precision_m", "精度", "坐标精度", "precision"),
    "synthetic": ("synthetic", "模拟", "模拟数据"),
    "as_of": ("as_of", "时点", "年份", "数据时点", "year"),
    "employees": ("employees", "员工人数", "从业人员", "职工人数", "员工数", "人数"),
    "rd_spend_wan": ("rd_spend_wan", "研发投入", "研发经费", "研发投入(万元)"),
    "floor_area_m2": ("floor_area_m2", "面积", "建筑面积", "场地面积", "孵化面积"),
    "incubated_firms": ("incubated_firms", "在孵企业", "在孵企业数"),
    "population": ("population", "人口", "常住人口", "户籍人口"),
    "name_en": ("name_en", "英文名称", "english name"),
}

# common spellings -> (subtype, level)
VOCABULARY: dict[str, tuple[str | None, str | None]] = {
    "国家级孵化器": ("孵化器", "国家级"),
    "国家级科技企业孵化器": ("孵化器", "国家级"),
    "省级孵化器": ("孵化器", "省级"),
    "市级孵化器": ("孵化器", "市级"),
    "区级孵化器": ("孵化器", "区级"),
    "科技企业孵化器": ("孵化器", None),
    "孵化器": ("孵化器", None),
    "incubator": ("孵化器", None),
    "众创空间": ("众创空间", None),
    "国家级众创空间": ("众创空间", "国家级"),
    "省级众创空间": ("众创空间", "省级"),
    "maker space": ("众创空间", None),
    "makerspace": ("众创空间", None),
    "co-working": ("众创空间", None),
    "加速器": ("加速器", None),
    "accelerator": ("加速器", None),
    "大学科技园": ("大学科技园", None),
    "国家大学科技园": ("大学科技园", "国家级"),
    "university science park": ("大学科技园", None),
    "创业园": ("创业园", None),
    "高企": ("高新技术企业", "国家级"),
    "高新技术企业": ("高新技术企业", "国家级"),
    "国家高新技术企业": ("高新技术企业", "国家级"),
    "high-tech enterprise": ("高新技术企业", "国家级"),
    "hnte": ("高新技术企业", "国家级"),
    "科技型中小企业": ("科技型中小企业", None),
    "科技型企业": ("科技型中小企业", None),
    "sme": ("科技型中小企业", None),
    "专精特新": ("专精特新企业", None),
    "专精特新企业": ("专精特新企业", None),
    "专精特新小巨人": ("专精特新企业", "国家级"),
    "高校": ("高校", None),
    "大学": ("高校", None),
    "university": ("高校", None),
    "college": ("高校", None),
    "科研院所": ("科研院所", None),
    "研究所": ("科研院所", None),
    "研究院": ("科研院所", None),
    "institute": ("科研院所", None),
    "新型研发机构": ("新型研发机构", None),
    "重点实验室": ("重点实验室", None),
    "lab": ("重点实验室", None),
    "工程技术中心": ("工程技术中心", None),
    "工程技术研究中心": ("工程技术中心", None),
    "技术创新中心": ("技术创新中心", None),
    "产业技术研究院": ("产业技术研究院", None),
    "技术转移机构": ("技术转移机构", None),
    "科技市场": ("科技市场", None),
}
LEVEL_WORDS = {
    "国家级": "国家级",
    "国家": "国家级",
    "national": "国家级",
    "省级": "省级",
    "省": "省级",
    "provincial": "省级",
    "市级": "市级",
    "市": "市级",
    "municipal": "市级",
    "city": "市级",
    "区级": "区级",
    "区": "区级",
    "县级": "区级",
    "district": "区级",
}


@dataclass
class ImportOptions:
    """Options of an import (all optional; guesses are reported)."""

    kind: str = "enterprises"
    crs: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    layer: str | None = None
    lon_col: str | None = None
    lat_col: str | None = None
    repair_geometry: bool = False
    fix_swapped: bool = False


@dataclass
class ImportReport:
    """What an import produced."""

    file: str
    format: str
    encoding: str | None
    crs_in: str
    crs_reason: str
    layer_key: str
    sheet_or_layer: str | None
    available: list[str]
    columns: list[str]
    coordinate_columns: tuple[str | None, str | None]
    rows_total: int
    valid: gpd.GeoDataFrame
    rejected: pd.DataFrame
    errors: list[ValidationIssue] = field(default_factory=list)
    warnings: list[ValidationIssue] = field(default_factory=list)
    #: hidden sheets of a workbook (listed last in ``available``)
    hidden: list[str] = field(default_factory=list)
    #: columns renamed so that GeoPackage/Shapefile writers accept them ({file name: new name})
    renamed_columns: dict[str, str] = field(default_factory=dict)

    @property
    def rows_valid(self) -> int:
        return len(self.valid)

    @property
    def crs_unstated(self) -> bool:
        """Degree coordinates read as WGS84 although nothing stated the CRS (ask the user)."""
        from layers.coords import DEGREES_UNSTATED_REASON

        return self.crs_in == "WGS84" and self.crs_reason == DEGREES_UNSTATED_REASON

    @property
    def crs_warning(self) -> str | None:
        """The warning to show when :attr:`crs_unstated` (``None`` otherwise)."""
        from layers.coords import CRS_UNSTATED_WARNING

        return f"{self.file}: {CRS_UNSTATED_WARNING}" if self.crs_unstated else None

    def to_json(self) -> dict:
        """The report as the CLI's JSON."""

        def issue(i: ValidationIssue) -> dict:
            return {"row": i.row, "field": i.field, "value": i.value, "message": i.message}

        return {
            "file": self.file,
            "format": self.format,
            "encoding": self.encoding,
            "crs_in": self.crs_in,
            "crs_reason": self.crs_reason,
            "layer": self.layer_key,
            "sheet_or_layer": self.sheet_or_layer,
            "available": self.available,
            "hidden": self.hidden,
            "renamed_columns": self.renamed_columns,
            "coordinate_columns": list(self.coordinate_columns),
            "rows_total": self.rows_total,
            "rows_valid": self.rows_valid,
            "crs_warning": self.crs_warning,
            "errors": [issue(i) for i in self.errors],
            "warnings": [issue(i) for i in self.warnings],
        }


# ---------------------------------------------------------------- format sniffing
def _head(path: Path, n: int = 4096) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def _format_of(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise ImportFileError(
            f"{path.name}: 不支持的文件类型 {ext!r} / unsupported file type: use {', '.join(ALLOWED_EXTENSIONS)}"
        )
    head = _head(path)
    if not head:
        raise ImportFileError(f"{path.name}: 文件为空 / the file is empty")
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    if b"OGRVRTDataSource" in head or stripped.startswith(b"<OGRVRT"):
        raise ImportFileError(
            f"{path.name}: 拒绝 OGR VRT 文件(可读取服务器文件) / OGR VRT files are refused"
        )
    if ext in (".csv", ".txt"):
        return "csv"
    if ext == ".xlsx":
        if not head.startswith(b"PK\x03\x04"):
            raise ImportFileError(
                f"{path.name}: 不是有效的 XLSX 文件 / not a valid XLSX file: save it as .xlsx"
            )
        return "xlsx"
    if ext in (".geojson", ".json"):
        if not (stripped.startswith(b"{") or stripped.startswith(b"[")):
            raise ImportFileError(f"{path.name}: 不是 GeoJSON / not GeoJSON (must start with '{{')")
        return "geojson"
    if ext == ".gpkg":
        if not head.startswith(b"SQLite format 3\x00"):
            raise ImportFileError(f"{path.name}: 不是 GeoPackage / not a GeoPackage file")
        return "gpkg"
    if ext == ".kml":
        if b"<kml" not in head[:4096]:  # a GML or other XML named .kml is refused
            raise ImportFileError(
                f"{path.name}: 不是 KML(没有 <kml> 元素) / not a KML file (no <kml> element): "
                "export it again as KML"
            )
        return "kml"
    if not head.startswith(b"PK"):
        raise ImportFileError(f"{path.name}: 不是 zip 压缩包 / not a zip archive")
    return "kmz" if ext == ".kmz" else "zip"


def _check_zip(path: Path) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(
            f"{path.name}: 压缩包损坏 / corrupt zip archive ({type(exc).__name__})"
        ) from None
    if len(infos) > ZIP_LIMITS["max_entries"]:
        raise ImportFileError(
            f"{path.name}: 压缩包条目过多 ({len(infos)}) / too many entries in the zip"
        )
    total = sum(i.file_size for i in infos)
    packed = max(sum(i.compress_size for i in infos), 1)
    if total > ZIP_LIMITS["max_total_bytes"]:
        raise ImportFileError(
            f"{path.name}: 解压后过大 ({total / 1e6:.0f} MB) / archive expands too large"
        )
    if total / packed > ZIP_LIMITS["max_ratio"]:
        raise ImportFileError(
            f"{path.name}: 压缩比异常 ({total / packed:.0f}) / suspicious compression ratio (zip bomb?)"
        )
    return zf


def _extract(zf: zipfile.ZipFile, member: str, dest: Path, new_name: str) -> Path:
    target = dest / new_name  # generated name: never a path from the archive
    with zf.open(member) as src, open(target, "wb") as out:
        remaining = ZIP_LIMITS["max_total_bytes"]
        while chunk := src.read(1 << 20):
            remaining -= len(chunk)
            if remaining < 0:
                raise ImportFileError("压缩包成员过大 / archive member too large")
            out.write(chunk)
    return target


def _shapefiles(zf: zipfile.ZipFile) -> list[str]:
    return sorted(
        n for n in zf.namelist() if n.lower().endswith(".shp") and not n.startswith("__MACOSX")
    )


# ---------------------------------------------------------------- encodings
def _sniff_dbf_encoding(dbf: Path) -> str:
    """UTF-8 if every text byte of the .dbf decodes as UTF-8, else GB18030 (GBK superset)."""
    data = dbf.read_bytes()
    body = data[32:]
    if all(b < 0x80 for b in body[:200_000]):
        return "UTF-8"
    try:
        body.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"


# ---------------------------------------------------------------- reading
def _scrub(text: str, *dirs: Path) -> str:
    """A library message without folders (temporary paths, upload locations)."""
    for d in dirs:
        text = text.replace(str(d) + "/", "").replace(str(d), "")
    return re.sub(r"(?:[A-Za-z]:)?(?:[\\/][^\\/\s'\"]+)+[\\/]", "", text)


def _ogr_layers(path: Path, name: str, fmt: str) -> list[str]:
    import pyogrio

    layers = [str(x) for x in pyogrio.list_layers(path)[:, 0]]
    if not layers:
        what = (
            "KML 中没有地标 / no placemarks in the KML"
            if fmt in ("kml", "kmz")
            else ("没有图层 / no layers in the file")
        )
        raise ImportFileError(f"{name}: {what}: check that it holds features")
    return layers


_INTERNALS = re.compile(
    r"pragma|sqlite_|load_extension|readfile|writefile|fts3_tokenizer|zipfile|fsdir", re.I
)


def _check_gpkg_views(p: Path) -> None:
    """Refuse a GeoPackage whose views read database internals (the server's file path …)."""
    import sqlite3
    from urllib.parse import quote

    con = sqlite3.connect(f"file:{quote(str(p.resolve()))}?mode=ro&immutable=1", uri=True)
    try:
        views = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'").fetchall()
    except sqlite3.DatabaseError:
        return  # not readable as SQLite: GDAL's own error follows, named
    finally:
        con.close()
    for name, sql in views:
        if sql and _INTERNALS.search(sql):
            raise ImportFileError(
                f"{p.name}: 视图 {escape_html(truncate(name, max_chars=60))!r} 读取数据库内部信息, "
                "拒绝导入 / a view reads database internals (pragma/sqlite_ functions): "
                "export the layer as a plain table (QGIS: Export → Save Features As)"
            )


def inspect_file(path: str | Path) -> dict:
    """Format, sheets/layers (hidden sheets last, also in ``hidden``), a guessed encoding.

    A CSV is scanned in constant memory (line length, NUL bytes, encoding) and an
    XLSX checked as a zip before anything is parsed.
    """
    p = Path(path)
    if not p.exists():
        raise ImportFileError(f"{p.name}: 文件不存在 / file not found")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise ImportFileError(f"{p.name}: 文件过大 / file larger than {MAX_FILE_BYTES // 2**20} MB")
    fmt = _format_of(p)
    available: list[str] = []
    hidden: list[str] = []
    columns: list[str] = []
    encoding = None
    try:
        if fmt == "csv":
            encoding, codec, skip = scan_text(p, name=p.name)
            columns = _csv_header(p, codec, skip)
        elif fmt == "xlsx":
            available, hidden = xlsx_sheets(p, name=p.name)
        elif fmt in ("gpkg", "kml", "geojson"):
            if fmt == "gpkg":
                _check_gpkg_views(p)
            available = _ogr_layers(p, p.name, fmt)
        elif fmt == "zip":
            available = _shapefiles(_check_zip(p))
            if not available:
                raise ImportFileError(f"{p.name}: 压缩包中没有 .shp / no .shp file in the zip")
        elif fmt == "kmz":
            zf = _check_zip(p)
            if not any(n.lower().endswith(".kml") for n in zf.namelist()):
                raise ImportFileError(f"{p.name}: KMZ 中没有 KML / no .kml inside the KMZ")
    except ImportFileError:
        raise
    except Exception as exc:  # library errors of every kind become a clear message
        raise ImportFileError(_unreadable(p, fmt, exc)) from None
    return {
        "file": p.name,
        "format": fmt,
        "available": available,
        "hidden": hidden,
        "encoding": encoding,
        "columns": columns,
    }


def _csv_header(p: Path, codec: str, skip: int) -> list[str]:
    """The header cells of a CSV (its first non-blank line; a hint, e.g. for the kind)."""
    with open(p, "rb") as raw:
        raw.seek(skip)
        text = io.TextIOWrapper(raw, encoding=codec, errors="replace", newline="")
        for line in itertools.islice(text, 1000):
            if line.strip("\r\n\ufeff \t"):
                return [
                    c.strip() for c in next(csv.reader([line], delimiter=_sniff_delimiter(line)))
                ]
    return []


_FIX = {
    "csv": "re-save it as CSV UTF-8",
    "xlsx": "open it in Excel and save it again as .xlsx",
    "geojson": "check it with a GeoJSON validator or export it again",
    "gpkg": "open it in QGIS and export the layer again",
    "kml": "export the KML again (Google Earth, QGIS)",
    "kmz": "export the KMZ again (Google Earth, QGIS)",
    "zip": "zip the .shp, .shx, .dbf, .prj (and .cpg) of the layer again",
}


def _unreadable(p: Path, fmt: str, exc: BaseException, *dirs: Path) -> str:
    detail = _scrub(truncate(str(exc), max_chars=120), p.parent, *dirs)
    return (
        f"{p.name}: 文件已损坏或不是有效的 {fmt.upper()} / the file is damaged or not a valid "
        f"{fmt.upper()} ({type(exc).__name__}: {escape_html(detail)}): {_FIX.get(fmt, 'export it again')}"
    )


def _read_table(
    p: Path, fmt: str, opts: ImportOptions, on_rows=None
) -> tuple[Table, str | None, list, list]:
    """``(table, sheet, sheets, hidden)`` of a CSV/TXT or an XLSX sheet."""
    if fmt == "csv":
        return read_csv_table(p, name=p.name, encoding=opts.encoding, on_rows=on_rows), None, [], []
    return read_xlsx_table(p, name=p.name, sheet=opts.sheet, on_rows=on_rows)


def _shp_encoding(work: Path, opts: ImportOptions, warns: list[str]) -> str:
    if opts.encoding:
        return opts.encoding
    cpg = work / "layer.cpg"
    if cpg.exists():
        value = cpg.read_bytes()[:64].decode("ascii", errors="replace").strip()
        try:
            codecs.lookup(value)
            return value
        except LookupError:
            warns.append(
                ".cpg 中的编码名无效, 已按内容判断 / the .cpg names no known encoding: "
                "guessed from the .dbf (give --encoding to choose)"
            )
    return _sniff_dbf_encoding(work / "layer.dbf") + " (sniffed, no .cpg)"


def _read_geo(
    p: Path, fmt: str, opts: ImportOptions
) -> tuple[gpd.GeoDataFrame, str | None, str | None, list[str], list[str]]:
    """``(gdf, encoding, layer, layers, notes)``; a shapefile's unreadable .prj is refused."""
    import pyogrio

    notes: list[str] = []
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        encoding = None
        layer = opts.layer
        available: list[str] = []
        if fmt in ("zip", "kmz"):
            zf = _check_zip(p)
            if fmt == "zip":
                available = _shapefiles(zf)
                if not available:
                    raise ImportFileError(f"{p.name}: 压缩包中没有 .shp / no .shp file in the zip")
                layer = layer or available[0]
                if layer not in available:
                    raise ImportFileError(
                        f"{p.name}: 没有图层 {escape_html(truncate(layer, max_chars=60))!r} / no "
                        f"shapefile of that name: choose one of {columns_text(available)}"
                    )
                stem = layer[:-4]
                members = {n.lower(): n for n in zf.namelist()}
                for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                    m = members.get((stem + ext).lower())
                    if m:
                        _extract(zf, m, work, "layer" + ext)
                if not (work / "layer.dbf").exists() or not (work / "layer.shx").exists():
                    raise ImportFileError(
                        f"{p.name}: {escape_html(truncate(layer, max_chars=60))} 缺少 .dbf 或 .shx / "
                        "the shapefile lacks .dbf or .shx: zip all its files together"
                    )
                encoding = _shp_encoding(work, opts, notes)
                target = work / "layer.shp"
                read_kwargs = {"encoding": encoding.split(" ")[0]}
                layer_name = None
            else:
                kml = next(n for n in zf.namelist() if n.lower().endswith(".kml"))
                target = _extract(zf, kml, work, "doc.kml")
                read_kwargs = {}
                available = _ogr_layers(target, p.name, fmt)
                layer_name = layer or available[0]
        else:
            target = p
            read_kwargs = {}
            available = _ogr_layers(p, p.name, fmt)
            if layer and layer not in available:
                raise ImportFileError(
                    f"{p.name}: 没有图层 {escape_html(truncate(layer, max_chars=60))!r} / no layer of "
                    f"that name: choose one of {columns_text(available)}"
                )
            layer_name = layer or available[0]
            layer = layer_name
        try:
            info = pyogrio.read_info(target, layer=layer_name, **read_kwargs)
            n_fields = len(info["fields"])
            if n_fields > READ_LIMITS["max_columns"]:
                raise ImportFileError(
                    f"{p.name}: 有 {n_fields:,} 个字段, 超过上限 {READ_LIMITS['max_columns']:,} / "
                    f"{n_fields:,} fields, more than the limit of {READ_LIMITS['max_columns']:,}: "
                    "keep only the fields you need"
                )
            gdf = pyogrio.read_dataframe(target, layer=layer_name, **read_kwargs)
        except ImportFileError:
            raise
        except Exception as exc:
            raise ImportFileError(_unreadable(p, fmt, exc, work)) from None
        if fmt == "zip" and (work / "layer.prj").exists() and gdf.crs is None:
            if not opts.crs:
                raise ImportFileError(
                    f"{p.name}: {escape_html(truncate(layer, max_chars=60))} 的 .prj 无法识别 / the "
                    ".prj of the shapefile cannot be understood: replace it with a valid .prj, or "
                    "give the coordinate system (--crs, e.g. EPSG:4549)"
                )
            notes.append(
                ".prj 无法识别, 按用户指定的坐标系读取 / the .prj cannot be understood: read in "
                "the coordinate system given by the user"
            )
    if len(gdf) == 0:
        raise ImportFileError(
            f"{p.name}"
            + (f" [{escape_html(truncate(layer, max_chars=60))}]" if layer else "")
            + ": 没有要素 / no features in the file: nothing to import"
        )
    return gdf, encoding, layer, available, notes


# ---------------------------------------------------------------- normalisation
def _map_columns(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    norm = {_n(c): c for c in df.columns}
    rename = {}
    for canon, aliases in FIELD_ALIASES.items():
        if canon in df.columns:
            continue
        for a in aliases:
            col = norm.get(_n(a))
            if col is not None and col not in rename:
                rename[col] = canon
                break
    return df.rename(columns=rename), rename


def _levels(values: pd.Series) -> pd.Series:
    """Level spellings mapped to the vocabulary (国家/national → 国家级 …), per distinct value."""
    text = values.astype(str)
    uniq = pd.unique(text)
    mapped = {v: (LEVEL_WORDS.get(_n(v), v) if v else v) for v in uniq}
    return text.map(mapped)


#: Text read as true in a ``synthetic`` column (as :func:`layers.registry.normalise_columns`).
_TRUE_WORDS = ("true", "1", "yes", "y", "是", "t")


def _flags(values: pd.Series) -> pd.Series:
    """A text ``synthetic`` column as booleans, vectorised (other dtypes are left as they are)."""
    if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            return values.fillna("").astype(str).str.strip().str.lower().isin(_TRUE_WORDS)
    return values


def _n(s: str) -> str:
    return unicodedata.normalize("NFKC", str(s)).strip().lower().replace(" ", "")


def map_vocabulary(values: pd.Series, layer_key: str) -> tuple[pd.Series, pd.Series]:
    """Map free-text type spellings to (subtype, level) of ``layer_key``'s vocabulary."""
    spec = get_spec(layer_key)
    values = pd.Series(values)
    codes, uniques = pd.factorize(values.astype(object).fillna("").astype(str), sort=False)
    sub_u, lvl_u = _vocabulary_of(list(uniques), spec)  # each distinct spelling once
    codes = np.where(codes < 0, 0, codes) if len(uniques) else codes
    sub = np.asarray(sub_u, dtype=object)[codes] if len(uniques) else np.array([], dtype=object)
    lvl = np.asarray(lvl_u, dtype=object)[codes] if len(uniques) else np.array([], dtype=object)
    return pd.Series(sub, index=values.index), pd.Series(lvl, index=values.index)


def _vocabulary_of(texts: list[str], spec) -> tuple[list, list]:
    """``(subtypes, levels)`` of distinct type spellings (see :func:`map_vocabulary`)."""
    sub_out, lvl_out = [], []
    for v in texts:
        k = _n(v)
        sub, lvl = VOCABULARY.get(k, (None, None))
        if sub is None:
            for s in spec.subtypes:  # exact subtype or one contained in the text
                if s in v:
                    sub = s
                    break
        if lvl is None:
            for word, level in LEVEL_WORDS.items():
                if k.startswith(word) and len(word) > 1:
                    lvl = level
                    break
        sub_out.append(sub if sub in spec.subtypes else (v if v else ""))
        lvl_out.append(lvl)
    return sub_out, lvl_out


def _issue(file, where, row, field_, value, message, severity="error") -> ValidationIssue:
    return ValidationIssue(
        f"{file}" + (f" [{where}]" if where else ""),
        row,
        field_,
        escape_html(truncate(value, max_chars=60)),
        message,
        severity,
    )


def _row_issues(problems: list[RowProblem], file: str, where) -> list[ValidationIssue]:
    return [
        ValidationIssue(
            f"{file}" + (f" [{where}]" if where else ""),
            pr.index,
            pr.field,
            pr.value,
            pr.message,
            pr.severity,
        )
        for pr in problems
    ]


def _note(file: str, where, field_: str, message: str) -> ValidationIssue:
    return _issue(file, where, None, field_, "", message, "warning")


def _at_lines(issues: list[ValidationIssue], lines: np.ndarray) -> list[ValidationIssue]:
    """Positional rows (0-based) → the file's line / sheet row / feature number."""
    return [i if i.row is None else dataclasses.replace(i, row=int(lines[i.row])) for i in issues]


def import_file(
    path: str | Path,
    options: ImportOptions | None = None,
    *,
    on_rows: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a file into a layer's canonical schema (WGS84).

    Rows are numbered as the user sees them: the file's line (blank lines and
    quoted line breaks counted) for CSV, the sheet row for XLSX, the feature
    number for the other formats.

    ``on_rows(n)`` is called (in this thread) with the records read so far: after
    every block of a CSV, every 10,000 rows of a sheet, once for the other
    formats; the checks follow the last call.

    Raises
    ------
    ImportFileError
        When the file cannot be read at all (the CLI exits 2). Row problems do
        not raise: they are reported and the rows are rejected.
    """
    opts = options or ImportOptions()
    p = Path(path)
    if opts.kind not in REGISTRY or REGISTRY[opts.kind].geometry not in ("point", "polygon"):
        raise ImportFileError(
            f"未知或不可导入的图层类别 / unknown layer kind {escape_html(truncate(opts.kind, max_chars=40))!r}: "
            f"use one of {', '.join(k for k, s in REGISTRY.items() if s.geometry in ('point', 'polygon'))}"
        )
    spec = get_spec(opts.kind)
    info = inspect_file(p)
    fmt = info["format"]
    hidden = info.get("hidden") or []
    try:
        if fmt in ("csv", "xlsx"):
            tab, where, available, hidden = _read_table(p, fmt, opts, on_rows)
            lines, encoding = tab.lines, tab.encoding
            read_issues = _row_issues(tab.problems, p.name, where)
            gdf, crs_in, crs_reason, errs, warns, coord_cols = _points_from_table(
                tab.frame, p.name, where, opts
            )
            warns += [_note(p.name, where, "-", n) for n in tab.notes]
        else:
            gdf, encoding, where, available, notes = _read_geo(p, fmt, opts)
            if on_rows is not None:
                on_rows(len(gdf))
            lines = np.arange(1, len(gdf) + 1)
            cols, dup_notes = dedupe_columns(
                gdf.drop(columns=gdf.geometry.name),
                name=p.name,
                where=f" [{where}]" if where else "",
            )
            cols, nul = nul_problems(cols)
            gdf = gpd.GeoDataFrame(cols, geometry=gdf.geometry.values, crs=gdf.crs)
            read_issues = _row_issues(nul, p.name, where)
            gdf, crs_in, crs_reason, errs, warns = _normalise_geo(gdf, p.name, where, opts)
            warns += [_note(p.name, where, "-", n) for n in notes + dup_notes]
            poly = gdf.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
            if spec.geometry == "point" and poly.any():
                # candidate plots / building footprints: use a point inside each polygon
                reps = gdf.geometry.representative_point()
                gdf = gdf.set_geometry(gdf.geometry.where(~poly, reps))
                warns.append(
                    _issue(
                        p.name,
                        where,
                        None,
                        "geometry",
                        f"{int(poly.sum())}",
                        "多边形已取其内部代表点 / polygons replaced by a point inside each",
                        "warning",
                    )
                )
            coord_cols = (None, None)
    except (ImportFileError, CoordinateError):
        raise
    except Exception as exc:  # any library failure on corrupt input: a clean error
        raise ImportFileError(_unreadable(p, fmt, exc)) from None
    total = len(gdf)
    raw_cols = [c for c in gdf.columns if c != "geometry"]
    gdf, _ = _map_columns(gdf)
    if "id" not in gdf.columns:
        gdf["id"] = [f"R{n}" for n in lines]
        warns.append(
            _issue(
                p.name,
                where,
                None,
                "id",
                "",
                "没有编号列, 已按行号生成 / no id column: ids made from row numbers",
                "warning",
            )
        )
    gdf["id"] = gdf["id"].astype(object).where(gdf["id"].notna(), "").astype(str).str.strip()
    if fmt in ("kml", "kmz"):  # a placemark's id is an optional attribute, not the user's data
        no_id = (gdf["id"] == "").to_numpy()
        if no_id.any():
            gdf.loc[no_id, "id"] = [f"R{n}" for n in lines[no_id]]
            warns.append(
                _issue(
                    p.name,
                    where,
                    None,
                    "id",
                    f"{int(no_id.sum())}",
                    "地标没有 id, 已按序号生成 / placemarks without an id: ids made from their numbers",
                    "warning",
                )
            )
    if "name" not in gdf.columns:
        raise ImportFileError(
            f"{p.name}: 没有名称列 / no name column among {columns_text(raw_cols)}: add one of "
            f"{', '.join(FIELD_ALIASES['name'][:6])}"
        )
    if "subtype" in gdf.columns:
        raw_type = gdf["subtype"].copy()
        sub, lvl = map_vocabulary(raw_type, opts.kind)
        gdf["subtype"] = sub
        if "level" not in gdf.columns:
            gdf["level"] = lvl.fillna("")
        else:
            gdf["level"] = _levels(gdf["level"])
            gdf["level"] = gdf["level"].where(gdf["level"] != "", lvl.fillna(""))
    elif "level" in gdf.columns:
        gdf["level"] = _levels(gdf["level"])
    if "source" not in gdf.columns or (gdf["source"].astype(str).str.strip() == "").all():
        gdf["source"] = f"用户导入 user import: {p.name}"
    gdf["source"] = (
        gdf["source"]
        .astype(str)
        .where(gdf["source"].astype(str).str.strip() != "", f"用户导入 user import: {p.name}")
    )
    gdf["coord_source"] = f"{crs_in} → WGS84 ({fmt})"
    if "coord_precision_m" not in gdf.columns:
        gdf["coord_precision_m"] = 100.0
        warns.append(
            _issue(
                p.name,
                where,
                None,
                "coord_precision_m",
                "",
                "未注明坐标精度, 按 100 米记 / precision not stated: recorded as 100 m",
                "warning",
            )
        )
    gdf["kind"] = spec.kind
    gdf["synthetic"] = _flags(gdf["synthetic"]) if "synthetic" in gdf.columns else False
    gdf = gpd.GeoDataFrame(normalise_columns(gdf, spec), geometry="geometry", crs=4326)
    renamed = writable_names(
        [c for c in gdf.columns if c != "geometry"],
        keep=set(spec.fields) | set(spec.extra_fields) | {"kind"},
    )
    if renamed:
        gdf = gdf.rename(columns=renamed)
        warns.append(
            _issue(
                p.name,
                where,
                None,
                "-",
                columns_text(f"{a} → {b}" for a, b in renamed.items()),
                "列名已改为可写入 GeoPackage/Shapefile 的名称 / columns renamed so that "
                "GeoPackage/Shapefile can store them",
                "warning",
            )
        )
    issues = validate_layer(gdf, spec, file=p.name + (f" [{where}]" if where else ""), first_row=0)
    # coordinate problems were found while parsing; validation would repeat them
    coord_rows = {e.row for e in errs}
    all_errors = (
        read_issues
        + errs
        + [
            i
            for i in issues
            if i.severity == "error"
            and not (i.field in ("geometry", "lon/lat") and i.row in coord_rows)
        ]
    )
    warns += [i for i in all_errors if i.severity != "error"]
    all_errors = [i for i in all_errors if i.severity == "error"]
    bad_rows = sorted({i.row for i in all_errors if i.row is not None})
    rejected = pd.DataFrame(gdf.drop(columns="geometry").iloc[bad_rows]).copy()
    rejected.insert(0, "row", [int(lines[r]) for r in bad_rows])
    reasons: dict[int, list[str]] = {}
    for i in all_errors:  # grouped once: a file with many rejected rows stays linear
        if i.row is not None:
            reasons.setdefault(i.row, []).append(f"{i.field}: {i.message}")
    rejected["reason"] = ["; ".join(reasons[r]) for r in bad_rows]
    valid = gdf.drop(index=gdf.index[bad_rows]).reset_index(drop=True)
    return ImportReport(
        file=p.name,
        format=fmt,
        encoding=encoding,
        crs_in=crs_in,
        crs_reason=crs_reason,
        layer_key=opts.kind,
        sheet_or_layer=where,
        available=available,
        columns=raw_cols,
        coordinate_columns=coord_cols,
        rows_total=total,
        valid=valid,
        rejected=rejected.reset_index(drop=True),
        errors=sorted(_at_lines(all_errors, lines), key=lambda i: i.row or 0),
        warnings=_at_lines(warns, lines),
        hidden=hidden,
        renamed_columns=renamed,
    )


def _points_from_table(df: pd.DataFrame, file: str, where, opts: ImportOptions):
    lon_col, lat_col, pair = detect_coordinate_columns(df.columns)
    lon_col, lat_col = opts.lon_col or lon_col, opts.lat_col or lat_col
    for c in (opts.lon_col, opts.lat_col):
        if c and c not in df.columns:
            raise ImportFileError(
                f"{file}: 没有列 {escape_html(truncate(c, max_chars=60))!r} / no such column: "
                f"choose one of {columns_text(df.columns)}"
            )
    if lon_col and lat_col:
        xs, ys = df[lon_col], df[lat_col]
        cols = (lon_col, lat_col)
    elif pair:
        xs, ys = split_pair(df[pair])
        cols = (pair, pair)
    else:
        raise ImportFileError(
            f"{file}: 找不到坐标列 / no coordinate columns found among {columns_text(df.columns)}: "
            "name them 经度/纬度 (or lng/lat, x/y) or choose them"
        )
    raw_x = parse_coordinate_series(xs)
    raw_y = parse_coordinate_series(ys)
    hints = " ".join(map(str, df.columns))[:2000] + " " + file
    if opts.crs:
        crs_in = normalise_crs_name(opts.crs)
        reason = "用户指定 / given by the user"
    else:
        crs_in, reason = guess_source_crs(raw_x, raw_y, hints=hints)
        if not crs_in:
            raise ImportFileError(f"{file}: {reason}")
    degree = crs_in in ("WGS84", "CGCS2000", "GCJ-02", "BD-09") or crs_in in (
        "EPSG:4326",
        "EPSG:4490",
    )
    warns: list[ValidationIssue] = []
    if opts.fix_swapped and degree:
        sw = (raw_y >= 73) & (raw_y <= 136) & (raw_x >= 3) & (raw_x <= 54)
        for i in np.flatnonzero(sw):
            warns.append(
                _issue(
                    file,
                    where,
                    int(i),
                    "lon/lat",
                    f"{raw_x[i]}, {raw_y[i]}",
                    "经纬度已交换 / lon and lat swapped back",
                    "warning",
                )
            )
        raw_x, raw_y = np.where(sw, raw_y, raw_x), np.where(sw, raw_x, raw_y)
    ok = np.isfinite(raw_x) & np.isfinite(raw_y)
    lon = np.full(len(df), np.nan)
    lat = np.full(len(df), np.nan)
    if ok.any():
        good = ok & ((np.abs(raw_x) <= 180) & (np.abs(raw_y) <= 90) if degree else ok)
        if good.any():
            lx, ly = to_wgs84(raw_x[good], raw_y[good], crs_in)
            lon[good], lat[good] = lx, ly
    err_rows, warn_rows = row_flags(raw_x, raw_y, lon, lat, degree_input=degree)
    errs = [
        _issue(file, where, i, f"{cols[0]}/{cols[1]}" if cols[0] != cols[1] else cols[0], v, m)
        for i, _, v, m in err_rows
    ]
    warns += [
        _issue(file, where, i, f"{cols[0]}/{cols[1]}", v, m, "warning") for i, _, v, m in warn_rows
    ]
    geom_ok = np.isfinite(lon) & np.isfinite(lat)
    bad = np.fromiter((e.row for e in errs if e.row is not None), dtype=np.int64)
    geom_ok[bad[(bad >= 0) & (bad < len(df))]] = False
    geoms = np.full(len(df), None, dtype=object)
    geoms[geom_ok] = shapely.points(lon[geom_ok], lat[geom_ok])
    out = df.drop(columns=[c for c in {cols[0], cols[1]} if c in df.columns])
    gdf = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, index=out.index, crs=4326), crs=4326)
    return gdf, crs_in, reason, errs, warns, cols


def _normalise_geo(gdf: gpd.GeoDataFrame, file: str, where, opts: ImportOptions):
    errs: list[ValidationIssue] = []
    warns: list[ValidationIssue] = []
    if gdf.crs is None:
        crs_in = normalise_crs_name(opts.crs) if opts.crs else "WGS84"
        reason = "文件未声明坐标系 / the file declares no CRS: " + (
            "given by the user" if opts.crs else "assumed WGS84"
        )
        if crs_in not in ("WGS84", "CGCS2000", "GCJ-02", "BD-09"):
            gdf = gdf.set_crs(crs_in)
            crs_in_name = crs_in
        else:
            gdf = gdf.set_crs(4326)
            crs_in_name = crs_in
    else:
        epsg = gdf.crs.to_epsg()
        crs_in_name = f"EPSG:{epsg}" if epsg else gdf.crs.name
        reason = "文件声明 / declared by the file"
        if opts.crs and normalise_crs_name(opts.crs) in ("GCJ-02", "BD-09"):
            crs_in_name = normalise_crs_name(opts.crs)
            reason = (
                "文件声明 WGS84, 用户指定实为 "
                + crs_in_name
                + " / file says WGS84, user says "
                + crs_in_name
            )
    gdf = gdf.to_crs(4326)
    if crs_in_name in ("GCJ-02", "BD-09"):

        def tx(c):
            x, y = to_wgs84(c[:, 0], c[:, 1], crs_in_name)
            return np.column_stack([x, y])

        gdf = gdf.set_geometry(shapely.transform(gdf.geometry.values, tx))
    geoms = gdf.geometry.values
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            errs.append(_issue(file, where, i, "geometry", "", "几何为空 / empty geometry"))
            continue
        if not g.is_valid:
            reason_txt = shapely.is_valid_reason(g)
            if opts.repair_geometry:
                geoms[i] = shapely.make_valid(g)
                warns.append(
                    _issue(
                        file,
                        where,
                        i,
                        "geometry",
                        reason_txt,
                        "已用 make_valid 修复 / repaired with make_valid",
                        "warning",
                    )
                )
            else:
                errs.append(
                    _issue(
                        file,
                        where,
                        i,
                        "geometry",
                        reason_txt,
                        "几何无效 / invalid geometry: accept the repair (make_valid) to load it",
                    )
                )
    gdf = gdf.set_geometry(list(geoms), crs=4326)
    if len(gdf) and (gdf.geom_type == "Point").all():
        x, y = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
        e2, w2 = row_flags(x, y, x, y, degree_input=True)
        seen = {e.row for e in errs}
        errs += [_issue(file, where, i, "geometry", v, m) for i, _, v, m in e2 if i not in seen]
        warns += [_issue(file, where, i, "geometry", v, m, "warning") for i, _, v, m in w2]
    return gdf, crs_in_name, reason, errs, warns
