"""The map page's data: each resource layer's frame (with district and zone), the layers
to draw, and their preparation in the background after an import (so the map page that
usually follows finds its frames and large-layer data files ready)."""

from __future__ import annotations

import contextvars
import logging
import threading

import geopandas as gpd
import streamlit as st

from layers.errors import InnoMapError
from layers.filters import LayerFilter, assign_zones, filter_layer
from layers.project import Project
from layers.registry import REGISTRY
from render.basemaps import BASEMAPS, make_basemap
from render.webmap import MapLayer, build_map, project_outline_layers
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


def signature(project: Project) -> tuple:
    """Cache key of the project's content (reference, version, layers and rows)."""
    return (project.ref, project.version, tuple((n, lyr.rows) for n, lyr in project.layers.items()))


def layer_frame(project: Project, name: str) -> gpd.GeoDataFrame:
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
def resource_frames(_project: Project, signature: tuple) -> dict[str, gpd.GeoDataFrame]:
    """Each resource layer (by name) with ``district``/``zone`` from the project's outlines."""
    order = {k: i for i, k in enumerate((*POINT_ORDER, *REGISTRY))}
    layers = sorted(_project.resource_layers(), key=lambda lyr: order.get(lyr.kind, 99))
    return {lyr.name: layer_frame(_project, lyr.name) for lyr in layers if lyr.rows}


def label(project: Project, name: str, L: str) -> str:
    lyr = project.layers[name]
    kind = REGISTRY[lyr.kind].name(L)
    return kind if lyr.name == lyr.kind else f"{lyr.name} ({kind})"


def first_view(project: Project, zone: str) -> tuple[float, float, float, float] | None:
    """WGS84 bounds to show first: the chosen zone, else the project's districts (else its data)."""
    z = project.zones
    if zone and len(z) and (z["name"].astype(str) == zone).any():
        return tuple(float(v) for v in z[z["name"].astype(str) == zone].total_bounds)
    try:
        return project.bounds()
    except InnoMapError:  # no districts and no data: frame on what is drawn
        return None


def map_layers(project: Project, shown: dict, labels: dict, zone: str, L: str, version) -> list:
    """Outline layers of the project (only the chosen zone), then the shown point layers.

    ``version`` (the project's signature, the filter and the searched record) tells the
    map that a large layer's data file can be reused."""
    out = project_outline_layers(project, zone=zone, lang=L)
    for name, g in shown.items():
        kind = project.layers[name].kind
        spec = REGISTRY[kind]
        out.append(MapLayer(name, labels[name], g, spec.color, "point", kind=kind, version=version))
    return out


def project_map(
    project: Project,
    shown: dict[str, gpd.GeoDataFrame],
    labels: dict[str, str],
    flt: LayerFilter,
    *,
    lang: str,
    basemap,
    focus: tuple[str, str] | None = None,
    legend_title: str = "",
):
    """The map page's folium map: outlines, then the shown point layers (large ones as data
    files named after the project's signature, the filter and the searched record)."""
    version = (signature(project), flt, focus)
    return build_map(
        map_layers(project, shown, labels, flt.zone, lang, version),
        basemap=basemap,
        lang=lang,
        focus=focus,
        fit_bounds=first_view(project, flt.zone),
        legend_title=legend_title,
        gl_data="files",
    )


def prepare_in_background(project: Project, *, lang: str) -> threading.Thread:
    """Build what the map page draws first (frames, large-layer data files for the default
    filter and basemap) in a background thread; the page then reuses them (the frames are
    a cached resource, the data files are named after the same version)."""

    def work() -> None:
        try:
            frames = resource_frames(project, signature(project))
            flt = LayerFilter()
            shown = {k: filter_layer(frames[k], flt) for k in frames}
            labels = {k: label(project, k, lang) for k in frames}
            basemap = make_basemap(next(iter(BASEMAPS)))  # the page's default choice
            project_map(project, shown, labels, flt, lang=lang, basemap=basemap)
        except (InnoMapError, OSError, ValueError) as exc:  # the page does the work itself
            logging.getLogger("innomap").warning("map preparation skipped: %s", exc)

    thread = threading.Thread(target=contextvars.copy_context().run, args=(work,), daemon=True)
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    add_script_run_ctx(thread, get_script_run_ctx())
    thread.start()
    return thread
