"""Importers: every format × encoding, coordinates, validation, security, fuzzing."""

import json
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer
from shapely.geometry import Polygon

from cli import main as cli_main
from layers.coords import guess_source_crs, parse_coordinate_series, to_wgs84
from layers.crs import wgs84_to_bd09, wgs84_to_gcj02
from layers.importer import (
    ZIP_LIMITS,
    ImportFileError,
    ImportOptions,
    import_file,
    inspect_file,
    map_vocabulary,
)

GEOD = Geod(ellps="WGS84")
LON = np.array([121.6332, 121.6080, 121.6343])
LAT = np.array([29.9111, 29.9144, 29.9259])
NAMES = ["宁波大学", "宁波工程学院", "启迪科技园"]


def table(lon=LON, lat=LAT):
    return pd.DataFrame(
        {
            "编号": ["00123", "00124", "00125"],
            "名称": NAMES,
            "类型": ["高校", "高校", "科研院所"],
            "经度": lon,
            "纬度": lat,
        }
    )


def close(gdf, lon=LON, lat=LAT, tol_m=0.5):
    _, _, d = GEOD.inv(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), lon, lat)
    return np.all(d < tol_m)


@pytest.mark.parametrize(
    "encoding,label",
    [
        ("utf-8", "UTF-8"),
        ("utf-8-sig", "UTF-8 (BOM)"),
        ("gbk", "GBK/GB18030"),
        ("gb18030", "GBK/GB18030"),
        ("utf-16", "UTF-16 (BOM)"),
    ],
)
def test_csv_encodings(tmp_path, encoding, label):
    p = tmp_path / "t.csv"
    table().to_csv(p, index=False, encoding=encoding)
    rep = import_file(p, ImportOptions(kind="universities"))
    assert rep.encoding == label
    assert rep.valid["name"].tolist() == NAMES
    assert rep.valid["id"].tolist() == ["00123", "00124", "00125"]  # ids stay text
    assert close(rep.valid)


@pytest.mark.parametrize("system", ["GCJ-02", "BD-09"])
def test_csv_chinese_systems_convert_to_wgs84(tmp_path, system):
    fx = wgs84_to_gcj02 if system == "GCJ-02" else wgs84_to_bd09
    x, y = fx(LON, LAT)
    p = tmp_path / "t.csv"
    table(x, y).to_csv(p, index=False, encoding="gbk")
    rep = import_file(p, ImportOptions(kind="universities", crs=system))
    assert rep.crs_in == system and close(rep.valid)


def test_xlsx_sheets_and_text_ids(tmp_path):
    p = tmp_path / "t.xlsx"
    with pd.ExcelWriter(p) as w:
        pd.DataFrame({"a": [1]}).to_excel(w, sheet_name="说明", index=False)
        table().to_excel(w, sheet_name="高校名单", index=False)
    assert inspect_file(p)["available"] == ["说明", "高校名单"]
    rep = import_file(p, ImportOptions(kind="universities", sheet="高校名单"))
    assert rep.sheet_or_layer == "高校名单" and rep.valid["id"].tolist() == [
        "00123",
        "00124",
        "00125",
    ]
    with pytest.raises(ImportFileError, match="no sheet"):
        import_file(p, ImportOptions(kind="universities", sheet="nope"))


def _gdf():
    g = gpd.GeoDataFrame(
        table().drop(columns=["经度", "纬度"]), geometry=gpd.points_from_xy(LON, LAT), crs=4326
    )
    return g


def test_geojson_gpkg_kml_kmz(tmp_path):
    g = _gdf()
    g.to_file(tmp_path / "t.geojson", driver="GeoJSON")
    g.to_file(tmp_path / "t.gpkg", layer="高校", driver="GPKG")
    g.to_file(tmp_path / "t.gpkg", layer="其他", driver="GPKG", mode="a")
    g.rename(columns={"名称": "name"}).to_file(tmp_path / "t.kml", driver="KML")
    with zipfile.ZipFile(tmp_path / "t.kmz", "w") as z:
        z.write(tmp_path / "t.kml", "doc.kml")
    for name, kw in (
        ("t.geojson", {}),
        ("t.gpkg", {"layer": "高校"}),
        ("t.kml", {}),
        ("t.kmz", {}),
    ):
        rep = import_file(tmp_path / name, ImportOptions(kind="universities", **kw))
        assert rep.rows_valid == 3, (name, rep.errors)
        assert close(rep.valid, tol_m=0.01), name
        assert "宁波大学" in rep.valid["name"].tolist()
    assert sorted(inspect_file(tmp_path / "t.gpkg")["available"]) == ["其他", "高校"]


@pytest.mark.parametrize("cpg", [None, "UTF-8", "GBK"])
def test_zipped_shapefiles_folder_several_and_no_cpg(tmp_path, cpg):
    g = _gdf()
    enc = cpg or "GBK"
    folder = tmp_path / "shp"
    folder.mkdir()
    g.to_file(folder / "高校.shp", encoding=enc)
    g.iloc[:1].to_file(folder / "other.shp", encoding="UTF-8")
    (folder / "高校.cpg").unlink(missing_ok=True)
    if cpg:
        (folder / "高校.cpg").write_text(cpg)
    z = tmp_path / "t.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f"data/{f.name}")  # a zip holding a folder
    info = inspect_file(z)
    assert sorted(info["available"]) == ["data/other.shp", "data/高校.shp"]
    rep = import_file(z, ImportOptions(kind="universities", layer="data/高校.shp"))
    assert rep.valid["name"].tolist() == NAMES  # never mojibake
    if cpg is None:
        assert "sniffed" in rep.encoding and rep.encoding.startswith("GB18030")


def test_projected_and_gk_zone_prefixed(tmp_path):
    t = Transformer.from_crs(4326, 4528, always_xy=True)  # CGCS2000 3° GK zone 40 (with prefix)
    x, y = t.transform(LON, LAT)
    assert np.all(x > 4e7)
    crs, _ = guess_source_crs(np.asarray(x), np.asarray(y))
    assert crs == "EPSG:4528"
    p = tmp_path / "gk.csv"
    table(x, y).rename(columns={"经度": "X坐标", "纬度": "Y坐标"}).to_csv(p, index=False)
    rep = import_file(p, ImportOptions(kind="universities"))
    assert rep.crs_in == "EPSG:4528" and close(rep.valid)
    # the same eastings given with the no-prefix CRS (CM 120E, EPSG:4549): prefix stripped
    rep2 = import_file(p, ImportOptions(kind="universities", crs="EPSG:4549"))
    assert close(rep2.valid)
    t2 = Transformer.from_crs(4326, 32651, always_xy=True)
    ux, uy = t2.transform(LON, LAT)
    p2 = tmp_path / "utm.csv"
    table(ux, uy).rename(columns={"经度": "x", "纬度": "y"}).to_csv(p2, index=False)
    with pytest.raises(ImportFileError, match="EPSG"):
        import_file(p2, ImportOptions(kind="universities"))
    assert close(import_file(p2, ImportOptions(kind="universities", crs="32651")).valid)


def test_golden_error_list(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text(
        "编号,名称,类型,级别,经度,纬度\n"
        "1,好孵化器,国家级孵化器,,121.63,29.92\n"
        "2,零点,孵化器,,0,0\n"
        "3,颠倒,孵化器,,29.92,121.63\n"
        "4,投影,孵化器,,512345.6,3312345.6\n"
        "5,国外,孵化器,,2.35,48.85\n"
        "1,重复编号,孵化器,,121.60,29.90\n"
        "7,<script>alert(1)</script>,火箭,,121.61,29.91\n"
        "8,,孵化器,,121.62,29.93\n"
        "9,缺坐标,孵化器,,,\n",
        encoding="utf-8",
    )
    rep = import_file(p, ImportOptions(kind="incubators", crs="WGS84"))
    got = [(e.row, e.field, e.message.split(" / ")[0]) for e in rep.errors]
    assert got == [
        (3, "经度/纬度", "坐标为 (0,0), 多为缺省值"),
        (4, "经度/纬度", "经纬度颠倒"),
        (5, "经度/纬度", "经纬度列中是投影坐标(米)"),
        (6, "经度/纬度", "位于中国境外"),
        (7, "id", "编号重复"),
        (9, "name", "名称为空"),
        (10, "经度/纬度", "坐标缺失或无法解析"),
    ]
    # categories are open: 火箭 is kept as 其他 (the original beside it), warned and counted
    assert rep.rows_valid == 2 and rep.valid["level"].iloc[0] == "国家级"
    kept = rep.valid.iloc[1]
    assert (kept["subtype"], kept["subtype_raw"]) == ("其他", "火箭")
    assert rep.other_values == {"subtype": {"火箭": 1}}
    assert any(w.field == "subtype" and "火箭" in w.value for w in rep.warnings)
    assert list(rep.rejected["row"]) == [3, 4, 5, 6, 7, 9, 10]
    assert rep.rejected["reason"].str.len().min() > 0
    assert all(e.file == "bad.csv" for e in rep.errors)
    fixed = import_file(p, ImportOptions(kind="incubators", crs="WGS84", fix_swapped=True))
    assert 4 not in list(fixed.rejected["row"])


def test_invalid_polygons_repaired_only_when_accepted(tmp_path):
    bow = Polygon([(121.60, 29.90), (121.62, 29.92), (121.62, 29.90), (121.60, 29.92)])
    ok = Polygon([(121.60, 29.90), (121.61, 29.90), (121.61, 29.91)])
    g = gpd.GeoDataFrame({"name": ["蝴蝶结", "三角"]}, geometry=[bow, ok], crs=4326)
    g.to_file(tmp_path / "z.geojson", driver="GeoJSON")
    rep = import_file(tmp_path / "z.geojson", ImportOptions(kind="zones"))
    assert rep.rows_valid == 1 and "Self-intersection" in rep.errors[0].value
    rep2 = import_file(tmp_path / "z.geojson", ImportOptions(kind="zones", repair_geometry=True))
    assert rep2.rows_valid == 2 and rep2.valid.is_valid.all()


def test_vocabulary_mapping():
    sub, lvl = map_vocabulary(
        pd.Series(["国家级孵化器", "众创空间", "maker space", "省级科技企业孵化器", ""]),
        "incubators",
    )
    assert sub.tolist()[:4] == ["孵化器", "众创空间", "众创空间", "孵化器"]
    assert [None if pd.isna(v) else v for v in lvl.tolist()[:4]] == ["国家级", None, None, "省级"]
    sub, lvl = map_vocabulary(pd.Series(["高企", "专精特新小巨人"]), "enterprises")
    assert sub.tolist() == ["高新技术企业", "专精特新企业"] and lvl.tolist() == ["国家级", "国家级"]


def test_security_vrt_zip_limits_and_names(tmp_path, monkeypatch):
    vrt = tmp_path / "evil.geojson"
    vrt.write_text(
        '<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd</SrcDataSource>'
        "</OGRVRTLayer></OGRVRTDataSource>"
    )
    with pytest.raises(ImportFileError, match="VRT"):
        import_file(vrt, ImportOptions(kind="universities"))
    import pyogrio

    assert "VRT" not in pyogrio.list_drivers()
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.shp", b"\0" * 5_000_000)
    with pytest.raises(ImportFileError, match="ratio"):
        inspect_file(bomb)
    monkeypatch.setitem(ZIP_LIMITS, "max_entries", 3)
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as z:
        for i in range(5):
            z.writestr(f"{i}.txt", b"x")
    with pytest.raises(ImportFileError, match="too many"):
        inspect_file(many)
    with pytest.raises(ImportFileError, match="unsupported"):
        inspect_file(tmp_path / "x.exe") if (tmp_path / "x.exe").write_bytes(b"MZ") else None


def test_traversal_names_in_zip_are_never_used(tmp_path):
    g = _gdf()
    d = tmp_path / "s"
    d.mkdir()
    g.to_file(d / "a.shp", encoding="UTF-8")
    z = tmp_path / "t.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in d.iterdir():
            zf.write(f, "../../" + f.name)
    rep = import_file(z, ImportOptions(kind="universities"))
    assert rep.rows_valid == 3
    assert not (tmp_path.parent / "a.shp").exists()


FORMATS = {
    "csv": lambda p: table().to_csv(p, index=False),
    "xlsx": lambda p: table().to_excel(p, index=False),
    "geojson": lambda p: _gdf().to_file(p, driver="GeoJSON"),
    "gpkg": lambda p: _gdf().to_file(p, driver="GPKG"),
    "kml": lambda p: _gdf().rename(columns={"名称": "name"}).to_file(p, driver="KML"),
}


@pytest.mark.parametrize("ext", list(FORMATS) + ["zip"])
def test_fuzz_corrupted_bytes_give_clean_errors(tmp_path, ext):
    src = tmp_path / f"src.{ext}"
    if ext == "zip":
        d = tmp_path / "shp"
        d.mkdir()
        _gdf().to_file(d / "a.shp")
        with zipfile.ZipFile(src, "w") as zf:
            for f in d.iterdir():
                zf.write(f, f.name)
    else:
        FORMATS[ext](src)
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(len(data))
    for trial in range(12):
        b = bytearray(data)
        if trial % 3 == 0:
            b = b[: rng.integers(1, len(b))]  # truncated
        else:
            for _ in range(rng.integers(1, 40)):
                b[rng.integers(0, len(b))] = rng.integers(0, 256)
        p = tmp_path / f"f{trial}.{ext}"
        p.write_bytes(bytes(b))
        try:
            rep = import_file(p, ImportOptions(kind="universities"))
        except ValueError as exc:  # ImportFileError / CoordinateError: clean, named
            assert p.name in str(exc) or "坐标" in str(exc) or "unknown" in str(exc)
        else:
            assert rep.rows_total >= rep.rows_valid


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(st.floats(73.7, 134.7), st.floats(18.3, 53.4)), min_size=1, max_size=20),
    st.sampled_from(["WGS84", "GCJ-02", "BD-09"]),
)
def test_import_round_trip_and_valid_rows_never_lost(tmp_path, pts, system):
    lon = np.array([p[0] for p in pts])
    lat = np.array([p[1] for p in pts])
    fx = {"WGS84": lambda a, b: (a, b), "GCJ-02": wgs84_to_gcj02, "BD-09": wgs84_to_bd09}[system]
    x, y = fx(lon, lat)
    df = pd.DataFrame(
        {"名称": [f"点{i}" for i in range(len(pts))], "lng": np.round(x, 9), "lat": np.round(y, 9)}
    )
    p = tmp_path / "rt.csv"
    df.to_csv(p, index=False)
    rep = import_file(p, ImportOptions(kind="enterprises", crs=system))
    assert rep.rows_valid == len(pts)  # every valid row loads
    _, _, d = GEOD.inv(rep.valid.geometry.x.to_numpy(), rep.valid.geometry.y.to_numpy(), lon, lat)
    assert d.max() < 0.5


def test_parse_coordinates_fullwidth_and_dms():
    vals = pd.Series(
        ["１２１.６３３２", "121°37'59.5\"E", "121度37分59.5秒", "东经121.5", "abc", None]
    )
    out = parse_coordinate_series(vals)
    assert out[0] == pytest.approx(121.6332)
    assert out[1] == pytest.approx(121.633194, abs=1e-6) and out[2] == pytest.approx(out[1])
    assert out[3] == 121.5 and np.isnan(out[4]) and np.isnan(out[5])
    x, _y = to_wgs84(np.array([121.6]), np.array([29.9]), "CGCS2000")
    assert float(x[0]) == 121.6


def test_cli_validate_and_import(tmp_path, capsys):
    p = tmp_path / "gbk.csv"
    x, y = wgs84_to_gcj02(LON, LAT)
    t = table(x, y)
    t.loc[1, "纬度"] = 0
    t.loc[1, "经度"] = 0
    t.to_csv(p, index=False, encoding="gbk")
    assert (
        cli_main(["validate", str(p), "--kind", "universities", "--crs", "GCJ-02", "--json"]) == 1
    )
    js = json.loads(capsys.readouterr().out)
    for k in (
        "file",
        "format",
        "encoding",
        "crs_in",
        "rows_total",
        "rows_valid",
        "errors",
        "warnings",
    ):
        assert k in js
    assert js["rows_total"] == 3 and js["rows_valid"] == 2 and js["errors"][0]["row"] == 3
    assert {"row", "field", "value", "message"} <= set(js["errors"][0])
    ok = tmp_path / "ok.csv"
    table().to_csv(ok, index=False)
    assert cli_main(["validate", str(ok), "--kind", "universities"]) == 0
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a zip")
    assert cli_main(["validate", str(junk)]) == 2
    out = tmp_path / "o.gpkg"
    assert (
        cli_main(["import", str(p), "--kind", "universities", "--crs", "GCJ-02", "--out", str(out)])
        == 0
    )
    import pyogrio

    assert sorted(pyogrio.list_layers(out)[:, 0].tolist()) == ["rejected", "universities"]
    g = gpd.read_file(out, layer="universities")
    assert g.crs.to_epsg() == 4326 and g["id"].tolist() == ["00123", "00125"]
    assert close(g, LON[[0, 2]], LAT[[0, 2]])
    before = out.read_bytes()
    assert cli_main(["import", str(p), "--kind", "universities", "--out", str(out)]) == 2
    assert out.read_bytes() == before
    assert (
        cli_main(
            [
                "import",
                str(p),
                "--kind",
                "universities",
                "--crs",
                "GCJ-02",
                "--out",
                str(out),
                "--force",
            ]
        )
        == 0
    )


def test_plot_polygons_become_points_for_point_layers(tmp_path):
    from shapely.geometry import box

    g = gpd.GeoDataFrame(
        {"name": ["地块A", "地块B"]},
        geometry=[box(121.63, 29.92, 121.635, 29.925), box(121.64, 29.93, 121.645, 29.935)],
        crs=4326,
    )
    g.to_file(tmp_path / "plots.gpkg", driver="GPKG")
    rep = import_file(tmp_path / "plots.gpkg", ImportOptions(kind="incubators"))
    assert rep.rows_valid == 2 and (rep.valid.geom_type == "Point").all()
    assert rep.valid.within(gpd.GeoSeries(g.geometry.values, crs=4326)).all()
    assert any("polygons replaced" in w.message for w in rep.warnings)
