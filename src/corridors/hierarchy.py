"""Contraction hierarchies: sub-millisecond shortest paths on the regional network for the "distance" weight.

A contraction hierarchy (CH) orders a graph's nodes and "contracts" them one by one, least important first:
removing a node x adds a shortcut u - v (weight w(u, x) + w(x, v), middle node x) between two of its remaining
neighbours whenever no other path of at most that weight joins them (a bounded "witness" Dijkstra). Every
shortest path then climbs to its most important node and back down, so a query is two small Dijkstra searches
that only go up (from the source, and from the target), meeting at the top; a shortcut unpacks into its two
halves, down to the network's own entries.

What is shipped: ``geodata/hierarchy.npz``, made by ``scripts/build_hierarchy.py`` from ``geodata/network.npz``
and ``geodata/network/bcp_status.csv``, one CH per mode ('road', 'rail', 'any') of ``graph.weighted_graph(mode)``
(the "distance" weight: km x class factor, the default closed BCPs). Building takes 40-45 s of pure Python for
road and for any (2 s for rail), too long for a first use, so it is shipped and checked instead: the file
records, per mode, the SHA-256 of the weighted graph it was built on (``fingerprint``: its CSR row pointers,
columns and weights), and holds only the CH's structure (each node's upward entries and each shortcut's middle
node; 4.65 MB). On first use (``load``, about 0.3 s per mode) the fingerprint is compared with the current graph,
the weights are taken from the graph's own entries (a shortcut's is the sum of its halves', as the build added
them), every upward entry is unpacked once into the graph's entries it stands for, and all of it is kept in
the per-user cache (about 26 MB for road, 30 MB for any, 5.5 MB for rail). A file built for other data is never
used: ``load`` returns None and ``graph.shortest_path`` runs its Dijkstra search (the same answers, slower).

The graph is undirected (both directions of every entry, equal weights; ``build`` checks), so one upward graph
serves both searches. The query (``search``; ``entries`` and ``path`` add the unpacked path) is pure Python
(heapq, no scipy import) with stall-on-demand: 40-220 nodes settled on the road network, 0.1-0.6 ms. Its answers
are the shortest paths of the weighted graph; where two paths weigh the same (to the last bits of their sums) it
may pick the other one. tests/test_hierarchy.py checks it against scipy's Dijkstra on random pairs of every mode.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import json
import math
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import data, graph

FILE = "hierarchy.npz"
VERSION = 1  # a new number for any change of the file's layout or of what the build does
CACHE_LAYOUT = 4  # a new number for any change of what ``load`` keeps in the per-user cache
MODES = ("road", "rail", "any")
WITNESS_SETTLE = 200  # a witness search settles at most this many nodes (a missed witness only adds a shortcut)


# ---------------------------------------------------------------- build (scripts/build_hierarchy.py)

def fingerprint(wg: graph.WeightedGraph) -> str:
    """SHA-256 of a weighted graph's forward CSR (row pointers, columns, weights): what a CH is valid for."""
    h = hashlib.sha256()
    for a, dt in ((wg.fwd.indptr, "<i8"), (wg.fwd.indices, "<i8"), (wg.fwd.data, "<f8")):
        h.update(np.ascontiguousarray(a, dtype=dt).tobytes())
    return h.hexdigest()


def _witness(adj: list[Any], src: int, skip: int, bound: float) -> dict[int, float]:
    """Distances from src in the remaining graph without node skip, up to bound (at most WITNESS_SETTLE
    nodes settled)."""
    dist = {src: 0.0}
    heap = [(0.0, src)]
    done: set[int] = set()
    pop, push = heapq.heappop, heapq.heappush
    while heap and len(done) < WITNESS_SETTLE:
        d, u = pop(heap)
        if u in done:
            continue
        done.add(u)
        for v, w in adj[u].items():
            nd = d + w
            if v != skip and nd <= bound and nd < dist.get(v, math.inf):
                dist[v] = nd
                push(heap, (nd, v))
    return dist


def _shortcuts(adj: list[Any], x: int) -> list[tuple[int, int, float]]:
    """The shortcuts (u, v, weight) that contracting x needs now: pairs of its neighbours with no witness."""
    items = sorted(adj[x].items())
    out: list[tuple[int, int, float]] = []
    for i, (u, wu) in enumerate(items[:-1]):
        rest = items[i + 1:]
        dist = _witness(adj, u, x, wu + max(w for _, w in rest))
        out.extend((u, v, wu + wv) for v, wv in rest if dist.get(v, math.inf) > wu + wv)
    return out


def build(wg: graph.WeightedGraph, nodes: Iterable[int]) -> dict[str, np.ndarray]:
    """The CH of the undirected graph wg over ``nodes`` (the mode's nodes): per node (row) its upward entries,
    sorted by column: ``count`` per row, ``cols`` and ``mid`` (the middle node of a shortcut, -1 for an entry
    of the graph). The order: least priority first, priority = 3 x shortcuts added - 2 x edges removed +
    neighbours already contracted + 2 x level (1 + the highest level of a contracted neighbour): few shortcuts,
    contractions spread evenly, a shallow hierarchy (these weights settled the fewest nodes of those we tried).
    Priorities are updated lazily (a node whose priority grew goes back into the queue); ties by node id, so
    the result is deterministic."""
    f = wg.fwd
    n = len(f.indptr) - 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(f.indptr))
    key = rows * n + f.indices
    back = np.searchsorted(key, f.indices.astype(np.int64) * n + rows)
    if not (np.array_equal(key[np.minimum(back, len(key) - 1)], f.indices * np.int64(n) + rows)
            and np.array_equal(f.data[back], f.data)):
        raise ValueError("the graph is not symmetric (an entry without its reverse of equal weight)")
    ip, ix, dt = f.indptr.tolist(), f.indices.tolist(), f.data.tolist()
    adj: list[Any] = [None] * n
    for u in nodes:
        adj[u] = {ix[k]: dt[k] for k in range(ip[u], ip[u + 1]) if ix[k] != u}
    live = [u for u in range(n) if adj[u] is not None]
    mid: dict[tuple[int, int], int] = {}
    gone, level = [0] * n, [0] * n  # neighbours already contracted; level

    def priority(x: int, sc: list[Any]) -> int:
        return 3 * len(sc) - 2 * len(adj[x]) + gone[x] + 2 * level[x]

    heap = [(priority(u, _shortcuts(adj, u)), u) for u in live]
    heapq.heapify(heap)
    done = [False] * n
    up: list[tuple[int, int, int]] = []
    while heap:
        _, x = heapq.heappop(heap)
        if done[x]:
            continue
        sc = _shortcuts(adj, x)
        q = priority(x, sc)
        if heap and q > heap[0][0]:
            heapq.heappush(heap, (q, x))
            continue
        done[x] = True
        for u in adj[x]:
            up.append((x, u, mid.get((x, u) if x < u else (u, x), -1)))
            del adj[u][x]
            gone[u] += 1
            level[u] = max(level[u], level[x] + 1)
        for u, v, c in sc:
            if c < adj[u].get(v, math.inf):
                adj[u][v] = adj[v][u] = c
                mid[(u, v)] = x
        adj[x] = None
    a = np.array(sorted(up), dtype=np.int64).reshape(-1, 3)
    return {"count": np.bincount(a[:, 0], minlength=n).astype(np.int32), "cols": a[:, 1].astype(np.int32),
            "mid": a[:, 2].astype(np.int32)}


def write(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """A deterministic zip of .npy arrays (fixed timestamps, sorted names) plus ``meta`` as JSON, atomically."""
    arrays = {**arrays, "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)}
    from .network import write_atomic

    write_atomic(path, graph.npz_bytes(arrays))


# ---------------------------------------------------------------- load

@dataclass
class Hierarchy:
    """A mode's CH ready for queries: the upward entries as CSR (``indptr``, ``cols``, weights ``w``), and every
    upward entry unpacked into the weighted graph's own entries (positions in its forward CSR, so also in its
    ``key`` and ``edge``): ``seq[seq_off[e]:seq_off[e + 1]]`` walk from entry e's row to its column; ``twin``
    is the position of each graph entry's reverse, ``head`` (the graph's ``fwd.indices``) the node it leads to."""

    mode: str
    indptr: np.ndarray
    cols: np.ndarray
    w: np.ndarray
    seq_off: np.ndarray
    seq: np.ndarray
    twin: np.ndarray
    head: np.ndarray

    def __post_init__(self) -> None:
        self._mv = tuple(np.ascontiguousarray(a).data for a in (self.indptr, self.cols, self.w, self.seq_off,
                                                                 self.seq))  # memoryviews


def path_file() -> Path:
    return data.geodata_dir() / FILE


@functools.cache
def _file_key() -> str | None:
    """The per-user cache key of what ``load`` derives: the network's key and the hierarchy file's content, by
    the CRC-32 and size of each of its members (from the zip's directory: a fraction of a millisecond, where
    hashing the whole file would add 3 ms to every process that routes)."""
    p = path_file()
    if not p.is_file():
        return None
    with zipfile.ZipFile(p) as z:
        members = " ".join(f"{i.filename}:{i.CRC:08x}:{i.file_size}" for i in z.infolist())
    return f"hierarchy v{VERSION}.{CACHE_LAYOUT} {graph.network_key()} {members}"


@functools.cache
def load(mode: str) -> Hierarchy | None:
    """The mode's CH for ``graph.weighted_graph(mode)``, or None when the shipped file is absent or was built
    for other data (its fingerprint differs): the caller then searches without it. A damaged file gives None
    too, with a warning naming the fix (routing stays correct, only slower)."""
    try:
        key = _file_key()
        if key is None or mode not in MODES:
            return None
        a, meta = data.cached_arrays(f"hierarchy-{mode}", key, lambda: _derive(mode))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        warnings.warn(f"{path_file()} is unreadable ({exc}); routing uses the slower Dijkstra search. Rebuild it "
                      "with 'python scripts/build_hierarchy.py' or reinstall corridors.", RuntimeWarning, stacklevel=2)
        return None
    if not meta.get("ok"):
        return None
    return Hierarchy(mode=mode, head=graph.weighted_graph(mode).fwd.indices, **a)


def make(wg: graph.WeightedGraph, nodes: Iterable[int], mode: str = "") -> Hierarchy:
    """A CH built here, in memory, for any symmetric weighted graph (the shipped ones come from ``load``)."""
    ch = build(wg, nodes)
    return Hierarchy(mode=mode, head=wg.fwd.indices, **_query_arrays(wg, ch["count"], ch["cols"], ch["mid"]))


def _derive(mode: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The query arrays of a mode's CH from the shipped structure and the current weighted graph; {} and
    ok False when the file was built for another graph."""
    wg = graph.weighted_graph(mode)
    with np.load(path_file(), allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes().decode())
        if meta.get("version") != VERSION or meta.get("fingerprint", {}).get(mode) != fingerprint(wg):
            return {}, {"ok": False}
        count, cols, mid = (z[f"{mode}_{k}"] for k in ("count", "cols", "mid"))
    return _query_arrays(wg, count, cols, mid), {"ok": True}


def _query_arrays(wg: graph.WeightedGraph, count: np.ndarray, cols: np.ndarray,
                  mid: np.ndarray) -> dict[str, np.ndarray]:
    """The arrays of ``Hierarchy`` (but ``head``). An entry of the graph takes the graph's weight, a shortcut
    (row r, column c, middle m) the sum of its halves' (the entries m -> r and m -> c), and its walk is that of
    m -> r backwards (the reverse entries, in reverse order), then that of m -> c; both are made in rounds,
    innermost shortcuts first."""
    n = len(count)
    indptr = np.concatenate([[0], np.cumsum(count)]).astype(np.int32)
    rows = np.repeat(np.arange(n, dtype=np.int64), count)
    key = rows * n + cols

    def find(keys: np.ndarray, want: np.ndarray, what: str) -> np.ndarray:
        k = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
        if not np.array_equal(keys[k], want):
            raise ValueError(f"the hierarchy file is damaged: {what}")
        return k

    sc = np.flatnonzero(mid >= 0)
    m = mid[sc].astype(np.int64)
    half1 = find(key, m * n + rows[sc], "a shortcut's half is missing")
    half2 = find(key, m * n + cols[sc], "a shortcut's half is missing")
    orig = np.flatnonzero(mid < 0)
    at = find(wg.key, key[orig], "an entry is not in the graph")
    g_rows, g_cols = wg.key // n, wg.key % n
    twin = find(wg.key, g_cols * n + g_rows, "the graph is not symmetric").astype(np.int32)
    w = np.full(len(cols), np.nan)
    size = np.zeros(len(cols), np.int64)  # graph entries in each upward entry's walk
    w[orig], size[orig] = wg.fwd.data[at], 1
    rounds, todo = [], np.arange(len(sc))  # positions in sc
    while len(todo):
        ok = (size[half1[todo]] > 0) & (size[half2[todo]] > 0)
        if not ok.any():
            raise ValueError("the hierarchy file is damaged: shortcuts refer to each other in a cycle")
        r = todo[ok]
        w[sc[r]] = w[half1[r]] + w[half2[r]]
        size[sc[r]] = size[half1[r]] + size[half2[r]]
        rounds.append(r)
        todo = todo[~ok]
    seq_off = np.concatenate([[0], np.cumsum(size)]).astype(np.int32)
    seq = np.zeros(int(seq_off[-1]), np.int32)
    seq[seq_off[orig]] = at
    for r in rounds:
        e, a, b = sc[r], half1[r], half2[r]
        n1, t = size[a], size[e]
        i = np.arange(int(t.sum())) - np.repeat(np.cumsum(t) - t, t)  # position in the shortcut's walk
        back = np.clip(np.repeat(seq_off[a] + n1 - 1, t) - i, 0, len(seq) - 1)  # m -> r walked backwards
        fore = np.clip(np.repeat(seq_off[b] - n1, t) + i, 0, len(seq) - 1)  # then m -> c
        seq[np.repeat(seq_off[e], t) + i] = np.where(i < np.repeat(n1, t), twin[seq[back]], seq[fore])
    return {"indptr": indptr, "cols": cols.astype(np.int32), "w": w, "seq_off": seq_off, "seq": seq, "twin": twin}


# ---------------------------------------------------------------- query

class Search(NamedTuple):
    """What ``search`` found: the least weight (inf: none), the top node of the path (-1: none), the forward and
    backward predecessors (node -> (previous node, upward entry)) and the number of nodes settled."""

    weight: float
    meet: int
    fwd: dict[int, Any]
    bwd: dict[int, Any]
    settled: int


def search(h: Hierarchy, s: int, t: int, limit: float = math.inf) -> Search:
    """The bidirectional upward search from s and from t for a path lighter than ``limit`` (see ``Search``).
    One queue for both sides: the lighter head settles next, and the search stops once it is no lighter than
    the best path found (every path is an upward part from s and one from t meeting at its top node); a node
    reached more cheaply through a node above it (stall-on-demand) is not expanded."""
    ip, ix, ww = h._mv[:3]
    fd, bd = {s: 0.0}, {t: 0.0}
    fp: dict[int, Any] = {s: None}
    bp: dict[int, Any] = {t: None}
    heap = [(0.0, s, 0), (0.0, t, 1)]
    mu, meet = (0.0, s) if s == t else (limit, -1)
    settled = 0
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        d, u, k = pop(heap)
        if d >= mu:
            break
        own, other, p = (bd, fd, bp) if k else (fd, bd, fp)
        if d > own[u]:
            continue  # an outdated queue entry
        settled += 1
        o = other.get(u)
        if o is not None and d + o < mu:
            mu, meet = d + o, u
        lo, hi = ip[u], ip[u + 1]
        vs, ws = ix[lo:hi].tolist(), ww[lo:hi].tolist()
        stalled = False
        for v, w in zip(vs, ws):
            x = own.get(v)
            if x is not None and x + w < d:
                stalled = True
                break
        if stalled:
            continue
        j = lo
        for v, w in zip(vs, ws):
            nd = d + w
            x = own.get(v)
            if x is None or nd < x:
                own[v] = nd
                p[v] = (u, j)
                push(heap, (nd, v, k))
            j += 1
    return Search(mu if meet >= 0 else math.inf, meet, fp, bp, settled)


def distance(h: Hierarchy, s: int, t: int) -> float:
    """The least weight from s to t (inf: no path): the search alone, no path unpacking."""
    return search(h, s, t)[0]


def entries(h: Hierarchy, s: int, t: int, limit: float = math.inf) -> np.ndarray | None:
    """The weighted graph's entries along a least-weight path from s to t (positions in its forward CSR), or
    None if no path weighs <= limit: the search, then every upward entry on the way unpacked."""
    mu, meet, pf, pb, _ = search(h, s, t, limit * (1 + 1e-12) if math.isfinite(limit) else limit)
    if meet < 0 or mu > limit:
        return None
    off, seq = h._mv[3:]
    up: list[int] = []  # from meet back down to s: each upward entry's walk, backwards
    u = meet
    while pf[u] is not None:
        u, e = pf[u]
        up += seq[off[e]:off[e + 1]][::-1].tolist()
    down: list[int] = []  # from meet down to t: each upward entry's walk, backwards, then the reverse entries
    u = meet
    while pb[u] is not None:
        u, e = pb[u]
        down += seq[off[e]:off[e + 1]][::-1].tolist()
    return np.concatenate([np.array(up[::-1], dtype=np.int64), h.twin[down]]).astype(np.int64)


def path(h: Hierarchy, s: int, t: int, limit: float = math.inf) -> list[int] | None:
    """The node ids of a least-weight path from s to t (None: none of weight <= limit)."""
    pos = entries(h, s, t, limit)
    return None if pos is None else [s, *h.head[pos].tolist()]
