"""Build geodata/basemap/ (water, rivers, places): compact offline reference layers for maps and figures.

Derived from the shared basemap set (``../shared/basemap``, OpenMapTiles z4-7 built from OpenStreetMap; see its
README): kept are the larger water bodies, the major rivers and the country, capital and city labels, simplified
for display at zooms 3-8 and rounded to 4 decimals (about 10 m). Output is byte-reproducible: fixed order, fixed
metadata (the source's dates, never the build time), one feature per line.

Run: ``python scripts/build_basemap.py [--source DIR]`` (needs geopandas, pyogrio; no network).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Geod

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from corridors.network import write_atomic  # noqa: E402

OUT = ROOT / "geodata" / "basemap"
DEFAULT_SOURCE = ROOT.parent / "shared" / "basemap"
DECIMALS = 4
NEAR_ROUTE_DEG = 1.0        # "near a corridor": within 1 degree (about 80-110 km) of a section or key route

# Selection and simplification (degrees; Douglas-Peucker, topology-preserving).
SEA_MIN_KM2 = 1000.0        # open sea polygons (the Caspian is 'ocean' in the source)
LAKE_MIN_KM2 = 250.0        # permanent lakes, reservoirs, wide river areas within NEAR_ROUTE_DEG of a corridor
MID_DEG, MID_LAKE_MIN_KM2 = 3.0, 1000.0  # within 3 degrees (Bukhtarma)
SEASONAL_MIN_KM2 = 1000.0   # intermittent lakes (salt pans) only when large
FAR_LAKE_MIN_KM2 = 10000.0  # farther away (Siberia, eastern China): only the largest
SEA_TOLERANCE, LAKE_TOLERANCE = 0.08, 0.03
HOLE_MIN_KM2 = 100.0        # islands smaller than this are filled
NEAR_RIVER_MIN_KM, RIVER_MIN_KM, FAR_RIVER_MIN_KM = 200.0, 600.0, 1500.0  # near / mid / far, as for lakes
NAMED_RIVER_MIN_KM = 150.0
RIVER_TOLERANCE = 0.04
CITY_MAX_ZOOM, CITY_MAX_RANK = 4, 4  # outside CAREC members: only the largest cities ...
MEMBER_CITY_MAX_ZOOM = 6    # ... inside: every city OMT shows from zoom 6 (Osh, Kokand ...)
CAREC_MEMBERS = ("AFG", "AZE", "CHN", "GEO", "KAZ", "KGZ", "MNG", "PAK", "TJK", "TKM", "UZB")
# Names that changed after the source was made (OSM data about 2017-2021); each is a matter of public record.
RENAMES = {"Nur-Sultan": "Astana"}  # renamed back on 17 September 2022

LICENCE = ("ODbL 1.0 (derived database of OpenStreetMap data); OpenMapTiles schema CC-BY 4.0; "
           "low-zoom content of OpenMapTiles from Natural Earth (public domain)")
CREDIT = "© OpenStreetMap contributors, © OpenMapTiles"
SOURCE = ("OpenMapTiles vector tiles (schema 3.6.1) from GitHub bothness/basemaps commit "
          "dfd9e8cfdf6f526bb1bbd03ae69aa64ea466dd89, as decoded in the project's shared basemap set "
          "(shared/basemap/{file})")
SOURCE_DATE = "tiles committed 2021; OSM data about 2017 (not stated by the tiles)"


def _meta(layer: str, file: str, content: str, selection: str, **extra: Any) -> dict[str, Any]:
    return {"layer": layer, "content": content, "source": SOURCE.format(file=file), "source_date": SOURCE_DATE,
            "licence": LICENCE, "credit": CREDIT, "selection": selection,
            "derived_by": "scripts/build_basemap.py", "crs": "EPSG:4326 (lon, lat)",
            "coordinate_decimals": DECIMALS, "use": "display only (generalised shorelines, lengths, areas)",
            **extra}


def _routes() -> shapely.Geometry:
    """All corridor sections and key routes as one geometry: what the reference layers are selected around."""
    return shapely.union_all(gpd.read_file(ROOT / "geodata" / "corridors.geojson").geometry.values)


def _drop_small_holes(geom: shapely.Geometry, min_km2: float) -> shapely.Geometry:
    """Fill islands under ``min_km2`` (geodesic area) so the file does not carry specks."""
    geod = Geod(ellps="WGS84")
    polys = []
    for p in getattr(geom, "geoms", [geom]):
        holes = [h for h in p.interiors if abs(geod.geometry_area_perimeter(shapely.Polygon(h))[0]) / 1e6 >= min_km2]
        polys.append(shapely.Polygon(p.exterior, holes))
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _rounded(geom: shapely.Geometry) -> shapely.Geometry:
    """Snap to the 4-decimal grid keeping polygons valid (set_precision repairs what snapping breaks)."""
    return shapely.set_precision(geom, 10.0 ** -DECIMALS)


def build_water(src: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    w = gpd.read_file(src / "water_polygons_omt_z7.geojson")
    near = shapely.dwithin(w.geometry.values, _routes(), NEAR_ROUTE_DEG)
    mid = shapely.dwithin(w.geometry.values, _routes(), MID_DEG)
    seasonal = w["intermittent"].fillna(False).astype(bool)
    is_sea = w["class"] == "ocean"
    min_km2 = np.where(near, np.where(seasonal, SEASONAL_MIN_KM2, LAKE_MIN_KM2),
                       np.where(mid, np.maximum(MID_LAKE_MIN_KM2, np.where(seasonal, SEASONAL_MIN_KM2, 0)),
                                FAR_LAKE_MIN_KM2))
    keep = (is_sea & (w["area_km2"] >= SEA_MIN_KM2)) | w["name"].notna() | (~is_sea & (w["area_km2"] >= min_km2))
    w = w[keep].copy()
    w["intermittent"] = seasonal[keep]
    out = []
    for row in w.itertuples(index=False):
        tol = SEA_TOLERANCE if row[0] == "ocean" else LAKE_TOLERANCE
        g = shapely.simplify(row.geometry, tol, preserve_topology=True)
        g = _rounded(_drop_small_holes(g, HOLE_MIN_KM2))
        if g.is_empty:
            continue
        name = row.name if isinstance(row.name, str) else None
        props = {"class": row[0], "name": name, "intermittent": bool(row.intermittent),
                 "area_km2": int(round(row.area_km2))}
        out.append((props, g))
    order = {"ocean": 0, "lake": 1, "river": 2}
    out.sort(key=lambda pg: (order[pg[0]["class"]], -pg[0]["area_km2"], pg[0]["name"] or "", pg[1].wkb))
    meta = _meta("water", "water_polygons_omt_z7.geojson",
                 "seas (class 'ocean', incl. the Caspian), lakes and reservoirs ('lake'), wide river areas "
                 "('river')",
                 f"seas >= {SEA_MIN_KM2:g} km2; within {NEAR_ROUTE_DEG:g} deg of a corridor permanent lakes "
                 f"and river areas >= {LAKE_MIN_KM2:g} km2 and intermittent >= {SEASONAL_MIN_KM2:g} km2, within "
                 f"{MID_DEG:g} deg >= {MID_LAKE_MIN_KM2:g} km2, farther away >= {FAR_LAKE_MIN_KM2:g} km2; every "
                 f"named water body; simplified {SEA_TOLERANCE} deg (seas) / {LAKE_TOLERANCE} deg (lakes), "
                 f"islands < {HOLE_MIN_KM2:g} km2 filled",
                 fields={"class": "ocean | lake | river", "name": "English name set by hand in the source "
                         "(26 water bodies), else null", "intermittent": "seasonal water",
                         "area_km2": "area of the unsimplified source polygon"})
    return [_feature(p, g) for p, g in out], meta


def build_rivers(src: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    r = gpd.read_file(src / "rivers_omt_z7.geojson")
    geod = Geod(ellps="WGS84")
    km = np.array([geod.geometry_length(g) / 1000 for g in r.geometry])
    named = r["name_en"].notna().to_numpy()
    near = shapely.dwithin(r.geometry.values, _routes(), NEAR_ROUTE_DEG)
    mid = shapely.dwithin(r.geometry.values, _routes(), MID_DEG)
    min_km = np.where(near, NEAR_RIVER_MIN_KM, np.where(mid, RIVER_MIN_KM, FAR_RIVER_MIN_KM))
    keep = (km >= min_km) | (named & (km >= NAMED_RIVER_MIN_KM))
    out = []
    for row, length in zip(r[keep].itertuples(index=False), km[keep]):
        g = _rounded(shapely.simplify(row.geometry, RIVER_TOLERANCE))
        if g.is_empty:
            continue
        name = row.name_en if isinstance(row.name_en, str) else None
        out.append(({"name": name, "length_km": int(round(length))}, g))
    out.sort(key=lambda pg: (-pg[0]["length_km"], pg[0]["name"] or "", pg[1].wkb))
    meta = _meta("rivers", "rivers_omt_z7.geojson", "major river centre lines",
                 f"lines >= {NEAR_RIVER_MIN_KM:g} km within {NEAR_ROUTE_DEG:g} deg of a corridor, "
                 f">= {RIVER_MIN_KM:g} km within {MID_DEG:g} deg, >= {FAR_RIVER_MIN_KM:g} km farther; named "
                 f"lines >= {NAMED_RIVER_MIN_KM:g} km; simplified {RIVER_TOLERANCE} deg",
                 fields={"name": "English name (hand translation in the source of the OSM 2021 name; "
                         "most rivers in KAZ, CHN, RUS are unnamed there), else null",
                         "length_km": "geodesic length of the unsimplified source line (WGS84)"})
    meta["source"] += "; river names from OSM (August 2021) via the shared set, ODbL"
    return [_feature(p, g) for p, g in out], meta


def build_places(src: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    p = gpd.read_file(src / "places_omt_z4-7.geojson")
    countries = gpd.read_file(ROOT / "geodata" / "countries.geojson")[["iso_a3", "geometry"]]
    p = p.sjoin(countries, how="left", predicate="within").drop(columns="index_right")
    p = p[~p.index.duplicated()]
    near = shapely.dwithin(p.geometry.values, _routes(), NEAR_ROUTE_DEG)
    member = p["iso_a3"].isin(CAREC_MEMBERS) & near
    is_country = (p["place_class"] == "country") & p["iso_a2"].notna()  # no labels for unrecognised entities
    is_capital = p["capital"] == 2
    is_city = (p["place_class"] == "city") & (
        ((p["min_zoom"] <= CITY_MAX_ZOOM) & (p["rank"] <= CITY_MAX_RANK))
        | (member & (p["min_zoom"] <= MEMBER_CITY_MAX_ZOOM)))
    p = p[is_country | is_capital | is_city].copy()
    kind = np.where(p["place_class"] == "country", "country", np.where(p["capital"] == 2, "capital", "city"))
    out = []
    for k, row in zip(kind, p.itertuples(index=False)):
        name = next(n for n in (row.name_en, row.name_latin, row.name) if isinstance(n, str) and n.strip())
        name = RENAMES.get(name, name)
        props = {"name": name, "kind": str(k), "rank": int(row.rank), "min_zoom": int(row.min_zoom)}
        out.append((props, _rounded(row.geometry)))
    order = {"country": 0, "capital": 1, "city": 2}
    out.sort(key=lambda pg: (order[pg[0]["kind"]], pg[0]["min_zoom"], pg[0]["rank"], pg[0]["name"],
                             pg[1].x, pg[1].y))
    meta = _meta("places", "places_omt_z4-7.geojson", "label points: countries, national capitals, cities",
                 f"countries with an ISO code, national capitals; cities with OMT min_zoom <= "
                 f"{MEMBER_CITY_MAX_ZOOM} inside CAREC member countries within {NEAR_ROUTE_DEG:g} deg of a "
                 f"corridor, elsewhere min_zoom <= {CITY_MAX_ZOOM} and rank <= {CITY_MAX_RANK}",
                 fields={"name": "English name (OMT name_en, else name_latin)", "kind": "country | capital | city",
                         "rank": "OpenMapTiles rank (1 most important)",
                         "min_zoom": "lowest web-map zoom at which OpenMapTiles shows the label"},
                 renamed=dict(RENAMES))
    return [_feature(p, g) for p, g in out], meta


def _feature(props: dict[str, Any], geom: shapely.Geometry) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": _round_mapping(shapely.geometry.mapping(geom))}


def _round_mapping(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
    if isinstance(obj, (list, tuple)):
        return [_round_mapping(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _round_mapping(v) for k, v in obj.items()}
    return obj


def dumps(features: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """RFC 7946 FeatureCollection, metadata as a foreign member, one feature per line."""
    head = json.dumps({"type": "FeatureCollection", "metadata": meta}, ensure_ascii=False, separators=(",", ":"))
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    return head[:-1] + ',"features":[\n' + ",\n".join(lines) + "\n]}\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the shared basemap folder")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if not (args.source / "water_polygons_omt_z7.geojson").is_file():
        sys.exit(f"{args.source} does not hold the shared basemap files; pass --source DIR")
    for name, build in (("water", build_water), ("rivers", build_rivers), ("places", build_places)):
        features, meta = build(args.source)
        path = args.out / f"{name}.geojson"
        write_atomic(path, dumps(features, meta))
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {len(features)} features, "
              f"{path.stat().st_size / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
