"""File commands: ``validate``, ``inspect``, ``import`` and ``geocode``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from commands.common import checked, command, flags, open_project, opts, say, show, warn

__all__ = ["add_import_args", "add_parsers"]


def _add_table_args(p: argparse.ArgumentParser) -> None:
    """Options of tables (CSV/XLSX): header row, columns, value mapping."""
    p.add_argument("--header-row", type=int, metavar="N")
    p.add_argument("--col", action="append", metavar="FIELD=COLUMN")
    p.add_argument("--map", action="append", metavar="FIELD:RAW=VALUE")
    opts(p, "--name-col COL", "--map-csv FILE")


def add_import_args(p: argparse.ArgumentParser, *, kind_required: bool) -> None:
    """The file and how to read it (``validate``, ``import``, ``project add``)."""
    from layers.registry import REGISTRY

    kinds = [k for k, s in REGISTRY.items() if s.geometry in ("point", "polygon", "line")]
    default = None if kind_required else "enterprises"
    p.add_argument("--kind", choices=kinds, default=default, required=kind_required)
    opts(p, "path PATH", "--crs C", "--encoding E", "--sheet S", "--layer L")
    opts(p, "--lon-col COL", "--lat-col COL")
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
    return show(args, info, inspect_lines(info))


def _cmd_validate(args: argparse.Namespace) -> int:
    from layers.importer import ImportFileError
    from workflows.console import validation_lines

    try:
        rep = _read(args)
    except (ImportFileError, ValueError) as exc:  # unreadable: JSON with the likely CRSs
        crs = {"crs_choices": list(exc.choices)} if hasattr(exc, "choices") else {}
        show(args, {"file": Path(args.path).name, "error": str(exc), **crs})
        say([] if args.json else [f"error: {exc}"], file=sys.stderr)
        return 2
    show(args, rep.to_json(), validation_lines(rep))
    return 0 if rep.rows_valid == rep.rows_total else 1


def _cmd_import(args: argparse.Namespace) -> int:
    from workflows.console import imported_line
    from workflows.importing import write_gpkg

    rep = _read(args)
    write_gpkg(rep, args.out, kind=args.kind, force=args.force)
    print(imported_line(rep, kind=args.kind, out=args.out))
    return 0


def _rate():
    from workflows.geocode import parse_rate

    return parse_rate


def _cmd_geocode(args: argparse.Namespace) -> int:
    """Geocode an address list; exit 0 all ok, 1 some rows not ok (listed), 2 errors."""
    from workflows.console import geocode_lines, geocode_stop_lines, progress_printer
    from workflows.geocode import geocode_file

    progress = progress_printer("geocode", every_s=0.5)
    project = open_project(args) if args.project else None
    s = geocode_file(
        args.path, vars(args), out=args.out, force=args.force, project=project, on_progress=progress
    ).summary
    say(geocode_lines(args.path, Path(args.out), s))
    say(geocode_stop_lines(s), file=sys.stderr)
    return 2 if s["interrupted"] else 1 if s["listed"] else 0


def _add_geocode_parser(sub) -> None:
    from layers.geocode import PROVIDERS

    p = command(sub, "geocode", _cmd_geocode)
    opts(p, "path FILE", "--address-col COL!", "--city CITY", "--gazetteer FILE2")
    opts(p, "--gazetteer-crs C", "--gazetteer-address-col COL", "--key K", "--endpoint URL")
    p.add_argument("--provider", choices=list(PROVIDERS), default="offline")
    p.add_argument("--rate", type=checked(_rate), default=None, metavar="N/s")
    opts(p, "--project P", "--cache FILE", "--sheet S", "--encoding E", "--out OUT.csv!")
    _add_table_args(p)
    flags(p, "--force")


def add_parsers(sub) -> None:
    """``validate``, ``inspect``, ``import`` and ``geocode``."""
    p = command(sub, "validate", _cmd_validate)
    add_import_args(p, kind_required=False)
    flags(p, "--json")
    p = command(sub, "inspect", _cmd_inspect)
    opts(p, "path PATH")
    flags(p, "--json")
    p = command(sub, "import", _cmd_import)
    add_import_args(p, kind_required=True)
    opts(p, "--out OUT.gpkg!")
    flags(p, "--force")
    _add_geocode_parser(sub)
