"""Benchmark: a large CSV through the app, upload → preview → added → on the map (issues 11, 14).

One run, side by side, for each size (default 620,731 and 1,000,000 rows of an enterprise list,
~92 bytes a row: credit code, name, type, WGS84 经度/纬度; generated here, never committed):

* **app**: ``streamlit run app.py`` on a fresh project, driven by headless Chromium: the
  file is uploaded on the import page; *preview* is the time until the row counts show,
  *addable* until the add button shows (after answering the CRS question with WGS84),
  *added* until the success message, *on map* until the map page has drawn the layer with
  all its rows (``data-innomap-counts``). Times are from the upload. *server peak* is the
  app process's VmHWM (its whole life: start, upload, import, add, map).
* **cli**: ``python cli.py project add`` of the same file into a fresh project.
* **geopandas**: what a user would otherwise do: ``geopandas.read_file`` (pyogrio, the CSV
  driver with the 经度/纬度 columns as X/Y) and ``to_file`` to a GeoPackage, no checks.

Targets: preview < 10 s, added < 30 s, server peak < 1.5 GB at 620k rows; upload → on map
< 30 s and server peak < 2 GB at 1M rows.

    python bench/app_import_bench.py [--rows 620731,1000000] [--skip-app] [--map-timeout-s 300]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGETS = {"preview_s": 10.0, "added_s": 30.0, "on_map_s": 30.0}


def make_csv(path: Path, n: int, *, seed: int = 0) -> Path:
    """An enterprise list of ``n`` rows around Ningbo (WGS84 经度/纬度), written in blocks."""
    rng = np.random.default_rng(seed)
    lon = 121.55 + rng.normal(0, 0.08, n)
    lat = 29.88 + rng.normal(0, 0.06, n)
    types = np.array(["高企", "科技型中小企业", "专精特新", "高新技术企业"])[rng.integers(0, 4, n)]
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("统一社会信用代码,企业名称,类型,经度,纬度\n")
        for s in range(0, n, 100_000):
            f.write(
                "".join(
                    f"91330200MA{i:08d},宁波某某科技有限公司{i},{types[i]},{lon[i]:.6f},{lat[i]:.6f}\n"
                    for i in range(s, min(n, s + 100_000))
                )
            )
    return path


def _hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_measured(cmd: list[str], **kw) -> tuple[float, float, int]:
    """``(seconds, peak MB, exit code)`` of a command; the peak is its VmHWM, polled."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _hwm_mb(proc.pid) or 0.0)
        time.sleep(0.05)
    return time.perf_counter() - t, peak, proc.returncode


_GEOPANDAS = """
import sys, geopandas as gpd
g = gpd.read_file(sys.argv[1], engine="pyogrio", X_POSSIBLE_NAMES="经度", Y_POSSIBLE_NAMES="纬度",
                  KEEP_GEOM_COLUMNS="NO")
g = g.set_crs(4326, allow_override=True)
g.to_file(sys.argv[2], driver="GPKG", engine="pyogrio")
print(len(g))
"""


def _project(folder: Path) -> Path:
    from layers.project import create_project

    path = folder / "bench.gpkg"
    create_project(path, name="导入基准", city="宁波市", counties=["镇海区"])
    return path


def bench_geopandas(csv: Path, folder: Path) -> dict:
    s, mb, rc = run_measured([sys.executable, "-c", _GEOPANDAS, str(csv), str(folder / "gp.gpkg")])
    return {"seconds": round(s, 1), "peak_mb": round(mb), "ok": rc == 0}


def bench_cli(csv: Path, folder: Path) -> dict:
    proj = _project(folder / "cli")
    cmd = [sys.executable, "cli.py", "project", "add", "--project", str(proj), str(csv)]
    cmd += ["--kind", "enterprises", "--crs", "WGS84"]
    s, mb, rc = run_measured(cmd, cwd=ROOT)
    return {"seconds": round(s, 1), "peak_mb": round(mb), "exit": rc}


def bench_app(csv: Path, n: int, folder: Path, *, map_timeout_s: float) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.test_e2e_browser import CHROMIUM_ARGS, _chromium, _free_port, start_app, stop_app

    proj = _project(folder / "app")
    port = _free_port()
    env = {"INNOMAP_PROJECT": str(proj), "INNOMAP_HOME": str(folder / "home")}
    proc = start_app(port, **env)
    url = f"http://127.0.0.1:{port}"
    out: dict = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/import_page")
            page.get_by_test_id("stFileUploaderDropzoneInput").wait_for(
                state="attached", timeout=60000
            )
            out["server_start_mb"] = round(_hwm_mb(proc.pid) or 0)
            t0 = time.perf_counter()
            page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(csv))
            page.get_by_test_id("stMetricValue").first.wait_for(timeout=300_000)
            out["preview_s"] = round(time.perf_counter() - t0, 1)
            print("preview", out, file=sys.stderr, flush=True)
            main_area = page.get_by_test_id("stMain")
            main_area.get_by_test_id("stSelectbox").first.click()  # the kind: enterprises
            page.get_by_role("option", name="科技企业").click()
            page.get_by_test_id("stMetricValue").nth(1).get_by_text(str(n)).wait_for(
                timeout=300_000
            )
            out["preview_enterprises_s"] = round(time.perf_counter() - t0, 1)
            out["rows_shown"] = page.get_by_test_id("stMetricValue").first.inner_text()
            print("preview", out, file=sys.stderr, flush=True)
            page.screenshot(path=str(folder / "preview.png"))
            page.get_by_text("WGS84 (GPS/天地图)").click(timeout=120_000)  # the CRS question
            add = page.get_by_role("button", name="加入项目")
            add.wait_for(timeout=600_000)
            out["addable_s"] = round(time.perf_counter() - t0, 1)
            print("addable", out, file=sys.stderr, flush=True)
            add.click()
            page.get_by_text("已加入项目").first.wait_for(timeout=600_000)
            out["added_s"] = round(time.perf_counter() - t0, 1)
            print("added", out, file=sys.stderr, flush=True)
            page.get_by_test_id("stSidebarNav").get_by_role("link").first.click()
            ready = page.frame_locator("iframe[title*='st_folium']").first.locator(
                "[data-innomap-ready]"
            )
            deadline = time.perf_counter() + map_timeout_s
            out["on_map_s"] = None
            while time.perf_counter() < deadline:
                try:
                    ready.first.wait_for(timeout=5000)
                    counts = ready.first.get_attribute("data-innomap-counts") or ""
                    if str(n) in counts.replace(",", ""):
                        out["on_map_s"] = round(time.perf_counter() - t0, 1)
                        break
                except Exception:  # not drawn yet
                    pass
                time.sleep(0.2)
            browser.close()
    finally:
        out["server_peak_mb"] = round(_hwm_mb(proc.pid) or 0)
        stop_app(proc)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="620731,1000000")
    ap.add_argument("--skip-app", action="store_true")
    ap.add_argument("--map-timeout-s", type=float, default=300.0)
    args = ap.parse_args()
    results = {}
    for n in (int(x) for x in args.rows.split(",")):
        with tempfile.TemporaryDirectory(prefix="innomap-bench-") as d:
            folder = Path(d)
            for sub in ("cli", "app", "home"):
                (folder / sub).mkdir()
            csv = make_csv(folder / f"企业名单_{n}.csv", n)
            row = {"rows": n, "csv_mb": round(os.path.getsize(csv) / 2**20, 1)}
            row["geopandas"] = bench_geopandas(csv, folder)
            print(row, file=sys.stderr, flush=True)
            row["cli"] = bench_cli(csv, folder)
            print(row, file=sys.stderr, flush=True)
            if not args.skip_app:
                row["app"] = bench_app(csv, n, folder, map_timeout_s=args.map_timeout_s)
            results[n] = row
            print(json.dumps(row, ensure_ascii=False), flush=True)
    print("targets:", json.dumps(TARGETS), "server peak < 1.5 GB (620k) / < 2 GB (1M)")


if __name__ == "__main__":
    main()
