"""Readers for layer files in the canonical schema.

``read_points_csv`` reads a UTF-8 CSV whose columns are the canonical fields plus
``lon``/``lat`` in WGS84 (the format ``data/*.csv`` uses). Rows that fail
validation are returned separately with a ``reason``; nothing is dropped
silently, and the caller's other data is never touched. Types and levels outside
the vocabulary follow the importer's open-category rule (kept as 其他, the original
in ``subtype_raw``/``zone_type_raw``/``level_raw``, warned).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.importer import ImportOptions, _categories
from layers.registry import OTHER, get_spec, normalise_columns, raw_field
from layers.safe import escape_html, truncate
from layers.tabular import ImportFileError, read_csv_table
from layers.validation import LayerValidationError, ValidationIssue, validate_layer

__all__ = ["ReadResult", "read_points_csv"]


@dataclass
class ReadResult:
    """Outcome of reading a file: valid rows, rejected rows and all issues."""

    layer_key: str
    file: str
    valid: gpd.GeoDataFrame
    rejected: pd.DataFrame
    issues: list[ValidationIssue] = field(default_factory=list)

    @property
    def rows_total(self) -> int:
        """Rows in the file (valid + rejected)."""
        return len(self.valid) + len(self.rejected)


def _shown(value: str) -> str:
    """A value as issues quote it (as the importer does: truncated, HTML-escaped)."""
    return escape_html(truncate(value, max_chars=60))


def read_points_csv(path: str | Path, *, layer_key: str) -> ReadResult:
    """Read a canonical point CSV into ``layer_key``'s schema.

    Parameters
    ----------
    path : str or pathlib.Path
        A UTF-8 (optionally with BOM) CSV with ``lon``/``lat`` columns in WGS84;
        read with the bounded reader of :mod:`layers.tabular` (row numbers are the
        file's lines; a NUL in a value or data past the header rejects the row).
    layer_key : str
        Registry key of the layer the records belong to.

    Returns
    -------
    ReadResult

    Raises
    ------
    LayerValidationError
        When the file cannot be read at all (missing, not UTF-8, no lon/lat,
        header only, an over-long line, NUL bytes).
    """
    p = Path(path)
    spec = get_spec(layer_key)
    name = p.name
    if not p.is_file():
        raise LayerValidationError(f"{name}: 文件不存在 / file not found")
    try:
        tab = read_csv_table(p, name=name, encoding="utf-8")
    except ImportFileError as exc:
        raise LayerValidationError(str(exc)) from None
    df = tab.frame
    missing = [c for c in ("lon", "lat") if c not in df.columns]
    if missing:
        raise LayerValidationError(
            f"{name}: 缺少坐标列 {', '.join(missing)} / missing coordinate columns: "
            "add lon and lat (WGS84 degrees)"
        )
    lon = pd.to_numeric(df["lon"], errors="coerce")
    lat = pd.to_numeric(df["lat"], errors="coerce")
    gdf = gpd.GeoDataFrame(
        df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326"
    )
    gdf = normalise_columns(gdf, spec)
    gdf, _, category_warnings = _categories(gdf, spec, ImportOptions(kind=spec.key), name, None)
    issues = validate_layer(gdf, spec, file=name, first_row=0)
    if any(i.row is None for i in issues):
        raise LayerValidationError("\n".join(str(i) for i in issues if i.row is None), issues)
    for w in category_warnings:  # values kept as 其他: warned on their rows, none rejected
        raw = gdf[raw_field(spec.key, w.field)].astype(str)
        issues += [
            dataclasses.replace(w, file=name, row=int(k), value=_shown(raw.iloc[k]))
            for k in np.flatnonzero(((gdf[w.field] == OTHER) & (raw != "")).to_numpy())
        ]
    issues += [
        ValidationIssue(name, pr.index, pr.field, pr.value, pr.message, pr.severity)
        for pr in tab.problems
    ]
    issues = [
        dataclasses.replace(i, row=int(tab.lines[i.row])) if i.row is not None else i
        for i in issues
    ]
    issues.sort(key=lambda i: i.row or 0)
    line_of = {int(n): k for k, n in enumerate(tab.lines)}
    bad_rows = sorted({line_of[i.row] for i in issues if i.severity == "error"})
    rejected = pd.DataFrame(df.iloc[bad_rows]).copy()
    rejected.insert(0, "row", [int(tab.lines[r]) for r in bad_rows])
    rejected["reason"] = [
        "; ".join(f"{i.field}: {i.message}" for i in issues if i.row == tab.lines[r])
        for r in bad_rows
    ]
    valid = gdf.drop(index=gdf.index[bad_rows]).reset_index(drop=True)
    return ReadResult(layer_key, name, valid, rejected.reset_index(drop=True), issues)
