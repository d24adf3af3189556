"""Map labels without overlap: names of areas (districts, zones) and of points.

Point names are placed by the maintained library ``textalloc`` (pinned in
``requirements.txt``): each label gets a free position near its point, clear of the
other labels and of the given markers, joined to its point by a thin leader line
when it sits away from it; a label with no free position is dropped. Area names are
written at a point inside their polygon (the pole of inaccessibility), larger first.
A final check measures every label's drawn box (the renderer's window extent) and
drops any label that touches an earlier one or a blocked box (legend, inset), so the
result never overlaps, whatever the placer did; the caller states how many were dropped.

Labels carry a ``gid`` (:data:`POINT_GID`, :data:`AREA_GID`) so tests and exports
find them in the figure.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field

import numpy as np
from matplotlib import patheffects

__all__ = [
    "AREA_GID",
    "POINT_GID",
    "LabelItem",
    "Placed",
    "label_boxes",
    "place_area_labels",
    "place_point_labels",
]

#: ``gid`` of a point label's text (a leader line has ``POINT_GID + "-leader"``).
POINT_GID = "innomap-label"
#: ``gid`` of an area (district, zone) name.
AREA_GID = "innomap-area-label"
_HALO = [patheffects.withStroke(linewidth=2.2, foreground="white")]


@dataclass(frozen=True)
class LabelItem:
    """One name to write at ``(x, y)`` (data coordinates); higher ``priority`` first."""

    x: float
    y: float
    text: str
    priority: float = 0.0
    color: str = "#333333"


@dataclass
class Placed:
    """What a placement drew: the kept texts and how many names found no room."""

    texts: list = field(default_factory=list)
    dropped: int = 0
    #: the placement ran a layout pass of the whole figure (``draw_without_rendering``)
    laid_out: bool = False


def label_boxes(fig) -> list:
    """Window extents (display pixels) of every visible label of ``fig``, in all its axes."""
    renderer = fig.canvas.get_renderer()
    return [
        t.get_window_extent(renderer)
        for ax in fig.axes
        for t in ax.texts
        if t.get_gid() in (POINT_GID, AREA_GID) and t.get_visible()
    ]


def _clear(bb, taken: list) -> bool:
    return not any(bb.overlaps(other) for other in taken)


def _inside(bb, ax) -> bool:
    frame = ax.get_window_extent()
    return frame.x0 <= bb.x0 and bb.x1 <= frame.x1 and frame.y0 <= bb.y0 and bb.y1 <= frame.y1


def _keep_clear(ax, texts: list, taken: list) -> list:
    """The texts whose drawn box is inside ``ax`` and clear of ``taken`` and of each other
    (others removed with their leader lines); ``taken`` grows with the kept boxes."""
    renderer = ax.figure.canvas.get_renderer()
    kept = []
    for t in texts:
        bb = t.get_window_extent(renderer)
        if _inside(bb, ax) and _clear(bb, taken):
            taken.append(bb)
            kept.append(t)
            continue
        leader = getattr(t, "_innomap_leader", None)
        if leader is not None:
            leader.remove()
        t.remove()
    return kept


def _box_lines(ax, boxes: list) -> tuple[list, list]:
    """Display boxes as polylines in ``ax``'s data coordinates (outline, diagonals and
    middle line), so the placer keeps labels off them."""
    inv = ax.transData.inverted()
    xs, ys = [], []
    for bb in boxes:
        x0, y0, x1, y1 = bb.x0, bb.y0, bb.x1, bb.y1
        ym = (y0 + y1) / 2
        for path in (
            [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)],
            [(x0, y0), (x1, y1)],
            [(x0, y1), (x1, y0)],
            [(x0, ym), (x1, ym)],
        ):
            data = inv.transform(path)
            xs.append(data[:, 0])
            ys.append(data[:, 1])
    return xs, ys


def place_area_labels(ax, items: list[LabelItem], *, font, taken: list) -> Placed:
    """Area names centred on their points, highest ``priority`` (area) first; a name
    touching a kept label or a box in ``taken`` is dropped (``taken`` grows)."""
    x0, x1 = sorted(ax.get_xlim())
    y0, y1 = sorted(ax.get_ylim())
    shown = [i for i in items if x0 <= i.x <= x1 and y0 <= i.y <= y1]
    texts = [
        ax.text(
            i.x,
            i.y,
            i.text,
            ha="center",
            va="center",
            fontproperties=font,
            color=i.color,
            zorder=24,
            gid=AREA_GID,
        )
        for i in sorted(shown, key=lambda i: -i.priority)
    ]
    kept = _keep_clear(ax, texts, taken)
    _halos(ax, kept)
    return Placed(kept, len(shown) - len(kept))


def _halos(ax, texts: list) -> None:
    """A white halo under each label: a twin drawn as outlines (path effect), so the label
    itself stays text in PDF and SVG files (searchable, copyable names)."""
    for t in texts:
        ax.text(
            *t.get_position(),
            t.get_text(),
            ha=t.get_horizontalalignment(),
            va=t.get_verticalalignment(),
            fontproperties=t.get_fontproperties(),
            color="white",
            zorder=t.get_zorder() - 0.01,
            transform=t.get_transform(),
            path_effects=_HALO,
            gid="innomap-label-halo",
        )


class _AxesData:
    """The axes' data transform, in the form textalloc takes a transform in (an object with
    ``_as_mpl_transform(ax)``, as cartopy's projections; matplotlib resolves it too)."""

    @staticmethod
    def _as_mpl_transform(ax):
        return ax.transData


_DATA = _AxesData()


def place_point_labels(
    ax,
    items: list[LabelItem],
    *,
    font,
    taken: list,
    markers_xy: np.ndarray | None = None,
    max_distance: float = 0.18,
    laid_out: bool = False,
) -> Placed:
    """Point names near their points without overlap (``textalloc``), with leader lines.

    Parameters
    ----------
    ax : matplotlib Axes
        Its limits are final (labels are placed in display space).
    items : list of LabelItem
        Names outside the axes' view are left out (not counted as dropped).
    font : FontProperties
    taken : list of Bbox
        Display boxes already used (area names, legend, inset); grows with the kept labels.
    markers_xy : array (n, 2), optional
        Data positions of markers labels should not cover (the labelled points).
    max_distance : float
        Farthest a label may sit from its point, as a fraction of the axes.
    laid_out : bool
        The figure's layout is final already (an earlier placement on the same sheet ran
        its layout pass, ``Placed.laid_out``): ``textalloc`` is given the axes' data
        transform and skips its own pass (a full draw of the sheet, ~0.4 s on an A4 map).
    """
    import textalloc

    x0, x1 = sorted(ax.get_xlim())
    y0, y1 = sorted(ax.get_ylim())
    shown = sorted(
        (i for i in items if x0 <= i.x <= x1 and y0 <= i.y <= y1), key=lambda i: -i.priority
    )
    if not shown:
        return Placed()
    xy = np.asarray(markers_xy if markers_xy is not None else [(i.x, i.y) for i in shown])
    lines_x, lines_y = _box_lines(ax, taken)
    with contextlib.redirect_stdout(io.StringIO()):  # the library prints when nothing fits
        _, _, texts, lines = textalloc.allocate(
            ax,
            [i.x for i in shown],
            [i.y for i in shown],
            [i.text for i in shown],
            x_scatter=xy[:, 0],
            y_scatter=xy[:, 1],
            x_lines=lines_x or None,
            y_lines=lines_y or None,
            textsize=font.get_size_in_points(),
            margin=0.004,
            min_distance=0.008,
            max_distance=max_distance,
            draw_all=False,
            draw_lines=True,
            linecolor="#777777",
            linewidth=0.5,
            avoid_label_lines_overlap=True,
            avoid_crossing_label_lines=True,
            nbr_candidates=150,
            fontproperties=font,
            zorder=25,
            gid=POINT_GID,
            # with a transform textalloc skips its layout pass (the same transform otherwise)
            **({"transform": _DATA} if laid_out else {}),
        )
    drawn = []
    for text, line in zip(texts, lines, strict=True):
        if text is None:
            continue
        if line is not None:
            line.set_gid(POINT_GID + "-leader")
            text._innomap_leader = line
        drawn.append(text)
    kept = _keep_clear(ax, drawn, taken)
    _halos(ax, kept)
    return Placed(kept, len(shown) - len(kept), laid_out=True)
