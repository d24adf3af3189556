"""A tiny 连云港 project with hand-checkable geometry, for the report/profile/synthetic tests.

Everything is placed in metres east/north of ``LON0, LAT0`` (海州区) in the
project's metric CRS:

* enterprises ``E1…E3`` at 200, 500, 1000 m east; ``N1…N3`` 3 km north
  (employees 10, 20, 30, 40, 40, 40);
* one science venue ``S1`` and one real incubator ``I1`` at the origin;
* one *synthetic* maker space ``M1`` 3 km north (it would cover N1…N3);
* a zone ``测试片区`` (300 m around the eastern row) and a corridor axis
  ``测试走廊轴线`` from 400 m west to 2,600 m east (3 km, so 500 m bins give 6;
  the origin is 400 m along it, E1 600 m, E2 900 m, E3 1,400 m).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from layers.project import ProjectLayer, add_layer, create_project, open_project
from layers.registry import REGISTRY, normalise_columns

LON0, LAT0 = 119.17, 34.60
ZONE = "测试片区"
AXIS = "测试走廊轴线"
DEMAND = [
    ("E1", 200, 0, 10),
    ("E2", 500, 0, 20),
    ("E3", 1000, 0, 30),
    ("N1", 0, 3000, 40),
    ("N2", 50, 3000, 40),
    ("N3", -50, 3000, 40),
]


def lonlat(project, east: float, north: float) -> tuple[float, float]:
    crs = project.metric_crs()
    p0 = gpd.GeoSeries([shapely.Point(LON0, LAT0)], crs=4326).to_crs(crs).iloc[0]
    q = gpd.GeoSeries([shapely.Point(p0.x + east, p0.y + north)], crs=crs).to_crs(4326).iloc[0]
    return q.x, q.y


def _points(project, kind: str, rows, *, subtype: str, synthetic=False, weight=None):
    spec = REGISTRY[kind]
    xy = [lonlat(project, e, n) for _, e, n, *_ in rows]
    synth = synthetic if isinstance(synthetic, list) else [synthetic] * len(rows)
    df = pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [f"单位{r[0]}" for r in rows],
            "kind": spec.kind,
            "subtype": subtype,
            "level": "未核实",
            "address": "连云港市海州区",
            "source": "test",
            "coord_source": "test survey",
            "coord_precision_m": [10.0 * (i + 1) for i in range(len(rows))],
            "synthetic": synth,
            "as_of": "2026",
            **({weight: [r[3] for r in rows]} if weight else {}),
        }
    )
    gdf = gpd.GeoDataFrame(df, geometry=[shapely.Point(x, y) for x, y in xy], crs=4326).reset_index(
        drop=True
    )
    return normalise_columns(gdf, spec)


def make_project(folder, *, synthetic_enterprises: bool = False):
    """Create the tiny project in ``folder`` (``p.gpkg``) and return it opened."""
    p = create_project(folder / "p.gpkg", name="测试项目", city="连云港市", counties=["海州区"])
    layers = [
        (
            "企业",
            "enterprises",
            _points(
                p,
                "enterprises",
                DEMAND,
                subtype="高新技术企业",
                synthetic=synthetic_enterprises,
                weight="employees",
            ),
            "企业名单.csv",
        ),
        (
            "科普场馆",
            "science_venues",
            _points(p, "science_venues", [("S1", 0, 0)], subtype="专业场馆"),
            "场馆.csv",
        ),
        (
            "孵化器",
            "incubators",
            _points(
                p,
                "incubators",
                [("I1", 0, 0), ("M1", 0, 3000)],
                subtype="众创空间",
                synthetic=[False, True],
            ),
            "孵化器.csv",
        ),
    ]
    for name, kind, gdf, src in layers:
        add_layer(p, ProjectLayer(name=name, kind=kind, gdf=gdf, source_file=src))
    sw, ne = lonlat(p, -300, -300), lonlat(p, 1300, 300)
    zone = gpd.GeoDataFrame(
        {"id": ["Z1"], "name": [ZONE], "subtype": ["开发区"], "source": ["test"]},
        geometry=[shapely.box(sw[0], sw[1], ne[0], ne[1])],
        crs=4326,
    )
    add_layer(
        p,
        ProjectLayer(
            name="开发区",
            kind="zones",
            gdf=normalise_columns(zone, REGISTRY["zones"]),
            source_file="zone.geojson",
        ),
    )
    a, b = lonlat(p, -400, 0), lonlat(p, 2600, 0)
    axis = gpd.GeoDataFrame(
        {"id": ["A1"], "name": [AXIS], "subtype": ["轴线"], "source": ["test"]},
        geometry=[shapely.LineString([a, b])],
        crs=4326,
    )
    add_layer(
        p,
        ProjectLayer(
            name="走廊轴线",
            kind="corridor_axes",
            gdf=normalise_columns(axis, REGISTRY["corridor_axes"]),
            source_file="axis.geojson",
        ),
    )
    return open_project(p.ref)
