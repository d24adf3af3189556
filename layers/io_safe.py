"""Atomic, non-clobbering writes: temp file in the target folder, then rename."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from layers.errors import InnoMapError

__all__ = ["OutputExistsError", "OutputPathError", "atomic_write", "write_json"]


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


def atomic_write(path: str | Path, writer: Callable[[Path], None], *, force: bool = False) -> Path:
    """Call ``writer(tmp_path)`` then move the result to ``path``.

    A failed writer leaves nothing behind; an existing ``path`` is only replaced
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
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=p.suffix)
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
