"""Geocode an address-only list: every row kept, lon/lat (WGS84) and an honest precision added.

One definition for ``cli.py geocode`` and the import page: build a
:class:`GeocodeRequest`, call :func:`run` with the table. The report's table
``geocoded`` is the input with ``lon``, ``lat``, ``coord_source``,
``coord_precision_m``, ``geocode_status`` and ``geocode_note`` added; ``listed``
holds the rows that are not ``ok`` (coarse, ambiguous, no match, failed, outside
the project), which are never dropped.

Resumable: answers go into the cache (the project's, a ``--cache`` file, or memory)
as they arrive; when the quota runs out (or the service stops answering) the run
stops with ``summary["interrupted"]`` set and the rows not yet asked marked
``failed``; running again asks only those.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

import settings
from layers.errors import InnoMapError
from layers.geocode import (
    PROVIDERS,
    GeocodeCache,
    GeocodeError,
    GeocodeKeyError,
    GeocodeQuotaError,
    GeocodeResult,
    cache_key,
    make_geocoder,
    normalise_address,
    open_cache,
    redact,
)
from layers.safe import CSV_LINE_END
from workflows.common import Report

__all__ = [
    "GEOCODE_COLUMNS",
    "STATUSES",
    "UNDETERMINED_DISTRICT",
    "GeocodeRequest",
    "address_columns",
    "address_table",
    "geocode_file",
    "import_geocoded",
    "parse_rate",
    "read_table",
    "run",
]

#: The statuses of a row, best first.
STATUSES = ("ok", "coarse", "ambiguous", "no_match", "failed", "outside_project")
#: Columns added to the input table (and ``district`` — the county the whole precision
#: area lies in, else "未定" — when the list states no district of its own).
GEOCODE_COLUMNS = (
    "lon",
    "lat",
    "coord_source",
    "coord_precision_m",
    "geocode_status",
    "geocode_note",
)
#: The district of a located row whose precision area is not inside one county
#: (an address naming only the city, a zone across counties).
UNDETERMINED_DISTRICT = "未定"
#: Offline addresses parsed per progress step.
_OFFLINE_CHUNK = 2000
#: Tolerance of the outside-the-project test for online points (degrees, ≈ 100 m).
_EDGE_DEG = 0.001
_STATUS_ZH = {
    "ok": "精确",
    "coarse": "粗略",
    "ambiguous": "有歧义",
    "no_match": "无匹配",
    "failed": "失败",
    "outside_project": "项目范围外",
}


@dataclass(frozen=True)
class GeocodeRequest:
    """A geocoding request.

    Attributes
    ----------
    address_col : str
        The column holding the addresses.
    provider : {"offline", "local", "amap", "tianditu", "baidu"}
    city : str, optional
        City of the addresses (name or adcode); default the project's city.
        Rows placed outside it (or outside the project's counties) are
        ``outside_project``.
    key : str, optional
        The provider's key (not kept in :meth:`to_dict`, never in outputs).
    endpoint : str, optional
        Base URL of the service (an intranet 天地图政务 or a proxy).
    rate_per_s, timeout_s : float, optional
        Requests per second and per-request timeout (defaults in :mod:`settings`).
    cache : str, optional
        A cache file (``.json`` or SQLite); default the project's GeoPackage.
    gazetteer : str, optional
        ``provider="local"``: the address register file (CSV/XLSX/GIS file with
        coordinates), or the name of a register kept in the project.
    gazetteer_crs : str, optional
        The register's coordinate system (default: from its names, else WGS84).
    gazetteer_address_col : str, optional
        The register's address column (default 标准地址/地址 …).
    """

    address_col: str
    provider: str = "offline"
    city: str | None = None
    key: str | None = field(default=None, repr=False, compare=False)
    endpoint: str | None = None
    rate_per_s: float | None = None
    timeout_s: float | None = None
    cache: str | None = None
    gazetteer: str | None = None
    gazetteer_crs: str | None = None
    gazetteer_address_col: str | None = None

    def __post_init__(self):
        if self.provider not in PROVIDERS:
            raise GeocodeError(
                f"未知地理编码服务 / unknown provider {self.provider!r}: use {', '.join(PROVIDERS)}"
            )
        for name in ("rate_per_s", "timeout_s"):
            v = getattr(self, name)
            if v is not None and (
                not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0
            ):
                raise GeocodeError(
                    f"{name} 必须为正数 / {name} must be a positive number, got {v!r}"
                )
        if self.city is not None and not str(self.city).strip():
            object.__setattr__(self, "city", None)
        if self.provider == "local" and not self.gazetteer:
            raise GeocodeError(
                "本地地址库方式需要地址库 / --provider local needs --gazetteer FILE (a "
                "标准地址/门牌 table with coordinates) or the name of a register in the project"
            )

    def to_dict(self) -> dict:
        """JSON-able request without the key (the endpoint with any key in it redacted)."""
        d = asdict(self)
        d.pop("key")
        if d["endpoint"]:
            d["endpoint"] = redact(d["endpoint"], self.key)
        return d


# ---------------------------------------------------------------- reading tables
def read_table(path, *, sheet: str | None = None, encoding: str | None = None) -> pd.DataFrame:
    """A CSV or XLSX file as text columns (encoding detected as the importer does).

    Raises
    ------
    layers.importer.ImportFileError
        The file cannot be read, or is not a table (CSV/XLSX).
    """
    from layers.importer import ImportFileError, ImportOptions, _read_table, inspect_file

    p = Path(path)
    info = inspect_file(p)
    if info["format"] not in ("csv", "xlsx"):
        raise ImportFileError(
            f"{p.name}: 地理编码需要表格文件 / geocoding needs a table: give a CSV or XLSX "
            f"file (this is {info['format'].upper()})"
        )
    first = _read_table(p, info["format"], ImportOptions(sheet=sheet, encoding=encoding))[0]
    frame = getattr(first, "frame", first)  # the importer's Table (cells and line numbers)
    lines = getattr(first, "lines", None)
    if lines is not None and len(lines) == len(frame):
        frame.attrs["lines"] = lines  # each row's file line / sheet row, for the listed rows
    return frame


def address_table(path, options=None) -> pd.DataFrame | None:
    """The table of ``path`` if it is a CSV/XLSX with no coordinate columns, else None."""
    from layers.coords import detect_coordinate_columns
    from layers.importer import ImportFileError

    if options is not None and (options.lon_col or options.lat_col):
        return None
    try:
        df = read_table(
            path,
            sheet=getattr(options, "sheet", None),
            encoding=getattr(options, "encoding", None),
        )
    except ImportFileError:
        return None  # the import reports it
    lon, lat, pair = detect_coordinate_columns(df.columns)
    if (lon and lat) or pair:
        return None
    return df


def address_columns(df: pd.DataFrame) -> list[str]:
    """The columns of ``df``, those named like an address (地址, 注册地址 …) first."""
    from layers.importer import FIELD_ALIASES

    names = [str(a).lower() for a in FIELD_ALIASES["address"]]
    first = [c for c in df.columns if str(c).strip().lower() in names]
    first += [c for c in df.columns if c not in first and "地址" in str(c)]
    return first + [c for c in df.columns if c not in first]


# ---------------------------------------------------------------- the run
@dataclass(frozen=True)
class _Area:
    """Where the addresses should be: the project's (or the city's) counties and outline."""

    city: str = ""
    province: str = ""
    counties: tuple[tuple[str, str], ...] = ()
    outline: object = None  # shapely geometry (WGS84) or None
    zones: tuple[tuple[str, object], ...] = ()  # the project's zones (name, WGS84 polygon)

    @property
    def codes(self) -> set[str]:
        return {str(a) for _, a in self.counties}


@lru_cache(maxsize=16)
def _city_area(city: str) -> _Area:
    from layers.cities import districts_frame, find_city

    match = find_city(city)
    d = districts_frame(match)
    return _Area(match.city, match.province, match.counties, shapely.union_all(d.geometry.values))


def _area(project, city: str | None) -> _Area:
    if project is not None:
        from layers.cities import find_city

        if not city or str(find_city(city).adcode) == str(project.adcode):
            from layers.cities import city_outline

            counties = tuple(tuple(c) for c in project.counties)
            z = project.zones
            zones = (
                tuple(
                    (str(n), g) for n, g in zip(z["name"], z.geometry, strict=True) if g is not None
                )
                if len(z)
                else ()
            )
            return _Area(project.city, project.province, counties, city_outline(project), zones)
    return _city_area(str(city)) if city else _Area()


def _outside(r: GeocodeResult, area: _Area) -> bool:
    if not (math.isfinite(r.lon) and math.isfinite(r.lat)) or not area.counties:
        return False
    if r.adcode and len(r.adcode) == 6 and not r.adcode.endswith("00"):
        return r.adcode not in area.codes
    if area.outline is None:
        return False
    return not shapely.dwithin(area.outline, shapely.Point(r.lon, r.lat), _EDGE_DEG)


def _trusted_hits(hits: dict[str, GeocodeResult], area: _Area) -> dict[str, GeocodeResult]:
    """Cached answers still trusted today: a point kept by an older version (or another
    city's run) outside the city + margin is dropped, so it is asked again."""
    from layers.cities import outside_city_mask

    located = [a for a, r in hits.items() if r.status in ("ok", "coarse")]
    if not located or area.outline is None:
        return hits
    lon = np.array([hits[a].lon for a in located], dtype=float)
    lat = np.array([hits[a].lat for a in located], dtype=float)
    bad = outside_city_mask(lon, lat, city_geom=area.outline)
    return {a: r for a, r in hits.items() if a not in {located[i] for i in np.flatnonzero(bad)}}


def _ask(
    geocoder,
    todo: list[str],
    cache: GeocodeCache,
    keys: dict[str, str],
    results: dict,
    tick: Callable[[int], None],
) -> str | None:
    """Ask ``todo`` (normalised addresses); returns why the run stopped early, or None."""
    if hasattr(geocoder, "geocode_many"):  # offline and the local register: batches
        for i in range(0, len(todo), _OFFLINE_CHUNK):
            chunk = todo[i : i + _OFFLINE_CHUNK]
            for a, r in zip(chunk, geocoder.geocode_many(chunk), strict=True):
                results[a] = r
            tick(len(chunk))
        return None
    return _ask_online(geocoder, todo, cache, keys, results, tick)


def _ask_online(geocoder, todo, cache, keys, results, tick) -> str | None:
    """A few requests in flight (the rate limiter spaces them), answers kept as they come.

    Latency then does not cap the throughput below the rate. A quota stop or too
    many failures in a row stop submitting; the requests in flight are recorded.
    """
    workers = max(1, int(settings.GEOCODE_WORKERS))
    pending: dict = {}
    queue = iter(todo)
    failures = 0
    stopped: str | None = None
    key_error: GeocodeKeyError | None = None
    with ThreadPoolExecutor(max_workers=workers) as pool:

        def submit() -> None:
            a = next(queue, None)
            if a is not None:
                pending[pool.submit(geocoder.geocode, a)] = a

        for _ in range(workers):
            submit()
        try:
            while pending:
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in done:
                    a = pending.pop(fut)
                    try:
                        r = fut.result()
                    except GeocodeQuotaError as exc:
                        stopped = stopped or str(exc)
                        continue
                    except GeocodeKeyError as exc:
                        key_error = key_error or exc
                        continue
                    results[a] = r
                    cache.put(keys[a], r)
                    failures = failures + 1 if r.status == "failed" else 0
                    tick(1)
                    if failures >= settings.GEOCODE_MAX_FAILURES_IN_A_ROW and not stopped:
                        stopped = (
                            f"服务连续 {failures} 次请求失败, 已暂停 / the service failed {failures} "
                            f"times in a row ({r.note}): check the network or --endpoint and run "
                            "again to resume"
                        )
                    if not (stopped or key_error):
                        submit()
        finally:
            cache.flush()
    if key_error is not None:
        raise key_error
    return stopped


def _row_result(addr: str, results: dict, stopped: str | None) -> GeocodeResult:
    if not addr:
        return GeocodeResult("no_match", note="地址为空 / empty address")
    r = results.get(addr)
    if r is None:
        why = "配额用尽或服务中断" if stopped else "未查询"
        return GeocodeResult(
            "failed",
            note=f"未查询 ({why}), 重新运行即可继续 / not asked yet: run again to resume",
        )
    return r


def _frame(
    table: pd.DataFrame, addrs: pd.Series, results: dict, area: _Area, stopped: str | None
) -> pd.DataFrame:
    rows = [_row_result(a, results, stopped) for a in addrs]
    status = []
    notes = []
    for r in rows:
        if r.status in ("ok", "coarse") and _outside(r, area):
            status.append("outside_project")
            notes.append(
                f"位于项目城市 {area.city} 之外 / outside the project's counties ({r.note})"
            )
        else:
            status.append(r.status)
            notes.append(r.note)
    out = table.copy()
    out["lon"] = [round(r.lon, 7) if math.isfinite(r.lon) else np.nan for r in rows]
    out["lat"] = [round(r.lat, 7) if math.isfinite(r.lat) else np.nan for r in rows]
    out["coord_source"] = [r.source for r in rows]
    out["coord_precision_m"] = [r.precision_m for r in rows]
    out["geocode_status"] = status
    out["geocode_note"] = notes
    if not _has_district_column(table):
        located = [s in ("ok", "coarse") for s in status]
        out["district"] = [
            (r.district or UNDETERMINED_DISTRICT) if keep else ""
            for r, keep in zip(rows, located, strict=True)
        ]
    return out


def _has_district_column(table: pd.DataFrame) -> bool:
    """Whether the list states its own district (区县 …): then it is kept as given."""
    from layers.importer import FIELD_ALIASES

    names = {str(a).lower() for a in FIELD_ALIASES["district"]}
    return any(str(c).strip().lower() in names for c in table.columns)


def run(
    table: pd.DataFrame,
    request: GeocodeRequest,
    *,
    project=None,
    on_progress: Callable[[int, int], None] | None = None,
    cache: GeocodeCache | None = None,
    register=None,
) -> Report:
    """Geocode the addresses of ``table`` (every row kept; see the module docstring).

    Parameters
    ----------
    table : DataFrame
        The address list (as read by :func:`read_table`).
    project : layers.project.Project, optional
        Gives the city and counties (rows outside them are ``outside_project``)
        and, when writable, keeps the cache.
    on_progress : callable, optional
        ``on_progress(done, total)`` over the distinct addresses (cache hits count).
    cache : GeocodeCache, optional
        Overrides the request's and the project's cache.
    register : layers.gazetteer.Gazetteer, optional
        ``provider="local"``: an indexed register (e.g. read from an upload)
        instead of the file or project register named by ``request.gazetteer``.

    Raises
    ------
    GeocodeKeyError
        The key is missing or rejected (answers so far are cached).
    GeocodeError
        Unknown column, provider or endpoint.
    """
    col = request.address_col
    if col not in table.columns:
        raise GeocodeError(
            f"没有地址列 {col!r} / no address column {col!r}: choose one of "
            f"{', '.join(map(str, table.columns))} (--address-col)"
        )
    t0 = time.perf_counter()
    city = request.city or (project.city if project is not None else None)
    area = _area(project, city)
    register_notes: list[str] = []
    if request.provider == "local" and register is None:
        register, register_notes = _register(request, project, area)
    geocoder = make_geocoder(
        request.provider,
        key=request.key,
        endpoint=request.endpoint,
        city=area.city or city,
        province=area.province,
        counties=area.counties,
        zones=area.zones,
        outline=area.outline,
        rate_per_s=request.rate_per_s,
        timeout_s=request.timeout_s,
        gazetteer=register,
    )
    online = request.provider not in ("offline", "local")
    if cache is None:
        cache = open_cache(request.cache, project=project) if online else GeocodeCache()
    addrs = table[col].map(normalise_address)
    unique = list(dict.fromkeys(a for a in addrs if a))
    keys = {a: cache_key(request.provider, area.city or city, a) for a in unique}
    results: dict[str, GeocodeResult] = {}
    if online:
        hits = cache.get_many(list(keys.values()))
        results = _trusted_hits({a: hits[k] for a, k in keys.items() if k in hits}, area)
    n_hits = len(results)
    done = [n_hits]
    total = len(unique)

    def tick(n: int) -> None:
        done[0] += n
        if on_progress is not None:
            on_progress(done[0], total)

    if on_progress is not None:
        on_progress(done[0], total)
    todo = [a for a in unique if a not in results]
    try:
        stopped = _ask(geocoder, todo, cache, keys, results, tick)
    except GeocodeKeyError as exc:
        raise GeocodeKeyError(redact(str(exc), request.key)) from None
    if stopped:
        stopped = redact(stopped, request.key)
    out = _frame(table, addrs, results, area, stopped)
    lines = table.attrs.get("lines")  # the reader's file lines / sheet rows
    rep = _report(request, out, area, stopped, geocoder, cache, n_hits, total, t0, lines=lines)
    if register is not None:
        rep.summary["gazetteer"] = {
            "name": register.name,
            "rows": len(register),
            "matched": int(getattr(geocoder, "matched", 0)),
            "min_score": settings.GAZETTEER_MIN_SCORE,
        }
        rep.notes.extend(register_notes)
    return rep


def _register(request: GeocodeRequest, project, area: _Area):
    """The local register of ``request``: a file, else a register kept in ``project``."""
    from layers.gazetteer import Gazetteer, read_register

    ref = str(request.gazetteer)
    if project is not None and not Path(ref).exists():
        from layers.project import gazetteer_frame, gazetteer_names

        if ref in gazetteer_names(project):
            frame = gazetteer_frame(project, ref)
            return Gazetteer.from_frame(frame, name=ref, counties=area.counties), []
    if not Path(ref).exists():
        raise GeocodeError(
            f"地址库 {ref!r} 不存在 / no address register {ref!r}: give the register's file "
            "(CSV/XLSX/GeoPackage/Shapefile) or the name of one kept in the project"
        )
    frame, notes = read_register(
        ref, crs=request.gazetteer_crs, address_col=request.gazetteer_address_col
    )
    return Gazetteer.from_frame(frame, name=Path(ref).name, counties=area.counties), notes


def _listed_rows(request, out: pd.DataFrame, lines) -> list[dict]:
    """The rows that are not ``ok``, numbered as the user sees them: the file line / sheet row
    the reader kept in ``table.attrs["lines"]`` (titles above the header counted), else the
    position below a one-line header (``position + 2``)."""
    mask = (out["geocode_status"] != "ok").to_numpy()
    pos = np.flatnonzero(mask)
    if lines is not None and len(lines) == len(out):
        rows = np.asarray(lines, dtype=np.int64)[pos]
    else:
        rows = pos + 2
    listed = out[mask]
    return [
        {"row": int(r), "address": str(a), "status": str(st), "note": str(n)}
        for r, a, st, n in zip(
            rows,
            listed[request.address_col].fillna(""),
            listed["geocode_status"],
            listed["geocode_note"],
            strict=True,
        )
    ]


def _report(
    request, out, area, stopped, geocoder, cache, n_hits, total, t0, *, lines=None
) -> Report:
    counts = {s: int((out["geocode_status"] == s).sum()) for s in STATUSES}
    mask = (out["geocode_status"] != "ok").to_numpy()
    listed = out[mask]
    listed_rows = _listed_rows(request, out, lines)
    not_asked = int(out["geocode_note"].str.startswith("未查询").sum())
    summary = {
        "provider": request.provider,
        "city": area.city or request.city,
        "rows": len(out),
        "addresses": total,
        "asked": int(getattr(geocoder, "asked", 0)),
        "cache_hits": n_hits,
        "cache": cache.label,
        "counts": counts,
        "interrupted": stopped,
        "not_asked": not_asked,
        "rate_per_s": None
        if request.provider in ("offline", "local")
        else (request.rate_per_s or settings.GEOCODE_RATE_PER_S),
        "seconds": round(time.perf_counter() - t0, 3),
        "ok_max_precision_m": settings.GEOCODE_OK_MAX_PRECISION_M,
        "listed": listed_rows,
    }
    located = out["geocode_status"].isin(["ok", "coarse"])
    summary["sources"] = {
        str(k): int(v) for k, v in out.loc[located, "coord_source"].value_counts().items()
    }
    if "district" in out.columns and not _has_district_column(out.drop(columns="district")):
        summary["district_undetermined"] = int((out["district"] == UNDETERMINED_DISTRICT).sum())
    parts = ", ".join(f"{_STATUS_ZH[s]} {n}" for s, n in counts.items() if n)
    notes = [f"地理编码 ({request.provider}): {parts}"]
    if counts["coarse"]:
        notes.append(
            f"{counts['coarse']} 行仅定位到开发区/区县/城市等 (精度粗于 "
            f"{settings.GEOCODE_OK_MAX_PRECISION_M:g} 米, 精度为真实上界), 分析中精度粗于其尺度的点默认"
            f"不计入 / {counts['coarse']} rows are coarse (placed in a zone, county or city; the "
            "precision is a true bound) and are left out of analyses finer than that by default"
        )
    if summary.get("district_undetermined"):
        n = summary["district_undetermined"]
        notes.append(
            f"{n} 行的区县未定 (地址只到城市或片区跨区县) / {n} rows have no district (the "
            "address names only the city, or the zone spans counties)"
        )
    if stopped:
        notes.append(stopped)
    return Report(
        analysis="geocode",
        request=request.to_dict(),
        summary=summary,
        tables={"geocoded": out, "listed": listed},
        notes=notes,
    )


# ---------------------------------------------------------------- into the importer
def import_geocoded(geocoded: pd.DataFrame, folder, name: str, options=None):
    """Import the located rows (``ok``/``coarse``) of a geocoded table as the importer would.

    The rows are written to a CSV in ``folder`` (a temporary folder of the
    caller) and read by :func:`layers.importer.import_file` as WGS84; each kept
    row keeps its geocoding ``coord_source`` and precision.

    Returns
    -------
    tuple
        ``(ImportReport, not_imported)`` — the rows not imported (ambiguous, no
        match, failed, outside the project) with their status and note.
    """
    from dataclasses import replace

    from layers.importer import ImportOptions, import_file

    located = geocoded["geocode_status"].isin(["ok", "coarse"])
    rows = geocoded[located].copy()
    if rows.empty:
        raise InnoMapError(
            "没有可导入的行: 全部地址未能定位到项目范围内 / no row could be placed inside the "
            "project: check the address column and the city, or try an online provider"
        )
    rows.insert(0, "_geo_row", np.flatnonzero(located.to_numpy()))
    path = Path(folder) / f"{Path(name).stem}_geocoded.csv"
    # CRLF rows: CR/LF/quotes inside a value are quoted (a value never becomes two rows); the
    # text is not neutralised here, since this file goes back into the importer, not to people
    rows.to_csv(path, index=False, encoding="utf-8", lineterminator=CSV_LINE_END)
    opts = replace(
        options or ImportOptions(),
        crs="WGS84",
        lon_col="lon",
        lat_col="lat",
        sheet=None,
        layer=None,
        encoding="utf-8",
    )
    rep = import_file(path, opts)
    src = geocoded["coord_source"].to_numpy()
    for attr in ("valid", "rejected"):
        frame = getattr(rep, attr)
        if "_geo_row" in frame.columns:
            idx = pd.to_numeric(frame["_geo_row"], errors="coerce").astype(int).to_numpy()
            if "coord_source" in frame.columns:
                frame["coord_source"] = src[idx]  # the importer wrote "WGS84 → WGS84 (csv)"
            setattr(rep, attr, frame.drop(columns="_geo_row"))
    rep.file = name
    return rep, geocoded[~located]


# ---------------------------------------------------------------- a file named on the command line
def parse_rate(text: str) -> float:
    """A request rate as requests per second: ``3``, ``3/s`` or ``180/min``."""
    t = str(text).strip().lower().replace(" ", "")
    per = 1.0
    for unit, seconds in (("/s", 1.0), ("/min", 60.0), ("/m", 60.0)):
        if t.endswith(unit):
            t, per = t[: -len(unit)], seconds
            break
    try:
        v = float(t) / per
    except ValueError:
        raise GeocodeError(f"--rate {text!r}: give requests per second, e.g. 3/s") from None
    if not v > 0:
        raise GeocodeError(f"--rate {text!r}: must be positive")
    return v


def geocode_file(
    path, values: dict, *, out, force: bool = False, project=None, on_progress=None
) -> Report:
    """Geocode the address list ``path`` into the CSV ``out``; the run's report.

    ``values`` are the request's keys (``address_col``, ``provider``, ``rate`` as
    requests per second …) and the table options of :func:`workflows.importing.options_from`.
    An online run without a cache of its own (``cache``, or the project's) keeps one
    beside ``out`` (``OUT.geocode_cache.sqlite``): what makes a rerun resume.
    """
    from layers.geocode import project_keeps_cache, provider_key
    from layers.importer import read_table_for_geocoding
    from layers.io_safe import OutputExistsError, atomic_write
    from layers.safe import safe_csv
    from workflows.importing import options_from

    out = Path(out)
    if out.exists() and not force:
        raise OutputExistsError(
            f"{out} 已存在 / {out.name} already exists: choose another --out or pass --force "
            "(addresses answered before are cached and not asked again)"
        )
    table_keys = ("sheet", "encoding", "header_row", "name_col", "col", "map", "map_csv")
    table = read_table_for_geocoding(path, options_from({k: values.get(k) for k in table_keys}))
    v = {k: x for k, x in values.items() if k in GeocodeRequest.__dataclass_fields__}
    v["rate_per_s"] = values.get("rate")
    v["key"] = provider_key(v["provider"], v.get("key"))
    online = v["provider"] not in ("offline", "local")
    if online and not v.get("cache") and not project_keeps_cache(project):
        v["cache"] = str(out.with_name(out.stem + ".geocode_cache.sqlite"))
    report = run(table, GeocodeRequest(**v), project=project, on_progress=on_progress)
    geo = report.tables["geocoded"]
    atomic_write(out, lambda tmp: safe_csv(geo, tmp), force=True)  # CR/LF quoted, no formulas
    return report
