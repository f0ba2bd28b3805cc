"""The batched OLS engine equals statsmodels' OLS fits, series by series, gaps included."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from analysis.models.engine import diagnostics
from analysis.models.engine.batched import newey_west_lags, ols, pack
from analysis.models.engine.design import Impact, Seasonality, build_design


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(4)
    t = np.arange(240.0)
    d = build_design(t, [150], Impact.parse("step+slope"), Seasonality.parse("dow"), weekday=(np.arange(240) % 7) + 1)
    Y = 3 + 0.1 * rng.normal(size=(12, 240)).cumsum(axis=1)
    Y[2, ::5] = np.nan  # gappy series
    Y[5, :30] = np.nan  # starts late
    return d, t, Y


@pytest.mark.parametrize("errors", ["iid", "hac"])
def test_estimates_and_ses_equal_statsmodels(panel, errors):
    d, t, Y = panel
    fit = ols(pack(d.X, Y, t), errors)
    for s in range(Y.shape[0]):
        ok = ~np.isnan(Y[s])
        m = sm.OLS(Y[s, ok], d.X[ok])
        r = (m.fit(cov_type="HAC", cov_kwds={"maxlags": newey_west_lags(int(ok.sum())), "use_correction": True}, use_t=True)
             if errors == "hac" else m.fit())
        np.testing.assert_allclose(fit.beta[s], r.params, rtol=0, atol=1e-10)
        np.testing.assert_allclose(fit.se[s], r.bse, rtol=1e-9)
        assert fit.df_resid[s] == r.df_resid


def test_given_hac_lags_are_used(panel):
    d, t, Y = panel
    fit = ols(pack(d.X, Y[:1], t), "hac", maxlags=9)
    r = sm.OLS(Y[0], d.X).fit(cov_type="HAC", cov_kwds={"maxlags": 9, "use_correction": True})
    np.testing.assert_allclose(fit.se[0], r.bse, rtol=1e-9)


def test_packing_round_trips_to_the_grid(panel):
    d, t, Y = panel
    p = pack(d.X, Y, t)
    assert np.array_equal(p.n, (~np.isnan(Y)).sum(axis=1))
    back = p.unpack(p.y)
    assert np.allclose(back[~np.isnan(Y)], Y[~np.isnan(Y)]) and np.isnan(back[np.isnan(Y)]).all()
    assert (p.t[2, 1:p.n[2]] - p.t[2, :p.n[2] - 1]).max() == 2  # gaps are kept in time


def test_series_without_post_period_is_flagged_not_fitted(panel):
    d, t, Y = panel
    Y = Y[:2].copy()
    Y[1, 150:] = np.nan
    fit = ols(pack(d.X, Y, t), "hac")
    assert fit.ok.tolist() == [True, False] and "rank deficient" in fit.reason[1]


def test_residual_diagnostics_equal_statsmodels(panel):
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.stats.stattools import durbin_watson
    from statsmodels.tsa.stattools import acf

    d, t, Y = panel
    p = pack(d.X, Y, t)
    fit = ols(p, "iid")
    summary = diagnostics.residual_summary(fit.resid, p.mask)
    for s in (0, 2, 5):
        e = fit.resid[s, : p.n[s]]
        lag = int(summary["ljung_box_lag"][s])
        assert summary["durbin_watson"][s] == pytest.approx(durbin_watson(e), rel=1e-12)
        assert summary["ljung_box_p"][s] == pytest.approx(float(acorr_ljungbox(e, lags=[lag])["lb_pvalue"].iloc[0]), rel=1e-9)
        assert summary["residual_acf1"][s] == pytest.approx(acf(e, nlags=1, fft=False)[1], rel=1e-12)


@pytest.mark.parametrize("errors", ["iid", "hac"])
def test_shared_design_fast_path_equals_the_packed_path(panel, errors):
    d, t, Y = panel
    complete = Y[[0, 1, 3]]
    fast = ols(pack(d.X, complete, t), errors)  # all complete: one shared design
    assert pack(d.X, complete, t).shared is not None
    mixed = ols(pack(d.X, Y[[0, 1, 3, 2]], t), errors)  # a gappy series forces the packed path
    np.testing.assert_allclose(fast.beta, mixed.beta[:3], atol=1e-11)
    np.testing.assert_allclose(fast.se, mixed.se[:3], rtol=1e-10)
