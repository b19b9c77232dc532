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
import warnings
import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import borders, data, geodesy

BCP_MATCH_KM = 10.0  # a crossing is matched to a BCP node within this distance
PORT_MATCH_KM = 25.0  # a sea leg's ends are matched to port nodes within this distance
SEA = "sea"  # label of open water: outside every country but inside the frame of the countries layer
OUTSIDE = "outside"  # label of length outside the data: beyond the countries' frame, or outside a user's layer
REGION = (20.0, 15.0, 130.0, 65.0)  # lon/lat box of the shipped data and boundaries
FRAME = (25.0, 20.0, 125.0, 60.0)  # the box the shipped countries are clipped to (scripts/build_countries.py)
GAP_KM = 0.001  # consecutive parts further apart than this (1 m) leave a gap: nothing is inferred across it
ON_BOUNDARY_DEG = 1e-6  # a run this close (about 0.1 m) to a boundary along its whole length runs along it
assert ON_BOUNDARY_DEG < borders.GRID_MARGIN_DEG  # a clear grid cell of the layer has no boundary this close
SWAP_NEAR_DEG = 0.1  # an end this close (about 10 km) to a node or town of 15,000+ is near a known place
SWAP_AT_DEG = 0.02  # an end this close (about 2 km) to one is at it


class RouteError(ValueError):
    """A route that cannot be analysed; the message names the problem and the fix."""


class OutsideDataWarning(UserWarning):
    """Part of a route lies outside the data (no country is known there), or its lon/lat may be swapped."""


@dataclass
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
    gaps: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    year: int | None = None  # CPMM data year of time_h / cost_usd (None: the latest figures)
    assume_mode: str | None = None  # 'road' / 'rail': CPMM mode for multimodal or unknown-mode legs

    @property
    def time_h(self) -> dict[str, float | None]:
        """Hours with and without delay, broken down into moving, border and ferry (``timecost.assess``)."""
        return self._timecost()["time_h"]  # type: ignore[no-any-return]

    @property
    def cost_usd(self) -> dict[str, float | None]:
        """USD: border (TFI2) + distance (TFI3 per km) + ferry, and the total."""
        return self._timecost()["cost_usd"]  # type: ignore[no-any-return]

    @property
    def timecost(self) -> dict[str, Any]:
        """Per-country legs, per-crossing records (hours, USD, CPMM figures) and why anything is unknown."""
        return self._timecost()["timecost"]  # type: ignore[no-any-return]

    def _timecost(self) -> dict[str, Any]:
        from . import timecost  # figures from geodata/cpmm.csv, computed on first use for the current year/mode

        key = (self.year, self.assume_mode)
        cached = self.__dict__.get("_timecost_cache")
        if cached is None or cached[0] != key:
            cached = self.__dict__["_timecost_cache"] = (key, timecost.assess(self, self.year, self.assume_mode))
        return cached[1]

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
            "year": self.year, "time_h": {k: _r(v) for k, v in self.time_h.items()},
            "cost_usd": {k: _r(v) for k, v in self.cost_usd.items()}, "timecost": _rounded_tree(self.timecost),
            "gaps": rounded(self.gaps),
            "warnings": list(self.warnings),
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


def _rounded_tree(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 4)
    if isinstance(v, dict):
        return {k: _rounded_tree(x) for k, x in v.items()}
    return [_rounded_tree(x) for x in v] if isinstance(v, list | tuple) else v


def rounded(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with every float rounded to 4 decimals (0.1 m for km), for stable JSON."""
    return [{k: _r(v) if isinstance(v, float) else v for k, v in rec.items()} for rec in records]


LAYER_CACHE_VERSION = 1  # a new number for any change of what borders.boundary_edges computes


@functools.cache
def _countries_layer() -> borders.Layer:
    polygons, iso_a3 = data.shapes("countries.geojson", "iso_a3")  # no frame built: only these two are needed
    key = f"{data.file_sha256(data.geodata_dir() / 'countries.geojson')}:{borders.EDGE_VERTICES}:{LAYER_CACHE_VERSION}"
    edges, _ = data.cached_arrays("countries-edges", key, lambda: (borders.boundary_edges(polygons), None))
    return borders.Layer(polygons, iso_a3, edges=edges)


def make_layer(polygons: gpd.GeoDataFrame | None, id_column: str | None = None) -> borders.Layer:
    """A polygon layer for analysis: the shipped countries by default, or the user's own polygons."""
    if polygons is None:
        return _countries_layer()
    if not isinstance(polygons, gpd.GeoDataFrame):
        raise RouteError("countries= must be a GeoDataFrame of polygons with an id column (e.g. iso_a3)")
    col = id_column or ("iso_a3" if "iso_a3" in polygons.columns else None)
    if col is None or col not in polygons.columns:
        raise RouteError(f"name the polygons' id column with id_column= (columns: {list(polygons.columns)})")
    polygons = polygons[polygons.geometry.notna() & ~polygons.geometry.is_empty]
    polygons = polygons[polygons.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polygons.empty:
        raise RouteError("countries= holds no polygons (it is empty, or holds only points or lines); pass a "
                         "GeoDataFrame of Polygon / MultiPolygon areas")
    missing = polygons[col].isna()
    if missing.any():
        raise RouteError(f"countries=: the id column {col!r} is empty (NaN/None) in {int(missing.sum())} polygon(s), "
                         f"rows {polygons.index[missing].tolist()[:5]}; fill or drop those rows")
    x0, y0, x1, y1 = polygons.total_bounds
    degrees = -180.5 <= x0 and x1 <= 180.5 and -90.5 <= y0 and y1 <= 90.5
    if polygons.crs is None and not degrees:
        raise RouteError(f"countries= has no CRS and its coordinates (x {x0:.6g}..{x1:.6g}, y {y0:.6g}..{y1:.6g}) are "
                         "not lon/lat degrees; set its CRS, e.g. polygons.set_crs('EPSG:3857')")
    if polygons.crs is not None and not polygons.crs.equals("EPSG:4326"):
        check_crs_units(polygons.crs, np.array([[x0, y0], [x1, y1]]), "countries=")
        polygons = polygons.to_crs(4326)
    return borders.Layer(shapely.make_valid(polygons.geometry.values), polygons[col].tolist())


# ---------------------------------------------------------------- input handling

def _as_geometry(route: Any) -> tuple[shapely.Geometry, dict[str, Any]]:
    """The route's line in EPSG:4326 and what is known about it (id, name, nodes ...)."""
    meta: dict[str, Any] = {}
    if isinstance(route, shapely.Geometry):
        return route, meta
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
        if not isinstance(geom, shapely.Geometry):
            raise RouteError("the row has no shapely 'geometry' field; pass a GeoDataFrame row with a line")
        return geom, {k: v for k, v in route.items() if k != "geometry"}
    if isinstance(route, dict):
        if route.get("type") == "FeatureCollection":
            raise RouteError("a FeatureCollection holds many routes; use analyze_many(fc) (or "
                             "analyze(fc['features'][0]) for the first one)")
        crs = _geojson_crs(route)
        if route.get("type") == "Feature":
            meta = dict(route.get("properties") or {})
            route = route.get("geometry")
        if not isinstance(route, dict) or "type" not in route:
            raise RouteError("a GeoJSON route needs a geometry object with 'type' and 'coordinates'")
        try:
            geom = shapely.geometry.shape(route)
        except Exception as exc:  # malformed coordinates
            raise RouteError(f"the GeoJSON geometry cannot be read ({exc}); check its coordinates") from exc
        return _to_4326(geom, crs), meta
    raise RouteError(f"cannot analyse a {type(route).__name__}: pass a section id or name, a shapely LineString, "
                     "a GeoJSON Feature or a GeoDataFrame row")


def _geojson_crs(obj: dict[str, Any]) -> Any:
    """The CRS named by an (obsolete, pre-RFC 7946) GeoJSON ``crs`` member, or None."""
    member = obj.get("crs")
    if member is None and isinstance(obj.get("geometry"), dict):
        member = obj["geometry"].get("crs")
    if not member:
        return None
    name = (member.get("properties") or {}).get("name") if isinstance(member, dict) else None
    if not isinstance(name, str):
        raise RouteError(f"the GeoJSON 'crs' member {member!r} names no CRS; remove it (RFC 7946 GeoJSON is always "
                         "lon/lat, EPSG:4326)")
    try:
        import pyproj

        return pyproj.CRS.from_user_input(name)
    except Exception as exc:
        raise RouteError(f"the GeoJSON 'crs' member names an unknown CRS {name!r}; remove it (RFC 7946 GeoJSON is "
                         "always lon/lat, EPSG:4326)") from exc


def check_crs_units(crs: Any, xy: np.ndarray, what: str) -> None:
    """Refuse a projected CRS (metres, feet ...) whose coordinates are all small enough to be degrees."""
    import pyproj

    c = pyproj.CRS.from_user_input(crs)
    if c.is_geographic or not len(xy):
        return
    if (np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all():
        raise RouteError(f"{what}: the CRS says {c.to_string()} (projected, in {c.axis_info[0].unit_name}s) but the "
                         f"coordinates, e.g. ({xy[0, 0]:.6g}, {xy[0, 1]:.6g}), look like lon/lat degrees; fix the "
                         "CRS (gdf.set_crs(4326, allow_override=True)) or remove the file's 'crs' member")


def _to_4326(geom: shapely.Geometry, crs: Any) -> shapely.Geometry:
    if crs is None or geom is None:
        return geom
    import pyproj

    if pyproj.CRS.from_user_input(crs).equals("EPSG:4326"):
        return geom
    check_crs_units(crs, shapely.get_coordinates(geom), "the route")
    return gpd.GeoSeries([geom], crs=crs).to_crs(4326).iloc[0]


def _antimeridian_lat(a: np.ndarray, b: np.ndarray) -> float:
    """Latitude where the geodesic from a to b (lon/lat) crosses lon ±180, by bisection along it."""
    az, _, dist = geodesy.GEOD.inv(a[0], a[1], b[0], b[1])
    lo, hi = 0.0, float(dist)
    east = a[0] > 0
    for _ in range(60):
        mid = (lo + hi) / 2
        lon = geodesy.GEOD.fwd(a[0], a[1], az, mid)[0]
        if (lon > 0) == east:  # still on a's side of the antimeridian
            lo = mid
        else:
            hi = mid
    return float(geodesy.GEOD.fwd(a[0], a[1], az, (lo + hi) / 2)[1])


def _split_antimeridian(p: np.ndarray) -> list[np.ndarray]:
    """Cut a part where a segment spans more than 180 degrees of longitude: such a segment crosses the
    antimeridian (the short way, as its geodesic does); the pieces meet at lon ±180."""
    if not (np.abs(np.diff(p[:, 0])) > 180).any():
        return [p]
    out, cur = [], [p[0]]
    for a, b in zip(p[:-1], p[1:]):
        if abs(b[0] - a[0]) > 180:
            edge = 180.0 if a[0] > 0 else -180.0
            y = _antimeridian_lat(a, b)
            cur.append(np.array([edge, y]))
            out.append(np.array(cur))
            cur = [np.array([-edge, y])]
        cur.append(b)
    out.append(np.array(cur))
    return [q for q in out if len(q) >= 2 and np.ptp(q, axis=0).max() > 0]


def _parts(geom: shapely.Geometry) -> list[np.ndarray]:
    """Coordinate arrays of a (Multi)LineString in lon/lat, checked for the usual mistakes.

    Heights and measures (Z, M) are dropped: lengths are on the ellipsoid. A segment spanning more than 180
    degrees of longitude crosses the antimeridian and is cut there.
    """
    if geom is None or geom.is_empty:
        raise RouteError("the route geometry is empty; pass a LineString with at least two (lon, lat) points")
    if geom.geom_type in ("Point", "MultiPoint"):
        raise RouteError("a single point is not a route; pass a LineString of at least two (lon, lat) points")
    if geom.geom_type not in ("LineString", "MultiLineString"):
        raise RouteError(f"a route must be a LineString or MultiLineString, not a {geom.geom_type}")
    parts = [np.asarray(p.coords)[:, :2] for p in getattr(geom, "geoms", [geom]) if not p.is_empty]
    if not parts:
        raise RouteError("the route geometry is empty; pass a LineString with at least two (lon, lat) points")
    for k, p in enumerate(parts):
        bad = np.flatnonzero(~np.isfinite(p).all(axis=1))
        if len(bad):
            raise RouteError(f"the route has NaN or infinite coordinates at vertex {int(bad[0])}"
                             + (f" of part {k + 1}" if len(parts) > 1 else "") + "; drop or fix them")
        if len(p) < 2 or np.ptp(p, axis=0).max() < 1e-9:
            raise RouteError("the route needs at least two distinct points"
                             + (f" in every part (part {k + 1} has not)" if len(parts) > 1 else ""))
    xy = np.concatenate(parts)
    lon_ok, lat_ok = np.abs(xy[:, 0]) <= 180, np.abs(xy[:, 1]) <= 90
    if not (lon_ok & lat_ok).all():
        i = int(np.flatnonzero(~(lon_ok & lat_ok))[0])
        x, y = xy[i]
        if lat_ok.all() and (xy[:, 0] >= -180).all() and (xy[:, 0] <= 360).all():
            raise RouteError(f"longitude {x:.6g} is beyond 180: the line counts longitude 0..360. Convert it to "
                             "-180..180 (lon - 360 where lon > 180), e.g. shapely.transform(geom, lambda xy: "
                             "np.where(xy > 180, xy - 360, xy)) on the x column")
        if (np.abs(xy[:, 1]) <= 180).all() and (np.abs(xy[:, 0]) <= 90).all():
            raise RouteError(f"latitude {y:.6g} is beyond ±90 while every longitude is within ±90: the coordinates are "
                             "(lat, lon); GeoJSON and shapely order them (lon, lat). Swap them, e.g. "
                             "shapely.ops.transform(lambda x, y: (y, x), geom)")
        raise RouteError(f"coordinates such as ({x:.6g}, {y:.6g}) are not degrees: they look like projected "
                         "metres. Pass lon/lat (EPSG:4326), or a GeoDataFrame with its CRS set so it can be "
                         "transformed")
    return [q for p in parts for q in _split_antimeridian(p)]


def _box(xy: np.ndarray) -> tuple[float, float, float, float]:
    """Lon/lat box of an (n, 2) array (column by column: 20x faster than ``min(axis=0)`` on a long array)."""
    x, y = xy[:, 0], xy[:, 1]
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


def _parts_many(geoms: list[shapely.Geometry]) -> tuple[list[list[np.ndarray]], np.ndarray, np.ndarray]:
    """``_parts`` for many routes: one vectorised pass when every route is a sound line in lon/lat; else the
    per-route checks run, so the first bad route raises its own clear error. Also gives every part's vertices
    as one flat (n, 2) array, part after part, and each part's vertex count."""
    if not geoms:
        return [], np.empty((0, 2)), np.empty(0, dtype=np.int64)
    if len(geoms) == 1 and isinstance(geoms[0], shapely.LineString):  # one line: the same checks, fewer steps
        xy = shapely.get_coordinates(geoms[0])
        if len(xy) >= 2:
            x0, y0, x1, y1 = _box(xy)  # NaN fails every test below
            if (-180 <= x0 and x1 <= 180 and -90 <= y0 and y1 <= 90 and max(x1 - x0, y1 - y0) >= 1e-9
                    and x0 <= REGION[2] and x1 >= REGION[0] and y0 <= REGION[3] and y1 >= REGION[1]
                    and not (np.abs(np.diff(xy[:, 0])) > 180).any()):
                return [[xy]], xy, np.array([len(xy)], dtype=np.int64)
    arr = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(arr)  # 1 LineString, 5 MultiLineString; None gives -1
    if np.isin(types, (1, 5)).all() and not shapely.is_empty(arr).any():
        parts, owner = shapely.get_parts(arr, return_index=True)
        xy, pidx = shapely.get_coordinates(parts, return_index=True)
        starts = np.flatnonzero(np.r_[True, pidx[1:] != pidx[:-1]])
        counts = np.diff(np.r_[starts, len(pidx)])
        lo, hi = np.minimum.reduceat(xy, starts), np.maximum.reduceat(xy, starts)
        if len(lo) == len(arr):  # one part per route
            rlo, rhi = lo, hi
        else:
            rlo = np.full((len(arr), 2), np.inf)
            rhi = np.full((len(arr), 2), -np.inf)
            np.minimum.at(rlo, owner, lo)
            np.maximum.at(rhi, owner, hi)
        in_region = ((rlo[:, 0] <= REGION[2]) & (rhi[:, 0] >= REGION[0])
                     & (rlo[:, 1] <= REGION[3]) & (rhi[:, 1] >= REGION[1]))
        same = pidx[1:] == pidx[:-1]
        sound = (np.isfinite(xy).all() and (np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all()
                 and len(parts) == len(starts) and (counts >= 2).all() and ((hi - lo).max(axis=1) >= 1e-9).all()
                 and in_region.all() and not (np.abs(np.diff(xy[:, 0]))[same] > 180).any())
        if sound:
            ends = np.append(starts[1:], len(xy)).tolist()
            if len(starts) == len(arr):  # one part per route; views (np.split is slower per piece)
                out = [[xy[i:j]] for i, j in zip(starts.tolist(), ends)]
            else:
                out = [[] for _ in range(len(arr))]
                for o, i, j in zip(owner.tolist(), starts.tolist(), ends):
                    out[o].append(xy[i:j])
            return out, xy, counts.astype(np.int64)
    out = [_parts(g) for g in geoms]
    flat = [p for ps in out for p in ps]
    return out, np.concatenate(flat).astype(float), np.array([len(p) for p in flat], dtype=np.int64)


def _touches_region(xy: np.ndarray) -> bool:
    """Whether the line's bounding box overlaps the region of the shipped data."""
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    return bool(x0 <= REGION[2] and x1 >= REGION[0] and y0 <= REGION[3] and y1 >= REGION[1])


@functools.cache
def _node_places() -> shapely.STRtree:
    """Corridor nodes as points: where routes usually start and end (the shipped sections always do)."""
    return shapely.STRtree(shapely.points(shapely.get_coordinates(data.nodes().geometry.values)))


@functools.cache
def _town_places() -> shapely.STRtree:
    """The gazetteer's towns of 15,000+ as points: the other known places, read only when an end is near no node."""
    from . import places

    return shapely.STRtree(shapely.points(places.big_towns()))


def _ends_at_places(ends: np.ndarray, within_deg: float) -> np.ndarray:
    """Per (lon, lat) row: whether it lies within ``within_deg`` of a known place (a corridor node or a town of
    15,000+). Nodes are tried first; the towns only for the rows near no node, so the gazetteer is not read for
    routes that start and end at nodes."""
    hit = np.zeros(len(ends), dtype=bool)
    for places in (_node_places, _town_places):
        rest = np.flatnonzero(~hit)
        if not len(rest):
            break
        idx, _ = places().query(shapely.points(ends[rest]), predicate="dwithin", distance=within_deg)
        hit[rest[idx]] = True
    return hit


def _swap_notes(parts: list[list[np.ndarray]], refuse: bool = True, xy: np.ndarray | None = None,
                counts: np.ndarray | None = None) -> list[list[str]]:
    """Warnings per route about swapped coordinates; raises (``refuse``) when a route is almost surely (lat, lon).

    Only lines that would lie wholly inside the countries' frame with lon and lat swapped are checked; their two
    ends are compared with the known places (corridor nodes, towns of 15,000+). Refused (RouteError) when
    neither end as given lies within SWAP_NEAR_DEG (about 10 km) of a known place while both ends of the swapped
    line lie within SWAP_AT_DEG (about 2 km) of one, or within SWAP_NEAR_DEG when the line as given lies wholly
    outside the frame (as when the coordinates of two towns are typed in the wrong order); with ``refuse`` False
    (analyze_many) that route gets a warning saying so instead.
    Warned (in ``warnings`` and an OutsideDataWarning): both ends of the swapped line lie near known places
    (within SWAP_NEAR_DEG) while neither end as given does. (A route usually starts or ends at a known place, so
    a real line as given is not flagged; of random 20-vertex walks over Central Asia about 0.1 % are. The rule
    before, "more ends near known places swapped than as given", flagged 2.5 % of them.)
    ``xy``, ``counts``: the parts' vertices as one array and the parts' vertex counts (as ``_parts_many`` gives
    them), if already at hand.
    """
    notes: list[list[str]] = [[] for _ in parts]
    x0, y0, x1, y1 = FRAME
    if xy is not None and counts is not None and len(counts) == 1:  # one line: is it a candidate at all?
        lon0, lat0, lon1, lat1 = _box(xy)
        if not (lat0 >= x0 and lat1 <= x1 and lon0 >= y0 and lon1 <= y1):  # swapped, not inside the frame
            return notes
        if _ends_at_places(xy[[0, -1]], SWAP_NEAR_DEG).any():  # an end as given is near a known place
            return notes
    if xy is None or counts is None:
        xy = np.concatenate([p for ps in parts for p in ps])
        counts = np.array([len(p) for ps in parts for p in ps])
    if len(parts) == len(counts):  # one part per route
        starts = np.r_[0, np.cumsum(counts)[:-1]]
    else:
        n_parts = np.fromiter((len(ps) for ps in parts), dtype=np.int64, count=len(parts))
        starts = np.r_[0, np.cumsum(np.add.reduceat(counts, np.r_[0, np.cumsum(n_parts)[:-1]]))[:-1]]
    lo, hi = np.minimum.reduceat(xy, starts), np.maximum.reduceat(xy, starts)
    swapped_in = (lo[:, 1] >= x0) & (hi[:, 1] <= x1) & (lo[:, 0] >= y0) & (hi[:, 0] <= y1)
    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    any_inside = np.logical_or.reduceat(inside, starts)
    cand = np.flatnonzero(swapped_in)
    if not len(cand):
        return notes
    # every note needs: neither end as given near a known place, both ends swapped near one (AT implies NEAR)
    last = np.r_[starts[1:], len(xy)] - 1
    ends = np.column_stack([xy[starts[cand]], xy[last[cand]]]).reshape(-1, 2)  # first, last end of each candidate
    keep = _ends_at_places(ends, SWAP_NEAR_DEG).reshape(-1, 2).sum(axis=1) == 0
    cand, ends = cand[keep], ends.reshape(-1, 4)[keep].reshape(-1, 2)
    keep = _ends_at_places(ends[:, ::-1], SWAP_NEAR_DEG).reshape(-1, 2).sum(axis=1) == 2
    cand, ends = cand[keep], ends.reshape(-1, 4)[keep].reshape(-1, 2)
    exact = _ends_at_places(ends[:, ::-1], SWAP_AT_DEG).reshape(-1, 2).sum(axis=1)
    n = len(cand)
    cand = cand.tolist()
    given, swapped = [0] * n, [2] * n
    for k, g, sw, ex in zip(cand, given, swapped, exact):
        outside = not any_inside[k]
        a, b = parts[k][0][0], parts[k][-1][-1]
        if g == 0 and (ex == 2 or (outside and sw == 2)):
            if not refuse:
                notes[k].append("the coordinates look like (lat, lon): swapped, both ends lie at known places while "
                                "as given neither does; GeoJSON and shapely order coordinates (lon, lat)")
                continue
            raise RouteError("the coordinates look like (lat, lon): swapped, the line runs from "
                             f"({a[1]:.4g}, {a[0]:.4g}) to ({b[1]:.4g}, {b[0]:.4g}), both at known places, "
                             "while as given neither end is. GeoJSON and shapely order them (lon, lat); swap them, "
                             "e.g. shapely.ops.transform(lambda x, y: (y, x), geom)")
        if sw == 2 and g == 0:
            notes[k].append("lon and lat may be swapped: with them swapped the whole line lies in the data region "
                            "and both its ends are near known places, while as given neither is; GeoJSON and "
                            "shapely order coordinates (lon, lat)")
    return notes


# ---------------------------------------------------------------- result semantics

Run = tuple[str, float, float, tuple[float, float], tuple[float, float]]  # label, start km, end km, start, end


def _xy(p: np.ndarray) -> tuple[float, float]:
    return float(p[0]), float(p[1])


_BOUNDARIES: weakref.WeakKeyDictionary[Any, tuple[shapely.STRtree, list[Hashable]]] = weakref.WeakKeyDictionary()
EDGE_VERTICES = 8  # outlines are indexed as short edges, so a distance query touches a few vertices only


def _boundary_tree(layer: borders.Layer) -> tuple[shapely.STRtree, list[Hashable]]:
    """An index of the layer's polygon outlines as short edges (built once per layer), and each edge's label:
    every ring of n >= 2 vertices cut into edges of EDGE_VERTICES vertices, each starting where the last ended."""
    if layer not in _BOUNDARIES:
        rings, owner = shapely.get_parts(shapely.boundary(np.asarray(layer.polygons)), return_index=True)
        xy, ring = shapely.get_coordinates(rings, return_index=True)
        n = np.bincount(ring, minlength=len(rings))  # vertices per ring
        step = EDGE_VERTICES - 1
        m = np.where(n >= 2, -(-(n - 1) // step), 0)  # edges per ring
        edge_ring = np.repeat(np.arange(len(rings)), m)
        k = np.arange(int(m.sum())) - np.repeat(np.cumsum(m) - m, m)  # each edge's place in its ring
        first = (np.cumsum(n) - n)[edge_ring] + step * k
        size = np.minimum(EDGE_VERTICES, n[edge_ring] - step * k)
        idx = np.repeat(first - np.cumsum(size) + size, size) + np.arange(int(size.sum()))
        lines = shapely.linestrings(xy[idx], indices=np.repeat(np.arange(len(size)), size))
        _BOUNDARIES[layer] = (shapely.STRtree(lines), [layer.labels[o] for o in owner[edge_ring].tolist()])
    return _BOUNDARIES[layer]


def _cum_km(xy: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(geodesy.segment_lengths_m(xy[:, 0], xy[:, 1]) / 1000.0)])


def _at(xy: np.ndarray, cum: np.ndarray, km: np.ndarray | float) -> np.ndarray:
    """Point(s) at ``km`` along a part (linear between vertices)."""
    k = np.clip(km, 0.0, cum[-1])
    return np.stack([np.interp(k, cum, xy[:, 0]), np.interp(k, cum, xy[:, 1])], axis=-1)


def _settle_boundaries(xy: np.ndarray, counts: np.ndarray, runs: borders.Runs,
                       layer: borders.Layer) -> borders.Runs:
    """Give runs that lie along a boundary (within ON_BOUNDARY_DEG along their whole length) to a side.

    A run along a border or coast is in neither polygon by midpoint, so it would read as "sea" and flicker
    between the two sides. Rule, the same in both directions: such a run belongs to the polygon(s) it touches
    that its neighbouring runs are in; between two different neighbours it is split at its middle; with no
    such neighbour it goes to the touching polygon whose label sorts first. Short excursions (< 1 km)
    that this leaves between runs of one polygon are folded into it.

    ``xy``/``counts``: the lines' vertices, line after line, and their vertex counts; ``runs``: their runs as
    ``borders.split_xy`` gives them. Only lines of more than one run are looked at, and only lines with a run
    along a boundary leave this function changed (the rest of ``runs`` is passed through as it is).
    """
    n_lines = len(counts)
    if n_lines == 1:  # one line: the same values, without the bookkeeping of many
        if len(runs.line) < 2:
            return runs
        n_runs = np.array([len(runs.line)])
        tree, labels = _boundary_tree(layer)
        txy, last, in_todo = xy, np.array([len(xy) - 1]), np.ones(len(runs.line), dtype=bool)
        axis = np.concatenate([[0.0], np.cumsum(np.asarray(runs.segment_km, dtype=float))])
        s_km = runs.start_km + 0.0
        e_km = np.minimum(runs.end_km + 0.0, axis[-1])
    else:
        n_runs, txy, axis, last, in_todo, s_km, e_km = _km_axis(xy, counts, runs)
        if not len(s_km):
            return runs
        tree, labels = _boundary_tree(layer)
    return _settle_runs(xy, counts, runs, layer, tree, labels, n_runs, txy, axis, last, in_todo, s_km, e_km)


def _km_axis(xy: np.ndarray, counts: np.ndarray, runs: borders.Runs) -> tuple[np.ndarray, ...]:
    """Lines of more than one run on one km axis (lines 1 km apart), so all their sample points come from one
    interpolation: runs per line, the vertices and their km on the axis, each line's last vertex, whether each
    run is on the axis, and the start and end km on the axis of those runs."""
    n_lines = len(counts)
    n_runs = np.bincount(runs.line, minlength=n_lines)
    multi = n_runs > 1
    todo = np.flatnonzero(multi)
    if not len(todo):
        e = np.empty(0)
        return n_runs, xy, e, e, e, e, e
    v_line = np.repeat(np.arange(n_lines), counts)
    last = np.cumsum(counts) - 1
    step_v = np.ones(len(xy))  # km from each vertex to the next; 1 km from a line's last vertex to the next line
    not_last = np.ones(len(xy), dtype=bool)
    not_last[last] = False
    step_v[not_last] = runs.segment_km  # segments in order: vertex i starts segment i - (its line's index)
    sel = multi[v_line]
    txy = xy[sel]
    n = counts[todo]
    step = step_v[sel][:-1]
    first = np.r_[0, np.cumsum(n)[:-1]]
    axis = np.r_[0.0, np.cumsum(step)]
    offset = axis[first]
    t_of_line = np.full(n_lines, -1)
    t_of_line[todo] = np.arange(len(todo))
    in_todo = multi[runs.line]
    owner = t_of_line[runs.line[in_todo]]
    s_km = runs.start_km[in_todo] + offset[owner]
    e_km = runs.end_km[in_todo] + offset[owner]
    e_km = np.minimum(e_km, axis[first + n - 1][owner])
    return n_runs, txy, axis, last, in_todo, s_km, e_km


def _settle_runs(xy: np.ndarray, counts: np.ndarray, runs: borders.Runs, layer: borders.Layer,
                 tree: shapely.STRtree, labels: list[Hashable], n_runs: np.ndarray, txy: np.ndarray, axis: np.ndarray,
                 last: np.ndarray, in_todo: np.ndarray, s_km: np.ndarray, e_km: np.ndarray) -> borders.Runs:
    """The rest of ``_settle_boundaries``: its lines' runs on the km axis of ``_km_axis``."""

    def points_at(km: np.ndarray) -> np.ndarray:
        pts: np.ndarray = shapely.points(np.interp(km, axis, txy[:, 0]), np.interp(km, axis, txy[:, 1]))
        return pts

    mid = (s_km + e_km) / 2
    near = np.arange(len(mid))
    if len(mid) >= borders.GRID_MIN_POINTS:  # only midpoints in grid cells that a boundary comes near
        mxy = np.column_stack([np.interp(mid, axis, txy[:, 0]), np.interp(mid, axis, txy[:, 1])])
        near = np.flatnonzero(layer.grid_cells(mxy) < 0)
    mid_hit, mid_edge = tree.query(points_at(mid[near]), predicate="dwithin", distance=ON_BOUNDARY_DEG)
    if not len(mid_hit):  # no run's middle lies on a boundary
        return runs
    mid_hit = near[mid_hit]
    cand = np.unique(mid_hit)
    if not len(cand):
        return runs
    fr = np.array([0.1, 0.3, 0.7, 0.9])
    samples = s_km[cand, None] + fr[None, :] * (e_km - s_km)[cand, None]
    hit, _ = tree.query(points_at(samples.ravel()), predicate="dwithin", distance=ON_BOUNDARY_DEG)
    ok = np.zeros(samples.size, dtype=bool)
    ok[hit] = True
    on_flat = np.zeros(len(s_km), dtype=bool)
    on_flat[cand[ok.reshape(-1, len(fr)).all(axis=1)]] = True
    if not on_flat.any():
        return runs
    touch: dict[int, set[Hashable]] = {}
    for m, e in zip(mid_hit.tolist(), mid_edge.tolist()):
        touch.setdefault(m, set()).add(labels[e])
    row = np.flatnonzero(in_todo)  # index in runs of each todo run
    changed = np.unique(runs.line[row[on_flat]])
    names = [*layer.labels, None]
    code = {lab: i for i, lab in reversed(list(enumerate(layer.labels)))}
    code[None] = len(layer.labels)
    bounds = np.r_[0, np.cumsum(n_runs)]
    new: list[tuple[int, int, float, float, tuple[float, float], tuple[float, float]]] = []
    for ln in changed.tolist():
        r0, r1 = int(bounds[ln]), int(bounds[ln + 1])
        ps = [borders.Piece(names[lab], a, b, (sx, sy), (ex, ey)) for lab, a, b, (sx, sy), (ex, ey) in zip(
            runs.label[r0:r1].tolist(), runs.start_km[r0:r1].tolist(), runs.end_km[r0:r1].tolist(),
            runs.start[r0:r1].tolist(), runs.end[r0:r1].tolist())]
        j0 = int(np.searchsorted(row, r0))  # this line's runs among the todo runs
        flags = on_flat[j0:j0 + r1 - r0].tolist()
        part = xy[last[ln] + 1 - counts[ln]:last[ln] + 1]
        for p in _settled(part, ps, flags, [touch.get(j0 + j, set()) for j in range(r1 - r0)]):
            new.append((ln, code[p.label], p.start_km, p.end_km, p.start, p.end))
    keep = ~np.isin(runs.line, changed)
    line = np.concatenate([runs.line[keep], np.array([r[0] for r in new], dtype=np.int64)])
    order = np.argsort(line, kind="stable")
    return borders.Runs(
        line[order],
        np.concatenate([runs.label[keep], np.array([r[1] for r in new], dtype=np.int64)])[order],
        np.concatenate([runs.start_km[keep], np.array([r[2] for r in new], dtype=float)])[order],
        np.concatenate([runs.end_km[keep], np.array([r[3] for r in new], dtype=float)])[order],
        np.concatenate([runs.start[keep], np.array([r[4] for r in new], dtype=float).reshape(-1, 2)])[order],
        np.concatenate([runs.end[keep], np.array([r[5] for r in new], dtype=float).reshape(-1, 2)])[order],
        runs.segment_km,
    )


def _settled(xy: np.ndarray, ps: list[borders.Piece], flags: list[bool],
             touch: list[set[Hashable]]) -> list[borders.Piece]:
    """One part's pieces with its boundary runs (``flags``) given to a side (see ``_settle_boundaries``)."""
    runs: list[list[Any]] = []
    j = 0
    while j < len(ps):
        if not flags[j]:
            runs.append([ps[j].label, ps[j].start_km, ps[j].end_km])
            j += 1
            continue
        e = j
        while e + 1 < len(ps) and flags[e + 1]:
            e += 1
        t: set[Hashable] = set().union(*touch[j:e + 1])
        lp = ps[j - 1].label if j > 0 and ps[j - 1].label in t else None
        ln = ps[e + 1].label if e + 1 < len(ps) and ps[e + 1].label in t else None
        if lp is None and ln is None:
            lp = ln = min(t, key=str) if t else None
        lp, ln = (ln if lp is None else lp), (lp if ln is None else ln)
        mid = (ps[j].start_km + ps[e].end_km) / 2.0
        runs += [[lp, ps[j].start_km, mid], [ln, mid, ps[e].end_km]]
        j = e + 1
    merged: list[list[Any]] = []
    for lab, a, b in runs:
        if b - a <= 0:
            continue
        if merged and merged[-1][0] == lab:
            merged[-1][2] = b
        else:
            merged.append([lab, a, b])
    while True:  # fold short excursions, shortest first (direction-independent)
        short = [i for i in range(1, len(merged) - 1) if merged[i][2] - merged[i][1] < borders.MIN_EXCURSION_KM
                 and merged[i - 1][0] == merged[i + 1][0]]
        if not short:
            break
        i = min(short, key=lambda i: (merged[i][2] - merged[i][1], merged[i][1]))
        merged[i - 1][2] = merged[i + 1][2]
        del merged[i:i + 2]
    cum = _cum_km(xy)
    return [borders.Piece(lab, float(a), float(b), _xy(_at(xy, cum, a)), _xy(_at(xy, cum, b)))
            for lab, a, b in merged]


def _inside_frame(xy: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per part (vertices ``xy``, part after part, ``counts`` each): whether every vertex lies inside FRAME (then
    the part lies inside it: the frame is a box)."""
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    lo, hi = np.minimum.reduceat(xy, starts), np.maximum.reduceat(xy, starts)
    return np.asarray((lo[:, 0] >= FRAME[0]) & (hi[:, 0] <= FRAME[2]) & (lo[:, 1] >= FRAME[1]) & (hi[:, 1] <= FRAME[3]))


def _outside_intervals(xy: np.ndarray, frame: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    """km intervals of a part that lie outside the frame box (cut where segments cross the box's edges)."""
    x0, y0, x1, y1 = frame
    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    if inside.all():
        return []
    cum = _cum_km(xy)
    if not inside.any() and shapely.intersects(shapely.linestrings(xy), shapely.box(*frame)) is False:
        return [(0.0, float(cum[-1]))]
    ts = [0.0]
    for i in range(len(xy) - 1):  # cut every segment at the box edges, then test each piece's midpoint
        (ax, ay), (bx, by) = xy[i], xy[i + 1]
        cuts = [i + t for v, a, b in ((x0, ax, bx), (x1, ax, bx), (y0, ay, by), (y1, ay, by))
                if (a - v) * (b - v) < 0 for t in [(v - a) / (b - a)]]
        ts += sorted(cuts) + [float(i + 1)]
    t = np.array(ts)
    seg = np.floor(np.minimum(t, len(xy) - 1.000001)).astype(int)
    frac = t - seg
    pts = xy[seg] + (xy[np.minimum(seg + 1, len(xy) - 1)] - xy[seg]) * frac[:, None]
    km = cum[seg] + (cum[np.minimum(seg + 1, len(xy) - 1)] - cum[seg]) * frac
    mid = (pts[:-1] + pts[1:]) / 2
    out_mid = ~((mid[:, 0] >= x0) & (mid[:, 0] <= x1) & (mid[:, 1] >= y0) & (mid[:, 1] <= y1))
    spans: list[tuple[float, float]] = []
    for a, b, o in zip(km[:-1], km[1:], out_mid):
        if o and b > a:
            if spans and abs(spans[-1][1] - a) < 1e-12:
                spans[-1] = (spans[-1][0], float(b))
            else:
                spans.append((float(a), float(b)))
    return spans


def _split_open(piece: borders.Piece, spans: list[tuple[float, float]], xy: np.ndarray,
                cum: np.ndarray | None) -> list[Run]:
    """A run outside every polygon as sea (inside the frame) and outside (beyond it), in order."""
    a, b = piece.start_km, piece.end_km
    cuts = [a, *sorted(v for s in spans for v in s if a + GAP_KM < v < b - GAP_KM), b]  # no sub-metre slivers
    cuts = [v for i, v in enumerate(cuts) if i == 0 or v - cuts[i - 1] > GAP_KM or v == b]
    out: list[Run] = []
    for u, v in zip(cuts[:-1], cuts[1:]):
        m = (u + v) / 2
        lab = OUTSIDE if any(s <= m <= e for s, e in spans) else SEA
        pu = piece.start if u == a or cum is None else _xy(_at(xy, cum, u))
        pv = piece.end if v == b or cum is None else _xy(_at(xy, cum, v))
        if out and out[-1][0] == lab:
            out[-1] = (lab, out[-1][1], v, out[-1][3], pv)
        else:
            out.append((lab, u, v, pu, pv))
    return out


def _figures(parts: list[np.ndarray], pieces: list[list[borders.Piece]], outside: str,
             frame: tuple[float, float, float, float] | None = None,
             inside: np.ndarray | None = None) -> dict[str, Any]:
    """Length per polygon, ordered polygons, crossings, sea legs and gaps from the pieces of each part.

    Parts that do not meet (further apart than GAP_KM; the two sides of the antimeridian meet) leave a gap:
    it is listed in ``gaps`` and no crossing or sea leg is inferred across it. Length outside every polygon
    is ``sea`` inside ``frame`` and ``outside`` beyond it (with ``frame`` None, all of it is ``outside``).
    ``inside``: per part, whether it is known to lie wholly inside the frame (skips the cutting).
    """
    chains: list[list[Run]] = []
    gaps: list[dict[str, Any]] = []
    offset = 0.0
    for k, (xy, ps) in enumerate(zip(parts, pieces)):
        runs: list[Run] = []
        spans = None if frame is None else [] if inside is not None and inside[k] else _outside_intervals(xy, frame)
        cum = _cum_km(xy) if spans else None
        for p in ps:
            if p.label is not None:
                runs.append((str(p.label), p.start_km, p.end_km, p.start, p.end))
            elif spans is None:
                runs.append((outside, p.start_km, p.end_km, p.start, p.end))
            else:
                runs += _split_open(p, spans, xy, cum)
        runs = [(lab, a + offset, b + offset, s, e) for lab, a, b, s, e in runs]
        joined = False
        if k > 0:
            (ax, ay), (bx, bly) = parts[k - 1][-1], xy[0]
            seam = abs(ax) == 180 and abs(bx) == 180 and ay == bly
            gap_km = geodesy.distance_km((ax, ay), (bx, bly))
            joined = seam or gap_km <= GAP_KM
            if not joined:
                prev = chains[-1][-1][0] if chains and chains[-1] else None
                gaps.append({"after_part": k, "km": offset, "gap_km": gap_km, "from_lon": float(ax),
                             "from_lat": float(ay), "to_lon": float(bx), "to_lat": float(bly),
                             "from_country": prev, "to_country": runs[0][0] if runs else None})
        if joined and chains:
            chain = chains[-1]
            for run in runs:
                if chain and chain[-1][0] == run[0]:
                    chain[-1] = (run[0], chain[-1][1], run[2], chain[-1][3], run[4])
                else:
                    chain.append(run)
        else:
            chains.append(list(runs))
        offset = runs[-1][2] if runs else offset
    by: dict[str, float] = {}
    crossings: list[dict[str, Any]] = []
    sea_legs: list[dict[str, Any]] = []
    countries: list[str] = []
    open_labels = {SEA, outside, OUTSIDE}
    for chain in chains:
        for lab, a, b, _, _ in chain:
            by[lab] = by.get(lab, 0.0) + (b - a)
        for i, (lab, a, b, s, e) in enumerate(chain):
            if lab == SEA and 0 < i < len(chain) - 1 and chain[i - 1][0] not in open_labels \
                    and chain[i + 1][0] not in open_labels:
                sea_legs.append({"from_country": chain[i - 1][0], "to_country": chain[i + 1][0], "start_km": a,
                                 "end_km": b, "length_km": b - a, "from_lon": s[0], "from_lat": s[1],
                                 "to_lon": e[0], "to_lat": e[1]})
        land = [(i, run) for i, run in enumerate(chain) if run[0] not in open_labels]
        for (i, left), (j, right) in zip(land[:-1], land[1:]):
            if left[0] == right[0]:
                continue
            between = {chain[m][0] for m in range(i + 1, j)}
            via = "land" if not between else ("sea" if between == {SEA} else "outside")
            crossings.append({"from": left[0], "to": right[0], "lon": right[3][0], "lat": right[3][1],
                              "km": right[1], "via": via})
        for lab, *_ in chain:
            if lab not in open_labels and (not countries or countries[-1] != lab):
                countries.append(lab)
    return {"length_km": offset, "length_by_country_km": by, "countries": countries,
            "crossings": crossings, "sea_legs": sea_legs, "gaps": gaps}


def _figures_many(parts: list[list[np.ndarray]], xy: np.ndarray, counts: np.ndarray, runs: borders.Runs,
                  layer: borders.Layer, frame: tuple[float, float, float, float] | None
                  ) -> tuple[list[dict[str, Any]], np.ndarray]:
    """``_figures`` of every route (``parts``: each route's parts; ``xy``/``counts``/``runs``: all parts flat).

    A simple route, of one part that lies inside ``frame`` (any one-part route with ``frame`` None), is done on
    flat arrays with all such routes at once; the others (gaps between parts, length outside the frame) go
    through ``_figures``. Both give the same figures, bitwise. Also gives which routes were simple.
    """
    if len(counts) == 1 and len(parts) == 1:  # one simple route: plain Python is faster (the same figures)
        x0, y0, x1, y1 = _box(xy)
        if frame is None or (x0 >= frame[0] and x1 <= frame[2] and y0 >= frame[1] and y1 <= frame[3]
                             and OUTSIDE not in map(str, layer.labels)):
            return _figures_one(xy, runs, layer, frame), np.ones(1, dtype=bool)
    if len(parts) == len(counts):  # one part per route
        n_parts = np.ones(len(parts), dtype=np.int64)
    else:
        n_parts = np.fromiter((len(ps) for ps in parts), dtype=np.int64, count=len(parts))
    part0 = np.r_[0, np.cumsum(n_parts)[:-1]]
    inside = np.ones(len(counts), dtype=bool) if frame is None else _inside_frame(xy, counts)
    simple = (n_parts == 1) & inside[np.minimum(part0, len(counts) - 1)]
    outside_label = OUTSIDE if frame is None else SEA  # label of a run outside every polygon, inside the frame
    names = [*map(str, layer.labels), outside_label]
    canon: dict[str, int] = {}
    code = np.array([canon.setdefault(nm, len(canon)) for nm in names], dtype=np.int64)  # one code per name
    text = list(canon)
    is_open = np.array([nm in (SEA, OUTSIDE) for nm in text], dtype=bool)
    sea = canon.get(SEA, -1)

    figs: list[dict[str, Any]] = [{}] * len(parts)  # every entry is replaced below
    n_runs = np.bincount(runs.line, minlength=len(counts))
    bounds = np.r_[0, np.cumsum(n_runs)]
    # ---- simple routes, on flat arrays
    route = np.flatnonzero(simple)
    part = part0[route]
    take = simple[np.repeat(np.arange(len(parts)), n_parts)][runs.line]  # runs of simple routes, in order
    lab = code[runs.label[take]]
    rt = np.repeat(np.arange(len(route)), n_runs[part])  # index into ``route`` of each run
    a, b = runs.start_km[take], runs.end_km[take]
    sx, sy = runs.start[take, 0], runs.start[take, 1]
    ex, ey = runs.end[take, 0], runs.end[take, 1]
    r0 = np.r_[0, np.cumsum(n_runs[part])]  # runs of route i: r0[i]:r0[i + 1]
    length = b - a
    land = ~is_open[lab]
    # length per label, in order of first appearance (np.bincount adds in order, from 0.0, as a dict would)
    key = rt * len(text) + lab
    uniq, first_at, inv = np.unique(key, return_index=True, return_inverse=True)
    sums = np.bincount(inv, weights=length, minlength=len(uniq))
    order = np.argsort(first_at, kind="stable")
    g_rt = rt[first_at[order]]
    g_bounds = np.searchsorted(g_rt, np.arange(len(route) + 1)).tolist()
    g_name = [text[c] for c in lab[first_at[order]].tolist()]
    g_km = sums[order].tolist()
    # countries: land runs, consecutive repeats dropped
    li = np.flatnonzero(land)
    new_c = np.ones(len(li), dtype=bool)
    new_c[1:] = (rt[li[1:]] != rt[li[:-1]]) | (lab[li[1:]] != lab[li[:-1]])
    ci = li[new_c]
    c_bounds = np.searchsorted(rt[ci], np.arange(len(route) + 1)).tolist()
    c_name = [text[c] for c in lab[ci].tolist()]
    # crossings: consecutive land runs of one route with different labels
    pair = (rt[li[1:]] == rt[li[:-1]]) & (lab[li[1:]] != lab[li[:-1]])
    left, right = li[:-1][pair], li[1:][pair]
    sea_run = np.r_[0, np.cumsum(lab == sea)]
    between = right - left - 1
    n_sea = sea_run[right] - sea_run[left + 1]
    via = np.where(between == 0, 0, np.where(n_sea == between, 1, 2))
    x_bounds = np.searchsorted(rt[right], np.arange(len(route) + 1)).tolist()
    vias = ("land", "sea", "outside")
    f_lab, t_lab = lab[left].tolist(), lab[right].tolist()
    bcp: list[tuple[str | None, str | None, float | None]] = [(None, None, None)] * len(right)
    if frame is not None and len(right):  # the shipped countries: the BCP of each land crossing (see _match)
        at = np.flatnonzero(via == 0)
        hit, node, km = _nearest_nodes(np.column_stack([sx[right[at]], sy[right[at]]]), "bcp", BCP_MATCH_KM,
                                       lambda i: (text[f_lab[at[i]]], text[t_lab[at[i]]]))
        rows = _nodes_xy("bcp")[1]
        for i, n, d in zip(at[hit].tolist(), node.tolist(), km.tolist()):
            bcp[i] = (rows[n]["name"], rows[n]["id"], d)
    x_rec = [{"from": text[f], "to": text[t], "lon": lon, "lat": lat, "km": km, "via": vias[v], "bcp": bc[0],
              "bcp_id": bc[1], "bcp_km": bc[2]}
             for f, t, lon, lat, km, v, bc in zip(f_lab, t_lab, sx[right].tolist(), sy[right].tolist(),
                                                  a[right].tolist(), via.tolist(), bcp)]
    # sea legs: sea runs between two land runs
    si = np.flatnonzero(lab == sea)
    if len(si):
        inner = (si > 0) & (si < len(lab) - 1)
        si = si[inner]
        si = si[(rt[si - 1] == rt[si]) & (rt[si + 1] == rt[si]) & land[si - 1] & land[si + 1]]
    s_bounds = np.searchsorted(rt[si], np.arange(len(route) + 1)).tolist()
    s_rec = [{"from_country": text[f], "to_country": text[t], "start_km": u, "end_km": v, "length_km": w,
              "from_lon": x0, "from_lat": y0, "to_lon": x1, "to_lat": y1}
             for f, t, u, v, w, x0, y0, x1, y1 in zip(
                 lab[si - 1].tolist(), lab[si + 1].tolist(), a[si].tolist(), b[si].tolist(), length[si].tolist(),
                 sx[si].tolist(), sy[si].tolist(), ex[si].tolist(), ey[si].tolist())]
    total = b[r0[1:] - 1].tolist() if len(route) else []
    by = [{g_name[i]: g_km[i]} if j == i + 1 else dict(zip(g_name[i:j], g_km[i:j]))
          for i, j in zip(g_bounds[:-1], g_bounds[1:])]
    simple_figs = [{"length_km": t, "length_by_country_km": d, "countries": c_name[c0:c1],
                    "crossings": x_rec[x0:x1], "sea_legs": s_rec[s0:s1], "gaps": []}
                   for t, d, c0, c1, x0, x1, s0, s1 in zip(total, by, c_bounds[:-1], c_bounds[1:], x_bounds[:-1],
                                                           x_bounds[1:], s_bounds[:-1], s_bounds[1:])]
    if len(route) == len(parts):
        figs = simple_figs
    else:
        for k, fig in zip(route.tolist(), simple_figs):
            figs[k] = fig
    # ---- the others, route by route
    labels = [*layer.labels, None]
    for k in np.flatnonzero(~simple).tolist():
        ps = []
        for p in range(part0[k], part0[k] + n_parts[k]):
            q0, q1 = int(bounds[p]), int(bounds[p + 1])
            ps.append([borders.Piece(labels[c], u, v, (s0, s1), (e0, e1)) for c, u, v, (s0, s1), (e0, e1) in zip(
                runs.label[q0:q1].tolist(), runs.start_km[q0:q1].tolist(), runs.end_km[q0:q1].tolist(),
                runs.start[q0:q1].tolist(), runs.end[q0:q1].tolist())])
        inside_k = None if frame is None else inside[part0[k]:part0[k] + n_parts[k]]
        figs[k] = _figures(parts[k], ps, OUTSIDE, frame, inside_k)
    if OUTSIDE in canon and frame is not None:  # a polygon labelled 'outside': leave its warning to the slow loop
        simple[:] = False
    return figs, simple


def _figures_one(xy: np.ndarray, runs: borders.Runs, layer: borders.Layer,
                 frame: tuple[float, float, float, float] | None) -> list[dict[str, Any]]:
    """``_figures_many`` of one simple route (one part, inside ``frame``) by ``_figures``, which gives the same
    figures bitwise, and the BCPs of its land crossings (with the shipped countries) as ``_match`` names them."""
    labels = [*layer.labels, None]
    ps = [borders.Piece(labels[c], u, v, (s0, s1), (e0, e1)) for c, u, v, (s0, s1), (e0, e1) in zip(
        runs.label.tolist(), runs.start_km.tolist(), runs.end_km.tolist(), runs.start.tolist(), runs.end.tolist())]
    fig = _figures([xy], [ps], OUTSIDE, frame, None if frame is None else np.ones(1, dtype=bool))
    _match([fig], frame is not None)
    return [fig]


@functools.cache
def _nodes_xy(kind: str) -> tuple[np.ndarray, list[dict[str, Any]], np.ndarray, np.ndarray]:
    """Coordinates, id/name/joins, the sorted 'A|B' joins key and the order by latitude of the nodes of one kind
    (cached)."""
    geoms, c = data.shapes_and_columns("nodes.geojson", ["kind", "id", "name", "joins"])  # no frame needed
    mine = [i for i, k in enumerate(c["kind"]) if k == kind]
    rows = [{"id": c["id"][i], "name": c["name"][i], "joins": c["joins"][i]} for i in mine]
    keys = np.array(["|".join(sorted(set(r["joins"] or []))) for r in rows], dtype=object)
    xy = shapely.get_coordinates(geoms[mine]).reshape(-1, 2)
    return xy, rows, keys, np.argsort(xy[:, 1], kind="stable")


def _nearest(points: list[tuple[float, float]], kind: str, limit_km: float,
             joins: list[Iterable[str]] | None = None) -> list[dict[str, Any] | None]:
    """For each (lon, lat): the nearest node of ``kind`` within ``limit_km`` (preferring the given joins)."""
    _, rows, _, _ = _nodes_xy(kind)
    out: list[dict[str, Any] | None] = [None] * len(points)
    if not points:
        return out
    k_idx, n_idx, d = _nearest_nodes(np.asarray(points, dtype=float), kind, limit_km,
                                     None if joins is None else joins.__getitem__)
    for k, n, km in zip(k_idx.tolist(), n_idx.tolist(), d.tolist()):
        out[k] = {**rows[n], "km": km}
    return out


def _nearest_nodes(p: np.ndarray, kind: str, limit_km: float, joins: Callable[[int], Iterable[str]] | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_nearest`` as arrays: the points (rows of ``p``, lon/lat) that have a node of ``kind`` within
    ``limit_km``, that node's index (in ``_nodes_xy(kind)``) and its distance (km). ``joins(i)``: the two
    countries point i joins (nodes joining them are preferred)."""
    xy, rows, keys, by_lat = _nodes_xy(kind)
    if not len(p) or not len(xy):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
    # cheap screen: nodes in the latitude band, then equirectangular distance (1 deg lat = 111.3 km), then
    # geodesic distances for the pairs that pass
    screen_km = limit_km * 1.5 + 1.0
    lat = xy[by_lat, 1]
    if len(p) == 1:  # one point (a route's crossing): the same values, without the bookkeeping of many
        y = float(p[0, 1])
        n_idx = by_lat[np.searchsorted(lat, y - screen_km / 111.3, side="left"):
                       np.searchsorted(lat, y + screen_km / 111.3, side="right")]
        q = p[np.zeros(len(n_idx), dtype=np.int64)]
        near = np.hypot((q[:, 0] - xy[n_idx, 0]) * np.cos(np.radians(q[:, 1])) * 111.3,
                        (q[:, 1] - xy[n_idx, 1]) * 111.3) <= screen_km
        n_idx, q = n_idx[near], q[near]
        d = np.asarray(geodesy.GEOD.inv(q[:, 0], q[:, 1], xy[n_idx, 0], xy[n_idx, 1])[2]) / 1000.0
        kept = np.flatnonzero(d <= limit_km)
        if not len(kept):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
        join_key = "|".join(sorted(joins(0))) if joins is not None else None
        other_one = (keys[n_idx[kept]] != join_key).tolist() if joins is not None else [False] * len(kept)
        i = int(kept[min(range(len(kept)), key=lambda j: (other_one[j], d[kept[j]], n_idx[kept[j]]))])
        return np.zeros(1, dtype=np.int64), n_idx[i:i + 1], d[i:i + 1]
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
    if joins is not None:  # the sorted 'A|B' key of the points that have a node near them
        want = np.empty(len(p), dtype=object)
        near_k = np.unique(k_idx)
        want[near_k] = ["|".join(sorted(joins(k))) for k in near_k.tolist()]
        other = (keys[n_idx] != want[k_idx]).astype(np.int8)
    else:
        other = np.zeros(len(k_idx), dtype=np.int8)
    order = np.lexsort((n_idx, d, other, k_idx))  # per point: matching joins first, then the nearest
    head = np.ones(len(order), dtype=bool)
    head[1:] = k_idx[order][1:] != k_idx[order][:-1]
    first = order[head]
    return k_idx[first], n_idx[first], d[first]


def _match(figs: list[dict[str, Any]], countries_layer: bool, crossings: bool = True) -> None:
    """Name the BCP of every land crossing and the ports of every sea leg, in one batch for all routes
    (``crossings`` False: the ports only; the crossings are matched already)."""
    land = []
    for f in figs if crossings else ():
        for c in f["crossings"]:
            c["bcp"] = c["bcp_id"] = c["bcp_km"] = None
            if countries_layer and c["via"] == "land":
                land.append(c)
    hits = _nearest([(c["lon"], c["lat"]) for c in land], "bcp", BCP_MATCH_KM, [(c["from"], c["to"]) for c in land])
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


def _as_list(v: Any) -> list[Any]:
    """A list-valued column's cell as a list; a missing cell (None, NaN: a user line beside sections) as []."""
    return list(v) if isinstance(v, (list, tuple, np.ndarray)) else []


def _section_nodes(meta: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Chainage of a section's nodes and its length by mode (road / rail / multimodal / ferry)."""
    ids = _as_list(meta.get("nodes"))
    if not ids:
        return [], {}
    table = _node_table()
    rows = [table[i] for i in ids]
    leg, km = _chainage(tuple(ids))
    traced = _as_list(meta.get("leg_km"))
    if traced and len(traced) == len(leg):  # traced on the network (issue 16): the real leg lengths
        leg = [float(v) for v in traced]
        km = np.concatenate([[0.0], np.cumsum(leg)]).tolist()
    by_mode: dict[str, float] = {}
    for m, d in zip(_as_list(meta.get("leg_modes")), leg):
        by_mode[m] = by_mode.get(m, 0.0) + d
    out = [{"id": i, "name": r[2], "kind": r[3], "country": r[4], "km": k} for i, r, k in zip(ids, rows, km)]
    return out, by_mode


def analyze(route: Any, *, countries: gpd.GeoDataFrame | None = None, id_column: str | None = None,
            year: int | None = None, mode: str | None = None, segment_km: np.ndarray | None = None) -> RouteAnalysis:
    """Length, length per country, ordered crossings (with their BCPs), sea legs and chainage of one route.

    ``countries`` may be any polygon layer (provinces, protected areas ...) with ``id_column``; then
    ``length_by_country_km`` is keyed by that column and length outside every polygon is under "outside".
    ``year`` (CPMM data year, None = latest) and ``mode`` ('road'/'rail' for multimodal or unknown-mode legs)
    select the figures of ``time_h`` / ``cost_usd`` / ``timecost`` (see ``corridors.timecost``).
    A line that is almost surely (lat, lon) is refused with a RouteError (see ``_swap_notes``).
    ``segment_km``: the geodesic km of each segment of the line, if already known (as ``borders.split_xy``
    takes them; ``routes.route`` keeps those of the network's segments), so they are not measured again.
    """
    from . import timecost

    timecost.check(year, mode)
    r = _analyze_all([route], countries, id_column, refuse_swapped=True, segment_km=segment_km)[0]
    r.year, r.assume_mode = year, mode
    return r


CHUNK = 5000  # routes analysed per batch: memory stays linear in the number of routes


def analyze_many(routes: Iterable[Any] | gpd.GeoDataFrame, *, countries: gpd.GeoDataFrame | None = None,
                 id_column: str | None = None, engine: str = "memory",
                 **dask_options: Any) -> list[RouteAnalysis] | Any:
    """``analyze`` for many routes with one vectorised overlay (a GeoDataFrame's rows, a GeoJSON
    FeatureCollection's features, or any iterable). No routes give an empty list. A route that is almost surely
    (lat, lon) is not refused here (one row must not stop a batch): its result says so in ``warnings``.

    ``engine="dask"`` runs this per partition of a dask-geopandas frame or partitioned GeoParquet on a dask
    cluster and gives a dask-geopandas frame with the columns of ``io.to_frame`` (see ``corridors.scale``;
    ``scheduler=``, ``out=``; needs ``corridors[dask]``).
    """
    if engine == "dask":
        from . import scale as dask_engine

        return dask_engine.analyze_many(routes, countries=countries, id_column=id_column, **dask_options)
    if engine != "memory" or dask_options:
        raise RouteError(f"engine= is 'memory' or 'dask', not {engine!r}; scheduler= and out= go with engine='dask'")
    return _analyze_all(routes, countries, id_column, refuse_swapped=False)


def _analyze_all(routes: Iterable[Any] | gpd.GeoDataFrame, countries: gpd.GeoDataFrame | None,
                 id_column: str | None, refuse_swapped: bool, segment_km: np.ndarray | None = None
                 ) -> list[RouteAnalysis]:
    if isinstance(routes, gpd.GeoDataFrame):
        if routes.crs is not None and not routes.crs.equals("EPSG:4326") and len(routes):
            check_crs_units(routes.crs, shapely.get_coordinates(routes.geometry.values), "the routes")
        frame: gpd.GeoDataFrame | None = routes.to_crs(4326) if routes.crs is not None else routes
        items: list[Any] = []
    elif isinstance(routes, dict) and routes.get("type") == "FeatureCollection":
        frame, crs = None, _geojson_crs(routes)
        items = [f if crs is None or not isinstance(f, dict) else {**f, "crs": routes["crs"]}
                 for f in routes.get("features") or []]
    elif isinstance(routes, str | dict | shapely.Geometry):
        raise RouteError(f"analyze_many() takes a list of routes (or a GeoDataFrame), not one {type(routes).__name__}; "
                         "use analyze() for a single route")
    else:
        frame, items = None, list(routes)
    layer = make_layer(countries, id_column)
    results: list[RouteAnalysis] = []
    with gc_paused():
        rows = None if frame is None else _frame_rows(frame)
        for i in range(0, len(items) if rows is None else len(rows), CHUNK):  # memory grows with the batch
            parsed = rows[i:i + CHUNK] if rows is not None else [
                (r, {}) if isinstance(r, shapely.Geometry) else _as_geometry(r) for r in items[i:i + CHUNK]]
            results += _analyze_batch(parsed, layer, countries, refuse_swapped, segment_km)
    return results


def _frame_rows(frame: gpd.GeoDataFrame) -> list[tuple[shapely.Geometry, dict[str, Any]]]:
    """Each row's line (its active geometry column, whatever its name) and its other fields, as ``_as_geometry``
    gives them for a row with a 'geometry' field, read column by column (a pandas Series per row took half the
    time of analysing 10^5 routes)."""
    cols = list(frame.columns)
    if len(set(cols)) != len(cols):  # duplicate column names: as pandas' rows have them
        return [_as_geometry(row) for _, row in frame.iterrows()]
    name = frame.active_geometry_name or "geometry"
    out = []
    columns = [np.asarray(frame[c].array, dtype=object).tolist() if isinstance(frame[c].dtype, gpd.array.GeometryDtype)
               else frame[c].tolist() for c in cols]  # geometries: one array, not a lookup per element
    for values in zip(*columns):
        meta = dict(zip(cols, values))
        geom = meta.pop(name, None)
        if not isinstance(geom, shapely.Geometry):
            raise RouteError("the row has no shapely 'geometry' field; pass a GeoDataFrame row with a line")
        out.append((geom, meta))
    return out


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (then restore it as it was) around code that allocates hundreds of
    thousands of small dicts and lists without reference cycles: the collector's passes over them took half the
    time of a whole analysis batch. Nothing leaks: reference counting frees them as usual, and cycles made
    meanwhile elsewhere are collected once it runs again. Also used by ``maps`` around building features."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _analyze_batch(parsed: list[tuple[shapely.Geometry, dict[str, Any]]], layer: borders.Layer,
                   countries: gpd.GeoDataFrame | None, refuse_swapped: bool,
                   segment_km: np.ndarray | None = None) -> list[RouteAnalysis]:
    parts, xy, counts = _parts_many([g for g, _ in parsed])
    notes = _swap_notes(parts, refuse_swapped, xy, counts) if countries is None else [[] for _ in parts]
    if not parts:
        return []
    if segment_km is not None and len(parsed) == 1 and int(shapely.get_num_coordinates(parsed[0][0])) != len(xy):
        segment_km = None  # cut at the antimeridian: other segments, measured here
    runs = _settle_boundaries(xy, counts, borders.split_xy(xy, counts, layer, segment_km=segment_km), layer)
    figs, simple = _figures_many(parts, xy, counts, runs, layer, FRAME if countries is None else None)
    n_out = 0
    n_swap = sum(map(bool, notes))
    for k in np.flatnonzero(~simple).tolist():  # a simple route has no gap and no length outside the frame
        fig, note = figs[k], notes[k]
        out_km = fig["length_by_country_km"].get(OUTSIDE, 0.0)
        if countries is None and out_km > 0:
            n_out += 1
            note.insert(0, f"{out_km:.1f} km lie outside the data (the countries cover lon {FRAME[0]:g}..{FRAME[2]:g}, "
                           f"lat {FRAME[1]:g}..{FRAME[3]:g}): counted as '{OUTSIDE}', not as any country or sea")
        if fig["gaps"]:
            note.append(f"{len(fig['gaps'])} gap(s) between parts of the line (e.g. {fig['gaps'][0]['gap_km']:.3f} km "
                        f"at km {fig['gaps'][0]['km']:.1f}): nothing is inferred across a gap (no crossing); merge "
                        "the parts (shapely.line_merge) or order them if they belong together")
    if n_swap:
        warnings.warn(f"{n_swap} route(s) may have lon and lat swapped; see each result's warnings",
                      OutsideDataWarning, stacklevel=3)
    if n_out:
        warnings.warn(f"{n_out} route(s) run partly outside the data (lon {FRAME[0]:g}..{FRAME[2]:g}, lat "
                      f"{FRAME[1]:g}..{FRAME[3]:g}); that length is reported as '{OUTSIDE}'; see each result's "
                      "warnings", OutsideDataWarning, stacklevel=3)
    _match([figs[k] for k in np.flatnonzero(~simple).tolist()], countries is None)  # simple ones are matched
    _match(figs, countries is None, crossings=False)
    results = []
    for (geom, meta), fig, note in zip(parsed, figs, notes):
        fig["warnings"] = note
        if not meta:  # a bare geometry: nothing known beyond the figures (fields in order, without keywords)
            results.append(RouteAnalysis(geom, fig["length_km"], fig["length_by_country_km"],
                                         {"unspecified": fig["length_km"]}, fig["countries"], fig["crossings"],
                                         fig["sea_legs"], [], None, None, None, None, fig["gaps"], note))
            continue
        nodes, by_mode = _section_nodes(meta)
        if not by_mode:
            by_mode = {str(meta.get("mode") or "unspecified"): fig["length_km"]}
        else:  # leg lengths are node-to-node geodesics; scale away the sub-metre densification residue
            scale = fig["length_km"] / sum(by_mode.values())
            by_mode = {m: v * scale for m, v in by_mode.items()}
        results.append(RouteAnalysis(  # fields in order, without keywords (10^5 keyword dicts cost 0.2 s)
            geom, fig["length_km"], fig["length_by_country_km"], by_mode, fig["countries"], fig["crossings"],
            fig["sea_legs"], nodes, _opt(meta.get("id")), _opt(meta.get("name")), _opt(meta.get("corridor")),
            _opt(meta.get("mode")), fig["gaps"], note))
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
