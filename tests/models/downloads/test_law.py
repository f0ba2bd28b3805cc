"""Rank -> downloads: the power law, and the exponent's uncertainty carried into intervals."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from analysis.errors import InputError
from analysis.models.downloads.law import DEFAULT_EXPONENT, downloads_ratio, pct_change, translate


def effects(*rows: tuple[float, float, float]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["estimate", "ci_low", "ci_high"], orient="row")


def test_garg_telang_ratio_of_150_between_ranks_1_and_200_implies_an_exponent_near_095():
    a = math.log(150) / math.log(200)
    assert downloads_ratio(200, 1, a) == pytest.approx(150)
    assert DEFAULT_EXPONENT[0] < a < DEFAULT_EXPONENT[1]


def test_climbing_the_chart_means_more_downloads():
    # halving the rank (delta = -log 2) with a = 1 doubles downloads: +100 %
    assert pct_change(-math.log(2), 1.0) == pytest.approx(100.0)
    assert pct_change(math.log(2), 1.0) == pytest.approx(-50.0)
    assert pct_change(0.0, 0.9) == 0.0


def test_bounds_interval_is_the_union_over_the_exponent_range():
    e = effects((-1.0, -1.5, -0.5))
    out = translate(e, (0.8, 1.1)).row(0, named=True)
    assert out["downloads_pct_low"] == pytest.approx(100 * math.expm1(0.8 * 0.5))
    assert out["downloads_pct_high"] == pytest.approx(100 * math.expm1(1.1 * 1.5))
    assert out["downloads_pct"] == pytest.approx(100 * math.expm1(0.95))
    # the union contains the interval at every exponent in the range
    for a in np.linspace(0.8, 1.1, 7):
        assert out["downloads_pct_low"] <= pct_change(-0.5, a) + 1e-9
        assert pct_change(-1.5, a) <= out["downloads_pct_high"] + 1e-9


def test_an_interval_spanning_zero_spans_zero_in_downloads_too():
    out = translate(effects((-0.2, -0.5, 0.1))).row(0, named=True)
    assert out["downloads_pct_low"] < 0 < out["downloads_pct_high"]


def test_a_wider_exponent_range_never_narrows_the_interval():
    e = effects((-1.0, -1.5, -0.5), (0.3, 0.1, 0.5))
    narrow, wide = translate(e, (0.9, 1.0)), translate(e, (0.7, 1.2))
    assert (wide["downloads_pct_low"] <= narrow["downloads_pct_low"]).all()
    assert (wide["downloads_pct_high"] >= narrow["downloads_pct_high"]).all()


def test_monte_carlo_rule_is_reproducible_and_inside_the_bounds_rule():
    e = effects((-1.0, -1.5, -0.5))
    mc1, mc2 = translate(e, method="monte_carlo"), translate(e, method="monte_carlo")
    b = translate(e).row(0, named=True)
    assert mc1.equals(mc2)
    m = mc1.row(0, named=True)
    assert b["downloads_pct_low"] <= m["downloads_pct_low"] < m["downloads_pct_high"] <= b["downloads_pct_high"]
    assert "Monte Carlo" in m["downloads_rule"] and "union" in b["downloads_rule"]


def test_columns_of_the_input_are_kept_and_the_rule_is_stated():
    e = effects((-1.0, -1.5, -0.5)).with_columns(pl.lit("Signal").alias("app_name"))
    out = translate(e)
    assert out.columns[:4] == ["estimate", "ci_low", "ci_high", "app_name"]
    assert out["exponent_low"][0] == 0.8 and out["exponent_high"][0] == 1.1


@pytest.mark.parametrize(("exp", "method"), [((1.1, 0.8), "bounds"), ((0.0, 1.0), "bounds"), ((0.8, 1.1), "bayes")])
def test_bad_exponent_range_or_method_is_an_input_error(exp, method):
    with pytest.raises(InputError):
        translate(effects((-1.0, -1.5, -0.5)), exp, method=method)
