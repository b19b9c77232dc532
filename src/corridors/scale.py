"""Route analysis beyond one process: ``analyze_many`` per partition of a dask-geopandas frame.

``analyze_many(routes, engine="dask")`` lands here. Each partition runs the ordinary in-memory
``corridors.analyze_many`` (its public API, nothing else), turned into rows by ``corridors.io.to_frame``; so
the columns and values are exactly those of ``io.to_frame(analyze_many(frame))``, and the input's index is kept
so results join back to the routes. The boundary layer is built once per worker process: the default countries
layer is cached per process by ``analysis.make_layer`` and warmed on every worker before the run.

The work runs on a ``dask.distributed`` cluster: the one given by ``scheduler=`` (an address such as
``"tcp://10.0.0.5:8786"`` or a ``distributed.Client``), else the current default client, else a LocalCluster
started once per Python process (one single-threaded worker per core: the overlay holds the GIL).

Named ``scale`` rather than ``dask`` so that nothing (a script run from this folder, a tool that puts it on
``sys.path``) can ever import this module in place of the real ``dask`` package.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from . import analysis, io

EXTRA_HINT = "engine='dask' needs dask-geopandas and distributed: pip install 'corridors[dask]'"
PARTITION_ROWS = 20_000  # rows per partition when an in-memory GeoDataFrame is split


def require() -> tuple[Any, Any]:
    """The ``dask_geopandas`` and ``distributed`` modules, or an ImportError naming the extra to install."""
    try:
        import dask_geopandas
        import distributed
    except ImportError as exc:
        raise ImportError(f"{EXTRA_HINT} ({exc})") from exc
    return dask_geopandas, distributed


# ---------------------------------------------------------------- cluster

@functools.cache
def _local_client() -> Any:
    """A LocalCluster for this process, started on first use and reused (one single-threaded worker per core)."""
    _, distributed = require()
    cluster = distributed.LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    return distributed.Client(cluster)


@functools.cache
def _remote_client(address: str) -> Any:
    _, distributed = require()
    try:
        return distributed.Client(address, timeout="20s")
    except OSError as exc:
        raise analysis.RouteError(f"cannot reach the dask scheduler at {address!r} ({exc}); start one with "
                                  "`dask scheduler` and `dask worker ADDRESS`, or leave scheduler= out for a "
                                  "local cluster") from exc


def client(scheduler: Any = None) -> Any:
    """The ``distributed.Client`` to run on: ``scheduler`` (a Client or an address), else the current default
    client, else a local cluster started once per process."""
    _, distributed = require()
    if isinstance(scheduler, distributed.Client):
        return scheduler
    if isinstance(scheduler, str):
        return _remote_client(scheduler)
    if scheduler is not None:
        raise analysis.RouteError(f"scheduler= must be an address such as 'tcp://host:8786' or a distributed.Client, "
                                  f"not a {type(scheduler).__name__}")
    try:
        return distributed.get_client()
    except ValueError:  # no client in this process yet
        return _local_client()


# ---------------------------------------------------------------- per partition

def _warm() -> bool:
    """Build this worker's default boundary layer (cached per process by ``make_layer``)."""
    analysis.make_layer(None)
    return True


def analyze_partition(part: gpd.GeoDataFrame, countries: gpd.GeoDataFrame | None = None,
                      id_column: str | None = None) -> gpd.GeoDataFrame:
    """The in-memory path on one partition: ``io.to_frame(analyze_many(part))`` with the partition's index."""
    if len(part) == 0:
        return meta_frame(part.index)
    out = io.to_frame(analysis.analyze_many(part, countries=countries, id_column=id_column))
    out.index = part.index
    return out


@functools.cache
def _meta_columns() -> gpd.GeoDataFrame:
    line = shapely.LineString([(76.9, 43.25), (76.95, 43.3)])
    return io.to_frame(analysis.analyze_many([line])).iloc[:0]


def meta_frame(index: pd.Index | None = None) -> gpd.GeoDataFrame:
    """An empty frame with the result columns and dtypes (the ``meta`` dask needs)."""
    meta = _meta_columns().copy()
    if index is not None:
        meta.index = index[:0]
    return meta


# ---------------------------------------------------------------- entry point

def _as_dask(routes: Any, dask_geopandas: Any) -> Any:
    if isinstance(routes, dask_geopandas.GeoDataFrame):
        return routes
    if isinstance(routes, str | os.PathLike):
        p = Path(routes)
        if not p.exists():
            raise analysis.RouteError(f"no such GeoParquet file or folder: {p}")
        try:
            return dask_geopandas.read_parquet(p)
        except Exception as exc:
            raise analysis.RouteError(f"{p.name}: cannot be read as (partitioned) GeoParquet ({exc})") from exc
    if isinstance(routes, gpd.GeoDataFrame):
        return dask_geopandas.from_geopandas(routes, npartitions=max(1, -(-len(routes) // PARTITION_ROWS)))
    raise analysis.RouteError(f"engine='dask' takes a dask-geopandas GeoDataFrame, a GeoDataFrame or a path to "
                              f"(partitioned) GeoParquet, not a {type(routes).__name__}")


def analyze_many(routes: Any, *, countries: gpd.GeoDataFrame | None = None, id_column: str | None = None,
                 scheduler: Any = None, out: str | os.PathLike[str] | None = None) -> Any:
    """``analysis.analyze_many`` per partition on a dask cluster.

    Returns a dask-geopandas GeoDataFrame (computed and held on the cluster; ``.compute()`` brings it home)
    with the columns of ``io.to_frame(analyze_many(...))`` and the input's index; or, with ``out=``, writes it
    as partitioned GeoParquet to that folder (atomically: a temporary folder beside it, then a rename) and
    returns the folder's Path.
    """
    dask_geopandas, _ = require()
    frame = _as_dask(routes, dask_geopandas)
    if frame.crs is None:
        raise analysis.RouteError("the routes have no CRS; set it (e.g. frame.set_crs(4326)) so they can be "
                                  "read as lon/lat")
    c = client(scheduler)
    if countries is None:
        c.run(_warm)
    meta = meta_frame(frame._meta.index)
    result = frame.map_partitions(analyze_partition, countries, id_column, meta=meta)
    if out is None:
        return c.persist(result)
    dest = Path(out)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        # text columns that may be all null (id, corridor, mode) get a text type, so Parquet has one to write
        text = {col: "str" for col, dt in meta.dtypes.items() if pd.api.types.is_object_dtype(dt)}
        typed = result.astype(text) if text else result
        c.compute(typed.to_parquet(tmpdir / dest.name, compute=False, write_index=True)).result()
        if dest.exists():
            os.replace(dest, tmpdir / "old")
        os.replace(tmpdir / dest.name, dest)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return dest
