"""The wheel carries the data: install it into a fresh virtual environment and use it from another folder."""

import json
import subprocess
import sys
import venv

import pytest


@pytest.mark.slow
def test_installed_wheel_works_outside_the_repo(repo, tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(repo), "--no-deps", "-q", "-w", str(dist)], check=True)
    wheel = next(dist.glob("corridors-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)  # dependencies come from this interpreter
    py = env_dir / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import corridors, json; from corridors.data import geodata_dir; "
        "print(json.dumps({'file': corridors.__file__, 'data': str(geodata_dir()), "
        "'sections': len(corridors.sections()), 'nodes': len(corridors.nodes()), "
        "'km': corridors.analyze('almaty-bishkek').length_km, 'facts': len(corridors.facts())}))"
    )
    out = json.loads(subprocess.run([py, "-c", code], cwd=elsewhere, capture_output=True, text=True, check=True).stdout)
    assert out["file"].startswith(str(env_dir)), "imported the checkout instead of the installed wheel"
    assert out["data"].startswith(str(env_dir))
    assert out["sections"] >= 33 and out["nodes"] > 150 and out["facts"] > 10
    assert 220 <= out["km"] <= 250
    cli = subprocess.run([env_dir / "bin" / "corridors", "list", "--format", "json"], cwd=elsewhere,
                         capture_output=True, text=True, check=True)
    assert any(r["id"] == "almaty-bishkek" for r in json.loads(cli.stdout))
    built = subprocess.run([env_dir / "bin" / "corridors", "build", "--offline", "--out", "maps"], cwd=elsewhere,
                           capture_output=True, text=True, check=True)
    assert built.stdout.count("wrote ") == 10
    assert "Leaflet 1.9.4" in (elsewhere / "maps" / "carec_corridors.html").read_text(encoding="utf-8")
