"""Benchmark of command-line start-up (not a test). Each command runs in a fresh interpreter; the median of
several runs is compared with baselines measured in the same run:

- ``python -c pass``: the interpreter alone (the floor for anything);
- ``python -c "import geopandas"``: the floor for a command that reads the GeoJSON data (the issue's baseline);
- the same with ``gc.freeze()`` before exit, as ``corridors`` itself exits (``cli.run``): the like-for-like floor,
  since that exit skips ~0.1 s of collector work at teardown that the plain baseline still pays. Each command's
  verdict is given against both; only "ok" against both is a clean pass.

Targets (issue 14): ``corridors --help`` and argument errors within 0.2 s (they import no geopandas); every other
command within 1.2x of importing geopandas. ``route`` is reported too; it also loads the network and
resolves places, so its ratio says what routing adds on top.

Conditions, as for an installed package: the package's bytecode is compiled first (``pip install`` does that;
with PYTHONDONTWRITEBYTECODE set, every run would otherwise recompile the package, ~50 ms), and the per-user cache
of parsed data files (``corridors.data.cache_dir()``) lives in a temporary folder, filled by one untimed round.
The first run with an empty cache is reported separately (``report``, cold): it parses the GeoJSON and writes
the cache. What a warm cache holds besides the parsed frames: the CPMM rows and time/cost lookups, the network
arrays, and the data files' SHA-256 (``data.file_sha256``). ``report`` and ``compare`` of shipped ids read the
figures precomputed in ``geodata/section_figures.json`` (valid for the current data files only).

Run: python bench/bench_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def run(argv: list[str], cache: str) -> tuple[float, float]:
    """Wall time and CPU time (user + system, s) of one run of ``argv``; it must exit 0, or 2 for an argument
    error. CPU time is what the command costs whatever else the machine runs; wall time is what a user waits."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "CORRIDORS_CACHE_DIR": cache}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, env=env)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode not in (0, 2):
        raise SystemExit(f"{argv} failed: {out.stderr.decode()[-400:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="runs per command (the median is kept)")
    args = ap.parse_args()
    py = sys.executable
    cli = [py, "-m", "corridors"]
    compileall.compile_dir(SRC / "corridors", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        cache = str(Path(tmp) / "cache")
        track = Path(tmp) / "track.geojson"
        track.write_text(json.dumps({"type": "FeatureCollection", "features": [{
            "type": "Feature", "properties": {"name": "Almaty - Bishkek"},
            "geometry": {"type": "LineString", "coordinates": [[76.95, 43.25], [75.6, 43.1], [74.6, 42.87]]}}]}))
        light = [["--help"], ["report", "--help"], ["route", "--mode", "boat", "Almaty"], ["nosuch"]]
        heavy = [["list"], ["nodes", "--kind", "bcp"], ["report", "almaty-bishkek"], ["report"],
                 ["analyze", str(track)], ["compare", "almaty-bishkek", "1b"], ["route", "Almaty", "Bishkek"]]
        argvs = {"python": [py, "-c", "pass"], "geopandas": [py, "-c", "import geopandas"],
                 "geopandas+freeze": [py, "-c", "import gc, geopandas; gc.freeze()"]}
        argvs.update({" ".join(w if not w.endswith(".geojson") else "track.geojson" for w in what): cli + what
                      for what in light + heavy})
        cold = statistics.median(run(cli + ["report"], str(Path(tmp) / f"cold{i}"))[0] for i in range(3))
        for argv in argvs.values():  # fills the cache, as a user's first run does
            run(argv, cache)
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in argvs}
        for _ in range(args.runs):  # round robin: every command sees the same machine load
            for k, argv in argvs.items():
                times[k].append(run(argv, cache))
    t = {k: statistics.median(w for w, _ in v) for k, v in times.items()}
    c = {k: statistics.median(u for _, u in v) for k, v in times.items()}
    print(f"median of {args.runs} runs each (wall / CPU): python -c pass {t.pop('python'):.3f} / "
          f"{c.pop('python'):.3f} s; python -c 'import geopandas' {t['geopandas']:.3f} / {c['geopandas']:.3f} s")
    t_gpd, c_gpd = t.pop("geopandas"), c.pop("geopandas")
    t.pop("geopandas+freeze")
    c_frz = c.pop("geopandas+freeze")
    print(f"python -c 'import gc, geopandas; gc.freeze()' CPU {c_frz:.3f} s (the like-for-like floor)")
    names = list(t)
    print("no geopandas (aim: <= 0.2 s wall):")
    for k in names[:len(light)]:
        print(f"  corridors {k:34s} {t[k]:6.3f} s  {'ok' if t[k] <= 0.2 else 'MISSED'}")
    print("commands (aim: <= 1.2x import geopandas), wall and CPU ratios; CPU ratio to the like-for-like floor:")
    for k in names[len(light):]:
        ok = "ok" if max(c[k] / c_gpd, c[k] / c_frz) <= 1.2 else "MISSED"
        print(f"  corridors {k:34s} {t[k]:6.3f} s {t[k] / t_gpd:5.2f}x  CPU {c[k]:6.3f} s {c[k] / c_gpd:5.2f}x"
              f"  like-for-like {c[k] / c_frz:5.2f}x  {ok}")
    print(f"first run, empty data cache (median of 3):\n  corridors {'report':34s} {cold:6.3f} s  {cold / t_gpd:5.2f}x")


if __name__ == "__main__":
    main()
