"""The network's precomputed structures: the per-user array cache, the grid lookup that replaced the KD-tree, the
pure-Python Dijkstra used before scipy is imported, and routes that come out the same in a fresh process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from corridors import data, graph

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_near_nodes_match_a_kd_tree_on_random_points():
    """Same nodes, same distances (bit for bit) as scipy's cKDTree; equal distances come by layer and node id
    (the tree's own order of ties is arbitrary)."""
    net = graph.load()
    rng = np.random.default_rng(5)
    checked = 0
    for mode in ("road", "rail", "any"):
        g = graph.mode_graph(mode)
        xy = net.node_xy[g.nodes]
        tree = cKDTree(graph._ecef(xy[:, 0], xy[:, 1]))
        pts = np.vstack([np.column_stack([rng.uniform(40, 125, 300), rng.uniform(25, 55, 300)]),
                         xy[rng.choice(len(xy), 100)] + rng.normal(0, 0.01, (100, 2))])
        for lon, lat in pts.tolist():
            for k, max_km in ((48, 50.0), (1, 0.5), (16, 5.0)):
                d, j = tree.query(graph._ecef(np.array([lon]), np.array([lat]))[0], k=k, distance_upper_bound=max_km)
                d, j = np.atleast_1d(d), np.atleast_1d(j)
                ok = np.isfinite(d)
                got = graph.near_nodes(lon, lat, mode, k=k, max_km=max_km)
                assert [x[1] for x in got] == d[ok].tolist()
                ref = g.nodes[j[ok]].tolist()
                if len(set(d[ok].tolist())) == len(ref):  # no ties: the very same nodes in the same order
                    assert [x[0] for x in got] == ref
                checked += 1
    assert checked == 3 * 400 * 3


def test_near_nodes_far_from_the_network_and_at_a_node():
    net = graph.load()
    assert graph.near_nodes(0.0, -60.0, "road") == []  # the Southern Ocean
    g = graph.mode_graph("rail")
    n = int(g.nodes[len(g.nodes) // 2])
    got = graph.near_nodes(*net.node_xy[n].tolist(), "rail", k=3)
    assert got[0][1] == 0.0 and n in [x[0] for x in got if x[1] == 0.0]


def test_pure_python_dijkstra_equals_scipy():
    wg = graph.weighted_graph("road")
    g = graph.mode_graph("road")
    big = np.flatnonzero(g.comp == np.argmax(g.comp_size))
    rng = np.random.default_rng(11)
    for s in rng.choice(big, 8).tolist():
        for m in (wg.fwd, wg.rev):
            limit = float(rng.uniform(5, 250))
            d1, p1 = dijkstra(m.matrix(), directed=True, indices=s, return_predecessors=True, limit=limit)
            d2, p2 = graph._py_dijkstra(m, s, limit, 10**9)
            assert np.array_equal(d1, d2) and np.array_equal(p1, p2)
    assert graph._py_dijkstra(wg.fwd, int(big[0]), np.inf, 10) is None  # over budget: hands over to scipy


def test_transpose_equals_scipy():
    wg = graph.weighted_graph("rail")
    ref = wg.fwd.matrix().T.tocsr()
    assert np.array_equal(wg.rev.indptr, ref.indptr) and np.array_equal(wg.rev.indices, ref.indices)
    assert np.array_equal(wg.rev.data, ref.data)


def test_cached_mode_arrays_equal_a_fresh_build():
    closed = graph._closed_default()
    cached, meta = graph._mode_arrays("rail", closed)
    fresh, meta2 = graph._build_mode_arrays("rail", closed)
    assert meta == meta2 and set(cached) == set(fresh)
    for k in fresh:
        assert cached[k].dtype == fresh[k].dtype and np.array_equal(cached[k], fresh[k]), k


def test_cached_arrays_round_trip_stale_and_damaged(tmp_path, monkeypatch):
    monkeypatch.setenv("CORRIDORS_CACHE_DIR", str(tmp_path))
    calls = []

    def build():
        calls.append(1)
        return {"a": np.arange(5, dtype=np.int32), "b": np.linspace(0, 1, 7).reshape(7, 1),
                "e": np.zeros(0, np.uint8)}, {"x": [1, "y"]}

    a, meta = data.cached_arrays("thing", "key 1", build)
    b, meta_b = data.cached_arrays("thing", "key 1", build)
    assert len(calls) == 1 and meta_b == {"x": [1, "y"]}
    assert all(np.array_equal(a[k], b[k]) and a[k].dtype == b[k].dtype and a[k].shape == b[k].shape for k in a)
    assert not b["a"].flags.writeable  # memory-mapped, read-only
    files = list(tmp_path.glob("thing-*.arrays"))
    assert len(files) == 1
    data.cached_arrays("thing", "key 2", build)  # another key: rebuilt, the old copy removed
    assert len(calls) == 2 and len(list(tmp_path.glob("thing-*.arrays"))) == 1
    path = next(tmp_path.glob("thing-*.arrays"))
    path.write_bytes(path.read_bytes()[:-10])  # cut short
    data.cached_arrays("thing", "key 2", build)
    assert len(calls) == 3
    path.write_bytes(b"garbage")
    c, _ = data.cached_arrays("thing", "key 2", build)
    assert len(calls) == 4 and np.array_equal(c["a"], np.arange(5))
    monkeypatch.setenv("CORRIDORS_CACHE_DIR", "")
    data.cached_arrays("other", "key", build)
    assert len(calls) == 5 and not list(tmp_path.glob("other-*"))


def _run(code, cache):
    env = {**os.environ, "PYTHONPATH": SRC, "CORRIDORS_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_fresh_process_routes_are_identical_with_an_empty_and_a_filled_cache(tmp_path):
    """The first process builds the cache; the second reads it, searches in pure Python and imports neither
    scipy's csgraph nor its KD-tree; both give the very route this process gives."""
    from corridors import routes

    code = ("import json, sys; from corridors import routes; "
            "out = [routes.route(a, b, mode=m).to_dict() for a, b, m in "
            "[('Almaty', 'Bishkek', 'road'), ('Khorgos', 'Aktau', 'rail'), ('Tashkent', 'Dushanbe', 'any')]]; "
            "print(json.dumps([out, 'scipy.sparse.csgraph' in sys.modules, 'scipy.spatial' in sys.modules]))")
    first = json.loads(_run(code, tmp_path / "c"))
    second = json.loads(_run(code, tmp_path / "c"))
    here = [routes.route(a, b, mode=m).to_dict() for a, b, m in
            [("Almaty", "Bishkek", "road"), ("Khorgos", "Aktau", "rail"), ("Tashkent", "Dushanbe", "any")]]
    assert first[0] == second[0] == json.loads(json.dumps(here))
    assert second[1:] == [False, False]


@pytest.mark.parametrize("mode", ["road", "rail"])
def test_search_engines_give_the_same_paths(mode, monkeypatch):
    """shortest_path with the pure-Python Dijkstra (as in a process without scipy's csgraph) and with scipy's."""
    g = graph.mode_graph(mode)
    big = np.flatnonzero(g.comp == np.argmax(g.comp_size))
    rng = np.random.default_rng(3)
    xyz = graph._ecef_nodes()
    pairs = []
    for s in rng.choice(big, 5).tolist():
        near = big[np.linalg.norm(xyz[big] - xyz[s], axis=1) < 200.0]
        pairs.append((s, int(rng.choice(near))))
    want = [graph.shortest_path(s, t, mode, use_hierarchy=False) for s, t in pairs]  # the Dijkstra search
    monkeypatch.setattr(graph, "_dijkstra", lambda m, s, r: graph._py_dijkstra(m, s, r, 10**9))
    assert [graph.shortest_path(s, t, mode, use_hierarchy=False) for s, t in pairs] == want
