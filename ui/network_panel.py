"""Road-network choice shared by the coverage and siting pages.

A network is a reference the workflows understand (``workflows.network.project_graph``):
the name of a network kept in the project, or a network file on the server. Every
upload is written to a private temporary folder that is removed when its read ends.
An editor's upload is kept in a writable project (provenance: the original file name),
within the project's quota of edges (``settings.PROJECT_NETWORK_EDGES_MAX``); a viewer's
(or the read-only demo's) keeps only its prepared graph (``.npz`` by content digest)
under ``CACHE_DIR/uploads``, a folder held under ``settings.UPLOAD_CACHE_MAX_MB``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

import settings
from layers import auth
from layers.project import Project
from ui.common import T, guarded, md_text
from ui.progress import ProgressBar, was_cancelled
from ui.state import refresh_project
from ui.uploads import upload_ok
from workflows.network import CACHE_DIR, project_graph

__all__ = ["network_controls"]

NETWORK_SUFFIXES = (".osm.pbf", ".osm", ".pbf", ".graphml", ".gpkg", ".zip", ".npz")
_MB = 1024 * 1024


@contextmanager
def _upload_file(up, suffix: str):
    """The upload as a file in a private temporary folder (mode 0700), removed — with
    whatever was made next to it — when the block ends. Yields ``(path, sha256 hex)``.
    The file is named ``upload<suffix>`` (the user's file name is kept as provenance only)."""
    with tempfile.TemporaryDirectory(prefix="innomap-upload-") as d:
        path = Path(d) / f"upload{suffix}"
        digest = hashlib.sha256()
        up.seek(0)
        with open(path, "wb") as fh:
            while chunk := up.read(1 << 20):
                digest.update(chunk)
                fh.write(chunk)
        yield path, digest.hexdigest()


def _uploads_dir() -> Path:
    from workflows import network

    return network.CACHE_DIR / "uploads"


def _make_room(folder: Path, *, incoming_bytes: int, max_mb: float) -> None:
    """Remove the oldest files of ``folder`` until ``incoming_bytes`` more fit in ``max_mb``."""
    files = []
    for f in folder.glob("*"):
        try:
            st_ = f.stat()
        except OSError:
            continue
        files.append((st_.st_mtime, st_.st_size, f))
    total = sum(size for _, size, _ in files) + incoming_bytes
    for _, size, f in sorted(files, key=lambda x: x[0]):
        if total <= max_mb * _MB:
            break
        f.unlink(missing_ok=True)
        total -= size


def _read_temporary(project: Project, up, suffix: str) -> str | None:
    """A viewer's (or the demo's) upload: read from a temporary file that is removed when the
    read ends; only the prepared graph is kept (``.npz``, by content digest) in the uploads
    folder, which stays under ``settings.UPLOAD_CACHE_MAX_MB``."""
    from workflows.network import load_cached_graph, save_graph

    folder = _uploads_dir()
    with _upload_file(up, suffix) as (path, digest):
        key = hashlib.sha256(f"{digest}|{project.metric_epsg}|v1".encode()).hexdigest()[:24]
        target = folder / f"{key}.npz"
        if target.exists():
            try:
                load_cached_graph(target)
            except (OSError, ValueError, KeyError):
                target.unlink(missing_ok=True)
            else:
                os.utime(target)  # recently used: removed last
                return str(target)
        with ProgressBar(
            T("正在读取上传的路网", "Reading the uploaded network"),
            key="net_upload_progress",
            unit=T("条道路已读", "road rows read"),
            lazy=True,
        ) as bar:
            graph = guarded(
                bar.run,
                lambda progress: project_graph(
                    project, str(path), cache_dir=path.parent, on_progress=progress
                ),
            )
    if graph is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    size = sum(int(getattr(a, "nbytes", 0)) for a in graph.arrays().values())
    _make_room(folder, incoming_bytes=size, max_mb=settings.UPLOAD_CACHE_MAX_MB)
    save_graph(graph, target)
    return str(target)


def _keep_in_project(project: Project, up, name: str, suffix: str) -> str | None:
    """An editor's upload: read from a temporary file (removed when the read ends) and kept
    in the project, within the project's quota of network edges."""
    from layers.networks import read_network_edges
    from layers.project import add_network

    with _upload_file(up, suffix) as (path, _digest):
        edges = guarded(read_network_edges, path)
    if edges is None:
        return None
    kept = sum(n.edges for n in project.networks.values())
    quota = settings.PROJECT_NETWORK_EDGES_MAX
    if kept + len(edges) > quota:
        shown = md_text(name)
        st.error(
            T(
                f"{shown}: {len(edges):,} 条路段, 项目已有 {kept:,} 条, 超过配额 {quota:,} 条, 未保存; "
                "请删除不用的路网或用 python cli.py project add-network 加入。",
                f"{shown}: {len(edges):,} edges with the project's {kept:,} would pass the quota of "
                f"{quota:,} edges and were not kept: remove networks not in use, or add it with "
                "python cli.py project add-network.",
            )
        )
        return None
    net = guarded(
        add_network, project, name=name[: -len(suffix)] or name, edges=edges, source_file=name
    )
    if net is None:
        return None
    refresh_project()
    return net.name


def _keep_upload(project: Project, up) -> str | None:
    name = Path(up.name).name
    suffix = next((s for s in NETWORK_SUFFIXES if name.lower().endswith(s)), None)
    if suffix is None:
        shown = md_text(name)
        st.error(T(f"不支持的路网格式: {shown}", f"Unsupported network format: {shown}"))
        return None
    fix = (
        "请裁剪到项目范围, 或用 python cli.py project add-network 加入",
        "clip it to the project area, or add it with python cli.py project add-network",
    )
    if not upload_ok(up, max_mb=settings.NETWORK_UPLOAD_MAX_MB, fix=fix):
        return None  # refused before its bytes are read
    if not project.read_only and auth.can("editor"):
        return _keep_in_project(project, up, name, suffix)
    return _read_temporary(project, up, suffix)


def _osm_fetch(project: Project) -> str | None:
    if was_cancelled("osm_progress"):
        st.info(T("已取消下载 OSM 路网。", "The OSM download was cancelled."))
    if not st.button(
        T("从 OpenStreetMap 在线获取路网(需联网)", "Fetch the network from OSM (online)"),
        key="cov_fetch",
    ):
        return None
    import osmnx as ox

    w, s, e, n = project.bounds()
    mode = st.session_state.get("cov_mode", "walk")
    target = CACHE_DIR / f"osm-{mode}-{w:.3f}-{s:.3f}-{e:.3f}-{n:.3f}.graphml"

    def fetch(_progress) -> None:
        g = ox.graph_from_bbox((w - 0.01, s - 0.01, e + 0.01, n + 0.01), network_type=mode)
        target.parent.mkdir(parents=True, exist_ok=True)
        ox.save_graphml(g, target)

    try:
        if not target.exists():  # a download gives no counts: the seconds, and a cancel
            with ProgressBar(
                T("正在下载 OSM 路网", "Downloading the OSM network"), key="osm_progress"
            ) as bar:
                bar.run(fetch)
    except Exception as exc:
        st.error(
            T(
                f"无法获取 OSM 路网(可能未联网): {type(exc).__name__}",
                f"Could not fetch the OSM network (offline?): {type(exc).__name__}",
            )
        )
        return None
    return str(target)


def network_controls(project: Project):
    """Widgets to choose or load a road network; returns ``(network_ref, graph)`` or ``(None, None)``."""
    names = list(project.networks)
    pick = (
        st.selectbox(
            T("项目路网", "Project network"),
            ["", *names],
            format_func=lambda n: n or T("(不使用)", "(none)"),
            key="net_pick",
        )
        if names
        else ""
    )
    up = st.file_uploader(
        T("加载路网文件(可选)", "Load a road network (optional)"),
        type=["osm", "pbf", "graphml", "gpkg", "zip", "npz"],
        key="cov_network",
        help=T(
            "OSM XML/PBF、GraphML、道路中心线 GeoPackage 或压缩 Shapefile。未加载路网时使用直线距离近似法。",
            "OSM XML/PBF, GraphML, road centrelines. Without a network the straight-line approximation is used.",
        ),
    )
    ref = pick or None
    if up is not None and st.session_state.get("net_upload_name") != up.name:
        ref = _keep_upload(project, up)
        st.session_state["net_upload_name"] = up.name
        st.session_state["cov_osm_path"] = ref
    fetched = _osm_fetch(project)
    if fetched:
        st.session_state["cov_osm_path"] = fetched
    ref = ref or st.session_state.get("cov_osm_path")
    if not ref:
        return None, None
    if was_cancelled("net_progress"):
        st.session_state["net_cancelled"] = ref
    if st.session_state.get("net_cancelled") == ref:
        st.info(T("已取消读取此路网 (使用直线距离近似法)。", "Reading this network was cancelled."))
        if not st.button(T("重新读取路网", "Read the network again"), key="net_retry"):
            return None, None
        st.session_state.pop("net_cancelled", None)
    with ProgressBar(
        T("正在准备路网(仅首次)", "Preparing the network (first time)"),
        key="net_progress",
        unit=T("条道路已读", "road rows read"),
        lazy=True,
        after=T("构建节点与路段、写入缓存…", "building nodes and links, writing the cache…"),
    ) as bar:
        graph = guarded(bar.run, lambda progress: project_graph(project, ref, on_progress=progress))
    if graph is None:
        return None, None
    st.caption(
        T(
            f"路网: {graph.n_nodes:,} 个节点, {graph.n_edges:,} 条路段",
            f"Network: {graph.n_nodes:,} nodes, {graph.n_edges:,} edges",
        )
    )
    st.session_state["network_ref"] = ref  # shared with the siting page
    st.session_state["network_graph"] = graph
    return ref, graph
