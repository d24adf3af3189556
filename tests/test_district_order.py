"""Districts in the project's one stated order (its district layer's order) and cut-offs in
numeric order in every per-district table: the workflows' reports, the CLI's summary.json,
saved runs reopened, the Word report (also of runs saved before the order was applied),
and the comparison of two runs with different cut-offs."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from docx import Document
from docx.oxml.ns import qn

from cli import main as cli_main
from layers.project import ProjectLayer, add_layer, open_project, remove_layer
from layers.registry import REGISTRY, normalise_columns
from tests.tiny_project import lonlat, make_project
from workflows import compare, coverage, runs, siting
from workflows.common import district_order

#: Stated order (the district layer's rows): neither the Unicode order 海 < 赣 < 连 nor its reverse.
STATED = ["赣榆区", "连云区", "海州区"]
#: Metres east/north boxes: 赣榆区 holds E1 (and the origin's venue), 连云区 E2 and E3,
#: 海州区 the northern row N1…N3 (tests/tiny_project.py).
BOXES = {
    "赣榆区": (-2000, -1000, 350, 1000),
    "连云区": (350, -1000, 2000, 1000),
    "海州区": (-2000, 1000, 2000, 4000),
}


def _districts(p) -> gpd.GeoDataFrame:
    geoms = []
    for name in STATED:
        w, s, e, n = BOXES[name]
        (x0, y0), (x1, y1) = lonlat(p, w, s), lonlat(p, e, n)
        geoms.append(shapely.box(x0, y0, x1, y1))
    gdf = gpd.GeoDataFrame(
        {
            "id": [f"D{i}" for i in range(len(STATED))],
            "name": STATED,
            "subtype": "区县",
            "source": "test",
            "adcode": ["320707", "320703", "320706"],
        },
        geometry=geoms,
        crs=4326,
    )
    return normalise_columns(gdf, REGISTRY["districts"])


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    d = tmp_path_factory.mktemp("order")
    p = make_project(d)
    remove_layer(p, "行政区")
    add_layer(p, ProjectLayer(name="行政区", kind="districts", gdf=_districts(p), source_file="d"))
    return open_project(p.ref), d


def _order(names) -> list[str]:
    return list(dict.fromkeys(str(n) for n in names if str(n).strip()))


def _check_cutoffs(records, col="district") -> None:
    frame = pd.DataFrame(records)
    for _, g in frame.groupby(col, sort=False):
        assert list(g["minutes"]) == sorted(g["minutes"])


COV = coverage.CoverageRequest(
    service=("科普场馆",), demand=("enterprises",), weight="employees", minutes=(15, 5, 10)
)


def test_workflow_reports_and_cli(proj):
    p, d = proj
    assert sorted(STATED) != STATED and sorted(STATED, reverse=True) != STATED
    rep = coverage.run(p, COV)
    assert _order(rep.tables["by_district"]["district"]) == STATED
    assert _order(r["district"] for r in rep.summary["by_district"]) == STATED
    assert [r["minutes"] for r in rep.summary["results"]] == [5.0, 10.0, 15.0]
    _check_cutoffs(rep.summary["by_district"])
    site = siting.run(p, siting.SitingRequest(demand=("enterprises",), existing="incubators", k=1))
    assert _order(site.tables["by_district"]["district"]) == STATED
    assert _order(r["district"] for r in site.summary["by_district"]) == STATED
    out = d / "cli_cov"
    argv = ["coverage", "--project", p.ref, "--service", "科普场馆", "--demand", "enterprises"]
    assert cli_main([*argv, "--minutes", "15,5,10", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert _order(r["district"] for r in s["by_district"]) == STATED
    _check_cutoffs(s["by_district"])


def _unicode_sorted(rep):
    """``rep`` as a run saved before the order was applied: districts in Unicode order."""
    recs = sorted(rep.summary["by_district"], key=lambda r: r["district"])
    tab = rep.tables["by_district"].sort_values("district", kind="stable")
    rep.summary = rep.summary | {"by_district": recs}
    rep.tables = rep.tables | {"by_district": tab.reset_index(drop=True)}
    return rep


def _docx_table(path, caption: str) -> list[list[str]]:
    body = Document(str(path)).element.body
    last = ""
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            text = "".join(t.text or "" for t in child.iter(qn("w:t"))).strip()
            last = text or last
        elif child.tag == qn("w:tbl") and caption in last:
            return [
                ["".join(t.text or "" for t in tc.iter(qn("w:t"))) for tc in tr.iter(qn("w:tc"))]
                for tr in child.iter(qn("w:tr"))
            ]
    raise AssertionError(f"no table {caption!r}")


def test_saved_runs_reopened_and_word_report(proj):
    p, d = proj
    old = _unicode_sorted(coverage.run(p, COV))
    assert _order(old.tables["by_district"]["district"]) != STATED  # the case to repair
    rec = runs.save_report(p, old, name="旧覆盖运行")
    p = open_project(p.ref)
    again = runs.reopen(p, runs.resolve_run(p, rec.id))
    assert _order(again.tables["by_district"]["district"]) == STATED
    assert _order(r["district"] for r in again.summary["by_district"]) == STATED
    out = d / "报告.docx"
    argv = ["report", "--project", p.ref, "--runs", rec.id, "--format", "docx", "--out", str(out)]
    assert cli_main([*argv, "--dpi", "50"]) == 0
    rows = _docx_table(out, "按区县覆盖率")
    assert rows[0][:2] == ["区县", "时间阈值 (分钟)"]
    assert _order(r[0] for r in rows[1:]) == STATED
    for name in STATED:
        mins = [float(r[1]) for r in rows[1:] if r[0] == name]
        assert mins == [5.0, 10.0, 15.0]


def test_compare_lists_cutoffs_in_numeric_order():
    a = {
        "demand_total": 6,
        "results": [{"minutes": m, "covered": 1, "share": 0.1} for m in (5, 15)],
    }
    b = {"demand_total": 6, "results": [{"minutes": 10, "covered": 2, "share": 0.2}]}
    table = compare.compare_table("coverage", a, b, names=("A", "B"))
    cut = [k for k in table["indicator"] if k.startswith("share_")]
    assert cut == ["share_5min", "share_10min", "share_15min"]
    assert table["indicator"].iloc[0] == "demand_total"
    assert table["indicator"].iloc[-1] == "unsnapped"


def test_pages_list_districts_in_stated_order(proj, monkeypatch, tmp_path):
    from tests.conftest import app_on_page

    p, _ = proj
    assert p.district_names() == STATED
    at = app_on_page(monkeypatch, p.ref, tmp_path / "home", "data_page")
    texts = [c.value for c in at.caption]
    assert any("、".join(STATED) in t for t in texts), texts
    at = app_on_page(monkeypatch, p.ref, tmp_path / "home", "map_page")
    assert list(at.multiselect(key="district_sel").options) == STATED


def test_a_district_in_two_layers_is_listed_once(tmp_path):
    p = make_project(tmp_path)
    again = _districts(p).iloc[[2, 1]].assign(id=["X1", "X2"])  # 海州区 again, and 连云区
    add_layer(p, ProjectLayer(name="行政区2", kind="districts", gdf=again, source_file="d2"))
    p = open_project(p.ref)
    assert p.district_names() == ["海州区", "连云区"]
    assert p.info()["districts"] == district_order(p) == ["海州区", "连云区"]
