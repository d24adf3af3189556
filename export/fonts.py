"""CJK fonts for matplotlib (installed by the project: Debian ``fonts-noto-cjk``).

The Noto Sans CJK collection is registered with matplotlib and its Simplified
Chinese face ("Noto Sans CJK SC") is used, so glyphs follow mainland forms.
PDF output embeds the fonts as TrueType (``pdf.fonttype = 42``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import matplotlib
from matplotlib import font_manager

from layers.errors import InnoMapError

__all__ = ["CJK_FAMILY", "FontMissingError", "cjk_font", "setup_fonts"]

CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
)
CJK_FAMILY = "Noto Sans CJK SC"


class FontMissingError(InnoMapError):
    """Raised when no CJK font is installed."""


@lru_cache(maxsize=1)
def setup_fonts() -> str:
    """Register the CJK fonts and make them matplotlib's default; returns the family.

    Raises
    ------
    FontMissingError
        If the Noto CJK fonts are not installed.
    """
    found = [p for p in CJK_FONT_FILES if Path(p).exists()]
    if not found:
        raise FontMissingError(
            "未找到中文字体 / no CJK font installed: run `apt-get install fonts-noto-cjk` "
            "(scripts/test.sh installs it)"
        )
    for p in found:
        font_manager.fontManager.addfont(p)
    matplotlib.rcParams["font.family"] = [CJK_FAMILY, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    matplotlib.rcParams["pdf.fonttype"] = 42
    matplotlib.rcParams["svg.fonttype"] = "path"
    return CJK_FAMILY


def cjk_font(size: float | None = None, *, bold: bool = False) -> font_manager.FontProperties:
    """FontProperties of the Simplified Chinese face."""
    setup_fonts()
    return font_manager.FontProperties(
        family=CJK_FAMILY, size=size, weight="bold" if bold else "normal"
    )
