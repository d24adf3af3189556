"""The command line keeps every command and option (snapshot taken before the architecture
step): options may be added, never renamed or removed; choices, defaults and required flags
of existing options stay as they were."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_snapshot import surface

SNAPSHOT = Path(__file__).parent / "snapshots" / "cli.json"


def _missing(old: dict, new: dict, path: str = "") -> list[str]:
    out = []
    for key, want in old.items():
        here = f"{path} {key}".strip()
        if key not in new:
            out.append(f"{here}: gone")
        elif key == "<commands>":
            for cmd, sub in want.items():
                if cmd not in new[key]:
                    out.append(f"{here} {cmd}: command gone")
                else:
                    out += _missing(sub, new[key][cmd], f"{path} {cmd}")
        elif want != new[key]:
            out.append(f"{here}: {want} → {new[key]}")
    return out


def test_every_command_and_option_is_kept():
    old = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert _missing(old, surface()) == []


def _han(text) -> bool:
    return bool(text) and any("\u4e00" <= c <= "\u9fff" for c in str(text))


def _unexplained(parser, path: str = "") -> list[str]:
    """Commands without a Chinese help or description, options without a Chinese help."""
    import argparse

    out = []
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in a._choices_actions}
            for name, sub in a.choices.items():
                here = f"{path} {name}".strip()
                if not (_han(helps.get(name)) and _han(sub.description)):
                    out.append(f"{here}: help/description")
                out += _unexplained(sub, here)
        elif not isinstance(a, argparse._HelpAction) and not _han(a.help):
            out.append(f"{path} {'/'.join(a.option_strings) or a.dest}")
    return out


def test_help_is_in_chinese_with_english():
    """``--help`` of every command: Chinese first, English after " / " (commands/help.toml,
    the analysis registry); every option explained."""
    import cli

    parser = cli.build_parser()
    assert _unexplained(parser) == []
    text = parser.format_help()
    assert "批量处理的命令行 / command line for batch work" in text
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in ("coverage", "geocode", "export-map", "project"):
        help_text = sub.choices[name].format_help()
        assert " / " in help_text and _han(help_text), name
