"""Compare two saved runs of one analysis (方案A / 方案B): request → report.

``compare --project P --runs A B --out DIR`` and the app's 方案对比 page. Both runs
are reopened from what was stored (:func:`workflows.runs.reopen`, nothing is computed
again); the indicators are those the analysis registers
(:func:`workflows.analyses.indicators`), each of A and B and the difference B − A.
:func:`write` puts ``compare.csv`` (that table) and ``compare.png`` (the two maps side by
side, same extent and legend: :mod:`export.compare_map`) in a folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from layers.errors import InnoMapError
from layers.project import Project
from workflows import analyses, runs
from workflows.common import Report

__all__ = [
    "FILES",
    "CompareRequest",
    "CompareResult",
    "compare_table",
    "png",
    "run",
    "side_notes",
    "write",
]

#: What ``compare`` writes in its folder.
FILES = ("compare.csv", "compare.png", "summary.json")

#: compare.csv's columns.
COLUMNS = ["indicator", "指标", "indicator_en", "a", "b", "difference", "run_a", "run_b"]


@dataclass(frozen=True)
class CompareResult:
    """The two reopened runs (reports of their stored layers) and their project."""

    a: Report
    b: Report
    project: Project


@dataclass(frozen=True)
class CompareRequest:
    """Two saved runs of the project, by id or unique name (A first)."""

    runs: tuple[str, str]

    def __post_init__(self):
        r = (self.runs,) if isinstance(self.runs, str) else tuple(str(x) for x in self.runs or ())
        if len(r) != 2:
            raise InnoMapError(
                f"对比需要两个运行, 收到 {len(r)} 个 / compare needs exactly two runs (A B), "
                f"got {len(r)}: --runs A B"
            )
        object.__setattr__(self, "runs", r)

    @classmethod
    def from_dict(cls, d: dict) -> CompareRequest:
        return cls(runs=tuple(d["runs"]))

    def to_dict(self) -> dict:
        return {"runs": list(self.runs)}


def compare_table(analysis: str, a: dict, b: dict, *, names: tuple[str, str]) -> pd.DataFrame:
    """Each indicator of runs A and B (their summaries) and the difference B − A."""
    ia = {k: (zh, en, v) for k, zh, en, v in analyses.indicators(analysis, a)}
    ib = {k: (zh, en, v) for k, zh, en, v in analyses.indicators(analysis, b)}
    rows = []
    for key in _cutoffs_in_order([*ia, *(k for k in ib if k not in ia)]):
        zh, en, va = ia.get(key) or (*ib[key][:2], None)
        vb = ib[key][2] if key in ib else None
        diff = vb - va if va is not None and vb is not None else None
        rows.append([key, zh, en, va, vb, diff, names[0], names[1]])
    return pd.DataFrame(rows, columns=COLUMNS)


_CUTOFF_KEY = re.compile(r"_(\d+(?:\.\d+)?)min$")


def _cutoffs_in_order(keys: list[str]) -> list[str]:
    """``keys`` with the per-cut-off indicators (``share_10min`` …) in numeric order of
    their minutes, in the place of the first of them (A's and B's cut-offs may differ)."""
    minutes = {k: float(m.group(1)) for k in keys if (m := _CUTOFF_KEY.search(k))}
    if not minutes:
        return keys
    first = next(i for i, k in enumerate(keys) if k in minutes)
    rest = [k for k in keys if k not in minutes]
    return [*rest[:first], *sorted(minutes, key=minutes.__getitem__), *rest[first:]]


def _same_analysis(a, b) -> None:
    if a.id == b.id:
        raise InnoMapError(
            f"运行 A 与 B 是同一个 ({a.id}) / runs A and B are the same run ({a.id}): "
            "choose two different runs"
        )
    if a.analysis != b.analysis:
        raise InnoMapError(
            f"只能对比同一种分析的运行 / only runs of the same analysis can be compared: "
            f"{a.label} is {analyses.title_zh(a.analysis)} ({a.analysis}), {b.label} is "
            f"{analyses.title_zh(b.analysis)} ({b.analysis})"
        )


def side_notes(report: Report) -> list[str]:
    """What a side of the comparison says under its map: the run, changed inputs."""
    info = report.summary["run"]
    out = [f"运行 {info['label']} · {info['id']} · 保存于 {info['local_time']} (北京时间)"]
    changed = report.summary.get("inputs_changed")
    if changed:
        out.append(f"注意: 保存后输入已更改 / inputs changed since: {'、'.join(changed)}")
    if info["left_out"]:
        out.append(f"未保存的大图层 / layers not kept: {', '.join(info['left_out'])}")
    return out


def run(project: Project, request: CompareRequest, *, on_progress=None) -> Report:
    """Reopen runs A and B (same analysis) and put their indicators side by side.

    ``on_progress(done, total)``: one step per reopened run.
    """
    a, b = (runs.resolve_run(project, r) for r in request.runs)
    _same_analysis(a, b)
    ra = runs.reopen(project, a)
    if on_progress is not None:
        on_progress(1, 2)
    rb = runs.reopen(project, b)
    if on_progress is not None:
        on_progress(2, 2)
    table = compare_table(a.analysis, a.summary, b.summary, names=(a.label, b.label))
    summary = {
        "analysis": a.analysis,
        "analysis_title": analyses.title_zh(a.analysis),
        "runs": [ra.summary["run"], rb.summary["run"]],
        "inputs_changed": {
            "a": ra.summary["inputs_changed"],
            "b": rb.summary["inputs_changed"],
        },
        "indicators": table.drop(columns=["run_a", "run_b"]).to_dict(orient="records"),
    }
    return Report(
        analysis="compare",
        request=request.to_dict(),
        summary=summary,
        tables={"compare": table},
        notes=[*side_notes(ra), *side_notes(rb)],
        result=CompareResult(ra, rb, project),
    )


def png(report: Report, *, dpi: int | None = None) -> bytes:
    """compare.png of a comparison report: both runs' maps side by side."""
    from export.compare_map import compare_png

    ra, rb, project = report.result.a, report.result.b, report.result.project
    sides = [
        (
            tag if r.summary["run"]["label"] == tag else f"{tag}: {r.summary['run']['label']}",
            {**r.layers, **{f"{runs.INPUT_PREFIX}{k}": g for k, g in r.inputs.items()}},
            side_notes(r),
        )
        for tag, r in (("方案A", ra), ("方案B", rb))
    ]
    title = f"{report.summary['analysis_title']} · 方案对比"
    return compare_png(project, sides, title=title, dpi=dpi)


def write(report: Report, folder: str | Path) -> list[str]:
    """Write compare.csv and compare.png into ``folder`` (the registry's ``write``: summary.json
    is written by :func:`workflows.analyses.write_result`); their names."""
    from layers.io_safe import atomic_write
    from layers.safe import safe_csv

    folder = Path(folder)
    table = report.tables["compare"]
    atomic_write(
        folder / "compare.csv",
        lambda t: safe_csv(table, t),  # UTF-8 with BOM: Excel shows the Chinese
        force=True,
    )
    data = png(report)
    atomic_write(folder / "compare.png", lambda t: t.write_bytes(data), force=True)
    return list(FILES[:2])


# Registered here, not in the registry's module (which never imports a workflow that
# imports it): the ``compare`` command and the page load this module first.
analyses.register(
    analyses.Analysis(
        "compare",
        CompareRequest,
        run,
        "方案对比",
        "Scenario comparison",
        files=FILES,
        write=write,
        console=lambda s: (
            f"{s['analysis']}: {s['runs'][0]['label']} vs {s['runs'][1]['label']}, "
            f"{len(s['indicators'])} indicators"
        ),
        console_notes=(),
    ),
    replace=True,
)
