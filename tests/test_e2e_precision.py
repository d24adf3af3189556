"""End-to-end: the app map in headless Chromium draws an imprecise point with its own symbol.

A tiny project (tests/tiny_project.py) plus one platform placed at a county point
(precision 12 km): on the map page it is a hollow ring (``path.innomap-approx``, the
layer's colour as stroke, no solid fill) while the exact points stay filled, and the
legend names the symbol ("位置为近似"). Must run in CI (CI=true).
"""

from __future__ import annotations

import geopandas as gpd
import pytest

from tests.test_e2e_browser import _free_port, browser, start_app, stop_app  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    from layers.project import ProjectLayer, add_layer
    from layers.registry import REGISTRY, normalise_columns
    from tests.tiny_project import lonlat, make_project

    p = make_project(tmp_path_factory.mktemp("precise"))
    x, y = lonlat(p, 800, 800)
    g = gpd.GeoDataFrame(
        {
            "id": ["P1"],
            "name": ["县级定位的平台"],
            "kind": ["研发平台"],
            "subtype": ["重点实验室"],
            "source": ["test"],
            "coord_source": ["geocode:county"],
            "coord_precision_m": [12000.0],
            "synthetic": [False],
        },
        geometry=gpd.points_from_xy([x], [y]),
        crs=4326,
    )
    add_layer(
        p,
        ProjectLayer(
            name="平台", kind="platforms", gdf=normalise_columns(g, REGISTRY["platforms"])
        ),
    )
    port = _free_port()
    proc = start_app(port, INNOMAP_PROJECT=p.ref)
    yield f"http://127.0.0.1:{port}"
    stop_app(proc)


def test_app_map_draws_an_imprecise_point_with_its_own_symbol(browser, app_url):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app_url)
    frame = page.frame_locator("iframe[title*='st_folium']").first
    frame.locator("[data-innomap-ready]").wait_for(timeout=60000)
    ring = frame.locator("path.innomap-approx")
    ring.first.wait_for(timeout=30000)
    assert ring.count() == 1  # only the county-level platform; the exact points are filled
    style = ring.first.evaluate(
        "e => [e.getAttribute('stroke'), e.getAttribute('fill-opacity'), e.getAttribute('stroke-width')]"
    )
    assert style[0] != "#ffffff" and float(style[1]) < 0.5 and float(style[2]) >= 2
    solid = frame.locator("path.leaflet-interactive:not(.innomap-approx)")
    assert solid.count() >= 9  # 6 enterprises, 1 venue, 2 incubators (+ outlines)
    legend = frame.locator(".innomap-legend")
    assert "位置为近似" in legend.inner_text()
    assert frame.locator(".innomap-swatch-approx").count() == 1
    assert errors == []
    page.close()
