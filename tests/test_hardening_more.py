"""Issue 11, the rest: every CSV writer through safe_csv, analysis outputs never overwritten
without --force, no temp file left by SIGTERM/SIGINT (and stale ones removed at the next
start), print maps without absolute or temporary paths, upload size limits in the app and
the import page's hardening errors shown without a traceback.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from cli import main as cli_main
from tests.conftest import ROOT

#: A spreadsheet formula after any leading blanks or control characters.
FORMULA = re.compile(r"^[\s\x00-\x1f\u200b-\u200f\ufeff]*[=+\-@＝＋－＠]")
#: Hostile names: a CR then a formula (as a second line it would start a live ``=1+1``).
HOSTILE = ["x\r=1+1", "\r=1+1", "=1+1", 'q"\n@SUM(A1)']


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli_main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def _rows(data: bytes, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline=""), strict=True))


def _assert_safe(values: list[str], got: list[str]) -> None:
    """Each value reads back as one cell, equal or '-prefixed, never a live formula."""
    assert len(got) == len(values), got
    for v, g in zip(values, got, strict=True):
        assert g in (v, "'" + v), (v, g)
        assert not FORMULA.match(g), g
    assert "'\r=1+1" in got and "'=1+1" in got  # neutralised, not dropped


# ---------------------------------------------------------------- 1. CSV writers
def test_cli_geocode_csv_quotes_cr_and_neutralises(tmp_path, capsys):
    src = tmp_path / "名单.csv"
    addresses = ["浙江省宁波市鄞州区天童南路588号"] * len(HOSTILE)
    pd.DataFrame({"名称": HOSTILE, "地址": addresses}).to_csv(
        src, index=False, lineterminator="\r\n"
    )
    out = tmp_path / "out.csv"
    code, _, _ = _cli(capsys, "geocode", str(src), "--address-col", "地址", "--city", "宁波市", "--out", str(out))  # fmt: skip
    assert code in (0, 1)
    rows = _rows(out.read_bytes())
    assert len(rows) == 1 + len(HOSTILE)  # no value starts a new row
    _assert_safe(HOSTILE, [r[rows[0].index("名称")] for r in rows[1:]])


def test_cli_profile_csv_is_safe(tmp_path, capsys, monkeypatch):
    """profile.csv goes through safe_csv (the workflow is replaced by a hostile table)."""
    from types import SimpleNamespace

    import export.profile_chart
    import workflows.profile

    n = len(HOSTILE)
    table = pd.DataFrame(
        {"bin": HOSTILE, "from_m": range(n), "to_m": range(1, n + 1), "enterprises": [1] * n}
        | {"total": 1, "per_km": 1.0, "covered": 0, "covered_share": None}
    )
    summary = {
        "warnings": [],
        "kinds": ["enterprises"],
        "skipped_invalid": 0,
        "covered_share": None,
        "axis": "a",
        "axis_length_m": 1000.0,
        "n_bins": n,
        "bin_m": 250.0,
        "points_in_band": n,
        "band_m": 100.0,
        "synthetic_note": "",
    }
    rep = SimpleNamespace(summary=summary, tables={"profile": table})
    monkeypatch.setattr(workflows.profile, "run", lambda project, req: rep)
    monkeypatch.setattr(export.profile_chart, "profile_chart", lambda s, dpi: b"\x89PNG")
    out = tmp_path / "out"
    code, _, _ = _cli(capsys, "profile", "--axis", "a", "--out", str(out))
    assert code == 0
    rows = _rows((out / "profile.csv").read_bytes(), "utf-8")
    assert rows[0][:3] == ["bin", "from_m", "to_m"] and len(rows) == 1 + n
    _assert_safe(HOSTILE, [r[0] for r in rows[1:]])


def test_import_geocoded_keeps_cr_values_whole(tmp_path):
    """The geocoded rows go back through the importer: one row per record, text unchanged."""
    from layers.importer import ImportOptions
    from workflows.geocode import import_geocoded

    n = len(HOSTILE)
    geocoded = pd.DataFrame(
        {
            "id": [f"G{i}" for i in range(n)],
            "name": HOSTILE,
            "lon": [121.55 + i * 1e-3 for i in range(n)],
            "lat": [29.87] * n,
            "coord_source": "geocode:county",
            "coord_precision_m": 5000.0,
            "geocode_status": "coarse",
        }
    )
    rep, not_imported = import_geocoded(
        geocoded, tmp_path, "名单.csv", ImportOptions(kind="enterprises")
    )
    assert rep.rows_total == n and len(rep.valid) == n and not len(not_imported)
    assert rep.valid["name"].tolist() == HOSTILE  # data kept as data; exports neutralise
    assert set(rep.valid["coord_source"]) == {"geocode:county"}


@pytest.fixture()
def media(monkeypatch):
    """Bytes of every download button an AppTest run makes, by media file id."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    got: dict[str, bytes] = {}
    orig = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        fid = orig(self, path_or_data, mimetype, kind, filename)
        got[fid] = path_or_data
        return fid

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return got


def _download(at, media: dict[str, bytes], key: str) -> bytes:
    (btn,) = [b for b in at.get("download_button") if b.key == key]
    return media[Path(btn.proto.url).stem]


def test_import_page_geocode_download_is_safe_csv(tmp_path, monkeypatch, media):
    from streamlit.testing.v1 import AppTest

    from layers.project import create_project

    proj = tmp_path / "lyg.gpkg"
    create_project(proj, name="连云港测试", city="连云港市", counties=["海州区"])
    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("INNOMAP_PROJECT", str(proj))
    src = tmp_path / "地址名单.csv"
    pd.DataFrame(
        {"企业名称": HOSTILE, "注册地址": ["江苏省连云港市海州区朝阳东路32号"] * len(HOSTILE)}
    ).to_csv(src, index=False, lineterminator="\r\n")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("ui/pages/import_page.py").run()
    at.session_state["imp_path"] = str(src)
    at.run()
    at.button(key="imp_geo_run").click().run()
    assert not at.exception, at.exception
    rows = _rows(_download(at, media, "imp_geo_dl"))
    assert len(rows) == 1 + len(HOSTILE)  # every listed (coarse) row, each one row
    _assert_safe(HOSTILE, [r[rows[0].index("企业名称")] for r in rows[1:]])


# ---------------------------------------------------------------- 2. --out never overwritten
#: case -> (arguments before --out, an output it writes, its workflow module)
COV = ["coverage", "--service", "science_venues", "--demand", "enterprises"]
ANALYSES_OUT = {
    "clusters": (["clusters", "--layer", "enterprises"], "clusters.gpkg", "clusters"),
    "coverage": (COV, "demand.gpkg", "coverage"),
    "hotspots": (["hotspots", "--layer", "enterprises"], "cells.gpkg", "hotspots"),
    "site": (
        ["site", "--demand", "enterprises", "--existing", "incubators", "--k", "1"],
        "gaps.gpkg",
        "siting",
    ),
    "profile": (["profile", "--axis", "测试走廊轴线"], "profile.png", "profile"),
    "summary only": (COV, "summary.json", "coverage"),
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tests.tiny_project import make_project

    return make_project(tmp_path_factory.mktemp("tiny"))


@pytest.mark.parametrize("case", list(ANALYSES_OUT))
def test_analysis_out_refuses_existing_outputs_without_force(tmp_path, capsys, tiny, case, monkeypatch):  # fmt: skip
    import importlib

    argv, name, module = ANALYSES_OUT[case]
    out = tmp_path / "out"
    out.mkdir()
    (out / name).write_bytes(b"keep me")
    wf = importlib.import_module(f"workflows.{module}")
    monkeypatch.setattr(wf, "run", lambda *a, **k: pytest.fail("computed before refusing"))
    code, _, err = _cli(capsys, *argv, "--project", tiny.ref, "--out", str(out))
    assert code == 2 and name in err and "--force" in err and " / " in err, err
    assert (out / name).read_bytes() == b"keep me"
    assert sorted(p.name for p in out.iterdir()) == [name]


def test_analysis_out_force_overwrites(tmp_path, capsys, tiny):
    out = tmp_path / "out"
    out.mkdir()
    (out / "clusters.gpkg").write_bytes(b"old")
    argv = ["clusters", "--project", tiny.ref, "--layer", "enterprises", "--min-samples", "2"]
    code, _, _ = _cli(capsys, *argv, "--out", str(out), "--force")
    assert code == 0 and (out / "clusters.gpkg").read_bytes()[:16] == b"SQLite format 3\x00"


def test_report_out_refuses_an_existing_file_without_force(tmp_path, capsys, tiny, monkeypatch):
    import workflows.report

    out = tmp_path / "r.docx"
    out.write_bytes(b"keep me")
    monkeypatch.setattr(workflows.report, "build", lambda *a, **k: pytest.fail("computed"))
    code, _, err = _cli(capsys, "report", "--project", tiny.ref, "--out", str(out))
    assert code == 2 and "r.docx" in err and "--force" in err
    assert out.read_bytes() == b"keep me"


# ---------------------------------------------------------------- 3. temp files and signals
#: A CLI child whose final rename waits (the output is then a hidden temp file) until signalled.
SLOW_CHILD = """
import os, sys, time
real = os.replace
def slow(src, dst, *a, **k):
    if str(dst).endswith(os.environ["SLOW_TARGET"]):
        print("WRITING", os.path.basename(src), flush=True)
        time.sleep(60)
    return real(src, dst, *a, **k)
os.replace = slow
from cli import main
sys.exit(main(sys.argv[1:]))
"""


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize(
    ("command", "sig"),
    [("export-layers", "SIGTERM"), ("export-map", "SIGTERM"), ("export-layers", "SIGINT")],
)
def test_signal_during_export_leaves_no_temp_file(tmp_path, tiny, command, sig):
    import os
    import signal
    import subprocess
    import sys

    out = tmp_path / "out"
    out.mkdir()
    target = out / ("m.svg" if command == "export-map" else "l.geojson")
    args = ["--project", tiny.ref, "--layers", "企业", "--out", str(target)]
    args += ["--format", "svg", "--dpi", "50"] if command == "export-map" else ["--format", "geojson"]  # fmt: skip
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_CHILD, command, *args],
        cwd=ROOT,
        env=os.environ | {"SLOW_TARGET": target.name},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline()
        assert line.startswith("WRITING .innomap-"), (line, child.stderr.read())
        tmp = line.split()[1]
        assert _hidden(out) == [tmp] and f"-{child.pid}-" in tmp  # the temp names its writer
        child.send_signal(getattr(signal, sig))
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 128 + getattr(signal, sig), err
    assert "Traceback" not in err and f"stopped by {sig}" in err and " / " in err, err
    assert list(out.iterdir()) == []  # neither the temp file nor a half output


def test_stale_temps_of_dead_writers_are_removed_at_the_next_write(tmp_path, capsys, tiny):
    import os
    import subprocess
    import sys

    from layers.io_safe import clean_stale_temps

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid names no process
    out = tmp_path / "out"
    out.mkdir()
    stale = [f".innomap-{dead.pid}-ab12.geojson", f".innomap-{dead.pid}-cd34.gpkg-journal"]
    alive = [f".innomap-{os.getpid()}-ef56.geojson", ".innomap-x-1.txt", ".other"]
    for name in stale + alive:
        (out / name).write_bytes(b"x")
    code, _, _ = _cli(capsys, "export-layers", "--project", tiny.ref, "--layers", "企业", "--format", "geojson", "--out", str(out / "l.geojson"))  # fmt: skip
    assert code == 0
    assert _hidden(out) == sorted(alive)  # a live writer's and foreign files are kept
    assert clean_stale_temps(tmp_path / "missing") == []


# ---------------------------------------------------------------- 4. print maps name files only
def _texts(obj) -> str:
    """Every text a print map is given (labels, notes, sources, titles), joined."""
    if isinstance(obj, dict):
        return " ".join(_texts(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return " ".join(_texts(v) for v in obj)
    label = getattr(obj, "label", None)
    if label is not None:  # a PrintLayer: its label, sources and category labels
        cats = getattr(obj, "categories", None) or ("", {})
        return " ".join([label, *obj.sources, *(str(v) for v in cats[1].values())])
    return str(obj) if obj is not None else ""


@pytest.fixture()
def listed_file(tmp_path):
    """A point file in a folder named like a temporary upload folder."""
    folder = tmp_path / "innomap-upload-k2j4x9" / ".layers.kml.4e5qk3yb"
    folder.mkdir(parents=True)
    p = folder / "我的名单.csv"
    p.write_text("id,name,lon,lat\n1,A,119.171,34.601\n2,B,119.172,34.602\n", encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("analysis", "params", "refs"),
    [
        (None, None, ["incubators={f}"]),
        (None, None, ["{f}"]),
        ("clusters", {"min_samples": 2, "eps_m": 500}, ["{f}"]),
        ("coverage", {"service": ["{f}"], "demand": "enterprises", "minutes": [15]}, []),
    ],
)
def test_print_map_texts_name_files_without_folders(
    tmp_path, capsys, monkeypatch, tiny, listed_file, analysis, params, refs
):
    import json

    import export.maps

    given = {}
    monkeypatch.setattr(export.maps, "render_print_map", lambda *a, **k: given.update(k, a=a) or b"svg")  # fmt: skip
    fill = str(listed_file)
    argv = ["export-map", "--project", tiny.ref, "--format", "svg", "--crs", "WGS84"]
    argv += ["--out", str(tmp_path / "m.svg")]
    if refs:
        argv += ["--layers", *(r.format(f=fill) for r in refs)]
    if analysis:
        argv += ["--analysis", analysis, "--params", json.dumps(params).replace("{f}", fill)]
    code, _, err = _cli(capsys, *argv)
    assert code == 0, err
    text = _texts(given)
    assert "我的名单.csv" in text  # the file is named …
    for folder in (str(tmp_path), "innomap-upload", ".layers.kml"):  # … never its folders
        assert folder not in text, (folder, text)


def test_html_map_layer_keys_name_files_without_folders(tmp_path, tiny, listed_file):
    from export.maps import display_ref, export_html

    html = export_html(tiny, [f"incubators={listed_file}"], crs="WGS84").decode("utf-8")
    assert "我的名单.csv" in html and str(tmp_path) not in html and "innomap-upload" not in html
    assert display_ref(tiny, "企业") == "企业" and display_ref(tiny, "enterprises:a/b") == "enterprises:a/b"  # fmt: skip
    assert display_ref(tiny, "C:\\Users\\张\\名单.xlsx") == "名单.xlsx"


# ---------------------------------------------------------------- 5. upload size limits
@pytest.fixture()
def app_on_project(tmp_path, monkeypatch):
    """An AppTest on a fresh 连云港 project (own INNOMAP_HOME); ``getvalue`` is watched."""
    from streamlit.runtime.uploaded_file_manager import UploadedFile
    from streamlit.testing.v1 import AppTest

    from layers.project import create_project

    proj = tmp_path / "p.gpkg"
    create_project(proj, name="连云港测试", city="连云港市", counties=["海州区"])
    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("INNOMAP_PROJECT", str(proj))
    read = []
    real = UploadedFile.getvalue
    monkeypatch.setattr(UploadedFile, "getvalue", lambda self: read.append(self.name) or real(self))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    return at, read


def _refused_upload(at, name: str) -> str:
    assert not at.exception, at.exception
    (msg,) = [e.value for e in at.error if name in e.value]
    assert "0.002 MB" in msg and "MB" in msg and " / " in msg and "limit" in msg, msg
    assert "Traceback" not in msg
    return msg


def test_import_upload_above_the_limit_is_refused_before_reading(app_on_project, monkeypatch):
    import settings

    at, read = app_on_project
    monkeypatch.setattr(settings, "IMPORT_UPLOAD_MAX_MB", 0.002)  # 2 KiB
    at.switch_page("ui/pages/import_page.py").run()
    big = ("id,name,lon,lat\n" + "1,A,119.17,34.60\n" * 300).encode()  # ~5 KB
    at.file_uploader(key="imp_file").upload("大名单.csv", big, "text/csv").run()
    msg = _refused_upload(at, "大名单.csv")
    assert "python cli.py project add" in msg and read == []  # never read
    assert "imp_kind" not in [s.key for s in at.selectbox]  # nothing inspected
    at.file_uploader(key="imp_file").clear().upload("小名单.csv", big[:300], "text/csv").run()
    assert not at.exception and read == ["小名单.csv"]  # under the limit: read as before
    assert "imp_kind" in [s.key for s in at.selectbox]


def test_network_upload_above_the_limit_is_refused_before_reading(app_on_project, monkeypatch):
    import settings

    at, read = app_on_project
    monkeypatch.setattr(settings, "NETWORK_UPLOAD_MAX_MB", 0.002)
    at.switch_page("ui/pages/coverage_page.py").run()
    at.file_uploader(key="cov_network").upload("路网.graphml", b"<graphml>" + b" " * 5000, "text/xml").run()  # fmt: skip
    msg = _refused_upload(at, "路网.graphml")
    assert "add-network" in msg and read == []


# ---------------------------------------------------------------- 6. the import page's errors
def _xlsx(rows: list[list], *, hidden_first: bool = False) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    if hidden_first:  # a hidden sheet first, with a header but no data
        ws.title = "旧表"
        ws.append(["id", "name", "lon", "lat"])
        ws.sheet_state = "hidden"
        ws = wb.create_sheet("名单")
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


HEAD = "id,name,lon,lat\n"
PAGE_CASES = [
    # (file name, bytes, errors that must be shown, metrics total/valid/rejected or None)
    (
        "nul.csv",
        (HEAD + "1,A\x00B,119.17,34.60\n2,B,119.18,34.61\n").encode(),
        ["1 个错误"],
        ["2", "1", "1"],
    ),
    ("header.csv", HEAD.encode(), ["header.csv", "only a header"], None),
    ("dup.csv", b"id,name,lon,LON,lat\n1,A,119.17,119.2,34.6\n", ["dup.csv", "'LON'"], None),
    ("binary.csv", b"\x00" * 5000, ["binary.csv", "NUL bytes"], None),
    (
        "formula.xlsx",
        _xlsx([["id", "name", "lon", "lat"], [1, "A", "=1+1", 34.6], [2, "B", 119.18, 34.61]]),
        ["个错误"],
        ["2", "1", "1"],
    ),
    (
        "hidden.xlsx",
        _xlsx([["id", "name", "lon", "lat"], [1, "A", 119.17, 34.6]], hidden_first=True),
        [],
        ["1", "1", "0"],
    ),
]


def test_import_page_shows_hardening_errors_without_traceback(app_on_project):
    at, _ = app_on_project
    at.switch_page("ui/pages/import_page.py").run()
    for name, data, errors, metrics in PAGE_CASES:
        up = at.file_uploader(key="imp_file")
        up.clear().upload(name, data, "application/octet-stream").run()
        assert not at.exception, (name, at.exception)  # a message, never a traceback
        shown = " ".join(e.value for e in at.error)
        for text in errors:
            assert text in shown, (name, text, shown)
        assert "Traceback" not in shown and "/tmp" not in shown and "innomap-upload" not in shown
        if metrics:
            assert [m.value for m in at.metric][:3] == metrics, name
        else:
            assert not at.metric, name
        if name == "nul.csv":  # the rejected row named by its file line, its value kept whole
            table = at.dataframe[0].value
            assert table["row"].tolist() == [2] and "A\u2400B" in table["value"].tolist()
        if name == "hidden.xlsx":  # the visible sheet is the default, the hidden one listed last
            sheet = at.selectbox(key="imp_layer")
            assert sheet.value == "名单" and sheet.options == ["名单", "旧表(隐藏)"], sheet.options
