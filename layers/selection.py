"""Layer references resolved against a project, and its zones looked up by name.

* :func:`select_layers` — a layer reference resolved against a project: a project
  layer name, a kind (all layers of that kind; a kind wins over a layer named like it),
  ``ref:subtype|subtype``, or a file
  path (``KIND=PATH`` or ``PATH``, keeping the file's own kind). File rows that
  the importer rejects stop the request (:class:`RowsRejectedError`, exit 1) unless
  ``skip_invalid`` is set; then the count and the rows are in the selection. Point
  records get ``zone`` and ``district`` (:func:`layers.filters.assign_zones`,
  :func:`layers.filters.assign_districts`).
* :func:`zone_rows` / :func:`zone_geometry` — the project zone of a name; the one
  place that says "unknown zone" (listing the project's zones).

Analyses (``workflows/``), exports and maps use these; ``workflows.common`` re-exports
them for the workflows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from layers.errors import InnoMapError
from layers.filters import assign_districts, assign_zones
from layers.project_model import OUTLINE_KINDS, Project
from layers.registry import REGISTRY

__all__ = [
    "LayerSelection",
    "RowsRejectedError",
    "select_layers",
    "unknown_zone",
    "zone_geometry",
    "zone_rows",
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
        key = (tuple(refs), default_kind, crs, skip_invalid)
        gdf["zone"], gdf["district"] = _placed(project, gdf, key)
    if len(gdf) and gdf["id"].duplicated().any():
        gdf["id"] = gdf["layer"].astype(str) + ":" + gdf["id"].astype(str)
    return LayerSelection(
        gdf=gdf.reset_index(drop=True),
        sources=[src for s in sels for src in s.sources],
        skipped=sum(s.skipped for s in sels),
        skipped_rows=[r for s in sels for r in s.skipped_rows],
        warnings=[w for s in sels for w in s.warnings],
    )


#: Selections whose zone and district columns a project keeps (see :func:`_placed`).
_PLACED_MEMO_ENTRIES = 8


def _placed(project: Project, gdf: gpd.GeoDataFrame, key: tuple) -> tuple[pd.Series, pd.Series]:
    """The ``zone`` and ``district`` columns of a selection, computed once per project state.

    Placing points in zones and districts (the precision rule's boundary discs included)
    is the costliest step of a selection, and every analysis click and page view of the
    app selects again. The columns are kept on the project object, keyed by the
    selection's arguments and the identity of every layer frame it holds (the entry
    keeps those frames alive, so an identity cannot be reused while it is kept): a layer
    added, replaced or removed, or a zone redrawn, gives a new key.
    """
    memo: dict = project.__dict__.setdefault("_placed_memo", {})
    held = tuple(lyr.gdf for lyr in project.layers.values())
    sig = (key, tuple(map(id, held)), len(gdf))
    hit = memo.get(sig)
    if hit is None:
        hit = (held, assign_zones(gdf, project.zones), assign_districts(gdf, project.districts))
        memo[sig] = hit
        while len(memo) > _PLACED_MEMO_ENTRIES:
            memo.pop(next(iter(memo)))
    zone, district = hit[1].copy(), hit[2].copy()
    zone.index = district.index = gdf.index
    return zone, district


# ---------------------------------------------------------------- zones by name
def zone_rows(project: Project, zone: str) -> gpd.GeoDataFrame:
    """The project's zone rows named ``zone`` (WGS84); an error lists the project's zones."""
    zones = project.zones
    hit = zones[zones["name"].astype(str) == str(zone)] if len(zones) else zones
    if hit.empty:
        raise unknown_zone(project, zone)
    return hit


def unknown_zone(project: Project, zone: str, *, error: type = InnoMapError) -> Exception:
    """The error of a zone name ``project`` does not hold, listing its zones: one message for
    every place that looks a zone up (selection, map frames, zone edits)."""
    names = "、".join(project.zone_names()) or "none (add one with project add --kind zones)"
    return error(
        f"项目中没有片区 {zone!r} / no zone {zone!r} in the project (unknown zone): its zones "
        f"are {names}"
    )


def zone_geometry(project: Project, zone: str, crs):
    """The geometry of the project zone named ``zone`` in ``crs`` (an error lists the zones)."""
    return shapely.union_all(zone_rows(project, zone).to_crs(crs).geometry.values)
