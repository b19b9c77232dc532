"""Regenerate geodata/corridors.geojson and geodata/nodes.geojson from geodata/network/ (the source of truth)."""

from pathlib import Path

from corridors.network import write

if __name__ == "__main__":
    for p in write(Path(__file__).resolve().parents[1] / "geodata"):
        print("wrote", p)
