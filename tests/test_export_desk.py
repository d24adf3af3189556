"""A planner's desk, the export side: KML/KMZ folders and styles for 奥维/Google Earth, GeoPackages
of every layer kind, ``--to-crs`` against pyproj and published GCJ-02/BD-09 control points, the
shipped CJK font with system fonts hidden, zone figures on zone maps, report sections and the
PDF report through LibreOffice."""

from __future__ import annotations

import io
import json
import math
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from lxml import etree
from pyproj import Transformer

from cli import main as cli_main
from export import report_docx
from export.layers_io import KML_ICON_HOLLOW, write_layers
from export.styles import kind_color, subtype_colors
from layers.errors import InnoMapError
from layers.project import demo_project, open_project, save_run
from tests.conftest import ROOT

KML = {"k": "http://www.opengis.net/kml/2.2"}


@pytest.fixture(scope="module")
def demo():
    return demo_project()


def _kml_color(hex_color: str, alpha: int = 255) -> str:
    h = hex_color.lstrip("#").lower()
    return f"{alpha:02x}{h[4:6]}{h[2:4]}{h[0:2]}"


# ------------------------------------------------------------------ KML / KMZ
@pytest.mark.parametrize("fmt", ["kml", "kmz"])
def test_kml_has_a_folder_per_layer_and_styles_by_kind_and_subtype(demo, tmp_path, fmt):
    from layers.kml import read_kml

    refs = ["incubators", "universities", "zones", "districts", "corridor_axes"]
    out = tmp_path / f"desk.{fmt}"
    assert cli_main(["export-layers", "--layers", *refs, "--format", fmt, "--out", str(out)]) == 0
    if fmt == "kmz":
        with zipfile.ZipFile(out) as zf:
            assert zf.namelist() == ["doc.kml"]
            body = zf.read("doc.kml")
    else:
        body = out.read_bytes()
    root = etree.fromstring(body)
    assert root.find("k:Document/k:name", KML).text == "desk"
    folders = root.findall("k:Document/k:Folder", KML)
    assert [f.find("k:name", KML).text for f in folders] == refs
    styles = {s.get("id"): s for s in root.findall("k:Document/k:Style", KML)}
    maps = {m.get("id"): m for m in root.findall("k:Document/k:StyleMap", KML)}

    def normal_style(pm):
        sm = maps[pm.find("k:styleUrl", KML).text.lstrip("#")]
        pairs = {p.find("k:key", KML).text: p.find("k:styleUrl", KML).text for p in sm}
        assert set(pairs) == {"normal", "highlight"}
        return styles[pairs["normal"].lstrip("#")]

    for folder, ref in zip(folders, refs, strict=True):
        lyr = demo.layers[ref]
        pms = folder.findall("k:Placemark", KML)
        assert len(pms) == lyr.rows  # every row, named
        assert [pm.find("k:name", KML).text for pm in pms] == lyr.gdf["name"].astype(str).tolist()
        for pm, (_, row) in zip(pms, lyr.gdf.iterrows(), strict=True):
            st = normal_style(pm)
            if ref in ("incubators", "universities"):
                icon = st.find("k:IconStyle", KML)
                want = subtype_colors(ref)[row["subtype"]]
                assert icon.find("k:color", KML).text == _kml_color(want), (ref, row["name"])
                hollow = float(row["coord_precision_m"]) > 100
                assert (icon.find("k:Icon/k:href", KML).text == KML_ICON_HOLLOW) == hollow
            else:
                line = st.find("k:LineStyle", KML)
                assert line.find("k:color", KML).text == _kml_color(kind_color(ref))
                poly = st.find("k:PolyStyle", KML)
                assert (poly is None) == (ref == "corridor_axes")
                if ref == "zones":
                    assert poly.find("k:fill", KML).text == "1"
                if ref == "districts":
                    assert poly.find("k:fill", KML).text == "0"
        data = {
            d.get("name"): d.find("k:value", KML).text for d in pms[0].iter(f"{{{KML['k']}}}Data")
        }
        assert data["id"] == str(lyr.gdf["id"].iloc[0]) and "subtype" in data
    # distinct subtypes get distinct colours; read back by InnoMap's KML reader, folders kept
    inc = {
        normal_style(pm).find("k:IconStyle/k:color", KML).text
        for pm in folders[0].findall("k:Placemark", KML)
    }
    assert len(inc) >= 4
    if fmt == "kml":
        back, names = read_kml(body, name=out.name)
        assert names == refs and len(back) == sum(demo.layers[r].rows for r in refs)
        assert set(pyogrio.list_layers(out)[:, 0]) == set(refs)  # GDAL reads the folders too


def test_kml_refuses_other_crs_with_the_reason(demo, tmp_path, capsys):
    code = cli_main(
        ["export-layers", "--layers", "universities", "--format", "kmz", "--to-crs", "GCJ-02"]
        + ["--out", str(tmp_path / "x.kmz")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "WGS84" in err and "KML" in err and not list(tmp_path.iterdir())


# ------------------------------------------------------------------ GeoPackage of every kind
def test_gpkg_holds_every_chosen_kind(demo, tmp_path):
    from workflows.exports import LayersExportRequest, run_layers_export

    refs = ["platforms", "districts", "zones", "corridor_axes"]
    rep = run_layers_export(
        demo, LayersExportRequest(layers=refs, format="gpkg"), tmp_path / "a.gpkg"
    )
    layers = dict(pyogrio.list_layers(tmp_path / "a.gpkg"))
    assert list(layers) == refs
    assert layers["platforms"] == "Point" and layers["corridor_axes"] == "LineString"
    for ref in refs:
        back = gpd.read_file(tmp_path / "a.gpkg", layer=ref)
        assert len(back) == demo.layers[ref].rows == rep.summary["layers"][ref]
        assert back.crs.to_epsg() == 4326
        kind = demo.layers[ref].kind
        want = {"districts": "Polygon", "zones": "Polygon", "corridor_axes": "LineString"}.get(
            kind, "Point"
        )
        assert back.geom_type.str.replace("Multi", "").eq(want).all()
    assert rep.summary["crs"] == "WGS84" and rep.summary["rows_in"] == rep.summary["rows_out"]


# ------------------------------------------------------------------ --to-crs
def _points_frame():
    lon = np.array([121.55, 121.62, 121.71, 121.58])
    lat = np.array([29.86, 29.91, 29.95, 30.02])
    return gpd.GeoDataFrame(
        {"id": ["a", "b", "c", "d"], "name": ["甲", "乙", "丙", "丁"]},
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )


@pytest.mark.parametrize(
    "name,epsg",
    [
        ("CGCS2000", 4490),
        ("GK3", 4529),  # Ningbo's points centre on 121.6°E: zone 41 (123°E), prefixed
        ("GK3:40", 4528),
        ("GK3:120E", 4549),
        ("EPSG:32651", 32651),
        ("EPSG:3857", 3857),
    ],
)
def test_to_crs_matches_pyproj_within_half_a_metre(tmp_path, name, epsg):
    g = _points_frame()
    out = write_layers({"点": g}, tmp_path / "p.gpkg", fmt="gpkg", to_crs=name)
    assert out.name == "p.gpkg"
    back = gpd.read_file(out)
    assert back.crs.to_epsg() == epsg
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(g.geometry.x, g.geometry.y)
    if back.crs.is_geographic:  # degrees: compare in metres
        dx = (back.geometry.x - x) * 111_320 * np.cos(np.radians(g.geometry.y))
        dy = (back.geometry.y - y) * 110_574
    else:
        dx, dy = back.geometry.x - x, back.geometry.y - y
    assert float(np.hypot(dx, dy).max()) < 0.5
    if name.startswith("GK3") and not name.endswith("E"):
        assert (back.geometry.x // 1_000_000).eq(epsg - 4513 + 25).all()  # zone-prefixed eastings
    # a zipped shapefile states the same CRS in its .prj
    shp = tmp_path / "p.zip"
    write_layers({"点": g}, shp, fmt="shp", to_crs=name)
    assert gpd.read_file(f"/vsizip/{shp}/点.shp").crs.to_epsg() == epsg


#: Published WGS84 → GCJ-02 / BD-09 pairs (not our own round trip):
#: * wandergis/coordtransform (README; also hutool CoordinateUtilTest, which cites it):
#:   wgs84togcj02(116.404, 39.915) = (116.41024449916938, 39.91640428150164);
#:   wgs84ToBd09(116.404, 39.915) = (116.41662724378733, 39.922699552216216);
#: * hutool CoordinateUtilTest, checked against tool.lu/coordinate:
#:   wgs84ToBd09(122.99395597, 44.99804071) = (123.00636516028885, 45.0063690918959);
#: * hujiulong/gcoord test/unit/crs/GCJ02.spec.js: GCJ02→WGS84 (123, 45) = (122.99395597,
#:   44.99804071), so WGS84 (122.99395597, 44.99804071) → GCJ-02 (123, 45) (to 1e-8°).
CONTROL = {
    "GCJ-02": [((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
               ((122.99395597, 44.99804071), (123.0, 45.0))],
    "BD-09": [((116.404, 39.915), (116.41662724378733, 39.922699552216216)),
              ((122.99395597, 44.99804071), (123.00636516028885, 45.0063690918959))],
}  # fmt: skip


def _metres(a, b) -> float:
    (x1, y1), (x2, y2) = a, b
    return math.hypot((x1 - x2) * 111_320 * math.cos(math.radians(y1)), (y1 - y2) * 110_574)


@pytest.mark.parametrize("system", ["GCJ-02", "BD-09"])
def test_offset_systems_match_published_points_and_carry_no_false_crs(tmp_path, system):
    from layers.provenance import gpkg_layer_markers, read_geojson_marker

    pairs = CONTROL[system]
    g = gpd.GeoDataFrame(
        {"id": ["p1", "p2"], "name": ["北京", "控制点"]},
        geometry=[shapely.Point(*w) for w, _ in pairs],
        crs=4326,
    )
    # GeoJSON: the system in the file name and InnoMap's marker, no "crs" member
    gj = write_layers({"点": g}, tmp_path / "pts.geojson", fmt="geojson", to_crs=system)
    assert gj.name == f"pts_{system}.geojson" and not (tmp_path / "pts.geojson").exists()
    doc = json.loads(gj.read_text(encoding="utf-8"))
    assert "crs" not in doc and read_geojson_marker(gj)["crs"] == system
    for f, (_, want) in zip(doc["features"], pairs, strict=True):
        assert _metres(f["geometry"]["coordinates"], want) < 0.5
    # GeoPackage: an undefined SRS (never 4326) and the marker in the description
    gp = write_layers({"点": g}, tmp_path / "pts.gpkg", fmt="gpkg", to_crs=system)
    assert gp.name == f"pts_{system}.gpkg"
    with sqlite3.connect(gp) as con:
        srs = con.execute("SELECT srs_id FROM gpkg_geometry_columns").fetchone()[0]
        org = con.execute(
            "SELECT organization FROM gpkg_spatial_ref_sys WHERE srs_id = ?", (srs,)
        ).fetchone()[0]
    assert org.upper() != "EPSG"
    assert gpkg_layer_markers(gp)["点"]["crs"] == system
    back = pyogrio.read_dataframe(gp)
    for geom, (_, want) in zip(back.geometry, pairs, strict=True):
        assert _metres((geom.x, geom.y), want) < 0.5
    # Shapefile zip: no .prj at all, the marker beside
    shp = write_layers({"点": g}, tmp_path / "pts.zip", fmt="shp", to_crs=system)
    with zipfile.ZipFile(shp) as zf:
        names = zf.namelist()
        assert not any(n.endswith(".prj") for n in names)
        assert json.loads(zf.read("innomap.json"))["crs"] == system


def test_offset_export_imports_back_to_wgs84(tmp_path):
    """A GCJ-02 file InnoMap wrote is read back as GCJ-02 (its marker): no question, no shift."""
    from layers.importer import ImportOptions, import_file

    g = _points_frame()
    gp = write_layers({"incubators": g}, tmp_path / "i.gpkg", fmt="gpkg", to_crs="GCJ-02")
    rep = import_file(gp, ImportOptions(kind="incubators"))
    assert rep.crs_in == "GCJ-02" and len(rep.valid) == len(g)
    got = rep.valid.sort_values("id")
    for geom, want in zip(got.geometry, g.geometry, strict=True):
        assert _metres((geom.x, geom.y), (want.x, want.y)) < 0.5


def test_tables_to_crs_and_cli_names_the_file(demo, tmp_path, capsys):
    out = tmp_path / "u.csv"
    code = cli_main(
        ["export-layers", "--layers", "universities", "--format", "csv", "--to-crs", "BD-09"]
        + ["--out", str(out)]
    )
    assert code == 0
    written = tmp_path / "u_BD-09.csv"
    assert written.exists() and not out.exists() and "u_BD-09.csv" in capsys.readouterr().out
    import pandas as pd

    t = pd.read_csv(written, encoding="utf-8-sig")
    assert set(t["crs"]) == {"BD-09"}
    w = demo.layers["universities"].gdf
    from layers.crs import wgs84_to_bd09

    bx, by = wgs84_to_bd09(w.geometry.x.to_numpy(), w.geometry.y.to_numpy())
    assert np.allclose(t["lon"], np.round(bx, 6)) and np.allclose(t["lat"], np.round(by, 6))
    with pytest.raises(InnoMapError, match="GK3:NN"):
        from export.crs_out import resolve_target

        resolve_target("GK9", {"a": _points_frame()})


# ------------------------------------------------------------------ the shipped font
_HIDDEN_FONTS = r"""
import io, os, sys
import matplotlib
matplotlib.use("Agg")
from matplotlib import font_manager as fm
fm.X11FontDirectories[:] = []
fm.OSXFontDirectories[:] = []
assert fm.findSystemFonts() == [], fm.findSystemFonts()[:3]   # no system font is seen
mgr = fm.FontManager()
fm.fontManager, fm.findfont = mgr, mgr.findfont
assert not any("CJK" in f.name or "/usr/share/fonts" in f.fname for f in mgr.ttflist)
import geopandas as gpd, shapely
from export.printmap import PrintLayer, render_print_map
g = gpd.GeoDataFrame({"name": ["宁波大学", "中官路孵化器"]},
                     geometry=[shapely.Point(121.55, 29.9), shapely.Point(121.6, 29.95)], crs=4326)
pdf = render_print_map([PrintLayer("高校院所", g, "point", "#1f77b4", label_field="name")],
                       title="宁波创新资源分布图", fmt="pdf", crs=32651)
sys.stdout.buffer.write(pdf)
"""


def test_print_map_draws_cjk_from_the_shipped_font_with_system_fonts_hidden(tmp_path):
    import pypdf

    empty = tmp_path / "empty-fonts.conf"
    empty.write_text("<?xml version='1.0'?><fontconfig></fontconfig>", encoding="utf-8")
    env = dict(os.environ, FONTCONFIG_FILE=str(empty), MPLCONFIGDIR=str(tmp_path / "mpl"))
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", _HIDDEN_FONTS], capture_output=True, env=env, cwd=ROOT, timeout=180
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert b"Glyph" not in proc.stderr  # no "missing glyph" fallback warnings
    page = pypdf.PdfReader(io.BytesIO(proc.stdout)).pages[0]
    fonts = [f.get_object() for f in page["/Resources"]["/Font"].values()]
    names = [str(f.get("/BaseFont")) for f in fonts]
    assert any("NotoSansSC" in n for n in names), names
    cjk = [f for f in fonts if "NotoSansSC" in str(f.get("/BaseFont"))]
    desc = cjk[0]["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    assert "/FontFile2" in desc  # embedded (TrueType outlines), so the PDF needs no font
    text = page.extract_text()
    for needle in ("宁波创新资源分布图", "宁波大学", "高校院所"):
        assert needle in text


# ------------------------------------------------------------------ zone maps
def test_zone_map_states_the_zone_figures_and_readable_parameters(demo):
    from workflows.exports import map_content

    zone = "中官路创业创新大街"
    c = map_content(
        demo,
        [],
        zone=zone,
        analysis="coverage",
        params={"service": ["science_venues"], "demand": "enterprises"},
    )
    # oracle: the demand points inside the zone, covered within 15 minutes (straight line)
    from workflows import coverage

    own = coverage.run(
        demo,
        coverage.CoverageRequest(service=("science_venues",), demand=("enterprises",), zone=zone),
    ).summary
    whole = coverage.run(
        demo, coverage.CoverageRequest(service=("science_venues",), demand=("enterprises",))
    ).summary
    z15 = next(r for r in own["results"] if r["minutes"] == 15)
    w15 = next(r for r in whole["results"] if r["minutes"] == 15)
    assert z15["share"] != w15["share"]
    labels = [lyr.label for lyr in c.layers]
    assert f"15 分钟服务圈 · 覆盖 {z15['share']:.1%}" in labels
    assert any(f"{z15['covered']:,}/{own['demand_total']:,}" in lab for lab in labels)
    params = next(n for n in c.notes if n.startswith("参数"))
    assert "{" not in params and '"' not in params
    assert "服务设施 科普场馆/基地" in params and "需求 科技企业" in params
    assert f"片区 {zone}" in params and "时间阈值 (分钟) 5、10、15" in params


# ------------------------------------------------------------------ report sections and PDF
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tests.tiny_project import make_project
    from workflows import siting

    d = tmp_path_factory.mktemp("desk_report")
    p = make_project(d)
    rep = siting.run(p, siting.SitingRequest(demand=("enterprises",), existing="incubators", k=1))
    rec = save_run(p, analysis=rep.analysis, title="选址", request=rep.request, summary=rep.summary)
    return open_project(p.ref), rec.id, d


def _headings(path) -> list[str]:
    from docx import Document

    return [p.text for p in Document(str(path)).paragraphs if p.style.name.startswith("Heading")]


def test_report_sections_are_chosen_and_ordered(tiny):
    p, run_id, d = tiny
    out = d / "sections.docx"
    code = cli_main(
        ["report", "--project", p.ref, "--runs", run_id, "--sections", "results,title,data"]
        + ["--dpi", "50", "--out", str(out)]
    )
    assert code == 0
    heads = _headings(out)
    assert heads == ["1 孵化器选址分析: 选址", "1.1 主要结果", "2 项目数据"], heads
    from docx import Document

    texts = [p.text for p in Document(str(out)).paragraphs]
    assert texts.index("1.1 主要结果") < texts.index("测试项目")  # the cover after the results
    assert not any("方法与参数" in t or "数据来源与坐标精度" in t for t in texts)
    with pytest.raises(InnoMapError, match="unknown report section"):
        report_docx.parse_sections("results,appendix")
    with pytest.raises(InnoMapError, match="given twice"):
        report_docx.parse_sections(["maps", "地图"])
    assert report_docx.parse_sections("地图, 方法与参数") == ("maps", "method")


def test_pdf_report_with_libreoffice_uses_the_shipped_font(tiny, monkeypatch):
    """LibreOffice sees only the shipped font (as on a machine with no CJK font): Chinese text."""
    import pypdf

    from render import fonts
    from workflows.report import ReportRequest, run

    p, run_id, d = tiny
    shipped_only = fonts.fontconfig_file(include_system=False)
    monkeypatch.setattr(fonts, "fontconfig_file", lambda **_kw: shipped_only)
    rep = run(
        p,
        ReportRequest(runs=(run_id,), format="pdf", dpi=50, sections=("title", "method", "data")),
        out=d / "r.pdf",
    )
    reader = pypdf.PdfReader(d / "r.pdf")
    text = "".join(pg.extract_text() for pg in reader.pages)
    assert "孵化器选址分析" in text and "测试项目" in text and "方法与参数" in text
    fonts_used = {
        str(f.get_object().get("/BaseFont"))
        for pg in reader.pages
        for f in pg["/Resources"]["/Font"].values()
    }
    assert any("NotoSansSC" in f for f in fonts_used), fonts_used
    assert rep.summary["sections"] == ["title", "method", "data"]


# ------------------------------------------------------------------ the export page
def test_export_page_layers_in_a_chosen_crs_with_outlines_and_the_qgis_zip(tmp_path):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.run()
    at.switch_page("ui/pages/export_page.py").run()
    assert not at.exception, at.exception
    assert set(at.multiselect(key="ex_outlines").value) == {"districts", "zones", "corridor_axes"}
    at.selectbox(key="ex_lfmt").set_value("kml").run()
    assert at.selectbox(key="ex_to_crs").options == ["WGS84 (EPSG:4326)"]
    at.selectbox(key="ex_lfmt").set_value("gpkg").run()
    at.selectbox(key="ex_to_crs").set_value("GCJ-02").run()
    at.button(key="ex_layers_btn").click().run()
    assert not at.exception, at.exception
    name, data = at.session_state["ex_layer_file"]
    assert name == "innomap_layers_GCJ-02.gpkg"
    (tmp_path / name).write_bytes(data)
    layers = set(pyogrio.list_layers(tmp_path / name)[:, 0])
    assert {"districts", "zones", "corridor_axes"} <= layers and len(layers) > 3
    at.button(key="ex_qgis_btn").click().run()
    assert not at.exception, at.exception
    with zipfile.ZipFile(io.BytesIO(at.session_state["ex_qgis_file"])) as zf:
        names = zf.namelist()
    assert any(n.endswith(".qgz") for n in names) and any(n.endswith(".gpkg") for n in names)
    assert all(Path(n).parts[0] == Path(names[0]).parts[0] for n in names)  # one folder
