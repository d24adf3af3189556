"""Print-quality maps (PNG/PDF/SVG) with matplotlib: title, legend of exactly what is
drawn, scale bar, north arrow, coordinate system, sources, date and honesty notes.

Maps are drawn in a metric CRS (chosen from the data unless given). Chinese text
uses the Noto Sans CJK SC face (:mod:`render.fonts`), embedded in PDFs.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import shapely
import shapely.ops
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrow, Patch, Rectangle
from pyproj import CRS

import settings
from layers.crs import choose_metric_crs
from layers.errors import InnoMapError
from render.fonts import cjk_font, setup_fonts
from render.labels import LabelItem, place_area_labels, place_point_labels

__all__ = [
    "PAPER_MM",
    "PrintError",
    "PrintLayer",
    "PrintSheet",
    "check_dpi",
    "compose_print_map",
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


def _scale_bar(ax, extent, font, *, ground_per_unit: float = 1.0, compact: bool = False):
    """A four-part scale bar in the lower left of ``ax`` (``compact``: the two ends labelled)."""
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
    for v in (0, length) if compact else (0, length / 2, length):
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


def render_print_map(*args, fmt: str = "png", **kwargs) -> bytes:
    """Render a print map and return the file bytes (``fmt``: png, pdf or svg); the
    other parameters are those of :func:`compose_print_map`."""
    if fmt not in FORMATS:
        raise PrintError(f"不支持的格式 / unsupported format {fmt!r}: use png, pdf or svg")
    sheet = compose_print_map(*args, **kwargs)
    buf = io.BytesIO()
    meta = {"Title": sheet.title} if fmt in ("pdf", "svg") else None
    sheet.fig.savefig(buf, format=fmt, dpi=sheet.dpi, metadata=meta)
    plt.close(sheet.fig)
    return buf.getvalue()


def compose_print_map(*args, **kwargs) -> PrintSheet:
    """Draw a print map and return its :class:`PrintSheet` (the figure stays open; close
    it with ``plt.close(sheet.fig)``): see :func:`_compose` for the parameters.

    All text is plain text: ``$`` and ``$…$`` in a title, label, legend entry or note
    are drawn as typed (:func:`plain_text_matplotlib`: mathtext and TeX off for every text
    artist), and control characters in the titles are shown as spaces.
    """
    for key in ("title", "subtitle", "legend_title"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = _plain(kwargs[key])
    plain_text_matplotlib()
    return _compose(*args, **kwargs)


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


def _compose(
    layers: list[PrintLayer],
    *,
    title: str,
    subtitle: str = "",
    paper: str | None = None,
    orientation: str | None = None,
    dpi: int | None = None,
    crs: CRS | str | int | None = None,
    extent: tuple[float, float, float, float] | None = None,
    sources: list[str] | None = None,
    notes: list[str] | None = None,
    legend_title: str = "图例 Legend",
    as_of: str | None = None,
    basemap=None,
    legend_notes: list[str] | None = None,
) -> PrintSheet:
    """Draw a print map.

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
    crs : CRS, optional
        Metric map CRS, e.g. ``project.metric_crs()`` (default: UTM zone from the data).
    extent : tuple, optional
        ``(minx, miny, maxx, maxy)`` in WGS84 degrees.
    sources : list of str, optional
        Source names printed in the footer (default: the ``sources`` of the layers
        actually drawn).
    notes : list of str
        Printed in the footer; synthetic and approximate-boundary notes are added
        automatically when a drawn layer holds such records, and the number of names
        left unlabelled for lack of room.
    legend_notes : list of str, optional
        Text lines added at the end of the legend (analysis parameters).
    basemap : render.basemaps.Basemap, optional
        Online tile basemap (needs internet). The map is then drawn in Web
        Mercator (EPSG:3857) so tiles align; overlays are shifted to GCJ-02 for
        AMap tiles; the scale bar is corrected for the Mercator scale factor.

    Notes
    -----
    The map frame is fitted to the drawn extent: when the page is wider than the map,
    the spare width becomes a side panel holding the legend (and the inset). When a
    window of ``settings.PRINT_INSET_WINDOW`` of the frame holds at least
    ``settings.PRINT_INSET_SHARE`` of the points, an inset (局部放大) shows that part
    enlarged, marked on the main map; its names are labelled in the inset.
    """
    paper = settings.PRINT_PAPER if paper is None else paper
    orientation = settings.PRINT_ORIENTATION if orientation is None else orientation
    dpi = check_dpi(settings.PRINT_DPI if dpi is None else dpi)
    drawn = [lyr for lyr in layers if lyr.gdf is not None and len(lyr.gdf)]
    if not drawn:
        raise PrintError("没有可绘制的要素 / nothing to draw: every layer is empty")
    setup_fonts()
    extent = _default_extent(drawn) if extent is None else extent
    tiles = basemap is not None and bool(getattr(basemap, "tiles", ()))
    if tiles:
        map_crs = CRS.from_epsg(3857)
    else:
        map_crs = CRS.from_user_input(crs) if crs is not None else choose_metric_crs(tuple(extent))
    gcj = tiles and basemap.overlay_crs == "GCJ-02"
    projected = [(lyr, _project(lyr.gdf, map_crs, gcj=gcj)) for lyr in drawn]
    box = _padded_box(extent, map_crs)
    points = [g for lyr, g in projected if lyr.geometry == "point"]
    d = _sheet(paper, orientation, dpi, subtitle, notes, box, _dense_box(points, box))
    d.title = title
    attribution = _draw_tiles(d, basemap, extent, dpi) if tiles else ""
    for lyr, g in projected:
        _draw_layer(d, lyr, g)
    _finish_axes(d)
    _legend(d, legend_notes, legend_title)
    _place_labels(d)
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
    return d


def _default_extent(drawn: list[PrintLayer]) -> tuple[float, float, float, float]:
    """The WGS84 bounds of the point layers (of every layer when none is of points)."""
    wgs = [lyr.gdf.to_crs(4326) for lyr in drawn]
    focus = [g for lyr, g in zip(drawn, wgs, strict=True) if lyr.geometry == "point"] or wgs
    b = np.array([g.total_bounds for g in focus])
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())


def _project(g: gpd.GeoDataFrame, map_crs, *, gcj: bool) -> gpd.GeoDataFrame:
    """``g`` in the map CRS (shifted to GCJ-02 first under AMap tiles)."""
    if gcj:
        from layers.crs import wgs84_to_gcj02

        g = g.to_crs(4326)
        g = g.set_geometry(
            shapely.transform(
                g.geometry.values, lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1]))
            )
        )
    return g.to_crs(map_crs)


def _padded_box(extent, map_crs) -> tuple[float, float, float, float]:
    """``extent`` (WGS84) in the map CRS as ``(x0, x1, y0, y1)``, with a margin."""
    ext = gpd.GeoSeries.from_xy([extent[0], extent[2]], [extent[1], extent[3]], crs=4326).to_crs(
        map_crs
    )
    x0, x1 = sorted(ext.x)
    y0, y1 = sorted(ext.y)
    pad = max(x1 - x0, y1 - y0) * 0.06 + 200
    return x0 - pad, x1 + pad, y0 - pad, y1 + pad


def _dense_box(points: list[gpd.GeoDataFrame], box) -> tuple | None:
    """The box ``(x0, x1, y0, y1)`` around the densest part of the points when they
    crowd (a window of ``settings.PRINT_INSET_WINDOW`` of the frame's side holding at
    least ``settings.PRINT_INSET_SHARE`` of them), else None."""
    xy = np.vstack(
        [np.empty((0, 2))] + [shapely.get_coordinates(g.geometry.values) for g in points]
    )
    x0, x1, y0, y1 = box
    xy = xy[(xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)]
    if len(xy) < 20:
        return None
    n = 40
    w = max(2, round(n * settings.PRINT_INSET_WINDOW))
    counts = np.histogram2d(xy[:, 0], xy[:, 1], bins=n, range=[[x0, x1], [y0, y1]])[0]
    c = np.pad(counts.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    win = c[w:, w:] - c[:-w, w:] - c[w:, :-w] + c[:-w, :-w]
    i, j = np.unravel_index(int(win.argmax()), win.shape)
    if win[i, j] < settings.PRINT_INSET_SHARE * len(xy):
        return None
    cx, cy = (x1 - x0) / n, (y1 - y0) / n
    wx0, wy0 = x0 + i * cx, y0 + j * cy
    inside = xy[
        (xy[:, 0] >= wx0)
        & (xy[:, 0] <= wx0 + w * cx)
        & (xy[:, 1] >= wy0)
        & (xy[:, 1] <= wy0 + w * cy)
    ]
    lo, hi = np.percentile(inside, 2, axis=0), np.percentile(inside, 98, axis=0)
    pad = float(max(hi - lo)) * 0.08 + 100
    return lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad


@dataclass
class PrintSheet:
    """A print map being drawn: the figure, its map axes and view, and what was drawn.

    ``inset`` is the 局部放大 axes (or None); ``labels_total`` / ``labels_dropped`` count
    the names to write and those left out for lack of room (stated in the footer).
    """

    fig: object
    ax: object
    scale: float
    fonts: dict
    bottom: float
    line_frac: float
    box: tuple[float, float, float, float]  # x0, x1, y0, y1 in the map CRS
    w_in: float
    dpi: int = 300
    title: str = ""
    panel: tuple | None = None  # side panel (figure fractions): legend and inset
    inset: object = None
    inset_box: tuple | None = None
    ground_per_unit: float = 1.0
    handles: list = field(default_factory=list)
    point_labels: list = field(default_factory=list)
    area_labels: list = field(default_factory=list)
    markers: list = field(default_factory=list)
    labels_total: int = 0
    labels_dropped: int = 0
    legend: object = None
    footer: str = ""
    sources: list[str] = field(default_factory=list)
    any_synth: bool = False
    any_approx: bool = False
    any_osm: bool = False
    n_imprecise: int = 0  # points coarser than street level: a hollow ring, one legend entry

    @property
    def views(self) -> list:
        """The axes the layers are drawn in: the map, and the inset when there is one."""
        return [self.ax] + ([self.inset] if self.inset is not None else [])


#: A side panel is made when the spare width is at least this share of the page's map area.
_PANEL_MIN = 0.27


def _no_redraw(*args, **kwargs) -> None:
    """A print sheet's ``canvas.draw_idle``: nothing (see :func:`_sheet`)."""


def _sheet(paper, orientation, dpi, subtitle, notes, box, inset_box) -> PrintSheet:
    """The figure, its map axes fitted to ``box`` (a side panel in the spare width) and
    the inset of ``inset_box`` when given."""
    w_in, h_in = _paper_inches(paper, orientation)
    fig = plt.figure(figsize=(w_in, h_in), dpi=dpi)
    # geopandas asks for a redraw after every layer it plots (canvas.draw_idle), which on
    # Agg renders the whole sheet each time: 8 renders of a demo map before it is saved.
    # The sheet is rendered once, when saved.
    fig.canvas.draw_idle = _no_redraw
    scale = min(w_in, h_in) / 8.27  # font scale relative to A4
    fonts = {
        "title": cjk_font(16 * scale, bold=True),
        "sub": cjk_font(10 * scale),
        "small": cjk_font(7 * scale),
        "label": cjk_font(6.5 * scale),
        "area": cjk_font(7.5 * scale, bold=True),
        "legend": cjk_font(8 * scale),
    }
    # footer: 3 fixed lines, the notes, up to 4 automatic notes and a wrapped sources line
    n_footer = 3 + len(notes or []) + 5
    line_frac = 7 * scale * 1.55 / (h_in * 72)
    bottom = 0.025 + n_footer * line_frac
    top = 0.89 if subtitle else 0.915
    area = (0.04, bottom, 0.92, top - bottom)
    main, panel = _split(area, box, w_in, h_in)
    ax = fig.add_axes(main)
    ax.set_facecolor("#f7f7f4")
    d = PrintSheet(fig, ax, scale, fonts, bottom, line_frac, _fit(box, main, w_in, h_in), w_in)
    d.dpi, d.panel = dpi, panel
    if inset_box is not None:
        _add_inset(d, inset_box, h_in)
    return d


def _split(area, box, w_in: float, h_in: float) -> tuple[tuple, tuple | None]:
    """The map's axes rectangle fitted to ``box`` and the side panel in the spare width
    (None when the spare width is under ``_PANEL_MIN`` of the area: the map fills it)."""
    left, bottom, width, height = area
    x0, x1, y0, y1 = box
    map_w = height * h_in * (x1 - x0) / (y1 - y0) / w_in
    if width - map_w < _PANEL_MIN * width:
        return area, None
    gap = 0.015
    main = (left, bottom, map_w, height)
    return main, (left + map_w + gap, bottom, width - map_w - gap, height)


def _fit(box, rect, w_in: float, h_in: float) -> tuple[float, float, float, float]:
    """``box`` grown in one direction to the aspect of the axes rectangle ``rect``."""
    x0, x1, y0, y1 = box
    ax_w, ax_h = rect[2] * w_in, rect[3] * h_in
    dx, dy = x1 - x0, y1 - y0
    if dx / dy < ax_w / ax_h:
        grow = (dy * ax_w / ax_h - dx) / 2
        return x0 - grow, x1 + grow, y0, y1
    grow = (dx * ax_h / ax_w - dy) / 2
    return x0, x1, y0 - grow, y1 + grow


def _add_inset(d: PrintSheet, inset_box, h_in: float) -> None:
    """The 局部放大 axes: at the top of the side panel, else in the map's emptier top corner."""
    x0, x1, y0, y1 = inset_box
    aspect = (x1 - x0) / (y1 - y0)
    if d.panel is not None:
        px, py, pw, ph = d.panel
        h = min(ph * 0.58, pw * d.w_in / aspect / h_in)
        rect = (px, py + ph - h - 0.03, pw, h)
    else:
        mx, my, mw, mh = d.ax.get_position().bounds
        w = mw * 0.42
        h = min(mh * 0.45, w * d.w_in / aspect / h_in)
        rect = (mx + 0.008, my + mh - h - 0.035, w, h)
    inset = d.fig.add_axes(rect, label="innomap-inset")
    inset.set_gid("innomap-inset")
    inset.set_facecolor("#ffffff")
    d.inset, d.inset_box = inset, _fit(inset_box, rect, d.w_in, h_in)
    main_w = (d.box[1] - d.box[0]) / d.ax.get_position().width
    zoom = main_w / ((d.inset_box[1] - d.inset_box[0]) / rect[2])
    inset.set_title(
        f"局部放大 ×{zoom:.1f}", fontproperties=d.fonts["small"], loc="left", pad=2 * d.scale
    )


def _draw_tiles(d: PrintSheet, basemap, extent, dpi: int) -> str:
    """The basemap's tiles under the map and the inset (Web Mercator); returns their
    attribution."""
    import html as _html

    x0, x1, y0, y1 = d.box
    lat_c = (extent[1] + extent[3]) / 2
    d.ground_per_unit = math.cos(math.radians(lat_c))
    px = int(d.w_in * dpi * 0.92)
    attribution = ""
    for url, attr, subdomains in basemap.tiles:
        img, ext_t = fetch_tiles(url, (x0, y0, x1, y1), width_px=px, subdomains=subdomains)
        for ax in d.views:
            ax.imshow(img, extent=ext_t, origin="upper", zorder=0, interpolation="bilinear")
        attribution += _html.unescape(attr) + " "
    return attribution


def _draw_layer(d: PrintSheet, lyr: PrintLayer, g: gpd.GeoDataFrame) -> None:
    """One layer (``g``: its rows in the map CRS; by category when it has them) with its
    legend entries and the names to label."""
    from render.webmap import osm_derived  # credit OSM-derived rows (ODbL)

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
        for ax in d.views:
            draw(d, ax, sub, color, lab, st)
        d.handles.append(_handle(lyr.geometry, color, lab, st, d.scale, sub))
    if lyr.label_field and lyr.label_field in g:
        _collect_labels(d, lyr, g, st)


def _collect_labels(d: PrintSheet, lyr: PrintLayer, g, st: dict) -> None:
    """The names of ``g``'s real records: area names (polygons, larger areas first) or
    point names (larger markers first); labelled points are kept clear of labels."""
    real = g[~g["synthetic"].astype(bool)] if "synthetic" in g else g
    names = real[lyr.label_field]
    ok = names.notna() & (names.astype(str).str.strip() != "")
    real = real[ok]
    if lyr.geometry == "polygon":
        at = [_label_point(p) for p in real.geometry]
        color = "#555555" if st.get("facecolor") == "none" else lyr.color
        d.area_labels += [
            LabelItem(p.x, p.y, str(t), float(a), color)
            for p, t, a in zip(at, real[lyr.label_field], real.geometry.area, strict=True)
        ]
        return
    pts = real.geometry.representative_point()
    d.point_labels += [
        LabelItem(p.x, p.y, str(t), float(st["size"]))
        for p, t in zip(pts, real[lyr.label_field], strict=True)
    ]
    d.markers += [(p.x, p.y) for p in pts]


def _label_point(geom):
    """Where an area's name goes: the pole of inaccessibility of its largest part."""
    parts = getattr(geom, "geoms", [geom])
    part = max(parts, key=lambda g: g.area)
    if part.geom_type != "Polygon" or part.is_empty:
        return geom.representative_point()
    return shapely.ops.polylabel(part, max(part.area**0.5 / 100, 1.0))


def _handle(geometry: str, color: str, lab: str, st: dict, scale: float, sub):
    """The legend entry of one drawn group."""
    if geometry == "point":
        synth = sub["synthetic"].astype(bool) if "synthetic" in sub else None
        mark = " *模拟" if synth is not None and len(synth) and synth.all() else ""
        return Line2D(
            [], [], marker="o", ls="", color=color, markersize=6 * scale, label=lab + mark
        )
    if geometry == "polygon":
        face = st.get("facecolor", color)
        return Patch(
            facecolor=face if face != "none" else "white",
            edgecolor=st.get("edgecolor", color),
            alpha=0.8,
            label=lab,
            linestyle=st.get("linestyle", "-"),
        )
    return Line2D([], [], color=color, lw=1.5, ls=st.get("linestyle", "-"), label=lab)


def _draw_points(d: PrintSheet, ax, sub, color, lab: str, st: dict) -> None:
    """Points: approximate ones as hollow rings, synthetic ones faded."""
    from render.webmap import approximate_positions

    scale = d.scale
    synth = (
        sub["synthetic"].astype(bool).to_numpy() if "synthetic" in sub else np.zeros(len(sub), bool)
    )
    xs, ys = sub.geometry.x.to_numpy(), sub.geometry.y.to_numpy()
    hollow = approximate_positions(sub)
    if hollow.any():
        if ax is d.ax:
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


def _draw_polygons(d: PrintSheet, ax, sub, color, lab: str, st: dict) -> None:
    face = st.get("facecolor", color)
    sub.plot(
        ax=ax,
        facecolor=face if face != "none" else "none",
        edgecolor=st.get("edgecolor", color),
        linewidth=st["linewidth"],
        alpha=st.get("fill_alpha", 0.35) if face != "none" else 1,
        linestyle=st.get("linestyle", "-"),
        zorder=st["zorder"],
    )
    if face != "none" and st.get("outline", True):
        sub.boundary.plot(
            ax=ax,
            color=st.get("edgecolor", color),
            linewidth=st["linewidth"],
            linestyle=st.get("linestyle", "-"),
            zorder=st["zorder"] + 0.1,
        )


def _draw_lines(d: PrintSheet, ax, sub, color, lab: str, st: dict) -> None:
    sub.plot(
        ax=ax,
        color=color,
        linewidth=st["linewidth"] * 1.5,
        linestyle=st.get("linestyle", "-"),
        zorder=st["zorder"],
    )


def _frame(ax, box) -> None:
    """Fix ``ax``'s view to ``box``, without ticks."""
    x0, x1, y0, y1 = box
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")


def _finish_axes(d: PrintSheet) -> None:
    """The views, the scale bars, the north arrow and the inset's frame on the map."""
    _frame(d.ax, d.box)
    for s in d.ax.spines.values():
        s.set_linewidth(0.8)
    _scale_bar(d.ax, d.box, d.fonts["small"], ground_per_unit=d.ground_per_unit)
    _north_arrow(d.ax, d.box, d.fonts["small"])
    if d.inset is not None:
        _frame(d.inset, d.inset_box)
        for s in d.inset.spines.values():
            s.set_edgecolor("#b03a2e")
            s.set_linewidth(1.0)
        _scale_bar(
            d.inset,
            d.inset_box,
            d.fonts["small"],
            ground_per_unit=d.ground_per_unit,
            compact=True,
        )
        mark = d.ax.indicate_inset_zoom(d.inset, edgecolor="#b03a2e", linewidth=0.9, alpha=0.9)
        if d.panel is None:  # the inset lies on the map: its frame alone, no connectors
            for line in mark.connectors:
                line.set_visible(False)


def _place_labels(d: PrintSheet) -> None:
    """Area names, then point names, in the map and the inset (the inset's names there
    only); nothing overlaps the legend, the inset or another label."""
    renderer = d.fig.canvas.get_renderer()
    taken = _furniture(d.ax, renderer)
    if d.legend is not None:
        taken.append(d.legend.get_window_extent(renderer))
    if d.inset is not None and d.panel is None:
        taken.append(d.inset.get_tightbbox(renderer))
    font, area = d.fonts["label"], d.fonts["area"]
    main_areas = place_area_labels(d.ax, d.area_labels, font=area, taken=taken)
    dropped = main_areas.dropped
    inner, outer = _split_items(d.point_labels, d.inset_box)
    markers = np.asarray(d.markers) if d.markers else None
    shown = place_point_labels(d.ax, outer, font=font, taken=taken, markers_xy=markers)
    dropped += shown.dropped
    if d.inset is not None:
        kept = {t.get_text() for t in main_areas.texts}
        retry = [i for i in d.area_labels if i.text not in kept]
        taken = _furniture(d.inset, renderer)
        in_areas = place_area_labels(d.inset, retry, font=area, taken=taken)
        in_points = place_point_labels(
            d.inset, inner, font=font, taken=taken, markers_xy=markers, laid_out=shown.laid_out
        )
        dropped += in_points.dropped - len(in_areas.texts)
    d.labels_total = len(_visible(d.ax, d.area_labels)) + len(_visible(d.ax, d.point_labels))
    d.labels_dropped = max(dropped, 0)


def _furniture(ax, renderer) -> list:
    """Display boxes of the scale bar, north arrow and other texts already in ``ax``."""
    return [t.get_window_extent(renderer) for t in ax.texts] + [
        p.get_window_extent(renderer) for p in ax.patches if p.get_zorder() >= 30
    ]


def _visible(ax, items: list[LabelItem]) -> list[LabelItem]:
    x0, x1 = sorted(ax.get_xlim())
    y0, y1 = sorted(ax.get_ylim())
    return [i for i in items if x0 <= i.x <= x1 and y0 <= i.y <= y1]


def _split_items(items: list[LabelItem], box) -> tuple[list, list]:
    """``items`` inside ``box`` (labelled in the inset) and the others (in the map)."""
    if box is None:
        return [], list(items)
    x0, x1, y0, y1 = box
    inner = [i for i in items if x0 <= i.x <= x1 and y0 <= i.y <= y1]
    return inner, [i for i in items if not (x0 <= i.x <= x1 and y0 <= i.y <= y1)]


def _legend(d: PrintSheet, legend_notes, legend_title: str) -> None:
    """The legend: in the side panel (under the inset) when there is one, else in the
    map's lower right corner."""
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
    style = {
        "handles": d.handles,
        "prop": d.fonts["legend"],
        "title": legend_title,
        "framealpha": 0.92,
        "title_fontproperties": cjk_font(8.5 * scale, bold=True),
    }
    if d.panel is None:
        leg = d.ax.legend(loc="lower right", **style)
    else:
        px, py, _, ph = d.panel
        top = d.inset.get_position().y0 - 0.02 if d.inset is not None else py + ph
        leg = d.fig.legend(loc="upper left", bbox_to_anchor=(px, top), **style)
    leg.set_zorder(40)
    d.legend = leg


def _footer(d: PrintSheet, map_crs, credits: str, notes, as_of, *, gcj: bool) -> None:
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
    if d.labels_dropped:
        auto_notes.append(
            f"注: 图中标注名称 {d.labels_total - d.labels_dropped} 个, 另有 {d.labels_dropped} 个"
            f"因图面空间不足未标注 / {d.labels_dropped} of {d.labels_total} names not labelled "
            "(no room)。"
        )
    epsg = map_crs.to_epsg()
    footer = [
        f"坐标系 CRS: {map_crs.name}"
        + (f" (EPSG:{epsg})" if epsg else "")
        + "; 数据存储 WGS84 (CGCS2000 ≈ WGS84)",
        *textwrap.wrap(
            "数据来源 Sources: " + credits, int(0.92 * d.w_in * 72 / (7 * d.scale) * 1.7)
        ),
        f"制图日期 Date: {as_of or date.today().isoformat()}  ·  InnoMap 创新资源一张图",
        *auto_notes,
    ]
    if gcj:
        footer.append("注: 底图为 GCJ-02 (高德), 叠加图层已由 WGS84 转换为 GCJ-02 以对齐底图。")
    d.footer = "\n".join(footer)
    d.fig.text(
        0.04,
        d.bottom - d.line_frac * 0.4,
        d.footer,
        ha="left",
        va="top",
        fontproperties=d.fonts["small"],
        linespacing=1.5,
    )
