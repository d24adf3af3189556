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
