"""A QGIS project of an InnoMap project, written without QGIS: ``.qgz`` beside a GeoPackage.

Institutes finish their cartography in QGIS. :func:`write_qgis_project` writes

* ``NAME.gpkg`` — every layer of the project (WGS84, one table per layer, GeoPackage
  1.2 so QGIS 3.22's GDAL reads it fully; each table's description is InnoMap's
  marker with the layer's kind, :mod:`layers.provenance`);
* ``NAME.qgz`` — a zip holding ``NAME.qgs``, the project's plain XML (QGIS 3.22 and
  later read it): the project's metric CRS, one layer per project layer with a
  relative data source (``./NAME.gpkg|layername=…``), the app's symbology
  (:mod:`export.styles`: a categorized renderer by subtype for resource points, with a
  hollow class for points coarser than ``settings.STREET_LEVEL_PRECISION_M``; the
  print maps' outline styles for districts, zones and corridor axes), labels of the
  names, and an A4 landscape print layout with title, map, legend, scale bar, north
  arrow and a sources/CRS note.

The XML follows what QGIS 3.22 itself writes (element and attribute names), keeping
only what a reader needs; QGIS fills in its defaults for the rest.
"""

from __future__ import annotations

import io
import json
import math
import re
import tempfile
import uuid
import warnings
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
from lxml import etree
from pyproj import CRS, Transformer

import settings
from export.styles import imprecise_mask, kind_color, layer_symbols
from layers.errors import InnoMapError
from layers.project import OUTLINE_KINDS, Project
from layers.registry import REGISTRY
from settings import STREET_LEVEL_PRECISION_M

__all__ = ["QgisExport", "qgis_zip", "write_qgis_project"]

#: Fonts asked for labels and layout text (QGIS takes the first one installed).
FONT_FAMILIES = (
    "Noto Sans SC",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "SimHei",
)
#: Point layers with more rows than this label their names only when zoomed in.
LABEL_ALL_MAX_ROWS = settings.LABEL_ALL_MAX_ROWS
#: Largest scale denominator at which the names of a large point layer are shown.
LABEL_ZOOMED_SCALE = 25_000
_QGIS_VERSION = "3.22.16-Białowieża"
#: Layout item types (QgsLayoutItemRegistry).
_PAGE, _MAP, _PICTURE, _LABEL, _LEGEND, _SCALEBAR = 65638, 65639, 65640, 65641, 65642, 65646
_NORTH_ARROW = ":/images/north_arrows/layout_default_north_arrow.svg"
_APPROX = "|近似"


@dataclass
class QgisExport:
    """What :func:`write_qgis_project` wrote.

    Attributes
    ----------
    project_file, data_file : pathlib.Path
    layers : dict
        ``{layer name: {"table", "kind", "rows", "categories"}}`` in drawing order (top first).
    crs : str
        The project CRS (``EPSG:n``).
    """

    project_file: Path
    data_file: Path
    layers: dict[str, dict]
    crs: str


def _safe_stem(name: str) -> str:
    s = re.sub(r"[^\w-]", "_", str(name), flags=re.UNICODE).strip("_-")[:60]
    return s or "innomap"


def _rgba(hex_color: str, alpha: int = 255) -> str:
    h = hex_color.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def _el(parent, tag: str, text: str | None = None, **attrs):
    e = etree.SubElement(parent, tag) if parent is not None else etree.Element(tag)
    for k, v in attrs.items():
        e.set(k.rstrip("_"), str(v))
    if text is not None:
        e.text = str(text)
    return e


def _spatialrefsys(parent, crs: CRS) -> None:
    srs = _el(parent, "spatialrefsys")
    epsg = crs.to_epsg()
    _el(srs, "wkt", crs.to_wkt("WKT2_2019"))
    with warnings.catch_warnings():  # PROJ strings are lossy; the WKT above is what counts
        warnings.simplefilter("ignore", UserWarning)
        _el(srs, "proj4", crs.to_proj4())
    _el(srs, "srid", epsg or 0)
    _el(srs, "authid", f"EPSG:{epsg}" if epsg else "")
    _el(srs, "description", crs.name)
    _el(srs, "geographicflag", "true" if crs.is_geographic else "false")


def _options(parent, props: dict) -> None:
    """A symbol layer's properties, as QGIS 3.22 writes them (``Option`` map and ``prop``)."""
    opt = _el(parent, "Option", type="Map")
    for k, v in props.items():
        _el(opt, "Option", value=v, name=k, type="QString")
    for k, v in props.items():
        _el(parent, "prop", k=k, v=v)


def _symbol(parent, name: str, geometry: str, props: dict) -> None:
    stype, cls = {
        "point": ("marker", "SimpleMarker"),
        "line": ("line", "SimpleLine"),
        "polygon": ("fill", "SimpleFill"),
    }[geometry]
    sym = _el(parent, "symbol", name=name, type=stype, alpha="1", clip_to_extent="1", force_rhr="0")
    layer = _el(sym, "layer", class_=cls, enabled="1", pass_="0", locked="0")
    _options(layer, props)


def _point_props(color: str, size_mm: float, *, hollow: bool = False) -> dict:
    return {
        "name": "circle",
        "color": "0,0,0,0" if hollow else _rgba(color),
        "outline_color": _rgba(color) if hollow else "255,255,255,255",
        "outline_style": "solid",
        "outline_width": "0.45" if hollow else "0.15",
        "outline_width_unit": "MM",
        "size": f"{size_mm:g}",
        "size_unit": "MM",
        "scale_method": "diameter",
    }


#: Marker size (mm) per kind, echoing the print maps' sizes.
_POINT_MM = {
    "enterprises": 1.4,
    "communities": 1.8,
    "science_venues": 2.2,
    "incubators": 3.0,
    "universities": 3.4,
    "platforms": 3.0,
}


def _outline_props(kind: str) -> tuple[str, dict]:
    color = kind_color(kind)
    if kind == "districts":
        return "polygon", {
            "color": "0,0,0,0",
            "style": "no",
            "outline_color": _rgba(color),
            "outline_style": "solid",
            "outline_width": "0.4",
            "outline_width_unit": "MM",
        }
    if kind == "zones":
        return "polygon", {
            "color": _rgba(color, 31),
            "style": "solid",
            "outline_color": _rgba(color),
            "outline_style": "dash",
            "outline_width": "0.5",
            "outline_width_unit": "MM",
        }
    return "line", {
        "line_color": _rgba(color),
        "line_style": "dash",
        "line_width": "0.8",
        "line_width_unit": "MM",
        "capstyle": "round",
    }


def _renderer(maplayer, kind: str, gdf: gpd.GeoDataFrame) -> list[dict]:
    """The layer's ``renderer-v2``; returns its categories (``[]`` for a single symbol)."""
    if kind in OUTLINE_KINDS or kind not in REGISTRY:
        geometry, props = (
            _outline_props(kind)
            if kind in OUTLINE_KINDS
            else ("point", _point_props(kind_color(kind), 2.0))
        )
        r = _el(maplayer, "renderer-v2", type="singleSymbol", symbollevels="0", forceraster="0")
        _symbol(_el(r, "symbols"), "0", geometry, props)
        return []
    size = _POINT_MM.get(kind, 2.0)
    symbols = layer_symbols(kind, gdf)
    hollow = imprecise_mask(gdf).to_numpy() & gdf.geom_type.eq("Point").to_numpy()
    subtypes = gdf["subtype"].astype(object) if "subtype" in gdf else None
    named = [s.value for s in symbols if s.value is not None]
    cats: list[dict] = []
    for sym in symbols:
        if sym.value is None:  # QGIS: a category of value "" takes all other values
            n = int((~subtypes.isin(named)).sum()) if subtypes is not None else len(gdf)
            cats.append(
                {"value": "", "label": sym.label, "color": sym.color, "hollow": False, "rows": n}
            )
            continue
        rows = (subtypes == sym.value).to_numpy()
        for is_hollow in (False, True):
            n = int((rows & (hollow == is_hollow)).sum())
            if n == 0:
                continue
            label = sym.label + (
                f" (近似位置 >{STREET_LEVEL_PRECISION_M:g} 米)" if is_hollow else ""
            )
            value = sym.value + (_APPROX if is_hollow else "")
            cats.append(
                {"value": value, "label": label, "color": sym.color, "hollow": is_hollow, "rows": n}
            )
    expr = (
        'coalesce("subtype", \'\') || CASE WHEN to_real("coord_precision_m") > '
        f"{STREET_LEVEL_PRECISION_M:g} THEN '{_APPROX}' ELSE '' END"
        if "coord_precision_m" in gdf.columns
        else "coalesce(\"subtype\", '')"
    )
    r = _el(
        maplayer,
        "renderer-v2",
        type="categorizedSymbol",
        attr=expr,
        symbollevels="0",
        forceraster="0",
        enableorderby="0",
    )
    cel = _el(r, "categories")
    sel = _el(r, "symbols")
    for i, c in enumerate(cats):
        _el(cel, "category", value=c["value"], symbol=str(i), label=c["label"], render="true")
        _symbol(sel, str(i), "point", _point_props(c["color"], size, hollow=c["hollow"]))
    return cats


def _labeling(maplayer, kind: str, rows: int) -> bool:
    """Labels of the ``name`` field; large point layers only when zoomed in."""
    polygon = kind in ("districts", "zones")
    lab = _el(maplayer, "labeling", type="simple")
    st = _el(lab, "settings", calloutType="simple")
    ts = _el(
        st,
        "text-style",
        fieldName="name",
        isExpression="0",
        fontFamily=FONT_FAMILIES[0],
        fontSize="11" if kind == "districts" else ("9" if polygon else "7.5"),
        fontSizeUnit="Point",
        textColor="68,68,68,255" if kind == "districts" else "30,30,30,255",
        fontWeight="75" if polygon else "50",
        namedStyle="Regular",
        textOpacity="1",
        multilineHeight="1",
    )
    fams = _el(ts, "families")
    for f in FONT_FAMILIES:
        _el(fams, "family", name=f)
    _el(
        ts,
        "text-buffer",
        bufferDraw="1",
        bufferSize="0.8",
        bufferSizeUnits="MM",
        bufferColor="255,255,255,255",
        bufferOpacity="0.85",
        bufferNoFill="1",
        bufferJoinStyle="128",
    )
    _el(st, "text-format", wrapChar="", autoWrapLength="12" if polygon else "0", multilineAlign="3")
    # placement: around points (6), horizontal in polygons (1), along lines (2)
    placement = {"districts": "1", "zones": "1", "corridor_axes": "2"}.get(kind, "6")
    _el(
        st,
        "placement",
        placement=placement,
        dist="0.8",
        distUnits="MM",
        priority="7" if kind in ("incubators", "universities", "platforms") else "5",
        placementFlags="10",
    )
    zoomed = kind not in OUTLINE_KINDS and rows > LABEL_ALL_MAX_ROWS
    _el(
        st,
        "rendering",
        scaleVisibility="1" if zoomed else "0",
        scaleMin="1",
        scaleMax=str(LABEL_ZOOMED_SCALE) if zoomed else "0",
        obstacle="1",
        obstacleType="0",
        displayAll="0",
        upsidedownLabels="0",
        labelPerPart="0",
        mergeLines="1" if kind == "corridor_axes" else "0",
        limitNumLabels="0",
        drawLabels="1",
    )
    return True


def _maplayer(parent, *, lid: str, name: str, kind: str, table: str, data: str, gdf) -> dict:
    geom = {"point": "Point", "line": "Line", "polygon": "Polygon"}[
        REGISTRY[kind].geometry if kind in REGISTRY else "point"
    ]
    ml = _el(
        parent,
        "maplayer",
        type="vector",
        geometry=geom,
        labelsEnabled="1" if "name" in gdf.columns else "0",
        hasScaleBasedVisibilityFlag="0",
        minScale="100000000",
        maxScale="0",
        readOnly="0",
        styleCategories="AllStyleCategories",
    )
    _el(ml, "id", lid)
    _el(ml, "datasource", f"./{data}|layername={table}")
    _el(ml, "layername", name)
    _spatialrefsys(_el(ml, "srs"), CRS.from_epsg(4326))
    _el(ml, "provider", "ogr", encoding="UTF-8")
    _el(_el(ml, "map-layer-style-manager", current="default"), "map-layer-style", name="default")
    cats = _renderer(ml, kind, gdf)
    if "name" in gdf.columns:
        _labeling(ml, kind, len(gdf))
    return {"categories": cats}


def _layout_object(item) -> None:
    _el(item, "FrameColor", red="0", green="0", blue="0", alpha="255")
    _el(item, "BackgroundColor", red="255", green="255", blue="255", alpha="255")


def _item(parent, itype: int, *, uid: str, x: float, y: float, w: float, h: float, z: int, **attrs):
    base = {
        "type": itype,
        "uuid": uid,
        "templateUuid": uid,
        "id": attrs.pop("id_", ""),
        "position": f"{x:g},{y:g},mm",
        "positionOnPage": f"{x:g},{y:g},mm",
        "size": f"{w:g},{h:g},mm",
        "zValue": z,
        "visibility": "1",
        "frame": attrs.pop("frame", "false"),
        "background": attrs.pop("background", "false"),
        "referencePoint": "0",
        "itemRotation": "0",
        "positionLock": "false",
        "opacity": "1",
        "blendMode": "0",
        "excludeFromExports": "0",
        "outlineWidthM": "0.3,mm",
        "frameJoinStyle": "miter",
        "groupUuid": "",
    }
    item = _el(parent, "LayoutItem", **(base | attrs))
    _layout_object(item)
    return item


def _font(size: float, *, bold: bool = False) -> str:
    """A Qt font description string (family, point size, …, weight)."""
    return f"{FONT_FAMILIES[0]},{size:g},-1,5,{75 if bold else 50},0,0,0,0,0"


def _nice(value: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ not above ``value``."""
    if value <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(value))
    return max(m * e for m in (1, 2, 5) if m * e <= value)


def _layout(root, *, title: str, extent, sources: str, crs_text: str) -> dict:
    """An A4 landscape print layout; returns ``{item: uuid}``."""
    layouts = _el(root, "Layouts")
    lay = _el(layouts, "Layout", name=f"{title} (A4)", units="mm", printResolution="300")
    pc = _el(lay, "PageCollection")
    _item(pc, _PAGE, uid=f"{{{uuid.uuid4()}}}", x=0, y=0, w=297, h=210, z=0, background="true")
    ids = {
        k: f"{{{uuid.uuid4()}}}" for k in ("map", "title", "legend", "scalebar", "north", "notes")
    }
    map_w = _map_item(lay, ids["map"], extent)
    _title_item(lay, ids["title"], title)
    _legend_item(lay, ids["legend"], ids["map"])
    _scalebar_item(lay, ids["scalebar"], ids["map"], map_w)
    _north_item(lay, ids["north"], ids["map"])
    _notes_item(lay, ids["notes"], sources, crs_text)
    return ids


#: The map frame on the A4 landscape page (mm): x, y, width, height.
_MAP_FRAME = (10.0, 22.0, 205.0, 168.0)


def _map_item(lay, uid: str, extent) -> float:
    """The map frame; returns the width it shows (map units)."""
    mx, my, mw, mh = _MAP_FRAME
    # map extent: the data's extent with the map frame's aspect ratio
    x0, y0, x1, y1 = extent
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = (x1 - x0) * 1.06 or 1000.0, (y1 - y0) * 1.06 or 1000.0
    if w / h < mw / mh:
        w = h * mw / mh
    else:
        h = w * mh / mw
    m = _item(
        lay,
        _MAP,
        uid=uid,
        x=mx,
        y=my,
        w=mw,
        h=mh,
        z=1,
        frame="true",
        background="true",
        id_="地图",
        keepLayerSet="false",
        drawCanvasItems="true",
        mapRotation="0",
        followPreset="false",
        followPresetName="",
        mapFlags="0",
        isTemporal="0",
        labelMargin="0,mm",
    )
    _el(
        m,
        "Extent",
        xmin=f"{cx - w / 2:.3f}",
        ymin=f"{cy - h / 2:.3f}",
        xmax=f"{cx + w / 2:.3f}",
        ymax=f"{cy + h / 2:.3f}",
    )
    _el(m, "LayerSet")
    return w


def _title_item(lay, uid: str, title: str) -> None:
    t = _item(
        lay,
        _LABEL,
        uid=uid,
        x=10,
        y=6,
        w=277,
        h=13,
        z=2,
        id_="图名",
        labelText=title,
        halign="4",
        valign="32",
        marginX="0",
        marginY="0",
        htmlState="0",
    )
    _el(t, "LabelFont", style="", description=_font(20, bold=True))
    _el(t, "FontColor", red="0", green="0", blue="0", alpha="255")


def _legend_item(lay, uid: str, map_uid: str) -> None:
    lg = _item(
        lay,
        _LEGEND,
        uid=uid,
        x=220,
        y=22,
        w=67,
        h=120,
        z=3,
        id_="图例",
        title="图例",
        map_uuid=map_uid,
        resizeToContents="1",
        columnCount="1",
        symbolWidth="6",
        symbolHeight="3.5",
        boxSpace="2",
        columnSpace="2",
        titleAlignment="1",
        wrapChar="",
        splitLayer="0",
        equalColumnWidth="0",
        legendFilterByAtlas="0",
        fontColor="#000000",
        lineSpacing="1",
        background="true",
        frame="true",
    )
    styles = _el(lg, "styles")
    for name, size, bold in (
        ("title", 12, True),
        ("group", 10, True),
        ("subgroup", 9, True),
        ("symbol", 8, False),
        ("symbolLabel", 8, False),
    ):
        st = _el(styles, "style", name=name, marginTop="1.5", alignment="1")
        _el(st, "styleFont", style="", description=_font(size, bold=bold))


def _scalebar_item(lay, uid: str, map_uid: str, w: float) -> None:
    # scale bar: two segments of a round number of kilometres (or metres) ≈ 1/6 of the map
    seg_m = _nice(w / 6)
    unit, per = ("km", 1000.0) if seg_m >= 1000 else ("m", 1.0)
    sb = _item(
        lay,
        _SCALEBAR,
        uid=uid,
        x=14,
        y=176,
        w=60,
        h=11,
        z=4,
        id_="比例尺",
        mapUuid=map_uid,
        style="Single Box",
        unitType=unit,
        unitLabel=unit,
        numMapUnitsPerScaleBarUnit="1",
        numSegments="2",
        numSegmentsLeft="0",
        numUnitsPerSegment=f"{seg_m / per:g}",
        segmentSizeMode="0",
        height="2.5",
        labelBarSpace="2",
        boxContentSpace="1",
        alignment="0",
        outlineWidth="0.3",
        background="true",
    )
    _el(
        sb,
        "text-style",
        fontFamily=FONT_FAMILIES[0],
        fontSize="8",
        fontSizeUnit="Point",
        textColor="0,0,0,255",
        textOpacity="1",
    )


def _north_item(lay, uid: str, map_uid: str) -> None:
    mx, my, mw, _mh = _MAP_FRAME
    _item(
        lay,
        _PICTURE,
        uid=uid,
        x=mx + mw - 16,
        y=my + 4,
        w=12,
        h=18,
        z=5,
        id_="指北针",
        file=_NORTH_ARROW,
        mode="2",
        mapUuid=map_uid,
        northMode="0",
        northOffset="0",
        resizeMode="0",
        anchorPoint="0",
        pictureRotation="0",
        svgFillColor="0,0,0,255",
        svgBorderColor="0,0,0,255",
        svgBorderWidth="0.2",
        pictureWidth="12",
        pictureHeight="18",
    )


def _notes_item(lay, uid: str, sources: str, crs_text: str) -> None:
    n = _item(
        lay,
        _LABEL,
        uid=uid,
        x=10,
        y=192,
        w=277,
        h=14,
        z=6,
        id_="数据来源",
        labelText=f"数据来源: {sources}\n坐标系: {crs_text} · 制图: InnoMap 创新资源一张图 · "
        f"{date.today().isoformat()}",
        halign="1",
        valign="32",
        marginX="0",
        marginY="0",
        htmlState="0",
    )
    _el(n, "LabelFont", style="", description=_font(7))
    _el(n, "FontColor", red="60", green="60", blue="60", alpha="255")


def _project_xml(
    project: Project, title: str, data: str, tables: dict, frames: dict
) -> tuple[bytes, dict]:
    crs = project.metric_crs()
    root = _el(None, "qgis", projectname=title, version=_QGIS_VERSION)
    _el(root, "homePath", path="")
    _el(root, "title", title)
    _spatialrefsys(_el(root, "projectCrs"), crs)
    order = [n for n, (_t, k) in tables.items() if k not in OUTLINE_KINDS] + [
        n
        for k in ("corridor_axes", "zones", "districts")
        for n, (_t, kk) in tables.items()
        if kk == k
    ]
    ids = {n: f"{tables[n][0]}_{uuid.uuid4().hex[:12]}" for n in order}
    # a layer named after its kind shows the kind's Chinese name (as on the print maps)
    shown = {
        n: REGISTRY[k].name_zh if n == k and k in REGISTRY else n for n, (_t, k) in tables.items()
    }
    tree = _el(root, "layer-tree-group")
    for n in order:
        _el(
            tree,
            "layer-tree-layer",
            name=shown[n],
            id=ids[n],
            providerKey="ogr",
            checked="Qt::Checked",
            expanded="1" if tables[n][1] not in OUTLINE_KINDS else "0",
            source=f"./{data}|layername={tables[n][0]}",
        )
    layers = _el(root, "projectlayers")
    info = {}
    for n in order:
        table, kind = tables[n]
        got = _maplayer(
            layers, lid=ids[n], name=shown[n], kind=kind, table=table, data=data, gdf=frames[n]
        )
        info[n] = {
            "title": shown[n],
            "table": table,
            "kind": kind,
            "rows": len(frames[n]),
            **got,
        }
    lo = _el(root, "layerorder")
    for n in order:
        _el(lo, "layer", id=ids[n])
    props = _el(root, "properties")
    _el(_el(props, "Paths"), "Absolute", "false", type="bool")
    _el(_el(props, "SpatialRefSys"), "ProjectionsEnabled", "1", type="int")
    meta = _el(root, "projectMetadata")
    _el(meta, "title", title)
    _el(meta, "abstract", f"InnoMap 项目 {project.name} ({project.city}) 导出")
    _el(meta, "creation", date.today().isoformat() + "T00:00:00")
    # layout extent: the districts (else all layers) in the project CRS
    to_m = Transformer.from_crs(4326, crs, always_xy=True)
    try:
        b = project.bounds()
    except InnoMapError:
        b = (0.0, 0.0, 0.0, 0.0)
    xs, ys = to_m.transform([b[0], b[2], b[0], b[2]], [b[1], b[1], b[3], b[3]])
    sources = sorted(
        {Path(lyr.source_file).name for lyr in project.layers.values() if lyr.source_file}
    )
    synth = any(lyr.synthetic_rows for lyr in project.layers.values())
    src_text = "; ".join(sources) or project.name
    if synth:
        src_text += " (含模拟数据, 仅用于方法演示)"
    _layout(
        root,
        title=title,
        extent=(min(xs), min(ys), max(xs), max(ys)),
        sources=src_text,
        crs_text=project.crs_label(),
    )
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
    doctype = b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
    return doctype + body, info


def write_qgis_project(
    project: Project, out_dir: str | Path, *, title: str | None = None, force: bool = False
) -> QgisExport:
    """Write ``NAME.qgz`` and ``NAME.gpkg`` of ``project`` into ``out_dir`` (created if missing).

    Raises
    ------
    InnoMapError
        The project has no layers; ``OutputExistsError`` when a file exists and not ``force``.
    """
    from export.layers_io import safe_layer_names, write_layers
    from layers.io_safe import OutputExistsError, atomic_write

    layers = {n: lyr for n, lyr in project.layers.items() if not lyr.damaged}
    if not layers:
        raise InnoMapError(
            f"项目 {project.name} 没有图层 / project {project.name!r} has no layers to hand to QGIS: "
            "add one with `python cli.py project add`"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = _safe_stem(project.name)
    qgz, gpkg = out / f"{stem}.qgz", out / f"{stem}.gpkg"
    for p in (qgz, gpkg):
        if p.exists() and not force:
            raise OutputExistsError(
                f"{p.name} 已存在 / {p.name} already exists in {out}: choose another folder or "
                "pass --force"
            )
    frames = {n: lyr.gdf for n, lyr in layers.items()}
    kinds = {n: lyr.kind for n, lyr in layers.items()}
    write_layers(frames, gpkg, fmt="gpkg", kinds=kinds, force=force, mark=True)
    names = safe_layer_names(frames)
    tables = {n: (names[n], kinds[n]) for n in frames}
    title = title or f"{project.city or project.name}创新资源分布图"
    xml, info = _project_xml(project, title, gpkg.name, tables, frames)

    def writer(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"{stem}.qgs", xml)

    atomic_write(qgz, writer, force=force)
    return QgisExport(qgz, gpkg, info, f"EPSG:{project.metric_crs().to_epsg()}")


def qgis_zip(project: Project, *, title: str | None = None) -> bytes:
    """One zip (for a download) holding the folder ``NAME_qgis/`` with the ``.qgz`` and ``.gpkg``."""
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="innomap-qgis-") as d:
        res = write_qgis_project(project, d, title=title)
        folder = res.project_file.stem + "_qgis"
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in (res.project_file, res.data_file):
                zf.write(p, f"{folder}/{p.name}")
            zf.writestr(
                f"{folder}/README.txt",
                "用 QGIS 3.22 或更新版本打开 .qgz (数据在同一文件夹的 .gpkg 中, 请保持两者在一起)。\n"
                "Open the .qgz in QGIS 3.22 or later; keep the .gpkg beside it.\n"
                + json.dumps({n: v["rows"] for n, v in res.layers.items()}, ensure_ascii=False),
            )
    return buf.getvalue()
