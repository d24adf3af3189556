"""Print-quality maps (PNG/PDF/SVG) with matplotlib: title, legend of exactly what is
drawn, scale bar, north arrow, coordinate system, sources, date and honesty notes.

Maps are drawn in a metric CRS (chosen from the data unless given). Chinese text
uses the Noto Sans CJK SC face (:mod:`render.fonts`), embedded in PDFs.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import shapely
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrow, Patch, Rectangle
from pyproj import CRS

import settings
from layers.crs import choose_metric_crs
from layers.errors import InnoMapError
from render.fonts import cjk_font, setup_fonts

__all__ = [
    "PAPER_MM",
    "PrintError",
    "PrintLayer",
    "check_dpi",
    "fetch_tiles",
    "paper_size_px",
    "render_print_map",
]

WEB_MERCATOR_HALF = 20037508.342789244

PAPER_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
FORMATS = ("png", "pdf", "svg")


class PrintError(InnoMapError):
    """Raised for a bad paper, format or empty map."""


@dataclass
class PrintLayer:
    """One layer of a print map.

    Attributes
    ----------
    label : str
        Legend label.
    gdf : geopandas.GeoDataFrame
        Features (any CRS with a CRS set).
    geometry : {"point", "polygon", "line"}
    color : str
    categories : tuple (column, {value: (color, label)}), optional
        Colour features by a column; each used value gets a legend entry.
    label_field : str, optional
        Field whose text labels the features (real records only; overlaps avoided).
    style : dict
        ``size``, ``alpha``, ``linewidth``, ``linestyle``, ``facecolor``, ``edgecolor``, ``zorder``.
    sources : tuple of str
        Source file names of the features (printed in the footer when the layer is drawn).
    """

    label: str
    gdf: gpd.GeoDataFrame
    geometry: str = "point"
    color: str = "#555555"
    categories: tuple | None = None
    label_field: str | None = None
    style: dict = field(default_factory=dict)
    sources: tuple[str, ...] = ()


def check_dpi(dpi) -> int:
    """``dpi`` as an int when it is a whole number in ``settings.PRINT_DPI_MIN`` –
    ``settings.PRINT_DPI_MAX`` (the one check of a print resolution: print maps, reports).

    Raises
    ------
    PrintError
        Naming the value and the range.
    """
    lo, hi = settings.PRINT_DPI_MIN, settings.PRINT_DPI_MAX
    try:
        ok = float(dpi).is_integer() and lo <= int(dpi) <= hi
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise PrintError(
            f"dpi 应为 {lo}–{hi} 的整数 / dpi must be a whole number {lo}–{hi}, got {dpi}"
        )
    return int(dpi)


def paper_size_px(paper: str, orientation: str, dpi: int) -> tuple[int, int]:
    """Pixel size (width, height) of a page."""
    w, h = _paper_inches(paper, orientation)
    return int(w * dpi), int(h * dpi)  # matplotlib truncates


def _paper_inches(paper: str, orientation: str) -> tuple[float, float]:
    if paper not in PAPER_MM:
        raise PrintError(f"不支持的纸张 / unsupported paper {paper!r}: use A4 or A3")
    if orientation not in ("portrait", "landscape"):
        raise PrintError(
            f"方向应为 portrait 或 landscape / orientation must be portrait or landscape, got {orientation!r}"
        )
    a, b = PAPER_MM[paper]
    w, h = (b, a) if orientation == "landscape" else (a, b)
    return w / 25.4, h / 25.4


def _nice_length(max_m: float) -> float:
    exp = 10 ** math.floor(math.log10(max_m))
    for m in (5, 2, 1):
        if m * exp <= max_m:
            return m * exp
    return exp


def fetch_tiles(
    url_template: str,
    bounds_3857: tuple[float, float, float, float],
    *,
    width_px: int,
    subdomains: str = "",
    timeout_s: float = 10.0,
    max_tiles: int = 256,
):
    """Download and stitch XYZ tiles covering ``bounds_3857``; returns ``(rgb_array, extent)``.

    The zoom is chosen so the mosaic has about ``width_px`` pixels across.

    Raises
    ------
    PrintError
        When a tile cannot be fetched (offline, bad URL, bad key) — the message says so.
    """
    import urllib.error
    import urllib.request

    from PIL import Image

    x0, y0, x1, y1 = bounds_3857
    world = 2 * WEB_MERCATOR_HALF
    z = int(np.clip(np.floor(np.log2(width_px / 256 * world / max(x1 - x0, 1.0))), 0, 19))
    while True:
        n = 2**z
        tx0 = int((x0 + WEB_MERCATOR_HALF) / world * n)
        tx1 = int((x1 + WEB_MERCATOR_HALF) / world * n)
        ty0 = int((WEB_MERCATOR_HALF - y1) / world * n)
        ty1 = int((WEB_MERCATOR_HALF - y0) / world * n)
        if (tx1 - tx0 + 1) * (ty1 - ty0 + 1) <= max_tiles or z == 0:
            break
        z -= 1
    mosaic = Image.new("RGB", ((tx1 - tx0 + 1) * 256, (ty1 - ty0 + 1) * 256), "white")
    for i, tx in enumerate(range(tx0, tx1 + 1)):
        for j, ty in enumerate(range(ty0, ty1 + 1)):
            url = (
                url_template.replace("{z}", str(z)).replace("{x}", str(tx)).replace("{y}", str(ty))
            )
            if subdomains:
                url = url.replace("{s}", subdomains[(tx + ty) % len(subdomains)])
            req = urllib.request.Request(
                url, headers={"User-Agent": "InnoMap/0.1 (planning print map)"}
            )
            try:
                with urllib.request.urlopen(req, timeout=timeout_s) as r:
                    tile = Image.open(io.BytesIO(r.read())).convert("RGB")
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise PrintError(
                    f"底图瓦片下载失败(可能未联网) / basemap tiles could not be fetched ({type(exc).__name__}): "
                    "choose no basemap when offline"
                ) from None
            mosaic.paste(tile.resize((256, 256)), (i * 256, j * 256))
    size = world / n
    extent = (
        -WEB_MERCATOR_HALF + tx0 * size,
        -WEB_MERCATOR_HALF + (tx1 + 1) * size,
        WEB_MERCATOR_HALF - (ty1 + 1) * size,
        WEB_MERCATOR_HALF - ty0 * size,
    )
    return np.asarray(mosaic), extent


def _scale_bar(ax, extent, font, *, ground_per_unit: float = 1.0):
    x0, x1, y0, y1 = extent
    width = (x1 - x0) * ground_per_unit
    length = _nice_length(width / 4) / ground_per_unit
    bx, by = x0 + width * 0.04, y0 + (y1 - y0) * 0.04
    h = (y1 - y0) * 0.008
    for i in range(4):
        ax.add_patch(
            Rectangle(
                (bx + i * length / 4, by),
                length / 4,
                h,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                lw=0.6,
                zorder=30,
            )
        )
    ground = length * ground_per_unit
    unit = (
        (lambda v: f"{v * ground_per_unit / 1000:.3g} km")
        if ground >= 1000
        else (lambda v: f"{v * ground_per_unit:.3g} m")
    )
    for v in (0, length / 2, length):
        ax.text(
            bx + v, by + h * 1.8, unit(v), ha="center", va="bottom", fontproperties=font, zorder=30
        )


def _north_arrow(ax, extent, font):
    x0, x1, y0, y1 = extent
    x = x1 - (x1 - x0) * 0.05
    y = y1 - (y1 - y0) * 0.16
    L = (y1 - y0) * 0.08
    ax.add_patch(
        FancyArrow(
            x,
            y,
            0,
            L,
            width=L * 0.12,
            head_width=L * 0.38,
            head_length=L * 0.4,
            length_includes_head=True,
            color="black",
            zorder=30,
        )
    )
    ax.text(x, y + L * 1.08, "北 N", ha="center", va="bottom", fontproperties=font, zorder=30)


def _overlaps(bb, placed) -> bool:
    return any(bb.overlaps(p) for p in placed)


def _labels(ax, fig, items, font, max_labels=80):
    """Place text labels avoiding overlaps (greedy over 8 positions around each point)."""
    renderer = fig.canvas.get_renderer()
    placed = []
    offsets = [
        (6, 4, "left", "bottom"),
        (-6, 4, "right", "bottom"),
        (6, -4, "left", "top"),
        (-6, -4, "right", "top"),
        (0, 8, "center", "bottom"),
        (0, -8, "center", "top"),
        (8, 0, "left", "center"),
        (-8, 0, "right", "center"),
    ]
    n = 0
    for x, y, text in items:
        if n >= max_labels:
            break
        for dx, dy, ha, va in offsets:
            t = ax.annotate(
                text,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontproperties=font,
                zorder=25,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
            )
            bb = t.get_window_extent(renderer).expanded(1.05, 1.1)
            if _overlaps(bb, placed):
                t.remove()
                continue
            placed.append(bb)
            n += 1
            break


def render_print_map(*args, **kwargs) -> bytes:
    """Render a print map: see :func:`_render_print_map` for the parameters.

    All text is plain text: ``$`` and ``$…$`` in a title, label, legend entry or note
    are drawn as typed (:func:`plain_text_matplotlib`: mathtext and TeX off for every text
    artist), and control characters in the titles are shown as spaces.
    """
    for key in ("title", "subtitle", "legend_title"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = _plain(kwargs[key])
    plain_text_matplotlib()
    return _render_print_map(*args, **kwargs)


def plain_text_matplotlib() -> None:
    """Make every matplotlib text artist created from now on plain text: no mathtext
    (``$…$``) and no TeX. Set process-wide, like the fonts (:func:`render.fonts.setup_fonts`):
    every label of InnoMap's figures is data (names, titles), never a formula; a
    temporary ``rc_context`` would also undo the fonts that set-up makes inside it."""
    matplotlib.rcParams["text.parse_math"] = False
    matplotlib.rcParams["text.usetex"] = False


def _plain(text: str) -> str:
    """``text`` without control characters (spaces instead; line breaks kept)."""
    return "".join(c if c >= " " or c == "\n" else " " for c in text)


def _render_print_map(
    layers: list[PrintLayer],
    *,
    title: str,
    subtitle: str = "",
    paper: str | None = None,
    orientation: str | None = None,
    dpi: int | None = None,
    fmt: str = "png",
    crs: CRS | str | int | None = None,
    extent: tuple[float, float, float, float] | None = None,
    sources: list[str] | None = None,
    notes: list[str] | None = None,
    legend_title: str = "图例 Legend",
    as_of: str | None = None,
    basemap=None,
    legend_notes: list[str] | None = None,
) -> bytes:
    """Render a print map and return the file bytes.

    Parameters
    ----------
    layers : list of PrintLayer
        Drawn in order (bottom first).
    title, subtitle : str
    paper : {"A4", "A3"}, optional
        Default ``settings.PRINT_PAPER``.
    orientation : {"portrait", "landscape"}, optional
        Default ``settings.PRINT_ORIENTATION``.
    dpi : int, optional
        Resolution (raster formats); the image is exactly the paper size at this dpi.
        Default ``settings.PRINT_DPI``; checked by :func:`check_dpi`.
    fmt : {"png", "pdf", "svg"}
    crs : CRS, optional
        Metric map CRS, e.g. ``project.metric_crs()`` (default: UTM zone from the data).
    extent : tuple, optional
        ``(minx, miny, maxx, maxy)`` in WGS84 degrees.
    sources : list of str, optional
        Source names printed in the footer (default: the ``sources`` of the layers
        actually drawn).
    notes : list of str
        Printed in the footer; synthetic and approximate-boundary notes are added
        automatically when a drawn layer holds such records.
    legend_notes : list of str, optional
        Text lines added at the end of the legend (analysis parameters).
    basemap : render.basemaps.Basemap, optional
        Online tile basemap (needs internet). The map is then drawn in Web
        Mercator (EPSG:3857) so tiles align; overlays are shifted to GCJ-02 for
        AMap tiles; the scale bar is corrected for the Mercator scale factor.
    """
    if fmt not in FORMATS:
        raise PrintError(f"不支持的格式 / unsupported format {fmt!r}: use png, pdf or svg")
    paper = settings.PRINT_PAPER if paper is None else paper
    orientation = settings.PRINT_ORIENTATION if orientation is None else orientation
    dpi = check_dpi(settings.PRINT_DPI if dpi is None else dpi)
    drawn = [lyr for lyr in layers if lyr.gdf is not None and len(lyr.gdf)]
    if not drawn:
        raise PrintError("没有可绘制的要素 / nothing to draw: every layer is empty")
    setup_fonts()
    if extent is None:
        wgs = [lyr.gdf.to_crs(4326) for lyr in drawn]
        focus = [g for lyr, g in zip(drawn, wgs, strict=True) if lyr.geometry == "point"] or wgs
        b = np.array([g.total_bounds for g in focus])
        extent = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
    tiles = basemap is not None and bool(getattr(basemap, "tiles", ()))
    if tiles:
        map_crs = CRS.from_epsg(3857)
    else:
        map_crs = CRS.from_user_input(crs) if crs is not None else choose_metric_crs(tuple(extent))
    gcj = tiles and basemap.overlay_crs == "GCJ-02"
    d = _sheet(paper, orientation, dpi, subtitle, notes, extent, map_crs)
    attribution = ""
    if tiles:
        attribution = _draw_tiles(d, basemap, extent, dpi)
    for lyr in drawn:
        _draw_layer(d, lyr, map_crs, gcj=gcj)
    _finish_axes(d)
    _legend(d, legend_notes, legend_title)
    d.fig.text(0.5, 0.955, title, ha="center", va="center", fontproperties=d.fonts["title"])
    if subtitle:
        d.fig.text(0.5, 0.918, subtitle, ha="center", va="center", fontproperties=d.fonts["sub"])
    credits = "; ".join(sources if sources is not None else d.sources) or "未注明 / not stated"
    if tiles:
        credits += f"; 底图 Basemap: {attribution.strip()}"
    if d.any_osm and "OpenStreetMap" not in attribution:
        from render.webmap import OSM_CREDIT

        credits += f"; {OSM_CREDIT} (ODbL)"
    _footer(d, map_crs, credits, notes, as_of, gcj=gcj)
    buf = io.BytesIO()
    meta = {"Title": title} if fmt in ("pdf", "svg") else None
    d.fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    plt.close(d.fig)
    return buf.getvalue()


@dataclass
class _Sheet:
    """A print map being drawn: the figure, its map axes and view, and what was drawn."""

    fig: object
    ax: object
    scale: float
    fonts: dict
    bottom: float
    line_frac: float
    box: tuple[float, float, float, float]  # x0, x1, y0, y1 in the map CRS
    w_in: float
    ground_per_unit: float = 1.0
    handles: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    any_synth: bool = False
    any_approx: bool = False
    any_osm: bool = False
    n_imprecise: int = 0  # points coarser than street level: a hollow ring, one legend entry


def _sheet(paper, orientation, dpi, subtitle, notes, extent, map_crs) -> _Sheet:
    """The figure and its map axes, the view padded around ``extent`` and fitted to them."""
    ext = gpd.GeoSeries.from_xy([extent[0], extent[2]], [extent[1], extent[3]], crs=4326).to_crs(
        map_crs
    )
    x0, x1 = sorted(ext.x)
    y0, y1 = sorted(ext.y)
    pad = max(x1 - x0, y1 - y0) * 0.06 + 200
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    w_in, h_in = _paper_inches(paper, orientation)
    fig = plt.figure(figsize=(w_in, h_in), dpi=dpi)
    scale = min(w_in, h_in) / 8.27  # font scale relative to A4
    fonts = {
        "title": cjk_font(16 * scale, bold=True),
        "sub": cjk_font(10 * scale),
        "small": cjk_font(7 * scale),
        "label": cjk_font(6.5 * scale),
        "legend": cjk_font(8 * scale),
    }
    # footer: 3 fixed lines, the notes, and up to 2 automatic notes
    n_footer = 3 + len(notes or []) + 3
    line_frac = 7 * scale * 1.55 / (h_in * 72)
    bottom = 0.025 + n_footer * line_frac
    top = 0.89 if subtitle else 0.915
    ax = fig.add_axes((0.04, bottom, 0.92, top - bottom))
    ax.set_facecolor("#f7f7f4")
    # fit the data extent to the axes aspect
    ax_w, ax_h = 0.92 * w_in, (top - bottom) * h_in
    dx, dy = x1 - x0, y1 - y0
    if dx / dy < ax_w / ax_h:
        grow = (dy * ax_w / ax_h - dx) / 2
        x0, x1 = x0 - grow, x1 + grow
    else:
        grow = (dx * ax_h / ax_w - dy) / 2
        y0, y1 = y0 - grow, y1 + grow
    return _Sheet(fig, ax, scale, fonts, bottom, line_frac, (x0, x1, y0, y1), w_in)


def _draw_tiles(d: _Sheet, basemap, extent, dpi: int) -> str:
    """The basemap's tiles under the map (Web Mercator); returns their attribution."""
    import html as _html

    x0, x1, y0, y1 = d.box
    lat_c = (extent[1] + extent[3]) / 2
    d.ground_per_unit = math.cos(math.radians(lat_c))
    px = int(d.w_in * dpi * 0.92)
    attribution = ""
    for url, attr, subdomains in basemap.tiles:
        img, ext_t = fetch_tiles(url, (x0, y0, x1, y1), width_px=px, subdomains=subdomains)
        d.ax.imshow(img, extent=ext_t, origin="upper", zorder=0, interpolation="bilinear")
        attribution += _html.unescape(attr) + " "
    return attribution


def _draw_layer(d: _Sheet, lyr: PrintLayer, map_crs, *, gcj: bool) -> None:
    """One layer (by category when it has them) with its legend entries and labels."""
    from render.webmap import osm_derived  # credit OSM-derived rows (ODbL)

    g = lyr.gdf
    if gcj:
        from layers.crs import wgs84_to_gcj02

        g = g.to_crs(4326)
        g = g.set_geometry(
            shapely.transform(
                g.geometry.values, lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1]))
            )
        )
    g = g.to_crs(map_crs)
    x0, x1, y0, y1 = d.box
    g = g[g.intersects(shapely.box(x0, y0, x1, y1))]  # the legend counts exactly what is drawn
    if g.empty:
        return
    st = {"alpha": 0.9, "linewidth": 0.8, "size": 10, "zorder": 5} | lyr.style
    d.sources += [s for s in lyr.sources if s and s not in d.sources]
    d.any_osm |= osm_derived(g)
    if "synthetic" in g and g["synthetic"].astype(bool).any():
        d.any_synth = True
    if "approximate" in g and g["approximate"].astype(bool).any():
        d.any_approx = True
    groups = [(lyr.color, f"{lyr.label} ({len(g)})", g)]
    if lyr.categories:
        col, cmap = lyr.categories
        groups = [
            (c, f"{lab} ({int((g[col] == v).sum())})", g[g[col] == v])
            for v, (c, lab) in cmap.items()
            if (g[col] == v).any()
        ]
    draw = {"point": _draw_points, "polygon": _draw_polygons}.get(lyr.geometry, _draw_lines)
    for color, lab, sub in groups:
        draw(d, sub, color, lab, st)
    if lyr.label_field and lyr.label_field in g:
        real = g[~g["synthetic"].astype(bool)] if "synthetic" in g else g
        pts = real.geometry.representative_point()
        d.labels += [
            (p.x, p.y, str(t))
            for p, t in zip(pts, real[lyr.label_field], strict=True)
            if x0 <= p.x <= x1 and y0 <= p.y <= y1
        ]


def _draw_points(d: _Sheet, sub, color, lab: str, st: dict) -> None:
    """Points: approximate ones as hollow rings, synthetic ones faded."""
    from render.webmap import approximate_positions

    ax, scale = d.ax, d.scale
    synth = (
        sub["synthetic"].astype(bool).to_numpy() if "synthetic" in sub else np.zeros(len(sub), bool)
    )
    xs, ys = sub.geometry.x.to_numpy(), sub.geometry.y.to_numpy()
    hollow = approximate_positions(sub)
    if hollow.any():
        d.n_imprecise += int(hollow.sum())
        ax.scatter(
            xs[hollow],
            ys[hollow],
            s=st["size"] * scale * 1.6,
            facecolors="none",
            edgecolors=color,
            linewidths=0.9 * scale,
            alpha=st["alpha"],
            zorder=st["zorder"] + 0.05,
            gid="innomap-approx",
        )
        xs, ys, synth = xs[~hollow], ys[~hollow], synth[~hollow]
    ax.scatter(
        xs[~synth],
        ys[~synth],
        s=st["size"] * scale,
        c=color,
        edgecolors="white",
        linewidths=0.3,
        alpha=st["alpha"],
        zorder=st["zorder"],
    )
    if synth.any():
        ax.scatter(
            xs[synth],
            ys[synth],
            s=st["size"] * scale * 0.7,
            c=color,
            edgecolors="none",
            alpha=st["alpha"] * 0.55,
            zorder=st["zorder"] - 0.1,
        )
    d.handles.append(
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            color=color,
            markersize=6 * scale,
            label=lab + (" *模拟" if len(synth) and synth.all() else ""),
        )
    )


def _draw_polygons(d: _Sheet, sub, color, lab: str, st: dict) -> None:
    face = st.get("facecolor", color)
    sub.plot(
        ax=d.ax,
        facecolor=face if face != "none" else "none",
        edgecolor=st.get("edgecolor", color),
        linewidth=st["linewidth"],
        alpha=st.get("fill_alpha", 0.35) if face != "none" else 1,
        linestyle=st.get("linestyle", "-"),
        zorder=st["zorder"],
    )
    if face != "none" and st.get("outline", True):
        sub.boundary.plot(
            ax=d.ax,
            color=st.get("edgecolor", color),
            linewidth=st["linewidth"],
            linestyle=st.get("linestyle", "-"),
            zorder=st["zorder"] + 0.1,
        )
    d.handles.append(
        Patch(
            facecolor=face if face != "none" else "white",
            edgecolor=st.get("edgecolor", color),
            alpha=0.8,
            label=lab,
            linestyle=st.get("linestyle", "-"),
        )
    )


def _draw_lines(d: _Sheet, sub, color, lab: str, st: dict) -> None:
    sub.plot(
        ax=d.ax,
        color=color,
        linewidth=st["linewidth"] * 1.5,
        linestyle=st.get("linestyle", "-"),
        zorder=st["zorder"],
    )
    d.handles.append(Line2D([], [], color=color, lw=1.5, ls=st.get("linestyle", "-"), label=lab))


def _finish_axes(d: _Sheet) -> None:
    """The view, no ticks, the labels, the scale bar and the north arrow."""
    ax = d.ax
    x0, x1, y0, y1 = d.box
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for s in ax.spines.values():
        s.set_linewidth(0.8)
    if d.labels:
        _labels(ax, d.fig, d.labels, d.fonts["label"])
    _scale_bar(ax, (x0, x1, y0, y1), d.fonts["small"], ground_per_unit=d.ground_per_unit)
    _north_arrow(ax, (x0, x1, y0, y1), d.fonts["small"])


def _legend(d: _Sheet, legend_notes, legend_title: str) -> None:
    from render.webmap import approximate_label

    scale = d.scale
    if d.n_imprecise:
        d.handles.append(
            Line2D(
                [],
                [],
                marker="o",
                ls="",
                markerfacecolor="none",
                markeredgecolor="#444444",
                markeredgewidth=0.9 * scale,
                markersize=7 * scale,
                label=f"{approximate_label('zh')} ({d.n_imprecise})",
            )
        )
    for note in legend_notes or []:  # analysis parameters, shown in the legend itself
        d.handles.append(Line2D([], [], linestyle="none", marker="", label=note))
    leg = d.ax.legend(
        handles=d.handles,
        loc="lower right",
        prop=d.fonts["legend"],
        title=legend_title,
        framealpha=0.92,
        title_fontproperties=cjk_font(8.5 * scale, bold=True),
    )
    leg.set_zorder(40)


def _footer(d: _Sheet, map_crs, credits: str, notes, as_of, *, gcj: bool) -> None:
    """CRS, sources, date, the notes and the automatic notes under the map."""
    auto_notes = list(notes or [])
    if d.any_synth:
        auto_notes.append("注: 图中半透明点为模拟数据(synthetic), 非真实记录, 仅用于方法演示。")
    if d.any_approx:
        auto_notes.append("注: 片区/走廊边界为按公布道路四至示意绘制, 非法定边界。")
    if d.n_imprecise:
        auto_notes.append(
            f"注: 空心圆为位置近似的点 ({d.n_imprecise} 个, 坐标精度粗于 "
            f"{settings.STREET_LEVEL_PRECISION_M:g} 米), 不是准确位置。"
        )
    epsg = map_crs.to_epsg()
    footer = [
        f"坐标系 CRS: {map_crs.name}"
        + (f" (EPSG:{epsg})" if epsg else "")
        + "; 数据存储 WGS84 (CGCS2000 ≈ WGS84)",
        "数据来源 Sources: " + credits,
        f"制图日期 Date: {as_of or date.today().isoformat()}  ·  InnoMap 创新资源一张图",
        *auto_notes,
    ]
    if gcj:
        footer.append("注: 底图为 GCJ-02 (高德), 叠加图层已由 WGS84 转换为 GCJ-02 以对齐底图。")
    d.fig.text(
        0.04,
        d.bottom - d.line_frac * 0.4,
        "\n".join(footer),
        ha="left",
        va="top",
        fontproperties=d.fonts["small"],
        linespacing=1.5,
    )
