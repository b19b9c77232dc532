"""Regenerate geodata/corridors.geojson, nodes.geojson and alignments.geojson from geodata/network/ (the source of
truth), tracing every section on the regional network geodata/network.npz (build that first with
scripts/build_network.py), then geodata/section_figures.json (the analysis figures of every section and key
route, with the data hash they belong to). ``--schematic``: skip the tracing (sections as geodesic node chains).
``--figures``: only rewrite section_figures.json from the current data files (after a change of the analysis)."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import corridors  # noqa: E402
from corridors import data, routes  # noqa: E402
from corridors.network import write, write_atomic  # noqa: E402

NOT_STORED = ("geometry", "year", "assume_mode")  # the line is in corridors.geojson; year and mode are per command


def figure_records() -> list[dict[str, Any]]:
    """``corridors.analyze_many`` of every section and key route (in the order of ``sections()``) as plain
    records: every ``RouteAnalysis`` field but the geometry (and the CPMM year / mode, chosen per command), and
    ``carec``: km and share of ``routes.carec_share`` within ``routes.NEAR_CAREC_KM`` km (and that distance), as
    ``compare`` shows them.
    An id that another row's id or name would take when looked up is left out (``report`` then computes it)."""
    ids = [i for i in corridors.sections()["id"] if data.section_record(i)["id"] == i]
    return [{**{f.name: getattr(r, f.name) for f in dataclasses.fields(r) if f.name not in NOT_STORED},
             "carec": [*routes.carec_share(r.geometry, routes.NEAR_CAREC_KM), routes.NEAR_CAREC_KM]}
            for r in corridors.analyze_many(ids)]


def figures_text() -> str:
    """The text of geodata/section_figures.json: the data hash, then one route per line (JSON floats round-trip
    exactly, so the figures read back are the computed ones)."""
    head = {"about": "Figures of corridors.analyze_many for every shipped section and key route (RouteAnalysis "
                     "fields without the geometry; carec: km and share within a distance of a CAREC section, and that "
                     "distance in km), used by `corridors report` and `compare` only while data_sha256 is that of "
                     "the current data files (corridors.data.data_sha256). Generated: python "
                     "scripts/build_geodata.py --figures",
            "inputs": {n: data.file_sha256(data.geodata_dir() / n) for n in data.FIGURES_INPUTS},
            "data_sha256": data.data_sha256()}
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in figure_records()]
    return json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "routes": [\n' + ",\n".join(lines) + "\n]}\n"


def write_figures(geodata: Path) -> Path:
    path = geodata / data.FIGURES
    write_atomic(path, figures_text())
    return path


if __name__ == "__main__":
    t = time.perf_counter()
    geodata = Path(__file__).resolve().parents[1] / "geodata"
    if "--figures" not in sys.argv[1:]:
        for p in write(geodata, traced="--schematic" not in sys.argv[1:]):
            print("wrote", p)
    print("wrote", write_figures(geodata))
    print(f"{time.perf_counter() - t:.1f} s")
