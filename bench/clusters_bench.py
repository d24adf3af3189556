"""Benchmark of clustering and hot spots, each measurement in a fresh process.

One-off costs (imports, JIT if any) count: every case runs in a new Python
process and reports wall time of the call plus its imports, and the process's
peak memory (ru_maxrss).

    python bench/clusters_bench.py [--with-sklearn]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import numpy as np
rng = np.random.default_rng(0)
def pts(n):
    centres = rng.uniform(0, 30000, (200, 2)); k = int(n * 0.8)
    idx = rng.integers(0, 200, k); sd = rng.uniform(200, 1500, 200)[idx]
    a = centres[idx] + rng.normal(0, 1, (k, 2)) * sd[:, None]
    return np.vstack([a, rng.uniform(0, 30000, (n - k, 2))])
xy = pts({n})
t_data = time.perf_counter()
case = {case!r}
if case == "dbscan":
    from geo.clusters import dbscan
    lab = dbscan(xy, eps_m=300, min_samples=10); info = int(lab.max() + 1)
elif case == "sklearn_dbscan":
    from sklearn.cluster import DBSCAN
    lab = DBSCAN(eps=300, min_samples=10).fit(xy).labels_; info = int(lab.max() + 1)
elif case == "hdbscan":
    from geo.clusters import hdbscan_labels
    lab = hdbscan_labels(xy, min_cluster_size=50, min_samples=10); info = int(lab.max() + 1)
elif case == "kde":
    from geo.hotspots import kde_surface
    s = kde_surface(xy); info = list(s.density.shape)
elif case == "gistar":
    import shapely
    from geo.hotspots import hex_grid, hex_counts, getis_ord_gi_star, _neighbours
    area = shapely.box(0, 0, 30000, 30000)
    g = hex_grid(area, cell_m={cell}, crs=None)
    c = hex_counts(g, xy, cell_m={cell})
    gi = getis_ord_gi_star(c, _neighbours(g), permutations=999); info = len(g)
t1 = time.perf_counter()
print(json.dumps({{"seconds_call": t1 - t_data,
                  "info": info, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run(case: str, n: int, cell: float = 300.0) -> dict:
    code = CASE.format(root=str(ROOT), n=n, case=case, cell=cell)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--with-sklearn", action="store_true", help="also time plain scikit-learn DBSCAN at 100k"
    )
    args = ap.parse_args()
    rows = [
        ("DBSCAN 100,000 points (eps 300 m, min 10)", "dbscan", 100_000, 300, "< 2 s"),
        ("DBSCAN 1,000,000 points", "dbscan", 1_000_000, 300, "< 10 s"),
        ("HDBSCAN 100,000 points (min cluster 50)", "hdbscan", 100_000, 300, "< 10 s"),
        (
            "Kernel density 1,000,000 points (rule-of-thumb bandwidth)",
            "kde",
            1_000_000,
            300,
            "< 1 s",
        ),
        ("Gi* ~10,000 hex cells, 999 permutations", "gistar", 100_000, 320, "< 5 s"),
    ]
    if args.with_sklearn:
        rows.append(
            ("scikit-learn DBSCAN 100,000 points (reference)", "sklearn_dbscan", 100_000, 300, "-")
        )
    for label, case, n, cell, target in rows:
        r = run(case, n, cell)
        print(
            f"{label}: {r['seconds_call']:.2f} s in a fresh process (imports included; target {target}); "
            f"peak RSS {r['peak_mb']:.0f} MB; result {r['info']}"
        )


if __name__ == "__main__":
    main()
