"""End-to-end at 1280×800: the map is the page (in the first viewport on every map page,
its view kept across reruns), no English table header in the Chinese UI, and a
long import shows a progress bar with counts.

One app on a tiny writable project; the browser fixtures of test_e2e_browser.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from tests.test_e2e_browser import (  # noqa: F401
    SHOTS,
    _free_port,
    _idle,
    _wait_or_say,
    browser,
    start_app,
    stop_app,
)

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1280, "height": 800}
CJK = re.compile(r"[\u4e00-\u9fff]")
MAP = "iframe[title*='st_folium']"
IMPORT_ROWS = 60_000


@pytest.fixture(scope="module")
def layout_app(tmp_path_factory):
    from tests.tiny_project import make_project

    d = tmp_path_factory.mktemp("layout")
    project = make_project(d)  # a tiny writable project: fast pages, the same layout
    port = _free_port()
    proc = start_app(port, INNOMAP_PROJECT=project.ref, INNOMAP_HOME=str(d / "home"))
    yield f"http://127.0.0.1:{port}"
    stop_app(proc)


def _ready(page, timeout_s: float = 60, legend: str = ""):
    """The box of the drawn map (an old map being replaced is hidden: wait for the new one),
    with ``legend`` in its legend."""
    for _ in range(int(timeout_s * 4)):
        for i in range(page.locator(MAP).count()):
            ready = page.frame_locator(MAP).nth(i).locator("[data-innomap-ready]")
            leg = page.frame_locator(MAP).nth(i).locator(".innomap-legend", has_text=legend)
            try:
                if ready.count() and ready.first.is_visible() and leg.count():
                    box = page.locator(MAP).nth(i).bounding_box()
                    if box and box["height"] > 0:
                        return box
            except Exception:  # a frame being replaced
                pass
        page.wait_for_timeout(250)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "layout_no_map.png"), full_page=True)
    raise AssertionError("no map drawn")


def _assert_map_first(box, where: str) -> None:
    assert box is not None, where
    top, bottom = box["y"], box["y"] + box["height"]
    assert 0 < top < VIEWPORT["height"] * 0.4, (where, box)  # starts in the first viewport
    assert bottom >= VIEWPORT["height"] * 0.9, (where, box)  # and fills it
    assert box["width"] >= 0.6 * (VIEWPORT["width"] - 300), (where, box)  # the main area


def _headers(page) -> list[str]:
    """The column headers of the tables shown (the grids' accessible header cells)."""
    cells = page.locator("[data-testid=stDataFrame] [role=columnheader]")
    cells.first.wait_for(state="attached", timeout=60000)  # an accessible, unseen table
    return cells.all_inner_texts()


def test_map_first_on_every_map_page_and_chinese_headers(browser, layout_app):  # noqa: F811
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    for path in ("", "clusters_page", "coverage_page", "siting_page"):
        page.goto(f"{layout_app}/{path}")
        _assert_map_first(_ready(page), path or "map_page")
        scale = page.frame_locator(MAP).first.locator(".leaflet-control-scale").inner_text()
        assert re.fullmatch(r"\d+ k?m", scale.strip()), scale  # metric only: no ft, no mi
    _idle(page)
    page.get_by_text("情景推演(点击地图)").click()  # the siting page's what-if view
    page.get_by_test_id("stMetricValue").first.wait_for(timeout=60000)
    _idle(page)  # the result view's elements leave once the run has ended
    _assert_map_first(_ready(page), "what-if")
    page.goto(f"{layout_app}/coverage_page")
    _ready(page)
    _idle(page)
    page.get_by_role("button", name="计算覆盖").click()
    _assert_map_first(_ready(page, legend="15 分钟服务圈"), "coverage result")
    heads = _headers(page)
    assert "覆盖率 (%)" in heads and "时间阈值 (分钟)" in heads, heads
    assert all(CJK.search(h) for h in heads), heads  # no English header in the Chinese UI
    _idle(page)
    page.get_by_role("tab", name="按片区").first.click()  # coverage by zone as bars, offline
    page.locator("[data-testid=stVegaLiteChart] >> visible=true").first.wait_for(timeout=30000)
    own = urlparse(layout_app).netloc
    hosts = {urlparse(u).netloc for u in requests if urlparse(u).scheme.startswith(("http", "ws"))}
    assert hosts <= {own}, hosts
    assert errors == []
    page.close()


def _zoom(page, *, other_than=None):
    """(frame, zoom) of the map on screen; with ``other_than``, of a map drawn anew."""
    for _ in range(120):
        for f in page.frames:
            if "streamlit_folium" not in f.url or f is other_than or f.is_detached():
                continue
            try:
                z = f.evaluate(
                    "() => window.map && window.map._loaded ? window.map.getZoom() : null"
                )
            except Exception:  # a frame being replaced
                continue
            if z is not None:
                return f, z
        page.wait_for_timeout(250)
    raise AssertionError("no map frame")


def test_map_keeps_its_view_across_reruns(browser, layout_app):  # noqa: F811
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(layout_app)
    _ready(page)
    page.wait_for_timeout(1000)  # the map's first report
    frame, zoom0 = _zoom(page)
    zoom_in = page.frame_locator(MAP).first.locator(".leaflet-control-zoom-in")
    zoom_in.click()
    page.wait_for_timeout(400)
    zoom_in.click()  # quicker than the app answers: the map must not jump back meanwhile
    page.wait_for_timeout(2500)  # the view goes back to the app (a rerun)
    assert _zoom(page)[1] == zoom0 + 2
    # a filter changes what is drawn: the map is drawn anew, at the same place
    _idle(page)
    page.get_by_test_id("stSidebar").get_by_text("显示模拟数据").click()
    _, zoom = _zoom(page, other_than=frame)
    page.wait_for_timeout(1500)  # it has moved to the kept view
    assert _zoom(page)[1] == zoom0 + 2, zoom
    page.close()


#: Records every text a progress bar shows (and whether 取消 is shown with it) as the page
#: changes, so a bar that has gone by the time the test looks is still checked.
_RECORD_BARS = """() => {
  window.__bars = [];
  new MutationObserver(() => {
    const cancel = [...document.querySelectorAll('button')].some(b => b.innerText.includes('取消'));
    for (const el of document.querySelectorAll('[data-testid=stProgress]')) {
      window.__bars.push([el.innerText, cancel]);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_long_import_shows_progress_with_counts(browser, layout_app, tmp_path):  # noqa: F811
    path = tmp_path / "企业名单.csv"
    rows = ["id,name,lon,lat,source,coord_precision_m,synthetic,as_of"]
    rows += [
        f"B{i},企业{i},{121.50 + (i % 997) * 1e-4:.5f},{29.85 + (i % 991) * 1e-4:.5f},e2e,10,true,2026"
        for i in range(IMPORT_ROWS)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{layout_app}/import_page")
    page.evaluate(_RECORD_BARS)  # the bar goes when the read ends: every state it showed
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    total = page.get_by_test_id("stMetricValue").first
    total.wait_for(timeout=90000)
    shown = page.evaluate("window.__bars")
    assert shown, "no progress bar was shown"
    # rows counted before reading, with the cancel button beside the bar
    assert any(f"/ {IMPORT_ROWS:,} 行" in text and cancel for text, cancel in shown), shown[-5:]
    assert total.inner_text().replace(",", "") == str(IMPORT_ROWS)
    page.close()


#: True once nothing in the sidebar moves: no animation, the element's expander not scrolled
#: inside (it is while it unfolds) and the element where it was a frame ago.
_SETTLED = """sel => {
  const el = document.querySelector(sel);
  if (!el || document.getAnimations().some(a => a.playState === 'running')) return false;
  for (let p = el.parentElement; p; p = p.parentElement)
    if (p.tagName === 'DETAILS' && p.scrollTop !== 0) return false;
  const y = el.getBoundingClientRect().top, last = window.__settledY;
  window.__settledY = y;
  return last === y;
}"""


def _title(page, text: str, timeout_s: float = 90) -> None:
    """Wait for the page title ``text`` (the page shown after a rerun)."""
    page.locator("[data-testid=stMain] h1", has_text=text).first.wait_for(timeout=timeout_s * 1000)


def test_language_and_project_switch_keep_the_page_headers_follow_fonts_local(
    browser,  # noqa: F811
    layout_app,
):
    page = browser.new_page(viewport=VIEWPORT)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    side = page.get_by_test_id("stSidebar")
    page.goto(f"{layout_app}/coverage_page")
    _ready(page)
    _idle(page)
    side.get_by_text("English", exact=True).click()  # the language: the same page, in English
    _title(page, "15-minute science service circles")
    _assert_map_first(_ready(page, legend="Services and demand"), "coverage (en)")
    _idle(page)
    page.get_by_role("button", name="Compute coverage").click()
    _ready(page, legend="15 min")
    heads = _headers(page)
    assert "Share covered (%)" in heads and "Cut-off (min)" in heads, heads
    assert not any(CJK.search(h) for h in heads), heads  # no Chinese header in the English UI
    # the project: another one opened from the sidebar, the page stays
    _idle(page)
    recent = side.locator(".st-key-prj_recent input")
    side.get_by_text("Project: open / new / save as").click()
    recent.wait_for(timeout=20000)
    # a list opened while its expander still unfolds (or low in the sidebar, which then
    # scrolls to show the options) is closed again by that scroll: wait for the expander to
    # settle and bring the list to the middle of the sidebar first
    page.wait_for_function(_SETTLED, arg=".st-key-prj_recent input", timeout=20000)
    recent.evaluate("el => el.scrollIntoView({block: 'center'})")
    page.wait_for_function(_SETTLED, arg=".st-key-prj_recent input", timeout=20000)
    recent.click()
    page.get_by_role("option", name="demo", exact=True).click(timeout=10000)  # opens it
    _wait_or_say(page, side.get_by_text("宁波示例项目").first, 120000)  # the project, always shown
    _title(page, "15-minute science service circles")
    _assert_map_first(_ready(page, timeout_s=120), "coverage after switching project")
    # the export and data pages: English headers; back to Chinese on the data page
    for label, title in (("Export", "Export for planning documents"), ("Layers & sources", "")):
        _idle(page)
        side.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()
        _title(page, title or "Layers & sources", timeout_s=40)
        heads = _headers(page)
        assert "Records" in heads and not any(CJK.search(h) for h in heads), (label, heads)
    _idle(page)
    side.get_by_text("中文", exact=True).click()
    _title(page, "图层与数据源")
    for head in ("记录数", "经度"):  # both tables (layers, records) drawn again, in Chinese
        page.locator("[data-testid=stDataFrame] [role=columnheader]", has_text=head).first.wait_for(
            state="attached", timeout=60000
        )
    heads = _headers(page)
    assert "记录数" in heads and "经度" in heads, heads
    assert all(CJK.search(h) for h in heads), heads
    # offline: every request (fonts of the icons included) to the app itself
    own = urlparse(layout_app).netloc
    hosts = {urlparse(u).netloc for u in requests if urlparse(u).scheme.startswith(("http", "ws"))}
    assert hosts <= {own}, hosts
    fonts = [u for u in requests if u.split("?")[0].endswith((".woff2", ".woff", ".ttf"))]
    assert any("MaterialSymbols" in u for u in fonts), fonts  # the icon font, served locally
    page.close()


#: From the map box's first frame on: every frame's height of the import preview's map box
#: and of the element just above it (the preview grid, or its loading placeholder).
_RECORD_PREVIEW = """() => {
  window.__boxes = [];
  const tick = () => {
    const box = document.querySelector('.st-key-mapbox_imp');
    if (box) {
      let outer = box;
      while (outer.parentElement && !outer.parentElement.matches('[data-testid=stVerticalBlock]'))
        outer = outer.parentElement;
      const grid = outer.previousElementSibling;
      window.__boxes.push([Math.round(box.getBoundingClientRect().height),
                           grid ? Math.round(grid.getBoundingClientRect().height) : -1]);
    }
    if (window.__boxes.length < 600) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def test_import_preview_holds_its_place_while_it_loads(browser, layout_app, tmp_path):  # noqa: F811
    """The preview's grid and map take their final height from their first frame: nothing
    below them (the CRS question, 加入项目) moves under a click aimed at it while the page
    settles. Streamlit draws a 40 px placeholder for a grid still loading and a map frame 0 px
    tall until its script has run (and for a moment beside the placeholder): a click on the
    answer made then landed 400 px away."""
    path = tmp_path / "两行.csv"
    path.write_text("name,lon,lat\n甲,121.55,29.87\n乙,121.56,29.88\n", encoding="utf-8")
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{layout_app}/import_page")
    page.get_by_test_id("stFileUploaderDropzoneInput").wait_for(state="attached", timeout=60000)
    _idle(page)
    page.evaluate(_RECORD_PREVIEW)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    page.get_by_text("WGS84 (GPS/天地图)").wait_for(timeout=60000)  # no CRS stated: it asks
    page.locator(MAP).first.wait_for(timeout=60000)
    _idle(page)
    seen = [tuple(s) for s in page.evaluate("window.__boxes")]
    assert seen, "the preview map never appeared"
    assert {box for box, _ in seen} == {420}, sorted(set(seen))
    assert {grid for _, grid in seen} == {107}, sorted(set(seen))  # 2 rows and the header
    page.close()
