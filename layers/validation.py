"""Record validation against a layer spec.

Every problem names the file, the row as the user sees it (spreadsheet row,
header = row 1), the field, the (escaped, truncated) value and the fix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import InnoMapError
from layers.registry import OTHER, raw_field, vocabulary
from layers.safe import escape_html, truncate
from layers.schema import LayerSpec

__all__ = [
    "CHINA_BOUNDS",
    "LayerValidationError",
    "ValidationIssue",
    "format_issues",
    "open_categories",
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


class LayerValidationError(InnoMapError):
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
    rep = _Issues(file, first_row)
    for col in ("id", "name", "source", "coord_source", "coord_precision_m", "synthetic"):
        if col not in gdf.columns:
            rep.add(None, col, "", f"缺少字段 / missing column {col!r}: add it to the file")
    if rep.issues:
        return rep.issues
    _check_values(gdf, spec, rep)
    geoms = gdf.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    rep.add_mask(
        missing, "geometry", [""] * len(geoms), "缺少坐标 / missing coordinates: fill in lon/lat"
    )
    if spec.geometry == "point":
        _check_points(geoms, missing, bounds, rep)
    else:
        invalid = ~missing & ~shapely.is_valid(np.where(missing, None, geoms))
        rep.add_mask(
            invalid,
            "geometry",
            shapely.get_type_id(geoms),
            "几何无效 / invalid geometry: repair it (make_valid)",
        )
    rep.issues.sort(key=lambda it: it.row or 0)
    return rep.issues


class _Issues:
    """The issues of one layer, rows numbered as the user sees them."""

    def __init__(self, file: str, first_row: int):
        self.file, self.first_row = file, first_row
        self.issues: list[ValidationIssue] = []

    def add(self, i, field, value, msg, severity="error"):
        row = None if i is None else self.first_row + i
        self.issues.append(ValidationIssue(self.file, row, field, _val(value), msg, severity))

    def add_mask(self, mask, field, values, msg):
        at = values.iloc if isinstance(values, pd.Series) else values  # only flagged rows read
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            self.add(int(i), field, at[i], msg)


def _check_values(gdf: gpd.GeoDataFrame, spec: LayerSpec, rep: _Issues) -> None:
    """Ids, names, sources, precision, categories and kind of every record."""
    ids = gdf["id"].astype(str).reset_index(drop=True)
    empty_id = ids.str.strip().eq("").to_numpy()
    rep.add_mask(empty_id, "id", ids, "编号为空 / empty id: give every record a unique id")
    rep.add_mask(
        ids.duplicated(keep="first").to_numpy() & ~empty_id,
        "id",
        ids,
        "编号重复 / duplicate id: ids must be unique within the layer",
    )
    names = gdf["name"].astype(str)
    rep.add_mask(
        names.str.strip().eq(""), "name", names, "名称为空 / empty name: fill in the record's name"
    )
    src = gdf["source"].astype(str)
    rep.add_mask(
        src.str.strip().eq(""),
        "source",
        src,
        "缺少数据来源 / missing source: name where the record comes from",
    )
    prec = pd.to_numeric(gdf["coord_precision_m"], errors="coerce").to_numpy(dtype=float)
    rep.add_mask(
        ~(np.isfinite(prec) & (prec > 0)),
        "coord_precision_m",
        gdf["coord_precision_m"].reset_index(drop=True),
        "坐标精度应为正数(米) / precision must be a positive number of metres",
    )
    for col in ("subtype", "level"):
        if col in gdf.columns:  # open categories: a value outside the vocabulary never rejects
            _check_vocabulary(gdf[col], spec, col, rep)
    if "kind" in gdf.columns:
        v = gdf["kind"].astype(str)
        rep.add_mask(
            v.ne("") & v.ne(spec.kind),
            "kind",
            v.reset_index(drop=True),
            f"类别应为 / kind must be {spec.kind!r} for layer {spec.key}",
        )


def _check_vocabulary(values: pd.Series, spec: LayerSpec, col: str, rep: _Issues) -> None:
    """A warning per value outside the vocabulary (counted as 其他), on its first row."""
    allowed = vocabulary(spec, col)
    v = values.astype(str).reset_index(drop=True)
    outside = v.ne("") & ~v.isin(allowed)
    if not outside.any():
        return
    for value, rows in v[outside].groupby(v[outside], sort=False).groups.items():
        rep.add(
            int(rows[0]),
            col,
            value,
            f"取值不在词表中, 共 {len(rows)} 行, 按 {OTHER} 统计 / not in the "
            f"vocabulary ({len(rows)} rows): counted as {OTHER}; map it to one of "
            f"{', '.join(allowed)}",
            "warning",
        )


def _check_points(geoms, missing, bounds, rep: _Issues) -> None:
    """Points: the type, numeric coordinates, inside ``bounds`` (swapped lon/lat named)."""
    types = shapely.get_type_id(geoms)
    wrong = ~missing & (types != 0)
    rep.add_mask(wrong, "geometry", shapely.get_type_id(geoms), "应为点 / must be a point")
    ok = ~missing & ~wrong
    x = np.where(ok, shapely.get_x(np.where(ok, geoms, None)), np.nan)
    y = np.where(ok, shapely.get_y(np.where(ok, geoms, None)), np.nan)
    finite = np.isfinite(x) & np.isfinite(y)
    for i in np.flatnonzero(ok & ~finite):
        rep.add(int(i), "lon/lat", f"{x[i]}, {y[i]}", "坐标不是数字 / coordinates are not numbers")
    inside = (bounds[0] <= x) & (x <= bounds[2]) & (bounds[1] <= y) & (y <= bounds[3])
    swapped = (bounds[0] <= y) & (y <= bounds[2]) & (bounds[1] <= x) & (x <= bounds[3])
    for i in np.flatnonzero(ok & finite & ~inside):
        hint = (
            "经纬度可能颠倒, 请交换 / lon and lat look swapped: swap them"
            if swapped[i]
            else "超出范围 / outside the allowed area: check the coordinate system"
        )
        rep.add(int(i), "lon/lat", f"{x[i]:.6f}, {y[i]:.6f}", hint)


def format_issues(issues: list[ValidationIssue], *, limit: int = 20) -> str:
    """Human-readable list of the first ``limit`` issues."""
    lines = [str(i) for i in issues[:limit]]
    if len(issues) > limit:
        lines.append(f"… 另有 {len(issues) - limit} 条 / {len(issues) - limit} more")
    return "\n".join(lines)


def open_categories(
    gdf: pd.DataFrame, spec: LayerSpec, *, raw: dict[str, pd.Series] | None = None
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """Keep values outside the vocabulary as 其他, the original in a ``*_raw`` column.

    A subtype (zone type) or level that is not in ``spec``'s vocabulary becomes
    :data:`~layers.registry.OTHER`; its original text goes to ``subtype_raw``
    (``zone_type_raw`` for zones) or ``level_raw`` (empty for the other rows). No
    row is rejected for its category.

    Parameters
    ----------
    gdf : pandas.DataFrame
        Records with ``subtype``/``level`` columns (either may be missing).
    spec : LayerSpec
        Their layer.
    raw : dict, optional
        The original text per field when ``gdf`` holds values already mapped
        (spellings of the vocabulary); defaults to the values themselves.

    Returns
    -------
    tuple
        ``(frame, other)``: a new frame and ``{field: {original: rows}}`` of the
        values kept as 其他.
    """
    out = gdf.copy()
    other: dict[str, dict[str, int]] = {}
    for col in ("subtype", "level"):
        if col not in out.columns:
            continue
        codes, uniq = pd.factorize(out[col])  # each distinct value checked once
        texts = np.array([str(u).strip() for u in uniq] + [""], dtype=object)
        allowed = set(vocabulary(spec, col))
        outside = np.array([t != "" and t not in allowed for t in texts], dtype=bool)[codes]
        name = raw_field(spec.key, col)
        out[col] = np.where(outside, OTHER, texts[codes])
        if not outside.any():
            if name not in out.columns:
                out[name] = ""
            continue
        at = np.flatnonzero(outside)
        orig = raw.get(col) if raw else None
        shown = texts[codes][at] if orig is None else pd.Series(orig).iloc[at].to_numpy(object)
        shown = np.array([str(v).strip() for v in shown], dtype=object)
        if name in out.columns:  # a re-import of InnoMap's own file: keep what it had
            kept = out[name].astype(object).where(out[name].notna(), "").to_numpy(object).copy()
        else:
            kept = np.full(len(out), "", dtype=object)
        kept[at] = shown
        out[name] = kept
        vals, counts = np.unique(shown.astype(str), return_counts=True)
        first = {v: i for i, v in reversed(list(enumerate(shown)))}
        order = sorted(range(len(vals)), key=lambda k: first[vals[k]])  # in file order
        other[col] = {str(vals[k]): int(counts[k]) for k in order}
    return out, other
