"""Benchmark: a project with N enterprise points in the PostGIS store versus the GeoPackage store.

Measures, in one run and on the same data: writing the layer (GeoPackage ``add_layer``;
PostGIS ``project copy`` from that file), opening the project (what every app server does
when the project changed), preparing the map of the layer as the map page does
(``render.webmap.build_map`` → HTML), and the cheap check every rerun makes to see
whether the project changed (file stat vs. one version query). A throwaway PostgreSQL +
PostGIS is started on loopback (``tests/pg_server.py``).

    python bench/store_bench.py [--points 1000000] [--no-map]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _points(n: int, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon = 121.45 + rng.normal(0, 0.12, n)
    lat = 29.90 + rng.normal(0, 0.08, n)
    return gpd.GeoDataFrame(
        {
            "id": [f"E{i:07d}" for i in range(n)],
            "name": [f"科技企业{i}" for i in range(n)],
            "subtype": rng.choice(["高新技术企业", "科技型中小企业"], n),
            "employees": rng.integers(5, 500, n),
            "address": [f"宁波市某区某路{i % 997}号" for i in range(n)],
            "source": "benchmark (synthetic)",
            "coord_source": "bench",
            "coord_precision_m": 50.0,
            "synthetic": True,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )


def _timed(label: str, fn, results: dict):
    t0 = time.perf_counter()
    out = fn()
    results[label] = time.perf_counter() - t0
    print(f"  {label:<34} {results[label]:8.2f} s", flush=True)
    return out


def _map_html(project) -> int:
    from render.webmap import MapLayer, build_map

    lyr = project.layers["企业"]
    m = build_map(
        [
            MapLayer(
                key="enterprises", label="企业", gdf=lyr.gdf, color="#1f77b4", kind="enterprises"
            )
        ],
        lang="zh",
    )
    return len(m.get_root().render())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--no-map", action="store_true", help="skip building the map HTML")
    args = ap.parse_args()

    from layers import auth, store_postgis
    from layers.project import ProjectLayer, add_layer, copy_project, create_project, open_project
    from tests.pg_server import start

    auth.set_actor(auth.Actor("bench", "admin"))
    server = start(database="innomap_bench")
    try:
        with tempfile.TemporaryDirectory() as d:
            gpkg = Path(d) / "bench.gpkg"
            create_project(gpkg, name="基准", city="宁波市")
            gdf = _points(args.points)
            print(f"{args.points:,} enterprise points", flush=True)
            g: dict[str, float] = {}
            p: dict[str, float] = {}
            print("GeoPackage store")
            _timed(
                "write (add_layer)",
                lambda: add_layer(
                    open_project(gpkg),
                    ProjectLayer(name="企业", kind="enterprises", gdf=gdf, crs_in="WGS84"),
                ),
                g,
            )
            prj_g = _timed("open project", lambda: open_project(gpkg), g)
            _timed("changed? (stat)", lambda: os.stat(gpkg), g)
            ref = server.project_ref("基准")
            print("PostGIS store")
            _timed("write (project copy)", lambda: copy_project(gpkg, ref, force=True), p)
            prj_p = _timed("open project", lambda: open_project(ref), p)
            _timed("changed? (version query)", lambda: store_postgis.version(ref), p)
            assert len(prj_g.layers["企业"].gdf) == len(prj_p.layers["企业"].gdf) == args.points
            if not args.no_map:
                print("map HTML of the layer (same frame for both stores)")
                size = _timed("build_map + render", lambda: _map_html(prj_p), p)
                g["build_map + render"] = p["build_map + render"]
                print(f"  HTML size {size / 1e6:,.1f} MB")
            print("\nratio PostGIS / GeoPackage")
            for k_g, k_p in (
                ("write (add_layer)", "write (project copy)"),
                ("open project", "open project"),
            ):
                print(f"  {k_p:<34} {p[k_p] / g[k_g]:8.2f}×")
            if not args.no_map:
                og = g["open project"] + g["build_map + render"]
                op = p["open project"] + p["build_map + render"]
                print(f"  {'open + map':<34} {op / og:8.2f}×   ({op:.1f} s vs {og:.1f} s)")
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"peak memory of this process {rss:,.0f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
