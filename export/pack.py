"""Zip packs for planning documents: maps, layers, tables and a README of sources and parameters."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd

from export.layers_io import write_layers, write_tables
from export.printmap import PrintLayer, render_print_map
from layers.registry import DATA_DIR

__all__ = ["PACK_STEPS", "result_pack"]

#: The steps of :func:`result_pack`, in order: its ``on_progress(done, len(PACK_STEPS))``
#: reports each one done (a step with nothing to write counts too).
PACK_STEPS: tuple[str, ...] = ("map.png", "map.pdf", "layers.gpkg", "tables", "README.md")


def _param_lines(params: dict, indent: str = "") -> list[str]:
    """Parameters as a readable list (``- key: a、b``), nested requests indented; no raw JSON."""
    lines: list[str] = []
    for key, value in params.items():
        if isinstance(value, dict):
            lines.append(f"{indent}- {key}:")
            lines += _param_lines(value, indent + "  ")
            continue
        if isinstance(value, (list, tuple)):
            value = "、".join(str(v) for v in value)
        if value is None or value == "":
            value = "—"
        if isinstance(value, bool):
            value = "是" if value else "否"
        lines.append(f"{indent}- {key}: {value}")
    return lines


def _readme(
    title: str,
    params: dict,
    layers: dict,
    tables: dict,
    notes: list[str],
    sources: list[str] | None = None,
    files: list[str] | None = None,
) -> str:
    synth = any("synthetic" in g and g["synthetic"].astype(bool).any() for g in layers.values())
    lines = [
        f"# {title}",
        "",
        f"生成日期 Generated: {date.today().isoformat()} · InnoMap 创新资源一张图",
        "",
        "## 参数 Parameters",
        *_param_lines(params),
        "",
        "## 内容 Contents",
        "- map.png (A4 横版 300 dpi), map.pdf (矢量, 字体嵌入 Noto Sans SC)",
        f"- layers.gpkg: {', '.join(layers)} (WGS84, EPSG:4326; 含区县界、片区与轴线时一并写入)",
        f"- tables.xlsx / tables.csv (UTF-8 BOM): {', '.join(tables)}",
        *(
            [f"- 分析输出 (与命令行相同) / the analysis's own files: {', '.join(files)}"]
            if files
            else []
        ),
        "",
        "## 说明 Notes",
        *[f"- {n}" for n in notes],
    ]
    if synth:
        lines.append("- 含模拟数据 (synthetic=true 的记录不是真实机构, 仅用于方法演示)。")
    lines += ["", "## 数据来源与许可 Sources and licences", ""]
    if sources is not None:
        lines += [f"- {s}" for s in sources] or ["- 未注明 / not stated"]
    else:
        lines.append((DATA_DIR / "NOTICE").read_text(encoding="utf-8"))
    return "\n".join(lines)


def result_pack(
    *,
    title: str,
    print_layers: list[PrintLayer],
    layers: dict[str, gpd.GeoDataFrame],
    tables: dict[str, pd.DataFrame],
    params: dict,
    notes: list[str] | None = None,
    extent: tuple[float, float, float, float] | None = None,
    subtitle: str = "",
    crs=None,
    sources: list[str] | None = None,
    header=None,
    unit=None,
    files: dict[str, bytes] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """A zip (bytes) with map.png, map.pdf, layers.gpkg, tables.xlsx, tables.csv and README.md.

    ``files`` (name -> bytes) are added as they are: an analysis's own output files
    (:func:`workflows.analyses.write_result`, the command line's layout).

    ``crs`` is the map CRS (e.g. ``project.metric_crs()``); ``sources`` (file names)
    are listed in the README (default: the embedded dataset's ``data/NOTICE``).
    With ``header(field)`` and ``unit(field)`` (result tables: ``ui.i18n``) the tables
    are written for people (:mod:`export.labelled`): display headers with units and
    the field names in a second CSV header row and an XLSX fields sheet.
    ``on_progress(done, total)`` is called with the steps done (:data:`PACK_STEPS`).
    """
    notes = list(notes or [])
    step = _steps(on_progress)
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as d, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        folder = Path(d)
        for fmt, dpi in (("png", 300), ("pdf", 150)):
            data = render_print_map(
                print_layers,
                title=title,
                subtitle=subtitle,
                dpi=dpi,
                fmt=fmt,
                extent=extent,
                crs=crs,
                notes=notes,
                legend_notes=notes or None,
            )
            zf.writestr(f"map.{fmt}", data)
            step()
        if layers:
            write_layers(layers, folder / "layers.gpkg", fmt="gpkg")
            zf.write(folder / "layers.gpkg", "layers.gpkg")
        step()
        if tables and header is not None:
            from export.labelled import labelled_csv, labelled_xlsx

            kw = {"header": header, "unit": unit or (lambda _f: "")}
            zf.writestr("tables.xlsx", labelled_xlsx(tables, **kw))
            one = next(iter(tables.values()))
            if len(tables) > 1:  # one CSV: the tables one under the other, named in "table"
                one = pd.concat([t.assign(table=k) for k, t in tables.items()], ignore_index=True)
            zf.writestr("tables.csv", labelled_csv(one, **kw))
        elif tables:
            write_tables(tables, folder / "tables.xlsx", fmt="xlsx")
            write_tables(tables, folder / "tables.csv", fmt="csv")
            zf.write(folder / "tables.xlsx", "tables.xlsx")
            zf.write(folder / "tables.csv", "tables.csv")
        step()
        for name, data in (files or {}).items():
            zf.writestr(name, data)
        listed = list(files or {})
        zf.writestr("README.md", _readme(title, params, layers, tables, notes, sources, listed))
    step()
    return buf.getvalue()


def _steps(on_progress):
    """``step()`` reporting one more of :data:`PACK_STEPS` done; ``(0, total)`` at once."""
    total, done = len(PACK_STEPS), [0]

    def step() -> None:
        done[0] += 1
        if on_progress is not None:
            on_progress(min(done[0], total), total)

    if on_progress is not None:
        on_progress(0, total)
    return step
