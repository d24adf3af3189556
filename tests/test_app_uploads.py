"""Road-network uploads in the app (issue 22): a viewer's upload is read from a temporary
file removed when the read ends, only the prepared graph is kept in a bounded folder;
an editor's upload is kept in the project within a quota of edges."""

from __future__ import annotations

import os
import time

import pytest
from streamlit.testing.v1 import AppTest

import settings
from tests.conftest import ROOT
from tests.fixtures_net import write_osm_xml


@pytest.fixture()
def osm_bytes(tmp_path) -> bytes:
    return write_osm_xml(tmp_path / "net.osm").read_bytes()


@pytest.fixture()
def watched(monkeypatch, tmp_path):
    """Open mode, own cache folder; every network read records its file and whether that
    file existed while it was read."""
    from workflows import network

    monkeypatch.delenv("INNOMAP_USERS", raising=False)
    monkeypatch.delenv("INNOMAP_TRUSTED_HEADER", raising=False)
    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(network, "CACHE_DIR", tmp_path / "cache")
    reads: list[tuple[str, bool]] = []
    real = network.load_network

    def spy(path, **kw):
        reads.append((str(path), os.path.exists(path)))
        return real(path, **kw)

    monkeypatch.setattr(network, "load_network", spy)
    return reads, tmp_path / "cache"


def _coverage_page(monkeypatch, project: str | None = None) -> AppTest:
    if project:
        monkeypatch.setenv("INNOMAP_PROJECT", project)
    else:
        monkeypatch.delenv("INNOMAP_PROJECT", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.switch_page("ui/pages/coverage_page.py").run()
    assert not at.exception, at.exception
    return at


def test_a_viewers_upload_is_read_from_a_temporary_file_then_removed(
    watched, monkeypatch, osm_bytes
):
    reads, cache = watched
    at = _coverage_page(monkeypatch)  # the read-only demo: nothing kept in a project
    at.file_uploader(key="cov_network").upload("路网.osm", osm_bytes, "text/xml").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (path, existed), *_ = reads
    assert existed and not os.path.exists(path)  # read from it, then removed
    assert not os.path.exists(os.path.dirname(path))  # with its folder
    kept = sorted(p.name for p in cache.rglob("*") if p.is_file())
    assert len(kept) == 1 and kept[0].endswith(".npz"), kept  # the prepared graph only
    assert at.session_state["network_ref"] == str(cache / "uploads" / kept[0])
    assert any("个节点" in c.value for c in at.caption)
    # the same content under another name: not read again
    n = len([r for r in reads if not r[0].endswith(".npz")])
    at.file_uploader(key="cov_network").clear().upload("again.osm", osm_bytes, "text/xml").run()
    assert len([r for r in reads if not r[0].endswith(".npz")]) == n
    assert sorted(p.name for p in cache.rglob("*") if p.is_file()) == kept


def test_the_uploads_folder_stays_under_its_limit(tmp_path):
    from ui.network_panel import _make_room

    folder = tmp_path / "uploads"
    folder.mkdir()
    now = time.time()
    for i in range(5):  # 5 × 400 KiB, oldest first
        f = folder / f"g{i}.npz"
        f.write_bytes(b"x" * 400 * 1024)
        os.utime(f, (now - 100 + i, now - 100 + i))
    _make_room(folder, incoming_bytes=600 * 1024, max_mb=2.0)  # 2 MiB with the new one
    assert sorted(p.name for p in folder.iterdir()) == ["g2.npz", "g3.npz", "g4.npz"]


def test_an_editors_upload_is_kept_within_the_quota(watched, monkeypatch, tmp_path, osm_bytes):
    from layers import auth, networks
    from layers.project import create_project, open_project

    read: list[tuple[str, bool]] = []
    real = networks.read_network_edges
    monkeypatch.setattr(
        networks,
        "read_network_edges",
        lambda path, **kw: read.append((str(path), os.path.exists(path))) or real(path, **kw),
    )

    auth.set_actor(None)
    proj = create_project(tmp_path / "p.gpkg", name="宁波测试", city="宁波市", counties=["鄞州区"])
    monkeypatch.setattr(settings, "PROJECT_NETWORK_EDGES_MAX", 3)
    at = _coverage_page(monkeypatch, proj.ref)
    at.file_uploader(key="cov_network").upload("大路网.osm", osm_bytes, "text/xml").run()
    assert any("配额" in e.value and "大路网" in e.value for e in at.error), at.error
    assert open_project(proj.ref).networks == {}
    monkeypatch.setattr(settings, "PROJECT_NETWORK_EDGES_MAX", 5_000_000)
    at.file_uploader(key="cov_network").clear().upload("路网.osm", osm_bytes, "text/xml").run()
    assert not at.error, [e.value for e in at.error]
    assert list(open_project(proj.ref).networks) == ["路网"]
    assert not list((tmp_path / "cache").glob("uploads/*"))  # nothing of it outside the project
    assert len(read) == 2 and all(existed and not os.path.exists(p) for p, existed in read)
