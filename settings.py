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
    "COVERAGE_MAX_PRECISION_M",
    "COVERAGE_MINUTES",
    "DETOUR",
    "DRIVE_ACCESS_KMH",
    "GEOCODE_BACKOFF_S",
    "GEOCODE_MAX_FAILURES_IN_A_ROW",
    "GEOCODE_MIN_SCORE",
    "GEOCODE_OK_MAX_PRECISION_M",
    "GEOCODE_RATE_PER_S",
    "GEOCODE_RETRIES",
    "GEOCODE_TIMEOUT_S",
    "GEOCODE_WORKERS",
    "HOTSPOT_CELL_M",
    "HOTSPOT_PERMUTATIONS",
    "IMPORT_PREVIEW_MAP_POINTS",
    "IMPORT_UPLOAD_MAX_MB",
    "MAX_CUTOFFS",
    "MAX_MINUTES",
    "MAX_SNAP_M",
    "NETWORK_UPLOAD_MAX_MB",
    "PRINT_DPI",
    "PRINT_ORIENTATION",
    "PRINT_PAPER",
    "PROFILE_BAND_M",
    "PROFILE_BIN_M",
    "SITING_AGGREGATE_ABOVE_ROWS",
    "SITING_AGGREGATE_M",
    "SITING_GRID_M",
    "SITING_K",
    "SITING_MINUTES",
    "SITING_TIME_LIMIT_S",
    "SPEEDS_KMH",
    "STRAIGHT_DRIVE_KMH",
    "STUDY_AREA_BUFFER_M",
    "WEBGL_THRESHOLD",
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
#: Limits of travel-time cut-offs (coverage, siting, the pages): each finite, > 0 and
#: ≤ MAX_MINUTES; at most MAX_CUTOFFS of them (checked before any work is allocated).
MAX_MINUTES: float = 180.0
MAX_CUTOFFS: int = 12
#: Coverage and siting leave out demand whose coordinates are coarser than this (m),
#: e.g. addresses geocoded only to their county; the request's ``include_coarse`` keeps them.
COVERAGE_MAX_PRECISION_M: float = 1000.0

#: Siting defaults.
SITING_MINUTES: float = 15.0
SITING_GRID_M: float = 600.0
SITING_K: int = 5
SITING_TIME_LIMIT_S: float = 30.0
#: Siting on large demand: the sites are chosen on demand merged to cells of
#: SITING_AGGREGATE_M metres (the coverage before/after stays exact, and the error
#: bound is reported); the app proposes it above SITING_AGGREGATE_ABOVE_ROWS demand rows.
SITING_AGGREGATE_M: float = 100.0
SITING_AGGREGATE_ABOVE_ROWS: int = 100_000

#: Clustering and hot-spot defaults.
CLUSTER_EPS_M: float = 300.0
CLUSTER_MIN_SAMPLES: int = 10
CLUSTER_MIN_CLUSTER_SIZE: int = 20
HOTSPOT_CELL_M: float = 500.0
HOTSPOT_PERMUTATIONS: int = 999

#: Corridor profile: bin length along the axis and band half-width on each side (m).
PROFILE_BIN_M: float = 500.0
PROFILE_BAND_M: float = 1000.0

#: Geocoding (cli.py geocode, the import page). Online requests per second (the
#: providers' free keys allow about 3/s), timeout and retries per request, pause
#: before retrying a "too frequent" answer (doubles per retry), failures in a row
#: that stop a run (resumable), the coarsest precision still called ok (m), the
#: provider's own match score below which a result is ambiguous (0–100) and the
#: requests kept in flight (so latency does not hold throughput below the rate).
GEOCODE_RATE_PER_S: float = 3.0
GEOCODE_TIMEOUT_S: float = 10.0
GEOCODE_RETRIES: int = 2
GEOCODE_BACKOFF_S: float = 1.0
GEOCODE_MAX_FAILURES_IN_A_ROW: int = 5
GEOCODE_OK_MAX_PRECISION_M: float = 500.0
GEOCODE_MIN_SCORE: float = 60.0
GEOCODE_WORKERS: int = 4

#: App uploads (MB): files above these are refused before they are read (the import page,
#: road networks). Streamlit's ``server.maxUploadSize`` (.streamlit/config.toml) caps both.
IMPORT_UPLOAD_MAX_MB: float = 200.0
NETWORK_UPLOAD_MAX_MB: float = 200.0
#: Import page: the preview map shows at most this many rows of a file (spread evenly).
IMPORT_PREVIEW_MAP_POINTS: int = 5_000

#: Web map: point layers with more features than this are drawn by the GPU (WebGL,
#: vendored leaflet.glify) from a compact payload instead of one Leaflet marker each.
WEBGL_THRESHOLD: int = 20_000

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
