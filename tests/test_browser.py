"""The offline maps in headless Chromium: they render, request nothing, and behave (layers, popups, escaping).

Needs Debian's chromium at /usr/bin/chromium and the playwright package; skipped without them unless the
environment variable CI is set, in which case a missing browser is a failure. Screenshots go to artifacts/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely

from corridors import atlas, maps

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
MAPS = ["carec_corridors", *(f"corridor_{c}" for c in range(1, 7)), "almaty_bishkek", "kazakhstan"]
HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>"]
PAYLOADS = ["{{ 7*7 }}", "{% if true %}IF-RAN{% endif %}", "{# hidden #}",
            "{{ cycler.__init__.__globals__.os.getcwd() }}", "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>"]
IN_CI = bool(os.environ.get("CI"))

if not IN_CI and not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); set CI=1 to make this a failure",
                allow_module_level=True)
if not IN_CI:
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser itself is Debian's)")

from playwright.sync_api import Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    atlas.build(out, offline=True)
    lines = [shapely.LineString([(76.9, 43.25), (74.6, 42.87)]), shapely.LineString([(69.3, 41.3), (71.4, 44.1)])]
    gdf = gpd.GeoDataFrame({"name": HOSTILE}, geometry=lines, crs="EPSG:4326").to_crs(3857)
    m = maps.make_map(gdf, offline=True, title=HOSTILE[1], subtitle=HOSTILE[0])
    (out / "hostile.html").write_text(maps.render(m), encoding="utf-8")
    n = len(PAYLOADS)
    lines = [shapely.LineString([(66 + 2 * i, 40.0), (67 + 2 * i, 42.0)]) for i in range(n)]
    gdf = gpd.GeoDataFrame({"name": PAYLOADS, "id": PAYLOADS, "sources": [[p] for p in PAYLOADS],
                            "source_urls": [["javascript:alert(9)"]] * n, "note": PAYLOADS},
                           geometry=lines, crs="EPSG:4326")
    spec = maps.routes_spec(gdf, offline=True, title=PAYLOADS[0], subtitle=PAYLOADS[4], labels=True)
    (out / "payloads.html").write_text(maps.page(spec), encoding="utf-8")
    (out / "payloads_folium.html").write_text(maps.render(maps.make_map(gdf, offline=True, title=PAYLOADS[3])),
                                              encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Watched:
    """A page that records console errors, page errors, non-file requests and dialogs."""

    def __init__(self, browser: Any) -> None:
        self.page: Page = browser.new_page(viewport={"width": 1280, "height": 800})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", lambda req: None if req.url.startswith("file:") else self.requests.append(req.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def open(self, path: Path) -> Page:
        self.page.goto(path.as_uri())
        self.page.wait_for_function("() => document.querySelectorAll('.cr-dock').length > 0")
        self.page.wait_for_timeout(300)
        return self.page


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    w = Watched(browser)
    yield w
    w.page.close()


def features(path: Path) -> int:
    """Drawn route pieces (a ferry leg is its own piece)."""
    import json
    import re

    text = path.read_text(encoding="utf-8")
    spec = json.loads(re.search(r'id="cr-spec[^"]*">(.*?)</script>', text, re.S).group(1))  # type: ignore[union-attr]
    return sum(len(f["g"]) * (2 if layer["group"] == "key" else 1)  # key routes: casing and core line
               for layer in spec["layers"] if layer["type"] == "routes" for f in layer["features"])


def click_a_route(page: Page) -> str:
    """Click a point on some route's stroke that is not covered by anything else; return the popup text."""
    point = page.evaluate("""() => {
        for (const p of document.querySelectorAll('path.cr-route')) {
            const len = p.getTotalLength(), m = p.getScreenCTM();
            for (let i = 1; i < 40; i++) {
                const q = p.getPointAtLength(len * i / 40), x = q.x * m.a + m.e, y = q.y * m.d + m.f;
                if (x < 5 || y < 5 || x > innerWidth - 5 || y > innerHeight - 5) continue;
                const top = document.elementFromPoint(x, y);
                if (top && top.classList && top.classList.contains('cr-route')) return [x, y];
            }
        }
        return null; }""")
    assert point, "no route is visible and clickable"
    page.mouse.click(*point)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible", timeout=5000)
    return str(popup.inner_text())


@pytest.mark.parametrize("name", MAPS)
def test_offline_map_renders_alone(site: Path, watched: Watched, name: str) -> None:
    path = site / f"{name}.html"
    page = watched.open(path)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    assert page.locator("path.cr-route").count() == features(path) > 0
    assert page.locator(".cr-legend").is_visible()
    assert page.locator(".cr-credits").inner_text().count("Natural Earth") == 1
    assert "km" in click_a_route(page)
    assert not watched.errors, watched.errors
    assert not watched.requests, watched.requests


@pytest.mark.parametrize("name", ["carec_corridors", "kazakhstan"])
def test_toggling_a_corridor_hides_its_paths(site: Path, watched: Watched, name: str) -> None:
    page = watched.open(site / f"{name}.html")
    before = page.locator("path.cr-c1").count()
    assert before > 0
    page.locator(".cr-layers summary").click()
    toggle = page.locator(".cr-layers label", has_text="Corridor 1").locator("input")
    toggle.click()
    assert page.locator("path.cr-c1").count() == 0
    assert page.locator("path.cr-route").count() > 0  # the other corridors stay
    toggle.click()
    assert page.locator("path.cr-c1").count() == before


def test_kazakhstan_facts_panel(site: Path, watched: Watched) -> None:
    page = watched.open(site / "kazakhstan.html")
    panel = page.locator(".cr-panel")
    assert panel.is_visible()
    text = panel.inner_text()
    assert "four of the six corridors cross Kazakhstan" in text and "Computed from the geometry" in text
    assert "not published" in text
    page.locator(".cr-layers summary").click()
    choropleth = page.locator(".cr-layers label", has_text="CAREC investment by country")
    assert choropleth.count() == 1 and choropleth.locator("input").is_checked()
    assert "no figure published" in page.locator(".cr-legend").inner_text()
    assert page.locator(".leaflet-cr-choro-pane canvas").count() >= 1  # the layer is drawn
    assert not watched.errors, watched.errors


def test_hostile_names_show_as_text_and_run_nothing(site: Path, watched: Watched) -> None:
    page = watched.open(site / "hostile.html")
    assert page.locator(".cr-title").inner_text().startswith(HOSTILE[1])
    assert HOSTILE[0] in page.locator(".cr-title").inner_text()
    text = click_a_route(page)
    assert any(h in text for h in HOSTILE)
    page.wait_for_timeout(300)
    assert page.locator("img[src='x']").count() == 0
    assert not watched.dialogs, watched.dialogs
    assert not watched.errors, watched.errors
    assert not watched.requests, watched.requests
    page.screenshot(path=str(ARTIFACTS / "hostile.png"))


@pytest.mark.parametrize("name", ["payloads", "payloads_folium"])
def test_payloads_show_literally_and_nothing_runs(site: Path, watched: Watched, name: str) -> None:
    """Jinja and HTML/JS payloads in name, id, sources, notes, title, labels, popups and tooltips: shown as
    typed, nothing executed, no element injected, no request."""
    page = watched.open(site / f"{name}.html")
    title = page.locator(".cr-title").inner_text()
    assert title.startswith(PAYLOADS[0] if name == "payloads" else PAYLOADS[3])
    if name == "payloads":
        assert PAYLOADS[4] in title  # the subtitle
        labels = page.locator(".cr-label").all_inner_texts()
        assert any(PAYLOADS[1] in t for t in labels)  # labels may be culled where they collide
    assert any(p in click_a_route(page) for p in PAYLOADS)  # a real click on a route
    texts = page.evaluate("""() => { const out = [], m = window.corridors.map;  // then every route's popup
        m.eachLayer(l => { if (l.cr && l.getCenter && l.cr.group) {
            l.fire('click', {latlng: l.getCenter()}, true);
            const p = document.querySelector('.leaflet-popup-content'); out.push(p ? p.innerText : '');
            if (p && p.querySelector('a:not([href^="http"])')) out.push('NON-HTTP LINK');
            m.closePopup(); } });
        return out; }""")
    seen = {p for p in PAYLOADS for t in texts if p in t}
    assert "NON-HTTP LINK" not in texts  # a javascript: source URL never becomes a link
    assert seen == set(PAYLOADS), set(PAYLOADS) - seen
    assert "IF-RAN" not in page.locator("body").inner_text().replace("IF-RAN{% endif %}", "")
    assert "49" not in page.locator(".cr-title").inner_text()
    page.wait_for_timeout(200)
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("() => document.querySelectorAll('script').length") == page.evaluate(
        "() => [...document.querySelectorAll('script')].filter(s => !s.src).length")
    assert not watched.dialogs, watched.dialogs
    assert not watched.errors, watched.errors
    assert not watched.requests, watched.requests


# ---------------------------------------------------------------- layout and tools at both sizes (issue 12)

SIZES = [(1400, 900), (390, 844)]
OVERLAYS = ".cr-box, .cr-credits, .leaflet-control"


def sized(browser: Any, w: int, h: int) -> Watched:
    watched = Watched(browser)
    watched.page.set_viewport_size({"width": w, "height": h})
    return watched


def route_points_under_overlays(page: Page) -> list[Any]:
    """Points sampled along every drawn route (on screen) that fall inside a title/legend/panel/control box."""
    return list(page.evaluate("""(sel) => {
        const boxes = [...document.querySelectorAll(sel)].map(b => b.getBoundingClientRect())
            .filter(r => r.width > 0 && r.height > 0), bad = [];
        for (const p of document.querySelectorAll('path.cr-route')) {
            const len = p.getTotalLength(), m = p.getScreenCTM();
            for (let i = 0; i <= 60; i++) {
                const q = p.getPointAtLength(len * i / 60), x = q.x * m.a + m.e, y = q.y * m.d + m.f;
                if (x < 0 || y < 0 || x > innerWidth || y > innerHeight) continue;
                if (boxes.some(r => x >= r.left && x <= r.right && y >= r.top && y <= r.bottom))
                    bad.push([p.getAttribute('class'), Math.round(x), Math.round(y)]);
            }
        }
        return bad; }""", OVERLAYS))


@pytest.mark.parametrize("w,h", SIZES)
@pytest.mark.parametrize("name", MAPS)
def test_nothing_covers_a_route_at_the_initial_view(site: Path, browser: Any, name: str, w: int, h: int) -> None:
    watched = sized(browser, w, h)
    try:
        page = watched.open(site / f"{name}.html")
        page.screenshot(path=str(ARTIFACTS / f"{name}_{w}x{h}.png"))
        assert page.locator("path.cr-route").count() > 0
        assert not route_points_under_overlays(page)
        offscreen = page.evaluate("""() => [...document.querySelectorAll('path.cr-route')].filter(p => {
            const r = p.getBoundingClientRect();
            return r.right < 0 || r.bottom < 0 || r.left > innerWidth || r.top > innerHeight; }).length""")
        assert offscreen == 0  # every route is in view
        collisions = page.evaluate("""() => {
            const rs = [...document.querySelectorAll('.cr-label span, .cr-place span')]
                .filter(s => s.offsetParent && getComputedStyle(s.parentElement).display !== 'none')
                .map(s => s.getBoundingClientRect());
            let n = 0;
            for (let i = 0; i < rs.length; i++) for (let j = i + 1; j < rs.length; j++) {
                const a = rs[i], b = rs[j];
                if (a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top) n++;
            }
            return [n, rs.length]; }""")
        assert collisions[0] == 0, collisions
        assert collisions[1] > 0 or w < 700  # (a phone's first view of a region may be too small for names)
        assert "© OpenStreetMap contributors" in page.locator(".cr-credits").inner_text()
        assert not watched.errors and not watched.requests
    finally:
        watched.page.close()


@pytest.mark.parametrize("w,h", SIZES)
def test_popups_open_fully_visible(site: Path, browser: Any, w: int, h: int) -> None:
    watched = sized(browser, w, h)
    try:
        page = watched.open(site / "carec_corridors.html")
        top = page.evaluate("""() => {  // the route point nearest the top of the screen: the worst case
            let best = null;
            for (const p of document.querySelectorAll('path.cr-route')) {
                const len = p.getTotalLength(), m = p.getScreenCTM();
                for (let i = 0; i <= 80; i++) {
                    const q = p.getPointAtLength(len * i / 80), x = q.x * m.a + m.e, y = q.y * m.d + m.f;
                    const el = document.elementFromPoint(x, y);
                    if (el && el.classList.contains('cr-route') && (!best || y < best[1])) best = [x, y];
                }
            }
            return best; }""")
        page.mouse.click(*top)
        popup = page.locator(".leaflet-popup")
        popup.wait_for(state="visible")
        page.wait_for_timeout(600)  # the map pans the popup into view
        r = popup.bounding_box()
        assert r and r["x"] >= 0 and r["y"] >= 0 and r["x"] + r["width"] <= w and r["y"] + r["height"] <= h, r
        title = page.locator(".cr-title").bounding_box()
        assert title and r["y"] >= title["y"] + title["height"], (r, title)  # the heading is not under the title
    finally:
        watched.page.close()


def open_tools(page: Page) -> None:
    page.locator(".cr-tools summary").click()


@pytest.mark.parametrize("w,h", SIZES)
def test_search_finds_khorgos(site: Path, browser: Any, w: int, h: int) -> None:
    watched = sized(browser, w, h)
    try:
        page = watched.open(site / "carec_corridors.html")
        open_tools(page)
        page.locator(".cr-search").fill("Khorgos")
        assert page.locator(".cr-hits li").count() >= 1
        page.locator(".cr-search").press("Enter")
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible")
        assert "Khorgos" in popup.inner_text()
        box = page.evaluate("() => { const b = window.corridors.map.getBounds(); "
                            "return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }")
        # the map went there: Khorgos in view (the popup, which lists CPMM border times, may pan it off-centre)
        assert box[0] < 80.2 < box[2] and box[1] < 44.2 < box[3] and box[2] - box[0] < 30
        assert not watched.errors and not watched.requests
    finally:
        watched.page.close()


@pytest.mark.parametrize("w,h", SIZES)
def test_measure_tool_is_geodesic(site: Path, browser: Any, w: int, h: int) -> None:
    from pyproj import Geod

    watched = sized(browser, w, h)
    try:
        page = watched.open(site / "kazakhstan.html")
        open_tools(page)
        page.locator(".cr-measure").click()
        if w < 700:
            page.locator(".cr-tools summary").click()  # fold the tools away to click on the map
        for x, y in ((0.15 * w, 0.6 * h), (0.55 * w, 0.45 * h), (0.4 * w, 0.8 * h)):  # clear of the boxes
            page.mouse.click(x, y)
        out = page.locator(".cr-measure-out")
        pts = __import__("json").loads(out.get_attribute("data-points") or "[]")
        assert len(pts) == 3
        lons, lats = [p[0] for p in pts], [p[1] for p in pts]
        want = Geod(ellps="WGS84").line_length(lons, lats) / 1000
        got = float(out.get_attribute("data-km") or "nan")
        assert got == pytest.approx(want, rel=0.01)
        assert got == pytest.approx(want, rel=1e-6)  # Vincenty: in fact to the millimetre
    finally:
        watched.page.close()


def test_downloads_are_valid_geojson_and_csv(site: Path, watched: Watched, tmp_path: Path) -> None:
    import csv
    import json

    page = watched.open(site / "corridor_3.html")
    open_tools(page)
    with page.expect_download() as d:
        page.locator(".cr-dl-geojson").click()
    path = tmp_path / "routes.geojson"
    d.value.save_as(path)
    fc = json.loads(path.read_text(encoding="utf-8"))
    ids = sorted(f["properties"]["id"] for f in fc["features"])
    import corridors

    secs = corridors.sections()
    assert fc["type"] == "FeatureCollection" and ids == sorted(secs.loc[(secs["corridor"] == "3")
                                                                        & (secs["kind"] == "section"), "id"])
    for f in fc["features"]:
        a = corridors.analyze(f["properties"]["id"])
        assert f["properties"]["length_km"] == pytest.approx(a.length_km, abs=1e-3)
        assert f["geometry"]["type"] in ("LineString", "MultiLineString")
        lon, lat = (f["geometry"]["coordinates"] if f["geometry"]["type"] == "LineString"
                    else f["geometry"]["coordinates"][0])[0]
        assert 25 < lon < 125 and 10 < lat < 60  # RFC 7946 lon, lat order
    with page.expect_download() as d:
        page.locator(".cr-dl-csv").click()
    path = tmp_path / "routes.csv"
    d.value.save_as(path)
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    assert sorted(r["id"] for r in rows) == ids
    assert all(float(r["length_km"]) > 0 for r in rows)
    km = [c for c in rows[0] if c.startswith("km_")]
    for r in rows:
        assert sum(float(r[c]) for c in km) == pytest.approx(float(r["length_km"]), abs=0.01)
    assert not watched.requests


def test_print_stylesheet_hides_tools_and_shows_the_legend(site: Path, watched: Watched) -> None:
    page = watched.open(site / "carec_corridors.html")
    page.emulate_media(media="print")
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    assert not page.locator(".cr-tools").is_visible()
    assert not page.locator(".leaflet-control-zoom").is_visible()
    assert page.locator(".cr-legend .cr-entry").first.is_visible()


@pytest.mark.parametrize("name", ["carec_corridors", "kazakhstan"])
def test_every_route_is_visible_and_clickable_somewhere(site: Path, browser: Any, name: str) -> None:
    """Shared stretches are drawn side by side: no route (a section, key route) hides entirely under another
    corridor (a stretch shared within one corridor is drawn once: clicking there opens the first section)."""
    watched = sized(browser, 1400, 900)
    try:
        page = watched.open(site / f"{name}.html")
        hidden = page.evaluate("""() => { const ok = new Set(), all = new Map();
            for (const p of document.querySelectorAll('path.cr-route:not(.cr-core)')) {
                const f = [...p.classList].find(c => /^cr-f[0-9]+$/.test(c));
                all.set(f, (all.get(f) || 0) + p.getTotalLength());
                if (visible(p)) ok.add(f);
            }  // (a piece under 25 px at this zoom may lie under the markers at its two ends)
            return [...all.keys()].filter(f => !ok.has(f) && all.get(f) >= 25);
            function visible(p) {
            const group = [...p.classList].find(c => c.startsWith('cr-c')), len = p.getTotalLength(),
                  m = p.getScreenCTM(), at = t => { const q = p.getPointAtLength(t);
                                                    return [q.x * m.a + m.e, q.y * m.d + m.f]; };
            for (let i = 0; i <= 200; i++) {  // the centre, and either side (a casing shows at its edges)
                const [x, y] = at(len * i / 200), [x2, y2] = at(Math.min(len, len * i / 200 + 1));
                const d = Math.hypot(x2 - x, y2 - y) || 1, nx = -(y2 - y) / d, ny = (x2 - x) / d;
                for (const o of [0, 4, -4]) {
                    const e = document.elementFromPoint(x + nx * o, y + ny * o);
                    if (e && e.classList && e.classList.contains(group)) return true;
                }
            }
            return false; } }""")
        assert not hidden, hidden
    finally:
        watched.page.close()
