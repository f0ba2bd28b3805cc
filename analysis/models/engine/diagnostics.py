"""Residual diagnostics for many series at once: ACF, Ljung-Box, Durbin-Watson.

All are computed on packed residuals (consecutive observations), as statsmodels' ``acf``,
``acorr_ljungbox`` and ``durbin_watson`` do on the residual vector of one fit.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def acf(resid: np.ndarray, mask: np.ndarray, nlags: int) -> np.ndarray:
    """Sample autocorrelations at lags 1..nlags (demeaned, denominator n), shape (S, nlags)."""
    n = mask.sum(axis=1)
    mean = resid.sum(axis=1) / np.maximum(n, 1)
    e = np.where(mask, resid - mean[:, None], 0.0)
    denom = np.einsum("st,st->s", e, e)
    out = np.full((resid.shape[0], nlags), np.nan)
    for lag in range(1, nlags + 1):
        if lag < resid.shape[1]:
            out[:, lag - 1] = np.einsum("st,st->s", e[:, lag:], e[:, :-lag]) / np.where(denom > 0, denom, np.nan)
    return out


def ljung_box_lags(n: np.ndarray) -> np.ndarray:
    """Lags tested: min(14, n // 5), at least 1 (two weeks of daily data)."""
    return np.clip(np.minimum(14, n // 5), 1, None)


def ljung_box(resid: np.ndarray, mask: np.ndarray, lags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ljung-Box Q and p-value per series, each at its own number of lags."""
    n = mask.sum(axis=1).astype(float)
    r = acf(resid, mask, int(np.max(lags)))
    k = np.arange(1, r.shape[1] + 1)
    terms = np.where(k[None, :] <= lags[:, None], r * r / (n[:, None] - k[None, :]), 0.0)
    q = n * (n + 2) * np.nansum(terms, axis=1)
    return q, special.chdtrc(lags, q)


def durbin_watson(resid: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Durbin-Watson statistic of consecutive packed residuals."""
    both = mask[:, 1:] & mask[:, :-1]
    d = np.where(both, resid[:, 1:] - resid[:, :-1], 0.0)
    e = np.where(mask, resid, 0.0)
    return np.einsum("st,st->s", d, d) / np.einsum("st,st->s", e, e)


def residual_summary(resid: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Durbin-Watson, Ljung-Box (lag and p), lag-1 autocorrelation per series."""
    n = mask.sum(axis=1)
    lags = ljung_box_lags(n)
    _, p = ljung_box(resid, mask, lags)
    return {
        "durbin_watson": durbin_watson(resid, mask),
        "ljung_box_lag": lags.astype(float),
        "ljung_box_p": p,
        "residual_acf1": acf(resid, mask, 1)[:, 0],
    }
