"""``python cli.py ARGS`` run in this process through ``cli.main(argv)``.

A fresh interpreter per command costs ~2–3 s of imports (GeoPandas, GDAL, pyproj) and
tests nothing the command's own code does not: tests of the CLI's behaviour use
:func:`run_cli`. Tests of the process boundary itself (signals, stdin passwords, the
server, peak memory of a fresh process) keep spawning ``python cli.py``.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path


class _Stream(io.TextIOWrapper):
    """A text stream with a ``buffer`` (commands that write bytes find one)."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", newline="")

    def value(self) -> str:
        self.flush()
        return self.buffer.getvalue().decode("utf-8")


def run_cli(*args, cwd: str | Path | None = None, stdin: str = "") -> subprocess.CompletedProcess:
    """Run the CLI with ``args`` (converted with ``str``) like ``python cli.py`` would.

    Returns a :class:`subprocess.CompletedProcess` with the exit code (argparse's exit
    code for a usage error, as the process would give) and the text written to stdout and
    stderr. An exception the CLI does not turn into an exit code propagates (a traceback
    the process would print fails the test).
    """
    from cli import main

    argv = [str(a) for a in args]
    out, err = _Stream(), _Stream()
    chdir = contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext()
    old_in = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with chdir, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse: --help, usage errors
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        sys.stdin = old_in
    return subprocess.CompletedProcess(
        [sys.executable, "cli.py", *argv], int(code), out.value(), err.value()
    )


__all__ = ["run_cli"]
