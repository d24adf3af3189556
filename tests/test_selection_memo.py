"""A selection's zone and district columns are computed once per project state (issue 26)."""

from __future__ import annotations

import geopandas as gpd
import shapely

import layers.selection as selection
from layers.project import open_project
from layers.selection import select_layers
from tests.tiny_project import ZONE, lonlat, make_project


def _counting(monkeypatch):
    calls = []
    real = selection.assign_zones

    def counted(points, zones):
        calls.append(len(points))
        return real(points, zones)

    monkeypatch.setattr(selection, "assign_zones", counted)
    return calls


def test_placed_once_per_project_state_and_again_when_a_zone_changes(tmp_path, monkeypatch):
    make_project(tmp_path)
    project = open_project(tmp_path / "p.gpkg")
    calls = _counting(monkeypatch)
    first = select_layers(project, ["enterprises"])
    first.gdf.loc[0, "zone"] = "changed by a caller"  # a caller's change stays its own
    second = select_layers(project, ["enterprises"])
    assert len(calls) == 1
    by_id = dict(zip(second.gdf["id"], second.gdf["zone"], strict=True))
    assert {k for k, v in by_id.items() if v == ZONE} == {"E1", "E2", "E3"}
    assert "changed by a caller" not in by_id.values()
    # the zone redrawn around the northern row: a new layer frame, a new answer
    zones = project.layers[next(n for n, lyr in project.layers.items() if lyr.kind == "zones")]
    sw, ne = lonlat(project, -300, 2700), lonlat(project, 300, 3300)
    zones.gdf = gpd.GeoDataFrame(
        zones.gdf.drop(columns="geometry"),
        geometry=[shapely.box(sw[0], sw[1], ne[0], ne[1])],
        crs=4326,
    )
    third = select_layers(project, ["enterprises"])
    assert len(calls) == 2
    by_id = dict(zip(third.gdf["id"], third.gdf["zone"], strict=True))
    assert {k for k, v in by_id.items() if v == ZONE} == {"N1", "N2", "N3"}
    # other arguments, other entry
    select_layers(project, ["enterprises"], skip_invalid=True)
    assert len(calls) == 3
