"""Route analysis against known values, invariants (hypothesis) and bad input."""

import json
import math

import geopandas as gpd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import corridors
from corridors import RouteError, analyze


def km_at(result, node_id):
    return next(n["km"] for n in result.nodes if n["id"] == node_id)


def test_almaty_bishkek_crosses_once_at_korday():
    r = analyze("almaty-bishkek")
    assert 220 <= r.length_km <= 290  # traced on the generalised KAZ roads: 276.8 km (see KNOWN_GAPS)
    assert r.countries == ["KAZ", "KGZ"]
    assert len(r.crossings) == 1
    c = r.crossings[0]
    assert (c["from"], c["to"], c["via"]) == ("KAZ", "KGZ", "land")
    assert c["bcp_id"] == "bcp_korday_ak_zhol" and c["bcp_km"] <= 10
    assert 150 < c["km"] < r.length_km
    assert r.corridor == "1" and r.mode == "road"


def test_wewc_inside_kazakhstan_against_published_figures():
    """europe-china.kz / World Bank: 2,787 km in Kazakhstan, of which 2,452 km reconstructed. Traced on the
    network (issue 16) the whole line in Kazakhstan is 2,767 km (-0.7 %)."""
    r = analyze("wewc-kaz")
    kaz = r.length_by_country_km["KAZ"]
    assert kaz == pytest.approx(2787, rel=0.05)
    assert km_at(r, "kyzylorda") >= 1061 and r.length_km - km_at(r, "kyzylorda") >= 1391


# Published lengths the geometry does not yet reach within 5 %. strict=True: when the data closes a gap, the test
# fails and must move up. Since issue 16 the sections are traced on the regional network; what stays open is where
# the generalised 2017 OpenMapTiles roads of Kazakhstan run long around Almaty (Otar lies 16 km from them) or the
# Mongolian data misses the new road (Yarant-Khovd partly schematic).
KNOWN_GAPS = [
    ("almaty-bishkek", "almaty", "bishkek", 240, "Almaty-Bishkek key route traced 276.8 km; the road is < 250 km"),
    ("almaty-bishkek", "uzynagash", "otar", 96, "Uzynagash-Otar traced 110.6 km; Otar is 16 km off the OMT roads"),
    ("wewc-kaz", "kyzylorda", "bcp_zhaisan_sagarchin", 1061, "WE-WC Kyzylorda-RF border 1,184 km traced"),
    ("4a", "bcp_takeshiken_yarant", "khovd", 431.2, "Yarant-Khovd road (carec_mng_yarant): 372.7 km traced"),
    ("1c", "bishkek", "bcp_torugart", 539, "Bishkek-Torugart section 510.1 km traced (-5.4 %; was 416); "
                                          "route() gives 522.7 km"),
]


@pytest.mark.parametrize("route, a, b, published, what", KNOWN_GAPS, ids=[f"{g[0]}:{g[2]}" for g in KNOWN_GAPS])
@pytest.mark.xfail(strict=True, reason="geometry differs from the published length by more than 5 %")
def test_known_length_gaps(route, a, b, published, what):
    r = analyze(route)
    km = abs(km_at(r, b) - km_at(r, a))
    assert km == pytest.approx(published, rel=0.05), what


def test_almaty_khorgos_enters_china_at_nur_zholy():
    r = analyze("1b")
    kaz_chn = [c for c in r.crossings if (c["from"], c["to"]) == ("KAZ", "CHN")]
    assert len(kaz_chn) == 1 and kaz_chn[0]["bcp_id"] == "bcp_nur_zholy_khorgos"
    assert km_at(r, "almaty") < kaz_chn[0]["km"]


def test_middle_corridor_has_a_caspian_sea_leg_and_enters_georgia_at_a_bcp():
    r = analyze("middle-corridor")
    assert r.length_by_mode_km.get("ferry", 0) > 250
    legs = [s for s in r.sea_legs if s["length_km"] > 100]
    assert len(legs) == 1 and (legs[0]["from_country"], legs[0]["to_country"]) == ("KAZ", "AZE")
    assert legs[0]["from_port"] and legs[0]["to_port"]
    sea = [c for c in r.crossings if c["via"] == "sea"]
    assert [(c["from"], c["to"]) for c in sea] == [("KAZ", "AZE")]
    geo = [c for c in r.crossings if c["to"] == "GEO"]
    assert len(geo) == 1 and geo[0]["from"] == "AZE" and geo[0]["bcp_id"]
    assert r.countries[:1] == ["CHN"] or r.countries[0] == "KAZ"
    assert "GEO" in r.countries and "TUR" in r.countries


def test_every_section_per_country_pieces_sum_to_total_within_1_m():
    for r in corridors.analyze_many(corridors.sections().id.tolist()):
        assert math.isclose(sum(r.length_by_country_km.values()), r.length_km, abs_tol=1e-3), r.id
        assert math.isclose(sum(r.length_by_mode_km.values()), r.length_km, abs_tol=1e-3), r.id
        assert len(r.crossings) == sum(a != b for a, b in zip(r.countries[:-1], r.countries[1:])), r.id


def test_four_of_six_corridors_cross_kazakhstan():
    assert corridors.corridors_crossing("KAZ") == ["1", "2", "3", "6"]


def test_corridor_length_counts_shared_roads_once():
    per_country = corridors.corridor_length_by_country("3")
    sections_sum = sum(r.length_km for r in corridors.analyze_many(
        corridors.sections("section").query("corridor == '3'").id.tolist()))
    assert sum(per_country.values()) < sections_sum  # 3a and 3a-rail share Almaty; 3b shares Almaty too
    assert per_country["KAZ"] > 500


def test_to_feature_is_geojson_with_units():
    f = analyze("almaty-bishkek").to_feature()
    assert f["type"] == "Feature" and f["geometry"]["type"] == "LineString"
    assert f["properties"]["units"] == "km"
    json.dumps(f)
    expected = {"id", "name", "corridor", "mode", "length_km", "length_by_country_km", "countries", "crossings",
                "nodes"}
    assert expected <= set(f["properties"])
    assert {"from", "to", "lon", "lat", "km", "bcp"} <= set(f["properties"]["crossings"][0])
    assert {"id", "name", "kind", "country", "km"} <= set(f["properties"]["nodes"][0])


def test_user_line_any_crs_and_inputs_agree():
    line = corridors.section("almaty-bishkek").geometry
    ref = analyze(line)
    g = gpd.GeoDataFrame({"name": ["mine"]}, geometry=[line], crs=4326)
    in_3857 = analyze(g.to_crs(3857))
    assert in_3857.length_km == pytest.approx(ref.length_km, rel=1e-6)
    assert in_3857.name == "mine"
    feature = {"type": "Feature", "properties": {"name": "f"}, "geometry": shapely.geometry.mapping(line)}
    assert analyze(feature).length_km == pytest.approx(ref.length_km)
    assert analyze(g.iloc[0]).length_km == pytest.approx(ref.length_km)
    assert [c["to"] for c in ref.crossings] == ["KGZ"]


def test_custom_polygon_layer():
    west, east = shapely.box(70, 40, 75.5, 45), shapely.box(75.5, 40, 80, 45)
    layer = gpd.GeoDataFrame({"zone": ["west", "east"]}, geometry=[west, east], crs=4326)
    r = analyze(shapely.LineString([(74.0, 43.0), (77.0, 43.0)]), countries=layer, id_column="zone")
    assert r.countries == ["west", "east"]
    assert r.crossings[0]["lon"] == pytest.approx(75.5) and r.crossings[0]["bcp"] is None
    west_km = corridors.geodesy.distance_km((74, 43), (75.5, 43))
    assert r.length_by_country_km["west"] == pytest.approx(west_km, rel=1e-3)
    r2 = analyze(shapely.LineString([(74.0, 43.0), (82.0, 43.0)]), countries=layer, id_column="zone")
    assert r2.length_by_country_km["outside"] > 100


def test_analyze_many_matches_analyze():
    ids = ["1b", "2a", "almaty-bishkek"]
    many = corridors.analyze_many(ids)
    for i, r in zip(ids, many):
        one = analyze(i)
        assert r.to_dict() == one.to_dict()


def test_lengths_are_ellipsoidal_not_planar():
    # one degree of longitude at 43 N on WGS84 is 81.5 km; planar degrees or Web Mercator would differ wildly
    r = analyze(shapely.LineString([(76.0, 43.0), (77.0, 43.0)]))
    assert r.length_km == pytest.approx(81.55, abs=0.05)


@pytest.mark.parametrize("bad, message", [
    (shapely.LineString([(43.2, 76.9), (42.9, 74.6)]), "look like \\(lat, lon\\)"),
    (shapely.LineString([(8565000, 5345000), (8300000, 5300000)]), "projected metres"),
    (shapely.LineString(), "empty"),
    (shapely.LineString([(76.9, 43.2), (float("nan"), 42.9)]), "NaN"),
    (shapely.Point(76.9, 43.2), "single point"),
    (shapely.Polygon([(76, 43), (77, 43), (77, 44)]), "LineString or MultiLineString"),
    ({"type": "Feature", "properties": {}, "geometry": None}, "geometry"),
    (42, "cannot analyse"),
])
def test_bad_input_gets_a_clear_error(bad, message):
    with pytest.raises(RouteError, match=message):
        analyze(bad)


def test_unknown_id_lists_matches():
    with pytest.raises(corridors.NotFoundError, match="closest matches"):
        analyze("almaty-bishkekk")


# ---------------------------------------------------------------- invariants
coord = st.tuples(st.floats(45, 95), st.floats(33, 52))


@settings(max_examples=60, deadline=None)
@given(st.lists(coord, min_size=2, max_size=8, unique=True))
def test_invariants_on_random_routes(points):
    line = shapely.LineString(points)
    if line.length < 1e-6:
        return
    fwd, back = corridors.analyze_many([line, shapely.LineString(points[::-1])])
    assert math.isclose(sum(fwd.length_by_country_km.values()), fwd.length_km, abs_tol=1e-3)
    assert math.isclose(fwd.length_km, back.length_km, rel_tol=1e-9)
    changes = sum(a != b for a, b in zip(fwd.countries[:-1], fwd.countries[1:]))
    assert len(fwd.crossings) == changes
    assert [(c["from"], c["to"]) for c in fwd.crossings][::-1] == [(c["to"], c["from"]) for c in back.crossings]
    for c, d in zip(fwd.crossings, back.crossings[::-1]):
        if c["via"] == "land":  # a sea crossing is placed at the landing, which reversal moves to the other shore
            assert c["km"] == pytest.approx(fwd.length_km - d["km"], abs=3.0)  # folded noise runs are < 1 km


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(60, 75), st.floats(46, 50)), min_size=2, max_size=6, unique=True))
def test_route_inside_one_country_has_no_crossing(points):
    kaz = corridors.countries().set_index("iso_a3").geometry["KAZ"]
    line = shapely.LineString(points)
    if not line.within(kaz.buffer(-0.05)) or line.length < 1e-6:
        return
    r = analyze(line)
    assert r.crossings == [] and r.countries == ["KAZ"]
    assert r.length_by_country_km == pytest.approx({"KAZ": r.length_km})


def test_whole_corridor_analysis():
    r = corridors.analyze_corridor(1)
    assert r.length_km == pytest.approx(sum(corridors.corridor_length_by_country("1").values()))
    assert {"KAZ", "KGZ", "CHN", "RUS"} <= set(r.countries)
    bcps = {c["bcp_id"] for c in r.crossings}
    assert {"bcp_korday_ak_zhol", "bcp_nur_zholy_khorgos", "bcp_torugart"} <= bcps
    assert all(c["km"] is None for c in r.crossings)
    with pytest.raises(RouteError, match="CAREC corridors are 1 to 6"):
        corridors.analyze_corridor(9)


def test_route_starting_at_a_coastal_port_starts_in_its_country():
    r = corridors.route("Aktau", "Baku")
    assert r.countries == ["KAZ", "AZE"]
    assert [(c["from"], c["to"], c["via"]) for c in r.crossings] == [("KAZ", "AZE", "sea")]
    assert r.sea_legs and r.sea_legs[0]["to_port"].startswith("Alat")


def test_corridor_functions_take_a_custom_layer():
    west, east = shapely.box(70, 40, 75.5, 45), shapely.box(75.5, 40, 80, 45)
    layer = gpd.GeoDataFrame({"zone": ["west", "east"]}, geometry=[west, east], crs=4326)
    crossing_east = corridors.corridors_crossing("east", countries=layer, id_column="zone")
    assert {"1", "3"} <= set(crossing_east) and "4" not in crossing_east
    summary = corridors.corridor_summary(countries=layer, id_column="zone")
    assert summary.loc["4", "outside"] > 1000 and summary.loc["1", "east"] > 100
    with pytest.raises(RouteError, match="unknown country code"):
        corridors.corridors_crossing("north", countries=layer, id_column="zone")


def test_sections_and_user_lines_in_one_frame():
    """A frame of sections plus a user's line (no node list: NaN after concat) analyses each row as alone."""
    import pandas as pd

    s = corridors.sections().set_index("id").loc[["almaty-bishkek", "1a"]].reset_index()
    mine = gpd.GeoDataFrame({"id": ["mine"], "name": ["my line"]},
                            geometry=[shapely.LineString([(70, 42), (75, 43)])], crs=4326)
    both = corridors.analyze_many(pd.concat([s, mine], ignore_index=True))
    alone = corridors.analyze_many(s) + corridors.analyze_many(mine)
    assert [r.length_km for r in both] == [r.length_km for r in alone]
    assert [len(r.nodes) for r in both] == [len(r.nodes) for r in alone]
    assert len(both[0].nodes) > 2 and both[2].nodes == []
    assert both[2].length_km == pytest.approx(425.73, abs=0.01)


def test_repeated_vertex_on_a_border_changes_nothing_and_warns_nothing():
    import warnings

    c = corridors.countries().set_index("iso_a3")
    shared = shapely.get_coordinates(c.geometry["KAZ"].boundary.intersection(c.geometry["KGZ"].boundary))
    v = tuple(shared[len(shared) // 2])  # a vertex of the KAZ-KGZ border
    almaty, bishkek = (76.95, 43.25), (74.6, 42.87)
    once = analyze(shapely.LineString([almaty, v, bishkek]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a zero-length segment once divided 0 by 0
        twice = analyze(shapely.LineString([almaty, v, v, bishkek]))
    assert twice.countries == once.countries == ["KAZ", "KGZ"]
    assert twice.length_km == pytest.approx(once.length_km, abs=1e-9)
    assert len(twice.crossings) == len(once.crossings) == 1
