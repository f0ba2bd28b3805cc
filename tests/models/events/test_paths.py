"""The answer's model paths: the pre-period one-step-ahead fit tracks the data, the one-step
predictor is the AR(1) best linear predictor, and the gap between the fitted path and the
"privacy shock only" counterfactual averages to the deplatforming contrast."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from analysis.models.events.paths import one_step
from tests.models.events.test_attribution import demo_fit

KEYS = ["app_name", "country", "store"]


def test_one_step_is_the_ar1_predictor_from_the_last_observed_day():
    y = np.array([1.0, 2.0, np.nan, np.nan, 0.5])
    mean = np.zeros(5)
    got = one_step(y, mean, 0.5)
    assert got.tolist() == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.25])  # 2.0 carried by rho^h


@pytest.mark.slow
def test_pre_period_one_step_fit_tracks_the_data():
    """RMSE of the one-step-ahead fit below the series' own pre-period standard deviation, for every
    fitted series whose pre-period rank takes at least three values (one with a single #2 day among
    #3s has a standard deviation of 0.05 that day-of-week terms alone exceed)."""
    p = demo_fit(20210108).paths
    pre = p.filter(~pl.col("post"), ~pl.col("censored"), pl.col("onestep").is_not_null())
    r = pre.group_by(KEYS).agg(((pl.col("observed") - pl.col("onestep")) ** 2).mean().sqrt().alias("rmse"),
                               pl.col("observed").std().alias("sd"), pl.col("observed").n_unique().alias("k"))
    varied = r.filter(pl.col("k") >= 3)
    assert varied.height >= 20
    assert varied.filter(pl.col("rmse") >= pl.col("sd")).height == 0, varied.sort("app_name")
    tbr = varied.filter(pl.col("app_name") == "Telegram", pl.col("country") == "br").row(0, named=True)
    assert tbr["rmse"] < 0.7 * tbr["sd"]  # the example: flat near 3.2, now tracked


@pytest.mark.slow
def test_fitted_minus_privacy_only_averages_to_the_deplatforming_contrast():
    sf = demo_fit(20210108)
    a = sf.attribution.filter(pl.col("group") == "deplatforming", pl.col("kind") == "estimate")
    w0, w1 = a["window_start"][0], a["window_end"][0]
    gap = (sf.paths.filter(pl.col("date").is_between(w0, w1), pl.col("fitted").is_not_null())
           .group_by(KEYS).agg((pl.col("fitted") - pl.col("privacy_only")).mean().alias("gap"), pl.len()))
    full = sf.paths.filter(pl.col("date").is_between(w0, w1)).group_by(KEYS).agg(pl.len().alias("n"))
    j = a.join(gap, on=KEYS).join(full, on=KEYS).filter(pl.col("len") == pl.col("n"))  # paths on every window day
    assert j.height >= 25
    assert (j["gap"] - j["estimate"]).abs().max() < 1e-9
