"""Session project: embedded layers plus the user's layers, cached.

The embedded dataset is read once per process (``st.cache_data``); each session
keeps its own user layers in ``st.session_state`` so nothing one user loads
touches another's data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import streamlit as st

from layers.filters import assign_zones
from layers.readers import ReadResult, read_points_csv
from layers.registry import REGISTRY, load_layer
from layers.validation import LayerValidationError

__all__ = [
    "UserLayer",
    "add_user_layer",
    "embedded_layers",
    "project_layers",
    "remove_user_layer",
    "user_layers",
]

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
