"""Reports as text lines: what the command line prints of each workflow's result.

The commands (:mod:`commands`) only assemble arguments and print these lines; the text
of a validation, an inspection, an import, a project or a geocoding run is decided here,
once, from the report itself (so a test or another front end gets the same words).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

__all__ = [
    "added_lines",
    "analysis_notes",
    "copied_line",
    "created_line",
    "error_lines",
    "geocode_lines",
    "geocode_stop_lines",
    "imported_line",
    "inspect_lines",
    "kept_lines",
    "layers_lines",
    "layers_written_line",
    "outside_warning",
    "progress_printer",
    "project_info",
    "project_lines",
    "qgis_line",
    "validation_lines",
]


def layers_lines(table, *, lang: str = "zh") -> list[str]:
    """The embedded layers (:func:`layers.registry.project_sources`) as an aligned table."""
    name_col = "name_en" if lang == "en" else "name_zh"
    width = max(len(k) for k in table["layer"])
    out = [f"{'layer':<{width}}  {'rows':>6}  {'synthetic':>9}  {'geometry':<8}  {'crs':<10}  name"]
    for r in table.itertuples():
        out.append(
            f"{r.layer:<{width}}  {r.rows:>6}  {r.synthetic_rows:>9}  {r.geometry:<8}  "
            f"{r.crs:<10}  {getattr(r, name_col)}"
        )
        out += [f"{'':<{width}}    source: {s}" for s in r.sources]
    return out


def inspect_lines(info: dict) -> list[str]:
    """What a file holds (:func:`layers.importer.inspect_file`): format, sheets, layers."""
    out = [f"{info['file']}: {info['format']}, encoding {info['encoding'] or '-'}"]
    kinds = info.get("layer_kinds") or {}
    contents = {c["name"]: c for c in info.get("contents") or []}
    for a in info["available"]:
        tags = [t for t in ("hidden" if a in info["hidden"] else "", kinds.get(a) or "") if t]
        c = contents.get(a)
        held = (
            f": {c['rows']} rows ({', '.join(f'{t} {n}' for t, n in c['geometry'].items())})"
            if c
            else ""
        )
        out.append(f"  {a}" + (f" ({', '.join(tags)})" if tags else "") + held)
    return out


def outside_warning(rep) -> str | None:
    """The count of an import's rows beyond the project's city, when there are any."""
    n = rep.outside_city_rows
    if not n:
        return None
    return (
        f"{rep.file}: {n} 行位于项目城市范围之外 / {n} row(s) lie outside the project's city "
        "(flagged outside_city, or rejected with --drop-outside-city): check their coordinates "
        "and CRS"
    )


def error_lines(rep, *, limit: int = 50) -> list[str]:
    """The first ``limit`` rejected rows of an import, and how many more there are."""
    out = [f"  ERROR row {i.row} [{i.field}] {i.value!s}: {i.message}" for i in rep.errors[:limit]]
    if len(rep.errors) > limit:
        out.append(f"  … {len(rep.errors) - limit} more errors (use --json for all)")
    return out


def validation_lines(rep) -> list[str]:
    """An import report as text: the file, what it holds, rows, notes, errors, warnings."""
    where = f" [{rep.sheet_or_layer}]" if rep.sheet_or_layer else ""
    out = [
        f"{rep.file}{where}: {rep.format}, encoding {rep.encoding or '-'}, CRS {rep.crs_in} "
        f"({rep.crs_reason})"
    ]
    if rep.available:
        marked = [a + (" (hidden)" if a in rep.hidden else "") for a in rep.available]
        out.append(f"  sheets/layers: {', '.join(marked)}")
    for c in rep.contents:  # what a multi-layer source holds
        geoms = ", ".join(f"{t} {n}" for t, n in c["geometry"].items())
        out.append(
            f"  {c['field'] or 'layer'} {c['name'] or rep.file}: {c['rows']} rows ({geoms}); "
            f"{c.get('rows_fitting_kind', c['rows'])} fit {rep.layer_key}"
        )
    if rep.header_row is not None:
        mapped = ", ".join(f"{k}←{v}" for k, v in rep.column_map.items())
        out.append(f"  header row {rep.header_row}; columns: {mapped}")
    out.append(
        f"  rows: {rep.rows_valid} valid / {rep.rows_total} total; {len(rep.errors)} errors, "
        f"{len(rep.warnings)} warnings, {len(rep.notes)} notes"
    )
    out += [f"  note: {n}" for n in rep.notes]
    out += [
        f"  kept as 其他 ({fld}): {sum(counts.values())} rows: "
        + ", ".join(f"{k} ×{v}" for k, v in counts.items())
        for fld, counts in rep.other_values.items()
    ]
    out += error_lines(rep)
    out += [
        f"  warning row {i.row} [{i.field}] {i.value!s}: {i.message}" for i in rep.warnings[:20]
    ]
    return out


def added_lines(project, rep, stored, kind: str) -> list[str]:
    """An import added to a project as a layer: rows kept, rows the store refused, errors."""
    return [
        f"{rep.file}: added {stored.rows}/{rep.rows_total} rows as layer "
        f"{stored.name!r} ({kind}, from {rep.crs_in}) to {project.name}",
        *(f"  REJECTED {note}" for note in stored.add_notes),
        *error_lines(rep),
    ]


def created_line(ref: str, project, info: dict) -> str:
    """A new project: its city, districts and metric CRS."""
    return (
        f"created {ref}: {project.name} — {project.province}{project.city} "
        f"({project.adcode}); districts: {', '.join(info['districts'])}; "
        f"metric CRS {project.crs_label()}"
    )


def kept_lines(
    project, *, network=None, graph=None, register=None, rows: int = 0, file=""
) -> list[str]:
    """A road network or an address register kept in a project, and how to use it."""
    if network is not None:
        return [
            f"{network.source_file}: kept road network {network.name!r} ({network.edges} edges; "
            f"graph {graph.n_nodes} nodes) in {project.name}; use --network {network.name!r}"
        ]
    return [
        f"{Path(file).name}: kept address register {register!r} ({rows} addresses) in "
        f"{project.name}; use geocode --provider local --gazetteer {register!r} --project …"
    ]


def project_info(project) -> dict:
    """:meth:`layers.project.Project.info` with the project's address registers."""
    from layers.project import gazetteer_rows

    info = project.info()
    info["gazetteers"] = [
        {"name": r[0], "source_file": r[2] or "", "imported_at": r[3] or "", "rows": int(r[4] or 0)}
        for r in gazetteer_rows(project)
    ]
    return info


def project_lines(project, info: dict) -> list[str]:
    """A project as text (:meth:`layers.project.Project.info` with its address registers)."""
    ro = " (只读 / read-only)" if project.read_only else ""
    zones = ", ".join(z["name"] + " (" + z["type"] + ")" for z in info["zones"])
    out = [
        f"{project.name}{ro}: {project.province}{project.city} ({project.adcode})",
        f"  metric CRS: {project.crs_label()}",
        f"  districts: {', '.join(info['districts']) or '-'}",
        f"  zones: {zones or '-'}",
        "  layers:",
    ]
    out += [
        f"    {lyr['name']:<24} {lyr['kind']:<15} {lyr['rows']:>8} rows  "
        f"{lyr['source_file'] or '-'}  ({lyr['crs_in'] or '-'})"
        for lyr in info["layers"]
    ]
    out.append(f"  runs: {len(info['runs'])}")
    out += [
        f"    {r['id']}  {r['analysis']:<9} {r['created_at']}  {r['title']}" for r in info["runs"]
    ]
    out += [
        f"  address register: {g['name']} ({g['rows']} addresses, {g['source_file'] or '-'})"
        for g in info.get("gazetteers", [])
    ]
    return out


def analysis_notes(notes: tuple[str, ...], summary: dict) -> list[str]:
    """The notes an analysis command prints before writing, in the registry's order:
    ``skipped`` (rows of files left out with ``--skip-invalid``) and ``coarse`` (the
    precision rule); both are in summary.json too."""
    from workflows.common import precision_notes

    out: list[str] = []
    for note in notes:
        n = summary.get("skipped_invalid") or 0
        if note == "skipped" and n:
            files = sorted({str(r.get("file")) for r in summary.get("skipped_rows", [])})
            out.append(f"skipped {n} invalid rows ({', '.join(files)}); listed in summary.json")
        elif note == "coarse":
            out += precision_notes(summary)
    return out


def geocode_lines(path, out: Path, s: dict) -> list[str]:
    """A geocoding run's summary: counts by status, the register's matches, rows not ok."""
    counts = ", ".join(f"{k} {v}" for k, v in s["counts"].items() if v)
    lines = [
        f"{Path(path).name}: {s['rows']} rows, {s['addresses']} addresses via {s['provider']} "
        f"({s['asked']} asked, {s['cache_hits']} from cache [{s['cache']}]): {counts}; wrote {out}"
    ]
    if "gazetteer" in s:
        g = s["gazetteer"]
        lines.append(
            f"  register {g['name']} ({g['rows']} addresses): {g['matched']} matched "
            f"(score ≥ {g['min_score']:g}); the others placed offline"
        )
    listed = s["listed"]
    lines += [f"  row {r['row']} [{r['status']}] {r['address']}: {r['note']}" for r in listed[:50]]
    if len(listed) > 50:
        lines.append(f"  … {len(listed) - 50} more rows not ok (geocode_status in {out.name})")
    return lines


def geocode_stop_lines(s: dict) -> list[str]:
    """Why a geocoding run stopped (quota, service) and how to resume: nothing when it did not."""
    if not s["interrupted"]:
        return []
    return [
        f"error: {s['interrupted']}",
        f"stopped with {s['not_asked']} addresses not asked: run the same command with --force "
        "to resume (answered addresses are cached)",
    ]


def progress_printer(label: str, *, every_s: float = 0.0):
    """An ``on_progress(done, total)`` printing ``label done/total`` on one stderr line
    (at most every ``every_s`` seconds; the last count always, then a new line)."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] > every_s:
            last[0] = now
            print(f"\r{label} {done}/{total}", end="\n" if done == total else "", file=sys.stderr)

    return progress


def imported_line(rep, *, kind: str, out) -> str:
    """A file imported into a normalised GeoPackage (``import``)."""
    return (
        f"{rep.file}: {rep.rows_valid}/{rep.rows_total} rows imported as {kind} (WGS84, "
        f"from {rep.crs_in}); {len(rep.rejected)} rejected → layer 'rejected'; wrote {out}"
    )


def layers_written_line(out, s: dict) -> str:
    """Layers exported (``export-layers``): rows out of rows in, rows skipped, the CRS."""
    skipped = f"; skipped {s['skipped_invalid']} invalid rows" if s["skipped_invalid"] else ""
    written = Path(out).with_name(s["out"])
    return f"wrote {written} ({s['rows_out']} rows of {s['rows_in']}{skipped}; CRS {s['crs']})"


def qgis_line(out, s: dict) -> str:
    """A QGIS project written (``export-qgis``)."""
    rows = sum(v["rows"] for v in s["layers"].values())
    return (
        f"wrote {out}/{s['qgz']} and {s['gpkg']} ({len(s['layers'])} layers, {rows} rows; "
        f"CRS {s['crs']}); open the .qgz in QGIS 3.22 or later"
    )


def copied_line(project, target: str) -> str:
    """A project copied between stores (``project copy``; the target's password redacted)."""
    from layers.store_postgis import redact

    rows = sum(lyr.rows for lyr in project.layers.values())
    n = f"{len(project.layers)} layers ({rows} rows), {len(project.networks)} networks"
    return f"copied {project.name}: {n}, {len(project.runs)} runs → {redact(target)}"
