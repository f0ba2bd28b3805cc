"""The cross-country answer of the per-country pageview study (``wiki-dp``): per-country sums of
each attribution group's terms, the treated country against the mean of the countries where the
privacy shock dominated, and random-effects pooling across countries.

Tables (written into a run's ``tables/`` by the runner, :func:`write_tables`):

- ``attribution.csv``: per app, country and group the ``level`` terms of the group summed
  (``level`` = ``country``), their REML pool across countries (``pooled``) and the contrast
  treated - mean(controls) of the per-event model (``contrast``), as attention multiples;
- ``deplatforming_answer.csv``: for Signal and Telegram, what the deplatformings added in the
  treated country beyond the common privacy shock;
- ``headline_multiples.csv``: the window-average effects as attention multiples;
- ``dp_panel.csv`` and ``dp_noise.csv``: the panel with its editions and what the Laplace noise
  adds at the observed levels (:func:`analysis.data.sources.dp_panel.noise_effect`).

The sums here are of the groups' *level* terms (the long-run step of each group); their standard
errors add the terms' variances, which leaves out the covariances between terms of one fit
(stated in every row as ``se_note``).  The report's headline uses the window contributions with
their full covariance (:mod:`analysis.models.events.attribution`) instead.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from analysis.data.events import event_groups
from analysis.data.sources import dp_panel
from analysis.data.studies.base import StudyData
from analysis.data.studies.wiki_dp import FIRST_EVENT


def _sum_terms(g: pl.DataFrame) -> dict:
    est = float(g["estimate"].sum())
    se = math.sqrt(float((g["se"] ** 2).sum()))
    return {"estimate": est, "se": se, "n_terms": g.height, "terms": "+".join(g["event_id"].to_list())}


def attribution(effects: pl.DataFrame, events: pl.DataFrame, level: str, alpha: float = 0.05,
                groups: dict[str, str] | None = None) -> pl.DataFrame:
    """The ``level``-estimand event terms summed by attribution group, per app, country and store.

    A merged term (``"X04+X05"``) counts in a group when all its events are in it, else in
    ``mixed``.  The sum's standard error adds the terms' variances (their covariances are not in
    the Effects frame: stated as ``se_note``).  ``attention_multiple = exp(-estimate)``: the factor
    on daily pageviews (the pseudo-rank scale of :mod:`analysis.data.sources.dp_panel`).
    """
    from scipy.stats import norm

    g = dict(event_groups(events, groups).select("event_id", "group").iter_rows())
    est = effects.filter(pl.col("kind") == "estimate", pl.col("estimand") == "level", pl.col("se").is_not_null())
    est = est.with_columns(pl.col("event_id").map_elements(
        lambda t: (lambda s: s.pop() if len(s) == 1 else "mixed")({g.get(e, "other") for e in t.split("+")}),
        return_dtype=pl.String).alias("group"))
    rows = [{"level": level, "app_name": k[0], "country": k[1], "store": k[2], "group": k[3], **_sum_terms(part)}
            for k, part in est.group_by("app_name", "country", "store", "group", maintain_order=True)]
    out = pl.DataFrame(rows, schema={"level": pl.String, "app_name": pl.String, "country": pl.String,
                                     "store": pl.String, "group": pl.String, "estimate": pl.Float64,
                                     "se": pl.Float64, "n_terms": pl.Int64, "terms": pl.String})
    return _with_multiples(out, float(norm.ppf(1 - alpha / 2)))


def _with_multiples(out: pl.DataFrame, z: float) -> pl.DataFrame:
    return out.with_columns(
        (pl.col("estimate") - z * pl.col("se")).alias("ci_low"), (pl.col("estimate") + z * pl.col("se")).alias("ci_high"),
    ).with_columns(
        (-pl.col("estimate")).exp().alias("attention_multiple"),
        (-pl.col("ci_high")).exp().alias("multiple_low"), (-pl.col("ci_low")).exp().alias("multiple_high"),
        pl.lit("sum of term variances; covariances between terms not included").alias("se_note"),
    ).sort("level", "app_name", "country", "group")


def pooled_attribution(per_country: pl.DataFrame, alpha: float = 0.05) -> pl.DataFrame:
    """Each app's group sums pooled across the countries that have the same terms (at least two;
    random effects, REML: :func:`analysis.models.events.pooling.pool`)."""
    from scipy.stats import norm

    from analysis.models.events.pooling import pool

    rows = []  # only sums of the same terms are pooled (a country where a term is not identified differs)
    for (app, store, group, _), g in per_country.group_by("app_name", "store", "group", "terms", maintain_order=True):
        g = g.filter(pl.col("se") > 0)
        if g.height < 2:
            continue
        p = pool(g["estimate"].to_list(), g["se"].to_list(), "reml", alpha)
        rows.append({"level": "pooled", "app_name": app, "country": "pooled(" + ",".join(sorted(g["country"])) + ")",
                     "store": store, "group": group, "estimate": p.estimate, "se": p.se,
                     "n_terms": int(g["n_terms"].max()), "terms": g["terms"][0]})
    if not rows:
        return per_country.clear()
    return _with_multiples(pl.DataFrame(rows), float(norm.ppf(1 - alpha / 2))).select(per_country.columns)


def headline_multiples(effects: pl.DataFrame) -> pl.DataFrame:
    """Window-average effects as attention multiples (exp(-L) on daily pageviews)."""
    wa = effects.filter(pl.col("estimand") == "window_average", pl.col("kind") == "estimate")
    return wa.select("app_name", "country", "window_start", "window_end", "estimate", "ci_low", "ci_high",
                     (-pl.col("estimate")).exp().alias("attention_multiple"),
                     (-pl.col("ci_high")).exp().alias("multiple_low"),
                     (-pl.col("ci_low")).exp().alias("multiple_high")).sort("app_name", "country")


def deplatforming_answer(att: pl.DataFrame, apps: tuple[str, ...] = ("Signal", "Telegram")) -> pl.DataFrame:
    """One sentence per app: what the deplatformings added in the treated country beyond the common
    privacy shock (the contrast's deplatforming group), or why it is not available."""
    rows = []
    for app in apps:
        c = att.filter(pl.col("level") == "contrast", pl.col("app_name") == app, pl.col("group") == "deplatforming")
        if c.height == 0:
            rows.append({"app_name": app, "contrast": None, "attention_multiple": None, "multiple_low": None,
                         "multiple_high": None, "sentence": f"{app}: no contrast estimate (the app is not in the lock, "
                         "or a control country has no observed pre-period day: censored below 450)"})
            continue
        r = c.row(0, named=True)
        rows.append({"app_name": app, "contrast": r["country"], "attention_multiple": r["attention_multiple"],
                     "multiple_low": r["multiple_low"], "multiple_high": r["multiple_high"],
                     "sentence": f"{app}: beyond the common privacy shock ({r['country']}), the deplatformings "
                                 f"({r['terms']}) multiplied daily pageviews by {r['attention_multiple']:.2f} "
                                 f"(95% CI {r['multiple_low']:.2f} .. {r['multiple_high']:.2f}); attention, not downloads"})
    return pl.DataFrame(rows, schema={"app_name": pl.String, "contrast": pl.String, "attention_multiple": pl.Float64,
                                      "multiple_low": pl.Float64, "multiple_high": pl.Float64, "sentence": pl.String})


def study_tables(data: StudyData, fit, alpha: float = 0.05) -> dict[str, pl.DataFrame]:
    """The study's own tables from the shared fit (:class:`analysis.models.events.estimates.StudyFit`)."""
    per = attribution(fit.effects, data.events, "country", alpha)
    parts = [per, pooled_attribution(per, alpha)]
    if fit.contrast.height:
        parts.append(attribution(fit.contrast, data.events, "contrast", alpha))
    spec = fit.spec
    window = data.views.filter(pl.col("date").is_between(spec.start, spec.end))
    pre = max((FIRST_EVENT - spec.start).days, 1)
    att = pl.concat(parts, how="vertical_relaxed")
    return {"attribution": att, "deplatforming_answer": deplatforming_answer(att),
            "headline_multiples": headline_multiples(fit.effects),
            "dp_panel": window,
            "dp_noise": dp_panel.noise_effect(window, window_days=spec.window_days, pre_days=pre)}


def write_tables(data: StudyData, fit, params, build: Path) -> None:
    """Write :func:`study_tables` under ``<build>/tables/`` from the run plan's study fit."""
    out = build / "tables"
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in study_tables(data, fit, params.alpha).items():
        frame.write_csv(out / f"{name}.csv", date_format="%Y-%m-%d", float_precision=10)
