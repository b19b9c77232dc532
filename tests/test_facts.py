"""The sourced facts table (geodata/facts.csv) and its accessors."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from corridors.data import geodata_dir
from corridors.facts import carec_investment_by_country, fact, facts, kazakh_chinese_programme


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return facts()


def test_every_fact_is_sourced_and_dated(table: pd.DataFrame) -> None:
    assert len(table) > 0 and table["id"].is_unique
    assert (table["source_id"].str.strip() != "").all()
    assert (table["as_of"].str.strip() != "").all()
    assert table["as_of"].str.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?").all()
    assert set(table["basis"]) <= {"read", "derived"}
    assert set(table["confidence"]) <= {"high", "medium", "low"}
    assert (table.loc[table["basis"] == "derived", "note"].str.contains("derived")).all()
    assert (table["source_url"].str.startswith("http") | (table["source_url"] == "")).all()


def test_source_ids_are_known(table: pd.DataFrame) -> None:
    known = set(pd.read_csv(geodata_dir() / "network" / "sources.csv")["id"])
    assert set(table["source_id"]) <= known


def test_values_are_floats_and_empty_stays_nan(table: pd.DataFrame) -> None:
    assert table["value"].dtype == float
    assert math.isnan(fact("kcp_under_review_value")["value"])
    assert not (table["value"] == 0).any()
    sectors = fact("kcp_sectors")
    assert math.isnan(sectors["value"])
    assert "healthcare" in sectors["value_text"].split("; ")
    assert len(sectors["value_text"].split("; ")) == 9


def test_topic_filter() -> None:
    prog = facts("kaz_chn_programme")
    assert (prog["topic"] == "kaz_chn_programme").all()
    with pytest.raises(KeyError):
        facts("no_such_topic")


def test_programme_counts_add_up() -> None:
    prog = kazakh_chinese_programme().set_index("status")
    parts = prog.loc[["launched", "underway", "under_review"], "projects"]
    assert list(parts) == [20, 15, 17]
    assert parts.sum() == prog.loc["total", "projects"] == 52


def test_programme_values() -> None:
    prog = kazakh_chinese_programme().set_index("status")
    started = prog.loc["launched", "value_usd_bn"] + prog.loc["underway", "value_usd_bn"]
    assert started == pytest.approx(4.453 + 5.326, abs=1e-9)
    assert started == pytest.approx(9.779, abs=1e-9)
    assert started <= prog.loc["total", "value_usd_bn"] == pytest.approx(21.1)
    assert math.isnan(prog.loc["under_review", "value_usd_bn"])  # unpublished, not 0
    assert (prog["as_of"] == "2022-07").all()


def test_implied_under_review_value_is_derived() -> None:
    implied = fact("kcp_under_review_value_implied")
    assert implied["basis"] == "derived"
    assert implied["value"] == pytest.approx(21.1 - 4.453 - 5.326, abs=1e-9)
    assert implied["value"] == pytest.approx(11.321, abs=1e-9)


def test_kazakhstan_latest_carec_investment() -> None:
    inv = carec_investment_by_country().set_index("iso_a3")
    kaz = inv.loc["KAZ"]
    assert kaz["value_usd_bn"] == pytest.approx(9.48)
    assert kaz["as_of"] == "2024"
    assert kaz["qualifier"] == "more than"
    assert "carecprogram.org" in kaz["source_url"]


def test_carec_investment_by_country() -> None:
    inv = carec_investment_by_country()
    assert list(inv.columns) == ["iso_a3", "value_usd_bn", "as_of", "qualifier", "source_url"]
    assert inv["iso_a3"].is_unique
    assert all(re.fullmatch(r"[A-Z]{3}", c) for c in inv["iso_a3"])
    assert (inv["value_usd_bn"] > 0).all() and inv["value_usd_bn"].notna().all()
    got = dict(zip(inv["iso_a3"], inv["value_usd_bn"], strict=True))
    assert got == pytest.approx({"KAZ": 9.48, "UZB": 13.04, "TJK": 3.46, "MNG": 1.43})
    assert "KGZ" not in got  # no published figure: absent, not 0


def test_carec_totals_are_consistent() -> None:
    total = fact("carec_total_2023")["value"]
    assert total == pytest.approx(51.02)
    parts = [fact(i)["value"] for i in ("carec_adb_2023", "carec_partners_2023", "carec_govts_2023")]
    assert sum(parts) == pytest.approx(total, abs=1e-9)


def test_kazakhstan_in_carec() -> None:
    assert fact("kaz_carec_member_since")["value"] == 1997
    assert fact("kaz_first_project_year")["value"] == 2000
    assert fact("kaz_carec_corridors")["value"] == 4
    assert fact("almbish_km")["value"] == 226
    assert fact("almbish_adb_loan_1774")["value"] == 52
    assert fact("almbish_corridor")["value"] == 1


def test_kazakh_chinese_trade() -> None:
    trade = fact("kaz_chn_trade_2021")["value"]
    assert trade == pytest.approx(18.2)
    parts = fact("kaz_chn_exports_2021")["value"] + fact("kaz_chn_imports_2021")["value"]
    assert parts == pytest.approx(trade, abs=1e-9)
    assert fact("kaz_chn_fdi")["value"] == pytest.approx(21.3)
    assert fact("kaz_chn_fdi_rank")["value"] == 4
