"""The pages' modules are imported in the background once per server process (issue 26)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ui.warm import LAZY, page_modules, warm

ROOT = Path(__file__).resolve().parents[1]


def test_page_modules_are_what_the_pages_import(tmp_path):
    (tmp_path / "a_page.py").write_text(
        "from __future__ import annotations\nimport json\nfrom workflows import coverage\n"
        "from ui.common import md_text\nfrom . import x\n",
        encoding="utf-8",
    )
    assert page_modules(tmp_path) == [
        "json",
        "workflows",
        "workflows.coverage",
        "ui.common",
        "ui.common.md_text",
    ]
    # the real pages: every analysis workflow the pages use is among them
    real = page_modules()
    assert {"workflows.clusters", "workflows.coverage", "workflows.siting"} <= set(real)


def test_warm_imports_modules_and_skips_names_that_are_not_modules():
    code = (
        "import sys; from ui.warm import warm; "
        "done = warm(['workflows.coverage', 'ui.common.md_text', 'no_such_module_x']); "
        "print(done, 'workflows.coverage' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['workflows.coverage'] True"


def test_lazy_libraries_exist():
    assert warm(LAZY) == list(LAZY)  # a renamed library would leave the list stale
