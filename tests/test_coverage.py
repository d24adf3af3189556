"""Road networks, reach, isochrones and coverage statistics on hand-checkable fixtures."""

import itertools
import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from cli import main as cli_main
from geo.coverage import (
    coverage_by_group,
    coverage_table,
    gb50180_preset,
    redundancy_table,
    run_coverage,
)
from geo.network import NetworkError, build_road_graph
from geo.reach import (
    ReachParams,
    cells_polygon,
    coverage_polygons,
    nearest_service,
    service_isochrones,
    service_reach_matrix,
)
from layers.networks import read_network_edges
from tests.fixtures_net import CRS, X0, Y0, grid_edges, node_xy, write_osm_xml
from workflows.network import load_network, save_graph

WALK6 = ReachParams(method="network", mode="walk", speed_kmh=6.0, max_snap_m=50)  # 100 m/min


@pytest.fixture(scope="module")
def grid():
    return build_road_graph(grid_edges(), crs=CRS)


def test_grid_nearest_service_known_answers(grid):
    d = np.array(
        [node_xy(0, 0), node_xy(3, 4), node_xy(10, 10) + [0, 30], node_xy(10, 5), [X0 - 500, Y0]]
    )
    s = np.array([node_xy(0, 0), node_xy(10, 10)])
    r = nearest_service(d, s, params=WALK6, graph=grid)
    # Manhattan distances on a 100 m grid at 100 m/min; the 30 m snap is walked too
    assert r.minutes[:4] == pytest.approx([0.0, 7.0, 0.3, 5.0], abs=1e-6)
    assert r.service[:4].tolist() == [0, 0, 1, 1]
    assert np.isnan(r.minutes[4]) and not r.snapped[4] and r.service[4] == -1  # 500 m off: reported


def test_reach_matrix_and_redundancy(grid):
    d = np.array([node_xy(1, 0), node_xy(5, 5), node_xy(9, 10)])
    s = np.array([node_xy(0, 0), node_xy(10, 10), node_xy(5, 4)])
    m = service_reach_matrix(d, s, params=WALK6, minutes=2.0, graph=grid).toarray()
    assert m.tolist() == [[True, False, False], [False, False, True], [False, True, False]]
    red = redundancy_table(
        service_reach_matrix(d, s, params=WALK6, minutes=10.0, graph=grid), ["a", "b", "c"]
    )
    assert red["covered"].tolist() == [2, 2, 3]
    assert red["only_here"].tolist() == [0, 0, 0]


def test_straight_line_radius_is_speed_time_over_detour():
    p = ReachParams(method="straight", mode="walk", speed_kmh=4.5, detour=1.3)
    r = nearest_service(np.array([[0, 0], [1000, 0]]), np.array([[0, 0]]), params=p)
    assert r.minutes[1] == pytest.approx(1000 * 1.3 / 75.0)
    poly = coverage_polygons(np.array([[0.0, 0.0]]), params=p, minutes=(15,))[0]
    radius = 75.0 * 15 / 1.3
    assert poly.area == pytest.approx(np.pi * radius**2, rel=0.01)
    assert "直线距离近似法" in p.label("zh") and "Straight-line approximation" in p.label("en")


def test_isochrones_follow_roads_and_nest(grid):
    s = np.array([node_xy(5, 5)])
    iso = service_isochrones(s, params=WALK6, minutes=(2, 4, 6), graph=grid, buffer_m=20, cell_m=5)[
        0
    ]
    for a, b in itertools.pairwise(iso):
        assert a.difference(b).area < 1e-6  # nested
    # 2 min = 200 m along roads: a "plus" of the 4 road arms, not a disk or hull
    assert iso[0].contains(shapely.Point(node_xy(5, 7)))
    assert iso[0].contains(shapely.Point(node_xy(6, 6)))  # 100 + 100 m by road
    assert not iso[0].contains(shapely.Point(node_xy(6, 7)))  # 300 m by road
    assert not iso[0].contains(shapely.Point(node_xy(5, 5) + [60, 60]))  # block interior
    union = coverage_polygons(s, params=WALK6, minutes=(2, 4, 6), graph=grid, buffer_m=20, cell_m=5)
    assert union[0].symmetric_difference(iso[0]).area < 1.0


def test_cells_polygon_matches_buffer_union():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 1000, (300, 2))
    poly = cells_polygon(pts, cell_m=5, buffer_m=40)
    ref = shapely.union_all(shapely.buffer(shapely.points(pts), 40))
    assert poly.symmetric_difference(ref).area / ref.area < 0.08


def test_osm_xml_pbf_graphml_gpkg_readers_agree(tmp_path):
    osm = write_osm_xml(tmp_path / "t.osm")
    import osmium

    pbf = tmp_path / "t.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as w:
        for o in osmium.FileProcessor(str(osm)):
            w.add(o)
    e_xml = read_network_edges(osm)
    e_pbf = read_network_edges(pbf)
    assert len(e_xml) == len(e_pbf) == 27
    assert set(e_xml["highway"]) == {"residential", "primary", "footway"}
    gpkg = tmp_path / "roads.gpkg"
    e_xml.drop(columns=["u", "v"]).to_file(gpkg, driver="GPKG")
    e_gpkg = read_network_edges(gpkg)
    assert len(e_gpkg) == 27
    import osmnx as ox

    g = ox.graph_from_xml(osm, simplify=False, retain_all=True)
    ox.save_graphml(g, tmp_path / "t.graphml")
    e_gml = read_network_edges(tmp_path / "t.graphml")
    assert len(e_gml) >= 27
    for edges in (e_xml, e_gpkg, e_gml):
        graph = build_road_graph(edges)
        assert graph.crs.to_epsg() == 32651
        assert graph.mode_graph("walk").keep.sum() == 16


def test_drive_respects_oneway_and_excludes_footways(tmp_path):
    graph = build_road_graph(read_network_edges(write_osm_xml(tmp_path / "t.osm")))
    walk = graph.mode_graph("walk")
    drive = graph.mode_graph("drive")
    assert walk.matrix.nnz == 2 * 27
    assert drive.matrix.nnz == 2 * 21 + 3  # residential both ways, primary eastbound only
    # westbound along the bottom row (one-way eastbound) a car must detour
    bottom = graph.node_xy[np.isclose(graph.node_xy[:, 1], graph.node_xy[:, 1].min())]
    a, b = bottom[bottom[:, 0].argmin()], bottom[bottom[:, 0].argmax()]
    p = ReachParams(method="network", mode="drive", max_snap_m=5)
    t_east = nearest_service(np.array([a]), np.array([b]), params=p, graph=graph).minutes[0]
    t_west = nearest_service(np.array([b]), np.array([a]), params=p, graph=graph).minutes[0]
    assert t_west > t_east * 2


def test_graph_cache_round_trip(tmp_path, grid):
    p = save_graph(grid, tmp_path / "g.npz")
    g2 = load_network(p)
    assert g2.crs == grid.crs
    assert np.array_equal(g2.node_xy, grid.node_xy)
    d = np.array([node_xy(3, 4)])
    s = np.array([node_xy(0, 0)])
    assert nearest_service(d, s, params=WALK6, graph=g2).minutes[0] == pytest.approx(7.0)
    osm = write_osm_xml(tmp_path / "c.osm")
    a = load_network(osm, cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").glob("network-*.npz"))
    b = load_network(osm, cache_dir=tmp_path / "cache")
    assert np.array_equal(a.node_xy, b.node_xy)


def test_bad_inputs_name_the_problem(tmp_path):
    with pytest.raises(NetworkError, match="not found"):
        read_network_edges(tmp_path / "missing.osm")
    bad = tmp_path / "bad.osm"
    bad.write_text("<osm><node id='1' lat='x' lon='y'/></osm>")
    with pytest.raises(NetworkError, match=r"bad\.osm"):
        read_network_edges(bad)
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(NetworkError, match="unsupported"):
        read_network_edges(tmp_path / "x.txt")
    with pytest.raises(NetworkError, match="detour"):
        ReachParams(detour=0.5)


def test_coverage_tables_and_groups():
    t = np.array([1.0, 4.0, 9.0, np.nan])
    tab = coverage_table(t, (5, 10), weights=np.array([1, 1, 2, 4]))
    assert tab["covered"].tolist() == [2, 3]
    assert tab["share"].tolist() == [0.5, 0.75]
    assert tab["weighted_share"].tolist() == [0.25, 0.5]
    g = coverage_by_group(t, ["A", "A、B", "B", ""], (5,), group_name="zone")
    assert g.set_index("zone")["covered"].to_dict() == {"A": 2, "B": 1}


def test_gb50180_preset():
    pre = gb50180_preset()
    assert pre["mode"] == "walk" and pre["speed_kmh"] == 4.0
    assert pre["minutes"] == (4.5, 7.5, 15.0)


def test_run_coverage_adapter(grid):
    pts = [node_xy(i, j) for i in range(0, 11, 2) for j in range(0, 11, 2)]
    demand = gpd.GeoDataFrame(
        {"id": [str(i) for i in range(len(pts))], "w": 1.0},
        geometry=gpd.points_from_xy(*np.array(pts).T),
        crs=CRS,
    )
    services = gpd.GeoDataFrame(
        {"id": ["s1"]}, geometry=gpd.points_from_xy([node_xy(5, 5)[0]], [node_xy(5, 5)[1]]), crs=CRS
    )
    before = demand.copy()
    res = run_coverage(demand, services, params=WALK6, minutes=(4, 8), weight_col="w", graph=grid)
    assert demand.equals(before)  # inputs never mutated
    # Manhattan distance from (5,5) to the even lattice: 12 points within 400 m, 32 within 800 m
    assert res.summary["covered"].tolist() == [12, 32]
    assert set(res.demand["nearest_service_id"]) == {"s1"}
    assert {"covered_4", "covered_8", "travel_min"} <= set(res.demand.columns)
    assert len(res.isochrones) == 2
    with pytest.raises(NetworkError, match="projected"):
        run_coverage(demand.to_crs(4326), services, params=WALK6, graph=grid)
    with pytest.raises(NetworkError, match="no column"):
        run_coverage(demand, services, params=WALK6, graph=grid, weight_col="nope")


coords = st.lists(st.tuples(st.floats(0, 1000), st.floats(0, 1000)), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(
    demand=coords,
    services=coords,
    extra=coords,
    cut=st.floats(0.5, 15),
    more=st.floats(0, 10),
    speed=st.floats(2, 10),
    dspeed=st.floats(0, 5),
)
def test_coverage_never_falls_when_things_grow(
    grid, demand, services, extra, cut, more, speed, dspeed
):
    d = np.array(demand) + [X0, Y0]
    s = np.array(services) + [X0, Y0]
    s2 = np.vstack([s, np.array(extra) + [X0, Y0]])
    for method in ("network", "straight"):
        p = ReachParams(method=method, mode="walk", speed_kmh=speed, max_snap_m=2000)
        p_fast = ReachParams(method=method, mode="walk", speed_kmh=speed + dspeed, max_snap_m=2000)
        base = coverage_table(
            nearest_service(d, s, params=p, graph=grid).minutes, (cut, cut + more)
        )["covered"]
        assert base.iloc[1] >= base.iloc[0]  # larger cut-off
        more_sites = coverage_table(nearest_service(d, s2, params=p, graph=grid).minutes, (cut,))[
            "covered"
        ]
        assert more_sites.iloc[0] >= base.iloc[0]  # more service points
        faster = coverage_table(nearest_service(d, s, params=p_fast, graph=grid).minutes, (cut,))[
            "covered"
        ]
        assert faster.iloc[0] >= base.iloc[0]  # faster
    # the network never covers more than the straight line with detour 1.0
    net = nearest_service(
        d, s, params=ReachParams(method="network", speed_kmh=speed, max_snap_m=2000), graph=grid
    )
    line = nearest_service(d, s, params=ReachParams(method="straight", speed_kmh=speed, detour=1.0))
    assert np.all(np.nan_to_num(net.minutes, nan=np.inf) >= line.minutes - 1e-6)


def test_cli_coverage_straight_and_network(tmp_path, grid):
    out = tmp_path / "out"
    assert (
        cli_main(
            [
                "coverage",
                "--service",
                "science_venues:大型场馆",
                "science_venues:专业场馆",
                "--demand",
                "enterprises",
                "--weight",
                "employees",
                "--minutes",
                "5,10,15",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for k in (
        "method",
        "mode",
        "speed_kmh",
        "minutes",
        "demand_total",
        "weight_total",
        "results",
        "by_zone",
        "unsnapped",
    ):
        assert k in s
    assert s["method"] == "straight" and s["minutes"] == [5.0, 10.0, 15.0]
    assert [r["minutes"] for r in s["results"]] == [5.0, 10.0, 15.0]
    dem = gpd.read_file(out / "demand.gpkg")
    assert len(dem) == s["demand_total"] == 4000
    assert {"nearest_service_id", "travel_min", "covered_5", "covered_10", "covered_15"} <= set(
        dem.columns
    )
    assert (
        gpd.read_file(out / "isochrones.gpkg", layer="isochrones")
        .geom_type.isin(["Polygon", "MultiPolygon"])
        .all()
    )
    # network method with a road file near the demand points
    roads = grid_edges(nx=30, ny=30, spacing=200.0).to_crs(4326)
    rp = tmp_path / "roads.gpkg"
    roads.drop(columns=["u", "v"]).to_file(rp, driver="GPKG")
    pts = roads.geometry.representative_point()
    csv = tmp_path / "d.csv"
    csv.write_text(
        "id,name,lon,lat,source,coord_source,coord_precision_m,synthetic\n"
        + "".join(f"{i},d{i},{p.x},{p.y},t,t,1,true\n" for i, p in enumerate(pts[:50])),
        encoding="utf-8",
    )
    svc = tmp_path / "s.csv"
    svc.write_text(
        "id,name,lon,lat,source,coord_source,coord_precision_m,synthetic\n"
        + "".join(f"S{i},s{i},{p.x},{p.y},t,t,1,true\n" for i, p in enumerate(pts[::300])),
        encoding="utf-8",
    )
    out2 = tmp_path / "out2"
    assert (
        cli_main(
            [
                "coverage",
                "--service",
                str(svc),
                "--demand",
                str(csv),
                "--network",
                str(rp),
                "--minutes",
                "5,10",
                "--out",
                str(out2),
            ]
        )
        == 0
    )
    s2 = json.loads((out2 / "summary.json").read_text(encoding="utf-8"))
    assert s2["method"] == "network" and s2["demand_total"] == 50
    assert (
        cli_main(["coverage", "--service", "nope", "--demand", "enterprises", "--out", str(out2)])
        == 2
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 30, allow_nan=False),
            st.sampled_from(["", "A", "B", "A、B", "B、A", "A、A", "C、", "、C"]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_coverage_by_group_counts_each_point_once_per_group_name(rows):
    """Law: each group's table is coverage_table over the points naming it (once each)."""
    t = np.array([r[0] for r in rows])
    groups = [r[1] for r in rows]
    got = coverage_by_group(t, groups, (5.0, 15.0), group_name="zone")
    names = sorted({p for g in groups for p in g.split("、") if p})
    assert list(dict.fromkeys(got["zone"])) == names
    for name in names:
        ii = [i for i, g in enumerate(groups) if name in g.split("、")]
        want = coverage_table(t[ii], (5.0, 15.0))
        have = got[got["zone"] == name].drop(columns="zone").reset_index(drop=True)
        assert have.equals(want.reset_index(drop=True)) or np.allclose(
            have.to_numpy(float), want.to_numpy(float)
        )
