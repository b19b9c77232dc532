"""Split lines by a polygon layer (countries by default) into ordered pieces, vectorised over many lines.

Each line is cut at every boundary it meets; each sub-segment is labelled with the polygon that holds its
midpoint (None outside every polygon: sea, or outside the layer). Runs shorter than ``min_excursion_km``
that leave a polygon and come back to it are folded into it, so border and coastline noise never makes a
phantom crossing. Lengths are geodesic (WGS84); the pieces of a line sum to its length.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from .geodesy import GEOD

MIN_EXCURSION_KM = 1.0


@dataclass(frozen=True)
class Piece:
    """A run of a line inside one polygon (``label`` None: outside every polygon)."""

    label: Hashable | None
    start_km: float
    end_km: float
    start: tuple[float, float]
    end: tuple[float, float]

    @property
    def length_km(self) -> float:
        return self.end_km - self.start_km


class Layer:
    """Polygons with labels and their spatial indexes, built once and reused for many lines.

    Boundaries are indexed as short edges (``EDGE_VERTICES`` vertices each), so finding where a line meets
    a border touches only the few edges near it, not a whole country's outline.
    """

    EDGE_VERTICES = 8

    def __init__(self, geometries: Sequence[shapely.Geometry], labels: Sequence[Hashable]):
        self.polygons = np.asarray(geometries, dtype=object)
        self.labels = list(labels)
        if len(self.labels) != len(self.polygons):
            raise ValueError("a layer needs exactly one label per polygon")
        self.poly_tree = shapely.STRtree(self.polygons)
        shapely.prepare(self.polygons)  # contains_xy below runs on the layer's side, prepared once
        rings = shapely.get_parts(shapely.boundary(self.polygons))
        edges = []
        for ring in rings:
            xy = shapely.get_coordinates(ring)
            step = self.EDGE_VERTICES - 1
            edges += [xy[i:i + self.EDGE_VERTICES] for i in range(0, max(len(xy) - 1, 1), step)]
        edges = [e for e in edges if len(e) >= 2]
        self.edges = shapely.linestrings(np.concatenate(edges), indices=np.repeat(np.arange(len(edges)),
                                                                                  [len(e) for e in edges]))
        self.edge_tree = shapely.STRtree(self.edges)


def pieces(coords: np.ndarray, layer: Layer, min_excursion_km: float = MIN_EXCURSION_KM) -> list[Piece]:
    """Ordered runs of one line (N x 2 lon/lat array) inside each polygon of ``layer``."""
    return pieces_many([coords], layer, min_excursion_km)[0]


def pieces_many(
    lines: Sequence[np.ndarray], layer: Layer, min_excursion_km: float = MIN_EXCURSION_KM
) -> list[list[Piece]]:
    """``pieces`` for many lines at once: one spatial query, one intersection and one geodesic call in all."""
    counts = np.array([len(c) for c in lines])
    if (counts < 2).any():
        raise ValueError("every line needs at least two vertices")
    xy = np.concatenate([np.asarray(c, dtype=float) for c in lines])
    route = np.repeat(np.arange(len(lines)), counts)

    # planar position of every vertex along its own line (what line_locate_point measures)
    step = np.hypot(*np.diff(xy, axis=0).T)
    step[route[1:] != route[:-1]] = 0.0
    pos = np.concatenate([[0.0], np.cumsum(step)])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos -= np.repeat(pos[starts], counts)

    # where each segment meets a boundary edge
    first = np.flatnonzero(route[1:] == route[:-1])  # index of each segment's first vertex
    segments = shapely.linestrings(np.stack([xy[first], xy[first + 1]], axis=1))
    si, ei = layer.edge_tree.query(segments, predicate="intersects")
    cut_xy, cut_route, cut_pos = np.empty((0, 2)), np.empty(0, dtype=int), np.empty(0)
    if len(si):
        hits = shapely.intersection(segments[si], layer.edges[ei])
        cut_xy, which = shapely.get_coordinates(hits, return_index=True)
        v = first[si[which]]
        cut_route = route[v]
        cut_pos = pos[v] + np.hypot(*(cut_xy - xy[v]).T)

    all_xy = np.concatenate([xy, cut_xy])
    all_route = np.concatenate([route, cut_route])
    all_pos = np.concatenate([pos, cut_pos])
    order = np.lexsort((all_pos, all_route))
    all_xy, all_route, all_pos = all_xy[order], all_route[order], all_pos[order]
    keep = np.ones(len(all_pos), dtype=bool)
    keep[1:] = (all_route[1:] != all_route[:-1]) | (np.diff(all_pos) > 1e-12)
    all_xy, all_route = all_xy[keep], all_route[keep]

    # label and measure every sub-segment inside a line
    seg = np.flatnonzero(all_route[1:] == all_route[:-1])
    a, b = all_xy[seg], all_xy[seg + 1]
    label_idx = np.full(len(seg), len(layer.labels))  # sentinel: outside every polygon
    mid = (a + b) / 2.0
    mi, pi = layer.poly_tree.query(shapely.points(mid))
    inside = shapely.contains_xy(layer.polygons[pi], mid[mi, 0], mid[mi, 1])
    np.minimum.at(label_idx, mi[inside], pi[inside])  # lowest layer index wins where polygons overlap
    seg_km = np.asarray(GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]) / 1000.0

    labels = [*layer.labels, None]
    seg_route = all_route[seg]
    bounds = np.searchsorted(seg_route, np.arange(len(lines) + 1))
    out = []
    for r in range(len(lines)):
        s0, s1 = bounds[r], bounds[r + 1]
        km = np.concatenate([[0.0], np.cumsum(seg_km[s0:s1])])
        lab = label_idx[s0:s1]
        change = np.flatnonzero(np.diff(lab) != 0) + 1
        edges = np.concatenate([[0], change, [s1 - s0]])
        runs = [[int(lab[i]), int(i), int(j)] for i, j in zip(edges[:-1], edges[1:])]
        runs = _fold_excursions(runs, km, min_excursion_km, outside=len(layer.labels))
        seg_a, seg_b = a[s0:s1], b[s0:s1]
        out.append([
            Piece(labels[lab_i], float(km[i]), float(km[j]),
                  (float(seg_a[i][0]), float(seg_a[i][1])), (float(seg_b[j - 1][0]), float(seg_b[j - 1][1])))
            for lab_i, i, j in runs
        ])
    return out


def _fold_excursions(runs: list[list[int]], km: np.ndarray, limit: float, outside: int) -> list[list[int]]:
    """Merge short runs into their neighbours: a brief exit and return, or a sliver at either end.

    A sliver of land at an end is kept when its neighbour is open water: a route that starts at a port on
    the coast starts in that port's country.
    """
    i = 0
    while len(runs) > 1 and i < len(runs):
        lab, a, b = runs[i]
        prev = runs[i - 1] if i > 0 else None
        nxt = runs[i + 1] if i + 1 < len(runs) else None
        if km[b] - km[a] >= limit:
            i += 1
        elif prev is not None and nxt is not None and prev[0] == nxt[0]:
            prev[2] = nxt[2]
            del runs[i:i + 2]
            i = max(i - 1, 0)
        elif prev is None and nxt is not None and not (lab != outside and nxt[0] == outside):
            nxt[1] = a
            del runs[i]
        elif nxt is None and prev is not None and not (lab != outside and prev[0] == outside):
            prev[2] = b
            del runs[i]
        else:
            i += 1
    return runs
