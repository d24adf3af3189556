"""How the stored layers of a saved run are drawn: one style per layer name, the same on
the web map of a reopened run and on the print maps of ``compare`` (so two runs of one
analysis side by side share colours and legend entries).

A saved run keeps its result layers under their workflow names (``demand``,
``coverage_areas``, ``sites`` …) and its inputs as ``input:<role>``
(:mod:`workflows.runs`); a name not listed here gets a colour of :data:`PALETTE` by its
place in the sorted names.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd

from render.webmap import MapLayer

__all__ = ["PALETTE", "RunLayerStyle", "drawing_order", "run_layer_styles", "run_map_layers"]

#: Colours of layers with no style of their own.
PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")


@dataclass(frozen=True)
class RunLayerStyle:
    """Label (zh/en), colour, geometry and drawing order of one stored layer."""

    label_zh: str
    label_en: str
    color: str
    order: int  # polygons first (0), then lines (1), points (2), inputs on top (3)
    show: bool = True

    def label(self, lang: str = "zh") -> str:
        return self.label_en if lang == "en" else self.label_zh


_STYLES = {
    "blind_spots": RunLayerStyle("服务盲区", "Blind spots", "#7f7f7f", 0),
    "isochrones": RunLayerStyle("等时圈", "Isochrones", "#91cf60", 0, show=False),
    "coverage_areas": RunLayerStyle("服务范围", "Service areas", "#1a9850", 0),
    "gaps": RunLayerStyle("覆盖缺口", "Coverage gaps", "#e31a1c", 0),
    "catchments": RunLayerStyle("新址服务范围", "New sites' catchments", "#2c7fb8", 0),
    "clusters": RunLayerStyle("簇范围", "Cluster hulls", "#ff7f00", 0),
    "cells": RunLayerStyle("热点网格", "Hot-spot cells", "#d7191c", 0),
    "band": RunLayerStyle("剖面带", "Profile band", "#9ecae1", 0),
    "bins": RunLayerStyle("剖面分段", "Profile bins", "#6baed6", 0),
    "axis": RunLayerStyle("轴线", "Axis", "#08306b", 1),
    "demand": RunLayerStyle("需求点", "Demand", "#2b83ba", 2),
    "points": RunLayerStyle("资源点", "Points", "#4d4d4d", 2),
    "sites": RunLayerStyle("新址", "New sites", "#08519c", 3),
    "input:services": RunLayerStyle("服务点", "Service points", "#6a3d9a", 3),
    "input:demand": RunLayerStyle("需求 (输入)", "Demand (input)", "#2b83ba", 2, show=False),
    "input:existing": RunLayerStyle("现有孵化器", "Existing incubators", "#e41a1c", 3),
    "input:candidates": RunLayerStyle("候选点", "Candidates", "#bdbdbd", 2, show=False),
    "input:points": RunLayerStyle("资源点 (输入)", "Points (input)", "#4d4d4d", 2, show=False),
}


def _geometry(gdf: gpd.GeoDataFrame) -> str:
    types = set(gdf.geom_type.dropna()) if len(gdf) else set()
    if types & {"Polygon", "MultiPolygon"}:
        return "polygon"
    if types & {"LineString", "MultiLineString"}:
        return "line"
    return "point"


def run_layer_styles(names) -> dict[str, RunLayerStyle]:
    """The style of each stored layer name (the same for the same names in any run)."""
    out, spare = {}, 0
    for name in sorted(set(names)):
        style = _STYLES.get(name)
        if style is None:
            role = name.split(":", 1)[-1]
            style = RunLayerStyle(name, name, PALETTE[spare % len(PALETTE)], 2, show=role == name)
            spare += 1
        out[name] = style
    return out


def drawing_order(frames: dict[str, gpd.GeoDataFrame], styles: dict) -> list[tuple[str, str]]:
    """``(name, geometry)`` of the non-empty frames, bottom first (polygons, lines, points)."""
    geo = {n: _geometry(g) for n, g in frames.items() if g is not None and len(g)}
    rank = {"polygon": 0, "line": 1, "point": 2}
    return sorted(geo.items(), key=lambda kv: (max(rank[kv[1]], styles[kv[0]].order), kv[0]))


def run_map_layers(
    frames: dict[str, gpd.GeoDataFrame], *, lang: str = "zh", names=None
) -> list[MapLayer]:
    """Web-map layers of a saved run's stored frames (WGS84), bottom first.

    ``names``: the names whose colours must agree (e.g. both runs of a comparison).
    """
    styles = run_layer_styles(names if names is not None else frames)
    out = []
    for name, geom in drawing_order(frames, styles):
        st = styles[name]
        style = {"fillOpacity": 0.3, "weight": 1} if geom == "polygon" else {}
        fields = tuple(c for c in frames[name].columns if c != "geometry")[:8]
        out.append(
            MapLayer(
                f"run_{name}",
                st.label(lang),
                frames[name],
                st.color,
                geom,
                show=st.show,
                fields=fields,
                style=style,
                kind="run",
            )
        )
    return out
