"""End-to-end in headless Chromium: the team set-up — two app servers, one PostGIS project,
sign-in required, wrong password refused, a viewer sees no import, an editor imports on one
server and the other server shows the new layer after a rerun.
"""

from __future__ import annotations

import pytest

from layers import auth
from layers.project import audit_log, open_project
from tests.conftest import haizhou_project_in_postgis
from tests.test_e2e_browser import _free_port, browser, start_app, stop_app  # noqa: F401

pytestmark = pytest.mark.browser

PASSWORD = "team-密码-2026"


@pytest.fixture(scope="module")
def team(pg_server, tmp_path_factory):
    """A PostGIS project and a users file with a viewer and an editor."""
    folder = tmp_path_factory.mktemp("team")
    ref = haizhou_project_in_postgis(pg_server, folder, name="连云港团队")
    users = folder / "users.json"
    auth.add_user(users, "vera", role="viewer", password=PASSWORD)
    auth.add_user(users, "ed", role="editor", password=PASSWORD)
    return {"ref": ref, "users": users, "folder": folder}


@pytest.fixture(scope="module")
def servers(team):
    """Two app servers on the same database (as behind the reverse proxy of deploy/)."""
    env = {
        "INNOMAP_USERS": str(team["users"]),
        "INNOMAP_PROJECT": team["ref"],
        "INNOMAP_HOME": str(team["folder"] / "home"),
        "INNOMAP_TRUSTED_HEADER": None,
    }
    ports = [_free_port(), _free_port()]
    procs = [start_app(p, **env) for p in ports]
    yield [f"http://127.0.0.1:{p}" for p in ports]
    for proc in procs:
        stop_app(proc)


def _sign_in(page, url: str, name: str, password: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="登录").wait_for(timeout=60000)
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_team_sign_in_roles_and_two_servers(browser, team, servers):  # noqa: F811
    one, two = servers
    # sign-in is required: no map, no data before it
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _sign_in(page, one, "vera", "not-the-password")
    page.get_by_text("用户名或密码错误").wait_for(timeout=60000)
    assert page.get_by_text("当前用户").count() == 0

    # a viewer on server two: signed in, browses, but no import page and no save
    view = browser.new_page(viewport={"width": 1400, "height": 1000})
    _sign_in(view, two, "vera", PASSWORD)
    sb = view.get_by_test_id("stSidebar")
    sb.get_by_text("当前用户: vera · 查看者").wait_for(timeout=60000)
    sb.get_by_text("项目: 连云港团队").wait_for(timeout=60000)
    sb.get_by_text("1 个图层").first.wait_for(timeout=60000)
    nav = view.get_by_test_id("stSidebarNav")
    nav.get_by_text("地图").first.wait_for(timeout=60000)
    assert nav.get_by_text("导入数据").count() == 0

    # an editor on server one imports a layer
    ed = browser.new_page(viewport={"width": 1400, "height": 1000})
    _sign_in(ed, one, "ed", PASSWORD)
    ed.get_by_test_id("stSidebar").get_by_text("当前用户: ed · 编辑者").wait_for(timeout=60000)
    ed.get_by_test_id("stSidebarNav").get_by_text("导入数据").click()
    csv = team["folder"] / "孵化器名单.csv"
    csv.write_text(
        "name,lon,lat,subtype\n海州孵化器甲,119.17,34.60,孵化器\n"
        "海州孵化器乙,119.18,34.61,众创空间\n",
        encoding="utf-8",
    )
    ed.locator("input[type=file]").first.set_input_files(str(csv))
    kind = ed.get_by_test_id("stSelectbox").filter(has_text="图层类别")
    kind.wait_for(timeout=60000)
    kind.get_by_role("combobox").click()
    ed.get_by_role("option", name="孵化器/众创空间").click()
    ed.get_by_text("WGS84 (GPS/天地图)").wait_for(timeout=60000)  # it asks the CRS
    ed.get_by_text("WGS84 (GPS/天地图)").click()
    ed.get_by_role("button", name="加入项目").click()
    ed.get_by_text("已加入项目").wait_for(timeout=60000)

    # the viewer, still signed in on server two, sees the layer after a rerun
    nav.get_by_text("图层与数据源").first.click()
    sb.get_by_text("2 个图层").first.wait_for(timeout=60000)
    assert view.get_by_test_id("stException").count() == 0
    assert "孵化器名单" in open_project(team["ref"]).layers
    log = [(r["user"], r["action"]) for r in audit_log(open_project(team["ref"]))]
    assert ("ed", "add_layer") in log
