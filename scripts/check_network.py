"""Report problems in the corridor network: BCPs away from their border, country changes away from a BCP.

Usage: python scripts/check_network.py [SECTION_ID ...]   (rebuild first: python scripts/build_geodata.py)
       python scripts/check_network.py --calibrate [calibration_lengths.json]
           route() between the named places of the calibration file (and the further figures in EXTRA), as a
           markdown table (pair, mode, what the figure measures, published, computed, error, joins, source)
           with the median absolute error of the "pair" figures and of all figures.
Prints each section's geodesic length, the countries it passes, and every country change that is not at
a BCP of that section joining the same two countries (BAD) or is a sea leg (sea).
"""

import json
import sys

import numpy as np
import shapely

import corridors
from corridors import borders, geodesy


def bcp_border_km(bcp, geoms) -> float:
    a, b = bcp.joins
    shared = shapely.intersection(geoms[a].boundary, geoms[b].boundary)
    if shared.is_empty:
        return float("inf")
    p = shapely.ops.nearest_points(shared, bcp.geometry)[0]
    return geodesy.distance_km((p.x, p.y), (bcp.geometry.x, bcp.geometry.y))


def main(only: list[str]) -> int:
    import shapely.ops  # noqa: F401

    ctry = corridors.countries()
    geoms = dict(zip(ctry.iso_a3, ctry.geometry))
    layer = borders.Layer(ctry.geometry.values, ctry.iso_a3.tolist())
    nodes = corridors.nodes().set_index("id")
    bad = 0
    for nid, b in nodes[nodes.kind == "bcp"].iterrows():
        d = bcp_border_km(b, geoms)
        if d > 3:
            bad += 1
            print(f"BCP {nid} ({'-'.join(b.joins)}) is {d:.1f} km from the shared border (limit 3 km)")
    for _, s in corridors.sections().iterrows():
        if only and s.id not in only:
            continue
        ps = borders.pieces(np.array(s.geometry.coords), layer)
        sb = nodes.loc[[n for n in s.nodes if nodes.loc[n, "kind"] == "bcp"]]
        lines = []
        for p, q in zip(ps[:-1], ps[1:]):
            if p.label is None or q.label is None:
                lines.append(f"    sea {p.label}->{q.label} at {p.end[0]:.3f},{p.end[1]:.3f} km {p.end_km:.0f}")
                continue
            d = [geodesy.distance_km(p.end, (g.x, g.y)) for g in sb.geometry]
            j = int(np.argmin(d)) if d else -1
            ok = j >= 0 and d[j] <= 10 and set(sb.iloc[j].joins) == {p.label, q.label}
            bad += not ok
            near = f" nearest BCP {sb.index[j]} {d[j]:.1f} km" if j >= 0 else ""
            lines.append(f"    {'ok ' if ok else 'BAD'} {p.label}->{q.label} at {p.end[0]:.3f},{p.end[1]:.3f} "
                         f"km {p.end_km:.0f}{near}")
        route = ">".join(str(p.label) for p in ps)
        print(f"{s.id:18s} {geodesy.length_km(s.geometry):8.1f} km  {route}")
        print("\n".join(x for x in lines if only or not x.startswith("    ok")))
    print(f"{bad} problem(s)")
    return 1 if bad else 0


RAIL_WORDS = ("railway", "rail ", "track")
# calibration names that are BCP nodes of the data under a joint name
ALIASES = {"Ulaanbaishint": "bcp_tashanta_ulaanbaishint", "Yarant": "bcp_takeshiken_yarant",
           "Zhibek Zholy": "bcp_zhibek_zholy_gisht_kuprik", "Karamyk": "bcp_karamyk", "Torugart": "bcp_torugart",
           "Daut-Ata": "bcp_tazhen_daut_ata", "Nur Zholy": "bcp_nur_zholy_khorgos", "Zhaisan": "bcp_zhaisan_sagarchin"}
# What each published figure measures (kind) and, for figures of calibration_lengths.json without a pair, the
# places its source names. kind "pair": the length between the two named places (counts for the target);
# "project": the length of a project section inside that road whose ends the source does not state (reported, not
# counted); "new-build": new track in pieces whose ends the source states (legs summed); "bound": the source gives
# an upper bound ("fewer than"). Keyed by the start of the figure's "what".
MEASURES = {
    "Almaty–Khorgos road": ("pair", None, "road section Almaty–Khorgos (regional governor; 'Almaty' may mean the "
                                          "city edge: the straight line centre–Khorgos is 293 km)"),
    "Shymkent–Uzbek border": ("pair", None, "overall length Shymkent–Uzbek border (EBRD)"),
    "Zhezkazgan–Beineu railway": ("new-build", [("Zhezkazgan", "Saksaulskaya"), ("Shalkar", "Beineu")],
                                  "new track: Zhezkazgan–Saksaulskaya + Shalkar–Beineu (the note in "
                                  "calibration_lengths.json; joined by the existing Trans-Aral line)"),
    "Zhetygen–Altynkol": ("pair", None, "railway length (KTZ via UIC)"),
    "Dostyk–Moyinty": ("pair", None, "second track Dostyk–Moyinty (= the line's length)"),
    "Aktau–Poti": ("pair", [("Aktau", "Poti")], "trans-Caspian route Aktau–Poti (USAID official, press): ferry + "
                                                "land; mode of the land part not stated (computed: rail)"),
    "Bishkek–Torugart": ("pair", None, "road length (ADB km posts 0–539)"),
    "Western Regional Road": ("pair", None, "road Ulaanbaishint (RF border) – Yarant (PRC border)"),
    "Choir–Zamyn-Uud": ("pair", None, "project road Choir–Zamyn-Uud (ends stated)"),
    "Sary Tash–Karamik": ("pair", None, "project road Sary-Tash–Karamyk (ends stated)"),
    "Sayron–Karamyk": ("pair", [("Sayron", "Karamyk")], "project section Sayron–Karamyk (ends stated)"),
    "Dushanbe–Kurgonteppa": ("project", [("Dushanbe", "Bokhtar")], "improved (widened) section of the "
                                                                   "Dushanbe–Bokhtar road; its ends not stated"),
    "ADB project section of A380": ("project", [("Kungrad", "Daut-Ata")], "'a section of about 240 km' of the A380 "
                                                                          "in Karakalpakstan, titled 'Kungrad to "
                                                                          "Daut-Ata'; not the whole Kungrad–border "
                                                                          "road (the note in the file)"),
    "Aktobe–Kandyagash": ("pair", [("Aktobe", "Kandyagash")], "connector road Aktobe–Kandyagash, 'about 93 km'"),
    "Kyzylorda–Zhezkazgan": ("project", [("Kyzylorda", "Zhezkazgan")], "208 km reconstructed on the "
                                                                       "Kyzylorda–Zhezkazgan road; ends not stated"),
    "Western Europe–Western China road, length inside": (
        "pair", [("Nur Zholy", "Almaty"), ("Almaty", "Taraz"), ("Taraz", "Shymkent"), ("Shymkent", "Kyzylorda"),
                 ("Kyzylorda", "Aktobe"), ("Aktobe", "Zhaisan")],
        "WE–WC in Kazakhstan 'from China border through Almaty, Taraz, Shymkent, Kyzyl-Orda and Aktobe to the Russian "
        "border' (World Bank, carec_corridors.md); China border at Nur Zholy; the Russian border post is not named "
        "(Zhaisan, as section 1a: inferred)"),
    "Kabul–Jalalabad alternative road": ("pair", [("Sapary", "Mimla")], "proposed road Sapary–Mimla (ADB 53025-001)"),
    "Almaty–Bishkek road": ("project", None, "226 km rehabilitated between Almaty and Bishkek (ADB/EBRD); ends "
                                            "not stated"),
    "Uzynagash–Otar": ("pair", None, "road section Uzynagash–Otar (europe-china.kz)"),
}
# Further published figures for named pairs (read in ../shared/reference: carec_corridors.md's facts table and the
# contexts of calibration_lengths.json). A place the gazetteer lacks stays unresolved (reported, never guessed).
EXTRA = [
    {"what": "Almaty–Bishkek distance (fewer than 250 km)", "value": 250, "pair": ["Almaty", "Bishkek"],
     "mode": "road", "kind": "bound", "measures": "'Almaty and Bishkek are separated by fewer than 250 km' (upper "
                                                 "bound; computed must be below)",
     "source": "https://development.asia/case-study/mechanics-large-scale-two-country-cross-border-road-project"},
    {"what": "Yarant–Hovd road (Corridor 4a, Phase 1)", "value": 431.2, "pair": ["Yarant", "Khovd"], "mode": "road",
     "kind": "pair", "measures": "Yarant–Hovd improved under Phase 1 (ADB evaluation)",
     "source": "https://evaluation-lessons.org/lesson-report/mongolia-western-regional-road-corridor-development-"
               "project-phase-1"},
    {"what": "Karamik–Nimich road (Tajik component)", "value": 121, "pair": ["Karamyk", "Nimich"], "mode": "road",
     "kind": "pair", "measures": "Karamyk–Nimich project road (ADB 39676-033)",
     "source": "https://www.adb.org/projects/39676-033/main"},
    {"what": "Vose–Khovaling road", "value": 87, "pair": ["Vose", "Khovaling"], "mode": "road", "kind": "pair",
     "measures": "Vose–Khovaling project road (ADB 46543-002)", "source": "http://www.adb.org/projects/46543-002/main"},
    {"what": "Kaynar–Oytal bypass of Kyrgyzstan (last section)", "value": 36, "pair": ["Kaynar", "Oytal"],
     "mode": "road", "kind": "pair", "measures": "last 36 km of the bypass, Kaynar–Oytal (opened Nov 2012)",
     "source": "https://en.tengrinews.kz/industry_infrastructure/kazakhstan-finishes-construction-of-almaty-taraz-road-"
               "14615/"},
    {"what": "Sumgayit–Yalama railway (AZE)", "value": 167, "pair": ["Sumgayit", "Yalama"], "mode": "rail",
     "kind": "pair", "measures": "railway Sumgayit–Yalama (Russian border)",
     "source": "https://www.carecprogram.org/?page_id=18721"},
    {"what": "Bakhty–Ayagoz railway (new line, second track programme)", "value": 272, "pair": ["Bakhty", "Ayagoz"],
     "mode": "rail", "kind": "pair", "measures": "new railway Bakhty–Ayagoz (transport minister, Nov 2024)",
     "source": "https://astanatimes.com/2024/11/railway-upgrades-to-bolster-kazakhstans-role-in-global-logistics/"},
    {"what": "Manasha–Shetpe road (Corridor 2, Mangystau Project 1)", "value": 200.5, "pair": ["Manasha", "Shetpe"],
     "mode": "road", "kind": "pair", "measures": "Project 1 upgraded Manasha–Shetpe (ADB lessons)",
     "source": "https://www.evaluation-lessons.org/lesson-report/enhancing-transport-connectivity-and-efficiency-"
               "lessons-project-1-carec-corridor-2"},
]
# places whose gazetteer match is a different place (not used; reported as unresolved)
NOT_PLACES = {"Vose"}  # the gazetteer's alternative name 'Vose' resolves to Hulbuk


def _measures(c: dict) -> tuple[str, list | None, str]:
    for k, v in MEASURES.items():
        if c["what"].startswith(k):
            return v
    return ("pair", None, "")


def _value(c: dict) -> float | None:
    value = c.get("value")
    if isinstance(value, str) and value.split()[0].replace(",", "").isdigit():  # "99 km total: ..."
        value = float(value.split()[0].replace(",", ""))
    return float(value) if isinstance(value, int | float) else None


def calibration_rows(path: str) -> list[dict]:
    """Each published figure for named places: pair, mode, kind, published, computed (None: unresolved, with
    the reason), error, joins km, source, what it measures."""
    rows = []
    for c in [*json.load(open(path, encoding="utf-8")), *EXTRA]:
        value = _value(c)
        kind, legs, measures = (c["kind"], c.get("legs"), c["measures"]) if "kind" in c else _measures(c)
        legs = legs or ([tuple(c["pair"])] if c.get("pair") else None)
        if value is None or not legs:
            continue
        mode = c.get("mode") or ("rail" if any(w in c["what"].lower() for w in RAIL_WORDS) else "road")
        if "Aktau–Poti" in c["what"]:
            mode = "rail"
        row = {"pair": " + ".join(" – ".join(leg) for leg in legs), "mode": mode, "kind": kind, "published": value,
               "computed": None, "error": None, "joins": None, "source": c["source"], "measures": measures,
               "why": None}
        km = joins = 0.0
        try:
            for a, b in legs:
                bad = [p for p in (a, b) if p in NOT_PLACES]
                if bad:
                    raise corridors.RouteError(f"{bad[0]} is not in the gazetteer under its own name")
                r = corridors.route(*[ALIASES.get(p, p) for p in (a, b)], mode=mode)
                km += r.length_km
                joins += r.length_by_mode_km.get("geodesic", 0.0) + sum(
                    s["km"] for s in r.segments if s["kind"] == "join")
        except (corridors.RouteError, LookupError, ValueError) as exc:
            row["why"] = str(exc).split(";")[0]
            rows.append(row)
            continue
        row.update(computed=km, error=(km - value) / value, joins=joins)
        rows.append(row)
    return rows


def calibrate(path: str) -> int:
    """Markdown table of route() lengths against the published lengths of named places; 1 if a "pair" figure is
    off by more than 5 % (or a bound is exceeded)."""
    import statistics

    rows = calibration_rows(path)
    print("| pair | mode | measures | published km | computed km | error | joins km | source |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["computed"] is None:
            comp, err = "–", f"not computed: {r['why']}"
        else:
            comp = f"{r['computed']:.1f}"
            err = f"{r['error']:+.1%}" if r["kind"] != "bound" else ("below" if r["error"] < 0 else "ABOVE")
        joins = "–" if r["joins"] is None else f"{r['joins']:.0f}"
        print(f"| {r['pair']} | {r['mode']} | {r['kind']}: {r['measures']} | {r['published']:g} | {comp} | {err} | "
              f"{joins} | {r['source']} |")
    ok = 0
    for kinds, label in ((("pair",), "pair figures (the target)"),
                         (("pair", "project", "new-build"), "all figures with a computed length")):
        errs = [abs(r["error"]) for r in rows if r["kind"] in kinds and r["error"] is not None]
        if errs:
            print(f"\n{label}: median |error| {statistics.median(errs):.1%}; max {max(errs):.1%}; "
                  f"{sum(e <= 0.05 for e in errs)}/{len(errs)} within 5 %")
        if kinds == ("pair",):
            ok = max(errs) <= 0.05 and statistics.median(errs) <= 0.03
    bounds = [r for r in rows if r["kind"] == "bound" and r["error"] is not None]
    print(f"bounds: {sum(r['error'] < 0 for r in bounds)}/{len(bounds)} met")
    unresolved = [r["pair"] for r in rows if r["computed"] is None]
    if unresolved:
        print(f"not computed (place not in the gazetteer or no route): {', '.join(unresolved)}")
    return 0 if ok and all(r["error"] < 0 for r in bounds) else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--calibrate"]:
        sys.exit(calibrate(sys.argv[2] if len(sys.argv) > 2 else "../shared/reference/calibration_lengths.json"))
    sys.exit(main(sys.argv[1:]))
