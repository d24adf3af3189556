"""Atomic, non-clobbering writes: temp file in the target folder, then rename."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from layers.errors import InnoMapError

__all__ = ["OutputExistsError", "atomic_write", "write_json"]


class OutputExistsError(InnoMapError):
    """Raised when an output exists and overwriting was not confirmed."""


def atomic_write(path: str | Path, writer: Callable[[Path], None], *, force: bool = False) -> Path:
    """Call ``writer(tmp_path)`` then move the result to ``path``.

    A failed writer leaves nothing behind; an existing ``path`` is only replaced
    with ``force=True``.
    """
    p = Path(path)
    if p.exists() and not force:
        raise OutputExistsError(
            f"{p} 已存在 / {p.name} already exists: choose another name or confirm overwrite (--force)"
        )
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=p.suffix)
    os.close(fd)
    os.unlink(tmp)  # let the writer create it (GDAL refuses some existing files)
    try:
        writer(Path(tmp))
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return p


def write_json(path: str | Path, data, *, force: bool = False) -> Path:
    """Write ``data`` as UTF-8 JSON atomically."""

    def w(tmp: Path) -> None:
        tmp.write_text(
            json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
        )

    return atomic_write(path, w, force=force)
