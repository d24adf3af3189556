"""Road-network readers and the prepared-graph cache (file I/O lives here, not in geo/).

Formats: OSM XML (``.osm``) and OSM PBF (``.pbf``) via pyosmium, GraphML (osmnx),
and road-centreline GeoPackage/Shapefile (optional ``highway``/class, ``oneway``
and ``maxspeed`` fields). Everything becomes an edge GeoDataFrame (WGS84) and
built into a :class:`geo.network.RoadGraph` by :mod:`workflows.network`, which
caches it as ``.npz`` so a large network loads in well under a second on later starts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
from shapely.geometry import LineString

from layers.errors import InnoMapError

__all__ = ["ROWS_STEP", "NetworkError", "RowsFn", "read_network_edges"]


class NetworkError(InnoMapError):
    """Raised for unusable road networks or reach inputs; the message names the fix."""


#: ``on_rows(read, total)``: road rows (ways or features) read so far; ``total`` 0 when unknown.
RowsFn = Callable[[int, int], None]

#: Rows between two ``on_rows`` calls (and the chunk of a chunked feature read).
ROWS_STEP = 50_000

_CLASS_COLUMNS = ("highway", "fclass", "class", "road_class", "type", "等级", "道路等级")


def _read_osm(path: Path, on_rows: RowsFn | None = None) -> gpd.GeoDataFrame:
    import osmium

    ways = []
    try:
        fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
        for w in fp:
            if not w.is_way():
                continue
            hw = w.tags.get("highway")
            if not hw:
                continue
            if on_rows is not None and len(ways) % ROWS_STEP == ROWS_STEP - 1:
                on_rows(len(ways) + 1, 0)  # the number of ways is known only at the end
            located = [n for n in w.nodes if n.location.valid()]
            refs = [n.ref for n in located]
            coords = [(n.location.lon, n.location.lat) for n in located]
            if len(refs) >= 2:
                ways.append(
                    (refs, coords, hw, w.tags.get("oneway", "no"), w.tags.get("maxspeed", ""))
                )
    except RuntimeError as exc:
        raise NetworkError(
            f"{path.name}: 无法读取 OSM 文件 / cannot read OSM data ({exc})"
        ) from None
    if not ways:
        raise NetworkError(f"{path.name}: 没有道路 (highway=*) / no highway ways in the file")
    return _split_at_junctions(ways)


def _split_at_junctions(ways: list) -> gpd.GeoDataFrame:
    """One edge per stretch of a way between junctions (nodes used twice or more)."""
    use = {}
    for refs, *_ in ways:
        for r in refs:
            use[r] = use.get(r, 0) + 1
        use[refs[0]] = use.get(refs[0], 0) + 1
        use[refs[-1]] = use.get(refs[-1], 0) + 1
    rows = {"u": [], "v": [], "highway": [], "oneway": [], "maxspeed": [], "geometry": []}
    for refs, coords, hw, ow, ms in ways:
        start = 0
        for k in range(1, len(refs)):
            if use[refs[k]] > 1 or k == len(refs) - 1:
                rows["u"].append(refs[start])
                rows["v"].append(refs[k])
                rows["highway"].append(hw)
                rows["oneway"].append(ow)
                rows["maxspeed"].append(ms)
                rows["geometry"].append(LineString(coords[start : k + 1]))
                start = k
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def _read_graphml(path: Path) -> gpd.GeoDataFrame:
    import osmnx as ox

    try:
        g = ox.load_graphml(path)
    except Exception as exc:  # osmnx/networkx raise many types for bad files
        raise NetworkError(
            f"{path.name}: 无法读取 GraphML / cannot read GraphML ({type(exc).__name__})"
        ) from None
    edges = ox.graph_to_gdfs(g, nodes=False).reset_index()
    keep = [
        c for c in ("u", "v", "highway", "oneway", "maxspeed", "geometry") if c in edges.columns
    ]
    edges = edges[keep]
    if "highway" in edges:
        edges["highway"] = edges["highway"].map(lambda h: h[0] if isinstance(h, list) else h)
    if "maxspeed" in edges:
        edges["maxspeed"] = edges["maxspeed"].map(lambda m: m[0] if isinstance(m, list) else m)
    return gpd.GeoDataFrame(edges, geometry="geometry", crs=g.graph.get("crs", "EPSG:4326"))


def _read_chunked(path: Path, layer: str | None, on_rows: RowsFn | None) -> gpd.GeoDataFrame:
    """All features, in chunks of :data:`ROWS_STEP` with ``on_rows`` after each when the
    count is known and large (one read otherwise)."""
    import pandas as pd
    import pyogrio

    info = pyogrio.read_info(path, layer=layer)
    total = int(info.get("features") or -1)
    random_access = info.get("driver") in ("GPKG", "ESRI Shapefile")  # others rescan per chunk
    if on_rows is None or total <= ROWS_STEP or not random_access:
        return pyogrio.read_dataframe(path, layer=layer)
    parts = []
    for start in range(0, total, ROWS_STEP):
        parts.append(
            pyogrio.read_dataframe(path, layer=layer, skip_features=start, max_features=ROWS_STEP)
        )
        on_rows(min(start + ROWS_STEP, total), total)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)


def _read_lines(path: Path, layer: str | None, on_rows: RowsFn | None = None) -> gpd.GeoDataFrame:
    try:
        gdf = _read_chunked(path, layer, on_rows)
    except Exception as exc:  # pyogrio raises DataSourceError/DataLayerError etc.
        raise NetworkError(
            f"{path.name}: 无法读取路网文件 / cannot read the road file ({type(exc).__name__})"
        ) from None
    if gdf.crs is None:
        raise NetworkError(
            f"{path.name}: 缺少坐标系 (.prj) / the file has no CRS: add a .prj or convert it"
        )
    cols = {c.lower(): c for c in gdf.columns}
    for cand in _CLASS_COLUMNS:
        if cand in cols and "highway" not in gdf.columns:
            gdf = gdf.rename(columns={cols[cand]: "highway"})
    out = gdf[[c for c in ("highway", "oneway", "maxspeed") if c in gdf.columns] + ["geometry"]]
    return out[~out.geometry.isna()].reset_index(drop=True)


def read_network_edges(
    path: str | Path, *, layer: str | None = None, on_rows: RowsFn | None = None
) -> gpd.GeoDataFrame:
    """Read road edges from an OSM XML/PBF, GraphML, GeoPackage or Shapefile path.

    ``on_rows(read, total)`` is called every :data:`ROWS_STEP` road rows (OSM ways,
    features; ``total`` 0 while unknown) and once at the end with the edges made.

    Raises
    ------
    NetworkError
        Naming the file and the problem (unknown format, unreadable, no roads).
    """
    p = Path(path)
    if not p.exists():
        raise NetworkError(f"{p.name}: 文件不存在 / file not found")
    suffix = (
        "".join(p.suffixes[-2:]).lower()
        if p.name.lower().endswith(".osm.pbf")
        else p.suffix.lower()
    )
    if suffix in (".osm", ".xml", ".pbf", ".osm.pbf"):
        edges = _read_osm(p, on_rows)
    elif suffix == ".graphml":
        edges = _read_graphml(p)
    elif suffix in (".gpkg", ".shp", ".geojson", ".zip"):
        edges = _read_lines(p, layer, on_rows)
    else:
        raise NetworkError(
            f"{p.name}: 不支持的路网格式 / unsupported network format {suffix!r}: "
            "use .osm, .osm.pbf, .graphml, .gpkg or .shp"
        )
    if on_rows is not None:
        on_rows(len(edges), len(edges))
    return edges
