"""Regenerate geodata/corridors.geojson, nodes.geojson and alignments.geojson from geodata/network/ (the source of
truth), tracing every section on the regional network geodata/network.npz (build that first with
scripts/build_network.py). ``--schematic``: skip the tracing (sections as geodesic node chains)."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from corridors.network import write  # noqa: E402

if __name__ == "__main__":
    t = time.perf_counter()
    for p in write(Path(__file__).resolve().parents[1] / "geodata", traced="--schematic" not in sys.argv[1:]):
        print("wrote", p)
    print(f"{time.perf_counter() - t:.1f} s")
