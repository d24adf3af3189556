"""Progress of long steps: ``on_progress(done, total)`` callbacks, as in
:func:`workflows.geocode.run`.

A workflow calls ``on_progress`` with counts it knows (rows, nodes, candidates,
maps). A step that gives no counts while it works (a library call) runs in a
worker thread by :func:`run_with_ticks`, which calls ``tick(seconds)`` from the
caller's thread meanwhile: a page updates its bar there, which is also where a
Streamlit rerun (the cancel button) stops the page. The worker is then left to
finish on its own and its result is dropped.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["ProgressFn", "run_with_ticks", "stages", "stderr_steps"]

T = TypeVar("T")

#: ``on_progress(done, total)``.
ProgressFn = Callable[[int, int], None]


def run_with_ticks(
    fn: Callable[[], T], *, tick: Callable[[float], None] | None, every_s: float = 0.25
) -> T:
    """``fn()``; while it runs, ``tick(elapsed_seconds)`` every ``every_s`` in this thread.

    Without ``tick`` the function simply runs here. The worker runs in a copy of
    this thread's context, so context variables such as the acting user of
    :mod:`layers.auth` hold there too (a store write in the worker is the same
    user's). An exception of ``fn`` is
    raised here; an exception of ``tick`` (e.g. Streamlit stopping the page)
    leaves the worker running and propagates.
    """
    if tick is None:
        return fn()
    box: dict = {}
    context = contextvars.copy_context()  # the acting user (layers.auth) goes with the work

    def work() -> None:
        try:
            box["value"] = context.run(fn)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="innomap-work", daemon=True)
    start = time.monotonic()
    worker.start()
    while worker.is_alive():
        worker.join(every_s)
        if worker.is_alive():
            tick(time.monotonic() - start)
    if "error" in box:
        raise box["error"]
    return box["value"]


def stages(on_progress: ProgressFn | None, total: int) -> Callable[[int], None]:
    """``step(i)`` reports ``(i, total)`` (nothing without ``on_progress``)."""

    def step(i: int) -> None:
        if on_progress is not None:
            on_progress(min(i, total), total)

    return step


def stderr_steps(
    label: str,
    *,
    after_s: float | None = None,
    stream=None,
    then: str = "写出结果文件… / writing the result files…",
) -> ProgressFn:
    """An ``on_progress(done, total)`` for the command line: one stderr line per step,
    ``label: step done/total (N s)``, once the work has run ``after_s`` seconds (default
    ``settings.CLI_PROGRESS_AFTER_S``; quick runs print nothing). The last step says that
    the result files are written next (``then``)."""
    import sys

    import settings

    wait = settings.CLI_PROGRESS_AFTER_S if after_s is None else float(after_s)
    start = time.monotonic()

    def progress(done: int, total: int) -> None:
        elapsed = time.monotonic() - start
        if elapsed < wait:
            return
        more = f"; {then}" if then and done >= total else ""
        print(
            f"{label}: step {done}/{total} ({elapsed:.1f} s){more}",
            file=stream or sys.stderr,
            flush=True,
        )

    return progress
