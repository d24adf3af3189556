"""Chinese-first UI strings with English labels."""

from __future__ import annotations

import streamlit as st

__all__ = [
    "CHOICE_LABELS",
    "RESULT_FIELDS",
    "UNITS",
    "T",
    "choice_label",
    "column_header",
    "field_unit",
    "keep_choices",
    "lang",
    "t",
]

_STRINGS: dict[str, tuple[str, str]] = {
    "app_title": ("InnoMap 创新资源一张图", "InnoMap: innovation resources map"),
    "language": ("语言 / Language", "语言 / Language"),
    "page_map": ("地图", "Map"),
    "page_data": ("图层与数据源", "Layers & sources"),
    "page_coverage": ("15分钟服务圈", "15-min service circles"),
    "page_clusters": ("集聚与热点", "Clusters & hot spots"),
    "page_siting": ("孵化器选址", "Incubator siting"),
    "page_profile": ("走廊剖面", "Corridor profile"),
    "page_compare": ("方案对比", "Compare runs"),
    "page_export": ("导出", "Export"),
    "page_import": ("导入数据", "Import data"),
    "page_draw": ("绘制片区与轴线", "Draw zones and axes"),
    "filters": ("筛选", "Filters"),
    "layers": ("图层", "Layers"),
    "subtype": ("子类", "Subtype"),
    "level": ("级别", "Level"),
    "district": ("区县", "District"),
    "zone": ("片区/走廊", "Zone / corridor"),
    "all": ("全部", "All"),
    "include_synthetic": ("显示模拟数据", "Show synthetic data"),
    "search": ("名称搜索", "Search by name"),
    "search_hint": ("输入机构名称, 地图将定位到该机构", "Type a name; the map zooms to it"),
    "search_pick": ("选择结果", "Pick a result"),
    "no_hits": ("没有找到匹配的名称", "No matching name"),
    "basemap": ("底图", "Basemap"),
    "tianditu_key": ("天地图密钥 (tk)", "Tianditu key (tk)"),
    "custom_url": ("XYZ 瓦片地址", "XYZ tile URL"),
    "custom_crs": ("瓦片坐标系", "Tile coordinate system"),
    "custom_attr": ("版权说明", "Attribution"),
    "online_note": (
        "在线底图需要联网; 离线时请选择“无底图”。",
        "Online basemaps need internet; choose None when offline.",
    ),
    "gcj_note": (
        "高德底图为 GCJ-02 坐标, 所有叠加图层已实时转换, 不会偏移约 500 米。",
        "AMap tiles are GCJ-02; every overlay is converted so nothing sits ~500 m off.",
    ),
    "counts": ("各图层数量(筛选后/总数)", "Records per layer (filtered / total)"),
    "synthetic_banner": (
        "注意: 图中部分记录为模拟数据(synthetic), 仅用于演示分析方法, 不代表真实机构。",
        "Note: some records shown are synthetic, for method demonstration only.",
    ),
    "legend": ("图例", "Legend"),
    "sources": ("数据来源与许可", "Sources and licences"),
    "layer_table": ("图层一览", "Layer overview"),
    "records": ("记录", "Records"),
    "choose_layer": ("选择图层", "Choose a layer"),
    "extra_layer_error": ("附加图层读取失败", "Extra layer could not be read"),
    "rejected_rows": ("被拒绝的行", "Rejected rows"),
    "focus": ("已定位", "Focused"),
    "choose": ("请选择", "Choose options"),  # every multiselect's empty placeholder
}


def lang() -> str:
    """Current UI language: "zh" (default) or "en"."""
    return "en" if st.session_state.get("lang_choice") == "English" else "zh"


def T(zh: str, en: str) -> str:
    """The Chinese or English text, by the session's language."""
    return en if lang() == "en" else zh


def _choice(v) -> bool:
    return isinstance(v, (str, int, float)) and not isinstance(v, bool)


def keep_choices() -> None:
    """On a language switch (the radio's callback): hand every choice back to its widget.

    A select box, radio or multiselect gets a choice back from the browser as the text it
    showed, matched against the options as shown in *this* run: after a switch the old
    language's text would match nothing (``'直线距离近似法'`` for ``straight``). Read
    here, the values are still those of the last run; written back, each widget shows
    and sends them in the new language. Buttons and uploads (not plain values) are left.
    """
    for key in list(st.session_state):
        v = st.session_state[key]
        if key == "lang_choice":
            continue
        if _choice(v) or (isinstance(v, (list, tuple)) and all(_choice(x) for x in v)):
            st.session_state[key] = v


def t(key: str) -> str:
    """Translate ``key`` into the current language."""
    zh, en = _STRINGS.get(key, (key, key))
    return en if lang() == "en" else zh


# ------------------------------------------------------------------ option labels
#: Option values shown in choices and messages: group -> value -> (中文, English).
CHOICE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "mode": {"walk": ("步行", "walk"), "bike": ("骑行", "bike"), "drive": ("驾车", "drive")},
    "orientation": {"landscape": ("横版", "landscape"), "portrait": ("竖版", "portrait")},
    "solver": {
        "exact": ("精确求解", "exact"),
        "heuristic": ("启发式", "heuristic"),
        "exact+heuristic": ("精确求解 + 启发式", "exact + heuristic"),
        "auto": ("自动", "auto"),
    },
    "cluster_method": {"dbscan": ("DBSCAN", "DBSCAN"), "hdbscan": ("HDBSCAN", "HDBSCAN")},
    "hot_class": {
        "hot_99": ("热点 (99% 置信度)", "hot spot (99 %)"),
        "hot_95": ("热点 (95% 置信度)", "hot spot (95 %)"),
        "hot_90": ("热点 (90% 置信度)", "hot spot (90 %)"),
        "not_significant": ("不显著", "not significant"),
        "cold_90": ("冷点 (90% 置信度)", "cold spot (90 %)"),
        "cold_95": ("冷点 (95% 置信度)", "cold spot (95 %)"),
        "cold_99": ("冷点 (99% 置信度)", "cold spot (99 %)"),
    },
}


def choice_label(group: str, value) -> str:
    """An option value as the session's language shows it (the value itself when unknown)."""
    zh, en = CHOICE_LABELS.get(group, {}).get(str(value), (str(value), str(value)))
    return en if lang() == "en" else zh


# ------------------------------------------------------------------ result-table labels
#: Units of result fields: key -> (中文, English). ``pct``/``pp`` values are shares
#: (0–1) shown ×100 as per cent / percentage points.
UNITS: dict[str, tuple[str, str]] = {
    "m": ("米", "m"),
    "min": ("分钟", "min"),
    "pct": ("%", "%"),
    "pp": ("百分点", "pp"),
    "km2": ("平方公里", "km²"),
    "kmh": ("千米/小时", "km/h"),
    "per_km": ("个/公里", "per km"),
    "per_km2": ("个/平方公里", "per km²"),
    "s": ("秒", "s"),
}

#: Fields of analysis result tables: field -> (中文, English, unit key or "").
#: Layer fields (name, district, lon …) come from ``layers.schema.FIELD_LABELS``
#: and layer kinds from the registry (see :func:`column_header`): not repeated here.
RESULT_FIELDS: dict[str, tuple[str, str, str]] = {
    # coverage
    "minutes": ("时间阈值", "Cut-off", "min"),
    "demand_total": ("需求点数", "Demand points", ""),
    "covered": ("已覆盖点数", "Points covered", ""),
    "share": ("覆盖率", "Share covered", "pct"),
    "weight_total": ("需求权重合计", "Total weight", ""),
    "weighted_covered": ("已覆盖权重", "Weight covered", ""),
    "weighted_share": ("加权覆盖率", "Weighted share covered", "pct"),
    # hot spots
    "cell_m": ("格网间距", "Cell size", "m"),
    # saved runs
    "run_type": ("分析类型", "Analysis", ""),
    "zone_km2": ("片区面积", "Zone area", "km2"),
    "covered_km2": ("覆盖面积", "Area covered", "km2"),
    "area_share": ("面积覆盖率", "Share of area covered", "pct"),
    "service_id": ("服务点编号", "Service point", ""),
    "only_here": ("仅此点覆盖的需求点", "Points covered only here", ""),
    "weighted_only_here": ("仅此点覆盖的权重", "Weight covered only here", ""),
    "method": ("方法与参数", "Method and parameters", ""),
    "speed_kmh": ("速度", "Speed", "kmh"),
    # siting and what-if
    "rank": ("排名", "Rank", ""),
    "marginal_gain": ("边际增益", "Marginal gain", ""),
    "newly_covered_points": ("新增覆盖点数", "Points newly covered", ""),
    "newly_covered_weight": ("新增覆盖权重", "Weight newly covered", ""),
    "catchment_points": ("服务范围内需求点", "Demand points in reach", ""),
    "covered_before": ("现状覆盖权重", "Weight covered before", ""),
    "share_before": ("现状覆盖率", "Share before", "pct"),
    "covered_after": ("新增后覆盖权重", "Weight covered after", ""),
    "share_after": ("新增后覆盖率", "Share after", "pct"),
    "change": ("覆盖率变化", "Change", "pp"),
    "scenario": ("情景", "Scenario", ""),
    "sites": ("孵化器数量", "Incubators", ""),
    "change_pp": ("覆盖率变化", "Change", "pp"),
    # clusters, hot spots, point statistics
    "size": ("点数", "Points", ""),
    "by_kind": ("各类数量", "Points by kind", ""),
    "label": ("簇类型", "Cluster type", ""),
    "area_km2": ("面积", "Area", "km2"),
    "density_per_km2": ("密度", "Density", "per_km2"),
    "centroid_lon": ("中心经度", "Centre longitude", ""),
    "centroid_lat": ("中心纬度", "Centre latitude", ""),
    "params": ("参数", "Parameters", ""),
    "class": ("热点类别", "Class", ""),
    "cells": ("格网数", "Cells", ""),
    "n": ("点数", "Points", ""),
    "observed_mean_nn_m": ("实测平均最近邻距离", "Observed mean NN distance", "m"),
    "expected_mean_nn_m": ("随机分布期望距离", "Expected mean NN distance", "m"),
    "R": ("最近邻指数 R", "Nearest-neighbour index R", ""),
    "z": ("z 值", "z", ""),
    "p": ("p 值", "p", ""),
    "pattern": ("分布格局", "Pattern", ""),
    "study_area_km2": ("研究区面积", "Study area", "km2"),
    "a": ("类别 A", "Kind A", ""),
    "b": ("类别 B", "Kind B", ""),
    "n_a": ("A 点数", "Points A", ""),
    "n_b": ("B 点数", "Points B", ""),
    "clq": ("共址商 CLQ", "Co-location quotient", ""),
    "p_colocated": ("p 值(共址)", "p (co-located)", ""),
    "expected": ("期望值", "Expected", ""),
    "permutations": ("置换次数", "Permutations", ""),
    # corridor profile
    "bin": ("分段", "Bin", ""),
    "from_m": ("起点", "From", "m"),
    "to_m": ("终点", "To", "m"),
    "length_m": ("段长", "Length", "m"),
    "total": ("合计", "Total", ""),
    "per_km": ("每公里资源数", "Resources per km", "per_km"),
    "covered_share": ("覆盖率", "Share covered", "pct"),
    # layer overviews
    "layer": ("图层", "Layer", ""),
    "rows": ("记录数", "Records", ""),
    "synthetic_rows": ("其中模拟数据", "Of which synthetic", ""),
    # project layers and saved runs
    "rejected_rows": ("被拒绝行数", "Rejected rows", ""),
    "source_file": ("原始文件", "Source file", ""),
    "crs_in": ("输入坐标系", "Input CRS", ""),
    "encoding": ("编码", "Encoding", ""),
    "imported_at": ("导入时间", "Imported at", ""),
    "note": ("说明", "Note", ""),
    "damaged": ("损坏", "Damaged", ""),
    "revalidated": ("外部修改后复核", "Re-checked after outside edit", ""),
    "level_source": ("级别来源", "Level source", ""),  # demo layers' attributes
    "placement": ("定位方式", "Placement", ""),
    "analysis": ("分析", "Analysis", ""),
    "title": ("标题", "Title", ""),
    "created_at": ("保存时间", "Saved at", ""),
    "run_name": ("运行名称", "Run", ""),
    "local_time": ("保存时间 (北京时间)", "Saved (Asia/Shanghai)", ""),
    "inputs_changed": ("保存后输入已更改", "Inputs changed since", ""),
    "indicator_label": ("指标", "Indicator", ""),
    "value_a": ("方案A", "Run A", ""),
    "value_b": ("方案B", "Run B", ""),
    "difference": ("差值 (B − A)", "Difference (B − A)", ""),
    "table": ("表", "Table", ""),
    # import and geocoding lists
    "row": ("行号", "Row", ""),
    "field": ("字段", "Field", ""),
    "value": ("值", "Value", ""),
    "message": ("说明", "Message", ""),
    "reason": ("原因", "Reason", ""),
    "geocode_status": ("地理编码状态", "Geocoding status", ""),
    "geocode_note": ("地理编码说明", "Geocoding note", ""),
}


_session_lang = lang


def field_unit(name: str) -> str:
    """The unit key of a result field (``""`` when it has none)."""
    return RESULT_FIELDS.get(str(name), ("", "", ""))[2]


def column_header(name: str, lang: str | None = None) -> str:
    """Display header of a table column in ``lang`` (default: the session's), unit included.

    Result fields (:data:`RESULT_FIELDS`), then layer fields (``layers.schema``),
    then layer kinds (the registry); anything else is shown as it is.
    """
    from layers.registry import REGISTRY
    from layers.schema import FIELD_LABELS

    en = (lang or _session_lang()) == "en"
    key = str(name)
    if key in RESULT_FIELDS:
        zh_label, en_label, unit = RESULT_FIELDS[key]
        label = en_label if en else zh_label
        return f"{label} ({UNITS[unit][1 if en else 0]})" if unit else label
    if key in FIELD_LABELS:
        return FIELD_LABELS[key][1 if en else 0]
    if key in REGISTRY:
        return REGISTRY[key].name("en" if en else "zh")
    return key
