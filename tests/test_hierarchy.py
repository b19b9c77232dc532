"""The contraction hierarchies (corridors.hierarchy) against scipy's full Dijkstra, and route() with and without them.

For every mode, graph.shortest_path (which takes its "distance" paths from the shipped hierarchy) must return a
valid path (consecutive nodes, joined by usable edges of the mode, from the source to the target) whose weight,
summed over the weighted graph's own entries in path order, is scipy's full-graph Dijkstra distance to 1e-9
relative; None where the target is unreachable. A toy graph has known answers; random small graphs (integer
weights, many ties) are checked on every pair.
"""

import functools
import json
import math

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

import corridors
from corridors import graph, hierarchy, routes

N_SOURCES, N_TARGETS = 40, 10  # per mode: 400 random (source, target) pairs
CITY_PAIRS = [("Almaty", "Bishkek", "road"), ("Bishkek", "Torugart", "road"), ("Tashkent", "Dushanbe", "road"),
              ("Kabul", "Peshawar", "road"), ("Baku", "Tbilisi", "road"), ("Ulaanbaatar", "Zamyn-Uud", "road"),
              ("Ashgabat", "Bukhara", "road"), ("Almaty", "Tashkent", "road"), ("Kashgar", "Peshawar", "road"),
              ("Tashkent", "Baku", "road"), ("Almaty", "Aktau", "road"), ("Khorgos", "Aktau", "rail")]


def _toy(n, edges):
    """A symmetric WeightedGraph of n nodes from undirected (u, v, weight) edges (edge id = position)."""
    u, v, w = (np.array(x) for x in zip(*edges))
    rows, cols = np.concatenate([u, v]), np.concatenate([v, u])
    ww, eid = np.concatenate([w, w]).astype(float), np.concatenate([np.arange(len(u))] * 2)
    o = np.lexsort((cols, rows))
    rows, cols, ww, eid = rows[o], cols[o], ww[o], eid[o]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.int32)
    fwd = graph.Csr(indptr, cols.astype(np.int32), ww)
    return graph.WeightedGraph(mode="toy", closed=frozenset(), fwd=fwd, rev=fwd, edge=eid,
                               key=rows.astype(np.int64) * n + cols, per_km=1.0)


def _weight(wg, nodes):
    """The path's weight: the graph's own entries summed in path order (and None if a step is not an entry)."""
    p = np.asarray(nodes, dtype=np.int64)
    n = len(wg.fwd.indptr) - 1
    k = np.searchsorted(wg.key, p[:-1] * n + p[1:])
    if len(k) and not np.array_equal(wg.key[np.minimum(k, len(wg.key) - 1)], p[:-1] * n + p[1:]):
        return None
    return float(sum(wg.fwd.data[k].tolist()))


def test_toy_graph_known_answers():
    # 0 -1- 1 -1- 2 -1- 3 -5- 4, with 0 -3- 2 and 2 -2- 4; 5 -1- 6 apart
    wg = _toy(7, [(0, 1, 1), (1, 2, 1), (2, 3, 1), (3, 4, 5), (0, 2, 3), (2, 4, 2), (5, 6, 1)])
    h = hierarchy.make(wg, range(7))
    assert hierarchy.path(h, 0, 4) == [0, 1, 2, 4]
    assert hierarchy.distance(h, 0, 4) == 4.0
    assert hierarchy.path(h, 4, 0) == [4, 2, 1, 0]
    assert hierarchy.path(h, 3, 4) == [3, 2, 4]
    assert hierarchy.path(h, 0, 3) == [0, 1, 2, 3]
    assert hierarchy.path(h, 0, 5) is None and hierarchy.distance(h, 0, 5) == math.inf
    assert hierarchy.path(h, 5, 6) == [5, 6]
    assert hierarchy.path(h, 2, 2) == [2]
    assert hierarchy.path(h, 0, 4, limit=4.0) == [0, 1, 2, 4]
    assert hierarchy.path(h, 0, 4, limit=3.999) is None


def test_not_symmetric_is_refused():
    wg = _toy(3, [(0, 1, 1), (1, 2, 1)])
    wg.fwd.data[0] = 7.0  # 0 -> 1 now heavier than 1 -> 0
    with pytest.raises(ValueError, match="not symmetric"):
        hierarchy.build(wg, range(3))


@pytest.mark.parametrize("seed", range(6))
def test_random_small_graphs_every_pair(seed):
    """Grid-like graphs with integer weights (many equal-weight paths) and a few dead ends: every pair."""
    rng = np.random.default_rng(seed)
    side = 9
    n = side * side + 3
    edges = []
    for i in range(side):
        for j in range(side):
            a = i * side + j
            if j + 1 < side and rng.random() < 0.85:
                edges.append((a, a + 1, int(rng.integers(1, 4))))
            if i + 1 < side and rng.random() < 0.85:
                edges.append((a, a + side, int(rng.integers(1, 4))))
    edges += [(side * side, side * side + 1, 2), (0, side * side + 2, 1)]  # a component of two; a dead end
    wg = _toy(n, edges)
    h = hierarchy.make(wg, range(n))
    full = dijkstra(wg.fwd.matrix(), directed=True)
    for s in range(n):
        for t in range(n):
            p = hierarchy.path(h, s, t)
            if not np.isfinite(full[s, t]):
                assert p is None
                continue
            assert p[0] == s and p[-1] == t
            assert _weight(wg, p) == pytest.approx(full[s, t], rel=1e-12)
            assert hierarchy.distance(h, s, t) == pytest.approx(full[s, t], rel=1e-12)


@pytest.mark.parametrize("mode", ["road", "rail", "any"])
def test_shipped_hierarchy_matches_dijkstra(mode):
    h = hierarchy.load(mode)
    assert h is not None, "geodata/hierarchy.npz does not match the network: run scripts/build_hierarchy.py"
    wg = graph.weighted_graph(mode)
    g = graph.mode_graph(mode)
    net = graph.load()
    usable = set(g.edge.tolist())
    rng = np.random.default_rng({"road": 1, "rail": 2, "any": 3}[mode])
    m = wg.fwd.matrix()
    checked = unreachable = 0
    for s in rng.choice(g.nodes, N_SOURCES, replace=False).tolist():
        d = dijkstra(m, directed=True, indices=s)
        own = g.nodes[g.comp[g.nodes] == g.comp[s]]  # most targets in the source's component, two anywhere
        targets = np.concatenate([rng.choice(own, N_TARGETS - 2), rng.choice(g.nodes, 2)])
        for t in targets.tolist():
            out = graph.shortest_path(s, t, mode)
            if not np.isfinite(d[t]):
                assert out is None
                assert hierarchy.path(h, s, t) is None
                unreachable += 1
                continue
            nodes, edges = out
            assert nodes[0] == s and nodes[-1] == t and len(edges) == len(nodes) - 1
            for a, b, e in zip(nodes[:-1], nodes[1:], edges):
                assert {int(net.u[e]), int(net.v[e])} == {a, b} and e in usable
            assert _weight(wg, nodes) == pytest.approx(d[t], rel=1e-9, abs=1e-12)
            checked += 1
    assert checked + unreachable == N_SOURCES * N_TARGETS and checked >= 300


@pytest.mark.parametrize("mode", ["road", "rail", "any"])
def test_unreachable_and_same_node(mode):
    g = graph.mode_graph(mode)
    h = hierarchy.load(mode)
    small = np.flatnonzero(g.comp_size < 50)
    a = int(g.nodes[np.flatnonzero(np.isin(g.comp[g.nodes], small))[0]])
    b = int(g.nodes[np.flatnonzero(g.comp[g.nodes] == np.argmax(g.comp_size))[0]])
    assert graph.shortest_path(a, b, mode) is None and graph.shortest_path(b, a, mode) is None
    assert hierarchy.path(h, a, b) is None and hierarchy.path(h, b, a) is None  # the search itself says none
    assert graph.shortest_path(b, b, mode) == ([b], [])
    assert hierarchy.path(h, b, b) == [b]


def test_limit_is_respected():
    g = graph.mode_graph("road")
    rng = np.random.default_rng(7)
    wg = graph.weighted_graph("road")
    big = g.nodes[g.comp[g.nodes] == np.argmax(g.comp_size)]
    s, t = (int(x) for x in rng.choice(big, 2, replace=False))
    nodes, _ = graph.shortest_path(s, t, "road")
    w = _weight(wg, nodes)
    assert graph.shortest_path(s, t, "road", limit=w * (1 - 1e-6)) is None
    assert graph.shortest_path(s, t, "road", limit=w * (1 + 1e-9))[0] == nodes


def test_other_weights_do_not_use_it():
    """A callable weight, another closed set and use_hierarchy=False keep the Dijkstra search."""
    s, t = graph.near_nodes(74.6, 42.87, "road", k=1)[0][0], graph.near_nodes(76.95, 43.25, "road", k=1)[0][0]
    a = graph.shortest_path(s, t, "road")
    b = graph.shortest_path(s, t, "road", use_hierarchy=False)
    wg = graph.weighted_graph("road")
    assert _weight(wg, a[0]) == pytest.approx(_weight(wg, b[0]), rel=1e-9)
    double = graph.shortest_path(s, t, "road", weight=lambda u, v, d: 2 * d["km"])
    assert double is not None and double[0][0] == s and double[0][-1] == t


def test_file_for_other_data_is_not_used(tmp_path, monkeypatch):
    """A hierarchy file whose fingerprint is not the current graph's is ignored (load gives None)."""
    with np.load(hierarchy.path_file()) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("meta").tobytes().decode())
    meta["fingerprint"]["rail"] = "0" * 64
    bad = tmp_path / "hierarchy.npz"
    hierarchy.write(bad, arrays, meta)
    monkeypatch.setattr(hierarchy, "path_file", lambda: bad)
    hierarchy.load.cache_clear()
    hierarchy._file_key.cache_clear()
    try:
        assert hierarchy.load("rail") is None
        assert hierarchy.load("road") is not None
        s, t = graph.near_nodes(76.95, 43.25, "rail", k=1)[0][0], graph.near_nodes(74.6, 42.87, "rail", k=1)[0][0]
        assert graph.shortest_path(s, t, "rail") == graph.shortest_path(s, t, "rail", use_hierarchy=False)
    finally:
        hierarchy.load.cache_clear()
        hierarchy._file_key.cache_clear()


def test_damaged_file_warns_and_routing_still_works(tmp_path, monkeypatch):
    cut = tmp_path / "hierarchy.npz"
    cut.write_bytes(hierarchy.path_file().read_bytes()[:100_000])
    monkeypatch.setattr(hierarchy, "path_file", lambda: cut)
    hierarchy.load.cache_clear()
    hierarchy._file_key.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="build_hierarchy.py"):
            assert hierarchy.load("road") is None
        s, t = graph.near_nodes(76.95, 43.25, "road", k=1)[0][0], graph.near_nodes(74.6, 42.87, "road", k=1)[0][0]
        assert graph.shortest_path(s, t, "road") == graph.shortest_path(s, t, "road", use_hierarchy=False)
    finally:
        hierarchy.load.cache_clear()
        hierarchy._file_key.cache_clear()


def test_shipped_structure_is_the_build():
    """The shipped rail hierarchy is what build() gives on the current graph (the whole file is made the same way
    for every mode by scripts/build_hierarchy.py)."""
    ch = hierarchy.build(graph.weighted_graph("rail"), graph.mode_graph("rail").nodes.tolist())
    with np.load(hierarchy.path_file()) as z:
        for k, v in ch.items():
            assert np.array_equal(z[f"rail_{k}"], v), k


@pytest.mark.parametrize("a,b,mode", CITY_PAIRS)
def test_route_lengths_unchanged(a, b, mode, monkeypatch):
    """route() over the hierarchy gives the same length as over the Dijkstra search (to 1e-6 km)."""
    new = corridors.route(a, b, mode=mode)
    monkeypatch.setattr(graph, "shortest_path", functools.partial(graph.shortest_path, use_hierarchy=False))
    assert routes.graph.shortest_path.keywords == {"use_hierarchy": False}  # route() looks it up at call time
    old = corridors.route(a, b, mode=mode)
    assert new.length_km == pytest.approx(old.length_km, abs=1e-6)
    assert [c["bcp"] for c in new.crossings] == [c["bcp"] for c in old.crossings]
