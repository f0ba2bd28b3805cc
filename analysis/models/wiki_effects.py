"""Per-article results of a Wikipedia study in the Effects-frame contract (see notes/contract).

Scale: log(rank) on the top-100 chart (negative = more attention), as for app charts.

- Where the censored ITS (:func:`analysis.models.its.fit_frame`, ``censored=True``, right-censoring
  at rank > chart depth) is estimable, ``kind="estimate"`` rows for ``level`` and ``slope`` (the
  term id of the intervention day) and the ``window_average`` over the post period: the model's
  mean of fitted minus counterfactual, i.e. the cumulative effect over the post days divided by
  their number, with its interval.
- Where it is not (too few ranked pre-period days: Signal was never in the top 100 before
  8 January 2021), a partial-identification **bound** on the window average (Manski 1990;
  Manski & Pepper 2000 for the monotone-response assumption):

  * A1 (baseline below the chart): without the events the article would have stayed below the
    chart, as on every (or almost every) pre-period day, so the counterfactual log rank is at
    least log(depth + 0.5) on every post day;
  * A2 (monotone response): the events did not reduce attention, so on a post day the article
    is still below the chart its effect is at most 0.

  Then effect_t <= log(rank_t) - log(depth + 0.5) on ranked days and <= 0 on censored days, and
  the window average is at most the mean of these: an **upper** bound on the log-rank change
  (the article climbed by at least that much on average).  Nothing bounds it from below without
  a model of the latent views, so ``side="upper"`` only; with no ranked post day the bound is 0
  (no evidence of more attention beyond what A2 assumes).
- ``best_rank`` is the best observed rank in the window (1 would mean "reached #1").
"""

from __future__ import annotations

import math
from datetime import timedelta

import polars as pl

from analysis.models.its import MIN_RANKED_PER_SEGMENT, ITSSpec, fit_frame

SCHEMA: dict[str, pl.DataType] = {
    "app_name": pl.String(), "country": pl.String(), "store": pl.String(), "event_id": pl.String(),
    "estimand": pl.String(), "kind": pl.String(), "estimate": pl.Float64(), "se": pl.Float64(),
    "ci_low": pl.Float64(), "ci_high": pl.Float64(), "side": pl.String(), "bound": pl.Float64(),
    "reason": pl.String(), "window_start": pl.Date(), "window_end": pl.Date(), "best_rank": pl.Int64(),
}
BY = ("app_name", "country")


def term_id(events: pl.DataFrame, day) -> str | None:
    """Registry ids of the events a daily (UTC-day) total of ``day`` is the first to contain:
    events dated (UTC) that day or the evening before (the Musk tweet, dated 7 Jan, was posted at
    00:56 UTC on 8 Jan), joined with "+" in registry order; None if none."""
    d = events.filter(pl.col("date_utc").is_between(day - timedelta(days=1), day))
    ids = d["event_id"].to_list()
    return "+".join(ids) if ids else None


def _row(**kw) -> dict:
    return {k: kw.get(k) for k in SCHEMA}


def _bound_row(g: pl.DataFrame, spec: ITSSpec, store: str, reason: str) -> dict:
    """Upper bound on the window-average log-rank effect under A1 + A2 (module docstring)."""
    floor = math.log(spec.chart_depth + 0.5)
    post = g.filter(pl.col("date").is_between(spec.intervention, spec.end))
    per_day = [(math.log(r) - floor) if r is not None else 0.0 for r in post["rank"].to_list()]
    ranked = post["rank"].drop_nulls()
    bound = sum(per_day) / len(per_day) if per_day else None
    why = (f"{reason}; bound assumes the article would have stayed below the top {spec.chart_depth} without the "
           f"events (A1) and that they did not reduce attention (A2); {ranked.len()} of {post.height} post days ranked")
    return _row(app_name=g["app_name"][0], country=g["country"][0], store=store, estimand="window_average",
                kind="bound", side="upper", bound=bound, reason=why, window_start=spec.intervention,
                window_end=spec.end, best_rank=int(ranked.min()) if ranked.len() else None)


def wiki_effects(grid: pl.DataFrame, spec: ITSSpec, events: pl.DataFrame, store: str = "wikipedia") -> pl.DataFrame:
    """Effects frame for every (app, country) of ``grid`` (:func:`analysis.data.wikipedia.views_grid`
    columns ``date, app_name, country, rank``; rank null = below the chart).  ``spec`` should be
    censored with the chart depth."""
    spec = spec if spec.censored else spec.with_(censored=True)
    ranked = grid.filter(pl.col("rank").is_not_null(), pl.col("date").is_between(spec.start, spec.end))
    rows: list[dict] = []
    ff = fit_frame(ranked, spec, BY, "rank") if ranked.height else None
    tid = term_id(events, spec.intervention)
    for (app, country), g in grid.sort("date").group_by(BY, maintain_order=True):
        g = g.filter(pl.col("date").is_between(spec.start, spec.end))
        eff = (ff.effects.filter(pl.col("app_name") == app, pl.col("country") == country)
               if ff is not None else pl.DataFrame())
        if eff.height == 0:
            pre = g.filter(pl.col("date") < spec.intervention)
            reason = (f"censored ITS not estimable: {pre['rank'].drop_nulls().len()} of {pre.height} pre-period days "
                      f"in the top {spec.chart_depth} (need {MIN_RANKED_PER_SEGMENT} ranked days before and after)")
            rows.append(_bound_row(g, spec, store, reason))
            continue
        best = g["rank"].drop_nulls()
        post_best = g.filter(pl.col("date") >= spec.intervention)["rank"].drop_nulls()
        for term in ("level", "slope"):
            r = eff.filter(pl.col("term") == term)
            if r.height:
                r = r.row(0, named=True)
                rows.append(_row(app_name=app, country=country, store=store, event_id=tid, estimand=term,
                                 kind="estimate", estimate=r["estimate"], se=r["se"], ci_low=r["ci_low"],
                                 ci_high=r["ci_high"], window_start=spec.intervention, window_end=spec.end,
                                 best_rank=int(post_best.min()) if post_best.len() else None))
        rows.append(_window_average(ff, app, country, spec, store, int(best.min()) if best.len() else None))
    return pl.DataFrame(rows, schema=SCHEMA).sort("app_name", "country", "estimand")


def _window_average(ff, app: str, country: str, spec: ITSSpec, store: str, best: int | None) -> dict:
    """Mean model effect over the post days = cumulative effect at the last day / post days."""
    p = ff.paths.filter(pl.col("app_name") == app, pl.col("country") == country, pl.col("post")).sort("date")
    lev = ff.effects.filter(pl.col("app_name") == app, pl.col("country") == country, pl.col("term") == "level").row(0, named=True)
    q = (lev["ci_high"] - lev["estimate"]) / lev["se"] if lev["se"] else float("nan")
    last = p.row(p.height - 1, named=True)
    n = (last["date"] - spec.intervention).days + 1
    est, lo, hi = last["cum_effect"] / n, last["cum_effect_low"] / n, last["cum_effect_high"] / n
    return _row(app_name=app, country=country, store=store, estimand="window_average", kind="estimate",
                estimate=est, se=(hi - est) / q if q else None, ci_low=lo, ci_high=hi,
                window_start=spec.intervention, window_end=last["date"], best_rank=best)


def views_bounds(grid: pl.DataFrame, spec: ITSSpec) -> pl.DataFrame:
    """The same bound on the **views** scale (higher = more attention), with the day-specific
    threshold: under A1 + A2 the mean over the post days of log(views_t) - log(threshold_t) on
    ranked days (0 on censored days) is a **lower** bound on the mean log-views increase."""
    post = grid.filter(pl.col("date").is_between(spec.intervention, spec.end))
    return (
        post.with_columns(
            pl.when(pl.col("views").is_null()).then(0.0)
            .otherwise(pl.col("views").cast(pl.Float64).log() - pl.col("threshold").cast(pl.Float64).log())
            .alias("_d"))
        .group_by(BY)
        .agg(pl.col("_d").mean().alias("log_views_lower_bound"), pl.col("views").is_not_null().sum().alias("days_ranked"),
             pl.len().alias("post_days"), pl.col("views").max().alias("max_views"))
        .with_columns(((pl.col("log_views_lower_bound").exp() - 1) * 100).alias("pct_lower_bound"))
        .sort(BY)
    )


def placebo_year(grid: pl.DataFrame, spec: ITSSpec, events: pl.DataFrame, store: str = "wikipedia",
                 weeks: int = 52) -> pl.DataFrame:
    """The same per-article results on the same weeks ``weeks`` earlier (same weekdays): a placebo
    year, where no effect is expected.  Empty when the data do not reach back that far."""
    shift = timedelta(weeks=weeks)
    ps = spec.with_(intervention=spec.intervention - shift, extra_interventions=())
    have = grid.filter(pl.col("date").is_between(ps.start, ps.end))
    if have.select("date").n_unique() < (ps.end - ps.start).days + 1:
        return pl.DataFrame(schema=SCHEMA)
    return wiki_effects(have, ps, events, store)
