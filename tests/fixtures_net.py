"""Hand-checkable road-network fixtures made by the tests (no downloads)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import LineString

CRS = "EPSG:32651"
X0, Y0 = 350000.0, 3310000.0  # near Ningbo in UTM 51N


def grid_edges(nx: int = 11, ny: int = 11, spacing: float = 100.0, highway: str = "residential"):
    """A square grid of two-way roads, ``spacing`` metres apart, lower-left at (X0, Y0)."""
    lines, u, v = [], [], []

    def nid(i, j):
        return i * ny + j

    for i in range(nx):
        for j in range(ny):
            x, y = X0 + i * spacing, Y0 + j * spacing
            if i + 1 < nx:
                lines.append(LineString([(x, y), (x + spacing, y)]))
                u.append(nid(i, j))
                v.append(nid(i + 1, j))
            if j + 1 < ny:
                lines.append(LineString([(x, y), (x, y + spacing)]))
                u.append(nid(i, j))
                v.append(nid(i, j + 1))
    return gpd.GeoDataFrame(
        {"u": u, "v": v, "highway": highway, "oneway": False}, geometry=lines, crs=CRS
    )


def node_xy(i, j, spacing=100.0):
    return np.array([X0 + i * spacing, Y0 + j * spacing])


def write_osm_xml(path, *, lon0=121.60, lat0=29.90, n=4, step_deg=0.001):
    """A small OSM XML: an n×n grid of residential streets plus one one-way primary road.

    Node ids are 1..n*n; the primary road runs along the bottom row, one-way eastbound,
    and a footway crosses the grid diagonally (walk only).
    """
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']

    def nid(i, j):
        return 1 + i * n + j

    for i in range(n):
        for j in range(n):
            lines.append(
                f'<node id="{nid(i, j)}" version="1" lat="{lat0 + j * step_deg:.7f}" lon="{lon0 + i * step_deg:.7f}"/>'
            )
    wid = 100
    for j in range(1, n):  # horizontal streets except the bottom row
        refs = "".join(f'<nd ref="{nid(i, j)}"/>' for i in range(n))
        lines.append(f'<way id="{wid}" version="1">{refs}<tag k="highway" v="residential"/></way>')
        wid += 1
    for i in range(n):  # vertical streets
        refs = "".join(f'<nd ref="{nid(i, j)}"/>' for j in range(n))
        lines.append(f'<way id="{wid}" version="1">{refs}<tag k="highway" v="residential"/></way>')
        wid += 1
    refs = "".join(f'<nd ref="{nid(i, 0)}"/>' for i in range(n))
    lines.append(
        f'<way id="{wid}" version="1">{refs}<tag k="highway" v="primary"/>'
        '<tag k="oneway" v="yes"/><tag k="maxspeed" v="60"/></way>'
    )
    wid += 1
    refs = "".join(f'<nd ref="{nid(k, k)}"/>' for k in range(n))
    lines.append(f'<way id="{wid}" version="1">{refs}<tag k="highway" v="footway"/></way>')
    lines.append(
        '<way id="999" version="1"><nd ref="1"/><nd ref="2"/><tag k="building" v="yes"/></way>'
    )
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
