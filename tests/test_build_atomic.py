"""`corridors build` is all-or-nothing: a build killed at any point leaves either the whole old map set or the
whole new one (never a mix, never a temporary file inside --out), the next build clears what a killed one
left, and an unwritable --out is refused before the long render."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corridors import atlas, cli

SRC = Path(__file__).parents[1] / "src"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def run_build(out: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.Popen([sys.executable, "-m", "corridors.cli", "build", "--out", str(out), *extra],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_killed_build_leaves_the_old_set_or_the_new_set(tmp_path: Path) -> None:
    out = tmp_path / "maps"
    atlas.build(out, offline=True)
    old = snapshot(out)
    (tmp_path / "new").mkdir()
    atlas.build(tmp_path / "new", offline=False)
    new = snapshot(tmp_path / "new")
    assert old != new and set(old) == set(new)
    t = time.perf_counter()  # one full build's duration, to kill the next ones across their whole run
    assert run_build(tmp_path / "timing").wait() == 0
    duration = time.perf_counter() - t
    seen = []
    for frac in (0.2, 0.5, 0.8, 0.9, 0.95, 1.0, 1.1):
        atlas.build(out, offline=True)  # back to the old set
        proc = run_build(out)
        time.sleep(duration * frac)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = snapshot(out)
        assert now in (old, new), f"killed at {frac:.0%}: a mix of old and new pages"
        assert not [n for n in now if n.startswith(".")]
        seen.append("new" if now == new else "old")
    assert "old" in seen  # (killed early); "new" too when the kill came after the swap
    atlas.build(out, offline=False)  # the next build clears what killed ones left next to --out
    assert snapshot(out) == new
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_the_swap_keeps_the_users_own_files_and_drops_stale_temporaries(tmp_path: Path) -> None:
    out = tmp_path / "maps"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    (out / ".index.html.abcd.tmp").write_text("half a page", encoding="utf-8")  # left by older versions
    (tmp_path / f".maps{atlas.STAGING}x1").mkdir()  # left by a killed build
    atlas.build(out, offline=True)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert not list(out.glob(".*")) and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert {"index.html", "carec_corridors.html", "notes.txt"} <= {p.name for p in out.iterdir()}


def test_an_unwritable_out_is_refused_before_rendering(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = []
    monkeypatch.setattr(atlas, "pages", lambda offline=False: rendered.append(1) or {})
    afile = tmp_path / "a-file"
    afile.write_text("x", encoding="utf-8")
    assert cli.main(["build", "--out", str(afile)]) == 2
    assert "is a file" in capsys.readouterr().err
    with pytest.raises(atlas.BuildError, match="is a file, not a folder"):
        atlas.build(afile)
    if os.geteuid() != 0:  # root can write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        with pytest.raises(atlas.BuildError, match="cannot write the maps"):
            atlas.build(ro / "maps")
    with pytest.raises(atlas.BuildError, match="cannot write the maps"):
        atlas.build(afile / "maps")  # the parent is a file
    assert not rendered
