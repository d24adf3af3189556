"""Numbers as the text maps, tables and reports show (no analysis, no I/O)."""

from __future__ import annotations

__all__ = ["share_text"]


def share_text(share: float) -> str:
    """A share as a percentage that never rounds a part to 0 % or 100 % (99.8 %, not 100 %)."""
    share = float(share)
    for digits in range(4):
        text = f"{share:.{digits}%}"
        if not 0 < share < 1 or 0 < float(text[:-1]) < 100:
            break
    return text
