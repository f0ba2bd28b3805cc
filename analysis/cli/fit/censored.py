"""``exodus fit --censored-above DEPTH``: the study's per-event design and entry bounds on any series.

One design path (issue 17): a censored series given to ``exodus fit`` is fitted by exactly the
code the study uses, :func:`analysis.models.events.fit.fit_events`, on an
:class:`~analysis.models.events.design.EventDesign` with one term per ``--intervention``:

- fully observed groups: the per-event model with ``--errors`` (default ``ar1``);
- groups with censored rows: the censored AR(1) likelihood (:mod:`analysis.models.engine.censored_ar1`);
- groups whose pre-period is (almost) entirely censored (fewer than ``MIN_PRE`` = 14 uncensored
  pre-period periods), or ends with 7 or more censored periods: the entry bounds of
  :mod:`analysis.models.events.bounds` (an upper bound on the cumulative effect of the terms up to
  the period the series is first uncensored, under the assumptions stated in its reason; the terms
  after it from a post-entry censored AR(1) sub-fit).

So no group is dropped: every term of every group has a row, an estimate, a bound, or
``"kind": "not_identified"`` with its reason.  Conventions (as the study's chart ranks): a row
with an empty outcome is censored (its value is above ``DEPTH``), an absent date is a gap; the
threshold on the modelling scale is ``DEPTH + 0.5`` when ``DEPTH`` and every observed value are
whole numbers (ranks: a value above 200 is at least 201), else ``DEPTH``, then ``--transform``
(``log(200.5)`` for ranks below a chart of 200, the study's ``log(chart_depth + 0.5)``).  Periods
of any frequency are the design's time unit.  The window average of the study is not reported
here, nor p-values (the study's rows carry estimate, se and interval), nor the intercept and
trends (the table ``terms`` holds the level and slope-change rows).
"""

from __future__ import annotations

import argparse
from datetime import timedelta

import numpy as np
import polars as pl

from analysis.cli.fit import options as fit_options
from analysis.errors import InputError
from analysis.models.engine import estimate as engine
from analysis.models.events.design import EventDesign, EventTerm
from analysis.models.events.fit import fit_events
from analysis.models.its import frequency as freqs

MIN_PRE = 14  # fit_events' default: uncensored pre-period periods for a point estimate
_SERIES = "app_name"  # the study's key column that carries the group index here


def threshold(values: pl.Series, depth: float, transform: str) -> float:
    """The censoring threshold on the modelling scale (see the module docstring)."""
    obs = values.drop_nulls().cast(pl.Float64)
    whole = float(depth).is_integer() and bool((obs == obs.round(0)).all())
    return float(engine.transform_outcome(np.array(depth + (0.5 if whole else 0.0)), transform))


def check(args: argparse.Namespace, model: engine.ModelSpec) -> None:
    """Options the study's path cannot honour stop with :class:`InputError` (exit 2)."""
    if model.impact_obj.kind == "pulse":
        raise InputError("--censored-above fits the study's event design, whose shapes are step, step+slope "
                         "or decay:H, not pulse")
    if args.hac_lags is not None:
        raise InputError("--hac-lags: the --censored-above path uses the automatic Newey-West lag")
    if args.contrast or getattr(args, "group_col", None):
        raise InputError("--censored-above cannot be combined with --contrast or --group-col: a difference of "
                         "censored series is not censored above DEPTH")


def panel_and_design(df: pl.DataFrame, by: list[str], args: argparse.Namespace, model: engine.ModelSpec,
                     labels: list[str], cut: list[float], T: int) -> tuple[pl.DataFrame, pl.DataFrame, EventDesign]:
    """The study's panel (keys, ``date``, ``rank`` = the outcome, ``status``) and event design.

    Daily data keep their dates, so the same panel gives the study's rows; other frequencies
    are laid on consecutive days from the first date (one day per period; weekdays unused)."""
    dcol, freq = args.date_col, args.frequency
    start = df[dcol].min()
    groups = df.select(by).unique().sort(by) if by else pl.DataFrame({"_g": [0]})
    keyed = df.join(groups.with_row_index("_gi"), on=by, how="left") if by else df.with_columns(
        pl.lit(0, pl.UInt32).alias("_gi"))
    t = freqs.period_index(keyed[dcol], start, freq)
    panel = keyed.select(
        pl.col("_gi").cast(pl.String).str.zfill(9).alias(_SERIES), pl.lit("").alias("country"),
        pl.lit("").alias("store"), (pl.lit(start) + pl.duration(days=pl.Series(t.astype(np.int64)))).alias("date"),
        pl.col(args.outcome).cast(pl.Float64).alias("rank"),
        pl.when(pl.col(args.outcome).is_null()).then(pl.lit("censored")).otherwise(pl.lit("observed")).alias("status"))
    terms = tuple(EventTerm(lab, (lab,), start + timedelta(days=int(c)), model.impact_obj, ("intervention",), (lab,))
                  for lab, c in zip(labels, cut, strict=True))
    empty_m = pl.DataFrame(schema={"term_id": pl.String, "events": pl.String, "first_snapshot": pl.Date,
                                   "reason": pl.String})
    empty_x = pl.DataFrame(schema={"event_id": pl.String, "reason": pl.String})
    design = EventDesign(terms, start, start + timedelta(days=T - 1), empty_m, empty_x)
    return panel, groups, design


def _effect(row: dict) -> dict:
    if row["kind"] == "estimate":
        return {"kind": "estimate", "estimate": row["estimate"], "se": row["se"], "ci_low": row["ci_low"],
                "ci_high": row["ci_high"], "p_value": None, "reason": row["reason"]}
    out = {"kind": row["kind"], "estimate": None, "se": None, "ci_low": None, "ci_high": None, "p_value": None,
           "reason": row["reason"]}
    if row["kind"] == "bound":
        out |= {"side": row["side"], "bound": row["bound"]}
    return out


def fit(df: pl.DataFrame, by: list[str], model: engine.ModelSpec, args: argparse.Namespace,
        labels: list[str], cut: list[float], T: int, model_info: dict) -> list[dict]:
    """One dict per group, as :func:`analysis.cli.fit.command.fit_all`, from the study's ``fit_events``."""
    check(args, model)
    panel, groups, design = panel_and_design(df, by, args, model, labels, cut, T)
    thr = threshold(df[args.outcome], args.censored_above, model.transform)
    ef = fit_events(panel, design, errors=model.errors, seasonality=model.seasonality, alpha=model.alpha,
                    min_pre=MIN_PRE, transform=model.transform, threshold=thr)
    info = model_info | {"censoring_threshold": thr, "description": (
        f"study path (analysis.models.events.fit): groups with censored rows by the censored AR(1) likelihood, "
        f"fully observed groups with errors {model.errors}; entry bounds where the pre-period is censored")}
    first = design.terms[0].id
    effects = ef.effects.filter(pl.col("estimand") != "window_average")
    fits = []
    for s in range(groups.height):
        key = f"{s:09d}"
        group = {c: fit_options.json_value(groups[c][s]) for c in by}
        d = ef.diagnostics.filter(pl.col(_SERIES) == key).row(0, named=True)
        entry: dict = {"group": group, "n_pre": d["n_pre"], "n_post": d["n"] - d["n_pre"], "model": info,
                       "effects": {}, "terms": []}
        for r in effects.filter(pl.col(_SERIES) == key).to_dicts():
            base = {"level": "level", "slope": "slope", "decay": "level"}[r["estimand"]]
            name = base if r["event_id"] == first else f"{base}@{r['event_id']}"
            entry["effects"][name] = _effect(r)
            if r["kind"] == "estimate":
                entry["terms"].append({"name": name.replace("slope", "slope_change"), "estimate": r["estimate"],
                                       "se": r["se"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p": None})
        entry["diagnostics"] = {"n": d["n"], "n_pre": d["n_pre"], "n_censored": d["n_censored"], "rho": d["rho"],
                                "rho_pre": d["rho_pre"], "warnings": d["warnings"].split("; ") if d["warnings"] else []}
        if not any(e["kind"] in ("estimate", "bound") for e in entry["effects"].values()):
            entry["error"] = next(iter(entry["effects"].values()))["reason"]
        fits.append(entry)
    return fits


def row_line(term: str, e: dict) -> str:
    """Text-table line of a term without a point estimate: its bound, or why there is none."""
    if e["kind"] == "bound":
        rel = "<=" if e["side"] == "upper" else ">="
        return f"   {term:<22}bound: change {rel} {e['bound']:.4g} ({e['side']} bound; no point estimate)"
    return f"   {term:<22}not identified: {e['reason']}"

