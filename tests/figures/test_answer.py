"""The forest figure draws the headline's numbers: the same multiples and limits as the table, a
bound as a one-sided triangle at its limit, not identified rows left out, three group panels."""

from __future__ import annotations

import math

import polars as pl
import pytest

from analysis.figures.answer import forest_chart, forest_frame
from analysis.report.answer import headline as H
from tests.report.answer.test_headline import contrasts


def test_forest_draws_the_tables_numbers():
    t = H.attribution_table(contrasts(), "rank")
    f = forest_frame(t)
    assert f.height == 5  # six rows, one not identified
    est = f.filter(pl.col("app_name") == "Signal", pl.col("panel") == "deplatforming").row(0, named=True)
    assert (est["multiple"], est["multiple_low"], est["multiple_high"]) == pytest.approx(
        (math.exp(1.1), math.exp(0.6), math.exp(1.6)), abs=1e-4)
    b = f.filter(pl.col("kind") == "bound").row(0, named=True)
    assert b["shape"] == "triangle-right" and b["bound_at"] == pytest.approx(math.exp(3.4), abs=1e-4)
    spec = forest_chart(t, "rank", synthetic=True).to_dict()
    assert spec["facet"]["column"]["sort"] == ["deplatforming", "privacy shock", "all events"]
    assert spec["title"]["text"].startswith("SYNTHETIC DEMO DATA")


def test_forest_says_when_there_are_more_countries_than_colours():
    t = H.attribution_table(contrasts(), "rank")
    many = pl.concat([t.with_columns(pl.lit(c).alias("country")) for c in "abcdefg"])
    assert "7 places: more than 6 colours" in forest_chart(many).to_dict()["title"]["subtitle"][1]


def test_model_figure_rules_sit_at_every_term_date_in_every_panel():
    from datetime import date

    from analysis.figures.answer import model_chart, model_frame

    days = [date(2021, 1, 1 + i) for i in range(10)]
    paths = pl.DataFrame({"app_name": "Signal", "country": ["us"] * 10 + ["gb"] * 10, "store": "ios",
                          "date": days * 2, "post": [d >= date(2021, 1, 5) for d in days] * 2,
                          "observed": 3.0, "censored": False, "onestep": 3.0, "fitted": 2.0,
                          "no_events": 3.0, "no_events_low": 2.8, "no_events_high": 3.2,
                          "privacy_only": 2.5, "privacy_only_low": 2.3, "privacy_only_high": 2.7})
    terms = pl.DataFrame({"term_id": ["X01", "X04+X05"], "first_snapshot": [date(2021, 1, 5), date(2021, 1, 8)]})
    rules = model_frame(paths, terms, "Signal").filter(pl.col("layer") == "rule")
    assert sorted(rules.select("place", "date", "term").rows()) == [
        ("GB", "2021-01-05", "X01"), ("GB", "2021-01-08", "X04+X05"),
        ("US", "2021-01-05", "X01"), ("US", "2021-01-08", "X04+X05")]
    spec = model_chart(paths, terms, "Signal", synthetic=True).to_dict()
    assert "1 X01, 2 X04+X05" in spec["title"]["subtitle"][-1]
