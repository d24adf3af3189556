"""Corridor profile workflow and ``cli.py profile`` on the tiny project (hand-checked answers).

Axis 测试走廊轴线 runs 3 km east from 400 m west of the origin: the origin (S1, I1)
lies 400 m along it, E1 600 m, E2 900 m, E3 1,400 m; N1…N3 and the synthetic
maker space M1 are 3 km north (outside a 1 km band). Walking 15 minutes by the
straight-line method reaches 4.5 km/h × 15 min ÷ 1.3 ≈ 865 m: E3 (1 km) is not covered.
"""

from __future__ import annotations

import csv
import json
import math

import pytest

from cli import main as cli_main
from export.profile_chart import profile_chart
from layers.errors import InnoMapError
from tests.tiny_project import AXIS, make_project
from workflows.analyses import report_print_layers
from workflows.profile import ProfileRequest, axis_names, run


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    d = tmp_path_factory.mktemp("profile")
    return make_project(d), d


def test_known_answer(proj):
    p, _ = proj
    rep = run(p, ProfileRequest(axis=AXIS, bin_m=500, band_m=1000, service=("science_venues",)))
    s, t = rep.summary, rep.tables["profile"]
    assert math.isclose(s["axis_length_m"], 3000, abs_tol=0.5) and s["n_bins"] == 6
    assert t["from_m"].tolist()[:3] == [0, 500, 1000] and t["to_m"].iloc[-1] == s["axis_length_m"]
    assert t["incubators"].tolist() == [1, 0, 0, 0, 0, 0]  # I1 (M1 is 3 km away)
    assert t["science_venues"].tolist() == [1, 0, 0, 0, 0, 0]
    assert t["enterprises"].tolist() == [0, 2, 1, 0, 0, 0]  # E1+E2, E3
    assert s["points_in_band"] == 5 and s["by_kind"] == {
        "incubators": 1,
        "enterprises": 3,
        "science_venues": 1,
    }
    assert t["covered"].tolist()[:3] == [2, 2, 0] and t["covered_share"].tolist()[:3] == [1, 1, 0]
    assert t["covered_share"].iloc[3:].isna().all()  # empty bins have no share
    assert s["covered"] == 4 and s["covered_share"] == pytest.approx(0.8)
    assert s["bins"][2]["covered_share"] == 0 and s["bins"][3]["covered_share"] is None
    # the synthetic maker space is an input row: the share is said
    assert s["synthetic_share"] > 0 and "模拟数据" in s["synthetic_note"]
    assert any("模拟数据" in n for n in rep.notes)


def test_narrow_band_and_bins(proj):
    p, _ = proj
    rep = run(p, ProfileRequest(axis=AXIS, bin_m=1000, band_m=100, layers=("enterprises",)))
    t = rep.tables["profile"]
    assert t["enterprises"].tolist() == [2, 1, 0]  # E1 (600), E2 (900) | E3 (1,400)
    assert t["covered_share"].isna().all() and rep.summary["covered"] is None


def test_axis_errors(proj):
    p, _ = proj
    assert axis_names(p) == [AXIS]
    assert run(p, ProfileRequest(layers=("enterprises",))).summary["axis"] == AXIS  # the only one
    with pytest.raises(InnoMapError, match=f"unknown axis 'nope'.*{AXIS}"):
        run(p, ProfileRequest(axis="nope"))
    with pytest.raises(InnoMapError, match="bin_m"):
        ProfileRequest(bin_m=0)
    with pytest.raises(InnoMapError, match="band_m"):
        ProfileRequest(band_m=50_000)


def test_chart_and_print_layers(proj):
    p, _ = proj
    rep = run(p, ProfileRequest(axis=AXIS, service=("science_venues",)))
    png = profile_chart(rep.summary, dpi=50)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    layers, _, subtitle = report_print_layers(p, rep)
    labels = [lyr.label for lyr in layers]
    assert "科技企业 · 带内" in labels and any(lab.startswith("分段 (每 500 米") for lab in labels)
    assert "模拟数据" in subtitle  # prominent on the print map
    with pytest.raises(InnoMapError, match="no bins"):
        profile_chart({"bins": []})


def test_cli_writes_csv_chart_and_summary(proj, capsys):
    p, d = proj
    out = d / "out"
    args = ["profile", "--project", p.ref, "--axis", AXIS, "--bin-m", "500", "--out", str(out)]
    assert cli_main([*args, "--service", "science_venues"]) == 0
    rows = list(csv.DictReader((out / "profile.csv").open(encoding="utf-8")))
    assert list(rows[0])[:3] == ["bin", "from_m", "to_m"] and "covered_share" in rows[0]
    assert [r["enterprises"] for r in rows] == ["0", "2", "1", "0", "0", "0"]
    assert [r["covered_share"] for r in rows][:4] == ["1.0", "1.0", "0.0", ""]
    assert (out / "profile.png").read_bytes()[:4] == b"\x89PNG"
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert list(s)[:2] == ["synthetic_note", "synthetic_share"]  # said first
    assert s["points_in_band"] == 5
    assert "模拟数据" in capsys.readouterr().out
    assert cli_main(args) == 2  # outputs exist: refused without --force
    assert "--force" in capsys.readouterr().err
