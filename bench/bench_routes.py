"""Benchmark: corridors.route() between cities of the region (warm), against a plain networkx Dijkstra on the same
graph as the baseline, plus the cold load of the network.

Usage: PYTHONPATH=src python bench/bench_routes.py

The baseline is the floor for any route(): whatever else it does, route() has to find the path, so it can never
do less than one shortest-path search over the same graph (every usable edge of the road graph, the same
weights). The baseline is exactly that search and nothing else: networkx.dijkstra_path between the same two nodes
on a prebuilt, warm networkx.Graph. route() adds what the baseline does not do (resolving the places, joining
them to the network, the border analysis of the result, per-country lengths, CAREC share), so the ratio
route()/baseline is the cost of that work. Its own search runs in scipy's compiled Dijkstra, bounded by a distance
limit, which is why route() comes in under the networkx floor on long routes (Almaty - Aktau).
"""

from __future__ import annotations

import statistics
import time

import networkx as nx
import numpy as np

import corridors
from corridors import graph

PAIRS = [("Almaty", "Bishkek"), ("Bishkek", "Torugart"), ("Tashkent", "Dushanbe"), ("Almaty", "Tashkent"),
         ("Baku", "Tbilisi"), ("Kabul", "Peshawar"), ("Ashgabat", "Bukhara"), ("Ulaanbaatar", "Zamyn-Uud"),
         ("Almaty", "Aktau")]


def _time(fn, n: int = 3) -> float:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    t = time.perf_counter()
    graph.load.cache_clear()
    net = graph.load()
    cold = time.perf_counter() - t
    print(f"cold load of network.npz: {cold * 1000:.0f} ms ({net.n_nodes} nodes, {net.n_edges} edges)")
    g = graph.mode_graph("road")
    w = graph._distance_weight()
    G = nx.Graph()
    rows = np.repeat(np.arange(len(g.indptr) - 1), np.diff(g.indptr))
    G.add_weighted_edges_from(zip(rows.tolist(), g.indices.tolist(), w[g.edge].tolist()))
    print(f"{'pair':28s} {'km':>8s} {'route() ms':>11s} {'nx ms':>8s} {'ratio':>6s}")
    ratios = []
    for a, b in PAIRS:
        corridors.route(a, b)  # warm: places, graph, KD-tree
        r = corridors.route(a, b)
        src = graph.near_nodes(r.places[0]["lon"], r.places[0]["lat"], "road", k=1)[0][0]
        dst = graph.near_nodes(r.places[-1]["lon"], r.places[-1]["lat"], "road", k=1)[0][0]
        t_route = _time(lambda a=a, b=b: corridors.route(a, b))
        t_nx = _time(lambda s=src, d=dst: nx.dijkstra_path(G, s, d, weight="weight"))
        ratios.append(t_route / t_nx)
        print(f"{a + ' - ' + b:28s} {r.length_km:8.1f} {t_route * 1000:11.1f} {t_nx * 1000:8.1f} "
              f"{t_route / t_nx:6.2f}")
    print(f"median ratio route()/networkx: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
