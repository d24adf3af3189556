"""Planners' geographic files as they arrive (issue 23): a 合肥 kit.

KML with folders (nested), Chinese ExtendedData and a track among the points; the
same as KMZ; a zip of two shapefiles; a GeoPackage with two layers; the 片区
boundaries as DXF in CGCS2000 3° GK zone 39 with and without the zone prefix;
a GeoJSON named 高德GCJ02; a corridor axis profiled in a new project; a geocoded
CSV and a marked GeoJSON/GeoPackage imported back. Positions are checked against
the generated truth with pyproj (within 1 m); every row is kept or rejected with
its reason.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import zipfile

import ezdxf
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Transformer

import cli
from layers.crs import parse_crs, wgs84_to_gcj02
from layers.importer import CRSQuestionError, ImportOptions, import_file, inspect_file
from layers.project import open_project
from layers.provenance import gpkg_layer_options, make_marker, write_geojson

VENUES = [  # (folder, name, lon, lat, 级别, 类别)
    ("科技馆", "合肥科技馆", 117.2800, 31.8600, "省级", "大型场馆"),
    ("科技馆", "安徽省科技馆", 117.2300, 31.8300, "省级", "大型场馆"),
    ("科普基地", "合肥植物园", 117.2100, 31.8500, "市级", "专业场馆"),
    ("科普基地/学校", "中科大科技馆", 117.2700, 31.8400, "区级", "学校科技馆"),
]
#: 片区 boundaries (lon/lat rectangles, CGCS2000) and their labels
ZONES = {
    "合肥高新区": (117.10, 31.80, 117.18, 31.86),
    "合肥科学城": (117.20, 31.82, 117.26, 31.88),
}
AXIS = [(117.10, 31.83), (117.18, 31.84), (117.26, 31.85)]


def _pm(name, lon, lat, lvl, typ):
    return (
        f"<Placemark><name><![CDATA[{name}]]></name><ExtendedData>"
        f'<Data name="级别"><value>{lvl}</value></Data>'
        f'<Data name="类别"><value>{typ}</value></Data>'
        f'<Data name="备注"><value>备注:{name}</value></Data></ExtendedData>'
        f"<Point><coordinates>{lon},{lat},0</coordinates></Point></Placemark>"
    )


def kml_text() -> str:
    """A 奥维-style export: 4 folders (one nested, one with SchemaData) and a track folder."""
    v = VENUES
    return (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document><name>合肥科普场馆</name>"
        f"<Folder><name>科技馆</name>{_pm(*v[0][1:])}{_pm(*v[1][1:])}</Folder>"
        f"<Folder><name>科普基地</name>{_pm(*v[2][1:])}"
        f"<Folder><name>学校</name>{_pm(*v[3][1:])}</Folder></Folder>"
        "<Folder><name>企业科技馆</name><Placemark><name>讯飞展厅</name><ExtendedData>"
        '<SchemaData schemaUrl="#s"><SimpleData name="类别">企业科技馆</SimpleData>'
        '<SimpleData name="级别">市级</SimpleData></SchemaData></ExtendedData>'
        "<Point><coordinates>117.12,31.82</coordinates></Point></Placemark></Folder>"
        "<Folder><name>踏勘轨迹</name><Placemark><name>踏勘1</name><LineString><coordinates>"
        "117.20,31.80 117.25,31.82 117.28,31.85</coordinates></LineString></Placemark></Folder>"
        "</Document></kml>"
    )


def _rect(b):
    return shapely.box(*b)


def _metres(geom_a, geom_b) -> float:
    """Hausdorff distance (m) of two WGS84 geometries, in EPSG:4527."""
    a, b = gpd.GeoSeries([geom_a, geom_b], crs=4326).to_crs(4527)
    return float(a.hausdorff_distance(b))


def _dxf(path, *, prefixed: bool, axis: bool = False) -> None:
    """One closed LWPOLYLINE per 片区 on layer 规划边界 with a TEXT label inside; GK zone 39."""
    t = Transformer.from_crs(4490, 4527 if prefixed else 4548, always_xy=True)
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    doc.layers.add("规划边界")
    for name, b in ZONES.items():
        xs, ys = t.transform(*np.asarray(_rect(b).exterior.coords).T)
        msp.add_lwpolyline(
            list(zip(xs[:-1], ys[:-1], strict=True)), close=True, dxfattribs={"layer": "规划边界"}
        )
        cx, cy = t.transform((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
        msp.add_text(name, height=50, dxfattribs={"layer": "注记", "insert": (cx, cy)})
    if axis:
        xs, ys = t.transform(*np.asarray(AXIS).T)
        msp.add_lwpolyline(list(zip(xs, ys, strict=True)), dxfattribs={"layer": "走廊轴线"})
    doc.saveas(path)


@pytest.fixture(scope="module")
def hf_template(tmp_path_factory):
    from layers.project import create_project

    path = tmp_path_factory.mktemp("tpl") / "hf.gpkg"
    create_project(path, name="合肥", city="合肥市", counties=["蜀山区"])
    return path


def _run(argv, capsys) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# ---------------------------------------------------------------- KML / KMZ
def test_kml_folders_extended_data_and_a_track(tmp_path, capsys):
    p = tmp_path / "奥维科普场馆.kml"
    p.write_text(kml_text(), encoding="utf-8")
    rep = import_file(p, ImportOptions(kind="science_venues"))
    # every placemark: 5 points kept with their folder, the track rejected with its reason
    assert rep.rows_total == 6 and rep.rows_valid == 5 and len(rep.rejected) == 1
    v = rep.valid.set_index("name")
    assert v.loc["中科大科技馆", "folder"] == "科普基地/学校"
    assert v.loc["合肥科技馆", "备注"] == "备注:合肥科技馆"  # Chinese keys kept as columns
    assert v.loc["合肥科技馆", "level"] == "省级" and v.loc["讯飞展厅", "level"] == "市级"
    assert v.loc["讯飞展厅", "subtype"] == "企业科技馆"  # SchemaData
    for _, name, lon, lat, *_ in VENUES:
        g = v.loc[name, "geometry"]
        assert (g.x, g.y) == pytest.approx((lon, lat), abs=1e-9)
    rej = rep.rejected.iloc[0]
    assert rej["folder"] == "踏勘轨迹" and "--kind corridor_axes" in rej["reason"]
    held = {c["name"]: (c["rows"], c["rows_fitting_kind"]) for c in rep.contents}
    assert held == {
        "科技馆": (2, 2),
        "科普基地": (1, 1),
        "科普基地/学校": (1, 1),
        "企业科技馆": (1, 1),
        "踏勘轨迹": (1, 0),
    }
    # --layer picks one folder (with its sub-folders); the CLI lists what the file holds
    one = import_file(p, ImportOptions(kind="science_venues", layer="科普基地"))
    assert sorted(one.valid["name"]) == ["中科大科技馆", "合肥植物园"]
    code, out, _ = _run(["validate", p, "--kind", "science_venues"], capsys)
    assert code == 1 and "folder 踏勘轨迹: 1 rows (LineString 1); 0 fit" in out
    code, out, _ = _run(["validate", p, "--kind", "science_venues", "--json"], capsys)
    assert [c["name"] for c in json.loads(out)["contents"]][-1] == "踏勘轨迹"
    # the track alone as a corridor axis; points only as a zone: refused, the fix named
    axis = import_file(p, ImportOptions(kind="corridor_axes", layer="踏勘轨迹"))
    assert axis.rows_valid == 1 and axis.valid.geom_type.iloc[0] == "LineString"
    code, _, err = _run(["validate", p, "--kind", "zones", "--layer", "科技馆"], capsys)
    assert code == 2 and "use a point kind" in err
    # KMZ: the same document zipped
    kmz = tmp_path / "奥维科普场馆.kmz"
    with zipfile.ZipFile(kmz, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("doc.kml", kml_text())
    rep2 = import_file(kmz, ImportOptions(kind="science_venues"))
    assert rep2.rows_valid == 5 and set(rep2.valid["folder"]) == set(rep.valid["folder"])
    assert next(c["name"] for c in inspect_file(kmz)["contents"]) == "科技馆"


def test_kml_entities_are_refused(tmp_path):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><kml><Document><Placemark><name>&b;</name>'
        "<Point><coordinates>117.2,31.8</coordinates></Point></Placemark></Document></kml>"
    )
    p = tmp_path / "x.kml"
    p.write_text(bomb, encoding="utf-8")
    with pytest.raises(Exception, match="KML 无法解析"):
        import_file(p, ImportOptions(kind="science_venues"))


def test_kmz_bomb_is_refused_before_parsing(tmp_path):
    p = tmp_path / "bomb.kmz"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("doc.kml", kml_text().replace("<Document>", "<Document>" + " " * 20_000_000))
    with pytest.raises(Exception, match="zip bomb"):
        import_file(p, ImportOptions(kind="science_venues"))


# ---------------------------------------------------------------- shapefiles, GeoPackage
def _points(names, lon0):
    return gpd.GeoDataFrame(
        {"名称": names, "级别": ["省级"] * len(names)},
        geometry=[shapely.Point(lon0 + 0.01 * i, 31.85) for i in range(len(names))],
        crs=4326,
    )


def test_zip_of_two_shapefiles_and_gpkg_of_two_layers(tmp_path, capsys):
    shp = tmp_path / "shp"
    shp.mkdir()
    _points(["甲馆", "乙馆"], 117.20).to_file(shp / "科技馆.shp", encoding="UTF-8")
    _points(["丙基地"], 117.10).to_file(shp / "科普基地.shp", encoding="UTF-8")
    z = tmp_path / "场馆.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in shp.iterdir():
            zf.write(f, f.name)
    rep = import_file(z, ImportOptions(kind="science_venues"))
    assert rep.rows_valid == 3 and dict(
        zip(rep.valid["name"], rep.valid["source_layer"], strict=True)
    ) == {
        "甲馆": "科技馆",
        "乙馆": "科技馆",
        "丙基地": "科普基地",
    }
    one = import_file(z, ImportOptions(kind="science_venues", layer="科普基地"))
    assert list(one.valid["name"]) == ["丙基地"]
    g = tmp_path / "两层.gpkg"
    _points(["甲馆", "乙馆"], 117.20).to_file(g, layer="科技馆")
    gpd.GeoDataFrame({"名称": ["轨迹"]}, geometry=[shapely.LineString(AXIS)], crs=4326).to_file(
        g, layer="轨迹", mode="a"
    )
    with sqlite3.connect(g) as con:  # QGIS keeps its styles in an attribute table
        con.execute("CREATE TABLE layer_styles (id INTEGER PRIMARY KEY, styleName TEXT)")
    rep = import_file(g, ImportOptions(kind="science_venues"))
    assert rep.rows_total == 3 and rep.rows_valid == 2
    assert any("layer_styles" in w.message for w in rep.warnings)
    assert rep.rejected["source_layer"].tolist() == ["轨迹"]
    assert inspect_file(g)["available"] == ["科技馆", "轨迹"]


def test_innomap_gpkg_export_imports_layer_by_layer(tmp_path, capsys, hf_template):
    g = tmp_path / "导出.gpkg"
    venues = _points(["甲馆"], 117.2).rename(columns={"名称": "name"})
    zones = gpd.GeoDataFrame(
        {"name": list(ZONES)}, geometry=[_rect(b) for b in ZONES.values()], crs=4326
    )
    venues.to_file(
        g, layer="场馆", layer_options=gpkg_layer_options(make_marker(kind="science_venues"))
    )
    zones.to_file(
        g, layer="片区", mode="a", layer_options=gpkg_layer_options(make_marker(kind="zones"))
    )
    assert inspect_file(g)["layer_kinds"] == {"场馆": "science_venues", "片区": "zones"}
    code, out, _ = _run(["inspect", g], capsys)
    assert code == 0 and "场馆 (science_venues): 1 rows (Point 1)" in out
    assert "片区 (zones): 2 rows (Polygon 2)" in out
    rep = import_file(g, ImportOptions(kind="zones"))
    assert rep.rows_valid == 2 and rep.crs_reason.startswith("文件声明")
    proj = tmp_path / "hf.gpkg"
    proj.write_bytes(hf_template.read_bytes())
    code, out, _ = _run(["project", "add", "--project", proj, g, "--kind", "zones"], capsys)
    assert code == 0 and "'场馆' (science_venues" in out and "'片区' (zones" in out


# ---------------------------------------------------------------- DXF
@pytest.mark.parametrize("prefixed", [True, False])
def test_dxf_boundaries_in_gk_zone_39(tmp_path, capsys, prefixed):
    p = tmp_path / f"规划边界{'' if prefixed else '_无带号'}.dxf"
    _dxf(p, prefixed=prefixed, axis=True)
    args = ["validate", p, "--kind", "zones"]
    if not prefixed:  # no zone prefix: the CLI stops naming --crs GK3:NN
        code, _, err = _run(args, capsys)
        assert code == 2 and "--crs GK3:NN" in err
        with pytest.raises(CRSQuestionError) as q:
            import_file(p, ImportOptions(kind="zones"))
        assert q.value.question == "projected" and "GK3:117E" in q.value.choices
    for crs in [None] if prefixed else ["GK3:39", "GK3:117E"]:
        rep = import_file(p, ImportOptions(kind="zones", crs=crs))
        assert rep.crs_in == ("EPSG:4527" if prefixed else crs)
        assert rep.rows_total == 3 and rep.rows_valid == 2  # the axis line is rejected …
        assert "--kind corridor_axes" in rep.rejected["reason"].iloc[0]
        v = rep.valid.set_index("name")
        assert set(v["cad_layer"]) == {"规划边界"}
        for name, b in ZONES.items():
            assert _metres(v.loc[name, "geometry"], _rect(b)) < 1.0
        axis = import_file(p, ImportOptions(kind="corridor_axes", crs=crs))  # … and is an axis
        assert axis.rows_valid == 1
        assert _metres(axis.valid.geometry.iloc[0], shapely.LineString(AXIS)) < 1.0


# ---------------------------------------------------------------- GeoJSON named 高德
def test_geojson_named_gaode_asks_then_reads_gcj(tmp_path, capsys):
    lon, lat = np.array([117.25, 117.30]), np.array([31.84, 31.86])
    glon, glat = wgs84_to_gcj02(lon, lat)
    p = tmp_path / "科学城边界_高德GCJ02.geojson"
    gpd.GeoDataFrame({"name": ["甲", "乙"]}, geometry=shapely.points(glon, glat), crs=4326).to_file(
        p, driver="GeoJSON"
    )
    code, _, err = _run(["validate", p, "--kind", "science_venues"], capsys)
    assert code == 2 and "--crs GCJ-02" in err
    code, out, _ = _run(["validate", p, "--kind", "science_venues", "--json"], capsys)
    assert code == 2 and json.loads(out)["crs_choices"] == ["GCJ-02", "WGS84"]
    rep = import_file(p, ImportOptions(kind="science_venues", crs="GCJ-02"))
    assert rep.crs_in == "GCJ-02"
    got = np.column_stack([rep.valid.geometry.x, rep.valid.geometry.y])
    d = (
        gpd.GeoSeries(shapely.points(got), crs=4326)
        .to_crs(4527)
        .distance(gpd.GeoSeries(shapely.points(lon, lat), crs=4326).to_crs(4527))
    )
    assert d.max() < 1.0


# ---------------------------------------------------------------- corridor axis → profile
def test_corridor_axis_import_then_profile(tmp_path, capsys, hf_template):
    proj = tmp_path / "hf.gpkg"
    proj.write_bytes(hf_template.read_bytes())
    ax = tmp_path / "走廊轴线.geojson"
    gpd.GeoDataFrame({"name": ["科创走廊"]}, geometry=[shapely.LineString(AXIS)], crs=4326).to_file(
        ax
    )
    code, _, err = _run(["project", "add", "--project", proj, ax, "--kind", "zones"], capsys)
    assert code == 2 and "--kind corridor_axes" in err  # a line is not a zone
    assert (
        _run(["project", "add", "--project", proj, ax, "--kind", "corridor_axes"], capsys)[0] == 0
    )
    pts = tmp_path / "场馆.csv"
    pd.DataFrame(
        {
            "名称": ["甲", "乙", "丙"],
            "经度": [117.11, 117.17, 117.25],
            "纬度": [31.831, 31.84, 31.849],
            "坐标精度": [5, 5, 5],
        }
    ).to_csv(pts, index=False)
    assert (
        _run(
            [
                "project",
                "add",
                "--project",
                proj,
                pts,
                "--kind",
                "science_venues",
                "--crs",
                "WGS84",
            ],
            capsys,
        )[0]
        == 0
    )
    code, _, err = _run(["validate", pts, "--kind", "corridor_axes"], capsys)
    assert code == 2 and "a point kind" in err  # a table's points are not an axis
    out = tmp_path / "profile"
    code, _, err = _run(
        [
            "profile",
            "--project",
            proj,
            "--bin-m",
            "2000",
            "--layers",
            "science_venues",
            "--out",
            out,
        ],
        capsys,
    )
    assert code == 0, err
    prof = pd.read_csv(out / "profile.csv")
    assert prof["total"].sum() == 3


# ---------------------------------------------------------------- InnoMap's own files
def test_geocode_csv_and_marked_geojson_round_trip(tmp_path, capsys, hf_template):
    p = tmp_path / "名单_坐标.csv"
    pd.DataFrame(
        {
            "名称": ["甲", "乙"],
            "地址": ["合肥市蜀山区", "合肥市包河区"],
            "lon": [117.2, 117.3],
            "lat": [31.85, 31.8],
            "coord_source": ["geocode:amap:门牌号", "geocode:county"],
            "coord_precision_m": [10.0, 5000.0],
            "geocode_status": ["ok", "coarse"],
        }
    ).to_csv(p, index=False)
    rep = import_file(p, ImportOptions(kind="science_venues"))
    assert not rep.crs_unstated and rep.crs_in == "WGS84" and rep.marker["source"] == "geocode"
    assert list(rep.valid["coord_source"]) == ["geocode:amap:门牌号", "geocode:county"]
    assert list(rep.valid["coord_precision_m"]) == [10.0, 5000.0]
    # the geocoder's own output (offline: county level) goes back through project add
    proj = tmp_path / "hf.gpkg"
    proj.write_bytes(hf_template.read_bytes())
    src, out = tmp_path / "名单.csv", tmp_path / "名单_坐标2.csv"
    src.write_text("名称,地址\n甲,合肥市蜀山区\n", encoding="utf-8")
    argv = ["geocode", src, "--address-col", "地址", "--project", proj, "--provider", "offline"]
    assert _run([*argv, "--out", out], capsys)[0] == 1  # coarse: listed
    geo = pd.read_csv(out)
    code, _, err = _run(
        ["project", "add", "--project", proj, out, "--kind", "science_venues"], capsys
    )
    assert code == 0 and "WGS84" not in err  # no unstated-CRS warning
    kept = open_project(proj).layers["名单_坐标2"]
    assert kept.crs_in == "WGS84" and kept.gdf["coord_source"].iloc[0] == "geocode:county"
    assert kept.gdf["coord_precision_m"].iloc[0] == geo["coord_precision_m"].iloc[0]
    assert kept.gdf.geometry.x.iloc[0] == pytest.approx(geo["lon"].iloc[0], abs=1e-9)
    # a GeoJSON InnoMap wrote with GCJ-02 coordinates and a 高德 name: the marker decides
    lon, lat = np.array([117.25]), np.array([31.84])
    g = tmp_path / "导出_高德.geojson"
    frame = gpd.GeoDataFrame(
        {"name": ["甲"], "coord_source": ["survey"], "coord_precision_m": [2.0]},
        geometry=shapely.points(*wgs84_to_gcj02(lon, lat)),
        crs=4326,
    )
    write_geojson(frame, g, marker=make_marker(crs="GCJ-02", kind="science_venues"))
    rep = import_file(g, ImportOptions(kind="science_venues"))
    assert rep.crs_in == "GCJ-02" and rep.valid["coord_source"].iloc[0] == "survey"
    assert rep.valid["coord_precision_m"].iloc[0] == 2.0
    assert rep.valid.geometry.x.iloc[0] == pytest.approx(117.25, abs=1e-7)


# ---------------------------------------------------------------- the CRS vocabulary
@settings(max_examples=60, deadline=None)
@given(
    width=st.sampled_from([3, 6]),
    prefixed=st.booleans(),
    data=st.data(),
)
def test_crs_vocabulary_round_trip_against_pyproj(width, prefixed, data):
    zones = range(25, 46) if width == 3 else range(13, 24)
    z = data.draw(st.sampled_from(list(zones)))
    cm = 3 * z if width == 3 else 6 * z - 3
    name = f"GK{width}:{z}" if prefixed else f"GK{width}:{cm}E"
    c = parse_crs(name)
    assert c.name == name and parse_crs(name.lower()).name == name
    assert parse_crs(f"EPSG:{c.epsg}").epsg == c.epsg  # the code round trips
    params = {p.name: p.value for p in CRS.from_epsg(c.epsg).coordinate_operation.params}
    assert params["Longitude of natural origin"] == cm
    assert params["False easting"] == (z * 1e6 if prefixed else 0) + 500_000
    assert "CGCS2000" in CRS.from_epsg(c.epsg).name
    assert c.epsg in (range(4513, 4534) if prefixed else range(4534, 4555)) or width == 6
    assert c.epsg in (range(4491, 4502) if prefixed else range(4502, 4513)) or width == 3


@given(st.sampled_from(["WGS84", "CGCS2000", "GCJ-02", "BD-09", "EPSG:32650", "EPSG:3857"]))
def test_named_systems_round_trip(name):
    assert parse_crs(name).name == name and parse_crs(parse_crs(name).name) == parse_crs(name)


@pytest.mark.parametrize(
    ("fmt", "to_crs"), [("gpkg", None), ("geojson", None), ("geojson", "GCJ-02"), ("shp", "GCJ-02")]
)
def test_layer_exports_import_back_kind_by_kind(tmp_path, fmt, to_crs):
    """export.layers_io's files (WGS84 or GCJ-02 with InnoMap's marker) come back into their own
    kinds with their positions, provenance and precision."""
    from export.layers_io import write_layers
    from layers.registry import REGISTRY

    def layer(kind, name, geom):
        return gpd.GeoDataFrame(
            {"id": ["X1"], "name": [name], "kind": [REGISTRY[kind].kind], "subtype": [""],
             "level": ["省级"], "source": ["test"], "coord_source": ["survey:rtk"],
             "coord_precision_m": [0.5], "synthetic": [False], "as_of": ["2026"]},
            geometry=[geom], crs=4326,
        )  # fmt: skip

    venue, zone = shapely.Point(117.25, 31.84), _rect(ZONES["合肥高新区"])
    layers = {
        "场馆": layer("science_venues", "甲馆", venue),
        "片区": layer("zones", "高新区", zone),
    }
    out = write_layers(
        layers, tmp_path / f"导出.{'zip' if fmt == 'shp' else fmt}", fmt=fmt, to_crs=to_crs
    )
    kinds = inspect_file(out)["layer_kinds"]
    assert sorted(kinds.values()) == ["science_venues", "zones"]
    for kind, truth in (("science_venues", venue), ("zones", zone)):
        rep = import_file(out, ImportOptions(kind=kind))
        assert rep.rows_total == 1 and rep.rows_valid == 1  # the other layer is not read
        assert rep.crs_in == (to_crs or "EPSG:4326") and not rep.crs_unstated
        got = rep.valid.iloc[0]
        assert got["coord_source"] == "survey:rtk" and got["coord_precision_m"] == 0.5
        assert _metres(got.geometry, truth) < 1.0


_TEXT = st.text(
    st.characters(categories=["L", "N", "P", "S"], exclude_characters="\ufffe\uffff"),
    min_size=1,
    max_size=12,
)


@settings(max_examples=15, deadline=None)
@given(values=st.lists(st.tuples(_TEXT, _TEXT), min_size=1, max_size=3))
def test_kml_innomap_writes_reads_back_every_key_and_value(tmp_path_factory, values):
    """The KML export (a folder per layer, attributes as ExtendedData) reads back with its
    folders, Chinese keys and values (markup characters included) — the safe parser's law."""
    from export.layers_io import write_layers

    d = tmp_path_factory.mktemp("kml")
    layers = {
        f"文件夹{i}": gpd.GeoDataFrame(
            {"name": [name], "级别": ["省级"], "备注": [note]},
            geometry=[shapely.Point(117.2 + i / 100, 31.8)],
            crs=4326,
        )
        for i, (name, note) in enumerate(values)
    }
    out = write_layers(layers, d / "rt.kml", fmt="kml")
    rep = import_file(out, ImportOptions(kind="science_venues"))
    assert rep.rows_valid == len(values)
    got = rep.valid.sort_values("folder")
    assert list(got["folder"]) == sorted(layers)
    assert list(got["备注"]) == [layers[f]["备注"].iloc[0].strip() for f in sorted(layers)]
    assert list(got["name"]) == [layers[f]["name"].iloc[0].strip() for f in sorted(layers)]


@functools.cache
def _to_gk(epsg: int) -> Transformer:
    return Transformer.from_crs(4490, epsg, always_xy=True)


@settings(max_examples=15, deadline=None)
@given(
    zone=st.integers(25, 45),
    dlon=st.floats(-1.4, 1.4),
    lat=st.floats(20.0, 50.0),
    prefixed_data=st.booleans(),
)
def test_gk_names_convert_like_pyproj_with_or_without_the_prefix(zone, dlon, lat, prefixed_data):
    """A GK3 easting converts to the pyproj answer whichever GK3 name is given (zone or
    meridian) and whether or not the file wrote the zone prefix."""
    from layers.coords import to_wgs84

    lon = 3 * zone + dlon
    x, y = _to_gk(4513 + zone - 25).transform(lon, lat)
    if not prefixed_data:
        x -= zone * 1e6
    for name in (f"GK3:{zone}", f"GK3:{3 * zone}E", f"EPSG:{4534 + zone - 25}"):
        glon, glat = to_wgs84(np.array([x]), np.array([y]), name)
        assert glon[0] == pytest.approx(lon, abs=1e-8) and glat[0] == pytest.approx(lat, abs=1e-8)


def test_dxf_hatches_mtext_and_blocks(tmp_path):
    """A HATCH with a hole is a polygon with a hole; a hatch repeating a closed polyline is one
    片区; MTEXT names; a boundary drawn as a block is read; a label outside is noted."""
    from layers.dxf import read_dxf

    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    x0, y0 = 39_500_000, 3_530_000
    square = [(x0, y0), (x0 + 1000, y0), (x0 + 1000, y0 + 1000), (x0, y0 + 1000)]
    msp.add_lwpolyline(square, close=True, dxfattribs={"layer": "规划边界"})
    h = msp.add_hatch(dxfattribs={"layer": "填充"})
    h.paths.add_polyline_path(square, is_closed=True)  # the same boundary again
    ring = msp.add_hatch(dxfattribs={"layer": "填充"})
    ring.paths.add_polyline_path([(x0 + 2000 + a, y0 + b) for a, b in
                                  ((0, 0), (900, 0), (900, 900), (0, 900))], is_closed=True)  # fmt: skip
    ring.paths.add_polyline_path([(x0 + 2300 + a, y0 + 300 + b) for a, b in
                                  ((0, 0), (300, 0), (300, 300), (0, 300))], is_closed=True)  # fmt: skip
    msp.add_mtext(
        "科学城\\P核心区", dxfattribs={"insert": (x0 + 2100, y0 + 800), "char_height": 20}
    )
    blk = doc.blocks.new("片区块")
    blk.add_lwpolyline([(0, 0), (500, 0), (500, 500), (0, 500)], close=True)
    msp.add_blockref("片区块", (x0 + 4000, y0))
    msp.add_text("甲区", height=30, dxfattribs={"insert": (x0 + 500, y0 + 500)})
    msp.add_text("图例", height=30, dxfattribs={"insert": (x0 - 5000, y0)})
    doc.saveas(tmp_path / "h.dxf")
    gdf, layers, notes = read_dxf(tmp_path / "h.dxf", name="h.dxf")
    assert len(gdf) == 3 and "规划边界" in layers
    by = gdf.set_index("name")
    assert by.loc["甲区", "geometry"].area == pytest.approx(1e6)
    hole = by.loc["科学城 核心区", "geometry"]
    assert hole.area == pytest.approx(900**2 - 300**2) and len(hole.interiors) == 1
    assert by.loc["0-1", "geometry"].area == pytest.approx(500**2)  # the block, unnamed
    assert any("1 hatches repeat" in n for n in notes)
    assert any("1 TEXT/MTEXT labels lie outside" in n for n in notes)
