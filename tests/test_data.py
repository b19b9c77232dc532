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
    "6b-IRN", "6c", "6d", "2-UZB-rail-Khiva", "2-UZB-rail-Fergana", "6-UZB-rail", "6-Ayni-Sarazm",
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


def test_every_crossing_is_at_a_bcp_of_the_section(secs, nodes):
    """Traced on the network, a section crosses a border of the shipped (simplified Natural Earth) boundaries at
    one of its BCPs: within APPROACH_KM of it (the network reaches a BCP over approach links of up to 25 km where
    the generalised data stops short), or in an excursion that returns to the same country within 5 km (a road
    along a border river that the 1:10m line puts on the other bank)."""
    bad = []
    bcps = nodes[nodes.kind == "bcp"]
    for r in corridors.analyze_many(secs.id.tolist()):
        sec_nodes = set(secs.loc[secs.id == r.id, "nodes"].iloc[0])
        land = [c for c in r.crossings if c["via"] == "land"]
        for i, c in enumerate(land):
            back = [d for d in land[i - 1:i] + land[i + 1:i + 2]
                    if (d["from"], d["to"]) == (c["to"], c["from"]) and abs(d["km"] - c["km"]) < 5]
            if back:
                continue
            near = [b for b, row in bcps.iterrows() if b in sec_nodes and set(row.joins) == {c["from"], c["to"]}
                    and geodesy.distance_km((c["lon"], c["lat"]), (row.geometry.x, row.geometry.y)) <= APPROACH_KM]
            if not near:
                bad.append(f"{r.id}: {c['from']}->{c['to']} at km {c['km']:.0f} ({c['lon']:.3f}, {c['lat']:.3f})")
    assert not bad, "\n".join(bad)


APPROACH_KM = 25.0


def test_sea_only_on_ferry_legs(secs):
    """Open water appears only where a section has a ferry leg (no road or railway runs through the sea), apart from
    coastal roads that the simplified 1:10m coastline puts offshore in places (2-GEO-road along the Black Sea:
    5.5 km of 485)."""
    for r in corridors.analyze_many(secs.id.tolist()):
        legs = secs.loc[secs.id == r.id, "leg_modes"].iloc[0]
        if "ferry" not in legs:
            sea = r.length_by_country_km.get("sea", 0.0)
            assert sea < max(1.0, 0.015 * r.length_km), (r.id, sea)


def test_generated_geojson_in_sync_with_source(repo):
    """corridors.geojson, nodes.geojson and alignments.geojson are byte for byte what scripts/build_geodata.py
    makes of the source and the network now (tracing included: a change of the network, the search or the
    source that is not regenerated fails here)."""
    sections_fc, nodes_fc, align_fc = network.build(repo / "geodata/network", traced=True)
    for name, fc in (("corridors.geojson", sections_fc), ("nodes.geojson", nodes_fc),
                     ("alignments.geojson", align_fc)):
        assert (repo / "geodata" / name).read_text(encoding="utf-8") == network.dumps(fc), \
            f"{name} is stale: run python scripts/build_geodata.py"


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


def _edited_network(tmp_path, repo, name: str, old: str, new: str):
    """A copy of geodata/network with the first ``old`` in file ``name`` replaced by ``new``."""
    import shutil

    root = tmp_path / "network"
    shutil.copytree(repo / "geodata/network", root)
    p = root / name
    p.write_text(p.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    return root


def test_network_errors_name_the_fix(tmp_path, repo):
    root = _edited_network(tmp_path, repo, "corridor_1.toml", '"almaty",', '"almaty_typo",')
    with pytest.raises(network.NetworkError, match="unknown node ids .*almaty_typo.*nodes/\\*.csv"):
        network.build(root)


# ---------------------------------------------------------------- the regional road + rail network (issue 16)

@pytest.fixture(scope="module")
def net():
    from corridors import graph

    return graph.load()


def test_network_is_lazy_and_nothing_loads_at_import():
    import subprocess
    import sys

    code = ("import corridors, corridors.graph as g; import sys; "
            "print(g.load.cache_info().currsize, 'scipy.sparse.csgraph' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "False"]


def test_network_edges_carry_mode_km_class_country_source(net):
    from corridors import graph

    assert net.n_edges > 200_000 and net.n_nodes > 150_000
    modes = np.bincount(net.mode, minlength=3)
    assert modes[0] > 150_000 and modes[1] > 20_000 and 3 <= modes[2] <= 20  # road, rail, ferry (+ transfers)
    assert np.all(net.km >= 0) and np.all(np.isfinite(net.km))
    # full-resolution length is never shorter than the chord between the edge ends (minus rounding)
    a, b = net.node_xy[net.u], net.node_xy[net.v]
    chord = geodesy.GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2] / 1000.0
    assert np.all(net.km >= chord - 0.002)
    d = [graph.load().edge_coords(e) for e in range(0, net.n_edges, 997)]
    shipped = np.array([geodesy.GEOD.line_length(c[:, 0], c[:, 1]) / 1000.0 for c in d])
    assert shipped == pytest.approx(net.km[::997], rel=0.01, abs=0.01)  # the shipped line is the measured one
    e = graph.load().edge_data(0)
    assert set(e) >= {"km", "mode", "class", "ref", "name", "country", "source", "date", "bcp_id", "bcp_countries"}
    assert {x.split("\t")[0].split(":")[0] for x in net.tables["source"]} == {"osm", "omt", "ne", "inferred",
                                                                              "schematic", "corridor-sections",
                                                                              "osm-stations"}


def test_network_changes_country_only_at_bcps(net, nodes):
    """Every edge whose ends lie in two countries of the shipped boundaries is a BCP edge of those countries."""
    c = corridors.countries()
    tree = shapely.STRtree(c.geometry.values)
    ctry = np.full(net.n_nodes, None, dtype=object)
    pi, gi = tree.query(shapely.points(net.node_xy), predicate="within")
    ctry[pi] = c.iso_a3.values[gi]
    cu, cv = ctry[net.u], ctry[net.v]
    cross = (cu != cv) & (cu != None) & (cv != None) & (net.mode != 2)  # noqa: E711
    assert cross.sum() > 30
    bcps = np.array([net.tables["bcp"][i] if i >= 0 else None for i in net.bcp], dtype=object)
    # a BCP is a crossing edge between two nodes at the post; its approach links may end at the post across
    # the (generalised) boundary line
    post = {}
    for e in np.flatnonzero(net.bcp >= 0):
        post[net.u[e]] = post[net.v[e]] = bcps[e]
    for e in np.flatnonzero(cross):
        b = bcps[e] or post.get(net.u[e]) or post.get(net.v[e])
        assert b is not None, (e, cu[e], cv[e], net.node_xy[net.u[e]])
        assert {cu[e], cv[e]} == set(nodes.loc[b, "joins"]), (e, b)
    assert set(bcps[bcps != None]) <= set(nodes.index[nodes.kind == "bcp"])  # noqa: E711


def test_network_licence_and_attribution(net, repo):
    assert "© OpenStreetMap contributors" in net.meta["attribution"]
    assert "© OpenMapTiles" in net.meta["attribution"]
    assert "ODbL" in net.meta["licence"]
    text = (repo / "geodata" / "LICENSE-ODbL.txt").read_text(encoding="utf-8")
    assert "Open Database License" in text and "© OpenStreetMap contributors" in text
    readme = (repo / "geodata" / "README.md").read_text(encoding="utf-8")
    assert "© OpenStreetMap contributors" in readme and "© OpenMapTiles" in readme


def test_network_file_is_compact(repo):
    assert (repo / "geodata" / "network.npz").stat().st_size < 20e6


# ---------------------------------------------------------------- sections traced on the network (issue 16)

def test_every_section_reports_its_traced_share_and_pieces(secs):
    for _, s in secs.iterrows():
        assert 0.0 <= s.traced_share <= 1.0, s.id
        assert s.alignment and {p["alignment"] for p in s.alignment} <= {"traced", "schematic", "ferry"}, s.id
        assert sum(p["km"] for p in s.alignment) == pytest.approx(s.length_km, rel=1e-3, abs=0.05), s.id
        assert geodesy.length_km(s.geometry) == pytest.approx(s.length_km, rel=0.01), s.id
        assert s.node_km[-1] == pytest.approx(s.length_km, abs=0.01) and len(s.node_km) == len(s.nodes), s.id
        modes = ["road", "rail"] if s["mode"] == "multimodal" else [s["mode"]]
        assert list(s.alignments) == modes, s.id
    share = (secs.traced_share * secs.length_km).sum() / secs.length_km.sum()
    assert share > 0.6


def test_zhetygen_altynkol_rail_is_schematic_where_the_network_has_no_line(secs):
    s = secs.set_index("id").loc["khorgos-altynkol"]
    assert any(p["alignment"] == "schematic" for p in s.alignment)
    assert s.traced_share < 0.5


def test_multimodal_sections_have_a_road_and_a_rail_alignment(repo, secs):
    fc = json.loads((repo / "geodata/alignments.geojson").read_text(encoding="utf-8"))
    ids = {f["properties"]["id"] for f in fc["features"]}
    for _, s in secs[secs["mode"] == "multimodal"].iterrows():
        assert {f"{s.id}:road", f"{s.id}:rail"} <= ids
    for f in fc["features"]:
        line = shapely.geometry.shape(f["geometry"])
        assert geodesy.length_km(line) == pytest.approx(f["properties"]["length_km"], rel=0.01), f["properties"]["id"]


def test_build_network_takes_a_newer_extract_in_the_same_schema(tmp_path, repo):
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_network", repo / "scripts" / "build_network.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    files = {k: tmp_path / f"{k}.geojson" for k in ("roads", "rail", "omt", "ne", "tert")}
    for f in files.values():
        f.write_text('{"type":"FeatureCollection","features":[]}')
    a = mod.parse(["--road-osm", str(files["roads"]), "--rail-osm", str(files["rail"]), "--road-fallback",
                   str(files["omt"]), "--rail-fallback", str(files["ne"]), "--tertiary", str(files["tert"]),
                   "--out", str(tmp_path / "n.npz")])
    assert a.road_osm == [files["roads"], files["tert"]] and a.rail_osm == [files["rail"]]
    assert a.road_fallback == [files["omt"]] and a.rail_fallback == [files["ne"]]
    with pytest.raises(SystemExit, match="does not exist"):
        mod.parse(["--road-osm", str(tmp_path / "missing.geojson")])


# ---------------------------------------------------------------- definitions graded (corridor_definitions.md)

GRADES = {  # section: (grade, verdict) from shared/reference/corridor_definitions.md §0.1 and §2
    "1a": ("D", "still unconfirmed"), "1b": ("A", "confirmed"), "1b-rail": ("D", "still unconfirmed"),
    "1c": ("A", "confirmed"), "2a": ("C", "corrected"), "2b": ("C", "confirmed"), "2c": ("C", "corrected"),
    "2d": ("C", "confirmed"), "2-GEO-road": ("B", "confirmed"), "2-GEO-rail": ("D", "still unconfirmed"),
    "3-trunk": ("C", "confirmed"), "3a": ("A", "confirmed"), "3b": ("C", "confirmed"), "3a-rail": ("C", "confirmed"),
    "3-rail-Bishkek": ("C", "still unconfirmed"), "3-links": ("B", "corrected"), "4a": ("A", "confirmed"),
    "4b": ("A", "confirmed"), "4c": ("C", "still unconfirmed"), "5": ("C", "confirmed"),
    "5-rail-PRC": ("C", "confirmed"), "6a": ("C", "confirmed"), "6b": ("C", "confirmed"),
    "6b-rail-crossing": ("B", "confirmed"), "6b-IRN": ("C", "still unconfirmed"), "6c": ("C", "corrected"),
    "6d": ("C", "confirmed"), "2-UZB-rail-Khiva": ("B", "corrected"), "2-UZB-rail-Fergana": ("B", "corrected"),
    "6-UZB-rail": ("B", "confirmed"), "6-Ayni-Sarazm": ("B", "corrected"),
}


def test_every_section_carries_the_grade_and_verdict_of_its_definition(secs):
    s = secs[secs.kind == "section"].set_index("id")
    assert set(s.index) == set(GRADES)
    assert {i: (r.grade, r.verdict) for i, r in s.iterrows()} == GRADES
    for i, r in s.iterrows():
        assert r.grade_detail.startswith(r.grade) and r.verdict_note, i
        assert r.definition_sources and len(r.definition_source_urls) == len(r.definition_sources), i
        assert set(r.definition_sources) <= set(r.sources), i  # shown with the section's sources
        assert all(u.startswith("http") for u in r.definition_source_urls), i
    assert s.loc["2a", "grade_detail"] == "C + B" and s.loc["3a", "grade_detail"] == "A/C"
    assert "https://rrdm2.bizdev.asia/?p=181" in s.loc["4b", "definition_source_urls"]
    keys = secs[secs.kind == "key_route"]
    assert keys.grade.isna().all() and keys.verdict.isna().all()  # key routes are not CAREC definitions


def test_corrections_applied(secs, nodes):
    s = secs.set_index("id")
    assert not [i for i in s.index if i[:2] in ("5a", "5b", "5c")]  # Corridor 5 has no lettered sub-corridors
    assert {"darkhan", "ulaanbaatar"} <= set(s.loc["4b", "sourced_nodes"])  # 4b: no longer inferred
    # Ayni-Panjakent-Sarazm in Corridor 6, ending at the TJK-UZB border
    ayni = s.loc["6-Ayni-Sarazm"]
    assert ayni.corridor == "6" and [nodes.loc[n, "name"] for n in ayni.nodes] == ["Ayni", "Panjakent", "Sarazm"]
    end = nodes.loc[ayni.nodes[-1]]
    assert end.kind == "bcp" and set(end.joins) == {"TJK", "UZB"}
    assert 95 < ayni.length_km < 125  # ADB: about 113 km
    # 3-links: Dushanbe - Tursunzade - Dusti (the Tajik post) - Termez - Hairatan - Mazar, now sourced
    links = s.loc["3-links"]
    bcps = [nodes.loc[n, "name"] for n in links.nodes if nodes.loc[n, "kind"] == "bcp"]
    assert bcps[0].startswith("Dusti") and links.basis == "sourced"
    assert corridors.node("Dusti border")["id"] == "bcp_tursunzade_sariosiyo"
    assert corridors.node("Dusti")["kind"] == "waypoint"  # the Khatlon town keeps its name
    # Corridor 2 railways in Uzbekistan
    names = {i: [nodes.loc[n, "name"] for n in s.loc[i, "sourced_nodes"]] for i in ("2-UZB-rail-Khiva",
                                                                                      "2-UZB-rail-Fergana")}
    assert names == {"2-UZB-rail-Khiva": ["Bukhara", "Miskin", "Urgench", "Khiva"],
                     "2-UZB-rail-Fergana": ["Pap", "Namangan", "Andijan"]}
    assert {"samarkand", "navoi", "bukhara"} <= set(s.loc["2a", "sourced_nodes"])  # Marakand-Bukhara stated
    # Corridor 6 railway in Uzbekistan: Keles ... Kumkurgan - Termez
    uzb = s.loc["6-UZB-rail"]
    assert uzb.nodes[0] == "bcp_saryagash_keles_rail" and uzb.nodes[-1] == "termez" and "kumkurgan" in uzb.nodes
    assert uzb["mode"] == "rail" and uzb.corridor == "6"
    # 6c: the Pakistan leg is the N-55 Indus Highway (Corridors 5 and 6), not Lahore-Muzaffargarh
    c6 = s.loc["6c"]
    assert "lahore" not in c6.nodes and {"dera_ismail_khan", "shikarpur"} <= set(c6.nodes)
    assert c6.nodes[c6.nodes.index("peshawar"):] == s.loc["5"].nodes[s.loc["5"].nodes.index("peshawar"):]
    assert "salang_tunnel" in s.loc["5", "sourced_nodes"]
    # 2c: Boyuk Kesik is the Azerbaijani side of the AZE-GEO rail crossing
    assert "Azerbaijani side" in nodes.loc["bcp_gardabani_boyuk_kesik_rail", "note"]


def test_new_sections_traced_within_their_countries(secs):
    s = secs.set_index("id")
    for sid, country in (("2-UZB-rail-Khiva", "UZB"), ("2-UZB-rail-Fergana", "UZB"), ("6-Ayni-Sarazm", "TJK")):
        a = corridors.analyze(sid)
        assert set(a.length_by_country_km) == {country} and not a.crossings, sid
    a = corridors.analyze("6-UZB-rail")
    assert set(a.length_by_country_km) <= {"KAZ", "UZB"} and a.length_by_country_km["UZB"] > 800
    assert s.loc["2-UZB-rail-Fergana", "traced_share"] == 1.0
    assert 440 < s.loc["2-UZB-rail-Khiva", "length_km"] < 490  # ADB: 465 km


def test_a_section_without_a_grade_is_refused(tmp_path, repo):
    root = _edited_network(tmp_path, repo, "corridor_4.toml", 'grade = "A"\n', 'grade = "E"\n')
    with pytest.raises(network.NetworkError, match="needs grade .*corridor_definitions.md"):
        network.build(root)
