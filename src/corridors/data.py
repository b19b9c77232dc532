"""The shipped data as GeoDataFrames: corridor sections and key routes, nodes, country boundaries.

Data files live in ``corridors/geodata`` inside the wheel, or in the repository's ``geodata/`` when run
from a checkout. Loaders cache the parsed files and hand out copies, so callers may modify what they get. Parsed
files are also kept between processes in a per-user cache (``cache_dir()``), keyed by each file's SHA-256.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import mmap
import os
import re
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

CRS = "EPSG:4326"


class NotFoundError(LookupError):
    """An id or name that matches nothing; the message lists the closest matches."""


@functools.cache
def geodata_dir() -> Path:
    """Folder holding the shipped GeoJSON: inside the installed package, else the repository checkout (looked up
    once per process)."""
    here = Path(__file__).resolve()
    for folder in (here.parent / "geodata", here.parents[2] / "geodata"):  # installed on disk; a checkout
        if folder.is_dir():
            return folder
    from importlib import resources  # a package not on disk as plain files (a zip)

    packaged = resources.files("corridors") / "geodata"
    if packaged.is_dir():
        return Path(str(packaged))
    raise FileNotFoundError("corridors data files are missing; reinstall the package with `pip install .`")


@functools.cache
def _read(name: str) -> gpd.GeoDataFrame:
    """One shipped GeoJSON file as a frame, parsed once per process. Parsing the GeoJSON text costs ~0.2 s for the
    three main files; a compact binary copy in the per-user cache (``cache_dir()``), keyed by the file's SHA-256,
    is read in a few ms instead. The cache never changes a result: a copy is written only when it decodes back
    to the very frame parsed from the GeoJSON, and one that does not match the file's hash, or is damaged, is
    ignored (and rewritten)."""
    key = file_sha256(geodata_dir() / name)
    folder = cache_dir()
    path = folder / f"{Path(name).stem}-{key[:32]}{CACHE_SUFFIX}" if folder is not None else None
    if path is not None:
        try:
            cached = decode_frame(path.read_bytes(), key)
        except (OSError, ValueError, LookupError, TypeError, struct.error):  # absent, unreadable, damaged or
            cached = None  # of another layout: parse the GeoJSON (and rewrite the copy)
        if cached is not None:
            return cached
    raw = (geodata_dir() / name).read_bytes()
    key = hashlib.sha256(raw).hexdigest()  # of the very bytes parsed (the file may have changed meanwhile)
    path = folder / f"{Path(name).stem}-{key[:32]}{CACHE_SUFFIX}" if folder is not None else None
    gdf = parse_geojson(raw.decode("utf-8"))
    if path is not None:
        _store(path, encode_frame(gdf, key), gdf, key)
    return gdf


def parse_geojson(text: str) -> gpd.GeoDataFrame:
    """A FeatureCollection's text as a frame: its property columns in file order, then ``geometry`` (EPSG:4326);
    JSON null stays None (not NaN) in text columns."""
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


CACHE_MAGIC = b"corridors frame 3\n"  # a new number for any change of layout
CACHE_SUFFIX = ".frame"
INT64 = (-(2**63), 2**63 - 1)


def cache_dir() -> Path | None:
    """Folder of the per-user cache of parsed data files: ``$CORRIDORS_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/corridors``, else ``~/.cache/corridors``. ``CORRIDORS_CACHE_DIR=""`` turns caching off
    (None)."""
    env = os.environ.get("CORRIDORS_CACHE_DIR")
    if env is not None:
        return Path(env) if env else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "corridors"


def encode_frame(gdf: gpd.GeoDataFrame, key: str) -> bytes | None:
    """A frame as bytes: magic line, 8-byte header length, a JSON header (source hash, row count, each column's
    dtype and values, the length of each geometry's WKB), then the geometries' WKB one after another, then the
    packed columns. A column whose cells are all lists of integers (or None), such as a section's network edge ids,
    is packed: its cells' lengths in the header, their integers as one little-endian int64 array (JSON text of
    10^5 integers took most of the decoding). None when a column is neither numeric nor plain JSON values. The
    same frame always gives the same bytes."""
    columns, packed = [], []
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        dtype = gdf[col].dtype
        plain = isinstance(dtype, np.dtype) and dtype.kind == "O"
        if not (plain or (isinstance(dtype, np.dtype) and dtype.kind in "biuf")):
            return None
        values = gdf[col].tolist()
        if plain and _int_lists(values):
            flat = [i for v in values if v is not None for i in v]
            packed.append(np.array(flat, dtype="<i8").tobytes())
            lengths = [-1 if v is None else len(v) for v in values]
            columns.append({"name": col, "dtype": "int-lists", "lengths": lengths})
            continue
        columns.append({"name": col, "dtype": "object" if plain else dtype.str, "values": values})
    wkb = shapely.to_wkb(gdf.geometry.values, output_dimension=3)  # z kept where there is one
    try:
        header = json.dumps({"source_sha256": key, "rows": len(gdf), "geometry": gdf.geometry.name,
                             "geometry_at": list(gdf.columns).index(gdf.geometry.name), "columns": columns,
                             "wkb_bytes": [-1 if b is None else len(b) for b in wkb]},
                            ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError):  # a value JSON cannot hold: not cached
        return None
    return CACHE_MAGIC + struct.pack("<Q", len(header)) + header + b"".join(b for b in wkb if b is not None) + \
        b"".join(packed)


def _int_lists(values: list[Any]) -> bool:
    """Every cell None or a list of plain integers within int64, and at least one list."""
    lists = [v for v in values if v is not None]
    return bool(lists) and all(type(v) is list and all(type(i) is int and INT64[0] <= i <= INT64[1] for i in v)
                               for v in lists)


def decode_frame(blob: bytes, key: str) -> gpd.GeoDataFrame | None:
    """The frame ``encode_frame`` wrote, or None when ``blob`` is not one, is cut short, or was made from a file
    whose hash is not ``key``."""
    parts = _header_and_wkb(blob, key)
    if parts is None:
        return None
    header, wkb, pos = parts
    n = header["rows"]
    cols: dict[str, Any] = {}
    for at, c in enumerate(header["columns"]):
        if at == header["geometry_at"]:
            cols[header["geometry"]] = None  # its place in the column order
        if c["dtype"] in ("object", "int-lists"):
            values = np.empty(n, dtype=object)
            if c["dtype"] == "int-lists":
                lengths = c["lengths"]
                count = sum(k for k in lengths if k > 0)
                if len(lengths) != n or pos + 8 * count > len(blob):
                    return None
                flat = np.frombuffer(blob, dtype="<i8", count=count, offset=pos).tolist()
                pos, at_flat = pos + 8 * count, 0
                for i, k in enumerate(lengths):
                    if k >= 0:
                        values[i], at_flat = flat[at_flat:at_flat + k], at_flat + k
            else:
                for i, v in enumerate(c["values"]):  # one by one: a list value stays one cell
                    values[i] = v
            cols[c["name"]] = pd.Series(values, dtype=object, copy=False)
        else:
            cols[c["name"]] = pd.Series(np.array(c["values"], dtype=np.dtype(c["dtype"])), copy=False)
    if pos != len(blob):
        return None
    cols[header["geometry"]] = gpd.GeoSeries(shapely.from_wkb(wkb), crs=CRS)
    return gpd.GeoDataFrame(cols, geometry=header["geometry"], crs=CRS)


def _header_and_wkb(blob: bytes, key: str) -> tuple[dict[str, Any], np.ndarray, int] | None:
    """A cached frame's header, each row's WKB (None for no geometry) and where the packed columns start; None
    when ``blob`` is not a cached frame or was made from a file whose hash is not ``key``."""
    if not blob.startswith(CACHE_MAGIC):
        return None
    start = len(CACHE_MAGIC) + 8
    (size,) = struct.unpack_from("<Q", blob, len(CACHE_MAGIC))
    header = json.loads(blob[start:start + size])
    if header.get("source_sha256") != key:
        return None
    n, pos = header["rows"], start + size
    wkb = np.empty(n, dtype=object)
    for i, length in enumerate(header["wkb_bytes"]):
        if length >= 0:
            wkb[i], pos = blob[pos:pos + length], pos + length
    if len(header["wkb_bytes"]) != n or pos > len(blob):
        return None
    return header, wkb, pos


def shapes(name: str, column: str) -> tuple[np.ndarray, list[Any]]:
    """The geometries of a shipped file's frame as new objects (a caller may prepare them without touching the
    frames' geometries), and one column's values, in row order, exactly as the frame has them, without building
    the frame: read from the per-user cache's copy when there is one (a few ms, where a frame takes 5-15 ms at a
    command's start), else copied from the frame. For callers that need the shapes only (the countries layer, an
    index of the CAREC sections)."""
    geoms, values = shapes_and_columns(name, [column])
    return geoms, values[column]


def shapes_and_columns(name: str, columns: list[str]) -> tuple[np.ndarray, dict[str, list[Any]]]:
    """``shapes`` with several columns (plain JSON values: text, numbers, lists of text), by name."""
    folder = cache_dir()
    key = file_sha256(geodata_dir() / name)
    path = folder / f"{Path(name).stem}-{key[:32]}{CACHE_SUFFIX}" if folder is not None else None
    try:
        parts = _header_and_wkb(path.read_bytes(), key) if path is not None else None
    except (OSError, ValueError, LookupError, TypeError, struct.error):  # absent or damaged: from the frame
        parts = None
    if parts is not None:
        header, wkb, _ = parts
        found = {c["name"]: c.get("values") for c in header["columns"]}
        values = {c: found.get(c) for c in columns}
        if all(isinstance(v, list) and len(v) == len(wkb) for v in values.values()):
            return np.asarray(shapely.from_wkb(wkb), dtype=object), values  # type: ignore[return-value]
    frame = _read(name)
    return (np.asarray(shapely.from_wkb(shapely.to_wkb(frame.geometry.values, output_dimension=3)), dtype=object),
            {c: frame[c].tolist() for c in columns})


def section_lines(kind: str | None = None) -> np.ndarray:
    """The lines of ``sections(kind)`` as new objects, in the same order, exactly the same lines (``shapes``)."""
    lines, kinds = shapes("corridors.geojson", "kind")
    return lines if kind is None else lines[np.array([k == kind for k in kinds], dtype=bool)]


def _store(path: Path, blob: bytes | None, gdf: gpd.GeoDataFrame, key: str) -> None:
    """Write the cache copy atomically (temporary file, then rename), only if it decodes to ``gdf`` exactly; any
    failure leaves the cache as it was (it is only a cache). Older copies of the same file are removed."""
    if blob is None or not same_frame(decode_frame(blob, key), gdf):
        return
    from .network import write_atomic

    try:
        write_atomic(path, blob)
        stem = path.name.split("-")[0]
        for old in path.parent.glob(f"{stem}-*{CACHE_SUFFIX}"):
            if old != path:
                with contextlib.suppress(OSError):
                    old.unlink()
    except OSError:
        pass


ARRAYS_MAGIC = b"corridors arrays 1\n"  # a new number for any change of layout
ARRAYS_SUFFIX = ".arrays"
_ALIGN = 64


def file_sha256(path: Path) -> str:
    """The SHA-256 (hex) of a file's bytes: the key of everything the cache derives from it.

    Hashing the data files took ~15 ms of a routed command (network.npz is 14 MB), so a file is hashed once per
    process, and the hash is remembered between processes in the per-user cache (``sha256-memo.json``) under the
    file's stat identity: path, device, inode, size, and modification and change times in ns. Any write to the
    file changes its change time (which no tool can set back) and a replaced file has another inode, so a
    remembered hash is used only for the very file it was computed from. As git does against "racy" files, a hash
    is remembered only for a file last changed more than ``SETTLED_S`` seconds before it was hashed (a write
    within the same clock tick could leave the times unchanged)."""
    st = os.stat(path)
    seen = (os.fspath(Path(path).resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if seen in _HASHED:
        return _HASHED[seen]
    memo = _sha_memo(cache_dir())
    hit = memo.get(seen[0])
    if isinstance(hit, list) and len(hit) == len(seen) and tuple(hit[:-1]) == seen[1:] and isinstance(hit[-1], str):
        _HASHED[seen] = hit[-1]
        return hit[-1]
    with open(path, "rb") as f:
        _HASHED[seen] = digest = hashlib.file_digest(f, "sha256").hexdigest()
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > SETTLED_S * 10**9:
        _remember(seen, digest)
    return digest


SETTLED_S = 2
SHA_MEMO = "sha256-memo.json"
_HASHED: dict[tuple[Any, ...], str] = {}


@functools.cache
def _sha_memo(folder: Path | None) -> dict[str, Any]:
    """The hashes remembered in ``folder`` (path -> [device, inode, size, mtime_ns, ctime_ns, sha256]); {} when
    there are none, the cache is off, or the file is damaged."""
    try:
        memo = json.loads((folder / SHA_MEMO).read_bytes()) if folder is not None else {}
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def _remember(seen: tuple[Any, ...], digest: str) -> None:
    """Add one file's hash to the memo (atomically; kept small: the files of this package only, at most 64)."""
    folder = cache_dir()
    if folder is None:
        return
    memo = _sha_memo(folder)
    memo[seen[0]] = [*seen[1:], digest]
    for stale in list(memo)[:-64]:
        del memo[stale]
    from .network import write_atomic

    with contextlib.suppress(OSError):
        write_atomic(folder / SHA_MEMO, json.dumps(memo, separators=(",", ":")))


def cached_arrays(stem: str, key: str,
                  build: Callable[[], tuple[dict[str, np.ndarray], Any]]) -> tuple[dict[str, np.ndarray], Any]:
    """Numeric arrays (and a JSON-able ``meta`` value) derived from shipped data, kept in the per-user cache
    (``cache_dir()``) as one uncompressed file and memory-mapped on read: only the pages used are read, so a
    cold process gets large precomputed structures in a few ms. ``key`` must change whenever the result would
    (e.g. the source file's ``file_sha256`` and a layout version); ``build()`` runs when the copy is absent,
    stale (another key), damaged or cut short, and its result is stored atomically (temporary file, then rename)
    if it reads back identical. The arrays read from the cache are read-only. The cache never changes a result."""
    folder = cache_dir()
    path = folder / f"{stem}-{hashlib.sha256(key.encode()).hexdigest()[:32]}{ARRAYS_SUFFIX}" \
        if folder is not None else None
    if path is not None:
        try:
            hit = _read_arrays(path, key)
        except (OSError, ValueError, LookupError, TypeError, struct.error):
            hit = None
        if hit is not None:
            return hit
    arrays, meta = build()
    if path is not None:
        _store_arrays(path, stem, key, arrays, meta)
    return arrays, meta


def _encode_arrays(key: str, arrays: dict[str, np.ndarray], meta: Any) -> tuple[bytes, list[np.ndarray]]:
    """Header bytes (magic, 8-byte length, JSON: key, meta, each array's name, dtype, shape, offset, total
    size) and the arrays, each to be written at its 64-byte aligned offset after the header."""
    specs, pos, body = [], 0, []
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        if a.dtype.kind not in "biuf":
            raise TypeError(f"array {name!r} is not numeric")
        specs.append([name, a.dtype.str, list(a.shape), pos])
        body.append(a)
        pos += -(-a.nbytes // _ALIGN) * _ALIGN
    head = json.dumps({"key": key, "meta": meta, "arrays": specs, "size": pos}, ensure_ascii=False,
                      separators=(",", ":"), sort_keys=True).encode("utf-8")
    start = -(-(len(ARRAYS_MAGIC) + 8 + len(head)) // _ALIGN) * _ALIGN
    header = ARRAYS_MAGIC + struct.pack("<Q", len(head)) + head
    return header + b"\0" * (start - len(header)), body


def _read_arrays(path: Path, key: str) -> tuple[dict[str, np.ndarray], Any] | None:
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    if mm[:len(ARRAYS_MAGIC)] != ARRAYS_MAGIC:
        return None
    (size,) = struct.unpack_from("<Q", mm, len(ARRAYS_MAGIC))
    at = len(ARRAYS_MAGIC) + 8
    header = json.loads(mm[at:at + size])
    if header.get("key") != key:
        return None
    start = -(-(at + size) // _ALIGN) * _ALIGN
    if len(mm) != start + header["size"]:
        return None  # cut short (or grown): not the file that was written
    out = {}
    for name, dtype, shape, pos in header["arrays"]:
        dt = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        out[name] = np.frombuffer(mm, dtype=dt, count=count, offset=start + pos).reshape(shape)
    return out, header["meta"]


def _store_arrays(path: Path, stem: str, key: str, arrays: dict[str, np.ndarray], meta: Any) -> None:
    """Write the arrays atomically, keep them only if they read back identical; older copies of ``stem`` go."""
    try:
        header, body = _encode_arrays(key, arrays, meta)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header)
                for a in body:
                    f.write(a.tobytes())
                    f.write(b"\0" * (-a.nbytes % _ALIGN))
            back = _read_arrays(Path(tmp), key)
            if back is None or back[1] != json.loads(json.dumps(meta)) or set(back[0]) != set(arrays) or \
                    not all(np.array_equal(back[0][k], arrays[k]) and back[0][k].dtype == np.asarray(arrays[k]).dtype
                            for k in arrays):
                raise ValueError("the cache copy does not read back identical")
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        same = re.compile(rf"{re.escape(stem)}-[0-9a-f]{{32}}{re.escape(ARRAYS_SUFFIX)}")
        for old in path.parent.glob(f"{stem}-*{ARRAYS_SUFFIX}"):
            if old != path and same.fullmatch(old.name):
                with contextlib.suppress(OSError):
                    old.unlink()
    except (OSError, ValueError, TypeError):
        pass


def same_frame(a: gpd.GeoDataFrame | None, b: gpd.GeoDataFrame) -> bool:
    """True when the two frames hold the same columns, dtypes, values (compared by ``repr``: None is not NaN, a
    tuple is not a list, 1 is not 1.0) and exactly the same geometries."""
    if a is None or list(a.columns) != list(b.columns) or len(a) != len(b) or not a.index.equals(b.index):
        return False
    if a.crs != b.crs or a.geometry.name != b.geometry.name:
        return False
    for col in a.columns:
        if col == a.geometry.name:
            wa, wb = (shapely.to_wkb(g.values, output_dimension=3) for g in (a[col], b[col]))
            if wa.tolist() != wb.tolist():  # WKB holds the type, the parts and every coordinate's exact bits
                return False
        elif a[col].dtype != b[col].dtype or repr(a[col].tolist()) != repr(b[col].tolist()):  # types too
            return False
    return True


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


FIGURES = "section_figures.json"  # precomputed figures of the shipped sections (scripts/build_geodata.py)
FIGURES_INPUTS = ("corridors.geojson", "nodes.geojson", "countries.geojson", "gazetteer.tsv")  # what they rest on


def data_sha256(names: tuple[str, ...] = FIGURES_INPUTS) -> str:
    """One SHA-256 (hex) over the named shipped files' own SHA-256s: the data hash precomputed figures belong to."""
    folder = geodata_dir()
    return hashlib.sha256("".join(f"{n} {file_sha256(folder / n)}\n" for n in names).encode()).hexdigest()


def shipped_figures() -> dict[str, dict[str, Any]] | None:
    """The analysis figures of every shipped section and key route by id, as ``scripts/build_geodata.py`` wrote
    them into ``geodata/section_figures.json`` (``RouteAnalysis`` fields without the geometry, in the order of
    ``sections()``; a fresh copy per call), or None when the file is absent, unreadable, or was made from other
    data files than the current ones (its ``data_sha256`` is not ``data_sha256()``): figures are only ever taken
    for the very data they were computed from. tests/test_section_figures.py checks they equal a live
    ``analyze_many``."""
    text = _figures_text()
    return None if text is None else {r["id"]: r for r in json.loads(text)["routes"]}


@functools.cache
def _figures_text() -> bytes | None:
    """The figures file's bytes, once checked to belong to the current data files (else None)."""
    try:
        raw = (geodata_dir() / FIGURES).read_bytes()
        doc = json.loads(raw)
        if tuple(doc["inputs"]) != FIGURES_INPUTS or doc["data_sha256"] != data_sha256():
            return None
        return raw
    except (OSError, ValueError, LookupError, TypeError, AttributeError):
        return None


_NONWORD = re.compile(r"[\W_]+")


def norm_key(text: Any) -> str:
    """Lookup key of a name: transliterated to ASCII (Алматы -> almaty, Almatı -> almati, 阿拉木图 -> alamutu),
    casefolded, letters and digits only. '' when nothing is left (never looked up)."""
    from anyascii import anyascii  # imported on the first lookup by name, not with the data (~4 ms)

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
    """Per column: normalised key -> row positions, built once per data file (lookups are then dict hits) and
    kept in the per-user cache (``cached_arrays``: keyed by the file's hash and the transliteration's version)."""
    from anyascii import __version__ as anyascii_version

    key = f"name-index v1 {file_sha256(geodata_dir() / name)} {cols} anyascii {anyascii_version}"
    _, index = cached_arrays(f"{Path(name).stem}-names-{'_'.join(cols)}", key, lambda: ({}, _build_keys(name, cols)))
    return index  # type: ignore[no-any-return]


def _build_keys(name: str, cols: tuple[str, ...]) -> dict[str, dict[str, list[int]]]:
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
    import difflib  # only to suggest spellings in an error

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
