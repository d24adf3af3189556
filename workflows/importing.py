"""Importing a file with progress (the import page): rows counted, then read and checked.

:func:`layers.importer.import_file` reads, maps, parses and validates a file in
one call that reports nothing while it works. This workflow counts the file's
rows first (a constant-memory scan of a CSV's line ends, an XLSX sheet's size or
a layer's feature count), then runs the import in a worker thread and reports
``on_progress(done, total)``: ``done`` is an *estimate* from the rows per second
of this process's earlier imports (never past 95 % before the end), then the
rows actually read. The result is the import's own report, unchanged.
"""

from __future__ import annotations

import time
from pathlib import Path

from layers.importer import ImportOptions, ImportReport, import_file, inspect_file
from workflows.progress import ProgressFn, run_with_ticks

__all__ = ["count_rows", "rows_per_second", "run"]

#: Rows per second assumed before this process has timed an import.
DEFAULT_ROWS_PER_S = 15_000.0

_RATE = {"rows_per_s": DEFAULT_ROWS_PER_S}
_CHUNK = 1 << 20


def rows_per_second() -> float:
    """The import speed used for estimates (learned from finished imports)."""
    return _RATE["rows_per_s"]


def _csv_rows(p: Path) -> int:
    lines, last = 0, b"\n"
    with open(p, "rb") as f:
        while chunk := f.read(_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    lines += last != b"\n"  # a last line without a line end
    return max(lines - 1, 0)  # the header


def _xlsx_rows(p: Path, sheet: str | None) -> int | None:
    from openpyxl import load_workbook

    wb = load_workbook(p, read_only=True)
    try:
        ws = wb[sheet] if sheet and sheet in wb.sheetnames else wb.worksheets[0]
        return max((ws.max_row or 1) - 1, 0)
    finally:
        wb.close()


def _layer_rows(p: Path, layer: str | None) -> int | None:
    import pyogrio

    return int(pyogrio.read_info(p, layer=layer)["features"])


def count_rows(path: str | Path, options: ImportOptions | None = None) -> int | None:
    """Data rows (or features) of the file, counted cheaply; None when not known.

    A CSV counts line ends (a quoted line break counts as a row: an upper bound).
    """
    p = Path(path)
    opts = options or ImportOptions()
    try:
        fmt = inspect_file(p)["format"]
        if fmt == "csv":
            return _csv_rows(p)
        if fmt == "xlsx":
            return _xlsx_rows(p, opts.sheet)
        if fmt in ("gpkg", "geojson"):
            return _layer_rows(p, opts.layer)
    except Exception:  # a count is only a hint: the import reports the real problem
        return None
    return None


def run(
    path: str | Path,
    options: ImportOptions | None = None,
    *,
    on_progress: ProgressFn | None = None,
) -> ImportReport:
    """:func:`layers.importer.import_file` with ``on_progress(done, total)``.

    ``total`` is :func:`count_rows` (0 when unknown); ``done`` is estimated while
    the file is read and is the rows read at the end.
    """
    if on_progress is None:
        return import_file(path, options)
    total = count_rows(path, options) or 0
    on_progress(0, total)

    def tick(elapsed: float) -> None:
        if total:
            on_progress(int(min(0.95, elapsed * rows_per_second() / total) * total), total)
        else:
            on_progress(0, 0)

    start = time.monotonic()
    rep = run_with_ticks(lambda: import_file(path, options), tick=tick)
    seconds = time.monotonic() - start
    if rep.rows_total >= 1000 and seconds > 0.2:  # learn this machine's speed
        _RATE["rows_per_s"] = 0.5 * _RATE["rows_per_s"] + 0.5 * rep.rows_total / seconds
    on_progress(rep.rows_total, max(rep.rows_total, total))
    return rep
