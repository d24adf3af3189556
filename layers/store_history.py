"""Undo history shared by the project stores (:mod:`layers.store_gpkg`, :mod:`layers.store_postgis`).

Before every change a store writes the project's *state* — its metadata rows, not its
data — into a history table keyed by the version the change started from. A state is
small because layer, network and register tables are never written twice (a change
writes a new table): it names the tables, and a table stays in the store while the
current project or any kept state names it. Rejected rows and deleted runs are kept as
*blobs* (``rej:<table>``, ``run:<id>``), written once.

``project undo`` pops the newest state and puts it back, in one transaction that also
bumps the version (so every other session sees a change). History deeper than
``settings.UNDO_DEPTH`` is pruned, and the tables and blobs no kept state names any
more are dropped in the same transaction.

This module holds the state's shape and the bookkeeping both stores share; the SQL is
in each store.
"""

from __future__ import annotations

import json
import os

from layers.project_model import ProjectError

__all__ = [
    "blob_keys",
    "depth",
    "make_state",
    "nothing_to_undo",
    "run_names",
    "state_tables",
    "tables_to_drop",
]


def depth() -> int:
    """How many changes can be undone (``settings.UNDO_DEPTH``; ``$INNOMAP_UNDO_DEPTH`` overrides)."""
    import settings

    try:
        return max(0, int(os.environ.get("INNOMAP_UNDO_DEPTH", settings.UNDO_DEPTH)))
    except ValueError:
        return int(settings.UNDO_DEPTH)


def make_state(layers, rejected_tables, run_ids, networks, gazetteers, run_names=None) -> str:
    """A project's state as stored in the history table (JSON text).

    ``layers``: rows ``(name, kind, tbl, position, source_file, crs_in, encoding,
    imported_at, rows, note)``; ``rejected_tables``: ``{layer name: its table}`` of the
    layers that have rejected rows (kept as blob ``rej:<table>``); ``run_ids``: the saved
    runs; ``networks``: ``(name, tbl, source_file, imported_at, edges)``;
    ``gazetteers``: ``(name, tbl, source_file, imported_at, rows, crs_in)``;
    ``run_names``: ``{run id: name}`` of the named runs (undo puts a renamed run's name
    back; states kept before run names were recorded have none and leave names as they are).
    """
    return json.dumps(
        {
            "run_names": dict(run_names or {}),
            "layers": [list(r) for r in layers],
            "rejected": {n: f"rej:{t}" for n, t in rejected_tables.items()},
            "runs": list(run_ids),
            "networks": [list(r) for r in networks],
            "gazetteers": [list(r) for r in gazetteers],
        },
        ensure_ascii=False,
    )


def load(state: str | dict) -> dict:
    """A stored state (text in GeoPackage, text or JSONB in PostGIS) as a dict."""
    return json.loads(state) if isinstance(state, str) else dict(state)


def run_names(state: dict, have: dict[str, str]) -> dict[str, str] | None:
    """The names the state's runs get back on undo: ``{id: name}`` ('' for unnamed), or
    ``None`` for a state kept before run names were recorded (names left as they are).
    ``have``: the names the runs have now (only changed ones are returned)."""
    if "run_names" not in state:
        return None
    kept = state["run_names"]
    out = {rid: kept.get(rid, "") for rid in state.get("runs", [])}
    return {rid: n for rid, n in out.items() if have.get(rid, "") != n}


def state_tables(state: dict) -> set[str]:
    """The layer, network and register tables a state names."""
    return (
        {r[2] for r in state.get("layers", [])}
        | {r[1] for r in state.get("networks", [])}
        | {r[1] for r in state.get("gazetteers", [])}
    )


def blob_keys(state: dict) -> set[str]:
    """The blobs a state needs: rejected rows of its layers and its runs (if deleted since)."""
    return set(state.get("rejected", {}).values()) | {f"run:{i}" for i in state.get("runs", [])}


def tables_to_drop(before: set[str], after: set[str]) -> list[str]:
    """Tables named before a change (now or in history) and by nothing after it."""
    return sorted(before - after)


def nothing_to_undo(project_name: str) -> ProjectError:
    """The refusal when no change is kept to undo."""
    return ProjectError(
        f"没有可撤销的修改 / nothing to undo in project {project_name!r}: no change is kept in "
        "its history (the oldest are pruned beyond settings.UNDO_DEPTH; a new or copied "
        "project starts with none)"
    )
