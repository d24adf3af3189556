"""Issue 23 leftovers: geocode rows numbered by the file's lines, the progress count of
every sheet/layer the import reads, the canonical CSV reader's open categories, and
names shown as typed on the import page."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from openpyxl import Workbook

import cli
from layers import auth
from layers.importer import ImportOptions, import_file, read_table_for_geocoding
from layers.project import ProjectLayer, add_layer, create_project, open_project
from layers.registry import OTHER
from tests.conftest import app_on_page


@pytest.fixture(scope="module")
def hf(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "hf.gpkg"
    create_project(path, name="合肥", city="合肥市", counties=["蜀山区"])
    return path


# ---------------------------------------------------------------- (a) geocode row numbers
def test_geocode_lists_rows_by_their_file_lines(tmp_path, capsys, hf):
    from workflows.geocode import GeocodeRequest, read_table, run

    project = open_project(hf)
    req = GeocodeRequest(address_col="地址", provider="offline")
    p = tmp_path / "备案表.csv"  # title, blank line, header, a blank line among the data, a note
    p.write_text(
        "合肥市孵化器备案表\n\n名称,地址\n甲,合肥市蜀山区\n\n乙,合肥市蜀山区\n注：示例\n",
        encoding="utf-8",
    )
    rep = run(read_table_for_geocoding(p), req, project=project)
    assert [(r["row"], r["status"]) for r in rep.summary["listed"]] == [
        (4, "coarse"),
        (6, "coarse"),
    ]
    out = tmp_path / "out.csv"
    code = cli.main(["geocode", str(p), "--address-col", "地址", "--project", str(hf),
                     "--out", str(out)])  # fmt: skip
    shown = capsys.readouterr().out
    assert code == 1 and "row 4 [coarse]" in shown and "row 6 [coarse]" in shown
    # an XLSX read as the import page reads it: the sheet's own rows (merged title above)
    wb = Workbook()
    ws = wb.active
    ws.append(["合肥市孵化器备案表"])
    ws.merge_cells("A1:B1")
    ws.append(["名称", "地址"])
    ws.append(["甲", "合肥市蜀山区"])
    ws.append([])
    ws.append(["乙", "合肥市蜀山区"])
    x = tmp_path / "备案表.xlsx"
    wb.save(x)
    rep = run(read_table(x), req, project=project)
    assert [r["row"] for r in rep.summary["listed"]] == [3, 5]
    # a frame without the reader's lines: numbered below a one-line header
    plain = pd.DataFrame({"地址": ["合肥市蜀山区", "合肥市蜀山区"]})
    assert [r["row"] for r in run(plain, req, project=project).summary["listed"]] == [2, 3]


# ---------------------------------------------------------------- (b) progress counts
def _pts(n: int, lon0: float) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"名称": [f"点{i}" for i in range(n)]},
        geometry=[shapely.Point(lon0 + i / 100, 31.85) for i in range(n)],
        crs=4326,
    )


def test_count_rows_counts_every_sheet_and_layer_the_import_reads(tmp_path):
    from workflows import importing

    wb = Workbook()
    a = wb.active
    a.title = "蜀山区"
    a.append(["名称", "经度", "纬度"])
    for i in range(2):
        a.append([f"甲{i}", 117.2 + i / 100, 31.8])
    b = wb.create_sheet("包河区")
    b.append(["名称", "经度", "纬度"])
    for i in range(3):
        b.append([f"乙{i}", 117.3 + i / 100, 31.79])
    h = wb.create_sheet("隐藏")
    h.sheet_state = "hidden"
    for i in range(10):
        h.append([i])
    x = tmp_path / "两区.xlsx"
    wb.save(x)
    g = tmp_path / "两层.gpkg"
    _pts(2, 117.2).to_file(g, layer="科技馆")
    _pts(3, 117.1).to_file(g, layer="科普基地", mode="a")
    shp = tmp_path / "shp"
    shp.mkdir()
    _pts(2, 117.2).to_file(shp / "科技馆.shp", encoding="UTF-8")
    _pts(1, 117.1).to_file(shp / "科普基地.shp", encoding="UTF-8")
    z = tmp_path / "场馆.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in shp.iterdir():
            zf.write(f, f.name)
    k = tmp_path / "场馆.kml"
    pm = (
        "<Placemark><name>{}</name><Point><coordinates>117.2,31.8</coordinates></Point></Placemark>"
    )
    k.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        f"<Document><Folder><name>甲</name>{pm.format(1)}</Folder><Folder><name>乙</name>"
        f"{pm.format(2)}<Folder><name>丙</name>{pm.format(3)}</Folder></Folder></Document></kml>",
        encoding="utf-8",
    )
    for path, kind, whole, one in (
        (x, "enterprises", 5, ImportOptions(kind="enterprises", crs="WGS84", sheet="包河区")),
        (g, "science_venues", 5, ImportOptions(kind="science_venues", layer="科普基地")),
        (z, "science_venues", 3, ImportOptions(kind="science_venues", layer="科普基地")),
        (k, "science_venues", 3, None),
    ):
        opts = ImportOptions(kind=kind, crs="WGS84" if path.suffix == ".xlsx" else None)
        assert importing.count_rows(path, opts) == whole == import_file(path, opts).rows_total
        if one is not None:
            assert importing.count_rows(path, one) == import_file(path, one).rows_total
        calls = []
        rep = importing.run(path, opts, on_progress=lambda d, t, c=calls: c.append((d, t)))
        assert calls[0] == (0, whole) and calls[-1] == (rep.rows_total, rep.rows_total)


# ---------------------------------------------------------------- (c) reader categories
def test_canonical_reader_keeps_categories_open_as_the_importer(tmp_path):
    from layers.readers import read_points_csv

    p = tmp_path / "inc.csv"
    p.write_text(
        "id,name,subtype,level,lon,lat,source,coord_source,coord_precision_m,synthetic\n"
        "1,甲,孵化器,国家级,117.20,31.80,名单,survey,10,false\n"
        "2,乙,火箭,部级,117.21,31.81,名单,survey,10,false\n"
        "3,丙,众创空间,市级,117.22,31.82,名单,survey,10,false\n",
        encoding="utf-8",
    )
    res = read_points_csv(p, layer_key="incubators")
    assert res.rows_total == len(res.valid) == 3 and res.rejected.empty  # none rejected
    v = res.valid
    assert v["subtype"].tolist() == ["孵化器", OTHER, "众创空间"]
    assert v["subtype_raw"].tolist() == ["", "火箭", ""]
    assert v["level"].tolist() == ["国家级", OTHER, "市级"]
    assert v["level_raw"].tolist() == ["", "部级", ""]
    warned = sorted((i.row, i.field, i.value) for i in res.issues if i.severity == "warning")
    assert warned == [(3, "level", "部级"), (3, "subtype", "火箭")]
    assert all("其他" in i.message for i in res.issues)
    rep = import_file(p, ImportOptions(kind="incubators", crs="WGS84"))  # the importer's rule
    cols = ["subtype", "subtype_raw", "level", "level_raw"]
    assert v[cols].values.tolist() == rep.valid[cols].values.tolist()


# ---------------------------------------------------------------- (d) names on the import page
EVIL = "![x](http://127.0.0.1:9/x.png) **b**"


def test_import_page_shows_layer_names_as_typed(tmp_path, monkeypatch, hf):
    from markdown_it import MarkdownIt

    proj = tmp_path / "p.gpkg"
    proj.write_bytes(hf.read_bytes())
    auth.set_actor(auth.Actor("ed", "editor"))
    try:
        add_layer(
            open_project(proj), ProjectLayer(name=EVIL, kind="enterprises", gdf=_pts(1, 117.2))
        )
    finally:
        auth.set_actor(None)
    csv = tmp_path / "名单.csv"
    csv.write_text("名称,经度,纬度\n甲,117.25,31.85\n", encoding="utf-8")
    at = app_on_page(monkeypatch, proj, tmp_path / "home", "import_page")
    at.session_state["imp_path"] = str(csv)
    at.run()
    at.selectbox(key="imp_kind").set_value("science_venues").run()
    at.radio(key="imp_crs_ask").set_value("WGS84").run()
    at.text_input(key="imp_name").input(EVIL + " 2").run()
    at.button(key="imp_add").click().run()
    assert not at.exception, at.exception
    assert f"{EVIL} 2" in open_project(proj).layers
    md = MarkdownIt("commonmark")
    shown = [
        md.render(e.value)
        for e in [*at.markdown, *at.caption, *at.success, *at.info, *at.warning, *at.error]
    ]
    assert shown and not any("<img" in h or "<strong>b" in h for h in shown), shown
    text = " ".join(shown).replace("&quot;", '"')
    assert EVIL in text and f"{EVIL} 2" in text  # the layer list and the added message
