"""Names are text in the browser (issue 22): a project named with a Markdown image, bold and
math shows as typed in the sidebar and on the data page, and the browser fetches nothing."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.test_e2e_browser import _free_port, browser, start_app, stop_app  # noqa: F401

pytestmark = pytest.mark.browser


HITS: list[str] = []


class _Counter(BaseHTTPRequestHandler):
    def do_GET(self):
        HITS.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def named_app(tmp_path_factory):
    from layers import auth
    from layers.project import create_project

    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    image = f"http://127.0.0.1:{srv.server_address[1]}/p.png"
    name = f"![x]({image}) **粗体** $x$ <img src={image}>"
    folder = tmp_path_factory.mktemp("names_e2e")
    auth.set_actor(None)
    project = create_project(folder / "p.gpkg", name=name, city="连云港市", counties=["海州区"])
    port = _free_port()
    proc = start_app(
        port,
        INNOMAP_PROJECT=project.ref,
        INNOMAP_HOME=str(folder / "home"),
        INNOMAP_USERS=None,
        INNOMAP_TRUSTED_HEADER=None,
    )
    yield f"http://127.0.0.1:{port}", name
    stop_app(proc)
    srv.shutdown()


def test_a_project_name_with_an_image_is_text(named_app, browser):  # noqa: F811
    url, name = named_app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url + "/data_page")
    main = page.get_by_test_id("stMain")
    main.get_by_text("连云港", exact=False).first.wait_for(timeout=60000)
    side = page.get_by_test_id("stSidebar")
    side.get_by_text("粗体", exact=False).first.wait_for(timeout=60000)
    page.wait_for_timeout(500)  # time for an image to be asked for
    assert name in side.inner_text()  # as typed: no image, no bold, no math
    assert name in main.inner_text()
    assert page.locator("img[src*='p.png']").count() == 0
    assert page.locator("strong:text-is('粗体'), b:text-is('粗体')").count() == 0
    assert HITS == []
    page.close()
