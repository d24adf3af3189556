"""End-to-end through the reverse proxy of ``deploy/``: nginx in front of two app servers in
trusted-header mode on one PostGIS project.

nginx runs the proxy part of ``deploy/nginx/innomap.conf`` as written (upstream, WebSocket,
the ``X-Remote-User`` overwrite); only TLS and the SSO helper are swapped for a loopback
listener and HTTP basic authentication (an LDAP stand-in that also sets ``$sso_user``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import haizhou_project_in_postgis
from tests.test_e2e_browser import _free_port, browser, start_app, stop_app  # noqa: F401

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]


def _nginx() -> str | None:
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


def _render_conf(folder: Path, *, port: int, upstream: list[int], htpasswd: Path) -> Path:
    """The deploy config with a loopback listener and basic auth in place of TLS and SSO."""
    text = (ROOT / "deploy/nginx/innomap.conf").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^\s*server 127\.0\.0\.1:\d+;\n", "", text)
    servers = "".join(f"    server 127.0.0.1:{p};\n" for p in upstream)
    text = text.replace("    ip_hash;", "    ip_hash;\n" + servers.rstrip("\n"), 1)
    text = text.replace("listen 443 ssl;", f"listen 127.0.0.1:{port};")
    text = re.sub(r"(?m)^\s*ssl_certificate.*\n", "", text)
    sso = re.compile(r"    # --- B\. single sign-on.*?# -{10,}\n", re.S)
    assert sso.search(text), "the SSO block of deploy/nginx/innomap.conf moved"
    text = sso.sub(
        f'    auth_basic "InnoMap";\n    auth_basic_user_file {htpasswd};\n'
        "    set $sso_user $remote_user;\n",
        text,
    )
    main = folder / "nginx.conf"
    user = "user root;\n" if os.geteuid() == 0 else ""
    main.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log;\nevents {{}}\nhttp {{\n"
        f"  access_log {folder}/access.log;\n"
        + "".join(
            f"  {k}_temp_path {folder}/{k};\n"
            for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + text
        + "\n}\n",
        encoding="utf-8",
    )
    return main


def _htpasswd(path: Path, users: dict[str, str]) -> None:
    lines = []
    for name, pw in users.items():
        hashed = subprocess.run(
            ["openssl", "passwd", "-apr1", pw], capture_output=True, text=True, check=True
        ).stdout.strip()
        lines.append(f"{name}:{hashed}\n")
    path.write_text("".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def proxy(pg_server, tmp_path_factory):
    exe = _nginx()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is required in CI (apt-get install nginx-light)")
        pytest.skip("nginx not installed")
    folder = tmp_path_factory.mktemp("proxy")
    ref = haizhou_project_in_postgis(pg_server, folder, name="代理测试")
    roles = folder / "roles.txt"
    roles.write_text("zhang = editor\n* = viewer\n", encoding="utf-8")
    htpasswd = folder / "htpasswd"
    _htpasswd(htpasswd, {"zhang": "zhang-pw-1", "li": "li-pw-2"})
    env = {
        "INNOMAP_TRUSTED_HEADER": "X-Remote-User",
        "INNOMAP_ROLE_MAP": str(roles),
        "INNOMAP_USERS": None,
        "INNOMAP_PROJECT": ref,
        "INNOMAP_HOME": str(folder / "home"),
    }
    ports = [_free_port(), _free_port()]
    apps = [start_app(p, **env) for p in ports]
    port = _free_port()
    conf = _render_conf(folder, port=port, upstream=ports, htpasswd=htpasswd)
    ng = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
        except urllib.error.HTTPError:
            break  # 401: nginx is up
        except OSError:
            time.sleep(0.3)
    yield url
    ng.terminate()
    ng.wait(timeout=15)
    for a in apps:
        stop_app(a)


def _signed_in_as(browser, url: str, user: str, pw: str, **ctx) -> str:  # noqa: F811
    context = browser.new_context(
        http_credentials={"username": user, "password": pw},
        viewport={"width": 1400, "height": 1000},
        **ctx,
    )
    page = context.new_page()
    page.goto(url)
    caption = page.get_by_test_id("stSidebar").get_by_text("当前用户")
    caption.wait_for(timeout=60000)
    text = caption.inner_text()
    assert page.get_by_test_id("stException").count() == 0
    context.close()
    return text


def test_proxy_requires_sign_on(proxy):
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(urllib.request.Request(proxy, headers={"X-Remote-User": "zhang"}))
    assert exc.value.code == 401


def test_proxy_names_the_user_and_overwrites_a_forged_header(browser, proxy):  # noqa: F811
    assert "zhang · 编辑者" in _signed_in_as(browser, proxy, "zhang", "zhang-pw-1")
    forged = _signed_in_as(
        browser, proxy, "li", "li-pw-2", extra_http_headers={"X-Remote-User": "zhang"}
    )
    assert "li · 查看者" in forged
