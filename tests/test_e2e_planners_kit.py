"""Issue 23, "Done when": a 合肥 planner's kit built here, taken through ``cli.main``.

The kit: a titled XLSX of 研发平台 (merged title row, full-width digits, coordinate-pair
cells in GCJ-02 named by the file, a blank row, footnotes, types and a level outside the
vocabulary); a 奥维-style KML of 科普场馆 (folders, one nested, Chinese ExtendedData, a
track folder); the 片区 as DXF in CGCS2000 3° GK zone 39 with zone-prefixed eastings
(EPSG:4527) and TEXT labels; a GeoJSON named …高德GCJ02 holding a zone already in the DXF
and a zone type outside the vocabulary; a corridor axis; the DXF again. Every input row
is kept, rejected with its reason or counted as a note/blank row; positions are within
1 m of the generated WGS84 truth; the axis profiles; by-zone counts match an independent
count and never exceed the points. ``pytest -s`` prints the per-file figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import ezdxf
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from openpyxl import Workbook, load_workbook
from pyproj import Transformer

import cli
from layers.crs import wgs84_to_gcj02
from layers.project import open_project
from layers.registry import OTHER

#: 研发平台: (name, type, level, lon, lat) — WGS84 truth; the XLSX holds GCJ-02
PLATFORMS = [
    ("合肥微尺度物质科学实验室", "重点实验室", "国家级", 117.2610, 31.8390),
    ("科大讯飞企业技术中心", "企业技术中心", "国家级", 117.1420, 31.8320),
    ("中科大先进技术研究院", "新型研发机构", "省级", 117.1840, 31.8460),
    ("量子信息校企联合实验室", "校企联合实验室", "校级", 117.2150, 31.8470),
    ("合肥工程研究中心", "工程研究中心", "省级", 117.2380, 31.8340),
    ("包河创新联合体", "创新联合体", "市级", 117.2900, 31.8060),
]
#: rows whose coordinates are missing: rejected with the cell quoted
BAD_PLATFORMS = [("坐标待补平台", "重点实验室", "市级", "待补充")]
#: 科普场馆: (folder, name, lon, lat, 级别, 类别)
VENUES = [
    ("科技馆", "安徽省科技馆", 117.2300, 31.8300, "省级", "大型场馆"),
    ("科技馆", "合肥科技馆", 117.2500, 31.8450, "省级", "大型场馆"),
    ("科普基地", "合肥植物园", 117.1500, 31.8250, "市级", "专业场馆"),
    ("科普基地/学校", "中科大科技馆", 117.2700, 31.8400, "区级", "学校科技馆"),
    ("企业科技馆", "讯飞展厅", 117.1300, 31.8350, "市级", "企业展厅"),  # type outside
]
TRACK = [(117.20, 31.80), (117.25, 31.82), (117.28, 31.85)]
#: 片区 (lon/lat rectangles, CGCS2000 = WGS84 here) drawn in the DXF
DXF_ZONES = {
    "合肥高新区": (117.10, 31.80, 117.18, 31.86),
    "合肥科学城": (117.20, 31.82, 117.26, 31.88),
}
#: the 高德 GeoJSON: 合肥科学城 again (duplicate) and a zone of a type outside the vocabulary
GCJ_ZONES = [
    ("合肥科学城", "科学城", DXF_ZONES["合肥科学城"]),
    ("包河创新片区", "创新片区", (117.28, 31.79, 117.31, 31.82)),
]
AXIS = [(117.12, 31.83), (117.20, 31.845), (117.30, 31.80)]
BIN_M, BAND_M = 2000.0, 1500.0

_WIDE = {ord(c): ord(c) + 0xFEE0 for c in "0123456789."}


def _gcj(lon: float, lat: float) -> tuple[float, float]:
    g = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    return float(g[0][0]), float(g[1][0])


def _gcj_geom(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])))


def build_kit(folder: Path) -> dict[str, Path]:
    """Write the kit's files into ``folder``; ``{role: path}``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    # -- XLSX: merged title, header, data (pair cells, full-width digits), a blank row, notes
    wb = Workbook()
    ws = wb.active
    ws.title = "研发平台"
    ws.append(["2024年合肥市研发平台名单（坐标：高德）"])
    ws.merge_cells("A1:F1")
    ws.append(["序号", "平台名称", "平台类别", "级别", "坐标", "备注"])
    for i, (name, typ, lvl, lon, lat) in enumerate(PLATFORMS, start=1):
        glon, glat = _gcj(lon, lat)
        cell = f"{glon:.7f}{'，' if i % 2 else ','}{glat:.7f}"
        if i % 3 == 0:
            cell = cell.translate(_WIDE)  # full-width digits and points
        ws.append([str(i).translate(_WIDE) if i % 2 else i, name, typ, lvl, cell, ""])
        if i == 3:
            ws.append([None] * 6)  # a blank row among the data
            ws.cell(ws.max_row, 1).value = " "
    for name, typ, lvl, cell in BAD_PLATFORMS:
        ws.append([len(PLATFORMS) + 1, name, typ, lvl, cell, "坐标缺失"])
    ws.append(["注：坐标为高德（GCJ-02）坐标"])
    ws.merge_cells(f"A{ws.max_row}:F{ws.max_row}")
    ws.append(["数据来源：合肥市科学技术局"])
    paths["xlsx"] = folder / "研发平台名单_高德.xlsx"
    wb.save(paths["xlsx"])

    # -- KML: folders (one nested), Chinese ExtendedData, a track folder
    def pm(name, lon, lat, lvl, typ):
        return (
            f"<Placemark><name><![CDATA[{name}]]></name><ExtendedData>"
            f'<Data name="级别"><value>{lvl}</value></Data>'
            f'<Data name="类别"><value>{typ}</value></Data>'
            f'<Data name="备注"><value>备注:{name}</value></Data></ExtendedData>'
            f"<Point><coordinates>{lon},{lat},0</coordinates></Point></Placemark>"
        )

    v = {f: [pm(*r[1:]) for r in VENUES if r[0] == f] for f in dict.fromkeys(r[0] for r in VENUES)}
    track = " ".join(f"{x},{y}" for x, y in TRACK)
    paths["kml"] = folder / "奥维科普场馆.kml"
    paths["kml"].write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document><name>合肥科普场馆</name>"
        f"<Folder><name>科技馆</name>{''.join(v['科技馆'])}</Folder>"
        f"<Folder><name>科普基地</name>{''.join(v['科普基地'])}"
        f"<Folder><name>学校</name>{''.join(v['科普基地/学校'])}</Folder></Folder>"
        f"<Folder><name>企业科技馆</name>{''.join(v['企业科技馆'])}</Folder>"
        "<Folder><name>踏勘轨迹</name><Placemark><name>踏勘1</name><LineString><coordinates>"
        f"{track}</coordinates></LineString></Placemark></Folder></Document></kml>",
        encoding="utf-8",
    )
    # -- DXF: closed LWPOLYLINEs on 规划边界, TEXT labels, GK zone 39 with the prefix
    t = Transformer.from_crs(4490, 4527, always_xy=True)
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    doc.layers.add("规划边界")
    for name, b in DXF_ZONES.items():
        xs, ys = t.transform(*np.asarray(shapely.box(*b).exterior.coords).T)
        msp.add_lwpolyline(
            list(zip(xs[:-1], ys[:-1], strict=True)), close=True, dxfattribs={"layer": "规划边界"}
        )
        cx, cy = t.transform((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
        msp.add_text(name, height=50, dxfattribs={"layer": "注记", "insert": (cx, cy)})
    paths["dxf"] = folder / "规划边界.dxf"
    doc.saveas(paths["dxf"])
    # -- GeoJSON named 高德GCJ02: GCJ-02 coordinates, no crs member
    paths["geojson"] = folder / "片区边界_高德GCJ02.geojson"
    gpd.GeoDataFrame(
        {"name": [n for n, _, _ in GCJ_ZONES], "类型": [t for _, t, _ in GCJ_ZONES]},
        geometry=[_gcj_geom(shapely.box(*b)) for _, _, b in GCJ_ZONES],
        crs=4326,
    ).to_file(paths["geojson"], driver="GeoJSON")
    # -- the corridor axis (WGS84 GeoJSON)
    paths["axis"] = folder / "科创走廊轴线.geojson"
    gpd.GeoDataFrame(
        {"name": ["合肥科创走廊"]}, geometry=[shapely.LineString(AXIS)], crs=4326
    ).to_file(paths["axis"], driver="GeoJSON")
    return paths


def _metres(a, b) -> float:
    """Hausdorff distance (m) of two WGS84 geometries, in EPSG:4527."""
    ga, gb = gpd.GeoSeries([a, b], crs=4326).to_crs(4527)
    return float(ga.hausdorff_distance(gb))


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _add(capsys, proj, path, kind, *extra) -> tuple[int, dict, str]:
    code, out, err = _run(
        capsys, "project", "add", "--project", proj, path, "--kind", kind, "--json", *extra
    )
    return code, (json.loads(out) if out.strip() else {}), err


def test_planners_kit_through_project_add_and_profile(tmp_path, capsys):
    kit = build_kit(tmp_path / "kit")
    proj = tmp_path / "合肥.gpkg"
    code, _, err = _run(
        capsys, "project", "new", "--name", "合肥科创", "--city", "合肥市",
        "--counties", "蜀山区,包河区", "--out", proj,
    )  # fmt: skip
    assert code == 0, err
    figures: dict[str, dict] = {}

    # ---- XLSX: GCJ-02 from the file name, title/footnotes as notes, the bad cell quoted
    code, rep, err = _add(capsys, proj, kit["xlsx"], "platforms", "--name", "研发平台")
    assert code == 1, err  # a row rejected
    assert rep["crs_in"] == "GCJ-02" and rep["header_row"] == 2
    assert rep["column_map"]["lonlat"] == "坐标" and rep["column_map"]["name"] == "平台名称"
    assert rep["rows_total"] == len(PLATFORMS) + len(BAD_PLATFORMS)
    assert rep["rows_added"] == len(PLATFORMS)
    assert [(e["row"], e["value"]) for e in rep["errors"]] == [(10, "待补充")]
    title = [n for n in rep["notes"] if n.startswith("第 1 行")]
    foot = [n for n in rep["notes"] if "表注" in n]
    assert len(title) == 1 and "研发平台名单" in title[0] and len(foot) == 2
    assert [n.split(" ")[1] for n in foot] == ["11", "12"]  # the sheet's own row numbers
    layer = open_project(proj).layers["研发平台"]
    assert layer.note.splitlines() == rep["notes"]  # the notes travel with the layer
    assert layer.rejected["row"].astype(int).tolist() == [10]
    assert layer.rejected["reason"].str.contains("坐标缺失或无法解析").all()
    # every sheet row: the header, a kept or rejected record, a note, or blank (no value)
    ws = load_workbook(kit["xlsx"]).active
    sheet_rows = ws.max_row
    blank = [r for r in ws.iter_rows(values_only=True) if not any(str(c or "").strip() for c in r)]
    assert len(blank) == 1
    assert any("跳过 1 个空行" in w["message"] for w in rep["warnings"])  # counted by the reader
    accounted = 1 + layer.rows + len(layer.rejected) + len(title) + len(foot) + len(blank)
    assert accounted == sheet_rows
    figures["xlsx"] = dict(
        lines=sheet_rows, kept=layer.rows, rejected=len(layer.rejected),
        notes=len(title) + len(foot), blank=len(blank), header=1,
    )  # fmt: skip
    g = layer.gdf.set_index("name")
    for name, _typ, lvl, lon, lat in PLATFORMS:
        assert g.loc[name, "level"] == (OTHER if lvl == "校级" else lvl)
        assert _metres(g.loc[name, "geometry"], shapely.Point(lon, lat)) < 1.0
    assert g.loc["量子信息校企联合实验室", "subtype"] == OTHER
    assert g.loc["量子信息校企联合实验室", "subtype_raw"] == "校企联合实验室"
    assert g.loc["量子信息校企联合实验室", "level_raw"] == "校级"
    assert g.loc["包河创新联合体", "subtype_raw"] == "创新联合体"
    assert g.loc["科大讯飞企业技术中心", "subtype"] == "企业技术中心"
    assert rep["other_values"]["subtype"] == {"校企联合实验室": 1, "创新联合体": 1}

    # ---- KML: every folder (the nested one too), ExtendedData keys; the track rejected
    code, rep, err = _add(capsys, proj, kit["kml"], "science_venues", "--name", "科普场馆")
    assert code == 1, err
    layer = open_project(proj).layers["科普场馆"]
    assert rep["rows_total"] == len(VENUES) + 1 == layer.rows + len(layer.rejected)
    assert layer.rows == len(VENUES) and len(layer.rejected) == 1
    assert "--kind corridor_axes" in str(layer.rejected["reason"].iloc[0])
    g = layer.gdf.set_index("name")
    for folder, name, lon, lat, lvl, _ in VENUES:
        assert g.loc[name, "folder"] == folder and g.loc[name, "level"] == lvl
        assert g.loc[name, "备注"] == f"备注:{name}"
        assert _metres(g.loc[name, "geometry"], shapely.Point(lon, lat)) < 1.0
    assert g.loc["讯飞展厅", "subtype"] == OTHER and g.loc["讯飞展厅", "subtype_raw"] == "企业展厅"
    figures["kml"] = dict(placemarks=len(VENUES) + 1, kept=layer.rows, rejected=1, notes=0)

    # ---- DXF in GK zone 39 with the zone prefix: EPSG:4527 recognised, labels name zones
    code, rep, err = _add(capsys, proj, kit["dxf"], "zones", "--name", "规划边界")
    assert code == 0, err
    assert rep["crs_in"] == "EPSG:4527"
    layer = open_project(proj).layers["规划边界"]
    assert layer.rows == len(DXF_ZONES) and len(layer.rejected) == 0
    g = layer.gdf.set_index("name")
    for name, b in DXF_ZONES.items():
        assert _metres(g.loc[name, "geometry"], shapely.box(*b)) < 1.0
    figures["dxf"] = dict(polylines=len(DXF_ZONES), kept=layer.rows, rejected=0, notes=0)

    # ---- the 高德 GeoJSON: the CLI asks (exit 2), then GCJ-02; the duplicate zone rejected
    code, out, err = _run(
        capsys, "project", "add", "--project", proj, kit["geojson"], "--kind", "zones"
    )
    assert code == 2 and "--crs GCJ-02" in err
    assert "片区边界_高德GCJ02" not in open_project(proj).layers  # nothing added on a question
    code, rep, err = _add(
        capsys, proj, kit["geojson"], "zones", "--crs", "GCJ-02", "--name", "高德片区"
    )
    assert code == 1, err
    layer = open_project(proj).layers["高德片区"]
    assert layer.rows == 1 and list(layer.gdf["name"]) == ["包河创新片区"]
    assert list(layer.rejected["name"]) == ["合肥科学城"]
    assert layer.rejected["reason"].str.contains("已存在").all()
    assert any("合肥科学城" in n for n in rep["store_notes"])
    assert (
        layer.gdf["subtype"].iloc[0] == OTHER and layer.gdf["zone_type_raw"].iloc[0] == "创新片区"
    )
    assert _metres(layer.gdf.geometry.iloc[0], shapely.box(*GCJ_ZONES[1][2])) < 1.0
    figures["geojson"] = dict(features=len(GCJ_ZONES), kept=1, rejected=1, notes=0)

    # ---- the same DXF again: every zone already exists, the add is refused naming them
    code, _, err = _run(
        capsys, "project", "add", "--project", proj, kit["dxf"], "--kind", "zones",
        "--name", "规划边界2",
    )  # fmt: skip
    assert code == 2 and "合肥高新区" in err and "已存在" in err
    assert "规划边界2" not in open_project(proj).layers
    figures["dxf again"] = dict(polylines=len(DXF_ZONES), kept=0, rejected=2, exit=code)

    # ---- the corridor axis: not a zone; a corridor_axes layer
    code, _, err = _run(capsys, "project", "add", "--project", proj, kit["axis"], "--kind", "zones")
    assert code == 2 and "--kind corridor_axes" in err
    code, rep, err = _add(capsys, proj, kit["axis"], "corridor_axes", "--name", "科创走廊")
    assert code == 0, err
    layer = open_project(proj).layers["科创走廊"]
    assert _metres(layer.gdf.geometry.iloc[0], shapely.LineString(AXIS)) < 1.0
    figures["axis"] = dict(features=1, kept=1, rejected=0, notes=0)

    # ---- profile along the axis: bins cover its length, counts match an oracle
    out = tmp_path / "profile"
    code, _, err = _run(
        capsys, "profile", "--project", proj, "--layers", "platforms", "science_venues",
        "--bin-m", BIN_M, "--band-m", BAND_M, "--out", out,
    )  # fmt: skip
    assert code == 0, err
    prof = pd.read_csv(out / "profile.csv")
    project = open_project(proj)
    crs = project.metric_crs()
    axis_m = gpd.GeoSeries([shapely.LineString(AXIS)], crs=4326).to_crs(crs).iloc[0]
    assert (
        prof["from_m"].iloc[0] == 0
        and (prof["from_m"].iloc[1:].values == prof["to_m"].iloc[:-1].values).all()
    )
    assert axis_m.length <= prof["to_m"].iloc[-1] < axis_m.length + BIN_M
    pts = pd.concat([project.layers[n].gdf.geometry for n in ("研发平台", "科普场馆")])
    pts_m = gpd.GeoSeries(pts, crs=4326).to_crs(crs)
    near = pts_m[pts_m.distance(axis_m) <= BAND_M]
    along = np.array([axis_m.project(p) for p in near])
    oracle = np.histogram(along, bins=[*prof["from_m"], prof["to_m"].iloc[-1]])[0]
    assert prof["total"].tolist() == oracle.tolist() and prof["total"].sum() <= len(pts)

    # ---- coverage by zone: each zone counts a point once; never more than the points
    cov = tmp_path / "coverage"
    code, _, err = _run(
        capsys, "coverage", "--project", proj, "--service", "platforms", "--demand",
        "science_venues", "--method", "straight", "--minutes", "15", "--out", cov,
    )  # fmt: skip
    assert code == 0, err
    by_zone = json.loads((cov / "summary.json").read_text(encoding="utf-8"))["by_zone"]
    zones = pd.concat([project.layers[n].gdf for n in ("规划边界", "高德片区")])
    venues = project.layers["科普场馆"].gdf
    assert by_zone and all(r["covered"] <= r["demand_total"] for r in by_zone)
    got = {r["zone"]: r["demand_total"] for r in by_zone}
    assert len(got) == len(by_zone)  # one row per distinct zone name (one cut-off)
    oracle = {name: int(venues.within(z.union_all()).sum()) for name, z in zones.groupby("name")}
    assert got == {k: v for k, v in oracle.items() if v} and sum(got.values()) <= len(venues)
    assert got["合肥科学城"] == 2  # the zone offered twice counts its points once

    figures["profile"] = dict(bins=len(prof), points_in_band=int(prof["total"].sum()))
    print("\nplanner's kit (after):")
    for f, fig in figures.items():
        print(f"  {f}: {fig}")
