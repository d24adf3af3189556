"""Stopping a long command cleanly: SIGTERM raised as an exception (Ctrl-C is one already),
so ``finally`` blocks remove unfinished outputs instead of leaving hidden temporary files.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Stopped", "stop_on_sigterm", "stopped"]


class Stopped(BaseException):
    """SIGTERM raised as an exception (not an :class:`Exception`: nothing catches it by accident)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise(signum, frame) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second SIGTERM stops at once
    raise Stopped(signum)


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Stopped` (main thread only: signals are
    delivered there); the previous handler is restored after."""
    handle = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise) if handle else None
    try:
        yield
    finally:
        if handle:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def stopped(exc: BaseException) -> tuple[str, int]:
    """The message and exit code (128 + the signal number: 143, 130) of a stopped command."""
    signum = int(getattr(exc, "signum", signal.SIGINT))
    name = signal.Signals(signum).name
    return (
        f"error: 已被 {name} 中断, 未完成的输出已删除 / stopped by {name}: unfinished "
        "outputs were removed; run the command again",
        128 + signum,
    )
