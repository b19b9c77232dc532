"""Print-ready static maps without a browser (matplotlib): the overview, one corridor, or your own routes.

Same palette, line patterns, labels and credits as the interactive maps (``corridors.style``), drawn over the
country boundaries and the offline reference layers (``corridors.basemap``). The legend and credits sit below
the map, so nothing covers a route. Output is byte-reproducible: fixed fonts (DejaVu, shipped with matplotlib),
fixed dpi, no dates in the files, a fixed SVG hash salt, text kept as text in SVG.

matplotlib is the optional extra ``corridors[figures]``; this module imports it only when a figure is made.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Geod

from . import basemap, data, style
from .network import write_atomic

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FORMATS = ("png", "svg", "pdf")
CREDITS = (  # packed into as few lines as the width allows, never split inside an item
    "Routes: corridors project, from CAREC/ADB and other cited sources (geodata/README.md);",
    "lines join sourced places along geodesics: schematic, not surveyed alignments.",
    "Boundaries: Natural Earth (public domain), de-facto lines.",
    "Water, rivers, places: © OpenStreetMap contributors (ODbL), © OpenMapTiles.",
)
_RC = {  # everything that could make two runs differ, or depend on the user's matplotlibrc
    "svg.hashsalt": "corridors", "svg.fonttype": "none", "svg.image_inline": True, "pdf.fonttype": 42,
    "font.family": "DejaVu Sans", "text.usetex": False, "path.simplify": True, "lines.scale_dashes": True,
    "axes.unicode_minus": False, "figure.dpi": 100, "savefig.bbox": "standard", "savefig.transparent": False,
}
_METADATA = {  # no dates, no versions: identical bytes across runs
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None, "Title": "CAREC transport corridors"},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None,
            "Title": "CAREC transport corridors"},
}


CONTEXT = {"color": "#8A8A8A", "opacity": 0.75}  # corridors drawn behind a user's routes


class FigureError(ValueError):
    """Bad input to ``make_figure`` / ``export``; the message names the problem and the fix."""


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.figure import Figure  # noqa: F401  (checks the install is complete)
    except ImportError as exc:
        raise ImportError("static figures need matplotlib: pip install 'corridors[figures]'") from exc
    return matplotlib


# ---------------------------------------------------------------- what to draw

def _subject(routes: Any, corridor: Any) -> tuple[gpd.GeoDataFrame, str]:
    """Rows to draw and the kind of figure: 'overview', 'corridor' or 'routes'."""
    if corridor is not None:
        key = str(corridor).strip()
        try:
            style.corridor_color(key)
        except ValueError as exc:
            raise FigureError(str(exc)) from None
        if routes is not None:
            raise FigureError("pass either corridor= or routes, not both (routes are drawn over all corridors)")
        s = data.sections()
        return s[(s["corridor"] == key) | ((s["kind"] == "key_route") & (s["corridor"] == key))].reset_index(
            drop=True), "corridor"
    if routes is None:
        return data.sections(), "overview"
    from . import io as rio
    from . import routes as rmod  # networkx, imported lazily

    if isinstance(routes, (list, tuple)) and not routes:
        raise FigureError("routes is empty; pass section ids, route results, geometries, GeoDataFrames or files")
    results = rmod.results(routes)
    frame = rio.to_frame(results)
    frame["label"] = [r.name or r.id or f"Route {i + 1}" for i, r in enumerate(results)]
    frame["segments"] = [list(getattr(r, "segments", None) or []) for r in results]
    bad = [lab for lab, g in zip(frame["label"], frame.geometry) if g is None or g.is_empty]
    if bad:
        raise FigureError(f"route {bad[0]!r} has no geometry to draw")
    return frame, "routes"


def _extent(gdf: gpd.GeoDataFrame, bbox: Sequence[float] | None,
            pad: float = 0.08) -> tuple[float, float, float, float]:
    if bbox is not None:
        try:
            x0, y0, x1, y1 = (float(v) for v in bbox)
        except (TypeError, ValueError):
            raise FigureError(f"bbox must be four numbers (lon_min, lat_min, lon_max, lat_max), got {bbox!r}") from None
        if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
            raise FigureError(f"bbox {bbox!r} must be lon_min < lon_max in -180..180 and lat_min < lat_max in -90..90")
        return x0, y0, x1, y1
    x0, y0, x1, y1 = (float(v) for v in gdf.total_bounds)
    dx, dy = max(x1 - x0, 3.0), max(y1 - y0, 2.0)  # a little country around a short route
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - dx * (0.5 + pad), cy - dy * (0.5 + pad), cx + dx * (0.5 + pad), cy + dy * (0.5 + pad)


# ---------------------------------------------------------------- layers

def _lw(px: float) -> float:
    """Leaflet pixels to points at 96 px per inch (0.75 pt per px), so a figure matches the web map."""
    return px * 0.75


def _draw_base(ax: Axes, box: tuple[float, float, float, float], tol: float, reference: bool) -> None:
    """Countries (CAREC members tinted), water, rivers, borders; simplified to ``tol`` degrees (half a point)."""
    x0, y0, x1, y1 = box
    frame = shapely.box(x0 - 1, y0 - 1, x1 + 1, y1 + 1)
    c = data.countries()
    c = c[c.intersects(frame)].copy()
    c["geometry"] = shapely.clip_by_rect(c.geometry.values, *frame.bounds)
    c["geometry"] = shapely.simplify(c.geometry.values, tol, preserve_topology=True)
    member = c["iso_a3"].isin(style.CAREC_MEMBERS)
    for sel, fill in ((c[~member], style.BASEMAP["land"]), (c[member], style.BASEMAP["member"])):
        if len(sel):
            sel.plot(ax=ax, color=fill, edgecolor="none", zorder=1)
    if reference:
        water = basemap.basemap("water", bbox=frame.bounds, tolerance=tol)
        if len(water):
            water.plot(ax=ax, color=style.BASEMAP["water"], edgecolor=style.BASEMAP["river"], linewidth=0.3,
                       zorder=2)
        rivers = basemap.basemap("rivers", bbox=frame.bounds, tolerance=tol)
        if len(rivers):
            rivers.plot(ax=ax, color=style.BASEMAP["river"], linewidth=0.6, zorder=2)
    if len(c):
        c.boundary.plot(ax=ax, color=style.BASEMAP["border"], linewidth=0.5, zorder=3)


def _linestyle(st: dict[str, Any]) -> Any:
    """matplotlib linestyle of a Leaflet style: dashArray is in pixels at the line's weight, matplotlib wants
    line widths."""
    if not st.get("dashArray"):
        return "solid"
    w = float(st.get("weight", style.LINE_WEIGHT))
    return (0.0, tuple(float(p) / w for p in str(st["dashArray"]).split()))


def _line(ax: Axes, geom: shapely.Geometry, st: dict[str, Any], zorder: float, tol: float = 0.0) -> None:
    cap = "round" if st.get("lineCap", "round") == "round" else "butt"
    for part in getattr(geom, "geoms", [geom]):
        xy = np.asarray(shapely.simplify(part, tol).coords if tol else part.coords)
        ax.plot(xy[:, 0], xy[:, 1], color=st["color"], linewidth=_lw(float(st.get("weight", style.LINE_WEIGHT))),
                alpha=float(st.get("opacity", 1.0)), linestyle=_linestyle(st), solid_capstyle=cap,
                dash_capstyle=cap, solid_joinstyle="round", zorder=zorder)


def _draw_routes(ax: Axes, rows: gpd.GeoDataFrame, kind: str, focus: str | None,
                 tol: float) -> list[dict[str, Any]]:
    """Draw the rows; return the legend entries (label, style)."""
    entries: list[dict[str, Any]] = []
    if kind == "routes":
        context = data.sections("section")
        for _, row in context.iterrows():  # the corridors in grey with their patterns, for orientation
            _line(ax, row.geometry, {**style.line_style(row["corridor"], weight=1.5), **CONTEXT}, 4, tol)
        schematic = False
        for i, row in rows.reset_index(drop=True).iterrows():
            st = style.user_style(int(i), len(rows))
            _line(ax, row.geometry, {**st, "color": "#FFFFFF", "weight": st["weight"] + 3, "dashArray": None,
                                     "opacity": 0.9}, 6, tol)
            for piece, off_network in style.geodesic_runs(row.geometry, row["segments"]):
                sst = {**st, **style.SCHEMATIC} if off_network else st
                if off_network and sst.get("dashArray"):
                    sst["dashArray"] = style.dash_array(style.DASHES[style.CORRIDORS[int(i) % 6]], sst["weight"])
                schematic |= off_network
                _line(ax, piece, sst, 7, tol)
            entries.append({"label": style.label({"name": row["label"]}, max_chars=80), "style": st})
        if schematic:
            entries.append({"label": "Thin, pale: off the corridor network (straight geodesic)", "style": {
                "color": style.INK, **style.SCHEMATIC}})
        entries.append({"label": "CAREC corridors (context)", "style": {"weight": 1.5, **CONTEXT}})
        return entries
    keys = rows[rows["kind"] == "key_route"]
    for _, row in keys.iterrows():  # casing under the corridor lines, never a line on top
        _line(ax, row.geometry, style.key_route_style(), 4)
    inferred = False
    groups: dict[tuple[Any, bool, bool], list[shapely.Geometry]] = {}
    for _, row in rows.iterrows():
        if row["kind"] == "key_route" and row["corridor"] is not None and str(row["corridor"]) in style.PALETTE:
            continue  # drawn by its corridor sections; the casing marks it
        schematic = bool(row.get("basis") == "inferred")
        inferred |= schematic
        c = row["corridor"] if row["kind"] == "section" else None
        for piece, ferry in style.leg_runs(row):
            groups.setdefault((c, ferry, schematic), []).append(piece)
    # sections of a corridor share stretches: draw each stretch once, so its dash pattern stays readable
    for (c, ferry, schematic), pieces in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1:])):
        merged = shapely.line_merge(shapely.union_all(pieces))
        _line(ax, merged, style.line_style(c, ferry=ferry, schematic=schematic), 6 if c is not None else 5, tol)
    corridors_drawn = sorted({str(c) for c in rows.loc[rows["kind"] == "section", "corridor"] if c is not None})
    for e in style.legend_entries(corridors_drawn):
        entries.append({"label": e["label"], "style": style.line_style(e["short"].split()[-1])})
    if len(keys):
        entries.append({"label": "Key route (casing: Almaty–Bishkek, WE–WC, Middle Corridor …)",
                        "style": {**style.key_route_style(), "weight": 11}, "casing": True})
        if (keys["corridor"].isna()).any():
            entries.append({"label": "Key route outside the corridors", "style": style.line_style(None)})
    if kind == "corridor":  # which section is which: ids on the map, their names in the legend
        for _, row in rows[rows["kind"] == "section"].iterrows():
            entries.append({"label": f"{row['id']}: {style.label({'name': row['name']}, max_chars=110)}",
                            "text": str(row["id"])})
    if any(len(style.leg_runs(r)) > 1 for _, r in rows.iterrows()):
        entries.append({"label": "Ferry (sea passage)", "style": style.line_style(focus or "1", ferry=True)
                        | {"color": style.INK}})
    if inferred:
        entries.append({"label": "Thin, pale: inferred, not confirmed by a source", "style": style.line_style(
            focus or "1", schematic=True) | {"color": style.INK, "dashArray": None}})
    return entries


def _draw_nodes(ax: Axes, rows: gpd.GeoDataFrame, kind: str, scale: float) -> list[dict[str, Any]]:
    if kind == "routes":
        return []
    nodes = data.nodes()
    used = set(rows["id"])
    entries = []
    for nk in ("bcp", "port"):
        sel = nodes[(nodes["kind"] == nk) & nodes["sections"].map(lambda s: bool(used & set(s or [])))]
        if not len(sel):
            continue
        st = style.NODE_STYLES[nk]
        st = {**st, "radius": st["radius"] * scale, "weight": st["weight"] * scale}
        size = (2 * _lw(st["radius"])) ** 2
        ax.scatter(sel.geometry.x, sel.geometry.y, s=size, c=st["fillColor"], edgecolors=st["color"],
                   linewidths=_lw(st["weight"]), zorder=8)
        entries.append({"label": style.NODE_LABELS[nk] + "s", "marker": st})
    return entries


def _draw_labels(ax: Axes, fig: Figure, box: tuple[float, float, float, float], zoom: float,
                 subject: shapely.Geometry, reserved: list[Any]) -> None:
    """Country names, capitals and cities for this scale; greedy placement, a label that would collide is left
    out. Countries first, then capitals, then cities; within each, places near the drawn routes first, then
    the larger (OpenMapTiles min_zoom, rank)."""
    places = basemap.basemap("places", bbox=box, zoom=zoom)
    order = {"country": 0, "capital": 1, "city": 2}
    far = ~shapely.dwithin(places.geometry.values, subject, 1.0)
    places = places.assign(o=places["kind"].map(order), far=far).sort_values(
        ["o", "far", "min_zoom", "rank", "name"], kind="stable")
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # an Agg canvas (make_figure)
    placed: list[Any] = list(reserved)
    halo = _halo()
    for _, p in places.iterrows():
        x, y = p.geometry.x, p.geometry.y
        if p["kind"] == "country":
            spots = [("center", "center", str(p["name"]).upper())]
            font: dict[str, Any] = {"fontsize": 7.5, "color": style.BASEMAP["country_label"],
                                    "fontweight": "bold", "alpha": 0.8}
        else:  # right of the dot, else left, above, below
            name = str(p["name"])
            spots = [("left", "center", "  " + name), ("right", "center", name + "  "),
                     ("center", "bottom", name + "\n"), ("center", "top", "\n" + name)]
            big = p["kind"] == "capital"
            font = {"fontsize": 7 if big else 6, "color": style.BASEMAP["city_label"],
                    "fontweight": "bold" if big else "normal"}
        for ha, va, text in spots:
            t = ax.text(x, y, text, ha=ha, va=va, zorder=9, linespacing=0.9, **font)
            t.set_parse_math(False)
            t.set_path_effects(halo)
            bb = t.get_window_extent(renderer).expanded(1.05, 1.15)
            if any(bb.overlaps(o) for o in placed) or not (ax.bbox.contains(bb.x0, bb.y0)
                                                           and ax.bbox.contains(bb.x1, bb.y1)):
                t.remove()
                continue
            placed.append(bb)
            if p["kind"] != "country":
                ax.scatter([x], [y], s=9 if p["kind"] == "capital" else 4, c=style.BASEMAP["city_label"],
                           marker="s" if p["kind"] == "capital" else "o", linewidths=0, zorder=9)
            break


def _draw_section_ids(ax: Axes, rows: gpd.GeoDataFrame) -> None:
    """Each section's id on its line, at the spot farthest from the ids already placed (sections share roads)."""
    placed: list[shapely.Point] = []
    for _, row in rows[rows["kind"] == "section"].iterrows():
        spots = [row.geometry.interpolate(f, normalized=True) for f in (0.5, 0.35, 0.65, 0.2, 0.8)]
        p = max(spots, key=lambda q: min((q.distance(o) for o in placed), default=0.0))
        placed.append(p)
        t = ax.text(p.x, p.y, str(row["id"]), fontsize=7, fontweight="bold", color=style.INK, ha="center",
                    va="center", zorder=10, bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#888888",
                                                  "lw": 0.4})
        t.set_parse_math(False)


def _draw_scale_bar(ax: Axes, box: tuple[float, float, float, float]) -> list[Any]:
    """A scale bar in the lower left, true along its own parallel on the WGS84 ellipsoid (the label says which):
    about a fifth of the map width, rounded to 1, 2 or 5 times a power of ten km."""
    x0, y0, x1, y1 = box
    lon, lat = x0 + 0.04 * (x1 - x0), y0 + 0.05 * (y1 - y0)
    geod = Geod(ellps="WGS84")
    target = geod.line_length([lon, lon + 0.2 * (x1 - x0)], [lat, lat]) / 1000
    km = max(v * 10**e for e in range(0, 5) for v in (1, 2, 5) if v * 10**e <= target) if target >= 1 else 1
    # along the parallel (a horizontal line on this map): arc = dlon * N(lat) * cos(lat) on the WGS84 ellipsoid
    phi = math.radians(lat)
    n = geod.a / math.sqrt(1 - geod.es * math.sin(phi) ** 2)
    end_lon = lon + math.degrees(km * 1000 / (n * math.cos(phi)))
    (bar,) = ax.plot([lon, end_lon], [lat, lat], color=style.INK, linewidth=2.2, solid_capstyle="butt", zorder=11)
    ax.plot([lon, end_lon], [lat, lat], color="#FFFFFF", linewidth=0.9, solid_capstyle="butt", zorder=11,
            dashes=(3, 3))
    where = f"at {abs(lat):.0f}° {'N' if lat >= 0 else 'S'}"
    t = ax.text((lon + end_lon) / 2, lat + 0.012 * (y1 - y0), f"{km:,} km ({where})", ha="center", va="bottom",
                fontsize=6.5, color=style.INK, zorder=11)
    t.set_parse_math(False)
    t.set_path_effects(_halo())
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    return [t.get_window_extent(renderer).expanded(1.1, 1.3), bar.get_window_extent(renderer).expanded(1.05, 3.0)]


def _halo() -> list[Any]:
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=2.2, foreground=style.BASEMAP["halo"])]


def _legend(fig: Figure, rect: tuple[float, float, float, float], entries: list[dict[str, Any]], ncol: int) -> None:
    from matplotlib.lines import Line2D

    handles, labels = [], []
    for e in entries:
        if "text" in e:  # a section id: the label itself is the key
            h = Line2D([], [], linestyle="none", marker="none")
        elif "marker" in e:
            st = e["marker"]
            h = Line2D([], [], linestyle="none", marker="o", markersize=2 * _lw(st["radius"]),
                       markerfacecolor=st["fillColor"], markeredgecolor=st["color"] if st["color"] != "#FFFFFF"
                       else "#999999", markeredgewidth=_lw(st["weight"]))
        else:
            st = e["style"]
            cap: Any = "round" if st.get("lineCap", "round") == "round" else "butt"
            h = Line2D([], [], color=st["color"], linewidth=_lw(float(st.get("weight", style.LINE_WEIGHT))),
                       alpha=float(st.get("opacity", 1.0)), linestyle=_linestyle(st), solid_capstyle=cap,
                       dash_capstyle=cap)
        handles.append(h)
        labels.append(e["label"])
    ax = fig.add_axes(rect)
    ax.set_axis_off()
    leg = ax.legend(handles, labels, loc="upper left", ncol=ncol, frameon=False, fontsize=7, handlelength=4.5,
                    columnspacing=1.6, borderaxespad=0.0, title="Legend", title_fontsize=7.5,
                    alignment="left")
    for t in leg.get_texts():
        t.set_parse_math(False)


def _pack(items: Sequence[str], max_chars: int) -> list[str]:
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 1 + len(item) <= max_chars:
            lines[-1] += " " + item
        else:
            lines.append(item)
    return lines


# ---------------------------------------------------------------- the public API

def make_figure(routes: Any = None, *, corridor: Any = None, title: str | None = None,
                bbox: Sequence[float] | None = None, width: float = 10.0, reference: bool = True,
                labels: bool = True) -> Figure:
    """A print-ready map as a matplotlib Figure.

    ``routes``: None (the overview: every corridor and key route) or anything ``corridors.compare`` accepts —
    section ids, route results, shapely lines, GeoJSON, GeoDataFrames, route files — drawn over the corridors.
    ``corridor``: 1..6 for one corridor with its sections, key routes, BCPs and ports. ``bbox`` (lon_min, lat_min,
    lon_max, lat_max) overrides the extent; ``width`` in inches; ``reference`` draws water and rivers,
    ``labels`` country and city names. Legend and credits sit under the map.
    """
    mpl = _matplotlib()
    with mpl.rc_context(_RC):  # the same fonts and settings whatever the user's matplotlibrc says
        return _make_figure(routes, corridor, title, bbox, width, reference, labels)


def _make_figure(routes: Any, corridor: Any, title: str | None, bbox: Sequence[float] | None, width: float,
                 reference: bool, labels: bool) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not (isinstance(width, (int, float)) and 3 <= width <= 40):
        raise FigureError(f"width must be 3 to 40 inches, got {width!r}")
    rows, kind = _subject(routes, corridor)
    box = _extent(rows, bbox)
    x0, y0, x1, y1 = box
    aspect = 1.0 / math.cos(math.radians((y0 + y1) / 2))  # local scale of lon/lat: shapes look right mid-map
    map_w = width - 0.4
    map_h = min(map_w * (y1 - y0) * aspect / (x1 - x0), 1.4 * width)
    focus = str(corridor).strip() if corridor is not None else None
    if title is None:
        title = {"overview": "CAREC transport corridors",
                 "corridor": f"CAREC Corridor {focus}: {style.CORRIDOR_NAMES.get(focus or '', '')}",
                 "routes": "Routes"}[kind]
    fig = Figure(figsize=(width, 1.0), dpi=100)
    FigureCanvasAgg(fig)  # Agg measures the labels; no GUI, no pyplot state
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_facecolor(style.BASEMAP["sea"])
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(aspect, adjustable="box")
    # web-map zoom at print density; at least 4, where OpenMapTiles names countries and capitals
    zoom = max(4.0, math.log2(map_w * 96 * 360 / (256 * (x1 - x0))) + 1.0)
    tol = 0.5 * (x1 - x0) / (map_w * 72)  # half a printed point, in degrees: finer detail cannot show
    _draw_base(ax, box, tol, reference)
    entries = _draw_routes(ax, rows, kind, focus, tol)
    entries += _draw_nodes(ax, rows, kind, 0.6 if kind == "overview" else 0.8)
    ncol = max(1, int(map_w // (7.0 if kind == "corridor" else 3.6)))
    legend_h = 0.25 + 0.155 * math.ceil(len(entries) / ncol)
    credits = _pack(CREDITS, int(map_w * 24))
    top, credits_h = 0.55, 0.14 + 0.12 * len(credits)
    total_h = top + map_h + 0.15 + legend_h + credits_h
    fig.set_size_inches(width, total_h)
    ax.set_position((0.2 / width, (credits_h + legend_h + 0.15) / total_h, map_w / width, map_h / total_h))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")  # geopandas names the axes after the CRS
    ax.set_ylabel("")
    for sp in ax.spines.values():
        sp.set_color("#888888")
        sp.set_linewidth(0.6)
    ax.apply_aspect()  # the final axes box, so text extents are measured where they will be drawn
    reserved = _draw_scale_bar(ax, box)
    if labels:
        _draw_labels(ax, fig, box, zoom, shapely.union_all(rows.geometry.values), reserved)
        if kind == "corridor":
            _draw_section_ids(ax, rows)
    t = fig.text(0.2 / width, 1 - 0.18 / total_h, title, fontsize=13, fontweight="bold", va="top", color=style.INK)
    t.set_parse_math(False)
    _legend(fig, (0.2 / width, credits_h / total_h, map_w / width, legend_h / total_h), entries, ncol)
    for i, line in enumerate(credits):
        c = fig.text(0.2 / width, (credits_h - 0.12 - 0.12 * i) / total_h, line, fontsize=5.8, color="#555555",
                     va="center")
        c.set_parse_math(False)
    return fig


def _format(path: Path, fmt: str | None) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if fmt is None:
        if suffix not in FORMATS:
            raise FigureError(f"cannot tell the format from {path.name!r}; end the file name in .png, .svg or "
                              ".pdf, or pass format=")
        return suffix
    fmt = str(fmt).lower()
    if fmt not in FORMATS:
        raise FigureError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if suffix and suffix != fmt:
        raise FigureError(f"the file name {path.name!r} does not end in .{fmt}; rename it or change the format")
    return fmt


def _check_dpi(dpi: Any) -> None:
    if isinstance(dpi, bool) or not (isinstance(dpi, int) and 50 <= dpi <= 1200):
        raise FigureError(f"dpi must be a whole number from 50 to 1200, got {dpi!r}")


def render(fig: Figure, fmt: str, dpi: int = 200) -> bytes:
    """The figure as PNG, SVG or PDF bytes, identical for identical input."""
    mpl = _matplotlib()
    if fmt not in FORMATS:
        raise FigureError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    _check_dpi(dpi)
    buf = io.BytesIO()
    with mpl.rc_context(_RC):
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=_METADATA[fmt], facecolor="white")
    return buf.getvalue()


def export(path: str | os.PathLike[str], routes: Any = None, *, corridor: Any = None, format: str | None = None,
           dpi: int = 200, **kwargs: Any) -> Path:
    """Write a figure (``make_figure(routes, corridor=..., **kwargs)``) to ``path`` as png, svg or pdf.

    The format comes from the file name unless ``format`` is given; the file appears whole or not at all.
    """
    p = Path(path)
    fmt = _format(p, format)
    _check_dpi(dpi)
    if p.suffix == "":
        p = p.with_suffix("." + fmt)
    if p.parent and not p.parent.is_dir():
        raise FigureError(f"folder {str(p.parent)!r} does not exist; create it first")
    fig = make_figure(routes, corridor=corridor, **kwargs)
    payload = render(fig, fmt, dpi)
    write_atomic(p, payload)
    return p
