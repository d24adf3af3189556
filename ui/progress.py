"""A progress bar with counts and a cancel button, passed to a workflow as ``on_progress``.

Usage::

    with ProgressBar(T("评估候选点", "Evaluating candidates"), key="site") as bar:
        report = guarded(siting.run, project, req, on_progress=bar)
    if was_cancelled("site"):
        ...

Cancel is a button under the bar: pressing it reruns the page, which stops the
running step at its next progress update (Streamlit checks for a rerun whenever
the page sends something); the rerun then finds the cancel flag set.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from ui.i18n import T
from workflows.progress import ProgressFn, run_with_ticks

R = TypeVar("R")

__all__ = ["ProgressBar", "pack_stages", "was_cancelled"]


def pack_stages() -> tuple[str, ...]:
    """The steps of a result pack (:data:`export.pack.PACK_STEPS`), named for the bar."""
    from export.pack import PACK_STEPS

    names = {
        "map.png": T("打印图 PNG", "print map PNG"),
        "map.pdf": T("打印图 PDF", "print map PDF"),
        "layers.gpkg": T("图层", "layers"),
        "tables": T("表格", "tables"),
        "README.md": T("说明文件", "README"),
    }
    return tuple(names.get(s, s) for s in PACK_STEPS)


def _flag(key: str) -> str:
    return f"{key}_cancelled"


def _cancel(key: str) -> None:
    st.session_state[_flag(key)] = True


def was_cancelled(key: str) -> bool:
    """True once after the cancel button of ``key`` was pressed (the flag is cleared)."""
    return bool(st.session_state.pop(_flag(key), False))


class ProgressBar:
    """``bar(done, total)`` shows ``text: done / total unit`` (throttled to ~10 updates a
    second); ``approx`` marks estimated counts with 约 / about; ``lazy`` draws nothing
    until an update shows work left (a step answered from a cache shows no bar);
    ``after`` is added once the counted part is done (e.g. 求解中 while a solver runs);
    ``stages`` names the steps when the counts are steps (shown instead of a bare count).

    :meth:`run` runs the work in a worker thread and updates the bar from the page's
    thread every quarter second, so the seconds keep counting and cancel works also
    while a step reports nothing (a solver, a download, a report being written)."""

    def __init__(
        self,
        text: str,
        *,
        key: str,
        unit: str = "",
        cancel: bool = True,
        approx: bool = False,
        lazy: bool = False,
        after: str = "",
        stages: tuple[str, ...] = (),
    ) -> None:
        self.text, self.key, self.unit, self.approx, self.after = text, key, unit, approx, after
        self.stages = tuple(stages)
        self._cancel, self._bar = cancel, None
        self._box = st.empty()
        if not lazy:  # lazy: drawn at the first update that is not already complete
            self._draw()
        self._last = 0.0
        self._start = time.monotonic()

    def _draw(self) -> None:
        with self._box.container():
            self._bar = st.progress(0.0, text=f"{self.text}…")
            if self._cancel:
                st.button(
                    T("取消", "Cancel"),
                    key=f"{self.key}_cancel",
                    on_click=_cancel,
                    args=(self.key,),
                    icon=":material/close:",
                )

    def label(self, done: int, total: int) -> str:
        """The bar's text for ``(done, total)``."""
        secs = time.monotonic() - self._start
        if not total:  # nothing counted yet, or counts without a known total
            unit = f" {self.unit}" if self.unit and done else ""
            counted = f": {done:,}{unit}" if done else ""
            return f"{self.text}{counted} · {secs:.0f} {T('秒', 's')}"
        if self.stages and done < total:
            step = self.stages[min(done, len(self.stages) - 1)]
            return f"{self.text}: {step} ({done + 1:,} / {total:,}) · {secs:.0f} {T('秒', 's')}"
        about = T("约 ", "about ") if self.approx and done < total else ""
        unit = f" {self.unit}" if self.unit else ""
        then = f" · {self.after}" if self.after and done >= total else ""
        return f"{self.text}: {about}{done:,} / {total:,}{unit}{then} · {secs:.0f} {T('秒', 's')}"

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if total and done >= total:
                return
            self._draw()
        now = time.monotonic()
        if now - self._last < 0.1 and done < total:
            return
        self._last = now
        frac = min(max(done / total, 0.0), 1.0) if total else 0.0
        self._bar.progress(frac, text=self.label(done, total))

    def run(self, work: Callable[[ProgressFn], R]) -> R:
        """``work(on_progress)`` in a worker thread, the bar following its latest counts.

        ``on_progress`` only records the counts (a worker thread must not draw); this
        thread draws them, with the seconds, every 0.25 s. An exception of ``work`` is
        raised here; a cancel (a rerun) stops the page here and leaves the worker to
        finish on its own, its result dropped.
        """
        latest = [0, 0]

        def record(done: int, total: int) -> None:
            latest[:] = [int(done), int(total)]

        def tick(_seconds: float) -> None:
            self(*latest)

        return run_with_ticks(lambda: work(record), tick=tick)

    def close(self) -> None:
        """Remove the bar and its button."""
        self._box.empty()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        """The bar goes when its work ends: done, failed, or stopped by a rerun (cancel, or
        any widget): a rerun of a fragment only would not redraw the page's part where the
        bar is, so it is removed here in every case."""
        if exc[0] is None:
            self.close()
            return
        try:
            self.close()
        except (Exception, ScriptControlException):  # the page is stopping anyway
            pass
