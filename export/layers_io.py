"""Layer and table exports: GeoPackage, GeoJSON, zipped Shapefile, KML/KMZ, XLSX, CSV, HTML.

KML/KMZ (奥维, Google Earth) hold one folder per layer and a style per kind and subtype in
the app's colours (:mod:`export.styles`). Layers are written in WGS84 unless ``to_crs``
names another system of the vocabulary (:mod:`export.crs_out`); GCJ-02/BD-09 files state
their system in the file name and InnoMap's marker, never in a false WGS84 definition.

Every export is written to a temporary file next to the target and moved into
place (:func:`layers.io_safe.atomic_write`): nothing existing is overwritten
without ``force`` and a failed export leaves no partial file. Text cells of
tables are neutralised against CSV/formula injection.
"""

from __future__ import annotations

import json
import re
import tempfile
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
from openpyxl import Workbook

import settings
from export.formats import LAYER_FORMATS, TABLE_FORMATS
from layers.errors import InnoMapError
from layers.io_safe import atomic_write
from layers.safe import neutralize_frame, safe_csv, sheet_name, xlsx_text

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


class ExportError(InnoMapError):
    """Raised for a bad format, name or encoding."""


def _prep(gdf: gpd.GeoDataFrame, *, need_crs: bool = True) -> gpd.GeoDataFrame:
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
    if out.crs is None and need_crs:
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


def _write_shp_zip(
    layers: dict[str, gpd.GeoDataFrame], tmp: Path, encoding: str, *, marker: dict | None = None
) -> None:
    """Shapefiles zipped; with ``marker`` (GCJ-02/BD-09: no ``.prj``) an ``innomap.json``."""
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        mapping_rows = []
        name_rows = []
        stems = safe_layer_names(layers)
        for lname, gdf in layers.items():
            g = _prep(gdf, need_crs=marker is None)
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
        if marker is not None:
            (folder / "innomap.json").write_text(
                json.dumps(marker, ensure_ascii=False, indent=1), encoding="utf-8"
            )
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(folder.iterdir()):
                zf.write(f, f.name)


def _layer_kind(name: str, gdf: gpd.GeoDataFrame, kinds: dict[str, str] | None) -> str:
    """The registry kind of a layer: given, else its name, else its ``kind`` column."""
    from layers.registry import REGISTRY

    if kinds and kinds.get(name):
        return kinds[name]
    if name in REGISTRY:
        return name
    if "kind" in gdf.columns and len(gdf):
        value = str(gdf["kind"].iloc[0])
        for key, spec in REGISTRY.items():
            if value in (key, spec.kind, spec.name_zh):
                return key
    return ""


def _marker(target: str, kind: str, name) -> dict:
    from layers.provenance import make_marker

    return make_marker(crs=target, kind=kind or None, source="export") | {"layer": _shown(name)}


def _write_gpkg(out: dict, tmp: Path, *, target: str, kinds: dict, mark: bool) -> None:
    """One GeoPackage 1.2 table per layer; ``mark``: InnoMap's marker as the description
    (GCJ-02/BD-09 always: the marker states the system, which has no EPSG code)."""
    tables = safe_layer_names(out)
    options = _gpkg_names(out, tables)
    for i, (name, g) in enumerate(out.items()):
        opts = dict(options[name])
        if mark:
            opts["DESCRIPTION"] = "innomap:" + json.dumps(
                _marker(target, kinds[name], name), ensure_ascii=False
            )
        g.to_file(
            tmp,
            layer=tables[name],
            driver="GPKG",
            mode="w" if i == 0 else "a",
            layer_options=opts,
            **({"dataset_options": {"VERSION": "1.2"}} if i == 0 else {}),
        )


def _write_geojson(out: dict, tmp: Path, *, name: str, marker: dict | None) -> None:
    """One FeatureCollection (a ``layer`` column tells layers apart); with ``marker`` (an
    offset system: no CRS definition) InnoMap's ``"innomap"`` member states the system."""
    parts = []
    for layer, g in out.items():
        g = g.copy()
        g["layer"] = _shown(layer)
        parts.append(g)
    crs = None if marker is not None else parts[0].crs
    one = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=crs)
    if marker is None:
        one.to_file(tmp, driver="GeoJSON", layer=name)
        return
    from layers.provenance import MARKER_KEY

    body = json.loads(one.to_json(drop_id=True, ensure_ascii=False, na="null"))
    doc = {MARKER_KEY: marker, "type": "FeatureCollection", "name": name}
    tmp.write_text(
        json.dumps(doc | {"features": body["features"]}, ensure_ascii=False),
        encoding="utf-8",
    )


def _check_request(layers: dict, fmt: str, encoding: str) -> None:
    if fmt not in LAYER_FORMATS:
        raise ExportError(
            f"不支持的图层格式 / unsupported layer format {fmt!r}: use {', '.join(LAYER_FORMATS)}"
        )
    if encoding.upper() not in ("UTF-8", "GBK", "GB18030"):
        raise ExportError(f"不支持的编码 / unsupported encoding {encoding!r}: use UTF-8 or GBK")
    if not layers:
        raise ExportError("没有要导出的图层 / no layers to export")


def write_layers(
    layers: dict[str, gpd.GeoDataFrame],
    path: str | Path,
    *,
    fmt: str,
    encoding: str = "UTF-8",
    force: bool = False,
    to_crs: str | None = None,
    kinds: dict[str, str] | None = None,
    mark: bool = False,
) -> Path:
    """Write one or more layers; returns the path written.

    ``gpkg``: one GeoPackage with one table per layer; ``geojson``: one FeatureCollection
    (a ``layer`` column tells layers apart); ``shp``: a zip with a shapefile per layer,
    ``.cpg`` files, ``field_names.csv`` and ``layer_names.csv`` (formulas neutralised);
    ``kml``/``kmz``: one folder per layer, a style (``StyleMap`` of a normal and a
    highlighted ``Style``) per kind and subtype in the app's colours, a hollow icon for
    points coarser than street level, attributes as ``ExtendedData`` (see
    :func:`write_kml`). Table and file names are made safe and unique
    (:func:`safe_layer_names`); the layer names themselves are kept (``layer`` column,
    GeoPackage identifier, ``layer_names.csv``, KML folder names). GeoJSON and KML
    name the document after ``path`` (never the temporary file).

    Parameters
    ----------
    to_crs : str, optional
        Target CRS (:func:`export.crs_out.resolve_target`; default WGS84). For GCJ-02 and
        BD-09 the file name gets the system (``x_GCJ-02.gpkg``) and InnoMap's marker is
        written (GeoPackage layer description, GeoJSON ``"innomap"`` member, the zip's
        ``innomap.json``); no CRS definition is written. KML/KMZ are WGS84 only.
    kinds : dict, optional
        ``{layer name: registry kind}`` for the styles and markers (default: guessed).
    mark : bool
        GeoPackage: InnoMap's marker (CRS, kind, the layer's name) as every table's
        description, also in WGS84 (GCJ-02/BD-09 always have it).

    GeoPackages are written as version 1.2, which every GDAL since 2.2 (QGIS 3.x) reads fully.

    Raises
    ------
    ExportError
        Bad format or encoding, no layers, KML/KMZ asked in another CRS.
    """
    from export.crs_out import OFFSET_SYSTEMS, marked_path, reproject, resolve_target

    _check_request(layers, fmt, encoding)
    wgs = {k: _prep(v).to_crs(4326) for k, v in layers.items()}
    target = resolve_target(to_crs, wgs)
    if fmt in ("kml", "kmz") and target.name != "WGS84":
        raise ExportError(
            f"KML/KMZ 只能是 WGS84 / KML and KMZ are always WGS84 (the KML standard defines "
            f"their coordinates as WGS84 longitude/latitude; 奥维 and Google Earth read them so), "
            f"so they cannot be written in {target.name}: export KML without --to-crs, or choose "
            "gpkg, geojson or shp for other coordinate systems"
        )
    offset = target.name in OFFSET_SYSTEMS
    path = marked_path(path, target)
    out = wgs if target.name == "WGS84" else {k: reproject(g, target) for k, g in wgs.items()}
    kinds = {name: _layer_kind(name, g, kinds) for name, g in wgs.items()}
    out_name = _safe_layer_name(Path(path).stem)

    def writer(tmp: Path) -> None:
        with warnings.catch_warnings():  # GCJ-02/BD-09 have no CRS definition, on purpose
            warnings.filterwarnings("ignore", message=".*crs.*not provided", category=UserWarning)
            write(tmp)

    def write(tmp: Path) -> None:
        if fmt == "gpkg":
            _write_gpkg(out, tmp, target=target.name, kinds=kinds, mark=offset or mark)
        elif fmt == "geojson":
            marker = None
            if offset:
                marker = _marker(target.name, "", Path(path).stem)
                marker["kinds"] = {_shown(n): k for n, k in kinds.items() if k}
            _write_geojson(out, tmp, name=out_name, marker=marker)
        elif fmt == "shp":
            marker = None
            if offset:
                marker = _marker(target.name, "", Path(path).stem)
                marker["kinds"] = {_shown(n): k for n, k in kinds.items() if k}
            _write_shp_zip(out, tmp, encoding.upper(), marker=marker)
        else:
            write_kml(out, tmp, document=out_name, kinds=kinds, kmz=fmt == "kmz")

    return atomic_write(path, writer, force=force)


#: KML's namespace.
KML_NS = "http://www.opengis.net/kml/2.2"
#: The icon of points (a filled circle, tinted by IconStyle's colour) and of imprecise
#: points (a ring) — Google Earth's standard shapes, which 奥维 also draws.
KML_ICON = "http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png"
KML_ICON_HOLLOW = "http://maps.google.com/mapfiles/kml/shapes/donut.png"


def _kml_color(hex_color: str, alpha: float = 1.0) -> str:
    """``#rrggbb`` as KML's ``aabbggrr``."""
    h = hex_color.lstrip("#")
    return f"{round(alpha * 255):02x}{h[4:6]}{h[2:4]}{h[0:2]}"


def _kml_coords(coords) -> str:
    return " ".join(f"{x:.7f},{y:.7f}" for x, y, *_ in coords)


def _kml_geometry(parent, geom) -> None:
    from lxml import etree

    def sub(el, tag, text=None):
        e = etree.SubElement(el, f"{{{KML_NS}}}{tag}")
        if text is not None:
            e.text = text
        return e

    if geom is None or geom.is_empty:
        return
    t = geom.geom_type
    if t == "Point":
        sub(sub(parent, "Point"), "coordinates", _kml_coords([geom.coords[0]]))
    elif t == "LineString":
        line = sub(parent, "LineString")
        sub(line, "tessellate", "1")
        sub(line, "coordinates", _kml_coords(geom.coords))
    elif t == "Polygon":
        poly = sub(parent, "Polygon")
        sub(poly, "tessellate", "1")
        ring = sub(sub(poly, "outerBoundaryIs"), "LinearRing")
        sub(ring, "coordinates", _kml_coords(geom.exterior.coords))
        for hole in geom.interiors:
            ring = sub(sub(poly, "innerBoundaryIs"), "LinearRing")
            sub(ring, "coordinates", _kml_coords(hole.coords))
    else:  # Multi* and collections
        multi = sub(parent, "MultiGeometry")
        for part in geom.geoms:
            _kml_geometry(multi, part)


#: Point layers with more rows than this show their names only when highlighted (KML).
KML_LABEL_ALL_MAX_ROWS = settings.LABEL_ALL_MAX_ROWS


def _kml_styles(doc, style_id: str, sym, *, hollow: bool = False, names: bool = True) -> None:
    """``Style`` normal + highlight and the ``StyleMap`` pairing them, for one class
    (``names``: point names shown always, else only when highlighted)."""
    from lxml import etree

    def sub(el, tag, text=None):
        e = etree.SubElement(el, f"{{{KML_NS}}}{tag}")
        if text is not None:
            e.text = text
        return e

    for variant, scale in (("n", 1.0), ("h", 1.3)):
        st = sub(doc, "Style", None)
        st.set("id", f"{style_id}_{variant}")
        if sym.geometry == "point":
            icon = sub(st, "IconStyle")
            sub(icon, "color", _kml_color(sym.color))
            sub(icon, "scale", f"{0.8 * scale:g}")
            sub(sub(icon, "Icon"), "href", KML_ICON_HOLLOW if hollow else KML_ICON)
            sub(sub(st, "LabelStyle"), "scale", "0.8" if variant == "h" or names else "0")
        else:
            line = sub(st, "LineStyle")
            sub(line, "color", _kml_color(sym.color))
            width = {"corridor_axes": 3.0, "zones": 2.0}.get(sym.key, 1.5)
            sub(line, "width", f"{width * scale:g}")
            if sym.geometry == "polygon":
                poly = sub(st, "PolyStyle")
                fill = sym.key != "districts"
                sub(poly, "color", _kml_color(sym.color, 0.2 if fill else 0.0))
                sub(poly, "fill", "1" if fill else "0")
                sub(poly, "outline", "1")
            sub(sub(st, "LabelStyle"), "scale", "0.9")
    sm = sub(doc, "StyleMap")
    sm.set("id", style_id)
    for key, variant in (("normal", "n"), ("highlight", "h")):
        pair = sub(sm, "Pair")
        sub(pair, "key", key)
        sub(pair, "styleUrl", f"#{style_id}_{variant}")


def _kml_value(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, (bool,)) or type(v).__name__ == "bool_":
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return _xml_text(str(v))


def write_kml(
    layers: dict[str, gpd.GeoDataFrame],
    path: str | Path,
    *,
    document: str,
    kinds: dict[str, str] | None = None,
    kmz: bool = False,
) -> None:
    """Write WGS84 ``layers`` as KML (or KMZ: ``doc.kml`` zipped) for 奥维 and Google Earth.

    One ``Folder`` per layer (named as the layer), one ``StyleMap`` per kind and subtype
    (:func:`export.styles.layer_symbols`: ``IconStyle`` colour for points — a ring icon
    for points coarser than street level —, ``LineStyle``/``PolyStyle`` for zones,
    districts and axes), placemarks named by their ``name`` (else ``id``) with every
    other column as ``ExtendedData``/``Data`` (names made XML-safe,
    :func:`kml_field_names`; text XML 1.0 cannot hold shown as control pictures).
    """
    from lxml import etree

    from export.styles import imprecise_mask, layer_symbols

    kinds = kinds or {}

    def sub(el, tag, text=None):
        e = etree.SubElement(el, f"{{{KML_NS}}}{tag}")
        if text is not None:
            e.text = text
        return e

    root = etree.Element(f"{{{KML_NS}}}kml", nsmap={None: KML_NS})
    doc = sub(root, "Document")
    sub(doc, "name", _xml_text(_shown(document)))
    sub(doc, "open", "1")
    folders = []
    for li, (name, g) in enumerate(layers.items()):
        g = g.to_crs(4326)
        kind = _layer_kind(name, g, kinds)
        symbols = layer_symbols(kind, g)
        hollow = imprecise_mask(g).to_numpy() & g.geom_type.eq("Point").to_numpy()
        if any(s.value is not None for s in symbols):  # classes by subtype
            sub_values = g["subtype"].astype(object).where(g["subtype"].notna(), None)
            index = {s.value: i for i, s in enumerate(symbols) if s.value is not None}
            other = next((i for i, s in enumerate(symbols) if s.value is None), 0)
            style_of = [index.get(v, other) for v in sub_values]
        else:
            style_of = [0] * len(g)
        used = sorted({(i, bool(h)) for i, h in zip(style_of, hollow, strict=True)})
        ids = {}
        for i, h in used:
            sid = f"l{li}_{re.sub(r'[^A-Za-z0-9_]', '_', symbols[i].key)}" + (
                "_approx" if h else ""
            )
            ids[(i, h)] = sid
            _kml_styles(doc, sid, symbols[i], hollow=h, names=len(g) <= KML_LABEL_ALL_MAX_ROWS)
        folders.append((name, g, style_of, hollow, ids, symbols))
    for name, g, style_of, hollow, ids, _symbols in folders:
        folder = sub(doc, "Folder")
        sub(folder, "name", _xml_text(_shown(name)))
        cols = [c for c in g.columns if c not in (g.geometry.name, "name", "layer")]
        fields = kml_field_names(cols)
        names = g["name"] if "name" in g.columns else g.get("id", pd.Series(g.index, index=g.index))
        for r, (row, label) in enumerate(zip(g.itertuples(index=False), names, strict=True)):
            pm = sub(folder, "Placemark")
            sub(pm, "name", _kml_value(label))
            sub(pm, "styleUrl", f"#{ids[(style_of[r], bool(hollow[r]))]}")
            rec = dict(zip(g.columns, row, strict=True))
            data = sub(pm, "ExtendedData")
            for c in cols:
                d = sub(data, "Data")
                d.set("name", fields[c])
                sub(d, "value", _kml_value(rec[c]))
            _kml_geometry(pm, g.geometry.iloc[r])
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    if not kmz:
        Path(path).write_bytes(body)
        return
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", body)  # KMZ: the first .kml entry is the document


_XML_NONCHARS = re.compile(r"[\ufffe\uffff\ud800-\udfff]")


def _xml_text(v):
    """Text XML 1.0 can hold (KML): control characters as pictures, non-characters as U+FFFD."""
    if isinstance(v, str):
        return _XML_NONCHARS.sub("\ufffd", xlsx_text(v))
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
            ws = wb.create_sheet(sheet_name(name, used))
            ws.append([xlsx_text(str(c)) for c in df.columns])
            for row in df.itertuples(index=False):
                ws.append(
                    [None if (isinstance(v, float) and pd.isna(v)) else xlsx_text(v) for v in row]
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
        written = write_fn(*args, p, **kwargs)  # a layer file may be renamed (x_GCJ-02.gpkg)
        return (written if isinstance(written, Path) else p).read_bytes()
