"""Result tables and charts on the pages: Chinese (or English) headers with units,
formatted numbers, and CSV/XLSX downloads with the field names kept.

Headers come from the one label table (:data:`ui.i18n.RESULT_FIELDS`, then the
layer fields and kinds); the values and formats from :func:`render.tables.table_view`.
"""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from export.labelled import labelled_csv, labelled_xlsx
from render.tables import ColumnView, chart_frame, table_view
from ui.common import T
from ui.i18n import column_header, field_unit, lang

__all__ = ["bar_chart", "column_config", "line_chart", "show_table"]


def _column(c: ColumnView):
    if c.printf:
        return st.column_config.NumberColumn(c.header, format=c.printf)
    return st.column_config.Column(c.header)


def column_config(cols: list[ColumnView]) -> dict:
    """Streamlit column settings: each column's header and number format."""
    return {c.field: _column(c) for c in cols}


#: Streamlit's data grid: row (and header) height, border, and the tallest "auto" grid, at
#: the default base font size (rows are sized in rem: a changed ``theme.baseFontSize``
#: needs these changed too).
_ROW_PX, _BORDER_PX, _AUTO_MAX_PX = 35, 2, 400


def _auto_height(rows: int) -> int:
    """The height Streamlit gives a grid of ``rows`` rows by itself ("auto"), in pixels
    (an empty grid keeps one blank row). Passed explicitly, it holds the grid's place while
    the grid's script loads: a 40 px placeholder otherwise, and everything below the grid
    moves under the pointer when it appears."""
    return min((max(rows, 1) + 1) * _ROW_PX + _BORDER_PX, _AUTO_MAX_PX)


def show_table(
    df: pd.DataFrame,
    *,
    key: str,
    name: str = "",
    downloads: bool = True,
    height: int | str = "auto",
) -> None:
    """A result table with labelled headers; CSV and XLSX downloads below it.

    ``name`` names the files and the XLSX sheet (e.g. ``按片区``); ``key`` makes the
    download buttons unique on the page.
    """
    L = lang()
    header = partial(column_header, lang=L)
    view, cols = table_view(df, header, field_unit)
    if height == "auto":  # as Streamlit sizes it, but known before the grid has loaded
        height = _auto_height(len(view))
    st.dataframe(
        view, hide_index=True, width="stretch", height=height, column_config=column_config(cols)
    )
    if not downloads or df.empty:
        return
    stem = f"innomap_{key}"
    sheet = name or key
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button(
        "CSV",
        lambda: labelled_csv(df, header=header, unit=field_unit),
        file_name=f"{stem}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        on_click="ignore",
        help=T("第一行为表头, 第二行为字段名", "Headers, then field names in the second row"),
    )
    c2.download_button(
        "XLSX",
        lambda: labelled_xlsx({sheet: df}, header=header, unit=field_unit),
        file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}_xlsx",
        on_click="ignore",
        help=T("含“字段说明”工作表 (表头 → 字段名)", "With a sheet mapping headers to field names"),
    )


def bar_chart(
    df: pd.DataFrame,
    *,
    index: str,
    value: str,
    series: str | None = None,
    series_label=str,
    horizontal: bool = False,
) -> None:
    """Bars of ``value`` by ``index`` (one colour per ``series``), axes labelled with units."""
    pct = field_unit(value) in ("pct", "pp")
    data = chart_frame(
        df, index=index, value=value, series=series, series_label=series_label, percent=pct
    )
    if data.empty:
        return
    if series is not None and not horizontal:
        _series_chart(data, "bar", x_title=column_header(index), y_title=column_header(value))
        return
    st.bar_chart(
        data,
        x_label=column_header(index) if not horizontal else column_header(value),
        y_label=column_header(value) if not horizontal else column_header(index),
        horizontal=horizontal,
        stack=False,
        sort=False,
    )


def line_chart(
    df: pd.DataFrame, *, index: str, value: str, series: str | None = None, series_label=str
) -> None:
    """A line of ``value`` over ``index`` (one line per ``series``)."""
    pct = field_unit(value) in ("pct", "pp")
    data = chart_frame(
        df, index=index, value=value, series=series, series_label=series_label, percent=pct
    )
    if data.empty:
        return
    if series is not None:
        _series_chart(data, "line", x_title=column_header(index), y_title=column_header(value))
        return
    st.line_chart(data, x_label=column_header(index), y_label=column_header(value))


def _series_chart(data: pd.DataFrame, mark: str, *, x_title: str, y_title: str) -> None:
    """Bars (grouped) or lines of a wide frame with the rows and the series in the frame's
    own order (cut-offs 5/10/15 min, districts as listed), not sorted as text."""
    import altair as alt

    rows = [str(i) for i in data.index]
    names = [str(c) for c in data.columns]
    long = pd.DataFrame(
        [(r, n, v) for r, (_, row) in zip(rows, data.iterrows(), strict=True)
         for n, v in zip(names, row.tolist(), strict=True)],
        columns=["x", "series", "value"],
    )  # fmt: skip
    x = alt.X("x:N", sort=rows, title=x_title)
    if mark == "line" and pd.api.types.is_numeric_dtype(data.index):
        long["x"] = [float(i) for i in data.index for _ in names]
        x = alt.X("x:Q", title=x_title)
    enc = {
        "x": x,
        "y": alt.Y("value:Q", title=y_title),
        "color": alt.Color("series:N", sort=names, scale=alt.Scale(domain=names), title=None),
    }
    if mark == "bar":
        chart = (
            alt.Chart(long).mark_bar().encode(xOffset=alt.XOffset("series:N", sort=names), **enc)
        )
    else:
        chart = alt.Chart(long).mark_line(point=True).encode(**enc)
    st.altair_chart(chart, width="stretch")
