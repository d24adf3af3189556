"""Record validation against a layer spec.

Every problem names the file, the row as the user sees it (spreadsheet row,
header = row 1), the field, the (escaped, truncated) value and the fix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.safe import escape_html, truncate
from layers.schema import LayerSpec

__all__ = [
    "CHINA_BOUNDS",
    "LayerValidationError",
    "ValidationIssue",
    "format_issues",
    "validate_layer",
]

#: Generous lon/lat box of China (the GCJ-02 domain).
CHINA_BOUNDS = (72.004, 0.8293, 137.8347, 55.8271)


@dataclass(frozen=True)
class ValidationIssue:
    """One problem with one field of one row."""

    file: str
    row: int | None
    field: str
    value: str
    message: str
    severity: str = "error"

    def to_dict(self) -> dict:
        """Plain dict (for JSON and tables)."""
        return asdict(self)

    def __str__(self) -> str:
        where = f"{self.file}" + (f" 第{self.row}行/row {self.row}" if self.row else "")
        return f"{where} [{self.field}] {self.value!s}: {self.message}"


class LayerValidationError(ValueError):
    """Raised when a layer cannot be used; carries the list of issues."""

    def __init__(self, message: str, issues: list[ValidationIssue] | None = None):
        super().__init__(message)
        self.issues = issues or []


def _val(value) -> str:
    return escape_html(truncate(value, max_chars=60))


def validate_layer(
    gdf: gpd.GeoDataFrame,
    spec: LayerSpec,
    *,
    file: str = "",
    first_row: int = 2,
    bounds: tuple[float, float, float, float] = CHINA_BOUNDS,
) -> list[ValidationIssue]:
    """Check every record of ``gdf`` against ``spec``.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Records in WGS84 with canonical columns.
    spec : LayerSpec
        The layer they belong to.
    file : str
        File name to report.
    first_row : int
        Row number the user sees for ``gdf``'s first record (2 for a CSV with a
        header line).
    bounds : tuple of float
        Allowed lon/lat box; points outside are errors.

    Returns
    -------
    list of ValidationIssue
        Empty when every record is valid.
    """
    issues: list[ValidationIssue] = []

    def add(i, field, value, msg, severity="error"):
        issues.append(
            ValidationIssue(
                file, None if i is None else first_row + i, field, _val(value), msg, severity
            )
        )

    for col in ("id", "name", "source", "coord_source", "coord_precision_m", "synthetic"):
        if col not in gdf.columns:
            add(None, col, "", f"缺少字段 / missing column {col!r}: add it to the file")
    if any(i.row is None for i in issues):
        return issues

    ids = gdf["id"].astype(str)
    dup = ids.duplicated(keep="first")
    for i, (v, d) in enumerate(zip(ids, dup, strict=True)):
        if v.strip() == "":
            add(i, "id", v, "编号为空 / empty id: give every record a unique id")
        elif d:
            add(i, "id", v, "编号重复 / duplicate id: ids must be unique within the layer")
    for i, v in enumerate(gdf["name"].astype(str)):
        if v.strip() == "":
            add(i, "name", v, "名称为空 / empty name: fill in the record's name")
    for i, v in enumerate(gdf["source"].astype(str)):
        if v.strip() == "":
            add(i, "source", v, "缺少数据来源 / missing source: name where the record comes from")
    prec = pd.to_numeric(gdf["coord_precision_m"], errors="coerce")
    for i, (v, p) in enumerate(zip(gdf["coord_precision_m"], prec, strict=True)):
        if not np.isfinite(p) or p <= 0:
            add(
                i,
                "coord_precision_m",
                v,
                "坐标精度应为正数(米) / precision must be a positive number of metres",
            )
    for col, allowed in (("subtype", spec.subtypes), ("level", spec.levels)):
        if col in gdf.columns:
            for i, v in enumerate(gdf[col].astype(str)):
                if v and v not in allowed:
                    add(i, col, v, f"取值不在词表中 / not one of: {', '.join(allowed)}")
    if "kind" in gdf.columns:
        for i, v in enumerate(gdf["kind"].astype(str)):
            if v and v != spec.kind:
                add(i, "kind", v, f"类别应为 / kind must be {spec.kind!r} for layer {spec.key}")

    geoms = gdf.geometry
    for i, g in enumerate(geoms.values):
        if g is None or g.is_empty:
            add(i, "geometry", "", "缺少坐标 / missing coordinates: fill in lon/lat")
            continue
        if spec.geometry == "point":
            if g.geom_type != "Point":
                add(i, "geometry", g.geom_type, "应为点 / must be a point")
                continue
            x, y = g.x, g.y
            if not (np.isfinite(x) and np.isfinite(y)):
                add(i, "lon/lat", f"{x}, {y}", "坐标不是数字 / coordinates are not numbers")
            elif not (bounds[0] <= x <= bounds[2] and bounds[1] <= y <= bounds[3]):
                hint = (
                    "经纬度可能颠倒, 请交换 / lon and lat look swapped: swap them"
                    if bounds[0] <= y <= bounds[2] and bounds[1] <= x <= bounds[3]
                    else "超出范围 / outside the allowed area: check the coordinate system"
                )
                add(i, "lon/lat", f"{x:.6f}, {y:.6f}", hint)
        else:
            if not g.is_valid:
                add(
                    i,
                    "geometry",
                    g.geom_type,
                    "几何无效 / invalid geometry: repair it (make_valid)",
                )
    return issues


def format_issues(issues: list[ValidationIssue], *, limit: int = 20) -> str:
    """Human-readable list of the first ``limit`` issues."""
    lines = [str(i) for i in issues[:limit]]
    if len(issues) > limit:
        lines.append(f"… 另有 {len(issues) - limit} 条 / {len(issues) - limit} more")
    return "\n".join(lines)
