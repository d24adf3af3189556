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
import tempfile
import unicodedata
import zipfile
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
from layers.errors import InnoMapError
from layers.registry import REGISTRY, get_spec, normalise_columns
from layers.safe import escape_html, truncate
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


class ImportFileError(InnoMapError):
    """The file cannot be read at all; the message names the file and the fix."""


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
        if b"<kml" not in head[:4096] and b"<?xml" not in head[:100]:
            raise ImportFileError(f"{path.name}: 不是 KML / not a KML file")
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
def _decode_csv(path: Path, encoding: str | None) -> tuple[str, str]:
    raw = path.read_bytes()
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise ImportFileError(
                f"{path.name}: 无法按 {encoding} 解码 / cannot decode as {encoding} ({type(exc).__name__}): "
                "try UTF-8 or GBK"
            ) from None
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8", errors="strict"), "UTF-8 (BOM)"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "UTF-16 (BOM)"
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), "GBK/GB18030"
    except UnicodeDecodeError:
        raise ImportFileError(
            f"{path.name}: 无法识别编码 / cannot detect the encoding (not UTF-8, GBK or UTF-16): "
            "re-save as CSV UTF-8"
        ) from None


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
def inspect_file(path: str | Path) -> dict:
    """Format, available sheets/layers and a guessed encoding, without importing."""
    p = Path(path)
    if not p.exists():
        raise ImportFileError(f"{p.name}: 文件不存在 / file not found")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise ImportFileError(f"{p.name}: 文件过大 / file larger than {MAX_FILE_BYTES // 2**20} MB")
    fmt = _format_of(p)
    available: list[str] = []
    try:
        if fmt == "xlsx":
            from openpyxl import load_workbook

            wb = load_workbook(p, read_only=True)
            available = list(wb.sheetnames)
            wb.close()
        elif fmt in ("gpkg", "kml", "geojson"):
            import pyogrio

            available = [str(x) for x in pyogrio.list_layers(p)[:, 0]]
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
        raise ImportFileError(
            f"{p.name}: 无法读取 / cannot read the file ({type(exc).__name__})"
        ) from None
    return {"file": p.name, "format": fmt, "available": available}


def _read_table(
    p: Path, fmt: str, opts: ImportOptions
) -> tuple[pd.DataFrame, str | None, str | None, list[str]]:
    if fmt == "csv":
        text, enc = _decode_csv(p, opts.encoding)
        import io

        try:
            df = (
                pd.read_csv(
                    io.StringIO(text), dtype=str, keep_default_na=False, sep=None, engine="python"
                )
                if len(text) < 200_000
                else pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
            raise ImportFileError(
                f"{p.name}: CSV 格式错误 / malformed CSV ({type(exc).__name__}): check delimiters and quotes"
            ) from None
        return df, enc, None, []
    from openpyxl import load_workbook

    try:
        wb = load_workbook(p, read_only=True, data_only=True)
        sheets = list(wb.sheetnames)
        sheet = opts.sheet or sheets[0]
        if sheet not in sheets:
            raise ImportFileError(
                f"{p.name}: 没有工作表 {sheet!r} / no sheet {sheet!r}: choose one of {', '.join(sheets)}"
            )
        rows = list(wb[sheet].iter_rows(values_only=True))
        wb.close()
    except ImportFileError:
        raise
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise ImportFileError(
            f"{p.name}: 无法读取 XLSX / cannot read the workbook ({type(exc).__name__})"
        ) from None
    if not rows:
        raise ImportFileError(f"{p.name} [{sheet}]: 工作表为空 / the sheet is empty")
    header = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(rows[0])]
    body = [["" if v is None else str(v) for v in r] for r in rows[1:]]
    df = pd.DataFrame(body, columns=header, dtype=str)
    return df, None, sheet, sheets


def _read_geo(
    p: Path, fmt: str, opts: ImportOptions
) -> tuple[gpd.GeoDataFrame, str | None, str | None, list[str]]:
    import pyogrio

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
                        f"{p.name}: 没有图层 {layer!r} / no shapefile {layer!r}: choose one of {', '.join(available)}"
                    )
                stem = layer[:-4]
                members = {n.lower(): n for n in zf.namelist()}
                for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                    m = members.get((stem + ext).lower())
                    if m:
                        _extract(zf, m, work, "layer" + ext)
                if not (work / "layer.dbf").exists() or not (work / "layer.shx").exists():
                    raise ImportFileError(
                        f"{p.name}: {layer} 缺少 .dbf 或 .shx / the shapefile lacks .dbf or .shx"
                    )
                if opts.encoding:
                    encoding = opts.encoding
                elif (work / "layer.cpg").exists():
                    encoding = (work / "layer.cpg").read_text(errors="replace").strip() or "UTF-8"
                else:
                    encoding = _sniff_dbf_encoding(work / "layer.dbf") + " (sniffed, no .cpg)"
                target = work / "layer.shp"
                read_kwargs = {"encoding": encoding.split(" ")[0]}
                layer_name = None
            else:
                kml = next(n for n in zf.namelist() if n.lower().endswith(".kml"))
                target = _extract(zf, kml, work, "doc.kml")
                read_kwargs = {}
                available = [str(x) for x in pyogrio.list_layers(target)[:, 0]]
                layer_name = layer or (available[0] if available else None)
        else:
            target = p
            read_kwargs = {}
            available = [str(x) for x in pyogrio.list_layers(p)[:, 0]]
            if layer and layer not in available:
                raise ImportFileError(
                    f"{p.name}: 没有图层 {layer!r} / no layer {layer!r}: choose one of {', '.join(available)}"
                )
            layer_name = layer or (available[0] if available else None)
            layer = layer_name
        gdf = pyogrio.read_dataframe(target, layer=layer_name, **read_kwargs)
    return gdf, encoding, layer, available


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


def _n(s: str) -> str:
    return unicodedata.normalize("NFKC", str(s)).strip().lower().replace(" ", "")


def map_vocabulary(values: pd.Series, layer_key: str) -> tuple[pd.Series, pd.Series]:
    """Map free-text type spellings to (subtype, level) of ``layer_key``'s vocabulary."""
    spec = get_spec(layer_key)
    sub_out, lvl_out = [], []
    for v in pd.Series(values, dtype=object).fillna("").astype(str):
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
    return pd.Series(sub_out, index=values.index), pd.Series(lvl_out, index=values.index)


def _issue(file, where, row, field_, value, message, severity="error") -> ValidationIssue:
    return ValidationIssue(
        f"{file}" + (f" [{where}]" if where else ""),
        row,
        field_,
        escape_html(truncate(value, max_chars=60)),
        message,
        severity,
    )


def import_file(path: str | Path, options: ImportOptions | None = None) -> ImportReport:
    """Import a file into a layer's canonical schema (WGS84).

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
            f"未知或不可导入的图层类别 / unknown layer kind {opts.kind!r}: use one of "
            f"{', '.join(k for k, s in REGISTRY.items() if s.geometry in ('point', 'polygon'))}"
        )
    spec = get_spec(opts.kind)
    info = inspect_file(p)
    fmt = info["format"]
    try:
        if fmt in ("csv", "xlsx"):
            df, encoding, where, available = _read_table(p, fmt, opts)
            gdf, crs_in, crs_reason, errs, warns, coord_cols = _points_from_table(
                df, p.name, where, opts
            )
            first_row = 2
        else:
            gdf, encoding, where, available = _read_geo(p, fmt, opts)
            gdf, crs_in, crs_reason, errs, warns = _normalise_geo(gdf, p.name, where, opts)
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
            first_row = 1
    except (ImportFileError, CoordinateError):
        raise
    except Exception as exc:  # any library failure on corrupt input: a clean error
        raise ImportFileError(
            f"{p.name}: 无法读取 / cannot read the file ({type(exc).__name__}: {truncate(str(exc), max_chars=120)})"
        ) from None
    total = len(gdf)
    raw_cols = [c for c in gdf.columns if c != "geometry"]
    gdf, _ = _map_columns(gdf)
    if "id" not in gdf.columns:
        gdf["id"] = [f"R{i + first_row}" for i in range(total)]
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
    gdf["id"] = gdf["id"].astype(str).str.strip()
    if "name" not in gdf.columns:
        raise ImportFileError(
            f"{p.name}: 没有名称列 / no name column: add one of {', '.join(FIELD_ALIASES['name'][:6])}"
        )
    if "subtype" in gdf.columns:
        raw_type = gdf["subtype"].copy()
        sub, lvl = map_vocabulary(raw_type, opts.kind)
        gdf["subtype"] = sub
        if "level" not in gdf.columns:
            gdf["level"] = lvl.fillna("")
        else:
            gdf["level"] = (
                gdf["level"].astype(str).map(lambda v: LEVEL_WORDS.get(_n(v), v) if v else v)
            )
            gdf["level"] = gdf["level"].where(gdf["level"] != "", lvl.fillna(""))
    elif "level" in gdf.columns:
        gdf["level"] = gdf["level"].astype(str).map(lambda v: LEVEL_WORDS.get(_n(v), v) if v else v)
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
    gdf = gpd.GeoDataFrame(normalise_columns(gdf, spec), geometry="geometry", crs=4326)
    issues = validate_layer(
        gdf, spec, file=p.name + (f" [{where}]" if where else ""), first_row=first_row
    )
    # coordinate problems were found while parsing; validation would repeat them
    coord_rows = {e.row for e in errs}
    all_errors = errs + [
        i
        for i in issues
        if i.severity == "error"
        and not (i.field in ("geometry", "lon/lat") and i.row in coord_rows)
    ]
    bad_rows = sorted({i.row - first_row for i in all_errors if i.row is not None})
    rejected = pd.DataFrame(gdf.drop(columns="geometry").iloc[bad_rows]).copy()
    rejected.insert(0, "row", [r + first_row for r in bad_rows])
    rejected["reason"] = [
        "; ".join(f"{i.field}: {i.message}" for i in all_errors if i.row == r + first_row)
        for r in bad_rows
    ]
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
        errors=sorted(all_errors, key=lambda i: i.row or 0),
        warnings=warns,
    )


def _points_from_table(df: pd.DataFrame, file: str, where, opts: ImportOptions):
    lon_col, lat_col, pair = detect_coordinate_columns(df.columns)
    lon_col, lat_col = opts.lon_col or lon_col, opts.lat_col or lat_col
    for c in (opts.lon_col, opts.lat_col):
        if c and c not in df.columns:
            raise ImportFileError(
                f"{file}: 没有列 {c!r} / no column {c!r}: choose one of {', '.join(map(str, df.columns))}"
            )
    if lon_col and lat_col:
        xs, ys = df[lon_col], df[lat_col]
        cols = (lon_col, lat_col)
    elif pair:
        xs, ys = split_pair(df[pair])
        cols = (pair, pair)
    else:
        raise ImportFileError(
            f"{file}: 找不到坐标列 / no coordinate columns found among {', '.join(map(str, df.columns))}: "
            "name them 经度/纬度 (or lng/lat, x/y) or choose them"
        )
    raw_x = parse_coordinate_series(xs)
    raw_y = parse_coordinate_series(ys)
    hints = " ".join(map(str, df.columns)) + " " + file
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
                    int(i) + 2,
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
        _issue(file, where, i + 2, f"{cols[0]}/{cols[1]}" if cols[0] != cols[1] else cols[0], v, m)
        for i, _, v, m in err_rows
    ]
    warns += [
        _issue(file, where, i + 2, f"{cols[0]}/{cols[1]}", v, m, "warning")
        for i, _, v, m in warn_rows
    ]
    bad = {e.row - 2 for e in errs}
    geom_ok = np.array([i not in bad for i in range(len(df))]) & np.isfinite(lon) & np.isfinite(lat)
    geoms = shapely.points(np.where(geom_ok, lon, 0.0), np.where(geom_ok, lat, 0.0))
    geoms = np.where(geom_ok, geoms, None)
    out = df.drop(columns=[c for c in {cols[0], cols[1]} if c in df.columns])
    gdf = gpd.GeoDataFrame(out, geometry=list(geoms), crs=4326)
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
            errs.append(_issue(file, where, i + 1, "geometry", "", "几何为空 / empty geometry"))
            continue
        if not g.is_valid:
            reason_txt = shapely.is_valid_reason(g)
            if opts.repair_geometry:
                geoms[i] = shapely.make_valid(g)
                warns.append(
                    _issue(
                        file,
                        where,
                        i + 1,
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
                        i + 1,
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
        errs += [
            _issue(file, where, i + 1, "geometry", v, m) for i, _, v, m in e2 if i + 1 not in seen
        ]
        warns += [_issue(file, where, i + 1, "geometry", v, m, "warning") for i, _, v, m in w2]
    return gdf, crs_in_name, reason, errs, warns
