"""Result packs: one zip of an analysis for planning documents.

A pack holds the analysis's own files — the command line's layout, written by
:func:`workflows.analyses.write_result` (``summary.json``, its GeoPackages or CSV) —
plus a print map (PNG and PDF), the result layers, the tables for people and a README
of parameters and sources (:func:`export.pack.result_pack`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from export.pack import result_pack
from layers.project import Project
from workflows import analyses
from workflows.common import Report
from workflows.progress import ProgressFn

__all__ = ["analysis_pack", "planning_pack"]


def analysis_pack(
    project: Project,
    report: Report,
    *,
    title: str,
    tables: dict | None = None,
    header=None,
    unit=None,
    on_progress: ProgressFn | None = None,
) -> bytes:
    """The zip (bytes) of ``report``: its CLI files, print map, layers, tables and README.

    ``tables`` replaces the report's tables (e.g. a page's chosen ones); ``header`` and
    ``unit`` write them for people (:func:`export.pack.result_pack`); ``on_progress(done,
    total)`` counts the pack's steps (:data:`export.pack.PACK_STEPS`).
    """
    layers, notes, subtitle = analyses.report_print_layers(project, report)
    with tempfile.TemporaryDirectory() as d:
        names = analyses.write_result(report, d)
        files = {n: (Path(d) / n).read_bytes() for n in names}
    return result_pack(
        title=title,
        print_layers=layers,
        layers=report.layers_wgs84(),
        tables=tables if tables is not None else report.tables,
        params=report.request,
        notes=notes,
        subtitle=subtitle,
        extent=analyses.report_extent(project, report),
        crs=project.metric_crs(),
        sources=[
            s["source_file"]
            for r in report.summary.get("inputs", {}).values()
            for s in r["sources"]
            if s.get("source_file")
        ],
        header=header,
        unit=unit,
        files=files,
        on_progress=on_progress,
    )


def planning_pack(
    project: Project,
    request: dict,
    *,
    header=None,
    unit=None,
    on_progress: ProgressFn | None = None,
) -> bytes:
    """The export page's planning pack (zip bytes) of a base map ``request``.

    ``request`` holds ``layers`` (references), ``zone``, ``title``, ``paper`` and
    ``orientation``. The pack's GeoPackage holds the outlines too (districts, zones,
    axes); its tables hold the layers named; the README names sources and parameters.
    """
    from export.maps import base_layers, default_title, input_sources, zone_extent
    from layers.project import OUTLINE_KINDS
    from workflows.exports import layer_frames, layer_tables

    keys, zone = request["layers"], request["zone"]
    frames, _ = layer_frames(project, keys)
    outlines = [lyr.name for lyr in project.layers.values() if lyr.kind in OUTLINE_KINDS]
    gis = layer_frames(project, [*keys, *[o for o in outlines if o not in keys]])[0]
    params = {k: request[k] for k in ("layers", "zone", "paper", "orientation")}
    return result_pack(
        title=request["title"] or default_title(project),
        print_layers=base_layers(project, keys, zone=zone),
        layers=gis,
        tables=layer_tables(frames),
        params=params | {"project": project.name, "crs": project.crs_label()},
        extent=zone_extent(project, zone),
        subtitle=zone or "",
        crs=project.metric_crs(),
        sources=None if project.is_demo else input_sources(project, outlines + keys),
        header=header,
        unit=unit,
        on_progress=on_progress,
    )
