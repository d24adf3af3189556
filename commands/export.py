"""``export-map``, ``export-layers`` and ``export-qgis``: requests to :mod:`workflows.exports`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import settings
from commands.common import add_project_args, open_project, warn

__all__ = ["add_parsers"]


def _export_params(args: argparse.Namespace) -> dict:
    """``--params`` as a dict (an error names the JSON problem)."""
    from layers.errors import InnoMapError

    if not args.params:
        return {}
    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as exc:
        raise InnoMapError(
            f"--params 不是有效 JSON / --params is not valid JSON ({exc.msg} at {exc.pos})"
        ) from None
    if not isinstance(params, dict):
        raise InnoMapError("--params 应为 JSON 对象 / --params must be a JSON object")
    return params


def _export_basemap(args: argparse.Namespace):
    if args.basemap == "none":
        return None
    from render.basemaps import make_basemap

    return make_basemap(
        args.basemap,
        tianditu_key=args.tianditu_key or "",
        custom_url=args.tile_url or "",
        custom_crs=args.tile_crs,
        custom_attribution=args.tile_attribution or "",
    )


def _cmd_export_map(args: argparse.Namespace) -> int:
    from layers.io_safe import atomic_write
    from layers.safe import safe_file_name
    from workflows.exports import MapExportRequest, run_map_export

    project = open_project(args)
    req = MapExportRequest(
        layers=list(args.layers or []),
        zone=args.zone,
        analysis=args.analysis,
        params=_export_params(args),
        title=args.title,
        paper=args.paper,
        orientation=args.orientation,
        dpi=args.dpi,
        format=args.format,
        series=args.series,
        basemap=_export_basemap(args),
        crs=args.crs,
        skip_invalid=args.skip_invalid,
    )
    messages: list[str] = []

    def progress(done: int, total: int) -> None:  # maps of a series written
        print(f"\rmaps {done}/{total}", end="\n" if done == total else "", file=sys.stderr)

    result = run_map_export(
        project, req, messages=messages, on_progress=progress if args.series else None
    )
    warn(messages)
    if args.series:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for i, (name, data) in enumerate(result, start=1):
            target = out / f"{i:02d}_{safe_file_name(name, default='map')}.{args.format}"
            atomic_write(target, lambda tmp, d=data: tmp.write_bytes(d), force=args.force)
            written.append(target.name)
        print(f"wrote {len(written)} maps to {out}: {', '.join(written)}")
        return 0
    atomic_write(args.out, lambda tmp: tmp.write_bytes(result), force=args.force)
    print(f"wrote {args.out} ({len(result) // 1024} KiB)")
    return 0


def _cmd_export_layers(args: argparse.Namespace) -> int:
    from workflows.exports import LayersExportRequest, run_layers_export

    project = open_project(args)
    req = LayersExportRequest(
        layers=list(args.layers),
        format=args.format,
        encoding=args.encoding,
        crs=args.crs,
        skip_invalid=args.skip_invalid,
        to_crs=args.to_crs,
    )
    rep = run_layers_export(project, req, args.out, force=args.force)
    warn(rep.notes)
    s = rep.summary
    skipped = f"; skipped {s['skipped_invalid']} invalid rows" if s["skipped_invalid"] else ""
    written = Path(args.out).with_name(s["out"])
    print(f"wrote {written} ({s['rows_out']} rows of {s['rows_in']}{skipped}; CRS {s['crs']})")
    return 0


def _cmd_export_qgis(args: argparse.Namespace) -> int:
    from workflows.exports import run_qgis_export

    project = open_project(args)
    rep = run_qgis_export(project, args.out, title=args.title, force=args.force)
    s = rep.summary
    rows = sum(v["rows"] for v in s["layers"].values())
    print(
        f"wrote {args.out}/{s['qgz']} and {s['gpkg']} ({len(s['layers'])} layers, {rows} rows; "
        f"CRS {s['crs']}); open the .qgz in QGIS 3.22 or later"
    )
    return 0


def _add_map_parser(sub) -> None:
    from export.formats import MAP_FORMATS, ORIENTATIONS, PAPERS, SERIES
    from render.basemaps import BASEMAPS
    from workflows.analyses import map_analyses

    p = sub.add_parser(
        "export-map",
        help="print map (png/pdf/svg) or offline HTML map; --series exports one map per district or zone",
        description="Export a print-quality map (title, legend, scale bar, north arrow, CRS, sources) or HTML.",
    )
    add_project_args(p)
    p.add_argument(
        "--layers",
        nargs="+",
        metavar="L",
        help="layers to draw: project layer names, kinds (kind:subtype) or files "
        "(default: the project's resource layer kinds)",
    )
    p.add_argument("--zone", metavar="NAME", help="map extent and outline: a zone of the project")
    p.add_argument("--analysis", choices=list(map_analyses()))
    p.add_argument(
        "--params", metavar="JSON", help='analysis parameters, e.g. {"minutes": [5, 10, 15]}'
    )
    p.add_argument(
        "--title", default=None, help="map title (default: the project's city + 创新资源分布图)"
    )
    p.add_argument("--paper", choices=list(PAPERS), default=settings.PRINT_PAPER)
    p.add_argument("--orientation", choices=list(ORIENTATIONS), default=settings.PRINT_ORIENTATION)
    p.add_argument("--dpi", type=int, default=settings.PRINT_DPI)
    p.add_argument("--format", choices=list(MAP_FORMATS), required=True)
    p.add_argument(
        "--series",
        choices=list(SERIES),
        help="one map per district or zone of the project (--out is a folder)",
    )
    p.add_argument(
        "--basemap",
        choices=list(BASEMAPS),
        default="none",
        help="online tile basemap for print maps (needs internet; default none)",
    )
    p.add_argument(
        "--tianditu-key", dest="tianditu_key", help="天地图 key (tk) for --basemap tianditu"
    )
    p.add_argument(
        "--tile-url", dest="tile_url", help="XYZ URL for --basemap custom, with {z}/{x}/{y}"
    )
    p.add_argument("--tile-crs", dest="tile_crs", choices=["WGS84", "GCJ-02"], default="WGS84")
    p.add_argument(
        "--tile-attribution", dest="tile_attribution", help="attribution of the custom tiles"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.add_argument("--out", required=True, metavar="FILE|DIR")
    p.set_defaults(func=_cmd_export_map)


def add_parsers(sub) -> None:
    """``export-map``, ``export-layers`` and ``export-qgis``."""
    from export.formats import LAYER_FORMATS, TABLE_FORMATS

    _add_map_parser(sub)
    p = sub.add_parser(
        "export-layers",
        help="export layers as GeoPackage, GeoJSON, zipped Shapefile, KML, XLSX or CSV",
        description="Export layers for GIS (gpkg/geojson/shp/kml) or as tables (xlsx/csv, UTF-8 BOM). "
        "Every row of the layers named is written; a file keeps its own kind.",
    )
    add_project_args(p)
    p.add_argument(
        "--layers",
        nargs="+",
        required=True,
        metavar="L",
        help="project layer names, kinds (kind:subtype) or files (KIND=PATH)",
    )
    p.add_argument(
        "--format",
        choices=[*LAYER_FORMATS, *TABLE_FORMATS],
        required=True,
        help="kml/kmz: 一个图层一个文件夹, 按类别与子类着色 (奥维、Google Earth) / a folder per "
        "layer, styled by kind and subtype",
    )
    p.add_argument(
        "--encoding", choices=["UTF-8", "GBK"], default="UTF-8", help="Shapefile text encoding"
    )
    p.add_argument(
        "--to-crs",
        dest="to_crs",
        metavar="CRS",
        default=None,
        help="输出坐标系 / CRS of the written coordinates: WGS84 (default), CGCS2000 (EPSG:4490), "
        "GK3 (CGCS2000 3° 高斯-克吕格, 带号按范围, 东坐标含带号; GK3:NN / GK3:117E 指定), "
        "GCJ-02 (高德), BD-09 (百度), EPSG:n. GCJ-02/BD-09 无 EPSG 代码: 文件名与 InnoMap 标记注明"
        "坐标系, 不写 .prj; KML/KMZ 只能是 WGS84",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--out", required=True, metavar="PATH")
    p.set_defaults(func=_cmd_export_layers)

    p = sub.add_parser(
        "export-qgis",
        help="QGIS 工程 (.qgz) 与其数据 (GeoPackage) / a QGIS project (.qgz) beside a GeoPackage "
        "of the project's layers",
        description="写出 QGIS 工程: 项目坐标系, 每个项目图层一个图层 (按类别与子类分类着色, 近似位置为空心), "
        "名称标注, A4 打印布局 (图名、图例、比例尺、指北针、数据来源); 无需安装 QGIS。 / Write a "
        "QGIS 3.22+ project with the app's symbology, labels and a print layout (QGIS not needed).",
    )
    add_project_args(p, files=False)
    p.add_argument(
        "--title", default=None, help="图名 / layout title (default: city + 创新资源分布图)"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.add_argument("--out", required=True, metavar="DIR", help="输出文件夹 / output folder")
    p.set_defaults(func=_cmd_export_qgis)
