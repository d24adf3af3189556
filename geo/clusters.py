"""Density clusters of points in metres: DBSCAN (exact, grid-accelerated) and HDBSCAN.

:func:`dbscan` is an exact DBSCAN for 2-D metric coordinates that scales to
millions of points with little memory:

1. grid cells of side ``eps/√5``: any two points in the same or in edge-adjacent
   cells are within ``eps``, so those cells' total (points or weight) is a lower
   bound of a point's neighbourhood, and the cells within ``eps`` of its cell an
   upper bound; only points whose bounds straddle ``min_samples`` are counted: their
   neighbours in the cells between the bounds pair by pair (each cell pair once), or
   with a KD-tree when points carry weights. A city-sized grid is indexed by a dense
   table of cells, a larger one by binary search;
2. core cells are joined when the bounding boxes of their core points prove a
   pair within ``eps`` (always for edge-adjacent cells); only the remaining
   candidate cell pairs that would join different components are checked point
   by point;
3. border points take the label of their nearest core point within ``eps``.

The result is the DBSCAN partition (border points reachable from several
clusters go to the nearest one). :func:`cluster_summary` is the GeoDataFrame
adapter that describes each cluster.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

import settings
from layers.errors import InnoMapError
from layers.filters import distinct_zone_names

__all__ = ["ClusterError", "cluster_points", "cluster_summary", "dbscan", "hdbscan_labels"]


class ClusterError(InnoMapError):
    """Raised for bad clustering parameters or inputs."""


def _check_xy(xy) -> np.ndarray:
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if not np.isfinite(xy).all():
        raise ClusterError(
            "坐标包含非数值 / coordinates contain NaN or infinity: drop empty geometries first"
        )
    return xy


def dbscan(xy, *, eps_m: float, min_samples: int, weights=None) -> np.ndarray:
    """Exact DBSCAN labels (``-1`` = noise) for metric coordinates.

    Parameters
    ----------
    xy : array_like, shape (n, 2)
        Projected coordinates in metres.
    eps_m : float
        Neighbourhood radius (metres).
    min_samples : int
        Points (or total weight) within ``eps_m``, the point itself included,
        that make a core point.
    weights : array_like, optional
        Point weights (e.g. employees): the neighbourhood weight must reach
        ``min_samples``.
    """
    if not eps_m > 0:
        raise ClusterError(f"eps_m 必须为正 / eps_m must be positive, got {eps_m!r}")
    if int(min_samples) < 1:
        raise ClusterError(f"min_samples 至少为 1 / min_samples must be ≥ 1, got {min_samples!r}")
    xy = _check_xy(xy)
    n = len(xy)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    w = None if weights is None else np.nan_to_num(np.asarray(weights, float))
    side = eps_m / np.sqrt(5.0)
    ij = np.floor((xy - xy.min(axis=0)) / side).astype(np.int64) + 3
    ncol = int(ij[:, 1].max()) + 4
    grid = _Grid(ij[:, 0] * ncol + ij[:, 1], ncol, (int(ij[:, 0].max()) + 4) * ncol)
    cells, cell_of, cnt = grid.keys, grid.cell_of, grid.count
    cell_w = (
        cnt.astype(float) if w is None else np.bincount(cell_of, weights=w, minlength=len(cells))
    )
    if w is None or (w >= 0).all():
        core = _core_by_cells(xy, w, grid, cell_w, side, eps_m, min_samples)
    else:  # negative weights: the cell sums bound nothing, count every point
        core = _core_plain(xy, w, eps_m, min_samples, np.flatnonzero(cell_w[cell_of] < np.inf))
    labels = np.full(n, -1, dtype=np.int64)
    cp = np.flatnonzero(core)
    if len(cp) == 0:
        return labels
    ncell = len(cells)
    cc = cell_of[cp]
    edges_a, edges_b = _core_cell_edges(xy, cp, cc, grid, side, eps_m)
    g = coo_matrix((np.ones(len(edges_a)), (edges_a, edges_b)), shape=(ncell, ncell))
    _, comp = connected_components(g, directed=False)
    # renumber components of core cells 0..k-1 in order of first core point
    core_comp = comp[cc]
    _, first = np.unique(core_comp, return_index=True)
    order = np.argsort(first)
    remap = np.full(comp.max() + 1, -1, np.int64)
    remap[np.unique(core_comp)[order]] = np.arange(len(order))
    labels[cp] = remap[core_comp]
    border = np.flatnonzero(~core)
    if len(border):  # nearest core point within eps, among the core points near them
        near = _near_cells(grid, _distinct(cell_of[border], ncell), _OUTER)
        cand = cp[near[cc]]
        if len(cand):
            # the bound is strict in SciPy: a border point at exactly eps belongs too
            bound = np.nextafter(eps_m, np.inf)
            d, j = cKDTree(xy[cand]).query(xy[border], k=1, distance_upper_bound=bound)
            hit = np.isfinite(d)
            labels[border[hit]] = labels[cand[j[hit]]]
    return labels


def _core_cell_edges(xy, cp, cc, grid: _Grid, side: float, eps_m: float):
    """Pairs of cells holding core points within ``eps_m`` of each other: by the cells'
    bounding boxes where they decide, else by the points (only pairs that would join two
    components)."""
    cells, ncol = grid.keys, grid.ncol
    ncell = len(cells)
    is_core_cell = np.zeros(ncell, bool)
    is_core_cell[cc] = True
    mnx = np.full(ncell, np.inf)
    mxx = np.full(ncell, -np.inf)
    mny = np.full(ncell, np.inf)
    mxy = np.full(ncell, -np.inf)
    np.minimum.at(mnx, cc, xy[cp, 0])
    np.maximum.at(mxx, cc, xy[cp, 0])
    np.minimum.at(mny, cc, xy[cp, 1])
    np.maximum.at(mxy, cc, xy[cp, 1])
    ci, cj = cells // ncol, cells % ncol
    core_cells = np.flatnonzero(is_core_cell)
    # candidate neighbour cells: offsets up to 3 cells (3·side > eps), half of them
    offsets = [
        (di, dj)
        for di in range(0, 4)
        for dj in range(-3, 4)
        if (di, dj) > (0, 0)
        and (max(abs(di) - 1, 0) ** 2 + max(abs(dj) - 1, 0) ** 2) * side**2 <= eps_m**2
    ]
    pa, pb = [], []
    for di, dj in offsets:
        pos, hit = grid.find((ci[core_cells] + di) * ncol + (cj[core_cells] + dj))
        ok = hit & is_core_cell[pos]
        pa.append(core_cells[ok])
        pb.append(pos[ok])
    a = np.concatenate(pa)
    b = np.concatenate(pb)
    gx = np.maximum(0.0, np.maximum(mnx[a] - mxx[b], mnx[b] - mxx[a]))
    gy = np.maximum(0.0, np.maximum(mny[a] - mxy[b], mny[b] - mxy[a]))
    near = np.hypot(gx, gy) <= eps_m
    fx = np.maximum(mxx[a] - mnx[b], mxx[b] - mnx[a])
    fy = np.maximum(mxy[a] - mny[b], mxy[b] - mny[a])
    sure = near & (np.hypot(fx, fy) <= eps_m)
    amb = near & ~sure
    edges_a, edges_b = a[sure], b[sure]
    if amb.any():
        g = coo_matrix((np.ones(len(edges_a)), (edges_a, edges_b)), shape=(ncell, ncell))
        _, comp = connected_components(g, directed=False)
        todo = np.flatnonzero(amb)
        todo = todo[comp[a[todo]] != comp[b[todo]]]
        if len(todo):
            ok = _pairs_within(xy, cp, cc, ncell, a[todo], b[todo], eps_m)
            edges_a = np.concatenate([edges_a, a[todo][ok]])
            edges_b = np.concatenate([edges_b, b[todo][ok]])
    return edges_a, edges_b


def _core_plain(xy, w, eps_m, min_samples, rest, among=None) -> np.ndarray:
    """Core flags of the points ``rest`` by counting neighbours with a KD-tree (others False).

    ``among`` (indices) limits the tree to the points that can be neighbours of ``rest``.
    """
    core = np.zeros(len(xy), bool)
    if len(rest):
        among = np.arange(len(xy)) if among is None else among
        tree = cKDTree(xy[among])
        if w is None:
            counts = tree.query_ball_point(xy[rest], eps_m, return_length=True, workers=-1)
            core[rest] = counts >= min_samples
        else:
            wa = w[among]
            nb = tree.query_ball_point(xy[rest], eps_m, workers=-1)
            core[rest] = np.array([wa[list(ix)].sum() for ix in nb]) >= min_samples
    return core


#: Grids of at most this many cells (occupied or not) are indexed by a dense table.
_DENSE_CELLS = 1 << 23  # 8.4 M: a 60 km city at eps 50 m; ~100 MB while indexing


class _Grid:
    """The occupied cells of a grid (cell key = row * ncol + col), each point's cell and
    a lookup of cell keys: a dense table for a city-sized grid (O(1) a key), else a binary
    search in the sorted keys (a province at a small eps)."""

    def __init__(self, key: np.ndarray, ncol: int, size: int):
        self.ncol = ncol
        self._table = None
        if size <= _DENSE_CELLS:
            counts = np.bincount(key, minlength=size)
            self.keys = np.flatnonzero(counts)
            self._table = np.full(size, -1, dtype=np.int32)
            self._table[self.keys] = np.arange(len(self.keys))
            self.cell_of = self._table[key].astype(np.int64)
            self.count = counts[self.keys]
        else:
            self.keys, cell_of, self.count = np.unique(key, return_inverse=True, return_counts=True)
            self.cell_of = cell_of.ravel()

    def find(self, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(index, found)`` of each key in ``target`` (index 0 where not found)."""
        if self._table is not None:
            inside = (target >= 0) & (target < len(self._table))
            pos = np.where(inside, self._table[np.where(inside, target, 0)], -1)
            return np.maximum(pos, 0), pos >= 0
        pos = np.minimum(np.searchsorted(self.keys, target), len(self.keys) - 1)
        return pos, self.keys[pos] == target


def _distinct(idx: np.ndarray, n: int) -> np.ndarray:
    """The distinct values of ``idx`` (integers in ``[0, n)``), sorted: one pass, no sort."""
    return np.flatnonzero(np.bincount(idx, minlength=n))


def _near_cells(grid: _Grid, which: np.ndarray, offsets) -> np.ndarray:
    """Mask of the cells at ``offsets`` from the cells ``which`` (indices into ``grid.keys``)."""
    ci, cj = grid.keys[which] // grid.ncol, grid.keys[which] % grid.ncol
    out = np.zeros(len(grid.keys), bool)
    for di, dj in offsets:
        pos, hit = grid.find((ci + di) * grid.ncol + (cj + dj))
        out[pos[hit]] = True
    return out


def _cell_sums(grid: _Grid, cell_w, offsets) -> np.ndarray:
    """For every cell, the total weight of the cells at ``offsets`` (the cell itself included
    when ``(0, 0)`` is among them)."""
    ci, cj = grid.keys // grid.ncol, grid.keys % grid.ncol
    total = np.zeros(len(grid.keys))
    for di, dj in offsets:
        pos, hit = grid.find((ci + di) * grid.ncol + (cj + dj))
        total[hit] += cell_w[pos[hit]]
    return total


def _core_by_cells(xy, w, grid: _Grid, cell_w, side, eps_m, min_samples) -> np.ndarray:
    """Core flags, deciding most points from cell sums (same answer as :func:`_core_plain`).

    With non-negative weights, a point's neighbourhood weight lies between the weight of
    the cells entirely within ``eps`` of every point of its cell (lower bound) and the
    weight of the cells that come within ``eps`` of its cell (upper bound). Only the
    points whose bounds straddle ``min_samples`` are counted with the KD-tree: in dense
    data (a million firms in a city) that is a small fraction.
    """
    reach = range(-3, 4)
    inner = [
        (di, dj)
        for di in reach
        for dj in reach
        if ((abs(di) + 1) ** 2 + (abs(dj) + 1) ** 2) * side**2 <= eps_m**2
    ]
    outer = [
        (di, dj)
        for di in reach
        for dj in reach
        if (max(abs(di) - 1, 0) ** 2 + max(abs(dj) - 1, 0) ** 2) * side**2 <= eps_m**2
    ]
    cell_of = grid.cell_of
    lower = _cell_sums(grid, cell_w, inner)[cell_of]
    upper = _cell_sums(grid, cell_w, outer)[cell_of]
    core = lower >= min_samples
    unsure = np.flatnonzero(~core & (upper >= min_samples))
    if len(unsure) and w is None:  # counts: the ring cells' points checked pair by pair
        want = np.zeros(len(grid.keys), bool)
        want[cell_of[unsure]] = True
        ring = [o for o in outer if o not in inner]
        exact = lower[unsure] + _ring_counts(xy, grid, ring, eps_m, want)[unsure]
        core[unsure] = exact >= min_samples
    elif len(unsure):  # weights: summed point by point with a KD-tree
        near = _near_cells(grid, _distinct(cell_of[unsure], len(grid.keys)), outer)
        core |= _core_plain(xy, w, eps_m, min_samples, unsure, np.flatnonzero(near[cell_of]))
    return core


def _ring_counts(xy, grid: _Grid, ring, eps_m: float, want: np.ndarray, chunk=4_000_000):
    """For every point of the cells ``want`` (mask), its neighbours within ``eps_m`` in the
    cells at the ``ring`` offsets (a symmetric set), counted pair by pair: each cell pair
    once (half the offsets), both of its points credited. Other points get partial counts.
    """
    n = len(xy)
    order = np.argsort(grid.cell_of, kind="stable")
    pts = xy[order]
    start = np.concatenate([[0], np.cumsum(grid.count)[:-1]])
    ci, cj = grid.keys // grid.ncol, grid.keys % grid.ncol
    acc = np.zeros(n)
    eps2 = eps_m * eps_m
    for di, dj in (o for o in ring if o > (0, 0)):
        pos, hit = grid.find((ci + di) * grid.ncol + (cj + dj))
        a = np.flatnonzero(hit)
        b = pos[hit]
        keep = want[a] | want[b]
        a, b = a[keep], b[keep]
        nb = grid.count[b]
        sizes = grid.count[a] * nb
        ends = np.cumsum(sizes)
        lo = 0
        while lo < len(a):
            hi = max(int(np.searchsorted(ends, ends[lo] - sizes[lo] + chunk, side="right")), lo + 1)
            s = sizes[lo:hi]
            pair = np.repeat(np.arange(lo, hi), s)
            r = np.arange(int(s.sum())) - np.repeat(np.cumsum(s) - s, s)
            ia = start[a[pair]] + r // nb[pair]
            ib = start[b[pair]] + r % nb[pair]
            d = pts[ia] - pts[ib]
            m = np.einsum("ij,ij->i", d, d) <= eps2
            acc += np.bincount(ia[m], minlength=n)
            acc += np.bincount(ib[m], minlength=n)
            lo = hi
    out = np.empty(n)
    out[order] = acc
    return out


#: Cell offsets (side eps/√5) that can hold a point within eps of a point of the cell.
_OUTER = [
    (di, dj)
    for di in range(-3, 4)
    for dj in range(-3, 4)
    if (max(abs(di) - 1, 0) ** 2 + max(abs(dj) - 1, 0) ** 2) <= 5
]


def _pairs_within(xy, cp, cc, ncell, a_cells, b_cells, eps_m, chunk=20_000_000):
    """For each candidate cell pair, is there a pair of core points within eps?"""
    order = np.argsort(cc, kind="stable")
    pts = xy[cp[order]]
    start = np.searchsorted(cc[order], np.arange(ncell), side="left")
    count = np.bincount(cc, minlength=ncell)
    na, nb = count[a_cells], count[b_cells]
    sizes = na * nb
    result = np.zeros(len(a_cells), bool)
    eps2 = eps_m * eps_m
    lo = 0
    while lo < len(a_cells):
        hi = lo
        total = 0
        while hi < len(a_cells) and (total == 0 or total + sizes[hi] <= chunk):
            total += sizes[hi]
            hi += 1
        s = sizes[lo:hi]
        pair = np.repeat(np.arange(lo, hi), s)
        r = np.arange(s.sum()) - np.repeat(np.cumsum(s) - s, s)
        ia = start[a_cells[pair]] + r // nb[pair]
        ib = start[b_cells[pair]] + r % nb[pair]
        d2 = ((pts[ia] - pts[ib]) ** 2).sum(axis=1)
        hit = np.bincount(pair - lo, weights=(d2 <= eps2).astype(float), minlength=hi - lo)
        result[lo:hi] = hit > 0
        lo = hi
    return result


def hdbscan_labels(xy, *, min_cluster_size: int, min_samples: int | None = None) -> np.ndarray:
    """HDBSCAN labels (``-1`` = noise) with the ``hdbscan`` package (Borůvka KD-tree)."""
    import hdbscan

    xy = _check_xy(xy)
    if int(min_cluster_size) < 2:
        raise ClusterError(f"min_cluster_size 至少为 2 / must be ≥ 2, got {min_cluster_size!r}")
    if len(xy) < max(int(min_cluster_size), 2):
        return np.full(len(xy), -1, dtype=np.int64)
    model = hdbscan.HDBSCAN(
        min_cluster_size=int(min_cluster_size),
        min_samples=None if min_samples is None else int(min_samples),
        core_dist_n_jobs=-1,
    )
    return model.fit_predict(xy).astype(np.int64)


def cluster_points(
    points: gpd.GeoDataFrame,
    *,
    method: str = "dbscan",
    eps_m: float | None = None,
    min_samples: int | None = None,
    min_cluster_size: int | None = None,
    weight_col: str | None = None,
) -> gpd.GeoDataFrame:
    """Label points with a ``cluster`` column (``-1`` = noise); returns a new frame."""
    eps_m = settings.CLUSTER_EPS_M if eps_m is None else eps_m
    min_samples = settings.CLUSTER_MIN_SAMPLES if min_samples is None else min_samples
    min_cluster_size = (
        settings.CLUSTER_MIN_CLUSTER_SIZE if min_cluster_size is None else min_cluster_size
    )
    if points.crs is None or not points.crs.is_projected:
        raise ClusterError("点图层必须为米制投影坐标 / points must be in a projected CRS (metres)")
    xy = np.column_stack([points.geometry.x.to_numpy(), points.geometry.y.to_numpy()])
    if method == "dbscan":
        w = None
        if weight_col:
            if weight_col not in points:
                raise ClusterError(f"没有权重字段 / no weight column {weight_col!r}")
            w = pd.to_numeric(points[weight_col], errors="coerce").fillna(0).to_numpy()
        labels = dbscan(xy, eps_m=eps_m, min_samples=min_samples, weights=w)
    elif method == "hdbscan":
        labels = hdbscan_labels(xy, min_cluster_size=min_cluster_size, min_samples=min_samples)
    else:
        raise ClusterError(f"未知方法 / unknown method {method!r}: use dbscan or hdbscan")
    out = points.copy()
    out["cluster"] = labels
    return out


def _label(by_kind: dict[str, int]) -> str:
    total = sum(by_kind.values())
    ranked = sorted(by_kind.items(), key=lambda kv: -kv[1])
    main = [k for k, v in ranked if v / total >= 0.25][:2] or [ranked[0][0]]
    return "+".join(main) + ("主导" if len(main) == 1 else "复合")


def cluster_summary(
    labelled: gpd.GeoDataFrame,
    *,
    zones: gpd.GeoDataFrame | None = None,
    districts: gpd.GeoDataFrame | None = None,
    kind_col: str = "kind",
    hull_ratio: float | None = None,
) -> gpd.GeoDataFrame:
    """One row per cluster: size, members by kind, centroid, concave hull, area, density, zone, district, label."""
    hull_ratio = settings.CLUSTER_HULL_RATIO if hull_ratio is None else hull_ratio
    rows = []
    crs = labelled.crs
    for cid, grp in labelled[labelled["cluster"] >= 0].groupby("cluster"):
        pts = shapely.multipoints(np.column_stack([grp.geometry.x, grp.geometry.y]))
        hull = shapely.concave_hull(pts, ratio=hull_ratio)
        if hull.geom_type != "Polygon" or hull.area == 0:
            hull = shapely.buffer(shapely.convex_hull(pts), 25.0)
        by_kind = (
            grp[kind_col].astype(str).value_counts().to_dict()
            if kind_col in grp
            else {"": len(grp)}
        )
        cen = shapely.Point(grp.geometry.x.mean(), grp.geometry.y.mean())
        area_km2 = hull.area / 1e6
        rows.append(
            {
                "id": int(cid),
                "size": len(grp),
                "by_kind": by_kind,
                "label": _label(by_kind),
                "centroid_x": cen.x,
                "centroid_y": cen.y,
                "area_km2": area_km2,
                "density_per_km2": len(grp) / area_km2 if area_km2 > 0 else np.nan,
                "geometry": hull,
            }
        )
    out = (
        gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
        if rows
        else gpd.GeoDataFrame(
            {"id": [], "size": [], "by_kind": [], "label": []}, geometry=[], crs=crs
        )
    )
    if len(out):
        cen = gpd.GeoSeries(gpd.points_from_xy(out["centroid_x"], out["centroid_y"]), crs=crs)
        ll = cen.to_crs(4326)
        out["centroid_lon"] = ll.x.round(6).to_numpy()
        out["centroid_lat"] = ll.y.round(6).to_numpy()
        for col, layer in (("zone", zones), ("district", districts)):
            if layer is not None and len(layer):
                lay = layer.to_crs(crs)
                out[col] = [
                    "、".join(distinct_zone_names(lay.loc[lay.contains(p), "name"]))
                    for p in cen.to_numpy()
                ]
    return out
