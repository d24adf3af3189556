"""A layer table changed outside InnoMap (QGIS, GDAL, SQL) is validated again when read.

Both stores record, when InnoMap writes a layer table, what it wrote (GeoPackage:
``gpkg_contents.last_change``, the row count and a count of row edits kept by triggers;
PostGIS: a count of row edits kept by a statement trigger). A table read back as
InnoMap wrote it is used as is — its rows were checked when they were imported. A table
changed since is checked again here, with the import's checks
(:func:`layers.validation.validate_layer`):

* a row whose geometry is missing, of the wrong type or outside China's lon/lat box
  cannot be placed on a map or in an analysis: it is moved to the layer's rejected
  rows with its reason (the table itself is left as it is);
* other findings (an empty or repeated id, an empty name or source, a precision that is
  not a positive number) keep the row — InnoMap's own API may store such rows — and are
  counted in the layer's note :attr:`layers.project_model.ProjectLayer.revalidated`.
"""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.registry import REGISTRY
from layers.validation import validate_layer

__all__ = ["NOTHING", "PLACE_FIELDS", "checked", "mark", "revalidate"]

#: Fields whose errors make a row unusable (it cannot be placed): such rows are rejected.
PLACE_FIELDS = frozenset({"geometry", "lon/lat"})
#: What a table read as InnoMap wrote it adds: no rejected rows, no note.
NOTHING: tuple[pd.DataFrame, str] = (pd.DataFrame(), "")


def checked(
    gdf: gpd.GeoDataFrame, kind: str, *, layer: str, table: str
) -> tuple[gpd.GeoDataFrame, tuple[pd.DataFrame, str]]:
    """:func:`revalidate` as ``(kept, (rejected, note))``, what the stores keep per table."""
    kept, rejected, note = revalidate(gdf, kind, layer=layer, table=table)
    return kept, (rejected, note)


def mark(lyr, rejected: pd.DataFrame, note: str):
    """``lyr`` (a :class:`~layers.project_model.ProjectLayer`) with the rows validating its
    table again rejected added to its rejected rows, and the note; returns ``lyr``."""
    if note:
        lyr.revalidated = note
    if len(rejected):
        lyr.rejected = (
            rejected
            if lyr.rejected.empty
            else pd.concat([lyr.rejected, rejected], ignore_index=True)
        )
    return lyr


def revalidate(
    gdf: gpd.GeoDataFrame, kind: str, *, layer: str, table: str
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, str]:
    """Check the rows of ``table`` (layer ``layer`` of ``kind``), read with canonical columns.

    Returns
    -------
    tuple
        ``(kept, rejected, note)``: the rows that can be placed (re-indexed from 0 when
        any was rejected, else ``gdf`` itself), the others as rejected rows (``row`` = the
        table's row number from 1, the columns, ``reason``), and a bilingual note
        saying the table was validated again and what was found.
    """
    spec = REGISTRY.get(kind)
    if spec is None or gdf.empty:
        return gdf, pd.DataFrame(), _note(layer, table, 0, Counter())
    issues = validate_layer(gdf, spec, file=f"{layer} [{table}]", first_row=1)
    errors = [i for i in issues if i.severity == "error"]
    reasons: dict[int, list[str]] = {}
    for i in errors:
        if i.field in PLACE_FIELDS and i.row is not None:
            reasons.setdefault(i.row - 1, []).append(f"{i.field}: {i.message}")
    kept_issues = Counter(i.field for i in errors if i.field not in PLACE_FIELDS)
    if not reasons:
        return gdf, pd.DataFrame(), _note(layer, table, 0, kept_issues)
    bad = np.array(sorted(reasons), dtype=int)
    mask = np.zeros(len(gdf), dtype=bool)
    mask[bad] = True
    rejected = pd.DataFrame(gdf.drop(columns=gdf.geometry.name).iloc[bad]).astype(str)
    rejected.insert(0, "row", bad + 1)
    rejected["reason"] = [
        "图层表在 InnoMap 之外被修改, 重新校验 / changed outside InnoMap, validated again: "
        + "; ".join(reasons[r])
        for r in bad
    ]
    kept = gdf[~mask].reset_index(drop=True)
    return kept, rejected.reset_index(drop=True), _note(layer, table, len(bad), kept_issues)


def _note(layer: str, table: str, n_rejected: int, kept: Counter) -> str:
    found = ", ".join(f"{f} {n}" for f, n in sorted(kept.items()))
    kept_zh = f"; 保留但有问题的字段: {found}" if found else ""
    kept_en = f"; kept with findings: {found}" if found else ""
    return (
        f"图层 {layer} 的表 {table} 不是 InnoMap 写入时的样子(在 QGIS 等程序中修改过, 或由旧版写入), "
        f"已重新校验: {n_rejected} 行无法定位, 移入被拒绝的行{kept_zh} / the table {table!r} of "
        f"layer {layer!r} is not as InnoMap wrote it (changed outside InnoMap, e.g. in QGIS, or "
        f"written by an older version) and was validated again: {n_rejected} row(s) cannot be "
        f"placed and were moved to its rejected rows{kept_en}"
    )
