"""The paths the answer's own model draws: pre-period one-step-ahead fit, post-period counterfactuals.

Per series of the per-event fit (:mod:`analysis.models.events.fit`), on the design grid:

- ``observed``: the modelling-scale value (log rank); days below the chart are ``censored`` and
  drawn at the threshold ``log(depth + 0.5)`` (their latent value lies above it);
- ``onestep`` (pre-period): the model's one-step-ahead prediction, the best linear predictor
  under AR(1) errors given the last observed day (Box, Jenkins & Reinsel 2008, ch. 5):
  ``x_t' b + rho^h (y_{t-h} - x_{t-h}' b)``, ``h`` days since that day (``rho = 0`` for iid/HAC);
- post-period (from the first event): ``fitted`` = ``x_t' b`` with every term, and two
  counterfactual mean paths with pointwise intervals from ``c_t' Sigma c_t``: ``no_events`` (every
  event term off) and ``privacy_only`` (the deplatforming group's terms off; the privacy-shock and
  other terms stay).  ``fitted - privacy_only`` is the deplatforming contribution whose window mean
  is the ``deplatforming`` row of :func:`analysis.models.events.attribution.contrasts`.

Series on the entry path (pre-period below the chart) have no pre-period model: their paths start
at entry from the post-entry sub-fit; ``no_events`` is left empty there (the level before entry is
not located), and ``privacy_only`` too when a deplatforming term is absorbed in the entry bound.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from analysis.models.events.attribution import fit_of, term_groups
from analysis.models.events.fit import KEYS, EventFit

PATH_SCHEMA = {
    "app_name": pl.String, "country": pl.String, "store": pl.String, "date": pl.Date, "post": pl.Boolean,
    "observed": pl.Float64, "censored": pl.Boolean, "onestep": pl.Float64, "fitted": pl.Float64,
    "no_events": pl.Float64, "no_events_low": pl.Float64, "no_events_high": pl.Float64,
    "privacy_only": pl.Float64, "privacy_only_low": pl.Float64, "privacy_only_high": pl.Float64,
}


def _band(X: np.ndarray, beta: np.ndarray, cov: np.ndarray, q: float) -> tuple[np.ndarray, ...]:
    m = X @ beta
    se = np.sqrt(np.clip(np.einsum("tk,kl,tl->t", X, cov, X), 0, None))
    return m, m - q * se, m + q * se


def one_step(y: np.ndarray, mean: np.ndarray, rho: float) -> np.ndarray:
    """One-step-ahead predictions: ``mean_t + rho^h (y_{t-h} - mean_{t-h})`` from the last day
    ``t-h`` with an observed value (NaN = not observed); ``mean_t`` before the first one."""
    out = mean.copy()
    last, resid = -1, 0.0
    for t in range(y.size):
        if last >= 0:
            out[t] = mean[t] + rho ** (t - last) * resid
        if np.isfinite(y[t]):
            last, resid = t, y[t] - mean[t]
    return out


def _series_paths(fit: EventFit, s: int, logy: np.ndarray, threshold: float, dep_terms: list[str],
                  entry: bool) -> dict[str, np.ndarray]:
    T = logy.shape[1]
    cut0 = int(fit.design.cutoffs()[0])
    nan = np.full(T, np.nan)
    out = {k: nan.copy() for k in ("onestep", "fitted", "no_events", "no_events_low", "no_events_high",
                                   "privacy_only", "privacy_only_low", "privacy_only_high")}
    found = fit_of(fit, s)
    if found is None:
        return out
    j, g = found
    t0 = int(g.t[0])
    X, names = g.design.X, g.design.names
    beta, cov, q = g.fit.beta[j], g.fit.cov[j], float(g.crit()[j])
    rho = float(g.fit.extra.get("rho", np.zeros(g.S))[j]) if "rho" in g.fit.extra else 0.0
    effect = [i for i, n in enumerate(names) if "@" in n]
    dep = [i for i, n in enumerate(names) if any(n.endswith(f"@{t}") for t in dep_terms)]
    span = slice(t0, t0 + X.shape[0])
    mean = X @ beta
    if not entry:
        y = np.where(fit.flag[s, span] != 0, np.nan, logy[s, span])
        pre = np.arange(t0, t0 + X.shape[0]) < cut0
        out["onestep"][span] = np.where(pre, one_step(y, mean, rho), np.nan)
    post = np.arange(t0, t0 + X.shape[0]) >= cut0
    out["fitted"][span] = np.where(post, mean, np.nan)
    absorbed_dep = entry and _absorbs(fit, logy, s, dep_terms)
    for name, cols, skip in (("no_events", effect, entry), ("privacy_only", dep, absorbed_dep)):
        if skip:
            continue
        Xc = X.copy()
        Xc[:, cols] = 0.0
        m, lo, hi = _band(Xc, beta, cov, q)
        for key, v in ((name, m), (f"{name}_low", lo), (f"{name}_high", hi)):
            out[key][span] = np.where(post, v, np.nan)
    return out


def _absorbs(fit: EventFit, logy: np.ndarray, s: int, dep_terms: list[str]) -> bool:
    """Whether a deplatforming term of an entry-path series is absorbed in its entry bound."""
    from analysis.models.events.bounds import entry_plan

    plan = entry_plan(logy, s, fit.design.cutoffs())
    return any(t.id in dep_terms for t in fit.design.terms[: plan.term + 1])


def model_paths(fit: EventFit, groups: pl.DataFrame, chart_depth: int = 200) -> pl.DataFrame:
    """One row per series and grid day with a value (observed or censored): the paths of the
    module docstring (log scale)."""
    tg = term_groups(fit, groups)
    dep_terms = [t for t, g in tg.items() if g == ("deplatforming",)]
    threshold = float(np.log(chart_depth + 0.5))
    with np.errstate(divide="ignore", invalid="ignore"):
        logy = np.log(fit.values)
    T = logy.shape[1]
    days = [fit.design.start + timedelta(days=i) for i in range(T)]
    cut0 = int(fit.design.cutoffs()[0])
    parts = []
    for s in range(fit.keys.height):
        cens = fit.flag[s] != 0
        has = np.isfinite(logy[s]) | cens
        if not has.any():
            continue
        p = _series_paths(fit, s, logy, threshold, dep_terms, s in set(fit.entry))
        key = dict(zip(KEYS, fit.keys.row(s)[1:], strict=True))
        idx = np.nonzero(has)[0]
        parts.append(pl.DataFrame({
            **{k: [v] * idx.size for k, v in key.items()}, "date": [days[i] for i in idx], "post": idx >= cut0,
            "observed": np.where(cens, threshold, logy[s])[idx], "censored": cens[idx],
            **{k: v[idx] for k, v in p.items()}}, schema=PATH_SCHEMA))
    if not parts:
        return pl.DataFrame(schema=PATH_SCHEMA)
    return pl.concat(parts).with_columns(pl.col(pl.Float64).fill_nan(None))
