"""App x country x day panel of Wikimedia's differentially-private pageviews, and the noise's cost.

:func:`country_panel` sums each app's released rows over the language editions of a country-day
(the editions are kept as columns), on a full daily grid:

- ``observed``: the rows of the series' editions were released (noised count > 450);
- ``censored``: the day was released but not those rows: each of the series' editions had a
  noised count of at most 450 (:data:`analysis.data.sources.wikimedia_dp.RELEASE_THRESHOLD`);
- ``no_snapshot``: the day's file was missing upstream (HTTP 404): unknown, not censored.

A sum over whatever editions were released each day would jump when a small edition crosses 450
(its views join the sum only then), so each series is summed over a fixed set of editions
(:func:`used_editions`); the sum over all released editions is kept beside it.

For the censoring machinery of the chart studies (:mod:`analysis.data.censoring`,
:mod:`analysis.models.engine.censored_ar1`), which treats a missing day as *above* a chart depth,
:func:`rank_panel` maps views to a pseudo-rank ``SCALE / views`` (views per used edition) with
``chart_depth = DEPTH``: ``rank > DEPTH`` exactly when ``views < 450``, and ``log(rank) = log(SCALE) - log(views)``, so an
effect ``L`` on log(rank) is an effect ``-L`` on log(views) and ``exp(-L)`` is the multiple of
the pageviews (the attention multiple).  Rounding to an integer rank moves log(rank) by at most
``0.5 / rank = 0.5 * views / SCALE``, below 1.2e-4 up to ten million views a day.

Noise (:func:`noise_effect`): each released row carries Laplace noise of scale b = 30 (variance
2 b^2); a sum over k editions has variance 2 k b^2, so on log views the noise adds a standard
deviation of about ``sqrt(2 k) * b / V`` at level V (delta method), measured here by simulation at
the observed levels.  The noise is independent across days and rows, so the per-event fits absorb
it into their residual variance: their standard errors already include it.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from analysis.data.sources.wikimedia_dp import NOISE, RELEASE_THRESHOLD, DPLock

STORE, CHART = "wikipedia-dp", "pageviews-dp"
DEPTH = 100_000_000
SCALE = RELEASE_THRESHOLD * DEPTH  # pseudo-rank = SCALE / views; rank DEPTH <=> 450 views
MARKER = "(release day)"  # one row per country and released day: the day was released (see rank_panel)
PANEL_COLUMNS = ("date", "app_name", "item_id", "country", "country_name", "views", "editions_used", "n_used",
                 "views_all_editions", "editions", "n_editions", "status", "censored", "threshold")


def used_editions(rows: pl.DataFrame) -> pl.DataFrame:
    """The editions each (app, country) series is summed over: those released on *every* day on
    which the series has any released row (else the one edition released on most days; ties
    alphabetical).  A small edition that crosses 450 only after a shock would otherwise add a
    spurious jump to the sum (measured: +0.16 on log views in the simulated Brazil series)."""
    r = rows.with_columns(pl.col("country_code").str.to_lowercase().alias("country"))
    active = r.group_by("app_name", "country").agg(pl.col("date").n_unique().alias("_days"))
    per = (r.group_by("app_name", "country", "project").agg(pl.col("date").n_unique().alias("_n"))
           .join(active, on=["app_name", "country"]))
    full = per.filter(pl.col("_n") == pl.col("_days"))
    best = (per.join(full.select("app_name", "country").unique(), on=["app_name", "country"], how="anti")
            .sort("_n", "project", descending=[True, False]).group_by("app_name", "country").first())
    return pl.concat([full.select("app_name", "country", "project"), best.select("app_name", "country", "project")])


def country_panel(rows: pl.DataFrame, lock: DPLock) -> pl.DataFrame:
    """App x country x day (:data:`PANEL_COLUMNS`; see the module docstring).

    ``views`` sums the series' :func:`used_editions` (``editions_used``, ``n_used``); the sum over
    every edition released that day is kept as ``views_all_editions`` with ``editions``.  A released
    day without a row of the used editions is censored: each of them had at most 450 views.
    ``rows`` are the kept rows of :func:`analysis.data.sources.wikimedia_dp.load_locked_dp`; the countries
    are those with any released row of any app; ``country`` is ``country_code`` lower-cased.
    """
    days = pl.DataFrame({"date": [d.date for d in lock.days], "day_status": [d.status for d in lock.days]}
                        ).with_columns(pl.col("date").str.to_date())
    r = rows.with_columns(pl.col("country_code").str.to_lowercase().alias("country"))
    keys = ["date", "app_name", "country"]
    used = used_editions(rows)
    sums = r.group_by(keys).agg(pl.col("pageviews").sum().alias("views_all_editions"),
                                pl.col("project").unique().sort().str.join(",").alias("editions"),
                                pl.col("project").n_unique().cast(pl.Int64).alias("n_editions"))
    main = (r.join(used, on=["app_name", "country", "project"], how="semi").group_by(keys)
            .agg(pl.col("pageviews").sum().alias("views")))
    label = used.group_by("app_name", "country").agg(
        pl.col("project").sort().str.join(",").alias("editions_used"), pl.len().cast(pl.Int64).alias("n_used"))
    names = rows.group_by(pl.col("country_code").str.to_lowercase().alias("country")).agg(
        pl.col("country").first().alias("country_name")).sort("country")
    apps = pl.DataFrame({"app_name": list(lock.apps), "item_id": list(lock.apps.values())})
    out = (apps.join(names, how="cross").join(days, how="cross").join(sums, on=keys, how="left")
           .join(main, on=keys, how="left").join(label, on=["app_name", "country"], how="left"))
    status = (pl.when(pl.col("day_status") != "ok").then(pl.lit("no_snapshot"))
              .when(pl.col("views").is_not_null()).then(pl.lit("observed"))
              .otherwise(pl.lit("censored")))
    return (out.with_columns(status.alias("status"), pl.col("n_editions").fill_null(0), pl.col("n_used").fill_null(0))
            .with_columns((pl.col("status") == "censored").alias("censored"),
                          pl.lit(RELEASE_THRESHOLD, pl.Int64).alias("threshold"))
            .select(PANEL_COLUMNS).sort("app_name", "country", "date"))


def rank_panel(panel: pl.DataFrame) -> pl.DataFrame:
    """The rank-panel form the chart studies' machinery reads (see the module docstring).

    Observed days become rows with ``rank = round(SCALE / (views / n_used))`` (at least 1) and
    ``chart_depth = DEPTH``: the mean over the used editions, so a censored day (each used edition
    at most 450) is exactly ``rank > DEPTH``; ``log(n_used)`` is constant within a series, so
    effects are unchanged.  Censored days have no row, so
    :func:`analysis.data.censoring.complete_daily` marks them censored.  Because that function infers which
    days were recorded from the rows present, every released (country, day) also gets one
    :data:`MARKER` row at rank DEPTH; it is never one of the study's apps.  Missing days get no
    row at all (``no_snapshot``).
    """
    obs = panel.filter(pl.col("status") == "observed")
    rows = obs.select(
        "date", pl.lit(STORE).alias("store"), "country", pl.lit(CHART).alias("chart"),
        pl.col("item_id").alias("app_id"), "app_name",
        (pl.lit(float(SCALE)) * pl.col("n_used") / pl.col("views").cast(pl.Float64)).round().clip(1).cast(pl.Int64).alias("rank"),
        pl.lit(DEPTH, pl.Int64).alias("chart_depth"), "views")
    released = panel.filter(pl.col("status") != "no_snapshot").select("date", "country").unique()
    marker = released.select(
        "date", pl.lit(STORE).alias("store"), "country", pl.lit(CHART).alias("chart"),
        pl.lit("release-day").alias("app_id"), pl.lit(MARKER).alias("app_name"),
        pl.lit(DEPTH, pl.Int64).alias("rank"), pl.lit(DEPTH, pl.Int64).alias("chart_depth"),
        pl.lit(None, pl.Int64).alias("views"))
    return pl.concat([rows, marker]).sort("store", "country", "chart", "app_name", "date")


def noise_effect(panel: pl.DataFrame, seed: int = 18, draws: int = 4000, window_days: int = 14,
                 pre_days: int = 34) -> pl.DataFrame:
    """What Laplace(30) noise adds to log views at each series' observed levels.

    Per app and country (observed days): the median daily views V and used editions k; the standard
    deviation the noise adds to log(views) by the delta method, ``sqrt(2 k) * 30 / V``, and by
    simulation (``draws`` Laplace sums at V, seeded); and the standard error it adds to a
    difference of means of ``window_days`` post days and ``pre_days`` pre days at that level,
    ``sd * sqrt(1/window_days + 1/pre_days)`` (iid noise across days).
    """
    b = float(NOISE["scale"])
    lv = (panel.filter(pl.col("status") == "observed").group_by("app_name", "country")
          .agg(pl.col("views").median().alias("median_views"), pl.col("n_used").median().alias("editions"),
               pl.len().alias("observed_days"))
          .sort("app_name", "country"))
    rng = np.random.default_rng(seed)
    sims = []
    for v, k in lv.select("median_views", "editions").iter_rows():
        noise = rng.laplace(0.0, b, size=(draws, max(int(round(k)), 1))).sum(axis=1)
        ok = v + noise > 0
        sims.append(float(np.std(np.log(v + noise[ok]) - np.log(v))))
    return lv.with_columns(
        ((2 * pl.col("editions")).sqrt() * b / pl.col("median_views")).alias("noise_sd_log_delta"),
        pl.Series("noise_sd_log_sim", sims, dtype=pl.Float64),
    ).with_columns(
        (pl.col("noise_sd_log_sim") * (1 / window_days + 1 / pre_days) ** 0.5).alias("se_added_window_effect"),
        pl.lit(b).alias("laplace_scale"))
