"""Atomic, non-clobbering writes: temp file in the target folder, then rename."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from layers.errors import InnoMapError

__all__ = [
    "TEMP_PREFIX",
    "OutputExistsError",
    "OutputPathError",
    "atomic_write",
    "clean_stale_temps",
    "temp_prefix",
    "write_json",
]

#: Hidden temporary files start with this, then the writer's process id and ``-``.
TEMP_PREFIX = ".innomap-"


class OutputExistsError(InnoMapError):
    """Raised when an output exists and overwriting was not confirmed."""


class OutputPathError(InnoMapError):
    """Raised when an output cannot be written where it was asked (missing rights, not a folder)."""


def _cannot_write(p: Path, exc: OSError) -> str:
    """A clear message for an impossible output path (no traceback, no temporary name)."""
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                return (
                    f"无法写入 {p}: {parent} 不是文件夹 / cannot write {p.name!r}: {str(parent)!r} "
                    "is not a folder; choose another --out"
                )
            break
    reason = exc.strerror or type(exc).__name__
    return (
        f"无法写入 {p} ({reason}) / cannot write {p.name!r} ({reason}): check that the folder "
        f"{str(p.parent)!r} can be created and written, or choose another --out"
    )


def temp_prefix() -> str:
    """Prefix of this process's temporary files (``.innomap-<pid>-``)."""
    return f"{TEMP_PREFIX}{os.getpid()}-"


def clean_stale_temps(folder: str | Path) -> list[str]:
    """Remove the temporary files in ``folder`` left by writers whose process is gone.

    A writer killed outright (SIGKILL, power loss) cannot clean up; its hidden
    ``.innomap-<pid>-…`` files (outputs being written, project copies and their
    SQLite journals) are removed by the next writer in the same folder. Files of
    live processes and of other users' processes are left alone.

    Returns
    -------
    list of str
        Names of the removed files.
    """
    removed = []
    try:
        candidates = list(Path(folder).glob(f"{TEMP_PREFIX}*-*"))
    except OSError:
        return removed
    for f in candidates:
        try:
            pid = int(f.name[len(TEMP_PREFIX) :].split("-", 1)[0])
        except ValueError:
            continue
        if pid == os.getpid() or pid <= 0:
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            try:
                f.unlink()
                removed.append(f.name)
            except OSError:  # a folder, no rights, removed meanwhile: not ours to fix
                pass
        except OSError:  # another user's process (PermissionError): alive
            pass
    return removed


def atomic_write(path: str | Path, writer: Callable[[Path], None], *, force: bool = False) -> Path:
    """Call ``writer(tmp_path)`` then move the result to ``path``.

    A failed or interrupted writer leaves nothing behind (the CLI turns SIGTERM
    into an exception, so this cleanup runs); the temporary file is hidden beside
    ``path`` as ``.innomap-<pid>-…`` and what a killed process left there is
    removed first (:func:`clean_stale_temps`). An existing ``path`` is only replaced
    with ``force=True``. A folder given as ``path``, a parent that cannot be
    created (``/dev/null/x``) or an OS error while writing raise
    :class:`OutputPathError` (the CLI exits 2 with the message).
    """
    p = Path(path)
    if p.is_dir():
        raise OutputPathError(
            f"{p} 是文件夹 / {p.name!r} is a folder: give a file name (a new file inside it, say)"
        )
    if p.exists() and not force:
        raise OutputExistsError(
            f"{p} 已存在 / {p.name} already exists: choose another name or confirm overwrite (--force)"
        )
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(p.parent)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=temp_prefix(), suffix=p.suffix)
    except OSError as exc:
        raise OutputPathError(_cannot_write(p, exc)) from None
    os.close(fd)
    os.unlink(tmp)  # let the writer create it (GDAL refuses some existing files)
    try:
        writer(Path(tmp))
        os.replace(tmp, p)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):  # disk full, no rights …: said plainly, no traceback
            raise OutputPathError(_cannot_write(p, exc)) from None
        raise
    return p


def write_json(path: str | Path, data, *, force: bool = False) -> Path:
    """Write ``data`` as UTF-8 JSON atomically."""

    def w(tmp: Path) -> None:
        tmp.write_text(
            json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
        )

    return atomic_write(path, w, force=force)
