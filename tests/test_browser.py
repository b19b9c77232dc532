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

from corridors import maps

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
MAPS = ["carec_corridors", *(f"corridor_{c}" for c in range(1, 7)), "almaty_bishkek", "kazakhstan"]
HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>"]
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
    maps.build(out, offline=True)
    lines = [shapely.LineString([(76.9, 43.25), (74.6, 42.87)]), shapely.LineString([(69.3, 41.3), (71.4, 44.1)])]
    gdf = gpd.GeoDataFrame({"name": HOSTILE}, geometry=lines, crs="EPSG:4326").to_crs(3857)
    m = maps.make_map(gdf, offline=True, title=HOSTILE[1], subtitle=HOSTILE[0])
    (out / "hostile.html").write_text(maps.render(m), encoding="utf-8")
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
        self.page.wait_for_function("() => document.querySelectorAll('.leaflet-control-layers').length > 0")
        self.page.wait_for_timeout(300)
        return self.page


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    w = Watched(browser)
    yield w
    w.page.close()


def features(path: Path) -> int:
    return path.read_text(encoding="utf-8").count('"className":"cr-route ')


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
    assert "km" in click_a_route(page)
    assert not watched.errors, watched.errors
    assert not watched.requests, watched.requests


@pytest.mark.parametrize("name", ["carec_corridors", "kazakhstan"])
def test_toggling_a_corridor_hides_its_paths(site: Path, watched: Watched, name: str) -> None:
    page = watched.open(site / f"{name}.html")
    before = page.locator("path.cr-c1").count()
    assert before > 0
    toggle = page.locator(".leaflet-control-layers-overlays label", has_text="Corridor 1").locator("input")
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
    choropleth = page.locator(".leaflet-control-layers-overlays label", has_text="CAREC investment by country")
    assert choropleth.count() == 1 and choropleth.locator("input").is_checked()
    assert "no figure published" in page.locator(".cr-legend").inner_text()
    assert page.locator(".cr-choro canvas, .leaflet-cr-choro-pane canvas").count() >= 1  # the layer is drawn
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
