"""Defaults of every analysis, defined once.

argparse (``cli.py``), the page widgets (``ui/pages``), the workflows and ``geo/``
all read their defaults from here, so the same request gives the same numbers
wherever it is made. Units are in the names.
"""

from __future__ import annotations

__all__ = [
    "CLUSTER_EPS_M",
    "CLUSTER_MIN_CLUSTER_SIZE",
    "CLUSTER_MIN_SAMPLES",
    "COVERAGE_MINUTES",
    "DETOUR",
    "DRIVE_ACCESS_KMH",
    "HOTSPOT_CELL_M",
    "HOTSPOT_PERMUTATIONS",
    "MAX_SNAP_M",
    "PRINT_DPI",
    "PRINT_ORIENTATION",
    "PRINT_PAPER",
    "SITING_GRID_M",
    "SITING_K",
    "SITING_MINUTES",
    "SITING_TIME_LIMIT_S",
    "SPEEDS_KMH",
    "STRAIGHT_DRIVE_KMH",
    "STUDY_AREA_BUFFER_M",
    "default_speed_kmh",
]

#: Speeds per travel mode (km/h). Drive on a road network uses speeds by road class
#: (``geo.network``); drive by the straight-line method uses ``STRAIGHT_DRIVE_KMH``.
SPEEDS_KMH: dict[str, float] = {"walk": 4.5, "bike": 15.0}
STRAIGHT_DRIVE_KMH: float = 30.0
#: Access speed for the snapping distance when driving (km/h).
DRIVE_ACCESS_KMH: float = 20.0
#: Detour factor of the straight-line method (network distance ÷ straight distance).
DETOUR: float = 1.3
#: Points farther than this from the road network are reported as unsnapped (m).
MAX_SNAP_M: float = 300.0

#: Coverage cut-offs (minutes): the 5/10/15-minute life circles.
COVERAGE_MINUTES: tuple[float, ...] = (5.0, 10.0, 15.0)

#: Siting defaults.
SITING_MINUTES: float = 15.0
SITING_GRID_M: float = 600.0
SITING_K: int = 5
SITING_TIME_LIMIT_S: float = 30.0

#: Clustering and hot-spot defaults.
CLUSTER_EPS_M: float = 300.0
CLUSTER_MIN_SAMPLES: int = 10
CLUSTER_MIN_CLUSTER_SIZE: int = 20
HOTSPOT_CELL_M: float = 500.0
HOTSPOT_PERMUTATIONS: int = 999

#: Study area without a zone: convex hull of the points buffered by this (m).
STUDY_AREA_BUFFER_M: float = 100.0

#: Print-map defaults (export-map, the export page).
PRINT_PAPER: str = "A4"
PRINT_ORIENTATION: str = "landscape"
PRINT_DPI: int = 300


def default_speed_kmh(mode: str, *, method: str = "straight") -> float | None:
    """The default speed of ``mode`` (``None``: by road class, drive on a network)."""
    if mode == "drive":
        return None if method == "network" else STRAIGHT_DRIVE_KMH
    return SPEEDS_KMH[mode]
