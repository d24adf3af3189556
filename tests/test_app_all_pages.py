"""Smoke test on a tiny project: every page of ``ui/pages/`` opens in both languages
(Streamlit AppTest) without an exception, with the project's own name in the sidebar.

``tests/test_app.py`` opens every page on the embedded demo project; this one opens them
on a project made in the test (6 enterprises, a venue, two incubators, a zone and an
axis), so a page that only works on the demo's data fails here. A new page file is
picked up without editing this test.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.tiny_project import make_project

APP = str(ROOT / "app.py")
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "ui" / "pages").glob("*.py"))


@pytest.fixture(scope="module")
def tiny_ref(tmp_path_factory) -> str:
    return make_project(tmp_path_factory.mktemp("tiny")).ref


def test_the_pages_are_all_there():
    assert len(PAGES) >= 8
    assert {"ui/pages/map_page.py", "ui/pages/import_page.py", "ui/pages/export_page.py"} <= set(
        PAGES
    )


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("lang", ["中文", "English"])
def test_every_page_opens_on_a_tiny_project(lang, page, tiny_ref, monkeypatch):
    monkeypatch.setenv("INNOMAP_PROJECT", tiny_ref)
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lang_choice"] = lang  # the sidebar's language radio
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert at.sidebar.radio[0].value == lang
    assert at.title, "no title"
    han = any("\u4e00" <= c <= "\u9fff" for c in at.title[0].value)
    assert han == (lang == "中文"), at.title[0].value
    shown = " ".join(str(e.value) for e in (*at.sidebar.markdown, *at.sidebar.caption))
    shown += " ".join(str(getattr(e, "value", "")) for e in at.sidebar.selectbox)
    assert "测试项目" in shown or "p.gpkg" in shown, shown[:500]
