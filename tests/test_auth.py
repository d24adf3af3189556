"""Sign-in and roles: enforced in the store, below the UI; passwords never in plain text."""

from __future__ import annotations

import io
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli
from layers import auth
from layers.project import (
    ProjectLayer,
    add_layer,
    add_network,
    audit_log,
    create_project,
    delete_run,
    open_project,
    remove_layer,
    save_as,
    save_run,
)
from tests.conftest import project_in_store

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "s3cret-密码-xyz"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "base.gpkg"
    create_project(path, name="权限测试", city="连云港市", counties=["海州区"])
    return path


@pytest.fixture(params=["gpkg", "postgis"])
def project_ref(request, base, tmp_path) -> str:
    server = request.getfixturevalue("pg_server") if request.param == "postgis" else None
    return project_in_store(request.param, base, tmp_path, label="权限", server=server)


@pytest.fixture()
def users(tmp_path, monkeypatch) -> Path:
    """Sign-in mode on, with one user of each role; the acting user is reset afterwards."""
    f = tmp_path / "users.json"
    for name, role in (("vera", "viewer"), ("ed", "editor"), ("ada", "admin")):
        auth.add_user(f, name, role=role, password=PASSWORD)
    monkeypatch.setenv("INNOMAP_USERS", str(f))
    monkeypatch.delenv("INNOMAP_TRUSTED_HEADER", raising=False)
    yield f
    auth.set_actor(None)


def _layer(n: int = 3) -> ProjectLayer:
    gdf = gpd.GeoDataFrame(
        {"id": [f"e{i}" for i in range(n)], "name": [f"企业{i}" for i in range(n)]},
        geometry=gpd.points_from_xy([119.2 + i * 0.001 for i in range(n)], [34.6] * n),
        crs=4326,
    )
    return ProjectLayer(
        name="企业", kind="enterprises", gdf=gdf, source_file="e.csv", crs_in="WGS84"
    )


# ---------------------------------------------------------------- roles in the store
def test_viewer_forged_add_layer_is_refused_and_audited(users, project_ref):
    p = open_project(project_ref)
    auth.set_actor(auth.verify_password(users, "vera", PASSWORD))
    with pytest.raises(auth.PermissionDeniedError, match="editor"):
        add_layer(p, _layer())
    fresh = open_project(project_ref)
    assert "企业" not in fresh.layers and fresh.version == p.version  # nothing written
    last = audit_log(fresh)[-1]
    assert last["action"] == "denied:add_layer" and last["user"] == "vera"


@pytest.mark.parametrize("who", [None, "vera"])
def test_no_change_without_the_editor_role(users, project_ref, who):
    """Every change the store offers is refused below the UI, and each refusal is audited."""
    auth.set_actor(auth.Actor("ed", "editor"))
    p = open_project(project_ref)
    run = save_run(p, analysis="coverage", title="t", request={}, summary={})
    edges = gpd.GeoDataFrame(
        {"u": [0]},
        geometry=gpd.GeoSeries.from_wkt(["LINESTRING (119.2 34.6, 119.21 34.6)"]),
        crs=4326,
    )
    auth.set_actor(auth.verify_password(users, who, PASSWORD) if who else None)
    changes = {
        "add_layer": lambda: add_layer(p, _layer()),
        "replace_layer": lambda: add_layer(p, _layer(), replace=True),
        "save_run": lambda: save_run(p, analysis="coverage", title="t", request={}, summary={}),
        "delete_run": lambda: delete_run(p, run.id),
        "remove_layer": lambda: remove_layer(p, "行政区"),
        "add_network": lambda: add_network(p, name="路网", edges=edges),
    }
    for change in changes.values():
        with pytest.raises(
            auth.PermissionDeniedError, match="sign in" if who is None else "editor"
        ):
            change()
    fresh = open_project(project_ref)
    assert fresh.version == p.version and [r.id for r in fresh.runs] == [run.id]
    assert set(fresh.layers) == set(p.layers) and not fresh.networks
    denied = [r for r in audit_log(fresh) if r["action"].startswith("denied:")]
    assert [r["action"] for r in denied] == [f"denied:{a}" for a in changes]
    assert {r["user"] for r in denied} == {who or "anonymous"}


def test_editor_changes_and_audit_names_the_user(users, project_ref):
    p = open_project(project_ref)
    auth.set_actor(auth.verify_password(users, "ed", PASSWORD))
    add_layer(p, _layer())
    save_run(p, analysis="coverage", title="t", request={"a": 1}, summary={"b": 2})
    log = audit_log(open_project(project_ref))
    assert [(r["user"], r["action"]) for r in log[-2:]] == [("ed", "add_layer"), ("ed", "save_run")]


def test_projects_need_the_admin_role(users, project_ref, tmp_path):
    p = open_project(project_ref)
    auth.set_actor(auth.verify_password(users, "ed", PASSWORD))
    with pytest.raises(auth.PermissionDeniedError, match="admin"):
        save_as(p, tmp_path / "copy.gpkg")
    with pytest.raises(auth.PermissionDeniedError, match="admin"):
        create_project(tmp_path / "new.gpkg", name="x", city="连云港市")
    assert not (tmp_path / "copy.gpkg").exists() and not (tmp_path / "new.gpkg").exists()
    auth.set_actor(auth.verify_password(users, "ada", PASSWORD))
    assert save_as(p, tmp_path / "copy.gpkg").name == p.name


def test_open_mode_is_the_local_admin(monkeypatch, base, tmp_path):
    monkeypatch.delenv("INNOMAP_USERS", raising=False)
    monkeypatch.delenv("INNOMAP_TRUSTED_HEADER", raising=False)
    monkeypatch.setenv("INNOMAP_USER", "planner")
    assert auth.auth_mode() == "open" and auth.current_actor() == auth.Actor("planner", "admin")
    path = tmp_path / "o.gpkg"
    path.write_bytes(base.read_bytes())
    add_layer(open_project(path), _layer())
    assert audit_log(open_project(path))[-1]["user"] == "planner"


# ---------------------------------------------------------------- passwords
def test_passwords_are_argon2_hashes_never_plain(users, caplog):
    text = users.read_text(encoding="utf-8")
    assert PASSWORD not in text
    data = json.loads(text)
    assert all(u["hash"].startswith("$argon2id$") for u in data["users"].values())
    assert stat.S_IMODE(os.stat(users).st_mode) == 0o600
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(auth.AuthError) as exc:
            auth.verify_password(users, "ed", PASSWORD + "x")
    assert PASSWORD not in str(exc.value) and PASSWORD not in caplog.text


def test_one_message_for_unknown_user_and_wrong_password(users):
    with pytest.raises(auth.AuthError) as a:
        auth.verify_password(users, "nobody", PASSWORD)
    with pytest.raises(auth.AuthError) as b:
        auth.verify_password(users, "ed", "wrong-password")
    assert str(a.value) == str(b.value)


def test_lockout_after_repeated_failures_then_expiry(users):
    t0 = 1_000_000.0
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(auth.AuthError, match="wrong"):
            auth.verify_password(users, "ed", "bad-password", now=t0)
    with pytest.raises(auth.AuthError, match="locked"):  # even the right password
        auth.verify_password(users, "ed", PASSWORD, now=t0 + 1)
    later = t0 + auth.LOCK_MINUTES * 60 + 1
    assert auth.verify_password(users, "ed", PASSWORD, now=later).role == "editor"


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pw=st.text(min_size=8, max_size=40).filter(lambda s: "\n" not in s and "\r" not in s))
def test_password_round_trip(tmp_path, pw):
    f = tmp_path / "u.json"
    auth.add_user(f, "u1", role="viewer", password=pw, replace=True)
    assert auth.verify_password(f, "u1", pw) == auth.Actor("u1", "viewer")
    assert json.dumps(pw, ensure_ascii=False)[1:-1] not in f.read_text(encoding="utf-8")


# ---------------------------------------------------------------- trusted header
@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("", False),
        (None, False),
        ("10.1.2.3", False),
        ("::", False),
    ],
)
def test_header_mode_refuses_non_loopback_bind(monkeypatch, address, ok):
    monkeypatch.delenv("INNOMAP_USERS", raising=False)
    monkeypatch.setenv("INNOMAP_TRUSTED_HEADER", "X-Remote-User")
    if ok:
        auth.check_bind(address)
    else:
        with pytest.raises(auth.AuthError, match=r"loopback|127\.0\.0\.1"):
            auth.check_bind(address)


def test_role_map_and_header_actor(tmp_path):
    f = tmp_path / "roles.txt"
    f.write_text("# team\nzhang = editor\nli=admin\n* = viewer\n", encoding="utf-8")
    roles = auth.load_role_map(f)
    assert auth.header_actor("zhang", roles) == auth.Actor("zhang", "editor")
    assert auth.header_actor("wang", roles) == auth.Actor("wang", "viewer")
    assert auth.header_actor("", roles) is None
    assert auth.header_actor("bad name<script>", roles) is None
    f.write_text("zhang = root\n", encoding="utf-8")
    with pytest.raises(auth.AuthError, match="unknown roles"):
        auth.load_role_map(f)


def test_serve_refuses_non_loopback_in_header_mode(tmp_path):
    env = {**os.environ, "INNOMAP_TRUSTED_HEADER": "X-Remote-User"}
    env.pop("INNOMAP_USERS", None)
    r = subprocess.run(
        [sys.executable, "cli.py", "serve", "--address", "0.0.0.0", "--port", "8599"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "loopback" in r.stderr and "Traceback" not in r.stderr


# ---------------------------------------------------------------- command line
def _cli(argv, stdin: str, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(argv)
    out = capsys.readouterr()
    auth.set_actor(None)
    return code, out.out, out.err


def test_cli_user_add_and_signed_in_commands(tmp_path, monkeypatch, capsys, base):
    users = tmp_path / "team.json"
    code, out, _ = _cli(
        ["user", "add", "zhou", "--role", "viewer", "--users", str(users), "--password-stdin"],
        PASSWORD + "\n",
        monkeypatch,
        capsys,
    )
    assert code == 0 and PASSWORD not in out and PASSWORD not in users.read_text(encoding="utf-8")
    code, _, err = _cli(
        ["user", "add", "x", "--role", "editor", "--users", str(users)], "", monkeypatch, capsys
    )
    assert code == 2 and "--password-stdin" in err
    code, out, _ = _cli(["user", "list", "--users", str(users), "--json"], "", monkeypatch, capsys)
    assert json.loads(out) == [{"name": "zhou", "role": "viewer", "locked": False}]

    monkeypatch.setenv("INNOMAP_USERS", str(users))
    prj = tmp_path / "p.gpkg"
    prj.write_bytes(base.read_bytes())
    csv = tmp_path / "e.csv"
    csv.write_text("id,name,lon,lat\ne1,甲,119.2,34.6\n", encoding="utf-8")
    add = ["project", "add", "--project", str(prj), str(csv), "--kind", "enterprises"]
    code, _, err = _cli(
        ["--as-user", "zhou", "--password-stdin", *add], PASSWORD + "\n", monkeypatch, capsys
    )
    assert code == 2 and "permission denied" in err and "Traceback" not in err
    code, _, err = _cli(
        ["--as-user", "zhou", "--password-stdin", *add], "wrong\n", monkeypatch, capsys
    )
    assert code == 2 and "wrong user name or password" in err
    code, _, err = _cli(add, "", monkeypatch, capsys)  # nobody signed in
    assert code == 2 and "sign in" in err
    assert "企业" not in " ".join(open_project(prj).layers)
    code, out, _ = _cli(
        ["project", "audit", "--project", str(prj), "--json"], "", monkeypatch, capsys
    )
    rows = json.loads(out)
    assert [r["action"] for r in rows].count("denied:add_layer") == 2
    assert PASSWORD not in out
