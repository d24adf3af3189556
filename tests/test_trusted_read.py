"""Issue 26: project layers are read as project layers.

A layer table read back as InnoMap wrote it (GeoPackage: the recorded
``gpkg_contents.last_change``, row count and no row edit since) is not validated a second
time; a table changed outside InnoMap (QGIS/GDAL appending rows, a ``last_change``
stamped, a plain SQL ``UPDATE``) is validated again, its unplaceable rows moved to the
layer's rejected rows with their reason. The data read is the same either way.
"""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from layers import store_check
from layers import store_gpkg as store
from layers.project import ProjectLayer, add_layer, create_project, open_project


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path = tmp_path_factory.mktemp("trusted") / "base.gpkg"
    create_project(path, name="信任", city="连云港市", counties=["海州区"])
    return path


@pytest.fixture()
def proj(base, tmp_path):
    p = tmp_path / "p.gpkg"
    p.write_bytes(base.read_bytes())
    return p


@pytest.fixture()
def checks(monkeypatch):
    """Tables validated (by file name ``layer [table]``), counted at the validator."""
    seen: list[str] = []
    real = store_check.validate_layer

    def counting(gdf, spec, *, file="", **kw):
        seen.append(file)
        return real(gdf, spec, file=file, **kw)

    monkeypatch.setattr(store_check, "validate_layer", counting)
    return seen


def _points(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = shapely.points(119.2 + rng.uniform(-0.02, 0.02, n), 34.6 + rng.uniform(0, 0.02, n))
    return gpd.GeoDataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "name": [f"企业{i}" for i in range(n)],
            "source": "名单",
            "coord_source": "测试",
            "coord_precision_m": 10.0,
            "employees": rng.integers(1, 100, n).astype(float),
        },
        geometry=xy,
        crs=4326,
    )


def _fresh(path):
    store._FRAMES.clear()
    store._CHECKED.clear()
    return open_project(path)


def _added(proj, n=6):
    return add_layer(
        open_project(proj), ProjectLayer(name="企业", kind="enterprises", gdf=_points(n))
    )


def _mine(seen, stored):
    return [f for f in seen if stored.table in f]


def test_table_as_innomap_wrote_it_is_not_validated_again(proj, checks):
    stored = _added(proj)
    lyr = _fresh(proj).layers["企业"]
    assert _mine(checks, stored) == []  # read from disk, not validated a second time
    assert lyr.revalidated == "" and lyr.rejected.empty and len(lyr.gdf) == 6
    con = sqlite3.connect(proj)
    (rec,) = con.execute(
        "SELECT w.last_change, w.rows, w.edits, c.last_change FROM innomap_written w "
        "JOIN gpkg_contents c ON c.table_name = w.tbl WHERE w.tbl = ?",
        (stored.table,),
    ).fetchall()
    con.close()
    assert rec[0] == rec[3] and rec[1] == 6 and rec[2] == 0  # recorded at write time


def test_stamp_moved_is_validated_again_and_reads_the_same(proj, checks):
    stored = _added(proj)
    trusted = _fresh(proj).layers["企业"].gdf
    con = sqlite3.connect(proj)
    with con:  # as GDAL stamps a table it edited
        con.execute(
            "UPDATE gpkg_contents SET last_change = '2099-01-01T00:00:00.000Z' "
            "WHERE table_name = ?",
            (stored.table,),
        )
    con.close()
    checks.clear()
    lyr = _fresh(proj).layers["企业"]
    assert len(_mine(checks, stored)) == 1
    assert "validated again" in lyr.revalidated and lyr.rejected.empty
    assert_geodataframe_equal(lyr.gdf, trusted)  # the same data, validated or not
    checks.clear()
    open_project(proj)  # opened again, unchanged since: the check is remembered
    assert _mine(checks, stored) == []


def test_rows_appended_by_gdal_are_validated_and_unplaceable_ones_rejected(proj, checks):
    stored = _added(proj)
    more = pyogrio.read_dataframe(proj, layer=stored.table).iloc[:2].copy()
    more["id"] = ["q1", "q2"]
    more.loc[more.index[1], "geometry"] = shapely.Point(34.6, 119.2)  # lon/lat swapped
    pyogrio.write_dataframe(more, proj, layer=stored.table, append=True)  # as QGIS adds
    checks.clear()
    lyr = _fresh(proj).layers["企业"]
    assert len(_mine(checks, stored)) == 1
    assert len(lyr.gdf) == 7 and "q1" in set(lyr.gdf["id"]) and "q2" not in set(lyr.gdf["id"])
    (rej,) = lyr.rejected.to_dict("records")
    assert rej["id"] == "q2" and rej["row"] == 8  # the table's 8th row
    assert "swap" in rej["reason"] and "outside InnoMap" in rej["reason"]
    assert "1 row(s) cannot be placed" in lyr.revalidated
    assert lyr.info()["revalidated"] == lyr.revalidated and lyr.info()["rejected_rows"] == 1
    assert len(lyr.gdf) + len(lyr.rejected) == 8  # nothing lost


def test_plain_sql_update_is_validated_again(proj, checks):
    stored = _added(proj)
    con = sqlite3.connect(proj)
    with con:  # neither last_change nor the row count changes: the edit trigger counts it
        con.execute(f"UPDATE \"{stored.table}\" SET name = '' WHERE fid = 2")
        (edits,) = con.execute(
            "SELECT edits FROM innomap_written WHERE tbl = ?", (stored.table,)
        ).fetchone()
    con.close()
    assert edits == 1
    checks.clear()
    lyr = _fresh(proj).layers["企业"]
    assert len(_mine(checks, stored)) == 1
    assert lyr.gdf["name"].iloc[1] == "" and len(lyr.gdf) == 6  # kept, the finding counted
    assert "name 1" in lyr.revalidated and lyr.rejected.empty


def test_table_without_a_record_is_validated(proj, checks):
    stored = _added(proj)
    con = sqlite3.connect(proj)
    with con:  # as a project written before InnoMap recorded its writes
        con.execute("DELETE FROM innomap_written")
    con.close()
    checks.clear()
    lyr = _fresh(proj).layers["企业"]
    assert len(_mine(checks, stored)) == 1 and len(lyr.gdf) == 6


def test_save_as_records_the_tables_it_writes(proj, tmp_path, checks):
    from layers.project import save_as

    _added(proj)
    copy = save_as(open_project(proj), tmp_path / "copy.gpkg")
    checks.clear()
    reopened = _fresh(tmp_path / "copy.gpkg")
    assert checks == []  # every table of the copy as InnoMap wrote it
    assert_geodataframe_equal(reopened.layers["企业"].gdf, copy.layers["企业"].gdf)


# ---------------------------------------------------------------- PostGIS: an edit trigger
def test_postgis_table_as_written_is_trusted_and_an_sql_edit_is_validated(
    base, proj, tmp_path, pg_server, checks
):
    import psycopg

    from tests.conftest import project_in_store

    stored = _added(proj)
    ref = project_in_store("postgis", proj, tmp_path, label="信任", server=pg_server)
    checks.clear()
    trusted = open_project(ref).layers["企业"]
    assert checks == [] and trusted.revalidated == ""  # every table as InnoMap wrote it
    tbl = open_project(ref).layers["企业"].table
    with psycopg.connect(pg_server.url) as con:  # as QGIS would: one feature moved
        con.execute(
            f'UPDATE innomap."{tbl}" SET geometry = ST_SetSRID(ST_MakePoint(34.6, 119.2), 4326) '
            f'WHERE ctid = (SELECT ctid FROM innomap."{tbl}" LIMIT 1)'
        )
        (edits,) = con.execute(
            "SELECT edits FROM innomap.table_edits WHERE tbl = %s", (tbl,)
        ).fetchone()
    assert edits == 1
    checks.clear()
    lyr = open_project(ref).layers["企业"]
    assert [f for f in checks if tbl in f] == [f"企业 [{tbl}]"]
    assert len(lyr.gdf) == 5 and len(lyr.rejected) == 1 and "swap" in lyr.rejected["reason"][0]
    assert "validated again" in lyr.revalidated
    kept = trusted.gdf[trusted.gdf["id"] != lyr.rejected["id"][0]].reset_index(drop=True)
    assert_geodataframe_equal(lyr.gdf, kept)  # the others read as before
    assert stored.rows == 6
