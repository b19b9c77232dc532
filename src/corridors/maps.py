"""Interactive Leaflet maps written as plain HTML: ``make_map`` (any routes) and the pieces it is made of.

A map is a *spec*, a plain JSON-able dict (title, layers of features with their figures as properties, legend,
panels of structured text), and one small browser program (``static/corridors.js``) that draws it: popups,
tooltips, legend, search, measure and download are built in the browser with ``textContent``, never from
markup. ``page(spec)`` writes the standalone HTML: Leaflet, the CSS and the program inlined, the spec embedded
once as JSON in a ``<script type="application/json">`` block with ``<``, ``>`` and ``&`` escaped, so no text
can close the block. No template engine ever sees a user's text (see ``to_folium`` for the folium wrapper).

Geometry is quantised (1e-4° for routes, 1e-2° for the reference layers), delta-encoded and written as
encoded-polyline strings, decoded in the browser. Same inputs give byte-identical pages.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import analysis, basemap, data, style

Rich = Any  # structured text: str | list[Rich] | {"b"|"i"|"small"|"p"|"h5"|"div"|"span"|"ul"|"table"|"a": ...}

COLORS = style.PALETTE  # colour-blind-safe, one dash pattern each (style.DASHES): apart in grey print too
DASHES = style.DASHES
KEY_COLOR, USER_COLOR = style.INK, style.USER_COLOR
ROUTE_WEIGHT = style.LINE_WEIGHT
GROUPS = ("1", "2", "3", "4", "5", "6", "key", "user")
LINE_TOLERANCE, COUNTRY_TOLERANCE = 0.007, 0.04  # degrees, for display only (the traced lines fit 350 KB)
# quantisation: 1e-4 degree (~10 m) for routes (they are drawn simplified at ~500 m), 1e-2 for the reference layers
LINE_SCALE, BASE_SCALE = 10_000, 100
SHARED_TOLERANCE = 0.02  # degrees: a vertex this close to another corridor's line shares its stretch
DISPLAY_BOUNDS = (25.0, 12.0, 125.0, 60.0)  # lon/lat frame of the reference layers (the CAREC region)
DISPLAY_BOX = shapely.box(*DISPLAY_BOUNDS)
CAREC_MEMBERS = style.CAREC_MEMBERS
BM = style.BASEMAP
LAND_COLOR, MEMBER_COLOR, SEA_COLOR, BORDER_COLOR = BM["land"], BM["member"], BM["sea"], BM["border"]
NODE_STYLE = style.NODE_STYLES
NODE_LABEL = style.NODE_LABELS
NOTE = "Lines join sourced places along the geodesic: schematic, not surveyed alignments."
CREDITS = [f"Boundaries: {style.CREDITS['naturalearth']}",
           f"Water, rivers, place names: {basemap.CREDIT} (ODbL)", "Routes: corridors (sources in each popup)"]
UNCONFIRMED = "still unconfirmed"  # verdict of shared/reference/corridor_definitions.md: name suffixed, white core
UNCONFIRMED_CORE: dict[str, Any] = {"color": "#FFFFFF", "weight": 1.5, "opacity": 1, "dashArray": None}
OSM_TILES = {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "opacity": 0.6, "maxZoom": 19,
             "attribution": "Basemap © OpenStreetMap contributors"}


# ---------------------------------------------------------------- small helpers

def _get(row: Mapping[str, Any], key: str, default: Any = None) -> Any:
    v = row.get(key, default)
    return default if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _column(rows: pd.DataFrame, name: str) -> list[Any]:
    return rows[name].tolist() if name in rows else [None] * len(rows)


def km_text(v: float) -> str:
    """'7.5 km', '1,234 km'."""
    return f"{v:,.1f} km" if abs(v) < 10 else f"{v:,.0f} km"


def link(url: Any, text: Any) -> Rich:
    """A link (the browser only makes http(s) URLs clickable; anything else shows as plain text)."""
    return {"a": _text(text), "href": _text(url)}


def sources(ids: Any, urls: Any) -> list[list[str]]:
    """[[source id, url], ...] from parallel lists (a single string is one source)."""
    ids = [ids] if isinstance(ids, str) else list(ids) if isinstance(ids, (list, tuple, np.ndarray)) else []
    urls = list(urls) if isinstance(urls, (list, tuple, np.ndarray)) else []
    return [[_text(s), _text(u)] for s, u in zip(ids, [*urls, *[""] * len(ids)])]


def _runs(values: Sequence[int]) -> list[int]:
    """Run-length code: [value, count, value, count, ...] (offsets are mostly one value along a whole part)."""
    out: list[int] = []
    for v in values:
        if out and out[-2] == v:
            out[-1] += 1
        else:
            out += [int(v), 1]
    return out


def _polyline(z: np.ndarray, nchars: np.ndarray) -> bytes:
    """Zigzagged integers ``z`` (``nchars`` characters each) as Google's encoded-polyline characters (5-bit
    chunks, ASCII 63..126), vectorised: a small delta takes one character instead of its digits and a comma.
    Written chunk by chunk into one buffer, each round only over the integers that still have chunks left
    (most deltas take one character)."""
    out = np.empty(int(nchars.sum()), np.uint8)
    at = np.cumsum(nchars) - nchars  # where each integer's first character goes
    zu = z.astype(np.uint64)
    sel, k = np.arange(len(z)), 0
    while len(sel):
        more = nchars[sel] > k + 1
        chunk = (zu[sel] >> np.uint64(5 * k)) & np.uint64(31)
        out[at[sel] + k] = (chunk | np.where(more, np.uint64(32), np.uint64(0))) + np.uint64(63)
        sel, k = sel[more], k + 1
    return out.tobytes()


def encode(geoms: Sequence[shapely.Geometry] | np.ndarray, scale: int = LINE_SCALE) -> list[list[str]]:
    """Each (multi)line or polygon as a list of parts/rings, each an encoded-polyline string of the quantised,
    delta-encoded ``lon, lat`` integers (``round(v * scale)``), decoded by ``corridors.js``. Vectorised."""
    geoms = np.asarray(geoms, dtype=object)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    poly = shapely.get_type_id(parts) == 3
    if poly.any():
        rings, ring_owner = shapely.get_rings(parts[poly], return_index=True)
        parts = np.concatenate([parts[~poly], rings])
        owner = np.concatenate([owner[~poly], owner[poly][ring_owner]])
        order = np.argsort(owner, kind="stable")
        parts, owner = parts[order], owner[order]
    coords, part_of = shapely.get_coordinates(parts, return_index=True)
    out: list[list[str]] = [[] for _ in range(len(geoms))]
    if not len(coords):
        return out
    q = np.rint(coords * scale).astype(np.int64)
    d = np.diff(q, axis=0, prepend=np.zeros((1, 2), np.int64))
    starts = np.r_[0, np.flatnonzero(np.diff(part_of)) + 1]
    d[starts] = q[starts]
    flat = d.ravel()
    z = (flat << 1) ^ (flat >> 63)
    nchars = np.ones(len(flat), np.int64)
    for b in range(1, 13):
        nchars += z >= (1 << (5 * b))
    text = _polyline(z, nchars).decode("ascii")
    ends = np.cumsum(nchars)
    bounds = np.r_[0, ends[2 * np.r_[starts[1:], len(q)] - 1]].tolist()
    for o, i, j in zip(owner[part_of[starts]].tolist(), bounds[:-1], bounds[1:]):  # parts with coordinates
        out[o].append(text[i:j])
    return out


# ---------------------------------------------------------------- styles

def group_of(kind: Any, corridor: Any) -> str:
    """Layer of a route: its corridor '1'..'6', 'key' (key routes) or 'user' (anything else)."""
    if kind == "key_route":
        return "key"
    return str(corridor) if str(corridor) in COLORS else "user"


def group_label(group: str) -> str:
    return {"key": "Key routes", "user": "Routes"}.get(group, f"Corridor {group}")


def group_style(group: str) -> dict[str, Any]:
    """How a group's lines are drawn (the legend draws its swatch from the same dict): corridors in their
    colour and dash pattern, key routes as a translucent casing *under* them, the user's routes magenta."""
    if group == "key":  # drawn with a thin core line (style.KEY_ROUTE_LINE) in the same pane
        k = style.KEY_ROUTE_LINE
        return {**style.key_route_style(ROUTE_WEIGHT), "casing": True, "coreColor": k["color"],
                "coreWeight": k["weight"], "coreOpacity": k["opacity"]}
    if group in COLORS:
        return style.line_style(group, weight=ROUTE_WEIGHT)
    return style.user_style(0, 1)


# ---------------------------------------------------------------- route features

def _drawn_once(groups: Sequence[str], pieces: list[list[tuple[shapely.Geometry, bool, bool]]],
                ) -> list[list[tuple[shapely.Geometry, bool, bool]]]:
    """A stretch shared by sections of one corridor is drawn by the first of them only (overlaid dash patterns
    would blur into a solid line); a section wholly inside earlier ones keeps its line. Multi-part results
    become single lines. Worked out per corridor and remembered by content (``_remembered``): the overview,
    the corridor's own page and the Kazakhstan page draw the same sections in the same order."""
    out = list(pieces)
    for g in dict.fromkeys(groups):
        if g not in COLORS:
            continue
        rows = [i for i, gg in enumerate(groups) if gg == g]
        mine = [pieces[i] for i in rows]
        flat = [p for ps in mine for p in ps]
        wkb = shapely.to_wkb(np.asarray([geom for geom, _, _ in flat], dtype=object), output_dimension=3)
        key = _digest("drawn-once", [len(ps) for ps in mine], [[f, geo] for _, f, geo in flat], *wkb)
        for i, ps in zip(rows, _remembered(key, functools.partial(_drawn_once_group, mine))):
            out[i] = ps
    return out


def _drawn_once_group(pieces: list[list[tuple[shapely.Geometry, bool, bool]]],
                      ) -> list[list[tuple[shapely.Geometry, bool, bool]]]:
    """``_drawn_once`` for the rows of one corridor, in order."""
    seen: shapely.Geometry | None = None
    out = []
    for ps in pieces:
        mine: list[tuple[shapely.Geometry, bool, bool]] = []
        for geom, ferry, geo in ps:
            rest = shapely.difference(geom, seen) if seen is not None else geom
            parts = [p for p in shapely.get_parts(shapely.line_merge(rest)) if p.length > 0]
            mine += [(p, ferry, geo) for p in parts]
        union = shapely.union_all([geom for geom, _, _ in ps])
        seen = shapely.union(seen, union) if seen is not None else union
        out.append(mine or ps)
    return out


_MEMO: dict[bytes, Any] = {}
MEMO_ITEMS = 256  # results kept per process (the curated set needs ~60)


def _digest(*parts: Any) -> bytes:
    """A content key: bytes as they are, anything else as its JSON text."""
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        b = part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=str).encode()
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.digest()


def _remembered(key: bytes, make: Any) -> Any:
    """``make()``, computed once per content ``key`` while the process lives (the oldest forgotten first).
    Geometries are immutable, so sharing the result between maps is safe."""
    if key not in _MEMO:
        if len(_MEMO) >= MEMO_ITEMS:
            del _MEMO[next(iter(_MEMO))]
        _MEMO[key] = make()
    return _MEMO[key]


def _alignment_runs(geom: shapely.Geometry, align: Any) -> list[tuple[shapely.Geometry, bool, bool]]:
    """``style.alignment_runs``, remembered by content (the same traced section is cut the same on every map)."""
    try:
        key = _digest("alignment", shapely.to_wkb(geom, output_dimension=3), align)
    except (TypeError, ValueError):
        return style.alignment_runs(geom, align)
    return list(_remembered(key, functools.partial(style.alignment_runs, geom, align)))


def _shared_offsets(groups: Sequence[str], lines: Sequence[shapely.Geometry]) -> list[list[int]]:
    """Per vertex, twice the slot of the route's corridor among the corridors running along it there
    (0 where it runs alone), so shared stretches are drawn side by side and each stays visible and clickable."""
    corr = [g for g in GROUPS if g in COLORS and g in groups]
    unions = {g: shapely.union_all([ln for gg, ln in zip(groups, lines) if gg == g]) for g in corr}
    for u in unions.values():
        shapely.prepare(u)
    out: list[list[int]] = []
    for g, line in zip(groups, lines):
        if g not in COLORS:
            out.append([])
            continue
        pts = shapely.points(shapely.get_coordinates(line))
        near = {}
        for o in corr:
            if o == g:
                continue
            hit = shapely.dwithin(unions[o], pts, SHARED_TOLERANCE)
            nb = np.zeros_like(hit)  # a crossing touches one vertex; a shared stretch at least two in a row
            nb[1:] |= hit[:-1]
            nb[:-1] |= hit[1:]
            near[o] = hit & nb
        # slot among [g, *corridors near here] in GROUPS order, centred: 2 * (those before g) - (those near)
        before = sum((near[o].astype(np.int64) for o in near if GROUPS.index(o) < GROUPS.index(g)),
                     np.zeros(len(pts), np.int64))
        total = sum((near[o].astype(np.int64) for o in near), np.zeros(len(pts), np.int64))
        offs = (2 * before - total).tolist()
        out.append(offs if any(offs) else [])
    return out


def route_features(rows: gpd.GeoDataFrame, results: Sequence[analysis.RouteAnalysis],
                   notes: Mapping[str, Rich] | None = None, *, side_by_side: bool = True) -> list[dict[str, Any]]:
    """Features ``{"p": properties, "g": encoded parts, "f": ferry flag per part, "o": offsets per part}``
    (offsets per vertex, run-length coded as value, count, value, count ...).

    Properties are data (numbers and plain strings): the browser builds tooltips and popups from them.
    ``notes`` maps a route id to structured text shown at the top of its popup.
    """
    notes = notes or {}
    n = len(rows)
    geoms = np.asarray(rows.geometry.values, dtype=object).tolist()  # one array, not a lookup per row
    kinds, corrs, ids, names = (_column(rows, c) for c in ("kind", "corridor", "id", "name"))
    groups = [group_of(k, c) for k, c in zip(kinds, corrs)]
    user = [i for i, g in enumerate(groups) if g == "user"]
    col: dict[str, list[Any]] = {c: _column(rows, c) for c in ("mode", "basis", "confidence", "nodes", "leg_modes",
                                                               "sources", "source_urls", "note", "notes",
                                                               "description", "alignment", "segments")}
    col["grade"], col["verdict"] = _column(rows, "grade_detail"), _column(rows, "verdict")
    pieces: list[list[tuple[shapely.Geometry, bool, bool]]] = []
    for i in range(n):  # ferry legs (drawn dotted) and routed pieces off the network (schematic): own pieces
        modes, segs, align = col["leg_modes"][i], col["segments"][i], col["alignment"][i]
        if isinstance(align, (list, tuple, np.ndarray)) and len(align):  # traced on the road and rail network
            pieces.append(_alignment_runs(geoms[i], align))
        elif isinstance(modes, (list, tuple, np.ndarray)) and "ferry" in list(modes):
            runs = style.leg_runs({"geometry": geoms[i], "nodes": col["nodes"][i], "leg_modes": modes})
            pieces.append([(g, f, False) for g, f in runs])
        elif segs is not None and any(k in str(segs) for k in style.OFF_NETWORK):
            pieces.append([(g, False, geo) for g, geo in style.geodesic_runs(geoms[i], segs)])
        else:
            pieces.append([(geoms[i], False, False)])
    pieces = _drawn_once(groups, pieces)
    flat = list(shapely.simplify(np.asarray([p for ps in pieces for p, _, _ in ps], dtype=object), LINE_TOLERANCE,
                                 preserve_topology=False))
    enc = encode(flat)
    offsets = _shared_offsets([g for g, ps in zip(groups, pieces) for _ in ps], flat) \
        if side_by_side and len(user) < n else None
    feats: list[dict[str, Any]] = []
    k = 0
    note_cols = [c for c in ("note", "notes") if c in rows]
    for i, a in enumerate(results):
        rid, g = _text(ids[i] if ids[i] is not None else a.id), groups[i]
        p: dict[str, Any] = {
            "id": rid, "name": _text(names[i] if names[i] is not None else a.name or "route"), "group": g,
            "km": round(a.length_km, 3), "mode": _text(col["mode"][i] or a.mode or ""),
            "by_country": [[c, round(v, 3)] for c, v in a.length_by_country_km.items()],
            "crossings": [[c["from"], c["to"], None if c["km"] is None else round(c["km"], 3), _text(c.get("bcp")),
                           c["via"]] for c in a.crossings]}
        if len(a.length_by_mode_km) > 1:
            p["by_mode"] = [[m, round(v, 3)] for m, v in a.length_by_mode_km.items()]
        if corrs[i] is not None and _text(corrs[i]):
            p["corridor"] = _text(corrs[i])
        if kinds[i] == "key_route":
            p["key"] = 1
        for c in ("basis", "confidence"):
            if col[c][i] is not None and _text(col[c][i]):
                p[c] = _text(col[c][i])
        if p.get("basis") == "inferred":
            p["schematic"] = 1
        if col["grade"][i] is not None and _text(col["grade"][i]):  # corridor_definitions.md: grade and verdict
            p["grade"] = f"{_text(col['grade'][i])} · {_text(col['verdict'][i])}"
            if col["verdict"][i] == UNCONFIRMED:  # drawn full width with a white core, not thin and pale
                p["name"] += " (unconfirmed)"
                p["unconfirmed"] = 1
                p.pop("schematic", None)
        src = sources(col["sources"][i], col["source_urls"][i]) if col["sources"][i] is not None else []
        if src:
            p["sources"] = src
        note = notes.get(rid) if rid in notes else next(
            (_text(col[c][i]) for c in note_cols if g == "user" and col[c][i] is not None), None) if note_cols \
            else None
        if note:
            p["note"] = note
        ps = pieces[i]
        if offsets is None and len(ps) == 1 and not ps[0][1] and not ps[0][2]:  # most lines: one plain piece
            feats.append({"p": p, "g": enc[k]})
            k += 1
            continue
        f: dict[str, Any] = {"p": p, "g": []}
        fl, sch, off = [], [], []
        has_f = has_s = has_o = False  # flags kept only where set (most lines: one plain piece)
        for _, ferry, geodesic in ps:
            m = len(enc[k])
            f["g"] += enc[k]
            fl += [int(ferry)] * m
            sch += [int(geodesic)] * m
            has_f, has_s = has_f or (bool(ferry) and m > 0), has_s or (bool(geodesic) and m > 0)
            if offsets is not None:
                off.append(_runs(offsets[k]))
                has_o = has_o or any(off[-1])
            k += 1
        if has_f:
            f["f"] = fl
        if has_s:
            f["s"] = sch
        if has_o:
            f["o"] = off
        feats.append(f)
    if len(user) > 1:  # the user's own routes: one colour and pattern each, named in their popups
        cycle = [style.user_style(j, len(user)) for j in range(min(len(user), len(COLORS)))]
        for j, i in enumerate(user):
            st = cycle[j % len(cycle)]
            feats[i]["p"]["color"] = st["color"]
            if st.get("dashArray"):
                feats[i]["p"]["dash"] = st["dashArray"]
    return feats


def route_layers(rows: gpd.GeoDataFrame, results: Sequence[analysis.RouteAnalysis],
                 notes: Mapping[str, Rich] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One toggleable layer per corridor (then key routes, then the user's routes) and their legend entries."""
    with analysis.gc_paused():  # 10^5 feature dicts: 2.3x faster at 3 * 10^4 lines
        feats = route_features(rows, results, notes)
    by: dict[str, list[dict[str, Any]]] = {}
    for f in feats:
        by.setdefault(f["p"]["group"], []).append(f)
    layers, legend = [], []
    for g in sorted(by, key=GROUPS.index):
        st = group_style(g)
        layers.append({"type": "routes", "name": group_label(g), "group": g, "style": st, "features": by[g]})
        if g == "user" and len(by[g]) > 1:  # each user route its own colour and pattern: named in the legend
            if len(by[g]) <= 8:
                legend += [{"kind": "line", "label": style.label({"name": f["p"]["name"]}, max_chars=30),
                            **st, "color": f["p"]["color"], "dashArray": f["p"].get("dash")} for f in by[g]]
            else:
                legend.append({"kind": "line", "label": f"{len(by[g]):,} routes: colours and patterns cycle, "
                               "names in the popups", **st})
            continue
        legend.append({"kind": "line", "label": group_label(g).removesuffix("s"), **st})
    if any(f["p"].get("unconfirmed") for f in feats):
        legend.append({"kind": "line", "label": "white core: definition unconfirmed", "casing": 1, "color": "#555555",
                       "weight": ROUTE_WEIGHT, "opacity": 0.95, "coreColor": UNCONFIRMED_CORE["color"],
                       "coreWeight": UNCONFIRMED_CORE["weight"], "coreOpacity": 1})
    if any(f["p"].get("schematic") or "s" in f for f in feats):
        legend.append({"kind": "line", "label": "thin, pale: schematic / inferred", "color": "#555555",
                       **style.SCHEMATIC})
    if any("f" in f for f in feats):
        legend.append({"kind": "line", "label": "dotted: ferry leg", "color": "#555555", "weight": ROUTE_WEIGHT,
                       "opacity": 0.95, **style.FERRY})
    return layers, legend


def section_labels(rows: gpd.GeoDataFrame, avoid: Sequence[shapely.Point] = ()) -> dict[str, Any]:
    """A label per route (its name, then its id) where it is farthest from the other labels and the nodes."""
    placed: list[shapely.Point] = []
    labels = []
    for rid, name, geom in zip(_column(rows, "id"), _column(rows, "name"), rows.geometry):
        name = style.label({"name": name, "id": rid}, max_chars=34) if name or rid else ""
        spots = [geom.interpolate(f, normalized=True) for f in (0.5, 0.35, 0.65, 0.2, 0.8, 0.42, 0.58)]
        p = max(spots, key=lambda q: min((q.distance(o) for o in [*placed, *avoid]), default=0.0))
        placed.append(p)
        text = _text(name) or _text(rid)
        labels.append({"ll": [round(p.y, 5), round(p.x, 5)], "text": text, "sub": _text(rid) if name else "",
                       "cls": "above"})  # above the line, not on it
    return {"type": "labels", "name": "Section labels", "labels": labels}


# ---------------------------------------------------------------- nodes

@functools.cache
def _users() -> dict[str, str]:
    """Section / key-route id -> 'Corridor N' or the key route's name."""
    s = data.sections()
    return {i: (f"Corridor {c}" if k == "section" and c else str(n))
            for i, k, c, n in zip(s["id"], s["kind"], s["corridor"], s["name"])}


def _used_by(ids: Sequence[str]) -> str:
    by: dict[str, list[str]] = {}
    users = _users()
    for i in ids:
        if i in users:
            by.setdefault(users[i], []).append(i)
    return "; ".join(f"{k} ({', '.join(v)})" if k.startswith("Corridor ") else k for k, v in sorted(by.items()))


CPMM_SITE = "https://cpmm.carecprogram.org/"  # CPMM page URLs are sent without it (the browser adds it back)


def border_rows(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, list[Any]]]:
    """``timecost.bcp_records()`` as compact popup data per node id: ``rows`` [from, to, mode, hours, data year,
    USD, data year, fallback used (0/1)] (None where unknown; the browser writes the text) and ``src`` (the CPMM
    pages the figures were read on)."""
    out: dict[str, dict[str, list[Any]]] = {}
    for r in records:
        node = out.setdefault(r["bcp_id"], {"rows": [], "src": []})
        node["rows"].append([r["from"], r["to"], r["mode"], r["hours"], r["year"], r["usd"], r["usd_year"],
                             int(bool(r["fallback"] or r["usd_fallback"]))])
        for url in (r["source"], r["usd_source"]):
            short = url[len(CPMM_SITE):] if url and url.startswith(CPMM_SITE) else url
            if short and short not in node["src"]:
                node["src"].append(short)
    return out


def node_features(nodes: gpd.GeoDataFrame, where: Mapping[str, str] | None = None,
                  border: Mapping[str, dict[str, list[Any]]] | None = None) -> list[dict[str, Any]]:
    """Point features ``{"p": properties, "ll": [lat, lon]}``; ``where`` adds a position text per node id,
    ``border`` the time and cost to clear it (``border_rows``)."""
    out: list[dict[str, Any]] = []
    for row in nodes.drop(columns="geometry").to_dict("records"):
        p = {"id": row["id"], "name": _text(row["name"]), "kind": row["kind"],
             "kind_label": NODE_LABEL.get(row["kind"], _text(row["kind"])), "country": _text(row.get("country"))}
        for key, v in (("joins", " – ".join(_get(row, "joins", []) or [])),
                       ("alt", ", ".join(_get(row, "alt_names", []) or [])),
                       ("used_by", _used_by(list(_get(row, "sections", []) or []))),
                       ("coord_confidence", _text(row.get("coord_confidence"))), ("note", _text(row.get("note"))),
                       ("where", (where or {}).get(row["id"], ""))):
            if v:
                p[key] = v
        src = sources(_get(row, "sources", []), _get(row, "source_urls", []))
        if src:
            p["sources"] = src
        if border and row["id"] in border:
            p["cpmm"] = border[row["id"]]
        out.append({"p": p})
    for f, geom in zip(out, nodes.geometry):
        f["ll"] = [round(geom.y, 5), round(geom.x, 5)]
    return out


def node_layers(rows: gpd.GeoDataFrame, results: Sequence[analysis.RouteAnalysis], *,
                everything: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Border crossing points and ports on the routes (all of them with ``everything``), and legend entries."""
    used = set(_column(rows, "id")) - {None}
    used_bcps = {c["bcp_id"] for a in results for c in a.crossings if c.get("bcp_id")}
    layers, legend = [], []
    for kind, label in (("bcp", "Border crossing points"), ("port", "Ports")):
        feats = [f for f, secs in _node_features_of(kind)
                 if everything or used & secs or f["p"]["id"] in used_bcps]
        if feats:
            layers.append({"type": "nodes", "name": label, "style": NODE_STYLE[kind],
                           "features": json.loads(json.dumps(feats))})  # callers may edit their copy
            legend.append({"kind": "node", "label": NODE_LABEL[kind], **NODE_STYLE[kind]})
    return layers, legend


@functools.cache
def _node_features_of(kind: str) -> list[tuple[dict[str, Any], set[str]]]:
    """Every node of a kind as a feature (built once per process), with the sections that use it."""
    from . import timecost

    sel = data.nodes()
    sel = sel[sel["kind"] == kind]
    border = border_rows(timecost.bcp_records())  # the latest CPMM figures, with their year and source
    return list(zip(node_features(sel, border=border), [set(s) for s in sel["sections"]]))


# ---------------------------------------------------------------- base map

@functools.cache
def _base_geometry() -> dict[str, Any]:
    """Display geometry of the base map, simplified once per process, clipped to the CAREC region: sea (its
    outline is the coast), borders between countries (not the coast again), CAREC members (a tint)."""
    c = data.countries()
    c = c[c.intersects(DISPLAY_BOX)]
    g = c.geometry.values
    land = shapely.clip_by_rect(shapely.coverage_union_all(g), *DISPLAY_BOUNDS)  # the countries tile the land
    sea = shapely.difference(DISPLAY_BOX, land)
    sea = shapely.multipolygons([p for p in getattr(sea, "geoms", [sea]) if p.area > 0.05])
    a, b = shapely.STRtree(g).query(g, predicate="intersects")  # borders: arcs shared by two countries
    bd = shapely.boundary(g)
    shared = shapely.get_parts(shapely.intersection(bd[a[a < b]], bd[b[a < b]]))
    shared = shared[shapely.get_type_id(shared) == 1]
    borders = shapely.clip_by_rect(shapely.line_merge(shapely.multilinestrings(shared)), *DISPLAY_BOUNDS)
    members = c[c["iso_a3"].isin(CAREC_MEMBERS)].sort_values("iso_a3")
    tint = shapely.coverage_union_all(members.geometry.values).simplify(2.5 * COUNTRY_TOLERANCE)
    return {"frame": DISPLAY_BOX, "sea": sea.simplify(COUNTRY_TOLERANCE),
            "borders": borders.simplify(COUNTRY_TOLERANCE), "members": members, "tint": tint}


PLACE_CLASS = {"country": "cr-country", "capital": "cr-capital", "city": ""}


@functools.cache
def _base_layer_cached() -> str:
    b = _base_geometry()
    water = basemap.basemap("water", bbox=DISPLAY_BOUNDS)
    rivers = basemap.basemap("rivers", bbox=DISPLAY_BOUNDS)
    items: list[tuple[Any, dict[str, Any], bool]] = [
        (b["frame"], {"fill": True, "fillColor": LAND_COLOR, "fillOpacity": 1, "stroke": False}, True),
        (b["tint"], {"fill": True, "fillColor": MEMBER_COLOR, "fillOpacity": 1, "stroke": False}, True),
        (b["sea"], {"fill": True, "fillColor": SEA_COLOR, "fillOpacity": 1, "color": BORDER_COLOR, "weight": 0.8},
         True),
        (shapely.union_all(water.geometry.values),
         {"fill": True, "fillColor": BM["water"], "fillOpacity": 1, "stroke": False}, True),
        (shapely.union_all(rivers.geometry.values), {"fill": False, "color": BM["river"], "weight": 1, "opacity": 0.9},
         False),
        (b["borders"], {"fill": False, "color": BORDER_COLOR, "weight": 1, "opacity": 0.9}, False)]
    enc = encode([g for g, _, _ in items], BASE_SCALE)
    shapes = [{"g": e, "st": st, "poly": poly} for (_, st, poly), e in zip(items, enc)]
    places = basemap.basemap("places", bbox=DISPLAY_BOUNDS)
    # place labels as rows [lat, lon, text, rank, min zoom, class]: ~8 KB less on every page than objects
    labels = [[round(g.y, 3), round(g.x, 3), str(n), int(r), int(z) - 1, PLACE_CLASS.get(k, "")]
              for n, k, r, z, g in zip(places["name"], places["kind"], places["rank"], places["min_zoom"],
                                       places.geometry) if n]
    named = water[water["name"].notna()]
    for n, g in zip(named["name"], named.geometry):
        p = g.representative_point()
        labels.append([round(p.y, 3), round(p.x, 3), str(n), 6, 4, "cr-water"])
    return json.dumps({"type": "base", "name": "Reference: countries, water, places", "q": BASE_SCALE,
                       "shapes": shapes, "places": labels}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def base_layer() -> dict[str, Any]:
    """The country layer (land, CAREC members tinted, sea and coast, borders), encoded once per process."""
    out: dict[str, Any] = json.loads(_base_layer_cached())
    return out


def members() -> gpd.GeoDataFrame:
    """CAREC member countries (display geometry source)."""
    out: gpd.GeoDataFrame = _base_geometry()["members"]
    return out


# ---------------------------------------------------------------- the page

def _static(name: str) -> str:
    return (resources.files("corridors") / "static" / name).read_text(encoding="utf-8")


def _compact_css(css: str) -> str:
    """A stylesheet without comments and without the whitespace around ``{ } ; ,`` and ``>`` (where it never
    matters; ``:`` is left alone, as ``a :hover`` differs from ``a:hover``): ~2.8 KB less on every page."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return re.sub(r"\s*([{};,>])\s*", r"\1", re.sub(r"\s+", " ", css)).strip()


@functools.cache
def inline_assets() -> str:
    """Leaflet (CSS and JS), our CSS and our program, inlined once; none of it can close its own block."""
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", _static("leaflet.js"))
    css = _compact_css(re.sub(r"url\(images/[^)]*\)", "none", _static("leaflet.css")))
    ours, prog = _compact_css(_static("maps.css")), _static("corridors.js")
    for text in (js, prog):
        if "</script" in text.lower():
            raise ValueError("a static script would close its own inline block")
    for text in (css, ours):
        if "</style" in text.lower():
            raise ValueError("a static stylesheet would close its own inline block")
    return f"<style>{css}</style>\n<style>{ours}</style>\n<script>{js}</script>\n<script>{prog}</script>\n"


def spec_json(spec: Mapping[str, Any]) -> str:
    """The spec as JSON safe inside a ``<script type="application/json">`` block: ``<``, ``>`` and ``&``
    are written as ``\\u`` escapes (only strings hold them), so no text can end the block or open a comment."""
    text = json.dumps(spec, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def page(spec: Mapping[str, Any]) -> str:
    """The standalone HTML page of a map spec (everything inlined; requests only the spec's tiles, if any)."""
    title = html.escape(str(spec.get("title", "")), quote=True)
    tiles = spec.get("tiles") or {}
    origin = re.match(r"https://[a-z0-9.-]+", str(tiles.get("url", "")))
    csp = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:"
           + (f" {origin.group(0)}" if origin else ""))  # defence in depth: the page can load nothing else
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{html.escape(csp, quote=False)}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n{inline_assets()}</head>\n<body>\n<div id=\"cr-map\" class=\"cr-map\"></div>\n"
            f'<script type="application/json" id="cr-spec">{spec_json(spec)}</script>\n'
            '<script>corridorsMap("cr-map", "cr-spec");</script>\n</body></html>\n')


def map_spec(layers: Sequence[Mapping[str, Any]], *, title: str, subtitle: str = "",
             legend: Sequence[Mapping[str, Any]] = (), panels: Sequence[Mapping[str, Any]] = (),
             bounds: Sequence[float] | None = None, tiles: Mapping[str, Any] | None = None,
             credits: Sequence[str] = ()) -> dict[str, Any]:
    """A map: layers drawn in order, legend entries, panels ``{"title": str, "body": Rich}``, the initial
    view ``bounds`` (lon0, lat0, lon1, lat1; default: the routes), an optional tile layer."""
    spec: dict[str, Any] = {"title": title, "subtitle": subtitle, "layers": list(layers), "legend": list(legend),
                            "panels": list(panels), "note": NOTE, "credits": [*CREDITS, *credits],
                            "draw": {"schematic": style.SCHEMATIC, "ferry": style.FERRY, "slot": ROUTE_WEIGHT,
                                     "unconfirmed": UNCONFIRMED_CORE,
                                     "keyLine": style.KEY_ROUTE_LINE}}
    if bounds is not None:
        spec["bounds"] = [round(float(v), 5) for v in bounds]
    if tiles is not None:
        spec["tiles"] = dict(tiles)
    return spec


# ---------------------------------------------------------------- the public API

def select(routes: Any) -> gpd.GeoDataFrame:
    """Rows to draw: None (every section and key route), a corridor number, ids/names, or a GeoDataFrame."""
    allsec = data.sections()
    if routes is None:
        return allsec
    if isinstance(routes, gpd.GeoDataFrame):
        if routes.empty:
            raise data.NotFoundError("no routes to draw: the GeoDataFrame has no rows")
        user = (routes.to_crs(4326) if routes.crs is not None else routes).reset_index(drop=True)
        return user.assign(sources=user["sources"].map(data.as_list)) if "sources" in user else user
    if isinstance(routes, (int, np.integer)) or (isinstance(routes, str) and routes in COLORS):
        sel = allsec[(allsec["corridor"] == str(routes)) & (allsec["kind"] == "section")]
        if sel.empty:
            raise data.NotFoundError(f"no corridor {routes!r}; CAREC corridors are 1 to 6")
        return sel.reset_index(drop=True)
    wanted = [routes] if isinstance(routes, str) else list(routes)
    if not wanted:
        raise data.NotFoundError("no routes given; pass None (all), a corridor number, section ids or a GeoDataFrame")
    pos = {i: k for k, i in enumerate(allsec["id"])}
    if all(isinstance(i, str) and i in pos for i in wanted):  # ids: one lookup, no per-id copies
        return allsec.iloc[[pos[i] for i in wanted]].reset_index(drop=True)
    rows = [data.section(i) for i in wanted]  # names and alternative names
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=allsec.crs).reset_index(drop=True)


@analysis.gc_paused()  # as a whole: the analyses made here are freed before the collector runs again (0.4-0.8 s)
def routes_spec(routes: Any = None, *, countries: bool = True, nodes: bool = True, tiles: str | None = "auto",
                offline: bool = False, labels: bool = False, title: str | None = None, subtitle: str = "",
                notes: Mapping[str, Rich] | None = None, bounds: Sequence[float] | None = None,
                results: Mapping[str, analysis.RouteAnalysis] | Sequence[analysis.RouteAnalysis] | None = None,
                ) -> dict[str, Any]:
    """The spec behind ``make_map`` (same arguments); ``results`` reuses analyses (by id, or one per row)."""
    rows = select(routes)
    user = isinstance(routes, gpd.GeoDataFrame)
    if results is None:
        res = analysis.analyze_many(rows if user else rows["id"].tolist())
    elif isinstance(results, Mapping):
        res = [results[i] for i in rows["id"]]
    else:
        res = list(results)
    if tiles == "auto":
        tiles = None if offline else "OpenStreetMap"
    if tiles is not None and offline:
        raise ValueError("an offline map cannot load tiles; pass tiles=None")
    if tiles not in (None, "OpenStreetMap"):
        raise ValueError(f"tiles={tiles!r}: only 'OpenStreetMap', 'auto' or None")
    layers: list[dict[str, Any]] = [base_layer()] if countries else []
    rl, legend = route_layers(rows, res, notes)
    layers += rl
    nl, nleg = node_layers(rows, res, everything=routes is None) if nodes else ([], [])
    if labels:  # each label away from the other labels and from the drawn markers
        marks = [shapely.Point(f["ll"][1], f["ll"][0]) for layer in nl for f in layer["features"]]
        layers.append(section_labels(rows, avoid=marks))
    layers += nl
    legend += nleg
    if countries:
        legend.append({"kind": "fill", "label": "CAREC member country", "fillColor": MEMBER_COLOR, "fillOpacity": 1,
                       "color": "#888888"})
    return map_spec(layers, title=title or ("Routes" if user else "CAREC transport corridors"), subtitle=subtitle,
                    legend=legend, bounds=bounds, tiles=OSM_TILES if tiles else None)


def to_folium(spec: Mapping[str, Any]) -> Any:
    """A ``folium.Map`` that draws ``spec`` with the same program as ``page``.

    folium/branca re-parse the rendered output of every MacroElement as a Jinja template (even values written
    with ``tojson``), so no text of the spec goes through one: the spec is added to the page's root Figure as
    ``_Raw`` elements, whose one fixed template writes a Python string *value* (never compiled). The map
    element itself only carries fixed options. Text you add to the map with folium yourself is up to folium.
    """
    import branca.element
    import folium
    from jinja2 import Template

    class _Raw(branca.element.Element):
        _template = Template("{{ this.text }}")

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    m = folium.Map(location=[40, 70], zoom_start=4, tiles=None, control_scale=False, zoom_control=False)
    m.default_js, m.default_css = [], []
    fig: Any = m.get_root()
    fig.header.add_child(_Raw(inline_assets()), name="corridors_head")
    fig.html.add_child(_Raw(f'<script type="application/json" id="cr-spec-{m.get_name()}">{spec_json(spec)}'
                            "</script>"), name="corridors_spec")
    fig.script.add_child(_Raw(f'document.addEventListener("DOMContentLoaded", function () {{ '
                              f'corridorsMap({m.get_name()}, "cr-spec-{m.get_name()}"); }});'),
                         name="corridors_init")
    fig.title = html.escape(str(spec.get("title", "")), quote=True)
    return m


def make_map(routes: Any = None, *, countries: bool = True, nodes: bool = True, tiles: str | None = "auto",
             offline: bool = False, labels: bool = False, title: str | None = None, subtitle: str = "",
             notes: Mapping[str, Rich] | None = None, bounds: Sequence[float] | None = None,
             results: Mapping[str, analysis.RouteAnalysis] | Sequence[analysis.RouteAnalysis] | None = None) -> Any:
    """A ``folium.Map`` of ``routes``: None (every section and key route), a corridor number (1-6), a list of
    section / key-route ids or names, or a GeoDataFrame of your own lines (any CRS; ``name``, ``id``,
    ``sources``, ``note`` columns shown as text).

    ``tiles``: "auto" adds an OpenStreetMap basemap unless ``offline``; None for none. ``labels`` writes each
    route's name along it. ``notes`` maps a route id to text (or structured text) at the top of its popup.
    ``bounds`` (lon0, lat0, lon1, lat1) overrides the fit. ``results`` reuses analyses. Save with
    ``render(m)`` or ``m.save(path)``; ``page(routes_spec(...))`` gives the same page without folium.
    """
    return to_folium(routes_spec(routes, countries=countries, nodes=nodes, tiles=tiles, offline=offline,
                                 labels=labels, title=title, subtitle=subtitle, notes=notes, bounds=bounds,
                                 results=results))


def build(out: Any = "maps", offline: bool = False) -> list[Any]:
    """The published map set: ``corridors.atlas.build`` (kept here for existing callers)."""
    from . import atlas

    return atlas.build(out, offline=offline)


def render(m: Any) -> str:
    """The standalone HTML of a map returned by ``make_map``."""
    return str(m.get_root().render())
