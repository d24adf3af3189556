"""Bounded, line-exact readers of tables (CSV/TXT, XLSX) for the importer.

Hostile and broken files must give a clear error with the place and the limit,
never a memory blow-up or a silently shortened table:

* a CSV is first scanned in 1 MiB chunks (no parsing, constant memory): a line
  longer than ``READ_LIMITS["max_line_bytes"]`` or more than
  ``READ_LIMITS["max_nul_bytes"]`` NUL bytes refuse the file before anything is
  parsed; the encoding (UTF-8, UTF-8 with BOM, GBK/GB18030 with or without a
  stray UTF-8 BOM, UTF-16 with or without BOM) is decided in the same pass;
* records are then read with :mod:`csv` from the decoded stream; every record
  keeps its **file line number** (blank lines and quoted line breaks counted),
  a long row with data past the header is an error of that row, a short row a
  warning of that row; a large file of one-line records (no NUL, no CR-only
  line end, no ragged row, no quoted line break) is read by Arrow instead
  (:func:`_read_csv_fast`: the same table, ~8x faster), any doubt falls back;
* an XLSX is checked as a zip (uncompressed size and compression ratio of every
  member) before openpyxl opens it; cells are read from the sheet XML without
  trusting its ``<dimension>`` tag (stale in files of many generators), with the
  sheet's real row numbers; a formula without a saved result is an error of its
  row; hidden sheets are listed last and the first visible sheet is the default;
* headers equal when case and width are ignored (``经度``/``经度``, ``lon``/``LON``)
  are one column when their values agree and an error naming both otherwise;
* a NUL character inside a value rejects the row (the value is kept whole, the
  NUL shown as ``␀``), never cuts the text.

Messages name the file, the line/row/column and the limit, are bilingual and
never echo more than ~200 characters of a header.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import importlib.util
import io
import itertools
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from layers.errors import InnoMapError
from layers.safe import escape_html, truncate

__all__ = [
    "NUL_SHOWN",
    "READ_LIMITS",
    "XLSX_LIMITS",
    "ImportFileError",
    "RowProblem",
    "Table",
    "check_xlsx_zip",
    "column_key",
    "columns_text",
    "dedupe_columns",
    "detect_header",
    "is_footnote",
    "nul_problems",
    "read_csv_table",
    "read_xlsx_table",
    "scan_text",
    "split_footnotes",
    "table_head",
    "writable_names",
    "xlsx_sheets",
]

#: Limits of text tables (bytes of one line, NUL bytes in a file, columns of a table).
READ_LIMITS = {"max_line_bytes": 1 << 20, "max_nul_bytes": 1_000, "max_columns": 1_000}
#: Limits of an XLSX archive, checked before openpyxl reads it.
XLSX_LIMITS = {
    "max_total_bytes": 500_000_000,
    "max_member_bytes": 300_000_000,
    "max_ratio": 100.0,
    "max_entries": 10_000,
}
#: How a NUL character of a value is shown in the rejected rows.
NUL_SHOWN = "\u2400"
#: Column names a GeoPackage or the importer's outputs reserve.
RESERVED_NAMES = ("fid", "ogc_fid", "geom", "geometry", "row", "reason")

_CHUNK = 1 << 20
_DELIMITERS = (",", ";", "\t", "|")


class ImportFileError(InnoMapError):
    """The file cannot be read at all; the message names the file and the fix."""


@dataclass(frozen=True)
class RowProblem:
    """A problem of one record found while reading (``index``: position in the frame)."""

    index: int
    field: str
    value: str
    message: str
    severity: str = "error"


@dataclass
class Table:
    """Text cells of a table with the file line (or sheet row) of every record."""

    frame: pd.DataFrame
    lines: np.ndarray
    problems: list[RowProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    encoding: str | None = None
    #: the header's line (CSV) or sheet row (XLSX), 1-based; its last row for a two-row header
    header_row: int = 1
    #: rows above the header (titles) and below the last record (footnotes): ``(row, text)``
    titles: list[tuple[int, str]] = field(default_factory=list)
    footnotes: list[tuple[int, str]] = field(default_factory=list)
    #: the sheet of every record when several sheets of one header were read together
    sheet_of: np.ndarray | None = None


def columns_text(columns, *, max_chars: int = 200) -> str:
    """The column names joined, cut to ``max_chars`` characters (never a whole header)."""
    return escape_html(truncate(", ".join(map(str, columns)), max_chars=max_chars))


def _shown(value, max_chars: int = 60) -> str:
    return escape_html(truncate(value, max_chars=max_chars))


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


# ---------------------------------------------------------------- CSV scan
def _utf16_without_bom(head: bytes) -> str | None:
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    z_even, z_odd = even.count(0), odd.count(0)
    n = len(even)
    codec = None
    if z_odd >= 0.3 * n and z_even <= 0.05 * n:
        codec = "utf-16-le"
    elif z_even >= 0.3 * n and z_odd <= 0.05 * n:
        codec = "utf-16-be"
    if codec is None:
        return None
    try:
        text = codecs.getincrementaldecoder(codec)("strict").decode(sample)
    except UnicodeDecodeError:
        return None
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not any(d in first for d in _DELIMITERS):  # a header has columns: else it is not text
        return None
    return codec


def _decodes(path: Path, codec: str, skip: int) -> tuple[bool, int]:
    """Whether the whole file decodes as ``codec`` (streamed); the line of the first failure."""
    dec = codecs.getincrementaldecoder(codec)("strict")
    line = 1
    with open(path, "rb") as f:
        f.seek(skip)
        while chunk := f.read(_CHUNK):
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as exc:
                return False, line + chunk[: exc.start].count(b"\n")
            line += chunk.count(b"\n")
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            return False, line
    return True, line


def _longest_line(arr: np.ndarray, run: int) -> tuple[int, int, int]:
    """``(longest line, where it ends in the chunk, the open line's length after it)`` of a
    chunk, the line open before it being ``run`` bytes long."""
    breaks = np.flatnonzero((arr == 10) | (arr == 13))
    if breaks.size == 0:
        run += len(arr)
        return run, len(arr), run
    gaps = np.diff(breaks) - 1
    seg = np.concatenate(([run + breaks[0]], gaps))
    k = int(np.argmax(seg))
    longest, at = int(seg[k]), int(breaks[k])
    run = len(arr) - int(breaks[-1]) - 1
    if run > longest:
        longest, at = run, len(arr)
    return longest, at, run


def _check_lines(path: Path, name: str, skip: int, *, count_nul: bool) -> bool:
    """Stream the bytes: refuse an over-long line or a file of NUL bytes; is it valid UTF-8?"""
    max_line, max_nul = READ_LIMITS["max_line_bytes"], READ_LIMITS["max_nul_bytes"]
    utf8 = codecs.getincrementaldecoder("utf-8")("strict")
    utf8_ok = True
    lines_before, run, nuls = 0, 0, 0
    with open(path, "rb") as f:
        f.seek(skip)
        while chunk := f.read(_CHUNK):
            if count_nul:
                nuls += chunk.count(b"\x00")
                if nuls > max_nul:
                    raise ImportFileError(
                        f"{name}: 含有超过 {max_nul:,} 个 NUL 字节, 不是文本表格 / more than "
                        f"{max_nul:,} NUL bytes (the limit): this is a binary file, not a text "
                        "table; export the data again as CSV"
                    )
            arr = np.frombuffer(chunk, dtype=np.uint8)
            longest, at, run = _longest_line(arr, run)
            if longest > max_line:
                line = lines_before + int(np.count_nonzero(arr[:at] == 10)) + 1
                raise ImportFileError(
                    f"{name}: 第 {line} 行超过 {_mb(max_line)} / line {line} is longer than "
                    f"{_mb(max_line)} (the limit of one line): this is not a table of records; "
                    "check the line endings and the delimiter, or export the data again as CSV"
                )
            lines_before += int(np.count_nonzero(arr == 10))
            if utf8_ok:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
    if utf8_ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    return utf8_ok


def scan_text(path: Path, *, name: str, encoding: str | None = None) -> tuple[str, str, int]:
    """Check a text table's lines and bytes in constant memory and decide its encoding.

    Returns
    -------
    tuple
        ``(label, codec, skip)``: the encoding as reported, the Python codec and
        the number of leading bytes (a BOM) to skip.

    Raises
    ------
    ImportFileError
        An over-long line, a file of NUL bytes, an unknown encoding.
    """
    st = Path(path).stat()
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns, encoding)
    if key not in _SCANNED:
        if len(_SCANNED) > 16:
            _SCANNED.clear()
        _SCANNED[key] = _scan(Path(path), name, encoding)
    return _SCANNED[key]


_SCANNED: dict[tuple, tuple[str, str, int]] = {}


def _scan(path: Path, name: str, encoding: str | None) -> tuple[str, str, int]:
    with open(path, "rb") as f:
        head = f.read(4096)
    if encoding:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise ImportFileError(
                f"{name}: 未知编码 {_shown(encoding)} / unknown encoding: use UTF-8, GBK or UTF-16"
            ) from None
        skip = 3 if codec == "utf-8" and head.startswith(codecs.BOM_UTF8) else 0
        _check_lines(path, name, skip, count_nul=not codec.startswith("utf-16"))
        return encoding, codec, skip
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        _check_lines(path, name, 2, count_nul=False)
        return "UTF-16 (BOM)", "utf-16", 0
    no_bom16 = _utf16_without_bom(head)
    if no_bom16:
        _check_lines(path, name, 0, count_nul=False)
        ok, line = _decodes(path, no_bom16, 0)
        if ok:
            return f"{no_bom16.upper()} (no BOM)", no_bom16, 0
    bom = 3 if head.startswith(codecs.BOM_UTF8) else 0
    if _check_lines(path, name, bom, count_nul=True):
        return ("UTF-8 (BOM)" if bom else "UTF-8"), "utf-8", bom
    ok, line = _decodes(path, "gb18030", bom)
    if ok:
        return ("GBK/GB18030 (UTF-8 BOM ignored)" if bom else "GBK/GB18030"), "gb18030", bom
    raise ImportFileError(
        f"{name}: 无法识别编码(第 {line} 行附近) / cannot detect the encoding near line {line}: "
        "not UTF-8, GBK or UTF-16; re-save the file as CSV UTF-8"
    )


# ---------------------------------------------------------------- header rows, footnotes
#: Non-blank rows looked at to find the header (titles, subtitles, units above it).
HEAD_ROWS = 30
_NUMBER = re.compile(r"^[+\-]?(?:\d[\d,]*)?(?:\.\d+)?(?:[eE][+\-]?\d+)?%?$")
_PAIR = re.compile(r"^[+\-]?\d+(?:\.\d+)?\s*[,，、;；\s]\s*[+\-]?\d+(?:\.\d+)?$")
#: Openings of a footnote row: a note, an explanation, a source, a total, who filled it in.
FOOTNOTE_WORDS = (
    "注",
    "备注",
    "附注",
    "说明",
    "填报说明",
    "填表说明",
    "数据来源",
    "资料来源",
    "来源",
    "合计",
    "总计",
    "小计",
    "制表",
    "制表人",
    "填表人",
    "填报人",
    "审核",
    "审核人",
    "统计时间",
    "截至",
    "截止",
)
_FOOTNOTE = re.compile(
    r"^(?:[*※]|(?:" + "|".join(sorted(FOOTNOTE_WORDS, key=len, reverse=True)) + r")"
    r"(?:\s*[:：、,，.．;；(（\[【\d一二三四五六七八九十]|\s|$))"
)
_TOTAL = re.compile(r"^(?:合计|总计|小计)(?:\s|[:：]|$)")


_BRACKETS = re.compile(r"[(\[{<（【〔《「][^)\]}>）】〕》」]*[)\]}>）】〕》」]")
_UNIT_TAIL = re.compile(
    r"(?:[/／]|单位[:：]?)\s*(?:万元|元|人|个|家|平方米|㎡|m2|m²|公顷|亩|km2|km²|平方公里|%|°|度)$"
)


def column_key(name) -> str:
    """A column name compared tolerantly: NFKC (full-width forms), case, spaces, bracketed
    parts such as units or sources (``从业人员（人）``, ``经度（高德）``, ``面积[㎡]``) and a
    unit after a slash (``研发投入/万元``) left out; the whole name when nothing else is left."""
    s = unicodedata.normalize("NFKC", str(name)).strip().casefold()
    s = re.sub(r"\s+", "", s).replace("\ufeff", "")
    bare = _UNIT_TAIL.sub("", _BRACKETS.sub("", s)).strip("°:：*※_-")
    return bare or s


def bracketed(name) -> str:
    """The bracketed parts of a column name (``高德`` of ``经度（高德）``), for CRS hints."""
    s = unicodedata.normalize("NFKC", str(name))
    return " ".join(m.group(0) for m in _BRACKETS.finditer(s))


def _cell(value) -> str:
    return unicodedata.normalize("NFKC", "" if value is None else str(value)).strip()


_UNIT_CELL = re.compile(
    r"^(?:[(\[（【][^)\]）】]{1,12}[)\]）】]|万元|亿元|元|人|个|家|项|平方米|㎡|m2|m²|亩|公顷|"
    r"平方公里|km2|km²|%|度|°|单位[:：].{1,8})$"
)


def _is_texty(cell: str) -> bool:
    """A cell that can name a column: not a number, a percentage or a coordinate pair."""
    return not (_NUMBER.match(cell) or _PAIR.match(cell))


def _header_like(cells: list[str], width: int) -> bool:
    filled = [c for c in cells if c]
    n = len(filled)
    if n < 2 or 2 * n < width or len(set(filled)) < 2:
        return False
    return sum(map(_is_texty, filled)) >= 0.75 * n


def detect_header(rows: list[list[str]]) -> tuple[int, int]:
    """``(index, depth)`` of the header among the first non-blank rows of a table.

    Title rows (one merged cell, or fewer filled cells than half the table's
    width) and subtitles are skipped: the header is the first row with at least
    two distinct filled cells, at least half as many as the widest row, and
    three quarters of them text (not numbers or coordinate pairs). ``depth`` is
    2 when the next row is a second header row below merged header cells (it
    fills columns the header leaves blank, leaves some it fills blank, and
    holds text only) or a row of units (``(人)``, ``万元``). A one-column table, or one without such a row, takes its
    widest row (the first of them).
    """
    cells = [[_cell(v) for v in r] for r in rows]
    if not cells:
        return 0, 1
    width = max(sum(1 for c in r if c) for r in cells)
    for i, r in enumerate(cells):
        if not _header_like(r, width):
            continue
        if i + 1 < len(cells):
            nxt = cells[i + 1]
            units = [y for y in nxt if y]
            if units and all(_UNIT_CELL.match(y) for y in units):
                return i, 2  # a row of units below the header: (人), (万元), 单位:米
            pad = max(len(r), len(nxt))
            a, b = r + [""] * (pad - len(r)), nxt + [""] * (pad - len(nxt))
            fills = any(not x and y for x, y in zip(a, b, strict=True))
            leaves = any(x and not y for x, y in zip(a, b, strict=True))
            if fills and leaves and all(_is_texty(y) for y in b if y):
                return i, 2
        return i, 1
    counts = [sum(1 for c in r if c) for r in cells]
    return counts.index(max(counts)), 1


def header_names(rows: list[list[str]], depth: int) -> list:
    """The column names of a header of ``depth`` rows (the lower row's cell where filled)."""
    if depth == 1:
        return list(rows[0])
    top, low = list(rows[0]), list(rows[1])
    pad = max(len(top), len(low))
    top, low = top + [None] * (pad - len(top)), low + [None] * (pad - len(low))
    out = []
    for hi, lo in zip(top, low, strict=True):
        h, u = _cell(hi), _cell(lo)
        if h and u and _UNIT_CELL.match(u):  # 从业人员 over (人): 从业人员(人)
            out.append(f"{h}{u}" if u[0] in "(（[【" else f"{h}({u})")
        else:
            out.append(lo if u else hi)
    return out


def is_footnote(cells) -> bool:
    """A row below the data that is a note, source or total, not a record.

    Its only filled cell (a merged cell has one) starts with 注, 备注, 说明,
    数据来源, 资料来源, 填报说明, 制表 … (or ``*``/``※``), or its first filled cell
    is a total (合计, 总计, 小计) whatever follows.
    """
    filled = [c for c in map(_cell, cells) if c]
    if not filled:
        return False
    if _TOTAL.match(filled[0]):
        return True
    return len(filled) == 1 and bool(_FOOTNOTE.match(filled[0]))


def _row_text(cells) -> str:
    return " | ".join(c for c in map(_cell, cells) if c)


def split_footnotes(table: Table, *, scan: int = 50) -> Table:
    """Move the footnote rows at the bottom of ``table`` (see :func:`is_footnote`) to
    ``table.footnotes``: the trailing run of such rows, at most ``scan`` of them."""
    n = len(table.frame)
    if not n:
        return table
    tail = table.frame.iloc[max(n - scan, 0) :].astype(str).to_numpy(dtype=object)
    k = 0
    while k < min(len(tail), n - 1) and is_footnote(tail[len(tail) - 1 - k]):
        k += 1
    if not k:
        return table
    rows = tail[len(tail) - k :]
    lines = table.lines[n - k :]
    table.footnotes += [(int(ln), _row_text(r)) for ln, r in zip(lines, rows, strict=True)]
    table.frame = table.frame.iloc[: n - k].reset_index(drop=True)
    table.lines = table.lines[: n - k]
    if table.sheet_of is not None:
        table.sheet_of = table.sheet_of[: n - k]
    table.problems = [p for p in table.problems if p.index < n - k]
    return table


def _title_note(row: int, text: str) -> str:
    return f"第 {row} 行为表头上方的标题/说明: {_shown(text, 80)} / row {row} is above the header (a title): kept as a note"


def _footnote_note(row: int, text: str) -> str:
    return f"第 {row} 行为表注: {_shown(text, 120)} / row {row} is a footnote: kept as a note"


# ---------------------------------------------------------------- CSV read
def _sniff_delimiter(line: str) -> str:
    bare = re.sub(r'"[^"]*"', "", line)
    counts = {d: bare.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])  # ties keep the earlier (comma first)
    return best if counts[best] else ","


def _header_names(raw: list, name: str, where: str) -> list[str]:
    if len(raw) > READ_LIMITS["max_columns"]:
        raise ImportFileError(
            f"{name}{where}: 表头有 {len(raw):,} 列, 超过上限 {READ_LIMITS['max_columns']:,} / "
            f"the header has {len(raw):,} columns, more than the limit of "
            f"{READ_LIMITS['max_columns']:,}: keep only the columns you need"
        )
    out = []
    for j, h in enumerate(raw):
        s = "" if h is None else str(h).replace("\ufeff", "").replace("\x00", NUL_SHOWN).strip()
        out.append(s or f"column_{j + 1}")
    return out


#: Records parsed per block of the CSV reader (bounds the per-record Python lists).
CSV_BLOCK_ROWS = 65_536

RowsFn = Callable[[int], None]


def _block_frame(rows: list[list[str]], ncols: int) -> pd.DataFrame:
    """A block of records (all ``ncols`` long) as a frame of compact text columns."""
    if not rows:
        return pd.DataFrame({j: pd.Series([], dtype=str) for j in range(ncols)})
    return pd.DataFrame(
        {
            j: pd.Series(np.array(c, dtype=object), dtype=str)
            for j, c in enumerate(zip(*rows, strict=True))
        }
    )


def _csv_block(
    rows: list[list[str]], starts: np.ndarray, header: list[str], kept: int
) -> tuple[pd.DataFrame, np.ndarray, list[RowProblem], int]:
    """One block of records: ``(frame, lines, problems, blank rows)``.

    Blank records (no non-space value) are left out; long rows with data past
    the header are errors, short rows warnings, of their row (``kept`` is the
    number of records before this block).
    """
    ncols = len(header)
    lens = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    odd = np.flatnonzero(lens != ncols)
    original = {int(i): rows[i] for i in odd}
    for i in odd:  # pad or cut to the header's width (rare: the problems follow)
        r = rows[i]
        rows[i] = r[:ncols] if len(r) > ncols else r + [""] * (ncols - len(r))
    frame = _block_frame(rows, ncols)
    blank = np.ones(len(rows), dtype=bool)
    for j in range(ncols):
        blank &= frame[j].str.strip().eq("").to_numpy(dtype=bool)
    for i, r in original.items():  # data past the header keeps a row whose own cells are blank
        if len(r) > ncols and any(v.strip() for v in r[ncols:]):
            blank[i] = False
    counted = int(np.count_nonzero(blank & (lens > 0)))  # `[]` is an empty line, not a blank row
    keep = np.flatnonzero(~blank)
    pos = np.cumsum(~blank) - 1 + kept  # the record's position among all kept records
    problems: list[RowProblem] = []
    for i, r in original.items():
        if blank[i]:
            continue
        if len(r) > ncols:
            extra = [v for v in r[ncols:] if v.strip()]
            if extra:
                problems.append(
                    RowProblem(
                        int(pos[i]),
                        f"column {ncols + 1}+",
                        _shown(", ".join(extra)),
                        f"本行有 {len(r)} 个字段, 表头只有 {ncols} 个 / {len(r)} fields "
                        f"but the header has {ncols}: check quotes and delimiters in this row",
                    )
                )
        else:
            problems.append(
                RowProblem(
                    int(pos[i]),
                    header[len(r)],
                    "",
                    f"本行只有 {len(r)} 个字段, 表头有 {ncols} 个, 缺少的按空值读取 / only "
                    f"{len(r)} of {ncols} fields: the missing ones are read as empty",
                    "warning",
                )
            )
    if keep.size < len(rows):
        frame = frame.iloc[keep].reset_index(drop=True)
    return frame, starts[keep], problems, counted


# ---------------------------------------------------------------- CSV fast path (Arrow)
#: Use the Arrow fast path at all (tests and benchmarks may switch it off).
FAST_CSV = True
#: Files smaller than this are read by the exact reader only (it takes < 0.5 s on them).
FAST_CSV_MIN_BYTES = 4 << 20
#: Bytes Arrow parses per batch (a longer line makes the fast path decline).
FAST_CSV_BLOCK_BYTES = 4 << 20
#: Codecs whose LF, CR, quote and NUL bytes are never part of a multi-byte character.
_FAST_CODECS = ("utf-8", "gb18030", "gbk")


def _line_spans(path: Path, skip: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(starts, lengths)``: byte offset (after ``skip``) and length of every line (streamed).

    A length leaves out the line's ``\\n`` or ``\\r\\n``. ``None`` when only the
    exact reader can decide: a NUL byte, a CR that does not start a CRLF (a
    line break of the text reader, not of the byte scan), a line longer than a
    csv field may be (the csv module's error is the exact reader's).
    """
    ends: list[np.ndarray] = []
    crlf: list[np.ndarray] = []
    base, last = 0, 0
    with open(path, "rb") as f:
        f.seek(skip)
        while chunk := f.read(8 * _CHUNK):
            arr = np.frombuffer(chunk, dtype=np.uint8)
            if (last == 13 and arr[0] != 10) or chunk.find(b"\x00") >= 0:
                return None
            cr = np.flatnonzero(arr[:-1] == 13)
            if cr.size and (arr[cr + 1] != 10).any():
                return None
            nl = np.flatnonzero(arr == 10)
            before = arr[np.maximum(nl - 1, 0)] == 13
            if nl.size and nl[0] == 0:
                before[0] = last == 13
            ends.append(nl + base)
            crlf.append(before)
            base += len(chunk)
            last = int(arr[-1])
    if last == 13:
        return None
    nl = np.concatenate([np.zeros(0, np.int64), *ends])
    starts = np.concatenate(([0], nl + 1))
    stops = np.concatenate((nl, [base]))
    cut = np.concatenate([np.zeros(0, bool), *crlf, [False]])
    if starts[-1] == base:  # ends with a line break: no last partial line
        starts, stops, cut = starts[:-1], stops[:-1], cut[:-1]
    lengths = stops - starts - cut
    if lengths.size and int(lengths.max()) > csv.field_size_limit():
        return None
    return starts, lengths


def _fast_header(path: Path, name: str, codec: str, skip: int) -> tuple[int, str, list[str]] | None:
    """``(line, delimiter, header)`` found exactly as the exact reader finds them; ``None``
    when the header is not the first non-blank record, is not one line (a quoted line
    break) or has two rows, or the file has no header (the exact reader decides)."""
    delimiter = _csv_delimiter(path, codec, skip)
    with open(path, "rb") as raw:
        raw.seek(skip)
        text = io.TextIOWrapper(raw, encoding=codec, errors="strict", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        head = _csv_head(reader, name, None)
    if head is None or head.titles or head.depth != 1 or head.start != head.end:
        return None
    return head.end, delimiter, head.header


@dataclass
class _Head:
    """The header of a CSV found by :func:`_csv_head`."""

    header: list[str]
    start: int
    end: int
    depth: int
    titles: list[tuple[int, str]]
    #: records after the header read while looking for it: ``(row, last line)``
    after: list[tuple[list[str], int]]


def _blank(row) -> bool:
    return not any(str(c).strip("\ufeff \t\r\n") for c in row)


def _csv_delimiter(path: Path, codec: str, skip: int) -> str:
    """The delimiter of the first non-blank line, or of the first line below it that has
    one (a title line above the header has none)."""
    with open(path, "rb") as raw:
        raw.seek(skip)
        text = io.TextIOWrapper(raw, encoding=codec, errors="replace", newline="")
        first = None
        for line in itertools.islice(text, 4 * HEAD_ROWS):
            if not line.strip("\r\n\ufeff \t"):
                continue
            bare = re.sub(r'"[^"]*"', "", line)
            if any(d in bare for d in _DELIMITERS):
                return _sniff_delimiter(line)
            first = first or line
    return _sniff_delimiter(first or "")


def _csv_head(reader, name: str, header_row: int | None) -> _Head | None:
    """Read records until the header is known (:func:`detect_header` over the first
    :data:`HEAD_ROWS` non-blank records, or the record on line ``header_row``)."""
    recs: list[tuple[list[str], int, int]] = []
    prev = 0
    for row in reader:
        end = reader.line_num
        recs.append((row, prev + 1, end))
        prev = end
        if header_row is not None:
            if end >= header_row + 1:
                break
        elif sum(1 for r in recs if not _blank(r[0])) >= HEAD_ROWS:
            break
    filled = [r for r in recs if not _blank(r[0])]
    if not filled:
        if header_row is not None:
            raise ImportFileError(
                f"{name}: 第 {header_row} 行不是表头(文件在此之前结束或为空行) / line {header_row} "
                "cannot be the header (blank or past the end): choose another header row"
            )
        return None
    if header_row is not None:
        at = [k for k, r in enumerate(filled) if r[1] <= header_row <= r[2]]
        if not at:
            raise ImportFileError(
                f"{name}: 第 {header_row} 行为空或不存在, 不能作表头 / line {header_row} is blank "
                "or past the end: choose another header row"
            )
        i, depth = at[0], 1
    else:
        i, depth = detect_header([r[0] for r in filled])
    rows = filled[i : i + depth]
    header = _header_names(header_names([r[0] for r in rows], depth), name, "")
    end = rows[-1][2]
    titles = [(s, _row_text(r)) for r, s, _ in filled[:i]]
    after = [(r, e) for r, s, e in recs if s > end]
    return _Head(header, filled[i][1], end, depth, titles, after)


def _arrow_stream(src, codec: str, delimiter: str, ncols: int):
    """Arrow's streaming reader of the records of ``src`` (an open ``pyarrow.OSFile``): text
    columns ``"0"``…, nothing inferred, nothing null, a ragged row an error."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [str(j) for j in range(ncols)]
    return pacsv.open_csv(
        src,
        read_options=pacsv.ReadOptions(
            column_names=names,
            # a transcoded (GBK) stream holds more buffers: smaller blocks keep the peak
            block_size=FAST_CSV_BLOCK_BYTES if codec == "utf-8" else FAST_CSV_BLOCK_BYTES // 4,
            encoding="utf8" if codec == "utf-8" else codec,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter,
            quote_char='"',
            double_quote=True,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=True,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.large_string()),
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=True,
        ),
    )


class _CallbackError(Exception):
    """An error raised by the caller's ``on_rows`` (passed on, never a fallback)."""


def _call(on_rows, n: int) -> None:
    try:
        on_rows(n)
    except Exception as exc:
        raise _CallbackError from exc


def _fast_start(path: Path, name: str, codec: str, skip: int):
    """``(header line, delimiter, header, byte offset of the data, csv records, indices of
    the non-empty data lines)`` for the Arrow reader, or ``None`` where it could differ."""
    spans = _line_spans(path, skip)
    if spans is None:
        return None
    starts, lengths = spans
    head = _fast_header(path, name, codec, skip)
    if head is None or head[0] >= len(starts):
        return None
    line, delimiter, header = head
    at = skip + int(starts[line])
    with open(path, "rb") as f:
        f.seek(at)
        if f.read(4).startswith("\ufeff".encode(codec)):  # Arrow drops a leading BOM
            return None
    # the records of the csv reader: every line after the header; rows: the non-empty ones
    total = len(lengths) - line
    record = np.flatnonzero(lengths[line:] > 0)
    return line, delimiter, header, at, total, record


def _blank_rows(batch, ncols: int):
    """Rows with no non-space value, as in _csv_block (pandas' str.strip() is Arrow's
    utf8_trim_whitespace)."""
    import pyarrow.compute as pc

    blank = pc.equal(pc.utf8_trim_whitespace(batch.column(0)), "")
    for j in range(1, ncols):
        blank = pc.and_(blank, pc.equal(pc.utf8_trim_whitespace(batch.column(j)), ""))
    return blank


def _non_blank(batch, at_lines: np.ndarray, ncols: int):
    """``(batch, its file lines, blank rows dropped)`` without the blank rows."""
    import pyarrow.compute as pc

    blank = _blank_rows(batch, ncols)
    count = pc.sum(blank).as_py() or 0
    if count:
        batch = batch.filter(pc.invert(blank))
        at_lines = at_lines[~blank.to_numpy(zero_copy_only=False)]
    return batch, at_lines, count


def _whole_blocks(on_rows, reported: list[int], done: int) -> None:
    """``on_rows`` for every whole block of records read, as the exact reader counts."""
    while reported[0] + CSV_BLOCK_ROWS <= done:
        reported[0] += CSV_BLOCK_ROWS
        _call(on_rows, reported[0])


def _arrow_rows(path, at, codec, delimiter, header, record, line, on_rows, reported):
    """``(Arrow chunks column by column, file lines, blank rows, rows read)`` of the data,
    or ``None`` when Arrow reads more rows than there are non-empty lines."""
    import pyarrow as pa

    rec_lines = record + line + 1  # 1-based file line of every non-empty data line
    cols: list[list] = [[] for _ in header]  # the kept cells, column by column
    lines: list[np.ndarray] = []
    empty = got = 0
    with pa.OSFile(str(path)) as src:
        src.seek(at)
        for batch in _arrow_stream(src, codec, delimiter, len(header)):
            n = batch.num_rows
            if not n:
                continue
            if got + n > len(record):
                return None
            batch, at_lines, count = _non_blank(batch, rec_lines[got : got + n], len(header))
            empty += count
            for j in range(len(header)):
                cols[j].append(batch.column(j))
            lines.append(at_lines)
            got += n
            done = int(record[got - 1]) + 1  # csv records read (empty lines included)
            if on_rows is not None:
                _whole_blocks(on_rows, reported, done)
    return cols, lines, empty, got


def _arrow_frame(cols: list[list], header: list[str]) -> pd.DataFrame:
    """Text columns from their Arrow chunks, one column at a time (its chunks are freed
    as it converts)."""
    import pyarrow as pa

    series = {}
    for j in range(len(header)):
        series[j] = pa.chunked_array(cols[j], type=pa.large_string()).to_pandas()
        cols[j] = []
    frame = pd.DataFrame(series)
    del series
    frame.columns = header
    return frame


def _read_csv_fast(
    path: Path, name: str, label: str, codec: str, skip: int, on_rows, reported: list[int]
) -> Table | None:
    """The exact reader's table read with Arrow, or ``None`` where it could differ.

    Taken only when every record is one line: no NUL, no CR-only line end, the
    header on one line, every data line a record of the header's width (Arrow
    raises on a ragged row), no line longer than a csv field may be, no BOM
    where Arrow would drop it, and as many Arrow rows as non-empty data lines
    (a quoted line break joins lines into one row). Then the ``i``-th non-empty
    line is the ``i``-th record (empty lines are ``[]`` records of the csv
    reader: not rows, not counted), blank rows (no non-space value) are
    dropped and counted as in :func:`_csv_block`, and ``on_rows`` gets the
    exact reader's counts. ``reported[0]`` is the last count given to ``on_rows``.
    """
    if codec not in _FAST_CODECS:
        return None
    if importlib.util.find_spec("pyarrow") is None:  # pragma: no cover - pandas needs it
        return None
    try:
        start = _fast_start(path, name, codec, skip)
        if start is None:
            return None
        line, delimiter, header, at, total, record = start
        read = _arrow_rows(path, at, codec, delimiter, header, record, line, on_rows, reported)
        if read is None:
            return None
        cols, lines, empty, got = read
    except _CallbackError as err:  # the caller's own error (e.g. a cancel): not a doubt
        raise err.__cause__ from None
    except Exception:  # any doubt: the exact reader decides (and words the error)
        return None
    kept = sum(len(a) for a in cols[0])
    if got != len(record) or not kept:
        return None
    while on_rows is not None and reported[0] < total:  # empty lines after the last row
        reported[0] = min(reported[0] + CSV_BLOCK_ROWS, total)
        on_rows(reported[0])
    frame = _arrow_frame(cols, header)
    notes = [f"跳过 {empty} 个空行 / {empty} empty rows skipped"] if empty else []
    return Table(frame, np.concatenate(lines), [], notes, label, line)


def _not_back(on_rows, reported: int):
    """``on_rows`` that reports only counts past ``reported`` (the bar never goes back)."""
    if on_rows is None or not reported:
        return on_rows
    return lambda n: on_rows(n) if n > reported else None


def _csv_blocks(reader, head, on_rows, pos: list[int]):
    """``(frames, lines, problems, blank rows, rows kept)`` of the records after the header,
    parsed in blocks of :data:`CSV_BLOCK_ROWS`; ``pos[0]``: the last line of the blocks read."""

    def records():
        yield from head.after
        for row in reader:
            yield row, reader.line_num

    stream = records()
    frames: list[pd.DataFrame] = []
    lines: list[np.ndarray] = []
    problems: list[RowProblem] = []
    prev, empty, kept, read = head.end, 0, 0, 0
    pos[0] = prev
    while True:
        block = list(itertools.islice(stream, CSV_BLOCK_ROWS))
        if not block:
            break
        rows = [r for r, _ in block]
        ends = np.fromiter((e for _, e in block), dtype=np.int64, count=len(block))
        del block
        starts = np.concatenate(([prev], ends[:-1])) + 1
        prev = int(ends[-1])
        pos[0] = prev
        frame, at, probs, blank = _csv_block(rows, starts, head.header, kept)
        del rows
        frames.append(frame)
        lines.append(at)
        problems += probs
        empty += blank
        kept += len(frame)
        read += len(ends)
        if on_rows is not None:
            on_rows(read)
    return frames, lines, problems, empty, kept


def read_csv_table(
    path: Path,
    *,
    name: str,
    encoding: str | None = None,
    on_rows: RowsFn | None = None,
    exact: bool = False,
    header_row: int | None = None,
) -> Table:
    """Read a CSV/TXT table: text cells, file line numbers and row problems.

    Records are parsed in blocks of :data:`CSV_BLOCK_ROWS`; each block becomes
    compact (Arrow) text columns at once, so the Python objects of one block
    only are alive at a time. ``on_rows(n)`` is called after every block with
    the records read so far (blank ones included).

    A file of at least :data:`FAST_CSV_MIN_BYTES` is first tried with the Arrow
    fast path (:func:`_read_csv_fast`), which gives the same table (cells,
    lines, notes, ``on_rows`` counts) or declines; ``exact=True`` skips it.

    The header is found past title lines (:func:`detect_header`), or is the
    record on line ``header_row``; the lines above it are kept in
    ``Table.titles``, footnote lines below the last record in
    ``Table.footnotes`` (:func:`split_footnotes`).

    Raises
    ------
    ImportFileError
        An empty or header-only file, an over-long line or field, a file of NUL
        bytes, an undecodable byte, too many columns, duplicate headers whose
        values differ.
    """
    label, codec, skip = scan_text(path, name=name, encoding=encoding)
    fast = header_row is None and FAST_CSV and Path(path).stat().st_size >= FAST_CSV_MIN_BYTES
    if not exact and fast:
        reported = [0]
        table = _read_csv_fast(path, name, label, codec, skip, on_rows, reported)
        if table is not None:
            return _finish(table, name, "", lambda j: f"第{j + 1}列/column {j + 1}")
        on_rows = _not_back(on_rows, reported[0])
    delimiter = _csv_delimiter(path, codec, skip)
    with open(path, "rb") as raw:
        raw.seek(skip)
        text = io.TextIOWrapper(raw, encoding=codec, errors="strict", newline="")
        pos = [0]  # the last line read in whole blocks
        reader = csv.reader(text, delimiter=delimiter)
        try:
            head = _csv_head(reader, name, header_row)
            if head is None:
                raise ImportFileError(f"{name}: 文件为空, 没有表头 / the file is empty (no header)")
            header = head.header
            frames, lines, problems, empty, kept = _csv_blocks(reader, head, on_rows, pos)
        except csv.Error as exc:
            line = reader.line_num
            raise ImportFileError(
                f"{name}: 第 {line} 行附近无法解析 / cannot parse the CSV near line {line} "
                f"({_shown(exc, 80)}): check quotes and delimiters"
            ) from None
        except UnicodeDecodeError:
            line = pos[0]
            raise ImportFileError(
                f"{name}: 第 {line + 1} 行附近无法按 {label} 解码 / cannot decode near line "
                f"{line + 1} as {label}: re-save the file as CSV UTF-8"
            ) from None
    if not kept:
        raise ImportFileError(
            f"{name}: 只有表头(第 {head.start} 行), 没有数据行 / only a header (line {head.start}), "
            "no data rows: add records below the header"
        )
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    del frames
    frame.columns = header
    notes = []
    if empty:
        notes.append(f"跳过 {empty} 个空行 / {empty} empty rows skipped")
    table = Table(frame, np.concatenate(lines), problems, notes, label, head.end, head.titles)
    return _finish(table, name, "", lambda j: f"第{j + 1}列/column {j + 1}")


def _finish(table: Table, name: str, where: str, label) -> Table:
    table = split_footnotes(table)
    table.frame, notes = dedupe_columns(
        table.frame, name=name, where=where, lines=table.lines, label=label
    )
    table.notes += notes
    table.frame, nul = nul_problems(table.frame)
    table.problems += nul
    return table


# ---------------------------------------------------------------- headers and values
def _key(name) -> str:
    return unicodedata.normalize("NFKC", str(name)).strip().casefold()


def dedupe_columns(
    frame: pd.DataFrame, *, name: str, where: str = "", lines=None, label=None
) -> tuple[pd.DataFrame, list[str]]:
    """Merge columns whose names differ only in case/width when their values agree.

    Raises
    ------
    ImportFileError
        Two such columns with different values (both are named, with a row where
        they differ).
    """
    label = label or (lambda j: f"第{j + 1}列/column {j + 1}")
    keys = [_key(c) for c in frame.columns]
    drop: list[int] = []
    notes: list[str] = []
    first_of: dict[str, int] = {}
    for j, k in enumerate(keys):
        if k not in first_of:
            first_of[k] = j
            continue
        i = first_of[k]
        a = frame.iloc[:, i].astype(str).str.strip().to_numpy()
        b = frame.iloc[:, j].astype(str).str.strip().to_numpy()
        differ = np.flatnonzero(a != b)
        ca, cb = _shown(frame.columns[i]), _shown(frame.columns[j])
        if differ.size:
            at = int(differ[0])
            row = int(lines[at]) if lines is not None else at + 1
            raise ImportFileError(
                f"{name}{where}: {label(i)} {ca!r} 与 {label(j)} {cb!r} 列名相同(不计大小写)但取值不同"
                f"(如第 {row} 行) / {label(i)} {ca!r} and {label(j)} {cb!r} have the same name "
                f"(ignoring case) but different values (e.g. row {row}): rename or delete one of them"
            )
        drop.append(j)
        notes.append(
            f"{label(j)} {cb!r} 与 {label(i)} {ca!r} 重名且取值相同, 已合并 / {label(j)} {cb!r} "
            f"repeats {label(i)} {ca!r} with the same values: kept once"
        )
    if drop:
        frame = frame.iloc[:, [j for j in range(frame.shape[1]) if j not in set(drop)]]
    return frame, notes


def nul_problems(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[RowProblem]]:
    """Rows with a NUL character in a text value: one error each; the NUL shown as ``␀``."""
    problems: list[RowProblem] = []
    out = frame
    for j, col in enumerate(frame.columns):
        s = frame.iloc[:, j]
        if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biufcmM":
            continue
        try:
            has = s.astype(str).str.contains("\x00", regex=False).fillna(False).to_numpy(bool)
        except (TypeError, ValueError):
            continue
        if not has.any():
            continue
        if out is frame:
            out = frame.copy()
        fixed = s.astype(str).str.replace("\x00", NUL_SHOWN, regex=False)
        out.iloc[:, j] = s.where(~has, fixed)
        for i in np.flatnonzero(has):
            problems.append(
                RowProblem(
                    int(i),
                    str(col),
                    _shown(fixed.iloc[i]),
                    "值中含有 NUL 字符(显示为 ␀), 本行未导入 / the value contains a NUL character "
                    "(shown as ␀): the row is not imported; remove the character and import again",
                )
            )
    return out, problems


def writable_names(columns, *, keep) -> dict[str, str]:
    """New names for columns a GeoPackage/Shapefile writer would refuse.

    ``keep`` are canonical names that stay. Other columns named like a reserved
    column (``fid``, ``geometry``, ``row``, ``reason`` …), repeating another name
    when case is ignored, or holding control characters get a clean, unique name.
    Returns only the changed names (``{old: new}``).
    """
    keep = set(keep)
    used = {str(c).casefold() for c in columns if c in keep} | set(RESERVED_NAMES)
    out: dict[str, str] = {}
    for c in columns:
        if c in keep:
            continue
        base = re.sub(r"[\x00-\x1f\x7f]", "_", str(c)).strip() or "column"
        new, i = base, 1
        while new.casefold() in used:
            i += 1
            new = f"{base}_{i}"
        used.add(new.casefold())
        if new != c:
            out[c] = new
    return out


# ---------------------------------------------------------------- XLSX
def check_xlsx_zip(path: Path, *, name: str) -> None:
    """Refuse an XLSX whose members expand too much (before openpyxl reads it)."""
    lim = XLSX_LIMITS
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportFileError(
            f"{name}: 不是有效的 XLSX(压缩包损坏) / not a valid XLSX (damaged zip): "
            "open it in Excel and save it again as .xlsx"
        ) from None
    if len(infos) > lim["max_entries"]:
        raise ImportFileError(
            f"{name}: XLSX 内部条目过多 ({len(infos):,}) / too many parts in the XLSX "
            f"(limit {lim['max_entries']:,})"
        )
    total = 0
    for i in infos:
        total += i.file_size
        ratio = i.file_size / max(i.compress_size, 1)
        member = _shown(i.filename, 80)
        if i.file_size > lim["max_member_bytes"]:
            raise ImportFileError(
                f"{name}: XLSX 成员 {member} 解压后 {_mb(i.file_size)}, 超过上限 "
                f"{_mb(lim['max_member_bytes'])} / part {member} expands to {_mb(i.file_size)}, "
                f"more than the limit of {_mb(lim['max_member_bytes'])}: split the workbook or save as CSV"
            )
        if i.file_size > _CHUNK and ratio > lim["max_ratio"]:
            raise ImportFileError(
                f"{name}: XLSX 成员 {member} 压缩比 {ratio:.0f}:1 异常 / part {member} has a "
                f"compression ratio of {ratio:.0f}:1, above the limit of {lim['max_ratio']:.0f}:1 "
                "(a zip bomb?): save the data again from Excel or as CSV"
            )
    if total > lim["max_total_bytes"]:
        raise ImportFileError(
            f"{name}: XLSX 解压后 {_mb(total)}, 超过上限 {_mb(lim['max_total_bytes'])} / the "
            f"workbook expands to {_mb(total)}, more than the limit of "
            f"{_mb(lim['max_total_bytes'])}: split it or save the sheet as CSV"
        )


def _open_workbook(path: Path, name: str):
    from openpyxl import load_workbook

    check_xlsx_zip(path, name=name)
    return load_workbook(path, read_only=True, data_only=True)


def xlsx_sheets(path: Path, *, name: str) -> tuple[list[str], list[str]]:
    """``(sheets, hidden)``: visible sheets first (the first is the default), hidden ones last."""
    wb = _open_workbook(path, name)
    try:
        return _sheet_list(wb)
    finally:
        wb.close()


def _sheet_list(wb) -> tuple[list[str], list[str]]:
    sheets = [(ws.title, ws.sheet_state != "visible") for ws in wb.worksheets]
    hidden = [s for s, h in sheets if h]
    return [s for s, h in sheets if not h] + hidden, hidden


class _NoValue:
    """A formula cell without a saved (cached) result."""


_NO_VALUE = _NoValue()


def _cell_parser():
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    class _Parser(WorkSheetParser):
        def parse_cell(self, element):
            cell = super().parse_cell(element)
            if cell["value"] is None and element.find(FORMULA_TAG) is not None:
                v = element.find(VALUE_TAG)
                if v is None or (not v.text and element.get("t") != "str"):
                    cell["value"] = _NO_VALUE
            return cell

    return _Parser


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def read_xlsx_table(
    path: Path,
    *,
    name: str,
    sheet: str | None = None,
    on_rows: RowsFn | None = None,
    header_row: int | None = None,
) -> tuple[Table, str, list[str], list[str]]:
    """Read a sheet: ``(table, sheet, sheets, hidden)`` with the sheet's real row numbers.

    Without ``sheet`` a workbook of one visible sheet (empty sheets aside) reads
    it; several visible sheets with the same header are read together, with a
    ``sheet`` column naming each record's sheet (``Table.sheet_of``; the returned
    sheet is their names joined by "、"); sheets with different headers stop the
    import naming them (:class:`ImportFileError`): never silently the first one.

    The header is found past title rows (:func:`detect_header`) or is the row
    ``header_row``. ``on_rows(n)`` is called every 10,000 records with the
    records read so far.
    """
    wb = _open_workbook(path, name)
    try:
        sheets, hidden = _sheet_list(wb)
        if not sheets:
            raise ImportFileError(f"{name}: 工作簿中没有工作表 / the workbook has no worksheet")
        if sheet:
            if sheet not in sheets:
                raise ImportFileError(
                    f"{name}: 没有工作表 {_shown(sheet)!r} / no sheet {_shown(sheet)!r}: choose one of "
                    f"{columns_text(sheets)}"
                )
            return _read_sheet(wb, sheet, name, header_row, on_rows), sheet, sheets, hidden
        visible = [s for s in sheets if s not in hidden] or sheets
        if len(visible) == 1:
            return (
                _read_sheet(wb, visible[0], name, header_row, on_rows),
                visible[0],
                sheets,
                hidden,
            )
        return (*_read_sheets(wb, visible, name, header_row, on_rows), sheets, hidden)
    finally:
        wb.close()


def _read_sheets(wb, visible: list[str], name: str, header_row, on_rows) -> tuple[Table, str]:
    """Several visible sheets: one table when they share a header, else an error naming them."""
    tables: dict[str, Table] = {}
    skipped: list[str] = []
    done = [0]

    def counted(n: int) -> None:
        if on_rows is not None:
            on_rows(done[0] + n)

    for s in visible:
        try:
            tables[s] = _read_sheet(wb, s, name, header_row, counted)
        except _EmptySheet:
            skipped.append(s)
            continue
        done[0] += len(tables[s].frame)
    if not tables:
        raise ImportFileError(
            f"{name}: 工作表 {columns_text(visible)} 都没有数据行 / no sheet holds data rows: "
            "add records below a header"
        )
    keys = {s: tuple(_key(c) for c in t.frame.columns) for s, t in tables.items()}
    if len(set(keys.values())) > 1:
        listed = "; ".join(
            f"{_shown(s)} ({columns_text(t.frame.columns, max_chars=80)})"
            for s, t in tables.items()
        )
        raise ImportFileError(
            f"{name}: 工作簿有 {len(tables)} 个表头不同的工作表, 请选择一个: {listed} / the workbook "
            f"has {len(tables)} sheets with different headers: choose one with --sheet (in the "
            "app: Sheet)"
        )
    names = list(tables)
    first = tables[names[0]]
    frame = pd.concat(
        [t.frame.set_axis(first.frame.columns, axis=1) for t in tables.values()], ignore_index=True
    )
    sheet_of = np.concatenate([np.full(len(t.frame), s, dtype=object) for s, t in tables.items()])
    col = "sheet" if "sheet" not in frame.columns else "sheet_name"
    frame[col] = pd.Series(sheet_of, dtype=str)
    problems: list[RowProblem] = []
    notes: list[str] = []
    titles: list[tuple[int, str]] = []
    footnotes: list[tuple[int, str]] = []
    offset = 0
    for s, t in tables.items():
        problems += [dataclasses.replace(p, index=p.index + offset) for p in t.problems]
        notes += [f"[{s}] {n}" for n in t.notes]
        titles += [(r, f"[{s}] {x}") for r, x in t.titles]
        footnotes += [(r, f"[{s}] {x}") for r, x in t.footnotes]
        offset += len(t.frame)
    notes.append(
        f"工作表 {'、'.join(names)} 表头相同, 已合并导入, 列 {col} 注明工作表 / sheets "
        f"{', '.join(names)} share one header: imported together, column {col!r} names the sheet"
    )
    if skipped:
        notes.append(
            f"空工作表已跳过: {'、'.join(skipped)} / empty sheets skipped: {', '.join(skipped)}"
        )
    table = Table(
        frame,
        np.concatenate([t.lines for t in tables.values()]),
        problems,
        notes,
        None,
        first.header_row,
        titles,
        footnotes,
        sheet_of,
    )
    return table, "、".join(names)


class _EmptySheet(ImportFileError):
    """A sheet without a header or without data rows."""


def _sheet_rows(wb, ws):
    """``(row, {column: value})`` of the non-blank rows of a sheet (formula cells without a
    saved result are :data:`_NO_VALUE`)."""
    parser_cls = _cell_parser()
    with ws._get_source() as src:
        parser = parser_cls(
            src,
            ws._shared_strings,
            data_only=True,
            epoch=wb.epoch,
            date_formats=wb._date_formats,
            timedelta_formats=wb._timedelta_formats,
        )
        for idx, cells in parser.parse():
            values = {c["column"]: c["value"] for c in cells if c["value"] not in (None, "")}
            if any(v is _NO_VALUE or str(v).strip() for v in values.values()):
                yield idx, values


def _plain(values: dict) -> list:
    width = max(values)
    return [None if values.get(j) is _NO_VALUE else values.get(j) for j in range(1, width + 1)]


def _read_sheet(wb, sheet: str, name: str, header_row: int | None, on_rows) -> Table:
    from openpyxl.utils import get_column_letter

    where = f" [{sheet}]"
    r = _SheetReader(name, where, header_row, on_rows)
    for idx, values in _sheet_rows(wb, wb[sheet]):
        if r.header is not None:
            r.data(idx, values)
            continue
        r.head.append((idx, values))
        if (header_row is None and len(r.head) >= HEAD_ROWS) or (
            header_row is not None and idx > header_row
        ):
            r.decide()
    if r.header is None and r.head:
        r.decide()
    if r.header is None:
        raise _EmptySheet(f"{name}{where}: 工作表为空 / the sheet is empty")
    lines, header_at = r.lines, r.header_at
    if not lines:
        raise _EmptySheet(
            f"{name}{where}: 只有表头(第 {header_at} 行), 没有数据行 / only a header (row "
            f"{header_at}), no data rows: add records below the header or choose another sheet"
        )
    frame = pd.DataFrame(dict(enumerate(r.cols)), dtype=str)
    frame.columns = r.header
    notes = []
    empty = int(lines[-1] - header_at - len(lines))  # blank rows between the header and the end
    if empty > 0:  # counted as the CSV reader counts them: no row goes unaccounted for
        notes.append(f"跳过 {empty} 个空行 / {empty} empty rows skipped")
    if r.widened:
        letter = get_column_letter(r.widened[0])
        notes.append(
            f"表头右侧的值(自第 {r.widened[1]} 行列 {letter} 起)已作为 column_{letter}… 导入 / values "
            f"right of the header (from column {letter}, row {r.widened[1]}) imported as "
            f"column_{letter}…: give them a header"
        )
    table = Table(
        frame, np.asarray(lines, dtype=np.int64), r.problems, notes, None, header_at, r.titles
    )
    return _finish(table, name, where, lambda j: f"列/column {get_column_letter(j + 1)}")


class _SheetReader:
    """A sheet's rows as they stream: the head rows until the header is decided, then the
    data rows as text columns (a value right of the header widens the table)."""

    def __init__(self, name: str, where: str, header_row: int | None, on_rows):
        self.name, self.where, self.header_row, self.on_rows = name, where, header_row, on_rows
        self.header: list[str] | None = None
        self.cols: list[list[str]] = []
        self.lines: list[int] = []
        self.problems: list[RowProblem] = []
        self.titles: list[tuple[int, str]] = []
        self.widened = None
        self.head: list[tuple[int, dict]] = []
        self.header_at = 0

    def decide(self) -> None:
        """The header among the head rows (or on ``header_row``); the rows after it are data."""
        head = self.head
        if self.header_row is not None:
            at = [k for k, (idx, _) in enumerate(head) if idx == self.header_row]
            if not at:
                raise ImportFileError(
                    f"{self.name}{self.where}: 第 {self.header_row} 行为空或不存在, 不能作表头 / "
                    f"row {self.header_row} is blank or past the end: choose another header row"
                )
            i, depth = at[0], 1
        else:
            i, depth = detect_header([[_text(v) for v in _plain(vals)] for _, vals in head])
        self.titles.extend((idx, _row_text(map(_text, _plain(v)))) for idx, v in head[:i])
        found = head[i : i + depth]
        self.header = _header_names(
            header_names([_plain(v) for _, v in found], depth), self.name, self.where
        )
        self.cols = [[] for _ in self.header]
        self.header_at = head[i + depth - 1][0]
        for idx, values in head[i + depth :]:
            self.data(idx, values)

    def data(self, idx: int, values: dict) -> None:
        """One data row (file row ``idx``): a text cell per column."""
        header, cols = self.header, self.cols
        pos = len(self.lines)
        self.lines.append(idx)
        if self.on_rows is not None and pos % 10_000 == 9_999:
            self.on_rows(pos + 1)
        width = max(values)
        if width > len(header):  # a value right of the header: keep it in a new column
            self._widen(idx, values, width, pos)
        for j in range(1, len(header) + 1):
            v = values.get(j)
            if v is _NO_VALUE:
                self._no_value(pos, idx, j)
                v = None
            cols[j - 1].append(_text(v))

    def _widen(self, idx: int, values: dict, width: int, pos: int) -> None:
        from openpyxl.utils import get_column_letter

        header = self.header
        if width > READ_LIMITS["max_columns"]:
            raise ImportFileError(
                f"{self.name}{self.where}: 第 {idx} 行的列 {get_column_letter(width)} 超过上限 "
                f"{READ_LIMITS['max_columns']:,} 列 / row {idx} has a value in column "
                f"{get_column_letter(width)}, beyond the limit of "
                f"{READ_LIMITS['max_columns']:,} columns: delete it"
            )
        if not self.widened:
            self.widened = (min(k for k in values if k > len(header)), idx)
        for k in range(len(header) + 1, width + 1):
            header.append(f"column_{get_column_letter(k)}")
            self.cols.append([""] * pos)

    def _no_value(self, pos: int, idx: int, j: int) -> None:
        from openpyxl.utils import get_column_letter

        self.problems.append(
            RowProblem(
                pos,
                self.header[j - 1],
                f"{get_column_letter(j)}{idx}",
                "公式没有保存的计算结果 / a formula without a saved result: open "
                "the file in Excel and save it (or paste the values) before importing",
            )
        )


# ---------------------------------------------------------------- preview of a table's top
def _csv_head_rows(path: Path, name: str, encoding) -> list[tuple[int, list[str]]]:
    """The first :data:`HEAD_ROWS` non-blank records of a CSV with their first lines."""
    rows: list[tuple[int, list[str]]] = []
    _, codec, skip = scan_text(path, name=name, encoding=encoding)
    delimiter = _csv_delimiter(path, codec, skip)
    with open(path, "rb") as raw:
        raw.seek(skip)
        text = io.TextIOWrapper(raw, encoding=codec, errors="replace", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        prev = 0
        try:
            for rec in reader:
                start, prev = prev + 1, reader.line_num
                if not _blank(rec):
                    rows.append((start, [str(c).replace("\ufeff", "") for c in rec]))
                if len(rows) >= HEAD_ROWS:
                    break
        except csv.Error:
            pass  # the import reports it
    return rows


def _sheet_head_rows(path: Path, name: str, sheet: str | None):
    """``(rows, sheet)``: the first :data:`HEAD_ROWS` non-blank rows of ``sheet`` (else the
    first visible sheet) with their sheet rows."""
    rows: list[tuple[int, list[str]]] = []
    wb = _open_workbook(path, name)
    try:
        sheets, hidden = _sheet_list(wb)
        visible = [s for s in sheets if s not in hidden] or sheets
        sheet = sheet if sheet in sheets else (visible[0] if visible else None)
        if sheet is not None:
            for idx, values in _sheet_rows(wb, wb[sheet]):
                rows.append((idx, [_text(v) for v in _plain(values)]))
                if len(rows) >= HEAD_ROWS:
                    break
    finally:
        wb.close()
    return rows, sheet


def table_head(
    path: Path,
    *,
    name: str,
    fmt: str,
    sheet: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
) -> dict:
    """The first rows of a table as the planner sees them, and where the header is.

    Returns
    -------
    dict
        ``rows``: ``[(row, [cells])]`` of the first :data:`HEAD_ROWS` non-blank rows
        (CSV line or sheet row); ``header_row``: the header's row (given, or found by
        :func:`detect_header`; its lower row for a two-row header); ``detected``: the
        row found; ``columns``: the header's names; ``titles``: texts above it;
        ``sheet``: the sheet read (a workbook of several sheets: ``sheet`` or the
        first visible one).
    """
    if fmt == "csv":
        rows = _csv_head_rows(path, name, encoding)
    else:
        rows, sheet = _sheet_head_rows(path, name, sheet)
    width = max((len(r) for _, r in rows), default=0)
    rows = [(n, r + [""] * (width - len(r))) for n, r in rows]
    if not rows:
        return {"rows": [], "header_row": None, "detected": None, "columns": [], "titles": []}
    i, depth = detect_header([r for _, r in rows])
    detected = rows[i + depth - 1][0]
    chosen = [k for k, (n, _) in enumerate(rows) if n == header_row]
    if header_row is not None and chosen:
        i, depth = chosen[0], 1
    names = header_names([r for _, r in rows[i : i + depth]], depth)
    return {
        "rows": rows,
        "header_row": rows[i + depth - 1][0],
        "detected": detected,
        "columns": [_cell(c) or f"column_{j + 1}" for j, c in enumerate(names)],
        "titles": [_row_text(r) for _, r in rows[:i]],
        "sheet": sheet if fmt != "csv" else None,
    }
