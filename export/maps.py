"""Map exports shared by the CLI and the app: base maps, analysis maps, series, HTML.

Every function takes the :class:`~layers.project.Project` first. Outlines are the
project's layers of kind ``districts``, ``zones`` and ``corridor_axes``; point
layers are resolved with :func:`layers.selection.select_layers`, so each keeps
its kind (a file of incubators stays incubators); maps are framed on the
project's districts (or a zone), drawn in the project's metric CRS, and the
footer names the source files of the layers drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import settings
from export.formats import SERIES
from export.printmap import PrintLayer, render_print_map
from layers.errors import InnoMapError
from layers.project import OUTLINE_KINDS, Project, ProjectLayer
from layers.registry import REGISTRY
from layers.selection import select_layers, zone_rows

__all__ = [
    "MapContent",
    "base_layers",
    "cluster_print_layers",
    "coverage_print_layers",
    "default_title",
    "export_html",
    "hotspot_print_layers",
    "input_sources",
    "map_content",
    "outline_layers",
    "param_refs",
    "params_text",
    "profile_print_layers",
    "render_map",
    "resolve_point_layers",
    "series_items",
    "siting_print_layers",
    "whatif_print_layers",
    "zone_extent",
]

POINT_STYLE = {
    "enterprises": {"size": 3, "zorder": 3},
    "communities": {"size": 5, "zorder": 3},
    "science_venues": {"size": 7, "zorder": 4},
    "incubators": {"size": 20, "zorder": 6},
    "universities": {"size": 24, "zorder": 7},
    "platforms": {"size": 20, "zorder": 7},
}
#: Kinds whose record names are printed next to the points.
LABELLED_KINDS = ("incubators", "universities", "platforms")
#: Outline kind -> (print geometry, colour or None for the kind's colour, style).
OUTLINE_STYLE = {
    "districts": ("polygon", "#444444", {"facecolor": "none", "linewidth": 0.8, "zorder": 1}),
    "zones": ("polygon", None, {"fill_alpha": 0.12, "linestyle": "--", "zorder": 2}),
    "corridor_axes": ("line", None, {"linestyle": "--", "zorder": 2}),
}
#: Analysis parameters that name layers (their sources go into the footer).
_REF_PARAMS = ("service", "demand", "existing", "candidates", "layer", "layers")
HOT = {
    "hot_99": ("#d7191c", "热点 99%"),
    "hot_95": ("#f46d43", "热点 95%"),
    "hot_90": ("#fdae61", "热点 90%"),
    "cold_90": ("#abd9e9", "冷点 90%"),
    "cold_95": ("#74add1", "冷点 95%"),
    "cold_99": ("#2c7bb6", "冷点 99%"),
}


def default_title(project: Project) -> str:
    """The default map title: the project's city + 创新资源分布图."""
    return f"{project.city or project.name}创新资源分布图"


def _layer_label(lyr: ProjectLayer, lang: str = "zh") -> str:
    """A layer's legend label: its kind's name when named after the kind, else its name."""
    return REGISTRY[lyr.kind].name(lang) if lyr.name == lyr.kind else lyr.name


def _source_name(lyr: ProjectLayer) -> str:
    """The file name a layer came from (never a folder path)."""
    return Path(lyr.source_file).name if lyr.source_file else lyr.name


def outline_layers(project: Project, zone: str | None = None) -> list[PrintLayer]:
    """The project's districts, zones (only ``zone`` if given) and corridor axes.

    One print layer per project layer, labelled with the layer name (or its kind's
    name), carrying its source file name for the footer.
    """
    if not isinstance(project, Project):
        raise TypeError(
            f"outline_layers(project, zone): pass the project first, got {type(project).__name__}"
        )
    if zone:
        zone_rows(project, zone)
    out = []
    for kind in OUTLINE_KINDS:
        geometry, color, style = OUTLINE_STYLE[kind]
        for lyr in project.layers_of_kind(kind):
            g = lyr.gdf
            if kind == "zones" and zone:
                g = g[g["name"].astype(str) == str(zone)]
            out.append(
                PrintLayer(
                    _layer_label(lyr),
                    g,
                    geometry,
                    color or REGISTRY[kind].color,
                    label_field="name" if geometry == "polygon" and "name" in g else None,
                    style=dict(style),
                    sources=(_source_name(lyr),),
                )
            )
    return out


def _is_outline_ref(project: Project, ref: str) -> bool:
    base = ref if ref in project.layers else ref.partition(":")[0]
    lyr = project.layers.get(base)
    return (lyr.kind if lyr is not None else base) in OUTLINE_KINDS


def display_ref(project: Project, ref: str) -> str:
    """``ref`` as legends, notes and layer keys show it: a file path by its file name only.

    Project layer names, kinds and ``kind:subtype`` are kept as typed (they may hold
    ``/``); ``KIND=/any/folder/名单.csv`` becomes ``KIND=名单.csv`` and a bare path its
    name, so no folder (a user's home, a temporary upload folder) reaches an output.
    """
    base = ref if ref in project.layers else ref.partition(":")[0]
    if base in project.layers or base in REGISTRY or not any(c in ref for c in "/\\"):
        return ref
    prefix, eq, rest = ref.partition("=")
    if eq and prefix in REGISTRY:
        return f"{prefix}={_file_name(rest)}"
    return _file_name(ref)


def _file_name(path: str) -> str:
    return Path(str(path).replace("\\", "/")).name or str(path)


#: Request keys holding layer references or files (shortened by :func:`display_ref`).
_PATH_PARAMS = (*_REF_PARAMS, "network", "axis")


def _display_request(project: Project, obj, key: str = ""):
    """A copy of a request's JSON with every file reference shown by its file name."""
    if isinstance(obj, dict):
        return {k: _display_request(project, v, k) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_display_request(project, v, key) for v in obj]
    if isinstance(obj, str) and key in _PATH_PARAMS:
        return display_ref(project, obj)
    return obj


def _ref_label(project: Project, ref: str, kind: str, sources: list[dict], lang: str) -> str:
    """Legend label of a reference: layer name, kind name (· subtype), or kind · file name."""
    if ref in project.layers:
        return _layer_label(project.layers[ref], lang)
    base, _, sub = ref.partition(":")
    suffix = f"·{sub}" if sub else ""
    if base in project.layers:
        return _layer_label(project.layers[base], lang) + suffix
    if base in REGISTRY:
        return REGISTRY[base].name(lang) + suffix
    files = ", ".join(_file_name(s["source_file"]) for s in sources)
    return f"{REGISTRY[kind].name(lang)} · {files}"


def resolve_point_layers(
    project: Project,
    refs: list[str],
    *,
    crs: str | None = None,
    skip_invalid: bool = False,
    messages: list[str] | None = None,
    lang: str = "zh",
) -> list[tuple[str, str, str, object, tuple[str, ...]]]:
    """``(ref, label, kind, WGS84 frame, source file names)`` of each point reference.

    ``ref`` is the reference as shown (:func:`display_ref`: a file by its name only).

    References to outline kinds are left out (outlines are always drawn).
    ``messages`` (if given) collects warnings and counts of skipped file rows.

    Raises
    ------
    InnoMapError
        Unknown layer, kind, subtype or zone; ``RowsRejectedError`` for rejected
        file rows unless ``skip_invalid``.
    """
    out = []
    for ref in refs:
        if _is_outline_ref(project, ref):
            continue
        sel = select_layers(project, ref, crs=crs, skip_invalid=skip_invalid)
        kind = sel.sources[0]["kind"] if sel.sources else ref.partition(":")[0]
        if messages is not None:
            messages += sel.warnings
            if sel.skipped:
                files = ", ".join(sorted({str(r["file"]) for r in sel.skipped_rows}))
                messages.append(
                    f"{display_ref(project, ref)}: 跳过 {sel.skipped} 行无效记录 / skipped {sel.skipped} invalid rows ({files})"
                )
        srcs = tuple(dict.fromkeys(Path(str(s["source_file"])).name for s in sel.sources))
        label = _ref_label(project, ref, kind, sel.sources, lang)
        out.append((display_ref(project, ref), label, kind, sel.gdf, srcs))
    return out


def base_layers(
    project: Project,
    refs: list[str],
    *,
    zone: str | None = None,
    crs: str | None = None,
    skip_invalid: bool = False,
    messages: list[str] | None = None,
) -> list[PrintLayer]:
    """The project's outlines plus the given point layers (layer names, kinds, ``kind:subtype``
    or files), each drawn in its kind's style and labelled with its layer or kind name."""
    out = outline_layers(project, zone)
    for _ref, label, kind, g, srcs in resolve_point_layers(
        project, refs, crs=crs, skip_invalid=skip_invalid, messages=messages
    ):
        spec = REGISTRY.get(kind)
        out.append(
            PrintLayer(
                label,
                g,
                "point",
                spec.color if spec else "#e377c2",
                label_field="name" if kind in LABELLED_KINDS else None,
                style=dict(POINT_STYLE.get(kind, {"size": 8})),
                sources=srcs,
            )
        )
    return out


def zone_extent(project: Project, zone: str | None = None) -> tuple[float, float, float, float]:
    """WGS84 bounds of a project zone, else of the project's districts (else its data)."""
    if zone:
        return tuple(float(v) for v in zone_rows(project, zone).total_bounds)
    return tuple(float(v) for v in project.bounds())


def input_sources(project: Project, refs: list[str]) -> list[str]:
    """Source file names of the layers references name (no file is read)."""
    out: list[str] = []
    for ref in refs:
        base = ref if ref in project.layers else ref.partition(":")[0]
        if base in project.layers:
            names = [_source_name(project.layers[base])]
        elif base in REGISTRY:
            names = [_source_name(lyr) for lyr in project.layers_of_kind(base)]
        else:
            prefix, _, rest = ref.partition("=")
            path = rest if rest and prefix in REGISTRY else ref
            names = [Path(path).name] if Path(path).exists() else []
        out += [n for n in names if n and n not in out]
    return out


def _share_label(row: dict, weighted: bool) -> str:
    text = f"覆盖 {row['share']:.1%}"
    if weighted and row.get("weighted_share") is not None:
        text += f" (加权 {row['weighted_share']:.1%})"
    return text


def coverage_print_layers(project: Project, report, *, zone: str | None = None) -> list[PrintLayer]:
    """Print layers of a coverage report: service areas by cut-off, demand, service points.

    The legend labels carry the report's summary numbers (share per cut-off,
    covered and uncovered counts), so the printed map says what summary.json says.
    """
    res = report.result
    s = report.summary
    rows = {float(r["minutes"]): r for r in s["results"]}
    colors = ("#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59")
    layers = outline_layers(project, zone)
    n = len(res.minutes)
    for i in range(n - 1, -1, -1):
        m = float(res.minutes[i])
        layers.append(
            PrintLayer(
                f"{m:g} 分钟服务圈 · {_share_label(rows[m], bool(s.get('weight')))}",
                res.coverage_areas.iloc[[i]],
                "polygon",
                colors[i % len(colors)],
                style={"fill_alpha": 0.35, "zorder": 3 + (n - i) * 0.1},
            )
        )
    last = f"covered_{res.minutes[-1]:g}"
    covered = res.demand[res.demand[last]]
    uncovered = res.demand[~res.demand[last]]
    cut = f"{res.minutes[-1]:g} 分钟"
    layers.append(
        PrintLayer(
            f"未覆盖需求 ({cut}, {len(uncovered):,}/{s['demand_total']:,})",
            uncovered,
            "point",
            "#d7191c",
            style={"size": 4},
        )
    )
    layers.append(
        PrintLayer(
            f"已覆盖需求 ({cut}, {len(covered):,}/{s['demand_total']:,})",
            covered,
            "point",
            "#2b83ba",
            style={"size": 4},
        )
    )
    layers.append(
        PrintLayer(
            f"服务点 ({len(report.inputs['services']):,})",
            report.inputs["services"],
            "point",
            "#6a3d9a",
            style={"size": 14, "zorder": 8},
        )
    )
    return layers


def cluster_print_layers(project: Project, report, *, zone: str | None = None) -> list[PrintLayer]:
    """Print layers of a clustering report: noise, clustered points and labelled hulls."""
    labelled = report.layers["points"]
    hulls = report.layers["clusters"].copy()
    if len(hulls):
        hulls["name"] = hulls["label"] + " #" + hulls["id"].astype(str)
    return [
        *outline_layers(project, zone),
        PrintLayer(
            "噪声点", labelled[labelled["cluster"] < 0], "point", "#aaaaaa", style={"size": 3}
        ),
        PrintLayer(
            "簇内点", labelled[labelled["cluster"] >= 0], "point", "#e6550d", style={"size": 4}
        ),
        PrintLayer(
            "簇范围(凹包)",
            hulls,
            "polygon",
            "#e6550d",
            label_field="name",
            style={"fill_alpha": 0.2, "zorder": 6},
        ),
    ]


def hotspot_print_layers(project: Project, report, *, zone: str | None = None) -> list[PrintLayer]:
    """Print layers of a Gi* report: significant hot and cold cells by confidence."""
    cells = report.layers["cells"]
    sig = cells[cells["hotspot_class"] != "not_significant"]
    return [
        *outline_layers(project, zone),
        PrintLayer(
            "Gi*",
            sig,
            "polygon",
            "#d7191c",
            categories=("hotspot_class", HOT),
            style={"fill_alpha": 0.75, "linewidth": 0.2, "outline": False, "zorder": 4},
        ),
    ]


def siting_print_layers(project: Project, report, *, zone: str | None = None) -> list[PrintLayer]:
    """Print layers of a siting report: ranked gaps, catchments, existing and new sites.

    The legend labels carry the report's summary numbers (sites, coverage before
    → after), so the printed map says what summary.json says.
    """
    res = report.result
    s = report.summary
    gaps = res.gaps.head(150).copy()
    gaps["tier"] = np.minimum(3, 1 + (gaps["gap_rank"] - 1) // 50)
    tiers = {
        1: ("#b10026", "缺口前 50 格"),
        2: ("#fc4e2a", "缺口 51–100"),
        3: ("#feb24c", "缺口 101–150"),
    }
    sel = res.selected.copy()
    sel["name"] = "新址 #" + sel["rank"].astype(str)
    return [
        *outline_layers(project, zone),
        PrintLayer(
            "覆盖缺口",
            gaps,
            "polygon",
            "#e31a1c",
            categories=("tier", tiers),
            style={"fill_alpha": 0.55, "linewidth": 0.2, "outline": False, "zorder": 3},
        ),
        PrintLayer(
            f"新址服务范围 ({s['minutes']:g} 分钟)",
            res.catchments,
            "polygon",
            "#2c7fb8",
            style={"fill_alpha": 0.12, "zorder": 4},
        ),
        PrintLayer(
            f"现有孵化器 ({s['n_existing']:,}, 保留)",
            report.inputs["existing"],
            "point",
            REGISTRY["incubators"].color,
            style={"size": 14, "zorder": 6},
        ),
        PrintLayer(
            f"推荐新址 {len(sel)} 处 · 覆盖 {s['share_before']:.1%} → {s['share_after']:.1%}",
            sel,
            "point",
            "#08519c",
            label_field="name",
            style={"size": 40, "zorder": 8},
        ),
    ]


def whatif_print_layers(project: Project, report, *, zone: str | None = None) -> list[PrintLayer]:
    """Print layers of a what-if report: demand covered or not, current and scenario sites."""
    s = report.summary
    demand = report.inputs["demand"]
    mask = np.asarray(report.result.get("covered_mask", np.zeros(len(demand), bool)), bool)
    if len(mask) != len(demand):
        mask = np.zeros(len(demand), bool)
    sites = report.layers["sites"]
    return [
        *outline_layers(project, zone),
        PrintLayer(
            f"未覆盖需求 ({s['minutes']:g} 分钟)",
            demand[~mask],
            "point",
            "#d7191c",
            style={"size": 4},
        ),
        PrintLayer(
            f"已覆盖需求 ({s['minutes']:g} 分钟)",
            demand[mask],
            "point",
            "#2b83ba",
            style={"size": 4},
        ),
        PrintLayer(
            f"现状孵化器 · 覆盖 {s['baseline_share']:.1%}",
            report.inputs["baseline"],
            "point",
            "#999999",
            style={"size": 18, "zorder": 6},
        ),
        PrintLayer(
            f"情景站点 · 覆盖 {s['share']:.1%}",
            sites,
            "point",
            REGISTRY["incubators"].color,
            label_field="name",
            style={"size": 26, "zorder": 8},
        ),
    ]


def profile_print_layers(project: Project, report, *, zone: str | None = None) -> list[PrintLayer]:
    """Print layers of a corridor profile: the band, numbered bins and the points by kind."""
    s = report.summary
    seg = report.layers["segments"].copy()
    seg["name"] = seg["bin"].astype(str)
    seg["odd"] = seg["bin"] % 2
    shades = {1: ("#0b6e79", "奇数分段"), 0: ("#7fc8cf", "偶数分段")}
    out = [
        *outline_layers(project, zone),
        PrintLayer(
            f"剖面带 (轴线两侧各 {s['band_m']:g} 米)",
            report.layers["band"],
            "polygon",
            "#fdd49e",
            style={"fill_alpha": 0.25, "zorder": 2.5},
        ),
        PrintLayer(
            f"分段 (每 {s['bin_m']:g} 米, 共 {s['n_bins']} 段)",
            seg,
            "line",
            "#0b6e79",
            categories=("odd", shades),
            style={"linewidth": 2.0, "zorder": 7},
        ),
    ]
    pts = report.layers["points"]
    sources = s.get("inputs", {}).get("points", {}).get("sources", [])
    for k in s["kinds"]:
        sub = pts[pts["kind_key"] == k]
        files = (Path(str(x["source_file"])).name for x in sources if x["kind"] == k)
        out.append(
            PrintLayer(
                f"{REGISTRY[k].name_zh} · 带内",  # the legend adds the count drawn
                sub,
                "point",
                REGISTRY[k].color,
                label_field="name" if k in LABELLED_KINDS else None,
                style=dict(POINT_STYLE.get(k, {"size": 8})),
                sources=tuple(dict.fromkeys(files)),
            )
        )
    return out


#: Chinese names of request keys, for the parameters printed under a map.
_PARAM_ZH = {
    "service": "服务设施",
    "demand": "需求",
    "weight": "权重字段",
    "minutes": "时间阈值 (分钟)",
    "zone": "片区",
    "preset": "标准",
    "existing": "现有设施",
    "candidates": "候选点",
    "k": "新增数量",
    "target_share": "目标覆盖率",
    "model": "模型",
    "layers": "图层",
    "layer": "图层",
    "method": "方法",
    "eps_m": "邻域半径 (米)",
    "min_samples": "最少点数",
    "min_cluster_size": "最小簇规模",
    "cell_m": "格网 (米)",
    "permutations": "置换次数",
    "alpha": "显著性水平",
    "axis": "轴线",
    "bin_m": "分段长度 (米)",
    "band_m": "带宽 (米)",
    "mode": "出行方式",
    "speed_kmh": "速度 (km/h)",
    "detour": "绕行系数",
    "network": "路网",
    "max_snap_m": "最大接入距离 (米)",
    "aggregate_m": "需求合并格网 (米)",
    "include_imprecise": "含近似位置点",
    "include_coarse": "含近似位置点",
    "include_synthetic_existing": "现有设施含模拟数据",
    "crs": "文件坐标系",
}
_VALUE_ZH = {
    "walk": "步行",
    "bike": "骑行",
    "drive": "驾车",
    "straight": "直线距离近似",
    "mclp": "最大覆盖 (MCLP)",
    "lscp": "集合覆盖 (LSCP)",
    "pmedian": "p-中位",
    "dbscan": "DBSCAN",
    "hdbscan": "HDBSCAN",
    "gb50180": "GB 50180-2018 生活圈",
}


def _param_value(project: Project, key: str, v) -> str:
    if isinstance(v, bool):
        return "是" if v else ""
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, str) and key in _PATH_PARAMS:
        ref = display_ref(project, v)
        base, _, sub = ref.partition(":")
        if ref in project.layers:
            return _layer_label(project.layers[ref])
        if base in project.layers:
            return _layer_label(project.layers[base]) + (f"·{sub}" if sub else "")
        if base in REGISTRY:
            return REGISTRY[base].name_zh + (f"·{sub}" if sub else "")
        return ref
    return _VALUE_ZH.get(str(v), str(v))


def params_text(project: Project, request: dict) -> str:
    """A request's parameters in plain Chinese (``片区 X; 时间阈值 (分钟) 5、10、15; …``):
    empty and off values left out, layer kinds by their Chinese names, files by their names."""
    parts: list[str] = []

    def walk(obj: dict) -> None:
        for key, v in obj.items():
            if isinstance(v, dict):
                walk(v)
                continue
            values = v if isinstance(v, (list, tuple)) else [v]
            shown = [_param_value(project, key, x) for x in values if x is not None and x != ""]
            shown = [x for x in shown if x]
            if key == "method" and values == ["network"]:
                shown = ["路网最短路径"]
            if shown:
                parts.append(f"{_PARAM_ZH.get(key, key)} {'、'.join(shown)}")

    walk(request or {})
    return "; ".join(dict.fromkeys(parts))


@dataclass
class MapContent:
    """What a print map draws, before it is framed: layers, notes, subtitle and sources.

    ``sources`` is ``None`` for base maps (the footer then names the sources of
    the layers actually drawn) and the input and outline sources for analysis maps.
    """

    layers: list[PrintLayer]
    notes: list[str] = field(default_factory=list)
    subtitle: str = ""
    sources: list[str] | None = None
    analysis: str | None = None


def map_content(
    project: Project,
    refs: list[str],
    *,
    zone: str | None = None,
    crs: str | None = None,
    skip_invalid: bool = False,
    messages: list[str] | None = None,
) -> MapContent:
    """The layers of a base map: ``refs`` on the project's outlines (an analysis map's
    content is made by :func:`workflows.exports.map_content` from the analysis's report)."""
    layers = base_layers(
        project, refs, zone=zone, crs=crs, skip_invalid=skip_invalid, messages=messages
    )
    return MapContent(layers, [], zone or "", None, None)


def param_refs(params: dict) -> list[str]:
    """The layer references a request's JSON keys name (grids left out)."""
    out: list[str] = []
    for key in _REF_PARAMS:
        v = params.get(key)
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            out += [str(x) for x in v]
    return [r for r in out if r and not r.startswith("grid:")]


def render_map(
    project: Project,
    content: MapContent,
    *,
    title: str,
    fmt: str,
    extent: tuple[float, float, float, float] | None,
    paper: str = settings.PRINT_PAPER,
    orientation: str = settings.PRINT_ORIENTATION,
    dpi: int = settings.PRINT_DPI,
    basemap=None,
) -> bytes:
    """Render ``content`` in the project's metric CRS (Web Mercator under tiles).

    Long notes are wrapped to the page width; the legend repeats the method notes
    (wrapped narrow) but not the request's JSON, which stays in the footer.
    """
    width = FOOTER_CHARS[orientation == "portrait"]
    notes = [line for n in content.notes for line in _wrap(n, width)]
    method = [n for n in content.notes if n.startswith("方法")]
    return render_print_map(
        content.layers,
        title=title,
        subtitle=content.subtitle,
        paper=paper,
        orientation=orientation,
        dpi=dpi,
        fmt=fmt,
        crs=project.metric_crs(),
        extent=extent,
        sources=content.sources,
        notes=notes,
        basemap=basemap,
        legend_notes=[line for n in method for line in _wrap(n, LEGEND_CHARS)] or None
        if content.analysis
        else None,
    )


#: Characters per line of footer notes (landscape, portrait) and of legend notes.
FOOTER_CHARS = (120, 84)
LEGEND_CHARS = 36


def _wrap(text: str, width: int) -> list[str]:
    """``text`` cut into lines of at most ``width`` characters (CJK text has no spaces)."""
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def export_html(
    project: Project,
    refs: list[str],
    *,
    zone: str | None = None,
    title: str = "",
    crs: str | None = None,
    skip_invalid: bool = False,
    messages: list[str] | None = None,
) -> bytes:
    """A single-file interactive HTML map of the project that works offline (assets inlined).

    Draws the project's outlines and the given point layers, framed on the zone
    or the project's districts; the legend names the sources and the metric CRS.
    """
    from layers.safe import escape_html
    from render.webmap import MapLayer, build_map, project_outline_layers

    ml = project_outline_layers(project, zone=zone)
    sources = [_source_name(lyr) for lyr in project.layers.values() if lyr.kind in OUTLINE_KINDS]
    for ref, label, kind, g, srcs in resolve_point_layers(
        project, refs, crs=crs, skip_invalid=skip_invalid, messages=messages
    ):
        spec = REGISTRY.get(kind)
        ml.append(MapLayer(ref, label, g, spec.color if spec else "#e377c2", "point", kind=kind))
        sources += list(srcs)
    notes = (
        f"数据来源 Sources: {'; '.join(dict.fromkeys(s for s in sources if s))}",
        f"分析坐标系 CRS: {project.crs_label()}",
    )
    m = build_map(
        ml,
        asset_mode="inline",
        legend_title=title or None,
        extra_notes=notes,
        fit_bounds=zone_extent(project, zone),
    )
    html = m.get_root().render()
    if title:
        html = html.replace("<head>", f"<head>\n<title>{escape_html(title)}</title>", 1)
    return html.encode("utf-8")


def series_items(
    project: Project, kind: str
) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(name, WGS84 bounds) of every district or zone of the project, for a map series."""
    if kind not in SERIES:
        raise InnoMapError(
            f"--series 应为 district 或 zone / series must be district or zone, got {kind!r}"
        )
    g = project.districts if kind == "district" else project.zones
    if g.empty:
        what = "行政区 districts" if kind == "district" else "片区 zones"
        raise InnoMapError(
            f"项目 {project.name} 没有{what} / project {project.name!r} has no {what.split()[1]}: "
            f"add them with `python cli.py project add --kind {what.split()[1]}`"
        )
    return [
        (str(n), tuple(float(v) for v in geom.bounds))
        for n, geom in zip(g["name"], g.geometry, strict=True)
        if geom is not None and not geom.is_empty
    ]
