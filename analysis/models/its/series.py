"""Fit the ITS model to every series of a selection at once and collect the results."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analysis.models.its.model import ITSSpec, fit_frame

BY = ("app_name", "country")


@dataclass
class PanelFit:
    effects: pl.DataFrame  # app_name, country, term, estimate, se, ci_low, ci_high, p_value, ...
    paths: pl.DataFrame  # app_name, country, date, observed, fitted, counterfactual, ...
    diagnostics: pl.DataFrame  # app_name, country, n_pre, n_post, durbin_watson, ...
    skipped: pl.DataFrame  # app_name, country, reason


def fit_panel(series: pl.DataFrame, spec: ITSSpec, value: str = "rank") -> PanelFit:
    """Fit each (app, country) series of ``series`` (one store and chart) with the batched engine.

    Every series gets the same model; series that cannot be estimated are listed in ``skipped``
    with the reason.
    """
    ff = fit_frame(series, spec, BY, value)
    return PanelFit(ff.effects.drop("series", strict=False), ff.paths.drop("series", strict=False),
                    ff.diagnostics.drop("series", strict=False), ff.skipped)


def attach_truth(effects: pl.DataFrame, truth: pl.DataFrame, spec: ITSSpec, store: str) -> pl.DataFrame:
    """Add ``true_value`` where exactly one true event of a series falls in the window and it is
    on the intervention date (otherwise the segmented model's target is a mixture: null)."""
    t = truth.filter(pl.col("store") == store, pl.col("date").is_between(spec.start, spec.end))
    single = (
        t.group_by("app_name", "country")
        .agg(pl.len().alias("n"), pl.col("date").first(), pl.col("level").first(), pl.col("slope").first())
        .filter(pl.col("n") == 1, pl.col("date") == spec.intervention)
        .select("app_name", "country", pl.lit("level").alias("term"), pl.col("level").alias("level_"), "slope")
    )
    none_in_window = (
        effects.select("app_name", "country").unique()
        .join(t.select("app_name", "country").unique(), on=["app_name", "country"], how="anti")
    )
    out = effects.join(single.drop("term"), on=["app_name", "country"], how="left").with_columns(
        pl.when(pl.col("term") == "level").then(pl.col("level_"))
        .when(pl.col("term") == "slope").then(pl.col("slope"))
        .otherwise(None).alias("true_value")
    ).drop("level_", "slope")
    zero = none_in_window.with_columns(pl.lit(True).alias("_none"))
    return (
        out.join(zero, on=["app_name", "country"], how="left")
        .with_columns(
            pl.when(pl.col("_none") & pl.col("term").is_in(["level", "slope"]))
            .then(0.0).otherwise(pl.col("true_value")).alias("true_value")
        )
        .drop("_none")
    )


def truth_recovery(effects: pl.DataFrame) -> pl.DataFrame:
    """Per term, how well estimates recover known effects (``true_value`` from
    :func:`attach_truth`): number of series, share of intervals covering the truth, median
    absolute error."""
    covered = (pl.col("ci_low") <= pl.col("true_value")) & (pl.col("true_value") <= pl.col("ci_high"))
    return (
        effects.filter(pl.col("true_value").is_not_null(), pl.col("term").is_in(["level", "slope"]))
        .group_by("term")
        .agg(
            pl.len().alias("n_series"),
            covered.mean().alias("share_covered"),
            (pl.col("estimate") - pl.col("true_value")).abs().median().alias("median_abs_error"),
        )
        .sort("term")
    )
