"""Integrity of the shipped corridor network: ids, references, sources, coordinates, borders, sync."""

import csv
import json

import numpy as np
import pytest
import shapely
import shapely.ops

import corridors
from corridors import borders, geodesy, network

SECTION_IDS = {
    "1a", "1b", "1b-rail", "1c", "2a", "2b", "2c", "2d", "2-GEO-road", "2-GEO-rail", "3-trunk", "3a", "3b",
    "3a-rail", "3-rail-Bishkek", "3-links", "4a", "4b", "4c", "5", "5-rail-PRC", "6a", "6b", "6b-rail-crossing",
    "6b-IRN", "6c", "6d",
}
KEY_ROUTES = {"almaty-bishkek", "wewc-kaz", "middle-corridor", "middle-corridor-black-sea", "middle-corridor-batumi",
              "dostyk-alashankou", "khorgos-altynkol"}


@pytest.fixture(scope="module")
def secs():
    return corridors.sections()


@pytest.fixture(scope="module")
def nodes():
    return corridors.nodes().set_index("id")


@pytest.fixture(scope="module")
def sources(repo):
    with open(repo / "geodata/network/sources.csv", newline="", encoding="utf-8") as f:
        return {r["id"] for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def layer():
    c = corridors.countries()
    return borders.Layer(c.geometry.values, c.iso_a3.tolist())


def test_all_six_corridors_every_section_and_key_routes(secs):
    assert set(secs.loc[secs.kind == "section", "corridor"]) == {"1", "2", "3", "4", "5", "6"}
    assert SECTION_IDS <= set(secs.id)
    assert KEY_ROUTES <= set(secs.loc[secs.kind == "key_route", "id"])


def test_ids_unique(secs, nodes):
    assert secs.id.is_unique
    assert secs.name.is_unique  # a section can be looked up by its name
    assert nodes.index.is_unique


def test_every_referenced_node_exists(secs, nodes):
    for _, s in secs.iterrows():
        assert set(s.nodes) <= set(nodes.index), s.id
        assert set(s.sourced_nodes) <= set(s.nodes), s.id


def test_every_node_and_section_carries_known_sources(secs, nodes, sources):
    for _, s in secs.iterrows():
        assert s.sources and set(s.sources) <= sources, s.id
        assert s.basis in {"sourced", "inferred"} and s.confidence in {"high", "medium", "low"}
        assert s.definition, s.id
    for nid, n in nodes.iterrows():
        assert n.sources and set(n.sources) <= sources, nid
        assert n.coord_source in sources and n.coord_confidence in {"high", "medium", "low"}, nid


def test_coordinates_in_range_and_lon_lat_order(secs, nodes):
    region = shapely.box(20, 15, 130, 65)  # lon, lat: a swapped pair would land outside it
    assert nodes.geometry.within(region).all()
    assert secs.geometry.within(region).all()
    assert secs.crs.to_epsg() == 4326


def test_bcps_join_two_countries_and_lie_on_their_border(nodes):
    c = corridors.countries().set_index("iso_a3").geometry
    far = {}
    for nid, b in nodes[nodes.kind == "bcp"].iterrows():
        assert len(b.joins) == 2 and b.country in b.joins, nid
        assert set(b.modes) <= {"road", "rail"} and b.modes, nid
        shared = shapely.intersection(c[b.joins[0]].boundary, c[b.joins[1]].boundary)
        p = shapely.ops.nearest_points(shared, b.geometry)[0]
        d = geodesy.distance_km((p.x, p.y), (b.geometry.x, b.geometry.y))
        if d > 3.0:
            far[nid] = round(d, 1)
    assert not far, f"BCPs more than 3 km from their shared border: {far}"


def test_no_leg_cuts_through_a_third_country(secs, nodes, layer):
    """Each leg between consecutive nodes stays in the countries of its two end nodes (or at sea on a ferry)."""
    bad = []
    for _, s in secs.iterrows():
        for (a, b), mode in zip(zip(s.nodes[:-1], s.nodes[1:]), s.leg_modes):
            na, nb = nodes.loc[a], nodes.loc[b]
            allowed = {na.country, nb.country, *na.joins, *nb.joins} - {None}
            coords = geodesy.densify([(na.geometry.x, na.geometry.y), (nb.geometry.x, nb.geometry.y)])
            labels = {p.label for p in borders.pieces(np.array(coords), layer)}
            if mode == "ferry" or na.country is None or nb.country is None:
                labels.discard(None)
            if not labels <= allowed:
                bad.append(f"{s.id}: {a}->{b} passes {sorted(map(str, labels - allowed))}")
    assert not bad, "\n".join(bad)


def test_every_crossing_is_at_a_bcp_of_the_section(secs):
    bad = []
    for r in corridors.analyze_many(secs.id.tolist()):
        sec_nodes = set(secs.loc[secs.id == r.id, "nodes"].iloc[0])
        for c in r.crossings:
            if c["via"] == "land" and (c["bcp_id"] not in sec_nodes):
                bad.append(f"{r.id}: {c['from']}->{c['to']} at km {c['km']:.0f} ({c['lon']:.3f}, {c['lat']:.3f})")
    assert not bad, "\n".join(bad)


def test_sea_only_on_ferry_legs(secs):
    """Open water appears only where a section has a ferry leg (no road or railway runs through the sea)."""
    for r in corridors.analyze_many(secs.id.tolist()):
        legs = secs.loc[secs.id == r.id, "leg_modes"].iloc[0]
        if "ferry" not in legs:
            assert r.length_by_country_km.get("sea", 0.0) < 1.0, (r.id, r.length_by_country_km.get("sea"))


def test_generated_geojson_in_sync_with_source(repo):
    sections_fc, nodes_fc = network.build(repo / "geodata/network")
    assert (repo / "geodata/corridors.geojson").read_text(encoding="utf-8") == network.dumps(sections_fc), \
        "run: python scripts/build_geodata.py"
    assert (repo / "geodata/nodes.geojson").read_text(encoding="utf-8") == network.dumps(nodes_fc)


def test_geojson_is_rfc7946(repo):
    for name in ("corridors.geojson", "nodes.geojson", "countries.geojson"):
        fc = json.loads((repo / "geodata" / name).read_text(encoding="utf-8"))
        assert fc["type"] == "FeatureCollection" and "crs" not in fc
        xy = shapely.get_coordinates([shapely.geometry.shape(f["geometry"]) for f in fc["features"]])
        assert (np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all()
        assert np.allclose(xy, np.round(xy, 5)), name  # at most 5 decimals (~1 m)


def test_countries_valid_without_gaps_or_overlaps():
    c = corridors.countries()
    assert c.is_valid.all() and c.iso_a3.is_unique
    members = {"KAZ", "KGZ", "TJK", "TKM", "UZB", "AFG", "PAK", "CHN", "MNG", "AZE", "GEO"}
    assert members | {"RUS", "IRN", "TUR"} <= set(c.iso_a3)
    union = shapely.union_all(c.geometry.values)
    overlap = shapely.area(c.geometry.values).sum() - union.area  # square degrees; topology only
    assert abs(overlap) < 1e-6
    assert {"iso_a3", "name", "source", "disputed_note"} <= set(c.columns)


def test_network_errors_name_the_fix(tmp_path, repo):
    import shutil

    root = tmp_path / "network"
    shutil.copytree(repo / "geodata/network", root)
    p = root / "corridor_1.toml"
    p.write_text(p.read_text(encoding="utf-8").replace('"almaty",', '"almaty_typo",', 1), encoding="utf-8")
    with pytest.raises(network.NetworkError, match="unknown node ids .*almaty_typo.*nodes/\\*.csv"):
        network.build(root)
