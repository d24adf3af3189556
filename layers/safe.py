"""Escaping of data-derived text before it reaches HTML or JavaScript.

folium's ``parse_html`` is not enough: data goes into HTML text, HTML
attributes, JSON embedded in ``<script>`` and JavaScript template literals.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

__all__ = ["escape_html", "escape_label", "js_literal", "neutralize_cell", "truncate"]

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

_JS_TABLE = str.maketrans(_JS_ESCAPES)


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
    text = json.dumps(_clean(obj), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.translate(_JS_TABLE)


def truncate(text: Any, *, max_chars: int = 80) -> str:
    """Shorten ``text`` to ``max_chars`` characters with an ellipsis."""
    s = "" if text is None else str(text)
    return s if len(s) <= max_chars else s[: max_chars - 1] + "…"


#: Leading characters that make spreadsheets evaluate a cell (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize_cell(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would evaluate with a single quote.

    Numbers are returned unchanged (a negative number is data, not a formula).
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
