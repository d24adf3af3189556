"""Import planners' own data: CSV, XLSX, GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ, DXF.

Sources with several layers (KML/KMZ folders, GeoPackage layers, zips of several
shapefiles, DXF layers) are read whole: every row is kept with a field naming its
folder or layer (``folder``, ``source_layer``, ``cad_layer``); a row whose
geometry does not fit the kind is rejected with its reason; ``--layer`` picks one.
A GeoPackage InnoMap wrote with layers of several kinds gives the layers of the
kind asked for (:mod:`layers.provenance`).

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

import settings
from layers.coords import (
    CoordinateError,
    detect_coordinate_columns,
    guess_source_crs,
    hinted_crs,
    normalise_crs_name,
    parse_coordinate_series,
    row_flags,
    split_pair,
    to_wgs84,
)
from layers.crs import UnknownCRSError, parse_crs
from layers.dxf import LAYER_FIELD as DXF_LAYER_FIELD
from layers.dxf import read_dxf, sample_xy
from layers.kml import FOLDER_FIELD, read_kml
from layers.provenance import (
    geojson_states_crs,
    gpkg_layer_markers,
    kind_of_value,
    marker_from_json,
    read_geojson_marker,
    table_marker,
)
from layers.registry import REGISTRY, get_spec, normalise_columns
from layers.safe import escape_html, truncate
from layers.tabular import (
    READ_LIMITS,
    ImportFileError,
    RowProblem,
    Table,
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
    "IMPORTABLE_KINDS",
    "ZIP_LIMITS",
    "CRSQuestionError",
    "ImportFileError",
    "ImportOptions",
    "ImportReport",
    "apply_value_map",
    "guess_columns",
    "import_file",
    "inspect_file",
    "map_vocabulary",
    "parse_map_option",
    "read_mapping_csv",
    "read_table_for_geocoding",
    "table_head",
    "value_map_of",
]

ALLOWED_EXTENSIONS = (
    ".csv",
    ".txt",
    ".xlsx",
    ".geojson",
    ".json",
    ".gpkg",
    ".zip",
    ".kml",
    ".kmz",
    ".dxf",
)
#: Geometry types that fit a kind's geometry (polygons also give point kinds a point inside).
GEOMETRY_FITS = {
    "point": ("Point", "Polygon", "MultiPolygon"),
    "polygon": ("Polygon", "MultiPolygon"),
    "line": ("LineString", "MultiLineString"),
}
#: Kinds a file can be imported as (point, polygon and line kinds of the registry).
IMPORTABLE_KINDS = tuple(k for k, s in REGISTRY.items() if s.geometry in GEOMETRY_FITS)
#: zip safety limits, checked before extraction
ZIP_LIMITS = {"max_total_bytes": 1_000_000_000, "max_ratio": 200.0, "max_entries": 5_000}
MAX_FILE_BYTES = settings.IMPORT_MAX_FILE_BYTES

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
        "社区名称",
        "村(社区)名称",
        "社区(村)名称",
        "小区名称",
        "园区名称",
        "片区名称",
        "区域名称",
        "基地名称",
        "项目名称",
        "学校名称",
        "高校名称",
        "名字",
        "title",
    ),
    "address": (
        "address",
        "地址",
        "详细地址",
        "注册地址",
        "办公地址",
        "经营地址",
        "通讯地址",
        "所在地址",
        "addr",
    ),
    "subtype": (
        "subtype",
        "子类",
        "类型",
        "类别",
        "载体类型",
        "平台类型",
        "平台类别",
        "机构类型",
        "场馆类型",
        "zone_type",
        "区域类型",
        "片区类型",
        "园区类型",
        "type",
        "category",
        "kind",
    ),
    "level": ("level", "级别", "等级", "认定级别", "平台级别", "grade"),
    "district": (
        "district",
        "区县",
        "所在区",
        "所在区县",
        "所属区县",
        "所属区",
        "行政区",
        "区",
        "adname",
    ),
    "source": ("source", "来源", "数据来源"),
    "coord_precision_m": ("coord_precision_m", "精度", "坐标精度", "precision"),
    "synthetic": ("synthetic", "模拟", "模拟数据"),
    "as_of": ("as_of", "时点", "年份", "数据时点", "认定年份", "year"),
    "employees": (
        "employees",
        "员工人数",
        "从业人员",
        "从业人数",
        "从业人员数",
        "年末从业人员",
        "职工人数",
        "员工数",
        "员工总数",
        "人数",
    ),
    "rd_spend_wan": ("rd_spend_wan", "研发投入", "研发经费", "研发费用", "研发经费投入"),
    "floor_area_m2": (
        "floor_area_m2",
        "面积",
        "建筑面积",
        "场地面积",
        "孵化面积",
        "孵化场地面积",
        "使用面积",
    ),
    "incubated_firms": ("incubated_firms", "在孵企业", "在孵企业数", "在孵企业数量"),
    "population": ("population", "人口", "常住人口", "户籍人口", "人口数", "总人口"),
    "name_en": ("name_en", "英文名称", "english name"),
}

#: What ``--col``/``--map`` may call a field besides its canonical name.
FIELD_NAMES = {
    "zone_type": "subtype",
    "类型": "subtype",
    "子类": "subtype",
    "区域类型": "subtype",
    "级别": "level",
    "名称": "name",
    "经度": "lon",
    "纬度": "lat",
    "经纬度": "lonlat",
    "坐标": "lonlat",
}

# common spellings -> (subtype, level); a spelling is also found inside a longer text
VOCABULARY: dict[str, tuple[str | None, str | None]] = {
    "国家级孵化器": ("孵化器", "国家级"),
    "国家级科技企业孵化器": ("孵化器", "国家级"),
    "省级孵化器": ("孵化器", "省级"),
    "市级孵化器": ("孵化器", "市级"),
    "区级孵化器": ("孵化器", "区级"),
    "科技企业孵化器": ("孵化器", None),
    "孵化器": ("孵化器", None),
    "孵化基地": ("孵化器", None),
    "incubator": ("孵化器", None),
    "众创空间": ("众创空间", None),
    "国家级众创空间": ("众创空间", "国家级"),
    "省级众创空间": ("众创空间", "省级"),
    "星创天地": ("星创天地", None),
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
    "小巨人": ("专精特新企业", "国家级"),
    "瞪羚企业": ("瞪羚企业", None),
    "瞪羚": ("瞪羚企业", None),
    "独角兽企业": ("独角兽企业", None),
    "独角兽": ("独角兽企业", None),
    "科技领军企业": ("科技领军企业", None),
    "高校": ("高校", None),
    "大学": ("高校", None),
    "学院": ("高校", None),
    "university": ("高校", None),
    "college": ("高校", None),
    "科研院所": ("科研院所", None),
    "研究所": ("科研院所", None),
    "研究院": ("科研院所", None),
    "institute": ("科研院所", None),
    "新型研发机构": ("新型研发机构", None),
    "重点实验室": ("重点实验室", None),
    "国家重点实验室": ("重点实验室", "国家级"),
    "全国重点实验室": ("重点实验室", "国家级"),
    "lab": ("重点实验室", None),
    "国家实验室": ("国家实验室", "国家级"),
    "省实验室": ("省实验室", "省级"),
    "工程技术中心": ("工程技术中心", None),
    "工程技术研究中心": ("工程技术中心", None),
    "工程研究中心": ("工程研究中心", None),
    "工程实验室": ("工程研究中心", None),
    "企业技术中心": ("企业技术中心", None),
    "技术创新中心": ("技术创新中心", None),
    "产业创新中心": ("产业创新中心", None),
    "制造业创新中心": ("制造业创新中心", None),
    "临床医学研究中心": ("临床医学研究中心", None),
    "院士工作站": ("院士工作站", None),
    "博士后工作站": ("博士后工作站", None),
    "博士后科研工作站": ("博士后工作站", None),
    "博士后创新实践基地": ("博士后工作站", None),
    "产业技术研究院": ("产业技术研究院", None),
    "技术转移机构": ("技术转移机构", None),
    "技术转移中心": ("技术转移机构", None),
    "技术转移示范机构": ("技术转移机构", None),
    "科技市场": ("科技市场", None),
    "技术市场": ("科技市场", None),
    "科技大市场": ("科技市场", None),
    # zone types
    "高新区": ("高新区", None),
    "高新技术产业开发区": ("高新区", None),
    "高新技术开发区": ("高新区", None),
    "经开区": ("经开区", None),
    "经济技术开发区": ("经开区", None),
    "经济开发区": ("经开区", None),
    "综保区": ("综保区", None),
    "综合保税区": ("综保区", None),
    "保税区": ("综保区", None),
    "自创区": ("自创区", None),
    "自主创新示范区": ("自创区", "国家级"),
    "自贸区": ("自贸区", None),
    "自由贸易试验区": ("自贸区", None),
    "自贸试验区": ("自贸区", None),
    "科学城": ("科学城", None),
    "科技城": ("科技城", None),
    "科创区": ("科创区", None),
    "科技创新区": ("科创区", None),
    "科创走廊": ("科创走廊", None),
    "科创大走廊": ("科创走廊", None),
    "创新走廊": ("科创走廊", None),
    "新区": ("新区", None),
    "国家级新区": ("新区", "国家级"),
    "产业园": ("产业园", None),
    "产业园区": ("产业园", None),
    "工业园区": ("产业园", None),
    "开发区": ("开发区", None),
}
#: vocabulary spellings found inside a longer text, longest first (non-ASCII ones only)
_CONTAINED = sorted((k for k in VOCABULARY if not k.isascii()), key=len, reverse=True)
LEVEL_WORDS = {
    "国家级": "国家级",
    "国家": "国家级",
    "国字号": "国家级",
    "national": "国家级",
    "省级": "省级",
    "省": "省级",
    "省部级": "省级",
    "provincial": "省级",
    "市级": "市级",
    "市": "市级",
    "municipal": "市级",
    "city": "市级",
    "区级": "区级",
    "区": "区级",
    "县级": "区级",
    "区县级": "区级",
    "district": "区级",
    "无": "无",
    "未核实": "未核实",
}


class CRSQuestionError(ImportFileError):
    """The file's coordinate system needs the user's answer before anything is imported.

    Raised for a GeoJSON/KML (WGS84 by their format) whose name says GCJ-02/BD-09, and
    for projected metres without a zone prefix (a DXF, a shapefile without .prj). The
    CLI exits 2 with the message (it names ``--crs``); the app asks with ``choices``.

    Attributes
    ----------
    choices : tuple of str
        Vocabulary names to offer, the likeliest first.
    question : str
        ``"hinted"`` (the name says GCJ-02/BD-09) or ``"projected"`` (metres, no zone).
    """

    def __init__(self, message: str, *, choices: tuple[str, ...], question: str) -> None:
        super().__init__(message)
        self.choices = tuple(choices)
        self.question = question


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
    #: the header's line (CSV) or sheet row (XLSX), 1-based; None: found past title rows
    header_row: int | None = None
    #: canonical field -> the file's column (``--name-col``, ``--col FIELD=COLUMN``)
    columns: dict[str, str] = field(default_factory=dict)
    #: ``{field: {raw value: vocabulary value}}`` for subtype/zone_type/level (``--map``)
    value_map: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the project's outline (WGS84 shapely geometry): rows beyond it by more than
    #: ``settings.OUTSIDE_CITY_MARGIN_M`` are flagged (``outside_city``) and warned
    city_outline: object = None
    #: with ``city_outline``: reject those rows instead (``--drop-outside-city``)
    drop_outside_city: bool = False


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
    #: what a multi-layer source holds: one dict per folder/layer (name, field, rows,
    #: geometry types, rows whose geometry fits the kind)
    contents: list[dict] = field(default_factory=list)
    #: the InnoMap marker of a file InnoMap wrote (:mod:`layers.provenance`), else None
    marker: dict | None = None
    #: title rows above the header and footnote rows below the data: kept as notes
    notes: list[str] = field(default_factory=list)
    #: the header's line/row of a table (None for other formats)
    header_row: int | None = None
    #: canonical field -> the file's column it was read from
    column_map: dict[str, str] = field(default_factory=dict)
    #: values outside the vocabulary kept as 其他: ``{field: {raw value: rows}}``
    other_values: dict[str, dict[str, int]] = field(default_factory=dict)

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
            "contents": self.contents,
            "innomap_marker": self.marker,
            "coordinate_columns": list(self.coordinate_columns),
            "rows_total": self.rows_total,
            "rows_valid": self.rows_valid,
            "crs_warning": self.crs_warning,
            "errors": [issue(i) for i in self.errors],
            "warnings": [issue(i) for i in self.warnings],
            "notes": self.notes,
            "header_row": self.header_row,
            "column_map": self.column_map,
            "other_values": self.other_values,
            "other_rows": {k: sum(v.values()) for k, v in self.other_values.items()},
            "outside_city_rows": self.outside_city_rows,
        }

    @property
    def outside_city_rows(self) -> int:
        """Rows beyond the project's city: flagged among the valid rows, or rejected."""
        kept = int(self.valid["outside_city"].sum()) if "outside_city" in self.valid else 0
        dropped = (
            int(
                self.rejected["reason"].astype(str).str.contains("outside the project's city").sum()
            )
            if "reason" in self.rejected
            else 0
        )
        return kept + dropped


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
    fmt, looks_right, wrong = _SIGNATURES[ext]
    if not looks_right(head, stripped):
        raise ImportFileError(f"{path.name}: {wrong}")
    return fmt


def _dxf_head(head: bytes) -> bool:
    return bool(
        head.startswith(b"AutoCAD Binary DXF")
        or (re.match(rb"\s*(0|999)\s*\r?\n", head) and (b"SECTION" in head or b"999" in head[:8]))
    )


#: extension -> (format, does the file's head look right, what is wrong otherwise)
_SIGNATURES = {
    ".xlsx": (
        "xlsx",
        lambda head, _s: head.startswith(b"PK\x03\x04"),
        "不是有效的 XLSX 文件 / not a valid XLSX file: save it as .xlsx",
    ),
    ".geojson": (
        "geojson",
        lambda _h, stripped: stripped.startswith((b"{", b"[")),
        "不是 GeoJSON / not GeoJSON (must start with '{')",
    ),
    ".gpkg": (
        "gpkg",
        lambda head, _s: head.startswith(b"SQLite format 3\x00"),
        "不是 GeoPackage / not a GeoPackage file",
    ),
    ".dxf": (
        "dxf",
        lambda head, _s: _dxf_head(head),
        "不是 DXF 文件 / not a DXF file: save it again as DXF in CAD (DWG is not read: export DXF)",
    ),
    ".kml": (  # a GML or other XML named .kml is refused
        "kml",
        lambda head, _s: b"<kml" in head[:4096],
        "不是 KML(没有 <kml> 元素) / not a KML file (no <kml> element): export it again as KML",
    ),
    ".kmz": ("kmz", lambda head, _s: head.startswith(b"PK"), "不是 zip 压缩包 / not a zip archive"),
    ".zip": ("zip", lambda head, _s: head.startswith(b"PK"), "不是 zip 压缩包 / not a zip archive"),
}
_SIGNATURES[".json"] = _SIGNATURES[".geojson"]


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


def inspect_file(path: str | Path, *, contents: bool = True) -> dict:
    """Format, sheets/layers (hidden sheets last, also in ``hidden``), a guessed encoding.

    A CSV is scanned in constant memory (line length, NUL bytes, encoding) and an
    XLSX checked as a zip before anything is parsed. With ``contents`` (the default)
    the folders of a KML/KMZ, the layers of a DXF and of a GeoPackage/GeoJSON are
    listed in ``contents`` (rows and geometry types each); ``layer_kinds`` gives the
    kind of each layer of a GeoPackage InnoMap wrote.
    """
    p = Path(path)
    if not p.exists():
        raise ImportFileError(f"{p.name}: 文件不存在 / file not found")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise ImportFileError(f"{p.name}: 文件过大 / file larger than {MAX_FILE_BYTES // 2**20} MB")
    fmt = _format_of(p)
    info = {
        "file": p.name,
        "format": fmt,
        "available": [],
        "hidden": [],
        "encoding": None,
        "columns": [],
        "contents": [],
        "layer_kinds": {},
    }
    try:
        info.update(_inspect(p, fmt, contents))
    except ImportFileError:
        raise
    except Exception as exc:  # library errors of every kind become a clear message
        raise ImportFileError(_unreadable(p, fmt, exc)) from None
    return info


def _inspect(p: Path, fmt: str, contents: bool) -> dict:
    """What :func:`inspect_file` finds in a file of format ``fmt`` (the keys it fills)."""
    if fmt == "csv":
        encoding, codec, skip = scan_text(p, name=p.name)
        return {"encoding": encoding, "columns": _csv_header(p, codec, skip)}
    if fmt == "xlsx":
        available, hidden = xlsx_sheets(p, name=p.name)
        return {"available": available, "hidden": hidden}
    if fmt in ("gpkg", "geojson"):
        if fmt == "gpkg":
            _check_gpkg_views(p)
        available, _ = _spatial_layers(p, _ogr_layers(p, p.name, fmt))
        return {
            "available": available,
            "contents": _ogr_contents(p, available) if contents else [],
            "layer_kinds": _layer_kinds(p, fmt, available) if contents else {},
        }
    if fmt == "zip":
        available = _shapefiles(_check_zip(p))
        if not available:
            raise ImportFileError(f"{p.name}: 压缩包中没有 .shp / no .shp file in the zip")
        return {
            "available": available,
            "layer_kinds": _layer_kinds(p, fmt, available) if contents else {},
        }
    if fmt in ("kml", "kmz") and contents:  # the import reads the folders itself
        frame, available = read_kml(_kml_bytes(p, fmt), name=p.name)
        return {"available": available, "contents": _contents(frame, FOLDER_FIELD, None)}
    if fmt == "dxf" and contents:
        frame, available, _ = read_dxf(p, name=p.name)
        return {"available": available, "contents": _contents(frame, DXF_LAYER_FIELD, None)}
    return {}


def _zip_marker(zf: zipfile.ZipFile) -> tuple[dict | None, dict[str, str]]:
    """``(marker, {shapefile member: kind})`` of a shapefile zip InnoMap wrote (``innomap.json``
    and ``layer_names.csv``), else ``(None, {})``."""
    members = {n.lower().rsplit("/", 1)[-1]: n for n in zf.namelist()}
    m = members.get("innomap.json")
    if m is None or zf.getinfo(m).file_size > 1_000_000:
        return None, {}
    marker = marker_from_json(zf.read(m))
    kinds = (marker or {}).get("kinds") or {}
    by_file: dict[str, str] = {}
    names = members.get("layer_names.csv")
    if kinds and names is not None and zf.getinfo(names).file_size <= 1_000_000:
        shps = {Path(s).name: s for s in _shapefiles(zf)}
        rows = csv.DictReader(io.StringIO(zf.read(names).decode("utf-8-sig", errors="replace")))
        for r in rows:
            layer_name = (r.get("layer") or "").lstrip("'")  # safe_csv may quote a leading =
            kind = kinds.get(layer_name) or kinds.get(r.get("layer") or "")
            if kind and r.get("file") in shps:
                by_file[shps[r["file"]]] = kind
    return marker, by_file


def _zip_field_names(zf: zipfile.ZipFile) -> dict[str, dict[str, str]]:
    """``{shapefile stem: {shapefile field: field}}`` of InnoMap's ``field_names.csv``."""
    members = {n.lower().rsplit("/", 1)[-1]: n for n in zf.namelist()}
    m = members.get("field_names.csv")
    if m is None or zf.getinfo(m).file_size > 5_000_000:
        return {}
    out: dict[str, dict[str, str]] = {}
    text = zf.read(m).decode("utf-8-sig", errors="replace")
    for r in csv.DictReader(io.StringIO(text)):
        stem, short, full = r.get("layer"), r.get("shapefile_field"), r.get("field")
        if stem and short and full and short != full:
            out.setdefault(stem, {})[short] = full.lstrip("'") if full[1:2] == "=" else full
    return out


def _layer_kinds(p: Path, fmt: str, available: list[str]) -> dict[str, str]:
    """``{layer: registry kind}`` of a file InnoMap wrote with layers of several kinds.

    GeoPackage: the layers' markers, else each layer's ``kind`` column; GeoJSON: the
    marker's ``kinds`` (features name their layer in a ``layer`` column); zipped
    shapefiles: ``innomap.json`` with ``layer_names.csv``. Empty for other files.
    """

    if fmt == "gpkg":
        out = {k: m["kind"] for k, m in gpkg_layer_markers(p).items() if m.get("kind") in REGISTRY}
        for name in available:
            kind = None if name in out else _gpkg_kind_column(p, name)
            if kind:
                out[name] = kind
        return out
    if fmt == "geojson":
        kinds = (read_geojson_marker(p) or {}).get("kinds") or _geojson_kind_columns(p)
        return {str(k): v for k, v in kinds.items() if v in REGISTRY}
    if fmt == "zip":
        return {k: v for k, v in _zip_marker(_check_zip(p))[1].items() if v in REGISTRY}
    return {}


def _gpkg_kind_column(p: Path, name: str) -> str | None:
    """The kind named by a GeoPackage layer's first ``kind`` value (None: no such column)."""
    import pyogrio

    try:
        fields = list(pyogrio.read_info(p, layer=name)["fields"])
        if "kind" not in fields:
            return None
        first = pyogrio.read_dataframe(
            p, layer=name, columns=["kind"], read_geometry=False, max_features=1
        )
    except Exception:  # a hint only: the import reads the layer and names problems
        return None
    return kind_of_value(first["kind"].iloc[0]) if len(first) else None


def _geojson_kind_columns(p: Path) -> dict:
    """``{layer: kind}`` of a GeoJSON export in WGS84 (no marker): its layer and kind columns."""
    import pyogrio

    kinds: dict = {}
    try:
        fields = list(pyogrio.read_info(p)["fields"])
        if "layer" in fields and "kind" in fields:
            lk = pyogrio.read_dataframe(p, columns=["layer", "kind"], read_geometry=False)
            for lyr, k in lk[["layer", "kind"]].drop_duplicates().itertuples(index=False):
                kinds.setdefault(str(lyr), kind_of_value(k))
    except Exception:  # a hint only
        kinds = {}
    return kinds


def _of_kind(p: Path, kinds: dict[str, str], names: list[str], kind: str) -> tuple[list[str], dict]:
    """``(names of kind, {other name: its kind})`` of a multi-kind InnoMap file; refused when
    none is of ``kind``."""
    chosen = [a for a in names if kinds.get(a) == kind]
    others = {a: kinds[a] for a in names if a in kinds and a not in chosen}
    if not chosen:
        raise ImportFileError(
            f"{p.name}: InnoMap 导出的图层中没有 {kind} / no layer of kind {kind} in this InnoMap "
            "export: its layers are "
            + columns_text(f"{a} ({k})" for a, k in kinds.items())
            + "; import each with its --kind (project add imports them all)"
        )
    return chosen, others


def _spatial_layers(p: Path, layers: list[str]) -> tuple[list[str], list[str]]:
    """``(layers with geometry, attribute tables)``; all layers when none has geometry (the
    import then names the problem)."""
    import pyogrio

    tables = {str(n) for n, g in pyogrio.list_layers(p) if g is None}
    if not tables or len(tables) >= len(layers):
        return layers, []
    return [a for a in layers if a not in tables], sorted(t for t in tables if t in layers)


def _ogr_contents(p: Path, layers: list[str]) -> list[dict]:
    """Rows and geometry type of each layer of a GeoPackage/GeoJSON (from its metadata)."""
    import pyogrio

    out = []
    for name in layers:
        info = pyogrio.read_info(p, layer=name)
        out.append(
            {
                "name": name,
                "field": "source_layer",
                "rows": int(info["features"]),
                "geometry": {str(info["geometry_type"]): int(info["features"])},
            }
        )
    return out


def _kml_bytes(p: Path, fmt: str) -> bytes:
    """The KML document of a .kml, or the main .kml inside a KMZ (zip limits checked)."""
    if fmt == "kml":
        return p.read_bytes()
    zf = _check_zip(p)
    kmls = [n for n in zf.namelist() if n.lower().endswith(".kml") and not n.startswith("__MACOSX")]
    if not kmls:
        raise ImportFileError(f"{p.name}: KMZ 中没有 KML / no .kml inside the KMZ")
    member = next((n for n in kmls if n.lower().rsplit("/", 1)[-1] == "doc.kml"), kmls[0])
    with tempfile.TemporaryDirectory() as d:
        return _extract(zf, member, Path(d), "doc.kml").read_bytes()


def _contents(gdf: gpd.GeoDataFrame, group: str | None, fits=None) -> list[dict]:
    """What a source holds, per folder/layer: rows, geometry types, rows fitting the kind."""
    if not len(gdf):
        return []
    has = bool(group) and group in gdf.columns
    frame = pd.DataFrame(
        {
            "key": gdf[group].astype(str).to_numpy() if has else "",
            "type": gdf.geometry.geom_type.fillna("None").astype(str).to_numpy(),
            "fits": np.asarray(fits, dtype=bool) if fits is not None else True,
        }
    )
    types = frame.groupby(["key", "type"], sort=False).size()
    fitting = frame.groupby("key", sort=False)["fits"].sum()
    out = []
    for key, n in frame.groupby("key", sort=False).size().items():
        entry = {
            "name": key,
            "field": group if has else None,
            "rows": int(n),
            "geometry": {str(t): int(c) for t, c in types.loc[key].items()},
        }
        if fits is not None:
            entry["rows_fitting_kind"] = int(fitting.loc[key])
        out.append(entry)
    return out


def _csv_header(p: Path, codec: str, skip: int) -> list[str]:
    """The header cells of a CSV (found past title lines; a hint, e.g. for the kind)."""
    from layers.tabular import _csv_delimiter, _csv_head

    delimiter = _csv_delimiter(p, codec, skip)
    with open(p, "rb") as raw:
        raw.seek(skip)
        text = io.TextIOWrapper(raw, encoding=codec, errors="replace", newline="")
        try:
            head = _csv_head(csv.reader(text, delimiter=delimiter), p.name, None)
        except csv.Error:
            return []
    return [] if head is None else [c.strip() for c in head.header]


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
    """``(table, sheet, sheets, hidden)`` of a CSV/TXT or an XLSX sheet (or the sheets of one
    header read together); the header past title rows, or ``opts.header_row``."""
    if fmt == "csv":
        tab = read_csv_table(
            p, name=p.name, encoding=opts.encoding, on_rows=on_rows, header_row=opts.header_row
        )
        return tab, None, [], []
    return read_xlsx_table(
        p, name=p.name, sheet=opts.sheet, on_rows=on_rows, header_row=opts.header_row
    )


def table_head(path: str | Path, options: ImportOptions | None = None) -> dict:
    """The first rows of a CSV/XLSX and where its header is (the import page's preview;
    see :func:`layers.tabular.table_head`), with the columns the import would map."""
    from layers.tabular import table_head as head

    opts = options or ImportOptions()
    p = Path(path)
    fmt = inspect_file(p)["format"]
    if fmt not in ("csv", "xlsx"):
        return {"rows": [], "header_row": None, "detected": None, "columns": [], "titles": []}
    out = head(
        p,
        name=p.name,
        fmt=fmt,
        sheet=opts.sheet,
        encoding=opts.encoding,
        header_row=opts.header_row,
    )
    out["column_map"] = guess_columns(out["columns"], opts.columns)
    return out


def read_table_for_geocoding(
    path: str | Path, options: ImportOptions | None = None
) -> pd.DataFrame:
    """A CSV/XLSX address list as text columns for the geocoder (header past title rows or
    ``options.header_row``; sheets as :func:`import_file` reads them).

    ``options.columns`` (``--name-col``, ``--col``) rename those columns to their
    canonical fields, so that the geocoded file imports without them;
    ``options.value_map`` (``--map``) replaces raw values of the subtype/level
    columns, the original kept in ``subtype_raw``/``level_raw``.

    Raises
    ------
    ImportFileError
        The file cannot be read, is not a table, or names a column it lacks.
    """
    opts = options or ImportOptions()
    p = Path(path)
    fmt = inspect_file(p)["format"]
    if fmt not in ("csv", "xlsx"):
        raise ImportFileError(
            f"{p.name}: 地理编码需要表格文件 / geocoding needs a table: give a CSV or XLSX "
            f"file (this is {fmt.upper()})"
        )
    tab = _read_table(p, fmt, opts)[0]
    df = tab.frame
    rename = {}
    for key, col in (opts.columns or {}).items():
        if col not in df.columns:
            raise _no_column(p.name, col, df.columns)
        canon = _field_name(key)
        if canon not in ("lon", "lat", "lonlat"):
            rename[col] = canon
    df = df.rename(columns=rename)
    _, found = _map_columns(df)  # the column the import will read each field from
    column_of = {canon: col for col, canon in found.items()}
    for key, pairs in (opts.value_map or {}).items():
        canon = _field_name(key)
        col = canon if canon in df.columns else column_of.get(canon)
        if col is not None:
            text = _clean(df[col])
            vm = {unicodedata.normalize("NFKC", k).strip(): v for k, v in pairs.items()}
            mapped = text.map(vm)
            if mapped.notna().any():
                df[f"{canon}_raw"] = text.where(mapped.notna(), "")
                df[col] = df[col].where(mapped.isna(), mapped)
    df.attrs["lines"] = tab.lines  # each row's file line / sheet row (titles above the header)
    df.attrs["notes"] = _table_notes(tab)
    return df


def guess_columns(columns, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """``{field: column}`` the import would read from a table with these column names
    (coordinates as ``lon``/``lat`` or ``lonlat``); an override naming no column is left out."""
    cols = [str(c) for c in columns]
    over = {k: v for k, v in (overrides or {}).items() if v in cols}
    lon, lat, pair = detect_coordinate_columns(cols)
    given = {_field_name(k): v for k, v in over.items()}
    lon, lat = given.get("lon", lon), given.get("lat", lat)
    pair = given.get("lonlat", pair)
    out: dict[str, str] = {}
    if "lonlat" in given or not (lon and lat):
        if pair:
            out["lonlat"] = pair
    else:
        out.update(lon=lon, lat=lat)
    rest = [c for c in cols if c not in out.values()]
    try:
        _, renamed = _map_columns(pd.DataFrame(columns=rest), over)
    except ImportFileError:
        renamed = {}
    out.update({v: k for k, v in renamed.items() if not v.endswith("_orig")})
    return out


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


@dataclass
class _GeoRead:
    """What :func:`_read_geo` read."""

    gdf: gpd.GeoDataFrame
    encoding: str | None
    where: str | None
    available: list[str]
    notes: list[str]
    #: the column naming each row's folder/layer (None for a single-layer source)
    group: str | None = None
    #: WGS84 by the format, not by a declaration (GeoJSON without "crs", KML)
    format_says_wgs84: bool = False
    marker: dict | None = None
    #: layers of a multi-kind InnoMap GeoPackage not imported as this kind ({layer: kind})
    other_kinds: dict[str, str] = field(default_factory=dict)


def _no_layer(p: Path, layer: str, available: list[str], what: str = "layer") -> ImportFileError:
    return ImportFileError(
        f"{p.name}: 没有图层/文件夹 {escape_html(truncate(layer, max_chars=60))!r} / no {what} of "
        f"that name: choose one of {columns_text(available)}"
    )


def _ogr_read(p: Path, fmt: str, target: Path, layer_name, read_kwargs: dict, *dirs: Path):
    import pyogrio

    try:
        info = pyogrio.read_info(target, layer=layer_name, **read_kwargs)
        n_fields = len(info["fields"])
        if n_fields > READ_LIMITS["max_columns"]:
            raise ImportFileError(
                f"{p.name}: 有 {n_fields:,} 个字段, 超过上限 {READ_LIMITS['max_columns']:,} / "
                f"{n_fields:,} fields, more than the limit of {READ_LIMITS['max_columns']:,}: "
                "keep only the fields you need"
            )
        return pyogrio.read_dataframe(target, layer=layer_name, **read_kwargs)
    except ImportFileError:
        raise
    except Exception as exc:
        raise ImportFileError(_unreadable(p, fmt, exc, *dirs)) from None


def _merge(parts: list[tuple[str, gpd.GeoDataFrame]], group: str) -> gpd.GeoDataFrame:
    """One frame of several layers (each in the first declared CRS) with ``group`` naming them."""
    crs0 = next((g.crs for _, g in parts if g.crs is not None), None)
    frames = []
    for name, g in parts:
        if crs0 is not None and g.crs is not None and not g.crs.equals(crs0):
            g = g.to_crs(crs0)
        g = g.copy()
        if len(parts) > 1:
            g.insert(0, group, name)
        frames.append(pd.DataFrame(g).rename(columns={g.geometry.name: "geometry"}))
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return gpd.GeoDataFrame(out, geometry="geometry", crs=crs0)


def _geojson_declares_other(p: Path) -> bool:
    """A GeoJSON ``crs`` member naming a system other than WGS84 (CRS84, EPSG:4326)."""
    if not geojson_states_crs(p):
        return False
    with open(p, "rb") as f:
        head = f.read(65_536)
    return not re.search(rb"CRS84|EPSG:+4326|EPSG::4326", head)


def _read_geo(p: Path, fmt: str, opts: ImportOptions) -> _GeoRead:
    """Every layer (folder, shapefile, CAD layer) of a geographic source, or ``opts.layer``.

    A shapefile's unreadable .prj is refused (unless ``--crs``); a GeoPackage InnoMap
    wrote with layers of several kinds gives the layers of ``opts.kind``.
    """
    notes: list[str] = []
    layer = opts.layer
    if fmt in ("kml", "kmz"):
        gdf, available = read_kml(_kml_bytes(p, fmt), name=p.name)
        if layer:
            keys = gdf[FOLDER_FIELD].astype(str)
            m = ((keys == layer) | keys.str.startswith(layer + "/")).to_numpy()
            if not m.any():
                raise _no_layer(p, layer, available, "folder")
            gdf = gdf[m].reset_index(drop=True)
        return _GeoRead(gdf, None, layer, available, notes, FOLDER_FIELD, True)
    if fmt == "dxf":
        gdf, available, notes = read_dxf(p, name=p.name)
        if layer:
            if layer not in available:
                raise _no_layer(p, layer, available, "CAD layer")
            gdf = gdf[gdf[DXF_LAYER_FIELD] == layer].reset_index(drop=True)
        return _GeoRead(gdf, None, layer, available, notes, DXF_LAYER_FIELD)
    group = "source_layer"
    with tempfile.TemporaryDirectory() as d:
        read = _zip_parts if fmt == "zip" else _ogr_parts
        parts, encodings, available, marker, other_kinds, layer = read(
            p, fmt, opts, Path(d), notes, layer
        )
    gdf = _merge(parts, group)
    if len(gdf) == 0:
        raise ImportFileError(
            f"{p.name}"
            + (f" [{escape_html(truncate(layer, max_chars=60))}]" if layer else "")
            + ": 没有要素 / no features in the file: nothing to import"
        )
    where = layer
    if where is None and len(parts) == 1:
        where = available[0] if fmt == "zip" else parts[0][0]
    # GeoJSON is WGS84 by its format (GDAL writes a "crs" member naming CRS84 for any such file)
    says_wgs84 = fmt == "geojson" and not _geojson_declares_other(p)
    encoding = ", ".join(dict.fromkeys(encodings)) if encodings else None
    return _GeoRead(
        gdf,
        encoding,
        where,
        available,
        notes,
        group if len(parts) > 1 else None,
        says_wgs84,
        marker,
        other_kinds,
    )


def _zip_parts(p: Path, fmt: str, opts: ImportOptions, work: Path, notes: list, layer):
    """The shapefiles of a zip: ``(parts, encodings, available, marker, other_kinds, layer)``."""
    parts: list[tuple[str, gpd.GeoDataFrame]] = []
    encodings: list[str] = []
    other_kinds: dict[str, str] = {}
    zf = _check_zip(p)
    available = _shapefiles(zf)
    if not available:
        raise ImportFileError(f"{p.name}: 压缩包中没有 .shp / no .shp file in the zip")
    if layer and layer not in available:
        stems = {Path(a).stem: a for a in available}
        if layer not in stems:
            raise _no_layer(p, layer, available, "shapefile")
        layer = stems[layer]
    marker, kinds = _zip_marker(zf)
    field_names = _zip_field_names(zf) if marker else {}
    chosen = [layer] if layer else list(available)
    if not layer and len(set(kinds.values())) > 1:
        chosen, other_kinds = _of_kind(p, kinds, available, opts.kind)
    members = {n.lower(): n for n in zf.namelist()}
    for i, shp in enumerate(chosen):
        part, enc = _shapefile(p, fmt, zf, members, shp, work / f"s{i}", opts, notes)
        encodings.append(enc)
        long_names = field_names.get(Path(shp).stem, {})
        if long_names:  # InnoMap's export: the fields' names before dBASE cut them
            part = part.rename(columns={c: n for c, n in long_names.items() if c in part.columns})
        parts.append((Path(shp).stem, part))
    return parts, encodings, available, marker, other_kinds, layer


def _shapefile(p: Path, fmt: str, zf, members: dict, shp: str, sub: Path, opts, notes: list):
    """One shapefile of a zip, extracted to ``sub`` and read: ``(frame, encoding)``."""
    work = sub.parent
    sub.mkdir()
    stem = shp[:-4]
    for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        m = members.get((stem + ext).lower())
        if m:
            _extract(zf, m, sub, "layer" + ext)
    if not (sub / "layer.dbf").exists() or not (sub / "layer.shx").exists():
        raise ImportFileError(
            f"{p.name}: {escape_html(truncate(shp, max_chars=60))} 缺少 .dbf 或 .shx / "
            "the shapefile lacks .dbf or .shx: zip all its files together"
        )
    enc = _shp_encoding(sub, opts, notes)
    part = _ogr_read(p, fmt, sub / "layer.shp", None, {"encoding": enc.split(" ")[0]}, work)
    if (sub / "layer.prj").exists() and part.crs is None:
        if not opts.crs:
            raise ImportFileError(
                f"{p.name}: {escape_html(truncate(shp, max_chars=60))} 的 .prj 无法识别 / "
                "the .prj of the shapefile cannot be understood: replace it with a "
                "valid .prj, or give the coordinate system (--crs, e.g. GK3:39 or "
                "EPSG:4549)"
            )
        notes.append(
            ".prj 无法识别, 按用户指定的坐标系读取 / the .prj cannot be understood: read "
            "in the coordinate system given by the user"
        )
    return part, enc


def _ogr_parts(p: Path, fmt: str, opts: ImportOptions, work: Path, notes: list, layer):
    """The layers GDAL reads (GeoPackage, GeoJSON, …) of the kind:
    ``(parts, encodings, available, marker, other_kinds, layer)``."""
    parts: list[tuple[str, gpd.GeoDataFrame]] = []
    marker = None
    other_kinds: dict[str, str] = {}
    available, tables = _spatial_layers(p, _ogr_layers(p, p.name, fmt))
    if tables:
        notes.append(
            "没有几何的表未导入 / tables without geometry not imported: " + columns_text(tables)
        )
    kinds = _layer_kinds(p, fmt, available)
    rows_of = None  # a GeoJSON InnoMap wrote: the layers of the kind, by its layer column
    if (
        fmt == "geojson"
        and kinds
        and (
            (layer and layer in kinds and layer not in available)
            or (not layer and len(set(kinds.values())) > 1)
        )
    ):
        rows_of = [layer] if layer else _of_kind(p, kinds, list(kinds), opts.kind)[0]
        other_kinds = {a: k for a, k in kinds.items() if a not in rows_of}
        layer = None
    elif layer and layer not in available:
        raise _no_layer(p, layer, available)
    chosen = [layer] if layer else list(available)
    if fmt == "gpkg":
        if not layer and len(set(kinds.values())) > 1:
            chosen, other_kinds = _of_kind(p, kinds, available, opts.kind)
        markers = gpkg_layer_markers(p)
        ms = [markers[c] for c in chosen if c in markers]
        marker = ms[0] if ms and len({m["crs"] for m in ms}) == 1 else None
    elif fmt == "geojson":
        marker = read_geojson_marker(p)
    for name in chosen:
        part = _ogr_read(p, fmt, p, name, {}, work)
        if rows_of is not None and "layer" in part.columns:
            part = part[part["layer"].astype(str).isin(rows_of)].reset_index(drop=True)
            layer = rows_of[0] if len(rows_of) == 1 else None
        parts.append((name, part))
    return parts, [], available, marker, other_kinds, layer


# ---------------------------------------------------------------- normalisation
def _field_name(name: str) -> str:
    """A field as ``--col``/``--map`` may call it (``zone_type``, ``类型`` …) → canonical."""
    key = _n(name)
    return FIELD_NAMES.get(key, key)


def _no_column(file: str, col: str, columns) -> ImportFileError:
    return ImportFileError(
        f"{file}: 没有列 {escape_html(truncate(col, max_chars=60))!r} / no such column: "
        f"choose one of {columns_text(columns)}"
    )


def _map_columns(
    df: pd.DataFrame, overrides: dict[str, str] | None = None, *, file: str = ""
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Columns renamed to canonical fields: ``(frame, {file column: field})``.

    ``overrides`` (``--name-col``, ``--col FIELD=COLUMN``) come first; a column
    already named like an overridden field is kept as ``<name>_orig``. Then each
    field takes the first of its aliases equal to a column name (NFKC, case,
    spaces), then one equal when brackets and units are left out (``从业人员（人）``
    → employees). A file without a name column uses a column whose name ends in
    名称 (``孵化器名称``).
    """
    from layers.tabular import column_key

    rename = _override_renames(df, overrides, file)
    taken = set(rename.values())
    for c in df.columns:
        if c in taken and c not in rename:
            rename[c] = f"{c}_orig"
    free = [c for c in df.columns if c not in rename]
    exact = {_n(c): c for c in free}
    loose: dict[str, str] = {}
    for c in free:
        loose.setdefault(column_key(c), c)
    used = set(rename)
    for canon, aliases in FIELD_ALIASES.items():
        if canon in taken or canon in free:
            continue
        col = next((exact[_n(a)] for a in aliases if _n(a) in exact), None)
        if col is None or col in used:
            col = next((loose[column_key(a)] for a in aliases if column_key(a) in loose), None)
        if col is not None and col not in used and col not in FIELD_ALIASES:
            rename[col] = canon
            used.add(col)
    if "name" not in taken and "name" not in free and "name" not in rename.values():
        col = next((c for c in free if c not in used and _is_name_column(column_key(c))), None)
        if col is not None:
            rename[col] = "name"
    return df.rename(columns=rename), rename


def _override_renames(df: pd.DataFrame, overrides, file: str) -> dict[str, str]:
    """``{column: field}`` of ``--name-col``/``--col`` (coordinate columns left out)."""
    rename: dict[str, str] = {}
    for key, col in (overrides or {}).items():
        canon = _field_name(key)
        if canon in ("lon", "lat", "lonlat"):
            continue  # coordinate columns: read by _points_from_table
        if col not in df.columns:
            raise _no_column(file, col, df.columns)
        rename[col] = canon
    return rename


def _is_name_column(key: str) -> bool:
    """孵化器名称 is a name column; 英文名称 and 简称 are not."""
    return key.endswith("名称") and not key.endswith(("英文名称", "简称"))


def _level_of(v: str) -> str:
    k = _n(v)
    if not k:
        return ""
    if k in LEVEL_WORDS:
        return LEVEL_WORDS[k]
    for word, level in LEVEL_WORDS.items():  # 省级（2023年认定） → 省级
        if len(word) > 1 and k.startswith(word):
            return level
    return unicodedata.normalize("NFKC", str(v)).strip()


def _levels(values: pd.Series) -> pd.Series:
    """Level spellings mapped to the vocabulary (国家/national → 国家级 …), per distinct value."""
    return _per_value(values, _level_of)


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
    """``(subtypes, levels)`` of distinct type spellings (see :func:`map_vocabulary`).

    A spelling of :data:`VOCABULARY`, then the longest one found inside the text
    (合肥高新技术产业开发区 → 高新区, 国家工程技术研究中心 → 工程技术中心), then a
    subtype found inside it; the level from the spelling or a leading level word.
    A text matching nothing is returned as it is (kept as 其他 by the import).
    """
    pairs = [_vocabulary_one(v, spec) for v in texts]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _vocabulary_one(v: str, spec) -> tuple:
    """``(subtype, level)`` of one spelling (see :func:`_vocabulary_of`)."""
    k = _n(v)
    sub, lvl = VOCABULARY.get(k, (None, None))
    if sub not in spec.subtypes:
        sub = None
        word = next((w for w in _CONTAINED if w in k and VOCABULARY[w][0] in spec.subtypes), None)
        if word is not None:
            sub = VOCABULARY[word][0]
            lvl = lvl or VOCABULARY[word][1]
    if sub is None:  # exact subtype or one contained in the text
        sub = next((s for s in spec.subtypes if s in v), None)
    if lvl is None:
        lvl = next((lv for w, lv in LEVEL_WORDS.items() if k.startswith(w) and len(w) > 1), None)
    text = unicodedata.normalize("NFKC", str(v)).strip() if v else ""
    return (sub if sub in spec.subtypes else text), lvl


def _per_value(values: pd.Series, fn) -> pd.Series:
    """``fn`` of every value's text ("" for a missing one), computed once per distinct value."""
    s = pd.Series(values)
    codes, uniq = pd.factorize(s)
    out = np.array([fn(str(u)) for u in uniq] + [fn("")], dtype=object)
    return pd.Series(out[codes], index=s.index, dtype=object)


def _clean(values: pd.Series) -> pd.Series:
    """Text values in NFKC, trimmed."""
    return _per_value(values, lambda v: unicodedata.normalize("NFKC", v).strip())


def value_map_of(mapping: dict[str, dict[str, str]], layer_key: str) -> dict[str, dict[str, str]]:
    """``{field: {raw: value}}`` checked against ``layer_key``'s vocabulary.

    Fields are ``subtype`` (also ``zone_type``, 类型, 区域类型) and ``level`` (级别);
    raw values are compared after NFKC and trimming.

    Raises
    ------
    ImportFileError
        A field other than these, or a value outside the vocabulary (the message
        lists the allowed values).
    """
    from layers.registry import vocabulary

    spec = get_spec(layer_key)
    out: dict[str, dict[str, str]] = {}
    for fld, pairs in (mapping or {}).items():
        canon = _field_name(fld)
        if canon not in ("subtype", "level"):
            raise ImportFileError(
                f"--map: 字段 {escape_html(truncate(fld, max_chars=40))!r} 不能映射 / field cannot "
                "be mapped: use subtype (zone_type) or level"
            )
        allowed = vocabulary(spec, canon)
        for raw, value in pairs.items():
            v = unicodedata.normalize("NFKC", str(value)).strip()
            if v not in allowed:
                raise ImportFileError(
                    f"--map {canon}:{escape_html(truncate(raw, max_chars=40))}="
                    f"{escape_html(truncate(value, max_chars=40))}: 不在 {spec.name_zh} 的词表中 / "
                    f"not in the vocabulary of {layer_key}: use one of {', '.join(allowed)}"
                )
            key = unicodedata.normalize("NFKC", str(raw)).strip()
            out.setdefault(canon, {})[key] = v
    return out


def parse_map_option(text: str) -> tuple[str, str, str]:
    """``FIELD:RAW=VALUE`` (``--map``) as ``(field, raw, value)``.

    Raises
    ------
    ImportFileError
        When the text is not of that form.
    """
    m = re.fullmatch(r"\s*([^:：=]+)[:：](.*)=([^=]*)", str(text))
    if not m or not m.group(2).strip() or not m.group(3).strip():
        raise ImportFileError(
            f"--map {escape_html(truncate(text, max_chars=60))!r}: 应为 字段:原值=词表值 / must be "
            "FIELD:RAW=VALUE, e.g. subtype:市级研发中心=创新平台"
        )
    return m.group(1).strip(), m.group(2).strip(), m.group(3).strip()


def read_mapping_csv(path: str | Path) -> dict[str, dict[str, str]]:
    """A mapping CSV (columns ``field,raw,value`` or 字段,原值,映射为) as ``{field: {raw: value}}``."""
    p = Path(path)
    try:
        tab = read_csv_table(p, name=p.name)
    except FileNotFoundError:
        raise ImportFileError(f"{p.name}: 映射文件不存在 / mapping file not found") from None
    cols = {_n(c): c for c in tab.frame.columns}
    pick = {}
    for want, names in (
        ("field", ("field", "字段")),
        ("raw", ("raw", "原值", "原始值")),
        ("value", ("value", "映射为", "词表值", "值")),
    ):
        col = next((cols[n] for n in names if n in cols), None)
        if col is None:
            raise ImportFileError(
                f"{p.name}: 映射文件需要列 field, raw, value (或 字段, 原值, 映射为) / the mapping "
                f"CSV needs the columns field, raw, value; it has {columns_text(tab.frame.columns)}"
            )
        pick[want] = col
    out: dict[str, dict[str, str]] = {}
    for f, r, v in zip(
        tab.frame[pick["field"]], tab.frame[pick["raw"]], tab.frame[pick["value"]], strict=True
    ):
        if str(f).strip() and str(r).strip():
            out.setdefault(str(f).strip(), {})[str(r).strip()] = str(v).strip()
    return out


def _categories(gdf, spec, opts: ImportOptions, file: str, where):
    """Subtype/level mapped to the vocabulary (spellings, then ``opts.value_map``); values
    outside it kept as 其他 with the original in ``*_raw``: ``(gdf, other, warnings)``."""
    from layers.registry import raw_field
    from layers.validation import open_categories

    vm = value_map_of(opts.value_map, opts.kind)
    raw: dict[str, pd.Series] = {}
    user: dict[str, np.ndarray] = {}
    if "subtype" in gdf.columns:
        raw["subtype"] = _clean(gdf["subtype"])
        sub, lvl = map_vocabulary(raw["subtype"], opts.kind)
        if "subtype" in vm:
            mapped = raw["subtype"].map(vm["subtype"])
            user["subtype"] = mapped.notna().to_numpy()
            sub = sub.where(mapped.isna(), mapped)
        gdf["subtype"] = sub
        if "level" not in gdf.columns:
            gdf["level"] = lvl.fillna("")
        else:
            raw["level"] = _clean(gdf["level"])
            gdf["level"] = _levels(gdf["level"])
            gdf["level"] = gdf["level"].where(gdf["level"] != "", lvl.fillna(""))
    elif "level" in gdf.columns:
        raw["level"] = _clean(gdf["level"])
        gdf["level"] = _levels(gdf["level"])
    if "level" in vm and "level" in raw:
        mapped = raw["level"].map(vm["level"])
        user["level"] = mapped.notna().to_numpy()
        gdf["level"] = gdf["level"].where(mapped.isna(), mapped)
    out, other = open_categories(gdf, spec, raw=raw)
    for fld, hit in user.items():  # a value the user mapped keeps its original beside it
        name = raw_field(spec.key, fld)
        out[name] = out[name].where(~hit, raw[fld])
    warns = []
    for fld, counts in other.items():
        n = sum(counts.values())
        listed = ", ".join(f"{k} ×{v}" for k, v in counts.items())
        name = raw_field(spec.key, fld)
        warns.append(
            _issue(
                file,
                where,
                None,
                fld,
                listed,
                f"{n} 行的取值不在词表中, 按 其他 导入, 原值保存在 {name} / {n} rows have values "
                f"outside the vocabulary: imported as 其他, the original kept in {name}; map them "
                f"with --map {fld}:原值=词表值 (or in the app) to use the vocabulary",
                "warning",
            )
        )
    return out, other, warns


def apply_value_map(gdf, layer_key: str, mapping: dict[str, dict[str, str]]):
    """Rows kept as 其他 given vocabulary values after the import (the app's mapping):
    where ``*_raw`` equals a raw value of ``mapping``, the field takes its value (the
    original stays in ``*_raw``). Returns a new frame."""
    from layers.registry import raw_field

    vm = value_map_of(mapping, layer_key)
    out = gdf.copy()
    for fld, pairs in vm.items():
        name = raw_field(layer_key, fld)
        if name not in out.columns or fld not in out.columns:
            continue
        mapped = _clean(out[name]).map(pairs)
        out[fld] = out[fld].where(mapped.isna(), mapped)
    return out


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


def _table_notes(tab: Table) -> list[str]:
    """Title rows above the header and footnote rows below the data, as notes."""
    from layers.tabular import _footnote_note, _title_note

    return [_title_note(r, t) for r, t in tab.titles] + [
        _footnote_note(r, t) for r, t in tab.footnotes
    ]


def _in_sheets(issues: list[ValidationIssue], sheet_of, file: str) -> list[ValidationIssue]:
    """Issues of rows read from several sheets name each row's own sheet."""
    if sheet_of is None:
        return issues
    return [
        i if i.row is None else dataclasses.replace(i, file=f"{file} [{sheet_of[i.row]}]")
        for i in issues
    ]


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
    if opts.kind not in IMPORTABLE_KINDS:
        raise ImportFileError(
            f"未知或不可导入的图层类别 / unknown layer kind {escape_html(truncate(opts.kind, max_chars=40))!r}: "
            f"use one of {', '.join(IMPORTABLE_KINDS)}"
        )
    spec = get_spec(opts.kind)
    info = inspect_file(p, contents=False)
    fmt = info["format"]
    try:
        if fmt in ("csv", "xlsx"):
            got = _load_table(p, fmt, opts, on_rows)
        else:
            got = _load_geo(p, fmt, opts, spec, on_rows)
            got.hidden = info.get("hidden") or []
    except (ImportFileError, CoordinateError):
        raise
    except Exception as exc:  # any library failure on corrupt input: a clean error
        raise ImportFileError(_unreadable(p, fmt, exc)) from None
    opts, gdf, where, lines, warns = got.opts, got.gdf, got.where, got.lines, got.warns
    if fmt in ("csv", "xlsx") and spec.geometry != "point":  # a table gives points
        raise ImportFileError(
            f"{p.name}: 表格中的坐标是点, 不能作为{spec.name_zh} / a table's coordinates are points, "
            f"not {spec.geometry}s of kind {opts.kind}: import it with a point kind, or give the "
            f"{spec.geometry}s as GeoJSON, GeoPackage, Shapefile, KML or DXF"
        )
    total = len(gdf)
    raw_cols = [c for c in gdf.columns if c != "geometry"]
    gdf, renamed_to = _map_columns(gdf, opts.columns, file=p.name)
    coord_cols = got.coord_cols
    column_map = _column_map(renamed_to, coord_cols)
    gdf = _ids(gdf, lines, got.sheet_of, fmt, p.name, where, warns)
    if "name" not in gdf.columns:
        raise ImportFileError(
            f"{p.name}: 没有名称列 / no name column among {columns_text(raw_cols)}: add one of "
            f"{', '.join(FIELD_ALIASES['name'][:6])}"
        )
    gdf, other_values, cat_warns = _categories(gdf, spec, opts, p.name, where)
    warns += cat_warns
    gdf = _provenance(gdf, got, fmt, p.name, warns)
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
    issues += _outside_city(gdf, p.name, where, opts)
    all_errors = _errors(got.read_issues, got.errs, issues, warns)
    valid, rejected = _split_rejected(gdf, all_errors, lines)
    return ImportReport(
        file=p.name,
        format=fmt,
        encoding=got.encoding,
        crs_in=got.crs_in,
        crs_reason=got.crs_reason,
        layer_key=opts.kind,
        sheet_or_layer=where,
        available=got.available,
        columns=raw_cols,
        coordinate_columns=coord_cols,
        rows_total=total,
        valid=valid,
        rejected=rejected,
        errors=sorted(
            _at_lines(_in_sheets(all_errors, got.sheet_of, p.name), lines),
            key=lambda i: i.row or 0,
        ),
        warnings=_at_lines(_in_sheets(warns, got.sheet_of, p.name), lines),
        hidden=got.hidden,
        renamed_columns=renamed,
        contents=got.contents,
        marker=got.marker,
        notes=got.table_notes,
        header_row=got.header_row,
        column_map=column_map,
        other_values=other_values,
    )


@dataclasses.dataclass
class _Loaded:
    """A file read into records (before the layer's columns are mapped and checked)."""

    opts: ImportOptions
    gdf: gpd.GeoDataFrame
    lines: np.ndarray
    encoding: str | None
    where: str
    available: list
    hidden: list
    read_issues: list
    crs_in: str
    crs_reason: str
    errs: list
    warns: list
    coord_cols: tuple = (None, None)
    marker: dict | None = None
    contents: list = dataclasses.field(default_factory=list)
    table_notes: list = dataclasses.field(default_factory=list)
    header_row: int | None = None
    sheet_of: object = None


def _load_table(p: Path, fmt: str, opts: ImportOptions, on_rows) -> _Loaded:
    """A CSV or XLSX: its points (coordinates found, CRS decided) and row problems."""
    tab, where, available, hidden = _read_table(p, fmt, opts, on_rows)
    lines, encoding = tab.lines, tab.encoding
    read_issues = _row_issues(tab.problems, p.name, where)
    marker = table_marker(tab.frame)  # a table InnoMap wrote states its CRS
    marked = marker is not None and not opts.crs
    if marked:
        opts = dataclasses.replace(opts, crs=marker["crs"])
    gdf, crs_in, crs_reason, errs, warns, coord_cols = _points_from_table(
        tab.frame, p.name, where, opts
    )
    if marked:
        crs_reason = "InnoMap 文件标记 / InnoMap's marker"
    warns += [_note(p.name, where, "-", n) for n in tab.notes]
    table_notes, header_row, sheet_of = _table_notes(tab), tab.header_row, tab.sheet_of
    return _Loaded(
        opts=opts,
        gdf=gdf,
        lines=lines,
        encoding=encoding,
        where=where,
        available=available,
        hidden=hidden,
        read_issues=read_issues,
        crs_in=crs_in,
        crs_reason=crs_reason,
        errs=errs,
        warns=warns,
        coord_cols=coord_cols,
        marker=marker,
        table_notes=table_notes,
        header_row=header_row,
        sheet_of=sheet_of,
    )


def _load_geo(p: Path, fmt: str, opts: ImportOptions, spec, on_rows) -> _Loaded:
    """A geographic file: its features in WGS84, those that fit the kind (others rejected)."""
    read = _read_geo(p, fmt, opts)
    gdf, encoding, where, available, notes = (
        read.gdf,
        read.encoding,
        read.where,
        read.available,
        read.notes,
    )
    marker = read.marker
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
    groups = (
        " ".join(map(str, pd.unique(gdf[read.group].astype(str))))[:2000]
        if read.group and read.group in gdf.columns
        else ""
    )
    hints = f"{p.name} {' '.join(map(str, gdf.columns))[:2000]} {groups}"
    gdf, crs_in, crs_reason, errs, warns = _normalise_geo(
        gdf,
        p.name,
        where,
        opts,
        hints=hints,
        format_says_wgs84=read.format_says_wgs84 or fmt in ("kml", "kmz"),
        marker=marker,
    )
    warns += [_note(p.name, where, "-", n) for n in notes + dup_notes]
    for lyr, k in read.other_kinds.items():
        warns.append(
            _note(
                p.name,
                where,
                "-",
                f"图层 {lyr} 属于 {k}, 未作为 {opts.kind} 导入 / layer {lyr} is of kind {k}: "
                f"not imported as {opts.kind} (import it with --kind {k})",
            )
        )
    single = (gdf.geom_type == "MultiPoint").to_numpy() & (
        shapely.get_num_geometries(gdf.geometry.values) == 1
    )
    if single.any():  # a placemark's MultiGeometry of one point is that point
        geoms = gdf.geometry.values.copy()
        geoms[single] = shapely.get_geometry(geoms[single], 0)
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    fits, misfit = _geometry_fit(gdf, spec, p.name, where, read.group)
    contents = _contents(gdf, read.group or None, fits)
    if not fits.any():
        held = columns_text(
            f"{c['name'] or p.name}: " + ", ".join(f"{t} {n}" for t, n in c["geometry"].items())
            for c in contents
        )
        raise ImportFileError(
            f"{p.name}: 没有符合 {spec.name_zh} ({spec.geometry}) 的要素 / no feature fits the "
            f"kind {opts.kind} ({spec.geometry}s); the file holds {held}: " + _kind_fix(gdf, spec)
        )
    errs += misfit
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
    return _Loaded(
        opts=opts,
        gdf=gdf,
        lines=lines,
        encoding=encoding,
        where=where,
        available=available,
        hidden=[],
        read_issues=read_issues,
        crs_in=crs_in,
        crs_reason=crs_reason,
        errs=errs,
        warns=warns,
        marker=marker,
        contents=contents,
    )


def _column_map(renamed_to: dict, coord_cols: tuple) -> dict:
    """``{field: the file's column}`` of the mapped fields and the coordinate columns."""
    column_map = {v: k for k, v in renamed_to.items() if not v.endswith("_orig")}
    if coord_cols[0]:
        column_map.update(
            {"lon": coord_cols[0], "lat": coord_cols[1]}
            if coord_cols[0] != coord_cols[1]
            else {"lonlat": coord_cols[0]}
        )
    return column_map


def _ids(gdf, lines, sheet_of, fmt: str, name: str, where: str, warns: list):
    """Every record's id, as text: made from row numbers when the file has none; the sheet
    put before ids repeated across sheets; KML placemarks without one numbered."""
    if "id" not in gdf.columns:
        gdf["id"] = [f"R{n}" for n in lines]
        warns.append(
            _issue(
                name,
                where,
                None,
                "id",
                "",
                "没有编号列, 已按行号生成 / no id column: ids made from row numbers",
                "warning",
            )
        )
    gdf["id"] = gdf["id"].astype(object).where(gdf["id"].notna(), "").astype(str).str.strip()
    if sheet_of is not None and gdf["id"].duplicated().any():
        # sheets read together number their rows from 1 each: the sheet makes the ids unique
        gdf["id"] = pd.Series(sheet_of, index=gdf.index).astype(str) + ":" + gdf["id"]
        warns.append(
            _note(
                name,
                where,
                "id",
                "编号在工作表之间重复, 已加上工作表名 / ids repeat "
                "across sheets: the sheet name was put before each",
            )
        )
    if fmt in ("kml", "kmz"):  # a placemark's id is an optional attribute, not the user's data
        no_id = (gdf["id"] == "").to_numpy()
        if no_id.any():
            gdf.loc[no_id, "id"] = [f"R{n}" for n in lines[no_id]]
            warns.append(
                _issue(
                    name,
                    where,
                    None,
                    "id",
                    f"{int(no_id.sum())}",
                    "地标没有 id, 已按序号生成 / placemarks without an id: ids made from their numbers",
                    "warning",
                )
            )
    return gdf


def _provenance(gdf, got: _Loaded, fmt: str, name: str, warns: list):
    """``source``, ``coord_source`` and ``coord_precision_m`` of every record (a file
    InnoMap wrote keeps each row's)."""
    where, crs_in = got.where, got.crs_in
    if "source" not in gdf.columns or (gdf["source"].astype(str).str.strip() == "").all():
        gdf["source"] = f"用户导入 user import: {name}"
    gdf["source"] = (
        gdf["source"]
        .astype(str)
        .where(gdf["source"].astype(str).str.strip() != "", f"用户导入 user import: {name}")
    )
    if (got.marker is not None or fmt not in ("csv", "xlsx")) and "coord_source" in gdf.columns:
        # a file InnoMap wrote (a marked table, a layer export) keeps each row's provenance
        kept = gdf["coord_source"].astype(object).where(gdf["coord_source"].notna(), "")
        kept = kept.astype(str).str.strip()
        gdf["coord_source"] = kept.where(kept != "", f"{crs_in} → WGS84 ({fmt})")
        if "crs" in gdf.columns:
            gdf = gdf.drop(columns="crs")  # the marker column, said once in crs_in
    else:
        gdf["coord_source"] = f"{crs_in} → WGS84 ({fmt})"
    if "coord_precision_m" not in gdf.columns:
        gdf["coord_precision_m"] = 100.0
        warns.append(
            _issue(
                name,
                where,
                None,
                "coord_precision_m",
                "",
                "未注明坐标精度, 按 100 米记 / precision not stated: recorded as 100 m",
                "warning",
            )
        )
    return gdf


def _errors(read_issues: list, errs: list, issues: list, warns: list) -> list:
    """The errors that reject rows (warnings among them moved to ``warns``)."""
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
    return [i for i in all_errors if i.severity == "error"]


def _split_rejected(gdf, all_errors: list, lines) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The valid records and the rejected ones with their file row and reasons."""
    bad_rows = sorted({i.row for i in all_errors if i.row is not None})
    rejected = pd.DataFrame(gdf.drop(columns="geometry").iloc[bad_rows]).copy()
    rejected.insert(0, "row", [int(lines[r]) for r in bad_rows])
    reasons: dict[int, list[str]] = {}
    for i in all_errors:  # grouped once: a file with many rejected rows stays linear
        if i.row is not None:
            reasons.setdefault(i.row, []).append(f"{i.field}: {i.message}")
    rejected["reason"] = ["; ".join(reasons[r]) for r in bad_rows]
    valid = gdf.drop(index=gdf.index[bad_rows]).reset_index(drop=True)
    return valid, rejected.reset_index(drop=True)


def _outside_city(
    gdf: gpd.GeoDataFrame, file: str, where, opts: ImportOptions
) -> list[ValidationIssue]:
    """Rows beyond the project's outline (one rule with the geocoder:
    :func:`layers.cities.outside_city_mask`): flagged in ``outside_city`` and warned, or
    rejected with ``opts.drop_outside_city``. Never accepted silently."""
    import settings
    from layers.cities import outside_city_mask

    if opts.city_outline is None or gdf.empty:
        return []
    geoms = gdf.geometry.values
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    lon = np.full(len(gdf), np.nan)
    lat = np.full(len(gdf), np.nan)
    if ok.any():
        pts = shapely.point_on_surface(geoms[ok])
        lon[ok], lat[ok] = shapely.get_x(pts), shapely.get_y(pts)
    out = outside_city_mask(lon, lat, city_geom=opts.city_outline) & ok
    if not out.any():
        return []
    gdf["outside_city"] = out
    km = settings.OUTSIDE_CITY_MARGIN_M / 1000
    if opts.drop_outside_city:
        msg = (
            f"位于项目城市范围之外 (超出 {km:g} 千米), 已剔除 / outside the project's city "
            f"(more than {km:g} km beyond its outline): dropped as asked (--drop-outside-city)"
        )
        sev = "error"
    else:
        msg = (
            f"位于项目城市范围之外 (超出 {km:g} 千米), 已标记 outside_city / outside the "
            f"project's city (more than {km:g} km beyond its outline): kept and flagged "
            "outside_city; check its coordinates or CRS, or drop such rows (--drop-outside-city)"
        )
        sev = "warning"
    return [
        _issue(file, where, int(i), "geometry", f"{lon[i]:.5f}, {lat[i]:.5f}", msg, sev)
        for i in np.flatnonzero(out)
    ]


class _Cells:
    """The original text of each row's coordinates, built only for the rows an error quotes."""

    def __init__(self, xs: pd.Series, ys: pd.Series | None) -> None:
        self.xs, self.ys = xs, ys

    def __getitem__(self, i: int) -> str:
        def text(s):
            v = s.iloc[i]
            return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()

        if self.ys is None:
            return text(self.xs)
        x, y = text(self.xs), text(self.ys)
        return f"{x}, {y}" if y else x


def _coordinate_columns(df: pd.DataFrame, file: str, opts: ImportOptions):
    """``(x values, y values, (x column, y column), cells)`` of the table's coordinates:
    the columns given, else the ones detected; two columns or one holding both."""
    lon_col, lat_col, pair = detect_coordinate_columns(df.columns)
    given = {_field_name(k): v for k, v in (opts.columns or {}).items()}
    lon_col = opts.lon_col or given.get("lon") or lon_col
    lat_col = opts.lat_col or given.get("lat") or lat_col
    pair = given.get("lonlat") or pair
    for c in (opts.lon_col, opts.lat_col, given.get("lon"), given.get("lat"), given.get("lonlat")):
        if c and c not in df.columns:
            raise _no_column(file, c, df.columns)
    if lon_col and lat_col and not given.get("lonlat"):
        return df[lon_col], df[lat_col], (lon_col, lat_col), _Cells(df[lon_col], df[lat_col])
    if pair:
        xs, ys = split_pair(df[pair])
        return xs, ys, (pair, pair), _Cells(df[pair], None)
    raise ImportFileError(
        f"{file}: 找不到坐标列 / no coordinate columns found among {columns_text(df.columns)}: "
        "name them 经度/纬度 (or lng/lat, x/y), give both in one cell in a column 坐标/经纬度, "
        "or choose them (--col lon=COLUMN --col lat=COLUMN, --col lonlat=COLUMN)"
    )


def _pairs_in_lon_cells(xs, ys, raw_x: np.ndarray, raw_y: np.ndarray) -> None:
    """Rows with both coordinates in the longitude cell and a blank latitude cell: read
    the pair (``raw_x``/``raw_y`` updated in place)."""
    lone = ~np.isfinite(raw_x) & ~np.isfinite(raw_y)
    if not lone.any():
        return
    at = np.flatnonzero(lone)
    px, py = split_pair(xs.iloc[at])
    ok_y = pd.Series(ys.iloc[at]).astype(object).fillna("").astype(str).str.strip() == ""
    fx, fy = parse_coordinate_series(px), parse_coordinate_series(py)
    take = ok_y.to_numpy() & np.isfinite(fx) & np.isfinite(fy)
    raw_x[at[take]], raw_y[at[take]] = fx[take], fy[take]


def _swap_back(raw_x, raw_y, file: str, where, warns: list):
    """Degrees with lon and lat swapped (lat in 73–136, lon in 3–54) swapped back, warned."""
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
    return np.where(sw, raw_y, raw_x), np.where(sw, raw_x, raw_y)


def _points_from_table(df: pd.DataFrame, file: str, where, opts: ImportOptions):
    xs, ys, cols, cells = _coordinate_columns(df, file, opts)
    raw_x = parse_coordinate_series(xs)
    raw_y = parse_coordinate_series(ys)
    if cols[0] != cols[1]:  # both coordinates in the longitude cell, the latitude cell blank
        _pairs_in_lon_cells(xs, ys, raw_x, raw_y)
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
        raw_x, raw_y = _swap_back(raw_x, raw_y, file, where, warns)
    ok = np.isfinite(raw_x) & np.isfinite(raw_y)
    lon = np.full(len(df), np.nan)
    lat = np.full(len(df), np.nan)
    if ok.any():
        good = ok & ((np.abs(raw_x) <= 180) & (np.abs(raw_y) <= 90) if degree else ok)
        if good.any():
            lx, ly = to_wgs84(raw_x[good], raw_y[good], crs_in)
            lon[good], lat[good] = lx, ly
    err_rows, warn_rows = row_flags(raw_x, raw_y, lon, lat, degree_input=degree, cells=cells)
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


_KIND_OF_GEOMETRY = {"point": "science_venues", "polygon": "zones", "line": "corridor_axes"}


def _geometry_kind(geom_type: str) -> str | None:
    for g, types in (
        ("point", ("Point", "MultiPoint")),
        ("polygon", ("Polygon", "MultiPolygon")),
        ("line", ("LineString", "MultiLineString", "LinearRing")),
    ):
        if geom_type in types:
            return g
    return None


def _kind_fix(gdf: gpd.GeoDataFrame, spec) -> str:
    """The fix for rows whose geometry does not fit ``spec``: the kind (or --layer) to use."""
    kinds = {_geometry_kind(t) for t in gdf.geom_type.dropna().unique()} - {None, spec.geometry}
    if not kinds:
        return "check the file's geometries"
    fixes = []
    for g in sorted(kinds):
        k = _KIND_OF_GEOMETRY[g]
        fixes.append(
            f"use --kind {k}" if g != "point" else "use a point kind (e.g. --kind science_venues)"
        )
    return "; ".join(fixes) + ", or pick a folder/layer with --layer"


_GEOMETRY_WORDS = {"point": ("点", "point"), "polygon": ("面", "polygon"), "line": ("线", "line")}


def _geometry_fit(gdf: gpd.GeoDataFrame, spec, file: str, where, group: str | None):
    """``(fits, issues)``: a mask of rows whose geometry fits ``spec`` and one error per other row
    (a line given as a zone, a polygon as an axis, a track among points …), naming the fix."""
    types = gdf.geom_type.to_numpy(dtype=object)
    missing = pd.isna(types)
    fits = np.array([t in GEOMETRY_FITS[spec.geometry] for t in types], dtype=bool) | missing
    issues: list[ValidationIssue] = []
    zh_kind = spec.name_zh
    for i in np.flatnonzero(~fits):
        t = str(types[i])
        g = _geometry_kind(t)
        zh, en = _GEOMETRY_WORDS.get(g, ("其他几何", t))
        if g is None:
            fix = "convert it to points, lines or polygons"
        elif g == "point" and spec.geometry == "point":
            fix = "split the multipoint into single points"
        elif g == "point":
            fix = "import it with a point kind (e.g. --kind science_venues)"
        else:
            fix = f"import it with --kind {_KIND_OF_GEOMETRY[g]}"
        label = t + (f" [{gdf[group].iloc[i]}]" if group and group in gdf.columns else "")
        issues.append(
            _issue(
                file,
                where,
                int(i),
                "geometry",
                label,
                f"{zh}要素不符合图层类别 {zh_kind} / a {en} does not fit the kind {spec.key} "
                f"({spec.geometry}s): {fix}, or pick the folder/layer with --layer",
            )
        )
    return fits, issues


def _set_source_crs(gdf: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """A frame without CRS put in the system ``name`` (GK eastings given or stripped of the zone
    prefix to fit it; GCJ-02/BD-09 as WGS84, their offsets removed later)."""
    from layers.crs import gk_prefix_fix

    parsed = parse_crs(name)
    if parsed.epsg is None:
        return gdf.set_crs(4326)
    if parsed.zone_width_deg is not None:
        x, _ = sample_xy(gdf)
        fixed = gk_prefix_fix(parsed, x)
        if len(x) and np.nanmedian(fixed) != np.nanmedian(x):
            shift = parsed.zone * 1e6 if parsed.prefixed else None

            def tx(c):
                c = c.copy()
                c[:, 0] = c[:, 0] + shift if shift is not None else c[:, 0] % 1e6
                return c

            gdf = gdf.set_geometry(shapely.transform(gdf.geometry.values, tx))
    return gdf.set_crs(parsed.to_pyproj(), allow_override=True)


def _given_crs(gdf, given: str, declared_name, warns: list):
    """The CRS given by the user (``--crs``) against the one the file declares."""
    declared = gdf.crs
    if declared is None:
        return (
            _set_source_crs(gdf, given),
            given,
            "文件未声明坐标系 / the file declares no CRS: given by the user",
            warns,
        )
    if declared.is_geographic and given in ("GCJ-02", "BD-09"):
        return (
            gdf,
            given,
            f"文件声明 WGS84, 用户指定实为 {given} / file says WGS84, user says {given}",
            warns,
        )
    same = declared.is_geographic and given in ("WGS84", "CGCS2000")  # equal within dm
    if not same and parse_crs(given).epsg != declared.to_epsg():
        warns.append(
            f"文件已声明坐标系 {declared_name}, 忽略 --crs {given} / the file declares "
            f"{declared_name}: --crs {given} is ignored (fix the file's .prj or crs if it is wrong)"
        )
    return gdf, declared_name, "文件声明 / declared by the file", warns


def _marker_crs(gdf, name: str, declared_name):
    """The CRS InnoMap's marker states against the one the file declares."""
    declared = gdf.crs
    if declared is None:
        return _set_source_crs(gdf, name), name, "InnoMap 文件标记 / InnoMap's marker", []
    if declared.is_geographic and name in ("GCJ-02", "BD-09"):
        return gdf, name, "InnoMap 文件标记 / InnoMap's marker", []
    return gdf, declared_name, "文件声明 (InnoMap 文件) / declared by the file (InnoMap)", []


def _geo_crs(gdf, file: str, opts: ImportOptions, *, hints: str, format_says_wgs84: bool, marker):
    """``(frame with its source CRS set, crs name, reason, warnings)`` of a geographic source."""
    warns: list[str] = []
    given = None
    if opts.crs:
        try:
            given = parse_crs(opts.crs).name
        except UnknownCRSError as exc:
            raise CoordinateError(str(exc)) from None
    declared = gdf.crs
    declared_name = None
    if declared is not None:
        epsg = declared.to_epsg()
        declared_name = f"EPSG:{epsg}" if epsg else declared.name
    if given:
        return _given_crs(gdf, given, declared_name, warns)
    if marker:
        return _marker_crs(gdf, marker["crs"], declared_name)
    hinted, why = hinted_crs(hints)
    if declared is None:
        x, y = sample_xy(gdf)
        name, reason = guess_source_crs(np.asarray(x, float), np.asarray(y, float), hints=hints)
        if not name:
            raise CRSQuestionError(
                f"{file}: 坐标为米制投影坐标, 东坐标没有带号, 文件未声明坐标系 / projected metres "
                "without a zone prefix and no CRS in the file: give it with --crs GK3:NN (CGCS2000 "
                "3° zone, e.g. 合肥 --crs GK3:39), --crs GK3:117E (central meridian) or --crs EPSG:n",
                choices=_gk_choices(x),
                question="projected",
            )
        return _set_source_crs(gdf, name), name, reason, warns
    if declared.is_geographic and hinted in ("GCJ-02", "BD-09"):
        if format_says_wgs84:
            raise CRSQuestionError(
                f"{file}: 格式规定为 WGS84, 但名称含 {hinted} 线索 ({why}) / the format says WGS84 but "
                f"the names point to {hinted}: confirm with --crs {hinted} (or --crs WGS84 if the "
                "coordinates really are WGS84)",
                choices=(hinted, "WGS84"),
                question="hinted",
            )
        warns.append(
            f"文件声明 {declared_name}, 但名称含 {hinted} 线索; 按文件声明读取 / the file declares "
            f"{declared_name} but its names point to {hinted}: read as declared (give --crs {hinted} "
            "if the coordinates are from AMap/Baidu)"
        )
    return gdf, declared_name, "文件声明 / declared by the file", warns


def _gk_choices(x) -> tuple[str, ...]:
    """GK names to offer for plain eastings (China's 3° zones by central meridian, 合肥 first)."""
    return ("GK3:117E", "GK3:120E", "GK3:114E", "GK3:111E", "GK3:108E", "GK3:105E")


def _normalise_geo(
    gdf: gpd.GeoDataFrame,
    file: str,
    where,
    opts: ImportOptions,
    *,
    hints: str = "",
    format_says_wgs84: bool = False,
    marker: dict | None = None,
):
    errs: list[ValidationIssue] = []
    warns: list[ValidationIssue] = []
    gdf, crs_in_name, reason, crs_notes = _geo_crs(
        gdf, file, opts, hints=hints or file, format_says_wgs84=format_says_wgs84, marker=marker
    )
    warns += [_note(file, where, "-", n) for n in crs_notes]
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
    pts = np.flatnonzero((gdf.geom_type == "Point").to_numpy())
    if len(pts):
        x, y = gdf.geometry.iloc[pts].x.to_numpy(), gdf.geometry.iloc[pts].y.to_numpy()
        e2, w2 = row_flags(x, y, x, y, degree_input=True)
        seen = {e.row for e in errs}
        errs += [
            _issue(file, where, int(pts[i]), "geometry", v, m)
            for i, _, v, m in e2
            if int(pts[i]) not in seen
        ]
        warns += [
            _issue(file, where, int(pts[i]), "geometry", v, m, "warning") for i, _, v, m in w2
        ]
    return gdf, crs_in_name, reason, errs, warns
