"""Benchmark: first paint of the map page in headless Chromium.

Starts the app on the embedded dataset, opens the map page in a fresh browser
context and measures the wall time from navigation to the map's ready flag
(every layer added, legend drawn). Reports the cold load (first request after
the server starts: data loading included) and the median of warm loads.
With ``--points N`` it also measures a page carrying N extra enterprise points.

    python bench/first_paint.py [--runs 5] [--points 50000]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(env_extra: dict[str, str]):
    port = _port()
    env = dict(os.environ, **env_extra)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def _load(browser, url) -> float:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    t0 = time.perf_counter()
    page.goto(url)
    page.frame_locator("iframe[title*='st_folium']").first.locator("[data-innomap-ready]").wait_for(
        timeout=120000
    )
    dt = time.perf_counter() - t0
    ctx.close()
    return dt


def _extra_csv(n: int) -> str:
    rng = np.random.default_rng(1)
    lon = rng.normal(121.63, 0.05, n)
    lat = rng.normal(29.92, 0.03, n)
    fd, path = tempfile.mkstemp(suffix=".csv")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("id,name,subtype,lon,lat,source,coord_source,coord_precision_m,synthetic\n")
        for i in range(n):
            f.write(
                f"B{i},bench {i},高新技术企业,{lon[i]:.6f},{lat[i]:.6f},bench,bench,1000,true\n"
            )
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--points", type=int, default=0, help="extra enterprise points (e.g. 50000)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    scenarios = [("embedded dataset", {})]
    if args.points:
        scenarios.append(
            (
                f"embedded + {args.points} enterprises",
                {"INNOMAP_EXTRA_LAYERS": f"enterprises={_extra_csv(args.points)}"},
            )
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for label, env in scenarios:
            proc, url = _start(env)
            try:
                cold = _load(browser, url)
                warm = [_load(browser, url) for _ in range(args.runs)]
            finally:
                proc.terminate()
                proc.wait()
            print(
                f"{label}: first paint cold {cold:.2f} s, warm median {statistics.median(warm):.2f} s "
                f"(min {min(warm):.2f}, max {max(warm):.2f}, n={len(warm)}); target < 3 s"
            )
        browser.close()


if __name__ == "__main__":
    main()
