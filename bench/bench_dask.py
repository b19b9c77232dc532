"""Benchmark of analyze_many(engine="dask") (not a test). Prints, for each size, in the same run:

- the single-process baseline: in-memory ``io.to_frame(analyze_many(routes))`` (the same rows the dask path
  writes) on one partition's worth of the same routes (routes/s on one core; measured on a sample so 10^6
  routes do not need one process's memory);
- the dask run: partitioned GeoParquet in, GeoParquet out (results never gathered in the client),
  throughput overall and per worker (one single-threaded worker per core), and its ratio to the baseline
  (1.0 = perfect scaling; the overhead is scheduling, Parquet I/O and serialisation);
- the same per CPU second (baseline process vs the workers' own CPU time), which the other load on a
  shared machine does not distort;
- peak resident memory of each worker process (ru_maxrss, workers restarted before each size): it depends
  on the partition size, not on the total, so it stays flat from 10^5 to 10^6 routes.

Measured 2026-11-29 on 2 cores shared with other jobs (load average 5 to 12, so wall-clock ratios are low;
the CPU-second ratio is the fair one), 20 000 routes per partition, 2 workers:
    10^5 routes: 169 s, 592 routes/s; per CPU second 2227 vs 2678 in-memory = 0.83x; peak 680 MB per worker
    10^6 routes: 1037 s, 964 routes/s; per CPU second 2278 vs 2556 in-memory = 0.89x; peak 805 MB per worker

Run: python bench/bench_dask.py [--n 100000 1000000] [--workers N] [--scheduler tcp://host:8786]
     [--partition-rows 20000]
"""

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import corridors
from corridors import io


def routes_chunk(n: int, seed: int, vertices: int = 20) -> gpd.GeoDataFrame:
    """Seeded random walks starting inside the region (as bench_analysis.py draws them)."""
    rng = np.random.default_rng(seed)
    start = np.column_stack([rng.uniform(50, 90, n), rng.uniform(36, 50, n)])
    steps = rng.normal(0, 0.35, (n, vertices - 1, 2))
    xy = np.concatenate([start[:, None, :], start[:, None, :] + np.cumsum(steps, axis=1)], axis=1)
    return gpd.GeoDataFrame({"name": [f"r{seed}-{i}" for i in range(n)]}, geometry=shapely.linestrings(xy), crs=4326)


def write_routes(folder: Path, n: int, rows: int) -> None:
    """n routes as partitioned GeoParquet, one chunk at a time (the client never holds them all)."""
    folder.mkdir(parents=True)
    for k, lo in enumerate(range(0, n, rows)):
        chunk = routes_chunk(min(rows, n - lo), seed=k)
        chunk.index = range(lo, lo + len(chunk))
        chunk.to_parquet(folder / f"part.{k:05d}.parquet")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def warm() -> None:
    corridors.analyze("1b")  # import, data files, boundary layer: once per worker process


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000], help="numbers of routes")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="local workers (one core each)")
    ap.add_argument("--scheduler", help="address of an existing dask scheduler instead of a local cluster")
    ap.add_argument("--partition-rows", type=int, default=20_000)
    args = ap.parse_args()

    import distributed

    if args.scheduler:
        client = distributed.Client(args.scheduler)
    else:
        cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
    workers = len(client.scheduler_info()["workers"])
    tmp = Path(tempfile.mkdtemp(prefix="corridors-bench-dask-"))
    try:
        corridors.analyze("1b")  # warm this process's caches
        print(f"{workers} workers x 1 thread; {args.partition_rows} routes per partition; 20 vertices per route")
        print(f"{'routes':>9} {'baseline r/s/core':>18} {'dask s':>8} {'dask r/s':>9} {'r/s/worker':>11} "
              f"{'vs baseline':>11} {'peak MB/worker':>16}")
        for n in args.n:
            src, out = tmp / f"in-{n}", tmp / f"out-{n}"
            write_routes(src, n, args.partition_rows)
            sample = routes_chunk(min(n, args.partition_rows), seed=0)
            t, c = time.perf_counter(), time.process_time()
            io.to_frame(corridors.analyze_many(sample))  # the in-memory path, to the same rows
            base, base_cpu = len(sample) / (time.perf_counter() - t), len(sample) / (time.process_time() - c)
            client.restart()
            client.run(warm)
            cpu0 = client.run(cpu_s)
            t = time.perf_counter()
            corridors.analyze_many(src, engine="dask", scheduler=client, out=out)
            took = time.perf_counter() - t
            cpu = sum(client.run(cpu_s).values()) - sum(cpu0.values())
            peaks = client.run(peak_rss_mb)
            assert sum(len(pd.read_parquet(p, columns=["length_km"])) for p in out.glob("*.parquet")) == n
            rate = n / took
            print(f"{n:>9} {base:>18.0f} {took:>8.1f} {rate:>9.0f} {rate / workers:>11.0f} "
                  f"{rate / workers / base:>10.2f}x {max(peaks.values()):>10.0f} (max)   "
                  f"CPU: baseline {base_cpu:.0f} r/cpu-s, dask {n / cpu:.0f} r/cpu-s = {n / cpu / base_cpu:.2f}x")
            shutil.rmtree(src)
            shutil.rmtree(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        client.close()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
