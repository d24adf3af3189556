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
