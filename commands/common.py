"""What the commands share: commands with their help (``commands/help.toml``), the
project, reach and precision options, console output."""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from functools import cache
from pathlib import Path

import settings

__all__ = ["add_project_args", "add_reach_args", "apply_help", "checked", "command", "flags"]
__all__ += ["open_project", "opts", "say", "show", "warn"]


@cache
def _help() -> dict:
    return tomllib.loads(Path(__file__).with_name("help.toml").read_text(encoding="utf-8"))


def _settings(text: str | None) -> str | None:
    """``{settings.NAME}``, ``{settings.NAME[key]}`` (``:g`` for numbers) replaced by values."""

    def value(m: re.Match) -> str:
        v = getattr(settings, m[1])
        v = v[m[2]] if m[2] else v
        return format(v, m[3] or "")

    return text and re.sub(r"\{settings\.(\w+)(?:\[(\w+)\])?(?::(\w+))?\}", value, text)


def _texts(path: str) -> dict:
    return _help()["commands"].get(path, {})


def command(sub, name: str, func=None, **kw) -> argparse.ArgumentParser:
    """Command ``name`` of ``sub`` with its help and description from help.toml (which win
    over ``help``/``description`` given here) and ``func`` run by ``cli.main``."""
    text = _texts(" ".join([*sub._prog_prefix.split()[2:], name]))
    kw["help"] = _settings(text.get("help") or kw.get("help"))
    kw["description"] = _settings(text.get("description") or kw.get("description") or kw["help"])
    p = sub.add_parser(name, **kw)
    if func is not None:
        p.set_defaults(func=func)
    return p


def apply_help(parser: argparse.ArgumentParser) -> None:
    """Set every option's help from help.toml: the command's own text, then the groups it
    uses, then the help given in the code (e.g. the analysis registry's), then [options]."""
    h = _help()
    text = _texts(" ".join(parser.prog.split()[2:]))
    groups = [h["groups"][g] for g in text.get("uses", [])]
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for p in a.choices.values():
                apply_help(p)
            continue
        key = a.option_strings[0] if a.option_strings else f"<{a.dest}>"
        found = [t[key] for t in (text, *groups) if key in t]
        if found or (a.help is None and key in h["options"]):
            a.help = _settings(found[0] if found else h["options"][key])


def flags(p: argparse.ArgumentParser, *names: str) -> None:
    """On/off options (``store_true``), e.g. ``--json``, ``--force``."""
    for n in names:
        p.add_argument(n, action="store_true")


def opts(p: argparse.ArgumentParser, *specs: str) -> None:
    """Options taking a value, one spec each: ``"--name N"`` (metavar ``N``), ``"--name N!"``
    (required), ``"--name"`` (no metavar) or ``"path PATH"`` (a positional)."""
    for spec in specs:
        name, _, metavar = spec.partition(" ")
        kw = {"metavar": metavar.rstrip("!")} if metavar else {}
        p.add_argument(name, **kw, **({"required": True} if metavar.endswith("!") else {}))


def checked(check):
    """An argparse ``type`` from a request's own check (``check(text)``): its error, an
    :class:`~layers.errors.InnoMapError` naming the value, becomes a usage error."""

    def parse(text: str):
        from layers.errors import InnoMapError

        try:
            return check()(text)
        except InnoMapError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def add_project_args(p: argparse.ArgumentParser, *, files: bool = True) -> None:
    """``--project`` (and, for commands taking layer references, ``--crs``/``--skip-invalid``)."""
    opts(p, "--project P", *(["--crs C"] if files else []))
    flags(p, *(["--skip-invalid"] if files else []))


def _cutoff_minutes():
    from workflows.coverage import cutoff_minutes

    return cutoff_minutes


def add_reach_args(p: argparse.ArgumentParser, *, minutes, several: bool) -> None:
    """Reach options shared by the analyses that use travel time (they mean the same in all)."""
    from workflows.choices import MODES, REACH_METHODS

    p.add_argument("--mode", choices=list(MODES), default="walk")
    p.add_argument(
        "--minutes", type=checked(_cutoff_minutes) if several else float, default=minutes
    )
    opts(p, "--network NET")
    p.add_argument("--method", choices=list(REACH_METHODS))
    p.add_argument("--speed-kmh", type=float)
    p.add_argument("--detour", type=float, default=settings.DETOUR)
    p.add_argument("--max-snap-m", type=float, default=settings.MAX_SNAP_M)
    flags(p, "--force")


def open_project(args: argparse.Namespace):
    """The project named by ``--project`` (the demo project when none is given)."""
    from layers.project import open_project as _open

    return _open(getattr(args, "project", None))


def show(args: argparse.Namespace, data, lines=(), *, indent: int = 2) -> int:
    """``data`` as JSON with ``--json``, else ``lines``; exit code 0."""
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=indent))
    else:
        say(lines)
    return 0


def say(lines, *, file=None) -> None:
    """Print lines (on stdout unless ``file``)."""
    for line in lines:
        print(line, file=file)


def warn(messages) -> None:
    """Print warnings (e.g. a file read as WGS84 with no CRS stated) on stderr."""
    say((f"warning: {m}" for m in messages or [] if m), file=sys.stderr)
