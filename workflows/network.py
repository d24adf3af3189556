"""Road networks for the analyses: read (``layers.networks``), build (``geo.network``), cache.

The prepared graph is cached as ``.npz`` under ``CACHE_DIR`` (``$INNOMAP_CACHE``,
default ``cache/`` in the repository) keyed by the file's path, size and time.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from geo.network import RoadGraph, build_road_graph
from layers.networks import read_network_edges
from workflows.progress import ProgressFn

__all__ = [
    "CACHE_DIR",
    "add_network_file",
    "load_cached_graph",
    "load_network",
    "project_graph",
    "save_graph",
]

CACHE_DIR = Path(os.environ.get("INNOMAP_CACHE", Path(__file__).resolve().parents[1] / "cache"))


def _build(read, crs, on_progress: ProgressFn | None) -> RoadGraph:
    """``read(on_rows)`` the edges, reporting road rows read, then build the graph.

    ``on_progress(done, total)`` counts road rows (OSM ways / features; ``total`` 0
    while unknown); it ends at ``(n, n)`` before the graph is built, the step a page
    shows as building nodes and links.
    """
    edges = read(on_progress)
    graph = build_road_graph(edges, crs=crs)
    return graph


def _done(graph: RoadGraph, on_progress: ProgressFn | None) -> RoadGraph:
    """A graph ready at once (cached): one complete ``(edges, edges)`` report."""
    if on_progress is not None:
        on_progress(graph.n_edges, graph.n_edges)
    return graph


def _counted(edges, on_rows: ProgressFn | None):
    """Edges read in one step (a kept network's table): reported once, all read."""
    if on_rows is not None:
        on_rows(len(edges), len(edges))
    return edges


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    st = path.stat()
    h.update(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|v1".encode())
    return h.hexdigest()[:20]


def save_graph(graph: RoadGraph, path: str | Path) -> Path:
    """Write a prepared graph as ``.npz`` atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, suffix=".npz")
    os.close(fd)
    try:
        np.savez(tmp, **graph.arrays())
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p


def load_cached_graph(path: str | Path) -> RoadGraph:
    """Load a graph written by :func:`save_graph`."""
    with np.load(path, allow_pickle=False) as z:
        return RoadGraph.from_arrays({k: z[k] for k in z.files})


def load_network(
    path: str | Path,
    *,
    layer: str | None = None,
    crs=None,
    cache_dir: Path | None = None,
    on_progress: ProgressFn | None = None,
) -> RoadGraph:
    """Read and prepare a road network, using the prepared-graph cache when fresh.

    ``on_progress(done, total)`` counts the road rows read (see :func:`_build`); a
    cached graph reports only ``(edges, edges)`` at once.
    """
    p = Path(path)
    if p.suffix.lower() == ".npz":
        return _done(load_cached_graph(p), on_progress)
    cdir = cache_dir or CACHE_DIR
    cached = cdir / f"network-{_digest(p)}.npz" if p.exists() else None
    if cached is not None and cached.exists():
        g = load_cached_graph(cached)
        if crs is None or g.crs == crs:
            return _done(g, on_progress)
    graph = _build(lambda rows: read_network_edges(p, layer=layer, on_rows=rows), crs, on_progress)
    if cached is not None:
        try:
            save_graph(graph, cached)
        except OSError:
            pass  # a read-only checkout still works, just without the cache
    return graph


def project_graph(
    project, ref: str, *, cache_dir: Path | None = None, on_progress: ProgressFn | None = None
) -> RoadGraph:
    """The road graph named by ``ref``: a network kept in ``project`` or a network file.

    The graph is built in the project's metric CRS and cached as ``.npz`` (a kept
    network's table never changes: replacing it writes a new table).
    ``on_progress(done, total)``: see :func:`load_network`.
    """
    from layers.project import network_edges

    crs = project.metric_crs()
    if ref in project.networks:
        net = project.networks[ref]
        key = hashlib.sha256(f"{Path(project.ref).resolve()}|{net.table}|v1".encode()).hexdigest()[
            :20
        ]
        cached = (cache_dir or CACHE_DIR) / f"network-{key}.npz"
        if cached.exists():
            g = load_cached_graph(cached)
            if g.crs == crs:
                return _done(g, on_progress)
        graph = _build(lambda rows: _counted(network_edges(project, ref), rows), crs, on_progress)
        try:
            save_graph(graph, cached)
        except OSError:
            pass
        return graph
    return load_network(ref, crs=crs, cache_dir=cache_dir, on_progress=on_progress)


def add_network_file(
    project, path: str | Path, *, name: str | None = None, layer: str | None = None
):
    """Read a network file (OSM XML/PBF, GraphML, road centrelines) and keep it in ``project``."""
    from layers.project import add_network

    p = Path(path)
    edges = read_network_edges(p, layer=layer)
    stem = p.name.split(".")[0]
    return add_network(project, name=name or stem, edges=edges, source_file=p.name)
