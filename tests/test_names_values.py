"""Odd names and values (issue 22): export layer names safe for GDAL and zip without loss,
print maps and Word reports showing ``$``, control characters and long titles as text."""

from __future__ import annotations

import io
import sqlite3
import zipfile

import geopandas as gpd
import matplotlib
import matplotlib.figure
import matplotlib.text
import pandas as pd
import pyogrio
import pytest
import shapely
from docx import Document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from export.layers_io import safe_layer_names, write_layers
from export.printmap import PrintLayer, render_print_map
from export.report_docx import _docx_text
from layers.safe import neutralize_cell


def _points(n: int, *, lon0: float = 121.5) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [f"r{i}" for i in range(n)], "name": [f"点{i}" for i in range(n)]},
        geometry=[shapely.Point(lon0 + i / 1000, 29.9) for i in range(n)],
        crs=4326,
    )


def _shown(name: str) -> str:
    return name.replace("\x00", "\u2400")


def _gpkg_layers(path) -> dict[str, tuple[str, int]]:
    """``{original name (description): (table, rows)}`` of an exported GeoPackage."""
    with sqlite3.connect(path) as con:
        contents = con.execute("SELECT table_name, description FROM gpkg_contents").fetchall()
        return {
            desc: (tbl, con.execute(f'SELECT count(*) FROM "{tbl}"').fetchone()[0])
            for tbl, desc in contents
        }


def _zip_layers(path) -> dict[str, tuple[str, int]]:
    """``{original name: (file, rows)}`` of an exported Shapefile zip (read back by GDAL)."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        table = pd.read_csv(
            io.BytesIO(zf.read("layer_names.csv")),
            encoding="utf-8-sig",
            keep_default_na=False,
            dtype=str,
        )
    out = {}
    for row in table.itertuples(index=False):
        assert row.file in names, (row.file, names)
        stem = row.file[: -len(".shp")]
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            assert stem + ext in names
        n = len(pyogrio.read_dataframe(f"/vsizip/{path}/{row.file}"))
        assert n == int(row.rows)
        out[row.layer] = (row.file, n)
    return out


def test_a_quoted_layer_name_exports_all_its_rows(tmp_path):
    layers = {"lay'er;--": _points(9)}
    z = write_layers(layers, tmp_path / "out.zip", fmt="shp")
    assert _zip_layers(z) == {"lay'er;--": ("lay_er.shp", 9)}
    g = write_layers(layers, tmp_path / "out.gpkg", fmt="gpkg")
    assert _gpkg_layers(g) == {"lay'er;--": ("lay_er", 9)}


def test_a_path_as_a_layer_name_stays_inside(tmp_path):
    layers = {"../../etc/passwd": _points(3), "..\\..\\boot.ini": _points(2), "/abs": _points(1)}
    g = write_layers(layers, tmp_path / "o.gpkg", fmt="gpkg")
    assert {k: v[1] for k, v in _gpkg_layers(g).items()} == {
        "../../etc/passwd": 3,
        "..\\..\\boot.ini": 2,
        "/abs": 1,
    }
    z = write_layers(layers, tmp_path / "o.zip", fmt="shp")
    with zipfile.ZipFile(z) as zf:
        for n in zf.namelist():
            assert "/" not in n and "\\" not in n and not n.startswith(".")
    assert {k: v[1] for k, v in _zip_layers(z).items()} == {
        "../../etc/passwd": 3,
        "..\\..\\boot.ini": 2,
        "/abs": 1,
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.gpkg", "o.zip"]


# every Unicode category but surrogates (not encodable), with the usual suspects weighted in
_NAME_CHARS = st.one_of(
    st.characters(blacklist_categories=("Cs",)),
    st.sampled_from(list("'\";--/\\.:*?<>|$%&#\x00\x01\x1f\x7f \t\n") + ["..", "gpkg_", "É", "é"]),
)
_NAMES = st.lists(
    st.lists(_NAME_CHARS, max_size=30).map("".join), min_size=1, max_size=4, unique=True
)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(names=_NAMES)
def test_any_layer_names_export_without_loss(tmp_path_factory, names):
    folder = tmp_path_factory.mktemp("names")
    layers = {n: _points(i + 1, lon0=121.0 + i / 10) for i, n in enumerate(names)}
    safe = safe_layer_names(layers)
    assert len({s.casefold() for s in safe.values()}) == len(names)  # no two share a table
    for s in safe.values():
        assert s and len(s) <= 60 and all(c.isalnum() or c in "_-" for c in s)
    want = {_shown(n): i + 1 for i, n in enumerate(names)}
    g = write_layers(layers, folder / "o.gpkg", fmt="gpkg")
    assert {k: v[1] for k, v in _gpkg_layers(g).items()} == want
    z = write_layers(layers, folder / "o.zip", fmt="shp")
    got = {k: v[1] for k, v in _zip_layers(z).items()}
    assert got == {neutralize_cell(k): v for k, v in want.items()}  # CSV: formulas neutralised
    j = write_layers(layers, folder / "o.geojson", fmt="geojson")
    assert gpd.read_file(j)["layer"].value_counts().to_dict() == want


# ------------------------------------------------------------------ print maps
def _texts_at_save(monkeypatch) -> list[matplotlib.text.Text]:
    seen: list[matplotlib.text.Text] = []
    real = matplotlib.figure.Figure.savefig

    def spy(fig, *a, **k):
        seen.extend(fig.findobj(matplotlib.text.Text))
        return real(fig, *a, **k)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    return seen


@pytest.mark.parametrize("fmt", ["png", "pdf", "svg"])
def test_dollars_and_controls_in_print_maps_are_plain_text(monkeypatch, fmt):
    texts = _texts_at_save(monkeypatch)
    title = "创新 $x^2$ 分布 $\\frac{ 与 $ 单个" + "\x07\x1b" + "长" * 300
    data = render_print_map(
        [PrintLayer("图层 $a$ 与 $$", _points(3), label_field="name")],
        title=title,
        subtitle="$5 万元 $",
        legend_title="$图例$",
        notes=["$n$ 注"],
        fmt=fmt,
        dpi=50,
    )
    assert data
    assert texts and not any(t.get_parse_math() or t.get_usetex() for t in texts)
    shown = [t.get_text() for t in texts]
    assert title.replace("\x07", " ").replace("\x1b", " ") in shown
    assert any("图层 $a$ 与 $$" in s for s in shown)
    assert "$5 万元 $" in shown and "$图例$" in shown
    if fmt == "pdf":  # the fonts are still embedded (TrueType, not Type 3)
        import pypdf

        page = pypdf.PdfReader(io.BytesIO(data)).pages[0]
        kinds = {str(f.get_object().get("/Subtype")) for f in page["/Resources"]["/Font"].values()}
        assert kinds == {"/Type0"}, kinds


# ------------------------------------------------------------------ Word report
def test_docx_text_keeps_text_and_shows_controls():
    assert _docx_text("a$b$<&>") == "a$b$<&>"
    assert _docx_text("z\x00\x07\x1f\t\n") == "z\u2400\u2407\u241f\t\n"
    assert _docx_text("\ufffe\uffff") == "\ufffd\ufffd"


def test_report_with_control_characters_dollars_and_a_long_title(tmp_path):
    from layers import auth
    from layers.project import ProjectLayer, add_layer, open_project
    from layers.registry import REGISTRY, normalise_columns
    from tests.tiny_project import make_project
    from workflows import clusters, report
    from workflows.report import ReportRequest

    auth.set_actor(None)
    p = make_project(tmp_path)
    zone_name = "片区\x07\x0b$x$\x1f"
    zone = p.zones.iloc[:1].copy()
    zone["name"], zone["id"] = [zone_name], ["Z9"]
    add_layer(
        p,
        ProjectLayer(
            name="控制字符片区",
            kind="zones",
            gdf=normalise_columns(zone, REGISTRY["zones"]),
            source_file="z.geojson",
        ),
    )
    p = open_project(p.ref)
    assert zone_name in p.zone_names()
    rep = clusters.run(
        p,
        clusters.ClustersRequest(layers=("enterprises",), eps_m=200, min_samples=2, zone=zone_name),
    )
    long_title = "报告$一$" + "题" * 300 + "\x0c"
    data, _ = report.build(
        p, ReportRequest(dpi=50, title=long_title), reports=[(rep, "分析 $a$ \x01")]
    )
    doc = Document(io.BytesIO(data))
    text = "\n".join(x.text for x in doc.paragraphs)
    assert "报告$一$" + "题" * 300 + "\u240c" in text  # the whole title on the title page
    assert "分析 $a$ \u2401" in text
    assert len(doc.core_properties.title) == 255
