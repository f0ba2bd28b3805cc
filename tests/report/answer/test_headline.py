"""The headline: the attribution table's exact columns and multiples (hand-computed), its cells
("×k (lo–hi)", "≥ ×k", "— [n]" with the reason as footnote), the printed table, the abstract and
the short prose (at most two sentences per app, each under 30 words, no symbols)."""

from __future__ import annotations

import math
import re

import polars as pl
import pytest

from analysis.report.answer import headline as H

ISSUE_COLUMNS = ["app_name", "country", "store", "group", "kind", "estimate", "ci_low", "ci_high", "multiple",
                 "multiple_low", "multiple_high", "downloads_factor", "downloads_factor_low",
                 "downloads_factor_high", "true_value", "sentence"]


def contrasts() -> pl.DataFrame:
    """Three series: an estimate, a bound (upper bound on log rank) and a not identified group."""
    rows = [
        ("Signal", "us", "deplatforming", "estimate", -1.1, -1.6, -0.6, None, None),
        ("Signal", "us", "privacy_shock", "not_identified", None, None, None, None,
         "X01, X03 are absorbed with X02 (another group) in the entry bound of X03"),
        ("Signal", "us", "all_events", "bound", -3.4, None, -3.4, "upper", "upper bound"),
        ("Telegram", "gb", "deplatforming", "estimate", -0.4, -0.58, -0.25, None, None),
        ("Telegram", "gb", "privacy_shock", "estimate", -1.1, -1.3, -0.9, None, None),
        ("Telegram", "gb", "all_events", "estimate", 0.2, 0.1, 0.3, None, None),
    ]
    return pl.DataFrame([dict(zip(["app_name", "country", "group", "kind", "estimate", "ci_low", "ci_high", "side",
                                   "reason"], r, strict=True)) | {"store": "ios", "true_value": None} for r in rows],
                        schema_overrides={"true_value": pl.Float64, "estimate": pl.Float64, "ci_low": pl.Float64,
                                          "ci_high": pl.Float64})


def test_table_has_exactly_the_issues_columns_and_hand_computed_multiples():
    t = H.attribution_table(contrasts(), "rank", (0.8, 1.1))
    assert t.columns == ISSUE_COLUMNS
    r = t.row(0, named=True)
    assert (r["multiple"], r["multiple_low"], r["multiple_high"]) == pytest.approx(
        (math.exp(1.1), math.exp(0.6), math.exp(1.6)))
    # downloads: exponent range corners (Garg & Telang law), middle exponent for the point
    assert r["downloads_factor"] == pytest.approx(math.exp(0.95 * 1.1))
    assert r["downloads_factor_low"] == pytest.approx(math.exp(0.8 * 0.6))
    assert r["downloads_factor_high"] == pytest.approx(math.exp(1.1 * 1.6))
    bound = t.filter(pl.col("kind") == "bound").row(0, named=True)
    assert bound["multiple_low"] == pytest.approx(math.exp(3.4)) and bound["multiple_high"] is None
    views = H.attribution_table(contrasts(), "views")
    assert views.row(0, named=True)["multiple"] == pytest.approx(math.exp(-1.1))
    assert views["downloads_factor"].null_count() == views.height


def test_cells_bounds_and_footnotes():
    t = H.attribution_table(contrasts(), "rank")
    frame, notes = H.headline_frame(t, ["Telegram"])
    sig = frame.filter(pl.col("app") == "Signal").row(0, named=True)
    assert sig["deplatforming"] == "\u00d73.0 (1.8\u20135.0)"  # exp(1.1), exp(0.6), exp(1.6)
    assert sig["privacy shock"] == "\u2014 [1]" and notes[0].startswith("X01, X03 are absorbed")
    assert sig["all events"] == "\u2265 \u00d730"  # exp(3.4) = 30.0
    tg = frame.filter(pl.col("app") == "Telegram").row(0, named=True)
    assert tg["all events"] == "\u00d70.82 (0.74\u20130.90)"
    assert frame["app"].to_list() == ["Signal", "Telegram"]  # seed apps first


def test_printed_and_html_headline():
    t = H.attribution_table(contrasts(), "rank")
    text = H.render_text(t)
    lines = text.splitlines()
    assert lines[0].split() == ["app", "country", "deplatforming", "privacy", "shock", "all", "events"]
    assert lines[-1].startswith("[1] X01, X03")
    page = H.render_html(t, "rank")
    assert page.count("<tr>") == 3 and "downloads \u2265 \u00d7" in page and "<ol class='exodus-footnotes'>" in page
    assert "downloads" not in H.render_html(H.attribution_table(contrasts(), "views"), "views")


def test_sentences_are_short_and_free_of_symbols():
    t = H.attribution_table(contrasts(), "rank")
    for app in ("Signal", "Telegram"):
        ss = H.app_sentences(t, app)
        assert 1 <= len(ss) <= 2
        for s in ss:
            assert len(s.split()) < 30 and not re.search(r"[=*/\u00d7\u2265<>^]", s), s
    est = [s for s, k in zip(t["sentence"], t["kind"], strict=True) if k != "not_identified"]
    assert all(len(s.split()) < 30 for s in est)
    assert "about 3.0-fold (95% interval 1.8 to 5.0)" in t["sentence"][0]
    a = H.abstract(t, outcome="rank", synthetic=True, n_apps=2, n_countries=2, window="the 14 days from 6 Jan 2021")
    assert len(re.findall(r"[.?](?:\s|$)", a)) == 3 and "SYNTHETIC" in a and "3.0-fold" in a


def test_abstract_falls_back_to_the_all_events_bound_when_no_group_is_separated():
    t = H.attribution_table(contrasts(), "attention").filter(pl.col("app_name") == "Signal",
                                                             pl.col("group") != "deplatforming")
    a = H.abstract(t, outcome="attention", synthetic=False, n_apps=1, n_countries=1, window="the 14 days")
    assert "could not be separated" in a and "at least 30-fold" in a and "SYNTHETIC" not in a


def test_a_bound_cell_gives_its_lower_multiple_and_says_when_no_change_is_not_excluded():
    from analysis.report.answer.headline import cell, legend

    assert cell({"kind": "bound", "multiple": None, "multiple_low": 4.094, "multiple_high": None}) == "\u2265 \u00d74.1"
    assert cell({"kind": "bound", "multiple": None, "multiple_low": 0.8677, "multiple_high": None}) == (
        "\u2265 \u00d70.87: no change not excluded")
    assert cell({"kind": "not_identified", "multiple": None, "multiple_low": None, "multiple_high": None}) == "\u2014"
    assert cell({"kind": "estimate", "multiple": 3.0, "multiple_low": 2.1, "multiple_high": 4.4}) == "\u00d73.0 (2.1\u20134.4)"
    bounds_only = pl.DataFrame({"kind": ["bound", "not_identified"]})
    assert "95% interval" not in legend(bounds_only) and "bound" in legend(bounds_only)
    assert "95% interval" in legend(pl.DataFrame({"kind": ["estimate", "bound"]}))
