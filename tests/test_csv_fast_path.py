"""The Arrow fast path of ``read_csv_table`` gives the exact reader's table or declines.

A Hypothesis law over hostile little CSV files (quotes, delimiters and line
breaks in values, blank and whitespace lines, ragged rows, CRLF/LF/CR, BOM,
GB18030, NUL, no final line break, repeated headers): the default reader (fast
path allowed on any size) and ``exact=True`` give equal tables, ``on_rows``
counts and errors. A clean file above the size threshold must take the fast
path (the exact block reader is never called).
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from layers import tabular
from layers.tabular import ImportFileError, read_csv_table

_COUNTER = itertools.count()


@contextmanager
def _fast_everywhere(*, block_rows: int, block_bytes: int):
    """The fast path on files of any size, small blocks (rows and Arrow bytes)."""
    saved = (tabular.FAST_CSV_MIN_BYTES, tabular.CSV_BLOCK_ROWS, tabular.FAST_CSV_BLOCK_BYTES)
    tabular.FAST_CSV_MIN_BYTES, tabular.CSV_BLOCK_ROWS = 0, block_rows
    tabular.FAST_CSV_BLOCK_BYTES = block_bytes
    try:
        yield
    finally:
        (tabular.FAST_CSV_MIN_BYTES, tabular.CSV_BLOCK_ROWS, tabular.FAST_CSV_BLOCK_BYTES) = saved


def _read(path: Path, *, exact: bool, encoding: str | None):
    seen: list[int] = []
    try:
        tab = read_csv_table(
            path, name="t.csv", encoding=encoding, on_rows=seen.append, exact=exact
        )
    except ImportFileError as exc:
        return ("error", str(exc)), seen
    return tab, seen


def _assert_same(fast, exact) -> None:
    (a, seen_a), (b, seen_b) = fast, exact
    if isinstance(b, tuple) or isinstance(a, tuple):
        assert a == b
        return
    pd.testing.assert_frame_equal(a.frame, b.frame, check_exact=True)
    assert list(a.frame.columns) == list(b.frame.columns)
    assert a.lines.dtype == b.lines.dtype and np.array_equal(a.lines, b.lines)
    assert a.problems == b.problems
    assert a.notes == b.notes
    assert a.encoding == b.encoding
    assert seen_a == seen_b


_CHARS = ["a", "b", "中", " ", "\t", ",", ";", "|", '"', "\n", "\r", "\r\n", "\x00", "\ufeff", "é"]
_field = st.lists(
    st.sampled_from(_CHARS).filter(lambda c: c not in "\n\r\x00\ufeff\t") | st.sampled_from(_CHARS),
    max_size=5,
).map("".join)
_plain = st.lists(
    st.sampled_from(["a", "b", "中", " ", "x1", "é", "121.5", '"', ",", ";", "|", "\t", "\ufeff"]),
    max_size=4,
).map("".join)
_names = st.sampled_from(["id", "ID", "ｉｄ", "name", "名称", "lon", "lat", " ", "", "a,b"])


def _quote(v: str) -> str:
    return '"' + v.replace('"', '""') + '"'


@st.composite
def csv_files(draw):
    """``(bytes, encoding given to the reader)`` of a small, often hostile, CSV file."""
    delim = draw(st.sampled_from([",", ";", "\t", "|"]))
    ncols = draw(st.integers(1, 4))
    hostile = draw(st.booleans())  # else: one-line records of the header's width
    eol = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"] if hostile else ["\n", "\r\n"]))

    def end() -> str:
        return draw(st.sampled_from(["\n", "\r\n", "\r"])) if eol == "mixed" else eol

    def cell() -> str:
        v = draw(_field if hostile else _plain)
        style = draw(st.sampled_from(["auto", "auto", "auto", "quote", "raw"]))
        if style == "quote" or (style == "auto" and any(c in v for c in (delim, '"', "\n", "\r"))):
            return _quote(v)
        return v if hostile else v.replace(delim, "")  # quotes inside stay raw: a"b, "a"b

    text = "".join(draw(st.sampled_from(["", "\n", "  \r\n", "\ufeff\n"])) for _ in range(2))
    header = [draw(_names) for _ in range(ncols)]
    text += delim.join(_quote(h) if (delim in h or draw(st.booleans())) else h for h in header)
    for _ in range(draw(st.integers(0 if hostile else 1, 8))):
        odd = ["spaces", "short", "long"] if hostile or ncols == 1 else []  # ragged: declines
        kind = draw(st.sampled_from(["row"] * 6 + ["empty", "delims", *odd]))
        text += end()
        if kind == "empty":
            continue
        if kind == "spaces":
            text += draw(st.sampled_from([" ", "  \t", '""', '" "']))  # one field
        elif kind == "delims":
            text += delim * (ncols - 1) + draw(st.sampled_from(["", " "]))
        else:
            n = {"row": ncols, "short": max(ncols - 1, 0), "long": ncols + 1}[kind]
            text += delim.join(cell() for _ in range(n))
    if draw(st.booleans()):
        text += end()
    codecs = ["utf-8", "utf-8-sig", "gb18030"] + (["utf-16"] if hostile else [])
    codec = draw(st.sampled_from(codecs))
    data = text.encode(codec)
    if codec == "gb18030" and draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data  # a stray UTF-8 BOM before GBK text
    given_enc = draw(st.sampled_from([None, None, None, None, "utf-8", "gbk", "gb18030"]))
    return data, given_enc


def _taken(path: Path, encoding: str | None) -> bool:
    label, codec, skip = tabular.scan_text(path, name="t.csv", encoding=encoding)
    return tabular._read_csv_fast(path, "t.csv", label, codec, skip, None, [0]) is not None


@settings(
    max_examples=350,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=csv_files(), block_rows=st.sampled_from([1, 2, 3, 65_536]), small=st.booleans())
def test_fast_reader_equals_exact_reader(tmp_path, case, block_rows, small):
    data, encoding = case
    path = tmp_path / f"f{next(_COUNTER)}.csv"  # a new file: scan_text caches by name and size
    path.write_bytes(data)
    with _fast_everywhere(block_rows=block_rows, block_bytes=64 if small else 1 << 20):
        fast = _read(path, exact=False, encoding=encoding)
        event(f"fast path taken: {_taken(path, encoding)}")
        exact = _read(path, exact=True, encoding=encoding)
    _assert_same(fast, exact)


def _spy_fast(monkeypatch) -> list[bool]:
    taken: list[bool] = []
    real = tabular._read_csv_fast

    def spy(*a, **kw):
        out = real(*a, **kw)
        taken.append(out is not None)
        return out

    monkeypatch.setattr(tabular, "_read_csv_fast", spy)
    return taken


@pytest.mark.parametrize(
    ("eol", "codec"), [("\n", "utf-8"), ("\r\n", "utf-8-sig"), ("\n", "gb18030")]
)
def test_clean_large_file_takes_the_fast_path(tmp_path, monkeypatch, eol, codec):
    n = 90_000  # ~5 MB: above FAST_CSV_MIN_BYTES
    rows = [f'E{i},"企业{i}, 宁波",高企,{121.5 + i % 97 * 1e-4:.5f},{29.8:.5f}' for i in range(n)]
    rows[10] = ",,, ,"  # a blank row: dropped and counted
    rows.insert(20, "")  # an empty line: dropped, not counted
    text = eol.join(["id,name,类型,lon,lat", *rows]) + eol
    path = tmp_path / "big.csv"
    path.write_bytes(text.encode(codec))
    assert path.stat().st_size >= tabular.FAST_CSV_MIN_BYTES
    exact = _read(path, exact=True, encoding=None)
    taken = _spy_fast(monkeypatch)

    def no_block(*a, **kw):
        raise AssertionError("the exact block reader ran")

    monkeypatch.setattr(tabular, "_csv_block", no_block)
    fast = _read(path, exact=False, encoding=None)
    assert taken == [True]
    _assert_same(fast, exact)
    tab = fast[0]
    assert len(tab.frame) == n - 1 and tab.lines[0] == 2 and tab.lines[-1] == n + 2
    assert tab.frame["name"].iloc[0] == "企业0, 宁波"
    assert tab.notes == ["跳过 1 个空行 / 1 empty rows skipped"]
    assert fast[1] == [65_536, n + 1]  # the exact reader's counts (the empty line is a record)


@pytest.mark.parametrize(
    "tail",
    [
        'x,"a quoted\nline break",1,2,3\n',  # a quoted line break joins two lines
        "x,short\n",  # a ragged row: Arrow raises
        "x,a\rb,1,2,3\n",  # a CR-only line end
        "x,a\x00b,1,2,3\n",  # a NUL
    ],
)
def test_fast_path_declines_where_it_could_differ(tmp_path, monkeypatch, tail):
    monkeypatch.setattr(tabular, "FAST_CSV_MIN_BYTES", 0)
    monkeypatch.setattr(tabular, "CSV_BLOCK_ROWS", 500)
    monkeypatch.setattr(tabular, "FAST_CSV_BLOCK_BYTES", 4096)  # declines after some progress
    rows = [f"E{i},n{i},高企,121.5,29.8" for i in range(3_000)]
    path = tmp_path / "big.csv"
    path.write_text("id,name,类型,lon,lat\n" + "\n".join(rows) + "\n" + tail, encoding="utf-8")
    exact = _read(path, exact=True, encoding=None)
    taken = _spy_fast(monkeypatch)
    fast = _read(path, exact=False, encoding=None)
    assert taken == [False]
    _assert_same(fast, exact)
    assert fast[1] == sorted(fast[1])  # progress never goes back after the fast path declined


def test_an_error_of_on_rows_is_passed_on_not_a_fallback(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "FAST_CSV_MIN_BYTES", 0)
    monkeypatch.setattr(tabular, "CSV_BLOCK_ROWS", 10)
    path = tmp_path / "f.csv"
    path.write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(50)), encoding="utf-8")
    taken = _spy_fast(monkeypatch)

    def cancel(n: int) -> None:
        raise KeyError("cancelled")

    with pytest.raises(KeyError, match="cancelled"):
        read_csv_table(path, name="f.csv", on_rows=cancel)
    assert taken == []  # raised inside the fast path, the exact reader never started
