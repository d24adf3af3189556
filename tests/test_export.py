"""Exports: print maps, layer and table formats, safety."""

import io
import re
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from cli import main as cli_main
from export.layers_io import ExportError, shapefile_field_names, write_layers, write_tables
from export.maps import base_layers, export_html, zone_extent
from export.printmap import PrintError, paper_size_px, render_print_map
from layers.io_safe import OutputExistsError, atomic_write
from layers.project import open_project


@pytest.fixture(scope="module")
def demo():
    """The embedded demo project (Ningbo)."""
    return open_project(None)


@pytest.fixture()
def chinese_layer():
    return gpd.GeoDataFrame(
        {
            "编号": ["001", "002"],
            "机构名称很长的字段": ["宁波大学", '=HYPERLINK("http://x")'],
            "备注": ["+cmd", "@SUM(A1)"],
            "员工数": [12, -3],
            "synthetic": [False, True],
        },
        geometry=gpd.points_from_xy([121.63, 121.64], [29.91, 29.92]),
        crs=4326,
    )


@pytest.mark.parametrize(
    "fmt,suffix", [("gpkg", ".gpkg"), ("geojson", ".geojson"), ("kml", ".kml")]
)
def test_layer_round_trips_keep_chinese(tmp_path, chinese_layer, fmt, suffix):
    p = write_layers({"高校": chinese_layer}, tmp_path / f"out{suffix}", fmt=fmt)
    back = gpd.read_file(p)
    assert len(back) == 2
    if fmt != "kml":
        assert back["机构名称很长的字段"].iloc[0] == "宁波大学"
        assert back["编号"].tolist() == ["001", "002"]  # ids stay text
    else:
        assert "宁波大学" in p.read_text(encoding="utf-8")
    assert back.crs.to_epsg() == 4326


def test_gpkg_holds_several_layers(tmp_path, chinese_layer):
    import pyogrio

    p = write_layers(
        {"高校": chinese_layer, "企业": chinese_layer}, tmp_path / "x.gpkg", fmt="gpkg"
    )
    assert sorted(pyogrio.list_layers(p)[:, 0].tolist()) == ["企业", "高校"]


@pytest.mark.parametrize("encoding", ["UTF-8", "GBK"])
def test_zipped_shapefile_short_names_and_cpg(tmp_path, chinese_layer, encoding):
    p = write_layers({"高校": chinese_layer}, tmp_path / "x.zip", fmt="shp", encoding=encoding)
    zf = zipfile.ZipFile(p)
    names = zf.namelist()
    assert {"高校.shp", "高校.dbf", "高校.cpg", "高校.prj", "field_names.csv"} <= set(names)
    assert zf.read("高校.cpg").decode() == encoding
    mapping = pd.read_csv(io.BytesIO(zf.read("field_names.csv")), encoding="utf-8-sig", dtype=str)
    assert mapping["shapefile_field"].map(lambda n: len(n.encode(encoding))).max() <= 10
    assert mapping["shapefile_field"].str.upper().is_unique
    back = gpd.read_file(f"zip://{p}!高校.shp")
    long = mapping.set_index("field").loc["机构名称很长的字段", "shapefile_field"]
    assert back[long].iloc[0] == "宁波大学"


def test_shapefile_field_names_unique():
    m = shapefile_field_names(["population_total", "population_2020", "名称名称名称名称"])
    assert len(set(m.values())) == 3
    assert all(len(v.encode("utf-8")) <= 10 for v in m.values())


def test_tables_neutralise_injection_and_keep_text(tmp_path, chinese_layer):
    df = pd.DataFrame(chinese_layer.drop(columns="geometry"))
    x = write_tables({"表1": df, "表/2": df}, tmp_path / "t.xlsx", fmt="xlsx")
    import openpyxl

    wb = openpyxl.load_workbook(x)
    assert wb.sheetnames == ["表1", "表_2"]
    ws = wb["表1"]
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert values[2][1] == '\'=HYPERLINK("http://x")'
    assert values[1][2] == "'+cmd" and values[2][2] == "'@SUM(A1)"
    assert values[2][3] == -3  # numbers stay numbers
    assert values[1][0] == "001"
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)
    c = write_tables({"表1": df}, tmp_path / "t.csv", fmt="csv")
    raw = c.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "宁波大学" in text and "\n=" not in text and ",=" not in text


def test_existing_file_never_clobbered_and_failure_leaves_nothing(tmp_path, chinese_layer):
    target = tmp_path / "keep.gpkg"
    target.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="already exists"):
        write_layers({"a": chinese_layer}, target, fmt="gpkg")
    assert target.read_bytes() == b"precious"

    def boom(tmp):
        tmp.write_bytes(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "new.png", boom)
    assert list(tmp_path.iterdir()) == [target]
    write_layers({"a": chinese_layer}, target, fmt="gpkg", force=True)
    assert target.read_bytes() != b"precious"
    with pytest.raises(ExportError):
        write_layers({"a": chinese_layer}, tmp_path / "x.dxf", fmt="dxf")


@pytest.mark.parametrize(
    "paper,orientation,dpi", [("A4", "landscape", 150), ("A3", "portrait", 100)]
)
def test_print_png_size_matches_paper(demo, paper, orientation, dpi):
    data = render_print_map(
        base_layers(demo, ["universities", "incubators"]),
        title="测试图",
        paper=paper,
        orientation=orientation,
        dpi=dpi,
        fmt="png",
        extent=zone_extent(demo, None),
    )
    assert Image.open(io.BytesIO(data)).size == paper_size_px(paper, orientation, dpi)
    assert paper_size_px("A4", "landscape", 300) == (3507, 2480)


def test_print_pdf_embeds_fonts_and_has_chinese_text(demo):
    import matplotlib
    import pypdf

    from render.fonts import setup_fonts

    with matplotlib.rc_context({"svg.fonttype": "none"}):
        setup_fonts()  # first set inside a context that restores the old settings on exit
    data = render_print_map(
        base_layers(demo, ["universities", "enterprises"]),
        title="宁波创新资源分布图",
        fmt="pdf",
        crs=demo.metric_crs(),
        extent=zone_extent(demo, "中官路创业创新大街"),
    )
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = reader.pages[0].extract_text()
    for needle in ("宁波创新资源分布图", "图例", "北", "EPSG:32651", "模拟数据", "示意"):
        assert needle in text, needle
    fonts = reader.pages[0]["/Resources"]["/Font"]
    for f in fonts.values():
        f = f.get_object()
        desc = (
            f["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            if "/DescendantFonts" in f
            else f["/FontDescriptor"].get_object()
        )
        assert any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")), f.get("/BaseFont")
    assert any("NotoSansSC" in str(f.get_object().get("/BaseFont")) for f in fonts.values())


def test_print_svg_and_errors(demo):
    svg = render_print_map(base_layers(demo, ["platforms"]), title="平台", fmt="svg")
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
    with pytest.raises(PrintError, match="A4 or A3"):
        render_print_map(base_layers(demo, ["platforms"]), title="x", paper="A5")
    with pytest.raises(PrintError, match="nothing to draw"):
        render_print_map([], title="x")


def test_html_export_is_offline_single_file(demo):
    html = export_html(demo, ["universities", "incubators"], title="<交互地图>").decode("utf-8")
    # nothing is loaded from the network (record sources may cite web pages as text)
    remote = r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//"""
    assert not re.search(remote, html) and "cdn" not in html.lower()
    assert html.count("data:text/javascript;base64,") >= 2
    assert "<title>&lt;交互地图&gt;</title>" in html


def test_cli_export_commands(tmp_path):
    out = tmp_path / "m.png"
    assert (
        cli_main(
            [
                "export-map",
                "--layers",
                "universities",
                "--title",
                "图",
                "--format",
                "png",
                "--dpi",
                "100",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert Image.open(out).size == paper_size_px("A4", "landscape", 100)
    assert (
        cli_main(
            [
                "export-map",
                "--layers",
                "universities",
                "--title",
                "图",
                "--format",
                "png",
                "--out",
                str(out),
            ]
        )
        == 2
    )  # exists, no --force
    assert (
        cli_main(
            [
                "export-map",
                "--series",
                "zone",
                "--layers",
                "incubators",
                "--title",
                "图集",
                "--format",
                "pdf",
                "--dpi",
                "100",
                "--out",
                str(tmp_path / "atlas"),
            ]
        )
        == 0
    )
    assert len(list((tmp_path / "atlas").glob("*.pdf"))) == 5
    for fmt, name in (
        ("gpkg", "l.gpkg"),
        ("geojson", "l.geojson"),
        ("shp", "l.zip"),
        ("kml", "l.kml"),
        ("xlsx", "l.xlsx"),
        ("csv", "l.csv"),
    ):
        assert (
            cli_main(
                [
                    "export-layers",
                    "--layers",
                    "universities",
                    "incubators",
                    "--format",
                    fmt,
                    "--out",
                    str(tmp_path / name),
                ]
            )
            == 0
        ), fmt
    assert (tmp_path / "l.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_cli_export_analysis_map(tmp_path):
    assert (
        cli_main(
            [
                "export-map",
                "--analysis",
                "hotspots",
                "--layers",
                "enterprises",
                "--params",
                '{"cell_m": 800, "permutations": 49}',
                "--title",
                "热点",
                "--format",
                "svg",
                "--out",
                str(tmp_path / "h.svg"),
            ]
        )
        == 0
    )
    assert (
        cli_main(
            [
                "export-map",
                "--analysis",
                "coverage",
                "--params",
                "{bad",
                "--title",
                "x",
                "--format",
                "png",
                "--out",
                str(tmp_path / "c.png"),
            ]
        )
        == 2
    )


@pytest.fixture()
def tile_server():
    """A loopback XYZ tile server serving magenta PNG tiles."""
    import http.server
    import threading

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (255, 0, 255)).save(buf, format="PNG")
    png = buf.getvalue()
    hits = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/{{z}}/{{x}}/{{y}}.png", hits
    srv.shutdown()


def test_print_map_with_tile_basemap_and_offline_error(demo, tile_server):
    from render.basemaps import make_basemap

    url, hits = tile_server
    bm = make_basemap("custom", custom_url=url, custom_attribution="测试瓦片")
    data = render_print_map(
        base_layers(demo, ["universities"]),
        title="底图",
        dpi=60,
        basemap=bm,
        extent=zone_extent(demo, "中官路创业创新大街"),
    )
    img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    magenta = (img[:, :, 0] > 240) & (img[:, :, 1] < 20) & (img[:, :, 2] > 240)
    assert magenta.mean() > 0.05 and len(hits) > 0  # tiles show wherever no zone is drawn over them
    assert all(h.count("/") == 3 and h.endswith(".png") for h in hits)
    dead = make_basemap("custom", custom_url="http://127.0.0.1:9/{z}/{x}/{y}.png")
    with pytest.raises(PrintError, match="could not be fetched"):
        render_print_map(base_layers(demo, ["universities"]), title="x", dpi=60, basemap=dead)


def test_print_pdf_with_tiles_names_web_mercator(demo, tile_server):
    import pypdf

    from render.basemaps import make_basemap

    url, _ = tile_server
    bm = make_basemap("custom", custom_url=url, custom_crs="GCJ-02", custom_attribution="GCJ tiles")
    data = render_print_map(
        base_layers(demo, ["universities"]),
        title="底图",
        fmt="pdf",
        basemap=bm,
        extent=zone_extent(demo, "中官路创业创新大街"),
    )
    text = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "EPSG:3857" in text and "GCJ tiles" in text and "GCJ-02" in text


def test_cli_export_map_with_basemap(tmp_path, tile_server):
    url, hits = tile_server
    out = tmp_path / "b.png"
    assert (
        cli_main(
            [
                "export-map",
                "--layers",
                "universities",
                "--zone",
                "中官路创业创新大街",
                "--title",
                "底图图",
                "--format",
                "png",
                "--dpi",
                "60",
                "--basemap",
                "custom",
                "--tile-url",
                url,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.exists() and hits
    assert (
        cli_main(
            [
                "export-map",
                "--layers",
                "universities",
                "--title",
                "x",
                "--format",
                "png",
                "--dpi",
                "60",
                "--basemap",
                "custom",
                "--tile-url",
                "http://127.0.0.1:9/{z}/{x}/{y}.png",
                "--out",
                str(tmp_path / "dead.png"),
            ]
        )
        == 2
    )
    assert not (tmp_path / "dead.png").exists()
