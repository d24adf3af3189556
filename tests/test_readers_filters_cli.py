import json

import pytest

from cli import main as cli_main
from layers.filters import LayerFilter, assign_zones, filter_layer, search_records
from layers.readers import read_points_csv
from layers.validation import LayerValidationError
from tests.conftest import XSS_NAME


def test_reader_keeps_valid_rows_and_lists_rejected(tmp_path):
    p = tmp_path / "inc.csv"
    p.write_text(
        "id,name,subtype,lon,lat,source,coord_source,coord_precision_m,synthetic\n"
        "00123,甲孵化器,孵化器,121.63,29.92,bureau list,survey,10,false\n"
        "2,,孵化器,121.63,29.92,bureau list,survey,10,false\n"
        "3,乙,孵化器,29.92,121.63,bureau list,survey,10,false\n"
        "4,丙,火箭,121.60,29.90,bureau list,survey,10,false\n"
        "00123,丁,孵化器,121.61,29.91,bureau list,survey,10,false\n",
        encoding="utf-8-sig",
    )
    res = read_points_csv(p, layer_key="incubators")
    assert res.rows_total == 5
    assert res.valid["id"].tolist() == ["00123", "4"]  # ids stay text
    assert res.rejected["row"].tolist() == [3, 4, 6]
    reasons = dict(zip(res.rejected["row"], res.rejected["reason"], strict=True))
    assert "name" in reasons[3]
    assert "swap" in reasons[4]
    # categories are open: a subtype outside the vocabulary is a warning, never a rejection
    warned = [i for i in res.issues if i.field == "subtype"]
    assert [(i.row, i.value, i.severity) for i in warned] == [(5, "火箭", "warning")]
    assert "duplicate" in reasons[6]
    assert all(i.file == "inc.csv" for i in res.issues)


def test_reader_refuses_unreadable_files(tmp_path):
    p = tmp_path / "gbk.csv"
    p.write_bytes("id,name,lon,lat\n1,宁波,121,29\n".encode("gbk"))
    with pytest.raises(LayerValidationError, match=r"gbk\.csv"):
        read_points_csv(p, layer_key="incubators")
    q = tmp_path / "nolonlat.csv"
    q.write_text("id,name\n1,a\n", encoding="utf-8")
    with pytest.raises(LayerValidationError, match="lon"):
        read_points_csv(q, layer_key="incubators")


def test_reader_reads_hostile_text_verbatim(xss_csv):
    res = read_points_csv(xss_csv, layer_key="incubators")
    assert res.valid["name"].iloc[0] == XSS_NAME


def test_filters_and_zones(embedded):
    ent = embedded["enterprises"].copy()
    ent["zone"] = assign_zones(ent, embedded["zones"])
    assert (ent["zone"] != "").mean() > 0.3
    f = filter_layer(ent, LayerFilter(subtypes=("高新技术企业",), districts=("镇海区",)))
    assert len(f) > 0
    assert set(f["subtype"]) == {"高新技术企业"} and set(f["district"]) == {"镇海区"}
    z = filter_layer(ent, LayerFilter(zone="中官路创业创新大街"))
    assert z["zone"].str.contains("中官路创业创新大街").all() and len(z) > 100
    none = filter_layer(ent, LayerFilter(include_synthetic=False))
    assert none.empty


def test_search_is_literal_and_exact_first(embedded):
    hits = search_records(embedded, "宁波大学")
    assert hits.iloc[0]["name"] == "宁波大学"
    assert len(search_records(embedded, ".*")) == 0
    assert search_records(embedded, "nottingham").iloc[0]["name"] == "宁波诺丁汉大学"


def test_cli_layers(capsys):
    assert cli_main(["layers"]) == 0
    out = capsys.readouterr().out
    for key in (
        "platforms",
        "incubators",
        "universities",
        "enterprises",
        "science_venues",
        "districts",
        "zones",
    ):
        assert key in out
    assert "EPSG:4326" in out
    assert cli_main(["layers", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    ent = next(r for r in data if r["layer"] == "enterprises")
    assert ent["rows"] == ent["synthetic_rows"] >= 3000
    with pytest.raises(SystemExit):
        cli_main(["layers", "--help"])


def _boxes():
    from hypothesis import strategies as hs

    box = hs.tuples(hs.integers(0, 8), hs.integers(0, 8), hs.integers(1, 6), hs.integers(1, 6))
    return hs.lists(hs.tuples(hs.sampled_from(["甲", "乙", "丙", ""]), box), max_size=6)


def test_assign_zones_and_the_zone_filter_agree_with_a_point_by_point_reading():
    """Law: the combined labels (one per distinct combination) are the sorted distinct names
    of the zones holding each point (a zone imported twice is one zone), as a point-by-point
    test gives, and the zone filter
    keeps exactly the points whose label lists the zone."""
    import geopandas as gpd
    import shapely
    from hypothesis import given, settings
    from hypothesis import strategies as hs

    @settings(max_examples=60, deadline=None)
    @given(_boxes(), hs.lists(hs.tuples(hs.integers(0, 14), hs.integers(0, 14)), max_size=30))
    def law(zones, xy):
        geoms = [shapely.box(x, y, x + w, y + h) for _, (x, y, w, h) in zones]
        zf = gpd.GeoDataFrame({"name": [n for n, _ in zones]}, geometry=geoms, crs=3857)
        pts = gpd.GeoDataFrame(geometry=[shapely.Point(x + 0.5, y + 0.5) for x, y in xy], crs=3857)
        got = assign_zones(pts, zf)
        want = [
            "、".join(
                sorted({n for n, g in zip(zf["name"], geoms, strict=True) if n and g.contains(p)})
            )
            for p in pts.geometry
        ]
        assert list(got) == want
        pts["zone"] = got
        for name in ("甲", "乙"):
            kept = filter_layer(pts, LayerFilter(zone=name))
            assert list(kept.index) == [i for i, w in enumerate(want) if name in w.split("、")]

    law()
