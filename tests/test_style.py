"""The palette stays apart under colour-vision deficiencies and in grey print; labels read as words."""

from __future__ import annotations

import itertools

import colorspacious  # noqa: E402  (test extra)
import numpy as np
import pytest

from corridors import data, style

VIEWS = {"normal": None, "protanopia": "protanomaly", "deuteranopia": "deuteranomaly", "tritanopia": "tritanomaly"}


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> float:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005) of two CIELab colours."""
    L1, a1, b1 = lab1
    L2, a2, b2 = lab2
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    cb = (c1 + c2) / 2
    g = 0.5 * (1 - np.sqrt(cb**7 / (cb**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p, h2p = np.degrees(np.arctan2(b1, a1p)) % 360, np.degrees(np.arctan2(b2, a2p)) % 360
    dh = h2p - h1p
    dh = dh - 360 if dh > 180 else dh + 360 if dh < -180 else dh
    dh = 0.0 if c1p * c2p == 0 else dh
    d_lp, d_cp = L2 - L1, c2p - c1p
    d_hp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    lbp, cbp, hs = (L1 + L2) / 2, (c1p + c2p) / 2, h1p + h2p
    if c1p * c2p == 0:
        hbp = hs
    elif abs(h1p - h2p) > 180:
        hbp = (hs + 360) / 2 if hs < 360 else (hs - 360) / 2
    else:
        hbp = hs / 2
    t = (1 - 0.17 * np.cos(np.radians(hbp - 30)) + 0.24 * np.cos(np.radians(2 * hbp))
         + 0.32 * np.cos(np.radians(3 * hbp + 6)) - 0.20 * np.cos(np.radians(4 * hbp - 63)))
    dth = 30 * np.exp(-(((hbp - 275) / 25) ** 2))
    rc = 2 * np.sqrt(cbp**7 / (cbp**7 + 25.0**7))
    sl = 1 + 0.015 * (lbp - 50) ** 2 / np.sqrt(20 + (lbp - 50) ** 2)
    sc, sh = 1 + 0.045 * cbp, 1 + 0.015 * cbp * t
    rt = -np.sin(np.radians(2 * dth)) * rc
    return float(np.sqrt((d_lp / sl) ** 2 + (d_cp / sc) ** 2 + (d_hp / sh) ** 2 + rt * (d_cp / sc) * (d_hp / sh)))


@pytest.mark.parametrize(("lab1", "lab2", "expected"), [  # Sharma et al. (2005), Table 1
    ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
    ((50, 2.5, 0), (73, 25, -18), 27.1492),
    ((50, 2.5, 0), (50, 0, -2.5), 4.3065),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
])
def test_ciede2000_matches_reference_pairs(lab1, lab2, expected):
    assert ciede2000(np.array(lab1, float), np.array(lab2, float)) == pytest.approx(expected, abs=1e-4)


def _lab(hex_color: str, cvd: str | None) -> np.ndarray:
    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    if cvd is not None:
        space = {"name": "sRGB1+CVD", "cvd_type": cvd, "severity": 100}
        rgb = np.clip(colorspacious.cspace_convert(rgb, space, "sRGB1"), 0, 1)
    return np.asarray(colorspacious.cspace_convert(rgb, "sRGB1", "CIELab"))


@pytest.mark.parametrize("view", VIEWS)
def test_every_corridor_pair_distinguishable(view):
    cvd = VIEWS[view]
    worst = min((ciede2000(_lab(style.PALETTE[a], cvd), _lab(style.PALETTE[b], cvd)), a, b)
                for a, b in itertools.combinations(style.CORRIDORS, 2))
    assert worst[0] >= 20, f"corridors {worst[1]} and {worst[2]} only ΔE {worst[0]:.1f} apart under {view}"


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("background", ["land", "member", "sea"])
def test_every_corridor_visible_on_the_background(view, background):
    cvd = VIEWS[view]
    bg = _lab(style.BASEMAP[background], cvd)
    for c in style.CORRIDORS:
        assert ciede2000(_lab(style.PALETTE[c], cvd), bg) >= 25, (c, background, view)


def _shape(dash: str | None) -> tuple[float, ...]:
    """A dash pattern up to scale (patterns equal up to a factor look the same at some line width)."""
    if dash is None:
        return ()
    parts = [float(p) for p in dash.split()]
    if len(parts) % 2:  # SVG repeats an odd list to make it even
        parts *= 2
    return tuple(round(p / sum(parts), 3) for p in parts)


def test_grey_print_patterns_unique():
    shapes = [_shape(style.DASHES[c]) for c in style.CORRIDORS]
    assert len(set(shapes)) == 6
    assert _shape(style.FERRY_DASH) not in shapes  # ferry legs never look like a corridor
    assert style.DASHES["1"] is None and all(style.DASHES[c] for c in "23456")


def test_dash_conversions():
    assert style.dash_array("14 6", 8) == "28 12"
    assert style.dash_array(None) is None
    assert style.mpl_linestyle("14 4 3 4") == (0.0, (3.5, 1.0, 0.75, 1.0))
    assert style.mpl_linestyle(None) == "solid"
    with pytest.raises(ValueError, match="numbers separated by spaces"):
        style.dash_array("long short")
    with pytest.raises(ValueError, match="positive sum"):
        style.mpl_linestyle("0 0")


def test_line_styles():
    st = style.line_style(2)
    assert st["color"] == style.PALETTE["2"] and st["dashArray"] == "14 6"
    assert style.line_style("1").get("dashArray") is None
    ferry = style.line_style(3, ferry=True)
    assert ferry["dashArray"] == style.FERRY_DASH and ferry["lineCap"] == "round"
    assert ferry["color"] == style.PALETTE["3"]
    sch = style.line_style(4, schematic=True)
    assert sch["opacity"] < 0.95 and sch["weight"] < style.LINE_WEIGHT
    assert sch["dashArray"] == style.dash_array(style.DASHES["4"], sch["weight"])
    assert style.line_style(None)["color"] == style.INK  # key route outside any corridor
    assert style.key_route_style()["weight"] > style.LINE_WEIGHT + 4  # a casing wider than the line
    assert style.user_style(0)["color"] == style.USER_COLOR
    assert len({style.user_style(i, 6)["color"] for i in range(6)}) == 6
    with pytest.raises(ValueError, match="unknown corridor '7'"):
        style.line_style("7")


def test_legend_entries():
    rows = style.legend_entries()
    assert [r["short"] for r in rows] == [f"Corridor {c}" for c in "123456"]
    assert rows[0]["label"] == "Corridor 1: Europe–East Asia"


def test_labels_of_shipped_sections():
    s = data.sections()
    row = s[s["id"] == "3-links"].iloc[0]
    assert style.label(row) == "Corridor 3 · Dushanbe – Termez – Hairatan – Mazar-e-Sharif"
    key = s[s["id"] == "almaty-bishkek"].iloc[0]
    assert style.label(key) == "Almaty–Bishkek road"
    labels = [style.label(r) for _, r in s.iterrows()]
    assert len(set(labels)) == len(labels)  # every section tells itself apart
    assert all(len(style.label(r, max_chars=40)) <= 40 for _, r in s.iterrows())
    a2 = s[s["id"] == "2a"].iloc[0]
    assert style.label(a2, max_chars=40) == "Corridor 2 · Georgian border – … – Hami"
    rail = s[s["id"] == "3a-rail"].iloc[0]
    assert style.label(rail, max_chars=45) == "Corridor 3 · Almaty – … – Bandar Abbas (rail)"


def test_label_of_plain_rows():
    assert style.label({"name": None, "id": "mine"}) == "mine"
    assert style.label({}) == "Route"
    assert style.label({"name": "Kashi – Osh", "kind": "section", "corridor": float("nan")}) == "Kashi – Osh"


def test_leg_runs_split_ferry_legs():
    s = data.sections()
    row = s[s["id"] == "middle-corridor"].iloc[0]
    runs = style.leg_runs(row)
    assert [f for _, f in runs] == [False, True, False]  # Kuryk ~ Alat across the Caspian
    ferry = runs[1][0]
    assert 49.0 < ferry.bounds[0] and ferry.bounds[2] < 52.5  # Alat (49.4 E) to Kuryk (51.7 E)
    assert sum(len(line.coords) for line, _ in runs) == len(row.geometry.coords) + len(runs) - 1
    land = s[s["id"] == "almaty-bishkek"].iloc[0]
    assert style.leg_runs(land) == [(land.geometry, False)]
    assert style.leg_runs({"geometry": land.geometry})[0][1] is False


def test_swatch_is_drawn_like_the_line():
    svg = style.swatch_svg(style.line_style(4, schematic=True))
    assert f'stroke="{style.PALETTE["4"]}"' in svg and 'stroke-opacity="0.55"' in svg and 'stroke-width="2.5"' in svg
    assert f'stroke-dasharray="{style.dash_array(style.DASHES["4"], 2.5)}"' in svg
    cased = style.swatch_svg(style.line_style(1), casing=style.key_route_style())
    assert cased.count("<line") == 2 and 'stroke-opacity="0.22"' in cased
    assert "&lt;" in style.swatch_svg({"color": "<script>"})  # never markup from a style value
