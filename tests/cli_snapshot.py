"""The command line's surface as data: every subcommand's option strings, choices, defaults,
required flags and positionals (``python -m tests.cli_snapshot > tests/snapshots/cli.json``).

Options are product (README, scripts, saved requests): a change of this surface must be an
addition, never a rename — ``tests/test_cli_surface.py`` compares it with the snapshot."""

from __future__ import annotations

import argparse
import json


def _default(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_default(v) for v in value]
    return repr(value)


def _actions(parser: argparse.ArgumentParser) -> dict:
    out: dict = {}
    for a in parser._actions:
        if isinstance(a, argparse._HelpAction):
            continue
        if isinstance(a, argparse._SubParsersAction):
            out["<commands>"] = {name: _actions(p) for name, p in sorted(a.choices.items())}
            continue
        key = "/".join(a.option_strings) if a.option_strings else f"<{a.dest}>"
        out[key] = {
            "dest": a.dest,
            "required": bool(a.required),
            "default": _default(a.default),
            "choices": sorted(map(str, a.choices)) if a.choices is not None else None,
            "nargs": _default(a.nargs),
            "action": type(a).__name__,
        }
    return out


def surface() -> dict:
    import cli

    return _actions(cli.build_parser())


if __name__ == "__main__":
    print(json.dumps(surface(), ensure_ascii=False, indent=1, sort_keys=True))
