"""Multiple-group interrupted time series: the stacked two-group panel (Linden 2015).

A treated series ``y1`` and a control series ``y0`` (in :mod:`analysis.cli.fit.multigroup`, the
mean of the control series per period) on one period grid are stacked, with ``Z = 1`` on the
treated rows, and fitted by OLS (Linden 2015, *Stata Journal* 15:480, ``itsa``; Linden & Adams
2011, *J Eval Clin Pract* 17:1231):

    y = b0 + b1 t + b2 D + b3 (t - t0) D + b4 Z + b5 Z t + b6 Z D + b7 Z (t - t0) D + e,

``D = 1[t >= t0]``, ``t`` in periods (one slope unit for every term), and a ``level``/``slope``
pair per later intervention, each with its ``Z`` interaction.  The table (``terms``):

======================  ==================================  ===============================
``intercept`` ..        ``b0``, ``b1``, ``b2``, ``b3``,      the control series (as the
``post_trend``          ``b1 + b3``                          single-group table)
``group``               ``b4``                               treated - control level at t=0
``group_trend``         ``b5``                               difference of pre-period slopes
``group_level``         ``b6``                               difference of level changes
``group_slope_change``  ``b7``                               difference of slope changes
``group_post_trend``    ``b5 + b7``                          difference of post-period slopes
======================  ==================================  ===============================

Covariance: Newey-West *within group* (the lagged score products never pair a treated row with a
control row), Bartlett weights, lag ``L``, times ``n/(n-k)`` with ``correction`` (Stata's
``newey`` on a panel; statsmodels ``cov_type="hac-panel"`` with ``use_correction="hac"``), or
the classical OLS covariance (``errors="iid"``); t reference with ``n - k`` df.  Lags pair
consecutive *observed* rows of a group, as statsmodels does on the stacked data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from analysis.models.engine.batched import hac_meat, newey_west_lags
from analysis.models.engine.design import Impact, impact_columns

BASE_NAMES = {"level": "level", "slope": "slope"}


@dataclass(frozen=True)
class TwoGroupFit:
    """Estimates of the stacked two-group model (names as in the module docstring)."""

    names: tuple[str, ...]  # design columns
    beta: np.ndarray  # (k,)
    cov: np.ndarray  # (k, k)
    df_resid: int
    lags: int  # HAC lag (0 with iid errors)
    n_treated: int
    n_control: int
    alpha: float

    def table(self) -> list[dict]:
        """The whole coefficient table: ``name, estimate, se, ci_low, ci_high, p`` per term."""
        names, L = table_rows(self.names)
        est = L @ self.beta
        se = np.sqrt(np.clip(np.einsum("tk,kl,tl->t", L, self.cov, L), 0, None))
        q = special.stdtrit(self.df_resid, 1 - self.alpha / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(se > 0, 2 * special.stdtr(self.df_resid, -np.abs(est / se)), np.nan)
        return [{"name": n, "estimate": float(e), "se": float(s), "ci_low": float(e - q * s),
                 "ci_high": float(e + q * s), "p": float(pv)} for n, e, s, pv in zip(names, est, se, p, strict=True)]


def design(t: np.ndarray, cutoffs: list[float], labels: list[str], impact: Impact) -> tuple[np.ndarray, list[str]]:
    """The single-group columns ``(T, k0)``: intercept, trend and each intervention's terms."""
    cols, names = [np.ones_like(t), t], ["intercept", "trend"]
    for i, (c, lab) in enumerate(zip(cutoffs, labels, strict=True)):
        for term, col in zip(impact.terms, impact_columns(t, c, impact), strict=True):
            cols.append(col)
            names.append(term if i == 0 else f"{term}@{lab}")
    return np.column_stack(cols), names


def table_rows(names: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    """Names and weights of the table's terms on the stacked design's columns."""
    k = len(names)
    out, rows = [], []

    def add(name: str, cols: list[str]) -> None:
        r = np.zeros(k)
        r[[names.index(c) for c in cols]] = 1.0
        out.append(name)
        rows.append(r)

    for prefix, tag in (("", ""), ("group_", "Z:")):
        add("group" if tag else "intercept", [f"{tag}intercept"])
        add(f"{prefix}trend" if tag else "pre_trend", [f"{tag}trend"])
        slopes: list[str] = []
        for n in names:
            if n.startswith("Z:") != bool(tag) or n.split("@")[0].removeprefix("Z:") not in BASE_NAMES:
                continue
            base = n.removeprefix("Z:")
            suffix = base[base.index("@"):] if "@" in base else ""
            if base.startswith("level"):
                add(f"{prefix}{base}", [n])
            else:
                slopes.append(n)
                add(f"{prefix}slope_change{suffix}", [n])
                add(f"{prefix}post_trend{suffix}", [f"{tag}trend", *slopes])
    return out, np.array(rows)


def fit_two_group(y1: np.ndarray, y0: np.ndarray, t: np.ndarray, cutoffs: list[float], labels: list[str],
                  impact: Impact, errors: str = "hac", maxlags: int | None = None, correction: bool = True,
                  alpha: float = 0.05) -> TwoGroupFit:
    """OLS of the stacked panel of ``y1`` (treated) and ``y0`` (control) on the grid ``t``
    (NaN = missing), with Newey-West within group (``maxlags`` default: the Newey-West rule on
    the treated series' n) or iid errors.  Raises ``ValueError`` on a rank-deficient design."""
    if errors not in ("hac", "iid"):
        raise ValueError(f"the two-group model supports errors 'hac' or 'iid', not {errors!r}")
    X0, base = design(np.asarray(t, dtype=float), cutoffs, labels, impact)
    names = tuple(base + [f"Z:{n}" for n in base])
    ok1, ok0 = ~np.isnan(y1), ~np.isnan(y0)
    X = np.vstack([np.hstack([X0[ok1], X0[ok1]]), np.hstack([X0[ok0], np.zeros_like(X0[ok0])])])
    y = np.concatenate([y1[ok1], y0[ok0]])
    n, k = X.shape
    if n - k < 1 or np.linalg.matrix_rank(X) < k:
        raise ValueError(f"the stacked design is rank deficient or has no residual df ({n} rows, {k} terms)")
    bread = np.linalg.inv(X.T @ X)
    beta = bread @ X.T @ y
    u = y - X @ beta
    if errors == "iid":
        return TwoGroupFit(names, beta, bread * (u @ u) / (n - k), n - k, 0, int(ok1.sum()), int(ok0.sum()), alpha)
    lags = int(newey_west_lags(int(ok1.sum()))) if maxlags is None else int(maxlags)
    scores = X * u[:, None]
    n1 = int(ok1.sum())
    T = max(n1, n - n1)
    packed = np.zeros((2, T, k))
    packed[0, :n1], packed[1, :n - n1] = scores[:n1], scores[n1:]
    meat = hac_meat(packed, np.array([lags, lags])).sum(axis=0)
    cov = bread @ meat @ bread * (n / (n - k) if correction else 1.0)
    return TwoGroupFit(names, beta, cov, n - k, lags, n1, n - n1, alpha)


def paths(r: TwoGroupFit, t: np.ndarray, cutoffs: list[float], labels: list[str], impact: Impact
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fitted treated, fitted control, and the treated counterfactual (without the difference
    terms ``group_level``/``group_slope_change``: the treated series following the controls'
    change at each intervention) on the grid ``t``."""
    X0, base = design(np.asarray(t, dtype=float), cutoffs, labels, impact)
    k0 = len(base)
    control = X0 @ r.beta[:k0]
    treated = control + X0 @ r.beta[k0:]
    eff = [j for j, n in enumerate(base) if n.split("@")[0] in BASE_NAMES]
    return treated, control, treated - X0[:, eff] @ r.beta[k0:][eff]
