"""File formats and page choices of the exports (names only: read by the command line
without loading the writers)."""

from __future__ import annotations

__all__ = [
    "LAYER_FORMATS",
    "MAP_FORMATS",
    "ORIENTATIONS",
    "PAPERS",
    "SERIES",
    "SHAPEFILE_ENCODINGS",
    "TABLE_FORMATS",
]

#: GIS layer files and attribute tables (``export-layers --format``).
LAYER_FORMATS = ("gpkg", "geojson", "shp", "kml", "kmz")
TABLE_FORMATS = ("xlsx", "csv")
#: Text encodings of Shapefile attributes (``export-layers --encoding``).
SHAPEFILE_ENCODINGS = ("UTF-8", "GBK")
#: Maps: print formats and a single-file HTML map (``export-map --format``).
MAP_FORMATS = ("png", "pdf", "svg", "html")
PAPERS = ("A4", "A3")
ORIENTATIONS = ("landscape", "portrait")
#: Map series: one map per district or zone (``export-map --series``).
SERIES = ("district", "zone")
