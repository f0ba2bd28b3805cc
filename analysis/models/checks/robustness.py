"""Robustness battery: does the estimated effect survive other reasonable analyses?

Each check refits the declared model with one thing changed and returns a tidy frame:

- :func:`placebo_in_time`: a fake intervention at every admissible date of the real pre-period
  (fitted on pre-period data only).  With honest inference about ``alpha`` of the placebo
  intervals exclude zero; the real estimate is compared with the placebo distribution.
- :func:`alternative_cutoffs`: the intervention moved by -3..+3 days on the same window, with the
  log-likelihood of each cutoff: cutoffs within 2 AIC points of the best cannot be told apart,
  which is how clustered January events (6, 7, 8, 9, 11 Jan) are or are not separable.
- :func:`window_sweep`: other pre- and post-period lengths.
- :func:`donut`: leave out ``w`` days either side of the intervention (anticipation, phase-in).
- :func:`placebo_units`: apps or countries not expected to move.
- :func:`earlier_year`: the same calendar weeks one year earlier (52 weeks, same weekdays).
- :func:`spec_curve`: every combination of error model, seasonality, impact and window.
- :func:`benjamini_hochberg` / :func:`adjust_bh`: false-discovery-rate control across a panel.

:func:`battery` runs them all in one call.  Array-level :func:`placebo_grid` is the batched
kernel (many series x many placebo dates) used by the benchmark.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from analysis.models.engine import estimate as engine
from analysis.models.its.model import ITSSpec, fit_frame

DEFAULT_SHIFTS = (-3, -2, -1, 0, 1, 2, 3)
EFFECT_COLS = ("estimate", "se", "ci_low", "ci_high", "p_value")


def placebo_grid(y: np.ndarray, t: np.ndarray, cutoffs: Sequence[float], model: engine.ModelSpec,
                 weekday: np.ndarray | None = None, term: str = "level") -> dict[str, np.ndarray]:
    """Fit ``model`` with an intervention at each of ``cutoffs`` to every series of ``y`` (S, T).

    Returns arrays of shape (len(cutoffs), S): estimate, se, ci_low, ci_high, p_value, ok.
    One batched fit per cutoff (all series at once); residual diagnostics are skipped.
    """
    out = {k: np.full((len(cutoffs), y.shape[0]), np.nan) for k in EFFECT_COLS}
    out["ok"] = np.zeros((len(cutoffs), y.shape[0]), dtype=bool)
    for i, c in enumerate(cutoffs):
        g = engine.fit_grid(y, t, [c], model, weekday=weekday, residuals=False)
        j = g.design.col(term)
        est, se = g.fit.beta[:, j], g.fit.se[:, j]
        q = g.crit()
        out["estimate"][i], out["se"][i] = est, se
        out["ci_low"][i], out["ci_high"][i] = est - q * se, est + q * se
        out["p_value"][i] = g.pvalue(est / se)
        out["ok"][i] = g.fit.ok
    return out


def _level(ff, keys: Sequence[str], term: str = "level", loglik: bool = False) -> pl.DataFrame:
    """The ``term`` rows of a frame fit (keys, effect columns; optionally the log-likelihood)."""
    out = ff.effects.filter(pl.col("term") == term).select(*keys, "series", *EFFECT_COLS)
    if loglik:
        out = out.join(ff.diagnostics.select("series", "loglik"), on="series", how="left")
    return out.drop("series")


def placebo_dates(spec: ITSSpec, step: int = 1) -> list[date]:
    """Admissible placebo dates: at least ``min_pre`` days after the window start and
    ``min_post`` days before the real intervention."""
    first = spec.start + timedelta(days=spec.min_pre)
    last = spec.intervention - timedelta(days=spec.min_post)
    return [first + timedelta(days=i) for i in range(0, (last - first).days + 1, step)]


def placebo_in_time(series: pl.DataFrame, spec: ITSSpec, keys: Sequence[str], value: str = "rank",
                    step: int = 1) -> pl.DataFrame:
    """Level estimate at every admissible placebo date, on the real pre-period only."""
    rows = []
    for d in placebo_dates(spec, step):
        ps = spec.with_(intervention=d, pre_days=(d - spec.start).days,
                        post_days=(spec.intervention - d).days, extra_interventions=())
        ff = fit_frame(series, ps, keys, value, residuals=False)
        rows.append(_level(ff, keys).with_columns(pl.lit(d).alias("placebo_date")))
    if not rows:  # no admissible placebo date (a short pre-period): same columns, no rows
        return pl.DataFrame(schema={**{k: series.schema[k] for k in keys}, "placebo_date": pl.Date,
                                    **{c: pl.Float64 for c in EFFECT_COLS}})
    return pl.concat(rows).select(*keys, "placebo_date", *EFFECT_COLS)


def placebo_summary(actual: pl.DataFrame, placebo: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Per series: the real level estimate, how many placebo fits, the share of placebo intervals
    excluding zero (about ``alpha`` when inference is honest) and the placebo p-value
    ``(1 + #{|placebo| >= |actual|}) / (1 + n_placebo)``."""
    keys = list(keys)
    a = actual.filter(pl.col("term") == "level").select(*keys, pl.col("estimate").alias("actual"))
    return (
        placebo.join(a, on=keys, how="inner")
        .group_by(keys)
        .agg(
            pl.col("actual").first(),
            pl.len().alias("n_placebo"),
            ((pl.col("ci_low") > 0) | (pl.col("ci_high") < 0)).mean().alias("placebo_rejection_rate"),
            ((1 + (pl.col("estimate").abs() >= pl.col("actual").abs()).sum()) / (1 + pl.len())).alias("placebo_p"),
        )
        .sort(keys)
    )


def alternative_cutoffs(series: pl.DataFrame, spec: ITSSpec, keys: Sequence[str], value: str = "rank",
                        shifts: Sequence[int] = DEFAULT_SHIFTS, events: pl.DataFrame | None = None) -> pl.DataFrame:
    """The intervention moved by each of ``shifts`` days on the same window.

    ``delta_aic`` is relative to the best-fitting cutoff of each series (same number of
    parameters, so it is twice the log-likelihood gap); ``indistinguishable`` marks cutoffs within
    2 of the best.  ``events`` adds the curated events starting on each cutoff date.
    """
    rows = []
    end = spec.end
    for sh in shifts:
        d = spec.intervention + timedelta(days=sh)
        if not spec.start < d <= end:
            continue
        ps = spec.with_(intervention=d, pre_days=(d - spec.start).days, post_days=(end - d).days + 1,
                        extra_interventions=())
        ff = fit_frame(series, ps, keys, value, residuals=False)
        rows.append(_level(ff, keys, loglik=True).with_columns(pl.lit(sh).alias("shift_days"),
                                                               pl.lit(d).alias("cutoff")))
    out = pl.concat(rows)
    best = pl.col("loglik").max().over(keys) if keys else pl.col("loglik").max()
    out = out.with_columns((2 * (best - pl.col("loglik"))).alias("delta_aic"))
    out = out.with_columns((pl.col("delta_aic") < 2).alias("indistinguishable"))
    if events is not None:
        ev = (events.group_by("date_utc").agg(pl.col("event_id").str.join(", ").alias("events_on_date"))
              .rename({"date_utc": "cutoff"}))
        out = out.join(ev, on="cutoff", how="left")
    return out.sort(*keys, "shift_days")


def window_sweep(series: pl.DataFrame, spec: ITSSpec, keys: Sequence[str], value: str = "rank",
                 pre_days: Sequence[int] = (30, 45, 60, 90), post_days: Sequence[int] = (14, 30, 45)) -> pl.DataFrame:
    """Level estimate for every combination of pre- and post-period length."""
    rows = []
    for pre, post in itertools.product(pre_days, post_days):
        ps = spec.with_(pre_days=pre, post_days=post,
                        extra_interventions=tuple(d for d in spec.extra_interventions
                                                  if d < spec.intervention + timedelta(days=post)))
        ff = fit_frame(series, ps, keys, value, residuals=False)
        rows.append(_level(ff, keys).with_columns(pl.lit(pre).alias("pre_days"), pl.lit(post).alias("post_days")))
    return pl.concat(rows).select(*keys, "pre_days", "post_days", *EFFECT_COLS)


def donut(series: pl.DataFrame, spec: ITSSpec, keys: Sequence[str], value: str = "rank",
          widths: Sequence[int] = (0, 1, 2, 3)) -> pl.DataFrame:
    """Level estimate leaving out ``w`` days before and ``w`` days from the intervention."""
    rows = []
    for w in widths:
        lo, hi = spec.intervention - timedelta(days=w), spec.intervention + timedelta(days=w - 1)
        kept = series.filter(~pl.col("date").is_between(lo, hi)) if w > 0 else series
        ps = spec.with_(min_pre=max(1, spec.min_pre - w), min_post=max(1, spec.min_post - w))
        ff = fit_frame(kept, ps, keys, value, residuals=False)
        rows.append(_level(ff, keys).with_columns(pl.lit(w).alias("donut_days")))
    return pl.concat(rows).select(*keys, "donut_days", *EFFECT_COLS)


def placebo_units(series: pl.DataFrame, spec: ITSSpec, keys: Sequence[str], value: str = "rank") -> pl.DataFrame:
    """Level estimates for units not expected to move, with whether each interval excludes zero."""
    ff = fit_frame(series, spec, keys, value, residuals=False)
    return _level(ff, keys).with_columns(
        ((pl.col("ci_low") > 0) | (pl.col("ci_high") < 0)).alias("excludes_zero"))


def earlier_year(series: pl.DataFrame, spec: ITSSpec, keys: Sequence[str], value: str = "rank",
                 years: int = 1) -> tuple[pl.DataFrame, str]:
    """The same model on the same calendar weeks ``years`` earlier (shifted by 52-week multiples,
    so weekdays line up).  Returns (estimates, note); empty with a note when there are no data."""
    shift = timedelta(weeks=52 * years)
    ps = spec.with_(intervention=spec.intervention - shift,
                    extra_interventions=tuple(d - shift for d in spec.extra_interventions))
    have = series.filter(pl.col("date").is_between(ps.start, ps.end))
    if have.is_empty():
        first = series["date"].min()
        return (pl.DataFrame(schema={**{k: series.schema[k] for k in keys}, **dict.fromkeys(EFFECT_COLS, pl.Float64)}),
                f"no data from {ps.start} to {ps.end} (the data start on {first}); check not possible")
    ff = fit_frame(series, ps, keys, value, residuals=False)
    note = (f"window {ps.start} .. {ps.end}, placebo intervention {ps.intervention}; "
            f"{ff.skipped.height} series not estimable")
    return _level(ff, keys).with_columns(pl.lit(ps.intervention).alias("placebo_date")), note


SPEC_GRID: dict[str, tuple] = {
    "errors": ("hac", "ar1", "iid"),
    "seasonality": ("dow", "none"),
    "impact": ("step+slope", "step", "decay:7"),
    "pre_days": (30, 60, 90),
    "post_days": (14, 30),
}


def spec_curve(series: pl.DataFrame, spec: ITSSpec, keys: Sequence[str], value: str = "rank",
               grid: Mapping[str, Sequence] | None = None) -> pl.DataFrame:
    """Level estimate under every combination of ``grid`` (ITSSpec field -> values), ranked by
    estimate within each series; ``baseline`` marks the declared specification."""
    grid = dict(grid or SPEC_GRID)
    names = list(grid)
    rows = []
    for combo in itertools.product(*grid.values()):
        changes = dict(zip(names, combo, strict=True))
        try:
            ps = spec.with_(**changes)
        except ValueError:
            continue  # an invalid combination (e.g. ar1 with a count family)
        ff = fit_frame(series, ps, keys, value, residuals=False)
        lev = _level(ff, keys)
        rows.append(lev.with_columns(*[pl.lit(str(v)).alias(k) for k, v in changes.items()]))
    out = pl.concat(rows)
    base = pl.lit(True)
    for k in names:
        base = base & (pl.col(k) == str(getattr(spec, k)))
    rank = pl.col("estimate").rank("ordinal")
    return out.with_columns(
        base.alias("baseline"),
        (rank.over(keys) if keys else rank).alias("rank"),
        ((pl.col("ci_low") > 0) | (pl.col("ci_high") < 0)).alias("excludes_zero"),
    ).sort(*keys, "rank")


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    order = np.argsort(p[ok])
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty(m)
    out[order] = adj
    q[ok] = out
    return q


def adjust_bh(effects: pl.DataFrame, term: str = "level", fdr: float = 0.05) -> pl.DataFrame:
    """Add ``q_value`` (BH across all series for ``term``) and ``significant_bh`` to effects."""
    sub = effects.filter(pl.col("term") == term)
    q = benjamini_hochberg(sub["p_value"].to_numpy())
    return sub.with_columns(pl.Series("q_value", q), pl.Series("significant_bh", q <= fdr))


@dataclass
class Battery:
    """All robustness checks of one specification on one set of series."""

    actual: pl.DataFrame  # effects of the declared model with BH q-values
    placebo_time: pl.DataFrame
    placebo_summary: pl.DataFrame
    cutoffs: pl.DataFrame
    windows: pl.DataFrame
    donut: pl.DataFrame
    placebo_units: pl.DataFrame
    earlier_year: pl.DataFrame
    earlier_year_note: str
    spec_curve: pl.DataFrame


def battery(series: pl.DataFrame, spec: ITSSpec, keys: Sequence[str], value: str = "rank", *,
            events: pl.DataFrame | None = None, placebo_series: pl.DataFrame | None = None,
            spec_series: pl.DataFrame | None = None, shifts: Sequence[int] = DEFAULT_SHIFTS,
            pre_days: Sequence[int] = (30, 45, 60, 90), post_days: Sequence[int] = (14, 30, 45),
            donut_widths: Sequence[int] = (0, 1, 2, 3), placebo_step: int = 1,
            spec_grid: Mapping[str, Sequence] | None = None) -> Battery:
    """Run every check; ``placebo_series`` are the placebo units, ``spec_series`` the series of
    the specification curve (default: all of ``series``)."""
    keys = list(keys)
    ff = fit_frame(series, spec, keys, value, residuals=False)
    actual = adjust_bh(ff.effects.drop("series"), "level")
    pt = placebo_in_time(series, spec, keys, value, placebo_step)
    ey, note = earlier_year(series, spec, keys, value)
    pu = (placebo_units(placebo_series, spec, keys, value) if placebo_series is not None
          else pl.DataFrame(schema={k: series.schema[k] for k in keys}))
    return Battery(
        actual=actual,
        placebo_time=pt,
        placebo_summary=placebo_summary(ff.effects, pt, keys),
        cutoffs=alternative_cutoffs(series, spec, keys, value, shifts, events),
        windows=window_sweep(series, spec, keys, value, pre_days, post_days),
        donut=donut(series, spec, keys, value, donut_widths),
        placebo_units=pu,
        earlier_year=ey,
        earlier_year_note=note,
        spec_curve=spec_curve(spec_series if spec_series is not None else series, spec, keys, value, spec_grid),
    )
