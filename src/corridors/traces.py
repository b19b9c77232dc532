"""GPS traces of shipments: what a truck actually did, in CPMM terms.

``read_traces`` reads timestamped points (CSV, GPX tracks with times, GeoParquet, a (Geo)DataFrame; any CRS)
into one row per point: ``trip``, ``time`` (UTC), ``lon``, ``lat``, point geometry in EPSG:4326.
``analyze_traces`` gives one row per trip: km and hours per country, the ordered border crossings with their
BCP (``corridors.analyze_many`` on the trip's line) and the time spent at each BCP, moving time, stops, and
CAREC CPMM's two speeds: SWOD (speed without delay = distance / moving time) and SWD (speed with delay =
distance / total time). ``bcp_table`` and ``country_table`` aggregate them; ``compare_with_cpmm`` puts the
BCP figures beside CPMM's published TFI1 (time to clear a border crossing point).

Definitions (all geodesic on WGS84):

- a segment between two fixes is *moving* when its implied speed is at least ``stop_speed_kmh``; moving time
  is the sum of moving segments, everything else is delay (a queue crawling at 2 km/h is delay, as in CPMM);
  a *stop* is a run of non-moving segments lasting at least ``min_stop_min``;
- distance is the length of the trip's line with stationary fixes collapsed (GPS jitter while parked adds
  nothing);
- time at a BCP runs from the moment the truck comes within ``bcp_radius_km`` of the crossing point (the
  matched BCP node, else where the line crosses the border) to the moment it leaves that circle on the other
  side, interpolated between fixes.

Bad traces are repaired where the repair is unambiguous and the trip is flagged (``flags``): unsorted times
(sorted), duplicate timestamps (first kept), GPS jumps (fixes implying more than ``max_speed_kmh`` dropped),
fixes at (0, 0) (dropped), gaps longer than ``max_gap_min`` (kept, flagged), trips that never move (no
figures). ``strict=True`` raises instead. Structural problems (missing columns, unreadable times or
coordinates) always raise ``TraceError`` naming the row and the fix.

movingpandas (``corridors[traces]``) is used for the trajectory objects handed to users (``trajectories``)
and, in the tests, as an independent stop detector; the per-fix arithmetic here is vectorised numpy.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from . import analysis, data, geodesy, io

TRIP_COLUMNS = ("trip", "trip_id", "tripid", "shipment", "vehicle", "vehicle_id", "track", "route", "route_id")
TIME_COLUMNS = ("time", "timestamp", "datetime", "date_time", "ts", "t")
EXTRA_HINT = "pip install 'corridors[traces]'"
FLAGS = ("unsorted_times", "duplicate_times", "gps_jump", "zero_point", "time_gap", "never_moves", "outside_data",
         "bcp_not_reached")
UNUSABLE = ("never_moves", "outside_data")  # trips with these flags have no figures


class TraceError(analysis.RouteError):
    """Traces that cannot be read or analysed; the message names the file, row or trip, and the fix."""


# ---------------------------------------------------------------- reading

def read_traces(path_or_frame: Any, *, trip: str | None = None, time: str | None = None, lon: str | None = None,
                lat: str | None = None, crs: Any = None) -> gpd.GeoDataFrame:
    """Timestamped points, one row per fix, in input order: ``trip`` (text), ``time`` (UTC), ``lon``, ``lat``,
    geometry (Point, EPSG:4326).

    Takes a CSV, a GPX file (one trip per ``<trk>``, every ``<trkpt>`` needs a ``<time>``), GeoParquet (points
    or lon/lat columns), a DataFrame or GeoDataFrame. Columns are found by name (trip/trip_id/vehicle...,
    time/timestamp..., lon/lng/longitude/x, lat/latitude/y) or named with ``trip=``, ``time=``, ``lon=``,
    ``lat=``. ``crs`` is the CRS of lon/lat columns (default EPSG:4326; a GeoDataFrame's own CRS wins).
    Times without a zone are taken as UTC; numeric times are Unix seconds.
    """
    where = "traces"
    if isinstance(path_or_frame, str | os.PathLike):
        p = Path(path_or_frame)
        where = p.name
        if not p.is_file():
            raise TraceError(f"no such file: {p}")
        suffix = p.suffix.lower()
        if suffix == ".gpx":
            frame: pd.DataFrame = _read_gpx(p)
            trip, time, lon, lat = "trip", "time", "lon", "lat"
        elif suffix == ".csv":
            try:
                frame = pd.read_csv(p, encoding="utf-8-sig", dtype=str, keep_default_na=False)
            except Exception as exc:
                raise TraceError(f"{p.name}: cannot be read as CSV ({exc})") from exc
        elif suffix in (".parquet", ".geoparquet"):
            frame = _read_parquet(p)
        else:
            raise TraceError(f"{p.name}: unknown trace file type {p.suffix!r}; use .csv, .gpx or .parquet")
    elif isinstance(path_or_frame, pd.DataFrame):
        frame = path_or_frame
    else:
        raise TraceError(f"read_traces takes a file path or a (Geo)DataFrame, not a {type(path_or_frame).__name__}")
    return _points(frame, where, trip, time, lon, lat, crs)


def _read_parquet(p: Path) -> pd.DataFrame:
    try:
        return gpd.read_parquet(p)
    except Exception:  # plain Parquet with lon/lat columns
        try:
            return pd.read_parquet(p)
        except Exception as exc:
            raise TraceError(f"{p.name}: cannot be read as (Geo)Parquet ({exc})") from exc


def _read_gpx(p: Path) -> pd.DataFrame:
    """Track points of a GPX file, parsed with defusedxml: a DTD or entity declaration is refused."""
    try:
        from defusedxml import DefusedXmlException
        from defusedxml.ElementTree import ParseError, parse
    except ImportError as exc:
        raise ImportError(f"reading GPX traces needs defusedxml: {EXTRA_HINT}") from exc
    try:
        root = parse(str(p), forbid_dtd=True, forbid_entities=True, forbid_external=True).getroot()
    except DefusedXmlException as exc:
        raise TraceError(f"{p.name}: refused, the file declares a DTD or entities ({exc!r}); GPX needs neither") \
            from None
    except ParseError as exc:
        raise TraceError(f"{p.name}: not well-formed GPX ({exc})") from None

    def tag(e: Any) -> str:
        return str(e.tag).rsplit("}", 1)[-1]

    rows = []
    for k, trk in enumerate(e for e in root if tag(e) == "trk"):
        name = next((c.text for c in trk if tag(c) == "name" and c.text and c.text.strip()), None)
        trip_id = name.strip() if name else f"{p.stem} {k + 1}"
        n = 0
        for seg in (c for c in trk if tag(c) == "trkseg"):
            for pt in (c for c in seg if tag(c) == "trkpt"):
                n += 1
                t = next((c.text for c in pt if tag(c) == "time"), None)
                if not t or "lat" not in pt.attrib or "lon" not in pt.attrib:
                    raise TraceError(f"{p.name}: track {trip_id!r} point {n} needs lat, lon and a <time>; "
                                     "traces are timestamped")
                rows.append((trip_id, t.strip(), pt.attrib["lon"], pt.attrib["lat"]))
    if not rows:
        raise TraceError(f"{p.name}: no <trk> with points; traces need track points with times")
    return pd.DataFrame(rows, columns=["trip", "time", "lon", "lat"])


def _pick(frame: pd.DataFrame, given: str | None, names: Sequence[str], what: str, where: str) -> str | None:
    if given is not None:
        if given not in frame.columns:
            raise TraceError(f"{where}: no column {given!r} for {what}; the columns are {list(frame.columns)}")
        return given
    keys = {str(c).strip().casefold(): c for c in frame.columns}
    return next((keys[n] for n in names if n in keys), None)


def _points(frame: pd.DataFrame, where: str, trip: str | None, time: str | None, lon: str | None,
            lat: str | None, crs: Any) -> gpd.GeoDataFrame:
    tcol = _pick(frame, time, TIME_COLUMNS, "the time", where)
    if tcol is None:
        raise TraceError(f"{where}: no time column (time, timestamp, datetime ...); name it with time=. "
                         f"The columns are {list(frame.columns)}")
    trip_col = _pick(frame, trip, TRIP_COLUMNS, "the trip id", where)
    if len(frame) == 0:
        raise TraceError(f"{where}: holds no points")
    is_geo = isinstance(frame, gpd.GeoDataFrame) and lon is None and lat is None
    if is_geo:
        gs = frame.geometry
        if not (gs.geom_type == "Point").all():
            first = int(np.flatnonzero((gs.geom_type != "Point").to_numpy())[0])
            kind = gs.iloc[first].geom_type if gs.iloc[first] is not None else "missing"
            raise TraceError(f"{where} row {first + 1}: is a {kind} "
                             "geometry; traces are points (one per GPS fix)")
        src = gs.crs if gs.crs is not None else (CRS.from_user_input(crs) if crs is not None else None)
        x, y = gs.x.to_numpy(dtype=float), gs.y.to_numpy(dtype=float)
    else:
        xcol = _pick(frame, lon, io.LON_COLUMNS, "longitude", where)
        ycol = _pick(frame, lat, io.LAT_COLUMNS, "latitude", where)
        if xcol is None or ycol is None:
            raise TraceError(f"{where}: needs lon and lat columns ({'/'.join(io.LON_COLUMNS)} and "
                             f"{'/'.join(io.LAT_COLUMNS)}; or lon=, lat=); the columns are {list(frame.columns)}")
        x, y = _numbers(frame[xcol], str(xcol), where), _numbers(frame[ycol], str(ycol), where)
        src = CRS.from_user_input(crs) if crs is not None else None
    if src is not None and not src.equals(CRS.from_epsg(4326)):
        x, y = Transformer.from_crs(src, 4326, always_xy=True).transform(x, y)
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    bad = np.flatnonzero(~np.isfinite(x) | ~np.isfinite(y) | (np.abs(x) > 180) | (np.abs(y) > 90))
    if len(bad):
        raise TraceError(f"{where} row {int(bad[0]) + 1}: ({x[bad[0]]:.6g}, {y[bad[0]]:.6g}) is not lon/lat in "
                         "degrees; if the coordinates are projected, give their CRS with crs=")
    times = _times(frame[tcol], str(tcol), where)
    trips = (frame[trip_col].astype(str).str.strip() if trip_col is not None
             else pd.Series([Path(where).stem] * len(frame), index=frame.index))
    out = gpd.GeoDataFrame({"trip": trips.to_numpy(dtype=object), "time": times, "lon": x, "lat": y},
                           geometry=gpd.points_from_xy(x, y), crs="EPSG:4326")
    return out


def _numbers(col: pd.Series, name: str, where: str) -> np.ndarray:
    text = col if pd.api.types.is_numeric_dtype(col) else col.astype(str).str.strip()
    v: np.ndarray = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(v))
    if len(bad):
        raise TraceError(f"{where} row {int(bad[0]) + 1}: {name} {col.iloc[bad[0]]!r} is not a number")
    return v


def _times(col: pd.Series, name: str, where: str) -> pd.DatetimeIndex:
    """UTC times from ISO text (a zone-less time is UTC), datetimes, or Unix seconds."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        v = col.to_numpy(dtype=float)
        if np.nanmax(np.abs(v)) > 1e11:
            raise TraceError(f"{where}: {name} values such as {v[0]:.0f} look like milliseconds; numeric times "
                             "are Unix seconds: divide by 1000")
        t = pd.to_datetime(v, unit="s", utc=True)
    else:
        text = col if pd.api.types.is_datetime64_any_dtype(col) else col.astype(str).str.strip()
        try:
            t = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise TraceError(f"{where}: {name} cannot be read as times ({exc}); use ISO 8601 such as "
                             "2024-03-01T06:00:00Z") from exc
    t = pd.DatetimeIndex(t)
    bad = np.flatnonzero(t.isna())
    if len(bad):
        raise TraceError(f"{where} row {int(bad[0]) + 1}: {name} {col.iloc[bad[0]]!r} is not a time; use ISO 8601 "
                         "such as 2024-03-01T06:00:00Z")
    return t.as_unit("ns")


def trajectories(traces: gpd.GeoDataFrame) -> Any:
    """The traces as a ``movingpandas.TrajectoryCollection`` (one trajectory per trip), for its plots,
    generalisers and stop detectors. Its times are UTC without a zone (movingpandas keeps none: handing it
    zone-aware times only makes it drop the zone with a warning)."""
    try:
        import movingpandas as mpd
    except ImportError as exc:
        raise ImportError(f"trajectories() needs movingpandas: {EXTRA_HINT}") from exc
    frame = traces.sort_values(["trip", "time"], kind="stable").set_index("time")
    frame.index = frame.index.tz_convert("UTC").tz_localize(None)
    return mpd.TrajectoryCollection(frame, "trip", min_length=0)


# ---------------------------------------------------------------- one trip

def _clean(t: np.ndarray, x: np.ndarray, y: np.ndarray, max_speed_kmh: float,
           flags: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop (0, 0) fixes, sort by time, drop duplicate times and GPS spikes; note each repair in ``flags``."""
    zero = (np.abs(x) < 1e-6) & (np.abs(y) < 1e-6)
    if zero.any():
        flags.append("zero_point")
        t, x, y = t[~zero], x[~zero], y[~zero]
    if len(t) > 1 and (np.diff(t) < 0).any():
        flags.append("unsorted_times")
        order = np.argsort(t, kind="stable")
        t, x, y = t[order], x[order], y[order]
    if len(t) > 1 and (np.diff(t) == 0).any():
        flags.append("duplicate_times")
        keep = np.r_[True, np.diff(t) > 0]
        t, x, y = t[keep], x[keep], y[keep]
    for _ in range(20):  # a spike: a fix reached and left faster than any truck; drop it, look again
        if len(t) < 3:
            break
        v = _speeds(t, x, y)
        fast = v > max_speed_kmh
        spike = np.r_[fast[0] and not (_speeds(t[1:3], x[1:3], y[1:3]) > max_speed_kmh).any(),
                      fast[:-1] & fast[1:], fast[-1]]
        if not spike.any():
            break
        if "gps_jump" not in flags:
            flags.append("gps_jump")
        t, x, y = t[~spike], x[~spike], y[~spike]
    if len(t) > 1 and "gps_jump" not in flags and (_speeds(t, x, y) > max_speed_kmh).any():
        flags.append("gps_jump")  # a jump that is not a lone spike (the trace moves for good): kept, flagged
    return t, x, y


def _speeds(t: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    d = geodesy.segment_lengths_m(x, y) / 1000.0
    dt = np.diff(t) / 3600.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(dt > 0, d / dt, np.inf)


def _interp_time(km: np.ndarray, t: np.ndarray, at_km: float) -> float:
    """Time at a chainage; where the line stands still (a stop), the time the truck got there."""
    i = int(np.searchsorted(km, at_km, side="left"))
    if i <= 0:
        return float(t[0])
    if i >= len(km):
        return float(t[-1])
    span = km[i] - km[i - 1]
    f = 0.0 if span <= 0 else (at_km - km[i - 1]) / span
    return float(t[i - 1] + f * (t[i] - t[i - 1]))


def _bcp_visit(t: np.ndarray, x: np.ndarray, y: np.ndarray, centre: tuple[float, float], at: float,
               radius_km: float) -> tuple[float, float, bool] | None:
    """(arrival, departure, truncated) of the stay within ``radius_km`` of ``centre`` nearest in time to ``at``."""
    d = np.asarray(geodesy.GEOD.inv(x, y, np.full(len(x), centre[0]), np.full(len(x), centre[1]))[2]) / 1000.0
    inside = d <= radius_km
    if not inside.any():
        return None
    idx = np.flatnonzero(inside)
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    gap = [0.0 if t[r[0]] <= at <= t[r[-1]] else min(abs(t[r[0]] - at), abs(t[r[-1]] - at)) for r in runs]
    run = runs[int(np.argmin(gap))]
    a, b = int(run[0]), int(run[-1])

    def edge(i: int, j: int) -> float:  # i outside, j inside: when the circle was crossed
        f = (d[i] - radius_km) / (d[i] - d[j]) if d[i] != d[j] else 0.0
        return float(t[i] + f * (t[j] - t[i]))

    arrive = edge(a - 1, a) if a > 0 else float(t[a])
    depart = edge(b + 1, b) if b + 1 < len(t) else float(t[b])
    return arrive, depart, a == 0 or b + 1 == len(t)


def _trip_prep(t: np.ndarray, x: np.ndarray, y: np.ndarray, p: dict[str, float]) -> dict[str, Any]:
    """Clean one trip and measure its motion; the line to analyse has stationary fixes collapsed."""
    flags: list[str] = []
    t, x, y = _clean(t, x, y, p["max_speed_kmh"], flags)
    out: dict[str, Any] = {"t": t, "x": x, "y": y, "flags": flags, "line": None}
    if len(t) < 2:
        flags.append("never_moves")
        return out
    dt = np.diff(t) / 3600.0
    v = _speeds(t, x, y)
    moving = v >= p["stop_speed_kmh"]
    gaps = dt > p["max_gap_min"] / 60.0
    if gaps.any():
        flags.append("time_gap")
    out.update(moving_h=float(dt[moving].sum()), total_h=float(t[-1] - t[0]) / 3600.0,
               gap_h=float(dt[gaps].sum()))
    # stops: runs of non-moving segments of at least min_stop_min
    still = (~moving).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.r_[0, still, 0]))
    starts, ends = edges[::2], edges[1::2]
    long = [(s, e) for s, e in zip(starts, ends) if (t[e] - t[s]) >= p["min_stop_min"] * 60.0]
    out["stops"] = [{"start": _ts(t[s]), "end": _ts(t[e]), "hours": float(t[e] - t[s]) / 3600.0,
                     "lon": float(np.median(x[s:e + 1])), "lat": float(np.median(y[s:e + 1]))} for s, e in long]
    keep = np.r_[True, moving] | np.r_[moving, True]
    keep[[0, -1]] = True
    lx, ly, lt = x[keep], y[keep], t[keep]
    if not moving.any() or float(np.ptp(lx)) + float(np.ptp(ly)) < 1e-6:
        flags.append("never_moves")
        return out
    out.update(line=shapely.LineString(np.column_stack([lx, ly])), line_t=lt,
               line_km=np.r_[0.0, np.cumsum(geodesy.segment_lengths_m(lx, ly))] / 1000.0)
    return out


def _trip_row(trip: str, prep: dict[str, Any], result: analysis.RouteAnalysis | None, error: str | None,
              p: dict[str, float]) -> dict[str, Any]:
    t, x, y, flags = prep["t"], prep["x"], prep["y"], prep["flags"]
    row: dict[str, Any] = {
        "trip": trip, "start": _ts(t[0]) if len(t) else None, "end": _ts(t[-1]) if len(t) else None,
        "points": len(t), "distance_km": math.nan, "total_h": prep.get("total_h", math.nan),
        "moving_h": prep.get("moving_h", math.nan), "delay_h": math.nan, "n_stops": len(prep.get("stops", [])),
        "stop_h": sum(s["hours"] for s in prep.get("stops", [])), "swod_kmh": math.nan, "swd_kmh": math.nan,
        "countries": [], "km_by_country": {}, "hours_by_country": {}, "crossings": [], "bcp_h": math.nan,
        "gap_h": prep.get("gap_h", 0.0), "stops": prep.get("stops", []), "flags": flags, "error": error,
    }
    if result is not None and not result.countries:
        result, error = None, "the trip lies outside every country of the data (at sea or outside the region)"
    if result is None:
        if error is not None and "outside_data" not in flags:
            flags.append("outside_data")
        row["error"] = error
        return row
    total, moving = row["total_h"], row["moving_h"]
    dist = result.length_km
    row.update(distance_km=dist, delay_h=total - moving,
               swod_kmh=dist / moving if moving > 0 else math.nan, swd_kmh=dist / total if total > 0 else math.nan,
               countries=list(result.countries),
               km_by_country={k: v for k, v in result.length_by_country_km.items()})
    lkm, lt = prep["line_km"], prep["line_t"]
    cuts = [float(t[0])]
    recs: list[dict[str, Any]] = []
    for c in result.crossings:
        at = _interp_time(lkm, lt, c["km"])
        centre = (c["lon"], c["lat"])
        if c.get("bcp_id"):
            centre = _node_xy(c["bcp_id"])
        visit = _bcp_visit(t, x, y, centre, at, p["bcp_radius_km"])
        rec = {"order": len(recs) + 1, "from": c["from"], "to": c["to"], "direction": f"{c['from']}>{c['to']}",
               "bcp": c.get("bcp"), "bcp_id": c.get("bcp_id"), "km": c["km"], "lon": c["lon"], "lat": c["lat"],
               "time": _ts(at), "arrive": None, "depart": None, "hours": math.nan, "note": None}
        if visit is None:
            rec["note"] = f"no fix within {p['bcp_radius_km']:g} km of the crossing"
            if "bcp_not_reached" not in flags:
                flags.append("bcp_not_reached")
        else:
            arrive, depart, truncated = visit
            gap_inside = _gap_between(t, arrive, depart, p["max_gap_min"])
            rec.update(arrive=_ts(arrive), depart=_ts(depart), hours=(depart - arrive) / 3600.0)
            if truncated:
                rec["note"] = "the trace starts or ends within the radius: the time is a lower bound"
            elif gap_inside:
                rec["note"] = "a gap in the trace falls within the stay: the time is uncertain"
        recs.append(rec)
        cuts.append(at)
    cuts.append(float(t[-1]))
    hours: dict[str, float] = {}
    for country, a, b in zip(result.countries, cuts[:-1], cuts[1:]):
        hours[country] = hours.get(country, 0.0) + (b - a) / 3600.0
    row.update(crossings=recs, hours_by_country=hours,
               bcp_h=float(np.nansum([c["hours"] for c in recs])) if recs else 0.0)
    return row


@functools.cache
def _node_xy(node_id: str) -> tuple[float, float]:
    node = data.node(node_id)
    return float(node.geometry.x), float(node.geometry.y)


def _gap_between(t: np.ndarray, a: float, b: float, max_gap_min: float) -> bool:
    sel = (t >= a) & (t <= b)
    return bool(sel.sum() > 1 and (np.diff(t[sel]) > max_gap_min * 60.0).any())


def _ts(seconds: float) -> pd.Timestamp:
    return pd.Timestamp(round(seconds * 1e9), unit="ns", tz="UTC").round("ms")


# ---------------------------------------------------------------- many trips

def analyze_traces(traces: Any, *, bcp_radius_km: float = 5.0, stop_speed_kmh: float = 5.0,
                   max_speed_kmh: float = 150.0, max_gap_min: float = 30.0, min_stop_min: float = 5.0,
                   strict: bool = False, engine: str = "memory", scheduler: Any = None) -> pd.DataFrame:
    """One row per trip (see the module docstring for the definitions).

    Columns: trip, start, end, points, distance_km, total_h, moving_h, delay_h, n_stops, stop_h, swod_kmh,
    swd_kmh, countries, km_by_country, hours_by_country, crossings (list of dicts: order, from, to,
    direction, bcp, bcp_id, km, lon, lat, time, arrive, depart, hours, note), bcp_h, gap_h, stops, flags,
    error. ``traces`` is what ``read_traces`` gives, or anything it reads. ``engine="dask"`` takes a
    dask-geopandas frame or partitioned GeoParquet of such points, every trip inside one partition.
    """
    params = {"bcp_radius_km": bcp_radius_km, "stop_speed_kmh": stop_speed_kmh, "max_speed_kmh": max_speed_kmh,
              "max_gap_min": max_gap_min, "min_stop_min": min_stop_min}
    for k, v in params.items():
        if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
            raise TraceError(f"{k} must be a positive number, not {v!r}")
    if stop_speed_kmh >= max_speed_kmh:
        raise TraceError("stop_speed_kmh must be below max_speed_kmh")
    if engine == "dask":
        return _analyze_dask(traces, params, strict, scheduler)
    if engine != "memory":
        raise TraceError(f"engine= is 'memory' or 'dask', not {engine!r}")
    if not (isinstance(traces, gpd.GeoDataFrame) and {"trip", "time", "lon", "lat"} <= set(traces.columns)
            and pd.api.types.is_datetime64_any_dtype(traces["time"])):
        traces = read_traces(traces)
    out = _analyze_frame(traces, params)
    if strict:
        bad = out[out["flags"].map(len) > 0]
        if len(bad):
            raise TraceError("flagged trips: " + "; ".join(f"{r.trip}: {', '.join(r.flags)}"
                                                           for r in bad.head(10).itertuples()))
    return out


def _analyze_frame(traces: pd.DataFrame, params: dict[str, float]) -> pd.DataFrame:
    secs = (traces["time"].to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9)
    x, y = traces["lon"].to_numpy(dtype=float), traces["lat"].to_numpy(dtype=float)
    trips = traces["trip"].astype(str).to_numpy(dtype=object)
    codes, names = pd.factorize(trips, sort=False)
    order = np.argsort(codes, kind="stable")  # each trip's fixes together, in input order
    bounds = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(names)))]
    preps: list[tuple[str, dict[str, Any]]] = []
    for k, name in enumerate(names):
        sel = order[bounds[k]:bounds[k + 1]]
        preps.append((str(name), _trip_prep(secs[sel], x[sel], y[sel], params)))
    lines = [(i, p["line"]) for i, (_, p) in enumerate(preps) if p["line"] is not None]
    results: dict[int, analysis.RouteAnalysis] = {}
    errors: dict[int, str] = {}
    try:
        for (i, _), r in zip(lines, analysis.analyze_many([ln for _, ln in lines]) if lines else []):
            results[i] = r
    except analysis.RouteError:  # one trip outside the data: analyse one by one to name it
        for i, ln in lines:
            try:
                results[i] = analysis.analyze(ln)
            except analysis.RouteError as exc:
                errors[i] = str(exc)
    rows = [_trip_row(name, p, results.get(i), errors.get(i), params) for i, (name, p) in enumerate(preps)]
    return pd.DataFrame(rows, columns=list(_empty_row()))


def _empty_row() -> dict[str, Any]:
    return _trip_row("", {"t": np.zeros(0), "x": np.zeros(0), "y": np.zeros(0), "flags": []}, None, None, {})


def _analyze_dask(traces: Any, params: dict[str, float], strict: bool, scheduler: Any) -> pd.DataFrame:
    from . import scale

    dask_geopandas, _ = scale.require()
    if isinstance(traces, str | os.PathLike):
        frame = dask_geopandas.read_parquet(traces)
    elif isinstance(traces, dask_geopandas.GeoDataFrame):
        frame = traces
    else:
        raise TraceError("engine='dask' takes a dask-geopandas frame or a folder of partitioned GeoParquet traces")
    meta = pd.DataFrame({k: pd.Series(dtype=float if isinstance(v, float) else object)
                         for k, v in _empty_row().items()})
    kw = dict(params)
    part = frame.map_partitions(_partition, kw, meta=meta)
    out = scale.client(scheduler).compute(part).result()
    dup = out["trip"][out["trip"].duplicated()]
    if len(dup):
        raise TraceError(f"trip {dup.iloc[0]!r} is split across partitions; partition the traces by trip "
                         "(e.g. frame.set_index('trip') or one file per group of trips)")
    out = out.reset_index(drop=True)
    if strict and (out["flags"].map(len) > 0).any():
        raise TraceError("flagged trips: " + ", ".join(out.loc[out["flags"].map(len) > 0, "trip"].head(10)))
    return out


def _partition(part: pd.DataFrame, params: dict[str, float]) -> pd.DataFrame:
    if len(part) == 0:
        return pd.DataFrame(columns=list(_empty_row()))
    pts = read_traces(part.reset_index(drop="trip" in part.columns))
    return _analyze_frame(pts, params)


# ---------------------------------------------------------------- aggregates

def crossings(trips: pd.DataFrame) -> pd.DataFrame:
    """One row per crossing of every trip: trip, order, direction, bcp, bcp_id, arrive, depart, hours, note."""
    rows = [{"trip": r.trip, **c} for r in trips.itertuples() for c in r.crossings]
    cols = ["trip", "order", "from", "to", "direction", "bcp", "bcp_id", "km", "lon", "lat", "time", "arrive",
            "depart", "hours", "note"]
    return pd.DataFrame(rows, columns=cols)


def bcp_table(trips: pd.DataFrame) -> pd.DataFrame:
    """Per BCP and direction: trips (count), median, p90 and mean hours at the BCP, from crossings whose time
    is known and certain (no gap inside the stay, not cut by the trace's start or end)."""
    c = crossings(trips)
    c = c[c["hours"].notna() & c["note"].isna()]
    c = c.assign(bcp_id=c["bcp_id"].fillna("(no known BCP)"), bcp=c["bcp"].fillna("(no known BCP)"))
    g = c.groupby(["bcp_id", "bcp", "direction"], sort=True)["hours"]
    out = pd.DataFrame({"trips": g.size(), "median_h": g.median(), "p90_h": g.quantile(0.9), "mean_h": g.mean()})
    return out.reset_index()


def country_table(trips: pd.DataFrame) -> pd.DataFrame:
    """Per country: trips, km, hours and km/h (km / hours: speed with delay inside that country)."""
    rows = [{"country": k, "trip": r.trip, "km": v, "hours": r.hours_by_country.get(k, math.nan)}
            for r in trips.itertuples() for k, v in r.km_by_country.items() if k != analysis.SEA]
    if not rows:
        return pd.DataFrame(columns=["country", "trips", "km", "hours", "kmh"])
    df = pd.DataFrame(rows)
    g = df.groupby("country", sort=True)
    out = pd.DataFrame({"trips": g["trip"].nunique(), "km": g["km"].sum(), "hours": g["hours"].sum()})
    out["kmh"] = out["km"] / out["hours"]
    return out.reset_index()


HOURS = {"h": 1.0, "hour": 1.0, "hours": 1.0, "hr": 1.0, "hrs": 1.0, "min": 1 / 60, "minute": 1 / 60,
         "minutes": 1 / 60, "day": 24.0, "days": 24.0, "d": 24.0}


def compare_with_cpmm(bcp: pd.DataFrame, cpmm: pd.DataFrame | None = None, *, indicator: str = "TFI1",
                      mode: str | None = "road") -> pd.DataFrame:
    """``bcp_table`` rows beside CPMM's published time to clear the same BCP (``indicator`` TFI1, in hours).

    ``cpmm`` defaults to the shipped figures (``timecost.figures(preferred_only=True)``, linked to BCP nodes
    through ``geodata/cpmm_bcp_links.csv``). A table of your own has the columns of geodata/cpmm.csv (id,
    indicator, mode, scope, name, country, direction, year, value, unit, source_url) plus ``bcp_id`` (the link
    to BCP nodes). One row per BCP, direction of ours and CPMM figure (every year); ``cpmm_h`` is CPMM's value
    in hours, ``diff_h`` = our mean - CPMM. BCPs with no CPMM figure keep empty CPMM columns (unknown, not zero).
    """
    if cpmm is None:
        from . import timecost

        cpmm = timecost.figures(preferred_only=True)
        cpmm = cpmm.assign(bcp_id=cpmm["node_id"].replace("", None))
    need = {"id", "indicator", "mode", "name", "direction", "year", "value", "unit", "source_url", "bcp_id"}
    missing = sorted(need - set(cpmm.columns))
    if missing:
        raise TraceError(f"the CPMM table lacks the columns {missing}; it needs those of geodata/cpmm.csv and "
                         "bcp_id")
    sel = cpmm[(cpmm["indicator"] == indicator) & cpmm["bcp_id"].notna()]
    if mode is not None:
        sel = sel[sel["mode"].astype(str).str.casefold() == mode.casefold()]
    units = sel["unit"].astype(str).str.strip().str.casefold()
    unknown = sorted(set(units) - set(HOURS))
    if unknown:
        raise TraceError(f"CPMM unit(s) {unknown} are not a duration; expected hours, minutes or days")
    sel = sel.assign(cpmm_h=pd.to_numeric(sel["value"], errors="coerce") * units.map(HOURS).to_numpy())
    sel = sel.rename(columns={"id": "cpmm_id", "name": "cpmm_name", "direction": "cpmm_direction",
                              "year": "cpmm_year", "source_url": "cpmm_source"})
    keep = ["bcp_id", "cpmm_id", "cpmm_name", "cpmm_direction", "cpmm_year", "cpmm_h", "cpmm_source"]
    out = bcp.merge(sel[keep], on="bcp_id", how="left")
    out["diff_h"] = out["mean_h"] - out["cpmm_h"]
    return out.sort_values(["bcp_id", "direction", "cpmm_year"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- output

def _plain(v: Any) -> Any:
    """JSON-ready: timestamps as ISO 8601 text, NaN as null, floats to 4 decimals, containers recursively."""
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, float | np.floating):
        return None if not math.isfinite(v) else round(float(v), 4)
    if isinstance(v, np.integer):
        return int(v)
    return v


def trip_summary(trips: pd.DataFrame) -> pd.DataFrame:
    """The per-trip table flattened to text and numbers (for tables and CSV)."""
    def cross(cs: list[dict[str, Any]]) -> str:
        return "; ".join(f"{c['direction']} {c['bcp'] or 'no known BCP'} "
                         + ("? h" if not math.isfinite(c["hours"]) else f"{c['hours']:.2f} h") for c in cs)

    return pd.DataFrame({
        "trip": trips["trip"], "start": trips["start"].map(_plain), "distance_km": trips["distance_km"].round(1),
        "total_h": trips["total_h"].round(2), "moving_h": trips["moving_h"].round(2),
        "swod_kmh": trips["swod_kmh"].round(1), "swd_kmh": trips["swd_kmh"].round(1), "n_stops": trips["n_stops"],
        "countries": trips["countries"].map(">".join),
        "km_by_country": trips["km_by_country"].map(lambda d: " ".join(f"{k}:{v:.0f}" for k, v in d.items())),
        "crossings": trips["crossings"].map(cross), "flags": trips["flags"].map("|".join),
    })


def report(trips: pd.DataFrame, *, by: str = "trip", fmt: str = "table") -> str:
    """The trips (``by="trip"``), ``bcp_table`` (``"bcp"``) or ``country_table`` (``"country"``) as text:
    ``fmt`` "table", "csv" or "json" (JSON by trip keeps every figure, crossings and stops included)."""
    if by == "trip":
        df = trips if fmt == "json" else trip_summary(trips)
    elif by == "bcp":
        df = bcp_table(trips)
    elif by == "country":
        df = country_table(trips)
    else:
        raise TraceError(f"by= is 'trip', 'bcp' or 'country', not {by!r}")
    if fmt == "json":
        return json.dumps([_plain(r) for r in df.to_dict("records")], ensure_ascii=False, indent=2)
    df = df.round(3)
    if fmt == "csv":
        return str(df.to_csv(index=False, lineterminator="\n")).rstrip("\n")
    if fmt == "table":
        return str(df.to_string(index=False, max_colwidth=60))
    raise TraceError(f"format is 'table', 'csv' or 'json', not {fmt!r}")


# ---------------------------------------------------------------- simulator

DEFAULT_TRIPS = (("almaty", "bishkek", "bcp_korday_ak_zhol", (0.5, 3.0)),
                 ("almaty", "khorgos_chn", "bcp_nur_zholy_khorgos", (2.0, 8.0)))


def simulate_fleet(n_trucks: int = 20, *, seed: int = 0,
                   trips: Iterable[tuple[str, str, str, tuple[float, float]]] = DEFAULT_TRIPS,
                   speed_kmh: tuple[float, float] = (55.0, 80.0), interval_s: float = 60.0, noise_m: float = 10.0,
                   start: str = "2024-03-01T06:00:00Z") -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Trucks driven along real routes of the data, with known dwell times at known BCPs and GPS noise.

    ``trips``: (from place, to place, BCP node id, (min, max) dwell hours); each truck takes one in turn,
    every other truck in the reverse direction, follows ``corridors.route`` between the places at a constant
    speed drawn from ``speed_kmh``, stands at the BCP node for a dwell drawn from its range, and reports a
    fix every ``interval_s`` with Gaussian noise of ``noise_m`` metres. Seeded: the same arguments give the
    same points. Returns (points as ``read_traces`` gives them, truth: one row per trip with route, bcp_id,
    dwell_h, speed_kmh, length_km (of the route driven), trace_km (of the noise-free fixes joined by straight
    lines: what a perfect receiver at this interval measures; shorter than length_km on a winding road, since
    the road between two fixes is longer than the chord), moving_h, total_h).
    """
    from . import routes

    rng = np.random.default_rng(seed)
    specs = list(trips)
    t0 = pd.Timestamp(start).tz_convert("UTC").value / 1e9
    cache: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    pts, truth = [], []
    for k in range(n_trucks):
        a, b, bcp_id, (dmin, dmax) = specs[k % len(specs)]
        if (k // len(specs)) % 2:
            a, b = b, a
        if (a, b) not in cache:
            dense = np.asarray(geodesy.densify(list(routes.route(a, b).geometry.coords), 0.1))
            km = np.r_[0.0, np.cumsum(geodesy.segment_lengths_m(dense[:, 0], dense[:, 1]))] / 1000.0
            cache[(a, b)] = (dense, km, np.zeros(0))
        dense, km, _ = cache[(a, b)]
        node = data.node(bcp_id)
        dnode = np.asarray(geodesy.GEOD.inv(dense[:, 0], dense[:, 1], np.full(len(dense), node.geometry.x),
                                            np.full(len(dense), node.geometry.y))[2])
        stop_km = float(km[int(np.argmin(dnode))])
        v = float(rng.uniform(*speed_kmh))
        dwell = float(rng.uniform(dmin, dmax))
        depart = t0 + float(rng.uniform(0, 24)) * 3600.0
        length = float(km[-1])
        total_s = (length / v + dwell) * 3600.0
        ts = np.arange(0.0, total_s, interval_s)  # a fix every interval, and one at arrival (never two at once)
        ts = depart + (np.r_[ts[:-1], total_s] if total_s - ts[-1] < 1.0 else np.r_[ts, total_s])
        el = (ts - depart) / 3600.0
        reach = stop_km / v
        pos = np.where(el < reach, el * v, np.where(el < reach + dwell, stop_km, (el - dwell) * v))
        pos = np.minimum(pos, length)
        lon, lat = np.interp(pos, km, dense[:, 0]), np.interp(pos, km, dense[:, 1])
        trace_km = float(geodesy.segment_lengths_m(lon, lat).sum()) / 1000.0  # before noise
        e, n = rng.normal(0.0, noise_m, (2, len(ts)))
        lat = lat + n / 111_320.0
        lon = lon + e / (111_320.0 * np.cos(np.radians(lat)))
        trip = f"truck-{k + 1:03d}"
        pts.append(pd.DataFrame({"trip": trip, "time": pd.to_datetime(np.round(ts * 1e3).astype(np.int64),
                                                                        unit="ms", utc=True),
                                 "lon": lon, "lat": lat}))
        truth.append({"trip": trip, "from": a, "to": b, "bcp_id": bcp_id, "dwell_h": dwell, "speed_kmh": v,
                      "length_km": length, "trace_km": trace_km, "moving_h": length / v, "total_h": length / v + dwell,
                      "swod_kmh": v, "swd_kmh": length / (length / v + dwell)})
    frame = pd.concat(pts, ignore_index=True)
    return read_traces(frame), pd.DataFrame(truth)
