"""Large point layers on the web map: renderer choice, compact payload, click identify,
vendored WebGL plugin served offline. Small sizes only (the browser side is in
tests/test_e2e_large.py, the timings in bench/map_bench.py)."""

from __future__ import annotations

import gzip
import json
import math
import re
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import render.webmap as webmap
from render.compact import decode_points, encode_points, nearest_point, point_record
from render.webmap import POPUP_FIELDS, STATIC_DIR, MapLayer, build_map
from tests.conftest import XSS_NAME


def _frame(n: int, *, seed: int = 0, names=None) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon = 121.5 + rng.random(n) * 0.3
    lat = 29.8 + rng.random(n) * 0.2
    df = pd.DataFrame(
        {
            "id": [f"E{i}" for i in range(n)],
            "name": names if names is not None else [f"企业{i}" for i in range(n)],
            "subtype": rng.choice(["高新技术企业", "科技型中小企业", ""], n),
            "level": pd.Series(rng.choice(["国家级", None], n), dtype=object),
            "address": [f"某路{i % 7}号" for i in range(n)],
            "coord_precision_m": rng.choice([10.0, 2.5, np.nan], n),
            "synthetic": rng.random(n) < 0.5,
        }
    )
    return gpd.GeoDataFrame(df, geometry=shapely.points(lon, lat), crs=4326)


def _html(gdf, **kw) -> str:
    layer = MapLayer("enterprises", "企业", gdf, "#d62728", "point")
    return build_map([layer], **kw).get_root().render()


def _gl_payload(html: str) -> dict:
    m = re.search(r"InnoMap\.glPointLayer\(\s*(\{.*?\})\s*,\s*\{", html, re.S)
    assert m, "no WebGL layer in the page"
    return json.loads(m.group(1))


# --- renderer choice ---------------------------------------------------------------


def test_layers_above_the_threshold_use_the_gpu_renderer():
    gdf = _frame(12)
    big = _html(gdf, gl_threshold=11)
    assert "InnoMap.glPointLayer(" in big and "InnoMap.pointLayer(" not in big
    assert "/app/static/vendor/glify-browser.js?v=" in big and "/app/static/innomap_gl.js?v=" in big
    assert "markercluster" not in big
    small = _html(gdf, gl_threshold=12)  # at the threshold: markers as today
    assert "InnoMap.pointLayer(" in small and "glify" not in small
    assert '"lat":[' in small and '"cluster":false' in small


def test_default_threshold_comes_from_settings(monkeypatch):
    import settings

    assert webmap.WEBGL_THRESHOLD == settings.WEBGL_THRESHOLD == 20_000
    monkeypatch.setattr(webmap, "WEBGL_THRESHOLD", 5)
    assert "InnoMap.glPointLayer(" in _html(_frame(6))
    assert "InnoMap.glPointLayer(" not in _html(_frame(5))


def test_small_layers_keep_markers_popups_and_clusters():
    html = _html(_frame(1500))  # the demo's enterprises: ~1,000-4,000 points
    assert "InnoMap.pointLayer(" in html and '"cluster":true' in html
    assert "glify" not in html and "innomap_gl" not in html


# --- compact payload ---------------------------------------------------------------

_text = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["", XSS_NAME, "a\x1fb", "</script>", "${x}`", "宁波"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.floats(73.5, 135.0),
            st.floats(18.0, 53.5),
            _text,
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=32)),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    ),
    unique=st.booleans(),
)
def test_compact_payload_round_trips_to_the_popup_values(rows, unique):
    lon, lat, text, num, synth = (np.array(c, dtype=object) for c in zip(*rows, strict=True))
    n = len(rows)
    table = pd.DataFrame(
        {
            "id": [f"R{i}" for i in range(n)] if unique else [f"R{i % 3}" for i in range(n)],
            "name": pd.Series(list(text), dtype=object),
            "coord_precision_m": pd.Series(list(num), dtype=float),
            "synthetic": synth.astype(bool),
        }
    )
    fields = ("id", "name", "coord_precision_m", "synthetic", "missing_field")
    payload = encode_points(lon.astype(float), lat.astype(float), table, fields)
    assert all(isinstance(v, (str, int)) for v in payload.values())
    assert re.fullmatch(r"[A-Za-z0-9+/=]*", payload["xy"] + payload["synth"] + payload["props"])
    lo, la, sy, cols = decode_points(payload)
    # positions within 2 cm, synthetic flags exact
    assert np.abs(lo - lon.astype(float)).max() < 2e-7
    assert np.abs(la - lat.astype(float)).max() < 2e-7
    assert sy.tolist() == synth.astype(bool).tolist()
    assert list(cols) == ["id", "name", "coord_precision_m", "synthetic"]
    for f in cols:  # the same values the marker popups show (render.webmap._fmt)
        assert cols[f] == [webmap._fmt(v) for v in table[f].tolist()], f


@pytest.mark.parametrize("odd", [None, "", "a\x1fb", "</script>"])
def test_arrow_text_sent_whole_round_trips(odd):
    n = 1500  # above the sample that sends a (nearly) unique column whole
    names = pd.Series([f"企业{i}" for i in range(n)], dtype="string[pyarrow]")
    names.iloc[[3, 700]] = odd
    table = pd.DataFrame({"id": [f"R{i}" for i in range(n)], "name": names})
    payload = encode_points(np.full(n, 121.5), np.full(n, 29.8), table, ("id", "name"))
    _, _, _, cols = decode_points(payload)
    assert cols["name"] == [webmap._fmt(v) for v in names.tolist()]
    assert cols["name"][3] == webmap._fmt(odd) and cols["name"][4] == "企业4"


def test_nearly_unique_text_is_sent_whole_and_repeated_text_as_codes():
    n = 3000
    gdf = _frame(n)
    payload = encode_points(gdf.geometry.x, gdf.geometry.y, gdf, POPUP_FIELDS)
    _, _, _, cols = decode_points(payload)
    assert cols["id"][:3] == ["E0", "E1", "E2"] and cols["address"][8] == "某路1号"
    assert set(cols["subtype"]) == {"高新技术企业", "科技型中小企业", None}
    # 3,000 rows of text cost far less than their JSON
    raw = len(pd.DataFrame(gdf.drop(columns="geometry")).to_json(force_ascii=False))
    assert len(payload["props"]) < raw / 3


# --- click identify ------------------------------------------------------------------


def test_click_identify_finds_the_record_under_the_pointer():
    gdf = _frame(500, seed=3)
    payload = _gl_payload(_html(gdf, gl_threshold=0))
    lon, lat, _, cols = decode_points(payload)
    for i in (0, 137, 499):
        x, y = gdf.geometry.x.iloc[i] + 1e-6, gdf.geometry.y.iloc[i] - 1e-6
        j = nearest_point(lon, lat, x, y)
        rec = point_record(cols, j)
        assert rec["id"] == f"E{i}" and rec["name"] == f"企业{i}"
        assert rec["synthetic"] == bool(gdf["synthetic"].iloc[i])
    assert nearest_point(np.array([]), np.array([]), 0.0, 0.0) == -1


#: The browser globals innomap_gl.js needs, for the node drivers below.
_NODE_PRELUDE = r"""
globalThis.window = globalThis;
window.InnoMap = { focus() {}, recordCard() {} };
function extend(proto) {
  function C() { if (proto.initialize) proto.initialize.apply(this, arguments); }
  C.prototype = proto; return C;
}
globalThis.L = { Layer: { extend }, latLng: (a, b) => ({ lat: a, lng: b }) };
"""
_NODE_DRIVER = (
    _NODE_PRELUDE
    + r"""
const calls = [];
require(process.argv[2]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const layer = window.InnoMap.glPointLayer(input.payload, { color: "#d62728" });
const d = layer._d, out = [];
layer.props().then(get => {
  for (const [lon, lat] of input.clicks) {
    const s = Math.sin(lat * Math.PI / 180);
    const x = (lon + 180) / 360 * 256, y = (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 256;
    const i = window.InnoMap.glNearest(d.px, d.py, x, y)[0];
    const ll = layer.latLng(i);
    out.push({ id: get(i, "id"), name: get(i, "name"), level: get(i, "level"),
      synthetic: get(i, "synthetic"), lat: ll.lat, lng: ll.lng, synth: d.synth ? d.synth[i] : 0 });
  }
  console.log(JSON.stringify(out));
});
"""
)


def _drive(tmp_path, source: str, payload: dict, clicks: list, *extra) -> dict | list:
    """Run ``static/innomap_gl.js`` under node with a driver script; its JSON answer."""
    driver = tmp_path / "driver.js"
    driver.write_text(source, encoding="utf-8")
    res = subprocess.run(
        ["node", str(driver), str(STATIC_DIR / "innomap_gl.js"), *map(str, extra)],
        input=json.dumps({"payload": payload, "clicks": clicks}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_browser_code_decodes_the_payload_and_identifies_the_clicked_record(tmp_path):
    """The real static/innomap_gl.js (under node) against the Python encoder."""
    names = [f"企业{i}" for i in range(300)]
    names[42] = XSS_NAME
    gdf = _frame(300, seed=5, names=names)
    payload = _gl_payload(_html(gdf, gl_threshold=0))
    picks = [0, 42, 299]
    clicks = [[gdf.geometry.x.iloc[i], gdf.geometry.y.iloc[i]] for i in picks]
    got = _drive(tmp_path, _NODE_DRIVER, payload, clicks)
    for i, rec in zip(picks, got, strict=True):
        assert rec["id"] == f"E{i}" and rec["name"] == names[i]
        assert rec["level"] == webmap._fmt(gdf["level"].iloc[i])
        assert rec["synthetic"] is bool(gdf["synthetic"].iloc[i])
        assert rec["synth"] == int(gdf["synthetic"].iloc[i])
        assert math.isclose(rec["lng"], gdf.geometry.x.iloc[i], abs_tol=2e-7)
        assert math.isclose(rec["lat"], gdf.geometry.y.iloc[i], abs_tol=2e-7)


# --- offline assets and script safety ---------------------------------------------------


def test_vendored_webgl_plugin_is_served_from_static_with_its_licence():
    js = STATIC_DIR / "vendor" / "glify-browser.js"
    text = js.read_text(encoding="utf-8")
    assert "window.L.glify" in text and "sourceMappingURL" not in text
    assert "MIT" in (STATIC_DIR / "vendor" / "LICENSE-leaflet.glify").read_text()
    readme = (STATIC_DIR / "vendor" / "README.md").read_text(encoding="utf-8")
    assert "leaflet.glify" in readme and "3.3.1" in readme and "MIT" in readme
    html = _html(_frame(30), gl_threshold=0)
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert urls and all(u.startswith("/app/static/") for u in urls), urls
    for u in urls:
        rel, _, version = u.removeprefix("/app/static/").partition("?v=")
        assert (STATIC_DIR / rel).is_file(), u
        assert version == webmap._asset_version(rel)  # a changed file gets a new URL
    assert "cdn" not in html.lower()


def test_inline_export_embeds_the_webgl_plugin():
    html = _html(_frame(30), gl_threshold=0, asset_mode="inline")
    assert "/app/static" not in html
    assert html.count("data:text/javascript;base64,") >= 4  # leaflet, innomap, glify, gl layer


def test_hostile_text_in_a_large_layer_never_reaches_the_page_as_markup():
    names = [XSS_NAME, "</script><script>alert(1)</script>", "${alert(1)}`"] * 10
    html = _html(_frame(30, names=names), gl_threshold=0)
    assert "<img src=x" not in html and "alert(1)" not in html
    script = html[html.index("InnoMap.glPointLayer(") :]
    assert "</script" not in script[: script.index(");")]


def test_focus_on_a_large_layer_record():
    gdf = _frame(40)
    layer = MapLayer("enterprises", "企业", gdf, "#d62728", "point")
    html = build_map([layer], gl_threshold=0, focus=("enterprises", "E7")).get_root().render()
    assert "InnoMap.focus(" in html and '"E7"' in html


# --- data files for the app (gl_data="files") ---------------------------------------


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setattr(webmap, "GL_CACHE_DIR", d)
    return d


def _files_payload(html: str) -> dict:
    payload = _gl_payload(html)
    assert set(payload) == {"n", "src", "propsSrc"}, payload
    return payload


def _read(cache_dir, url: str) -> bytes:
    assert url.startswith("/app/static/cache/")
    return (cache_dir / url.rsplit("/", 1)[1]).read_bytes()


def test_app_map_sends_large_layers_as_files_not_in_the_page(cache_dir):
    gdf = _frame(3000, seed=2)
    layer = MapLayer("enterprises", "企业", gdf, "#d62728", "point", version=("v", 1))
    html = build_map([layer], gl_threshold=0, gl_data="files").get_root().render()
    inline = _html(gdf, gl_threshold=0)
    assert len(html) < len(inline) / 10  # the data is not in the page
    payload = _files_payload(html)
    data = gzip.decompress(_read(cache_dir, payload["src"]))
    props = _read(cache_dir, payload["propsSrc"])
    want = _gl_payload(inline)
    b64 = __import__("base64").b64encode
    # the files hold the bytes the inline payload base64-encodes: pairs, flag bits, table
    assert b64(data[: 8 * payload["n"]]).decode() == want["xy"]
    assert b64(data[8 * payload["n"] :]).decode() == want["synth"]
    assert b64(props).decode() == want["props"]
    assert payload["n"] == 3000
    # served as gzip files, which the server's gzip middleware does not compress again
    from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES
    from streamlit.web.server.component_file_utils import guess_content_type

    for url in (payload["src"], payload["propsSrc"]):
        assert guess_content_type(url) == "application/gzip"
        assert guess_content_type(url) in DEFAULT_EXCLUDED_CONTENT_TYPES


def test_a_layer_with_the_same_version_is_not_encoded_again(cache_dir, monkeypatch):
    calls = []
    real = webmap.encode_points_raw

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(webmap, "encode_points_raw", counting)
    gdf = _frame(50)

    def page(version):
        lyr = MapLayer("enterprises", "企业", gdf, "#d62728", "point", version=version)
        html = build_map([lyr], gl_threshold=0, gl_data="files").get_root().render()
        return _files_payload(html)["src"]

    a = page(("p", 1))
    assert page(("p", 1)) == a and len(calls) == 1  # a rerun: same file, no encoding
    b = page(("p", 2))
    assert b != a and len(calls) == 2
    (cache_dir / a.rsplit("/", 1)[1]).unlink()  # pruned meanwhile: written again
    assert page(("p", 1)) == a and len(calls) == 3
    # without a version: encoded each time, named after the content
    lyr = MapLayer("enterprises", "企业", gdf, "#d62728", "point")
    h1 = build_map([lyr], gl_threshold=0, gl_data="files").get_root().render()
    h2 = build_map([lyr], gl_threshold=0, gl_data="files").get_root().render()
    assert _files_payload(h1)["src"] == _files_payload(h2)["src"] and len(calls) == 5


def test_file_names_cannot_be_guessed_from_the_content(cache_dir, monkeypatch):
    gdf = _frame(40)
    lyr = MapLayer("enterprises", "企业", gdf, "#d62728", "point", version=1)
    first = _files_payload(build_map([lyr], gl_threshold=0, gl_data="files").get_root().render())
    monkeypatch.setattr(webmap, "_SECRET", b"another process")
    second = _files_payload(build_map([lyr], gl_threshold=0, gl_data="files").get_root().render())
    assert first["src"] != second["src"]
    assert re.fullmatch(r"/app/static/cache/[0-9a-f]{40}\.bin\.gz", first["src"])


def test_the_cache_folder_stays_below_its_cap(cache_dir, monkeypatch):
    monkeypatch.setattr(webmap, "GL_CACHE_MAX_MB", 0.05)  # 50 kB
    for v in range(6):
        lyr = MapLayer("e", "e", _frame(2000, seed=v), "#d62728", "point", version=v)
        html = build_map([lyr], gl_threshold=0, gl_data="files").get_root().render()
        payload = _files_payload(html)
        assert _read(cache_dir, payload["src"])  # the newest files are kept
    files = [f for f in cache_dir.iterdir() if f.name.endswith((".bin.gz", ".props.gz"))]
    assert sum(f.stat().st_size for f in files) <= 0.05e6 + 2 * 40_000
    assert len(files) < 12


def test_unwritable_cache_falls_back_to_the_inline_payload(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setattr(webmap, "GL_CACHE_DIR", blocker / "cache")  # cannot be created
    html = _html(_frame(30), gl_threshold=0, gl_data="files")
    assert set(_gl_payload(html)) == {"n", "xy", "synth", "props"}
    inline = _html(_frame(30), gl_threshold=0, gl_data="files", asset_mode="inline")
    assert set(_gl_payload(inline)) == {"n", "xy", "synth", "props"}  # a single-file map
    with pytest.raises(ValueError, match="gl_data"):
        _html(_frame(3), gl_data="url")


_NODE_FILES_DRIVER = (
    _NODE_PRELUDE
    + r"""
const fs = require("fs"), path = require("path"), fetched = [];
globalThis.fetch = async (url) => {
  fetched.push(url);
  const f = path.join(process.argv[3], url.split("/").pop());
  if (!fs.existsSync(f)) return { ok: false, status: 404 };
  const b = fs.readFileSync(f);
  return { ok: true, arrayBuffer: async () => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) };
};
require(process.argv[2]);
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const layer = window.InnoMap.glPointLayer(input.payload, { color: "#d62728" });
const before = layer._d;
layer.data().then(d => layer.props().then(get => {
  const out = [];
  for (const [lon, lat] of input.clicks) {
    const s = Math.sin(lat * Math.PI / 180);
    const x = (lon + 180) / 360 * 256, y = (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 256;
    const i = window.InnoMap.glNearest(d.px, d.py, x, y)[0];
    out.push({ id: get(i, "id"), synth: d.synth ? d.synth[i] : 0 });
  }
  console.log(JSON.stringify({ before, n: d.n, fetched, out }));
}));
"""
)


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_browser_code_fetches_the_data_files_and_identifies(tmp_path, cache_dir):
    gdf = _frame(300, seed=6)
    lyr = MapLayer("enterprises", "企业", gdf, "#d62728", "point", version="n")
    payload = _files_payload(build_map([lyr], gl_threshold=0, gl_data="files").get_root().render())
    picks = [0, 150, 299]
    clicks = [[gdf.geometry.x.iloc[i], gdf.geometry.y.iloc[i]] for i in picks]
    got = _drive(tmp_path, _NODE_FILES_DRIVER, payload, clicks, cache_dir)
    assert got["before"] is None and got["n"] == 300  # nothing decoded before the fetch
    assert got["fetched"] == [payload["src"], payload["propsSrc"]]
    for i, rec in zip(picks, got["out"], strict=True):
        assert rec["id"] == f"E{i}" and rec["synth"] == int(gdf["synthetic"].iloc[i])


# --- the map page ---------------------------------------------------------------------


def test_map_page_draws_a_layer_named_like_its_kind_once(tmp_path, monkeypatch):
    """A project with the demo's ``enterprises`` layer and another enterprises layer: each
    layer is drawn with its own records (the kind name drew every enterprises layer)."""
    from streamlit.testing.v1 import AppTest

    import ui.mapview
    from layers.project import ProjectLayer, add_layer, create_project
    from tests.conftest import ROOT

    project = create_project(tmp_path / "p.gpkg", name="p", city="宁波市", counties=["鄞州区"])
    g = _frame(5, seed=9).assign(kind="enterprises", source="t", coord_source="t")
    add_layer(project, ProjectLayer(name="enterprises", kind="enterprises", gdf=g.iloc[:3]))
    add_layer(project, ProjectLayer(name="名录", kind="enterprises", gdf=g.iloc[3:]))
    monkeypatch.setenv("INNOMAP_PROJECT", project.ref)
    pages = []
    real = ui.mapview.folium_payload

    def capture(m):
        out = real(m)
        pages.append(out["header"] + out["html"] + out["script"])  # what the browser gets
        return out

    monkeypatch.setattr(ui.mapview, "folium_payload", capture)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["科技企业"] == "3 / 3"  # was 5 / 5: the other layer's records again
    assert metrics["名录 (科技企业)"] == "2 / 2"
    counts = re.search(r"InnoMap\.ready\(\w+, (\{.*?\})\)", pages[-1]).group(1)
    assert {k: v for k, v in json.loads(counts).items() if k in ("enterprises", "名录")} == {
        "enterprises": 3,
        "名录": 2,
    }


def test_notice_credits_the_vendored_webgl_plugin():
    notice = (STATIC_DIR.parent / "data" / "NOTICE").read_text(encoding="utf-8")
    assert "leaflet.glify 3.3.1" in notice and "Robert Plummer" in notice
    assert "lodash" in notice and "Permission is hereby granted" in notice


_NODE_NO_DATA_DRIVER = (
    _NODE_PRELUDE
    + r"""
globalThis.DecompressionStream = undefined;  // an old browser
globalThis.console = { warn() {}, log: console.log };
const fs = require("fs"), path = require("path"), shown = [];
globalThis.document = { createElement: () => ({ style: {} }) };
globalThis.fetch = async (url) => {
  const b = fs.readFileSync(path.join(process.argv[3], url.split("/").pop()));
  return { ok: true, arrayBuffer: async () => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) };
};
require(process.argv[2]);
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const opts = { color: "#d62728", noData: input.clicks[0] };
const layer = window.InnoMap.glPointLayer(input.payload, opts);
const map = { on() {}, hasLayer: () => true, getContainer: () => ({ appendChild: (el) => shown.push(el) }) };
layer.onAdd(map);
setTimeout(() => console.log(JSON.stringify({ error: layer.innomapError || null,
  shown: shown.map(el => ({ cls: el.className, text: el.textContent })) })), 200);
"""
)


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_a_browser_that_cannot_unpack_the_data_says_so_on_the_map(tmp_path, cache_dir):
    gdf = _frame(50, seed=7)
    lyr = MapLayer("enterprises", "大名单", gdf, "#d62728", "point", version="old")
    html = build_map([lyr], gl_threshold=0, gl_data="files", lang="zh").get_root().render()
    assert "此浏览器无法载入大图层 大名单 的数据" in html  # the layer's own notice, in its language
    payload = _files_payload(html)
    got = _drive(tmp_path, _NODE_NO_DATA_DRIVER, payload, ["无法载入 <b>x</b>"], cache_dir)
    assert "DecompressionStream" in got["error"]
    assert got["shown"] == [{"cls": "innomap-gl-error", "text": "无法载入 <b>x</b>"}]  # as text


def test_map_prepared_after_an_import_is_what_the_map_page_uses(tmp_path, monkeypatch, cache_dir):
    """After a large import the map's frames and data files are built in the background;
    the map page then encodes nothing and fetches those very files."""
    from streamlit.testing.v1 import AppTest

    import ui.mapview
    from layers.project import ProjectLayer, add_layer, create_project, open_project
    from tests.conftest import ROOT
    from ui.map_data import prepare_in_background

    monkeypatch.setattr(webmap, "WEBGL_THRESHOLD", 10)  # 40 records count as large here
    project = create_project(tmp_path / "p.gpkg", name="p", city="宁波市", counties=["鄞州区"])
    g = _frame(40, seed=11).assign(kind="enterprises", source="t", coord_source="t")
    add_layer(project, ProjectLayer(name="名录", kind="enterprises", gdf=g))
    prepare_in_background(open_project(project.ref), lang="zh").join(timeout=60)
    prepared = sorted(f.name for f in cache_dir.iterdir())
    assert len(prepared) == 2 and prepared[0].endswith(".bin.gz")
    encoded = []
    monkeypatch.setattr(webmap, "encode_points_raw", lambda *a, **k: encoded.append(1) or 1 / 0)
    pages = []
    real = ui.mapview.folium_payload

    def capture(m):
        out = real(m)
        pages.append(out["header"] + out["html"] + out["script"])  # what the browser gets
        return out

    monkeypatch.setattr(ui.mapview, "folium_payload", capture)
    monkeypatch.setenv("INNOMAP_PROJECT", project.ref)
    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert encoded == [] and _files_payload(pages[-1])["src"].endswith(prepared[0])
