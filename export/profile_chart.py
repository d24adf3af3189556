"""The corridor-profile chart (PNG/PDF/SVG) for the page, the CLI and the Word report.

Drawn from a profile summary alone (``summary["bins"]``, as saved with a run),
so a saved run gives the same chart without being run again. One panel per
kind (each with its own scale, so a few incubators are not hidden under
thousands of enterprises) and, when computed, a panel of the covered share;
the bins are compared side by side along the axis.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from layers.errors import InnoMapError
from layers.registry import REGISTRY
from render.fonts import cjk_font, setup_fonts

__all__ = ["profile_chart"]

FORMATS = ("png", "pdf", "svg")


def _bins(summary: dict):
    bins = summary.get("bins") or []
    if not bins:
        raise InnoMapError("剖面没有分段 / the profile has no bins: run the profile again")
    f = np.array([float(b["from_m"]) for b in bins]) / 1000.0
    t = np.array([float(b["to_m"]) for b in bins]) / 1000.0
    return bins, f, t


def _share_panel(ax, mid, width, share, minutes, lang: str, font) -> None:
    """Covered share per bin (%); empty bins marked with a grey cross."""
    ax.bar(mid, np.nan_to_num(share) * 100, width=width, color="#2b83ba")
    empty = np.isnan(share)
    if empty.any():
        ax.scatter(mid[empty], np.zeros(empty.sum()), marker="x", color="#999999", s=12)
    ax.set_ylabel(
        (f"{minutes:g} 分钟\n覆盖率 (%)" if lang == "zh" else f"covered\nin {minutes:g} min (%)"),
        fontproperties=font,
    )
    ax.set_ylim(0, 105)
    ax.grid(axis="y", lw=0.3, alpha=0.5)


def profile_chart(
    summary: dict,
    *,
    lang: str = "zh",
    fmt: str = "png",
    dpi: int = 150,
    width_in: float = 10.0,
) -> bytes:
    """Bytes of the profile chart of a profile ``summary`` (see :mod:`workflows.profile`).

    Parameters
    ----------
    summary : dict
        ``bins`` (``from_m``, ``to_m``, a count per kind, ``covered_share``),
        ``kinds``, ``axis``, ``bin_m``, ``band_m`` and optionally ``minutes``.
    lang : {"zh", "en"}
    fmt : {"png", "pdf", "svg"}
    dpi : int
    width_in : float
        Figure width (inches); the height grows with the number of panels.
    """
    if fmt not in FORMATS:
        raise InnoMapError(f"不支持的格式 / unsupported format {fmt!r}: use png, pdf or svg")
    setup_fonts()
    bins, f, t = _bins(summary)
    kinds = [k for k in summary.get("kinds", []) if any(k in b for b in bins)]
    share = np.array(
        [np.nan if b.get("covered_share") is None else float(b["covered_share"]) for b in bins]
    )
    has_share = summary.get("covered") is not None
    n = len(kinds) + (1 if has_share else 0) or 1
    fig, axes = plt.subplots(
        n, 1, figsize=(width_in, 1.0 + 1.35 * n), dpi=dpi, sharex=True, squeeze=False
    )
    axes = axes[:, 0]
    mid, width = (f + t) / 2, (t - f) * 0.9
    font, small = cjk_font(9), cjk_font(8)
    for ax, k in zip(axes, kinds, strict=False):
        counts = np.array([float(b.get(k) or 0) for b in bins])
        spec = REGISTRY.get(k)
        ax.bar(mid, counts, width=width, color=spec.color if spec else "#777777")
        label = spec.name(lang) if spec else k
        ax.set_ylabel(label + ("\n(个)" if lang == "zh" else "\n(count)"), fontproperties=small)
        ax.set_ylim(0, max(1.0, counts.max() * 1.15))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.grid(axis="y", lw=0.3, alpha=0.5)
    if has_share:
        _share_panel(axes[len(kinds)], mid, width, share, summary.get("minutes"), lang, small)
    axes[-1].set_xlabel(
        "距轴线起点 (km)" if lang == "zh" else "distance from the axis start (km)",
        fontproperties=font,
    )
    axes[-1].set_xlim(0, t[-1])
    name = summary.get("axis", "")
    bin_m, band_m = float(summary.get("bin_m", 0)), float(summary.get("band_m", 0))
    title = (
        f"{name} 走廊剖面: 每 {bin_m:g} 米分段, 轴线两侧各 {band_m:g} 米"
        if lang == "zh"
        else f"{name} corridor profile: {bin_m:g} m bins, {band_m:g} m each side"
    )
    fig.suptitle(title, fontproperties=cjk_font(11, bold=True))
    if summary.get("synthetic_share"):
        s = float(summary["synthetic_share"])
        fig.text(
            0.5,
            0.005,
            f"注意: 输入中 {s:.0%} 为模拟数据, 仅用于演示方法"
            if lang == "zh"
            else f"Note: {s:.0%} of the input rows are synthetic (method demonstration only)",
            ha="center",
            va="bottom",
            color="#b10026",
            fontproperties=small,
        )
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    plt.close(fig)
    return buf.getvalue()
