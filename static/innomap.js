/* InnoMap client helpers for Leaflet (served locally; no CDN).
 *
 * Every string that comes from data is put into the page with textContent or
 * createTextNode, never innerHTML, so names such as
 * <img src=x onerror=...> show as text. Payloads arrive as JSON produced by
 * ui/safe.py, which escapes <, >, &, quotes, backticks and $ for script context.
 */
(function () {
  "use strict";
  if (window.InnoMap) { return; }

  function decodeColumns(cols) {
    // cols: {field: {u: [uniques], c: [codes]}} -> function(i, field) -> value
    return function (i, field) {
      var col = cols[field];
      if (!col) { return null; }
      var code = col.c[i];
      return code < 0 ? null : col.u[code];
    };
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function recordCard(get, i, fields, labels, synthLabel) {
    var box = el("div", "innomap-popup");
    var title = el("div", "innomap-popup-title", get(i, "name"));
    box.appendChild(title);
    if (get(i, "synthetic") === true) {
      box.appendChild(el("div", "innomap-synthetic", synthLabel));
    }
    var table = el("table", "innomap-popup-table");
    fields.forEach(function (f) {
      if (f === "name" || f === "synthetic") { return; }
      var v = get(i, f);
      if (v === null || v === undefined || v === "") { return; }
      var tr = el("tr");
      tr.appendChild(el("th", null, labels[f] || f));
      tr.appendChild(el("td", null, v));
      table.appendChild(tr);
    });
    box.appendChild(table);
    return box;
  }

  function pointLayer(payload, opts) {
    var get = decodeColumns(payload.columns);
    var n = payload.lat.length;
    var group = opts.cluster
      ? L.markerClusterGroup({ chunkedLoading: true, disableClusteringAtZoom: 17,
          maxClusterRadius: 60, showCoverageOnHover: false,
          iconCreateFunction: function (cluster) {
            var count = cluster.getChildCount();
            var size = count < 100 ? 30 : (count < 1000 ? 38 : 46);
            var div = el("div");
            div.appendChild(el("span", null, count));
            div.style.background = opts.color;
            div.style.opacity = "0.8";
            return L.divIcon({ html: div, className: "marker-cluster innomap-cluster",
              iconSize: L.point(size, size) });
          } })
      : L.featureGroup();
    var markers = new Array(n);
    // points coarser than street level: a hollow ring in the layer's colour
    var approx = new Uint8Array(n);
    (payload.approx || []).forEach(function (j) { approx[j] = 1; });
    for (var i = 0; i < n; i++) {
      var m = approx[i]
        ? L.circleMarker([payload.lat[i], payload.lon[i]], {
          radius: opts.radius + 1, color: opts.color, weight: 2, fill: true,
          fillColor: "#ffffff", fillOpacity: 0.15, className: "innomap-approx",
          dashArray: get(i, "synthetic") === true ? "2,2" : null
        })
        : L.circleMarker([payload.lat[i], payload.lon[i]], {
          radius: opts.radius, color: "#ffffff", weight: 1, fillColor: opts.color,
          fillOpacity: get(i, "synthetic") === true ? 0.55 : 0.9,
          dashArray: get(i, "synthetic") === true ? "2,2" : null
        });
      m.innomapIdx = i;
      m.innomapId = get(i, "id");
      markers[i] = m;
    }
    // Popups and tooltips are bound lazily, on first hover or click, so that
    // 50,000 markers cost no closures up front.
    function bind(mk) {
      if (mk.innomapBound) { return; }
      mk.innomapBound = true;
      var idx = mk.innomapIdx;
      mk.bindPopup(function () {
        return recordCard(get, idx, opts.fields, opts.labels, opts.synthLabel);
      }, { maxWidth: 360 });
      mk.bindTooltip(function () { return el("span", "innomap-tooltip", get(idx, "name")); },
        { sticky: true });
    }
    group.on("mouseover", function (e) { if (!e.layer.innomapBound) { bind(e.layer); e.layer.openTooltip(e.latlng); } });
    group.on("click", function (e) { if (!e.layer.innomapBound) { bind(e.layer); e.layer.openPopup(); } });
    group.innomapBind = bind;
    if (opts.cluster) { group.addLayers(markers); }
    else { markers.forEach(function (mk) { group.addLayer(mk); }); }
    group.innomapMarkers = markers;
    return group;
  }

  function vectorLayer(payload, opts) {
    var get = decodeColumns(payload.columns);
    var interactive = opts.interactive !== false;
    var layer = L.geoJSON(payload.geojson, {
      interactive: interactive,
      style: function (feature) {
        var c = opts.color;
        if (opts.colorField && opts.colorMap) {
          var v = get(feature.properties.__i, opts.colorField);
          if (Object.prototype.hasOwnProperty.call(opts.colorMap, v)) { c = opts.colorMap[v]; }
        }
        return { color: opts.lineColor || c, weight: opts.weight, fillColor: c,
          fillOpacity: opts.fillOpacity, dashArray: opts.dashArray || null };
      },
      onEachFeature: function (feature, lyr) {
        if (!interactive) { return; }
        var idx = feature.properties.__i;
        lyr.bindPopup(function () {
          return recordCard(get, idx, opts.fields, opts.labels, opts.synthLabel);
        }, { maxWidth: 380 });
        lyr.bindTooltip(function () { return el("span", null, get(idx, "name")); },
          { sticky: true });
      }
    });
    return layer;
  }

  function legend(map, spec) {
    var ctl = L.control({ position: "bottomright" });
    ctl.onAdd = function () {
      var box = el("div", "innomap-legend leaflet-control");
      box.appendChild(el("div", "innomap-legend-title", spec.title));
      spec.items.forEach(function (it) {
        var row = el("div", "innomap-legend-row");
        var sw = el("span", "innomap-swatch innomap-swatch-" + it.shape);
        sw.style.background = it.shape === "line" || it.shape === "approx" ? "transparent" : it.color;
        sw.style.borderColor = it.color;
        row.appendChild(sw);
        row.appendChild(el("span", null, it.label));
        if (it.count !== null && it.count !== undefined) {
          row.appendChild(el("span", "innomap-legend-count", "(" + it.count + ")"));
        }
        box.appendChild(row);
      });
      spec.notes.forEach(function (t) { box.appendChild(el("div", "innomap-legend-note", t)); });
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    ctl.addTo(map);
    return ctl;
  }

  function focus(map, layer, id) {
    if (!layer || !layer.innomapMarkers) { return false; }
    for (var i = 0; i < layer.innomapMarkers.length; i++) {
      var m = layer.innomapMarkers[i];
      if (m.innomapId === id) {
        layer.innomapBind(m);
        if (layer.zoomToShowLayer) {
          layer.zoomToShowLayer(m, function () { m.openPopup(); });
        } else { m.openPopup(); }
        return true;
      }
    }
    return false;
  }

  function ready(map, counts) {
    var c = map.getContainer();
    c.setAttribute("data-innomap-counts", JSON.stringify(counts));
    c.setAttribute("data-innomap-ready", "1");
    if (window.performance && performance.mark) { performance.mark("innomap-ready"); }
  }

  window.InnoMap = { pointLayer: pointLayer, vectorLayer: vectorLayer, legend: legend,
    focus: focus, ready: ready, recordCard: recordCard };
})();
