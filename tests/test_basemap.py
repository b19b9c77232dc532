"""The offline reference layers: present, small, sourced, with the water bodies and labels a reader looks for."""

from __future__ import annotations

import json

import pytest
import shapely

from corridors import basemap as bm
from corridors.data import geodata_dir


def test_layers_are_small_and_carry_provenance():
    total = 0
    for layer in bm.LAYERS:
        path = geodata_dir() / "basemap" / f"{layer}.geojson"
        total += path.stat().st_size
        with open(path, encoding="utf-8") as f:
            fc = json.load(f)
        meta = fc["metadata"]
        assert "OpenStreetMap contributors" in meta["credit"] and "OpenMapTiles" in meta["credit"]
        assert "ODbL" in meta["licence"] and meta["source_date"] and "bothness/basemaps" in meta["source"]
        assert meta == bm.basemap_metadata(layer)
        for feature in fc["features"]:  # RFC 7946, lon/lat, 4 decimals
            coords = json.dumps(feature["geometry"]["coordinates"])
            assert all(len(c.split(".")[1]) <= 4 for c in coords.replace("[", "").replace("]", "").split(",")
                       if "." in c)
    assert total < 200 * 1024


def test_water_has_the_central_asian_lakes():
    water = bm.basemap("water")
    assert water.geometry.is_valid.all()
    where = {"Aral Sea (western basin)": (58.6, 45.3), "North Aral Sea": (60.8, 46.4), "Lake Balkhash": (74.5, 46.2),
             "Issyk-Kul": (77.3, 42.45), "Caspian Sea": (50.5, 42.0), "Kapshagay Reservoir": (77.6, 43.85)}
    for name, (lon, lat) in where.items():
        hit = water[water.contains(shapely.Point(lon, lat))]
        assert list(hit["name"]) == [name], name
    assert set(water["class"]) <= {"ocean", "lake", "river"}


def test_places_label_the_fergana_valley_and_capitals():
    places = bm.basemap("places")
    names = set(places["name"])
    assert {"Osh", "Andijan", "Namangan", "Fergana", "Khujand", "Kokand"} <= names
    capitals = set(places[places["kind"] == "capital"]["name"])
    assert {"Astana", "Bishkek", "Tashkent", "Dushanbe", "Ashgabat", "Kabul", "Baku", "Tbilisi"} <= capitals
    countries = set(places[places["kind"] == "country"]["name"])
    assert {"Kazakhstan", "Kyrgyzstan", "Uzbekistan", "Tajikistan"} <= countries
    assert "Nur-Sultan" not in names
    z4 = bm.basemap("places", zoom=4)
    assert len(z4) < len(places) and (z4["min_zoom"] <= 4).all() and "Osh" not in set(z4["name"])


def test_rivers_and_bbox_clipping():
    rivers = bm.basemap("rivers")
    assert {"Amu Darya", "Syr Darya", "Naryn", "Kura"} <= set(rivers["name"].dropna())
    box = (68.0, 39.0, 74.0, 42.0)  # Fergana valley
    clipped = bm.basemap("water", bbox=box)
    assert 0 < len(clipped) < len(bm.basemap("water"))
    assert shapely.box(*box).buffer(1e-9).contains(shapely.union_all(clipped.geometry.values))
    coarse = bm.basemap("water", tolerance=0.1)
    assert shapely.get_num_coordinates(coarse.geometry.values).sum() < shapely.get_num_coordinates(
        bm.basemap("water").geometry.values).sum()
    bm.basemap("water").drop(columns="name")  # callers get copies
    assert "name" in bm.basemap("water")


def test_bad_requests_say_what_to_do():
    with pytest.raises(ValueError, match="choose one of water, rivers, places"):
        bm.basemap("roads")
    with pytest.raises(ValueError, match="lon_min, lat_min, lon_max, lat_max"):
        bm.basemap("water", bbox=(80, 40, 70, 45))
    with pytest.raises(ValueError, match="tolerance"):
        bm.basemap("rivers", tolerance=-1)


def test_build_is_reproducible(tmp_path):
    import importlib.util
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "build_basemap.py"
    source = Path(__file__).resolve().parents[2] / "shared" / "basemap"
    if not source.is_dir():
        source = Path("/work/shared/basemap")
    if not (source / "water_polygons_omt_z7.geojson").is_file():
        pytest.skip("the shared basemap set is not on this machine")
    spec = importlib.util.spec_from_file_location("build_basemap", script)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["build_basemap"] = mod
    spec.loader.exec_module(mod)
    mod.main(["--source", str(source), "--out", str(tmp_path)])
    for layer in bm.LAYERS:
        assert (tmp_path / f"{layer}.geojson").read_bytes() == (geodata_dir() / "basemap" / f"{layer}.geojson"
                                                                 ).read_bytes(), layer
