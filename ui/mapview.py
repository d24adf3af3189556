"""The map of a page: full width in the first viewport, and it keeps its view.

``streamlit_folium`` reports the map's centre and zoom after each pan or zoom;
:func:`show_map` keeps them in ``st.session_state`` per page and passes them back,
so a rerun (a widget changed, a new result, coming back from another page) shows
the same place. The view is dropped when what the map should frame changes
(``reset_on``: the project, a chosen zone, a searched record …).

The map runs in a fragment: a pan reruns the map alone, not the page's analyses.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable

import streamlit as st
from streamlit_folium import st_folium

__all__ = ["MAP_HEIGHT", "input_map", "saved_view", "show_map", "view_from_map"]

#: Map height (px): with the page title it fills a 1280×800 window below the toolbar.
MAP_HEIGHT = 600


def view_from_map(out: dict | None) -> tuple[tuple[float, float], int] | None:
    """``((lat, lon), zoom)`` reported by the map, or None before the map has reported.

    The component's first answer holds only defaults (no centre): not a view.
    """
    if not out:
        return None
    c, z = out.get("center"), out.get("zoom")
    if not c or z is None:
        return None
    try:
        return (float(c["lat"]), float(c["lng"])), int(z)
    except (KeyError, TypeError, ValueError):
        return None


def saved_view(page: str, reset_on: Hashable = ()) -> tuple[tuple[float, float], int] | None:
    """The view kept for ``page``, unless ``reset_on`` changed since it was kept."""
    kept = st.session_state.get(f"{page}_view")
    if not kept or kept[0] != reset_on:
        return None
    return kept[1]


@st.fragment
def _map_fragment(m, page: str, reset_on, height: int, returned: tuple, on_map) -> None:
    view = saved_view(page, reset_on)
    out = st_folium(
        copy.deepcopy(m),  # st_folium renames the map's elements: a second call needs a fresh copy
        key=f"{page}_map",
        height=height,
        use_container_width=True,
        returned_objects=["center", "zoom", *returned],
        center=list(view[0]) if view else None,
        zoom=view[1] if view else None,
    )
    got = view_from_map(out)
    if got is not None:
        st.session_state[f"{page}_view"] = (reset_on, got)
    if on_map is not None:
        on_map(out or {})


def show_map(
    m,
    *,
    page: str,
    reset_on: Hashable = (),
    height: int = MAP_HEIGHT,
    returned: tuple[str, ...] = (),
    on_map=None,
) -> None:
    """Show the folium map ``m`` of ``page`` with the page's kept view.

    Parameters
    ----------
    m : folium.Map
        The map (framed on its data; the kept view wins once the user moved it).
    page : str
        Short page key (``map``, ``cov`` …): the view is kept under ``<page>_view``.
    reset_on : hashable
        What the map frames (e.g. ``(project.ref, zone)``): a new value drops the view.
    height : int
        Height in pixels.
    returned : tuple of str
        More ``streamlit_folium`` objects to report (e.g. ``last_clicked``).
    on_map : callable, optional
        ``on_map(out)`` with the component's answer (clicks), inside the fragment.
    """
    st.markdown(_TOP_CSS, unsafe_allow_html=True)
    _map_fragment(m, page, reset_on, height, tuple(returned), on_map)


#: Less blank space above the page title, so the map starts higher (map pages only).
_TOP_CSS = (
    "<style>[data-testid='stMainBlockContainer']{padding-top:2.5rem}"
    "[data-testid='stMainBlockContainer'] h1{padding-top:0.25rem;padding-bottom:0.5rem}</style>"
)


def input_map(project, roles, *, page: str, legend_title: str) -> None:
    """The page's map before a run: project outlines and the chosen input layers."""
    from render.input_maps import input_map_layers, layers_bounds
    from render.webmap import build_map
    from ui.i18n import lang

    layers = input_map_layers(project, roles, lang())
    m = build_map(
        layers,
        lang=lang(),
        legend_title=legend_title,
        fit_bounds=layers_bounds(project, layers),
    )
    show_map(m, page=page, reset_on=(project.ref,))
