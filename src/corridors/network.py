"""Build the corridor network from its human-edited source (geodata/network/) into RFC 7946 GeoJSON.

Source of truth: ``network/nodes/*.csv`` (one row per place), ``network/sources.csv`` and one TOML file per
corridor plus ``key_routes.toml`` (ordered node ids per section; ``"~"`` between two ports marks a ferry leg).
``python scripts/build_geodata.py`` writes ``corridors.geojson`` and ``nodes.geojson``; a test checks they are
in sync. The library itself only reads the generated GeoJSON.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from . import geodesy

FERRY = "~"
NODE_KINDS = {"city", "bcp", "port", "waypoint"}
MODES = {"road", "rail", "multimodal"}
BASES = {"sourced", "inferred"}
CONFIDENCES = {"high", "medium", "low"}
GRADES = {"A", "B", "C", "D"}  # evidence grade of a section's definition (shared/reference/corridor_definitions.md §0)
VERDICTS = {"confirmed", "corrected", "still unconfirmed"}
SPLIT = "|"


class NetworkError(ValueError):
    """The network source files are inconsistent; the message names the file, the row and the fix."""


def _list(value: str, sep: str = SPLIT) -> list[str]:
    return [v.strip() for v in value.split(sep) if v.strip()]


def read_sources(root: Path) -> dict[str, dict[str, str]]:
    with open(root / "sources.csv", newline="", encoding="utf-8") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def read_nodes(root: Path, sources: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """All node rows of ``nodes/*.csv``, checked: unique ids, known kinds and sources, lon/lat in range."""
    nodes: dict[str, dict[str, Any]] = {}
    for path in sorted((root / "nodes").glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as f:
            for line, row in enumerate(csv.DictReader(f), start=2):
                where = f"{path.name}:{line}"
                nid = row["id"]
                if nid in nodes:
                    raise NetworkError(f"{where}: node id {nid!r} is defined twice; keep one row")
                if row["kind"] not in NODE_KINDS:
                    raise NetworkError(f"{where}: kind {row['kind']!r} is not one of {sorted(NODE_KINDS)}")
                lon, lat = float(row["lon"]), float(row["lat"])
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise NetworkError(f"{where}: lon/lat {lon}, {lat} out of range (columns are lon, lat)")
                srcs = _list(row["sources"], ";")
                unknown = [s for s in [*srcs, row["coord_source"]] if s and s not in sources]
                if not srcs or unknown:
                    raise NetworkError(f"{where}: node {nid!r} needs sources from sources.csv (unknown: {unknown})")
                if row["coord_confidence"] not in CONFIDENCES:
                    raise NetworkError(f"{where}: coord_confidence must be one of {sorted(CONFIDENCES)}")
                joins = _list(row["joins"])
                if row["kind"] == "bcp" and len(joins) != 2:
                    raise NetworkError(f"{where}: BCP {nid!r} must join two countries, e.g. KAZ|KGZ")
                nodes[nid] = {
                    "id": nid, "name": row["name"], "alt_names": _list(row["alt_names"]), "kind": row["kind"],
                    "country": row["country"] or None, "joins": joins, "modes": _list(row["modes"]),
                    "lon": lon, "lat": lat, "coord_confidence": row["coord_confidence"],
                    "coord_source": row["coord_source"], "sources": srcs, "note": row["note"],
                }
    return nodes


def read_sections(root: Path, nodes: dict[str, Any], sources: dict[str, Any]) -> list[dict[str, Any]]:
    """All ``[[section]]`` tables of the TOML files, checked against the nodes and sources."""
    sections: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path in sorted(root.glob("*.toml")):
        with open(path, "rb") as f:
            for s in tomllib.load(f).get("section", []):
                where = f"{path.name} section {s.get('id')!r}"
                if s["id"] in seen:
                    raise NetworkError(f"{where}: id is used twice")
                seen.add(s["id"])
                if s["mode"] not in MODES or s["basis"] not in BASES or s["confidence"] not in CONFIDENCES:
                    raise NetworkError(f"{where}: mode/basis/confidence must be one of {MODES}/{BASES}/{CONFIDENCES}")
                missing = [n for n in s["nodes"] if n != FERRY and n not in nodes]
                if missing:
                    raise NetworkError(f"{where}: unknown node ids {missing}; add them to nodes/*.csv")
                _check_ferries(s["nodes"], nodes, where)
                unknown = [x for x in s["sources"] if x not in sources]
                if not s["sources"] or unknown:
                    raise NetworkError(f"{where}: needs sources from sources.csv (unknown: {unknown})")
                if set(s.get("sourced_nodes", [])) - set(s["nodes"]):
                    raise NetworkError(f"{where}: sourced_nodes must be nodes of the section")
                _check_grade(s, sources, where)
                sections.append(s)
    return sections


def _check_grade(s: dict[str, Any], sources: dict[str, Any], where: str) -> None:
    """A CAREC section carries the grade of its definition's source, a verdict and those sources (key routes,
    which are not CAREC definitions, carry none)."""
    if s.get("kind", "section") != "section":
        return
    if s.get("grade") not in GRADES or s.get("verdict") not in VERDICTS:
        raise NetworkError(f"{where}: needs grade (one of {sorted(GRADES)}) and verdict (one of {sorted(VERDICTS)}) "
                           "from shared/reference/corridor_definitions.md")
    srcs = s.get("definition_sources", [])
    unknown = [x for x in srcs if x not in sources]
    if not srcs or unknown:
        raise NetworkError(f"{where}: definition_sources must name sources from sources.csv (unknown: {unknown})")
    if set(srcs) - set(s["sources"]):
        raise NetworkError(f"{where}: add the definition_sources {sorted(set(srcs) - set(s['sources']))} to sources")


def _check_ferries(seq: list[str], nodes: dict[str, Any], where: str) -> None:
    """A sea passage is port ~ [sea waypoint ~ ...] port: it starts and ends at a port and runs at sea."""
    for i, n in enumerate(seq):
        if n != FERRY:
            continue
        if not 0 < i < len(seq) - 1 or FERRY in (seq[i - 1], seq[i + 1]):
            raise NetworkError(f"{where}: '~' must stand between two nodes")
        for j, end in ((i - 1, i - 2), (i + 1, i + 2)):
            node = nodes[seq[j]]
            at_sea = node["kind"] == "waypoint" and node["country"] is None
            chained = 0 <= end < len(seq) and seq[end] == FERRY
            if not (node["kind"] == "port" or (at_sea and chained)):
                raise NetworkError(f"{where}: a sea passage '~' must run from a port to a port, through sea "
                                   f"waypoints (country empty) only; {seq[j]!r} is neither")


def legs(section: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(from node, to node, mode) for each leg; a ferry leg has mode 'ferry'."""
    out, seq, i = [], section["nodes"], 0
    while i < len(seq) - 1:
        if seq[i + 1] == FERRY:
            out.append((seq[i], seq[i + 2], "ferry"))
            i += 2
        else:
            out.append((seq[i], seq[i + 1], section["mode"]))
            i += 1
    return out


# ---------------------------------------------------------------- tracing on the regional network (issue 16)

TRACE_SNAP_KM = 25.0  # a section node joins the network at a node this close
DETOUR = 1.6  # a traced leg longer than DETOUR x its geodesic + 5 km is a detour: the leg stays schematic
ANCHOR_KM = 5.0  # a section node this close to the network is a fixed point of the traced alignment
MIN_COMPONENT = 50  # section nodes snap to components of at least this many nodes when one is near


def _snap_node(lon: float, lat: float, mode: str) -> tuple[int, float] | None:
    from . import graph

    near = graph.near_nodes(lon, lat, mode, k=48, max_km=TRACE_SNAP_KM)
    if not near:
        return None
    g = graph.mode_graph(mode)
    real = graph.real_nodes()
    big = [(n, d) for n, d in near if g.comp_size[g.comp[n]] >= MIN_COMPONENT]
    return ([(n, d) for n, d in big if real[n]] or big or near)[0]


def trace(section: dict[str, Any], nodes: dict[str, Any], mode: str) -> dict[str, Any]:
    """The section's alignment in one mode ('road' or 'rail') over the regional network.

    Each section node joins the network at its nearest node (``TRACE_SNAP_KM``); each leg follows the shortest
    path between consecutive joined nodes (ferry legs over the ferry edge). A leg with no path, or one longer than
    ``DETOUR`` times its geodesic, and every schematic edge of the network (a sourced node chain where the
    network has no line), is a schematic piece. Returns coords, km (full-resolution edge lengths), node_km,
    leg_km (per pair of consecutive nodes), pieces ({from, to, alignment traced|schematic|ferry, km}),
    traced_share (traced and ferry km over all) and the network edge ids.
    """
    from . import graph

    net = graph.load()
    ids = [n for n in section["nodes"] if n != FERRY]
    xy = {n: (nodes[n]["lon"], nodes[n]["lat"]) for n in ids}
    snap = {n: _snap_node(*xy[n], mode) for n in ids}
    coords: list[Any] = []
    runs: list[dict[str, Any]] = []
    edges_used: list[int] = []
    node_km, leg_km = [0.0], []
    total = 0.0

    def add(kind: str, a: str, b: str, km: float) -> None:
        if runs and runs[-1]["alignment"] == kind:
            runs[-1].update(to=nodes[b]["name"], km=runs[-1]["km"] + km)
        elif km > 0:
            runs.append({"from": nodes[a]["name"], "to": nodes[b]["name"], "alignment": kind, "km": km})

    def point(n: str) -> tuple[float, float]:
        s = snap[n]
        return (float(net.node_xy[s[0]][0]), float(net.node_xy[s[0]][1])) if s else xy[n]

    seq = section["nodes"]
    sea = {(seq[i - 1], seq[i + 1]) for i, n in enumerate(seq) if n == FERRY}
    at_sea = {n for pair in sea for n in pair}
    # anchors: the ends, ports and nodes within ANCHOR_KM of the network; a node farther off (a sketch waypoint or
    # a town the generalised data misses) does not pull the alignment off the road: its chainage is interpolated
    anchor = [i for i, n in enumerate(ids) if i in (0, len(ids) - 1) or n in at_sea
              or (snap.get(n) or (0, np.inf))[1] <= ANCHOR_KM]
    inner = {}
    for i, j in zip(anchor[:-1], anchor[1:]):
        if j > i + 1:
            inner[(ids[i], ids[j])] = ids[i:j + 1]
    for a, b in zip([ids[i] for i in anchor[:-1]], [ids[i] for i in anchor[1:]]):
        if (a, b) in sea:  # the sea passage as the section draws it (ports and sea waypoints)
            pc = np.array(geodesy.densify([xy[a], xy[b]]))
            leg = geodesy.distance_km(xy[a], xy[b])
            add("ferry", a, b, leg)
            coords.append(pc if not coords else pc[1:])
            total += leg
            leg_km.append(leg)
            node_km.append(total)
            continue
        sa, sb = snap[a], snap[b]
        straight = geodesy.distance_km(point(a), point(b))
        limit = 1.5 * (DETOUR * straight + 5.0)  # weights count tertiary km x1.5
        path = graph.shortest_path(sa[0], sb[0], mode, limit=limit) if sa and sb else None
        km_path = float(net.km[path[1]].sum()) if path else 0.0
        if path is not None and km_path <= DETOUR * straight + 5.0:
            pc = graph.path_coords(*path)
            for e in path[1]:
                kind = "schematic" if net.tables["cls"][int(net.cls[e])] == "schematic" else "traced"
                add(kind, a, b, float(net.km[e]))
            edges_used += path[1]
            leg = km_path
        else:
            pc = np.array(geodesy.densify([point(a), point(b)]))
            leg = geodesy.length_km(shapely.linestrings(pc)) if len(pc) > 1 else 0.0
            add("schematic", a, b, leg)
        coords.append(pc if not coords else pc[1:])
        chain = inner.get((a, b), [a, b])  # skipped nodes: the leg's km shared out by their geodesic spacing
        gd = [geodesy.distance_km(xy[p], xy[q]) for p, q in zip(chain[:-1], chain[1:])]
        for d in gd:
            part = leg * d / sum(gd) if sum(gd) else leg / len(gd)
            total += part
            leg_km.append(part)
            node_km.append(total)
    line = np.concatenate(coords) if coords else np.zeros((0, 2))
    traced = sum(r["km"] for r in runs if r["alignment"] in ("traced", "ferry"))
    return {"coords": line, "km": total, "node_km": node_km, "leg_km": leg_km, "pieces": runs,
            "traced_share": traced / total if total else 0.0, "edges": sorted(set(edges_used))}


def _feature(props: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def build(root: Path, traced: bool = False) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Read and check the source; return (sections, nodes, alignments) FeatureCollections. ``traced``: trace
    every section on the regional network (geodata/network.npz); else sections are geodesic node chains."""
    sources = read_sources(root)
    nodes = read_nodes(root, sources)
    sections = read_sections(root, nodes, sources)
    used: dict[str, list[str]] = {}
    section_features, alignment_features = [], []
    for s in sections:
        ids = [n for n in s["nodes"] if n != FERRY]
        for n in ids:
            used.setdefault(n, []).append(s["id"])
        coords = geodesy.densify([(nodes[n]["lon"], nodes[n]["lat"]) for n in ids])
        leg_list = legs(s)
        leg_km = [geodesy.distance_km((nodes[a]["lon"], nodes[a]["lat"]), (nodes[b]["lon"], nodes[b]["lat"]))
                  for a, b, _ in leg_list]
        props = {
            "id": s["id"], "kind": s.get("kind", "section"), "corridor": s.get("corridor") or None,
            "name": s["name"], "mode": s["mode"], "definition": s["definition"], "basis": s["basis"],
            "confidence": s["confidence"], "confidence_note": s.get("confidence_note", s["confidence"]),
            "nodes": ids, "sourced_nodes": s.get("sourced_nodes", []),
            "leg_modes": [m for _, _, m in leg_list],
            "length_km": round(sum(leg_km), 1),
            "sources": s["sources"], "source_urls": [sources[x]["url"] for x in s["sources"]],
            "description": s.get("description", ""),
            "grade": s.get("grade"), "grade_detail": s.get("grade_detail", s.get("grade")),
            "verdict": s.get("verdict"), "verdict_note": s.get("verdict_note"),
            "definition_sources": s.get("definition_sources", []),
            "definition_source_urls": [sources[x]["url"] for x in s.get("definition_sources", [])],
        }
        geometry = {"type": "LineString", "coordinates": [[round(x, 5), round(y, 5)] for x, y in coords]}
        if traced:
            modes = ["road", "rail"] if s["mode"] == "multimodal" else [s["mode"]]
            alignments = {m: trace(s, nodes, m) for m in modes}
            main = alignments[modes[0]]
            props.update({
                "length_km": round(main["km"], 3), "node_km": [round(k, 3) for k in main["node_km"]],
                "leg_km": [round(k, 3) for k in main["leg_km"]], "traced_share": round(main["traced_share"], 4),
                "alignment": [{**r, "km": round(r["km"], 3)} for r in main["pieces"]],
                "alignments": {m: {"length_km": round(al["km"], 3), "traced_share": round(al["traced_share"], 4)}
                               for m, al in alignments.items()},
                "network_edges": sorted({e for al in alignments.values() for e in al["edges"]}),
            })
            geometry = {"type": "LineString",
                        "coordinates": [[round(float(x), 5), round(float(y), 5)] for x, y in main["coords"]]}
            for m, al in alignments.items():
                alignment_features.append(_feature(
                    {"id": f"{s['id']}:{m}", "section": s["id"], "mode": m, "length_km": round(al["km"], 3),
                     "traced_share": round(al["traced_share"], 4),
                     "alignment": [{**r, "km": round(r["km"], 3)} for r in al["pieces"]]},
                    {"type": "LineString",
                     "coordinates": [[round(float(x), 5), round(float(y), 5)] for x, y in al["coords"]]}))
        section_features.append(_feature(props, geometry))
    node_features = []
    for n in sorted(nodes.values(), key=lambda n: n["id"]):
        props = {k: v for k, v in n.items() if k not in ("lon", "lat")}
        props["sections"] = used.get(n["id"], [])
        props["source_urls"] = [sources[x]["url"] for x in n["sources"]]
        node_features.append(_feature(props, {"type": "Point", "coordinates": [n["lon"], n["lat"]]}))
    fc = {"type": "FeatureCollection"}
    return ({**fc, "features": section_features}, {**fc, "features": node_features},
            {**fc, "features": alignment_features})


def dumps(fc: dict[str, Any]) -> str:
    """Deterministic GeoJSON text: one feature per line, so diffs stay reviewable."""
    body = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in fc["features"])
    return '{"type":"FeatureCollection","features":[\n' + body + "\n]}\n"


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, line ends kept as given) through a temporary file in the same folder and
    rename, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write(geodata: Path, traced: bool = True) -> list[Path]:
    """Write corridors.geojson, nodes.geojson and (traced) alignments.geojson: one feature per section and mode."""
    sections_fc, nodes_fc, align_fc = build(geodata / "network", traced=traced)
    out = [geodata / "corridors.geojson", geodata / "nodes.geojson"]
    write_atomic(out[0], dumps(sections_fc))
    write_atomic(out[1], dumps(nodes_fc))
    if traced:
        out.append(geodata / "alignments.geojson")
        write_atomic(out[2], dumps(align_fc))
    return out
