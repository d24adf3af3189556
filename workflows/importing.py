"""Importing a file with progress (the import page, the CLI): real counts of rows read.

This workflow counts the file's rows first (a constant-memory scan of a CSV's
line ends, an XLSX sheet's size or a layer's feature count), then runs
:func:`layers.importer.import_file` in a worker thread. The importer reports the
records it has read (``on_rows``) after every block of the file; the caller's
thread passes them on as ``on_progress(done, total)``: ``done`` is always a
count of rows actually read, never an estimate, and the last call is
``(rows_total, rows_total)`` once the rows are checked. The result is the
import's own report, unchanged.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from layers.importer import ImportOptions, ImportReport, import_file, inspect_file
from workflows.progress import ProgressFn, run_with_ticks

__all__ = ["add_to_project", "count_rows", "import_jobs", "options_from", "run", "write_gpkg"]

_CHUNK = 1 << 20


def _csv_rows(p: Path) -> int:
    lines, last = 0, b"\n"
    with open(p, "rb") as f:
        while chunk := f.read(_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    lines += last != b"\n"  # a last line without a line end
    return max(lines - 1, 0)  # the header


def _xlsx_rows(p: Path, sheet: str | None) -> int | None:
    """Rows below the first of each sheet the import reads: ``sheet``, else every visible
    sheet (sheets sharing a header are read together), else every sheet."""
    from openpyxl import load_workbook

    wb = load_workbook(p, read_only=True)
    try:
        if sheet and sheet in wb.sheetnames:
            read = [wb[sheet]]
        else:
            read = [ws for ws in wb.worksheets if ws.sheet_state == "visible"] or wb.worksheets
        return sum(max((ws.max_row or 1) - 1, 0) for ws in read)
    finally:
        wb.close()


def _layer_rows(p: Path, layer: str | None, available: list[str]) -> int | None:
    """Features of ``layer``, else of every layer (the import reads each that fits the kind)."""
    import pyogrio

    layers = [layer] if layer else available or [None]
    return sum(int(pyogrio.read_info(p, layer=name)["features"]) for name in layers)


def _zip_rows(p: Path, layer: str | None, members: list[str]) -> int:
    """Features of the shapefiles of a zip: the one named ``layer``, else all of them."""
    import pyogrio

    if layer:
        picked = [m for m in members if layer in (m, Path(m).stem, Path(m).name)]
        members = picked or members
    return sum(int(pyogrio.read_info(f"/vsizip/{p}/{m}")["features"]) for m in members)


_PLACEMARK = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Placemark[\s>/]")


def _kml_rows(p: Path, fmt: str) -> int:
    """Placemarks of a KML/KMZ, every folder (an upper bound when one folder is picked)."""
    from layers.importer import _kml_bytes

    data = _kml_bytes(p, fmt)
    return len(_PLACEMARK.findall(data))


def count_rows(path: str | Path, options: ImportOptions | None = None) -> int | None:
    """Data rows (or features) of the file, counted cheaply; None when not known.

    Every part the import reads is counted: all visible sheets of a workbook (sheets
    sharing a header are read together), all layers of a GeoPackage, all shapefiles of
    a zip and all placemarks of a KML/KMZ unless ``options`` names one sheet or layer.
    A CSV counts line ends (a quoted line break counts as a row: an upper bound); title
    rows above a header are counted too (an upper bound).
    """
    p = Path(path)
    opts = options or ImportOptions()
    try:
        info = inspect_file(p, contents=False)
        fmt = info["format"]
        if fmt == "csv":
            return _csv_rows(p)
        if fmt == "xlsx":
            return _xlsx_rows(p, opts.sheet)
        if fmt in ("gpkg", "geojson"):
            return _layer_rows(p, opts.layer, info["available"])
        if fmt == "zip":
            return _zip_rows(p, opts.layer, info["available"])
        if fmt in ("kml", "kmz"):
            return _kml_rows(p, fmt)
    except Exception:  # a count is only a hint: the import reports the real problem
        return None
    return None


class _Counter:
    """Rows read so far, written by the worker and read by the caller's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.read = 0

    def __call__(self, n: int) -> None:
        with self._lock:
            self.read = max(self.read, int(n))


def run(
    path: str | Path,
    options: ImportOptions | None = None,
    *,
    on_progress: ProgressFn | None = None,
    tick_s: float = 0.25,
) -> ImportReport:
    """:func:`layers.importer.import_file` with ``on_progress(done, total)``.

    Parameters
    ----------
    path : str or Path
        The file.
    options : ImportOptions, optional
        Import options.
    on_progress : callable, optional
        Called in this thread: ``(0, total)`` first (``total`` from
        :func:`count_rows`, 0 when unknown), then ``(rows read, total)`` as the
        file is read (``total`` raised if the file holds more), and
        ``(rows_total, rows_total)`` at the end.
    tick_s : float
        Seconds between updates.
    """
    if on_progress is None:
        return import_file(path, options)
    total = count_rows(path, options) or 0
    on_progress(0, total)
    counter = _Counter()
    top = {"total": total}

    def tick(_elapsed: float) -> None:
        done = counter.read
        top["total"] = max(top["total"], done)
        on_progress(done, top["total"])

    rep = run_with_ticks(
        lambda: import_file(path, options, on_rows=counter), tick=tick, every_s=tick_s
    )
    on_progress(rep.rows_total, rep.rows_total)
    return rep


def add_to_project(
    project,
    rep: ImportReport,
    *,
    name: str,
    kind: str,
    source_file: str,
    gdf=None,
    note: bool = True,
    replace: bool = False,
    on_progress: ProgressFn | None = None,
):
    """Add an import's valid rows to ``project`` as a layer (report → layer → add_layer).

    The one way an imported file becomes a project layer: ``cli.py project add`` and the
    import page call it. ``gdf`` replaces the report's valid rows (e.g. with a value
    mapping applied); ``note`` keeps the report's notes with the layer. Returns the layer
    as stored (:func:`layers.project.add_layer`).
    """
    from layers.project import ProjectLayer, add_layer

    layer = ProjectLayer(
        name=name,
        kind=kind,
        gdf=rep.valid if gdf is None else gdf,
        source_file=source_file,
        crs_in=rep.crs_in,
        encoding=rep.encoding or "",
        rejected=rep.rejected,
        note="\n".join(rep.notes) if note else "",
    )
    return add_layer(project, layer, replace=replace, on_progress=on_progress)


# ---------------------------------------------------------------- a file named on the command line
def options_from(values: dict) -> ImportOptions:
    """:class:`ImportOptions` from option values (the command line's ``vars(args)``).

    Reads ``header_row``, ``name_col``, ``col`` (``FIELD=COLUMN`` texts), ``map``
    (``FIELD:RAW=VALUE``) and ``map_csv`` into ``header_row``/``columns``/``value_map``;
    with ``project`` (a reference), rows beyond its city are flagged (or dropped with
    ``drop_outside_city``). Missing keys take ImportOptions' defaults.
    """
    from layers.importer import ImportFileError, parse_map_option, read_mapping_csv

    v = {k: x for k, x in values.items() if x is not None}
    columns: dict[str, str] = {}
    for text in v.get("col") or []:
        fld, sep, column = str(text).partition("=")
        if not sep or not fld.strip() or not column.strip():
            raise ImportFileError(
                f"--col {text!r}: 应为 字段=列名 / must be FIELD=COLUMN, e.g. --col employees=从业人员"
            )
        columns[fld.strip()] = column.strip()
    if v.get("name_col"):
        columns["name"] = v["name_col"]
    value_map: dict[str, dict[str, str]] = {}
    if v.get("map_csv"):
        for fld, pairs in read_mapping_csv(v["map_csv"]).items():
            value_map.setdefault(fld, {}).update(pairs)
    for text in v.get("map") or []:
        fld, raw, value = parse_map_option(text)
        value_map.setdefault(fld, {})[raw] = value
    if v.get("header_row") is not None and v["header_row"] < 1:
        raise ImportFileError("--header-row 应为正整数 / --header-row must be 1 or more")
    keep = ("crs", "encoding", "sheet", "layer", "lon_col", "lat_col", "fix_swapped")
    return ImportOptions(
        **{k: v[k] for k in keep if k in v},
        **({"kind": v["kind"]} if "kind" in v else {}),
        repair_geometry=bool(v.get("repair")),
        city_outline=_city_outline(v.get("project")),
        drop_outside_city=bool(v.get("drop_outside_city")),
        header_row=v.get("header_row"),
        columns=columns,
        value_map=value_map,
    )


def _city_outline(ref):
    """The outline of project ``ref`` (outside-city rows are flagged against it), else None."""
    if not ref:
        return None
    from layers.cities import city_outline
    from layers.project import open_project

    return city_outline(open_project(ref))


def import_jobs(path, options: ImportOptions, *, name: str | None = None) -> list:
    """``(options, layer name)`` per layer to add from ``path``: one, or each layer of an
    InnoMap export holding layers of several kinds, into its own kind."""
    from dataclasses import replace

    p = Path(path)
    if options.layer or p.suffix.lower() not in (".gpkg", ".geojson", ".json", ".zip"):
        return [(options, name or p.stem)]
    kinds = {k: v for k, v in inspect_file(path)["layer_kinds"].items() if v}
    if len(set(kinds.values())) <= 1:
        return [(options, name or p.stem)]
    return [
        (replace(options, kind=k, layer=lyr), f"{name}-{lyr}" if name else lyr)
        for lyr, k in kinds.items()
    ]


def write_gpkg(rep: ImportReport, out, *, kind: str, force: bool = False) -> None:
    """An import as a normalised GeoPackage: the valid rows as layer ``kind`` and the
    rejected rows (with their reasons) as layer ``rejected``; written atomically."""
    import geopandas as gpd

    from layers.io_safe import atomic_write

    def writer(tmp):
        rep.valid.to_file(tmp, layer=kind, driver="GPKG")
        rej = rep.rejected.copy()
        if len(rej):
            gpd.GeoDataFrame(rej, geometry=[None] * len(rej), crs=4326).to_file(
                tmp, layer="rejected", driver="GPKG", mode="a"
            )

    atomic_write(out, writer, force=force)
