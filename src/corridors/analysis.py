"""Route analysis: geodesic length, length per country (or any polygon layer), ordered border crossings.

A route is a section or key route (id or name), or the user's own line: a shapely (Multi)LineString, a
GeoJSON Feature or geometry dict, a GeoDataFrame row / one-row GeoDataFrame / GeoSeries in any CRS.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import math
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import borders, data, geodesy

BCP_MATCH_KM = 10.0  # a crossing is matched to a BCP node within this distance
PORT_MATCH_KM = 25.0  # a sea leg's ends are matched to port nodes within this distance
SEA = "sea"  # label of the length outside every polygon (open water, for the countries layer)
REGION = (20.0, 15.0, 130.0, 65.0)  # lon/lat box of the shipped data and boundaries


class RouteError(ValueError):
    """A route that cannot be analysed; the message names the problem and the fix."""


@dataclass(slots=True)
class RouteAnalysis:
    """Figures for one route. ``to_feature()`` gives a GeoJSON Feature with the figures and ``units: km``."""

    geometry: shapely.Geometry
    length_km: float
    length_by_country_km: dict[str, float]
    length_by_mode_km: dict[str, float]
    countries: list[str]
    crossings: list[dict[str, Any]]
    sea_legs: list[dict[str, Any]]
    nodes: list[dict[str, Any]] = field(default_factory=list)
    id: str | None = None
    name: str | None = None
    corridor: str | None = None
    mode: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The report schema (see README): plain JSON types, km rounded to 0.1 m."""
        return {
            "id": self.id, "name": self.name, "corridor": self.corridor, "mode": self.mode,
            "length_km": _r(self.length_km),
            "length_by_mode_km": {k: _r(v) for k, v in self.length_by_mode_km.items()},
            "length_by_country_km": {k: _r(v) for k, v in self.length_by_country_km.items()},
            "countries": list(self.countries),
            "crossings": rounded(self.crossings),
            "sea_legs": rounded(self.sea_legs),
            "nodes": rounded(self.nodes),
        }

    def to_feature(self) -> dict[str, Any]:
        """RFC 7946 Feature: the route's geometry with every figure in ``properties`` and ``units: "km"``."""
        props = self.to_dict()
        props["units"] = "km"
        return {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(self.geometry)}

    def to_json(self) -> str:
        return json.dumps(self.to_feature(), ensure_ascii=False)


def _r(v: float | None) -> float | None:
    return None if v is None else round(float(v), 4)


def rounded(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with every float rounded to 4 decimals (0.1 m for km), for stable JSON."""
    return [{k: _r(v) if isinstance(v, float) else v for k, v in rec.items()} for rec in records]


@functools.cache
def _countries_layer() -> borders.Layer:
    c = data.countries()
    return borders.Layer(c.geometry.values, c.iso_a3.tolist())


def make_layer(polygons: gpd.GeoDataFrame | None, id_column: str | None = None) -> borders.Layer:
    """A polygon layer for analysis: the shipped countries by default, or the user's own polygons."""
    if polygons is None:
        return _countries_layer()
    if not isinstance(polygons, gpd.GeoDataFrame):
        raise RouteError("countries= must be a GeoDataFrame of polygons with an id column (e.g. iso_a3)")
    col = id_column or ("iso_a3" if "iso_a3" in polygons.columns else None)
    if col is None or col not in polygons.columns:
        raise RouteError(f"name the polygons' id column with id_column= (columns: {list(polygons.columns)})")
    if polygons.crs is not None and not polygons.crs.equals("EPSG:4326"):
        polygons = polygons.to_crs(4326)
    polygons = polygons[polygons.geometry.notna() & ~polygons.geometry.is_empty]
    return borders.Layer(shapely.make_valid(polygons.geometry.values), polygons[col].tolist())


# ---------------------------------------------------------------- input handling

def _as_geometry(route: Any) -> tuple[shapely.Geometry, dict[str, Any]]:
    """The route's line in EPSG:4326 and what is known about it (id, name, nodes ...)."""
    meta: dict[str, Any] = {}
    if isinstance(route, str):
        rec = data.section_record(route)
        return rec["geometry"], rec
    if isinstance(route, gpd.GeoDataFrame):
        if len(route) != 1:
            raise RouteError(f"pass one route, got a GeoDataFrame of {len(route)} rows; use analyze_many()")
        gs = route.geometry
        meta = {k: v for k, v in route.iloc[0].items() if k != route.geometry.name}
        return _to_4326(gs.iloc[0], gs.crs), meta
    if isinstance(route, gpd.GeoSeries):
        if len(route) != 1:
            raise RouteError(f"pass one route, got a GeoSeries of {len(route)}; use analyze_many()")
        return _to_4326(route.iloc[0], route.crs), meta
    if isinstance(route, pd.Series):
        geom = route.get("geometry")
        if geom is None:
            raise RouteError("the row has no 'geometry' field")
        return geom, {k: v for k, v in route.items() if k != "geometry"}
    if isinstance(route, dict):
        if route.get("type") == "Feature":
            meta = dict(route.get("properties") or {})
            route = route.get("geometry")
        if not isinstance(route, dict) or "type" not in route:
            raise RouteError("a GeoJSON route needs a geometry object with 'type' and 'coordinates'")
        try:
            return shapely.geometry.shape(route), meta
        except Exception as exc:  # malformed coordinates
            raise RouteError(f"the GeoJSON geometry cannot be read ({exc}); check its coordinates") from exc
    if isinstance(route, shapely.Geometry):
        return route, meta
    raise RouteError(f"cannot analyse a {type(route).__name__}: pass a section id or name, a shapely LineString, "
                     "a GeoJSON Feature or a GeoDataFrame row")


def _to_4326(geom: shapely.Geometry, crs: Any) -> shapely.Geometry:
    if crs is None or geom is None:
        return geom
    return gpd.GeoSeries([geom], crs=crs).to_crs(4326).iloc[0]


def _parts(geom: shapely.Geometry) -> list[np.ndarray]:
    """Coordinate arrays of a (Multi)LineString in lon/lat, checked for the usual mistakes."""
    if geom is None or geom.is_empty:
        raise RouteError("the route geometry is empty; pass a LineString with at least two (lon, lat) points")
    if geom.geom_type in ("Point", "MultiPoint"):
        raise RouteError("a single point is not a route; pass a LineString of at least two (lon, lat) points")
    if geom.geom_type not in ("LineString", "MultiLineString"):
        raise RouteError(f"a route must be a LineString or MultiLineString, not a {geom.geom_type}")
    parts = [np.asarray(p.coords)[:, :2] for p in getattr(geom, "geoms", [geom])]
    for p in parts:
        bad = np.flatnonzero(~np.isfinite(p).all(axis=1))
        if len(bad):
            raise RouteError(f"the route has NaN or infinite coordinates at vertex {int(bad[0])}; drop or fix them")
        if len(p) < 2 or np.ptp(p, axis=0).max() < 1e-9:
            raise RouteError("the route needs at least two distinct points")
    xy = np.concatenate(parts)
    if (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
        raise RouteError(f"coordinates such as ({xy[0, 0]:.6g}, {xy[0, 1]:.6g}) are not degrees: they look like "
                         "projected metres. Pass lon/lat (EPSG:4326), or a GeoDataFrame with its CRS set so it "
                         "can be transformed")
    if not _touches_region(xy) and _touches_region(xy[:, ::-1]):
        raise RouteError("the coordinates look like (lat, lon); GeoJSON and shapely order them (lon, lat). "
                         "Swap them, e.g. shapely.ops.transform(lambda x, y: (y, x), geom)")
    return parts


def _parts_many(geoms: list[shapely.Geometry]) -> list[list[np.ndarray]]:
    """``_parts`` for many routes: one vectorised pass when every route is a sound line in lon/lat; else the
    per-route checks run, so the first bad route raises its own clear error."""
    arr = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(arr)  # 1 LineString, 5 MultiLineString; None gives -1
    if np.isin(types, (1, 5)).all() and not shapely.is_empty(arr).any():
        parts, owner = shapely.get_parts(arr, return_index=True)
        xy, pidx = shapely.get_coordinates(parts, return_index=True)
        starts = np.flatnonzero(np.r_[True, pidx[1:] != pidx[:-1]])
        counts = np.diff(np.r_[starts, len(pidx)])
        lo, hi = np.minimum.reduceat(xy, starts), np.maximum.reduceat(xy, starts)
        rlo = np.full((len(arr), 2), np.inf)
        rhi = np.full((len(arr), 2), -np.inf)
        np.minimum.at(rlo, owner, lo)
        np.maximum.at(rhi, owner, hi)
        in_region = ((rlo[:, 0] <= REGION[2]) & (rhi[:, 0] >= REGION[0])
                     & (rlo[:, 1] <= REGION[3]) & (rhi[:, 1] >= REGION[1]))
        sound = (np.isfinite(xy).all() and (np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all()
                 and len(parts) == len(starts) and (counts >= 2).all() and ((hi - lo).max(axis=1) >= 1e-9).all()
                 and in_region.all())
        if sound:
            ends = np.append(starts[1:], len(xy)).tolist()
            chunks = [xy[i:j] for i, j in zip(starts.tolist(), ends)]  # views; np.split is slower per piece
            out: list[list[np.ndarray]] = [[] for _ in range(len(arr))]
            for o, c in zip(owner, chunks):
                out[o].append(c)
            return out
    return [_parts(g) for g in geoms]


def _touches_region(xy: np.ndarray) -> bool:
    """Whether the line's bounding box overlaps the region of the shipped data."""
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    return bool(x0 <= REGION[2] and x1 >= REGION[0] and y0 <= REGION[3] and y1 >= REGION[1])


# ---------------------------------------------------------------- figures

def _figures_many(runs: borders.Runs, labels: list[str | None], nparts: list[int], outside: str
                  ) -> list[dict[str, Any]]:
    """Figures of each route from the runs of its parts (``nparts`` lines per route, in order)."""
    bounds = np.searchsorted(runs.line, np.arange(sum(nparts) + 1)).tolist()
    lab = np.asarray(labels, dtype=object)[runs.label].tolist()
    a, b = runs.start_km.tolist(), runs.end_km.tolist()
    s, e = runs.start.tolist(), runs.end.tolist()
    out: list[dict[str, Any]] = []
    line = 0
    for n in nparts:
        i0, i1 = bounds[line], bounds[line + n]
        if n == 1 and i1 - i0 == 1:  # most routes: one run in one polygon (or outside all)
            lb, km = lab[i0], b[i0]
            out.append({"length_km": km, "length_by_country_km": {outside if lb is None else lb: km - a[i0]},
                        "countries": [] if lb is None else [lb], "crossings": [], "sea_legs": []})
        elif n == 1:
            out.append(_figures([(lab[i], a[i], b[i], s[i], e[i]) for i in range(i0, i1)], outside))
        else:  # parts joined end to end: km offset by the parts before
            flat: list[tuple[Any, ...]] = []
            offset = 0.0
            for ln in range(line, line + n):
                flat += [(lab[i], a[i] + offset, b[i] + offset, s[i], e[i]) for i in range(bounds[ln], bounds[ln + 1])]
                offset = flat[-1][2]
            out.append(_figures(flat, outside))
        line += n
    return out


def _figures(flat: list[tuple[Any, ...]], outside: str) -> dict[str, Any]:
    """Length per polygon, ordered polygons, crossings and sea legs from a route's runs
    (label or None, start km, end km, start lon/lat, end lon/lat), in one pass."""
    by: dict[str, float] = {}
    countries: list[str] = []
    crossings: list[dict[str, Any]] = []
    sea_legs: list[dict[str, Any]] = []
    last_land = None  # the previous run inside a polygon
    n = len(flat)
    for i, run in enumerate(flat):
        lab, a, b, s, e = run
        if lab is None:
            by[outside] = by.get(outside, 0.0) + (b - a)
            if 0 < i < n - 1:
                sea_legs.append({"from_country": str(flat[i - 1][0]), "to_country": str(flat[i + 1][0]),
                                 "start_km": a, "end_km": b, "length_km": b - a,
                                 "from_lon": s[0], "from_lat": s[1], "to_lon": e[0], "to_lat": e[1]})
            continue
        by[lab] = by.get(lab, 0.0) + (b - a)
        if last_land is None:
            countries.append(lab)
        elif last_land[0] != lab:
            crossings.append({"from": last_land[0], "to": lab, "lon": s[0], "lat": s[1], "km": a,
                              "via": "sea" if a > last_land[2] + 1e-9 else "land"})
            countries.append(lab)
        last_land = run
    return {"length_km": flat[-1][2] if flat else 0.0, "length_by_country_km": by, "countries": countries,
            "crossings": crossings, "sea_legs": sea_legs}


@functools.cache
def _nodes_xy(kind: str) -> tuple[np.ndarray, list[dict[str, Any]], np.ndarray, np.ndarray]:
    """Coordinates, id/name/joins, the sorted 'A|B' joins key and the order by latitude of the nodes of one kind
    (cached)."""
    n = _nodes_frame()
    n = n[n["kind"] == kind]
    rows = n[["id", "name", "joins"]].to_dict("records")
    keys = np.array(["|".join(sorted(set(r["joins"] or []))) for r in rows], dtype=object)
    xy = shapely.get_coordinates(n.geometry.values)
    return xy, rows, keys, np.argsort(xy[:, 1], kind="stable")


def _nearest(points: list[tuple[float, float]], kind: str, limit_km: float,
             joins: list[set[str]] | None = None) -> list[dict[str, Any] | None]:
    """For each (lon, lat): the nearest node of ``kind`` within ``limit_km`` (preferring the given joins)."""
    xy, rows, keys, by_lat = _nodes_xy(kind)
    out: list[dict[str, Any] | None] = [None] * len(points)
    if not points or not len(xy):
        return out
    p = np.asarray(points, dtype=float)
    # cheap screen: nodes in the latitude band, then equirectangular distance (1 deg lat = 111.3 km), then
    # geodesic distances for the pairs that pass
    screen_km = limit_km * 1.5 + 1.0
    lat = xy[by_lat, 1]
    lo = np.searchsorted(lat, p[:, 1] - screen_km / 111.3, side="left")
    cnt = np.searchsorted(lat, p[:, 1] + screen_km / 111.3, side="right") - lo
    k_idx = np.repeat(np.arange(len(p)), cnt)
    n_idx = by_lat[np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(int(cnt.sum()))]
    dx = (p[k_idx, 0] - xy[n_idx, 0]) * np.cos(np.radians(p[k_idx, 1])) * 111.3
    dy = (p[k_idx, 1] - xy[n_idx, 1]) * 111.3
    near = np.hypot(dx, dy) <= screen_km
    k_idx, n_idx = k_idx[near], n_idx[near]
    d = np.asarray(geodesy.GEOD.inv(p[k_idx, 0], p[k_idx, 1], xy[n_idx, 0], xy[n_idx, 1])[2]) / 1000.0
    ok = d <= limit_km
    k_idx, n_idx, d = k_idx[ok], n_idx[ok], d[ok]
    if joins is not None:
        want = np.array(["|".join(sorted(j)) for j in joins], dtype=object)
        other = (keys[n_idx] != want[k_idx]).astype(np.int8)
    else:
        other = np.zeros(len(k_idx), dtype=np.int8)
    order = np.lexsort((n_idx, d, other, k_idx))  # per point: matching joins first, then the nearest
    head = np.ones(len(order), dtype=bool)
    head[1:] = k_idx[order][1:] != k_idx[order][:-1]
    first = order[head]
    for k, n, km in zip(k_idx[first].tolist(), n_idx[first].tolist(), d[first].tolist()):
        out[k] = {**rows[n], "km": km}
    return out


def _match(figs: list[dict[str, Any]], countries_layer: bool) -> None:
    """Name the BCP of every land crossing and the ports of every sea leg, in one batch for all routes."""
    land = []
    for f in figs:
        for c in f["crossings"]:
            c["bcp"] = c["bcp_id"] = c["bcp_km"] = None
            if countries_layer and c["via"] == "land":
                land.append(c)
    hits = _nearest([(c["lon"], c["lat"]) for c in land], "bcp", BCP_MATCH_KM, [{c["from"], c["to"]} for c in land])
    for c, hit in zip(land, hits):
        if hit:
            c.update(bcp=hit["name"], bcp_id=hit["id"], bcp_km=hit["km"])
    legs = [s for f in figs for s in f["sea_legs"]]
    for end in ("from", "to"):
        for s, hit in zip(legs, _nearest([(s[f"{end}_lon"], s[f"{end}_lat"]) for s in legs], "port", PORT_MATCH_KM)):
            s[f"{end}_port"] = hit["name"] if hit else None


@functools.cache
def _nodes_frame() -> gpd.GeoDataFrame:
    return data.nodes()


@functools.cache
def _node_table() -> dict[str, tuple[float, float, str, str, str | None]]:
    """Every node's lon, lat, name, kind and country by id (cached: no pandas per call)."""
    n = _nodes_frame()
    xy = shapely.get_coordinates(n.geometry.values).tolist()
    return {i: (x, y, name, kind, country) for i, (x, y), name, kind, country
            in zip(n["id"], xy, n["name"], n["kind"], n["country"])}


@functools.lru_cache(maxsize=4096)
def _chainage(ids: tuple[str, ...]) -> tuple[list[float], list[float]]:
    """Geodesic length of each leg between consecutive nodes and the km of each node (cached per node list)."""
    table = _node_table()
    missing = [i for i in ids if i not in table]
    if missing:
        raise KeyError(missing)
    xy = np.array([table[i][:2] for i in ids])
    leg = geodesy.segment_lengths_m(xy[:, 0], xy[:, 1]) / 1000.0
    return leg.tolist(), np.concatenate([[0.0], np.cumsum(leg)]).tolist()


def _section_nodes(meta: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Chainage of a section's nodes and its length by mode (road / rail / multimodal / ferry)."""
    ids = list(meta.get("nodes") or [])
    if not ids:
        return [], {}
    table = _node_table()
    rows = [table[i] for i in ids]
    leg, km = _chainage(tuple(ids))
    by_mode: dict[str, float] = {}
    for m, d in zip(meta.get("leg_modes") or [], leg):
        by_mode[m] = by_mode.get(m, 0.0) + d
    out = [{"id": i, "name": r[2], "kind": r[3], "country": r[4], "km": k} for i, r, k in zip(ids, rows, km)]
    return out, by_mode


def analyze(route: Any, *, countries: gpd.GeoDataFrame | None = None, id_column: str | None = None) -> RouteAnalysis:
    """Length, length per country, ordered crossings (with their BCPs), sea legs and chainage of one route.

    ``countries`` may be any polygon layer (provinces, protected areas ...) with ``id_column``; then
    ``length_by_country_km`` is keyed by that column and length outside every polygon is under "outside".
    """
    return analyze_many([route], countries=countries, id_column=id_column)[0]


CHUNK = 5000  # routes analysed per batch: memory stays linear in the number of routes


def analyze_many(routes: Iterable[Any] | gpd.GeoDataFrame, *, countries: gpd.GeoDataFrame | None = None,
                 id_column: str | None = None) -> list[RouteAnalysis]:
    """``analyze`` for many routes, vectorised over batches of ``CHUNK`` routes (a GeoDataFrame's rows, or any
    iterable)."""
    if isinstance(routes, gpd.GeoDataFrame):
        frame = routes.to_crs(4326) if routes.crs is not None else routes
        items: list[Any] = [row for _, row in frame.iterrows()]
    else:
        items = list(routes)
    layer = make_layer(countries, id_column)
    outside = SEA if countries is None else "outside"
    results: list[RouteAnalysis] = []
    with _gc_paused():
        for i in range(0, len(items), CHUNK):
            results += _analyze_batch(items[i:i + CHUNK], layer, outside, countries is None)
    return results


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a batch allocates hundreds of thousands of small dicts and lists
    (no cycles among them), and the collector's passes over them took half the time of the whole analysis."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _analyze_batch(items: list[Any], layer: borders.Layer, outside: str, countries_layer: bool) -> list[RouteAnalysis]:
    parsed = [_as_geometry(r) for r in items]
    parts = _parts_many([g for g, _ in parsed])
    flat = [p for ps in parts for p in ps]
    runs = borders.split(flat, layer)
    labels: list[str | None] = [*map(str, layer.labels), None]
    figs = _figures_many(runs, labels, [len(ps) for ps in parts], outside)
    _match(figs, countries_layer)
    results = []
    for (geom, meta), fig in zip(parsed, figs):
        if not meta:  # a bare geometry: nothing known beyond the figures
            results.append(RouteAnalysis(geom, fig["length_km"], fig["length_by_country_km"],
                                         {"unspecified": fig["length_km"]}, fig["countries"], fig["crossings"],
                                         fig["sea_legs"]))
            continue
        nodes, by_mode = _section_nodes(meta)
        if not by_mode:
            by_mode = {str(meta.get("mode") or "unspecified"): fig["length_km"]}
        else:  # leg lengths are node-to-node geodesics; scale away the sub-metre densification residue
            scale = fig["length_km"] / sum(by_mode.values())
            by_mode = {m: v * scale for m, v in by_mode.items()}
        results.append(RouteAnalysis(
            geometry=geom, nodes=nodes, length_by_mode_km=by_mode,
            id=_opt(meta.get("id")), name=_opt(meta.get("name")), corridor=_opt(meta.get("corridor")),
            mode=_opt(meta.get("mode")), **fig,
        ))
    return results


def _opt(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return str(v)


# ---------------------------------------------------------------- corridor level

def _corridor_sections(corridor: str | int) -> gpd.GeoDataFrame:
    secs = data.sections("section")
    secs = secs[secs["corridor"] == str(corridor)]
    if secs.empty:
        raise RouteError(f"no corridor {corridor!r}; CAREC corridors are 1 to 6")
    return secs


def corridor_length_by_country(corridor: str | int, *, countries: gpd.GeoDataFrame | None = None,
                               id_column: str | None = None) -> dict[str, float]:
    """Length per country of a whole corridor, sections that share a road counted once (km)."""
    merged = shapely.line_merge(shapely.union_all(_corridor_sections(corridor).geometry.values))
    layer = make_layer(countries, id_column)
    parts = [np.asarray(g.coords) for g in getattr(merged, "geoms", [merged])]
    outside = SEA if countries is None else "outside"
    runs = borders.split(parts, layer)
    labels = [*map(str, layer.labels), outside]
    by: dict[str, float] = {}
    for lab, km in zip(runs.label.tolist(), (runs.end_km - runs.start_km).tolist()):
        by[labels[lab]] = by.get(labels[lab], 0.0) + km
    return dict(sorted(by.items(), key=lambda kv: -kv[1]))


def analyze_corridor(corridor: str | int, *, countries: gpd.GeoDataFrame | None = None,
                     id_column: str | None = None) -> RouteAnalysis:
    """A whole corridor as one network: union length and length per country (shared roads counted once),
    countries by km, and the distinct border crossings of its sections (``km`` is None: a network has no
    single start)."""
    secs = _corridor_sections(corridor)
    by = corridor_length_by_country(corridor, countries=countries, id_column=id_column)
    seen: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for r in analyze_many(secs.id.tolist(), countries=countries, id_column=id_column):
        for c in r.crossings:
            entry = seen.get((c["from"], c["to"], c["bcp_id"])) or seen.get((c["to"], c["from"], c["bcp_id"]))
            if entry is None:
                seen[(c["from"], c["to"], c["bcp_id"])] = {**c, "km": None, "sections": [r.id]}
            else:
                entry["sections"].append(r.id)
    outside = SEA if countries is None else "outside"
    return RouteAnalysis(
        geometry=shapely.union_all(secs.geometry.values), length_km=sum(by.values()), length_by_country_km=by,
        length_by_mode_km={}, countries=[k for k in by if k != outside], crossings=list(seen.values()),
        sea_legs=[], id=f"corridor-{corridor}", name=f"CAREC Corridor {corridor}", corridor=str(corridor),
        mode="multimodal",
    )


def _corridor_ids() -> list[str]:
    return sorted(set(data.sections("section")["corridor"].dropna()), key=lambda c: (len(c), c))


def corridors_crossing(iso3: str, *, min_km: float = 1.0, countries: gpd.GeoDataFrame | None = None,
                       id_column: str | None = None) -> list[str]:
    """Ids of the CAREC corridors whose geometry runs at least ``min_km`` inside the country ``iso3`` (or the
    polygon with that id in your own ``countries`` layer)."""
    code = iso3.upper() if countries is None else iso3
    labels = set(data.countries().iso_a3) if countries is None else set(make_layer(countries, id_column).labels)
    if code not in labels:
        raise RouteError(f"unknown country code {iso3!r}; use ISO3 codes such as KAZ, KGZ, CHN")
    return [c for c in _corridor_ids()
            if corridor_length_by_country(c, countries=countries, id_column=id_column).get(code, 0.0) >= min_km]


def corridor_summary(*, countries: gpd.GeoDataFrame | None = None, id_column: str | None = None) -> pd.DataFrame:
    """One row per corridor and country: km inside it (overlaps counted once). Wide table, km."""
    rows: dict[Hashable, dict[str, float]] = {
        c: corridor_length_by_country(c, countries=countries, id_column=id_column) for c in _corridor_ids()}
    return pd.DataFrame(rows).T.fillna(0.0).rename_axis("corridor")
