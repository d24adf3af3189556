"""Benchmark: geocode 10,000 addresses offline (target < 5 s) and against a local address
register; online throughput vs the rate.

The offline list mixes real-looking addresses from several provinces (county,
city-only and bare-county forms, a few unparseable) read through the CLI's path
(CSV → :func:`workflows.geocode.run`), timed from a cold start of the parser and
the county polygons. The online part asks a fake AMap service on 127.0.0.1 at two
rates: the achieved throughput follows the rate limit, not the code. The local part
matches variants of register addresses (full-width digits, 号楼 for 幢, 省/市 left out)
against a generated 合肥 register of ``--register-rows`` rows.

    python bench/geocode_bench.py [--rows 10000] [--register-rows 50000] [--online-rows 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import layers  # noqa: F401, E402

PLACES = [
    "浙江省宁波市鄞州区",
    "浙江省宁波市海曙区",
    "宁波市镇海区庄市街道",
    "余姚市",
    "慈溪市",
    "浙江省杭州市西湖区",
    "江苏省苏州市吴中区",
    "江苏连云港海州区",
    "北京市海淀区",
    "上海市浦东新区",
    "广东省深圳市南山区",
    "广东省广州市天河区",
    "四川省成都市武侯区",
    "湖北省武汉市洪山区",
    "陕西省西安市雁塔区",
    "安徽省合肥市蜀山区",
    "山东省青岛市崂山区",
    "福建省厦门市思明区",
    "宁波市",  # city only
    "",  # no place at all: street only
]
STREETS = ["科技路", "创业大道", "中官西路", "学士路", "聚贤路", "天童南路", "高新大道"]


def addresses(n: int) -> list[str]:
    rng = np.random.default_rng(0)
    place = rng.choice(PLACES, n)
    street = rng.choice(STREETS, n)
    return [f"{p}{s}{i}号" for i, (p, s) in enumerate(zip(place, street, strict=True))]


def offline(n: int) -> None:
    from workflows.geocode import GeocodeRequest, read_table, run

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "名单.csv"
        pd.DataFrame(
            {"企业名称": [f"某某科技有限公司{i}" for i in range(n)], "地址": addresses(n)}
        ).to_csv(p, index=False, encoding="gbk")
        t = time.perf_counter()
        table = read_table(p)
        rep = run(table, GeocodeRequest(address_col="地址", city="宁波市"))
        dt = time.perf_counter() - t
    c = rep.summary["counts"]
    print(
        f"offline: {n:,} addresses (GBK CSV) in {dt:.2f} s (target < 5 s), cold start; "
        + ", ".join(f"{k} {v:,}" for k, v in c.items() if v)
    )


def local(n: int, register_rows: int) -> None:
    import geopandas as gpd
    import shapely

    from layers.gazetteer import Gazetteer, LocalGeocoder
    from layers.geocode import OfflineGeocoder

    rng = np.random.default_rng(1)
    counties = ["瑶海区", "庐阳区", "蜀山区", "包河区", "肥东县", "肥西县"]
    chars = list("天智望江习友创新科学明珠翡翠松柏枫梧桐兰桂竹荷星月云霞彩虹锦绣繁华")
    roads = sorted({"".join(rng.choice(chars, 3)) + "路" for _ in range(3000)})
    rows = {
        (str(rng.choice(counties)), str(rng.choice(roads)), int(rng.integers(1, 2000)))
        for _ in range(register_rows)
    }
    rows = sorted(rows)
    frame = gpd.GeoDataFrame(
        {
            "address": [f"安徽省合肥市{c}{r}{k}号" for c, r, k in rows],
            "coord_precision_m": 10.0,
        },
        geometry=shapely.points(
            117.0 + rng.random(len(rows)) * 0.5, 31.6 + rng.random(len(rows)) * 0.4
        ),
        crs=4326,
    )
    picks = rng.choice(len(rows), n)
    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    queries = [f"合肥{rows[i][0]}{rows[i][1]}{str(rows[i][2]).translate(wide)}号" for i in picks]
    t = time.perf_counter()
    g = Gazetteer.from_frame(frame, name="bench")
    t_index = time.perf_counter() - t
    geocoder = LocalGeocoder(g, fallback=OfflineGeocoder())
    t = time.perf_counter()
    out = geocoder.geocode_many(queries)
    dt = time.perf_counter() - t
    hit = sum(r.source.startswith("geocode:local") for r in out)
    print(
        f"local register: {len(rows):,} rows indexed in {t_index:.2f} s; {n:,} addresses "
        f"matched in {dt:.2f} s ({hit:,} from the register)"
    )


def online(n: int) -> None:
    from tests.fake_geocoders import GOOD_KEY, FakeGeocoder
    from workflows.geocode import GeocodeRequest, run

    fake = FakeGeocoder("amap")
    try:
        for rate in (20.0, 200.0):
            m = int(n * rate / 20.0)  # about the same time at each rate
            table = pd.DataFrame({"地址": [f"宁波市鄞州区科技路{rate:g}-{i}号" for i in range(m)]})
            req = GeocodeRequest(
                address_col="地址",
                provider="amap",
                key=GOOD_KEY,
                endpoint=fake.url,
                rate_per_s=rate,
                city="宁波市",
            )
            t = time.perf_counter()
            rep = run(table, req)
            dt = time.perf_counter() - t
            print(
                f"online (fake AMap on loopback): {m} addresses at --rate {rate:g}/s: "
                f"{m / dt:.1f} per s ({rep.summary['counts']['ok']} ok)"
            )
    finally:
        fake.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--online-rows", type=int, default=60, dest="online_rows")
    ap.add_argument("--register-rows", type=int, default=50_000, dest="register_rows")
    args = ap.parse_args()
    offline(args.rows)
    if args.register_rows:
        local(args.rows, args.register_rows)
    if args.online_rows:
        online(args.online_rows)


if __name__ == "__main__":
    main()
