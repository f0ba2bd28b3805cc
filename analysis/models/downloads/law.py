"""From chart ranks to downloads: a power law with an uncertain exponent.

Assumption (not estimated here): daily downloads fall with chart rank as a power law,

    d = b * r^(-a),   so   log d = log b - a * log r.

Source: Garg, R. and Telang, R. (2013), "Inferring App Demand from Publicly Available Data",
MIS Quarterly 37(4): 1253-1264.  They calibrate the rank-downloads relation of Apple's App Store
from public data as a Pareto (power-law) curve and report that the top-ranked paid iPhone app has
about 150 times the downloads of the app ranked 200 (iPad: 120 times), i.e. an exponent of about
ln 150 / ln 200 = 0.95 (iPad 0.90).  Their estimates are for *paid* US apps around 2011-12;
free charts, other countries, Google Play and January 2021 may differ, so the exponent is a
parameter with a range (default 0.8-1.1) rather than a number, and every translated effect
carries that range into its interval.

Translation of a change in log-rank: an effect ``delta`` on log(rank) multiplies downloads by
``exp(-a * delta)``, a change of ``100 * (exp(-a * delta) - 1)`` percent (climbing the chart,
``delta < 0``, means more downloads).  ``b`` cancels: only the exponent matters.

Two documented rules for the interval:

- ``bounds`` (default): the union over the exponent range of the effect's confidence interval,
  i.e. the smallest and largest of ``-a * delta`` over ``a`` in ``[a_lo, a_hi]`` and ``delta`` in
  ``[ci_low, ci_high]`` (attained at the corners: the expression is bilinear).  Conservative:
  its coverage is at least that of the effect's interval for every exponent in the range.
- ``monte_carlo``: ``a ~ Uniform(a_lo, a_hi)`` independent of ``delta ~ Normal(estimate, se)``
  with ``se`` recovered from the interval (normal approximation), and the percentile interval of
  ``exp(-a * delta) - 1``; seeded, so reproducible.  Narrower; assumes a uniform prior on ``a``.

The point value uses the middle of the range.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import special

from analysis.errors import InputError

DEFAULT_EXPONENT = (0.8, 1.1)
SOURCE = ("Garg & Telang (2013), Inferring App Demand from Publicly Available Data, MIS Quarterly 37(4): "
          "1253-1264 (top paid iPhone app ~150x the downloads of rank 200: exponent ~0.95)")


def exponent_range(exponent: tuple[float, float]) -> tuple[float, float]:
    """The exponent range ``(low, high)`` as floats; :class:`InputError` unless 0 < low <= high.
    The one check of the range, used by the law's functions and by the study parameters."""
    lo, hi = (float(x) for x in exponent)
    if not (0 < lo <= hi):
        raise InputError(f"exponent range must satisfy 0 < low <= high, got {exponent!r}")
    return lo, hi


def downloads_ratio(rank_from: float, rank_to: float, exponent: float) -> float:
    """How many times the downloads at ``rank_to`` are those at ``rank_from``."""
    return (rank_to / rank_from) ** (-exponent)


def pct_change(delta_log_rank: float, exponent: float) -> float:
    """% change in downloads for a change ``delta_log_rank`` in log(rank)."""
    return 100.0 * math.expm1(-exponent * delta_log_rank)


def translate(
    effects: pl.DataFrame,
    exponent: tuple[float, float] = DEFAULT_EXPONENT,
    method: str = "bounds",
    alpha: float = 0.05,
    draws: int = 20_000,
    seed: int = 20130401,
) -> pl.DataFrame:
    """Add download-change columns to a table of log-rank effects.

    ``effects`` needs ``estimate``, ``ci_low``, ``ci_high`` (on log rank).  Adds
    ``downloads_pct``, ``downloads_pct_low``, ``downloads_pct_high``, ``exponent_low``,
    ``exponent_high`` and ``downloads_rule`` (the interval rule, stated in the table).
    ``alpha`` is the level of the given intervals (used by ``monte_carlo`` to recover the SE).
    """
    lo, hi = exponent_range(exponent)
    mid = (lo + hi) / 2
    if method == "bounds":
        corners = [(-a * pl.col(c)) for a in (lo, hi) for c in ("ci_low", "ci_high")]
        low = (pl.min_horizontal(corners).exp() - 1) * 100
        high = (pl.max_horizontal(corners).exp() - 1) * 100
        out = effects.with_columns(low.alias("downloads_pct_low"), high.alias("downloads_pct_high"))
        rule = f"union over exponent {lo}-{hi} of the {int(round((1 - alpha) * 100))}% CI"
    elif method == "monte_carlo":
        z = special.ndtri(1 - alpha / 2)
        rng = np.random.default_rng(seed)
        a = rng.uniform(lo, hi, draws)
        e = rng.standard_normal(draws)
        est = effects["estimate"].to_numpy()
        se = (effects["ci_high"].to_numpy() - effects["ci_low"].to_numpy()) / (2 * z)
        sims = np.expm1(-a[None, :] * (est[:, None] + se[:, None] * e[None, :])) * 100
        q = np.quantile(sims, [alpha / 2, 1 - alpha / 2], axis=1)
        out = effects.with_columns(pl.Series("downloads_pct_low", q[0]), pl.Series("downloads_pct_high", q[1]))
        rule = f"Monte Carlo: exponent ~ U({lo}, {hi}), effect ~ Normal; {draws} draws, seed {seed}"
    else:
        raise InputError(f"unknown method {method!r}: use 'bounds' or 'monte_carlo'")
    return out.with_columns(
        ((-mid * pl.col("estimate")).exp() - 1).mul(100).alias("downloads_pct"),
        pl.lit(lo).alias("exponent_low"),
        pl.lit(hi).alias("exponent_high"),
        pl.lit(rule).alias("downloads_rule"),
    ).select(*effects.columns, "downloads_pct", "downloads_pct_low", "downloads_pct_high",
             "exponent_low", "exponent_high", "downloads_rule")
