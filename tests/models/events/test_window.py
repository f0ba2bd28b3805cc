"""Window-average effect against a pre-period-only forecast: the forecast equals statsmodels
SARIMAX's, the forecast-error variance equals its closed form, and intervals cover at the study
design (90-day windows, day-of-week terms, AR(1) errors)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.signal import lfilter

from analysis.models.events.window import baseline_design, innovation_weight, window_average

T, PRE, H = 90, 60, 14
WEEKDAY = (np.arange(T) + 4) % 7 + 1  # day 0 is a Thursday
DOW = np.array([0.0, 0.05, 0.1, -0.05, 0.2, 0.3, -0.1])


def series(n: int, effect: float, rho: float = 0.6, sigma: float = 0.3, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    e = rng.normal(0, sigma * np.sqrt(1 - rho**2), (n, T + 60))
    u = lfilter([1.0], [1.0, -rho], e, axis=1)[:, 60:]
    return 3 + 0.01 * t + DOW[WEEKDAY - 1] + u + np.where(t >= PRE, effect, 0.0)


def test_forecast_and_its_error_variance_equal_sarimax():
    import statsmodels.api as sm

    y = series(1, 0.5, seed=2)[0]
    t = np.arange(T, dtype=float)
    w = window_average(y[None, :], t, PRE, (PRE, PRE + H - 1), WEEKDAY, method="ml")
    X = baseline_design(t, WEEKDAY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = sm.tsa.SARIMAX(y[:PRE], exog=X[:PRE], order=(1, 0, 0), trend="n").fit(
            disp=False, method="bfgs", maxiter=2000, gtol=1e-9)
    fc = r.get_forecast(H, exog=X[PRE:PRE + H])
    assert w.estimate[0] == pytest.approx(np.mean(y[PRE:PRE + H] - fc.predicted_mean), abs=2e-4)
    assert w.rho_pre[0] == pytest.approx(r.params[-2], abs=2e-3)
    # Box-Jenkins: the h-step forecast-error variance (known parameters) is
    # sigma_e^2 (1 - rho^(2h)) / (1 - rho^2): our path weights reduce to it for a single day
    rho, s2e = r.params[-2], r.params[-1]
    for h in (1, 5, 14):
        assert s2e * innovation_weight(np.array([h]), rho) == pytest.approx(fc.var_pred_mean[h - 1], rel=1e-8)


def test_path_weight_equals_the_covariance_of_the_forecast_errors():
    """sum_j (sum_h rho^(h-j))^2 = 1' C 1 with C[h, h'] = sum_{j <= min(h, h')} rho^(h-j) rho^(h'-j)."""
    rho, h = 0.7, np.array([2, 3, 5, 9])
    C = np.array([[sum(rho ** (a - j) * rho ** (b - j) for j in range(1, min(a, b) + 1)) for b in h] for a in h])
    assert innovation_weight(h, rho) == pytest.approx(C.sum(), rel=1e-12)


def test_too_short_pre_period_is_reported():
    y = series(1, 0.0)[0]
    y[:50] = np.nan
    w = window_average(y[None, :], np.arange(T, dtype=float), PRE, (PRE, PRE + H - 1), WEEKDAY)
    assert not w.ok[0] and "pre-period days" in w.reason[0]


@pytest.mark.slow
@pytest.mark.parametrize("rho", [0.3, 0.6])
def test_coverage_at_the_study_design(rho):
    y = series(1000, 0.5, rho=rho, seed=7)
    w = window_average(y, np.arange(T, dtype=float), PRE, (PRE, PRE + H - 1), WEEKDAY)
    cover = float(np.mean((w.ci_low <= 0.5) & (0.5 <= w.ci_high)))
    print(f"window-average 95% coverage (rho {rho}, T 90, 60 pre days, 14-day window, dow): {cover:.3f}")
    assert cover >= 0.91
    assert abs(np.mean(w.estimate) - 0.5) < 0.01
