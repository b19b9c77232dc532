"""Interactive Folium/Leaflet maps: overview, one map per corridor, Almaty–Bishkek, Kazakhstan, index.

Each feature is GeoJSON carrying ``tip`` and ``popup`` HTML built here (every value through ``html.escape``)
and its Leaflet style ``st``. Every map inlines Leaflet (shipped in ``corridors/static``), so corridors,
markers and outlines draw with no network; the default build adds an optional OpenStreetMap basemap layer
(tiles fetched when online), ``build(out, offline=True)`` leaves it out and requests nothing at all.
Builds are byte-for-byte reproducible: element ids come from a counter, not random.
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
KEY_COLOR, USER_COLOR, DASH = "#111111", "#e6007e", "9 7"
LINE_TOLERANCE, COUNTRY_TOLERANCE = 0.005, 0.02  # degrees, for display only
DISPLAY_BOX = shapely.box(25.0, -90.0, 125.0, 90.0)
CAREC_MEMBERS = ("AFG", "AZE", "CHN", "GEO", "KAZ", "KGZ", "MNG", "PAK", "TJK", "TKM", "UZB")
KAZ_KEY_ROUTES = ("wewc-kaz", "middle-corridor", "middle-corridor-black-sea", "middle-corridor-batumi",
                  "dostyk-alashankou", "khorgos-altynkol")
INVESTMENT_BINS = ((2.0, "#fff0b8"), (5.0, "#fdd27f"), (10.0, "#f9a64a"), (math.inf, "#e0741f"))  # upper, USD bn
LAND_COLOR, MEMBER_COLOR, SEA_COLOR = "#f1efe9", "#fffbef", "#cfe0ea"
BASE_PANE, CHORO_PANE = "cr-base", "cr-choro"  # below the routes (Leaflet's overlayPane is 400)
NODE_STYLE = {k: {"radius": r, "color": c, "weight": w, "fillColor": f, "fillOpacity": 1, "fill": True}
              for k, r, c, w, f in (("bcp", 5, "#222", 2, "#fff"), ("port", 6, "#fff", 1.5, "#0b4f8a"),
                                    ("city", 5, "#fff", 1.5, "#333"), ("waypoint", 3, "#fff", 1, "#777"))}
NODE_LABEL = {"bcp": "Border crossing point", "port": "Port", "city": "Town", "waypoint": "Waypoint"}
NOTE = "Lines join sourced places along the geodesic: schematic, not surveyed alignments."
# Styles live in each feature's "st" (folium re-applies a "style" property after drawing, losing className).
_STYLE_FN = JsCode("function (f) { return f.properties.st; }")
_HATCH_STYLE_FN = JsCode("""function (f) {
    var s = Object.assign({}, f.properties.st);
    if (s.fillColor === "hatch") {  // grey diagonal hatching for "no figure", drawn on the canvas
        var c = document.createElement("canvas"), x = c.getContext("2d");
        c.width = c.height = 8; x.fillStyle = "#e4e4e4"; x.fillRect(0, 0, 8, 8);
        x.strokeStyle = "#9a9a9a"; x.lineWidth = 1.5; x.beginPath();
        x.moveTo(0, 8); x.lineTo(8, 0); x.moveTo(-2, 2); x.lineTo(2, -2); x.moveTo(6, 10); x.lineTo(10, 6); x.stroke();
        s.fillColor = x.createPattern(c, "repeat");
    }
    return s;
}""")


# ---------------------------------------------------------------- small helpers

def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _link(url: Any, text: Any) -> str:
    """An anchor for http(s) URLs only (never javascript:); anything else is plain escaped text."""
    if isinstance(url, str) and re.match(r"https?://", url):
        return f'<a href="{_e(url)}" target="_blank" rel="noopener noreferrer">{_e(text)}</a>'
    return _e(text)


def _sources(row: Mapping[str, Any]) -> str:
    ids = list(_get(row, "sources", []) or [])
    urls = [*(_get(row, "source_urls", []) or []), *[None] * len(ids)]
    return ", ".join(_link(u, s) for s, u in zip(ids, urls))


def _km(v: float) -> str:
    return f"{v:,.1f} km" if abs(v) < 10 else f"{v:,.0f} km"


def _get(row: Mapping[str, Any], key: str, default: Any = None) -> Any:
    v = row.get(key, default)
    return default if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _round(geom: shapely.Geometry) -> dict[str, Any]:
    out: dict[str, Any] = shapely.geometry.mapping(shapely.transform(geom, lambda xy: np.round(xy, 5)))
    return out


def _table(rows: Sequence[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows if v) + "</table>"


def _group(row: Mapping[str, Any]) -> str:
    """Layer of a route: its corridor '1'..'6', 'key' (key routes) or 'user' (anything else)."""
    if _get(row, "kind") == "key_route":
        return "key"
    return str(_get(row, "corridor")) if str(_get(row, "corridor")) in COLORS else "user"


def _color(group: str) -> str:
    return COLORS.get(group, KEY_COLOR if group == "key" else USER_COLOR)


def _group_label(group: str) -> str:
    return {"key": "Key routes", "user": "Routes"}.get(group, f"Corridor {group}")


# ---------------------------------------------------------------- popups

def _route_popup(row: Mapping[str, Any], a: analysis.RouteAnalysis, note: str = "") -> str:
    name, rid, corridor = _get(row, "name", a.name or "route"), _get(row, "id", a.id), _get(row, "corridor")
    sub = [f"Corridor {_e(corridor)}" if corridor else "", "key route" if _get(row, "kind") == "key_route" else "",
           f"id {_e(rid)}" if rid else ""]
    order = dict.fromkeys([*a.countries, *a.length_by_country_km])
    crossings = "".join(
        f"<li>{_e(c['from'])} → {_e(c['to'])} at km {c['km']:,.0f}: "
        + (_e(c["bcp"]) if c.get("bcp") else "by sea" if c["via"] == "sea" else "no BCP in the data nearby")
        + "</li>" for c in a.crossings)
    mode = _e(_get(row, "mode", "unspecified"))
    if len(a.length_by_mode_km) > 1:
        mode += " (" + ", ".join(f"{_e(m)} {_km(v)}" for m, v in a.length_by_mode_km.items()) + ")"
    basis, conf = _get(row, "basis"), _get(row, "confidence")
    quality = " · ".join(s for s in (f"{_e(basis)}{' (drawn dashed)' if basis == 'inferred' else ''}" if basis
                                     else "", f"confidence {_e(conf)}" if conf else "") if s)
    return (f'<div class="cr-pop"><b>{_e(name)}</b><br><small>{" · ".join(s for s in sub if s)}</small>{note}'
            + _table([("Length", _km(a.length_km) + " (geodesic)"),
                      ("By country", " · ".join(f"{_e(c)} {_km(a.length_by_country_km[c])}" for c in order)),
                      ("Crossings", f"<ul>{crossings}</ul>" if crossings else "none"), ("Mode", mode),
                      ("Basis", quality), ("Sources", _sources(row))]) + "</div>")


def _owners(ids: Sequence[str], catalogue: pd.DataFrame) -> str:
    """The corridors (and key routes) that use a node, e.g. 'Corridor 1 (1b, 1c); Almaty–Bishkek road'."""
    by: dict[str, list[str]] = {}
    for _, row in catalogue[catalogue["id"].isin(ids)].iterrows():
        key = f"Corridor {row['corridor']}" if row["kind"] == "section" and row["corridor"] else str(row["name"])
        by.setdefault(key, []).append(row["id"])
    return "; ".join(f"{_e(k)} ({_e(', '.join(v))})" if k.startswith("Corridor ") else _e(k)
                     for k, v in sorted(by.items()))


def _node_popup(row: Mapping[str, Any], catalogue: pd.DataFrame, where: str = "") -> str:
    kind = _get(row, "kind", "")
    return (f'<div class="cr-pop"><b>{_e(_get(row, "name", ""))}</b>' + _table([
        ("Kind", _e(NODE_LABEL.get(kind, kind))), ("Border", " – ".join(_e(j) for j in _get(row, "joins", []))),
        ("Country", _e(_get(row, "country", ""))), ("Also", _e(", ".join(_get(row, "alt_names", []) or []))),
        ("Position", where), ("Used by", _owners(list(_get(row, "sections", []) or []), catalogue)),
        ("Coordinates", f"confidence {_e(_get(row, 'coord_confidence', ''))}"), ("Note", _e(_get(row, "note", ""))),
        ("Sources", _sources(row))]) + "</div>")


# ---------------------------------------------------------------- layers

def _geojson(features: list[dict[str, Any]], *, marker: Any = None, tip: bool = True, popup: bool = True,
             **options: Any) -> folium.GeoJson:
    options.setdefault("style", _STYLE_FN)  # a Leaflet option: read before each feature is drawn
    g = folium.GeoJson({"type": "FeatureCollection", "features": features}, control=False, marker=marker, **options)
    if tip and features:
        folium.GeoJsonTooltip(["tip"], labels=False, sticky=True).add_to(g)
    if popup and features:
        folium.GeoJsonPopup(["popup"], labels=False, max_width=400).add_to(g)
    return g


def _layer(m: folium.Map, name: str, *children: Any, show: bool = True) -> folium.FeatureGroup:
    """A toggleable layer; ``name`` is HTML (Leaflet's layer control sets it as innerHTML)."""
    fg = folium.FeatureGroup(name=name, show=show)
    for child in children:
        child.add_to(fg)
    fg.add_to(m)
    return fg


def _route_features(rows: gpd.GeoDataFrame, results: Sequence[analysis.RouteAnalysis],
                    notes: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for (_, row), a in zip(rows.iterrows(), results):
        g, rid = _group(row), str(_get(row, "id", ""))
        st = {"color": _color(g), "weight": 2.5 if g == "key" else 5, "opacity": 0.9, "className": f"cr-route cr-c{g}"}
        if _get(row, "basis") == "inferred":
            st["dashArray"] = DASH
        props = {"id": rid, "tip": f"{_e(_get(row, 'name', rid or 'route'))} · {_km(a.length_km)}",
                 "popup": _route_popup(row, a, notes.get(rid, "")), "st": st}
        geom = _round(row.geometry.simplify(LINE_TOLERANCE, preserve_topology=False))
        groups.setdefault(g, []).append({"type": "Feature", "properties": props, "geometry": geom})
    return groups


def _node_features(nodes: gpd.GeoDataFrame, catalogue: pd.DataFrame,
                   where: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    out = []
    for _, row in nodes.iterrows():
        w = (where or {}).get(row["id"], "")
        props = {"id": row["id"], "tip": _e(row["name"]) + (f" · {w}" if w else ""),
                 "popup": _node_popup(row, catalogue, w),
                 "st": {**NODE_STYLE[row["kind"]], "className": f"cr-node cr-{row['kind']}"}}
        out.append({"type": "Feature", "properties": props, "geometry": _round(row.geometry)})
    return out


@functools.cache
def _base_geometry() -> dict[str, Any]:
    """Display geometry of the base map, simplified once: the data's frame, sea (its outline is the coast),
    borders between countries (not the coast again) and CAREC members (a tint, simplified further)."""
    c = data.countries()
    c = c[c.intersects(DISPLAY_BOX)]
    frame, land = shapely.box(*c.total_bounds), shapely.union_all(c.geometry.values)
    sea = shapely.difference(frame, land)
    sea = shapely.multipolygons([p for p in getattr(sea, "geoms", [sea]) if p.area > 0.05])
    borders = shapely.line_merge(shapely.union_all(shapely.boundary(c.geometry.values)))
    borders = shapely.difference(borders, shapely.boundary(land).buffer(1e-6))
    members = c[c["iso_a3"].isin(CAREC_MEMBERS)].sort_values("iso_a3")
    tint = shapely.union_all(members.geometry.values).simplify(2.5 * COUNTRY_TOLERANCE)
    return {"frame": frame, "sea": sea.simplify(COUNTRY_TOLERANCE), "borders": borders.simplify(COUNTRY_TOLERANCE),
            "members": members, "tint": tint}


def _countries_layer(m: folium.Map, tiles: bool) -> None:
    """The data's frame (land), CAREC members tinted, sea with its coast, borders; over tiles no land or sea fill.

    Drawn on a canvas: large SVG fills exhaust the tile memory of software-rendering browsers (blank patches).
    """
    b, line = _base_geometry(), {"color": "#8c8c8c", "weight": 1, "opacity": 0.9, "interactive": False}
    styles = [(b["frame"], {**line, "fillColor": LAND_COLOR, "fillOpacity": 0 if tiles else 1, "fill": not tiles}),
              (b["tint"], {"stroke": False, "fillColor": MEMBER_COLOR, "fillOpacity": 0.45 if tiles else 1,
                           "interactive": False}),
              (b["sea"], {**line, "fillColor": SEA_COLOR, "fillOpacity": 1, "fill": not tiles}),
              (b["borders"], line)]
    feats = [{"type": "Feature", "geometry": _round(g), "properties": {"st": st}} for g, st in styles]
    _layer(m, "Countries", _geojson(feats, tip=False, popup=False, pane=BASE_PANE, attribution="Boundaries: "
                                    "Natural Earth", renderer=JsCode(f"L.canvas({{pane: '{BASE_PANE}'}})")))


def _label(parent: Any, lat: float, lon: float, text: str, cls: str = "") -> None:
    """A text label (``text`` is escaped HTML) centred on the point, or above it with cls="cr-above"."""
    icon = folium.DivIcon(html=f"<span>{text}</span>", class_name=f"cr-label {cls}".strip(), icon_size=(0, 0))
    folium.Marker([round(lat, 5), round(lon, 5)], interactive=False, icon=icon).add_to(parent)


# ---------------------------------------------------------------- page furniture

def _swatch(kind: str, color: str) -> str:
    if kind in ("line", "dash"):
        dash = f' stroke-dasharray="{DASH}"' if kind == "dash" else ""
        return (f'<svg width="30" height="10"><line x1="1" y1="5" x2="29" y2="5" stroke="{color}" '
                f'stroke-width="4"{dash}/></svg>')
    if kind in NODE_STYLE:
        s = NODE_STYLE[kind]
        stroke = "#999" if s["color"] == "#fff" else s["color"]
        return (f'<svg width="30" height="14"><circle cx="15" cy="7" r="{s["radius"]}" fill="{s["fillColor"]}" '
                f'stroke="{stroke}" stroke-width="1.5"/></svg>')
    if kind == "hatch":
        return '<span class="cr-hatch"></span>'
    return f'<svg width="30" height="14"><rect x="3" y="1" width="24" height="12" fill="{color}" stroke="#888"/></svg>'


def _legend(entries: Sequence[tuple[str, str, str]], cls: str = "") -> str:
    rows = "".join(f"<div>{_swatch(kind, color)}{_e(label)}</div>" for kind, label, color in entries)
    return f'<div class="cr-box cr-legend {cls}"><h4>Legend</h4>{rows}<p>{_e(NOTE)}</p></div>'


def _figure(m: folium.Map) -> branca.element.Figure:
    fig = m.get_root()
    assert isinstance(fig, branca.element.Figure)
    return fig


def _furnish(m: folium.Map, title: str, subtitle: str, legend: str, panel: str = "") -> None:
    fig = _figure(m)
    fig.title = _e(title)
    css = (resources.files("corridors") / "static" / "maps.css").read_text(encoding="utf-8")
    fig.header.add_child(branca.element.Element(f"<style>{css}</style>"), name="corridors_css")
    box = f'<div class="cr-box cr-title"><b>{_e(title)}</b><div>{_e(subtitle)}</div></div>'
    fig.html.add_child(branca.element.Element(box + legend + panel), name="corridors_furniture")


def _assets(m: folium.Map) -> None:
    """Leaflet's JS and CSS inlined, nothing else: every map draws its corridors, markers and outlines with no
    network (only the optional basemap tiles of a non-offline map need one)."""
    m.default_js, m.default_css = [], []
    static = resources.files("corridors") / "static"
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", (static / "leaflet.js").read_text(encoding="utf-8"))
    css = re.sub(r"url\(images/[^)]*\)", "none", (static / "leaflet.css").read_text(encoding="utf-8"))
    if "</script" in js.lower() or "</style" in css.lower():
        raise ValueError("static/leaflet.* would close its own inline block")
    _figure(m).header.add_child(branca.element.Element(f"<style>{css}</style>\n<script>{js}</script>"),
                                  name="leaflet_inline")


# ---------------------------------------------------------------- the public API

def _select(routes: Any) -> gpd.GeoDataFrame:
    allsec = data.sections()
    if routes is None:
        return allsec
    if isinstance(routes, gpd.GeoDataFrame):
        if routes.empty:
            raise data.NotFoundError("no routes to draw: the GeoDataFrame has no rows")
        user = (routes.to_crs(4326) if routes.crs is not None else routes).reset_index(drop=True)
        return user.assign(sources=user["sources"].map(data.as_list)) if "sources" in user else user
    if isinstance(routes, (int, np.integer)) or (isinstance(routes, str) and routes in COLORS):
        sel = allsec[(allsec["corridor"] == str(routes)) & (allsec["kind"] == "section")]
        if sel.empty:
            raise data.NotFoundError(f"no corridor {routes!r}; CAREC corridors are 1 to 6")
        return sel.reset_index(drop=True)
    ids = [routes] if isinstance(routes, str) else list(routes)
    if not ids:
        raise data.NotFoundError("no routes given; pass None (all), a corridor number, section ids or a GeoDataFrame")
    rows = [data.section(i) for i in ids]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=allsec.crs).reset_index(drop=True)


def make_map(routes: Any = None, *, countries: bool = True, nodes: bool = True, tiles: str | None = "auto",
             offline: bool = False, labels: bool = False, title: str | None = None, subtitle: str = "",
             notes: Mapping[str, str] | None = None, bounds: Sequence[float] | None = None,
             _results: Mapping[str, analysis.RouteAnalysis] | None = None,
             _extra: Sequence[tuple[str, str, str]] = (), _legend_class: str = "", _panel: str = "",
             _fit: Mapping[str, Any] | None = None) -> folium.Map:
    """A Leaflet map of ``routes``: None (every section and key route), a corridor number (1-6), a list of
    section / key-route ids or names, or a GeoDataFrame of your own lines (any CRS; ``name`` column shown).

    ``tiles``: "auto" adds an OpenStreetMap basemap unless ``offline``; None for none; or a folium tile name.
    ``offline`` inlines Leaflet so the file requests nothing. ``labels`` writes each section id at its
    midpoint. ``notes`` maps a route id to trusted HTML at the top of its popup. ``bounds`` (lon0, lat0, lon1,
    lat1) overrides the fit to the routes. Save with ``render(m)`` (or ``m.save(path)``).
    """
    rows, catalogue, user = _select(routes), data.sections(), isinstance(routes, gpd.GeoDataFrame)
    if user or _results is None:
        results = analysis.analyze_many(rows if user else rows["id"].tolist())
    else:
        results = [_results[i] for i in rows["id"]]
    m = folium.Map(location=None, tiles=None, control_scale=True, zoom_snap=0.25)
    _assets(m)
    tiles = (None if offline else "OpenStreetMap") if tiles == "auto" else tiles
    if tiles is not None:
        if offline:
            raise ValueError("an offline map cannot load tiles; pass tiles=None")
        folium.TileLayer(tiles, name="Basemap", overlay=True, opacity=0.6).add_to(m)
    folium.map.CustomPane(BASE_PANE, z_index=340).add_to(m)
    folium.map.CustomPane(CHORO_PANE, z_index=360, pointer_events=True).add_to(m)
    if countries:
        _countries_layer(m, tiles is not None)
    groups = _route_features(rows, results, notes or {})
    entries: list[tuple[str, str, str]] = []
    for g in sorted(groups, key=lambda g: (g in ("key", "user"), g)):
        name = f'<span class="cr-sw" style="background:{_color(g)}"></span>{_e(_group_label(g))}'
        _layer(m, name, _geojson(groups[g]))
        entries.append(("line", _group_label(g).removesuffix("s"), _color(g)))
    if "basis" in rows and (rows["basis"] == "inferred").any():
        entries.append(("dash", "dashed = inferred (not sourced)", "#555"))
    if labels:
        fg = _layer(m, "Section labels")
        placed: list[shapely.Point] = []
        for _, row in rows.iterrows():  # sections share roads: put each label where it is farthest from the others
            spots = [row.geometry.interpolate(f, normalized=True) for f in (0.5, 0.35, 0.65, 0.2, 0.8)]
            p = max(spots, key=lambda q: min((q.distance(o) for o in placed), default=0.0))
            placed.append(p)
            _label(fg, p.y, p.x, _e(_get(row, "id", _get(row, "name", ""))))
    if nodes:
        used = set() if user else set(rows["id"])
        used_bcps = {c["bcp_id"] for a in results for c in a.crossings if c.get("bcp_id")}
        allnodes = data.nodes()
        for kind, label in (("bcp", "Border crossing points"), ("port", "Ports")):
            sel = allnodes[allnodes["kind"] == kind]
            if routes is not None:
                sel = sel[sel["sections"].map(lambda s: bool(used & set(s))) | sel["id"].isin(used_bcps)]
            if len(sel):
                _layer(m, label, _geojson(_node_features(sel, catalogue), marker=folium.CircleMarker(radius=5)))
                entries.append((kind, NODE_LABEL[kind], ""))
    if countries:
        entries.append(("fill", "CAREC member country", MEMBER_COLOR))
    folium.LayerControl(collapsed=False).add_to(m)
    x0, y0, x1, y1 = bounds if bounds is not None else rows.total_bounds
    legend = 30 if routes is None else 80 + 18 * (len(entries) + len(_extra))  # keep routes clear of it
    fit = _fit or {"padding_top_left": (30, 80), "padding_bottom_right": (30, legend)}  # title box on top
    m.fit_bounds([[float(y0), float(x0)], [float(y1), float(x1)]], **fit)
    _furnish(m, title or ("Routes" if user else "CAREC transport corridors"), subtitle,
             _legend([*entries, *_extra], _legend_class), _panel)
    return m


def render(m: folium.Map) -> str:
    """The map's standalone HTML: the view is set before any layer is added (each is drawn once, at its final
    zoom) and the layer control comes last (so it lists layers added to ``m`` after ``make_map``)."""
    for key, child in list(m._children.items()):
        if isinstance(child, folium.map.FitBounds):
            m._children.move_to_end(key, last=False)
        elif isinstance(child, folium.LayerControl):
            m._children.move_to_end(key)
    # compact embedded JSON; Jinja's tojson still writes <, >, & and ' as \u escapes, so no data can close a
    # <script>. (Policies are read on every call; swapping the filter itself would stick to cached templates.)
    policies = folium.GeoJson._template.environment.policies
    saved = policies["json.dumps_kwargs"]
    policies["json.dumps_kwargs"] = {"sort_keys": True, "separators": (",", ":")}
    try:
        return _figure(m).render()
    finally:
        policies["json.dumps_kwargs"] = saved


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
    km = {n["id"]: f"km {n['km']:,.0f}" for n in a.nodes if n["id"] in allnodes.index}
    sel = allnodes.loc[list(km)]
    fg = _layer(m, _e(f"Places (km from {origin})"))
    where = {k: f"{v} from {_e(origin)}" for k, v in km.items()}
    for kind in ("city", "waypoint", "port"):
        if (sel["kind"] == kind).any():
            _geojson(_node_features(sel[sel["kind"] == kind], data.sections(), where),
                     marker=folium.CircleMarker(radius=4)).add_to(fg)
    for _, row in sel[sel["kind"] != "waypoint"].iterrows():
        _label(fg, row.geometry.y, row.geometry.x, f"{_e(row['name'])} · {km[row['id']]}", "cr-above")


def _investment_layer(m: folium.Map) -> None:
    """CAREC investment per member country; members without a published figure hatched, never zero."""
    from .facts import carec_investment_by_country

    inv = carec_investment_by_country().set_index("iso_a3")
    feats = []
    for _, c in _base_geometry()["members"].iterrows():
        if c["iso_a3"] in inv.index:
            r = inv.loc[c["iso_a3"]]
            value = f"{(r['qualifier'] + ' ') if r['qualifier'] else ''}USD {r['value_usd_bn']:.2f} bn"
            tip = f"{_e(c['name'])}: {_e(value)} ({_e(r['as_of'])})"
            pop = f"{tip}<br>CAREC cumulative investment. Source: {_link(r['source_url'], r['as_of'])}"
            color = next(col for top, col in INVESTMENT_BINS if r["value_usd_bn"] < top)
            st = {"fillColor": color, "fillOpacity": 0.5, "color": "#b07030", "weight": 1}
        else:
            tip = f"{_e(c['name'])}: no figure"
            pop = f"{tip}: no published CAREC investment figure in the data (not zero)."
            st = {"fillColor": "hatch", "fillOpacity": 0.8, "color": "#999", "weight": 1}
        feats.append({"type": "Feature", "geometry": _round(c.geometry.simplify(COUNTRY_TOLERANCE)),
                      "properties": {"tip": tip, "popup": f'<div class="cr-pop">{pop}</div>', "st": st}})
    renderer = JsCode(f"L.canvas({{pane: '{CHORO_PANE}'}})")
    _layer(m, "CAREC investment by country", _geojson(feats, pane=CHORO_PANE, renderer=renderer, style=_HATCH_STYLE_FN))


def _investment_legend() -> list[tuple[str, str, str]]:
    lows = [0.0] + [top for top, _ in INVESTMENT_BINS[:-1]]
    return [*(("fill", f"USD {lo:g}–{top:g} bn" if top != math.inf else f"USD {lo:g} bn and more", col)
              for lo, (top, col) in zip(lows, INVESTMENT_BINS)), ("hatch", "no figure published", "")]


def _kazakhstan_panel(computed: Sequence[str]) -> str:
    """CAREC's 'four of six' next to the geometry's answer, the Kazakh–Chinese programme, investment."""
    from .facts import carec_investment_by_country, fact, kazakh_chinese_programme

    n = int(fact("kaz_carec_corridors")["value"])
    word = dict(enumerate("zero one two three four five six".split())).get(n, str(n))
    check = ('<span class="cr-ok">agrees ✓</span>' if n == len(computed) else
             f'<span class="cr-warn">⚠ DISAGREES: CAREC says {n}, the geometry gives {len(computed)}</span>')
    parts = [f"<h5>Corridors crossing Kazakhstan</h5>“{_e(word)} of the six corridors cross Kazakhstan” — CAREC "
             f"({_fact_link('kaz_carec_corridors')})<br>Computed from the geometry: {len(computed)} (corridors "
             f"{_e(', '.join(computed))}) — {check}"]
    src = fact("kcp_total_projects")
    rows = "".join(f"<tr><td>{_e(r['status'].replace('_', ' '))}</td><td>{r['projects']}</td><td>"
                   + ("<i>not published</i>" if math.isnan(r["value_usd_bn"]) else f"USD {r['value_usd_bn']:.2f} bn")
                   + "</td></tr>" for _, r in kazakh_chinese_programme().iterrows())
    parts.append(f"<h5>Kazakh–Chinese industrial cooperation programme</h5><table><tr><th>status</th><th>projects"
                 f"</th><th>value</th></tr>{rows}</table>as of {_e(src['as_of'])}, source: "
                 f"{_link(src['source_url'], src['source_id'])}")
    rows = "".join(f"<tr><td>{_e(r['iso_a3'])}</td><td>{_e(r['qualifier'] + ' ' if r['qualifier'] else '')}USD "
                   f"{r['value_usd_bn']:.2f} bn</td><td>{_link(r['source_url'], r['as_of'])}</td></tr>"
                   for _, r in carec_investment_by_country().iterrows())
    total = fact("carec_total_2023")
    parts.append(f"<h5>CAREC investment by country (cumulative)</h5><table><tr><th>country</th><th>value</th>"
                 f"<th>as of</th></tr>{rows}</table>All CAREC since 2001: USD {total['value']:.2f} bn "
                 f"({_link(total['source_url'], total['as_of'])}). Other members: no published figure.")
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


def build(out: str | Path = "maps", offline: bool = False) -> list[Path]:
    """Write the overview, corridor_1..6, almaty_bishkek, kazakhstan and index pages; return their paths.

    Every page is rendered before any is written, and each file is replaced atomically.
    """
    out, secs = Path(out), data.sections()
    results = dict(zip(secs["id"], analysis.analyze_many(secs["id"].tolist())))
    kw: dict[str, Any] = {"offline": offline, "_results": results}
    pages: list[tuple[str, str, str, str]] = []
    texts: dict[str, str] = {}

    def add(name: str, title: str, desc: str, figures: str, make: Any) -> None:
        with _stable_ids():
            texts[name] = render(make())
        pages.append((name, title, desc, figures))

    count = secs["kind"].value_counts()
    add("carec_corridors.html", "Overview: the six CAREC corridors", "every corridor section and key route, "
        "border crossing points and ports", f"{count.get('section', 0)} sections, {count.get('key_route', 0)} key "
        f"routes, {int((data.nodes()['kind'] == 'bcp').sum())} border crossing points",
        lambda: make_map(None, subtitle="Six corridors and the key routes", **kw))
    for c in sorted(COLORS):
        by = analysis.corridor_length_by_country(c)
        per = ", ".join(f"{k} {v:,.0f}" for k, v in by.items() if k != analysis.SEA)
        n = int(((secs["corridor"] == c) & (secs["kind"] == "section")).sum())
        add(f"corridor_{c}.html", f"Corridor {c}", f"the {n} sections of CAREC Corridor {c}, labelled",
            f"network {_km(sum(by.values()))} (shared stretches counted once); km by country: {per}",
            lambda c=c: make_map(c, labels=True, title=f"CAREC Corridor {c}",
                                 subtitle="Each section labelled with its id", **kw))
    ab = results["almaty-bishkek"]
    cross = "; ".join(f"{x['from']}→{x['to']} at km {x['km']:,.0f} ({x['bcp'] or x['via']})" for x in ab.crossings)

    def almaty() -> folium.Map:
        story = _almaty_bishkek_story()
        m = make_map(["almaty-bishkek"], title="Almaty – Bishkek", notes={"almaty-bishkek": story},
                     subtitle="CAREC's first project in Kazakhstan · Corridor 1",
                     _extra=[("city", "Town (km from Almaty)", "")],
                     _panel=f'<details open class="cr-box cr-panel"><summary>The road</summary>{story}</details>',
                     _fit={"padding_top_left": (90, 90), "padding_bottom_right": (90, 60)}, **kw)
        _chainage_layer(m, ab, "Almaty")
        return m

    add("almaty_bishkek.html", "Almaty – Bishkek", "the key route, its towns with km from Almaty and the border "
        "crossing; CAREC's first project in Kazakhstan", f"{_km(ab.length_km)}; crossing {cross}", almaty)
    crossing = analysis.corridors_crossing("KAZ")
    kaz_ids = secs.loc[(secs["kind"] == "section") & secs["corridor"].isin(crossing), "id"].tolist()
    kaz_ids += [i for i in KAZ_KEY_ROUTES if i in results]  # key routes still being added are skipped
    missing = [i for i in KAZ_KEY_ROUTES if i not in results]

    def kazakhstan() -> folium.Map:
        m = make_map(kaz_ids, title="Kazakhstan in CAREC and the Belt and Road",
                     subtitle=f"Corridors {', '.join(crossing)} and the key routes through Kazakhstan",
                     bounds=data.countries().set_index("iso_a3").loc["KAZ"].geometry.bounds,
                     _extra=_investment_legend(), _legend_class="cr-left", _panel=_kazakhstan_panel(crossing),
                     _fit={"padding_top_left": (300, 70), "padding_bottom_right": (340, 10)}, **kw)
        _investment_layer(m)
        return m

    add("kazakhstan.html", "Kazakhstan", "corridors crossing Kazakhstan, key routes, CAREC investment and the "
        "Kazakh–Chinese programme", f"corridors {', '.join(crossing)} cross Kazakhstan (computed from the "
        "geometry)" + (f"; not yet in the data: {', '.join(missing)}" if missing else ""), kazakhstan)
    texts["index.html"] = _index_html(pages)
    for name, text in texts.items():
        write_atomic(out / name, text)
    return [out / name for name in texts]
