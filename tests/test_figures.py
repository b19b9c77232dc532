"""Static maps: PNG/SVG/PDF files with legend and credits, byte-reproducible, clear errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from corridors import cli, figures, style  # noqa: E402

SMALL = {"width": 6.0}  # keeps the tests quick; layout code is the same at any width
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "svg": b"<?xml", "pdf": b"%PDF-"}


@pytest.fixture(scope="module")
def overview(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig")
    return {fmt: figures.export(out / f"overview.{fmt}", dpi=72, **SMALL) for fmt in figures.FORMATS}


def test_files_exist_in_each_format(overview):
    for fmt, path in overview.items():
        data = path.read_bytes()
        assert data.startswith(MAGIC[fmt]) and len(data) > 10_000, fmt


def test_svg_has_legend_and_credits_as_text(overview):
    svg = overview["svg"].read_text(encoding="utf-8")
    for c in style.CORRIDORS:
        assert f"Corridor {c}: {style.CORRIDOR_NAMES[c]}" in svg
    for text in ("Legend", "© OpenStreetMap contributors", "© OpenMapTiles", "Natural Earth", "Ferry (sea passage)",
                 "Border crossing points", "Ports", "CAREC transport corridors"):
        assert text in svg, text
    assert style.PALETTE["3"].lower() in svg.lower()  # corridor colours as drawn
    assert "<dc:date>" not in svg  # no build date in the file


def test_map_names_countries_and_capitals():
    fig = figures.make_figure()  # the default 10 inches
    names = {t.get_text().strip() for t in fig.axes[0].texts}  # drawn with a halo: paths in the SVG
    assert {"KAZAKHSTAN", "KYRGYZSTAN", "UZBEKISTAN", "TURKMENISTAN", "Astana", "Bishkek", "Ashgabat"} <= names
    fergana = figures.make_figure(bbox=(69.5, 39.5, 73.8, 42.0), **SMALL)
    names = {t.get_text().strip() for t in fergana.axes[0].texts}
    assert {"Osh", "Andijan", "Namangan", "Khujand"} <= names


def test_scale_bar_is_geodesic():
    import re

    from pyproj import Geod

    fig = figures.make_figure(corridor=1, **SMALL)
    ax = fig.axes[0]
    label = next(t.get_text() for t in ax.texts if " km (at " in t.get_text())
    km = float(re.match(r"([\d,]+) km \(at \d+° N\)$", label).group(1).replace(",", ""))
    bar = next(ln for ln in ax.get_lines() if ln.get_color() == style.INK and ln.get_zorder() == 11)
    (lon0, lon1), (lat0, lat1) = bar.get_xdata(), bar.get_ydata()
    assert lat0 == lat1
    lons = np.linspace(lon0, lon1, 2001)  # the bar runs along the parallel: measure it densified
    assert Geod(ellps="WGS84").line_length(lons, np.full_like(lons, lat0)) / 1000 == pytest.approx(km, rel=1e-5)


def test_pdf_has_no_dates_and_embeds_fonts(overview):
    pdf = overview["pdf"].read_bytes()
    assert b"/CreationDate" not in pdf and b"/ModDate" not in pdf
    assert b"DejaVuSans" in pdf


def test_byte_reproducible_across_runs(overview, tmp_path):
    for fmt, first in overview.items():
        again = figures.export(tmp_path / f"again.{fmt}", dpi=72, **SMALL)
        assert again.read_bytes() == first.read_bytes(), fmt


def test_byte_reproducible_in_a_new_process(overview, tmp_path, repo):
    rc = tmp_path / "matplotlibrc"  # a user's own settings must not leak into the figure
    rc.write_text("font.family: serif\nsvg.fonttype: path\nlines.linewidth: 5\n", encoding="utf-8")
    code = ("from corridors import figures\n"
            f"for fmt in {figures.FORMATS!r}:\n"
            f"    figures.export({str(tmp_path)!r} + '/again.' + fmt, dpi=72, width=6.0)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path,
                   env={"PYTHONPATH": str(repo / "src"), "PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin",
                        "MPLCONFIGDIR": str(tmp_path)})
    for fmt, first in overview.items():
        assert (tmp_path / f"again.{fmt}").read_bytes() == first.read_bytes(), fmt


def test_one_corridor_lists_its_sections(tmp_path):
    svg = figures.export(tmp_path / "c2.svg", corridor=2, **SMALL).read_text(encoding="utf-8")
    assert "CAREC Corridor 2: Europe–Mediterranean–East Asia" in svg
    assert "2a: Georgian border – Ganja – Alat ~ Aktau – Beineu – Nukus – Bukhara – Osh – Kashi – Hami" in svg
    assert "Ferry (sea passage)" in svg  # Alat ~ Aktau
    assert "Corridor 1:" not in svg


def test_user_routes_are_data_not_markup(tmp_path):
    route = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "$\\alpha$ <b>mine</b> & co"},
        "geometry": {"type": "LineString", "coordinates": [[76.95, 43.25], [74.6, 42.87]]}}]}
    src = tmp_path / "mine.geojson"
    src.write_text(json.dumps(route), encoding="utf-8")
    svg = figures.export(tmp_path / "mine.svg", [str(src), "almaty-bishkek"], **SMALL).read_text(encoding="utf-8")
    assert "$\\alpha$ &lt;b&gt;mine&lt;/b&gt; &amp; co" in svg  # no mathtext, escaped in SVG
    assert "<b>mine" not in svg
    assert "Almaty–Bishkek road" in svg and "CAREC corridors (context)" in svg


def test_route_off_the_network_is_drawn_schematic(tmp_path):
    corridors = pytest.importorskip("corridors")
    r = corridors.route("Almaty", (71.0, 45.8))  # no road or railway within 50 km there: a straight geodesic
    fig = figures.make_figure([r], **SMALL)
    pale = [ln for ln in fig.axes[0].get_lines() if ln.get_color() == style.USER_COLOR]
    assert pale and all(ln.get_alpha() == style.SCHEMATIC["opacity"] for ln in pale)
    legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert "Thin, pale: off the corridor network (straight geodesic)" in legend
    assert r.segments[0]["kind"] == "geodesic" and any(lab.startswith("Almaty – ") for lab in legend)


def test_cli_export(tmp_path, capsys):
    out = tmp_path / "c5.png"
    assert cli.main(["export", "png", "--corridor", "5", "--dpi", "60", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(MAGIC["png"])
    assert capsys.readouterr().out.strip() == f"wrote {out}"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"path": "x.gif"}, "end the file name in .png, .svg or .pdf"),
    ({"path": "x.svg", "format": "png"}, "does not end in .png"),
    ({"path": "x.png", "format": "tiff"}, "choose one of png, svg, pdf"),
    ({"path": "nowhere/x.png"}, "does not exist; create it first"),
    ({"path": "x.png", "corridor": 7}, "unknown corridor '7'; CAREC corridors are 1, 2, 3, 4, 5, 6"),
    ({"path": "x.png", "corridor": 1, "routes": ["1a"]}, "either corridor= or routes"),
    ({"path": "x.png", "routes": []}, "routes is empty"),
    ({"path": "x.png", "bbox": (80, 40, 70, 45)}, "lon_min < lon_max"),
    ({"path": "x.png", "bbox": "Fergana"}, "four numbers"),
    ({"path": "x.png", "width": 100}, "width must be 3 to 40 inches"),
    ({"path": "x.png", "dpi": 5}, "dpi must be a whole number"),
])
def test_bad_input_is_named(tmp_path, monkeypatch, kwargs, message):
    monkeypatch.chdir(tmp_path)
    path = kwargs.pop("path")
    with pytest.raises(figures.FigureError, match=message):
        figures.export(path, **kwargs)
    assert not list(Path(tmp_path).glob("*.png"))  # nothing half-written


def test_unknown_route_and_cli_errors(tmp_path, capsys):
    with pytest.raises(LookupError, match="no section called 'nowhere'"):
        figures.make_figure(["nowhere"])
    assert cli.main(["export", "pdf", "--corridor", "9", "--out", str(tmp_path / "x.pdf")]) == 2
    assert "unknown corridor '9'" in capsys.readouterr().err


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'corridors\[figures\]'"):
        figures.make_figure()
