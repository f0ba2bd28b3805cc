"""``exodus fit --contrast`` and ``--pool``: comparative and pooled designs on top of ``fit``.

``--contrast COL=TREATED:C1[,C2...]`` replaces, within each ``--by`` group, the series of
``COL`` = TREATED and the controls by one series: TREATED minus the mean of the controls on the
modelling scale (after ``--transform``), on the dates where all of them have a value; that series
is fitted with the same model.  The group gains ``"contrast": "us - mean(gb,de)"`` and its
diagnostics a ``"parallel_trends"`` entry: the pre-period (before the first intervention) slope of
the contrast, i.e. the treated minus the mean control slope, with se and p-value
(:func:`analysis.models.events.contrast.parallel_trends`).

``--pool`` adds random-effects (REML) pooled estimates of each term across the fitted groups
(:func:`analysis.models.events.pooling.pool`).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import polars as pl

from analysis.errors import InputError
from analysis.models.engine import estimate as engine
from analysis.models.events.contrast import contrast_label, parallel_trends
from analysis.models.events.pooling import pool

CONTRAST_KEY = "contrast"


def parse_contrast(text: str) -> tuple[str, str, list[str]]:
    """``COL=TREATED:C1[,C2...]`` -> (COL, TREATED, [C1, ...])."""
    col, sep, rest = text.partition("=")
    treated, sep2, ctrl = rest.partition(":")
    controls = [c.strip() for c in ctrl.split(",") if c.strip()]
    if not (sep and sep2 and col.strip() and treated.strip() and controls):
        raise InputError(f"--contrast expects COL=TREATED:C1[,C2...], got {text!r}")
    if treated.strip() in controls:
        raise InputError(f"--contrast {text!r}: {treated.strip()!r} is both treated and a control")
    if len(set(controls)) != len(controls):
        raise InputError(f"--contrast {text!r}: a control is listed twice")
    return col.strip(), treated.strip(), controls


def apply_contrast(df: pl.DataFrame, by: list[str], model: engine.ModelSpec, args: argparse.Namespace, src: str
                   ) -> tuple[pl.DataFrame, list[str], engine.ModelSpec]:
    """The contrast series of every ``--by`` group; the model then fits it untransformed."""
    col, treated, controls = parse_contrast(args.contrast)
    if col not in df.columns:
        raise InputError(f"--contrast column {col!r} not found in {src}; available: {df.columns}")
    if model.family != "gaussian":
        raise InputError("--contrast needs the gaussian family (a difference of counts is not a count)")
    if CONTRAST_KEY in df.columns:
        raise InputError(f"{src} already has a column named {CONTRAST_KEY!r}; rename it to use --contrast")
    present = set(df[col].cast(pl.String).unique().to_list())
    missing = [v for v in (treated, *controls) if v not in present]
    if missing:
        raise InputError(f"--contrast: no rows of {src} with {col} = {', '.join(missing)}")
    rest = [b for b in by if b != col]
    y = engine.transform_outcome(df[args.outcome].cast(pl.Float64).fill_null(np.nan).to_numpy(), model.transform)
    long = (df.select(*rest, args.date_col, pl.col(col).cast(pl.String))
            .with_columns(pl.Series("_y", y)).filter(pl.col(col).is_in([treated, *controls]), pl.col("_y").is_not_nan()))
    wide = long.pivot(on=col, index=[*rest, args.date_col], values="_y")
    have = pl.all_horizontal([pl.col(c).is_not_null() for c in (treated, *controls)])
    diff = pl.col(treated) - pl.mean_horizontal([pl.col(c) for c in controls])
    out = (wide.filter(have)
           .select(*rest, pl.lit(contrast_label(treated, controls)).alias(CONTRAST_KEY), args.date_col,
                   diff.alias(args.outcome))
           .sort([*rest, args.date_col]))
    if out.is_empty():
        raise InputError(f"--contrast: {treated} and {', '.join(controls)} share no date with a value in {src}")
    return out, [*rest, CONTRAST_KEY], replace(model, transform="none")


def add_parallel_trends(fits: list[dict], df: pl.DataFrame, by: list[str], model: engine.ModelSpec,
                        args: argparse.Namespace, freq: str) -> None:
    """Add ``diagnostics["parallel_trends"]`` to every contrast group (in place)."""
    from analysis.models.its import frequency as freqs

    first = min(freqs.resolve_intervention(x, freq) for x in args.intervention)
    season = model.seasonality if (model.seasonality != "dow" or freq == "daily") else "none"
    errors = model.errors if model.errors in ("iid", "hac", "ar1") else "ar1"
    for f in fits:
        g = df
        for c in by:
            g = g.filter(pl.col(c).cast(pl.String) == str(f["group"][c]))
        g = g.sort(args.date_col)
        dates = g[args.date_col]
        t = freqs.period_index(dates, dates.min(), freq)  # periods, as the main fit: one slope unit
        after = dates.filter(dates >= first)  # the post period starts at the first row on or after it
        t0 = float(freqs.period_index(after.head(1), dates.min(), freq)[0]) if after.len() else float(t.max() + 1)
        pt = parallel_trends(g[args.outcome].cast(pl.Float64).to_numpy(), t, t0,
                             dates.dt.weekday().to_numpy() if freq == "daily" else None, season, errors)
        entry = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in pt.as_dict().items()}
        f.setdefault("diagnostics", {})["parallel_trends"] = entry
        if pt.parallel is False:
            f["diagnostics"].setdefault("warnings", []).append(
                f"pre-period trends differ (slope difference {pt.slope_difference:.3g} {freqs.slope_unit(freq)}, p = "
                f"{pt.p_value:.2g}): the controls are not a valid comparison")


def pooled_terms(fits: list[dict], alpha: float) -> list[dict]:
    """REML random-effects pooled estimate of every term across the groups that estimated it."""
    terms: dict[str, list[tuple[float, float]]] = {}
    for f in fits:
        for term, e in f.get("effects", {}).items():
            if e.get("kind", "estimate") == "estimate" and e.get("se") and e.get("estimate") is not None:
                terms.setdefault(term, []).append((e["estimate"], e["se"]))
    out = []
    for term, vals in terms.items():
        p = pool([v[0] for v in vals], [v[1] for v in vals], "reml", alpha)
        out.append({"term": term, "estimate": p.estimate, "se": p.se, "ci_low": p.ci_low, "ci_high": p.ci_high,
                    "tau2": p.tau2, "i2": p.i2, "n_groups": p.n_groups})
    return out


def format_pooled(pooled: list[dict], alpha: float) -> str:
    level = f"{round((1 - alpha) * 100)}%"
    lines = [f"== pooled across groups (random effects, REML; {level} CI)"]
    for p in pooled:
        lines.append(f"   {p['term']:<18}{p['estimate']:>11.4g}{p['se']:>10.4g}   [{p['ci_low']:.4g}, {p['ci_high']:.4g}]"
                     f"   tau2 {p['tau2']:.3g}, I2 {p['i2']:.0%}, {p['n_groups']} groups")
    return "\n".join(lines)
