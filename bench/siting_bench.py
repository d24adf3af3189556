"""Benchmark of the siting models (maximal covering, existing sites fixed).

Instance: demand points clustered around 60 centres in a 30 km square, weights
lognormal, 30 existing incubators, uniform candidates; straight-line reach at a
given radius. Measures, in one run:

* the interactive answer (greedy + 1-swap, LP-relaxation bound): target < 2 s;
* the "optimise" answer (MILP, HiGHS, proven gap ≤ 1 % or best reached): < 30 s;
* spopt's MCLP on the same instance (model build + CBC solve) and the ratios;
* 50,000 × 2,000 (interactive and optimise): < 60 s.

    python bench/siting_bench.py [--skip-spopt]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.siting import solve_mclp


def instance(m: int, n: int, radius: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 30000, (60, 2))
    d = centres[rng.integers(0, 60, m)] + rng.normal(0, 1500, (m, 2))
    cand = rng.uniform(0, 30000, (n, 2))
    ex = rng.uniform(0, 30000, (30, 2))
    w = rng.lognormal(3, 1, m)
    pairs = cKDTree(d).query_ball_tree(cKDTree(cand), radius)
    rows = np.repeat(np.arange(m), [len(p) for p in pairs])
    cols = np.fromiter((j for p in pairs for j in p), dtype=np.int64, count=len(rows))
    reach = csr_matrix((np.ones(len(rows), bool), (rows, cols)), shape=(m, n))
    covered = cKDTree(ex).query(d)[0] <= radius
    return d, cand, ex, w, reach, covered


def run_spopt(d, cand, ex, w, radius, k):
    import pulp
    from spopt.locate import MCLP

    fac = np.vstack([cand, ex])
    t0 = time.perf_counter()
    cost = np.sqrt(((d[:, None, :] - fac[None, :, :]) ** 2).sum(axis=2))
    predefined = np.r_[np.zeros(len(cand), bool), np.ones(len(ex), bool)]
    model = MCLP.from_cost_matrix(
        cost,
        w,
        service_radius=radius,
        p_facilities=k + len(ex),
        predefined_facilities_arr=predefined,
    )
    t_build = time.perf_counter() - t0
    model = model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=600))
    t_all = time.perf_counter() - t0
    chosen = [j for j in range(len(cand)) if model.fac2cli[j]]
    obj = float(pulp.value(model.problem.objective))
    return t_build, t_all, obj, chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-spopt", action="store_true")
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()
    k = args.k
    for radius in (1200.0, 3000.0):
        d, cand, ex, w, reach, covered = instance(10_000, 1_000, radius)
        print(
            f"== 10,000 demand × 1,000 candidates, k={k}, radius {radius:g} m "
            f"(reach nnz {reach.nnz:,}; existing cover {w[covered].sum() / w.sum():.1%})"
        )
        t = time.perf_counter()
        fast = solve_mclp(reach, w, covered, k=k, solver="heuristic", time_limit=2.0)
        t_fast = time.perf_counter() - t
        print(
            f"  interactive: {t_fast:.2f} s (target < 2 s); objective {fast.objective:,.1f}, "
            f"bound {fast.upper_bound:,.1f}, gap {fast.gap:.3%}"
        )
        t = time.perf_counter()
        opt = solve_mclp(reach, w, covered, k=k, solver="exact", time_limit=30.0)
        t_opt = time.perf_counter() - t
        print(
            f"  optimise:    {t_opt:.2f} s (target < 30 s, gap ≤ 1 %); objective {opt.objective:,.1f}, "
            f"bound {opt.upper_bound:,.1f}, gap {opt.gap:.3%} ({opt.solver}); "
            f"never worse than heuristic: {opt.objective >= fast.objective - 1e-6}"
        )
        if not args.skip_spopt:
            t_build, t_all, obj_sp, _ = run_spopt(d, cand, ex, w, radius, k)
            print(
                f"  spopt MCLP:  build {t_build:.1f} s, build+solve {t_all:.1f} s; objective {obj_sp:,.1f} "
                f"→ ours {t_all / t_opt:.0f}× faster (optimise), objective ratio ours/spopt "
                f"{opt.objective / obj_sp:.4f}"
            )
    d, cand, ex, w, reach, covered = instance(50_000, 2_000, 3000.0, seed=1)
    t = time.perf_counter()
    fast = solve_mclp(reach, w, covered, k=k, solver="heuristic", time_limit=10.0)
    t_fast = time.perf_counter() - t
    t = time.perf_counter()
    opt = solve_mclp(reach, w, covered, k=k, solver="auto", time_limit=50.0)
    t_opt = time.perf_counter() - t
    print(
        f"== 50,000 × 2,000, k={k}, radius 3000 m: interactive {t_fast:.2f} s (gap {fast.gap:.3%}); "
        f"optimise {t_opt:.2f} s (target < 60 s), gap {opt.gap:.3%} ({opt.solver})"
    )


if __name__ == "__main__":
    main()
