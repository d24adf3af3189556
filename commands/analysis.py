"""Analysis commands, generated from the analysis registry (options, request, the files
:func:`workflows.analyses.write_result` writes — the result pack's too), ``report``, ``compare``."""

from __future__ import annotations

import argparse
from pathlib import Path

import settings
from commands import common
from commands.common import add_project_args, add_reach_args, command, flags, open_project, opts

__all__ = ["add_parsers", "run_analysis"]


def _add_options(p: argparse.ArgumentParser, options) -> None:
    for opt in options:
        if opt == "@project":
            add_project_args(p)
        elif opt == "@coarse":  # --include-coarse: its former name
            p.add_argument("--include-imprecise", "--include-coarse", action="store_true")
        elif opt[0] == "@reach":
            add_reach_args(p, **opt[1])
        else:
            p.add_argument(*opt[0], **opt[1])


def run_analysis(args: argparse.Namespace) -> int:
    """Run the analysis named by the command and write its files in ``--out``."""
    from workflows import analyses
    from workflows.console import analysis_notes

    a = analyses.get(args.command)
    project = open_project(args)
    req = a.request_from_options(vars(args))
    out = Path(args.out)
    analyses.check_folder(out, list(a.files), force=args.force)
    save_as = getattr(args, "save_run", None)
    if save_as is not None:  # before the work: a taken name or a read-only project
        from workflows.runs import check_new_name

        check_new_name(project, save_as)
    from workflows.progress import stderr_steps

    report = analyses.run_reporting(a, project, req, stderr_steps(a.key))  # long: steps on stderr
    s = report.summary
    common.warn(s.get("warnings"))
    common.say(analysis_notes(a.console_notes, s))
    analyses.write_result(report, out, analysis=a.key)
    if s.get("synthetic_note"):  # synthetic rows drive the result: said on the console too
        print(s["synthetic_note"])
    print(f"{a.console(s)}; wrote {out}" if a.console else f"wrote {out}")
    if save_as is not None:
        from workflows.runs import save_report

        rec = save_report(project, report, name=save_as)
        print(f"已保存运行 / saved run {rec.name!r} ({rec.id})")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    """``compare``: the registry's analysis of that name, registered by its workflow."""
    import workflows.compare  # noqa: F401  (registers the analysis "compare")

    return run_analysis(args)


def _cmd_report(args: argparse.Namespace) -> int:
    from workflows.analyses import from_options
    from workflows.report import ReportRequest, run

    req = from_options(ReportRequest, vars(args))
    s = run(open_project(args), req, out=args.out, force=args.force).summary
    common.warn(f"{r['id']}: {n}" for r in s["runs"] for n in r["notes"])
    if s["synthetic_note"]:
        print(s["synthetic_note"])
    print(f"{len(s['runs'])} analyses, {sum(r['maps'] for r in s['runs'])} maps; wrote {args.out}")
    return 0


def add_parsers(sub) -> None:
    """One command per registered analysis with options, then ``report``."""
    from workflows.analyses import ANALYSES
    from workflows.choices import REPORT_FORMATS

    for a in ANALYSES.values():
        if a.cli_options:
            p = command(sub, a.key, run_analysis, help=a.cli_help, description=a.cli_description)
            _add_options(p, a.cli_options)
            p.add_argument("--save-run", metavar="NAME")
    p = command(sub, "report", _cmd_report)
    opts(p, "--project P", "--title", "--sections a,b,c", "--out R.docx!")
    p.add_argument("--runs", nargs="+", metavar="ID")
    p.add_argument("--format", choices=list(REPORT_FORMATS), default="docx")
    p.add_argument("--dpi", type=int, default=settings.PRINT_DPI)
    flags(p, "--force")
    p = command(sub, "compare", _cmd_compare)
    opts(p, "--project P", "--out DIR!")
    p.add_argument("--runs", nargs=2, required=True, metavar=("A", "B"))
    flags(p, "--force")
