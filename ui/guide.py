"""First-run guide: what the layers are, where the data is synthetic, how to start a
project for your own city. Opens over the map of the demo project once per session
(closed with its button or the ✕), and again from the sidebar's guide button.
"""

from __future__ import annotations

import streamlit as st

from layers import auth
from layers.project import Project
from layers.registry import REGISTRY
from render.tables import layer_overview
from ui.common import T
from ui.i18n import lang
from ui.tables import show_table

__all__ = ["GUIDE_KEY", "first_run_guide"]

#: Session key: True once the guide was closed in this session.
GUIDE_KEY = "guide_seen"


def _close() -> None:
    st.session_state[GUIDE_KEY] = True


def _layers_part(project: Project, frames: dict, labels: dict) -> None:
    st.markdown(
        T(
            "**1. 图层**: 每类创新资源一个图层, 可在侧栏筛选、在地图右上角开关。",
            "**1. Layers**: one layer per kind of resource; filter them in the sidebar, "
            "switch them on the map (top right).",
        )
    )
    kinds = dict.fromkeys(project.layers[n].kind for n in frames if n in project.layers)
    st.caption(
        " · ".join(
            f"{REGISTRY[k].name(lang())}: {REGISTRY[k].description_zh}"
            if lang() == "zh"
            else REGISTRY[k].name("en")
            for k in kinds
            if k in REGISTRY
        )
    )
    table = layer_overview(frames, labels)
    show_table(table, key="guide_layers", downloads=False)
    synth = table[table["synthetic_rows"] > 0]
    st.markdown(
        T("**2. 模拟数据**: ", "**2. Synthetic data**: ")
        + (
            T(
                f"{'、'.join(synth['layer'])} 含模拟记录 (synthetic), 仅用于演示方法, 不代表真实机构; "
                "弹窗与表格中标为“模拟数据”, 分析结果注明其比例。来源与许可见“图层与数据源”页。",
                f"{', '.join(synth['layer'])} hold synthetic records, for demonstrating the methods "
                "only; popups and tables mark them, results state their share. Sources and licences: "
                "the Layers & sources page.",
            )
            if len(synth)
            else T("本项目没有模拟记录。", "This project has no synthetic records.")
        )
    )


def _project_part() -> None:
    admin = auth.can("admin")
    st.markdown(
        T("**3. 你的城市**: ", "**3. Your city**: ")
        + T(
            "侧栏“项目 → 新建”: 输入项目名称与城市 (名称或行政区划代码, 如 连云港市 / 320700), "
            "区县界与米制坐标系自动生成; 然后在“导入数据”页加入企业名单、孵化器等 "
            "(CSV/XLSX/GeoJSON/Shapefile…, 无坐标的名单可按地址地理编码), 再到各分析页计算。",
            "sidebar → Project → New: a project name and the city (name or admin code, e.g. "
            "连云港市 / 320700); districts and a metric CRS are set up for you. Then add your lists "
            "on the Import page (CSV/XLSX/GeoJSON/Shapefile…, addresses can be geocoded) and run "
            "the analyses.",
        )
        + (
            ""
            if admin
            else T(" (新建项目需要管理员角色。)", " (Creating projects needs the admin role.)")
        )
    )
    st.code(
        "python cli.py project new --name 连云港科创 --city 连云港市 --out 连云港.gpkg",
        language="bash",
    )


def _guide(project: Project, frames: dict, labels: dict) -> None:
    _layers_part(project, frames, labels)
    _project_part()
    if st.button(T("开始使用", "Start"), type="primary", key="guide_ok"):
        _close()
        st.rerun()


def first_run_guide(project: Project, frames: dict, labels: dict) -> None:
    """The guide over the map: once per session on the demo, or when asked for (sidebar)."""
    if st.sidebar.button(T("使用指南", "Guide"), key="guide_open", icon=":material/help:"):
        st.session_state[GUIDE_KEY] = False
    elif not project.is_demo:
        return
    if st.session_state.get(GUIDE_KEY):
        return
    dialog = st.dialog(
        T("欢迎使用 InnoMap 创新资源一张图", "Welcome to InnoMap"),
        width="large",
        on_dismiss=_close,
    )
    dialog(_guide)(project, frames, labels)
