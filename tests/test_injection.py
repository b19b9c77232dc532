"""Text from users' files is data, never code: no user string ever becomes template source, and every map
field shows it literally (API, folium wrapper and CLI, from GeoJSON, CSV and GPX files).

The proof is structural: every Jinja compilation during make_map / render / page / the CLI is recorded, and
no payload may appear in any compiled source. The browser side (nothing executes, text shown literally) is
in tests/test_browser.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import jinja2
import pytest
import shapely

from corridors import cli, maps

JINJA = ["{{ 7*7 }}", "{% if true %}IF-RAN{% endif %}", "{# hidden #}", "{{ cycler.__init__.__globals__.os.getcwd() }}"]
MARKUP = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>",
          "<!-- open comment", "javascript:alert(3)"]
PAYLOADS = JINJA + MARKUP
SPEC_BLOCK = re.compile(r'<script type="application/json" id="(cr-spec[^"]*)">(.*?)</script>', re.S)


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every source text Jinja compiles while the test runs."""
    import folium  # noqa: F401  (its class templates compile at import: load it before recording)

    sources: list[str] = []
    original = jinja2.Environment.compile

    def spy(self: jinja2.Environment, source: object, *args: object, **kwargs: object) -> object:
        sources.append(source if isinstance(source, str) else repr(source))
        return original(self, source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jinja2.Environment, "compile", spy)
    yield sources


def strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def spec_of(page: str) -> dict:
    blocks = SPEC_BLOCK.findall(page)
    assert len(blocks) == 1, "one spec block, closed only by its own </script>"
    out: dict = json.loads(blocks[0][1])
    return out


def check_page(page: str, compiled: list[str], payloads: list[str]) -> dict:
    """Payloads appear literally as data, never as markup, never as template source."""
    for src in compiled:
        for p in payloads:
            assert p not in src, f"user text reached Jinja as template source: {p!r}"
    spec = spec_of(page)
    shown = set(strings(spec))
    for p in payloads:
        assert any(p in s for s in shown), f"{p!r} is not shown literally"
    assert "IF-RAN" not in page.replace("IF-RAN{% endif %}", "")  # the {% if %} never ran
    assert "/work" not in "".join(shown).replace("getcwd() }}", "")  # os.getcwd() never ran
    body = SPEC_BLOCK.sub("", page)
    for p in MARKUP[:3]:
        assert p not in body and p not in SPEC_BLOCK.search(page).group(2)  # type: ignore[union-attr]
    assert "<img src=x" not in page and "<!-- open" not in page
    assert page.count("<script") == page.count("</script>")
    return spec


def hostile_frame() -> gpd.GeoDataFrame:
    n = len(PAYLOADS)
    lines = [shapely.LineString([(70 + i * 0.5, 40.0), (70.3 + i * 0.5, 41.0)]) for i in range(n)]
    return gpd.GeoDataFrame({"name": PAYLOADS, "id": PAYLOADS, "sources": [[p] for p in PAYLOADS],
                             "source_urls": [["javascript:alert(1)"]] * n, "note": PAYLOADS[::-1]},
                            geometry=lines, crs="EPSG:4326")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_api_page_title_subtitle_notes_labels(payload: str, compiled: list[str]) -> None:
    gdf = hostile_frame()
    spec = maps.routes_spec(gdf, offline=True, title=payload, subtitle=payload, labels=True,
                            notes={payload: [payload, {"a": payload, "href": payload}]})
    page = maps.page(spec)
    got = check_page(page, compiled, PAYLOADS)
    assert got["title"] == payload and got["subtitle"] == payload
    assert f"<title>{maps.html.escape(payload, quote=True)}</title>" in page
    props = {f["p"]["id"]: f["p"] for layer in got["layers"] if layer["type"] == "routes" for f in layer["features"]}
    assert set(props) == set(PAYLOADS)
    assert props[payload]["name"] == payload and props[payload]["note"][0] == payload
    assert all(p["sources"][0][1] == "javascript:alert(1)" for p in props.values())  # shown as text, never a link
    labels = [lb["text"] for layer in got["layers"] if layer["type"] == "labels" for lb in layer["labels"]]
    assert len(labels) == len(PAYLOADS)  # long names are cut with "…" to fit on the map, never rewritten
    assert all(any(p.startswith(t.removesuffix("…")) for p in PAYLOADS) for t in labels)


def test_api_folium_map_never_compiles_user_text(compiled: list[str]) -> None:
    m = maps.make_map(hostile_frame(), offline=True, title=PAYLOADS[0], subtitle=PAYLOADS[3],
                      notes={PAYLOADS[1]: PAYLOADS[2]})
    import folium

    assert isinstance(m, folium.Map)
    page = maps.render(m)
    check_page(page, compiled, PAYLOADS)
    assert "49" not in re.sub(r"[0-9a-f]{32}", "", SPEC_BLOCK.sub("", page).split("</style>")[-1])
    assert compiled, "the spy saw folium's own templates"
    m.save  # the standard folium container  # noqa: B018


def write_files(folder: Path) -> list[Path]:
    feats = [{"type": "Feature", "properties": {"name": p, "id": p, "sources": p, "notes": p},
              "geometry": {"type": "LineString", "coordinates": [[70 + i, 40.0], [70.4 + i, 41.0]]}}
             for i, p in enumerate(PAYLOADS)]
    gj = folder / "routes.geojson"
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    csvf = folder / "routes.csv"
    rows = ["route,lon,lat"]
    for i, p in enumerate(PAYLOADS):
        q = '"' + p.replace('"', '""') + '"'
        rows += [f"{q},{60 + i},{45.0}", f"{q},{60.5 + i},{45.5}"]
    csvf.write_text("\n".join(rows) + "\n", encoding="utf-8")
    gpx = folder / "track.gpx"
    trks = "".join(f"<trk><name>{escape(p)}</name><desc>{escape(p)}</desc><trkseg><trkpt lat=\"42\" lon=\"{64 + i}\"/>"
                   f"<trkpt lat=\"42.5\" lon=\"{64.5 + i}\"/></trkseg></trk>" for i, p in enumerate(PAYLOADS))
    gpx.write_text(f'<?xml version="1.0"?><gpx version="1.1" creator="t">{trks}</gpx>', encoding="utf-8")
    return [gj, csvf, gpx]


def test_cli_compare_map_from_geojson_csv_and_gpx(tmp_path: Path, compiled: list[str],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    files = write_files(tmp_path)
    out = tmp_path / "compare.html"
    assert cli.main(["compare", *map(str, files), "1b", "--map", str(out), "--offline"]) == 0
    page = out.read_text(encoding="utf-8")
    spec = check_page(page, compiled, PAYLOADS)
    names = [f["p"]["name"] for layer in spec["layers"] if layer["type"] == "routes" for f in layer["features"]]
    for p in PAYLOADS:
        assert names.count(p) == 3, p  # once from each file
    table = capsys.readouterr().out
    assert "{{ 7*7 }}" in table and "IF-RAN{% endif %}" in table  # the table shows them literally too


def test_spec_json_cannot_close_its_block() -> None:
    text = maps.spec_json({"a": "</script><!--<script>", "b": "\u2028&"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!--<script>", "b": "\u2028&"}
