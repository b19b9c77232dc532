"""A small plain GeoJSON route file is read without GDAL (``io._read_plain_geojson``, for start-up): the frame must
be the one GDAL gives (``gpd.read_file``), and anything not plain must go to GDAL as before."""

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corridors
from corridors import io as cio

A = [[76.95, 43.25], [75.6, 43.1], [74.6, 42.87]]


def fc(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def feature(geom, props):
    return {"type": "Feature", "properties": props, "geometry": geom}


def line(coords):
    return {"type": "LineString", "coordinates": coords}


def multi(parts):
    return {"type": "MultiLineString", "coordinates": parts}


def same_as_gdal(path: Path) -> gpd.GeoDataFrame:
    """The plain reader's frame, checked against GDAL's (columns, dtypes, values, exact geometries, CRS)."""
    plain = cio._read_plain_geojson(path)
    assert plain is not None, "expected a plain file"
    gdal = gpd.read_file(path)
    pd.testing.assert_frame_equal(pd.DataFrame(plain.drop(columns="geometry")),
                                  pd.DataFrame(gdal.drop(columns="geometry")), check_dtype=True)
    assert list(plain.columns) == list(gdal.columns) and plain.crs == gdal.crs
    assert shapely.to_wkb(plain.geometry.values).tolist() == shapely.to_wkb(gdal.geometry.values).tolist()
    return plain


def write(tmp_path: Path, doc, name="r.geojson") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return p


@pytest.mark.parametrize("doc", [
    fc(feature(line(A), {"name": "Almaty - Bishkek"})),
    fc(feature(line(A), {})),
    fc(feature(line([[76, 43], [75, 43]]), {"name": "ints", "note": "Алматы → Бишкек"})),
    fc(feature(line(A), {"name": "a", "operator": "x"}), feature(multi([A, A[:2]]), {"name": "b", "operator": "y"})),
    fc(*[feature(line([[70 + i / 10, 40.0], [71, 41 + i / 100]]), {"z": f"route {i}", "a": "k"}) for i in range(50)]),
])
def test_plain_files_read_as_gdal_reads_them(tmp_path, doc):
    same_as_gdal(write(tmp_path, doc))


@pytest.mark.parametrize("doc", [
    fc(feature(line(A), {"name": "2021-01-01"})),  # GDAL reads it as a date
    fc(feature(line(A), {"name": "12:30"})),
    fc(feature(line(A), {"name": "x", "b": None})),  # nulls: GDAL's types for them differ
    fc(feature(line(A), {"n": 1})),
    fc(feature(line(A), {"name": "x"}), feature(line(A), {"other": "y"})),  # keys differ between features
    fc(feature(line(A), {"Name": "x", "name": "y"})),
    fc(feature(line(A), {"id": "x"})),
    fc(feature(line([[76.95, 43.25, 800.0], [75.6, 43.1, 700.0]]), {})),  # 3D
    fc(feature(line([[76.95, 43.25]]), {})),  # one position
    fc(feature({"type": "Point", "coordinates": [76.9, 43.2]}, {})),
    fc(feature(None, {})),
    fc(feature(line([[True, 43.25], [75.6, 43.1]]), {})),
    fc(),
    {**fc(feature(line(A), {})), "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}},
    {**feature(line(A), {})},
    '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": '
    '{"type": "LineString", "coordinates": [[NaN, 43.2], [75.6, 43.1]]}}]}',
    '{"type": "FeatureCollection", "type": "FeatureCollection", "features": []}',
    "not json",
])
def test_anything_else_goes_to_gdal(tmp_path, doc):
    assert cio._read_plain_geojson(write(tmp_path, doc)) is None


def test_large_files_go_to_gdal(tmp_path):
    n = cio.PLAIN_GEOJSON_BYTES // 10  # positions of 20+ bytes each
    p = write(tmp_path, fc(feature(line([[70 + i * 1e-6, 40.0] for i in range(n)]), {"name": "long"})))
    assert cio._read_plain_geojson(p) is None
    assert len(corridors.read_routes(p)) == 1


def test_errors_are_the_same_as_before(tmp_path):
    """What the checks after reading refuse is refused with the same message either way."""
    p = write(tmp_path, fc(feature(line([[196.95, 43.25], [75.6, 43.1]]), {"name": "far"})))
    assert cio._read_plain_geojson(p) is not None
    with pytest.raises(cio.RouteFileError, match=r"r.geojson feature 1 \('far'\): needs at least two \(lon, lat\)"):
        corridors.read_routes(p)


TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=12)
KEY = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd"), max_codepoint=0x4ff), min_size=1, max_size=8)
LON, LAT = st.floats(-180, 180, allow_nan=False), st.floats(-90, 90, allow_nan=False)
LINE = st.lists(st.lists(st.one_of(LON, st.integers(-180, 180)), min_size=2, max_size=2).map(
    lambda p: [p[0], max(-90, min(90, p[1]))]), min_size=2, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.lists(KEY, max_size=3, unique_by=str.casefold), data=st.data())
def test_random_plain_files_read_as_gdal_reads_them(tmp_path, keys, data):
    keys = [k for k in keys if k.casefold() not in cio._RESERVED]
    n = data.draw(st.integers(1, 4))
    features = []
    for _ in range(n):
        props = {k: data.draw(TEXT) for k in keys}
        geom = line(data.draw(LINE)) if data.draw(st.booleans()) else multi(data.draw(st.lists(LINE, min_size=1,
                                                                                             max_size=3)))
        features.append(feature(geom, props))
    p = write(tmp_path, fc(*features))
    if cio._read_plain_geojson(p) is not None:
        same_as_gdal(p)


@pytest.mark.parametrize("fmt", ["table", "json", "geojson"])
def test_analyze_prints_the_same_with_either_reader(tmp_path, monkeypatch, fmt):
    import contextlib
    import io

    from corridors import cli

    p = write(tmp_path, fc(feature(line(A), {"name": "Almaty - Bishkek"}), feature(multi([A, A[1:]]), {"name": "b"})),
              name="track.geojson")

    def run() -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert cli.main(["analyze", str(p), "--format", fmt]) == 0
        return out.getvalue()

    plain = run()
    monkeypatch.setattr(cio, "_read_plain_geojson", lambda path: None)  # GDAL, as before
    assert run() == plain
