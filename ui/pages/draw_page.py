"""绘制片区与轴线 / Draw zones and axes: draw, edit and delete zones and corridor axes on the map.

Editors only (``app.py``). Out of edit mode the page is a plain map of the project's outlines
(the map returns no drawings). In edit mode the chosen layer's shapes sit in the
Leaflet.draw toolbar's editable group (vendored, offline: :mod:`render.drawing`); the map
then returns every shape (``all_drawings``), the table below lists them with a name and a
type to fill in, and 保存 writes the layer through :mod:`workflows.drawing` (the import's
checks, unique zone names, the basemap's GCJ-02 converted back to WGS84).

The editor (map, table, save) is one guarded fragment (:mod:`ui.guard`): the map's answer
reruns it alone (``st.rerun("draw_editor")`` from the map's callback), never the page.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from layers import auth
from layers.errors import InnoMapError
from layers.project import Project
from layers.registry import REGISTRY, vocabulary
from render.basemaps import BASEMAPS, BasemapError, make_basemap
from render.drawing import drawing_map
from render.webmap import project_outline_layers
from ui.common import guarded, md_text, project_or_stop
from ui.guard import guarded_fragment
from ui.i18n import T, lang, t
from ui.mapview import show_map
from workflows import drawing as dw

_MESSAGE = "draw_message"
#: The last drawings the map reported (a new answer reruns the editor).
_SEEN = "draw_seen"
#: ``(kind, layer)`` to select on the next run (the layer just saved).
_PICK = "draw_pick"
#: ``(project ref, version)`` right after this page's last save (撤销 is offered then).
_SAVED = "draw_saved_version"
#: Basemaps offered here (those needing a key or an address are on the map page).
_BASEMAPS = tuple(k for k in BASEMAPS if k not in ("tianditu", "custom"))


def _basemap():
    key = st.sidebar.selectbox(
        t("basemap"),
        _BASEMAPS,
        format_func=lambda k: " / ".join(dict.fromkeys(BASEMAPS[k])),
        key="draw_basemap",
    )
    if key == "amap":
        st.sidebar.caption(
            T(
                "高德底图为 GCJ-02: 图形按 GCJ-02 显示, 保存前转换回 WGS84。",
                "AMap is GCJ-02: shapes are shown in GCJ-02 and converted back to WGS84 when saved.",
            )
        )
    try:
        return make_basemap(key)
    except BasemapError as exc:
        st.sidebar.warning(md_text(exc))
        return make_basemap("none")


def _target(project: Project) -> tuple[str, str]:
    """The kind drawn and the layer edited (an existing one or a new name)."""
    kind = st.radio(
        T("绘制内容", "Draw"),
        dw.DRAWABLE_KINDS,
        format_func=lambda k: (
            T("片区(面)", "Zones (polygons)")
            if k == "zones"
            else T("走廊轴线(线)", "Corridor axes (lines)")
        ),
        horizontal=True,
        key="draw_kind",
    )
    names = [lyr.name for lyr in project.layers_of_kind(kind)]
    new = T("新图层…", "New layer…")
    pick = st.session_state.pop(_PICK, None)
    if pick and pick[0] == kind and pick[1] in names:
        st.session_state[f"draw_layer_{kind}"] = pick[1]  # the layer just saved
    pick = st.selectbox(T("图层", "Layer"), [*names, new], key=f"draw_layer_{kind}")
    if pick != new:
        return kind, pick
    default = T("绘制片区", "Drawn zones") if kind == "zones" else T("绘制轴线", "Drawn axes")
    name = st.text_input(T("新图层名称", "New layer name"), value=default, key=f"draw_new_{kind}")
    return kind, name.strip() or default


def _sig(geom) -> str:
    return hashlib.sha1(geom.wkb).hexdigest()[:16]


def _shape_inputs(no: int, r, spec, sig: str) -> tuple[str, str]:
    """One shape's row: number and state, its name and its type (open: a new type is kept
    as 其他 with its spelling, as in imports)."""
    c0, c1, c2 = st.columns([2, 3, 2])
    c0.markdown(md_text(f"**{no}** · {r['state']}"))
    name = c1.text_input(
        T(f"图形 {no} 名称", f"Shape {no} name"), value=str(r["name"]), key=f"draw_name_{sig}"
    )
    options = list(dict.fromkeys([*vocabulary(spec, "subtype"), str(r["subtype"])]))
    sub = c2.selectbox(
        T(f"图形 {no} 类型", f"Shape {no} type"),
        options,
        index=options.index(str(r["subtype"])),
        key=f"draw_type_{sig}",
        accept_new_options=True,
    )
    return name, str(sub or "")


def _edit_table(drawings: dw.Drawings, kind: str) -> pd.DataFrame:
    """Name and type of every shape on the map (typed values are kept per shape)."""
    spec = REGISTRY[kind]
    rows = []
    for i, r in drawings.shapes.iterrows():
        sig = _sig(r.geometry) if r["row"] < 0 else f"row{r['row']}"
        name, sub = _shape_inputs(int(i) + 1, r, spec, sig)
        rows.append({"name": name, "type": sub})
    return pd.DataFrame(rows, columns=["name", "type"])


def _save(project: Project, kind: str, layer: str, drawings, edited, view, overlay: str):
    shapes = drawings.shapes.copy()
    shapes["name"] = list(edited["name"].fillna(""))
    shapes["subtype"] = list(edited["type"].fillna(""))
    got = dw.Drawings(shapes=shapes, deleted=drawings.deleted)
    zoom = view.get("zoom") if view else None
    res = guarded(
        dw.save_drawings,
        project,
        kind=kind,
        layer=layer,
        drawings=got,
        zoom=zoom,
        overlay_crs=overlay,
    )
    if res is None:
        return
    from ui.state import refresh_project

    st.session_state[_MESSAGE] = _saved_text(res)
    after = refresh_project()
    st.session_state[_SAVED] = (after.ref, after.version)
    st.session_state[_PICK] = (kind, res.layer)
    st.session_state.pop(_SEEN, None)
    st.rerun()


def _saved_text(res: dw.DrawResult) -> str:
    if res.removed_layer:
        return T(
            f"图层 {res.layer} 的图形已全部删除, 图层已移除",
            f"Every shape of {res.layer} was deleted: the layer was removed",
        )
    text = T(
        f"已保存到图层 {res.layer}: 新增 {res.added}, 修改 {res.edited}, 删除 {res.deleted}",
        f"Saved to layer {res.layer}: {res.added} added, {res.edited} edited, "
        f"{res.deleted} deleted",
    )
    return " ".join([text, *res.notes])


@guarded_fragment(key="draw_editor")
def _editor(project: Project, kind: str, layer: str, basemap, edit: bool) -> None:
    """Map, shapes table and save: the map's answer reruns only this fragment."""
    L = lang()
    old = project.layers.get(layer)
    editable = None
    if edit:
        editable = old.gdf if old is not None else _empty(project, kind)
    context = [m for m in project_outline_layers(project, lang=L) if not (edit and m.key == layer)]

    def build():
        try:
            bounds = project.bounds()
        except InnoMapError:
            bounds = None
        return drawing_map(
            context, kind=kind, editable=editable, basemap=basemap, lang=L, fit_bounds=bounds
        )

    answer: dict = {}
    show_map(
        build,
        page="draw",
        key=(project.ref, project.version, kind, layer, basemap.key, edit, L),
        reset_on=(project.ref,),
        returned=("all_drawings",) if edit else (),
        on_map=answer.update,
        on_change=_on_drawing if edit else None,
    )
    if not edit:
        st.caption(
            T(
                "打开“编辑模式”后即可绘制、修改和删除图形。",
                "Turn on edit mode to draw, edit and delete shapes.",
            )
        )
        return
    _shapes_panel(project, kind, layer, editable, basemap, answer)


def _on_drawing(out: dict) -> None:
    """The map's callback: a new drawing reruns the editor (table and save); a pan or zoom
    only the map (the default), so a widget changed meanwhile is not held back."""
    drawings = out.get("all_drawings")
    if drawings is not None and drawings != st.session_state.get(_SEEN):
        st.session_state[_SEEN] = drawings
        st.rerun("draw_editor")


def _empty(project: Project, kind: str):
    return project.kind_frame(kind).iloc[:0]


def _shapes_panel(project, kind, layer, editable, basemap, answer: dict) -> None:
    drawings = dw.read_drawings(
        answer.get("all_drawings"),
        editable if layer in project.layers else None,
        kind=kind,
        overlay_crs=basemap.overlay_crs,
    )
    st.caption(
        T(
            "用地图左侧的工具栏画面或线, 在下表填写名称和类型后保存; 编辑/删除按钮修改已有图形。",
            "Draw with the toolbar on the map's left, fill in names and types below, then save; "
            "the edit / delete buttons change existing shapes.",
        )
    )
    if drawings.deleted:
        st.caption(
            T(
                f"待删除的图形: {len(drawings.deleted)} 个",
                f"Shapes to delete: {len(drawings.deleted)}",
            )
        )
    edited = _edit_table(drawings, kind)
    if st.button(
        T("保存到项目", "Save to project"),
        key="draw_save",
        type="primary",
        disabled=drawings.shapes.empty and not drawings.deleted,
    ):
        _save(project, kind, layer, drawings, edited, answer, basemap.overlay_crs)


def _after_save(project: Project) -> None:
    """The message of the last save, and 撤销 (:mod:`ui.undo`) while the project is as that
    save left it (the button stays for the run that answers its click)."""
    from ui.undo import show_message, undo_button

    show_message()  # an undo made from here says what it undid
    msg = st.session_state.pop(_MESSAGE, None)
    if msg:
        st.success(md_text(msg))
    if st.session_state.get(_SAVED) == (project.ref, project.version):
        undo_button(project, key="draw_undo")


def main() -> None:
    st.title(T("绘制片区与轴线", "Draw zones and axes"))
    project = project_or_stop()
    _after_save(project)
    if project.read_only or not auth.can("editor"):
        st.info(
            T(
                "示例项目或只读项目不能绘制: 请先“另存为”一个项目(编辑者角色)。",
                "The demo or a read-only project cannot be drawn on: save it as a project first "
                "(editor role).",
            )
        )
        st.stop()
    basemap = _basemap()
    c1, c2 = st.columns([3, 1])
    with c1:
        kind, layer = _target(project)
    with c2:
        edit = st.toggle(T("编辑模式", "Edit mode"), key="draw_edit")
    _editor(project, kind, layer, basemap, edit)


main()
