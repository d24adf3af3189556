"""Issue 26: result layers written through Arrow, and the per-demand coverage layer.

The Arrow writer (:func:`workflows.common.write_layers`) gives the same layer as the
row-by-row writer it replaced (fields, field types, CRS, values); the coverage
``demand.gpkg`` holds one row per demand point with its id, layer and what the analysis
found (no copied input columns), with WGS84 points or, with ``--no-geometry``, none.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli_run import run_cli
from workflows.common import arrow_writable, write_layers


def _frame(n: int = 7) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(1)
    return gpd.GeoDataFrame(
        {
            "id": [f"E{i}" for i in range(n)],
            "名称": ["甲", "", "丙 'x'", 'd"q', "é", "长" * 40, "g"][:n],
            "travel_min": [1.5, np.nan, 3.0, 0.0, 2.25, np.inf, 7.0][:n],
            "count": rng.integers(-5, 5, n),
            "covered_15": [True, False, True, True, False, False, True][:n],
            "nearest_service_id": ["S1", None, "S2", "S1", None, "S3", "S1"][:n],
        },
        geometry=shapely.points(rng.uniform(119, 120, (n, 2)) * [1, 0.3]),
        crs=32650,
    ).to_crs(4326)


def _old_write(path, layers):  # what workflows.analyses.write_gpkg_layers did before
    for i, (name, gdf) in enumerate(layers.items()):
        gdf.to_file(path, layer=name, driver="GPKG", mode="w" if i == 0 else "a", use_arrow=False)


@pytest.mark.parametrize("mixed", [False, True])
def test_arrow_writer_gives_the_layer_the_row_writer_gave(tmp_path, mixed):
    g = _frame()
    other = g.iloc[:3].assign(kind="x")
    if mixed:  # text and numbers in one object column: Arrow cannot type it, rows are written
        g["note"] = pd.Series(["a", 1, None, 2.5, "b", "c", "d"], dtype=object)
    assert arrow_writable(g) is not mixed
    layers = {"demand": g, "other": other}
    _old_write(tmp_path / "old.gpkg", layers)
    write_layers(tmp_path / "new.gpkg", layers)
    for name in layers:
        old = pyogrio.read_info(tmp_path / "old.gpkg", layer=name)
        new = pyogrio.read_info(tmp_path / "new.gpkg", layer=name)
        for key in ("fields", "dtypes", "crs", "geometry_type", "features"):
            assert np.array_equal(old[key], new[key]) if key != "crs" else old[key] == new[key]
        assert_geodataframe_equal(
            gpd.read_file(tmp_path / "new.gpkg", layer=name),
            gpd.read_file(tmp_path / "old.gpkg", layer=name),
        )


def test_plain_table_is_written_without_geometry(tmp_path):
    df = pd.DataFrame(_frame().drop(columns="geometry"))
    write_layers(tmp_path / "t.gpkg", {"demand": df})
    info = pyogrio.read_info(tmp_path / "t.gpkg", layer="demand")
    assert info["geometry_type"] is None and list(info["fields"]) == list(df.columns)
    back = pyogrio.read_dataframe(tmp_path / "t.gpkg", layer="demand", read_geometry=False)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tests.tiny_project import make_project

    return make_project(tmp_path_factory.mktemp("tiny"))


RESULT_COLUMNS = ["id", "layer", "nearest_service_id", "travel_min", "snapped"]


@pytest.mark.parametrize("no_geometry", [False, True])
def test_demand_layer_keeps_ids_and_results_not_copied_inputs(tmp_path, tiny, no_geometry):
    out = tmp_path / "cov"
    args = ["coverage", "--project", tiny.ref, "--service", "science_venues"]
    args += ["--demand", "enterprises", "--minutes", "5,10", "--weight", "employees"]
    res = run_cli(*args, *(["--no-geometry"] if no_geometry else []), "--out", out)
    assert res.returncode == 0, res.stderr
    info = pyogrio.read_info(out / "demand.gpkg", layer="demand")
    assert list(info["fields"]) == [*RESULT_COLUMNS, "covered_5", "covered_10"]
    dem = pyogrio.read_dataframe(out / "demand.gpkg", layer="demand")
    src = tiny.layers["企业"].gdf
    assert sorted(dem["id"]) == sorted(src["id"])  # every demand point, once
    assert set(dem["layer"]) == {"企业"}
    if no_geometry:
        assert info["geometry_type"] is None and not isinstance(dem, gpd.GeoDataFrame)
    else:
        assert info["crs"] == "EPSG:4326" and info["geometry_type"] == "Point"
        got = dem.set_index("id").geometry
        want = src.set_index("id").geometry.loc[got.index]
        assert np.allclose(
            shapely.get_coordinates(got.values), shapely.get_coordinates(want.values)
        )
    # the oracle: E1 (200 m), E2 (500 m), E3 (1 km) east of S1, N1–N3 3 km north; walk
    # 4.5 km/h straight line with detour 1.3 -> minutes = metres × 1.3 / 75
    by_id = dem.set_index("id")
    for pid, metres in (("E1", 200), ("E2", 500), ("E3", 1000), ("N1", 3000)):
        assert by_id.loc[pid, "travel_min"] == pytest.approx(metres * 1.3 / 75, abs=0.05)
        assert bool(by_id.loc[pid, "covered_5"]) == (metres * 1.3 / 75 <= 5)
        assert bool(by_id.loc[pid, "covered_10"]) == (metres * 1.3 / 75 <= 10)
    assert set(by_id["nearest_service_id"]) == {"S1"}


# ---------------------------------------------------------------- progress on stderr
@pytest.mark.parametrize(
    ("argv", "steps"),
    [
        (["coverage", "--service", "science_venues", "--demand", "enterprises"], 4),
        (["hotspots", "--layer", "enterprises", "--permutations", "99"], 3),
        (["profile", "--axis", "测试走廊轴线"], 4),
    ],
)
def test_long_commands_report_their_steps_on_stderr(tmp_path, tiny, monkeypatch, argv, steps):
    import settings

    monkeypatch.setattr(settings, "CLI_PROGRESS_AFTER_S", 0.0)  # as if the run were long
    res = run_cli(*argv, "--project", tiny.ref, "--out", tmp_path / "o")
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith(f"{argv[0]}: step ")]
    assert [ln.split()[2] for ln in lines] == [f"{i}/{steps}" for i in range(1, steps + 1)]
    assert "writing the result files" in lines[-1] and "writing" not in lines[0]
    assert f"{argv[0]}: step" not in res.stdout


def test_quick_commands_print_no_steps(tmp_path, tiny, monkeypatch):
    import settings

    monkeypatch.setattr(settings, "CLI_PROGRESS_AFTER_S", 600.0)  # every run here is quicker
    args = ["coverage", "--service", "science_venues", "--demand", "enterprises"]
    res = run_cli(*args, "--project", tiny.ref, "--out", tmp_path / "o")
    assert res.returncode == 0 and "step" not in res.stderr


# ---------------------------------------------------------------- precision counts per layer
KEYS = ("rows", "imprecise", "unknown_precision")


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["企业", "b", "", None]), st.booleans(), st.booleans()),
        max_size=30,
    )
)
def test_counts_by_layer_equal_the_row_loop(rows):
    from workflows.common import _counts_by_layer

    layer = pd.Series([r[0] for r in rows], dtype="str")
    coarse = np.array([r[1] for r in rows], dtype=bool)
    unknown = np.array([r[2] for r in rows], dtype=bool)
    want: dict = {}  # the oracle: one row at a time (a missing layer name counts as "nan")
    for name, c, u in zip(layer, coarse, unknown, strict=True):
        w = want.setdefault("nan" if pd.isna(name) else str(name), dict.fromkeys(KEYS, 0))
        w["rows"] += 1
        w["imprecise"] += int(c)
        w["unknown_precision"] += int(u)
    got = _counts_by_layer(pd.DataFrame({"layer": layer}), coarse, unknown)
    assert got == want and list(got) == list(want)


# ---------------------------------------------------------------- every analysis's files
ANALYSIS_PARAMS = {
    "coverage": {"service": ["science_venues"], "demand": ["enterprises"], "minutes": [5, 10]},
    "clusters": {"layers": ["enterprises", "incubators"], "eps_m": 400, "min_samples": 2},
    "hotspots": {"layers": ["enterprises"], "cell_m": 300, "permutations": 99},
    "site": {"demand": ["enterprises"], "existing": "incubators", "k": 1},
}


@pytest.mark.parametrize("kind", list(ANALYSIS_PARAMS))
def test_analysis_files_through_arrow_hold_what_the_row_writer_wrote(
    tmp_path, tiny, kind, monkeypatch
):
    from layers.io_safe import atomic_write
    from workflows import analyses

    report = analyses.analysis_report(tiny, kind, ANALYSIS_PARAMS[kind])
    names = analyses.write_result(report, tmp_path / "arrow")
    monkeypatch.setattr(  # the same files by the writer this replaced
        analyses,
        "write_gpkg_layers",
        lambda path, layers, force=True: atomic_write(
            path, lambda tmp: _old_write(tmp, layers), force=force
        ),
    )
    analyses.write_result(report, tmp_path / "rows")
    gpkgs = [n for n in names if n.endswith(".gpkg") and n != "demand.gpkg"]
    assert gpkgs  # demand.gpkg changed on purpose (tested above)
    for name in gpkgs:
        a, b = tmp_path / "arrow" / name, tmp_path / "rows" / name
        layers = [str(r[0]) for r in pyogrio.list_layers(b)]
        assert [str(r[0]) for r in pyogrio.list_layers(a)] == layers
        for lyr in layers:
            ia, ib = pyogrio.read_info(a, layer=lyr), pyogrio.read_info(b, layer=lyr)
            assert list(ia["fields"]) == list(ib["fields"])
            assert list(ia["dtypes"]) == list(ib["dtypes"]) and ia["crs"] == ib["crs"]
            assert ia["geometry_type"] == ib["geometry_type"]
            assert_geodataframe_equal(gpd.read_file(a, layer=lyr), gpd.read_file(b, layer=lyr))
