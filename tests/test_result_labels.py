"""Result-table labels: one table of headers with units, the shown values, labelled CSV/XLSX."""

from __future__ import annotations

import io
from functools import partial

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from export.labelled import FIELDS_SHEET, labelled_csv, labelled_xlsx
from render.tables import chart_frame, layer_overview, table_view
from ui.i18n import RESULT_FIELDS, UNITS, column_header, field_unit

ZH = partial(column_header, lang="zh")
EN = partial(column_header, lang="en")


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "zone": ["甲片区", "=HYPERLINK()"],
            "minutes": [5.0, 15.0],
            "covered": [1234, 7],
            "share": [0.25, 0.5],
            "change": [0.012, -0.02],
            "lon": [121.5, 121.6],
        }
    )


def test_headers_name_the_unit_in_both_languages():
    assert ZH("share") == "覆盖率 (%)" and EN("share") == "Share covered (%)"
    assert ZH("minutes") == "时间阈值 (分钟)" and EN("minutes") == "Cut-off (min)"
    assert ZH("observed_mean_nn_m") == "实测平均最近邻距离 (米)"
    assert ZH("change") == "覆盖率变化 (百分点)"
    # layer fields and kinds come from the layer schema and the registry, not a second table
    assert ZH("district") == "所在区县" and ZH("enterprises") == "科技企业"
    assert ZH("not_a_field") == "not_a_field"


def test_every_unit_is_known_and_every_result_field_has_chinese():
    for field, (zh, en, unit) in RESULT_FIELDS.items():
        assert unit == "" or unit in UNITS, field
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), field
        assert en and not any("\u4e00" <= ch <= "\u9fff" for ch in en), field


def test_table_view_shows_shares_as_per_cent_with_formats():
    view, cols = table_view(_table(), ZH, field_unit)
    by = {c.field: c for c in cols}
    assert view["share"].tolist() == [25.0, 50.0]
    assert view["change"].round(1).tolist() == [1.2, -2.0]
    assert by["covered"].printf == "%,d" and by["covered"].excel == "#,##0"
    assert by["share"].printf == "%.1f" and by["change"].printf == "%+.1f"
    assert by["lon"].printf == "%,.6f"
    assert by["zone"].printf is None and by["zone"].header == "所在片区"
    assert list(view.columns) == list(_table().columns)  # field names kept for the data


def test_labelled_csv_has_headers_then_field_names():
    data = labelled_csv(_table(), header=ZH, unit=field_unit)
    assert data.startswith("\ufeff".encode())
    back = pd.read_csv(io.BytesIO(data), header=[0, 1], encoding="utf-8-sig")
    assert back.columns[3] == ("覆盖率 (%)", "share")
    assert back.iloc[:, 3].tolist() == [25.0, 50.0]
    assert back.iloc[1, 0].startswith("'")  # a formula is neutralised


def test_labelled_xlsx_has_a_field_sheet_and_number_formats():
    data = labelled_xlsx({"按片区": _table()}, header=EN, unit=field_unit)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["按片区", FIELDS_SHEET]
    ws = wb["按片区"]
    assert [c.value for c in ws[1]][:4] == [
        "Zone",
        "Cut-off (min)",
        "Points covered",
        "Share covered (%)",
    ]
    assert ws["C2"].value == 1234 and ws["C2"].number_format == "#,##0"
    assert ws["D3"].value == 50.0
    assert ws["A3"].data_type == "s" and not str(ws["A3"].value).startswith("=")
    fields = [[c.value for c in r] for r in wb[FIELDS_SHEET].iter_rows(min_row=2)]
    assert ["按片区", "Share covered (%)", "share", "pct"] == fields[3][:4]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=0, max_size=12),
            st.integers(-(10**9), 10**9),
            st.floats(0, 1, allow_nan=False),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_labelled_csv_round_trip(rows):
    df = pd.DataFrame(rows, columns=["name", "covered", "share"])
    back = pd.read_csv(
        io.BytesIO(labelled_csv(df, header=ZH, unit=field_unit)),
        header=[0, 1],
        encoding="utf-8-sig",
        keep_default_na=False,
        dtype={("名称", "name"): str},
    )
    assert [c[1] for c in back.columns] == ["name", "covered", "share"]
    assert back[("已覆盖点数", "covered")].tolist() == df["covered"].tolist()
    assert back[("覆盖率 (%)", "share")].tolist() == pytest.approx((df["share"] * 100).tolist(), abs=1e-3)


def test_chart_frame_keeps_order_and_makes_per_cent():
    df = pd.DataFrame(
        {"zone": ["乙", "乙", "甲", "甲"], "minutes": [5, 10, 5, 10], "share": [0.1, 0.2, 0.3, 0.4]}
    )
    wide = chart_frame(
        df,
        index="zone",
        value="share",
        series="minutes",
        series_label=lambda m: f"{m} 分钟",
        percent=True,
    )
    assert list(wide.index) == ["乙", "甲"] and list(wide.columns) == ["5 分钟", "10 分钟"]
    assert wide.loc["甲", "10 分钟"] == pytest.approx(40.0)


def test_layer_overview_counts_synthetic_rows():
    frames = {"a": pd.DataFrame({"synthetic": [True, False, True]}), "b": pd.DataFrame({"x": [1]})}
    t = layer_overview(frames, {"a": "企业"})
    assert t.to_dict("records") == [
        {"layer": "企业", "rows": 3, "synthetic_rows": 2},
        {"layer": "b", "rows": 1, "synthetic_rows": 0},
    ]
