"""Benchmark of the reach machinery (issue: 15-minute service circles).

Synthetic road graph (a jittered grid of ≥ 200,000 nodes, 50 m blocks, UTM 51N),
100,000 demand points and 1,000 service points, measured in one run:

1. loading the prepared graph from the project's cache (.npz);
2. nearest-service travel time and id for every demand point, snapping included,
   versus networkx ``multi_source_dijkstra_path_length`` on the same graph;
3. coverage-area polygons for three cut-offs over all 1,000 service points.

    python bench/coverage_bench.py [--side 450]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.network import RoadGraph
from geo.reach import ReachParams, coverage_polygons, nearest_service, service_isochrones
from workflows.network import load_cached_graph, save_graph

X0, Y0 = 340000.0, 3300000.0


def synthetic_graph(side: int, spacing: float = 50.0, seed: int = 0) -> RoadGraph:
    """A side×side grid with jittered nodes, built directly as arrays."""
    from pyproj import CRS

    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    xy = np.column_stack([X0 + ii.ravel() * spacing, Y0 + jj.ravel() * spacing])
    xy += rng.uniform(-spacing * 0.2, spacing * 0.2, xy.shape)
    nid = np.arange(side * side).reshape(side, side)
    u = np.concatenate([nid[:-1, :].ravel(), nid[:, :-1].ravel()])
    v = np.concatenate([nid[1:, :].ravel(), nid[:, 1:].ravel()])
    length = np.hypot(*(xy[u] - xy[v]).T)
    hw = rng.choice(
        ["residential", "tertiary", "secondary", "primary"], len(u), p=[0.6, 0.2, 0.15, 0.05]
    )
    # samples every ≤ 25 m along straight edges
    nseg = np.maximum(np.ceil(length / 25.0).astype(int), 1)
    e = np.repeat(np.arange(len(u)), nseg + 1)
    offs = np.arange(len(e)) - np.repeat(np.cumsum(nseg + 1) - (nseg + 1), nseg + 1)
    f = offs / np.repeat(nseg, nseg + 1)
    sxy = xy[u[e]] + (xy[v[e]] - xy[u[e]]) * f[:, None]
    return RoadGraph(
        crs=CRS.from_epsg(32651),
        node_xy=xy,
        edge_u=u,
        edge_v=v,
        length_m=length,
        highway=hw.astype("U32"),
        oneway=np.zeros(len(u), bool),
        maxspeed_kmh=np.full(len(u), np.nan),
        sample_xy=sxy,
        sample_edge=e,
        sample_frac=f,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=450, help="grid side (450 → 202,500 nodes)")
    ap.add_argument("--demand", type=int, default=100_000)
    ap.add_argument("--services", type=int, default=1_000)
    ap.add_argument("--skip-networkx", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    g = synthetic_graph(args.side)
    print(f"graph: {g.n_nodes:,} nodes, {g.n_edges:,} edges, {len(g.sample_xy):,} edge samples")
    with tempfile.TemporaryDirectory() as tmp:
        path = save_graph(g, Path(tmp) / "graph.npz")
        t = time.perf_counter()
        g = load_cached_graph(path)
        t_load = time.perf_counter() - t
    print(f"1. load prepared graph from cache: {t_load:.3f} s (target < 0.5 s)")

    ext = (args.side - 1) * 50.0
    demand = np.column_stack(
        [rng.uniform(X0, X0 + ext, args.demand), rng.uniform(Y0, Y0 + ext, args.demand)]
    )
    services = np.column_stack(
        [rng.uniform(X0, X0 + ext, args.services), rng.uniform(Y0, Y0 + ext, args.services)]
    )
    p = ReachParams(method="network", mode="walk", speed_kmh=4.5, max_snap_m=300)
    t = time.perf_counter()
    mg = g.mode_graph("walk", speed_kmh=4.5)
    t_prep = time.perf_counter() - t
    times = []
    for _ in range(3):
        t = time.perf_counter()
        res = nearest_service(demand, services, params=p, graph=g)
        times.append(time.perf_counter() - t)
    t_reach = min(times)
    print(
        f"   walk travel-time matrix + largest component + KD-tree (once per mode): {t_prep:.3f} s"
    )
    print(
        f"2. nearest service for {args.demand:,} demand × {args.services:,} services, snapping incl.: "
        f"{t_reach:.3f} s (best of 3; target < 1 s); reachable {np.isfinite(res.minutes).mean():.1%}"
    )

    if not args.skip_networkx:
        import networkx as nx

        coo = mg.matrix.tocoo()
        G = nx.DiGraph()
        G.add_weighted_edges_from(
            zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
        )
        s_nodes = mg.kept_nodes[mg.tree.query(services)[1]]
        t = time.perf_counter()
        d_nodes = mg.kept_nodes[mg.tree.query(demand)[1]]
        dist = nx.multi_source_dijkstra_path_length(
            G.reverse(copy=False), set(s_nodes.tolist()), weight="weight"
        )
        _ = np.array([dist.get(n, np.inf) for n in d_nodes.tolist()])
        t_nx = time.perf_counter() - t
        print(
            f"   networkx multi_source_dijkstra_path_length, same graph and snapping: {t_nx:.3f} s "
            f"→ {t_nx / t_reach:.1f}× slower (target ≥ 10×)"
        )

    t = time.perf_counter()
    polys = coverage_polygons(services, params=p, minutes=(5, 10, 15), graph=g)
    t_poly = time.perf_counter() - t
    print(
        f"3. coverage-area polygons, 3 cut-offs × {args.services:,} services: {t_poly:.3f} s "
        f"(target < 3 s); areas km² {[round(x.area / 1e6, 2) for x in polys]}"
    )
    t = time.perf_counter()
    service_isochrones(services[:100], params=p, minutes=(5, 10, 15), graph=g)
    t_iso = time.perf_counter() - t
    print(
        f"   per-service isochrones (3 cut-offs each): {t_iso / 100 * 1000:.1f} ms per service "
        f"(≈ {t_iso * args.services / 100:.1f} s for all {args.services:,})"
    )


if __name__ == "__main__":
    main()
