"""Size check of app uploads before their bytes are read (import page, road networks).

Streamlit has received the upload when the script sees it, but nothing of ours
has read it yet: ``UploadedFile.size`` is known, so a file above the limit in
``settings`` is refused before it is copied (``getvalue``), written to a
temporary folder or parsed.
"""

from __future__ import annotations

import streamlit as st

__all__ = ["too_large_message", "upload_ok"]

_MB = 1024 * 1024


def too_large_message(name: str, size_bytes: int, *, max_mb: float, fix: tuple[str, str]) -> str:
    """The bilingual refusal of an upload of ``size_bytes`` above ``max_mb`` (names both).

    ``fix`` is ``(中文, English)`` advice (what to do instead).
    """
    mb = size_bytes / _MB
    size = f"{mb:,.1f}" if mb >= 1 else f"{mb:.2g}"
    return (
        f"{name}: 文件 {size} MB, 超过上传上限 {max_mb:g} MB, 未读取; {fix[0]} / "
        f"{name} is {size} MB, above the upload limit of {max_mb:g} MB, and was not read: {fix[1]}"
    )


def upload_ok(up, *, max_mb: float, fix: tuple[str, str]) -> bool:
    """Whether ``up`` (a Streamlit ``UploadedFile``) is within ``max_mb``; else shows why not.

    Parameters
    ----------
    up : streamlit.runtime.uploaded_file_manager.UploadedFile
        The upload; only its ``name`` and ``size`` are looked at.
    max_mb : float
        The limit in MB (a ``settings`` value).
    fix : tuple of str
        ``(中文, English)`` advice shown with the refusal.
    """
    if up.size <= max_mb * _MB:
        return True
    from ui.common import md_text

    st.error(md_text(too_large_message(up.name, up.size, max_mb=max_mb, fix=fix)))
    return False
