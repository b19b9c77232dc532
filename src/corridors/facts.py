"""Sourced facts and figures: CAREC investment, Kazakhstan in CAREC, the Kazakh–Chinese programme.

The table lives in ``geodata/facts.csv`` (one row per published figure, each with its source, date and
basis). Values are floats; a figure the source does not publish stays NaN, never 0. Rows with
``basis == "derived"`` are computed from other rows (the note says how) and are not published figures.
"""

from __future__ import annotations

import difflib
import functools

import pandas as pd

from .data import NotFoundError, geodata_dir


class FactNotFoundError(NotFoundError, KeyError):
    """An unknown fact id or topic (a LookupError and a KeyError); the message lists the closest ids."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def _hint(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=5, cutoff=0.5)
    return f"closest: {', '.join(close)}" if close else f"e.g. {', '.join(sorted(known)[:5])} (see facts())"

_TEXT_UNITS = {"list"}
_PROGRAMME_STATUSES = ("total", "launched", "underway", "under_review")


@functools.cache
def _read() -> pd.DataFrame:
    df = pd.read_csv(geodata_dir() / "facts.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    raw = df["value"].str.strip()
    num = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    bad = num.isna() & (raw != "") & ~df["unit"].isin(_TEXT_UNITS)
    if bad.any():
        raise ValueError(f"facts.csv: non-numeric value in rows {df.loc[bad, 'id'].tolist()}")
    df["value_text"] = raw.where(df["unit"].isin(_TEXT_UNITS) & (raw != ""))
    df["value"] = num.astype(float)
    return df


def facts(topic: str | None = None) -> pd.DataFrame:
    """All facts (or those of one ``topic``); ``value`` is float, NaN where unpublished or textual.

    Textual values (unit ``list``) are in ``value_text``.
    """
    df = _read()
    if topic is not None:
        if topic not in set(df["topic"]):
            raise FactNotFoundError(f"unknown topic {topic!r}; topics: {', '.join(sorted(set(df['topic'])))}")
        df = df[df["topic"] == topic]
    return df.reset_index(drop=True).copy()


def fact(fact_id: str) -> pd.Series:
    """One fact by id."""
    df = _read()
    hit = df[df["id"] == fact_id]
    if hit.empty:
        raise FactNotFoundError(f"no fact with id {fact_id!r}; {_hint(str(fact_id), df['id'].tolist())}")
    return hit.iloc[0].copy()


def carec_investment_by_country() -> pd.DataFrame:
    """Latest published CAREC cumulative investment per country (USD bn); unpublished countries are absent."""
    df = facts("carec_investment")
    df = df[
        (df["unit"] == "USD bn")
        & df["subject"].str.fullmatch(r"[A-Z]{3}")
        & (df["basis"] == "read")
        & df["value"].notna()
    ]
    latest = df.sort_values(["subject", "as_of"]).groupby("subject", as_index=False).tail(1)
    out = latest.rename(columns={"subject": "iso_a3", "value": "value_usd_bn"})
    cols = ["iso_a3", "value_usd_bn", "as_of", "qualifier", "source_url"]
    return out[cols].sort_values("iso_a3").reset_index(drop=True)


def kazakh_chinese_programme() -> pd.DataFrame:
    """Kazakh–Chinese industrial cooperation programme by status: projects and value as published.

    ``value_usd_bn`` is NaN where the source gives no value (the projects under review); the implied
    value is in the derived fact ``kcp_under_review_value_implied``, not here.
    """
    rows = []
    for status in _PROGRAMME_STATUSES:
        projects, value = fact(f"kcp_{status}_projects"), fact(f"kcp_{status}_value")
        rows.append(
            {
                "status": status,
                "projects": int(projects["value"]),
                "value_usd_bn": value["value"],
                "as_of": projects["as_of"],
                "source": projects["source_id"],
            }
        )
    return pd.DataFrame(rows)
