"""Result tables for spreadsheets: display headers with units, field names kept.

* CSV: two header rows, the display header (``覆盖率 (%)``) then the field name
  (``share``), UTF-8 with BOM, written by :func:`layers.safe.safe_csv` (formulas
  neutralised, CR/LF quoted).
* XLSX: one sheet a table with display headers and number formats (thousands
  separators, per cent ×100), and a ``字段说明 fields`` sheet mapping each header
  to its field name, unit and table.

The views come from :func:`render.tables.table_view`, so pages and files agree.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd

from layers.safe import neutralize_cell, safe_csv, sheet_name, xlsx_text
from render.tables import PERCENT_UNITS, ColumnView, table_view

__all__ = ["FIELDS_SHEET", "labelled_csv", "labelled_xlsx"]

#: Name of the XLSX sheet mapping headers to field names.
FIELDS_SHEET = "字段说明 fields"


def _cell(v):
    """A value openpyxl stores as it is: text never a formula, control characters shown."""
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA or v is pd.NaT:
        return None
    if hasattr(v, "item") and not isinstance(v, str):  # numpy scalars
        v = v.item()
    if isinstance(v, str):
        v = neutralize_cell(v)
        return xlsx_text(v)
    if isinstance(v, (int, float, bool)):
        return v
    return str(v)


def labelled_csv(
    df: pd.DataFrame, *, header: Callable[[str], str], unit: Callable[[str], str]
) -> bytes:
    """CSV bytes of one result table: display headers, then field names, then the rows."""
    view, cols = table_view(df, header, unit)
    out = view.astype(object)
    for c in cols:
        if c.decimals is not None and c.unit in PERCENT_UNITS:
            out[c.field] = view[c.field].round(c.decimals + 2).astype(object)
    fields = pd.DataFrame([[c.field for c in cols]], columns=out.columns)
    out = pd.concat([fields, out], ignore_index=True)
    out.columns = [c.header for c in cols]
    return safe_csv(out)


def _note(c: ColumnView) -> str:
    if c.unit == "pct":
        return "比例 ×100 (%) / share ×100"
    if c.unit == "pp":
        return "比例之差 ×100 (百分点) / difference of shares ×100"
    return ""


def labelled_xlsx(
    tables: dict[str, pd.DataFrame],
    *,
    header: Callable[[str], str],
    unit: Callable[[str], str],
    sheet_label: Callable[[str], str] = str,
) -> bytes:
    """XLSX bytes: a sheet a table (display headers, formatted numbers) and a fields sheet."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    mapping: list[tuple[str, str, str, str, str]] = []
    for name, df in tables.items():
        view, cols = table_view(df, header, unit)
        title = sheet_name(sheet_label(name), used)
        _table_sheet(wb.create_sheet(title), view, cols)
        mapping += [(title, c.header, c.field, c.unit, _note(c)) for c in cols]
    ws = wb.create_sheet(sheet_name(FIELDS_SHEET, used))
    ws.append(["表 sheet", "表头 header", "字段 field", "单位 unit", "说明 note"])
    for row in mapping:
        ws.append([_cell(v) for v in row])
        for cell in ws[ws.max_row]:
            cell.data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _table_sheet(ws, view: pd.DataFrame, cols) -> None:
    """One table on its sheet: display headers, number formats, widths, text as text."""
    ws.append([_cell(c.header) for c in cols])
    for row in view.itertuples(index=False):
        ws.append([_cell(v) for v in row])
    for j, c in enumerate(cols, start=1):
        ws.cell(row=1, column=j).data_type = "s"
        if c.excel:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = c.excel
        ws.column_dimensions[cell_letter(j)].width = max(10, min(40, len(c.header) * 2))
    for r in ws.iter_rows(min_row=2):
        for cell in r:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula


def cell_letter(j: int) -> str:
    """Excel column letter of column ``j`` (1-based)."""
    from openpyxl.utils import get_column_letter

    return get_column_letter(j)
