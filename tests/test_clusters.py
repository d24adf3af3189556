"""Clusters, hot spots and point-pattern statistics on planted patterns."""

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score

from cli import main as cli_main
from geo.clusters import ClusterError, cluster_points, cluster_summary, dbscan, hdbscan_labels
from geo.hotspots import (
    HotspotError,
    _neighbours,
    arcgis_bandwidth,
    getis_ord_gi_star,
    hex_counts,
    hex_grid,
    hotspot_cells,
    hotspot_classes,
    kde_surface,
)
from geo.pointstats import clark_evans, colocation_quotient, csr_points, ripley_l


def planted(seed=0):
    """Three tight blobs of 60 points (σ 30 m) 3 km apart, plus 40 isolated points on a coarse lattice."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [3000, 0], [0, 3000]], float)
    blobs = np.vstack([c + rng.normal(0, 30, (60, 2)) for c in centres])
    lattice = np.array(
        [[x, y] for x in range(5000, 10000, 1000) for y in range(5000, 13000, 1000)], float
    )
    truth = np.r_[np.repeat([0, 1, 2], 60), np.full(len(lattice), -1)]
    return np.vstack([blobs, lattice]), truth


def test_dbscan_finds_planted_clusters_exactly():
    xy, truth = planted()
    lab = dbscan(xy, eps_m=150, min_samples=5)
    assert adjusted_rand_score(truth, lab) == 1.0
    assert set(lab[truth == -1]) == {-1}


def test_hdbscan_finds_planted_clusters_exactly():
    xy, truth = planted(1)
    lab = hdbscan_labels(xy, min_cluster_size=20, min_samples=5)
    assert adjusted_rand_score(truth, lab) == 1.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), eps=st.floats(20, 400), ms=st.integers(1, 12))
def test_dbscan_equals_sklearn(seed, eps, ms):
    rng = np.random.default_rng(seed)
    xy = np.vstack(
        [rng.normal(rng.uniform(0, 2000, 2), rng.uniform(20, 200), (80, 2)) for _ in range(4)]
    )
    xy = np.vstack([xy, rng.uniform(0, 2000, (100, 2))])
    ours = dbscan(xy, eps_m=eps, min_samples=ms)
    ref = DBSCAN(eps=eps, min_samples=ms).fit(xy)
    core = np.zeros(len(xy), bool)
    core[ref.core_sample_indices_] = True
    assert np.array_equal(ours == -1, ref.labels_ == -1)
    if core.any():
        assert adjusted_rand_score(ours[core], ref.labels_[core]) == pytest.approx(1.0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), eps=st.floats(10, 300), ms=st.integers(1, 30))
def test_dbscan_counting_paths_and_grid_lookups_agree(seed, eps, ms):
    """Pair counting on the grid (no weights) = KD-tree sums (unit weights); the dense
    cell table = the binary search used for grids too large for it."""
    import geo.clusters as gc

    rng = np.random.default_rng(seed)
    xy = np.vstack(
        [rng.normal(rng.uniform(0, 3000, 2), 60, (300, 2)), rng.uniform(0, 3000, (300, 2))]
    )
    plain = dbscan(xy, eps_m=eps, min_samples=ms)
    assert np.array_equal(plain, dbscan(xy, eps_m=eps, min_samples=ms, weights=np.ones(len(xy))))
    dense_cells = gc._DENSE_CELLS
    try:
        gc._DENSE_CELLS = 0
        assert np.array_equal(plain, dbscan(xy, eps_m=eps, min_samples=ms))
    finally:
        gc._DENSE_CELLS = dense_cells


def test_weighted_dbscan_and_errors():
    xy = np.array([[0, 0], [10, 0], [1000, 0]], float)
    assert dbscan(xy, eps_m=50, min_samples=5).tolist() == [-1, -1, -1]
    assert dbscan(xy, eps_m=50, min_samples=5, weights=[3, 3, 1]).tolist() == [0, 0, -1]
    with pytest.raises(ClusterError, match="eps_m"):
        dbscan(xy, eps_m=0, min_samples=2)


def test_cluster_summary_describes_clusters():
    xy, _ = planted()
    kinds = np.where(np.arange(len(xy)) % 3 == 0, "高校院所", "企业")
    g = gpd.GeoDataFrame(
        {"kind": kinds},
        geometry=gpd.points_from_xy(xy[:, 0] + 350000, xy[:, 1] + 3310000),
        crs="EPSG:32651",
    )
    lab = cluster_points(g, method="dbscan", eps_m=150, min_samples=5)
    summ = cluster_summary(lab)
    assert len(summ) == 3 and summ["size"].tolist() == [60, 60, 60]
    assert summ.geometry.geom_type.eq("Polygon").all()
    assert (summ["area_km2"] > 0).all() and (summ["density_per_km2"] > 0).all()
    assert summ["label"].iloc[0] in ("企业+高校院所复合", "企业主导")
    assert sum(summ["by_kind"].iloc[0].values()) == 60
    assert 121 < summ["centroid_lon"].iloc[0] < 122
    with pytest.raises(ClusterError, match="projected"):
        cluster_points(g.to_crs(4326))


def test_gi_star_matches_hand_computation():
    area = shapely.box(0, 0, 1000, 1000)
    grid = hex_grid(area, cell_m=200, crs="EPSG:32651")
    rng = np.random.default_rng(3)
    x = rng.integers(0, 10, len(grid)).astype(float)
    pairs = _neighbours(grid)
    gi = getis_ord_gi_star(x, pairs, permutations=0)
    n = len(x)
    xbar = x.mean()
    s = np.sqrt((x**2).sum() / n - xbar**2)
    i, j = pairs
    for cell in range(0, n, max(1, n // 7)):
        nb = j[i == cell]
        wx = x[cell] + x[nb].sum()
        w = 1 + len(nb)
        z = (wx - xbar * w) / (s * np.sqrt((n * w - w**2) / (n - 1)))
        assert gi.z[cell] == pytest.approx(z)
    # every interior hexagon has 6 neighbours, neighbour relation is symmetric
    assert np.bincount(i, minlength=n).max() == 6
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == set(
        zip(j.tolist(), i.tolist(), strict=True)
    )


def test_hotspots_find_a_planted_hot_spot():
    rng = np.random.default_rng(0)
    bg = rng.uniform(0, 10000, (800, 2))
    hot = rng.normal(5000, 150, (300, 2))
    xy = np.vstack([bg, hot]) + [350000, 3310000]
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:32651")
    cells = hotspot_cells(
        pts, cell_m=500, permutations=199, area=shapely.box(350000, 3310000, 360000, 3320000)
    )
    assert {"count", "gi_z", "gi_p", "gi_p_fdr", "hotspot_class"} <= set(cells.columns)
    assert cells["count"].sum() == pytest.approx(1100, abs=2)
    hot_cells = cells[cells["hotspot_class"] == "hot_99"]
    assert len(hot_cells) >= 3
    assert hot_cells.geometry.centroid.distance(shapely.Point(355000, 3315000)).max() < 1000
    assert (cells["gi_p_fdr"] >= cells["gi_p_norm"] - 1e-12).all()
    assert hotspot_classes(np.array([3.0, -3.0, 0.1]), np.array([0.001, 0.03, 0.5])).tolist() == [
        "hot_99",
        "cold_95",
        "not_significant",
    ]
    g2 = hex_grid(shapely.box(0, 0, 2000, 2000), cell_m=200, crs=None)
    with pytest.raises(HotspotError, match="same value"):
        getis_ord_gi_star(np.ones(len(g2)), _neighbours(g2))


def test_hex_counts_and_kde_mass():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 5000, (5000, 2))
    grid = hex_grid(shapely.box(-1000, -1000, 6000, 6000), cell_m=300, crs="EPSG:32651")
    assert hex_counts(grid, xy, cell_m=300).sum() == 5000
    surf = kde_surface(xy, bandwidth_m=300)
    mass = surf.density.sum() * (surf.cell_m**2) / 1e6
    assert mass == pytest.approx(5000, rel=0.01)
    assert arcgis_bandwidth(xy) > 0


def test_clark_evans_uniform_vs_clustered():
    rng = np.random.default_rng(5)
    area = shapely.box(0, 0, 10000, 10000)
    uni = csr_points(area, 2000, rng)
    ce_u = clark_evans(uni, area=area)
    assert 0.93 < ce_u.R < 1.07
    clus = np.vstack([rng.normal(c, 100, (200, 2)) for c in rng.uniform(1000, 9000, (10, 2))])
    ce_c = clark_evans(clus, area=area)
    assert ce_c.R < 0.5 and ce_c.p < 0.001 and ce_c.interpretation("en") == "clustered"


def test_ripley_envelope_and_colocation():
    rng = np.random.default_rng(7)
    area = shapely.box(0, 0, 5000, 5000)
    uni = csr_points(area, 300, rng)
    r = ripley_l(uni, area=area, distances_m=np.linspace(100, 1000, 10), simulations=39)
    assert (r["L"] >= r["env_low"] - 60).all() and (r["L"] <= r["env_high"] + 60).all()
    clus = np.vstack([rng.normal(c, 60, (30, 2)) for c in rng.uniform(500, 4500, (10, 2))])
    rc = ripley_l(clus, area=area, distances_m=np.linspace(100, 1000, 10), simulations=39)
    assert (rc["L"][:5] > rc["env_high"][:5]).all()
    # B points sit next to A points: strong co-location A→B
    a = rng.uniform(0, 5000, (100, 2))
    b = a + rng.normal(0, 5, a.shape)
    c = rng.uniform(0, 5000, (200, 2))
    xy = np.vstack([a, b, c])
    kinds = np.r_[["A"] * 100, ["B"] * 100, ["C"] * 200]
    res = colocation_quotient(xy, kinds, "A", "B", permutations=199)
    assert res["clq"] > 2 and res["p_colocated"] < 0.01
    res2 = colocation_quotient(xy, kinds, "A", "C", permutations=199)
    assert res2["clq"] < 1


def test_cli_clusters_and_hotspots(tmp_path):
    out = tmp_path / "cl"
    assert (
        cli_main(
            [
                "clusters",
                "--layer",
                "enterprises",
                "incubators",
                "--method",
                "dbscan",
                "--eps-m",
                "300",
                "--min-samples",
                "10",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {"n_clusters", "n_noise", "clusters"} <= set(s)
    assert s["n_clusters"] == len(s["clusters"]) > 0
    for k in ("id", "size", "by_kind", "centroid_lon", "centroid_lat", "area_km2"):
        assert k in s["clusters"][0]
    pts = gpd.read_file(out / "points.gpkg")
    assert "cluster" in pts and (pts["cluster"] == -1).sum() == s["n_noise"]
    assert len(gpd.read_file(out / "clusters.gpkg")) == s["n_clusters"]
    assert (
        cli_main(
            [
                "clusters",
                "--layer",
                "enterprises",
                "--method",
                "hdbscan",
                "--min-cluster-size",
                "30",
                "--out",
                str(tmp_path / "hd"),
            ]
        )
        == 0
    )
    out2 = tmp_path / "hs"
    assert (
        cli_main(
            [
                "hotspots",
                "--layer",
                "enterprises",
                "--cell-m",
                "800",
                "--permutations",
                "99",
                "--out",
                str(out2),
            ]
        )
        == 0
    )
    cells = gpd.read_file(out2 / "cells.gpkg")
    assert {"count", "gi_z", "gi_p", "gi_p_fdr", "hotspot_class"} <= set(cells.columns)
    s2 = json.loads((out2 / "summary.json").read_text(encoding="utf-8"))
    assert s2["nearest_neighbour"][0]["kind"] == "企业" and s2["nearest_neighbour"][0]["R"] < 1
