"""The CJK font of print maps, charts and PDF reports — shipped with the Python requirements.

The font is **Noto Sans SC** (Simplified Chinese subset of Noto Sans CJK, SIL Open
Font License 1.1; see ``data/NOTICE``) from the PyPI package ``pylopdf-fonts-zh-cn``
(pinned in ``requirements.txt``). It is registered with matplotlib **by path**, so
print maps and report figures work right after ``pip install -r requirements.txt``
on a machine with no system CJK font, and the output does not depend on which
system fonts happen to be installed. PDF output embeds it as TrueType
(``pdf.fonttype = 42``).

LibreOffice (PDF reports) finds it through a fontconfig file that adds the font's
folder to the system configuration (:func:`fontconfig_file`).
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib
from matplotlib import font_manager

from layers.errors import InnoMapError

__all__ = [
    "CJK_FAMILY",
    "FontMissingError",
    "cjk_font",
    "cjk_font_path",
    "fontconfig_file",
    "setup_fonts",
]

#: The family name of the shipped face (as matplotlib and fontconfig report it).
CJK_FAMILY = "Noto Sans SC"
#: The PostScript name the face has inside PDFs (subset prefix ``ABCDEF+`` before it).
CJK_POSTSCRIPT = "NotoSansSC-Regular"
_PACKAGE = "pylopdf-fonts-zh-cn"


class FontMissingError(InnoMapError):
    """Raised when the shipped CJK font package is not installed."""


def cjk_font_path() -> Path:
    """The path of the shipped Noto Sans SC font file.

    Raises
    ------
    FontMissingError
        If the font package is missing (the message says how to install it).
    """
    try:
        import pylopdf_fonts_zh_cn as pkg

        path = Path(pkg.sans_path())
    except ImportError:
        path = None
    if path is None or not path.is_file():
        raise FontMissingError(
            f"未找到中文字体包 / the CJK font package is missing: run "
            f"`pip install -r requirements.txt` (it brings {_PACKAGE}, Noto Sans SC)"
        )
    return path


@lru_cache(maxsize=1)
def _register_font() -> None:
    """Add the shipped font file to matplotlib's font list (once per process)."""
    font_manager.fontManager.addfont(str(cjk_font_path()))


def setup_fonts() -> str:
    """Register the shipped CJK font with matplotlib and make it the default; returns the family.

    The settings are applied on every call (cheap): a ``matplotlib.rc_context`` around an
    earlier call restores the old settings on exit, so caching them would lose them.

    Raises
    ------
    FontMissingError
        If the font package is not installed.
    """
    _register_font()
    matplotlib.rcParams["font.family"] = [CJK_FAMILY, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    matplotlib.rcParams["pdf.fonttype"] = 42
    matplotlib.rcParams["svg.fonttype"] = "path"
    return CJK_FAMILY


def cjk_font(size: float | None = None, *, bold: bool = False) -> font_manager.FontProperties:
    """FontProperties of the Simplified Chinese face (loaded from its file)."""
    setup_fonts()
    return font_manager.FontProperties(
        fname=str(cjk_font_path()), size=size, weight="bold" if bold else "normal"
    )


@lru_cache(maxsize=2)
def fontconfig_file(*, include_system: bool = True) -> Path:
    """A fontconfig file adding the shipped font's folder to the system configuration.

    Pass it to programs that find fonts through fontconfig (LibreOffice) as
    ``FONTCONFIG_FILE``; the system's own configuration is included when present
    (``include_system=False``: the shipped font alone, as on a machine without fonts).
    """
    folder = cjk_font_path().parent
    system = Path("/etc/fonts/fonts.conf")
    include = (
        f"<include ignore_missing='yes'>{escape(str(system))}</include>" if include_system else ""
    )
    cache = Path(tempfile.gettempdir()) / f"innomap-fontconfig-{os.getuid()}"
    cache.mkdir(parents=True, exist_ok=True)
    conf = cache / ("fonts.conf" if include_system else "fonts-shipped-only.conf")
    tmp = conf.with_name(f".{conf.name}.{os.getpid()}")
    tmp.write_text(
        "<?xml version='1.0'?>\n<!DOCTYPE fontconfig SYSTEM 'fonts.dtd'>\n<fontconfig>\n"
        f"  {include}\n  <dir>{escape(str(folder))}</dir>\n"
        f"  <cachedir>{escape(str(cache / 'cache'))}</cachedir>\n</fontconfig>\n",
        encoding="utf-8",
    )
    os.replace(tmp, conf)  # atomic: parallel processes never read half a file
    return conf
