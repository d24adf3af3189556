"""The app's symbology for files handed on: a colour per layer kind and per subtype.

The kind colours are the app's own (:attr:`layers.registry.LayerSpec.color`, the colours
of the web map and the print maps); each subtype of a kind gets a shade of its kind's
colour (darker to lighter in the registry's subtype order), so a 奥维/Google Earth KML
and a QGIS project read like the app's maps. Outline kinds (districts, zones, corridor
axes) keep the print maps' styles (:data:`export.maps.OUTLINE_STYLE`).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import pandas as pd
from matplotlib.colors import to_hex, to_rgb

from layers.registry import REGISTRY
from settings import STREET_LEVEL_PRECISION_M

__all__ = [
    "OUTLINE_COLORS",
    "Symbol",
    "imprecise_mask",
    "kind_color",
    "layer_symbols",
    "subtype_colors",
]

#: Outline colours as on the print maps (districts dark grey, zones and axes their kind's).
OUTLINE_COLORS = {
    "districts": "#444444",
    "zones": REGISTRY["zones"].color,
    "corridor_axes": REGISTRY["corridor_axes"].color,
}
_OTHER = "#777777"


@dataclass(frozen=True)
class Symbol:
    """One class of a layer's symbology.

    Attributes
    ----------
    key : str
        A stable identifier (``kind``, ``kind.3`` for the 4th subtype, ``kind.other``).
    value : str or None
        The subtype it stands for (``None``: every row of the layer / other subtypes).
    label : str
        The legend label (Chinese).
    color : str
        ``#rrggbb``.
    geometry : {"point", "line", "polygon"}
    """

    key: str
    value: str | None
    label: str
    color: str
    geometry: str


def kind_color(kind: str) -> str:
    """The app's colour of a layer kind (grey for an unknown kind)."""
    if kind in OUTLINE_COLORS:
        return OUTLINE_COLORS[kind]
    spec = REGISTRY.get(kind)
    return spec.color if spec else _OTHER


def subtype_colors(kind: str) -> dict[str, str]:
    """``{subtype: #rrggbb}``: shades of the kind's colour, in the registry's subtype order."""
    spec = REGISTRY.get(kind)
    if spec is None or len(spec.subtypes) < 2:
        return {s: kind_color(kind) for s in (spec.subtypes if spec else ())}
    h, lum, s = colorsys.rgb_to_hls(*to_rgb(kind_color(kind)))
    n = len(spec.subtypes)
    lo, hi = max(0.18, lum - 0.22), min(0.78, lum + 0.25)
    return {
        sub: to_hex(colorsys.hls_to_rgb(h, lo + (hi - lo) * i / (n - 1), s))
        for i, sub in enumerate(spec.subtypes)
    }


def layer_symbols(kind: str, gdf) -> list[Symbol]:
    """The classes of a layer: one per subtype present (points of a resource kind), else one.

    Subtypes outside the registry's list share one "其他" class in the kind's colour.
    """
    spec = REGISTRY.get(kind)
    geometry = (
        spec.geometry
        if spec
        else ("polygon" if gdf.geom_type.str.contains("Polygon").any() else "point")
    )
    if kind in OUTLINE_COLORS or spec is None or "subtype" not in gdf.columns:
        label = spec.name_zh if spec else kind
        return [Symbol(kind, None, label, kind_color(kind), geometry)]
    present = set(gdf["subtype"].dropna().astype(str))
    colors = subtype_colors(kind)
    out = [
        Symbol(f"{kind}.{i}", sub, sub, colors[sub], geometry)
        for i, sub in enumerate(spec.subtypes)
        if sub in present
    ]
    if present - set(spec.subtypes) or gdf["subtype"].isna().any() or not out:
        out.append(
            Symbol(f"{kind}.other", None, f"{spec.name_zh} (其他)", kind_color(kind), geometry)
        )
    return out


def imprecise_mask(gdf) -> pd.Series:
    """Rows whose position is coarser than street level (``coord_precision_m`` above
    ``settings.STREET_LEVEL_PRECISION_M``): drawn hollow, as in the app."""
    if "coord_precision_m" not in gdf.columns:
        return pd.Series(False, index=gdf.index)
    prec = pd.to_numeric(gdf["coord_precision_m"], errors="coerce").fillna(0.0)
    return prec > STREET_LEVEL_PRECISION_M
