"""Map page: every layer of the current project on an offline map with filters, search and legend."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import streamlit as st

from layers.errors import InnoMapError
from layers.filters import LayerFilter, assign_zones, filter_layer, search_records
from layers.project import OUTLINE_KINDS, Project
from layers.registry import REGISTRY
from render.basemaps import BASEMAPS, BasemapError, make_basemap
from render.webmap import MapLayer, build_map
from ui.common import T
from ui.guide import first_run_guide
from ui.i18n import lang, t
from ui.mapview import show_map
from ui.state import current_project
from ui.tables import bar_chart
from workflows.common import assign_districts

#: Display order of the resource kinds (other kinds follow in registry order).
POINT_ORDER = (
    "universities",
    "platforms",
    "incubators",
    "science_venues",
    "enterprises",
    "communities",
)


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


def _signature(project: Project) -> tuple:
    """Cache key of the project's content (reference, version, layers and rows)."""
    return (project.ref, project.version, tuple((n, lyr.rows) for n, lyr in project.layers.items()))


def _layer_frame(project: Project, name: str) -> gpd.GeoDataFrame:
    """The records of layer ``name`` alone, with ``district``/``zone`` from the project.

    Not :func:`workflows.common.select_layers`: there a layer named like its kind (the
    demo's ``enterprises``) means every layer of that kind, which drew the records of
    the other layers of the kind twice.
    """
    g = project.layers[name].gdf.copy()
    g["layer"] = name
    if len(g) and g.geom_type.eq("Point").all():
        g["zone"] = assign_zones(g, project.zones)
        g["district"] = assign_districts(g, project.districts)
    if len(g) and "id" in g and not g["id"].is_unique:
        g["id"] = name + ":" + g["id"].astype(str)
    return g.reset_index(drop=True)


# a resource, not data: a rerun gets the same frames instead of an unpickled copy
# (seconds for a million rows); the page never changes them
@st.cache_resource(show_spinner=False, max_entries=4)
def _resource_frames(_project: Project, signature: tuple) -> dict[str, gpd.GeoDataFrame]:
    """Each resource layer (by name) with ``district``/``zone`` from the project's outlines."""
    order = {k: i for i, k in enumerate((*POINT_ORDER, *REGISTRY))}
    layers = sorted(_project.resource_layers(), key=lambda lyr: order.get(lyr.kind, 99))
    return {lyr.name: _layer_frame(_project, lyr.name) for lyr in layers if lyr.rows}


def _label(project: Project, name: str, L: str) -> str:
    lyr = project.layers[name]
    kind = REGISTRY[lyr.kind].name(L)
    return kind if lyr.name == lyr.kind else f"{lyr.name} ({kind})"


def _sidebar(project: Project, frames: dict, labels: dict) -> tuple[list, LayerFilter, object]:
    """The filter widgets: layers, subtype, level, project districts and zones, synthetic."""
    with st.sidebar:
        st.header(t("filters"))
        opts = list(frames)
        chosen = st.multiselect(
            t("layers"), opts, default=opts, format_func=labels.get, key="layers_sel"
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
    st.caption(f"{t('focus')}: {hit['name']} ({hit['lon']:.5f}, {hit['lat']:.5f})")
    return focus


def _frame(project: Project, zone: str) -> tuple[float, float, float, float] | None:
    """WGS84 bounds to show first: the chosen zone, else the project's districts (else its data)."""
    z = project.zones
    if zone and len(z) and (z["name"].astype(str) == zone).any():
        return tuple(float(v) for v in z[z["name"].astype(str) == zone].total_bounds)
    try:
        return project.bounds()
    except InnoMapError:  # no districts and no data: frame on what is drawn
        return None


def _map_layers(project: Project, shown: dict, labels: dict, zone: str, L: str, version) -> list:
    """Outline layers of the project (only the chosen zone), then the shown point layers.

    ``version`` (the project's signature, the filter and the searched record) tells the
    map that a large layer's data file can be reused."""
    out = []
    for kind in OUTLINE_KINDS:
        spec = REGISTRY[kind]
        for lyr in project.layers_of_kind(kind):
            g = lyr.gdf
            if kind == "zones" and zone:
                g = g[g["name"].astype(str) == zone]
            label = spec.name(L) if lyr.name == lyr.kind else lyr.name
            out.append(MapLayer(lyr.name, label, g, spec.color, spec.geometry, kind=kind))
    for name, g in shown.items():
        kind = project.layers[name].kind
        spec = REGISTRY[kind]
        out.append(MapLayer(name, labels[name], g, spec.color, "point", kind=kind, version=version))
    return out


def _counts(frames: dict, shown: dict, chosen: list, labels: dict) -> None:
    """Records per layer (filtered / total) as numbers and as bars."""
    tab_n, tab_chart = st.tabs([t("counts"), T("图表", "Chart")])
    with tab_n:
        per_row = 4
        for start in range(0, len(chosen), per_row):
            cols = st.columns(per_row)
            for col, k in zip(cols, chosen[start : start + per_row], strict=False):
                col.metric(labels[k], f"{len(shown[k]):,} / {len(frames[k]):,}")
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
        st.error(str(exc))
        return
    frames = _resource_frames(project, _signature(project))
    labels = {k: _label(project, k, L) for k in frames}
    first_run_guide(project, frames, labels)
    search_slot = st.sidebar.container()  # the search box first, above the filters
    chosen, flt, basemap = _sidebar(project, frames, labels)
    shown = {k: filter_layer(frames[k], flt) for k in chosen}
    focus = _search(frames, chosen, labels, shown, search_slot)
    if any(bool(g["synthetic"].any()) for g in shown.values() if "synthetic" in g and len(g)):
        st.warning(t("synthetic_banner"))
    version = (_signature(project), flt, focus)
    m = build_map(
        _map_layers(project, shown, labels, flt.zone, L, version),
        basemap=basemap,
        lang=L,
        focus=focus,
        fit_bounds=_frame(project, flt.zone),
        legend_title=f"{project.name} · {t('legend')}",
        gl_data="files",
    )
    show_map(m, page="main", reset_on=(project.ref, flt.zone, focus))
    _counts(frames, shown, chosen, labels)


main()
