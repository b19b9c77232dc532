"""The shipped data as GeoDataFrames: corridor sections and key routes, nodes, country boundaries.

Data files live in ``corridors/geodata`` inside the wheel, or in the repository's ``geodata/`` when run
from a checkout. Loaders cache the parsed files and hand out copies, so callers may modify what they get.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from anyascii import anyascii

CRS = "EPSG:4326"


class NotFoundError(LookupError):
    """An id or name that matches nothing; the message lists the closest matches."""


def geodata_dir() -> Path:
    """Folder holding the shipped GeoJSON: inside the installed package, else the repository checkout."""
    packaged = resources.files("corridors") / "geodata"
    if packaged.is_dir():
        return Path(str(packaged))
    repo = Path(__file__).resolve().parents[2] / "geodata"
    if repo.is_dir():
        return repo
    raise FileNotFoundError("corridors data files are missing; reinstall the package with `pip install .`")


@functools.cache
def _read(name: str) -> gpd.GeoDataFrame:
    with open(geodata_dir() / name, encoding="utf-8") as f:
        text = f.read()
    fc = json.loads(text)
    gdf = _from_features(text, fc["features"])
    cols = list(fc["features"][0]["properties"]) if fc["features"] else []
    gdf = gdf[[*cols, "geometry"]]
    for col in cols:  # JSON null stays None (not NaN) in text columns
        if not pd.api.types.is_numeric_dtype(gdf[col]):
            gdf[col] = gdf[col].astype(object).where(gdf[col].notna(), None)
    return gdf


def _from_features(text: str, features: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """``GeoDataFrame.from_features``, with every geometry parsed by GEOS in one call on the file's text (several
    times faster than building them from the parsed dicts); falls back to it when the two do not line up."""
    geoms = shapely.get_parts(shapely.from_geojson(text)) if features else []
    if len(geoms) != len(features) or (shapely.get_type_id(geoms) == 7).any() or \
            any(f.get("geometry") is None for f in features):
        return gpd.GeoDataFrame.from_features(features, crs=CRS)
    return gpd.GeoDataFrame([{"geometry": g, **(f.get("properties") or {})} for g, f in zip(geoms, features)],
                            crs=CRS)


def sections(kind: str | None = None) -> gpd.GeoDataFrame:
    """One row per corridor section and key route (``kind`` 'section' or 'key_route' to filter)."""
    gdf = _read("corridors.geojson")
    if kind is not None:
        gdf = gdf[gdf["kind"] == kind]
    return gdf.reset_index(drop=True).copy()


def key_routes() -> gpd.GeoDataFrame:
    """The key routes beyond the CAREC sections (Almaty–Bishkek, WE–WC, Middle Corridor, gateways)."""
    return sections("key_route")


def nodes(kind: str | None = None) -> gpd.GeoDataFrame:
    """Cities, border crossing points (bcp), ports and waypoints, with coordinates and sources."""
    gdf = _read("nodes.geojson")
    if kind is not None:
        gdf = gdf[gdf["kind"] == kind]
    return gdf.reset_index(drop=True).copy()


def countries() -> gpd.GeoDataFrame:
    """Country boundaries (Natural Earth 10m, simplified on shared arcs): iso_a3, name, geometry."""
    return _read("countries.geojson").copy()


_NONWORD = re.compile(r"[\W_]+")


def norm_key(text: Any) -> str:
    """Lookup key of a name: transliterated to ASCII (Алматы -> almaty, Almatı -> almati, 阿拉木图 -> alamutu),
    casefolded, letters and digits only. '' when nothing is left (never looked up)."""
    return _NONWORD.sub("", anyascii(str(text)).casefold())


_norm = norm_key


def as_list(value: Any) -> list[str]:
    """A list-valued field as a list of strings: a list stays, JSON list text is parsed, any other text is
    split on ';' or '|' (``"OSM"`` is ``["OSM"]``, never ``["O", "S", "M"]``); None and NaN are ``[]``."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                return [str(v) for v in parsed]
        return [v.strip() for v in re.split(r"[;|]", text) if v.strip()]
    if isinstance(value, list | tuple | set) or hasattr(value, "tolist"):
        seq = value.tolist() if hasattr(value, "tolist") else list(value)
        return [str(v) for v in (seq if isinstance(seq, list) else [seq])]
    return [str(value)]


@functools.cache
def _keys(name: str, cols: tuple[str, ...]) -> dict[str, dict[str, list[int]]]:
    """Per column: normalised key -> row positions, built once per data file (lookups are then dict hits)."""
    gdf = _read(name)
    out: dict[str, dict[str, list[int]]] = {}
    for col in cols:
        idx: dict[str, list[int]] = {}
        for i, values in enumerate(gdf[col]):
            for v in (values if isinstance(values, list) else [values]):
                k = norm_key(v) if v is not None else ""
                if k and (not idx.get(k) or idx[k][-1] != i):
                    idx.setdefault(k, []).append(i)
        out[col] = idx
    return out


def _position(name: str, key: str, name_cols: tuple[str, ...]) -> int | None:
    """Row position of the id (first), name or alternative name with the normalised ``key``; None if none has."""
    gdf = _read(name)
    rank = {"city": 0, "port": 1, "bcp": 2, "waypoint": 3}
    index = _keys(name, ("id", *name_cols))
    for col in ("id", *name_cols):  # an id beats a name, a name beats an alternative name
        hits = index[col].get(key)
        if hits:  # a town beats the border post named after it
            return min(hits, key=lambda i: rank.get(gdf["kind"].iat[i], 0) if "kind" in gdf else 0)
    return None


def _find(name: str, key: str, name_cols: tuple[str, ...]) -> pd.Series | None:
    """The row whose id (first), name or alternative name has the normalised ``key``; None if none has."""
    hit = _position(name, key, name_cols)
    return None if hit is None else _read(name).iloc[hit].copy()


def find_node(id_or_name: str) -> pd.Series | None:
    """``node()`` without the error: the node, or None when nothing matches (no spelling suggestions made)."""
    key = norm_key(id_or_name) if isinstance(id_or_name, str) else ""
    return _find("nodes.geojson", key, ("name", "alt_names")) if key else None


def _lookup(name: str, query: str, what: str, name_cols: tuple[str, ...]) -> pd.Series:
    if not isinstance(query, str) or not query.strip():
        raise NotFoundError(f"{what} must be given as a non-empty id or name, got {query!r}")
    key = norm_key(query)
    if not key:
        raise NotFoundError(f"{what} {query!r} has no letters or digits; give an id or a name")
    hit = _find(name, key, name_cols)
    if hit is not None:
        return hit
    gdf = _read(name)
    labels = {k: str(v) for col in ("id", *name_cols) for vs in gdf[col]
              for v in (vs if isinstance(vs, list) else [vs]) if v is not None for k in [norm_key(v)] if k}
    close = [labels[k] for k in difflib.get_close_matches(key, list(labels), n=5, cutoff=0.5)]
    hint = f"; closest matches: {', '.join(close)}" if close else f"; list them with corridors.{what}s()"
    raise NotFoundError(f"no {what} called {query!r}{hint}")


def section(id_or_name: str) -> pd.Series:
    """One section or key route by id or name, case- and punctuation-insensitive."""
    return _lookup("corridors.geojson", id_or_name, "section", ("name",))


def section_record(id_or_name: str) -> dict[str, Any]:
    """``section()`` as a plain dict (properties and ``geometry``), without building a pandas row: for callers
    that look sections up one at a time in a loop."""
    key = norm_key(id_or_name) if isinstance(id_or_name, str) else ""
    hit = _position("corridors.geojson", key, ("name",)) if key else None
    if hit is None:
        return dict(section(id_or_name))  # raises NotFoundError with the closest matches
    return dict(_records("corridors.geojson")[hit])


@functools.cache
def _records(name: str) -> list[dict[str, Any]]:
    gdf = _read(name)
    return [dict(zip(gdf.columns, row)) for row in gdf.itertuples(index=False, name=None)]


def node(id_or_name: str) -> pd.Series:
    """One node by id, name or alternative name (Alma-Ata, Druzhba, Nur Zholy ...)."""
    return _lookup("nodes.geojson", id_or_name, "node", ("name", "alt_names"))


def as_feature_collection(gdf: gpd.GeoDataFrame) -> dict[str, Any]:
    """RFC 7946 FeatureCollection (dict) of any of the frames above."""
    fc: dict[str, Any] = json.loads(gdf.to_json(drop_id=True))
    return fc
