"""``exodus fit --group-col COL --treated VALUE``: the multiple-group ITSA (stacked two-group panel).

Within each ``--by`` group, the rows with ``COL`` = VALUE are the treated series and the rows
with any other value of ``COL`` the controls.  The controls are averaged per period on the
modelling scale (after ``--transform``): the control series of a period is the mean of the
control values of that period, and a period where any control has no value is a gap of the
control series (a changing set of controls would put composition jumps into its average).  The
treated series and that average are stacked and fitted by
:func:`analysis.models.its.multigroup.fit_two_group` (Newey-West within group, or iid), whose table
adds the four difference terms ``group``, ``group_trend``, ``group_level`` and
``group_slope_change`` (and ``group_post_trend``) to the control's single-group terms.  In the
JSON ``effects``, ``level`` and ``slope`` are the difference terms ``group_level`` and
``group_slope_change`` (the treatment effect against the controls).
"""

from __future__ import annotations

import argparse

import numpy as np
import polars as pl

from analysis.cli.fit import checks as fitcheck
from analysis.cli.fit import options as fit_options
from analysis.errors import InputError
from analysis.models.engine import estimate as engine
from analysis.models.its import frequency as freqs
from analysis.models.its.multigroup import fit_two_group, paths

AUTOCORR_NOTE = "pre-period trends differ between treated and controls"


def check(args: argparse.Namespace, model: engine.ModelSpec, df: pl.DataFrame, by: list[str]) -> list[str]:
    """Argument checks (exit 2); returns the control values of ``--group-col``."""
    if bool(args.group_col) != bool(args.treated):
        raise InputError("--group-col and --treated go together (the column and its treated value)")
    if args.contrast or args.censored_above is not None:
        raise InputError("--group-col cannot be combined with --contrast or --censored-above")
    if model.family != "gaussian" or model.errors not in ("hac", "iid"):
        raise InputError(f"--group-col fits the stacked two-group OLS: --family gaussian and --errors hac or iid, "
                         f"not {model.family} / {model.errors}")
    if model.impact_obj.kind not in ("step", "step+slope") or model.seasonality != "none":
        raise InputError("--group-col supports --impact step or step+slope and --seasonality none")
    if args.group_col not in df.columns:
        raise InputError(f"--group-col {args.group_col!r} is not a column of {args.data}; available: {df.columns}")
    values = df[args.group_col].cast(pl.String).unique().sort().to_list()
    if args.treated not in values:
        raise InputError(f"--treated {args.treated!r}: no rows of {args.data} with {args.group_col} = {args.treated}")
    controls = [v for v in values if v != args.treated]
    if not controls:
        raise InputError(f"--group-col {args.group_col}: every row is treated ({args.treated}); no control series")
    return controls


def series(df: pl.DataFrame, args: argparse.Namespace, model: engine.ModelSpec, controls: list[str],
           ti: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Treated series and the per-period mean of the controls on the grid (NaN = gap)."""
    y = engine.transform_outcome(df[args.outcome].cast(pl.Float64).fill_null(np.nan).to_numpy(), model.transform)
    g = df[args.group_col].cast(pl.String).to_numpy()
    y1 = np.full(T, np.nan)
    y1[ti[g == args.treated]] = y[g == args.treated]
    Y0 = np.full((len(controls), T), np.nan)
    for i, c in enumerate(controls):
        Y0[i, ti[g == c]] = y[g == c]
    return y1, Y0.mean(axis=0)  # NaN where any control is missing


def fit(df: pl.DataFrame, by: list[str], model: engine.ModelSpec, args: argparse.Namespace,
        keep: dict | None = None) -> list[dict]:
    """One dict per ``--by`` group, as :func:`analysis.cli.fit.command.fit_all` (terms, effects, diagnostics);
    ``keep`` receives the grid and each group's paths (for ``--figure``)."""
    controls = check(args, model, df, by)
    dcol, freq = args.date_col, args.frequency
    start, end = df[dcol].min(), df[dcol].max()
    dates = freqs.grid(start, end, freq)
    T = dates.len()
    interventions, cut = fit_options.intervention_cutoffs([freqs.resolve_intervention(x, freq) for x in args.intervention], dates, freq,
                                  (start, end))
    labels = [freqs.label(d, freq) for d in interventions]
    groups = df.select(by).unique().sort(by) if by else pl.DataFrame({"_g": [0]})
    info = fit_options.model_info(model, args, labels, []) | {
        "design": "multiple-group (stacked two-group panel)", "group_col": args.group_col, "treated": args.treated,
        "controls": controls, "control_average": "mean of the controls per period; a period where any control "
        "has no value is a gap"}
    fits = []
    for s in range(groups.height):
        sub = df
        for c in by:
            sub = sub.filter(pl.col(c) == groups[c][s])
        ti = freqs.period_index(sub[dcol], start, freq).astype(int)
        y1, y0 = series(sub, args, model, controls, ti, T)
        entry: dict = {"group": {c: fit_options.json_value(groups[c][s]) for c in by}, "n_pre": int((~np.isnan(y1[:int(cut[0])])).sum()),
                       "n_post": int((~np.isnan(y1[int(cut[0]):])).sum()), "model": info}
        fits.append(entry | _one(y1, y0, cut, labels, model, args, groups, by, s))
    if keep is not None:
        keep |= {"dates": dates, "cut": cut, "paths": [f.pop("_path", None) for f in fits]}
    for f in fits:
        f.pop("_path", None)
    return fits


def _one(y1: np.ndarray, y0: np.ndarray, cut: list[float], labels: list[str], model: engine.ModelSpec,
         args: argparse.Namespace, groups: pl.DataFrame, by: list[str], s: int) -> dict:
    """Checks and the fit of one group: effects, terms, diagnostics (or an error)."""
    Y = np.vstack([y1, y0])
    lab = fitcheck.group_label(groups, s, by)
    pair = pl.DataFrame({"series": [f"{lab}: treated", f"{lab}: control mean"]})
    fitcheck.check_segments(Y, cut, labels, model, pair, ["series"], args.frequency, {})
    k = 2 * (2 + len(model.impact_obj.terms) * len(cut))
    need, df_min = fitcheck.min_rows(k, model.errors)
    n = int((~np.isnan(Y)).sum())
    if n < need:
        return {"effects": {}, "terms": [], "diagnostics": {},
                "error": f"{n} stacked rows with a value, but {k} terms need at least {need} ({df_min} residual df)"}
    try:
        r = fit_two_group(y1, y0, np.arange(y1.size, dtype=float), cut, labels, model.impact_obj, model.errors,
                          model.hac_maxlags, model.hac_correction, model.alpha)
    except ValueError as exc:
        return {"effects": {}, "terms": [], "diagnostics": {}, "error": str(exc)}
    terms = r.table()
    by_name = {t["name"]: t for t in terms}
    effects = {}
    for t in terms:
        if t["name"].startswith(("group_level", "group_slope_change")):
            key = t["name"].removeprefix("group_").replace("slope_change", "slope")
            effects[key] = {"kind": "estimate", "estimate": t["estimate"], "se": t["se"], "ci_low": t["ci_low"],
                            "ci_high": t["ci_high"], "p_value": t["p"]}
    warn = []
    pt = by_name["group_trend"]
    if pt["p"] < 0.05:
        warn.append(f"{AUTOCORR_NOTE} (group_trend {pt['estimate']:.3g} {freqs.slope_unit(args.frequency)}, "
                    f"p = {pt['p']:.2g}): the controls are not a valid comparison")
    diag = {"n": r.n_treated + r.n_control, "n_treated": r.n_treated, "n_control": r.n_control,
            "hac_maxlags": r.lags if model.errors == "hac" else None, "warnings": warn}
    fitted1, fitted0, cf1 = paths(r, np.arange(y1.size, dtype=float), cut, labels, model.impact_obj)
    path = {"y1": y1, "y0": y0, "fitted1": fitted1, "fitted0": fitted0, "cf1": cf1}
    return {"effects": effects, "terms": terms, "diagnostics": diag, "_path": path}
