"""``compare.png``: the maps of two saved runs side by side, same extent, CRS and legend.

Each side is a print map (:func:`export.printmap.render_print_map`) of the run's stored
layers (:mod:`render.run_layers` styles, the same for both sides) over the project's
outlines, drawn with the same WGS84 extent (the union of both runs' layers) and the same
metric CRS; the two sheets are then put side by side in one PNG. Nothing is computed:
the frames are given.
"""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np

import settings
from export.maps import outline_layers
from export.printmap import PrintError, PrintLayer, render_print_map
from layers.project import Project
from render.run_layers import drawing_order, run_layer_styles

__all__ = ["compare_extent", "compare_png", "run_print_layers"]


def run_print_layers(frames: dict[str, gpd.GeoDataFrame], *, names=None) -> list[PrintLayer]:
    """Print layers of a run's stored frames (WGS84), bottom first.

    ``names``: every layer name of the comparison, so both sides get the same colours.
    Layers a web map hides at first (isochrones, the input demand …) are left out.
    """
    styles = run_layer_styles(names if names is not None else frames)
    out = []
    for name, geom in drawing_order(frames, styles):
        st = styles[name]
        if not st.show:  # drawn again by another layer (isochrones, the input demand)
            continue
        style = {"fill_alpha": 0.3, "zorder": 3} if geom == "polygon" else {"size": 8, "zorder": 6}
        out.append(
            PrintLayer(
                st.label_zh,
                frames[name],
                geom,
                st.color,
                categories=_covered_categories(frames[name]),
                style=style,
            )
        )
    return out


def _covered_categories(gdf: gpd.GeoDataFrame) -> tuple | None:
    """Demand coloured by whether the last cut-off covers it (``covered_<minutes>``)."""
    cols = [c for c in gdf.columns if str(c).startswith("covered_")]
    if not cols:
        return None
    try:
        col = max(cols, key=lambda c: float(str(c)[len("covered_") :]))
    except ValueError:
        return None
    cut = str(col)[len("covered_") :]
    return (
        col,
        {True: ("#2b83ba", f"已覆盖 ({cut} 分钟)"), False: ("#d7191c", f"未覆盖 ({cut} 分钟)")},
    )


def compare_extent(*frame_sets: dict[str, gpd.GeoDataFrame]) -> tuple[float, float, float, float]:
    """WGS84 bounds holding every non-empty frame of every run."""
    b = np.array([g.to_crs(4326).total_bounds for fs in frame_sets for g in fs.values() if len(g)])
    if not len(b):
        raise PrintError("两个运行都没有保存的图层 / neither run has stored layers to draw")
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())


def compare_png(
    project: Project,
    sides: list[tuple[str, dict[str, gpd.GeoDataFrame], list[str]]],
    *,
    title: str,
    dpi: int | None = None,
) -> bytes:
    """The PNG of two (or more) runs side by side.

    ``sides``: ``(subtitle, stored frames, notes)`` per run, left to right. Every side
    is drawn with the same extent, CRS and layer styles (one legend entry per layer).
    """
    from PIL import Image

    dpi = int(dpi or settings.COMPARE_DPI)
    names = [n for _, frames, _ in sides for n in frames]
    extent = compare_extent(*(frames for _, frames, _ in sides))
    crs = project.metric_crs()
    images = []
    for subtitle, frames, notes in sides:
        png = render_print_map(
            [*outline_layers(project), *run_print_layers(frames, names=names)],
            title=title,
            subtitle=subtitle,
            paper="A4",
            orientation="portrait",
            dpi=dpi,
            crs=crs,
            extent=extent,
            notes=notes,
        )
        images.append(Image.open(io.BytesIO(png)).convert("RGB"))
    w = sum(im.width for im in images)
    h = max(im.height for im in images)
    sheet = Image.new("RGB", (w, h), "white")
    x = 0
    for im in images:
        sheet.paste(im, (x, 0))
        x += im.width
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", dpi=(dpi, dpi))
    return buf.getvalue()
