"""Housekeeping (issue 27): rename, merge, edit a zone, undo — in both stores, audited,
role-checked, refused as a conflict from a stale read, crash-safe. The oracle is the
project as it was read before each change (frames compared exactly)."""

from __future__ import annotations

import json
import sqlite3

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers import auth
from layers import project as P
from layers.registry import REGISTRY, normalise_columns
from tests.cli_run import run_cli
from tests.conftest import project_in_store
from tests.tiny_project import ZONE, lonlat, make_project

STORES = ["gpkg", "postgis"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hk")
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        p = make_project(folder)
        # a second incubator list (the same kind) with a rejected row, to merge
        more = p.layers["孵化器"].gdf.iloc[:1].copy()
        more["id"], more["name"] = "I9", "第二批孵化器"
        rejected = pd.DataFrame({"row": ["3"], "name": ["坏行"], "reason": ["lon: 缺失"]})
        P.add_layer(
            p,
            P.ProjectLayer(
                name="孵化器二", kind="incubators", gdf=more, source_file="b.csv", rejected=rejected
            ),
        )
    finally:
        auth.set_actor(None)
    return folder / "p.gpkg"


@pytest.fixture()
def ref(request, base, tmp_path):
    store = request.param
    server = request.getfixturevalue("pg_server") if store == "postgis" else None
    return project_in_store(store, base, tmp_path, label="hk", server=server)


def _frames(project) -> dict:
    return {n: (lyr.kind, lyr.gdf, lyr.rejected) for n, lyr in project.layers.items()}


def _same(a: dict, b: dict) -> None:
    assert list(a) == list(b)  # names and order
    for name, (kind, gdf, rej) in a.items():
        assert b[name][0] == kind
        assert_geodataframe_equal(gdf, b[name][1], check_like=False)
        pd.testing.assert_frame_equal(rej, b[name][2], check_dtype=False)


@pytest.mark.parametrize("ref", STORES, indirect=True)
def test_rename_merge_edit_then_undo_each_in_turn(ref):
    """Three changes, then three undos in a row: each undo gives back exactly the
    project before the change it reverts; every step is in the audit."""
    p0 = P.open_project(ref)
    before_rename = _frames(p0)
    P.rename_layer(p0, "企业", "企业名单")
    p1 = P.open_project(ref)
    assert "企业名单" in p1.layers and "企业" not in p1.layers
    assert list(p1.layers).index("企业名单") == list(p0.layers).index("企业名单")
    before_merge = _frames(p1)

    merged = P.merge_layers(p1, ["孵化器", "孵化器二"], name="全部孵化器")
    p2 = P.open_project(ref)
    m = p2.layers["全部孵化器"]
    assert merged.rows == m.rows == 3  # every row kept
    assert sorted(m.gdf["id"]) == ["I1", "I9", "M1"]
    assert m.gdf.set_index("id")["source_layer"].to_dict() == {
        "I1": "孵化器",
        "M1": "孵化器",
        "I9": "孵化器二",
    }
    assert m.rejected["source_layer"].tolist() == ["孵化器二"]
    assert "孵化器" not in p2.layers and "孵化器二" not in p2.layers
    before_zone = _frames(p2)

    P.edit_zone(p2, ZONE, name="新片区", subtype="高新区")
    p3 = P.open_project(ref)
    assert p3.zone_names() == ["新片区"]
    assert p3.zones["subtype"].tolist() == ["高新区"]
    assert p3.zones.geometry.iloc[0].equals(p2.zones.geometry.iloc[0])

    hist = P.history(p3)
    assert [h["action"] for h in hist[:3]] == ["edit_zone", "merge_layers", "rename_layer"]

    for expected, action in (
        (before_zone, "edit_zone"),
        (before_merge, "merge_layers"),
        (before_rename, "rename_layer"),
    ):
        cur = P.open_project(ref)
        seen = cur.version
        undone = P.undo(cur)
        assert undone["action"] == action
        after = P.open_project(ref)
        assert after.version == seen + 1  # other sessions see a change
        _same(expected, _frames(after))

    audit = [r["action"] for r in P.audit_log(P.open_project(ref))]
    assert audit[-6:] == [
        "rename_layer",
        "merge_layers",
        "edit_zone",
        "undo",
        "undo",
        "undo",
    ]
    last = json.loads(P.audit_log(P.open_project(ref))[-1]["detail"])
    assert last["undone"]["action"] == "rename_layer"


@pytest.mark.parametrize("ref", STORES, indirect=True)
def test_undo_brings_back_a_removed_layer_and_a_deleted_run(ref):
    p = P.open_project(ref)
    before = _frames(p)
    P.remove_layer(p, "孵化器二")
    rec = P.save_run(
        P.open_project(ref), analysis="coverage", title="t", request={"a": 1}, summary={"b": 2}
    )
    P.delete_run(P.open_project(ref), rec.id)
    assert not P.open_project(ref).runs
    assert P.undo(P.open_project(ref))["action"] == "delete_run"
    runs = P.open_project(ref).runs
    assert [(r.id, r.request, r.summary) for r in runs] == [(rec.id, {"a": 1}, {"b": 2})]
    assert P.undo(P.open_project(ref))["action"] == "save_run"
    assert not P.open_project(ref).runs
    assert P.undo(P.open_project(ref))["action"] == "remove_layer"
    _same(before, _frames(P.open_project(ref)))  # rejected rows back too


@pytest.mark.parametrize("ref", STORES, indirect=True)
def test_stale_undo_and_stale_changes_are_conflicts(ref):
    seen = P.open_project(ref)
    P.rename_layer(P.open_project(ref), "企业", "企业名单")  # another user's change
    for change in (
        lambda: P.undo(seen),
        lambda: P.rename_layer(seen, "科普场馆", "场馆"),
        lambda: P.merge_layers(seen, ["孵化器", "孵化器二"], name="x"),
        lambda: P.edit_zone(seen, ZONE, subtype="高新区"),
    ):
        with pytest.raises(P.ProjectConflictError, match="changed since"):
            change()
    now = P.open_project(ref)
    assert "企业名单" in now.layers and "场馆" not in now.layers and "x" not in now.layers
    assert now.zones["subtype"].tolist() == ["开发区"]
    # undo reverts the last change whoever made it
    assert P.undo(now)["action"] == "rename_layer"
    assert "企业" in P.open_project(ref).layers


@pytest.mark.parametrize("ref", STORES, indirect=True)
def test_viewers_are_refused_and_audited(ref):
    p = P.open_project(ref)
    auth.set_actor(auth.Actor("li", "viewer"))
    try:
        for change in (
            lambda: P.rename_layer(p, "企业", "x"),
            lambda: P.merge_layers(p, ["孵化器", "孵化器二"], name="x"),
            lambda: P.edit_zone(p, ZONE, name="x"),
            lambda: P.undo(p),
        ):
            with pytest.raises(auth.PermissionDeniedError):
                change()
    finally:
        auth.set_actor(None)
    denied = [r for r in P.audit_log(p) if r["action"].startswith("denied:")]
    assert [r["action"] for r in denied] == [
        "denied:rename_layer",
        "denied:merge_layers",
        "denied:edit_zone",
        "denied:undo",
    ]
    assert {r["user"] for r in denied} == {"li"}
    assert P.open_project(ref).version == p.version  # nothing written


@pytest.mark.parametrize("ref", STORES, indirect=True)
def test_zone_edits_go_through_the_import_checks(ref):
    p = P.open_project(ref)
    a, b = lonlat(p, 5000, 5000), lonlat(p, 6000, 6000)
    other = normalise_columns(
        gpd.GeoDataFrame(
            {"id": ["Z2"], "name": ["第二片区"], "subtype": ["产业园"], "source": ["t"]},
            geometry=[shapely.box(a[0], a[1], b[0], b[1])],
            crs=4326,
        ),
        REGISTRY["zones"],
    )
    P.add_layer(p, P.ProjectLayer(name="园区", kind="zones", gdf=other))
    p = P.open_project(ref)
    with pytest.raises(P.ProjectError, match="already in the project"):
        P.edit_zone(p, ZONE, name=" 第二片区 ")  # the same name under zone_key
    with pytest.raises(P.ProjectError, match="subtype"):
        P.edit_zone(p, ZONE, subtype="不存在的类型")
    with pytest.raises(P.ProjectError, match="must be a polygon"):
        P.edit_zone(p, ZONE, geometry=shapely.LineString([a, b]))
    with pytest.raises(P.ProjectError, match="no zone"):
        P.edit_zone(p, "没有这个片区", name="y")
    with pytest.raises(P.ProjectError, match="one kind"):
        P.merge_layers(p, ["孵化器", "科普场馆"], name="混合")
    with pytest.raises(P.ProjectError, match="already in the project"):
        P.rename_layer(p, "企业", "科普场馆")
    assert P.open_project(ref).version == p.version  # every refusal wrote nothing
    # merging two zone layers keeps both zones; a zone renamed in the merged layer stays unique
    P.merge_layers(p, ["开发区", "园区"], name="全部片区")
    p = P.open_project(ref)
    assert sorted(p.zone_names()) == sorted([ZONE, "第二片区"])
    P.edit_zone(p, "第二片区", name="第三片区")
    assert sorted(P.open_project(ref).zone_names()) == sorted([ZONE, "第三片区"])


def test_history_is_pruned_to_the_depth_with_the_tables_only_it_named(base, tmp_path, monkeypatch):
    monkeypatch.setenv("INNOMAP_UNDO_DEPTH", "2")
    ref = project_in_store("gpkg", base, tmp_path, label="depth")
    P.edit_zone(P.open_project(ref), ZONE, subtype="高新区")
    P.edit_zone(P.open_project(ref), ZONE, subtype="科学城")
    P.edit_zone(P.open_project(ref), ZONE, subtype="产业园")
    assert len(P.history(P.open_project(ref))) == 2
    con = sqlite3.connect(ref)
    tables = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
    con.close()
    p = P.open_project(ref)
    kept = {lyr.table for lyr in p.layers.values()}
    assert len(tables - kept) == 2  # the two zone tables the kept states name, no more
    P.undo(p)
    P.undo(P.open_project(ref))
    assert P.open_project(ref).zones["subtype"].tolist() == ["高新区"]
    with pytest.raises(P.ProjectError, match="nothing to undo"):
        P.undo(P.open_project(ref))
    con = sqlite3.connect(ref)
    tables = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
    con.close()
    assert tables == {lyr.table for lyr in P.open_project(ref).layers.values()}


def test_a_failed_undo_leaves_the_last_good_state(base, tmp_path, monkeypatch):
    """The undo is one transaction: a failure half-way (here: while putting back the rows)
    leaves the project as it was, and the change can still be undone."""
    from layers import store_gpkg

    ref = project_in_store("gpkg", base, tmp_path, label="crash")
    P.rename_layer(P.open_project(ref), "企业", "企业名单")
    before = P.open_project(ref)
    real = store_gpkg._label_table

    def boom(con, tbl, name, kind):
        real(con, tbl, name, kind)
        raise OSError("killed")

    monkeypatch.setattr(store_gpkg, "_label_table", boom)
    with pytest.raises(OSError):
        P.undo(before)
    monkeypatch.undo()
    after = P.open_project(ref)
    assert after.version == before.version
    _same(_frames(before), _frames(after))
    assert P.undo(after)["action"] == "rename_layer"


@pytest.mark.parametrize("ref", STORES, indirect=True)
def test_a_killed_undo_process_leaves_the_last_good_state(ref, tmp_path):
    """A process killed (SIGKILL) inside the undo's transaction, after the rows were put
    back but before the commit: the project keeps its last good state, in either store."""
    import os
    import signal
    import subprocess
    import sys
    import time

    P.rename_layer(P.open_project(ref), "企业", "企业名单")
    before = P.open_project(ref)
    flag = tmp_path / "inside"
    store = "store_postgis" if ref.startswith("postgresql://") else "store_gpkg"
    code = f"""
import sys, time, pathlib
sys.path.insert(0, {str(P.__file__.rsplit("/layers/", 1)[0])!r})
from layers import project as P, {store} as store
real = store._restore
def slow(*args):
    real(*args)
    pathlib.Path({str(flag)!r}).write_text("x")
    time.sleep(60)
store._restore = slow
P.undo(P.open_project({ref!r}))
"""
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert flag.exists()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.2)  # the server notices the closed connection and rolls back
    after = P.open_project(ref)
    assert after.version == before.version
    _same(_frames(before), _frames(after))
    assert P.undo(after)["action"] == "rename_layer"  # the history is intact too


@pytest.mark.parametrize("ref", STORES, indirect=True)
def test_cli_rename_merge_undo_twice(ref):
    r = run_cli("project", "rename", "--project", ref, "企业", "企业名单")
    assert r.returncode == 0, r.stderr
    assert "renamed" in r.stdout and "重命名" in r.stdout
    r = run_cli("project", "rename", "--project", ref, "--zone", ZONE, "新片区")
    assert r.returncode == 0, r.stderr
    r = run_cli("project", "merge", "--project", ref, "孵化器", "孵化器二", "--name", "全部孵化器")
    assert r.returncode == 0, r.stderr
    r = run_cli("project", "merge", "--project", ref, "企业名单", "科普场馆", "--name", "x")
    assert r.returncode == 2 and "同一类别" in r.stderr and "one kind" in r.stderr
    r = run_cli("project", "edit-zone", "--project", ref, "新片区", "--type", "高新区", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(run_cli("project", "info", "--project", ref, "--json").stdout)
    assert info["zones"] == [{"name": "新片区", "type": "高新区"}]
    v = info["version"]
    r = run_cli("project", "undo", "--project", ref, "--if-version", str(v - 1))
    assert r.returncode == 2 and "changed since" in r.stderr
    r = run_cli("project", "undo", "--project", ref, "--if-version", str(v))
    assert r.returncode == 0 and "已撤销" in r.stdout and "edit a zone" in r.stdout
    r = run_cli("project", "undo", "--project", ref, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["detail"]["action"] == "merge_layers"
    info = json.loads(run_cli("project", "info", "--project", ref, "--json").stdout)
    names = [lyr["name"] for lyr in info["layers"]]
    assert "孵化器" in names and "孵化器二" in names and "全部孵化器" not in names
    assert info["zones"] == [{"name": "新片区", "type": "开发区"}]
    audit = run_cli("project", "audit", "--project", ref, "--json")
    assert [a["action"] for a in json.loads(audit.stdout)][-2:] == ["undo", "undo"]


_OPS = st.lists(
    st.sampled_from(["rename", "zone_type", "zone_name", "merge", "remove", "run"]),
    min_size=1,
    max_size=5,
)


@given(ops=_OPS, types=st.lists(st.sampled_from(["高新区", "科学城", "产业园"]), min_size=5))
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_undoing_every_change_gives_back_the_project(base, tmp_path_factory, ops, types):
    """Law: any sequence of changes, then as many undos, gives back exactly the project read
    before them (layers, rows, rejected rows, runs)."""
    ref = project_in_store("gpkg", base, tmp_path_factory.mktemp("law"), label="law")
    start = P.open_project(ref)
    made = 0
    for i, op in enumerate(ops):
        p = P.open_project(ref)
        zones, points = p.zone_names(), p.resource_layers()
        if op == "rename" and points:
            P.rename_layer(p, points[0].name, f"图层{i}")
        elif op == "zone_type" and zones:
            P.edit_zone(p, zones[0], subtype=types[i])
        elif op == "zone_name" and zones:
            P.edit_zone(p, zones[0], name=f"片区{i}")
        elif op == "merge" and {"孵化器", "孵化器二"} <= set(p.layers):
            P.merge_layers(p, ["孵化器", "孵化器二"], name=f"合并{i}")
        elif op == "remove":
            P.remove_layer(p, list(p.layers)[-1])
        elif op == "run":
            P.save_run(p, analysis="coverage", title=str(i), request={}, summary={"i": i})
        else:
            continue
        made += 1
    for _ in range(made):
        P.undo(P.open_project(ref))
    end = P.open_project(ref)
    _same(_frames(start), _frames(end))
    assert [r.id for r in end.runs] == [r.id for r in start.runs]


def test_qgis_sees_the_layers_by_name_and_history_tables_as_history(base, tmp_path):
    ref = project_in_store("gpkg", base, tmp_path, label="qgis")
    P.edit_zone(P.open_project(ref), ZONE, subtype="高新区")
    P.merge_layers(P.open_project(ref), ["孵化器", "孵化器二"], name="孵化器")
    P.undo(P.open_project(ref))  # the merge: 孵化器 is the first list again
    con = sqlite3.connect(ref)
    labels = dict(con.execute("SELECT table_name, identifier FROM gpkg_contents"))
    con.close()
    p = P.open_project(ref)
    for lyr in p.layers.values():
        assert labels.pop(lyr.table) == lyr.name
    assert labels and all(v == f"历史 {k}" for k, v in labels.items())
