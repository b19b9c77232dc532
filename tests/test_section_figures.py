"""The figures precomputed for the shipped sections and key routes (geodata/section_figures.json, written by
scripts/build_geodata.py, read by ``corridors report`` for start-up) are exactly what a live analysis gives.

When the data or the analysis changes, the test fails (never skips) with the recipe: the figures are only used
while their data hash is that of the current data files, but a change of the analysis code itself is caught here.
"""

import contextlib
import importlib.util
import io
import json
import warnings

import pytest

import corridors
from corridors import analysis, cli, data

RECIPE = "regenerate them: python scripts/build_geodata.py --figures (and commit geodata/section_figures.json)"


def _build(repo):
    spec = importlib.util.spec_from_file_location("build_geodata", repo / "scripts" / "build_geodata.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _plain(v):
    return json.loads(json.dumps(v))


def _report(argv, shipped: bool, monkeypatch) -> tuple[int, str, str]:
    """``corridors report ...``: stdout, stderr, exit code; with the precomputed figures or without them."""
    with monkeypatch.context() as m:
        if not shipped:
            m.setattr(data, "shipped_figures", lambda: None)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["report", *argv])
    return code, out.getvalue(), err.getvalue()


def test_the_shipped_figures_belong_to_the_current_data():
    doc = json.loads((data.geodata_dir() / data.FIGURES).read_text(encoding="utf-8"))
    assert tuple(doc["inputs"]) == data.FIGURES_INPUTS
    assert doc["data_sha256"] == data.data_sha256(), f"the data files changed since the figures were made; {RECIPE}"
    assert data.shipped_figures() is not None


def test_the_shipped_figures_are_a_live_analysis(repo):
    """Every record equals the live ``analyze_many`` of all sections (the build's own computation), field by field,
    and the ids are those of ``sections()`` in order."""
    shipped = data.shipped_figures()
    live = _plain(_build(repo).figure_records())
    assert list(shipped) == corridors.sections()["id"].tolist()
    for rec in live:
        assert shipped[rec["id"]] == rec, f"{rec['id']}: the analysis changed; {RECIPE}"
    assert len(live) == len(shipped)


def test_each_route_alone_gives_its_figures_as_in_the_batch():
    """``report ID`` analyses one route; the figures were made in one batch of all routes: the same."""
    shipped = data.shipped_figures()
    for i in shipped:
        r = analysis.analyze_many([i])[0]
        alone = cli.shipped_results([i])[0]
        assert _plain(r.to_dict()) == _plain(alone.to_dict()), i


def test_results_carry_no_geometry_and_are_fresh_copies():
    a, b = cli.shipped_results(["almaty-bishkek", "almaty-bishkek"])
    assert a.geometry is None and a.to_dict() == b.to_dict()
    a.crossings.clear()
    assert cli.shipped_results(["almaty-bishkek"])[0].crossings  # the next call is not affected


@pytest.mark.parametrize("argv", [
    [], ["almaty-bishkek"], ["--format", "csv"], ["--format", "json"], ["--format", "json", "--year", "2019"],
    ["--mode", "rail", "1a", "1b"], ["--year", "2015", "middle-corridor", "2a", "2a"], ["--format", "csv", "wewc-kaz"],
])
def test_report_output_is_byte_identical_with_and_without_them(argv, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the precomputed path is taken only where the analysis warns of nothing
        fast = _report(argv, True, monkeypatch)
    assert fast == _report(argv, False, monkeypatch)
    assert fast[0] == 0 and fast[1]


@pytest.mark.parametrize("ids", [["Almaty - Bishkek"], ["ALMATY-BISHKEK"], ["nosuch"], ["1a", "no such"]])
def test_names_and_unknown_ids_are_looked_up_as_before(ids, monkeypatch):
    assert cli.shipped_results(ids) is None
    assert _report(ids, True, monkeypatch) == _report(ids, False, monkeypatch)


def test_figures_of_other_data_are_not_used(monkeypatch):
    data._figures_text.cache_clear()
    try:
        monkeypatch.setattr(data, "data_sha256", lambda names=data.FIGURES_INPUTS: "0" * 64)
        assert data.shipped_figures() is None and cli.shipped_results(["1a"]) is None
    finally:
        data._figures_text.cache_clear()
    monkeypatch.undo()
    assert data.shipped_figures() is not None


def test_a_record_of_other_fields_is_not_used(monkeypatch):
    figures = data.shipped_figures()
    figures["1a"]["new_field"] = 1
    monkeypatch.setattr(data, "shipped_figures", lambda: figures)
    assert cli.shipped_results(["1a"]) is None and cli.shipped_results(["1b"]) is not None


def _cli(argv, shipped: bool, monkeypatch) -> tuple[int, str, str]:
    with monkeypatch.context() as m:
        if not shipped:
            m.setattr(data, "shipped_figures", lambda: None)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv", [
    ["almaty-bishkek", "1b"], ["almaty-bishkek", "1b", "--format", "json"], ["1a", "1b", "2a", "middle-corridor",
                                                                            "--year", "2018", "--format", "csv"],
    ["wewc-kaz", "--mode", "rail"], ["Almaty - Bishkek", "1b"],
])
def test_compare_output_is_byte_identical_with_and_without_them(argv, monkeypatch):
    fast = _cli(["compare", *argv], True, monkeypatch)
    assert fast == _cli(["compare", *argv], False, monkeypatch)
    assert fast[0] == 0 and fast[1]


def test_compare_reads_a_file_named_like_an_id_as_a_file(tmp_path, monkeypatch):
    (tmp_path / "1b").write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
                                 '"geometry": {"type": "LineString", "coordinates": [[76.9, 43.2], [74.6, 42.9]]}}]}')
    monkeypatch.chdir(tmp_path)
    fast = _cli(["compare", "almaty-bishkek", "1b"], True, monkeypatch)
    assert fast == _cli(["compare", "almaty-bishkek", "1b"], False, monkeypatch)
    assert fast[0] == 2 and "1b: unknown route file type" in fast[2]  # read as a file (as before), not section 1b


def test_shipped_results_are_what_analyze_gives_one_by_one():
    """``compare ID ...`` analyses each id with ``analyze`` (``routes.results``)."""
    for i in ["almaty-bishkek", "1b", "middle-corridor"]:
        assert _plain(analysis.analyze(i).to_dict()) == _plain(cli.shipped_results([i])[0].to_dict())
