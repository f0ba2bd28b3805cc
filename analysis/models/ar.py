"""Regression with AR(1) errors by exact maximum likelihood, batched over series.

Model: ``y_i = x_i' b + u_i`` with ``u`` a stationary AR(1) process, ``corr(u_i, u_j) =
rho^|t_i - t_j|``.  Observations may have gaps: a discrete AR(1) seen at a subset of periods is
still Markov, so the exact likelihood whitens consecutive observations ``d = t_i - t_{i-1}``
periods apart by ``z_i = (w_i - rho^d w_{i-1}) / sqrt(1 - rho^(2d))`` (the first kept as is),
which leaves independent terms with the marginal variance ``s^2``.  This is the likelihood that
statsmodels' SARIMAX(1,0,0) with regressors maximises (its Kalman filter skips NaNs), and for a
fixed rho the estimates are exactly GLS with the AR(1) correlation matrix.

Estimation: ``b`` and ``s^2`` are concentrated out, the profile log-likelihood

    l(rho) = -n/2 log(SSR(rho)/n) - 1/2 sum_i log(1 - rho^(2 d_i))

is maximised per series by a grid search then golden-section refinement, all series at once.
``SSR(rho)`` comes from lag moments of ``w = [x, y]`` grouped by gap length, so each evaluation
costs O(k^3) per series, not O(T k^2).  Inference: the GLS covariance ``s^2 (Z'Z)^-1`` with
``s^2 = SSR/(n-k)`` and a t reference with ``n-k-1`` df (rho is estimated too).  Simulated
coverage of the 95% interval for a level change (rho = 0.6, 200 days): see ``simulate.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.models.batched import BatchFit, Packed, equilibrate, safe_inverse, unscale

RHO_BOUNDS = (-0.98, 0.995)
GRID = 60
GOLDEN_STEPS = 40
CHUNK_CELLS = 4_000_000  # packed cells (S * T * m * D) per chunk when building moments


@dataclass(frozen=True)
class LagMoments:
    """Sufficient statistics of the AR(1) likelihood of a batch, for ``w = [x, y]``.

    ``P[s, d] = sum w_i w_i'``, ``Q[s, d] = sum w_i w_{i-1}'``, ``R[s, d] = sum w_{i-1} w_{i-1}'``
    over consecutive observation pairs of series ``s`` that are ``gaps[d]`` periods apart.
    """

    first: np.ndarray  # (S, m) first observation
    P: np.ndarray  # (S, D, m, m)
    Q: np.ndarray
    R: np.ndarray
    counts: np.ndarray  # (S, D) pairs per gap length
    gaps: np.ndarray  # (D,)
    n: np.ndarray  # (S,)

    def cross(self, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whitened cross-product ``Z'Z`` (S, m, m) and log-det term ``sum log(1 - a^2)`` at ``rho``."""
        a = np.power(rho[:, None], self.gaps[None, :])  # (S, D)
        den = 1.0 - a * a
        c0 = 1.0 / den
        c1 = -a / den
        c2 = a * a / den
        ZZ = (
            self.first[:, :, None] * self.first[:, None, :]
            + np.einsum("sd,sdij->sij", c0, self.P)
            + np.einsum("sd,sdij->sij", c1, self.Q + self.Q.transpose(0, 1, 3, 2))
            + np.einsum("sd,sdij->sij", c2, self.R)
        )
        logdet = np.einsum("sd,sd->s", self.counts, np.log(den))
        return ZZ, logdet


def lag_moments(W: np.ndarray, mask: np.ndarray, t: np.ndarray) -> LagMoments:
    """Lag moments of packed ``W`` (S, T, m) with observation ``mask`` and times ``t``."""
    S, T, m = W.shape
    valid = mask[:, 1:] & mask[:, :-1]
    dt = np.where(valid, t[:, 1:] - t[:, :-1], 0.0)
    gaps = np.unique(dt[valid]) if valid.any() else np.array([1.0])
    D = len(gaps)
    P = np.zeros((S, D, m, m))
    Q = np.zeros_like(P)
    R = np.zeros_like(P)
    counts = np.zeros((S, D))
    step = max(1, CHUNK_CELLS // max(1, T * m * D))
    for lo in range(0, S, step):
        sl = slice(lo, lo + step)
        cur, prev = W[sl, 1:], W[sl, :-1]
        onehot = (dt[sl, :, None] == gaps[None, None, :]) & valid[sl, :, None]  # (s, T-1, D)
        oh = onehot.astype(float)
        counts[sl] = oh.sum(axis=1)
        cur_d = (oh[..., :, None] * cur[..., None, :]).reshape(cur.shape[0], T - 1, D * m)
        prev_d = (oh[..., :, None] * prev[..., None, :]).reshape(cur.shape[0], T - 1, D * m)
        P[sl] = (cur_d.transpose(0, 2, 1) @ cur).reshape(-1, D, m, m)
        Q[sl] = (cur_d.transpose(0, 2, 1) @ prev).reshape(-1, D, m, m)
        R[sl] = (prev_d.transpose(0, 2, 1) @ prev).reshape(-1, D, m, m)
    first = W[:, 0, :]
    return LagMoments(first, P, Q, R, counts, gaps, mask.sum(axis=1))


def _solve(ZZ: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """GLS coefficients and SSR from a whitened cross-product of ``[x, y]``."""
    XX, Xy, yy = ZZ[:, :k, :k], ZZ[:, :k, k], ZZ[:, k, k]
    b = np.linalg.solve(XX, Xy[..., None])[..., 0]
    return b, yy - np.einsum("si,si->s", Xy, b)


def profile_loglik(mom: LagMoments, rho: np.ndarray, k: int, method: str = "ml") -> np.ndarray:
    """Concentrated (``ml``) or restricted (``reml``) log-likelihood, up to a constant, of every
    series at its ``rho``.  REML adds ``-1/2 log|X' R^-1 X|`` and uses n-k: it removes most of
    ML's downward bias in rho and so widens intervals towards nominal coverage."""
    ZZ, logdet = mom.cross(rho)
    _, ssr = _solve(ZZ, k)
    n = mom.n.astype(float)
    if method == "ml":
        return -0.5 * n * np.log(np.maximum(ssr, 1e-300) / n) - 0.5 * logdet
    m = n - k
    return (-0.5 * m * np.log(np.maximum(ssr, 1e-300) / m) - 0.5 * logdet
            - 0.5 * np.linalg.slogdet(ZZ[:, :k, :k])[1])


def maximise_rho(mom: LagMoments, k: int, method: str = "ml",
                 bounds: tuple[float, float] = RHO_BOUNDS) -> np.ndarray:
    """Per-series argmax of the profile likelihood: grid, then golden section around the best."""
    S = mom.n.shape[0]
    grid = np.linspace(*bounds, GRID)
    ll = np.stack([profile_loglik(mom, np.full(S, g), k, method) for g in grid])  # (G, S)
    j = np.argmax(ll, axis=0)
    a = grid[np.clip(j - 1, 0, GRID - 1)]
    b = grid[np.clip(j + 1, 0, GRID - 1)]
    phi = (np.sqrt(5) - 1) / 2
    c, d = b - phi * (b - a), a + phi * (b - a)
    fc, fd = profile_loglik(mom, c, k, method), profile_loglik(mom, d, k, method)
    for _ in range(GOLDEN_STEPS):
        left = fc >= fd  # maximum in [a, d]
        a = np.where(left, a, c)
        b = np.where(left, d, b)
        new = np.where(left, b - phi * (b - a), a + phi * (b - a))
        fn = profile_loglik(mom, new, k, method)
        c, d, fc, fd = (np.where(left, new, d), np.where(left, c, new),
                        np.where(left, fn, fd), np.where(left, fc, fn))
    return np.where(fc >= fd, c, d)


def whiten(W: np.ndarray, mask: np.ndarray, t: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Exact AR(1) whitening of packed ``W`` (S, T, m) at each series' ``rho`` (zero padding kept)."""
    valid = mask[:, 1:] & mask[:, :-1]
    a = np.where(valid, np.power(rho[:, None], np.where(valid, t[:, 1:] - t[:, :-1], 1.0)), 0.0)
    Z = W.copy()
    Z[:, 1:] = (W[:, 1:] - a[..., None] * W[:, :-1]) / np.sqrt(1 - a * a)[..., None]
    return Z * mask[..., None]


def ar1(p: Packed, residuals: bool = True, rho: np.ndarray | None = None, method: str = "ml") -> BatchFit:
    """Regression with AR(1) errors for every packed series: rho by exact ML (``method="ml"``,
    equal to SARIMAX(1,0,0) with regressors) or REML (``"reml"``); ``rho`` given: plain GLS.

    With ``residuals=False`` only estimates and covariances are computed (from the moments),
    which is what the robustness battery needs.
    """
    S, T, k = p.shape
    Xs, scale = equilibrate(p.X, p.mask)
    W = np.concatenate([Xs, p.y[..., None]], axis=2)
    mom = lag_moments(W, p.mask, p.t)
    _, ok0, _ = safe_inverse(np.einsum("sti,stj->sij", Xs, Xs), p.n, k)
    if rho is None:
        rho = np.zeros(S)
        if ok0.any():
            sub = LagMoments(*(getattr(mom, f)[ok0] if f != "gaps" else mom.gaps
                               for f in ("first", "P", "Q", "R", "counts", "gaps", "n")))
            rho[ok0] = maximise_rho(sub, k, method)
    rho = np.asarray(rho, dtype=float)
    ZZ, logdet = mom.cross(rho)
    inv, ok, reason = safe_inverse(ZZ[:, :k, :k], p.n, k)
    b = np.einsum("sij,sj->si", inv, ZZ[:, :k, k])
    ssr = ZZ[:, k, k] - np.einsum("si,si->s", ZZ[:, :k, k], b)
    df = (p.n - k).astype(float)
    s2 = ssr / np.where(df > 0, df, np.nan)
    cov = s2[:, None, None] * inv
    n = p.n.astype(float)
    loglik = -0.5 * n * (np.log(2 * np.pi * np.maximum(ssr, 1e-300) / n) + 1) - 0.5 * logdet
    beta, cov = unscale(b, cov, scale)
    if residuals:
        fitted = np.einsum("stk,sk->st", Xs, b)
        resid = np.where(p.mask, p.y - fitted, 0.0)
        Z = whiten(W, p.mask, p.t, rho)
        innov = (Z[..., k] - np.einsum("stk,sk->st", Z[..., :k], b)) * p.mask
    else:
        fitted = resid = innov = np.zeros((0, 0))
    return BatchFit(beta, cov, df - 1.0, "t", fitted, resid, innov, ok, reason,
                    {"rho": rho, "sigma2_marginal": ssr / n, "loglik": loglik})
