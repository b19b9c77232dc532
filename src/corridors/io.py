"""Route files: read GeoJSON, GPX, KML, GeoPackage, GeoParquet and CSV; write route figures as GeoJSON,
GeoPackage, GeoParquet or CSV.

``read_routes(path)`` gives one row per route (a LineString or MultiLineString in EPSG:4326, plus ``name``
and whatever columns the file has). ``write_routes(results, path)`` writes one row per route with its figures
as columns (lists and dicts as JSON text), chosen by the file extension, through a temporary file and a rename.
Malformed input raises ``RouteFileError`` naming the file and the line, point or feature that is wrong.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .analysis import RouteAnalysis, RouteError, check_crs_units

CRS = "EPSG:4326"
FORMATS = {".geojson": "geojson", ".json": "geojson", ".gpx": "gpx", ".gpkg": "gpkg", ".parquet": "parquet",
           ".geoparquet": "parquet", ".csv": "csv", ".kml": "kml"}
WRITE_FORMATS = ("geojson", "gpkg", "parquet", "csv")
LON_COLUMNS = ("lon", "lng", "long", "longitude", "x")
LAT_COLUMNS = ("lat", "latitude", "y")
ORDER_COLUMNS = ("order", "seq")
ROUTE_COLUMNS = ("route", "route_id")
WKT_COLUMNS = ("geometry", "wkt")
PYARROW_HINT = "GeoParquet needs pyarrow: pip install \"corridors[parquet]\""
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell starting with these as a formula
CONVERT_HINT = "convert it to GeoJSON first, e.g. ogr2ogr out.geojson {name}"


class RouteFileError(RouteError):
    """A route file that cannot be read or written; the message names the file, the line or feature, the fix."""


def file_format(path: str | os.PathLike[str]) -> str | None:
    """'geojson', 'gpx', 'gpkg', 'parquet' or 'csv' from the extension; None for anything else."""
    return FORMATS.get(Path(path).suffix.lower())


# ---------------------------------------------------------------- reading

def read_routes(path: str | os.PathLike[str], *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Routes in a file, one row per route: GeoJSON, GPX (tracks and routes), GeoPackage, GeoParquet, CSV.

    A CSV either has a WKT ``geometry`` column (as written by ``write_routes``) or holds points: lon/lat
    columns (lon, lng, longitude or x; lat, latitude or y), ordered by an optional ``order``/``seq`` column,
    else file order, one route per value of an optional ``route``/``route_id`` column.
    """
    p = Path(path)
    fmt = file_format(p)
    if p.is_dir():
        raise RouteFileError(f"{p}: is a folder, not a route file; give the path of a file inside it")
    if p.exists() and not p.is_file():
        raise RouteFileError(f"{p}: is not a regular file (a device or pipe); give a route file "
                             f"({', '.join(FORMATS)})")
    if fmt is None:
        hint = CONVERT_HINT.format(name=p.name) if p.suffix.lower() in (".kmz", ".shp", ".fgb", ".gml") \
            else f"use one of {', '.join(FORMATS)}"
        raise RouteFileError(f"{p.name}: unknown route file type {p.suffix!r}; {hint}")
    if not p.exists():
        raise RouteFileError(f"no such file: {p}")
    _sniff(p, fmt)
    if fmt == "gpx":
        gdf = _read_gpx(p)
    elif fmt == "csv":
        gdf = _read_csv(p)
    elif fmt == "parquet":
        if not _pyarrow_available():
            raise RouteFileError(f"{p.name}: {PYARROW_HINT}")
        try:
            gdf = gpd.read_parquet(p)
        except Exception as exc:
            raise RouteFileError(f"{p.name}: cannot be read as GeoParquet ({exc})") from exc
    else:
        plain = _read_plain_geojson(p) if fmt == "geojson" and layer is None else None
        gdf = plain if plain is not None else _read_ogr(p, layer)
    return _checked(gdf, p.name)


PLAIN_GEOJSON_BYTES = 1 << 20  # a GeoJSON file up to this size may be read without GDAL (see _read_plain_geojson)
_DATE_LIKE = re.compile(r"[-/:]")  # with a digit: text GDAL may read as a date or time (not a plain string)
_RESERVED = {"id", "fid", "ogc_fid", "geometry"}  # property names GDAL or geopandas may treat specially


def _read_plain_geojson(p: Path) -> gpd.GeoDataFrame | None:
    """A small, plain GeoJSON file read with ``json`` and shapely instead of GDAL (whose import costs ~25 ms at a
    command's start); None for anything else, which then goes to GDAL as before. Plain means: a
    FeatureCollection of Features whose geometries are LineStrings or MultiLineStrings of (lon, lat) number pairs
    (at least two positions per line) and whose properties are the same keys in the same order in every feature,
    each a non-empty string that GDAL would not read as a date or time (no digit beside '-', '/' or ':'). For
    such a file the frame is the one ``gpd.read_file`` gives (tests/test_io_plain_geojson.py compares them);
    the file's text is only ever parsed as JSON."""
    if p.stat().st_size > PLAIN_GEOJSON_BYTES:
        return None
    try:
        doc = json.loads(p.read_bytes().decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # not UTF-8 or not JSON (GDAL's message says which), duplicate keys, NaN
        return None
    if not isinstance(doc, dict) or doc.keys() != {"type", "features"} or doc["type"] != "FeatureCollection" or \
            not isinstance(doc["features"], list) or not doc["features"]:
        return None
    keys: list[str] | None = None
    columns: list[list[str]] = []
    geoms = []
    for f in doc["features"]:
        if not isinstance(f, dict) or f.keys() != {"type", "properties", "geometry"} or f["type"] != "Feature" or \
                not isinstance(f["properties"], dict):
            return None
        props = f["properties"]
        if keys is None:
            keys = list(props)
            if len({k.casefold() for k in keys}) != len(keys) or any(not k or k.casefold() in _RESERVED for k in keys):
                return None
            columns = [[] for _ in keys]
        if list(props) != keys:
            return None
        for col, v in zip(columns, props.values()):
            if not isinstance(v, str) or not v or (_DATE_LIKE.search(v) and any(c.isdigit() for c in v)):
                return None
            col.append(v)
        geom = _plain_line(f["geometry"])
        if geom is None:
            return None
        geoms.append(geom)
    return gpd.GeoDataFrame(dict(zip(keys or [], columns)), geometry=geoms, crs=CRS)


def _plain_line(g: Any) -> shapely.Geometry | None:
    """A GeoJSON LineString / MultiLineString of finite (lon, lat) number pairs as shapely, else None."""
    if not isinstance(g, dict) or g.keys() != {"type", "coordinates"} or not isinstance(g["coordinates"], list):
        return None
    lines = [g["coordinates"]] if g["type"] == "LineString" else g["coordinates"] if g["type"] == "MultiLineString" \
        else None
    if not lines or not all(isinstance(line, list) and len(line) >= 2 and all(
            isinstance(pos, list) and len(pos) == 2 and type(pos[0]) in (int, float) and type(pos[1]) in (int, float)
            for pos in line) for line in lines):
        return None
    try:
        xy = [np.asarray(line, dtype=float) for line in lines]
    except OverflowError:  # an integer beyond any float
        return None
    if not all(np.isfinite(a).all() for a in xy):
        return None
    parts = [shapely.linestrings(a) for a in xy]
    return parts[0] if g["type"] == "LineString" else shapely.multilinestrings(parts)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("duplicate key")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _sniff(p: Path, fmt: str) -> None:
    """Refuse empty files and binary data (an Excel workbook renamed .csv ...) with a message saying what it is."""
    with open(p, "rb") as f:
        head = f.read(4096)
    if not head:
        raise RouteFileError(f"{p.name}: the file is empty (0 bytes)")
    if fmt in ("gpkg", "parquet"):
        return
    kind = None
    if head.startswith(b"PK\x03\x04"):
        kind = "a ZIP archive (an Excel .xlsx workbook or a .kmz?)"
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        kind = "an old Excel .xls workbook"
    elif head.startswith(b"SQLite format 3"):
        kind = "a GeoPackage/SQLite database (name it .gpkg)"
    elif head.startswith(b"PAR1"):
        kind = "a Parquet file (name it .parquet)"
    elif b"\x00" in head:
        kind = "binary data"
    if kind:
        raise RouteFileError(f"{p.name}: is {kind}, not {fmt.upper()} text; export it as "
                             + ("CSV (UTF-8) with lon and lat columns" if fmt == "csv" else f"{fmt.upper()}"))


def _read_ogr(p: Path, layer: str | None) -> gpd.GeoDataFrame:
    try:
        if file_format(p) == "kml":  # GDAL's KML driver: Placemarks, their <name> in "Name"
            gdf = gpd.read_file(p, layer=layer)
            return gdf.rename(columns={"Name": "name"}) if "name" not in gdf.columns else gdf
        if layer is None and file_format(p) == "gpkg":
            import pyogrio

            lines = [name for name, kind in pyogrio.list_layers(p) if kind and "LineString" in kind]
            layer = lines[0] if lines else None
        return gpd.read_file(p, layer=layer)
    except Exception as exc:  # GDAL's message names the problem (bad JSON, not a GeoPackage ...)
        raise RouteFileError(f"{p.name}: cannot be read ({exc})") from exc


def _checked(gdf: gpd.GeoDataFrame, fname: str) -> gpd.GeoDataFrame:
    """EPSG:4326, a ``name`` column, and every geometry a non-empty (Multi)LineString of finite lon/lat."""
    if gdf.empty:
        raise RouteFileError(f"{fname}: holds no routes")
    geom_types = set(gdf.geometry.geom_type.dropna())
    if not geom_types & {"LineString", "MultiLineString"}:
        others = [c for c in gdf.columns if c != gdf.geometry.name and isinstance(gdf[c], gpd.GeoSeries)
                  and set(gdf[c].geom_type.dropna()) <= {"LineString", "MultiLineString"} and gdf[c].notna().any()]
        if others:
            kinds = ", ".join(sorted(geom_types)) or "nothing"
            raise RouteFileError(f"{fname}: the primary geometry column {gdf.geometry.name!r} holds {kinds}; the "
                                 f"lines are in column {others[0]!r}: make it the primary geometry "
                                 f"(gdf.set_geometry({others[0]!r})) and save again")
    if gdf.crs is None:
        gdf = gdf.set_crs(CRS)
    elif not gdf.crs.equals(CRS):
        try:
            check_crs_units(gdf.crs, shapely.get_coordinates(gdf.geometry.values), fname)
        except RouteError as exc:
            raise RouteFileError(str(exc)) from None
        gdf = gdf.to_crs(CRS)
    lines = gdf.pop("_line") if "_line" in gdf.columns else None
    for i, geom in enumerate(gdf.geometry):
        where = f"{fname} line {lines.iloc[i]}" if lines is not None else f"{fname} feature {i + 1}"
        label = gdf["name"].iloc[i] if "name" in gdf.columns else None
        if isinstance(label, str) and label:
            where += f" ({label!r})"
        if geom is None or geom.is_empty:
            raise RouteFileError(f"{where}: has no geometry; a route needs a LineString of (lon, lat) points")
        if geom.geom_type not in ("LineString", "MultiLineString"):
            raise RouteFileError(f"{where}: is a {geom.geom_type}; a route must be a LineString or MultiLineString")
        xy = shapely.get_coordinates(geom)
        if len(xy) < 2 or not (abs(xy[:, 0]) <= 180).all() or not (abs(xy[:, 1]) <= 90).all():
            raise RouteFileError(f"{where}: needs at least two (lon, lat) points within ±180/±90 degrees")
    for col in gdf.columns:  # GDAL hands JSON fields back as lists and dicts: JSON text, as write_routes has it
        if col != gdf.geometry.name and gdf[col].dtype == object:
            gdf[col] = gdf[col].map(_json_text)
    if "name" not in gdf.columns:
        gdf["name"] = [f"{Path(fname).stem} {i + 1}" if len(gdf) > 1 else Path(fname).stem for i in range(len(gdf))]
    return gdf.reset_index(drop=True)


def _json_text(v: Any) -> Any:
    """Lists, arrays and dicts as JSON text; anything else as it is."""
    if isinstance(v, np.ndarray):
        v = v.tolist()
    return json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v


def _pyarrow_available() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


def _number(text: str, what: str, where: str, low: float, high: float) -> float:
    try:
        v = float(text)
    except ValueError:
        raise RouteFileError(f"{where}: {what} {text!r} is not a number") from None
    if not math.isfinite(v) or not low <= v <= high:
        raise RouteFileError(f"{where}: {what} {text!r} is out of range ({low:g} to {high:g})")
    return v


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    keys = [h.strip().casefold() for h in header]
    return next((keys.index(n) for n in names if n in keys), None)


def _utf8(p: Path) -> None:
    """Refuse text that is not UTF-8, naming the first bad byte (a Latin-1 or Windows-1252 export)."""
    raw = p.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise RouteFileError(f"{p.name} line {line}: is not UTF-8 text (byte 0x{raw[exc.start]:02x}); re-save it as "
                             "UTF-8 (e.g. iconv -f latin1 -t utf-8, or 'CSV UTF-8' in a spreadsheet)") from None


def _read_csv(p: Path) -> gpd.GeoDataFrame:
    _utf8(p)
    with open(p, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), None)
    if not header:
        raise RouteFileError(f"{p.name}: the file is empty; expected a header with lon and lat columns")
    if _column(header, WKT_COLUMNS) is not None:
        return _read_wkt_csv(p, header[_column(header, WKT_COLUMNS) or 0])
    ilon, ilat = _column(header, LON_COLUMNS), _column(header, LAT_COLUMNS)
    if ilon is None or ilat is None:
        raise RouteFileError(f"{p.name}: needs lon and lat columns ({'/'.join(LON_COLUMNS)} and "
                             f"{'/'.join(LAT_COLUMNS)}) or a WKT geometry column; the header is {header}")
    iorder, iroute = _column(header, ORDER_COLUMNS), _column(header, ROUTE_COLUMNS)
    groups: dict[str, list[tuple[float, int, float, float]]] = {}
    first_line: dict[str, int] = {}
    with open(p, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            where = f"{p.name} line {reader.line_num}"
            if len(row) < len(header):
                raise RouteFileError(f"{where}: has {len(row)} fields, the header has {len(header)}")
            lon = _number(row[ilon].strip(), header[ilon].strip(), where, -180, 180)
            lat = _number(row[ilat].strip(), header[ilat].strip(), where, -90, 90)
            order = _number(row[iorder].strip(), header[iorder].strip(), where, -math.inf, math.inf) \
                if iorder is not None else 0.0
            key = row[iroute].strip() if iroute is not None else p.stem
            groups.setdefault(key, []).append((order, reader.line_num, lon, lat))
            first_line.setdefault(key, reader.line_num)
    if not groups:
        raise RouteFileError(f"{p.name}: has a header but no points")
    names, geoms, lines = [], [], []
    for key, pts in groups.items():
        pts.sort(key=lambda t: (t[0], t[1]))  # by order, then file order
        if len({(x, y) for _, _, x, y in pts}) < 2:
            raise RouteFileError(f"{p.name} line {first_line[key]}: route {key!r} needs at least two distinct points")
        names.append(key)
        geoms.append(shapely.linestrings([(x, y) for _, _, x, y in pts]))
        lines.append(first_line[key])
    return gpd.GeoDataFrame({"name": names, "_line": lines}, geometry=geoms, crs=CRS)


def _read_wkt_csv(p: Path, column: str) -> gpd.GeoDataFrame:
    df = pd.read_csv(p, encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    for col in df.columns:  # undo write_routes' formula guard: "'=1+1" was written for the text "=1+1"
        if not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = df[col].map(lambda v: v[1:] if isinstance(v, str) and v[:1] == "'"
                                  and v[1:2] in FORMULA_PREFIXES else v)
    geoms = []
    for i, text in enumerate(df.pop(column)):
        try:
            geoms.append(shapely.from_wkt(text) if isinstance(text, str) and text.strip() else None)
        except Exception:
            raise RouteFileError(f"{p.name} line {i + 2}: {column} {str(text)[:40]!r} is not WKT "
                                 "(e.g. LINESTRING (76.9 43.2, 74.6 42.9))") from None
    df["_line"] = range(2, len(df) + 2)
    return gpd.GeoDataFrame(df, geometry=geoms, crs=CRS)


@functools.cache
def _gpx_handler() -> type:
    """The SAX handler class for GPX, made on first use (the XML modules are imported only for GPX files)."""
    import xml.sax

    class _GpxHandler(xml.sax.ContentHandler):
        """Collects <trk> (one route per track, a part per <trkseg>) and <rte> with their <name>."""

        def __init__(self, fname: str):
            super().__init__()
            self.fname = fname
            self.routes: list[dict[str, Any]] = []
            self.stack: list[str] = []
            self.text: list[str] = []  # chunks joined once per element: linear in the file size
            self._locator: Any = None

        def setDocumentLocator(self, locator: Any) -> None:  # noqa: N802 (SAX API)
            self._locator = locator

        def _where(self) -> str:
            return f"{self.fname} line {self._locator.getLineNumber()}"

        def startElement(self, name: str, attrs: Any) -> None:  # noqa: N802 (SAX API)
            tag = name.rsplit(":", 1)[-1]
            self.stack.append(tag)
            if tag in ("trk", "rte"):
                self.routes.append({"kind": "track" if tag == "trk" else "route", "name": None, "parts": [[]],
                                    "line": self._locator.getLineNumber()})
            elif tag == "trkseg" and self.routes:
                if self.routes[-1]["parts"][-1]:
                    self.routes[-1]["parts"].append([])
            elif tag in ("trkpt", "rtept") and self.routes:
                where = self._where()
                for key in ("lat", "lon"):
                    if key not in attrs:
                        raise RouteFileError(f"{where}: <{tag}> has no {key} attribute")
                lat = _number(attrs["lat"], "lat", where, -90, 90)
                lon = _number(attrs["lon"], "lon", where, -180, 180)
                self.routes[-1]["parts"][-1].append((lon, lat))
            self.text = []

        def characters(self, content: str) -> None:
            if self.stack and self.stack[-1] == "name":  # the only text used; other elements' text is skipped
                self.text.append(content)

        def endElement(self, name: str) -> None:  # noqa: N802 (SAX API)
            tag = self.stack.pop()
            if tag == "name" and self.stack and self.stack[-1] in ("trk", "rte") and self.routes:
                self.routes[-1]["name"] = "".join(self.text).strip() or None

    return _GpxHandler


def _read_gpx(p: Path) -> gpd.GeoDataFrame:
    import xml.sax

    from defusedxml import DefusedXmlException
    from defusedxml import sax as defused_sax

    handler = _gpx_handler()(p.name)
    try:
        # defusedxml refuses DTDs, entity declarations and external references (entity-expansion bombs)
        defused_sax.parse(str(p), handler, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise RouteFileError(f"{p.name}: refused: GPX must not declare a DTD or entities ({type(exc).__name__}); "
                             "export the track again from a GPS tool or remove the <!DOCTYPE ...> block") from None
    except xml.sax.SAXParseException as exc:
        raise RouteFileError(f"{p.name} line {exc.getLineNumber()}: not well-formed GPX ({exc.getMessage()})") from None
    rows = []
    for r in handler.routes:
        parts = [pts for pts in r["parts"] if len(pts) >= 2]
        if not parts:
            raise RouteFileError(f"{p.name} line {r['line']}: {r['kind']} {r['name'] or ''!r} has fewer than two "
                                 "points")
        geom = shapely.linestrings(parts[0]) if len(parts) == 1 else shapely.multilinestrings(
            [shapely.linestrings(pts) for pts in parts])
        rows.append({"name": r["name"], "gpx": r["kind"], "_line": r["line"], "geometry": geom})
    if not rows:
        raise RouteFileError(f"{p.name}: no <trk> or <rte> with points (waypoints alone are not a route)")
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    unnamed = gdf["name"].isna()
    gdf.loc[unnamed, "name"] = [f"{p.stem} {i + 1}" for i in gdf.index[unnamed]]
    return gdf


# ---------------------------------------------------------------- writing

def to_frame(results: Iterable[RouteAnalysis]) -> gpd.GeoDataFrame:
    """One row per route: its figures as columns (lists and dicts as JSON text), geometry in EPSG:4326."""
    rows, geoms = [], []
    for r in results:
        d = r.to_dict()
        d.pop("nodes", None)  # chainage stays in to_dict(); a 'nodes' column would read back as section nodes
        d["bcps"] = "; ".join(c["bcp"] or "" for c in d["crossings"])
        rows.append({k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v for k, v in d.items()})
        geoms.append(r.geometry)
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=CRS)


def csv_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _writable(p: Path) -> None:
    """Refuse a target that is a folder, or whose folder is missing or not a folder, before any work."""
    if p.is_dir():
        raise RouteFileError(f"{p}: is a folder; give a file name inside it, e.g. {p / ('routes' + p.suffix)}")
    if not p.parent.exists():
        raise RouteFileError(f"{p}: the folder {p.parent} does not exist; create it first "
                             f"(mkdir -p {p.parent})")
    if not p.parent.is_dir():
        raise RouteFileError(f"{p}: {p.parent} is a file, not a folder")


def write_routes(routes: gpd.GeoDataFrame | Iterable[RouteAnalysis], path: str | os.PathLike[str]) -> Path:
    """Write routes (a GeoDataFrame, or analysis / route results) by extension: .geojson, .gpkg, .parquet, .csv.

    The file appears whole or not at all: it is written to a temporary folder beside it, then renamed.
    """
    p = Path(path)
    fmt = file_format(p)
    if fmt not in WRITE_FORMATS:
        raise RouteFileError(f"{p.name}: cannot write {p.suffix!r}; use .geojson, .gpkg, .parquet or .csv")
    gdf = routes if isinstance(routes, gpd.GeoDataFrame) else to_frame(routes)
    gdf = gdf.copy()
    geom_col = gdf.geometry.name
    for col in gdf.columns:
        if col != geom_col and gdf[col].dtype == object:
            gdf[col] = gdf[col].map(_json_text)
    if fmt == "parquet" and not _pyarrow_available():
        raise RouteFileError(f"{p.name}: {PYARROW_HINT}")
    _writable(p)
    try:
        tmpdir = tempfile.mkdtemp(dir=p.parent, prefix=f".{p.name}.")
    except OSError as exc:
        raise RouteFileError(f"{p}: cannot write in the folder {p.parent} ({exc.strerror}); choose a folder you can "
                             "write to") from None
    tmp = Path(tmpdir) / p.name
    try:
        if fmt == "csv":
            df = pd.DataFrame(gdf.drop(columns=geom_col))
            for col in df.columns:
                if not pd.api.types.is_numeric_dtype(df[col]):
                    df[col] = df[col].map(csv_safe)
            df["geometry"] = shapely.to_wkt(gdf.geometry.values, rounding_precision=8)
            df.to_csv(tmp, index=False, lineterminator="\n")
        elif fmt == "parquet":
            gdf.to_parquet(tmp, index=False)
        else:
            gdf.to_file(tmp, driver="GeoJSON" if fmt == "geojson" else "GPKG",
                        **({"layer": "routes"} if fmt == "gpkg" else {}))
        os.replace(tmp, p)
    except OSError as exc:
        raise RouteFileError(f"{p}: cannot be written ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return p
