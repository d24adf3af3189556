"""Layer and table exports: GeoPackage, GeoJSON, zipped Shapefile, KML, XLSX, CSV, HTML.

Every export is written to a temporary file next to the target and moved into
place (:func:`layers.io_safe.atomic_write`): nothing existing is overwritten
without ``force`` and a failed export leaves no partial file. Text cells of
tables are neutralised against CSV/formula injection.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
from openpyxl import Workbook

from layers.errors import InnoMapError
from layers.io_safe import atomic_write
from layers.safe import neutralize_frame, safe_csv

__all__ = [
    "LAYER_FORMATS",
    "TABLE_FORMATS",
    "ExportError",
    "kml_field_names",
    "safe_layer_names",
    "shapefile_field_names",
    "to_bytes",
    "write_layers",
    "write_tables",
]

LAYER_FORMATS = ("gpkg", "geojson", "shp", "kml")
TABLE_FORMATS = ("xlsx", "csv")


class ExportError(InnoMapError):
    """Raised for a bad format, name or encoding."""


def _prep(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for c in out.columns:
        if c == out.geometry.name:
            continue
        if out[c].map(lambda v: isinstance(v, (dict, list, tuple, set))).any():
            out[c] = out[c].map(lambda v: str(v) if isinstance(v, (dict, list, tuple, set)) else v)
        if str(out[c].dtype) in ("object", "str", "string"):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
            # C libraries end strings at NUL: show it (U+2400) instead of cutting the text
            out[c] = out[c].map(lambda v: v.replace("\x00", "\u2400") if isinstance(v, str) else v)
    if out.crs is None:
        raise ExportError("图层缺少坐标系 / a layer has no CRS: set it before export")
    return out


def _safe_layer_name(name: str) -> str:
    """A name GDAL, SQLite, file systems and zip readers all take as it is: letters (any
    script), digits, ``_`` and ``-`` only (``'``, ``;``, ``/``, ``..``, spaces, controls
    become ``_``), at most 60 characters, not empty, not a reserved GeoPackage prefix."""
    n = re.sub(r"[^\w-]", "_", str(name), flags=re.UNICODE).strip("_-")[:60].strip("_-")
    if not n or n.casefold().startswith(("gpkg", "rtree", "sqlite")):
        n = f"layer_{n}"[:60] if n else "layer"
    return n


def safe_layer_names(names) -> dict[str, str]:
    """Map layer names to unique :func:`_safe_layer_name` names (``_2``, ``_3``… on a clash,
    compared without case), so no two layers share a table or a file and none is lost.

    The original names are kept by each format: the ``layer`` attribute (GeoJSON, KML), the
    GeoPackage ``gpkg_contents.description`` (and identifier), the zip's ``layer_names.csv`` (Shapefile).
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = _safe_layer_name(name)
        n, i = base, 1
        while n.casefold() in used:
            i += 1
            n = f"{base[:55]}_{i}"
        used.add(n.casefold())
        out[name] = n
    return out


def _shown(name) -> str:
    """A layer name as kept in the output: C strings end at NUL, shown as U+2400."""
    return str(name).replace("\x00", "\u2400")


def _gpkg_names(names, tables: dict[str, str]) -> dict[str, dict[str, str]]:
    """GeoPackage layer options keeping each layer's name: ``DESCRIPTION`` the name as typed,
    ``IDENTIFIER`` the same unless it clashes (GDAL compares identifiers without case) —
    then followed by the table's name. C strings end at NUL: shown as U+2400."""
    out: dict[str, dict[str, str]] = {}
    seen: set[str] = set()
    for name in names:
        text = _shown(name)
        ident = text if text.casefold() not in seen else f"{text} ({tables[name]})"
        seen.update((text.casefold(), ident.casefold()))
        out[name] = {"IDENTIFIER": ident, "DESCRIPTION": text}
    return out


def kml_field_names(columns: list[str]) -> dict[str, str]:
    """Map column names to names safe in KML ``<SimpleField name="…">`` (GDAL writes them raw).

    Letters (any script), digits, ``_``, ``-``, ``.`` and spaces are kept; every
    other character (quotes, ``< > &``, ``]]>``, control characters) becomes ``_``;
    names are made unique. Unchanged names map to themselves.
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        name = re.sub(r"[^\w\-. ]", "_", str(col)).strip() or "field"
        base, i = name, 1
        while name.casefold() in used:
            i += 1
            name = f"{base}_{i}"
        used.add(name.casefold())
        out[col] = name
    return out


def shapefile_field_names(columns: list[str], *, encoding: str = "UTF-8") -> dict[str, str]:
    """Map field names to unique names of at most 10 bytes in ``encoding`` (dBASE limit)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        name = col
        while len(name.encode(encoding, errors="replace")) > 10:
            name = name[:-1]
        base, i = name, 1
        while name.upper() in used:
            suffix = f"_{i}"
            name = base
            while len((name + suffix).encode(encoding, errors="replace")) > 10:
                name = name[:-1]
            name += suffix
            i += 1
        used.add(name.upper())
        out[col] = name
    return out


def _write_shp_zip(layers: dict[str, gpd.GeoDataFrame], tmp: Path, encoding: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        mapping_rows = []
        name_rows = []
        stems = safe_layer_names(layers)
        for lname, gdf in layers.items():
            g = _prep(gdf)
            # a shapefile holds one geometry type: split mixed layers
            kinds = g.geometry.geom_type.str.replace("Multi", "", regex=False).fillna("None")
            for kind, part in g.groupby(kinds):
                stem = stems[lname] + ("" if kinds.nunique() == 1 else f"_{kind.lower()}")
                name_rows.append({"file": f"{stem}.shp", "layer": _shown(lname), "rows": len(part)})
                cols = [c for c in part.columns if c != part.geometry.name]
                names = shapefile_field_names(cols, encoding=encoding)
                mapping_rows += [
                    {"layer": stem, "field": c, "shapefile_field": n} for c, n in names.items()
                ]
                part.rename(columns=names).to_file(
                    folder / f"{stem}.shp", driver="ESRI Shapefile", encoding=encoding
                )
                (folder / f"{stem}.cpg").write_text(encoding, encoding="ascii")
        safe_csv(pd.DataFrame(mapping_rows), folder / "field_names.csv")
        # the layers' own names (quotes, slashes, any script), as typed
        safe_csv(
            pd.DataFrame(name_rows, columns=["file", "layer", "rows"]), folder / "layer_names.csv"
        )
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(folder.iterdir()):
                zf.write(f, f.name)


def write_layers(
    layers: dict[str, gpd.GeoDataFrame],
    path: str | Path,
    *,
    fmt: str,
    encoding: str = "UTF-8",
    force: bool = False,
) -> Path:
    """Write one or more layers.

    ``gpkg``: one GeoPackage with one table per layer (WGS84); ``geojson``: one
    FeatureCollection (a ``layer`` column tells layers apart); ``shp``: a zip
    with a shapefile per layer, ``.cpg`` files, ``field_names.csv`` and ``layer_names.csv``
    (formulas neutralised); ``kml`` (field names made XML-safe, see :func:`kml_field_names`).
    Table and file names are made safe and unique (:func:`safe_layer_names`); the layer
    names themselves are kept (``layer`` column, GeoPackage identifier, ``layer_names.csv``).
    GeoJSON and KML name their one layer after ``path`` (never the temporary file).
    """
    if fmt not in LAYER_FORMATS:
        raise ExportError(
            f"不支持的图层格式 / unsupported layer format {fmt!r}: use {', '.join(LAYER_FORMATS)}"
        )
    if encoding.upper() not in ("UTF-8", "GBK", "GB18030"):
        raise ExportError(f"不支持的编码 / unsupported encoding {encoding!r}: use UTF-8 or GBK")
    if not layers:
        raise ExportError("没有要导出的图层 / no layers to export")
    wgs = {k: _prep(v).to_crs(4326) for k, v in layers.items()}
    out_name = _safe_layer_name(Path(path).stem)

    def writer(tmp: Path) -> None:
        if fmt == "gpkg":
            tables = safe_layer_names(wgs)
            options = _gpkg_names(wgs, tables)
            for i, (name, g) in enumerate(wgs.items()):
                g.to_file(
                    tmp,
                    layer=tables[name],
                    driver="GPKG",
                    mode="w" if i == 0 else "a",
                    layer_options=options[name],
                )
        elif fmt == "geojson":
            parts = []
            for name, g in wgs.items():
                g = g.copy()
                g["layer"] = _shown(name)
                parts.append(g)
            gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326).to_file(
                tmp, driver="GeoJSON", layer=out_name
            )
        elif fmt == "shp":
            _write_shp_zip(wgs, tmp, encoding.upper())
        else:
            parts = []
            for name, g in wgs.items():
                g = g.copy()
                g["layer"] = _shown(name)
                if "name" not in g:
                    g["name"] = g.get("id", g.index).astype(str)
                parts.append(g)
            kml = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)
            for c in kml.columns:  # GDAL writes characters XML 1.0 cannot hold raw
                if c != "geometry" and kml[c].dtype.kind not in "biufcmM":
                    kml[c] = kml[c].map(_xml_text)
            names = kml_field_names([c for c in kml.columns if c != "geometry"])
            kml.rename(columns=names).to_file(tmp, driver="KML", layer=out_name)

    return atomic_write(path, writer, force=force)


def _sheet_name(name: str, used: set[str]) -> str:
    # Excel: no []:*?/\ or controls, no ' at either end, at most 31 characters
    base = re.sub(r"[\[\]:*?/\\\x00-\x1f]", "_", str(name))[:31].strip("'") or "Sheet"
    n, i = base, 1
    while n.lower() in used:
        suffix = f"_{i}"
        n = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(n.lower())
    return n


#: Characters XML 1.0 (hence XLSX) cannot hold: shown as Unicode control pictures (U+2400…).
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


_XML_NONCHARS = re.compile(r"[\ufffe\uffff\ud800-\udfff]")


def _xml_text(v):
    """Text XML 1.0 can hold (KML): control characters as pictures, non-characters as U+FFFD."""
    if isinstance(v, str):
        return _XML_NONCHARS.sub("\ufffd", _xlsx_text(v))
    return v


def _xlsx_text(v):
    """Text that openpyxl can store: control characters become their visible pictures."""
    if isinstance(v, str) and _XML_ILLEGAL.search(v):
        return _XML_ILLEGAL.sub(lambda m: chr(0x2400 + ord(m.group())), v)
    return v


def _table_frame(df: pd.DataFrame) -> pd.DataFrame:
    return neutralize_frame(
        pd.DataFrame(df.drop(columns=[c for c in df.columns if c == "geometry"], errors="ignore"))
    )


def write_tables(
    tables: dict[str, pd.DataFrame], path: str | Path, *, fmt: str, force: bool = False
) -> Path:
    """Write tables: ``xlsx`` (one sheet per table, text cells never formulas) or ``csv``.

    CSV is UTF-8 with BOM so Excel opens Chinese correctly, with CRLF line ends
    and every field holding CR, LF or a quote quoted (:func:`layers.safe.safe_csv`);
    several tables go into one CSV with a ``table`` column.
    """
    if fmt not in TABLE_FORMATS:
        raise ExportError(f"不支持的表格格式 / unsupported table format {fmt!r}: use xlsx or csv")
    frames = {k: _table_frame(v) for k, v in tables.items()}

    def writer(tmp: Path) -> None:
        if fmt == "csv":
            if len(frames) == 1:
                df = next(iter(frames.values()))
            else:
                df = pd.concat([f.assign(table=k) for k, f in frames.items()], ignore_index=True)
            safe_csv(df, tmp)
            return
        wb = Workbook()
        wb.remove(wb.active)
        used: set[str] = set()
        for name, df in frames.items():
            ws = wb.create_sheet(_sheet_name(name, used))
            ws.append([_xlsx_text(str(c)) for c in df.columns])
            for row in df.itertuples(index=False):
                ws.append(
                    [None if (isinstance(v, float) and pd.isna(v)) else _xlsx_text(v) for v in row]
                )
            for r in ws.iter_rows(min_row=1):
                for cell in r:
                    if isinstance(cell.value, str):
                        cell.data_type = "s"  # text, never a formula
        wb.save(tmp)

    return atomic_write(path, writer, force=force)


def to_bytes(write_fn, suffix: str, *args, **kwargs) -> bytes:
    """Run a writer into a temporary file and return the bytes (for downloads)."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"out{suffix}"
        write_fn(*args, p, **kwargs)
        return p.read_bytes()
