"""The project store's layout (issue 25): one public API, one module per store behind one
dispatch, the same functions in each, and no store importing the API back."""

import ast
import inspect
from pathlib import Path

from layers import project, store_gpkg, store_postgis

ROOT = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def test_every_store_has_the_same_functions_with_the_same_parameters():
    for name in project.STORE_FUNCTIONS:
        gpkg = inspect.signature(getattr(store_gpkg, name))
        pg = inspect.signature(getattr(store_postgis, name))
        assert list(gpkg.parameters) == list(pg.parameters), name


def test_dispatch_picks_the_store_by_reference():
    assert project._store("a/b/p.gpkg") is store_gpkg
    assert project._store("postgresql://u@h:5432/db?project=x") is store_postgis


#: Modules each part of the store must not import (at the top or inside a function).
_NOT_IMPORTED = {
    "project_model": {
        "layers.project",
        "layers.store_common",
        "layers.store_gpkg",
        "layers.store_postgis",
    },
    "store_common": {"layers.project", "layers.store_gpkg", "layers.store_postgis"},
    "store_gpkg": {"layers.project", "layers.store_postgis"},
    "store_postgis": {"layers.project", "layers.store_gpkg"},
    "selection": set(),
}


def test_no_store_imports_the_api_another_store_or_anything_above_layers():
    for mod, forbidden in _NOT_IMPORTED.items():
        imported = _imported_modules(ROOT / "layers" / f"{mod}.py")
        above = {
            m for m in imported if m.split(".")[0] in ("geo", "render", "export", "workflows", "ui")
        }
        assert not above, (mod, above)
        assert not forbidden & imported, (mod, forbidden & imported)
