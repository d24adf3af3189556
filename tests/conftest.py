"""Shared fixtures: tiny projected data and the embedded layers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

XSS_NAME = "<img src=x onerror=\"document.title='XSS'\">"


@pytest.fixture(scope="session")
def embedded():
    from layers.registry import load_all

    return load_all()


@pytest.fixture()
def xss_csv(tmp_path):
    """A canonical incubator CSV holding a record named like an XSS payload."""
    path = tmp_path / "<b>evil<\\b>`${x}`.csv"
    path.write_text(
        "id,name,subtype,level,address,lon,lat,source,coord_source,coord_precision_m,synthetic,as_of\n"
        f'X1,"{XSS_NAME.replace(chr(34), chr(34) * 2)}",孵化器,区级,"<script>alert(1)</script>",'
        "121.6400,29.9300,test fixture,test,10,true,2026\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL + PostGIS on loopback for the whole session (must run in CI)."""
    from tests.pg_server import start

    try:
        server = start()
    except RuntimeError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL/PostGIS not available: {exc}")
    yield server
    server.stop()


_COPIES = iter(range(10**6))


def project_in_store(store: str, base, tmp_path, *, label: str, server=None) -> str:
    """A fresh copy of project file ``base`` in ``store`` ("gpkg" or "postgis"), made as admin.

    Returns the ``.gpkg`` path or the ``postgresql://…?project=…`` reference.
    """
    from layers import auth
    from layers.project import copy_project

    if store == "gpkg":
        p = Path(tmp_path) / f"{label}.gpkg"
        p.write_bytes(Path(base).read_bytes())
        return str(p)
    ref = server.project_ref(f"{label}{next(_COPIES)}")
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        copy_project(base, ref, force=True)
    finally:
        auth.set_actor(None)
    return ref


def haizhou_project_in_postgis(server, folder, *, name: str) -> str:
    """A small 连云港 (海州区) project created as admin and copied into PostGIS as ``name``."""
    from layers import auth
    from layers.project import create_project

    base = Path(folder) / "base.gpkg"
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        create_project(base, name=name, city="连云港市", counties=["海州区"])
    finally:
        auth.set_actor(None)
    return project_in_store("postgis", base, folder, label=name, server=server)


def app_on_page(monkeypatch, project, home, page: str, *, timeout_s: float = 180):
    """An AppTest of the app opened on ``project`` (own ``INNOMAP_HOME``), switched to
    ``ui/pages/<page>.py`` without an exception."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("INNOMAP_HOME", str(home))
    monkeypatch.setenv("INNOMAP_PROJECT", str(project))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout_s)
    at.run()
    at.switch_page(f"ui/pages/{page}.py").run()
    assert not at.exception, at.exception
    return at
