"""The shortcuts of the vectorised analysis give exactly the answers of the plain tests they skip (issue 14).

- ``Layer.grid``: a point in a clear cell gets the label the point-in-polygon and boundary tests give, and a box
  called clear meets no boundary;
- ``borders._running_sum`` (padded rows) is bitwise the per-group ``np.cumsum``;
- ``borders.split_xy`` on flat arrays is ``borders.split`` on a list of lines;
- the swap warning does not flag random walks (it flagged 2.5 % of them before).
"""

import warnings

import geopandas as gpd
import numpy as np
import shapely

import corridors
from corridors import analysis, borders


def _countries() -> borders.Layer:
    c = corridors.countries()
    return borders.Layer(c.geometry.values, c.iso_a3.tolist())


def _points_near_boundaries(layer: borders.Layer, rng: np.random.Generator, n: int) -> np.ndarray:
    x0, y0 = layer.poly_box[0].min() - 2, layer.poly_box[1].min() - 2
    x1, y1 = layer.poly_box[2].max() + 2, layer.poly_box[3].max() + 2
    spread = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
    v = layer.edge_xy[rng.integers(0, len(layer.edge_xy), n)]
    near = v + rng.normal(0, 1e-6, (n, 2))  # within about 0.1 m of a boundary vertex
    close = v + rng.normal(0, 1e-3, (n, 2))
    return np.concatenate([spread, v, near, close])


def test_grid_labels_are_the_exact_labels() -> None:
    rng = np.random.default_rng(14)
    for layer in (_countries(), borders.Layer(  # overlapping polygons and a hole: the lowest index wins
            [shapely.box(60, 38, 70, 46), shapely.box(65, 40, 80, 50),
             shapely.Polygon([(50, 30), (90, 30), (90, 55), (50, 55)], [[(55, 35), (58, 35), (58, 38), (55, 38)]])],
            ["a", "b", "c"])):
        xy = _points_near_boundaries(layer, rng, 40_000)
        assert len(xy) >= borders.GRID_MIN_POINTS
        flags = rng.random(len(xy)) < 0.5
        for maybe in (None, flags):
            assert np.array_equal(borders.label_points(xy, layer, maybe), borders._label_exact(xy, layer, maybe))
        assert (layer.grid()[5] >= 0).mean() > 0.3  # the grid does spare work


def test_clear_boxes_meet_no_boundary() -> None:
    layer = _countries()
    rng = np.random.default_rng(3)
    x = rng.uniform(25, 125, 20_000)
    y = rng.uniform(20, 60, 20_000)
    w, h = rng.exponential(0.3, 20_000), rng.exponential(0.3, 20_000)
    clear = layer.clear_boxes(x, y, x + w, y + h)
    assert 0.1 < clear.mean() < 0.9
    outlines = shapely.STRtree(shapely.get_parts(shapely.boundary(layer.polygons)))  # every ring, whole
    boxes = shapely.box(x[clear], y[clear], x[clear] + w[clear], y[clear] + h[clear])
    assert not len(outlines.query(boxes, predicate="dwithin", distance=borders.GRID_MARGIN_DEG)[0])
    others = shapely.box(x[~clear], y[~clear], x[~clear] + w[~clear], y[~clear] + h[~clear])
    assert len(np.unique(outlines.query(others, predicate="intersects")[0])) > 0.5 * len(others)


def test_running_sum_is_bitwise_the_cumsum_of_each_group() -> None:
    rng = np.random.default_rng(0)
    for t in range(100):
        count = rng.integers(0, 40 if t % 2 else 3000, rng.integers(1, 200))
        count[rng.random(len(count)) < 0.3] = 1
        first = np.r_[0, np.cumsum(count)[:-1]]
        values = rng.random(int(count.sum())) * rng.choice([1e-3, 1.0, 1e4])
        want = np.zeros_like(values)
        for s, n in zip(first.tolist(), count.tolist()):
            if n > 1:
                want[s + 1:s + n] = np.cumsum(values[s:s + n - 1])
        got = borders._running_sum(values, first, count)
        assert (got.view(np.int64) == want.view(np.int64)).all()


def test_split_xy_is_split() -> None:
    layer = _countries()
    rng = np.random.default_rng(5)
    lines = [np.column_stack([rng.uniform(50, 90), rng.uniform(36, 50)]) + np.cumsum(rng.normal(0, 0.4, (n, 2)), 0)
             for n in rng.integers(2, 40, 3000)]
    a = borders.split(lines, layer)
    b = borders.split_xy(np.concatenate(lines), [len(v) for v in lines], layer)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)


def test_random_walks_are_not_flagged_as_swapped() -> None:
    rng = np.random.default_rng(1)
    start = np.column_stack([rng.uniform(50, 90, 5000), rng.uniform(36, 50, 5000)])
    xy = start[:, None, :] + np.cumsum(np.r_["1", np.zeros((5000, 1, 2)), rng.normal(0, 0.35, (5000, 19, 2))], 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = corridors.analyze_many(list(shapely.linestrings(xy)))
    flagged = sum(any("swapped" in w for w in r.warnings) for r in res)
    assert flagged <= 25  # 0.5 %; the rule before flagged about 125 (2.5 %)


def test_a_user_layer_batch_matches_route_by_route() -> None:
    """The batch path (grid, flat figures) and one-route calls (no grid) agree on a user's layer too."""
    zones = gpd.GeoDataFrame({"zone": ["west", "east", "north"]}, crs=4326,
                             geometry=[shapely.box(60, 38, 70, 46), shapely.box(70, 38, 80, 46),
                                       shapely.box(62, 50, 75, 56)])
    rng = np.random.default_rng(9)
    start = np.column_stack([rng.uniform(55, 85, 6000), rng.uniform(35, 58, 6000)])
    xy = start[:, None, :] + np.cumsum(rng.normal(0, 0.5, (6000, 12, 2)), 1)
    lines = list(shapely.linestrings(xy))
    many = corridors.analyze_many(lines, countries=zones, id_column="zone")
    for k in range(0, 6000, 97):
        one = analysis.analyze(lines[k], countries=zones, id_column="zone")
        assert one.length_by_country_km == many[k].length_by_country_km
        assert one.crossings == many[k].crossings and one.countries == many[k].countries


def test_a_frame_read_by_column_gives_what_its_rows_give() -> None:
    """``analyze_many(frame)`` reads the columns once instead of a pandas Series per row: the same figures and
    fields as analysing the rows themselves, for the shipped sections (lists, node ids) and a user's frame of
    mixed column types (numbers, NaN, None, timestamps, a projected CRS, a geometry column named otherwise)."""
    import pandas as pd

    rng = np.random.default_rng(3)
    xy = np.column_stack([rng.uniform(60, 80, 40), rng.uniform(38, 48, 40)])[:, None, :] \
        + np.cumsum(rng.normal(0, 0.4, (40, 8, 2)), 1)
    user = gpd.GeoDataFrame({"id": [f"r{i}" for i in range(40)], "k": np.arange(40),
                             "f": np.where(np.arange(40) % 3 == 0, np.nan, 1.5),
                             "corridor": [None if i % 2 else 3 for i in range(40)], "mode": "road",
                             "t": pd.Timestamp("2020-01-01")}, geometry=shapely.linestrings(xy), crs=4326)
    for frame in (corridors.sections().head(40), user, user.to_crs(3857)):
        by_column = corridors.analyze_many(frame)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            by_row = corridors.analyze_many([row for _, row in frame.to_crs(4326).iterrows()])
        assert [r.to_dict() for r in by_column] == [r.to_dict() for r in by_row]
        assert [(r.id, r.name, r.corridor, r.mode) for r in by_column] == [(r.id, r.name, r.corridor, r.mode)
                                                                         for r in by_row]
    named = gpd.GeoDataFrame(user.rename_geometry("geom"))  # the line in a column not named 'geometry'
    assert [r.to_dict() for r in corridors.analyze_many(named)] == [r.to_dict() for r in
                                                                     corridors.analyze_many(user)]


def test_boundary_edges_and_tree_equal_a_plain_cut():
    """The vectorised outline index (analysis._boundary_tree) and a Layer's edges kept in the per-user cache are
    the same edges, in the same order, as a plain per-ring loop and a fresh ``borders.boundary_edges``."""
    def plain(layer, ev=analysis.EDGE_VERTICES):
        rings, owner = shapely.get_parts(shapely.boundary(np.asarray(layer.polygons)), return_index=True)
        edges, labels = [], []
        for ring, o in zip(rings, owner):
            xy = shapely.get_coordinates(ring)
            for i in range(0, max(len(xy) - 1, 1), ev - 1):
                if len(xy[i:i + ev]) >= 2:
                    edges.append(xy[i:i + ev])
                    labels.append(layer.labels[o])
        return edges, labels

    shrunk = corridors.countries().assign(geometry=lambda d: d.geometry.simplify(0.05))  # another layer
    for layer in (analysis._countries_layer(), analysis.make_layer(shrunk, "iso_a3")):
        edges, labels = plain(layer)
        tree, got_labels = analysis._boundary_tree(layer)
        got = [shapely.get_coordinates(g) for g in tree.geometries]
        assert got_labels == labels and len(got) == len(edges) > 1000
        assert all(np.array_equal(a, b) for a, b in zip(got, edges))
        fresh = borders.boundary_edges(layer.polygons)
        assert all(np.array_equal(getattr(layer, k), v) for k, v in fresh.items())
