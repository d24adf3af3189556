"""The project store under faults and concurrency: serialised adds, stale edits refused,
unique zone names, damaged files, disk full, read-only folders, refused copies audited."""

from __future__ import annotations

import json
import multiprocessing as mp
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers import auth
from layers.project import (
    ProjectConflictError,
    ProjectError,
    ProjectLayer,
    add_layer,
    audit_log,
    create_project,
    open_project,
    remove_layer,
    save_as,
)
from tests.conftest import project_in_store

ROOT = Path(__file__).resolve().parents[1]


def _points(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon = 119.20 + rng.uniform(-0.02, 0.02, n)
    lat = 34.60 + rng.uniform(-0.02, 0.02, n)
    return gpd.GeoDataFrame(
        {"id": [f"p{i}" for i in range(n)], "name": [f"点{i}" for i in range(n)]},
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )


def _zones(names: list[str]) -> gpd.GeoDataFrame:
    boxes = [
        shapely.box(119.18 + 0.01 * i, 34.58, 119.19 + 0.01 * i, 34.59) for i in range(len(names))
    ]
    return gpd.GeoDataFrame(
        {"id": [f"z{i}" for i in range(len(names))], "name": names, "zone_type": "高新区"},
        geometry=boxes,
        crs=4326,
    )


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "base.gpkg"
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        create_project(path, name="故障测试", city="连云港市", counties=["海州区"])
    finally:
        auth.set_actor(None)
    return path


@pytest.fixture(autouse=True)
def _editor():
    auth.set_actor(auth.Actor("ed", "editor"))
    yield
    auth.set_actor(None)


def _add_one(ref: str, i: int, out) -> None:
    auth.set_actor(auth.Actor(f"w{i}", "editor"))
    try:
        project = open_project(ref)  # every writer opened the same version
        out.put(
            (
                "ok",
                add_layer(
                    project, ProjectLayer(name="名单", kind="enterprises", gdf=_points(20, i))
                ).name,
            )
        )
    except Exception as exc:  # reported to the test, which fails on it
        out.put(("error", f"{type(exc).__name__}: {exc}"))


@pytest.mark.parametrize("store", ["gpkg", "postgis"])
def test_eight_processes_adding_layers_all_land(store, base, tmp_path, request):
    server = request.getfixturevalue("pg_server") if store == "postgis" else None
    ref = project_in_store(store, base, tmp_path, label="并发", server=server)
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_add_one, args=(ref, i, q)) for i in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
    results = [q.get(timeout=10) for _ in procs]
    assert [r for r in results if r[0] != "ok"] == []
    names = sorted(r[1] for r in results)
    assert len(set(names)) == 8  # one unique name each, decided inside the lock
    project = open_project(ref)
    assert sorted(n for n in project.layers if n.startswith("名单")) == names
    assert sum(project.layers[n].rows for n in names) == 160
    assert [a["action"] for a in audit_log(project)].count("add_layer") == 8


@pytest.mark.parametrize("store", ["gpkg", "postgis"])
def test_stale_replace_and_remove_are_refused(store, base, tmp_path, request):
    server = request.getfixturevalue("pg_server") if store == "postgis" else None
    ref = project_in_store(store, base, tmp_path, label="过期", server=server)
    a = open_project(ref)
    add_layer(a, ProjectLayer(name="L", kind="enterprises", gdf=_points(5)))
    stale = open_project(ref)
    add_layer(open_project(ref), ProjectLayer(name="M", kind="enterprises", gdf=_points(3)))
    with pytest.raises(ProjectConflictError):
        add_layer(stale, ProjectLayer(name="L", kind="enterprises", gdf=_points(7)), replace=True)
    with pytest.raises(ProjectConflictError):
        remove_layer(stale, "L")
    # a new layer does not depend on the stale read: it lands
    add_layer(stale, ProjectLayer(name="N", kind="enterprises", gdf=_points(2)))
    assert {"L", "M", "N"} <= set(open_project(ref).layers)
    assert open_project(ref).layers["L"].rows == 5


@pytest.mark.parametrize("store", ["gpkg", "postgis"])
def test_zone_names_are_unique(store, base, tmp_path, request):
    """The same boundary twice: the second import's rows are rejected with the reason (or the
    whole add refused when none is left); a name repeated inside one file keeps its first row."""
    server = request.getfixturevalue("pg_server") if store == "postgis" else None
    ref = project_in_store(store, base, tmp_path, label="片区", server=server)
    first = add_layer(
        open_project(ref),
        ProjectLayer(name="高新区", kind="zones", gdf=_zones(["合肥高新区", "科学城"])),
    )
    assert first.rows == 2 and first.add_notes == []
    with pytest.raises(ProjectError, match="合肥高新区"):
        add_layer(
            open_project(ref),
            ProjectLayer(name="again", kind="zones", gdf=_zones(["合肥高新区 ", "科学城"])),
        )
    # full-width and spaces compare equal (NFKC, trimmed); an inner repeat is rejected too
    mixed = add_layer(
        open_project(ref),
        ProjectLayer(
            name="more", kind="zones", gdf=_zones(["经开区", "经开区", "ｻｲｴﾝｽ", "科学城"])
        ),
    )
    assert list(mixed.gdf["name"]) == ["经开区", "ｻｲｴﾝｽ"]
    assert len(mixed.rejected) == 2 and mixed.rejected["reason"].str.contains("已存在").all()
    assert mixed.add_notes and "2" in mixed.add_notes[0]
    reopened = open_project(ref).layers["more"]
    assert len(reopened.rejected) == 2


def test_by_zone_counts_never_exceed_points():
    """A project that already holds a zone twice counts each point once in it."""
    from geo.coverage import coverage_by_group, zone_area_table
    from layers.filters import assign_zones

    zones = _zones(["合肥高新区", "合肥高新区", "合肥高新区"])
    zones["geometry"] = [shapely.box(119.0, 34.0, 119.5, 34.9)] * 3
    pts = _points(40)
    labels = assign_zones(pts, zones)
    assert set(labels) == {"合肥高新区"}
    tab = coverage_by_group(np.full(40, 3.0), labels, (5.0,), group_name="zone")
    assert tab["total"].tolist() == [40] if "total" in tab else int(tab.iloc[0, 2]) == 40
    assert len(tab) == 1
    # overlapping labels built by hand ("A、A") still count once
    tab2 = coverage_by_group(np.full(3, 3.0), pd.Series(["A、A", "A", "B"]), (5.0,), group_name="g")
    counts = dict(zip(tab2["g"], tab2.iloc[:, 2], strict=True))
    assert counts["A"] == 2 and counts["B"] == 1
    area = zone_area_table([shapely.box(119.0, 34.0, 119.1, 34.9)], (5.0,), zones)
    assert len(area) == 1


# ---------------------------------------------------------------- damaged files
def _copy(base: Path, tmp_path: Path, name: str = "p.gpkg") -> Path:
    p = tmp_path / name
    p.write_bytes(base.read_bytes())
    return p


def test_truncated_and_garbled_projects_give_one_clear_message(base, tmp_path):
    good = _copy(base, tmp_path)
    add_layer(open_project(good), ProjectLayer(name="L", kind="enterprises", gdf=_points(500)))
    data = good.read_bytes()
    cut = tmp_path / "cut.gpkg"
    cut.write_bytes(data[: len(data) // 3])
    garbled = tmp_path / "garbled.gpkg"
    garbled.write_bytes(data[:4096] + b"\x00garbage" * 2000 + data[4096 + 16000 :])
    for bad in (cut, garbled):
        with pytest.raises(ProjectError) as exc:
            open_project(bad)
        assert bad.name in str(exc.value)
        assert "not an InnoMap project" not in str(exc.value)


def test_one_damaged_layer_opens_marked(base, tmp_path):
    p = _copy(base, tmp_path)
    add_layer(open_project(p), ProjectLayer(name="好", kind="enterprises", gdf=_points(5)))
    bad = add_layer(open_project(p), ProjectLayer(name="坏", kind="enterprises", gdf=_points(6)))
    con = sqlite3.connect(p)
    con.execute(f'DROP TABLE "{bad.table}"')
    con.commit()
    con.close()
    from layers import store_gpkg as store

    store._FRAMES.clear()
    project = open_project(p)
    assert project.layers["好"].rows == 5 and not project.layers["好"].damaged
    assert project.layers["坏"].rows == 0 and "坏" in project.layers["坏"].damaged
    assert project.layers["坏"].info()["damaged"]


@pytest.mark.parametrize(
    "sql, words",
    [
        ("UPDATE innomap_meta SET value = '{not json' WHERE key = 'format'", "metadata"),
        ("UPDATE innomap_meta SET value = '999999' WHERE key = 'metric_epsg'", "metric CRS"),
    ],
)
def test_bad_metadata_is_a_clear_error(base, tmp_path, sql, words):
    p = _copy(base, tmp_path)
    con = sqlite3.connect(p)
    con.execute(sql.replace("innomap_meta", "innomap_project"))
    con.commit()
    con.close()
    with pytest.raises(ProjectError, match=words):
        open_project(p)


def test_disk_full_while_adding_is_clear_and_leaves_the_last_state(base, tmp_path, monkeypatch):
    import pyogrio

    import cli

    p = _copy(base, tmp_path)
    before = p.read_bytes()

    def full(*a, **k):
        raise pyogrio.errors.DataSourceError(
            "sqlite3_exec(COMMIT) failed: database or disk is full"
        )

    monkeypatch.setattr(pyogrio, "write_dataframe", full)
    with pytest.raises(ProjectError, match="磁盘已满"):
        add_layer(open_project(p), ProjectLayer(name="L", kind="enterprises", gdf=_points(5)))
    assert p.read_bytes() == before
    assert not [f for f in p.parent.iterdir() if f.name.startswith(".innomap-")]
    csv = tmp_path / "x.csv"
    csv.write_text("名称,经度,纬度\n甲,119.21,34.61\n", encoding="utf-8")
    code = cli.main(
        ["project", "add", "--project", str(p), str(csv), "--kind", "enterprises", "--crs", "WGS84"]
    )
    assert code == 2


def test_read_only_folder_is_clear(base, tmp_path, monkeypatch):
    import tempfile

    p = _copy(base, tmp_path)

    def refused(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(ProjectError, match="read-only"):
        add_layer(open_project(p), ProjectLayer(name="L", kind="enterprises", gdf=_points(5)))


def test_refused_save_as_and_create_are_audited(base, tmp_path, monkeypatch):
    from layers.project import server_audit_path

    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))
    auth.set_actor(auth.Actor("viewer1", "viewer"))
    with pytest.raises(auth.PermissionDeniedError):
        create_project(tmp_path / "n.gpkg", name="x", city="连云港市", counties=["海州区"])
    with pytest.raises(auth.PermissionDeniedError):
        save_as(open_project("demo"), tmp_path / "copy.gpkg")
    lines = [json.loads(x) for x in server_audit_path().read_text(encoding="utf-8").splitlines()]
    assert [x["action"] for x in lines] == ["denied:create_project", "denied:save_as"]
    assert all(x["user"] == "viewer1" for x in lines)


def test_self_crossing_and_zero_length_axes():
    """A self-crossing axis profiles as one line; a zero-length one is a clear error."""
    from layers.errors import InnoMapError
    from workflows.profile import _axis_line

    loop = shapely.LineString([(0, 0), (1000, 1000), (1000, 0), (0, 1000)])
    assert _axis_line([loop], "环").length == pytest.approx(loop.length)
    two = [shapely.LineString([(0, 0), (500, 0)]), shapely.LineString([(500, 0), (900, 300)])]
    assert _axis_line(two, "两段").length == pytest.approx(1000)
    with pytest.raises(InnoMapError, match="no length"):
        _axis_line([shapely.LineString([(5, 5), (5, 5)])], "点")
    with pytest.raises(InnoMapError, match="do not meet"):
        _axis_line([shapely.LineString([(0, 0), (1, 0)]), shapely.LineString([(5, 5), (6, 5)])], "断")


def test_app_with_a_damaged_project_in_the_url(base, tmp_path, monkeypatch):
    """Every page shows the error (no traceback), offers the way back to the demo, and the
    bad ?project= leaves the URL."""
    from streamlit.testing.v1 import AppTest

    good = _copy(base, tmp_path, "bad.gpkg")
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])
    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("INNOMAP_PROJECT", raising=False)
    auth.set_actor(None)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["project"] = str(good)
    at.run()
    assert not at.exception
    assert any("bad.gpkg" in e.value for e in at.error)
    assert "project" not in at.query_params
    for page in ("map_page", "coverage_page", "data_page"):
        at.switch_page(f"ui/pages/{page}.py").run()
        assert not at.exception, page
    at.sidebar.button(key="prj_demo").click().run()
    assert not at.exception and at.session_state["project_ref"] == "demo"
    assert not at.error
