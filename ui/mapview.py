"""The map of a page: full width in the first viewport, built once, and it keeps its view.

``streamlit_folium``'s component reports the map's centre and zoom after each pan or
zoom; :func:`show_map` keeps them in ``st.session_state`` per page and passes them back,
so a rerun (a widget changed, a new result, coming back from another page) shows the
same place. The view is dropped when what the map should frame changes (``reset_on``:
the project, a chosen zone, a searched record …).

The map is drawn inside a guarded fragment (:func:`ui.guard.guarded_fragment`): the
component's report of its view reruns only that fragment, never the page (a sidebar list
opened meanwhile stays open, a click elsewhere is not lost).

The map is built and serialised once per ``key`` (what it shows: the project version,
layers, filters, the result …): the component's arguments are kept per page in the
session and sent again as they are on every rerun with the same key.

While the same map stays on screen it keeps the view it was drawn with: a run
answering a pan (the user may have panned on since) never moves it back.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st
import streamlit_folium

import settings
from ui.guard import guarded_fragment

__all__ = [
    "MAP_HEIGHT",
    "folium_payload",
    "input_map",
    "map_signature",
    "saved_view",
    "show_map",
    "view_from_map",
]

#: Map height (px): with the page title it fills a 1280×800 window below the toolbar (its
#: bottom edge where a 600 px map ended while a 0 px style element and its gap stood above).
MAP_HEIGHT = 616


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


def _arguments(sig: str, page: str, reset_on):
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
    mount = st.session_state.get(f"mapview_{page}_mount")
    if mount is not None and mount[0] == sig and answering:
        return mount[1]
    view = saved_view(page, reset_on)
    st.session_state[f"mapview_{page}_mount"] = (sig, view)
    return view


def folium_payload(m) -> dict[str, Any]:
    """The ``streamlit_folium`` component's arguments for the folium map ``m`` (which it
    renames: pass a map drawn nowhere else), as :func:`streamlit_folium.st_folium` makes
    them (``tests/test_mapview.py`` checks they stay the same)."""
    sf = streamlit_folium
    m.get_root().render()
    m.render()
    html, header = sf._get_html(m), sf._get_header(m)
    script = sf._get_map_string(m)
    (s, w), (n, e) = m.get_bounds()
    links = [el for el in _walk(m) if hasattr(el, "default_js") or hasattr(el, "default_css")]
    return {
        "script": script,
        "header": header,
        "html": html,
        "id": sf.get_full_id(m),
        "bounds": {"_southWest": {"lat": s, "lng": w}, "_northEast": {"lat": n, "lng": e}},
        "zoom": m.options.get("zoom"),
        "css_links": list(dict.fromkeys(h for el in links for _, h in el.default_css)),
        "js_links": list(dict.fromkeys(h for el in links for _, h in el.default_js)),
    }


def _walk(el):
    yield el
    for c in getattr(el, "_children", {}).values():
        yield from _walk(c)


def _same(a, b) -> bool:
    """``a`` and ``b`` are the same key: element-wise, objects by identity or plain equality
    (a result object with data frames is the same only as itself)."""
    if a is b:
        return True
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    try:
        return bool(a == b) is True and type(a) is type(b)
    except (ValueError, TypeError):  # data frames, arrays: no single truth value
        return False


def _payload(m, page: str, key: Hashable | None, shared: bool) -> dict[str, Any]:
    """The component's arguments for the page's map: built and serialised once per ``key``.

    The entry keeps ``key`` (and so the objects in it) alive, so an object compared by
    identity cannot be replaced by another one at the same address."""
    slot = f"mapview_{page}_built"
    if key is None:  # a built map: its content is the key
        m = m() if callable(m) else m
        key = ("content", map_signature(m))
    held = st.session_state.get(slot)
    if held is not None and _same(held[0], key):
        return held[1]
    payload = _shared(page, key) if shared else None
    if payload is None:
        fig = m() if callable(m) else copy.deepcopy(m)  # the payload renames the elements
        payload = folium_payload(fig)
        payload["widget_key"] = hashlib.sha256(
            (re.sub(r"(_[a-z0-9]+)", "", payload["script"]) + page).encode()
        ).hexdigest()
        if shared:
            _share(page, key, payload)
    st.session_state[slot] = (key, payload)
    return payload


#: Payloads shared by the sessions of this process, newest first: ``(page, key, payload)``.
#: A session reaches one only with the same key (the same project object, layers, filters,
#: result, language), after the page's guard let it see that project.
_SHARED: list[tuple[str, Any, dict]] = []
_SHARED_LOCK = threading.Lock()


def _shared(page: str, key) -> dict | None:
    with _SHARED_LOCK:
        for i, (p, k, payload) in enumerate(_SHARED):
            if p == page and _same(k, key):
                _SHARED.insert(0, _SHARED.pop(i))
                return payload
    return None


def _share(page: str, key, payload: dict) -> None:
    with _SHARED_LOCK:
        _SHARED.insert(0, (page, key, payload))
        del _SHARED[settings.MAP_SHARED_ENTRIES :]


def _component(payload: dict, page: str, view, height: int, returned: tuple, on_change):
    """The ``st_folium`` component with ``payload`` (the tail of ``st_folium``)."""
    key = f"{page}_map"
    widget = payload["widget_key"]
    objects = ["center", "zoom", *returned]
    defaults = {"bounds": payload["bounds"], "zoom": payload["zoom"]}
    defaults.update({k: None for k in returned if k not in defaults})

    def changed() -> None:
        st.session_state[key] = st.session_state.get(widget, {})
        if on_change is not None:
            on_change(st.session_state[key])

    return streamlit_folium._component_func(
        script=payload["script"],
        header=payload["header"],
        html=payload["html"],
        id=payload["id"],
        key=widget,
        height=height,
        width=None,
        returned_objects=objects,
        default={k: v for k, v in defaults.items() if k in objects},
        zoom=view[1] if view else None,
        center=list(view[0]) if view else None,
        feature_group=None,
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=payload["css_links"],
        js_links=payload["js_links"],
        on_change=changed,
        wrap_longitude=False,
    )


@guarded_fragment
def _map_fragment(payload, page: str, reset_on, height: int, returned: tuple, on_map, on_change):
    """The map alone: its report of the view reruns this fragment, not the page."""
    view = _arguments(payload["widget_key"], page, reset_on)
    out = _component(payload, page, view, height, returned, on_change)
    if on_map is not None:
        on_map(out or {})


def show_map(
    m,
    *,
    page: str,
    key: Hashable | None = None,
    reset_on: Hashable = (),
    height: int = MAP_HEIGHT,
    returned: tuple[str, ...] = (),
    on_map: Callable[[dict], None] | None = None,
    on_change: Callable[[dict], None] | None = None,
    shared: bool = False,
    tight_top: bool = True,
) -> None:
    """Show the folium map of ``page`` with the page's kept view, built once per ``key``.

    Parameters
    ----------
    m : folium.Map or callable
        The map (framed on its data; the kept view wins once the user moved it), or a
        function without arguments that builds it (called only when ``key`` changed).
    page : str
        Short page key (``main``, ``cov`` …): the view is kept under ``mapview_<page>_view``.
    key : hashable, optional
        What the map shows (project, layers, filters, the result object, language …):
        while it stays the same the map is neither built nor serialised again. Objects in
        it compare by identity unless they compare equal. None: the map's content.
    reset_on : hashable
        What the map frames (e.g. ``(project.ref, zone)``): a new value drops the view.
    height : int
        Height in pixels.
    returned : tuple of str
        More ``streamlit_folium`` objects to report (e.g. ``last_clicked``).
    on_map : callable, optional
        ``on_map(out)`` with the component's answer, in the map's fragment run.
    on_change : callable, optional
        ``on_change(out)`` as a callback when the map reports something new (a click), before
        the rerun: it may name the fragment to rerun (``st.rerun("<fragment key>")``).
    shared : bool
        Share the built map with the other sessions of this process that show the same
        ``key`` (a project's layers; not a session's own result, which would stay in memory).
    tight_top : bool
        Less blank space above the page's title (a page whose map is its main content).
        False for a map that appears further down only later (the import preview): the
        page would move up under the user's pointer when it appears.
    """
    st.html((_TOP_CSS if tight_top else "") + _reserve_css(page, height))  # style only: no space
    payload = _payload(m, page, key, shared)
    with st.container(height=height, border=False, key=_box_key(page)):
        _map_fragment(payload, page, reset_on, height, tuple(returned), on_map, on_change)


def _box_key(page: str) -> str:
    return f"mapbox_{page}"


def _reserve_css(page: str, height: int) -> str:
    """The map's box (a container of exactly ``height``) clips what it holds and draws the
    component's frame as a block. Streamlit draws a loading placeholder, then the frame —
    0 px tall until its script has run, then as tall as the placeholder, for a moment beside
    it: the box keeps everything below the map in place meanwhile (a click aimed at it is
    not lost on a moving target), without a scroll bar, and no line gap under the frame
    makes it scroll afterwards."""
    box = f".st-key-{re.sub(r'[^a-zA-Z0-9_-]', '-', _box_key(page))}"  # as Streamlit
    return f"<style>{box}{{overflow:hidden}}{box} iframe{{min-height:{int(height)}px;display:block}}</style>"


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

    L = lang()

    def build():
        layers = input_map_layers(project, roles, L)
        return build_map(
            layers,
            lang=L,
            legend_title=legend_title,
            fit_bounds=layers_bounds(project, layers),
            gl_data="files",
        )

    key = ("input", project, tuple(roles), L, legend_title)
    show_map(build, page=page, key=key, reset_on=(project.ref,), shared=True)
