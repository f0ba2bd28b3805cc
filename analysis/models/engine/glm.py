"""Count outcomes with a log link, batched: Poisson, quasi-Poisson and negative binomial (NB2).

``log E[y_t] = log(exposure_t) + x_t' b``: the exposure (e.g. population or installed base) enters
as an offset, so ``exp(b_level)`` is a rate ratio.  Fitting is iteratively reweighted least
squares (Fisher scoring) for all series at once, as statsmodels' GLM does for one.

- ``poisson``: variance = mean; model-based covariance ``(X'WX)^-1``; normal reference.
- ``quasipoisson``: Poisson estimates, covariance scaled by the Pearson dispersion
  ``X2/(n-k)`` (statsmodels ``GLM(...).fit(scale="X2")``); t reference with n-k df.
- ``negbin``: NB2, variance ``mu + alpha mu^2``, ``alpha`` by maximum likelihood (alternating
  IRLS for b and Newton steps for log alpha, converging to the joint MLE of statsmodels'
  ``NegativeBinomial``); covariance of b is the GLM one at alpha-hat; normal reference.

With ``errors="hac"`` the covariance is the Newey-West sandwich on the score contributions with
the observed information as bread (statsmodels ``GLM.fit(cov_type="HAC")``), robust to
overdispersion and autocorrelation.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, polygamma, psi

from analysis.models.engine.batched import (
    BatchFit,
    Packed,
    equilibrate,
    hac_meat,
    newey_west_lags,
    safe_inverse,
    unscale,
)

FAMILIES = ("gaussian", "poisson", "quasipoisson", "negbin")
MAX_ITER = 200
TOL = 1e-11
LOG_ALPHA_BOUNDS = (-25.0, 8.0)


def _weights(mu: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """IRLS weights for the log link: (dmu/deta)^2 / V(mu) = mu / (1 + alpha mu)."""
    return mu / (1.0 + alpha[:, None] * mu)


def _irls(Xs: np.ndarray, y: np.ndarray, off: np.ndarray, mask: np.ndarray, alpha: np.ndarray,
          b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fisher scoring for b at fixed alpha, from ``b``; returns (b, converged)."""
    conv = np.zeros(len(b), dtype=bool)
    for _ in range(MAX_ITER):
        eta = np.einsum("stk,sk->st", Xs, b) + off
        mu = np.exp(np.clip(eta, -700, 700))
        w = _weights(mu, alpha) * mask
        z = eta - off + np.where(mask, (y - mu) / np.where(mu > 0, mu, 1.0), 0.0)
        A = np.einsum("st,sti,stj->sij", w, Xs, Xs)
        rhs = np.einsum("st,sti,st->si", w, Xs, z)
        A = A + 1e-300 * np.eye(A.shape[-1])
        try:
            new = np.linalg.solve(A, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            new = np.linalg.lstsq(A[0], rhs[0], rcond=None)[0][None] if len(b) == 1 else b
        step = np.max(np.abs(new - b), axis=1)
        b = np.where(conv[:, None], b, new)
        conv |= step < TOL * (1 + np.max(np.abs(b), axis=1))
        if conv.all():
            break
    return b, conv


def nb_loglik(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """NB2 log-likelihood per series (``alpha`` (S,))."""
    r = 1.0 / alpha[:, None]
    ll = (gammaln(y + r) - gammaln(r) - gammaln(y + 1) + r * np.log(r / (r + mu))
          + y * np.log(np.where(mu > 0, mu, 1.0) / (r + mu)))
    return np.sum(np.where(mask, ll, 0.0), axis=1)


def _alpha_step(y: np.ndarray, mu: np.ndarray, mask: np.ndarray, log_alpha: np.ndarray) -> np.ndarray:
    """One safeguarded Newton step in log(alpha) for the NB2 likelihood at fixed mu."""
    r = np.exp(-log_alpha)[:, None]
    g_r = np.where(mask, psi(y + r) - psi(r) + np.log(r / (r + mu)) + (mu - y) / (r + mu), 0.0).sum(1)
    h_r = np.where(mask, polygamma(1, y + r) - polygamma(1, r) + 1 / r - 1 / (r + mu)
                   - (mu - y) / (r + mu) ** 2, 0.0).sum(1)
    r1 = r[:, 0]
    # theta = log r = -log alpha: dl/dtheta = r g, d2l/dtheta2 = r^2 h + r g
    g = r1 * g_r
    h = r1 * r1 * h_r + g
    step = np.where(h < 0, -g / h, np.sign(g) * 1.0)  # ascent direction in theta
    step = np.clip(step, -2.0, 2.0)
    base = nb_loglik(y, mu, np.exp(log_alpha), mask)
    out = log_alpha.copy()
    todo = np.ones_like(log_alpha, dtype=bool)
    for _ in range(30):
        cand = np.clip(log_alpha - step, *LOG_ALPHA_BOUNDS)
        better = nb_loglik(y, mu, np.exp(cand), mask) >= base - 1e-12
        upd = todo & better
        out[upd] = cand[upd]
        todo &= ~better
        if not todo.any():
            break
        step = step / 2
    return out


def glm(p: Packed, family: str, errors: str = "iid", offset: np.ndarray | None = None,
        maxlags: int | None = None) -> BatchFit:
    """Fit a log-link count model to every packed series (``offset`` packed like ``y``)."""
    if family not in FAMILIES[1:]:
        raise ValueError(f"glm family must be one of {FAMILIES[1:]}, not {family!r}")
    if errors not in ("iid", "hac"):
        raise ValueError(f"count families support errors 'iid' or 'hac', not {errors!r}")
    S, T, k = p.shape
    Xs, scale = equilibrate(p.X, p.mask)
    off = np.zeros_like(p.y) if offset is None else offset
    y = p.y
    # start: least squares of log(y + 0.5) - offset
    z0 = np.where(p.mask, np.log(y + 0.5) - off, 0.0)
    inv0, ok, reason = safe_inverse(np.einsum("sti,stj->sij", Xs, Xs), p.n, k)
    b = np.einsum("sij,sj->si", inv0, np.einsum("sti,st->si", Xs, z0))
    alpha = np.zeros(S)
    if family == "negbin":
        log_alpha = np.full(S, np.log(0.1))
        for _ in range(MAX_ITER):
            b, conv = _irls(Xs, y, off, p.mask, np.exp(log_alpha), b)
            mu = np.exp(np.einsum("stk,sk->st", Xs, b) + off)
            new = _alpha_step(y, mu, p.mask, log_alpha)
            done = np.abs(new - log_alpha) < 1e-10
            log_alpha = new
            if done.all():
                break
        alpha = np.exp(log_alpha)
    b, conv = _irls(Xs, y, off, p.mask, alpha, b)
    eta = np.einsum("stk,sk->st", Xs, b) + off
    mu = np.exp(eta)
    w = _weights(mu, alpha) * p.mask
    inv, ok2, reason2 = safe_inverse(np.einsum("st,sti,stj->sij", w, Xs, Xs), p.n, k)
    ok &= ok2 & conv
    reason = [r1 or r2 or ("" if c else "IRLS did not converge") for r1, r2, c in zip(reason, reason2, conv, strict=True)]
    var = mu + alpha[:, None] * mu * mu
    pearson = np.where(p.mask, (y - mu) / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    df = (p.n - k).astype(float)
    dispersion = np.einsum("st,st->s", pearson, pearson) / np.where(df > 0, df, np.nan)
    dist = "normal"
    lags = np.zeros(S, dtype=int)
    if errors == "hac":
        lags = np.full(S, maxlags) if maxlags is not None else newey_west_lags(p.n)
        score = Xs * np.where(p.mask, (y - mu) / (1.0 + alpha[:, None] * mu), 0.0)[..., None]
        # bread: observed information, mu (1 + alpha y) / (1 + alpha mu)^2 (= mu for Poisson)
        w_obs = mu * (1.0 + alpha[:, None] * y) / (1.0 + alpha[:, None] * mu) ** 2 * p.mask
        bread, _, _ = safe_inverse(np.einsum("st,sti,stj->sij", w_obs, Xs, Xs), p.n, k)
        cov = bread @ hac_meat(score, lags) @ bread
    elif family == "quasipoisson":
        cov = dispersion[:, None, None] * inv
        dist = "t"
    else:
        cov = inv
    beta, cov = unscale(b, cov, scale)
    extra = {"dispersion": dispersion, "alpha": alpha, "hac_maxlags": lags.astype(float)}
    if family in ("poisson", "quasipoisson"):
        extra["loglik"] = np.sum(np.where(p.mask, y * eta - mu - gammaln(y + 1), 0.0), axis=1)
    else:
        extra["loglik"] = nb_loglik(y, mu, alpha, p.mask)
    resid = np.where(p.mask, y - mu, 0.0)
    return BatchFit(beta, cov, df, dist, eta, resid, pearson, ok, reason, extra)
