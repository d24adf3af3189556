"""PostGIS project store: the same projects as the GeoPackage store, in a team database.

A reference is ``postgresql://USER@HOST:PORT/DB?project=NAME``. The password is
never part of it: libpq reads ``PGPASSWORD`` or ``~/.pgpass`` (the app may set
``PGPASSWORD`` from its secrets); references are shown with any password
removed (:func:`redact`).

Layout (schema ``innomap``, project-keyed tables): ``projects`` (name, meta,
version), ``layers``, ``rejected``, ``runs``, ``networks``, ``audit``; every layer
or network is its own table ``innomap.lyr_<hex>`` / ``net_<hex>`` with a
``geometry`` column in EPSG:4326 and a GiST index. Every change is one
transaction that locks the project row (``SELECT … FOR UPDATE``), checks the
version the caller opened, writes, bumps the version and appends to the audit
table; a stale save raises :class:`~layers.project_model.ProjectConflictError`.

The public API is :mod:`layers.project`, which dispatches here for ``postgresql://``
references; what this store shares with the GeoPackage store is in
:mod:`layers.store_common`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

import geopandas as gpd

from layers import store_check, store_history
from layers.filters import zone_key
from layers.project_model import ProjectConflictError, ProjectError
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

__all__ = ["is_pg_ref", "parse_ref", "redact"]

SCHEMA = "innomap"

_DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.projects (
        name TEXT PRIMARY KEY, meta JSONB NOT NULL, version INTEGER NOT NULL,
        created_at TEXT, updated_at TEXT)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.layers (
        project TEXT NOT NULL REFERENCES {SCHEMA}.projects(name) ON DELETE CASCADE,
        name TEXT NOT NULL, kind TEXT NOT NULL, tbl TEXT NOT NULL UNIQUE,
        position INTEGER NOT NULL, source_file TEXT, crs_in TEXT, encoding TEXT,
        imported_at TEXT, rows INTEGER, note TEXT, PRIMARY KEY (project, name))""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.rejected (
        project TEXT NOT NULL, layer TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (project, layer))""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.runs (
        project TEXT NOT NULL REFERENCES {SCHEMA}.projects(name) ON DELETE CASCADE,
        id TEXT NOT NULL, analysis TEXT NOT NULL, title TEXT, created_at TEXT,
        request JSONB NOT NULL, summary JSONB NOT NULL, layers JSONB NOT NULL,
        PRIMARY KEY (project, id))""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.networks (
        project TEXT NOT NULL REFERENCES {SCHEMA}.projects(name) ON DELETE CASCADE,
        name TEXT NOT NULL, tbl TEXT NOT NULL UNIQUE, source_file TEXT, imported_at TEXT,
        edges INTEGER, PRIMARY KEY (project, name))""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.audit (
        id BIGSERIAL PRIMARY KEY, project TEXT NOT NULL, ts TEXT NOT NULL, "user" TEXT,
        action TEXT NOT NULL, detail TEXT)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.gazetteers (
        project TEXT NOT NULL REFERENCES {SCHEMA}.projects(name) ON DELETE CASCADE,
        name TEXT NOT NULL, tbl TEXT NOT NULL UNIQUE, source_file TEXT, imported_at TEXT,
        rows INTEGER, crs_in TEXT, PRIMARY KEY (project, name))""",
    # physical column names of a layer/network table (c1, c2, …) → the names the user gave
    # (JSON as text: JSONB refuses NUL, which a name may hold)
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.columns (
        tbl TEXT PRIMARY KEY, names TEXT NOT NULL)""",
    # a run's name and what reopening it needs (JSON as text); outlives its run (undo)
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.run_meta (
        project TEXT NOT NULL REFERENCES {SCHEMA}.projects(name) ON DELETE CASCADE,
        id TEXT NOT NULL, name TEXT NOT NULL, meta TEXT NOT NULL, PRIMARY KEY (project, id))""",
    # undo history (layers.store_history): the state before each change, keyed by version
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.history (
        project TEXT NOT NULL, version INTEGER NOT NULL, ts TEXT, "user" TEXT,
        action TEXT NOT NULL, detail TEXT, state TEXT NOT NULL, PRIMARY KEY (project, version))""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.history_blobs (
        project TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (project, key))""",
    # statements that changed a table InnoMap wrote, counted by a trigger (_record_written)
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.table_edits (
        tbl TEXT PRIMARY KEY, edits BIGINT NOT NULL DEFAULT 0)""",
)

#: The trigger function counting the statements that change a table InnoMap wrote.
_COUNT_EDIT = f"""CREATE OR REPLACE FUNCTION {SCHEMA}.count_edit() RETURNS trigger
    LANGUAGE plpgsql AS $f$
    BEGIN
        UPDATE {SCHEMA}.table_edits SET edits = edits + 1 WHERE tbl = TG_TABLE_NAME;
        RETURN NULL;
    END $f$"""


#: Names of the tables InnoMap creates for layers and networks (generated, never typed).
_TABLE_RE = re.compile(r"^(?:lyr|net|gaz)_[0-9a-f]{12}$")


def _ident(*parts: str) -> str:
    """The one quoting function of this store: ``parts`` as a (schema-qualified) SQL identifier.

    Every identifier that reaches SQL text goes through here (``psycopg.sql.Identifier``);
    values always travel as parameters. Table names are InnoMap's own (``lyr_<hex>``),
    column names are generated (``c1``, ``c2``, … see :func:`_physical_names`), so a
    name a user typed is never part of a statement.
    """
    from psycopg import sql

    for part in parts:
        if not isinstance(part, str) or not part or "\x00" in part:
            raise ValueError(f"not an SQL identifier: {part!r}")
    return sql.Identifier(*parts).as_string(None)


def _table(tbl: str) -> str:
    """``innomap."lyr_…"`` for a table InnoMap created (anything else is refused)."""
    if not _TABLE_RE.match(str(tbl)):
        raise ValueError(f"not an InnoMap table name: {tbl!r}")
    return _ident(SCHEMA, tbl)


def _physical_names(columns: list[str]) -> dict[str, str]:
    """Generated physical names (``c1``, ``c2``, …) for a layer's attribute columns.

    PostgreSQL cuts identifiers at 63 bytes (two long headers would collide) and refuses
    NUL; the names the user gave are kept in ``innomap.columns`` and restored on read.
    """
    return {c: f"c{i}" for i, c in enumerate(columns, start=1)}


_DDL_GAZETTEERS = next(d for d in _DDL if ".gazetteers" in d)


def is_pg_ref(ref) -> bool:
    return str(ref).startswith(("postgresql://", "postgres://"))


def redact(ref: str) -> str:
    """``ref`` with any password removed (for messages and logs)."""
    parts = urlsplit(str(ref))
    if parts.password is None:
        return str(ref)
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _project_param(ref: str) -> str:
    """The project name of a reference, taken exactly (percent-decoding only).

    ``&``, ``#``, ``+`` and ``%`` in a name must be percent-encoded (``%26``, ``%23``,
    ``%2B``, ``%25``): a reference whose query holds anything but ``project=NAME``, or a
    fragment, is refused with that reason instead of silently storing a cut name.
    """
    from urllib.parse import unquote

    parts = urlsplit(str(ref))
    fix = (
        "percent-encode & # + % in the name (%26 %23 %2B %25), e.g. "
        "postgresql://USER@HOST:PORT/DB?project=a%26b"
    )
    if parts.fragment or "#" in str(ref):
        raise ProjectError(
            f"项目引用含 # / the reference {redact(ref)!r} holds '#' (a URL fragment would cut "
            f"the project name): {fix}"
        )
    params = [p for p in parts.query.split("&") if p != ""]
    named = [p for p in params if p.startswith("project=")]
    if not named:
        raise ProjectError(
            f"PostGIS 项目引用缺少项目名 / {redact(ref)!r} names no project: use "
            "postgresql://USER@HOST:PORT/DB?project=NAME"
        )
    if len(params) != 1 or len(named) != 1:
        raise ProjectError(
            f"项目引用的参数无效 / {redact(ref)!r}: the query must be exactly project=NAME "
            f"(got {len(params)} parameter(s)); {fix}"
        )
    name = unquote(named[0][len("project=") :], errors="strict")
    if name != name.strip() or not name:
        raise ProjectError(
            f"PostGIS 项目引用缺少项目名或名称首尾有空格 / {redact(ref)!r} names no project (or "
            "the name starts or ends with a space): use postgresql://USER@HOST:PORT/DB?project=NAME"
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name) or len(name) > 200:
        raise ProjectError(
            f"项目名无效 / the project name in {redact(ref)!r} holds control characters or is "
            "longer than 200 characters: choose a plain name"
        )
    return name


def pg_ref(url: str, name: str) -> str:
    """``url?project=NAME`` with the name percent-encoded, so that it reads back exactly."""
    from urllib.parse import quote

    return f"{url}?project={quote(name, safe='')}"


def parse_ref(ref: str) -> tuple[str, str]:
    """``(sqlalchemy_url, project_name)`` of a PostGIS project reference."""

    parts = urlsplit(str(ref))
    if parts.password is not None:
        raise ProjectError(
            "项目引用中不能写密码 / do not put the password in the project reference: set "
            "PGPASSWORD or use ~/.pgpass (the reference is shown and saved in recent projects)"
        )
    name = _project_param(ref)
    netloc = parts.netloc
    url = urlunsplit(("postgresql+psycopg", netloc, parts.path, "", ""))
    return url, name


# ---------------------------------------------------------------- which hosts may be reached
def host_port(ref: str) -> tuple[str, int]:
    """``(host, port)`` of a reference (host lower-cased, port 5432 when not given)."""
    parts = urlsplit(str(ref))
    try:
        port = parts.port or 5432
    except ValueError:
        port = -1
    return ((parts.hostname or "").lower(), port)


def configured_hosts() -> set[tuple[str, int]]:
    """The database hosts this server was configured for: those of ``$INNOMAP_PROJECT``,
    ``$INNOMAP_PROJECTS`` and ``$INNOMAP_PG_HOSTS`` (comma-separated ``HOST:PORT``)."""
    import os

    out: set[tuple[str, int]] = set()
    refs = [os.environ.get("INNOMAP_PROJECT", "")]
    refs += os.environ.get("INNOMAP_PROJECTS", "").split(",")
    for r in (r.strip() for r in refs):
        if is_pg_ref(r):
            out.add(host_port(r))
    for item in os.environ.get("INNOMAP_PG_HOSTS", "").split(","):
        item = item.strip()
        if item:
            out.add(host_port(f"postgresql://{item}/x"))
    return out


def check_host(ref: str) -> None:
    """Refuse a reference to a database host:port the server was not configured for.

    A reference that arrives from a link or is typed into the app must not make the
    server connect (and offer ``PGPASSWORD``) to a host of the sender's choosing.
    """

    hp = host_port(ref)
    allowed = configured_hosts()
    if hp not in allowed:
        raise ProjectError(
            f"未配置的数据库主机 / the database host {hp[0]}:{hp[1]} is not one this server was "
            "configured for: an administrator lists it in INNOMAP_PG_HOSTS (HOST:PORT, "
            "comma-separated) or INNOMAP_PROJECT/INNOMAP_PROJECTS"
        )


def require_auth() -> str:
    """libpq's ``require_auth`` for every connection (settings, ``$INNOMAP_PG_REQUIRE_AUTH``):
    by default ``!password``, so the password is never sent in cleartext."""
    import os

    import settings

    return os.environ.get("INNOMAP_PG_REQUIRE_AUTH", settings.PG_REQUIRE_AUTH)


_ENGINES: list = []


@lru_cache(maxsize=8)
def _engine(url: str, auth: str):
    from sqlalchemy import create_engine

    eng = create_engine(url, pool_pre_ping=True, future=True, connect_args={"require_auth": auth})
    _ENGINES.append(eng)
    return eng


def _after_fork_in_child() -> None:
    """A forked process must not use its parent's pooled connections (SQLAlchemy's advice:
    ``dispose(close=False)`` in the child): it opens its own."""
    for eng in _ENGINES:
        eng.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork_in_child)


def _connect_error(ref: str, exc: Exception):

    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    msg = re.sub(r"password=\S+", "password=***", msg)
    return ProjectError(
        f"无法连接 PostGIS / cannot connect to {redact(ref)}: {msg}. Check the host, port, user "
        "and that PGPASSWORD or ~/.pgpass holds the password"
    )


def _db_error(ref: str, exc: Exception):
    """A clean :class:`~layers.project_model.ProjectError` for a database failure: "cannot connect"
    only when the connection failed, otherwise what the database refused (nothing written)."""
    import psycopg

    orig = getattr(exc, "orig", None) or exc
    state = getattr(orig, "sqlstate", None)
    if isinstance(orig, psycopg.OperationalError) and (state is None or state.startswith("08")):
        return _connect_error(ref, exc)
    if isinstance(orig, psycopg.errors.DiskFull) or state == "53100":
        return ProjectError(
            f"数据库磁盘已满 / the database server's disk is full ({redact(ref)}): nothing was "
            "written; ask the administrator to free space, then repeat the change"
        )
    msg = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    msg = re.sub(r"password=\S+", "password=***", msg)
    return ProjectError(
        f"数据库拒绝了此操作 / the database refused the change ({redact(ref)}): {msg}"
        + (f" [SQLSTATE {state}]" if state else "")
        + "; nothing was written"
    )


def _begin(ref: str):
    url, _ = parse_ref(ref)
    try:
        eng = _engine(url, require_auth())
        return eng.begin()
    except Exception as exc:
        raise _connect_error(ref, exc) from None


def _ensure_schema(conn) -> None:
    from sqlalchemy import text

    for ddl in _DDL:
        conn.execute(text(ddl))


def _q(sql: str):
    from sqlalchemy import text

    return text(sql)


_ARROW_TYPES = {
    "text": "string",
    "character varying": "string",
    "integer": "int64",
    "smallint": "int64",
    "bigint": "int64",
    "double precision": "float64",
    "real": "float64",
    "numeric": "float64",
    "boolean": "bool",
}


def _columns(conn, tbl: str) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in conn.execute(
            _q(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"
            ),
            {"s": SCHEMA, "t": tbl},
        )
    ]


def _read_layer_table(conn, tbl: str) -> gpd.GeoDataFrame:
    """Read a layer table: one ``COPY … TO STDOUT (FORMAT csv)`` parsed by Arrow.

    In PostgreSQL's CSV, NULL is an unquoted empty field and ``''`` a quoted one, so
    both survive. Tables with column types outside ``_ARROW_TYPES`` are read
    with ``geopandas.read_postgis`` instead.
    """
    import io

    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import shapely

    cols = [(c, t) for c, t in _columns(conn, tbl) if c not in ("fid", "geometry")]
    if any(t not in _ARROW_TYPES for _, t in cols):
        return _restore_names(conn, tbl, _read_layer_table_slow(conn, tbl))
    gtype = conn.execute(
        _q(
            "SELECT type FROM geometry_columns WHERE f_table_schema = :s AND f_table_name = :t "
            "AND f_geometry_column = 'geometry'"
        ),
        {"s": SCHEMA, "t": tbl},
    ).scalar()
    points = str(gtype or "").upper() == "POINT"  # typed column: x, y beat parsing WKB
    names = [c for c, _ in cols] + (["_x", "_y", "_null"] if points else ["geometry"])
    geom_sql = (
        ["ST_X(geometry)", "ST_Y(geometry)", "geometry IS NULL"]
        if points
        else ["encode(ST_AsEWKB(geometry), 'hex')"]
    )
    select = ", ".join([_ident(c) for c, _ in cols] + geom_sql)
    buf = io.BytesIO()
    dbapi = conn.connection.driver_connection
    with (
        dbapi.cursor() as cur,
        cur.copy(f"COPY (SELECT {select} FROM {_table(tbl)}) TO STDOUT WITH (FORMAT csv)") as cp,
    ):
        for chunk in cp:
            buf.write(chunk)
    types = {c: pa.type_for_alias(_ARROW_TYPES[t]) for c, t in cols} | {
        "geometry": pa.string(),
        "_x": pa.float64(),
        "_y": pa.float64(),
        "_null": pa.bool_(),
    }
    table = pcsv.read_csv(
        io.BytesIO(buf.getvalue()),
        read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 24),
        convert_options=pcsv.ConvertOptions(
            column_types=types,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            null_values=[""],
            true_values=["t"],
            false_values=["f"],
        ),
    )
    del buf
    if points:
        x = table.column("_x").to_numpy(zero_copy_only=False)
        y = table.column("_y").to_numpy(zero_copy_only=False)
        geoms = shapely.points(x, y)
        empty = np.isnan(x)  # POINT EMPTY, or NULL
        geoms[empty] = shapely.from_wkt("POINT EMPTY")
        geoms[table.column("_null").to_numpy(zero_copy_only=False)] = None
        table = table.drop_columns(["_x", "_y", "_null"])
    else:
        geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
        table = table.drop_columns(["geometry"])
    df = table.to_pandas()
    for c, t in cols:
        if _ARROW_TYPES[t] == "string":
            df[c] = df[c].astype("str").where(df[c].notna(), None)
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)
    return _restore_names(conn, tbl, gdf)


def _restore_names(conn, tbl: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The user's column names back in place of the physical ``c1``, ``c2``, …"""
    names = conn.execute(
        _q(f"SELECT names FROM {SCHEMA}.columns WHERE tbl = :t"), {"t": tbl}
    ).scalar()
    if not names:  # a table written before generated names: its names are the user's
        return gdf
    return gdf.rename(columns={phys: orig for orig, phys in json.loads(names)})


def _read_layer_table_slow(conn, tbl: str) -> gpd.GeoDataFrame:
    gdf = gpd.read_postgis(f"SELECT * FROM {_table(tbl)}", conn, geom_col="geometry")
    gdf = gdf.drop(columns=[c for c in ("fid",) if c in gdf.columns])
    for c in gdf.columns:  # text columns get the same dtype as from the GeoPackage store
        if c != "geometry" and gdf[c].dtype == object:
            vals = gdf[c].dropna()
            if vals.map(lambda v: isinstance(v, str)).all():
                gdf[c] = gdf[c].astype("str")
    return gdf


#: Rows sent to PostgreSQL per COPY block (bounds the CSV copy of a large layer).
COPY_CHUNK_ROWS = 200_000


def _write_layer_table(
    conn, tbl: str, gdf: gpd.GeoDataFrame, on_progress: Callable[[int, int], None] | None = None
) -> None:
    """Create the table (types from geopandas/GeoAlchemy2) and COPY the rows in as CSV.

    Arrow writes the CSV in blocks of :data:`COPY_CHUNK_ROWS` rows: strings always quoted
    (so ``''`` stays apart from NULL, an unquoted empty field), geometry as hex EWKB with
    SRID 4326; ``on_progress(rows sent, rows)`` after every block.
    """
    import io

    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import shapely

    table = _table(tbl)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    user_cols = [c for c in gdf.columns if c != "geometry"]
    physical = _physical_names(user_cols)
    g = gdf.rename(columns=physical)
    g.iloc[:0].to_postgis(tbl, conn, schema=SCHEMA, if_exists="fail", index=False)
    conn.execute(
        _q(
            f"INSERT INTO {SCHEMA}.columns (tbl, names) VALUES (:t, :n) "
            "ON CONFLICT (tbl) DO UPDATE SET names = EXCLUDED.names"
        ),
        {"t": tbl, "n": json.dumps([[c, physical[c]] for c in user_cols], ensure_ascii=False)},
    )
    if len(g) and set(g.geom_type.dropna().unique()) == {"Point"}:  # typed: read back as x, y
        conn.execute(
            _q(
                f"ALTER TABLE {table} ALTER COLUMN geometry TYPE geometry(Point, 4326) "
                "USING ST_SetSRID(geometry, 4326)"
            )
        )
    # build the spatial index once after the load, not row by row during it
    for (idx,) in conn.execute(
        _q("SELECT indexname FROM pg_indexes WHERE schemaname = :s AND tablename = :t"),
        {"s": SCHEMA, "t": tbl},
    ).fetchall():
        conn.execute(_q(f"DROP INDEX IF EXISTS {_ident(SCHEMA, idx)}"))
    cols = [c for c in g.columns if c != "geometry"]
    collist = ", ".join(_ident(c) for c in [*cols, "geometry"])
    dbapi = conn.connection.driver_connection
    step = COPY_CHUNK_ROWS
    with (
        dbapi.cursor() as cur,
        cur.copy(f"COPY {table} ({collist}) FROM STDIN WITH (FORMAT csv)") as cp,
    ):
        for start in range(0, len(g), step):
            part = g.iloc[start : start + step]
            geoms = shapely.set_srid(np.asarray(part.geometry.values, dtype=object), 4326)
            arrays = [_arrow_column(part[c]) for c in cols]
            arrays.append(pa.array(shapely.to_wkb(geoms, hex=True, include_srid=True)))
            out = io.BytesIO()
            pcsv.write_csv(
                pa.table(arrays, names=[*cols, "geometry"]),
                out,
                pcsv.WriteOptions(include_header=False, quoting_style="needed"),
            )
            cp.write(out.getvalue())
            if on_progress is not None:
                on_progress(min(start + step, len(g)), len(g))
    conn.execute(
        _q(
            f"CREATE INDEX IF NOT EXISTS {_ident(tbl + '_geom_gist')} ON {table} USING GIST (geometry)"
        )
    )
    _record_written(conn, tbl)


def _record_written(conn, tbl: str) -> None:
    """Record ``tbl`` as InnoMap wrote it: no edit since, and a statement trigger counting
    any later INSERT/UPDATE/DELETE/TRUNCATE (QGIS, SQL); InnoMap never edits it again."""
    have = conn.execute(
        _q(
            "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = :s AND p.proname = 'count_edit'"
        ),
        {"s": SCHEMA},
    ).fetchone()
    if have is None:
        conn.execute(_q(_COUNT_EDIT))
    conn.execute(
        _q(
            f"INSERT INTO {SCHEMA}.table_edits (tbl, edits) VALUES (:t, 0) "
            "ON CONFLICT (tbl) DO UPDATE SET edits = 0"
        ),
        {"t": tbl},
    )
    conn.execute(
        _q(
            f"CREATE TRIGGER innomap_edits AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "
            f"{_table(tbl)} FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.count_edit()"
        )
    )


def _edits(conn, tables: list[str]) -> dict[str, int]:
    """``{table: statements that changed it since InnoMap wrote it}`` (tables recorded)."""
    rows = conn.execute(
        _q(f"SELECT tbl, edits FROM {SCHEMA}.table_edits WHERE tbl = ANY(:t)"), {"t": tables}
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def _open_layer(row, gdf: gpd.GeoDataFrame, rejected_json, edits: dict[str, int]):
    """A layer as read: its table validated again unless it is as InnoMap wrote it
    (recorded, no statement changed it since: no second validation)."""
    if edits.get(row[2]) == 0:
        return layer_from_row(row, gdf, rejected_json)
    gdf, checked = store_check.checked(gdf, row[1], layer=row[0], table=row[2])
    return store_check.mark(layer_from_row(row, gdf, rejected_json), *checked)


def _drop_table(conn, tbl: str) -> None:
    """Drop a layer/network table and its column names."""
    conn.execute(_q(f"DROP TABLE IF EXISTS {_table(tbl)}"))
    conn.execute(_q(f"DELETE FROM {SCHEMA}.columns WHERE tbl = :t"), {"t": tbl})
    conn.execute(_q(f"DELETE FROM {SCHEMA}.table_edits WHERE tbl = :t"), {"t": tbl})


def _arrow_column(s):
    """A column as Arrow: numbers and booleans typed, everything else text (NULL kept)."""
    import pandas as pd
    import pyarrow as pa
    from pandas.api import types as pt

    if pt.is_bool_dtype(s) or pt.is_numeric_dtype(s):
        return pa.array(s, from_pandas=True)
    if isinstance(s.dtype, pd.StringDtype):  # already text: no per-value Python
        return pa.array(s, from_pandas=True, type=pa.string())
    vals = s.astype(object).where(s.notna(), None)
    return pa.array(
        [v if v is None or isinstance(v, str) else str(v) for v in vals], type=pa.string()
    )


def open_project(ref: str):
    """Open the project ``ref`` names in its database (one transaction, one snapshot)."""
    _, name = parse_ref(ref)
    try:
        with _begin(ref) as conn:
            _ensure_schema(conn)
            row = conn.execute(
                _q(f"SELECT meta, version FROM {SCHEMA}.projects WHERE name = :n"), {"n": name}
            ).fetchone()
            if row is None:
                have = [
                    r[0]
                    for r in conn.execute(_q(f"SELECT name FROM {SCHEMA}.projects ORDER BY name"))
                ]
                raise ProjectError(
                    f"数据库中没有项目 {name!r} / no project {name!r} in {redact(ref)}: projects "
                    f"there are {', '.join(have) or 'none'}; create one with "
                    "`python cli.py project copy --from P.gpkg --to postgresql://…?project=NAME`"
                )
            meta, version = row
            lrows = conn.execute(
                _q(
                    f"SELECT {LAYER_READ_COLUMNS} FROM {SCHEMA}.layers WHERE project = :n "
                    "ORDER BY position"
                ),
                {"n": name},
            ).fetchall()
            rej = dict(
                conn.execute(
                    _q(f"SELECT layer, data FROM {SCHEMA}.rejected WHERE project = :n"), {"n": name}
                ).fetchall()
            )
            edits = _edits(conn, [r[2] for r in lrows])
            layers = {
                row[0]: _open_layer(
                    row, _read_back(_read_layer_table(conn, row[2]), row[1]), rej.get(row[0]), edits
                )
                for row in lrows
            }
            runs = [
                run_from_row(r)
                for r in conn.execute(
                    _q(
                        f"SELECT {RUN_COLUMNS} FROM {SCHEMA}.runs WHERE project = :n "
                        "ORDER BY created_at, id"
                    ),
                    {"n": name},
                )
            ]
            apply_run_meta(
                runs,
                conn.execute(
                    _q(f"SELECT {RUN_META_COLUMNS} FROM {SCHEMA}.run_meta WHERE project = :n"),
                    {"n": name},
                ).fetchall(),
            )
            networks = {
                r[0]: network_from_row(r)
                for r in conn.execute(
                    _q(
                        f"SELECT {NETWORK_COLUMNS} FROM {SCHEMA}.networks WHERE project = :n "
                        "ORDER BY name"
                    ),
                    {"n": name},
                )
            }
    except ProjectError:
        raise
    except Exception as exc:
        raise _db_error(ref, exc) from None
    return project_from_meta(
        meta,
        default_name=name,
        layers=layers,
        runs=runs,
        networks=networks,
        ref=str(ref),
        read_only=False,
        version=int(version),
    )


def transaction(project, action: str, detail, body: Callable, *, stale_ok: bool = False) -> None:
    """Run ``body(conn, project_name)`` in one transaction with the version check and audit.

    The project row's lock (``SELECT … FOR UPDATE``) serialises writers. A change built on
    what the writer read is refused when the project changed since it was opened; one that
    does not depend on it (``stale_ok``: adding a layer, saving a run) waits and lands.
    ``detail`` may be a function, called after ``body``.
    """

    _, name = parse_ref(project.ref)
    current = False
    try:
        with _begin(project.ref) as conn:
            row = conn.execute(
                _q(f"SELECT version FROM {SCHEMA}.projects WHERE name = :n FOR UPDATE"), {"n": name}
            ).fetchone()
            if row is None:
                raise ProjectError(
                    f"项目已被删除 / project {name!r} no longer exists in the database"
                )
            current = int(row[0]) == project.version
            if not current and not stale_ok:
                raise ProjectConflictError(
                    f"项目已被他人修改 / project {project.name!r} was changed since it was opened "
                    f"(version {project.version} → {row[0]}): reopen it and apply your change "
                    "again; nothing was written"
                )
            named = _history_push(conn, name, int(row[0]), action)
            body(conn, name)
            text = detail() if callable(detail) else detail
            _history_prune(conn, name, int(row[0]), action, text, named)
            conn.execute(
                _q(
                    f"UPDATE {SCHEMA}.projects SET version = version + 1, updated_at = :t "
                    "WHERE name = :n"
                ),
                {"t": _now(), "n": name},
            )
            conn.execute(
                _q(
                    f'INSERT INTO {SCHEMA}.audit (project, ts, "user", action, detail) '
                    "VALUES (:p, :t, :u, :a, :d)"
                ),
                {"p": name, "t": _now(), "u": _user(), "a": action, "d": text},
            )
    except ProjectError:
        raise
    except Exception as exc:
        raise _db_error(project.ref, exc) from None
    if current:  # a stale copy stays stale: a later change built on it is still refused
        project.version += 1


def _insert_layer(conn, name: str, lyr, tbl: str, pos: int) -> None:
    """The layers-table row and the rejected rows of a layer."""
    conn.execute(
        _q(
            f"INSERT INTO {SCHEMA}.layers (project, name, kind, tbl, position, source_file, "
            "crs_in, encoding, imported_at, rows, note) VALUES (:p, :n, :k, :t, :pos, :s, :c, "
            ":e, :i, :r, :note)"
        ),
        {
            "p": name,
            **dict(
                zip(
                    ("n", "k", "t", "pos", "s", "c", "e", "i", "r", "note"),
                    layer_values(lyr, tbl, pos),
                    strict=True,
                )
            ),
        },
    )
    conn.execute(
        _q(f"DELETE FROM {SCHEMA}.rejected WHERE project = :p AND layer = :n"),
        {"p": name, "n": lyr.name},
    )
    if len(lyr.rejected):
        conn.execute(
            _q(f"INSERT INTO {SCHEMA}.rejected (project, layer, data) VALUES (:p, :n, :d)"),
            {"p": name, "n": lyr.name, "d": rejected_text(lyr.rejected)},
        )


def _insert_run(conn, name: str, rec) -> None:
    conn.execute(
        _q(
            f"INSERT INTO {SCHEMA}.runs (project, {RUN_COLUMNS}) VALUES (:p, :i, :a, :t, :c, "
            "CAST(:rq AS JSONB), CAST(:s AS JSONB), CAST(:l AS JSONB))"
        ),
        {
            "p": name,
            **dict(zip(("i", "a", "t", "c", "rq", "s", "l"), run_values(rec), strict=True)),
        },
    )


def _insert_run_meta(conn, name: str, runs) -> None:
    """The run-meta rows of ``runs`` that have a name or meta (replacing older ones)."""
    for rec in runs:
        if not (rec.name or rec.meta):
            continue
        i, n, m = run_meta_values(rec)
        conn.execute(
            _q(
                f"INSERT INTO {SCHEMA}.run_meta (project, {RUN_META_COLUMNS}) "
                "VALUES (:p, :i, :n, :m) ON CONFLICT (project, id) "
                "DO UPDATE SET name = EXCLUDED.name, meta = EXCLUDED.meta"
            ),
            {"p": name, "i": i, "n": n, "m": m},
        )


def _insert_network(conn, name: str, net) -> None:
    conn.execute(
        _q(
            f"INSERT INTO {SCHEMA}.networks (project, {NETWORK_COLUMNS}) "
            "VALUES (:p, :n, :t, :s, :i, :e)"
        ),
        {"p": name, **dict(zip(("n", "t", "s", "i", "e"), network_values(net), strict=True))},
    )


def add_layer(
    project,
    stored,
    old,
    on_progress: Callable[[int, int], None] | None = None,
    *,
    zone_keys: set[str] | None = None,
    detail=None,
) -> None:
    """Write ``stored`` (replacing ``old``) in one transaction; ``on_progress(rows sent,
    rows)`` follows the COPY blocks. A new layer's name is made unique inside the lock;
    ``zone_keys`` (a zones layer's names) are checked against the committed zones there."""

    def body(conn, name):
        if old is not None and old.table:  # its table stays while the history names it
            conn.execute(
                _q(f"DELETE FROM {SCHEMA}.layers WHERE project = :p AND name = :n"),
                {"p": name, "n": stored.name},
            )
        else:
            taken = {
                r[0]
                for r in conn.execute(
                    _q(f"SELECT name FROM {SCHEMA}.layers WHERE project = :p"), {"p": name}
                )
            }
            stored.name = _free_name(stored.name, taken)
        if zone_keys:
            _check_zone_names(_stored_zone_names(conn, name), zone_keys)
        _write_layer_table(conn, stored.table, stored.gdf, on_progress)
        (pos,) = conn.execute(
            _q(f"SELECT coalesce(max(position), 0) + 1 FROM {SCHEMA}.layers WHERE project = :p"),
            {"p": name},
        ).fetchone()
        _insert_layer(conn, name, stored, stored.table, pos)

    transaction(
        project,
        "add_layer" if old is None else "replace_layer",
        detail
        or (
            lambda: json.dumps(
                {
                    "layer": stored.name,
                    "kind": stored.kind,
                    "rows": stored.rows,
                    "source_file": stored.source_file,
                },
                ensure_ascii=False,
            )
        ),
        body,
        stale_ok=old is None,
    )
    stored.gdf = _read_back(stored.gdf, stored.kind)


def _stored_zone_names(conn, project_name: str) -> set[str]:
    """Zone names as committed (read inside the project row's lock)."""

    out: set[str] = set()
    for (tbl,) in conn.execute(
        _q(f"SELECT tbl FROM {SCHEMA}.layers WHERE project = :p AND kind = 'zones'"),
        {"p": project_name},
    ).fetchall():
        names = conn.execute(
            _q(f"SELECT names FROM {SCHEMA}.columns WHERE tbl = :t"), {"t": tbl}
        ).scalar()
        phys = dict(json.loads(names)).get("name", "name") if names else "name"
        out |= {
            zone_key(r[0]) for r in conn.execute(_q(f"SELECT {_ident(phys)} FROM {_table(tbl)}"))
        }
    return out


def remove_layer(project, lname: str, tbl: str) -> None:
    def body(conn, name):  # the table stays while the history names it
        conn.execute(
            _q(f"DELETE FROM {SCHEMA}.layers WHERE project = :p AND name = :n"),
            {"p": name, "n": lname},
        )
        conn.execute(
            _q(f"DELETE FROM {SCHEMA}.rejected WHERE project = :p AND layer = :n"),
            {"p": name, "n": lname},
        )

    transaction(project, "remove_layer", json.dumps({"layer": lname}, ensure_ascii=False), body)


def save_run(project, rec) -> None:
    def body(conn, name):
        if rec.name:  # unique in the project, checked inside the write lock
            taken = conn.execute(
                _q(
                    f"SELECT m.name FROM {SCHEMA}.run_meta m JOIN {SCHEMA}.runs r "
                    "ON r.project = m.project AND r.id = m.id WHERE m.project = :p"
                ),
                {"p": name},
            ).fetchall()
            check_run_name(rec.name, [t[0] for t in taken])
        _insert_run(conn, name, rec)
        _insert_run_meta(conn, name, [rec])

    transaction(
        project,
        "save_run",
        json.dumps({"run": rec.id, "analysis": rec.analysis}),
        body,
        stale_ok=True,
    )


def delete_run(project, run_id: str) -> None:
    def body(conn, name):
        _stash_run(conn, name, run_id)  # for undo
        conn.execute(
            _q(f"DELETE FROM {SCHEMA}.runs WHERE project = :p AND id = :i"),
            {"p": name, "i": run_id},
        )

    transaction(project, "delete_run", json.dumps({"run": run_id}), body)


def add_network(project, net, old, edges: gpd.GeoDataFrame) -> None:
    def body(conn, name):
        if old is not None:  # its table stays while the history names it
            conn.execute(
                _q(f"DELETE FROM {SCHEMA}.networks WHERE project = :p AND name = :n"),
                {"p": name, "n": net.name},
            )
        _write_layer_table(conn, net.table, edges)
        _insert_network(conn, name, net)

    transaction(
        project,
        "add_network",
        json.dumps({"network": net.name, "edges": net.edges}, ensure_ascii=False),
        body,
    )


def gazetteer_rows(ref: str) -> list[tuple]:
    """``(name, tbl, source_file, imported_at, rows, crs_in)`` of the project's address registers."""
    _, name = parse_ref(ref)
    try:
        with _begin(ref) as conn:
            _ensure_schema(conn)
            return [
                tuple(r)
                for r in conn.execute(
                    _q(
                        f"SELECT name, tbl, source_file, imported_at, rows, crs_in FROM "
                        f"{SCHEMA}.gazetteers WHERE project = :p ORDER BY name"
                    ),
                    {"p": name},
                )
            ]
    except Exception as exc:
        if isinstance(exc, ProjectError):
            raise
        raise _db_error(ref, exc) from None


def add_gazetteer(project, *, name: str, tbl: str, frame: gpd.GeoDataFrame, meta: dict) -> None:
    """Keep an address register (replacing one of the same name) in one transaction."""

    def body(conn, pname):
        conn.execute(_q(_DDL_GAZETTEERS))  # a replaced table stays while the history names it
        conn.execute(
            _q(f"DELETE FROM {SCHEMA}.gazetteers WHERE project = :p AND name = :n"),
            {"p": pname, "n": name},
        )
        _write_layer_table(conn, tbl, frame)
        conn.execute(
            _q(
                f"INSERT INTO {SCHEMA}.gazetteers (project, name, tbl, source_file, imported_at, "
                "rows, crs_in) VALUES (:p, :n, :t, :s, :i, :r, :c)"
            ),
            {"p": pname, "n": name, "t": tbl, **meta},
        )

    transaction(
        project,
        "add_gazetteer",
        json.dumps({"gazetteer": name, "rows": len(frame)}, ensure_ascii=False),
        body,
        stale_ok=True,  # a register does not depend on what the writer read
    )


def gazetteer_frame(ref: str, tbl: str) -> gpd.GeoDataFrame:
    with _begin(ref) as conn:
        return _read_layer_table(conn, tbl)


def network_edges(project, net) -> gpd.GeoDataFrame:
    with _begin(project.ref) as conn:
        return _read_layer_table(conn, net.table)


def write_new(ref: str, meta: dict, layers, runs, networks, *, force: bool) -> None:
    """Create a whole project in one transaction (``force`` replaces one of the same name)."""

    _, name = parse_ref(ref)
    try:
        with _begin(ref) as conn:
            _ensure_schema(conn)
            # serialise creators of the same name
            conn.execute(_q("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": name})
            exists = conn.execute(
                _q(f"SELECT 1 FROM {SCHEMA}.projects WHERE name = :n"), {"n": name}
            ).fetchone()
            if exists:
                if not force:
                    raise ProjectError(
                        f"数据库中已有项目 {name!r} / project {name!r} already exists in "
                        f"{redact(ref)}: choose another name or --force"
                    )
                _drop_project(conn, name)
            meta = {**meta, "name": meta.get("name", name)}
            conn.execute(
                _q(
                    f"INSERT INTO {SCHEMA}.projects (name, meta, version, created_at, updated_at) "
                    "VALUES (:n, CAST(:m AS JSONB), 1, :t, :t)"
                ),
                {"n": name, "m": json.dumps(meta, ensure_ascii=False), "t": _now()},
            )
            for pos, lyr in enumerate(layers, start=1):
                tbl = _table_name()
                _write_layer_table(conn, tbl, _storable(lyr.gdf))
                _insert_layer(conn, name, lyr, tbl, pos)
            for net, edges in networks:
                _write_layer_table(conn, net.table, _storable(edges))
                _insert_network(conn, name, net)
            for r in runs:
                _insert_run(conn, name, r)
            _insert_run_meta(conn, name, runs)
            conn.execute(
                _q(
                    f'INSERT INTO {SCHEMA}.audit (project, ts, "user", action, detail) '
                    "VALUES (:p, :t, :u, 'create', :d)"
                ),
                {
                    "p": name,
                    "t": _now(),
                    "u": _user(),
                    "d": json.dumps({"name": meta["name"]}, ensure_ascii=False),
                },
            )
    except ProjectError:
        raise
    except Exception as exc:
        raise _db_error(ref, exc) from None


def _drop_project(conn, name: str) -> None:
    for (tbl,) in conn.execute(
        _q(
            f"SELECT tbl FROM {SCHEMA}.layers WHERE project = :n "
            f"UNION SELECT tbl FROM {SCHEMA}.networks WHERE project = :n "
            f"UNION SELECT tbl FROM {SCHEMA}.gazetteers WHERE project = :n"
        ),
        {"n": name},
    ).fetchall():
        _drop_table(conn, tbl)
    for tbl in sorted(_named(conn, name)[0]):  # tables only the undo history still names
        _drop_table(conn, tbl)
    for t in ("rejected", "history", "history_blobs"):
        conn.execute(_q(f"DELETE FROM {SCHEMA}.{t} WHERE project = :n"), {"n": name})
    conn.execute(_q(f"DELETE FROM {SCHEMA}.projects WHERE name = :n"), {"n": name})


def audit_log(ref: str) -> list[dict]:
    """The audit rows of the project (oldest first)."""
    _, name = parse_ref(ref)
    with _begin(ref) as conn:
        rows = conn.execute(
            _q(
                f'SELECT ts, "user", action, detail FROM {SCHEMA}.audit WHERE project = :n ORDER BY id'
            ),
            {"n": name},
        ).fetchall()
    return [{"ts": r[0], "user": r[1], "action": r[2], "detail": r[3]} for r in rows]


def audit_event(ref: str, action: str, user: str, detail: str) -> None:
    """Append one row to the audit table outside any change (e.g. a refused change)."""

    _, name = parse_ref(ref)
    try:
        with _begin(ref) as conn:
            conn.execute(
                _q(
                    f'INSERT INTO {SCHEMA}.audit (project, ts, "user", action, detail) '
                    "VALUES (:p, :t, :u, :a, :d)"
                ),
                {"p": name, "t": _now(), "u": user, "a": action, "d": detail},
            )
    except Exception as exc:
        raise _db_error(ref, exc) from None


def version(ref: str) -> int:
    """The project's version (one cheap query: lets an app server see others' changes)."""
    _, name = parse_ref(ref)
    try:
        with _begin(ref) as conn:
            row = conn.execute(
                _q(f"SELECT version FROM {SCHEMA}.projects WHERE name = :n"), {"n": name}
            ).fetchone()
    except Exception as exc:
        raise _connect_error(ref, exc) from None
    return int(row[0]) if row else -1


# ---------------------------------------------------------------- undo history (layers.store_history)
_LAYER_ROW = "name, kind, tbl, position, source_file, crs_in, encoding, imported_at, rows, note"
_GAZ_ROW = "name, tbl, source_file, imported_at, rows, crs_in"


def _rows(conn, sql: str, name: str, **params) -> list[tuple]:
    return [tuple(r) for r in conn.execute(_q(sql), {"p": name, **params})]


def _state(conn, name: str, *, blobs: bool = True) -> str:
    """The project's state (metadata rows) as the history keeps it; rejected rows as blobs."""
    rej = {}
    if blobs:
        conn.execute(
            _q(
                f"INSERT INTO {SCHEMA}.history_blobs (project, key, data) "
                f"SELECT r.project, 'rej:' || l.tbl, r.data FROM {SCHEMA}.rejected r "
                f"JOIN {SCHEMA}.layers l ON l.project = r.project AND l.name = r.layer "
                f"WHERE r.project = :p AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.history_blobs b "
                "WHERE b.project = r.project AND b.key = 'rej:' || l.tbl) ON CONFLICT DO NOTHING"
            ),
            {"p": name},
        )
        rej = dict(
            _rows(
                conn,
                f"SELECT r.layer, l.tbl FROM {SCHEMA}.rejected r JOIN {SCHEMA}.layers l "
                "ON l.project = r.project AND l.name = r.layer WHERE r.project = :p",
                name,
            )
        )
    return store_history.make_state(
        _rows(
            conn,
            f"SELECT {_LAYER_ROW} FROM {SCHEMA}.layers WHERE project = :p ORDER BY position",
            name,
        ),
        rej,
        [r[0] for r in _rows(conn, f"SELECT id FROM {SCHEMA}.runs WHERE project = :p", name)]
        if blobs
        else [],
        _rows(conn, f"SELECT {NETWORK_COLUMNS} FROM {SCHEMA}.networks WHERE project = :p", name),
        _rows(conn, f"SELECT {_GAZ_ROW} FROM {SCHEMA}.gazetteers WHERE project = :p", name),
        run_names=_run_names(conn, name) if blobs else None,
    )


def _run_names(conn, name: str) -> dict[str, str]:
    """``{run id: name}`` of the project's named runs."""
    return dict(
        _rows(
            conn,
            f"SELECT m.id, m.name FROM {SCHEMA}.run_meta m JOIN {SCHEMA}.runs r "
            "ON r.project = m.project AND r.id = m.id WHERE m.project = :p AND m.name <> ''",
            name,
        )
    )


def _set_run_names(conn, name: str, names: dict[str, str]) -> None:
    """Give runs these names (their meta rows kept)."""
    for rid, run_name in names.items():
        conn.execute(
            _q(
                f"INSERT INTO {SCHEMA}.run_meta (project, id, name, meta) "
                "VALUES (:p, :i, :n, '{}') ON CONFLICT (project, id) "
                "DO UPDATE SET name = EXCLUDED.name"
            ),
            {"p": name, "i": rid, "n": run_name},
        )


def _named(conn, name: str) -> tuple[set[str], set[str]]:
    """``(tables, blob keys)`` the project names now or any kept state names."""
    tables = store_history.state_tables(store_history.load(_state(conn, name, blobs=False)))
    blobs: set[str] = set()
    for (text,) in _rows(conn, f"SELECT state FROM {SCHEMA}.history WHERE project = :p", name):
        st = store_history.load(text)
        tables |= store_history.state_tables(st)
        blobs |= store_history.blob_keys(st)
    return tables, blobs


def _history_push(conn, name: str, version: int, action: str) -> set[str]:
    """Keep the state before a change (not before an undo); the tables named before it."""
    if action != "undo":
        conn.execute(
            _q(
                f'INSERT INTO {SCHEMA}.history (project, version, ts, "user", action, state) '
                "VALUES (:p, :v, :t, :u, :a, :s) ON CONFLICT (project, version) DO UPDATE "
                'SET ts = EXCLUDED.ts, "user" = EXCLUDED."user", action = EXCLUDED.action, '
                "state = EXCLUDED.state"
            ),
            {
                "p": name,
                "v": version,
                "t": _now(),
                "u": _user(),
                "a": action,
                "s": _state(conn, name),
            },
        )
    return _named(conn, name)[0]


def _history_prune(conn, name: str, version: int, action: str, detail: str, named: set[str]):
    """Note the change's detail, keep the newest ``UNDO_DEPTH`` states, drop what no state names."""
    if action != "undo":
        conn.execute(
            _q(f"UPDATE {SCHEMA}.history SET detail = :d WHERE project = :p AND version = :v"),
            {"d": detail, "p": name, "v": version},
        )
    conn.execute(
        _q(
            f"DELETE FROM {SCHEMA}.history WHERE project = :p AND version NOT IN (SELECT version "
            f"FROM {SCHEMA}.history WHERE project = :p ORDER BY version DESC LIMIT :k)"
        ),
        {"p": name, "k": store_history.depth()},
    )
    tables, blobs = _named(conn, name)
    for tbl in store_history.tables_to_drop(named, tables):
        _drop_table(conn, tbl)
    conn.execute(
        _q(f"DELETE FROM {SCHEMA}.history_blobs WHERE project = :p AND NOT (key = ANY(:k))"),
        {"p": name, "k": sorted(blobs)},
    )


def _stash_run(conn, name: str, run_id: str) -> None:
    """Keep a run about to be deleted as blob ``run:<id>`` (undo puts it back)."""
    row = conn.execute(
        _q(f"SELECT {RUN_COLUMNS} FROM {SCHEMA}.runs WHERE project = :p AND id = :i"),
        {"p": name, "i": run_id},
    ).fetchone()
    if row is None:
        return
    values = [
        v if isinstance(v, str) or v is None else json.dumps(v, ensure_ascii=False) for v in row
    ]
    conn.execute(
        _q(
            f"INSERT INTO {SCHEMA}.history_blobs (project, key, data) VALUES (:p, :k, :d) "
            "ON CONFLICT (project, key) DO UPDATE SET data = EXCLUDED.data"
        ),
        {"p": name, "k": f"run:{run_id}", "d": json.dumps(values, ensure_ascii=False)},
    )


def history(ref: str) -> list[dict]:
    """The changes that can be undone, newest first (``version`` is the one each started from)."""
    _, name = parse_ref(ref)
    try:
        with _begin(ref) as conn:
            rows = _rows(
                conn,
                f'SELECT version, ts, "user", action, detail FROM {SCHEMA}.history '
                "WHERE project = :p ORDER BY version DESC",
                name,
            )
    except Exception as exc:
        raise _db_error(ref, exc) from None
    return [dict(zip(("version", "ts", "user", "action", "detail"), r, strict=True)) for r in rows]


def undo(project) -> dict:
    """Put back the state before the project's last change, in one transaction (see
    :mod:`layers.store_history`); refused as a conflict when ``project`` is stale."""
    undone: dict = {}

    def body(conn, name):
        row = conn.execute(
            _q(
                f'SELECT version, ts, "user", action, detail, state FROM {SCHEMA}.history '
                "WHERE project = :p ORDER BY version DESC LIMIT 1"
            ),
            {"p": name},
        ).fetchone()
        if row is None:
            raise store_history.nothing_to_undo(project.name)
        undone.update(zip(("version", "ts", "user", "action", "detail"), row[:5], strict=True))
        _restore(conn, name, store_history.load(row[5]))
        conn.execute(
            _q(f"DELETE FROM {SCHEMA}.history WHERE project = :p AND version = :v"),
            {"p": name, "v": row[0]},
        )

    def detail() -> str:
        return json.dumps({"undone": undone}, ensure_ascii=False)

    transaction(project, "undo", detail, body)
    return undone


def _restore(conn, name: str, state: dict) -> None:
    """Put a kept state's metadata rows back (its tables are still in the database)."""
    for t in ("layers", "rejected", "networks", "gazetteers"):
        conn.execute(_q(f"DELETE FROM {SCHEMA}.{t} WHERE project = :p"), {"p": name})
    cols = ("n", "k", "t", "pos", "s", "c", "e", "i", "r", "note")
    for r in state["layers"]:
        conn.execute(
            _q(
                f"INSERT INTO {SCHEMA}.layers (project, {_LAYER_ROW}) VALUES (:p, "
                + ", ".join(f":{c}" for c in cols)
                + ")"
            ),
            {"p": name, **dict(zip(cols, r, strict=True))},
        )
    for layer, key in state["rejected"].items():
        conn.execute(
            _q(
                f"INSERT INTO {SCHEMA}.rejected (project, layer, data) SELECT project, :n, data "
                f"FROM {SCHEMA}.history_blobs WHERE project = :p AND key = :k"
            ),
            {"p": name, "n": layer, "k": key},
        )
    _restore_runs(conn, name, set(state["runs"]))
    names = store_history.run_names(state, _run_names(conn, name))
    if names:
        _set_run_names(conn, name, names)
    for r in state["networks"]:
        _insert_network(conn, name, store_common_network(r))
    for r in state["gazetteers"]:
        conn.execute(
            _q(
                f"INSERT INTO {SCHEMA}.gazetteers (project, {_GAZ_ROW}) "
                "VALUES (:p, :n, :t, :s, :i, :r, :c)"
            ),
            {"p": name, **dict(zip(("n", "t", "s", "i", "r", "c"), r, strict=True))},
        )


def store_common_network(row):
    """A network row of a kept state as the model's network."""
    return network_from_row(row)


def _restore_runs(conn, name: str, keep: set[str]) -> None:
    """The kept state's runs: later runs removed (kept as blobs), deleted ones put back."""
    have = {r[0] for r in _rows(conn, f"SELECT id FROM {SCHEMA}.runs WHERE project = :p", name)}
    for rid in have - keep:
        _stash_run(conn, name, rid)
        conn.execute(
            _q(f"DELETE FROM {SCHEMA}.runs WHERE project = :p AND id = :i"), {"p": name, "i": rid}
        )
    for rid in sorted(keep - have):
        blob = conn.execute(
            _q(f"SELECT data FROM {SCHEMA}.history_blobs WHERE project = :p AND key = :k"),
            {"p": name, "k": f"run:{rid}"},
        ).scalar()
        if blob is not None:
            _insert_run(conn, name, run_from_row(json.loads(blob)))


# ---------------------------------------------------------------- housekeeping changes
def rename_layer(project, old: str, new: str) -> None:
    """Rename a layer (its rejected rows follow) in one transaction."""

    def body(conn, name):
        if conn.execute(
            _q(f"SELECT 1 FROM {SCHEMA}.layers WHERE project = :p AND name = :n"),
            {"p": name, "n": new},
        ).fetchone():
            raise ProjectConflictError(
                f"图层名 {new!r} 已被占用 / a layer named {new!r} is already in the project: "
                "choose another name; nothing was written"
            )
        for t, col in (("layers", "name"), ("rejected", "layer")):
            conn.execute(
                _q(f"UPDATE {SCHEMA}.{t} SET {col} = :new WHERE project = :p AND {col} = :old"),
                {"p": name, "new": new, "old": old},
            )

    transaction(
        project, "rename_layer", json.dumps({"from": old, "to": new}, ensure_ascii=False), body
    )


def rename_run(project, run_id: str, old: str, new: str) -> None:
    """Rename a saved run in one transaction (the name checked unique inside the lock)."""

    def body(conn, name):
        taken = _run_names(conn, name)
        taken.pop(run_id, None)
        check_run_name(new, taken.values())
        _set_run_names(conn, name, {run_id: new})

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

    def body(conn, name):
        pos = conn.execute(
            _q(f"SELECT min(position) FROM {SCHEMA}.layers WHERE project = :p AND name = ANY(:n)"),
            {"p": name, "n": list(removed)},
        ).scalar()
        for t, col in (("layers", "name"), ("rejected", "layer")):
            conn.execute(
                _q(f"DELETE FROM {SCHEMA}.{t} WHERE project = :p AND {col} = ANY(:n)"),
                {"p": name, "n": list(removed)},
            )
        if conn.execute(
            _q(f"SELECT 1 FROM {SCHEMA}.layers WHERE project = :p AND name = :n"),
            {"p": name, "n": stored.name},
        ).fetchone():
            raise ProjectConflictError(
                f"图层名 {stored.name!r} 已被占用 / a layer named {stored.name!r} is already in "
                "the project: choose another name; nothing was written"
            )
        if zone_keys:
            _check_zone_names(_stored_zone_names(conn, name), zone_keys)
        _write_layer_table(conn, stored.table, stored.gdf)
        _insert_layer(conn, name, stored, stored.table, pos if pos is not None else 1)

    transaction(project, action, detail, body)
    stored.gdf = _read_back(stored.gdf, stored.kind)
