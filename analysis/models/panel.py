"""Fit the segmented model to every series of a selection and collect the results."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analysis.errors import NotEstimable
from analysis.models.its import ITSSpec, fit_its

BY = ("app_name", "country")


@dataclass
class PanelFit:
    effects: pl.DataFrame  # app_name, country, term, estimate, se, ci_low, ci_high, p_value, ...
    paths: pl.DataFrame  # app_name, country, date, observed, fitted, counterfactual, ...
    diagnostics: pl.DataFrame  # app_name, country, n_pre, n_post, durbin_watson, ...
    skipped: pl.DataFrame  # app_name, country, reason


def fit_panel(series: pl.DataFrame, spec: ITSSpec) -> PanelFit:
    """Fit each (app, country) series of ``series`` separately (one store and chart)."""
    effects, paths, diags, skipped = [], [], [], []
    keys = series.select(BY).unique().sort(BY)
    for app, country in keys.iter_rows():
        s = series.filter(pl.col("app_name") == app, pl.col("country") == country)
        tag = [pl.lit(app).alias("app_name"), pl.lit(country).alias("country")]
        try:
            r = fit_its(s, spec)
        except NotEstimable as exc:
            skipped.append({"app_name": app, "country": country, "reason": str(exc)})
            continue
        effects.append(r.effects.select(*tag, pl.all()))
        paths.append(r.path.select(*tag, pl.all()))
        diags.append({"app_name": app, "country": country, **r.diagnostics})
    # Empty frames keep their schemas so later steps need no special cases.
    eff = pl.concat(effects) if effects else pl.DataFrame(schema={"app_name": pl.String, "country": pl.String, "term": pl.String, "estimate": pl.Float64, "se": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "p_value": pl.Float64})
    pth = pl.concat(paths) if paths else pl.DataFrame(schema={"app_name": pl.String, "country": pl.String, "date": pl.Date})
    dia = pl.DataFrame(diags) if diags else pl.DataFrame(schema={"app_name": pl.String, "country": pl.String})
    skp = pl.DataFrame(skipped, schema={"app_name": pl.String, "country": pl.String, "reason": pl.String})
    return PanelFit(eff, pth, dia, skp)


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
