"""The pages' modules, imported in the background once per server process (issue 26).

The first view of a page in a new server process imported what the page needs — the
workflows, the map renderers, the chart and statistics libraries — in the planner's
click: 2–3 s of server CPU on the clusters or export page, against ~0.1 s for a later
view. :func:`warm_in_background` imports them in a daemon thread shortly after the
server's first page run, so a planner's first visit to each page finds them loaded.
The list is read from the pages themselves (their top-level imports, parsed, not run),
plus the libraries the analyses import only when they first run (:data:`LAZY`).

A module that cannot be imported is skipped and left to the page, which shows its own
message.
"""

from __future__ import annotations

import ast
import importlib
import threading
import time
from pathlib import Path

__all__ = ["LAZY", "page_modules", "warm", "warm_in_background"]

PAGES = Path(__file__).parent / "pages"

#: Libraries the analyses and renderers import inside functions, on first use.
LAZY = (
    "altair",
    "matplotlib.pyplot",
    "scipy.spatial",
    "sklearn.cluster",
    "textalloc",
    "pyarrow.compute",
)


def page_modules(pages: Path = PAGES) -> list[str]:
    """Modules the page files import at their top level (``from a import b`` gives ``a``
    and, when ``a.b`` is a module, ``a.b``), in file order, without repeats."""
    names: list[str] = []
    for f in sorted(pages.glob("*.py")):
        for node in ast.parse(f.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif (
                isinstance(node, ast.ImportFrom)
                and node.module
                and not node.level
                and node.module != "__future__"
            ):
                names.append(node.module)
                names += [f"{node.module}.{a.name}" for a in node.names if a.name != "*"]
    return list(dict.fromkeys(names))


def warm(modules: list[str] | tuple[str, ...]) -> list[str]:
    """Import ``modules``; returns those imported (names that are not modules, or fail
    to import, are skipped)."""
    done = []
    for name in modules:
        parent = name.rpartition(".")[0]
        try:
            if parent and not hasattr(importlib.import_module(parent), "__path__"):
                continue  # ``from ui.common import md_text``: md_text is not a module
            importlib.import_module(name)
        except ImportError:  # the page reports its own import errors
            continue
        done.append(name)
    return done


def warm_in_background(*, delay_s: float = 1.0) -> threading.Thread:
    """Start a daemon thread that waits ``delay_s`` (the first page run goes first) and
    then imports the pages' modules and :data:`LAZY`."""

    def run() -> None:
        time.sleep(delay_s)
        warm([*page_modules(), *LAZY])

    thread = threading.Thread(target=run, name="innomap-warm", daemon=True)
    from streamlit.runtime.scriptrunner_utils.script_run_context import (
        add_script_run_ctx,
        get_script_run_ctx,
    )

    if (ctx := get_script_run_ctx(suppress_warning=True)) is not None:
        add_script_run_ctx(thread, ctx)  # modules defining st.cache_* at import: no warnings
    thread.start()
    return thread
