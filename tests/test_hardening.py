"""Hostile and broken files, unsafe outputs, extreme parameters (issue 11).

Every case is generated here (nothing big is committed). Each checks the exit
code or the exception, that the message names the place (file, line/row,
column, member) and the limit, that ``rows_total`` counts the data rows, that
no traceback or temporary path reaches the user, and for the NUL-byte and
huge-line files that the peak memory of a fresh process stays bounded.
"""

from __future__ import annotations

import codecs
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from shapely.geometry import Point

from cli import main as cli_main
from layers.importer import ImportFileError, ImportOptions, import_file, inspect_file
from layers.readers import read_points_csv
from layers.tabular import NUL_SHOWN, READ_LIMITS
from layers.validation import LayerValidationError

ROOT = Path(__file__).resolve().parents[1]
HEADER = "id,name,lon,lat\n"
ROWS = ["1,A,121.60,29.90", "2,B,121.61,29.91", "3,C,121.62,29.92"]
WGS = ImportOptions(kind="incubators", crs="WGS84")


def _csv(tmp_path: Path, name: str, data: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return p


def _refused(p: Path, *patterns: str, opts: ImportOptions = WGS) -> str:
    with pytest.raises(ImportFileError) as ei:
        import_file(p, opts)
    msg = str(ei.value)
    assert p.name in msg and " / " in msg  # named and bilingual
    assert str(p.parent) not in msg  # no folder (temporary or upload path) in a message
    assert len(msg) < 700
    for pat in patterns:
        assert re.search(pat, msg), (pat, msg)
    return msg


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli_main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


# ---------------------------------------------------------------- CSV rows and lines
def test_row_numbers_are_file_lines_with_blank_lines_and_quoted_breaks(tmp_path):
    p = _csv(
        tmp_path,
        "lines.csv",
        HEADER + ROWS[0] + "\n\n\n" + '2,"two\nlines",121.61,abc\n' + ROWS[2] + "\n" + "4,D,x,y\n",
    )
    rep = import_file(p, WGS)
    assert rep.rows_total == 4 and rep.rows_valid == 2
    # the bad coordinate of record 2 is on line 5 (3 blank lines after line 2), record 4 on line 8
    assert sorted(rep.rejected["row"].tolist()) == [5, 8]
    assert {i.row for i in rep.errors} == {5, 8}


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 2)), min_size=1, max_size=12))
def test_rejected_rows_name_the_file_line(tmp_path, spec):
    """Any mix of good/bad rows and blank lines: each rejected row is its line in the file."""
    lines, bad_lines = [HEADER.strip()], []
    for k, (good, blanks) in enumerate(spec):
        lines += [""] * blanks
        lines.append(f"{k},N{k},121.6,29.9" if good else f"{k},N{k},,")
        if not good:
            bad_lines.append(len(lines))
    p = _csv(tmp_path, "h.csv", "\n".join(lines) + "\n")
    rep = import_file(p, WGS)
    assert rep.rows_total == len(spec)
    assert sorted(rep.rejected["row"].tolist()) == bad_lines


def test_nul_inside_text_rejects_the_row_and_keeps_the_value_whole(tmp_path):
    p = _csv(tmp_path, "nul.csv", HEADER + "1,A\x00B,121.60,29.90\n" + ROWS[1] + "\n")
    rep = import_file(p, WGS)
    assert rep.rows_total == 2 and rep.rows_valid == 1
    assert rep.rejected["row"].tolist() == [2]
    assert rep.rejected["name"].tolist() == [f"A{NUL_SHOWN}B"]  # never cut to "A"
    assert "NUL" in rep.rejected["reason"].iloc[0]
    res = read_points_csv(p, layer_key="incubators")  # the canonical reader agrees
    assert "NUL" in res.rejected.set_index("row")["reason"][2]


def test_short_and_long_rows_are_named(tmp_path):
    p = _csv(tmp_path, "long.csv", HEADER + ROWS[0] + "\n" + ROWS[1] + ",extra\n" + ROWS[2] + "\n")
    rep = import_file(p, WGS)
    assert rep.rows_total == 3 and rep.rows_valid == 2
    (err,) = rep.errors
    assert err.row == 3 and "5 fields" in err.message and "4" in err.message
    p = _csv(tmp_path, "short.csv", HEADER + ROWS[0] + "\n" + "2,B,121.61\n" + ROWS[2] + "\n")
    rep = import_file(p, WGS)
    assert rep.rows_total == 3 and rep.rows_valid == 2
    assert [i.row for i in rep.errors] == [3]
    assert any(w.row == 3 and w.field == "lat" and "3 of 4" in w.message for w in rep.warnings)


def test_semicolon_csv_over_200k_characters(tmp_path):
    body = "".join(f"{i};N{i};121.6;29.9\n" for i in range(12_000))
    p = _csv(tmp_path, "semi.csv", "id;name;lon;lat\n" + body)
    assert p.stat().st_size > 200_000
    rep = import_file(p, WGS)
    assert rep.rows_total == rep.rows_valid == 12_000


# ---------------------------------------------------------------- encodings and empty files
def test_encodings_bom_gbk_and_utf16_without_bom(tmp_path):
    text = "编号,名称,经度,纬度\n1,宁波大学,121.6,29.9\n"
    rep = import_file(_csv(tmp_path, "bomgbk.csv", codecs.BOM_UTF8 + text.encode("gbk")), WGS)
    assert rep.encoding.startswith("GBK") and rep.valid["name"].tolist() == ["宁波大学"]
    for codec in ("utf-16-le", "utf-16-be"):
        rep = import_file(_csv(tmp_path, f"{codec}.csv", text.encode(codec)), WGS)
        assert rep.encoding == f"{codec.upper()} (no BOM)"
        assert rep.valid["name"].tolist() == ["宁波大学"] and rep.rows_total == 1


def test_header_only_and_empty_files(tmp_path):
    _refused(_csv(tmp_path, "hdr.csv", HEADER), "only a header", "line 1")
    _refused(_csv(tmp_path, "blank.csv", "\n\n  \n"), "empty")
    kml = '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>'
    _refused(_csv(tmp_path, "e.kml", kml), "no placemarks")
    _refused(
        _csv(tmp_path, "e.geojson", '{"type":"FeatureCollection","features":[]}'), "no features"
    )


# ---------------------------------------------------------------- headers
def test_duplicate_headers_differing_values_name_both_columns(tmp_path):
    p = _csv(tmp_path, "dup.csv", "id,name,经度,经度,纬度\n1,A,121.6,121.7,29.9\n")
    _refused(p, "column 3", "column 4", "经度", "row 2")
    p = _csv(tmp_path, "case.csv", "id,name,lon,LON,lat\n1,A,121.6,121.7,29.9\n")
    _refused(p, "'lon'", "'LON'", "rename or delete")


def test_duplicate_headers_with_equal_values_are_kept_once(tmp_path):
    p = _csv(tmp_path, "same.csv", "id,name,lon,LON,lat\n1,A,121.6,121.6,29.9\n")
    rep = import_file(p, WGS)
    assert rep.rows_valid == 1
    assert any("LON" in w.message and "kept once" in w.message for w in rep.warnings)


def test_fid_and_reserved_columns_are_renamed_and_import_writes(tmp_path, capsys):
    p = _csv(tmp_path, "fid.csv", "fid,id,name,lon,lat,row,Kind2,kind2\n9,1,A,121.6,29.9,r,x,x\n")
    rep = import_file(p, WGS)
    assert rep.renamed_columns == {"fid": "fid_2", "row": "row_2"}
    out = tmp_path / "o.gpkg"
    argv = ["import", str(p), "--kind", "incubators", "--crs", "WGS84", "--out", str(out)]
    code, _, _ = _cli(capsys, *argv)
    assert code == 0 and out.exists()
    back = gpd.read_file(out, layer="incubators")
    assert back["fid_2"].tolist() == ["9"] and len(back) == 1


def test_wide_header_is_refused_with_the_limit_and_not_echoed(tmp_path):
    cols = ",".join(f"c{i}" for i in range(5_000))
    p = _csv(tmp_path, "wide.csv", f"id,name,lon,lat,{cols}\n1,A,121.6,29.9{',' * 5000}\n")
    msg = _refused(p, "5,004 columns", f"{READ_LIMITS['max_columns']:,}")
    assert "c4999" not in msg


def test_no_coordinate_columns_message_is_short(tmp_path):
    cols = ",".join(f"column_with_a_long_name_{i}" for i in range(400))
    p = _csv(tmp_path, "nocoord.csv", f"id,name,{cols}\n1,A{',x' * 400}\n")
    msg = _refused(p, "no coordinate columns", opts=ImportOptions(kind="incubators"))
    assert len(msg) < 600 and "column_with_a_long_name_399" not in msg


# ---------------------------------------------------------------- XLSX
def _stale_dimension(src: Path, dst: Path, ref: bytes = b"A1:B2") -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for it in zin.infolist():
            data = zin.read(it.filename)
            if it.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(
                    rb'<dimension ref="[^"]*"/>', b'<dimension ref="' + ref + b'"/>', data
                )
            zout.writestr(it, data)


def test_xlsx_stale_dimension_tag_is_not_trusted(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["id", "name", "lon", "lat"])
    for i in range(10):
        ws.append([i, f"V{i}", 121.6, 29.9])
    ws["F5"] = "note right of the header"
    wb.save(tmp_path / "ok.xlsx")
    p = tmp_path / "stale.xlsx"
    _stale_dimension(tmp_path / "ok.xlsx", p)
    rep = import_file(p, WGS)
    assert rep.rows_total == rep.rows_valid == 10
    assert rep.valid["column_F"].tolist()[3] == "note right of the header"
    assert any("column F" in w.message for w in rep.warnings)


def test_xlsx_hidden_first_sheet_is_listed_last_and_not_the_default(tmp_path, capsys):
    wb = Workbook()
    hid = wb.active
    hid.title = "旧表"
    hid.append(["id", "name", "lon", "lat"])
    hid.append([1, "H", 121.6, 29.9])
    hid.sheet_state = "hidden"
    vis = wb.create_sheet("名单")
    vis.append(["id", "name", "lon", "lat"])
    for i in range(3):
        vis.append([i, f"V{i}", 121.6, 29.9])
    p = tmp_path / "hidden.xlsx"
    wb.save(p)
    info = inspect_file(p)
    assert info["available"] == ["名单", "旧表"] and info["hidden"] == ["旧表"]
    rep = import_file(p, WGS)
    assert rep.sheet_or_layer == "名单" and rep.rows_total == 3 and rep.hidden == ["旧表"]
    code, out, _ = _cli(capsys, "validate", str(p), "--kind", "incubators", "--crs", "WGS84")
    assert code == 0 and "旧表 (hidden)" in out


def test_xlsx_formula_without_saved_result_names_the_cell(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["id", "name", "lon", "lat"])
    ws.append([1, "A", 121.6, 29.9])
    ws.append([2, "B", "=C2+0.01", 29.9])  # openpyxl saves formulas without a result
    p = tmp_path / "formula.xlsx"
    wb.save(p)
    rep = import_file(p, WGS)
    assert rep.rows_total == 2 and rep.rows_valid == 1
    err = rep.errors[0]
    assert err.row == 3 and err.field == "lon" and err.value == "C3" and "formula" in err.message


def test_xlsx_compression_bomb_is_refused_before_reading(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["id", "name", "lon", "lat"])
    for i in range(300):
        ws.append([i, "A" * 20_000, 121.6, 29.9])
    p = tmp_path / "bomb.xlsx"
    wb.save(p)
    _refused(p, r"xl/worksheets/sheet1\.xml", r"compression ratio of \d+:1", "limit of 100:1")


def test_xlsx_duplicate_headers_use_column_letters(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["id", "name", "lon", "LON", "lat"])
    ws.append([1, "A", 121.6, 121.7, 29.9])
    p = tmp_path / "dup.xlsx"
    wb.save(p)
    _refused(p, "column C", "column D", "Sheet")


# ---------------------------------------------------------------- geo formats
def test_kml_placemarks_without_id_get_ids(tmp_path):
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document>"
        '<Placemark id="a1"><name>A</name><Point><coordinates>121.6,29.9</coordinates></Point></Placemark>'
        "<Placemark><name>B</name><Point><coordinates>121.61,29.91</coordinates></Point></Placemark>"
        "<Placemark><name>C</name><Point><coordinates>121.62,29.92</coordinates></Point></Placemark>"
        "</Document></kml>"
    )
    rep = import_file(_csv(tmp_path, "k.kml", kml), ImportOptions(kind="incubators"))
    assert rep.rows_total == rep.rows_valid == 3
    assert rep.valid["id"].tolist() == ["a1", "R2", "R3"]


def test_gml_named_kml_is_refused(tmp_path):
    g = gpd.GeoDataFrame({"fid": ["a"], "name": ["A"]}, geometry=[Point(121.6, 29.9)], crs=4326)
    g.to_file(tmp_path / "g.gml", driver="GML")
    p = tmp_path / "g.kml"
    p.write_bytes((tmp_path / "g.gml").read_bytes())
    _refused(p, "not a KML")


def _shp_zip(tmp_path: Path, *, prj: str | None, cpg: str | None) -> Path:
    d = tmp_path / "shp"
    d.mkdir(exist_ok=True)
    g = gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[Point(121.6, 29.9), Point(121.61, 29.91)], crs=4326)  # fmt: skip
    g.to_file(d / "s.shp")
    if prj is not None:
        (d / "s.prj").write_text(prj)
    if cpg is not None:
        (d / "s.cpg").write_text(cpg)
    p = tmp_path / "s.zip"
    with zipfile.ZipFile(p, "w") as z:
        for f in d.iterdir():
            z.write(f, f.name)
    return p


def test_garbage_prj_and_bogus_cpg(tmp_path):
    p = _shp_zip(tmp_path, prj="GARBAGE [[[", cpg="UTF-8")
    _refused(p, r"\.prj", "--crs", opts=ImportOptions(kind="incubators"))
    rep = import_file(p, ImportOptions(kind="incubators", crs="WGS84"))
    assert rep.rows_valid == 2 and any(".prj" in w.message for w in rep.warnings)
    bogus = "<script>alert(1)</script>"
    p = _shp_zip(tmp_path, prj=None, cpg=bogus)
    rep = import_file(p, ImportOptions(kind="incubators"))
    assert rep.rows_valid == 2 and "script" not in (rep.encoding or "")
    assert "script" not in json.dumps(rep.to_json(), ensure_ascii=False)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_damaged_geopackage_message_has_no_folder(tmp_path):
    p = tmp_path / "broken.gpkg"
    p.write_bytes(b"SQLite format 3\x00" + b"\x01" * 4000)
    msg = _refused(p, "GPKG", "QGIS", opts=ImportOptions(kind="incubators"))
    assert "/" not in msg.split("(", 1)[1].split(")", 1)[0]


# ---------------------------------------------------------------- memory budget
_MEASURE = """
import atexit, runpy, sys
peak, script = sys.argv[1], sys.argv[2]
sys.argv = [script, *sys.argv[3:]]
def _peak():
    with open("/proc/self/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    with open(peak, "w") as f:
        f.write(str(kb))
atexit.register(_peak)
runpy.run_path(script, run_name="__main__")
"""


def _run_cli_measured(*argv: str) -> tuple[int, str, float]:
    """Run ``python cli.py ARGV`` in a fresh process: exit code, stderr, its own peak RSS (MB).

    The peak is the process's own ``VmHWM`` read at exit: ``ru_maxrss`` of a child
    starts from the parent's RSS at fork (kept across exec), so in a large test
    session it measures pytest, not the command.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        peak = Path(d) / "peak"
        r = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(peak), str(ROOT / "cli.py"), *argv],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        return r.returncode, r.stderr, int(peak.read_text()) / 1024


@pytest.mark.parametrize(
    "kind,head,fill,pattern",
    [("nul", b"id,name,lon,lat\n", b"\x00", "NUL bytes"),
     ("nul-lines", b"id,name,lon,lat\n", b"\x00\n", "NUL bytes"),
     ("line", b"id,name,lon,lat\n", b"a,", "line 2 is longer than 1 MB"),
     ("header", b"", b"x", "line 1 is longer than 1 MB")],
)  # fmt: skip
def test_nul_bytes_and_huge_lines_refused_early_in_bounded_memory(
    tmp_path, kind, head, fill, pattern
):
    p = tmp_path / f"{kind}.csv"
    with open(p, "wb") as f:
        f.write(head)
        block = fill * ((1 << 20) // len(fill))
        for _ in range(40):  # 40 MB
            f.write(block)
        f.write(b"\n1,A,121.6,29.9\n")
    command = "validate" if kind != "line" else "import"
    argv = [command, str(p), "--kind", "incubators", "--crs", "WGS84"]
    code, err, peak_mb = _run_cli_measured(*argv, *(["--out", str(tmp_path / "o.gpkg")] if command == "import" else []))  # fmt: skip
    assert code == 2, err
    assert "Traceback" not in err and pattern in err and p.name in err
    assert len(err) < 700  # the header is never echoed
    assert peak_mb < 400, peak_mb  # the import stack alone is ~150 MB; the file is 40 MB
    assert not (tmp_path / "o.gpkg").exists()


def test_readers_refuse_like_the_importer(tmp_path):
    p = _csv(tmp_path, "dup.csv", "id,name,lon,LON,lat\n1,A,121.6,121.7,29.9\n")
    with pytest.raises(LayerValidationError, match="LON"):
        read_points_csv(p, layer_key="incubators")


# ---------------------------------------------------------------- writers
FORMULA = re.compile(r"^[\s\x00-\x1f\u200b-\u200f\ufeff]*[=+\-@＝＋－＠]")


def _layer(values: list[str], columns: dict[str, list] | None = None) -> gpd.GeoDataFrame:
    n = len(values)
    data = {"id": [f"X{i}" for i in range(n)], "name": values} | (columns or {})
    pts = [Point(121.6 + i * 1e-3, 29.9) for i in range(n)]
    return gpd.GeoDataFrame(data, geometry=pts, crs=4326)


def _csv_rows(p: Path) -> list[list[str]]:
    import csv

    with open(p, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f, strict=True))


def test_csv_quotes_cr_lf_and_neutralises_formulas_after_blanks(tmp_path):
    from export.layers_io import write_tables

    values = ["x\r=1+1", "a\nb", 'q"q', " =HYPERLINK(1)", "\x00@SUM(A1)", "\u200b-2+3", "plain"]
    p = write_tables({"t": _layer(values)}, tmp_path / "t.csv", fmt="csv")
    raw = p.read_bytes().decode("utf-8-sig")
    rows = _csv_rows(p)
    assert len(rows) == 1 + len(values)  # no value starts a new row
    names = [r[1] for r in rows[1:]]
    assert names[:3] == values[:3] and names[-1] == "plain"
    for v in names:
        assert not FORMULA.match(v), v
    assert '"x\r=1+1"' in raw  # CR inside quotes


_text = st.text(
    alphabet=st.sampled_from(list("=+-@\t\r\n \"',;a中\x00\u200b＝"))
    | st.characters(codec="utf-8"),
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_text, min_size=1, max_size=5))
def test_csv_and_xlsx_round_trip_arbitrary_text(tmp_path, values):
    """Every value reads back equal or neutralised ('-prefixed), never a formula."""
    from openpyxl import load_workbook

    from export.layers_io import write_tables

    values = [v.replace("\x00", "") for v in values]  # NUL is never a cell value (import rejects)
    df = _layer(values)
    c = write_tables({"t": df}, tmp_path / "t.csv", fmt="csv", force=True)
    x = write_tables({"t": df}, tmp_path / "t.xlsx", fmt="xlsx", force=True)
    got_csv = [r[1] for r in _csv_rows(c)[1:]]
    ws = load_workbook(x).active
    got_xlsx = [ws.cell(r, 2).value or "" for r in range(2, len(values) + 2)]
    pictures = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # XLSX shows them as U+2400…
    for got, shown in (
        (got_csv, values),
        (got_xlsx, [pictures.sub(lambda m: chr(0x2400 + ord(m.group())), v) for v in values]),
    ):
        assert len(got) == len(values)
        for v, g in zip(shown, got, strict=True):
            assert g in (v, "'" + v), (v, g)
            assert not FORMULA.match(g) or g.startswith("'")
    for r in load_workbook(x).active.iter_rows():
        for cell in r:
            assert cell.data_type != "f"


def test_kml_field_and_layer_names_are_xml_safe(tmp_path):
    import xml.etree.ElementTree as ET

    from export.layers_io import write_layers

    hostile = {'a"b': ["v"], "x]]><Placemark><name>evil</name></Placemark>": ["w"], "c&d<": ["1"]}
    g = _layer(['A<&>"'], hostile)
    p = write_layers({'lay&er"<': g}, tmp_path / "out.kml", fmt="kml")
    root = ET.parse(p).getroot()  # strict XML parser: well-formed
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert len(root.findall(".//k:Placemark", ns)) == 1
    fields = [f.get("name") for f in root.findall(".//k:SimpleField", ns)]
    assert all(re.fullmatch(r"[\w\-. ]+", f) for f in fields), fields
    text = p.read_text(encoding="utf-8")
    assert ".out.kml" not in text and "out" in root.find("k:Document/k:name", ns).text
    assert root.find(".//k:Folder/k:name", ns).text == 'lay&er"<'  # a folder per layer
    assert root.find(".//k:Placemark/k:name", ns).text == 'A<&>"'


def test_geojson_layer_name_is_not_the_temporary_file(tmp_path):
    from export.layers_io import write_layers

    p = write_layers({"a": _layer(["A"])}, tmp_path / "layers.geojson", fmt="geojson")
    data = json.loads(p.read_text(encoding="utf-8"))
    assert data["name"] == "layers"


def test_shapefile_field_names_csv_is_neutralised(tmp_path):
    from export.layers_io import write_layers

    g = _layer(["A"], {'=HYPERLINK("http://x","y")': ["v"]})
    p = write_layers({"@evil": g}, tmp_path / "s.zip", fmt="shp")
    with zipfile.ZipFile(p) as z:
        text = z.read("field_names.csv").decode("utf-8-sig")
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["layer", "field", "shapefile_field"]
    for r in rows[1:]:
        for v in r:
            assert not FORMULA.match(v), v
    assert any(r[1] == '\'=HYPERLINK("http://x","y")' for r in rows[1:])


def test_import_page_rejected_download_is_safe_csv():
    import pandas as pd

    from layers.safe import safe_csv

    data = safe_csv(pd.DataFrame({"row": [2], "name": ["x\r=1+1"], "reason": ["@x"]}))
    text = data.decode("utf-8-sig")
    assert text == 'row,name,reason\r\n2,"x\r=1+1",\'@x\r\n'


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_text, min_size=1, max_size=3))
def test_kml_geojson_shp_round_trip_arbitrary_text(tmp_path, values):
    """GIS formats keep text as data; KML parses with a strict XML parser whatever the text."""
    import xml.etree.ElementTree as ET

    from export.layers_io import write_layers

    g = _layer(values, {"note": values})
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    p = write_layers({"t": g}, tmp_path / "t.kml", fmt="kml", force=True)
    placemarks = ET.parse(p).getroot().findall(".//k:Placemark", ns)
    assert len(placemarks) == len(values)
    for fmt, suffix in (("geojson", ".geojson"), ("gpkg", ".gpkg"), ("shp", ".zip")):
        p = write_layers({"t": g}, tmp_path / f"t{suffix}", fmt=fmt, force=True)
        back = gpd.read_file(p)
        strip = (lambda v: v.strip(" ")) if fmt == "shp" else (lambda v: v)  # dBASE pads
        got = [strip(v) if isinstance(v, str) and v else None for v in back["note"].tolist()]
        assert got == [strip(v.replace("\x00", NUL_SHOWN)) or None for v in values], fmt


def test_gpkg_view_over_database_internals_is_refused(tmp_path):
    import sqlite3

    p = tmp_path / "v.gpkg"
    _layer(["a"]).to_file(p, layer="pts", driver="GPKG")
    con = sqlite3.connect(p)
    con.execute(
        "CREATE VIEW evil AS SELECT p.fid AS fid, p.geom AS geom, "
        "(SELECT group_concat(file) FROM pragma_database_list) AS name FROM pts p"
    )
    con.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
        "VALUES ('evil', 'features', 'evil', 4326)"
    )
    con.execute("INSERT INTO gpkg_geometry_columns VALUES ('evil', 'geom', 'POINT', 4326, 0, 0)")
    con.commit()
    con.close()
    msg = _refused(p, "'evil'", "database internals", opts=ImportOptions(kind="incubators"))
    assert str(tmp_path) not in msg


# ---------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    "minutes,pattern",
    [("inf", "finite"), ("nan", "finite"), ("5,1e400", "finite"), ("-5", "> 0"), ("0", "> 0"),
     ("181", "180"), (",".join(str(i) for i in range(1, 14)), "limit of 12"),
     (",".join(str(i) for i in range(1, 2001)), "finite")],
)  # fmt: skip
def test_cli_minutes_refused_before_any_work(capsys, minutes, pattern):
    with pytest.raises(SystemExit) as ei:
        cli_main(
            ["coverage", "--service", "a", "--demand", "b", "--minutes", minutes, "--out", "x"]
        )
    err = capsys.readouterr().err
    assert ei.value.code == 2 and "Traceback" not in err
    assert "--minutes" in err and pattern in err and " / " in err
    assert len(err) < 3_000  # 2,000 cut-offs are not echoed


@pytest.mark.parametrize("value", [float("inf"), float("nan"), -1.0, 0.0, 181.0])
def test_workflow_requests_refuse_bad_minutes(value):
    from layers.errors import InnoMapError
    from workflows.coverage import CoverageRequest
    from workflows.siting import SitingRequest

    with pytest.raises(InnoMapError, match="minutes"):
        CoverageRequest(minutes=(5.0, value))
    with pytest.raises(InnoMapError, match="minutes"):
        SitingRequest(minutes=value)


def test_cutoff_cap_is_a_setting_and_checked_by_the_request():
    import settings
    from layers.errors import InnoMapError
    from workflows.coverage import CoverageRequest

    assert settings.MAX_CUTOFFS == 12 and settings.MAX_MINUTES == 180.0
    CoverageRequest(minutes=tuple(range(1, 13)))
    with pytest.raises(InnoMapError, match="12"):
        CoverageRequest(minutes=tuple(range(1, 14)))


@pytest.mark.parametrize(
    "kw,pattern",
    [({"cell_m": 1}, "limit 10 m"), ({"permutations": 10_000_000}, "99999"),
     ({"cell_m": float("inf")}, "finite")],
)  # fmt: skip
def test_hotspot_work_limits(kw, pattern):
    from layers.errors import InnoMapError
    from workflows.hotspots import HotspotsRequest

    with pytest.raises(InnoMapError, match=pattern):
        HotspotsRequest(**kw)


def test_siting_grid_limit():
    from layers.errors import InnoMapError
    from workflows.siting import SitingRequest

    with pytest.raises(InnoMapError, match="grid spacing"):
        SitingRequest(candidates="grid:1")


def test_impossible_out_paths_exit_2_with_a_message(tmp_path, capsys):
    p = _csv(tmp_path, "ok.csv", HEADER + ROWS[0] + "\n")
    folder = tmp_path / "a folder"
    folder.mkdir()
    base = ["import", str(p), "--kind", "incubators", "--crs", "WGS84", "--out"]
    for out, pattern in (
        (str(folder), "is a folder"),
        ("/dev/null/x.gpkg", "'/dev/null' is not a folder"),
        ("/dev/null/x/y.gpkg", "'/dev/null' is not a folder"),
    ):
        code, _, err = _cli(capsys, *base, out)
        assert code == 2 and pattern in err and " / " in err, err
        assert ".x.gpkg." not in err  # no temporary name
    code, _, _ = _cli(capsys, *base, str(tmp_path / "new" / "deeper" / "o.gpkg"))
    assert code == 0 and (tmp_path / "new" / "deeper" / "o.gpkg").exists()


def test_analysis_out_folder_that_cannot_be_made():
    from cli import _check_out
    from layers.errors import InnoMapError

    with pytest.raises(InnoMapError, match="cannot create the --out folder"):
        _check_out(Path("/dev/null/x"), ["summary.json"], force=False)


def test_streamlit_shows_no_exception_details():
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["client"]["showErrorDetails"] == "none"


# ---------------------------------------------------------------- the CLI over every case
def _xlsx_bytes(rows: list[list], *, hidden_first: bool = False) -> bytes:
    import io

    wb = Workbook()
    ws = wb.active
    if hidden_first:
        ws.title = "hidden"
        ws.append(["id", "name", "lon", "lat"])
        ws.sheet_state = "hidden"
        ws = wb.create_sheet("data")
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


_KML_HEAD = '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
_PM = "<Placemark><name>{0}</name><Point><coordinates>121.6,29.9</coordinates></Point></Placemark>"

#: name -> (file name, bytes, expected exit code, rows_total or a pattern of the message)
CASES = {
    "blank lines": ("a.csv", HEADER + ROWS[0] + "\n\n" + "2,B,121.61,x\n", 1, 2),
    "NUL in a value": ("b.csv", HEADER + "1,A\x00B,121.6,29.9\n" + ROWS[1] + "\n", 1, 2),
    "header only": ("c.csv", HEADER, 2, "only a header"),
    "BOM + GBK": ("d.csv", codecs.BOM_UTF8 + (HEADER + "1,宁波,121.6,29.9\n").encode("gbk"), 0, 1),
    "UTF-16 no BOM": ("e.csv", (HEADER + ROWS[0] + "\n").encode("utf-16-le"), 0, 1),
    "duplicate headers": ("f.csv", "id,name,lon,LON,lat\n1,A,121.6,121.7,29.9\n", 2, "'LON'"),
    "long row": ("g.csv", HEADER + ROWS[0] + ",x\n" + ROWS[1] + "\n", 1, 2),
    "short row": ("h.csv", HEADER + "1,A,121.6\n" + ROWS[1] + "\n", 1, 2),
    "fid column": ("i.csv", "fid,id,name,lon,lat\n1,1,A,121.6,29.9\n", 0, 1),
    "empty KML": ("j.kml", _KML_HEAD + "</Document></kml>", 2, "no placemarks"),
    "KML without ids": (
        "k.kml",
        _KML_HEAD + _PM.format("A") + _PM.format("B") + "</Document></kml>",
        0,
        2,
    ),
    "empty FeatureCollection": (
        "l.geojson",
        '{"type":"FeatureCollection","features":[]}',
        2,
        "no features",
    ),
    "not a KML": ("m.kml", "<?xml version='1.0'?><gml/>", 2, "not a KML"),
    "stale XLSX dimension": ("n.xlsx", None, 0, 3),
    "hidden first sheet": (
        "o.xlsx",
        _xlsx_bytes([["id", "name", "lon", "lat"], [1, "A", 121.6, 29.9]], hidden_first=True),
        0,
        1,
    ),
    "formula without result": (
        "p.xlsx",
        _xlsx_bytes([["id", "name", "lon", "lat"], [1, "A", "=1+1", 29.9]]),
        1,
        1,
    ),
    "header-only XLSX": (
        "q.xlsx",
        _xlsx_bytes([["id", "name", "lon", "lat"]]),
        2,
        r"\[Sheet\].*only a header",
    ),
    "binary": ("r.csv", b"\x00" * 5000, 2, "NUL bytes"),
    "huge header": (
        "s.csv",
        "x" * (READ_LIMITS["max_line_bytes"] + 10) + "\n",
        2,
        "line 1 is longer",
    ),
    "empty file": ("t.csv", "", 2, "empty"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_cli_validate_every_case(tmp_path, capsys, case):
    name, data, code, expect = CASES[case]
    p = tmp_path / name
    if data is None:  # stale <dimension>: 3 rows declared as A1:B2
        src = tmp_path / "src.xlsx"
        src.write_bytes(_xlsx_bytes([["id", "name", "lon", "lat"]] + [[i, f"N{i}", 121.6, 29.9] for i in range(3)]))  # fmt: skip
        _stale_dimension(src, p)
    else:
        p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    got, out, err = _cli(capsys, "validate", str(p), "--kind", "incubators", "--crs", "WGS84", "--json")  # fmt: skip
    assert got == code, (case, out, err)
    rep = json.loads(out)
    assert "Traceback" not in out and str(tmp_path) not in rep.get("error", "")
    if isinstance(expect, int):
        assert rep["rows_total"] == expect, rep
        assert all(e["row"] and e["row"] > 1 for e in rep["errors"])  # every error names its row
    else:
        assert re.search(expect, rep["error"]), rep["error"]
        assert p.name in rep["error"] and " / " in rep["error"]


def _mutations():
    base = (HEADER + "\n".join(ROWS) + "\n").encode("utf-8")
    noise = st.sampled_from([b"\x00", b"\r", b"\n", b'"', b",", b";", b"\xff", b"\xef\xbb\xbf", b"=1+1", "中".encode()])  # fmt: skip
    return st.tuples(st.just(base), st.lists(st.tuples(st.integers(0, len(base)), noise), max_size=8))  # fmt: skip


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_mutations())
def test_fuzzed_csv_gives_exit_0_1_or_2_never_a_traceback(tmp_path, capsys, mutated):
    base, edits = mutated
    data = bytearray(base)
    for pos, piece in sorted(edits, reverse=True):
        data[pos:pos] = piece
    p = tmp_path / "fuzz.csv"
    p.write_bytes(bytes(data))
    code, out, _ = _cli(capsys, "validate", str(p), "--kind", "incubators", "--crs", "WGS84", "--json")  # fmt: skip
    assert code in (0, 1, 2)
    rep = json.loads(out)
    if code == 2:
        assert "fuzz.csv" in rep["error"]
    else:
        assert rep["rows_valid"] <= rep["rows_total"]
        lines = bytes(data).count(b"\n") + bytes(data).count(b"\r") + 1
        assert all(1 < e["row"] <= lines for e in rep["errors"])
