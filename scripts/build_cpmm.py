"""Derive geodata/cpmm.csv (CAREC CPMM trade-facilitation figures as sourced facts) from the project's reference
table, and check the hand-edited BCP pairing table geodata/cpmm_bcp_links.csv against the project's nodes.

    python scripts/build_cpmm.py [--source ../shared/reference/cpmm_indicators.csv]

What is derived (the reference file itself is never copied): the columns the library uses, values as printed
(no conversion or rounding), ``basis`` (every figure was read on a CPMM page: ``read``) and ``confidence``
(low for the six figures quoted by news sites; medium where the reference notes a conflict, a label swap, an
implausible value or table cells split by hand; high otherwise). The quotes stay in the reference table.
Credit: ADB/CAREC, CAREC Corridor Performance Measurement and Monitoring (CPMM) annual reports
(cpmm.carecprogram.org), edition per row. Output is sorted by id and written atomically: same input, same bytes.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from corridors.network import write_atomic  # noqa: E402

DEFAULT_SOURCE = REPO.parent / "shared" / "reference" / "cpmm_indicators.csv"
OUT = REPO / "geodata" / "cpmm.csv"
LINKS = REPO / "geodata" / "cpmm_bcp_links.csv"
NODES = REPO / "geodata" / "network" / "nodes"

COLUMNS = ["id", "indicator", "mode", "scope", "name", "paired_bcp", "country", "direction", "year", "value", "unit",
           "preferred", "edition", "source_type", "source_url", "basis", "confidence", "note"]
INDICATORS = {"TFI1", "TFI2", "TFI3", "TFI4_SWD", "SWOD", "gauge_change_cost"}
MEDIUM_WORDS = ("conflict", "swap", "implausib", "run together", "appears")


def confidence(row: dict[str, str]) -> str:
    """How far a figure can be trusted, from what the reference table says about it."""
    if row["source_type"] != "cpmm_site":
        return "low"
    note = row["note"].casefold()
    return "medium" if any(w in note for w in MEDIUM_WORDS) else "high"


def derive(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The shipped rows: checked, with basis and confidence, sorted by id."""
    out = []
    for r in rows:
        if r["indicator"] not in INDICATORS:
            raise ValueError(f"{r['id']}: unknown indicator {r['indicator']!r}")
        if r["mode"] not in ("road", "rail") or r["direction"] not in ("inbound", "outbound", "overall"):
            raise ValueError(f"{r['id']}: mode {r['mode']!r} / direction {r['direction']!r} not understood")
        float(r["value"])  # as printed, but must be a number
        int(r["year"])
        out.append({
            "id": r["id"], "indicator": r["indicator"], "mode": r["mode"], "scope": r["scope"], "name": r["name"],
            "paired_bcp": r["paired_bcp"], "country": r["country"], "direction": r["direction"], "year": r["year"],
            "value": r["value"], "unit": r["unit"], "preferred": r["preferred"], "edition": r["report_edition"],
            "source_type": r["source_type"], "source_url": r["source_url"], "basis": "read",
            "confidence": confidence(r), "note": r["note"],
        })
    ids = [r["id"] for r in out]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate ids in the source table")
    return sorted(out, key=lambda r: r["id"])


def node_ids() -> set[str]:
    ids: set[str] = set()
    for path in sorted(NODES.glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as f:
            ids |= {r["id"] for r in csv.DictReader(f)}
    return ids


def check_links(rows: list[dict[str, str]]) -> list[str]:
    """Every CPMM BCP (name, country) has a pairing row and every linked node exists; returns the unmatched."""
    with open(LINKS, encoding="utf-8", newline="") as f:
        links = list(csv.DictReader(f))
    known = node_ids()
    keys = {(k["cpmm_name"], k["country"], k["mode"]) for k in links}
    for k in links:
        if k["node_id"] and k["node_id"] not in known:
            raise ValueError(f"cpmm_bcp_links.csv: {k['cpmm_name']!r} links to unknown node {k['node_id']!r}")
        if bool(k["node_id"]) == (k["match"] == "unmatched"):
            raise ValueError(f"cpmm_bcp_links.csv: {k['cpmm_name']!r}: match {k['match']!r} disagrees with node_id")
    for r in rows:
        if r["scope"] == "bcp" and not {(r["name"], r["country"], m) for m in ("", r["mode"])} & keys:
            raise ValueError(f"{r['id']}: BCP {r['name']!r} ({r['country'] or 'side not stated'}) has no row in "
                             "cpmm_bcp_links.csv; add one (node_id empty when the project has no such node)")
    return sorted(f"{k['cpmm_name']} ({k['country']})" for k in links if not k["node_id"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the reference cpmm_indicators.csv")
    args = p.parse_args(argv)
    if not args.source.is_file():
        print(f"build_cpmm: {args.source} not found; pass --source PATH to cpmm_indicators.csv", file=sys.stderr)
        return 2
    with open(args.source, encoding="utf-8", newline="") as f:
        rows = derive(list(csv.DictReader(f)))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    unmatched = check_links(rows)
    write_atomic(OUT, buf.getvalue())
    print(f"wrote {OUT.relative_to(REPO)}: {len(rows)} figures; BCP names not linked to a project node: "
          + ", ".join(unmatched))
    return 0


if __name__ == "__main__":
    sys.exit(main())
