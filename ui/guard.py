"""The one decorator for a panel that reruns alone: a Streamlit fragment behind the page's guard.

A fragment's own rerun (a widget inside it changed, the map reported its view) runs
only the fragment's function: ``app.py`` — and with it the sign-in gate
(:func:`ui.auth_panel.auth_gate`) and the project's rights check
(:func:`ui.state.project_ref`) — does not run. :func:`guarded_fragment` runs the same
checks before the fragment's body, every time:

* sign-in: the acting user for this run (open mode, trusted header or the session's
  sign-in), set with :func:`layers.auth.set_actor` as the page does, so the store checks
  the right role;
* idle time-out: a session idle for longer than the limit is dropped (as on a page run);
* the same user as the page was drawn for, and the user's right to the current project.

When a check fails during a fragment's own rerun the whole page is rerun
(``st.rerun()``): the page's guard then shows the sign-in form, the time-out note or the
default project. During a full page run the page's guard has already run; a failing
check then just leaves the body out.

Usage::

    @guarded_fragment
    def whatif_panel(project, report): ...

    @guarded_fragment(key="site_map")
    def site_map(...): ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, overload

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from layers import auth

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["check_access", "guarded_fragment", "in_fragment_rerun"]


def in_fragment_rerun() -> bool:
    """True while Streamlit runs only fragments (not the whole page)."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def _acting_user() -> tuple[bool, auth.Actor | None]:
    """``(ok, actor)`` by the page's own rules (``ui.auth_panel``), drawing nothing."""
    from ui.auth_panel import _check_open_bind, _header_actor, _session_actor

    mode = auth.auth_mode()
    if mode == "open":
        _check_open_bind()  # a refusal is shown and stops the run, as on the page
        return True, None
    if mode == "header":
        return True, _header_actor()
    actor = _session_actor()  # idle too long: the session is dropped, None
    return actor is not None, actor


def check_access() -> bool:
    """Run the page's guard for a fragment; True when its body may run.

    Sets the acting user for this run. False when nobody is signed in (or the session
    timed out), when the user is not the one the page was drawn for, or when the user
    lost the right to the session's project (it was switched to the default project).
    """
    from ui.auth_panel import _OWNER
    from ui.state import project_ref

    auth.set_actor(None)
    ok, actor = _acting_user()
    if not ok:
        return False
    owner = f"{actor.name}:{actor.role}" if actor is not None else ""
    held = st.session_state.get(_OWNER)
    if held is not None and held != owner:
        return False  # another user: the page's guard drops the last user's state
    auth.set_actor(actor)
    before = st.session_state.get("project_ref")
    return project_ref() == before or before is None


def _guard(func: F) -> F:
    @functools.wraps(func)
    def body(*args: Any, **kwargs: Any) -> Any:
        if not check_access():
            if in_fragment_rerun():
                st.rerun()  # the whole page: its guard shows the sign-in form / the default project
            return None
        return func(*args, **kwargs)

    return body  # type: ignore[return-value]


@overload
def guarded_fragment(func: F) -> F: ...


@overload
def guarded_fragment(func: None = None, *, key: str | None = None) -> Callable[[F], F]: ...


def guarded_fragment(func: F | None = None, *, key: str | None = None):
    """``st.fragment`` whose every run first runs the page's guard (:func:`check_access`).

    Parameters
    ----------
    func : callable, optional
        The panel function (``@guarded_fragment`` without parentheses).
    key : str, optional
        The fragment's name (``st.fragment(key=…)``), so a callback can rerun it with
        ``st.rerun(key)``.
    """

    def wrap(f: F) -> F:
        return st.fragment(_guard(f), key=key)  # type: ignore[return-value]

    return wrap(func) if func is not None else wrap
