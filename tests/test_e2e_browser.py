"""End-to-end: the real app in headless Chromium, offline, with hostile data.

These tests must run in CI (CI=true): a missing browser is a failure there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlparse

import pytest

from tests.conftest import ROOT, XSS_NAME

pytestmark = pytest.mark.browser

SHOTS = ROOT / "out" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _idle(page, timeout_s: float = 60) -> None:
    """Wait until the app has finished running (no running indicator for half a second)."""
    quiet = 0
    for _ in range(int(timeout_s * 10)):
        running = page.get_by_test_id("stStatusWidget").count() > 0
        quiet = 0 if running else quiet + 1
        if quiet >= 5:
            return
        page.wait_for_timeout(100)


def _wait_or_say(page, locator, timeout_ms: int = 60000) -> None:
    """``locator.wait_for``; waited in vain, fail with what the page and its sidebar showed
    (for the CI log: a click lost, an error shown, or still running)."""
    try:
        locator.wait_for(timeout=timeout_ms)
    except Exception as e:
        shown = [
            f"{tid}: " + page.get_by_test_id(tid).inner_text(timeout=10000)[:2500]
            for tid in ("stMain", "stSidebar")
            if page.get_by_test_id(tid).count()
        ]
        raise AssertionError("\n---\n".join(shown) or "nothing shown") from e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def hostile_csv(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    path = d / "<b>evil<\\b>.csv"
    name = XSS_NAME.replace('"', '""')
    path.write_text(
        "id,name,subtype,level,address,lon,lat,source,coord_source,coord_precision_m,synthetic,as_of\n"
        f'X1,"{name}",创新平台,区级,"<script>document.title=1</script>",121.7400,29.9600,'
        "e2e fixture,test,10,true,2026\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def hostile_project(hostile_csv, tmp_path_factory):
    """The demo saved as a project file, plus a platform layer named after a hostile file."""
    from layers.importer import ImportOptions, import_file
    from layers.project import ProjectLayer, add_layer, open_project, save_as

    path = tmp_path_factory.mktemp("project") / "demo.gpkg"
    project = save_as(open_project(None), path)
    rep = import_file(hostile_csv, ImportOptions(kind="platforms"))
    add_layer(
        project,
        ProjectLayer(
            name=hostile_csv.name, kind="platforms", gdf=rep.valid, source_file=str(hostile_csv)
        ),
    )
    return path


def start_app(port: int, **env: str | None) -> subprocess.Popen:
    """Start ``streamlit run app.py`` on loopback ``port`` (``env``: variables to set, None to unset)."""
    full = dict(os.environ)
    for k, v in env.items():
        if v is None:
            full.pop(k, None)
        else:
            full[k] = v
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail("streamlit did not start: " + proc.stdout.read().decode(errors="replace")[-2000:])


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def app_url(hostile_project):
    port = _free_port()
    proc = start_app(port, INNOMAP_PROJECT=str(hostile_project))
    yield f"http://127.0.0.1:{port}"
    stop_app(proc)


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("Chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open_map(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    frame = page.frame_locator("iframe[title*='st_folium']").first
    frame.locator("[data-innomap-ready]").wait_for(timeout=60000)
    return page, frame, requests, errors


def test_map_renders_offline_with_every_layer(browser, app_url):
    page, frame, requests, errors = _open_map(browser, app_url)
    # markers: SVG circle markers and cluster icons are in the DOM
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=30000)
    frame.locator(".marker-cluster").first.wait_for(timeout=30000)
    counts = frame.locator("[data-innomap-ready]").get_attribute("data-innomap-counts")
    for key in (
        "districts",
        "zones",
        "universities",
        "platforms",
        "incubators",
        "science_venues",
        "enterprises",
    ):
        assert f'"{key}"' in counts
    assert frame.locator(".innomap-legend").is_visible()
    page.wait_for_timeout(500)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "map_page.png"), full_page=True)
    own = urlparse(app_url).netloc
    foreign = sorted(
        {
            urlparse(u).netloc
            for u in requests
            if urlparse(u).scheme in ("http", "https", "ws", "wss")
        }
        - {own}
    )
    assert foreign == [], f"requests left the machine: {foreign}"
    assert errors == []
    page.close()


def test_hostile_record_name_shows_as_text(browser, app_url):
    page, frame, requests, errors = _open_map(browser, app_url)
    title_before = page.title()
    box = page.get_by_label("名称搜索")
    box.fill("onerror")
    box.press("Enter")
    popup = frame.locator(".leaflet-popup-content .innomap-popup-title")
    popup.wait_for(timeout=60000)
    assert popup.inner_text() == XSS_NAME
    page.wait_for_timeout(800)  # give an injected onerror time to fire
    assert page.title() == title_before
    assert page.evaluate("document.title") == title_before
    assert frame.locator("img[src='x']").count() == 0
    assert frame.locator(".innomap-popup script").count() == 0
    # the hostile file name is shown as text in the layer control
    labels = frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert any("<b>evil<\\b>.csv" in t for t in labels), labels
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "xss_popup.png"), full_page=True)
    own = urlparse(app_url).netloc
    assert {
        urlparse(u).netloc for u in requests if urlparse(u).scheme.startswith(("http", "ws"))
    } <= {own}
    assert errors == []
    page.close()


def test_what_if_click_adds_an_incubator(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app_url + "/siting_page")
    page.get_by_text("情景推演(点击地图)").click(timeout=60000)  # the what-if view (sidebar)
    metric = page.get_by_test_id("stMetricValue").nth(1)
    metric.wait_for(timeout=60000)  # the what-if numbers (under its map)
    frame = page.frame_locator("iframe[title*='st_folium']").first
    frame.locator("[data-innomap-ready]").wait_for(timeout=60000)
    before = int(metric.inner_text().strip())  # existing incubators (synthetic ones left out)
    assert before > 0
    iframe = page.locator("iframe[title*='st_folium']").first
    iframe.scroll_into_view_if_needed()
    box = iframe.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5)
    page.wait_for_function(
        "n => [...document.querySelectorAll('[data-testid=stMetricValue]')]"
        ".some(e => e.innerText.trim() === String(n))",
        arg=before + 1,
        timeout=60000,
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "what_if.png"), full_page=True)
    assert errors == []
    page.close()


@pytest.mark.parametrize(
    "path",
    ["clusters_page", "coverage_page", "siting_page", "import_page", "export_page", "data_page"],
)
def test_every_page_renders_in_the_browser_offline(browser, app_url, path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{app_url}/{path}")
    page.get_by_test_id("stHeading").first.wait_for(timeout=60000)
    page.wait_for_timeout(1500)
    assert page.get_by_test_id("stException").count() == 0
    own = urlparse(app_url).netloc
    assert {
        urlparse(u).netloc for u in requests if urlparse(u).scheme.startswith(("http", "ws"))
    } <= {own}
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{path}.png"), full_page=False)
    assert errors == []
    page.close()


def test_coverage_flow_in_the_browser(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{app_url}/coverage_page")
    frame = page.frame_locator("iframe[title*='st_folium']").first
    result = frame.locator(".innomap-legend", has_text="15 分钟服务圈")
    frame.locator("[data-innomap-ready]").wait_for(timeout=60000)  # the page has drawn
    page.get_by_role("button", name="计算覆盖").click()  # once: a click is never lost
    _wait_or_say(page, result)
    legend = frame.locator(".innomap-legend").inner_text()
    assert "15 分钟服务圈" in legend and "直线距离近似法" in legend
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "coverage_flow.png"), full_page=True)
    assert errors == []
    page.close()


def test_export_html_map_is_built_when_its_button_is_pressed(browser, app_url, tmp_path):
    """The interactive HTML map on the export page is built on its button (not on every page
    view) and downloads as one offline file with the project's layers (the hostile address
    as escaped text)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{app_url}/export_page")
    build = page.get_by_role("button", name="生成交互式 HTML 地图(离线单文件)")
    build.wait_for(timeout=90000)
    _idle(page)
    build.click()
    download = page.get_by_role("button", name="下载交互式 HTML 地图")
    download.wait_for(timeout=120000)
    _idle(page)
    with page.expect_download(timeout=120000) as info:
        download.click()
    path = tmp_path / "map.html"
    info.value.save_as(path)
    html = path.read_text(encoding="utf-8")
    assert info.value.suggested_filename == "innomap_map.html"
    assert "L.map(" in html or "L.map (" in html or "leaflet" in html.lower()
    assert "<script>document.title=1</script>" not in html  # the hostile address stays text
    assert not any(s in html for s in ("https://unpkg.com", "cdn.jsdelivr", "cdnjs"))
    assert page.get_by_test_id("stException").count() == 0
    assert errors == []
    page.close()
