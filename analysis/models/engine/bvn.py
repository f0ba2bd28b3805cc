"""Bivariate normal lower-orthant probabilities, vectorised, and the derivatives of their log.

``bvn_cdf(h, k, r) = P(X < h, Y < k)`` for standard normals with correlation ``r``, by Genz's
(2004) algorithm ("Numerical computation of rectangular bivariate and trivariate normal and t
probabilities", Statistics and Computing 14, 251-260; Drezner & Wesolowsky 1990 for |r| < 0.925,
Genz's expansion around |r| = 1 otherwise), with 20-point Gauss-Legendre quadrature everywhere:
absolute error about 1e-15.  It is the algorithm behind scipy's ``multivariate_normal.cdf`` in two
dimensions (checked against it in ``tests/models/test_models_censored_ar1.py``).

The derivatives (Plackett 1954) are ``dF/dh = phi(h) Phi((k - r h) / sqrt(1 - r^2))`` and
``dF/dr = phi2(h, k; r)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

_X, _W = np.polynomial.legendre.leggauss(20)  # nodes on (-1, 1)
TWO_PI = 2 * np.pi


def _small_r(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Drezner-Wesolowsky: Phi(h) Phi(k) + 1/(2 pi) int_0^asin(r) exp(-(h^2 + k^2 - 2 h k sin t) / (2 cos^2 t)) dt."""
    hk, hs = h * k, (h * h + k * k) / 2
    asr = np.arcsin(r) / 2
    sn = np.sin(asr[:, None] * (_X[None, :] + 1.0))  # t = asr (x + 1) runs over (0, asin r)
    f = np.exp((sn * hk[:, None] - hs[:, None]) / (1 - sn * sn))
    return f @ _W * asr / TWO_PI + ndtr(h) * ndtr(k)


def _large_r(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Genz's expansion for |r| >= 0.925 (upper orthant of (-h, -k), as in his ``bvnu``)."""
    h, k = -h, -k
    k = np.where(r < 0, -k, k)
    hk = h * k
    rr = np.minimum(np.abs(r), 1.0)
    as_ = np.maximum((1 - rr) * (1 + rr), 1e-300)
    a = np.sqrt(as_)
    bs = (h - k) ** 2
    c, d = (4 - hk) / 8, (12 - hk) / 80
    asr = -(bs / as_ + hk) / 2
    bvn = np.where(asr > -100, a * np.exp(np.maximum(asr, -100)) * (1 - c * (bs - as_) * (1 - d * bs) / 3
                                                                      + c * d * as_ * as_), 0.0)
    b = np.sqrt(bs)
    sp = np.sqrt(TWO_PI) * ndtr(-b / a)
    bvn = np.where(hk > -100, bvn - np.exp(-np.maximum(hk, -200) / 2) * sp * b * (1 - c * bs * (1 - d * bs) / 3), bvn)
    a2 = a / 2
    xs = (a2[:, None] * (_X[None, :] + 1.0)) ** 2
    asr2 = -(bs[:, None] / xs + hk[:, None]) / 2
    ok = asr2 > -100
    sp2 = 1 + c[:, None] * xs * (1 + 5 * d[:, None] * xs)
    rs = np.sqrt(1 - xs)
    ep = np.exp(-(hk[:, None] / 2) * xs / (1 + rs) ** 2) / rs
    integral = np.where(ok, np.exp(np.where(ok, asr2, 0.0)) * (sp2 - ep), 0.0) @ _W
    bvn = (a2 * integral - bvn) / TWO_PI
    pos = bvn + ndtr(-np.maximum(h, k))
    low = np.where(h < 0, ndtr(k) - ndtr(h), ndtr(-h) - ndtr(-k))
    neg = np.where(h >= k, -bvn, low - bvn)
    return np.where(r > 0, pos, neg)


def bvn_cdf(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``P(X < h, Y < k)`` for standard bivariate normals with correlation ``r`` (|r| < 1)."""
    h, k, r = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (h, k, r)))
    shape = h.shape
    h, k, r = h.ravel(), k.ravel(), r.ravel()
    out = np.empty_like(h)
    small = np.abs(r) < 0.925
    if small.any():
        out[small] = _small_r(h[small], k[small], r[small])
    if (~small).any():
        big = ~small
        out[big] = _large_r(h[big], k[big], r[big])
    return np.clip(out, 0.0, 1.0).reshape(shape)


def bvn_pdf(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Standard bivariate normal density with correlation ``r``."""
    den = 1 - r * r
    return np.exp(-(h * h - 2 * r * h * k + k * k) / (2 * den)) / (TWO_PI * np.sqrt(den))


def log_bvn_parts(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, ...]:
    """``log F``, ``d log F / dh``, ``d log F / dk``, ``d log F / dr`` for ``F = bvn_cdf(h, k, r)``."""
    F = np.maximum(bvn_cdf(h, k, r), 1e-300)
    q = np.sqrt(1 - r * r)
    phi_h = np.exp(-0.5 * h * h) / np.sqrt(TWO_PI)
    phi_k = np.exp(-0.5 * k * k) / np.sqrt(TWO_PI)
    dh = phi_h * ndtr((k - r * h) / q) / F
    dk = phi_k * ndtr((h - r * k) / q) / F
    dr = bvn_pdf(h, k, r) / F
    return np.log(F), dh, dk, dr


def log_bvn_hessian(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Second derivatives (P, 3, 3) of ``log F`` in (h, k, r), ``F = bvn_cdf(h, k, r)``, from the
    closed forms of F's first and second derivatives (Plackett 1954)."""
    F = np.maximum(bvn_cdf(h, k, r), 1e-300)
    den = 1 - r * r
    q = np.sqrt(den)
    ah, ak = (k - r * h) / q, (h - r * k) / q
    phi = lambda x: np.exp(-0.5 * x * x) / np.sqrt(TWO_PI)  # noqa: E731
    f2 = bvn_pdf(h, k, r)
    g = np.stack([phi(h) * ndtr(ah), phi(k) * ndtr(ak), f2], axis=1)  # dF/d(h, k, r)
    Q = h * h - 2 * r * h * k + k * k
    S = np.empty((h.size, 3, 3))
    S[:, 0, 0] = -h * g[:, 0] - phi(h) * phi(ah) * r / q
    S[:, 1, 1] = -k * g[:, 1] - phi(k) * phi(ak) * r / q
    S[:, 0, 1] = S[:, 1, 0] = f2
    S[:, 0, 2] = S[:, 2, 0] = -f2 * (h - r * k) / den
    S[:, 1, 2] = S[:, 2, 1] = -f2 * (k - r * h) / den
    S[:, 2, 2] = f2 * (r / den + h * k / den - r * Q / den**2)
    return S / F[:, None, None] - g[:, :, None] * g[:, None, :] / (F * F)[:, None, None]
