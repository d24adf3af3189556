"""``project new|add|add-network|add-gazetteer|copy|audit|info``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from commands.common import command, flags, open_project, opts, say, show, warn
from commands.files import add_import_args

__all__ = ["add_parsers"]


def _cmd_project_new(args: argparse.Namespace) -> int:
    from layers.project import create_project
    from workflows.console import created_line

    counties = [c for c in (args.counties or "").replace("，", ",").split(",") if c.strip()]
    kw = {"name": args.name, "city": args.city, "crs_system": args.crs_system, "force": args.force}
    project = create_project(args.out, counties=counties or None, **kw)

    info = project.info()
    return show(args, info, [created_line(args.out, project, info)])


def _cmd_project_add(args: argparse.Namespace) -> int:
    """Each layer of the file added through :mod:`workflows.importing`, as the import page."""
    from workflows.console import added_lines, error_lines, outside_warning
    from workflows.importing import add_to_project, import_jobs, options_from
    from workflows.importing import run as import_file

    project = open_project(args)
    results, code = [], 0
    for job, name in import_jobs(args.path, options_from(vars(args)), name=args.name):
        rep = import_file(args.path, job)
        result = rep.to_json()
        warn([rep.crs_warning, outside_warning(rep)])
        if rep.rows_valid == 0:  # nothing is added: exit 2
            result["error"] = "没有可导入的行 / no valid rows: nothing was added"
            show(args, result)
            lines = [f"error: {rep.file}: {result['error']}", *error_lines(rep)[:50]]
            say([] if args.json else lines, file=sys.stderr)
            return 2
        src = Path(args.path).name
        stored = add_to_project(project, rep, name=name, kind=job.kind, source_file=src)
        result |= {"project": project.ref, "layer_name": stored.name, "rows_added": stored.rows}
        results.append(result | {"store_notes": stored.add_notes})
        say([] if args.json else added_lines(project, rep, stored, job.kind))
        code = max(code, 0 if stored.rows == rep.rows_total else 1)
    show(args, results[0] if len(results) == 1 else {"layers": results})
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
    from workflows.console import copied_line

    print(copied_line(copy_project(args.src, args.dst, force=args.force), args.dst))
    return 0


def _cmd_project_audit(args: argparse.Namespace) -> int:
    from layers.project import audit_log

    rows = audit_log(open_project(args))
    lines = (f"{r['ts']}\t{r['user']}\t{r['action']}\t{r['detail']}" for r in rows)
    return show(args, rows, lines, indent=1)


def _cmd_project_info(args: argparse.Namespace) -> int:
    from workflows.console import project_info, project_lines

    project = open_project(args)
    info = project_info(project)
    return show(args, info, () if args.json else project_lines(project, info))


def _cmd_housekeeping(args: argparse.Namespace) -> int:
    """Open ``--project`` (checking ``--if-version``), make the change, print the result."""
    from workflows import housekeeping as hk

    project = open_project(args)
    hk.check_version(project, args.if_version)
    result = {
        "rename": lambda p: hk.rename(p, args.old, args.new, zone=args.zone),
        "rename-run": lambda p: hk.rename_run(p, args.run, args.new),
        "merge": lambda p: hk.merge(p, args.layers, name=args.name),
        "edit-zone": lambda p: hk.edit_zone(p, args.zone, name=args.new_name, subtype=args.type),
        "undo": hk.undo,
    }[args.project_command](project)
    out = {"message_zh": result.message_zh, "message_en": result.message_en}
    out |= {"version": result.project.version, "detail": result.detail}
    return show(args, out, [result.text()])


def _add_housekeeping_parsers(psub) -> None:
    """``project rename|rename-run|merge|edit-zone|undo`` (issue 27; help in help.toml)."""
    for name in ("rename", "rename-run", "merge", "edit-zone", "undo"):
        q = command(psub, name, _cmd_housekeeping)
        opts(q, "--project P!")
        q.add_argument("--if-version", type=int, metavar="N")
        flags(q, "--json")
    opts(psub.choices["rename"], "old OLD", "new NEW")
    flags(psub.choices["rename"], "--zone")
    opts(psub.choices["rename-run"], "run RUN", "new NEW")
    psub.choices["merge"].add_argument("layers", nargs="+", metavar="LAYER")
    opts(psub.choices["merge"], "--name NEW!")
    psub.choices["edit-zone"].add_argument("--name", dest="new_name", metavar="NEW")
    opts(psub.choices["edit-zone"], "zone ZONE", "--type T")


def _add_store_parsers(psub) -> None:
    """``project copy``, ``audit`` and ``info``."""
    p = command(psub, "copy", _cmd_project_copy)
    p.add_argument("--from", dest="src", required=True, metavar="A")
    p.add_argument("--to", dest="dst", required=True, metavar="B")
    flags(p, "--force")
    opts(command(psub, "audit", _cmd_project_audit), "--project P!")
    opts(command(psub, "info", _cmd_project_info), "--project P")
    for name in ("audit", "info"):
        flags(psub.choices[name], "--json")


def add_parsers(sub) -> None:
    """``project new|add|add-network|add-gazetteer|copy|audit|info``."""
    from workflows.choices import METRIC_CRS_SYSTEMS

    psub = command(sub, "project").add_subparsers(
        dest="project_command", required=True, metavar="ACTION"
    )
    p = command(psub, "new", _cmd_project_new)
    p.add_argument("--name", required=True)
    p.add_argument("--city", required=True)
    opts(p, "--counties A,B", "--out P.gpkg!")
    p.add_argument("--crs-system", choices=list(METRIC_CRS_SYSTEMS), default="utm")
    flags(p, "--force", "--json")
    p = command(psub, "add", _cmd_project_add)
    opts(p, "--project P!", "--name N")
    add_import_args(p, kind_required=True)
    flags(p, "--json")
    p = command(psub, "add-network", _cmd_project_add_network)
    opts(p, "--project P!", "path PATH", "--name N", "--layer L")
    p = command(psub, "add-gazetteer", _cmd_project_add_gazetteer)
    opts(p, "--project P!", "path PATH", "--name N", "--crs C", "--address-col COL")
    _add_store_parsers(psub)
    _add_housekeeping_parsers(psub)
