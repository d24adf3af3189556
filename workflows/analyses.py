"""The registry of analyses: one entry per analysis, read by the CLI, the print maps,
the Word report, the result packs and the pages.

An :class:`Analysis` holds everything the rest of InnoMap needs to know about an
analysis: its request class (``from_dict``/``to_dict``) and run function, its titles
(zh/en), the files it writes (:func:`write_result`, shared by ``cli.py`` and the
app's result pack), the console lines, the print-map and Word-report hooks (builders of
:mod:`export`, given frames and figures — they never run an analysis), the numbers a
comparison of two runs shows, and its command-line options. Adding an analysis means
writing its workflow module and one :func:`register` call; nothing else is edited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import settings
from layers.errors import InnoMapError
from workflows import choices

if TYPE_CHECKING:  # the registry stays light: the CLI builds its parser from it
    from layers.project import Project
    from workflows.common import Report

__all__ = [
    "ANALYSES",
    "Analysis",
    "Opt",
    "analysis_layers",
    "analysis_report",
    "check_folder",
    "from_options",
    "get",
    "headline",
    "indicators",
    "map_analyses",
    "method_paragraphs",
    "option_params",
    "register",
    "report_extent",
    "report_print_layers",
    "result_tables",
    "run_reporting",
    "title",
    "title_zh",
    "unregister",
    "write_gpkg_layers",
    "write_result",
]

#: A command-line option: (option strings, ``add_argument`` keywords), or a group of
#: options the CLI adds: ``"@project"`` (``--project``, ``--crs``, ``--skip-invalid``),
#: ``"@coarse"`` (``--include-imprecise``) or ``("@reach", {"minutes": default,
#: "several": bool})`` (``--mode``, ``--minutes`` … ``--force``; ``several``: comma-separated
#: minutes).
Opt = tuple


@dataclass(frozen=True)
class Analysis:
    """One analysis, as the CLI, the maps, the report and the pages see it.

    Attributes
    ----------
    key : str
        The command and the ``analysis`` of reports and saved runs (``coverage``).
    request : type or callable
        Frozen request dataclass with ``from_dict``/``to_dict`` (or a function returning
        it, so the module is loaded only when the analysis is used).
    run : callable
        ``run(project, request) -> Report``.
    title_zh, title_en : str
        Names of the analysis (report chapters, pages).
    subtitle : str
        Subtitle of its print map.
    files : tuple of str
        The files it writes in an output folder (``summary.json`` last).
    write : callable, optional
        ``write(report, folder)`` writes ``files`` except ``summary.json``.
    console : callable, optional
        ``console(summary) -> str``: what the CLI prints after writing (``; wrote DIR`` added).
    console_notes : tuple of str
        Which notes the CLI prints before writing, in order: ``skipped`` (rows of files
        left out), ``coarse`` (the precision rule).
    print_layers : callable, optional
        ``print_layers(project, report, zone=...) -> list[PrintLayer]`` (:mod:`export.maps`).
    print_notes : callable, optional
        ``print_notes(summary) -> list[str]``: notes put first under its print map.
    method, tables : callable, optional
        Word-report hooks (:mod:`export.report_docx`): ``method(project, request, summary)``
        paragraphs, ``tables(summary)`` result tables.
    headline : callable, optional
        ``headline(summary)``: the numbers its map shows; a saved run whose headline
        differs when run again is said to have changed.
    extent : callable, optional
        ``extent(report)``: WGS84 bounds of its report map when no zone is given.
    chart : callable, optional
        ``chart(summary, dpi, width_in) -> bytes``: a chart beside the map in reports.
    indicators : callable, optional
        ``indicators(summary) -> list of (key, 中文, English, value)``: the numbers a
        comparison of two runs shows (``compare``: each of run A and B, and B − A).
    map_choice : bool
        Offered by ``export-map --analysis``.
    cli_help, cli_description : str
        Its command's help and description.
    cli_options : tuple of Opt
        Its command's options, in order.
    """

    key: str
    request: type | Callable[[], type]
    run: Callable[..., Report]
    title_zh: str
    title_en: str
    subtitle: str = ""
    files: tuple[str, ...] = ("summary.json",)
    write: Callable[[Report, Path], None] | None = None
    console: Callable[[dict], str] | None = None
    console_notes: tuple[str, ...] = ("skipped", "coarse")
    print_layers: Callable | None = None
    print_notes: Callable[[dict], list[str]] | None = None
    method: Callable[[Project, dict, dict], list[str]] | None = None
    tables: Callable[[dict], list] | None = None
    headline: Callable[[dict], object] | None = None
    extent: Callable[[Report], tuple] | None = None
    chart: Callable[..., bytes] | None = None
    indicators: Callable[[dict], list[tuple]] | None = None
    map_choice: bool = False
    cli_help: str = ""
    cli_description: str = ""
    cli_options: tuple[Opt, ...] = field(default_factory=tuple)

    def request_from_dict(self, params: dict):
        """The request from JSON keys (a saved run's, ``--params``, the CLI's options)."""
        return self.request_class().from_dict(dict(params))

    def request_from_options(self, values: dict):
        """The request from option values (the command line's ``vars(args)``)."""
        return self.request_class().from_dict(option_params(self.request_class(), values))

    def request_class(self) -> type:
        """The request class (``request`` may be a function returning it, loaded when needed)."""
        return self.request if isinstance(self.request, type) else self.request()


#: The registry: analysis key -> :class:`Analysis`, in the order commands are listed.
ANALYSES: dict[str, Analysis] = {}


def register(analysis: Analysis, *, replace: bool = False) -> Analysis:
    """Add ``analysis`` to :data:`ANALYSES` (an existing key only with ``replace``)."""
    if analysis.key in ANALYSES and not replace:
        raise ValueError(f"analysis {analysis.key!r} is registered already")
    ANALYSES[analysis.key] = analysis
    return analysis


def unregister(key: str) -> None:
    """Remove an analysis (tests that register a toy one)."""
    ANALYSES.pop(key, None)


def get(key: str) -> Analysis:
    """The analysis ``key``; an unknown key is an error listing the analyses."""
    if key not in ANALYSES:
        raise InnoMapError(f"未知分析 / unknown analysis {key!r}: use {', '.join(ANALYSES)}")
    return ANALYSES[key]


def _takes_none(annotation) -> bool:
    """Whether a field's annotation admits ``None`` (``int | None``, ``Optional[int]``)."""
    text = str(annotation)
    return "None" in text or "Optional" in text


def option_params(cls: type, values: dict) -> dict:
    """The fields of request class ``cls`` found in option values (``vars(args)``).

    A value left unset (``None``) is kept for a field that takes ``None`` (e.g. ``k``: not
    given) and left out otherwise, so the request's own default applies. The reach
    options of an analysis that travels (``mode``, ``minutes`` …) and ``layer`` for
    ``layers`` are found too (``from_dict`` places them).
    """
    fields = dict(cls.__dataclass_fields__)
    if "reach" in fields:
        from workflows.coverage import ReachOptions

        fields |= ReachOptions.__dataclass_fields__
    if "layers" in fields:
        fields["layer"] = fields["layers"]
    return {
        k: v
        for k, v in values.items()
        if k in fields and (v is not None or _takes_none(fields[k].type))
    }


def from_options(cls: type, values: dict, **given):
    """Request ``cls`` from option values (:func:`option_params`) and ``given`` fields."""
    return cls(**(option_params(cls, values) | given))


def map_analyses() -> tuple[str, ...]:
    """Analyses offered by ``export-map --analysis`` (their print map from parameters)."""
    return tuple(k for k, a in ANALYSES.items() if a.map_choice)


# ---------------------------------------------------------------- running and drawing
def analysis_report(project: Project, kind: str, params: dict, refs=()) -> Report:
    """Run analysis ``kind`` from its request's JSON keys (e.g. a saved run's).

    ``refs`` fill the layers of clusters/hot spots when ``params`` names none.
    """
    a = get(kind)
    p = dict(params)
    if (
        refs
        and "layers" in a.request_class().__dataclass_fields__
        and not (p.get("layers") or p.get("layer"))
    ):
        p["layers"] = list(refs)
    return a.run(project, a.request_from_dict(p))


def report_print_layers(project: Project, report: Report, *, zone: str | None = None):
    """``(layers, notes, subtitle)`` of the print map of a workflow report.

    The notes are the report's own (method, parameters in plain Chinese —
    :func:`export.maps.params_text` —, the numbers of its summary), so the printed legend
    says what summary.json says.
    """
    a = get(report.analysis)
    if a.print_layers is None:
        raise InnoMapError(f"分析 {a.key} 没有打印地图 / analysis {a.key!r} has no print map")
    from export.maps import params_text

    notes = [*report.notes, f"参数: {params_text(project, report.request)}"]
    s = report.summary
    subtitle = a.subtitle
    share = float(s.get("synthetic_share") or 0.0)
    if share > 0:  # said where it is seen first: under the title
        subtitle += f" · 注意: 输入中 {share:.0%} 为模拟数据, 结果仅用于演示方法"
    if a.print_notes is not None:
        notes[:0] = a.print_notes(s)
    return a.print_layers(project, report, zone=zone), notes, subtitle


def analysis_layers(project: Project, kind: str, params: dict, refs, *, zone: str | None = None):
    """Run an analysis and return its print map's ``(layers, notes, subtitle)``.

    ``params`` are the request's JSON keys (those of the matching CLI command or a saved
    run's request); ``refs`` fill the layers of clusters/hot spots when ``params`` names none.
    """
    if kind not in map_analyses():
        raise InnoMapError(f"未知分析 / unknown analysis {kind!r}: use {', '.join(map_analyses())}")
    report = analysis_report(project, kind, params, refs)
    return report_print_layers(project, report, zone=zone or params.get("zone"))


def report_extent(project: Project, report: Report) -> tuple[float, float, float, float]:
    """WGS84 bounds of a report's map: its zone, else the analysis's own (a profile's band),
    else its first input, else the project's."""
    zone = report.request.get("zone")
    if zone:
        from export.maps import zone_extent

        return zone_extent(project, zone)
    a = ANALYSES.get(report.analysis)
    if a is not None and a.extent is not None:
        return a.extent(report)
    first = next((g for g in report.inputs.values() if len(g)), None)
    return tuple(first.to_crs(4326).total_bounds) if first is not None else project.bounds()


# ---------------------------------------------------------------- report hooks
def method_paragraphs(project: Project, analysis: str, request: dict, summary: dict) -> list[str]:
    """The method and its parameters in plain Chinese, one paragraph per item."""
    a = ANALYSES.get(analysis)
    if a is None or a.method is None:
        return [f"分析类型 {analysis}: 参数见附表。"]
    return a.method(project, request, summary)


def result_tables(analysis: str, summary: dict) -> list:
    """The result tables of an analysis, filled from its summary."""
    a = ANALYSES.get(analysis)
    return a.tables(summary) if a is not None and a.tables is not None else []


def headline(analysis: str, summary: dict):
    """The numbers an analysis's map shows (JSON text), to tell whether a run gives the
    same result again."""
    import json

    a = ANALYSES.get(analysis)
    pick = a.headline(summary) if a is not None and a.headline is not None else None
    return json.dumps(pick, default=str, sort_keys=True)


def title_zh(analysis: str) -> str:
    """The Chinese name of an analysis (its key when unknown)."""
    a = ANALYSES.get(analysis)
    return a.title_zh if a is not None else analysis


def title(analysis: str, lang: str = "zh") -> str:
    """The name of an analysis in ``lang`` (``zh``/``en``; its key when unknown)."""
    a = ANALYSES.get(analysis)
    if a is None:
        return analysis
    return a.title_en if lang == "en" else a.title_zh


# ---------------------------------------------------------------- output files
def write_gpkg_layers(path, layers: dict, *, force: bool = True) -> None:
    """One GeoPackage with ``layers`` (name -> frame), written atomically through Arrow
    (:func:`workflows.common.write_layers`)."""
    from workflows.common import write_layers

    write_layers(path, layers, force=force)


def ordered_summary(summary: dict) -> dict:
    """summary.json's keys: the synthetic note and the headline first when there are any."""
    note = summary.get("synthetic_note")
    if note:
        summary = {"synthetic_note": note, "synthetic_share": summary["synthetic_share"]} | summary
    if summary.get("headline"):
        summary = {"headline": summary["headline"]} | summary
    return summary


def check_folder(out: Path, names: list[str], *, force: bool) -> None:
    """Refuse to overwrite ``names`` in folder ``out`` unless ``force`` (checked before any
    work, so a long run never ends in a refusal); the folder is made."""
    from layers.io_safe import OutputExistsError, OutputPathError

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(
            f"--out {out} 不是文件夹 / --out {out.name!r} is a file: give a folder"
        )
    existing = [n for n in names if (out / n).exists()]
    if existing and not force:
        raise OutputExistsError(
            f"{out} 中已有 {', '.join(existing)} / {', '.join(existing)} already exist in "
            f"{out.name!r}: choose another folder or pass --force to overwrite"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # /dev/null/x, no rights: a clear error, not a traceback
        raise OutputPathError(
            f"无法创建文件夹 {out} ({exc.strerror}) / cannot create the --out folder {out.name!r} "
            f"({exc.strerror}): choose a folder you can write to"
        ) from None


def write_result(report: Report, folder: str | Path, *, analysis: str | None = None) -> list[str]:
    """Write ``report``'s files (:attr:`Analysis.files`) into ``folder``; their names.

    The one writer of an analysis's outputs: ``cli.py`` writes them in ``--out`` and
    the app's result pack holds the same files. ``analysis`` defaults to the report's.
    """
    from layers.io_safe import write_json

    a = get(analysis or report.analysis)
    folder = Path(folder)
    if a.write is not None:
        a.write(report, folder)
    write_json(folder / "summary.json", ordered_summary(report.summary), force=True)
    return list(a.files)


def _write_coverage(report: Report, out: Path) -> None:
    from workflows.coverage import demand_output

    geometry = not report.request.get("no_geometry")  # --no-geometry
    write_gpkg_layers(out / "demand.gpkg", {"demand": demand_output(report, geometry=geometry)})
    write_gpkg_layers(
        out / "isochrones.gpkg",
        {k: report.layers[k].to_crs(4326) for k in ("isochrones", "coverage_areas", "blind_spots")},
    )


def _write_clusters(report: Report, out: Path) -> None:
    keys = ("method", "eps_m", "min_samples", "min_cluster_size", "weight", "layers")
    params = str({k: report.summary[k] for k in keys})
    pts = report.layers["points"].to_crs(4326)
    pts["params"] = params
    cl = report.layers["clusters"].to_crs(4326)
    cl["by_kind"] = cl["by_kind"].map(lambda d: ", ".join(f"{k}:{v}" for k, v in d.items()))
    cl["params"] = params
    write_gpkg_layers(out / "points.gpkg", {"points": pts})
    write_gpkg_layers(out / "clusters.gpkg", {"clusters": cl})


def _write_hotspots(report: Report, out: Path) -> None:
    write_gpkg_layers(out / "cells.gpkg", {"cells": report.layers["cells"].to_crs(4326)})


def _write_siting(report: Report, out: Path) -> None:
    lyr = report.layers_wgs84()
    write_gpkg_layers(out / "sites.gpkg", {"sites": lyr["sites"], "catchments": lyr["catchments"]})
    write_gpkg_layers(out / "gaps.gpkg", {"gaps": lyr["gaps"]})


def _write_profile(report: Report, out: Path) -> None:
    from export.profile_chart import profile_chart
    from layers.io_safe import atomic_write
    from layers.safe import safe_csv

    s = report.summary
    cols = ["bin", "from_m", "to_m", *s["kinds"], "total", "per_km", "covered", "covered_share"]
    table = report.tables["profile"][cols]
    atomic_write(out / "profile.csv", lambda t: safe_csv(table, t, encoding="utf-8"), force=True)
    png = profile_chart(s, dpi=200)
    atomic_write(out / "profile.png", lambda t: t.write_bytes(png), force=True)


def _write_whatif(report: Report, out: Path) -> None:
    baseline = report.inputs["baseline"].to_crs(4326)
    write_gpkg_layers(
        out / "sites.gpkg", {"sites": report.layers_wgs84()["sites"], "baseline": baseline}
    )


# ---------------------------------------------------------------- console lines
def _coverage_console(s: dict) -> str:
    lines = [
        f"{r['minutes']:g} min: {r['covered']}/{s['demand_total']} covered "
        f"({r['share']:.1%}, weighted {r['weighted_share']:.1%})"
        for r in s["results"]
    ]
    lines.append(f"method: {s['method_label']}; unsnapped demand: {s['unsnapped']}")
    return "\n".join(lines)


def _siting_console(s: dict) -> str:
    return (
        f"{s['model']}: {len(s['selected'])} new sites; covered {s['share_before']:.1%} → "
        f"{s['share_after']:.1%}; objective {s['objective']:.1f}, bound {s['upper_bound']:.1f}, "
        f"gap {s['gap']:.2%} ({s['solver']})"
    )


def _whatif_console(s: dict) -> str:
    return (
        f"{s['sites']} sites ({s['added']} added); covered {s['baseline_share']:.1%} → "
        f"{s['share']:.1%} ({s['delta_share'] * 100:+.1f} pp)"
    )


def _profile_console(s: dict) -> str:
    share = "" if s["covered_share"] is None else f"; covered {s['covered_share']:.1%}"
    return (
        f"{s['axis']}: {s['axis_length_m'] / 1000:.2f} km, {s['n_bins']} bins of {s['bin_m']:g} m; "
        f"{s['points_in_band']} points within {s['band_m']:g} m{share}"
    )


# ---------------------------------------------------------------- comparison indicators
def _num(value) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _coverage_indicators(s: dict) -> list[tuple]:
    out = [("demand_total", "需求点总数", "Demand points", _num(s.get("demand_total")))]
    for r in s.get("results") or []:
        m = f"{float(r['minutes']):g}"
        out += [
            (
                f"covered_{m}min",
                f"{m} 分钟覆盖需求点",
                f"Covered within {m} min",
                _num(r["covered"]),
            ),
            (f"share_{m}min", f"{m} 分钟覆盖率", f"Share within {m} min", _num(r["share"])),
            (
                f"weighted_share_{m}min",
                f"{m} 分钟加权覆盖率",
                f"Weighted share within {m} min",
                _num(r.get("weighted_share")),
            ),
        ]
    return [*out, ("unsnapped", "未连上路网的需求点", "Unsnapped demand", _num(s.get("unsnapped")))]


def _site_indicators(s: dict) -> list[tuple]:
    return [
        ("new_sites", "新增选址数", "New sites", float(len(s.get("selected") or []))),
        ("n_existing", "现有孵化器", "Existing incubators", _num(s.get("n_existing"))),
        ("share_before", "选址前覆盖率", "Share before", _num(s.get("share_before"))),
        ("share_after", "选址后覆盖率", "Share after", _num(s.get("share_after"))),
        ("covered_after", "选址后覆盖需求", "Covered demand after", _num(s.get("covered_after"))),
        ("objective", "目标函数值", "Objective", _num(s.get("objective"))),
    ]


def _hotspot_indicators(s: dict) -> list[tuple]:
    out = [("n_cells", "网格数", "Cells", _num(s.get("n_cells")))]
    return out + [
        (f"cells_{k}", f"{k} 网格数", f"Cells {k}", _num(v))
        for k, v in sorted((s.get("classes") or {}).items())
    ]


def _profile_indicators(s: dict) -> list[tuple]:
    return [
        ("axis_length_m", "轴线长度 (米)", "Axis length (m)", _num(s.get("axis_length_m"))),
        ("points_in_band", "带内资源点", "Points in the band", _num(s.get("points_in_band"))),
        ("covered_share", "带内覆盖率", "Covered share in the band", _num(s.get("covered_share"))),
    ]


def _whatif_indicators(s: dict) -> list[tuple]:
    return [
        ("sites", "情景孵化器数", "Incubators in the scenario", _num(s.get("sites"))),
        ("share", "覆盖率", "Covered share", _num(s.get("share"))),
        ("covered", "覆盖需求 (加权)", "Covered demand (weighted)", _num(s.get("covered"))),
        ("delta_share", "较现状变化", "Change from today", _num(s.get("delta_share"))),
    ]


def indicators(analysis: str, summary: dict) -> list[tuple]:
    """``(key, 中文, English, value)`` of a run's summary: what ``compare`` shows."""
    a = ANALYSES.get(analysis)
    return a.indicators(summary) if a is not None and a.indicators is not None else []


# ---------------------------------------------------------------- command-line options
_ZONE_HELP = {
    "coverage": "只统计该项目片区内的需求 (也是盲区的研究范围) / only demand inside this project zone (also the study area of the blind spots)",
    "clusters": "只用该项目片区内的点 / only points inside this project zone",
    "hotspots": "研究范围: 一个项目片区 (默认: 点的外包络) / study area: a project zone (default: hull of the points)",
    "site": "候选点限于该项目片区 / restrict candidates to a project zone",
}
_OUT = (("--out",), {"required": True, "metavar": "DIR", "help": "输出文件夹 / output folder"})
_FORCE = (
    ("--force",),
    {"action": "store_true", "help": "覆盖 --out 中已有的输出 / overwrite outputs in --out"},
)
_LAYER = (
    ("--layer",),
    {
        "nargs": "+",
        "required": True,
        "metavar": "L",
        "help": "点图层: 项目图层名、类别或文件 / point layers",
    },
)


def _zone(key: str) -> Opt:
    return (("--zone",), {"metavar": "NAME", "help": _ZONE_HELP[key]})


_COVERAGE_OPTIONS: tuple[Opt, ...] = (
    (
        ("--service",),
        {"nargs": "+", "required": True, "metavar": "S", "help": "服务设施图层 / service layers"},
    ),
    (("--demand",), {"required": True, "metavar": "D", "help": "需求图层 / demand layer"}),
    (
        ("--weight",),
        {
            "metavar": "COL",
            "help": "需求权重列 (如 employees) / demand weight column (e.g. employees)",
        },
    ),
    _zone("coverage"),
    (
        ("--preset",),
        {
            "choices": list(choices.PRESETS),
            "help": "GB 50180-2018 生活圈: 步行 4 km/h, 300/500/1000 米 (覆盖 --mode、--speed-kmh 与 "
            "--minutes) / life circles: walk 4 km/h, cut-offs = 300/500/1000 m",
        },
    ),
    "@project",
    "@coarse",
    ("@reach", {"minutes": settings.COVERAGE_MINUTES, "several": True}),
    _OUT,
    (
        ("--no-geometry",),
        {
            "dest": "no_geometry",
            "action": "store_true",
            "help": "demand.gpkg 不含几何: 每个需求点一行 (编号、图层、最近设施、分钟、是否覆盖; 更快更小) / "
            "demand.gpkg without geometry: one row per demand point (faster, smaller)",
        },
    ),
)
_CLUSTERS_OPTIONS: tuple[Opt, ...] = (
    "@project",
    _LAYER,
    (
        ("--method",),
        {
            "choices": list(choices.CLUSTER_METHODS),
            "default": "dbscan",
            "help": "聚类方法 / method",
        },
    ),
    (
        ("--eps-m",),
        {
            "type": float,
            "default": settings.CLUSTER_EPS_M,
            "dest": "eps_m",
            "help": "DBSCAN 半径 (米) / DBSCAN radius (m)",
        },
    ),
    (
        ("--min-samples",),
        {
            "type": int,
            "default": settings.CLUSTER_MIN_SAMPLES,
            "dest": "min_samples",
            "help": "成簇最少点数 / minimum points of a cluster core",
        },
    ),
    (
        ("--min-cluster-size",),
        {
            "type": int,
            "default": settings.CLUSTER_MIN_CLUSTER_SIZE,
            "dest": "min_cluster_size",
            "help": "HDBSCAN 最小簇规模 / HDBSCAN minimum cluster size",
        },
    ),
    (("--weight",), {"metavar": "COL", "help": "权重列 (DBSCAN) / weight column (DBSCAN)"}),
    _zone("clusters"),
    _FORCE,
    _OUT,
    "@coarse",
)
_HOTSPOTS_OPTIONS: tuple[Opt, ...] = (
    "@project",
    _LAYER,
    (
        ("--weight",),
        {"metavar": "COL", "help": "按该列求和而非计数 / sum this column instead of counting"},
    ),
    (
        ("--cell-m",),
        {
            "type": float,
            "default": settings.HOTSPOT_CELL_M,
            "dest": "cell_m",
            "help": "六边形网格间距 (米) / hexagon spacing (m)",
        },
    ),
    (
        ("--permutations",),
        {
            "type": int,
            "default": settings.HOTSPOT_PERMUTATIONS,
            "help": "置换检验次数 / permutations",
        },
    ),
    _zone("hotspots"),
    _FORCE,
    _OUT,
    "@coarse",
)
_SITE_OPTIONS: tuple[Opt, ...] = (
    (
        ("--demand",),
        {"nargs": "+", "required": True, "metavar": "D", "help": "需求图层 / demand layers"},
    ),
    (("--weight",), {"metavar": "COL", "help": "需求权重列 / demand weight column"}),
    (
        ("--existing",),
        {"required": True, "metavar": "E", "help": "现有孵化器 / existing incubators"},
    ),
    (
        ("--candidates",),
        {
            "default": f"grid:{settings.SITING_GRID_M:g}",
            "metavar": "grid:<metres>|L",
            "help": f"候选点: 研究范围上的六边形网格 (默认 grid:{settings.SITING_GRID_M:g}) 或图层/文件 / "
            "candidates: a hexagon grid over the study area or a layer/file",
        },
    ),
    _zone("site"),
    (("--k",), {"type": int, "help": "新增站点数 (MCLP/p-median) / new sites"}),
    (
        ("--target-share",),
        {"type": float, "dest": "target_share", "help": "目标覆盖率 (LSCP) / target share"},
    ),
    (("--model",), {"choices": list(choices.SITING_MODELS), "help": "选址模型 / siting model"}),
    (
        ("--include-synthetic-existing",),
        {
            "dest": "include_synthetic_existing",
            "action": "store_true",
            "help": "把 --existing 中的模拟记录计为现有孵化器 (默认剔除并计入 summary.json) / count "
            "synthetic records of --existing as existing incubators (left out by default)",
        },
    ),
    (
        ("--aggregate-m",),
        {
            "type": float,
            "dest": "aggregate_m",
            "metavar": "M",
            "help": "在合并为 M 米格网的需求上选址 (需求量大时, 如 "
            f"{settings.SITING_AGGREGATE_M:g}); 覆盖率仍精确计算, summary.json 给出误差上界 / choose "
            "the sites on demand merged to M-metre cells; coverage stays exact",
        },
    ),
    "@project",
    "@coarse",
    ("@reach", {"minutes": settings.SITING_MINUTES, "several": False}),
    (
        ("--solver",),
        {"choices": list(choices.SITING_SOLVERS), "default": "auto", "help": "求解器 / solver"},
    ),
    (
        ("--time-limit",),
        {
            "type": float,
            "default": settings.SITING_TIME_LIMIT_S,
            "dest": "time_limit",
            "help": "求解时限 (秒) / solver time limit (s)",
        },
    ),
    _OUT,
)
_WHATIF_OPTIONS: tuple[Opt, ...] = (
    "@project",
    (
        ("--demand",),
        {"nargs": "+", "required": True, "metavar": "D", "help": "需求图层 / demand layers"},
    ),
    (("--weight",), {"metavar": "COL", "help": "需求权重列 / demand weight column"}),
    (
        ("--existing",),
        {
            "required": True,
            "metavar": "E",
            "help": "现有孵化器 (情景的起点) / existing incubators (the scenario starts from them)",
        },
    ),
    (
        ("--add",),
        {
            "nargs": "+",
            "dest": "added",
            "metavar": "LON,LAT",
            "help": "新增假设孵化器 (WGS84 经纬度, 同应用中的“新增”) / add hypothetical incubators "
            "(WGS84 lon,lat; as the app's Add click)",
        },
    ),
    (
        ("--remove",),
        {
            "nargs": "+",
            "dest": "removed",
            "metavar": "ID",
            "help": "删除现有孵化器 (按编号) / remove existing incubators (by id)",
        },
    ),
    next(o for o in _SITE_OPTIONS if o[0] == ("--include-synthetic-existing",)),  # as site
    "@coarse",
    ("@reach", {"minutes": settings.SITING_MINUTES, "several": False}),  # with --force
    _OUT,
)
_PROFILE_OPTIONS: tuple[Opt, ...] = (
    "@project",
    (
        ("--axis",),
        {
            "metavar": "NAME",
            "help": "走廊轴线要素或图层名 (默认: 唯一的一条) / axis (default: the only one)",
        },
    ),
    (
        ("--layers",),
        {
            "nargs": "+",
            "metavar": "L",
            "help": "点图层 (默认: 资源类别) / point layers (default: the resource kinds)",
        },
    ),
    (
        ("--bin-m",),
        {
            "type": float,
            "default": settings.PROFILE_BIN_M,
            "dest": "bin_m",
            "help": "分段长度 (米) / bin (m)",
        },
    ),
    (
        ("--band-m",),
        {
            "type": float,
            "default": settings.PROFILE_BAND_M,
            "dest": "band_m",
            "help": "轴线两侧带宽的一半 (米) / band half-width on each side of the axis (m)",
        },
    ),
    (
        ("--service",),
        {
            "nargs": "+",
            "metavar": "S",
            "help": "服务设施图层: 每段覆盖率 / service layers: covered share per bin",
        },
    ),
    ("@reach", {"minutes": settings.COVERAGE_MINUTES[-1], "several": False}),
    _OUT,
    "@coarse",
)


def _run_of(load) -> Callable[..., Report]:
    """The ``run`` of the workflow module ``load()`` returns, looked up when called (the
    module is loaded then, and a replaced ``run`` is the one used)."""

    def run(project, request, **kw):
        fn = load().run
        if "on_progress" in kw and not _takes(fn, "on_progress"):
            kw.pop("on_progress")  # an analysis without steps to report runs as before
        return fn(project, request, **kw)

    return run


def _takes(fn: Callable, keyword: str) -> bool:
    """Whether ``fn`` takes the keyword argument ``keyword`` (by name or ``**kw``)."""
    import inspect

    params = inspect.signature(fn).parameters.values()
    return any(p.name == keyword or p.kind is p.VAR_KEYWORD for p in params)


def run_reporting(analysis: Analysis, project: Project, request, on_progress) -> Report:
    """``analysis.run(project, request)``, given ``on_progress(done, total)`` when its run
    reports steps (coverage, hot spots, profile …; the others run as before)."""
    if _takes(analysis.run, "on_progress"):
        return analysis.run(project, request, on_progress=on_progress)
    return analysis.run(project, request)


def _maps_hook(name: str) -> Callable:
    """The print-map builder ``name`` of :mod:`export.maps`, loaded when called."""

    def hook(*args, **kw):
        from export import maps

        return getattr(maps, name)(*args, **kw)

    return hook


def _docx_hook(name: str) -> Callable:
    """The Word-report builder ``name`` of :mod:`export.report_docx`, loaded when called."""

    def hook(*args, **kw):
        from export import report_docx

        return getattr(report_docx, name)(*args, **kw)

    return hook


def _profile_chart(summary: dict, dpi: int, width_in: float) -> bytes:
    from export.profile_chart import profile_chart

    return profile_chart(summary, dpi=dpi, width_in=width_in)


# The workflow modules, loaded when an analysis is run (not when the CLI lists commands).
def _coverage():
    from workflows import coverage

    return coverage


def _clusters():
    from workflows import clusters

    return clusters


def _hotspots():
    from workflows import hotspots

    return hotspots


def _siting():
    from workflows import siting

    return siting


def _profile():
    from workflows import profile

    return profile


def _whatif():
    from workflows import whatif

    return whatif


def _pointstats():
    from workflows import pointstats

    return pointstats


def _profile_extent(report: Report) -> tuple:
    return tuple(report.layers["band"].to_crs(4326).total_bounds)


def _register_point_analyses() -> None:
    """Coverage, clusters and hot spots (the CLI lists commands in registration order)."""
    register(
        Analysis(
            "coverage",
            lambda: _coverage().CoverageRequest,
            _run_of(_coverage),
            "15分钟服务圈覆盖分析",
            "15-minute service coverage",
            subtitle="15分钟服务圈覆盖",
            files=("demand.gpkg", "isochrones.gpkg", "summary.json"),
            write=_write_coverage,
            console=_coverage_console,
            print_layers=_maps_hook("coverage_print_layers"),
            method=_docx_hook("coverage_method"),
            tables=_docx_hook("coverage_tables"),
            headline=lambda s: [(r["minutes"], r["covered"]) for r in s.get("results", [])],
            indicators=_coverage_indicators,
            map_choice=True,
            cli_help="15分钟服务圈: 服务设施时间阈值内的需求占比 / 15-minute service circles: share of "
            "demand within cut-offs of service points",
            cli_description=(
                "服务设施对需求的覆盖 (15分钟科普/科技服务圈); S 与 D 为图层名 (可加 :子类, 多个子类用 | 连接) "
                "或文件路径。 / Coverage of demand by service points. S and D are embedded "
                "layer names (optionally layer:subtype, subtypes joined with |) or file paths."
            ),
            cli_options=_COVERAGE_OPTIONS,
        )
    )
    register(
        Analysis(
            "clusters",
            lambda: _clusters().ClustersRequest,
            _run_of(_clusters),
            "创新资源密度聚类",
            "Density clusters",
            subtitle="密度聚类",
            files=("points.gpkg", "clusters.gpkg", "summary.json"),
            write=_write_clusters,
            console=lambda s: (
                f"{s['n_clusters']} clusters, {s['n_noise']} noise points ({s['method']})"
            ),
            console_notes=("coarse",),
            print_layers=_maps_hook("cluster_print_layers"),
            print_notes=lambda s: [f"{s['n_clusters']} 个簇, {s['n_noise']} 个噪声点"],
            method=_docx_hook("clusters_method"),
            tables=_docx_hook("clusters_tables"),
            headline=lambda s: (s.get("n_clusters"), s.get("n_noise")),
            indicators=lambda s: [
                ("n_clusters", "簇数", "Clusters", _num(s.get("n_clusters"))),
                ("n_noise", "噪声点", "Noise points", _num(s.get("n_noise"))),
            ],
            map_choice=True,
            cli_help="密度聚类 (DBSCAN/HDBSCAN, 米制): 一个或多个点图层 / density clusters (DBSCAN/HDBSCAN "
            "in metres) of one or more point layers",
            cli_description="创新资源的密度聚类; L: 项目图层名、类别 (kind:subtype) 或文件 (KIND=PATH)。 / "
            "Density clusters of innovation resources. L: project layer names, "
            "kinds (kind:subtype) or files (KIND=PATH).",
            cli_options=_CLUSTERS_OPTIONS,
        )
    )
    register(
        Analysis(
            "hotspots",
            lambda: _hotspots().HotspotsRequest,
            _run_of(_hotspots),
            "热点分析 (Getis-Ord Gi*)",
            "Hot spots (Getis-Ord Gi*)",
            subtitle="热点分析 Getis-Ord Gi*",
            files=("cells.gpkg", "summary.json"),
            write=_write_hotspots,
            console=lambda s: f"{s['n_cells']} cells; classes {s['classes']}",
            console_notes=("coarse",),
            print_layers=_maps_hook("hotspot_print_layers"),
            print_notes=lambda s: ["Gi* 置换检验 + FDR 校正"],
            method=_docx_hook("hotspots_method"),
            tables=_docx_hook("hotspots_tables"),
            headline=lambda s: s.get("classes"),
            indicators=_hotspot_indicators,
            map_choice=True,
            cli_help="六边形网格上的 Getis-Ord Gi* 热点与最近邻统计 / Getis-Ord Gi* hot spots on a "
            "hexagonal grid, plus nearest-neighbour statistics",
            cli_description="冷热点 (Gi*, 置换检验, FDR) 与各类别的 Clark-Evans R。 / Hot and cold spots "
            "(Gi*, permutations, FDR) and Clark-Evans R per kind.",
            cli_options=_HOTSPOTS_OPTIONS,
        )
    )


def _register_area_analyses() -> None:
    """Siting, the corridor profile, what-if scenarios and point statistics."""
    register(
        Analysis(
            "site",
            lambda: _siting().SitingRequest,
            _run_of(_siting),
            "孵化器选址分析",
            "Incubator siting",
            subtitle="孵化器选址",
            files=("sites.gpkg", "gaps.gpkg", "summary.json"),
            write=_write_siting,
            console=_siting_console,
            print_layers=_maps_hook("siting_print_layers"),
            method=_docx_hook("site_method"),
            tables=_docx_hook("site_tables"),
            headline=lambda s: [str(r["id"]) for r in s.get("selected", [])],
            indicators=_site_indicators,
            map_choice=True,
            cli_help="孵化器选址: 新增 k 个 (MCLP/p-median) 或达到目标覆盖率的最少站点 (LSCP), 保留现有 / "
            "incubator siting: k new sites (MCLP/p-median) or fewest for a target share "
            "(LSCP), existing kept",
            cli_description="在现有孵化器不变的前提下求最优新址; 盲区与前后对比。 / Optimal new "
            "incubator sites with the existing incubators fixed; gaps and before/after.",
            cli_options=_SITE_OPTIONS,
        )
    )
    register(
        Analysis(
            "profile",
            lambda: _profile().ProfileRequest,
            _run_of(_profile),
            "科创走廊剖面分析",
            "Corridor profile",
            subtitle="走廊剖面",
            files=("profile.csv", "profile.png", "summary.json"),
            write=_write_profile,
            console=_profile_console,
            console_notes=("coarse", "skipped"),
            print_layers=_maps_hook("profile_print_layers"),
            method=_docx_hook("profile_method"),
            tables=_docx_hook("profile_tables"),
            headline=lambda s: [b.get("total") for b in s.get("bins", [])],
            indicators=_profile_indicators,
            extent=_profile_extent,
            chart=_profile_chart,
            cli_help="走廊剖面: 沿轴线逐段统计各类资源与覆盖率 / corridor profile: resources per kind "
            "and covered share bin by bin along an axis",
            cli_description="沿项目走廊轴线 (corridor_axes 线) 的剖面: profile.csv、profile.png、"
            "summary.json。 / Profile along a corridor axis of the project: profile.csv "
            "(from_m, to_m, counts per kind, covered_share), profile.png, summary.json.",
            cli_options=_PROFILE_OPTIONS,
        )
    )
    register(
        Analysis(
            "whatif",
            lambda: _whatif().WhatIfRequest,
            _run_of(_whatif),
            "孵化器布局情景推演",
            "What-if scenario",
            subtitle="情景推演",
            print_layers=_maps_hook("whatif_print_layers"),
            method=_docx_hook("whatif_method"),
            tables=_docx_hook("whatif_tables"),
            headline=lambda s: (s.get("sites"), round(float(s.get("share") or 0), 6)),
            indicators=_whatif_indicators,
            files=("sites.gpkg", "summary.json"),
            write=_write_whatif,
            console=_whatif_console,
            cli_help="孵化器布局情景推演: 在现有孵化器上新增或删除站点, 与现状比较覆盖率 / what-if: add or "
            "remove incubators on the existing ones and compare coverage with today",
            cli_description="与应用“情景推演”相同的计算; sites.gpkg (情景站点与现状) 与 summary.json。 / "
            "The app's what-if computation; sites.gpkg (scenario sites and baseline) and "
            "summary.json.",
            cli_options=_WHATIF_OPTIONS,
        )
    )

    register(
        Analysis(
            "pointstats",
            lambda: _pointstats().PointStatsRequest,
            _run_of(_pointstats),
            "点格局统计",
            "Point-pattern statistics",
        )
    )


_register_point_analyses()
_register_area_analyses()
