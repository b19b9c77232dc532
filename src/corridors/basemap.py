"""Offline reference layers for maps and figures: water, major rivers, place labels (geodata/basemap/).

Derived from OpenMapTiles (© OpenStreetMap contributors, ODbL; © OpenMapTiles) by ``scripts/build_basemap.py``;
display only (generalised shorelines). Files are read on first use and cached; callers get copies.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import geopandas as gpd
import shapely

from .data import CRS, geodata_dir

LAYERS = ("water", "rivers", "places")
CREDIT = "© OpenStreetMap contributors, © OpenMapTiles"


@functools.cache
def _load(layer: str) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    path = geodata_dir() / "basemap" / f"{layer}.geojson"
    with open(path, encoding="utf-8") as f:
        fc = json.load(f)
    gdf = gpd.GeoDataFrame.from_features(fc["features"], crs=CRS)
    cols = list(fc["features"][0]["properties"]) if fc["features"] else []
    gdf = gdf[[*cols, "geometry"]]
    for col in cols:  # JSON null stays None (not NaN) in text columns
        if gdf[col].dtype == object:
            gdf[col] = gdf[col].where(gdf[col].notna(), None)
    return gdf, fc.get("metadata", {})


def _check(layer: str) -> str:
    if layer not in LAYERS:
        raise ValueError(f"unknown basemap layer {layer!r}; choose one of {', '.join(LAYERS)}")
    return layer


def basemap(layer: str, *, bbox: tuple[float, float, float, float] | None = None,
            zoom: float | None = None, tolerance: float | None = None) -> gpd.GeoDataFrame:
    """One reference layer as a GeoDataFrame (EPSG:4326).

    ``layer``: 'water' (class ocean|lake|river, name, intermittent, area_km2), 'rivers' (name, length_km) or
    'places' (name, kind country|capital|city, rank, min_zoom).
    ``bbox`` (lon_min, lat_min, lon_max, lat_max) keeps what intersects the box and clips lines and polygons to
    it, so a map embeds only what it shows. ``zoom`` keeps the place labels meant for that web-map zoom
    (``min_zoom <= zoom``). ``tolerance`` (degrees) simplifies lines and polygons further for smaller files.
    """
    gdf = _load(_check(layer))[0].copy()
    if bbox is not None:
        x0, y0, x1, y1 = (float(v) for v in bbox)
        if not (x0 < x1 and y0 < y1):
            raise ValueError(f"bbox must be (lon_min, lat_min, lon_max, lat_max) with min < max, got {bbox!r}")
        box = shapely.box(x0, y0, x1, y1)
        gdf = gdf[gdf.intersects(box)].copy()
        if layer != "places":
            gdf["geometry"] = shapely.make_valid(shapely.clip_by_rect(gdf.geometry.values, x0, y0, x1, y1))
            gdf = gdf[~gdf.geometry.is_empty].copy()
    if zoom is not None and layer == "places":
        gdf = gdf[gdf["min_zoom"] <= zoom].copy()
    if tolerance is not None and layer != "places":
        if tolerance < 0:
            raise ValueError(f"tolerance must be >= 0 degrees, got {tolerance!r}")
        gdf["geometry"] = shapely.simplify(gdf.geometry.values, tolerance, preserve_topology=True)
        gdf = gdf[~gdf.geometry.is_empty].copy()
    return gdf.reset_index(drop=True)


def basemap_metadata(layer: str) -> dict[str, Any]:
    """Provenance of a layer: source, source_date, licence, credit, selection, fields."""
    return dict(_load(_check(layer))[1])
