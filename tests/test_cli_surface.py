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
