"""The fragment guard (``ui/guard.py``): a fragment's body runs only for a signed-in user, within
the idle limit, for the user the page was drawn for, with the right to the session's project."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from layers import auth

PASSWORD = "guard-密码-1"


def _script() -> None:
    import streamlit as st

    import ui.guard as guard
    from layers import auth as auth_

    # a fragment's own rerun, once (AppTest runs whole scripts)
    guard.in_fragment_rerun = lambda: st.session_state.pop("as_fragment_rerun", False)
    st.session_state["page_starts"] = st.session_state.get("page_starts", 0) + 1

    @guard.guarded_fragment
    def panel() -> None:
        who = auth_.current_actor()
        st.session_state["body_runs"] = st.session_state.get("body_runs", 0) + 1
        st.markdown(f"body:{who.name if who else '-'}")

    panel()
    st.session_state["page_end"] = st.session_state.get("page_end", 0) + 1


@pytest.fixture()
def users(tmp_path, monkeypatch):
    f = tmp_path / "users.json"
    auth.add_user(f, "ed", role="editor", password=PASSWORD)
    monkeypatch.setenv("INNOMAP_USERS", str(f))
    monkeypatch.delenv("INNOMAP_TRUSTED_HEADER", raising=False)
    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))
    yield f
    auth.set_actor(None)


def _app(**state) -> AppTest:
    at = AppTest.from_function(_script, default_timeout=30)
    for k, v in state.items():
        at.session_state[k] = v
    return at


def _signed_in(last: float | None = None) -> dict:
    return {
        "auth_user": {"name": "ed", "role": "editor", "last": last or time.time()},
        "session_owner": "ed:editor",
    }


def test_signed_in_user_runs_the_body_as_the_acting_user(users):
    at = _app(**_signed_in()).run()
    assert not at.exception
    assert [m.value for m in at.markdown] == ["body:ed"]


def test_nobody_signed_in_no_body(users):
    at = _app().run()
    assert not at.exception
    assert [m.value for m in at.markdown] == []
    assert "body_runs" not in at.session_state


def test_idle_time_out_drops_the_session_and_skips_the_body(users, monkeypatch):
    monkeypatch.setenv("INNOMAP_IDLE_MINUTES", "1")
    at = _app(**_signed_in(last=time.time() - 120)).run()
    assert "body_runs" not in at.session_state
    assert "auth_user" not in at.session_state  # dropped, as the page's guard does
    assert "未操作" in at.session_state["auth_note"]


def test_another_user_than_the_page_was_drawn_for(users):
    state = _signed_in()
    state["session_owner"] = "vera:viewer"
    at = _app(**state).run()
    assert "body_runs" not in at.session_state


def test_lost_right_to_the_project_skips_the_body(users, tmp_path):
    other = tmp_path / "elsewhere.gpkg"  # not a team project, and ed is no admin
    at = _app(**_signed_in(), project_ref=str(other)).run()
    assert "body_runs" not in at.session_state
    assert at.session_state["project_ref"] == "demo"


def test_failing_guard_in_a_fragment_rerun_reruns_the_whole_page(users):
    """In a fragment's own rerun a failed check asks for a full page rerun (``st.rerun``)."""
    at = _app(as_fragment_rerun=True).run()
    assert not at.exception
    assert "body_runs" not in at.session_state
    # the first run stopped at the guard and asked for a rerun; the second (a page run) ended
    assert (at.session_state["page_starts"], at.session_state["page_end"]) == (2, 1)


def test_open_mode_runs_the_body(monkeypatch, tmp_path):
    monkeypatch.delenv("INNOMAP_USERS", raising=False)
    monkeypatch.delenv("INNOMAP_TRUSTED_HEADER", raising=False)
    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))
    at = _app().run()
    assert not at.exception
    assert at.session_state["body_runs"] == 1  # open mode: anyone on this machine
