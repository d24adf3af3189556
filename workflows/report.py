"""The Word/PDF report of a project's analyses (``cli.py report`` and the report buttons).

A :class:`ReportRequest` names saved runs of the project (none: all of them);
the pages may also pass reports just computed. Each saved run is run again from
its saved request to draw its print map (the tables are filled from the run's
saved summary, so their numbers are the run's own); when the map's numbers
differ from the saved ones — the project's data changed since — the chapter
says so. :func:`build` returns the file's bytes, :func:`run` writes it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import settings
from export.maps import MapContent
from export.printmap import check_dpi
from export.report_docx import (
    DEFAULT_SECTIONS,
    ReportSection,
    build_docx,
    docx_to_pdf,
    libreoffice,
    parse_sections,
    report_figures,
)
from layers.errors import InnoMapError
from layers.project import Project, RunRecord
from workflows import analyses
from workflows.choices import REPORT_FORMATS
from workflows.common import Report, report_in_district_order, share_text
from workflows.progress import ProgressFn, stages

__all__ = ["FORMATS", "ReportRequest", "build", "run", "section_from_report", "section_from_run"]

FORMATS = REPORT_FORMATS
#: Work limit: runs in one report (each is run again for its map).
MAX_RUNS = settings.REPORT_MAX_RUNS


@dataclass(frozen=True)
class ReportRequest:
    """A report of saved runs.

    Attributes
    ----------
    runs : tuple of str
        Run ids of the project, in the report's order (empty: all saved runs).
    format : {"docx", "pdf"}
        PDF is converted from the Word file with LibreOffice.
    title : str, optional
        Default 创新资源空间分析报告.
    dpi : int
        Resolution of the print maps (A4), default ``settings.PRINT_DPI``.
    sections : tuple of str
        The report's sections, chosen and ordered (:data:`export.report_docx.REPORT_SECTIONS`:
        ``title``, ``method``, ``results``, ``sources``, ``notes``, ``maps``, ``data``; a
        comma-separated text or Chinese names are accepted). Default: all, in that order.
    """

    runs: tuple[str, ...] = ()
    format: str = "docx"
    title: str | None = None
    dpi: int = settings.PRINT_DPI
    sections: tuple[str, ...] = DEFAULT_SECTIONS

    def __post_init__(self):
        r = self.runs
        object.__setattr__(self, "runs", (r,) if isinstance(r, str) else tuple(r or ()))
        object.__setattr__(self, "sections", parse_sections(self.sections))
        if self.format not in FORMATS:
            raise InnoMapError(
                f"不支持的报告格式 / unsupported report format {self.format!r}: use docx or pdf"
            )
        check_dpi(self.dpi)
        if len(self.runs) > MAX_RUNS:
            raise InnoMapError(
                f"报告最多 {MAX_RUNS} 项分析 / a report holds at most {MAX_RUNS} runs, got "
                f"{len(self.runs)}: make several reports"
            )

    def to_dict(self) -> dict:
        return asdict(self) | {"runs": list(self.runs), "sections": list(self.sections)}


def _figures(project: Project, report: Report, *, title: str, dpi: int):
    """The print map (and chart) of a workflow report, drawn from the report itself."""
    a = analyses.get(report.analysis)
    layers, notes, subtitle = analyses.report_print_layers(
        project, report, zone=report.request.get("zone")
    )
    inputs = [
        Path(str(src["source_file"])).name
        for info in (report.summary.get("inputs") or {}).values()
        for src in info.get("sources") or []
        if src.get("source_file")
    ]
    drawn = [s for lyr in layers for s in lyr.sources if len(lyr.gdf)]
    sources = list(dict.fromkeys(drawn + inputs))
    content = MapContent(layers, notes, subtitle, sources, report.analysis)
    chart = None
    if a.chart is not None:
        summary = report.summary
        chart = lambda chart_dpi, width_in: a.chart(summary, chart_dpi, width_in)  # noqa: E731
    return report_figures(
        project,
        content,
        name=a.title_zh,
        extent=analyses.report_extent(project, report),
        title=title,
        dpi=dpi,
        chart=chart,
    )


def _section(project: Project, analysis: str, request: dict, summary: dict, **kw) -> ReportSection:
    """A report chapter with the analysis's name, method paragraphs and result tables
    (districts in the project's one stated order, whenever the summary was saved)."""
    summary, _ = report_in_district_order(project, summary=summary)
    return ReportSection(
        analysis=analysis,
        request=request,
        summary=summary,
        name=analyses.title_zh(analysis),
        method=analyses.method_paragraphs(project, analysis, request, summary),
        tables=analyses.result_tables(analysis, summary),
        **kw,
    )


def section_from_report(
    project: Project,
    report: Report,
    *,
    title: str = "",
    run_id: str = "",
    created_at: str = "",
    dpi: int = settings.PRINT_DPI,
) -> ReportSection:
    """A report chapter of a workflow report (its map drawn from the report itself)."""
    s = json.loads(json.dumps(report.summary, default=str))
    return _section(
        project,
        report.analysis,
        json.loads(json.dumps(report.request, default=str)),
        s,
        title=title,
        run_id=run_id,
        created_at=created_at,
        figures=_figures(project, report, title=title, dpi=dpi),
    )


def section_from_run(
    project: Project, rec: RunRecord, *, dpi: int = settings.PRINT_DPI
) -> ReportSection:
    """A report chapter of a saved run: its saved summary, its map from running it again."""
    sec = _section(
        project,
        rec.analysis,
        rec.request,
        rec.summary,
        title=rec.title,
        run_id=rec.id,
        created_at=rec.created_at,
    )
    try:
        again = analyses.analysis_report(project, rec.analysis, rec.request)
        sec.figures = _figures(project, again, title=rec.title, dpi=dpi)
    except InnoMapError as exc:
        sec.notes.append(f"未能重新生成此分析的地图 / the map could not be drawn again: {exc}")
        return sec
    now = json.loads(json.dumps(again.summary, default=str))
    if analyses.headline(rec.analysis, now) != analyses.headline(rec.analysis, rec.summary):
        sec.notes.append(
            "地图按当前项目数据重新计算, 与保存时的结果不同 (项目数据已更改); 表中数字为保存时的结果。"
        )
    return sec


def _runs(project: Project, ids: tuple[str, ...]) -> list[RunRecord]:
    if ids:
        from workflows.runs import resolve_run

        return [resolve_run(project, i) for i in ids]  # by id or name; unknown: error listing runs
    if len(project.runs) > MAX_RUNS:
        raise InnoMapError(
            f"项目有 {len(project.runs)} 项保存的分析, 超过上限 {MAX_RUNS} / the project has "
            f"{len(project.runs)} saved runs (limit {MAX_RUNS}): name runs with --runs"
        )
    return list(project.runs)


def build(
    project: Project,
    request: ReportRequest,
    *,
    reports: list[tuple[Report, str]] | None = None,
    on_progress: ProgressFn | None = None,
) -> tuple[bytes, Report]:
    """The report file's bytes and a :class:`Report` whose summary describes it.

    ``reports`` — ``(workflow report, title)`` pairs just computed (e.g. on a page)
    — are reported instead of saved runs when given. ``on_progress(done, total)``
    counts the steps: one per analysis section (maps and charts drawn), one for the
    document, one more for the PDF conversion.
    """
    if request.format == "pdf":
        libreoffice()  # before any work: say at once that PDF needs LibreOffice
    if reports:
        make = [
            lambda r=r, t=t: section_from_report(project, r, title=t, dpi=request.dpi)
            for r, t in reports
        ]
    else:
        make = [
            lambda rec=rec: section_from_run(project, rec, dpi=request.dpi)
            for rec in _runs(project, request.runs)
        ]
    step = stages(on_progress, len(make) + 1 + (request.format == "pdf"))
    step(0)
    sections = []
    for i, section in enumerate(make, start=1):
        sections.append(section())
        step(i)
    data = build_docx(project, sections, title=request.title, parts=request.sections)
    step(len(make) + 1)
    if request.format == "pdf":
        data = docx_to_pdf(data)
        step(len(make) + 2)
    share = max(float(s.summary.get("synthetic_share") or 0) for s in sections)
    summary = {
        "project": project.name,
        "city": project.city,
        "format": request.format,
        "title": request.title or "创新资源空间分析报告",
        "created_at": datetime.now().isoformat(timespec="seconds"),
        "dpi": int(request.dpi),
        "sections": list(request.sections),
        "bytes": len(data),
        "runs": [
            {
                "id": s.run_id,
                "analysis": s.analysis,
                "title": s.title,
                "maps": sum(f.landscape for f in s.figures),
                "charts": sum(not f.landscape for f in s.figures),
                "synthetic_share": float(s.summary.get("synthetic_share") or 0),
                "notes": s.notes,
            }
            for s in sections
        ],
        "synthetic_share": share,
        "synthetic_note": (
            f"注意: 报告中的分析输入最多 {share_text(share)} 为模拟数据, 结果仅用于演示方法"
            if share
            else ""
        ),
    }
    return data, Report(analysis="report", request=request.to_dict(), summary=summary)


def run(
    project: Project,
    request: ReportRequest,
    *,
    out: str | Path,
    force: bool = False,
    reports: list[tuple[Report, str]] | None = None,
) -> Report:
    """Write the report to ``out`` (never over an existing file unless ``force``)."""
    from layers.io_safe import OutputExistsError, atomic_write

    out = Path(out)
    if out.suffix.lower() != f".{request.format}":
        raise InnoMapError(
            f"--out {out.name} 与格式 {request.format} 不一致 / --out {out.name!r} does not end in "
            f".{request.format}: name the file R.{request.format}"
        )
    if out.exists() and not force:  # before the runs are computed again
        raise OutputExistsError(
            f"{out.name} 已存在 / {out.name} already exists: choose another name or pass --force"
        )
    data, rep = build(project, request, reports=reports)
    atomic_write(out, lambda tmp: tmp.write_bytes(data), force=force)
    rep.summary["out"] = out.name
    return rep
