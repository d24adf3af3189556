"""The choices requests accept (names only: read by the command line and the pages
without loading the analyses)."""

from __future__ import annotations

__all__ = [
    "CLUSTER_METHODS",
    "LANGUAGES",
    "METRIC_CRS_SYSTEMS",
    "MODES",
    "PRESETS",
    "REACH_METHODS",
    "REPORT_FORMATS",
    "SITING_MODELS",
    "SITING_SOLVERS",
]

#: Travel modes and reach methods (coverage, siting, profile).
MODES = ("walk", "bike", "drive")
REACH_METHODS = ("network", "straight")
#: Coverage presets (GB 50180-2018 life circles).
PRESETS = ("gb50180",)
#: Clustering methods.
CLUSTER_METHODS = ("dbscan", "hdbscan")
#: Siting models and solvers.
SITING_MODELS = ("mclp", "lscp", "pmedian")
SITING_SOLVERS = ("exact", "heuristic", "auto")
#: Report file formats.
REPORT_FORMATS = ("docx", "pdf")
#: Languages of names and labels (Chinese first).
LANGUAGES = ("zh", "en")
#: Metric CRS of a new project (:func:`layers.project.metric_crs_for`): UTM or CGCS2000 GK 3°.
METRIC_CRS_SYSTEMS = ("utm", "gk3")
