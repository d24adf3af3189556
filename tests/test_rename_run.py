"""Renaming a saved run (issue 27): ``project rename-run`` in both stores — by id or name,
names unique in the project (the check ``--save-run`` uses), audited, role-checked,
refused from a stale read, and undoable (the run's old name comes back)."""

from __future__ import annotations

import json

import pytest

from layers import auth
from layers import project as P
from tests.cli_run import run_cli
from tests.conftest import project_in_store
from tests.tiny_project import make_project

STORES = ["gpkg", "postgis"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The tiny project with two runs: 方案A (named) and one saved without a name."""
    folder = tmp_path_factory.mktemp("rr")
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        p = make_project(folder)
        kw = {"analysis": "coverage", "request": {"a": 1}, "summary": {"b": 2}}
        P.save_run(p, title="覆盖", name="方案A", **kw)
        P.save_run(P.open_project(p.ref), title="无名", **kw)
    finally:
        auth.set_actor(None)
    return folder / "p.gpkg"


@pytest.fixture()
def ref(request, base, tmp_path):
    store = request.param
    server = request.getfixturevalue("pg_server") if store == "postgis" else None
    return project_in_store(store, base, tmp_path, label="rr", server=server)


def _names(ref) -> dict[str, str]:
    return {r.id: r.name for r in P.open_project(ref).runs}


def _ids(ref) -> tuple[str, str]:
    """``(id of 方案A, id of the unnamed run)``."""
    runs = P.open_project(ref).runs
    return next(r.id for r in runs if r.name), next(r.id for r in runs if not r.name)


@pytest.mark.parametrize("ref", STORES, indirect=True)
def test_cli_rename_run_by_name_and_id_then_undo_twice(ref):
    before = _names(ref)
    named, unnamed = _ids(ref)
    r = run_cli("project", "rename-run", "--project", ref, "方案A", "方案B", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["detail"] == {"run": named, "from": "方案A", "to": "方案B"}
    assert "重命名" in out["message_zh"] and "renamed" in out["message_en"]
    v = out["version"]
    r = run_cli("project", "rename-run", "--project", ref, unnamed, "现状", "--if-version", v)
    assert r.returncode == 0, r.stderr
    assert _names(ref) == {named: "方案B", unnamed: "现状"}
    # the new name finds the run (as compare --runs does)
    r = run_cli("project", "rename-run", "--project", ref, "现状", "现状2020")
    assert r.returncode == 0, r.stderr
    audit = json.loads(run_cli("project", "audit", "--project", ref, "--json").stdout)
    assert [a["action"] for a in audit][-3:] == ["rename_run"] * 3
    r = run_cli("project", "undo", "--project", ref)
    assert r.returncode == 0 and "重命名分析" in r.stdout and "rename a run" in r.stdout
    assert _names(ref) == {named: "方案B", unnamed: "现状"}
    run_cli("project", "undo", "--project", ref)
    run_cli("project", "undo", "--project", ref)
    assert _names(ref) == before == {named: "方案A", unnamed: ""}  # unnamed again


@pytest.mark.parametrize("ref", STORES, indirect=True)
def test_names_stay_unique_and_bad_requests_name_the_fix(ref):
    named, unnamed = _ids(ref)
    v = P.open_project(ref).version
    # the check --save-run uses, compared under zone_key (full-width/case/space folded)
    r = run_cli("project", "rename-run", "--project", ref, unnamed, " 方案Ａ ")
    assert r.returncode == 2 and "already in the project" in r.stderr and "已有" in r.stderr
    r = run_cli("project", "rename-run", "--project", ref, "没有这个", "x")
    assert r.returncode == 2 and "no run" in r.stderr and named in r.stderr
    r = run_cli("project", "rename-run", "--project", ref, named, "  ")
    assert r.returncode == 2 and "cannot be empty" in r.stderr
    r = run_cli("project", "rename-run", "--project", ref, named, "x", "--if-version", v - 1)
    assert r.returncode == 2 and "changed since" in r.stderr
    assert P.open_project(ref).version == v and _names(ref)[named] == "方案A"
    # the same name for the same run is no clash
    r = run_cli("project", "rename-run", "--project", ref, named, "方案A")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("ref", STORES, indirect=True)
def test_stale_viewer_and_in_lock_checks(ref):
    named, unnamed = _ids(ref)
    seen = P.open_project(ref)
    P.rename_layer(P.open_project(ref), "企业", "企业名单")  # another user's change
    with pytest.raises(P.ProjectConflictError, match="changed since"):
        P.rename_run(seen, named, "x")
    # another writer took the name after this project was read: refused inside the lock
    p = P.open_project(ref)
    other = P.open_project(ref)
    P.rename_run(other, named, "方案C")
    p.version = P.open_project(ref).version  # as if read after, but with stale run names
    with pytest.raises(P.ProjectConflictError, match="already in the project"):
        P.rename_run(p, unnamed, "方案C")
    auth.set_actor(auth.Actor("li", "viewer"))
    try:
        with pytest.raises(auth.PermissionDeniedError):
            P.rename_run(P.open_project(ref), named, "y")
    finally:
        auth.set_actor(None)
    assert [r["action"] for r in P.audit_log(p)][-1] == "denied:rename_run"
    assert _names(ref) == {named: "方案C", unnamed: ""}


def test_app_renames_a_run_beside_the_saved_runs_list_then_undoes(monkeypatch, base, tmp_path):
    from tests.conftest import app_on_page

    ref = project_in_store("gpkg", base, tmp_path, label="app")
    named, unnamed = _ids(ref)
    at = app_on_page(monkeypatch, ref, tmp_path / "home", "data_page")
    at.selectbox(key="data_run").set_value(unnamed).run()
    at.text_input(key=f"run_rename_new_{unnamed}").input("方案A")  # taken: refused
    at.button(key="run_rename_go").click().run()
    assert any("already in the project" in e.value or "已有" in e.value for e in at.error)
    assert _names(ref)[unnamed] == ""
    at.text_input(key=f"run_rename_new_{unnamed}").input("现状")
    at.button(key="run_rename_go").click().run()
    assert not at.exception, at.exception
    assert _names(ref) == {named: "方案A", unnamed: "现状"}
    assert any("现状" in s.value for s in at.success)
    assert any("现状" in d.value.astype(str).to_numpy().ravel() for d in at.dataframe)
    assert at.selectbox(key="data_run").format_func(unnamed) == f"现状 ({unnamed})"
    assert "重命名分析" in " ".join(c.value for c in at.caption)  # 撤销 names the change
    at.button(key="data_run_undo").click().run()
    assert not at.exception, at.exception
    assert _names(ref) == {named: "方案A", unnamed: ""}
    assert [r["action"] for r in P.audit_log(P.open_project(ref))][-2:] == ["rename_run", "undo"]
