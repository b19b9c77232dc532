"""Place names: a corridor node, a town from the shipped regional gazetteer, or a (lon, lat) pair.

``place("Almaty")``, ``place("Алматы")``, ``place("Osh, KGZ")``, ``place("Cholpon-Ata")``, ``place((76.9, 43.2))``,
``place("43.25, 76.95")``. Names are matched on a key transliterated to ASCII (``data.norm_key``), so Cyrillic,
Turkish and Chinese spellings find the town when GeoNames lists them among its alternative names.

The gazetteer is ``geodata/gazetteer.tsv`` (GeoNames towns of 1,000+ people inside the region, CC BY 4.0,
built by ``scripts/build_gazetteer.py``): a sorted key list searched as text, so a cold lookup reads one file
and normalises nothing but the query. ``difflib`` runs only to suggest spellings in an error.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import data, geodesy
from .analysis import RouteError

SNAP_KM = 15.0  # an ambiguous town name is settled by the candidate this close to a corridor node
REGION = (20.0, 15.0, 130.0, 65.0)  # lon/lat box of the gazetteer (and of the shipped data)
GAZETTEER = "gazetteer.tsv"
_NUM = r"([-+]?\d+(?:\.\d+)?)"
_COORDS = re.compile(rf"^\s*\(?\s*{_NUM}\s*[,; ]\s*{_NUM}\s*\)?\s*$")
_LABELLED = re.compile(rf"^\s*(lon|lng|lat)\s*[=:]\s*{_NUM}\s*[,; ]\s*(lon|lng|lat)\s*[=:]\s*{_NUM}\s*$", re.I)


class PlaceError(RouteError):
    """A place that cannot be resolved: unknown (the message lists the closest matches) or ambiguous."""


# ---------------------------------------------------------------- the gazetteer index

@functools.cache
def _index() -> tuple[dict[str, tuple[str, str]], list[str], str]:
    """(ISO2 -> (ISO3, country name), town rows, the key section as one text starting with a newline)."""
    text = (data.geodata_dir() / GAZETTEER).read_text(encoding="utf-8")
    _, _, rest = text.partition("[countries]\n")
    countries_txt, _, rest = rest.partition("[towns]\n")
    towns_txt, _, keys_txt = rest.partition("[keys]\n")
    countries = {}
    for line in countries_txt.splitlines():
        iso2, iso3, name = line.split("\t")
        countries[iso2] = (iso3, name)
    return countries, towns_txt.splitlines(), "\n" + keys_txt


def _town_row(i: int) -> dict[str, Any]:
    gid, name, lon, lat, iso3, pop = _index()[1][i].split("\t")
    return {"geonameid": int(gid), "name": name, "lon": float(lon), "lat": float(lat), "country": iso3,
            "population": int(pop)}


def gazetteer_towns(key: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Towns whose name (first list) or an alternative name (second list) has the normalised ``key``."""
    if not key:
        return [], []
    keys = _index()[2]
    at = keys.find("\n" + key + "\t")  # keys are [a-z0-9]+: a key's line starts "\n<key>\t", one per key
    if at < 0:
        return [], []
    _, main, alt = keys[at + 1:keys.find("\n", at + 1)].split("\t")
    return ([_town_row(int(j)) for j in main.split(",") if j],
            [_town_row(int(j)) for j in alt.split(",") if j])


# ---------------------------------------------------------------- pieces of a query

def is_pair(p: Any) -> bool:
    """Whether ``p`` is a (lon, lat) pair of numbers (a tuple, list or array of two)."""
    return (isinstance(p, Sequence | np.ndarray) and not isinstance(p, str) and len(p) == 2
            and all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in p))


def _point(lon: float, lat: float, name: str | None = None) -> dict[str, Any]:
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lon) > 180 or abs(lat) > 90:
        raise PlaceError(f"({lon}, {lat}) is not a (lon, lat) pair in degrees: lon within ±180, lat within ±90")
    return {"name": name or f"({lon:.4f}, {lat:.4f})", "lon": float(lon), "lat": float(lat),
            "source": "coordinates", "node": None, "country": None}


def _in_region(lon: float, lat: float) -> bool:
    x0, y0, x1, y1 = REGION
    return bool(x0 <= lon <= x1 and y0 <= lat <= y1)


def _coordinate_text(query: str) -> dict[str, Any] | None:
    """A point written as text. "lon=76.9, lat=43.2" says its order. Two bare numbers "a, b" are read in the order
    that puts the point inside the region (lon 20..130, lat 15..65): "76.9,43.2" and "43.2,76.9" (lat, lon, as
    map sites copy it) are both Almaty. When both orders or neither fall inside, the text is refused as ambiguous."""
    m = _LABELLED.match(query)
    if m:
        names = {m[1].lower().replace("lng", "lon"): float(m[2]), m[3].lower().replace("lng", "lon"): float(m[4])}
        if set(names) != {"lon", "lat"}:
            raise PlaceError(f"{query!r}: give one lon and one lat, e.g. 'lon=76.9, lat=43.2'")
        return _point(names["lon"], names["lat"])
    m = _COORDS.match(query)
    if not m:
        return None
    a, b = float(m[1]), float(m[2])
    ab = abs(a) <= 180 and abs(b) <= 90 and _in_region(a, b)
    ba = abs(b) <= 180 and abs(a) <= 90 and _in_region(b, a)
    if ab != ba:
        return _point(a, b) if ab else _point(b, a)
    raise PlaceError(f"{query!r} is ambiguous: is it (lon, lat) or (lat, lon)? "
                     + ("Both orders fall inside the region" if ab else "Neither order falls inside the region "
                        "(lon 20..130, lat 15..65)")
                     + f"; write 'lon={a:g}, lat={b:g}' or 'lat={a:g}, lon={b:g}', or pass a (lon, lat) tuple")


@functools.cache
def _country_keys() -> dict[str, str]:
    """Normalised ISO3 codes and country names (shipped boundaries, then GeoNames) -> ISO3."""
    countries, _, _ = _index()
    known = {data.norm_key(iso3): iso3 for iso3, _ in countries.values()}
    known |= {data.norm_key(name): iso3 for iso3, name in countries.values()}
    c = data.countries()
    known |= {data.norm_key(n): str(i) for n, i in zip(c["name"], c["iso_a3"])}
    known |= {data.norm_key(i): str(i) for i in c["iso_a3"]}
    known.pop("", None)
    return known


def _country(text: str) -> str | None:
    """ISO3 code of an ISO3 or ISO2 code or a country name; None if unknown."""
    key = data.norm_key(text)
    if not key:
        return None
    if key in _country_keys():
        return _country_keys()[key]
    hit = _index()[0].get(text.strip().upper())
    return hit[0] if hit else None


# ---------------------------------------------------------------- resolution

def place(query: Any) -> dict[str, Any]:
    """Resolve one place: a node id / name / alternative name, a gazetteer town ("Karakol", "Osh, KGZ",
    "Бишкек"), a (lon, lat) pair (also a shapely Point, "76.9,43.2", "lat=43.2, lon=76.9").
    Returns name, lon, lat, source ('node', 'gazetteer' or 'coordinates'), node (id or None), country (ISO3)."""
    import shapely

    if isinstance(query, shapely.Point):
        return _point(query.x, query.y)
    if is_pair(query):
        return _point(float(query[0]), float(query[1]))
    if not isinstance(query, str) or not query.strip():
        raise PlaceError(f"a place is a node or town name or a (lon, lat) pair, not {query!r}")
    point = _coordinate_text(query)
    if point is not None:
        return point
    name, country = query.strip(), None
    if "," in name:
        head, tail = (s.strip() for s in name.rsplit(",", 1))
        country = _country(tail)
        if country is None:
            raise PlaceError(f"{query!r}: unknown country {tail!r}; write it as an ISO3 code, e.g. 'Osh, KGZ'")
        name = head
    if not data.norm_key(name):
        raise PlaceError(f"{query!r} has no letters or digits to look up; give a town name or a (lon, lat) pair")
    n = _node_hit(name)
    if n is not None and (country is None or country == n["country"] or country in n["joins"]):
        return {"name": n["name"], "lon": n["lon"], "lat": n["lat"], "source": "node", "node": n["id"],
                "country": n["country"]}
    return _town(query, name, country)


@functools.lru_cache(maxsize=4096)
def _node_hit(name: str) -> dict[str, Any] | None:
    """The node ``data.find_node`` finds for a name, as plain values (kept: a node row as a pandas Series took
    0.15 ms per lookup, most of a route between two cities after its search). Callers must not change it."""
    n = data.find_node(name)
    if n is None:
        return None
    return {"name": n["name"], "lon": float(n.geometry.x), "lat": float(n.geometry.y), "id": n["id"],
            "country": n["country"], "joins": tuple(n["joins"] or ())}


def _town(query: str, name: str, country: str | None) -> dict[str, Any]:
    """The gazetteer town called ``name`` (in ``country``): primary names before alternative names."""
    main, alt = gazetteer_towns(data.norm_key(name))
    if country is not None:
        main, alt = ([t for t in ts if t["country"] == country] for ts in (main, alt))
    towns = main or alt
    if not towns:
        where = f" in {country}" if country else ""
        elsewhere = ""
        if country is not None:
            others = sorted({f"'{t['name']}, {t['country']}'" for t in sum(gazetteer_towns(data.norm_key(name)), [])})
            if others:
                elsewhere = f"; there is {', '.join(others[:5])}"
        raise PlaceError(f"no corridor node or town called {name!r}{where}{elsewhere or _suggest(name)} (the "
                         "gazetteer holds towns of 1,000+ people within lon 20..130, lat 15..65; elsewhere pass a "
                         "(lon, lat) pair)")
    if len({t["country"] for t in towns}) > 1:
        near = [t for t in towns if _near_node(t["lon"], t["lat"])]
        if len({t["country"] for t in near}) != 1:
            best: dict[str, dict[str, Any]] = {}
            for t in sorted(towns, key=lambda t: -t["population"]):
                best.setdefault(t["country"], t)
            opts = ", ".join(f"'{t['name']}, {cc}' (pop. {t['population']:,})" for cc, t in list(best.items())[:5])
            raise PlaceError(f"{query!r} is ambiguous: towns in {len(best)} countries share the name ({opts}); "
                             f"add the country, e.g. '{name}, {next(iter(best))}', or pass a (lon, lat) pair")
        towns = near
    t = max(towns, key=lambda t: t["population"])
    return {"name": t["name"], "lon": t["lon"], "lat": t["lat"], "source": "gazetteer", "node": None,
            "country": t["country"]}


@functools.cache
def big_towns(min_population: int = 15000) -> np.ndarray:
    """(lon, lat) of the gazetteer's towns of ``min_population`` or more (N x 2). The towns are sorted by
    population, largest first, so only the head of the file is read (not the whole index, for the swap check)."""
    out = []
    with (data.geodata_dir() / GAZETTEER).open(encoding="utf-8") as f:
        for line in f:
            if line == "[towns]\n":
                break
        for line in f:
            if line.startswith("["):  # the [keys] section: every town read
                break
            _, _, lon, lat, _, pop = line.split("\t")
            if int(pop) < min_population:
                break
            out.append((float(lon), float(lat)))
    return np.array(out, dtype=float).reshape(-1, 2)


@functools.cache
def _node_xy() -> np.ndarray:
    import shapely

    return np.asarray(shapely.get_coordinates(data.nodes().geometry.values), dtype=float)


def _near_node(lon: float, lat: float) -> bool:
    xy = _node_xy()
    d = geodesy.GEOD.inv(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])[2]
    return bool(np.min(d) <= SNAP_KM * 1000)


def _suggest(name: str) -> str:
    """'; closest matches: ...' among the node names and the gazetteer's towns of 15,000+ (error messages only)."""
    labels = _labels()
    close = difflib.get_close_matches(data.norm_key(name), list(labels), n=8, cutoff=0.6)
    found = list(dict.fromkeys(labels[k] for k in close))[:5]
    return f"; closest matches: {', '.join(map(repr, found))}" if found else "; list the nodes with corridors.nodes()"


@functools.cache
def _labels() -> dict[str, str]:
    """Spelling to suggest by normalised name: node names, then towns of 15,000+ as 'Name, ISO3'."""
    labels: dict[str, str] = {}
    n = data.nodes()
    for i, nm, alts in zip(n["id"], n["name"], n["alt_names"]):
        for v in [i, nm, *(alts or [])]:
            labels.setdefault(data.norm_key(v), nm)
    for line in _index()[1]:  # sorted by population, largest first
        _, nm, _, _, iso3, pop = line.split("\t")
        if int(pop) < 15000:
            break
        labels.setdefault(data.norm_key(nm), f"{nm}, {iso3}")
    labels.pop("", None)
    return labels
