"""Benchmark of route analysis (not a test). Prints ratios against a floor measured in the same run.

The floor: for the same lines, (1) the geodesic length of every line (pyproj ``Geod.inv`` over every segment,
summed per line) and (2) the exact set of (line, country polygon) pairs that intersect (an STRtree built on the
lines, queried once with each prepared country polygon, ``predicate="intersects"``: the polygons are few and big,
the lines many and small, so each polygon is prepared once and tested only against the lines in its box).
It is a floor because a correct per-country analysis must at least measure every segment on the ellipsoid and
decide, exactly, which countries each line touches; the floor stops there, while ``analyze`` goes on to cut the
lines at the borders, label and measure every piece, fold border noise, order the crossings, match them to
BCPs and build the results. No faster exact method for these two outputs is known to us (building the tree on
the polygons and querying it with the lines gives the same pairs about 30x slower; per-line
``GEOD.geometry_length`` is slower than one vectorised ``Geod.inv``).

Targets (issue 14): analyze_many of 10^4 and 10^5 random routes x 20 vertices within 2x of the floor, with
memory linear in the routes and under 400 MB at 10^5 (measured in a fresh process: the growth of its peak RSS
while analysing, results included); the analysis of every section and key route (``analyze_many`` of their ids,
as ``corridors report`` does) within 3x of the floor on the same lines. (``route()`` is benchmarked in
``bench/bench_routes.py``.) One ``analyze(id)`` call per section is printed too, without a target: it shows the fixed
cost of a single call.

Times are CPU seconds of this process (see ``best``).
Run: python bench/bench_analysis.py [--n 10000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import shapely

import corridors
from corridors.geodesy import GEOD


def synthetic_routes(n: int, vertices: int = 20, seed: int = 1) -> list[shapely.LineString]:
    """Random walks of ``vertices`` points (steps of about 0.35 degrees) starting anywhere in 50-90E, 36-50N."""
    rng = np.random.default_rng(seed)
    start = np.column_stack([rng.uniform(50, 90, n), rng.uniform(36, 50, n)])
    steps = rng.normal(0, 0.35, (n, vertices - 1, 2))
    xy = np.concatenate([start[:, None, :], start[:, None, :] + np.cumsum(steps, axis=1)], axis=1)
    return list(shapely.linestrings(xy))


def floor(lines: np.ndarray, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geodesic length of every line (km) and the exact intersecting (polygon, line) pairs."""
    xy, idx = shapely.get_coordinates(lines, return_index=True)
    same = idx[1:] == idx[:-1]
    d = GEOD.inv(xy[:-1, 0][same], xy[:-1, 1][same], xy[1:, 0][same], xy[1:, 1][same])[2]
    km = np.bincount(idx[:-1][same], weights=d, minlength=len(lines)) / 1000.0
    pairs = shapely.STRtree(lines).query(polygons, predicate="intersects")  # polygons prepared by the caller
    return km, pairs


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best CPU time of ``repeat`` runs (``time.process_time``): both sides are single-threaded, and CPU time is
    not inflated by other processes on a shared machine the way wall time is."""
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.process_time()
        result = fn()
        times.append(time.process_time() - t)  # freeing the result is not part of the work measured
        del result
    return min(times)


def side_by_side(ours: Callable[[], object], base: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best of ``repeat`` runs of each, interleaved so both see the same machine load."""
    t_ours, t_base = [], []
    for _ in range(repeat):
        t_base.append(best(base, 1))
        t_ours.append(best(ours, 1))
    return min(t_ours), min(t_base)


def peak_mb(fn: Callable[[], object]) -> float:
    """Peak of the memory allocated while ``fn`` runs (tracemalloc, MB), results included."""
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process from /proc, MB."""
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) for x in f if x.startswith(field + ":")) / 1024


def memory_child(n: int) -> None:
    """In a fresh process: RSS with the routes loaded, and the peak RSS during one analyze_many of n routes
    (results included); the peak is reset first (Linux: /proc/self/clear_refs). JSON on stdout."""
    corridors.analyze("1b")
    lines = synthetic_routes(n)
    gc.collect()
    before = status_mb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    res = corridors.analyze_many(lines)
    print(json.dumps({"before": before, "after": status_mb("VmHWM"), "routes": len(res)}))


def memory(n: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, __file__, "--memory-child", str(n)], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def line(label: str, ours: float, base: float, aim: float, unit: str = "s") -> None:
    k = 1000.0 if unit == "ms" else 1.0
    ok = "ok" if ours / base <= aim else "MISSED"
    print(f"  {label:42s} {ours * k:9.3f} {unit}  floor {base * k:9.3f} {unit}  ratio {ours / base:5.2f}x "
          f"(aim <= {aim:g}x) {ok}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000], help="numbers of random routes")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each timing (best is kept)")
    ap.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        return memory_child(args.memory_child)

    countries = corridors.countries()
    polygons = countries.geometry.values
    shapely.prepare(polygons)
    corridors.analyze("1b")  # warm caches: data files, spatial indexes, node tables

    print("analyze_many, random routes x 20 vertices (geodesic lengths + exact line/country pairs as the floor):")
    for n in args.n:
        lines = np.asarray(synthetic_routes(n))
        km, pairs = floor(lines, polygons)
        res = corridors.analyze_many(lines)
        assert np.allclose([r.length_km for r in res], km, atol=1e-3), "analyze_many and the floor disagree"
        del res
        reps = args.repeat if n <= 20_000 else 1
        t_ours, t_floor = side_by_side(lambda ls=lines: corridors.analyze_many(ls),
                                       lambda ls=lines: floor(ls, polygons), reps)
        line(f"{n:>7,} routes ({len(pairs[0]):,} line/country pairs)", t_ours, t_floor, 2.0)
        mb = peak_mb(lambda ls=lines: corridors.analyze_many(ls))
        m = memory(n)
        grown = m["after"] - m["before"]
        print(f"  {'':42s} memory: RSS {m['before']:.0f} MB with the routes loaded, peak {m['after']:.0f} MB "
              f"during analyze_many: +{grown:.0f} MB ({'ok' if grown < 400 else 'MISSED'} < 400 MB); "
              f"tracemalloc peak {mb:.0f} MB ({mb * 2**20 / n:,.0f} bytes per route, results included)")

    print("every section and key route by id (the floor on the same lines):")
    secs = corridors.sections()
    ids, geoms = secs.id.tolist(), np.asarray(secs.geometry.values)
    t_many, t_floor = side_by_side(lambda: corridors.analyze_many(ids), lambda: floor(geoms, polygons),
                                   args.repeat * 3)
    line(f"analyze_many(all {len(ids)} ids)", t_many, t_floor, 3.0, "ms")
    t_each, t_floor = side_by_side(lambda: [corridors.analyze(i) for i in ids], lambda: floor(geoms, polygons),
                                   args.repeat * 3)
    print(f"  {len(ids)} x analyze(id), one call each {t_each * 1000:9.3f} ms  floor {t_floor * 1000:9.3f} ms  "
          f"ratio {t_each / t_floor:5.2f}x (no target: {t_each / len(ids) * 1000:.2f} ms per call)")

    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
