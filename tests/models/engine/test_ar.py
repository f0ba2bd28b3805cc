"""AR(1) errors: exact ML equals statsmodels SARIMAX; GLS at rho equals statsmodels GLS;
intervals cover the truth at close to the nominal rate where iid and HAC do not."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.signal import lfilter

from analysis.models.checks.simulate import coverage_study
from analysis.models.engine.ar import ar1
from analysis.models.engine.batched import pack
from analysis.models.engine.design import Impact, Seasonality, build_design


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(8)
    t = np.arange(150.0)
    d = build_design(t, [90], Impact.parse("step+slope"), Seasonality.parse("dow"), weekday=(np.arange(150) % 7) + 1)
    beta = np.array([3.0, 0.004, -0.8, 0.01, *rng.normal(0, 0.03, 6)])
    Y = d.X @ beta + lfilter([1.0], [1.0, -0.6], rng.normal(0, 0.1, (4, 150)), axis=1)
    Y[1, 20:31] = np.nan  # a run of missing days
    Y[2, ::3] = np.nan  # regular gaps
    return d, t, Y


def sarimax(y: np.ndarray, X: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = sm.tsa.SARIMAX(y, exog=X, order=(1, 0, 0), trend="n")
        return m, m.fit(disp=False, method="bfgs", gtol=1e-9, maxiter=2000, cov_type="oim")


def test_likelihood_equals_sarimax_at_our_estimates_gaps_included(data):
    d, t, Y = data
    fit = ar1(pack(d.X, Y, t))
    for s in range(Y.shape[0]):
        m, _ = sarimax(Y[s], d.X)  # SARIMAX's Kalman filter skips the NaN days
        rho = fit.extra["rho"][s]
        params = np.r_[fit.beta[s], rho, fit.extra["sigma2_marginal"][s] * (1 - rho**2)]
        assert m.loglike(params) == pytest.approx(fit.extra["loglik"][s], abs=1e-7)


def test_estimates_equal_the_sarimax_mle(data):
    d, t, Y = data
    fit = ar1(pack(d.X, Y, t))
    k = d.X.shape[1]
    for s in range(Y.shape[0]):
        _, r = sarimax(Y[s], d.X)
        assert r.llf <= fit.extra["loglik"][s] + 1e-7  # ours is at least as high: the maximum
        assert fit.extra["rho"][s] == pytest.approx(r.params[k], abs=1e-4)
        np.testing.assert_allclose(fit.beta[s], r.params[:k], atol=1e-4)
        level = d.col("level")
        assert fit.se[s, level] == pytest.approx(r.bse[level], rel=0.06)  # GLS vs observed information


def test_fixed_rho_is_exactly_gls_with_the_ar1_correlation(data):
    d, t, Y = data
    rho = np.array([0.3, 0.55, -0.2, 0.8])
    fit = ar1(pack(d.X, Y, t), rho=rho)
    for s in range(Y.shape[0]):
        ok = ~np.isnan(Y[s])
        tt = t[ok]
        corr = rho[s] ** np.abs(tt[:, None] - tt[None, :])
        r = sm.GLS(Y[s, ok], d.X[ok], sigma=corr).fit()
        np.testing.assert_allclose(fit.beta[s], r.params, atol=1e-10)
        np.testing.assert_allclose(fit.se[s], r.bse, rtol=1e-9)


def test_innovations_are_white_when_the_model_is_right(data):
    from statsmodels.stats.diagnostic import acorr_ljungbox

    d, t, Y = data
    p = pack(d.X, Y[:1], t)
    fit = ar1(p)
    e = fit.innov[0, : p.n[0]]
    assert float(acorr_ljungbox(e, lags=[14])["lb_pvalue"].iloc[0]) > 0.05
    assert float(acorr_ljungbox(fit.resid[0, : p.n[0]], lags=[14])["lb_pvalue"].iloc[0]) < 1e-6


@pytest.mark.slow
def test_ar1_intervals_cover_the_true_level_change_where_iid_and_hac_do_not():
    """rho = 0.6, 200 days, intervention mid-series, 1,000 replicates (Monte Carlo s.e. ~0.8%)."""
    cov = dict(coverage_study(reps=1000, n=200, rho=0.6, seed=2021).select("errors", "coverage").iter_rows())
    print("coverage of 95% intervals:", cov)
    assert cov["ar1"] >= 0.91
    assert cov["ar1-reml"] >= cov["ar1"]
    assert cov["iid"] < 0.8 and cov["hac"] < 0.9
    assert cov["iid"] < cov["hac"] < cov["ar1"]


def test_shared_design_moments_give_the_same_fit_as_packed_series(data):
    d, t, Y = data
    complete = Y[[0, 3]]
    fast = ar1(pack(d.X, complete, t))
    mixed = ar1(pack(d.X, Y[[0, 3, 2]], t))
    np.testing.assert_allclose(fast.extra["rho"], mixed.extra["rho"][:2], atol=1e-8)
    np.testing.assert_allclose(fast.beta, mixed.beta[:2], atol=1e-9)
    np.testing.assert_allclose(fast.se, mixed.se[:2], rtol=1e-7)
