"""Word/PDF report of saved runs: headings, real tables with the runs' own numbers, print maps,
CJK fonts, sources with precision, synthetic notes; PDF via LibreOffice or a clear error."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from docx import Document
from docx.oxml.ns import qn
from PIL import Image

import settings
from cli import main as cli_main
from export import report_docx
from export.printmap import paper_size_px
from layers.errors import InnoMapError
from layers.project import open_project, save_run
from tests.tiny_project import AXIS, make_project
from workflows import analyses, clusters, coverage, profile, report, siting
from workflows.report import ReportRequest

DPI = 50  # small maps keep the tests fast; the size law is checked at this dpi


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    p = make_project(d)
    runs = {
        "coverage": coverage.run(
            p,
            coverage.CoverageRequest(
                service=("科普场馆",), demand=("enterprises",), weight="employees"
            ),
        ),
        "site": siting.run(
            p, siting.SitingRequest(demand=("enterprises",), existing="incubators", k=1)
        ),
        "clusters": clusters.run(
            p, clusters.ClustersRequest(layers=("enterprises",), eps_m=200, min_samples=2)
        ),
        "profile": profile.run(p, profile.ProfileRequest(axis=AXIS, service=("science_venues",))),
    }
    runs["other"] = clusters.run(p, clusters.ClustersRequest(layers=("incubators",), eps_m=100))
    ids = {}
    for name, rep in runs.items():
        rec = save_run(
            p, analysis=rep.analysis, title=f"测试{name}", request=rep.request, summary=rep.summary
        )
        ids[name] = rec.id
    return open_project(p.ref), ids, d


@pytest.fixture(scope="module")
def docx_file(proj):
    p, ids, d = proj
    out = d / "报告.docx"
    order = [ids[k] for k in ("coverage", "site", "clusters", "profile")]
    code = cli_main(
        ["report", "--project", p.ref, "--runs", *order, "--format", "docx", "--out", str(out)]
        + ["--dpi", str(DPI)]
    )
    assert code == 0
    return Document(str(out))


def _tables(doc):
    """Each table with its caption (the paragraph before it) as lists of cell texts."""
    body = doc.element.body
    out, caption = {}, ""
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            text = "".join(t.text or "" for t in child.iter(qn("w:t"))).strip()
            if text:
                caption = text
        elif child.tag == qn("w:tbl"):
            rows = [
                ["".join(t.text or "" for t in tc.iter(qn("w:t"))) for tc in tr.iter(qn("w:tc"))]
                for tr in child.iter(qn("w:tr"))
            ]
            out.setdefault(re.sub(r"^表 \S+ ", "", caption), []).append(rows)
    return out


def test_title_page_and_chapters(docx_file, proj):
    p, _, _ = proj
    text = "\n".join(par.text for par in docx_file.paragraphs)
    assert p.name in text and "连云港市" in text and date.today().isoformat() in text
    heads = [par.text for par in docx_file.paragraphs if par.style.name == "Heading 1"]
    assert heads == [
        "1 15分钟服务圈覆盖分析: 测试coverage",
        "2 孵化器选址分析: 测试site",
        "3 创新资源密度聚类: 测试clusters",
        "4 科创走廊剖面分析: 测试profile",
        "5 项目数据",
    ]
    h2 = [par.text for par in docx_file.paragraphs if par.style.name == "Heading 2"]
    assert h2[:4] == ["1.1 方法与参数", "1.2 主要结果", "1.3 数据来源与坐标精度", "1.4 说明"]
    # the method in plain Chinese, with the straight-line radius worked out
    assert "半径 = 速度 × 时间 ÷ 绕行系数" in text
    assert "15 分钟约 865 米" in text  # 4.5 km/h × 15 min ÷ 1.3
    assert "DBSCAN" in text and "eps = 200 米" in text


def test_tables_hold_the_runs_numbers(docx_file, proj):
    p, ids, _ = proj
    tabs = _tables(docx_file)
    cov = p.run(ids["coverage"]).summary
    rows = tabs["各时间阈值覆盖率"][0]
    assert rows[0] == ["时间阈值 (分钟)", "覆盖需求数", "需求总数", "覆盖率", "加权覆盖率"]
    assert rows[1:] == [
        [f"{r['minutes']:g}", str(r["covered"]), str(cov["demand_total"]), f"{r['share']:.1%}",
         f"{r['weighted_share']:.1%}"]
        for r in cov["results"]
    ]  # fmt: skip
    assert [r[0] for r in tabs["按区县覆盖率"][0][1:]] == ["海州区"] * 3
    site = p.run(ids["site"]).summary
    sel = tabs["推荐新址 (按边际增益排序)"][0]
    assert sel[1:] == [
        [str(r["rank"]), r["id"], f"{r['lon']:.6f}", f"{r['lat']:.6f}",
         f"{r['marginal_gain']:,.1f}", f"{r['newly_covered_weight']:,.1f}"]
        for r in site["selected"]
    ]  # fmt: skip
    before_after = tabs["选址前后覆盖"][0]
    assert before_after[2] == [
        "覆盖率",
        f"{site['share_before']:.1%}",
        f"{site['share_after']:.1%}",
    ]
    cl = p.run(ids["clusters"]).summary
    got = tabs["密度聚类结果"][0][1:]
    assert [(r[0], r[1]) for r in got] == [(str(c["id"]), str(c["size"])) for c in cl["clusters"]]
    pr = p.run(ids["profile"]).summary
    bins = tabs["沿轴线分段统计"][0]
    assert [r[-3] for r in bins[1:]] == [str(b["total"]) for b in pr["bins"]]
    assert bins[0][3:6] == ["孵化器/众创空间", "科技企业", "科普场馆/基地"]
    # sources with their stated precision (企业: 10…60 m → median 35, max 60)
    src = tabs["输入数据来源"][0]
    assert [
        "需求",
        "企业",
        "企业名单.csv",
        "6",
        "0",
        "WGS84",
        "中位 35 米, 最大 60 米",
        "test survey",
    ] in src


def test_maps_are_a4_at_print_resolution_and_the_profile_has_a_chart(docx_file):
    shapes = docx_file.inline_shapes
    assert len(shapes) == 5  # four maps and the profile chart
    w_px, h_px = paper_size_px("A4", "landscape", DPI)
    sizes = []
    for shape in shapes:
        rid = shape._inline.graphic.graphicData.pic.blipFill.blip.embed
        blob = docx_file.part.related_parts[rid].blob
        sizes.append(Image.open(io.BytesIO(blob)).size)
    assert sizes.count((w_px, h_px)) == 4
    landscape = [s for s in docx_file.sections if s.page_width > s.page_height]
    assert len(landscape) == 4  # each map on its own A4 landscape page


def test_cjk_text_has_an_east_asian_font(docx_file):
    body = [
        r for par in docx_file.paragraphs for r in par.runs if re.search(r"[\u4e00-\u9fff]", r.text)
    ]
    assert body
    for r in body:
        fonts = r._element.rPr.find(qn("w:rFonts"))
        assert fonts is not None and fonts.get(qn("w:eastAsia")) in (
            report_docx.BODY_FONT,
            report_docx.HEADING_FONT,
        )
    heading = next(par for par in docx_file.paragraphs if par.style.name == "Heading 1")
    assert heading.runs[0]._element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "黑体"


def test_synthetic_input_is_said_prominently(docx_file, proj):
    p, ids, _ = proj
    share = p.run(ids["profile"]).summary["synthetic_share"]  # the synthetic maker space M1
    assert share > 0
    red = [par.text for par in docx_file.paragraphs if any(r.font.color.rgb for r in par.runs)]
    assert any("1 项分析的输入含模拟数据" in t for t in red)  # title page
    assert any(f"本分析输入中 {share:.0%} 为模拟数据" in t for t in red)  # the profile chapter


def test_runs_named_all_runs_and_unknown_runs(docx_file, proj):
    p, _, _ = proj
    text = "\n".join(x.text for x in docx_file.paragraphs)
    assert "测试other" not in text  # a saved run not named with --runs is left out
    assert [r.id for r in report._runs(p, ())] == [r.id for r in p.runs]  # no --runs: all
    assert len(p.runs) == 5
    with pytest.raises(InnoMapError, match="no run 'nope'"):
        report.build(p, ReportRequest(runs=("nope",)))


def test_reports_just_computed(proj):
    """The page's button: a report not saved as a run."""
    p, _, _ = proj
    rep = clusters.run(
        p, clusters.ClustersRequest(layers=("enterprises",), eps_m=200, min_samples=2)
    )
    steps: list[tuple[int, int]] = []
    data, meta = report.build(
        p,
        ReportRequest(dpi=DPI),
        reports=[(rep, "页面"), (rep, "再一次")],
        on_progress=lambda d, t: steps.append((d, t)),
    )
    assert steps == [(0, 3), (1, 3), (2, 3), (3, 3)]  # two sections, then the document
    doc = Document(io.BytesIO(data))
    assert "本次分析 (未保存)" in [x.text for x in doc.paragraphs]
    assert len(doc.inline_shapes) == 2 and meta.summary["runs"][0] == {
        "id": "",
        "analysis": "clusters",
        "title": "页面",
        "maps": 1,
        "charts": 0,
        "synthetic_share": 0.0,
        "notes": [],
    }


def test_refuses_to_overwrite_and_checks_the_suffix(proj, tmp_path):
    p, ids, _ = proj
    out = tmp_path / "r.docx"
    out.write_bytes(b"keep")
    req = ReportRequest(runs=(ids["site"],), dpi=DPI)
    with pytest.raises(InnoMapError, match="already exists"):
        report.run(p, req, out=out)
    assert out.read_bytes() == b"keep"
    with pytest.raises(InnoMapError, match=r"does not end in \.docx"):
        report.run(p, req, out=tmp_path / "r.pdf")
    with pytest.raises(InnoMapError, match="docx or pdf"):
        ReportRequest(format="odt")
    assert ReportRequest().dpi == settings.PRINT_DPI


def test_pdf_without_libreoffice_is_a_clear_error(proj, tmp_path, monkeypatch, capsys):
    p, ids, _ = proj
    monkeypatch.setattr(report_docx.shutil, "which", lambda name: None)
    out = tmp_path / "r.pdf"
    code = cli_main(
        ["report", "--project", p.ref, "--runs", ids["site"], "--format", "pdf", "--out", str(out)]
        + ["--dpi", str(DPI)]
    )
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "LibreOffice" in err and "apt-get install libreoffice" in err and "Traceback" not in err


def test_pdf_with_libreoffice(proj):
    """The report's Word file converted (scripts/test.sh installs LibreOffice: never skipped)."""
    from pypdf import PdfReader

    _, _, d = proj
    pdf = report_docx.docx_to_pdf((d / "报告.docx").read_bytes())
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(pg.extract_text() for pg in reader.pages)
    assert "孵化器选址分析" in text and "测试项目" in text and "科创走廊剖面分析" in text


def test_hotspot_and_whatif_tables_from_their_summaries():
    hs = {
        "classes": {"hot_99": 2, "not_significant": 7},
        "nearest_neighbour": [
            {"kind": "企业", "n": 6, "observed_mean_nn_m": 208.3, "expected_mean_nn_m": 294.9,
             "R": 0.7065, "p": 0.169, "pattern": "random"}
        ],
    }  # fmt: skip
    (_, _, rows1), (_, _, rows2) = analyses.result_tables("hotspots", hs)
    assert rows1 == [["热点 (99% 置信度)", "2"], ["不显著", "7"]]
    assert rows2 == [["企业", "6", "208.3", "294.9", "0.707", "0.169", "随机分布"]]
    wi = {
        "baseline_sites": 1,
        "sites": 2,
        "baseline_share": 1 / 3,
        "share": 5 / 6,
        "delta_share": 0.5,
    }
    [(_, head, rows)] = analyses.result_tables("whatif", wi)
    assert head == ["指标", "现状", "情景"]
    assert rows == [
        ["孵化器数量", "1", "2"],
        ["覆盖率", "33.3%", "83.3%"],
        ["覆盖率变化", "—", "+50.0 个百分点"],
    ]


def test_a_run_that_cannot_be_run_again_keeps_its_tables(proj):
    """A saved run whose layer is gone: the chapter says the map could not be drawn."""
    from layers.project import RunRecord

    p, ids, _ = proj
    rec = p.run(ids["site"])
    gone = RunRecord(
        id="x", analysis="site", title="旧", created_at="2026-01-01",
        request=rec.request | {"demand": ["已删除的图层"]}, summary=rec.summary,
    )  # fmt: skip
    sec = report.section_from_run(p, gone, dpi=DPI)
    assert sec.figures == [] and "map could not be drawn" in sec.notes[0]
    assert "已删除的图层" in sec.notes[0]
    changed = dict(rec.summary, selected=[dict(rec.summary["selected"][0], id="other")])
    assert analyses.headline("site", changed) != analyses.headline("site", rec.summary)
