"""Travel time and cost from the CPMM figures: values straight from the table, the fallback chain, years,
directions, the BCP pairing, routing by time, and sums that add up."""

import csv
import dataclasses
import importlib.util
import json

import networkx as nx
import pytest
import shapely

import corridors
from corridors import cli, timecost
from corridors.analysis import RouteError


def _load_build(repo):
    spec = importlib.util.spec_from_file_location("build_cpmm", repo / "scripts" / "build_cpmm.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _crossing(r, bcp_id):
    return next(c for c in r.timecost["crossings"] if c["bcp_id"] == bcp_id)


# ---------------------------------------------------------------- the shipped data

def test_rows_read_with_the_csv_module_are_the_preferred_rows_of_figures():
    """``_rows`` (csv module, for start-up) gives exactly the records of ``figures(preferred_only=True)`` (pandas)
    in their columns ``ROW_COLUMNS``: same values and types (value float, year int, node_id)."""
    df = timecost.figures(preferred_only=True)
    cols = list(timecost.ROW_COLUMNS)
    expected = [dict(zip(cols, values)) for values in zip(*(df[c].tolist() for c in cols))]
    timecost._rows.cache_clear()
    for _ in range(2):  # built from the CSV (and cached), then read back from the per-user cache
        timecost._rows.cache_clear()
        got = [r for rows in timecost._rows().values() for r in rows]
        assert sorted(got, key=lambda r: r["id"]) == sorted(expected, key=lambda r: r["id"])
        assert all(list(r) == cols and type(r["value"]) is float and type(r["year"]) is int for r in got)
        by_id = {e["id"]: e for e in expected}
        assert [(r["id"], k) for r in got for k, v in r.items() if type(v) is not type(by_id[r["id"]][k])] == []


def test_lookups_read_back_from_the_cache_are_the_ones_built_from_the_frames():
    timecost._lookups.cache_clear()
    first = timecost._lookups()
    timecost._lookups.cache_clear()
    assert timecost._lookups() == json.loads(json.dumps(first)) == json.loads(json.dumps(timecost._build_lookups()))
    assert timecost._isos() == frozenset(corridors.countries()["iso_a3"])
    assert timecost._bcp_joins() == {i: frozenset(j) for i, j in zip(corridors.nodes("bcp")["id"],
                                                                      corridors.nodes("bcp")["joins"]) if len(j) == 2}


def test_cpmm_csv_is_what_the_build_script_derives(repo):
    build = _load_build(repo)
    if not build.DEFAULT_SOURCE.is_file():
        pytest.skip("the reference table is not beside the repository")
    with open(build.DEFAULT_SOURCE, encoding="utf-8", newline="") as f:
        rows = build.derive(list(csv.DictReader(f)))
    with open(repo / "geodata" / "cpmm.csv", encoding="utf-8", newline="") as f:
        shipped = list(csv.DictReader(f))
    assert shipped == rows
    assert "quote" not in shipped[0]  # derived, not a copy of the reference file


def test_every_figure_has_provenance():
    df = timecost.figures()
    assert len(df) == 1002 and df["id"].is_unique
    assert df["source_url"].str.startswith("https://").all()
    assert set(df["basis"]) == {"read"} and set(df["confidence"]) == {"high", "medium", "low"}
    assert (df.loc[df["source_type"] == "secondary_news", "confidence"] == "low").all()
    key = ["indicator", "mode", "scope", "name", "country", "direction", "year"]
    pref = timecost.figures(preferred_only=True)
    assert not pref.duplicated(key).any()  # one preferred figure per key
    assert len(pref) == 753


def test_bcp_pairing_is_explicit():
    links = timecost.bcp_links()
    nodes = corridors.nodes().set_index("id")
    linked = links[links["node_id"] != ""]
    assert set(nodes.loc[linked["node_id"], "kind"]) <= {"bcp", "port"}
    pairs = {(r.cpmm_name, r.country, r.mode): r.node_id for r in links.itertuples()}
    assert pairs[("Horgos", "CHN", "road")] == "bcp_nur_zholy_khorgos"  # CPMM: Horgos - Nur Zholy (road)
    assert pairs[("Horgos", "CHN", "rail")] == "bcp_altynkol_khorgos_rail"  # CPMM: Horgos - Altynkol (rail)
    assert pairs[("Torugart", "KGZ", "")] == "bcp_torugart"
    assert pairs[("Krasnyi Most", "AZE", "")] == pairs[("Tsiteli Khidi", "GEO", "")] == "bcp_tsiteli_khidi_krasny_most"
    assert pairs[("Alat", "UZB", "")] == "bcp_alat_farap"  # the Uzbek post facing Farap, not the Azerbaijani port
    assert pairs[("Baku (seaport)", "AZE", "")] == "alat_port"
    unmatched = sorted(links.loc[links["node_id"] == "", "cpmm_name"])
    assert unmatched == ["Chaldovar", "Dusti", "Fotehobod", "Guliston", "Yallama"]
    # every BCP figure is covered by a pairing row, matched or not
    df = timecost.figures()
    bcp = df[df["scope"] == "bcp"]
    keys = {(n, c) for n, c in zip(links["cpmm_name"], links["country"])}
    assert set(zip(bcp["name"], bcp["country"])) <= keys
    assert set(bcp.loc[bcp["node_id"] == "", "name"]) == set(unmatched)


# ---------------------------------------------------------------- known values and the fallback chain

def test_torugart_2022_outbound_straight_from_the_table():
    r = corridors.analyze("1c", year=2022)  # Troitsk ... Bishkek - Torugart: leaves KGZ for CHN
    c = _crossing(r, "bcp_torugart")
    assert (c["from"], c["to"]) == ("KGZ", "CHN")
    t1 = c["figures"][0]
    assert c["hours"] == 50.1 and t1["id"] == "cpmm-0912" and t1["year"] == 2022
    assert t1["level"] == "bcp" and t1["fallback"] is None and t1["direction"] == "outbound"
    assert t1["source_url"] == "https://cpmm.carecprogram.org/2022-report/kyrgyz-republic"


def test_inbound_uses_the_other_direction_and_says_so():
    line = shapely.reverse(corridors.section("1c").geometry)  # now entering KGZ from CHN at Torugart
    r = corridors.analyze(line, year=2022, mode="road")
    c = _crossing(r, "bcp_torugart")
    assert (c["from"], c["to"]) == ("CHN", "KGZ")
    t1 = c["figures"][0]
    assert c["hours"] == 50.1 and t1["level"] == "bcp_other_direction"
    assert t1["fallback"] == "same BCP, other direction"


def test_direction_picks_the_right_figure():
    red_bridge = "bcp_tsiteli_khidi_krasny_most"
    geo_out = timecost.border_figure("TFI1", "road", 2022, red_bridge, "GEO", "AZE")
    aze_out = timecost.border_figure("TFI1", "road", 2022, red_bridge, "AZE", "GEO")
    assert (geo_out["value"], geo_out["id"]) == (24.2, "cpmm-0893")  # Tsiteli Khidi outbound
    assert (aze_out["value"], aze_out["id"]) == (13.6, "cpmm-0855")  # Krasnyi Most outbound
    assert geo_out["level"] == aze_out["level"] == "bcp"


def test_fallback_chain_in_order():
    f = timecost.border_figure
    both = f("TFI1", "road", 2022, "bcp_nur_zholy_khorgos", "CHN", "KAZ")  # only an 'overall' Horgos figure in 2022
    assert (both["value"], both["id"], both["level"]) == (23.5, "cpmm-0879", "bcp_both_directions")
    country = f("TFI1", "road", 2022, "bcp_korday_ak_zhol", "KAZ", "KGZ")  # no Korday figure: KAZ outbound
    assert (country["value"], country["id"], country["level"]) == (4.0, "cpmm-0354", "country")
    assert country["fallback"] == "country average for the mode"
    border = f("TFI2", "road", 2020, "bcp_korday_ak_zhol", "CHN", "KAZ")  # the PRC-KAZ border group
    assert (border["value"], border["level"]) == (638.0, "border")
    corridor = f("TFI1", "road", 2020, None, "RUS", "TUR", ("2",))  # neither country in CPMM
    assert (corridor["value"], corridor["id"], corridor["level"]) == (10.6, "cpmm-0065", "corridor")
    region = f("TFI1", "road", 2020, None, "RUS", "TUR")
    assert (region["value"], region["id"], region["level"]) == (15.1, "cpmm-0031", "region")
    speed = timecost.country_figure("SWOD", "road", 2022, "RUS")
    assert (speed["value"], speed["level"], speed["fallback"]) == (42.0, "region", "CAREC average")


def test_years():
    f = timecost.border_figure
    latest = f("TFI1", "road", None, "bcp_torugart", "KGZ", "CHN")
    assert (latest["value"], latest["year"], latest["fallback"]) == (50.1, 2022, None)
    later = f("TFI1", "road", 2024, "bcp_torugart", "KGZ", "CHN")  # no 2024 figure anywhere: nearest year
    assert (later["value"], later["year"]) == (50.1, 2022)
    assert later["fallback"] == "nearest year 2022 (asked 2024)"
    same_year = f("TFI1", "road", 2023, "bcp_torugart", "KGZ", "CHN")  # the asked year beats a nearer level
    assert (same_year["value"], same_year["year"], same_year["level"]) == (1.0, 2023, "country")


def test_a_year_with_no_data_is_unknown_and_says_why():
    r = corridors.analyze("almaty-bishkek", year=2010)
    assert r.time_h["without_delay"] is None and r.time_h["with_delay"] is None and r.cost_usd["total"] is None
    assert any("2010" in u for u in r.timecost["unknown"])
    fig = timecost.country_figure("SWOD", "road", 2010, "KAZ")
    assert fig["value"] is None and "within 2 years of 2010" in fig["unknown"]


# ---------------------------------------------------------------- sums and unknowns

@pytest.mark.parametrize("rid,kw", [("1c", {"year": 2022}), ("almaty-bishkek", {}), ("2-GEO-road", {"year": 2021}),
                                    ("3a", {"mode": "rail", "year": 2020})])
def test_breakdown_adds_up(rid, kw):
    r = corridors.analyze(rid, **kw)
    t, c, d = r.time_h, r.cost_usd, r.timecost
    assert t["without_delay"] == pytest.approx(t["moving"] + t["border"] + t["ferry"])
    assert t["with_delay"] == pytest.approx(t["moving_with_delay"] + t["border"] + t["ferry"])
    assert t["with_delay"] > t["without_delay"] > 0
    assert t["moving"] == pytest.approx(sum(leg["km"] / leg["figures"][0]["value"] for leg in d["legs"]))
    assert t["border"] == pytest.approx(sum(x["hours"] for x in d["crossings"]))
    assert c["total"] == pytest.approx(c["distance"] + c["border"] + c["ferry"])
    assert c["distance"] == pytest.approx(sum(leg["km"] * leg["figures"][2]["value"] / 500 for leg in d["legs"]))
    assert sum(leg["km"] for leg in d["legs"]) == pytest.approx(r.length_km - sum(f["km"] for f in d["ferries"]))
    assert len(d["crossings"]) == len(r.crossings) and not d["unknown"]
    json.dumps(r.to_dict())  # plain JSON


def test_a_coastal_road_is_not_a_ferry():
    # the traced 2-GEO-road runs along the Black Sea at Batumi, partly outside the 1:10m coastline: two GEO ~ GEO
    # "sea" runs (1.5 + 4.0 km). They are the road itself, counted as land in GEO, not ferries of unknown time.
    r = corridors.analyze("2-GEO-road", year=2021)
    assert [(s["from_country"], s["to_country"]) for s in r.sea_legs] == [("GEO", "GEO")] * 2
    assert r.length_by_mode_km.keys() == {"road"} and not r.timecost["ferries"] and not r.timecost["unknown"]
    (leg,) = r.timecost["legs"]
    assert leg["coast_km"] == pytest.approx(sum(s["length_km"] for s in r.sea_legs)) == pytest.approx(5.48, abs=0.01)
    assert leg["km"] == pytest.approx(r.length_km)
    assert r.time_h["ferry"] == 0 and r.time_h["without_delay"] == pytest.approx(leg["hours"])
    # a real ferry stays a ferry of unknown sailing time
    m = corridors.analyze("middle-corridor", mode="rail", year=2022)
    assert len(m.timecost["ferries"]) == 1 and m.time_h["ferry"] is None


def test_a_road_along_a_border_is_not_a_crossing():
    # the A-2 west of Almaty runs along the Kyrgyz border; the 1:10m country layer puts 2.6 km of it in KGZ.
    # The network never leaves Kazakhstan there (it changes country only at BCPs): no border time, said why.
    r = corridors.route("Almaty", "Tashkent", weight="time", year=2022)
    assert r.countries == ["KAZ", "KGZ", "KAZ", "UZB"]
    assert r.length_by_country_km["KGZ"] == pytest.approx(2.6, abs=0.1)
    a, b, c = r.timecost["crossings"]
    assert (a["bcp_id"], b["bcp_id"], c["bcp_id"]) == (None, None, "bcp_zhibek_zholy_gisht_kuprik")
    assert a["hours"] == b["hours"] == a["usd"] == b["usd"] == 0 and "not a border crossing" in a["note"]
    assert r.time_h["border"] == c["hours"] == 4.0  # KAZ road outbound TFI1 2022 (no Zhibek Zholy figure)
    assert not r.timecost["unknown"]
    # had the path passed a Korday BCP edge there, that unnamed crossing would be charged at Korday, said so
    passed = dataclasses.replace(r, nodes=[*r.nodes, {"id": "bcp_korday_ak_zhol", "name": "Korday - Ak-Zhol",
                                                      "kind": "bcp", "country": "KAZ", "km": a["km"] + 0.5}])
    a2, b2, _ = timecost.assess(passed, 2022)["timecost"]["crossings"]
    assert a2["bcp_id"] == "bcp_korday_ak_zhol" and a2["hours"] == 4.0 and "0.5 km from it" in a2["note"]
    assert b2["bcp_id"] is None and b2["hours"] > 0  # the way back: no BCP left on the path, no pair: charged
    # a straight geodesic (no network between the places) crosses where it crosses: charged as before
    g = corridors.route("Osh", "Batken", weight="time", year=2022)
    assert [s["kind"] for s in g.segments] == ["geodesic"] and len(g.crossings) == 8
    assert all(x["hours"] > 0 for x in g.timecost["crossings"])


def test_almaty_bishkek_by_hand():
    r = corridors.analyze("almaty-bishkek", year=2022)
    km = r.length_by_country_km
    moving = km["KAZ"] / 51.1 + km["KGZ"] / 51.8  # SWOD 2022: KAZ cpmm-0383, KGZ cpmm-0461
    assert r.time_h["moving"] == pytest.approx(moving)
    assert r.time_h["border"] == 4.0  # KAZ road outbound TFI1 2022 (no Korday figure)
    assert r.cost_usd["border"] == 19.0  # KAZ road outbound TFI2 2022
    assert r.cost_usd["distance"] == pytest.approx(km["KAZ"] * 1493 / 500 + km["KGZ"] * 1888 / 500)


def test_ferry_and_multimodal_are_unknown_not_invented():
    r = corridors.analyze("middle-corridor")
    assert r.time_h["without_delay"] is None and "mode='rail'" in r.timecost["unknown"][0]
    r = corridors.analyze("middle-corridor", mode="rail", year=2022)
    assert r.time_h["moving"] > 0 and r.time_h["border"] > 0
    assert r.time_h["ferry"] is None and r.time_h["without_delay"] is None and r.cost_usd["total"] is None
    assert any("ferry" in u for u in r.timecost["unknown"])
    sea = next(c for c in r.timecost["crossings"] if c["via"] == "sea")
    assert sea["ports"] == ("kuryk_port", "alat_port") and len(sea["figures"]) == 4


def test_own_polygon_layer_gives_unknown(repo):
    import geopandas as gpd

    layer = gpd.GeoDataFrame({"zone": ["a"]}, geometry=[shapely.box(70, 40, 80, 46)], crs=4326)
    r = corridors.analyze(shapely.LineString([(74, 43), (76, 43)]), countries=layer, id_column="zone", mode="road")
    assert r.time_h["without_delay"] is None
    assert any("country layer" in u for u in r.timecost["unknown"])


def test_bad_input_is_named():
    with pytest.raises(RouteError, match="whole year"):
        corridors.analyze("almaty-bishkek", year="2022")
    with pytest.raises(RouteError, match="road' or 'rail"):
        corridors.analyze("almaty-bishkek", mode="ship")
    with pytest.raises(RouteError, match="weight must be"):
        corridors.route("Almaty", "Bishkek", weight="fast")


# ---------------------------------------------------------------- routing

def test_fastest_path_avoids_a_slow_border():
    # measured on the network (geodata/network.npz): the shortest Peshawar - Chaman road cuts through Afghanistan
    # (Torkham, Kabul, Kandahar, Spin Boldak: 880.0 km, 78.2 h of border); the N-25 via Quetta stays in
    # Pakistan for 1.2 km more and no border
    short = corridors.route("Peshawar", "Chaman", weight="distance", year=2022)
    fast = corridors.route("Peshawar", "Chaman", weight="time", year=2022)
    assert [c["bcp_id"] for c in short.crossings] == ["bcp_torkham", "bcp_spin_boldak_chaman"]  # via Afghanistan
    assert short.countries == ["PAK", "AFG", "PAK"]
    assert fast.countries == ["PAK"] and not fast.crossings
    assert short.time_h["border"] == pytest.approx(24.2 + 54.0)  # Torkham PAK outbound; Spin Boldak (other way)
    assert fast.length_km > short.length_km  # longer ...
    assert fast.time_h["without_delay"] < short.time_h["without_delay"] - 50  # ... and 65 h faster
    assert fast.time_h["moving"] > short.time_h["moving"]  # the saving is the borders, not the road


def test_no_two_borders_to_save_100_km():
    # measured: Kokand - Samarkand is 413.2 km through Khujand (UZB > TJK at Patar, TJK > UZB at Bekabad) and
    # 473.1 km over the Kamchik pass, all in Uzbekistan: 60 km more beat two crossings (6.5 h)
    short = corridors.route("Kokand", "Samarkand", weight="distance", year=2022)
    fast = corridors.route("Kokand", "Samarkand", weight="time", year=2022)
    assert short.countries == ["UZB", "TJK", "UZB"] and fast.countries == ["UZB"]
    assert [c["bcp_id"] for c in short.crossings] == ["bcp_patar", "bcp_bekabad"]
    assert 0 < fast.length_km - short.length_km < 100
    assert fast.time_h["without_delay"] < short.time_h["without_delay"]
    assert fast.time_h["moving"] > short.time_h["moving"]


def test_edge_weight_on_a_toy_graph():
    g = nx.Graph()
    t = "bcp_torugart"  # a toy graph through the real Torugart: KGZ a - b direct 300 km, or 200 km via CHN
    rows = {k: {"id": k, "kind": "city", "country": c} for k, c in {"a": "KGZ", "b": "KGZ", "x": "CHN"}.items()}
    rows[t] = {"id": t, "kind": "bcp", "country": "KGZ", "joins": ["KGZ", "CHN"]}
    for u, v, km in [("a", "b", 300.0), ("a", t, 50.0), (t, "x", 50.0), ("x", "b", 100.0)]:
        g.add_edge(u, v, km=km, mode="road", **timecost.edge_attrs(rows[u], rows[v]))
    assert g["a"][t]["countries"] == {"a": "KGZ", t: "CHN"} and g["a"][t]["bcp_share"] == 0.5
    assert nx.shortest_path(g, "a", "b", weight="km") == ["a", t, "x", "b"]
    w = timecost.edge_weight("time", "road", 2022)
    assert nx.shortest_path(g, "a", "b", weight=w) == ["a", "b"]
    # the direction comes from the traversal: KGZ -> CHN at Torugart is the outbound figure (50.1 h, half per edge)
    assert w("a", t, g["a"][t]) == pytest.approx(50.0 / 51.8 + 50.1 / 2)
    assert w(t, "x", g[t]["x"]) == pytest.approx(50.0 / 83.5 + 50.1 / 2)
    assert timecost.edge_weight("distance", "road")("a", "b", g["a"]["b"]) == 300.0
    ferry = timecost.edge_weight("time", "road")("a", "b", {"km": 10.0, "mode": "ferry", "country": None})
    assert ferry == timecost.UNKNOWN_PENALTY  # one ferry crossing of unknown sailing time
    port, sea = {"id": "p", "kind": "port", "country": "KAZ"}, {"id": "s", "kind": "waypoint", "country": None}
    assert timecost.edge_attrs(port, sea)["ferry_share"] == 0.5 and timecost.edge_attrs(sea, sea)["ferry_share"] == 0


def test_fastest_middle_corridor_takes_one_ferry_not_a_detour():
    r = corridors.route("Khorgos", "Kuryk port", "Poti port", mode="road", weight="time", year=2022)
    assert [(s["from_port"], s["to_port"]) for s in r.sea_legs] == [("Kuryk port", "Alat (Port of Baku)")]
    assert r.countries == ["KAZ", "AZE", "GEO"]
    assert r.time_h["ferry"] is None and r.time_h["without_delay"] is None  # the sailing time is not sourced


# ---------------------------------------------------------------- popups, CLI

def test_bcp_records_for_popups():
    recs = timecost.bcp_records(2022)
    tor = next(r for r in recs if r["bcp_id"] == "bcp_torugart" and r["from"] == "KGZ")
    assert (tor["hours"], tor["year"], tor["level"], tor["mode"]) == (50.1, 2022, "bcp", "road")
    assert tor["source"].endswith("kyrgyz-republic") and "cpmm-0912" in tor["figures"]
    assert all(r["hours"] is None or r["hours"] >= 0 for r in recs)
    assert {r["mode"] for r in recs if r["bcp_id"] == "bcp_altynkol_khorgos_rail"} == {"rail"}
    kuryk = next(r for r in recs if r["bcp_id"] == "kuryk_port" and r["to"] is None)  # leaving Kazakhstan by sea
    assert (kuryk["hours"], kuryk["level"]) == (4.0, "country")  # Kuryk's own figure is 2020 only
    ports = {(r["bcp_id"], r["from"]): r for r in timecost.bcp_records(2020) if r["bcp_id"].endswith("_port")}
    assert (ports[("kuryk_port", "KAZ")]["hours"], ports[("kuryk_port", "KAZ")]["level"]) == (69.7, "bcp")
    assert ports[("alat_port", None)]["figures"] == ["cpmm-0844", "cpmm-0850"]  # Baku seaport inbound 2020


def test_cli_shows_hours_and_usd(capsys):
    assert cli.main(["report", "almaty-bishkek", "--year", "2022"]) == 0
    out = capsys.readouterr().out
    assert "hours" in out and "usd" in out
    assert cli.main(["report", "middle-corridor"]) == 0
    assert "unknown" in capsys.readouterr().out  # multimodal without --mode: said, not NaN
    assert cli.main(["route", "At-Bashy", "Jalal-Abad", "--weight", "time", "--year", "2022", "--format", "json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["countries"] == ["KGZ"] and r["year"] == 2022 and r["time_h"]["without_delay"] > 0
    assert cli.main(["compare", "almaty-bishkek", "1c", "--year", "2022", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[1]["border_h"] == pytest.approx(58.7) and rows[0]["usd"] > 0
