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

__all__ = ["analysis_pack"]


def analysis_pack(
    project: Project,
    report: Report,
    *,
    title: str,
    tables: dict | None = None,
    header=None,
    unit=None,
) -> bytes:
    """The zip (bytes) of ``report``: its CLI files, print map, layers, tables and README.

    ``tables`` replaces the report's tables (e.g. a page's chosen ones); ``header`` and
    ``unit`` write them for people (:func:`export.pack.result_pack`).
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
    )
