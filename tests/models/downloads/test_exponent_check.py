"""The rank-downloads exponent range checked against press-reported downloads (issue 9)."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest

from analysis.models.downloads.exponent_check import (
    check_sentence,
    exponent_check,
    implied_exponents,
)


def ranks(*rows):
    return pl.DataFrame([{"date": d, "period": "day", "store": "ios", "country": c, "chart": ch, "app_name": a,
                          "rank": r} for d, c, ch, a, r in rows])


def downloads(*rows):
    return pl.DataFrame([{"record_id": i, "app_name": a, "metric": "downloads", "value": v, "qualifier": q,
                          "period_start": d, "period_end": d, "geography": c, "data_provider": p,
                          "claim_type": "third_party_estimate"} for i, a, v, q, d, c, p in rows])


D = date(2021, 1, 8)


def test_a_pair_on_one_chart_from_one_vendor_implies_log_ratio_over_log_rank_ratio():
    r = ranks((D, "us", "top", "A", 2), (D, "us", "top", "B", 20))
    d = downloads(("D1", "A", 1000.0, "approx", D, "us", "V"), ("D2", "B", 100.0, "approx", D, "us", "V"))
    t = implied_exponents(r, d, (0.8, 1.1))
    assert t.height == 1
    row = t.row(0, named=True)
    assert row["implied_exponent"] == pytest.approx(1.0) and row["side"] == "=" and row["comparable"]
    assert row["consistent_with_range"] is True
    s = check_sentence(t, (0.8, 1.1))
    assert "implies an exponent 1.00, inside the range 0.8\u20131.1" in s and "consistent with the range" in s


def test_more_than_makes_the_implied_exponent_a_bound_on_the_right_side():
    r = ranks((D, "us", "top", "A", 1), (D, "us", "top", "B", 10))
    worse_more = downloads(("D1", "A", 1000.0, "approx", D, "us", "V"), ("D2", "B", 500.0, "more_than", D, "us", "V"))
    better_more = downloads(("D1", "A", 1000.0, "more_than", D, "us", "V"), ("D2", "B", 500.0, "approx", D, "us", "V"))
    assert implied_exponents(r, worse_more, (0.8, 1.1))["side"][0] == "at most"
    assert implied_exponents(r, better_more, (0.8, 1.1))["side"][0] == "at least"
    # at most log(2)/log(10) = 0.30 < 0.8: the range is not consistent; "at least 0.30" is
    assert implied_exponents(r, worse_more, (0.8, 1.1))["consistent_with_range"][0] is False
    assert implied_exponents(r, better_more, (0.8, 1.1))["consistent_with_range"][0] is True


def test_different_days_countries_or_the_same_app_are_not_paired_and_vendors_must_match_to_compare():
    r = ranks((D, "us", "top", "A", 1), (D, "gb", "top", "B", 10), (date(2021, 1, 9), "us", "top", "C", 5),
              (D, "us", "other", "E", 7))
    d = downloads(("D1", "A", 1000.0, "approx", D, "us", "V"), ("D2", "B", 100.0, "approx", D, "gb", "V"),
                  ("D3", "C", 100.0, "approx", date(2021, 1, 9), "us", "V"), ("D4", "E", 100.0, "approx", D, "us", "W"))
    t = implied_exponents(r, d, (0.8, 1.1))
    assert t.select("app_better", "app_worse").rows() == [("A", "E")]
    assert t["comparable"][0] is False


def test_the_real_press_figures_give_the_parler_mewe_pair(shared_data):
    c = exponent_check(shared_data / "reported_app_metrics", (0.8, 1.1))
    assert c.available
    comp = c.table.filter(pl.col("comparable"))
    assert comp.height == 1
    r = comp.row(0, named=True)
    assert (r["app_better"], r["rank_better"], r["app_worse"], r["rank_worse"]) == ("Parler", 1, "MeWe", 31)
    assert r["implied_exponent"] == pytest.approx(math.log(94_700 / 34_000) / math.log(31))
    assert r["side"] == "at most" and r["consistent_with_range"] is False
    assert f"at most {r['implied_exponent']:.2f}, outside the range 0.8\u20131.1" in c.sentence
    assert "more than 34,000" in c.sentence and "also reported as #11" in c.sentence
    lo, hi = c.table.filter(~pl.col("comparable"))["implied_exponent"].min(), c.table["implied_exponent"].max()
    assert f"from {lo:.2f} to {hi:.2f}" in c.sentence


def test_absent_files_are_stated_not_fatal(tmp_path):
    c = exponent_check(tmp_path / "nowhere", (0.7, 1.2))
    assert not c.available and c.table.height == 0
    assert "was not checked" in c.sentence and "0.7\u20131.2" in c.sentence and "not available" in c.sentence
