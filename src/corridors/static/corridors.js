/* corridors.js: draws a corridors map spec (JSON) with Leaflet. Inlined into every map; no network.
 * Every text of the spec reaches the page through textContent / createTextNode, never as markup;
 * links only for http(s) URLs. Geometry arrives quantised and delta-encoded (see maps.encode). */
(function () {
  "use strict";

  var PANES = {"cr-base": 150, "cr-choro": 360, "cr-places": 370, "cr-casing": 390, "cr-nodes": 450,
               "cr-labels": 460, "cr-measure": 470};
  var SCALE = 10000;  // = corridors.maps.LINE_SCALE (a test checks they agree)

  /* [value, count, value, count ...] -> the values, each repeated count times (maps.py _runs). */
  function unruns(a) {
    var out = [];
    for (var i = 0; i < a.length; i += 2) for (var k = 0; k < a[i + 1]; k++) out.push(a[i]);
    return out;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function color(c, fallback) { return typeof c === "string" && /^#[0-9a-fA-F]{3,8}$/.test(c) ? c : fallback; }
  function href(u) { return typeof u === "string" && /^https?:\/\//i.test(u) ? u : null; }
  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function km(v) {
    v = num(v);
    if (v === null) return "?";
    return (Math.abs(v) < 10 ? v.toFixed(1) : Math.round(v).toLocaleString("en-US")) + " km";
  }

  /* structured text -> DOM: strings, arrays, {b|i|small|p|h5|div|span: x, cls}, {a: x, href}, {ul: [..]},
     {table: [[..]], head: true}, {br: 1} */
  function rich(n) {
    if (n === null || n === undefined) return document.createTextNode("");
    if (typeof n === "string" || typeof n === "number") return document.createTextNode(String(n));
    if (Array.isArray(n)) {
      var frag = document.createDocumentFragment();
      n.forEach(function (c) { frag.appendChild(rich(c)); });
      return frag;
    }
    if (typeof n !== "object") return document.createTextNode("");
    if (n.a !== undefined) {
      var h = href(n.href), a = el(h ? "a" : "span");
      a.appendChild(rich(n.a));
      if (h) { a.href = h; a.target = "_blank"; a.rel = "noopener noreferrer"; }
      return a;
    }
    if (Array.isArray(n.table)) {
      var t = el("table");
      n.table.forEach(function (row, i) {
        var tr = el("tr");
        (Array.isArray(row) ? row : [row]).forEach(function (c) {
          var td = el(i === 0 && n.head ? "th" : "td");
          td.appendChild(rich(c));
          tr.appendChild(td);
        });
        t.appendChild(tr);
      });
      return t;
    }
    if (Array.isArray(n.ul)) {
      var ul = el("ul");
      n.ul.forEach(function (c) { var li = el("li"); li.appendChild(rich(c)); ul.appendChild(li); });
      return ul;
    }
    if (n.br) return el("br");
    var tags = ["b", "i", "small", "p", "h5", "div", "span"];
    for (var k = 0; k < tags.length; k++) {
      if (n[tags[k]] !== undefined) {
        var e = el(tags[k], typeof n.cls === "string" ? n.cls : "");
        e.appendChild(rich(n[tags[k]]));
        return e;
      }
    }
    return document.createTextNode("");
  }

  /* an encoded-polyline string of delta-encoded lon, lat integers (maps.encode) -> [[lat, lng], ...] */
  function decode(str, q) {
    var out = [], x = 0, y = 0, i = 0, n = str.length;
    function next() {
      var r = 0, shift = 0, b;
      do { b = str.charCodeAt(i++) - 63; r |= (b & 31) << shift; shift += 5; } while (b >= 32 && i < n);
      return (r & 1) ? ~(r >>> 1) : (r >>> 1);
    }
    while (i < n) { x += next(); y += next(); out.push([y / q, x / q]); }
    return out;
  }

  /* Geodesic distance on WGS84 (Vincenty's inverse formula; metres). */
  function geodesic(lat1, lon1, lat2, lon2) {
    var a = 6378137, f = 1 / 298.257223563, b = a * (1 - f), rad = Math.PI / 180;
    var L0 = (lon2 - lon1) * rad, U1 = Math.atan((1 - f) * Math.tan(lat1 * rad)),
        U2 = Math.atan((1 - f) * Math.tan(lat2 * rad));
    var sU1 = Math.sin(U1), cU1 = Math.cos(U1), sU2 = Math.sin(U2), cU2 = Math.cos(U2);
    var lam = L0, prev, sS, cS, sig, sA, c2A, c2Sm, i = 0;
    do {
      var sl = Math.sin(lam), cl = Math.cos(lam);
      sS = Math.sqrt((cU2 * sl) * (cU2 * sl) + (cU1 * sU2 - sU1 * cU2 * cl) * (cU1 * sU2 - sU1 * cU2 * cl));
      if (sS === 0) return 0;
      cS = sU1 * sU2 + cU1 * cU2 * cl;
      sig = Math.atan2(sS, cS);
      sA = cU1 * cU2 * sl / sS;
      c2A = 1 - sA * sA;
      c2Sm = c2A ? cS - 2 * sU1 * sU2 / c2A : 0;
      var C = f / 16 * c2A * (4 + f * (4 - 3 * c2A));
      prev = lam;
      lam = L0 + (1 - C) * f * sA * (sig + C * sS * (c2Sm + C * cS * (-1 + 2 * c2Sm * c2Sm)));
    } while (Math.abs(lam - prev) > 1e-12 && ++i < 200);
    var u2 = c2A * (a * a - b * b) / (b * b);
    var A = 1 + u2 / 16384 * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)));
    var B = u2 / 1024 * (256 + u2 * (-128 + u2 * (74 - 47 * u2)));
    var dS = B * sS * (c2Sm + B / 4 * (cS * (-1 + 2 * c2Sm * c2Sm) - B / 6 * c2Sm * (-3 + 4 * sS * sS) *
             (-3 + 4 * c2Sm * c2Sm)));
    return b * A * (sig - dS);
  }

  /* A polyline drawn shifted sideways by offsets[i] * slot / 2 pixels at vertex i (shared stretches). */
  var OffsetLine = L.Polyline.extend({
    _project: function () {
      L.Polyline.prototype._project.call(this);
      var off = this.options.offsets, w = this.options.slot || 4;
      if (!off || !this._rings.length || this._rings[0].length !== off.length) return;
      var r = this._rings[0], n = r.length, res = [];
      for (var i = 0; i < n; i++) {
        var o = off[i] * w / 2;
        if (!o) { res.push(r[i]); continue; }
        var p = r[Math.max(0, i - 1)], q = r[Math.min(n - 1, i + 1)];
        var dx = q.x - p.x, dy = q.y - p.y, len = Math.sqrt(dx * dx + dy * dy) || 1;
        res.push(L.point(r[i].x - dy / len * o, r[i].y + dx / len * o));
      }
      this._rings[0] = res;
    }
  });

  function row(table, label, content) {
    if (content === null || content === undefined || content === "") return;
    var tr = el("tr"), td = el("td");
    tr.appendChild(el("th", "", label));
    td.appendChild(typeof content === "string" ? document.createTextNode(content) : content);
    tr.appendChild(td);
    table.appendChild(tr);
  }

  function sourcesNode(src) {
    if (!Array.isArray(src) || !src.length) return null;
    var span = el("span");
    src.forEach(function (s, i) {
      if (i) span.appendChild(document.createTextNode(", "));
      span.appendChild(rich({a: String(s[0]), href: s[1]}));
    });
    return span;
  }

  function routePopup(p, draw) {
    var d = el("div", "cr-pop");
    d.appendChild(el("b", "cr-pop-title", p.name));
    var sub = [];
    if (p.corridor) sub.push("Corridor " + p.corridor);
    if (p.key) sub.push("key route");
    if (p.id) sub.push("id " + p.id);
    if (sub.length) d.appendChild(el("small", "cr-pop-sub", sub.join(" · ")));
    if (p.note) { var story = el("div", "cr-story"); story.appendChild(rich(p.note)); d.appendChild(story); }
    var t = el("table");
    row(t, "Length", km(p.km) + " (geodesic)");
    row(t, "By country", (p.by_country || []).map(function (c) { return c[0] + " " + km(c[1]); }).join(" · "));
    var cr = p.crossings || [];
    if (cr.length) {
      var ul = el("ul");
      cr.forEach(function (c) {
        var at = num(c[2]) === null ? "" : " at km " + Math.round(c[2]).toLocaleString("en-US");
        ul.appendChild(el("li", "", c[0] + " → " + c[1] + at + ": " +
          (c[3] ? c[3] : c[4] === "sea" ? "by sea" : "no BCP in the data nearby")));
      });
      row(t, "Crossings", ul);
    } else row(t, "Crossings", "none");
    var mode = p.mode || "unspecified";
    if (p.by_mode) mode += " (" + p.by_mode.map(function (m) { return m[0] + " " + km(m[1]); }).join(", ") + ")";
    row(t, "Mode", mode);
    var q = [];
    if (p.basis) q.push(p.basis + (p.schematic ? " (drawn thin and pale)" : ""));
    if (p.confidence) q.push("confidence " + p.confidence);
    row(t, "Basis", q.join(" · "));
    if (p.grade) row(t, "Definition", "grade " + p.grade + " (A: letter stated officially, B: corridor number " +
                     "stated officially, C: secondary source, D: inference)");
    row(t, "Sources", sourcesNode(p.sources));
    d.appendChild(t);
    return d;
  }

  function nodePopup(p) {
    var d = el("div", "cr-pop");
    d.appendChild(el("b", "cr-pop-title", p.name));
    var t = el("table");
    row(t, "Kind", p.kind_label);
    row(t, "Border", p.joins);
    row(t, "Country", p.country);
    row(t, "Also", p.alt);
    row(t, "Position", p.where);
    row(t, "Used by", p.used_by);
    if (p.coord_confidence) row(t, "Coordinates", "confidence " + p.coord_confidence);
    row(t, "Note", p.note);
    if (p.cpmm && p.cpmm.rows.length) {  /* time and cost to clear it, from CAREC's CPMM (text only) */
      var ul = el("ul"), est = false;
      var fig = function (v, dollars, year) {
        if (v === null || v === undefined) return "unknown";
        return (dollars ? "$" + Math.round(v).toLocaleString("en-US") : v + " h") + " (" + year + ")";
      };
      p.cpmm.rows.forEach(function (c) {  /* from, to, mode, hours, year, USD, year, fallback used */
        est = est || c[7];
        ul.appendChild(el("li", "", (c[0] || "sea") + " \u2192 " + (c[1] || "sea") + ", " + c[2] + ": " +
          fig(c[3], false, c[4]) + ", " + fig(c[5], true, c[6]) + (c[7] ? " *" : "")));
      });
      if (est) ul.appendChild(el("li", "", "* CPMM has no figure for this BCP and direction: the other " +
                                           "direction's or an average (see corridors.timecost)"));
      var li = el("li", "", "Source: ");
      li.appendChild(sourcesNode(p.cpmm.src.map(function (u) {
        return ["CPMM", u.indexOf("://") > 0 ? u : "https://cpmm.carecprogram.org/" + u];
      })));
      ul.appendChild(li);
      row(t, "To clear it", ul);
    }
    row(t, "Sources", sourcesNode(p.sources));
    d.appendChild(t);
    return d;
  }

  function hatch(fallback) {
    var c = document.createElement("canvas"), x = c.getContext("2d");
    if (!x) return fallback;
    c.width = c.height = 8; x.fillStyle = "#e4e4e4"; x.fillRect(0, 0, 8, 8);
    x.strokeStyle = "#9a9a9a"; x.lineWidth = 1.5; x.beginPath();
    x.moveTo(0, 8); x.lineTo(8, 0); x.moveTo(-2, 2); x.lineTo(2, -2); x.moveTo(6, 10); x.lineTo(10, 6); x.stroke();
    return x.createPattern(c, "repeat");
  }

  function swatch(e) {
    var ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", "34"); svg.setAttribute("height", "16"); svg.setAttribute("class", "cr-swatch");
    var s;
    if (e.kind === "line") {
      if (e.casing) {
        s = document.createElementNS(ns, "line");
        s.setAttribute("x1", "2"); s.setAttribute("y1", "8"); s.setAttribute("x2", "32"); s.setAttribute("y2", "8");
        s.setAttribute("stroke", color(e.color, "#111")); s.setAttribute("stroke-width", String(Math.min(e.weight, 14)));
        s.setAttribute("stroke-opacity", String(e.opacity));
        svg.appendChild(s);
        s = document.createElementNS(ns, "line");
        s.setAttribute("x1", "2"); s.setAttribute("y1", "8"); s.setAttribute("x2", "32"); s.setAttribute("y2", "8");
        s.setAttribute("stroke", color(e.coreColor, "#222")); s.setAttribute("stroke-width", String(e.coreWeight || 2));
        s.setAttribute("stroke-opacity", String(e.coreOpacity || 0.9));
      } else {
        s = document.createElementNS(ns, "line");
        s.setAttribute("x1", "2"); s.setAttribute("y1", "8"); s.setAttribute("x2", "32"); s.setAttribute("y2", "8");
        s.setAttribute("stroke", color(e.color, "#555")); s.setAttribute("stroke-width", String(e.weight || 4));
        s.setAttribute("stroke-opacity", String(e.opacity === undefined ? 1 : e.opacity));
        if (e.dashArray) s.setAttribute("stroke-dasharray", String(e.dashArray));
        if (e.lineCap) s.setAttribute("stroke-linecap", String(e.lineCap));
      }
    } else if (e.kind === "node") {
      s = document.createElementNS(ns, "circle");
      s.setAttribute("cx", "17"); s.setAttribute("cy", "8"); s.setAttribute("r", String(e.radius));
      s.setAttribute("fill", color(e.fillColor, "#fff")); s.setAttribute("stroke", color(e.color, "#222"));
      s.setAttribute("stroke-width", String(e.weight));
    } else if (e.kind === "hatch") {
      var span = el("span", "cr-hatch");
      return span;
    } else {
      if (e.under) {  // the colour the fill is drawn over, so a translucent swatch looks as on the map
        var u = document.createElementNS(ns, "rect");
        u.setAttribute("x", "5"); u.setAttribute("y", "2"); u.setAttribute("width", "24"); u.setAttribute("height", "12");
        u.setAttribute("fill", color(e.under, "#fff"));
        svg.appendChild(u);
      }
      s = document.createElementNS(ns, "rect");
      s.setAttribute("x", "5"); s.setAttribute("y", "2"); s.setAttribute("width", "24"); s.setAttribute("height", "12");
      s.setAttribute("fill", color(e.fillColor, "#ccc"));
      s.setAttribute("fill-opacity", String(e.fillOpacity === undefined ? 1 : e.fillOpacity));
      s.setAttribute("stroke", color(e.color, "#888"));
    }
    svg.appendChild(s);
    return svg;
  }

  function details(title, open, cls) {
    var d = el("details", "cr-sec " + (cls || ""));
    if (open) d.open = true;
    d.appendChild(el("summary", "", title));
    return d;
  }

  function csvCell(v) {
    var s = v === null || v === undefined ? "" : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;  // never a spreadsheet formula
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function save(name, type, text) {
    var url = URL.createObjectURL(new Blob([text], {type: type}));
    var a = el("a");
    a.href = url; a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  window.corridorsMap = function (target, specId) {
    var spec = JSON.parse(document.getElementById(specId).textContent);
    var map = typeof target === "string" ? L.map(target, {zoomSnap: 0.25, zoomControl: false,
      attributionControl: false}) : target;
    if (map.attributionControl) map.removeControl(map.attributionControl);
    if (map.zoomControl) map.removeControl(map.zoomControl);
    Object.keys(PANES).forEach(function (n) {
      var p = map.createPane(n);
      p.style.zIndex = PANES[n];
      if (n === "cr-labels" || n === "cr-places" || n === "cr-base") p.style.pointerEvents = "none";
    });
    var small = window.innerWidth < 700;
    var container = map.getContainer();
    container.classList.add("cr-map");
    var canvas = {};
    function renderer(pane) { return canvas[pane] || (canvas[pane] = L.canvas({pane: pane, padding: 0.3})); }
    var labels = [];  // [marker, priority] of every text label, culled when they collide
    var searchIndex = [];
    var entries = [];  // [name, leaflet layer, spec layer]
    var top = el("div", "cr-box cr-title"), dock = el("div", "cr-box cr-dock" + (small ? " cr-small" : ""));
    function popupOpts() {
      return {maxWidth: Math.min(380, window.innerWidth - 60), maxHeight: Math.max(160, window.innerHeight - 220),
              autoPanPaddingTopLeft: L.point(12, topReserve() + 12),
              autoPanPaddingBottomRight: L.point(small ? 12 : sideReserve() + 12, 40)};
    }
    /* one tooltip and one popup per layer group (not per feature), options refreshed at each click */
    function interactive(g, tip, pop) {
      g.on("click", function () { var p = g.getPopup(); if (p) L.setOptions(p, popupOpts()); });
      g.bindTooltip(function (layer) { return el("span", "", tip(layer)); }, {sticky: true});
      g.bindPopup(function (layer) { return pop(layer); }, {maxWidth: 380});
      g.crPopup = function (layer, ll) { L.popup(popupOpts()).setLatLng(ll).setContent(pop(layer)).openOn(map); };
    }

    if (spec.tiles && href(spec.tiles.url)) {
      var tl = L.tileLayer(spec.tiles.url, {opacity: spec.tiles.opacity || 1, maxZoom: spec.tiles.maxZoom || 18,
                                            crossOrigin: true});
      tl.addTo(map);
      entries.push(["Basemap (online)", tl, {}]);
    }

    function drawBase(layer) {
      var g = L.layerGroup(), q = layer.q || 100;
      (layer.shapes || []).forEach(function (s) {
        var rings = s.g.map(function (r) { return decode(r, q); });
        var st = L.extend({}, s.st, {pane: layer.pane || "cr-base", renderer: renderer(layer.pane || "cr-base"),
                                     interactive: false});
        g.addLayer(s.poly ? L.polygon(rings, st) : L.polyline(rings, st));
      });
      (layer.places || []).forEach(function (a) {  // [lat, lon, text, rank, min zoom, class]
        var lb = {ll: [a[0], a[1]], text: a[2], rank: a[3], minzoom: a[4], cls: a[5]};
        var m = L.marker(lb.ll, {pane: "cr-places", interactive: false, keyboard: false,
          icon: L.divIcon({className: "cr-place " + (lb.cls || ""), html: el("span", "", lb.text), iconSize: null})});
        g.addLayer(m);
        labels.push([m, 100 + (lb.rank || 50), lb.minzoom || 0]);
        searchIndex.push({name: lb.text, ll: lb.ll, kind: "place"});
      });
      return g;
    }

    function drawRoutes(layer) {
      var st = layer.style || {}, g = L.featureGroup(), draw = spec.draw || {};
      var many = (layer.features || []).length > 400;
      (layer.features || []).forEach(function (f) {
        var p = f.p || {};
        var c = color(p.color, color(st.color, "#e6007e"));
        nfeat += 1;
        f.g.forEach(function (part, j) {
          var ferry = f.f && f.f[j];
          var opts = {color: c, weight: st.weight || 4, opacity: st.opacity || 1, lineJoin: "round",
                      lineCap: st.lineCap || "round", dashArray: p.dash || st.dashArray || null,
                      className: "cr-route cr-c" + String(p.group).replace(/[^a-z0-9]/gi, "") + " cr-f" + nfeat,
                      offsets: f.o && f.o[j] && f.o[j].length ? unruns(f.o[j]) : null, slot: draw.slot || 4,
                      pane: st.casing ? "cr-casing" : "overlayPane", bubblingMouseEvents: false};
          if (p.schematic || (f.s && f.s[j])) L.extend(opts, draw.schematic || {});
          if (ferry) L.extend(opts, draw.ferry || {});
          if (many) opts.renderer = renderer("overlayPane");
          var line = new OffsetLine(decode(part, SCALE), opts);
          line.cr = p;
          g.addLayer(line);
          if (p.unconfirmed && !ferry && !(f.s && f.s[j]) && draw.unconfirmed) {  // a white core: unconfirmed
            var hollow = new OffsetLine(decode(part, SCALE), L.extend({}, opts, draw.unconfirmed, {
              color: color(draw.unconfirmed.color, "#fff"), className: "cr-unconfirmed cr-f" + nfeat}));
            hollow.cr = p;
            g.addLayer(hollow);
          }
          if (st.casing && draw.keyLine) {  // a thin core in the casing's pane: corridors draw over it
            var core = new OffsetLine(decode(part, SCALE), L.extend({}, opts, draw.keyLine, {
              color: color(draw.keyLine.color, "#222"), className: opts.className + " cr-core"}));
            if (ferry) L.extend(core.options, draw.ferry || {});
            core.cr = p;
            g.addLayer(core);
          }
        });
        searchIndex.push({name: p.name, alt: p.id, layer: g, feature: f, kind: "route"});
      });
      g.crFeatures = layer.features || [];
      interactive(g, function (l) { return (l.cr.name || l.cr.id || "route") + " · " + km(l.cr.km); },
                  function (l) { return routePopup(l.cr, draw); });
      return g;
    }

    function drawNodes(layer) {
      var g = L.featureGroup();
      (layer.features || []).forEach(function (f) {
        var p = f.p || {}, st = layer.style || {};
        var m = L.circleMarker(f.ll, {radius: st.radius, color: color(st.color, "#222"), weight: st.weight,
          fillColor: color(st.fillColor, "#fff"), fillOpacity: st.fillOpacity, pane: "cr-nodes",
          className: "cr-node cr-" + String(p.kind).replace(/[^a-z]/g, ""), bubblingMouseEvents: false});
        m.cr = p;
        g.addLayer(m);
        searchIndex.push({name: p.name, alt: p.alt, ll: f.ll, marker: m, kind: p.kind_label});
      });
      interactive(g, function (l) { return l.cr.name + (l.cr.where ? " · " + l.cr.where : ""); },
                  function (l) { return nodePopup(l.cr); });
      return g;
    }

    function drawLabels(layer) {
      var g = L.layerGroup();
      (layer.labels || []).forEach(function (lb, i) {
        var span = el("span");
        span.appendChild(el("b", "", lb.text));
        if (lb.sub) span.appendChild(el("small", "", " " + lb.sub));
        var m = L.marker(lb.ll, {pane: "cr-labels", interactive: false, keyboard: false,
          icon: L.divIcon({className: "cr-label " + (lb.cls === "above" ? "cr-above" : ""), html: span, iconSize: null})});
        g.addLayer(m);
        labels.push([m, i, 0]);
      });
      return g;
    }

    function drawAreas(layer) {
      var g = L.featureGroup(), q = layer.q || 100, pane = "cr-choro";
      (layer.features || []).forEach(function (f) {
        var st = L.extend({}, f.p.st, {pane: pane, renderer: renderer(pane)});
        if (st.fillColor === "hatch") st.fillColor = hatch("#dddddd");
        else st.fillColor = color(st.fillColor, "#ccc");
        st.color = color(st.color, "#999");
        var poly = L.polygon(f.g.map(function (r) { return decode(r, q); }), st);
        poly.cr = f.p;
        g.addLayer(poly);
      });
      interactive(g, function (l) { return l.cr.tip; },
                  function (l) { var d = el("div", "cr-pop"); d.appendChild(rich(l.cr.popup)); return d; });
      return g;
    }

    var routeBounds = L.latLngBounds([]), nfeat = 0;
    (spec.layers || []).forEach(function (layer) {
      var g = layer.type === "base" ? drawBase(layer) : layer.type === "routes" ? drawRoutes(layer) :
        layer.type === "nodes" ? drawNodes(layer) : layer.type === "labels" ? drawLabels(layer) :
        layer.type === "areas" ? drawAreas(layer) : null;
      if (!g) return;
      if (layer.show !== false) g.addTo(map);
      if (layer.type === "routes") routeBounds.extend(g.getBounds());
      entries.push([layer.name, g, layer]);
    });

    /* ---------------- furniture: title, dock (legend, layers, panels, tools), credits */
    top.appendChild(el("b", "", spec.title));
    if (spec.subtitle) top.appendChild(el("div", "", spec.subtitle));
    container.appendChild(top);
    container.appendChild(dock);
    L.DomEvent.disableClickPropagation(dock); L.DomEvent.disableScrollPropagation(dock);
    L.DomEvent.disableClickPropagation(top);
    if (small) dock.style.top = (top.offsetTop + top.offsetHeight + 6) + "px";

    var legend = details("Legend", !small, "cr-legend");
    (spec.legend || []).forEach(function (e) {
      var d = el("div", "cr-entry");
      d.appendChild(swatch(e));
      d.appendChild(document.createTextNode(e.label));
      legend.appendChild(d);
    });
    if (spec.note) legend.appendChild(el("p", "cr-note", spec.note));
    dock.appendChild(legend);

    var lay = details("Layers", false, "cr-layers");
    entries.forEach(function (e) {
      var lab = el("label"), box = el("input");
      box.type = "checkbox"; box.checked = map.hasLayer(e[1]);
      box.addEventListener("change", function () {
        if (box.checked) map.addLayer(e[1]); else map.removeLayer(e[1]);
        cull();
      });
      lab.appendChild(box);
      if (e[2].type === "routes") {
        var sw = el("span", "cr-sw"); sw.style.background = color(e[2].style.color, "#999");
        if (e[2].style.casing) sw.style.opacity = String(e[2].style.opacity);
        lab.appendChild(sw);
      }
      lab.appendChild(document.createTextNode(e[0]));
      lay.appendChild(lab);
    });
    dock.appendChild(lay);

    (spec.panels || []).forEach(function (p) {
      var d = details(p.title, !small && p.open !== false, "cr-panel");
      var body = el("div", "cr-panel-body");
      body.appendChild(rich(p.body));
      d.appendChild(body);
      dock.appendChild(d);
    });

    /* tools: search, measure, download */
    var tools = details("Search · measure · download", false, "cr-tools");
    var search = el("input", "cr-search");
    search.type = "search"; search.placeholder = "Find a place, BCP or route"; search.setAttribute("aria-label", "Search");
    var hits = el("ul", "cr-hits");
    tools.appendChild(search); tools.appendChild(hits);
    function go(h) {
      hits.textContent = "";
      if (h.marker) {
        map.setView(h.ll, Math.max(map.getZoom(), 8));
        var grp = entries.filter(function (e) { return e[1].hasLayer && e[1].hasLayer(h.marker); })[0];
        if (grp && map.hasLayer(grp[1])) grp[1].crPopup(h.marker, h.marker.getLatLng());
      }
      else if (h.ll) { map.setView(h.ll, Math.max(map.getZoom(), 8)); }
      else if (h.layer) {
        var ls = h.layer.getLayers().filter(function (l) { return l.cr === h.feature.p; });
        if (ls.length) {  /* a route drawn in pieces (ferry, schematic, shared stretches): fit all of them */
          var bb = L.latLngBounds(ls[0].getBounds());
          ls.forEach(function (l) { bb.extend(l.getBounds()); });
          map.fitBounds(bb, fitPadding());
          h.layer.crPopup(ls[0], bb.getCenter());
        }
      }
      search.dataset.found = h.name;
    }
    function find(text) {
      var t = text.trim().toLowerCase();
      if (!t) return [];
      var starts = [], inside = [];
      searchIndex.forEach(function (h) {
        var names = [h.name].concat(h.alt ? String(h.alt).split(", ") : []);
        for (var i = 0; i < names.length; i++) {
          var n = String(names[i] || "").toLowerCase();
          if (n.indexOf(t) === 0) { starts.push(h); return; }
          if (n.indexOf(t) > 0) { inside.push(h); return; }
        }
      });
      return starts.concat(inside).slice(0, 8);
    }
    search.addEventListener("input", function () {
      hits.textContent = "";
      find(search.value).forEach(function (h) {
        var li = el("li");
        var b = el("button", "", h.name + (h.kind ? " (" + h.kind + ")" : ""));
        b.type = "button";
        b.addEventListener("click", function () { go(h); });
        li.appendChild(b); hits.appendChild(li);
      });
    });
    search.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { var r = find(search.value); if (r.length) go(r[0]); }
    });

    var measuring = false, pts = [], mline = null, mout = el("div", "cr-measure-out");
    var mbtn = el("button", "cr-measure", "Measure (geodesic)");
    mbtn.type = "button";
    function measureText() {
      var m = 0;
      for (var i = 1; i < pts.length; i++) m += geodesic(pts[i - 1].lat, pts[i - 1].lng, pts[i].lat, pts[i].lng);
      mout.dataset.km = String(m / 1000);
      mout.dataset.points = JSON.stringify(pts.map(function (p) { return [p.lng, p.lat]; }));
      mout.textContent = pts.length < 2 ? (measuring ? "Click points on the map" : "") :
        (m / 1000).toFixed(m < 10000 ? 2 : 1) + " km (WGS84 ellipsoid), " + pts.length + " points";
    }
    mbtn.addEventListener("click", function () {
      measuring = !measuring;
      mbtn.classList.toggle("cr-on", measuring);
      container.classList.toggle("cr-measuring", measuring);
      pts = [];
      if (mline) { map.removeLayer(mline); mline = null; }
      measureText();
    });
    map.on("click", function (ev) {
      if (!measuring) return;
      pts.push(ev.latlng);
      if (!mline) mline = L.polyline([], {pane: "cr-measure", color: "#000", weight: 2, dashArray: "4 4",
                                          interactive: false}).addTo(map);
      mline.setLatLngs(pts);
      measureText();
    });
    tools.appendChild(mbtn); tools.appendChild(mout);

    function visibleRoutes() {
      var out = [];
      entries.forEach(function (e) {
        if (e[2].type === "routes" && map.hasLayer(e[1])) out = out.concat(e[1].crFeatures);
      });
      return out;
    }
    function geojson() {
      return {type: "FeatureCollection", features: visibleRoutes().map(function (f) {
        var p = f.p, props = {id: p.id, name: p.name, corridor: p.corridor || null, mode: p.mode || null,
          length_km: p.km, length_by_country_km: {}, crossings: (p.crossings || []).map(function (c) {
            return {from: c[0], to: c[1], km: c[2], bcp: c[3] || null, via: c[4]};
          }), basis: p.basis || null, confidence: p.confidence || null, units: "km"};
        (p.by_country || []).forEach(function (c) { props.length_by_country_km[c[0]] = c[1]; });
        var lines = f.g.map(function (part) { return decode(part, SCALE).map(function (ll) { return [ll[1], ll[0]]; }); });
        return {type: "Feature", properties: props,
                geometry: lines.length === 1 ? {type: "LineString", coordinates: lines[0]} :
                  {type: "MultiLineString", coordinates: lines}};
      })};
    }
    function csv() {
      var fs = visibleRoutes(), isos = {};
      fs.forEach(function (f) { (f.p.by_country || []).forEach(function (c) { isos[c[0]] = 1; }); });
      isos = Object.keys(isos).sort();
      var head = ["id", "name", "corridor", "mode", "length_km"].concat(isos.map(function (i) { return "km_" + i; }))
        .concat(["crossings", "basis", "confidence"]);
      var lines = [head.join(",")];
      fs.forEach(function (f) {
        var p = f.p, by = {};
        (p.by_country || []).forEach(function (c) { by[c[0]] = c[1]; });
        lines.push([p.id, p.name, p.corridor || "", p.mode || "", p.km].concat(isos.map(function (i) {
          return by[i] === undefined ? 0 : by[i]; })).concat([(p.crossings || []).map(function (c) {
          return c[0] + ">" + c[1] + (num(c[2]) === null ? "" : "@" + Math.round(c[2])) + (c[3] ? " (" + c[3] + ")" : "");
        }).join("; "), p.basis || "", p.confidence || ""]).map(csvCell).join(","));
      });
      return lines.join("\r\n") + "\r\n";
    }
    var dl = el("div", "cr-download");
    dl.appendChild(document.createTextNode("Download the routes on the map: "));
    [["GeoJSON", function () { save("routes.geojson", "application/geo+json", JSON.stringify(geojson())); }],
     ["CSV", function () { save("routes.csv", "text/csv", csv()); }]].forEach(function (b) {
      var btn = el("button", "cr-dl-" + b[0].toLowerCase(), b[0]);
      btn.type = "button"; btn.addEventListener("click", b[1]);
      dl.appendChild(btn);
    });
    tools.appendChild(dl);
    dock.appendChild(tools);

    var credits = el("div", "cr-credits");
    var cr = ["Leaflet"].concat(spec.credits || []);
    if (spec.tiles && spec.tiles.attribution) cr.push(spec.tiles.attribution);
    credits.textContent = cr.join(" · ");
    container.appendChild(credits);
    L.control.zoom({position: "bottomleft"}).addTo(map);
    L.control.scale({position: "bottomleft", imperial: false}).addTo(map);

    /* ---------------- the initial view keeps the routes clear of every box */
    function boxes() {
      return Array.prototype.slice.call(container.querySelectorAll(".cr-box, .cr-credits, .leaflet-control"))
        .map(function (b) { return b.getBoundingClientRect(); })
        .filter(function (r) { return r.width > 0 && r.height > 0; });
    }
    function topReserve() { return top.getBoundingClientRect().bottom + (small ? dock.getBoundingClientRect().height + 4 : 0); }
    function sideReserve() { return small ? 0 : dock.getBoundingClientRect().width + 10; }
    function fitPadding() {
      var W = container.clientWidth, H = container.clientHeight, c = container.getBoundingClientRect();
      var free = {l: 0, t: 0, r: W, b: H};
      boxes().forEach(function (r) {  // shrink the free rectangle from the side that costs least
        var x0 = r.left - c.left, y0 = r.top - c.top, x1 = r.right - c.left, y1 = r.bottom - c.top;
        if (x1 <= free.l || x0 >= free.r || y1 <= free.t || y0 >= free.b) return;
        var w = free.r - free.l, h = free.b - free.t, opts = [
          ["l", (x1 - free.l) * h], ["r", (free.r - x0) * h], ["t", (y1 - free.t) * w], ["b", (free.b - y0) * w]];
        opts.sort(function (a, b) { return a[1] - b[1]; });
        var s = opts[0][0];
        if (s === "l") free.l = x1; else if (s === "r") free.r = x0; else if (s === "t") free.t = y1; else free.b = y0;
      });
      var m = 8;
      return {paddingTopLeft: L.point(free.l + m, free.t + m),
              paddingBottomRight: L.point(W - free.r + m, H - free.b + m)};
    }
    var b = spec.bounds ? L.latLngBounds([spec.bounds[1], spec.bounds[0]], [spec.bounds[3], spec.bounds[2]]) :
      routeBounds;
    if (!b.isValid()) b = L.latLngBounds([35, 45], [50, 90]);
    map.fitBounds(b, fitPadding());

    /* ---------------- labels never overlap: later / lower-priority ones are hidden */
    function cull() {
      var taken = [], z = map.getZoom();
      labels.slice().sort(function (a, b) { return a[1] - b[1]; }).forEach(function (l) {
        var e = l[0].getElement();
        if (!e || !map.hasLayer(l[0])) return;
        e.style.display = z < l[2] ? "none" : "";
        if (z < l[2]) return;
        var span = e.firstChild, r = span ? span.getBoundingClientRect() : e.getBoundingClientRect();
        var hit = taken.some(function (t) {
          return r.left < t.right && r.right > t.left && r.top < t.bottom && r.bottom > t.top;
        });
        e.style.display = hit ? "none" : "";
        if (!hit) taken.push(r);
      });
    }
    map.on("zoomend moveend layeradd", function () { setTimeout(cull, 0); });
    cull();

    window.addEventListener("beforeprint", function () {
      Array.prototype.forEach.call(dock.querySelectorAll("details.cr-legend, details.cr-panel"), function (d) {
        d.dataset.wasOpen = d.open ? "1" : ""; d.open = true;
      });
    });
    window.addEventListener("afterprint", function () {
      Array.prototype.forEach.call(dock.querySelectorAll("details[data-was-open]"), function (d) {
        d.open = d.dataset.wasOpen === "1";
      });
    });
    window.corridors = {map: map, geojson: geojson, csv: csv, geodesic: geodesic, cull: cull, fitPadding: fitPadding};
    return map;
  };
}());
