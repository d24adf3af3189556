"""The drawing map: the project's outlines plus an editable layer and the Leaflet.draw toolbar.

Leaflet.draw is vendored (``static/vendor/leaflet.draw.*``, MIT, see
``static/vendor/README.md``): folium's ``Draw`` plugin is given the local files instead
of its CDN links, so drawing works offline. The shapes of the layer being edited are put
into the plugin's feature group (``drawnItems``), each with its row number
(``properties.row``) so the map's answer (``all_drawings``: every shape of the group, in
the basemap's overlay system) tells which rows were kept, moved or deleted; shapes drawn
anew come back without a row.

On a GCJ-02 basemap (高德) the shapes are shifted to GCJ-02 for display like every
overlay (:func:`render.webmap.to_overlay_crs`); ``workflows.drawing`` converts the
answer back to WGS84.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import shapely
from folium.plugins import Draw

from layers.registry import REGISTRY
from layers.safe import js_literal
from render.basemaps import Basemap
from render.webmap import MapLayer, asset_links, build_map, to_overlay_crs

__all__ = ["DRAW_ASSETS_CSS", "DRAW_ASSETS_JS", "draw_options", "drawing_map", "editable_features"]

DRAW_ASSETS_JS = [("leaflet_draw_js", "vendor/leaflet.draw.js")]
DRAW_ASSETS_CSS = [("leaflet_draw_css", "vendor/leaflet.draw.css")]

#: Leaflet.draw's toolbar strings in Chinese (the ones the drawing page shows).
_ZH_LOCAL = {
    "draw": {
        "toolbar": {
            "actions": {"title": "取消绘制", "text": "取消"},
            "finish": {"title": "完成绘制", "text": "完成"},
            "undo": {"title": "删除最后一个点", "text": "删除最后一点"},
            "buttons": {
                "polyline": "画轴线(折线)",
                "polygon": "画片区(多边形)",
                "rectangle": "画片区(矩形)",
            },
        },
        "handlers": {
            "polygon": {
                "tooltip": {
                    "start": "点击开始画片区",
                    "cont": "点击继续画边界",
                    "end": "点击第一个点闭合片区",
                }
            },
            "polyline": {
                "error": "<strong>错误:</strong> 线不能自相交",
                "tooltip": {
                    "start": "点击开始画轴线",
                    "cont": "点击继续画轴线",
                    "end": "点击最后一个点结束",
                },
            },
            "rectangle": {"tooltip": {"start": "按住并拖动画矩形"}},
            "simpleshape": {"tooltip": {"end": "松开鼠标完成"}},
        },
    },
    "edit": {
        "toolbar": {
            "actions": {
                "save": {"title": "保存修改", "text": "完成"},
                "cancel": {"title": "取消编辑, 放弃所有修改", "text": "取消"},
                "clearAll": {"title": "清除全部图形", "text": "全部清除"},
            },
            "buttons": {
                "edit": "编辑图形",
                "editDisabled": "没有可编辑的图形",
                "remove": "删除图形",
                "removeDisabled": "没有可删除的图形",
            },
        },
        "handlers": {
            "edit": {"tooltip": {"text": "拖动顶点修改图形", "subtext": "点击取消放弃修改"}},
            "remove": {"tooltip": {"text": "点击要删除的图形"}},
        },
    },
}


class _LocalDraw(Draw):
    """folium's ``Draw`` with the vendored Leaflet.draw (no CDN)."""

    def __init__(self, *, asset_mode: str = "static", **kwargs):
        super().__init__(**kwargs)
        self.default_js = asset_links(DRAW_ASSETS_JS, mode=asset_mode)
        self.default_css = asset_links(DRAW_ASSETS_CSS, mode=asset_mode)


class _Editable(folium.MacroElement):
    """Puts the editable shapes (a GeoJSON literal) into the feature group, one Leaflet
    layer per feature (so each can be edited or deleted), names as text tooltips."""

    _template = folium.template.Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var fg = {{ this._parent.get_name() }};
            L.geoJSON({{ this.data }}, {style: function () { return {{ this.style }}; }})
              .eachLayer(function (l) {
                var s = document.createElement("span");
                s.textContent = (l.feature.properties || {}).name || "";
                l.bindTooltip(s, {sticky: true});
                fg.addLayer(l);
            });
            {% if this.local %}
            (function merge(into, from) {  // deep: the toolbar reads every tool's strings
                Object.keys(from).forEach(function (k) {
                    if (typeof from[k] === "object" && typeof into[k] === "object") {
                        merge(into[k], from[k]);
                    } else {
                        into[k] = from[k];
                    }
                });
            })(L.drawLocal, {{ this.local }});
            {% endif %}
        })();
        {% endmacro %}
        """
    )

    def __init__(self, data: dict, *, color: str, local: dict | None):
        super().__init__()
        self._name = "InnoMapEditable"
        self.data = js_literal(data)
        self.style = js_literal({"color": color, "weight": 3, "fillOpacity": 0.15})
        self.local = js_literal(local) if local else ""


def editable_features(gdf: gpd.GeoDataFrame, overlay_crs: str) -> dict:
    """The layer's shapes as a GeoJSON FeatureCollection in the overlay system, each with
    ``properties.row`` (its position in ``gdf``) and ``properties.name``; rows without a
    geometry are left out (they are kept as they are)."""
    geoms = to_overlay_crs(gdf, overlay_crs)
    names = gdf["name"].astype(str).tolist() if "name" in gdf.columns else [""] * len(gdf)
    feats = [
        {
            "type": "Feature",
            "properties": {"row": i, "name": names[i]},
            "geometry": shapely.geometry.mapping(g),
        }
        for i, g in enumerate(geoms.values)
        if g is not None and not g.is_empty
    ]
    return {"type": "FeatureCollection", "features": feats}


def draw_options(kind: str) -> dict:
    """Leaflet.draw's tools for ``kind``: polygons and rectangles for zones, lines for axes."""
    line = REGISTRY[kind].geometry == "line"
    shape = {"color": REGISTRY[kind].color, "weight": 3}
    return {
        "polyline": {"shapeOptions": shape} if line else False,
        "polygon": False
        if line
        else {"allowIntersection": False, "showArea": False, "shapeOptions": shape},
        "rectangle": False if line else {"showArea": False, "shapeOptions": shape},
        "circle": False,
        "circlemarker": False,
        "marker": False,
    }


def drawing_map(
    context: list[MapLayer],
    *,
    kind: str,
    editable: gpd.GeoDataFrame | None,
    basemap: Basemap,
    lang: str = "zh",
    fit_bounds: tuple[float, float, float, float] | None = None,
    legend_title: str | None = None,
    asset_mode: str = "static",
) -> folium.Map:
    """The map of the drawing page.

    Parameters
    ----------
    context : list of MapLayer
        Layers shown read-only (the project's outlines but the edited layer).
    kind : {"zones", "corridor_axes"}
        What is drawn: sets the toolbar's tools.
    editable : GeoDataFrame or None
        The layer being edited (WGS84); None: a plain map without the toolbar (not in
        edit mode).
    basemap : Basemap
        The basemap; on a GCJ-02 basemap every shape is shown in GCJ-02.
    lang : {"zh", "en"}
        Language of the legend and the toolbar.
    fit_bounds : tuple of float, optional
        WGS84 bounds shown first.
    legend_title : str, optional
        Title of the legend.
    asset_mode : {"static", "inline"}
        Where the browser gets Leaflet.draw (Streamlit's static folder, or inlined).
    """
    m = build_map(
        context,
        basemap=basemap,
        lang=lang,
        fit_bounds=fit_bounds,
        legend_title=legend_title,
        asset_mode=asset_mode,
    )
    if editable is None:
        return m
    fg = folium.FeatureGroup(name="drawn", control=False)
    _Editable(
        editable_features(editable, basemap.overlay_crs),
        color=REGISTRY[kind].color,
        local=_ZH_LOCAL if lang == "zh" else None,
    ).add_to(fg)
    fg.add_to(m)
    _LocalDraw(
        asset_mode=asset_mode,
        feature_group=fg,
        show_geometry_on_click=False,
        draw_options=draw_options(kind),
        edit_options={"poly": {"allowIntersection": False}},
    ).add_to(m)
    return m
