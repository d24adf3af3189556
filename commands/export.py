"""``export-map``, ``export-layers`` and ``export-qgis``: requests to :mod:`workflows.exports`."""

from __future__ import annotations

import argparse
from pathlib import Path

import settings
from commands.common import add_project_args, command, flags, open_project, opts, warn

__all__ = ["add_parsers"]


def _cmd_export_map(args: argparse.Namespace) -> int:
    from layers.io_safe import atomic_write
    from workflows.console import progress_printer
    from workflows.exports import map_request, run_map_export, write_series

    messages: list[str] = []
    result = run_map_export(
        open_project(args),
        map_request(vars(args)),
        messages=messages,
        on_progress=progress_printer("maps") if args.series else None,
    )
    warn(messages)
    if not args.series:
        atomic_write(args.out, lambda tmp: tmp.write_bytes(result), force=args.force)
        print(f"wrote {args.out} ({len(result) // 1024} KiB)")
        return 0
    names = write_series(result, args.out, fmt=args.format, force=args.force)
    print(f"wrote {len(names)} maps to {Path(args.out)}: {', '.join(names)}")
    return 0


def _cmd_export_layers(args: argparse.Namespace) -> int:
    from workflows.analyses import from_options
    from workflows.console import layers_written_line
    from workflows.exports import LayersExportRequest, run_layers_export

    req = from_options(LayersExportRequest, vars(args))
    rep = run_layers_export(open_project(args), req, args.out, force=args.force)
    warn(rep.notes)
    print(layers_written_line(args.out, rep.summary))
    return 0


def _cmd_export_qgis(args: argparse.Namespace) -> int:
    from workflows.console import qgis_line
    from workflows.exports import run_qgis_export

    rep = run_qgis_export(open_project(args), args.out, title=args.title, force=args.force)
    print(qgis_line(args.out, rep.summary))
    return 0


def _add_map_parser(sub) -> None:
    from export.formats import MAP_FORMATS, ORIENTATIONS, PAPERS, SERIES
    from render.basemaps import BASEMAPS, TILE_CRS
    from workflows.analyses import map_analyses

    p = command(sub, "export-map", _cmd_export_map)
    add_project_args(p)
    p.add_argument("--layers", nargs="+", metavar="L")
    opts(p, "--zone NAME", "--params JSON", "--title", "--tianditu-key", "--tile-url")
    opts(p, "--tile-attribution", "--out FILE|DIR!")
    p.add_argument("--analysis", choices=list(map_analyses()))
    p.add_argument("--paper", choices=list(PAPERS), default=settings.PRINT_PAPER)
    p.add_argument("--orientation", choices=list(ORIENTATIONS), default=settings.PRINT_ORIENTATION)
    p.add_argument("--dpi", type=int, default=settings.PRINT_DPI)
    p.add_argument("--format", choices=list(MAP_FORMATS), required=True)
    p.add_argument("--series", choices=list(SERIES))
    p.add_argument("--basemap", choices=list(BASEMAPS), default="none")
    p.add_argument("--tile-crs", choices=list(TILE_CRS), default=TILE_CRS[0])
    flags(p, "--force")


def add_parsers(sub) -> None:
    """``export-map``, ``export-layers`` and ``export-qgis``."""
    from export.formats import LAYER_FORMATS, SHAPEFILE_ENCODINGS, TABLE_FORMATS

    _add_map_parser(sub)
    p = command(sub, "export-layers", _cmd_export_layers)
    add_project_args(p)
    p.add_argument("--layers", nargs="+", required=True, metavar="L")
    p.add_argument("--format", choices=[*LAYER_FORMATS, *TABLE_FORMATS], required=True)
    p.add_argument("--encoding", choices=list(SHAPEFILE_ENCODINGS), default="UTF-8")
    opts(p, "--to-crs CRS", "--out PATH!")
    flags(p, "--force")
    p = command(sub, "export-qgis", _cmd_export_qgis)
    add_project_args(p, files=False)
    opts(p, "--title", "--out DIR!")
    flags(p, "--force")
