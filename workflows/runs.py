"""Named runs: save a workflow report as a run of the project, find it again, reopen it.

A run is saved with everything needed to show it again without running it: its request
and summary, its result layers and inputs (WGS84; ``input:<role>`` for the inputs), its
result tables, and a fingerprint of every project layer it read (:func:`input_fingerprints`).
Reopening (:func:`reopen`) rebuilds a :class:`workflows.common.Report` from what was
stored — nothing is computed again — and says which inputs changed since
(:func:`inputs_changed`). The CLI's ``--save-run NAME``, the pages' save buttons, the
what-if scenarios and ``compare`` all go through here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from io import StringIO

import geopandas as gpd
import pandas as pd

import settings
from layers.errors import InnoMapError
from layers.filters import zone_key
from layers.project import Project, RunRecord, save_run
from workflows import analyses
from workflows.common import Report, report_in_district_order

__all__ = [
    "INPUT_PREFIX",
    "ReopenRequest",
    "check_new_name",
    "input_fingerprints",
    "inputs_changed",
    "local_time",
    "reopen",
    "resolve_run",
    "run",
    "run_layers",
    "run_tables",
    "runs_table",
    "save_report",
]

#: Stored layers named ``input:<role>`` are the run's inputs (e.g. ``input:services``).
INPUT_PREFIX = "input:"


# ---------------------------------------------------------------- time
def local_time(created_at: str, *, tz: str | None = None) -> str:
    """A stored UTC time (``2026-12-07T03:10:00Z``) as local time (``2026-12-07 11:10``,
    ``settings.LOCAL_TIMEZONE``); text that is not such a time is returned as it is."""
    from zoneinfo import ZoneInfo

    try:
        t = datetime.strptime(str(created_at), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return str(created_at)
    return t.astimezone(ZoneInfo(tz or settings.LOCAL_TIMEZONE)).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------- inputs
def _frame_hash(gdf: pd.DataFrame) -> str:
    """A content hash of a frame: its columns, values and geometries (row order kept)."""
    h = hashlib.sha256()
    h.update(json.dumps([str(c) for c in gdf.columns], ensure_ascii=False).encode())
    if len(gdf):
        plain = pd.DataFrame(
            {
                str(c): (
                    gdf[c].to_wkb() if isinstance(gdf[c], gpd.GeoSeries) else gdf[c].astype(str)
                )
                for c in gdf.columns
            }
        )
        h.update(pd.util.hash_pandas_object(plain, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


def _input_layer_names(project: Project, request: dict, summary: dict) -> list[str]:
    """Project layers a run read: its sources, its zones (when it names one), its axes."""
    names = [
        str(src.get("layer"))
        for role in (summary.get("inputs") or {}).values()
        for src in role.get("sources") or []
    ]
    if request.get("zone"):
        names += [lyr.name for lyr in project.layers_of_kind("zones")]
    if request.get("axis") is not None or summary.get("axis"):
        names += [lyr.name for lyr in project.layers_of_kind("corridor_axes")]
    return list(dict.fromkeys(n for n in names if n in project.layers))


def input_fingerprints(project: Project, request: dict, summary: dict) -> dict[str, str]:
    """``{project layer or network: fingerprint}`` of what a run read (files are not kept)."""
    out = {
        name: _frame_hash(project.layers[name].gdf)
        for name in _input_layer_names(project, request, summary)
    }
    net = request.get("network") or (request.get("reach") or {}).get("network")
    if net and net in project.networks:
        out[f"network:{net}"] = _fingerprint(project, f"network:{net}")
    return out


def _fingerprint(project: Project, name: str) -> str | None:
    """The fingerprint of input ``name`` now (a layer, or ``network:<name>``); None if gone."""
    if name.startswith("network:"):
        n = project.networks.get(name.split(":", 1)[1])
        return f"{n.edges}:{n.imported_at}:{n.table}" if n is not None else None
    lyr = project.layers.get(name)
    return _frame_hash(lyr.gdf) if lyr is not None else None


def inputs_changed(
    project: Project, rec: RunRecord, *, memo: dict[str, str | None] | None = None
) -> list[str] | None:
    """The inputs of a saved run that changed (or are gone) since it was saved.

    ``None`` when the run kept no fingerprints (saved before runs kept them): unknown.
    ``memo`` keeps the fingerprints computed, for checking several runs of one project.
    """
    saved = (rec.meta or {}).get("inputs")
    if saved is None:
        return None
    memo = {} if memo is None else memo
    changed = []
    for name, fp in saved.items():
        if name not in memo:
            memo[name] = _fingerprint(project, name)
        if memo[name] != fp:
            changed.append(name)
    return changed


# ---------------------------------------------------------------- saving
def check_new_name(project: Project, name: str) -> None:
    """Before an analysis runs: a run named ``name`` can be saved in ``project``."""
    from layers.store_common import check_run_name

    if project.read_only or project.is_demo:
        raise InnoMapError(
            f"项目 {project.name} 只读, 不能保存运行 / project {project.name!r} is read-only: "
            "--save-run needs a project file (python cli.py project copy --from demo --to P.gpkg)"
        )
    if not str(name or "").strip():
        raise InnoMapError("运行名称为空 / the run name is empty: give --save-run NAME")
    check_run_name(str(name).strip(), [r.name for r in project.runs])


def _kept(frames: dict, limit: int) -> tuple[dict, list[str]]:
    kept = {k: g for k, g in frames.items() if g is not None and len(g) <= limit}
    return kept, [k for k in frames if k not in kept]


def save_report(
    project: Project,
    report: Report,
    *,
    name: str = "",
    title: str = "",
    kind: str = "run",
) -> RunRecord:
    """Save ``report`` as a run of ``project`` (named ``name``, unique in the project).

    Result layers and inputs up to ``settings.RUN_LAYER_MAX_ROWS`` rows and result tables
    (first ``settings.RUN_TABLE_MAX_ROWS`` rows) are kept; larger layers are left out and
    listed in the run (``meta["left_out"]``). ``kind`` is ``run`` or ``scenario``.
    """
    limit = settings.RUN_LAYER_MAX_ROWS
    frames = dict(report.layers) | {f"{INPUT_PREFIX}{k}": g for k, g in report.inputs.items()}
    layers, left_out = _kept(frames, limit)
    tables = {
        k: t.head(settings.RUN_TABLE_MAX_ROWS).to_json(
            orient="split", force_ascii=False, default_handler=str
        )
        for k, t in (report.tables or {}).items()
        if isinstance(t, pd.DataFrame)
    }
    meta = {
        "kind": kind,
        "inputs": input_fingerprints(project, report.request, report.summary),
        "tables": tables,
        "left_out": left_out,
    }
    return save_run(
        project,
        analysis=report.analysis,
        title=title or name or analyses.title_zh(report.analysis),
        request=report.request,
        summary=report.summary,
        layers=layers,
        name=name,
        meta=meta,
    )


# ---------------------------------------------------------------- finding
def _describe(r: RunRecord) -> str:
    return f"{r.id} ({r.label}, {analyses.title_zh(r.analysis)}, {local_time(r.created_at)})"


def resolve_run(project: Project, ref: str) -> RunRecord:
    """The saved run ``ref`` names: its id, its name, or (runs saved unnamed) its title.

    Names are compared under :func:`layers.filters.zone_key`. A reference that fits
    several runs is refused naming them; an unknown one lists the project's runs.
    """
    ref = str(ref)
    key = zone_key(ref)
    by_id = [r for r in project.runs if r.id == ref]
    by_name = [r for r in project.runs if r.name and zone_key(r.name) == key]
    hits = by_id + [r for r in by_name if r not in by_id]
    if not hits:
        hits = [r for r in project.runs if not r.name and r.title and zone_key(r.title) == key]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise InnoMapError(
            f"{ref!r} 对应多个运行 / {ref!r} fits several runs: "
            + "; ".join(_describe(r) for r in hits)
            + ": give the run's id"
        )
    have = "; ".join(_describe(r) for r in project.runs) or "无 / none"
    raise InnoMapError(
        f"项目 {project.name} 中没有运行 {ref!r} / no run {ref!r} in project {project.name!r}: "
        f"saved runs are {have} (save one with --save-run NAME)"
    )


# ---------------------------------------------------------------- reopening
def run_layers(rec: RunRecord) -> dict[str, gpd.GeoDataFrame]:
    """The stored layers of a run (WGS84), result layers first, then ``input:`` layers."""
    names = sorted(rec.layers, key=lambda n: n.startswith(INPUT_PREFIX))
    return {n: rec.result_layer(n) for n in names}


def run_tables(rec: RunRecord) -> dict[str, pd.DataFrame]:
    """The stored result tables of a run (as saved; values that were objects as text)."""
    out = {}
    for k, text in ((rec.meta or {}).get("tables") or {}).items():
        out[k] = pd.read_json(StringIO(text), orient="split", dtype=False)
    return out


@dataclass(frozen=True)
class ReopenRequest:
    """Reopen a saved run (by id or unique name) from what was stored."""

    run: str

    @classmethod
    def from_dict(cls, d: dict) -> ReopenRequest:
        return cls(run=str(d["run"]))

    def to_dict(self) -> dict:
        return {"run": self.run}


def reopen(project: Project, rec: RunRecord) -> Report:
    """A saved run as a :class:`Report` of its stored layers, tables and summary.

    ``summary["run"]`` says which run it is (id, name, local time) and ``inputs_changed``
    which of its inputs changed since (``None``: unknown, the run kept no fingerprints).
    """
    layers = run_layers(rec)
    changed = inputs_changed(project, rec)
    info = {
        "id": rec.id,
        "name": rec.name,
        "label": rec.label,
        "analysis": rec.analysis,
        "created_at": rec.created_at,
        "local_time": local_time(rec.created_at),
        "kind": (rec.meta or {}).get("kind", "run"),
        "left_out": list((rec.meta or {}).get("left_out") or []),
    }
    notes = []
    if changed:
        notes.append(
            f"保存后输入已更改: {'、'.join(changed)} / inputs changed since the run was saved: "
            f"{', '.join(changed)}"
        )
    summary, tables = report_in_district_order(  # saved before, or districts changed since
        project, summary=rec.summary, tables=run_tables(rec)
    )
    return Report(
        analysis=rec.analysis,
        request=dict(rec.request),
        summary=summary | {"run": info, "inputs_changed": changed},
        tables=tables,
        layers={k: g for k, g in layers.items() if not k.startswith(INPUT_PREFIX)},
        inputs={k[len(INPUT_PREFIX) :]: g for k, g in layers.items() if k.startswith(INPUT_PREFIX)},
        notes=notes,
    )


def run(project: Project, request: ReopenRequest) -> Report:
    """The workflow entry: reopen the run ``request.run`` names (see :func:`reopen`)."""
    return reopen(project, resolve_run(project, request.run))


def runs_table(project: Project, *, lang: str = "zh", analysis: str | None = None) -> pd.DataFrame:
    """The project's saved runs, newest first: id, name, analysis, local time, inputs changed.

    ``inputs_changed`` is ``True``/``False``, or ``None`` when the run kept no fingerprints.
    """
    rows = []
    memo: dict[str, str | None] = {}  # each input layer hashed once, not once per run
    for r in reversed(project.runs):
        if analysis and r.analysis != analysis:
            continue
        changed = inputs_changed(project, r, memo=memo)
        rows.append(
            {
                "id": r.id,
                "name": r.label,
                "analysis": analyses.title(r.analysis, lang),
                "analysis_key": r.analysis,
                "kind": (r.meta or {}).get("kind", "run"),
                "local_time": local_time(r.created_at),
                "inputs_changed": None if changed is None else bool(changed),
            }
        )
    cols = ["id", "name", "analysis", "analysis_key", "kind", "local_time", "inputs_changed"]
    return pd.DataFrame(rows, columns=cols)
