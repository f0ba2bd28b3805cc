"""Censored regression with AR(1) errors (pairwise composite likelihood) against independent references."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import optimize, stats
from scipy.signal import lfilter

from analysis.models.engine import ar, censored_ar1
from analysis.models.engine import estimate as engine
from analysis.models.engine.batched import equilibrate, pack
from analysis.models.engine.bvn import bvn_cdf
from analysis.models.engine.censored_ar1 import pair_scores, start_values, tobit_ar1
from analysis.models.engine.design import Impact, Seasonality, build_design

T_DAYS, CUT = 90, 60


def simulate(reps: int, seed: int, rho: float = 0.6, sd: float = 0.3, share: float = 0.4, impact: str = "step+slope",
             seasonality: str = "dow", level: float = -0.8):
    """Latent log-rank with level + slope change at day 60, day-of-week terms and AR(1) errors
    (marginal sd ``sd``), right-censored at the threshold that censors ``share`` of pre-period days
    in expectation."""
    rng = np.random.default_rng(seed)
    t = np.arange(T_DAYS, dtype=float)
    weekday = (np.arange(T_DAYS) + 3) % 7 + 1
    D = build_design(t, [CUT], Impact.parse(impact), Seasonality.parse(seasonality), weekday)
    beta = np.zeros(D.X.shape[1])
    beta[0], beta[D.col("level")] = 5.0, level
    if "slope" in D.names:
        beta[D.col("slope")] = 0.01
    if seasonality == "dow":
        beta[D.col("dow_sat")], beta[D.col("dow_sun")] = 0.1, 0.15
    e = lfilter([1.0], [1.0, -rho], rng.normal(0, sd * np.sqrt(1 - rho**2), (reps, T_DAYS + 200)), axis=1)[:, 200:]
    ystar = D.X @ beta + e
    mu_pre = (D.X @ beta)[:CUT]
    C = optimize.brentq(lambda c: np.mean(stats.norm.sf((c - mu_pre) / sd)) - share, -10, 20) if share > 0 else np.inf
    flag = (ystar > C).astype(float)
    return D, beta, np.where(flag > 0, C, ystar), flag, t


def reference_loglik(theta: np.ndarray, X: np.ndarray, y: np.ndarray, flag: np.ndarray, t: np.ndarray) -> float:
    """The composite likelihood written out pair by pair with scipy.stats (one series; NaN = gap):
    log f(y_1) + sum log f(y_i, y_{i+1}) - log f(y_i), censored members as probabilities."""
    k = X.shape[1]
    b, s, rho = theta[:k], np.exp(theta[k]), np.tanh(theta[k + 1])
    keep = ~np.isnan(y)
    X, y, flag, t = X[keep], y[keep], flag[keep], t[keep]
    mu = X @ b

    def marginal(i):
        if flag[i] == 0:
            return stats.norm.logpdf(y[i], mu[i], s)
        return stats.norm.logsf(y[i], mu[i], s) if flag[i] > 0 else stats.norm.logcdf(y[i], mu[i], s)

    def joint(i, j, r):
        if flag[i] == 0 and flag[j] == 0:
            return stats.multivariate_normal.logpdf([y[i], y[j]], [mu[i], mu[j]], s * s * np.array([[1, r], [r, 1]]))
        if flag[i] != 0 and flag[j] != 0:
            si, sj = flag[i], flag[j]  # P(si (Y_i - c_i) > 0, sj (Y_j - c_j) > 0)
            cov = s * s * np.array([[1, si * sj * r], [si * sj * r, 1]])
            return np.log(stats.multivariate_normal.cdf([-si * y[i], -sj * y[j]], [-si * mu[i], -sj * mu[j]], cov))
        o, c = (i, j) if flag[i] == 0 else (j, i)
        m, sd = mu[c] + r * (y[o] - mu[o]), s * np.sqrt(1 - r * r)
        tail = stats.norm.logsf(y[c], m, sd) if flag[c] > 0 else stats.norm.logcdf(y[c], m, sd)
        return stats.norm.logpdf(y[o], mu[o], s) + tail

    total = marginal(0)
    for i in range(len(y) - 1):
        total += joint(i, i + 1, rho ** (t[i + 1] - t[i])) - marginal(i)
    return float(total)


def test_bivariate_normal_cdf_matches_scipy():
    rng = np.random.default_rng(0)
    h, k = rng.normal(0, 2, 300), rng.normal(0, 2, 300)
    r = np.concatenate([rng.uniform(-0.99, 0.99, 150), rng.choice([-1, 1], 150) * rng.uniform(0.9, 0.9999, 150)])
    ref = [stats.multivariate_normal(cov=[[1, c], [c, 1]]).cdf([a, b]) for a, b, c in zip(h, k, r, strict=True)]
    np.testing.assert_allclose(bvn_cdf(h, k, r), ref, atol=1e-9)


def _one(seed: int, share: float = 0.5, gaps: bool = True):
    D, beta, y, flag, t = simulate(1, seed, share=share, impact="step", seasonality="none")
    y, flag = y[0].copy(), flag[0].copy()
    lo = np.quantile(y[flag == 0], 0.1)  # and left-censored below a low threshold (as rank 1)
    flag = np.where((flag == 0) & (y < lo), -1.0, flag)
    y = np.where(flag < 0, lo, y)
    if gaps:  # two days without a snapshot: gaps, absent from the likelihood
        y[[20, 45]] = np.nan
        flag[[20, 45]] = 0.0
    return D, beta, y, flag, t


def test_likelihood_and_scores_match_the_pairwise_likelihood_written_out():
    D, beta, y, flag, t = _one(1)
    assert 0.1 < (flag[:CUT] > 0).mean() < 0.9 and (flag < 0).sum() >= 3
    p = pack(D.X, y[None], t, flag=flag[None])
    args = (p.X, p.y, p.aux["flag"], p.mask, p.t)
    rng = np.random.default_rng(2)
    for _ in range(3):
        theta = np.r_[beta + rng.normal(0, 0.1, beta.size), np.log(0.3) + rng.normal(0, 0.2), rng.uniform(-0.5, 1.5)]
        ll, sc = pair_scores(theta[None], *args)
        assert ll[0] == pytest.approx(reference_loglik(theta, D.X, y, flag, t), abs=1e-8)
        num = optimize.approx_fprime(theta, lambda th: pair_scores(th[None], *args)[0][0], 1e-7)
        np.testing.assert_allclose(sc[0].sum(axis=0), num, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_batched_fit_equals_a_per_series_scipy_fit_of_the_written_out_likelihood():
    D, beta, y, flag, t = _one(3)
    fit = tobit_ar1(pack(D.X, y[None], t, flag=flag[None]), pack(D.X, y[None], t, flag=flag[None]).aux["flag"])
    assert fit.ok[0]
    k = D.X.shape[1]
    x0 = np.r_[np.nanmean(y), np.zeros(k - 1), np.log(np.nanstd(y)), 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = optimize.minimize(lambda th: -reference_loglik(th, D.X, y, flag, t), x0, method="BFGS",
                                options={"gtol": 1e-7})
    np.testing.assert_allclose(fit.beta[0], ref.x[:k], atol=1e-4)
    assert fit.extra["sigma"][0] == pytest.approx(np.exp(ref.x[k]), abs=1e-4)
    assert fit.extra["rho"][0] == pytest.approx(np.tanh(ref.x[k + 1]), abs=1e-4)
    assert fit.extra["loglik"][0] == pytest.approx(-ref.fun, abs=1e-6)


def test_without_censoring_it_is_exact_ar1_maximum_likelihood():
    D, beta, y, flag, t = simulate(20, 4, share=0.0)
    y[:, [10, 50]] = np.nan  # gaps
    flag[:, [10, 50]] = 0.0
    fit = tobit_ar1(pack(D.X, y, t, flag=flag), pack(D.X, y, t, flag=flag).aux["flag"])
    exact = ar.ar1(pack(D.X, y, t))
    assert fit.ok.all()
    np.testing.assert_allclose(fit.beta, exact.beta, atol=2e-5)
    np.testing.assert_allclose(fit.extra["rho"], exact.extra["rho"], atol=2e-5)
    # the covariance is the ML information, scaled by n/(n-k-2): close to exact ML's GLS covariance
    ratio = fit.se / exact.se
    assert 0.9 < np.median(ratio) < 1.15


def test_without_censoring_one_series_matches_statsmodels_sarimax():
    import statsmodels.api as sm

    D, beta, y, flag, t = simulate(1, 5, share=0.0)
    fit = tobit_ar1(pack(D.X, y, t, flag=flag), pack(D.X, y, t, flag=flag).aux["flag"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = sm.tsa.SARIMAX(y[0], exog=D.X, order=(1, 0, 0), trend="n").fit(disp=False, method="bfgs", gtol=1e-10,
                                                                           maxiter=2000)
    k = D.X.shape[1]
    np.testing.assert_allclose(fit.beta[0], r.params[:k], atol=1e-4)
    assert fit.extra["rho"][0] == pytest.approx(r.params[k], abs=1e-4)


def test_censored_ar1_through_the_engine_and_start_values():
    D, beta, y, flag, t = simulate(5, 6)
    model = engine.ModelSpec(impact="step+slope", seasonality="dow", errors="ar1", transform="none", censored=True)
    weekday = (np.arange(T_DAYS) + 3) % 7 + 1
    g = engine.fit_grid(y, t, [CUT], model, weekday=weekday, flag=flag)
    direct = tobit_ar1(pack(D.X, y, t, flag=flag), flag)
    np.testing.assert_allclose(g.fit.beta, direct.beta, atol=1e-10)
    assert "AR(1)" in model.describe_errors()
    d = engine.diagnostics_frame(g)
    assert d["rho"].is_between(0, 1).all() and (d["n_censored"] > 0).all()
    p = pack(D.X, y, t, flag=flag)
    Xs, scale = equilibrate(p.X, p.mask)
    assert np.isfinite(start_values(p, flag, Xs, scale)[0]).all()
    with pytest.raises(ValueError, match="censored models support"):
        engine.ModelSpec(errors="ar1-reml", censored=True)


def test_coverage_of_the_level_change_at_the_study_design():
    """rho 0.6, 90 days, day-of-week terms, level + slope, 40% of pre-period days censored."""
    D, beta, y, flag, t = simulate(600, 2021)
    assert flag[:, :CUT].mean() == pytest.approx(0.4, abs=0.03)
    fit = tobit_ar1(pack(D.X, y, t, flag=flag), flag)
    j = D.col("level")
    q = stats.t.ppf(0.975, fit.df_resid)
    covered = np.abs(fit.beta[:, j] - beta[j]) <= q * fit.se[:, j]
    bias = float(np.mean(fit.beta[:, j] - beta[j]))
    print(f"censored AR(1) coverage of the 95% interval for the level change: {covered.mean():.3f} "
          f"({covered.sum()} of {covered.size}); bias {bias:+.4f}")
    assert fit.ok.all()
    assert covered.mean() >= 0.90
    assert abs(bias) < 0.03
    dropped = ar.ar1(pack(D.X, np.where(flag > 0, np.nan, y), t))  # what dropping censored days does
    assert np.mean(dropped.beta[:, j] - beta[j]) > abs(bias) + 0.05


def test_hessian_by_the_chain_rule_equals_differences_of_the_gradient():
    D, beta, y, flag, t = simulate(4, 8)
    y[:, [10, 11, 40]], flag[:, [10, 11, 40]] = np.nan, 0.0  # gaps: pairs two days apart
    flag[:, 70:73], y[:, 70:73] = -1.0, 3.0  # left-censored run next to observed days
    p = pack(D.X, y, t, flag=flag)
    Xs, scale = equilibrate(p.X, p.mask)
    theta, _ = start_values(p, p.aux["flag"], Xs, scale)
    args = (Xs, p.y, p.aux["flag"], p.mask, p.t)
    rows = np.ones(4, dtype=bool)
    exact, numeric = censored_ar1.hessian(theta, args, rows), censored_ar1.hessian_numeric(theta, args, rows)
    np.testing.assert_allclose(exact, numeric, atol=1e-5 * np.abs(numeric).max())


def test_near_unit_rho_is_kept_inside_the_bound():
    D, beta, y, flag, t = simulate(3, 7, rho=0.97, share=0.3)
    fit = tobit_ar1(pack(D.X, y, t, flag=flag), flag)
    assert (np.abs(fit.extra["rho"]) <= censored_ar1.RHO_MAX + 1e-12).all()
