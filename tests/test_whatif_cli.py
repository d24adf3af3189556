"""``python cli.py whatif`` (generated from the analysis registry) gives the numbers of the
siting page's what-if panel for the same added sites (issue 27).

The oracle for the CLI is the app itself: the same two sites added on the tiny project's
what-if panel (by coordinates, as a map click), the scenario saved from the panel, and
its stored summary compared with the CLI's ``summary.json``; the shares are also checked
by hand (the tiny project's enterprises are placed in metres: E1…E3 on a row east of
the incubator I1, N1…N3 3 km north).
"""

from __future__ import annotations

import json

import geopandas as gpd
import pytest

from layers import auth
from layers import project as P
from tests.cli_run import run_cli
from tests.conftest import app_on_page
from tests.tiny_project import lonlat, make_project

#: Indicators of the scenario compared between the CLI and the panel.
KEYS = ("sites", "share", "covered", "baseline_sites", "baseline_share", "delta_share")
KEYS += ("weight_total", "added", "minutes", "method_label", "baseline_synthetic_excluded")


@pytest.fixture()
def tiny(tmp_path):
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        project = make_project(tmp_path)
    finally:
        auth.set_actor(None)
    north = tuple(round(v, 5) for v in lonlat(project, 0, 3000))  # beside N1…N3
    far = tuple(round(v, 5) for v in lonlat(project, -20000, -20000))  # covers nothing
    return project.ref, [north, far]


def _cli(ref: str, out, *extra) -> dict:
    r = run_cli(
        "whatif", "--project", ref, "--demand", "enterprises", "--existing", "incubators",
        "--method", "straight", "--minutes", "15", "--out", out, *extra,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_cli_whatif_equals_the_apps_panel_for_the_same_added_sites(tiny, tmp_path, monkeypatch):
    ref, added = tiny
    cli = _cli(ref, tmp_path / "w", "--add", *(f"{x},{y}" for x, y in added))
    # by hand: radius 4.5 km/h × 15 min ÷ 1.3 ≈ 865 m: I1 covers E1 (200 m), E2 (500 m)
    assert cli["baseline_sites"] == 1 and cli["sites"] == 3 and cli["added"] == 2
    assert cli["baseline_share"] == pytest.approx(2 / 6)
    assert cli["share"] == pytest.approx(5 / 6)  # the northern site adds N1…N3
    sites = gpd.read_file(tmp_path / "w" / "sites.gpkg", layer="sites")
    assert sites["id"].tolist() == ["I1", "H1", "H2"]

    at = app_on_page(monkeypatch, ref, tmp_path / "home", "siting_page")
    at.sidebar.radio(key="site_view").set_value("whatif").run()
    at.radio(key="whatif_action").set_value("add").run()
    for lon, lat in added:
        at.number_input(key="whatif_lon").set_value(lon).run()
        at.number_input(key="whatif_lat").set_value(lat).run()
        at.button(key="whatif_apply").click().run()
        assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["情景覆盖率"] == f"{cli['share']:.1%}"
    assert metrics["孵化器数量"] == str(cli["sites"])
    at.text_input(key="whatif_name").input("方案X").run()
    at.button(key="whatif_save").click().run()
    assert not at.exception, at.exception
    app = P.open_project(ref).runs[-1]
    assert (app.name, app.analysis, app.meta["kind"]) == ("方案X", "whatif", "scenario")
    assert {k: app.summary[k] for k in KEYS} == {k: cli[k] for k in KEYS}
    want = [(s["id"], s["lon"], s["lat"], s["kind"]) for s in app.request["sites"]]
    got = [(r.id, r.geometry.x, r.geometry.y, r.kind) for r in sites.itertuples()]
    assert [w[0] for w in want] == [g[0] for g in got] and [w[3] for w in want] == [
        g[3] for g in got
    ]
    for w, g in zip(want, got, strict=True):
        assert g[1] == pytest.approx(w[1], abs=1e-9) and g[2] == pytest.approx(w[2], abs=1e-9)


def test_cli_whatif_removes_by_id_saves_a_run_and_names_bad_sites(tiny, tmp_path):
    ref, _ = tiny
    s = _cli(ref, tmp_path / "r", "--remove", "I1", "--save-run", "无孵化器")
    assert (s["sites"], s["share"], s["baseline_share"]) == (0, 0.0, pytest.approx(2 / 6))
    rec = next(r for r in P.open_project(ref).runs if r.name == "无孵化器")
    assert rec.analysis == "whatif" and rec.request["sites"] == []  # the edits, resolved
    r = run_cli(
        "whatif", "--project", ref, "--demand", "enterprises", "--existing", "incubators",
        "--remove", "I9", "--out", tmp_path / "x",
    )  # fmt: skip
    assert r.returncode == 2 and "I9" in r.stderr and "I1" in r.stderr
    r = run_cli(
        "whatif", "--project", ref, "--demand", "enterprises", "--existing", "incubators",
        "--add", "34.6,119.2", "--out", tmp_path / "y",
    )  # fmt: skip
    assert r.returncode == 2 and "34.6,119.2" in r.stderr and "LON,LAT" in r.stderr
