"""Where synthetic rows drive a result it is said: summary.json, print maps, pages; synthetic
maker spaces are not counted as existing incubators unless asked (siting, what-if).

The tiny project's incubators are I1 (real, at the origin) and M1 (synthetic, 3 km
north next to N1…N3). Walking 15 minutes straight-line reaches ≈ 865 m, so with M1
the three northern firms are covered, without it they are not.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from cli import main as cli_main
from tests.tiny_project import make_project
from workflows import coverage, siting, whatif
from workflows.analyses import report_print_layers
from workflows.common import drop_synthetic, select_layers, share_text


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("synth"))


@pytest.fixture(scope="module")
def synthetic_proj(tmp_path_factory):
    """The same project with every enterprise synthetic."""
    return make_project(tmp_path_factory.mktemp("synth_all"), synthetic_enterprises=True)


def _site(p, **kw):
    return siting.run(
        p, siting.SitingRequest(demand=("enterprises",), existing="incubators", k=1, **kw)
    )


def test_siting_leaves_synthetic_existing_out_by_default(proj):
    rep = _site(proj)
    s = rep.summary
    assert s["n_existing"] == 1 and s["existing_synthetic_excluded"] == 1
    assert s["share_before"] == pytest.approx(2 / 6)  # I1 covers E1, E2 only
    assert s["inputs"]["existing"]["rows"] == 1
    assert any("1 个模拟记录未计入现状" in n for n in rep.notes)
    kept = _site(proj, include_synthetic_existing=True).summary
    assert kept["n_existing"] == 2 and kept["existing_synthetic_excluded"] == 0
    assert kept["share_before"] == pytest.approx(5 / 6)  # M1 counted: N1…N3 covered too
    assert kept["synthetic_share"] > 0 == s["synthetic_share"]


def test_whatif_baseline_leaves_synthetic_out_by_default(proj):
    assert [x["id"] for x in whatif.existing_sites(proj)] == ["I1"]
    assert [x["id"] for x in whatif.existing_sites(proj, include_synthetic=True)] == ["I1", "M1"]
    rep = whatif.run(proj, whatif.WhatIfRequest(sites=tuple(whatif.existing_sites(proj))))
    s = rep.summary
    assert s["baseline_sites"] == 1 and s["baseline_synthetic_excluded"] == 1
    assert s["baseline_share"] == pytest.approx(2 / 6) and s["delta_share"] == 0
    kept = whatif.run(
        proj,
        whatif.WhatIfRequest(
            sites=tuple(whatif.existing_sites(proj)), include_synthetic_existing=True
        ),
    ).summary
    assert kept["baseline_sites"] == 2 and kept["baseline_share"] == pytest.approx(5 / 6)
    labels = [lyr.label for lyr in report_print_layers(proj, rep)[0]]
    assert "现状孵化器 · 覆盖 33.3%" in labels and "情景站点 · 覆盖 33.3%" in labels


def test_cli_site_flag_and_summary(proj, tmp_path):
    base = ["site", "--project", proj.ref, "--demand", "enterprises", "--existing", "incubators"]
    assert cli_main([*base, "--k", "1", "--out", str(tmp_path / "a")]) == 0
    a = json.loads((tmp_path / "a" / "summary.json").read_text(encoding="utf-8"))
    assert a["existing_synthetic_excluded"] == 1 and a["synthetic_share"] == 0
    assert "synthetic_note" in a and not a["synthetic_note"]
    out_b = str(tmp_path / "b")
    assert cli_main([*base, "--k", "1", "--include-synthetic-existing", "--out", out_b]) == 0
    b = json.loads((tmp_path / "b" / "summary.json").read_text(encoding="utf-8"))
    assert b["n_existing"] == 2 and b["include_synthetic_existing"] is True
    assert list(b)[:2] == ["synthetic_note", "synthetic_share"] and b["synthetic_share"] > 0


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("coverage", ["--service", "science_venues", "--demand", "enterprises"]),
        ("clusters", ["--layer", "enterprises", "--eps-m", "200", "--min-samples", "2"]),
        ("hotspots", ["--layer", "enterprises", "--permutations", "9"]),
        ("site", ["--demand", "enterprises", "--existing", "incubators", "--k", "1"]),
    ],
)
def test_every_summary_json_says_the_synthetic_share_first(synthetic_proj, tmp_path, command, args):
    out = tmp_path / command
    assert cli_main([command, "--project", synthetic_proj.ref, *args, "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert list(s)[:2] == ["synthetic_note", "synthetic_share"]
    assert s["synthetic_share"] > 0.5
    assert f"输入中 {share_text(s['synthetic_share'])} 为模拟数据" in s["synthetic_note"]


def test_print_map_subtitle_says_it(synthetic_proj, proj):
    req = coverage.CoverageRequest(service=("science_venues",), demand=("enterprises",))
    _, _, sub = report_print_layers(synthetic_proj, coverage.run(synthetic_proj, req))
    assert "注意: 输入中 86% 为模拟数据" in sub  # 6 synthetic firms of 7 input rows
    _, _, sub = report_print_layers(proj, coverage.run(proj, req))
    assert "模拟" not in sub


def test_provenance_states_precision_and_drop_synthetic_counts(proj):
    sel = select_layers(proj, ["incubators"])
    assert sel.synthetic_rows == 1
    kept, n = drop_synthetic(sel)
    assert n == 1 and len(kept.gdf) == 1 and kept.sources[0]["synthetic_rows_excluded"] == 1
    assert drop_synthetic(kept) == (kept, 0)


@pytest.mark.parametrize(
    ("share", "text"),
    [(0.0, "0%"), (0.5, "50%"), (0.004, "0.4%"), (0.9977, "99.8%"), (1.0, "100%")],
)
def test_share_text_never_rounds_a_part_to_none_or_all(share, text):
    assert share_text(share) == text


def _banner(summary):
    from ui.common import synthetic_banner

    synthetic_banner(summary)


def test_page_banner_says_share_and_left_out_sites():
    at = AppTest.from_function(
        _banner,
        kwargs={
            "summary": {
                "synthetic_share": 0.25,
                "existing_synthetic_excluded": 3,
                "warnings": [],
            }
        },
    )
    at.run()
    texts = [w.value for w in at.warning]
    assert any("25% 为模拟数据" in t for t in texts)
    assert any("3 个模拟的现有孵化器未计入" in t for t in texts)
