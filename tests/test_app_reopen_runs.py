"""Saved clusters and profile runs reopen on their pages from what was stored (issue 27).

Runs are saved from the CLI (``--save-run``) on the tiny project; then the input layer
is moved so that computing again would give other figures, and the workflow's ``run`` is
made to raise. The oracle is what the CLI wrote when the run was saved (its
``clusters.gpkg`` / ``profile.csv``) and the run's stored layers: the page's tables must
equal the former, its map must draw exactly the latter.
"""

from __future__ import annotations

import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geoseries_equal

from layers import auth
from layers.project import ProjectLayer, add_layer, open_project
from tests.cli_run import run_cli
from tests.conftest import app_on_page
from tests.tiny_project import make_project


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The tiny project with a clusters run 集聚A and a profile run 剖面A, saved from the CLI."""
    folder = tmp_path_factory.mktemp("reopen")
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        p = make_project(folder).ref
    finally:
        auth.set_actor(None)
    r = run_cli(
        "clusters", "--project", p, "--layer", "企业", "--eps-m", "200", "--min-samples", "2",
        "--out", folder / "c", "--save-run", "集聚A",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run_cli(
        "profile", "--project", p, "--bin-m", "500", "--band-m", "500", "--service", "孵化器",
        "--method", "straight", "--minutes", "10", "--out", folder / "p", "--save-run", "剖面A",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return folder, p


def _moved_inputs(p: str) -> None:
    """Spread the enterprises 5 km apart: computed again, no cluster and no covered bin."""
    project = open_project(p)
    lyr = project.layers["企业"]
    crs = project.metric_crs()
    g = lyr.gdf.to_crs(crs)
    g["geometry"] = gpd.GeoSeries(
        [shapely.Point(pt.x + 5000 * i, pt.y + 5000) for i, pt in enumerate(g.geometry)],
        index=g.index,
        crs=crs,
    )
    add_layer(project, ProjectLayer(name="企业", kind=lyr.kind, gdf=g.to_crs(4326)), replace=True)


def _open(monkeypatch, tmp_path, base: str, page: str, workflow: str):
    p = str(tmp_path / "p.gpkg")
    shutil.copy(base, p)
    _moved_inputs(p)

    calls: list = []

    def no_rerun(*a, **k):
        calls.append(a)
        raise AssertionError("a saved run is shown from its stored layers, not run again")

    monkeypatch.setattr(f"workflows.{workflow}.run", no_rerun)
    drawn: list[dict] = []
    import render.run_layers as rl

    real = rl.run_map_layers

    def recorded(frames, **kw):
        drawn.append(dict(frames))
        return real(frames, **kw)

    monkeypatch.setattr(rl, "run_map_layers", recorded)
    at = app_on_page(monkeypatch, p, tmp_path / "home", page)
    return at, p, drawn, calls


def _shown(at, column: str) -> pd.DataFrame:
    hits = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(hits) == 1, [list(d.value.columns) for d in at.dataframe]
    return hits[0]


def _same_map(drawn: list[dict], rec) -> None:
    from workflows.runs import run_layers

    assert drawn, "the run's map was not drawn"
    stored = run_layers(rec)
    assert list(drawn[-1]) == list(stored)
    for name, g in stored.items():
        assert_geoseries_equal(drawn[-1][name].geometry, g.geometry)


def test_clusters_page_reopens_a_saved_run_as_stored(saved, tmp_path, monkeypatch):
    folder, base = saved
    at, p, drawn, calls = _open(monkeypatch, tmp_path, base, "clusters_page", "clusters")
    rec = next(r for r in open_project(p).runs if r.name == "集聚A")
    at.selectbox(key="cl_saved").set_value(rec.id).run()
    assert not at.exception, at.exception
    assert any("集聚A" in s.value for s in at.subheader)
    assert any("保存后输入已更改" in w.value and "企业" in w.value for w in at.warning)
    oracle = gpd.read_file(folder / "c" / "clusters.gpkg")  # what the CLI wrote when saving
    shown = _shown(at, "density_per_km2")
    assert len(shown) == len(oracle) == 1
    assert shown[["size", "label"]].values.tolist() == oracle[["size", "label"]].values.tolist()
    for col in ("area_km2", "density_per_km2", "centroid_lon", "centroid_lat"):
        np.testing.assert_allclose(shown[col], oracle[col], rtol=1e-6, atol=1e-6, err_msg=col)
    assert shown["by_kind"].tolist() == ["企业 3"]  # the file writes 企业:3
    assert len(at.main.get("component_instance")) == 1
    _same_map(drawn, rec)
    assert len(drawn[-1]["clusters"]) == 1 and len(drawn[-1]["input:points"]) == 6
    assert calls == []
    # computing again is an explicit choice: only then is the (patched) workflow run
    at.button(key="cl_saved_rerun").click().run()
    assert len(calls) == 1


def test_profile_page_reopens_a_saved_run_as_stored(saved, tmp_path, monkeypatch):
    folder, base = saved
    at, p, drawn, calls = _open(monkeypatch, tmp_path, base, "profile_page", "profile")
    rec = next(r for r in open_project(p).runs if r.name == "剖面A")
    at.selectbox(key="pf_saved").set_value(rec.id).run()
    assert not at.exception, at.exception
    assert any("剖面A" in s.value for s in at.subheader)
    assert any("保存后输入已更改" in w.value and "企业" in w.value for w in at.warning)
    oracle = pd.read_csv(folder / "p" / "profile.csv")  # what the CLI wrote when saving
    shown = _shown(at, "covered_share")
    for col in ("from_m", "to_m", "total", "covered"):
        assert shown[col].tolist() == oracle[col].tolist(), col
    shares = shown["covered_share"].to_numpy(dtype=float)  # shown in percent
    np.testing.assert_allclose(shares, oracle["covered_share"] * 100, equal_nan=True)
    assert oracle["covered"].tolist() == [2, 2, 0, 0, 0, 0]  # E1, E2 covered by I1 as saved
    assert len(at.main.get("component_instance")) == 1
    _same_map(drawn, rec)
    assert len(drawn[-1]["segments"]) == 6
    assert calls == []
