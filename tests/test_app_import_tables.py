"""AppTest of the import page with a planner's titled table (issue 23): the detected header
row and the planner's choice of another, the guessed column mapping and a changed column,
footnotes shown as notes, a value outside the vocabulary mapped before adding."""

from __future__ import annotations

import pytest

from layers.project import create_project, open_project
from tests.conftest import app_on_page

TABLE = (
    "合肥市科技企业孵化器名单\n"
    "名称,运营单位,类型,经度,纬度\n"
    "甲孵化器,甲公司,国家级孵化器,117.20,31.80\n"
    "乙空间,乙公司,创客咖啡,117.21,31.81\n"
    "注：数据来源于合肥市科技局\n"
)


@pytest.fixture()
def app(tmp_path, monkeypatch):
    proj = tmp_path / "hf.gpkg"
    create_project(proj, name="合肥测试", city="合肥市", counties=["蜀山区"])
    return app_on_page(monkeypatch, proj, tmp_path / "home", "import_page"), proj


def _report(at):
    return at.session_state["imp_report"][1]


def test_header_row_column_mapping_and_value_mapping(app, tmp_path):
    at, proj = app
    p = tmp_path / "名单.csv"
    p.write_text(TABLE, encoding="utf-8")
    at.session_state["imp_path"] = str(p)
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="imp_kind").value == "incubators"  # the title says 孵化器
    at.selectbox(key="imp_crs").set_value("WGS84").run()
    header = at.selectbox(key="imp_header_row")
    assert header.value == 2 and header.options[:2] == [
        "第 1 行: 合肥市科技企业孵化器名单",
        "第 2 行(自动识别): 名称 | 运营单位 | 类型 | 经度 | 纬度",
    ]
    assert [m.value for m in at.metric][:3] == ["2", "2", "0"]
    assert any("第 5 行为表注" in i.value for i in at.info)  # the footnote is a note
    colmap = next(t.value for t in at.table if "文件中的列" in t.value.columns)
    assert colmap["文件中的列"].to_dict() == {
        "经度": "经度",
        "纬度": "纬度",
        "名称": "名称",
        "子类/类型": "类型",
    }
    # the planner picks the title row: nothing to read there, the page says so
    at.selectbox(key="imp_header_row").set_value(1).run()
    assert not at.exception, at.exception
    assert any("no coordinate columns" in e.value for e in at.error)
    at.selectbox(key="imp_header_row").set_value(2).run()
    assert _report(at).rows_valid == 2
    # the name read from another column
    at.selectbox(key="imp_col_name_2").set_value("运营单位").run()
    assert not at.exception, at.exception
    rep = _report(at)
    assert rep.valid["name"].tolist() == ["甲公司", "乙公司"]
    assert rep.column_map["name"] == "运营单位"
    # 创客咖啡 is kept as 其他; mapped to 众创空间 before adding
    assert rep.other_values == {"subtype": {"创客咖啡": 1}}
    at.selectbox(key="imp_map_subtype_0").set_value("众创空间").run()
    at.button(key="imp_add").click().run()
    assert not at.exception, at.exception
    kept = open_project(proj).layers["名单"]
    assert kept.gdf["name"].tolist() == ["甲公司", "乙公司"]
    assert kept.gdf["subtype"].tolist() == ["孵化器", "众创空间"]
    assert kept.gdf["subtype_raw"].tolist() == ["", "创客咖啡"]
    assert "第 1 行" in kept.note and "第 5 行为表注" in kept.note


def test_workbook_sheets_are_all_by_default(app, tmp_path):
    from openpyxl import Workbook

    at, _ = app
    wb = Workbook()
    a = wb.active
    a.title = "蜀山区"
    a.append(["名称", "经度", "纬度"])
    a.append(["甲", 117.20, 31.80])
    b = wb.create_sheet("包河区")
    b.append(["名称", "经度", "纬度"])
    b.append(["乙", 117.21, 31.81])
    p = tmp_path / "两区企业.xlsx"
    wb.save(p)
    at.session_state["imp_path"] = str(p)
    at.run()
    at.selectbox(key="imp_crs").set_value("WGS84").run()
    sheet = at.selectbox(key="imp_layer")
    assert sheet.options == ["全部工作表(表头相同时合并)", "蜀山区", "包河区"]
    assert _report(at).valid["sheet"].tolist() == ["蜀山区", "包河区"]
    at.selectbox(key="imp_layer").set_value("包河区").run()
    assert _report(at).valid["name"].tolist() == ["乙"]
