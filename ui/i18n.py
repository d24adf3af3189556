"""Chinese-first UI strings with English labels."""

from __future__ import annotations

import streamlit as st

__all__ = ["lang", "t"]

_STRINGS: dict[str, tuple[str, str]] = {
    "app_title": ("InnoMap 创新资源一张图", "InnoMap: innovation resources map"),
    "language": ("语言 / Language", "语言 / Language"),
    "page_map": ("地图", "Map"),
    "page_data": ("图层与数据源", "Layers & sources"),
    "page_coverage": ("15分钟服务圈", "15-min service circles"),
    "page_clusters": ("集聚与热点", "Clusters & hot spots"),
    "page_siting": ("孵化器选址", "Incubator siting"),
    "page_profile": ("走廊剖面", "Corridor profile"),
    "page_export": ("导出", "Export"),
    "page_import": ("导入数据", "Import data"),
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
}


def lang() -> str:
    """Current UI language: "zh" (default) or "en"."""
    return "en" if st.session_state.get("lang_choice") == "English" else "zh"


def t(key: str) -> str:
    """Translate ``key`` into the current language."""
    zh, en = _STRINGS.get(key, (key, key))
    return en if lang() == "en" else zh
