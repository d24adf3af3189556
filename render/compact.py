"""Compact payload of a large point layer for the WebGL map renderer.

A layer above ``settings.WEBGL_THRESHOLD`` reaches the browser as three strings
instead of one Leaflet marker (and one JSON object) per point:

``xy``
    base64 of little-endian ``uint32`` pairs: the Web Mercator position of each
    point as a fraction of the world times 2**32 (x east from 180°W, y south from
    85.05°N; about 1 cm), so the browser draws without projecting a million points.
``synth``
    base64 of one bit per point, least significant bit first (1 = synthetic
    record, drawn faded), or ``""`` when no record is synthetic.
``approx``
    base64 of one bit per point as ``synth`` (1 = position coarser than street level,
    ``settings.STREET_LEVEL_PRECISION_M``: drawn as a hollow ring), or ``""``. In a
    data file the flag planes follow the pairs: ``synth`` alone, or (when any point
    is approximate) ``synth`` (zeros if none) then ``approx``, each ``ceil(n / 8)`` bytes.
``props``
    base64 of gzip of the property table, decoded by the browser only when a
    point is first clicked or searched: a little-endian ``uint32`` header length,
    a JSON header ``{field: spec}`` (padded to 4 bytes) and binary segments, each
    aligned to 4 bytes and addressed by ``[offset, length]`` from the end of the
    header. ``spec`` is ``{"s": seg}`` for a (nearly) unique text field (its
    values as UTF-8 joined by U+001F, empty = no value), or
    ``{"t": "u8"|"u16"|"u32", "b": seg, "s": seg | "u": [uniques]}``: codes
    ``1 + index into uniques`` (``0`` = no value) and the uniques as joined text or
    as a JSON list (numbers, booleans).

Everything is ASCII (base64), so the payload cannot break out of a script
element. :func:`encode_points_raw` gives the same three parts as bytes, for the
app, which serves them as files the browser fetches (``render.webmap``); text values are put into the page with ``textContent`` only.
:func:`decode_points` is the inverse, used by the tests and the benchmark.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

import settings

__all__ = [
    "RawPoints",
    "decode_approx",
    "decode_points",
    "encode_points",
    "encode_points_raw",
    "nearest_point",
    "point_record",
]

_CODE_TYPES = (("u8", np.uint8), ("u16", np.uint16), ("u32", np.uint32))
_WORLD = 2**32
#: Latitude limit of Web Mercator (as Leaflet's EPSG:3857).
_MAX_LAT = 85.0511287798


def _mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator position as a fraction of the world (x from 180°W, y from the north)."""
    s = np.sin(np.radians(np.clip(lat, -_MAX_LAT, _MAX_LAT)))
    return (np.asarray(lon) + 180.0) / 360.0, 0.5 - np.log((1 + s) / (1 - s)) / (4 * np.pi)


def popup_value(value):
    """One value as shown in a popup, for every map path (small and large layers)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return None
        return int(value) if float(value).is_integer() else round(float(value), 3)
    if isinstance(value, (int, np.integer)):
        return int(value)
    s = str(value)
    return s if s != "" else None


_SEP = "\x1f"  # unit separator: joins text values (never part of a shown value)


def _is_text(values: list) -> bool:
    return all(type(v) is str or v is None or (type(v) is float and v != v) for v in values)


def _joined(values: list) -> bytes | None:
    """Text values joined by ``_SEP`` as UTF-8 (missing shown as empty), or None if any
    value is not text or holds the separator itself."""
    if not _is_text(values):
        return None
    text = _SEP.join([v if type(v) is str else "" for v in values])
    return text.encode("utf-8") if text.count(_SEP) == len(values) - 1 else None


def _text_joined(values: pd.Series) -> bytes | None:
    """A text column's values joined by ``_SEP`` as UTF-8 (missing shown as empty), in
    Arrow (no Python string per value); None if a value holds the separator."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(values.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = pc.fill_null(arr.cast(pa.large_string()), "")
    if len(arr) and pc.any(pc.match_substring(arr, _SEP)).as_py():
        return None
    one = pa.LargeListArray.from_arrays(pa.array([0, len(arr)], pa.int64()), arr)
    return pc.binary_join(one, pa.scalar(_SEP, pa.large_string()))[0].as_buffer().to_pybytes()


def _mostly_unique(values: pd.Series) -> bool:
    """True when a sample of the column is (nearly) all different: ids, names, addresses."""
    head = values.iloc[:20_000]
    return len(head) >= 1000 and head.nunique(dropna=False) > 0.9 * len(head)


class _Body:
    """Binary segments after the JSON header, each aligned to 4 bytes (typed arrays)."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> list[int]:
        at = self.size
        pad = (-len(data)) % 4
        self.parts.append(data + b"\0" * pad)
        self.size += len(data) + pad
        return [at, len(data)]


def _column(values: pd.Series, body: _Body) -> dict:
    """One popup field: every value when the column is (nearly) unique text, else its
    uniques and packed codes. Text goes into ``body`` joined by ``_SEP`` (``"s"``);
    other uniques stay in the header as a JSON list (``"u"``)."""
    if len(values) and _mostly_unique(values):
        if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
            text = _text_joined(values)  # all text
        else:
            text = _joined(values.tolist())
        if text is not None:
            return {"s": body.add(text)}
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    # plain text (most values) skips the formatter
    shown = [
        v if type(v) is str and v else popup_value(v)
        for v in np.asarray(uniques, dtype=object).tolist()
    ]
    packed = codes.astype(np.int64) + 1
    if None in shown:  # values shown as empty count as missing
        missing = np.array([v is None for v in shown] + [False])
        packed[missing[codes]] = 0
    top = len(shown) + 1
    name, dtype = next((k, t) for k, t in _CODE_TYPES if top <= np.iinfo(t).max)
    out = {"t": name, "b": body.add(packed.astype(np.dtype(dtype).newbyteorder("<")).tobytes())}
    text = _joined(shown)
    if text is not None:
        out["s"] = body.add(text)
    else:
        out["u"] = shown
    return out


def encode_points(
    lon: np.ndarray,
    lat: np.ndarray,
    table: pd.DataFrame,
    fields: tuple[str, ...] | list[str],
    *,
    gzip_level: int = 1,
) -> dict:
    """Encode point coordinates (WGS84 or GCJ-02 degrees) and popup fields.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Coordinates in degrees, one per row of ``table``.
    table : pandas.DataFrame
        The records (popup fields are read from it).
    fields : sequence of str
        Popup fields, in order; those missing from ``table`` are skipped.
    gzip_level : int
        Compression level of the property table (1 = fastest).

    Returns
    -------
    dict
        ``{"n", "xy", "synth", "props"}`` as described in the module docstring.
    """
    return encode_points_raw(lon, lat, table, fields, gzip_level=gzip_level).as_base64()


@dataclass(frozen=True)
class RawPoints:
    """The compact payload as bytes (what :func:`encode_points` base64-encodes).

    Attributes
    ----------
    n : int
        Number of points.
    xy : bytes
        ``8 n`` bytes: little-endian ``uint32`` Web Mercator pairs.
    synth : bytes
        ``ceil(n / 8)`` bytes of synthetic flags (LSB first), or ``b""`` if none.
    props : bytes
        The gzip'd property table.
    """

    n: int
    xy: bytes
    synth: bytes
    props: bytes
    approx: bytes = b""

    def as_base64(self) -> dict:
        """``{"n", "xy", "synth", "props"}`` (and ``"approx"`` when any point is approximate)
        with the bytes as ASCII base64 (the inline form)."""
        keys = ("xy", "synth", "props", "approx") if self.approx else ("xy", "synth", "props")
        b64 = {k: base64.b64encode(getattr(self, k)).decode("ascii") for k in keys}
        return {"n": self.n, **b64}

    def flag_planes(self) -> bytes:
        """The flag bytes that follow the pairs in a data file (see the module docstring)."""
        if not self.approx:
            return self.synth
        return (self.synth or bytes(len(self.approx))) + self.approx


def encode_points_raw(
    lon: np.ndarray,
    lat: np.ndarray,
    table: pd.DataFrame,
    fields: tuple[str, ...] | list[str],
    *,
    gzip_level: int = 1,
) -> RawPoints:
    """:func:`encode_points` without base64: the bytes a browser fetches as files."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    n = len(lon)
    mx, my = _mercator(np.nan_to_num(lon), np.nan_to_num(lat))
    xy = np.empty(2 * n, dtype="<u4")
    xy[0::2] = np.clip(np.rint(mx * _WORLD), 0, _WORLD - 1)
    xy[1::2] = np.clip(np.rint(my * _WORLD), 0, _WORLD - 1)
    synth = b""
    if "synthetic" in table.columns and n:
        flags = table["synthetic"].fillna(False).astype(bool).to_numpy()
        if flags.any():
            synth = np.packbits(flags, bitorder="little").tobytes()
    approx = b""
    if "coord_precision_m" in table.columns and n:
        prec = pd.to_numeric(table["coord_precision_m"], errors="coerce").to_numpy(float)
        coarse = np.nan_to_num(prec, nan=0.0) > settings.STREET_LEVEL_PRECISION_M
        if coarse.any():
            approx = np.packbits(coarse, bitorder="little").tobytes()
    body = _Body()
    cols = {f: _column(table[f].reset_index(drop=True), body) for f in fields if f in table.columns}
    head = json.dumps(cols, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    head_b = head.encode("utf-8")
    head_b += b" " * ((-(4 + len(head_b))) % 4)
    blob = b"".join([len(head_b).to_bytes(4, "little"), head_b, *body.parts])
    props = gzip.compress(blob, compresslevel=gzip_level, mtime=0)
    return RawPoints(n=n, xy=xy.tobytes(), synth=synth, props=props, approx=approx)


def decode_points(payload: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Inverse of :func:`encode_points`: ``(lon, lat, synthetic, columns)``.

    ``columns`` maps each field to a list of per-point values (``None`` = no value).
    """
    n = int(payload["n"])
    xy = np.frombuffer(base64.b64decode(payload["xy"]), dtype="<u4").astype(float)
    lon = xy[0::2] / _WORLD * 360.0 - 180.0
    lat = np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * xy[1::2] / _WORLD))))
    synth = (
        np.unpackbits(
            np.frombuffer(base64.b64decode(payload["synth"]), dtype=np.uint8),
            count=n,
            bitorder="little",
        ).astype(bool)
        if payload["synth"]
        else np.zeros(n, dtype=bool)
    )
    blob = gzip.decompress(base64.b64decode(payload["props"]))
    size = int.from_bytes(blob[:4], "little")
    table = json.loads(blob[4 : 4 + size].decode("utf-8"))
    base = 4 + size

    def seg(at_len):
        return blob[base + at_len[0] : base + at_len[0] + at_len[1]]

    cols = {}
    for f, col in table.items():
        u = seg(col["s"]).decode("utf-8").split(_SEP) if "s" in col else list(col["u"])
        if "b" not in col:
            cols[f] = [v if v != "" else None for v in u]
            continue
        dtype = np.dtype(dict(_CODE_TYPES)[col["t"]]).newbyteorder("<")
        codes = np.frombuffer(seg(col["b"]), dtype=dtype)
        u = [None, *(None if v == "" else v for v in u)]
        cols[f] = [u[c] for c in codes.tolist()]
    return lon, lat, synth, cols


def decode_approx(payload: dict) -> np.ndarray:
    """The approximate-position flags of an :func:`encode_points` payload (bool per point)."""
    n = int(payload["n"])
    if not payload.get("approx"):
        return np.zeros(n, dtype=bool)
    raw = np.frombuffer(base64.b64decode(payload["approx"]), dtype=np.uint8)
    return np.unpackbits(raw, count=n, bitorder="little").astype(bool)


def nearest_point(lon: np.ndarray, lat: np.ndarray, x: float, y: float) -> int:
    """Index of the point nearest to ``(x, y)`` on the web map (Web Mercator distance),
    as the browser's click identify computes it; ``-1`` when there are no points."""
    if len(lon) == 0:
        return -1
    px, py = _mercator(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    tx, ty = _mercator(np.array([x], dtype=float), np.array([y], dtype=float))
    return int(np.argmin((px - tx[0]) ** 2 + (py - ty[0]) ** 2))


def point_record(columns: dict, i: int) -> dict:
    """The popup values of point ``i`` (fields without a value left out)."""
    return {f: vals[i] for f, vals in columns.items() if vals[i] is not None}
