"""Split lines by a polygon layer (countries by default) into ordered runs, vectorised over many lines.

Each line is cut wherever it meets a polygon boundary; the stretch between two cuts lies in one polygon and is
labelled by the polygon that holds its first sub-segment's midpoint (None outside every polygon: sea, or outside
the layer). A midpoint on a boundary (a line drawn along a border or coast) belongs to the polygons whose
boundary it lies on, so a line along a border stays in one country instead of flickering between the two
and "sea". Runs shorter than ``min_excursion_km`` that leave a polygon and come back to it are folded into it,
shortest first, so border and coastline noise never makes a phantom crossing and a line and its reverse give
the same figures. Lengths are geodesic (WGS84); the runs of a line sum to its length.

The work is done on flat numpy arrays for all lines at once: one bounding-box query of the boundary index, the
segment/boundary intersections in numpy, one point-in-polygon test per stretch (not per vertex) and one
geodesic call for all segments and cut points. Python loops run only over lines that need folding.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import shapely

from .geodesy import GEOD

MIN_EXCURSION_KM = 1.0
SMALL_LAYER = 256  # up to this many polygons, points are screened against their boxes in numpy
CHUNK_SEGMENTS = 6  # consecutive segments whose joint box queries the boundary index
LINE_CHUNK_SEGMENTS = 24  # the same for one line alone (a route: dense vertices, few boundaries near)
ON_BOUNDARY_DEG = 1e-9  # a midpoint this close to a boundary (about 0.1 mm) lies on it
GRID_CELLS = 2**16  # cells of a layer's grid (``Layer.grid``)
GRID_MARGIN_DEG = 1e-5  # a grid cell is clear when no boundary passes within this distance (about 1 m) of it
GRID_MIN_POINTS = 5000  # points labelled at once from which the grid is used (and built, once per layer)


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


class Runs(NamedTuple):
    """Ordered runs of many lines as flat arrays, sorted by line then position.

    ``label`` indexes the layer's labels; ``len(layer.labels)`` means outside every polygon. ``start``/``end``
    are (n, 2) lon/lat arrays of each run's first and last point. ``segment_km``: the geodesic length of every
    segment of every line (line by line, in order; a segment cut at boundaries is the sum of its pieces).
    """

    line: np.ndarray
    label: np.ndarray
    start_km: np.ndarray
    end_km: np.ndarray
    start: np.ndarray
    end: np.ndarray
    segment_km: np.ndarray | None = None  # geodesic km of every segment of every line, flat


EDGE_VERTICES = 4  # a Layer indexes its boundaries as edges of this many vertices


def boundary_edges(polygons: Sequence[shapely.Geometry]) -> dict[str, np.ndarray]:
    """The boundaries of ``polygons`` as short edges (``EDGE_VERTICES`` vertices) for a ``Layer``: their vertices
    (``edge_xy``), first vertex and vertex count per edge, and the index of the polygon each edge belongs to. A
    border shared by two polygons is kept once, under the lower polygon index (which also wins a point lying on
    it, see label_points). Pure arrays, so a caller may keep them (``analysis`` does, in the per-user cache)."""
    rings, ring_owner = shapely.get_parts(shapely.boundary(np.asarray(polygons, dtype=object)), return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    v = np.flatnonzero(ring[1:] == ring[:-1])  # first vertex of every boundary segment
    p, q = xy[v], xy[v + 1]
    swap = (p[:, 0] > q[:, 0]) | ((p[:, 0] == q[:, 0]) & (p[:, 1] > q[:, 1]))
    canon = np.where(swap[:, None], np.hstack([q, p]), np.hstack([p, q]))
    order = np.lexsort(canon.T[::-1])  # stable: equal segments stay in polygon order
    srt = canon[order]
    keep = np.zeros(len(v), dtype=bool)
    keep[order[np.append(True, (srt[1:] != srt[:-1]).any(axis=1))]] = True
    kv = v[keep]
    # edges: runs of consecutive kept segments, cut every EDGE_VERTICES - 1 segments
    contiguous = np.zeros(len(kv), dtype=bool)
    contiguous[1:] = kv[1:] == kv[:-1] + 1
    run_starts = np.flatnonzero(~contiguous)
    pos = np.arange(len(kv)) - np.repeat(run_starts, np.diff(np.append(run_starts, len(kv))))
    starts = ~contiguous | (pos % (EDGE_VERTICES - 1) == 0)
    first_seg = np.flatnonzero(starts)
    last_seg = np.append(first_seg[1:] - 1, len(kv) - 1)
    vert = np.concatenate([kv, kv[last_seg] + 1])  # each segment's first vertex, then each edge's last vertex
    order = np.argsort(np.concatenate([np.arange(len(kv)), last_seg + 0.5]), kind="stable")
    counts = last_seg - first_seg + 2
    return {"edge_xy": xy[vert[order]], "edge_start": (np.cumsum(counts) - counts).astype(np.int64),
            "edge_count": counts.astype(np.int64), "edge_owner": ring_owner[ring[kv[first_seg]]].astype(np.int64)}


class Layer:
    """Polygons with labels and their spatial indexes, built once and reused for many lines.

    Boundaries are indexed as short edges (``EDGE_VERTICES`` vertices each), so finding where a line meets
    a border touches only the few edges near it, not a whole country's outline.
    """

    def __init__(self, geometries: Sequence[shapely.Geometry], labels: Sequence[Hashable],
                 edges: dict[str, np.ndarray] | None = None):
        """``edges``: ``boundary_edges(geometries)`` if already at hand (e.g. kept in a cache), else computed."""
        self.polygons = np.asarray(geometries, dtype=object)
        self.labels = list(labels)
        if len(self.labels) != len(self.polygons):
            raise ValueError("a layer needs exactly one label per polygon")
        self.poly_tree = shapely.STRtree(self.polygons)
        self.poly_box = tuple(c[None, :] for c in shapely.bounds(self.polygons).T)  # x0, y0, x1, y1 as rows
        shapely.prepare(self.polygons)  # contains_xy below runs on the layer's side, prepared once
        e = boundary_edges(self.polygons) if edges is None else edges
        self.edge_xy, self.edge_start, self.edge_count, self.edge_owner = (
            e["edge_xy"], e["edge_start"], e["edge_count"], e["edge_owner"])
        counts = self.edge_count
        self.edges = shapely.linestrings(self.edge_xy, indices=np.repeat(np.arange(len(counts)), counts))
        self.edge_tree = shapely.STRtree(self.edges)
        self.edge_box = tuple(np.ascontiguousarray(c) for c in shapely.bounds(self.edges).T)  # x0, y0, x1, y1
        q0, q1 = self.edge_xy[:-1], self.edge_xy[1:]  # boxes of boundary segments (by first vertex index)
        lo, hi = np.minimum(q0, q1), np.maximum(q0, q1)
        self.seg_box = (lo[:, 0].copy(), lo[:, 1].copy(), hi[:, 0].copy(), hi[:, 1].copy())
        self._grid: tuple[float, float, float, int, int, np.ndarray] | None = None

    def grid(self) -> tuple[float, float, float, int, int, np.ndarray]:
        """A grid over the layer (built on first use): x0, y0, cell size, columns, rows, and per cell the label
        index of the polygon holding the whole cell, ``len(labels)`` outside every polygon, or -1 when a
        boundary passes within GRID_MARGIN_DEG of the cell (then its points need the exact test). In a clear
        cell every point lies in the interior of the same polygons, so it gets the label of the cell's centre."""
        if self._grid is None:
            x0, y0 = self.poly_box[0].min(), self.poly_box[1].min()
            x1, y1 = self.poly_box[2].max(), self.poly_box[3].max()
            d = max(np.sqrt((x1 - x0) * (y1 - y0) / GRID_CELLS), (x1 - x0) / GRID_CELLS, (y1 - y0) / GRID_CELLS, 1e-9)
            nx, ny = int(np.ceil((x1 - x0) / d)) + 1, int(np.ceil((y1 - y0) / d)) + 1
            # cells that a boundary segment's box (grown by the margin) reaches are not clear
            m = GRID_MARGIN_DEG
            real = np.ones(len(self.seg_box[0]), dtype=bool)  # seg_box also boxes the step from edge to edge
            real[(self.edge_start + self.edge_count - 1)[:-1]] = False
            ex0, ey0, ex1, ey1 = (c[real] for c in self.seg_box)
            i0 = np.clip(np.floor((ex0 - m - x0) / d), 0, nx - 1).astype(np.int64)
            i1 = np.clip(np.floor((ex1 + m - x0) / d), 0, nx - 1).astype(np.int64)
            j0 = np.clip(np.floor((ey0 - m - y0) / d), 0, ny - 1).astype(np.int64)
            j1 = np.clip(np.floor((ey1 + m - y0) / d), 0, ny - 1).astype(np.int64)
            wi, wj = i1 - i0 + 1, j1 - j0 + 1
            k = np.repeat(np.arange(len(i0)), wi * wj)
            r = np.arange(len(k)) - np.repeat(np.cumsum(wi * wj) - wi * wj, wi * wj)
            touched = np.zeros(nx * ny, dtype=bool)
            touched[(j0[k] + r // wi[k]) * nx + i0[k] + r % wi[k]] = True
            # a row's consecutive clear cells share a side no boundary crosses: one point labels the whole run
            clear = ~touched
            start = clear.copy()
            start[1:] &= ~clear[:-1] | (np.arange(1, nx * ny) % nx == 0)
            first = np.flatnonzero(start)
            run = np.cumsum(start) - 1
            centre = np.column_stack([x0 + d * (first % nx + 0.5), y0 + d * (first // nx + 0.5)])
            cell = np.where(clear, _label_exact(centre, self, np.zeros(len(first), dtype=bool))[run], -1)
            self._grid = (float(x0), float(y0), float(d), nx, ny, cell)
            blocked = np.zeros((ny + 1, nx + 1), dtype=np.int64)  # cells not clear, summed over rows and columns
            blocked[1:, 1:] = np.cumsum(np.cumsum((cell < 0).reshape(ny, nx), axis=0), axis=1)
            self._blocked = blocked
        return self._grid

    def clear_boxes(self, bx0: np.ndarray, by0: np.ndarray, bx1: np.ndarray, by1: np.ndarray) -> np.ndarray:
        """Per box: whether it lies wholly in clear grid cells (no boundary within GRID_MARGIN_DEG of it)."""
        x0, y0, d, nx, ny, _ = self.grid()
        i0, i1 = np.floor((bx0 - x0) / d), np.floor((bx1 - x0) / d)
        j0, j1 = np.floor((by0 - y0) / d), np.floor((by1 - y0) / d)
        on = (i0 >= 0) & (i1 < nx) & (j0 >= 0) & (j1 < ny)
        i0, i1, j0, j1 = (np.where(on, v, 0).astype(np.int64) for v in (i0, i1, j0, j1))
        s = self._blocked
        n = s[j1 + 1, i1 + 1] - s[j0, i1 + 1] - s[j1 + 1, i0] + s[j0, i0]
        return np.asarray(on & (n == 0))

    def grid_cells(self, xy: np.ndarray) -> np.ndarray:
        """Per point: its grid cell's value (see ``grid``), -1 for points off the grid."""
        x0, y0, d, nx, ny, cell = self.grid()
        i = np.floor((xy[:, 0] - x0) / d)
        j = np.floor((xy[:, 1] - y0) / d)
        on = (i >= 0) & (i < nx) & (j >= 0) & (j < ny)
        out = np.full(len(xy), -1, dtype=np.int64)
        out[on] = cell[(j[on] * nx + i[on]).astype(np.int64)]
        return out


def pieces(coords: np.ndarray, layer: Layer, min_excursion_km: float = MIN_EXCURSION_KM) -> list[Piece]:
    """Ordered runs of one line (N x 2 lon/lat array) inside each polygon of ``layer``."""
    return pieces_many([coords], layer, min_excursion_km)[0]


def pieces_many(
    lines: Sequence[np.ndarray], layer: Layer, min_excursion_km: float = MIN_EXCURSION_KM
) -> list[list[Piece]]:
    """``pieces`` for many lines at once (``Piece`` objects built from ``split``)."""
    r = split(lines, layer, min_excursion_km)
    labels = [*layer.labels, None]
    out: list[list[Piece]] = [[] for _ in lines]
    for ln, lab, a, b, s, e in zip(r.line.tolist(), r.label.tolist(), r.start_km.tolist(), r.end_km.tolist(),
                                   r.start.tolist(), r.end.tolist()):
        out[ln].append(Piece(labels[lab], a, b, (s[0], s[1]), (e[0], e[1])))
    return out


def split(lines: Sequence[np.ndarray], layer: Layer, min_excursion_km: float = MIN_EXCURSION_KM) -> Runs:
    """Ordered runs of many lines (each an N x 2 lon/lat array, N >= 2) inside the polygons of ``layer``."""
    n_lines = len(lines)
    counts = np.fromiter((len(c) for c in lines), dtype=np.int64, count=n_lines)
    if (counts < 2).any():
        raise ValueError("every line needs at least two vertices")
    if not n_lines:
        return split_xy(np.empty((0, 2)), counts, layer, min_excursion_km)
    xy = np.concatenate(lines) if n_lines > 1 else np.asarray(lines[0])
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.dtype != np.float64:  # z values, integers ...
        xy = np.concatenate([np.asarray(c, dtype=float).reshape(len(c), -1)[:, :2] for c in lines])
    return split_xy(xy, counts, layer, min_excursion_km)


def split_xy(xy: np.ndarray, counts: np.ndarray, layer: Layer, min_excursion_km: float = MIN_EXCURSION_KM,
             segment_km: np.ndarray | None = None) -> Runs:
    """``split`` of lines given as one (n, 2) float lon/lat array, line after line, and each line's vertex count.

    ``segment_km``: the geodesic km of every segment (line by line, as ``Runs.segment_km``) when the caller has
    them already, each exactly ``GEOD.inv(...)[2] / 1000.0`` of its two vertices (a route over the network keeps
    them per network segment): they are not measured again. A segment cut by a boundary is measured piece by
    piece all the same."""
    counts = np.asarray(counts, dtype=np.int64)
    n_lines = len(counts)
    if (counts < 2).any():
        raise ValueError("every line needs at least two vertices")
    if not n_lines:
        e = np.empty(0)
        return Runs(e.astype(np.int64), e.astype(np.int64), e, e, np.empty((0, 2)), np.empty((0, 2)), e)
    if n_lines == 1:
        return _split_line(np.asarray(xy), layer, min_excursion_km, segment_km)
    nseg = counts - 1
    seg_end = np.cumsum(nseg)
    seg0 = seg_end - nseg  # first segment of each line
    line_of_vertex = np.repeat(np.arange(n_lines), counts)
    is_first = np.ones(len(xy), dtype=bool)  # vertex i starts segment i - (its line's index) unless last of line
    is_first[np.cumsum(counts) - 1] = False
    a_idx = np.flatnonzero(is_first)
    a, b = xy[a_idx], xy[a_idx + 1]
    seg_line = line_of_vertex[a_idx]

    cseg, cxy, along = _cuts(a, b, counts, layer)
    nc = len(cseg)

    # geodesic length of every segment; a cut segment is measured piece by piece (vertex, cuts ..., vertex):
    # one geodesic call for both
    cut_km = np.zeros(nc)
    if nc:
        first_in_seg, last_in_seg, whole, pp, pq = _cut_pieces(a, b, cseg, cxy)
        px, qx = np.concatenate([a[whole], pp]), np.concatenate([b[whole], pq])
        n_whole = int(whole.sum())
    else:
        whole, px, qx, n_whole = np.ones(len(a), dtype=bool), a, b, len(a)
    if segment_km is not None:  # the whole segments' lengths are known: measure only the pieces of cut ones
        if len(segment_km) != len(a):
            raise ValueError(f"segment_km holds {len(segment_km)} lengths for {len(a)} segments")
        px, qx = px[n_whole:], qx[n_whole:]
    km = np.asarray(GEOD.inv(px[:, 0], px[:, 1], qx[:, 0], qx[:, 1])[2]) / 1000.0 if len(px) else np.zeros(0)
    seg_km = np.zeros(len(a))
    if segment_km is None:
        seg_km[whole] = km[:n_whole]
        sub_km = km[n_whole:]
    else:
        seg_km[whole] = np.asarray(segment_km, dtype=float)[whole]
        sub_km = km
    if nc:
        seg_km += np.bincount(np.concatenate([cseg, cseg[last_in_seg]]), weights=sub_km, minlength=len(a))
        start_of = np.flatnonzero(first_in_seg)  # km from the segment's first vertex to each cut
        within = _running_sum(sub_km[:nc], start_of, np.diff(np.append(start_of, nc))) + sub_km[:nc]
    # chainage: km at each segment's start (from its line's start), km at each cut
    seg_start_km = _running_sum(seg_km, seg0, nseg)
    line_km = seg_start_km[seg_end - 1] + seg_km[seg_end - 1]
    if nc:
        cut_km = seg_start_km[cseg] + within

    # stretches between cuts, in order along each line: each line's start, then its cuts
    cut_line = seg_line[cseg]
    per_line = np.bincount(cut_line, minlength=n_lines)
    line_pos = np.arange(n_lines) + np.cumsum(per_line) - per_line
    cut_pos = np.arange(nc) + cut_line + 1
    m = n_lines + nc
    s_line = np.empty(m, dtype=np.int64)
    s_line[line_pos], s_line[cut_pos] = np.arange(n_lines), cut_line
    s_km = np.empty(m)
    s_km[line_pos], s_km[cut_pos] = 0.0, cut_km
    s_xy = np.empty((m, 2))
    s_xy[line_pos], s_xy[cut_pos] = xy[seg0 + np.arange(n_lines)], cxy
    s_seg = np.empty(m, dtype=np.int64)  # the segment holding the stretch's first sub-segment
    s_seg[line_pos], s_seg[cut_pos] = seg0, cseg
    # that sub-segment ends at the next cut when it is on the same segment, else at the segment's end
    s_next = b[s_seg]
    same = np.zeros(m, dtype=bool)
    same[:-1] = (s_seg[1:] == s_seg[:-1]) & (s_line[1:] == s_line[:-1])
    s_next[same] = s_xy[1:][same[:-1]]
    s_label = label_points((s_xy + s_next) / 2.0, layer, along[s_seg])

    # runs: consecutive stretches with one label
    new = np.ones(m, dtype=bool)
    new[1:] = (s_line[1:] != s_line[:-1]) | (s_label[1:] != s_label[:-1])
    idx = np.flatnonzero(new)
    r_line, r_label, r_start_km, r_start = s_line[idx], s_label[idx], s_km[idx], s_xy[idx]
    last_of_line = np.ones(len(idx), dtype=bool)
    last_of_line[:-1] = r_line[1:] != r_line[:-1]
    r_end_km = line_km[r_line]
    r_end = xy[(np.cumsum(counts) - 1)[r_line]]
    r_end_km[:-1][~last_of_line[:-1]] = r_start_km[1:][~last_of_line[:-1]]
    r_end[:-1][~last_of_line[:-1]] = r_start[1:][~last_of_line[:-1]]
    runs = Runs(r_line, r_label, r_start_km, r_end_km, r_start, r_end)
    return _fold(runs, n_lines, min_excursion_km, outside=len(layer.labels))._replace(segment_km=seg_km)


def _cut_pieces(a: np.ndarray, b: np.ndarray, cseg: np.ndarray, cxy: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pieces of the cut segments (segment a -> b cut at cxy, cuts in order along each): whether each cut is
    the first / last of its segment, which segments are whole (not cut), and the start and end point of every
    piece: one per cut (from the vertex or the previous cut to the cut), then one per cut segment (its last cut
    to its end vertex)."""
    nc = len(cseg)
    first_in_seg = np.ones(nc, dtype=bool)
    first_in_seg[1:] = cseg[1:] != cseg[:-1]
    last_in_seg = np.ones(nc, dtype=bool)
    last_in_seg[:-1] = first_in_seg[1:]
    prev_xy = a[cseg]
    prev_xy[1:][~first_in_seg[1:]] = cxy[:-1][~first_in_seg[1:]]
    whole = np.ones(len(a), dtype=bool)
    whole[cseg] = False
    return (first_in_seg, last_in_seg, whole, np.concatenate([prev_xy, cxy[last_in_seg]]),
            np.concatenate([cxy, b[cseg[last_in_seg]]]))


def _split_line(xy: np.ndarray, layer: Layer, min_excursion_km: float, segment_km: np.ndarray | None) -> Runs:
    """``split_xy`` of one line: the same steps on the same values (so the same runs, bit for bit: a running sum
    of one group is its ``np.cumsum``), without the bookkeeping of many lines (a third of the time of a route)."""
    a, b = xy[:-1], xy[1:]
    n = len(a)
    cseg, cxy, along = _cuts(a, b, np.array([len(xy)]), layer, LINE_CHUNK_SEGMENTS)
    nc = len(cseg)
    if segment_km is not None and len(segment_km) != n:
        raise ValueError(f"segment_km holds {len(segment_km)} lengths for {n} segments")
    if 0 < nc <= FEW_CUTS:
        return _split_few(xy, cseg, cxy, along, layer, min_excursion_km, segment_km)
    if nc:  # a cut segment is measured piece by piece: vertex, cuts ..., vertex
        first_in_seg, last_in_seg, whole, px, qx = _cut_pieces(a, b, cseg, cxy)
        sub_km = np.asarray(GEOD.inv(px[:, 0], px[:, 1], qx[:, 0], qx[:, 1])[2]) / 1000.0
        seg_km = np.zeros(n)
        if segment_km is None:
            aw, bw = a[whole], b[whole]
            seg_km[whole] = np.asarray(GEOD.inv(aw[:, 0], aw[:, 1], bw[:, 0], bw[:, 1])[2]) / 1000.0
        else:
            seg_km[whole] = np.asarray(segment_km, dtype=float)[whole]
        seg_km += np.bincount(np.concatenate([cseg, cseg[last_in_seg]]), weights=sub_km, minlength=n)
        start_of = np.flatnonzero(first_in_seg)
        if len(start_of) == nc:  # one cut per cut segment (the usual): no running sum within a segment
            within = sub_km[:nc] + 0.0
        elif nc <= 64:  # a few: the running sum's additions, in its order, in plain Python
            out, run = [], None
            for v, f in zip(sub_km[:nc].tolist(), first_in_seg.tolist()):
                run = None if f else run
                out.append((0.0 if run is None else run) + v)
                run = v if run is None else run + v
            within = np.array(out)
        else:
            within = _running_sum(sub_km[:nc], start_of, np.diff(np.append(start_of, nc))) + sub_km[:nc]
    elif segment_km is None:
        seg_km = np.asarray(GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]) / 1000.0
    else:
        seg_km = np.array(segment_km, dtype=float)
    run_km = np.cumsum(seg_km)
    line_km = float(run_km[-1])  # (km at the last segment's start) + its km, as the running sum adds it
    if not nc:
        lab = label_points((xy[:1] + b[:1]) / 2.0, layer, along[:1])
        return Runs(np.zeros(1, dtype=np.int64), lab, np.zeros(1), np.array([line_km]), xy[:1].copy(),
                    xy[-1:].copy(), seg_km)
    s_km = np.concatenate([[0.0], np.where(cseg > 0, run_km[cseg - 1], 0.0) + within])  # km at the start, cuts
    s_xy = np.concatenate([xy[:1], cxy])
    s_seg = np.concatenate([[0], cseg])  # the segment holding the stretch's first sub-segment
    s_next = b[s_seg]  # that sub-segment ends at the next cut when it is on the same segment, else at its end
    same = np.zeros(nc + 1, dtype=bool)
    same[:-1] = s_seg[1:] == s_seg[:-1]
    s_next[same] = s_xy[1:][same[:-1]]
    s_label = label_points((s_xy + s_next) / 2.0, layer, along[s_seg])
    new = np.ones(nc + 1, dtype=bool)
    new[1:] = s_label[1:] != s_label[:-1]
    idx = np.flatnonzero(new)
    r_start_km, r_start = s_km[idx], s_xy[idx]
    runs = Runs(np.zeros(len(idx), dtype=np.int64), s_label[idx], r_start_km, np.append(r_start_km[1:], line_km),
                r_start, np.concatenate([r_start[1:], xy[-1:]]))
    return _fold(runs, 1, min_excursion_km, outside=len(layer.labels))._replace(segment_km=seg_km)


FEW_CUTS = 16  # up to this many cuts, one line's stretches are built in plain Python (fewer array steps)


def _split_few(xy: np.ndarray, cseg: np.ndarray, cxy: np.ndarray, along: np.ndarray, layer: Layer,
               min_excursion_km: float, segment_km: np.ndarray | None) -> Runs:
    """``_split_line`` of a line with a few cuts: the same values by the same operations (the pieces of a cut
    segment added from 0.0 in the order ``np.bincount`` adds them, running sums in order), most of them on
    Python floats, which add, multiply and divide as numpy's float64 does."""
    a, b = xy[:-1], xy[1:]
    nc = len(cseg)
    cs, cx = cseg.tolist(), cxy.tolist()
    a_at, b_at = a[cseg].tolist(), b[cseg].tolist()
    first = [True] + [cs[k] != cs[k - 1] for k in range(1, nc)]
    last = first[1:] + [True]
    # pieces: vertex or previous cut -> each cut, then each cut segment's last cut -> its end vertex
    px = [a_at[k] if first[k] else cx[k - 1] for k in range(nc)] + [cx[k] for k in range(nc) if last[k]]
    qx = cx + [b_at[k] for k in range(nc) if last[k]]
    p, q = np.array(px), np.array(qx)
    sub = (np.asarray(GEOD.inv(p[:, 0], p[:, 1], q[:, 0], q[:, 1])[2]) / 1000.0).tolist()
    if segment_km is None:
        seg_km = np.asarray(GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]) / 1000.0
    else:
        seg_km = np.array(segment_km, dtype=float)
    tail = iter(sub[nc:])
    within: list[float] = []
    total = run = 0.0
    for k in range(nc):
        if first[k]:
            total, run = 0.0 + sub[k], sub[k]
            within.append(0.0 + sub[k])
        else:
            total += sub[k]
            within.append(run + sub[k])
            run += sub[k]
        if last[k]:
            seg_km[cs[k]] = total + next(tail)
    run_km = np.cumsum(seg_km)
    line_km = float(run_km[-1])
    before = run_km[np.maximum(cseg - 1, 0)].tolist()
    s_km = [0.0] + [(before[k] if cs[k] > 0 else 0.0) + within[k] for k in range(nc)]
    s_xy = [xy[0].tolist()] + cx
    s_seg = [0] + cs
    b0 = b[0].tolist()
    mids = []
    for i in range(nc + 1):  # each stretch's first sub-segment ends at the next cut on its segment, or the end
        nxt = s_xy[i + 1] if i < nc and s_seg[i + 1] == s_seg[i] else (b_at[i - 1] if i else b0)
        mids.append(((s_xy[i][0] + nxt[0]) / 2.0, (s_xy[i][1] + nxt[1]) / 2.0))
    lab = label_points(np.array(mids), layer, along[s_seg]).tolist()
    idx = [i for i in range(nc + 1) if i == 0 or lab[i] != lab[i - 1]]
    start_km = [s_km[i] for i in idx]
    start = [s_xy[i] for i in idx]
    runs = Runs(np.zeros(len(idx), dtype=np.int64), np.array([lab[i] for i in idx], dtype=np.int64),
                np.array(start_km), np.array(start_km[1:] + [line_km]), np.array(start, dtype=float),
                np.array(start[1:] + [xy[-1].tolist()], dtype=float))
    return _fold(runs, 1, min_excursion_km, outside=len(layer.labels))._replace(segment_km=seg_km)


def _running_sum(values: np.ndarray, first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` before each element, restarting at each group (``first`` index, ``count``).
    Summed group by group, so a line's figures are bitwise the same whatever lines are batched with it (a global
    cumsum minus the group's start would carry rounding from the lines before it). The groups are laid out as
    rows of a zero-padded matrix (rows of one power-of-two width at a time) and summed along the rows: each
    row's sums are added in the same order as ``np.cumsum`` of that group alone, so they are bitwise equal."""
    out = np.zeros_like(values)
    m = np.asarray(count, dtype=np.int64) - 1  # sums per group: element s + 1 + j gets values[s] + ... + values[s + j]
    g = np.flatnonzero(m > 0)
    if not len(g):
        return out
    width = np.left_shift(1, np.ceil(np.log2(m[g])).astype(np.int64))  # padding wastes at most half of a row
    for w in np.unique(width).tolist():
        rows = g[width == w]
        col = np.arange(w)
        idx = first[rows, None] + col[None, :]
        used = col[None, :] < m[rows, None]
        vals = np.where(used, values[np.minimum(idx, len(values) - 1)], 0.0)
        out[idx[used] + 1] = np.cumsum(vals, axis=1)[used]
    return out


def _cuts(a: np.ndarray, b: np.ndarray, counts: np.ndarray, layer: Layer, chunk: int = CHUNK_SEGMENTS
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where segments a->b meet the layer's boundaries: (segment index, lon/lat) in order along each line, and
    which segments run along a boundary. ``chunk``: segments per box queried (any size gives the same cuts)."""
    # boxes of runs of up to ``chunk`` segments query the boundary index: tight enough for long lines
    sx0, sx1 = np.minimum(a[:, 0], b[:, 0]), np.maximum(a[:, 0], b[:, 0])
    sy0, sy1 = np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 1], b[:, 1])
    if len(counts) == 1:
        seg0 = np.zeros(1, dtype=np.int64)
        c0 = np.arange(0, len(a), chunk)
    else:
        nseg = counts - 1
        seg0 = np.cumsum(nseg) - nseg
        nchunk = -(-nseg // chunk)
        c0 = np.repeat(seg0, nchunk) + chunk * (np.arange(nchunk.sum()) - np.repeat(np.cumsum(nchunk) - nchunk,
                                                                                  nchunk))
    corners = np.empty((len(c0), 2, 2))  # the diagonal of each chunk's box: same envelope, cheaper than a box
    corners[:, 0, 0], corners[:, 0, 1] = np.minimum.reduceat(sx0, c0), np.minimum.reduceat(sy0, c0)
    corners[:, 1, 0], corners[:, 1, 1] = np.maximum.reduceat(sx1, c0), np.maximum.reduceat(sy1, c0)
    if len(c0) >= GRID_MIN_POINTS:  # chunks whose box lies in clear grid cells meet no boundary
        near = np.flatnonzero(~layer.clear_boxes(corners[:, 0, 0], corners[:, 0, 1], corners[:, 1, 0],
                                                 corners[:, 1, 1]))
        ci, ei = layer.edge_tree.query(shapely.linestrings(corners[near]))
        ci = near[ci]
    else:
        ci, ei = layer.edge_tree.query(shapely.linestrings(corners))
    along = np.zeros(len(a), dtype=bool)  # segments that run along a boundary segment
    empty = (np.empty(0, dtype=np.int64), np.empty((0, 2)), along)
    if not len(ci):
        return empty
    if len(counts) == 1:  # few pairs: each chunk's segments with each boundary segment of its edges at once
        k = np.minimum(chunk, len(a) - c0[ci])
        m = layer.edge_count[ei] - 1
        km = k * m
        r = np.arange(int(km.sum())) - np.repeat(np.cumsum(km) - km, km)
        mm = np.repeat(m, km)
        seg = np.repeat(c0[ci], km) + r // mm  # segment by segment, each with the edge's boundary segments in order
        q = np.repeat(layer.edge_start[ei], km) + r % mm
    else:
        # (segment, edge) pairs whose boxes overlap (a boundary segment's box lies in its edge's box)
        k = np.diff(np.append(c0, len(a)))[ci]  # the chunks tile the segments
        seg = np.arange(int(k.sum())) + np.repeat(c0[ci] - (np.cumsum(k) - k), k)
        ex0, ey0, ex1, ey1 = (np.repeat(col[ei], k) for col in layer.edge_box)
        ok = (sx0[seg] <= ex1) & (sx1[seg] >= ex0) & (sy0[seg] <= ey1) & (sy1[seg] >= ey0)
        hit = np.flatnonzero(ok)
        seg, edge = seg[hit], np.repeat(ei, k)[hit]
        m = layer.edge_count[edge] - 1
        seg = np.repeat(seg, m)
        q = np.arange(int(m.sum())) + np.repeat(layer.edge_start[edge] - (np.cumsum(m) - m), m)
    # (segment, boundary segment) pairs whose boxes overlap
    qx0, qy0, qx1, qy1 = (col[q] for col in layer.seg_box)
    hit = np.flatnonzero((sx0[seg] <= qx1) & (sx1[seg] >= qx0) & (sy0[seg] <= qy1) & (sy1[seg] >= qy0))
    seg, q = seg[hit], q[hit]
    p0, p1, q0, q1 = a[seg], b[seg], layer.edge_xy[q], layer.edge_xy[q + 1]
    r, s, w = p1 - p0, q1 - q0, q0 - p0
    den = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]
    wr = w[:, 0] * r[:, 1] - w[:, 1] * r[:, 0]
    ws = w[:, 0] * s[:, 1] - w[:, 1] * s[:, 0]
    rr = r[:, 0] * r[:, 0] + r[:, 1] * r[:, 1]
    # a boundary segment whose both ends lie within ON_BOUNDARY_DEG of the line through the segment runs along it
    tol = ON_BOUNDARY_DEG * np.sqrt(rr)
    col = (np.abs(wr) <= tol) & (np.abs(wr - den) <= tol)  # cross products of q0 - p0 and q1 - p0 with r
    eps = 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        t = ws / den
        u = wr / den
    cross = ~col & (den != 0) & (t >= -eps) & (t <= 1 + eps) & (u >= -eps) & (u <= 1 + eps)
    out_seg, out_t = [seg[cross]], [np.minimum(np.maximum(0.0, t[cross]), 1.0)]  # np.clip, without its wrapper
    if col.any():  # collinear: the boundary segment's ends that lie on the line's segment are cuts
        with np.errstate(divide="ignore", invalid="ignore"):  # a zero-length segment (a repeated vertex): NaN, no cut
            t0 = (w[col] * r[col]).sum(axis=1) / rr[col]
            t1 = t0 + (s[col] * r[col]).sum(axis=1) / rr[col]
        overlap = np.minimum(np.maximum(t0, t1), 1.0) - np.maximum(np.minimum(t0, t1), 0.0)
        along[seg[col][overlap > 0]] = True
        for tq in (t0, t1):
            inside = (tq >= 0.0) & (tq <= 1.0)
            out_seg.append(seg[col][inside])
            out_t.append(tq[inside])
    cseg, ct = np.concatenate(out_seg), np.concatenate(out_t)
    seglen = np.hypot(*(b[cseg] - a[cseg]).T)
    # a cut within 1e-12 degrees of a vertex is that vertex (the start of the next segment): a line may change
    # polygon at a vertex that lies on a boundary. The line's own ends are no cuts. Duplicates go.
    at_end = (1.0 - ct) * seglen <= 1e-12
    cseg, ct = np.where(at_end, cseg + 1, cseg), np.where(at_end | (ct * seglen <= 1e-12), 0.0, ct)
    # a line's last vertex became (next line's first segment, 0) or (one past the end, 0): no cut, as its first
    if len(counts) == 1:
        keep = ((ct > 0.0) | (cseg != 0)) & (cseg < len(a))
    else:
        line_start = np.zeros(len(a) + 1, dtype=bool)
        line_start[seg0] = True
        keep = ((ct > 0.0) | ~line_start[cseg]) & (cseg < len(a))
    cseg, ct = cseg[keep], ct[keep]
    if len(cseg) > 1:  # in order along the line, duplicates dropped
        seglen = np.hypot(*(b[cseg] - a[cseg]).T)
        order = np.lexsort((ct, cseg))
        cseg, ct, seglen = cseg[order], ct[order], seglen[order]
        dup = np.zeros(len(cseg), dtype=bool)
        dup[1:] = (cseg[1:] == cseg[:-1]) & (np.diff(ct) * seglen[1:] <= 1e-12)
        cseg, ct = cseg[~dup], ct[~dup]
    cxy = a[cseg] + ct[:, None] * (b[cseg] - a[cseg])
    return cseg, cxy, along


def label_points(xy: np.ndarray, layer: Layer, maybe_on_boundary: np.ndarray | None = None) -> np.ndarray:
    """Index of the polygon holding each point (``len(layer.labels)`` outside every polygon).

    Where polygons overlap the lowest layer index wins. A point within ``ON_BOUNDARY_DEG`` of a boundary
    belongs to the lowest-index polygon whose boundary it lies on (or that holds it); only the points flagged in
    ``maybe_on_boundary`` (default: all) are tested for that. For many points, those in a clear cell of the
    layer's grid take the cell's label (the same answer, see ``Layer.grid``); the others are tested exactly.
    """
    if len(xy) < GRID_MIN_POINTS:
        return _label_exact(xy, layer, maybe_on_boundary)
    label = layer.grid_cells(xy)
    rest = np.flatnonzero(label < 0)
    if len(rest):
        label[rest] = _label_exact(xy[rest], layer, None if maybe_on_boundary is None else maybe_on_boundary[rest])
    return label


def _label_exact(xy: np.ndarray, layer: Layer, maybe_on_boundary: np.ndarray | None) -> np.ndarray:
    """``label_points`` by point-in-polygon and boundary distance tests for every point."""
    label = np.full(len(xy), len(layer.labels), dtype=np.int64)
    if not len(xy):
        return label
    if len(layer.polygons) <= SMALL_LAYER:  # few polygons: their boxes tested in numpy, no point objects
        x0, y0, x1, y1 = layer.poly_box
        mi, pi = np.nonzero((xy[:, :1] >= x0) & (xy[:, :1] <= x1) & (xy[:, 1:] >= y0) & (xy[:, 1:] <= y1))
    else:
        mi, pi = layer.poly_tree.query(shapely.points(xy))
    inside = shapely.contains_xy(layer.polygons[pi], xy[mi, 0], xy[mi, 1])
    np.minimum.at(label, mi[inside], pi[inside])
    check = np.arange(len(xy)) if maybe_on_boundary is None else np.flatnonzero(maybe_on_boundary)
    if len(check):
        bi, ei = layer.edge_tree.query(shapely.points(xy[check]), predicate="dwithin", distance=ON_BOUNDARY_DEG)
        np.minimum.at(label, check[bi], layer.edge_owner[ei])
    return label


def _fold(runs: Runs, n_lines: int, limit: float, outside: int) -> Runs:
    """Fold short runs (see ``_fold_line``) of the lines that have any; other lines pass through untouched."""
    length = runs.end_km - runs.start_km
    n_runs = np.bincount(runs.line, minlength=n_lines)
    short = np.bincount(runs.line, weights=length < limit, minlength=n_lines) > 0
    todo = np.flatnonzero(short & (n_runs > 1))
    if not len(todo):
        return runs
    bounds = np.concatenate([[0], np.cumsum(n_runs)])
    folded = np.zeros(n_lines, dtype=bool)
    folded[todo] = True
    keep = ~folded[runs.line]
    parts: list[tuple[int, int, float, float, list[float], list[float]]] = []
    for ln in todo.tolist():
        s0, s1 = int(bounds[ln]), int(bounds[ln + 1])
        rows = [[lab, a, b, s, e] for lab, a, b, s, e in zip(
            runs.label[s0:s1].tolist(), runs.start_km[s0:s1].tolist(), runs.end_km[s0:s1].tolist(),
            runs.start[s0:s1].tolist(), runs.end[s0:s1].tolist())]
        parts += [(ln, lab, a, b, s, e) for lab, a, b, s, e in _fold_line(rows, limit, outside)]
    line = np.concatenate([runs.line[keep], np.array([p[0] for p in parts], dtype=np.int64)])
    order = np.argsort(line, kind="stable")
    return Runs(
        line[order],
        np.concatenate([runs.label[keep], np.array([p[1] for p in parts], dtype=np.int64)])[order],
        np.concatenate([runs.start_km[keep], np.array([p[2] for p in parts])])[order],
        np.concatenate([runs.end_km[keep], np.array([p[3] for p in parts])])[order],
        np.concatenate([runs.start[keep], np.array([p[4] for p in parts]).reshape(-1, 2)])[order],
        np.concatenate([runs.end[keep], np.array([p[5] for p in parts]).reshape(-1, 2)])[order],
    )


def _fold_line(runs: list[list[Any]], limit: float, outside: int) -> list[list[Any]]:
    """Merge short runs into their neighbours, shortest first: a brief exit and return, or a sliver at an end.

    Shortest first makes the result independent of the line's direction. A sliver of land at an end is kept
    when its neighbour is open water: a route that starts at a port on the coast starts in that port's country.
    Each run is [label, start_km, end_km, start_xy, end_xy]. A heap keeps the candidates: O(n log n).
    """
    n = len(runs)
    prev = list(range(-1, n - 1))
    nxt = [*range(1, n), -1]
    alive = [True] * n
    left = n
    heap = [(r[2] - r[1], i) for i, r in enumerate(runs) if r[2] - r[1] < limit]
    heapq.heapify(heap)
    while heap and left > 1:
        length, i = heapq.heappop(heap)
        if not alive[i] or runs[i][2] - runs[i][1] != length:
            continue  # gone, or a stale entry (the run grew)
        p, q = prev[i], nxt[i]
        lab = runs[i][0]
        if p >= 0 and q >= 0:
            if runs[p][0] != runs[q][0]:
                continue  # between two different polygons: a real (short) passage
            runs[p][2], runs[p][4] = runs[q][2], runs[q][4]
            alive[i] = alive[q] = False
            left -= 2
            nxt[p] = nxt[q]
            if nxt[q] >= 0:
                prev[nxt[q]] = p
            touched = [p, prev[p], nxt[p]]
        else:
            nb = p if p >= 0 else q
            if nb < 0 or (lab != outside and runs[nb][0] == outside):
                continue
            if p >= 0:
                runs[p][2], runs[p][4] = runs[i][2], runs[i][4]
                nxt[p] = -1
            else:
                runs[q][1], runs[q][3] = runs[i][1], runs[i][3]
                prev[q] = -1
            alive[i] = False
            left -= 1
            touched = [nb, prev[nb], nxt[nb]]
        for j in touched:  # their length or neighbours changed: they may fold now
            if j >= 0 and runs[j][2] - runs[j][1] < limit:
                heapq.heappush(heap, (runs[j][2] - runs[j][1], j))
    return [r for r, a in zip(runs, alive) if a]
