"""The swapped-coordinates check (issue 14: start-up): known places are the corridor nodes, then the gazetteer's
towns of 15,000+, read only for ends near no node. Same answers as one index of both, checked by brute force."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import shapely

import corridors
from corridors import analysis, places
from corridors.analysis import OutsideDataWarning, RouteError

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _known_xy() -> np.ndarray:
    nodes = shapely.get_coordinates(corridors.nodes().geometry.values)
    return np.concatenate([nodes, places.big_towns()])


def _near_brute_force(ends: np.ndarray, within_deg: float) -> np.ndarray:
    known = _known_xy()
    d = np.hypot(ends[:, None, 0] - known[None, :, 0], ends[:, None, 1] - known[None, :, 1])
    return d.min(axis=1) <= within_deg


def test_big_towns_are_the_gazetteer_rows_of_15000_or_more():
    towns = places.big_towns()
    rows = [line.split("\t") for line in places._index()[1]]
    want = np.array([(float(r[2]), float(r[3])) for r in rows if int(r[5]) >= 15000])
    assert towns.shape == want.shape and (towns == want).all() and 10_000 < len(towns) < 12_000
    assert len(places.big_towns(0)) == len(rows) == 42_140  # the whole [towns] section, nothing past it


@pytest.mark.parametrize("within", [analysis.SWAP_NEAR_DEG, analysis.SWAP_AT_DEG])
def test_ends_at_places_matches_a_brute_force_search_of_nodes_and_towns(within):
    rng = np.random.default_rng(14)
    known = _known_xy()
    ends = np.concatenate([
        rng.uniform([25, 20], [125, 60], (3000, 2)),  # anywhere in the frame
        known[rng.integers(0, len(known), 400)] + rng.normal(0, within, (400, 2)),  # around nodes and towns
    ])
    assert (analysis._ends_at_places(ends, within) == _near_brute_force(ends, within)).all()


def test_a_swapped_line_between_towns_that_are_not_nodes_is_refused():
    """Both ends are towns of 15,000+ far from every corridor node: only the towns level can say so."""
    nodes = shapely.get_coordinates(corridors.nodes().geometry.values)
    towns = places.big_towns()
    far = np.hypot(towns[:, None, 0] - nodes[None, :, 0], towns[:, None, 1] - nodes[None, :, 1]).min(axis=1) > 0.5
    x0, y0, x1, y1 = analysis.FRAME
    ok = far & (towns[:, 1] >= x0) & (towns[:, 1] <= x1) & (towns[:, 0] >= y0) & (towns[:, 0] <= y1)  # swapped in
    ok &= ~_near_brute_force(towns[:, ::-1], analysis.SWAP_NEAR_DEG)  # as given (swapped) near no known place
    a, b = towns[np.flatnonzero(ok)[:2]]
    line = shapely.LineString([a[::-1], b[::-1]])
    with pytest.raises(RouteError, match=r"look like \(lat, lon\)"):
        corridors.analyze(line)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideDataWarning)
        right = corridors.analyze(shapely.LineString([a, b]))
    assert right.warnings == [] or all("swap" not in w for w in right.warnings)


def test_a_report_of_the_shipped_sections_reads_no_gazetteer():
    """Every section starts and ends at a node: the town index is neither built nor the gazetteer read."""
    code = ("import json, corridors\nfrom corridors import analysis, places\n"
            "corridors.analyze_many(corridors.sections()['id'].tolist())\n"
            "print(json.dumps([analysis._town_places.cache_info().currsize, places._index.cache_info().currsize]))")
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [0, 0]
