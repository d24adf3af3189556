"""``export-qgis``: the .qgz is written without QGIS and loaded here by REAL QGIS.

QGIS is Debian's ``python3-qgis`` (3.22, built for the system Python), installed by
``scripts/test.sh``; it runs in a subprocess of ``/usr/bin/python3`` with
``QT_QPA_PLATFORM=offscreen``. Checked: the project's CRS, one valid layer per project
layer whose data source resolves beside the moved .qgz, the renderer categories by
subtype (hollow classes for imprecise points), labels, and the layout's items.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile

import geopandas as gpd
import pytest
import shapely

from cli import main as cli_main
from layers.project import ProjectLayer, add_layer, create_project, demo_project
from layers.registry import REGISTRY, normalise_columns

SYSTEM_PYTHON = "/usr/bin/python3"

_CHECK = r"""
import json, sys
from qgis.core import (Qgis, QgsApplication, QgsProject, QgsLayoutExporter, QgsLayoutItemLabel,
                       QgsLayoutItemLegend, QgsLayoutItemMap, QgsLayoutItemPicture,
                       QgsLayoutItemScaleBar)
app = QgsApplication([], False)
app.initQgis()
out = {"version": Qgis.version(), "projects": []}
for path in sys.argv[1:]:
    prj = QgsProject.instance()
    prj.clear()
    ok = prj.read(path)
    p = {"read": ok, "error": prj.error(), "crs": prj.crs().authid(), "layers": []}
    root = prj.layerTreeRoot()
    for node in root.findLayers():
        lyr = node.layer()
        r = lyr.renderer()
        d = {"name": lyr.name(), "valid": lyr.isValid(), "source": lyr.source(),
             "features": lyr.featureCount(), "crs": lyr.crs().authid(),
             "renderer": r.type(), "labels": lyr.labelsEnabled()}
        if r.type() == "categorizedSymbol":
            d["attr"] = r.classAttribute()
            d["categories"] = [
                {"value": c.value(), "label": c.label(),
                 "fill": c.symbol().symbolLayer(0).properties().get("color"),
                 "outline": c.symbol().symbolLayer(0).properties().get("outline_color")}
                for c in r.categories()]
        p["layers"].append(d)
    p["layouts"] = []
    for lay in prj.layoutManager().layouts():
        items = []
        for it in lay.items():
            if isinstance(it, QgsLayoutItemMap):
                items.append({"type": "map", "id": it.id(), "extent": [it.extent().xMinimum(),
                              it.extent().yMinimum(), it.extent().xMaximum(), it.extent().yMaximum()]})
            elif isinstance(it, QgsLayoutItemLabel):
                items.append({"type": "label", "id": it.id(), "text": it.text()})
            elif isinstance(it, QgsLayoutItemLegend):
                items.append({"type": "legend", "id": it.id(), "map": it.linkedMap().id() if it.linkedMap() else None,
                              "entries": it.model().rowCount()})
            elif isinstance(it, QgsLayoutItemScaleBar):
                items.append({"type": "scalebar", "id": it.id(), "map": it.linkedMap().id() if it.linkedMap() else None,
                              "units": it.unitLabel(), "segment": it.unitsPerSegment()})
            elif isinstance(it, QgsLayoutItemPicture):
                items.append({"type": "picture", "id": it.id(), "file": it.picturePath()})
        settings = QgsLayoutExporter.ImageExportSettings()
        settings.dpi = 40
        png = path + ".png"
        code = QgsLayoutExporter(lay).exportToImage(png, settings)
        p["layouts"].append({"name": lay.name(), "pages": lay.pageCollection().pageCount(),
                             "items": items, "export": int(code), "png": png})
    out["projects"].append(p)
print("RESULT" + json.dumps(out, ensure_ascii=False))
app.exitQgis()
"""


def _qgis(tmp_path, *paths) -> dict:
    script = tmp_path / "check_qgis.py"
    script.write_text(_CHECK, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(script), *map(str, paths)],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    out = proc.stdout.decode("utf-8", "replace")
    line = next((x for x in out.splitlines() if x.startswith("RESULT")), None)
    assert proc.returncode == 0 and line, (out[-2000:], proc.stderr.decode()[-3000:])
    return json.loads(line[len("RESULT") :])


@pytest.fixture(scope="module")
def gk3_project(tmp_path_factory):
    """A 连云港 project in CGCS2000 3° GK with points whose precision varies (hollow class)."""
    d = tmp_path_factory.mktemp("qgis_gk3")
    p = create_project(
        d / "gk.gpkg", name="连云港科创", city="连云港市", counties=["海州区"], crs_system="gk3"
    )
    spec = REGISTRY["incubators"]
    inc = gpd.GeoDataFrame(
        {
            "id": ["I1", "I2", "I3", "I4"],
            "name": ["海州孵化器", "众创空间甲", "众创空间乙", "园区"],
            "subtype": ["孵化器", "众创空间", "众创空间", "不在名录的类型"],
            "source": "test",
            "coord_precision_m": [10.0, 20.0, 800.0, 30.0],
        },
        geometry=[shapely.Point(119.17 + i / 100, 34.6) for i in range(4)],
        crs=4326,
    )
    add_layer(
        p,
        ProjectLayer(
            name="孵化器名单",
            kind="incubators",
            gdf=normalise_columns(inc, spec),
            source_file="x.xlsx",
        ),
    )
    from layers.project import open_project

    return open_project(p.ref), d


def test_qgz_loads_in_real_qgis(tmp_path, gk3_project):
    gk, _ = gk3_project
    demo = demo_project()
    written = {}
    for key, proj in (("demo", demo), ("gk", gk)):
        folder = tmp_path / f"{key}_first"
        args = ["export-qgis", "--out", str(folder)]
        if key == "gk":
            args += ["--project", proj.ref, "--title", "连云港科创资源图"]
        assert cli_main(args) == 0
        qgz = next(folder.glob("*.qgz"))
        with zipfile.ZipFile(qgz) as zf:  # plain XML in a zip
            [inner] = zf.namelist()
            assert inner.endswith(".qgs") and zf.read(inner).lstrip().startswith(b"<!DOCTYPE qgis")
        moved = tmp_path / f"{key}_moved"  # relative sources: the pair works anywhere
        shutil.move(folder, moved)
        written[key] = (proj, moved / qgz.name)
    from workflows.exports import run_qgis_export

    expect = {
        k: run_qgis_export(p, tmp_path / f"{k}_summary").summary for k, (p, _) in written.items()
    }
    res = _qgis(tmp_path, *(q for _, q in written.values()))
    assert res["version"].startswith("3.22")
    for (key, (proj, qgz)), got in zip(written.items(), res["projects"], strict=True):
        s = expect[key]
        assert got["read"] and not got["error"], got
        assert got["crs"] == f"EPSG:{proj.metric_epsg}" == s["crs"]
        by_title = {v["title"]: (name, v) for name, v in s["layers"].items()}
        assert [lyr["name"] for lyr in got["layers"]] == list(by_title)
        assert len(got["layers"]) == len(proj.layers)
        for lyr in got["layers"]:
            name, v = by_title[lyr["name"]]
            assert lyr["valid"], lyr
            path = lyr["source"].split("|")[0]
            assert os.path.dirname(path) == str(qgz.parent) and os.path.exists(path)
            assert lyr["features"] == proj.layers[name].rows == v["rows"]
            assert lyr["crs"] == "EPSG:4326"
            kind = proj.layers[name].kind
            if kind in ("districts", "zones", "corridor_axes"):
                assert lyr["renderer"] == "singleSymbol"
            else:
                assert lyr["renderer"] == "categorizedSymbol"
                assert [(c["value"], c["label"]) for c in lyr["categories"]] == [
                    (c["value"], c["label"]) for c in v["categories"]
                ]
                for c in lyr["categories"]:
                    hollow = c["value"].endswith("|近似")
                    assert (c["fill"] == "0,0,0,0") == hollow, c
            assert lyr["labels"]  # names
        [layout] = got["layouts"]
        types = sorted(i["type"] for i in layout["items"])
        assert types == ["label", "label", "legend", "map", "picture", "scalebar"], types
        items = {i["id"]: i for i in layout["items"]}
        title = "连云港科创资源图" if key == "gk" else "宁波市创新资源分布图"
        assert items["图名"]["text"] == title
        assert (
            "数据来源" in items["数据来源"]["text"]
            and proj.crs_label() in items["数据来源"]["text"]
        )
        assert items["图例"]["map"] == "地图" and items["图例"]["entries"] == len(proj.layers)
        assert items["比例尺"]["map"] == "地图" and items["比例尺"]["units"] in ("km", "m")
        assert "north_arrow" in items["指北针"]["file"]
        x0, y0, x1, y1 = items["地图"]["extent"]
        b = gpd.GeoSeries([shapely.box(*proj.bounds())], crs=4326).to_crs(proj.metric_crs())
        bx0, by0, bx1, by1 = b.total_bounds
        assert x0 <= bx0 and y0 <= by0 and x1 >= bx1 and y1 >= by1  # frames the districts
        assert layout["export"] == 0 and os.path.getsize(layout["png"]) > 10_000
    # the GK project: subtypes present, an imprecise point hollow, an unknown subtype in "other"
    gk_layer = next(lyr for lyr in res["projects"][1]["layers"] if lyr["name"] == "孵化器名单")
    assert [c["value"] for c in gk_layer["categories"]] == [
        "孵化器",
        "众创空间",
        "众创空间|近似",
        "",
    ]
