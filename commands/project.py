"""``project new|add|add-network|add-gazetteer|copy|audit|info``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from commands.common import command, flags, open_project, say, warn
from commands.files import add_import_args

__all__ = ["add_parsers"]


def _json(data, *, indent: int = 2) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=indent))


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
    from workflows.console import created_line

    info = project.info()
    _json(info) if args.json else print(created_line(args.out, project, info))
    return 0


def _cmd_project_add(args: argparse.Namespace) -> int:
    """Each layer of the file added through :mod:`workflows.importing`, as the import page."""
    from workflows.console import added_lines, error_lines, outside_warning
    from workflows.importing import add_to_project, import_jobs, options_from
    from workflows.importing import run as import_file

    project = open_project(args)
    results, code = [], 0
    for opts, name in import_jobs(args.path, options_from(vars(args)), name=args.name):
        rep = import_file(args.path, opts)
        result = rep.to_json()
        warn([rep.crs_warning, outside_warning(rep)])
        if rep.rows_valid == 0:  # nothing is added: exit 2
            result["error"] = "没有可导入的行 / no valid rows: nothing was added"
            if args.json:
                _json(result)
            else:
                print(f"error: {rep.file}: {result['error']}", file=sys.stderr)
                say(error_lines(rep)[:50], file=sys.stderr)
            return 2
        stored = add_to_project(
            project, rep, name=name, kind=opts.kind, source_file=Path(args.path).name
        )
        result |= {"project": project.ref, "layer_name": stored.name, "rows_added": stored.rows}
        results.append(result | {"store_notes": stored.add_notes})
        say([] if args.json else added_lines(project, rep, stored, opts.kind))
        code = max(code, 0 if stored.rows == rep.rows_total else 1)
    if args.json:
        _json(results[0] if len(results) == 1 else {"layers": results})
    return code


def _cmd_project_add_network(args: argparse.Namespace) -> int:
    from workflows.console import kept_lines
    from workflows.network import add_network_file, project_graph

    project = open_project(args)
    net = add_network_file(project, args.path, name=args.name, layer=args.layer)
    say(kept_lines(project, network=net, graph=project_graph(project, net.name)))
    return 0


def _cmd_project_add_gazetteer(args: argparse.Namespace) -> int:
    from layers.gazetteer import read_register
    from layers.project import add_gazetteer
    from workflows.console import kept_lines

    project = open_project(args)
    frame, notes = read_register(args.path, crs=args.crs, address_col=args.address_col)
    warn(notes)
    name = args.name or Path(args.path).stem
    name = add_gazetteer(project, name=name, frame=frame, source_file=args.path)
    say(kept_lines(project, register=name, rows=len(frame), file=args.path))
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
        _json(rows, indent=1)
    say(
        () if args.json else (f"{r['ts']}\t{r['user']}\t{r['action']}\t{r['detail']}" for r in rows)
    )
    return 0


def _cmd_project_info(args: argparse.Namespace) -> int:
    from workflows.console import project_info, project_lines

    project = open_project(args)
    info = project_info(project)
    if args.json:
        _json(info)
        return 0
    say(project_lines(project, info))
    return 0


def _housekeeping(args: argparse.Namespace, change) -> int:
    """Open ``--project`` (checking ``--if-version``), make ``change``, print the result."""
    from layers.project import ProjectConflictError

    project = open_project(args)
    seen = getattr(args, "if_version", None)
    if seen is not None and seen != project.version:
        raise ProjectConflictError(
            f"项目已被他人修改 / project {project.name!r} was changed since you read it "
            f"(version {seen} → {project.version}): look at it again (project info), then "
            "repeat; nothing was written"
        )
    result = change(project)
    if args.json:
        out = {"message_zh": result.message_zh, "message_en": result.message_en}
        _json(out | {"version": result.project.version, "detail": result.detail})
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
    """``project rename|merge|edit-zone|undo`` (issue 27; help in help.toml)."""
    p = command(psub, "rename", _cmd_project_rename)
    p.add_argument("old", metavar="OLD")
    p.add_argument("new", metavar="NEW")
    flags(p, "--zone")
    p = command(psub, "merge", _cmd_project_merge)
    p.add_argument("layers", nargs="+", metavar="LAYER")
    p.add_argument("--name", required=True, metavar="NEW")
    p = command(psub, "edit-zone", _cmd_project_edit_zone)
    p.add_argument("zone", metavar="ZONE")
    p.add_argument("--name", dest="new_name", metavar="NEW")
    p.add_argument("--type", metavar="T")
    p = command(psub, "undo", _cmd_project_undo)
    for name in ("rename", "merge", "edit-zone", "undo"):
        q = psub.choices[name]
        q.add_argument("--project", required=True, metavar="P")
        q.add_argument("--if-version", dest="if_version", type=int, metavar="N")
        flags(q, "--json")


def _add_store_parsers(psub) -> None:
    """``project copy``, ``audit`` and ``info``."""
    p = command(psub, "copy", _cmd_project_copy)
    p.add_argument("--from", dest="src", required=True, metavar="A")
    p.add_argument("--to", dest="dst", required=True, metavar="B")
    flags(p, "--force")
    p = command(psub, "audit", _cmd_project_audit)
    p.add_argument("--project", required=True, metavar="P")
    flags(p, "--json")
    p = command(psub, "info", _cmd_project_info)
    p.add_argument("--project", metavar="P", default=None)
    flags(p, "--json")


def add_parsers(sub) -> None:
    """``project new|add|add-network|add-gazetteer|copy|audit|info``."""
    from workflows.choices import METRIC_CRS_SYSTEMS

    psub = command(sub, "project").add_subparsers(
        dest="project_command", required=True, metavar="ACTION"
    )
    p = command(psub, "new", _cmd_project_new)
    p.add_argument("--name", required=True)
    p.add_argument("--city", required=True)
    p.add_argument("--counties", metavar="A,B")
    p.add_argument("--crs-system", choices=list(METRIC_CRS_SYSTEMS), default="utm")
    flags(p, "--force", "--json")
    p.add_argument("--out", required=True, metavar="P.gpkg")
    p = command(psub, "add", _cmd_project_add)
    p.add_argument("--project", required=True, metavar="P")
    add_import_args(p, kind_required=True)
    p.add_argument("--name", metavar="N")
    flags(p, "--json")
    p = command(psub, "add-network", _cmd_project_add_network)
    p.add_argument("--project", required=True, metavar="P")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--name", metavar="N")
    p.add_argument("--layer", metavar="L")
    p = command(psub, "add-gazetteer", _cmd_project_add_gazetteer)
    p.add_argument("--project", required=True, metavar="P")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--name", metavar="N")
    p.add_argument("--crs", metavar="C")
    p.add_argument("--address-col", metavar="COL")
    _add_store_parsers(psub)
    _add_housekeeping_parsers(psub)
