"""InnoMap 创新资源一张图 — Streamlit entry point (page config and navigation)."""

import streamlit as st

import layers as _layers_pkg  # noqa: F401  (first: sets GDAL_SKIP=VRT before GDAL loads)

st.set_page_config(page_title="InnoMap 创新资源一张图", layout="wide")


@st.cache_resource(show_spinner=False)
def _warm_pages() -> None:
    """Import the pages' modules (workflows, renderers, chart and statistics libraries)
    in the background, once per server process: a planner's first visit to a page
    otherwise waits 1–3 s for them (ui/warm.py)."""
    from ui.warm import warm_in_background

    warm_in_background()


_warm_pages()

from ui.i18n import keep_choices, t  # noqa: E402

st.sidebar.radio(
    "语言 / Language",
    ["中文", "English"],
    key="lang_choice",
    horizontal=True,
    on_change=keep_choices,  # the page's choices survive the switch (shown in the new language)
)

from layers import auth  # noqa: E402
from ui.auth_panel import auth_gate  # noqa: E402
from ui.project_panel import project_panel  # noqa: E402
from ui.state import apply_secrets  # noqa: E402

apply_secrets()  # the PostGIS password from the app's secrets, for libpq

auth_gate()  # who acts in this run (sign-in form / trusted header); the store checks roles

project_panel()

pages = [
    st.Page("ui/pages/map_page.py", title=t("page_map"), default=True),
    st.Page("ui/pages/clusters_page.py", title=t("page_clusters")),
    st.Page("ui/pages/coverage_page.py", title=t("page_coverage")),
    st.Page("ui/pages/siting_page.py", title=t("page_siting")),
    st.Page("ui/pages/profile_page.py", title=t("page_profile")),
    st.Page("ui/pages/compare_page.py", title=t("page_compare")),
    *([st.Page("ui/pages/import_page.py", title=t("page_import"))] if auth.can("editor") else []),
    *([st.Page("ui/pages/draw_page.py", title=t("page_draw"))] if auth.can("editor") else []),
    st.Page("ui/pages/export_page.py", title=t("page_export")),
    st.Page("ui/pages/data_page.py", title=t("page_data")),
]
st.navigation(pages).run()
