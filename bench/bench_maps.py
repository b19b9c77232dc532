"""Bytes per drawn vertex: our overview map against folium's default output for the same features.

Run: python bench/bench_maps.py. "Folium default" is folium.Map() (its CDN assets and tiles) plus one
folium.GeoJson per layer, every property kept and coordinates unrounded: first of the same display features
as ours (sections simplified for display, the base map's frame, sea, members and borders, BCPs and ports),
then of the raw data (unsimplified sections, BCPs and ports, the country polygons in lon 25..125).
"""

from __future__ import annotations

import re
import time

import folium
import geopandas as gpd
import shapely

import corridors
from corridors import maps

PAIR = re.compile(r"\[-?\d+(?:\.\d+)?(?:e-?\d+)?, ?-?\d+(?:\.\d+)?(?:e-?\d+)?\]")


def vertices(html: str) -> int:
    """Coordinate pairs in the GeoJSON embedded in the page."""
    return sum(len(PAIR.findall(line)) for line in html.splitlines() if "_add({" in line)


def ours(offline: bool) -> str:
    with maps._stable_ids():
        return maps.render(maps.make_map(None, offline=offline))


def folium_default(display: bool) -> str:
    secs = corridors.sections()
    nodes = corridors.nodes()
    nodes = nodes[nodes["kind"].isin(["bcp", "port"])]
    if display:
        secs["geometry"] = secs.geometry.simplify(maps.LINE_TOLERANCE, preserve_topology=False)
        b = maps._base_geometry()
        base = gpd.GeoDataFrame({"layer": ["frame", "tint", "sea", "borders"]}, crs=4326,
                                geometry=[b["frame"], b["tint"], b["sea"], b["borders"]])
    else:
        base = corridors.countries()
        base = base[base.intersects(shapely.box(25, -90, 125, 90))]
    m = folium.Map()
    for gdf in (base, secs, nodes):
        folium.GeoJson(gdf).add_to(m)
    folium.LayerControl().add_to(m)
    return m.get_root().render()


def main() -> None:
    t = time.perf_counter()
    rows = [("ours, offline (Leaflet inlined)", ours(True)), ("ours, default build (OSM basemap layer)", ours(False)),
            ("folium default, same features unrounded", folium_default(True)),
            ("folium default, raw data features", folium_default(False))]
    print(f"{'overview map':42} {'bytes':>10} {'vertices':>9} {'bytes/vertex':>13}")
    per = {}
    for name, html in rows:
        n, v = len(html.encode()), vertices(html)
        per[name] = n / v
        print(f"{name:42} {n:>10,} {v:>9,} {n / v:>13.1f}")
    ref = per["folium default, same features unrounded"]
    for name in per:
        if not name.startswith("folium"):
            print(f"ratio of bytes/vertex, {name} / folium default (same features): {per[name] / ref:.2f}")
    leaflet = len((maps.resources.files("corridors") / "static" / "leaflet.js").read_bytes())
    n, v = len(rows[0][1].encode()), vertices(rows[0][1])
    print(f"ours offline without the inlined leaflet.js ({leaflet:,} bytes): {(n - leaflet) / v:.1f} bytes/vertex, "
          f"ratio {(n - leaflet) / v / ref:.2f}")
    print(f"({time.perf_counter() - t:.1f} s)")


if __name__ == "__main__":
    main()
