"""Progress of long steps: on_progress(done, total) in the import, network, siting and
map-series workflows; the worker-thread ticks."""

from __future__ import annotations

import threading
import time

import pytest


def _recorder():
    calls: list[tuple[int, int]] = []

    def on_progress(done: int, total: int) -> None:
        assert threading.current_thread() is threading.main_thread()  # pages update here
        calls.append((done, total))

    return calls, on_progress


def test_run_with_ticks_ticks_in_the_callers_thread_and_raises_the_workers_error():
    from workflows.progress import run_with_ticks

    seen: list[float] = []
    assert run_with_ticks(lambda: time.sleep(0.35) or 7, tick=seen.append, every_s=0.05) == 7
    assert len(seen) >= 3 and seen == sorted(seen)

    def boom():
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        run_with_ticks(boom, tick=seen.append)
    assert run_with_ticks(lambda: 3, tick=None) == 3


def test_work_in_the_worker_acts_as_the_signed_in_user(tmp_path, monkeypatch):
    """A store write in the worker (e.g. a road network kept) is the page's user's, not
    nobody's: refused for a viewer, allowed for an editor."""
    from layers.auth import Actor, current_actor, set_actor
    from workflows.progress import run_with_ticks

    monkeypatch.setenv("INNOMAP_USERS", str(tmp_path / "users.txt"))  # enforcing
    set_actor(Actor("li", "editor"))
    try:
        who = run_with_ticks(lambda: time.sleep(0.1) or current_actor(), tick=lambda _s: None)
    finally:
        set_actor(None)
    assert who == Actor("li", "editor")


def _csv(tmp_path, n: int):
    path = tmp_path / "firms.csv"
    lines = ["id,name,lon,lat,source,coord_precision_m,synthetic,as_of"]
    lines += [
        f"E{i},企业{i},121.{5000 + i % 999},29.{8000 + i % 997},t,10,true,2026" for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_counts_rows_and_reports_them(tmp_path):
    from layers.importer import ImportOptions
    from workflows import importing

    path = _csv(tmp_path, 2500)
    assert importing.count_rows(path) == 2500
    calls, on_progress = _recorder()
    rep = importing.run(path, ImportOptions(kind="enterprises"), on_progress=on_progress)
    assert rep.rows_valid == 2500
    assert calls[0] == (0, 2500) and calls[-1] == (2500, 2500)
    assert all(d <= t for d, t in calls)  # rows read, never more than the total
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_network_counts_road_rows_read_then_a_cached_graph_at_once(tmp_path, monkeypatch):
    from layers import networks
    from layers.project import open_project
    from tests.fixtures_net import write_osm_xml
    from workflows.network import load_network

    monkeypatch.setattr(networks, "ROWS_STEP", 4)  # a count every 4 ways of a tiny file
    osm = write_osm_xml(tmp_path / "n.osm", lon0=121.6, lat0=29.9, n=6, step_deg=0.002)
    crs = open_project(None).metric_crs()
    calls, on_progress = _recorder()
    g = load_network(osm, crs=crs, cache_dir=tmp_path / "c", on_progress=on_progress)
    assert g.n_nodes > 0
    assert calls[0] == (4, 0) and calls[1] == (8, 0)  # ways read, the total not known yet
    assert calls[-1][0] == calls[-1][1] > 8  # then every edge made, before the graph is built
    calls2, on_progress2 = _recorder()
    g2 = load_network(osm, crs=crs, cache_dir=tmp_path / "c", on_progress=on_progress2)
    assert calls2 == [(g2.n_edges, g2.n_edges)]  # cached: done at once


def test_road_file_read_in_counted_chunks(tmp_path, monkeypatch):
    """A GeoPackage of road lines is read in chunks with rows read / rows in the file,
    every feature once."""
    import geopandas as gpd
    import shapely

    from layers import networks

    monkeypatch.setattr(networks, "ROWS_STEP", 3)
    lines = [
        shapely.LineString([(121.6 + i * 1e-3, 29.9), (121.6 + i * 1e-3, 29.901)]) for i in range(8)
    ]
    gdf = gpd.GeoDataFrame({"highway": [f"r{i}" for i in range(8)]}, geometry=lines, crs=4326)
    gdf.to_file(tmp_path / "roads.gpkg", engine="pyogrio")
    calls, on_rows = _recorder()
    edges = networks.read_network_edges(tmp_path / "roads.gpkg", on_rows=on_rows)
    assert calls == [(3, 8), (6, 8), (8, 8), (8, 8)]
    assert list(edges["highway"]) == [f"r{i}" for i in range(8)]


def test_siting_counts_the_candidates_evaluated(tmp_path):
    from layers.project import open_project
    from tests.fixtures_net import write_osm_xml
    from workflows import siting
    from workflows.coverage import ReachOptions

    project = open_project(None)
    osm = write_osm_xml(tmp_path / "z.osm", lon0=121.600, lat0=29.900, n=12, step_deg=0.006)
    req = siting.SitingRequest(
        zone="中官路创业创新大街",
        k=2,
        candidates="grid:300",
        reach=ReachOptions(method="network", network=str(osm)),
    )
    calls, on_progress = _recorder()
    siting.run(project, req, on_progress=on_progress)
    total = calls[0][1]
    assert calls[0] == (0, total) and total > 64  # more than one batch of candidates
    assert calls[-1] == (total, total)
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(calls) > 2


def test_map_series_counts_the_maps_written(monkeypatch):
    from layers.project import open_project
    from workflows import exports
    from workflows.exports import MapExportRequest, run_map_export

    monkeypatch.setattr(
        exports, "render_map", lambda *a, **k: b"map"
    )  # drawing is tested elsewhere
    project = open_project(None)
    calls, on_progress = _recorder()
    maps = run_map_export(
        project,
        MapExportRequest(layers=["universities"], series="zone", format="png", dpi=50),
        on_progress=on_progress,
    )
    n = len(maps)
    assert n == len(project.zone_names()) and n > 1
    assert calls == [(i, n) for i in range(n + 1)]


def _bar_script():
    import time

    import streamlit as st

    from layers.errors import InnoMapError
    from ui.common import guarded
    from ui.progress import ProgressBar

    drawn: list[str] = []

    class Seen(ProgressBar):
        def __call__(self, done, total):
            drawn.append(self.label(done, total))
            super().__call__(done, total)

    stages = ("读取路段", "构建节点与路段", "写入缓存")

    def work(progress):
        for i, stage in enumerate(stages):
            progress(i, 3)
            # reports nothing meanwhile: the page thread still draws the step (waited for,
            # not timed, so a loaded machine cannot skip it)
            start = time.monotonic()
            while not any(stage in d for d in drawn) and time.monotonic() - start < 20:
                time.sleep(0.05)
        return "done"

    with Seen("读取", key="k", stages=stages) as bar:
        st.session_state["out"] = bar.run(work)
    st.session_state["drawn"] = drawn

    def fails(_progress):
        raise InnoMapError("坏值 / bad value")

    with ProgressBar("x", key="k2") as bar:
        st.session_state["failed"] = guarded(bar.run, fails)


def test_progress_bar_runs_work_in_a_worker_and_draws_its_counts_from_the_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_bar_script, default_timeout=30).run()
    assert not at.exception, at.exception
    assert at.session_state["out"] == "done"
    drawn = at.session_state["drawn"]
    assert any("构建节点与路段 (2 / 3)" in d for d in drawn), drawn  # steps named, counted
    assert any("写入缓存 (3 / 3)" in d for d in drawn), drawn
    assert at.session_state["failed"] is None  # the worker's error shown, not raised
    assert any("坏值" in e.value for e in at.error)


def test_sensitivity_counts_the_speeds():
    from layers.project import open_project
    from workflows import coverage

    project = open_project(None)
    req = coverage.CoverageRequest(zone="中官路创业创新大街", minutes=(5.0, 10.0))
    report = coverage.run(project, req)
    calls, on_progress = _recorder()
    sens = coverage.sensitivity(project, report, factors=(0.5, 1.0, 1.5), on_progress=on_progress)
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]  # one step per speed
    assert len(sens) == 3 * 2 and sens["speed_kmh"].nunique() == 3


def _fake_print(monkeypatch) -> None:
    import export.pack

    monkeypatch.setattr(export.pack, "render_print_map", lambda *a, **k: b"map")  # drawn elsewhere


def test_planning_pack_counts_its_steps(monkeypatch):
    import io
    import zipfile

    from export.pack import PACK_STEPS
    from layers.project import open_project
    from workflows.packs import planning_pack

    _fake_print(monkeypatch)
    project = open_project(None)
    req = {"layers": ["universities"], "zone": None, "title": "", "paper": "A4"}
    calls, on_progress = _recorder()
    data = planning_pack(project, req | {"orientation": "landscape"}, on_progress=on_progress)
    n = len(PACK_STEPS)
    assert calls == [(i, n) for i in range(n + 1)]  # each step once, in order
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert {"map.png", "map.pdf", "layers.gpkg", "tables.xlsx", "README.md"} <= set(names)


def _pack_bar_script():
    import time

    import pandas as pd
    import streamlit as st

    from export.pack import result_pack
    from ui.progress import ProgressBar, pack_stages

    drawn: list[str] = []
    stages = pack_stages()

    class Seen(ProgressBar):
        def __call__(self, done, total):
            drawn.append(self.label(done, total))
            super().__call__(done, total)

    def work(progress):
        def on_progress(done, total):
            progress(done, total)
            start = time.monotonic()  # the page draws this step before the next one starts
            while done < total and not any(stages[done] in d for d in drawn):
                if time.monotonic() - start > 20:
                    break
                time.sleep(0.02)

        tables = {"t": pd.DataFrame({"a": [1, 2]})}
        return result_pack(
            title="t", print_layers=[], layers={}, tables=tables, params={}, on_progress=on_progress
        )

    with Seen("资料包", key="p", unit="步", stages=stages) as bar:
        st.session_state["out"] = bar.run(work)
    st.session_state["drawn"] = drawn


def test_pack_bar_names_and_counts_its_steps(monkeypatch):
    from streamlit.testing.v1 import AppTest

    _fake_print(monkeypatch)
    at = AppTest.from_function(_pack_bar_script, default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.session_state["out"][:2] == b"PK"  # a zip
    drawn = at.session_state["drawn"]
    for i, stage in enumerate(("打印图 PNG", "打印图 PDF", "图层", "表格", "说明文件"), start=1):
        assert any(f"{stage} ({i} / 5)" in d for d in drawn), (stage, drawn)
    assert not at.get("progress")  # the bar is gone once the pack is made
