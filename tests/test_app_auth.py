"""AppTest of the sign-in gate: users file, trusted header, viewers' pages."""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from layers import auth
from tests.conftest import ROOT

PASSWORD = "apptest-密码-1"


@pytest.fixture()
def users(tmp_path, monkeypatch):
    f = tmp_path / "users.json"
    auth.add_user(f, "vera", role="viewer", password=PASSWORD)
    auth.add_user(f, "ed", role="editor", password=PASSWORD)
    monkeypatch.setenv("INNOMAP_USERS", str(f))
    monkeypatch.delenv("INNOMAP_TRUSTED_HEADER", raising=False)
    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))
    yield f
    auth.set_actor(None)


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)


def _sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    at.button[0].click()
    return at.run()


def test_sign_in_required_and_wrong_password_refused(users):
    at = _app().run()
    assert [t.value for t in at.title] == ["InnoMap 创新资源一张图 · 登录"]
    assert not at.exception
    at = _sign_in(at, "vera", "wrong-password")
    assert any("用户名或密码错误" in e.value for e in at.error)
    assert "auth_user" not in at.session_state


def test_viewer_signed_in_sees_the_map_but_cannot_import(users):
    at = _sign_in(_app().run(), "vera", PASSWORD)
    assert not at.exception
    assert any("当前用户: vera" in c.value for c in at.sidebar.caption)
    page = AppTest.from_file(str(ROOT / "ui/pages/import_page.py"), default_timeout=120).run()
    assert any("编辑者" in i.value for i in page.info)  # no actor in this run: refused too
    assert not page.get("file_uploader")


def test_idle_session_ends(users, monkeypatch):
    at = _sign_in(_app().run(), "ed", PASSWORD)
    assert any("当前用户: ed" in c.value for c in at.sidebar.caption)
    monkeypatch.setenv("INNOMAP_IDLE_MINUTES", "0")
    at.session_state["auth_user"]["last"] -= 5
    at = at.run()
    assert [t.value for t in at.title] == ["InnoMap 创新资源一张图 · 登录"]
    assert any("未操作" in i.value for i in at.info)


def test_header_mode_refuses_a_non_loopback_bind(monkeypatch, tmp_path):
    monkeypatch.delenv("INNOMAP_USERS", raising=False)
    monkeypatch.setenv("INNOMAP_TRUSTED_HEADER", "X-Remote-User")
    roles = tmp_path / "roles.txt"
    roles.write_text("* = viewer\n", encoding="utf-8")
    monkeypatch.setenv("INNOMAP_ROLE_MAP", str(roles))
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")  # .streamlit/config.toml says 127.0.0.1
    try:
        at = _app().run()
    finally:
        config.set_option("server.address", before)
    assert any("loopback" in e.value for e in at.error)
    assert not at.title or "登录" not in at.title[0].value
    assert not at.sidebar.caption or all("当前用户" not in c.value for c in at.sidebar.caption)


def test_open_mode_says_so(monkeypatch):
    monkeypatch.delenv("INNOMAP_USERS", raising=False)
    monkeypatch.delenv("INNOMAP_TRUSTED_HEADER", raising=False)
    at = _app().run()
    assert any("开放模式" in c.value for c in at.sidebar.caption)


def test_postgis_password_from_the_apps_secrets(monkeypatch):
    monkeypatch.delenv("INNOMAP_USERS", raising=False)
    monkeypatch.delenv("INNOMAP_TRUSTED_HEADER", raising=False)
    monkeypatch.setenv("PGPASSWORD", "")  # records the original: restored after the test
    monkeypatch.delenv("PGPASSWORD")
    at = _app()
    at.secrets["postgres"] = {"password": "from-secrets-1"}
    at.run()
    assert os.environ.get("PGPASSWORD") == "from-secrets-1"
    assert "from-secrets-1" not in str([e.value for e in at.markdown])


def test_viewer_geocoding_keeps_no_cache_in_the_project(users, tmp_path):
    from layers.geocode import project_keeps_cache

    class P:
        ref = str(tmp_path / "p.gpkg")
        read_only = False

    (tmp_path / "p.gpkg").write_bytes(b"")
    auth.set_actor(auth.verify_password(users, "vera", PASSWORD))
    assert not project_keeps_cache(P())
    auth.set_actor(auth.verify_password(users, "ed", PASSWORD))
    assert project_keeps_cache(P())
