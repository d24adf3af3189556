"""Planners' tables as they arrive (issue 23): header rows past titles and merged cells,
footnotes kept as notes, sheets, tolerant columns, coordinate-pair cells, open categories,
``--map``, and the incubator kind guess. Property tests (Hypothesis) for the header-row
detection, the coordinate-cell parser and category keeping."""

from __future__ import annotations

import json
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from cli import main as cli_main
from layers.coords import parse_coordinate_series, split_cell
from layers.importer import (
    ImportFileError,
    ImportOptions,
    _points_from_table,
    guess_columns,
    import_file,
    read_table_for_geocoding,
)
from layers.project import create_project, open_project
from layers.registry import OTHER, REGISTRY, guess_kind, vocabulary
from layers.safe import escape_html, truncate
from layers.tabular import detect_header, header_names, is_footnote, read_csv_table

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF)


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli_main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# ---------------------------------------------------------------- header rows (laws)
_title_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"\ufeff'),
    min_size=1,
    max_size=12,
).filter(str.strip)


@st.composite
def titled_tables(draw):
    """``(rows, titles)``: title/subtitle rows above a header of k distinct text names
    above data rows holding numbers (as a planner's list arrives)."""
    k = draw(st.integers(2, 8))
    names = draw(
        st.lists(st.text(CJK, min_size=1, max_size=4), min_size=k, max_size=k, unique=True)
    )
    titles = []
    for _ in range(draw(st.integers(0, 3))):
        filled = draw(st.integers(1, max(1, (k - 1) // 2)))  # a merged title, a subtitle
        row = [""] * k
        for j in draw(
            st.lists(st.integers(0, k - 1), min_size=filled, max_size=filled, unique=True)
        ):
            row[j] = draw(_title_text)
        titles.append(row)
    data = [
        [
            draw(st.sampled_from(["", "甲", "117.2", "31.7", "12", "高新区"]))
            if j
            else str(draw(st.integers(1, 999)))
            for j in range(k)
        ]
        for _ in range(draw(st.integers(1, 5)))
    ]
    return titles + [names] + data, len(titles), names


@FAST
@given(titled_tables())
def test_header_is_found_past_title_rows(case):
    rows, n_titles, names = case
    assert detect_header(rows) == (n_titles, 1)
    assert header_names(rows[n_titles : n_titles + 1], 1) == names


@FAST
@given(titled_tables())
def test_csv_reader_keeps_titles_as_notes_and_the_data_lines(case):
    rows, n_titles, names = case
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "t.csv"
        blank = ",".join([""] * len(names))
        lines = [",".join(f'"{c}"' for c in r) for r in rows[: n_titles + 1]]
        lines.append(blank)  # a blank row after the header is skipped and counted
        lines += [",".join(r) for r in rows[n_titles + 1 :]]
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tab = read_csv_table(p, name="t.csv")
    assert list(tab.frame.columns) == names
    assert tab.header_row == n_titles + 1 and [r for r, _ in tab.titles] == list(
        range(1, n_titles + 1)
    )
    assert tab.lines.tolist() == list(range(n_titles + 3, n_titles + 3 + len(rows) - n_titles - 1))


def test_two_row_header_below_merged_cells():
    rows = [
        ["2024年合肥市研发平台名单", "", "", "", ""],
        ["序号", "名称", "坐标", "", "备注"],
        ["", "", "经度", "纬度", ""],
        ["1", "甲中心", "117.2", "31.8", "无"],
    ]
    assert detect_header(rows) == (1, 2)
    assert header_names(rows[1:3], 2) == ["序号", "名称", "经度", "纬度", "备注"]


def test_one_column_and_untitled_tables_keep_their_first_row():
    assert detect_header([["名称"], ["甲"], ["乙"]]) == (0, 1)
    assert detect_header([["id", "name", "lon", "lat"], ["1", "A", "121.6", "29.9"]]) == (0, 1)


# ---------------------------------------------------------------- footnotes
def test_footnotes_are_notes_and_a_remark_column_stays(tmp_path, capsys):
    p = tmp_path / "众创空间.csv"
    p.write_text(
        "合肥市众创空间名单\n"
        "名称,类型,经度,纬度,备注\n"
        "甲空间,众创空间,117.20,31.80,注：新认定\n"
        "乙空间,众创空间,117.21,31.81,\n"
        "注：本表为示例\n"
        '"数据来源:合肥市科技局,2024年"\n'
        "合计,2,,,\n",
        encoding="utf-8",
    )
    rep = import_file(p, ImportOptions(kind="incubators", crs="WGS84"))
    assert rep.rows_total == rep.rows_valid == 2 and not rep.errors
    assert rep.valid["备注"].tolist() == ["注：新认定", ""]  # a 备注 column stays a column
    assert [n.split(":")[0] for n in rep.notes] == [
        "第 1 行为表头上方的标题/说明",
        "第 5 行为表注",
        "第 6 行为表注",
        "第 7 行为表注",
    ]
    assert "合肥市众创空间名单" in rep.notes[0] and "数据来源" in rep.notes[2]
    code, out, _ = _cli(capsys, "validate", p, "--kind", "incubators", "--crs", "WGS84", "--json")
    got = json.loads(out)
    assert code == 0 and got["notes"] == rep.notes and got["header_row"] == 2


def test_footnote_rule():
    assert is_footnote(["注：数据截至2024年底", "", ""])
    assert is_footnote(["", "备注:以上为示例"]) and is_footnote(["合计", "12", "", "3400"])
    assert is_footnote(["说明"]) and is_footnote(["※ 带星号为新增"])
    assert not is_footnote(["注册地址在合肥", ""])  # a word starting with 注 is not a note
    assert not is_footnote(["甲公司", "117.2"]) and not is_footnote(["", ""])


# ---------------------------------------------------------------- XLSX: merged title, sheets
def _planner_xlsx(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.append(["2024年合肥市高新技术企业名单"])
    ws.merge_cells("A1:F1")
    ws.append([])
    ws.append(["序号", "企业名称", "类型", "从业人员（人）", "坐标", "备注"])
    ws.append([1, "甲公司", "高企", "１２０", "117.20,31.74", ""])
    ws.append([2, "乙公司", "瞪羚", 30, "117.21，31.75", "新增"])
    ws.append([3, "丙公司", "火箭企业", 10, "117.22 31.76", ""])
    ws.append([4, "丁公司", "科技型中小企业", 5, "abc", ""])
    ws.append(["注：数据来源于合肥市科技局"])
    ws.merge_cells("A8:F8")
    wb.save(path)


def test_titled_xlsx_with_pair_cells_units_and_footnotes(tmp_path):
    p = tmp_path / "高企名单_高德.xlsx"
    _planner_xlsx(p)
    rep = import_file(p, ImportOptions(kind="enterprises"))
    assert rep.header_row == 3 and rep.crs_in == "GCJ-02"  # 高德 in the file name
    assert rep.column_map == {
        "id": "序号",
        "name": "企业名称",
        "subtype": "类型",
        "employees": "从业人员（人）",
        "lonlat": "坐标",
    }
    assert rep.rows_total == 4 and rep.rows_valid == 3
    assert rep.valid["employees"].tolist() == [120.0, 30.0, 10.0]  # full-width digits read
    assert rep.valid["subtype"].tolist() == ["高新技术企业", "瞪羚企业", OTHER]
    assert rep.valid["subtype_raw"].tolist() == ["", "", "火箭企业"]
    assert [(e.row, e.value) for e in rep.errors] == [(7, "abc")]  # the cell, never "nan, nan"
    assert len(rep.notes) == 2 and "第 8 行为表注" in rep.notes[1]


def _two_sheets(path: Path, second_header: list[str]) -> None:
    wb = Workbook()
    a = wb.active
    a.title = "蜀山区"
    a.append(["名称", "经度", "纬度"])
    a.append(["甲", 117.20, 31.80])
    b = wb.create_sheet("包河区")
    b.append(["合肥市包河区名单"])
    b.append(second_header)
    b.append(["乙", 117.30, 31.79])
    b.append(["丙", 117.31, "x"])
    wb.create_sheet("Sheet3")  # an empty sheet: skipped, said
    wb.save(path)


def test_sheets_of_one_header_are_read_together(tmp_path, capsys):
    p = tmp_path / "两区.xlsx"
    _two_sheets(p, ["名称", "经度", "纬度"])
    rep = import_file(p, ImportOptions(kind="enterprises", crs="WGS84"))
    assert rep.rows_total == 3 and rep.valid["sheet"].tolist() == ["蜀山区", "包河区"]
    assert rep.rejected["sheet"].tolist() == ["包河区"] and rep.rejected["row"].tolist() == [4]
    assert rep.errors[0].file == "两区.xlsx [包河区]" and rep.errors[0].value == "117.31, x"
    assert any("Sheet3" in w.message for w in rep.warnings)
    one = import_file(p, ImportOptions(kind="enterprises", crs="WGS84", sheet="蜀山区"))
    assert one.rows_total == 1 and "sheet" not in one.valid.columns


def test_sheets_with_different_headers_stop_naming_them(tmp_path, capsys):
    p = tmp_path / "两区.xlsx"
    _two_sheets(p, ["单位名称", "经度", "纬度"])
    with pytest.raises(ImportFileError, match=r"蜀山区.*包河区.*--sheet"):
        import_file(p, ImportOptions(kind="enterprises", crs="WGS84"))
    code, _, err = _cli(capsys, "validate", p, "--kind", "enterprises", "--crs", "WGS84")
    assert code == 2 and "蜀山区" in err and "包河区" in err and "--sheet" in err
    code, out, _ = _cli(
        capsys, "validate", p, "--kind", "enterprises", "--crs", "WGS84", "--sheet", "包河区"
    )
    assert code == 1 and "header row 2" in out and "rows: 1 valid / 2 total" in out


def test_header_row_option_overrides(tmp_path, capsys):
    p = tmp_path / "list.csv"
    p.write_text("名称,经度,纬度\n甲,117.2,31.8\n", encoding="utf-8")
    code, _, err = _cli(
        capsys, "validate", p, "--kind", "enterprises", "--crs", "WGS84", "--header-row", "2"
    )
    assert code == 2 and "only a header (line 2)" in err
    p.write_text("名单 2024\n\n名称,经度,纬度\n甲,117.2,31.8\n", encoding="utf-8")
    code, out, _ = _cli(capsys, "validate", p, "--kind", "enterprises", "--crs", "WGS84")
    assert code == 0 and "header row 3" in out and "名单 2024" in out
    code, out, err = _cli(
        capsys, "validate", p, "--kind", "enterprises", "--crs", "WGS84", "--header-row", "9"
    )
    assert code == 2 and "line 9" in err


# ---------------------------------------------------------------- columns
def test_tolerant_columns_and_a_gcj_hint_from_the_column(tmp_path):
    p = tmp_path / "communities.csv"
    pd.DataFrame(
        {
            "街道": ["三里庵街道"],
            "社区名称": ["稻香村社区"],
            "常住人口（人）": ["１２,３４５"],
            "经度（高德）": [117.25],
            "纬度（高德）": [31.85],
        }
    ).to_csv(p, index=False)
    rep = import_file(p, ImportOptions(kind="communities"))
    assert rep.crs_in == "GCJ-02" and "高德" in rep.crs_reason
    assert rep.valid["name"].tolist() == ["稻香村社区"]
    assert rep.valid["population"].tolist() == [12345.0]
    assert guess_columns(["序号", "孵化器名称", "地址", "X坐标（CGCS2000）", "Y坐标"]) == {
        "lon": "X坐标（CGCS2000）",
        "lat": "Y坐标",
        "id": "序号",
        "name": "孵化器名称",
        "address": "地址",
    }


def test_name_col_and_col_options(tmp_path, capsys):
    p = tmp_path / "list.csv"
    p.write_text(
        "名称,运营单位,人员,x,y\n甲基地,甲公司,12,117.2,31.8\n乙基地,乙公司,7,117.21,31.81\n",
        encoding="utf-8",
    )
    proj = tmp_path / "hf.gpkg"
    create_project(proj, name="合肥", city="合肥市", counties=["蜀山区"])
    code, out, err = _cli(
        capsys,
        *("project", "add", "--project", proj, p, "--kind", "enterprises", "--crs", "WGS84"),
        *("--name-col", "运营单位", "--col", "employees=人员", "--json"),
    )
    assert code == 0, err
    got = json.loads(out)
    assert got["column_map"]["name"] == "运营单位" and got["column_map"]["employees"] == "人员"
    kept = open_project(proj).layers["list"].gdf
    assert kept["name"].tolist() == ["甲公司", "乙公司"] and kept["employees"].tolist() == [12, 7]
    assert kept["名称"].tolist() == ["甲基地", "乙基地"]  # nothing lost
    code, _, err = _cli(
        capsys, "validate", p, "--kind", "enterprises", "--crs", "WGS84", "--col", "name=无此列"
    )
    assert code == 2 and "无此列" in err


def test_geocode_reading_takes_header_row_and_columns(tmp_path):
    p = tmp_path / "addr.csv"
    p.write_text("孵化器备案表\n序号,载体,注册地址,类型\n1,甲,合肥市蜀山区黄山路1号,孵化基地X\n")
    df = read_table_for_geocoding(
        p, ImportOptions(columns={"name": "载体"}, value_map={"类型": {"孵化基地X": "孵化器"}})
    )
    assert list(df.columns) == ["序号", "name", "注册地址", "类型", "subtype_raw"]
    assert df.iloc[0][["name", "类型", "subtype_raw"]].tolist() == ["甲", "孵化器", "孵化基地X"]


# ---------------------------------------------------------------- coordinate cells (laws)
_SEPS = [",", "，", " ", "、", ", ", "，  ", ";", " , "]


@FAST
@given(
    st.floats(73, 135, allow_nan=False),
    st.floats(3, 54, allow_nan=False),
    st.integers(0, 7),
    st.sampled_from(_SEPS),
    st.booleans(),
    st.booleans(),
)
def test_pair_cells_split_to_the_exact_numbers(x, y, places, sep, brackets, wide):
    xs, ys = f"{x:.{places}f}", f"{y:.{places}f}"
    cell = f"{xs}{sep}{ys}"
    if brackets:
        cell = f"({cell})"
    if wide:  # full-width digits and point
        cell = cell.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789."})
    a, b = split_cell(cell)
    got = parse_coordinate_series(pd.Series([a, b], dtype=object))
    assert got.tolist() == [float(xs), float(ys)]


@FAST
@given(st.text(max_size=30), st.booleans())
def test_every_coordinate_error_quotes_the_cell(cell, pair):
    if pair:
        df = pd.DataFrame({"name": ["甲", "乙"], "坐标": ["117.2,31.8", cell]})
        shown = cell.strip()
    else:
        df = pd.DataFrame({"name": ["甲", "乙"], "经度": ["117.2", cell], "纬度": ["31.8", ""]})
        shown = cell.strip()
    _, _, _, errs, _, _ = _points_from_table(
        df, "f.csv", None, ImportOptions(kind="enterprises", crs="WGS84")
    )
    for e in errs:
        assert e.row == 1 and e.value == escape_html(truncate(shown, max_chars=60))
        assert "nan" not in e.value or "nan" in cell.lower()


# ---------------------------------------------------------------- open categories (law)
_TYPES = [
    "孵化器",
    "众创空间",
    "国家级孵化器",
    "火箭",
    "Ｘ型载体",
    " 其它 ",
    "",
    "创客咖啡",
    "加速器",
]
#: any text but control characters (a NUL rejects its row by the reading rules, not the category)
_PRINTABLE = st.characters(blacklist_categories=("Cs", "Cc"))
_LEVELS = ["国家级", "省", "市级", "超级", "", "部级", "区级（2023）"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_TYPES) | st.text(_PRINTABLE, max_size=8), st.sampled_from(_LEVELS)
        ),
        min_size=1,
        max_size=12,
    )
)
def test_no_row_is_rejected_for_its_category(rows):
    df = pd.DataFrame(
        {
            "名称": [f"载体{i}" for i in range(len(rows))],
            "类型": [t for t, _ in rows],
            "级别": [lv for _, lv in rows],
            "经度": 117.2 + np.arange(len(rows)) * 1e-3,
            "纬度": 31.8,
        }
    )
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "inc.csv"
        df.to_csv(p, index=False)
        rep = import_file(p, ImportOptions(kind="incubators", crs="WGS84"))
    assert rep.rows_valid == rep.rows_total == len(rows), [str(e) for e in rep.errors]
    spec = REGISTRY["incubators"]
    v = rep.valid
    for fld in ("subtype", "level"):
        assert set(v[fld]) <= {*vocabulary(spec, fld), ""}
        other = (v[fld] == OTHER).to_numpy()
        raw = v[f"{fld}_raw"]
        assert (raw[other] != "").all() and (raw[~other] == "").all()
        assert sum(rep.other_values.get(fld, {}).values()) == int(other.sum())
        norm = [
            unicodedata.normalize("NFKC", s).strip()
            for s in df["类型" if fld == "subtype" else "级别"]
        ]
        assert raw[other].tolist() == [n for n, o in zip(norm, other, strict=True) if o]


def test_zone_types_are_open_and_official_ones_known(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    p = tmp_path / "zones.geojson"
    gpd.GeoDataFrame(
        {
            "name": ["合肥高新区", "合肥滨湖科学城", "合肥经济技术开发区", "某某创新片"],
            "类型": ["国家高新技术产业开发区", "科学城", "经济技术开发区", "创新片区"],
        },
        geometry=[box(117.1 + i / 10, 31.8, 117.15 + i / 10, 31.85) for i in range(4)],
        crs=4326,
    ).to_file(p)
    rep = import_file(p, ImportOptions(kind="zones"))
    assert rep.rows_valid == 4
    assert rep.valid["subtype"].tolist() == ["高新区", "科学城", "经开区", OTHER]
    assert rep.valid["zone_type_raw"].tolist() == ["", "", "", "创新片区"]


def test_platform_categories():
    from layers.importer import map_vocabulary

    sub, lvl = map_vocabulary(
        pd.Series(
            [
                "国家企业技术中心",
                "安徽省工程研究中心",
                "国家工程技术研究中心",
                "院士工作站",
                "省实验室",
            ]
        ),
        "platforms",
    )
    assert sub.tolist() == [
        "企业技术中心",
        "工程研究中心",
        "工程技术中心",
        "院士工作站",
        "省实验室",
    ]
    assert [None if pd.isna(v) else v for v in lvl] == ["国家级", None, "国家级", None, "省级"]


# ---------------------------------------------------------------- --map
def test_map_options_and_mapping_csv(tmp_path, capsys):
    p = tmp_path / "平台.csv"
    p.write_text(
        "名称,平台类别,级别,经度,纬度\n"
        "甲,市级研发中心,市级,117.2,31.8\n"
        "乙,企业技术中心,国家级,117.21,31.81\n"
        "丙,联合实验室,校级,117.22,31.82\n",
        encoding="utf-8",
    )
    proj = tmp_path / "hf.gpkg"
    create_project(proj, name="合肥", city="合肥市", counties=["蜀山区"])
    base = ("project", "add", "--project", proj, p, "--kind", "platforms", "--crs", "WGS84")
    code, out, err = _cli(capsys, *base, "--map", "subtype:市级研发中心=创新平台", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["other_values"] == {"subtype": {"联合实验室": 1}, "level": {"校级": 1}}
    kept = open_project(proj).layers["平台"].gdf
    assert kept["subtype"].tolist() == ["创新平台", "企业技术中心", OTHER]
    assert kept["subtype_raw"].tolist() == ["市级研发中心", "", "联合实验室"]
    assert kept["level"].tolist() == ["市级", "国家级", OTHER]
    m = tmp_path / "map.csv"
    m.write_text("字段,原值,映射为\n类型,联合实验室,重点实验室\n级别,校级,无\n", encoding="utf-8")
    code, out, err = _cli(
        capsys, "validate", p, "--kind", "platforms", "--crs", "WGS84", "--map-csv", m, "--json"
    )
    got = json.loads(out)
    assert code == 0 and got["other_values"] == {"subtype": {"市级研发中心": 1}}
    code, _, err = _cli(capsys, *base, "--map", "subtype:联合实验室=火箭")
    assert code == 2 and "火箭" in err and "重点实验室" in err  # the vocabulary is named
    code, _, err = _cli(capsys, *base, "--map", "subtype=火箭")
    assert code == 2 and "FIELD:RAW=VALUE" in err


# ---------------------------------------------------------------- kind guess
def test_incubator_lists_are_guessed_from_titles_and_values():
    assert (
        guess_kind(
            "名单.xlsx",
            ["序号", "名称", "运营主体", "在孵企业数"],
            ["2024年合肥市科技企业孵化器名单"],
        )
        == "incubators"
    )
    assert guess_kind("科技企业孵化器名单.csv", ["企业名称", "地址"]) == "incubators"
    assert (
        guess_kind("list.csv", ["名称", "类型"], ["众创空间", "孵化器", "众创空间"]) == "incubators"
    )
    assert guess_kind("高新技术企业名单.xlsx", ["企业名称", "统一社会信用代码"]) == "enterprises"


def test_xlsx_two_row_header_and_a_units_row(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["合肥市研发平台名单"])
    ws.merge_cells("A1:E1")
    ws.append(["序号", "平台名称", "坐标", None, "研发投入"])  # 坐标 merged over 经度/纬度
    ws.merge_cells("C2:D2")
    ws.merge_cells("A2:A3")  # 序号 and 平台名称 span both header rows
    ws.merge_cells("B2:B3")
    ws.append([None, None, "经度", "纬度", "(万元)"])
    ws.append([1, "甲中心", 117.2, 31.8, 12])
    p = tmp_path / "平台.xlsx"
    wb.save(p)
    rep = import_file(p, ImportOptions(kind="platforms", crs="WGS84"))
    assert rep.header_row == 3 and rep.rows_total == rep.rows_valid == 1
    assert rep.column_map == {
        "id": "序号",
        "name": "平台名称",
        "rd_spend_wan": "研发投入(万元)",  # the unit below joins its name
        "lon": "经度",
        "lat": "纬度",
    }
    assert rep.valid["rd_spend_wan"].tolist() == ["12"] and len(rep.notes) == 1
    units = [
        ["名称", "从业人员", "经度", "纬度"],
        ["", "(人)", "", ""],
        ["甲", "12", "117.2", "31.8"],
    ]
    assert detect_header(units) == (0, 2)
    assert header_names(units[:2], 2) == ["名称", "从业人员(人)", "经度", "纬度"]


def test_geocode_command_takes_the_table_options(tmp_path, capsys):
    p = tmp_path / "备案表.csv"
    p.write_text(
        "孵化器备案表\n序号,载体,注册地址,类型\n1,甲,合肥市蜀山区黄山路1号,孵化基地X\n注：示例\n",
        encoding="utf-8",
    )
    proj = tmp_path / "hf.gpkg"
    create_project(proj, name="合肥", city="合肥市", counties=["蜀山区"])
    out = tmp_path / "out.csv"
    code, _, err = _cli(
        capsys,
        *("geocode", p, "--address-col", "注册地址", "--project", proj, "--out", out),
        *("--header-row", "2", "--name-col", "载体", "--map", "类型:孵化基地X=孵化器"),
    )
    assert code == 1, err  # offline: placed in the county (coarse)
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert got[["name", "类型", "subtype_raw", "geocode_status"]].values.tolist() == [
        ["甲", "孵化器", "孵化基地X", "coarse"]
    ]


_NOTES = st.sampled_from(["注：", "备注:", "说明 ", "数据来源：", "资料来源:", "填报说明：", "※"])


@FAST
@given(
    st.lists(st.text(CJK, min_size=1, max_size=5), min_size=1, max_size=6),
    st.lists(st.tuples(_NOTES, st.text(CJK, max_size=8)), max_size=3),
)
def test_footnotes_below_the_data_are_notes_and_nothing_else(names, notes):
    rows = [[f"{n}{i}", f"{117.2 + i / 100:.2f}", "31.80"] for i, n in enumerate(names)]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.csv"
        text = "名称,经度,纬度\n" + "".join(",".join(r) + "\n" for r in rows)
        text += "".join(f'"{a}{b}",,\n' for a, b in notes)
        p.write_text(text, encoding="utf-8")
        tab = read_csv_table(p, name="f.csv")
    assert tab.frame.values.tolist() == rows  # every record kept, no footnote among them
    assert [(line, t) for line, t in tab.footnotes] == [
        (len(rows) + 2 + k, unicodedata.normalize("NFKC", a + b).strip())
        for k, (a, b) in enumerate(notes)
    ]
