"""Named runs (``--save-run``), reopening from stored layers, ``compare`` and its page.

The tiny 连云港 project (tests/tiny_project.py) has hand-checkable distances: run A
covers the enterprises from the science venue ``S1`` only, run B from ``S1`` and the
incubators (``I1`` at the same place, the synthetic ``M1`` 3 km north, beside ``N1…N3``).
The oracle counts the enterprises within each straight-line radius (speed × time ÷
detour) of the services, from the projected coordinates themselves.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image

import settings
from tests.cli_run import run_cli
from tests.tiny_project import DEMAND, make_project

MINUTES = (5.0, 10.0, 15.0)
A_SERVICES = ("科普场馆",)
B_SERVICES = ("科普场馆", "孵化器")


def _coverage(p: str, services, out: Path, name: str):
    return run_cli(
        "coverage", "--project", p, "--service", *services, "--demand", "企业",
        "--method", "straight", "--minutes", ",".join(f"{m:g}" for m in MINUTES),
        "--out", out, "--save-run", name,
    )  # fmt: skip


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The tiny project with runs saved from the CLI: 方案A, 方案B (coverage), 选址 (site)."""
    folder = tmp_path_factory.mktemp("runs")
    project = make_project(folder)
    p = project.ref
    assert _coverage(p, A_SERVICES, folder / "a", "方案A").returncode == 0
    assert _coverage(p, B_SERVICES, folder / "b", "方案B").returncode == 0
    r = run_cli(
        "site", "--project", p, "--demand", "企业", "--existing", "孵化器", "--k", "1",
        "--method", "straight", "--out", folder / "s", "--save-run", "选址",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "选址" in r.stdout
    return folder, p


def _oracle_covered(p: str, services) -> dict[float, int]:
    """Enterprises within each cut-off's straight-line radius of any service point."""
    from layers.project import open_project

    project = open_project(p)
    crs = project.metric_crs()
    dem = project.layers["企业"].gdf.to_crs(crs)
    svc = pd.concat([project.layers[s].gdf.to_crs(crs) for s in services])
    d = np.array([[a.distance(b) for b in svc.geometry] for a in dem.geometry]).min(axis=1)
    v = settings.SPEEDS_KMH["walk"] * 1000 / 60  # metres per minute
    return {m: int((d <= v * m / settings.DETOUR).sum()) for m in MINUTES}


def test_cli_saved_runs_are_named_and_listed_in_local_time(saved):
    from layers.project import open_project
    from workflows import runs

    _, p = saved
    project = open_project(p)
    assert sorted(r.name for r in project.runs) == sorted(["方案A", "方案B", "选址"])
    table = runs.runs_table(project)
    assert set(table["name"]) == {"方案A", "方案B", "选址"}
    assert not table["inputs_changed"].any()
    rec = runs.resolve_run(project, "方案A")
    utc = pd.Timestamp(rec.created_at)
    assert runs.local_time(rec.created_at) == (utc + pd.Timedelta(hours=8)).strftime(
        "%Y-%m-%d %H:%M"
    )
    assert runs.local_time("2026-12-07T16:30:00Z") == "2026-12-08 00:30"  # the next day


def test_run_names_are_unique_and_refs_resolve(saved, tmp_path):
    from layers.project import open_project
    from workflows import runs

    _, base = saved
    p = str(tmp_path / "p.gpkg")
    shutil.copy(base, p)
    taken = _coverage(p, A_SERVICES, tmp_path / "x", "方案Ａ")  # full-width Ａ: the same name
    assert taken.returncode == 2 and "方案Ａ" in taken.stderr and "already" in taken.stderr
    assert not (tmp_path / "x" / "summary.json").exists()  # refused before the analysis ran
    project = open_project(p)
    a = runs.resolve_run(project, "方案A")
    assert runs.resolve_run(project, a.id) is a and runs.resolve_run(project, " 方案A ") is a
    # a run named like another run's id: the reference fits both, and both are named
    assert _coverage(p, A_SERVICES, tmp_path / "y", a.id).returncode == 0
    r = run_cli("compare", "--project", p, "--runs", a.id, "方案B", "--out", tmp_path / "c")
    assert r.returncode == 2 and "fits several runs" in r.stderr
    other = runs.resolve_run(open_project(p), "方案B")
    assert a.id in r.stderr and r.stderr.count(a.id) >= 2 and other.id not in r.stderr
    unknown = run_cli("compare", "--project", p, "--runs", "方案A", "无此方案", "--out", tmp_path)
    assert unknown.returncode == 2 and "无此方案" in unknown.stderr and "方案B" in unknown.stderr


def test_compare_writes_the_indicators_and_their_difference(saved, tmp_path):
    folder, p = saved
    r = run_cli("compare", "--project", p, "--runs", "方案A", "方案B", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(tmp_path / "compare.csv", encoding="utf-8-sig")
    rows = table.set_index("indicator")
    a, b = _oracle_covered(p, A_SERVICES), _oracle_covered(p, B_SERVICES)
    assert a == {5.0: 1, 10.0: 2, 15.0: 2} and b == {5.0: 4, 10.0: 5, 15.0: 5}  # by hand too
    n = len(DEMAND)
    for m in MINUTES:
        row = rows.loc[f"covered_{m:g}min"]
        assert (row["a"], row["b"], row["difference"]) == (a[m], b[m], b[m] - a[m])
        share = rows.loc[f"share_{m:g}min"]
        assert share["a"] == pytest.approx(a[m] / n) and share["b"] == pytest.approx(b[m] / n)
        assert share["difference"] == pytest.approx((b[m] - a[m]) / n)
    assert rows.loc["demand_total", "a"] == n == rows.loc["demand_total", "b"]
    assert set(table["run_a"]) == {"方案A"} and set(table["run_b"]) == {"方案B"}
    assert rows.loc["covered_5min", "指标"] == "5 分钟覆盖需求点"
    # the files the CLI wrote for each run say the same
    for run, col in (("a", "a"), ("b", "b")):
        s = json.loads((folder / run / "summary.json").read_text(encoding="utf-8"))
        assert [r["covered"] for r in s["results"]] == [
            rows.loc[f"covered_{m:g}min", col] for m in MINUTES
        ]
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert [x["name"] for x in summary["runs"]] == ["方案A", "方案B"]
    assert summary["inputs_changed"] == {"a": [], "b": []}
    with Image.open(tmp_path / "compare.png") as im:  # two A4 portrait sheets side by side
        side = round(210 / 25.4 * settings.COMPARE_DPI)
        assert im.width == pytest.approx(2 * side, abs=2) and im.height > im.width / 2
        left = np.asarray(im.convert("L"))[:, : im.width // 2]
        right = np.asarray(im.convert("L"))[:, im.width // 2 :]
        assert (left < 250).mean() > 0.01 and (right < 250).mean() > 0.01  # both drawn
        assert not np.array_equal(left, right)  # B's service areas differ from A's


def test_compare_png_sides_share_extent_crs_and_legend(saved, monkeypatch):
    """Both sides are drawn with the same extent, CRS and layer styles (the legend)."""
    from export import compare_map
    from layers.project import open_project
    from workflows import compare

    _, p = saved
    calls = []
    real = compare_map.render_print_map

    def spy(layers, **kw):
        calls.append((layers, kw))
        return real(layers, **kw | {"dpi": 50})

    monkeypatch.setattr(compare_map, "render_print_map", spy)
    project = open_project(p)
    report = compare.run(project, compare.CompareRequest(runs=("方案A", "方案B")))
    png = compare.png(report)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(calls) == 2
    (la, ka), (lb, kb) = calls
    assert ka["extent"] == kb["extent"] and ka["crs"] == kb["crs"]
    style_a = {lyr.label: (lyr.color, lyr.geometry) for lyr in la}
    style_b = {lyr.label: (lyr.color, lyr.geometry) for lyr in lb}
    assert style_a == style_b and "服务范围" in style_a and "服务点" in style_a
    # the extent holds every stored layer of both runs (B's service areas around M1 too)
    x0, y0, x1, y1 = ka["extent"]
    for side in (report.result.a, report.result.b):
        for g in side.layers.values():
            bx0, by0, bx1, by1 = g.to_crs(4326).total_bounds
            assert x0 <= bx0 and y0 <= by0 and bx1 <= x1 and by1 <= y1


def test_compare_refuses_runs_of_two_analyses(saved, tmp_path):
    _, p = saved
    r = run_cli("compare", "--project", p, "--runs", "方案A", "选址", "--out", tmp_path)
    assert r.returncode == 2
    assert "same analysis" in r.stderr and "方案A" in r.stderr and "选址" in r.stderr
    assert not (tmp_path / "compare.csv").exists()


def test_reopen_uses_stored_layers_and_marks_changed_inputs(saved, tmp_path, monkeypatch):
    from layers.project import ProjectLayer, add_layer, open_project
    from workflows import compare, runs

    _, base = saved
    p = str(tmp_path / "p.gpkg")
    shutil.copy(base, p)
    project = open_project(p)
    rec = runs.resolve_run(project, "方案B")

    def no_rerun(*a, **k):
        raise AssertionError("a saved run is reopened from its stored layers, not run again")

    monkeypatch.setattr("workflows.coverage.run", no_rerun)
    rep = runs.reopen(project, rec)
    assert rep.summary["inputs_changed"] == []
    assert len(rep.layers["demand"]) == len(DEMAND) and len(rep.layers["coverage_areas"]) == 3
    assert len(rep.inputs["services"]) == 3  # S1, I1, M1
    res = rep.tables["results"]
    assert list(res["covered"]) == [4, 5, 5]
    assert list(res["minutes"]) == list(MINUTES)
    # the enterprises change: both runs say so (and compare), nothing else does
    lyr = project.layers["企业"]
    moved = lyr.gdf.copy()
    moved["employees"] = moved["employees"] + 1
    add_layer(
        project,
        ProjectLayer(name="企业", kind="enterprises", gdf=moved, source_file="企业名单.csv"),
        replace=True,
    )
    project = open_project(p)
    assert runs.inputs_changed(project, runs.resolve_run(project, "方案A")) == ["企业"]
    assert runs.inputs_changed(project, runs.resolve_run(project, "选址")) == ["企业"]
    cmp = compare.run(project, compare.CompareRequest(runs=("方案A", "方案B")))
    assert cmp.summary["inputs_changed"] == {"a": ["企业"], "b": ["企业"]}
    assert any("企业" in n for n in cmp.notes)


def test_report_from_cli_saved_runs(saved, tmp_path):
    from docx import Document

    _, p = saved
    r = run_cli("report", "--project", p, "--runs", "方案B", "选址", "--out", tmp_path / "r.docx")
    assert r.returncode == 0, r.stderr
    assert "2 analyses, 2 maps" in r.stdout
    doc = Document(tmp_path / "r.docx")
    heads = [x.text for x in doc.paragraphs if x.style.name == "Heading 1"]
    assert heads[0].endswith("方案B") and heads[1].endswith("选址")
    every = run_cli("report", "--project", p, "--out", tmp_path / "all.docx")
    assert every.returncode == 0 and "3 analyses" in every.stdout


def test_demo_cannot_save_a_run(tmp_path):
    r = run_cli(
        "coverage", "--service", "science_venues", "--demand", "enterprises",
        "--method", "straight", "--out", tmp_path, "--save-run", "x",
    )  # fmt: skip
    assert r.returncode == 2 and "read-only" in r.stderr
    assert not (tmp_path / "summary.json").exists()


@pytest.mark.parametrize("store", ["gpkg", "postgis"])
def test_run_names_and_meta_in_both_stores(store, tmp_path, request):
    """A named run's name and meta survive the store, a copy to the other store and a
    second writer's name taken meanwhile (checked inside the write lock)."""
    from layers import auth
    from layers.project import ProjectConflictError, copy_project, open_project, save_run
    from tests.conftest import project_in_store

    base = make_project(tmp_path)
    server = request.getfixturevalue("pg_server") if store == "postgis" else None
    ref = project_in_store(store, base.ref, tmp_path, label="runs", server=server)
    first, second = open_project(ref), open_project(ref)
    rec = save_run(first, analysis="coverage", title="t", request={}, summary={}, name="甲",
                   meta={"kind": "scenario", "inputs": {"企业": "abc"}})  # fmt: skip
    with pytest.raises(ProjectConflictError, match="甲"):  # stale copy: the store's check
        save_run(second, analysis="coverage", title="t", request={}, summary={}, name=" 甲")
    again = open_project(ref).run(rec.id)
    assert (again.name, again.meta) == ("甲", {"kind": "scenario", "inputs": {"企业": "abc"}})
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        copy = copy_project(ref, str(tmp_path / "copy.gpkg"), force=True)
    finally:
        auth.set_actor(None)
    assert copy.run(rec.id).name == "甲" and copy.run(rec.id).meta["kind"] == "scenario"


_VALUES = st.one_of(st.none(), st.integers(0, 10**6), st.floats(0, 1, allow_nan=False))


@hsettings(max_examples=40, deadline=None)
@given(a=st.lists(st.tuples(_VALUES, _VALUES), min_size=1, max_size=4), swap=st.booleans())
def test_compare_table_laws(a, swap):
    """difference = B − A wherever both exist; swapping A and B negates it."""
    from workflows.compare import compare_table

    def summary(i):
        return {
            "results": [{"minutes": k + 1, "covered": v[i], "share": v[i]} for k, v in enumerate(a)]
        }

    sa, sb = summary(0), summary(1)
    t = compare_table("coverage", sa, sb, names=("A", "B"))
    u = compare_table("coverage", sb, sa, names=("B", "A"))
    for (_, x), (_, y) in zip(t.iterrows(), u.iterrows(), strict=True):
        if x["a"] is None or x["b"] is None or pd.isna(x["a"]) or pd.isna(x["b"]):
            assert x["difference"] is None or pd.isna(x["difference"])
        else:
            assert x["difference"] == pytest.approx(x["b"] - x["a"])
            assert y["difference"] == pytest.approx(-x["difference"])


def _compare_page_app(monkeypatch, project, home):
    from tests.conftest import app_on_page

    return app_on_page(monkeypatch, project, home, "compare_page")


def test_compare_page_lists_reopens_and_compares(saved, tmp_path, monkeypatch):
    from layers.project import open_project

    _, base = saved
    p = str(tmp_path / "p.gpkg")
    shutil.copy(base, p)
    project = open_project(p)
    at = _compare_page_app(monkeypatch, p, tmp_path / "home")
    assert at.title[0].value == "已保存的运行与方案对比"
    listed = at.dataframe[0].value
    assert set(listed["run_name"]) == {"方案A", "方案B", "选址"}
    rec = project.runs[0]
    utc = pd.Timestamp(rec.created_at) + pd.Timedelta(hours=8)
    assert utc.strftime("%Y-%m-%d %H:%M") in set(listed["local_time"])
    cols = {c.get("label") for c in json.loads(at.dataframe[0].proto.columns).values()}
    assert "保存时间 (北京时间)" in cols and "运行名称" in cols
    # A / B side by side: the indicator table and two maps framed alike
    a = next(r.id for r in project.runs if r.name == "方案A")
    b = next(r.id for r in project.runs if r.name == "方案B")
    at.selectbox(key="cmp_a").set_value(a).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="cmp_b").options and "选址" not in " ".join(
        at.selectbox(key="cmp_b").options
    )  # only runs of the same analysis
    at.selectbox(key="cmp_b").set_value(b).run()
    table = at.dataframe[1].value.set_index("indicator_label")
    row = table.loc["5 分钟覆盖需求点"]
    assert (row["value_a"], row["value_b"], row["difference"]) == ("1", "4", "+3")
    share = table.loc["5 分钟覆盖率"]  # 1/6 → 4/6 of the six enterprises
    assert (share["value_a"], share["value_b"], share["difference"]) == (
        "16.7%",
        "66.7%",
        "+50.0 百分点",
    )
    maps = [json.loads(c.proto.json_args) for c in at.main.get("component_instance")]
    assert len(maps) == 2
    # reopen a run: its stored tables, and the mark when its inputs changed since
    from layers.project import ProjectLayer, add_layer

    moved = project.layers["企业"].gdf.copy()
    moved["employees"] = moved["employees"] * 2
    add_layer(project, ProjectLayer(name="企业", kind="enterprises", gdf=moved), replace=True)
    at.radio(key="runs_view").set_value("open").run()
    at.selectbox(key="runs_open").set_value(b).run()
    assert not at.exception, at.exception
    assert any("保存后输入已更改" in w.value and "企业" in w.value for w in at.warning)
    shown = [d.value for d in at.dataframe]
    assert any("covered" in d and list(d["covered"]) == [4, 5, 5] for d in shown)
    assert len(at.main.get("component_instance")) == 1


def test_undone_runs_free_their_name_and_come_back_named(tmp_path):
    """Undo of a save frees its name; undo of a deletion brings the run back with it."""
    from layers.project import delete_run, open_project, save_run, undo

    p = make_project(tmp_path)
    rec = save_run(p, analysis="coverage", title="t", request={}, summary={}, name="甲")
    undo(p)
    p = open_project(p.ref)
    assert [r.name for r in p.runs] == []
    again = save_run(p, analysis="coverage", title="t", request={}, summary={}, name="甲")
    assert again.id != rec.id
    delete_run(p, again.id)
    undo(p)
    back = open_project(p.ref).run(again.id)
    assert back.name == "甲"


def test_coverage_page_reopens_a_saved_run_as_stored(saved, tmp_path, monkeypatch):
    """The coverage page's "打开已保存的分析" shows the CLI's run 方案B from its stored
    layers and tables (coverage is not run again), marked once its inputs changed."""
    from layers.project import ProjectLayer, add_layer, open_project
    from tests.conftest import app_on_page

    _, base = saved
    p = str(tmp_path / "p.gpkg")
    shutil.copy(base, p)
    calls = []

    def counted(*a, **k):
        calls.append(a)
        raise AssertionError("a saved run is shown from its stored layers, not run again")

    monkeypatch.setattr("workflows.coverage.run", counted)
    at = app_on_page(monkeypatch, p, tmp_path / "home", "coverage_page")
    b = next(r.id for r in open_project(p).runs if r.name == "方案B")
    at.selectbox(key="cov_saved").set_value(b).run()
    assert not at.exception, at.exception
    assert calls == []
    assert any("方案B" in s.value for s in at.subheader)
    shown = [d.value for d in at.dataframe]
    results = next(d for d in shown if "covered" in d)
    assert list(results["covered"]) == [4, 5, 5]  # the oracle's figures, as saved
    assert list(results["minutes"]) == list(MINUTES)
    assert len(at.main.get("component_instance")) == 1  # its map
    assert not any("保存后输入已更改" in w.value for w in at.warning)
    project = open_project(p)
    moved = project.layers["企业"].gdf.copy()
    moved["employees"] = moved["employees"] * 2
    add_layer(project, ProjectLayer(name="企业", kind="enterprises", gdf=moved), replace=True)
    at.run()
    assert not at.exception, at.exception
    assert any("保存后输入已更改" in w.value and "企业" in w.value for w in at.warning)
    assert calls == []
    # computing again is an explicit choice, with the saved parameters
    at.button(key="cov_saved_rerun").click().run()
    assert len(calls) == 1
    assert not any("已保存的运行" in s.value for s in at.subheader)


def test_siting_page_reopens_a_saved_run_as_stored(saved, tmp_path, monkeypatch):
    """The CLI's siting run 选址 opens on the siting page from what was stored."""
    from layers.project import open_project
    from tests.conftest import app_on_page

    _, p = saved

    def no_rerun(*a, **k):
        raise AssertionError("a saved run is shown from its stored layers, not run again")

    monkeypatch.setattr("workflows.siting.run", no_rerun)
    at = app_on_page(monkeypatch, p, tmp_path / "home", "siting_page")
    rec = next(r for r in open_project(p).runs if r.name == "选址")
    at.selectbox(key="site_saved").set_value(rec.id).run()
    assert not at.exception, at.exception
    assert any("选址" in s.value for s in at.subheader)
    assert set(rec.meta["tables"]) <= {c.value for c in at.caption}  # each stored table
    assert len(at.dataframe) >= len(rec.meta["tables"]) > 0
    assert len(at.main.get("component_instance")) == 1


def test_compare_page_reads_runs_once_per_project_version(saved, tmp_path, monkeypatch):
    """Reruns with nothing changed (a widget elsewhere, the map's view) read nothing again;
    a change to the project (a new version) does."""
    from layers.project import ProjectLayer, add_layer, open_project
    from workflows import compare, runs

    _, base = saved
    p = str(tmp_path / "p.gpkg")
    shutil.copy(base, p)
    calls = {"table": 0, "reopen": 0, "compare": 0}
    real = runs.runs_table, runs.reopen, compare.run

    def counting(name, fn):
        def wrapped(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(runs, "runs_table", counting("table", real[0]))
    monkeypatch.setattr(runs, "reopen", counting("reopen", real[1]))
    monkeypatch.setattr(compare, "run", counting("compare", real[2]))
    at = _compare_page_app(monkeypatch, p, tmp_path / "home")
    project = open_project(p)
    a = next(r.id for r in project.runs if r.name == "方案A")
    b = next(r.id for r in project.runs if r.name == "方案B")
    at.selectbox(key="cmp_a").set_value(a).run()
    at.selectbox(key="cmp_b").set_value(b).run()
    compared = calls["compare"]
    at.run()
    at.run()
    assert not at.exception, at.exception
    assert calls["table"] == 1 and calls["compare"] == compared
    at.radio(key="runs_view").set_value("open").run()
    at.selectbox(key="runs_open").set_value(b).run()
    opened = calls["reopen"]
    at.run()
    assert calls["reopen"] == opened and calls["table"] == 1
    moved = project.layers["企业"].gdf.copy()
    moved["employees"] = moved["employees"] * 2
    add_layer(project, ProjectLayer(name="企业", kind="enterprises", gdf=moved), replace=True)
    at.run()
    assert not at.exception, at.exception
    assert calls["table"] == 2 and calls["reopen"] == opened + 1  # the new version is read
    assert any("保存后输入已更改" in w.value for w in at.warning)
