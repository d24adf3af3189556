"""Layers & sources page: the project's layers, districts, zones and saved runs, with provenance."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from layers import auth
from layers.project import delete_run
from layers.registry import DATA_DIR, REGISTRY
from ui.common import T, guarded, md_text, project_or_stop
from ui.housekeeping_panel import housekeeping_panel, rename_run_panel
from ui.i18n import lang, t
from ui.state import layer_label, refresh_project
from ui.tables import show_table
from ui.undo import undo_button
from workflows.analyses import title as analysis_title
from workflows.runs import local_time


def _layer_table(project) -> None:
    st.subheader(t("layer_table"))
    rows = [
        {**lyr.info(), "kind": REGISTRY[lyr.kind].name(lang())} for lyr in project.layers.values()
    ]
    table = pd.DataFrame(rows)
    if (table["synthetic_rows"] > 0).any():
        st.warning(t("synthetic_banner"))
    for lyr in project.layers.values():
        if lyr.damaged:  # said above the table, as text (names are never Markdown)
            st.error(md_text(lyr.damaged), icon="⚠️")
    show_table(table, key="data_layers", downloads=False)


def _records(project) -> None:
    st.subheader(t("records"))
    name = st.selectbox(
        t("choose_layer"),
        list(project.layers),
        key="data_layer",
        format_func=lambda n: layer_label(project, n, lang()),
    )
    lyr = project.layers[name]
    view = pd.DataFrame(lyr.gdf.drop(columns="geometry"))
    if (lyr.gdf.geom_type == "Point").all() and len(lyr.gdf):
        view.insert(2, "lon", lyr.gdf.geometry.x.round(6))
        view.insert(3, "lat", lyr.gdf.geometry.y.round(6))
    # headers in the UI's language with units, numbers formatted; downloads keep the fields
    show_table(view, key="data_records", name=name, height=360)
    if len(lyr.rejected):
        st.caption(t("rejected_rows"))
        show_table(lyr.rejected, key="data_rejected", name=t("rejected_rows"))


def _runs(project) -> None:
    st.subheader(T("已保存的分析", "Saved runs"))
    st.caption(T(f"共 {len(project.runs)} 个已保存的分析", f"{len(project.runs)} saved runs"))
    if not project.runs:
        return
    show_table(
        pd.DataFrame(
            [
                {
                    "id": r.id,
                    "run_type": analysis_title(r.analysis, lang()),  # from the registry
                    "run_name": r.name,
                    "title": r.title,
                    "local_time": local_time(r.created_at),  # Asia/Shanghai, stored in UTC
                }
                for r in project.runs
            ]
        ),
        key="data_runs",
        downloads=False,
    )
    pick = st.selectbox(
        T("查看运行", "Show a run"),
        [r.id for r in project.runs],
        key="data_run",
        format_func=lambda i: f"{project.run(i).label} ({i})",
    )
    run = project.run(pick)
    rename_run_panel(project, pick)  # names unique in the project; 撤销 below
    with st.expander(T("请求与结果 (JSON)", "Request and results (JSON)")):
        st.json({"request": run.request, "summary": run.summary})
    if (
        not project.read_only
        and auth.can("editor")
        and st.button(T("删除此运行", "Delete this run"), key="data_run_del")
    ):
        guarded(delete_run, project, pick)
        refresh_project()
        st.rerun()
    undo_button(project, key="data_run_undo")  # 撤销 beside the change


def main() -> None:
    st.title(t("page_data"))
    project = project_or_stop()
    st.caption(
        md_text(
            f"{project.name} · {project.province}{project.city} ({project.adcode}) · "
            f"{project.crs_label()}"
        )
    )
    _layer_table(project)
    housekeeping_panel(project)  # rename, merge, zone edits, 撤销
    c1, c2 = st.columns(2)
    c1.caption(
        md_text(T("区县", "Districts") + ": " + ("、".join(project.district_names()) or "-"))
    )
    c2.caption(md_text(T("片区", "Zones") + ": " + ("、".join(project.zone_names()) or "-")))
    _records(project)
    _runs(project)
    if project.is_demo:
        st.subheader(t("sources"))
        st.text((DATA_DIR / "NOTICE").read_text(encoding="utf-8"))


main()
