"""Points outside the project's city: counted, flagged and warned, or dropped on request."""

from __future__ import annotations

from pathlib import Path

import pytest

from layers import auth
from layers.project import create_project, open_project

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lyg(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("city") / "lyg.gpkg"
    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        create_project(path, name="城外测试", city="连云港市", counties=["海州区"])
    finally:
        auth.set_actor(None)
    return path


def _csv(tmp_path: Path) -> Path:
    p = tmp_path / "名单.csv"
    p.write_text(
        "名称,经度,纬度\n海州企业,119.18,34.58\n南京企业,118.78,32.06\n边上企业,119.10,34.59\n",
        encoding="utf-8",
    )
    return p


@pytest.mark.parametrize("drop", [False, True])
def test_project_add_flags_or_drops_rows_outside_the_city(lyg, tmp_path, capsys, drop):
    import cli

    proj = tmp_path / "p.gpkg"
    proj.write_bytes(lyg.read_bytes())
    args = ["project", "add", "--project", str(proj), str(_csv(tmp_path)), "--kind", "enterprises"]
    args += ["--crs", "WGS84", "--name", "企业"] + (["--drop-outside-city"] if drop else [])
    auth.set_actor(auth.Actor("ed", "editor"))
    try:
        code = cli.main(args)
    finally:
        auth.set_actor(None)
    err = capsys.readouterr().err
    assert "1 row(s) lie outside the project's city" in err
    layer = open_project(proj).layers["企业"]
    if drop:
        assert code == 1 and layer.rows == 2
        assert layer.rejected["reason"].str.contains("outside the project's city").sum() == 1
    else:
        assert code == 0 and layer.rows == 3
        flags = dict(zip(layer.gdf["name"], layer.gdf["outside_city"].astype(bool), strict=True))
        assert flags == {"海州企业": False, "南京企业": True, "边上企业": False}


def test_validate_without_project_has_no_city_rule(tmp_path):
    from layers.importer import ImportOptions, import_file

    rep = import_file(_csv(tmp_path), ImportOptions(kind="enterprises", crs="WGS84"))
    assert rep.rows_valid == 3 and rep.outside_city_rows == 0
    assert "outside_city" not in rep.valid.columns
