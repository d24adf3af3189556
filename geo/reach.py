"""Reach: travel time from demand to the nearest service point, and isochrones.

Two methods, named as such wherever results appear:

* **network** — multi-source shortest paths on the road graph
  (``scipy.sparse.csgraph.dijkstra`` with ``min_only``), points snapped to the
  nearest graph node within ``max_snap_m`` (the snap distance is walked at the
  access speed and added to the time);
* **straight** — straight-line approximation: ``time = distance × detour ÷ speed``,
  i.e. a catchment radius of ``speed × time ÷ detour``.

Isochrones are polygons of the area within reach: points sampled along every
reached road (partial edges included) are rasterised on a fine grid, dilated by
``buffer_m`` and merged — a buffered-and-dissolved road footprint, not a hull.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

import settings
from geo.network import ModeGraph, NetworkError, RoadGraph

__all__ = [
    "NearestResult",
    "ReachParams",
    "cells_polygon",
    "coverage_polygons",
    "nearest_service",
    "service_isochrones",
    "service_reach_matrix",
    "service_time_matrix",
]

#: Tolerance of every "within the cut-off" comparison (minutes): absorbs float sums.
TOL_MIN = 1e-6

#: Access speed used for the snapping distance when driving (km/h).
DRIVE_ACCESS_KMH = settings.DRIVE_ACCESS_KMH


@dataclass(frozen=True)
class ReachParams:
    """Parameters of a reach computation (also its label).

    Attributes
    ----------
    method : {"network", "straight"}
    mode : {"walk", "bike", "drive"}
    speed_kmh : float or None
        Uniform speed; ``None`` for drive on a network (per road class).
    detour : float
        Detour factor of the straight-line method (network distance ÷ straight distance).
    max_snap_m : float
        Points farther than this from the network are reported as unsnapped.
    """

    method: str = "straight"
    mode: str = "walk"
    speed_kmh: float | None = None
    detour: float = settings.DETOUR
    max_snap_m: float = settings.MAX_SNAP_M

    def __post_init__(self):
        if self.method not in ("network", "straight"):
            raise NetworkError(
                f"未知方法 / unknown method {self.method!r}: use network or straight"
            )
        if self.mode not in ("walk", "bike", "drive"):
            raise NetworkError(
                f"未知出行方式 / unknown mode {self.mode!r}: use walk, bike or drive"
            )
        if self.detour < 1.0:
            raise NetworkError(f"绕行系数不能小于 1 / detour must be ≥ 1, got {self.detour}")
        if self.speed_kmh is not None and not self.speed_kmh > 0:
            raise NetworkError(f"速度必须为正 / speed_kmh must be positive, got {self.speed_kmh}")

    @property
    def effective_speed_kmh(self) -> float | None:
        """The speed in use (defaults per mode; ``None`` = per road class)."""
        if self.speed_kmh is not None:
            return float(self.speed_kmh)
        return settings.default_speed_kmh(self.mode, method=self.method)

    def label(self, lang: str = "zh") -> str:
        """Human label naming the method and its parameters."""
        mode_zh = {"walk": "步行", "bike": "骑行", "drive": "驾车"}[self.mode]
        v = self.effective_speed_kmh
        if self.method == "straight":
            if lang == "en":
                return (
                    f"Straight-line approximation (radius = speed × time ÷ detour {self.detour:g}); "
                    f"{self.mode} {v:g} km/h"
                )
            return f"直线距离近似法(半径 = 速度 × 时间 ÷ 绕行系数 {self.detour:g}); {mode_zh} {v:g} km/h"
        speed = (
            f"{v:g} km/h"
            if v is not None
            else ("speed by road class" if lang == "en" else "按道路等级限速")
        )
        if lang == "en":
            return f"Road network; {self.mode} {speed}; max snap {self.max_snap_m:g} m"
        return f"路网法; {mode_zh} {speed}; 最大接入距离 {self.max_snap_m:g} 米"


@dataclass
class NearestResult:
    """Travel time from every demand point to its nearest service point.

    Attributes
    ----------
    minutes : numpy.ndarray
        Minutes to the nearest service (``nan`` when unreachable or unsnapped).
    service : numpy.ndarray
        Index of that service point (-1 where ``minutes`` is nan).
    snapped : numpy.ndarray
        Whether the demand point was within ``max_snap_m`` of the network
        (always True for the straight-line method).
    snap_m : numpy.ndarray
        Distance to the snapped node (0 for straight-line).
    service_snapped : numpy.ndarray
        Whether each service point snapped.
    """

    minutes: np.ndarray
    service: np.ndarray
    snapped: np.ndarray
    snap_m: np.ndarray
    service_snapped: np.ndarray


def _mpm(speed_kmh: float) -> float:
    return speed_kmh * 1000.0 / 60.0


def _access_kmh(params: ReachParams) -> float:
    if params.mode == "drive":
        return DRIVE_ACCESS_KMH
    return params.effective_speed_kmh or settings.SPEEDS_KMH[params.mode]


def _snap(mg: ModeGraph, xy: np.ndarray, max_snap_m: float):
    if len(xy) == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool)
    d, i = mg.tree.query(xy, k=1, workers=-1)
    return mg.kept_nodes[i], d, d <= max_snap_m


def _network_setup(graph: RoadGraph | None, params: ReachParams, service_xy: np.ndarray):
    """Mode graph, access speed (m/min) and the snapped service points of a network run."""
    if graph is None:
        raise NetworkError("路网法需要先加载路网 / the network method needs a loaded road network")
    mg = graph.mode_graph(params.mode, speed_kmh=params.speed_kmh)
    return mg, _mpm(_access_kmh(params)), _snap(mg, service_xy, params.max_snap_m)


def _augmented(mg: ModeGraph, s_nodes: np.ndarray, s_access_min: np.ndarray) -> csr_matrix:
    """Reverse graph plus one virtual node per service (edge: virtual → snap node)."""
    n = mg.matrix.shape[0]
    k = len(s_nodes)
    rev = mg.matrix.T.tocsr()
    rev.resize((n + k, n + k))
    extra = csr_matrix(
        (np.maximum(s_access_min, 1e-9), (np.arange(n, n + k), s_nodes)), shape=(n + k, n + k)
    )
    return (rev + extra).tocsr()


def nearest_service(
    demand_xy: np.ndarray,
    service_xy: np.ndarray,
    *,
    params: ReachParams,
    graph: RoadGraph | None = None,
) -> NearestResult:
    """Minutes from every demand point to the nearest service point.

    Parameters
    ----------
    demand_xy, service_xy : numpy.ndarray
        ``(n, 2)`` metric coordinates (same CRS as ``graph``).
    params : ReachParams
    graph : RoadGraph, optional
        Required for ``method="network"``.
    """
    demand_xy = np.asarray(demand_xy, float).reshape(-1, 2)
    service_xy = np.asarray(service_xy, float).reshape(-1, 2)
    nd, ns = len(demand_xy), len(service_xy)
    if ns == 0:
        return NearestResult(
            np.full(nd, np.nan), np.full(nd, -1), np.ones(nd, bool), np.zeros(nd), np.zeros(0, bool)
        )
    if params.method == "straight":
        dist, idx = cKDTree(service_xy).query(demand_xy, k=1, workers=-1)
        minutes = dist * params.detour / _mpm(params.effective_speed_kmh)
        return NearestResult(
            minutes, idx.astype(np.int64), np.ones(nd, bool), np.zeros(nd), np.ones(ns, bool)
        )
    mg, access, (s_nodes, s_d, s_ok) = _network_setup(graph, params, service_xy)
    d_nodes, d_d, d_ok = _snap(mg, demand_xy, params.max_snap_m)
    minutes = np.full(nd, np.nan)
    service = np.full(nd, -1, np.int64)
    if s_ok.any():
        ok_idx = np.flatnonzero(s_ok)
        aug = _augmented(mg, s_nodes[ok_idx], s_d[ok_idx] / access)
        n = mg.matrix.shape[0]
        virt = np.arange(n, n + len(ok_idx))
        dist, _, sources = dijkstra(
            aug, directed=True, indices=virt, min_only=True, return_predecessors=True
        )
        t = dist[d_nodes] + d_d / access
        src = sources[d_nodes]
        good = d_ok & np.isfinite(t) & (src >= 0)
        minutes[good] = t[good]
        service[good] = ok_idx[src[good] - n]
    return NearestResult(minutes, service, d_ok, d_d, s_ok)


def _node_time_batches(mg: ModeGraph, s_nodes, s_access_min, limit_min, batch):
    n = mg.matrix.shape[0]
    aug = _augmented(mg, s_nodes, s_access_min)
    for start in range(0, len(s_nodes), batch):
        idx = np.arange(start, min(start + batch, len(s_nodes)))
        dist = dijkstra(aug, directed=True, indices=n + idx, limit=limit_min + TOL_MIN)
        yield idx, dist[:, :n]


def service_reach_matrix(
    demand_xy: np.ndarray,
    service_xy: np.ndarray,
    *,
    params: ReachParams,
    minutes: float,
    graph: RoadGraph | None = None,
    batch: int | None = None,
    on_progress=None,
) -> csr_matrix:
    """Sparse boolean matrix: ``[i, j]`` is True when demand i reaches service j in ``minutes``.

    This is the coverage core shared by the redundancy statistic and the
    siting models. ``on_progress(done, total)`` (optional) is called as the
    services (e.g. siting candidates) are evaluated.
    """
    batch = settings.REACH_BATCH_SOURCES if batch is None else batch
    demand_xy = np.asarray(demand_xy, float).reshape(-1, 2)
    service_xy = np.asarray(service_xy, float).reshape(-1, 2)
    nd, ns = len(demand_xy), len(service_xy)
    if ns == 0 or nd == 0:
        return csr_matrix((nd, ns), dtype=bool)
    if params.method == "straight":
        radius = (minutes + TOL_MIN) * _mpm(params.effective_speed_kmh) / params.detour
        tree_s = cKDTree(service_xy)
        pairs = cKDTree(demand_xy).query_ball_tree(tree_s, r=radius)
        rows = np.repeat(np.arange(nd), [len(p) for p in pairs])
        cols = np.fromiter((j for p in pairs for j in p), dtype=np.int64, count=len(rows))
        if on_progress is not None:
            on_progress(ns, ns)
        return csr_matrix((np.ones(len(rows), bool), (rows, cols)), shape=(nd, ns))
    mg, access, (s_nodes, s_d, s_ok) = _network_setup(graph, params, service_xy)
    d_nodes, d_d, d_ok = _snap(mg, demand_xy, params.max_snap_m)
    ok_idx = np.flatnonzero(s_ok)
    rows_l, cols_l = [], []
    for idx, dist in _node_time_batches(mg, s_nodes[ok_idx], s_d[ok_idx] / access, minutes, batch):
        t = dist[:, d_nodes] + (d_d / access)[None, :]
        hit = (t <= minutes + TOL_MIN) & d_ok[None, :]
        r, c = np.nonzero(hit)
        rows_l.append(c)  # demand index
        cols_l.append(ok_idx[idx][r])  # service index
        if on_progress is not None:  # services off the network reach nothing: done at once
            on_progress(ns - len(ok_idx) + int(idx[-1]) + 1, ns)
    if on_progress is not None and not len(ok_idx):
        on_progress(ns, ns)
    rows = np.concatenate(rows_l) if rows_l else np.zeros(0, np.int64)
    cols = np.concatenate(cols_l) if cols_l else np.zeros(0, np.int64)
    return csr_matrix((np.ones(len(rows), bool), (rows, cols)), shape=(nd, ns))


def _sample_times(graph: RoadGraph, mg: ModeGraph, node_min: np.ndarray) -> np.ndarray:
    """Minutes at every sample point along the edges, given node times (towards services)."""
    e = graph.sample_edge
    f = graph.sample_frac
    tt = mg.edge_minutes[e]
    tu = node_min[graph.edge_u[e]]
    tv = node_min[graph.edge_v[e]]
    # from a sample point one can travel to u (cost f*tt) or to v (cost (1-f)*tt);
    # on a one-way road (drive) only towards v
    via_v = tv + (1 - f) * tt
    if mg.mode == "drive":
        via_u = np.where(graph.oneway[e], np.inf, tu + f * tt)
    else:
        via_u = tu + f * tt
    return np.minimum(via_u, via_v)


def cells_polygon(xy: np.ndarray, *, cell_m: float | None = None, buffer_m: float | None = None):
    """Polygon covering every point of ``xy`` dilated by ``buffer_m``, on a ``cell_m`` grid.

    Equivalent to buffering the points by ``buffer_m`` and dissolving, at
    ``cell_m`` resolution: the points are rasterised, dilated with a disk
    (``scipy.ndimage``), cut into row runs that are merged vertically into
    rectangles, and the rectangles are dissolved (fast for millions of points).
    """
    cell_m = settings.ISOCHRONE_CELL_M if cell_m is None else cell_m
    buffer_m = settings.ISOCHRONE_BUFFER_M if buffer_m is None else buffer_m
    if len(xy) == 0:
        return shapely.Polygon()
    k = int(np.ceil(buffer_m / cell_m))
    ij = np.floor(np.asarray(xy, float) / cell_m).astype(np.int64)
    lo = ij.min(axis=0) - (k + 1)
    ij -= lo
    grid = np.zeros(ij.max(axis=0) + k + 2, dtype=bool)
    grid[ij[:, 0], ij[:, 1]] = True
    if k > 0:
        di, dj = np.mgrid[-k : k + 1, -k : k + 1]
        grid = ndimage.binary_dilation(grid, structure=(di**2 + dj**2) <= (k + 0.5) ** 2)
    rows = grid.T  # one row per j
    pad = np.zeros((rows.shape[0], rows.shape[1] + 2), dtype=np.int8)
    pad[:, 1:-1] = rows
    d = np.diff(pad, axis=1)
    rj, ri0 = np.nonzero(d == 1)
    _, ri1 = np.nonzero(d == -1)
    # merge identical runs on consecutive rows into rectangles
    order = np.lexsort((rj, ri1, ri0))
    a0, a1, aj = ri0[order], ri1[order], rj[order]
    brk = np.ones(len(a0), bool)
    brk[1:] = (a0[1:] != a0[:-1]) | (a1[1:] != a1[:-1]) | (aj[1:] != aj[:-1] + 1)
    st = np.flatnonzero(brk)
    en = np.r_[st[1:] - 1, len(a0) - 1]
    boxes = shapely.box(
        (a0[st] + lo[0]) * cell_m,
        (aj[st] + lo[1]) * cell_m,
        (a1[st] + lo[0]) * cell_m,
        (aj[en] + 1 + lo[1]) * cell_m,
    )
    return shapely.union_all(boxes)


def circles(points, radius_m, *, quad_segs: int | None = None):
    """Polygons of circles of ``radius_m`` around ``points`` whose areas are the circles'.

    A buffer is a polygon of ``4 × quad_segs`` sides inscribed in its circle (32 sides:
    0.64 % of the area missing). The radius is enlarged by
    ``sqrt(2π / (n sin(2π/n)))`` so the polygon's area equals the circle's (the boundary
    stays within 0.08 % of the radius at ``settings.CIRCLE_QUAD_SEGS`` = 16); unions of
    overlapping circles are then off by well under 0.1 %.
    """
    q = int(quad_segs or settings.CIRCLE_QUAD_SEGS)
    n = 4 * q
    k = np.sqrt(2 * np.pi / (n * np.sin(2 * np.pi / n)))
    return shapely.buffer(points, np.asarray(radius_m, float) * k, quad_segs=q)


def coverage_polygons(
    service_xy: np.ndarray,
    *,
    params: ReachParams,
    minutes: tuple[float, ...],
    graph: RoadGraph | None = None,
    cell_m: float | None = None,
    buffer_m: float | None = None,
) -> list:
    """Area within ``minutes`` of any service point, one polygon per cut-off (nested)."""
    cell_m = settings.ISOCHRONE_CELL_M if cell_m is None else cell_m
    buffer_m = settings.ISOCHRONE_BUFFER_M if buffer_m is None else buffer_m
    service_xy = np.asarray(service_xy, float).reshape(-1, 2)
    if len(service_xy) == 0:
        return [shapely.Polygon() for _ in minutes]
    if params.method == "straight":
        v = _mpm(params.effective_speed_kmh)
        return [
            shapely.union_all(circles(shapely.points(service_xy), m * v / params.detour))
            for m in minutes
        ]
    mg, access, (s_nodes, s_d, s_ok) = _network_setup(graph, params, service_xy)
    if not s_ok.any():
        return [shapely.Polygon() for _ in minutes]
    n = mg.matrix.shape[0]
    aug = _augmented(mg, s_nodes[s_ok], s_d[s_ok] / access)
    dist = dijkstra(
        aug,
        directed=True,
        indices=np.arange(n, n + int(s_ok.sum())),
        min_only=True,
        limit=max(minutes),
    )[:n]
    st = _sample_times(graph, mg, dist)
    return [
        cells_polygon(graph.sample_xy[st <= m + TOL_MIN], cell_m=cell_m, buffer_m=buffer_m)
        for m in minutes
    ]


def service_isochrones(
    service_xy: np.ndarray,
    *,
    params: ReachParams,
    minutes: tuple[float, ...],
    graph: RoadGraph | None = None,
    cell_m: float | None = None,
    buffer_m: float | None = None,
    batch: int | None = None,
) -> list[list]:
    """Isochrone polygons of each service point: ``result[j][c]`` for cut-off ``minutes[c]``."""
    cell_m = settings.ISOCHRONE_CELL_M if cell_m is None else cell_m
    buffer_m = settings.ISOCHRONE_BUFFER_M if buffer_m is None else buffer_m
    batch = settings.REACH_BATCH_SOURCES if batch is None else batch
    service_xy = np.asarray(service_xy, float).reshape(-1, 2)
    ns = len(service_xy)
    if params.method == "straight":
        v = _mpm(params.effective_speed_kmh)
        pts = shapely.points(service_xy)
        return [[circles(p, m * v / params.detour) for m in minutes] for p in pts]
    mg, access, (s_nodes, s_d, s_ok) = _network_setup(graph, params, service_xy)
    out: list[list] = [[shapely.Polygon() for _ in minutes] for _ in range(ns)]
    ok_idx = np.flatnonzero(s_ok)
    if len(ok_idx) == 0:
        return out
    # incidence (node -> edges) and the contiguous sample range of every edge
    ne = graph.n_edges
    eidx = np.arange(ne)
    inc = csr_matrix(
        (np.ones(2 * ne, bool), (np.r_[graph.edge_u, graph.edge_v], np.r_[eidx, eidx])),
        shape=(graph.n_nodes, ne),
    )
    first = np.searchsorted(graph.sample_edge, eidx, side="left")
    last = np.searchsorted(graph.sample_edge, eidx, side="right")
    for idx, dist in _node_time_batches(
        mg, s_nodes[ok_idx], s_d[ok_idx] / access, max(minutes), batch
    ):
        for row, j in zip(dist, ok_idx[idx], strict=True):
            edges = np.unique(inc[np.flatnonzero(np.isfinite(row))].indices)
            if len(edges) == 0:
                continue
            counts = last[edges] - first[edges]
            starts = np.repeat(first[edges] - np.r_[0, np.cumsum(counts)[:-1]], counts)
            sub = starts + np.arange(counts.sum())
            e = graph.sample_edge[sub]
            f = graph.sample_frac[sub]
            tt = mg.edge_minutes[e]
            via_v = row[graph.edge_v[e]] + (1 - f) * tt
            via_u = row[graph.edge_u[e]] + f * tt
            if mg.mode == "drive":
                via_u = np.where(graph.oneway[e], np.inf, via_u)
            st = np.minimum(via_u, via_v)
            pts = graph.sample_xy[sub]
            out[j] = [
                cells_polygon(pts[st <= m + TOL_MIN], cell_m=cell_m, buffer_m=buffer_m)
                for m in minutes
            ]
    return out


def service_time_matrix(
    demand_xy: np.ndarray,
    service_xy: np.ndarray,
    *,
    params: ReachParams,
    max_minutes: float,
    graph: RoadGraph | None = None,
    batch: int | None = None,
) -> csr_matrix:
    """Sparse travel minutes (demand × service) for pairs within ``max_minutes``.

    Stored values are ``minutes + 1e-6`` so that a zero time stays a stored entry.
    """
    batch = settings.REACH_BATCH_SOURCES if batch is None else batch
    demand_xy = np.asarray(demand_xy, float).reshape(-1, 2)
    service_xy = np.asarray(service_xy, float).reshape(-1, 2)
    nd, ns = len(demand_xy), len(service_xy)
    if nd == 0 or ns == 0:
        return csr_matrix((nd, ns))
    if params.method == "straight":
        v = _mpm(params.effective_speed_kmh) / params.detour
        dm = cKDTree(demand_xy).sparse_distance_matrix(
            cKDTree(service_xy), max_distance=max_minutes * v, output_type="coo_matrix"
        )
        return csr_matrix((dm.data / v + 1e-6, (dm.row, dm.col)), shape=(nd, ns))
    mg, access, (s_nodes, s_d, s_ok) = _network_setup(graph, params, service_xy)
    d_nodes, d_d, d_ok = _snap(mg, demand_xy, params.max_snap_m)
    ok_idx = np.flatnonzero(s_ok)
    rows, cols, vals = [], [], []
    for idx, dist in _node_time_batches(
        mg, s_nodes[ok_idx], s_d[ok_idx] / access, max_minutes, batch
    ):
        t = dist[:, d_nodes] + (d_d / access)[None, :]
        hit = (t <= max_minutes + TOL_MIN) & d_ok[None, :]
        r, c = np.nonzero(hit)
        rows.append(c)
        cols.append(ok_idx[idx][r])
        vals.append(t[r, c] + 1e-6)
    if not rows:
        return csr_matrix((nd, ns))
    return csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nd, ns)
    )
