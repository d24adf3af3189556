"""InnoMap command line: batch work for planners.

``cli.py`` only assembles the commands; each group lives in :mod:`commands` and the
analysis commands are generated from the analysis registry (:mod:`workflows.analyses`).

Examples
--------
python cli.py layers
python cli.py layers --json
"""

from __future__ import annotations

import argparse
import json
import sys

import layers as _layers_pkg  # noqa: F401  (first: sets GDAL_SKIP=VRT before GDAL loads)
from commands import analysis, export, files, project, users
from commands.common import check_out as _check_out  # noqa: F401  (tests import it from here)

__all__ = ["build_parser", "main"]


def _cmd_layers(args: argparse.Namespace) -> int:
    from layers.registry import load_all, project_sources

    table = project_sources(load_all())
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), ensure_ascii=False, indent=2))
        return 0
    name_col = "name_en" if args.lang == "en" else "name_zh"
    width = max(len(k) for k in table["layer"])
    print(f"{'layer':<{width}}  {'rows':>6}  {'synthetic':>9}  {'geometry':<8}  {'crs':<10}  name")
    for r in table.itertuples():
        print(
            f"{r.layer:<{width}}  {r.rows:>6}  {r.synthetic_rows:>9}  {r.geometry:<8}  "
            f"{r.crs:<10}  {getattr(r, name_col)}"
        )
        for s in r.sources:
            print(f"{'':<{width}}    source: {s}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="python cli.py",
        description="InnoMap 创新资源一张图 — command line for batch work.",
    )
    parser.add_argument(
        "--as-user",
        dest="signin_user",
        metavar="NAME",
        help="sign in as NAME (when INNOMAP_USERS is set; the password is read from stdin)",
    )
    parser.add_argument(
        "--password-stdin",
        dest="signin_password_stdin",
        action="store_true",
        help="with --as-user: read the password from the first line of stdin",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "layers",
        help="list the embedded layers with row counts, CRS and sources",
        description="List the embedded layers (registry keys) with row counts, CRS and sources.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of layer names")
    p.set_defaults(func=_cmd_layers)

    analysis.add_parsers(sub)
    export.add_parsers(sub)
    files.add_parsers(sub)
    project.add_parsers(sub)
    users.add_parsers(sub)
    return parser


def _sign_in(args: argparse.Namespace) -> None:
    """Set who runs this command (roles are checked where data is changed, in the store)."""
    from layers import auth

    password = None
    if args.signin_user and auth.auth_mode() == "users":
        if not args.signin_password_stdin:
            raise auth.AuthError(
                "--as-user 需要 --password-stdin / --as-user needs --password-stdin"
            )
        password = sys.stdin.readline().rstrip("\r\n")
    auth.set_actor(auth.cli_actor(args.signin_user, password))


class _Stopped(BaseException):
    """SIGTERM raised as an exception, so ``finally`` blocks remove unfinished outputs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop_on_sigterm(signum, frame) -> None:
    import signal

    signal.signal(signum, signal.SIG_DFL)  # a second SIGTERM stops at once
    raise _Stopped(signum)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code.

    SIGTERM and SIGINT (Ctrl-C) stop a command through an exception, so an
    output being written is removed, not left as a hidden temporary file; the
    exit code is then 128 + the signal number (143, 130).
    """
    import signal
    import threading

    parser = build_parser()
    args = parser.parse_args(argv)
    from layers.errors import InnoMapError

    handle = threading.current_thread() is threading.main_thread()  # signals: main thread only
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm) if handle else None
    try:
        _sign_in(args)
        return int(args.func(args))
    except InnoMapError as exc:  # every user-facing error; the message explains the fix
        print(f"error: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except (KeyboardInterrupt, _Stopped) as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        name = signal.Signals(signum).name
        print(
            f"error: 已被 {name} 中断, 未完成的输出已删除 / stopped by {name}: unfinished "
            "outputs were removed; run the command again",
            file=sys.stderr,
        )
        return 128 + int(signum)
    finally:
        if handle:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


if __name__ == "__main__":
    sys.exit(main())
