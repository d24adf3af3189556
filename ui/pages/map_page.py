"""Map page: every layer on an offline map with filters, search and legend."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from layers.filters import LayerFilter, filter_layer, search_records
from layers.registry import REGISTRY
from ui.basemaps import BASEMAPS, BasemapError, make_basemap
from ui.i18n import lang, t
from ui.map_builder import MapLayer, build_map
from ui.state import project_layers, user_layers

POINT_ORDER = (
    "universities",
    "platforms",
    "incubators",
    "science_venues",
    "enterprises",
    "communities",
)
OUTLINES = ("districts", "zones", "corridor_axes")


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


def main() -> None:
    L = lang()
    st.title(t("app_title"))
    layers = project_layers()
    extra = user_layers()
    for err in st.session_state.get("user_layer_errors", []):
        st.error(f"{t('extra_layer_error')}: {err}")

    with st.sidebar:
        st.header(t("filters"))
        layer_opts = list(POINT_ORDER) + [u.key for u in extra]
        labels = {k: REGISTRY[k].name(L) for k in POINT_ORDER}
        labels.update({u.key: f"{u.label} ({REGISTRY[u.layer_key].name(L)})" for u in extra})
        chosen = st.multiselect(
            t("layers"), layer_opts, default=layer_opts, format_func=labels.get, key="layers_sel"
        )
        kinds_for_opts = [REGISTRY[k] for k in chosen if k in REGISTRY] + [
            REGISTRY[u.layer_key] for u in extra if u.key in chosen
        ]
        subtype_opts = sorted({s for spec in kinds_for_opts for s in spec.subtypes})
        subtypes = st.multiselect(
            t("subtype"), subtype_opts, key="subtype_sel", placeholder=t("all")
        )
        level_opts = list(REGISTRY["incubators"].levels)
        levels = st.multiselect(t("level"), level_opts, key="level_sel", placeholder=t("all"))
        district_opts = sorted(layers["districts"]["name"].tolist())
        districts = st.multiselect(
            t("district"), district_opts, key="district_sel", placeholder=t("all")
        )
        zone_opts = ["", *layers["zones"]["name"].tolist()]
        zone = st.selectbox(
            t("zone"), zone_opts, format_func=lambda z: z or "全部 / All", key="zone_sel"
        )
        include_synth = st.checkbox(t("include_synthetic"), value=True, key="synth_sel")
        basemap = _basemap_controls()

    flt = LayerFilter(tuple(subtypes), tuple(levels), tuple(districts), zone, include_synth)
    shown = {k: filter_layer(layers[k], flt) for k in chosen}

    query = st.text_input(t("search"), placeholder=t("search_hint"), key="search_q")
    focus = None
    if query:
        # search every chosen layer, not only what the filters leave visible
        hits = search_records({k: layers[k] for k in chosen}, query)
        if hits.empty:
            st.info(t("no_hits"))
        else:
            options = list(range(len(hits)))
            pick = st.selectbox(
                t("search_pick"),
                options,
                format_func=lambda i: (
                    f"{hits.loc[i, 'name']} · {labels.get(hits.loc[i, 'layer'], '')}"
                ),
                key="search_pick",
            )
            hit = hits.loc[pick]
            focus = (str(hit["layer"]), str(hit["id"]))
            lk = focus[0]
            if not shown[lk]["id"].eq(focus[1]).any():  # keep the hit visible despite filters
                row = layers[lk][layers[lk]["id"] == focus[1]]
                shown[lk] = pd.concat([shown[lk], row])
            st.caption(f"{t('focus')}: {hit['name']} ({hit['lon']:.5f}, {hit['lat']:.5f})")

    any_synth = any(bool(g["synthetic"].any()) for g in shown.values() if len(g))
    if any_synth:
        st.warning(t("synthetic_banner"))

    st.caption(t("counts"))
    per_row = 4
    for start in range(0, len(chosen), per_row):
        cols = st.columns(per_row)
        for col, k in zip(cols, chosen[start : start + per_row], strict=False):
            col.metric(labels[k], f"{len(shown[k])} / {len(layers[k])}")

    map_layers = []
    for k in OUTLINES:
        spec = REGISTRY[k]
        gdf = layers[k]
        if k == "zones" and zone:
            gdf = gdf[gdf["name"] == zone]
        map_layers.append(MapLayer(k, spec.name(L), gdf, spec.color, spec.geometry))
    for k in chosen:
        spec = REGISTRY.get(k) or REGISTRY[next(u.layer_key for u in extra if u.key == k)]
        color = spec.color if k in REGISTRY else "#e377c2"
        map_layers.append(MapLayer(k, labels[k], shown[k], color, spec.geometry))
    zsel = layers["zones"] if not zone else layers["zones"][layers["zones"]["name"] == zone]
    m = build_map(
        map_layers, basemap=basemap, lang=L, focus=focus, fit_bounds=tuple(zsel.total_bounds)
    )
    st_folium(
        m,
        key="main_map",
        height=640,
        use_container_width=True,
        returned_objects=[],
    )


main()
