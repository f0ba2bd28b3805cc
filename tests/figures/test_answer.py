"""The forest figure draws the headline's numbers: the same multiples and limits as the table, a
bound as a one-sided triangle at its limit, not identified rows left out, three group panels."""

from __future__ import annotations

import math

import polars as pl
import pytest

from analysis.figures.answer import forest_chart, forest_frame
from analysis.report import headline as H
from tests.report.test_headline import contrasts


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
