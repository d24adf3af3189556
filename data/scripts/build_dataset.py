"""Build the embedded Ningbo dataset (everything under ``data/`` except districts).

Real records come from ``data/sources/institutions_curated.csv`` (each row with
its source, coordinate source, precision and how it was placed). Synthetic
records (enterprises, science venues, extra maker spaces, communities) are
generated here with a fixed seed and carry ``synthetic=True`` and a source
naming this script.

Zones are drawn approximately from their published road-bounded descriptions:
simple shapes placed over the described area whose area is calibrated to the
published figure, flagged ``approximate``. The 甬江科创大走廊 core is built from
the landmarks its plan names (two parts, north and south), the 中官路 zone is
kept north of the 甬江 (镇海区 and 江北区 only).

Honest precision: a point placed on a corridor axis gets at least half the
axis length, a district-level placement at least the district's equivalent
radius sqrt(area/pi), a point placed inside a zone at least its distance to the
zone's farthest point, a campus point at least 500 m.

Run from the repository root (after ``build_districts.py``)::

    python data/scripts/build_dataset.py
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.affinity import scale
from shapely.geometry import LineString, Point, Polygon, box

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from layers.registry import SCIENCE_VENUE_TYPES  # noqa: E402

SEED = 20261122
DATA = ROOT / "data"
METRIC = "EPSG:32651"  # WGS84 / UTM 51N: Ningbo lies at 121–122°E
SYN_SOURCE = f"synthetic: data/scripts/build_dataset.py (seed {SEED}); not real records"
SYN_COORD = "synthetic: generated position, not a real location"
#: Precision of a synthetic record: the generator placed it at exactly its coordinates
#: (written with 6 decimals, ≤ 0.1 m); its ``synthetic`` flag says it is no real firm.
SYN_PRECISION_M = 1.0
CAMPUS_MIN_M = 500.0

# Published documents (every source a user can open or look up)
SRC_CORRIDOR = (
    "宁波甬江科创大走廊空间规划(2019–2035)批后公布, 宁波市自然资源和规划局 2020-11-26 "
    "http://zgj.ningbo.gov.cn/art/2020/11/26/art_1229045918_58928367.html"
)
SRC_START = (
    "甬江科创启动区规划公示(批前), 宁波都市传媒网 2022-01-29 "
    "http://www.efang.tv/news/2022/0129/72384.html"
)
SRC_NMC = (
    "宁波新材料科技城核心区总体规划公示, 中国宁波网 2015-06-11 "
    "http://news.cnnb.com.cn/system/2015/06/11/008335820.shtml"
)
SRC_FENGMAO = (
    "宁波镇海:科创策源特色产业风貌区, 浙江在线 2022-04-15 "
    "http://cs.zjol.com.cn/ztdmqzzj/dmzj/dmzjnb/202204/t20220415_24089006.shtml"
)
SRC_ZGL = (
    "中官路创业创新大街入选首批省级双创示范基地, 宁波市科技局 (2017-06-09) "
    "https://zjfhq.com/portal/article/304"
)
SRC_SEED000 = (
    "镇海区“十三五”科技创新规划 (2016) http://qyzc.ningbo.gov.cn/art/2016/12/15/art_5946_13.html"
)


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


def _polygon_m(coords):
    x, y = _to_metric([c[0] for c in coords], [c[1] for c in coords])
    return Polygon(np.column_stack([x, y]))


def _box_m(lon0, lat0, lon1, lat1):
    x, y = _to_metric([lon0, lon1], [lat0, lat1])
    return box(x[0], y[0], x[1], y[1])


def _bisect(area_of, target_km2: float, lo: float, hi: float) -> float:
    """The parameter in ``[lo, hi]`` at which the increasing ``area_of`` hits the target."""
    for _ in range(60):
        mid = (lo + hi) / 2
        if area_of(mid) / 1e6 < target_km2:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _buffer_to_area(line_m, target_km2: float, clip=None):
    """A flat-capped band along ``line_m`` (clipped to ``clip``) of ``target_km2``."""

    def band(w):
        g = line_m.buffer(w, cap_style="flat")
        return g if clip is None else g.intersection(clip)

    return band(_bisect(lambda w: band(w).area, target_km2, 10.0, 20000.0))


def _grow_to_area(poly_m, target_km2: float, land):
    """Grow or shrink ``poly_m`` by a uniform buffer (clipped to land) to ``target_km2``.

    Returns the polygon and the buffer distance used (metres, negative = shrunk).
    """

    def grown(d):
        return poly_m.buffer(d, join_style="mitre").intersection(land)

    d = _bisect(lambda v: grown(v).area, target_km2, -3000.0, 3000.0)
    return grown(d), d


def _ceil_m(value: float, step: float = 100.0) -> float:
    return float(math.ceil(value / step) * step)


#: 中官路 axis: 中官西路 runs east–west about 1.5 km north of 宁波大学 (29.9111 N), i.e. at
#: ≈ 29.9246 N; east of 庄市 the street is drawn north-east along the 甬江's north bank,
#: at least 1.2 km from it (镇海区), schematic.
ZHONGGUAN_AXIS = [
    (121.590, 29.9246),
    (121.620, 29.9246),
    (121.645, 29.9250),
    (121.658, 29.9335),
    (121.672, 29.9460),
    (121.690, 29.9575),
]
ZHONGGUAN_AXIS_PRECISION_M = 1000.0
YONGJIANG_RIVER = [
    (121.556, 29.874),
    (121.585, 29.880),
    (121.615, 29.890),
    (121.645, 29.905),
    (121.680, 29.930),
    (121.715, 29.955),
]

#: 甬江科创大走廊 core, north part (83 km²): vertices placed at the landmarks named in the
#: plan (W 三江口/余姚江岸线, N 镇海大道, E 320 骆霞线北仑段) and at the roads bounding the
#: 新材料科技城 inside it (世纪大道, 绕城高速, 东外环, 通途路). Positions estimated (±2 km).
CORRIDOR_NORTH = [
    (121.553, 29.876),  # 三江口, 余姚江/甬江 north bank
    (121.572, 29.893),  # 文创港, 甬江 north bank (江北)
    (121.588, 29.905),  # 世纪大道 (north extension)
    (121.588, 29.945),  # 世纪大道 × 绕城高速
    (121.650, 29.950),  # 绕城高速 / 镇海大道
    (121.680, 29.959),  # 镇海大道
    (121.705, 29.967),  # 镇海大道 (east)
    (121.718, 29.967),  # 甬江口 north bank (招宝山)
    (121.733, 29.955),  # 320 骆霞线北仑段, north end
    (121.728, 29.938),  # 320 骆霞线北仑段
    (121.700, 29.929),  # 甬江 south bank (北仑)
    (121.670, 29.910),  # 甬江 south bank (北仑)
    (121.655, 29.878),  # 东外环 × 通途路
    (121.600, 29.872),  # 通途路
    (121.560, 29.868),  # 三江口, 甬江 south bank
]
#: South part (53 km²): its published edges are 南高教园区学士路 (west) and the 甬台温高速公路
#: 复线 (south); the north and east edges are not published, so the part is drawn as a
#: square from that south-west corner whose area is the published 53 km².
CORRIDOR_SOUTH_SW = (121.549, 29.785)  # 学士路 × 甬台温高速公路复线 (estimated, ±2 km)
CORRIDOR_PRECISION_M = 2000.0

#: 镇海科创策源特色产业风貌区 (1.64 km²): south edge on 中官西路 (≈ 29.9246 N); 归源路 (W) and
#: 逸夫路 (E) estimated so that its named anchors 中科院宁波材料所 (north side of 中官西路)
#: and 甬江实验室 lie inside.
FENGMAO_SW = (121.627, 29.9246)
FENGMAO_WIDTH_M = 1350.0


def _corridor(land):
    """The two-part 甬江科创大走廊 core (metric) and a note on how it was built."""
    north0 = _polygon_m(CORRIDOR_NORTH).intersection(land)
    north, d = _grow_to_area(north0, 83.0, land)
    x0, y0 = (v[0] for v in _to_metric([CORRIDOR_SOUTH_SW[0]], [CORRIDOR_SOUTH_SW[1]]))
    side = math.sqrt(53.0e6)
    south = box(x0, y0, x0 + side, y0 + side).intersection(land)
    south, d_s = _grow_to_area(south, 53.0, land)
    geom = shapely.union(north, south)
    parts = shapely.get_parts(geom)
    if len(parts) != 2:
        raise RuntimeError(f"corridor should have 2 parts, got {len(parts)}")
    method = (
        "constructed from described landmarks (三江口, 世纪大道, 绕城高速, 镇海大道, 320骆霞线, "
        f"东外环, 通途路; 学士路, 甬台温高速复线): north part buffered {d:+.0f} m to 83 km², "
        f"south part a 53 km² square (buffer {d_s:+.0f} m); ±{CORRIDOR_PRECISION_M:.0f} m"
    )
    return geom, method


def _fengmao():
    x0, y0 = (v[0] for v in _to_metric([FENGMAO_SW[0]], [FENGMAO_SW[1]]))
    return box(x0, y0, x0 + FENGMAO_WIDTH_M, y0 + 1.64e6 / FENGMAO_WIDTH_M)


def build_zones(districts: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Zones and corridor axes (WGS84), drawn from the published descriptions."""
    dm = districts.to_crs(METRIC)
    land = shapely.union_all(dm.geometry.values)
    north_bank = shapely.union_all(dm[dm["name"].isin(["镇海区", "江北区"])].geometry.values)
    note_common = "示意边界: 按公布的道路四至示意绘制, 面积按公布数值校准; 不可用于精确量算"
    corridor, corridor_method = _corridor(land)
    axis_m = _line_m(ZHONGGUAN_AXIS)
    zones = [
        {
            "id": "Z01",
            "name": "宁波甬江科创大走廊核心区",
            "subtype": "科创走廊",
            "area_published_km2": 136.0,
            "geom": corridor,
            "boundary_note": note_common
            + "。核心区136平方公里, 北片83、南片53平方公里。北至镇海大道, 南至甬台温高速公路复线, "
            "西至三江口余姚江河岸线、南高教园区学士路, 东至320骆霞线北仑段; 南片北、东边界未公布",
            "source": SRC_CORRIDOR,
            "coord_source": corridor_method,
            "coord_precision_m": CORRIDOR_PRECISION_M,
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
            "source": SRC_START,
            "as_of": "2022-01",
        },
        {
            "id": "Z03",
            "name": "宁波新材料科技城核心区",
            "subtype": "科技城",
            "area_published_km2": 58.3,
            "geom": _calibrated(_box_m(121.585, 29.872, 121.650, 29.940), 58.3),
            "boundary_note": note_common + "。南至通途路, 北至绕城高速, 东至东外环, 西至世纪大道",
            "source": SRC_NMC,
            "as_of": "2015-06",
        },
        {
            "id": "Z04",
            "name": "镇海科创策源特色产业风貌区",
            "subtype": "风貌区",
            "area_published_km2": 1.64,
            "geom": _fengmao(),
            "boundary_note": note_common
            + "。北至同心路/钟包路, 南至中官西路, 西至归源路, 东至逸夫路(庄市街道); "
            "依托中科院宁波材料所、国科大宁波材料学院, 含新材料小镇客厅+甬江实验室",
            "source": SRC_FENGMAO,
            "coord_source": "digitised approximately: south edge on 中官西路, width 1.35 km "
            "estimated so that the named anchors lie inside, height from the published area",
            "as_of": "2022-04",
        },
        {
            "id": "Z05",
            "name": "中官路创业创新大街",
            "subtype": "创业大街",
            "area_published_km2": 25.0,
            "geom": _buffer_to_area(axis_m, 25.0, clip=north_bank),
            "boundary_note": note_common
            + "。约25平方公里, 沿中官路两侧绘制, 仅在甬江北岸(镇海区、江北区); "
            "中官西路在宁波大学主校区以北约1.5公里",
            "source": f"{SRC_ZGL}; {SRC_SEED000}",
            "coord_source": "band along the 中官路 axis (A01) clipped to 镇海区/江北区 "
            "(north of the 甬江), width calibrated to the published area",
            "coord_precision_m": 1500.0,
            "level": "省级",
            "level_source": SRC_ZGL,
            "as_of": "2017-06",
        },
    ]
    zdf = gpd.GeoDataFrame(
        [{k: v for k, v in z.items() if k != "geom"} for z in zones],
        geometry=[shapely.make_valid(z["geom"]) for z in zones],
        crs=METRIC,
    ).to_crs(4326)
    zdf["kind"] = "片区"
    zdf["level"] = zdf["level"].fillna("未核实")
    zdf["level_source"] = zdf["level_source"].fillna("")
    zdf["address"] = ""
    zdf["coord_source"] = zdf["coord_source"].fillna(
        "digitised approximately from road-bounded description"
    )
    zdf["coord_precision_m"] = zdf["coord_precision_m"].fillna(1000.0)
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
                "level_source": "",
                "address": "",
                "source": f"{SRC_ZGL}; {SRC_SEED000}",
                "coord_source": "digitised approximately: west part along 中官西路 (≈1.5 km north "
                "of 宁波大学), east part schematic along the 甬江 north bank (镇海区)",
                "coord_precision_m": ZHONGGUAN_AXIS_PRECISION_M,
                "synthetic": False,
                "as_of": "2017-06",
                "approximate": True,
                "boundary_note": "示意轴线, 沿中官路绘制, 全部位于甬江北岸(镇海区、江北区)",
            }
        ],
        geometry=[axis_m],
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


def place_curated(districts: gpd.GeoDataFrame) -> pd.DataFrame:
    """Read the curated records and apply their placement rules.

    ``placement`` says how each point was placed: ``campus`` (a point for a whole
    campus, precision ≥ 500 m), ``axis:<axis id>`` (moved onto the axis, precision ≥
    half its length), ``zone:<zone id>`` (put at the zone's centroid, precision ≥ the
    distance to its farthest point), ``district:<name>`` (precision ≥ the district's
    equivalent radius), or ``site``/``address``/``near:…``/``street:…`` (precision as
    stated). Precision is rounded up to 100 m; the rule applied is appended to
    ``coord_source``.
    """
    cur = pd.read_csv(DATA / "sources/institutions_curated.csv", dtype=str, keep_default_na=False)
    cur["synthetic"] = False
    kinds = {"platforms": "平台", "incubators": "孵化载体", "universities": "高校院所"}
    cur["kind"] = cur["layer"].map(kinds)
    cur["level"] = cur["level"].replace("", "未核实")
    zones, axes = build_zones(districts)
    zones_m = zones.set_index("id").to_crs(METRIC).geometry
    axes_m = axes.set_index("id").to_crs(METRIC).geometry
    dm = districts.set_index("name").to_crs(METRIC).geometry
    x, y = (v.copy() for v in _to_metric(cur["lon"].astype(float), cur["lat"].astype(float)))
    prec = cur["coord_precision_m"].astype(float).to_numpy().copy()
    notes = [""] * len(cur)
    for i, placement in enumerate(cur["placement"]):
        kind, _, ref = placement.partition(":")
        need = 0.0
        if kind == "campus":
            need = CAMPUS_MIN_M
            notes[i] = f"; precision ≥ {CAMPUS_MIN_M:.0f} m (campus size)"
        elif kind == "axis":
            line = axes_m[ref]
            p = line.interpolate(line.project(Point(x[i], y[i])))
            x[i], y[i] = p.x, p.y
            need = line.length / 2
            notes[i] = f"; precision ≥ half the {line.length / 1000:.1f} km axis"
        elif kind == "zone":
            zone = zones_m[ref]
            p = zone.centroid
            x[i], y[i] = p.x, p.y
            need = max(p.hausdorff_distance(zone), math.sqrt(zone.area / math.pi))
            notes[i] = f"; precision = farthest point of zone {ref} from the placed point"
        elif kind == "district":
            area = dm[ref].area
            need = math.sqrt(area / math.pi)
            notes[i] = f"; precision ≥ equivalent radius of {ref} ({area / 1e6:.0f} km²)"
        prec[i] = _ceil_m(max(prec[i], need))
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=METRIC).to_crs(4326)
    cur["lon"] = pts.x.round(6).astype(str).to_numpy()
    cur["lat"] = pts.y.round(6).astype(str).to_numpy()
    cur["coord_precision_m"] = prec
    cur["coord_source"] = cur["coord_source"] + pd.Series(notes, index=cur.index)
    return cur


def build_points(districts: gpd.GeoDataFrame):
    rng = np.random.default_rng(SEED)
    dm = districts.to_crs(METRIC)
    land = shapely.union_all(dm.geometry.values)
    shapely.prepare(land)
    urban_names = {"海曙区", "江北区", "北仑区", "镇海区", "鄞州区"}
    urban = shapely.union_all(dm[dm["name"].isin(urban_names)].geometry.values)
    shapely.prepare(urban)

    cur = place_curated(districts)
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
            "coord_precision_m": SYN_PRECISION_M,
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
                    "coord_precision_m": SYN_PRECISION_M,
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
            "coord_precision_m": SYN_PRECISION_M,
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
            "coord_precision_m": SYN_PRECISION_M,
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
    zones, axis = build_zones(districts)
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
