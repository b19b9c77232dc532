"""Public API: loaders, lookups by id / name / alternative name, errors, CLI formats."""

import json

import pytest

import corridors
from corridors.cli import main


def test_sections_columns_and_crs():
    s = corridors.sections()
    assert {"id", "corridor", "name", "mode", "nodes", "basis", "confidence", "sources", "geometry"} <= set(s.columns)
    assert s.crs.to_epsg() == 4326
    assert set(s["mode"]) <= {"road", "rail", "multimodal"}


def test_nodes_have_kinds_and_sources():
    n = corridors.nodes()
    assert set(n["kind"]) == {"city", "bcp", "port", "waypoint"}
    assert n["sources"].map(len).gt(0).all()


@pytest.mark.parametrize("query, expected", [
    ("Almaty", "almaty"), ("alma-ata", "almaty"), ("ALMATY", "almaty"), ("Druzhba", "dostyk"),
    ("Dostyk - Alashankou", "bcp_dostyk_alashankou"), ("Nur Zholy", "bcp_nur_zholy_khorgos"),
    ("Kordai", "korday"), ("Kashgar", "kashi"),
])
def test_node_lookup_by_alternative_names(query, expected):
    assert corridors.node(query)["id"] == expected


def test_section_lookup_case_insensitive():
    assert corridors.section("1B")["id"] == "1b"
    assert corridors.section("Almaty–Bishkek road")["id"] == "almaty-bishkek"


def test_unknown_name_lists_closest_matches():
    with pytest.raises(corridors.NotFoundError, match="closest matches: .*Almaty"):
        corridors.node("Almatty")
    with pytest.raises(LookupError):
        corridors.section("corridor 99")


def test_countries_frame():
    c = corridors.countries()
    assert {"iso_a3", "name", "geometry"} <= set(c.columns)
    assert c.loc[c.iso_a3 == "KAZ", "name"].iloc[0] == "Kazakhstan"


def test_version_from_metadata():
    assert corridors.__version__ != "0+unknown"


@pytest.mark.parametrize("fmt", ["json", "csv", "geojson", "table"])
def test_cli_list_formats(fmt, capsys):
    assert main(["list", "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt in ("json", "geojson"):
        doc = json.loads(out)
        rows = doc if fmt == "json" else doc["features"]
        assert len(rows) == len(corridors.sections())
    else:
        assert "almaty-bishkek" in out and "2-GEO-road" in out


def test_cli_nodes_filter(capsys):
    assert main(["nodes", "--kind", "bcp", "--country", "kaz", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["kind"] == "bcp" and r["country"] == "KAZ" for r in rows)


def test_cli_unknown_id_exits_2_with_hint(capsys):
    assert main(["report", "nosuch"]) == 2
    assert "no section called 'nosuch'" in capsys.readouterr().err
