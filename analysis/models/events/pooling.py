"""Random-effects pooling of one term's estimates across groups (countries, stores).

Model (DerSimonian & Laird 1986): ``y_i = mu + b_i + e_i`` with ``b_i ~ N(0, tau^2)`` the
between-group heterogeneity and ``e_i ~ N(0, v_i)``, ``v_i = se_i^2`` treated as known.

- ``dl``: DerSimonian-Laird moment estimator ``tau^2 = max(0, (Q - (k-1)) / (S1 - S2/S1))`` with
  fixed-effect weights ``w_i = 1/v_i``, ``S1 = sum w``, ``S2 = sum w^2`` and Cochran's ``Q``.
- ``reml``: restricted ML (Viechtbauer 2005, Stat Med 24:2443 / Raudenbush 2009): the fixed point
  ``tau^2 = sum w_i^2 ((y_i - mu)^2 - v_i) / sum w_i^2 + 1 / sum w_i`` with ``w_i = 1/(v_i + tau^2)``,
  iterated from the DL value and truncated at 0.

Pooled ``mu = sum w_i y_i / sum w_i`` with ``w_i = 1/(v_i + tau^2)``, ``se = (sum w_i)^(-1/2)``, a
normal interval; ``I^2 = max(0, (Q - (k-1)) / Q)`` (Higgins & Thompson 2002).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl
from scipy import special

METHODS = ("reml", "dl")
POOLED_SCHEMA = {"term": pl.String, "estimate": pl.Float64, "se": pl.Float64, "ci_low": pl.Float64,
                 "ci_high": pl.Float64, "tau2": pl.Float64, "i2": pl.Float64, "n_groups": pl.Int64}


@dataclass(frozen=True)
class Pooled:
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    tau2: float
    i2: float
    q: float
    n_groups: int


def _dl_tau2(y: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    w = 1 / v
    mu_fe = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - mu_fe) ** 2))
    s1, s2 = np.sum(w), np.sum(w * w)
    return max(0.0, (q - (len(y) - 1)) / (s1 - s2 / s1)), q


def _reml_tau2(y: np.ndarray, v: np.ndarray, start: float, tol: float = 1e-12, max_iter: int = 1000) -> float:
    tau2 = start
    for _ in range(max_iter):
        w = 1 / (v + tau2)
        mu = np.sum(w * y) / np.sum(w)
        new = max(0.0, float(np.sum(w * w * ((y - mu) ** 2 - v)) / np.sum(w * w) + 1 / np.sum(w)))
        if abs(new - tau2) < tol * max(1.0, tau2):
            return new
        tau2 = new
    return tau2


def pool(estimates: Sequence[float], ses: Sequence[float], method: str = "reml", alpha: float = 0.05) -> Pooled:
    """Random-effects pooled estimate of ``estimates`` with standard errors ``ses``."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    y = np.asarray(estimates, dtype=float)
    v = np.asarray(ses, dtype=float) ** 2
    if y.size == 0 or y.size != v.size:
        raise ValueError("give one standard error per estimate, at least one estimate")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ValueError("estimates must be finite and standard errors finite and positive")
    k = y.size
    tau2, q = _dl_tau2(y, v) if k > 1 else (0.0, 0.0)
    if method == "reml" and k > 1:
        tau2 = _reml_tau2(y, v, tau2)
    w = 1 / (v + tau2)
    mu = float(np.sum(w * y) / np.sum(w))
    se = float(np.sqrt(1 / np.sum(w)))
    z = special.ndtri(1 - alpha / 2)
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    return Pooled(mu, se, float(mu - z * se), float(mu + z * se), float(tau2), float(i2), float(q), k)


def pool_frame(effects: pl.DataFrame, by: Sequence[str] = ("event_id", "estimand"), method: str = "reml",
               alpha: float = 0.05) -> pl.DataFrame:
    """Pool the ``kind == "estimate"`` rows of an Effects frame within each ``by`` group (every
    other row of the group is a series: country, store...); bounds and non-identified rows are
    left out and counted in ``n_excluded``."""
    est = effects.filter(pl.col("kind") == "estimate") if "kind" in effects.columns else effects
    rows = []
    for key, g in effects.group_by(list(by), maintain_order=True):
        e = est.join(g.select(list(by)).unique(), on=list(by), how="semi")
        e = e.filter(pl.col("se").is_not_null() & (pl.col("se") > 0))
        base = dict(zip(by, key, strict=True))
        if e.height == 0:
            continue
        p = pool(e["estimate"].to_list(), e["se"].to_list(), method, alpha)
        rows.append(base | asdict(p) | {"n_excluded": g.height - e.height, "method": method})
    return pl.DataFrame(rows)
