"""Build the routable regional road + rail network (geodata/network.npz) from OSM / OpenMapTiles / Natural Earth lines.

Usage:
    python scripts/build_network.py [--networks DIR] [--ne-rail FILE] [--tertiary] [--out FILE] [--cache DIR]
    python scripts/build_network.py --road-osm new_roads.geojson --rail-osm new_rail.geojson ...

Inputs are LineString GeoJSON files in the schema of ``shared/networks`` (see its README): OSM roads (class,
ref, name), OSM rail (railway, status, service), the OpenMapTiles fallback (class, construction) and Natural Earth
railroads. Each ``--road-osm/--rail-osm/--road-fallback/--rail-fallback`` option replaces the default file list
of that role, so a newer extract in the same schema refreshes the data.

Steps (the routing recipe of shared/networks/README.md):
1. read lines; keep roads motorway..secondary (tertiary only with --tertiary), running rail lines (active, no
   service tracks), OMT roads that are not under construction, and Natural Earth rail only outside the
   countries the OSM rail covers (clipped to the shipped boundaries);
2. a node per coordinate rounded to 1e-5 deg where lines end or share a vertex; lines are split into edges there;
   each edge's geodesic length (WGS84) is measured on the full-resolution source line;
3. gap bridging (inferred edges): dangling ends snapped within 5 m (150 m for generalised sources), dead ends
   joined to another component within 2 km (1.5 km), generalised nodes to another component within 300 m;
   never across a border;
4. borders: each node gets the country of the shipped boundaries; an edge whose ends lie in two countries is
   kept only where a BCP node of geodata/nodes.geojson joining those countries lies within 10 km, and gets its
   ``bcp_id``; other cross-border edges are dropped. A BCP the data does not cross gets a zero-length crossing
   edge between two BCP nodes, each joined to the nearest network node of its side (inferred link);
   Railways in no track file (STATION_LINES: Zhetygen-Altynkol) are drawn before that as schematic chains
   through their OSM 2026 station points (``--stations``), in order along the line;
5. ferries: the sea legs of the corridor sections (port ~ ... ~ port), ports joined to the nearest road and rail
   node of their country;
6. write one deterministic zip of numpy arrays (coordinates quantised to 1e-5 deg, delta-coded).

Derived from OpenStreetMap data: ODbL 1.0, (c) OpenStreetMap contributors, (c) OpenMapTiles (see
geodata/LICENSE-ODbL.txt).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from corridors import geodesy, graph  # noqa: E402

SHARED = ROOT.parent / "shared"
Q = graph.QUANT  # 1e5: coordinates in units of 1e-5 degree
OSM_COUNTRIES = ["AFG", "ARM", "AZE", "GEO", "IRN", "KGZ", "MNG", "PAK", "TJK", "TKM", "UZB"]
ROAD_CLASSES = ["motorway", "trunk", "primary", "secondary"]
BCP_KM = 10.0  # a cross-border edge needs a BCP of the same two countries this close
SCHEMATIC_KM = 15.0  # a section leg farther than this from the network is kept as a schematic edge
ANY_M = 1000  # generalised data: a dead end is joined to the nearest other node this close
DETOUR = 1.6  # a section leg whose network path is longer than DETOUR x geodesic + 5 km is kept schematic
SPLIT_KM = 5.0  # long lines get a node at least this often
BIG = 200  # BCP links go to components of at least this many nodes
LINK_KM = 25.0  # a BCP is joined to network nodes this close
CROSS_KM = 5.0  # a source edge crossing at a BCP with both ends this close replaces the inferred crossing
PORT_KM = 60.0  # a port is joined to its country's road and rail nodes this close
STATION_LINK_KM = 10.0  # a station chain's end station is joined to the nearest rail node of its country this close
# Railways in no track file (opened after the data; shared/networks README "Known gaps"), drawn as chains through
# their OSM 2026 station points in order along the line: (line name, OSM ids of the stations, first to last).
# Which stations belong to the line, and their order, is read from the station points and the line's description
# (key route khorgos-altynkol: along the south side of the Kapchagay reservoir via Shelek and Ortakudyk); the
# edges stay schematic (a station chain is shorter than the track: it cuts the curves between stations).
STATION_LINES = [
    ("Zhetygen-Altynkol railway (2011)",  # Zhetygen, Kurozek, Ekpindi, Zharsu, Zhinishkesu, Shelek, ... Altynkol
     [2406190344, 3789961474, 3789505242, 3790638768, 3790634710, 3789960760, 3789960682, 3791057520,
      3791058496, 3791054349, 3791839378, 3791842657, 3791839392, 4046956026]),
    # the two new pieces of Zhezkazgan-Beineu (2014), joined by the Trans-Aral line (calibration_lengths.json note)
    ("Zhezkazgan-Saksaulskaya railway (2014)",  # Zhezkazgan, Satbayev, Karsakbay, Baikonyr, ... Abay, Karashegen
     [922818608, 8968841631, 3619094580, 3617792725, 4430883078, 3617761158, 4430891192, 3617596426, 3617596427,
      3617549887, 7081964685, 2404537552]),
    ("Shalkar-Beineu railway (2014)",  # Shalkar, Saryzhide, Akkaitym, ... Kabel, Turysh, Nogaity, Sam, Kok-Bekty
     [4032336057, 7061767086, 5887782963, 7062781084, 7062790362, 7076958179, 7076966073, 7076944047, 7076942982,
      4280997490, 7072155558, 7076966076, 4323957789, 7062977473, 4264573137, 4264573203, 2992341383, 4064729697]),
    ("Jinghe-Yining-Khorgos railway (2009-2013)",  # Jinghe, Jinghenan, over the Borohoro to Nilka, Yining, Huocheng
     [1902381604, 1902355169, 7368824856, 6318167561, 7368822661, 6318167562, 7368822660, 7368822659, 6318167566,
      7368822658, 7368822657, 7368822656, 583129128, 6318167570, 583127919, 6318134526, 583119960, 6318126109,
      6318115609, 6318115610, 6316474613]),
]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    net = SHARED / "networks"
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--networks", type=Path, default=net, help="folder with the shared/networks files")
    p.add_argument("--road-osm", nargs="+", type=Path, help="OSM road files (class, ref, name)")
    p.add_argument("--rail-osm", nargs="+", type=Path, help="OSM rail files (railway, status, service)")
    p.add_argument("--road-fallback", nargs="+", type=Path, help="generalised road files (class, construction)")
    p.add_argument("--rail-fallback", nargs="+", type=Path, help="Natural Earth-like rail files (no attributes used)")
    p.add_argument("--ne-rail", type=Path, default=SHARED / "naturalearth" / "ne_10m_railroads_carec.geojson")
    p.add_argument("--tertiary", nargs="*", type=Path,
                   help="OSM tertiary road files (default: osm2021_roads_tertiary_carec_other.geojson; the AFG/PAK "
                        "file is left out for size)")
    p.add_argument("--stations", type=Path, default=net / "osm2026_rail_stations_carec.geojson",
                   help="OSM rail station points (osm_id, name) for the lines in no track file (STATION_LINES)")
    p.add_argument("--osm-date", default="2021-08-06", help="date of the OSM extract")
    p.add_argument("--out", type=Path, default=ROOT / "geodata" / "network.npz")
    p.add_argument("--cache", type=Path, default=Path("/tmp/corridors_network_cache"),
                   help="folder for the parsed source lines (keyed by file content hash)")
    a = p.parse_args(argv)
    a.road_osm = a.road_osm or [a.networks / "osm2021_roads_main_carec.geojson",
                                a.networks / "osm2021_roads_main_iran.geojson"]
    if a.tertiary is None:
        a.tertiary = [a.networks / "osm2021_roads_tertiary_carec_other.geojson"]
    a.road_osm = a.road_osm + a.tertiary
    a.rail_osm = a.rail_osm or [a.networks / "osm2021_rail_carec_iran.geojson"]
    a.road_fallback = a.road_fallback or [a.networks / "omt2017z7_roads_kaz_nwchina_srus.geojson"]
    a.rail_fallback = a.rail_fallback or [a.ne_rail]
    for f in [*a.road_osm, *a.rail_osm, *a.road_fallback, *a.rail_fallback, a.stations]:
        if not f.is_file():
            sys.exit(f"input file {f} does not exist; pass the right path (see --help)")
    return a


# ---------------------------------------------------------------- 1. read

def _read(path: Path, cache: Path) -> Any:
    """The file as a GeoDataFrame, cached by content hash (parsing 100 MB of GeoJSON takes a while)."""
    h = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    c = cache / f"{path.stem}.{h}.pkl"
    if c.is_file():
        return pickle.loads(c.read_bytes())
    df = pyogrio.read_dataframe(path)
    cache.mkdir(parents=True, exist_ok=True)
    c.write_bytes(pickle.dumps(df))
    return df


def _lines(df: Any) -> tuple[np.ndarray, Any]:
    """LineStrings (MultiLineStrings exploded) and the row of each."""
    geoms = df.geometry.values
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == 1
    return parts[keep], df.iloc[idx[keep]].reset_index(drop=True)


def read_sources(a: argparse.Namespace, countries: dict[str, Any]) -> list[dict[str, Any]]:
    """Layers: dicts with lines, mode, cls, ref, name, source, date, generalised."""
    layers = []
    for f in a.road_osm:
        df = _read(f, a.cache)
        df = df[df["class"].isin(ROAD_CLASSES + ["tertiary"])]
        g, df = _lines(df)
        layers.append({"lines": g, "mode": "road", "cls": df["class"].tolist(), "ref": df["ref"].tolist(),
                       "name": df["name"].tolist(), "source": f"osm:{f.name}", "date": a.osm_date, "gen": False})
    for f in a.rail_osm:
        df = _read(f, a.cache)
        df = df[df["status"].eq("active") & df["service"].isna() & df["railway"].isin(["rail", "narrow_gauge"])]
        g, df = _lines(df)
        layers.append({"lines": g, "mode": "rail", "cls": df["railway"].tolist(), "ref": [None] * len(g),
                       "name": [None] * len(g), "source": f"osm:{f.name}", "date": a.osm_date, "gen": False})
    for f in a.road_fallback:
        df = _read(f, a.cache)
        df = df[~df["construction"].astype(bool)]
        g, df = _lines(df)
        layers.append({"lines": g, "mode": "road", "cls": df["class"].tolist(), "ref": [None] * len(g),
                       "name": [None] * len(g), "source": f"omt:{f.name}", "date": "2017 (OpenMapTiles 3.6)",
                       "gen": True})
    # Natural Earth rail only where the OSM extracts have no rail: clip away the OSM countries
    covered = shapely.union_all([countries[c] for c in OSM_COUNTRIES])
    for f in a.rail_fallback:
        df = _read(f, a.cache)
        g = shapely.difference(shapely.line_merge(df.geometry.values), covered)
        parts = shapely.get_parts(g)
        parts = parts[(shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 1e-4)]
        layers.append({"lines": parts, "mode": "rail", "cls": ["rail"] * len(parts), "ref": [None] * len(parts),
                       "name": [None] * len(parts), "source": f"ne:{f.name}", "date": "Natural Earth 10m v5",
                       "gen": True})
    return layers


# ---------------------------------------------------------------- 2. nodes and edges

def _key(q: np.ndarray) -> np.ndarray:
    return (q[:, 0].astype(np.int64) + 18_100_000) * 20_000_000 + (q[:, 1].astype(np.int64) + 9_100_000)


def split_edges(layers: list[dict[str, Any]]) -> dict[str, Any]:
    """Nodes at line ends and shared vertices (per mode), edges between consecutive nodes along each line."""
    out: dict[str, list[Any]] = {k: [] for k in ("mode", "cls", "ref", "name", "source", "date", "gen", "coords",
                                                 "km")}
    for mode in ("road", "rail"):
        ls = [lay for lay in layers if lay["mode"] == mode]
        lines = np.concatenate([lay["lines"] for lay in ls])
        attrs = {k: sum((lay[k] for lay in ls), []) for k in ("cls", "ref", "name")}
        layer_of = np.concatenate([np.full(len(lay["lines"]), i) for i, lay in enumerate(ls)])
        xy, li = shapely.get_coordinates(lines, return_index=True)
        q = np.round(xy * Q).astype(np.int64)
        # drop consecutive duplicates after quantisation
        dup = np.zeros(len(q), bool)
        dup[1:] = (li[1:] == li[:-1]) & np.all(q[1:] == q[:-1], axis=1)
        xy, li, q = xy[~dup], li[~dup], q[~dup]
        first = np.ones(len(li), bool)
        first[1:] = li[1:] != li[:-1]
        last = np.ones(len(li), bool)
        last[:-1] = li[1:] != li[:-1]
        _, inv, cnt = np.unique(_key(q), return_inverse=True, return_counts=True)
        is_node = first | last | (cnt[inv] >= 2)
        seglen = np.zeros(len(xy))
        seglen[1:] = geodesy.GEOD.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])[2]
        seglen[first] = 0.0
        cum = np.cumsum(seglen)
        # a node at least every SPLIT_KM along a line, so places and section nodes join near where they are
        start = np.maximum.accumulate(np.where(first, cum, 0.0))
        step = np.floor((cum - start) / (SPLIT_KM * 1000.0))
        is_node[1:] |= (step[1:] != step[:-1]) & ~first[1:]
        pos = np.flatnonzero(is_node)
        same = li[pos[1:]] == li[pos[:-1]]
        starts, ends = pos[:-1][same], pos[1:][same]
        for s, e in zip(starts, ends):
            line = li[s]
            lay = ls[layer_of[line]]
            out["mode"].append(mode)
            out["cls"].append(attrs["cls"][line])
            out["ref"].append(_s(attrs["ref"][line]))
            out["name"].append(_s(attrs["name"][line]))
            out["source"].append(lay["source"])
            out["date"].append(lay["date"])
            out["gen"].append(lay["gen"])
            out["coords"].append(q[s:e + 1])
            out["km"].append((cum[e] - cum[s]) / 1000.0)
        print(f"{mode}: {len(lines)} lines, {len(xy)} vertices, {len(starts)} edges", flush=True)
    return out


def _s(v: Any) -> str | None:
    return v if isinstance(v, str) and v.strip() else None


# ---------------------------------------------------------------- helpers on the edge table

def _ecef(lonlat: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    r = 6371.0088
    return np.column_stack([r * np.cos(lat) * np.cos(lon), r * np.cos(lat) * np.sin(lon), r * np.sin(lat)])


def _add(E: dict[str, list[Any]], mode: str, cls: str, source: str, date: str, coords: np.ndarray,
         gen: bool = True, **extra: Any) -> None:
    """Append an inferred edge (straight geodesic between the coordinates)."""
    ll = coords / Q
    km = float(np.sum(geodesy.GEOD.inv(ll[:-1, 0], ll[:-1, 1], ll[1:, 0], ll[1:, 1])[2])) / 1000.0
    E["mode"].append(mode)
    E["cls"].append(cls)
    E["ref"].append(extra.get("ref"))
    E["name"].append(extra.get("name"))
    E["source"].append(source)
    E["date"].append(date)
    E["gen"].append(gen)
    E["coords"].append(coords.astype(np.int64))
    E["km"].append(km)
    for k in ("bcp", "country"):
        E.setdefault(k, [])
    E["bcp"].append(extra.get("bcp"))
    E["country"].append(extra.get("country"))


def _topology(E: dict[str, list[Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(node keys (unique), node xy quantised, u, v) for the edge table, road and rail nodes kept apart."""
    ends = np.array([[c[0][0], c[0][1], c[-1][0], c[-1][1]] for c in E["coords"]], dtype=np.int64)
    rail = np.array([m == "rail" for m in E["mode"]], dtype=np.int64)
    ku = _key(ends[:, :2]) * 2 + rail
    kv = _key(ends[:, 2:]) * 2 + rail
    keys, inv = np.unique(np.concatenate([ku, kv]), return_inverse=True)
    n = len(E["coords"])
    xy = np.zeros((len(keys), 2), np.int64)
    xy[inv[:n]] = ends[:, :2]
    xy[inv[n:]] = ends[:, 2:]
    return keys, xy, inv[:n], inv[n:]


def _components(nn: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    m = coo_matrix((np.ones(len(u)), (u, v)), shape=(nn, nn))
    return connected_components(m, directed=False)[1]


def bridge(E: dict[str, list[Any]], ncountry_fn: Any) -> None:
    """Gap edges (inferred): dangling ends snapped to a near node, dead ends to another component, per mode."""
    # the recipe's passes, then (generalised sources only) wider gaps at z7 tile seams: 5 km, then 15 km
    for mode, gen, snap_m, gap_km, join_m in (("road", False, 5, 2.0, 0), ("rail", False, 5, 2.0, 0),
                                             ("road", True, 150, 1.5, 300), ("rail", True, 150, 1.5, 300),
                                             ("road", True, 0, 5.0, 0), ("rail", True, 0, 5.0, 0),
                                             ("road", True, 0, 15.0, 0), ("rail", True, 0, 15.0, 0)):
        keys, xy, u, v = _topology(E)
        ismode = np.array([m == mode for m in E["mode"]])
        isgen = np.array(E["gen"])
        deg = np.bincount(np.concatenate([u[ismode], v[ismode]]), minlength=len(keys))
        comp = _components(len(keys), u[ismode], v[ismode])
        nodes_mode = np.unique(np.concatenate([u[ismode], v[ismode]]))
        nodes_gen = np.unique(np.concatenate([u[ismode & isgen], v[ismode & isgen]]))
        ll = xy / Q
        tree = cKDTree(_ecef(ll[nodes_mode]))
        ctry = ncountry_fn(ll)
        added: set[tuple[int, int]] = set()

        def link(a: int, b: int, what: str, added: set[tuple[int, int]] = added, ctry: np.ndarray = ctry,
                 mode: str = mode, xy: np.ndarray = xy) -> None:
            pair = (min(a, b), max(a, b))
            if a == b or pair in added or ctry[a] != ctry[b]:
                return
            added.add(pair)
            _add(E, mode, "gap", f"inferred:{what}", "build", np.array([xy[a], xy[b]]), country=None, bcp=None)

        dead = nodes_gen if gen else np.setdiff1d(nodes_mode, nodes_gen)
        dead = dead[deg[dead] == 1]
        # snap dangling ends to any node within snap_m
        for a, near in zip(dead, tree.query_ball_point(_ecef(ll[dead]), snap_m / 1000.0) if snap_m else []):
            cand = [nodes_mode[j] for j in near if nodes_mode[j] != a]
            if cand:
                b = min(cand, key=lambda j: float(np.sum((xy[j] - xy[a]) ** 2)))
                if not np.array_equal(xy[a], xy[b]) or comp[a] != comp[b]:
                    link(a, b, "snap")
        if gen and snap_m:  # generalised data: a dead end within ANY_M of another node of any component (the
            # z7 lines stop short of each other; their components may already meet a long way round)
            nbr = np.full(len(keys), -1)
            nbr[u[ismode]] = v[ismode]
            nbr[v[ismode]] = u[ismode]  # the only neighbour of a dead end
            dd, jj = tree.query(_ecef(ll[dead]), k=4, distance_upper_bound=ANY_M / 1000.0)
            for a, ds, js in zip(dead, dd, jj):
                for d, j in zip(ds, js):
                    if np.isfinite(d) and nodes_mode[j] != a and nodes_mode[j] != nbr[a]:
                        link(a, nodes_mode[j], "near")
                        break
        # dead ends to the nearest node of a different component within gap_km
        dd, jj = tree.query(_ecef(ll[dead]), k=24, distance_upper_bound=gap_km)
        for a, ds, js in zip(dead, dd, jj):
            for d, j in zip(ds, js):
                if np.isfinite(d) and comp[nodes_mode[j]] != comp[a]:
                    link(a, nodes_mode[j], "gap")
                    break
        if join_m:  # generalised data: roads cross without a shared vertex
            dd, jj = tree.query(_ecef(ll[nodes_gen]), k=8, distance_upper_bound=join_m / 1000.0)
            for a, ds, js in zip(nodes_gen, dd, jj):
                for d, j in zip(ds, js):
                    if np.isfinite(d) and comp[nodes_mode[j]] != comp[a]:
                        link(a, nodes_mode[j], "join")
                        break
        print(f"bridge {mode} gen={gen}: {len(added)} gap edges", flush=True)


# ---------------------------------------------------------------- 4. countries and BCPs

def country_lookup(countries: dict[str, Any]) -> Any:
    names = list(countries)
    geoms = np.array([countries[n] for n in names])
    tree = shapely.STRtree(geoms)

    def lookup(ll: np.ndarray) -> np.ndarray:
        pts = shapely.points(ll)
        out = np.full(len(ll), "", dtype=object)
        pi, gi = tree.query(pts, predicate="within")
        out[pi] = np.array(names, dtype=object)[gi]
        miss = np.flatnonzero(out == "")
        if len(miss):  # on the coast or in a border river outside every polygon: the nearest country
            gi = tree.nearest(pts[miss])
            out[miss] = np.array(names, dtype=object)[gi]
        return out

    return lookup


def borders(E: dict[str, list[Any]], lookup: Any, bcps: list[dict[str, Any]]) -> None:
    """Edge countries; cross-border edges kept at a BCP (bcp id) or dropped; BCP crossing edges where missing."""
    keys, xy, u, v = _topology(E)
    ctry = lookup(xy / Q)
    n = len(E["coords"])
    E.setdefault("bcp", [None] * n)
    E.setdefault("country", [None] * n)
    E["bcp"] += [None] * (n - len(E["bcp"]))
    E["country"] += [None] * (n - len(E["country"]))
    bxy = np.array([[b["lon"], b["lat"]] for b in bcps])
    drop = np.zeros(n, bool)
    crossed: set[tuple[str, str]] = set()
    for i in range(n):
        cu, cv = ctry[u[i]], ctry[v[i]]
        if cu == cv:
            E["country"][i] = cu if E["country"][i] is None else E["country"][i]
            continue
        line = shapely.linestrings(E["coords"][i] / Q)
        best, best_d = None, BCP_KM
        for b, (x, y) in zip(bcps, bxy):
            if set(b["joins"]) != {cu, cv} or (b["modes"] and E["mode"][i] not in b["modes"]):
                continue
            p = shapely.ops.nearest_points(line, shapely.Point(x, y))[0]
            d = geodesy.distance_km((p.x, p.y), (x, y))
            if d <= best_d:
                best, best_d = b, d
        if best is None:
            drop[i] = True
        else:
            E["bcp"][i] = best["id"]
            E["country"][i] = f"{cu}|{cv}"
            crossed.add((best["id"], E["mode"][i]))
    print(f"borders: {int(drop.sum())} cross-border edges dropped, {len(crossed)} BCP crossings kept", flush=True)
    for k in E:
        E[k] = [x for x, d in zip(E[k], drop) if not d]
    # every BCP (also where a source edge crosses: the generalised data often stops short of the border or
    # reaches it on a fragment): a crossing edge between two BCP nodes, each linked to the nearest node of its
    # side that lies in a component of at least BIG nodes
    keys, xy, u, v = _topology(E)
    ctry = lookup(xy / Q)
    isgen = np.array(E["gen"]) & np.array([c not in ("gap", "schematic", "link") for c in E["cls"]])
    gen_nodes = {m: np.unique(np.concatenate([u[isgen & (np.array(E["mode"]) == m)],
                                              v[isgen & (np.array(E["mode"]) == m)]])) for m in ("road", "rail")}
    nobcp = np.array([x is None for x in E["bcp"][:len(u)]])
    for b in bcps:
        for mode in b["modes"] or ["road"]:
            ismode = np.array([m == mode for m in E["mode"][:len(u)]])
            comp = _components(len(keys), u[ismode], v[ismode])
            size = np.bincount(comp)
            if _source_crossing_ok(E, b, mode, keys, xy, u, v, ismode & nobcp):
                continue
            nodes = np.unique(np.concatenate([u[ismode], v[ismode]]))
            nodes = nodes[size[comp[nodes]] >= BIG]
            bq = np.round(np.array([b["lon"], b["lat"]]) * Q).astype(np.int64)
            ends = []
            for side in b["joins"]:
                near = []
                for pool in (nodes, gen_nodes[mode]):  # the nearest node, and the nearest generalised one
                    cand = pool[ctry[pool] == side]
                    if not len(cand):
                        continue
                    d = geodesy.GEOD.inv(np.full(len(cand), b["lon"]), np.full(len(cand), b["lat"]),
                                         xy[cand, 0] / Q, xy[cand, 1] / Q)[2] / 1000.0
                    k = int(np.argmin(d))
                    if d[k] <= LINK_KM and not any(np.array_equal(xy[cand[k]], p) for p in near):
                        near.append(xy[cand[k]])
                if not near:
                    break
                ends.append((side, near))
            if len(ends) != 2:
                print(f"  BCP {b['id']} ({mode}): no {mode} network within {LINK_KM} km on both sides", flush=True)
                continue
            # offset the two BCP nodes by one quantum so they are distinct nodes
            (ca, pas), (cb, pbs) = ends
            qa, qb = bcp_q(bq, 0), bcp_q(bq, 1)
            for pa in pas:
                _add(E, mode, "link", "inferred:bcp-link", "build", np.array([pa, qa]), country=ca, bcp=None)
            _add(E, mode, "bcp", "inferred:bcp", "build", np.array([qa, qb]), country=f"{ca}|{cb}", bcp=b["id"])
            for pb in pbs:
                _add(E, mode, "link", "inferred:bcp-link", "build", np.array([qb, pb]), country=cb, bcp=None)


def _source_crossing_ok(E: dict[str, list[Any]], b: dict[str, Any], mode: str, keys: np.ndarray, xy: np.ndarray,
                        u: np.ndarray, v: np.ndarray, plain: np.ndarray) -> bool:
    """True where one source edge (only one: a road crossing back and forth, as at Tashanta, keeps the inferred
    crossing) already crosses at BCP b in this mode, within CROSS_KM of the BCP point (a BCP place routes from
    there), each of its ends in a component of at least BIG nodes without border crossings, and no edge ends at
    the BCP point itself: an inferred crossing at the rounded BCP point would only add a spike (Korday: out to
    (74.7, 43.0) and back)."""
    bq = np.round(np.array([b["lon"], b["lat"]]) * Q).astype(np.int64)
    if np.any(np.all(xy == bq, axis=1)):
        return False
    cross = [i for i in range(len(u)) if E["bcp"][i] == b["id"] and E["mode"][i] == mode]
    if not cross:
        return False
    comp = _components(len(keys), u[plain], v[plain])
    size = np.bincount(comp, minlength=len(keys))
    near = [i for i in cross if max(geodesy.distance_km(xy[u[i]] / Q, bq / Q),
                                    geodesy.distance_km(xy[v[i]] / Q, bq / Q)) <= CROSS_KM]
    return len(near) == 1 and all(size[comp[u[i]]] >= BIG and size[comp[v[i]]] >= BIG for i in near)


def bcp_sides(E: dict[str, list[Any]], lookup: Any, bcps: list[dict[str, Any]]) -> None:
    """Issue 16 (a route changes country only at a BCP): an edge that ends on an inferred BCP crossing node (a
    schematic section leg or link drawn to the BCP point, a BCP link whose nearest node was that point) is moved
    to the crossing node of its own side of the border (its country, else the country of its other end); where
    the data crosses at the BCP (no inferred crossing), an edge ending at the BCP point goes to the end of the
    source crossing on its side. Inferred edges moved are re-measured; zero-length links left are dropped."""
    where: dict[tuple[str, int, int], dict[str, np.ndarray]] = {}
    for i, c in enumerate(E["coords"]):
        if E["cls"][i] != "bcp":
            continue
        ca, cb = E["country"][i].split("|")
        sides = {ca: c[0], cb: c[-1]}
        for p in (c[0], c[-1]):
            where[(E["mode"][i], int(p[0]), int(p[1]))] = sides
    for b in bcps:
        bq = np.round(np.array([b["lon"], b["lat"]]) * Q).astype(np.int64)
        for mode in b["modes"] or ["road"]:
            key = (mode, int(bq[0]), int(bq[1]))
            if key in where:
                continue
            ends: dict[str, np.ndarray] = {}
            for i, c in enumerate(E["coords"]):
                if E["bcp"][i] == b["id"] and E["mode"][i] == mode:
                    for ctry, p in zip(E["country"][i].split("|"), (c[0], c[-1])):
                        if ctry not in ends or np.abs(p - bq).sum() < np.abs(ends[ctry] - bq).sum():
                            ends[ctry] = p
            if len(ends) == 2:
                where[key] = ends
    moved, drop = 0, np.zeros(len(E["coords"]), bool)
    for i, c in enumerate(E["coords"]):
        if E["cls"][i] in ("bcp", "port-transfer") or E["mode"][i] == "ferry":
            continue
        for end, other in ((0, -1), (-1, 0)):
            sides = where.get((E["mode"][i], int(c[end][0]), int(c[end][1])))
            if sides is None:
                continue
            if E["bcp"][i] is not None:  # a source or schematic edge crossing here: its end's own country
                side = E["country"][i].split("|")[0 if end == 0 else 1]
            elif E["country"][i] in sides:
                side = E["country"][i]
            else:
                side = lookup(c[[other]] / Q)[0]
            if side not in sides:
                raise ValueError(f"edge {i} ({E['source'][i]}) ends on a BCP crossing of {'/'.join(sides)} but lies "
                                 f"in {side}; fix the section or the BCP node in geodata/network")
            if not np.array_equal(c[end], sides[side]):
                c = c.copy()
                c[end] = sides[side]
                E["coords"][i] = c
                moved += 1
                if E["source"][i].startswith(("inferred", "schematic")):  # straight geodesic legs: re-measure
                    ll = c / Q
                    E["km"][i] = float(np.sum(geodesy.GEOD.inv(ll[:-1, 0], ll[:-1, 1], ll[1:, 0],
                                                               ll[1:, 1])[2])) / 1000.0
        if E["cls"][i] == "link" and len(c) == 2 and np.array_equal(c[0], c[-1]):
            drop[i] = True
    for k in E:
        E[k] = [x for x, d in zip(E[k], drop) if not d]
    print(f"bcp sides: {moved} edge ends moved to their side's BCP node, {int(drop.sum())} empty links dropped",
          flush=True)


def bcp_q(bq: np.ndarray, side: int) -> np.ndarray:
    return bq + np.array([side, 0])


# ---------------------------------------------------------------- 5. ferries

def ferries(E: dict[str, list[Any]], lookup: Any, nodes: dict[str, Any], sections: list[dict[str, Any]]) -> None:
    """Sea legs of the corridor sections as ferry edges; ports linked to their country's road and rail nodes."""
    seen: set[tuple[str, ...]] = set()
    ports: set[str] = set()
    for s in sections:
        seq = s["nodes"]
        i = 0
        while i < len(seq) - 1:
            if seq[i + 1] != "~":
                i += 1
                continue
            j = i
            chain = [seq[i]]
            while j + 1 < len(seq) and seq[j + 1] == "~":
                chain.append(seq[j + 2])
                j += 2
            i = j
            key = tuple(chain) if chain[0] < chain[-1] else tuple(reversed(chain))
            if key in seen:
                continue
            seen.add(key)
            q = np.round(np.array([[nodes[c]["lon"], nodes[c]["lat"]] for c in key]) * Q).astype(np.int64)
            _add(E, "ferry", "ferry", "corridor-sections:ferry", "sections", q, country="sea", bcp=None,
                 name=f"{nodes[key[0]]['name']} - {nodes[key[-1]]['name']}")
            ports.update({key[0], key[-1]})
    keys, xy, u, v = _topology(E)
    ctry = lookup(xy / Q)
    for pid in sorted(ports):
        p = nodes[pid]
        pq = np.round(np.array([p["lon"], p["lat"]]) * Q).astype(np.int64)
        for mode in ("road", "rail"):
            ismode = np.array([m == mode for m in E["mode"][:len(u)]])
            cand = np.unique(np.concatenate([u[ismode], v[ismode]]))
            cand = cand[ctry[cand] == p["country"]]
            d = geodesy.GEOD.inv(np.full(len(cand), p["lon"]), np.full(len(cand), p["lat"]),
                                 xy[cand, 0] / Q, xy[cand, 1] / Q)[2] / 1000.0
            if not len(d) or d.min() > PORT_KM:
                print(f"  port {pid}: no {mode} node within {PORT_KM} km", flush=True)
                continue
            k = int(np.argmin(d))
            _add(E, mode, "link", "inferred:port-link", "build", np.array([xy[cand[k]], pq]), country=p["country"],
                 bcp=None)
            if mode == "rail":  # the ferry ends at the road node of the port: a transfer joins rail to it
                _add(E, "ferry", "port-transfer", "inferred:port-link", "build", np.array([pq, pq]),
                     country=p["country"], bcp=None)
    print(f"ferries: {len(seen)} sea links, {len(ports)} ports", flush=True)


# ---------------------------------------------------------------- lines in no track file: station chains

def station_chains(E: dict[str, list[Any]], lookup: Any, stations: Path) -> None:
    """Each STATION_LINES railway as schematic rail edges between consecutive OSM station points (geodesics), the
    OSM ids and names of both stations in the edge name; each end station joined to the nearest rail node of its
    own country within STATION_LINK_KM (inferred link). Much closer to the track than a chain of section nodes."""
    feats = json.loads(stations.read_text(encoding="utf-8"))["features"]
    pts = {f["properties"]["osm_id"]: (f["geometry"]["coordinates"], f["properties"]["name"]) for f in feats}
    keys, xy, u, v = _topology(E)
    rail = np.array([m == "rail" and c != "schematic" for m, c in zip(E["mode"], E["cls"])])
    net = np.unique(np.concatenate([u[rail], v[rail]]))
    ctry = lookup(xy[net] / Q)
    for line, ids in STATION_LINES:
        missing = [i for i in ids if i not in pts]
        if missing:
            raise ValueError(f"{line}: OSM station ids {missing} are not in {stations}; update STATION_LINES")
        ll = np.array([pts[i][0] for i in ids], dtype=float)
        km = 0.0
        for j in range(len(ids) - 1):
            q = np.round(np.array(geodesy.densify(ll[j:j + 2].tolist(), 5.0)) * Q).astype(np.int64)
            _add(E, "rail", "schematic", f"osm-stations:{stations.name}", "2026 (OSM station points)", q,
                 name=f"{line}: {pts[ids[j]][1]} (osm {ids[j]}) - {pts[ids[j + 1]][1]} (osm {ids[j + 1]}), "
                      "station chain", country=None, bcp=None)
            km += E["km"][-1]
        for end in (ll[0], ll[-1]):
            c = lookup(end[None, :])[0]
            cand = net[ctry == c]
            d = geodesy.GEOD.inv(np.full(len(cand), end[0]), np.full(len(cand), end[1]),
                                 xy[cand, 0] / Q, xy[cand, 1] / Q)[2] / 1000.0
            if len(d) and d.min() <= STATION_LINK_KM:
                k = int(np.argmin(d))
                _add(E, "rail", "link", "inferred:station-chain-link", "build",
                     np.array([np.round(end * Q).astype(np.int64), xy[cand[k]]]), country=None, bcp=None)
        print(f"station chain {line}: {len(ids)} stations, {km:.1f} km", flush=True)


# ---------------------------------------------------------------- section legs the network lacks

def schematic(E: dict[str, list[Any]], nodes: dict[str, Any], sections: list[dict[str, Any]]) -> None:
    """A corridor section leg (road or rail) that runs more than SCHEMATIC_KM from every vertex of that mode's
    network (a line opened after the data) becomes a schematic edge along the geodesic between its sourced nodes;
    the ends of such chains are linked to the nearest node of the network. A rail leg whose two ends lie within
    STATION_LINK_KM of one station chain (station_chains) is left to that chain, the better-sourced line, even
    where the chain bows more than SCHEMATIC_KM away from the straight leg."""
    from corridors.network import legs

    added: dict[str, set[tuple[str, str]]] = {"road": set(), "rail": set()}
    # the vertices of each station chain (STATION_LINES): a leg whose two ends both lie on one chain follows it
    chains: dict[str, list[np.ndarray]] = {}
    for c, src, name in zip(E["coords"], E["source"], E["name"]):
        if src.startswith("osm-stations:"):
            chains.setdefault(name.split(":")[0], []).append(c)
    chain_trees = [cKDTree(_ecef(np.concatenate(cs) / Q)) for _, cs in sorted(chains.items())]
    for mode in ("road", "rail"):
        ismode = [m == mode for m in E["mode"]]
        verts = np.concatenate([c for c, ok in zip(E["coords"], ismode) if ok]) / Q
        tree = cKDTree(_ecef(verts))
        for s in sections:
            if s["mode"] not in (mode, "multimodal"):
                continue
            for a, b, m in legs(s):
                if m == "ferry" or (a, b) in added[mode] or (b, a) in added[mode]:
                    continue
                pa, pb = (nodes[a]["lon"], nodes[a]["lat"]), (nodes[b]["lon"], nodes[b]["lat"])
                pts = np.array(geodesy.densify([pa, pb], 5.0))
                d, _ = tree.query(_ecef(pts))
                if d.max() <= SCHEMATIC_KM:
                    continue
                if mode == "rail" and any(t.query(_ecef(pts[[0, -1]]))[0].max() <= STATION_LINK_KM
                                          for t in chain_trees):
                    continue  # a station chain (e.g. Zhezkazgan-Saksaulskaya) runs between the leg's ends
                added[mode].add((a, b))
                q = np.round(pts * Q).astype(np.int64)
                _add(E, mode, "schematic", f"schematic:{s['id']}", "sections", q, country=None, bcp=None,
                     name=f"{nodes[a]['name']} - {nodes[b]['name']} (schematic)")
        ends = collections.Counter(n for pair in added[mode] for n in pair)
        keys, nodes_xy, u, v = _topology(E)
        ism = np.array([m == mode and c != "schematic" for m, c in zip(E["mode"], E["cls"])])
        net = np.unique(np.concatenate([u[ism], v[ism]]))
        ntree = cKDTree(_ecef(nodes_xy[net] / Q))
        for n_id, k in sorted(ends.items()):
            if k != 1:
                continue
            p = np.array([[nodes[n_id]["lon"], nodes[n_id]["lat"]]])
            d, j = ntree.query(_ecef(p)[0], k=1, distance_upper_bound=LINK_KM)
            if np.isfinite(d):
                _add(E, mode, "link", "inferred:schematic-link", "build",
                     np.array([np.round(p[0] * Q).astype(np.int64), nodes_xy[net[j]]]), country=None, bcp=None)
        print(f"schematic {mode}: {len(added[mode])} section legs without network", flush=True)


def detours(E: dict[str, list[Any]], lookup: Any, nodes: dict[str, Any], sections: list[dict[str, Any]]) -> None:
    """A section leg inside one country whose network path is longer than DETOUR x its geodesic + 5 km (the
    network is broken there, typically generalised roads stopping short of each other) becomes a schematic edge,
    its ends linked to the nearest node of a big component of the same country."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from corridors.network import legs

    keys, xy, u, v = _topology(E)
    ctry = lookup(xy / Q)
    km = np.array(E["km"])
    for mode in ("road", "rail"):
        ok = np.array([m in (mode, "ferry") for m in E["mode"][:len(km)]])
        n = len(keys)
        g = csr_matrix((np.maximum(np.concatenate([km[ok], km[ok]]), 1e-9),
                        (np.concatenate([u[ok], v[ok]]), np.concatenate([v[ok], u[ok]]))), shape=(n, n))
        comp = _components(n, u[ok], v[ok])
        size = np.bincount(comp)
        pool = np.unique(np.concatenate([u[ok], v[ok]]))
        pool = pool[size[comp[pool]] >= BIG]
        tree = cKDTree(_ecef(xy[pool] / Q))
        done: set[tuple[str, str]] = set()
        for s in sections:
            if s["mode"] not in (mode, "multimodal"):
                continue
            for a, b, m in legs(s):
                if m == "ferry" or (a, b) in done or (b, a) in done or nodes[a]["country"] != nodes[b]["country"]:
                    continue
                done.add((a, b))
                pa, pb = (nodes[a]["lon"], nodes[a]["lat"]), (nodes[b]["lon"], nodes[b]["lat"])
                ends = []
                for p in (pa, pb):
                    near = tree.query_ball_point(_ecef(np.array([p]))[0], LINK_KM)
                    near = [pool[j] for j in near if ctry[pool[j]] == nodes[a]["country"]]
                    if not near:
                        break
                    ends.append(min(near, key=lambda j, p=p: geodesy.distance_km(p, xy[j] / Q)))
                if len(ends) != 2:
                    continue
                straight = geodesy.distance_km(pa, pb)
                lim = DETOUR * straight + 5.0 + geodesy.distance_km(pa, xy[ends[0]] / Q) + \
                    geodesy.distance_km(pb, xy[ends[1]] / Q)
                d = dijkstra(g, indices=ends[0], limit=lim)[ends[1]]
                if np.isfinite(d):
                    continue
                q = np.round(np.array(geodesy.densify([pa, pb], 5.0)) * Q).astype(np.int64)
                c = nodes[a]["country"]
                _add(E, mode, "schematic", f"schematic:{s['id']}", "sections", q, country=c, bcp=None,
                     name=f"{nodes[a]['name']} - {nodes[b]['name']} (schematic: network detour)")
                for p, j in zip((q[0], q[-1]), ends):
                    if not np.array_equal(p, xy[j]):
                        _add(E, mode, "link", "inferred:schematic-link", "build", np.array([p, xy[j]]), country=c,
                             bcp=None)
                print(f"  detour {mode} {s['id']}: {a} - {b} ({straight:.0f} km) kept schematic", flush=True)


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    import shapely.ops  # noqa: F401

    a = parse(argv)
    from corridors import network as source

    cfc = json.loads((ROOT / "geodata" / "countries.geojson").read_text())
    countries = {f["properties"]["iso_a3"]: shapely.geometry.shape(f["geometry"]) for f in cfc["features"]}
    root = ROOT / "geodata" / "network"
    srcs = source.read_sources(root)
    nodes = source.read_nodes(root, srcs)
    sections = source.read_sections(root, nodes, srcs)
    bcps = sorted((n for n in nodes.values() if n["kind"] == "bcp"), key=lambda n: n["id"])
    lookup = country_lookup(countries)
    layers = read_sources(a, countries)
    E = split_edges(layers)
    E["bcp"] = [None] * len(E["coords"])
    E["country"] = [None] * len(E["coords"])
    bridge(E, lookup)
    station_chains(E, lookup, a.stations)
    schematic(E, nodes, sections)
    borders(E, lookup, bcps)
    detours(E, lookup, nodes, sections)
    ferries(E, lookup, nodes, sections)
    bcp_sides(E, lookup, bcps)
    inputs = [*a.road_osm, *a.rail_osm, *a.road_fallback, *a.rail_fallback, a.stations]
    meta = {
        "licence": "ODbL-1.0 (derived database); see LICENSE-ODbL.txt",
        "attribution": "© OpenStreetMap contributors; © OpenMapTiles (Kazakhstan, north-west China, southern "
                       "Russia roads); Natural Earth (rail outside the OSM extracts, public domain); OSM 2026 rail "
                       "station points (lines in no track file, drawn as schematic station chains)",
        "inputs": [f.name for f in inputs],
        "tertiary": [f.name for f in a.tertiary],
        "units": {"km": "geodesic WGS84 length of the full-resolution source line", "coords": "1e-5 degree"},
    }
    graph.write(a.out, E, meta)
    print(f"wrote {a.out} ({a.out.stat().st_size / 1e6:.2f} MB, {len(E['coords'])} edges)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
