"""Lengths and densification on the WGS84 ellipsoid (pyproj.Geod), never in planar degrees or Web Mercator."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from pyproj import Geod

GEOD = Geod(ellps="WGS84")
DENSIFY_KM = 10.0  # vertex spacing along long segments, so drawn lines follow the geodesic


def segment_lengths_m(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Geodesic length in metres of each segment of a vertex sequence."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if len(lon) < 2:
        return np.zeros(0)
    _, _, dist = GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    return np.asarray(dist, dtype=float)


def length_km(geom: shapely.Geometry) -> float:
    """Geodesic length of a (Multi)LineString in EPSG:4326, in km."""
    return float(GEOD.geometry_length(geom)) / 1000.0


def distance_km(a: Sequence[float], b: Sequence[float]) -> float:
    """Geodesic distance between two (lon, lat) points, in km."""
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2]) / 1000.0


def densify(coords: Sequence[Sequence[float]], max_km: float = DENSIFY_KM) -> list[tuple[float, float]]:
    """Insert points along the geodesic so no segment is longer than ``max_km``; keeps the input vertices."""
    out: list[tuple[float, float]] = [(float(coords[0][0]), float(coords[0][1]))]
    for (x0, y0), (x1, y1) in zip(coords[:-1], coords[1:]):
        d = GEOD.inv(x0, y0, x1, y1)[2] / 1000.0
        n = math.ceil(d / max_km) - 1
        if n > 0:
            out.extend((float(x), float(y)) for x, y in GEOD.npts(x0, y0, x1, y1, n))
        out.append((float(x1), float(y1)))
    return out
