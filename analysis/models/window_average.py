"""Window-average effect against a counterfactual forecast fitted on the pre-period only.

The estimand a reader means by "how much did the app climb in the two weeks after": the mean,
over the window days ``W`` (default the 14 days from the first event), of observed log-rank minus
the forecast of a model fitted *before the first event only*:

    y_t = x_t' b + u_t,  x_t = (1, t, day-of-week dummies),  u_t = rho u_{t-1} + e_t  (AR(1))

fitted by exact ML (:func:`analysis.models.ar.ar1`, = SARIMAX(1,0,0) with regressors).  The
forecast of day ``t0 + h`` from the last pre-period observation ``t0`` is the best linear
predictor (Box, Jenkins & Reinsel 2008, ch. 5; Brockwell & Davis 2016, sec. 6.4 for regression
with ARMA errors)

    yhat_{t0+h} = x_{t0+h}' b + rho^h (y_{t0} - x_{t0}' b) = c_h' b + rho^h y_{t0},
    c_h = x_{t0+h} - rho^h x_{t0},

and its error is ``c_h' (b - bhat) + sum_{j=1..h} rho^(h-j) e_{t0+j}``: a parameter part and a
future-innovation part, independent because the innovations after ``t0`` are independent of the
pre-period data.  For the mean over the observed window days ``h in W`` (``H = |W|``):

    effect  = mean_h (y_{t0+h} - yhat_{t0+h})
    Var     = cbar' V cbar + sigma_e^2 / H^2 * sum_{j=1..max W} (sum_{h in W, h >= j} rho^(h-j))^2

with ``cbar = mean_h c_h``, ``V`` the GLS covariance of ``bhat`` and ``sigma_e^2 = s^2 (1 -
rho^2)`` the innovation variance (``s^2`` the marginal variance, SSR/(n-k)).  The first term is
the forecast (parameter) uncertainty, the second the Box-Jenkins forecast-error variance of the
averaged path (the variance of a sum of MA(inf) forecast errors; cf. the posterior predictive
counterfactual of Brodersen et al. 2015, Ann Appl Stat 9:247, whose interval also combines both).
rho-hat's sampling error enters by the delta method through the carried residual,
``d effect / d rho = -mean_h(h rho^(h-1)) u_{t0}`` with ``Var(rho-hat) ~ (1 - rho^2)/n`` (Box,
Jenkins & Reinsel 2008, sec. 7.2); the interval uses a t reference with n - k - 1 df.  Coverage at the study design: ``tests/test_window_average.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from analysis.models import ar as ar_mod
from analysis.models import batched
from analysis.models.design import Seasonality, seasonal_columns


@dataclass(frozen=True)
class WindowAverage:
    """Per-series window-average effects (arrays of length S) and the pre-period fit."""

    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    rho_pre: np.ndarray  # rho-hat of the pre-period-only fit
    n_pre: np.ndarray
    n_window: np.ndarray  # observed window days averaged
    ok: np.ndarray
    reason: list[str]


def baseline_design(t: np.ndarray, weekday: np.ndarray | None, seasonality: str = "dow") -> np.ndarray:
    """Intercept, trend and seasonal columns (the counterfactual model, no interventions)."""
    t = np.asarray(t, dtype=float)
    s_cols, _ = seasonal_columns(t, weekday, Seasonality.parse(seasonality))
    return np.column_stack([np.ones_like(t), t, *s_cols])


def innovation_weight(h: np.ndarray, rho: float) -> float:
    """``sum_j (sum_{h in W, h >= j} rho^(h-j))^2`` for the window offsets ``h`` (>= 1)."""
    h = np.asarray(h, dtype=int)
    if h.size == 0:
        return np.nan
    j = np.arange(1, int(h.max()) + 1)
    d = h[None, :] - j[:, None]  # (J, H)
    a = np.where(d >= 0, np.power(rho, np.clip(d, 0, None)), 0.0).sum(axis=1)
    return float((a * a).sum())


def window_average(
    y: np.ndarray,
    t: np.ndarray,
    first_event: float,
    window: tuple[float, float],
    weekday: np.ndarray | None = None,
    seasonality: str = "dow",
    alpha: float = 0.05,
    min_pre: int = 14,
    method: str = "reml",
) -> WindowAverage:
    """Window-average effect of every row of ``y`` (S, T; log-rank, NaN = missing) on grid ``t``.

    The counterfactual model is fitted on rows with ``t < first_event``; the effect averages the
    observed days with ``window[0] <= t <= window[1]``.  ``method``: rho by restricted ML
    (``reml``, default: less biased towards 0 in short pre-periods, hence closer to nominal
    coverage) or exact ML (``ml``).
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    t = np.asarray(t, dtype=float)
    S = y.shape[0]
    X = baseline_design(t, weekday, seasonality)
    k = X.shape[1]
    pre = t < first_event
    in_w = (t >= window[0]) & (t <= window[1])
    ypre = np.where(pre[None, :], y, np.nan)
    n_pre = (~np.isnan(ypre)).sum(axis=1)
    out = {name: np.full(S, np.nan) for name in ("estimate", "se", "ci_low", "ci_high", "rho")}
    ok = np.zeros(S, dtype=bool)
    reason = [""] * S
    n_win = (~np.isnan(y[:, in_w])).sum(axis=1)
    fit_rows = np.nonzero((n_pre >= max(min_pre, k + 2)) & (n_win > 0))[0]
    for s in range(S):
        if s not in set(fit_rows.tolist()):
            reason[s] = (f"{n_pre[s]} pre-period days with a value (need {max(min_pre, k + 2)})" if n_win[s] > 0
                         else "no observed day in the window")
    if fit_rows.size:
        p = batched.pack(X[pre], ypre[fit_rows][:, pre], t[pre])
        f = ar_mod.ar1(p, residuals=False, method=method)
        crit = special.stdtrit(np.where(f.df_resid > 0, f.df_resid, np.nan), 1 - alpha / 2)
        for j, s in enumerate(fit_rows):
            if not f.ok[j]:
                reason[s] = f.reason[j] or "pre-period fit failed"
                continue
            rho, b, V = float(f.extra["rho"][j]), f.beta[j], f.cov[j]
            last = int(np.nonzero(~np.isnan(ypre[s]))[0].max())
            t0 = t[last]
            obs = np.nonzero(in_w & ~np.isnan(y[s]))[0]
            h = t[obs] - t0
            ph = np.power(rho, h)
            C = X[obs] - ph[:, None] * X[last][None, :]
            forecast = C @ b + ph * y[s, last]
            est = float(np.mean(y[s, obs] - forecast))
            cbar = C.mean(axis=0)
            s2 = float(f.extra["sigma2_marginal"][j] * p.n[j] / (p.n[j] - k))  # s^2 = SSR / (n - k)
            u0 = y[s, last] - X[last] @ b  # last pre-period residual, carried by rho^h
            d_rho = float(np.mean(h * np.power(rho, h - 1))) * u0
            var = (float(cbar @ V @ cbar) + s2 * (1 - rho * rho) * innovation_weight(h, rho) / len(obs) ** 2
                   + d_rho * d_rho * (1 - rho * rho) / p.n[j])
            se = float(np.sqrt(max(var, 0.0)))
            out["estimate"][s], out["se"][s], out["rho"][s] = est, se, rho
            out["ci_low"][s], out["ci_high"][s] = est - crit[j] * se, est + crit[j] * se
            ok[s] = True
    return WindowAverage(out["estimate"], out["se"], out["ci_low"], out["ci_high"], out["rho"], n_pre,
                         n_win, ok, reason)
