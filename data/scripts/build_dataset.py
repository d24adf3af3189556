"""Build the embedded Ningbo dataset (everything under ``data/`` except districts).

Real records come from ``data/sources/institutions_curated.csv`` (each row with
its source, coordinate source and precision). Synthetic records (enterprises,
science venues, extra maker spaces) are generated here with a fixed seed and
carry ``synthetic=True`` and a source naming this script.

Zones are digitised approximately from their road-bounded descriptions
(``shared/reference/ningbo-facts.md``): simple shapes placed over the described
area whose area is scaled to the published figure, flagged ``approximate``.

Run from the repository root (after ``build_districts.py``)::

    python data/scripts/build_dataset.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.affinity import scale
from shapely.geometry import LineString, box

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from layers.registry import SCIENCE_VENUE_TYPES  # noqa: E402

SEED = 20261122
DATA = ROOT / "data"
METRIC = "EPSG:32651"  # WGS84 / UTM 51N: Ningbo lies at 121–122°E
SYN_SOURCE = f"synthetic: data/scripts/build_dataset.py (seed {SEED}); not real records"
SYN_COORD = "synthetic: generated position, not a real location"
REF = "shared/reference/ningbo-facts.md"


def _to_metric(lon, lat):
    pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(METRIC)
    return pts.x.to_numpy(), pts.y.to_numpy()


def _calibrated(geom_m, target_km2: float):
    """Scale a metric geometry about its centroid so its area is ``target_km2``."""
    f = np.sqrt(target_km2 * 1e6 / geom_m.area)
    return scale(geom_m, xfact=f, yfact=f, origin="centroid")


def _line_m(coords):
    x, y = _to_metric([c[0] for c in coords], [c[1] for c in coords])
    return LineString(np.column_stack([x, y]))


def _box_m(lon0, lat0, lon1, lat1):
    x, y = _to_metric([lon0, lon1], [lat0, lat1])
    return box(x[0], y[0], x[1], y[1])


def _buffer_to_area(line_m, target_km2: float):
    lo, hi = 10.0, 20000.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if line_m.buffer(mid, cap_style="flat").area / 1e6 < target_km2:
            lo = mid
        else:
            hi = mid
    return line_m.buffer((lo + hi) / 2, cap_style="flat")


ZHONGGUAN_AXIS = [
    (121.590, 29.9255),
    (121.635, 29.9260),
    (121.665, 29.9300),
    (121.700, 29.9370),
]
YONGJIANG_RIVER = [
    (121.556, 29.874),
    (121.585, 29.880),
    (121.615, 29.890),
    (121.645, 29.905),
    (121.680, 29.930),
    (121.715, 29.955),
]


def build_zones() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    note_common = "示意边界: 按公布的道路四至示意绘制, 面积按公布数值校准; 不可用于精确量算"
    zones = [
        {
            "id": "Z01",
            "name": "宁波甬江科创大走廊核心区",
            "subtype": "科创走廊",
            "area_published_km2": 136.0,
            "geom": _buffer_to_area(_line_m(YONGJIANG_RIVER), 136.0),
            "boundary_note": note_common
            + "。北至镇海大道, 南至甬台温高速公路复线, 西至三江口/余姚江及南高教园区学士路, "
            "东至320骆霞线(北仑段); 沿甬江两岸绘制",
            "source": "宁波甬江科创大走廊空间规划(2019–2035), 宁波市自然资源和规划局 2020-11-26; "
            + REF,
            "as_of": "2020-11",
        },
        {
            "id": "Z02",
            "name": "甬江科创启动区",
            "subtype": "科创区",
            "area_published_km2": 25.5,
            "geom": _calibrated(_box_m(121.603, 29.876, 121.652, 29.918), 25.5),
            "boundary_note": note_common
            + "。北至雄镇路–绕城高速–风华路, 南至江南路–陈山, 西至东环路, 东至隧道路",
            "source": "甬江科创区启动区规划公示(2022); " + REF,
            "as_of": "2022",
        },
        {
            "id": "Z03",
            "name": "宁波新材料科技城核心区",
            "subtype": "科技城",
            "area_published_km2": 58.3,
            "geom": _calibrated(_box_m(121.585, 29.872, 121.650, 29.940), 58.3),
            "boundary_note": note_common + "。南至通途路, 北至绕城高速, 东至东外环, 西至世纪大道",
            "source": "宁波新材料科技城核心区规划(2015); " + REF,
            "as_of": "2015",
        },
        {
            "id": "Z04",
            "name": "镇海科创策源特色产业风貌区",
            "subtype": "风貌区",
            "area_published_km2": 1.64,
            "geom": _calibrated(_box_m(121.626, 29.9265, 121.641, 29.9345), 1.64),
            "boundary_note": note_common
            + "。北至同心路/钟包路, 南至中官西路, 西至归源路, 东至逸夫路(庄市街道)",
            "source": "镇海区特色产业风貌区(2022); " + REF,
            "as_of": "2022",
        },
        {
            "id": "Z05",
            "name": "中官路创业创新大街",
            "subtype": "创业大街",
            "area_published_km2": 25.0,
            "geom": _buffer_to_area(_line_m(ZHONGGUAN_AXIS), 25.0),
            "boundary_note": note_common
            + "。约25平方公里(媒体报道, 待核实), 沿中官路两侧绘制; 中官西路在宁波大学主校区以北约1.5公里",
            "source": "seed 000 镇海区“十三五”科技创新规划(2016); " + REF,
            "as_of": "2016-12",
        },
    ]
    zdf = gpd.GeoDataFrame(
        [{k: v for k, v in z.items() if k != "geom"} for z in zones],
        geometry=[z["geom"] for z in zones],
        crs=METRIC,
    ).to_crs(4326)
    zdf["kind"] = "片区"
    zdf["level"] = "未核实"
    zdf["address"] = ""
    zdf["coord_source"] = "digitised approximately from road-bounded description"
    zdf["coord_precision_m"] = 1000.0
    zdf["synthetic"] = False
    zdf["approximate"] = True

    axis = gpd.GeoDataFrame(
        [
            {
                "id": "A01",
                "name": "中官路创业创新大街轴线",
                "kind": "走廊轴线",
                "subtype": "轴线",
                "level": "未核实",
                "address": "",
                "source": "seed 000 (2016); " + REF,
                "coord_source": "digitised approximately along 中官路",
                "coord_precision_m": 500.0,
                "synthetic": False,
                "as_of": "2016-12",
                "approximate": True,
                "boundary_note": "示意轴线, 沿中官路绘制",
            }
        ],
        geometry=[_line_m(ZHONGGUAN_AXIS)],
        crs=METRIC,
    ).to_crs(4326)
    return zdf, axis


def _assign_district(gdf: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> pd.Series:
    joined = gpd.sjoin(
        gdf[["geometry"]], districts[["name", "geometry"]], how="left", predicate="within"
    )
    joined = joined[~joined.index.duplicated()]
    return joined["name"].fillna("")


def _sample_in_land(rng, n, sampler, land_m, max_rounds=200):
    """Draw ``n`` metric points from ``sampler`` that fall inside ``land_m``."""
    out_x, out_y = [], []
    need = n
    for _ in range(max_rounds):
        x, y = sampler(max(need * 2, 16))
        ok = shapely.contains_xy(land_m, x, y)
        out_x.extend(x[ok][:need])
        out_y.extend(y[ok][:need])
        need = n - len(out_x)
        if need <= 0:
            break
    if need > 0:
        raise RuntimeError("could not place synthetic points on land")
    return np.array(out_x), np.array(out_y)


def build_points(districts: gpd.GeoDataFrame):
    rng = np.random.default_rng(SEED)
    dm = districts.to_crs(METRIC)
    land = shapely.union_all(dm.geometry.values)
    shapely.prepare(land)
    urban_names = {"海曙区", "江北区", "北仑区", "镇海区", "鄞州区"}
    urban = shapely.union_all(dm[dm["name"].isin(urban_names)].geometry.values)
    shapely.prepare(urban)

    cur = pd.read_csv(DATA / "sources/institutions_curated.csv", dtype=str, keep_default_na=False)
    cur["synthetic"] = False
    kinds = {"platforms": "平台", "incubators": "孵化载体", "universities": "高校院所"}
    cur["kind"] = cur["layer"].map(kinds)
    cur["level"] = cur["level"].replace("", "未核实")
    ax, ay = _to_metric(cur["lon"].astype(float), cur["lat"].astype(float))
    anchors = np.column_stack([ax, ay])
    axis = _line_m(ZHONGGUAN_AXIS)
    river = _line_m(YONGJIANG_RIVER)

    def along(line, n, sd):
        t = rng.uniform(0, line.length, n)
        pts = shapely.line_interpolate_point(line, t)
        return shapely.get_x(pts) + rng.normal(0, sd, n), shapely.get_y(pts) + rng.normal(0, sd, n)

    def near_anchors(n, sd_lo=400, sd_hi=1500):
        idx = rng.integers(0, len(anchors), n)
        sd = rng.uniform(sd_lo, sd_hi, n)
        return anchors[idx, 0] + rng.normal(0, 1, n) * sd, anchors[idx, 1] + rng.normal(
            0, 1, n
        ) * sd

    ub = urban.bounds

    def background(n):
        return rng.uniform(ub[0], ub[2], n), rng.uniform(ub[1], ub[3], n)

    # ---- synthetic enterprises
    n_ent = {"anchor": 2000, "axis": 700, "river": 500, "bg": 800}
    xs, ys = [], []
    for part, n in n_ent.items():
        sampler = {
            "anchor": near_anchors,
            "axis": lambda k: along(axis, k, 600),
            "river": lambda k: along(river, k, 1500),
            "bg": background,
        }[part]
        land_for = land if part != "bg" else urban
        x, y = _sample_in_land(rng, n, sampler, land_for)
        xs.append(x)
        ys.append(y)
    ex, ey = np.concatenate(xs), np.concatenate(ys)
    n = len(ex)
    subtype = rng.choice(["高新技术企业", "科技型中小企业", "专精特新企业"], n, p=[0.4, 0.5, 0.1])
    level = np.where(
        subtype == "高新技术企业",
        "国家级",
        np.where(subtype == "专精特新企业", rng.choice(["省级", "市级"], n), "未核实"),
    )
    employees = np.round(rng.lognormal(np.log(40), 1.0, n)).clip(3, 5000)
    rd = np.round(employees * rng.lognormal(np.log(2.5), 0.6, n), 1)
    ent = pd.DataFrame(
        {
            "id": [f"E{i:05d}" for i in range(1, n + 1)],
            "name": [f"模拟企业{i:05d}" for i in range(1, n + 1)],
            "kind": "企业",
            "subtype": subtype,
            "level": level,
            "address": "(模拟数据, 无地址)",
            "source": SYN_SOURCE,
            "coord_source": SYN_COORD,
            "coord_precision_m": 1000.0,
            "synthetic": True,
            "as_of": "2026-11",
            "employees": employees,
            "rd_spend_wan": rd,
        }
    )
    egdf = gpd.GeoDataFrame(ent, geometry=gpd.points_from_xy(ex, ey), crs=METRIC).to_crs(4326)

    # ---- synthetic science venues (seven local venue types)
    counts = dict(zip(SCIENCE_VENUE_TYPES, (3, 25, 100, 20, 50, 30, 60), strict=True))
    rows, gx, gy = [], [], []
    i = 0
    for vtype, k in counts.items():
        if vtype == "农业科普基地":
            sampler, region = (lambda m: background(m)), land
            lb = land.bounds

            def sampler(m, lb=lb):
                return rng.uniform(lb[0], lb[2], m), rng.uniform(lb[1], lb[3], m)
        elif vtype in ("企业科技馆",):

            def sampler(m):
                j = rng.integers(0, n, m)
                return ex[j] + rng.normal(0, 50, m), ey[j] + rng.normal(0, 50, m)

            region = land
        elif vtype == "学校科技馆":
            sampler, region = (lambda m: near_anchors(m, 300, 3000)), land
        else:

            def sampler(m):
                half = m // 2
                a = near_anchors(half, 800, 4000)
                b = background(m - half)
                return np.concatenate([a[0], b[0]]), np.concatenate([a[1], b[1]])

            region = urban
        x, y = _sample_in_land(rng, k, sampler, region)
        for _ in range(k):
            i += 1
            rows.append(
                {
                    "id": f"V{i:04d}",
                    "name": f"模拟{vtype}{i:04d}",
                    "kind": "科普场馆",
                    "subtype": vtype,
                    "level": rng.choice(["市级", "区级"]) if vtype != "大型场馆" else "市级",
                    "address": "(模拟数据, 无地址)",
                    "source": SYN_SOURCE,
                    "coord_source": SYN_COORD,
                    "coord_precision_m": 1000.0,
                    "synthetic": True,
                    "as_of": "2026-11",
                }
            )
        gx.append(x)
        gy.append(y)
    vgdf = gpd.GeoDataFrame(
        rows, geometry=gpd.points_from_xy(np.concatenate(gx), np.concatenate(gy)), crs=METRIC
    ).to_crs(4326)

    # ---- synthetic maker spaces (the seeds name "10余个" planned ones without lists)
    k = 24
    x, y = _sample_in_land(rng, k, lambda m: along(river, m, 2500), urban)
    maker = pd.DataFrame(
        {
            "id": [f"I9{i:02d}" for i in range(1, k + 1)],
            "layer": "incubators",
            "name": [f"模拟众创空间{i:02d}" for i in range(1, k + 1)],
            "name_en": [f"Synthetic maker space {i:02d}" for i in range(1, k + 1)],
            "kind": "孵化载体",
            "subtype": rng.choice(["众创空间", "孵化器", "加速器"], k, p=[0.6, 0.3, 0.1]),
            "level": rng.choice(["市级", "区级"], k),
            "address": "(模拟数据, 无地址)",
            "source": SYN_SOURCE,
            "coord_source": SYN_COORD,
            "coord_precision_m": 1000.0,
            "synthetic": True,
            "as_of": "2026-11",
            "floor_area_m2": np.round(rng.uniform(1000, 20000, k), -2),
            "incubated_firms": rng.integers(10, 120, k).astype(float),
        }
    )
    mgdf = gpd.GeoDataFrame(maker, geometry=gpd.points_from_xy(x, y), crs=METRIC).to_crs(4326)

    # ---- synthetic communities (residents) for population coverage
    k = 360
    half = k // 2
    xa, ya = _sample_in_land(rng, half, lambda m: near_anchors(m, 1000, 5000), urban)
    xb, yb = _sample_in_land(rng, k - half, background, urban)
    cx, cy = np.concatenate([xa, xb]), np.concatenate([ya, yb])
    comm = pd.DataFrame(
        {
            "id": [f"C{i:04d}" for i in range(1, k + 1)],
            "name": [f"模拟社区{i:04d}" for i in range(1, k + 1)],
            "kind": "社区",
            "subtype": rng.choice(["社区", "村"], k, p=[0.8, 0.2]),
            "level": "未核实",
            "address": "(模拟数据, 无地址)",
            "source": SYN_SOURCE,
            "coord_source": SYN_COORD,
            "coord_precision_m": 1000.0,
            "synthetic": True,
            "as_of": "2026-11",
            "population": np.round(rng.lognormal(np.log(5000), 0.6, k), -1),
        }
    )
    cgdf = gpd.GeoDataFrame(comm, geometry=gpd.points_from_xy(cx, cy), crs=METRIC).to_crs(4326)

    inst = gpd.GeoDataFrame(
        cur,
        geometry=gpd.points_from_xy(cur["lon"].astype(float), cur["lat"].astype(float)),
        crs=4326,
    ).drop(columns=["lon", "lat"])
    inst = pd.concat([inst, mgdf], ignore_index=True)
    return inst, egdf, vgdf, cgdf


def _write_points_csv(gdf: gpd.GeoDataFrame, path: Path, districts) -> None:
    out = gdf.copy()
    out["district"] = _assign_district(out, districts).to_numpy()
    out["lon"] = out.geometry.x.round(6)
    out["lat"] = out.geometry.y.round(6)
    out = pd.DataFrame(out.drop(columns="geometry"))
    out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    print(f"wrote {path.relative_to(ROOT)}: {len(out)} rows")


def main() -> None:
    districts = gpd.read_file(DATA / "districts.geojson")
    zones, axis = build_zones()
    zones["district"] = [
        ",".join(districts[districts.intersects(g)]["name"]) for g in zones.geometry
    ]
    axis["district"] = [",".join(districts[districts.intersects(g)]["name"]) for g in axis.geometry]
    zones.to_file(DATA / "zones.geojson", driver="GeoJSON", COORDINATE_PRECISION=6)
    axis.to_file(DATA / "corridor_axes.geojson", driver="GeoJSON", COORDINATE_PRECISION=6)
    print(f"wrote zones ({len(zones)}) and corridor axes ({len(axis)})")
    inst, ent, ven, comm = build_points(districts)
    _write_points_csv(comm, DATA / "communities.csv", districts)
    _write_points_csv(inst, DATA / "institutions.csv", districts)
    _write_points_csv(ent, DATA / "enterprises.csv", districts)
    _write_points_csv(ven, DATA / "science_venues.csv", districts)


if __name__ == "__main__":
    main()
