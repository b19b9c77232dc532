"""The interactive maps (corridors.maps, corridors.atlas): files, reproducibility, offline self-containment, size,
safety, figures carried as data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely

import corridors
from corridors import atlas, maps, style

REPO = Path(__file__).parents[1]
EXPECTED = ["carec_corridors.html", *(f"corridor_{c}.html" for c in range(1, 7)), "almaty_bishkek.html",
            "kazakhstan.html", "index.html"]
HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>"]
MAX_MAP_BYTES = 350_000  # issue 14: each map <= 350 KB
# a tag that loads something (<a href> links to sources only navigate on a click and are fine)
LOADING_TAG = re.compile(r"<(?:script|link|img|image|iframe|source|video|audio|embed|object|use|input|track)\b"
                         r"[^>]*?\s(?:src|href|srcset|data|poster|xlink:href)\s*=\s*[\"']?\s*(?:https?:)?//", re.I)
CSS_URL = re.compile(r"url\(\s*[\"']?\s*(?:https?:)?//|@import", re.I)


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("offline")
    atlas.build(out, offline=True)
    return out


@pytest.fixture(scope="module")
def online(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("online")
    atlas.build(out)
    return out


def hostile_routes(crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    lines = [shapely.LineString([(76.9, 43.25), (74.6, 42.87)]), shapely.LineString([(69.3, 41.3), (71.4, 51.1)])]
    gdf = gpd.GeoDataFrame({"name": HOSTILE, "id": HOSTILE}, geometry=lines, crs="EPSG:4326")
    return gdf.to_crs(crs)


def test_build_writes_every_map_and_returns_the_paths(offline: Path, tmp_path: Path) -> None:
    assert sorted(p.name for p in offline.iterdir()) == sorted(EXPECTED)
    written = atlas.build(tmp_path / "x", offline=True)
    assert [p.name for p in written] == EXPECTED and all(p.is_file() for p in written)
    assert not list((tmp_path / "x").glob("*.tmp"))  # atomic writes leave no temporary files behind


def test_two_builds_are_byte_identical(offline: Path, tmp_path: Path) -> None:
    atlas.build(tmp_path, offline=True)
    for name in EXPECTED:
        assert (tmp_path / name).read_bytes() == (offline / name).read_bytes(), name


def test_committed_maps_equal_a_fresh_build(online: Path) -> None:
    committed = REPO / "maps"
    stale = [n for n in EXPECTED if not (committed / n).is_file()
             or (committed / n).read_bytes() != (online / n).read_bytes()]
    assert not stale, f"maps/ is stale ({stale}); run `corridors build` and commit maps/"


def test_offline_maps_request_nothing(offline: Path) -> None:
    for name in EXPECTED:
        text = (offline / name).read_text(encoding="utf-8")
        assert not LOADING_TAG.search(text), (name, LOADING_TAG.search(text))
        assert not CSS_URL.search(text), name
        assert 'src="http' not in text and "<link" not in text, name
        assert "sourceMappingURL" not in text, name
        assert "tile.openstreetmap" not in text, name
        if name != "index.html":
            assert "tiles" not in spec(text), name
    overview = (offline / "carec_corridors.html").read_text(encoding="utf-8")
    assert "Leaflet 1.9.4" in overview  # inlined from corridors/static
    assert "https://" in json.dumps(spec(offline / "kazakhstan.html"))  # source links stay (built in the browser)


def test_pages_forbid_every_other_request(offline: Path, online: Path) -> None:
    """A Content-Security-Policy allows inline code and data/blob images only (plus the tile server online)."""
    csp = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')
    for folder, extra in ((offline, ""), (online, " https://tile.openstreetmap.org")):
        for name in EXPECTED[:-1]:
            got = csp.findall((folder / name).read_text(encoding="utf-8"))
            assert got == ["default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                           f"img-src data: blob:{extra}"], (name, got)


def test_default_build_inlines_leaflet_and_adds_only_a_basemap(online: Path) -> None:
    text = (online / "carec_corridors.html").read_text(encoding="utf-8")
    assert "Leaflet 1.9.4" in text and not LOADING_TAG.search(text)  # draws with no network
    assert spec(text)["tiles"]["url"].startswith("https://tile.openstreetmap.org/")  # the one optional layer
    assert "© OpenStreetMap contributors" in spec(text)["tiles"]["attribution"]
    assert "jquery" not in text.lower() and "bootstrap" not in text.lower() and "awesome" not in text.lower()


def test_every_map_within_its_size_budget(offline: Path, online: Path) -> None:
    for folder in (offline, online):
        for name in EXPECTED:
            assert (folder / name).stat().st_size <= MAX_MAP_BYTES, name


def spec(path: Path | str) -> dict:
    text = path if isinstance(path, str) else path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="cr-spec[^"]*">(.*?)</script>', text, re.S)
    assert m
    out: dict = json.loads(m.group(1))
    return out


def routes_of(s: dict) -> list[dict]:
    return [f["p"] for layer in s["layers"] if layer["type"] == "routes" for f in layer["features"]]


def test_maps_carry_every_route_and_their_figures(offline: Path) -> None:
    secs = corridors.sections()
    assert sorted(p["id"] for p in routes_of(spec(offline / "carec_corridors.html"))) == sorted(secs["id"])
    for c in "123456":
        got = routes_of(spec(offline / f"corridor_{c}.html"))
        ids = secs.loc[(secs["corridor"] == c) & (secs["kind"] == "section"), "id"]
        assert sorted(p["id"] for p in got) == sorted(ids)
        assert all(p["group"] == c for p in got)
    a = corridors.analyze("almaty-bishkek")
    ab = spec(offline / "almaty_bishkek.html")
    (p,) = routes_of(ab)
    assert p["km"] == pytest.approx(a.length_km, abs=1e-3)
    assert dict(p["by_country"]) == pytest.approx(a.length_by_country_km, abs=1e-3)
    assert p["crossings"][0][:2] == ["KAZ", "KGZ"] and p["crossings"][0][3] == "Korday - Ak-Zhol"
    text = json.dumps(ab, ensure_ascii=False)
    assert "226 km" in text and "2007" in text
    labels = [lb["text"] for layer in ab["layers"] if layer["type"] == "labels" for lb in layer["labels"]]
    for n in a.nodes:
        if n["kind"] != "waypoint":
            assert f"{n['name']} · km {n['km']:,.0f}" in labels


def test_section_labels_are_human_names_away_from_the_markers(offline: Path) -> None:
    s = spec(offline / "corridor_1.html")
    labels = [lb for layer in s["layers"] if layer["type"] == "labels" for lb in layer["labels"]]
    names = dict(zip(corridors.sections()["id"], corridors.sections()["name"]))
    assert labels and all(lb["sub"] in names and lb["text"] != lb["sub"] for lb in labels)
    assert all(len(lb["text"]) <= 34 for lb in labels)
    marks = [shapely.Point(f["ll"][1], f["ll"][0]) for layer in s["layers"] if layer["type"] == "nodes"
             for f in layer["features"]]
    for lb in labels:
        assert min(m.distance(shapely.Point(lb["ll"][1], lb["ll"][0])) for m in marks) > 0.1  # not on a BCP


def test_shared_stretches_are_drawn_side_by_side(offline: Path) -> None:
    """Where corridors share a road each is offset to its own slot, so every one stays visible."""
    s = spec(offline / "carec_corridors.html")
    feats = [f for layer in s["layers"] if layer["type"] == "routes" for f in layer["features"]]
    shared = [f for f in feats if "o" in f]
    assert len(shared) >= 5
    for f in shared:
        assert any(v != 0 for part in f["o"] for v in part[::2])  # run-length coded: value, count, ...
    # the key routes are a translucent casing under the corridors, not a black line on top
    key = [layer for layer in s["layers"] if layer.get("group") == "key"][0]
    assert key["style"]["casing"] and key["style"]["opacity"] < 0.5


def test_stretches_shared_within_a_corridor_are_drawn_once(offline: Path) -> None:
    """Overlaid dash patterns of one corridor would blur into a solid line: a shared stretch is drawn once."""
    s = spec(offline / "corridor_2.html")
    parts = [decode(part) for f in routes_of_features(s) for part in f["g"]]
    pts = [pt for part in parts for pt in part]
    assert len(pts) - len(set(pts)) <= 2 * len(parts)  # only where pieces meet (before: 117 of 303 vertices)


def routes_of_features(s: dict) -> list[dict]:
    return [f for layer in s["layers"] if layer["type"] == "routes" for f in layer["features"]]


def test_ferry_legs_are_their_own_parts(offline: Path) -> None:
    s = spec(offline / "carec_corridors.html")
    secs = corridors.sections().set_index("id")
    ferry = {i for i, m in secs["leg_modes"].items() if "ferry" in list(m)}
    assert ferry
    drawn = {f["p"]["id"] for layer in s["layers"] if layer["type"] == "routes" for f in layer["features"]
             if "f" in f and any(f["f"])}
    assert drawn and drawn <= ferry  # (a leg shared by sections of one corridor is drawn by the first only)
    assert {i for i in ferry if secs.loc[i, "kind"] == "key_route"} <= drawn


def test_kazakhstan_map_has_the_crossing_corridors_key_routes_and_facts(offline: Path) -> None:
    s = spec(offline / "kazakhstan.html")
    text = json.dumps(s, ensure_ascii=False)
    crossing = corridors.corridors_crossing("KAZ")
    assert {p["corridor"] for p in routes_of(s) if "corridor" in p and "key" not in p} == set(crossing)
    present = set(corridors.sections()["id"])
    ids = {p["id"] for p in routes_of(s)}
    for rid in atlas.KAZ_KEY_ROUTES:
        assert (rid in ids) == (rid in present)
    assert "four of the six corridors cross Kazakhstan" in text
    assert f"Computed from the geometry: {len(crossing)}" in text
    assert ("agrees" in text) == (len(crossing) == 4)
    assert "not published" in text and "no figure" in text
    areas = [layer for layer in s["layers"] if layer["type"] == "areas"][0]
    assert any(f["p"]["st"]["fillColor"] == "hatch" for f in areas["features"])  # hatched, never a zero colour
    # legend swatches exactly as drawn: same colour and the same fill opacity as the countries
    drawn = {(f["p"]["st"]["fillColor"], f["p"]["st"]["fillOpacity"]) for f in areas["features"]}
    legend = {(e["fillColor"], e["fillOpacity"]) for e in s["legend"] if e["kind"] == "fill" and "USD" in e["label"]}
    assert drawn - {("hatch", 0.8)} <= legend


def test_hostile_names_are_data_only() -> None:
    page = maps.page(maps.routes_spec(hostile_routes(), offline=True, title=HOSTILE[1], subtitle=HOSTILE[0]))
    for bad in HOSTILE:
        assert bad not in page
    assert "<img src=x" not in page and "alert(1)</script>" not in page
    assert page.count("<script") == page.count("</script>")
    s = spec(page)
    assert s["title"] == HOSTILE[1] and {p["name"] for p in routes_of(s)} == set(HOSTILE)


def test_make_map_accepts_routes_in_any_crs() -> None:
    m = maps.make_map(hostile_routes("EPSG:3857"), offline=True)
    assert isinstance(m, folium.Map)
    s = spec(maps.render(m))
    feats = [f for layer in s["layers"] if layer["type"] == "routes" for f in layer["features"]]
    assert len(feats) == 2 and {f["p"]["group"] for f in feats} == {"user"}
    assert decode(feats[0]["g"][0])[0] == (76.9, 43.25)  # back in lon/lat, quantised to 1e-5 degree
    assert feats[0]["p"]["color"] != feats[1]["p"]["color"]  # the user's routes each get a colour


def decode(text: str, scale: int = maps.LINE_SCALE) -> list[tuple[float, float]]:
    """The reader of maps.encode (as corridors.js does it)."""
    values, i = [], 0
    while i < len(text):
        r = shift = 0
        while True:
            b = ord(text[i]) - 63
            i += 1
            r |= (b & 31) << shift
            shift += 5
            if b < 32:
                break
        values.append(~(r >> 1) if r & 1 else r >> 1)
    x = y = 0
    out = []
    for dx, dy in zip(values[::2], values[1::2]):
        x, y = x + dx, y + dy
        out.append((x / scale, y / scale))
    return out


def test_routed_pieces_off_the_network_are_schematic() -> None:
    r = corridors.route("Almaty", "Cholpon-Ata")  # joins from the town centres to the network: geodesics
    frame = corridors.io.to_frame([r, corridors.analyze("almaty-bishkek")])
    s = maps.routes_spec(frame, offline=True)
    feats = {f["p"]["km"]: f for layer in s["layers"] if layer["type"] == "routes" for f in layer["features"]}
    routed, road = feats[round(r.length_km, 3)], feats[round(corridors.analyze("almaty-bishkek").length_km, 3)]
    assert [seg for seg in r.segments if seg["kind"] in style.OFF_NETWORK]
    assert "s" in routed and any(routed["s"]) and "s" not in road
    assert any("schematic" in e["label"] for e in s["legend"])


def test_encode_round_trips() -> None:
    line = shapely.LineString([(76.912344, 43.25), (74.6, 42.87), (74.60001, 42.86999), (-179.99999, -89.5)])
    poly = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 0)], [[(0.2, 0.1), (0.8, 0.1), (0.8, 0.7), (0.2, 0.1)]])
    enc = maps.encode([line, shapely.MultiLineString([line, line]), poly, shapely.LineString()])
    assert maps.LINE_SCALE == 10_000  # 1e-4 degree, about 10 m
    assert decode(enc[0][0]) == [(76.9123, 43.25), (74.6, 42.87), (74.6, 42.87), (-180.0, -89.5)]
    assert len(enc[1]) == 2 and enc[1][0] == enc[1][1] == enc[0][0]
    assert len(enc[2]) == 2 and decode(enc[2][1]) == [(0.2, 0.1), (0.8, 0.1), (0.8, 0.7), (0.2, 0.1)]
    assert enc[3] == []
    assert all(63 <= ord(c) <= 126 for c in enc[0][0])  # never <, > or &: safe in the JSON block


def test_encode_round_trips_many_parts_of_every_size() -> None:
    """The vectorised writer (characters chunk by chunk, parts sliced by offset) against the reader: deltas of
    one to five characters, one-point parts, empty geometries between others, all in one call."""
    rng = np.random.default_rng(14)
    geoms: list[shapely.Geometry] = []
    for k in range(300):
        n = int(rng.integers(1, 30))
        xy = np.column_stack([rng.uniform(-180, 180, n), rng.uniform(-90, 90, n)])
        xy[1::3] = xy[0] + rng.normal(0, 10.0 ** -rng.integers(1, 5), 2)  # small deltas next to large ones
        geoms.append(shapely.LineString() if k % 50 == 7 else
                     shapely.MultiLineString([xy, xy[::-1]]) if k % 9 == 0 and n > 1 else
                     shapely.LineString(xy) if n > 1 else shapely.Point(xy[0]))
    enc = maps.encode(geoms)
    for g, e in zip(geoms, enc):
        q = [np.rint(shapely.get_coordinates(p) * maps.LINE_SCALE).astype(int) for p in shapely.get_parts(g)]
        want = [[(x / maps.LINE_SCALE, y / maps.LINE_SCALE) for x, y in c.tolist()] for c in q if len(c)]
        assert [decode(t) for t in e] == want


def test_make_map_accepts_ids_corridor_numbers_and_none() -> None:
    assert isinstance(maps.make_map(["1a", "almaty-bishkek"], offline=True), folium.Map)
    s = maps.routes_spec(3, offline=True)
    assert len(routes_of(s)) == int(((corridors.sections()["corridor"] == "3")
                                     & (corridors.sections()["kind"] == "section")).sum())
    with pytest.raises(ValueError):
        maps.make_map(None, offline=True, tiles="OpenStreetMap")
    with pytest.raises(corridors.NotFoundError):
        maps.make_map(["no-such-route"])


def test_every_map_credits_its_data(offline: Path) -> None:
    for name in EXPECTED[:-1]:
        credits = " ".join(spec(offline / name)["credits"])
        assert "Natural Earth" in credits, name


def test_leaflet_ships_in_the_package() -> None:
    static = Path(maps.__file__).parent / "static"
    assert {"leaflet.js", "leaflet.css", "LEAFLET_LICENSE", "maps.css", "corridors.js"} <= {
        p.name for p in static.iterdir()}
    assert "BSD 2-Clause" in (static / "LEAFLET_LICENSE").read_text(encoding="utf-8")


def test_the_browser_decodes_routes_at_the_scale_they_are_encoded() -> None:
    import re

    from corridors import maps

    js = (Path(maps.__file__).parent / "static" / "corridors.js").read_text(encoding="utf-8")
    assert int(re.search(r"var SCALE = (\d+);", js).group(1)) == maps.LINE_SCALE


def test_bcp_popups_carry_the_cpmm_time_and_cost_with_year_and_source(offline: Path) -> None:
    """Issue 11: every map's BCP popup shows the time and cost to clear it, from CPMM, with data year and source."""
    s = spec(offline / "kazakhstan.html")
    bcps = {f["p"]["id"]: f["p"] for layer in s["layers"] if layer["type"] == "nodes" for f in layer["features"]}
    torugart = spec(offline / "corridor_1.html")
    tor = [f["p"] for layer in torugart["layers"] if layer["type"] == "nodes" for f in layer["features"]
           if f["p"]["id"] == "bcp_torugart"][0]
    assert ["KGZ", "CHN", "road", 50.1, 2022, 19.0, 2023, 1] in tor["cpmm"]["rows"]  # cpmm-0912 (hours) exact
    assert "2022-report/kyrgyz-republic" in tor["cpmm"]["src"]
    assert all("cpmm" in p for p in bcps.values() if p["kind"] == "bcp")  # ports: only those CPMM measures


def test_the_set_counts_crossing_corridors_as_the_analysis_does() -> None:
    """The build reuses the corridor lengths it already computed; the answer is corridors_crossing's."""
    from corridors import analysis, data

    lengths = atlas.corridor_lengths(data.sections())
    assert list(lengths) == ["1", "2", "3", "4", "5", "6"]
    for iso in ("KAZ", "CHN", "KGZ", "GEO", "PAK", "MNG"):
        assert atlas.corridors_crossing(lengths, iso) == analysis.corridors_crossing(iso), iso
    assert atlas.corridors_crossing(lengths, "KAZ") == ["1", "2", "3", "6"]  # "four of six"


def test_drawing_work_shared_between_maps_gives_the_same_features() -> None:
    """Pieces drawn once per corridor and cut alignments are remembered by content across maps: a map drawn
    with the memory cleared equals the same map drawn after others filled it."""
    maps._MEMO.clear()
    alone = maps.page(maps.routes_spec(2, offline=True))
    maps.page(maps.routes_spec(None, offline=True))  # the overview fills the memory with every corridor
    assert maps.page(maps.routes_spec(2, offline=True)) == alone
    assert 0 < len(maps._MEMO) <= maps.MEMO_ITEMS


def test_side_by_side_slots() -> None:
    """Offsets: the route's slot among the corridors sharing each vertex, centred (alone: 0)."""
    a = shapely.LineString([(70, 40), (71, 40), (72, 40), (73, 40)])
    b = shapely.LineString([(71, 40), (72, 40), (73, 40), (74, 41)])
    c = shapely.LineString([(60, 30), (61, 30)])
    offs = maps._shared_offsets(["1", "3", "2"], [a, b, c])
    assert offs[0] == [0, -1, -1, -1] and offs[1] == [1, 1, 1, 0] and offs[2] == []


def test_make_map_analyses_the_users_lines_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """One batch analysis per map of the user's lines (none when ``results`` are given), never per row."""
    from corridors import analysis

    calls: list[int] = []
    real = analysis.analyze_many

    def counting(routes, *args, **kwargs):
        calls.append(len(routes))
        return real(routes, *args, **kwargs)

    monkeypatch.setattr(analysis, "analyze_many", counting)
    monkeypatch.setattr(analysis, "analyze", lambda *a, **k: pytest.fail("per-row analysis"))
    gdf = gpd.GeoDataFrame({"name": ["a", "b", "c"]}, crs="EPSG:4326", geometry=[
        shapely.LineString([(76.9, 43.25), (74.6, 42.87)]), shapely.LineString([(69.3, 41.3), (71.4, 51.1)]),
        shapely.LineString([(71.4, 51.1), (76.9, 43.25)])])
    html = maps.render(corridors.make_map(gdf, offline=True))
    assert calls == [3] and html.count('"id":') >= 3
    res = real(gdf)
    calls.clear()
    maps.page(maps.routes_spec(gdf, offline=True, results=res))
    assert calls == []


def test_the_collector_pause_restores_the_state_it_found() -> None:
    import gc

    assert gc.isenabled()
    maps.route_layers(maps.select(["1b"]), corridors.analyze_many(["1b"]))
    assert gc.isenabled()
    gc.disable()
    try:
        maps.route_layers(maps.select(["1b"]), corridors.analyze_many(["1b"]))
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), corridors.analysis.gc_paused():
        raise RuntimeError("an error inside")
    assert gc.isenabled()
    maps.routes_spec(["1b"], offline=True)  # paused as a whole, then as it was
    assert gc.isenabled()
    with pytest.raises(corridors.NotFoundError):
        maps.routes_spec("no such section", offline=True)
    assert gc.isenabled()
