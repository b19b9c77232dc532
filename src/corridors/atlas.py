"""The published map set (``corridors build``): overview, corridor_1..6, Almaty–Bishkek, Kazakhstan, index.

Composes the public pieces of ``maps`` (``routes_spec``, ``node_features``, ``map_spec`` fields, ``page``)
and adds the curated layers and panels. The set is written all-or-nothing: every page is rendered into a
staging folder next to ``out``, which then replaces ``out`` in one rename (an atomic exchange on Linux), so
a reader or a killed build only ever sees the whole old set or the whole new set.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import html
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd

from . import analysis, data, maps

KAZ_KEY_ROUTES = ("wewc-kaz", "middle-corridor", "middle-corridor-black-sea", "middle-corridor-batumi",
                  "dostyk-alashankou", "khorgos-altynkol")
INVESTMENT_BINS = ((2.0, "#fff0b8"), (5.0, "#fdd27f"), (10.0, "#f9a64a"), (math.inf, "#e0741f"))  # upper, USD bn
INVESTMENT_OPACITY = 0.5
STAGING, RETIRED = ".staging-", ".retired-"


class BuildError(ValueError):
    """The map set cannot be written where asked (the message names the folder and the fix)."""


# ---------------------------------------------------------------- curated content

def _fact_link(fid: str) -> maps.Rich:
    from .facts import fact

    f = fact(fid)
    return maps.link(f["source_url"], f"{f['source_id']}, {f['as_of']}")


def almaty_bishkek_story() -> maps.Rich:
    """CAREC's first project in Kazakhstan, with its sources (structured text)."""
    from .facts import fact

    v = {k: fact(k)["value"] for k in ("kaz_first_project_year", "almbish_completed", "almbish_km", "almbish_corridor")}
    text = (f"CAREC's first project in Kazakhstan: ADB approved the rehabilitation of the Almaty–Bishkek road in "
            f"{v['kaz_first_project_year']:.0f}; completed {v['almbish_completed']:.0f}; {v['almbish_km']:.0f} km "
            f"rehabilitated. Part of CAREC Corridor {v['almbish_corridor']:.0f}.")
    links: list[maps.Rich] = []
    for k in ("kaz_first_project_year", "almbish_completed", "almbish_km"):
        links += [", "] if links else []
        links.append(_fact_link(k))
    return [text, {"br": 1}, {"small": ["Sources: ", *links]}]


def chainage_layers(a: analysis.RouteAnalysis, origin: str) -> list[dict[str, Any]]:
    """The route's places as markers and labels with their km from the start."""
    allnodes = data.nodes().set_index("id", drop=False)
    km = {n["id"]: f"km {n['km']:,.0f}" for n in a.nodes if n["id"] in allnodes.index}
    sel = allnodes.loc[list(km)]
    where = {k: f"{v} from {origin}" for k, v in km.items()}
    layers: list[dict[str, Any]] = []
    for kind in ("city", "waypoint", "port"):
        part = sel[sel["kind"] == kind]
        if len(part):
            layers.append({"type": "nodes", "name": f"{maps.NODE_LABEL[kind]}s (km from {origin})",
                           "style": maps.NODE_STYLE[kind], "features": maps.node_features(part, where)})
    labels = [{"ll": [round(g.y, 5), round(g.x, 5)], "text": f"{n} · {km[i]}", "cls": "above"}
              for i, n, g in zip(sel["id"], sel["name"], sel.geometry) if sel.loc[i, "kind"] != "waypoint"]
    layers.append({"type": "labels", "name": f"Place labels (km from {origin})", "labels": labels})
    return layers


def investment_layer() -> dict[str, Any]:
    """CAREC investment per member country; members without a published figure hatched, never zero."""
    from .facts import carec_investment_by_country

    inv = carec_investment_by_country().set_index("iso_a3")
    mem = maps.members()
    geoms = mem.geometry.simplify(2.5 * maps.COUNTRY_TOLERANCE).values  # as coarse as the members tint
    feats = []
    for iso, name, g in zip(mem["iso_a3"], mem["name"], maps.encode(geoms, maps.BASE_SCALE)):
        if iso in inv.index:
            r = inv.loc[iso]
            value = f"{(r['qualifier'] + ' ') if r['qualifier'] else ''}USD {r['value_usd_bn']:.2f} bn"
            tip = f"{name}: {value} ({r['as_of']})"
            pop: maps.Rich = [tip, {"br": 1}, "CAREC cumulative investment. Source: ",
                              maps.link(r["source_url"], r["as_of"])]
            col = next(c for top, c in INVESTMENT_BINS if r["value_usd_bn"] < top)
            st = {"fillColor": col, "fillOpacity": INVESTMENT_OPACITY, "color": "#b07030", "weight": 1}
        else:
            tip = f"{name}: no figure"
            pop = f"{tip}: no published CAREC investment figure in the data (not zero)."
            st = {"fillColor": "hatch", "fillOpacity": 0.8, "color": "#999999", "weight": 1}
        feats.append({"p": {"iso": iso, "tip": tip, "popup": pop, "st": st}, "g": g})
    return {"type": "areas", "name": "CAREC investment by country", "q": maps.BASE_SCALE, "features": feats}


def investment_legend() -> list[dict[str, Any]]:
    """Swatches exactly as drawn: the class colour at the layer's fill opacity over the land colour."""
    lows = [0.0] + [top for top, _ in INVESTMENT_BINS[:-1]]
    out = [{"kind": "fill", "label": f"USD {lo:g}–{top:g} bn" if top != math.inf else f"USD {lo:g} bn and more",
            "fillColor": col, "fillOpacity": INVESTMENT_OPACITY, "color": "#b07030", "under": maps.MEMBER_COLOR}
           for lo, (top, col) in zip(lows, INVESTMENT_BINS)]
    return [*out, {"kind": "hatch", "label": "no figure published"}]


def kazakhstan_panel(computed: Sequence[str]) -> dict[str, Any]:
    """CAREC's 'four of six' next to the geometry's answer, the Kazakh–Chinese programme, investment."""
    from .facts import carec_investment_by_country, fact, kazakh_chinese_programme

    n = int(fact("kaz_carec_corridors")["value"])
    word = dict(enumerate("zero one two three four five six".split())).get(n, str(n))
    check: maps.Rich = ({"span": "agrees ✓", "cls": "cr-ok"} if n == len(computed) else
                        {"span": f"⚠ DISAGREES: CAREC says {n}, the geometry gives {len(computed)}", "cls": "cr-warn"})
    body: list[maps.Rich] = [
        {"h5": "Corridors crossing Kazakhstan"},
        f"“{word} of the six corridors cross Kazakhstan” — CAREC (", _fact_link("kaz_carec_corridors"), ")",
        {"br": 1}, f"Computed from the geometry: {len(computed)} (corridors {', '.join(computed)}) — ", check]
    src = fact("kcp_total_projects")
    rows: list[list[maps.Rich]] = [["status", "projects", "value"]]
    for _, r in kazakh_chinese_programme().iterrows():
        rows.append([str(r["status"]).replace("_", " "), str(r["projects"]),
                     {"i": "not published"} if math.isnan(r["value_usd_bn"]) else f"USD {r['value_usd_bn']:.2f} bn"])
    body += [{"h5": "Kazakh–Chinese industrial cooperation programme"}, {"table": rows, "head": True},
             f"as of {src['as_of']}, source: ", maps.link(src["source_url"], src["source_id"])]
    rows = [["country", "value", "as of"]]
    for _, r in carec_investment_by_country().iterrows():
        qual = f"{r['qualifier']} " if r["qualifier"] else ""
        rows.append([str(r["iso_a3"]), f"{qual}USD {r['value_usd_bn']:.2f} bn", maps.link(r["source_url"], r["as_of"])])
    total = fact("carec_total_2023")
    body += [{"h5": "CAREC investment by country (cumulative)"}, {"table": rows, "head": True},
             f"All CAREC since 2001: USD {total['value']:.2f} bn (", maps.link(total["source_url"], total["as_of"]),
             "). Other members: no published figure."]
    return {"title": "Facts", "body": body}


def index_html(pages: Sequence[tuple[str, str, str, str]]) -> str:
    e = html.escape
    items = "".join(f'<li><a href="{e(f)}">{e(t)}</a> — {e(d)}<br><small>{e(k)}</small></li>' for f, t, d, k in pages)
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>CAREC corridor maps</title>'
            '<meta name="viewport" content="width=device-width,initial-scale=1"><style>body{font:15px/1.5 '
            'system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:820px;margin:2em auto;'
            'padding:0 1em;color:#222}li{margin:.7em 0}small{color:#555}</style></head><body>'
            '<h1>CAREC transport corridors — maps</h1><p>The six CAREC corridors and key routes through '
            f'Kazakhstan as sourced data, drawn along the geodesic.</p><ul>{items}</ul>'
            f'<p><small>{e(" · ".join(maps.CREDITS))}</small></p></body></html>\n')


def corridor_lengths(secs: gpd.GeoDataFrame) -> dict[str, dict[str, float]]:
    """``analysis.corridor_length_by_country`` of every corridor in ``secs``, in corridor order: computed once
    for the whole set (the corridor pages and the Kazakhstan count both need them)."""
    ids = set(secs.loc[secs["kind"] == "section", "corridor"].dropna())
    return {c: analysis.corridor_length_by_country(c) for c in sorted(ids, key=lambda c: (len(c), c))}


def corridors_crossing(lengths: dict[str, dict[str, float]], iso3: str, min_km: float = 1.0) -> list[str]:
    """``analysis.corridors_crossing(iso3)`` from lengths already computed: the corridors running at least
    ``min_km`` inside the country (tests check the two agree)."""
    return [c for c, by in lengths.items() if by.get(iso3, 0.0) >= min_km]


def pages(offline: bool = False) -> dict[str, str]:
    """Every page of the set as HTML text, by file name (index.html last)."""
    secs = data.sections()
    results = dict(zip(secs["id"], analysis.analyze_many(secs["id"].tolist())))
    kw: dict[str, Any] = {"offline": offline, "results": results}
    listing: list[tuple[str, str, str, str]] = []
    texts: dict[str, str] = {}

    def add(name: str, title: str, desc: str, figures: str, make: Callable[[], dict[str, Any]]) -> None:
        texts[name] = maps.page(make())
        listing.append((name, title, desc, figures))

    lengths = corridor_lengths(secs)
    count = secs["kind"].value_counts()
    add("carec_corridors.html", "Overview: the six CAREC corridors", "every corridor section and key route, "
        "border crossing points and ports", f"{count.get('section', 0)} sections, {count.get('key_route', 0)} key "
        f"routes, {int((data.nodes()['kind'] == 'bcp').sum())} border crossing points",
        lambda: maps.routes_spec(None, subtitle="Six corridors and the key routes", **kw))
    for c in sorted(maps.COLORS):
        by = lengths[c] if c in lengths else analysis.corridor_length_by_country(c)
        per = ", ".join(f"{k} {v:,.0f}" for k, v in by.items() if k != analysis.SEA)
        n = int(((secs["corridor"] == c) & (secs["kind"] == "section")).sum())
        add(f"corridor_{c}.html", f"Corridor {c}", f"the {n} sections of CAREC Corridor {c}, labelled",
            f"network {maps.km_text(sum(by.values()))} (shared stretches counted once); km by country: {per}",
            functools.partial(maps.routes_spec, c, labels=True, title=f"CAREC Corridor {c}",
                              subtitle="Each section labelled with its name and id", **kw))
    ab = results["almaty-bishkek"]
    cross = "; ".join(f"{x['from']}→{x['to']} at km {x['km']:,.0f} ({x['bcp'] or x['via']})" for x in ab.crossings)

    def almaty() -> dict[str, Any]:
        story = almaty_bishkek_story()
        spec = maps.routes_spec(["almaty-bishkek"], title="Almaty – Bishkek", notes={"almaty-bishkek": story},
                                subtitle="CAREC's first project in Kazakhstan · Corridor 1", **kw)
        spec["layers"] += chainage_layers(ab, "Almaty")
        spec["legend"].append({"kind": "node", "label": "Town (km from Almaty)", **maps.NODE_STYLE["city"]})
        spec["panels"].append({"title": "The road", "body": story})
        return spec

    add("almaty_bishkek.html", "Almaty – Bishkek", "the key route, its towns with km from Almaty and the border "
        "crossing; CAREC's first project in Kazakhstan", f"{maps.km_text(ab.length_km)}; crossing {cross}", almaty)
    crossing = corridors_crossing(lengths, "KAZ")
    kaz_ids = secs.loc[(secs["kind"] == "section") & secs["corridor"].isin(crossing), "id"].tolist()
    kaz_ids += [i for i in KAZ_KEY_ROUTES if i in results]  # key routes still being added are skipped
    missing = [i for i in KAZ_KEY_ROUTES if i not in results]

    def kazakhstan() -> dict[str, Any]:
        spec = maps.routes_spec(kaz_ids, title="Kazakhstan in CAREC and the Belt and Road",
                                subtitle=f"Corridors {', '.join(crossing)} and the key routes through Kazakhstan",
                                **kw)  # fitted to the routes, so the Caucasus and China legs are in view
        spec["layers"].insert(1, investment_layer())
        spec["legend"] += investment_legend()
        spec["panels"].append(kazakhstan_panel(crossing))
        return spec

    add("kazakhstan.html", "Kazakhstan", "corridors crossing Kazakhstan, key routes, CAREC investment and the "
        "Kazakh–Chinese programme", f"corridors {', '.join(crossing)} cross Kazakhstan (computed from the "
        "geometry)" + (f"; not yet in the data: {', '.join(missing)}" if missing else ""), kazakhstan)
    texts["index.html"] = index_html(listing)
    return texts


# ---------------------------------------------------------------- writing the set all-or-nothing

def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one atomic step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return bool(fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0)


def check_writable(out: Path) -> None:
    """Fail fast, before any rendering, when ``out`` cannot be (re)written."""
    if out.exists() and not out.is_dir():
        raise BuildError(f"--out {out} is a file, not a folder; pass a folder (it is created if missing)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}{STAGING}probe-")
        os.close(fd)
        os.unlink(probe)
        if out.exists():
            fd, probe = tempfile.mkstemp(dir=out, prefix=".probe-")
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise BuildError(f"cannot write the maps to {out}: {exc.strerror or exc}; pass --out a folder you can "
                         f"write to (its parent folder must be writable too: the set is staged next to it)") from exc


def remove_stale(out: Path) -> list[Path]:
    """Remove what killed builds left behind: staging / retired folders next to ``out`` and ``.NAME.*.tmp``
    files inside it (from the per-file writes of older versions)."""
    gone = [*out.parent.glob(f".{out.name}{STAGING}*"), *out.parent.glob(f".{out.name}{RETIRED}*")]
    if out.is_dir():
        gone += [p for p in out.glob(".*.tmp") if p.is_file()]
    for p in gone:
        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink(missing_ok=True)
    return gone


def write_set(out: Path, texts: dict[str, str]) -> list[Path]:
    """Write ``texts`` as the whole content of ``out`` (files of other names already there are kept)."""
    stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}{STAGING}"))
    try:
        if out.is_dir():  # keep the user's own files that live in the folder
            for p in out.iterdir():
                if p.name not in texts and not (p.name.startswith(".") and p.name.endswith(".tmp")):
                    (shutil.copytree if p.is_dir() else shutil.copy2)(p, stage / p.name)
        for name, text in texts.items():
            with open(stage / name, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(stage / name, 0o644)
        os.chmod(stage, 0o755)
        if not out.exists():
            os.rename(stage, out)
        elif _exchange(stage, out):
            shutil.rmtree(stage)  # now the old set
        else:  # no atomic exchange here: two renames, the old set kept aside until the new one is in place
            retired = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}{RETIRED}"))
            os.rename(out, retired / "set")
            os.rename(stage, out)
            shutil.rmtree(retired)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return [out / name for name in texts]


def build(out: str | Path = "maps", offline: bool = False) -> list[Path]:
    """Write the overview, corridor_1..6, almaty_bishkek, kazakhstan and index pages; return their paths.

    Checks ``out`` first, renders every page in memory, then replaces the whole set at once."""
    given = Path(out)
    out = given.absolute()
    check_writable(out)
    remove_stale(out)
    return [given / p.name for p in write_set(out, pages(offline))]
