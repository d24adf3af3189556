"""The map of a page: full width in the first viewport, and it keeps its view.

``streamlit_folium`` reports the map's centre and zoom after each pan or zoom;
:func:`show_map` keeps them in ``st.session_state`` per page and passes them back,
so a rerun (a widget changed, a new result, coming back from another page) shows
the same place. The view is dropped when what the map should frame changes
(``reset_on``: the project, a chosen zone, a searched record …).

While the same map stays on screen it keeps the view it was drawn with: a run
answering a pan (the user may have panned on since) never moves it back.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Hashable

import streamlit as st
from streamlit_folium import st_folium

__all__ = ["MAP_HEIGHT", "input_map", "map_signature", "saved_view", "show_map", "view_from_map"]

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
    kept = st.session_state.get(f"mapview_{page}_view")
    if not kept or kept[0] != reset_on:
        return None
    return kept[1]


def map_signature(m) -> str:
    """A digest of what the folium map ``m`` draws (element ids left out: they are random)."""
    ids: dict[str, str] = {}

    def collect(el) -> None:
        ids.setdefault(el._id, str(len(ids)))
        for c in el._children.values():
            collect(c)

    collect(m)
    h = hashlib.sha1()

    def walk(el) -> None:
        h.update(type(el).__name__.encode())
        for k, v in sorted(vars(el).items()):
            if k in _SKIP or not isinstance(v, (str, int, float, bool, tuple, list, dict)):
                continue
            h.update(k.encode())
            if isinstance(v, str) and len(v) > 65536:  # a data payload: no element ids in it
                h.update(v.encode("utf-8", "surrogatepass"))
            else:
                h.update(_HEX.sub(lambda g: ids.get(g.group(), g.group()), repr(v)).encode())
        for c in el._children.values():
            walk(c)

    walk(m)
    return h.hexdigest()


_SKIP = {"_id", "_parent", "_children", "_env", "_template"}
_HEX = re.compile(r"[0-9a-f]{32}")


def _arguments(m, page: str, reset_on):
    """The view to pass to ``st_folium`` this run.

    A view the map reported is kept. A map drawn anew (other content, or the page
    opened again) is given the kept view; while the same map stays on screen it is
    given the same view as when it was drawn, so a run answering the map (the user
    may have moved on since) never moves it back.
    """
    reported = st.session_state.get(f"{page}_map")
    stamp = json.dumps(reported, sort_keys=True, default=str)
    answering = stamp != st.session_state.get(f"mapview_{page}_seen")
    st.session_state[f"mapview_{page}_seen"] = stamp
    got = view_from_map(reported)
    if answering and got is not None:
        st.session_state[f"mapview_{page}_view"] = (reset_on, got)
    sig = map_signature(m)
    mount = st.session_state.get(f"mapview_{page}_mount")
    if mount is not None and mount[0] == sig and answering:
        return mount[1]
    view = saved_view(page, reset_on)
    st.session_state[f"mapview_{page}_mount"] = (sig, view)
    return view


def _draw(m, page: str, reset_on, height: int, returned: tuple, on_map) -> None:
    view = _arguments(m, page, reset_on)
    out = st_folium(
        copy.deepcopy(m),  # st_folium renames the map's elements: a second call needs a copy
        key=f"{page}_map",
        height=height,
        use_container_width=True,
        returned_objects=["center", "zoom", *returned],
        center=list(view[0]) if view else None,
        zoom=view[1] if view else None,
    )
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
        Short page key (``main``, ``cov`` …): the view is kept under ``mapview_<page>_view``.
    reset_on : hashable
        What the map frames (e.g. ``(project.ref, zone)``): a new value drops the view.
    height : int
        Height in pixels.
    returned : tuple of str
        More ``streamlit_folium`` objects to report (e.g. ``last_clicked``).
    on_map : callable, optional
        ``on_map(out)`` with the component's answer (clicks).
    """
    st.markdown(_TOP_CSS, unsafe_allow_html=True)
    _draw(m, page, reset_on, height, tuple(returned), on_map)


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
        gl_data="files",
    )
    show_map(m, page=page, reset_on=(project.ref,))
