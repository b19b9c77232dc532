"""The regional road + rail network (geodata/network.npz): lazy loading, snapping and shortest paths.

The network is derived from OpenStreetMap (© OpenStreetMap contributors, ODbL 1.0), the OpenMapTiles fallback
(© OpenMapTiles) and Natural Earth railroads by ``scripts/build_network.py``. It is one deterministic zip of numpy
arrays: nodes (lon/lat quantised to 1e-5 degree), undirected edges (u, v, geodesic ``km`` of the full-resolution
source line, mode, class, ref, name, country, source, date, bcp) and every edge's geometry (delta-coded).

Nothing is read at import; ``load()`` reads the file once (well under a second). What is derived from it (the
arrays uncompressed, and per mode the CSR graph, its components, the density grid, the node grid of
``near_nodes`` and the "distance" weighted graph) is kept in the per-user cache (``data.cached_arrays``, keyed by
the SHA-256 of the network file and of bcp_status.csv) and memory-mapped from there, so a new process starts
routing in milliseconds without importing scipy. Borders: an edge joining two
countries exists only at a BCP and carries ``bcp_id`` and ``bcp_countries``; a BCP listed as closed in
``geodata/network/bcp_status.csv`` is never used. Shortest paths are point-to-point searches with scipy's
compiled Dijkstra (or a pure-Python one until scipy's import pays, ``_dijkstra``) stopped at a radius
(one-sided or bidirectional, ``shortest_path``) on a CSR matrix per mode and
weight (``weighted_graph``, cached for "distance"); ``weight`` may be "distance" or a networkx-style callable
``(u, v, edge_data) -> float`` (None or inf: unusable). For the "distance" weight a path comes from the mode's
shipped contraction hierarchy instead (``hierarchy``, geodata/hierarchy.npz) when it matches the data.
"""

from __future__ import annotations

import csv
import functools
import heapq
import io
import json
import math
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
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
    from .network import write_atomic

    write_atomic(path, npz_bytes(arrays))


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """``arrays`` as an .npz (a zip of .npy files, as ``np.load`` reads it) that depends on the arrays only: sorted
    names, fixed timestamps and permissions, so the same inputs give the same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name in sorted(arrays):
            raw = io.BytesIO()
            np.lib.format.write_array(raw, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, raw.getvalue(), compresslevel=9)
    return buf.getvalue()


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
    coords_q: np.ndarray  # every edge's vertices (quantised lon/lat, the cumulative sum of geom_delta)

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.u)

    def edge_coords(self, e: int) -> np.ndarray:
        """Lon/lat vertices of edge e, from u to v."""
        return self.coords_q[self.geom_offsets[e]:self.geom_offsets[e + 1]] / QUANT

    def edge_data(self, e: int) -> dict[str, Any]:
        """networkx-style attributes of edge e: km, mode, class, ref, name, country (ISO3 or 'sea'; for a BCP
        edge the country of its u end), bcp_id and bcp_countries (None off a border), source, date, inferred."""
        return _edge_dicts()[e]


def geodata_path() -> Path:
    return data.geodata_dir() / FILE


CACHE_VERSION = 3  # a new number for any change of what the per-user cache holds for the network


@functools.cache
def network_key() -> str:
    """The cache key of everything derived from the network file: its SHA-256, the layout version, and what else
    the derived structures depend on (the closed BCPs, the class factors)."""
    status = data.geodata_dir() / "network" / STATUS_FILE
    parts = [f"network v{CACHE_VERSION}", data.file_sha256(geodata_path()),
             data.file_sha256(status) if status.is_file() else "-", repr(sorted(CLASS_FACTOR.items())),
             f"{CELL_DEG} {GRID_DEG}"]
    return " ".join(parts)


def _read_npz(path: Path) -> tuple[dict[str, np.ndarray], Any]:
    """The network file's arrays (lon/lat as float degrees, the geometry's vertices as quantised cumulative
    sums) and its tables and metadata."""
    with np.load(path, allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    t = json.loads(a.pop("tables").tobytes().decode())
    a["node_xy"] = a["node_xy"] / QUANT
    a["coords_q"] = np.cumsum(a["geom_delta"].astype(np.int64), axis=0).astype(np.int32)
    return a, t


@functools.cache
def load() -> Network:
    """The shipped network, read once (lazily); kept uncompressed in the per-user cache (``data.cached_arrays``)
    and memory-mapped from there, so a new process reads only the pages it uses."""
    path = geodata_path()
    if not path.is_file():
        raise NetworkDataError(f"the network file {path} is missing; rebuild it with "
                               "'python scripts/build_network.py' (see geodata/README.md)")
    a, t = data.cached_arrays("network", network_key(), lambda: _read_npz(path))
    return Network(node_xy=a["node_xy"], node_layer=a["node_layer"], u=a["edge_u"], v=a["edge_v"],
                   km=a["edge_km"], mode=a["edge_mode"], cls=a["edge_cls"], ref=a["edge_ref"], name=a["edge_name"],
                   country=a["edge_country"], bcp=a["edge_bcp"], source=a["edge_source"],
                   inferred=a["edge_inferred"].view(bool), geom_offsets=a["geom_offsets"],
                   geom_delta=a["geom_delta"], tables=t["tables"], meta=t["meta"], coords_q=a["coords_q"])


@functools.cache
def _coords() -> np.ndarray:
    return load().coords_q / QUANT


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
    """Directed CSR arrays for one mode (both directions of every usable edge, parallel edges included), its nodes
    and components."""

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
def _mode_arrays(mode: str, closed: frozenset[str]) -> tuple[dict[str, np.ndarray], Any]:
    """Everything precomputed for a mode (its CSR graph and components, the density grid, the node grid of
    ``near_nodes``, the "distance" weighted graph): built once and kept in the per-user cache for the default
    closed BCPs (``data.cached_arrays``), built in the process for any other closed set."""
    if mode not in GRAPH_MODES:
        raise ValueError(f"mode must be one of {', '.join(GRAPH_MODES)}, not {mode!r}")
    if closed != _closed_default():
        return _build_mode_arrays(mode, closed)
    return data.cached_arrays(f"graph-{mode}", network_key(), lambda: _build_mode_arrays(mode, closed))


def _build_mode_arrays(mode: str, closed: frozenset[str]) -> tuple[dict[str, np.ndarray], Any]:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n = load()
    e = _usable(mode, closed)
    rows = np.concatenate([n.u[e], n.v[e]])
    cols = np.concatenate([n.v[e], n.u[e]])
    eid = np.concatenate([e, e])
    # every usable edge, parallel ones too (each weight picks its lightest in _weighted_arrays), in order of (row,
    # col), then km, then edge id
    order = np.lexsort((eid, n.km[eid], cols, rows))
    rows, cols, eid = rows[order], cols[order], eid[order]
    indptr = np.zeros(n.n_nodes + 1, dtype=np.int64)
    np.add.at(indptr, rows + 1, 1)
    indptr = np.cumsum(indptr)
    m = csr_matrix((np.ones(len(rows)), cols, indptr), shape=(n.n_nodes, n.n_nodes))
    labels = connected_components(m, directed=False)[1]
    nodes = np.unique(rows)
    comp = np.full(n.n_nodes, -1, dtype=np.int64)
    comp[nodes] = labels[nodes]
    size = np.bincount(labels[nodes], minlength=labels.max() + 1)
    g = ModeGraph(indptr=indptr, indices=cols.astype(np.int32), edge=eid, nodes=nodes, comp=comp, comp_size=size)
    xy = n.node_xy[nodes]
    cells, counts = _density_cells(xy)
    key = _grid_key(xy[:, 0], xy[:, 1])
    pos = np.argsort(key, kind="stable")
    xyz = _ecef(xy[:, 0], xy[:, 1])[pos]
    fwd, rev, w_edge, w_key, per_km = _weighted_arrays(g, np.maximum(_distance_weight()[g.edge], 1e-9))
    arrays = {"indptr": indptr, "indices": g.indices, "edge": eid, "nodes": nodes, "comp": comp, "comp_size": size,
              "density_centres": cells, "density_counts": counts, "grid_key": key[pos], "grid_pos": pos,
              "grid_xyz": xyz,
              "fwd_indptr": fwd.indptr, "fwd_indices": fwd.indices, "fwd_data": fwd.data, "rev_indptr": rev.indptr,
              "rev_indices": rev.indices, "rev_data": rev.data, "w_edge": w_edge, "w_key": w_key}
    return arrays, {"per_km": per_km}


@functools.cache
def _mode_graph(mode: str, closed: frozenset[str]) -> ModeGraph:
    a, _ = _mode_arrays(mode, closed)
    return ModeGraph(indptr=a["indptr"], indices=a["indices"], edge=a["edge"], nodes=a["nodes"], comp=a["comp"],
                     comp_size=a["comp_size"])


def _ecef(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack([EARTH_KM * np.cos(la) * np.cos(lo), EARTH_KM * np.cos(la) * np.sin(lo),
                            EARTH_KM * np.sin(la)])


GRID_DEG = 0.1  # cells of the node grid that ``near_nodes`` searches
NEAR_START_KM = 5.0  # ``near_nodes`` looks this far first, then 4x as far ... up to max_km, until it has k nodes
_GRID_NX = round(360 / GRID_DEG) + 2


def _grid_key(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The grid cell of each lon/lat: row (latitude) major, so the cells of one row form one range of keys."""
    iy = np.floor((np.asarray(lat) + 90.0) / GRID_DEG).astype(np.int64)
    ix = np.floor((np.asarray(lon) + 180.0) / GRID_DEG).astype(np.int64)
    return iy * _GRID_NX + ix


def _grid_candidates(mode: str, closed: frozenset[str], lon: float, lat: float, max_km: float) -> np.ndarray:
    """Places in the grid's order (``grid_pos``: their positions in ``mode_graph(...).nodes``) of the nodes in the
    grid cells of the lon/lat box that holds
    every point within chord distance ``max_km`` of (lon, lat) on the sphere (all nodes where the box would
    reach a pole or the antimeridian)."""
    a, _ = _mode_arrays(mode, closed)
    key = a["grid_key"]
    theta = 2.0 * math.asin(min(1.0, max_km / (2.0 * EARTH_KM)))  # the chord's angle at the centre
    dlat = math.degrees(theta) + 1e-6
    lat0, lat1 = lat - dlat, lat + dlat
    coslat = math.cos(math.radians(max(abs(lat0), abs(lat1))))
    if lat0 <= -89.0 or lat1 >= 89.0 or math.sin(theta) >= coslat:
        return np.arange(len(key))
    dlon = math.degrees(math.asin(math.sin(theta) / coslat)) + 1e-6
    if lon - dlon <= -180.0 or lon + dlon >= 180.0:
        return np.arange(len(key))
    y0, y1 = (math.floor((v + 90.0) / GRID_DEG) for v in (lat0, lat1))
    x0, x1 = (math.floor((v + 180.0) / GRID_DEG) for v in (lon - dlon, lon + dlon))
    rows = np.arange(y0, y1 + 1, dtype=np.int64) * _GRID_NX
    lo, hi = np.searchsorted(key, rows + x0), np.searchsorted(key, rows + x1, side="right")
    n = hi - lo
    return np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))  # the ranges lo..hi, one after another


def near_nodes(lon: float, lat: float, mode: str, k: int = 16, max_km: float = 50.0,
               closed: frozenset[str] | None = None) -> list[tuple[int, float]]:
    """Up to k (node id, chord distance km) of the mode's graph nearest to (lon, lat), nearest first (closer
    than ``max_km``). Equal distances (a road and a rail node at one point): the mode's own layer first (rail
    for "rail", road otherwise), then by node id. The nodes are looked up in a grid of GRID_DEG cells sorted by
    cell (kept in the per-user cache): only the cells that can hold a node within a radius are measured, the
    radius growing from NEAR_START_KM to ``max_km`` until it holds k nodes."""
    closed = _closed_default() if closed is None else frozenset(closed)
    g = mode_graph(mode, closed)
    a, _ = _mode_arrays(mode, closed)
    q = _ecef(np.array([lon], dtype=float), np.array([lat], dtype=float))[0]
    r = min(float(max_km), NEAR_START_KM)
    while True:  # every node closer than r is among the candidates: k of them closer than r are the k nearest
        gi = _grid_candidates(mode, closed, float(lon), float(lat), r)
        t = (a["grid_xyz"][gi] - q).T
        d = np.sqrt((t[0] * t[0] + t[1] * t[1]) + t[2] * t[2])  # bit for bit ((x - q) ** 2).sum(axis=1)
        ok = np.flatnonzero(d < r)
        if len(ok) >= k or r >= max_km:
            break
        r = min(float(max_km), r * 4.0)
    cand = a["grid_pos"][gi]
    if len(ok) > k:  # only the k nearest and any tied with the k-th need sorting
        ok = ok[d[ok] <= np.partition(d[ok], k - 1)[k - 1]]
    other = load().node_layer[g.nodes[cand[ok]]] != (1 if mode == "rail" else 0)
    best = ok[np.lexsort((cand[ok], other, d[ok]))][:k]
    return list(zip(g.nodes[cand[best]].tolist(), d[best].tolist()))


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
    a, names = _node_arrays()
    return np.array([None, *names], dtype=object)[a["country"].astype(np.int64) + 1]


def country_of(nodes: list[int]) -> list[str | None]:
    """``node_country()`` of a few nodes, without building the whole array."""
    a, names = _node_arrays()
    return [names[c] if c >= 0 else None for c in a["country"][nodes].tolist()]


@functools.cache
def _node_arrays() -> tuple[dict[str, np.ndarray], list[str]]:
    """Per node: its country (index into the list of ISO3 codes, -1: none) and whether it is real (see
    ``real_nodes``); kept in the per-user cache."""
    return data.cached_arrays("network-nodes", network_key(), _build_node_arrays)


def _build_node_arrays() -> tuple[dict[str, np.ndarray], list[str]]:
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
    codes = sorted({c for c in out.tolist() if c is not None})
    pos = {c: i for i, c in enumerate(codes)}
    country = np.array([pos[c] if c is not None else -1 for c in out.tolist()], dtype=np.int16)
    cls = n.tables["cls"]
    sch = cls.index("schematic") if "schematic" in cls else -2
    links = [i for i, x in enumerate(n.tables["source"]) if x.startswith("inferred:schematic-link")]
    ok = (n.cls != sch) & ~np.isin(n.source, links)
    real = np.zeros(n.n_nodes, np.uint8)
    real[n.u[ok]] = 1
    real[n.v[ok]] = 1
    return {"country": country, "real": real}, codes


@functools.cache
def border_nodes() -> frozenset[int]:
    """The end nodes of BCP crossing edges (they sit on the border line)."""
    n = load()
    e = np.flatnonzero(n.bcp >= 0)
    return frozenset(np.concatenate([n.u[e], n.v[e]]).tolist())


@functools.cache
def real_nodes() -> np.ndarray:
    """Boolean per node: True where an edge other than a schematic one (or its link) meets it."""
    return _node_arrays()[0]["real"].view(bool)


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


@dataclass(eq=False)
class Csr:
    """A square sparse matrix in CSR form as plain numpy arrays (row pointers, column of each entry, weight of
    each entry); ``matrix()`` is the same matrix for scipy, built on first use (scipy is imported only then)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    _scipy: Any = field(default=None, repr=False)

    def matrix(self) -> Any:
        if self._scipy is None:
            from scipy.sparse import csr_matrix

            n = len(self.indptr) - 1
            self._scipy = csr_matrix((self.data, self.indices, self.indptr), shape=(n, n))
        return self._scipy


@dataclass
class WeightedGraph:
    """A mode's graph under one weight, ready for searches: the usable directed entries (``fwd``, a ``Csr``),
    its transpose (``rev``, for the search back from the target), the edge id of each ``fwd`` entry, their sorted
    keys ``u * n_nodes + v`` (a path's (u, v) pairs -> edge ids in one ``searchsorted``), and the median weight
    per km (to size the first search radius in the weight's own unit)."""

    mode: str
    closed: frozenset[str]
    fwd: Csr | Any  # a Csr, or a scipy CSR matrix
    rev: Csr | Any
    edge: np.ndarray
    key: np.ndarray
    per_km: float


def weighted_graph(mode: str, weight: Weight = "distance", closed: frozenset[str] | None = None) -> WeightedGraph:
    """The ``WeightedGraph`` of a mode under ``weight`` ("distance": built once per mode and closed set and
    cached, also in the per-user cache; a callable: built on every call, so keep and reuse the result for
    repeated searches)."""
    closed = _closed_default() if closed is None else frozenset(closed)
    if isinstance(weight, str) and weight == "distance":
        return _distance_graph(mode, closed)
    return _build_weighted(mode, closed, edge_weights(mode, weight, closed))


@functools.cache
def _distance_graph(mode: str, closed: frozenset[str]) -> WeightedGraph:
    a, meta = _mode_arrays(mode, closed)
    return WeightedGraph(mode=mode, closed=closed, fwd=Csr(a["fwd_indptr"], a["fwd_indices"], a["fwd_data"]),
                         rev=Csr(a["rev_indptr"], a["rev_indices"], a["rev_data"]), edge=a["w_edge"],
                         key=a["w_key"], per_km=float(meta["per_km"]))


def _build_weighted(mode: str, closed: frozenset[str], w: np.ndarray) -> WeightedGraph:
    fwd, rev, eid, key, per_km = _weighted_arrays(mode_graph(mode, closed), w)
    return WeightedGraph(mode=mode, closed=closed, fwd=fwd, rev=rev, edge=eid, key=key, per_km=per_km)


def _weighted_arrays(g: ModeGraph, w: np.ndarray) -> tuple[Csr, Csr, np.ndarray, np.ndarray, float]:
    """fwd, rev, edge ids, keys and weight per km of ``WeightedGraph`` for the entry weights w of g: of parallel
    edges (two roads between the same two nodes) the lightest under w (ties: the shorter, then the lower id)."""
    nn = len(g.indptr) - 1
    rows = np.repeat(np.arange(nn, dtype=np.int64), np.diff(g.indptr))
    cols = g.indices.astype(np.int64)
    by = np.lexsort((w, cols, rows))  # stable: equal weights keep g's order (km, then edge id)
    first = np.ones(len(by), dtype=bool)
    first[1:] = (rows[by][1:] != rows[by][:-1]) | (cols[by][1:] != cols[by][:-1])
    keep = by[first & np.isfinite(w[by])]  # the lightest entry of each (row, col), in g's order
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=nn))]).astype(np.int32)
    fwd = Csr(indptr, g.indices[keep].astype(np.int32), np.asarray(w[keep], dtype=np.float64))
    eid = g.edge[keep]
    km = load().km[eid]
    per_km = float(np.median(w[keep][km > 0] / km[km > 0])) if np.any(km > 0) else 1.0
    return fwd, _transpose(fwd), eid, rows[keep] * nn + g.indices[keep].astype(np.int64), per_km


def _transpose(m: Csr) -> Csr:
    """The transpose, entries of each row in the order of their column in m (as scipy's ``.T.tocsr()``)."""
    n = len(m.indptr) - 1
    order = np.argsort(m.indices, kind="stable")
    rows = np.repeat(np.arange(n, dtype=np.int32), np.diff(m.indptr))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(m.indices, minlength=n))]).astype(np.int32)
    return Csr(indptr, rows[order], m.data[order])


PY_SEARCH_BUDGET = 60_000  # nodes a process settles in pure Python before it imports scipy's Dijkstra
_py_settled = [0]  # nodes settled in pure Python so far in this process


def _dijkstra(m: Csr | Any, source: int, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """(distances, predecessors) from source over m (a ``Csr`` or a scipy CSR matrix), as scipy's
    ``dijkstra(..., limit=limit, return_predecessors=True)``: inf and -9999 beyond ``limit``.

    Importing scipy's csgraph costs about 0.25 s of CPU, as much as settling some PY_SEARCH_BUDGET nodes in a
    pure-Python Dijkstra; so a process that has not imported it searches in pure Python until it has settled
    that many nodes (a command-line route settles a few thousand), then imports it (the cost of the wrong
    choice is at most twice the best one). Both give the same distances and paths (the same sums, in the same
    order; only exact ties could be broken differently)."""
    if "scipy.sparse.csgraph" not in sys.modules and _py_settled[0] < PY_SEARCH_BUDGET:
        out = _py_dijkstra(m, source, limit, PY_SEARCH_BUDGET - _py_settled[0])
        if out is not None:
            return out
    from scipy.sparse.csgraph import dijkstra

    d, pred = dijkstra(m.matrix() if isinstance(m, Csr) else m, directed=True, indices=source,
                       return_predecessors=True, limit=limit)
    return d, pred


def _py_dijkstra(m: Csr | Any, source: int, limit: float, budget: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``_dijkstra`` in pure Python (heapq); None once more than ``budget`` nodes are settled."""
    # memoryviews: an element or a slice's list without numpy's per-call cost
    indptr, indices, data = (memoryview(np.ascontiguousarray(x)) for x in (m.indptr, m.indices, m.data))
    dist: dict[int, float] = {source: 0.0}
    pred: dict[int, int] = {}
    done: set[int] = set()
    heap = [(0.0, source)]
    pop, push, inf = heapq.heappop, heapq.heappush, math.inf
    while heap:
        d, u = pop(heap)
        if u in done:
            continue
        done.add(u)
        lo, hi = indptr[u], indptr[u + 1]
        for v, w in zip(indices[lo:hi].tolist(), data[lo:hi].tolist()):
            if v in done:
                continue
            nd = d + w
            if nd <= limit and nd < dist.get(v, inf):
                dist[v] = nd
                pred[v] = u
                push(heap, (nd, v))
        if len(done) > budget:
            _py_settled[0] += len(done)
            return None
    _py_settled[0] += len(done)
    n = len(indptr) - 1
    dd, pp = np.full(n, np.inf), np.full(n, -9999, dtype=np.int32)
    dd[np.fromiter(dist, np.int64, len(dist))] = np.fromiter(dist.values(), np.float64, len(dist))
    pp[np.fromiter(pred, np.int64, len(pred))] = np.fromiter(pred.values(), np.int64, len(pred))
    return dd, pp


DETOUR_GUESS = 1.45  # the first search radius: this times the chord (a path is mostly 1.1-1.5x the chord)
GROW = 1.5  # a search radius that proves nothing grows by this factor


def shortest_path(src: int, dst: int, mode: str, weight: Weight | WeightedGraph = "distance",
                  closed: frozenset[str] | None = None, limit: float = np.inf,
                  use_hierarchy: bool = True) -> tuple[list[int], list[int]] | None:
    """(node ids, edge ids) of the least-weight path from src to dst in the mode's graph, or None if none.
    ``weight``: "distance", a callable (see the module docstring) or a prebuilt ``weighted_graph`` (fast for a
    callable searched many times). ``limit``: search no further than this total weight (a path that would be
    longer counts as none).

    For the "distance" weight and the default closed BCPs (the string, or ``weighted_graph(mode)`` itself) the
    path comes from the mode's contraction hierarchy (``hierarchy``: a fraction of a millisecond, pure Python)
    when the shipped one matches the data; ``use_hierarchy=False`` (or any other weight) runs the search below.
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
    distance = (isinstance(weight, str) and weight == "distance") or \
        (isinstance(weight, WeightedGraph) and weight is _distance_graph(mode, _closed_default()))
    if use_hierarchy and distance and wg.closed == _closed_default():
        from . import hierarchy

        h = hierarchy.load(mode)
        if h is not None:  # the shipped hierarchy matches this graph: the path's entries of wg come from it
            k = hierarchy.entries(h, src, dst, limit)
            return None if k is None else ([src, *wg.fwd.indices[k].tolist()], wg.edge[k].tolist())
    path = _search_path(src, dst, mode, wg, limit)
    if path is None:
        return None
    p = np.asarray(path, dtype=np.int64)
    k = np.searchsorted(wg.key, p[:-1] * load().n_nodes + p[1:])
    return path, wg.edge[k].tolist()


def _search_path(src: int, dst: int, mode: str, wg: WeightedGraph, limit: float) -> list[int] | None:
    """The path's nodes by the radius-limited Dijkstra plans of ``shortest_path``."""
    ends = load().node_xy[[src, dst]]
    xyz = _ecef(ends[:, 0], ends[:, 1])  # the same values as _ecef_nodes()[[src, dst]]
    reach = DETOUR_GUESS * float(np.linalg.norm(xyz[0] - xyz[1]))  # km
    centres, counts = _density(mode, wg.closed)
    to_s, to_t = (np.linalg.norm(centres - xyz[i], axis=1) for i in (0, 1))
    cost = {"src": counts[to_s <= reach].sum() + SEARCH_COST, "dst": counts[to_t <= reach].sum() + SEARCH_COST,
            "both": counts[to_s <= reach / 2].sum() + counts[to_t <= reach / 2].sum() + 2 * SEARCH_COST}
    plan = min(cost, key=lambda k: cost[k])
    guess = max(reach * wg.per_km, 1e-6)
    return _bidirectional(wg, src, dst, guess / 2, limit) if plan == "both" else \
        _one_sided(wg, src, dst, guess, limit, backward=plan == "dst")


SEARCH_COST = 2000  # a scipy search costs about as much as settling this many nodes (its arrays are per node)
CELL_DEG = 0.5  # cells of the node-density grid that chooses the search plan


def _density(mode: str, closed: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
    """Centres (ECEF km) and node counts of the CELL_DEG cells holding nodes of the mode's graph."""
    a, _ = _mode_arrays(mode, closed)
    return a["density_centres"], a["density_counts"]


def _density_cells(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ix, iy = (np.floor(xy / CELL_DEG).astype(np.int64) + 1000).T  # 0.5-degree cells, non-negative indices
    cells, counts = np.unique(ix * 10_000 + iy, return_counts=True)  # one key per cell: a fast 1-D unique
    lon, lat = ((cells // 10_000 - 1000) + 0.5) * CELL_DEG, ((cells % 10_000 - 1000) + 0.5) * CELL_DEG
    return _ecef(lon, lat), counts


def _one_sided(wg: WeightedGraph, src: int, dst: int, guess: float, limit: float,
               backward: bool) -> list[int] | None:
    """The path's nodes by one Dijkstra from src (or back from dst) within a radius that grows from ``guess``."""
    m, a, b = (wg.rev, dst, src) if backward else (wg.fwd, src, dst)
    r = min(guess, limit)
    while True:
        d, pred = _dijkstra(m, a, r)
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
    r = [min(r0, limit / 2)] * 2  # the radii of the forward and the backward ball
    mats, ends = (wg.fwd, wg.rev), (src, dst)

    def ball(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d, pred = _dijkstra(mats[k], ends[k], r[k])
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
    idx, _, _ = path_vertices(nodes, edges)
    return np.concatenate([n.node_xy[nodes[:1]], n.coords_q[idx] / QUANT])


def path_vertices(nodes: list[int], edges: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the vertices of a path after its first lie in ``Network.coords_q`` (``idx``), the step along its
    edge's geometry (+1 forward, -1 backward) that reaches each one, and the place in ``idx`` of each edge's first
    one (so ``idx[start] - step[start]`` is the vertex each edge starts from, in the direction of travel)."""
    n = load()
    e = np.asarray(edges, dtype=np.int64)
    lo, hi = n.geom_offsets[e], n.geom_offsets[e + 1]
    fwd = n.u[e] == np.asarray(nodes[:-1], dtype=np.int64)
    cnt = hi - lo - 1  # each edge's vertices after its first (in the direction of travel)
    first = np.where(fwd, lo + 1, hi - 2)  # the vertex after the start, walking forward or backward
    step = np.where(fwd, 1, -1)
    start = np.cumsum(cnt) - cnt
    steps = np.repeat(step, cnt)
    idx = np.repeat(first - step * start, cnt) + steps * np.arange(len(steps))
    return idx, steps, start
