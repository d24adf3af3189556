"""Map exports shared by the CLI and the app: base maps, analysis maps, series, HTML."""

from __future__ import annotations

import json

import numpy as np
import shapely

from export.printmap import PrintLayer, render_print_map
from layers.crs import to_metric
from layers.registry import REGISTRY, load_layer
from layers.resolve import resolve_layer

__all__ = [
    "ANALYSES",
    "analysis_layers",
    "base_layers",
    "cluster_print_layers",
    "coverage_print_layers",
    "export_html",
    "export_map",
    "series_items",
]

ANALYSES = ("coverage", "clusters", "hotspots", "site")
POINT_STYLE = {
    "enterprises": {"size": 3, "zorder": 3},
    "communities": {"size": 5, "zorder": 3},
    "science_venues": {"size": 7, "zorder": 4},
    "incubators": {"size": 20, "zorder": 6},
    "universities": {"size": 24, "zorder": 7},
    "platforms": {"size": 20, "zorder": 7},
}
HOT = {
    "hot_99": ("#d7191c", "热点 99%"),
    "hot_95": ("#f46d43", "热点 95%"),
    "hot_90": ("#fdae61", "热点 90%"),
    "cold_90": ("#abd9e9", "冷点 90%"),
    "cold_95": ("#74add1", "冷点 95%"),
    "cold_99": ("#2c7bb6", "冷点 99%"),
}


def outline_layers(zone: str | None) -> list[PrintLayer]:
    zones = load_layer("zones")
    if zone:
        zones = zones[zones["name"] == zone]
    return [
        PrintLayer(
            "行政区界",
            load_layer("districts"),
            "polygon",
            "#444444",
            style={"facecolor": "none", "linewidth": 0.8, "zorder": 1},
        ),
        PrintLayer(
            "科创片区/走廊(示意)",
            zones,
            "polygon",
            REGISTRY["zones"].color,
            style={"fill_alpha": 0.12, "linestyle": "--", "zorder": 2},
        ),
        PrintLayer(
            "中官路轴线(示意)",
            load_layer("corridor_axes"),
            "line",
            REGISTRY["corridor_axes"].color,
            style={"linestyle": "--", "zorder": 2},
        ),
    ]


def base_layers(refs: list[str], *, zone: str | None = None) -> list[PrintLayer]:
    """Outlines plus the given point layers (embedded keys, ``key:subtype`` or files)."""
    out = outline_layers(zone)
    for ref in refs:
        key = ref.partition(":")[0]
        if key in ("districts", "zones", "corridor_axes"):
            continue
        g = resolve_layer(ref)
        spec = REGISTRY.get(key)
        label = (spec.name_zh if spec else ref) + (
            "·" + ref.partition(":")[2] if ":" in ref else ""
        )
        out.append(
            PrintLayer(
                label,
                g,
                "point",
                spec.color if spec else "#e377c2",
                label_field="name" if key in ("incubators", "universities", "platforms") else None,
                style=POINT_STYLE.get(key, {"size": 8}),
            )
        )
    return out


def zone_extent(zone: str | None):
    """WGS84 bounds of a zone (or of all zones)."""
    zones = load_layer("zones")
    if zone:
        zones = zones[zones["name"] == zone]
        if zones.empty:
            raise ValueError(
                f"未知片区 / unknown zone {zone!r}: choose one of {', '.join(load_layer('zones')['name'])}"
            )
    return tuple(zones.total_bounds)


def coverage_print_layers(res, services, *, zone: str | None = None) -> list[PrintLayer]:
    """Print layers of a coverage result: service areas by cut-off, demand, service points."""
    colors = ("#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59")
    layers = outline_layers(zone)
    n = len(res.minutes)
    for i in range(n - 1, -1, -1):
        layers.append(
            PrintLayer(
                f"{res.minutes[i]:g} 分钟服务圈",
                res.coverage_areas.iloc[[i]],
                "polygon",
                colors[i % len(colors)],
                style={"fill_alpha": 0.35, "zorder": 3 + (n - i) * 0.1},
            )
        )
    last = f"covered_{res.minutes[-1]:g}"
    layers.append(
        PrintLayer(
            "未覆盖需求", res.demand[~res.demand[last]], "point", "#d7191c", style={"size": 4}
        )
    )
    layers.append(
        PrintLayer(
            "已覆盖需求", res.demand[res.demand[last]], "point", "#2b83ba", style={"size": 4}
        )
    )
    layers.append(
        PrintLayer("服务点", services, "point", "#6a3d9a", style={"size": 14, "zorder": 8})
    )
    return layers


def cluster_print_layers(labelled, summary, *, zone: str | None = None) -> list[PrintLayer]:
    """Print layers of a clustering result: noise, clustered points and labelled hulls."""
    hulls = summary.copy()
    hulls["name"] = hulls["label"] + " #" + hulls["id"].astype(str)
    return [
        *outline_layers(zone),
        PrintLayer(
            "噪声点", labelled[labelled["cluster"] < 0], "point", "#aaaaaa", style={"size": 3}
        ),
        PrintLayer(
            "簇内点", labelled[labelled["cluster"] >= 0], "point", "#e6550d", style={"size": 4}
        ),
        PrintLayer(
            "簇范围(凹包)",
            hulls,
            "polygon",
            "#e6550d",
            label_field="name",
            style={"fill_alpha": 0.2, "zorder": 6},
        ),
    ]


def hotspot_print_layers(cells, *, zone: str | None = None) -> list[PrintLayer]:
    """Print layers of a Gi* result: significant hot and cold cells by confidence."""
    sig = cells[cells["hotspot_class"] != "not_significant"]
    return [
        *outline_layers(zone),
        PrintLayer(
            "Gi*",
            sig,
            "polygon",
            "#d7191c",
            categories=("hotspot_class", HOT),
            style={"fill_alpha": 0.75, "linewidth": 0.2, "outline": False, "zorder": 4},
        ),
    ]


def siting_print_layers(res, existing, *, zone: str | None = None) -> list[PrintLayer]:
    """Print layers of a siting result: ranked gaps, catchments, existing and new sites."""
    gaps = res.gaps.head(150).copy()
    gaps["tier"] = np.minimum(3, 1 + (gaps["gap_rank"] - 1) // 50)
    tiers = {
        1: ("#b10026", "缺口前 50 格"),
        2: ("#fc4e2a", "缺口 51–100"),
        3: ("#feb24c", "缺口 101–150"),
    }
    sel = res.selected.copy()
    sel["name"] = "新址 #" + sel["rank"].astype(str)
    return [
        *outline_layers(zone),
        PrintLayer(
            "覆盖缺口",
            gaps,
            "polygon",
            "#e31a1c",
            categories=("tier", tiers),
            style={"fill_alpha": 0.55, "linewidth": 0.2, "outline": False, "zorder": 3},
        ),
        PrintLayer(
            "新址服务范围",
            res.catchments,
            "polygon",
            "#2c7fb8",
            style={"fill_alpha": 0.12, "zorder": 4},
        ),
        PrintLayer(
            "现有孵化器",
            existing,
            "point",
            REGISTRY["incubators"].color,
            style={"size": 14, "zorder": 6},
        ),
        PrintLayer(
            "推荐新址", sel, "point", "#08519c", label_field="name", style={"size": 40, "zorder": 8}
        ),
    ]


def analysis_layers(kind: str, params: dict, refs: list[str], *, zone: str | None = None):
    """Run an analysis and return ``(layers, notes, subtitle)`` for a print map.

    ``params`` are those of the matching CLI command (JSON keys), e.g. coverage:
    ``{"service": [...], "demand": "enterprises", "minutes": [5, 10, 15], "mode": "walk"}``.
    """
    from geo.reach import ReachParams
    from layers.resolve import resolve_layers

    if kind not in ANALYSES:
        raise ValueError(f"未知分析 / unknown analysis {kind!r}: use {', '.join(ANALYSES)}")
    ptxt = json.dumps(params, ensure_ascii=False)
    rp = ReachParams(
        method="straight",
        mode=params.get("mode", "walk"),
        speed_kmh=params.get("speed_kmh"),
        detour=params.get("detour", 1.3),
    )
    if kind == "coverage":
        from geo.coverage import run_coverage

        minutes = tuple(params.get("minutes", (5, 10, 15)))
        svc = resolve_layers(params.get("service", ["science_venues"]))
        dm = to_metric(resolve_layers([params.get("demand", "enterprises")]))
        res = run_coverage(
            dm,
            svc.to_crs(dm.crs),
            params=rp,
            minutes=minutes,
            weight_col=params.get("weight"),
            per_service_isochrones=False,
        )
        share = ", ".join(f"{r.minutes:g}min {r.share:.0%}" for r in res.summary.itertuples())
        return (
            coverage_print_layers(res, svc, zone=zone),
            [f"方法: {rp.label('zh')}", f"参数: {ptxt}", f"覆盖率: {share}"],
            "15分钟服务圈覆盖",
        )
    if kind == "clusters":
        from geo.clusters import cluster_points, cluster_summary

        pts = to_metric(resolve_layers(refs or ["enterprises"]))
        lab = cluster_points(
            pts,
            method=params.get("method", "dbscan"),
            eps_m=params.get("eps_m", 300.0),
            min_samples=params.get("min_samples", 10),
            min_cluster_size=params.get("min_cluster_size", 20),
        )
        summ = cluster_summary(lab)
        return (
            cluster_print_layers(lab, summ, zone=zone),
            [f"参数: {ptxt}", f"{len(summ)} 个簇, {(lab['cluster'] < 0).sum()} 个噪声点"],
            "密度聚类",
        )
    if kind == "hotspots":
        from geo.hotspots import hotspot_cells

        pts = to_metric(resolve_layers(refs or ["enterprises"]))
        area = shapely.convex_hull(
            shapely.multipoints(pts.geometry.get_coordinates().to_numpy())
        ).buffer(100)
        cells = hotspot_cells(
            pts,
            cell_m=params.get("cell_m", 500.0),
            weight_col=params.get("weight"),
            permutations=params.get("permutations", 999),
            area=area,
        )
        return (
            hotspot_print_layers(cells, zone=zone),
            [f"参数: {ptxt}", "Gi* 置换检验 + FDR 校正"],
            "热点分析 Getis-Ord Gi*",
        )
    from geo.siting_geo import grid_candidates, run_siting

    dem = to_metric(resolve_layers(params.get("demand", ["enterprises"])))
    ex = resolve_layers([params.get("existing", "incubators")]).to_crs(dem.crs)
    zname = params.get("zone") or zone
    zpoly = load_layer("zones")
    area = (
        zpoly[zpoly["name"] == zname].to_crs(dem.crs).geometry.iloc[0]
        if zname
        else shapely.convex_hull(shapely.multipoints(dem.geometry.get_coordinates().to_numpy()))
    )
    spacing = float(str(params.get("candidates", "grid:800")).split(":", 1)[1])
    cands = grid_candidates(area, spacing_m=spacing, crs=dem.crs)
    res = run_siting(
        dem,
        ex,
        cands,
        params=rp,
        minutes=params.get("minutes", 15.0),
        model=params.get("model", "mclp"),
        k=params.get("k", 5),
        target_share=params.get("target_share"),
        weight_col=params.get("weight"),
    )
    sol = res.solution
    return (
        siting_print_layers(res, ex, zone=zone),
        [
            f"方法: {rp.label('zh')}",
            f"参数: {ptxt}",
            f"覆盖 {res.share_before:.1%} → {res.share_after:.1%}; 证明差距 {sol.gap:.2%} ({sol.solver})",
        ],
        "孵化器选址",
    )


def export_map(
    refs: list[str],
    *,
    title: str,
    fmt: str,
    zone: str | None = None,
    analysis: str | None = None,
    params: dict | None = None,
    paper: str = "A4",
    orientation: str = "landscape",
    dpi: int = 150,
    basemap=None,
) -> bytes:
    """Bytes of a print map (png/pdf/svg) or a single-file offline HTML map.

    ``basemap`` (a :class:`ui.basemaps.Basemap`) adds online tiles to print maps.
    """
    if fmt == "html":
        return export_html(refs, zone=zone, title=title)
    if analysis:
        layers, notes, subtitle = analysis_layers(analysis, params or {}, refs, zone=zone)
    else:
        layers, notes, subtitle = base_layers(refs, zone=zone), [], (zone or "")
    extent = zone_extent(zone) if zone or not analysis else None
    return render_print_map(
        layers,
        title=title,
        subtitle=subtitle,
        paper=paper,
        orientation=orientation,
        dpi=dpi,
        fmt=fmt,
        extent=extent,
        notes=notes,
        basemap=basemap,
        legend_notes=[n for n in notes if n.startswith(("方法", "参数"))] if analysis else None,
    )


def export_html(refs: list[str], *, zone: str | None = None, title: str = "") -> bytes:
    """A single-file interactive HTML map that works offline (assets inlined)."""
    from ui.map_builder import MapLayer, build_map

    ml = [
        MapLayer(k, REGISTRY[k].name_zh, load_layer(k), REGISTRY[k].color, REGISTRY[k].geometry)
        for k in ("districts", "zones", "corridor_axes")
    ]
    for ref in refs:
        key = ref.partition(":")[0]
        if key in ("districts", "zones", "corridor_axes"):
            continue
        spec = REGISTRY.get(key)
        ml.append(
            MapLayer(
                ref,
                spec.name_zh if spec else ref,
                resolve_layer(ref),
                spec.color if spec else "#e377c2",
                "point",
            )
        )
    m = build_map(ml, asset_mode="inline", legend_title=title or None, fit_bounds=zone_extent(zone))
    html = m.get_root().render()
    if title:
        from layers.safe import escape_html

        html = html.replace("<head>", f"<head>\n<title>{escape_html(title)}</title>", 1)
    return html.encode("utf-8")


def series_items(kind: str) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(name, WGS84 bounds) of every district or zone, for a map series."""
    if kind not in ("district", "zone"):
        raise ValueError(
            f"--series 应为 district 或 zone / series must be district or zone, got {kind!r}"
        )
    g = load_layer("districts" if kind == "district" else "zones")
    return [(str(n), tuple(geom.bounds)) for n, geom in zip(g["name"], g.geometry, strict=True)]
