"""Escaping of data-derived text before it reaches HTML or JavaScript.

folium's ``parse_html`` is not enough: data goes into HTML text, HTML
attributes, JSON embedded in ``<script>`` and JavaScript template literals.
"""

from __future__ import annotations

import html
import json
import math
import re
import unicodedata
from typing import Any

__all__ = [
    "CSV_LINE_END",
    "escape_html",
    "escape_label",
    "js_literal",
    "neutralize_cell",
    "neutralize_frame",
    "safe_csv",
    "safe_file_name",
    "sheet_name",
    "truncate",
    "xlsx_text",
]

_JS_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "'": "\\u0027",
    "`": "\\u0060",
    "$": "\\u0024",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def escape_html(text: Any) -> str:
    """Escape ``text`` for HTML text and quoted attributes (``& < > " '``)."""
    return html.escape("" if text is None else str(text), quote=True)


def escape_label(text: Any) -> str:
    """Escape text that Leaflet will insert as HTML (layer-control names).

    HTML-escapes it and also writes backticks and dollar signs as entities, so
    the label is inert in HTML and in any JavaScript template literal.
    """
    return escape_html(text).replace("`", "&#96;").replace("$", "&#36;")


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def js_literal(obj: Any) -> str:
    """Serialise ``obj`` as a JavaScript literal safe inside ``<script>``.

    The output is JSON in which ``< > & ' ` $`` and the JavaScript line
    separators are written as ``\\uXXXX`` escapes, so it cannot close a script
    element, open an HTML comment, end a quoted string or start a template
    substitution, wherever it is pasted. NaN and infinities become ``null``.
    """
    try:  # the usual case, no NaN: no walk over the payload in Python
        text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (ValueError, TypeError):  # NaN/infinity, or keys json does not write itself
        text = json.dumps(_clean(obj), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, esc in _JS_ESCAPES.items():  # str.replace per character: C speed on long text
        if ch in text:
            text = text.replace(ch, esc)
    return text


def truncate(text: Any, *, max_chars: int = 80) -> str:
    """Shorten ``text`` to ``max_chars`` characters with an ellipsis."""
    s = "" if text is None else str(text)
    return s if len(s) <= max_chars else s[: max_chars - 1] + "…"


#: Leading characters that make spreadsheets evaluate a cell (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Formula signs, also after leading blanks or control characters (fullwidth too).
_FORMULA_SIGNS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")


def _blank_or_control(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def neutralize_cell(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would evaluate with a single quote.

    A text is a formula when it starts with ``= + - @``, tab or CR, or when its
    first character after any leading whitespace or control/format characters
    (``" =1+1"``, ``"\\x00=1+1"``, ``"\\u200b@SUM(A1)"``) is such a sign. Numbers are
    returned unchanged (a negative number is data, not a formula).
    """
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(_FORMULA_START):
        return "'" + value
    i = 0
    while i < len(value) and _blank_or_control(value[i]):
        i += 1
    if i < len(value) and value[i] in _FORMULA_SIGNS:
        return "'" + value
    return value


def neutralize_frame(df):
    """A copy of ``df`` whose text cells and column names are neutralised (numbers unchanged)."""
    out = df.copy()
    for c in out.columns:
        out[c] = out[c].map(lambda v: str(v) if isinstance(v, (dict, list, tuple, set)) else v)
        out[c] = out[c].map(neutralize_cell)
    out.columns = [neutralize_cell(str(c)) for c in out.columns]
    return out


#: CSV line end: with CRLF the csv writer quotes every field holding a CR or an LF, so a
#: value can never start a new row in a spreadsheet.
CSV_LINE_END = "\r\n"


def safe_csv(df, path=None, *, encoding: str = "utf-8-sig") -> bytes | None:
    """Write ``df`` as CSV for spreadsheets: formulas neutralised, CR/LF/quotes quoted.

    Parameters
    ----------
    df : pandas.DataFrame
        The table (the index is not written).
    path : str or pathlib.Path, optional
        Target file; when omitted the CSV is returned as bytes (downloads).
    encoding : str
        UTF-8 with BOM by default, so Excel opens Chinese text correctly.
    """
    out = neutralize_frame(df)
    if path is not None:
        out.to_csv(path, index=False, encoding=encoding, lineterminator=CSV_LINE_END)
        return None
    return out.to_csv(index=False, lineterminator=CSV_LINE_END).encode(encoding)


#: Characters XML 1.0 (hence XLSX) cannot hold: shown as Unicode control pictures (U+2400…).
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xlsx_text(v):
    """Text that openpyxl can store: control characters become their visible pictures
    (other values are returned as they are)."""
    if isinstance(v, str) and _XML_ILLEGAL.search(v):
        return _XML_ILLEGAL.sub(lambda m: chr(0x2400 + ord(m.group())), v)
    return v


def sheet_name(name: str, used: set[str]) -> str:
    """An Excel sheet name for ``name``, unique (case-insensitively) among ``used``.

    Excel allows no ``[]:*?/\\`` or control characters, no ``'`` at either end and at
    most 31 characters; a clash gets ``_1``, ``_2`` …. The name is added to ``used``.
    """
    base = re.sub(r"[\[\]:*?/\\\x00-\x1f]", "_", str(name))[:31].strip("'") or "Sheet"
    n, i = base, 1
    while n.lower() in used:
        suffix = f"_{i}"
        n = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(n.lower())
    return n


def safe_file_name(name: str, *, default: str) -> str:
    """``name`` usable as one file name on Windows, macOS and Linux: path separators,
    reserved and control characters become ``_``, leading/trailing spaces and dots go;
    ``default`` when nothing is left."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", str(name)).strip(" .") or default
