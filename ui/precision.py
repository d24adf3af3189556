"""What the precision rule did to an analysis, said on its page (and the checkbox to override).

Every analysis leaves out points whose ``coord_precision_m`` is coarser than its own
scale (:class:`workflows.common.PrecisionRule`). The page leads with the siting
headline ("N existing incubators with imprecise positions were not counted …") and
with a warning for every role of which more than half was left out; then it states
what was left out (per role) and why, or that imprecise points were used on request.
"""

from __future__ import annotations

import streamlit as st

import settings
from ui.common import T, md_text
from ui.i18n import lang

__all__ = ["include_imprecise_checkbox", "precision_banner", "precision_lines"]


def _side(text: str) -> str:
    """The Chinese or English half of a bilingual "中文 / English" text, by the language."""
    zh, sep, en = str(text).partition(" / ")
    return (en if lang() == "en" else zh) if sep else zh


def precision_lines(summary: dict) -> tuple[list[str], list[str]]:
    """``(lead, notes)`` of a summary in the session's language: the headline and the
    warnings of roles more than half left out first; then what was left out and why."""
    p = summary.get("precision") or {}
    lead = [summary.get("headline") or "", *(p.get("warnings") or [])]
    return [_side(t) for t in lead if t], [_side(t) for t in p.get("notes") or []]


def precision_banner(summary: dict) -> None:
    """Lead warnings (red) and the precision notes of a result, at the top of its page."""
    lead, notes = precision_lines(summary)
    for text in lead:
        st.error(md_text(text), icon="⚠️")
    p = summary.get("precision") or {}
    for text in notes:
        if p.get("include_imprecise") and p.get("imprecise_used"):
            st.warning(md_text(text))
        else:
            st.info(md_text(text))


def include_imprecise_checkbox(*, key: str) -> bool:
    """The "use imprecise points too" checkbox of an analysis sidebar (off by default)."""
    f = settings.PRECISION_SCALE_FACTOR
    return st.checkbox(
        T("使用位置不精确的点", "Include imprecise points"),
        value=False,
        key=key,
        help=T(
            f"默认只使用坐标精度不粗于分析尺度 × {f:g} 的点 (如服务圈的可达距离、聚类半径、"
            "格网大小); 勾选后也使用其余的点 (如只定位到区县的地址), 结果会注明。",
            f"By default only points whose coordinate precision is within the analysis "
            f"scale × {f:g} are used (the reach of the cut-off, eps, the cell); tick to use "
            "the others too (e.g. addresses placed only at their county) — the result says so.",
        ),
    )
