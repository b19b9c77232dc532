"""The wheel carries the data and declares what it needs: install it into a virtual environment WITHOUT the
system's site packages (dependencies come from the package index, as a user's would) and use it elsewhere."""

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
    assert wheel.stat().st_size < 40e6, "the wheel must stay under 40 MB"
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=False, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "-q", str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import sys, corridors, json; from corridors import hierarchy; "
        "from corridors.data import geodata_dir, shipped_figures; "
        "r = corridors.route('Almaty', 'Bishkek'); "
        "print(json.dumps({'file': corridors.__file__, 'data': str(geodata_dir()), 'path': sys.path, "
        "'sections': len(corridors.sections()), 'nodes': len(corridors.nodes()), "
        "'km': corridors.analyze('almaty-bishkek').length_km, 'facts': len(corridors.facts()), "
        "'route_km': r.length_km, 'route_bcps': [c['bcp'] for c in r.crossings], "
        "'hierarchy': hierarchy.load('road') is not None, "
        "'figures': shipped_figures() is not None}))"
    )
    run = subprocess.run([py, "-I", "-c", code], cwd=elsewhere, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["file"].startswith(str(env_dir)), "imported the checkout instead of the installed wheel"
    assert out["data"].startswith(str(env_dir))
    assert not any("site-packages" in p and not p.startswith(str(env_dir)) for p in out["path"]), out["path"]
    assert out["sections"] >= 33 and out["nodes"] > 150 and out["facts"] > 10
    assert 270 <= out["km"] <= 285  # the almaty-bishkek key route traced on the network (276.8 km)
    assert 240 <= out["route_km"] <= 260 and len(out["route_bcps"]) == 1 and "Korday" in out["route_bcps"][0]
    assert out["hierarchy"] and out["figures"]  # the shipped hierarchy and precomputed figures are used
    cli = subprocess.run([env_dir / "bin" / "corridors", "list", "--format", "json"], cwd=elsewhere,
                         capture_output=True, text=True, check=True)
    assert any(r["id"] == "almaty-bishkek" for r in json.loads(cli.stdout))
    built = subprocess.run([env_dir / "bin" / "corridors", "build", "--offline", "--out", "maps"], cwd=elsewhere,
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    pages = sorted(p.name for p in (elsewhere / "maps").glob("*.html"))
    assert "carec_corridors.html" in pages and "index.html" in pages and len(pages) >= 10
    assert "Leaflet 1.9.4" in (elsewhere / "maps" / "carec_corridors.html").read_text(encoding="utf-8")
