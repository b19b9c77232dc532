"""Start-up stays light (issue 14): the CLI's help and argument errors load no geopandas, networkx or folium, and
``import corridors`` loads neither networkx nor folium. Checked on ``sys.modules`` in a fresh interpreter, never
on the clock (timings live in bench/bench_startup.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
HEAVY = ("geopandas", "networkx", "folium", "pandas", "shapely", "pyproj")


def loaded_after(code: str) -> tuple[list[str], str]:
    """Heavy modules in sys.modules after running ``code`` in a fresh interpreter (and its captured stdout)."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    *head, last = out.stdout.rstrip("\n").split("\n")
    return json.loads(last), "\n".join(head)


def run_cli(argv: list[str]) -> str:
    return f"""
import contextlib, io
import corridors.cli
err = io.StringIO()
with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
    try:
        corridors.cli.main({argv!r})
    except SystemExit as exc:
        print("exit", exc.code)
print(err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else "")
"""


@pytest.mark.parametrize("argv", [["--help"], ["report", "--help"], [], ["nosuch"], ["route", "--mode", "boat", "a"],
                                  ["--version"]])
def test_help_and_argument_errors_import_no_heavy_library(argv):
    loaded, _ = loaded_after(run_cli(argv))
    assert loaded == [], f"corridors {' '.join(argv)} imported {loaded}"


def test_argument_errors_still_say_what_is_wrong():
    _, out = loaded_after(run_cli(["route", "--mode", "boat", "Almaty"]))
    assert "invalid choice: 'boat'" in out


def test_import_corridors_loads_neither_networkx_nor_folium():
    loaded, _ = loaded_after("import corridors")
    assert "networkx" not in loaded and "folium" not in loaded


def test_analysis_loads_neither_networkx_nor_folium_and_routing_loads_no_folium():
    loaded, _ = loaded_after("import corridors\ncorridors.analyze('almaty-bishkek')")
    assert "geopandas" in loaded and "networkx" not in loaded and "folium" not in loaded
    loaded, _ = loaded_after("import corridors\ncorridors.route('Almaty', 'Bishkek')")
    assert "folium" not in loaded  # routing runs on scipy's Dijkstra over the regional network (graph.py)


def test_lazy_names_resolve_to_the_real_objects():
    import corridors
    from corridors import analysis, data, routes

    assert corridors.analyze is analysis.analyze and corridors.section is data.section
    assert corridors.route is routes.route and corridors.RouteError is analysis.RouteError
    assert set(corridors.__all__) <= set(dir(corridors))
    with pytest.raises(AttributeError):
        corridors.no_such_name  # noqa: B018


def test_a_function_named_like_its_module_stays_the_function():
    """corridors.facts is the function even once the submodule corridors.facts has been imported by another."""
    loaded, out = loaded_after("import corridors\ncorridors.carec_investment_by_country()\n"
                               "import corridors.facts\nprint(callable(corridors.facts), len(corridors.facts()) > 0)")
    assert out.strip().endswith("True True")


def test_the_command_prints_and_exits_as_main_does(capsys):
    """``python -m corridors`` (and the console script) run ``cli.run``: ``main()``, then a teardown without the
    collector's passes (``gc.freeze``). Same output and exit code as ``main()`` called in-process."""
    from corridors import cli

    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    argv = ["report", "almaty-bishkek", "--format", "json"]
    out = subprocess.run([sys.executable, "-m", "corridors", *argv], capture_output=True, text=True, env=env,
                         timeout=120)
    assert cli.main(argv) == 0
    assert out.returncode == 0 and out.stdout == capsys.readouterr().out and out.stderr == ""
    assert json.loads(out.stdout)[0]["id"] == "almaty-bishkek"
    bad = subprocess.run([sys.executable, "-m", "corridors", "report", "nope"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.splitlines() == [
        "corridors: error: no section called 'nope'; list them with corridors.sections()"]
