"""Road graphs for travel-time analysis (pure: arrays in, arrays out; no file I/O).

A :class:`RoadGraph` holds a road network in a metric CRS as flat NumPy arrays
(nodes, directed edges, lengths, road class, one-way flags, speed limits and
points sampled along each edge). :meth:`RoadGraph.mode_graph` turns it into a
sparse travel-time matrix (minutes) for one mode, restricted to the largest
connected component, ready for :mod:`scipy.sparse.csgraph`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

import settings
from layers.networks import NetworkError

__all__ = [
    "DEFAULT_SPEEDS_KMH",
    "DRIVE_SPEEDS_KMH",
    "MODES",
    "ModeGraph",
    "NetworkError",
    "RoadGraph",
    "build_road_graph",
]

#: Default speeds of the walk and bike modes (km/h).
DEFAULT_SPEEDS_KMH = settings.SPEEDS_KMH
MODES = ("walk", "bike", "drive")

#: Drive speed per OSM highway class when no ``maxspeed`` is given (km/h, urban China).
DRIVE_SPEEDS_KMH = {
    "motorway": 80.0,
    "motorway_link": 40.0,
    "trunk": 60.0,
    "trunk_link": 30.0,
    "primary": 45.0,
    "primary_link": 30.0,
    "secondary": 35.0,
    "secondary_link": 25.0,
    "tertiary": 30.0,
    "tertiary_link": 20.0,
    "unclassified": 25.0,
    "residential": 20.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 25.0,
}
_NO_WALK = {"motorway", "motorway_link", "trunk_link"}
_NO_DRIVE = {"footway", "path", "pedestrian", "steps", "cycleway", "bridleway", "corridor", "track"}
_NO_BIKE = {"motorway", "motorway_link", "steps"}


@dataclass(frozen=True)
class ModeGraph:
    """Travel-time graph of one mode.

    Attributes
    ----------
    mode : str
    speed_kmh : float or None
        Uniform speed (walk, bike); ``None`` for drive (speed per road class).
    matrix : scipy.sparse.csr_matrix
        ``matrix[i, j]`` = minutes from node i to node j along one edge.
    keep : numpy.ndarray
        Boolean mask of nodes in the largest connected component.
    tree : scipy.spatial.cKDTree
        KD-tree over the kept nodes (for snapping).
    kept_nodes : numpy.ndarray
        Node indices of the kept nodes (tree order).
    edge_minutes : numpy.ndarray
        Travel minutes of every edge (``inf`` where the mode may not use it).
    """

    mode: str
    speed_kmh: float | None
    matrix: csr_matrix
    keep: np.ndarray
    tree: cKDTree
    kept_nodes: np.ndarray
    edge_minutes: np.ndarray


@dataclass
class RoadGraph:
    """A directed road graph in a metric CRS.

    Undirected (two-way) roads appear as one edge with ``oneway=False``; the
    mode graph adds the reverse direction where the mode allows it.
    """

    crs: CRS
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    length_m: np.ndarray
    highway: np.ndarray
    oneway: np.ndarray
    maxspeed_kmh: np.ndarray
    sample_xy: np.ndarray
    sample_edge: np.ndarray
    sample_frac: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        """Number of (undirected or one-way) edges."""
        return len(self.edge_u)

    def arrays(self) -> dict[str, np.ndarray]:
        """The graph as plain arrays (for caching with ``numpy.savez``)."""
        return {
            "crs_wkt": np.array(self.crs.to_wkt()),
            "node_xy": self.node_xy,
            "edge_u": self.edge_u,
            "edge_v": self.edge_v,
            "length_m": self.length_m,
            "highway": self.highway.astype("U32"),
            "oneway": self.oneway,
            "maxspeed_kmh": self.maxspeed_kmh,
            "sample_xy": self.sample_xy,
            "sample_edge": self.sample_edge,
            "sample_frac": self.sample_frac,
        }

    @classmethod
    def from_arrays(cls, arrays) -> RoadGraph:
        """Rebuild a graph from :meth:`arrays` output (e.g. a loaded ``.npz``)."""
        return cls(
            crs=CRS.from_wkt(str(arrays["crs_wkt"])),
            node_xy=arrays["node_xy"],
            edge_u=arrays["edge_u"],
            edge_v=arrays["edge_v"],
            length_m=arrays["length_m"],
            highway=arrays["highway"],
            oneway=arrays["oneway"],
            maxspeed_kmh=arrays["maxspeed_kmh"],
            sample_xy=arrays["sample_xy"],
            sample_edge=arrays["sample_edge"],
            sample_frac=arrays["sample_frac"],
        )

    def edge_minutes(self, mode: str, *, speed_kmh: float | None = None) -> np.ndarray:
        """Minutes to traverse each edge in ``mode`` (``inf`` where not allowed)."""
        if mode not in MODES:
            raise NetworkError(f"未知出行方式 / unknown mode {mode!r}: use walk, bike or drive")
        hw = self.highway.astype(str)
        if mode in ("walk", "bike"):
            v = float(speed_kmh or DEFAULT_SPEEDS_KMH[mode])
            if not v > 0:
                raise NetworkError(f"速度必须为正 / speed_kmh must be positive, got {speed_kmh!r}")
            minutes = self.length_m / (v * 1000.0 / 60.0)
            banned = np.isin(hw, list(_NO_WALK if mode == "walk" else _NO_BIKE))
        else:
            cls_speed = np.array([DRIVE_SPEEDS_KMH.get(h, 0.0) for h in hw])
            v = np.where(
                np.isfinite(self.maxspeed_kmh) & (self.maxspeed_kmh > 0),
                self.maxspeed_kmh,
                cls_speed,
            )
            if speed_kmh is not None:  # a uniform override (e.g. congested conditions)
                v = np.where(v > 0, float(speed_kmh), 0.0)
            banned = np.isin(hw, list(_NO_DRIVE)) | (v <= 0)
            with np.errstate(divide="ignore"):
                minutes = self.length_m / (np.maximum(v, 1e-9) * 1000.0 / 60.0)
        return np.where(banned, np.inf, minutes)

    def mode_graph(self, mode: str, *, speed_kmh: float | None = None) -> ModeGraph:
        """Sparse travel-time matrix of ``mode``, cached per (mode, speed).

        Walk and bike ignore one-way restrictions; drive respects them. Only
        the largest (strongly, for drive) connected component is kept.
        """
        key = (mode, speed_kmh)
        if key in self._cache:
            return self._cache[key]
        minutes = self.edge_minutes(mode, speed_kmh=speed_kmh)
        ok = np.isfinite(minutes)
        u, v, w = self.edge_u[ok], self.edge_v[ok], np.maximum(minutes[ok], 1e-9)
        two_way = ~self.oneway[ok] if mode == "drive" else np.ones(ok.sum(), bool)
        rows = np.concatenate([u, v[two_way]])
        cols = np.concatenate([v, u[two_way]])
        data = np.concatenate([w, w[two_way]])
        n = self.n_nodes
        # parallel edges: keep the fastest (a plain csr_matrix would sum them)
        m = _min_duplicates(rows, cols, data, n)
        connection = "strong" if mode == "drive" else "weak"
        ncomp, labels = connected_components(m, directed=True, connection=connection)
        has_edge = np.zeros(n, bool)
        has_edge[rows] = True
        has_edge[cols] = True
        if ncomp == 0 or not has_edge.any():
            raise NetworkError(f"路网中没有可用于 {mode} 的道路 / no usable road for mode {mode!r}")
        counts = np.bincount(labels[has_edge], minlength=ncomp)
        keep = labels == int(np.argmax(counts))
        keep &= has_edge
        # drop edges that leave the component
        coo = m.tocoo()
        inside = keep[coo.row] & keep[coo.col]
        m = csr_matrix((coo.data[inside], (coo.row[inside], coo.col[inside])), shape=(n, n))
        kept_nodes = np.flatnonzero(keep)
        tree = cKDTree(self.node_xy[kept_nodes])
        mg = ModeGraph(
            mode=mode,
            speed_kmh=float(speed_kmh or DEFAULT_SPEEDS_KMH[mode])
            if mode != "drive"
            else speed_kmh,
            matrix=m,
            keep=keep,
            tree=tree,
            kept_nodes=kept_nodes,
            edge_minutes=minutes,
        )
        self._cache[key] = mg
        return mg


def _min_duplicates(rows, cols, data, n) -> csr_matrix:
    order = np.lexsort((data, cols, rows))
    r, c, d = rows[order], cols[order], data[order]
    first = np.ones(len(r), bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    return csr_matrix((d[first], (r[first], c[first])), shape=(n, n))


def _parse_maxspeed(values) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is None:
            continue
        s = str(v).strip().lower()
        if not s or s in ("nan", "none"):
            continue
        s = s.split(";")[0].split(",")[0].strip()
        mph = s.endswith("mph")
        num = "".join(ch for ch in s if ch.isdigit() or ch == ".")
        try:
            val = float(num)
        except ValueError:
            continue
        out[i] = val * 1.609344 if mph else val
    return out


def _nodes(e, start: np.ndarray, end: np.ndarray, snap_m: float):
    """``(node_xy, u, v)``: the edges' given node ids (``u``/``v`` columns), else their end
    points merged within ``snap_m``."""
    if "u" in e.columns and "v" in e.columns:
        ids = np.concatenate([e["u"].to_numpy(), e["v"].to_numpy()])
        uniq, inv = np.unique(ids.astype(str), return_inverse=True)
        node_xy = np.zeros((len(uniq), 2))
        node_xy[inv] = np.vstack([start, end])
        return node_xy, inv[: len(e)], inv[len(e) :]
    pts = np.vstack([start, end])
    keys = np.round(pts / snap_m).astype(np.int64)
    _uniq, idx, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    return pts[idx], inv[: len(e)], inv[len(e) :]


def _samples(geoms, length: np.ndarray, sample_m: float):
    """Points every ``sample_m`` along every edge, both ends included:
    ``(xy, edge index, fraction along the edge)``."""
    nseg = np.maximum(np.ceil(length / sample_m).astype(int), 1)
    edge_idx = np.repeat(np.arange(len(geoms)), nseg + 1)
    offs = np.arange(len(edge_idx)) - np.repeat(np.cumsum(nseg + 1) - (nseg + 1), nseg + 1)
    frac = offs / np.repeat(nseg, nseg + 1)
    spts = shapely.line_interpolate_point(geoms[edge_idx], frac, normalized=True)
    return shapely.get_coordinates(spts), edge_idx, frac


def build_road_graph(
    edges: gpd.GeoDataFrame,
    *,
    crs: CRS | str | int | None = None,
    sample_m: float | None = None,
    snap_m: float | None = None,
) -> RoadGraph:
    """Build a :class:`RoadGraph` from road edges.

    Parameters
    ----------
    edges : geopandas.GeoDataFrame
        LineStrings with optional ``u``/``v`` node ids, ``highway`` (class),
        ``oneway`` and ``maxspeed`` columns. Any CRS; it is projected to ``crs``.
        Without ``u``/``v``, nodes are the line end points merged within
        ``snap_m`` (the centreline data must be noded at junctions).
    crs : CRS, optional
        Metric CRS of the analysis (default: UTM zone from the data's extent).
    sample_m : float
        Spacing of points sampled along each edge for isochrone polygons.
    snap_m : float
        Tolerance for merging end points into nodes (metres).

    Raises
    ------
    NetworkError
        For an empty input, missing CRS or non-line geometries.
    """
    sample_m = settings.NETWORK_SAMPLE_M if sample_m is None else sample_m
    snap_m = settings.NETWORK_SNAP_M if snap_m is None else snap_m
    from layers.crs import choose_metric_crs

    if edges is None or len(edges) == 0:
        raise NetworkError("路网为空 / the road network has no edges")
    if edges.crs is None:
        raise NetworkError("路网缺少坐标系 / the road network has no CRS: set it before use")
    geoms = edges.geometry.values
    types = shapely.get_type_id(geoms)
    if not np.isin(types, [1, 5]).all():
        raise NetworkError("路网只能包含线 / the road network must hold LineStrings only")
    if crs is None:
        crs = choose_metric_crs(tuple(edges.to_crs(4326).total_bounds))
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        raise NetworkError(
            f"分析坐标系必须为米制投影 / analysis CRS must be projected, got {crs.name}"
        )
    e = edges.to_crs(crs)
    e = (
        e.explode(index_parts=False, ignore_index=True)
        if (types == 5).any()
        else e.reset_index(drop=True)
    )
    geoms = e.geometry.values
    length = shapely.length(geoms)
    start = shapely.get_coordinates(shapely.get_point(geoms, 0))
    end = shapely.get_coordinates(shapely.get_point(geoms, -1))
    node_xy, u, v = _nodes(e, start, end, snap_m)
    highway = (
        e["highway"].astype(str).str.split(",").str[0].str.strip("[]' ").to_numpy()
        if "highway" in e.columns
        else np.full(len(e), "road")
    )
    if "oneway" in e.columns:
        ow = e["oneway"].astype(str).str.lower().isin(["true", "yes", "1", "-1", "t"])
        oneway = ow.to_numpy()
        rev = e["oneway"].astype(str).eq("-1").to_numpy()
        u, v = np.where(rev, v, u), np.where(rev, u, v)
    else:
        oneway = np.zeros(len(e), bool)
    maxspeed = (
        _parse_maxspeed(e["maxspeed"].tolist())
        if "maxspeed" in e.columns
        else np.full(len(e), np.nan)
    )
    keep = (u != v) | (length > 0)
    sample_xy, edge_idx, frac = _samples(geoms, length, sample_m)
    return RoadGraph(
        crs=crs,
        node_xy=node_xy.astype(float),
        edge_u=u.astype(np.int64),
        edge_v=v.astype(np.int64),
        length_m=np.where(keep, length, 0.0).astype(float),
        highway=highway.astype("U32"),
        oneway=oneway.astype(bool),
        maxspeed_kmh=maxspeed,
        sample_xy=sample_xy,
        sample_edge=edge_idx.astype(np.int64),
        sample_frac=frac.astype(float),
    )
