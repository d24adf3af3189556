"""AppTest of the import page with planners' geographic files (issue 23): the layer list of a
multi-folder KML, the CRS question for a GeoJSON named 高德 and for CAD metres without a zone
prefix, and a corridor axis as its own kind."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from layers.crs import wgs84_to_gcj02
from layers.project import create_project, open_project
from tests.conftest import app_on_page
from tests.test_import_geo_sources import AXIS, ZONES, _dxf, _metres, _rect, kml_text


@pytest.fixture(scope="module")
def hf_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "hf.gpkg"
    create_project(path, name="合肥测试", city="合肥市", counties=["蜀山区", "包河区"])
    return path


@pytest.fixture()
def app(tmp_path, hf_template, monkeypatch):
    proj = tmp_path / "p.gpkg"
    proj.write_bytes(hf_template.read_bytes())
    return app_on_page(monkeypatch, proj, tmp_path / "home", "import_page"), proj


def _frame(at, column):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_kml_layer_list_and_add(app, tmp_path):
    at, proj = app
    p = tmp_path / "奥维科普场馆.kml"
    p.write_text(kml_text(), encoding="utf-8")
    at.session_state["imp_path"] = str(p)
    at.run()
    at.selectbox(key="imp_kind").set_value("science_venues").run()
    assert not at.exception, at.exception
    layers = _frame(at, "图层/文件夹")
    assert list(layers["图层/文件夹"]) == [
        "科技馆",
        "科普基地",
        "科普基地/学校",
        "企业科技馆",
        "踏勘轨迹",
    ]
    assert list(layers["符合图层类别"]) == [2, 1, 1, 1, 0]
    assert [m.value for m in at.metric][:3] == ["6", "5", "1"]
    # the layer choice lists every folder after "all"; one folder can be picked
    assert at.selectbox(key="imp_layer").options[1:] == [
        "科技馆",
        "科普基地",
        "科普基地/学校",
        "企业科技馆",
        "踏勘轨迹",
    ]
    at.button(key="imp_add").click().run()
    assert not at.exception, at.exception
    kept = open_project(proj).layers["奥维科普场馆"]
    assert kept.rows == 5 and set(kept.gdf["folder"]) == {
        "科技馆",
        "科普基地",
        "科普基地/学校",
        "企业科技馆",
    }
    assert "备注" in kept.gdf.columns and len(kept.rejected) == 1


def test_gaode_geojson_asks_for_its_crs(app, tmp_path):
    at, proj = app
    lon, lat = np.array([117.25, 117.30]), np.array([31.84, 31.86])
    p = tmp_path / "场馆_高德GCJ02.geojson"
    gpd.GeoDataFrame(
        {"name": ["甲", "乙"]}, geometry=shapely.points(*wgs84_to_gcj02(lon, lat)), crs=4326
    ).to_file(p, driver="GeoJSON")
    at.session_state["imp_path"] = str(p)
    at.run()
    at.selectbox(key="imp_kind").set_value("science_venues").run()
    assert any("--crs GCJ-02" in w.value for w in at.warning)
    assert at.radio(key="imp_crs_file_ask").options == ["GCJ-02 (高德/腾讯)", "WGS84 (GPS/天地图)"]
    at.radio(key="imp_crs_file_ask").set_value("GCJ-02").run()
    assert not at.exception, at.exception
    assert "GCJ-02" in at.info[0].value
    other = tmp_path / "轴线.geojson"  # the answer was for that file, not for the next one
    gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.Point(117.2, 31.8)], crs=4326).to_file(
        other
    )
    at.session_state["imp_path"] = str(other)
    at.run()
    assert "EPSG:4326" in at.info[0].value and "GCJ-02" not in at.info[0].value
    at.session_state["imp_path"] = str(p)
    at.run()
    at.radio(key="imp_crs_file_ask").set_value("GCJ-02").run()
    at.button(key="imp_add").click().run()
    kept = open_project(proj).layers["场馆_高德GCJ02"]
    assert kept.crs_in == "GCJ-02"
    got = gpd.GeoSeries(kept.gdf.geometry.values, crs=4326).to_crs(4527)
    truth = gpd.GeoSeries(shapely.points(lon, lat), crs=4326).to_crs(4527)
    assert got.distance(truth).max() < 1.0


def test_dxf_without_zone_prefix_asks_then_adds_zones_and_axis(app, tmp_path):
    at, proj = app
    p = tmp_path / "规划边界.dxf"
    _dxf(p, prefixed=False, axis=True)
    at.session_state["imp_path"] = str(p)
    at.run()
    at.selectbox(key="imp_kind").set_value("zones").run()
    assert any("GK3:NN" in w.value for w in at.warning)
    assert at.radio(key="imp_crs_file_ask").options[0] == "GK3:117E"  # the project's zone first
    at.text_input(key="imp_crs_file_typed").input("GK3:39").run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric][:3] == ["3", "2", "1"]  # the axis line is rejected
    at.button(key="imp_add").click().run()
    zones = open_project(proj).layers["规划边界"].gdf.set_index("name")
    for name, b in ZONES.items():
        assert _metres(zones.loc[name, "geometry"], _rect(b)) < 1.0
    at.selectbox(key="imp_kind").set_value("corridor_axes").run()
    at.radio(key="imp_crs_file_ask").set_value("GK3:117E").run()  # asked again: a new import
    assert [m.value for m in at.metric][:3] == ["3", "1", "2"]  # the boundaries are rejected
    at.text_input(key="imp_name").input("轴线").run()
    at.button(key="imp_add").click().run()
    assert not at.exception, at.exception
    axis = open_project(proj).layers["轴线"]
    assert axis.kind == "corridor_axes"
    assert _metres(axis.gdf.geometry.iloc[0], shapely.LineString(AXIS)) < 1.0


def test_innomap_export_adds_each_layer_into_its_kind(app, tmp_path):
    from export.layers_io import write_layers
    from layers.registry import REGISTRY

    def layer(kind, geom):
        return gpd.GeoDataFrame(
            {"id": ["X1"], "name": [f"{kind}甲"], "kind": [REGISTRY[kind].kind]},
            geometry=[geom],
            crs=4326,
        )

    at, proj = app
    out = write_layers(
        {
            "场馆": layer("science_venues", shapely.Point(117.25, 31.84)),
            "片区": layer("zones", _rect(ZONES["合肥高新区"])),
        },
        tmp_path / "导出.gpkg",
        fmt="gpkg",
    )
    at.session_state["imp_path"] = str(out)
    at.run()
    assert any("场馆 → 科普场馆/基地" in i.value for i in at.info)
    at.button(key="imp_add_by_kind").click().run()
    assert not at.exception, at.exception
    assert any("场馆 (1)" in s.value and "片区 (1)" in s.value for s in at.success)
    layers = open_project(proj).layers
    assert (layers["场馆"].kind, layers["片区"].kind) == ("science_venues", "zones")
