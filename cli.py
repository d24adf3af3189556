"""InnoMap command line: batch work for planners.

Examples
--------
python cli.py layers
python cli.py layers --json
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["build_parser", "main"]


def _cmd_layers(args: argparse.Namespace) -> int:
    from layers.registry import load_all, project_sources

    table = project_sources(load_all())
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), ensure_ascii=False, indent=2))
        return 0
    name_col = "name_en" if args.lang == "en" else "name_zh"
    width = max(len(k) for k in table["layer"])
    print(f"{'layer':<{width}}  {'rows':>6}  {'synthetic':>9}  {'geometry':<8}  {'crs':<10}  name")
    for r in table.itertuples():
        print(
            f"{r.layer:<{width}}  {r.rows:>6}  {r.synthetic_rows:>9}  {r.geometry:<8}  "
            f"{r.crs:<10}  {getattr(r, name_col)}"
        )
        for s in r.sources:
            print(f"{'':<{width}}    source: {s}")
    return 0


def _minutes(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--minutes {text!r}: give comma-separated minutes, e.g. 5,10,15"
        ) from None
    if not vals or min(vals) <= 0:
        raise argparse.ArgumentTypeError(f"--minutes {text!r}: minutes must be positive")
    return vals


def _write_gpkg_layers(path, layers: dict, *, force: bool = True) -> None:
    from layers.io_safe import atomic_write

    def w(tmp):
        for i, (name, gdf) in enumerate(layers.items()):
            gdf.to_file(tmp, layer=name, driver="GPKG", mode="w" if i == 0 else "a")

    atomic_write(path, w, force=force)


def _cmd_coverage(args: argparse.Namespace) -> int:
    from pathlib import Path

    from geo.coverage import run_coverage
    from geo.reach import ReachParams
    from layers.crs import to_metric
    from layers.io_safe import write_json
    from layers.networks import load_network
    from layers.registry import load_layer
    from layers.resolve import resolve_layers

    method = args.method or ("network" if args.network else "straight")
    if method == "network" and not args.network:
        raise ValueError(
            "--method network 需要 --network PATH / the network method needs --network PATH"
        )
    params = ReachParams(
        method=method,
        mode=args.mode,
        speed_kmh=args.speed_kmh,
        detour=args.detour,
        max_snap_m=args.max_snap_m,
    )
    services = resolve_layers(args.service, default_kind="science_venues")
    demand = resolve_layers([args.demand], default_kind="enterprises")
    graph = load_network(args.network) if method == "network" else None
    crs = graph.crs if graph is not None else None
    d_m = to_metric(demand, crs)
    s_m = to_metric(services, d_m.crs)
    zones = load_layer("zones").to_crs(d_m.crs)
    res = run_coverage(
        d_m,
        s_m,
        params=params,
        minutes=args.minutes,
        weight_col=args.weight,
        graph=graph,
        zones=zones,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    label = params.label("zh")
    summary = {
        "method": method,
        "method_label": label,
        "method_label_en": params.label("en"),
        "mode": args.mode,
        "speed_kmh": params.effective_speed_kmh,
        "detour": params.detour if method == "straight" else None,
        "minutes": list(res.minutes),
        "service": args.service,
        "demand": args.demand,
        "weight": args.weight,
        "demand_total": int(res.summary["demand_total"].iloc[0]),
        "weight_total": float(res.summary["weight_total"].iloc[0]),
        "results": res.summary[["minutes", "covered", "share", "weighted_share"]].to_dict(
            "records"
        ),
        "by_zone": res.by_zone.to_dict("records"),
        "by_district": res.by_district.to_dict("records"),
        "zone_area": res.zone_area.to_dict("records"),
        "unsnapped": res.unsnapped_demand,
        "unsnapped_services": res.unsnapped_service,
        "synthetic_demand": bool(demand["synthetic"].any()) if "synthetic" in demand else False,
        "synthetic_services": bool(services["synthetic"].any())
        if "synthetic" in services
        else False,
    }
    dem = res.demand.to_crs(4326)
    dem["travel_min"] = dem["travel_min"].astype(float)
    dem["method_label"] = label
    iso = res.isochrones.to_crs(4326)
    iso["method_label"] = label
    areas = res.coverage_areas.to_crs(4326)
    blind = res.blind_spots.to_crs(4326)
    blind["method_label"] = label
    _write_gpkg_layers(out / "demand.gpkg", {"demand": dem})
    _write_gpkg_layers(
        out / "isochrones.gpkg", {"isochrones": iso, "coverage_areas": areas, "blind_spots": blind}
    )
    write_json(out / "summary.json", summary, force=True)
    for r in summary["results"]:
        print(
            f"{r['minutes']:g} min: {r['covered']}/{summary['demand_total']} covered "
            f"({r['share']:.1%}, weighted {r['weighted_share']:.1%})"
        )
    print(f"method: {label}; unsnapped demand: {res.unsnapped_demand}; wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="python cli.py",
        description="InnoMap 创新资源一张图 — command line for batch work.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "layers",
        help="list the embedded layers with row counts, CRS and sources",
        description="List the embedded layers (registry keys) with row counts, CRS and sources.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of layer names")
    p.set_defaults(func=_cmd_layers)

    p = sub.add_parser(
        "coverage",
        help="15-minute service circles: share of demand within cut-offs of service points",
        description=(
            "Coverage of demand by service points (15分钟科普/科技服务圈). S and D are embedded "
            "layer names (optionally layer:subtype, subtypes joined with |) or file paths."
        ),
    )
    p.add_argument("--service", nargs="+", required=True, metavar="S", help="service layers")
    p.add_argument("--demand", required=True, metavar="D", help="demand layer")
    p.add_argument("--weight", metavar="COL", help="demand weight column (e.g. employees)")
    p.add_argument("--mode", choices=["walk", "bike", "drive"], default="walk")
    p.add_argument(
        "--minutes", type=_minutes, default=(5.0, 10.0, 15.0), help="cut-offs, e.g. 5,10,15"
    )
    p.add_argument(
        "--network",
        metavar="PATH",
        help="road network (.osm, .osm.pbf, .graphml, .gpkg, .shp, .npz)",
    )
    p.add_argument(
        "--method", choices=["network", "straight"], help="default: network when --network is given"
    )
    p.add_argument(
        "--speed-kmh", type=float, dest="speed_kmh", help="speed (default walk 4.5, bike 15)"
    )
    p.add_argument(
        "--detour", type=float, default=1.3, help="detour factor of the straight-line method"
    )
    p.add_argument(
        "--max-snap-m",
        type=float,
        default=300.0,
        dest="max_snap_m",
        help="maximum distance from a point to the network (m)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=_cmd_coverage)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:  # our errors subclass ValueError and explain the fix
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
