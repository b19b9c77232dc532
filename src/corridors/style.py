"""Cartographic style shared by the interactive maps and the static figures: colours, line patterns, labels.

One source of truth so a corridor looks the same in a browser, in a PNG and in grey print.

- ``PALETTE``: one colour per CAREC corridor. Chosen so every pair stays distinguishable (CIEDE2000 ΔE ≥ 20)
  with normal vision and under simulated protanopia, deuteranopia and tritanopia (Machado et al. 2009,
  severity 100), and each colour stands ≥ 25 ΔE off the land, sea and white backgrounds under all four views.
  Hues follow the Okabe–Ito / Paul Tol qualitative palettes (blue, vermilion-red, bluish green, reddish purple,
  orange, wine); their published values cannot reach ΔE 20 for six colours under all three simulations while
  staying visible on pale land, so each was moved to the nearest grid colour (sRGB steps of 15) that maximises
  the smallest pairwise ΔE (23.1). ``tests/test_style.py`` checks the thresholds.
- ``DASHES``: one SVG ``stroke-dasharray`` per corridor (solid, dash, dash-dot ...), so corridors stay apart in
  grey print. Lengths are pixels at ``LINE_WEIGHT``; ``dash_array`` scales them to another weight and
  ``mpl_linestyle`` converts them for matplotlib.
- Key routes are a translucent casing under the corridor lines (never a black line on top), ferry legs are
  dotted, schematic pieces (straight geodesics off the network, inferred sections) are thin and translucent.

Style dicts use Leaflet path-option names (``color``, ``weight``, ``opacity``, ``dashArray``, ``lineCap``) so
they go straight into folium; the figures module reads the same keys.
"""

from __future__ import annotations

import functools
import html
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely
from pyproj import Geod

CORRIDORS = ("1", "2", "3", "4", "5", "6")
CAREC_MEMBERS = ("AFG", "AZE", "CHN", "GEO", "KAZ", "KGZ", "MNG", "PAK", "TJK", "TKM", "UZB")  # tinted on maps

PALETTE: dict[str, str] = {
    "1": "#003C87",  # dark blue      (Okabe–Ito blue)
    "2": "#C3000F",  # red            (Okabe–Ito vermilion / Tol red)
    "3": "#009678",  # bluish green   (Okabe–Ito bluish green)
    "4": "#9678C3",  # lilac          (Okabe–Ito reddish purple / Tol purple)
    "5": "#FFB400",  # amber          (Okabe–Ito orange)
    "6": "#5A001E",  # wine           (Tol wine)
}

LINE_WEIGHT = 4.0  # px, the weight the dash lengths below are designed for

DASHES: dict[str, str | None] = {
    "1": None,                 # solid
    "2": "14 6",               # long dash
    "3": "6 5",                # short dash
    "4": "14 4 3 4",           # dash-dot
    "5": "14 4 3 4 3 4",       # dash-dot-dot
    "6": "22 4 8 4",           # long-short
}

CORRIDOR_NAMES: dict[str, str] = {  # CAREC's own names (geodata/network/corridor_N.toml)
    "1": "Europe–East Asia",
    "2": "Europe–Mediterranean–East Asia",
    "3": "Russian Federation–Middle East and South Asia",
    "4": "Russian Federation–East Asia",
    "5": "East Asia–Middle East and South Asia",
    "6": "Europe–Middle East and South Asia",
}

INK = "#222222"          # text, outlines
USER_COLOR = "#E6007E"   # a single user route; several get the palette (``user_style``)
FERRY_DASH = "1 7"       # dots (with round caps): reads as a sea passage, unlike every corridor pattern
FERRY: dict[str, Any] = {"dashArray": FERRY_DASH, "lineCap": "round"}
SCHEMATIC: dict[str, Any] = {"opacity": 0.55, "weight": 2.5}
KEY_ROUTE_CASING: dict[str, Any] = {"color": INK, "weight": 11, "opacity": 0.22, "lineCap": "round",
                                    "lineJoin": "round"}
KEY_ROUTE_LINE: dict[str, Any] = {"color": INK, "weight": 2.0, "opacity": 0.9}  # key route in no corridor

# Leaflet CircleMarker options per node kind.
NODE_STYLES: dict[str, dict[str, Any]] = {
    "bcp": {"radius": 5, "color": INK, "weight": 2, "fillColor": "#FFFFFF", "fillOpacity": 1, "fill": True},
    "port": {"radius": 6, "color": "#FFFFFF", "weight": 1.5, "fillColor": "#0B4F8A", "fillOpacity": 1, "fill": True},
    "city": {"radius": 4, "color": "#FFFFFF", "weight": 1.5, "fillColor": "#333333", "fillOpacity": 1, "fill": True},
    "waypoint": {"radius": 3, "color": "#FFFFFF", "weight": 1, "fillColor": "#777777", "fillOpacity": 1,
                 "fill": True},
}
NODE_LABELS = {"bcp": "Border crossing point", "port": "Port", "city": "Town", "waypoint": "Waypoint"}

# Reference layers (geodata/basemap) and countries.
BASEMAP: dict[str, str] = {
    "land": "#F1EFE9",       # countries outside CAREC
    "member": "#FFFBEF",     # CAREC member countries
    "sea": "#CFE0EA",        # background outside all countries
    "water": "#BCD6E6",      # lakes, reservoirs, seas from the basemap
    "river": "#7FAACB",
    "border": "#8C8C8C",
    "country_label": "#6B6358",
    "city_label": "#333333",
    "halo": "#FFFFFF",
}

CREDITS: dict[str, str] = {
    "osm": "© OpenStreetMap contributors (ODbL)",
    "openmaptiles": "© OpenMapTiles",
    "naturalearth": "Natural Earth (public domain)",
}


def corridor_color(corridor: Any) -> str:
    """Palette colour of corridor 1..6 (int or str); ValueError naming the valid values otherwise."""
    return PALETTE[_corridor_key(corridor)]


def corridor_dash(corridor: Any) -> str | None:
    """SVG dasharray of corridor 1..6 at ``LINE_WEIGHT`` (None = solid)."""
    return DASHES[_corridor_key(corridor)]


def _corridor_key(corridor: Any) -> str:
    key = str(corridor).strip()
    if key not in PALETTE:
        raise ValueError(f"unknown corridor {corridor!r}; CAREC corridors are {', '.join(CORRIDORS)}")
    return key


def dash_array(dash: str | None, weight: float = LINE_WEIGHT) -> str | None:
    """``dash`` (pixels at ``LINE_WEIGHT``) scaled to a line of ``weight`` px, as an SVG dasharray string."""
    if dash is None:
        return None
    parts = _parse_dash(dash)
    k = weight / LINE_WEIGHT
    return " ".join(_fmt(p * k) for p in parts)


def mpl_linestyle(dash: str | None) -> str | tuple[float, tuple[float, ...]]:
    """matplotlib ``linestyle`` for an SVG dasharray designed at ``LINE_WEIGHT``.

    matplotlib scales dash patterns by the line width (``lines.scale_dashes``), so the pattern is expressed
    in line widths and keeps its look at any width.
    """
    if dash is None:
        return "solid"
    return (0.0, tuple(round(p / LINE_WEIGHT, 4) for p in _parse_dash(dash)))


def _parse_dash(dash: str) -> list[float]:
    try:
        parts = [float(p) for p in re.split(r"[\s,]+", dash.strip())]
    except ValueError:
        raise ValueError(f"dash pattern {dash!r} must be numbers separated by spaces, e.g. '14 6'") from None
    if not parts or any(p < 0 or not math.isfinite(p) for p in parts) or sum(parts) == 0:
        raise ValueError(f"dash pattern {dash!r} must hold non-negative lengths with a positive sum")
    return parts


def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def line_style(corridor: Any = None, *, weight: float = LINE_WEIGHT, ferry: bool = False,
               schematic: bool = False) -> dict[str, Any]:
    """Leaflet path options for a line of corridor 1..6 (or None: a key route outside any corridor).

    ``ferry`` gives the dotted sea-passage pattern; ``schematic`` the thin translucent look of pieces that are
    not traced (geodesics off the network, inferred sections). The corridor keeps its colour either way.
    """
    if corridor is None or (isinstance(corridor, float) and math.isnan(corridor)):
        st: dict[str, Any] = {**KEY_ROUTE_LINE}
        dash = None
    else:
        st = {"color": corridor_color(corridor), "weight": weight, "opacity": 0.95}
        dash = corridor_dash(corridor)
    if schematic:
        st.update(SCHEMATIC)
    if ferry:
        st.update(FERRY)
        dash = FERRY_DASH
        st["dashArray"] = dash_array(dash, st["weight"])
    elif dash is not None:
        st["dashArray"] = dash_array(dash, st["weight"])
    st.setdefault("lineCap", "butt" if st.get("dashArray") else "round")
    st.setdefault("lineJoin", "round")
    return st


def key_route_style(weight: float = LINE_WEIGHT) -> dict[str, Any]:
    """Casing drawn *under* a key route's corridor line: a translucent band ``weight`` + 7 px wide."""
    return {**KEY_ROUTE_CASING, "weight": weight + 7}


def user_style(index: int, count: int = 1) -> dict[str, Any]:
    """Style of the ``index``-th of ``count`` user routes: magenta when alone, else the palette and patterns."""
    if count <= 1:
        return {"color": USER_COLOR, "weight": LINE_WEIGHT, "opacity": 0.95, "lineCap": "round",
                "lineJoin": "round"}
    key = CORRIDORS[index % len(CORRIDORS)]
    return line_style(key)


def legend_entries(corridors: Any = CORRIDORS) -> list[dict[str, Any]]:
    """Legend rows for the given corridors: label, colour, dash (at ``LINE_WEIGHT``)."""
    return [{"label": f"Corridor {c}: {CORRIDOR_NAMES[c]}", "short": f"Corridor {c}", "color": PALETTE[c],
             "dash": DASHES[c]} for c in (_corridor_key(c) for c in corridors)]


def swatch_svg(st: Mapping[str, Any], width: int = 30, height: int = 12,
               casing: Mapping[str, Any] | None = None) -> str:
    """A legend swatch drawn exactly like the line: colour, weight, opacity, dash pattern, cap (and the casing
    under it, if given), as an inline ``<svg>`` string."""
    def line(s: Mapping[str, Any]) -> str:
        attrs = {"stroke": s.get("color", INK), "stroke-width": _fmt(float(s.get("weight", LINE_WEIGHT))),
                 "stroke-opacity": _fmt(float(s.get("opacity", 1.0))), "stroke-linecap": s.get("lineCap", "round")}
        if s.get("dashArray"):
            attrs["stroke-dasharray"] = s["dashArray"]
        text = " ".join(f'{k}="{html.escape(str(v), quote=True)}"' for k, v in attrs.items())
        pad = float(s.get("weight", LINE_WEIGHT)) / 2 if attrs["stroke-linecap"] == "round" else 0.0
        return (f'<line x1="{_fmt(1 + pad)}" y1="{height / 2:g}" x2="{_fmt(width - 1 - pad)}" '
                f'y2="{height / 2:g}" {text}/>')
    inner = (line(casing) if casing is not None else "") + line(st)
    return f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" aria-hidden="true">{inner}</svg>'


def _field(row: Any, key: str) -> Any:
    value = row.get(key) if isinstance(row, Mapping) or hasattr(row, "get") else getattr(row, key, None)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def label(section_row: Any, max_chars: int | None = None) -> str:
    """Human label of a section or key route row (Series, dict, GeoJSON properties).

    Sections read "Corridor 1 · Aktogay – Dostyk/Alashankou – Urumqi" (the name lists the main via-points);
    key routes keep their name. With ``max_chars`` the via-points are cut to first – … – last so the label
    fits on a map. Rows without a name fall back to the id, then "Route".
    """
    name = _field(section_row, "name")
    rid = _field(section_row, "id")
    text = str(name).strip() if name else (str(rid) if rid is not None else "Route")
    corridor = _field(section_row, "corridor")
    prefix = ""
    if _field(section_row, "kind") == "section" and corridor is not None and str(corridor) in PALETTE:
        prefix = f"Corridor {corridor} · "
    if max_chars is not None and len(prefix) + len(text) > max_chars:
        text = _shorten(text, max(max_chars - len(prefix), 8))
    return prefix + text


def _shorten(name: str, max_chars: int) -> str:
    """'A – B – C – D (rail)' -> 'A – … – D (rail)'; plain truncation with '…' when that is still too long."""
    suffix = ""
    m = re.search(r"\s*\([^()]*\)$", name)
    if m:
        name, suffix = name[:m.start()], m.group(0)
    parts = re.split(r"\s+[–~]\s+", name)
    if len(parts) > 2:
        name = f"{parts[0]} – … – {parts[-1]}"
    text = name + suffix
    return text if len(text) <= max_chars else text[:max_chars - 1].rstrip() + "…"


@functools.cache
def _node_xy() -> dict[str, tuple[float, float]]:
    from . import data

    n = data.nodes()
    return {i: (g.x, g.y) for i, g in zip(n["id"], n.geometry)}


def leg_runs(section_row: Any) -> list[tuple[shapely.LineString, bool]]:
    """A section's line cut into runs of land legs and ferry legs: ``[(line, is_ferry), ...]`` in order.

    Uses the row's ``nodes`` and ``leg_modes``, cut at ``node_km`` where the section is traced on the network
    (else the node points are vertices of the line). A row without
    them (your own line) or with no ferry leg comes back whole, as ``[(line, False)]``.
    """
    geom = _field(section_row, "geometry")
    nodes, modes = _field(section_row, "nodes"), _field(section_row, "leg_modes")
    if geom is None or geom.geom_type != "LineString" or not nodes or not modes or "ferry" not in list(modes):
        return [(geom, False)]
    coords = np.asarray(geom.coords)[:, :2]
    node_km = _field(section_row, "node_km")
    if node_km is not None and len(node_km) == len(nodes):  # traced on the network: cut at each node's km
        from . import geodesy

        cum = np.r_[0.0, np.cumsum(geodesy.segment_lengths_m(coords[:, 0], coords[:, 1]) / 1000.0)]
        scale = cum[-1] / float(node_km[-1]) if float(node_km[-1]) else 1.0
        idx = np.minimum(np.searchsorted(cum, np.asarray(node_km, dtype=float) * scale - 1e-9), len(coords) - 1)
        idx = np.maximum.accumulate(idx).tolist()
    else:  # node points are vertices of the line
        xy, idx, start = _node_xy(), [], 0
        for nid in nodes:  # walk forward: a section may pass the same place twice
            if nid not in xy:
                return [(geom, False)]
            d = np.abs(coords[start:] - np.asarray(xy[nid])).max(axis=1)
            hits = np.flatnonzero(d < 1e-4)
            if not len(hits):
                return [(geom, False)]
            start += int(hits[0])
            idx.append(start)
    runs: list[tuple[shapely.LineString, bool]] = []
    i = 0
    while i < len(modes):
        ferry = modes[i] == "ferry"
        j = i
        while j + 1 < len(modes) and (modes[j + 1] == "ferry") == ferry:
            j += 1
        piece = coords[idx[i]:idx[j + 1] + 1]
        if len(piece) >= 2:
            runs.append((shapely.LineString(piece), ferry))
        i = j + 1
    return runs


# ---------------------------------------------------------------- cutting lines for drawing

_GEOD = Geod(ellps="WGS84")
OFF_NETWORK = ("geodesic", "join")  # route() segments drawn schematic: no road or railway under them


def alignment_runs(geom: shapely.Geometry, alignment: Any) -> list[tuple[shapely.Geometry, bool, bool]]:
    """A traced section cut into its ``alignment`` pieces (traced / schematic / ferry, each with its ``km``, in
    order): [(piece, is_ferry, is_schematic), ...], cut at the vertex nearest each piece's end (km scaled to the
    drawn line). Anything unexpected: the line whole, neither ferry nor schematic."""
    try:
        pieces = json.loads(alignment) if isinstance(alignment, str) else list(alignment)
        if geom.geom_type != "LineString" or len(pieces) < 2:
            kind = pieces[0]["alignment"] if pieces else "traced"
            return [(geom, kind == "ferry", kind == "schematic")]
        xy = np.asarray(geom.coords)[:, :2]
        km = np.concatenate([[0.0], np.cumsum(_GEOD.line_lengths(xy[:, 0], xy[:, 1])) / 1000])
        ends = np.cumsum([float(pc["km"]) for pc in pieces])
        ends *= km[-1] / ends[-1]
        cuts = [0, *np.searchsorted(km, ends[:-1]).tolist(), len(xy) - 1]
        runs = []
        for pc, i0, i1 in zip(pieces, cuts[:-1], cuts[1:]):
            if i1 > i0:
                kind = pc["alignment"]
                runs.append((shapely.LineString(xy[i0:i1 + 1]), kind == "ferry", kind == "schematic"))
    except (TypeError, ValueError, KeyError, AttributeError, IndexError):
        return [(geom, False, False)]
    return runs or [(geom, False, False)]


def geodesic_runs(geom: shapely.Geometry, segments: Any) -> list[tuple[shapely.Geometry, bool]]:
    """A routed line (``corridors.route``) cut where it left the network: [(piece, is_geodesic), ...].
    ``segments`` (a list, or its JSON text from ``io.to_frame``) give ``start_km``/``end_km`` from the start;
    vertices are matched by their cumulative geodesic distance. Anything unexpected: the line whole."""
    try:
        segs = json.loads(segments) if isinstance(segments, str) else list(segments)
        if geom.geom_type != "LineString" or not any(s.get("kind") in OFF_NETWORK for s in segs):
            return [(geom, False)]
        xy = np.asarray(geom.coords)[:, :2]
        km = np.concatenate([[0.0], np.cumsum(_GEOD.line_lengths(xy[:, 0], xy[:, 1])) / 1000])
        runs = []
        for s in segs:
            i0, i1 = (int(np.argmin(np.abs(km - float(s[k])))) for k in ("start_km", "end_km"))
            if i1 > i0:
                runs.append((shapely.LineString(xy[i0:i1 + 1]), s.get("kind") in OFF_NETWORK))
    except (TypeError, ValueError, KeyError, AttributeError):
        return [(geom, False)]
    return runs or [(geom, False)]
