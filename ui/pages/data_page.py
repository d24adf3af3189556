"""Layers & sources page: what each layer holds, where it comes from, its licence."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from layers.registry import DATA_DIR, REGISTRY, project_sources
from layers.schema import field_label
from ui.i18n import lang, t
from ui.state import embedded_layers, user_layers


def main() -> None:
    L = lang()
    st.title(t("page_data"))
    layers = embedded_layers()
    st.warning(t("synthetic_banner"))
    st.subheader(t("layer_table"))
    table = project_sources(layers)
    table["sources"] = table["sources"].map(lambda s: "; ".join(s))
    st.dataframe(table, hide_index=True, width="stretch")

    st.subheader(t("records"))
    key = st.selectbox(
        t("choose_layer"),
        list(REGISTRY),
        format_func=lambda k: REGISTRY[k].name(L),
        key="data_layer",
    )
    gdf = layers[key]
    view = pd.DataFrame(gdf.drop(columns="geometry"))
    if REGISTRY[key].geometry == "point":
        view.insert(2, "lon", gdf.geometry.x.round(6))
        view.insert(3, "lat", gdf.geometry.y.round(6))
    view.columns = [field_label(c, L) for c in view.columns]
    st.dataframe(view, hide_index=True, width="stretch", height=360)

    for ul in user_layers():
        st.subheader(f"{ul.label} ({REGISTRY[ul.layer_key].name(L)})")
        st.dataframe(pd.DataFrame(ul.gdf.drop(columns="geometry")), hide_index=True)
        if len(ul.rejected):
            st.caption(t("rejected_rows"))
            st.dataframe(ul.rejected, hide_index=True)

    st.subheader(t("sources"))
    notice = Path(DATA_DIR / "NOTICE").read_text(encoding="utf-8")
    st.text(notice)


main()
