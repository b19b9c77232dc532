"""Benchmark of route analysis (not a test). Prints ratios against baselines measured in the same run:

(a) the floor: raw pyproj ``Geod.inv`` over every segment + one STRtree query of the routes against the
    country polygons, on the same vertices (what any correct geodesic, per-country method must at least do);
(b) a per-route ``geopandas.overlay`` with the countries and a geodesic length of each piece.
Aim: analyze_many within 1.5x of (a) and at least 10x faster than (b).

Run: python bench/bench_analysis.py [N_ROUTES]
"""

import sys
import time

import geopandas as gpd
import numpy as np
import shapely

import corridors
from corridors.geodesy import GEOD


def synthetic_routes(n: int, vertices: int = 20, seed: int = 1) -> list[shapely.LineString]:
    rng = np.random.default_rng(seed)
    start = np.column_stack([rng.uniform(50, 90, n), rng.uniform(36, 50, n)])
    steps = rng.normal(0, 0.35, (n, vertices - 1, 2))
    xy = np.concatenate([start[:, None, :], start[:, None, :] + np.cumsum(steps, axis=1)], axis=1)
    return list(shapely.linestrings(xy))


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def floor(lines: list[shapely.LineString], polygons: np.ndarray) -> None:
    xy, idx = shapely.get_coordinates(lines, return_index=True)
    same = idx[1:] == idx[:-1]
    d = GEOD.inv(xy[:-1, 0][same], xy[:-1, 1][same], xy[1:, 0][same], xy[1:, 1][same])[2]
    np.bincount(idx[:-1][same], weights=d, minlength=len(lines))
    shapely.STRtree(polygons).query(lines, predicate="intersects")


def overlay(lines: list[shapely.LineString], countries: gpd.GeoDataFrame) -> None:
    for line in lines:
        pieces = gpd.overlay(gpd.GeoDataFrame(geometry=[line], crs=4326), countries[["iso_a3", "geometry"]],
                             how="intersection", keep_geom_type=True)
        [GEOD.geometry_length(g) for g in pieces.geometry]


def main(n: int) -> None:
    countries = corridors.countries()
    corridors.analyze("1b")  # warm caches: data files, spatial indexes
    ids = corridors.sections().id.tolist()
    t_sections = best_of(lambda: corridors.analyze_many(ids))
    lines = synthetic_routes(n)
    t_ours = best_of(lambda: corridors.analyze_many(lines), repeat=2)
    t_floor = best_of(lambda: floor(lines, countries.geometry.values))
    sample = lines[:100]
    t_overlay = best_of(lambda: overlay(sample, countries), repeat=1) * n / len(sample)
    print(f"all {len(ids)} sections and key routes: {t_sections * 1000:.0f} ms")
    print(f"{n} synthetic routes x 20 vertices:")
    print(f"  analyze_many             {t_ours:8.2f} s")
    print(f"  (a) floor Geod+STRtree   {t_floor:8.2f} s   ours / floor   = {t_ours / t_floor:6.2f}x (aim <= 1.5x)")
    print(f"  (b) per-route overlay    {t_overlay:8.2f} s   overlay / ours = {t_overlay / t_ours:6.1f}x (aim >= 10x)"
          f"   [extrapolated from {len(sample)} routes]")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
