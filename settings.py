"""Defaults of every analysis, defined once.

argparse (``cli.py``), the page widgets (``ui/pages``), the workflows and ``geo/``
all read their defaults from here, so the same request gives the same numbers
wherever it is made. Units are in the names.
"""

from __future__ import annotations

__all__ = [
    "CIRCLE_QUAD_SEGS",
    "CLQ_PERMUTATIONS",
    "CLUSTER_EPS_M",
    "CLUSTER_HULL_RATIO",
    "CLUSTER_MAX_EPS_M",
    "CLUSTER_MAX_MIN_SAMPLES",
    "CLUSTER_MIN_CLUSTER_SIZE",
    "CLUSTER_MIN_SAMPLES",
    "COMPARE_DPI",
    "COVERAGE_MINUTES",
    "DETOUR",
    "DRAWN_PRECISION_PX",
    "DRIVE_ACCESS_KMH",
    "DXF_MAX_ENTITIES",
    "GAZETTEER_DEFAULT_PRECISION_M",
    "GAZETTEER_MIN_LEAD",
    "GAZETTEER_MIN_SCORE",
    "GEOCODE_BACKOFF_S",
    "GEOCODE_MAX_BODY_BYTES",
    "GEOCODE_MAX_FAILURES_IN_A_ROW",
    "GEOCODE_MIN_SCORE",
    "GEOCODE_OK_MAX_PRECISION_M",
    "GEOCODE_RATE_PER_S",
    "GEOCODE_RETRIES",
    "GEOCODE_TIMEOUT_S",
    "GEOCODE_WORKERS",
    "GEOCODE_ZONE_MIN_SCORE",
    "GL_CACHE_MAX_MB",
    "HDBSCAN_PRECISION_SCALE_M",
    "HOTSPOT_CELL_M",
    "HOTSPOT_MAX_CELLS",
    "HOTSPOT_MAX_PERMUTATIONS",
    "HOTSPOT_MIN_CELL_M",
    "HOTSPOT_PERMUTATIONS",
    "HOTSPOT_SEED",
    "IMPORT_MAX_FILE_BYTES",
    "IMPORT_PREVIEW_MAP_POINTS",
    "IMPORT_UPLOAD_MAX_MB",
    "ISOCHRONE_BUFFER_M",
    "ISOCHRONE_CELL_M",
    "KDE_MAX_CELLS",
    "KML_MAX_PLACEMARKS",
    "LABEL_ALL_MAX_ROWS",
    "LOCAL_TIMEZONE",
    "MAX_CUTOFFS",
    "MAX_MINUTES",
    "MAX_SNAP_M",
    "MAX_SPEED_KMH",
    "NETWORK_SAMPLE_M",
    "NETWORK_SNAP_M",
    "NETWORK_UPLOAD_MAX_MB",
    "OUTSIDE_CITY_MARGIN_M",
    "PG_REQUIRE_AUTH",
    "POINTSTATS_PRECISION_SCALE_M",
    "POINTSTATS_SEED",
    "PRECISION_SCALE_FACTOR",
    "PRINT_DPI",
    "PRINT_DPI_MAX",
    "PRINT_DPI_MIN",
    "PRINT_INSET_SHARE",
    "PRINT_INSET_WINDOW",
    "PRINT_ORIENTATION",
    "PRINT_PAPER",
    "PROFILE_BAND_M",
    "PROFILE_BIN_M",
    "PROFILE_MAX_BAND_M",
    "PROFILE_MAX_BINS",
    "PROFILE_MIN_BIN_M",
    "PROJECT_NETWORK_EDGES_MAX",
    "REACH_BATCH_SOURCES",
    "REPORT_MAX_RUNS",
    "RIPLEY_SIMULATIONS",
    "RUN_LAYER_MAX_ROWS",
    "RUN_TABLE_MAX_ROWS",
    "SITING_AGGREGATE_ABOVE_ROWS",
    "SITING_AGGREGATE_M",
    "SITING_DOMINANCE_BLOCK",
    "SITING_DOMINANCE_BLOCK_ENTRIES",
    "SITING_DOMINANCE_MAX_PAIRS",
    "SITING_EXACT_MAX_NNZ",
    "SITING_GAP_CELL_M",
    "SITING_GAP_TARGET",
    "SITING_GRID_M",
    "SITING_K",
    "SITING_MAX_AGGREGATE_M",
    "SITING_MAX_CANDIDATES",
    "SITING_MAX_K",
    "SITING_MINUTES",
    "SITING_MIN_GRID_M",
    "SITING_TIME_LIMIT_S",
    "SPEEDS_KMH",
    "STRAIGHT_DRIVE_KMH",
    "STREET_LEVEL_PRECISION_M",
    "STUDY_AREA_BUFFER_M",
    "UNDO_DEPTH",
    "UPLOAD_CACHE_MAX_MB",
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
#: The precision rule (workflows.common.precision_rule): a point is used by an analysis
#: when its ``coord_precision_m`` ≤ the analysis' scale × PRECISION_SCALE_FACTOR. The scale is
#: coverage/siting/what-if: the distance the largest cut-off reaches at the mode's speed
#: (speed × minutes, e.g. 15 min walk at 4.5 km/h = 1,125 m; drive on a network at
#: STRAIGHT_DRIVE_KMH); clusters: DBSCAN eps, HDBSCAN HDBSCAN_PRECISION_SCALE_M (HDBSCAN has
#: no radius: the default DBSCAN eps, the street-block scale of the clusters it reports);
#: hot spots: the cell; point statistics: POINTSTATS_PRECISION_SCALE_M; profile: min(bin,
#: band). Unknown precision (empty) is used and counted; ``include_imprecise`` keeps all.
PRECISION_SCALE_FACTOR: float = 1.0
HDBSCAN_PRECISION_SCALE_M: float = 300.0
POINTSTATS_PRECISION_SCALE_M: float = 500.0
#: Street level (m): points coarser than this are drawn with a hollow "approximate
#: position" symbol, and are given a district or zone only when their whole precision
#: disc lies inside it (else "未定", counted).
STREET_LEVEL_PRECISION_M: float = 100.0
#: Shapes drawn on the map (drawing page): their precision is this many screen pixels at
#: the zoom they were drawn at (workflows.drawing.drawing_precision_m).
DRAWN_PRECISION_PX: float = 3.0
#: Service circles are drawn as polygons of 4 × CIRCLE_QUAD_SEGS sides whose radius keeps
#: the circle's area (geo.reach.circles): area error < 0.1 % (0.00 % for one circle).
CIRCLE_QUAD_SEGS: int = 16
#: Isochrones and coverage areas: raster cell (m) and dilation of the reached points (m).
ISOCHRONE_CELL_M: float = 25.0
ISOCHRONE_BUFFER_M: float = 50.0
#: Work limit: sources routed per Dijkstra batch (memory ≈ batch × graph nodes × 8 bytes).
REACH_BATCH_SOURCES: int = 64
#: Road graphs: sample spacing along edges (m) and end-point snapping tolerance (m).
NETWORK_SAMPLE_M: float = 25.0
NETWORK_SNAP_M: float = 0.5

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
#: Siting solvers: the relative optimality gap the exact MCLP stops at, the largest
#: cost matrix (non-zeros) the exact p-median is tried on, and the gap-analysis cell (m).
SITING_GAP_TARGET: float = 0.01
SITING_EXACT_MAX_NNZ: int = 300_000
SITING_GAP_CELL_M: float = 500.0
#: Candidates dominated by another (reach inside its reach) are set aside before a covering
#: MILP when the pairs to compare (Σ over demand rows of reaching candidates²) are at most
#: this many (~1 s on this machine); above it the MILP sees every candidate.
SITING_DOMINANCE_MAX_PAIRS: int = 20_000_000
#: Candidates compared per step of that pass, and the most overlap counts a step may hold.
SITING_DOMINANCE_BLOCK: int = 1024
SITING_DOMINANCE_BLOCK_ENTRIES: int = 4_000_000

#: Clustering and hot-spot defaults.
CLUSTER_EPS_M: float = 300.0
CLUSTER_MIN_SAMPLES: int = 10
CLUSTER_MIN_CLUSTER_SIZE: int = 20
HOTSPOT_CELL_M: float = 500.0
HOTSPOT_PERMUTATIONS: int = 999
#: Seed of the hot-spot permutations (the same request gives the same p-values).
HOTSPOT_SEED: int = 12345
#: Concave-hull ratio of a cluster's outline (shapely.concave_hull).
CLUSTER_HULL_RATIO: float = 0.3
#: Point statistics: CSR simulations of Ripley's L envelope, permutations of the
#: co-location quotient and their seed.
RIPLEY_SIMULATIONS: int = 99
CLQ_PERMUTATIONS: int = 499
POINTSTATS_SEED: int = 0

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
#: Online geocoding HTTP: a request (connect, headers and body together) ends after
#: GEOCODE_TIMEOUT_S in all, however slowly the answer drips; a body larger than
#: GEOCODE_MAX_BODY_BYTES is not read on (the address is ``failed``).
GEOCODE_MAX_BODY_BYTES: int = 2_000_000
#: An online answer (or a point about to be imported) farther than this outside the
#: project's city is not trusted (m; layers.cities.outside_city_mask).
OUTSIDE_CITY_MARGIN_M: float = 5000.0
#: Local address register (``geocode --provider local --gazetteer``): the fuzzy match
#: score (0–100, rapidfuzz ratio of the normalised addresses) a match needs, the lead
#: over a different second candidate it needs, and the precision of a register whose
#: rows state none (m).
GAZETTEER_MIN_SCORE: float = 80.0
GAZETTEER_MIN_LEAD: float = 4.0
GAZETTEER_DEFAULT_PRECISION_M: float = 10.0
#: Offline geocoder: the rapidfuzz score (0–100) an address's zone name (高新区, 经开区 …)
#: needs against a project zone's name to be placed in that zone.
GEOCODE_ZONE_MIN_SCORE: float = 85.0

#: App uploads (MB): files above these are refused before they are read (the import page,
#: road networks). Streamlit's ``server.maxUploadSize`` (.streamlit/config.toml) caps both.
IMPORT_UPLOAD_MAX_MB: float = 200.0
NETWORK_UPLOAD_MAX_MB: float = 200.0
#: Road networks uploaded by viewers (or to the read-only demo) are read from a temporary
#: file removed when the read ends; only the prepared graph is kept, in a folder of at most
#: UPLOAD_CACHE_MAX_MB (oldest first removed).
UPLOAD_CACHE_MAX_MB: float = 256.0
#: Editors' quota: road-network edges a project may keep from app uploads (all its networks).
PROJECT_NETWORK_EDGES_MAX: int = 5_000_000
#: Project undo: changes kept in the project's history (``project undo``, 撤销); older
#: versions are pruned with the tables only they named. ``$INNOMAP_UNDO_DEPTH`` overrides.
UNDO_DEPTH: int = 20
#: Import page: the preview map shows at most this many rows of a file (spread evenly).
IMPORT_PREVIEW_MAP_POINTS: int = 5_000

#: Web maps (a project's layers, not a session's result) built once and shared by every
#: session of an app process that shows the same layers, filters and language: at most this
#: many, the most recently used kept (ui/mapview.py).
MAP_SHARED_ENTRIES: int = 16

#: Web map: point layers with more features than this are drawn by the GPU (WebGL,
#: vendored leaflet.glify) from a compact payload instead of one Leaflet marker each.
WEBGL_THRESHOLD: int = 20_000

#: Study area without a zone: convex hull of the points buffered by this (m).
STUDY_AREA_BUFFER_M: float = 100.0

#: Work limits: each bounds the work (time, memory) of one request, is checked before the
#: work starts and is named in the error with its fix. The modules that check them keep
#: these names (``workflows.hotspots.MAX_CELLS`` …) as aliases.
#: Hot spots: hexagons of the grid, permutations, smallest cell (m), KDE raster cells.
HOTSPOT_MAX_CELLS: int = 200_000
HOTSPOT_MAX_PERMUTATIONS: int = 99_999
HOTSPOT_MIN_CELL_M: float = 10.0
KDE_MAX_CELLS: int = 4_000_000
#: Clusters: the largest DBSCAN radius (m) and min-samples.
CLUSTER_MAX_EPS_M: float = 50_000.0
CLUSTER_MAX_MIN_SAMPLES: int = 10_000
#: Siting: candidate sites, new sites (k), the finest candidate grid (m) and the largest
#: demand cell of ``aggregate_m`` (m; a cell wider than a walk of minutes is no answer).
SITING_MAX_CANDIDATES: int = 20_000
SITING_MAX_K: int = 500
SITING_MIN_GRID_M: float = 50.0
SITING_MAX_AGGREGATE_M: float = 2000.0
#: Corridor profile: the widest band (m), the shortest bin (m), bins of one profile.
PROFILE_MAX_BAND_M: float = 20_000.0
PROFILE_MIN_BIN_M: float = 10.0
PROFILE_MAX_BINS: int = 10_000
#: Coverage: the fastest speed a request may give (km/h).
MAX_SPEED_KMH: float = 200.0
#: Reports: runs in one report (each is run again for its map).
REPORT_MAX_RUNS: int = 50
#: Saved runs: rows of one result layer (or input) kept with a run (a larger one is left
#: out and said so when the run is reopened), rows of one result table kept.
RUN_LAYER_MAX_ROWS: int = 20_000
RUN_TABLE_MAX_ROWS: int = 5_000
#: Time zone in which saved runs are listed (their time is stored in UTC).
LOCAL_TIMEZONE: str = "Asia/Shanghai"
#: ``compare``: resolution of each A4 side of compare.png (dpi).
COMPARE_DPI: int = 150
#: Imports: the largest file (bytes), DXF model-space entities, KML placemarks.
IMPORT_MAX_FILE_BYTES: int = 500 * 1024 * 1024
DXF_MAX_ENTITIES: int = 500_000
KML_MAX_PLACEMARKS: int = 2_000_000
#: Web maps: the folder of large layers' data files is kept below this size (MB; Streamlit
#: stops serving ``static/`` altogether when it holds more than 1 GB at start).
GL_CACHE_MAX_MB: float = 256
#: Exports (KML, QGIS): point layers with more rows than this label their names only when
#: highlighted or zoomed in.
LABEL_ALL_MAX_ROWS: int = 200

#: Print-map defaults (export-map, the export page).
PRINT_PAPER: str = "A4"
PRINT_ORIENTATION: str = "landscape"
PRINT_DPI: int = 300
#: Accepted print resolutions (dpi; export.printmap.check_dpi).
PRINT_DPI_MIN: int = 50
PRINT_DPI_MAX: int = 600
#: Print maps: an inset (局部放大) of the densest part is drawn when a window of
#: ``PRINT_INSET_WINDOW`` of the frame's side (in both directions) holds at least
#: ``PRINT_INSET_SHARE`` of the drawn points.
PRINT_INSET_WINDOW: float = 0.25
PRINT_INSET_SHARE: float = 0.5

#: Command line: a long analysis (coverage, hot spots, profile) reports its steps on stderr
#: once it has run this long (s); quicker runs print nothing more.
CLI_PROGRESS_AFTER_S: float = 2.0

#: Team server (PostGIS): libpq's ``require_auth`` for every connection. ``!password``
#: means the password is never sent in cleartext (SCRAM, MD5, trust and certificates
#: still work); ``$INNOMAP_PG_REQUIRE_AUTH`` overrides it (e.g. ``scram-sha-256``).
PG_REQUIRE_AUTH: str = "!password"


def default_speed_kmh(mode: str, *, method: str = "straight") -> float | None:
    """The default speed of ``mode`` (``None``: by road class, drive on a network)."""
    if mode == "drive":
        return None if method == "network" else STRAIGHT_DRIVE_KMH
    return SPEEDS_KMH[mode]
