"""Censored (Tobit-type) likelihood for log-rank with chart-depth censoring."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import optimize, stats

from analysis.errors import NotEstimable
from analysis.models.engine.batched import ols, pack
from analysis.models.engine.design import Impact, Seasonality, build_design
from analysis.models.engine.tobit import tobit
from analysis.models.its.model import ITSSpec, fit_its

DEPTH = 200
C = np.log(DEPTH + 0.5)
T = np.arange(90.0)
DESIGN = build_design(T, [60], Impact.parse("step+slope"), Seasonality.parse("none"))
TRUE = np.array([5.4, 0.0, -1.0, -0.01])  # starts around rank 220, just below the chart


def censored_panel(reps: int, seed: int):
    rng = np.random.default_rng(seed)
    ystar = DESIGN.X @ TRUE + rng.normal(0, 0.15, (reps, T.size))
    flag = (ystar > C).astype(float)
    return np.where(flag > 0, C, ystar), flag


def test_without_censoring_it_is_ols_with_the_ml_variance():
    rng = np.random.default_rng(1)
    y = DESIGN.X @ TRUE + rng.normal(0, 0.2, (3, T.size))
    p = pack(DESIGN.X, y, T, flag=np.zeros_like(y))
    fit, o = tobit(p, p.aux["flag"]), ols(pack(DESIGN.X, y, T), "iid")
    n, k = T.size, DESIGN.X.shape[1]
    np.testing.assert_allclose(fit.beta, o.beta, atol=1e-10)
    np.testing.assert_allclose(fit.se, o.se * np.sqrt((n - k) / n), rtol=1e-8)


def test_estimates_maximise_the_censored_likelihood_written_out():
    y, flag = censored_panel(1, seed=2)
    p = pack(DESIGN.X, y, T, flag=flag)
    fit = tobit(p, p.aux["flag"])

    def nll(theta):
        mu, s = DESIGN.X @ theta[:4], np.exp(theta[4])
        return -(np.sum(np.where(flag[0] == 0, stats.norm.logpdf(y[0], mu, s), 0))
                 + np.sum(np.where(flag[0] > 0, stats.norm.logsf(C, mu, s), 0)))

    ref = optimize.minimize(nll, np.r_[TRUE, np.log(0.15)], method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(fit.beta[0], ref.x[:4], atol=1e-4)
    assert fit.extra["sigma"][0] == pytest.approx(np.exp(ref.x[4]), rel=1e-4)
    assert fit.extra["loglik"][0] == pytest.approx(-ref.fun, abs=1e-6)


def test_censored_model_removes_the_bias_of_dropping_unranked_days():
    y, flag = censored_panel(200, seed=3)
    assert 0.3 < flag.mean() < 0.7
    p = pack(DESIGN.X, y, T, flag=flag)
    fit = tobit(p, p.aux["flag"])
    dropped = ols(pack(DESIGN.X, np.where(flag > 0, np.nan, y), T), "iid")
    level = DESIGN.col("level")
    assert abs(fit.beta[:, level].mean() - TRUE[2]) < 0.02
    assert abs(np.nanmean(np.where(dropped.ok, dropped.beta[:, level], np.nan)) - TRUE[2]) > 0.1
    covered = np.abs(fit.beta[:, level] - TRUE[2]) <= 1.96 * fit.se[:, level]
    assert covered.mean() >= 0.9


def test_fit_its_treats_unranked_days_as_censored_until_the_last_ranked_day():
    y, flag = censored_panel(1, seed=4)
    start = date(2020, 11, 9)
    ranks = np.round(np.exp(y[0]))
    # rows with an empty rank: the chart was recorded and the app was not in it (censored)
    frame = pl.DataFrame({"date": [start + timedelta(days=int(i)) for i in T],
                          "rank": np.where(flag[0] == 0, ranks, np.nan)}).with_columns(pl.col("rank").fill_nan(None))
    frame = frame.filter(pl.col("date") <= start + timedelta(days=85))  # then removed from the store
    spec = ITSSpec(start + timedelta(days=60), 60, 30, seasonality="none", censored=True, chart_depth=DEPTH, errors="iid")
    r = fit_its(frame, spec)
    assert r.diagnostics["n"] == 86  # 4 days after the last ranked day are left out, not censored
    assert r.diagnostics["n_censored"] == int(flag[0, :86].sum())


def test_series_almost_always_below_the_chart_is_not_estimable():
    start = date(2020, 11, 9)
    ranked = dict(zip((3, 70, 71, 72, 73, 74, 75, 80), (199, 5, 4, 3, 3, 2, 2, 2), strict=True))
    frame = pl.DataFrame({"date": [start + timedelta(days=i) for i in range(81)],
                          "rank": [ranked.get(i) for i in range(81)]}, schema={"date": pl.Date, "rank": pl.Int64})
    with pytest.raises(NotEstimable, match="with an uncensored rank"):
        fit_its(frame, ITSSpec(start + timedelta(days=60), 60, 30, censored=True, errors="iid"))
