"""Benchmark of command-line start-up (not a test). Each command runs in a fresh interpreter; the median of
several runs is compared with baselines measured in the same run:

- ``python -c pass``: the interpreter alone (the floor for anything);
- ``python -c "import geopandas"``: the floor for a command that reads the GeoJSON data.

Targets (issue 14): ``corridors --help`` and argument errors within 0.2 s (they import no geopandas); every other
command within 1.2x of importing geopandas. ``route`` is reported too; it also loads networkx and resolves
places, so its ratio says what routing adds on top.

Run: python bench/bench_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def timed(argv: list[str], runs: int) -> float:
    """Median wall time (s) of ``argv`` run ``runs`` times; it must exit 0, or 2 for an argument error."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run(argv, capture_output=True, env=env)
        times.append(time.perf_counter() - t)
        if out.returncode not in (0, 2):
            raise SystemExit(f"{argv} failed: {out.stderr.decode()[-400:]}")
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="runs per command (the median is kept)")
    args = ap.parse_args()
    py = sys.executable
    cli = [py, "-m", "corridors"]
    with tempfile.TemporaryDirectory() as tmp:
        track = Path(tmp) / "track.geojson"
        track.write_text(json.dumps({"type": "FeatureCollection", "features": [{
            "type": "Feature", "properties": {"name": "Almaty - Bishkek"},
            "geometry": {"type": "LineString", "coordinates": [[76.95, 43.25], [75.6, 43.1], [74.6, 42.87]]}}]}))
        t_python = timed([py, "-c", "pass"], args.runs)
        t_gpd = timed([py, "-c", "import geopandas"], args.runs)
        print(f"python -c pass {t_python:.3f} s; python -c 'import geopandas' {t_gpd:.3f} s")
        print("no geopandas (aim: <= 0.2 s):")
        for what in (["--help"], ["report", "--help"], ["route", "--mode", "boat", "Almaty"], ["nosuch"]):
            t = timed(cli + what, args.runs)
            print(f"  corridors {' '.join(what):34s} {t:6.3f} s  {'ok' if t <= 0.2 else 'MISSED'}"
                  f"   ({t / t_python:.1f}x python alone)")
        print("commands (aim: <= 1.2x import geopandas):")
        for what in (["list"], ["nodes", "--kind", "bcp"], ["report", "almaty-bishkek"], ["report"],
                     ["analyze", str(track)], ["compare", "almaty-bishkek", "1b"], ["route", "Almaty", "Bishkek"]):
            t = timed(cli + what, args.runs)
            label = " ".join(w if not w.endswith(".geojson") else "track.geojson" for w in what)
            print(f"  corridors {label:34s} {t:6.3f} s  {t / t_gpd:5.2f}x  {'ok' if t / t_gpd <= 1.2 else 'MISSED'}")


if __name__ == "__main__":
    main()
