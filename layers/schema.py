"""Layer schema: the canonical fields, vocabularies and layer specifications.

Every layer is stored in WGS84 (EPSG:4326) with English canonical column names;
:data:`FIELD_LABELS` gives the Chinese and English display labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "COMMON_FIELDS",
    "FIELD_LABELS",
    "LEVELS",
    "LayerSpec",
    "field_label",
]

#: Fields every record carries, in display order.
COMMON_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "kind",
    "subtype",
    "level",
    "district",
    "address",
    "source",
    "coord_source",
    "coord_precision_m",
    "synthetic",
    "as_of",
)

#: Canonical field -> (Chinese label, English label).
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "id": ("编号", "ID"),
    "name": ("名称", "Name"),
    "name_en": ("英文名称", "English name"),
    "kind": ("类别", "Kind"),
    "subtype": ("子类", "Subtype"),
    "level": ("级别", "Level"),
    "district": ("所在区县", "District"),
    "address": ("地址", "Address"),
    "source": ("数据来源", "Source"),
    "coord_source": ("坐标来源", "Coordinate source"),
    "coord_precision_m": ("坐标精度(米)", "Coordinate precision (m)"),
    "synthetic": ("模拟数据", "Synthetic"),
    "as_of": ("数据时点", "As of"),
    "floor_area_m2": ("面积(平方米)", "Floor area (m²)"),
    "incubated_firms": ("在孵企业数", "Incubated firms"),
    "employees": ("从业人员", "Employees"),
    "rd_spend_wan": ("研发投入(万元)", "R&D spend (10k CNY)"),
    "adcode": ("行政区划代码", "Admin code"),
    "population": ("人口", "Population"),
    "zone_type": ("区域类型", "Zone type"),
    "area_published_km2": ("规划面积(平方公里)", "Published area (km²)"),
    "approximate": ("边界为示意", "Approximate boundary"),
    "boundary_note": ("边界说明", "Boundary note"),
    "zone": ("所在片区", "Zone"),
    "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"),
}

#: Accreditation levels, highest first.
LEVELS: tuple[str, ...] = ("国家级", "省级", "市级", "区级", "无")


def field_label(name: str, lang: str = "zh") -> str:
    """Return the display label of a canonical field in ``lang`` ("zh" or "en")."""
    zh, en = FIELD_LABELS.get(name, (name, name))
    return en if lang == "en" else zh


@dataclass(frozen=True)
class LayerSpec:
    """Specification of one layer in the registry.

    Attributes
    ----------
    key : str
        Registry key (``platforms``, ``incubators`` …); used by the CLI.
    name_zh, name_en : str
        Display names.
    geometry : {"point", "polygon", "line"}
        Geometry type of every feature.
    kind : str
        The value of the ``kind`` field for every record of the layer.
    subtypes : tuple of str
        Allowed values of ``subtype``.
    levels : tuple of str
        Allowed values of ``level``.
    extra_fields : dict
        Extra canonical fields and their dtype ("float", "int", "str", "bool").
    weight_fields : tuple of str
        Numeric fields that can weight analyses (employees, floor area …).
    color : str
        Display colour (hex).
    file : str
        File name below ``data/`` holding the layer.
    """

    key: str
    name_zh: str
    name_en: str
    geometry: str
    kind: str
    subtypes: tuple[str, ...]
    levels: tuple[str, ...] = LEVELS
    extra_fields: dict[str, str] = field(default_factory=dict)
    weight_fields: tuple[str, ...] = ()
    color: str = "#555555"
    file: str = ""
    description_zh: str = ""

    def name(self, lang: str = "zh") -> str:
        """Display name in ``lang``."""
        return self.name_en if lang == "en" else self.name_zh

    @property
    def fields(self) -> tuple[str, ...]:
        """All canonical fields of the layer, common fields first."""
        return COMMON_FIELDS + tuple(f for f in self.extra_fields if f not in COMMON_FIELDS)
