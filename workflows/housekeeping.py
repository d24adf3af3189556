"""Keeping a project tidy: rename (a layer, a zone, a saved run), merge, edit a zone, undo
(the CLI's ``project`` actions and the app's 图层与数据源 page share these).

Each request names the project it was read from and the version it saw; the change
is made by :mod:`layers.project` (role check, audit, one transaction per store) and
the result says what happened in both languages, with the project reopened so the
caller shows its new state. A change made from a stale read (another change landed
since) is refused as a conflict by the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from layers import project as P
from layers.project_model import Project
from workflows.runs import resolve_run

__all__ = [
    "ACTION_LABELS",
    "ChangeResult",
    "change_label",
    "check_version",
    "edit_zone",
    "merge",
    "rename",
    "rename_run",
    "undo",
    "undo_offer",
]

#: What a change is called in the UI and CLI (zh, en), by the audit's action name.
ACTION_LABELS: dict[str, tuple[str, str]] = {
    "add_layer": ("导入图层", "import a layer"),
    "replace_layer": ("替换图层", "replace a layer"),
    "remove_layer": ("删除图层", "remove a layer"),
    "rename_layer": ("重命名图层", "rename a layer"),
    "merge_layers": ("合并图层", "merge layers"),
    "edit_zone": ("修改片区", "edit a zone"),
    "save_run": ("保存分析", "save a run"),
    "delete_run": ("删除分析", "delete a run"),
    "rename_run": ("重命名分析", "rename a run"),
    "add_network": ("保存路网", "keep a road network"),
    "add_gazetteer": ("保存地址库", "keep an address register"),
}


@dataclass
class ChangeResult:
    """What a housekeeping change did: messages (zh, en), the reopened project, details."""

    message_zh: str
    message_en: str
    project: Project
    detail: dict = field(default_factory=dict)

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else self.message_en

    def text(self) -> str:
        """Both languages, for the CLI."""
        return f"{self.message_zh} / {self.message_en}"


def change_label(entry: dict, lang: str = "zh") -> str:
    """A history entry (:func:`layers.project.history`) as one short line."""
    zh, en = ACTION_LABELS.get(entry.get("action", ""), (entry.get("action", ""),) * 2)
    try:
        detail = json.loads(entry.get("detail") or "{}")
    except (TypeError, ValueError):
        detail = {}
    what = _detail_text(detail)
    word = zh if lang == "zh" else en
    return f"{word}: {what}" if what else word


def _detail_text(detail: dict) -> str:
    if "from" in detail and "to" in detail:
        return f"{detail['from']} → {detail['to']}"
    if "layers" in detail:
        return " + ".join(map(str, detail["layers"])) + f" → {detail.get('name', '')}"
    if "zone" in detail:
        to = detail.get("name", detail["zone"])
        return f"{detail['zone']} → {to}" + (f" ({detail['type']})" if "type" in detail else "")
    for key in ("layer", "run", "network", "gazetteer"):
        if key in detail:
            return str(detail[key])
    return ""


def _reopen(project: Project) -> Project:
    return P.open_project(project.ref)


def check_version(project: Project, seen: int | None) -> None:
    """Refuse a change made on a stale read: ``seen`` (the version the user read, e.g.
    ``--if-version``) is not the project's version now. ``None``: nothing to check."""
    if seen is not None and seen != project.version:
        raise P.ProjectConflictError(
            f"项目已被他人修改 / project {project.name!r} was changed since you read it "
            f"(version {seen} → {project.version}): look at it again (project info), then "
            "repeat; nothing was written"
        )


def rename(project: Project, old: str, new: str, *, zone: bool = False) -> ChangeResult:
    """Rename a layer (or, with ``zone``, a zone) of ``project``."""
    if zone:
        return edit_zone(project, old, name=new)
    name = P.rename_layer(project, old, new)
    return ChangeResult(
        f"图层 {old} 已重命名为 {name}",
        f"layer {old!r} renamed to {name!r}",
        _reopen(project),
        {"from": old, "to": name},
    )


def rename_run(project: Project, run: str, new: str) -> ChangeResult:
    """Rename the saved run ``run`` (its id or unique name, as ``compare --runs``)."""
    rec = resolve_run(project, run)
    old = rec.label
    name = P.rename_run(project, rec.id, new)
    return ChangeResult(
        f"运行 {old} 已重命名为 {name}",
        f"run {old!r} renamed to {name!r}",
        _reopen(project),
        {"run": rec.id, "from": old, "to": name},
    )


def edit_zone(
    project: Project, zone: str, *, name: str | None = None, subtype: str | None = None
) -> ChangeResult:
    """Change a zone's name and/or type (through the import's checks)."""
    new = P.edit_zone(project, zone, name=name, subtype=subtype)
    typ = f", 类型 {subtype}" if subtype else ""
    typ_en = f", type {subtype}" if subtype else ""
    return ChangeResult(
        f"片区 {zone} 已改为 {new}{typ}",
        f"zone {zone!r} is now {new!r}{typ_en}",
        _reopen(project),
        {"zone": zone, "name": new, "type": subtype},
    )


def merge(project: Project, names: list[str], *, name: str) -> ChangeResult:
    """Merge layers of one kind into one layer ``name`` (every row kept with its source)."""
    stored = P.merge_layers(project, names, name=name)
    return ChangeResult(
        f"已合并 {'、'.join(names)} 为图层 {stored.name}({stored.rows} 行, 来源见 "
        f"{P.SOURCE_COLUMN} 列)",
        f"merged {', '.join(names)} into layer {stored.name!r} ({stored.rows} rows; the "
        f"source layer of each is in column {P.SOURCE_COLUMN})",
        _reopen(project),
        {"layers": names, "name": stored.name, "rows": stored.rows},
    )


def undo(project: Project) -> ChangeResult:
    """Revert the project's last change (whoever made it)."""
    entry = P.undo(project)
    zh, en = change_label(entry, "zh"), change_label(entry, "en")
    who = entry.get("user") or "-"
    return ChangeResult(
        f"已撤销: {zh}({who}, {entry.get('ts', '')})",
        f"undone: {en} (by {who}, {entry.get('ts', '')})",
        _reopen(project),
        entry,
    )


def undo_offer(project: Project) -> dict | None:
    """The change :func:`undo` would revert now (``None`` when there is none or the
    project cannot be changed)."""
    if project.read_only or project.is_demo:
        return None
    entries = P.history(project)
    return entries[0] if entries else None
