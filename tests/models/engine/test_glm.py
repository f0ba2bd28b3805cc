"""Count models with an exposure offset equal statsmodels' GLM / NegativeBinomial fits."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm

from analysis.models.engine.batched import newey_west_lags, pack
from analysis.models.engine.design import Impact, Seasonality, build_design
from analysis.models.engine.glm import glm


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(3)
    t = np.arange(120.0)
    d = build_design(t, [80], Impact.parse("step+slope"), Seasonality.parse("fourier:7:2"))
    expo = rng.uniform(1e5, 2e5, (4, 120))
    mu = np.exp(np.log(expo) - 9 + 0.002 * t - 0.4 * (t >= 80))
    Y = rng.negative_binomial(1 / 0.15, 1 / (1 + 0.15 * mu)).astype(float)
    Y[1, ::4] = np.nan
    return d, t, Y, expo


def sm_fit(d, Y, expo, s, family, **kw):
    ok = ~np.isnan(Y[s])
    return sm.GLM(Y[s, ok], d.X[ok], family=family, exposure=expo[s, ok]).fit(tol=1e-13, **kw), ok


@pytest.mark.parametrize("family", ["poisson", "quasipoisson"])
def test_poisson_and_quasipoisson_equal_statsmodels_glm(counts, family):
    d, t, Y, expo = counts
    fit = glm(pack(d.X, Y, t, offset=np.log(expo)), family, "iid", offset=pack(d.X, Y, t, offset=np.log(expo)).aux["offset"])
    for s in range(Y.shape[0]):
        kw = {"scale": "X2", "use_t": True} if family == "quasipoisson" else {}
        r, _ = sm_fit(d, Y, expo, s, sm.families.Poisson(), **kw)
        np.testing.assert_allclose(fit.beta[s], r.params, atol=1e-9)
        np.testing.assert_allclose(fit.se[s], r.bse, rtol=1e-6)
        if family == "quasipoisson":
            assert fit.extra["dispersion"][s] == pytest.approx(r.scale, rel=1e-9)
            assert fit.dist == "t" and fit.df_resid[s] == r.df_resid


def test_hac_sandwich_equals_statsmodels_glm_hac(counts):
    d, t, Y, expo = counts
    p = pack(d.X, Y, t, offset=np.log(expo))
    for family, sm_family in (("poisson", None), ("negbin", "nb")):
        fit = glm(p, family, "hac", offset=p.aux["offset"])
        for s in range(Y.shape[0]):
            fam = sm.families.Poisson() if sm_family is None else sm.families.NegativeBinomial(alpha=fit.extra["alpha"][s])
            ok = ~np.isnan(Y[s])
            r, _ = sm_fit(d, Y, expo, s, fam, cov_type="HAC", cov_kwds={"maxlags": newey_west_lags(int(ok.sum()))})
            np.testing.assert_allclose(fit.beta[s], r.params, atol=1e-6)
            np.testing.assert_allclose(fit.se[s], r.bse, rtol=1e-5)


def test_negative_binomial_alpha_and_coefficients_are_the_joint_mle(counts):
    d, t, Y, expo = counts
    p = pack(d.X, Y, t, offset=np.log(expo))
    fit = glm(p, "negbin", "iid", offset=p.aux["offset"])
    for s in range(Y.shape[0]):
        ok = ~np.isnan(Y[s])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = sm.NegativeBinomial(Y[s, ok], d.X[ok], exposure=expo[s, ok]).fit(disp=0, method="bfgs", gtol=1e-10, maxiter=1000)
        assert fit.extra["alpha"][s] == pytest.approx(nb.params[-1], rel=1e-5)
        np.testing.assert_allclose(fit.beta[s], nb.params[:-1], atol=1e-5)
        r, _ = sm_fit(d, Y, expo, s, sm.families.NegativeBinomial(alpha=fit.extra["alpha"][s]))
        np.testing.assert_allclose(fit.se[s], r.bse, rtol=1e-5)  # GLM covariance at alpha-hat


def test_rate_ratio_of_a_known_drop_is_recovered(counts):
    d, t, Y, expo = counts
    p = pack(d.X, Y, t, offset=np.log(expo))
    fit = glm(p, "quasipoisson", "iid", offset=p.aux["offset"])
    level = d.col("level")
    assert np.all(np.abs(fit.beta[:, level] + 0.4) < 3 * fit.se[:, level])
    assert np.all(fit.extra["dispersion"] > 2)  # NB data are overdispersed for Poisson
