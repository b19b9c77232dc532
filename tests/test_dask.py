"""analyze_many(engine="dask") and analyze_traces(engine="dask"): identical to the in-memory path."""

import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import corridors
from corridors import io, scale, traces

dask_geopandas = pytest.importorskip("dask_geopandas")
distributed = pytest.importorskip("distributed")


def random_routes(n: int, seed: int = 11) -> gpd.GeoDataFrame:
    """Seeded random walks of 2 to 30 vertices starting inside the region (Caucasus to western China)."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        m = int(rng.integers(2, 31))
        start = np.array([rng.uniform(40, 90), rng.uniform(36, 52)])
        lines.append(shapely.LineString(start + np.cumsum(rng.normal(0, 0.4, (m, 2)), axis=0)))
    return gpd.GeoDataFrame({"name": [f"route {k}" for k in range(n)]}, geometry=lines, crs=4326,
                            index=pd.RangeIndex(1000, 1000 + n))


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c
        scale.client(c.scheduler_address).close()  # the client analyze_many opened for that address
        scale._remote_client.cache_clear()


@pytest.fixture(scope="module")
def routes():
    return random_routes(10_000)


@pytest.fixture(scope="module")
def expected(routes):
    return io.to_frame(corridors.analyze_many(routes)).set_axis(routes.index)


def same(got: gpd.GeoDataFrame, want: gpd.GeoDataFrame) -> None:
    pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns="geometry")),
                                  pd.DataFrame(want.drop(columns="geometry")))
    assert shapely.equals_exact(got.geometry.values, want.geometry.values, tolerance=0).all()
    assert got.crs == want.crs


def test_ten_thousand_routes_identical_to_in_memory(cluster, routes, expected):
    frame = dask_geopandas.from_geopandas(routes, npartitions=5)
    result = corridors.analyze_many(frame, engine="dask", scheduler=cluster.scheduler_address)
    assert isinstance(result, dask_geopandas.GeoDataFrame)
    assert list(result.columns) == list(expected.columns)
    got = result.compute()
    assert len(got) == 10_000
    same(got, expected)
    # real values, not just agreement: crossings happen, km per country sums to the length
    assert (got.crossings != "[]").sum() > 1000
    sums = got.length_by_country_km.map(lambda s: sum(__import__("json").loads(s).values()))
    assert np.allclose(sums, got.length_km, atol=1e-3)


def test_partitioned_geoparquet_in_and_out(tmp_path, cluster, routes):
    pytest.importorskip("pyarrow")
    src = tmp_path / "routes"
    src.mkdir()
    for k in range(3):  # a folder of GeoParquet files, in a projected CRS
        routes.iloc[k * 1000:(k + 1) * 1000].to_crs(3857).to_parquet(src / f"part.{k}.parquet")
    out = corridors.analyze_many(src, engine="dask", scheduler=cluster.scheduler_address, out=tmp_path / "res")
    assert out == tmp_path / "res" and out.is_dir()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
    # Parquet has no untyped column: all-null text columns (id, corridor, mode) come back as text with NaN
    same_input = pd.concat([gpd.read_parquet(src / f"part.{k}.parquet") for k in range(3)])
    want = io.to_frame(corridors.analyze_many(same_input)).set_axis(same_input.index)
    want = want.astype({c: "str" for c, dt in want.dtypes.items() if pd.api.types.is_object_dtype(dt)})
    same(dask_geopandas.read_parquet(out).compute().sort_index(), want)
    # written again over the old result: replaced whole
    corridors.analyze_many(src, engine="dask", scheduler=cluster.scheduler_address, out=out)
    same(dask_geopandas.read_parquet(out).compute().sort_index(), want)


def test_default_scheduler_uses_the_current_client(cluster, routes, expected):
    with distributed.Client(cluster) as client:
        assert scale.client() is client
        got = corridors.analyze_many(routes.iloc[:500], engine="dask").compute()
    same(got, expected.iloc[:500])


def test_default_boundary_layer_built_once_per_worker(cluster, routes):
    with distributed.Client(cluster) as client:
        corridors.analyze_many(routes.iloc[:200], engine="dask").compute()
        ids = client.run(lambda: id(corridors.analysis.make_layer(None)))
        corridors.analyze_many(routes.iloc[200:400], engine="dask").compute()
        assert client.run(lambda: id(corridors.analysis.make_layer(None))) == ids


def test_bad_inputs(tmp_path, cluster, routes, monkeypatch):
    with pytest.raises(corridors.RouteError, match="engine= is 'memory' or 'dask'"):
        corridors.analyze_many(routes.iloc[:2], engine="spark")
    with pytest.raises(corridors.RouteError, match="no such GeoParquet"):
        corridors.analyze_many(tmp_path / "missing", engine="dask", scheduler=cluster.scheduler_address)
    with pytest.raises(corridors.RouteError, match="no CRS"):
        corridors.analyze_many(dask_geopandas.from_geopandas(routes.iloc[:4].set_crs(None, allow_override=True),
                                                             npartitions=1),
                               engine="dask", scheduler=cluster.scheduler_address)
    with pytest.raises(corridors.RouteError, match="scheduler= must be an address"):
        corridors.analyze_many(routes.iloc[:4], engine="dask", scheduler=42)
    with pytest.raises(corridors.RouteError, match="takes a dask-geopandas GeoDataFrame"):
        corridors.analyze_many([routes.geometry.iloc[0]], engine="dask", scheduler=cluster.scheduler_address)
    monkeypatch.setitem(sys.modules, "dask_geopandas", None)
    with pytest.raises(ImportError, match=r"corridors\[dask\]"):
        corridors.analyze_many(routes.iloc[:4], engine="dask")


def test_a_bad_route_in_a_partition_names_the_problem(cluster, routes):
    bad = routes.iloc[:10].copy()
    bad.loc[1005, "geometry"] = shapely.Point(70, 45)
    with pytest.raises(corridors.RouteError, match="a single point is not a route"):
        corridors.analyze_many(dask_geopandas.from_geopandas(bad, npartitions=2), engine="dask",
                               scheduler=cluster.scheduler_address).compute()


# ---------------------------------------------------------------- traces

def test_traces_on_dask_identical(tmp_path, cluster):
    pts, truth = traces.simulate_fleet(8, seed=3)
    want = traces.analyze_traces(pts)
    by_trip = dask_geopandas.from_geopandas(pts.set_index("trip"), npartitions=3)
    assert by_trip.npartitions > 1
    got = traces.analyze_traces(by_trip, engine="dask", scheduler=cluster.scheduler_address)
    got = got.set_index("trip").loc[want.trip].reset_index()
    pd.testing.assert_frame_equal(got[["trip", "distance_km", "moving_h", "swod_kmh", "swd_kmh", "bcp_h"]],
                                  want[["trip", "distance_km", "moving_h", "swod_kmh", "swd_kmh", "bcp_h"]])
    assert got.crossings.tolist() == want.crossings.tolist()
    by_trip.to_parquet(tmp_path / "pts")
    from_files = traces.analyze_traces(tmp_path / "pts", engine="dask", scheduler=cluster.scheduler_address)
    assert sorted(from_files.trip) == sorted(want.trip)
    split = dask_geopandas.from_geopandas(pts, npartitions=7)  # row chunks: trips cut in two
    with pytest.raises(traces.TraceError, match="split across partitions"):
        traces.analyze_traces(split, engine="dask", scheduler=cluster.scheduler_address)



def test_local_cluster_by_default():
    """In a fresh process (no client yet): a LocalCluster is started on first use, and only once."""
    code = (
        "import geopandas as gpd, shapely, distributed, corridors\n"
        "from corridors import io, scale\n"
        "if __name__ == '__main__':\n"
        "    g = gpd.GeoDataFrame(geometry=[shapely.LineString([(76.9, 43.25), (74.6, 42.87)])] * 3, crs=4326)\n"
        "    got = corridors.analyze_many(g, engine='dask').compute()\n"
        "    c = scale.client()\n"
        "    assert isinstance(c.cluster, distributed.LocalCluster) and scale.client() is c\n"
        "    want = io.to_frame(corridors.analyze_many(g))\n"
        "    assert got.drop(columns='geometry').equals(want.drop(columns='geometry'))\n"
        "    print('ok', got.crossings.iloc[0][:40])\n"
        "    c.close(); c.cluster.close()\n"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("ok [{\"from\": \"KAZ\", \"to\": \"KGZ\"")
