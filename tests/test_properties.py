"""Issue 13: properties of the analysis on random lines in and around the region, in several CRSs.

Random lines start anywhere in lon 15..135 / lat 10..70 (the data's frame is lon 25..125, lat 20..60) or next to
a border crossing point (so that they cross borders and coasts), and are passed in EPSG:4326, Web Mercator, UTM
43N or an Albers equal-area projection of Asia. For every line: no exception but a clear RouteError; the
per-country lengths sum to the total within 1 m; crossings are ordered and within [0, length]; the reversed line
has the same per-country lengths and the mirrored crossings. Derandomised (same examples every run), sized for
CI (about 20 s).
"""

from __future__ import annotations

import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import corridors
from corridors.analysis import OutsideDataWarning, RouteError

ALBERS_ASIA = "+proj=aea +lat_1=25 +lat_2=55 +lat_0=40 +lon_0=75 +datum=WGS84 +units=m"
CRSS = {  # CRS -> lon range where its projection is sound
    "EPSG:4326": (15.0, 135.0),
    "EPSG:3857": (15.0, 135.0),
    "EPSG:32643": (55.0, 95.0),  # UTM 43N, central meridian 75E
    ALBERS_ASIA: (30.0, 120.0),
}
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _bcps() -> np.ndarray:
    return shapely.get_coordinates(corridors.nodes("bcp").geometry.values)


BCPS = _bcps()


@st.composite
def lines(draw: Any) -> tuple[str, np.ndarray]:
    crs = draw(st.sampled_from(sorted(CRSS)))
    lo, hi = CRSS[crs]
    if draw(st.booleans()):
        x, y = BCPS[draw(st.integers(0, len(BCPS) - 1))]
        start = (float(np.clip(x + draw(st.floats(-0.3, 0.3)), lo, hi)),
                 float(np.clip(y + draw(st.floats(-0.3, 0.3)), 10, 70)))
        step = 0.3
    else:
        start = (draw(st.floats(lo, hi)), draw(st.floats(10.0, 70.0)))
        step = draw(st.sampled_from([0.05, 0.5, 3.0]))
    n = draw(st.integers(2, 8))
    pts = [start]
    for _ in range(n - 1):
        dx, dy = draw(st.floats(-step, step)), draw(st.floats(-step, step))
        pts.append((float(np.clip(pts[-1][0] + dx, lo, hi)), float(np.clip(pts[-1][1] + dy, 10.0, 70.0))))
    xy = np.array(pts)
    assume(np.ptp(xy, axis=0).max() > 1e-6)
    return crs, xy


def _analyze(crs: str, xy: np.ndarray) -> corridors.RouteAnalysis | None:
    """The analysis of the line given in ``crs``; None when it is refused as (lat, lon) (a clear error)."""
    geom = gpd.GeoSeries([shapely.linestrings(xy)], crs=4326).to_crs(crs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OutsideDataWarning)
            return corridors.analyze(geom)
    except RouteError as exc:  # the only refusal a sound random line may get: the swapped-coordinates rule
        assert "look like (lat, lon)" in str(exc), exc
        return None


def _check(r: corridors.RouteAnalysis) -> None:
    assert r.length_km > 0
    assert sum(r.length_by_country_km.values()) == pytest.approx(r.length_km, abs=1e-3)  # 1 m
    assert all(v >= 0 for v in r.length_by_country_km.values())
    kms = [c["km"] for c in r.crossings]
    assert kms == sorted(kms)
    assert all(-1e-9 <= k <= r.length_km + 1e-9 for k in kms)
    for c in r.crossings:
        assert c["from"] != c["to"] and c["via"] in ("land", "sea", "outside")
    assert not set(r.countries) & {"sea", "outside"}


@SETTINGS
@given(lines())
def test_figures_are_consistent(line: tuple[str, np.ndarray]) -> None:
    r = _analyze(*line)
    if r is not None:
        _check(r)


@SETTINGS
@given(lines())
def test_many_equals_one_by_one(line: tuple[str, np.ndarray]) -> None:
    crs, xy = line
    one = _analyze(crs, xy)
    if one is None:
        return
    geoms = gpd.GeoDataFrame(geometry=[shapely.linestrings(xy)] * 2, crs=4326).to_crs(crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideDataWarning)
        many = corridors.analyze_many(geoms)
    assert [m.to_dict() for m in many] == [one.to_dict()] * 2


def _reversal(line: tuple[str, np.ndarray]) -> None:
    crs, xy = line
    fwd, back = _analyze(crs, xy), _analyze(crs, xy[::-1])
    if fwd is None or back is None:
        return
    assert back.length_km == pytest.approx(fwd.length_km, abs=1e-6)
    for k in set(back.length_by_country_km) | set(fwd.length_by_country_km):  # every key within 1 m
        assert back.length_by_country_km.get(k, 0.0) == pytest.approx(fwd.length_by_country_km.get(k, 0.0),
                                                                      abs=1e-3), k
    mirrored = [(c["to"], c["from"], c["via"]) for c in reversed(fwd.crossings)]
    assert [(c["from"], c["to"], c["via"]) for c in back.crossings] == mirrored
    for c, d in zip(reversed(fwd.crossings), back.crossings):
        if c["via"] == "land":
            assert d["km"] == pytest.approx(fwd.length_km - c["km"], abs=1e-3)


@SETTINGS
@given(lines())
def test_reversing_mirrors_crossings_and_keeps_lengths(line: tuple[str, np.ndarray]) -> None:
    _reversal(line)


@SETTINGS
@given(lines().filter(lambda line: not (
    (line[1][:, 0] > 25) & (line[1][:, 0] < 125) & (line[1][:, 1] > 20) & (line[1][:, 1] < 60)).any()))
def test_reversing_outside_the_data(line: tuple[str, np.ndarray]) -> None:
    """Lines wholly outside the countries' frame: no folding involved, so reversal must already hold."""
    _reversal(line)


def test_reversing_along_a_border_is_symmetric() -> None:
    c = corridors.countries().set_index("iso_a3").geometry
    for a, b in (("KAZ", "KGZ"), ("KAZ", "UZB"), ("AZE", "GEO")):
        merged = shapely.line_merge(c[a].boundary.intersection(c[b].boundary))
        for part in getattr(merged, "geoms", [merged]):
            xy = shapely.get_coordinates(part)
            if len(xy) >= 2:
                _reversal(("EPSG:4326", xy))


ZONES = gpd.GeoDataFrame(  # a user's own polygon layer: two touching boxes and a detached one, in metres
    {"zone": ["west", "east", "north"]},
    geometry=[shapely.box(60, 38, 70, 46), shapely.box(70, 38, 80, 46), shapely.box(62, 50, 75, 56)], crs=4326,
).to_crs(3857)


@SETTINGS
@given(lines())
def test_own_polygon_layer(line: tuple[str, np.ndarray]) -> None:
    """With ``countries=`` a user's layer (in another CRS), the same invariants hold, the open label is
    'outside' (never 'sea'), and reversing keeps every zone's length."""
    crs, xy = line
    geom = gpd.GeoSeries([shapely.linestrings(xy)], crs=4326).to_crs(crs)
    fwd = corridors.analyze(geom, countries=ZONES, id_column="zone")
    back = corridors.analyze(geom.reverse(), countries=ZONES, id_column="zone")
    _check(fwd)
    assert set(fwd.length_by_country_km) <= {"west", "east", "north", "outside"}
    for k in set(fwd.length_by_country_km) | set(back.length_by_country_km):
        assert back.length_by_country_km.get(k, 0.0) == pytest.approx(fwd.length_by_country_km.get(k, 0.0), abs=1e-3)
