"""End-to-end in headless Chromium: the team server's trust cases through the app — a crafted
CSV header imported by an editor into a PostGIS project runs no SQL, and a ``?project=`` link
to a database host of the sender's choosing never makes the server connect there."""

from __future__ import annotations

import pytest

from layers import auth
from layers.project import open_project
from tests.conftest import haizhou_project_in_postgis
from tests.test_e2e_browser import (  # noqa: F401
    _free_port,
    _wait_or_say,
    browser,
    start_app,
    stop_app,
)
from tests.test_team_trust import ATTACK, _CleartextServer, _schema_state

pytestmark = pytest.mark.browser

PASSWORD = "trust-密码-2026"


@pytest.fixture(scope="module")
def team(pg_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("trust")
    ref = haizhou_project_in_postgis(pg_server, folder, name="信任团队")
    users = folder / "users.json"
    auth.add_user(users, "ed", role="editor", password=PASSWORD)
    return {"ref": ref, "users": users, "folder": folder}


def test_crafted_header_imported_in_the_app(browser, team, pg_server):  # noqa: F811
    port = _free_port()
    proc = start_app(
        port,
        INNOMAP_USERS=str(team["users"]),
        INNOMAP_PROJECT=team["ref"],
        INNOMAP_HOME=str(team["folder"] / "home"),
        INNOMAP_TRUSTED_HEADER=None,
    )
    try:
        before = _schema_state(pg_server)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}")
        page.get_by_role("button", name="登录").wait_for(timeout=60000)
        page.get_by_label("用户名").fill("ed")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.get_by_test_id("stSidebar").get_by_text("当前用户: ed · 编辑者").wait_for(timeout=60000)
        page.get_by_test_id("stSidebarNav").get_by_text("导入数据").click()
        csv = team["folder"] / "名单.csv"
        head = '"' + ATTACK.replace('"', '""') + '",名称,经度,纬度\n'
        csv.write_text(head + "a,企业甲,119.17,34.60\nb,企业乙,119.18,34.61\n", encoding="utf-8")
        page.locator("input[type=file]").first.set_input_files(str(csv))
        page.get_by_text("WGS84 (GPS/天地图)").wait_for(timeout=60000)  # it asks the CRS
        page.get_by_text("WGS84 (GPS/天地图)").click()
        page.get_by_role("button", name="加入项目").click()
        _wait_or_say(page, page.get_by_text("已加入项目"))  # or what the page showed instead
        assert page.get_by_test_id("stException").count() == 0
        assert page.get_by_text("cannot connect").count() == 0
    finally:
        stop_app(proc)
    after = _schema_state(pg_server)
    assert "left_behind" not in after["tables"]
    assert not [a for a in after["audit"] if a[1] == "forged"]
    assert {p[0] for p in after["projects"]} == {p[0] for p in before["projects"]}
    layer = open_project(team["ref"]).layers["名单"]
    assert len(layer.gdf) == 2 and ATTACK in layer.gdf.columns


def test_link_to_another_database_host_is_not_followed(browser, tmp_path):  # noqa: F811
    fake = _CleartextServer()
    port = _free_port()
    proc = start_app(
        port,
        INNOMAP_HOME=str(tmp_path / "home"),
        INNOMAP_USERS=None,
        INNOMAP_TRUSTED_HEADER=None,
        INNOMAP_PROJECT=None,
        PGPASSWORD="s3cret-do-not-send",
    )
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        link = f"postgresql://innomap@127.0.0.1:{fake.port}/x?project=y"
        from urllib.parse import quote

        page.goto(f"http://127.0.0.1:{port}/?project={quote(link, safe='')}")
        page.get_by_test_id("stSidebar").get_by_text("宁波").first.wait_for(timeout=60000)
        assert page.get_by_test_id("stException").count() == 0
    finally:
        stop_app(proc)
        fake.close()
    assert fake.connections == 0 and fake.received == b""
