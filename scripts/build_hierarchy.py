"""Build geodata/hierarchy.npz: the contraction hierarchy of each mode's "distance" graph (corridors.hierarchy).

Usage: python scripts/build_hierarchy.py [--modes road rail any]

Derived only from geodata/network.npz and geodata/network/bcp_status.csv (through corridors.graph, as the
library routes on them); records the SHA-256 of both files, the class factors and, per mode, the fingerprint of
the weighted graph it was built on (corridors.hierarchy uses the file only when that fingerprint matches).
Deterministic: the same inputs give a byte-identical file. About 90 s of CPU (road 42 s, rail 2 s, any 45 s).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from corridors import data, graph, hierarchy  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modes", nargs="+", default=list(hierarchy.MODES), choices=hierarchy.MODES)
    ap.add_argument("--out", type=Path, default=hierarchy.path_file())
    modes = ap.parse_args().modes
    out = ap.parse_args().out
    status = data.geodata_dir() / "network" / graph.STATUS_FILE
    meta = {"version": hierarchy.VERSION, "built_by": "scripts/build_hierarchy.py",
            "network_sha256": data.file_sha256(graph.geodata_path()),
            "bcp_status_sha256": data.file_sha256(status) if status.is_file() else None,
            "class_factor": dict(sorted(graph.CLASS_FACTOR.items())), "witness_settle": hierarchy.WITNESS_SETTLE,
            "closed_bcps": sorted(graph.closed_bcps()), "fingerprint": {}, "licence": "ODbL 1.0 (derived from "
            "network.npz: © OpenStreetMap contributors, © OpenMapTiles)"}
    arrays = {}
    for mode in modes:
        t = time.process_time()
        wg = graph.weighted_graph(mode)
        ch = hierarchy.build(wg, graph.mode_graph(mode).nodes.tolist())
        n_orig = int((ch["mid"] < 0).sum())
        print(f"{mode}: {len(graph.mode_graph(mode).nodes)} nodes, {len(ch['cols'])} upward entries "
              f"({n_orig} of the graph, {len(ch['cols']) - n_orig} shortcuts), "
              f"{time.process_time() - t:.1f} s CPU", flush=True)
        meta["fingerprint"][mode] = hierarchy.fingerprint(wg)
        arrays.update({f"{mode}_{k}": v for k, v in ch.items()})
    hierarchy.write(out, arrays, meta)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
