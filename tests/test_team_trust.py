"""Team-server trust: SQL identifiers, database hosts, the users file (issue: a team server
that can be trusted). Hostile inputs are generated here; the PostGIS cases run against the
session's real throwaway PostGIS (tests/pg_server.py)."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import socket
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers import auth
from layers.project import ProjectError, ProjectLayer, add_layer, create_project, open_project
from layers.store_postgis import parse_ref
from tests.conftest import project_in_store

ROOT = Path(__file__).resolve().parents[1]

#: The header cell of the reported attack, then the other hostile shapes.
ATTACK = (
    'name") FROM STDIN WITH (FORMAT text); COMMIT; '
    "UPDATE innomap.projects SET name = 'pwned'; "
    "INSERT INTO innomap.audit (project, ts, action) VALUES ('x', 'now', 'forged'); "
    "CREATE TABLE innomap.left_behind (x int); --"
)
HOSTILE_COLUMNS = [
    ATTACK,
    'plain"quote',
    "semi;colon",
    "$$dollar$$",
    "$tag$ body $tag$",
    "x" * 5000,
    "长" * 30 + "甲",  # two names over 63 bytes that share their first 63 bytes
    "长" * 30 + "乙",
    "back\\slash",
    "new\nline",
    "'single'",
]


def _points(n: int, cols: dict) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(1)
    data = {"id": [f"p{i}" for i in range(n)], "name": [f"点{i}" for i in range(n)]}
    # values carry part of the name (NUL aside: the importer rejects NUL in values)
    data.update({c: [f"{j}:{c[:8]}".replace("\x00", "") for j in range(n)] for c in cols})
    lon = 119.20 + rng.uniform(-0.02, 0.02, n)
    lat = 34.60 + rng.uniform(-0.02, 0.02, n)
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(lon, lat), crs=4326)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("trust") / "base.gpkg"
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        create_project(path, name="信任测试", city="连云港市", counties=["海州区"])
    finally:
        auth.set_actor(None)
    return path


def _schema_state(server) -> dict:
    """Projects, audit rows and tables of the whole database (to show nothing else moved)."""
    import psycopg

    with psycopg.connect(server.url) as con:
        projects = con.execute(
            "SELECT name, version FROM innomap.projects ORDER BY name"
        ).fetchall()
        audit = con.execute("SELECT project, action FROM innomap.audit ORDER BY id").fetchall()
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'innomap' "
            "ORDER BY 1"
        ).fetchall()
    return {"projects": projects, "audit": audit, "tables": [t[0] for t in tables]}


def test_hostile_column_names_postgis(base, pg_server, tmp_path):
    """Hostile column names go through the PostGIS write and read paths as data: the layer
    round-trips exactly; no other project, audit row or table appears or changes."""
    victim = project_in_store("postgis", base, tmp_path, label="受害者", server=pg_server)
    target = project_in_store("postgis", base, tmp_path, label="目标", server=pg_server)
    before = _schema_state(pg_server)
    gdf = _points(7, {c: None for c in HOSTILE_COLUMNS})
    auth.set_actor(auth.Actor("ed", "editor"))
    try:
        stored = add_layer(
            open_project(target), ProjectLayer(name=ATTACK, kind="enterprises", gdf=gdf)
        )
    finally:
        auth.set_actor(None)
    after = _schema_state(pg_server)
    # only the target's version moved; one audit row for it; one new layer table
    tname = parse_ref(target)[1]
    assert [p for p in after["projects"] if p[0] != tname] == [
        p for p in before["projects"] if p[0] != tname
    ]
    assert after["audit"][: len(before["audit"])] == before["audit"]
    assert after["audit"][len(before["audit"]) :] == [(tname, "add_layer")]
    new_tables = set(after["tables"]) - set(before["tables"])
    assert len(new_tables) == 1 and new_tables.pop().startswith("lyr_")
    assert "left_behind" not in after["tables"]
    from layers import store_gpkg as store

    store._FRAMES.clear()
    back = open_project(target).layers[stored.name].gdf
    for c in HOSTILE_COLUMNS:
        assert c in back.columns, c[:40]
        assert list(back[c]) == list(gdf[c])
    assert parse_ref(victim)[1] in {p[0] for p in after["projects"]}  # not renamed


def test_hostile_column_names_geopackage(base, tmp_path):
    """The same names through the GeoPackage store: kept exactly, the project's own tables
    untouched (GDAL quotes identifiers; InnoMap's SQL takes values as parameters)."""
    import sqlite3

    path = tmp_path / "p.gpkg"
    path.write_bytes(base.read_bytes())
    tables_before = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    gdf = _points(5, {c: None for c in HOSTILE_COLUMNS})
    auth.set_actor(auth.Actor("ed", "editor"))
    try:
        stored = add_layer(
            open_project(path), ProjectLayer(name=ATTACK, kind="enterprises", gdf=gdf)
        )
    finally:
        auth.set_actor(None)
    from layers import store_gpkg as store

    store._FRAMES.clear()
    back = open_project(path).layers[stored.name].gdf
    for c in HOSTILE_COLUMNS:
        assert list(back[c]) == list(gdf[c]), c[:40]
    tables_after = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert tables_before <= tables_after
    assert all(
        t.startswith(("lyr_", "rtree_", "sqlite_", "gpkg", "trigger_", "innomap_"))
        or t in tables_before  # innomap_*: InnoMap's own (undo history, edit triggers)
        for t in tables_after - tables_before
    )


def test_crafted_csv_header_through_project_add(base, pg_server, tmp_path):
    """The reported attack: a crafted CSV header imported by an editor with ``project add``."""
    import cli

    ref = project_in_store("postgis", base, tmp_path, label="导入", server=pg_server)
    other = project_in_store("postgis", base, tmp_path, label="旁观", server=pg_server)
    before = _schema_state(pg_server)
    csv = tmp_path / "名单.csv"
    head = '"' + ATTACK.replace('"', '""') + '",名称,经度,纬度\n'
    csv.write_text(head + "a,企业甲,119.21,34.61\nb,企业乙,119.22,34.62\n", encoding="utf-8")
    auth.set_actor(auth.Actor("ed", "editor"))
    try:
        code = cli.main(
            [
                "project",
                "add",
                "--project",
                ref,
                str(csv),
                "--kind",
                "enterprises",
                "--crs",
                "WGS84",
            ]
        )
    finally:
        auth.set_actor(None)
    assert code == 0
    after = _schema_state(pg_server)
    assert "left_behind" not in after["tables"]
    assert not [a for a in after["audit"] if a[1] == "forged"]
    names = {p[0] for p in after["projects"]}
    assert "pwned" not in names and {p[0] for p in before["projects"]} == names
    lyr = open_project(ref).layers["名单"]
    assert len(lyr.gdf) == 2 and ATTACK in lyr.gdf.columns
    assert open_project(other).version == dict(before["projects"])[parse_ref(other)[1]]


@pytest.fixture(scope="module")
def law_ref(base, pg_server, tmp_path_factory) -> str:
    return project_in_store(
        "postgis", base, tmp_path_factory.mktemp("law"), label="定律", server=pg_server
    )


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    names=st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), min_codepoint=0),
            min_size=1,
            max_size=90,
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda s: s,
    )
)
def test_any_column_name_round_trips_in_postgis(law_ref, names):
    """Law: whatever the column names (NUL, quotes, any length), PostGIS keeps them exactly."""
    names = [n for n in names if n not in ("id", "name", "geometry")]
    if not names:
        return
    ref = law_ref
    gdf = _points(3, {n: None for n in names})
    auth.set_actor(auth.Actor("ed", "editor"))
    try:
        stored = add_layer(open_project(ref), ProjectLayer(name="L", kind="enterprises", gdf=gdf))
    finally:
        auth.set_actor(None)
    from layers import store_gpkg as store

    store._FRAMES.clear()
    back = open_project(ref).layers[stored.name].gdf
    for n in names:
        assert list(back[n]) == list(gdf[n])


@pytest.mark.parametrize(
    "suffix, reason",
    [
        ("?project=amp&other=1", "exactly project=NAME"),
        ("?project=hash#frag", "#"),
        ("?project=", "names no project"),
        ("?project=%20x", "space"),
        ("?project=a%00b", "control"),
    ],
)
def test_project_names_are_kept_exactly_or_refused(suffix, reason):
    from layers.store_postgis import parse_ref

    with pytest.raises(ProjectError, match=reason):
        parse_ref("postgresql://u@127.0.0.1:5/db" + suffix)


def test_project_name_with_url_syntax_round_trips(base, pg_server):
    from layers.store_postgis import parse_ref, pg_ref

    for name in ["a+b", "amp&other=1", "hash#frag", "百分比%25", "空 格"]:
        ref = pg_ref(pg_server.url, name)
        assert parse_ref(ref)[1] == name
    ref = pg_ref(pg_server.url, "a+b&c#d")
    from layers.project import copy_project

    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        copy_project(base, ref, force=True)
    finally:
        auth.set_actor(None)
    assert open_project(ref).ref == ref


# ---------------------------------------------------------------- database hosts
class _CleartextServer:
    """A fake PostgreSQL server on loopback: answers the startup message with
    AuthenticationCleartextPassword (``R``, length 8, code 3) and records what comes back."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import struct

        try:
            while True:
                con, _ = self.sock.accept()
                self.connections += 1
                con.settimeout(5)
                with con:
                    data = con.recv(8)
                    if len(data) == 8 and struct.unpack("!II", data)[1] == 80877103:  # SSLRequest
                        con.sendall(b"N")
                        data = con.recv(4)
                    (n,) = struct.unpack("!I", data[:4])
                    rest = data[4:]
                    while len(rest) < n - 4:
                        rest += con.recv(4096)
                    con.sendall(b"R" + struct.pack("!II", 8, 3))
                    try:
                        while chunk := con.recv(4096):
                            self.received += chunk
                    except OSError:
                        pass
        except OSError:
            return

    def close(self):
        self.sock.close()


def test_password_never_sent_in_cleartext(monkeypatch):
    """Even to a configured host, libpq refuses a cleartext password request (require_auth)."""
    from layers import store_postgis

    fake = _CleartextServer()
    try:
        monkeypatch.setenv("PGPASSWORD", "s3cret-do-not-send")
        monkeypatch.setenv("INNOMAP_PG_HOSTS", f"127.0.0.1:{fake.port}")
        store_postgis._engine.cache_clear()
        with pytest.raises(ProjectError) as exc:
            store_postgis.version(f"postgresql://innomap@127.0.0.1:{fake.port}/x?project=y")
        assert "s3cret" not in str(exc.value)
    finally:
        fake.close()
        store_postgis._engine.cache_clear()
    assert b"s3cret-do-not-send" not in fake.received


def test_unconfigured_host_is_refused_before_connecting(monkeypatch):
    from layers import store_postgis

    monkeypatch.delenv("INNOMAP_PG_HOSTS", raising=False)
    monkeypatch.setenv("INNOMAP_PROJECT", "postgresql://u@db.internal:5432/team?project=a")
    store_postgis.check_host("postgresql://u@db.internal:5432/team?project=b")  # configured
    with pytest.raises(ProjectError, match="INNOMAP_PG_HOSTS"):
        store_postgis.check_host("postgresql://u@127.0.0.1:6543/x?project=y")
    monkeypatch.setenv("INNOMAP_PG_HOSTS", "127.0.0.1:6543")
    store_postgis.check_host("postgresql://u@127.0.0.1:6543/x?project=y")


def test_link_to_foreign_host_opens_the_demo_in_app(monkeypatch, tmp_path):
    """A ?project= link to a host of the sender's choosing is not opened (open mode), and the
    fake server never hears from the app."""
    from streamlit.testing.v1 import AppTest

    fake = _CleartextServer()
    try:
        monkeypatch.setenv("INNOMAP_HOME", str(tmp_path))
        monkeypatch.setenv("PGPASSWORD", "s3cret-do-not-send")
        monkeypatch.delenv("INNOMAP_PROJECT", raising=False)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params["project"] = f"postgresql://innomap@127.0.0.1:{fake.port}/x?project=y"
        at.run()
        assert not at.exception
        assert at.session_state["project_ref"] == "demo"
    finally:
        fake.close()
    assert fake.connections == 0 and fake.received == b""


# ---------------------------------------------------------------- users file
@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch):
    """Cheaper argon2 parameters for the tests' many sign-ins (the same code path)."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(auth, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=8192))
    monkeypatch.setattr(auth, "_DUMMY_HASH", [])


def _signin_worker(path: str, name: str, password: str, n: int, out) -> None:
    ok = wrong = locked = 0
    for _ in range(n):
        try:
            auth.verify_password(path, name, password)
            ok += 1
        except auth.AuthError as exc:
            if "锁定" in str(exc):
                locked += 1
            else:
                wrong += 1
    out.put((name, password, ok, wrong, locked))


def _adder(path: str, names: list[str], out) -> None:
    for n in names:
        auth.add_user(path, n, role="viewer", password="password-" + n)
    out.put(("added", names))


def test_concurrent_signins_and_user_changes(tmp_path):
    """8 processes signing in (right and wrong) while users are added and an admin is demoted
    with a new password: no user lost, no role reverted, lock after exactly MAX_FAILURES."""
    path = str(tmp_path / "users.json")
    auth.add_user(path, "boss", role="admin", password="old-admin-pass")
    auth.add_user(path, "zhang", role="editor", password="zhang-pass-1")
    auth.add_user(path, "target", role="viewer", password="target-pass-1")
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [
        ctx.Process(target=_signin_worker, args=(path, "zhang", "zhang-pass-1", 4, q)),
        ctx.Process(target=_signin_worker, args=(path, "zhang", "zhang-pass-1", 4, q)),
        ctx.Process(target=_signin_worker, args=(path, "boss", "old-admin-pass", 3, q)),
        ctx.Process(target=_signin_worker, args=(path, "target", "wrong-wrong", 5, q)),
        ctx.Process(target=_signin_worker, args=(path, "target", "wrong-wrong", 5, q)),
        ctx.Process(target=_signin_worker, args=(path, "ghost", "wrong-wrong", 4, q)),
        ctx.Process(target=_adder, args=(path, [f"new{i}" for i in range(6)], q)),
        ctx.Process(target=_adder, args=(path, [f"more{i}" for i in range(5)], q)),
    ]
    for p in procs:
        p.start()
    # meanwhile: demote the admin with a password reset
    auth.add_user(path, "boss", role="viewer", password="new-viewer-pass", replace=True)
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    results = [q.get(timeout=5) for _ in procs]
    users = {u["name"]: u for u in auth.list_users(path)}
    assert {f"new{i}" for i in range(6)} | {f"more{i}" for i in range(5)} <= set(users)
    assert users["boss"]["role"] == "viewer"
    with pytest.raises(auth.AuthError):
        auth.verify_password(path, "boss", "old-admin-pass")
    assert auth.verify_password(path, "boss", "new-viewer-pass").role == "viewer"
    # 10 wrong attempts at "target": exactly MAX_FAILURES counted as wrong, the rest locked
    tgt = [r for r in results if r[0] == "target"]
    assert sum(r[3] for r in tgt) == auth.MAX_FAILURES
    assert sum(r[4] for r in tgt) == 10 - auth.MAX_FAILURES
    assert users["target"]["locked"]
    ghost = next(r for r in results if r[0] == "ghost")
    assert ghost[3] == min(4, auth.MAX_FAILURES)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_threads_count_failures_exactly(tmp_path):
    path = str(tmp_path / "users.json")
    auth.add_user(path, "li", role="viewer", password="li-password")
    answers: list[str] = []

    def wrong():
        try:
            auth.verify_password(path, "li", "nope-nope")
        except auth.AuthError as exc:
            answers.append("locked" if "锁定" in str(exc) else "wrong")

    threads = [threading.Thread(target=wrong) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers.count("wrong") == auth.MAX_FAILURES
    assert answers.count("locked") == 20 - auth.MAX_FAILURES


def test_unknown_and_locked_names_take_the_same_path(tmp_path, monkeypatch):
    """One argon2 verify per attempt whoever the name is, and the same answers: names cannot
    be told apart (counted calls, not timing)."""
    from argon2 import PasswordHasher

    path = str(tmp_path / "users.json")
    auth.add_user(path, "wang", role="viewer", password="wang-password")
    calls: list[str] = []
    real = PasswordHasher.verify

    def counting(self, hash_, password):
        calls.append("v")
        return real(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)

    def answers(name: str) -> list[str]:
        out = []
        for _ in range(auth.MAX_FAILURES + 2):
            calls.clear()
            try:
                auth.verify_password(path, name, "bad-password")
            except auth.AuthError as exc:
                out.append(str(exc))
            assert calls == ["v"]
        return out

    known, unknown = answers("wang"), answers("nobody")
    assert known == unknown
    assert "锁定" in known[-1]
    failures = json.loads(Path(path + ".failures").read_text(encoding="utf-8"))
    assert "nobody" in failures
    assert "nobody" not in {u["name"] for u in auth.list_users(path)}
