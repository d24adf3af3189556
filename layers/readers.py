"""Readers for layer files in the canonical schema.

``read_points_csv`` reads a UTF-8 CSV whose columns are the canonical fields plus
``lon``/``lat`` in WGS84 (the format ``data/*.csv`` uses). Rows that fail
validation are returned separately with a ``reason``; nothing is dropped
silently, and the caller's other data is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from layers.registry import get_spec, normalise_columns
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


def read_points_csv(path: str | Path, *, layer_key: str) -> ReadResult:
    """Read a canonical point CSV into ``layer_key``'s schema.

    Parameters
    ----------
    path : str or pathlib.Path
        A UTF-8 (optionally with BOM) CSV with ``lon``/``lat`` columns in WGS84.
    layer_key : str
        Registry key of the layer the records belong to.

    Returns
    -------
    ReadResult

    Raises
    ------
    LayerValidationError
        When the file cannot be read at all (missing, not UTF-8, no lon/lat).
    """
    p = Path(path)
    spec = get_spec(layer_key)
    name = p.name
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise LayerValidationError(f"{name}: 文件不存在 / file not found") from None
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LayerValidationError(
            f"{name}: 无法读取为 UTF-8 CSV / cannot read as a UTF-8 CSV ({type(exc).__name__}); "
            "save it as CSV UTF-8"
        ) from None
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
    issues = validate_layer(gdf, spec, file=name, first_row=2)
    bad_rows = sorted({i.row - 2 for i in issues if i.row is not None and i.severity == "error"})
    if any(i.row is None for i in issues):
        raise LayerValidationError("\n".join(str(i) for i in issues if i.row is None), issues)
    rejected = pd.DataFrame(df.iloc[bad_rows]).copy()
    rejected.insert(0, "row", [r + 2 for r in bad_rows])
    rejected["reason"] = [
        "; ".join(f"{i.field}: {i.message}" for i in issues if i.row == r + 2) for r in bad_rows
    ]
    valid = gdf.drop(index=gdf.index[bad_rows]).reset_index(drop=True)
    return ReadResult(layer_key, name, valid, rejected.reset_index(drop=True), issues)
