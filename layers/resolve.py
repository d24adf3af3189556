"""Resolve layer references used by the CLI and the analysis pages.

A reference is an embedded layer key (``science_venues``), a key with a subtype
filter (``science_venues:大型场馆``, several subtypes joined with ``|``), or a
file path (a canonical point CSV for now).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from layers.filters import assign_zones
from layers.registry import REGISTRY, UnknownLayerError, load_layer

__all__ = ["resolve_layer", "resolve_layers"]


def resolve_layer(ref: str, *, default_kind: str = "enterprises") -> gpd.GeoDataFrame:
    """Load the records a reference names, in WGS84, with ``zone`` and ``layer`` columns.

    Raises
    ------
    UnknownLayerError
        For an unknown key or subtype (the message lists the valid ones).
    """
    key, _, sub = ref.partition(":")
    if key in REGISTRY:
        gdf = load_layer(key)
        if sub:
            wanted = [s for s in sub.split("|") if s]
            bad = [s for s in wanted if s not in REGISTRY[key].subtypes]
            if bad:
                raise UnknownLayerError(
                    f"图层 {key} 没有子类 {', '.join(bad)} / layer {key!r} has no subtype "
                    f"{', '.join(bad)}: choose from {', '.join(REGISTRY[key].subtypes)}"
                )
            gdf = gdf[gdf["subtype"].isin(wanted)]
        gdf = gdf.copy()
        gdf["layer"] = key
    elif Path(ref).exists():
        # any importer format (CSV/XLSX/GeoJSON/GeoPackage/Shapefile zip/KML); rows that
        # fail validation are left out here and reported by `cli.py validate`
        from layers.importer import ImportOptions, import_file

        rep = import_file(ref, ImportOptions(kind=default_kind))
        gdf = rep.valid.copy()
        gdf["layer"] = Path(ref).name
    else:
        raise UnknownLayerError(
            f"未知图层或文件 / unknown layer or file {ref!r}: use one of "
            f"{', '.join(REGISTRY)} (optionally key:subtype) or an existing file path"
        )
    if gdf.geom_type.eq("Point").all() and len(gdf):
        gdf["zone"] = assign_zones(gdf, load_layer("zones"))
    return gdf.reset_index(drop=True)


def resolve_layers(refs: list[str], **kwargs) -> gpd.GeoDataFrame:
    """Concatenate several references (ids are prefixed by layer when they clash)."""
    parts = [resolve_layer(r, **kwargs) for r in refs]
    out = pd.concat(parts, ignore_index=True) if parts else gpd.GeoDataFrame()
    if len(out) and out["id"].duplicated().any():
        out["id"] = out["layer"].astype(str) + ":" + out["id"].astype(str)
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
