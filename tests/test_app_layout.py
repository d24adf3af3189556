"""AppTest of the map-first layout: controls in the sidebar, the map first in the main
area with its kept view, labelled tables (Chinese / English), charts, the first-run guide."""

from __future__ import annotations

import json
import re

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "app.py")
LATIN_ONLY = re.compile(r"^[A-Za-z_][A-Za-z0-9_ ]*$")


def _app(page: str | None = None, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["guide_seen"] = True
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def headers(el) -> list[str]:
    """The headers a st.dataframe shows (its column labels), index hidden."""
    cfg = json.loads(el.proto.columns or "{}")
    return [cfg.get(c, {}).get("label", c) for c in el.value.columns]


def assert_chinese_headers(at: AppTest) -> None:
    assert len(at.dataframe) > 0
    for el in at.dataframe:
        for h in headers(el):
            assert not LATIN_ONLY.match(h), (h, headers(el))


def _map_args(at: AppTest) -> dict:
    comps = at.main.get("component_instance")
    assert comps, "no map"
    return json.loads(comps[0].proto.json_args)


def _first_leaf(el):
    kids = list(getattr(el, "children", {}).values())
    return _first_leaf(kids[0]) if getattr(el, "type", "") == "flex_container" and kids else el


def _holds_map(el) -> bool:
    """A container (a fragment) with the map among its own elements."""
    kids = list(getattr(el, "children", {}).values())
    return el.type == "flex_container" and any(
        _first_leaf(k).type == "component_instance" for k in kids
    )


def _flat(els) -> list:
    """The elements in order, the fragments around the map opened up (the what-if panel, the
    map's own): what they show, in their order."""
    out = []
    for el in els:
        out += _flat(el.children.values()) if _holds_map(el) else [el]
    return out


def _first_main_types(at: AppTest, n: int = 4) -> list[str]:
    """Types of the first main-area elements (style blocks left out)."""
    kinds = [getattr(c, "type", "") for c in _flat(at.main.children.values())]
    return [k for k in kinds if k != "markdown"][:n]


def test_demo_opens_with_the_guide_once_per_session():
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    assert at.button(key="guide_ok")
    assert any("模拟" in m.value for m in at.markdown)
    assert_chinese_headers(at)  # the guide's layer table
    at.button(key="guide_ok").click().run()
    assert not [b for b in at.button if b.key == "guide_ok"]
    at.run()  # remembered in the session
    assert not [b for b in at.button if b.key == "guide_ok"]
    at.sidebar.button(key="guide_open").click().run()  # and opened again on request
    assert at.button(key="guide_ok")


def test_map_page_map_first_controls_in_sidebar_and_kept_view():
    at = _app()
    assert at.sidebar.text_input(key="search_q") is not None
    assert at.sidebar.multiselect(key="layers_sel") is not None
    kinds = _first_main_types(at)
    assert kinds[:3] == ["title", "warning", "component_instance"]  # title, banner, the map
    args = _map_args(at)
    assert args["center"] is None and args["returned_objects"][:2] == ["center", "zoom"]
    # a view reported by the map is passed back on the next run
    at.session_state["mapview_main_view"] = (("demo", "", None), ((29.95, 121.61), 13))
    at.run()
    args = _map_args(at)
    assert args["center"] == [29.95, 121.61] and args["zoom"] == 13
    # choosing a zone frames the zone: the kept view is dropped
    at.selectbox(key="zone_sel").set_value("中官路创业创新大街").run()
    assert _map_args(at)["center"] is None


def test_coverage_page_layout_labels_and_charts():
    at = _app("ui/pages/coverage_page.py")
    assert at.sidebar.button(key="cov_run") is not None
    assert at.main.get("component_instance")  # the map before any run
    at.sidebar.button(key="cov_run").click().run()
    assert not at.exception, at.exception
    assert at.main.get("component_instance")
    at.button(key="cov_sens").click().run()
    assert_chinese_headers(at)
    charts = at.main.get("vega_lite_chart")
    assert len(charts) >= 3  # by zone, by district, sensitivity
    assert any(m.label == "15 分钟覆盖率" for m in at.metric)
    at.sidebar.radio[0].set_value("English").run()
    heads = [h for el in at.dataframe for h in headers(el)]
    assert "Share covered (%)" in heads and "Cut-off (min)" in heads
    assert not any("\u4e00" <= ch <= "\u9fff" for h in heads for ch in h if h != "Zone")


def test_clusters_page_layout_and_labels():
    at = _app("ui/pages/clusters_page.py")
    assert at.main.get("component_instance")
    at.sidebar.button(key="cl_run").click().run()
    assert not at.exception, at.exception
    assert at.main.get("vega_lite_chart")  # cluster sizes
    assert_chinese_headers(at)
    assert "点数" in headers(at.dataframe[1])


def test_siting_page_layout_labels_and_what_if_view():
    at = _app("ui/pages/siting_page.py")
    assert at.main.get("component_instance")  # demand and existing sites before solving
    at.selectbox(key="site_zone").set_value("中官路创业创新大街").run()
    at.number_input(key="site_k").set_value(2).run()
    at.sidebar.button(key="site_run").click().run()
    assert not at.exception, at.exception
    assert_chinese_headers(at)
    assert "边际增益" in headers(at.dataframe[0])
    assert len(at.main.get("vega_lite_chart")) >= 2  # marginal gains, change by zone
    at.sidebar.radio(key="site_view").set_value("whatif").run()
    assert not at.exception, at.exception
    kinds = _first_main_types(at, 8)
    assert "component_instance" in kinds  # the what-if map before its numbers
    assert kinds.index("component_instance") < kinds.index("flex_container")
    at.button(key="whatif_apply").click().run()  # a hypothetical incubator: coverage changes
    assert not at.exception, at.exception
    delta = at.metric[0].delta
    assert delta.endswith("百分点"), delta  # no English unit in the Chinese UI
    at.button(key="whatif_save").click().run()
    assert_chinese_headers(at)
    table = at.dataframe[-1]
    assert "覆盖率 (%)" in headers(table) and "覆盖率变化 (百分点)" in headers(table)
    change = float(table.value["change"].iloc[-1])  # shown in percentage points, once ×100
    assert abs(change - float(delta.split()[0])) < 0.051, (change, delta)
    assert change != 0


def test_map_signature_follows_content_not_element_ids():
    from layers.project import open_project
    from render.input_maps import Role, input_map_layers, layers_bounds
    from render.webmap import build_map
    from ui.mapview import map_signature

    p = open_project(None)

    def sig(refs):
        layers = input_map_layers(p, [Role("pts", "点", refs)], "zh")
        return map_signature(build_map(layers, lang="zh", fit_bounds=layers_bounds(p, layers)))

    assert sig(("platforms",)) == sig(("platforms",))  # rebuilt: new random ids, same map
    assert sig(("platforms",)) != sig(("universities",))


def test_export_page_tables_labelled_with_field_names_kept():
    import io

    from openpyxl import load_workbook

    from export.labelled import FIELDS_SHEET

    at = _app("ui/pages/export_page.py")
    assert_chinese_headers(at)  # the chosen layers' overview
    assert "记录数" in headers(at.dataframe[0])
    at.button(key="ex_tables_btn").click().run()
    assert not at.exception, at.exception
    fmt, data = at.session_state["ex_table_file"]
    wb = load_workbook(io.BytesIO(data))
    assert fmt == "xlsx" and FIELDS_SHEET in wb.sheetnames
    first = wb[wb.sheetnames[0]]
    heads = [c.value for c in first[1]]
    assert "名称" in heads and "经度" in heads and "name" not in heads, heads
    fields = {r[1]: r[2] for r in wb[FIELDS_SHEET].iter_rows(min_row=2, values_only=True)}
    assert fields["名称"] == "name" and fields["经度"] == "lon"
    at.selectbox(key="ex_tfmt").set_value("csv").run()
    at.button(key="ex_tables_btn").click().run()
    text = at.session_state["ex_table_file"][1].decode("utf-8-sig").splitlines()
    assert text[0].startswith("表,") and text[1].startswith("table,"), text[:2]
    assert "名称" in text[0].split(",") and "name" in text[1].split(",")


def test_data_page_records_labelled_formatted_and_downloadable():
    at = _app("ui/pages/data_page.py")
    assert not at.exception, at.exception
    assert_chinese_headers(at)
    records = next(el for el in at.dataframe if "经度" in headers(el))
    assert "坐标精度(米)" in headers(records)
    cfg = json.loads(records.proto.columns)
    assert cfg["lon"]["type_config"]["format"] == "%,.6f"  # numbers formatted
    assert at.get("download_button")  # CSV/XLSX of the records, field names kept
    at.sidebar.radio[0].set_value("English").run()
    heads = [h for el in at.dataframe for h in headers(el)]
    assert "Longitude" in heads and "Records" in heads, heads
    assert not any("\u4e00" <= ch <= "\u9fff" for h in heads for ch in h), heads
