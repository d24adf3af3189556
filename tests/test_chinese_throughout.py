"""Chinese throughout, English available (issue 27): every page in 中文 (analyses run) and
a Word report in Chinese show none of the English labels the issue found (raw class names,
run types, method notes, option labels), cut-offs are in numeric order in the charts, and the
same options read in English when English is chosen."""

from __future__ import annotations

import io
import json
import re

import docx
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

#: English words and raw values that must not reach a Chinese page or report (the issue's
#: finds: hot-spot classes, the hot-spot study area, Clark–Evans patterns, solver notes,
#: option labels, cluster parameters, layer kinds and weight fields by their keys).
OFFENDERS = [
    r"\bnot_significant\b",
    r"\b(hot|cold)_\d\d\b",
    r"convex hull",
    r"\b(clustered|dispersed)\b",
    r"\brandom\b",
    r"\bheuristic\b",
    r"\bgreedy\b",
    r"\bexact\b",
    r"\b(walk|bike|drive)\b",
    r"\b(landscape|portrait)\b",
    r"\bmin_samples\b",
    r"\bmin_cluster_size\b",
    r"\beps=",
    r"\b(incubators|universities|platforms|enterprises|science_venues|communities)\b",
    r"\b(employees|rd_spend_wan|floor_area_m2|incubated_firms)\b",
    r"\b(coverage|clusters|hotspots|site|profile|whatif)\b",  # run types
    r"\bChoose (an )?options?\b",  # Streamlit's placeholder, where it can be given
]
_OFFENDER = re.compile("|".join(OFFENDERS))
#: The data page's NOTICE (licences, quoted as published) is not UI text.
_QUOTED = ("Embedded dataset: sources and licences",)
#: What each page runs before it is read (small, fast settings).
ACTIONS = {
    "clusters_page": [("number_input", "hs_perm", 99), ("button", "cl_run"), ("button", "hs_run")],
    "coverage_page": [("button", "cov_run")],
    "siting_page": [("selectbox", "site_solver", "heuristic"), ("button", "site_run")],
    "profile_page": [("button", "pf_run")],
}
PAGES = [
    "map_page",
    "clusters_page",
    "coverage_page",
    "siting_page",
    "profile_page",
    "compare_page",
    "import_page",
    "export_page",
    "data_page",
]


def shown_texts(at: AppTest) -> list[str]:
    """Every text a page shows: labels, options as shown, help, alerts, markdown, captions,
    metric labels and the text cells of tables (widget *values* are the code's, not shown)."""
    out: list[str] = []

    def walk(node) -> None:
        for attr in ("label", "help", "placeholder", "body"):
            v = getattr(node, attr, None)
            if isinstance(v, str):
                out.append(v)
        if type(node).__name__ in ("Markdown", "Caption", "Text", "Title", "Header", "Subheader"):
            out.append(str(node.value))
        opts = getattr(node, "options", None)
        if isinstance(opts, (list, tuple)):
            out.extend(str(o) for o in opts)
        if type(node).__name__ == "Dataframe":
            df = node.value
            out.extend(str(x) for c in df.columns if df[c].dtype == object for x in df[c])
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(at._tree)
    return [t for t in out if not any(q in t for q in _QUOTED)]


def _page(name: str, *, language: str = "中文", run: bool = True) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["lang_choice"] = language
    at.run()
    at.switch_page(f"ui/pages/{name}.py").run()
    for kind, key, *value in ACTIONS.get(name, []) if run else []:
        widget = getattr(at, kind)(key=key)
        (widget.click() if kind == "button" else widget.set_value(value[0])).run()
    assert not at.exception, (name, at.exception)
    return at


#: File names are names (``data/enterprises.csv``), not labels.
_FILE = re.compile(r"[\w./\\-]+\.(csv|xlsx|xls|geojson|gpkg|kml|kmz|shp|zip|dxf|json|png|pdf)\b")


def _offences(texts: list[str]) -> list[tuple[str, str]]:
    return [(m.group(0), t[:120]) for t in texts for m in [_OFFENDER.search(_FILE.sub("", t))] if m]


def _chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


@pytest.mark.parametrize("name", PAGES)
def test_pages_in_chinese_show_no_english_labels(name):
    at = _page(name)
    texts = shown_texts(at)
    assert texts
    assert _offences(texts) == []


def test_the_scan_finds_an_english_label():
    """The scan is not blind: a raw hot-spot class or option value is found."""
    assert _offences(["类别 hot_99", "步行 walk", "研究范围: convex hull of the points"]) == [
        ("hot_99", "类别 hot_99"),
        ("walk", "步行 walk"),
        ("convex hull", "研究范围: convex hull of the points"),
    ]
    assert _offences(["DBSCAN 邻域半径 300 米", "热点 (99% 置信度)", "GB 50180-2018"]) == []


def test_cut_offs_in_numeric_order_and_hot_spot_classes_in_chinese():
    at = _page("coverage_page")
    domains = [
        s["encoding"]["color"]["scale"]["domain"]
        for s in _chart_specs(at)
        if "color" in s.get("encoding", {})
    ]
    assert ["5 分钟", "10 分钟", "15 分钟"] in domains
    from layers.project import demo_project
    from workflows.common import district_order

    order = district_order(demo_project())
    assert order[:3] == ["海曙区", "江北区", "北仑区"]  # the districts layer's (adcode) order
    rows = [s["encoding"]["x"]["sort"] for s in _chart_specs(at)]
    by_district = [r for r in rows if set(r) <= set(order)]
    assert by_district and all(r == [d for d in order if d in r] for r in by_district)
    assert all(d == sorted(d, key=lambda x: float(x.split()[0])) for d in domains if "分钟" in d[0])
    at = _page("clusters_page")
    classes = [
        df.value for df in at.dataframe if "class" in df.value and "cells" in df.value
    ]  # fmt: skip
    assert classes and set(classes[0]["class"]) <= {
        "热点 (99% 置信度)", "热点 (95% 置信度)", "热点 (90% 置信度)", "不显著",
        "冷点 (90% 置信度)", "冷点 (95% 置信度)", "冷点 (99% 置信度)",
    }  # fmt: skip


def test_district_order_keeps_rows_of_a_district_together():
    import pandas as pd

    from layers.project import demo_project
    from workflows.common import in_district_order

    frame = pd.DataFrame(
        {"district": ["鄞州区", "未定", "海曙区", "鄞州区", "海曙区"], "minutes": [5, 5, 5, 10, 10]}
    )
    out = in_district_order(frame, demo_project())
    assert out["district"].tolist() == ["海曙区", "海曙区", "鄞州区", "鄞州区", "未定"]
    assert out["minutes"].tolist() == [5, 10, 5, 10, 5]


def test_english_is_available():
    at = _page("coverage_page", language="English", run=False)
    assert at.selectbox(key="cov_mode").options == ["walk", "bike", "drive"]
    at = _page("export_page", language="English", run=False)
    assert at.selectbox(key="ex_orient").options == ["landscape", "portrait"]
    assert _page("coverage_page", run=False).selectbox(key="cov_mode").options == [
        "步行",
        "骑行",
        "驾车",
    ]


@pytest.fixture(scope="module")
def report_docx(tmp_path_factory):
    from layers.project import open_project, save_run
    from tests.tiny_project import AXIS, make_project
    from workflows import clusters, coverage, hotspots, profile, siting
    from workflows.report import ReportRequest, build

    p = make_project(tmp_path_factory.mktemp("zh_report"))
    runs = [
        coverage.run(p, coverage.CoverageRequest(service=("科普场馆",), demand=("enterprises",),
                                                 weight="employees")),
        siting.run(p, siting.SitingRequest(demand=("enterprises",), existing="incubators", k=1)),
        clusters.run(p, clusters.ClustersRequest(layers=("enterprises",), eps_m=200, min_samples=2)),
        hotspots.run(p, hotspots.HotspotsRequest(layers=("enterprises",), cell_m=200,
                                                 permutations=99)),
        profile.run(p, profile.ProfileRequest(axis=AXIS, service=("science_venues",))),
    ]  # fmt: skip
    for i, r in enumerate(runs):
        save_run(p, analysis=r.analysis, title=f"分析{i + 1}", request=r.request, summary=r.summary)
    data, _ = build(open_project(p.ref), ReportRequest(dpi=50))
    return docx.Document(io.BytesIO(data))


def test_report_in_chinese_has_no_english_labels(report_docx):
    texts = [p.text for p in report_docx.paragraphs]
    texts += [c.text for t in report_docx.tables for r in t.rows for c in r.cells]
    # bilingual notes (中文 / English) carry their English half by design
    chinese = [t.split(" / ")[0] for t in texts]
    assert _offences(chinese) == []
    assert any("启发式" in t for t in texts)  # the solver, in Chinese
    assert any("从业人员" in t for t in texts)  # the weight field by its name


def test_report_cut_offs_in_numeric_order(report_docx):
    checked = 0
    for table in report_docx.tables:
        head = [c.text for c in table.rows[0].cells]
        if "时间阈值 (分钟)" not in head:
            continue
        j = head.index("时间阈值 (分钟)")
        groups: dict[str, list[float]] = {}
        for row in table.rows[1:]:
            cells = [c.text for c in row.cells]
            groups.setdefault(cells[0] if j else "", []).append(float(cells[j]))
        assert all(v == sorted(v) and len(v) == 3 for v in groups.values()), (head, groups)
        checked += 1
    assert checked >= 3  # results, by district, by zone


def test_saved_runs_are_listed_by_their_chinese_names(tmp_path, monkeypatch):
    from layers.project import save_run
    from tests.tiny_project import make_project
    from workflows import clusters

    p = make_project(tmp_path)
    rep = clusters.run(
        p, clusters.ClustersRequest(layers=("enterprises",), eps_m=200, min_samples=2)
    )
    save_run(p, analysis=rep.analysis, title="测试", request=rep.request, summary=rep.summary)
    monkeypatch.setenv("INNOMAP_PROJECT", p.ref)
    at = _page("data_page")
    runs = [df.value for df in at.dataframe if "run_type" in df.value]
    assert runs and runs[0]["run_type"].tolist() == ["创新资源密度聚类"]
    texts = [t for t in shown_texts(at) if "request" not in t]  # the JSON view is raw by design
    assert _offences(texts) == []
