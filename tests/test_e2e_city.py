"""End to end on a city other than Ningbo: a 连云港 planner's own files, through the CLI.

The files are generated here the way they arrive in practice: enterprises in GCJ-02
as a GBK CSV, incubators in BD-09, 科普场馆 as a zipped Shapefile in CGCS2000
3° Gauss–Krüger zone 40 (zone-prefixed eastings), and a 开发区 polygon. The same
numbers must come out of summary.json, the print-map legend and the app.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.crs import wgs84_to_bd09, wgs84_to_gcj02
from layers.project import open_project
from tests.cli_run import run_cli

ROOT = Path(__file__).resolve().parents[1]
LYG_COUNTIES = ["连云区", "海州区", "赣榆区", "东海县", "灌云县", "灌南县"]


def cli(*args) -> subprocess.CompletedProcess:
    r = run_cli(*args)  # in this process: cli.main(argv)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def _sample_in(poly, n: int, rng) -> np.ndarray:
    minx, miny, maxx, maxy = poly.bounds
    out = []
    while len(out) < n:
        x = rng.uniform(minx, maxx, 4 * n)
        y = rng.uniform(miny, maxy, 4 * n)
        ok = shapely.contains_xy(poly, x, y)
        out.extend(zip(x[ok], y[ok], strict=True))
    return np.asarray(out[:n])


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """A 连云港 project filled with the planner's own files; returns (folder, project path, truth)."""
    d = tmp_path_factory.mktemp("lyg")
    proj = d / "连云港.gpkg"
    r = cli("project", "new", "--name", "连云港科创资源", "--city", "连云港市", "--out", proj)
    assert r.returncode == 0, r.stderr
    p = open_project(proj)
    rng = np.random.default_rng(7)
    hz = p.districts[p.districts["name"] == "海州区"].geometry.iloc[0]
    metric = p.metric_crs()
    hz_m = gpd.GeoSeries([hz], crs=4326).to_crs(metric).iloc[0]
    core = hz_m.representative_point()
    # enterprises: two dense groups + scatter, GCJ-02, GBK CSV with Chinese headers
    g1 = np.column_stack([rng.normal(core.x, 250, 150), rng.normal(core.y, 250, 150)])
    g2 = np.column_stack([rng.normal(core.x + 6000, 300, 100), rng.normal(core.y + 3000, 300, 100)])
    scatter = _sample_in(hz_m, 50, rng)
    ent_m = np.vstack([g1, g2, scatter])
    ent = gpd.GeoSeries(gpd.points_from_xy(ent_m[:, 0], ent_m[:, 1]), crs=metric).to_crs(4326)
    glon, glat = wgs84_to_gcj02(ent.x.to_numpy(), ent.y.to_numpy())
    pd.DataFrame(
        {
            "企业名称": [f"连云港测试企业{i:03d}" for i in range(len(ent))],
            "经度": np.round(glon, 7),
            "纬度": np.round(glat, 7),
            "从业人员": rng.integers(5, 300, len(ent)),
            "类型": "高新技术企业",
        }
    ).to_csv(d / "高新技术企业名单.csv", index=False, encoding="gbk")
    # incubators in BD-09
    inc_m = np.column_stack([rng.normal(core.x, 1500, 12), rng.normal(core.y, 1500, 12)])
    inc = gpd.GeoSeries(gpd.points_from_xy(inc_m[:, 0], inc_m[:, 1]), crs=metric).to_crs(4326)
    blon, blat = wgs84_to_bd09(inc.x.to_numpy(), inc.y.to_numpy())
    pd.DataFrame(
        {
            "名称": [f"孵化器{i}" for i in range(12)],
            "lng": np.round(blon, 7),
            "lat": np.round(blat, 7),
            "类别": ["孵化器"] * 8 + ["众创空间"] * 4,
        }
    ).to_csv(d / "孵化器.csv", index=False, encoding="utf-8")
    # science venues as a zipped Shapefile in CGCS2000 3° GK zone 40 (zone-prefixed eastings)
    ven_m = np.vstack([_sample_in(hz_m, 20, rng)])
    ven = gpd.GeoDataFrame(
        {"name": [f"科普馆{i}" for i in range(20)], "subtype": ["专业场馆"] * 20},
        geometry=gpd.points_from_xy(ven_m[:, 0], ven_m[:, 1]),
        crs=metric,
    ).to_crs("EPSG:4528")
    shp_dir = d / "shp"
    shp_dir.mkdir()
    ven.to_file(shp_dir / "科普场馆.shp", encoding="UTF-8")
    with zipfile.ZipFile(d / "科普场馆.zip", "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
    # a 开发区 polygon around the dense group
    zone = gpd.GeoDataFrame(
        {"name": ["连云港经济技术开发区(测试)"], "subtype": ["开发区"]},
        geometry=[core.buffer(2500)],
        crs=metric,
    ).to_crs(4326)
    zone.to_file(d / "开发区.geojson", driver="GeoJSON")
    for f, kind, extra in (
        ("高新技术企业名单.csv", "enterprises", ["--crs", "GCJ-02", "--encoding", "GBK"]),
        ("孵化器.csv", "incubators", ["--crs", "BD-09"]),
        ("科普场馆.zip", "science_venues", []),
        ("开发区.geojson", "zones", []),
    ):
        r = cli("project", "add", "--project", proj, d / f, "--kind", kind, *extra, "--json")
        assert r.returncode == 0, (f, r.stdout[-2000:], r.stderr[-2000:])
    truth = {"enterprises": len(ent), "incubators": 12, "science_venues": 20}
    return d, proj, truth


def test_project_is_lianyungang(city):
    _d, proj, truth = city
    info = json.loads(cli("project", "info", "--project", proj, "--json").stdout)
    assert info["city"] == "连云港市" and info["metric_crs"]["epsg"] == 32650
    assert sorted(info["districts"]) == sorted(LYG_COUNTIES)
    rows = {lyr["kind"]: lyr["rows"] for lyr in info["layers"]}
    assert rows["enterprises"] == truth["enterprises"]
    assert rows["incubators"] == truth["incubators"]
    assert rows["science_venues"] == truth["science_venues"]
    assert info["zones"] == [{"name": "连云港经济技术开发区(测试)", "type": "开发区"}]
    srcs = {lyr["source_file"] for lyr in info["layers"]}
    assert {"高新技术企业名单.csv", "孵化器.csv", "科普场馆.zip", "开发区.geojson"} <= srcs
    p = open_project(proj)
    # GK zone 40 venues land inside 海州区 (the CRS was read from the .prj)
    hz = p.districts[p.districts["name"] == "海州区"].geometry.iloc[0]
    venues = p.kind_frame("science_venues")
    assert venues.within(hz.buffer(0.001)).all()


def _no_ningbo(folder: Path) -> None:
    for f in folder.rglob("*"):
        if f.suffix in (".json", ".csv", ".svg", ".html"):
            assert "宁波" not in f.read_text(encoding="utf-8", errors="ignore"), f


def test_coverage_on_project(city):
    d, proj, truth = city
    out = d / "cov"
    r = cli("coverage", "--project", proj, "--service", "science_venues", "--demand",
            "enterprises", "--weight", "employees", "--minutes", "5,10,15", "--out", out)
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["demand_total"] == truth["enterprises"]
    assert {row["district"] for row in s["by_district"]} <= set(LYG_COUNTIES)
    assert any(row["district"] == "海州区" for row in s["by_district"])
    _no_ningbo(out)
    from workflows.analyses import analysis_layers

    _layers, notes, _sub = analysis_layers(
        open_project(proj),
        "coverage",
        {"service": ["science_venues"], "demand": ["enterprises"], "weight": "employees",
         "minutes": [5, 10, 15]},
        [],
    )
    printed = next(n for n in notes if n.startswith("覆盖率"))
    for row in s["results"]:
        assert f"{row['minutes']:g} 分钟 {row['share']:.1%}" in printed


def test_clusters_keep_every_kind(city):
    d, proj, truth = city
    out = d / "cl"
    r = cli("clusters", "--project", proj, "--layer", "enterprises", "incubators",
            "--eps-m", "400", "--min-samples", "8", "--out", out)
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["n_points"] == truth["enterprises"] + truth["incubators"]  # no incubator dropped
    assert s["n_clusters"] >= 2
    _no_ningbo(out)


def test_hotspots_in_project_zone(city):
    d, proj, _truth = city
    out = d / "hs"
    r = cli("hotspots", "--project", proj, "--layer", "enterprises", "--cell-m", "500",
            "--permutations", "99", "--zone", "连云港经济技术开发区(测试)", "--out", out)
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["n_cells"] > 0
    _no_ningbo(out)


def test_site_keeps_project_incubators(city):
    d, proj, _truth = city
    out = d / "site"
    r = cli("site", "--project", proj, "--demand", "enterprises", "--weight", "employees",
            "--existing", "incubators", "--candidates", "grid:800",
            "--zone", "连云港经济技术开发区(测试)", "--k", "3", "--out", out)
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert 1 <= len(s["selected"]) <= 3  # fewer when the rest adds no coverage
    assert s["share_after"] > s["share_before"]
    assert s["n_existing"] == 12  # the project's incubators, not an embedded list
    # the print map's legend states the same numbers
    from workflows.analyses import analysis_layers

    _layers, notes, _sub = analysis_layers(
        open_project(proj),
        "site",
        {"demand": ["enterprises"], "weight": "employees", "existing": "incubators",
         "candidates": "grid:800", "zone": "连云港经济技术开发区(测试)", "k": 3},
        [],
    )
    assert any(f"{s['share_before']:.1%} → {s['share_after']:.1%}" in n for n in notes)
    _no_ningbo(out)


def test_export_layers_every_row(city):
    d, proj, truth = city
    out = d / "layers.gpkg"
    r = cli("export-layers", "--project", proj, "--layers", "incubators", "science_venues",
            "--format", "gpkg", "--out", out)
    assert r.returncode == 0, r.stderr
    import pyogrio

    counts = {name: len(pyogrio.read_dataframe(out, layer=name))
              for name, _ in pyogrio.list_layers(out)}
    assert sorted(counts.values()) == sorted([truth["incubators"], truth["science_venues"]])


def test_print_map_framed_on_city(city):
    d, proj, _truth = city
    out = d / "map.svg"
    r = cli("export-map", "--project", proj, "--title", "连云港创新资源分布图", "--format", "svg",
            "--out", out)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 10_000
    series = d / "atlas"
    r = cli("export-map", "--project", proj, "--title", "创新资源", "--series", "district",
            "--format", "png", "--dpi", "60", "--out", series)
    assert r.returncode == 0, r.stderr
    assert len(list(series.glob("*.png"))) == len(LYG_COUNTIES)
