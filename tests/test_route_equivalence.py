"""route() gives byte for byte the results of the code before its lean rewrite (issue 14).

``fixtures/route_expected.json`` holds ``route(...).to_dict()``, the result's fields unrounded (floats as hex)
and the SHA-256 of the route line's WKB for the bench's routes between network nodes (given as their lon/lat), for
cities, a via route, a "time" route, a rail route and a place with no network near it. They are what commit
9facb8f's code gave (before ``route`` kept the network's segment lengths and analysed its line on the one-line
paths, and before the contraction hierarchy), to the last bit, with one intended change since: of two parallel
edges the weighted graph now keeps the lighter, not the shorter (``graph._weighted_arrays``), which on
Bishkek-Torugart picks a duplicate way of the same geometry, so only the last bits of its run km differ.

The figures depend on ``DATA_FILES``. When one of them changes the test fails (never skips) until the fixture is
remade: extract 9facb8f's src/ into a scratch folder (``git archive 9facb8f src | tar -x -C SCRATCH``), link the
current geodata/ beside it, run there ``PYTHONPATH=src python REPO/tests/test_route_equivalence.py --write
OLD.json`` (the old code), then the same in the repository with ``--write tests/fixtures/route_expected.json``
(the code under test), and check that the two files differ only where an intended change (as above) says so.
"""

from __future__ import annotations

import hashlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

FIXTURE = Path(__file__).parent / "fixtures" / "route_expected.json"
DATA_FILES = ("network.npz", "countries.geojson", "nodes.geojson", "corridors.geojson", "cpmm.csv",
              "cpmm_bcp_links.csv", "gazetteer.tsv", "network/bcp_status.csv")
# bench/bench_routes.py's node pairs: the network nodes its cities join, as (lon, lat)
NODE_PAIRS: list[tuple[str, tuple[float, float], tuple[float, float], str]] = [
    ("Almaty-Bishkek", (76.95992, 43.22869), (74.59155, 42.87516), "road"),
    ("Bishkek-Torugart", (74.59155, 42.87516), (75.39, 40.55), "road"),
    ("Tashkent-Dushanbe", (69.24039, 41.3107), (68.77364, 38.56038), "road"),
    ("Kabul-Peshawar", (69.17267, 34.52873), (71.58037, 34.0151), "road"),
    ("Baku-Tbilisi", (49.41, 39.95), (44.78405, 41.71484), "road"),
    ("Ulaanbaatar-Zamyn-Uud", (106.91916, 47.9183), (111.9053, 43.71839), "road"),
    ("Ashgabat-Bukhara", (58.38236, 37.9502), (64.424, 39.76657), "road"),
    ("Almaty-Tashkent", (76.95992, 43.22869), (69.24039, 41.3107), "road"),
]
CASES: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    *((f"nodes {n}", (a, b), {"mode": m}) for n, a, b, m in NODE_PAIRS),
    ("Almaty-Bishkek", ("Almaty", "Bishkek"), {}),
    ("Kabul-Peshawar", ("Kabul", "Peshawar"), {}),
    ("Kashgar-Peshawar", ("Kashgar", "Peshawar"), {}),
    ("Khorgos-Aktau rail", ("Khorgos", "Aktau"), {"mode": "rail"}),
    ("Baku-Tbilisi any", ("Baku", "Tbilisi"), {"mode": "any"}),
    ("Almaty-Tashkent time", ("Almaty", "Tashkent"), {"weight": "time"}),
    ("Almaty-Tashkent via", ("Almaty", "Tashkent"), {"via": ["Bishkek", "Osh"]}),
    ("off the network", ((60.0, 30.0), "Kabul"), {}),
]


def exact(v: Any) -> Any:
    """Every float (Python or numpy) as its hex form, so results compare to the last bit, not to 0.1 m."""
    if isinstance(v, float | np.floating):
        return float(v).hex()
    if isinstance(v, np.integer | np.bool_):
        return v.item()
    if isinstance(v, dict):
        return {str(k): exact(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [exact(x) for x in v]
    return v


def unrounded(r: Any) -> dict[str, Any]:
    """A result's fields (but its geometry) before ``to_dict`` rounds them."""
    return exact({k: v for k, v in vars(r).items() if k != "geometry" and not k.startswith("_")})


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def results() -> dict[str, Any]:
    import corridors

    out = {}
    for name, places, kw in CASES:
        r = corridors.route(*places, **kw)
        out[name] = {**r.to_dict(), "wkb_sha256": hashlib.sha256(shapely.to_wkb(r.geometry)).hexdigest(),
                     "unrounded": unrounded(r)}
    return json.loads(json.dumps(out, sort_keys=True))


@pytest.fixture(scope="module")
def expected(repo):
    exp = json.loads(FIXTURE.read_text(encoding="utf-8"))
    changed = [f for f, h in exp["data_sha256"].items() if _sha(repo / "geodata" / f) != h]
    if changed:
        pytest.fail(f"geodata/{', '.join(changed)} changed since the fixture was made: remake it with the old code "
                    "(see the module docstring)")
    return exp["routes"]


def test_routes_are_byte_for_byte_the_old_ones(expected):
    got = results()
    assert set(got) == set(expected)
    for name in expected:
        assert json.dumps(got[name], sort_keys=True) == json.dumps(expected[name], sort_keys=True), name


def test_path_xy_km_gives_the_path_and_its_geodesics():
    from corridors import geodesy, graph, routes

    for _, a, b, mode in NODE_PAIRS:
        s = graph.near_nodes(*a, mode, k=1, max_km=0.01)[0][0]
        t = graph.near_nodes(*b, mode, k=1, max_km=0.01)[0][0]
        nodes, edges = graph.shortest_path(s, t, mode)
        xy, km = routes.path_xy_km(nodes, edges)
        assert np.array_equal(xy, graph.path_coords(nodes, edges))
        want = np.asarray(geodesy.GEOD.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])[2]) / 1000.0
        assert np.array_equal(km, want)
        assert any(graph.load().u[e] != n for e, n in zip(edges, nodes))  # some edges are walked backwards


def test_a_segment_reached_from_elsewhere_is_measured(monkeypatch):
    """An edge whose geometry ends away from its node (here: moved 0.01 degree): the next edge's first segment
    starts where the path is, not at the vertex the table assumes, so it is measured, not read from the table."""
    import dataclasses

    from corridors import geodesy, graph, routes

    _, a, b, mode = NODE_PAIRS[0]
    s = graph.near_nodes(*a, mode, k=1, max_km=0.01)[0][0]
    t = graph.near_nodes(*b, mode, k=1, max_km=0.01)[0][0]
    nodes, edges = graph.shortest_path(s, t, mode)
    net = graph.load()
    q = np.array(net.coords_q)
    for e, n in zip(edges[:3], nodes):  # the last vertex of the first edges, in the direction of travel
        q[net.geom_offsets[e + 1] - 1 if net.u[e] == n else net.geom_offsets[e]] += 1000
    moved = dataclasses.replace(net, coords_q=q)
    monkeypatch.setattr(graph, "load", lambda: moved)
    table = routes._build_segment_km_table()[0]["km"]  # the table of the changed network
    monkeypatch.setattr(routes, "_segment_km_table", lambda: table)
    xy, km = routes.path_xy_km(nodes, edges)
    assert np.array_equal(xy, graph.path_coords(nodes, edges))
    want = np.asarray(geodesy.GEOD.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])[2]) / 1000.0
    assert np.array_equal(km, want)
    at = 0
    for e, n in zip(edges[:4], nodes):  # after a moved vertex, the table's length is not the path's
        lo, hi = int(net.geom_offsets[e]), int(net.geom_offsets[e + 1])
        if at:
            assert km[at] != table[lo if net.u[e] == n else hi - 2]
        at += hi - lo - 1


def test_the_network_geodesics_are_symmetric_bit_for_bit():
    """``path_xy_km`` reads a segment walked backwards from the table of forward lengths."""
    from corridors import geodesy, graph, routes

    q = graph.load().coords_q
    lon, lat = q[:, 0] / graph.QUANT, q[:, 1] / graph.QUANT
    back = np.asarray(geodesy.GEOD.inv(lon[1:], lat[1:], lon[:-1], lat[:-1])[2]) / 1000.0
    assert np.array_equal(routes._segment_km_table()[:-1], back)


def test_known_segment_lengths_change_nothing():
    import corridors
    from corridors import analysis, geodesy

    for sid in ("1a", "3b"):
        line = corridors.sections().set_index("id").geometry[sid]
        xy = np.asarray(line.coords) if line.geom_type == "LineString" else np.asarray(line.geoms[0].coords)
        line = shapely.linestrings(xy)
        km = np.asarray(geodesy.GEOD.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])[2]) / 1000.0
        assert analysis.analyze(line, segment_km=km).to_dict() == analysis.analyze(line).to_dict()
    with pytest.raises(ValueError, match="segment_km"):
        analysis.analyze(line, segment_km=km[:-1])


def test_one_line_is_analysed_as_in_a_batch():
    """A line alone takes the one-line paths (``_parts_many``, ``borders.split_xy``, ``_settle_boundaries``,
    ``_figures_many``); in a batch the vectorised ones. Both give the same figures to the last bit."""
    from test_analysis_equivalence import random_routes

    import corridors
    from corridors import analysis

    lines = [*random_routes(), *corridors.sections().geometry]
    lines += [shapely.reverse(g) for g in lines[:200]]
    batch = analysis.analyze_many(lines)
    for k, (g, want) in enumerate(zip(lines, batch)):
        with warnings.catch_warnings():  # a line that runs outside the data warns alone, and once in the batch
            warnings.simplefilter("ignore", analysis.OutsideDataWarning)
            got = analysis.analyze_many([g])[0]
        assert got.geometry is want.geometry
        assert json.dumps(unrounded(got), sort_keys=True) == json.dumps(unrounded(want), sort_keys=True), k


if __name__ == "__main__":  # the recipe: run with the old code on the PYTHONPATH (see the module docstring)
    if sys.argv[1:2] != ["--write"] or len(sys.argv) != 3:
        sys.exit("usage: PYTHONPATH=src python tests/test_route_equivalence.py --write FIXTURE.json")
    import corridors.data

    geodata = corridors.data.geodata_dir()
    doc = {"data_sha256": {f: _sha(geodata / f) for f in DATA_FILES}, "routes": results()}
    out = Path(sys.argv[2])
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out)
