"""Analyses at a million points (issue 14): the fast paths give the plain answers.

Small fixtures only; the timings are in bench/large_bench.py.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import cdist

from geo.clusters import _core_by_cells, _core_plain, _Grid, dbscan
from geo.reach import ReachParams, service_reach_matrix
from geo.siting import SitingError
from geo.siting_geo import aggregate_demand, grid_candidates, run_siting

# --- DBSCAN: core points decided from cell sums == counted one by one ------------------


def _plain_dbscan(xy, eps, min_samples, w=None):
    """Textbook DBSCAN by brute force, numbered like geo.clusters.dbscan."""
    n = len(xy)
    d = cdist(xy, xy)
    near = d <= eps
    ww = np.ones(n) if w is None else np.asarray(w, float)
    core = (near * ww[None, :]).sum(axis=1) >= min_samples
    labels = np.full(n, -1)
    cp = np.flatnonzero(core)
    if len(cp) == 0:
        return labels
    _, comp = connected_components(near[np.ix_(cp, cp)], directed=False)
    order = {}
    for c in comp:  # first core point order
        order.setdefault(c, len(order))
    labels[cp] = [order[c] for c in comp]
    for i in np.flatnonzero(~core):
        j = np.argmin(d[i, cp])
        if d[i, cp[j]] <= eps:
            labels[i] = labels[cp[j]]
    return labels


_points = st.integers(5, 120).flatmap(
    lambda n: st.tuples(
        st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=n, max_size=n),
        st.lists(st.integers(0, 4), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pts=_points,
    eps=st.sampled_from([2.0, 3.5, 7.0]),
    min_samples=st.integers(1, 9),
    weighted=st.booleans(),
)
def test_dbscan_grid_bounds_give_the_plain_answer(pts, eps, min_samples, weighted):
    coords, wts = pts
    # a few close clumps on a coarse lattice: cells with many and with few points
    xy = np.array(coords, float) * 0.7
    w = np.array(wts, float) if weighted else None
    got = dbscan(xy, eps_m=eps, min_samples=min_samples, weights=w)
    want = _plain_dbscan(xy, eps, min_samples, w)
    assert got.tolist() == want.tolist()
    # the core flags themselves, before any labelling
    side = eps / np.sqrt(5.0)
    ij = np.floor((xy - xy.min(axis=0)) / side).astype(np.int64) + 3
    ncol = int(ij[:, 1].max()) + 4
    grid = _Grid(ij[:, 0] * ncol + ij[:, 1], ncol, (int(ij[:, 0].max()) + 4) * ncol)
    cell_w = np.bincount(grid.cell_of, weights=w, minlength=len(grid.keys))
    fast = _core_by_cells(xy, w, grid, cell_w, side, eps, min_samples)
    plain = _core_plain(xy, w, eps, min_samples, np.arange(len(xy)))
    assert fast.tolist() == plain.tolist()


def test_dbscan_dense_city_decides_core_points_without_counting(monkeypatch):
    import geo.clusters as clusters

    rng = np.random.default_rng(2)
    xy = rng.normal(0, 400, (20_000, 2))
    counted = []
    real = clusters._ring_counts

    def spy(xy_, grid, ring, eps_, want, **kw):
        counted.append(int(want[grid.cell_of].sum()))  # the points counted pair by pair
        return real(xy_, grid, ring, eps_, want, **kw)

    monkeypatch.setattr(clusters, "_ring_counts", spy)
    labels = dbscan(xy, eps_m=100.0, min_samples=10)
    assert labels.max() == 0 and (labels == 0).mean() > 0.99
    assert counted and sum(counted) < 0.05 * len(xy)  # only the fringe is counted pair by pair


# --- siting: demand aggregated to cells ------------------------------------------------


def _city(n=3000, seed=4, *, x0=0.0, y0=0.0, ext=5000.0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.1 * ext, 0.9 * ext, (6, 2))
    xy = centres[rng.integers(0, 6, n)] + rng.normal(0, ext * 0.06, (n, 2))
    xy = np.clip(xy, 0, ext) + [x0, y0]
    w = rng.lognormal(1, 1, n)
    demand = gpd.GeoDataFrame({"w": w}, geometry=shapely.points(xy), crs=32651)
    exy = np.array([[0.2, 0.2], [0.8, 0.8]]) * ext + [x0, y0]
    ex = gpd.GeoDataFrame({"id": ["E0", "E1"]}, geometry=shapely.points(exy), crs=32651)
    box = shapely.box(x0, y0, x0 + ext, y0 + ext)
    cand = grid_candidates(box, spacing_m=ext * 0.08, crs=32651)
    return demand, ex, cand


@settings(max_examples=40, deadline=None)
@given(
    xy=st.lists(st.tuples(st.floats(0, 2000), st.floats(0, 2000)), min_size=1, max_size=60),
    cell=st.sampled_from([10.0, 75.0, 400.0]),
    data=st.data(),
)
def test_aggregated_demand_keeps_weight_status_and_bounds_the_move(xy, cell, data):
    xy = np.array(xy, float)
    n = len(xy)
    w = np.array(data.draw(st.lists(st.floats(0, 50), min_size=n, max_size=n)))
    cov = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    agg = aggregate_demand(xy, w, cov, cell_m=cell)
    assert np.isclose(agg.weights.sum(), w.sum())
    assert (agg.covered[agg.inverse] == cov).all()  # rows never mix covered and uncovered
    moved = np.hypot(*(xy - agg.xy[agg.inverse]).T)
    assert moved.max() <= agg.max_displacement_m + 1e-9 <= cell * np.sqrt(2) + 1e-6
    assert np.isclose(moved.max(), agg.max_displacement_m)


def test_aggregate_m_rejects_a_bad_cell():
    with pytest.raises(SitingError, match="aggregate_m"):
        aggregate_demand(np.zeros((2, 2)), np.ones(2), np.zeros(2, bool), cell_m=0)


@pytest.mark.parametrize("method", ["straight", "network"])
def test_tiny_cells_give_the_unaggregated_answer(method):
    from bench.coverage_bench import X0, Y0, synthetic_graph

    graph = synthetic_graph(61) if method == "network" else None  # 3 km square
    demand, ex, cand = _city(800, x0=X0, y0=Y0, ext=3000.0)
    p = ReachParams(method=method, mode="walk", speed_kmh=4.5)
    kw = dict(params=p, minutes=10.0, k=3, weight_col="w", graph=graph, solver="heuristic")
    plain = run_siting(demand, ex, cand, **kw)
    agg = run_siting(demand, ex, cand, aggregate_m=1e-3, **kw)
    assert agg.solution.selected == plain.solution.selected
    assert agg.covered_after == pytest.approx(plain.covered_after)
    assert (agg.demand["covered_after"] == plain.demand["covered_after"]).all()
    assert agg.solution.extra["aggregation_max_displacement_m"] == 0.0
    assert (agg.selected["newly_covered_points"] == plain.selected["newly_covered_points"]).all()


def test_aggregated_siting_reports_exact_coverage_and_a_bound_that_holds():
    demand, ex, cand = _city(3000)
    p = ReachParams(method="straight", mode="walk", speed_kmh=4.5)
    res = run_siting(
        demand, ex, cand, params=p, minutes=10.0, k=4, weight_col="w", aggregate_m=150.0
    )
    extra = res.solution.extra
    assert extra["aggregate_m"] == 150.0
    assert extra["aggregated_rows"] < len(demand)
    assert 0 < extra["aggregation_max_displacement_m"] <= 150.0 * np.sqrt(2)
    per_min = 4.5 * 1000 / 60 / p.detour
    assert extra["aggregation_max_minutes"] == pytest.approx(
        extra["aggregation_max_displacement_m"] / per_min
    )
    # the reported coverage is exact for the chosen sites ...
    xy = np.column_stack([demand.geometry.x, demand.geometry.y])
    sel = res.solution.selected
    cxy = np.column_stack([cand.geometry.x, cand.geometry.y])
    exy = np.column_stack([ex.geometry.x, ex.geometry.y])
    both = np.vstack([exy, cxy[sel]])
    exact = np.asarray(service_reach_matrix(xy, both, params=p, minutes=10.0).sum(axis=1)) > 0
    assert (res.demand["covered_after"].to_numpy() == exact.ravel()).all()
    w = demand["w"].to_numpy()
    assert res.covered_after == pytest.approx(w[exact.ravel()].sum())
    # ... and the aggregated model misjudged at most the demand in the band
    agg = aggregate_demand(xy, w, res.demand["covered_before"].to_numpy(), cell_m=150.0)
    reach_rows = service_reach_matrix(agg.xy, both, params=p, minutes=10.0)
    f_agg = agg.weights[np.asarray(reach_rows.sum(axis=1)).ravel() > 0].sum()
    assert abs(f_agg - res.covered_after) <= extra["aggregation_band_weight"] + 1e-6
