"""Hostile route files get a clear error, never a hang or code execution."""

import pytest

import corridors
from corridors.io import RouteFileError

BOMB = """<?xml version="1.0"?>
<!DOCTYPE gpx [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<gpx version="1.1"><trk><name>&d;</name><trkseg>
<trkpt lat="43.2" lon="76.9"/><trkpt lat="42.9" lon="74.6"/></trkseg></trk></gpx>
"""

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<gpx version="1.1"><trk><name>&x;</name><trkseg>
<trkpt lat="43.2" lon="76.9"/><trkpt lat="42.9" lon="74.6"/></trkseg></trk></gpx>
"""


@pytest.mark.parametrize("text", [BOMB, EXTERNAL], ids=["entity-bomb", "external-entity"])
def test_gpx_with_a_dtd_is_refused(tmp_path, text):
    path = tmp_path / "evil.gpx"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RouteFileError, match=r"evil\.gpx: refused: GPX must not declare a DTD"):
        corridors.read_routes(path)


def test_gpx_with_long_text_outside_names_reads_normally(tmp_path):
    """Text in other elements is skipped (it used to be accumulated quadratically)."""
    filler = "<desc>" + "x" * 2_000_000 + "</desc>"
    path = tmp_path / "long.gpx"
    path.write_text(f'<gpx version="1.1"><trk><name>Almaty to Bishkek</name>{filler}<trkseg>'
                    '<trkpt lat="43.2567" lon="76.9286"/><trkpt lat="42.8746" lon="74.5698"/></trkseg></trk></gpx>',
                    encoding="utf-8")
    routes = corridors.read_routes(path)
    assert list(routes["name"]) == ["Almaty to Bishkek"]
    assert 190 < corridors.analyze(routes.iloc[0]).length_km < 200
