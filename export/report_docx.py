"""Word reports (规划文本/说明书/专题研究 material) of a project's analyses, and PDF via LibreOffice.

:func:`build_docx` writes one document: a title page (project, city, date), then
per analysis a chapter with the method and its parameters in plain Chinese, the
results as real Word tables, the print map (A4 landscape at print resolution,
drawn by :mod:`export.maps` — the same map as ``export-map``), the data sources
with their stated coordinate precision and the synthetic/approximate notes;
a closing chapter lists the project's layers. Tables are filled from the
analysis' summary (what ``summary.json`` and the saved run hold), so the numbers
printed are the run's own.

Chinese text is set on every run with an East Asian font (``w:eastAsia``);
:func:`docx_to_pdf` converts with ``libreoffice --headless`` when installed.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

import settings
from layers.errors import InnoMapError
from layers.project import OUTLINE_KINDS, Project
from layers.registry import REGISTRY
from render.text import share_text

__all__ = [
    "BODY_FONT",
    "DEFAULT_SECTIONS",
    "HEADING_FONT",
    "REPORT_SECTIONS",
    "REPORT_SECTIONS_EN",
    "Figure",
    "ReportSection",
    "build_docx",
    "docx_to_pdf",
    "libreoffice",
    "parse_sections",
    "report_figures",
    "source_rows",
]

#: East Asian fonts of body text and headings (Word's usual ones for planning texts);
#: LibreOffice substitutes an installed CJK face when converting to PDF.
BODY_FONT = "宋体"
HEADING_FONT = "黑体"
LATIN_FONT = "Times New Roman"
#: Width of a map on a landscape A4 page and of a chart on a portrait page (mm).
MAP_WIDTH_MM = 245
CHART_WIDTH_MM = 160
_RED = RGBColor(0xB1, 0x00, 0x26)
_HOT_ZH = {
    "hot_99": "热点 (99% 置信度)",
    "hot_95": "热点 (95% 置信度)",
    "hot_90": "热点 (90% 置信度)",
    "cold_90": "冷点 (90% 置信度)",
    "cold_95": "冷点 (95% 置信度)",
    "cold_99": "冷点 (99% 置信度)",
    "not_significant": "不显著",
}
_MODE_ZH = {"walk": "步行", "bike": "骑行", "drive": "驾车"}
_MODEL_ZH = {
    "mclp": "最大覆盖模型 (MCLP): 在给定新址数量下使覆盖的需求最大",
    "lscp": "集合覆盖模型 (LSCP): 以最少的新址达到目标覆盖率",
    "pmedian": "p-中位模型: 在给定新址数量下使需求加权出行时间最小",
}


@dataclass
class Figure:
    """An image of the report: a print map (landscape page) or a chart (in the text)."""

    caption: str
    data: bytes
    landscape: bool = True


@dataclass
class ReportSection:
    """One analysis of the report: a saved run, or a report just computed (``run_id`` empty).

    ``name`` (the analysis's Chinese name, default its key), ``method`` (paragraphs) and
    ``tables`` (:data:`TableSpec`) are filled by the report workflow from the analysis
    registry (:mod:`workflows.analyses`); this module only lays them out.
    """

    analysis: str
    title: str
    request: dict
    summary: dict
    run_id: str = ""
    created_at: str = ""
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    name: str = ""
    method: list[str] = field(default_factory=list)
    tables: list = field(default_factory=list)

    @property
    def heading(self) -> str:
        """The chapter's name: the analysis's Chinese name, else its key."""
        return self.name or self.analysis


# ---------------------------------------------------------------- numbers as text
def _share(v) -> str:
    return "—" if v is None else f"{float(v):.1%}"


def _int(v) -> str:
    return "—" if v is None else f"{round(float(v)):,}"


def _num(v, digits: int = 1) -> str:
    return "—" if v is None else f"{float(v):,.{digits}f}"


def _g(v) -> str:
    return "—" if v is None else f"{float(v):g}"


# ---------------------------------------------------------------- plain Chinese
def _ref_zh(project: Project, ref: str) -> str:
    """A layer reference in words: layer name (kind), kind name · subtype, or file name."""
    if ref in project.layers:
        lyr = project.layers[ref]
        kind = REGISTRY[lyr.kind].name_zh if lyr.kind in REGISTRY else lyr.kind
        return ref if ref == kind else f"{ref} ({kind})"
    base, _, sub = ref.partition(":")
    if base in REGISTRY:
        return REGISTRY[base].name_zh + (f" · {sub.replace('|', '、')}" if sub else "")
    if base in project.layers:
        return f"{base} · {sub.replace('|', '、')}"
    return Path(ref.partition("=")[2] or ref).name


def _refs_zh(project: Project, refs) -> str:
    refs = [refs] if isinstance(refs, str) else list(refs or [])
    return "、".join(_ref_zh(project, r) for r in refs) or "—"


def _reach_zh(summary: dict, request: dict, minutes: list[float]) -> str:
    """How travel time was measured, with the radius of the straight-line method."""
    reach = request.get("reach") or {}
    method = summary.get("method") or reach.get("method") or "straight"
    mode = _MODE_ZH.get(summary.get("mode") or reach.get("mode") or "walk", "步行")
    speed = summary.get("speed_kmh")
    if method == "straight":
        detour = float(summary.get("detour") or reach.get("detour") or settings.DETOUR)
        radii = "、".join(
            f"{m:g} 分钟约 {float(speed) * 1000 / 60 * m / detour:,.0f} 米" for m in minutes
        )
        return (
            f"出行时间采用直线距离近似法: 半径 = 速度 × 时间 ÷ 绕行系数。{mode}速度 {_g(speed)} km/h, "
            f"绕行系数 {detour:g} (路网距离与直线距离之比), 即服务半径 {radii}。"
            "该方法不考虑河流、铁路等阻隔, 结果为近似值。"
        )
    v = f"{_g(speed)} km/h" if speed else "按道路等级限速"
    snap = reach.get("max_snap_m", settings.MAX_SNAP_M)
    return (
        f"出行时间按路网最短路径计算 (路网: {summary.get('network') or reach.get('network')}); "
        f"{mode}速度 {v}; 距路网超过 {float(snap):g} 米的点视为无法接入。"
    )


def _field_zh(name) -> str:
    """A field's Chinese name (``employees`` → 从业人员), else the name as given."""
    from layers.schema import FIELD_LABELS

    return FIELD_LABELS.get(str(name), (str(name),))[0]


#: How a siting solution was found, in Chinese (summary.json keeps the solver's words).
_SOLVER_ZH = {"exact": "精确求解", "heuristic": "启发式", "exact+heuristic": "精确求解 + 启发式"}
_STATUS_ZH = (
    ("greedy + 1-swap", "贪心 + 单点交换"),
    ("greedy", "贪心"),
    ("optimal", "已求得最优解"),
    ("time limit", "达到求解时间上限"),
    ("iteration limit", "达到迭代上限"),
)
#: Clark–Evans patterns (summary.json keeps the English word).
_PATTERN_ZH = {"random": "随机分布", "clustered": "显著集聚", "dispersed": "显著离散"}


def _solver_zh(solver, status) -> str:
    """``heuristic (greedy + 1-swap)`` as 启发式 (贪心 + 单点交换)."""
    text = str(status or "")
    zh = next((z for key, z in _STATUS_ZH if key in text.lower()), "")
    name = _SOLVER_ZH.get(str(solver), str(solver))
    return f"{name} ({zh})" if zh else name


def coverage_method(project: Project, request: dict, s: dict) -> list[str]:
    weight = f", 按 {_field_zh(s['weight'])} 加权" if s.get("weight") else ""
    out = [
        f"以 {_refs_zh(project, s.get('service'))} 为服务点、{_refs_zh(project, s.get('demand'))} "
        f"为需求点{weight}, 计算每个需求点到最近服务点的出行时间, 统计 "
        f"{'、'.join(_g(m) for m in s['minutes'])} 分钟内可达的需求占比。",
        _reach_zh(s, request, s["minutes"]),
        f"研究范围: {s.get('study_area', '—')}。",
    ]
    if s.get("preset") == "gb50180":
        out.insert(
            1,
            "时间阈值按《城市居住区规划设计标准》(GB 50180-2018) 生活圈设定: 步行 4 km/h, "
            "5/10/15 分钟生活圈对应步行距离 300/500/1000 米。",
        )
    if s.get("zone"):
        out.append(
            f"仅统计片区 {s['zone']} 内的需求 (片区外 {_int(s.get('demand_outside_zone'))} 个)。"
        )
    return out


def site_method(project: Project, request: dict, s: dict) -> list[str]:
    cand = str(s.get("candidates", ""))
    cand_zh = (
        f"研究范围内间距 {cand.split(':', 1)[1]} 米的正六边形格网中心"
        if cand.startswith("grid:")
        else ("地图上点选的位置" if cand == "clicked" else f"图层 {_ref_zh(project, cand)}")
    )
    weight = f"(按 {_field_zh(s['weight'])} 加权)" if s.get("weight") else ""
    out = [
        f"需求为 {_refs_zh(project, request.get('demand'))}{weight}; 现有孵化器 "
        f"{_ref_zh(project, str(s.get('existing', '')))} 共 {_int(s.get('n_existing'))} 处, 始终保留。",
        f"候选新址: {cand_zh}, 共 {_int(s.get('n_candidates'))} 个; 候选范围: {s.get('study_area', '—')}。",
        f"模型: {_MODEL_ZH.get(s.get('model'), s.get('model'))}; 新址 {_int(s.get('k'))} 处, "
        f"服务时间 {_g(s.get('minutes'))} 分钟。",
        _reach_zh(s, request, [float(s.get("minutes") or 0)]),
        f"求解: {_solver_zh(s.get('solver'), s.get('solver_status'))}, "
        f"用时 {_num(s.get('seconds'), 2)} 秒; "
        f"目标值 {_num(s.get('objective'))}, 界 {_num(s.get('upper_bound'))}, "
        f"已证明差距 {_num((s.get('gap') or 0) * 100, 2)}%。",
    ]
    n = s.get("existing_synthetic_excluded") or 0
    if n:
        out.append(f"现有孵化器中 {n} 个模拟记录 (如模拟众创空间) 未计入现状。")
    return out


def clusters_method(project: Project, request: dict, s: dict) -> list[str]:
    if s.get("method") == "hdbscan":
        how = (
            f"HDBSCAN 层次密度聚类: 自动适应不同密度, 最小簇规模 "
            f"{_int(s.get('min_cluster_size'))}, 核心点最少点数 {_int(s.get('min_samples'))}。"
        )
    else:
        how = (
            f"DBSCAN 密度聚类: 邻域半径 eps = {_g(s.get('eps_m'))} 米内至少有 "
            f"{_int(s.get('min_samples'))} 个点 (核心点最少点数) 的点为核心点, "
            "相互可达的核心点及其邻近点组成一个簇, "
            "其余为噪声点。"
        )
    zone = f"; 仅片区 {s['zone']} 内的点" if s.get("zone") else ""
    return [
        f"分析对象: {_refs_zh(project, s.get('layers'))}{zone}, 共 {_int(s.get('n_points'))} 个点。",
        how,
        "距离在项目米制投影坐标系中计算; 簇范围为簇内点的凹包。",
    ]


def hotspots_method(project: Project, request: dict, s: dict) -> list[str]:
    what = f"按 {_field_zh(s['weight'])} 求和" if s.get("weight") else "计数"
    return [
        f"分析对象: {_refs_zh(project, s.get('layers'))}; 研究范围: {s.get('study_area', '—')}。",
        f"Getis-Ord Gi* 热点分析: 在间距 {_g(s.get('cell_m'))} 米的正六边形格网上{what}, 比较每个格网"
        f"及其邻域与全局均值; {_int(s.get('permutations'))} 次置换检验, 按错误发现率 (FDR, "
        "Benjamini-Hochberg) 校正后分为 90%/95%/99% 置信度的热点与冷点。",
        "平均最近邻指数 (Clark-Evans R): R < 1 为集聚, R ≈ 1 为随机, R > 1 为均匀分布。",
    ]


def whatif_method(project: Project, request: dict, s: dict) -> list[str]:
    out = [
        f"情景 {s.get('name') or '—'}: 共 {_int(s.get('sites'))} 处孵化器 (新增 {_int(s.get('added'))} 处), "
        f"与现状 {_int(s.get('baseline_sites'))} 处比较 {_g(s.get('minutes'))} 分钟内覆盖的需求 "
        f"({_refs_zh(project, request.get('demand'))})。",
        f"出行时间: {s.get('method_label', '—')}。",
    ]
    n = s.get("baseline_synthetic_excluded") or 0
    if n:
        out.append(f"现状孵化器中 {n} 个模拟记录未计入。")
    return out


def profile_method(project: Project, request: dict, s: dict) -> list[str]:
    out = [
        f"沿走廊轴线 {s['axis']} (全长 {float(s['axis_length_m']) / 1000:.2f} km, 自绘制起点起算) 每 "
        f"{_g(s['bin_m'])} 米分段, 最后一段止于轴线终点。",
        f"轴线两侧各 {_g(s['band_m'])} 米带内的资源按其在轴线上的垂足位置计入分段, 超出轴线两端者不计; "
        "统计每段各类资源数量与每公里数量, 比较各段差异。",
    ]
    if s.get("covered") is not None:
        out.append(
            f"覆盖: {_g(s.get('minutes'))} 分钟内有服务点 ({_refs_zh(project, s.get('service'))}) 的资源"
            f"为已覆盖; {s.get('method_label')}。"
        )
    return out


# ---------------------------------------------------------------- tables
#: (caption, header, rows) of a Word table.
TableSpec = tuple[str, list[str], list[list[str]]]


def coverage_tables(s: dict) -> list[TableSpec]:
    weighted = bool(s.get("weight"))
    head = ["时间阈值 (分钟)", "覆盖需求数", "需求总数", "覆盖率"] + (
        ["加权覆盖率"] if weighted else []
    )
    rows = [
        [_g(r["minutes"]), _int(r["covered"]), _int(s["demand_total"]), _share(r["share"])]
        + ([_share(r["weighted_share"])] if weighted else [])
        for r in s["results"]
    ]
    out = [("各时间阈值覆盖率", head, rows)]
    for key, col, name in (("by_district", "district", "区县"), ("by_zone", "zone", "片区")):
        recs = [r for r in s.get(key) or [] if str(r.get(col, "")).strip()]
        if recs:
            h = [name, "时间阈值 (分钟)", "需求数", "覆盖数", "覆盖率"] + (
                ["加权覆盖率"] if weighted else []
            )
            rows = [
                [
                    str(r[col]),
                    _g(r["minutes"]),
                    _int(r["demand_total"]),
                    _int(r["covered"]),
                    _share(r["share"]),
                ]
                + ([_share(r["weighted_share"])] if weighted else [])
                for r in recs
            ]
            out.append((f"按{name}覆盖率", h, rows))
    if s.get("zone_area"):
        rows = [
            [str(r["zone"]), _g(r["minutes"]), _num(r["zone_km2"], 2), _num(r["covered_km2"], 2),
             _share(r["area_share"])]
            for r in s["zone_area"]
        ]  # fmt: skip
        out.append(
            (
                "片区面积覆盖",
                ["片区", "时间阈值 (分钟)", "片区面积 (km²)", "覆盖面积 (km²)", "面积覆盖率"],
                rows,
            )
        )
    return out


def site_tables(s: dict) -> list[TableSpec]:
    sel = [
        [str(r["rank"]), str(r["id"]), f"{r['lon']:.6f}", f"{r['lat']:.6f}",
         _num(r["marginal_gain"]), _num(r["newly_covered_weight"])]
        for r in s.get("selected") or []
    ]  # fmt: skip
    out = [
        (
            "推荐新址 (按边际增益排序)",
            ["排名", "编号", "经度", "纬度", "边际增益", "新增覆盖需求"],
            sel,
        ),
        (
            "选址前后覆盖",
            ["指标", "选址前", "选址后"],
            [
                ["覆盖需求", _num(s.get("covered_before")), _num(s.get("covered_after"))],
                ["覆盖率", _share(s.get("share_before")), _share(s.get("share_after"))],
                ["孵化器数量", _int(s.get("n_existing")),
                 _int((s.get("n_existing") or 0) + len(s.get("selected") or []))],
            ],
        ),
    ]  # fmt: skip
    for key, col, name in (("by_district", "district", "区县"), ("by_zone", "zone", "片区")):
        recs = [r for r in s.get(key) or [] if str(r.get(col, "")).strip()]
        if recs:
            rows = [
                [str(r[col]), _int(r["demand_total"]), _share(r["share_before"]),
                 _share(r["share_after"]), _share(r["change"])]
                for r in recs
            ]  # fmt: skip
            out.append((f"按{name}覆盖变化", [name, "需求数", "选址前", "选址后", "变化"], rows))
    return out


def clusters_tables(s: dict) -> list[TableSpec]:
    rows = [
        [
            str(c["id"]),
            _int(c["size"]),
            "、".join(f"{k} {v}" for k, v in (c.get("by_kind") or {}).items()),
            str(c.get("label", "")),
            _num(c.get("area_km2"), 2),
            _num(c.get("density_per_km2"), 0),
            str(c.get("zone") or "—"),
            str(c.get("district") or "—"),
        ]
        for c in s.get("clusters") or []
    ]
    head = ["簇编号", "点数", "构成", "类型", "面积 (km²)", "密度 (个/km²)", "片区", "区县"]
    return [("密度聚类结果", head, rows)]


def hotspots_tables(s: dict) -> list[TableSpec]:
    classes = [[_HOT_ZH.get(k, k), _int(v)] for k, v in (s.get("classes") or {}).items()]
    nn = [
        [str(r["kind"]), _int(r["n"]), _num(r.get("observed_mean_nn_m")),
         _num(r.get("expected_mean_nn_m")), _num(r.get("R"), 3), _num(r.get("p"), 3),
         _PATTERN_ZH.get(str(r.get("pattern")), str(r.get("pattern", r.get("error", ""))))]
        for r in s.get("nearest_neighbour") or []
    ]  # fmt: skip
    return [
        ("热点与冷点格网数", ["类别", "格网数"], classes),
        (
            "平均最近邻指数",
            ["类别", "点数", "实测平均最近邻 (m)", "随机期望 (m)", "R", "p", "格局"],
            nn,
        ),
    ]


def whatif_tables(s: dict) -> list[TableSpec]:
    rows = [
        ["孵化器数量", _int(s.get("baseline_sites")), _int(s.get("sites"))],
        ["覆盖率", _share(s.get("baseline_share")), _share(s.get("share"))],
        ["覆盖率变化", "—", f"{float(s.get('delta_share') or 0) * 100:+.1f} 个百分点"],
    ]
    return [("情景与现状比较", ["指标", "现状", "情景"], rows)]


def profile_tables(s: dict) -> list[TableSpec]:
    kinds = list(s.get("kinds") or [])
    labels = s.get("kind_labels") or {}
    head = ["分段", "起点 (m)", "终点 (m)", *[labels.get(k, k) for k in kinds], "合计", "每公里"]
    has_cov = s.get("covered") is not None
    if has_cov:
        head.append("覆盖率")
    rows = []
    for b in s.get("bins") or []:
        row = [str(b["bin"]), _num(b["from_m"], 0), _num(b["to_m"], 0)]
        row += [_int(b.get(k, 0)) for k in kinds] + [_int(b["total"]), _num(b["per_km"])]
        rows.append(row + ([_share(b.get("covered_share"))] if has_cov else []))
    return [("沿轴线分段统计", head, rows)]


def source_rows(summary: dict) -> list[list[str]]:
    """One row per input source: role, layer, file, rows, synthetic rows, CRS in, precision."""
    role_zh = {
        "services": "服务点",
        "demand": "需求",
        "existing": "现有孵化器",
        "candidates": "候选点",
        "points": "分析点",
        "baseline": "现状孵化器",
    }
    rows = []
    for role, info in (summary.get("inputs") or {}).items():
        for src in info.get("sources") or []:
            med, mx = src.get("precision_median_m"), src.get("precision_max_m")
            prec = "未记录" if med is None else f"中位 {med:g} 米, 最大 {mx:g} 米"
            if src.get("imprecise_excluded"):  # left out by the precision rule (not in rows)
                prec += f"; 另有 {_int(src['imprecise_excluded'])} 行精度过粗未使用"
            rows.append(
                [
                    role_zh.get(role, role),
                    str(src.get("layer", "")),
                    Path(str(src.get("source_file") or "")).name or "—",
                    _int(src.get("rows")),
                    _int(src.get("synthetic_rows")),
                    str(src.get("crs_in") or "—"),
                    prec,
                    "; ".join(src.get("coord_sources") or []) or "—",
                ]
            )
    return rows


# ---------------------------------------------------------------- figures
def report_figures(
    project: Project,
    content,
    *,
    name: str,
    extent,
    title: str = "",
    dpi: int = settings.PRINT_DPI,
    chart=None,
) -> list[Figure]:
    """The print map of a report chapter (A4 landscape PNG at ``dpi``) and its chart.

    ``content`` is the map's :class:`export.maps.MapContent` (drawn by
    :func:`export.maps.render_map`), ``name`` the analysis's Chinese name, ``chart``
    ``chart(dpi, width_in) -> PNG bytes`` or None. Nothing is computed here.
    """
    from export.maps import render_map

    png = render_map(
        project,
        content,
        title=title or f"{project.city or project.name}{name}",
        fmt="png",
        extent=extent,
        paper="A4",
        orientation="landscape",
        dpi=dpi,
    )
    out = [Figure(f"{name}图 (A4, {dpi} dpi)", png, True)]
    if chart is not None:
        from export.printmap import plain_text_matplotlib

        plain_text_matplotlib()  # names with $ drawn as typed, not as mathtext
        data = chart(min(int(dpi), 300), CHART_WIDTH_MM / 25.4)
        out.append(Figure("沿轴线分段统计图", data, False))
    return out


# ---------------------------------------------------------------- docx pieces
def _set_fonts(element, east_asia: str) -> None:
    """Set the Latin and East Asian fonts of a run or style element."""
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), east_asia)


#: Characters XML 1.0 (hence a .docx) cannot hold: controls other than tab and line breaks,
#: surrogates and the non-characters U+FFFE/U+FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _docx_text(text: object) -> str:
    """``text`` as a Word document can hold it: each XML-invalid character shown as its
    control picture (U+2400 + code) or U+FFFD, everything else (``$``, ``<``, ``&``) as typed."""
    return _XML_ILLEGAL.sub(
        lambda m: chr(0x2400 + ord(m.group())) if m.group() < " " else "\ufffd", str(text)
    )


def _run(paragraph, text: str, *, bold=False, size=None, color=None, heading=False):
    r = paragraph.add_run(_docx_text(text))
    _set_fonts(r._element, HEADING_FONT if heading else BODY_FONT)
    r.bold = bold or None
    if size:
        r.font.size = Pt(size)
    if color is not None:
        r.font.color.rgb = color
    return r


def _styles(doc) -> None:
    for name in ("Normal", "Caption", "List Bullet", "Title", "Subtitle"):
        _set_fonts(doc.styles[name].element, BODY_FONT)
    doc.styles["Normal"].font.size = Pt(10.5)  # 五号
    for level in (1, 2, 3):
        st = doc.styles[f"Heading {level}"]
        _set_fonts(st.element, HEADING_FONT)
        st.font.color.rgb = RGBColor(0, 0, 0)


def _para(doc, text: str, *, style=None, **kw):
    p = doc.add_paragraph(style=style)
    _run(p, text, **kw)
    return p


def _heading(doc, text: str, level: int):
    h = doc.add_heading(level=level)
    _run(h, text, heading=True)
    return h


def _table(doc, caption: str, head: list[str], rows: list[list[str]], number: str) -> None:
    _para(doc, f"表 {number} {caption}", style="Caption", bold=True)
    t = doc.add_table(rows=1, cols=len(head))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(t.rows[0].cells, head, strict=True):
        cell.text = ""
        _run(cell.paragraphs[0], text, bold=True, size=9, heading=True)
    trpr = t.rows[0]._tr.get_or_add_trPr()  # repeat the header row on every page
    trpr.append(OxmlElement("w:tblHeader"))
    for row in rows or [["—"] * len(head)]:
        cells = t.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = ""
            _run(cell.paragraphs[0], str(text), size=9)
    doc.add_paragraph()


def _orient(doc, landscape: bool) -> None:
    sec = doc.add_section(WD_SECTION.NEW_PAGE)
    sec.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    w, h = (Mm(297), Mm(210)) if landscape else (Mm(210), Mm(297))
    sec.page_width, sec.page_height = w, h
    sec.top_margin = sec.bottom_margin = Mm(12) if landscape else Mm(25)
    sec.left_margin = sec.right_margin = Mm(20)


def _figure(doc, fig: Figure, number: str) -> None:
    width = Mm(MAP_WIDTH_MM) if fig.landscape else Mm(CHART_WIDTH_MM)
    doc.add_picture(io.BytesIO(fig.data), width=width)
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    cap = _para(doc, f"图 {number} {fig.caption}", style="Caption")
    cap.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _synthetic_warning(doc, summary: dict) -> None:
    share = float(summary.get("synthetic_share") or 0.0)
    if share > 0:
        _para(
            doc,
            f"注意: 本分析输入中 {share_text(share)} 为模拟数据 (synthetic), 结果仅用于演示方法, "
            "不能作为规划决策依据。",
            bold=True,
            color=_RED,
        )


def _precision_warning(doc, summary: dict) -> None:
    """The siting headline and the lead warnings (a role more than half left out), in red."""
    p = summary.get("precision") or {}
    lead = [summary.get("headline") or "", *(p.get("warnings") or [])]
    for text in [t for t in lead if t]:
        _para(doc, str(text).split(" / ")[0], bold=True, color=_RED)
    if p.get("include_imprecise") and p.get("imprecise_used"):
        _para(
            doc,
            f"注意: 本分析按要求使用了 {int(p['imprecise_used']):,} 个位置精度粗于分析尺度的点 "
            "(include_imprecise), 结果可能偏离实际位置。",
            bold=True,
            color=_RED,
        )


def _precision_notes(summary: dict) -> list[str]:
    """What the precision rule left out (or used although imprecise) and why (Chinese)."""
    p = summary.get("precision") or {}
    if not p:
        return []
    out = [str(n).split(" / ")[0] for n in p.get("notes") or []]
    limit = p.get("max_precision_m")
    if not p.get("excluded") and not p.get("imprecise_used") and limit is not None:
        out.append(
            f"坐标精度规则: 只使用精度不粗于 {float(limit):,.0f} 米 ({p.get('scale_basis', '')}) "
            "的点; 本分析没有点因此被排除。"
        )
    return out


def _title_page(doc, project: Project, sections: list[ReportSection], title: str, as_of: str):
    for _ in range(6):
        doc.add_paragraph()
    p = _para(doc, project.name, style="Title", bold=True, size=26, heading=True)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p = _para(doc, title, size=18, heading=True)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for _ in range(4):
        doc.add_paragraph()
    for text in (
        f"城市: {project.province}{project.city}" if project.city else f"项目: {project.name}",
        f"日期: {as_of}",
        f"分析坐标系: {project.crs_label()}",
        f"包括分析 {len(sections)} 项: " + "、".join(s.heading for s in sections),
    ):
        _para(doc, text, size=12).alignment = WD_ALIGN_PARAGRAPH.CENTER
    synth = [s for s in sections if float(s.summary.get("synthetic_share") or 0) > 0]
    if synth:
        doc.add_paragraph()
        p = _para(
            doc,
            f"注意: {len(synth)} 项分析的输入含模拟数据, 其结果仅用于演示方法, 详见各章说明。",
            bold=True,
            color=_RED,
            size=12,
        )
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p = _para(doc, "InnoMap 创新资源一张图 生成", size=9)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _section_notes(project: Project, sec: ReportSection) -> list[str]:
    s = sec.summary
    notes = [*_precision_notes(s), *sec.notes]
    if s.get("synthetic_note"):
        notes.append(s["synthetic_note"].split(" / ")[0])
    if s.get("axis_approximate"):
        notes.append("走廊轴线为示意绘制 (approximate), 分段位置仅供参考。")
    if any(bool(v) for v in project.zones.get("approximate", [])):
        notes.append("片区/走廊边界为按公布道路四至示意绘制, 非法定边界。")
    if s.get("method") == "straight" or "直线距离近似法" in str(s.get("method_label", "")):
        notes.append("出行时间为直线距离近似值, 未考虑河流、铁路等阻隔; 有路网时宜用路网法复核。")
    notes += [str(w) for w in s.get("warnings") or []]
    if s.get("skipped_invalid"):
        notes.append(f"输入文件中 {s['skipped_invalid']} 行无效记录被跳过。")
    return list(dict.fromkeys(notes))


#: The report's sections (``--sections``, the app's checklist) with their Chinese names.
#: ``title`` (the cover) and ``data`` (the closing chapter of the project's layers) are
#: the document's; the others are parts of every analysis chapter, in the order chosen.
REPORT_SECTIONS = {
    "title": "封面",
    "method": "方法与参数",
    "results": "主要结果",
    "sources": "数据来源与坐标精度",
    "notes": "说明",
    "maps": "地图",
    "data": "项目数据",
}
#: The sections' English names (the app in English).
REPORT_SECTIONS_EN = {
    "title": "Cover",
    "method": "Method and parameters",
    "results": "Main results",
    "sources": "Sources and positional precision",
    "notes": "Notes",
    "maps": "Maps",
    "data": "Project data",
}
#: The default order (the report as it always was).
DEFAULT_SECTIONS = ("title", "method", "results", "sources", "notes", "maps", "data")
_CHAPTER_PARTS = ("method", "results", "sources", "notes", "maps")


def parse_sections(value) -> tuple[str, ...]:
    """The sections asked for, in order: ``"a,b,c"`` or a list of keys or Chinese names.

    Raises
    ------
    InnoMapError
        An unknown or repeated section, or none at all; the message lists the sections.
    """
    if value is None:
        return DEFAULT_SECTIONS
    items = [v for v in re.split(r"[,，、\s]+", value)] if isinstance(value, str) else list(value)
    items = [str(v).strip() for v in items if str(v).strip()]
    by_name = {zh: key for key, zh in REPORT_SECTIONS.items()}
    choices = ", ".join(f"{k} ({zh})" for k, zh in REPORT_SECTIONS.items())
    out: list[str] = []
    for item in items:
        key = item.lower() if item.lower() in REPORT_SECTIONS else by_name.get(item)
        if key is None:
            raise InnoMapError(
                f"未知的报告章节 / unknown report section {item[:40]!r}: choose from {choices}"
            )
        if key in out:
            raise InnoMapError(
                f"报告章节重复 / report section {item[:40]!r} given twice: name each section once"
            )
        out.append(key)
    if not out:
        raise InnoMapError(f"没有选择报告章节 / no report section chosen: choose from {choices}")
    return tuple(out)


#: Header of the table of input sources.
_SOURCE_HEAD = [
    "用途",
    "图层",
    "来源文件",
    "行数",
    "模拟行数",
    "输入坐标系",
    "坐标精度",
    "坐标来源",
]


def _chapter_part(doc, project: Project, sec: ReportSection, part: str, i: int) -> None:
    """One part of an analysis chapter (its heading written by the caller), maps excepted."""
    charts = [f for f in sec.figures if not f.landscape]
    if part == "method":
        for text in sec.method or [f"分析类型 {sec.analysis}: 参数见附表。"]:
            _para(doc, text)
    elif part == "results":
        for j, (caption, head, rows) in enumerate(sec.tables, 1):
            _table(doc, caption, head, rows, f"{i}-{j}")
        for j, fig in enumerate(charts, 1):
            _figure(doc, fig, f"{i}-{j}")
    elif part == "sources":
        _table(doc, "输入数据来源", _SOURCE_HEAD, source_rows(sec.summary), f"{i}-s")
    elif part == "notes":
        for note in _section_notes(project, sec):
            _para(doc, note, style="List Bullet")


def _chapter(
    doc, project: Project, sec: ReportSection, i: int, parts: tuple[str, ...] = _CHAPTER_PARTS
) -> None:
    name = sec.heading
    _heading(doc, f"{i} {name}" + (f": {sec.title}" if sec.title else ""), 1)
    when = f"运行编号 {sec.run_id}, 保存于 {sec.created_at}" if sec.run_id else "本次分析 (未保存)"
    _para(doc, when, size=9)
    _synthetic_warning(doc, sec.summary)
    _precision_warning(doc, sec.summary)
    charts = [f for f in sec.figures if not f.landscape]
    maps = [f for f in sec.figures if f.landscape]
    chosen = [p for p in parts if p in _CHAPTER_PARTS and (p != "maps" or maps)]
    for k, part in enumerate(chosen, 1):
        if part != "maps":
            _heading(doc, f"{i}.{k} {REPORT_SECTIONS[part]}", 2)
            _chapter_part(doc, project, sec, part, i)
            continue
        _orient(doc, True)  # maps: on landscape pages, headed there
        _heading(doc, f"{i}.{k} {REPORT_SECTIONS[part]}", 2)
        for j, fig in enumerate(maps, len(charts) + 1):
            _figure(doc, fig, f"{i}-{j}")
        _orient(doc, False)


def _layers_chapter(doc, project: Project, n: int) -> None:
    _heading(doc, f"{n} 项目数据", 1)
    _para(doc, f"项目 {project.name} 的图层 (存储为 WGS84; 分析坐标系 {project.crs_label()}):")
    rows = []
    for lyr in project.layers.values():
        prec = lyr.gdf["coord_precision_m"].dropna() if "coord_precision_m" in lyr.gdf else []
        rows.append(
            [
                lyr.name,
                REGISTRY[lyr.kind].name_zh if lyr.kind in REGISTRY else lyr.kind,
                _int(lyr.rows),
                _int(lyr.synthetic_rows),
                Path(lyr.source_file).name or "—",
                lyr.crs_in or "—",
                "—" if lyr.kind in OUTLINE_KINDS or not len(prec) else f"{float(prec.median()):g}",
            ]
        )
    head = ["图层", "类别", "行数", "模拟行数", "来源文件", "输入坐标系", "坐标精度中位数 (米)"]
    _table(doc, "项目图层", head, rows, f"{n}-1")
    _para(
        doc,
        "每条记录带有来源、坐标来源、坐标精度 (米) 与模拟数据标记; 模拟数据仅用于演示分析方法, "
        "不代表真实机构。",
    )


def build_docx(
    project: Project,
    sections: list[ReportSection],
    *,
    title: str | None = None,
    as_of: str | None = None,
    parts=None,
) -> bytes:
    """The Word document (bytes) of ``sections`` of ``project``.

    ``parts`` chooses and orders the report's sections (:data:`REPORT_SECTIONS`,
    :func:`parse_sections`; default :data:`DEFAULT_SECTIONS`): the analysis chapters
    stand where the first chapter part is named, ``title`` and ``data`` where they are.

    Raises
    ------
    InnoMapError
        No analysis given; an unknown section.
    """
    parts = parse_sections(parts)
    if not sections:
        raise InnoMapError(
            f"没有可写入报告的分析 / no analysis to report for project {project.name!r}: save a run "
            "first (the save button of an analysis page) or name runs with --runs"
        )
    doc = Document()
    _styles(doc)
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin = sec.bottom_margin = Mm(25)
    sec.left_margin = sec.right_margin = Mm(20)
    title = title or "创新资源空间分析报告"
    as_of = as_of or date.today().isoformat()
    # the document property holds at most 255 characters (the title page: all of them)
    doc.core_properties.title = _docx_text(f"{project.name} {title}")[:255]
    doc.core_properties.author = "InnoMap"
    chapter_parts = tuple(p for p in parts if p in _CHAPTER_PARTS)
    n = 0
    blocks = list(dict.fromkeys("chapters" if p in _CHAPTER_PARTS else p for p in parts))
    for block in blocks:
        if block == "title":
            _title_page(doc, project, sections, title, as_of)
        elif block == "chapters":
            for s in sections:
                n += 1
                _chapter(doc, project, s, n, chapter_parts)
        else:
            n += 1
            _layers_chapter(doc, project, n)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- PDF
def libreoffice() -> str:
    """The LibreOffice executable, else an error saying how to install it."""
    exe = shutil.which("libreoffice") or shutil.which("soffice")
    if not exe:
        raise InnoMapError(
            "生成 PDF 需要 LibreOffice, 本机未安装 / PDF output needs LibreOffice, which is not "
            "installed: install it (Debian/Ubuntu: apt-get install libreoffice-writer-nogui) or "
            "write a Word file (--format docx) and save it as PDF in Word"
        )
    return exe


def docx_to_pdf(data: bytes, *, timeout_s: float = 300.0) -> bytes:
    """Convert a .docx (bytes) to PDF with ``libreoffice --headless``.

    Raises
    ------
    InnoMapError
        LibreOffice is not installed (the message says how to install it), or
        the conversion failed.
    """
    exe = libreoffice()
    with tempfile.TemporaryDirectory(prefix="innomap-report-") as d:
        src = Path(d) / "report.docx"
        src.write_bytes(data)
        cmd = [
            exe,
            f"-env:UserInstallation=file://{d}/lo-profile",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            d,
            str(src),
        ]
        env = dict(os.environ)
        try:  # the shipped CJK font, so the PDF needs no system CJK font
            from render.fonts import fontconfig_file

            env["FONTCONFIG_FILE"] = str(fontconfig_file())
        except InnoMapError:
            pass
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False, env=env)
        except subprocess.TimeoutExpired:
            raise InnoMapError(
                f"LibreOffice 转换超时 ({timeout_s:g} 秒) / LibreOffice did not finish the PDF in "
                f"{timeout_s:g} s: try --format docx"
            ) from None
        pdf = Path(d) / "report.pdf"
        if proc.returncode != 0 or not pdf.exists():
            raise InnoMapError(
                f"LibreOffice 转换 PDF 失败 (退出码 {proc.returncode}) / LibreOffice could not convert "
                "the report to PDF: try --format docx, or check that LibreOffice Writer is installed"
            )
        return pdf.read_bytes()
