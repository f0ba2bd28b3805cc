"""The whole ITS coefficient table against statsmodels t-tests of the same linear combinations."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.models.engine import estimate as engine
from analysis.models.its.terms import terms_frame


def test_two_interventions_table_equals_statsmodels_hac():
    import statsmodels.api as sm

    rng = np.random.default_rng(12)
    n = 48
    t = np.arange(n, dtype=float)
    d1, d2 = (t >= 20).astype(float), (t >= 32).astype(float)
    y = 3 + 0.2 * t - 1 * d1 - 0.3 * (t - 20) * d1 + 0.5 * d2 + 0.4 * (t - 32) * d2 + rng.normal(0, 0.5, n)  # synthetic
    g = engine.fit_grid(y[None], t, [20.0, 32.0], engine.ModelSpec("step+slope", "fourier:12:1", "hac",
                        transform="none", hac_maxlags=2), labels=["a", "b"])
    tab = terms_frame(g)
    X = g.design.X
    r = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": 2, "use_correction": True}, use_t=True)
    names = list(g.design.names)
    weights = {"intercept": ["intercept"], "pre_trend": ["trend"], "level": ["level"], "slope_change": ["slope"],
               "post_trend": ["trend", "slope"], "level@b": ["level@b"], "slope_change@b": ["slope@b"],
               "post_trend@b": ["trend", "slope", "slope@b"], "fourier_sin1": ["fourier_sin1"],
               "fourier_cos1": ["fourier_cos1"]}
    assert tab["name"].to_list() == list(weights)
    for row in tab.iter_rows(named=True):
        w = np.zeros(len(names))
        w[[names.index(c) for c in weights[row["name"]]]] = 1.0
        tt = r.t_test(w[None, :])
        ci = np.asarray(tt.conf_int())[0]
        assert row["estimate"] == pytest.approx(float(np.squeeze(tt.effect)), rel=1e-9, abs=1e-12)
        assert row["se"] == pytest.approx(float(np.squeeze(tt.sd)), rel=1e-8)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci[0], ci[1]), rel=1e-8)
        assert row["p"] == pytest.approx(float(np.squeeze(tt.pvalue)), rel=1e-6, abs=1e-300)


def test_step_impact_has_no_slope_terms_and_ar1_adds_rho():
    rng = np.random.default_rng(1)
    y = rng.normal(size=40)[None]  # synthetic noise
    g = engine.fit_grid(y, np.arange(40.0), [20.0], engine.ModelSpec("step", "none", "ar1", transform="none"))
    tab = terms_frame(g)
    assert tab["name"].to_list() == ["intercept", "pre_trend", "level", "rho"]
    rho = tab.row(3, named=True)
    assert rho["estimate"] == pytest.approx(g.fit.extra["rho"][0]) and rho["se"] is None
