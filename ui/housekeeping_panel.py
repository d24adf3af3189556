"""整理项目 on the data page: rename a layer, merge layers, edit a zone — each with 撤销 —
and rename a saved run beside the list of saved runs.

The panel is a guarded fragment (:mod:`ui.guard`): its forms rerun only the panel until
a change is made; then the whole page reruns on the reopened project. Every change goes
through :mod:`workflows.housekeeping` (role check, audit, one transaction, conflict
check against the version this page read).
"""

from __future__ import annotations

import streamlit as st

from layers import auth
from layers.project import Project
from layers.registry import REGISTRY, vocabulary
from ui.common import guarded
from ui.guard import guarded_fragment
from ui.i18n import T, lang, t
from ui.undo import as_seen, done, seen, show_message, undo_button
from workflows import housekeeping as hk

__all__ = ["housekeeping_panel", "rename_run_panel"]


def _label(project: Project, name: str) -> str:
    return f"{name} ({REGISTRY[project.layers[name].kind].name(lang())})"


def _rename(project: Project) -> None:
    with st.form("hk_rename_form"):
        old = st.selectbox(
            T("图层", "Layer"),
            list(project.layers),
            key="hk_rename_old",
            format_func=lambda n: _label(project, n),
        )
        new = st.text_input(T("新名称", "New name"), key="hk_rename_new")
        if st.form_submit_button(
            T("重命名", "Rename"), key="hk_rename_go", **seen(project, "hk_rename_go")
        ):
            result = guarded(hk.rename, as_seen(project, "hk_rename_go"), old, new)
            if result is not None:
                done(result.message(lang()))
    undo_button(project, key="hk_undo_rename")


def _merge(project: Project) -> None:
    with st.form("hk_merge_form"):
        names = st.multiselect(
            T("要合并的图层(同一类别)", "Layers to merge (one kind)"),
            list(project.layers),
            key="hk_merge_layers",
            format_func=lambda n: _label(project, n),
            placeholder=t("choose"),
        )
        new = st.text_input(T("合并后的图层名", "Name of the merged layer"), key="hk_merge_name")
        st.caption(
            T(
                "每一行都保留, 来源图层记在 source_layer 列",
                "Every row is kept; its source layer is in column source_layer",
            )
        )
        if st.form_submit_button(
            T("合并", "Merge"), key="hk_merge_go", **seen(project, "hk_merge_go")
        ):
            result = guarded(hk.merge, as_seen(project, "hk_merge_go"), names, name=new)
            if result is not None:
                done(result.message(lang()))
    undo_button(project, key="hk_undo_merge")


def _zone(project: Project) -> None:
    zones = project.zone_names()
    if not zones:
        st.caption(T("项目中没有片区", "The project has no zones"))
        return
    types = list(vocabulary(REGISTRY["zones"], "subtype"))
    with st.form("hk_zone_form"):
        zone = st.selectbox(T("片区", "Zone"), zones, key="hk_zone")
        current = dict(zip(zones, project.zones["subtype"].astype(str), strict=False)).get(zone)
        new = st.text_input(T("新名称(留空不改)", "New name (blank: keep)"), key="hk_zone_name")
        typ = st.selectbox(
            T("类型", "Type"),
            types,
            index=types.index(current) if current in types else 0,
            key="hk_zone_type",
        )
        if st.form_submit_button(
            T("保存片区", "Save the zone"), key="hk_zone_go", **seen(project, "hk_zone_go")
        ):
            result = guarded(
                hk.edit_zone,
                as_seen(project, "hk_zone_go"),
                zone,
                name=new.strip() or None,
                subtype=typ,
            )
            if result is not None:
                done(result.message(lang()))
    undo_button(project, key="hk_undo_zone")


@guarded_fragment
def housekeeping_panel(project: Project) -> None:
    """Rename, merge, zone edits and 撤销 (editors of a writable project)."""
    st.subheader(T("整理项目", "Tidy the project"))
    show_message()
    if project.read_only or project.is_demo or not auth.can("editor"):
        st.caption(
            T(
                "只读项目或查看者: 不能修改(另存为后可编辑)",
                "Read-only project or viewer: no changes (save as a copy to edit)",
            )
        )
        return
    tabs = st.tabs(
        [
            T("重命名图层", "Rename a layer"),
            T("合并图层", "Merge layers"),
            T("修改片区", "Edit a zone"),
        ]
    )
    with tabs[0]:
        _rename(project)
    with tabs[1]:
        _merge(project)
    with tabs[2]:
        _zone(project)


@guarded_fragment
def rename_run_panel(project: Project, run_id: str) -> None:
    """Rename the saved run ``run_id`` (editors of a writable project; names unique in the
    project; 撤销 is the saved-runs list's own button)."""
    if project.read_only or project.is_demo or not auth.can("editor"):
        return
    with st.form("run_rename_form"):
        new = st.text_input(
            T("新的运行名称", "New run name"),
            value=project.run(run_id).name,
            key=f"run_rename_new_{run_id}",
            help=T("名称在项目内唯一", "Names are unique in the project"),
        )
        if st.form_submit_button(
            T("重命名此运行", "Rename this run"),
            key="run_rename_go",
            **seen(project, "run_rename_go"),
        ):
            result = guarded(hk.rename_run, as_seen(project, "run_rename_go"), run_id, new)
            if result is not None:
                done(result.message(lang()))
