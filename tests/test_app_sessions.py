"""Sessions of the team server (issue 22): sign-out, idle time-out and a change of user drop
the project and every per-user key; the project is checked against the user's rights on
every rerun; recent projects are per user; open mode serves loopback only; the CLI's OS
identity is the process's real uid; names are shown as text, never Markdown."""

from __future__ import annotations

import pwd

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from layers import auth
from tests.conftest import ROOT

PASSWORD = "sessions-密码-1"


@pytest.fixture(scope="module")
def base_project(tmp_path_factory):
    """One small writable project (created once, copied per test)."""
    from layers.project import create_project

    folder = tmp_path_factory.mktemp("sess")
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        create_project(folder / "base.gpkg", name="会话测试", city="连云港市", counties=["海州区"])
    finally:
        auth.set_actor(None)
    return folder / "base.gpkg"


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    f = tmp_path_factory.mktemp("users") / "users.json"
    for name, role in (("ada", "admin"), ("vera", "viewer"), ("ed", "editor")):
        auth.add_user(f, name, role=role, password=PASSWORD)
    return f


@pytest.fixture()
def users(users_file, tmp_path, monkeypatch):
    f = users_file
    monkeypatch.setenv("INNOMAP_USERS", str(f))
    monkeypatch.delenv("INNOMAP_TRUSTED_HEADER", raising=False)
    monkeypatch.delenv("INNOMAP_PROJECT", raising=False)
    monkeypatch.delenv("INNOMAP_PROJECTS", raising=False)
    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))
    yield f
    auth.set_actor(None)


@pytest.fixture()
def bind():
    """Set the app's ``server.address`` for AppTest (restored afterwards)."""
    before = st_config.get_option("server.address")
    yield lambda address: st_config.set_option("server.address", address)
    st_config.set_option("server.address", before)


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)


def _sign_in(at: AppTest, name: str) -> AppTest:
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click()
    return at.run()


def _private_copy(base_project, tmp_path) -> str:
    """A project outside the team's list (only an admin may open it)."""
    p = tmp_path / "private" / "私有.gpkg"
    p.parent.mkdir()
    p.write_bytes(base_project.read_bytes())
    return str(p)


def _admin_opens(at: AppTest, ref: str) -> AppTest:
    at.sidebar.text_input(key="prj_open_path").input(ref)
    at = at.run()
    at.sidebar.button(key="prj_open").click()
    at = at.run()
    assert at.session_state["project_ref"] == ref
    return at


def test_sign_out_drops_the_project_and_the_users_state(users, base_project, tmp_path):
    from ui import state

    private = _private_copy(base_project, tmp_path)
    at = _admin_opens(_sign_in(_app().run(), "ada"), private)
    auth.set_actor(auth.Actor("ada", "admin"))
    assert state.recent_projects() == [private]  # the admin's own recent list
    auth.set_actor(None)
    at.session_state["coverage_result"] = "ada's result"  # a per-user result
    at.session_state["imp_digest"] = "ada's upload"
    at.sidebar.button(key="signout").click()
    at = at.run()
    assert [t.value for t in at.title] == ["InnoMap 创新资源一张图 · 登录"]
    assert at.query_params.get("project") in (None, [])
    for k in ("project_ref", "coverage_result", "imp_digest", "auth_user"):
        assert k not in at.session_state, k
    at = _sign_in(at, "vera")  # the next user of the same tab
    assert not at.exception
    assert at.session_state["project_ref"] == "demo"
    assert "私有" not in str([m.value for m in at.sidebar.markdown])


def test_idling_out_drops_the_project_and_the_users_state(
    users, base_project, tmp_path, monkeypatch
):
    private = _private_copy(base_project, tmp_path)
    at = _sign_in(_app().run(), "ada")
    at.session_state["project_ref"] = private
    at.session_state["site_result"] = "ada's sites"
    at = at.run()
    assert at.session_state["project_ref"] == private
    assert at.query_params.get("project") in (private, [private])
    monkeypatch.setenv("INNOMAP_IDLE_MINUTES", "0")
    at.session_state["auth_user"]["last"] -= 5
    at = at.run()
    assert [t.value for t in at.title] == ["InnoMap 创新资源一张图 · 登录"]
    assert any("未操作" in i.value for i in at.info)
    assert at.query_params.get("project") in (None, [])
    for k in ("project_ref", "site_result", "auth_user"):
        assert k not in at.session_state, k


def test_a_change_of_user_drops_the_state(users, base_project, tmp_path):
    private = _private_copy(base_project, tmp_path)
    at = _admin_opens(_sign_in(_app().run(), "ada"), private)
    at.session_state["site_result"] = "ada's sites"
    # the same session, now held by another user (e.g. a proxy header that changed)
    at.session_state["auth_user"] = {"name": "vera", "role": "viewer", "last": 1e18}
    at = at.run()
    assert not at.exception
    assert "site_result" not in at.session_state
    assert at.session_state["project_ref"] == "demo"
    assert any("当前用户: vera" in c.value for c in at.sidebar.caption)
    at = at.run()  # and vera stays signed in
    assert any("当前用户: vera" in c.value for c in at.sidebar.caption)


def test_rights_are_checked_on_every_rerun(users, base_project, tmp_path, monkeypatch):
    team = tmp_path / "团队.gpkg"
    team.write_bytes(base_project.read_bytes())
    monkeypatch.setenv("INNOMAP_PROJECTS", str(team))
    at = _sign_in(_app().run(), "ed")
    at = at.sidebar.selectbox(key="prj_recent").set_value(str(team)).run()  # opens when chosen
    assert at.session_state["project_ref"] == str(team)
    at.session_state["coverage_result"] = "a result on the team project"
    monkeypatch.setenv("INNOMAP_PROJECTS", "")  # taken off the team's list
    at = at.run()
    assert not at.exception
    assert at.session_state["project_ref"] == "demo"
    assert "coverage_result" not in at.session_state
    # and a reference put into the session directly is refused the same way
    at.session_state["project_ref"] = str(team)
    at = at.run()
    assert at.session_state["project_ref"] == "demo"


def test_recent_projects_are_per_user(users, base_project, tmp_path):
    from ui import state

    private = _private_copy(base_project, tmp_path)
    auth.set_actor(auth.Actor("ada", "admin"))  # the admin opened it (see the sign-out test)
    state.remember_project(private)
    assert state.recent_projects() == [private]
    auth.set_actor(auth.Actor("vera", "viewer"))
    assert state.recent_projects() == []
    assert private not in state.team_projects()
    auth.set_actor(None)
    # a viewer typing it in the URL gets the demo, and does not see it in the list
    at = _app()
    at.query_params["project"] = private
    at = _sign_in(at.run(), "vera")
    assert at.session_state["project_ref"] == "demo"
    assert private not in at.sidebar.selectbox(key="prj_recent").options


# ------------------------------------------------------------------ open mode on loopback
@pytest.fixture()
def open_mode(monkeypatch, tmp_path):
    monkeypatch.delenv("INNOMAP_USERS", raising=False)
    monkeypatch.delenv("INNOMAP_TRUSTED_HEADER", raising=False)
    monkeypatch.delenv("INNOMAP_ALLOW_OPEN_NETWORK", raising=False)
    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))


def test_config_listens_on_loopback():
    import tomllib

    conf = tomllib.loads((ROOT / ".streamlit/config.toml").read_text(encoding="utf-8"))
    assert conf["server"]["address"] == "127.0.0.1"
    assert conf["server"]["maxUploadSize"] == 200  # the other settings kept


def test_open_mode_refuses_a_non_loopback_address(open_mode, bind, monkeypatch):
    bind(None)  # Streamlit's default: every interface
    at = _app().run()
    assert any("回环" in e.value and "INNOMAP_ALLOW_OPEN_NETWORK" in e.value for e in at.error)
    assert not any("开放模式" in c.value for c in at.sidebar.caption)
    assert not at.title or "InnoMap" not in at.title[0].value
    monkeypatch.setenv("INNOMAP_ALLOW_OPEN_NETWORK", "1")  # said explicitly: served
    at = _app().run()
    assert not at.error and not at.exception
    assert any("开放模式" in c.value for c in at.sidebar.caption)


def test_open_mode_serves_loopback(open_mode, bind):
    bind("::1")  # 127.0.0.1 (the config) in every other AppTest
    at = _app().run()
    assert not at.error and not at.exception
    assert any("开放模式" in c.value for c in at.sidebar.caption)


def test_serve_refuses_an_open_network_bind_without_allow_open(open_mode, monkeypatch, capsys):
    import os

    import cli

    calls = []
    monkeypatch.setattr(os, "execv", lambda exe, argv: calls.append((argv, dict(os.environ))))
    assert cli.main(["serve", "--address", "0.0.0.0", "--port", "8599"]) == 2
    assert not calls
    assert "--allow-open" in capsys.readouterr().err
    cli.main(["serve", "--address", "0.0.0.0", "--port", "8599", "--allow-open"])
    argv, env = calls[-1]
    assert argv[argv.index("--server.address") + 1] == "0.0.0.0"
    assert env["INNOMAP_ALLOW_OPEN_NETWORK"] == "1"
    monkeypatch.delenv("INNOMAP_ALLOW_OPEN_NETWORK", raising=False)
    cli.main(["serve", "--port", "8599"])  # the default: loopback, no flag needed
    argv, env = calls[-1]
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert "INNOMAP_ALLOW_OPEN_NETWORK" not in env


# ------------------------------------------------------------------ OS identity
def test_cli_identity_is_the_real_uid_not_the_environment(monkeypatch, tmp_path):
    me = pwd.getpwuid(__import__("os").getuid()).pw_name
    roles = tmp_path / "roles.txt"
    roles.write_text(f"boss = admin\n{me} = editor\n", encoding="utf-8")
    monkeypatch.delenv("INNOMAP_USERS", raising=False)
    monkeypatch.setenv("INNOMAP_TRUSTED_HEADER", "X-Remote-User")
    monkeypatch.setenv("INNOMAP_ROLE_MAP", str(roles))
    for var in ("USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, "boss")
    actor = auth.cli_actor(None, None)
    assert actor == auth.Actor(me, "editor")
    monkeypatch.delenv("INNOMAP_TRUSTED_HEADER")
    monkeypatch.delenv("INNOMAP_USER", raising=False)
    auth.set_actor(None)
    assert auth.current_actor() == auth.Actor(me, "admin")  # open mode: the local user


# ------------------------------------------------------------------ names as text
HOSTILE = [
    "![x](http://example.invalid/p.png)",
    "**bold** _it_ `code` <img src=http://example.invalid/i.png>",
    "$x^2$ and $ dollars",
    ":red[red] [link](javascript:alert(1))",
    "# heading\n- item\x07\x1b",
]


def test_md_text_shows_names_as_typed():
    from markdown_it import MarkdownIt

    from ui.common import md_text

    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    for name in HOSTILE:
        html = md.render(md_text(name))
        assert "<img" not in html and "<a " not in html and "<strong" not in html, html
        assert "<h1" not in html and "<li" not in html and "<code" not in html, html
        # the text survives (control characters become spaces)
        shown = md.render(md_text(name)).replace("<br />", "")
        for word in ("example.invalid", "bold", "dollars", "red", "heading"):
            if word in name:
                assert word in shown


def test_project_and_zone_names_are_not_markdown(open_mode, base_project, tmp_path, monkeypatch):
    """A project named with an image shows as text in the panel, the data and export pages."""
    import json
    import sqlite3

    p = tmp_path / "img.gpkg"
    p.write_bytes(base_project.read_bytes())
    name = HOSTILE[0]
    with sqlite3.connect(p) as con:  # the name as another tool might have written it
        rows = con.execute("select key from innomap_project where key='name'").fetchall()
        assert rows, "the project's name moved out of innomap_project"
        con.execute("update innomap_project set value=? where key='name'", (json.dumps(name),))
    monkeypatch.setenv("INNOMAP_PROJECT", str(p))
    at = _app().run()
    assert not at.exception
    for page in ("data_page", "export_page"):
        at.switch_page(f"ui/pages/{page}.py").run()
        assert not at.exception, page
        texts = [m.value for m in (*at.markdown, *at.caption)]
        assert any("example" in v for v in texts), page
        assert not any("![x](" in v for v in texts), texts
