"""Which days are censored, and partial identification when the pre-period is below the chart.

**Censored or gap.**  A chart lists its top ``depth`` apps.  A day without a rank means different
things (``analysis.data.censoring``): the chart was recorded and the app was not in it (censored:
its rank exceeded the depth), or the chart itself was not recorded (no snapshot: a gap, unknown),
or the app was removed from the store (a gap).  :func:`censoring_grid` decides, per series and
day, from the frame it is given:

1. a ``status`` column (as from :func:`analysis.data.censoring.complete_daily`): ``censored`` rows
   are censored; every other day without a rank is a gap;
2. otherwise, if some rows have an empty value: those rows are censored (the row says the chart
   was recorded) and absent dates are gaps (the ``exodus fit --censored-above`` convention);
3. otherwise (a panel with rows only where an app was ranked): a day without a row is censored if
   the series' chart (its ``store``/``country``/``chart`` key columns) has a snapshot that day, i.e.
   another series of that chart in the frame has a rank that day (or ``snapshots`` lists it), and a
   gap if not.
Days after a series' last ranked day are gaps (a store removal), as before.

**Partial identification** (Manski 2003, *Partial Identification of Probability Distributions*,
ch. 1; bounds from censoring).  If the pre-period has fewer than ``min_ranked_pre`` ranked days
the pre-period level (hence the counterfactual) is not located, and no point estimate is made.
Yet if the app was below the chart on the pre-period days, its latent log-rank there exceeded the
censoring threshold ``log(depth + 0.5)``; if on the first ``post_window`` post-period days it is
ranked, their mean log-rank ``m_post`` is known.  Under the assumption that **without the event
the app would have stayed below the chart on those days** (its counterfactual log-rank >=
``log(depth + 0.5)``, which is what every pre-period day shows), the realised level change over
those days satisfies

    level change = m_post - mean(counterfactual) <= m_post - log(depth + 0.5)      (side "upper").

Notes: (i) a day below the chart or without a snapshot gives no upper bound on its latent value, so the
first ``post_window`` days with a snapshot must all be ranked, else the series is not identified
(a day at #1 counts with ``log(1.5)``, an upper limit of its latent log-rank);
(ii) ``log(depth + 0.5)`` is the estimator's threshold; ranks are integers, so ``log(depth + 1)``
would be valid and tighter by 0.0025 at depth 200, and ``log(depth)`` looser; (iii) the bound is on
the realised change over those days (sampling noise is not added); (iv) symmetrically, an app at
#1 on (almost) every pre-period day (left-censored at ``log(1.5)``) gets the lower bound
``m_post - log(1.5)`` under the assumption that it would have stayed #1; (v) an app with a located
pre-period that is at #1 on (almost) every post-period day (Signal in Germany) gets the upper bound
``log(1.5) - mean pre-period lower limit`` (observed log-ranks, ``log(depth + 0.5)`` on censored
days), assuming the counterfactual stays at the pre-period mean.  A series that fits no case (e.g.
a pre-period of gaps) is ``not_identified`` with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import polars as pl

CHART_COLS = ("store", "country", "chart")
MIN_RANKED_PRE = 5  # fewer ranked pre-period days: no point estimate, a bound
POST_WINDOW = 3  # first post-period snapshot days whose ranks give the bound
TOP_THRESHOLD = 1.5  # rank 1 is left-censored at log(1.5)


def _series_index(series: pl.DataFrame, keys: Sequence[str], keydf: pl.DataFrame) -> pl.DataFrame:
    if keys:
        return series.join(keydf, on=list(keys), how="inner")
    return series.with_columns(pl.lit(0, pl.UInt32).alias("series"))


def censoring_grid(series: pl.DataFrame, keys: Sequence[str], keydf: pl.DataFrame, value: str, start: date,
                   T: int, snapshots: pl.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Values (S, T) on the days ``start`` .. ``start + T - 1`` (NaN without a rank) and the
    censored cells (S, T) bool, by the rules of the module docstring (before the removal rule)."""
    keys = list(keys)
    S = keydf.height
    end = start + timedelta(days=T - 1)
    win = _series_index(series.filter(pl.col("date").is_between(start, end)), keys, keydf)
    win = win.with_columns((pl.col("date") - pl.lit(start)).dt.total_days().alias("_t"))
    ranked = win.filter(pl.col(value).is_not_null())
    Y = np.full((S, T), np.nan)
    Y[ranked["series"].to_numpy(), ranked["_t"].to_numpy()] = ranked[value].cast(pl.Float64).to_numpy()
    cens = np.zeros((S, T), dtype=bool)
    if "status" in series.columns or series[value].null_count() > 0:
        rows = (win.filter(pl.col("status") == "censored") if "status" in series.columns
                else win.filter(pl.col(value).is_null()))
        cens[rows["series"].to_numpy(), rows["_t"].to_numpy()] = True
        return Y, cens & np.isnan(Y)
    chart = [c for c in CHART_COLS if c in keys]
    snap = (snapshots if snapshots is not None else series.filter(pl.col(value).is_not_null()))
    snap = snap.filter(pl.col("date").is_between(start, end)).select(*chart, "date").unique()
    cells = (keydf.select("series", *chart).join(snap, on=chart, how="inner") if chart
             else keydf.select("series").join(snap, how="cross"))
    cells = cells.with_columns((pl.col("date") - pl.lit(start)).dt.total_days().alias("_t"))
    cens[cells["series"].to_numpy(), cells["_t"].to_numpy()] = True
    return Y, cens & np.isnan(Y)


def _ceiling_bound(pre, pre_flag, post, post_flag, upper, lower, transform, post_window, min_ranked_pre) -> dict:
    """The pre-period is located, but the post period is (almost) all at the top (left-censored):
    level change <= lower threshold - mean of the pre-period lower limits (observed values, the
    upper threshold on censored days), assuming the counterfactual stays at the pre-period mean."""
    n_post = int((~np.isnan(post) & (post_flag == 0)).sum())
    days = np.nonzero(~np.isnan(post) | (post_flag != 0))[0][:post_window]
    if (lower is None or n_post >= min_ranked_pre or days.size < post_window or (post_flag[days] >= 0).any()
            or (pre_flag < 0).any()):
        return {"kind": "estimate", "reason": None}
    vals = np.log(pre) if transform == "log" else pre
    lims = np.where(pre_flag > 0, upper, vals)
    m_pre = float(np.mean(lims[(pre_flag > 0) | ~np.isnan(pre)]))
    return {"kind": "bound", "side": "upper", "bound": lower - m_pre, "_days": days,
            "reason": f"only {n_post} uncensored post-period values (< {min_ranked_pre}) and the first "
                      f"{post_window} at the top: the level change is at most the top threshold ({lower:.4g}) "
                      f"minus the mean pre-period lower limit ({m_pre:.4g}; censored days at {upper:.4g}), "
                      "assuming the counterfactual stays at the pre-period mean (no trend)"}


def bound_from_days(pre: np.ndarray, pre_flag: np.ndarray, post: np.ndarray, post_flag: np.ndarray, *,
                    upper: float, lower: float | None = None, transform: str = "log",
                    post_window: int = POST_WINDOW, min_ranked_pre: int = MIN_RANKED_PRE,
                    labels: tuple[str, str] = ("below the chart", "at #1")) -> dict:
    """kind, side, bound, reason (and ``_days``, the post days used) for one series.

    ``pre``/``post``: raw values (NaN = none), ``*_flag``: +1 right-censored (above ``upper`` on
    the modelling scale), -1 left-censored (below ``lower``), 0 observed or gap."""
    obs = ~np.isnan(pre) & (pre_flag == 0)
    n_rank, n_up, n_low = int(obs.sum()), int((pre_flag > 0).sum()), int((pre_flag < 0).sum())
    if n_rank >= min_ranked_pre:
        return _ceiling_bound(pre, pre_flag, post, post_flag, upper, lower, transform, post_window, min_ranked_pre)
    if n_up == 0 and n_low == 0:
        return {"kind": "not_identified",
                "reason": f"the pre-period has {n_rank} observed and no censored periods (gaps): "
                          "no pre-period level to compare with"}
    side, ref, what = ("upper", upper, labels[0]) if n_up >= n_low or lower is None else ("lower", lower, labels[1])
    head = f"{n_rank} uncensored pre-period values (< {min_ranked_pre}); {n_up + n_low} pre-period values {what}"
    days = np.nonzero(~np.isnan(post) | (post_flag != 0))[0][:post_window]
    sgn = 1 if side == "upper" else -1
    # the bound needs an upper (lower) limit of each post value: observed, or censored on the other side
    if days.size < post_window or (sgn * post_flag[days] > 0).any() or np.isnan(post[days]).any():
        return {"kind": "not_identified",
                "reason": head + f"; the first {post_window} post-period values are not all observed, so "
                          "neither a point estimate nor a bound is possible"}
    vals = np.log(post[days]) if transform == "log" else post[days]
    other = lower if side == "upper" else upper
    vals = np.where(post_flag[days] != 0, other if other is not None else vals, vals)
    m_post = float(np.mean(vals))
    rel = "at most" if side == "upper" else "at least"
    return {"kind": "bound", "side": side, "bound": m_post - ref, "_days": days,
            "reason": head + f": the level change is {rel} the mean of the first {post_window} post-period "
                      f"values ({m_post:.4g}) minus the censoring threshold ({ref:.4g}), assuming the series "
                      f"would have stayed {what} without the intervention"}


def level_bounds(series: pl.DataFrame, start: date, depth: int, *, keys: Sequence[str] = (), value: str = "rank",
                 pre_days: int | None = None, post_days: int | None = None, post_window: int = POST_WINDOW,
                 min_ranked_pre: int = MIN_RANKED_PRE, snapshots: pl.DataFrame | None = None) -> pl.DataFrame:
    """Level-change bounds (log-rank scale) for every series (distinct ``keys``) of ``series``.

    ``start`` is the first post-period day; the pre-period is the ``pre_days`` days before it
    (default: all earlier days), the post period ``post_days`` days (default: to the last date).
    One row per series: keys, ``term``/``estimand`` "level", ``kind`` ("estimate" when the
    pre-period has enough ranked days for a model fit, "bound" or "not_identified"), ``side``,
    ``bound``, ``reason``, ``best_rank`` (best post-period rank), ``window_start``/``window_end``
    (the post days the bound uses), and null ``estimate``/``se``/``ci_low``/``ci_high``.
    """
    keys = list(keys)
    first = series["date"].min() if pre_days is None else start - timedelta(days=pre_days)
    last = series["date"].max() if post_days is None else start + timedelta(days=post_days - 1)
    n_pre = max((start - first).days, 0)
    T = n_pre + max((last - start).days + 1, 1)
    keydf = (series.select(keys).unique().sort(keys).with_row_index("series") if keys
             else pl.DataFrame({"series": [0]}, schema={"series": pl.UInt32}))
    Y, cens = censoring_grid(series, keys, keydf, value, start - timedelta(days=n_pre), T, snapshots)
    rows = []
    for s in range(keydf.height):
        fl = np.where(cens[s], 1.0, np.where(Y[s] == 1, -1.0, 0.0))
        r = bound_from_days(Y[s, :n_pre], fl[:n_pre], Y[s, n_pre:], fl[n_pre:], upper=float(np.log(depth + 0.5)),
                            lower=float(np.log(TOP_THRESHOLD)), post_window=post_window,
                            min_ranked_pre=min_ranked_pre, labels=(f"below the chart (rank > {depth})", "at #1"))
        days = r.pop("_days", None)
        post = Y[s, n_pre:]
        rows.append({**{k: keydf[k][s] for k in keys}, "term": "level", "estimand": "level",
                     "estimate": None, "se": None, "ci_low": None, "ci_high": None,
                     "side": r.get("side"), "bound": r.get("bound"), "kind": r["kind"], "reason": r["reason"],
                     "best_rank": int(np.nanmin(post)) if (~np.isnan(post)).any() else None,
                     "window_start": start + timedelta(days=int(days[0])) if days is not None else None,
                     "window_end": start + timedelta(days=int(days[-1])) if days is not None else None})
    return pl.DataFrame(rows, schema={**{k: keydf.schema[k] for k in keys}, **BOUND_SCHEMA})


BOUND_SCHEMA = {"term": pl.String, "estimand": pl.String, "estimate": pl.Float64, "se": pl.Float64,
                "ci_low": pl.Float64, "ci_high": pl.Float64, "side": pl.String, "bound": pl.Float64,
                "kind": pl.String, "reason": pl.String, "best_rank": pl.Int64, "window_start": pl.Date,
                "window_end": pl.Date}
