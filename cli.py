"""InnoMap command line (``python cli.py --help``): only assembles the commands; each group
lives in :mod:`commands`, the analysis commands come from :mod:`workflows.analyses`."""

from __future__ import annotations

import argparse
import sys

import layers as _layers_pkg  # noqa: F401  (first: sets GDAL_SKIP=VRT before GDAL loads)
from commands import analysis, export, files, project, users
from commands.common import apply_help, command, flags, show
from workflows.analyses import check_folder as _check_out  # noqa: F401  (tests import it here)

__all__ = ["build_parser", "main"]


def _cmd_layers(args: argparse.Namespace) -> int:
    from layers.registry import load_all, project_sources
    from workflows.console import layers_lines

    table = project_sources(load_all())
    return show(args, table.to_dict(orient="records"), layers_lines(table, lang=args.lang))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command (help texts from ``commands/help.toml``)."""
    from workflows.choices import LANGUAGES

    parser = argparse.ArgumentParser(
        prog="python cli.py",
        description="InnoMap 创新资源一张图 — 批量处理的命令行 / command line for batch work.",
    )
    parser.add_argument("--as-user", dest="signin_user", metavar="NAME")
    parser.add_argument("--password-stdin", dest="signin_password_stdin", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = command(sub, "layers", _cmd_layers)
    flags(p, "--json")
    p.add_argument("--lang", choices=list(LANGUAGES), default="zh")
    for group in (analysis, export, files, project, users):
        group.add_parsers(sub)
    apply_help(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code.

    SIGTERM and SIGINT (Ctrl-C) stop a command through an exception, so an
    output being written is removed, not left as a hidden temporary file; the
    exit code is then 128 + the signal number (143, 130).
    """
    args = build_parser().parse_args(argv)
    from layers.auth import sign_in_cli
    from layers.errors import InnoMapError
    from workflows.stopping import Stopped, stop_on_sigterm, stopped

    try:
        with stop_on_sigterm():
            sign_in_cli(args.signin_user, password_stdin=args.signin_password_stdin)
            return int(args.func(args))
    except InnoMapError as exc:  # every user-facing error; the message explains the fix
        print(f"error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except (KeyboardInterrupt, Stopped) as exc:
        message, code = stopped(exc)
        print(message, file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
