"""One registry of analyses: a toy analysis registered in a fixture is found by the CLI
(its own command, ``export-map --analysis``, ``report``) and by a page (AppTest), with
nothing else edited."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from docx import Document
from streamlit.testing.v1 import AppTest

import cli
from export.maps import outline_layers
from export.printmap import PrintLayer
from layers.project import open_project, save_run
from layers.selection import select_layers
from tests.tiny_project import DEMAND, make_project
from workflows import analyses
from workflows.common import Report

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ToyRequest:
    """Count the points of some layers (the toy's whole method)."""

    layers: tuple[str, ...] = ("enterprises",)
    radius_m: float = 100.0

    def __post_init__(self):
        v = self.layers
        object.__setattr__(self, "layers", (v,) if isinstance(v, str) else tuple(v))

    def to_dict(self) -> dict:
        return {"layers": list(self.layers), "radius_m": self.radius_m}

    @classmethod
    def from_dict(cls, d: dict) -> ToyRequest:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "layer" in d and "layers" not in known:
            known["layers"] = d["layer"]
        return cls(**known)


def _toy_run(project, request: ToyRequest) -> Report:
    pts = select_layers(project, list(request.layers)).gdf.to_crs(project.metric_crs())
    summary = {"n_points": len(pts), "radius_m": request.radius_m, "warnings": []}
    return Report("toy", request.to_dict(), summary, layers={"points": pts}, inputs={"p": pts})


def _toy_write(report: Report, out) -> None:
    analyses.write_gpkg_layers(out / "toy.gpkg", {"points": report.layers["points"].to_crs(4326)})


def _toy_print_layers(project, report, *, zone=None):
    pts = report.layers["points"]
    return [*outline_layers(project, zone), PrintLayer("玩具点", pts, "point", "#123456")]


TOY = analyses.Analysis(
    "toy",
    ToyRequest,
    _toy_run,
    "玩具分析",
    "Toy analysis",
    subtitle="玩具副标题",
    files=("toy.gpkg", "summary.json"),
    write=_toy_write,
    console=lambda s: f"{s['n_points']} toy points",
    print_layers=_toy_print_layers,
    method=lambda project, request, s: [f"玩具方法: 半径 {s['radius_m']:g} 米"],
    tables=lambda s: [("玩具结果表", ["点数"], [[f"玩具{s['n_points']}"]])],
    headline=lambda s: s["n_points"],
    map_choice=True,
    cli_help="toy: count points",
    cli_options=(
        "@project",
        (("--layer",), {"nargs": "+", "required": True, "metavar": "L"}),
        (("--radius-m",), {"type": float, "default": 100.0, "dest": "radius_m"}),
        (("--force",), {"action": "store_true"}),
        (("--out",), {"required": True, "metavar": "DIR"}),
    ),
)


@pytest.fixture
def toy():
    analyses.register(TOY)
    try:
        yield TOY
    finally:
        analyses.unregister("toy")


@pytest.fixture
def tiny(tmp_path):
    return make_project(tmp_path)


def test_toy_analysis_is_a_command_writing_its_files(toy, tiny, tmp_path, capsys):
    out = tmp_path / "toy-out"
    argv = ["toy", "--project", tiny.ref, "--layer", "enterprises", "--radius-m", "250"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary == {"n_points": len(DEMAND), "radius_m": 250.0, "warnings": []}
    assert sorted(p.name for p in out.iterdir()) == ["summary.json", "toy.gpkg"]
    assert f"{len(DEMAND)} toy points; wrote {out}" in capsys.readouterr().out
    # its files are never overwritten without --force (the registry's file list)
    assert cli.main([*argv, "--out", str(out)]) == 2
    assert "toy.gpkg" in capsys.readouterr().err


def test_toy_analysis_is_an_export_map_choice(toy, tiny, tmp_path, monkeypatch):
    import export.maps

    drawn = {}
    monkeypatch.setattr(
        export.maps, "render_print_map", lambda layers, **k: drawn.update(k, layers=layers) or b"x"
    )
    params = json.dumps({"layers": ["enterprises"]})
    argv = ["export-map", "--project", tiny.ref, "--analysis", "toy", "--params", params]
    assert cli.main([*argv, "--format", "svg", "--out", str(tmp_path / "m.svg")]) == 0
    toy_layer = next(lyr for lyr in drawn["layers"] if lyr.label == "玩具点")
    assert len(toy_layer.gdf) == len(DEMAND) and drawn["subtitle"] == "玩具副标题"


def test_toy_analysis_saved_run_is_a_report_chapter(toy, tiny, tmp_path, capsys):
    rep = _toy_run(tiny, ToyRequest())
    save_run(tiny, analysis="toy", title="我的玩具", request=rep.request, summary=rep.summary)
    out = tmp_path / "r.docx"
    assert cli.main(["report", "--project", tiny.ref, "--dpi", "50", "--out", str(out)]) == 0
    doc = Document(io.BytesIO(out.read_bytes()))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "玩具分析: 我的玩具" in text and "玩具方法: 半径 100 米" in text
    cells = {c.text for t in doc.tables for row in t.rows for c in row.cells}
    assert f"玩具{len(DEMAND)}" in cells
    assert "1 analyses, 1 maps" in capsys.readouterr().out


def test_toy_analysis_is_named_on_the_data_page(toy, tiny, monkeypatch):
    rep = _toy_run(tiny, ToyRequest())
    save_run(tiny, analysis="toy", title="我的玩具", request=rep.request, summary=rep.summary)
    monkeypatch.setenv("INNOMAP_PROJECT", open_project(tiny.ref).ref)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("ui/pages/data_page.py").run()
    assert not at.exception
    values = {str(v) for df in at.dataframe for v in df.value.to_numpy().ravel()}
    assert "玩具分析" in values


def test_the_registry_refuses_a_second_analysis_of_the_same_key(toy):
    with pytest.raises(ValueError, match="toy"):
        analyses.register(TOY)


def test_result_pack_holds_the_files_the_command_writes(tiny, tmp_path):
    import zipfile

    from workflows.coverage import CoverageRequest
    from workflows.coverage import run as run_coverage
    from workflows.packs import analysis_pack

    out = tmp_path / "cov"
    argv = ["coverage", "--project", tiny.ref, "--service", "science_venues"]
    assert cli.main([*argv, "--demand", "enterprises", "--out", str(out)]) == 0
    rep = run_coverage(tiny, CoverageRequest(service=("science_venues",), demand=("enterprises",)))
    with zipfile.ZipFile(io.BytesIO(analysis_pack(tiny, rep, title="覆盖"))) as zf:
        names = set(zf.namelist())
        packed = json.loads(zf.read("summary.json"))
    cli_files = {p.name for p in out.iterdir()}
    assert cli_files == set(analyses.ANALYSES["coverage"].files) and cli_files <= names
    assert {"map.png", "map.pdf", "layers.gpkg", "README.md"} <= names
    written = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert packed["results"] == written["results"] and packed.keys() == written.keys()
