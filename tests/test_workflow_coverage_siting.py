"""Coverage, siting and what-if workflows on a tiny 连云港 project with hand-checkable answers.

One service / existing incubator ``P0`` near 海州区 (119.17° E, 34.60° N); demand
points east of it at 200, 500 and 1000 m and a cluster of three 3 km north.
Walking, straight-line: minutes = metres × detour 1.3 ÷ 75 m/min, so 200 m →
3.47 min, 500 m → 8.67 min, 1000 m → 17.3 min, 3 km → 52 min.

The same request must give the same numbers in the workflow, in ``cli.py``'s
summary.json and in the print map's legend.
"""

from __future__ import annotations

import json
import math

import geopandas as gpd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import settings as app_settings
from cli import main as cli_main
from layers.errors import InnoMapError
from layers.importer import ImportOptions, import_file
from layers.project import ProjectLayer, add_layer, create_project, open_project
from tests.tiny_project import DEMAND, ZONE, lonlat
from workflows import coverage, siting, whatif
from workflows.analyses import analysis_layers
from workflows.coverage import CoverageRequest, ReachOptions
from workflows.siting import SitingRequest

HEAD = "id,name,kind,subtype,level,address,lon,lat,source,coord_source,coord_precision_m,synthetic,as_of"


def _csv(path, project, rows, *, kind_label: str, subtype: str, extra: str | None = None):
    head = HEAD + (f",{extra}" if extra else "")
    lines = [head]
    for rid, east, north, *w in rows:
        lon, lat = lonlat(project, east, north)
        line = (
            f"{rid},单位{rid},{kind_label},{subtype},未核实,连云港市海州区,"
            f"{lon:.8f},{lat:.8f},test,test,1,false,2026"
        )
        lines.append(line + (f",{w[0]}" if extra else ""))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _add(project, path, kind: str, name: str) -> None:
    rep = import_file(path, ImportOptions(kind=kind, crs="WGS84"))
    assert len(rep.valid) and not len(rep.rejected)
    add_layer(project, ProjectLayer(name=name, kind=kind, gdf=rep.valid, source_file=path.name))


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    d = tmp_path_factory.mktemp("lyg")
    p = create_project(d / "p.gpkg", name="测试项目", city="连云港市", counties=["海州区"])
    _add(
        p,
        _csv(
            d / "企业名单.csv",
            p,
            DEMAND,
            kind_label="企业",
            subtype="高新技术企业",
            extra="employees",
        ),
        "enterprises",
        "企业",
    )
    _add(
        p,
        _csv(d / "场馆.csv", p, [("S1", 0, 0)], kind_label="科普场馆", subtype="专业场馆"),
        "science_venues",
        "科普场馆",
    )
    _add(
        p,
        _csv(d / "孵化器.csv", p, [("I1", 0, 0)], kind_label="孵化载体", subtype="众创空间"),
        "incubators",
        "孵化器",
    )
    _add(
        p,
        _csv(
            d / "候选楼宇.csv",
            p,
            [("C_north", 0, 3000), ("C_east", 1000, 0)],
            kind_label="孵化载体",
            subtype="孵化器",
        ),
        "incubators",
        "候选楼宇",
    )
    sw, ne = lonlat(p, -300, -300), lonlat(p, 1300, 300)
    zone = gpd.GeoDataFrame(
        {"id": ["Z1"], "name": [ZONE], "subtype": ["开发区"], "source": ["test"]},
        geometry=[shapely.box(sw[0], sw[1], ne[0], ne[1])],
        crs=4326,
    )
    add_layer(p, ProjectLayer(name="开发区", kind="zones", gdf=zone, source_file="zone.geojson"))
    return open_project(p.ref), d


def _json(x):
    return json.loads(json.dumps(x, ensure_ascii=False, default=str))


def _cov_request(**kw) -> CoverageRequest:
    return CoverageRequest(service=("科普场馆",), demand=("enterprises",), **kw)


# ---------------------------------------------------------------- coverage
def test_coverage_known_answers(proj):
    p, _ = proj
    rep = coverage.run(p, _cov_request(weight="employees"))
    s = rep.summary
    assert s["method"] == "straight" and s["speed_kmh"] == app_settings.SPEEDS_KMH["walk"]
    assert s["demand_total"] == 6 and s["weight_total"] == 180
    got = {r["minutes"]: (r["covered"], r["share"], r["weighted_share"]) for r in s["results"]}
    assert got[5.0] == (1, pytest.approx(1 / 6), pytest.approx(10 / 180))
    assert got[10.0] == (2, pytest.approx(2 / 6), pytest.approx(30 / 180))
    assert got[15.0] == (2, pytest.approx(2 / 6), pytest.approx(30 / 180))
    tm = rep.layers["demand"].set_index("id")["travel_min"]
    assert tm["E2"] == pytest.approx(500 * 1.3 / 75, abs=0.01)  # 8.67 min
    assert tm["E1"] == pytest.approx(200 * 1.3 / 75, abs=0.01)
    # districts and provenance come from the project
    assert {r["district"] for r in s["by_district"]} == {"海州区"}
    assert s["project"] == "测试项目" and "EPSG:32650" in s["metric_crs"]
    assert s["skipped_invalid"] == 0 and s["synthetic_share"] == 0
    assert {src["source_file"] for src in s["inputs"]["demand"]["sources"]} == {"企业名单.csv"}
    assert set(rep.layers) == {"demand", "isochrones", "coverage_areas", "blind_spots"}
    assert any(n.startswith("方法: 直线距离近似法") for n in rep.notes)
    assert any(n.startswith("研究范围") for n in rep.notes)


def test_coverage_zone_and_cutoff(proj):
    p, _ = proj
    rep = coverage.run(p, _cov_request(zone=ZONE, minutes=(5, 10, 20)))
    s = rep.summary
    assert s["zone"] == ZONE and s["demand_total"] == 3 and s["demand_outside_zone"] == 3
    assert [r["covered"] for r in s["results"]] == [1, 2, 3]
    zone_area = shapely.union_all(p.zones.to_crs(p.metric_crs()).geometry.values)
    blind = rep.layers["blind_spots"].geometry.iloc[-1]
    assert blind.within(zone_area.buffer(1e-6))  # the study area is the zone
    with pytest.raises(InnoMapError, match="测试片区"):
        coverage.run(p, _cov_request(zone="不存在的片区"))


def test_gb50180_preset_sets_walk_4kmh(proj):
    req = _cov_request(preset="gb50180", minutes=(30,))
    assert req.minutes == (4.5, 7.5, 15.0)
    assert req.reach.mode == "walk" and req.reach.speed_kmh == 4.0
    assert CoverageRequest.from_dict(
        {"service": ["科普场馆"], "preset": "gb50180"}
    ) == _cov_request(preset="gb50180")
    with pytest.raises(InnoMapError, match="preset"):
        _cov_request(preset="gb99999")


def test_sensitivity_table_spans_the_speed(proj):
    p, _ = proj
    rep = coverage.run(p, _cov_request())
    sens = coverage.sensitivity(p, rep)
    assert set(sens["speed_kmh"]) == {round(4.5 * f, 2) for f in coverage.SENSITIVITY_FACTORS}
    base = sens[sens["speed_kmh"] == 4.5].set_index("minutes")["share"]
    assert base[10.0] == pytest.approx(2 / 6)


@pytest.mark.parametrize(
    "kw",
    [
        {"minutes": (float("nan"),)},
        {"minutes": (math.inf,)},
        {"minutes": (0,)},
        {"minutes": (-5,)},
        {"minutes": (181,)},
        {"minutes": tuple(range(1, 30))},
        {"minutes": ()},
        {"reach": {"speed_kmh": 0.0}},
        {"reach": {"mode": "fly"}},
    ],
)
def test_coverage_request_validation(kw):
    with pytest.raises(InnoMapError):
        _cov_request(**kw)


@pytest.mark.parametrize("bad", [{"speed_kmh": math.inf}, {"speed_kmh": -1}, {"detour": 0.5}])
def test_reach_validation(bad):
    with pytest.raises(InnoMapError):
        ReachOptions(**bad)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(InnoMapError, match="minute"):
        CoverageRequest.from_dict({"service": ["x"], "minute": [5]})
    with pytest.raises(InnoMapError, match="grid"):
        SitingRequest.from_dict({"grid": 500})


def _cli(args, capsys):
    code = cli_main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_workflow_and_print_legend_agree(proj, tmp_path, capsys):
    p, _ = proj
    params = {
        "service": ["科普场馆"],
        "demand": ["enterprises"],
        "weight": "employees",
        "minutes": [5, 10, 15],
    }
    code, out, err = _cli(
        ["coverage", "--project", p.ref, "--service", "科普场馆", "--demand", "enterprises",
         "--weight", "employees", "--minutes", "5,10,15", "--out", tmp_path / "c"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "10 min: 2/6 covered (33.3%, weighted 16.7%)" in out
    cli_summary = json.loads((tmp_path / "c" / "summary.json").read_text(encoding="utf-8"))
    wf = coverage.run(p, CoverageRequest.from_dict(params))
    assert cli_summary == _json(wf.summary)
    layers, notes, _sub = analysis_layers(p, "coverage", params, [])
    labels = [lyr.label for lyr in layers]
    for r in cli_summary["results"]:
        assert any(
            lab.startswith(f"{r['minutes']:g} 分钟服务圈") and f"覆盖 {r['share']:.1%}" in lab
            for lab in labels
        ), labels
        assert f"{r['minutes']:g} 分钟 {r['share']:.1%}" in next(
            n for n in notes if n.startswith("覆盖率")
        )
    assert any(lab.startswith("未覆盖需求") and "4/6" in lab for lab in labels)


def test_cli_coverage_zone(proj, tmp_path, capsys):
    p, _ = proj
    code, _out, err = _cli(
        ["coverage", "--project", p.ref, "--service", "科普场馆", "--demand", "enterprises",
         "--zone", ZONE, "--minutes", "5,10,20", "--out", tmp_path / "z"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    s = json.loads((tmp_path / "z" / "summary.json").read_text(encoding="utf-8"))
    assert s["zone"] == ZONE and s["demand_total"] == 3
    assert [r["share"] for r in s["results"]] == pytest.approx([1 / 3, 2 / 3, 1.0])
    code, _out, err = _cli(
        ["coverage", "--project", p.ref, "--service", "科普场馆", "--demand", "enterprises",
         "--zone", "宁波片区", "--out", tmp_path / "z2"],
        capsys,
    )  # fmt: skip
    assert code == 2 and ZONE in err  # the project's zones are named


def test_cli_skip_invalid(proj, tmp_path, capsys):
    p, _d = proj
    bad = tmp_path / "demand_bad.csv"
    good = _csv(tmp_path / "g.csv", p, DEMAND[:2], kind_label="企业", subtype="高新技术企业")
    bad.write_text(
        good.read_text(encoding="utf-8")
        + "X9,坏记录,企业,高新技术企业,未核实,海州区,,,test,test,1,false,2026\n",
        encoding="utf-8",
    )
    args = ["coverage", "--project", p.ref, "--service", "科普场馆", "--demand", str(bad)]
    code, _out, err = _cli([*args, "--out", tmp_path / "a"], capsys)
    assert code == 1 and "demand_bad.csv" in err and "--skip-invalid" in err
    assert not (tmp_path / "a" / "summary.json").exists()
    code, out, err = _cli([*args, "--skip-invalid", "--out", tmp_path / "b"], capsys)
    assert code == 0, err
    assert "skipped 1 invalid rows (demand_bad.csv)" in out
    s = json.loads((tmp_path / "b" / "summary.json").read_text(encoding="utf-8"))
    assert s["skipped_invalid"] == 1 and s["demand_total"] == 2
    assert s["inputs"]["demand"]["skipped_invalid"] == 1
    assert [r["file"] for r in s["skipped_rows"]] == ["demand_bad.csv"]


# ---------------------------------------------------------------- siting
def _site_request(**kw) -> SitingRequest:
    base = {"demand": ("enterprises",), "existing": "孵化器", "minutes": 10.0, "k": 1}
    return SitingRequest(**(base | kw))


def test_siting_grid_known_answer(proj):
    p, _ = proj
    rep = siting.run(p, _site_request(candidates="grid:300"))
    s = rep.summary
    # existing I1 covers E1, E2 (≤ 577 m); one new site covers the 3 km cluster
    assert s["share_before"] == pytest.approx(2 / 6)
    assert s["share_after"] == pytest.approx(5 / 6)
    assert s["n_existing"] == 1 and len(s["selected"]) == 1
    assert s["existing_by_subtype"] == {"众创空间": {"n": 1, "synthetic": 0}}
    new = s["selected"][0]
    north = lonlat(p, 0, 3000)
    assert abs(new["lat"] - north[1]) < 0.006  # within ~600 m of the cluster
    assert s["study_area"].startswith("点的凸包")


def test_siting_layer_candidates_and_lscp(proj):
    p, _ = proj
    rep = siting.run(p, _site_request(candidates="候选楼宇"))
    assert [r["id"] for r in rep.summary["selected"]] == ["C_north"]
    assert {src["source_file"] for src in rep.summary["inputs"]["candidates"]["sources"]} == {
        "候选楼宇.csv"
    }
    full = siting.run(p, _site_request(candidates="候选楼宇", k=None, target_share=1.0))
    assert full.summary["model"] == "lscp" and full.summary["share_after"] == pytest.approx(1.0)
    assert sorted(r["id"] for r in full.summary["selected"]) == ["C_east", "C_north"]
    # candidates restricted to a zone: only C_east lies in it
    z = siting.run(p, _site_request(candidates="候选楼宇", zone=ZONE))
    assert [r["id"] for r in z.summary["selected"]] == ["C_east"]
    # clicked candidates (what the siting page sends), through the run keyword
    lon, lat = lonlat(p, 20, 3000)
    c = siting.run(p, _site_request(candidates="clicked"), extra_candidates=[(lon, lat)])
    assert c.summary["share_after"] == pytest.approx(5 / 6)
    assert c.request["extra_candidates"] == [[lon, lat]]


def test_cli_site_workflow_and_print_legend_agree(proj, tmp_path, capsys):
    p, _ = proj
    params = {"demand": ["enterprises"], "existing": "孵化器", "candidates": "grid:300",
              "k": 1, "minutes": 10}  # fmt: skip
    code, out, err = _cli(
        ["site", "--project", p.ref, "--demand", "enterprises", "--existing", "孵化器",
         "--candidates", "grid:300", "--k", "1", "--minutes", "10", "--out", tmp_path / "s"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "covered 33.3% → 83.3%" in out
    cli_summary = json.loads((tmp_path / "s" / "summary.json").read_text(encoding="utf-8"))
    wf = siting.run(p, SitingRequest.from_dict(params))
    for key in ("share_before", "share_after", "covered_after", "n_candidates", "n_existing"):
        assert cli_summary[key] == pytest.approx(wf.summary[key]), key
    assert [r["id"] for r in cli_summary["selected"]] == [r["id"] for r in wf.summary["selected"]]
    layers, notes, _sub = analysis_layers(p, "site", params, [])
    shares = f"{cli_summary['share_before']:.1%} → {cli_summary['share_after']:.1%}"
    assert any(lyr.label.startswith("推荐新址") and shares in lyr.label for lyr in layers)
    assert any(shares in n for n in notes)
    assert any(lyr.label.startswith("现有孵化器 (1") for lyr in layers)


def test_siting_on_merged_demand_reports_its_error_bound(proj, tmp_path, capsys):
    """aggregate_m: the sites chosen on cells, coverage still exact, the bound reported —
    through the workflow, the CLI and the page."""
    p, _ = proj
    exact = siting.run(p, _site_request(candidates="grid:300"))
    merged = siting.run(p, _site_request(candidates="grid:300", aggregate_m=200.0))
    s = merged.summary
    assert "aggregate_m" not in exact.summary
    # N1..N3 (50 m apart) share a cell: fewer rows; each moved at most half a cell diagonal
    assert s["aggregate_m"] == 200.0 and 3 <= s["aggregated_rows"] < 6
    assert 0 < s["aggregation_max_displacement_m"] <= 200.0 * 2**0.5 / 2 + 1e-6
    assert s["aggregation_max_minutes"] > 0 and 0 <= s["aggregation_band_share"] <= 1
    assert s["share_after"] == pytest.approx(exact.summary["share_after"])  # exact coverage
    assert any("200 米格网合并" in n and "200 m cells" in n for n in merged.notes)
    for bad in (0.0, -5.0, 1e6, float("nan")):
        with pytest.raises(InnoMapError, match="aggregate_m"):
            _site_request(aggregate_m=bad)
    code, _out, err = _cli(
        ["site", "--project", p.ref, "--demand", "enterprises", "--existing", "孵化器",
         "--candidates", "grid:300", "--k", "1", "--minutes", "10", "--aggregate-m", "200",
         "--out", tmp_path / "agg"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    cli_s = json.loads((tmp_path / "agg" / "summary.json").read_text(encoding="utf-8"))
    assert cli_s["aggregated_rows"] == s["aggregated_rows"]
    assert SitingRequest.from_dict(merged.request).aggregate_m == 200.0  # a saved run reruns it


def test_siting_default_grid_is_the_settings_grid():
    assert SitingRequest().candidates == f"grid:{app_settings.SITING_GRID_M:g}"
    assert SitingRequest().grid_m == app_settings.SITING_GRID_M


# ---------------------------------------------------------------- what-if
def test_whatif_add_a_site_at_the_cluster(proj):
    p, _ = proj
    base = whatif.existing_sites(p, "孵化器")
    assert [s["id"] for s in base] == ["I1"]
    lon, lat = lonlat(p, 0, 2900)
    sites, _move, _cand = whatif.apply_edit(base, "add", lon, lat)
    rep = whatif.run_whatif(
        p, whatif.WhatIfRequest(sites=tuple(sites), existing="孵化器", minutes=10.0)
    )
    s = rep.summary
    assert s["baseline_share"] == pytest.approx(2 / 6) and s["share"] == pytest.approx(5 / 6)
    assert s["delta_share"] == pytest.approx(0.5) and s["added"] == 1
    req2 = whatif.WhatIfRequest.from_dict(_json(rep.request))
    assert req2 == whatif.WhatIfRequest.from_dict(rep.request)


def test_whatif_default_point_is_in_the_project(proj):
    p, _ = proj
    lon, lat = whatif.default_point(p)
    zone = p.zones.geometry.iloc[0]
    assert zone.contains(shapely.Point(lon, lat))


# ---------------------------------------------------------------- round trips
_refs = st.lists(st.sampled_from(["enterprises", "科普场馆", "incubators:孵化器", "a.csv"]),
                 min_size=1, max_size=3).map(tuple)  # fmt: skip
_minutes = st.lists(
    st.floats(min_value=0.1, max_value=180, allow_nan=False), min_size=1, max_size=12, unique=True
).map(tuple)
_reach = st.builds(
    ReachOptions,
    mode=st.sampled_from(["walk", "bike", "drive"]),
    method=st.sampled_from([None, "straight"]),
    speed_kmh=st.none() | st.floats(min_value=0.5, max_value=200, allow_nan=False),
    detour=st.floats(min_value=1.0, max_value=5.0),
    max_snap_m=st.floats(min_value=1.0, max_value=10_000),
) | st.builds(ReachOptions, method=st.just("network"), network=st.sampled_from(["路网", "r.osm"]))
_opt_text = st.none() | st.text(min_size=1, max_size=8).filter(str.strip)


@settings(max_examples=60, deadline=None)
@given(
    service=_refs,
    demand=_refs,
    weight=st.none() | st.sampled_from(["employees", "population"]),
    minutes=_minutes,
    reach=_reach,
    zone=_opt_text,
    preset=st.none() | st.just("gb50180"),
    skip=st.booleans(),
)
def test_coverage_request_round_trip(service, demand, weight, minutes, reach, zone, preset, skip):
    req = CoverageRequest(
        service=service, demand=demand, weight=weight, minutes=minutes, reach=reach,
        zone=zone, preset=preset, skip_invalid=skip,
    )  # fmt: skip
    assert CoverageRequest.from_dict(req.to_dict()) == req
    assert CoverageRequest.from_dict(_json(req.to_dict())) == req


@settings(max_examples=60, deadline=None)
@given(
    demand=_refs,
    candidates=st.sampled_from(["grid:600", "grid:250.5", "候选楼宇", "clicked"]),
    k_or_share=st.integers(min_value=1, max_value=50) | st.floats(min_value=0.01, max_value=1.0),
    reach=_reach,
    zone=_opt_text,
    extra=st.lists(st.tuples(st.floats(118, 120), st.floats(34, 35)), max_size=3).map(tuple),
)
def test_siting_request_round_trip(demand, candidates, k_or_share, reach, zone, extra):
    if isinstance(k_or_share, int):
        kw = {"k": k_or_share, "target_share": None, "model": None}
    else:
        kw = {"k": None, "target_share": k_or_share}
    req = SitingRequest(
        demand=demand, candidates=candidates, reach=reach, zone=zone, extra_candidates=extra, **kw
    )
    assert SitingRequest.from_dict(req.to_dict()) == req
    assert SitingRequest.from_dict(_json(req.to_dict())) == req


# ---------------------------------------------------------------- pages
def _app(monkeypatch, ref: str, page: str):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    monkeypatch.setenv("INNOMAP_PROJECT", ref)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page(f"ui/pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def test_coverage_page_same_numbers_save_and_reopen(proj, tmp_path, monkeypatch):
    import shutil

    p, _ = proj
    ref = str(tmp_path / "copy.gpkg")
    shutil.copy(p.ref, ref)
    at = _app(monkeypatch, ref, "coverage_page")
    at.selectbox(key="cov_weight").set_value("employees").run()
    at.button(key="cov_run").click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    wf = coverage.run(p, _cov_request(weight="employees"))
    want = {r["minutes"]: r["share"] for r in wf.summary["results"]}
    shown = dict(zip(table["minutes"], table["share"] / 100, strict=True))  # shown as per cent
    assert shown == pytest.approx(want)
    at.button(key="cov_save").click().run()
    assert not at.exception, at.exception
    runs = open_project(ref).runs
    assert [r.analysis for r in runs] == ["coverage"]
    assert runs[0].summary["results"] == _json(wf.summary["results"])
    # reopen the saved run in a fresh session: its stored table, the same numbers
    at2 = _app(monkeypatch, ref, "coverage_page")
    at2.selectbox(key="cov_saved").set_value(runs[0].id).run()
    assert not at2.exception, at2.exception
    assert "coverage_result" not in at2.session_state  # shown as stored, not run again
    stored = next(d.value for d in at2.dataframe if "share" in d.value)
    kept = dict(zip(stored["minutes"], stored["share"] / 100, strict=True))  # as per cent
    assert kept == pytest.approx(want)
    # computed again on request: same request, same numbers
    at2.button(key="cov_saved_rerun").click().run()
    assert not at2.exception, at2.exception
    assert at2.session_state["coverage_result"].summary["results"] == wf.summary["results"]


def test_siting_page_same_numbers(proj, monkeypatch):
    p, _ = proj
    at = _app(monkeypatch, p.ref, "siting_page")
    at.selectbox(key="site_existing").set_value("孵化器").run()
    at.number_input(key="site_minutes").set_value(10.0).run()
    at.number_input(key="site_spacing").set_value(300.0).run()
    at.number_input(key="site_k").set_value(1).run()
    at.button(key="site_run").click().run()
    assert not at.exception, at.exception
    wf = siting.run(p, _site_request(candidates="grid:300"))
    shares = f"{wf.summary['share_before']:.1%} → {wf.summary['share_after']:.1%}"
    assert any(shares in s.value for s in at.success), [s.value for s in at.success]
    assert at.number_input(key="site_aggregate_m").value == 0.0  # small demand: every point
    at.number_input(key="site_aggregate_m").set_value(200.0).run()
    at.button(key="site_run").click().run()
    assert any("200 米格网合并" in c.value for c in at.caption), [c.value for c in at.caption]
    at.radio(key="site_view").set_value("whatif").run()  # the what-if view (sidebar)
    assert at.metric[1].value == "1"  # what-if baseline: the project's one incubator
