"""Command line: `corridors list|nodes|report|build|route|compare|analyze|export`. Output goes to stdout; errors name
the fix."""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from typing import Any

import pandas as pd

from . import analysis, data, figures

LIST_COLUMNS = ["id", "kind", "corridor", "name", "mode", "basis", "confidence", "length_km", "definition"]
NODE_COLUMNS = ["id", "name", "kind", "country", "joins", "coord_confidence", "lon", "lat"]


def _table(df: pd.DataFrame, fmt: str, geo: Any = None) -> str:
    if fmt == "json":
        return json.dumps(df.to_dict("records"), ensure_ascii=False, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        df.to_csv(buf, index=False, lineterminator="\n")
        return buf.getvalue().rstrip("\n")
    if fmt == "geojson":
        return json.dumps(data.as_feature_collection(geo), ensure_ascii=False)
    return str(df.to_string(index=False, max_colwidth=48))


def _listify(df: pd.DataFrame) -> pd.DataFrame:
    return df.apply(lambda col: col.map(lambda v: "|".join(v) if isinstance(v, list) else v))


def cmd_list(args: argparse.Namespace) -> str:
    secs = data.sections(args.kind)
    if args.corridor:
        secs = secs[secs["corridor"] == args.corridor]
    return _table(secs[LIST_COLUMNS], args.format, secs)


def cmd_nodes(args: argparse.Namespace) -> str:
    n = data.nodes(args.kind)
    if args.country:
        n = n[n["country"] == args.country.upper()]
    n = n.assign(lon=n.geometry.x.round(5), lat=n.geometry.y.round(5))
    return _table(_listify(n[NODE_COLUMNS]), args.format, n)


def cmd_report(args: argparse.Namespace) -> str:
    secs = data.sections()
    ids = list(args.ids)
    if args.corridor:
        ids += secs.loc[(secs["corridor"] == args.corridor) & (secs["kind"] == "section"), "id"].tolist()
    if not ids:
        ids = secs["id"].tolist()
    results = [r.to_dict() for r in analysis.analyze_many(ids)]
    if args.corridor:
        results.append(analysis.analyze_corridor(args.corridor).to_dict())
    if args.format == "json":
        return json.dumps(results, ensure_ascii=False, indent=2)
    rows = [{
        "id": r["id"], "corridor": r["corridor"], "mode": r["mode"], "length_km": round(r["length_km"], 1),
        "countries": ">".join(r["countries"]),
        "km_by_country": " ".join(f"{k}:{v:.0f}" for k, v in r["length_by_country_km"].items()),
        "crossings": " ".join(_crossing(c) for c in r["crossings"]),
    } for r in results]
    return _table(pd.DataFrame(rows), args.format)


def _crossing(c: dict[str, Any]) -> str:
    where = "" if c["km"] is None else f"@{c['km']:.0f}"
    return f"{c['from']}>{c['to']}{where}({c['bcp'] or c['via']})"


def cmd_build(args: argparse.Namespace) -> str:
    from . import atlas

    try:
        written = atlas.build(args.out, offline=args.offline)
    except atlas.BuildError as exc:
        print(f"corridors: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return "\n".join(f"wrote {p}" for p in written)


def _route_out(results: list[analysis.RouteAnalysis], fmt: str) -> str:
    from . import routes

    if fmt == "json":
        return json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2)
    if fmt == "geojson":
        return json.dumps({"type": "FeatureCollection", "features": [r.to_feature() for r in results]},
                          ensure_ascii=False)
    return _table(routes.compare(results), fmt)


def cmd_route(args: argparse.Namespace) -> str:
    from . import routes

    r = routes.route(*args.places, via=args.via or (), mode=args.mode)
    if args.format == "json":
        return json.dumps(r.to_dict(), ensure_ascii=False, indent=2)
    if args.format == "geojson":
        return _route_out([r], args.format)
    head = (f"{r.name} ({r.mode}): {r.length_km:.1f} km; "
            + " ".join(f"{k}:{v:.1f}" for k, v in r.length_by_country_km.items())
            + f"; network {r.network_km:.1f} km, geodesic {r.geodesic_km:.1f} km, "
            f"on CAREC sections {100 * r.carec_share:.0f}%")
    crossings = "crossings: " + (" ".join(_crossing(c) for c in r.crossings) or "none")
    segs = pd.DataFrame(r.segments)[["kind", "from", "to", "km", "sections", "mode"]]
    segs = segs.assign(km=segs["km"].round(1), sections=segs["sections"].map(",".join))
    return "\n".join([head, crossings, _table(segs, "table")])


def cmd_compare(args: argparse.Namespace) -> str:
    from . import routes

    if args.map:  # the routes drawn side by side in one self-contained page (names shown as text only)
        from pathlib import Path

        from . import io as cio
        from . import maps
        from .network import write_atomic

        frames = [cio.read_routes(r) if cio.file_format(r) is not None or Path(r).is_file() else maps.select([r])
                  for r in args.routes]
        found = [a for f in frames for a in (analysis.analyze_many(f) if "nodes" not in f else
                                             analysis.analyze_many(f["id"].tolist()))]
        frame = pd.concat(frames, ignore_index=True)
        spec = maps.routes_spec(frame, results=found, offline=args.offline, title="Routes compared")
        write_atomic(Path(args.map), maps.page(spec))
    return _table(routes.compare(args.routes), args.format)


def cmd_analyze(args: argparse.Namespace) -> str:
    from . import routes

    return _route_out(routes.results(args.file), args.format)


def cmd_export(args: argparse.Namespace) -> str:
    try:
        path = figures.export(args.out, args.routes or None, corridor=args.corridor, format=args.format,
                              dpi=args.dpi, title=args.title, width=args.width)
    except ImportError as exc:
        raise figures.FigureError(str(exc)) from None
    return f"wrote {path}"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="corridors", description="CAREC corridors as sourced data, analysis and maps.")
    p.add_argument("--version", action="version", version=f"corridors {_version()}")
    sub = p.add_subparsers(dest="command", required=True)
    fmts = ["table", "json", "csv", "geojson"]
    s = sub.add_parser("list", help="list corridor sections and key routes")
    s.add_argument("--format", choices=fmts, default="table")
    s.add_argument("--corridor", help="only this corridor (1-6)")
    s.add_argument("--kind", choices=["section", "key_route"], help="only sections or only key routes")
    s.set_defaults(func=cmd_list)
    s = sub.add_parser("nodes", help="list cities, border crossing points, ports and waypoints")
    s.add_argument("--format", choices=fmts, default="table")
    s.add_argument("--kind", choices=["city", "bcp", "port", "waypoint"])
    s.add_argument("--country", help="ISO3 code, e.g. KAZ")
    s.set_defaults(func=cmd_nodes)
    s = sub.add_parser("report", help="length, length per country and border crossings of routes")
    s.add_argument("ids", nargs="*", help="section or key-route ids or names (default: all)")
    s.add_argument("--corridor", help="every section of this corridor (1-6)")
    s.add_argument("--format", choices=["table", "csv", "json"], default="table")
    s.set_defaults(func=cmd_report)
    s = sub.add_parser("build", help="write the interactive maps")
    s.add_argument("--out", default="maps", help="output folder (default: maps/)")
    s.add_argument("--offline", action="store_true", help="inline every script and style: no network needed")
    s.set_defaults(func=cmd_build)
    s = sub.add_parser("route", help="a route through places along the corridor network (else the geodesic)")
    s.add_argument("places", nargs="+", help="node or town names ('Osh, KGZ') or lon,lat pairs, in order")
    s.add_argument("--via", action="append", help="a place to pass through before the last one (repeatable)")
    s.add_argument("--mode", choices=["road", "rail", "any"], default="road")
    s.add_argument("--format", choices=["table", "json", "geojson"], default="table")
    s.set_defaults(func=cmd_route)
    s = sub.add_parser("compare", help="routes side by side: length, km per country, crossings, share on CAREC")
    s.add_argument("routes", nargs="+", help="section / key-route ids or route files (GeoJSON, GPX, GPKG, CSV ...)")
    s.add_argument("--format", choices=["table", "csv", "json"], default="table")
    s.add_argument("--map", metavar="HTML", help="also write the routes side by side as a map page")
    s.add_argument("--offline", action="store_true", help="the --map page requests nothing (no basemap tiles)")
    s.set_defaults(func=cmd_compare)
    s = sub.add_parser("analyze", help="length, length per country and crossings of the routes in a file")
    s.add_argument("file", help="GeoJSON, GPX, GeoPackage, GeoParquet or CSV (lon/lat points or WKT)")
    s.add_argument("--format", choices=["table", "json", "geojson"], default="table")
    s.set_defaults(func=cmd_analyze)
    s = sub.add_parser("export", help="a print-ready static map (needs the 'figures' extra: matplotlib)")
    s.add_argument("format", choices=list(figures.FORMATS), help="png, svg or pdf")
    s.add_argument("routes", nargs="*", metavar="ROUTES_FILE",
                   help="route files or section ids to draw over the corridors (default: the overview)")
    s.add_argument("--corridor", help="one corridor (1-6) with its sections, BCPs and ports")
    s.add_argument("--out", required=True, help="output file, ending in .png, .svg or .pdf")
    s.add_argument("--dpi", type=int, default=200, help="resolution of a PNG (default 200)")
    s.add_argument("--title", help="title above the map")
    s.add_argument("--width", type=float, default=10.0, help="width in inches (default 10)")
    s.set_defaults(func=cmd_export)
    return p


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        out = args.func(args)
    except (data.NotFoundError, analysis.RouteError, figures.FigureError) as exc:
        print(f"corridors: error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(out + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
