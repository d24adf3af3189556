"""What the commands share: the project options, console warnings, output folders."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import settings

__all__ = [
    "add_include_coarse",
    "add_project_args",
    "add_reach_args",
    "check_out",
    "minutes_list",
    "open_project",
    "outside_warning",
    "warn",
]


def add_project_args(p: argparse.ArgumentParser, *, files: bool = True) -> None:
    """``--project`` (and, for commands taking layer references, ``--crs``/``--skip-invalid``)."""
    p.add_argument(
        "--project",
        metavar="P",
        default=None,
        help="project: a .gpkg project file or 'demo' (default: the embedded demo project)",
    )
    if files:
        p.add_argument(
            "--crs",
            metavar="C",
            default=None,
            help="CRS of layer references that are files: WGS84, CGCS2000, GCJ-02, BD-09, "
            "EPSG:n, GK3:NN, GK3:117E, GK6:NN or GK6:117E",
        )
        p.add_argument(
            "--skip-invalid",
            dest="skip_invalid",
            action="store_true",
            help="go on without the rejected rows of files given as layers (counted in summary.json)",
        )


def add_include_coarse(p: argparse.ArgumentParser) -> None:
    """``--include-imprecise`` (former name ``--include-coarse``)."""
    p.add_argument(
        "--include-imprecise",
        "--include-coarse",
        dest="include_imprecise",
        action="store_true",
        help="use points whose coord_precision_m is coarser than the analysis scale × "
        f"{settings.PRECISION_SCALE_FACTOR:g} (e.g. geocoded only to their county; left out "
        "and counted by default; the result is marked). --include-coarse: former name",
    )


def minutes_list(text: str) -> tuple[float, ...]:
    """Comma-separated cut-offs: each finite, > 0, ≤ settings.MAX_MINUTES; at most MAX_CUTOFFS."""
    shown = text if len(text) <= 60 else text[:59] + "…"
    try:
        vals = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{shown!r}: 应为逗号分隔的分钟数 / give comma-separated minutes, e.g. 5,10,15"
        ) from None
    if not vals or not all(math.isfinite(v) and 0 < v <= settings.MAX_MINUTES for v in vals):
        raise argparse.ArgumentTypeError(
            f"{shown!r}: 分钟数须为有限正数且不超过 {settings.MAX_MINUTES:g} / minutes must be "
            f"finite, > 0 and ≤ {settings.MAX_MINUTES:g}"
        )
    if len(set(vals)) > settings.MAX_CUTOFFS:
        raise argparse.ArgumentTypeError(
            f"{len(set(vals))} 个时间阈值超过上限 {settings.MAX_CUTOFFS} / {len(set(vals))} cut-offs "
            f"exceed the limit of {settings.MAX_CUTOFFS}: give fewer minutes"
        )
    return vals


def add_reach_args(p: argparse.ArgumentParser, *, minutes, several: bool) -> None:
    """Reach options shared by the analyses that use travel time (they mean the same in all)."""
    from workflows.choices import MODES, REACH_METHODS

    p.add_argument("--mode", choices=list(MODES), default="walk")
    p.add_argument(
        "--minutes",
        type=minutes_list if several else float,
        default=minutes,
        help="cut-off minutes (coverage: comma-separated, e.g. 5,10,15)",
    )
    p.add_argument(
        "--network",
        metavar="NET",
        help="road network kept in the project (name) or a file (.osm, .osm.pbf, .graphml, "
        ".gpkg, .shp, .npz)",
    )
    p.add_argument(
        "--method",
        choices=list(REACH_METHODS),
        help="default: network when --network is given",
    )
    p.add_argument(
        "--speed-kmh",
        type=float,
        dest="speed_kmh",
        help=f"speed (default walk {settings.SPEEDS_KMH['walk']:g}, bike "
        f"{settings.SPEEDS_KMH['bike']:g}; drive by road class on a network, "
        f"{settings.STRAIGHT_DRIVE_KMH:g} straight-line)",
    )
    p.add_argument(
        "--detour",
        type=float,
        default=settings.DETOUR,
        help="detour factor of the straight-line method",
    )
    p.add_argument(
        "--max-snap-m",
        type=float,
        default=settings.MAX_SNAP_M,
        dest="max_snap_m",
        help="maximum distance from a point to the network (m)",
    )
    p.add_argument("--force", action="store_true", help="overwrite outputs in --out")


def open_project(args: argparse.Namespace):
    """The project named by ``--project`` (the demo project when none is given)."""
    from layers.project import open_project as _open

    return _open(getattr(args, "project", None))


def outside_warning(rep) -> str | None:
    """The count of rows beyond the project's city, when there are any."""
    n = rep.outside_city_rows
    if not n:
        return None
    return (
        f"{rep.file}: {n} 行位于项目城市范围之外 / {n} row(s) lie outside the project's city "
        "(flagged outside_city, or rejected with --drop-outside-city): check their coordinates "
        "and CRS"
    )


def warn(messages) -> None:
    """Print warnings (e.g. a file read as WGS84 with no CRS stated) on stderr."""
    for m in messages or []:
        if m:
            print(f"warning: {m}", file=sys.stderr)


def check_out(out: Path, names: list[str], *, force: bool) -> None:
    """Refuse to overwrite outputs in ``out`` unless ``--force`` (before any work is written)."""
    from layers.io_safe import OutputExistsError, OutputPathError

    if out.exists() and not out.is_dir():
        raise OutputExistsError(
            f"--out {out} 不是文件夹 / --out {out.name!r} is a file: give a folder"
        )
    existing = [n for n in names if (out / n).exists()]
    if existing and not force:
        raise OutputExistsError(
            f"{out} 中已有 {', '.join(existing)} / {', '.join(existing)} already exist in "
            f"{out.name!r}: choose another folder or pass --force to overwrite"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # /dev/null/x, no rights: a clear error, not a traceback
        raise OutputPathError(
            f"无法创建文件夹 {out} ({exc.strerror}) / cannot create the --out folder {out.name!r} "
            f"({exc.strerror}): choose a folder you can write to"
        ) from None
