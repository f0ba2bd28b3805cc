"""The whole coefficient table of a segmented (interrupted time-series) regression.

The design of :mod:`analysis.models.engine.design` is ``y_t = b0 + b1 t + b2 D_t + b3 (t - t0) D_t (+
seasonal terms)``, with ``t`` in periods and ``D_t = 1[t >= t0]``.  The table a reader of an ITS
analysis expects (Linden 2015, *Stata Journal* 15:480, ``itsa``: the pre-period trend, the level
change, the trend change and the post-period trend with its own standard error) is:

================  ===============================================  ===========================
``intercept``     ``b0``: level at ``t = 0`` (the first period)
``pre_trend``     ``b1``: slope before the first intervention      per period
``level``         ``b2``: level change at the intervention
``slope_change``  ``b3``: change of slope at the intervention      per period
``post_trend``    ``b1 + b3``: slope after the intervention        per period, se of the sum
================  ===============================================  ===========================

With several interventions the later ones' terms are suffixed ``@LABEL`` and ``post_trend@LABEL``
is the pre-trend plus every slope change up to that intervention.  ``step``, ``pulse`` and
``decay`` shapes have no slope change: their table stops at ``level``.  Seasonal terms follow
under their design names, then the error model's own parameters (``rho`` of AR(1) errors,
``ar1``.. of AR(P)), which have no standard error here (``se`` null).  Standard errors of sums
use the fit's covariance, ``sqrt(L' V L)``; intervals and p-values use the fit's reference
distribution (t with the residual df, or normal).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from analysis.models.engine import estimate as engine

TERM_KEYS = ("name", "estimate", "se", "ci_low", "ci_high", "p")


def _suffix(name: str) -> str:
    return name[name.index("@"):] if "@" in name else ""


def contrast_rows(names: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    """Names of the table's terms and their weights ``L`` (rows) on the design's columns."""
    k = len(names)
    out: list[str] = []
    rows: list[np.ndarray] = []

    def add(name: str, weights: dict[int, float]) -> None:
        r = np.zeros(k)
        for j, w in weights.items():
            r[j] = w
        out.append(name)
        rows.append(r)

    add("intercept", {names.index("intercept"): 1.0})
    trend = names.index("trend")
    add("pre_trend", {trend: 1.0})
    slopes: list[int] = []
    for j, n in enumerate(names):
        base = n.split("@")[0]
        if base == "level":
            add(n, {j: 1.0})
        elif base == "slope":
            slopes.append(j)
            add("slope_change" + _suffix(n), {j: 1.0})
            add("post_trend" + _suffix(n), {trend: 1.0, **{i: 1.0 for i in slopes}})
    for j, n in enumerate(names):
        if n.startswith(("dow_", "fourier_")):
            add(n, {j: 1.0})
    return out, np.array(rows)


def terms_frame(g: engine.GridFit) -> pl.DataFrame:
    """One row per estimable series and term: ``series``, ``name``, ``estimate``, ``se``,
    ``ci_low``, ``ci_high``, ``p`` (see the module docstring for the terms)."""
    names, L = contrast_rows(g.design.names)
    est, se = engine.contrast(g, L)
    q = g.crit()[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, g.pvalue(est / se), np.nan)
    S, m = est.shape
    df = pl.DataFrame({"series": np.repeat(np.arange(S), m), "name": names * S, "estimate": est.ravel(),
                       "se": se.ravel(), "ci_low": (est - q * se).ravel(), "ci_high": (est + q * se).ravel(),
                       "p": p.ravel()})
    extra = [key for key in ("rho", *(f"ar{i}" for i in range(1, 10))) if key in g.fit.extra]
    if extra:
        par = pl.DataFrame({"series": np.repeat(np.arange(S), len(extra)), "name": extra * S,
                            "estimate": np.column_stack([np.asarray(g.fit.extra[k], dtype=float)
                                                         for k in extra]).ravel()})
        df = pl.concat([df, par], how="diagonal_relaxed").sort("series", maintain_order=True)
    return df.filter(pl.col("series").is_in(np.nonzero(g.fit.ok)[0].tolist()))
