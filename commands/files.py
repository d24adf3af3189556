"""File commands: ``validate``, ``inspect``, ``import`` and ``geocode``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from commands.common import command, flags, open_project, say, warn

__all__ = ["add_import_args", "add_parsers"]


def _add_table_args(p: argparse.ArgumentParser) -> None:
    """Options of tables (CSV/XLSX): header row, columns, value mapping."""
    p.add_argument("--header-row", type=int, metavar="N")
    p.add_argument("--name-col", metavar="COL")
    p.add_argument("--col", action="append", metavar="FIELD=COLUMN")
    p.add_argument("--map", action="append", metavar="FIELD:RAW=VALUE")
    p.add_argument("--map-csv", metavar="FILE")


def add_import_args(p: argparse.ArgumentParser, *, kind_required: bool) -> None:
    """The file and how to read it (``validate``, ``import``, ``project add``)."""
    from layers.registry import REGISTRY

    kinds = [k for k, s in REGISTRY.items() if s.geometry in ("point", "polygon", "line")]
    p.add_argument("path", metavar="PATH")
    default = None if kind_required else "enterprises"
    p.add_argument("--kind", choices=kinds, default=default, required=kind_required)
    for name, metavar in (("--crs", "C"), ("--encoding", "E"), ("--sheet", "S"), ("--layer", "L")):
        p.add_argument(name, metavar=metavar)
    p.add_argument("--lon-col", metavar="COL")
    p.add_argument("--lat-col", metavar="COL")
    flags(p, "--repair", "--fix-swapped", "--drop-outside-city")
    _add_table_args(p)


def _read(args: argparse.Namespace):
    """The file imported as the options say (rows beyond a ``--project``'s city flagged)."""
    from workflows.console import outside_warning
    from workflows.importing import options_from
    from workflows.importing import run as import_file

    rep = import_file(args.path, options_from(vars(args)))
    warn([rep.crs_warning, outside_warning(rep)])
    return rep


def _cmd_inspect(args: argparse.Namespace) -> int:
    from layers.importer import inspect_file
    from workflows.console import inspect_lines

    info = inspect_file(args.path)
    say([json.dumps(info, ensure_ascii=False, indent=2)] if args.json else inspect_lines(info))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from layers.importer import ImportFileError
    from workflows.console import validation_lines

    try:
        rep = _read(args)
    except (ImportFileError, ValueError) as exc:  # unreadable: JSON with the likely CRSs
        if not args.json:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        crs = {"crs_choices": list(exc.choices)} if hasattr(exc, "choices") else {}
        out = {"file": Path(args.path).name, "error": str(exc), **crs}
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 2
    out = [json.dumps(rep.to_json(), ensure_ascii=False, indent=2)]
    say(out if args.json else validation_lines(rep))
    return 0 if rep.rows_valid == rep.rows_total else 1


def _cmd_import(args: argparse.Namespace) -> int:
    from workflows.importing import write_gpkg

    rep = _read(args)
    write_gpkg(rep, args.out, kind=args.kind, force=args.force)
    print(
        f"{rep.file}: {rep.rows_valid}/{rep.rows_total} rows imported as {args.kind} (WGS84, "
        f"from {rep.crs_in}); {len(rep.rejected)} rejected → layer 'rejected'; wrote {args.out}"
    )
    return 0


def _rate(text: str) -> float:
    from workflows.geocode import GeocodeError, parse_rate

    try:
        return parse_rate(text)
    except GeocodeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_geocode(args: argparse.Namespace) -> int:
    """Geocode an address list; exit 0 all ok, 1 some rows not ok (listed), 2 errors."""
    from workflows.console import geocode_lines, progress_printer
    from workflows.geocode import geocode_file

    progress = progress_printer("geocode", every_s=0.5)
    project = open_project(args) if args.project else None
    s = geocode_file(
        args.path, vars(args), out=args.out, force=args.force, project=project, on_progress=progress
    ).summary
    say(geocode_lines(args.path, Path(args.out), s))
    if s["interrupted"]:
        print(f"error: {s['interrupted']}", file=sys.stderr)
        print(
            f"stopped with {s['not_asked']} addresses not asked: run the same command with --force "
            "to resume (answered addresses are cached)",
            file=sys.stderr,
        )
        return 2
    return 1 if s["listed"] else 0


def _add_geocode_parser(sub) -> None:
    from layers.geocode import PROVIDERS

    p = command(sub, "geocode", _cmd_geocode)
    p.add_argument("path", metavar="FILE")
    p.add_argument("--address-col", required=True, metavar="COL")
    p.add_argument("--city", metavar="CITY")
    p.add_argument("--provider", choices=list(PROVIDERS), default="offline")
    p.add_argument("--gazetteer", metavar="FILE2")
    p.add_argument("--gazetteer-crs", metavar="C")
    p.add_argument("--gazetteer-address-col", metavar="COL")
    p.add_argument("--key", metavar="K")
    p.add_argument("--endpoint", metavar="URL")
    p.add_argument("--rate", type=_rate, default=None, metavar="N/s")
    p.add_argument("--project", metavar="P", default=None)
    p.add_argument("--cache", metavar="FILE")
    p.add_argument("--sheet", metavar="S")
    p.add_argument("--encoding", metavar="E")
    _add_table_args(p)
    p.add_argument("--out", required=True, metavar="OUT.csv")
    flags(p, "--force")


def add_parsers(sub) -> None:
    """``validate``, ``inspect``, ``import`` and ``geocode``."""
    p = command(sub, "validate", _cmd_validate)
    add_import_args(p, kind_required=False)
    flags(p, "--json")
    p = command(sub, "inspect", _cmd_inspect)
    p.add_argument("path", metavar="PATH")
    flags(p, "--json")
    p = command(sub, "import", _cmd_import)
    add_import_args(p, kind_required=True)
    p.add_argument("--out", required=True, metavar="OUT.gpkg")
    flags(p, "--force")
    _add_geocode_parser(sub)
