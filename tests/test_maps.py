"""The interactive maps (corridors.maps): files, reproducibility, offline self-containment, size, safety."""

from __future__ import annotations

import re
from pathlib import Path

import folium
import geopandas as gpd
import pytest
import shapely

import corridors
from corridors import maps

REPO = Path(__file__).parents[1]
EXPECTED = ["carec_corridors.html", *(f"corridor_{c}.html" for c in range(1, 7)), "almaty_bishkek.html",
            "kazakhstan.html", "index.html"]
HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>"]
MAX_OVERVIEW_BYTES = 1_500_000
# a tag that loads something (<a href> links to sources only navigate on a click and are fine)
LOADING_TAG = re.compile(r"<(?:script|link|img|image|iframe|source|video|audio|embed|object|use|input|track)\b"
                         r"[^>]*?\s(?:src|href|srcset|data|poster|xlink:href)\s*=\s*[\"']?\s*(?:https?:)?//", re.I)
CSS_URL = re.compile(r"url\(\s*[\"']?\s*(?:https?:)?//|@import", re.I)


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("offline")
    maps.build(out, offline=True)
    return out


@pytest.fixture(scope="module")
def online(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("online")
    maps.build(out)
    return out


def hostile_routes(crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    lines = [shapely.LineString([(76.9, 43.25), (74.6, 42.87)]), shapely.LineString([(69.3, 41.3), (71.4, 51.1)])]
    gdf = gpd.GeoDataFrame({"name": HOSTILE, "id": HOSTILE}, geometry=lines, crs="EPSG:4326")
    return gdf.to_crs(crs)


def test_build_writes_every_map_and_returns_the_paths(offline: Path, tmp_path: Path) -> None:
    assert sorted(p.name for p in offline.iterdir()) == sorted(EXPECTED)
    written = maps.build(tmp_path / "x", offline=True)
    assert [p.name for p in written] == EXPECTED and all(p.is_file() for p in written)
    assert not list((tmp_path / "x").glob("*.tmp"))  # atomic writes leave no temporary files behind


def test_two_builds_are_byte_identical(offline: Path, tmp_path: Path) -> None:
    maps.build(tmp_path, offline=True)
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
        assert "L.tileLayer" not in text, name
    overview = (offline / "carec_corridors.html").read_text(encoding="utf-8")
    assert "Leaflet 1.9.4" in overview  # inlined from corridors/static
    assert '<a href="https://' in (offline / "kazakhstan.html").read_text(encoding="utf-8")  # source links stay


def test_default_build_inlines_leaflet_and_adds_only_a_basemap(online: Path) -> None:
    text = (online / "carec_corridors.html").read_text(encoding="utf-8")
    assert "Leaflet 1.9.4" in text and not LOADING_TAG.search(text)  # draws with no network
    assert "L.tileLayer" in text and "OpenStreetMap" in text  # the one optional external layer
    assert "jquery" not in text.lower() and "bootstrap" not in text.lower() and "awesome" not in text.lower()


def test_overview_size(offline: Path, online: Path) -> None:
    for folder in (offline, online):
        assert (folder / "carec_corridors.html").stat().st_size <= MAX_OVERVIEW_BYTES


def test_maps_carry_every_route_and_their_figures(offline: Path) -> None:
    secs = corridors.sections()
    overview = (offline / "carec_corridors.html").read_text(encoding="utf-8")
    assert overview.count('"className":"cr-route ') == len(secs)
    for c in "123456":
        text = (offline / f"corridor_{c}.html").read_text(encoding="utf-8")
        ids = secs.loc[(secs["corridor"] == c) & (secs["kind"] == "section"), "id"]
        assert text.count('"className":"cr-route ') == len(ids)
        assert all(f'"id":"{i}"' in text for i in ids)
    a = corridors.analyze("almaty-bishkek")
    ab = (offline / "almaty_bishkek.html").read_text(encoding="utf-8")
    assert f"{a.length_km:,.0f} km" in ab and "Korday" in ab and "226 km" in ab and "2007" in ab
    for n in a.nodes:
        assert f"km {n['km']:,.0f}" in ab


def test_kazakhstan_map_has_the_crossing_corridors_key_routes_and_facts(offline: Path) -> None:
    text = (offline / "kazakhstan.html").read_text(encoding="utf-8")
    crossing = corridors.corridors_crossing("KAZ")
    assert all(f"Corridor {c}" in text for c in crossing)
    present = set(corridors.sections()["id"])
    for rid in maps.KAZ_KEY_ROUTES:
        assert (f'"id":"{rid}"' in text) == (rid in present)
    assert "four of the six corridors cross Kazakhstan" in text
    assert f"Computed from the geometry: {len(crossing)}" in text
    assert ("agrees" in text) == (len(crossing) == 4)
    assert "not published" in text and "no figure" in text
    assert '"fillColor":"hatch"' in text  # members without a figure: hatched, never a zero colour


def test_hostile_names_are_escaped_everywhere(tmp_path: Path) -> None:
    m = maps.make_map(hostile_routes(), offline=True, title=HOSTILE[1], subtitle=HOSTILE[0])
    text = maps.render(m)
    for bad in HOSTILE:
        assert bad not in text
    assert "<img src=x" not in text and "alert(1)</script>" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text  # shown as text (inside JSON as \u0026lt; ...)
    assert text.count("<script") == text.count("</script>")
    data_lines = [line for line in text.splitlines() if '_add({"features"' in line]
    assert data_lines and not any("</" in line for line in data_lines)  # embedded JSON cannot close <script>


def test_make_map_accepts_routes_in_any_crs() -> None:
    m = maps.make_map(hostile_routes("EPSG:3857"), offline=True)
    assert isinstance(m, folium.Map)
    text = maps.render(m)
    assert text.count('"className":"cr-route cr-cuser"') == 2
    assert "[76.9,43.25]" in text  # back in lon/lat, rounded


def test_make_map_accepts_ids_corridor_numbers_and_none() -> None:
    assert isinstance(maps.make_map(["1a", "almaty-bishkek"], offline=True), folium.Map)
    assert maps.render(maps.make_map(3, offline=True)).count('"className":"cr-route cr-c3"') == int(
        ((corridors.sections()["corridor"] == "3") & (corridors.sections()["kind"] == "section")).sum())
    with pytest.raises(ValueError):
        maps.make_map(None, offline=True, tiles="OpenStreetMap")
    with pytest.raises(corridors.NotFoundError):
        maps.make_map(["no-such-route"])


def test_popups_link_sources_only_over_http() -> None:
    assert maps._link("javascript:alert(1)", "x") == "x"
    assert maps._link("https://example.org/?a=1&b=<2>", "s") == (
        '<a href="https://example.org/?a=1&amp;b=&lt;2&gt;" target="_blank" rel="noopener noreferrer">s</a>')


def test_leaflet_ships_in_the_package() -> None:
    static = Path(maps.__file__).parent / "static"
    assert {"leaflet.js", "leaflet.css", "LEAFLET_LICENSE", "maps.css"} <= {p.name for p in static.iterdir()}
    assert "BSD 2-Clause" in (static / "LEAFLET_LICENSE").read_text(encoding="utf-8")
