"""Interactive Folium/Leaflet maps: overview, one map per corridor, Almaty–Bishkek, Kazakhstan, index.

Every feature is a GeoJSON feature carrying ``tip`` and ``popup`` HTML (built here, every value passed
through ``html.escape``) and its Leaflet ``style``. ``build(out, offline=True)`` inlines Leaflet (shipped in
``corridors/static``) and requests nothing; the default build links Leaflet from folium's usual CDN and adds
an OpenStreetMap basemap. Builds are byte-for-byte reproducible: element ids come from a counter.
"""

from __future__ import annotations

import contextlib
import functools
import html
import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import branca.element
import folium
import folium.folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.utilities import JsCode

from . import analysis, data
from .network import write_atomic

COLORS = {"1": "#1f63b8", "2": "#d62d20", "3": "#1e9e4a", "4": "#8e44ad", "5": "#f08a00", "6": "#8a5a2b"}
KEY_COLOR, USER_COLOR = "#111111", "#e6007e"
DASH = "9 7"
LINE_TOLERANCE, COUNTRY_TOLERANCE = 0.005, 0.02  # degrees, for display only
DISPLAY_BOX = shapely.box(25.0, -90.0, 125.0, 90.0)
CAREC_MEMBERS = ("AFG", "AZE", "CHN", "GEO", "KAZ", "KGZ", "MNG", "PAK", "TJK", "TKM", "UZB")
KAZ_KEY_ROUTES = ("wewc-kaz", "middle-corridor", "middle-corridor-black-sea", "dostyk-alashankou", "khorgos-altynkol")
INVESTMENT_BINS = ((2.0, "#fff0b8"), (5.0, "#fdd27f"), (10.0, "#f9a64a"), (math.inf, "#e0741f"))  # USD bn, upper
NODE_STYLE = {
    "bcp": {"radius": 5, "color": "#222", "weight": 2, "fillColor": "#fff", "fillOpacity": 1},
    "port": {"radius": 6, "color": "#fff", "weight": 1.5, "fillColor": "#0b4f8a", "fillOpacity": 1},
    "city": {"radius": 5, "color": "#fff", "weight": 1.5, "fillColor": "#333", "fillOpacity": 1},
    "waypoint": {"radius": 3, "color": "#fff", "weight": 1, "fillColor": "#777", "fillOpacity": 1},
}
LAND_COLOR, MEMBER_COLOR, SEA_COLOR = "#f1efe9", "#fffbef", "#cfe0ea"
BASE_PANE, CHORO_PANE = "cr-base", "cr-choro"  # below the routes (overlayPane is 400)
NODE_LABEL = {"bcp": "Border crossing point", "port": "Port", "city": "Town", "waypoint": "Waypoint"}
# Leaflet style read from each feature's "st" (not "style": folium would re-apply that after drawing)
_STYLE_FN = JsCode("function (f) { return f.properties.st; }")
_HATCH_STYLE_FN = JsCode("""function (f) {
    var s = Object.assign({}, f.properties.st);
    if (s.fillColor === "hatch") {  // grey diagonal hatching, drawn on a canvas
        var c = document.createElement("canvas"), x = c.getContext("2d");
        c.width = c.height = 8; x.fillStyle = "#e4e4e4"; x.fillRect(0, 0, 8, 8);
        x.strokeStyle = "#9a9a9a"; x.lineWidth = 1.5; x.beginPath();
        x.moveTo(0, 8); x.lineTo(8, 0); x.moveTo(-2, 2); x.lineTo(2, -2); x.moveTo(6, 10); x.lineTo(10, 6); x.stroke();
        s.fillColor = x.createPattern(c, "repeat");
    }
    return s;
}""")
CSS = """
body,.leaflet-container{font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.leaflet-container{background:#dcdcdc}
.cr-box{position:fixed;z-index:1000;background:rgba(255,255,255,.95);border-radius:6px;
 box-shadow:0 1px 5px rgba(0,0,0,.35);padding:8px 11px}
.cr-title{top:10px;left:50%;transform:translateX(-50%);text-align:center;max-width:60%}
.cr-title b{font-size:17px}.cr-title div{color:#555;font-size:12px}
.cr-legend{bottom:24px;right:10px;max-width:270px}.cr-legend h4{margin:0 0 4px;font-size:13px}
.cr-legend div{white-space:nowrap}.leaflet-control-layers{font-size:12.5px;line-height:1.5}.cr-legend svg{vertical-align:middle;margin-right:6px}
.cr-legend p{margin:5px 0 0;color:#555;font-size:11px;white-space:normal}
.cr-panel{top:84px;left:10px;max-width:300px;max-height:calc(100vh - 160px);overflow:auto;font-size:12px}
.cr-panel.cr-right{top:222px;left:auto;right:10px;max-height:calc(100vh - 240px)}.cr-legend.cr-left{left:10px;right:auto}
.cr-panel p{margin:4px 0}.cr-panel svg{vertical-align:middle;margin-right:4px}
.cr-panel summary{font-weight:bold;font-size:14px;cursor:pointer}.cr-panel h5{margin:8px 0 2px;font-size:12px}
.cr-panel table,.cr-pop table{border-collapse:collapse}.cr-panel td,.cr-panel th{padding:1px 6px 1px 0;text-align:left}
.cr-warn{color:#b00000;font-weight:bold}.cr-ok{color:#1e7a3c}
.cr-pop{font-size:12px}.cr-pop th{text-align:left;vertical-align:top;padding:1px 8px 1px 0}.cr-pop ul{margin:0;padding-left:16px}
.cr-story{background:#fff7e0;border-left:3px solid #f08a00;padding:4px 6px;margin:4px 0}
.cr-sw{display:inline-block;width:18px;height:4px;margin:0 5px 3px 0;vertical-align:middle}
.cr-label{white-space:nowrap;font-weight:bold;font-size:11px;color:#222;text-shadow:0 0 3px #fff,0 0 3px #fff}
.cr-label span{display:inline-block;transform:translate(-50%,-50%)}
"""
HATCH_SVG = ('<svg width="0" height="0" style="position:absolute"><defs><pattern id="cr-hatch" width="6" height="6"'
             ' patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#e4e4e4"/>'
             '<line x1="0" y1="0" x2="0" y2="6" stroke="#9a9a9a" stroke-width="2"/></pattern></defs></svg>')


# ---------------------------------------------------------------- small helpers

def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _link(url: Any, text: Any) -> str:
    """An anchor for http(s) URLs only (never javascript:); anything else is plain escaped text."""
    if isinstance(url, str) and re.match(r"https?://", url):
        return f'<a href="{_e(url)}" target="_blank" rel="noopener noreferrer">{_e(text)}</a>'
    return _e(text)


def _km(v: float) -> str:
    return f"{v:,.1f} km" if abs(v) < 10 else f"{v:,.0f} km"


def _get(row: Mapping[str, Any], key: str, default: Any = None) -> Any:
    v = row.get(key, default)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return default
    return v


def _round(geom: shapely.Geometry) -> dict[str, Any]:
    geom = shapely.transform(geom, lambda xy: np.round(xy, 5))
    return shapely.geometry.mapping(geom)


def _group(row: Mapping[str, Any]) -> str:
    corridor = _get(row, "corridor")
    if _get(row, "kind") == "key_route":
        return "key"
    return str(corridor) if corridor in COLORS else "user" if corridor is None else str(corridor)


def _color(group: str) -> str:
    return COLORS.get(group, KEY_COLOR if group == "key" else USER_COLOR)


def _layer_name(group: str) -> str:
    label = {"key": "Key routes", "user": "Routes"}.get(group, f"Corridor {group}")
    return f'<span class="cr-sw" style="background:{_color(group)}"></span>{_e(label)}'


# ---------------------------------------------------------------- popups

def _route_popup(row: Mapping[str, Any], a: analysis.RouteAnalysis, note: str = "") -> str:
    name, rid = _get(row, "name", a.name or "route"), _get(row, "id", a.id)
    head = f"<b>{_e(name)}</b>"
    sub = [f"Corridor {_e(_get(row, 'corridor'))}" if _get(row, "corridor") else "",
           "key route" if _get(row, "kind") == "key_route" else "", f"id {_e(rid)}" if rid else ""]
    head += f"<br><small>{' · '.join(s for s in sub if s)}</small>" + note
    order = [c for c in dict.fromkeys([*a.countries, *a.length_by_country_km])]
    by_country = " · ".join(f"{_e(c)} {_km(a.length_by_country_km[c])}" for c in order)
    crossings = "".join(
        f"<li>{_e(c['from'])} → {_e(c['to'])} at km {c['km']:,.0f}: "
        + (f"{_e(c['bcp'])}" if c.get("bcp") else "by sea" if c["via"] == "sea" else "no BCP in the data nearby")
        + "</li>" for c in a.crossings)
    mode = _e(_get(row, "mode", "unspecified"))
    if len(a.length_by_mode_km) > 1:
        mode += " (" + ", ".join(f"{_e(m)} {_km(v)}" for m, v in a.length_by_mode_km.items()) + ")"
    basis, conf = _get(row, "basis"), _get(row, "confidence")
    quality = " · ".join(s for s in [
        f"{_e(basis)}{' (drawn dashed)' if basis == 'inferred' else ''}" if basis else "",
        f"confidence {_e(conf)}" if conf else ""] if s)
    srcs = list(_get(row, "sources", []) or [])
    urls = list(_get(row, "source_urls", []) or []) + [None] * len(srcs)
    sources = ", ".join(_link(u, s) for s, u in zip(srcs, urls))
    rows = [("Length", _km(a.length_km) + " (geodesic)"), ("By country", by_country),
            ("Crossings", f"<ul>{crossings}</ul>" if crossings else "none"), ("Mode", mode),
            ("Basis", quality), ("Sources", sources)]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows if v)
    return f'<div class="cr-pop">{head}<table>{body}</table></div>'


def _owners(ids: Sequence[str], catalogue: pd.DataFrame) -> str:
    """The corridors (and key routes) that use a node, e.g. 'Corridor 1 (1b, 1c); Almaty–Bishkek'."""
    by: dict[str, list[str]] = {}
    for sid in ids:
        hit = catalogue[catalogue["id"] == sid]
        if hit.empty:
            continue
        row = hit.iloc[0]
        key = f"Corridor {row['corridor']}" if row["kind"] == "section" and row["corridor"] else str(row["name"])
        by.setdefault(key, []).append(sid)
    return "; ".join(f"{_e(k)} ({_e(', '.join(v))})" if k.startswith("Corridor") else _e(k)
                     for k, v in sorted(by.items()))


def _node_popup(row: Mapping[str, Any], catalogue: pd.DataFrame, extra: str = "") -> str:
    kind = _get(row, "kind", "")
    joins = _get(row, "joins", []) or []
    alt = _get(row, "alt_names", []) or []
    srcs = list(_get(row, "sources", []) or [])
    urls = list(_get(row, "source_urls", []) or []) + [None] * len(srcs)
    rows = [("Kind", _e(NODE_LABEL.get(kind, kind))), ("Border", " – ".join(_e(j) for j in joins)),
            ("Country", _e(_get(row, "country", ""))), ("Also", _e(", ".join(alt))), ("Position", extra),
            ("Used by", _owners(list(_get(row, "sections", []) or []), catalogue)),
            ("Coordinates", f"confidence {_e(_get(row, 'coord_confidence', ''))}"),
            ("Note", _e(_get(row, "note", ""))), ("Sources", ", ".join(_link(u, s) for s, u in zip(srcs, urls)))]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows if v)
    return f'<div class="cr-pop"><b>{_e(_get(row, "name", ""))}</b><table>{body}</table></div>'


# ---------------------------------------------------------------- layers

def _geojson(features: list[dict[str, Any]], *, marker: Any = None, tip: bool = True, popup: bool = True,
             **options: Any) -> folium.GeoJson:
    fc = {"type": "FeatureCollection", "features": features}
    options.setdefault("style", _STYLE_FN)  # read before a feature is drawn, so className applies
    g = folium.GeoJson(fc, control=False, marker=marker, **options)
    if tip and features:
        folium.GeoJsonTooltip(["tip"], labels=False, sticky=True).add_to(g)
    if popup and features:
        folium.GeoJsonPopup(["popup"], labels=False, max_width=400).add_to(g)
    return g


def _group_layer(m: folium.Map, name: str, child: folium.Element, show: bool = True) -> folium.FeatureGroup:
    fg = folium.FeatureGroup(name=name, show=show)
    child.add_to(fg)
    fg.add_to(m)
    return fg


def _route_features(rows: gpd.GeoDataFrame, results: Sequence[analysis.RouteAnalysis],
                    notes: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for (_, row), a in zip(rows.iterrows(), results):
        g = _group(row)
        rid = str(_get(row, "id", ""))
        style = {"color": _color(g), "weight": 2.5 if g == "key" else 5, "opacity": 0.9,
                 "className": f"cr-route cr-c{g}"}
        if _get(row, "basis") == "inferred":
            style["dashArray"] = DASH
        name = _get(row, "name", rid or "route")
        tip = f"{_e(name)} · {_km(a.length_km)}"
        props = {"id": rid, "tip": tip, "popup": _route_popup(row, a, notes.get(rid, "")), "st": style}
        geom = row.geometry.simplify(LINE_TOLERANCE, preserve_topology=False)
        groups.setdefault(g, []).append({"type": "Feature", "properties": props, "geometry": _round(geom)})
    return groups


def _node_features(nodes: gpd.GeoDataFrame, catalogue: pd.DataFrame, extra: Mapping[str, str] | None = None,
                   kind: str | None = None) -> list[dict[str, Any]]:
    out = []
    for _, row in nodes.iterrows():
        k = kind or row["kind"]
        style = {**NODE_STYLE[k], "className": f"cr-node cr-{k}"}
        where = (extra or {}).get(row["id"], "")
        props = {"id": row["id"], "tip": f"{_e(row['name'])}{' · ' + where if where else ''}",
                 "popup": _node_popup(row, catalogue, where), "st": style}
        out.append({"type": "Feature", "properties": props, "geometry": _round(row.geometry)})
    return out


@functools.cache
def _base_geometry() -> dict[str, Any]:
    """Display geometry of the base map, simplified once: the data frame, sea, CAREC members, borders."""
    c = data.countries()
    c = c[c.intersects(DISPLAY_BOX)]
    frame = shapely.box(*c.total_bounds)
    land = shapely.union_all(c.geometry.values)
    sea = shapely.difference(frame, land)
    sea = shapely.multipolygons([p for p in getattr(sea, "geoms", [sea]) if p.area > 0.05])
    lines = shapely.line_merge(shapely.union_all(shapely.boundary(c.geometry.values)))
    lines = shapely.difference(lines, frame.exterior.buffer(1e-6))  # the layer's clipping edges are no borders
    members = c[c["iso_a3"].isin(CAREC_MEMBERS)].sort_values("iso_a3")
    return {"frame": frame, "sea": sea.simplify(COUNTRY_TOLERANCE), "lines": lines.simplify(COUNTRY_TOLERANCE),
            "members": members, "members_union": shapely.union_all(members.geometry.values).simplify(COUNTRY_TOLERANCE)}


def _add_countries(m: folium.Map) -> None:
    """Land inside the data frame, sea, CAREC members lightly tinted, borders; outside the frame stays grey."""
    b = _base_geometry()
    fills = [(b["frame"], LAND_COLOR), (b["members_union"], MEMBER_COLOR), (b["sea"], SEA_COLOR)]
    feats = [{"type": "Feature", "geometry": _round(g),
              "properties": {"st": {"stroke": False, "fillColor": col, "fillOpacity": 1, "interactive": False}}}
             for g, col in fills]
    feats.append({"type": "Feature", "geometry": _round(b["lines"]),
                  "properties": {"st": {"color": "#8c8c8c", "weight": 1, "opacity": 0.9, "interactive": False,
                                           "className": "cr-outline"}}})
    fg = folium.FeatureGroup(name="Countries", show=True)
    # a canvas: big SVG fills overrun the tile memory of software-rendering browsers (blank patches)
    _geojson(feats, tip=False, popup=False, pane=BASE_PANE, renderer=JsCode(f"L.canvas({{pane: '{BASE_PANE}'}})"),
             attribution="Boundaries: Natural Earth").add_to(fg)
    fg.add_to(m)


def _label(m_or_fg: Any, lat: float, lon: float, text: str) -> None:
    folium.Marker([round(lat, 5), round(lon, 5)], interactive=False,
                  icon=folium.DivIcon(html=f"<span>{text}</span>", class_name="cr-label", icon_size=(0, 0))
                  ).add_to(m_or_fg)


# ---------------------------------------------------------------- page furniture

def _swatch(kind: str, color: str) -> str:
    if kind in ("line", "dash"):
        dash = f' stroke-dasharray="{DASH}"' if kind == "dash" else ""
        return (f'<svg width="30" height="10"><line x1="1" y1="5" x2="29" y2="5" stroke="{color}" '
                f'stroke-width="4"{dash}/></svg>')
    if kind in NODE_STYLE:
        s = NODE_STYLE[kind]
        return (f'<svg width="30" height="14"><circle cx="15" cy="7" r="{s["radius"]}" fill="{s["fillColor"]}" '
                f'stroke="{s["color"] if s["color"] != "#fff" else "#999"}" stroke-width="1.5"/></svg>')
    fill = "url(#cr-hatch)" if kind == "hatch" else color
    return f'<svg width="30" height="14"><rect x="3" y="1" width="24" height="12" fill="{fill}" stroke="#888"/></svg>'


def _legend_rows(entries: Sequence[tuple[str, str, str]]) -> str:
    return "".join(f"<div>{_swatch(kind, color)}{_e(label)}</div>" for kind, label, color in entries)


def _legend(entries: Sequence[tuple[str, str, str]], note: str = "", cls: str = "") -> str:
    return f'<div class="cr-box cr-legend {cls}"><h4>Legend</h4>{_legend_rows(entries)}<p>{_e(note)}</p></div>'


def _furnish(m: folium.Map, title: str, subtitle: str, legend: str, panel: str = "") -> None:
    fig = m.get_root()
    fig.title = _e(title)
    fig.header.add_child(branca.element.Element(f"<style>{CSS}</style>"), name="corridors_css")
    box = f'<div class="cr-box cr-title"><b>{_e(title)}</b><div>{_e(subtitle)}</div></div>'
    fig.html.add_child(branca.element.Element(HATCH_SVG + box + legend + panel), name="corridors_furniture")


def _assets(m: folium.Map, offline: bool) -> None:
    """Offline: Leaflet's JS and CSS inlined, nothing else. Online: Leaflet from folium's usual CDN only."""
    if not offline:
        m.default_js = [(k, u) for k, u in folium.folium._default_js if k == "leaflet"]
        m.default_css = [(k, u) for k, u in folium.folium._default_css if k == "leaflet_css"]
        return
    m.default_js, m.default_css = [], []
    static = resources.files("corridors") / "static"
    js = (static / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)
    css = re.sub(r"url\(images/[^)]*\)", "none", (static / "leaflet.css").read_text(encoding="utf-8"))
    if "</script" in js.lower() or "</style" in css.lower():
        raise ValueError("static/leaflet.* would close its own inline block")
    m.get_root().header.add_child(branca.element.Element(f"<style>{css}</style>\n<script>{js}</script>"),
                                  name="leaflet_inline")


# ---------------------------------------------------------------- the public API

def _select(routes: Any) -> gpd.GeoDataFrame:
    allsec = data.sections()
    if routes is None:
        return allsec
    if isinstance(routes, gpd.GeoDataFrame):
        frame = routes.to_crs(4326) if routes.crs is not None else routes
        return frame.reset_index(drop=True)
    if isinstance(routes, (int, np.integer)) or (isinstance(routes, str) and routes in COLORS):
        sel = allsec[(allsec["corridor"] == str(routes)) & (allsec["kind"] == "section")]
        if sel.empty:
            raise data.NotFoundError(f"no corridor {routes!r}; CAREC corridors are 1 to 6")
        return sel.reset_index(drop=True)
    ids = [routes] if isinstance(routes, str) else list(routes)
    rows = [data.section(i) for i in ids]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=allsec.crs).reset_index(drop=True)


def make_map(routes: Any = None, *, countries: bool = True, nodes: bool = True, tiles: str | None = "auto",
             offline: bool = False, labels: bool = False, title: str | None = None, subtitle: str = "",
             notes: Mapping[str, str] | None = None, bounds: Sequence[float] | None = None,
             _results: Mapping[str, analysis.RouteAnalysis] | None = None,
             _legend_extra: Sequence[tuple[str, str, str]] = (), _panel: str = "", _legend_class: str = "",
             _fit: Mapping[str, Any] | None = None) -> folium.Map:
    """A Leaflet map of ``routes``: None (every section and key route), a corridor number (1-6), a list of
    section / key-route ids or names, or a GeoDataFrame of your own lines (any CRS; ``name`` column used).

    ``tiles``: "auto" adds an OpenStreetMap basemap unless ``offline``; None for none; or a folium tile name.
    ``labels`` writes each section id at its midpoint. ``notes`` maps a route id to trusted HTML shown at the
    top of its popup. ``bounds`` (lon0, lat0, lon1, lat1) overrides the fit to the routes.
    """
    rows = _select(routes)
    catalogue = data.sections()
    user = isinstance(routes, gpd.GeoDataFrame)
    if user or _results is None:
        results = analysis.analyze_many(rows if user else rows["id"].tolist())
    else:
        results = [_results[i] for i in rows["id"]]
    m = folium.Map(location=None, tiles=None, control_scale=True)  # integer zoom: Chromium paints fractional zoom partly
    _assets(m, offline)
    if tiles == "auto":
        tiles = None if offline else "OpenStreetMap"
    if tiles is not None:
        if offline:
            raise ValueError("an offline map cannot load tiles; pass tiles=None")
        folium.TileLayer(tiles, name="Basemap (OpenStreetMap)", overlay=True, opacity=0.55).add_to(m)
    folium.map.CustomPane(BASE_PANE, z_index=340).add_to(m)
    folium.map.CustomPane(CHORO_PANE, z_index=360, pointer_events=True).add_to(m)
    if countries:
        _add_countries(m)
    groups = _route_features(rows, results, notes or {})
    entries: list[tuple[str, str, str]] = []
    for g in sorted(groups, key=lambda g: (g in ("key", "user"), len(g), g)):
        _group_layer(m, _layer_name(g), _geojson(groups[g]))
        entries.append(("line", {"key": "Key route", "user": "Route"}.get(g, f"Corridor {g}"), _color(g)))
    if (rows.get("basis") == "inferred").any() if "basis" in rows else False:
        entries.append(("dash", "dashed = inferred (not sourced)", "#555"))
    if labels:
        fg = folium.FeatureGroup(name="Section labels")
        for _, row in rows.iterrows():
            p = row.geometry.interpolate(0.5, normalized=True)
            _label(fg, p.y, p.x, _e(_get(row, "id", _get(row, "name", ""))))
        fg.add_to(m)
    if nodes:
        used = set(rows["id"]) if "id" in rows and not user else set()
        used_bcps = {c.get("bcp_id") for a in results for c in a.crossings if c.get("bcp_id")}
        allnodes = data.nodes()
        for kind, label in (("bcp", "Border crossing points"), ("port", "Ports")):
            sel = allnodes[allnodes["kind"] == kind]
            if routes is not None:
                sel = sel[sel["sections"].map(lambda s: bool(used & set(s))) | sel["id"].isin(used_bcps)]
            if len(sel):
                _group_layer(m, _e(label), _geojson(_node_features(sel, catalogue),
                                                    marker=folium.CircleMarker(radius=5)))
                entries.append((kind, NODE_LABEL[kind], ""))
    if countries:
        entries.append(("fill", "CAREC member country", MEMBER_COLOR))
    folium.LayerControl(collapsed=False).add_to(m)
    x0, y0, x1, y1 = bounds if bounds is not None else rows.total_bounds
    m.fit_bounds([[float(y0), float(x0)], [float(y1), float(x1)]], **(_fit or {"padding": (30, 30)}))
    note = "Lines join sourced places along the geodesic: schematic, not surveyed alignments."
    note = "Lines join sourced places along the geodesic: schematic, not surveyed alignments."
    default_title = "Routes" if user else "CAREC transport corridors"
    _furnish(m, title or default_title, subtitle, _legend([*entries, *_legend_extra], note, _legend_class),
             _panel)
    return m


def render(m: folium.Map) -> str:
    """The map's standalone HTML: the view is set before any layer is added (so Leaflet clips paths to the
    final view) and the layer control comes last (so it sees layers added to ``m`` after ``make_map``)."""
    for key, child in list(m._children.items()):
        if isinstance(child, folium.map.FitBounds):
            m._children.move_to_end(key, last=False)
        elif isinstance(child, folium.LayerControl):
            m._children.move_to_end(key)
    return m.get_root().render()


@contextlib.contextmanager
def _stable_ids() -> Iterator[None]:
    """Number elements 1, 2, 3 ... instead of folium/branca's random ids, so builds are reproducible."""
    counter = itertools.count(1)
    original = branca.element.Element.__dict__["_generate_id"]
    branca.element.Element._generate_id = classmethod(lambda cls: f"{next(counter):06d}")  # type: ignore
    try:
        yield
    finally:
        branca.element.Element._generate_id = original  # type: ignore


# ---------------------------------------------------------------- the published maps

def _fact_link(fid: str) -> str:
    from .facts import fact

    f = fact(fid)
    return _link(f["source_url"], f"{f['source_id']}, {f['as_of']}")


def _almaty_bishkek_story() -> str:
    from .facts import fact

    v = {k: fact(k)["value"] for k in ("kaz_first_project_year", "almbish_completed", "almbish_km", "almbish_corridor")}
    text = (f"CAREC's first project in Kazakhstan: ADB approved the rehabilitation of the Almaty–Bishkek road in "
            f"{v['kaz_first_project_year']:.0f}; completed {v['almbish_completed']:.0f}; {v['almbish_km']:.0f} km "
            f"rehabilitated. Part of CAREC Corridor {v['almbish_corridor']:.0f}.")
    links = ", ".join(_fact_link(k) for k in ("kaz_first_project_year", "almbish_completed", "almbish_km"))
    return f'<div class="cr-story">{_e(text)}<br><small>Sources: {links}</small></div>'


def _chainage_layer(m: folium.Map, a: analysis.RouteAnalysis, origin: str) -> None:
    """The route's places as markers labelled with their km from the start."""
    allnodes = data.nodes().set_index("id", drop=False)
    ids = [n["id"] for n in a.nodes if n["id"] in allnodes.index]
    km = {n["id"]: f"km {n['km']:,.0f} from {origin}" for n in a.nodes}
    sel = allnodes.loc[ids]
    fg = folium.FeatureGroup(name=_e(f"Places (km from {origin})"))
    for kind in ("city", "waypoint", "port"):
        part = sel[sel["kind"] == kind]
        if len(part):
            _geojson(_node_features(part, data.sections(), km), marker=folium.CircleMarker(radius=4)).add_to(fg)
    for _, row in sel.iterrows():
        if row["kind"] != "waypoint":
            _label(fg, row.geometry.y + 0.045, row.geometry.x, f"{_e(row['name'])} · {_e(km[row['id']][:-len(origin) - 6])}")
    fg.add_to(m)


def _investment_layer(m: folium.Map) -> None:
    from .facts import carec_investment_by_country

    inv = carec_investment_by_country().set_index("iso_a3")
    members = _base_geometry()["members"]
    feats = []
    for _, c in members.iterrows():
        iso, name = c["iso_a3"], c["name"]
        if iso in inv.index:
            r = inv.loc[iso]
            value = f"{(r['qualifier'] + ' ') if r['qualifier'] else ''}USD {r['value_usd_bn']:.2f} bn"
            color = next(col for top, col in INVESTMENT_BINS if r["value_usd_bn"] < top)
            tip = f"{_e(name)}: {_e(value)} ({_e(r['as_of'])})"
            pop = f"{tip}<br>CAREC cumulative investment. Source: {_link(r['source_url'], r['as_of'])}"
            style = {"fillColor": color, "fillOpacity": 0.5, "color": "#b07030", "weight": 1}
        else:
            tip = f"{_e(name)}: no figure"
            pop = f"{tip} — no published CAREC investment figure in the data (not zero)."
            style = {"fillColor": "hatch", "fillOpacity": 0.8, "color": "#999", "weight": 1}
        style["className"] = "cr-choro"
        geom = c.geometry.simplify(COUNTRY_TOLERANCE)
        feats.append({"type": "Feature", "geometry": _round(geom),
                      "properties": {"tip": tip, "popup": f'<div class="cr-pop">{pop}</div>', "st": style}})
    renderer = JsCode(f"L.canvas({{pane: '{CHORO_PANE}'}})")
    _group_layer(m, "CAREC investment by country", _geojson(feats, pane=CHORO_PANE, renderer=renderer,
                                                            style=_HATCH_STYLE_FN))


def _investment_legend() -> list[tuple[str, str, str]]:
    lows = [0.0] + [top for top, _ in INVESTMENT_BINS[:-1]]
    out = [("fill", f"USD {lo:g}–{top:g} bn" if top != math.inf else f"USD {lo:g} bn and more", col)
           for lo, (top, col) in zip(lows, INVESTMENT_BINS)]
    return [*out, ("hatch", "no figure published", "")]


def _kazakhstan_panel(computed: Sequence[str]) -> str:
    from .facts import carec_investment_by_country, fact, facts, kazakh_chinese_programme

    words = dict(enumerate("zero one two three four five six".split()))
    claim = fact("kaz_carec_corridors")
    n = int(claim["value"])
    ok = n == len(computed)
    check = (f'<span class="cr-ok">agrees ✓</span>' if ok else
             f'<span class="cr-warn">⚠ disagrees: CAREC says {n}, the geometry gives {len(computed)}</span>')
    parts = [f"<h5>Corridors crossing Kazakhstan</h5>“{_e(words.get(n, n))} of the six corridors cross "
             f"Kazakhstan” — CAREC ({_fact_link('kaz_carec_corridors')})<br>Computed from the geometry: "
             f"{len(computed)} (corridors {_e(', '.join(computed))}) — {check}"]
    kcp = kazakh_chinese_programme()
    src = fact("kcp_total_projects")
    rows = "".join(
        f"<tr><td>{_e(r['status'].replace('_', ' '))}</td><td>{r['projects']}</td><td>"
        + (f"USD {r['value_usd_bn']:.2f} bn" if not math.isnan(r["value_usd_bn"]) else "<i>not published</i>")
        + "</td></tr>" for _, r in kcp.iterrows())
    parts.append(f"<h5>Kazakh–Chinese industrial cooperation programme</h5><table><tr><th>status</th>"
                 f"<th>projects</th><th>value</th></tr>{rows}</table>as of {_e(src['as_of'])}, source: "
                 f"{_link(src['source_url'], src['source_id'])}")
    inv = carec_investment_by_country()
    rows = "".join(f"<tr><td>{_e(r['iso_a3'])}</td><td>{_e(r['qualifier'] + ' ' if r['qualifier'] else '')}"
                   f"USD {r['value_usd_bn']:.2f} bn</td><td>{_link(r['source_url'], r['as_of'])}</td></tr>"
                   for _, r in inv.iterrows())
    total = facts("carec_investment").set_index("id")
    extra = ""
    if "carec_total_2023" in total.index:
        t = total.loc["carec_total_2023"]
        extra = f"All CAREC since 2001: USD {t['value']:.2f} bn ({_link(t['source_url'], t['as_of'])})."
    parts.append(f"<h5>CAREC investment by country (cumulative)</h5><table><tr><th>country</th><th>value</th>"
                 f"<th>as of (source)</th></tr>{rows}</table>{extra} Other members: no published figure.")
    parts.append(f"<h5>Map colours: CAREC investment</h5>{_legend_rows(_investment_legend())}")
    return f'<details open class="cr-box cr-panel cr-right"><summary>Facts</summary>{"".join(parts)}</details>'


def _index_html(pages: Sequence[tuple[str, str, str, str]]) -> str:
    items = "".join(f'<li><a href="{_e(f)}">{_e(t)}</a> — {_e(d)}<br><small>{_e(k)}</small></li>'
                    for f, t, d, k in pages)
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>CAREC corridor maps</title>'
            '<meta name="viewport" content="width=device-width,initial-scale=1"><style>body{font:15px/1.5 '
            'system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:820px;margin:2em auto;'
            'padding:0 1em;color:#222}li{margin:.7em 0}small{color:#555}</style></head><body>'
            '<h1>CAREC transport corridors — maps</h1><p>The six CAREC corridors and key routes through '
            f'Kazakhstan as sourced data, drawn along the geodesic.</p><ul>{items}</ul></body></html>\n')


def _countries_km(by: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:,.0f}" for k, v in sorted(by.items(), key=lambda kv: -kv[1]) if k != analysis.SEA)


def build(out: str | Path = "maps", offline: bool = False) -> list[Path]:
    """Write the overview, corridor_1..6, almaty_bishkek, kazakhstan and index pages; return their paths.

    Everything is rendered before anything is written, and each file is replaced atomically.
    """
    out = Path(out)
    secs = data.sections()
    present = set(secs["id"])
    results = dict(zip(secs["id"], analysis.analyze_many(secs["id"].tolist())))
    kw: dict[str, Any] = {"offline": offline, "_results": results}
    pages: list[tuple[str, str, str, str]] = []
    texts: dict[str, str] = {}

    def add(name: str, title: str, desc: str, figures: str, make: Any) -> None:
        with _stable_ids():
            texts[name] = render(make())
        pages.append((name, title, desc, figures))

    n_bcp = int((data.nodes()["kind"] == "bcp").sum())
    add("carec_corridors.html", "Overview: the six CAREC corridors",
        "all corridor sections and key routes, border crossing points, ports",
        f"{int((secs['kind'] == 'section').sum())} sections, {int((secs['kind'] == 'key_route').sum())} key routes, "
        f"{n_bcp} border crossing points",
        lambda: make_map(None, title="CAREC transport corridors", subtitle="Six corridors and key routes", **kw))
    for c in sorted(COLORS):
        by = analysis.corridor_length_by_country(c)
        n = int(((secs["corridor"] == c) & (secs["kind"] == "section")).sum())
        add(f"corridor_{c}.html", f"Corridor {c}", f"the {n} sections of CAREC Corridor {c}, labelled",
            f"network {_km(sum(by.values()))} (shared roads counted once); km by country: {_countries_km(by)}",
            lambda c=c: make_map(c, labels=True, title=f"CAREC Corridor {c}",
                                 subtitle="Section ids at each section's midpoint", **kw))
    ab = "almaty-bishkek"
    a = results[ab]
    cross = "; ".join(f"{x['from']}→{x['to']} at km {x['km']:,.0f} ({x['bcp'] or x['via']})" for x in a.crossings)

    def almaty() -> folium.Map:
        story = _almaty_bishkek_story()
        m = make_map([ab], title="Almaty – Bishkek", subtitle="CAREC's first project in Kazakhstan · Corridor 1",
                     notes={ab: story}, _legend_extra=[("city", "Town (km from Almaty)", "")],
                     _panel=f'<details open class="cr-box cr-panel"><summary>The road</summary>{story}</details>',
                     _fit={"padding_top_left": (90, 90), "padding_bottom_right": (90, 60)}, **kw)
        _chainage_layer(m, results[ab], "Almaty")
        return m

    add("almaty_bishkek.html", "Almaty – Bishkek", "the key route, its towns with km from Almaty and the border "
        "crossing; CAREC's first project in Kazakhstan", f"{_km(a.length_km)}; crossing {cross}", almaty)
    crossing = analysis.corridors_crossing("KAZ")
    kaz_ids = secs.loc[(secs["kind"] == "section") & secs["corridor"].isin(crossing), "id"].tolist()
    kaz_ids += [i for i in KAZ_KEY_ROUTES if i in present]
    kaz_bounds = data.countries().set_index("iso_a3").loc["KAZ"].geometry.bounds

    def kazakhstan() -> folium.Map:
        m = make_map(kaz_ids, title="Kazakhstan in CAREC and the Belt and Road",
                     subtitle=f"Corridors {', '.join(crossing)}, WE–WC, Middle Corridor and the China gateways",
                     bounds=kaz_bounds, _panel=_kazakhstan_panel(crossing), _legend_class="cr-left",
                     _fit={"padding_top_left": (10, 70), "padding_bottom_right": (330, 10)}, **kw)
        _investment_layer(m)
        return m

    missing = [i for i in KAZ_KEY_ROUTES if i not in present]
    add("kazakhstan.html", "Kazakhstan", "corridors crossing Kazakhstan, key routes, CAREC investment and the "
        "Kazakh–Chinese programme", f"corridors {', '.join(crossing)} cross Kazakhstan (computed from the geometry)"
        + (f"; not yet in the data: {', '.join(missing)}" if missing else ""), kazakhstan)
    texts["index.html"] = _index_html(pages)
    paths = []
    for name in [p[0] for p in pages] + ["index.html"]:
        write_atomic(out / name, texts[name])
        paths.append(out / name)
    return paths
