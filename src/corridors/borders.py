"""Split a line by a polygon layer (countries by default): pieces, length per polygon, ordered crossings.

The line is cut at every boundary it meets; each sub-segment is labelled with the polygon that holds its
midpoint (None outside every polygon: sea, or outside the layer). Runs shorter than ``min_excursion_km``
that leave and come back to the same polygon are folded into it, so border and coastline noise never makes
a phantom crossing. Lengths are geodesic (WGS84).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable

import numpy as np
import shapely

from .geodesy import segment_lengths_m

MIN_EXCURSION_KM = 1.0


@dataclass(frozen=True)
class Piece:
    """A run of the line inside one polygon (``label`` None: outside every polygon)."""

    label: Hashable | None
    start_km: float
    end_km: float
    start: tuple[float, float]
    end: tuple[float, float]

    @property
    def length_km(self) -> float:
        return self.end_km - self.start_km


class Layer:
    """Polygons with labels and their spatial indexes, built once and reused for many lines."""

    def __init__(self, geometries: np.ndarray, labels: list[Hashable]):
        self.polygons = np.asarray(geometries)
        self.labels = list(labels)
        self.boundaries = shapely.boundary(self.polygons)
        self.poly_tree = shapely.STRtree(self.polygons)
        self.boundary_tree = shapely.STRtree(self.boundaries)
        shapely.prepare(self.polygons)


def _cut_points(coords: np.ndarray, layer: Layer) -> np.ndarray:
    """Vertices of the line plus every point where it meets a boundary, in order along the line."""
    line = shapely.linestrings(coords)
    hits = layer.boundary_tree.query(line, predicate="intersects")
    if len(hits) == 0:
        return coords
    inter = shapely.intersection(line, layer.boundaries[hits])
    pts = shapely.get_coordinates(inter)
    if len(pts) == 0:
        return coords
    # position of each vertex and each cut point along the line, in planar (degree) distance
    seg = np.hypot(*np.diff(coords, axis=0).T)
    vpos = np.concatenate([[0.0], np.cumsum(seg)])
    ppos = shapely.line_locate_point(line, shapely.points(pts))
    allpos = np.concatenate([vpos, ppos])
    allpts = np.concatenate([coords, pts])
    order = np.lexsort((np.arange(len(allpos)), allpos))
    allpts, allpos = allpts[order], allpos[order]
    keep = np.concatenate([[True], np.diff(allpos) > 1e-9])
    return allpts[keep]


def _label_midpoints(pts: np.ndarray, layer: Layer) -> list[Hashable | None]:
    mids = shapely.points((pts[:-1] + pts[1:]) / 2.0)
    pi, gi = layer.poly_tree.query(mids, predicate="within")
    out: list[Hashable | None] = [None] * len(mids)
    for p, g in sorted(zip(pi.tolist(), gi.tolist()), reverse=True):
        out[p] = layer.labels[g]  # lowest layer index wins where polygons overlap
    return out


def pieces(coords: np.ndarray, layer: Layer, min_excursion_km: float = MIN_EXCURSION_KM) -> list[Piece]:
    """Ordered runs of the line inside each polygon; lengths sum to the line's geodesic length."""
    coords = np.asarray(coords, dtype=float)
    pts = _cut_points(coords, layer)
    labels = _label_midpoints(pts, layer)
    seg_km = segment_lengths_m(pts[:, 0], pts[:, 1]) / 1000.0
    km = np.concatenate([[0.0], np.cumsum(seg_km)])
    runs: list[list] = []  # [label, start index, end index]
    for i, lab in enumerate(labels):
        if seg_km[i] == 0.0:
            continue
        if runs and runs[-1][0] == lab:
            runs[-1][2] = i + 1
        else:
            runs.append([lab, i, i + 1])
    runs = _fold_excursions(runs, km, min_excursion_km)
    return [Piece(lab, float(km[a]), float(km[b]), tuple(pts[a]), tuple(pts[b])) for lab, a, b in runs]


def _fold_excursions(runs: list[list], km: np.ndarray, limit: float) -> list[list]:
    """Merge short runs into their neighbours: a brief exit and return, or a sliver at either end."""
    changed = True
    while changed and len(runs) > 1:
        changed = False
        for i, (lab, a, b) in enumerate(runs):
            if km[b] - km[a] >= limit:
                continue
            prev = runs[i - 1] if i > 0 else None
            nxt = runs[i + 1] if i + 1 < len(runs) else None
            if prev and nxt and prev[0] == nxt[0]:
                prev[2] = nxt[2]
                del runs[i:i + 2]
            elif prev and not nxt or (not prev and nxt):
                (prev or nxt)[1 if nxt else 2] = a if nxt else b
                del runs[i]
            else:
                continue
            changed = True
            break
    return runs
