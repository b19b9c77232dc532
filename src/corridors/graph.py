"""The regional road + rail network (geodata/network.npz): lazy loading, snapping and shortest paths.

The network is derived from OpenStreetMap (© OpenStreetMap contributors, ODbL 1.0), the OpenMapTiles fallback
(© OpenMapTiles) and Natural Earth railroads by ``scripts/build_network.py``. It is one deterministic zip of numpy
arrays: nodes (lon/lat quantised to 1e-5 degree), undirected edges (u, v, geodesic ``km`` of the full-resolution
source line, mode, class, ref, name, country, source, date, bcp) and every edge's geometry (delta-coded).

Nothing is read at import; ``load()`` reads the file once (well under a second). Borders: an edge joining two
countries exists only at a BCP and carries ``bcp_id`` and ``bcp_countries``; a BCP listed as closed in
``geodata/network/bcp_status.csv`` is never used. Shortest paths are point-to-point searches with scipy's
compiled Dijkstra stopped at a radius (one-sided or bidirectional, ``shortest_path``) on a CSR matrix per mode and
weight (``weighted_graph``, cached for "distance"); ``weight`` may be "distance" or a networkx-style callable
``(u, v, edge_data) -> float`` (None or inf: unusable).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import data

QUANT = 100_000  # coordinates are stored in units of 1e-5 degree (about 1 m)
EDGE_MODES = ("road", "rail", "ferry")
GRAPH_MODES: dict[str, tuple[str, ...]] = {"road": ("road", "ferry"), "rail": ("rail", "ferry"),
                                           "any": ("road", "rail", "ferry")}
# path choice only (reported lengths stay true km): a tertiary km counts 1.5 (mountain shortcuts, unpaved roads);
# a schematic road km (a geodesic between section nodes where the generalised road data is broken) 2, so a real
# road wins unless it is a long detour; schematic rail (lines opened after the data: Zhetygen-Altynkol,
# Shalkar-Beineu ...) counts plain km
# road; in Mongolia tertiary roads are largely unpaved mountain tracks (shared/networks README: a pure shortest path
# between the western border posts takes them, 550 km against the 746 km trunk road), so they count 3
CLASS_FACTOR = {"tertiary": 1.5, "schematic:road": 2.0, "tertiary@MNG": 3.0}
FILE = "network.npz"
STATUS_FILE = "bcp_status.csv"
EARTH_KM = 6371.0088
Weight = str | Callable[[int, int, dict[str, Any]], float | None]


class NetworkDataError(RuntimeError):
    """The network file is missing or unreadable; the message says how to rebuild it."""


# ---------------------------------------------------------------- writing (used by scripts/build_network.py)

def _table(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Index array into a sorted table of the distinct non-None values (-1 for None)."""
    table = sorted({v for v in values if v is not None})
    pos = {v: i for i, v in enumerate(table)}
    dtype = np.int8 if len(table) < 127 else np.int16 if len(table) < 32767 else np.int32
    return np.array([pos[v] if v is not None else -1 for v in values], dtype=dtype), table


def write(path: Path, E: dict[str, list[Any]], meta: dict[str, Any]) -> None:
    """Write the edge table E (lists: coords (quantised int arrays), km, mode, cls, ref, name, source, date, gen,
    country, bcp) as a deterministic zip of .npy arrays (fixed timestamps, sorted names), atomically."""
    coords = E["coords"]
    keys = []
    for c, m in zip(coords, E["mode"]):
        bit = 1 if m == "rail" else 0
        keys.append(((int(c[0][0]), int(c[0][1]), bit), (int(c[-1][0]), int(c[-1][1]), bit)))
    # a ferry edge's ends join the road nodes at the port; port-transfer edges join road and rail there
    for i, cls in enumerate(E["cls"]):
        if cls == "port-transfer":
            a, b = keys[i]
            keys[i] = ((a[0], a[1], 1), (b[0], b[1], 0))
    uniq = sorted({k for pair in keys for k in pair})
    nid = {k: i for i, k in enumerate(uniq)}
    arrays: dict[str, np.ndarray] = {
        "node_xy": np.array([[k[0], k[1]] for k in uniq], dtype=np.int32).reshape(-1, 2),
        "node_layer": np.array([k[2] for k in uniq], dtype=np.uint8),
        "edge_u": np.array([nid[a] for a, _ in keys], dtype=np.int32),
        "edge_v": np.array([nid[b] for _, b in keys], dtype=np.int32),
        "edge_km": np.array(E["km"], dtype=np.float64),
        "edge_mode": np.array([EDGE_MODES.index(m) for m in E["mode"]], dtype=np.uint8),
    }
    tables: dict[str, list[Any]] = {}
    for k in ("cls", "ref", "name", "country", "bcp"):
        arrays[f"edge_{k}"], tables[k] = _table(E[k])
    src = [f"{s}\t{d}" for s, d in zip(E["source"], E["date"])]
    arrays["edge_source"], tables["source"] = _table(src)
    arrays["edge_inferred"] = np.array([s.startswith("inferred") for s in E["source"]], dtype=np.uint8)
    allc = np.concatenate(coords).astype(np.int64)
    off = np.zeros(len(coords) + 1, dtype=np.int64)
    off[1:] = np.cumsum([len(c) for c in coords])
    delta = np.diff(allc, axis=0, prepend=np.zeros((1, 2), np.int64))
    arrays["geom_offsets"] = off
    arrays["geom_delta"] = delta.astype(np.int32)
    arrays["tables"] = np.frombuffer(json.dumps({"tables": tables, "meta": meta}, ensure_ascii=False,
                                                sort_keys=True).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name in sorted(arrays):
            raw = io.BytesIO()
            np.lib.format.write_array(raw, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, raw.getvalue(), compresslevel=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)


# ---------------------------------------------------------------- loading

@dataclass
class Network:
    """The loaded network: numpy arrays (see the module docstring) plus the string tables and metadata."""

    node_xy: np.ndarray  # (n, 2) float lon/lat
    node_layer: np.ndarray  # 0 road/ferry, 1 rail
    u: np.ndarray
    v: np.ndarray
    km: np.ndarray
    mode: np.ndarray
    cls: np.ndarray
    ref: np.ndarray
    name: np.ndarray
    country: np.ndarray
    bcp: np.ndarray
    source: np.ndarray
    inferred: np.ndarray
    geom_offsets: np.ndarray
    geom_delta: np.ndarray
    tables: dict[str, list[Any]]
    meta: dict[str, Any]

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.u)

    def edge_coords(self, e: int) -> np.ndarray:
        """Lon/lat vertices of edge e, from u to v."""
        return _coords()[self.geom_offsets[e]:self.geom_offsets[e + 1]]

    def edge_data(self, e: int) -> dict[str, Any]:
        """networkx-style attributes of edge e: km, mode, class, ref, name, country (ISO3 or 'sea'; for a BCP
        edge the country of its u end), bcp_id and bcp_countries (None off a border), source, date, inferred."""
        return _edge_dicts()[e]


def geodata_path() -> Path:
    return data.geodata_dir() / FILE


@functools.cache
def load() -> Network:
    """The shipped network, read once (lazily)."""
    path = geodata_path()
    if not path.is_file():
        raise NetworkDataError(f"the network file {path} is missing; rebuild it with "
                               "'python scripts/build_network.py' (see geodata/README.md)")
    with np.load(path, allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    t = json.loads(a["tables"].tobytes().decode())
    return Network(node_xy=a["node_xy"] / QUANT, node_layer=a["node_layer"], u=a["edge_u"], v=a["edge_v"],
                   km=a["edge_km"], mode=a["edge_mode"], cls=a["edge_cls"], ref=a["edge_ref"], name=a["edge_name"],
                   country=a["edge_country"], bcp=a["edge_bcp"], source=a["edge_source"],
                   inferred=a["edge_inferred"].astype(bool), geom_offsets=a["geom_offsets"],
                   geom_delta=a["geom_delta"], tables=t["tables"], meta=t["meta"])


@functools.cache
def _coords() -> np.ndarray:
    n = load()
    return np.cumsum(n.geom_delta.astype(np.int64), axis=0) / QUANT


def _s(table: list[Any], i: int) -> Any:
    return table[i] if i >= 0 else None


@functools.cache
def _edge_dicts() -> list[dict[str, Any]]:
    n = load()
    t = n.tables
    cls = [_s(t["cls"], i) for i in n.cls.tolist()]
    ref = [_s(t["ref"], i) for i in n.ref.tolist()]
    name = [_s(t["name"], i) for i in n.name.tolist()]
    ctry = [_s(t["country"], i) for i in n.country.tolist()]
    bcp = [_s(t["bcp"], i) for i in n.bcp.tolist()]
    src = [t["source"][i].split("\t") for i in n.source.tolist()]
    out = []
    for e, (km, m, c, b) in enumerate(zip(n.km.tolist(), n.mode.tolist(), ctry, bcp)):
        sides = tuple(c.split("|")) if c and "|" in c else None
        out.append({"id": e, "km": km, "mode": EDGE_MODES[m], "class": cls[e], "ref": ref[e], "name": name[e],
                    "country": sides[0] if sides else c, "bcp_id": b, "bcp_countries": sides if b else None,
                    "source": src[e][0], "date": src[e][1], "inferred": bool(n.inferred[e])})
    return out


def bcp_status() -> dict[str, dict[str, str]]:
    """BCP id -> {status: open|restricted|closed, source, date, note} from geodata/network/bcp_status.csv."""
    path = data.geodata_dir() / "network" / STATUS_FILE
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {r["bcp_id"]: r for r in csv.DictReader(f)}


def closed_bcps() -> frozenset[str]:
    return frozenset(k for k, r in bcp_status().items() if r["status"] == "closed")


@functools.cache
def _closed_default() -> frozenset[str]:
    """``closed_bcps()`` as read once per process: the graphs built with it are cached too."""
    return closed_bcps()


# ---------------------------------------------------------------- graphs per mode

@dataclass
class ModeGraph:
    """Directed CSR arrays for one mode (both directions of every usable edge), its nodes and components."""

    indptr: np.ndarray
    indices: np.ndarray
    edge: np.ndarray  # edge id of each CSR entry
    nodes: np.ndarray  # node ids in this mode's graph
    comp: np.ndarray  # component label per node id (-1 outside the mode)
    comp_size: np.ndarray


def _usable(mode: str, closed: frozenset[str]) -> np.ndarray:
    if mode not in GRAPH_MODES:
        raise ValueError(f"mode must be one of {', '.join(GRAPH_MODES)}, not {mode!r}")
    n = load()
    ok = np.isin(n.mode, [EDGE_MODES.index(m) for m in GRAPH_MODES[mode]])
    if closed:
        ids = [i for i, b in enumerate(n.tables["bcp"]) if b in closed]
        ok &= ~np.isin(n.bcp, ids)
    return np.flatnonzero(ok)


def mode_graph(mode: str, closed: frozenset[str] | None = None) -> ModeGraph:
    """The CSR structure of a mode's graph ('road', 'rail' or 'any'); closed BCPs (default: bcp_status.csv) left out."""
    return _mode_graph(mode, _closed_default() if closed is None else frozenset(closed))


@functools.cache
def _mode_graph(mode: str, closed: frozenset[str]) -> ModeGraph:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n = load()
    e = _usable(mode, closed)
    rows = np.concatenate([n.u[e], n.v[e]])
    cols = np.concatenate([n.v[e], n.u[e]])
    eid = np.concatenate([e, e])
    order = np.lexsort((n.km[eid], cols, rows))  # per (row, col) the shortest parallel edge first
    rows, cols, eid = rows[order], cols[order], eid[order]
    first = np.ones(len(rows), bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, eid = rows[first], cols[first], eid[first]
    indptr = np.zeros(n.n_nodes + 1, dtype=np.int64)
    np.add.at(indptr, rows + 1, 1)
    indptr = np.cumsum(indptr)
    m = csr_matrix((np.ones(len(rows)), cols, indptr), shape=(n.n_nodes, n.n_nodes))
    labels = connected_components(m, directed=False)[1]
    nodes = np.unique(rows)
    comp = np.full(n.n_nodes, -1, dtype=np.int64)
    comp[nodes] = labels[nodes]
    size = np.bincount(labels[nodes], minlength=labels.max() + 1)
    return ModeGraph(indptr=indptr, indices=cols.astype(np.int32), edge=eid, nodes=nodes, comp=comp, comp_size=size)


def _ecef(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack([EARTH_KM * np.cos(la) * np.cos(lo), EARTH_KM * np.cos(la) * np.sin(lo),
                            EARTH_KM * np.sin(la)])


def _tree(mode: str, closed: frozenset[str] | None = None) -> Any:
    return _mode_tree(mode, _closed_default() if closed is None else frozenset(closed))


@functools.cache
def _mode_tree(mode: str, closed: frozenset[str]) -> Any:
    """A KD-tree of the ECEF positions of the mode graph's nodes (in the order of ``mode_graph(...).nodes``)."""
    from scipy.spatial import cKDTree

    g = mode_graph(mode, closed)
    xy = load().node_xy[g.nodes]
    return cKDTree(_ecef(xy[:, 0], xy[:, 1]))


def near_nodes(lon: float, lat: float, mode: str, k: int = 16, max_km: float = 50.0,
               closed: frozenset[str] | None = None) -> list[tuple[int, float]]:
    """Up to k (node id, chord distance km) of the mode's graph nearest to (lon, lat), nearest first."""
    g = mode_graph(mode, closed)
    d, j = _tree(mode, closed).query(_ecef(np.array([lon]), np.array([lat]))[0], k=k, distance_upper_bound=max_km)
    d, j = np.atleast_1d(d), np.atleast_1d(j)
    ok = np.isfinite(d)
    return list(zip(g.nodes[j[ok]].tolist(), d[ok].tolist()))


@functools.cache
def _distance_weight() -> np.ndarray:
    """Per edge: km times the CLASS_FACTOR of its class (the 'distance' weight; reported lengths stay true km)."""
    n = load()
    f = np.ones((len(n.tables["cls"]) + 1, len(EDGE_MODES)))  # class index (-1: none) x mode
    out = None
    for c, x in CLASS_FACTOR.items():
        c, _, iso = c.partition("@")
        cls, _, mode = c.partition(":")
        if cls not in n.tables["cls"]:
            continue
        if iso:  # a country-specific factor, applied after the general ones
            continue
        f[n.tables["cls"].index(cls), [EDGE_MODES.index(mode)] if mode else slice(None)] = x
    out = n.km * f[n.cls, n.mode]
    for c, x in CLASS_FACTOR.items():
        c, _, iso = c.partition("@")
        if iso and c in n.tables["cls"] and iso in n.tables["country"]:
            hit = (n.cls == n.tables["cls"].index(c)) & (n.country == n.tables["country"].index(iso))
            out[hit] = n.km[hit] * x
    return np.asarray(out, dtype=float)


@functools.cache
def node_country() -> np.ndarray:
    """ISO3 of each node (from its edges; a BCP node takes its side's country, a port node its own), or None."""
    n = load()
    t = n.tables["country"]
    out = np.full(n.n_nodes, None, dtype=object)
    plain = np.flatnonzero(n.country >= 0)
    names = np.array([c if c != "sea" else None for c in t], dtype=object)[n.country[plain]]
    for ends in (n.u, n.v):
        out[ends[plain]] = names
    for e in np.flatnonzero(n.bcp >= 0):  # the crossing edge: u on the first country's side, v on the second's
        a, b = t[n.country[e]].split("|")
        out[n.u[e]], out[n.v[e]] = a, b
    return out


@functools.cache
def border_nodes() -> frozenset[int]:
    """The end nodes of BCP crossing edges (they sit on the border line)."""
    n = load()
    e = np.flatnonzero(n.bcp >= 0)
    return frozenset(np.concatenate([n.u[e], n.v[e]]).tolist())


@functools.cache
def real_nodes() -> np.ndarray:
    """Boolean per node: True where an edge other than a schematic one (or its link) meets it."""
    n = load()
    cls = n.tables["cls"]
    sch = cls.index("schematic") if "schematic" in cls else -2
    links = [i for i, x in enumerate(n.tables["source"]) if x.startswith("inferred:schematic-link")]
    ok = (n.cls != sch) & ~np.isin(n.source, links)
    out = np.zeros(n.n_nodes, bool)
    out[n.u[ok]] = True
    out[n.v[ok]] = True
    return out


@functools.cache
def bcp_nodes() -> dict[str, tuple[int, ...]]:
    """BCP id -> the end nodes of its crossing edges (all modes)."""
    n = load()
    out: dict[str, set[int]] = {}
    for e in np.flatnonzero(n.bcp >= 0):
        out.setdefault(n.tables["bcp"][n.bcp[e]], set()).update((int(n.u[e]), int(n.v[e])))
    return {k: tuple(sorted(v)) for k, v in out.items()}


def edge_weights(mode: str, weight: Weight = "distance", closed: frozenset[str] | None = None) -> np.ndarray:
    """The weight of every CSR entry of ``mode_graph(mode, closed)`` (inf: unusable); ``weight`` as in
    ``shortest_path``. A callable is called once per entry and direction (slow: about a second)."""
    g = mode_graph(mode, closed)
    if isinstance(weight, str) and weight == "distance":
        return np.asarray(np.maximum(_distance_weight()[g.edge], 1e-9), dtype=float)
    if not callable(weight):
        raise ValueError(f"weight must be 'distance' or a callable (u, v, edge_data) -> float, not {weight!r}")
    rows = np.repeat(np.arange(len(g.indptr) - 1), np.diff(g.indptr))
    dicts = _edge_dicts()
    w = np.empty(len(g.edge))
    for i, (r, c, e) in enumerate(zip(rows.tolist(), g.indices.tolist(), g.edge.tolist())):
        x = weight(r, c, dicts[e])
        w[i] = np.inf if x is None else float(x)
    if np.any(w < 0):
        raise ValueError("the weight function returned a negative value; Dijkstra needs weights >= 0")
    return np.maximum(w, 1e-9)


@dataclass
class WeightedGraph:
    """A mode's graph under one weight, ready for searches: the usable directed entries as a CSR matrix
    (``fwd``), its transpose (``rev``, for the search back from the target), the edge id of each ``fwd`` entry,
    their sorted keys ``u * n_nodes + v`` (a path's (u, v) pairs -> edge ids in one ``searchsorted``), and the
    median weight per km (to size the first search radius in the weight's own unit)."""

    mode: str
    closed: frozenset[str]
    fwd: Any
    rev: Any
    edge: np.ndarray
    key: np.ndarray
    per_km: float


def weighted_graph(mode: str, weight: Weight = "distance", closed: frozenset[str] | None = None) -> WeightedGraph:
    """The ``WeightedGraph`` of a mode under ``weight`` ("distance": built once per mode and closed set and
    cached; a callable: built on every call, so keep and reuse the result for repeated searches)."""
    closed = _closed_default() if closed is None else frozenset(closed)
    if isinstance(weight, str) and weight == "distance":
        return _distance_graph(mode, closed)
    return _build_weighted(mode, closed, edge_weights(mode, weight, closed))


@functools.cache
def _distance_graph(mode: str, closed: frozenset[str]) -> WeightedGraph:
    return _build_weighted(mode, closed, edge_weights(mode, "distance", closed))


def _build_weighted(mode: str, closed: frozenset[str], w: np.ndarray) -> WeightedGraph:
    from scipy.sparse import csr_matrix

    g = mode_graph(mode, closed)
    nn = load().n_nodes
    rows = np.repeat(np.arange(nn, dtype=np.int64), np.diff(g.indptr))
    keep = np.flatnonzero(np.isfinite(w))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=nn))])
    fwd = csr_matrix((w[keep], g.indices[keep], indptr), shape=(nn, nn))
    rev = fwd.T.tocsr()
    eid = g.edge[keep]
    km = load().km[eid]
    per_km = float(np.median(w[keep][km > 0] / km[km > 0])) if np.any(km > 0) else 1.0
    return WeightedGraph(mode=mode, closed=closed, fwd=fwd, rev=rev, edge=eid,
                         key=rows[keep] * nn + g.indices[keep].astype(np.int64), per_km=per_km)


DETOUR_GUESS = 1.45  # the first search radius: this times the chord (a path is mostly 1.1-1.5x the chord)
GROW = 1.5  # a search radius that proves nothing grows by this factor


def shortest_path(src: int, dst: int, mode: str, weight: Weight | WeightedGraph = "distance",
                  closed: frozenset[str] | None = None, limit: float = np.inf) -> tuple[list[int], list[int]] | None:
    """(node ids, edge ids) of the least-weight path from src to dst in the mode's graph, or None if none.
    ``weight``: "distance", a callable (see the module docstring) or a prebuilt ``weighted_graph`` (fast for a
    callable searched many times). ``limit``: search no further than this total weight (a path that would be
    longer counts as none).

    The search runs in scipy's compiled Dijkstra, stopped at a radius, so it explores discs around the ends,
    not the whole graph. It expects a path of ``DETOUR_GUESS`` times the chord and takes the plan that explores
    fewer nodes by the node density of the data (the network is dense where OSM maps it, sparse where only the
    generalised data exist): one search from src, one back from dst, or both (``_bidirectional``). A radius
    that proves nothing grows (``GROW``)."""
    wg = weight if isinstance(weight, WeightedGraph) else weighted_graph(mode, weight, closed)
    if isinstance(weight, WeightedGraph) and (weight.mode != mode or (closed is not None and closed != weight.closed)):
        raise ValueError("the weighted_graph given as weight was built for another mode or closed set")
    g = mode_graph(mode, wg.closed)
    if src == dst:
        return [src], []
    if g.comp[src] < 0 or g.comp[src] != g.comp[dst]:
        return None
    xyz = _ecef_nodes()
    reach = DETOUR_GUESS * float(np.linalg.norm(xyz[src] - xyz[dst]))  # km
    centres, counts = _density(mode, wg.closed)
    to_s, to_t = (np.linalg.norm(centres - xyz[i], axis=1) for i in (src, dst))
    cost = {"src": counts[to_s <= reach].sum() + SEARCH_COST, "dst": counts[to_t <= reach].sum() + SEARCH_COST,
            "both": counts[to_s <= reach / 2].sum() + counts[to_t <= reach / 2].sum() + 2 * SEARCH_COST}
    plan = min(cost, key=lambda k: cost[k])
    guess = max(reach * wg.per_km, 1e-6)
    path = _bidirectional(wg, src, dst, guess / 2, limit) if plan == "both" else \
        _one_sided(wg, src, dst, guess, limit, backward=plan == "dst")
    if path is None:
        return None
    p = np.asarray(path, dtype=np.int64)
    k = np.searchsorted(wg.key, p[:-1] * load().n_nodes + p[1:])
    return path, wg.edge[k].tolist()


SEARCH_COST = 2000  # a scipy search costs about as much as settling this many nodes (its arrays are per node)
CELL_DEG = 0.5  # cells of the node-density grid that chooses the search plan


@functools.cache
def _density(mode: str, closed: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
    """Centres (ECEF km) and node counts of the CELL_DEG cells holding nodes of the mode's graph."""
    xy = load().node_xy[mode_graph(mode, closed).nodes]
    ix, iy = (np.floor(xy / CELL_DEG).astype(np.int64) + 1000).T  # 0.5-degree cells, non-negative indices
    cells, counts = np.unique(ix * 10_000 + iy, return_counts=True)  # one key per cell: a fast 1-D unique
    lon, lat = ((cells // 10_000 - 1000) + 0.5) * CELL_DEG, ((cells % 10_000 - 1000) + 0.5) * CELL_DEG
    return _ecef(lon, lat), counts


def _one_sided(wg: WeightedGraph, src: int, dst: int, guess: float, limit: float,
               backward: bool) -> list[int] | None:
    """The path's nodes by one Dijkstra from src (or back from dst) within a radius that grows from ``guess``."""
    from scipy.sparse.csgraph import dijkstra

    m, a, b = (wg.rev, dst, src) if backward else (wg.fwd, src, dst)
    r = min(guess, limit)
    while True:
        d, pred = dijkstra(m, directed=True, indices=a, return_predecessors=True, limit=r)
        if np.isfinite(d[b]):
            break
        if r >= limit or _closed_ball(m, d):
            return None
        r = min(GROW * r, limit)
    chain = [b]
    while chain[-1] != a:
        chain.append(int(pred[chain[-1]]))
    return chain if backward else chain[::-1]


def _bidirectional(wg: WeightedGraph, src: int, dst: int, r0: float, limit: float) -> list[int] | None:
    """The path's nodes by a bidirectional Dijkstra: a ball of radius r_s around src (forward) and one of r_t
    around dst (backward); the best path through an edge joining them is the shortest path once its weight is
    below r_s + r_t (every lighter path has an edge from the first ball into the second). Both radii start at
    r0; while the balls prove nothing, the ball holding fewer nodes grows, just enough to prove the best joining
    path found so far (or by ``GROW`` when the balls do not touch)."""
    from scipy.sparse.csgraph import dijkstra

    r = [min(r0, limit / 2)] * 2  # the radii of the forward and the backward ball
    mats, ends = (wg.fwd, wg.rev), (src, dst)

    def ball(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d, pred = dijkstra(mats[k], directed=True, indices=ends[k], return_predecessors=True, limit=r[k])
        return d, pred, np.flatnonzero(np.isfinite(d))  # distances, predecessors, the nodes reached

    side = [ball(0), ball(1)]
    while True:
        (ds, ps, xs), (dt, pt, xt) = side
        if len(xs) <= len(xt):
            mu, x, y = _meet(wg.fwd, ds, dt, xs)
        else:
            mu, y, x = _meet(wg.rev, dt, ds, xt)
        if mu < r[0] + r[1]:
            break  # proved: every lighter path would have an edge from one ball into the other
        if r[0] + r[1] >= limit:
            return None
        if not np.isfinite(mu) and (_closed_ball(wg.fwd, ds, xs) or _closed_ball(wg.rev, dt, xt)):
            return None  # one side is explored in full (no edge leaves its ball) and does not reach the other
        k = int(len(xt) < len(xs))  # grow the ball that holds fewer nodes (the cheaper one to grow)
        grown = (mu - r[1 - k]) * (1 + 1e-9) + 1e-9 if np.isfinite(mu) else GROW * r[k]
        r[k] = min(grown, limit - r[1 - k])
        side[k] = ball(k)
    if mu > limit:
        return None
    path = [x]
    while path[-1] != src:
        path.append(int(ps[path[-1]]))
    path = path[::-1] + [y]
    while path[-1] != dst:
        path.append(int(pt[path[-1]]))
    return path


def _meet(m: Any, ds: np.ndarray, dt: np.ndarray, xs: np.ndarray) -> tuple[float, int, int]:
    """The least ds[x] + w + dt[y] over the entries x -> y of m (x in xs, the nodes reached forward; y reached
    backward), with x and y."""
    idx = _entries(m, xs)
    n = m.indptr[xs + 1] - m.indptr[xs]
    cost = np.repeat(ds[xs], n) + m.data[idx] + dt[m.indices[idx]]
    j = int(np.argmin(cost)) if len(cost) else -1
    if j < 0 or not np.isfinite(cost[j]):
        return np.inf, -1, -1
    return float(cost[j]), int(xs[np.searchsorted(np.cumsum(n), j, side="right")]), int(m.indices[idx[j]])


def _closed_ball(m: Any, d: np.ndarray, xs: np.ndarray | None = None) -> bool:
    """True when every entry of m out of a reached node (finite d; xs if given) leads to a reached node."""
    xs = np.flatnonzero(np.isfinite(d)) if xs is None else xs
    idx = _entries(m, xs)
    return bool(np.isfinite(d[m.indices[idx]]).all())


def _entries(m: Any, xs: np.ndarray) -> np.ndarray:
    """Positions of the CSR entries of the rows xs of m, row after row."""
    start, n = m.indptr[xs], m.indptr[xs + 1] - m.indptr[xs]
    return np.repeat(start - np.concatenate([[0], np.cumsum(n)[:-1]]), n) + np.arange(int(n.sum()))


@functools.cache
def _ecef_nodes() -> np.ndarray:
    xy = load().node_xy
    return _ecef(xy[:, 0], xy[:, 1])


def path_coords(nodes: list[int], edges: list[int]) -> np.ndarray:
    """The lon/lat vertices along a path (each edge oriented in the direction of travel)."""
    n = load()
    if not edges:
        return n.node_xy[nodes[:1]]
    e = np.asarray(edges, dtype=np.int64)
    lo, hi = n.geom_offsets[e], n.geom_offsets[e + 1]
    fwd = n.u[e] == np.asarray(nodes[:-1])
    cnt = hi - lo - 1  # each edge's vertices after its first (in the direction of travel)
    first = np.where(fwd, lo + 1, hi - 2)  # the vertex after the start, walking forward or backward
    step = np.where(fwd, 1, -1)
    pos = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    idx = np.repeat(first, cnt) + np.repeat(step, cnt) * pos
    return np.concatenate([n.node_xy[nodes[:1]], _coords()[idx]])
