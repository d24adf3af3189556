"""Web-map layers of an analysis page's inputs, shown before anything is computed.

A page's map is on screen from the start (the map is the page): before a run it
shows the project outlines and the layers the widgets have chosen, one map layer
per role (service points, demand, existing incubators …). No Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.errors import InnoMapError
from layers.project import Project
from layers.registry import REGISTRY
from layers.selection import select_layers
from render.analysis_maps import outline_map_layers
from render.webmap import MapLayer

__all__ = ["Role", "input_map_layers", "layers_bounds"]


@dataclass(frozen=True)
class Role:
    """One input of an analysis: a map-layer key, its label and the layer references."""

    key: str
    label: str
    refs: tuple[str, ...]
    color: str | None = None


def _kind(project: Project, ref: str) -> str | None:
    base = ref.partition(":")[0]
    if base in project.layers:
        return project.layers[base].kind
    return base if base in REGISTRY else None


def input_map_layers(project: Project, roles: list[Role], lang: str = "zh") -> list[MapLayer]:
    """Outlines, then the points of each role (a role that cannot be read is left out)."""
    out = outline_map_layers(project, lang)
    for role in roles:
        refs = [r for r in role.refs if r]
        if not refs:
            continue
        try:
            g = select_layers(project, refs).gdf
        except InnoMapError:
            continue
        kind = _kind(project, refs[0])
        color = role.color or (REGISTRY[kind].color if kind in REGISTRY else "#555555")
        out.append(MapLayer(role.key, role.label, g, color, "point", kind=kind or ""))
    return out


def layers_bounds(
    project: Project, layers: list[MapLayer]
) -> tuple[float, float, float, float] | None:
    """WGS84 bounds of the point layers drawn (else the project's)."""
    pts = [lyr.gdf for lyr in layers if lyr.geometry == "point" and len(lyr.gdf)]
    if not pts:
        try:
            return project.bounds()
        except InnoMapError:
            return None
    xs = [g.total_bounds for g in pts]
    return (
        float(min(b[0] for b in xs)),
        float(min(b[1] for b in xs)),
        float(max(b[2] for b in xs)),
        float(max(b[3] for b in xs)),
    )
