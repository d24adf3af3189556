"""The export workflow: print maps, map series, offline HTML maps and layer files of a project.

``cli.py export-map``/``export-layers`` and the export page build a request and
call :func:`run_map_export` or :func:`run_layers_export`, so the same request
gives the same map and the same rows everywhere.

* Maps draw the project's outlines (districts, zones, corridor axes) and the
  layers named (project layer names, kinds, ``kind:subtype`` or files — a file
  keeps its own kind), are framed on the zone or the project's districts, are
  drawn in the project's metric CRS and name the source files of what is drawn.
  Analysis maps run the analysis here (:mod:`workflows.analyses`, the registry)
  and hand its report's print layers to :func:`export.maps.render_map`.
* Layer files hold every row selected: ``rows_in == rows_out`` is checked, and
  rows of files rejected by the importer stop the export (``RowsRejectedError``,
  exit 1) unless ``skip_invalid`` is set; then they are counted and listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

import settings
from export import maps as _maps
from export.formats import MAP_FORMATS, ORIENTATIONS, PAPERS, SERIES
from export.maps import (
    MapContent,
    default_title,
    export_html,
    input_sources,
    param_refs,
    render_map,
    series_items,
    zone_extent,
)
from layers.errors import InnoMapError
from layers.project import Project
from layers.registry import REGISTRY
from workflows import analyses
from workflows.common import LayerSelection, Report, input_provenance, select_layers

__all__ = [
    "MAP_FORMATS",
    "LayersExportRequest",
    "MapExportRequest",
    "default_layers",
    "default_title",
    "export_map",
    "layer_frames",
    "layer_tables",
    "map_content",
    "map_request",
    "run_layers_export",
    "run_map_export",
    "run_qgis_export",
    "series_files",
    "write_series",
]



@dataclass
class MapExportRequest:
    """A print-map, map-series or HTML export of a project.

    Attributes
    ----------
    layers : list of str
        Layer references (project layer names, kinds, ``kind:subtype``, files).
        Empty: the project's resource kinds for a base map, the analysis
        defaults for an analysis map.
    zone : str, optional
        A project zone: frames the map and keeps only that zone's outline.
    analysis : {"coverage", "clusters", "hotspots", "site"}, optional
    params : dict
        Parameters of the analysis (JSON keys of the matching CLI command).
    title : str, optional
        Default: the project's city + 创新资源分布图.
    paper, orientation, dpi
        Defaults from :mod:`settings` (``PRINT_*``).
    format : {"png", "pdf", "svg", "html"}
    series : {"district", "zone"}, optional
        One map per project district or zone (not for html).
    basemap : render.basemaps.Basemap, optional
        Online tiles under print maps.
    crs : str, optional
        CRS of layer references that are files.
    skip_invalid : bool
        Go on without rejected rows of files (counted in the messages).
    """

    layers: list[str] = field(default_factory=list)
    zone: str | None = None
    analysis: str | None = None
    params: dict = field(default_factory=dict)
    title: str | None = None
    paper: str = settings.PRINT_PAPER
    orientation: str = settings.PRINT_ORIENTATION
    dpi: int = settings.PRINT_DPI
    format: str = "png"
    series: str | None = None
    basemap: object = None
    crs: str | None = None
    skip_invalid: bool = False

    def to_dict(self) -> dict:
        """JSON-able request (the basemap by its key)."""
        d = asdict(self) | {"basemap": getattr(self.basemap, "key", None)}
        return d


@dataclass
class LayersExportRequest:
    """Layers of a project written as GIS layers or tables.

    Attributes
    ----------
    layers : list of str
        Layer references (project layer names, kinds, ``kind:subtype``, files;
        a file keeps its kind).
    format : {"gpkg", "geojson", "shp", "kml", "kmz", "xlsx", "csv"}
    encoding : {"UTF-8", "GBK"}
        Shapefile text encoding.
    crs : str, optional
        CRS of references that are files.
    skip_invalid : bool
        Go on without rejected file rows (counted and listed in the summary).
    to_crs : str, optional
        CRS of the written coordinates (:mod:`export.crs_out`: ``WGS84`` default,
        ``CGCS2000``, ``GK3``, ``GK3:NN``, ``GK3:117E``, ``GCJ-02``, ``BD-09``, ``EPSG:n``).
        GCJ-02/BD-09 files get the system in their name; KML/KMZ are WGS84 only.
    """

    layers: list[str]
    format: str
    encoding: str = "UTF-8"
    crs: str | None = None
    skip_invalid: bool = False
    to_crs: str | None = None


def default_layers(project: Project) -> list[str]:
    """The resource kinds present in the project (registry order): the default map layers."""
    present = {lyr.kind for lyr in project.resource_layers() if lyr.rows}
    return [k for k in REGISTRY if k in present]


def _check_map_request(req: MapExportRequest) -> None:
    if req.format not in MAP_FORMATS:
        raise InnoMapError(
            f"不支持的格式 / unsupported format {req.format!r}: use {', '.join(MAP_FORMATS)}"
        )
    if req.paper not in PAPERS:
        raise InnoMapError(f"不支持的纸张 / unsupported paper {req.paper!r}: use A4 or A3")
    if req.orientation not in ORIENTATIONS:
        raise InnoMapError(
            f"方向应为 portrait 或 landscape / orientation must be portrait or landscape, "
            f"got {req.orientation!r}"
        )
    choices = analyses.map_analyses()
    if req.analysis and req.analysis not in choices:
        raise InnoMapError(
            f"未知分析 / unknown analysis {req.analysis!r}: use {', '.join(choices)}"
        )
    if req.params and not req.analysis:
        raise InnoMapError("--params 需要 --analysis / --params needs --analysis")
    if not isinstance(req.params, dict):
        raise InnoMapError("--params 应为 JSON 对象 / --params must be a JSON object")
    if req.series and req.series not in SERIES:
        raise InnoMapError(
            f"--series 应为 district 或 zone / series must be district or zone, got {req.series!r}"
        )
    if req.series and req.format == "html":
        raise InnoMapError(
            "地图集不支持 html / a series exports png, pdf or svg: choose one of those"
        )


def map_content(
    project: Project,
    refs: list[str],
    *,
    zone: str | None = None,
    analysis: str | None = None,
    params: dict | None = None,
    crs: str | None = None,
    skip_invalid: bool = False,
    messages: list[str] | None = None,
) -> MapContent:
    """The layers of a base map (``refs`` on the project's outlines) or of an analysis map.

    An analysis map runs the analysis (:func:`workflows.analyses.analysis_layers`) with
    ``params`` (its request's JSON keys); a zone's map states the zone's own figures.
    """
    if not analysis:
        return _maps.map_content(
            project, refs, zone=zone, crs=crs, skip_invalid=skip_invalid, messages=messages
        )
    params = dict(params or {})
    if zone and not params.get("zone"):  # a zone's map states the zone's own figures
        params["zone"] = zone
    layers, notes, subtitle = analyses.analysis_layers(project, analysis, params, refs, zone=zone)
    if params.get("zone") != zone and zone:
        notes.append(f"图幅为片区 {zone}, 分析范围为片区 {params['zone']}")
    takes_layers = "layers" in analyses.get(analysis).request_class().__dataclass_fields__
    inputs = (list(refs) if takes_layers else []) + param_refs(params)
    drawn = [s for lyr in layers for s in lyr.sources if len(lyr.gdf)]
    sources = list(dict.fromkeys(drawn + input_sources(project, inputs)))
    return MapContent(list(layers), list(notes), subtitle, sources, analysis)


def export_map(
    project: Project,
    refs: list[str],
    *,
    title: str | None = None,
    fmt: str,
    zone: str | None = None,
    analysis: str | None = None,
    params: dict | None = None,
    paper: str = settings.PRINT_PAPER,
    orientation: str = settings.PRINT_ORIENTATION,
    dpi: int = settings.PRINT_DPI,
    basemap=None,
    crs: str | None = None,
    skip_invalid: bool = False,
    messages: list[str] | None = None,
) -> bytes:
    """Bytes of a print map (png/pdf/svg) or a single-file offline HTML map of ``project``.

    Base maps are framed on the zone, else on the project's districts; analysis
    maps on the zone, else on their points. ``basemap`` (a
    :class:`render.basemaps.Basemap`) adds online tiles to print maps. ``title``
    defaults to :func:`export.maps.default_title`. ``crs``/``skip_invalid`` apply to
    file references; ``messages`` collects warnings and skipped-row counts.
    """
    title = title or default_title(project)
    if fmt == "html":
        return export_html(
            project,
            refs,
            zone=zone,
            title=title,
            crs=crs,
            skip_invalid=skip_invalid,
            messages=messages,
        )
    content = map_content(
        project,
        refs,
        zone=zone,
        analysis=analysis,
        params=params,
        crs=crs,
        skip_invalid=skip_invalid,
        messages=messages,
    )
    extent = zone_extent(project, zone) if zone or not analysis else None
    return render_map(
        project,
        content,
        title=title,
        fmt=fmt,
        extent=extent,
        paper=paper,
        orientation=orientation,
        dpi=dpi,
        basemap=basemap,
    )


def run_map_export(
    project: Project,
    req: MapExportRequest,
    *,
    messages: list[str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> bytes | list[tuple[str, bytes]]:
    """Export a map of ``project``: the file bytes, or ``[(name, bytes), …]`` for a series.

    ``messages`` (if given) collects warnings (e.g. a file read as WGS84 with no
    CRS stated) and counts of skipped file rows. ``on_progress(done, total)``
    counts the maps of a series written (``(0, n)`` first).

    Raises
    ------
    InnoMapError
        A bad request (format, paper, zone, layer …); ``RowsRejectedError`` for
        rejected file rows unless ``skip_invalid``.
    """
    _check_map_request(req)
    refs = list(req.layers) or ([] if req.analysis else default_layers(project))
    if not refs and not req.analysis:
        raise InnoMapError(
            f"项目 {project.name} 没有资源图层 / project {project.name!r} has no resource "
            "layers to draw: add one with `python cli.py project add` or name --layers"
        )
    title = req.title or default_title(project)
    if not req.series:
        return export_map(
            project,
            refs,
            title=title,
            fmt=req.format,
            zone=req.zone,
            analysis=req.analysis,
            params=req.params,
            paper=req.paper,
            orientation=req.orientation,
            dpi=req.dpi,
            basemap=req.basemap,
            crs=req.crs,
            skip_invalid=req.skip_invalid,
            messages=messages,
        )
    items = series_items(project, req.series)
    content = map_content(
        project,
        refs,
        zone=req.zone,
        analysis=req.analysis,
        params=req.params,
        crs=req.crs,
        skip_invalid=req.skip_invalid,
        messages=messages,
    )
    out: list[tuple[str, bytes]] = []
    for name, bounds in items:
        if on_progress is not None:
            on_progress(len(out), len(items))
        data = render_map(
            project,
            content,
            title=f"{title} — {name}",
            fmt=req.format,
            extent=bounds,
            paper=req.paper,
            orientation=req.orientation,
            dpi=req.dpi,
            basemap=req.basemap,
        )
        out.append((name, data))
    if on_progress is not None:
        on_progress(len(out), len(items))
    return out


def _frame_name(project: Project, ref: str) -> str:
    base = ref if ref in project.layers else ref.partition(":")[0]
    if base in project.layers or base in REGISTRY:
        return ref.replace(":", "_")
    prefix, _, rest = ref.partition("=")
    return Path(rest if rest and prefix in REGISTRY else ref).stem or "layer"


def layer_frames(
    project: Project,
    refs: list[str],
    *,
    crs: str | None = None,
    skip_invalid: bool = False,
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, LayerSelection]]:
    """``({name: WGS84 frame}, {name: selection})`` of each reference, every row kept.

    Names are the reference (``:`` → ``_``) or a file's stem, made unique.
    """
    if not refs:
        raise InnoMapError("没有指定图层 / no layer given: name at least one layer or kind")
    frames: dict[str, gpd.GeoDataFrame] = {}
    sels: dict[str, LayerSelection] = {}
    for ref in refs:
        sel = select_layers(project, ref, crs=crs, skip_invalid=skip_invalid, points_only=False)
        base = _frame_name(project, ref)
        name, n = base, 2
        while name in frames:
            name, n = f"{base}_{n}", n + 1
        frames[name] = sel.gdf
        sels[name] = sel
    return frames, sels


def layer_tables(
    frames: dict[str, gpd.GeoDataFrame], *, to_crs: str | None = None
) -> dict[str, pd.DataFrame]:
    """Attribute tables of ``frames`` with ``lon``/``lat`` columns for point layers.

    With ``to_crs`` (another system than WGS84) the coordinates are in that system —
    ``lon``/``lat`` for degrees (6 decimals), ``x``/``y`` for metres (2 decimals) — and a
    ``crs`` column names it (InnoMap's table marker, :mod:`layers.provenance`).
    """
    from export.crs_out import reproject, resolve_target

    target = resolve_target(to_crs, frames) if to_crs else None
    if target is not None and target.name == "WGS84":
        target = None
    tables = {}
    for name, g in frames.items():
        t = pd.DataFrame(g.drop(columns="geometry")).copy()
        if len(g) and (g.geom_type == "Point").all():
            w = g.to_crs(4326) if target is None else reproject(g, target)
            degrees = target is None or target.degrees
            cols, nd = (("lon", "lat"), 6) if degrees else (("x", "y"), 2)
            t.insert(min(2, len(t.columns)), cols[0], w.geometry.x.round(nd).to_numpy())
            t.insert(min(3, len(t.columns)), cols[1], w.geometry.y.round(nd).to_numpy())
            if target is not None:
                t.insert(min(4, len(t.columns)), "crs", target.name)
        tables[name] = t
    return tables


def run_layers_export(
    project: Project, req: LayersExportRequest, out: str | Path, force: bool = False
) -> Report:
    """Write the layers of ``req`` to ``out`` (never overwritten unless ``force``).

    Returns a :class:`~workflows.common.Report` whose summary holds the file written
    (``out``: GCJ-02/BD-09 files get the system in their name), its ``crs``, the rows per
    layer (``rows_in`` = rows selected = ``rows_out`` = rows written), the
    skipped file rows and the input provenance.
    """
    from export.layers_io import LAYER_FORMATS, TABLE_FORMATS, write_layers, write_tables

    if req.format not in LAYER_FORMATS + TABLE_FORMATS:
        raise InnoMapError(
            f"不支持的格式 / unsupported format {req.format!r}: use "
            f"{', '.join(LAYER_FORMATS + TABLE_FORMATS)}"
        )
    from export.crs_out import marked_path, resolve_target

    frames, sels = layer_frames(project, req.layers, crs=req.crs, skip_invalid=req.skip_invalid)
    rows_in = sum(len(s.gdf) for s in sels.values())
    target = resolve_target(req.to_crs, frames)
    if req.format in LAYER_FORMATS:
        kinds = {
            name: (sel.sources[0]["kind"] if len({s["kind"] for s in sel.sources}) == 1 else "")
            for name, sel in sels.items()
            if sel.sources
        }
        out = write_layers(
            frames,
            out,
            fmt=req.format,
            encoding=req.encoding,
            force=force,
            to_crs=target.name,
            kinds=kinds,
        )
        rows_out = sum(len(g) for g in frames.values())
        tables = {}
    else:
        tables = layer_tables(frames, to_crs=target.name)
        out = write_tables(tables, marked_path(out, target), fmt=req.format, force=force)
        rows_out = sum(len(t) for t in tables.values())
    if rows_out != rows_in:  # pragma: no cover - a writer dropped rows
        raise InnoMapError(
            f"导出行数不符 / rows written ({rows_out}) differ from rows selected ({rows_in})"
        )
    prov = input_provenance(project, **sels)
    summary = {
        "format": req.format,
        "out": Path(out).name,
        "crs": target.name,
        "epsg": target.epsg,
        "layers": {name: len(g) for name, g in frames.items()},
        "rows_in": rows_in,
        "rows_out": rows_out,
        "skipped_invalid": sum(s.skipped for s in sels.values()),
        "skipped_rows": [r for s in sels.values() for r in s.skipped_rows],
        **prov,
    }
    return Report(
        analysis="export-layers",
        request=asdict(req),
        summary=summary,
        tables=tables,
        layers=frames,
        notes=list(prov["warnings"]),
    )


def run_qgis_export(
    project: Project, out_dir: str | Path, *, title: str | None = None, force: bool = False
) -> Report:
    """Write a QGIS project of ``project`` into ``out_dir`` (:func:`export.qgis.write_qgis_project`).

    The summary names the ``.qgz`` and ``.gpkg`` written, the project CRS and, per layer,
    its table, kind, rows and the renderer's categories (value, label, rows).
    """
    from export.qgis import write_qgis_project

    res = write_qgis_project(project, out_dir, title=title, force=force)
    summary = {
        "project": project.name,
        "qgz": res.project_file.name,
        "gpkg": res.data_file.name,
        "crs": res.crs,
        "layers": {
            name: {
                "title": v["title"],
                "table": v["table"],
                "kind": v["kind"],
                "rows": v["rows"],
                "categories": [
                    {"value": c["value"], "label": c["label"], "rows": c["rows"]}
                    for c in v["categories"]
                ],
            }
            for name, v in res.layers.items()
        },
    }
    return Report(
        analysis="export-qgis", request={"out": str(out_dir), "title": title}, summary=summary
    )


# ---------------------------------------------------------------- a map named on the command line
def map_request(values: dict) -> MapExportRequest:
    """The map request of option values (the command line's ``vars(args)``): the request's
    fields, ``params`` as JSON text and the basemap by key (``basemap``, ``tianditu_key``,
    ``tile_url``, ``tile_crs``, ``tile_attribution``)."""
    from workflows.analyses import from_options

    return from_options(
        MapExportRequest,
        values,
        params=_json_params(values.get("params")),
        basemap=_basemap(values),
    )


def _json_params(text: str | None) -> dict:
    """``--params`` as a dict (an error names the JSON problem)."""
    import json

    if not text:
        return {}
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InnoMapError(
            f"--params 不是有效 JSON / --params is not valid JSON ({exc.msg} at {exc.pos})"
        ) from None
    if not isinstance(params, dict):
        raise InnoMapError("--params 应为 JSON 对象 / --params must be a JSON object")
    return params


def _basemap(values: dict):
    key = values.get("basemap") or "none"
    if key == "none":
        return None
    from render.basemaps import make_basemap

    return make_basemap(
        key,
        tianditu_key=values.get("tianditu_key") or "",
        custom_url=values.get("tile_url") or "",
        custom_crs=values.get("tile_crs") or "WGS84",
        custom_attribution=values.get("tile_attribution") or "",
    )


def series_files(maps: list[tuple[str, bytes]], fmt: str) -> list[tuple[str, bytes]]:
    """The file names of a map series (``01_<district>.png`` …: numbered, safe) with their
    bytes: the command line's folder and the export page's zip hold the same names."""
    from layers.safe import safe_file_name

    return [
        (f"{i:02d}_{safe_file_name(name, default='map')}.{fmt}", data)
        for i, (name, data) in enumerate(maps, start=1)
    ]


def write_series(maps: list[tuple[str, bytes]], folder, *, fmt: str, force: bool) -> list[str]:
    """Write a map series into ``folder`` (made if needed), each file atomically; the names."""
    from layers.io_safe import atomic_write

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files = series_files(maps, fmt)
    for name, data in files:
        atomic_write(out / name, lambda tmp, d=data: tmp.write_bytes(d), force=force)
    return [n for n, _ in files]
