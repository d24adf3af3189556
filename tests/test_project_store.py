"""The project model and its GeoPackage store: round trips, transactions, concurrency, CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers.cities import PlaceNotFoundError, find_city
from layers.project import (
    ProjectConflictError,
    ProjectError,
    ProjectLayer,
    add_layer,
    audit_log,
    copy_project,
    create_project,
    open_project,
    remove_layer,
    save_as,
    save_run,
)
from tests.cli_run import run_cli
from tests.conftest import project_in_store

ROOT = Path(__file__).resolve().parents[1]


def _points(n: int, *, lon0: float = 119.20, lat0: float = 34.60, seed: int = 0, **cols):
    rng = np.random.default_rng(seed)
    lon = lon0 + rng.uniform(-0.02, 0.02, n)
    lat = lat0 + rng.uniform(-0.02, 0.02, n)
    data = {"id": [f"p{i}" for i in range(n)], "name": [f"点{i}" for i in range(n)]}
    data.update(cols)
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(lon, lat), crs=4326)


@pytest.fixture(scope="module")
def lyg(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("proj") / "lyg.gpkg"
    create_project(path, name="连云港测试", city="连云港市", counties=["海州区", "连云区"])
    return path


@pytest.fixture()
def gpkg_project(lyg, tmp_path) -> Path:
    p = tmp_path / "p.gpkg"
    p.write_bytes(lyg.read_bytes())
    return p


_N = iter(range(10**6))


def _reopen(ref):
    """``ref`` opened again from its store: no layer frame kept in memory is reused."""
    from layers import store_gpkg as store

    store._FRAMES.clear()
    return open_project(ref)


@pytest.fixture(params=["gpkg", "postgis"])
def project(request, lyg, tmp_path) -> str:
    """The same fresh 连云港 project in each store: a .gpkg path or a postgresql:// reference."""
    server = request.getfixturevalue("pg_server") if request.param == "postgis" else None
    return project_in_store(request.param, lyg, tmp_path, label="项目", server=server)


def test_new_project_for_another_city(lyg):
    p = open_project(lyg)
    assert p.city == "连云港市" and p.province == "江苏省" and p.adcode == "320700"
    assert p.district_names() == ["海州区", "连云区"]
    assert p.metric_epsg == 32650
    minx, miny, maxx, maxy = p.bounds()
    assert 118.5 < minx < maxx < 120.0 and 34.0 < miny < maxy < 35.2
    assert p.districts.geometry.is_valid.all()
    # shared boundaries simplified once: neighbours do not overlap
    a, b = p.districts.to_crs(p.metric_crs()).geometry
    assert a.intersection(b).area < 1.0


def test_gk3_metric_crs(tmp_path):
    p = create_project(
        tmp_path / "g.gpkg", name="g", city="320700", counties=["320706"], crs_system="gk3"
    )
    assert p.metric_epsg == 4549  # CGCS2000 / 3-degree GK CM 120E (连云港 ≈ 119.2°E)


def test_place_lookup_errors():
    with pytest.raises(PlaceNotFoundError) as e:
        find_city("不存在的城市")
    assert "no city" in str(e.value)
    with pytest.raises(PlaceNotFoundError) as e:
        find_city("鼓楼")
    assert len(e.value.candidates) >= 3 and any("南京市" in c for c in e.value.candidates)
    with pytest.raises(PlaceNotFoundError) as e:
        find_city("连云港市", counties=["西湖区"])
    assert any("海州区" in c for c in e.value.candidates)


def test_layer_round_trip_and_provenance(project):
    p = open_project(project)
    g = _points(7, employees=np.arange(7.0), synthetic=[True] * 3 + [False] * 4)
    rej = pd.DataFrame({"row": [9], "field": ["lon"], "message": ["bad"]})
    stored = add_layer(
        p,
        ProjectLayer(
            name="企业名单",
            kind="enterprises",
            gdf=g,
            source_file="/tmp/up/企业名单.xlsx",
            crs_in="GCJ-02",
            encoding="GBK",
            rejected=rej,
        ),
    )
    assert stored.source_file == "企业名单.xlsx"  # file name only, never a server path
    q = _reopen(project)
    lyr = q.layers["企业名单"]
    assert lyr.kind == "enterprises" and lyr.rows == 7 and lyr.synthetic_rows == 3
    assert lyr.crs_in == "GCJ-02" and lyr.encoding == "GBK"
    assert list(lyr.gdf["id"]) == [f"p{i}" for i in range(7)]
    assert np.allclose(lyr.gdf.geometry.x, g.geometry.x) and np.allclose(
        lyr.gdf.geometry.y, g.geometry.y
    )
    assert lyr.rejected["message"].tolist() == ["bad"]
    assert q.version == p.version


def test_add_reports_rows_written_in_each_store(project, monkeypatch):
    from layers import store_gpkg as store
    from layers import store_postgis

    monkeypatch.setattr(store, "WRITE_CHUNK_ROWS", 4)
    monkeypatch.setattr(store_postgis, "COPY_CHUNK_ROWS", 4)
    seen = []
    stored = add_layer(
        open_project(project),
        ProjectLayer(name="a", kind="enterprises", gdf=_points(10)),
        on_progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(4, 10), (8, 10), (10, 10)]
    assert _reopen(project).layers[stored.name].gdf["id"].tolist() == [f"p{i}" for i in range(10)]


def test_same_name_gets_unique_name_and_remove(project):
    p = open_project(project)
    a = add_layer(p, ProjectLayer(name="孵化器", kind="incubators", gdf=_points(2)))
    b = add_layer(p, ProjectLayer(name="孵化器", kind="incubators", gdf=_points(3)))
    assert (a.name, b.name) == ("孵化器", "孵化器 (2)")
    remove_layer(p, "孵化器")
    q = _reopen(project)
    assert "孵化器" not in q.layers and q.layers["孵化器 (2)"].rows == 3
    if project.startswith("postgresql://"):
        return
    con = sqlite3.connect(project)
    tables = {r[0] for r in con.execute("select table_name from gpkg_contents")}
    # the removed layer's table stays while the undo history names it (project undo)
    assert a.table in tables and b.table in tables


def test_zones_of_any_type(project):
    p = open_project(project)
    d = p.districts.to_crs(p.metric_crs())
    zone = d.geometry.iloc[0].centroid.buffer(1500)
    z = gpd.GeoDataFrame(
        {"id": ["Z1"], "name": ["连云港经济技术开发区"], "subtype": ["开发区"]},
        geometry=[zone],
        crs=p.metric_crs(),
    ).to_crs(4326)
    add_layer(p, ProjectLayer(name="开发区", kind="zones", gdf=z))
    q = _reopen(project)
    assert q.zone_names() == ["连云港经济技术开发区"]
    assert q.info()["zones"] == [{"name": "连云港经济技术开发区", "type": "开发区"}]


def test_stale_save_is_refused_and_loses_nothing(project):
    """A replace built on a stale read is refused; adding a new layer does not depend on
    what the writer read, so it waits for the lock and lands."""
    add_layer(open_project(project), ProjectLayer(name="B", kind="incubators", gdf=_points(3)))
    a = open_project(project)
    b = open_project(project)
    add_layer(a, ProjectLayer(name="A", kind="incubators", gdf=_points(2)))
    with pytest.raises(ProjectConflictError) as e:
        add_layer(b, ProjectLayer(name="B", kind="incubators", gdf=_points(2)), replace=True)
    assert "reopen" in str(e.value)
    add_layer(b, ProjectLayer(name="C", kind="incubators", gdf=_points(2)))
    q = _reopen(project)
    assert {"A", "B", "C"} <= set(q.layers) and q.layers["B"].rows == 3


def test_demo_is_read_only_and_save_as(tmp_path):
    demo = open_project(None)
    assert demo.read_only and demo.is_demo
    with pytest.raises(ProjectError, match="read-only"):
        add_layer(demo, ProjectLayer(name="x", kind="incubators", gdf=_points(1)))
    copy = save_as(demo, tmp_path / "nb.gpkg", name="我的宁波")
    assert copy.name == "我的宁波" and not copy.read_only
    assert {k: v.rows for k, v in copy.layers.items()} == {
        k: v.rows for k, v in demo.layers.items()
    }
    assert copy.metric_epsg == demo.metric_epsg


def test_saved_run_round_trip(project):
    p = open_project(project)
    res = _points(3).assign(travel_min=[1.0, 2.0, 3.0])
    rec = save_run(
        p,
        analysis="coverage",
        title="15分钟圈",
        request={"minutes": [5, 10]},
        summary={"share": 0.34},
        layers={"demand": res},
    )
    q = _reopen(project)
    r = q.run(rec.id)
    assert r.request == {"minutes": [5, 10]} and r.summary == {"share": 0.34}
    assert r.result_layer("demand")["travel_min"].tolist() == [1.0, 2.0, 3.0]


def test_opens_in_plain_gdal_as_a_geopackage(gpkg_project):
    project = gpkg_project
    import pyogrio

    p = open_project(project)
    add_layer(p, ProjectLayer(name="孵化器", kind="incubators", gdf=_points(4)))
    info = {
        r[0]: r[1]
        for r in sqlite3.connect(project).execute(
            "select identifier, table_name from gpkg_contents"
        )
    }
    tbl = info["孵化器"]
    assert len(pyogrio.read_dataframe(project, layer=tbl)) == 4
    assert sqlite3.connect(project).execute("pragma integrity_check").fetchone()[0] == "ok"


def test_not_a_project(tmp_path):
    f = tmp_path / "x.gpkg"
    f.write_text("hello")
    with pytest.raises(ProjectError, match="not a GeoPackage"):
        open_project(f)
    with pytest.raises(ProjectError, match="does not exist"):
        open_project(tmp_path / "missing.gpkg")


text_st = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(names=st.lists(text_st, min_size=1, max_size=5), layer_name=text_st)
def test_text_round_trip_property(project, names, layer_name):
    p = open_project(project)
    g = _points(len(names))
    g["name"] = names
    stored = add_layer(p, ProjectLayer(name=layer_name or "x", kind="enterprises", gdf=g))
    q = _reopen(project)
    assert q.layers[stored.name].gdf["name"].tolist() == names


# ---------------------------------------------------------------- processes
_WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    import geopandas as gpd
    from layers.project import ProjectConflictError, ProjectLayer, add_layer, open_project
    path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    done = 0
    while done < n:
        p = open_project(path)
        g = gpd.GeoDataFrame({{"id": ["a"], "name": [tag]}},
                             geometry=gpd.points_from_xy([119.2], [34.6]), crs=4326)
        try:
            add_layer(p, ProjectLayer(name=f"{{tag}}-{{done}}", kind="incubators", gdf=g))
            done += 1
        except ProjectConflictError:
            time.sleep(0.01)
    print("ok")
    """
)


def test_two_processes_writing_do_not_corrupt(project, tmp_path):
    """Two processes adding layers at once: every change lands, nothing is corrupted."""
    script = tmp_path / "w.py"
    script.write_text(_WRITER.format(root=str(ROOT)))
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(project), tag, "5"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("甲", "乙")
    ]
    for pr in procs:
        _out, err = pr.communicate(timeout=240)
        assert pr.returncode == 0, err
    q = _reopen(project)
    names = set(q.layers)
    assert {f"甲-{i}" for i in range(5)} <= names and {f"乙-{i}" for i in range(5)} <= names
    if project.startswith("postgresql://"):
        return
    assert sqlite3.connect(project).execute("pragma integrity_check").fetchone()[0] == "ok"


_SLOW = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    import numpy as np, geopandas as gpd
    from layers.project import ProjectLayer, add_layer, open_project
    n = 400_000
    g = gpd.GeoDataFrame({{"id": np.arange(n).astype(str), "name": ["x"] * n}},
                         geometry=gpd.points_from_xy(np.full(n, 119.2), np.full(n, 34.6)), crs=4326)
    p = open_project(sys.argv[1])
    print("start", flush=True)
    while True:
        add_layer(p, ProjectLayer(name="big", kind="enterprises", gdf=g))
    """
)


def test_killed_writer_leaves_last_good_state(gpkg_project, tmp_path):
    project = gpkg_project
    before = open_project(project)
    add_layer(before, ProjectLayer(name="good", kind="incubators", gdf=_points(3)))
    script = tmp_path / "slow.py"
    script.write_text(_SLOW.format(root=str(ROOT)))
    pr = subprocess.Popen(
        [sys.executable, str(script), str(project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert pr.stdout.readline().strip() == "start"
    time.sleep(2.5)  # in the middle of writing/committing a large layer
    os.kill(pr.pid, signal.SIGKILL)
    pr.wait(timeout=30)
    q = _reopen(project)  # opens, and holds the last committed state
    assert q.layers["good"].rows == 3
    for lyr in q.layers.values():
        assert lyr.rows in (3, 400_000) or lyr.kind == "districts"
    assert sqlite3.connect(project).execute("pragma integrity_check").fetchone()[0] == "ok"
    leftovers = [f for f in project.parent.iterdir() if f.name.startswith(".innomap-")]
    # a killed writer may leave its private temp file; the next write of the project clears it
    add_layer(q, ProjectLayer(name="after", kind="incubators", gdf=_points(1)))
    assert not [
        f for f in project.parent.iterdir() if f.name.startswith(".innomap-") and f in leftovers
    ]


# ---------------------------------------------------------------- CLI
def _cli(*args, cwd=None):
    return run_cli(*args, cwd=cwd)  # in this process: cli.main(argv)


def test_cli_project_new_add_info(tmp_path):
    out = tmp_path / "lyg.gpkg"
    r = _cli(
        "project",
        "new",
        "--name",
        "连云港科创",
        "--city",
        "连云港",
        "--counties",
        "海州区,连云区",
        "--out",
        out,
    )
    assert r.returncode == 0, r.stderr
    assert "EPSG:32650" in r.stdout
    r = _cli("project", "new", "--name", "x", "--city", "鼓楼", "--out", tmp_path / "q.gpkg")
    assert r.returncode == 2 and "南京市" in r.stderr and "Traceback" not in r.stderr
    csv = tmp_path / "百度孵化器.csv"
    csv.write_text(
        "name,lon,lat,subtype\n甲孵化器,119.21,34.61,孵化器\n乙,119.22,34.60,众创空间\n"
        "丙,abc,34.6,孵化器\n",
        encoding="utf-8",
    )
    r = _cli("project", "add", "--project", out, csv, "--kind", "incubators", "--json")
    assert r.returncode == 1, r.stderr
    rep = json.loads(r.stdout)
    assert rep["crs_in"] == "BD-09"  # the file name says 百度
    assert rep["rows_total"] == 3 and rep["rows_valid"] == 2 and rep["errors"][0]["row"] == 4
    plain = tmp_path / "企业.csv"
    plain.write_text("name,lon,lat\n甲,119.21,34.61\n", encoding="utf-8")
    r = _cli("project", "add", "--project", out, plain, "--kind", "enterprises")
    assert r.returncode == 0
    assert "500–1,300" in r.stderr  # no CRS stated: warned
    r = _cli("project", "info", "--project", out, "--json")
    info = json.loads(r.stdout)
    assert info["metric_crs"]["epsg"] == 32650
    assert info["districts"] == ["海州区", "连云区"]
    layers = {lyr["name"]: lyr for lyr in info["layers"]}
    assert layers["百度孵化器"]["source_file"] == "百度孵化器.csv"
    assert layers["百度孵化器"]["rejected_rows"] == 1 and layers["百度孵化器"]["crs_in"] == "BD-09"
    r = _cli("project", "add", "--project", tmp_path / "nope.gpkg", plain, "--kind", "enterprises")
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_road_network_kept_in_project(project, tmp_path):
    from tests.fixtures_net import write_osm_xml
    from workflows.network import add_network_file, project_graph

    osm = tmp_path / "海州路网.osm"
    write_osm_xml(osm, lon0=119.18, lat0=34.59, n=5)
    p = open_project(project)
    net = add_network_file(p, osm)
    assert net.name == "海州路网" and net.edges > 0
    q = _reopen(project)
    assert q.info()["networks"][0]["source_file"] == "海州路网.osm"
    g = project_graph(q, "海州路网", cache_dir=tmp_path / "cache")
    assert g.crs == q.metric_crs() and g.n_nodes == 25
    g2 = project_graph(q, "海州路网", cache_dir=tmp_path / "cache")  # from the cache
    assert g2.n_edges == g.n_edges
    copy = save_as(q, tmp_path / "copy.gpkg")
    assert project_graph(copy, "海州路网", cache_dir=tmp_path / "c2").n_nodes == 25


def test_audit_records_who_changed_what(project, monkeypatch):
    monkeypatch.setenv("INNOMAP_USER", "张工")
    p = open_project(project)
    add_layer(p, ProjectLayer(name="审计", kind="incubators", gdf=_points(2)))
    remove_layer(p, "审计")
    log = audit_log(open_project(project))
    assert [r["action"] for r in log[-2:]] == ["add_layer", "remove_layer"]
    assert {r["user"] for r in log[-2:]} == {"张工"}
    assert "审计" in log[-2]["detail"]


def test_copy_gpkg_postgis_gpkg_is_lossless(lyg, pg_server, tmp_path):
    src = tmp_path / "src.gpkg"
    src.write_bytes(lyg.read_bytes())
    p = open_project(src)
    g = _points(5, employees=[1.0, None, 3.0, 4.0, 5.0], synthetic=[True, False] * 2 + [True])
    g["address"] = ["", "海州区 路1号", None, '引号"和,逗号', "换\n行"]
    rej = pd.DataFrame({"row": [3], "field": ["lon"], "message": ["坐标缺失"]})
    add_layer(
        p,
        ProjectLayer(
            name="企业",
            kind="enterprises",
            gdf=g,
            source_file="企业.xlsx",
            crs_in="GCJ-02",
            encoding="GBK",
            rejected=rej,
        ),
    )
    save_run(
        p,
        analysis="coverage",
        title="覆盖",
        request={"minutes": [5, 10, 15]},
        summary={"share": 0.5, "by_district": [{"district": "海州区", "share": 0.5}]},
        layers={"demand": g[["id", "geometry"]]},
    )
    ref = pg_server.project_ref("往返测试")
    copy_project(src, ref)
    back = copy_project(ref, tmp_path / "back.gpkg")
    a, b = open_project(src), back
    assert a.info() | {"ref": "", "version": 0} == b.info() | {"ref": "", "version": 0} or (
        {k: v for k, v in a.info().items() if k not in ("ref", "version", "layers")}
        == {k: v for k, v in b.info().items() if k not in ("ref", "version", "layers")}
    )
    assert [lyr.info() | {"imported_at": ""} for lyr in a.layers.values()] == [
        lyr.info() | {"imported_at": ""} for lyr in b.layers.values()
    ]
    for name in a.layers:
        x, y = a.layers[name].gdf, b.layers[name].gdf
        assert list(x.columns) == list(y.columns)
        pd.testing.assert_frame_equal(
            pd.DataFrame(x.drop(columns="geometry")), pd.DataFrame(y.drop(columns="geometry"))
        )
        assert x.geometry.geom_equals_exact(y.geometry, 1e-12).all()
        pd.testing.assert_frame_equal(a.layers[name].rejected, b.layers[name].rejected)
    assert [(r.id, r.request, r.summary, r.layers) for r in a.runs] == [
        (r.id, r.request, r.summary, r.layers) for r in b.runs
    ]


def test_postgis_reference_errors(pg_server):
    with pytest.raises(ProjectError, match="names no project"):
        open_project(pg_server.url)
    with pytest.raises(ProjectError, match="no project"):
        open_project(pg_server.project_ref("不存在"))
    with pytest.raises(ProjectError, match="password") as e:
        open_project(pg_server.url.replace("postgres@", "postgres:secret@") + "?project=x")
    assert "secret" not in str(e.value)
    bad = "postgresql://nobody@127.0.0.1:1/x?project=p"
    with pytest.raises(ProjectError, match="cannot connect") as e:
        open_project(bad)
    assert "Traceback" not in str(e.value)


def test_cli_project_copy(lyg, pg_server, tmp_path):
    ref = pg_server.project_ref("命令行复制")
    r = _cli("project", "copy", "--from", lyg, "--to", ref)
    assert r.returncode == 0, r.stderr
    r = _cli("project", "info", "--project", ref, "--json")
    assert json.loads(r.stdout)["districts"] == ["海州区", "连云区"]
    r = _cli("project", "copy", "--from", lyg, "--to", ref)
    assert r.returncode == 2 and "already exists" in r.stderr
    r = _cli("project", "copy", "--from", ref, "--to", tmp_path / "b.gpkg")
    assert r.returncode == 0 and (tmp_path / "b.gpkg").exists()
