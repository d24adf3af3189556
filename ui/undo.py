"""撤销 beside a change: one button that reverts the project's last change.

Used by the data page (rename, merge, zone edits, deleted runs), the import page and any
page that changes the project. The button names what it undoes (the newest entry of the
project's history, whoever made it); it is shown to editors of a writable project only,
and the store refuses it as a conflict when the project changed since the page read it.
After an undo the page reruns on the reopened project and says what was undone.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from layers import auth
from layers.errors import InnoMapError
from layers.project import Project
from ui.common import guarded, md_text
from ui.i18n import T, lang
from workflows.housekeeping import change_label, undo, undo_offer

__all__ = [
    "as_seen",
    "done",
    "offer",
    "offered_undo_button",
    "seen",
    "show_message",
    "undo_button",
]

_MESSAGE = "housekeeping_message"
_SEEN = "housekeeping_seen_version"
_LAST = "housekeeping_last_change"  # (project ref, version), the change 撤销 would revert


def _remember(key: str, version: int) -> None:
    st.session_state[f"{_SEEN}_{key}"] = version


def seen(project: Project, key: str) -> dict:
    """Keyword arguments for the button ``key`` of a change: its click records the project
    version the page showed when the button was drawn (see :func:`as_seen`)."""
    return {"on_click": _remember, "args": (key, project.version)}


def as_seen(project: Project, key: str) -> Project:
    """The project as the user saw it when clicking ``key``: a rerun reads the project anew,
    so a change made by someone else in between would go unnoticed; with the version seen,
    the store refuses the change as a conflict (nothing written)."""
    version = st.session_state.pop(f"{_SEEN}_{key}", None)
    if version is None or version == project.version:
        return project
    return dataclasses.replace(project, version=version)


def done(message: str) -> None:
    """Keep ``message`` (a change just made) for the next run, then rerun the whole page."""
    from ui.state import refresh_project

    st.session_state[_MESSAGE] = message
    refresh_project()
    st.rerun()


def show_message() -> None:
    """The message of the change or undo made in the previous run (once)."""
    msg = st.session_state.pop(_MESSAGE, None)
    if msg:
        st.success(md_text(msg))


def undo_button(project: Project, *, key: str) -> None:
    """A 撤销 button for the project's last change (nothing when there is none to undo)."""
    if project.read_only or project.is_demo or not auth.can("editor"):
        return
    entry = _last_change(project)
    if not entry:
        return
    label = change_label(entry, lang())
    who = entry.get("user") or "-"
    c1, c2 = st.columns([1, 5])
    clicked = c1.button(
        T("撤销", "Undo"),
        key=key,
        **seen(project, key),
        help=T(
            "撤销项目的上一次修改(无论谁做的)", "Undo the project's last change (whoever made it)"
        ),
    )
    c2.caption(md_text(T(f"上一次修改: {label}({who})", f"Last change: {label} (by {who})")))
    if clicked:
        st.session_state.pop(_offer_key(key), None)
        result = guarded(undo, as_seen(project, key))
        if result is not None:
            done(result.message(lang()))


def _last_change(project: Project) -> dict | None:
    """:func:`undo_offer` read once per project version (a page shows several 撤销 buttons
    and reruns often; the history changes only with the version)."""
    stamp = (project.ref, project.version)
    kept = st.session_state.get(_LAST)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    try:
        entry = undo_offer(project)
    except InnoMapError as exc:  # shown, not kept: the next run reads again
        st.error(md_text(exc))
        return None
    st.session_state[_LAST] = (stamp, entry)
    return entry


def _offer_key(key: str) -> str:
    return f"undo_offer_{key}"


def offer(key: str) -> None:
    """Show :func:`offered_undo_button` ``key`` from now on (after a change a panel made)."""
    st.session_state[_offer_key(key)] = True


def offered_undo_button(project: Project, *, key: str) -> None:
    """撤销 beside a change a panel made in an earlier run (see :func:`offer`); once clicked it
    is not offered again until the panel makes another change."""
    if st.session_state.get(_offer_key(key)):
        undo_button(project, key=key)
