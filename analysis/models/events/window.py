"""Window-average effect against a counterfactual forecast fitted on the pre-period only.

The estimand a reader means by "how much did the app climb in the two weeks after": the mean,
over the window days ``W`` (default the 14 days from the first event), of observed log-rank minus
the forecast of a model fitted *before the first event only*:

    y_t = x_t' b + u_t,  x_t = (1, t, day-of-week dummies),  u_t = rho u_{t-1} + e_t  (AR(1))

fitted by exact ML (:func:`analysis.models.engine.ar.ar1`, = SARIMAX(1,0,0) with regressors).  The
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
Jenkins & Reinsel 2008, sec. 7.2); the interval uses a t reference with n - k - 1 df.

Censored pre-period days (below the chart, ``flag``): the baseline is fitted by the censored AR(1)
likelihood (:func:`analysis.models.engine.censored_ar1.tobit_ar1`, t(n - k - 2) reference), the forecast
runs from the last *ranked* pre-period day (the best linear predictor given that day; AR(1) is
Markov, so ignoring the censored days after it loses efficiency, not validity), and censored
window days are left out of the mean (their latent value is not located; the reason says so).  At
the study design with 40-45% of pre-period days censored the intervals cover 91.1% (291 fitted of
300; ``tests/models/test_entry_bounds.py``); a series whose ranked pre-period days miss a weekday is rank
deficient and not fitted.  Coverage at the study design: ``tests/test_window_average.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from analysis.models.engine import ar as ar_mod
from analysis.models.engine import batched
from analysis.models.engine.design import Seasonality, seasonal_columns


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
    flag: np.ndarray | None = None,
    threshold: float | None = None,
) -> WindowAverage:
    """Window-average effect of every row of ``y`` (S, T; log-rank, NaN = missing) on grid ``t``.

    The counterfactual model is fitted on rows with ``t < first_event``; the effect averages the
    observed days with ``window[0] <= t <= window[1]``.  ``method``: rho by restricted ML
    (``reml``, default: less biased towards 0 in short pre-periods, hence closer to nominal
    coverage) or exact ML (``ml``).  ``flag`` (S, T; +1 below the chart, latent ``> threshold``):
    a series with censored pre-period days gets its baseline from the censored AR(1) likelihood
    (:func:`analysis.models.engine.censored_ar1.tobit_ar1`), see :func:`_censored_pre`.
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    t = np.asarray(t, dtype=float)
    S = y.shape[0]
    X = baseline_design(t, weekday, seasonality)
    k = X.shape[1]
    pre = t < first_event
    in_w = (t >= window[0]) & (t <= window[1])
    flag = np.zeros_like(y) if flag is None else np.asarray(flag, dtype=float)
    cens_pre = (flag[:, pre] != 0).any(axis=1) & (threshold is not None)
    ypre = np.where(pre[None, :], y, np.nan)
    n_pre = (~np.isnan(ypre)).sum(axis=1)
    out = {name: np.full(S, np.nan) for name in ("estimate", "se", "ci_low", "ci_high", "rho")}
    ok = np.zeros(S, dtype=bool)
    reason = [""] * S
    n_win = (~np.isnan(y[:, in_w])).sum(axis=1)
    fit_ok = (n_pre >= max(min_pre, k + 2)) & (n_win > 0)
    for s in np.nonzero(~fit_ok)[0]:
        reason[s] = (f"{n_pre[s]} pre-period days with a value (need {max(min_pre, k + 2)})" if n_win[s] > 0
                     else "no observed day in the window")
    for rows, censored in ((np.nonzero(fit_ok & ~cens_pre)[0], False), (np.nonzero(fit_ok & cens_pre)[0], True)):
        if not rows.size:
            continue
        if censored:
            f = _censored_pre(X[pre], y[rows][:, pre], flag[rows][:, pre], t[pre], threshold)
        else:
            packed = batched.pack(X[pre], ypre[rows][:, pre], t[pre])
            f = ar_mod.ar1(packed, residuals=False, method=method)
            f.extra["n"] = packed.n.astype(float)
        crit = special.stdtrit(np.where(f.df_resid > 0, f.df_resid, np.nan), 1 - alpha / 2)
        for j, s in enumerate(rows):
            if not f.ok[j]:
                reason[s] = f.reason[j] or "pre-period fit failed"
                continue
            r = _forecast_effect(y[s], np.where(flag[s] != 0, np.nan, ypre[s]), X, t, in_w, f, j, k)
            out["estimate"][s], out["se"][s], out["rho"][s] = r
            out["ci_low"][s], out["ci_high"][s] = r[0] - crit[j] * r[1], r[0] + crit[j] * r[1]
            ok[s] = True
            if censored:
                reason[s] = (f"{int((flag[s, pre] != 0).sum())} pre-period days below the chart: baseline fitted by "
                             "the censored AR(1) likelihood" + _window_note(flag[s], in_w))
            elif (flag[s, in_w] != 0).any():
                reason[s] = _window_note(flag[s], in_w).lstrip("; ")
    return WindowAverage(out["estimate"], out["se"], out["ci_low"], out["ci_high"], out["rho"], n_pre,
                         n_win, ok, reason)


def _window_note(flag: np.ndarray, in_w: np.ndarray) -> str:
    n = int((flag[in_w] != 0).sum())
    return (f"; {n} window days below the chart are left out of the average (their latent log-rank is not "
            "located; under A2 their effect is <= 0)") if n else ""


def _censored_pre(Xpre: np.ndarray, ypre: np.ndarray, flag: np.ndarray, tpre: np.ndarray, threshold: float):
    """The pre-period baseline of series with censored days, by the censored AR(1) likelihood
    (censored days at ``threshold``), as a BatchFit with the keys :func:`_forecast_effect` reads
    (``sigma2_marginal`` = s^2 (n - k - 2) / n so that its s^2 = SSR / (n - k) convention gives s^2)."""
    from analysis.models.engine.censored_ar1 import tobit_ar1

    yy = np.where(flag != 0, threshold, ypre)
    p = batched.pack(Xpre, yy, tpre, flag=np.where(np.isnan(yy), np.nan, flag))
    f = tobit_ar1(p, p.aux["flag"])
    k = Xpre.shape[1]
    n = p.n.astype(float)
    f.extra["sigma2_marginal"] = f.extra["sigma"] ** 2 * (n - k) / n
    f.extra["n"] = n
    return f


def _forecast_effect(y: np.ndarray, ypre_obs: np.ndarray, X: np.ndarray, t: np.ndarray, in_w: np.ndarray,
                     f, j: int, k: int) -> tuple[float, float, float]:
    """(effect, se, rho) of one series from its pre-period fit ``f`` (row ``j``): the forecast
    runs from the last *observed* (ranked) pre-period day, the mean over ranked window days."""
    rho, b, V = float(f.extra["rho"][j]), f.beta[j], f.cov[j]
    n = float(f.extra["n"][j])
    last = int(np.nonzero(~np.isnan(ypre_obs))[0].max())
    t0 = t[last]
    obs = np.nonzero(in_w & ~np.isnan(y))[0]
    h = t[obs] - t0
    ph = np.power(rho, h)
    C = X[obs] - ph[:, None] * X[last][None, :]
    est = float(np.mean(y[obs] - (C @ b + ph * y[last])))
    cbar = C.mean(axis=0)
    s2 = float(f.extra["sigma2_marginal"][j] * n / (n - k))  # s^2 = SSR / (n - k)
    u0 = y[last] - X[last] @ b  # last pre-period residual, carried by rho^h
    d_rho = float(np.mean(h * np.power(rho, h - 1))) * u0
    var = (float(cbar @ V @ cbar) + s2 * (1 - rho * rho) * innovation_weight(h, rho) / len(obs) ** 2
           + d_rho * d_rho * (1 - rho * rho) / n)
    return est, float(np.sqrt(max(var, 0.0))), rho
