"""Coverage of per-event intervals and validity of bounds against a simulation's truth.

Issue 8 ("Evidence required"): on the demo, the per-event 95% intervals must cover the true
per-event effects of the migration apps (non-zero truths, not only null apps) at least 88% of the
time, reported by app and error model; bounds must hold.  The functions here take an Effects frame
(:data:`analysis.models.events.fit.EFFECTS_SCHEMA`) and the truth on the same keys (:func:`analysis.models.events.estimates.demo_truth`).

An *entry bound* (:mod:`analysis.models.events.bounds`) bounds the cumulative effect of the terms up
to the app's entry into the chart, so its truth is the sum of the true per-event effects of the
series' terms up to and including the bounded one (:func:`attach_truth`); every other bound is
compared with its own row's truth.  A bound holds when the truth is on its side (``<= bound`` for
``side == "upper"``), to a tolerance of 1e-9.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

KEYS = ("app_name", "country", "store")
JOIN = (*KEYS, "event_id", "estimand")
MIGRATION_APPS = ("Signal", "Telegram", "Parler", "MeWe", "Rumble", "Gab", "WhatsApp")
ENTRY_PREFIX = "entry bound"


def attach_truth(effects: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """``effects`` with ``true_value`` (the row's truth; for entry bounds the cumulative truth of
    the terms up to the bounded one), ``covered`` (estimates) and ``holds`` (bounds)."""
    e = effects.with_row_index("_row").join(truth.select(*JOIN, "true_value"), on=list(JOIN), how="left",
                                              nulls_equal=True)
    terms = e.filter(pl.col("event_id").is_not_null(), pl.col("estimand").is_in(["level", "decay"]))
    order = terms.with_columns(pl.col("_row").rank("ordinal").over(KEYS).alias("_o"))
    entry = order.filter(pl.col("kind") == "bound", pl.col("reason").str.starts_with(ENTRY_PREFIX))
    cum = (entry.select(*KEYS, "_row", pl.col("_o").alias("_upto"))
           .join(order.select(*KEYS, "_o", "true_value"), on=list(KEYS))
           .filter(pl.col("_o") <= pl.col("_upto"))
           .group_by("_row").agg(pl.col("true_value").sum().alias("_cum"), pl.col("true_value").is_null().any()
                                 .alias("_missing")))
    e = e.join(cum, on="_row", how="left").with_columns(
        pl.when(pl.col("_cum").is_not_null())
        .then(pl.when(pl.col("_missing")).then(None).otherwise(pl.col("_cum")))
        .otherwise(pl.col("true_value")).alias("true_value"))
    tv = pl.col("true_value")
    return e.sort("_row").drop("_row", "_cum", "_missing").with_columns(
        pl.when(pl.col("kind") == "estimate").then((pl.col("ci_low") <= tv) & (tv <= pl.col("ci_high")))
        .alias("covered"),
        pl.when(pl.col("kind") == "bound")
        .then(pl.when(pl.col("side") == "upper").then(tv <= pl.col("bound") + 1e-9)
              .otherwise(tv >= pl.col("bound") - 1e-9)).alias("holds"))


def coverage_by(effects: pl.DataFrame, truth: pl.DataFrame, by: Sequence[str] = ("app_name", "estimand"),
                apps: Sequence[str] | None = MIGRATION_APPS, nonzero: bool = True) -> pl.DataFrame:
    """Per group of ``by``: ``n_estimates`` with a truth, ``coverage`` (share of intervals covering
    it), ``n_bounds`` and ``bound_holds`` (share of bounds on the right side of the truth),
    ``n_not_identified``.  ``apps``: restrict to these apps (None: all); ``nonzero``: estimates
    with a true value of exactly 0 are left out of the coverage (the migration effects, not the
    nulls).  A group without estimates has a null ``coverage``."""
    e = attach_truth(effects, truth)
    if apps is not None:
        e = e.filter(pl.col("app_name").is_in(list(apps)))
    est = (pl.col("kind") == "estimate") & pl.col("true_value").is_not_null()
    if nonzero:
        est = est & (pl.col("true_value") != 0)
    bnd = (pl.col("kind") == "bound") & pl.col("true_value").is_not_null()
    aggs = [est.sum().alias("n_estimates"), pl.col("covered").filter(est).mean().alias("coverage"),
            bnd.sum().alias("n_bounds"), pl.col("holds").filter(bnd).mean().alias("bound_holds"),
            (pl.col("kind") == "not_identified").sum().alias("n_not_identified")]
    if not by:
        return e.select(aggs)
    return e.group_by(list(by)).agg(aggs).sort(list(by))


def coverage_table(data, params, errors: Sequence[str] = ("ar1", "hac", "iid"),
                   by: Sequence[str] = ("app_name",), apps: Sequence[str] = MIGRATION_APPS) -> pl.DataFrame:
    """Fit the run's per-event study (:func:`analysis.models.events.estimates.fit_study`) once per error
    model and return :func:`coverage_by` per ``by`` group and error model, plus an ``"(all)"``
    row per error model.  ``data`` must carry a truth (a synthetic study)."""
    import dataclasses

    from analysis.models.events.estimates import fit_study

    out = []
    for err in errors:
        sf = fit_study(data, dataclasses.replace(params, errors=err))
        if sf.truth is None:
            raise ValueError("coverage_table needs a study with a truth (the demo)")
        per = coverage_by(sf.effects, sf.truth, by=by, apps=apps)
        tot = coverage_by(sf.effects, sf.truth, by=(), apps=apps).with_columns(
            *[pl.lit("(all)").alias(b) for b in by])
        out.append(pl.concat([per, tot.select(per.columns)]).with_columns(pl.lit(err).alias("errors")))
    return pl.concat(out).select("errors", *by, pl.exclude("errors", *by))
