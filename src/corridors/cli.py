"""Command line: `corridors list|nodes|report|build|route|compare|analyze|export|traces`. Output goes to stdout;
errors name the fix.

Only the standard library loads before a command runs: ``corridors --help`` and argument errors never import
geopandas (each command imports what it needs; networkx and folium only for routes and maps)."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import io
import json
import re
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from . import analysis

LIST_COLUMNS = ["id", "kind", "corridor", "name", "mode", "basis", "confidence", "length_km", "definition"]
NODE_COLUMNS = ["id", "name", "kind", "country", "joins", "coord_confidence", "lon", "lat"]


def _table(df: pd.DataFrame, fmt: str, geo: Any = None) -> str:
    import pandas as pd

    from . import data

    if fmt == "json":
        return json.dumps(df.to_dict("records"), ensure_ascii=False, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        safe = df.apply(lambda col: col if pd.api.types.is_numeric_dtype(col) else col.map(_csv_safe))
        safe.to_csv(buf, index=False, lineterminator="\n")
        return buf.getvalue().rstrip("\n")
    if fmt == "geojson":
        return json.dumps(data.as_feature_collection(geo), ensure_ascii=False)
    return str(df.to_string(index=False, max_colwidth=48))


def _csv_safe(v: Any) -> Any:
    """A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading apostrophe."""
    return "'" + v if isinstance(v, str) and v.startswith(("=", "+", "-", "@", "\t", "\r")) else v


_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text safe for a terminal: escape sequences and control characters removed (newlines and tabs kept)."""
    return _CONTROL.sub("", text)


def _listify(df: pd.DataFrame) -> pd.DataFrame:
    return df.apply(lambda col: col.map(lambda v: "|".join(v) if isinstance(v, list) else v))


def cmd_list(args: argparse.Namespace) -> str:
    from . import data

    secs = data.sections(args.kind)
    if args.corridor:
        secs = secs[secs["corridor"] == args.corridor]
        if secs.empty:
            what = f"{args.kind.replace('_', ' ')}s" if args.kind else "sections"
            known = ", ".join(sorted(set(data.sections("section")["corridor"].dropna())))
            raise data.NotFoundError(f"no {what} in corridor {args.corridor!r}; CAREC corridors are {known}"
                                     + ("; list every key route with --kind key_route alone"
                                        if args.kind == "key_route" else ""))
    return _table(secs[LIST_COLUMNS], args.format, secs)


def cmd_nodes(args: argparse.Namespace) -> str:
    from . import data

    n = data.nodes(args.kind)
    if args.country:
        n = n[n["country"] == args.country.strip().upper()]
        if n.empty:
            have = sorted(set(data.nodes(args.kind)["country"].dropna()))
            kind = f"{args.kind} " if args.kind else ""
            raise data.NotFoundError(f"no {kind}nodes in country {args.country!r}; use an ISO3 code with nodes: "
                                     f"{', '.join(have)}")
    n = n.assign(lon=n.geometry.x.round(5), lat=n.geometry.y.round(5))
    return _table(_listify(n[NODE_COLUMNS]), args.format, n)


def cmd_report(args: argparse.Namespace) -> str:
    import pandas as pd

    from . import analysis, data

    results = None if args.corridor else shipped_results(args.ids)
    if results is None:
        secs = data.sections()
        ids = list(args.ids)
        if args.corridor:
            ids += secs.loc[(secs["corridor"] == args.corridor) & (secs["kind"] == "section"), "id"].tolist()
        if not ids:
            ids = secs["id"].tolist()
        results = analysis.analyze_many(ids)
        if args.corridor:
            results.append(analysis.analyze_corridor(args.corridor))
    results = [_with_year(r, args) for r in results]
    if args.format == "json":
        return json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2)
    rows = [{
        "id": r["id"], "corridor": r["corridor"], "mode": r["mode"], "length_km": round(r["length_km"], 1),
        "countries": ">".join(r["countries"]),
        "km_by_country": " ".join(f"{k}:{v:.0f}" for k, v in r["length_by_country_km"].items()),
        "crossings": " ".join(_crossing(c) for c in r["crossings"]),
        **_hours_usd(r),
    } for r in map(_row_fields, results)]
    return _table(_unknown(pd.DataFrame(rows), args.format), args.format)


def shipped_results(ids: Sequence[str]) -> list[analysis.RouteAnalysis] | None:
    """The analyses of shipped sections / key routes given by their exact ids (all of them for no ids), from the
    figures precomputed for the current data files (``data.shipped_figures``), without their geometry: what
    ``analysis.analyze_many(ids)`` gives (tests/test_section_figures.py checks it) at a fraction of the start-up.
    None (compute them) when the figures do not belong to the current data or to the current ``RouteAnalysis``
    fields, when an id is not an exact id there (a name, a spelling: looked up as usual), or when a route has
    warnings (the analysis would also print them)."""
    from . import analysis

    records = _shipped_records(ids)
    if records is None:
        return None
    return [analysis.RouteAnalysis(geometry=None, **{k: v for k, v in r.items() if k != "carec"}) for r in records]


def _shipped_records(ids: Sequence[str]) -> list[dict[str, Any]] | None:
    from . import analysis, data

    figures = data.shipped_figures()
    if figures is None:
        return None
    records = [figures.get(i) for i in ids] if ids else list(figures.values())
    stored = {f.name for f in dataclasses.fields(analysis.RouteAnalysis)} - {"geometry", "year", "assume_mode"}
    if any(r is None or r.keys() != stored | {"carec"} or r["warnings"] for r in records):
        return None
    return records  # type: ignore[return-value]


def shipped_carec(ids: Sequence[str]) -> list[tuple[float, float]] | None:
    """``routes.carec_share`` (km, share within ``routes.NEAR_CAREC_KM``) of shipped routes by exact id, precomputed
    with their figures (see ``shipped_results``); None when not all of them are known."""
    from . import routes

    records = _shipped_records(ids) if ids else None
    if records is None or any(r["carec"][2] != routes.NEAR_CAREC_KM for r in records):
        return None
    return [(r["carec"][0], r["carec"][1]) for r in records]


def _row_fields(r: analysis.RouteAnalysis) -> dict[str, Any]:
    """The fields of ``r.to_dict()`` that a table row shows, rounded as there (km to 4 decimals before the row
    rounds them again), without building the rest (the CPMM breakdown, nodes ...: a fifth of ``report``)."""
    from . import analysis

    def r4(v: Any) -> float | None:
        return None if v is None else round(float(v), 4)

    return {"id": r.id, "corridor": r.corridor, "mode": r.mode, "length_km": r4(r.length_km),
            "countries": r.countries, "length_by_country_km": {k: r4(v) for k, v in r.length_by_country_km.items()},
            "crossings": analysis.rounded(r.crossings), "time_h": {k: r4(v) for k, v in r.time_h.items()},
            "cost_usd": {k: r4(v) for k, v in r.cost_usd.items()}}


def _with_year(r: analysis.RouteAnalysis, args: argparse.Namespace) -> analysis.RouteAnalysis:
    r.year, r.assume_mode = args.year, getattr(args, "cpmm_mode", None)
    return r


def _hours_usd(r: dict[str, Any]) -> dict[str, Any]:
    """Hours (without / with delay, of which at borders) and USD beside km; None where a figure is unknown."""
    t, c = r.get("time_h") or {}, r.get("cost_usd") or {}
    one = {k: None if v is None else round(v, 1) for k, v in (("hours", t.get("without_delay")),
           ("hours_with_delay", t.get("with_delay")), ("border_h", t.get("border")))}
    return {**one, "usd": None if c.get("total") is None else round(c["total"])}


def _unknown(df: pd.DataFrame, fmt: str) -> pd.DataFrame:
    """Hours/USD columns: 'unknown' in a table, null in JSON/CSV (never NaN)."""
    cols = ["hours", "hours_with_delay", "border_h", "usd"]
    df[cols] = df[cols].astype(object).where(df[cols].notna(), "unknown" if fmt == "table" else None)
    return df


def _crossing(c: dict[str, Any]) -> str:
    where = "" if c["km"] is None else f"@{c['km']:.0f}"
    return f"{c['from']}>{c['to']}{where}({c['bcp'] or c['via']})"


def cmd_build(args: argparse.Namespace) -> str:
    from . import analysis

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise analysis.RouteError(f"--out {out}: is a file; give a folder for the maps")
    if not out.exists() and out.parent.exists() and not out.parent.is_dir():
        raise analysis.RouteError(f"--out {out}: {out.parent} is a file, not a folder")
    probe = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    try:  # checked before anything is rendered
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise analysis.RouteError(f"--out {out}: cannot write in {probe} ({exc.strerror}); choose a writable "
                                  "folder") from None
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
    import pandas as pd

    from . import routes

    r = routes.route(*args.places, via=args.via or (), mode=args.mode, weight=args.weight, year=args.year)
    if args.format == "json":
        return json.dumps(r.to_dict(), ensure_ascii=False, indent=2)
    if args.format == "geojson":
        return _route_out([r], args.format)
    head = (f"{r.name} ({r.mode}): {r.length_km:.1f} km; "
            + " ".join(f"{k}:{v:.1f}" for k, v in r.length_by_country_km.items())
            + f"; network {r.network_km:.1f} km, geodesic {r.geodesic_km:.1f} km, "
            f"on CAREC sections {100 * r.carec_share:.0f}%; "
            + ", ".join(f"{k} {'unknown' if v is None else v}" for k, v in _hours_usd(r.to_dict()).items())
            + f" (CPMM {r.year or 'latest'})")
    crossings = "crossings: " + (" ".join(_crossing(c) for c in r.crossings) or "none")
    segs = pd.DataFrame(r.segments)[["kind", "from", "to", "km", "sections", "mode"]]
    segs = segs.assign(km=segs["km"].round(1), sections=segs["sections"].map(",".join))
    return "\n".join([head, crossings, _table(segs, "table")])


def cmd_compare(args: argparse.Namespace) -> str:
    import pandas as pd

    from . import analysis, routes
    from . import io as cio

    is_file = [cio.file_format(r) is not None or Path(r).is_file() for r in args.routes]  # else a route id
    if args.map:  # the routes drawn side by side in one self-contained page (names shown as text only)
        from . import maps
        from .network import write_atomic

        frames = [cio.read_routes(r) if f else maps.select([r]) for r, f in zip(args.routes, is_file)]
        found = [a for f in frames for a in (analysis.analyze_many(f) if "nodes" not in f else
                                             analysis.analyze_many(f["id"].tolist()))]
        frame = pd.concat(frames, ignore_index=True)
        spec = maps.routes_spec(frame, results=found, offline=args.offline, title="Routes compared")
        write_atomic(Path(args.map), maps.page(spec))
    shipped = None if any(is_file) else shipped_results(args.routes)  # ids of shipped routes: figures precomputed
    results = [_with_year(r, args) for r in (shipped or routes.results(args.routes))]
    extra = pd.DataFrame([_hours_usd({"time_h": r.time_h, "cost_usd": r.cost_usd}) for r in results])
    df = routes.compare(results, carec=shipped_carec(args.routes) if shipped else None)
    return _table(_unknown(pd.concat([df, extra], axis=1), args.format), args.format)


def cmd_analyze(args: argparse.Namespace) -> str:
    from . import routes

    return _route_out(routes.results(Path(args.file)), args.format)  # a path, never a section id


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {printable(message)} (see {self.prog} --help)\n")


def cmd_export(args: argparse.Namespace) -> str:
    from . import figures

    try:
        path = figures.export(args.out, args.routes or None, corridor=args.corridor, format=args.format,
                              dpi=args.dpi, title=args.title, width=args.width)
    except ImportError as exc:
        raise figures.FigureError(str(exc)) from None
    return f"wrote {path}"


def cmd_traces(args: argparse.Namespace) -> str:
    from . import traces

    trips = traces.analyze_traces(traces.read_traces(args.file), bcp_radius_km=args.bcp_radius_km)
    return traces.report(trips, by=args.by, fmt=args.format)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="corridors", description="CAREC corridors as sourced data, analysis and maps.")
    p.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
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
    _year_args(s)
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
    s.add_argument("--weight", choices=["distance", "time", "cost"], default="distance",
                   help="shortest, fastest (border times included) or cheapest path (CPMM figures)")
    s.add_argument("--year", type=int, help="CPMM data year for hours and USD (default: the latest figures)")
    s.set_defaults(func=cmd_route)
    s = sub.add_parser("compare", help="routes side by side: length, km per country, crossings, share on CAREC")
    s.add_argument("routes", nargs="+", help="section / key-route ids or route files (GeoJSON, GPX, GPKG, CSV ...)")
    s.add_argument("--format", choices=["table", "csv", "json"], default="table")
    _year_args(s)
    s.add_argument("--map", metavar="HTML", help="also write the routes side by side as a map page")
    s.add_argument("--offline", action="store_true", help="the --map page requests nothing (no basemap tiles)")
    s.set_defaults(func=cmd_compare)
    s = sub.add_parser("analyze", help="length, length per country and crossings of the routes in a file")
    s.add_argument("file", help="GeoJSON, GPX, KML, GeoPackage, GeoParquet or CSV (lon/lat points or WKT)")
    s.add_argument("--format", choices=["table", "json", "geojson"], default="table")
    s.set_defaults(func=cmd_analyze)
    s = sub.add_parser("export", help="a print-ready static map (needs the 'figures' extra: matplotlib)")
    s.add_argument("format", choices=["png", "svg", "pdf"], help="png, svg or pdf")
    s.add_argument("routes", nargs="*", metavar="ROUTES_FILE",
                   help="route files or section ids to draw over the corridors (default: the overview)")
    s.add_argument("--corridor", help="one corridor (1-6) with its sections, BCPs and ports")
    s.add_argument("--out", required=True, help="output file, ending in .png, .svg or .pdf")
    s.add_argument("--dpi", type=int, default=200, help="resolution of a PNG (default 200)")
    s.add_argument("--title", help="title above the map")
    s.add_argument("--width", type=float, default=10.0, help="width in inches (default 10)")
    s.set_defaults(func=cmd_export)
    s = sub.add_parser("traces", help="GPS traces: crossings, time at each BCP, speeds with and without delay")
    s.add_argument("file", help="CSV (trip, time, lon, lat), GPX tracks with times, or GeoParquet points")
    s.add_argument("--by", choices=["trip", "bcp", "country"], default="trip")
    s.add_argument("--format", choices=["table", "csv", "json"], default="table")
    s.add_argument("--bcp-radius-km", type=float, default=5.0, help="radius around a BCP (default 5 km)")
    s.set_defaults(func=cmd_traces)
    return p


def _year_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--year", type=int, help="CPMM data year for hours and USD (default: the latest figures)")
    s.add_argument("--mode", dest="cpmm_mode", choices=["road", "rail"],
                   help="CPMM speeds and costs for multimodal legs: road or rail (default: unknown)")


class _Version(argparse.Action):
    """``--version``, looked up only when asked (reading the package metadata is slow to import)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from . import __version__

        parser.exit(message=f"corridors {__version__}\n")


def _expected_errors() -> tuple[type[Exception], ...]:
    """The errors a command reports in one line: bad ids and names, bad routes, files, and figure exports. The
    figures module's error only where that module is loaded (an error of a module never imported cannot have been
    raised, and importing it costs start-up)."""
    from . import analysis, data

    figures = sys.modules.get(f"{__package__}.figures")
    return (data.NotFoundError, analysis.RouteError, OSError,
            *((figures.FigureError,) if figures is not None else ()))


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from . import analysis  # geopandas loads here, once a command is to run

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", analysis.OutsideDataWarning)
            out = args.func(args)
        for w in caught:  # the library's own warnings, one line each; others as Python shows them
            if issubclass(w.category, analysis.OutsideDataWarning):
                print(f"corridors: warning: {' '.join(printable(str(w.message)).split())}", file=sys.stderr)
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    except _expected_errors() as exc:
        msg = str(exc) if not isinstance(exc, OSError) or not exc.strerror else \
            f"{exc.filename or ''}: {exc.strerror}".lstrip(": ")
        print(f"corridors: error: {' '.join(printable(msg).split())}", file=sys.stderr)
        return 2
    sys.stdout.write(printable(out) + "\n")
    return 0


def run() -> None:
    """The ``corridors`` command (console script and ``python -m corridors``): ``main()``, then exit with its code.

    The objects alive at the end are first moved out of the cyclic collector's reach (``gc.freeze``): the
    interpreter's teardown otherwise runs the collector over every object pandas, geopandas and the data left
    (~0.1 s CPU, about as much as a report's own work) only to free memory the process hands back anyway. Output is
    flushed and exit handlers run as before; ``main()`` itself (as tests and other programs call it) is unchanged."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
