"""The vectorised analysis reproduces the figures of the implementation it replaced (issue 14).

``fixtures/analysis_expected.json`` holds the figures the previous implementation (commit d486d3c) gave for
seeded random routes (the benchmark's kind: 20-vertex random walks over Central Asia, a few as
MultiLineStrings) and for every section and key route. The new pipeline must give the same lengths within
1 m and the same crossings (same countries, same BCPs) in the same order.

The figures depend on ``DATA_FILES`` too (borders; BCP names at crossings). When one of them changes, the test
fails (never skips) until the fixture is remade the same way: a worktree at d486d3c with the current
``countries.geojson`` and ``nodes.geojson`` copied into its geodata/, ``summary`` of ``random_routes()`` computed
with that code, stored under "random" with the files' new SHA-256.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import shapely

import corridors

FIXTURE = Path(__file__).parent / "fixtures" / "analysis_expected.json"
DATA_FILES = ("countries.geojson", "nodes.geojson")  # what the random routes' figures depend on
N_RANDOM, N_MULTI = 1000, 50
M_KM = 0.001  # 1 m
# Routes whose figures change on purpose: short runs are now folded shortest first, so a line and its reverse give
# the same figures. The old order depended on the direction (route 910's first part: KAZ 275.682 km forwards,
# 274.280 km backwards; now 274.280 km both ways).
FOLD_ORDER_CHANGED = {910}


def random_routes(n: int = N_RANDOM, vertices: int = 20, seed: int = 14) -> list[shapely.Geometry]:
    """Seeded 20-vertex random walks over Central Asia; the last N_MULTI pairs joined as MultiLineStrings."""
    rng = np.random.default_rng(seed)
    start = np.column_stack([rng.uniform(50, 90, n), rng.uniform(36, 50, n)])
    steps = rng.normal(0, 0.35, (n, vertices - 1, 2))
    xy = np.concatenate([start[:, None, :], start[:, None, :] + np.cumsum(steps, axis=1)], axis=1)
    lines = list(shapely.linestrings(np.round(xy, 6)))
    single = lines[:n - 2 * N_MULTI]
    multi = [shapely.MultiLineString([a, b]) for a, b in zip(lines[n - 2 * N_MULTI::2], lines[n - 2 * N_MULTI + 1::2])]
    return single + multi


def summary(r, nodes: bool = False) -> dict:
    """The figures compared: lengths (km, 4 decimals: 0.1 m), countries, crossings, sea legs (and chainage)."""
    def k(v):
        return None if v is None else round(float(v), 4)
    out = {
        "length_km": k(r.length_km),
        "by_country": {c: k(v) for c, v in r.length_by_country_km.items()},
        "countries": list(r.countries),
        "crossings": [[c["from"], c["to"], k(c["km"]), c["via"], c["bcp_id"]] for c in r.crossings],
        "sea_legs": [[s["from_country"], s["to_country"], k(s["start_km"]), k(s["end_km"]), s["from_port"],
                      s["to_port"]] for s in r.sea_legs],
    }
    if nodes:
        out["nodes"] = [[n["id"], k(n["km"])] for n in r.nodes]
        out["by_mode"] = {m: k(v) for m, v in r.length_by_mode_km.items()}
    return out


@pytest.fixture(scope="module")
def expected(repo):
    exp = json.loads(FIXTURE.read_text(encoding="utf-8"))
    changed = [f for f, h in exp["data_sha256"].items()
               if hashlib.sha256((repo / "geodata" / f).read_bytes()).hexdigest() != h]
    if changed:
        pytest.fail(f"geodata/{', '.join(changed)} changed since the fixture was made: re-run the random routes "
                    "with commit d486d3c's code on the current data files (see the module docstring)")
    return exp


def assert_same(got: dict, want: dict, what: str) -> None:
    assert got["length_km"] == pytest.approx(want["length_km"], abs=M_KM), what
    assert got["countries"] == want["countries"], what
    assert set(got["by_country"]) == set(want["by_country"]), what
    for c, km in want["by_country"].items():
        assert got["by_country"][c] == pytest.approx(km, abs=M_KM), (what, c)
    assert [c[:2] + c[3:] for c in got["crossings"]] == [c[:2] + c[3:] for c in want["crossings"]], what
    assert [c[2] for c in got["crossings"]] == pytest.approx([c[2] for c in want["crossings"]], abs=M_KM), what
    assert [s[:2] + s[4:] for s in got["sea_legs"]] == [s[:2] + s[4:] for s in want["sea_legs"]], what
    got_km = [v for s in got["sea_legs"] for v in s[2:4]]
    assert got_km == pytest.approx([v for s in want["sea_legs"] for v in s[2:4]], abs=M_KM), what
    if "nodes" in want:
        assert [n[0] for n in got["nodes"]] == [n[0] for n in want["nodes"]], what
        assert [n[1] for n in got["nodes"]] == pytest.approx([n[1] for n in want["nodes"]], abs=M_KM), what
        assert got["by_mode"] == pytest.approx(want["by_mode"], abs=M_KM), what


def test_random_routes_give_the_old_figures(expected):
    got = [summary(r) for r in corridors.analyze_many(random_routes())]
    assert len(got) == len(expected["random"])
    for i, (g, w) in enumerate(zip(got, expected["random"])):
        if i in FOLD_ORDER_CHANGED:
            continue
        if i < N_RANDOM - 2 * N_MULTI:  # single lines first, then the two-part routes
            assert_same(g, w, f"random route {i}")
            continue
        # two-part routes whose parts do not meet: the old code inferred a crossing across the gap (a phantom,
        # issue 13); now the gap is reported and only the crossings inside each part remain, at the same km
        assert g["by_country"] == pytest.approx(w["by_country"], abs=M_KM), i
        old = [tuple(c[:2]) + (round(c[2], 3),) for c in w["crossings"]]
        new = [tuple(c[:2]) + (round(c[2], 3),) for c in g["crossings"]]
        assert all(c in old for c in new) and len(old) - len(new) <= 1, i


def test_routes_changed_by_direction_independent_folding_keep_their_length_and_are_symmetric(expected):
    lines = random_routes()
    for i in FOLD_ORDER_CHANGED:
        fwd, back = corridors.analyze(lines[i]), corridors.analyze(shapely.reverse(lines[i]))
        assert fwd.length_km == pytest.approx(expected["random"][i]["length_km"], abs=M_KM)
        assert fwd.length_by_country_km == pytest.approx(back.length_by_country_km, abs=M_KM)
        assert summary(fwd) != expected["random"][i]


def test_many_sections_at_once_give_the_same_figures_as_one_by_one():
    """(The sections' own old figures were dropped from the fixture when the sections were traced on the road
    and rail network: their geometry changed on purpose.)"""
    ids = corridors.sections().id.tolist()
    for i, r in zip(ids, corridors.analyze_many(ids)):
        assert_same(summary(r, nodes=True), summary(corridors.analyze(i), nodes=True), i)


# ---------------------------------------------------------------- fixes in the core (issue 14)

def test_a_route_and_its_reverse_give_the_same_figures():
    """Short runs fold shortest first: before, this line gave TUR 26.64 km forwards and 28.11 km backwards."""
    line = shapely.LineString([(28.57, 35.4), (29.86, 36.34)])
    fwd, back = corridors.analyze(line), corridors.analyze(shapely.reverse(line))
    assert fwd.length_by_country_km["TUR"] == pytest.approx(26.64, abs=0.01)
    assert fwd.length_by_country_km == pytest.approx(back.length_by_country_km, abs=M_KM)


def test_every_random_route_reversed_gives_the_same_lengths_and_mirrored_crossings():
    lines = [g for g in random_routes() if g.geom_type == "LineString"]
    fwd = corridors.analyze_many(lines)
    back = corridors.analyze_many([shapely.reverse(g) for g in lines])
    for i, (f, b) in enumerate(zip(fwd, back)):
        assert f.length_by_country_km == pytest.approx(b.length_by_country_km, abs=M_KM), i
        assert [(c["from"], c["to"]) for c in f.crossings] == [(c["to"], c["from"]) for c in b.crossings][::-1], i


@pytest.fixture(scope="module")
def kaz_kgz_border() -> shapely.LineString:
    c = corridors.countries().set_index("iso_a3").geometry
    shared = shapely.line_merge(shapely.intersection(c["KAZ"].boundary, c["KGZ"].boundary))
    return max(getattr(shared, "geoms", [shared]), key=lambda g: g.length)


def test_a_line_along_a_border_stays_in_one_country_without_phantom_crossings(kaz_kgz_border):
    """Before: 287 km 'sea' and 55 crossings for the KAZ-KGZ border drawn as a line."""
    for line in (kaz_kgz_border, shapely.reverse(kaz_kgz_border), shapely.segmentize(kaz_kgz_border, 0.01)):
        r = corridors.analyze(line)
        assert r.length_km > 900
        assert r.crossings == [] and r.sea_legs == []
        assert list(r.length_by_country_km) == ["KAZ"]  # on a shared border the lower layer index wins
        assert r.length_by_country_km["KAZ"] == pytest.approx(r.length_km, abs=M_KM)


def test_a_line_along_a_border_that_leaves_it_takes_the_side_it_leaves_to(kaz_kgz_border):
    """A run lying on a boundary takes the side of its neighbouring run (README: lines along a border), so a line
    that follows the KAZ-KGZ border and then steps into KGZ is in KGZ throughout: no phantom crossing."""
    xy = shapely.get_coordinates(kaz_kgz_border)
    m = len(xy) // 2
    kgz = corridors.countries().set_index("iso_a3").geometry["KGZ"]
    dx, dy = xy[m + 1] - xy[m - 1]
    normal = np.array([-dy, dx]) / np.hypot(dx, dy) * 0.02  # about 2 km off the border
    off = next(p for p in (xy[m] + normal, xy[m] - normal) if kgz.contains(shapely.Point(p)))
    r = corridors.analyze(shapely.LineString([*xy[:m + 1], off]))
    assert r.countries == ["KGZ"] and r.crossings == []
    assert r.length_by_country_km == {"KGZ": pytest.approx(r.length_km, abs=M_KM)}


def write_fixture(path: Path = FIXTURE) -> None:
    """Regenerate the fixture with whatever ``corridors`` is importable. Run it against the implementation the new
    one must match (e.g. ``git worktree add /tmp/old d486d3c`` and ``PYTHONPATH=/tmp/old/src python
    tests/test_analysis_equivalence.py``), never against the code under test."""
    repo = Path(__file__).resolve().parents[1]
    out = {
        "made_by": "corridors analysis at commit d486d3c (before the issue-14 rewrite); "
                   "tests/test_analysis_equivalence.py",
        "data_sha256": {f: hashlib.sha256((repo / "geodata" / f).read_bytes()).hexdigest() for f in DATA_FILES},
        "random": [summary(r) for r in corridors.analyze_many(random_routes())],
    }
    path.write_text(json.dumps(out, separators=(",", ":"), sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    write_fixture()
