"""The dose (triple-difference) design: meta-regression numbers against statsmodels WLS, and the
US-specific term recovered from a synthetic Effects frame."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from analysis.models.checks.dose import dose_design, meta_regression

COUNTRIES = ["br", "de", "fr", "gb", "in", "us", "it", "es"]


def test_meta_regression_equals_weighted_least_squares():
    import statsmodels.api as sm

    rng = np.random.default_rng(2)
    X = np.column_stack([np.ones(8), rng.uniform(0, 1, 8), np.eye(8)[5]])
    se = rng.uniform(0.05, 0.2, 8)
    y = X @ np.array([-1.0, -0.8, -1.2]) + rng.normal(0, se)
    beta, cov, tau2 = meta_regression(y, se, X)
    ref = sm.WLS(y, X, weights=1 / (se**2 + tau2)).fit()
    assert beta == pytest.approx(ref.params, rel=1e-10)
    # known-variance inference: the WLS covariance without its residual scale
    assert np.sqrt(np.diag(cov)) == pytest.approx(ref.bse / np.sqrt(ref.scale), rel=1e-10)
    # method-of-moments tau^2: Q_E = (k - p) + tau^2 tr(P) at the estimate (when positive)
    W = np.diag(1 / se**2)
    P = W - W @ X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W
    assert tau2 == pytest.approx(max(0.0, (y @ P @ y - 5) / np.trace(P)), rel=1e-12)


def test_dose_design_recovers_the_us_specific_term():
    dose = dict(zip(COUNTRIES, [0.45, 0.30, 0.44, 0.32, 0.41, 0.39, 0.25, 0.50], strict=True))
    rows = []
    for c in COUNTRIES:
        theta = -1.0 - 0.8 * dose[c] - (1.1 if c == "us" else 0.0)
        rows += [{"app_name": "Telegram", "country": c, "estimate": theta, "se": 0.05},
                 {"app_name": "WhatsApp", "country": c, "estimate": dose[c], "se": 0.05}]
    eff = pl.DataFrame(rows).with_columns(pl.lit("ios").alias("store"), pl.lit(None, pl.String).alias("event_id"),
                                          pl.lit("window_average").alias("estimand"), pl.lit("estimate").alias("kind"))
    fit = dose_design(eff, "Telegram", "ios")
    coef = dict(zip(fit.coefficients["term"], fit.coefficients["estimate"], strict=True))
    assert coef == pytest.approx({"intercept": -1.0, "dose": -0.8, "treated": -1.1}, abs=1e-10)
    assert fit.tau2 == 0 and fit.n_groups == 8
    with pytest.raises(ValueError, match="treated country"):
        dose_design(eff, "Telegram", "ios", treated="jp")
