"""Rank and pageviews side by side: timing and size agreement, computed by hand."""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl
import pytest

from analysis.figures.triangulation import agreement, rank_and_views

D0 = date(2021, 1, 1)
WHEN = date(2021, 1, 8)


def frames():
    days = [D0 + timedelta(days=i) for i in range(21)]
    rank = [400] * 7 + [50, 5, 2, 3, 8, 20, 40] + [100] * 7
    views = [1000] * 7 + [9000, 30000, 20000, 15000, 8000, 4000, 2000] + [1500] * 7
    ranks = pl.DataFrame({"date": days, "app_name": "Signal", "country": "us", "rank": rank})
    vw = pl.DataFrame({"date": days, "app_name": "Signal", "country": "us", "views": views})
    return ranks, vw


def test_agreement_by_hand():
    ranks, vw = frames()
    a = agreement(ranks, vw, WHEN, post_days=14).row(0, named=True)
    assert a["rank_peak_date"] == date(2021, 1, 10) and a["views_peak_date"] == date(2021, 1, 9)
    assert a["peak_lag_days"] == -1 and a["best_rank"] == 2 and a["max_views"] == 30000
    assert a["rank_log_gain"] == pytest.approx(math.log(400) - math.log(2))
    assert a["views_log_gain"] == pytest.approx(math.log(30000) - math.log(1000))
    j = ranks.join(vw, on=["date", "app_name", "country"]).to_pandas()
    assert a["spearman"] == pytest.approx((-j["rank"].map(math.log)).corr(j["views"].map(math.log), method="spearman"))
    assert a["days_both"] == 21


def test_agreement_skips_series_without_both_outcomes():
    ranks, vw = frames()
    assert agreement(ranks.with_columns(pl.lit("de").alias("country")), vw, WHEN).is_empty()


def test_figure_has_both_panels_and_no_banner_for_real_data():
    ranks, vw = frames()
    spec = rank_and_views(ranks, vw, synthetic=False, intervention=WHEN).to_dict()
    assert len(spec["vconcat"]) == 2 and "SYNTHETIC" not in str(spec["title"])
    assert "SYNTHETIC" in str(rank_and_views(ranks, vw, synthetic=True).to_dict()["title"])
