"""Benchmark: what corridors.route() spends besides its search (issue 14), against the analysis of its line.

Usage: PYTHONPATH=src python bench/bench_route_rest.py [--repeat N]

For bench_routes.py's pairs (network nodes given as their lon/lat, then cities) it prints route() (warm, best of
N), the search alone (``graph.shortest_path`` between the same nodes, best of N), their difference, and "rest":
the least of N calls of route() minus the time of the search inside that same call (``graph.shortest_path``
timed where route() calls it). The difference of two best-of-N times mixes the two runs' noise (the search's
spread alone is ~0.3 ms on a shared machine) and the caches the search leaves; "rest" is the non-search time of
one call. The baseline is ``analysis.analyze`` of the route's line alone (the border analysis that route() must
do at the least; the rest adds places, joins, path geometry, segments, CAREC km). No target of its own: it says
where route()'s time goes (issue 14's target, route() <= 3 ms between network nodes, is bench_routes.py's).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from bench_routes import CITY_PAIRS, NODE_PAIRS, best_ms, join_nodes

import corridors
from corridors import analysis, graph


def rest_ms(places: tuple[Any, Any], mode: str, n: int) -> float:
    """Least over n calls of route() minus the search inside the same call (ms)."""
    search = graph.shortest_path
    inside = [0.0]

    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        out = search(*args, **kwargs)
        inside[0] += time.perf_counter() - t
        return out

    graph.shortest_path = timed
    try:
        best = np.inf
        for _ in range(n):
            inside[0] = 0.0
            t = time.perf_counter()
            corridors.route(*places, mode=mode)
            best = min(best, time.perf_counter() - t - inside[0])
    finally:
        graph.shortest_path = search
    return float(best) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    n = ap.parse_args().repeat
    net = graph.load()
    print(f"{'pair':34s} {'route':>7s} {'search':>7s} {'differ':>7s} {'rest':>7s} {'analyze':>7s} {'rest/an':>7s}")
    for label, pairs, nodes in (("nodes", NODE_PAIRS, True), ("cities", CITY_PAIRS, False)):
        for a, b, mode in pairs:
            s, e = join_nodes(a, b, mode)
            places = (tuple(net.node_xy[s].tolist()), tuple(net.node_xy[e].tolist())) if nodes else (a, b)
            r = corridors.route(*places, mode=mode)  # warm
            t_route = best_ms(lambda p=places, m=mode: corridors.route(*p, mode=m), n)
            t_search = best_ms(lambda s=s, e=e, m=mode: graph.shortest_path(s, e, m), n)
            t_rest = rest_ms(places, mode, n)
            t_an = best_ms(lambda g=r.geometry: analysis.analyze(g), n)
            name = f"{label} {a} - {b}" + (f" ({mode})" if mode != "road" else "")
            print(f"{name:34s} {t_route:7.2f} {t_search:7.2f} {t_route - t_search:7.2f} {t_rest:7.2f} {t_an:7.2f} "
                  f"{t_rest / t_an:7.2f}")


if __name__ == "__main__":
    main()
