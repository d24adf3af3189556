"""What every analysis workflow shares, defined once.

* :func:`select_layers` — a layer reference resolved against a project: a project
  layer name, a kind (all layers of that kind; a kind wins over a layer named like it),
  ``ref:subtype|subtype``, or a file
  path (``KIND=PATH`` or ``PATH``, keeping the file's own kind). File rows that
  the importer rejects stop the request (:class:`RowsRejectedError`, exit 1) unless
  ``skip_invalid`` is set; then the count and the rows are in the selection.
* :func:`study_area` — the zone named, else the convex hull of the points buffered
  by ``settings.STUDY_AREA_BUFFER_M``.
* :func:`input_provenance` — sources (with their stated coordinate precision), rows
  and synthetic share of the inputs, and the synthetic-data note.
* :func:`drop_synthetic` — a selection without its synthetic rows (counted).
* :class:`Report` — what every workflow returns: a JSON-able summary (the
  ``summary.json`` of the CLI), tables, result layers and notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import settings
from layers.errors import InnoMapError
from layers.filters import UNDECIDED, assign_zones, zone_combinations
from layers.project import OUTLINE_KINDS, Project
from layers.registry import REGISTRY
from render.text import share_text

__all__ = [
    "ROLE_LABELS",
    "LayerSelection",
    "PrecisionRule",
    "Report",
    "RowsRejectedError",
    "assign_districts",
    "check_positive",
    "drop_synthetic",
    "input_provenance",
    "precision_filter",
    "precision_notes",
    "select_layers",
    "share_text",
    "study_area",
    "zone_geometry",
]

#: Rows of a rejected-rows list shown in a message.
_SHOW_ROWS = 20


class RowsRejectedError(InnoMapError):
    """Rows of a file given as a layer were rejected (exit 1); ``--skip-invalid`` goes on."""

    exit_code = 1

    def __init__(self, message: str, rejected: list[dict]):
        super().__init__(message)
        self.rejected = rejected


@dataclass
class LayerSelection:
    """Records a reference named (WGS84), with where they came from."""

    gdf: gpd.GeoDataFrame
    sources: list[dict] = field(default_factory=list)
    skipped: int = 0
    skipped_rows: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def synthetic_rows(self) -> int:
        return int(self.gdf["synthetic"].sum()) if "synthetic" in self.gdf else 0


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
    """

    analysis: str
    request: dict
    summary: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    inputs: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    result: object = None  # the geo/ result object, for renderers that need more

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


# ---------------------------------------------------------------- layer references
def _file_kind(path: Path, prefix: str | None, default_kind: str) -> str:
    """The kind of a file reference: ``KIND=`` prefix, GeoPackage layer name, kind column."""
    if prefix:
        if prefix not in REGISTRY:
            raise InnoMapError(
                f"未知类别 / unknown kind {prefix!r} in {prefix}={path.name}: choose one of "
                f"{', '.join(REGISTRY)}"
            )
        return prefix
    if path.suffix.lower() == ".gpkg":
        import pyogrio

        names = [str(n) for n, _ in pyogrio.list_layers(path)]
        keys = [n for n in names if n in REGISTRY]
        if len(keys) == 1:
            return keys[0]
    try:
        import pyogrio

        df = pyogrio.read_dataframe(path, columns=["kind"], read_geometry=False, max_features=5000)
        kinds = {str(v) for v in df["kind"].dropna()}
        by_label = {spec.kind: key for key, spec in REGISTRY.items()}
        keys = {by_label.get(k, k if k in REGISTRY else None) for k in kinds}
        keys.discard(None)
        if len(keys) == 1:
            return keys.pop()
    except Exception:
        pass
    return default_kind


def _select_file(
    ref: str, *, default_kind: str, crs: str | None, skip_invalid: bool
) -> LayerSelection:
    from layers.importer import ImportOptions, import_file

    prefix, _, rest = ref.partition("=")
    if rest and prefix in REGISTRY and Path(rest).exists():
        path, kind_prefix = Path(rest), prefix
    else:
        path, kind_prefix = Path(ref), None
    kind = _file_kind(path, kind_prefix, default_kind)
    rep = import_file(path, ImportOptions(kind=kind, crs=crs))
    rejected = [
        {
            "file": path.name,
            "row": i.row,
            "field": i.field,
            "value": str(i.value),
            "message": i.message,
        }
        for i in rep.errors
    ]
    if len(rep.rejected) and not skip_invalid:
        shown = "; ".join(
            f"row {r['row']} [{r['field']}] {r['message']}" for r in rejected[:_SHOW_ROWS]
        )
        more = f"; … {len(rejected) - _SHOW_ROWS} more" if len(rejected) > _SHOW_ROWS else ""
        raise RowsRejectedError(
            f"{path.name}: {len(rep.rejected)}/{rep.rows_total} 行被拒绝 / rows rejected "
            f"(as {kind}): {shown}{more}. Fix the rows, or pass --skip-invalid to go on without them.",
            rejected,
        )
    gdf = rep.valid.copy()
    gdf["layer"] = path.name
    warnings = [rep.crs_warning] if rep.crs_warning else []
    return LayerSelection(
        gdf=gdf,
        sources=[
            {
                "layer": path.name,
                "kind": kind,
                "source_file": path.name,
                "rows": len(gdf),
                "synthetic_rows": int(gdf["synthetic"].sum()) if "synthetic" in gdf else 0,
                "crs_in": rep.crs_in,
            }
        ],
        skipped=len(rep.rejected),
        skipped_rows=rejected,
        warnings=warnings,
    )


def _select_one(
    project: Project, ref: str, *, default_kind: str, crs: str | None, skip_invalid: bool
) -> LayerSelection:
    base, _, sub = ref.partition(":")
    if ref in project.layers and ref not in REGISTRY:  # a layer name may contain ':'
        base, sub = ref, ""
    if base in project.layers and base not in REGISTRY:
        chosen = [project.layers[base]]
    elif base in REGISTRY:  # a kind: every layer of that kind (the demo names layers by kind)
        chosen = project.layers_of_kind(base)
        if not chosen:
            raise InnoMapError(
                f"项目 {project.name} 没有 {REGISTRY[base].name_zh} 图层 / project "
                f"{project.name!r} has no layer of kind {base!r}: add one with "
                f"`python cli.py project add --kind {base}` or choose from "
                f"{', '.join(project.layers)}"
            )
    elif Path(ref).exists() or (
        "=" in ref and ref.partition("=")[0] in REGISTRY and Path(ref.partition("=")[2]).exists()
    ):
        return _select_file(ref, default_kind=default_kind, crs=crs, skip_invalid=skip_invalid)
    else:
        raise InnoMapError(
            f"未知图层或文件 / unknown layer or file {ref!r}: use a layer of the project "
            f"({', '.join(project.layers)}), a kind ({', '.join(REGISTRY)}), "
            "optionally :subtype, or an existing file path (KIND=PATH)"
        )
    parts = []
    sources = []
    for lyr in chosen:
        g = lyr.gdf
        if sub:
            wanted = [s for s in sub.split("|") if s]
            have = sorted({str(s) for s in g["subtype"]}) if "subtype" in g else []
            bad = [s for s in wanted if s not in have and s not in REGISTRY[lyr.kind].subtypes]
            if bad:
                raise InnoMapError(
                    f"图层 {lyr.name} 没有子类 {', '.join(bad)} / layer {lyr.name!r} has no subtype "
                    f"{', '.join(bad)}: choose from {', '.join(have or REGISTRY[lyr.kind].subtypes)}"
                )
            g = g[g["subtype"].isin(wanted)]
        g = g.copy()
        g["layer"] = lyr.name
        parts.append(g)
        sources.append(
            {
                "layer": lyr.name,
                "kind": lyr.kind,
                "source_file": lyr.source_file,
                "rows": len(g),
                "synthetic_rows": int(g["synthetic"].sum()) if "synthetic" in g else 0,
                "crs_in": lyr.crs_in,
            }
        )
    gdf = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)
    return LayerSelection(gdf=gdf, sources=sources)


def assign_districts(points: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> pd.Series:
    """District name of each point from the project's districts (the record's own if outside all)."""
    own = (
        points["district"].astype(str)
        if "district" in points
        else pd.Series("", index=points.index)
    )
    if points.empty or districts.empty:
        return own
    d = districts.to_crs(points.crs) if districts.crs != points.crs else districts
    codes, labels = zone_combinations(points, d[["name", "geometry"]])
    first = np.array([v.split("、")[0] for v in labels], dtype=object)  # once per label
    inside = (first != "")[codes]
    values = np.where(inside, first[codes], own.to_numpy(dtype=object))
    return pd.Series(values, index=own.index, dtype="str")


def select_layers(
    project: Project,
    refs: list[str] | str,
    *,
    default_kind: str = "enterprises",
    crs: str | None = None,
    skip_invalid: bool = False,
    points_only: bool = True,
) -> LayerSelection:
    """Resolve layer references against ``project`` (see the module docstring).

    Point records get ``zone`` (project zones containing them) and ``district``
    (project district containing them). Ids are prefixed with the layer name
    where they clash.

    Raises
    ------
    InnoMapError
        Unknown layer, kind or subtype; a file that cannot be read.
    RowsRejectedError
        Rows of a file were rejected and ``skip_invalid`` is false.
    """
    refs = [refs] if isinstance(refs, str) else list(refs)
    if not refs:
        raise InnoMapError("没有指定图层 / no layer given: name at least one layer or kind")
    sels = [
        _select_one(project, r, default_kind=default_kind, crs=crs, skip_invalid=skip_invalid)
        for r in refs
    ]
    gdf = gpd.GeoDataFrame(
        pd.concat([s.gdf for s in sels], ignore_index=True), geometry="geometry", crs=4326
    )
    if points_only and len(gdf):
        kinds = {src["kind"] for s in sels for src in s.sources}
        outline = kinds & set(OUTLINE_KINDS)
        if outline or not gdf.geom_type.eq("Point").all():
            raise InnoMapError(
                f"分析需要点图层 / this analysis needs point layers; {', '.join(refs)} hold "
                f"{', '.join(sorted(set(gdf.geom_type)))} geometries: choose resource layers"
            )
    if len(gdf) and gdf.geom_type.eq("Point").all():
        gdf["zone"] = assign_zones(gdf, project.zones)
        gdf["district"] = assign_districts(gdf, project.districts)
    if len(gdf) and gdf["id"].duplicated().any():
        gdf["id"] = gdf["layer"].astype(str) + ":" + gdf["id"].astype(str)
    return LayerSelection(
        gdf=gdf.reset_index(drop=True),
        sources=[src for s in sels for src in s.sources],
        skipped=sum(s.skipped for s in sels),
        skipped_rows=[r for s in sels for r in s.skipped_rows],
        warnings=[w for s in sels for w in s.warnings],
    )


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
        layer = (
            gdf["layer"].astype(str) if "layer" in gdf else pd.Series("", index=gdf.index)
        ).to_numpy()
        by_layer = {}
        for name in dict.fromkeys(layer):
            m = layer == name
            by_layer[str(name)] = {
                "rows": int(m.sum()),
                "imprecise": int((coarse & m).sum()),
                "unknown_precision": int((unknown & m).sum()),
            }
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
            layers = ", ".join(
                f"{k} {v['imprecise']:,}" for k, v in r["by_layer"].items() if v["imprecise"]
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
def zone_geometry(project: Project, zone: str, crs):
    """The geometry of the project zone named ``zone`` in ``crs`` (an error lists the zones)."""
    zones = project.zones
    hit = zones[zones["name"].astype(str) == str(zone)] if len(zones) else zones
    if hit.empty:
        raise InnoMapError(
            f"未知片区 / unknown zone {zone!r}: the project's zones are "
            f"{', '.join(project.zone_names()) or 'none (add one with project add --kind zones)'}"
        )
    return shapely.union_all(hit.to_crs(crs).geometry.values)


def study_area(project: Project, points_m: gpd.GeoDataFrame, *, zone: str | None = None):
    """The study area in the points' metric CRS: the zone, else the points' hull + buffer."""
    if zone:
        return zone_geometry(project, zone, points_m.crs)
    if points_m.empty:
        raise InnoMapError("没有点, 无法确定研究范围 / no points: cannot form a study area")
    xy = points_m.geometry.get_coordinates().to_numpy()
    return shapely.convex_hull(shapely.multipoints(xy)).buffer(settings.STUDY_AREA_BUFFER_M)


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
