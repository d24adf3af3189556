"""Analyses that know how precise their inputs are (issue 24, part 1), end to end in 合肥.

A tiny 合肥 (蜀山区) project built here: precise enterprises as demand (two groups of
15 at the origin and 3 km east, 6 scattered), incubators partly exact (``I1`` at the
origin, ``I2`` 3 km north-east) and partly placed at a county point (``C1…C6``
stacked 1.5 km north-east, precision 5–30 km, as an offline geocoder places
county-only addresses), science venues ``S1`` exact at the origin and ``S2`` coarse
(8 km) at the eastern group. Every analysis must give what an independent
computation on the precise points alone gives, say what it left out and why
(summary.json, page, print footer, Word report), and with ``--include-imprecise``
use them and say so.
"""

from __future__ import annotations

import io
import json
import math

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from layers.project import ProjectLayer, add_layer, create_project, open_project
from layers.registry import REGISTRY, normalise_columns

COARSE = [5000.0, 8000.0, 12000.0, 18000.0, 25000.0, 30000.0]
WALK_REACH_M = 4.5 * 1000 / 60 * 15  # the precision scale of a 15-minute walk: 1,125 m
HEADLINE_EN = (
    "6 existing incubators with imprecise positions were not counted; new sites may duplicate them"
)


def _layer(p, kind, rows, origin, *, subtype, weight=None):
    """Points ``(id, east m, north m, precision m[, weight])`` around ``origin`` (metric)."""
    crs = p.metric_crs()
    pts = gpd.GeoSeries(
        [shapely.Point(origin.x + e, origin.y + n) for _, e, n, *_ in rows], crs=crs
    ).to_crs(4326)
    df = pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [f"单位{r[0]}" for r in rows],
            "subtype": subtype,
            "level": "未核实",
            "address": "合肥市蜀山区",
            "source": "test",
            "coord_source": ["geocode:county" if r[3] > 1000 else "survey" for r in rows],
            "coord_precision_m": [float(r[3]) for r in rows],
            "synthetic": False,
            "as_of": "2026",
            **({weight: [r[4] for r in rows]} if weight else {}),
        }
    )
    gdf = gpd.GeoDataFrame(df, geometry=pts.values, crs=4326)
    return normalise_columns(gdf.assign(kind=REGISTRY[kind].kind), REGISTRY[kind])


def _enterprises():
    rng = np.random.default_rng(24)
    rows = []
    for i in range(15):
        rows.append((f"A{i}", *rng.uniform(-80, 80, 2), 10.0, 10 + i))
    for i in range(15):
        rows.append((f"B{i}", 3000 + rng.uniform(-80, 80), rng.uniform(-80, 80), 10.0, 20))
    for i, (e, n) in enumerate(
        [(600, 0), (1200, 400), (-900, 300), (0, -1500), (2100, -800), (3300, 2500)]
    ):
        rows.append((f"X{i}", e, n, 30.0, 5))
    return rows


@pytest.fixture(scope="module")
def hefei(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hefei")
    p = create_project(folder / "p.gpkg", name="合肥测试", city="合肥市", counties=["蜀山区"])
    d = p.districts.to_crs(p.metric_crs())
    origin = d.geometry.iloc[0].representative_point()
    incub = [("I1", 0, 0, 20.0), ("I2", 3000, 3000, 30.0)]
    incub += [(f"C{i + 1}", 1500, 1500, prec) for i, prec in enumerate(COARSE)]
    layers = [
        (
            "企业",
            "enterprises",
            _layer(
                p, "enterprises", _enterprises(), origin, subtype="高新技术企业", weight="employees"
            ),
        ),
        ("孵化器", "incubators", _layer(p, "incubators", incub, origin, subtype="孵化器")),
        (
            "场馆",
            "science_venues",
            _layer(
                p,
                "science_venues",
                [("S1", 0, 0, 10.0), ("S2", 3000, 0, 8000.0)],
                origin,
                subtype="专业场馆",
            ),
        ),
    ]
    for name, kind, gdf in layers:
        add_layer(p, ProjectLayer(name=name, kind=kind, gdf=gdf, source_file=f"{name}.csv"))
    a = gpd.GeoSeries(
        [shapely.Point(origin.x - 500, origin.y), shapely.Point(origin.x + 4000, origin.y)],
        crs=p.metric_crs(),
    ).to_crs(4326)
    axis = gpd.GeoDataFrame(
        {"id": ["A1"], "name": ["测试轴线"], "subtype": ["轴线"], "source": ["t"]},
        geometry=[shapely.LineString(list(a.values))],
        crs=4326,
    )
    add_layer(
        p,
        ProjectLayer(
            name="轴线",
            kind="corridor_axes",
            gdf=normalise_columns(axis, REGISTRY["corridor_axes"]),
            source_file="axis.geojson",
        ),
    )
    return open_project(p.ref)


def _xy(project, kind, *, precise=True):
    """Metric coordinates, ids and weights of a kind's records (the precise ones only)."""
    g = project.layers_of_kind(kind)[0].gdf
    if precise:
        g = g[g["coord_precision_m"] <= WALK_REACH_M]
    m = g.to_crs(project.metric_crs())
    return m.geometry.get_coordinates().to_numpy(), m["id"].tolist(), m


def _covered(dxy, sxy, radius):
    if not len(sxy):
        return np.zeros(len(dxy), bool)
    d = np.sqrt(((dxy[:, None, :] - sxy[None, :, :]) ** 2).sum(-1))
    return (d <= radius + 1e-6).any(1)


def _cli(args, tmp_path, name):
    import cli

    out = tmp_path / name
    assert cli.main([*args, "--out", str(out)]) == 0
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_coverage_and_siting_use_the_precise_points_alone(hefei, tmp_path):
    ref = ["--project", hefei.ref]
    radius = WALK_REACH_M / 1.3  # straight line: speed × time ÷ detour
    dxy, _, dm = _xy(hefei, "enterprises")
    w = dm["employees"].to_numpy(float)
    s = _cli(
        [
            "coverage",
            *ref,
            "--service",
            "science_venues",
            "--demand",
            "enterprises",
            "--minutes",
            "15",
        ],
        tmp_path,
        "cov",
    )
    sxy, _, _ = _xy(hefei, "science_venues")
    oracle = _covered(dxy, sxy, radius)
    assert s["results"][0]["covered"] == int(oracle.sum()) == 16  # group A + X0
    roles = s["precision"]["roles"]
    assert roles["services"]["excluded"] == 1 and roles["demand"]["excluded"] == 0
    assert roles["services"]["by_layer"]["场馆"]["imprecise"] == 1
    assert s["precision"]["max_precision_m"] == pytest.approx(1125.0)
    assert s["demand_coarse_excluded"] == 0 and s["max_precision_m"] == pytest.approx(1125.0)
    assert any("1 services coarser than 1,125 m left out" in n for n in s["precision"]["notes"])
    s2 = _cli(
        [
            "coverage",
            *ref,
            "--service",
            "science_venues",
            "--demand",
            "enterprises",
            "--minutes",
            "15",
            "--include-imprecise",
        ],
        tmp_path,
        "cov2",
    )
    allxy, _, _ = _xy(hefei, "science_venues", precise=False)
    assert s2["results"][0]["covered"] == int(_covered(dxy, allxy, radius).sum()) == 31
    assert s2["include_imprecise"] and s2["precision"]["imprecise_used"] == 1
    assert any("include_imprecise" in n for n in s2["precision"]["notes"])
    # the former option name still works, and a saved request with include_coarse loads
    import cli

    alias = cli.build_parser().parse_args(
        ["coverage", "--service", "s", "--demand", "d", "--include-coarse", "--out", "x"]
    )
    assert alias.include_imprecise  # the former option name still works
    from workflows.coverage import CoverageRequest

    assert CoverageRequest.from_dict({"include_coarse": True}).include_imprecise

    # siting: 6 stacked county points are not existing sites; the headline says so first
    sargs = [
        "site",
        *ref,
        "--demand",
        "enterprises",
        "--weight",
        "employees",
        "--existing",
        "incubators",
        "--candidates",
        "grid:400",
        "--k",
        "1",
    ]
    s = _cli(sargs, tmp_path, "site")
    exy, ids, _ = _xy(hefei, "incubators")
    assert sorted(ids) == ["I1", "I2"] and s["n_existing"] == 2
    before = _covered(dxy, exy, radius)
    assert s["share_before"] == pytest.approx(w[before].sum() / w.sum())
    assert s["existing_imprecise_excluded"] == 6
    assert s["headline"].endswith(HEADLINE_EN)
    assert next(
        iter(json.loads((tmp_path / "site" / "summary.json").read_text(encoding="utf-8")))
    ) in ("headline", "synthetic_note")
    # best single new site by brute force over the same grid (independent coverage count)
    from workflows.siting import SitingRequest, run

    rep = run(
        hefei,
        SitingRequest(
            demand=("enterprises",),
            weight="employees",
            existing="incubators",
            candidates="grid:400",
            k=1,
        ),
    )
    cxy = rep.inputs["candidates"].geometry.get_coordinates().to_numpy()
    best = max(w[before | _covered(dxy, c[None, :], radius)].sum() for c in cxy)
    assert s["share_after"] == pytest.approx(best / w.sum())
    assert rep.notes[0].endswith(HEADLINE_EN)
    s2 = _cli([*sargs, "--include-imprecise"], tmp_path, "site2")
    assert (
        s2["n_existing"] == 8 and s2["existing_imprecise_excluded"] == 0 and not s2.get("headline")
    )
    allxy, _, _ = _xy(hefei, "incubators", precise=False)
    assert s2["share_before"] == pytest.approx(w[_covered(dxy, allxy, radius)].sum() / w.sum())
    # existing sites more than half left out: a lead warning
    assert s["precision"]["majority_excluded"] == ["existing"]
    assert "6 of 8 existing incubators" in s["precision"]["warnings"][0]

    # the print footer and the Word report say it
    from export.maps import MapContent, render_map
    from workflows.analyses import report_print_layers

    layers, notes, sub = report_print_layers(hefei, rep)
    content = MapContent(layers, notes, sub, [], "site")
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        svg = render_map(hefei, content, title="选址", fmt="svg", extent=None, dpi=60).decode()
    assert "6 个现有孵化器位置不精确" in svg and "位置为近似" not in svg  # left out, not drawn
    from docx import Document

    from export.report_docx import ReportSection, build_docx

    sec = ReportSection(
        "site", "选址", rep.request, json.loads(json.dumps(rep.summary, default=str))
    )
    text = "\n".join(p.text for p in Document(io.BytesIO(build_docx(hefei, [sec]))).paragraphs)
    assert "6 个现有孵化器位置不精确, 未计入现状; 新选址可能与其重复" in text
    assert "已排除 6 个位置精度粗于 1,125 米的现有孵化器" in text


def test_clusters_hotspots_and_profile_use_the_precise_points_alone(hefei, tmp_path):
    from sklearn.cluster import DBSCAN

    ref = ["--project", hefei.ref]
    # clusters: the 6 stacked county points would be a "cluster" of their own
    cargs = [
        "clusters",
        *ref,
        "--layer",
        "enterprises",
        "incubators",
        "--eps-m",
        "300",
        "--min-samples",
        "5",
    ]
    s = _cli(cargs, tmp_path, "cl")
    e, _, _ = _xy(hefei, "enterprises")
    i, _, _ = _xy(hefei, "incubators")
    lab = DBSCAN(eps=300, min_samples=5).fit(np.vstack([e, i])).labels_
    sizes = sorted(np.bincount(lab[lab >= 0]).tolist())
    assert sorted(c["size"] for c in s["clusters"]) == sizes == [15, 16]
    assert s["precision"]["roles"]["points"]["excluded"] == 6 and s["n_points"] == len(lab)
    assert s["precision"]["roles"]["points"]["by_layer"]["孵化器"]["imprecise"] == 6
    assert s["precision"]["scale_m"] == 300.0
    s2 = _cli([*cargs, "--include-imprecise"], tmp_path, "cl2")
    assert sorted(c["size"] for c in s2["clusters"]) == [6, 15, 16] and s2["imprecise_used"] == 6

    # hot spots: each hexagon counts the precise points inside it
    s = _cli(
        [
            "hotspots",
            *ref,
            "--layer",
            "enterprises",
            "incubators",
            "--cell-m",
            "500",
            "--permutations",
            "99",
        ],
        tmp_path,
        "hs",
    )
    cells = gpd.read_file(tmp_path / "hs" / "cells.gpkg").to_crs(hefei.metric_crs())
    pts = shapely.points(np.vstack([e, i]))
    counted = np.array([shapely.contains(c, pts).sum() for c in cells.geometry])
    assert (cells["count"].to_numpy() == counted).all() and counted.sum() == len(pts)
    assert s["imprecise_excluded"] == 6 and s["precision"]["scale_m"] == 500.0
    assert {r["kind"]: r["n"] for r in s["nearest_neighbour"]}.get("孵化载体", 2) == 2

    # profile: min(bin, band) = 500 m; bins counted by projecting the precise points
    s = _cli(
        [
            "profile",
            *ref,
            "--axis",
            "测试轴线",
            "--bin-m",
            "500",
            "--band-m",
            "1000",
            "--layers",
            "enterprises",
            "incubators",
        ],
        tmp_path,
        "pf",
    )
    axis = hefei.layers_of_kind("corridor_axes")[0].gdf.to_crs(hefei.metric_crs()).geometry.iloc[0]
    a, b = np.array(axis.coords[0]), np.array(axis.coords[-1])
    u = (b - a) / np.linalg.norm(b - a)
    rel = np.vstack([e, i]) - a
    along, off = rel @ u, np.abs(rel[:, 0] * u[1] - rel[:, 1] * u[0])
    length = np.linalg.norm(b - a)
    inb = (off <= 1000) & (along >= 0) & (along <= length)
    n_bins = math.ceil(length / 500 - 1e-6)  # 4.5 km: 9 bins (a last sliver is no bin)
    want = np.bincount(np.minimum((along[inb] // 500).astype(int), n_bins - 1), minlength=n_bins)
    assert [b["total"] for b in s["bins"]] == want.tolist()
    assert s["precision"]["roles"]["points"]["excluded"] == 6 and s["precision"]["scale_m"] == 500.0
    s2 = _cli(
        [
            "profile",
            *ref,
            "--axis",
            "测试轴线",
            "--bin-m",
            "500",
            "--band-m",
            "1000",
            "--layers",
            "enterprises",
            "incubators",
            "--include-imprecise",
        ],
        tmp_path,
        "pf2",
    )
    assert s2["points_total"] == s["points_total"] + 6 and s2["include_imprecise"]
    assert s2["points_in_band"] == s["points_in_band"]  # the stack lies 1.5 km off the axis


def test_coarse_points_get_a_district_only_when_their_disc_lies_inside(hefei):
    from workflows.common import select_layers

    sel = select_layers(hefei, ["incubators"])
    d = sel.gdf.set_index("id")["district"]
    assert d["I1"] == "蜀山区" and d["I2"] == "蜀山区"
    # the 5 km disc may lie inside 蜀山区 or not: decided by the boundary distance
    poly = hefei.districts.to_crs(hefei.metric_crs()).geometry.iloc[0]
    p = sel.gdf.to_crs(hefei.metric_crs()).set_index("id").geometry
    for cid, prec in zip([f"C{k + 1}" for k in range(6)], COARSE, strict=True):
        inside = poly.contains(p[cid]) and poly.boundary.distance(p[cid]) >= prec
        assert d[cid] == ("蜀山区" if inside else "未定"), cid
    assert (d == "未定").sum() >= 4  # 12 km and more cross the county boundary


def test_pages_lead_with_the_precision_warning(hefei, tmp_path, monkeypatch):
    from tests.conftest import app_on_page
    from workflows.siting import SitingRequest, run

    at = app_on_page(monkeypatch, hefei.ref, tmp_path / "home", "siting_page")
    rep = run(
        hefei,
        SitingRequest(demand=("enterprises",), existing="incubators", candidates="grid:400", k=1),
    )
    at.session_state["site_result"] = rep
    at.run()
    assert not at.exception, at.exception
    assert at.error and at.error[0].value.startswith("6 个现有孵化器位置不精确")
    assert "现有孵化器 8 个中有 6 个" in at.error[1].value  # more than half left out: leads
    assert any("已排除 6 个位置精度粗于 1,125 米的现有孵化器" in e.value for e in at.info)
    assert any(c.label == "使用位置不精确的点" for c in at.checkbox)


# ---------------------------------------------------------------- laws

_prec = st.one_of(st.just(float("nan")), st.floats(0.0, 50_000.0))


@hsettings(max_examples=60, deadline=None)
@given(precisions=st.lists(_prec, max_size=30), scale=st.floats(1.0, 20_000.0), keep=st.booleans())
def test_the_rule_keeps_exactly_the_precise_and_unknown_points(precisions, scale, keep):
    from workflows.common import PrecisionRule

    g = pd.DataFrame({"coord_precision_m": precisions, "layer": "L"})
    rule = PrecisionRule(scale_m=scale, basis="b", basis_en="b", include_imprecise=keep)
    kept = rule.split(g, "points")
    p = np.asarray(precisions, float)
    coarse = np.nan_to_num(p, nan=-1.0) > scale
    r = rule.roles["points"]
    assert r["imprecise"] == coarse.sum() and r["unknown_precision"] == np.isnan(p).sum()
    assert len(kept) == (len(p) if keep else (~coarse).sum())
    assert r["excluded"] + r["imprecise_used"] == coarse.sum()
    if not keep:
        assert not (kept["coord_precision_m"] > scale).any()


@hsettings(max_examples=60, deadline=None)
@given(
    x=st.floats(-3000, 13000),
    y=st.floats(-3000, 13000),
    prec=st.one_of(st.just(float("nan")), st.floats(0.0, 8000.0)),
)
def test_a_coarse_point_gets_a_zone_only_when_its_disc_lies_inside(x, y, prec):
    import settings
    from layers.filters import assign_zones

    zone = gpd.GeoDataFrame({"name": ["Z"]}, geometry=[shapely.box(0, 0, 10000, 10000)], crs=32650)
    pt = gpd.GeoDataFrame({"coord_precision_m": [prec]}, geometry=[shapely.Point(x, y)], crs=32650)
    label = assign_zones(pt, zone).iloc[0]
    inside = zone.geometry.iloc[0].contains(pt.geometry.iloc[0])
    if not prec > settings.STREET_LEVEL_PRECISION_M:  # fine or unknown: point in polygon
        assert label == ("Z" if inside else "")
    else:
        d = zone.geometry.iloc[0].boundary.distance(pt.geometry.iloc[0])
        assert label == ("未定" if d < prec else ("Z" if inside else ""))
