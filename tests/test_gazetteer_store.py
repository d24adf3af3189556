"""Address registers kept in a PostGIS project, added from the CLI and listed by project info."""

from __future__ import annotations

import json

import pandas as pd

from layers import auth
from layers.project import create_project, gazetteer_frame, gazetteer_names, open_project, save_as
from tests.conftest import project_in_store


def test_register_in_postgis_from_the_cli(pg_server, tmp_path, capsys):
    import cli

    auth.set_actor(auth.Actor("setup", "admin"))
    try:
        base = tmp_path / "base.gpkg"
        create_project(base, name="门牌库", city="连云港市", counties=["海州区"])
        ref = project_in_store("postgis", base, tmp_path, label="门牌库", server=pg_server)
        reg = pd.DataFrame(
            {
                "标准地址": ["连云港市海州区朝阳东路1号", "连云港市海州区解放中路8号"],
                "经度": [119.20, 119.18],
                "纬度": [34.60, 34.59],
                "精度": [5, 8],
            }
        )
        path = tmp_path / "门牌.csv"
        reg.to_csv(path, index=False)
        assert cli.main(["project", "add-gazetteer", "--project", ref, str(path)]) == 0
        # replacing keeps one register of that name
        assert cli.main(["project", "add-gazetteer", "--project", ref, str(path)]) == 0
        project = open_project(ref)
        assert gazetteer_names(project) == ["门牌"]
        kept = gazetteer_frame(project, "门牌")
        assert len(kept) == 2 and sorted(kept["coord_precision_m"]) == [5.0, 8.0]
        capsys.readouterr()
        assert cli.main(["project", "info", "--project", ref, "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert info["gazetteers"][0]["name"] == "门牌" and info["gazetteers"][0]["rows"] == 2
        copy = save_as(project, tmp_path / "copy.gpkg")
        assert gazetteer_names(copy) == ["门牌"]
    finally:
        auth.set_actor(None)
