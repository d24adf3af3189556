"""Session project: which project this session works on, opened once per change.

The current project reference (``demo`` or a ``.gpkg`` path on the server) lives
in ``st.session_state["project_ref"]``; the opened :class:`~layers.project.Project`
is cached per (reference, file modification time), so every page of every
session sees a change as soon as it is committed, and nothing is re-read when
nothing changed. Pages treat the returned project as read-only and call the
store functions (``layers.project``) to change it, then :func:`refresh_project`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import streamlit as st

from layers.filters import assign_zones
from layers.project import DEMO_REF, Project, open_project
from layers.readers import ReadResult, read_points_csv
from layers.registry import REGISTRY, load_layer
from layers.validation import LayerValidationError

__all__ = [
    "UserLayer",
    "add_user_layer",
    "current_project",
    "embedded_layers",
    "layer_choices",
    "layer_label",
    "project_layers",
    "project_ref",
    "refresh_project",
    "remove_user_layer",
    "set_project",
    "user_layers",
]

#: Environment variable naming the project opened by default (else the demo).
PROJECT_ENV = "INNOMAP_PROJECT"


def _stamp(ref: str) -> tuple[int, int]:
    try:
        st_ = os.stat(ref)
    except OSError:
        return (0, 0)
    return (st_.st_mtime_ns, st_.st_size)


@st.cache_resource(show_spinner=False, max_entries=8)
def _open_cached(ref: str, stamp: tuple[int, int]) -> Project:
    return open_project(ref)


def project_ref() -> str:
    """The reference of the session's project (default: ``$INNOMAP_PROJECT`` or the demo)."""
    if "project_ref" not in st.session_state:
        st.session_state["project_ref"] = os.environ.get(PROJECT_ENV) or DEMO_REF
    return st.session_state["project_ref"]


def current_project() -> Project:
    """The session's project (shared, read-only object: change it via ``layers.project``)."""
    ref = project_ref()
    return _open_cached(ref, _stamp(ref) if ref != DEMO_REF else (0, 0))


def set_project(ref: str) -> Project:
    """Open ``ref`` (raises ``ProjectError`` if it cannot be opened) and make it current."""
    ref = str(ref)
    project = _open_cached(ref, _stamp(ref) if ref != DEMO_REF else (0, 0))
    st.session_state["project_ref"] = ref
    return project


def refresh_project() -> Project:
    """Re-open the current project after a change (the cache key is the file's mtime)."""
    return current_project()


def layer_choices(project: Project, kinds: tuple[str, ...] | list[str]) -> list[str]:
    """Widget options for a role: the kinds present (all layers of that kind), then layer names.

    A value is a layer reference understood by ``workflows.common.select_layers``.
    """
    out = [k for k in kinds if project.layers_of_kind(k)]
    out += [name for name, lyr in project.layers.items() if lyr.kind in kinds and name not in out]
    return out


def layer_label(project: Project, ref: str, lang: str = "zh") -> str:
    """Display label of a layer reference (kind name with count, or layer name and file)."""
    if ref in REGISTRY and ref not in project.layers:
        n = sum(lyr.rows for lyr in project.layers_of_kind(ref))
        return f"{REGISTRY[ref].name(lang)} ({'全部' if lang == 'zh' else 'all'}, {n:,})"
    lyr = project.layers.get(ref)
    if lyr is None:
        return ref
    spec = REGISTRY[lyr.kind]
    src = f" · {lyr.source_file}" if lyr.source_file and lyr.name != lyr.kind else ""
    label = spec.name(lang) if lyr.name == lyr.kind else lyr.name
    return f"{label} ({lyr.rows:,}){src}"


# ---- legacy session layers (to be replaced by the project) ----
#: Environment variable listing extra canonical CSV layers: "layer_key=path;…".
EXTRA_ENV = "INNOMAP_EXTRA_LAYERS"


@dataclass
class UserLayer:
    """A layer the user added (file name kept for display, escaped when drawn)."""

    key: str
    layer_key: str
    label: str
    gdf: gpd.GeoDataFrame
    rejected: pd.DataFrame


@st.cache_data(show_spinner=False)
def embedded_layers() -> dict[str, gpd.GeoDataFrame]:
    """All embedded layers (WGS84) with a ``zone`` column on point layers."""
    layers = {k: load_layer(k) for k in REGISTRY}
    zones = layers["zones"]
    for key, spec in REGISTRY.items():
        if spec.geometry == "point":
            layers[key]["zone"] = assign_zones(layers[key], zones)
    return layers


@st.cache_data(show_spinner=False, max_entries=16)
def _read_extra(path: str, layer_key: str, mtime: float) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    res: ReadResult = read_points_csv(path, layer_key=layer_key)
    gdf = res.valid
    gdf["zone"] = assign_zones(gdf, embedded_layers()["zones"])
    return gdf, res.rejected


def _load_extra() -> tuple[list[UserLayer], list[str]]:
    spec = os.environ.get(EXTRA_ENV, "").strip()
    out, errors = [], []
    if not spec:
        return out, errors
    for n, item in enumerate(x for x in spec.split(";") if x.strip()):
        layer_key, _, path = (s.strip() for s in item.partition("="))
        try:
            mtime = os.path.getmtime(path) if os.path.exists(path) else 0.0
            gdf, rejected = _read_extra(path, layer_key, mtime)
        except (LayerValidationError, ValueError) as exc:
            errors.append(str(exc))
            continue
        label = os.path.basename(path)
        out.append(UserLayer(f"user:{n}", layer_key, label, gdf.copy(), rejected))
    return out, errors


def user_layers() -> list[UserLayer]:
    """The session's user layers (extra layers from the environment on first use)."""
    if "user_layers" not in st.session_state:
        layers, errors = _load_extra()
        st.session_state["user_layers"] = layers
        st.session_state["user_layer_errors"] = errors
    return st.session_state["user_layers"]


def project_layers() -> dict[str, gpd.GeoDataFrame]:
    """Embedded layers plus the session's user layers (keyed ``user:<n>``)."""
    base = dict(embedded_layers())
    for ul in user_layers():
        base[ul.key] = ul.gdf
    return base


def add_user_layer(
    layer_key: str,
    label: str,
    gdf: gpd.GeoDataFrame,
    rejected: pd.DataFrame,
    *,
    replace: str | None = None,
) -> str:
    """Add (or replace) a user layer in this session; returns its key. Embedded data is untouched."""
    layers = user_layers()
    g = gdf.copy()
    if (g.geom_type == "Point").all() and len(g):
        g["zone"] = assign_zones(g, embedded_layers()["zones"])
    if replace is not None:
        for i, ul in enumerate(layers):
            if ul.key == replace:
                layers[i] = UserLayer(replace, layer_key, label, g, rejected)
                return replace
    n = 1 + max([int(u.key.split(":")[1]) for u in layers] or [0])
    key = f"user:{n}"
    layers.append(UserLayer(key, layer_key, label, g, rejected))
    return key


def remove_user_layer(key: str) -> None:
    """Remove a user layer from this session."""
    st.session_state["user_layers"] = [u for u in user_layers() if u.key != key]
