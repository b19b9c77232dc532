"""The per-user cache of parsed data files (issue 14): reading through it gives exactly the frame parsed from the
GeoJSON, the copy is byte-reproducible and written atomically, and a stale, damaged or unwritable cache changes
nothing but the speed."""

import hashlib
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from corridors import data

FILES = ["corridors.geojson", "nodes.geojson", "countries.geojson"]
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh cache folder and a fresh in-process read cache (restored afterwards)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("CORRIDORS_CACHE_DIR", str(folder))
    data._read.cache_clear()
    yield folder
    data._read.cache_clear()


def parsed(name: str):
    return data.parse_geojson((data.geodata_dir() / name).read_text(encoding="utf-8"))


def copies(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f"{Path(name).stem}-*{data.CACHE_SUFFIX}"))


@pytest.mark.parametrize("name", FILES)
def test_cached_frame_is_the_parsed_frame(cache, name):
    first = data._read(name)  # parses and writes the copy
    assert len(copies(cache, name)) == 1
    data._read.cache_clear()
    again = data._read(name)  # from the copy
    want = parsed(name)
    pd.testing.assert_frame_equal(again, want, check_exact=True)
    pd.testing.assert_frame_equal(first, want, check_exact=True)
    assert data.same_frame(again, want)
    assert list(again.dtypes.astype(str)) == list(want.dtypes.astype(str))
    for col in want.columns[:-1]:  # None stays None (not NaN), lists stay lists
        if want[col].dtype == object:
            assert [type(v) for v in again[col]] == [type(v) for v in want[col]], col
    assert shapely.to_wkb(again.geometry.values).tolist() == shapely.to_wkb(want.geometry.values).tolist()


def test_real_values_through_the_cache(cache):
    data._read("nodes.geojson")
    data._read.cache_clear()
    korday = data.node("bcp_korday_ak_zhol")
    assert korday["kind"] == "bcp" and korday["joins"] == ["KAZ", "KGZ"] and "Kordai" in korday["alt_names"]
    assert set(data.sections()["id"]) >= {"1b", "almaty-bishkek"}
    kaz = data.countries().set_index("iso_a3").loc["KAZ"]
    assert kaz["name_en"] == "Kazakhstan" and 2.5e6 < kaz.geometry.area * 111.32 ** 2 * 0.7 < 3.2e6


def test_copy_is_byte_reproducible_across_processes(cache):
    data._read("countries.geojson")
    blob = copies(cache, "countries.geojson")[0].read_bytes()
    assert data.encode_frame(parsed("countries.geojson"), _key("countries.geojson")) == blob
    other = cache.parent / "other"
    code = "from corridors import data; data._read('countries.geojson')"
    env = {**os.environ, "PYTHONPATH": SRC, "CORRIDORS_CACHE_DIR": str(other)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
    assert copies(other, "countries.geojson")[0].read_bytes() == blob


def _key(name: str) -> str:
    import hashlib

    return hashlib.sha256((data.geodata_dir() / name).read_bytes()).hexdigest()


def test_a_copy_of_other_data_is_never_used(cache):
    """A copy made from another version of the file (another hash) is ignored, replaced, and removed."""
    name = "nodes.geojson"
    frame = parsed(name)
    frame.loc[0, "name"] = "Not a real name"
    cache.mkdir(parents=True)
    stale = cache / f"nodes-{'0' * 32}{data.CACHE_SUFFIX}"
    stale.write_bytes(data.encode_frame(frame, "0" * 64))
    assert data.decode_frame(stale.read_bytes(), _key(name)) is None  # wrong hash
    got = data._read(name)
    assert got.loc[0, "name"] != "Not a real name" and data.same_frame(got, parsed(name))
    assert not stale.exists() and len(copies(cache, name)) == 1


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "header", "fields"])
def test_a_damaged_copy_is_ignored_and_rewritten(cache, damage):
    name = "countries.geojson"
    data._read(name)
    path = copies(cache, name)[0]
    good = path.read_bytes()
    bad = {"truncate": good[:-100], "garbage": b"\x00" * 1000, "empty": b"",
           "header": good[:len(data.CACHE_MAGIC) + 8] + b"{not json" + good[len(data.CACHE_MAGIC) + 17:],
           "fields": good.replace(b'"geometry_at"', b'"geometry_xx"', 1)}[damage]  # e.g. another layout
    path.write_bytes(bad)
    data._read.cache_clear()
    assert data.same_frame(data._read(name), parsed(name))
    assert path.read_bytes() == good  # rewritten
    assert not list(cache.glob("*.tmp"))


def test_cache_off_and_unwritable_cache_change_nothing(tmp_path, monkeypatch):
    data._read.cache_clear()
    try:
        monkeypatch.setenv("CORRIDORS_CACHE_DIR", "")
        assert data.cache_dir() is None
        assert data.same_frame(data._read("nodes.geojson"), parsed("nodes.geojson"))
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        monkeypatch.setenv("CORRIDORS_CACHE_DIR", str(blocker / "cache"))
        data._read.cache_clear()
        assert data.same_frame(data._read("nodes.geojson"), parsed("nodes.geojson"))
    finally:
        data._read.cache_clear()


def test_default_cache_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("CORRIDORS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.cache_dir() == tmp_path / "corridors"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data.cache_dir() == Path.home() / ".cache" / "corridors"


def test_failed_write_leaves_the_old_copy_and_no_temporary_file(cache, monkeypatch):
    name = "nodes.geojson"
    data._read(name)
    path = copies(cache, name)[0]
    good = path.read_bytes()
    path.write_bytes(good[:50])  # damaged: the next read rewrites it ...

    def fail(*_args):  # ... but the rename fails (disk full, killed)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data.os, "replace", fail)
    data._read.cache_clear()
    assert data.same_frame(data._read(name), parsed(name))
    assert path.read_bytes() == good[:50]  # untouched: a reader never sees a half-written copy
    assert not list(cache.glob("*.tmp")) and not list(cache.glob(".*.tmp"))


def test_frames_the_format_cannot_hold_are_not_cached():
    frame = parsed("nodes.geojson").head(3)
    frame["when"] = pd.to_datetime(["2024-01-01"] * 3)
    assert data.encode_frame(frame, "k") is None
    frame = parsed("nodes.geojson").head(3)
    frame["obj"] = [object(), None, "x"]
    assert data.encode_frame(frame, "k") is None
    frame = parsed("nodes.geojson").head(3)
    frame["t"] = [(1, 2), [1, 2], None]  # the tuple would come back a list: refused by the round-trip check
    blob = data.encode_frame(frame, "k")
    assert blob is not None and not data.same_frame(data.decode_frame(blob, "k"), frame)


def test_numeric_columns_and_missing_geometries_round_trip():
    frame = parsed("nodes.geojson").head(4)
    frame["f"] = [1.5, np.nan, -0.0, 1e300]
    frame["i"] = np.array([1, 2, 3, -(2 ** 62)], dtype=np.int64)
    frame["b"] = [True, False, True, True]
    frame.loc[2, "geometry"] = None
    frame.loc[3, "geometry"] = shapely.Point(74.5, 43.2, 812.0)  # a height is kept, never dropped
    back = data.decode_frame(data.encode_frame(frame, "k"), "k")
    assert data.same_frame(back, frame)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert back.geometry.iloc[2] is None and back.geometry.iloc[3].z == 812.0


def test_integer_list_columns_are_packed_and_round_trip_exactly():
    frame = parsed("nodes.geojson").head(5)
    frame["ids"] = [[1, 2, 3], None, [], [2 ** 63 - 1, -(2 ** 63)], [7]]
    frame["mixed"] = [[1, True], [1.0], [1], None, ["1"]]  # bool, float, text: not packed, kept as they are
    blob = data.encode_frame(frame, "k")
    header = json.loads(blob[len(data.CACHE_MAGIC) + 8:len(data.CACHE_MAGIC) + 8 + struct.unpack_from(
        "<Q", blob, len(data.CACHE_MAGIC))[0]])
    kinds = {c["name"]: c["dtype"] for c in header["columns"]}
    assert kinds["ids"] == "int-lists" and kinds["mixed"] == "object"
    back = data.decode_frame(blob, "k")
    assert data.same_frame(back, frame)
    assert back["ids"].tolist() == [[1, 2, 3], None, [], [2 ** 63 - 1, -(2 ** 63)], [7]]
    assert back["mixed"].tolist() == [[1, True], [1.0], [1], None, ["1"]]
    assert data.decode_frame(blob[:-8], "k") is None  # cut short inside the packed integers


def test_the_sections_network_edges_are_packed():
    blob = data.encode_frame(parsed("corridors.geojson"), "k")
    assert b'"name":"network_edges","dtype":"int-lists"' in blob


@pytest.mark.parametrize("kind", [None, "section", "key_route"])
def test_section_lines_are_the_sections_geometries(cache, kind, monkeypatch):
    """From the cache's copy (after a first read wrote it), and without a cache: the very lines of ``sections``."""
    expected = shapely.to_wkb(data.sections(kind).geometry.values).tolist()
    assert copies(cache, "corridors.geojson")
    assert shapely.to_wkb(data.section_lines(kind)).tolist() == expected
    monkeypatch.setenv("CORRIDORS_CACHE_DIR", "")
    lines = data.section_lines(kind)
    assert shapely.to_wkb(lines).tolist() == expected
    shapely.prepare(lines)  # new objects: the frame's own geometries stay unprepared
    assert not shapely.is_prepared(data.sections(kind).geometry.values).any()


def test_a_remembered_hash_is_used_only_for_the_same_file(cache, tmp_path, monkeypatch):
    """The hash memo (between processes) answers for a settled file whose stat identity is unchanged; a rewritten
    file (new change time, or a new inode) is hashed again; a file changed within SETTLED_S is not remembered."""
    f = tmp_path / "f.bin"
    f.write_bytes(b"a" * 1000)
    old = os.stat(f).st_mtime_ns - 10 * 10**9
    os.utime(f, ns=(old, old))  # the change time stays now: not settled yet
    want = data.file_sha256(f)
    assert want == hashlib.sha256(b"a" * 1000).hexdigest()
    assert not (cache / data.SHA_MEMO).exists()
    monkeypatch.setattr(data, "SETTLED_S", -1)  # as if hashed later: remembered
    data._HASHED.clear()
    data.file_sha256(f)
    assert json.loads((cache / data.SHA_MEMO).read_text())[str(f.resolve())][-1] == want
    data._HASHED.clear()
    data._sha_memo.cache_clear()
    monkeypatch.setattr(data.hashlib, "file_digest", lambda *a: (_ for _ in ()).throw(AssertionError("hashed")))
    assert data.file_sha256(f) == want  # from the memo, the file not read
    monkeypatch.undo()
    monkeypatch.setenv("CORRIDORS_CACHE_DIR", str(cache))
    time.sleep(0.05)  # past the file system's clock tick (the memo was made as if settled: SETTLED_S -1)
    f.write_bytes(b"b" * 1000)  # same size, same path: the change time moves
    os.utime(f, ns=(old, old))
    data._HASHED.clear()
    assert data.file_sha256(f) == hashlib.sha256(b"b" * 1000).hexdigest()


def test_a_damaged_hash_memo_is_ignored(cache, tmp_path):
    cache.mkdir(parents=True, exist_ok=True)
    (cache / data.SHA_MEMO).write_text("{not json")
    f = tmp_path / "g.bin"
    f.write_bytes(b"x")
    data._HASHED.clear()
    data._sha_memo.cache_clear()
    assert data.file_sha256(f) == hashlib.sha256(b"x").hexdigest()
    (cache / data.SHA_MEMO).write_text(json.dumps({str(f.resolve()): "nonsense"}))
    data._HASHED.clear()
    data._sha_memo.cache_clear()
    assert data.file_sha256(f) == hashlib.sha256(b"x").hexdigest()


@pytest.mark.parametrize(("name", "column"), [("countries.geojson", "iso_a3"), ("nodes.geojson", "joins"),
                                              ("corridors.geojson", "network_edges")])
def test_shapes_are_the_frames_geometries_and_column(cache, name, column, monkeypatch):
    frame = data._read(name)  # writes the cache's copy
    want = shapely.to_wkb(frame.geometry.values).tolist(), frame[column].tolist()
    for cache_on in (True, False):
        if not cache_on:
            monkeypatch.setenv("CORRIDORS_CACHE_DIR", "")
        geoms, values = data.shapes(name, column)
        assert (shapely.to_wkb(geoms).tolist(), values) == want
        shapely.prepare(geoms)
        assert not shapely.is_prepared(frame.geometry.values).any()


def test_shapes_and_columns_are_the_frames(cache, monkeypatch):
    cols = ["kind", "id", "name", "joins", "country"]
    frame = data._read("nodes.geojson")  # writes the cache's copy
    for cache_on in (True, False):
        if not cache_on:
            monkeypatch.setenv("CORRIDORS_CACHE_DIR", "")
        geoms, values = data.shapes_and_columns("nodes.geojson", cols)
        assert shapely.to_wkb(geoms).tolist() == shapely.to_wkb(frame.geometry.values).tolist()
        assert values == {c: frame[c].tolist() for c in cols}
