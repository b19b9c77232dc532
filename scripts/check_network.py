"""Report problems in the corridor network: BCPs away from their border, country changes away from a BCP.

Usage: python scripts/check_network.py [SECTION_ID ...]   (rebuild first: python scripts/build_geodata.py)
       python scripts/check_network.py --calibrate [calibration_lengths.json]
           route() between the named pairs of the calibration file, printed as a markdown table (pair,
           published, computed, error, source) with the median absolute error.
Prints each section's geodesic length, the countries it passes, and every country change that is not at
a BCP of that section joining the same two countries (BAD) or is a sea leg (sea).
"""

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
           "Zhibek Zholy": "bcp_zhibek_zholy_gisht_kuprik", "Karamyk": "bcp_karamyk", "Torugart": "bcp_torugart"}


def calibrate(path: str) -> int:
    """Markdown table of route() lengths against the published lengths of named pairs; 1 if any is off > 5 %."""
    import json
    import statistics

    rows, errs = [], []
    for c in json.load(open(path, encoding="utf-8")):
        value = c.get("value")
        if isinstance(value, str) and value.split()[0].replace(",", "").isdigit():  # "99 km total: ..."
            value = float(value.split()[0].replace(",", ""))
        if not c.get("pair") or not isinstance(value, int | float):
            continue
        c = {**c, "value": value}
        mode = "rail" if any(w in c["what"].lower() for w in RAIL_WORDS) else "road"
        try:
            r = corridors.route(*[ALIASES.get(p, p) for p in c["pair"]], mode=mode)
        except corridors.RouteError as exc:
            rows.append(f"| {' – '.join(c['pair'])} | {mode} | {c['value']:g} | – | – | – | {c['source']} ({exc}) |")
            continue
        err = (r.length_km - c["value"]) / c["value"]
        errs.append(abs(err))
        schematic = r.length_by_mode_km.get("geodesic", 0.0) + sum(
            s["km"] for s in r.segments if s["kind"] == "join")
        rows.append(f"| {' – '.join(c['pair'])} | {mode} | {c['value']:g} | {r.length_km:.1f} | {err:+.1%} | "
                    f"{schematic:.0f} | {c['source']} |")
    print("| pair | mode | published km | computed km | error | joins km | source |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nmedian |error| {statistics.median(errs):.1%}; max {max(errs):.1%}; "
          f"{sum(e <= 0.05 for e in errs)}/{len(errs)} within 5 %")
    return 0 if max(errs) <= 0.05 else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--calibrate"]:
        sys.exit(calibrate(sys.argv[2] if len(sys.argv) > 2 else "../shared/reference/calibration_lengths.json"))
    sys.exit(main(sys.argv[1:]))
