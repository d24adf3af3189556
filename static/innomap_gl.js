/* InnoMap large point layers: GPU drawing with the vendored leaflet.glify (no CDN).
 *
 * A layer above settings.WEBGL_THRESHOLD arrives as a compact payload
 * (render/compact.py): uint32 Web Mercator pairs, one bit per point for the
 * synthetic flag, and a gzip'd property table that is decoded when the page is
 * idle or a point is first clicked or searched. The payload is either in the page
 * (base64: payload.xy/synth/props) or, in the app, two files fetched as binary
 * (payload.src: the pairs then the flag bits; payload.propsSrc: the table). The points are drawn as one WebGL
 * vertex buffer (a subclass of L.glify.Points that fills the buffer straight from
 * the typed array instead of one JavaScript object per point) when a GPU draws
 * WebGL; where WebGL is missing or emulated on the CPU (SwiftShader, llvmpipe), a
 * 2D canvas draws the points in view, one per 2x2 pixel cell, after each move
 * (opts.renderer "webgl"/"canvas" forces one; bench/map_bench.py measures both).
 * Click identify: the nearest
 * point within a few pixels (over every large layer of the map) opens the same
 * record card as the marker layers. Text reaches the DOM only through textContent
 * (InnoMap.recordCard).
 */
(function () {
  "use strict";
  var IM = window.InnoMap;
  if (!IM || IM.glPointLayer) { return; }

  var D2R = Math.PI / 180;

  function b64bytes(s) {
    if (typeof Uint8Array.fromBase64 === "function") { return Uint8Array.fromBase64(s || ""); }
    var bin = atob(s || ""), n = bin.length, out = new Uint8Array(n);
    for (var i = 0; i < n; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }

  /* Web Mercator pixel coordinates at zoom 0 (256 px world), as L.CRS.EPSG3857. */
  function mercY(lat) {
    var s = Math.sin(Math.max(-85.0511287798, Math.min(85.0511287798, lat)) * D2R);
    return (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 256;
  }

  function hexColor(hex) {
    var h = String(hex || "#3388ff").replace("#", "");
    if (h.length === 3) { h = h[0] + h[0] + h[1] + h[1] + h[2] + h[2]; }
    return [parseInt(h.slice(0, 2), 16) / 255, parseInt(h.slice(2, 4), 16) / 255,
      parseInt(h.slice(4, 6), 16) / 255];
  }

  /* Property table (render/compact.py: gzip of header length, JSON header, aligned
   * binary segments) -> Promise of get(i, field). */
  function fetchBytes(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.arrayBuffer();
    });
  }

  /* The bytes of a gzip member (the data files are stored as .gz: see render/webmap.py). */
  function gunzip(gz) {
    if (typeof DecompressionStream !== "function") {
      return Promise.reject(new Error("DecompressionStream unavailable"));
    }
    var stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).arrayBuffer();
  }

  function loadProps(gz) {
    return gunzip(gz).then(function (buf) {
      var size = new DataView(buf).getUint32(0, true), utf8 = new TextDecoder("utf-8");
      var table = JSON.parse(utf8.decode(new Uint8Array(buf, 4, size))), base = 4 + size;
      var cols = {};
      Object.keys(table).forEach(function (f) {
        var c = table[f], u = c.u || null, codes = null;
        if (c.s) { u = utf8.decode(new Uint8Array(buf, base + c.s[0], c.s[1])).split("\u001f"); }
        if (c.b) {
          var T = c.t === "u8" ? Uint8Array : (c.t === "u16" ? Uint16Array : Uint32Array);
          codes = new T(buf, base + c.b[0], c.b[1] / T.BYTES_PER_ELEMENT);
        }
        cols[f] = { u: u, codes: codes };
      });
      return function get(i, f) {
        var c = cols[f], v;
        if (!c) { return null; }
        if (!c.codes) { v = c.u[i]; } else { var k = c.codes[i]; v = k ? c.u[k - 1] : null; }
        return v === undefined || v === "" ? null : v;
      };
    });
  }

  /* Nearest point to zoom-0 pixel (x, y): [index, squared distance] (-1 if none). */
  function nearest(px, py, x, y) {
    var best = -1, bd = Infinity;
    for (var i = 0, n = px.length; i < n; i++) {
      var dx = px[i] - x, dy = py[i] - y, d = dx * dx + dy * dy;
      if (d < bd) { bd = d; best = i; }
    }
    return [best, bd];
  }

  /* Fragment shader: a filled disc with a darker rim, per-point colour and alpha. */
  var DISC = [
    "precision mediump float;",
    "varying vec4 _color;",
    "void main() {",
    "  vec2 m = gl_PointCoord.xy - vec2(0.5);",
    "  float d = dot(m, m);",
    "  if (d > 0.25) { discard; }",
    "  if (_color.a < 0.0) {",  // approximate position: a hollow ring (alpha sent negative)
    "    if (d < 0.09) { discard; }",
    "    gl_FragColor = vec4(_color.rgb * 0.8, -_color.a);",
    "    return;",
    "  }",
    "  gl_FragColor = vec4(_color.rgb * (d > 0.14 ? 0.7 : 1.0), _color.a);",
    "}"
  ].join("\n");

  var GlPoints = null;
  /* leaflet.glify's Points, fed from typed arrays (one Float32Array, 7 floats a point). */
  function glPointsClass() {
    if (GlPoints) { return GlPoints; }
    GlPoints = class extends L.glify.Points {
      resetVertices() {
        var d = this.settings.innomap, n = d.n, c = this.mapCenterPixels;
        if (this.innomapVerts && this.innomapVerts.length === n * 7) { return this; }
        var v = new Float32Array(n * 7), rgb = d.rgb, size = d.size, synth = d.synth,
          approx = d.approx;
        for (var i = 0, o = 0; i < n; i++, o += 7) {
          v[o] = d.px[i] - c.x; v[o + 1] = d.py[i] - c.y;
          v[o + 2] = rgb[0]; v[o + 3] = rgb[1]; v[o + 4] = rgb[2];
          v[o + 5] = (synth && synth[i] ? 0.55 : 0.9) * (approx && approx[i] ? -1 : 1);
          v[o + 6] = approx && approx[i] ? size + 2 : size;
        }
        this.innomapVerts = v;
        return this;
      }
      render() {
        this.resetVertices();
        var gl = this.gl, canvas = this.canvas;
        this.matrix = this.getUniformLocation("matrix");
        var buf = this.getBuffer("vertices");
        this.mapMatrix.setSize(canvas.width, canvas.height);
        gl.viewport(0, 0, canvas.width, canvas.height);
        gl.uniformMatrix4fv(this.matrix, false, this.mapMatrix.array);
        gl.bindBuffer(gl.ARRAY_BUFFER, buf);
        gl.bufferData(gl.ARRAY_BUFFER, this.innomapVerts, gl.STATIC_DRAW);
        this.attachShaderVariables(4);
        this.layer.redraw();
        return this;
      }
      drawOnCanvas(e) {
        if (!this.gl) { return this; }
        var gl = this.gl, canvas = this.canvas, c = this.mapCenterPixels;
        this.mapMatrix.setSize(canvas.width, canvas.height)
          .scaleTo(Math.pow(2, this.map.getZoom()))
          .translateTo(-e.offset.x + c.x, -e.offset.y + c.y);
        gl.clear(gl.COLOR_BUFFER_BIT);
        gl.viewport(0, 0, canvas.width, canvas.height);
        gl.uniformMatrix4fv(this.matrix, false, this.mapMatrix.array);
        gl.drawArrays(gl.POINTS, 0, this.settings.innomap.n);
        if (this.settings.innomapDrawn) { this.settings.innomapDrawn(); }
        return this;
      }
      lookup() { return null; }  // identify is done by InnoMap (all layers at once)
    };
    return GlPoints;
  }

  /* CPU renderer: the points in view are stamped as small discs straight into the
   * pixels of one 2D canvas (one putImageData), redrawn after each move; a point
   * whose centre pixel already holds a centre is skipped (it would add nothing).
   * Used where WebGL is missing or emulated on the CPU. */
  function stampOffsets(size) {
    var r = size / 2, out = { inner: [], rim: [] }, R = Math.ceil(r);
    for (var dy = -R; dy <= R; dy++) {
      for (var dx = -R; dx <= R; dx++) {
        var d2 = dx * dx + dy * dy;
        if (d2 <= (r - 1) * (r - 1)) { out.inner.push([dx, dy]); }
        else if (d2 <= r * r) { out.rim.push([dx, dy]); }
      }
    }
    return out;
  }

  function rgba32(rgb, shade, alpha) {  // ImageData is RGBA bytes: little-endian ABGR word
    var c = rgb.map(function (v) { return Math.round(v * 255 * shade); });
    return ((Math.round(alpha * 255) << 24) | (c[2] << 16) | (c[1] << 8) | c[0]) >>> 0;
  }

  var CanvasPoints = L.Layer.extend({
    initialize: function (d) { this._d = d; },
    onAdd: function (map) {
      this._map = map;
      this._canvas = L.DomUtil.create("canvas", "leaflet-zoom-animated innomap-gl-canvas");
      this._canvas.style.pointerEvents = "none";
      map.getPane("overlayPane").appendChild(this._canvas);
      map.on("moveend resize", this._draw, this);
      map.on("zoomanim", this._animateZoom, this);
      var d = this._d;
      this._stamp = stampOffsets(d.size);
      this._colors = [[rgba32(d.rgb, 1, 0.9), rgba32(d.rgb, 0.6, 0.95)],
        [rgba32(d.rgb, 1, 0.5), rgba32(d.rgb, 0.6, 0.6)]];
      this._draw();
    },
    onRemove: function (map) {
      map.off("moveend resize", this._draw, this);
      map.off("zoomanim", this._animateZoom, this);
      L.DomUtil.remove(this._canvas);
    },
    _animateZoom: function (e) {
      var map = this._map, off = map._latLngToNewLayerPoint(this._tl, e.zoom, e.center);
      L.DomUtil.setTransform(this._canvas, off, map.getZoomScale(e.zoom));
    },
    _draw: function () {
      var map = this._map, d = this._d, size = map.getSize(), cv = this._canvas;
      var W = size.x, H = size.y, tl = map.containerPointToLayerPoint([0, 0]);
      if (cv.width !== W || cv.height !== H) { cv.width = W; cv.height = H; }
      L.DomUtil.setPosition(cv, tl);
      this._tl = map.containerPointToLatLng([0, 0]);
      var ctx = cv.getContext("2d"), img = ctx.createImageData(W, H);
      var pix = new Uint32Array(img.data.buffer), occ = new Uint8Array(W * H);
      var s = Math.pow(2, map.getZoom()), o = map.getPixelOrigin();
      var ox = o.x + tl.x, oy = o.y + tl.y, R = Math.ceil(d.size / 2);
      var px = d.px, py = d.py, synth = d.synth, n = d.n, st = this._stamp, cols = this._colors;
      var approx = d.approx;
      for (var i = 0; i < n; i++) {
        var x = Math.round(px[i] * s - ox), y = Math.round(py[i] * s - oy);
        if (x < -R || y < -R || x >= W + R || y >= H + R) { continue; }
        if (x >= 0 && y >= 0 && x < W && y < H) {
          if (occ[y * W + x]) { continue; }
          occ[y * W + x] = 1;
        }
        var col = cols[synth && synth[i] ? 1 : 0], k, xx, yy, off;
        var hollow = approx && approx[i];  // approximate position: the rim only
        for (k = 0; k < st.rim.length; k++) {
          off = st.rim[k]; xx = x + off[0]; yy = y + off[1];
          if (xx >= 0 && yy >= 0 && xx < W && yy < H) { pix[yy * W + xx] = hollow ? col[0] : col[1]; }
        }
        for (k = 0; k < st.inner.length && !hollow; k++) {
          off = st.inner[k]; xx = x + off[0]; yy = y + off[1];
          if (xx >= 0 && yy >= 0 && xx < W && yy < H) { pix[yy * W + xx] = col[0]; }
        }
      }
      ctx.putImageData(img, 0, 0);
      if (d.drawn) { d.drawn(); }
    }
  });

  /* Is WebGL drawn by a GPU here? (SwiftShader / llvmpipe emulate it on the CPU,
   * ~4 µs a point: the 2D canvas with culling is then much faster.) */
  var gpuAnswer = null;
  function hasGpu() {
    if (gpuAnswer !== null) { return gpuAnswer; }
    gpuAnswer = false;
    try {
      var gl = document.createElement("canvas").getContext("webgl");
      if (gl) {
        var ext = gl.getExtension("WEBGL_debug_renderer_info");
        var name = String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : "");
        gpuAnswer = !/swiftshader|llvmpipe|software|basic render/i.test(name);
        var lose = gl.getExtension("WEBGL_lose_context");
        if (lose) { lose.loseContext(); }
      }
    } catch (e) { gpuAnswer = false; }
    return gpuAnswer;
  }

  /* One click handler per map: the nearest point of every shown large layer wins.
   * "preclick" reaches the map even when a polygon under the point takes the click
   * (a district's popup stops the click); the point's card opens just after it. */
  function setupIdentify(map) {
    if (map.innomapGlLayers) { return; }
    map.innomapGlLayers = [];
    map.on("preclick", function (e) {
      var s = Math.pow(2, map.getZoom()), x = (e.latlng.lng + 180) / 360 * 256,
        y = mercY(e.latlng.lat), best = null, bd = Infinity;
      map.innomapGlLayers.forEach(function (lyr) {
        if (!map.hasLayer(lyr) || !lyr._d) { return; }
        var hit = nearest(lyr._d.px, lyr._d.py, x, y), tol = lyr._d.size + 3;
        var dpx = Math.sqrt(hit[1]) * s;
        if (hit[0] >= 0 && dpx <= tol && dpx < bd) { bd = dpx; best = [lyr, hit[0]]; }
      });
      if (best) { setTimeout(function () { best[0].openRecord(best[1]); }, 0); }
    });
  }

  /* Bits (LSB first) as one byte a point (null when there are none). */
  function unpackBits(bits, n) {
    if (!bits || !bits.length) { return null; }
    var out = new Uint8Array(n);
    for (var j = 0; j < n; j++) { out[j] = (bits[j >> 3] >> (j & 7)) & 1; }
    return out;
  }

  /* Zoom-0 pixels and synthetic (and approximate-position) flags from the uint32 pairs
   * and the flag planes: synth alone, or synth then approx (ceil(n / 8) bytes each). */
  function pointData(raw, bits, n, opts, approxBits) {
    var plane = Math.ceil(n / 8);
    if (!approxBits && bits && bits.length >= 2 * plane) {
      approxBits = bits.subarray(plane, 2 * plane);
      bits = bits.subarray(0, plane);
    }
    var xy = new Uint32Array(raw.buffer, raw.byteOffset, 2 * n);
    var px = new Float64Array(n), py = new Float64Array(n), k = 256 / 4294967296;
    for (var i = 0; i < n; i++) { px[i] = xy[2 * i] * k; py[i] = xy[2 * i + 1] * k; }
    var synth = null;
    if (bits && bits.length) {
      synth = new Uint8Array(n);
      for (var j = 0; j < n; j++) { synth[j] = (bits[j >> 3] >> (j & 7)) & 1; }
    }
    return { n: n, px: px, py: py, rgb: hexColor(opts.color), size: 2 * (opts.radius || 3),
      synth: synth, approx: unpackBits(approxBits, n) };
  }

  var GlPointLayer = L.Layer.extend({
    initialize: function (payload, opts) {
      if (window.performance && performance.mark) { performance.mark("innomap-gl-start"); }
      this._opts = opts;
      this._payload = payload;
      this._props = null;
      this._d = null;
      this.innomapGl = true;
      this.innomapRenderer = null;
      if (!payload.src) {  // in the page: base64
        var raw = b64bytes(payload.xy);
        this._setData(raw, payload.synth ? b64bytes(payload.synth) : null,
          payload.approx ? b64bytes(payload.approx) : null);
      }
    },
    _setData: function (raw, bits, approxBits) {
      // uint32 Web Mercator pairs (fraction of the world * 2^32) -> zoom-0 pixels
      this._d = pointData(raw, bits, raw.length / 8, this._opts, approxBits);
      if (window.performance && performance.mark) { performance.mark("innomap-gl-decoded"); }
    },
    /* Promise of the point data (fetched once when it is a file). */
    data: function () {
      var self = this, p = this._payload;
      if (this._d) { return Promise.resolve(this._d); }
      if (!this._loading) {
        this._loading = fetchBytes(p.src).then(function (buf) {
          return /\.gz$/.test(p.src) ? gunzip(buf) : buf;
        }).then(function (buf) {
          var all = new Uint8Array(buf), n = p.n;
          if (all.length < 8 * n) { throw new Error("short data file"); }
          self._setData(all.subarray(0, 8 * n), all.length > 8 * n ? all.subarray(8 * n) : null);
          return self._d;
        });
      }
      return this._loading;
    },
    onAdd: function (map) {
      this._map = map;
      setupIdentify(map);
      if (map.innomapGlLayers.indexOf(this) < 0) { map.innomapGlLayers.push(this); }
      if (this._d) { this._attach(map); return; }
      var self = this;
      this.data().then(function () {
        if (self._map === map && map.hasLayer(self)) { self._attach(map); }
      }, function (err) {
        self.innomapError = String(err);
        if (window.console) { console.warn("InnoMap: large layer data not loaded", err); }
        // said on the map too: an empty map must not pass for a layer with no records
        var note = document.createElement("div");
        note.className = "innomap-gl-error";
        note.textContent = self._opts.noData || "-";
        note.style.cssText = "position:absolute;z-index:1000;left:50%;top:12px;" +
          "transform:translateX(-50%);background:#fff3cd;border:1px solid #d39e00;" +
          "padding:4px 8px;font:13px sans-serif;max-width:80%;";
        map.getContainer().appendChild(note);
      });
    },
    _attach: function (map) {
      // unpack the property table when the page is idle, so the first click is instant
      var me = this;
      if (!this._props && window.requestIdleCallback) {
        window.requestIdleCallback(function () { me.props(); }, { timeout: 4000 });
      }
      var self = this, drawn = function () { self._drawnAt = performance.now(); self.fire("innomapdrawn"); };
      if (this._r) { this._r.addTo ? this._r.addTo(map) : map.addLayer(this._r); return; }
      var want = this._opts.renderer || "auto";
      if (want !== "canvas" && L.glify && (want === "webgl" || hasGpu())) {
        try {
          var Cls = glPointsClass();
          this._r = new Cls({ map: map, data: [], innomap: this._d, innomapDrawn: drawn,
            latitudeKey: 0, longitudeKey: 1, pane: "overlayPane", className: "innomap-gl-canvas",
            vertexShaderSource: function () { return L.glify.shader.vertex; },
            fragmentShaderSource: function () { return DISC; } });
          this._r.canvas.style.pointerEvents = "none";
          this.innomapRenderer = "webgl";
          return;
        } catch (err) {
          if (this._r && this._r.layer) { map.removeLayer(this._r.layer); }
          this._r = null;
        }
      }
      this._d.drawn = drawn;
      this._r = new CanvasPoints(this._d);
      map.addLayer(this._r);
      this.innomapRenderer = "canvas";
    },
    onRemove: function (map) {
      if (!this._r) { return; }
      if (this.innomapRenderer === "webgl") { map.removeLayer(this._r.layer); this._r.active = false; }
      else { map.removeLayer(this._r); }
      map.closePopup();
    },
    props: function () {
      if (!this._props) {
        var p = this._payload;
        this._props = p.propsSrc ? fetchBytes(p.propsSrc).then(loadProps) : loadProps(b64bytes(p.props));
      }
      return this._props;
    },
    latLng: function (i) {
      var x = this._d.px[i] / 256, y = this._d.py[i] / 256;
      return L.latLng(Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) / D2R, x * 360 - 180);
    },
    openRecord: function (i) {
      var map = this._map, o = this._opts, popup = L.popup({ maxWidth: 360 })
        .setLatLng(this.latLng(i));
      var wait = document.createElement("div");
      wait.className = "innomap-popup";
      wait.textContent = "…";
      popup.setContent(wait).openOn(map);
      this.props().then(function (get) {
        popup.setContent(IM.recordCard(get, i, o.fields, o.labels, o.synthLabel));
      }, function () {
        wait.textContent = o.noProps || "-";
      });
      return popup;
    },
    focusId: function (id) {
      var self = this;
      return this.data().then(function () { return self.props(); }).then(function (get) {
        for (var i = 0; i < self._d.n; i++) {
          if (String(get(i, "id")) === String(id)) {
            self._map.setView(self.latLng(i), Math.max(self._map.getZoom(), 16));
            self.openRecord(i);
            return true;
          }
        }
        return false;
      });
    }
  });

  IM.glPointLayer = function (payload, opts) { return new GlPointLayer(payload, opts); };
  IM.glNearest = nearest;
  var baseFocus = IM.focus;
  IM.focus = function (map, layer, id) {
    if (layer && layer.innomapGl) {
      if (!map.hasLayer(layer)) { map.addLayer(layer); }
      layer.focusId(id);
      return true;
    }
    return baseFocus(map, layer, id);
  };
})();
