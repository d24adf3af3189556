"""A CJK font for matplotlib (installed by the project: Debian fonts-noto-cjk)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from matplotlib import font_manager

__all__ = ["CJK_FONT_CANDIDATES", "FontMissingError", "cjk_font", "cjk_font_path"]

CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


class FontMissingError(ValueError):
    """Raised when no CJK font is installed."""


@lru_cache(maxsize=1)
def cjk_font_path() -> str:
    """Path of an installed CJK font; raises :class:`FontMissingError` if none."""
    for p in CJK_FONT_CANDIDATES:
        if Path(p).exists():
            return p
    for f in font_manager.findSystemFonts():
        if "CJK" in f or "wqy" in f.lower():
            return f
    raise FontMissingError(
        "未找到中文字体 / no CJK font installed: run `apt-get install fonts-noto-cjk` "
        "(scripts/test.sh does this)"
    )


def cjk_font(size: float | None = None) -> font_manager.FontProperties:
    """FontProperties of the CJK font."""
    return font_manager.FontProperties(fname=cjk_font_path(), size=size)
