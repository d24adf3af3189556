"""The large layers' data files (``static/cache/``) behind the ``deploy/`` nginx (issue 22).

Streamlit serves ``/app/static/`` without any sign-in. The deploy config authenticates
every location (SSO there; HTTP basic authentication here, as in ``test_e2e_proxy``) and
the app listens on loopback only, so a data file reaches only a signed-on user — also in
option A (the app's own users file) — and is not sent again when unchanged.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from layers import auth
from render.webmap import GL_CACHE_DIR
from tests.test_e2e_browser import _free_port, browser, start_app, stop_app  # noqa: F401
from tests.test_e2e_proxy import _htpasswd, _nginx, _render_conf

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """nginx (the deploy config) before one app process in users-file mode (option A)."""
    exe = _nginx()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is required in CI (apt-get install nginx-light)")
        pytest.skip("nginx not installed")
    folder = tmp_path_factory.mktemp("static_proxy")
    users = folder / "users.json"
    auth.add_user(users, "ada", role="viewer", password="ada-app-pw-1")
    htpasswd = folder / "htpasswd"
    _htpasswd(htpasswd, {"ada": "ada-sso-pw-1"})
    app_port = _free_port()
    app = start_app(
        app_port,
        INNOMAP_USERS=str(users),
        INNOMAP_TRUSTED_HEADER=None,
        INNOMAP_HOME=str(folder / "home"),
    )
    # a data file as the map writes it: a digest name, gzip bytes
    GL_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(20) + ".bin.gz"
    data = os.urandom(4096)
    (GL_CACHE_DIR / name).write_bytes(data)
    port = _free_port()
    conf = _render_conf(folder, port=port, upstream=[app_port], htpasswd=htpasswd)
    ng = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
        except urllib.error.HTTPError:
            break  # 401: nginx is up
        except OSError:
            time.sleep(0.2)
    try:
        yield {
            "url": url,
            "app": f"http://127.0.0.1:{app_port}",
            "name": name,
            "data": data,
            "folder": folder,
        }
    finally:
        ng.terminate()
        ng.wait(timeout=15)
        stop_app(app)
        (GL_CACHE_DIR / name).unlink(missing_ok=True)


def _get(url: str, *, user: str | None = None, pw: str = "", **headers):
    if user is not None:
        token = base64.b64encode(f"{user}:{pw}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_every_path_needs_the_sign_on(proxied):
    url, name = proxied["url"], proxied["name"]
    for path in (f"/app/static/cache/{name}", "/", "/_stcore/health", "/app/static/"):
        assert _get(url + path)[0] == 401, path
        assert _get(url + path, user="ada", pw="wrong")[0] == 401, path
        # a header naming a user is no sign-on
        assert _get(url + path, **{"X-Remote-User": "ada"})[0] == 401, path
    # the app itself (what nginx protects) does serve it: the protection is nginx's
    assert _get(proxied["app"] + f"/app/static/cache/{name}")[2] == proxied["data"]


def test_a_signed_on_user_gets_the_data(proxied):
    url = f"{proxied['url']}/app/static/cache/{proxied['name']}"
    status, headers, body = _get(url, user="ada", pw="ada-sso-pw-1")
    assert status == 200 and body == proxied["data"]
    cache = headers.get("Cache-Control", "")
    assert "private" in cache and "immutable" in cache and "max-age=86400" in cache


@pytest.mark.browser
def test_the_browser_fetches_unchanged_data_once(proxied, browser):  # noqa: F811
    """Through nginx, Chromium keeps the data file: asked for again (a rerun drawing the same
    layer), it is not sent again — nginx's access log has one 200 for it."""
    # the sign-on as a header (Playwright's http_credentials intercept requests, and
    # interception turns Chromium's HTTP cache off)
    token = base64.b64encode(b"ada:ada-sso-pw-1").decode()
    context = browser.new_context(extra_http_headers={"Authorization": f"Basic {token}"})
    page = context.new_page()
    page.goto(proxied["url"] + "/_stcore/health")
    path = f"/app/static/cache/{proxied['name']}"
    js = "async (u) => (await (await fetch(u)).arrayBuffer()).byteLength"
    sizes = [page.evaluate(js, path) for _ in range(3)]
    context.close()
    assert sizes == [len(proxied["data"])] * 3
    log = (proxied["folder"] / "access.log").read_text(encoding="utf-8")
    served = [
        line
        for line in log.splitlines()
        if f"GET {path} " in line and '" 200 ' in line and "HeadlessChrome" in line
    ]
    assert len(served) == 1, served


def test_the_deploy_keeps_the_app_on_loopback():
    conf = (ROOT / "deploy/nginx/innomap.conf").read_text(encoding="utf-8")
    upstream = re.search(r"upstream innomap \{(.*?)\}", conf, re.S).group(1)
    servers = re.findall(r"(?m)^\s*server\s+(\S+);", upstream)
    assert servers and all(s.startswith("127.0.0.1:") for s in servers)
    # authentication is at server level (every location), not inside one location
    server_block = conf[conf.index("server {") :]
    first_location = re.search(r"(?m)^\s*location ", server_block).start()
    assert "auth_request /_sso;" in server_block[:first_location]
    unit = (ROOT / "deploy/systemd/innomap@.service").read_text(encoding="utf-8")
    assert "--address 127.0.0.1" in unit
