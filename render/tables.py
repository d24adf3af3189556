"""Result tables for people: headers with units, shares as per cent, number formats.

No Streamlit here: the pages (``ui.tables``) and the labelled CSV/XLSX writers
(``export.labelled``) share one view of a table. Headers and units come from the
caller (``ui.i18n.column_header`` / ``ui.i18n.field_unit``), so this module holds
no labels of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PERCENT_UNITS", "ColumnView", "chart_frame", "layer_overview", "table_view"]

#: Units whose values are shares (0–1) shown ×100.
PERCENT_UNITS = ("pct", "pp")

#: Decimals of fields whose precision is not set by their unit.
DECIMALS: dict[str, int] = {
    "lon": 6,
    "lat": 6,
    "centroid_lon": 6,
    "centroid_lat": 6,
    "p": 3,
    "z": 2,
    "R": 3,
    "clq": 3,
    "p_colocated": 3,
    "expected": 3,
    "gi_z": 2,
    "gi_p": 3,
    "gi_p_fdr": 3,
}

#: Decimals by unit (floats).
UNIT_DECIMALS: dict[str, int] = {
    "pct": 1,
    "pp": 1,
    "km2": 2,
    "m": 0,
    "min": 1,
    "kmh": 1,
    "per_km": 1,
    "per_km2": 1,
    "s": 1,
}


@dataclass(frozen=True)
class ColumnView:
    """How one column is shown and written.

    Attributes
    ----------
    field : str
        The column's field name (kept in exports as a second header row).
    header : str
        Display header, unit included (e.g. ``覆盖率 (%)``).
    unit : str
        Unit key (``""`` when none).
    decimals : int or None
        Decimals of a numeric column (None: not numeric).
    signed : bool
        Show a sign (changes in percentage points).
    """

    field: str
    header: str
    unit: str = ""
    decimals: int | None = None
    signed: bool = False

    @property
    def printf(self) -> str | None:
        """A printf format with thousands separators (Streamlit's NumberColumn)."""
        if self.decimals is None:
            return None
        sign = "+" if self.signed else ""
        if self.unit in PERCENT_UNITS:
            return f"%{sign}.{self.decimals}f"
        return f"%{sign},.{self.decimals}f" if self.decimals else f"%{sign},d"

    @property
    def excel(self) -> str | None:
        """The same format as an Excel number format."""
        if self.decimals is None:
            return None
        body = "#,##0" + ("." + "0" * self.decimals if self.decimals else "")
        if self.unit in PERCENT_UNITS:
            body = "0" + ("." + "0" * self.decimals if self.decimals else "")
        return f"+{body};-{body};0" if self.signed else body


def _decimals(field: str, unit: str, s: pd.Series) -> int | None:
    if s.dtype == bool or not pd.api.types.is_numeric_dtype(s):
        return None
    if field in DECIMALS:
        return DECIMALS[field]
    if unit in UNIT_DECIMALS:
        return UNIT_DECIMALS[unit]
    if pd.api.types.is_integer_dtype(s):
        return 0
    vals = s.to_numpy(dtype=float, na_value=np.nan)
    vals = vals[np.isfinite(vals)]
    return 0 if len(vals) == 0 or np.all(vals == np.round(vals)) else 2


def table_view(
    df: pd.DataFrame,
    header: Callable[[str], str],
    unit: Callable[[str], str],
) -> tuple[pd.DataFrame, list[ColumnView]]:
    """The table as shown: shares ×100, geometry dropped, and one :class:`ColumnView` a column.

    Parameters
    ----------
    df : pandas.DataFrame
        A result table with field names as columns.
    header, unit : callable
        ``header(field)`` gives the display header (unit included) and
        ``unit(field)`` the unit key (``pct``/``pp`` values are shares 0–1).

    Returns
    -------
    (pandas.DataFrame, list of ColumnView)
        The values to show (columns still the field names) and how to show them.
    """
    out = pd.DataFrame(df.drop(columns=["geometry"], errors="ignore")).reset_index(drop=True)
    out.columns = [str(c) for c in out.columns]
    views = []
    for c in out.columns:
        u = unit(c)
        if u in PERCENT_UNITS and pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype(float) * 100.0
        views.append(ColumnView(c, header(c), u, _decimals(c, u, out[c]), signed=u == "pp"))
    return out, views


def chart_frame(
    df: pd.DataFrame,
    *,
    index: str,
    value: str,
    series: str | None = None,
    series_label: Callable[[object], str] = str,
    percent: bool = False,
) -> pd.DataFrame:
    """Wide data for a bar or line chart: one row per ``index``, one column per ``series``.

    ``percent`` turns shares (0–1) into per cent. Rows keep their first-seen order.
    """
    if df.empty or index not in df or value not in df:
        return pd.DataFrame()
    d = df[[index, value, *([series] if series else [])]].copy()
    if percent:
        d[value] = d[value].astype(float) * 100.0
    order = list(pd.unique(d[index]))
    if series is None:
        return d.set_index(index)[[value]].reindex(order)
    wide = d.pivot_table(index=index, columns=series, values=value, aggfunc="first")
    wide.columns = [series_label(c) for c in wide.columns]
    return wide.reindex(order)


def layer_overview(frames: dict[str, pd.DataFrame], labels: dict[str, str]) -> pd.DataFrame:
    """One row a layer: its label, records and synthetic records."""
    rows = []
    for name, g in frames.items():
        synth = int(g["synthetic"].astype(bool).sum()) if "synthetic" in g else 0
        rows.append({"layer": labels.get(name, name), "rows": len(g), "synthetic_rows": synth})
    return pd.DataFrame(rows, columns=["layer", "rows", "synthetic_rows"])
