"""Benchmark: corridors.route() on the regional network (warm), against a floor measured in the same run.

Usage: PYTHONPATH=src python bench/bench_routes.py [--repeat N]

Prints (a) route() between pairs of network nodes, given as their (lon, lat) so that no name is resolved and
the joins are empty, and (b) route() between cities of the region (names resolved, joined to the network),
each with the floor and the ratio, then whether the targets are met: route() <= 3 ms between two network
nodes (issue 14) and < 50 ms between any two cities (issue 16). Times are the best of --repeat warm calls
(the machine is shared; the best call is the one least disturbed).

Why the baseline is a floor. Whatever route() does, it has to find the least weight between the two network
nodes on the same graph (the same edges, the same weights). The fastest correct way we know with the project's
dependencies is the query of the mode's contraction hierarchy (corridors.hierarchy: two upward searches, pure
Python; a compiled CH library would be faster still, but none is a dependency), and the floor gives it
two advantages no real search has: it stops at the path's weight D handed over by an oracle (this run's own
answer: the upward searches end as soon as both queues hold nothing lighter than D), and it only finds the
weight, without unpacking the path or asking which edges it uses; the floor is the faster of that and the plain
distance query. So our search (``graph.shortest_path``: the same query, then the path unpacked to the network's
edge ids) cannot beat it; ``route()`` (search + places + joins + path geometry + border analysis + CAREC share) is
printed against it too. Before the hierarchy (issue 14) the floor was scipy's compiled Dijkstra handed D (forward,
backward or both ways to D/2), 1-9 ms on these pairs; the "dijkstra" column is the search route() used then
(``shortest_path(..., use_hierarchy=False)``: radius-limited scipy Dijkstra), measured in this run. We also
measured, once, compiled libraries with point-to-point searches on this graph (networkit 11.2.2
BidirectionalDijkstra and AStar, rustworkx 0.18.1, igraph 1.0): none was faster than that old floor, so none is a
dependency. "settled": nodes the hierarchy's query settles (both sides).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import corridors
from corridors import graph, hierarchy, routes

NODE_TARGET_MS = 3.0  # issue 14: route() warm between two network nodes
CITY_TARGET_MS = 50.0  # issue 16: route() warm between any two cities of the region
CITY_PAIRS: list[tuple[str, str, str]] = [
    ("Almaty", "Bishkek", "road"), ("Bishkek", "Torugart", "road"), ("Tashkent", "Dushanbe", "road"),
    ("Kabul", "Peshawar", "road"), ("Baku", "Tbilisi", "road"), ("Ulaanbaatar", "Zamyn-Uud", "road"),
    ("Ashgabat", "Bukhara", "road"), ("Almaty", "Tashkent", "road"), ("Kashgar", "Peshawar", "road"),
    ("Tashkent", "Baku", "road"), ("Almaty", "Aktau", "road"), ("Khorgos", "Aktau", "rail"),
]
NODE_PAIRS = CITY_PAIRS[:8]  # the network nodes these cities join (short to medium routes)


def best_ms(fn: Callable[[], Any], n: int) -> float:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out) * 1000


def join_nodes(a: str, b: str, mode: str) -> tuple[int, int]:
    """The network nodes route(a, b) joins (the ends of its network path)."""
    pieces = routes._pair_pieces(dict(corridors.place(a)), dict(corridors.place(b)), mode,
                                 graph.weighted_graph(mode))
    xy = [pc["xy"] for pc in pieces if pc["kind"] == routes.NETWORK]
    return (graph.near_nodes(*xy[0][0], mode, k=1, max_km=0.01)[0][0],
            graph.near_nodes(*xy[-1][-1], mode, k=1, max_km=0.01)[0][0])


def floor_ms(s: int, t: int, mode: str, n: int) -> tuple[float, float]:
    """(best floor ms, path weight D): the hierarchy's distance query, alone or stopped at the known D."""
    h = hierarchy.load(mode)
    if h is None:
        raise SystemExit("geodata/hierarchy.npz does not match the network: run scripts/build_hierarchy.py")
    d = hierarchy.distance(h, s, t)
    bound = d * (1 + 1e-12)
    t_oracle = best_ms(lambda: hierarchy.search(h, s, t, bound), n)
    return min(t_oracle, best_ms(lambda: hierarchy.distance(h, s, t), n)), d


def measure(s: int, e: int, mode: str, n: int) -> tuple[float, float, float, int]:
    """(search ms, the Dijkstra search's ms, floor ms, nodes settled) between network nodes s and e."""
    t_search = best_ms(lambda: graph.shortest_path(s, e, mode), n)
    t_old = best_ms(lambda: graph.shortest_path(s, e, mode, use_hierarchy=False), n)
    t_floor, _ = floor_ms(s, e, mode, n)
    return t_search, t_old, t_floor, hierarchy.search(hierarchy.load(mode), s, e).settled


def row(label: str, km: float, t_route: float, t: tuple[float, float, float, int], target: float) -> bool:
    t_search, t_old, t_floor, settled = t
    ok = t_route <= target
    print(f"{label:34s} {km:8.1f} {t_route:9.2f} {t_search:7.3f} {t_old:9.2f} {t_floor:7.3f} {settled:7d} "
          f"{t_route / t_floor:8.1f} {t_search / t_floor:7.2f}  {'met' if ok else 'NOT met'}")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    n = ap.parse_args().repeat
    t = time.perf_counter()
    graph.load.cache_clear()
    net = graph.load()
    print(f"cold load of network.npz: {(time.perf_counter() - t) * 1000:.0f} ms ({net.n_nodes} nodes, "
          f"{net.n_edges} edges)")
    head = (f"{'pair':34s} {'km':>8s} {'route ms':>9s} {'search':>7s} {'dijkstra':>9s} {'floor':>7s} "
            f"{'settled':>7s} {'route/fl':>8s} {'srch/fl':>7s}  target")

    print(f"\n(a) route() between two network nodes, given as (lon, lat); target <= {NODE_TARGET_MS:g} ms")
    print(head)
    node_ok = []
    for a, b, mode in NODE_PAIRS:
        s, e = join_nodes(a, b, mode)
        pa, pb = tuple(net.node_xy[s].tolist()), tuple(net.node_xy[e].tolist())
        r = corridors.route(pa, pb, mode=mode)  # warm: graphs, node grid, density grid
        t_route = best_ms(lambda pa=pa, pb=pb, m=mode: corridors.route(pa, pb, mode=m), n)
        node_ok.append(row(f"nodes {a} - {b}" + (f" ({mode})" if mode != "road" else ""), r.length_km, t_route,
                           measure(s, e, mode, n), NODE_TARGET_MS))

    print(f"\n(b) route() between cities (names resolved and joined); target < {CITY_TARGET_MS:g} ms")
    print(head)
    city_ok = []
    for a, b, mode in CITY_PAIRS:
        r = corridors.route(a, b, mode=mode)
        s, e = join_nodes(a, b, mode)
        t_route = best_ms(lambda a=a, b=b, m=mode: corridors.route(a, b, mode=m), n)
        city_ok.append(row(f"{a} - {b}" + (f" ({mode})" if mode != "road" else ""), r.length_km, t_route,
                           measure(s, e, mode, n), CITY_TARGET_MS - 1e-9))

    print(f"\ntarget route() <= {NODE_TARGET_MS:g} ms between network nodes: "
          f"{'MET' if all(node_ok) else 'NOT MET'} ({sum(node_ok)} of {len(node_ok)} pairs)")
    print(f"target route() < {CITY_TARGET_MS:g} ms between cities: "
          f"{'MET' if all(city_ok) else 'NOT MET'} ({sum(city_ok)} of {len(city_ok)} pairs)")


if __name__ == "__main__":
    main()
