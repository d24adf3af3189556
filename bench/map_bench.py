"""Benchmark: web map with 50k / 200k / 1M points, large-layer renderer vs folium MarkerCluster.

For each size the same synthetic province-scale layer (points around a dozen
city centres, popup fields like a registry) is built by ``render.webmap.build_map``
per renderer: ``files`` is the app's path (compact payload written to
``static/cache`` and fetched as binary, drawn by WebGL or the culled canvas,
whichever the browser has), ``canvas``/``webgl`` force one renderer with the
payload inline in the page (the CLI's single-file map), ``folium`` is the old
MarkerCluster rendering (``gl_threshold`` above the size). Each build runs in its own
process (time, HTML size and peak RSS), then headless Chromium opens the page from
a loopback server that serves ``/app/static`` like Streamlit does and measures:

* first paint: navigation → map ready and points drawn (two animation frames
  after the layer drew), cold (first load) and warm (median of the next loads);
* redraw after a jump (``setView`` without animation, 8 jumps: pan and zoom),
  median milliseconds until the next frame;
* frame times during an animated pan (``panBy``, 1 s): median and 95th percentile;
* click identify: time from a click on a point to its popup text;
* browser JS heap after load (``Performance.getMetrics``).

A folium run that has not painted within ``--cap-s`` seconds is reported as
"did not finish in N s" and its page is closed.

The same run then measures the app's map page with ``--app-points`` points (a
project saved from the demo with one large enterprises layer): server cold
(first page), a new browser (new context: Streamlit's own scripts loaded again,
server warm), a reload in the same browser (its cache warm), the part of each
that is the map (from the map component's request to the points drawn), and a
rerun that leaves the map as it is (it must not fetch the data again). A table
puts the numbers side by side at the end.

    python bench/map_bench.py [--sizes 50000,200000,1000000] [--warm 3] [--cap-s 90] [--app-points 1000000]
    python bench/map_bench.py --sizes "" --app-points 1000000   # the app's map page only
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
    "--enable-precise-memory-info",
]
#: Zhejiang-like city centres (lon, lat) the synthetic points gather around.
CENTRES = [
    (120.16, 30.27),
    (121.55, 29.87),
    (120.70, 28.00),
    (120.58, 30.00),
    (120.09, 30.89),
    (120.75, 30.75),
    (119.65, 29.08),
    (121.42, 28.66),
    (118.87, 28.94),
    (119.92, 28.46),
    (122.21, 29.99),
    (121.20, 30.17),
]


def make_points(n: int, *, seed: int = 7):
    """``n`` synthetic registry records (GeoDataFrame, WGS84) around the centres."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    rng = np.random.default_rng(seed)
    c = rng.integers(0, len(CENTRES), n)
    centres = np.array(CENTRES)[c]
    spread = rng.choice([0.02, 0.06, 0.15], n, p=[0.4, 0.4, 0.2])
    lon = centres[:, 0] + rng.normal(0, 1, n) * spread
    lat = centres[:, 1] + rng.normal(0, 1, n) * spread * 0.8
    ids = pd.Series(np.arange(n)).map("E{:07d}".format)
    subtypes = np.array(["高新技术企业", "科技型中小企业", "专精特新企业", "其他"])
    districts = np.array([f"区县{i:02d}" for i in range(90)])
    df = pd.DataFrame(
        {
            "id": ids,
            "name": "模拟企业" + ids.str[1:],
            "kind": "enterprises",
            "subtype": subtypes[rng.integers(0, 4, n)],
            "district": districts[rng.integers(0, 90, n)],
            "address": "浙江省某市某路" + pd.Series(rng.integers(1, 2000, n)).astype(str) + "号",
            "source": "bench synthetic",
            "coord_source": "bench",
            "coord_precision_m": 10.0,
            "synthetic": rng.random(n) < 0.5,
        }
    )
    return gpd.GeoDataFrame(df, geometry=shapely.points(lon, lat), crs=4326)


def _build(n: int, renderer: str, out: str) -> None:
    """Child process: build and render the map HTML, print timings as JSON."""
    from render.webmap import MapLayer, build_map

    gdf = make_points(n)
    t0 = time.perf_counter()
    style = {} if renderer in ("folium", "files") else {"renderer": renderer}
    m = build_map(
        [MapLayer("enterprises", "企业", gdf, "#d62728", "point", style=style)],
        gl_threshold=n + 1 if renderer == "folium" else 0,
        gl_data="files" if renderer == "files" else "inline",
    )
    html = m.get_root().render()
    dt = time.perf_counter() - t0
    Path(out).write_text(html, encoding="utf-8")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row = {"build_s": dt, "html_mb": len(html.encode()) / 1e6, "peak_rss_mb": rss}
    if renderer == "files":  # the data files fetched by the page
        import re

        from render.webmap import GL_CACHE_DIR

        names = re.findall(r"/app/static/cache/([0-9a-f]{40}\.(?:bin|props)\.gz)", html)
        row["data_files_mb"] = sum((GL_CACHE_DIR / x).stat().st_size for x in names) / 1e6
    print(json.dumps(row))


class _Handler(http.server.SimpleHTTPRequestHandler):
    def translate_path(self, path):
        from render.webmap import STATIC_DIR

        path = path.split("?", 1)[0]
        if path.startswith("/app/static/"):
            return str(STATIC_DIR / path[len("/app/static/") :])
        return super().translate_path(path)

    def log_message(self, *args):
        pass


def _serve(folder: str):
    handler = functools.partial(_Handler, directory=folder)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


_MAP = "Object.values(window).find(v => v instanceof L.Map)"
# Until the points are drawn: large layers report each draw (WebGL work is then
# finished by reading a pixel back); folium: until cluster icons are on the map.
_FLUSH = """window.innomapFlush = () => {
  const map = __MAP__; const px = new Uint8Array(4); let drawn = null;
  map.eachLayer(l => { if (l.innomapGl) {
    drawn = Math.max(drawn || 0, l._drawnAt || 0);
    if (l.innomapRenderer === 'webgl') { const gl = l._r.gl; gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px); }
  } });
  return drawn;
};""".replace("__MAP__", _MAP)
# Polled by Playwright every animation frame, so a page whose main thread is busy
# (folium building a million markers) still times out at the cap.
_PAINTED = """() => {
  if (!document.querySelector('[data-innomap-ready]')) return false;
  if (!window.innomapFlush) { __FLUSH__ }
  const drawn = window.innomapFlush();
  return drawn === null
    ? !!(document.querySelector('.marker-cluster') || document.querySelector('path.leaflet-interactive'))
    : drawn > 0;
}""".replace("__FLUSH__", _FLUSH)
_TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
_JUMPS = """async () => {
  const map = __MAP__;
  const c = map.getCenter(), z = map.getZoom(), out = [];
  const moves = [[0.3, 0.2, z], [-0.3, 0.1, z + 1], [0.1, -0.2, z + 2], [0, 0, z + 1],
                 [0.2, 0.2, z], [-0.2, -0.1, z + 1], [0.05, 0.05, z + 3], [0, 0, z]];
  for (const [dx, dy, zz] of moves) {
    const t = performance.now();
    map.setView([c.lat + dy, c.lng + dx], zz, {animate: false});
    window.innomapFlush();
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    out.push(performance.now() - t);
    await new Promise(r => setTimeout(r, 200));
  }
  await new Promise(r => setTimeout(r, 500));
  return out;
}""".replace("__MAP__", _MAP)
_PAN = """async () => {
  const map = __MAP__, dts = [];
  let last = performance.now(), running = true;
  const tick = (t) => { dts.push(t - last); last = t; if (running) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  map.panBy([400, 250], {animate: true, duration: 1.0});
  await new Promise(r => setTimeout(r, 1300));
  running = false;
  map.panBy([-400, -250], {animate: false});
  return dts.slice(1);
}""".replace("__MAP__", _MAP)


def _heap_mb(page) -> float:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    m = {x["name"]: x["value"] for x in cdp.send("Performance.getMetrics")["metrics"]}
    return m.get("JSHeapUsedSize", 0) / 1e6


def _click_identify(page, expect_name: str, lon: float, lat: float, cap_ms: int) -> float | None:
    """Click the point at (lon, lat) and time until the popup shows ``expect_name``."""
    xy = page.evaluate(
        f"([lat, lon]) => {{ const m = {_MAP}; m.setView([lat, lon], 17, {{animate: false}});"
        " const p = m.latLngToContainerPoint([lat, lon]);"
        " const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }",
        [lat, lon],
    )
    page.wait_for_timeout(300)
    t0 = time.perf_counter()
    page.mouse.click(xy[0], xy[1])
    title = page.locator(".leaflet-popup-content .innomap-popup-title")
    try:
        title.wait_for(timeout=cap_ms)
    except Exception:
        return None
    ok = title.inner_text() == expect_name
    return (time.perf_counter() - t0) if ok else float("nan")


def _measure(browser, url: str, cap_s: float, warm: int, probe) -> dict:
    res: dict = {}
    loads = []
    for k in range(1 + warm):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        t0 = time.perf_counter()
        try:
            page.goto(url, timeout=cap_s * 1000, wait_until="commit")
            left = max(cap_s - (time.perf_counter() - t0), 0.1)
            page.wait_for_function(_PAINTED, timeout=left * 1000, polling="raf")
            page.evaluate(_TWO_FRAMES)
            done = True
        except Exception:
            done = False
        dt = time.perf_counter() - t0
        if not done or dt > cap_s:
            res["first_paint"] = f"did not finish in {cap_s:.0f} s"
            return res  # the caller closes the browser (a busy page may not close)
        loads.append(dt)
        if k == warm:
            res["heap_mb"] = _heap_mb(page)
            res["drawn_by"] = page.evaluate(
                "() => { const m = __MAP__; let r = 'folium'; m.eachLayer(l => { if (l.innomapRenderer)"
                " r = l.innomapRenderer; }); return r; }".replace("__MAP__", _MAP)
            )
            jumps = page.evaluate(_JUMPS)
            res["redraw_ms_median"] = statistics.median(jumps)
            res["redraw_ms_max"] = max(jumps)
            pan = page.evaluate(_PAN)
            if pan:
                res["pan_frame_ms_median"] = statistics.median(pan)
                res["pan_frame_ms_p95"] = float(np.percentile(pan, 95))
            name, lon, lat = probe
            res["click_identify_s"] = _click_identify(page, name, lon, lat, int(cap_s * 1000))
        page.close()
    res["first_paint_cold_s"] = loads[0]
    if warm:
        res["first_paint_warm_s"] = statistics.median(loads[1:])
    return res


def _measure_in_child(url: str, cap_s: float, warm: int, probe) -> dict:
    """:func:`_measure` in a process session of its own, killed (browser included) when a
    page keeps its main thread busy past the cap (Playwright cannot interrupt it)."""
    cmd = [sys.executable, __file__, "--cap-s", str(cap_s), "--warm", str(warm)]
    cmd += ["--_measure", url, json.dumps(list(probe))]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=(cap_s + 30) * (1 + warm) + 60)
        return json.loads(out.decode().strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, IndexError, json.JSONDecodeError):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return {"first_paint": f"did not finish in {cap_s:.0f} s"}


def _app_project(n: int, folder: str) -> str:
    """The demo saved as a project, its 4,000 enterprises replaced by ``n`` around Ningbo."""
    from layers.project import ProjectLayer, add_layer, open_project, remove_layer, save_as

    gdf = make_points(n)
    # move the province-like cloud onto Ningbo (the demo project's districts)
    x, y = gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()
    import shapely

    gdf = gdf.set_geometry(shapely.points(121.55 + (x - 120.5) * 0.25, 29.87 + (y - 29.5) * 0.25))
    path = os.path.join(folder, "large.gpkg")
    project = save_as(open_project(None), path)
    # the demo layer named after the kind would also show every enterprises layer
    remove_layer(project, "enterprises")
    add_layer(project, ProjectLayer(name="企业名录", kind="enterprises", gdf=gdf))
    return path


_IFRAME = "iframe[title*='st_folium']"


def _app_load(page, url: str, cap_s: float, *, reload: bool = False) -> dict:
    """Open (or reload) the app; seconds until the large layer is drawn, and the map's part."""
    marks: dict = {}
    t0 = time.perf_counter()

    def on_request(r):
        if "st_folium" in r.url and "index.html" in r.url and "component" not in marks:
            marks["component"] = time.perf_counter() - t0

    page.on("request", on_request)
    if reload:
        page.reload(wait_until="commit")
    else:
        page.goto(url, wait_until="commit")
    frame = page.frame_locator(_IFRAME).first
    frame.locator("[data-innomap-ready]").wait_for(timeout=cap_s * 1000)
    frame.locator("canvas.innomap-gl-canvas").first.wait_for(timeout=cap_s * 1000)
    dt = time.perf_counter() - t0
    page.remove_listener("request", on_request)
    return {"total_s": dt, "map_s": dt - marks.get("component", 0.0)}


def _app_rerun_keeps_map(page, cap_s: float) -> dict:
    """A rerun that does not change the map (a search without hits): seconds, and whether the
    map was reloaded or its data fetched again."""
    fetched: list[str] = []
    # the point data (.bin.gz); the property table (.props.gz) may still arrive, fetched when idle
    page.on("request", lambda r: fetched.append(r.url) if r.url.endswith(".bin.gz") else None)
    inner = next(f for f in page.frames if f.query_selector("[data-innomap-ready]"))
    inner.evaluate("() => { window.__benchKept = 1; }")
    t0 = time.perf_counter()
    page.get_by_label("名称搜索").first.fill("不存在的企业xyz")
    page.keyboard.press("Enter")
    page.get_by_text("没有找到匹配的名称").first.wait_for(timeout=cap_s * 1000)
    dt = time.perf_counter() - t0
    page.wait_for_timeout(1000)
    inner = next(f for f in page.frames if f.query_selector("[data-innomap-ready]"))
    return {
        "rerun_s": dt,
        "rerun_map_reloaded": inner.evaluate("() => window.__benchKept !== 1"),
        "rerun_data_fetched": len(fetched),
    }


def _app_run(n: int, warm: int, cap_s: float) -> dict:
    """The app's map page with ``n`` points (server build included), see the module docstring."""
    from playwright.sync_api import sync_playwright

    from tests.test_e2e_browser import _free_port, start_app, stop_app

    folder = tempfile.mkdtemp(prefix="map_bench_app_")
    t = time.perf_counter()
    ref = _app_project(n, folder)
    res: dict = {"points": n, "project_write_s": time.perf_counter() - t}
    port = _free_port()
    proc = start_app(port, INNOMAP_PROJECT=ref)
    url = f"http://127.0.0.1:{port}"
    fresh, reloads = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                for _ in range(1 + warm):  # a new browser context each: nothing cached
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    fresh.append(_app_load(page, url, cap_s))
                    page.close()
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                _app_load(page, url, cap_s)
                for _ in range(max(warm, 1)):  # the same browser: its cache warm
                    reloads.append(_app_load(page, url, cap_s, reload=True))
                res.update(_app_rerun_keeps_map(page, cap_s))
            except Exception as exc:
                res["first_paint"] = f"did not finish in {cap_s:.0f} s ({type(exc).__name__})"
            browser.close()
        with open(f"/proc/{proc.pid}/status") as f:
            hwm = [ln for ln in f if ln.startswith("VmHWM")]
        res["server_peak_rss_mb"] = int(hwm[0].split()[1]) / 1024 if hwm else None
    finally:
        stop_app(proc)
    if fresh:
        res["first_paint_cold_s"] = fresh[0]["total_s"]
        res["map_part_cold_s"] = fresh[0]["map_s"]
    if len(fresh) > 1:
        res["first_paint_warm_new_browser_s"] = statistics.median(x["total_s"] for x in fresh[1:])
        res["map_part_warm_s"] = statistics.median(x["map_s"] for x in fresh[1:])
    if reloads:
        res["first_paint_warm_reload_s"] = statistics.median(x["total_s"] for x in reloads)
        res["map_part_reload_s"] = statistics.median(x["map_s"] for x in reloads)
    return res


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.2f}" if v == v else "wrong record"
    return "-" if v is None else str(v)


def _table(results: list[dict], app: dict | None) -> str:
    """The results side by side (one row per size and renderer), then the app's page."""
    cols = [
        ("points", "points"),
        ("renderer", "renderer"),
        ("build_s", "build s"),
        ("html_mb", "page MB"),
        ("data_files_mb", "data files MB"),
        ("first_paint_cold_s", "paint cold s"),
        ("first_paint_warm_s", "paint warm s"),
        ("redraw_ms_median", "pan/zoom redraw ms"),
        ("pan_frame_ms_median", "pan frame ms"),
        ("pan_frame_ms_p95", "pan frame p95 ms"),
        ("click_identify_s", "click s"),
        ("drawn_by", "drawn by"),
    ]
    lines = [" | ".join(h for _, h in cols), " | ".join("---" for _ in cols)]
    for r in results:
        row = [_fmt(r.get(k)) for k, _ in cols]
        if "first_paint" in r:  # did not finish
            row[4] = row[5] = r["first_paint"]
        lines.append(" | ".join(row))
    if app:
        lines.append("")
        lines.append("app map page: " + ", ".join(f"{k} {_fmt(v)}" for k, v in app.items()))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50000,200000,1000000")
    ap.add_argument("--renderers", default="files,webgl,folium")
    ap.add_argument("--warm", type=int, default=3)
    ap.add_argument("--cap-s", type=float, default=90.0)
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument(
        "--app-points",
        type=int,
        default=1_000_000,
        help="then the app's map page with this many points (0: not measured)",
    )
    ap.add_argument("--_build", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--_measure", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._build:
        _build(int(args._build[0]), args._build[1], args._build[2])
        return
    if args._measure:
        url, probe = args._measure[0], json.loads(args._measure[1])
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            print(json.dumps(_measure(browser, url, args.cap_s, args.warm, probe), default=str))
            browser.close()
        return
    tmp = tempfile.mkdtemp(prefix="map_bench_")
    srv, base = _serve(tmp)
    results = []
    for n in [int(s) for s in args.sizes.split(",") if s.strip()]:
        gdf = make_points(n)
        i = n // 3
        probe = (str(gdf["name"].iloc[i]), gdf.geometry.x.iloc[i], gdf.geometry.y.iloc[i])
        del gdf
        for renderer in args.renderers.split(","):
            out = os.path.join(tmp, f"{renderer}_{n}.html")
            try:
                proc = subprocess.run(
                    [sys.executable, __file__, "--_build", str(n), renderer, out],
                    capture_output=True,
                    text=True,
                    timeout=args.cap_s * 4,
                    cwd=ROOT,
                )
                row = json.loads(proc.stdout.strip().splitlines()[-1])
            except (subprocess.TimeoutExpired, IndexError, json.JSONDecodeError):
                row = {"build_s": f"did not finish in {args.cap_s * 4:.0f} s"}
            row.update({"points": n, "renderer": renderer})
            if os.path.exists(out):
                url = f"{base}/{Path(out).name}"
                row.update(_measure_in_child(url, args.cap_s, args.warm, probe))
                _remove_data_files(out)
                os.unlink(out)
            results.append(row)
            print(json.dumps(row, ensure_ascii=False, default=str), flush=True)
            if args.json:
                Path(args.json).write_text(
                    json.dumps(results, ensure_ascii=False, indent=1, default=str)
                )
    srv.shutdown()
    app = None
    if args.app_points:
        app = _app_run(args.app_points, args.warm, args.cap_s)
        print(json.dumps({"app": app}, default=str), flush=True)
        if args.json:
            Path(args.json).write_text(
                json.dumps({"maps": results, "app": app}, ensure_ascii=False, indent=1, default=str)
            )
    print(_table(results, app), flush=True)


def _remove_data_files(html_path: str) -> None:
    """Remove the data files a ``files`` page fetched (they are in the app's static/cache)."""
    import re

    from render.webmap import GL_CACHE_DIR

    html = Path(html_path).read_text(encoding="utf-8")
    for name in re.findall(r"/app/static/cache/([0-9a-f]{40}\.(?:bin|props)\.gz)", html):
        (GL_CACHE_DIR / name).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
