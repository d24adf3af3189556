"""What every analysis workflow shares, defined once.

* :func:`select_layers`, :class:`LayerSelection`, :class:`RowsRejectedError`,
  :func:`zone_geometry` — layer references and zones resolved against a project
  (defined in :mod:`layers.selection`; re-exported here for the workflows), and
  :func:`assign_districts` (:mod:`layers.filters`).
* :func:`study_area` — the zone named, else the convex hull of the points buffered
  by ``settings.STUDY_AREA_BUFFER_M``.
* :func:`input_provenance` — sources (with their stated coordinate precision), rows
  and synthetic share of the inputs, and the synthetic-data note.
* :func:`drop_synthetic` — a selection without its synthetic rows (counted).
* :class:`Report` — what every workflow returns: a JSON-able summary (the
  ``summary.json`` of the CLI), tables, result layers and notes.
* :func:`write_layers` — result layers into one GeoPackage, through Arrow.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import settings
from layers.errors import InnoMapError
from layers.filters import UNDECIDED, assign_districts
from layers.project import Project
from layers.registry import REGISTRY
from layers.selection import LayerSelection, RowsRejectedError, select_layers, zone_geometry
from render.text import share_text

__all__ = [
    "ROLE_LABELS",
    "LayerSelection",
    "PrecisionRule",
    "Report",
    "RowsRejectedError",
    "assign_districts",
    "check_positive",
    "district_order",
    "drop_synthetic",
    "in_district_order",
    "input_provenance",
    "precision_filter",
    "precision_notes",
    "report_in_district_order",
    "select_layers",
    "share_text",
    "study_area",
    "write_layers",
    "zone_geometry",
]


@dataclass
class Report:
    """The one result of a workflow, used by the CLI, the pages and the exports.

    Attributes
    ----------
    analysis : str
        ``coverage``, ``clusters``, ``hotspots``, ``site``, ``whatif`` …
    request : dict
        The full request (JSON-able), as saved with a run.
    summary : dict
        JSON-able summary: what ``summary.json`` holds and the pages show.
    tables : dict of str to DataFrame
    layers : dict of str to GeoDataFrame
        Result layers in the project's metric CRS.
    inputs : dict of str to GeoDataFrame
        The input records used (metric CRS), for maps.
    notes : list of str
        Method, parameter, synthetic-data and approximation notes (Chinese first).
    wgs84 : dict of str to GeometryArray
        The WGS84 points of a result layer, row for row, when the workflow holds them
        (its input points): writers use them instead of projecting back. Not saved.
    """

    analysis: str
    request: dict
    summary: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    inputs: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    result: object = None  # the geo/ result object, for renderers that need more
    wgs84: dict = field(default_factory=dict, repr=False)

    def layers_wgs84(self) -> dict[str, gpd.GeoDataFrame]:
        return {k: g.to_crs(4326) for k, g in self.layers.items()}


def check_positive(
    name: str, value: float, *, maximum: float | None = None, unit: str = ""
) -> float:
    """``value`` as a finite positive float (and ≤ ``maximum``), else an error naming the limit."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InnoMapError(f"{name} 应为数字 / {name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise InnoMapError(
            f"{name} 必须为有限正数 / {name} must be a finite positive number, got {value!r}"
        )
    if maximum is not None and v > maximum:
        raise InnoMapError(
            f"{name} = {v:g}{unit} 超过上限 {maximum:g}{unit} / {name} exceeds the limit "
            f"{maximum:g}{unit}: choose a smaller value"
        )
    return v


def precision_filter(gdf: gpd.GeoDataFrame, *, max_precision_m: float | None):
    """Rows whose ``coord_precision_m`` is not coarser than ``max_precision_m`` (m).

    Metre-scale questions (a 15-minute circle, a catchment) cannot use points
    known only to their county or road: such rows (e.g. geocoded ``coarse``) are
    left out. Rows of unknown precision are kept; ``None`` keeps everything.

    Returns
    -------
    tuple
        ``(kept, excluded_count)``; ``kept`` is re-indexed from 0.
    """
    if max_precision_m is None or "coord_precision_m" not in gdf or gdf.empty:
        return gdf, 0
    prec = pd.to_numeric(gdf["coord_precision_m"], errors="coerce")
    coarse = (prec > float(max_precision_m)).to_numpy()
    return gdf[~coarse].reset_index(drop=True), int(coarse.sum())


#: Role names of the precision statements (Chinese, English).
ROLE_LABELS: dict[str, tuple[str, str]] = {
    "demand": ("需求点", "demand"),
    "services": ("服务设施", "services"),
    "existing": ("现有孵化器", "existing incubators"),
    "candidates": ("候选点", "candidates"),
    "points": ("分析点", "points"),
}


def _counts_by_layer(gdf: gpd.GeoDataFrame, coarse: np.ndarray, unknown: np.ndarray) -> dict:
    """Rows, imprecise and unknown-precision rows per ``layer`` value (in order of first
    appearance), counted on integer codes (1M rows: no Python loop over the rows)."""
    layer = gdf["layer"].astype(str) if "layer" in gdf else pd.Series("", index=gdf.index)
    codes, names = pd.factorize(layer, sort=False, use_na_sentinel=False)
    n = len(names)
    rows = np.bincount(codes, minlength=n)
    imprecise = np.bincount(codes, weights=coarse, minlength=n)
    unknowns = np.bincount(codes, weights=unknown, minlength=n)
    return {
        str(name): {
            "rows": int(rows[i]),
            "imprecise": int(imprecise[i]),
            "unknown_precision": int(unknowns[i]),
        }
        for i, name in enumerate(names)
    }


@dataclass
class PrecisionRule:
    """The precision rule of one analysis run: which points are precise enough to use.

    A point is used when its ``coord_precision_m`` ≤ ``scale_m`` ×
    ``settings.PRECISION_SCALE_FACTOR`` (the analysis' own scale: the reach of the
    cut-off, eps, the cell, min(bin, band) …); unknown precision is used and counted.
    Other points are left out of every role unless ``include_imprecise`` (then they
    are used and counted as such). :meth:`apply` filters one role's selection and
    records its counts per layer; :meth:`summary` and :meth:`notes` state them.

    Attributes
    ----------
    scale_m : float
        The analysis scale (metres); a role may have its own (``apply(scale_m=…)``).
    basis, basis_en : str
        What the scale is (Chinese, English), e.g. "15 分钟步行 4.5 km/h 可达距离".
    include_imprecise : bool
        Use every point (``--include-imprecise``); the result is marked.
    """

    scale_m: float
    basis: str
    basis_en: str
    include_imprecise: bool = False
    factor: float = settings.PRECISION_SCALE_FACTOR
    roles: dict = field(default_factory=dict)

    def limit_m(self, scale_m: float | None = None) -> float:
        return float(self.scale_m if scale_m is None else scale_m) * float(self.factor)

    def split(self, gdf: gpd.GeoDataFrame, role: str, *, scale_m: float | None = None):
        """``gdf`` (any CRS) without the points too coarse for this role; counts recorded."""
        limit = self.limit_m(scale_m)
        prec = (
            pd.to_numeric(gdf["coord_precision_m"], errors="coerce")
            if "coord_precision_m" in gdf
            else pd.Series(np.nan, index=gdf.index)
        )
        coarse = (prec > limit).to_numpy()
        unknown = prec.isna().to_numpy()
        by_layer = _counts_by_layer(gdf, coarse, unknown)
        n_coarse = int(coarse.sum())
        undecided = {  # coarse points whose precision disc crosses a district/zone boundary
            f"{col}_undecided": int(gdf[col].astype(str).eq(UNDECIDED).sum()) if col in gdf else 0
            for col in ("district", "zone")
        }
        self.roles[role] = {
            "rows": len(gdf),
            "scale_m": float(self.scale_m if scale_m is None else scale_m),
            "max_precision_m": limit,
            "imprecise": n_coarse,
            "excluded": 0 if self.include_imprecise else n_coarse,
            "imprecise_used": n_coarse if self.include_imprecise else 0,
            "unknown_precision": int(unknown.sum()),
            "by_layer": by_layer,
            **undecided,
        }
        if self.include_imprecise or not n_coarse:
            return gdf
        return gdf[~coarse].reset_index(drop=True)

    def apply(
        self, sel: LayerSelection, role: str, *, scale_m: float | None = None
    ) -> LayerSelection:
        """``sel`` with the points too coarse for ``role`` left out (counted per layer)."""
        gdf = self.split(sel.gdf, role, scale_m=scale_m)
        by_layer = self.roles[role]["by_layer"]
        sources = [
            src
            | {
                "rows": int(src["rows"])
                - by_layer.get(str(src["layer"]), {}).get("imprecise", 0)
                * (not self.include_imprecise),
                "imprecise_excluded": 0
                if self.include_imprecise
                else by_layer.get(str(src["layer"]), {}).get("imprecise", 0),
            }
            for src in sel.sources
        ]
        return replace(sel, gdf=gdf, sources=sources)

    def require(self, gdf: gpd.GeoDataFrame, role: str) -> None:
        """An error when every point of ``role`` was left out (naming the fix)."""
        info = self.roles.get(role, {})
        if gdf.empty and info.get("excluded"):
            zh, en = ROLE_LABELS.get(role, (role, role))
            limit = info["max_precision_m"]
            raise InnoMapError(
                f"全部{zh}的坐标精度粗于 {limit:,.0f} 米 ({self.basis}) / every {en} point is "
                f"coarser than {limit:,.0f} m ({self.basis_en}), e.g. geocoded only to its "
                "county: geocode with a finer provider, use a larger scale, or include them "
                "(--include-imprecise / include_imprecise)"
            )

    @property
    def excluded(self) -> int:
        return sum(r["excluded"] for r in self.roles.values())

    @property
    def imprecise_used(self) -> int:
        return sum(r["imprecise_used"] for r in self.roles.values())

    def majority_excluded(self) -> list[str]:
        """Roles of which more than half the points were left out."""
        return [k for k, r in self.roles.items() if r["rows"] and r["excluded"] * 2 > r["rows"]]

    def warnings(self) -> list[str]:
        """The lead warnings (bilingual): roles more than half left out."""
        out = []
        for role in self.majority_excluded():
            r = self.roles[role]
            zh, en = ROLE_LABELS.get(role, (role, role))
            share = share_text(r["excluded"] / r["rows"])
            out.append(
                f"警告: {zh} {r['rows']:,} 个中有 {r['excluded']:,} 个 ({share}) 位置精度粗于 "
                f"{r['max_precision_m']:,.0f} 米, 未参与分析, 结果只代表其余的点 / warning: "
                f"{r['excluded']:,} of {r['rows']:,} {en} ({share}) are coarser than "
                f"{r['max_precision_m']:,.0f} m and were left out: the result stands for the "
                "rest only"
            )
        return out

    def notes(self) -> list[str]:
        """What was left out (or used although imprecise) and why, bilingual, one line each."""
        out = []
        for role, r in self.roles.items():
            zh, en = ROLE_LABELS.get(role, (role, role))
            layers = ", ".join(  # layers named after their kind by the kind's Chinese name
                f"{REGISTRY[k].name_zh if k in REGISTRY else k} {v['imprecise']:,}"
                for k, v in r["by_layer"].items()
                if v["imprecise"]
            )
            if r["excluded"]:
                out.append(
                    f"已排除 {r['excluded']:,} 个位置精度粗于 {r['max_precision_m']:,.0f} 米的{zh} "
                    f"(分析尺度: {self.basis}; {layers}) / {r['excluded']:,} {en} coarser than "
                    f"{r['max_precision_m']:,.0f} m left out (analysis scale: {self.basis_en}); "
                    "--include-imprecise uses them"
                )
            elif r["imprecise_used"]:
                out.append(
                    f"注意: 结果使用了 {r['imprecise_used']:,} 个位置精度粗于 "
                    f"{r['max_precision_m']:,.0f} 米的{zh} (include_imprecise; {layers}) / the "
                    f"result uses {r['imprecise_used']:,} {en} coarser than "
                    f"{r['max_precision_m']:,.0f} m (include_imprecise)"
                )
            if r["unknown_precision"]:
                out.append(
                    f"{zh}中 {r['unknown_precision']:,} 个精度未知, 照常使用 / "
                    f"{r['unknown_precision']:,} {en} of unknown precision were used"
                )
        return out

    def summary(self) -> dict:
        """The ``precision`` block of summary.json (JSON-able)."""
        return {
            "scale_m": float(self.scale_m),
            "scale_basis": self.basis,
            "scale_basis_en": self.basis_en,
            "factor": float(self.factor),
            "max_precision_m": self.limit_m(),
            "include_imprecise": bool(self.include_imprecise),
            "excluded": self.excluded,
            "imprecise_used": self.imprecise_used,
            "unknown_precision": sum(r["unknown_precision"] for r in self.roles.values()),
            "district_undecided": sum(r["district_undecided"] for r in self.roles.values()),
            "zone_undecided": sum(r["zone_undecided"] for r in self.roles.values()),
            "roles": self.roles,
            "majority_excluded": self.majority_excluded(),
            "warnings": self.warnings(),
            "notes": self.notes(),
        }

    def report_fields(self) -> dict:
        """Summary keys: the ``precision`` block and flat counts (``imprecise_excluded`` …)."""
        return {
            "precision": self.summary(),
            "include_imprecise": bool(self.include_imprecise),
            "imprecise_excluded": self.excluded,
            "imprecise_used": self.imprecise_used,
        }


def precision_notes(summary: dict) -> list[str]:
    """Headline, lead warnings and precision notes of a summary (saved runs too), in order."""
    p = summary.get("precision") or {}
    out = [summary["headline"]] if summary.get("headline") else []
    return list(dict.fromkeys([*out, *(p.get("warnings") or []), *(p.get("notes") or [])]))


# ---------------------------------------------------------------- study area
def study_area(project: Project, points_m: gpd.GeoDataFrame, *, zone: str | None = None):
    """The study area in the points' metric CRS: the zone, else the points' hull + buffer."""
    if zone:
        return zone_geometry(project, zone, points_m.crs)
    if points_m.empty:
        raise InnoMapError("没有点, 无法确定研究范围 / no points: cannot form a study area")
    xy = points_m.geometry.get_coordinates().to_numpy()
    if len(xy) >= 3:  # the hull from its vertices only (1M points: ~0.1 s instead of ~0.8 s)
        try:
            from scipy.spatial import ConvexHull

            xy = xy[ConvexHull(xy).vertices]
        except Exception:  # collinear or repeated points: shapely handles them
            pass
    return shapely.convex_hull(shapely.multipoints(xy)).buffer(settings.STUDY_AREA_BUFFER_M)


def district_order(project: Project) -> list[str]:
    """The project's districts in the one order every table and chart uses: as its
    district layers list them (a city's counties by administrative code)."""
    return project.district_names()  # the pages' filters and lists use the same


def in_district_order(frame: pd.DataFrame, project: Project, column: str = "district"):
    """``frame``'s rows in :func:`district_order` (names not among the districts last, in
    their order); rows of one district keep their order (e.g. cut-offs 5, 10, 15)."""
    if frame is None or column not in frame or frame.empty:
        return frame
    rank = {n: i for i, n in enumerate(district_order(project))}
    key = frame[column].map(lambda v: rank.get(str(v), len(rank)))
    return frame.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)


#: The per-district tables of a report (one row per district, or per district and
#: cut-off); per-record tables with a district column (clusters, points) are left alone.
DISTRICT_TABLES = ("by_district",)


def report_in_district_order(project: Project, *, summary=None, tables=None):
    """``summary``'s and ``tables``' per-district records (:data:`DISTRICT_TABLES`) in
    :func:`district_order`: for runs saved before, or districts changed since.

    Returns ``(summary, tables)``, new dicts (``None`` stays ``None``); other keys as given.
    """
    if summary is not None:
        summary = dict(summary)
        for key in DISTRICT_TABLES:
            recs = summary.get(key)
            if isinstance(recs, list) and recs:
                summary[key] = _reordered(recs, project)
    if tables is not None:
        tables = {
            k: in_district_order(t, project) if k in DISTRICT_TABLES else t
            for k, t in tables.items()
        }
    return summary, tables


def _reordered(records: list, project: Project) -> list:
    """``records`` (dicts with ``district``) in :func:`district_order`, stable."""
    rank = {n: i for i, n in enumerate(district_order(project))}
    keyed = [rank.get(str((r or {}).get("district", "")), len(rank)) for r in records]
    return [records[i] for i in sorted(range(len(records)), key=keyed.__getitem__)]


def study_area_label(zone: str | None, lang: str = "zh") -> str:
    if zone:
        return f"片区 {zone}" if lang == "zh" else f"zone {zone}"
    b = settings.STUDY_AREA_BUFFER_M
    return f"点的凸包外扩 {b:g} 米" if lang == "zh" else f"convex hull of the points + {b:g} m"


# ---------------------------------------------------------------- provenance
def input_provenance(project: Project, **selections: LayerSelection) -> dict:
    """Sources, row counts and synthetic share of the inputs of a run (for summary.json)."""
    out = {"project": project.name, "city": project.city, "metric_crs": project.crs_label()}
    total = synth = 0
    roles = {}
    for role, sel in selections.items():
        n = len(sel.gdf)
        s = sel.synthetic_rows
        total += n
        synth += s
        roles[role] = {
            "rows": n,
            "synthetic_rows": s,
            "skipped_invalid": sel.skipped,
            "sources": [src | _precision(sel.gdf, src["layer"]) for src in sel.sources],
        }
    out["inputs"] = roles
    out["synthetic_share"] = (synth / total) if total else 0.0
    out["synthetic_note"] = (synthetic_note(out) or [""])[0]
    out["warnings"] = [w for sel in selections.values() for w in sel.warnings]
    return out


def _precision(gdf: gpd.GeoDataFrame, layer: str) -> dict:
    """Stated coordinate precision (metres) and coordinate sources of one source's rows."""
    rows = gdf[gdf["layer"].astype(str) == str(layer)] if "layer" in gdf else gdf.iloc[:0]
    col = "coord_precision_m"
    known = pd.to_numeric(rows[col], errors="coerce").dropna() if col in rows else rows.iloc[:0, :0]
    srcs = rows["coord_source"].astype(str) if "coord_source" in rows else pd.Series(dtype=str)
    return {
        "precision_median_m": float(known.median()) if len(known) else None,
        "precision_max_m": float(known.max()) if len(known) else None,
        "precision_unknown_rows": int(len(rows) - len(known)),
        "coord_sources": [str(v) for v in srcs[srcs.str.strip() != ""].value_counts().index[:3]],
    }


def drop_synthetic(sel: LayerSelection) -> tuple[LayerSelection, int]:
    """``sel`` without its synthetic rows, and how many were left out.

    Used where synthetic records must not silently stand for real ones (e.g. the
    demo's synthetic maker spaces as existing incubators in siting and what-if).
    """
    if "synthetic" not in sel.gdf or not sel.synthetic_rows:
        return sel, 0
    keep = ~sel.gdf["synthetic"].astype(bool)
    gdf = sel.gdf[keep].reset_index(drop=True)
    layer = gdf["layer"].astype(str) if "layer" in gdf else pd.Series("", index=gdf.index)
    sources = [
        src
        | {
            "rows": int((layer == str(src["layer"])).sum()),
            "synthetic_rows": 0,
            "synthetic_rows_excluded": int(src.get("synthetic_rows", 0)),
        }
        for src in sel.sources
    ]
    return replace(sel, gdf=gdf, sources=sources), int((~keep).sum())


def synthetic_note(prov: dict) -> list[str]:
    """A prominent note where synthetic rows drive a result (empty list otherwise)."""
    share = prov.get("synthetic_share", 0.0)
    if not share:
        return []
    pct = share_text(share)
    return [
        f"注意: 输入中 {pct} 为模拟数据, 结果仅用于演示方法 / "
        f"{pct} of the input rows are synthetic: results demonstrate the method only"
    ]


# ---------------------------------------------------------------- result files
def arrow_writable(df: pd.DataFrame) -> bool:
    """Whether Arrow can type every column of ``df``: object columns hold text only
    (a column mixing text and numbers, or holding dicts, is written row by row)."""
    geom = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    return all(
        pd.api.types.infer_dtype(df[c], skipna=True) in ("string", "empty")
        for c in df.columns
        if c != geom and df[c].dtype == object
    )


def write_layers(path, layers: dict[str, pd.DataFrame], *, force: bool = True) -> None:
    """One GeoPackage holding ``layers`` (layer name -> frame), written atomically.

    Each frame goes through GDAL's Arrow interface (``use_arrow=True``: columns as
    whole arrays, several times faster than row by row at 10⁵–10⁶ rows); a frame
    Arrow cannot type (:func:`arrow_writable`) is written row by row, as before.
    Columns, dtypes, CRS and the spatial index are those of
    :meth:`geopandas.GeoDataFrame.to_file`; a plain DataFrame becomes a table without
    geometry.
    """
    import pyogrio

    from layers.io_safe import atomic_write

    def w(tmp):
        for i, (name, df) in enumerate(layers.items()):
            arrow = arrow_writable(df)
            if isinstance(df, gpd.GeoDataFrame):
                mode = "w" if i == 0 else "a"
                df.to_file(tmp, layer=name, driver="GPKG", mode=mode, use_arrow=arrow)
            else:
                pyogrio.write_dataframe(
                    df, tmp, layer=name, driver="GPKG", append=i > 0, use_arrow=arrow
                )

    atomic_write(path, w, force=force)
