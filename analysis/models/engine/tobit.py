"""Censored regression (Tobit-type likelihood) for log-rank with chart-depth censoring, batched.

A chart lists only its top ``depth`` apps: on a day an app is below the chart, its log-rank is
only known to exceed ``log(depth + 0.5)`` (right-censored); at #1 it is only known to be below
``log(1.5)`` (left-censored, since ranks are rounded and floored at 1).  Dropping those days
(what OLS on the observed rows does) biases the level change towards zero exactly when an app
enters or tops the chart.  The latent model is ``y*_t = x_t' b + s e_t``, ``e ~ N(0, 1)``; each
row is observed (``flag = 0``), right-censored at its threshold (``flag = +1``) or
left-censored (``flag = -1``).

Estimation: Newton's method in Olsen's (1978) parametrisation ``g = b/s``, ``h = 1/s``, in
which the log-likelihood is globally concave, for all series at once; ``b`` and ``s`` and their
covariance follow by the delta method.  ``errors="iid"`` uses the inverse observed information;
``errors="hac"`` the Newey-West sandwich of per-row scores (autocorrelation-robust).  Normal
reference distribution.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr

from analysis.models.engine.batched import (
    BatchFit,
    Packed,
    equilibrate,
    hac_meat,
    newey_west_lags,
    safe_inverse,
)

MAX_ITER = 100
TOL = 1e-10
LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def _mills(s: np.ndarray) -> np.ndarray:
    """phi(s) / Phi(s), computed stably for very negative s."""
    return np.exp(-0.5 * s * s - LOG_SQRT_2PI - log_ndtr(s))


def loglik_parts(theta: np.ndarray, V: np.ndarray, y: np.ndarray, flag: np.ndarray, mask: np.ndarray):
    """Log-likelihood, per-row scores and Hessian in (g, h) for packed rows.

    ``V`` (S, T, k) regressors, ``theta`` (S, k+1) = (g, h); returns (ll (S,), scores (S, T, k+1),
    hessian (S, k+1, k+1)).
    """
    g, h = theta[:, :-1], theta[:, -1]
    xg = np.einsum("stk,sk->st", V, g)
    obs = mask & (flag == 0)
    cen = mask & (flag != 0)
    sign = np.where(flag < 0, -1.0, 1.0)
    # observed rows: log h - (h y - x g)^2 / 2
    r = h[:, None] * y - xg
    # censored rows: log Phi(sign (x g - h c)); gradient direction u = sign (x, -c)
    s = sign * (xg - h[:, None] * y)
    lam = _mills(s)
    ll = np.where(obs, np.log(h)[:, None] - 0.5 * r * r - LOG_SQRT_2PI, 0.0) + np.where(cen, log_ndtr(s), 0.0)
    Vy = np.concatenate([V, -y[..., None]], axis=2)  # d(x g - h c)/d(g, h) = (x, -c)
    d_obs = np.concatenate([r[..., None] * V, (1.0 / h[:, None] - r * y)[..., None]], axis=2)
    d_cen = (lam * sign)[..., None] * Vy
    scores = np.where(obs[..., None], d_obs, 0.0) + np.where(cen[..., None], d_cen, 0.0)
    w_cen = np.where(cen, lam * (s + lam), 0.0)  # -d2 log Phi(s) / ds2
    Vy0 = np.concatenate([V, -y[..., None]], axis=2) * obs[..., None]
    H = -np.einsum("sti,stj->sij", Vy0, Vy0) - np.einsum("st,sti,stj->sij", w_cen, Vy, Vy)
    H[:, -1, -1] -= obs.sum(axis=1) / (h * h)
    return ll.sum(axis=1), scores, H


def tobit(p: Packed, flag: np.ndarray, errors: str = "iid", maxlags: int | None = None) -> BatchFit:
    """Censored-normal regression of packed ``y`` (thresholds on censored rows) with ``flag``
    (packed like ``y``: 0 observed, +1 right-censored, -1 left-censored)."""
    if errors not in ("iid", "hac"):
        raise ValueError(f"censored models support errors 'iid' or 'hac', not {errors!r}")
    S, T, k = p.shape
    Xs, scale = equilibrate(p.X, p.mask)
    obs = p.mask & (flag == 0)
    n_obs = obs.sum(axis=1)
    # start: OLS on the observed rows
    A = np.einsum("st,sti,stj->sij", obs.astype(float), Xs, Xs)
    inv0, ok, reason = safe_inverse(A, n_obs, k)
    b0 = np.einsum("sij,sj->si", inv0, np.einsum("st,sti,st->si", obs.astype(float), Xs, p.y))
    res0 = np.where(obs, p.y - np.einsum("stk,sk->st", Xs, b0), 0.0)
    sd0 = np.sqrt(np.maximum(np.einsum("st,st->s", res0, res0) / np.maximum(n_obs, 1), 1e-8))
    theta = np.concatenate([b0 / sd0[:, None], (1.0 / sd0)[:, None]], axis=1)
    conv = np.zeros(S, dtype=bool)
    ll, scores, H = loglik_parts(theta, Xs, p.y, flag, p.mask)
    eye = np.eye(k + 1)
    for _ in range(MAX_ITER):
        grad = scores.sum(axis=1)
        Hs = np.where(ok[:, None, None], H, -eye)
        step = -np.linalg.solve(Hs, grad[..., None])[..., 0]
        step = np.where(conv[:, None], 0.0, step)
        t = np.ones(S)
        for _ in range(40):  # step halving keeps h > 0 and the likelihood increasing
            cand = theta + t[:, None] * step
            pos = cand[:, -1] > 0
            ll_c = np.where(pos, loglik_parts(np.where(pos[:, None], cand, theta), Xs, p.y, flag, p.mask)[0], -np.inf)
            good = ll_c >= ll - 1e-12 * (1 + np.abs(ll))
            if good.all():
                break
            t = np.where(good, t, t / 2)
        theta = theta + t[:, None] * step
        ll_new, scores, H = loglik_parts(theta, Xs, p.y, flag, p.mask)
        conv |= np.max(np.abs(t[:, None] * step), axis=1) < TOL * (1 + np.max(np.abs(theta), axis=1))
        ll = ll_new
        if conv.all():
            break
    Hs = np.where(ok[:, None, None], H, -eye)
    info_inv = np.linalg.inv(-Hs)
    lags = np.zeros(S, dtype=int)
    if errors == "hac":
        lags = np.full(S, maxlags) if maxlags is not None else newey_west_lags(p.n)
        cov_th = info_inv @ hac_meat(scores, lags) @ info_inv
    else:
        cov_th = info_inv
    g, h = theta[:, :-1], theta[:, -1]
    # delta method: b = g / h, s = 1 / h
    J = np.zeros((S, k + 1, k + 1))
    J[:, :k, :k] = np.eye(k)[None] / h[:, None, None]
    J[:, :k, k] = -g / (h * h)[:, None]
    J[:, k, k] = -1.0 / (h * h)
    cov_bs = J @ cov_th @ J.transpose(0, 2, 1)
    b = g / h[:, None]
    beta = b / scale
    cov = cov_bs[:, :k, :k] / (scale[:, :, None] * scale[:, None, :])
    sigma = 1.0 / h
    fitted = np.einsum("stk,sk->st", Xs, b)
    resid = np.where(obs, p.y - fitted, 0.0)
    enough = n_obs > k + 1
    reason = [r or ("too few uncensored observations" if not e else "")
              or ("censored likelihood did not converge" if not c else "")
              for r, e, c in zip(reason, enough, conv, strict=True)]
    ok &= conv & enough
    df = (p.n - k - 1).astype(float)
    return BatchFit(beta, cov, df, "normal", fitted, resid, resid / sigma[:, None], ok, reason,
                    {"sigma": sigma, "sigma_se": np.sqrt(cov_bs[:, k, k]), "loglik": ll,
                     "n_censored": (p.mask & (flag != 0)).sum(axis=1).astype(float),
                     "hac_maxlags": lags.astype(float)})
