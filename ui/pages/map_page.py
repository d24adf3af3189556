"""Map page: every layer of the current project on an offline map with filters, search and legend."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from layers.errors import InnoMapError
from layers.filters import LayerFilter, filter_layer, search_records
from layers.project import Project
from layers.registry import REGISTRY
from render.basemaps import BASEMAPS, BasemapError, make_basemap
from ui.common import T, md_text
from ui.guide import first_run_guide
from ui.i18n import lang, t
from ui.map_data import label, project_map, resource_frames, signature
from ui.mapview import show_map
from ui.state import current_project
from ui.tables import bar_chart


def _basemap_controls():
    keys = list(BASEMAPS)
    choice = st.sidebar.selectbox(
        t("basemap"),
        keys,
        format_func=lambda k: " / ".join(dict.fromkeys(BASEMAPS[k])),
        key="basemap_key",
    )
    kwargs = {}
    if choice == "tianditu":
        kwargs["tianditu_key"] = st.sidebar.text_input(t("tianditu_key"), type="password")
    if choice == "custom":
        kwargs["custom_url"] = st.sidebar.text_input(
            t("custom_url"), placeholder="https://example.com/{z}/{x}/{y}.png"
        )
        kwargs["custom_crs"] = st.sidebar.selectbox(t("custom_crs"), ["WGS84", "GCJ-02"])
        kwargs["custom_attribution"] = st.sidebar.text_input(t("custom_attr"))
    if choice != "none":
        st.sidebar.caption(t("online_note"))
    if choice == "amap":
        st.sidebar.caption(t("gcj_note"))
    try:
        return make_basemap(choice, **kwargs)
    except BasemapError as exc:
        st.sidebar.warning(str(exc))
        return make_basemap("none")


def _sidebar(project: Project, frames: dict, labels: dict) -> tuple[list, LayerFilter, object]:
    """The filter widgets: layers, subtype, level, project districts and zones, synthetic."""
    with st.sidebar:
        st.header(t("filters"))
        opts = list(frames)
        chosen = st.multiselect(
            t("layers"),
            opts,
            default=opts,
            format_func=labels.get,
            key="layers_sel",
            placeholder=t("choose"),
        )
        specs = [REGISTRY[project.layers[k].kind] for k in chosen]
        subtype_opts = sorted({s for spec in specs for s in spec.subtypes})
        subtypes = st.multiselect(
            t("subtype"), subtype_opts, key="subtype_sel", placeholder=t("all")
        )
        level_opts = list(dict.fromkeys(lv for spec in specs for lv in spec.levels))
        levels = st.multiselect(t("level"), level_opts, key="level_sel", placeholder=t("all"))
        districts = st.multiselect(
            t("district"), project.district_names(), key="district_sel", placeholder=t("all")
        )
        zone = st.selectbox(
            t("zone"),
            ["", *project.zone_names()],
            format_func=lambda z: z or "全部 / All",
            key="zone_sel",
        )
        include_synth = st.checkbox(t("include_synthetic"), value=True, key="synth_sel")
        basemap = _basemap_controls()
    flt = LayerFilter(tuple(subtypes), tuple(levels), tuple(districts), zone, include_synth)
    return chosen, flt, basemap


def _search(frames: dict, chosen: list, labels: dict, shown: dict, slot):
    """Name search (in ``slot``, atop the sidebar) over every chosen layer; returns the record
    to focus (kept visible)."""
    with slot:
        return _search_box(frames, chosen, labels, shown)


def _search_box(frames: dict, chosen: list, labels: dict, shown: dict):
    query = st.text_input(t("search"), placeholder=t("search_hint"), key="search_q")
    if not query:
        return None
    hits = search_records({k: frames[k] for k in chosen}, query)
    if hits.empty:
        st.info(t("no_hits"))
        return None
    pick = st.selectbox(
        t("search_pick"),
        list(range(len(hits))),
        format_func=lambda i: f"{hits.loc[i, 'name']} · {labels.get(hits.loc[i, 'layer'], '')}",
        key="search_pick",
    )
    hit = hits.loc[pick]
    focus = (str(hit["layer"]), str(hit["id"]))
    lk = focus[0]
    if not shown[lk]["id"].astype(str).eq(focus[1]).any():  # keep the hit visible
        row = frames[lk][frames[lk]["id"].astype(str) == focus[1]]
        shown[lk] = pd.concat([shown[lk], row])
    st.caption(md_text(f"{t('focus')}: {hit['name']} ({hit['lon']:.5f}, {hit['lat']:.5f})"))
    return focus


def _counts(frames: dict, shown: dict, chosen: list, labels: dict) -> None:
    """Records per layer (filtered / total) as numbers and as bars."""
    tab_n, tab_chart = st.tabs([t("counts"), T("图表", "Chart")])
    with tab_n:
        per_row = 4
        for start in range(0, len(chosen), per_row):
            cols = st.columns(per_row)
            for col, k in zip(cols, chosen[start : start + per_row], strict=False):
                col.metric(md_text(labels[k]), f"{len(shown[k]):,} / {len(frames[k]):,}")
    with tab_chart:
        data = pd.DataFrame(
            {"kind": [labels[k] for k in chosen], "size": [len(shown[k]) for k in chosen]}
        )
        bar_chart(data, index="kind", value="size", horizontal=True)


def main() -> None:
    L = lang()
    st.title(t("app_title"))
    try:
        project = current_project()
    except InnoMapError as exc:
        st.error(md_text(exc))
        return
    frames = resource_frames(project, signature(project))
    labels = {k: label(project, k, L) for k in frames}
    first_run_guide(project, frames, labels)
    search_slot = st.sidebar.container()  # the search box first, above the filters
    chosen, flt, basemap = _sidebar(project, frames, labels)
    shown = {k: filter_layer(frames[k], flt) for k in chosen}
    focus = _search(frames, chosen, labels, shown, search_slot)
    if any(bool(g["synthetic"].any()) for g in shown.values() if "synthetic" in g and len(g)):
        st.warning(t("synthetic_banner"))
    legend = f"{project.name} · {t('legend')}"
    show_map(
        lambda: project_map(
            project, shown, labels, flt, lang=L, basemap=basemap, focus=focus, legend_title=legend
        ),
        page="main",
        key=(project, tuple(chosen), flt, focus, L, basemap, legend),  # built once for these
        reset_on=(project.ref, flt.zone, focus),
        shared=True,  # every session showing these layers uses the same map
    )
    _counts(frames, shown, chosen, labels)


main()
