"""Registry of the embedded layers and readers for the embedded dataset.

The registry maps a key (``platforms``, ``incubators`` …) to a
:class:`~layers.schema.LayerSpec` and knows how to load the embedded data of that
layer as a WGS84 :class:`geopandas.GeoDataFrame` with canonical columns.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.errors import InnoMapError
from layers.schema import LEVELS, LayerSpec

__all__ = [
    "DATA_DIR",
    "OTHER",
    "POINT_LAYERS",
    "POLYGON_LAYERS",
    "REGISTRY",
    "UnknownLayerError",
    "get_spec",
    "guess_kind",
    "load_all",
    "load_layer",
    "normalise_columns",
    "project_sources",
    "raw_field",
    "vocabulary",
]

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

LEVELS_WITH_UNVERIFIED = (*LEVELS, "未核实")

#: The value of a type, zone type or level outside the vocabulary (the original is kept
#: in ``subtype_raw`` / ``zone_type_raw`` / ``level_raw``).
OTHER = "其他"

SCIENCE_VENUE_TYPES = (
    "大型场馆",
    "专业场馆",
    "社(村)科普馆",
    "农业科普基地",
    "学校科技馆",
    "企业科技馆",
    "点状微科普馆",
)

#: Zone types: the seeds' corridors and zones plus the development zones of any city.
ZONE_TYPES = (
    "科创走廊",
    "科创区",
    "科技城",
    "风貌区",
    "创业大街",
    "开发区",
    "高新区",
    "科学城",
    "自创区",
    "新区",
    "经开区",
    "综保区",
    "自贸区",
    "产业园",
    "自定义",
)

REGISTRY: dict[str, LayerSpec] = {
    spec.key: spec
    for spec in (
        LayerSpec(
            key="platforms",
            name_zh="研发平台",
            name_en="R&D platforms",
            geometry="point",
            kind="平台",
            subtypes=(
                "新型研发机构",
                "国家实验室",
                "省实验室",
                "重点实验室",
                "工程技术中心",
                "工程研究中心",
                "企业技术中心",
                "技术创新中心",
                "产业创新中心",
                "制造业创新中心",
                "临床医学研究中心",
                "院士工作站",
                "博士后工作站",
                "产业技术研究院",
                "技术转移机构",
                "科技市场",
                "创新平台",
            ),
            levels=LEVELS_WITH_UNVERIFIED,
            color="#d62728",
            file="institutions.csv",
            description_zh="研发平台、新型研发机构、重点实验室、工程技术中心、科技市场等",
        ),
        LayerSpec(
            key="incubators",
            name_zh="孵化器/众创空间",
            name_en="Incubators & maker spaces",
            geometry="point",
            kind="孵化载体",
            subtypes=("孵化器", "众创空间", "加速器", "大学科技园", "创业园", "星创天地"),
            levels=LEVELS_WITH_UNVERIFIED,
            extra_fields={"floor_area_m2": "float", "incubated_firms": "float"},
            weight_fields=("floor_area_m2", "incubated_firms"),
            color="#ff7f0e",
            file="institutions.csv",
            description_zh="科技企业孵化器、众创空间、加速器、大学科技园",
        ),
        LayerSpec(
            key="universities",
            name_zh="高校院所",
            name_en="Universities & institutes",
            geometry="point",
            kind="高校院所",
            subtypes=("高校", "科研院所"),
            levels=LEVELS_WITH_UNVERIFIED,
            color="#1f77b4",
            file="institutions.csv",
            description_zh="高等院校与科研院所",
        ),
        LayerSpec(
            key="enterprises",
            name_zh="科技企业",
            name_en="Enterprises",
            geometry="point",
            kind="企业",
            subtypes=(
                "高新技术企业",
                "科技型中小企业",
                "专精特新企业",
                "瞪羚企业",
                "独角兽企业",
                "科技领军企业",
            ),
            levels=LEVELS_WITH_UNVERIFIED,
            extra_fields={"employees": "float", "rd_spend_wan": "float"},
            weight_fields=("employees", "rd_spend_wan"),
            color="#2ca02c",
            file="enterprises.csv",
            description_zh="高新技术企业、科技型中小企业等(内置数据为模拟)",
        ),
        LayerSpec(
            key="science_venues",
            name_zh="科普场馆/基地",
            name_en="Science venues",
            geometry="point",
            kind="科普场馆",
            subtypes=SCIENCE_VENUE_TYPES,
            levels=LEVELS_WITH_UNVERIFIED,
            color="#9467bd",
            file="science_venues.csv",
            description_zh="科普场馆与科普基地(七类,内置数据为模拟)",
        ),
        LayerSpec(
            key="communities",
            name_zh="社区(人口)",
            name_en="Communities (population)",
            geometry="point",
            kind="社区",
            subtypes=("社区", "村"),
            levels=LEVELS_WITH_UNVERIFIED,
            extra_fields={"population": "float"},
            weight_fields=("population",),
            color="#8c564b",
            file="communities.csv",
            description_zh="社区/村居民点及人口(内置数据为模拟, 用于服务圈人口覆盖)",
        ),
        LayerSpec(
            key="districts",
            name_zh="行政区",
            name_en="Districts",
            geometry="polygon",
            kind="行政区",
            subtypes=("区县",),
            levels=LEVELS_WITH_UNVERIFIED,
            extra_fields={"adcode": "str", "name_en": "str"},
            color="#444444",
            file="districts.geojson",
            description_zh="区县界(高德 GCJ-02 转 WGS84)",
        ),
        LayerSpec(
            key="zones",
            name_zh="科创片区/走廊",
            name_en="Corridors & zones",
            geometry="polygon",
            kind="片区",
            subtypes=ZONE_TYPES,
            levels=LEVELS_WITH_UNVERIFIED,
            extra_fields={
                "area_published_km2": "float",
                "approximate": "bool",
                "boundary_note": "str",
            },
            color="#17becf",
            file="zones.geojson",
            description_zh="科创走廊与片区(按道路四至示意绘制)",
        ),
        LayerSpec(
            key="corridor_axes",
            name_zh="走廊轴线",
            name_en="Corridor axes",
            geometry="line",
            kind="走廊轴线",
            subtypes=("轴线",),
            levels=LEVELS_WITH_UNVERIFIED,
            extra_fields={"approximate": "bool", "boundary_note": "str"},
            color="#0b6e79",
            file="corridor_axes.geojson",
            description_zh="科创走廊/创业大街轴线(示意)",
        ),
    )
}

POINT_LAYERS = tuple(k for k, s in REGISTRY.items() if s.geometry == "point")
POLYGON_LAYERS = tuple(k for k, s in REGISTRY.items() if s.geometry != "point")


class UnknownLayerError(InnoMapError):
    """Raised for a layer key that is not in the registry."""


def get_spec(key: str) -> LayerSpec:
    """Return the spec of ``key``.

    Raises
    ------
    UnknownLayerError
        If ``key`` is not a registry key; the message lists the valid keys.
    """
    try:
        return REGISTRY[key]
    except KeyError:
        raise UnknownLayerError(
            f"未知图层 / unknown layer {key!r}: choose one of {', '.join(REGISTRY)}"
        ) from None


def vocabulary(spec: LayerSpec, field: str) -> tuple[str, ...]:
    """The values ``field`` ("subtype" or "level") may take in ``spec``'s layer, 其他 included."""
    values = spec.subtypes if field == "subtype" else spec.levels
    return (*values, OTHER)


def raw_field(key: str, field: str) -> str:
    """The column keeping a value outside the vocabulary: ``subtype_raw`` (``zone_type_raw``
    for zones) or ``level_raw``."""
    if field == "subtype" and key == "zones":
        return "zone_type_raw"
    return f"{field}_raw"


#: Words that name a kind in a file name or a column header besides its names and subtypes.
_KIND_WORDS: dict[str, tuple[str, ...]] = {
    "enterprises": ("企业", "公司", "统一社会信用代码", "信用代码", "高企", "firm", "company"),
    "incubators": ("孵化", "众创", "在孵企业", "星创天地", "incubator", "maker"),
    "universities": ("高校", "大学", "学院", "院所", "university", "college"),
    "platforms": (
        "平台",
        "实验室",
        "研究院",
        "技术中心",
        "研究中心",
        "创新中心",
        "工作站",
        "platform",
        "lab",
    ),
    "science_venues": ("科普", "科技馆", "museum", "venue"),
    "communities": ("社区", "小区", "人口", "community", "population"),
}
#: Phrases that make a list an incubator list wherever they appear (title, values, file
#: name); they hide the 企业 of 科技企业孵化器 from the enterprise kind.
_INCUBATOR_PHRASES = ("科技企业孵化器", "企业孵化器", "孵化器", "众创空间", "孵化载体", "在孵企业")


def guess_kind(
    file_name: str,
    columns: list[str] | tuple[str, ...] = (),
    texts: list[str] | tuple[str, ...] = (),
) -> str | None:
    """The point kind a file most likely holds, from its name, column headers and texts.

    Each kind scores the words that name it (its key, Chinese names, subtypes and the
    words of ``_KIND_WORDS``): twice when in the file name, once per matching column,
    twice when in ``texts`` (title rows above the header, sample values). 科技企业孵化器,
    众创空间, 孵化器 in the name or the texts score the incubators three times more and
    are not read as 企业. ``None`` when nothing matches or two kinds tie (the user chooses).
    """
    stem = file_name.rsplit(".", 1)[0].lower()
    cols = [str(c).lower() for c in columns]
    text = " ".join(str(t) for t in texts)[:20_000].lower()

    def hide(s: str) -> str:
        for p in _INCUBATOR_PHRASES:
            s = s.replace(p, "◇")
        return s

    hidden = (hide(stem), [hide(c) for c in cols], hide(text))
    scores: dict[str, int] = {}
    for key, spec in REGISTRY.items():
        if spec.geometry != "point":
            continue
        words = {
            key,
            spec.kind,
            *spec.name_zh.split("/"),
            *spec.subtypes,
            *_KIND_WORDS.get(key, ()),
        }
        words = {w.lower() for w in words if len(w) >= 2}
        s, c, t = (stem, cols, text) if key == "incubators" else hidden
        score = (
            2 * any(w in s for w in words)
            + sum(any(w in x for w in words) for x in c)
            + 2 * any(w in t for w in words)
        )
        if key == "incubators":
            score += 6 * any(p in stem or p in text for p in _INCUBATOR_PHRASES)
        if score:
            scores[key] = score
    if not scores:
        return None
    best = max(scores.values())
    top = [k for k, v in scores.items() if v == best]
    return top[0] if len(top) == 1 else None


def normalise_columns(df: pd.DataFrame, spec: LayerSpec) -> pd.DataFrame:
    """Give ``df`` every canonical column of ``spec`` with its canonical dtype.

    Missing text fields become empty strings, missing numbers NaN. ``id`` stays
    text. Returns a new frame; ``df`` is not modified.
    """
    out = df.copy()
    for name in spec.fields:
        if name not in out.columns:
            out[name] = np.nan if name in ("coord_precision_m",) else ""
    for name, dtype in spec.extra_fields.items():
        if name not in out.columns:
            out[name] = np.nan if dtype in ("float", "int") else ""
    text = [
        c
        for c in spec.fields
        if c not in ("coord_precision_m", "synthetic") and spec.extra_fields.get(c, "str") == "str"
    ]
    for c in text:
        s = out[c]
        if isinstance(s.dtype, pd.StringDtype):  # already text (Arrow-backed): fill only
            out[c] = s.fillna("") if s.hasnans else s
        else:
            out[c] = s.astype("object").where(s.notna(), "").astype(str)
    out["coord_precision_m"] = pd.to_numeric(out["coord_precision_m"], errors="coerce")
    out["synthetic"] = _bools(out["synthetic"])
    for name, dtype in spec.extra_fields.items():
        if dtype in ("float", "int"):
            out[name] = _numbers(out[name])
        elif dtype == "bool":
            out[name] = _bools(out[name])
    out["kind"] = out["kind"].where(out["kind"] != "", spec.kind)
    return out


def _numbers(s: pd.Series) -> pd.Series:
    """Numbers of a column; text in full-width digits or with thousands separators
    (``１２０``, ``1,200``, ``1 200``) read too (the other text is NaN)."""
    num = pd.to_numeric(s, errors="coerce")
    if s.dtype.kind in "biuf":
        return num
    redo = (num.isna() & s.notna()).to_numpy()
    if not redo.any():
        return num
    at = np.flatnonzero(redo)
    text = s.iloc[at].astype(str)
    at = at[text.str.strip().ne("").to_numpy()]
    if len(at):
        fixed = s.iloc[at].astype(str).map(lambda v: unicodedata.normalize("NFKC", v))
        fixed = fixed.str.replace(r"[,\s]", "", regex=True)
        num = num.astype(float)
        num.iloc[at] = pd.to_numeric(fixed, errors="coerce").to_numpy()
    return num


def _bools(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s) and not s.hasnans:
        return s.astype(bool)
    return s.map(_to_bool).astype(bool)


def _to_bool(value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    return str(value).strip().lower() in ("true", "1", "yes", "y", "是", "t")


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


@lru_cache(maxsize=32)
def _load_cached(key: str, path: str, mtime: float) -> gpd.GeoDataFrame:
    spec = get_spec(key)
    p = Path(path)
    if p.suffix == ".csv":
        df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8")
        if "layer" in df.columns:
            df = df[df["layer"] == key].drop(columns=["layer"])
        lon = pd.to_numeric(df.pop("lon"), errors="coerce")
        lat = pd.to_numeric(df.pop("lat"), errors="coerce")
        gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    else:
        gdf = gpd.read_file(p)
        if gdf.crs is None or gdf.crs.to_epsg() != 4326:
            gdf = gdf.to_crs(4326)
        if "id" in gdf.columns:
            gdf["id"] = gdf["id"].astype(str)
    gdf = normalise_columns(gdf, spec)
    cols = [c for c in spec.fields if c in gdf.columns]
    cols += [c for c in gdf.columns if c not in cols and c != "geometry"]
    gdf = gdf[[*cols, "geometry"]].reset_index(drop=True)
    gdf.attrs["layer_key"] = key
    return gdf


def load_layer(key: str, *, data_dir: Path | None = None) -> gpd.GeoDataFrame:
    """Load one embedded layer in WGS84 with canonical columns.

    Parameters
    ----------
    key : str
        Registry key.
    data_dir : pathlib.Path, optional
        Folder holding the dataset (defaults to the embedded ``data/``).

    Returns
    -------
    geopandas.GeoDataFrame
        A fresh copy (callers may modify it freely).
    """
    spec = get_spec(key)
    path = (data_dir or DATA_DIR) / spec.file
    if not path.exists():
        raise FileNotFoundError(
            f"图层 {key} 的数据文件缺失 / data file of layer {key!r} is missing: {path}; "
            "rebuild it with `python data/scripts/build_dataset.py`"
        )
    return _load_cached(key, str(path), _mtime(path)).copy()


def load_all(*, data_dir: Path | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Load every embedded layer, keyed by registry key."""
    return {key: load_layer(key, data_dir=data_dir) for key in REGISTRY}


def project_sources(layers: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Summarise layers: key, names, rows, synthetic rows, CRS and distinct sources."""
    rows = []
    for key, gdf in layers.items():
        spec = REGISTRY.get(key)
        sources = sorted({s for s in gdf.get("source", pd.Series(dtype=str)) if s})
        rows.append(
            {
                "layer": key,
                "name_zh": spec.name_zh if spec else key,
                "name_en": spec.name_en if spec else key,
                "geometry": spec.geometry if spec else str(gdf.geom_type.iloc[0]),
                "rows": len(gdf),
                "synthetic_rows": int(gdf["synthetic"].sum()) if "synthetic" in gdf else 0,
                "crs": gdf.crs.to_string() if gdf.crs else "unknown",
                "sources": sources,
            }
        )
    return pd.DataFrame(rows)
