"""graph.shortest_path (one-sided and bidirectional searches stopped at a radius) against scipy's full Dijkstra.

The reference graph is built here from the raw network arrays (both directions of every edge of the mode, the
shortest parallel edge per node pair, as ``graph.mode_graph`` documents), and searched with scipy's Dijkstra from
the source over the whole graph, with no limit: the least weight that any search may return.
"""

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from corridors import graph

N_FAR, N_NEAR = 6, 6  # random sources per mode; each with one far and one near (< 300 km) target


def _reference(mode, w_edge, closed=frozenset()):
    """CSR matrix of the mode's graph from the raw arrays with the per-edge weights w_edge (inf: unusable)."""
    net = graph.load()
    ok = np.isin(net.mode, [graph.EDGE_MODES.index(m) for m in graph.GRAPH_MODES[mode]])
    if closed:
        ok &= ~np.isin(net.bcp, [i for i, b in enumerate(net.tables["bcp"]) if b in closed])
    e = np.flatnonzero(ok)
    rows, cols = np.concatenate([net.u[e], net.v[e]]), np.concatenate([net.v[e], net.u[e]])
    ee = np.concatenate([e, e])
    w = np.maximum(w_edge[ee], 1e-9)
    o = np.lexsort((w, cols, rows))  # of parallel edges the lightest (a CSR matrix would add them up)
    rows, cols, w = rows[o], cols[o], w[o]
    first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])]
    rows, cols, w = rows[first], cols[first], w[first]
    use = np.isfinite(w)
    n = net.n_nodes
    return csr_matrix((w[use], (rows[use], cols[use])), shape=(n, n))


def _pairs(mode, seed):
    g = graph.mode_graph(mode)
    big = np.flatnonzero(g.comp == np.argmax(g.comp_size))
    rng = np.random.default_rng(seed)
    xyz = graph._ecef_nodes()
    out = []
    for s in rng.choice(big, N_FAR, replace=False).tolist():
        near = big[np.linalg.norm(xyz[big] - xyz[s], axis=1) < 300.0]
        out.append((s, [int(rng.choice(big)), int(rng.choice(near))]))
    return out


def _check_path(path, s, t, w_edge):
    nodes, edges = path
    net = graph.load()
    assert nodes[0] == s and nodes[-1] == t and len(edges) == len(nodes) - 1
    for a, b, e in zip(nodes[:-1], nodes[1:], edges):
        assert {a, b} == {int(net.u[e]), int(net.v[e])}
    return float(np.maximum(w_edge[edges], 1e-9).sum())


@pytest.mark.parametrize("mode,seed", [("road", 1), ("rail", 2), ("any", 3)])
def test_same_length_as_scipy_full_dijkstra(mode, seed):
    w = graph._distance_weight()
    ref = _reference(mode, w)
    checked = 0
    for s, targets in _pairs(mode, seed):
        full = dijkstra(ref, indices=s)
        for t in targets:
            if t == s:
                continue
            for use_hierarchy in (True, False):  # the contraction hierarchy, and the planned Dijkstra search
                got = _check_path(graph.shortest_path(s, t, mode, use_hierarchy=use_hierarchy), s, t, w)
                assert got == pytest.approx(full[t], rel=1e-9, abs=1e-9)
            checked += 1
    assert checked >= 2 * N_FAR - 1


def test_each_search_plan_gives_the_full_dijkstra_length():
    """The one-sided searches (from either end) and the bidirectional one, whatever the planner would choose."""
    w = graph._distance_weight()
    ref = _reference("road", w)
    wg = graph.weighted_graph("road")
    xyz = graph._ecef_nodes()
    for s, targets in _pairs("road", 7)[:3]:
        full = dijkstra(ref, indices=s)
        for t in targets:
            guess = float(np.linalg.norm(xyz[s] - xyz[t]))  # a radius that is too small: the searches must grow
            for nodes in (graph._one_sided(wg, s, t, guess, np.inf, backward=False),
                          graph._one_sided(wg, s, t, guess, np.inf, backward=True),
                          graph._bidirectional(wg, s, t, guess / 4, np.inf)):
                p = np.asarray(nodes)
                k = np.searchsorted(wg.key, p[:-1] * graph.load().n_nodes + p[1:])
                assert _check_path((nodes, wg.edge[k].tolist()), s, t, w) == pytest.approx(full[t], rel=1e-9)


def test_callable_weight_and_closed_bcp_match_the_reference():
    net = graph.load()
    closed = frozenset({"bcp_korday_ak_zhol"})
    hours = np.where(net.mode == graph.EDGE_MODES.index("road"), net.km / 60.0, net.km / 40.0) + 2.0 * (net.bcp >= 0)

    def w(u, v, d):
        return d["km"] / (60.0 if d["mode"] == "road" else 40.0) + (2.0 if d["bcp_id"] else 0.0)

    wg = graph.weighted_graph("any", w, closed=closed)
    ref = _reference("any", hours, closed)
    a = graph.near_nodes(76.95, 43.24, "road", k=1)[0][0]  # Almaty
    for b in (graph.near_nodes(74.59, 42.87, "road", k=1)[0][0],  # Bishkek: not through Korday
              graph.near_nodes(69.28, 41.31, "road", k=1)[0][0]):  # Tashkent
        full = dijkstra(ref, indices=a)
        path = graph.shortest_path(a, b, "any", wg, closed=closed)
        assert _check_path(path, a, b, hours) == pytest.approx(full[b], rel=1e-9)
        used = {net.tables["bcp"][net.bcp[e]] for e in path[1] if net.bcp[e] >= 0}
        assert "bcp_korday_ak_zhol" not in used


def test_limit_cuts_a_path_longer_than_it():
    a = graph.near_nodes(76.95, 43.24, "road", k=1)[0][0]
    b = graph.near_nodes(74.59, 42.87, "road", k=1)[0][0]
    w = graph._distance_weight()
    d = float(w[graph.shortest_path(a, b, "road")[1]].sum())
    assert 240 < d < 260  # Almaty - Bishkek through Korday, tertiary km counted x1.5
    assert graph.shortest_path(a, b, "road", limit=d * 0.99) is None
    assert graph.shortest_path(a, b, "road", limit=d * 1.01) is not None


def test_weighted_graph_for_another_mode_is_refused():
    with pytest.raises(ValueError, match="another mode"):
        graph.shortest_path(1, 2, "road", graph.weighted_graph("rail"))


def _toy(edges, n):
    """A WeightedGraph of an undirected toy graph [(u, v, w)] (edge ids in the given order)."""
    u, v, w = (np.array(x) for x in zip(*edges))
    ids = np.arange(len(u))
    rows, cols, ww, ee = np.r_[u, v], np.r_[v, u], np.r_[w, w].astype(float), np.r_[ids, ids]
    o = np.lexsort((cols, rows))
    fwd = csr_matrix((ww[o], (rows[o], cols[o])), shape=(n, n))
    return graph.WeightedGraph(mode="road", closed=frozenset(), fwd=fwd, rev=fwd.T.tocsr(), edge=ee[o],
                               key=rows[o] * n + cols[o], per_km=1.0)


def test_bidirectional_proves_before_it_stops():
    """The balls first touch on the direct edge (10); the path over 2 and 3 (8) is shorter and must win."""
    wg = _toy([(0, 1, 10.0), (0, 2, 3.0), (2, 3, 2.0), (3, 1, 3.0)], 4)
    assert graph._bidirectional(wg, 0, 1, 1.0, np.inf) == [0, 2, 3, 1]
    assert graph._bidirectional(wg, 0, 1, 1.0, 8.5) == [0, 2, 3, 1]
    assert graph._bidirectional(wg, 0, 1, 1.0, 7.5) is None
    assert graph._one_sided(wg, 0, 1, 1.0, np.inf, backward=False) == [0, 2, 3, 1]
    assert graph._one_sided(wg, 0, 1, 1.0, np.inf, backward=True) == [0, 2, 3, 1]
    split = _toy([(0, 1, 1.0), (2, 3, 1.0)], 4)  # two pieces: every search ends without a path
    assert graph._bidirectional(split, 0, 3, 0.5, np.inf) is None
    assert graph._one_sided(split, 0, 3, 0.5, np.inf, backward=False) is None


@pytest.mark.parametrize("mode", ["road", "rail", "any"])
def test_of_parallel_edges_the_lightest_is_searched(mode):
    """Two edges between the same nodes (10,223 such pairs on the road network; in 14 the shorter one is a
    tertiary road, heavier under "distance"): the weighted graph keeps the lightest, for every pair."""
    n, w = graph.load(), graph._distance_weight()
    e = graph._usable(mode, graph._closed_default())
    key = np.concatenate([n.u[e], n.v[e]]).astype(np.int64) * n.n_nodes + np.concatenate([n.v[e], n.u[e]])
    ew = w[np.concatenate([e, e])]
    uniq, inv = np.unique(key, return_inverse=True)
    lightest = np.full(len(uniq), np.inf)
    np.minimum.at(lightest, inv, ew)
    wg = graph.weighted_graph(mode)
    assert np.array_equal(wg.key, uniq)
    assert np.array_equal(w[wg.edge], lightest)
    assert len(e) * 2 > len(uniq)  # there are parallel edges to choose from
