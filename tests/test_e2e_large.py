"""End-to-end: a project with 100,000 enterprises on the map page, in headless Chromium.

The large layer is drawn by the large-layer renderer (WebGL where a GPU draws it, the
culled 2D canvas on this headless machine) from data files the page fetches (not
inlined), a click on a point shows that record's popup, a rerun that does not change
the map keeps it (no reload, no second fetch), and no request leaves loopback.
"""

from __future__ import annotations

import time
from urllib.parse import urlparse

import numpy as np
import pytest

from tests.test_e2e_browser import _free_port, browser, start_app, stop_app  # noqa: F401

pytestmark = pytest.mark.browser

N = 100_000
TARGET = 54_321  # the record clicked


@pytest.fixture(scope="module")
def large_project(tmp_path_factory):
    from layers.importer import ImportOptions, import_file
    from layers.project import ProjectLayer, add_layer, open_project, save_as

    d = tmp_path_factory.mktemp("large")
    rng = np.random.default_rng(11)
    lon = 121.55 + rng.normal(0, 0.04, N)
    lat = 29.88 + rng.normal(0, 0.03, N)
    lon[TARGET], lat[TARGET] = 121.6012, 29.9034
    csv = d / "企业名录.csv"
    with csv.open("w", encoding="utf-8") as f:
        f.write("id,name,subtype,lon,lat,source,coord_source,coord_precision_m,synthetic\n")
        for i in range(N):
            f.write(
                f"L{i:06d},大名单企业{i},高新技术企业,{lon[i]:.6f},{lat[i]:.6f},"
                f"e2e,e2e,10,{'true' if i % 2 else 'false'}\n"
            )
    rep = import_file(csv, ImportOptions(kind="enterprises"))
    assert len(rep.valid) == N
    path = d / "large.gpkg"
    project = save_as(open_project(None), path)
    add_layer(project, ProjectLayer(name="大名单", kind="enterprises", gdf=rep.valid))
    return path


@pytest.fixture(scope="module")
def large_app(large_project):
    port = _free_port()
    proc = start_app(port, INNOMAP_PROJECT=str(large_project))
    yield f"http://127.0.0.1:{port}"
    stop_app(proc)


_FIND_MAP = "Object.values(window).find(v => v instanceof L.Map)"


def test_100k_points_paint_and_a_click_shows_the_right_record(browser, large_app):  # noqa: F811
    t0 = time.perf_counter()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(large_app)
    frame = page.frame_locator("iframe[title*='st_folium']").first
    frame.locator("[data-innomap-ready]").wait_for(timeout=50000)
    frame.locator("canvas.innomap-gl-canvas").first.wait_for(timeout=10000)
    counts = frame.locator("[data-innomap-ready]").get_attribute("data-innomap-counts")
    assert f'"大名单":{N}' in counts.replace(" ", "")
    assert frame.locator(".innomap-legend").inner_text().count(str(N)) == 1
    inner = next(f for f in page.frames if f.query_selector("[data-innomap-ready]"))
    # the large layer is drawn (pixels on its canvas), then zoom to the target and click it
    drawn = inner.evaluate(
        f"""() => {{ const map = {_FIND_MAP}; let lyr = null;
        map.eachLayer(l => {{ if (l.innomapGl) lyr = l; }});
        return lyr ? [lyr.innomapRenderer, lyr._d.n] : null; }}"""
    )
    assert drawn is not None and drawn[1] == N and drawn[0] in ("webgl", "canvas")
    xy = inner.evaluate(
        f"""() => {{ const map = {_FIND_MAP};
        map.setView([29.9034, 121.6012], 17, {{animate: false}});
        // the demo's own marker layers off: the click meets the district polygon only
        map.eachLayer(l => {{ if (l.innomapMarkers) map.removeLayer(l); }});
        const p = map.latLngToContainerPoint([29.9034, 121.6012]);
        const r = map.getContainer().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y]; }}"""
    )
    page.wait_for_timeout(500)
    box = page.locator("iframe[title*='st_folium']").first.bounding_box()
    page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
    # the point's popup (its property table is fetched at the first click; under load the
    # outline's popup beneath can show for a moment before it, fading out)
    card = frame.locator(".leaflet-popup-content").filter(has_text=f"大名单企业{TARGET}").first
    card.wait_for(timeout=30000)
    assert card.locator(".innomap-popup-title").inner_text() == f"大名单企业{TARGET}"
    table = card.locator(".innomap-popup-table").inner_text()
    assert f"L{TARGET:06d}" in table and "高新技术企业" in table
    # the data came as files (pairs, then the property table), not inside the page
    fetched = [u for u in requests if "/app/static/cache/" in u]
    assert [u.rsplit("/", 1)[1].split(".", 1)[1] for u in fetched] == ["bin.gz", "props.gz"], (
        fetched
    )
    # a rerun that leaves the map as it is (a search without hits) keeps the map
    inner.evaluate("() => { window.__innomapKept = 1; }")
    page.get_by_label("名称搜索").first.fill("不存在的企业xyz")
    page.keyboard.press("Enter")
    page.get_by_text("没有找到匹配的名称").first.wait_for(timeout=30000)
    page.wait_for_timeout(1500)
    inner = next(f for f in page.frames if f.query_selector("[data-innomap-ready]"))
    assert inner.evaluate("() => window.__innomapKept") == 1  # the same map, not reloaded
    assert [u for u in requests if "/app/static/cache/" in u] == fetched
    own = urlparse(large_app).netloc
    foreign = {
        urlparse(u).netloc for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss")
    } - {own}
    assert foreign == set(), f"requests left the machine: {foreign}"
    assert errors == []
    page.close()
    assert time.perf_counter() - t0 < 60
