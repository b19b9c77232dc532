"""Benchmark of the maps (not a test): every figure printed with its baseline measured in the same run.

1. ``corridors build`` of the whole set, in a fresh process. Floor: a fresh process that imports geopandas and
   the analysis and runs ``analyze_many`` over every section (the figures every page shows) and writes the
   same number of bytes: the build cannot do less than start Python, compute the figures and write the
   pages. Target: build <= 2.5 s.
2. Size of each page against its budget (350 KB). Floor: the bytes every page must hold whatever its content,
   Leaflet (JS and CSS) and the map program inlined once.
3. ``make_map`` / ``page`` of the user's own lines (N x 20 vertices): time and page size. Floor: the
   analysis of the lines (``analyze_many``, the figures each popup shows) plus ``shapely.to_geojson`` of
   them (the least any page must serialise). Targets: 10^4 lines <= 2 s and <= 7 MB; 10^5 <= 20 s.

The build and the user-lines runs use a temporary per-user data cache (``CORRIDORS_CACHE_DIR``), filled by a
first untimed build, as on a user's machine after the first run.

Run: PYTHONPATH=src python bench/bench_maps.py [--quick] [--no-build]   (--quick leaves out the 10^5 lines, about
two minutes; --no-build only times the user's lines)
"""

from __future__ import annotations

import compileall
import math
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from corridors import analysis, atlas, maps

SRC = Path(__file__).parents[1] / "src"


def synthetic_routes(n: int, vertices: int = 20, seed: int = 1) -> gpd.GeoDataFrame:
    """The same random walks as bench_analysis.py, named route 1..n."""
    rng = np.random.default_rng(seed)
    start = np.column_stack([rng.uniform(50, 90, n), rng.uniform(36, 50, n)])
    steps = rng.normal(0, 0.35, (n, vertices - 1, 2))
    xy = np.concatenate([start[:, None, :], start[:, None, :] + np.cumsum(steps, axis=1)], axis=1)
    return gpd.GeoDataFrame({"name": [f"route {i + 1}" for i in range(n)]}, geometry=shapely.linestrings(xy),
                            crs=4326)


def run(code: str, cache: str) -> tuple[float, float]:
    """Wall and CPU time (user + system) of a fresh process running ``code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                   env={"PYTHONPATH": str(SRC), "CORRIDORS_CACHE_DIR": cache})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - t, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def bench_build() -> None:
    compileall.compile_dir(SRC / "corridors", quiet=1)  # as installed: bytecode compiled once
    with tempfile.TemporaryDirectory() as tmp:
        out, cache = Path(tmp) / "maps", str(Path(tmp) / "cache")
        code = f"from corridors import cli; cli.main(['build', '--out', {str(out)!r}])"
        first = run(code, cache)[0]  # fills the data cache
        build, build_cpu = min(run(code, cache) for _ in range(3))
        total = sum(p.stat().st_size for p in out.iterdir())
        floor, floor_cpu = min(run("import geopandas\nfrom corridors import analysis, data\n"
                                   "analysis.analyze_many(data.sections()['id'].tolist())\n"
                                   f"open({str(Path(tmp) / 'x')!r}, 'wb').write(b'x' * {total})", cache)
                               for _ in range(3))
        print(f"build, fresh process      {build:7.2f} s   floor {floor:5.2f} s   ratio {build / floor:5.2f}   "
              f"(target <= 2.5 s: {'met' if build <= 2.5 else 'NOT met on this machine'}; first build, empty data "
              f"cache: {first:.2f} s)\n   CPU time: build {build_cpu:.2f} s, floor {floor_cpu:.2f} s, ratio "
              f"{build_cpu / floor_cpu:.2f}")
        head = len(maps.inline_assets().encode())
        print(f"page floor (Leaflet + program inlined once): {head:,} bytes")
        for p in sorted(out.iterdir()):
            if p.name != "index.html":
                n = p.stat().st_size
                print(f"  {p.name:24} {n:9,} bytes   {n / 350_000:5.2f} of 350 KB   {n / head:5.2f} x floor")


def bench_user(n: int) -> None:
    gdf = synthetic_routes(n)
    t = time.perf_counter()
    res = analysis.analyze_many(gdf)
    analysed = time.perf_counter() - t
    shapely.to_geojson(gdf.geometry.values)
    floor = time.perf_counter() - t
    t = time.perf_counter()
    html = maps.page(maps.routes_spec(gdf, offline=True))
    ours = time.perf_counter() - t
    tracemalloc.start()  # separately: tracing slows allocation-heavy code several-fold
    maps.page(maps.routes_spec(gdf, offline=True, results=res))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    t = time.perf_counter()
    maps.page(maps.routes_spec(gdf, offline=True, results=res))
    drawing = time.perf_counter() - t
    t = time.perf_counter()
    maps.render(maps.make_map(gdf, offline=True, results=res))
    folium_wrap = time.perf_counter() - t
    size = len(html.encode())
    goal, budget = (2.0, 7e6) if n <= 10_000 else (20.0, math.inf)
    met = "met" if ours <= goal and size <= budget else "NOT met on this machine"
    print(f"make_map {n:>7,} lines x 20: {ours:6.2f} s (floor {floor:5.2f} s of which analyze_many {analysed:5.2f} s, "
          f"ratio {ours / floor:4.2f}; drawing alone {drawing:5.2f} s, as folium.Map {folium_wrap:5.2f} s); "
          f"page {size / 1e6:5.2f} MB; drawing's peak Python memory {peak / 1e6:6.1f} MB")
    print(f"   (target <= {goal:g} s{', <= 7 MB' if n <= 10_000 else ''}: {met}; the floor is most of it: see "
          "bench_analysis.py for analyze_many against its own floor)")


def main() -> None:
    warnings.simplefilter("ignore")  # random walks stray outside the data: the analysis warns, as it should
    t = time.perf_counter()
    if "--no-build" not in sys.argv:
        bench_build()
    atlas.pages(offline=True)  # warm caches (base layer) as a long-lived process would have them
    bench_user(10_000)
    if "--quick" not in sys.argv:
        bench_user(100_000)
    print(f"({time.perf_counter() - t:.1f} s)")


if __name__ == "__main__":
    main()
