"""Siting models: brute force agreement, bounds, monotonicity, existing sites kept, CLI."""

import itertools
import json

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix

from cli import main as cli_main
from geo.reach import ReachParams
from geo.siting import (
    SitingError,
    merge_identical_rows,
    solve_lscp,
    solve_mclp,
    solve_pmedian,
    two_step_fca,
)
from geo.siting_geo import grid_candidates, run_siting, scenario_coverage


def instance(seed, m=30, n=8, density=0.2):
    rng = np.random.default_rng(seed)
    r = csr_matrix(rng.random((m, n)) < density)
    w = rng.integers(1, 10, m).astype(float)
    ex = rng.random(m) < 0.25
    return r, w, ex


def brute_mclp(r, w, ex, k):
    best = 0.0
    for comb in itertools.combinations(range(r.shape[1]), k):
        cov = (np.asarray(r[:, list(comb)].sum(axis=1)).ravel() > 0) | ex
        best = max(best, w[cov].sum())
    return best


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 4))
def test_mclp_exact_matches_brute_force_and_heuristic_respects_bound(seed, k):
    r, w, ex = instance(seed)
    best = brute_mclp(r, w, ex, k)
    exact = solve_mclp(r, w, ex, k=k, solver="exact")
    assert exact.objective == pytest.approx(best)
    heur = solve_mclp(r, w, ex, k=k, solver="heuristic")
    assert heur.objective <= heur.upper_bound + 1e-9
    assert best <= heur.upper_bound + 1e-7
    assert 0 <= heur.gap <= 1
    # existing sites are never dropped: their demand stays covered
    assert exact.objective >= w[ex].sum()
    # adding a site never covers less
    more = solve_mclp(r, w, ex, k=k + 1, solver="exact")
    assert more.objective >= exact.objective - 1e-9


def test_lscp_fewest_sites_matches_brute_force():
    for seed in range(12):
        r, w, ex = instance(seed, density=0.3)
        tot = w.sum()
        target = brute_mclp(r, w, ex, 2) / tot
        sol = solve_lscp(r, w, ex, target_share=target, solver="exact")
        fewest = next(
            kk
            for kk in range(r.shape[1] + 1)
            if any(
                w[(np.asarray(r[:, list(c)].sum(axis=1)).ravel() > 0) | ex].sum()
                >= target * tot - 1e-9
                for c in itertools.combinations(range(r.shape[1]), kk)
            )
        )
        assert len(sol.selected) == fewest
        assert sol.objective >= target * tot - 1e-9
    with pytest.raises(SitingError, match="target"):
        solve_lscp(
            csr_matrix(np.zeros((3, 2), bool)), np.ones(3), np.zeros(3, bool), target_share=0.5
        )


def test_pmedian_matches_brute_force():
    rng = np.random.default_rng(4)
    for _ in range(8):
        m, n = 25, 7
        c = np.where(rng.random((m, n)) < 0.5, rng.uniform(1, 20, (m, n)), 0)
        base = np.full(m, 22.0)
        w = rng.integers(1, 5, m).astype(float)
        sol = solve_pmedian(csr_matrix(c), base, w, k=2, solver="exact")
        dense = np.where(c > 0, c, np.inf)
        best = min(
            (w * np.minimum(base, dense[:, list(cc)].min(axis=1))).sum()
            for cc in itertools.combinations(range(n), 2)
        )
        assert sol.objective == pytest.approx(best)
        heur = solve_pmedian(csr_matrix(c), base, w, k=2, solver="heuristic")
        assert heur.objective >= heur.upper_bound - 1e-9  # bound is a lower bound on minutes
        assert best >= heur.upper_bound - 1e-7


def test_merge_identical_rows_and_2sfca():
    r = csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 0]], bool))
    m, w, inv = merge_identical_rows(r, np.array([1.0, 2.0, 3.0, 4.0]))
    assert m.shape == (2, 2) and sorted(w.tolist()) == [3.0, 3.0]
    assert inv[3] == -1 and inv[0] == inv[1]
    acc, ratio = two_step_fca(
        csr_matrix(np.array([[1, 0], [1, 1], [0, 1]], float)),
        np.array([10, 10, 20.0]),
        np.array([100.0, 60.0]),
    )
    assert ratio.tolist() == [5.0, 2.0]
    assert acc.tolist() == [5.0, 7.0, 2.0]


@pytest.fixture(scope="module")
def ningbo():
    from layers.crs import to_metric
    from layers.filters import assign_zones
    from layers.registry import load_layer

    d = load_layer("enterprises")
    z = load_layer("zones")
    d["zone"] = assign_zones(d, z)
    dm = to_metric(d)
    return dm, load_layer("incubators").to_crs(dm.crs), z.to_crs(dm.crs)


def test_run_siting_adapter_keeps_existing_and_proves_change(ningbo):
    dm, em, zones = ningbo
    area = zones[zones["name"] == "中官路创业创新大街"].geometry.iloc[0]
    cand = grid_candidates(area, spacing_m=700, crs=dm.crs)
    assert cand.within(area).all()
    p = ReachParams(method="straight", mode="walk")
    res = run_siting(
        dm,
        em,
        cand,
        params=p,
        minutes=10,
        model="mclp",
        k=3,
        weight_col="employees",
        capacity_col="floor_area_m2",
    )
    assert res.covered_after >= res.covered_before
    assert (res.demand["covered_after"] | ~res.demand["covered_before"]).all()  # nothing lost
    assert res.selected["rank"].tolist() == [1, 2, 3]
    assert res.selected["marginal_gain"].is_monotonic_decreasing
    assert res.covered_after - res.covered_before == pytest.approx(
        res.selected["newly_covered_weight"].sum()
    )
    assert len(res.catchments) == 3 and (res.catchments.area > 0).all()
    assert {"zone", "share_before", "share_after", "change"} <= set(res.by_zone.columns)
    assert res.gaps["gap_rank"].tolist()[:3] == [1, 2, 3]
    assert res.gaps["unserved"].is_monotonic_decreasing
    sc = scenario_coverage(dm, em, params=p, minutes=10, weight_col="employees")
    assert sc["covered"] == pytest.approx(res.covered_before)
    with pytest.raises(SitingError, match="candidate"):
        run_siting(dm, em, cand.iloc[:0], params=p, minutes=10, k=2)


def test_cli_site(tmp_path):
    out = tmp_path / "s"
    assert (
        cli_main(
            [
                "site",
                "--demand",
                "enterprises",
                "--weight",
                "employees",
                "--existing",
                "incubators",
                "--candidates",
                "grid:800",
                "--zone",
                "中官路创业创新大街",
                "--k",
                "3",
                "--minutes",
                "10",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in (
        "model",
        "k",
        "objective",
        "upper_bound",
        "gap",
        "covered_before",
        "covered_after",
        "share_before",
        "share_after",
        "selected",
    ):
        assert key in s
    assert s["model"] == "mclp" and s["k"] == 3 and len(s["selected"]) == 3
    assert s["objective"] <= s["upper_bound"] + 1e-6 and s["covered_after"] == pytest.approx(
        s["objective"]
    )
    assert {"rank", "id", "lon", "lat", "marginal_gain"} <= set(s["selected"][0])
    assert len(gpd.read_file(out / "sites.gpkg", layer="sites")) == 3
    assert len(gpd.read_file(out / "gaps.gpkg")) > 0
    csv = tmp_path / "cands.csv"
    csv.write_text(
        "id,name,lon,lat,source,coord_source,coord_precision_m,synthetic\n"
        "B1,楼宇一,121.64,29.93,plan,plan,20,false\nB2,楼宇二,121.60,29.91,plan,plan,20,false\n",
        encoding="utf-8",
    )
    assert (
        cli_main(
            [
                "site",
                "--demand",
                "enterprises",
                "--existing",
                "incubators",
                "--candidates",
                str(csv),
                "--k",
                "1",
                "--model",
                "pmedian",
                "--out",
                str(tmp_path / "p"),
            ]
        )
        == 0
    )
    assert (
        cli_main(
            [
                "site",
                "--demand",
                "enterprises",
                "--existing",
                "incubators",
                "--candidates",
                "grid:800",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )  # neither --k nor --target-share


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(1, 3),
    density=st.sampled_from([0.1, 0.3, 0.6]),
    block=st.sampled_from([1, 3, 1024]),
)
def test_undominated_columns_keep_the_optimum_and_drop_only_dominated_sites(
    seed, k, density, block
):
    from geo.siting import undominated_columns

    r, w, ex = instance(seed, m=12, n=9, density=density)
    dense = r.toarray()
    keep = undominated_columns(r, block=block)
    sets = [set(np.flatnonzero(dense[:, j])) for j in range(dense.shape[1])]
    for j in np.flatnonzero(~keep):  # every dropped site: empty, or inside a kept one
        assert not sets[j] or any(sets[j] <= sets[c] for c in np.flatnonzero(keep) if c != j)
    for a, b in itertools.permutations(np.flatnonzero(keep), 2):  # no kept site inside another
        assert not sets[a] <= sets[b], (a, b)
    # above the pair budget nothing is compared: every site reaching a row is kept
    assert (undominated_columns(r, max_pairs=0) == dense.any(axis=0)).all()
    cols = np.flatnonzero(keep)
    kk = min(k, len(cols))
    reduced = brute_mclp(csr_matrix(dense[:, cols]), w, ex, kk) if kk else w[ex].sum()
    assert reduced == pytest.approx(brute_mclp(r, w, ex, k))


def test_mclp_milp_sees_only_undominated_sites_and_stays_exact(monkeypatch):
    # nested reach: sites 0..9 reach ever larger runs of the same rows, 10..19 copy them
    import geo.siting as gs

    rows, n = 44, 20
    dense = np.zeros((rows, n), bool)
    for j in range(10):
        dense[: 4 * (j + 1), j] = dense[: 4 * (j + 1), 10 + j] = True
    dense[40:, 3] = True  # site 3 also reaches rows no other site reaches: not dominated
    seen = []
    real = gs._lp_or_milp_mclp

    def spy(reach, w, k, *, integral, time_limit):
        if integral:
            seen.append(reach.shape[1])
        return real(reach, w, k, integral=integral, time_limit=time_limit)

    monkeypatch.setattr(gs, "_lp_or_milp_mclp", spy)
    w = np.arange(1, rows + 1, dtype=float)
    sol = solve_mclp(csr_matrix(dense), w, np.zeros(rows, bool), k=1, solver="exact")
    assert seen == [2]  # of 20 sites only 3 and 9 can be the answer
    assert sol.objective == pytest.approx(brute_mclp(csr_matrix(dense), w, np.zeros(rows, bool), 1))
    assert sol.selected == [9]
