"""Layer frames kept in memory between opens of a GeoPackage project (``layers.store_gpkg._FRAMES``).

A project opened again after a change reads only the tables that changed; the frame kept
after an add must be exactly what reading the table gives, and a table edited by another
program (GDAL / QGIS) must be read again.
"""

from __future__ import annotations

import gc
import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers import store_gpkg as store
from layers.project import ProjectLayer, add_layer, create_project, open_project


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path = tmp_path_factory.mktemp("frames") / "base.gpkg"
    create_project(path, name="帧", city="连云港市", counties=["海州区"])
    return path


@pytest.fixture()
def proj(base, tmp_path):
    p = tmp_path / "p.gpkg"
    p.write_bytes(base.read_bytes())
    return p


def _fresh(path):
    store._FRAMES.clear()
    return open_project(path)


def _points(n, *, seed=0, **cols):
    rng = np.random.default_rng(seed)
    data = {"id": [f"p{i}" for i in range(n)], "name": [f"点{i}" for i in range(n)], **cols}
    xy = gpd.points_from_xy(119.2 + rng.uniform(-0.02, 0.02, n), 34.6 + rng.uniform(0, 0.02, n))
    return gpd.GeoDataFrame(data, geometry=xy, crs=4326)


text = st.one_of(
    st.none(),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8),
)
number = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=False, width=64))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(text, number, st.booleans(), st.integers(-(2**40), 2**40)),
        min_size=1,
        max_size=12,
    ),
    gaps=st.booleans(),
    kind=st.sampled_from(["enterprises", "incubators"]),
)
def test_kept_frame_is_what_a_read_gives(proj, rows, gaps, kind):
    names, nums, flags, ints = (list(c) for c in zip(*rows, strict=True))
    g = _points(
        len(rows),
        name=names,
        employees=nums,
        synthetic=flags,
        备注=[str(v) for v in ints],
        floors=ints,
    )
    if gaps:  # rows rejected by an import leave gaps in the index
        g.index = np.arange(len(g)) * 3 + 1
    stored = add_layer(open_project(proj), ProjectLayer(name="x", kind=kind, gdf=g))
    kept = open_project(proj).layers[stored.name].gdf
    read = _fresh(proj).layers[stored.name].gdf
    assert_geodataframe_equal(kept, read)
    assert kept.attrs == read.attrs


def test_reopen_reuses_the_frame_and_reads_only_changed_tables(proj, monkeypatch):
    p = open_project(proj)
    a = add_layer(p, ProjectLayer(name="a", kind="enterprises", gdf=_points(5)))
    reads = []
    real = store._read_table
    monkeypatch.setattr(store, "_read_table", lambda *a, **k: reads.append(a[1]) or real(*a, **k))
    q = open_project(proj)
    assert q.layers["a"].gdf is a.gdf and reads == []
    b = add_layer(q, ProjectLayer(name="b", kind="incubators", gdf=_points(3, seed=1)))
    reads.clear()
    r = open_project(proj)
    assert r.layers["a"].gdf is a.gdf and r.layers["b"].gdf is b.gdf
    assert reads == []  # nothing read: both tables are in memory
    reads.clear()
    _fresh(proj)
    assert {a.table, b.table} <= set(reads)  # with the districts the project was made with


def test_table_edited_by_gdal_is_read_again(proj):
    stored = add_layer(
        open_project(proj), ProjectLayer(name="a", kind="enterprises", gdf=_points(4))
    )
    assert open_project(proj).layers["a"].gdf is stored.gdf
    more = pyogrio.read_dataframe(proj, layer=stored.table).iloc[:1]  # as QGIS: a feature added
    pyogrio.write_dataframe(more, proj, layer=stored.table, append=True)
    assert len(open_project(proj).layers["a"].gdf) == 5


def test_table_whose_last_change_moved_is_read_again(proj):
    stored = add_layer(
        open_project(proj), ProjectLayer(name="a", kind="enterprises", gdf=_points(4))
    )
    con = sqlite3.connect(proj)
    with con:  # an attribute edited in place, stamped as GDAL stamps it
        con.execute(f'UPDATE "{stored.table}" SET name = ? WHERE fid = 1', ("改名",))
        con.execute(
            "UPDATE gpkg_contents SET last_change = '2099-01-01T00:00:00.000Z' "
            "WHERE table_name = ?",
            (stored.table,),
        )
    con.close()
    assert open_project(proj).layers["a"].gdf["name"].iloc[0] == "改名"


def test_frames_go_with_the_projects_that_hold_them(proj):
    add_layer(open_project(proj), ProjectLayer(name="a", kind="enterprises", gdf=_points(4)))
    p = open_project(proj)
    assert any(k[0] == str(proj.resolve()) for k in store._FRAMES.keys())
    del p
    gc.collect()
    assert not any(k[0] == str(proj.resolve()) for k in store._FRAMES.keys())


def test_frame_not_kept_when_the_read_back_differs(proj, monkeypatch):
    g = _points(3)
    monkeypatch.setattr(
        store, "_read_table", lambda *a, **k: pd.DataFrame({"other": [1]})
    )  # any difference in the check sample
    add_layer(open_project(proj), ProjectLayer(name="a", kind="enterprises", gdf=g))
    assert not any(k[0] == str(proj.resolve()) for k in store._FRAMES.keys())


def test_rows_gdal_changes_beyond_the_sample_are_read_back(proj):
    g = _points(100)
    g["备注"] = "x"
    g.loc[80, "备注"] = "a\x00b"  # GDAL cuts text at NUL
    stored = add_layer(open_project(proj), ProjectLayer(name="a", kind="enterprises", gdf=g))
    assert open_project(proj).layers[stored.name].gdf["备注"].iloc[80] == "a"

    import shapely

    squares = [shapely.box(119.2 + i * 0.01, 34.6, 119.205 + i * 0.01, 34.605) for i in range(100)]
    squares[80] = shapely.MultiPolygon([squares[80]])  # GDAL writes all as MultiPolygon
    z = gpd.GeoDataFrame({"name": [f"区{i}" for i in range(100)]}, geometry=squares, crs=4326)
    zones = add_layer(open_project(proj), ProjectLayer(name="z", kind="zones", gdf=z))
    kept = open_project(proj).layers[zones.name].gdf
    assert_geodataframe_equal(kept, _fresh(proj).layers[zones.name].gdf, check_geom_type=True)
