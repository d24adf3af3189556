"""Benchmark: web map with 50k / 200k / 1M points, WebGL renderer vs folium MarkerCluster.

For each size the same synthetic province-scale layer (points around a dozen
city centres, popup fields like a registry) is built by ``render.webmap.build_map``
twice: with the GPU renderer (``gl_threshold=0``) and as today's folium
MarkerCluster (``gl_threshold`` above the size). Each build runs in its own
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

    python bench/map_bench.py [--sizes 50000,200000,1000000] [--warm 3] [--cap-s 90]
    python bench/map_bench.py --app 1000000   # the app's map page (server build included)
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
    style = {} if renderer == "folium" else {"renderer": renderer}
    m = build_map(
        [MapLayer("enterprises", "企业", gdf, "#d62728", "point", style=style)],
        gl_threshold=n + 1 if renderer == "folium" else 0,
    )
    html = m.get_root().render()
    dt = time.perf_counter() - t0
    Path(out).write_text(html, encoding="utf-8")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"build_s": dt, "html_mb": len(html.encode()) / 1e6, "peak_rss_mb": rss}))


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


def _app_run(n: int, warm: int, cap_s: float) -> dict:
    """First paint of the app's map page with ``n`` extra points (server build included)."""
    from playwright.sync_api import sync_playwright

    from tests.test_e2e_browser import _free_port, start_app, stop_app

    folder = tempfile.mkdtemp(prefix="map_bench_app_")
    t = time.perf_counter()
    ref = _app_project(n, folder)
    res = {"points": n, "project_write_s": time.perf_counter() - t}
    port = _free_port()
    proc = start_app(port, INNOMAP_PROJECT=ref)
    url = f"http://127.0.0.1:{port}"
    loads = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for _ in range(1 + warm):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                t0 = time.perf_counter()
                page.goto(url)
                frame = page.frame_locator("iframe[title*='st_folium']").first
                try:
                    frame.locator("[data-innomap-ready]").wait_for(timeout=cap_s * 1000)
                    frame.locator("canvas.innomap-gl-canvas").first.wait_for(timeout=cap_s * 1000)
                except Exception:
                    res["first_paint"] = f"did not finish in {cap_s:.0f} s"
                    break
                loads.append(time.perf_counter() - t0)
                page.close()
            browser.close()
        with open(f"/proc/{proc.pid}/status") as f:
            hwm = [ln for ln in f if ln.startswith("VmHWM")]
        res["server_peak_rss_mb"] = int(hwm[0].split()[1]) / 1024 if hwm else None
    finally:
        stop_app(proc)
    if loads:
        res["first_paint_cold_s"] = loads[0]
        if len(loads) > 1:
            res["first_paint_warm_s"] = statistics.median(loads[1:])
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50000,200000,1000000")
    ap.add_argument("--renderers", default="canvas,webgl,folium")
    ap.add_argument("--warm", type=int, default=3)
    ap.add_argument("--cap-s", type=float, default=90.0)
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument(
        "--app", type=int, help="instead: the app's map page with this many extra points"
    )
    ap.add_argument("--_build", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--_measure", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._build:
        _build(int(args._build[0]), args._build[1], args._build[2])
        return
    if args.app:
        print(json.dumps(_app_run(args.app, args.warm, args.cap_s)), flush=True)
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
    for n in [int(s) for s in args.sizes.split(",")]:
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
                os.unlink(out)
            results.append(row)
            print(json.dumps(row, ensure_ascii=False, default=str), flush=True)
            if args.json:
                Path(args.json).write_text(
                    json.dumps(results, ensure_ascii=False, indent=1, default=str)
                )
    srv.shutdown()


if __name__ == "__main__":
    main()
