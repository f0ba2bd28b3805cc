"""``exodus fit``: frequency, error-model and output options, and the model's description.

- ``--frequency {daily,weekly,monthly,quarterly,annual}``: the series' frequency; inferred from the
  dates when omitted (:mod:`analysis.models.its.frequency`) and printed.  Slopes are per period of it.
- ``--hac-lags N``: the Newey-West lag (default: the automatic rule floor(4 (n/100)^(2/9)) of
  Newey & West 1994, on each group's own n); the output names the lag used.
- ``--hac-correction {stata,none}``: the small-sample factor of the OLS HAC covariance: ``stata``
  (default) multiplies it by n/(n-k) as Stata's ``newey`` does (statsmodels:
  ``cov_kwds={"use_correction": True}``); ``none`` leaves it out (statsmodels' default,
  ``use_correction=False``).  Both use the t(n-k) reference.
- ``--errors`` defaults to ``hac`` with one intervention and to ``ar1`` with several (an event
  design): a short event segment has leverage near 1, its residuals are near zero and the
  Newey-West sandwich collapses (coverage 37-49% against 92-98% for AR(1) in the simulation of
  issue 19); ``hac`` with a segment shorter than the lag + 2 periods is refused
  (:func:`analysis.cli.fit.checks.check_segments`).
- ``--group-col COL --treated VALUE``: the multiple-group ITSA
  (:mod:`analysis.cli.fit.multigroup`); ``--figure PATH``: observed, fitted and counterfactual
  (:mod:`analysis.figures.fit`).
"""

from __future__ import annotations

import argparse
import math
from datetime import date

import numpy as np
import polars as pl

from analysis.errors import InputError
from analysis.models.engine import estimate as engine
from analysis.models.its import frequency as freqs


def _lags_arg(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {v}")
    return v


def add_arguments(f: argparse.ArgumentParser) -> None:
    """Add the frequency, HAC, multiple-group and figure options to the ``fit`` parser."""
    f.add_argument("--frequency", choices=freqs.FREQUENCIES, default=None,
                   help="frequency of the dates (default: inferred and printed); slopes are per period of it")
    f.add_argument("--hac-lags", type=_lags_arg, default=None, metavar="N",
                   help="Newey-West lag for --errors hac (default: floor(4 (n/100)^(2/9)))")
    f.add_argument("--hac-correction", choices=("stata", "none"), default="stata",
                   help="small-sample factor of the HAC covariance: n/(n-k) as Stata's newey (default), or none")
    f.add_argument("--group-col", metavar="COL",
                   help="multiple-group ITS: column naming the treated and the control series")
    f.add_argument("--treated", metavar="VALUE", help="multiple-group ITS: the treated value of --group-col")
    f.add_argument("--figure", metavar="PATH", help="write observed, fitted and counterfactual to PATH (.png or .svg)")


def default_errors(args: argparse.Namespace) -> str:
    """``ar1`` for an event design (several interventions, gaussian) and for censored data (the
    study's censored AR(1) path), else ``hac``."""
    if args.group_col:  # the stacked two-group OLS: Newey-West within group
        return "hac"
    if args.family == "gaussian" and (len(set(args.intervention)) > 1 or args.censored_above is not None):
        return "ar1"
    return "hac"


def model_spec(args: argparse.Namespace) -> engine.ModelSpec:
    """The model the arguments declare; contradictions stop with :class:`InputError` (exit 2)."""
    if bool(args.group_col) != bool(args.treated):
        raise InputError("--group-col and --treated go together (the column and its treated value)")
    args.errors_default = args.errors is None
    errors = args.errors or default_errors(args)
    censored = args.censored_above is not None and args.family == "gaussian"
    if args.hac_lags is not None and errors != "hac":
        raise InputError(f"--hac-lags applies to --errors hac, not {errors}")
    if args.hac_correction == "none" and (errors != "hac" or args.family != "gaussian" or censored):
        raise InputError("--hac-correction none applies to the OLS Newey-West fit (--errors hac, gaussian family, "
                         "not censored) only")
    try:
        return engine.ModelSpec(impact=args.impact, seasonality=args.seasonality, errors=errors,
                                family=args.family, transform=args.transform, alpha=args.alpha, censored=censored,
                                hac_maxlags=args.hac_lags, hac_correction=args.hac_correction == "stata")
    except ValueError as exc:
        raise InputError(str(exc)) from None


def describe_errors(model: engine.ModelSpec, args: argparse.Namespace) -> str:
    """The error model in words, with the HAC lag rule and correction actually used."""
    text = model.describe_errors()
    if model.errors == "hac":
        lag = f"lag {model.hac_maxlags} (--hac-lags)" if model.hac_maxlags is not None else \
            "lags floor(4(n/100)^(2/9))"
        text = text.replace("(lags floor(4(n/100)^(2/9)))", f"({lag})")
        if model.family == "gaussian" and not model.censored:
            text += ("; small-sample factor n/(n-k) (Stata newey)" if model.hac_correction
                     else "; no small-sample factor")
    if args.errors_default:
        why = ("the two-group panel" if args.group_col else "censored data" if args.censored_above is not None
               else "several interventions" if model.errors == "ar1" else "one intervention")
        text += f" [default for {why}]"
    return text


def model_info(model: engine.ModelSpec, args: argparse.Namespace, labels: list[str], names: list[str]) -> dict:
    """The ``model`` entry of every fit in the JSON output."""
    info = {**model.as_dict(), "interventions": labels, "frequency": args.frequency,
            "frequency_inferred": args.frequency_inferred, "slope_unit": freqs.slope_unit(args.frequency),
            "description": describe_errors(model, args), "impact_description": model.impact_obj.describe(),
            "terms": names}
    if model.errors == "hac":
        info |= {"hac_lags": model.hac_maxlags if model.hac_maxlags is not None else "auto",
                 "hac_correction": ("stata" if model.hac_correction else "none")
                 if model.family == "gaussian" and not model.censored else None}
    del info["censored"]
    if args.censored_above is not None:
        info["censored_above"] = args.censored_above
    return info


def fmt_number(v: float | None, p: bool = False) -> str:
    """A number of the text table: four significant digits, p-values as "<0.001", "NA" when missing."""
    if v is None:
        return "NA"
    if p:
        return "<0.001" if v < 0.001 else f"{v:.3f}"
    return f"{v:.4g}"


def terms_lines(terms: list[dict], level: str, unit: str, ratios: dict[str, dict] | None = None) -> list[str]:
    """The coefficient table of one group (all terms, intervals, p-values; the slopes' unit named);
    ``ratios``: effect term -> its ``effects`` entry, whose ratio is printed (log scale)."""
    ratios = ratios or {}

    def label(name: str) -> str:
        return f"{name} ({unit})" if name.split("@")[0].endswith(("trend", "slope_change")) else name

    w = max(len(label(t["name"])) for t in terms) + 2
    out = [f"   {'term':<{w}}{'estimate':>11}{'se':>10}   {level + ' CI':<24}{'p':>8}"
           + (f"   ratio [{level} CI]" if ratios else "")]
    for t in terms:
        has_se = t.get("se") is not None
        ci = "[" + fmt_number(t.get("ci_low")) + ", " + fmt_number(t.get("ci_high")) + "]" if has_se else ""
        line = (f"   {label(t['name']):<{w}}{fmt_number(t['estimate']):>11}{fmt_number(t.get('se')):>10}   {ci:<24}"
                f"{fmt_number(t.get('p'), True) if has_se else '':>8}")
        e = ratios.get(t["name"])
        if e:
            line += f"   {fmt_number(e['ratio'])} [{fmt_number(e['ratio_ci_low'])}, {fmt_number(e['ratio_ci_high'])}]"
        out.append(line)
    return out


def json_value(v):
    """``v`` as a JSON value: numpy scalars as Python numbers, NaN/inf as null, dates as ISO strings."""
    if isinstance(v, float | np.floating):
        v = float(v)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, date):
        return v.isoformat()
    return v


def intervention_cutoffs(dates: list[date], grid_dates: pl.Series, freq: str,
             span: tuple[date, date]) -> tuple[list[date], list[float]]:
    """The distinct intervention dates, sorted, and each one's first period index on the grid.

    Stops with :class:`InputError` when dates repeat, when one is not strictly inside the data
    (rows before and after it are needed), or when two fall in the same period."""
    interventions = sorted(set(dates))
    if len(interventions) != len(dates):
        raise InputError("--intervention dates must be distinct")
    cut = []
    for d in interventions:
        after = np.nonzero((grid_dates >= d).to_numpy())[0]
        if after.size == 0 or after[0] == 0:
            raise InputError(f"intervention {d} is not inside the data ({span[0]} .. {span[1]}): "
                             "need rows before and after it")
        cut.append(float(after[0]))
    if len(set(cut)) != len(cut):
        raise InputError(f"interventions {', '.join(map(str, interventions))} fall in the same {freq} period")
    return interventions, cut
