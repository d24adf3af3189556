"""Analysis commands, generated from the analysis registry, and ``report``.

Each registered analysis (:data:`workflows.analyses.ANALYSES` with command-line options)
becomes a command: its options come from the registry, its request is
``Request.from_dict`` of the options given, and its files are written by
:func:`workflows.analyses.write_result` — the layout the app's result pack holds too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import settings
from commands.common import (
    add_include_coarse,
    add_project_args,
    add_reach_args,
    check_out,
    open_project,
    warn,
)

__all__ = ["add_parsers", "request_params", "run_analysis"]


def _add_options(p: argparse.ArgumentParser, options) -> None:
    for opt in options:
        if opt == "@project":
            add_project_args(p)
        elif opt == "@coarse":
            add_include_coarse(p)
        elif opt[0] == "@reach":
            add_reach_args(p, **opt[1])
        else:
            p.add_argument(*opt[0], **opt[1])


def _takes_none(annotation) -> bool:
    """Whether a field's annotation admits ``None`` (``int | None``, ``Optional[int]``)."""
    text = str(annotation)
    return "None" in text or "Optional" in text


def request_params(analysis, args: argparse.Namespace) -> dict:
    """The request's JSON keys from the options given.

    An option left unset (``None``) is passed as ``None`` to a field that takes it (e.g.
    ``k``: not given) and left out otherwise, so the request's own default applies.
    """
    fields = dict(analysis.request_class().__dataclass_fields__)
    if "reach" in fields:
        from workflows.coverage import ReachOptions

        fields |= ReachOptions.__dataclass_fields__
    if "layers" in fields:
        fields["layer"] = fields["layers"]
    return {
        k: v
        for k, v in vars(args).items()
        if k in fields and (v is not None or _takes_none(fields[k].type))
    }


def _print_skipped(summary: dict) -> None:
    """With ``--skip-invalid``: the count of file rows left out and where (also in summary.json)."""
    n = summary.get("skipped_invalid") or 0
    if n:
        files = sorted({str(r.get("file")) for r in summary.get("skipped_rows", [])})
        print(f"skipped {n} invalid rows ({', '.join(files)}); listed in summary.json")


def _print_coarse(summary: dict) -> None:
    """Points left out (or used) by the precision rule, and why (also in summary.json)."""
    from workflows.common import precision_notes

    for line in precision_notes(summary):
        print(line)


def run_analysis(args: argparse.Namespace) -> int:
    """Run the analysis named by the command and write its files in ``--out``."""
    from workflows import analyses

    a = analyses.get(args.command)
    project = open_project(args)
    req = a.request_from_dict(request_params(a, args))
    out = Path(args.out)
    check_out(out, list(a.files), force=args.force)
    report = a.run(project, req)
    s = report.summary
    warn(s.get("warnings"))
    for note in a.console_notes:
        (_print_skipped if note == "skipped" else _print_coarse)(s)
    analyses.write_result(report, out, analysis=a.key)
    if s.get("synthetic_note"):  # synthetic rows drive the result: said on the console too
        print(s["synthetic_note"])
    print(f"{a.console(s)}; wrote {out}" if a.console else f"wrote {out}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from workflows.report import ReportRequest, run

    project = open_project(args)
    req = ReportRequest(
        runs=tuple(args.runs or ()),
        format=args.format,
        title=args.title,
        dpi=args.dpi,
        sections=args.sections,
    )
    report = run(project, req, out=args.out, force=args.force)
    s = report.summary
    for r in s["runs"]:
        for n in r["notes"]:
            print(f"warning: {r['id']}: {n}", file=sys.stderr)
    if s["synthetic_note"]:
        print(s["synthetic_note"])
    print(f"{len(s['runs'])} analyses, {sum(r['maps'] for r in s['runs'])} maps; wrote {args.out}")
    return 0


def _add_report_parser(sub) -> None:
    from workflows.choices import REPORT_FORMATS as FORMATS

    p = sub.add_parser(
        "report",
        help="Word (docx) or PDF report of saved runs: method, tables, print maps, sources",
        description="A report of the project's saved runs (all when --runs is not given); "
        "PDF needs LibreOffice, which no Python requirement brings (PDF 需要 LibreOffice: "
        "Debian/Ubuntu apt-get install libreoffice-writer-nogui).",
    )
    p.add_argument("--project", metavar="P", default=None, help="project .gpkg (default: demo)")
    p.add_argument("--runs", nargs="+", metavar="ID", help="run ids (default: all saved runs)")
    p.add_argument("--format", choices=list(FORMATS), default="docx")
    p.add_argument("--title", default=None, help="report title (default 创新资源空间分析报告)")
    p.add_argument("--dpi", type=int, default=settings.PRINT_DPI, help="print map resolution")
    p.add_argument(
        "--sections",
        metavar="a,b,c",
        default=None,
        help="报告章节及顺序 / sections and their order (default: all): title 封面, method "
        "方法与参数, results 主要结果, sources 数据来源与坐标精度, notes 说明, maps 地图, "
        "data 项目数据; e.g. --sections title,results,maps",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")
    p.add_argument("--out", required=True, metavar="R.docx")
    p.set_defaults(func=_cmd_report)


def add_parsers(sub) -> None:
    """One command per registered analysis with options, then ``report``."""
    from workflows.analyses import ANALYSES

    for a in ANALYSES.values():
        if not a.cli_options:
            continue
        p = sub.add_parser(a.key, help=a.cli_help, description=a.cli_description or None)
        _add_options(p, a.cli_options)
        p.set_defaults(func=run_analysis)
    _add_report_parser(sub)
