"""GPS traces: dwell times and speeds recovered from simulated trucks on real routes; bad traces flagged."""

import json
import math
from datetime import timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import corridors
from corridors import cli, data, geodesy, traces

RADIUS = 5.0


def route_of(r):
    """The route the simulator drove for a truth row (corridors.route over the network)."""
    return corridors.route(r["from"], r["to"])


def km_within(route, node_id, radius_km):
    """Route km of the stretch within ``radius_km`` of a node around the point nearest it: the distance a truck
    drives inside the BCP circle (the road may wind in and out, or run to the BCP node and back)."""
    dense = np.asarray(geodesy.densify(list(route.geometry.coords), 0.01))
    km = np.r_[0.0, np.cumsum(geodesy.segment_lengths_m(dense[:, 0], dense[:, 1]))] / 1000.0
    node = data.node(node_id).geometry
    d = np.asarray(geodesy.GEOD.inv(dense[:, 0], dense[:, 1], np.full(len(dense), node.x),
                                    np.full(len(dense), node.y))[2]) / 1000.0
    i = j = int(np.argmin(d))
    while i > 0 and d[i - 1] <= radius_km:
        i -= 1
    while j + 1 < len(d) and d[j + 1] <= radius_km:
        j += 1
    return float(km[j] - km[i])


@pytest.fixture(scope="module")
def fleet():
    pts, truth = traces.simulate_fleet(12, seed=7)
    return pts, truth, traces.analyze_traces(pts, bcp_radius_km=RADIUS)


def one_trip(fleet, k=0):
    pts, truth, _ = fleet
    trip = truth.trip.iloc[k]
    return pts[pts.trip == trip].reset_index(drop=True), truth.iloc[k]


# ---------------------------------------------------------------- recovery of known figures

def test_simulator_is_deterministic_and_follows_real_routes(fleet):
    pts, truth, _ = fleet
    again, truth2 = traces.simulate_fleet(12, seed=7)
    pd.testing.assert_frame_equal(pd.DataFrame(pts), pd.DataFrame(again))
    pd.testing.assert_frame_equal(truth, truth2)
    assert set(truth.bcp_id) == {"bcp_korday_ak_zhol", "bcp_nur_zholy_khorgos"}
    # the trucks drive corridors.route over the network: Almaty-Bishkek 250.0 km, Almaty-Khorgos (CHN) 337.1 km
    for r in truth.to_dict("records"):
        assert r["length_km"] == pytest.approx(route_of(r).length_km, rel=1e-4)
    assert sorted(set(truth.length_km.round(1))) == pytest.approx([250.0, 337.1], abs=0.3)
    # fixes a minute (about 1 km) apart cut the bends: the noise-free trace is 1-2 % shorter than the road
    # minute fixes cut the road's bends (1-2.5 % on these roads, more where the mapped road zigzags at Korday)
    assert ((truth.trace_km < truth.length_km) & (truth.trace_km > 0.97 * truth.length_km)).all()
    assert traces.simulate_fleet(3, seed=8)[1].dwell_h.tolist() != truth.dwell_h[:3].tolist()


def test_dwell_times_and_speeds_recovered(fleet):
    _, truth, trips = fleet
    m = trips.merge(truth, on="trip", suffixes=("", "_true"))
    assert len(m) == 12 and (m["flags"].map(len) == 0).all()
    routes = {}
    for r, key in zip(m.itertuples(), zip(m["from"], m["to"])):
        assert len(r.crossings) == 1
        c = r.crossings[0]
        assert c["bcp_id"] == r.bcp_id
        # time within 5 km of the BCP = the dwell + driving the route's km inside the circle, to a minute
        # (on the network the road inside the circle is not 2 x 5 km: Korday's crossing edge runs to the BCP
        # node and back)
        if key not in routes:
            routes[key] = km_within(corridors.route(*key), r.bcp_id, RADIUS)
        assert c["hours"] == pytest.approx(r.dwell_h + routes[key] / r.speed_kmh, abs=1 / 60)
        assert r.stop_h == pytest.approx(r.dwell_h, abs=2 / 60)
        assert r.n_stops == 1
        # a trace measures the straight lines between its fixes: the noise-free trace length, not the road's
        assert r.distance_km == pytest.approx(r.trace_km, rel=0.001)
        assert r.total_h == pytest.approx(r.total_h_true, abs=1e-3)
        assert r.moving_h == pytest.approx(r.moving_h_true, abs=2 / 60)
        assert r.swod_kmh == pytest.approx(r.trace_km / r.moving_h_true, rel=0.01)
        assert r.swod_kmh == pytest.approx(r.speed_kmh, rel=0.025)  # the true speed, less the cut bends
        assert r.swd_kmh == pytest.approx(r.trace_km / r.total_h_true, rel=0.005)
        assert sum(r.km_by_country.values()) == pytest.approx(r.distance_km, abs=1e-6)
        assert sum(r.hours_by_country.values()) == pytest.approx(r.total_h, abs=1e-6)
        assert c["arrive"] < c["time"] < c["depart"] or c["arrive"] <= c["time"] <= c["depart"]


def test_directions_and_countries(fleet):
    _, truth, trips = fleet
    m = trips.merge(truth, on="trip")
    ab = m[(m["from"] == "almaty") & (m["to"] == "bishkek")].iloc[0]
    assert ab.countries == ["KAZ", "KGZ"] and ab.crossings[0]["direction"] == "KAZ>KGZ"
    assert ab.crossings[0]["bcp"] == "Korday - Ak-Zhol"
    # the route crosses at km 228.9 of 250.0; the trace's KAZ km is that less at most the bends its fixes cut
    road = route_of(ab)
    kaz = road.length_by_country_km["KAZ"]
    assert kaz - (ab.length_km - ab.trace_km) - 0.1 <= ab.km_by_country["KAZ"] <= kaz + 0.1
    assert ab.km_by_country["KAZ"] + ab.km_by_country["KGZ"] == pytest.approx(ab.distance_km)
    here, there = ab.crossings[0], road.crossings[0]
    assert geodesy.distance_km((here["lon"], here["lat"]), (there["lon"], there["lat"])) < 1.0  # same border point
    back = m[(m["from"] == "khorgos_chn")].iloc[0]
    assert back.countries == ["CHN", "KAZ"] and back.crossings[0]["direction"] == "CHN>KAZ"
    assert back.crossings[0]["bcp"] == "Nur Zholy - Khorgos"


def test_bcp_and_country_tables(fleet):
    _, truth, trips = fleet
    table = traces.bcp_table(trips)
    assert set(table.direction) == {"KAZ>KGZ", "KGZ>KAZ", "KAZ>CHN", "CHN>KAZ"}
    assert table.trips.sum() == 12
    assert (table.p90_h >= table.median_h).all()
    m = trips.merge(truth, on="trip")
    kz = m[m.bcp_id == "bcp_nur_zholy_khorgos"]
    want = np.median([c[0]["hours"] for c in kz.crossings if c[0]["direction"] == "KAZ>CHN"])
    got = table.set_index(["bcp_id", "direction"]).loc[("bcp_nur_zholy_khorgos", "KAZ>CHN"), "median_h"]
    assert got == pytest.approx(want)
    # dwell ranges of the simulator: Korday 0.5-3 h, Khorgos 2-8 h
    assert table[table.bcp_id == "bcp_korday_ak_zhol"].median_h.between(0.5, 3.3).all()
    assert table[table.bcp_id == "bcp_nur_zholy_khorgos"].median_h.between(2.0, 8.3).all()
    ct = traces.country_table(trips).set_index("country")
    assert set(ct.index) == {"KAZ", "KGZ", "CHN"} and ct.loc["KAZ", "trips"] == 12
    assert ct.km.sum() == pytest.approx(trips.distance_km.sum())
    assert ct.hours.sum() == pytest.approx(trips.total_h.sum())


def test_movingpandas_stop_detector_agrees(fleet):
    pytest.importorskip("movingpandas")
    import movingpandas as mpd

    pts, truth, trips = fleet
    tc = traces.trajectories(pts)
    split = []
    for traj, true, ours in zip(tc.trajectories, truth.itertuples(), trips.itertuples()):
        assert traj.id == true.trip == ours.trip
        ranges = mpd.TrajectoryStopDetector(traj).get_stop_time_ranges(
            min_duration=timedelta(minutes=10), max_diameter=200)
        # movingpandas grows a stop while its fixes fit in max_diameter. The fix taken as the truck pulls in
        # can lie ~180 m from where it stands; a later fix on the far side then closes the stop, and the next
        # fix opens a new one at the same place (truck-002 at Khorgos: 18 + 151 min, one minute apart). Ranges
        # one fix interval (60 s) apart are the same stop.
        stops = []
        for r in ranges:
            if stops and r.t_0 - stops[-1][1] <= timedelta(seconds=60):
                split.append(true.trip)
                stops[-1][1] = r.t_n
            else:
                stops.append([r.t_0, r.t_n])
        assert len(stops) == 1 == ours.n_stops
        assert stops[0][1] - stops[0][0] == pytest.approx(timedelta(hours=true.dwell_h), abs=timedelta(minutes=3))
    assert split == ["truck-002"]


def test_radius_is_a_parameter(fleet):
    trip, truth = one_trip(fleet, 0)
    small = traces.analyze_traces(trip, bcp_radius_km=2.0).crossings[0][0]["hours"]
    large = traces.analyze_traces(trip, bcp_radius_km=10.0).crossings[0][0]["hours"]
    inside = km_within(route_of(truth), truth.bcp_id, 2.0)  # the mapped road passes ~1 km from the Korday node
    assert small == pytest.approx(truth.dwell_h + inside / truth.speed_kmh, abs=1 / 60)
    assert large > small
    tiny = traces.analyze_traces(trip, bcp_radius_km=0.5).crossings[0][0]
    assert tiny["hours"] != tiny["hours"] and "no fix within 0.5 km" in tiny["note"]  # unknown (NaN), said why


# ---------------------------------------------------------------- CPMM comparison

def test_compare_with_cpmm(fleet):
    _, _, trips = fleet
    table = traces.bcp_table(trips)
    cpmm = pd.DataFrame([
        {"id": "tfi1-khorgos-2022", "indicator": "TFI1", "mode": "road", "scope": "bcp", "name": "Khorgos",
         "country": "KAZ", "direction": "outbound", "year": 2022, "value": 300.0, "unit": "minutes",
         "source_url": "https://example.org/cpmm", "bcp_id": "bcp_nur_zholy_khorgos"},
        {"id": "tfi1-khorgos-rail", "indicator": "TFI1", "mode": "rail", "scope": "bcp", "name": "Altynkol",
         "country": "KAZ", "direction": "outbound", "year": 2022, "value": 20.0, "unit": "hours",
         "source_url": "https://example.org/cpmm", "bcp_id": "bcp_nur_zholy_khorgos"},
        {"id": "swod-kaz", "indicator": "SWOD", "mode": "road", "scope": "country", "name": "Kazakhstan",
         "country": "KAZ", "direction": None, "year": 2022, "value": 40.0, "unit": "km/h",
         "source_url": "https://example.org/cpmm", "bcp_id": None},
    ])
    out = traces.compare_with_cpmm(table, cpmm)
    assert len(out) == len(table)
    kh = out[out.bcp_id == "bcp_nur_zholy_khorgos"]
    assert (kh.cpmm_h == 5.0).all() and (kh.cpmm_id == "tfi1-khorgos-2022").all()  # 300 minutes, road only
    assert kh.diff_h.tolist() == pytest.approx((kh.mean_h - 5.0).tolist())
    kd = out[out.bcp_id == "bcp_korday_ak_zhol"]
    assert kd.cpmm_h.isna().all() and kd.diff_h.isna().all()  # no CPMM figure: unknown, not zero
    with pytest.raises(traces.TraceError, match="bcp_id"):
        traces.compare_with_cpmm(table, cpmm.drop(columns="bcp_id"))
    with pytest.raises(traces.TraceError, match="not a duration"):
        traces.compare_with_cpmm(table, cpmm.assign(unit="USD"))


# ---------------------------------------------------------------- bad traces

def analyse(frame):
    return traces.analyze_traces(traces.read_traces(frame)).iloc[0]


def test_unsorted_and_duplicate_times_are_repaired_and_flagged(fleet):
    trip, truth = one_trip(fleet, 0)
    clean = traces.analyze_traces(trip).iloc[0]
    shuffled = trip.sample(frac=1.0, random_state=3)
    r = analyse(shuffled)
    assert r["flags"] == ["unsorted_times"]
    assert r.distance_km == pytest.approx(clean.distance_km) and r.swod_kmh == pytest.approx(clean.swod_kmh)
    dup = pd.concat([trip, trip.iloc[[10, 20]]]).sort_values("time", kind="stable")
    r = analyse(dup)
    assert "duplicate_times" in r["flags"] and r.distance_km == pytest.approx(clean.distance_km)


def test_gps_jumps_and_zero_points_are_dropped_and_flagged(fleet):
    trip, truth = one_trip(fleet, 0)
    clean = traces.analyze_traces(trip).iloc[0]
    bad = trip.copy()
    bad.loc[50, ["lon", "lat"]] = [bad.loc[50, "lon"] + 1.0, bad.loc[50, "lat"]]  # ~80 km away for one minute
    bad.loc[120, ["lon", "lat"]] = [0.0, 0.0]
    r = analyse(bad.drop(columns="geometry"))
    assert set(r["flags"]) == {"gps_jump", "zero_point"}
    assert r.distance_km == pytest.approx(clean.distance_km, abs=0.5)
    assert r.crossings[0]["hours"] == pytest.approx(clean.crossings[0]["hours"], abs=1e-6)


def test_lasting_jump_is_flagged(fleet):
    trip, _ = one_trip(fleet, 0)
    shifted = trip.drop(columns="geometry")
    shifted.loc[200:, "lat"] += 0.5  # from fix 200 on, the trace sits 55 km north: not a lone spike
    r = analyse(shifted)
    assert r["flags"] == ["gps_jump"]


def test_time_gap_flagged(fleet):
    trip, truth = one_trip(fleet, 0)
    gap = trip.drop(index=range(30, 90))  # an hour without fixes, on the road
    r = analyse(gap.drop(columns="geometry"))
    assert r["flags"] == ["time_gap"] and r.gap_h == pytest.approx(1.0, abs=0.02)
    assert r.total_h == pytest.approx(truth.total_h, abs=1e-3)


def test_gap_during_bcp_stay_keeps_time_out_of_the_aggregates(fleet):
    trip, truth = one_trip(fleet, 0)
    c = traces.analyze_traces(trip).crossings[0][0]
    inside = trip[(trip.time > c["arrive"] + pd.Timedelta("10min")) & (trip.time < c["depart"] - pd.Timedelta("10min"))]
    trips = traces.analyze_traces(trip.drop(index=inside.index))
    assert "gap" in trips.crossings[0][0]["note"] and "time_gap" in trips["flags"][0]
    assert traces.bcp_table(trips).empty


def test_trip_that_never_moves():
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"trip": "parked", "time": pd.date_range("2024-03-01", periods=n, freq="60s", tz="UTC"),
                          "lon": 76.9 + rng.normal(0, 1e-4, n), "lat": 43.25 + rng.normal(0, 1e-4, n)})
    r = analyse(frame)
    assert r["flags"] == ["never_moves"] and math.isnan(r.distance_km) and r.crossings == []
    assert r.total_h == pytest.approx(119 / 60) and r.moving_h == 0.0
    with pytest.raises(traces.TraceError, match="parked: never_moves"):
        traces.analyze_traces(traces.read_traces(frame), strict=True)


def test_trip_outside_the_data_is_flagged_not_fatal(fleet):
    trip, _ = one_trip(fleet, 0)
    far = pd.DataFrame({"trip": "pacific", "time": pd.date_range("2024-03-01", periods=30, freq="60s", tz="UTC"),
                        "lon": np.linspace(-150, -149.5, 30), "lat": np.full(30, 10.0)})
    both = traces.analyze_traces(traces.read_traces(pd.concat([trip.drop(columns="geometry"), far])))
    assert both["flags"].tolist() == [[], ["outside_data"]]
    assert "outside every country of the data" in both.error.iloc[1] and pd.isna(both.error.iloc[0])


# ---------------------------------------------------------------- reading

def test_csv_with_named_columns_and_projected_crs(tmp_path, fleet):
    trip, truth = one_trip(fleet, 0)
    clean = traces.analyze_traces(trip).iloc[0]
    utm = gpd.GeoSeries(trip.geometry, crs=4326).to_crs(32643)
    frame = pd.DataFrame({"Truck": trip.trip, "When": trip.time.dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z"),
                          "E": utm.x, "N": utm.y})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    pts = traces.read_traces(path, trip="Truck", time="When", lon="E", lat="N", crs="EPSG:32643")
    assert np.abs(pts.lon - trip.lon).max() < 1e-7
    r = traces.analyze_traces(pts).iloc[0]
    assert r.distance_km == pytest.approx(clean.distance_km, rel=1e-6)
    with pytest.raises(traces.TraceError, match="crs="):
        traces.read_traces(path, trip="Truck", time="When", lon="E", lat="N")


def test_geoparquet_round_trip(tmp_path, fleet):
    pytest.importorskip("pyarrow")
    trip, _ = one_trip(fleet, 2)
    trip.to_crs(3857).to_parquet(tmp_path / "t.parquet")
    pts = traces.read_traces(tmp_path / "t.parquet")
    assert np.abs(pts.lat.to_numpy() - trip.lat.to_numpy()).max() < 1e-9
    assert (pts.time == trip.time).all()


def gpx(trip: pd.DataFrame, head: str = "") -> str:
    pts = "".join(f'<trkpt lat="{r.lat:.7f}" lon="{r.lon:.7f}"><time>{r.time.isoformat()}</time></trkpt>'
                  for r in trip.itertuples())
    return (f'<?xml version="1.0"?>{head}<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
            f"<trk><name>lorry 7</name><trkseg>{pts}</trkseg></trk></gpx>")


def test_gpx_tracks_with_times(tmp_path, fleet):
    pytest.importorskip("defusedxml")
    trip, truth = one_trip(fleet, 0)
    (tmp_path / "t.gpx").write_text(gpx(trip), encoding="utf-8")
    pts = traces.read_traces(tmp_path / "t.gpx")
    assert set(pts.trip) == {"lorry 7"} and len(pts) == len(trip)
    r = traces.analyze_traces(pts).iloc[0]
    assert r.crossings[0]["bcp_id"] == truth.bcp_id
    assert r.swod_kmh == pytest.approx(truth.trace_km / truth.moving_h, rel=0.01)  # the speed the fixes show


def test_gpx_with_dtd_or_entities_is_refused(tmp_path, fleet):
    pytest.importorskip("defusedxml")
    trip, _ = one_trip(fleet, 0)
    bomb = '<!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    (tmp_path / "bomb.gpx").write_text(gpx(trip.head(5), bomb), encoding="utf-8")
    with pytest.raises(traces.TraceError, match="DTD or entities"):
        traces.read_traces(tmp_path / "bomb.gpx")
    (tmp_path / "notime.gpx").write_text(gpx(trip.head(3)).replace("<time>", "<desc>").replace("</time>", "</desc>"))
    with pytest.raises(traces.TraceError, match="point 1 needs lat, lon and a <time>"):
        traces.read_traces(tmp_path / "notime.gpx")


def test_bad_inputs_name_the_problem(tmp_path):
    base = pd.DataFrame({"trip": ["a", "a"], "time": ["2024-03-01T00:00:00Z", "2024-03-01T00:01:00Z"],
                         "lon": [76.9, 76.91], "lat": [43.2, 43.2]})
    with pytest.raises(traces.TraceError, match="no time column"):
        traces.read_traces(base.drop(columns="time"))
    with pytest.raises(traces.TraceError, match="row 2: time 'yesterday' is not a time"):
        traces.read_traces(base.assign(time=["2024-03-01T00:00:00Z", "yesterday"]))
    with pytest.raises(traces.TraceError, match="milliseconds"):
        traces.read_traces(base.assign(time=[1709251200000, 1709251260000]))
    with pytest.raises(traces.TraceError, match="row 1: lat 'north' is not a number"):
        traces.read_traces(base.assign(lat=["north", "43.2"]))
    with pytest.raises(traces.TraceError, match="needs lon and lat"):
        traces.read_traces(base.drop(columns="lon"))
    with pytest.raises(traces.TraceError, match="unknown trace file type"):
        (tmp_path / "x.txt").write_text("a")
        traces.read_traces(tmp_path / "x.txt")
    with pytest.raises(traces.TraceError, match="bcp_radius_km must be a positive number"):
        traces.analyze_traces(base, bcp_radius_km=-1)
    naive = traces.read_traces(base.assign(time=["2024-03-01 00:00", "2024-03-01 00:01"]))
    assert str(naive.time.dt.tz) == "UTC"
    unix = traces.read_traces(base.assign(time=[1709251200, 1709251260]))
    assert (unix.time == naive.time).all()


# ---------------------------------------------------------------- CLI

def test_cli_traces(tmp_path, capsys, fleet):
    pts, truth, trips = fleet
    path = tmp_path / "fleet.csv"
    pts.drop(columns="geometry").to_csv(path, index=False)
    assert cli.main(["traces", str(path), "--by", "bcp", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "bcp_id,bcp,direction,trips,median_h,p90_h,mean_h"
    assert len(out.splitlines()) == 5
    assert cli.main(["traces", str(path), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["trip"] for r in rows] == truth.trip.tolist()
    assert rows[0]["crossings"][0]["bcp_id"] == truth.bcp_id.iloc[0]
    assert cli.main(["traces", str(path), "--by", "country"]) == 0
    assert "KGZ" in capsys.readouterr().out
    assert cli.main(["traces", str(path)]) == 0
    assert "Korday - Ak-Zhol" in capsys.readouterr().out
    (tmp_path / "bad.csv").write_text("trip,lon,lat\na,1,2\n")
    assert cli.main(["traces", str(tmp_path / "bad.csv")]) == 2
    assert "no time column" in capsys.readouterr().err


def test_compare_with_the_shipped_cpmm_figures(fleet):
    """By default the BCP table is set beside the shipped CPMM TFI1 figures, linked through cpmm_bcp_links.csv."""
    _, _, trips = fleet
    out = traces.compare_with_cpmm(traces.bcp_table(trips))
    kh = out[out.bcp_id == "bcp_nur_zholy_khorgos"]
    assert {"cpmm-0878", "cpmm-0879", "cpmm-0880"} <= set(kh.cpmm_id)
    assert kh.loc[kh.cpmm_id == "cpmm-0879", "cpmm_h"].unique().tolist() == [23.5]  # Horgos road 2022, hours
    assert out.loc[out.bcp_id == "bcp_korday_ak_zhol", "cpmm_h"].isna().all()  # CPMM has no Korday figure


def test_trajectories_are_in_utc_without_a_warning(fleet):
    pytest.importorskip("movingpandas")
    import warnings

    from movingpandas.trajectory import TimeZoneWarning

    pts = fleet[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", TimeZoneWarning)  # movingpandas warns when handed zone-aware times
        tc = traces.trajectories(pts)
    first = pts.sort_values(["trip", "time"], kind="stable").groupby("trip")["time"].min()
    for traj in tc.trajectories:
        assert traj.get_start_time() == first[traj.id].tz_convert("UTC").tz_localize(None)
