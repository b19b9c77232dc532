"""Travel time and cost along a route, from CAREC's own corridor measurements (CPMM).

The figures are ``geodata/cpmm.csv`` (ADB/CAREC Corridor Performance Measurement and Monitoring reports, one
published figure per row with its page; only rows marked ``preferred`` are used). For a ``RouteAnalysis``:

- moving time per country and mode: km / SWOD (speed without delay) and km / SWD (CPMM's speed with delay);
- border time and cost at each crossing: TFI1 (hours) and TFI2 (USD) for that BCP, direction and mode;
  a sea crossing is cleared at both ports (departure port outbound + arrival port inbound);
- distance cost: km x TFI3 / 500 per country (TFI3 is USD per 500 km per 20-t cargo);
- ferry sailing time and cost: no sourced figure is shipped, so they are unknown (and so is any total that
  needs them); port clearance is counted at the sea crossing. A "sea" run between two runs of one country on a
  route with no ferry km is the road or rail outside the generalised coastline: land of that country. On a route
  over the network (``route()``), a land crossing with no BCP named inside a network run is charged at the BCP
  the path takes between those two countries; with none, an out-and-back pair within ``BORDER_HUG_KM`` is the line
  running along a border of the 1:10m country layer, not a crossing (the network changes country only at BCPs).

``time_h``: ``without_delay = moving + border + ferry``, ``with_delay = moving_with_delay + border + ferry``.
CPMM's SWD averages all stops of the sampled trips (border waits included) into a speed, so ``with_delay`` is an
upper-leaning estimate; the border time is this route's own crossings either way.

Every figure used names its CPMM row (id, year, level) and the fallback taken when the exact figure is missing.
The fallback order is fixed: the BCP in the direction of travel -> the same BCP both directions ("overall") ->
the same BCP, other direction -> the PRC-KAZ border group -> country average for the direction -> country average
both directions -> corridor -> CAREC average; first all levels for the asked year, then all levels for the nearest
year (within ``MAX_YEAR_GAP``; ties go to the later year). ``year=None`` takes the latest figure at the most
specific level. When nothing applies the value is ``None`` and ``unknown`` says why; nothing is invented.
For a crossing from A to B the departure country's figure comes first (A outbound), then the arrival country's
(B inbound): CPMM measures TFI1 from entry to exit of both sides, so one figure covers the crossing.
"""

from __future__ import annotations

import csv
import functools
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from . import data
from .analysis import RouteError

MAX_YEAR_GAP = 2  # a figure at most this many years from the asked year may stand in for it (said so)
UNKNOWN_PENALTY = 1e6  # routing: weight per km (or per crossing) whose time/cost is unknown; orders, not a speed
MODES = ("road", "rail")
KINDS = ("distance", "time", "cost")
REGION_NAME = "CAREC (all corridors)"
LEVEL_TEXT = {
    "bcp": "this BCP, direction of travel",
    "bcp_both_directions": "same BCP, both directions",
    "bcp_other_direction": "same BCP, other direction",
    "border": "average of the BCPs on this border",
    "country": "country average for the mode",
    "country_both_directions": "country average for the mode, both directions",
    "corridor": "corridor average",
    "region": "CAREC average",
}
Edge = dict[str, Any]


# ---------------------------------------------------------------- the figures

@functools.cache
def _table() -> pd.DataFrame:
    df = pd.read_csv(data.geodata_dir() / "cpmm.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    df["value"] = df["value"].astype(float)
    df["year"] = df["year"].astype(int)
    link = _node_linker()
    df["node_id"] = [link(n, c, m, s) for n, c, m, s in zip(*(df[k].tolist() for k in ("name", "country", "mode",
                                                                                     "scope")))]
    return df


def _node_linker() -> Callable[[str, str, str, str], str]:
    """(name, country, mode, scope) of a CPMM row -> the project node its BCP is linked to (``cpmm_bcp_links.csv``:
    the row's mode first, then a link for any mode; '' when unlinked or not a BCP row)."""
    keyed = {(r["cpmm_name"], r["country"], r["mode"]): r["node_id"] for r in _csv("cpmm_bcp_links.csv")[1]}
    return lambda n, c, m, s: keyed.get((n, c, m), keyed.get((n, c, ""), "")) if s == "bcp" else ""


def figures(preferred_only: bool = False) -> pd.DataFrame:
    """The CPMM figures (``geodata/cpmm.csv``) with ``node_id``: the project node a BCP row is linked to."""
    df = _table()
    return (df[df["preferred"] == "yes"] if preferred_only else df).reset_index(drop=True).copy()


@functools.cache
def _links() -> pd.DataFrame:
    return pd.read_csv(data.geodata_dir() / "cpmm_bcp_links.csv", dtype=str, keep_default_na=False, encoding="utf-8")


def bcp_links() -> pd.DataFrame:
    """The explicit pairing: CPMM BCP name + reporting country (+ mode) -> project node id ('' when unmatched)."""
    return _links().copy()


@functools.cache
def _rows() -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Preferred rows by (indicator, mode, scope), in file order: the rows of ``figures()`` as dicts (``value``
    float, ``year`` int, ``node_id``) with the columns ``ROW_COLUMNS`` the figures use. Read with the csv module
    and kept in the per-user cache keyed by the two files' hashes (pandas' reader and its Arrow-backed text cost
    ~25 ms at every command's start); tests/test_timecost.py checks they are the rows of ``figures()``."""
    key = f"cpmm rows v2 {ROW_COLUMNS} " + " ".join(data.file_sha256(data.geodata_dir() / n) for n in CPMM_FILES)
    _, (cols, table) = data.cached_arrays("cpmm-rows", key, lambda: ({}, _build_rows()))
    out: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for values in table:
        r = dict(zip(cols, values))
        out.setdefault((r["indicator"], r["mode"], r["scope"]), []).append(r)
    return out


CPMM_FILES = ("cpmm.csv", "cpmm_bcp_links.csv")
ROW_COLUMNS = ("id", "indicator", "mode", "scope", "name", "country", "direction", "year", "value", "unit",
               "source_url", "node_id")  # what _pick / _figure / the fallback chain read of a row


def _build_rows() -> tuple[list[str], list[list[Any]]]:
    """The preferred rows' columns and values, JSON-able (see ``_rows``)."""
    _, records = _csv("cpmm.csv")
    link = _node_linker()
    table = []
    for text in records:
        if text["preferred"] != "yes":
            continue
        r: dict[str, Any] = {**text, "value": float(text["value"]), "year": int(text["year"]),
                             "node_id": link(text["name"], text["country"], text["mode"], text["scope"])}
        table.append([r[c] for c in ROW_COLUMNS])
    return list(ROW_COLUMNS), table


def _csv(name: str) -> tuple[list[str], list[dict[str, str]]]:
    """A shipped CSV file's header and rows (every value text, blank lines skipped, as ``pd.read_csv(dtype=str,
    keep_default_na=False)`` reads it)."""
    with open(data.geodata_dir() / name, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, row)) for row in reader if row]


def _pick(levels: list[tuple[str, list[dict[str, Any]]]], year: int | None) -> tuple[dict[str, Any], str] | None:
    """The first level with a figure for ``year``, else the first with one within MAX_YEAR_GAP (nearest year);
    ``year=None``: the first level with any figure, its latest year."""
    if year is None:
        for level, rows in levels:
            if rows:
                best = max(r["year"] for r in rows)
                return next(r for r in rows if r["year"] == best), level
        return None
    for level, rows in levels:
        for r in rows:
            if r["year"] == year:
                return r, level
    for level, rows in levels:
        near = [r for r in rows if abs(r["year"] - year) <= MAX_YEAR_GAP]
        if near:
            gap = min(abs(r["year"] - year) for r in near)
            best = max(r["year"] for r in near if abs(r["year"] - year) == gap)
            return next(r for r in near if r["year"] == best), level
    return None


def _figure(indicator: str, hit: tuple[dict[str, Any], str] | None, year: int | None, what: str,
            exact_level: str) -> dict[str, Any]:
    """A figure record: value, unit, CPMM id, year, level, the fallback taken (None for the exact figure)."""
    if hit is None:
        span = "" if year is None else f" within {MAX_YEAR_GAP} years of {year}"
        return {"indicator": indicator, "value": None, "what": what,
                "unknown": f"no CPMM {indicator} figure{span} for {what} at any level (BCP, country, corridor, "
                           "CAREC)"}
    r, level = hit
    notes = [] if level == exact_level else [LEVEL_TEXT[level]]
    if year is not None and r["year"] != year:
        notes.append(f"nearest year {r['year']} (asked {year})")
    return {"indicator": indicator, "value": float(r["value"]), "unit": r["unit"], "id": r["id"], "year": r["year"],
            "level": level, "fallback": "; ".join(notes) or None, "name": r["name"], "country": r["country"] or None,
            "direction": r["direction"], "source_url": r["source_url"], "what": what}


def border_figure(indicator: str, mode: str, year: int | None, bcp: str | None, from_country: str | None,
                  to_country: str | None, corridors: tuple[str, ...] = ()) -> dict[str, Any]:
    """TFI1 (hours) or TFI2 (USD) for crossing at project node ``bcp`` (a BCP or a port id, or None) from
    ``from_country`` to ``to_country`` (either may be None: one side of a sea crossing), by the fallback chain.
    ``corridors``: the corridor ids ('1'..'6') whose average may stand in. Returns a figure record: ``value``
    (None when unknown, with ``unknown`` saying why), ``unit``, ``id``, ``year``, ``level``, ``fallback``,
    ``name``, ``country``, ``direction``, ``source_url``."""
    return dict(_border_figure(indicator, mode, year, bcp, from_country, to_country, tuple(corridors)))


@functools.cache
def _border_figure(indicator: str, mode: str, year: int | None, bcp: str | None, from_country: str | None,
                   to_country: str | None, corridors: tuple[str, ...]) -> dict[str, Any]:
    if indicator not in ("TFI1", "TFI2") or mode not in MODES:
        raise ValueError(f"border figures are TFI1/TFI2 for road or rail, not {indicator}/{mode}")
    a, b = from_country, to_country
    at = [r for r in _rows().get((indicator, mode, "bcp"), []) if bcp and r["node_id"] == bcp and r["country"]]

    def side(rows: list[dict[str, Any]], pairs: list[tuple[str | None, str]]) -> list[dict[str, Any]]:
        return [r for c, d in pairs if c for r in rows if r["country"] == c and r["direction"] == d]

    country = _rows().get((indicator, mode, "country"), [])
    pair = {a, b}
    levels = [
        ("bcp", side(at, [(a, "outbound"), (b, "inbound")])),
        ("bcp_both_directions", side(at, [(a, "overall"), (b, "overall")])),
        ("bcp_other_direction", side(at, [(a, "inbound"), (b, "outbound")])),
        ("border", [r for r in _rows().get((indicator, mode, "border"), [])
                    if a and b and set(r["country"].split(";")) == pair]),
        ("country", side(country, [(a, "outbound"), (b, "inbound")])),
        ("country_both_directions", side(country, [(a, "overall"), (b, "overall")])),
        ("corridor", [r for c in corridors for r in _rows().get((indicator, mode, "corridor"), [])
                      if r["name"] == f"Corridor {c}"]),
        ("region", [r for r in _rows().get((indicator, mode, "region"), []) if r["name"] == REGION_NAME]),
    ]
    what = f"{mode} crossing {a or '?'} > {b or '?'}" + (f" at {bcp}" if bcp else "")
    return _figure(indicator, _pick(levels, year), year, what, "bcp")


def country_figure(indicator: str, mode: str, year: int | None, country: str,
                   corridors: tuple[str, ...] = ()) -> dict[str, Any]:
    """SWOD / TFI4_SWD (km/h) or TFI3 (USD per 500 km) for ``country`` and ``mode``, by the fallback chain
    (a figure record as ``border_figure`` returns)."""
    return dict(_country_figure(indicator, mode, year, country, tuple(corridors)))


@functools.cache
def _country_figure(indicator: str, mode: str, year: int | None, country: str,
                    corridors: tuple[str, ...]) -> dict[str, Any]:
    if indicator not in ("SWOD", "TFI4_SWD", "TFI3") or mode not in MODES:
        raise ValueError(f"country figures are SWOD/TFI4_SWD/TFI3 for road or rail, not {indicator}/{mode}")
    levels = [
        ("country", [r for r in _rows().get((indicator, mode, "country"), [])
                     if r["country"] == country and r["direction"] == "overall"]),
        ("corridor", [r for c in corridors for r in _rows().get((indicator, mode, "corridor"), [])
                      if r["name"] == f"Corridor {c}"]),
        ("region", [r for r in _rows().get((indicator, mode, "region"), []) if r["name"] == REGION_NAME]),
    ]
    return _figure(indicator, _pick(levels, year), year, f"{mode} in {country}", "country")


@functools.cache
def _bcp_corridors() -> dict[str, tuple[str, ...]]:
    """Corridors (1-6) whose sections pass each node, for the corridor-level fallback."""
    return {k: tuple(v) for k, v in _lookups()["bcp_corridors"]}


LOOKUP_FILES = ("corridors.geojson", "nodes.geojson", "countries.geojson")


@functools.cache
def _lookups() -> dict[str, Any]:
    """The small tables ``assess`` reads from the data (country codes, ports by name, the countries each BCP
    joins, the corridors passing each node), kept in the per-user cache keyed by the data files' hashes
    (``data.cached_arrays``): a command whose figures are precomputed then decodes none of the data frames."""
    key = "timecost lookups v1 " + " ".join(data.file_sha256(data.geodata_dir() / n) for n in LOOKUP_FILES)
    return data.cached_arrays("timecost-lookups", key, lambda: ({}, _build_lookups()))[1]  # type: ignore[no-any-return]


def _build_lookups() -> dict[str, Any]:
    """JSON-able: lists of pairs (a dict key may be any value, JSON keys are text)."""
    corridors: dict[str, set[str]] = {}
    for corridor, ids in data.sections("section")[["corridor", "nodes"]].itertuples(index=False):
        for i in ids:
            corridors.setdefault(i, set()).add(str(corridor))
    bcp, port = data.nodes("bcp"), data.nodes("port")
    return {"isos": data.countries()["iso_a3"].tolist(),
            "ports": [[name, i] for i, name in zip(port["id"], port["name"])],
            "bcp_joins": [[i, list(j)] for i, j in zip(bcp["id"], bcp["joins"]) if j is not None and len(j) == 2],
            "bcp_corridors": [[k, sorted(v, key=lambda c: (len(c), c))] for k, v in corridors.items()]}


# ---------------------------------------------------------------- one route

def check(year: int | None, mode: str | None) -> None:
    """Raise ``RouteError`` naming the fix for a year that is not a whole year or a mode not road/rail."""
    if year is not None and (isinstance(year, bool) or not isinstance(year, numbers.Integral)):
        raise RouteError(f"year must be a whole year such as 2022, or None for the latest figures; got {year!r}")
    if mode is not None and mode not in MODES:
        raise RouteError(f"mode must be 'road' or 'rail' (or None: the route's own mode); got {mode!r}")


def _land_mode(r: Any, mode: str | None) -> tuple[str | None, str | None]:
    """The CPMM mode of the route's land legs, or (None, reason)."""
    given = mode or (r.mode if r.mode in MODES else None)
    found = set()
    for m, km in r.length_by_mode_km.items():
        if m == "ferry" or km <= 0:
            continue
        found.add(m if m in MODES else given)
    if not found and given is None:
        return None, "the route's mode is not known: pass mode='road' or mode='rail'"
    if None in found:
        return None, ("the route has legs whose mode is not road or rail (multimodal: road and rail not told apart "
                      "by the sources, or a line of unknown mode): pass mode='road' or mode='rail'")
    if len(found) > 1:
        return None, ("the route mixes road and rail legs; CPMM speeds and costs are per country and mode, and the "
                      "split of each country's km by mode is not computed: analyse the road and rail parts apart")
    return (found.pop() if found else given), None


def _sum(values: Iterable[float | None]) -> float | None:
    vals = list(values)
    return None if any(v is None for v in vals) else float(sum(v for v in vals if v is not None))


def assess(r: Any, year: int | None = None, mode: str | None = None) -> dict[str, Any]:
    """Time and cost of a ``RouteAnalysis`` (shipped country layer): ``time_h``, ``cost_usd`` and ``timecost``
    (year, mode, legs per country, crossings with their figures, ferries, and why anything is unknown).
    ``mode`` ('road'/'rail') is the CPMM mode for multimodal legs and lines of unknown mode."""
    check(year, mode)
    land, why = _land_mode(r, mode)
    unknown: list[str] = [why] if why else []
    isos = _isos()
    corridors = (str(r.corridor),) if r.corridor else ()
    legs, crossings, ferries = [], [], []
    if not set(r.length_by_country_km) <= isos | {"sea"}:
        unknown.append("time and cost need the shipped country layer (CPMM figures are by country)")
        land = None
    sea, coast = _ferry_legs(r)
    for country, km in r.length_by_country_km.items():
        if country == "sea" or km <= 0:
            continue
        leg: dict[str, Any] = {"country": country, "mode": land, "km": km + coast.get(country, 0.0)}
        if coast.get(country):
            leg["coast_km"] = coast[country]
        km = leg["km"]
        if land is None:
            leg.update(hours=None, hours_with_delay=None, usd=None, figures=[])
        else:
            swod, swd, tfi3 = (country_figure(i, land, year, country, corridors) for i in ("SWOD", "TFI4_SWD", "TFI3"))
            leg.update(hours=km / swod["value"] if swod["value"] else None,
                       hours_with_delay=km / swd["value"] if swd["value"] else None,
                       usd=km * tfi3["value"] / 500.0 if tfi3["value"] is not None else None,
                       figures=[swod, swd, tfi3])
            unknown += [f["unknown"] for f in (swod, swd, tfi3) if f["value"] is None]
        legs.append(leg)
    for c, net in zip(r.crossings, _network_crossings(r)):
        rec = {k: c.get(k) for k in ("from", "to", "via", "km", "bcp", "bcp_id")}
        if net is not None:
            rec.update(net)
            c = {**c, "bcp_id": rec["bcp_id"]}
        if land is None:
            rec.update(hours=None, usd=None, figures=[])
        elif rec.get("note") == NOT_A_CROSSING:
            rec.update(hours=0.0, usd=0.0, figures=[])
        elif c.get("via") == "sea":
            s = next((s for s in sea if s["to_country"] == c["to"] and s["from_country"] == c["from"]), None)
            ports = _port_ids(s)
            rec.update(ports=ports)
            figs = [border_figure(i, land, year, p, a, b, corridors)
                    for i in ("TFI1", "TFI2") for p, a, b in ((ports[0], c["from"], None), (ports[1], None, c["to"]))]
            rec.update(hours=_sum(f["value"] for f in figs[:2]), usd=_sum(f["value"] for f in figs[2:]), figures=figs)
        else:
            cors = corridors or _bcp_corridors().get(c.get("bcp_id") or "", ())
            figs = [border_figure(i, land, year, c.get("bcp_id"), c["from"], c["to"], cors) for i in ("TFI1", "TFI2")]
            rec.update(hours=figs[0]["value"], usd=figs[1]["value"], figures=figs)
        unknown += [f["unknown"] for f in rec["figures"] if f["value"] is None]
        crossings.append(rec)
    for s in sea:
        where = f"{s.get('from_port') or s['from_country']} ~ {s.get('to_port') or s['to_country']}"
        ferries.append({"from_port": s.get("from_port"), "to_port": s.get("to_port"), "km": s["length_km"],
                        "hours": None, "usd": None,
                        "unknown": f"no sourced sailing time or fare for the {where} ferry ({s['length_km']:.0f} km)"})
        unknown.append(ferries[-1]["unknown"])
    moving = _sum(leg["hours"] for leg in legs) if land else None
    moving_d = _sum(leg["hours_with_delay"] for leg in legs) if land else None
    border = _sum(c["hours"] for c in crossings) if land or not crossings else None
    ferry = _sum(f["hours"] for f in ferries)
    time_h = {"without_delay": _sum([moving, border, ferry]), "with_delay": _sum([moving_d, border, ferry]),
              "moving": moving, "moving_with_delay": moving_d, "border": border, "ferry": ferry}
    dist = _sum(leg["usd"] for leg in legs) if land else None
    border_usd = _sum(c["usd"] for c in crossings) if land or not crossings else None
    ferry_usd = _sum(f["usd"] for f in ferries)
    cost = {"total": _sum([dist, border_usd, ferry_usd]), "distance": dist, "border": border_usd, "ferry": ferry_usd}
    detail = {"year": year, "mode": land, "legs": legs, "crossings": crossings, "ferries": ferries,
              "unknown": list(dict.fromkeys(unknown)),
              "source": "ADB/CAREC Corridor Performance Measurement and Monitoring (CPMM), geodata/cpmm.csv"}
    return {"time_h": time_h, "cost_usd": cost, "timecost": detail}


BORDER_HUG_KM = 25.0  # a routed line that leaves a country and comes back within this, with no BCP, hugs the border
NOT_A_CROSSING = ("not a border crossing: the route stays on one country's network here (the network changes "
                  "country only at a BCP); the road or railway runs along the border of the 1:10m country layer")


def _network_crossings(r: Any) -> list[dict[str, Any] | None]:
    """Per crossing of a routed result (``RouteResult``: ``segments``, and the BCPs its path passes in ``nodes``),
    what the network says about a land crossing inside a network run with no BCP named (none near where the line
    crosses the 1:10m border). The nearest unused BCP on the path joining the same two countries: that BCP
    (``bcp_id``, ``bcp``, ``note``). Else, when it and the next crossing go out and back (A > B > A) within
    ``BORDER_HUG_KM`` on network runs: the road runs along the border of the layer, ``note`` NOT_A_CROSSING for
    both. Else None: charged as a crossing, as on any line."""
    out: list[dict[str, Any] | None] = [None] * len(r.crossings)
    runs = [s for s in getattr(r, "segments", ()) if s.get("kind") == "network"]
    if not runs:
        return out
    joins = _bcp_joins()
    pool = [n for n in r.nodes if n.get("kind") == "bcp" and n["id"] in joins]
    for c in r.crossings:  # BCPs already named use up their node
        hit = next((n for n in pool if c.get("bcp_id") and n["id"] == c["bcp_id"]), None)
        if hit is not None:
            pool.remove(hit)

    def bare(c: dict[str, Any]) -> bool:
        return c.get("via") == "land" and not c.get("bcp_id") and any(
            s["start_km"] < c["km"] < s["end_km"] for s in runs)

    for i, c in enumerate(r.crossings):
        if not bare(c) or out[i] is not None:
            continue
        same = [n for n in pool if joins[n["id"]] == {c["from"], c["to"]}]
        if same:
            n = min(same, key=lambda n: abs(n["km"] - c["km"]))
            pool.remove(n)
            out[i] = {"bcp_id": n["id"], "bcp": n["name"],
                      "note": f"BCP of the network path; the line crosses the 1:10m border "
                              f"{abs(n['km'] - c['km']):.1f} km from it"}
            continue
        nxt = r.crossings[i + 1] if i + 1 < len(r.crossings) else None
        if nxt is not None and bare(nxt) and (nxt["from"], nxt["to"]) == (c["to"], c["from"]) \
                and nxt["km"] - c["km"] <= BORDER_HUG_KM:
            out[i] = out[i + 1] = {"note": NOT_A_CROSSING}
    return out


@functools.cache
def _bcp_joins() -> dict[str, frozenset[str]]:
    return {i: frozenset(j) for i, j in _lookups()["bcp_joins"]}


def _ferry_legs(r: Any) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The route's sea legs that are ferries, and the km per country of the others (land stretches outside the
    country layer's generalised coastline).

    A run over "sea" between two runs of the same country on a route with no ferry km (``length_by_mode_km``)
    is the road or rail itself cutting a bay or a headland of the 1:10m coastline (e.g. the Black Sea coast at
    Batumi), not a sailing: it is counted as land in that country. Every other sea leg is a ferry."""
    if r.length_by_mode_km.get("ferry", 0.0) > 0:
        return list(r.sea_legs), {}
    sea: list[dict[str, Any]] = []
    coast: dict[str, float] = {}
    for s in r.sea_legs:
        if s["from_country"] == s["to_country"]:
            coast[s["from_country"]] = coast.get(s["from_country"], 0.0) + s["length_km"]
        else:
            sea.append(s)
    return sea, coast


@functools.cache
def _isos() -> frozenset[str]:
    return frozenset(_lookups()["isos"])


@functools.cache
def _ports() -> dict[str, str]:
    return dict(_lookups()["ports"])


def _port_ids(s: dict[str, Any] | None) -> tuple[str | None, str | None]:
    if s is None:
        return None, None
    return _ports().get(s.get("from_port") or ""), _ports().get(s.get("to_port") or "")


def attach(r: Any, year: int | None = None, mode: str | None = None) -> Any:
    """Fill ``r.time_h``, ``r.cost_usd`` and ``r.timecost`` (see ``assess``) and return ``r``."""
    for k, v in assess(r, year, mode).items():
        setattr(r, k, v)
    return r


# ---------------------------------------------------------------- routing weights

def edge_attrs(a: dict[str, Any], b: dict[str, Any]) -> Edge:
    """Edge attributes ``edge_weight`` reads, from the two end nodes (dicts with id, kind, country, joins).

    ``country``: the leg's country (None across open water). An edge touching a BCP node carries ``bcp_id``,
    ``countries`` {node id: the side of the border it is on} and ``bcp_share`` 0.5: a path through the BCP
    pays the crossing once, half on each side. A graph with explicit crossing edges sets ``bcp_share`` 1.0.
    ``ferry_share``: the part of one ferry crossing an edge stands for when it is a ferry leg (0.5 from a port
    to a sea waypoint, 1 port to port, 0 between sea waypoints), so a ferry counts once however it is drawn.
    """
    ports = sum(n.get("kind") == "port" for n in (a, b))
    return {**_edge_sides(a, b), "ferry_share": 0.5 * ports}


def _edge_sides(a: dict[str, Any], b: dict[str, Any]) -> Edge:
    bcps = [n for n in (a, b) if n.get("kind") == "bcp"]
    if len(bcps) == 1:
        bcp = bcps[0]
        other = b if bcp is a else a
        joins = list(bcp.get("joins") or [])
        if other.get("country") in joins and len(joins) == 2:
            far = joins[1] if joins[0] == other["country"] else joins[0]
            return {"country": other["country"], "bcp_id": bcp["id"],
                    "countries": {other["id"]: other["country"], bcp["id"]: far}, "bcp_share": 0.5}
        return {"country": other.get("country") or bcp.get("country")}
    ca, cb = a.get("country"), b.get("country")
    return {"country": ca if ca == cb else None}


def edge_weight(kind: str, mode: str | None, year: int | None = None) -> Callable[[Any, Any, Edge], float]:
    """A networkx weight function ``f(u, v, edge_data)`` for ``kind`` 'distance' (km), 'time' (hours: km / SWOD
    plus TFI1 at crossings) or 'cost' (USD: km x TFI3 / 500 plus TFI2 at crossings).

    ``edge_data``: ``km``, ``mode`` (road|rail|multimodal|ferry), ``country``; crossing edges also ``bcp_id``,
    ``countries`` {node: ISO3} (which side each end is on; the direction comes from the traversal u -> v) and
    ``bcp_share`` (default 1). ``mode`` ('road'/'rail') is the CPMM mode for multimodal legs. Where a figure is
    unknown the edge weighs ``UNKNOWN_PENALTY``: per ferry crossing (``ferry_share``, default 1 per edge; no
    sailing time is sourced), per km of a land leg with no speed or cost, per crossing with no figure. Paths
    therefore take the fewest ferries and unknown stretches first, then the fewest known hours or USD. Port
    clearance is not part of the weight (it is in the route's ``time_h``).
    """
    if kind not in KINDS:
        raise RouteError(f"weight must be one of {', '.join(KINDS)}, not {kind!r}")
    check(year, None)
    if kind == "distance":
        return lambda u, v, d: float(d["km"])
    speed, border = ("SWOD", "TFI1") if kind == "time" else ("TFI3", "TFI2")

    def weight(u: Any, v: Any, d: Edge) -> float:
        km = float(d["km"])
        m = d.get("mode")
        m = m if m in MODES else (mode if m != "ferry" and mode in MODES else None)
        country = d.get("country")
        if d.get("mode") == "ferry":
            w = UNKNOWN_PENALTY * float(d.get("ferry_share", 1.0))
        elif m is None or country is None:
            w = UNKNOWN_PENALTY * km
        else:
            f = _country_figure(speed, m, year, country, ())
            if f["value"] is None:
                w = UNKNOWN_PENALTY * km
            else:
                w = km / f["value"] if kind == "time" else km * f["value"] / 500.0
        if d.get("bcp_id") and m is not None:
            sides = d.get("countries") or {}
            f = _border_figure(border, m, year, d["bcp_id"], sides.get(u), sides.get(v),
                               _bcp_corridors().get(d["bcp_id"], ()))
            share = float(d.get("bcp_share", 1.0))
            w += share * (UNKNOWN_PENALTY if f["value"] is None else f["value"])
        return w

    return weight


# ---------------------------------------------------------------- map popups

def bcp_records(year: int | None = None) -> list[dict[str, Any]]:
    """Border time and cost at every project BCP (and at the ports CPMM measures), per mode and direction, for
    map popups.

    One record per BCP node, mode (of the node's modes) and direction (A > B, B > A): ``bcp_id``, ``name``,
    ``mode``, ``from``, ``to``, ``hours``, ``usd``, ``year`` (of the TFI1 figure), ``level`` and ``fallback``,
    ``source`` (the CPMM page), the same for USD (``usd_year``, ``usd_fallback``, ``usd_source``), ``figures``
    (CPMM ids). For a port (Kuryk, Alat) ``to`` is None for leaving by sea and ``from`` None for arriving; only
    the road figures CPMM gives are listed. Values are None (with ``unknown``) when no figure applies.
    """
    check(year, None)
    out = []
    for n in data.nodes("bcp").sort_values("id").to_dict("records"):
        joins = list(n.get("joins") or [])
        if len(joins) != 2:
            continue
        for m in [m for m in MODES if m in (n.get("modes") or MODES)]:
            for a, b in ((joins[0], joins[1]), (joins[1], joins[0])):
                out.append(_record(n, m, year, a, b))
    linked = set(_links()["node_id"])
    for n in data.nodes("port").sort_values("id").to_dict("records"):
        if n["id"] in linked:
            out += [_record(n, "road", year, n["country"], None), _record(n, "road", year, None, n["country"])]
    return out


def _record(n: dict[str, Any], mode: str, year: int | None, a: str | None, b: str | None) -> dict[str, Any]:
    cors = _bcp_corridors().get(n["id"], ())
    t, c = (border_figure(i, mode, year, n["id"], a, b, cors) for i in ("TFI1", "TFI2"))
    return {"bcp_id": n["id"], "name": n["name"], "mode": mode, "from": a, "to": b,
            "hours": t["value"], "usd": c["value"], "year": t.get("year"), "level": t.get("level"),
            "fallback": t.get("fallback"), "source": t.get("source_url"),
            "usd_year": c.get("year"), "usd_fallback": c.get("fallback"), "usd_source": c.get("source_url"),
            "figures": [f["id"] for f in (t, c) if f.get("id")],
            "unknown": "; ".join(f["unknown"] for f in (t, c) if f["value"] is None) or None}
