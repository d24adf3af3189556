"""GeoPackage project store: one ``.gpkg`` file per project.

A project file is a real SQLite database that opens in QGIS. Every change is one
SQLite transaction (:func:`transaction`): a crash or a killed process leaves the last
committed state, and two processes writing the same project are serialised by
SQLite's locks. Each change bumps ``version``; a save made from a stale copy is
refused with :class:`~layers.project_model.ProjectConflictError` and loses nothing.
Layer rows are written to a temporary GeoPackage first (in chunks, outside the lock)
and copied in inside the transaction.

The public API is :mod:`layers.project`, which dispatches here for ``.gpkg``
references; what this store shares with the PostGIS store is in
:mod:`layers.store_common`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from layers import store_check, store_history
from layers.filters import zone_key
from layers.project_model import FORMAT, ProjectConflictError, ProjectError
from layers.registry import REGISTRY
from layers.store_common import (
    LAYER_READ_COLUMNS,
    NETWORK_COLUMNS,
    RUN_COLUMNS,
    RUN_META_COLUMNS,
    _check_zone_names,
    _free_name,
    _now,
    _read_back,
    _storable,
    _table_name,
    _user,
    apply_run_meta,
    check_run_name,
    layer_from_row,
    layer_values,
    network_from_row,
    network_values,
    project_from_meta,
    rejected_text,
    run_from_row,
    run_meta_values,
    run_values,
)

_META = "innomap_project"
_LAYERS = "innomap_layers"
_REJECTED = "innomap_rejected"
_RUNS = "innomap_runs"
_AUDIT = "innomap_audit"
_NETWORKS = "innomap_networks"

_DDL = (
    f"CREATE TABLE IF NOT EXISTS {_META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {_LAYERS} (name TEXT PRIMARY KEY, kind TEXT NOT NULL, "
    "tbl TEXT NOT NULL UNIQUE, position INTEGER NOT NULL, source_file TEXT, crs_in TEXT, "
    "encoding TEXT, imported_at TEXT, rows INTEGER, note TEXT)",
    f"CREATE TABLE IF NOT EXISTS {_REJECTED} (layer TEXT PRIMARY KEY, data TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {_RUNS} (id TEXT PRIMARY KEY, analysis TEXT NOT NULL, "
    "title TEXT, created_at TEXT, request TEXT NOT NULL, summary TEXT NOT NULL, "
    "layers TEXT NOT NULL DEFAULT '{}')",
    f"CREATE TABLE IF NOT EXISTS {_NETWORKS} (name TEXT PRIMARY KEY, tbl TEXT NOT NULL UNIQUE, "
    "source_file TEXT, imported_at TEXT, edges INTEGER)",
    f"CREATE TABLE IF NOT EXISTS {_AUDIT} (ts TEXT NOT NULL, user TEXT, action TEXT NOT NULL, "
    "detail TEXT)",
)


#: Names and reopening data of runs (:data:`layers.store_common.RUN_META_COLUMNS`); a row
#: outlives its run (an undone deletion brings the run back with its name).
_RUN_META = "innomap_run_meta"
_RUN_META_DDL = (
    f"CREATE TABLE IF NOT EXISTS {_RUN_META} (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "meta TEXT NOT NULL DEFAULT '{}')"
)

_GAZETTEERS = "innomap_gazetteers"
_GAZETTEER_DDL = (
    f"CREATE TABLE IF NOT EXISTS {_GAZETTEERS} (name TEXT PRIMARY KEY, tbl TEXT NOT NULL "
    "UNIQUE, source_file TEXT, imported_at TEXT, rows INTEGER, crs_in TEXT)"
)


def is_gpkg_ref(ref) -> bool:
    return str(ref).lower().endswith(".gpkg")


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(str(path), timeout=60.0, isolation_level=None)
    con.execute("PRAGMA foreign_keys = OFF")
    return con


def _meta(con: sqlite3.Connection) -> dict:
    try:
        rows = con.execute(f"SELECT key, value FROM {_META}").fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # a GeoPackage, but not an InnoMap project
            return {}
        raise
    return {k: json.loads(v) for k, v in rows}


def _check_project_file(path: Path) -> None:
    if not path.exists():
        raise ProjectError(
            f"项目文件不存在 / project file {path.name!r} does not exist: "
            "create it with `python cli.py project new` or check the path"
        )
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head != b"SQLite format 3\x00":
        raise ProjectError(
            f"{path.name} 不是 GeoPackage 项目 / {path.name!r} is not a GeoPackage project file"
        )


def open_project(ref: str):
    """Open the project file ``ref``; a damaged file or bad metadata gives one clear message."""
    path = Path(ref)
    _check_project_file(path)
    try:
        return _open_gpkg(path)
    except ProjectError:
        raise
    except sqlite3.DatabaseError as exc:
        raise ProjectError(
            f"项目文件已损坏 / {path.name!r} is damaged ({exc}): it may have been cut short or "
            "overwritten; restore it from a backup (InnoMap never leaves a half-written "
            "project: the last good copy is the one before the damage)"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ProjectError(
            f"项目元数据无效 / {path.name!r} has invalid project metadata ({type(exc).__name__}: "
            f"{exc}): restore it from a backup, or open it in QGIS and copy its layers into a "
            "new project"
        ) from None


def _open_gpkg(path: Path):
    con = _connect(path)
    try:
        con.execute("BEGIN")  # one consistent snapshot of the metadata
        meta = _meta(con)
        if meta.get("format") != FORMAT:
            raise ProjectError(
                f"{path.name} 不是 InnoMap 项目 / {path.name!r} is a GeoPackage but not an "
                "InnoMap project: import its layers with `python cli.py project add`"
            )
        lrows = con.execute(
            f"SELECT {LAYER_READ_COLUMNS} FROM {_LAYERS} ORDER BY position"
        ).fetchall()
        rej = dict(con.execute(f"SELECT layer, data FROM {_REJECTED}").fetchall())
        stamps = _table_stamps(con, [r[2] for r in lrows])
        rrows = con.execute(f"SELECT {RUN_COLUMNS} FROM {_RUNS} ORDER BY created_at, id").fetchall()
        mrows = _rows_or_none(con, f"SELECT {RUN_META_COLUMNS} FROM {_RUN_META}")
        try:
            nrows = con.execute(
                f"SELECT {NETWORK_COLUMNS} FROM {_NETWORKS} ORDER BY name"
            ).fetchall()
        except sqlite3.OperationalError:  # a project written before networks were kept
            nrows = []
        con.execute("COMMIT")
    finally:
        con.close()
    _check_epsg(path.name, meta)
    networks = {n[0]: network_from_row(n) for n in nrows}
    layers = {row[0]: _open_layer(path, row, stamps, rej.get(row[0])) for row in lrows}
    runs = []
    for r in rrows:
        try:
            runs.append(run_from_row(r))
        except (ValueError, TypeError):  # one damaged run does not hide the project
            continue
    apply_run_meta(runs, mrows)
    return project_from_meta(
        meta,
        default_name=path.stem,
        layers=layers,
        runs=runs,
        networks=networks,
        ref=str(path),
        read_only=not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK),
        version=int(meta.get("version", 0)),
    )


def _check_epsg(file: str, meta: dict) -> None:
    try:
        CRS.from_epsg(int(meta["metric_epsg"]))
    except Exception as exc:  # pyproj's CRSError, a missing or non-numeric value
        raise ProjectError(
            f"项目的米制坐标系无效 / {file!r} names an unknown metric CRS "
            f"({meta.get('metric_epsg')!r}: {type(exc).__name__}): restore the file from a "
            "backup, or create a new project and copy its layers"
        ) from None


def _open_layer(path: Path, row, stamps: dict, rejected_json: str | None):
    """A layer of the project; one whose table cannot be read opens empty, marked damaged;
    one whose table changed outside InnoMap is validated again (:mod:`layers.store_check`)."""
    import pyogrio.errors

    try:
        gdf, checked = _layer_table(path, row[2], row[1], stamps, layer=row[0])
        return store_check.mark(layer_from_row(row, gdf, rejected_json), *checked)
    except (
        sqlite3.Error,
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        ValueError,
        KeyError,
    ) as exc:
        spec = REGISTRY.get(row[1])
        cols = list(spec.fields) if spec is not None else []
        empty = gpd.GeoDataFrame({c: [] for c in cols if c != "geometry"}, geometry=[], crs=4326)
        lyr = layer_from_row(row, empty, None)
        lyr.damaged = (
            f"图层表无法读取 / the table {row[2]!r} of layer {row[0]!r} cannot be read "
            f"({type(exc).__name__}: {str(exc)[:200]}): remove the layer and import it again"
        )
        return lyr


#: Layer tables in memory, by (file, table, kind, ``gpkg_contents.last_change``, rows,
#: edits, trusted) (:func:`_table_stamps`). InnoMap never writes a layer table twice (a
#: change writes a new table), GDAL (so QGIS) stamps ``last_change`` on every edit of a
#: table, and triggers count row edits of tables InnoMap wrote (:func:`_record_written`):
#: a project opened again after a change reads only the tables that changed. (A table of
#: a project written before the triggers, edited in raw SQL that neither stamps
#: ``last_change`` nor changes the row count, is not seen until the server restarts.) Weak
#: values: a frame is kept only while an open project holds it.
_FRAMES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
#: What validating a changed table again found, by the same keys (a few, newest kept).
_CHECKED: dict[tuple, tuple] = {}
_CHECKED_MAX = 64
_CHECKED_LOCK = threading.Lock()  # app sessions open projects in several threads

#: What InnoMap wrote, per table: ``gpkg_contents.last_change`` and the row count right
#: after its write, and ``edits``: row changes made since (triggers count them).
_WRITTEN = "innomap_written"
_WRITTEN_DDL = (
    f"CREATE TABLE IF NOT EXISTS {_WRITTEN} (tbl TEXT PRIMARY KEY, last_change TEXT, "
    "rows INTEGER NOT NULL, edits INTEGER NOT NULL DEFAULT 0)"
)


def _record_written(con: sqlite3.Connection, tbl: str) -> None:
    """Record ``tbl`` as InnoMap wrote it (in the caller's transaction): its last_change,
    its rows, and triggers counting any later row edit (InnoMap never edits it again)."""
    con.execute(_WRITTEN_DDL)
    row = con.execute(
        "SELECT last_change FROM main.gpkg_contents WHERE table_name = ?", (tbl,)
    ).fetchone()
    (n,) = con.execute(f'SELECT count(*) FROM main."{tbl}"').fetchone()
    con.execute(
        f"INSERT OR REPLACE INTO main.{_WRITTEN} (tbl, last_change, rows, edits) "
        "VALUES (?, ?, ?, 0)",
        (tbl, row[0] if row else None, int(n)),
    )
    quoted = tbl.replace("'", "''")
    for op in ("INSERT", "UPDATE", "DELETE"):
        con.execute(
            f'CREATE TRIGGER IF NOT EXISTS main."innomap_edit_{op.lower()}_{tbl}" AFTER {op} '
            f'ON "{tbl}" BEGIN UPDATE {_WRITTEN} SET edits = edits + 1 '
            f"WHERE tbl = '{quoted}'; END"
        )


def _written(con: sqlite3.Connection) -> dict[str, tuple]:
    """``{table: (last_change, rows, edits)}`` as recorded (empty for older projects)."""
    try:
        rows = con.execute(f"SELECT tbl, last_change, rows, edits FROM {_WRITTEN}").fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return {}
        raise
    return {r[0]: (r[1], int(r[2]), int(r[3])) for r in rows}


def _table_stamps(con: sqlite3.Connection, tables: Iterable[str]) -> dict[str, tuple]:
    """``{table: (last_change, rows, edits, trusted)}`` of feature tables, read in the
    caller's snapshot; ``trusted``: the table is as InnoMap wrote it (``last_change`` as
    recorded and no row inserted, updated or deleted since — its triggers count them, so
    its rows are not counted again)."""
    written = _written(con)
    changed = dict(con.execute("SELECT table_name, last_change FROM gpkg_contents").fetchall())
    out = {}
    for tbl in tables:
        if tbl not in changed:
            continue  # not a registered feature table: read (and fail) as before
        w = written.get(tbl)
        if w is not None and w[0] == changed[tbl] and w[2] == 0:  # no row added or removed
            out[tbl] = (*w, True)  # (its triggers count every insert and delete: no COUNT(*))
            continue
        try:
            (n,) = con.execute(f'SELECT count(*) FROM "{tbl}"').fetchone()
        except sqlite3.Error:
            continue
        out[tbl] = (changed[tbl], int(n), None if w is None else w[2], False)
    return out


def _frame_key(path: Path, tbl: str, kind: str, stamp: tuple) -> tuple:
    return (str(path.resolve()), tbl, kind, *stamp)


def _layer_table(
    path: Path, tbl: str, kind: str, stamps: dict[str, tuple], *, layer: str
) -> tuple[gpd.GeoDataFrame, tuple]:
    """The table's frame — the one in memory when its stamp is unchanged, else read — and
    what validating it again found (``(rejected, note)``; empty when it is as InnoMap
    wrote it: no second validation then)."""
    if tbl not in stamps:
        return store_check.checked(_read_table(path, tbl, kind), kind, layer=layer, table=tbl)
    key = _frame_key(path, tbl, kind, stamps[tbl])
    trusted = stamps[tbl][-1]
    gdf = _FRAMES.get(key)
    checked = store_check.NOTHING if trusted else _CHECKED.get(key)
    if gdf is not None and checked is not None:
        return gdf, checked
    gdf = _read_table(path, tbl, kind)
    checked = store_check.NOTHING
    if not trusted:
        gdf, checked = store_check.checked(gdf, kind, layer=layer, table=tbl)
        with _CHECKED_LOCK:
            _CHECKED[key] = checked
            while len(_CHECKED) > _CHECKED_MAX:  # the oldest first
                _CHECKED.pop(next(iter(_CHECKED)))
    _FRAMES[key] = gdf
    return gdf, checked


def _keep_written(path: Path, tbl: str, kind: str, gdf: gpd.GeoDataFrame) -> None:
    """Keep ``gdf``, just written as ``tbl``, as that table's frame — when its first rows
    read back equal it (types and values); otherwise the next open reads the table."""
    from geopandas.testing import assert_geodataframe_equal

    con = _connect(path)
    try:
        stamp = _table_stamps(con, [tbl]).get(tbl)
    finally:
        con.close()
    if stamp is None or stamp[1] != len(gdf) or not gdf.index.equals(pd.RangeIndex(len(gdf))):
        return
    if not _stored_as_is(gdf):
        return
    sample = _read_table(path, tbl, kind, max_features=_SAMPLE_ROWS)
    try:
        assert_geodataframe_equal(sample, gdf.iloc[:_SAMPLE_ROWS])
    except AssertionError:
        return
    _FRAMES[_frame_key(path, tbl, kind, stamp)] = gdf


def _stored_as_is(gdf: gpd.GeoDataFrame) -> bool:
    """Whether GDAL stores every row of ``gdf`` unchanged, beyond the sample read back:
    one geometry type (a Polygon among MultiPolygons is written as a MultiPolygon) and
    no NUL in text (a value is cut there)."""
    import shapely

    geoms = gdf.geometry.values
    types = shapely.get_type_id(geoms[~shapely.is_missing(geoms)])
    if len(types) and (types != types[0]).any():
        return False
    for c in gdf.columns:
        if c != gdf.geometry.name and (
            gdf[c].dtype == object or pd.api.types.is_string_dtype(gdf[c].dtype)
        ):
            if _has_nul(gdf[c]):
                return False
    return True


def _has_nul(values: pd.Series) -> bool:
    """Whether a text value holds NUL: a byte search in the Arrow data buffers (bytes
    outside the values themselves can only make the answer True, never hide a NUL)."""
    import pyarrow as pa

    try:
        arr = pa.array(values.array if values.dtype != object else values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array(values.astype("string").array)
    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            continue  # numbers, bools: no text
        data = chunk.buffers()[2]
        if data is not None and bytes(data).find(b"\x00") >= 0:
            return True
    return False


#: Rows read back to check a frame kept after a write (:func:`_keep_written`).
_SAMPLE_ROWS = 64


def _read_table(
    path: Path, tbl: str, kind: str, *, max_features: int | None = None
) -> gpd.GeoDataFrame:
    import pyogrio

    gdf = pyogrio.read_dataframe(  # use_arrow: 4–5× faster at 100k rows
        path, layer=tbl, use_arrow=True, max_features=max_features
    )
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    if "id" in gdf.columns:
        gdf["id"] = gdf["id"].astype(str)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    return _read_back(gdf, kind) if kind in REGISTRY else gdf


#: Rows written to a GeoPackage table per call (bounds the Arrow copy of a large layer).
WRITE_CHUNK_ROWS = 250_000


def _write_temp_gpkg(
    frames: dict[str, gpd.GeoDataFrame],
    folder: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write ``frames`` to a temporary GeoPackage, in chunks of :data:`WRITE_CHUNK_ROWS` rows;
    ``on_progress(rows written, rows)`` after every chunk."""
    import pyogrio

    from layers.io_safe import clean_stale_temps

    clean_stale_temps(folder)  # temp copies of writers that were killed
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".innomap-{os.getpid()}-", suffix=".gpkg")
    os.close(fd)
    os.unlink(tmp)
    total, done = sum(len(g) for g in frames.values()), 0
    try:
        for tbl, gdf in frames.items():
            arrow = _arrow_writable(gdf)  # ~1.6× faster; mixed object columns go row-wise
            for start in range(0, max(len(gdf), 1), WRITE_CHUNK_ROWS):
                pyogrio.write_dataframe(
                    gdf.iloc[start : start + WRITE_CHUNK_ROWS],
                    tmp,
                    layer=tbl,
                    driver="GPKG",
                    append=start > 0 or Path(tmp).exists(),
                    layer_options={"SPATIAL_INDEX": "NO"},
                    use_arrow=arrow,
                )
                done += min(WRITE_CHUNK_ROWS, len(gdf) - start)
                if on_progress is not None:
                    on_progress(done, total)
    except BaseException:  # disk full, cancelled …: leave no half-written copy behind
        for f in (tmp, tmp + "-journal", tmp + "-wal", tmp + "-shm"):
            if os.path.exists(f):
                os.unlink(f)
        raise
    return Path(tmp)


def _arrow_writable(gdf: gpd.GeoDataFrame) -> bool:
    """Whether every object column holds text only (so Arrow can type it)."""
    return all(
        pd.api.types.infer_dtype(gdf[c], skipna=True) in ("string", "empty")
        for c in gdf.columns
        if c != gdf.geometry.name and gdf[c].dtype == object
    )


def _copy_tables(con: sqlite3.Connection, tables: Iterable[str]) -> None:
    """Copy feature tables from the attached ``src`` GeoPackage into ``main``."""
    for tbl in tables:
        (sql,) = con.execute(
            "SELECT sql FROM src.sqlite_master WHERE type = 'table' AND name = ?", (tbl,)
        ).fetchone()
        con.execute(sql)
        con.execute(f'INSERT INTO main."{tbl}" SELECT * FROM src."{tbl}"')
        for meta_tbl in ("gpkg_contents", "gpkg_geometry_columns"):
            cols = [r[1] for r in con.execute(f"PRAGMA src.table_info({meta_tbl})")]
            collist = ", ".join(cols)
            con.execute(
                f"INSERT INTO main.{meta_tbl} ({collist}) SELECT {collist} FROM src.{meta_tbl} "
                "WHERE table_name = ?",
                (tbl,),
            )
        has_ogr = con.execute(
            "SELECT 1 FROM main.sqlite_master WHERE name = 'gpkg_ogr_contents'"
        ).fetchone()
        if has_ogr:
            (n,) = con.execute(f'SELECT count(*) FROM main."{tbl}"').fetchone()
            con.execute(
                "INSERT OR REPLACE INTO main.gpkg_ogr_contents (table_name, feature_count) "
                "VALUES (?, ?)",
                (tbl, n),
            )
        _record_written(con, tbl)


def _label_table(con: sqlite3.Connection, tbl: str, name: str, kind: str) -> None:
    """Give QGIS a readable layer name (gpkg_contents.identifier must be unique)."""
    taken = {
        r[0]
        for r in con.execute(
            "SELECT identifier FROM main.gpkg_contents WHERE table_name <> ?", (tbl,)
        )
    }
    ident = name if name not in taken else f"{name} [{tbl}]"
    con.execute(
        "UPDATE main.gpkg_contents SET identifier = ?, description = ? WHERE table_name = ?",
        (ident, f"InnoMap {kind}", tbl),
    )


def _drop_table(con: sqlite3.Connection, tbl: str) -> None:
    con.execute(f'DROP TABLE IF EXISTS main."{tbl}"')
    for meta_tbl in (
        "gpkg_contents",
        "gpkg_geometry_columns",
        "gpkg_ogr_contents",
        "gpkg_extensions",
    ):
        exists = con.execute(
            "SELECT 1 FROM main.sqlite_master WHERE name = ?", (meta_tbl,)
        ).fetchone()
        if exists:
            con.execute(f"DELETE FROM main.{meta_tbl} WHERE lower(table_name) = lower(?)", (tbl,))


def transaction(
    project,
    action: str,
    detail: str | Callable[[], str],
    body: Callable[[sqlite3.Connection], None],
    *,
    frames: dict[str, gpd.GeoDataFrame] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    stale_ok: bool = False,
) -> None:
    """Run ``body`` in one write transaction on the project file, with a version check.

    The file's write lock (``BEGIN IMMEDIATE``) serialises writers. A change that depends
    on what the writer read (replacing or removing a layer, …) is refused as a conflict
    when the project changed since it was opened; one that does not (``stale_ok``: adding
    a layer, saving a run, keeping a road network) waits its turn and lands, its name
    decided inside the lock. ``detail`` may be a function, called after ``body``.
    """
    import pyogrio.errors

    path = Path(project.ref)
    _check_project_file(path)
    try:
        tmp = _write_temp_gpkg(frames, path.parent, on_progress) if frames else None
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise _store_error(path, exc) from None
    con = _connect(path)
    current = False
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            version = int(_meta(con).get("version", 0))
            current = version == project.version
            if not current and not stale_ok:
                raise ProjectConflictError(
                    f"项目已被他人修改 / project {project.name!r} was changed since it was opened "
                    f"(version {project.version} → {version}): reopen it and apply your change "
                    "again; nothing was written"
                )
            if tmp is not None:
                con.execute("ATTACH DATABASE ? AS src", (str(tmp),))
            named = _history_push(con, version, action)
            body(con)
            text = detail() if callable(detail) else detail
            _history_prune(con, version, action, text, named)
            con.execute(
                f"INSERT OR REPLACE INTO {_META} (key, value) VALUES ('version', ?), "
                "('updated_at', ?)",
                (json.dumps(version + 1), json.dumps(_now())),
            )
            con.execute(
                f"INSERT INTO {_AUDIT} (ts, user, action, detail) VALUES (?, ?, ?, ?)",
                (_now(), _user(), action, text),
            )
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        if tmp is not None:
            con.execute("DETACH DATABASE src")
    except sqlite3.Error as exc:
        raise _store_error(path, exc) from None
    finally:
        con.close()
        if tmp is not None and tmp.exists():
            tmp.unlink()
    if current:  # a stale copy stays stale: a later change built on it is still refused
        project.version += 1


def _store_error(path: Path, exc: BaseException) -> ProjectError:
    """One clear message for a GeoPackage write that failed (disk full, read-only, damaged)."""
    text = str(exc)
    if "full" in text or getattr(exc, "errno", None) == 28:
        return ProjectError(
            f"磁盘已满 / the disk holding {path} is full: nothing was written and the project "
            "keeps its last good state; free space (or choose another folder), then repeat"
        )
    if (
        "readonly" in text.replace(" ", "")
        or "read-only" in text
        or getattr(exc, "errno", None) in (13, 30)
    ):
        return ProjectError(
            f"项目文件只读 / {path} cannot be written (read-only file or folder): nothing was "
            "written; make the file and its folder writable, or use 另存为 / project copy"
        )
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return ProjectError(
            f"项目文件已损坏 / {path} is damaged ({text}): nothing was written; restore it from "
            "a backup or copy its readable layers with `python cli.py project copy`"
        )
    if "locked" in text or "busy" in text:
        return ProjectError(
            f"项目文件被占用 / {path} stayed locked by another writer for 60 s: nothing was "
            "written; try again when the other change has finished"
        )
    return ProjectError(f"无法写入项目 / cannot write {path}: {text}; nothing was written")


# ---------------------------------------------------------------- changes (see layers.project)
def add_layer(
    project,
    stored,
    old,
    on_progress: Callable[[int, int], None] | None = None,
    *,
    zone_keys: set[str] | None = None,
    detail=None,
) -> None:
    """Write ``stored`` (replacing ``old``) in one transaction; ``on_progress(rows written,
    rows)`` follows the chunks. A new layer's name is made unique inside the lock;
    ``zone_keys`` (a zones layer's names) are checked against the committed zones there.
    The frame written is kept in memory when it reads back equal (:func:`_keep_written`)."""
    tbl = stored.table
    name = stored.name

    def body(con: sqlite3.Connection) -> None:
        if old is not None and old.table:  # its table stays while the history names it
            con.execute(f"DELETE FROM {_LAYERS} WHERE name = ?", (name,))
        else:  # decided in the lock: another writer may have added a layer of this name
            taken = {r[0] for r in con.execute(f"SELECT name FROM {_LAYERS}")}
            stored.name = _free_name(stored.name, taken)
        if zone_keys:
            _check_zone_names(_stored_zone_names(con), zone_keys)
        _copy_tables(con, [tbl])
        _label_table(con, tbl, stored.name, stored.kind)
        (pos,) = con.execute(f"SELECT coalesce(max(position), 0) + 1 FROM {_LAYERS}").fetchone()
        con.execute(
            f"INSERT INTO {_LAYERS} (name, kind, tbl, position, source_file, crs_in, encoding, "
            "imported_at, rows, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            layer_values(stored, tbl, pos),
        )
        con.execute(f"DELETE FROM {_REJECTED} WHERE layer = ?", (stored.name,))
        if len(stored.rejected):
            con.execute(
                f"INSERT INTO {_REJECTED} (layer, data) VALUES (?, ?)",
                (stored.name, rejected_text(stored.rejected)),
            )

    transaction(
        project,
        "add_layer" if old is None else "replace_layer",
        detail,
        body,
        frames={tbl: stored.gdf},
        on_progress=on_progress,
        stale_ok=old is None,
    )
    stored.gdf = _read_back(stored.gdf, stored.kind).reset_index(drop=True)
    _keep_written(Path(project.ref), tbl, stored.kind, stored.gdf)


def _stored_zone_names(con: sqlite3.Connection) -> set[str]:
    """Zone names as committed in the GeoPackage (read inside the write lock)."""
    out: set[str] = set()
    for (tbl,) in con.execute(f"SELECT tbl FROM {_LAYERS} WHERE kind = 'zones'").fetchall():
        try:
            out |= {zone_key(r[0]) for r in con.execute(f'SELECT name FROM main."{tbl}"')}
        except sqlite3.Error:  # a damaged or foreign table: it holds no names we can compare
            continue
    return out


def remove_layer(project, lname: str, tbl: str) -> None:
    def body(con: sqlite3.Connection) -> None:  # the table stays while the history names it
        con.execute(f"DELETE FROM {_LAYERS} WHERE name = ?", (lname,))
        con.execute(f"DELETE FROM {_REJECTED} WHERE layer = ?", (lname,))

    transaction(project, "remove_layer", json.dumps({"layer": lname}, ensure_ascii=False), body)


def save_run(project, rec) -> None:
    def body(con: sqlite3.Connection) -> None:
        con.execute(_RUN_META_DDL)
        if rec.name:  # unique in the project, checked inside the write lock
            taken = con.execute(
                f"SELECT m.name FROM {_RUN_META} m JOIN {_RUNS} r ON r.id = m.id"
            ).fetchall()
            check_run_name(rec.name, [t[0] for t in taken])
        con.execute(
            f"INSERT INTO {_RUNS} ({RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", run_values(rec)
        )
        _insert_run_meta(con, [rec])

    transaction(
        project,
        "save_run",
        json.dumps({"run": rec.id, "analysis": rec.analysis}),
        body,
        stale_ok=True,  # a new run depends on nothing the writer read
    )


def _insert_run_meta(con: sqlite3.Connection, runs) -> None:
    """The run-meta rows of ``runs`` that have a name or meta."""
    rows = [run_meta_values(r) for r in runs if r.name or r.meta]
    if rows:
        con.execute(_RUN_META_DDL)
        con.executemany(
            f"INSERT OR REPLACE INTO {_RUN_META} ({RUN_META_COLUMNS}) VALUES (?, ?, ?)", rows
        )


def delete_run(project, run_id: str) -> None:
    def body(con: sqlite3.Connection) -> None:
        _stash_run(con, run_id)  # for undo
        con.execute(f"DELETE FROM {_RUNS} WHERE id = ?", (run_id,))

    transaction(project, "delete_run", json.dumps({"run": run_id}), body)


def add_network(project, net, old, edges: gpd.GeoDataFrame) -> None:
    def body(con: sqlite3.Connection) -> None:
        con.execute(_DDL[4])  # networks table (projects written before it existed)
        if old is not None:  # its table stays while the history names it
            con.execute(f"DELETE FROM {_NETWORKS} WHERE name = ?", (net.name,))
        _copy_tables(con, [net.table])
        _label_table(con, net.table, f"路网 {net.name}", "network")
        con.execute(
            f"INSERT INTO {_NETWORKS} ({NETWORK_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            network_values(net),
        )

    transaction(
        project,
        "add_network",
        json.dumps({"network": net.name, "edges": net.edges}, ensure_ascii=False),
        body,
        frames={net.table: edges},
    )


def network_edges(project, net) -> gpd.GeoDataFrame:
    import pyogrio

    return pyogrio.read_dataframe(project.ref, layer=net.table)


def gazetteer_rows(ref: str) -> list[tuple]:
    """``(name, tbl, source_file, imported_at, rows, crs_in)`` of the file's address registers."""
    if not Path(ref).exists():
        return []
    con = _connect(Path(ref))
    try:
        return con.execute(
            f"SELECT name, tbl, source_file, imported_at, rows, crs_in FROM {_GAZETTEERS} "
            "ORDER BY name"
        ).fetchall()
    except sqlite3.OperationalError:  # no register kept yet
        return []
    finally:
        con.close()


def add_gazetteer(project, *, name: str, tbl: str, frame: gpd.GeoDataFrame, meta: dict) -> None:
    """Keep an address register (replacing one of the same name) in one transaction;
    ``meta`` is ``{"s": source_file, "i": imported_at, "r": rows, "c": crs_in}``."""
    old = {r[0]: r[1] for r in gazetteer_rows(project.ref)}.get(name)

    def body(con: sqlite3.Connection) -> None:
        con.execute(_GAZETTEER_DDL)
        if old is not None:  # its table stays while the history names it
            con.execute(f"DELETE FROM {_GAZETTEERS} WHERE name = ?", (name,))
        _copy_tables(con, [tbl])
        _label_table(con, tbl, f"地址库 {name}", "gazetteer")
        con.execute(
            f"INSERT INTO {_GAZETTEERS} (name, tbl, source_file, imported_at, rows, crs_in) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (name, tbl, meta["s"], meta["i"], meta["r"], meta["c"]),
        )

    transaction(
        project,
        "add_gazetteer",
        json.dumps({"gazetteer": name, "rows": len(frame)}, ensure_ascii=False),
        body,
        frames={tbl: frame},
    )


def gazetteer_frame(ref: str, tbl: str) -> gpd.GeoDataFrame:
    import pyogrio

    return pyogrio.read_dataframe(ref, layer=tbl)


def write_new(ref, meta: dict, layers, runs, networks=(), *, force: bool) -> None:
    """Write a whole project file atomically (temp file + rename)."""
    path = Path(ref)
    if path.exists() and not force:
        raise ProjectError(
            f"{path.name} 已存在 / {path.name!r} already exists: choose another name or --force"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tables = [_table_name() for _ in layers]
    frames = {tbl: _storable(lyr.gdf) for lyr, tbl in zip(layers, tables, strict=True)}
    for net, edges in networks:
        frames[net.table] = _storable(edges)
    if not frames:  # GDAL creates the GeoPackage metadata tables with the first layer
        frames[_PLACEHOLDER] = gpd.GeoDataFrame(
            {"x": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326
        )
    tmp = _write_temp_gpkg(frames, path.parent)
    try:
        con = _connect(tmp)
        try:
            con.execute("BEGIN IMMEDIATE")
            if _PLACEHOLDER in frames:
                _drop_table(con, _PLACEHOLDER)
            _write_rows(con, meta, list(zip(layers, tables, strict=True)), runs, networks)
            for tbl in frames.keys() - {_PLACEHOLDER}:
                _record_written(con, tbl)
            con.execute("COMMIT")
            con.execute("VACUUM")
        finally:
            con.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


#: The table a new file holds until its metadata tables exist (no layer to write).
_PLACEHOLDER = "innomap_placeholder"


def _write_rows(con: sqlite3.Connection, meta: dict, layers, runs, networks) -> None:
    """The metadata, layers, networks, runs and the ``create`` audit row of a new file
    (``layers`` as ``(layer, table)`` pairs; their tables are already copied in)."""
    for ddl in _DDL:
        con.execute(ddl)
    for k, v in meta.items():
        con.execute(
            f"INSERT INTO {_META} (key, value) VALUES (?, ?)",
            (k, json.dumps(v, ensure_ascii=False)),
        )
    for pos, (lyr, tbl) in enumerate(layers, start=1):
        con.execute(
            f"INSERT INTO {_LAYERS} (name, kind, tbl, position, source_file, crs_in, "
            "encoding, imported_at, rows, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            layer_values(lyr, tbl, pos),
        )
        _label_table(con, tbl, lyr.name, lyr.kind)
        if len(lyr.rejected):
            con.execute(
                f"INSERT INTO {_REJECTED} (layer, data) VALUES (?, ?)",
                (lyr.name, rejected_text(lyr.rejected)),
            )
    for net, _edges in networks:
        _label_table(con, net.table, f"路网 {net.name}", "network")
        con.execute(
            f"INSERT INTO {_NETWORKS} ({NETWORK_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            network_values(net),
        )
    for r in runs:
        con.execute(
            f"INSERT INTO {_RUNS} ({RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", run_values(r)
        )
    _insert_run_meta(con, runs)
    con.execute(
        f"INSERT INTO {_AUDIT} (ts, user, action, detail) VALUES (?, ?, ?, ?)",
        (_now(), _user(), "create", json.dumps({"name": meta["name"]}, ensure_ascii=False)),
    )


def audit_log(ref: str) -> list[dict]:
    """The audit rows of the project file (oldest first)."""
    con = _connect(Path(ref))
    try:
        rows = con.execute(
            f"SELECT ts, user, action, detail FROM {_AUDIT} ORDER BY rowid"
        ).fetchall()
    finally:
        con.close()
    return [{"ts": r[0], "user": r[1], "action": r[2], "detail": r[3]} for r in rows]


def audit_event(ref: str, action: str, user: str, detail: str) -> None:
    """Append one row to the audit table outside any change (e.g. a refused change)."""
    con = _connect(Path(ref))
    try:
        con.execute(
            f"INSERT INTO {_AUDIT} (ts, user, action, detail) VALUES (?, ?, ?, ?)",
            (_now(), user, action, detail),
        )
    finally:
        con.close()


# ---------------------------------------------------------------- undo history (layers.store_history)
_HISTORY = "innomap_history"
_BLOBS = "innomap_history_blobs"
_HISTORY_DDL = (
    f"CREATE TABLE IF NOT EXISTS {_HISTORY} (version INTEGER PRIMARY KEY, ts TEXT, user TEXT, "
    "action TEXT NOT NULL, detail TEXT, state TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {_BLOBS} (key TEXT PRIMARY KEY, data TEXT NOT NULL)",
)
_LAYER_ROW = "name, kind, tbl, position, source_file, crs_in, encoding, imported_at, rows, note"
_GAZ_ROW = "name, tbl, source_file, imported_at, rows, crs_in"


def _rows_or_none(con: sqlite3.Connection, sql: str, args=()) -> list:
    """Rows of a query on a table older projects may not have (networks, registers)."""
    try:
        return con.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


def _state(con: sqlite3.Connection) -> str:
    """The project's state (metadata rows) as the history keeps it; rejected rows as blobs."""
    con.execute(
        f"INSERT OR IGNORE INTO {_BLOBS} (key, data) SELECT 'rej:' || l.tbl, r.data "
        f"FROM {_REJECTED} r JOIN {_LAYERS} l ON l.name = r.layer WHERE NOT EXISTS "
        f"(SELECT 1 FROM {_BLOBS} b WHERE b.key = 'rej:' || l.tbl)"  # kept once, never re-read
    )
    rej = con.execute(
        f"SELECT r.layer, l.tbl FROM {_REJECTED} r JOIN {_LAYERS} l ON l.name = r.layer"
    ).fetchall()
    return store_history.make_state(
        con.execute(f"SELECT {_LAYER_ROW} FROM {_LAYERS} ORDER BY position").fetchall(),
        dict(rej),
        [r[0] for r in con.execute(f"SELECT id FROM {_RUNS} ORDER BY created_at, id")],
        _rows_or_none(con, f"SELECT {NETWORK_COLUMNS} FROM {_NETWORKS} ORDER BY name"),
        _rows_or_none(con, f"SELECT {_GAZ_ROW} FROM {_GAZETTEERS} ORDER BY name"),
        run_names=_run_names(con),
    )


def _run_names(con: sqlite3.Connection) -> dict[str, str]:
    """``{run id: name}`` of the project's named runs."""
    return dict(
        _rows_or_none(
            con,
            f"SELECT m.id, m.name FROM {_RUN_META} m JOIN {_RUNS} r ON r.id = m.id "
            "WHERE m.name <> ''",
        )
    )


def _set_run_names(con: sqlite3.Connection, names: dict[str, str]) -> None:
    """Give runs these names (their meta rows kept)."""
    con.execute(_RUN_META_DDL)
    con.executemany(
        f"INSERT INTO {_RUN_META} (id, name, meta) VALUES (?, ?, '{{}}') "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name",
        list(names.items()),
    )


def _named(con: sqlite3.Connection) -> tuple[set[str], set[str]]:
    """``(tables, blob keys)`` the project names now or any kept state names."""
    now = store_history.load(_state_of_now(con))
    tables, blobs = store_history.state_tables(now), set()
    for (text,) in con.execute(f"SELECT state FROM {_HISTORY}"):
        st = store_history.load(text)
        tables |= store_history.state_tables(st)
        blobs |= store_history.blob_keys(st)
    return tables, blobs


def _state_of_now(con: sqlite3.Connection) -> str:
    """The current state without writing blobs (to see which tables it names)."""
    return store_history.make_state(
        con.execute(f"SELECT {_LAYER_ROW} FROM {_LAYERS}").fetchall(),
        {},
        [],
        _rows_or_none(con, f"SELECT {NETWORK_COLUMNS} FROM {_NETWORKS}"),
        _rows_or_none(con, f"SELECT {_GAZ_ROW} FROM {_GAZETTEERS}"),
    )


def _history_push(con: sqlite3.Connection, version: int, action: str) -> set[str]:
    """Keep the state before a change (not before an undo); the tables named before it."""
    for ddl in _HISTORY_DDL:
        con.execute(ddl)
    if action != "undo":
        con.execute(
            f"INSERT OR REPLACE INTO {_HISTORY} (version, ts, user, action, state) "
            "VALUES (?, ?, ?, ?, ?)",
            (version, _now(), _user(), action, _state(con)),
        )
    return _named(con)[0]


def _history_prune(
    con: sqlite3.Connection, version: int, action: str, detail: str, named: set[str]
) -> None:
    """Note the change's detail, keep the newest ``UNDO_DEPTH`` states, drop what no state names."""
    if action != "undo":
        con.execute(f"UPDATE {_HISTORY} SET detail = ? WHERE version = ?", (detail, version))
    con.execute(
        f"DELETE FROM {_HISTORY} WHERE version NOT IN "
        f"(SELECT version FROM {_HISTORY} ORDER BY version DESC LIMIT ?)",
        (store_history.depth(),),
    )
    tables, blobs = _named(con)
    for tbl in store_history.tables_to_drop(named, tables):
        _drop_table(con, tbl)
    for (key,) in con.execute(f"SELECT key FROM {_BLOBS}").fetchall():
        if key not in blobs:
            con.execute(f"DELETE FROM {_BLOBS} WHERE key = ?", (key,))
    _label_kept(con, tables)


def _label_kept(con: sqlite3.Connection, tables: set[str]) -> None:
    """In QGIS, tables only the history names read ``历史 <table>``; the layers keep their names."""
    now = store_history.state_tables(store_history.load(_state_of_now(con)))
    for tbl in sorted(tables - now):
        con.execute(
            "UPDATE main.gpkg_contents SET identifier = ?, description = ? WHERE table_name = ?",
            (f"历史 {tbl}", "InnoMap undo history", tbl),
        )
    for name, kind, tbl in con.execute(f"SELECT name, kind, tbl FROM {_LAYERS}").fetchall():
        _label_table(con, tbl, name, kind)


def _stash_run(con: sqlite3.Connection, run_id: str) -> None:
    """Keep a run about to be deleted as blob ``run:<id>`` (undo puts it back)."""
    row = con.execute(f"SELECT {RUN_COLUMNS} FROM {_RUNS} WHERE id = ?", (run_id,)).fetchone()
    if row is not None:
        con.execute(
            f"INSERT OR REPLACE INTO {_BLOBS} (key, data) VALUES (?, ?)",
            (f"run:{run_id}", json.dumps(list(row), ensure_ascii=False)),
        )


def history(ref: str) -> list[dict]:
    """The changes that can be undone, newest first (``version`` is the one each started from)."""
    con = _connect(Path(ref))
    try:
        rows = _rows_or_none(
            con, f"SELECT version, ts, user, action, detail FROM {_HISTORY} ORDER BY version DESC"
        )
    finally:
        con.close()
    return [dict(zip(("version", "ts", "user", "action", "detail"), r, strict=True)) for r in rows]


def undo(project) -> dict:
    """Put back the state before the project's last change, in one transaction (see
    :mod:`layers.store_history`); refused as a conflict when ``project`` is stale."""
    undone: dict = {}

    def body(con: sqlite3.Connection) -> None:
        row = con.execute(
            f"SELECT version, ts, user, action, detail, state FROM {_HISTORY} "
            "ORDER BY version DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise store_history.nothing_to_undo(project.name)
        undone.update(zip(("version", "ts", "user", "action", "detail"), row[:5], strict=True))
        _restore(con, store_history.load(row[5]))
        con.execute(f"DELETE FROM {_HISTORY} WHERE version = ?", (row[0],))

    def detail() -> str:
        return json.dumps({"undone": undone}, ensure_ascii=False)

    transaction(project, "undo", detail, body)
    return undone


def _restore(con: sqlite3.Connection, state: dict) -> None:
    """Put a kept state's metadata rows back (its tables are still in the file)."""
    con.execute(f"DELETE FROM {_LAYERS}")
    con.execute(f"DELETE FROM {_REJECTED}")
    for r in state["layers"]:
        con.execute(f"INSERT INTO {_LAYERS} ({_LAYER_ROW}) VALUES ({', '.join('?' * 10)})", r)
        _label_table(con, r[2], r[0], r[1])
    for name, key in state["rejected"].items():
        con.execute(
            f"INSERT INTO {_REJECTED} (layer, data) SELECT ?, data FROM {_BLOBS} WHERE key = ?",
            (name, key),
        )
    keep = set(state["runs"])
    have = {r[0] for r in con.execute(f"SELECT id FROM {_RUNS}")}
    for rid in have - keep:
        _stash_run(con, rid)
        con.execute(f"DELETE FROM {_RUNS} WHERE id = ?", (rid,))
    for rid in keep - have:
        blob = con.execute(f"SELECT data FROM {_BLOBS} WHERE key = ?", (f"run:{rid}",)).fetchone()
        if blob is not None:
            con.execute(
                f"INSERT INTO {_RUNS} ({RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                json.loads(blob[0]),
            )
    names = store_history.run_names(state, _run_names(con))
    if names:
        _set_run_names(con, names)
    con.execute(_DDL[4])
    con.execute(_GAZETTEER_DDL)
    con.execute(f"DELETE FROM {_NETWORKS}")
    con.execute(f"DELETE FROM {_GAZETTEERS}")
    for r in state["networks"]:
        con.execute(f"INSERT INTO {_NETWORKS} ({NETWORK_COLUMNS}) VALUES (?, ?, ?, ?, ?)", r)
    for r in state["gazetteers"]:
        con.execute(f"INSERT INTO {_GAZETTEERS} ({_GAZ_ROW}) VALUES (?, ?, ?, ?, ?, ?)", r)


# ---------------------------------------------------------------- housekeeping changes
def rename_layer(project, old: str, new: str) -> None:
    """Rename a layer (its rejected rows follow; QGIS's label too) in one transaction."""

    def body(con: sqlite3.Connection) -> None:
        taken = {r[0] for r in con.execute(f"SELECT name FROM {_LAYERS}")}
        if new in taken:
            raise ProjectConflictError(
                f"图层名 {new!r} 已被占用 / a layer named {new!r} is already in the project: "
                "choose another name; nothing was written"
            )
        row = con.execute(f"SELECT tbl, kind FROM {_LAYERS} WHERE name = ?", (old,)).fetchone()
        con.execute(f"UPDATE {_LAYERS} SET name = ? WHERE name = ?", (new, old))
        con.execute(f"UPDATE {_REJECTED} SET layer = ? WHERE layer = ?", (new, old))
        if row is not None:
            _label_table(con, row[0], new, row[1])

    transaction(
        project, "rename_layer", json.dumps({"from": old, "to": new}, ensure_ascii=False), body
    )


def rename_run(project, run_id: str, old: str, new: str) -> None:
    """Rename a saved run in one transaction (the name checked unique inside the lock)."""

    def body(con: sqlite3.Connection) -> None:
        taken = _run_names(con)
        taken.pop(run_id, None)
        check_run_name(new, taken.values())
        _set_run_names(con, {run_id: new})

    detail = {"run": run_id, "from": old or run_id, "to": new}
    transaction(project, "rename_run", json.dumps(detail, ensure_ascii=False), body)


def replace_layers(
    project,
    stored,
    removed: list[str],
    *,
    action: str,
    detail: str,
    zone_keys: set[str] | None = None,
) -> None:
    """Write ``stored`` in place of the layers ``removed`` (a merge, an edited zone layer) in
    one transaction; it takes the first removed layer's position. Refused as a conflict
    when the project changed since it was read, or when another layer holds the name."""
    tbl = stored.table

    def body(con: sqlite3.Connection) -> None:
        marks = ", ".join("?" * len(removed))
        (pos,) = con.execute(
            f"SELECT min(position) FROM {_LAYERS} WHERE name IN ({marks})", removed
        ).fetchone()
        con.execute(f"DELETE FROM {_LAYERS} WHERE name IN ({marks})", removed)
        con.execute(f"DELETE FROM {_REJECTED} WHERE layer IN ({marks})", removed)
        if con.execute(f"SELECT 1 FROM {_LAYERS} WHERE name = ?", (stored.name,)).fetchone():
            raise ProjectConflictError(
                f"图层名 {stored.name!r} 已被占用 / a layer named {stored.name!r} is already in "
                "the project: choose another name; nothing was written"
            )
        if zone_keys:
            _check_zone_names(_stored_zone_names(con), zone_keys)
        _copy_tables(con, [tbl])
        _label_table(con, tbl, stored.name, stored.kind)
        con.execute(
            f"INSERT INTO {_LAYERS} ({_LAYER_ROW}) VALUES ({', '.join('?' * 10)})",
            layer_values(stored, tbl, pos if pos is not None else 1),
        )
        if len(stored.rejected):
            con.execute(
                f"INSERT INTO {_REJECTED} (layer, data) VALUES (?, ?)",
                (stored.name, rejected_text(stored.rejected)),
            )

    transaction(project, action, detail, body, frames={tbl: stored.gdf})
    stored.gdf = _read_back(stored.gdf, stored.kind).reset_index(drop=True)
