"""Web-map layers and charts of analysis reports (no Streamlit: pages and exports share them)."""

from __future__ import annotations

import io

import geopandas as gpd
import matplotlib
import numpy as np
import shapely

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from layers.project import Project
from layers.registry import REGISTRY
from render.webmap import MapLayer

__all__ = [
    "CUT_COLORS",
    "HOT_COLORS",
    "area_bounds",
    "cluster_map_layers",
    "coverage_map_layers",
    "hotspot_map_layers",
    "kde_png",
    "outline_map_layers",
    "ripley_figure",
]

HOT_COLORS = {
    "hot_99": "#d7191c",
    "hot_95": "#f46d43",
    "hot_90": "#fdae61",
    "not_significant": "#eeeeee",
    "cold_90": "#abd9e9",
    "cold_95": "#74add1",
    "cold_99": "#2c7bb6",
}


def _t(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def outline_map_layers(project: Project, lang: str = "zh") -> list[MapLayer]:
    """The project's districts and zones as (non-clickable) outline layers."""
    out = []
    for kind in ("districts", "zones"):
        g = project.kind_frame(kind)
        if len(g):
            spec = REGISTRY[kind]
            out.append(MapLayer(kind, spec.name(lang), g, spec.color, "polygon", kind=kind))
    return out


def area_bounds(area, crs) -> tuple[float, float, float, float]:
    """WGS84 bounds of a metric geometry (to frame a map)."""
    return tuple(gpd.GeoSeries([area], crs=crs).to_crs(4326).total_bounds)


def cluster_map_layers(project: Project, report, lang: str = "zh") -> list[MapLayer]:
    """Outlines, cluster hulls, noise and clustered points of a clusters report."""
    lab = report.layers["points"]
    hulls = report.layers["clusters"].to_crs(4326)
    if len(hulls):
        hulls["name"] = hulls["label"] + " #" + hulls["id"].astype(str)
    fields = ("id", "name", "kind", "subtype", "cluster", "synthetic")
    return [
        *outline_map_layers(project, lang),
        MapLayer(
            "hulls",
            _t(lang, "簇范围(凹包)", "Cluster hulls"),
            hulls,
            "#e6550d",
            "polygon",
            fields=("name", "size", "label", "area_km2", "density_per_km2", "zone", "district"),
            style={"fillOpacity": 0.25, "weight": 2},
        ),
        MapLayer(
            "noise",
            _t(lang, "噪声点", "Noise"),
            lab[lab["cluster"] < 0].to_crs(4326),
            "#999999",
            "point",
            fields=fields,
        ),
        MapLayer(
            "clustered",
            _t(lang, "簇内点", "Clustered points"),
            lab[lab["cluster"] >= 0].to_crs(4326),
            "#e6550d",
            "point",
            fields=fields,
        ),
    ]


def hotspot_map_layers(project: Project, report, lang: str = "zh") -> list[MapLayer]:
    """Outlines and significant Gi* cells of a hot-spot report."""
    cells = report.layers["cells"]
    sig = cells[cells["hotspot_class"] != "not_significant"].to_crs(4326)
    sig["name"] = sig["hotspot_class"]
    return [
        *outline_map_layers(project, lang),
        MapLayer(
            "hex",
            _t(lang, "热点/冷点格网", "Hot/cold cells"),
            sig,
            "#d7191c",
            "polygon",
            fields=("name", "count", "gi_z", "gi_p", "gi_p_fdr"),
            style={
                "fillOpacity": 0.6,
                "weight": 0.5,
                "colorField": "name",
                "colorMap": HOT_COLORS,
                "lineColor": "#666666",
            },
        ),
    ]


def kde_png(surface) -> tuple[bytes, tuple[float, float, float, float], object]:
    """PNG of a KDE surface and its metric bounds."""
    d = surface.density
    d = np.ma.masked_less_equal(d, d.max() * 0.02 if d.max() > 0 else 0)
    buf = io.BytesIO()
    plt.imsave(buf, d, cmap="YlOrRd", format="png")
    return buf.getvalue(), surface.bounds, shapely.box(*surface.bounds)


def ripley_figure(rl: dict, *, lang: str = "zh"):
    """Matplotlib figure of L(d) − d with the CSR envelope."""
    from render.fonts import cjk_font

    fig, ax = plt.subplots(figsize=(5, 3.5))
    font = cjk_font()
    ax.fill_between(
        rl["distances"],
        rl["env_low"] - rl["distances"],
        rl["env_high"] - rl["distances"],
        color="#cccccc",
        label=_t(lang, "CSR 包络 (99 次)", "CSR envelope (99)"),
    )
    ax.plot(rl["distances"], rl["L_minus_d"], color="#d62728", label="L(d) − d")
    ax.axhline(0, color="#555", lw=0.8)
    ax.set_xlabel(_t(lang, "距离 d (米)", "distance d (m)"), fontproperties=font)
    ax.set_ylabel("L(d) − d (m)")
    ax.set_title(f"{rl['kind']}  n={rl['n']}", fontproperties=font)
    ax.legend(prop=font)
    return fig


CUT_COLORS = ("#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59")


def coverage_map_layers(project: Project, report, lang: str = "zh") -> list[MapLayer]:
    """Outlines, blind spots, service areas by cut-off, covered/uncovered demand, services."""
    res = report.result
    ml = outline_map_layers(project, lang)
    blind = res.blind_spots.to_crs(4326).iloc[[-1]].copy()
    blind["name"] = _t(
        lang, f"盲区(>{res.minutes[-1]:g} 分钟)", f"Blind spots (> {res.minutes[-1]:g} min)"
    )
    ml.append(
        MapLayer(
            "blind",
            blind["name"].iloc[0],
            blind,
            "#7f7f7f",
            "polygon",
            fields=("name", "minutes"),
            style={"fillOpacity": 0.25, "weight": 0.5},
        )
    )
    areas = res.coverage_areas.to_crs(4326)
    for i in range(len(areas) - 1, -1, -1):
        a = areas.iloc[[i]].copy()
        m = a["minutes"].iloc[0]
        a["name"] = _t(lang, f"{m:g} 分钟服务圈", f"{m:g}-min service area")
        ml.append(
            MapLayer(
                f"area_{i}",
                a["name"].iloc[0],
                a,
                CUT_COLORS[i % len(CUT_COLORS)],
                "polygon",
                fields=("name", "minutes", "label"),
                style={"fillOpacity": 0.3, "weight": 1},
            )
        )
    dem = res.demand.to_crs(4326)
    last = f"covered_{res.minutes[-1]:g}"
    fields = ("id", "name", "subtype", "district", "travel_min", "nearest_service_id", "synthetic")
    ml.append(
        MapLayer(
            "uncovered",
            _t(lang, "未覆盖需求", "Not covered"),
            dem[~dem[last]],
            "#d7191c",
            "point",
            fields=fields,
        )
    )
    ml.append(
        MapLayer(
            "covered",
            _t(lang, "已覆盖需求", "Covered"),
            dem[dem[last]],
            "#2b83ba",
            "point",
            fields=fields,
        )
    )
    ml.append(
        MapLayer(
            "services",
            _t(lang, "服务点", "Service points"),
            report.inputs["services"].to_crs(4326),
            "#6a3d9a",
            "point",
            style={"radius": 7, "cluster": False},
        )
    )
    return ml


GAP_COLORS = {"1": "#b10026", "2": "#e31a1c", "3": "#fc4e2a", "4": "#fd8d3c", "5": "#feb24c"}


def siting_map_layers(project: Project, report, lang: str = "zh") -> list[MapLayer]:
    """Outlines, ranked gaps, catchments, existing and recommended sites of a siting report."""
    res = report.result
    gaps = res.gaps.head(200).to_crs(4326)
    gaps["name"] = _t(lang, "缺口排名 ", "gap rank ") + gaps["gap_rank"].astype(str)
    gaps["tier"] = np.minimum(5, 1 + (gaps["gap_rank"] - 1) // 40).astype(str)
    sel = res.selected.to_crs(4326)
    sel["name"] = _t(lang, "推荐新址 #", "new site #") + sel["rank"].astype(str)
    catch = res.catchments.to_crs(4326)
    catch["name"] = _t(lang, "服务范围 #", "catchment #") + catch["rank"].astype(str)
    return [
        *outline_map_layers(project, lang),
        MapLayer(
            "gaps",
            _t(lang, "覆盖缺口(前200格)", "Coverage gaps (top 200 cells)"),
            gaps,
            "#e31a1c",
            "polygon",
            fields=("name", "demand", "unserved", "unserved_share", "access_2sfca"),
            style={
                "fillOpacity": 0.45,
                "weight": 0.3,
                "colorField": "tier",
                "colorMap": GAP_COLORS,
            },
        ),
        MapLayer(
            "catch",
            _t(lang, "新址服务范围", "New sites' catchments"),
            catch,
            "#2c7fb8",
            "polygon",
            fields=("name", "minutes"),
            style={"fillOpacity": 0.12, "weight": 1.5},
        ),
        MapLayer(
            "existing",
            _t(lang, "现有孵化器", "Existing incubators"),
            report.inputs["existing"].to_crs(4326),
            REGISTRY["incubators"].color,
            "point",
        ),
        MapLayer(
            "new",
            _t(lang, "推荐新址", "Recommended sites"),
            sel,
            "#08519c",
            "point",
            fields=("name", "id", "marginal_gain", "newly_covered_weight"),
            style={"radius": 9},
        ),
    ]


def whatif_map_layers(project: Project, sites: list[dict], clicked: list, lang: str = "zh"):
    """Outlines (not clickable, so every click reaches the map), scenario sites, clicked candidates."""
    import pandas as pd

    outlines = outline_map_layers(project, lang)
    for m in outlines:
        m.style = {**(m.style or {}), "interactive": False}
    df = pd.DataFrame(list(sites), columns=["id", "name", "lon", "lat", "kind"])
    g = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326)
    ml = [
        *outlines,
        MapLayer(
            "sites",
            _t(lang, "情景孵化器", "Scenario incubators"),
            g,
            REGISTRY["incubators"].color,
            "point",
            fields=("id", "name", "kind"),
            style={"cluster": False},
        ),
    ]
    if clicked:
        cg = gpd.GeoDataFrame(
            {
                "id": [f"click{i + 1}" for i in range(len(clicked))],
                "name": _t(lang, "候选点", "candidate"),
            },
            geometry=gpd.points_from_xy([p[0] for p in clicked], [p[1] for p in clicked]),
            crs=4326,
        )
        ml.append(
            MapLayer(
                "clicked",
                _t(lang, "点选候选点", "Clicked candidates"),
                cg,
                "#41ab5d",
                "point",
                fields=("id", "name"),
            )
        )
    return ml
