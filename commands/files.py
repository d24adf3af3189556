"""File commands: ``validate``, ``inspect``, ``import`` and ``geocode``."""

from __future__ import annotations

import argparse
import json
import sys

import settings
from commands.common import open_project, outside_warning, warn

__all__ = ["add_import_args", "add_parsers", "import_options"]


def import_options(args: argparse.Namespace):
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


def add_import_args(p: argparse.ArgumentParser, *, kind_required: bool) -> None:
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


def _unreadable(args: argparse.Namespace, exc: Exception) -> int:
    """A file that cannot be read: the error (JSON with the likely CRS choices), exit 2."""
    from pathlib import Path

    if args.json:
        out = {"file": Path(args.path).name, "error": str(exc)}
        if hasattr(exc, "choices"):  # the file's CRS must be given (--crs): the likely ones
            out["crs_choices"] = list(exc.choices)
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(f"error: {exc}", file=sys.stderr)
    return 2


def _print_validation(rep) -> None:
    """A validation report as text: the file, what it holds, rows, notes, errors."""
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


def _cmd_validate(args: argparse.Namespace) -> int:
    from layers.importer import ImportFileError, import_file

    try:
        rep = import_file(args.path, import_options(args))
    except (ImportFileError, ValueError) as exc:
        return _unreadable(args, exc)
    warn([rep.crs_warning, outside_warning(rep)])
    if args.json:
        print(json.dumps(rep.to_json(), ensure_ascii=False, indent=2))
    else:
        _print_validation(rep)
    return 0 if rep.rows_valid == rep.rows_total else 1


def _cmd_import(args: argparse.Namespace) -> int:
    import geopandas as gpd

    from layers.importer import import_file
    from layers.io_safe import atomic_write

    rep = import_file(args.path, import_options(args))
    warn([rep.crs_warning, outside_warning(rep)])

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
    project = open_project(args) if args.project else None
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


def add_parsers(sub) -> None:
    """``validate``, ``inspect``, ``import`` and ``geocode``."""
    p = sub.add_parser(
        "validate",
        help="check a data file: rows, encoding, CRS, errors per row (exit 0 all valid, 1 some rejected, 2 unreadable)",
        description="Validate a planner's file without importing it.",
    )
    add_import_args(p, kind_required=False)
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
    add_import_args(p, kind_required=True)
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
