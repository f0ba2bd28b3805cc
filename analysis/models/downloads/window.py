"""Downloads multiples of window-average rank effects, with the exponent taken as a range.

Under the power law ``d = b * r^(-a)`` (Garg & Telang 2013, MIS Quarterly 37(4): 1253-1264; see
:mod:`analysis.models.downloads.law`) a change ``L`` in log(rank) multiplies downloads by
``exp(-a * L)``; ``b`` cancels.  The effect translated is the *window average* (mean over the
window of observed-or-latent log rank minus the pre-period forecast), not the level at one date:
it is what a reader means by "how many more downloads in the weeks after".

Interval rule (the ``bounds`` rule of :func:`analysis.models.downloads.law.translate`, as
multiples): ``exp(-a x)`` decreases in ``x`` and is monotone in ``a``, so over
``a in [a_lo, a_hi]`` and ``L in [ci_low, ci_high]`` the smallest multiple is
``min(exp(-a_lo ci_high), exp(-a_hi ci_high))`` and the largest
``max(exp(-a_lo ci_low), exp(-a_hi ci_low))`` (attained at the corners).  A one-sided interval
(a bound: ``ci_low`` or ``ci_high`` empty) gives a one-sided multiple: "at least" when only
``ci_high`` is known.  The point multiple uses the middle of the exponent range.
"""

from __future__ import annotations

import polars as pl

from analysis.errors import InputError

DEFAULT_EXPONENT = (0.8, 1.1)  # same default as analysis.models.downloads.law (not imported: it loads scipy)


def check_exponent(exponent: tuple[float, float]) -> tuple[float, float]:
    lo, hi = (float(x) for x in exponent)
    if not (0 < lo <= hi):
        raise InputError(f"exponent range must satisfy 0 < low <= high, got {exponent!r}")
    return lo, hi


def factor_columns(exponent: tuple[float, float] = DEFAULT_EXPONENT, estimate: str = "estimate",
                   ci_low: str = "ci_low", ci_high: str = "ci_high") -> list[pl.Expr]:
    """Expressions for ``downloads_factor``, ``downloads_factor_low``, ``downloads_factor_high``.

    Empty inputs give empty outputs (an empty ``ci_low`` means no upper limit on downloads).
    """
    lo, hi = check_exponent(exponent)
    mid = (lo + hi) / 2
    low = pl.min_horizontal((-lo * pl.col(ci_high)).exp(), (-hi * pl.col(ci_high)).exp())
    high = pl.max_horizontal((-lo * pl.col(ci_low)).exp(), (-hi * pl.col(ci_low)).exp())
    return [(-mid * pl.col(estimate)).exp().alias("downloads_factor"),
            pl.when(pl.col(ci_high).is_not_null()).then(low).alias("downloads_factor_low"),
            pl.when(pl.col(ci_low).is_not_null()).then(high).alias("downloads_factor_high")]


def downloads_factors(effects: pl.DataFrame, exponent: tuple[float, float] = DEFAULT_EXPONENT) -> pl.DataFrame:
    """Add the three downloads-multiple columns to a frame of log-rank effects."""
    return effects.with_columns(factor_columns(exponent))
