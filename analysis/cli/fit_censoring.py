"""``exodus fit --censored-above DEPTH``: censored outcomes on the command line.

Contract: a row whose outcome cell is empty is **censored**: its value is above ``DEPTH`` (e.g. a
rank below a chart of ``DEPTH`` places); a date without a row is a **gap** (unknown), never
censored.  The model is the censored likelihood (``--errors iid|hac``: Tobit-type, ``censored.py``;
``--errors ar1``: AR(1) errors by pairwise composite likelihood, ``censored_ar1.py``) with the
threshold ``DEPTH`` on the modelling scale (``log(DEPTH)`` with ``--transform log``).

A group with fewer than ``MIN_RANKED_PRE`` uncensored pre-period values gets no point estimate:
its ``level`` effect is a bound (``analysis.models.its.censoring.bound_from_days``), ``"kind": "bound"``,
``"side": "upper"``, ``"bound"`` = mean of its first post-period values minus the threshold, null
``estimate``/``se``/``ci_*``/``p_value`` and a ``reason``; or, if even that is impossible, the group
is reported as not estimable with the reason.
"""

from __future__ import annotations

import argparse

import numpy as np
import polars as pl

from analysis.data.csvcheck import fail_first
from analysis.errors import DataError, InputError
from analysis.models.engine import estimate as engine
from analysis.models.its.censoring import MIN_RANKED_PRE, bound_from_days


def _depth_arg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not np.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return v


def add_argument(f: argparse.ArgumentParser) -> None:
    f.add_argument("--censored-above", type=_depth_arg, metavar="DEPTH",
                   help="rows with an empty outcome are censored: the value is above DEPTH (a rank below the "
                        "chart); absent dates are gaps, never censored")


def check(args: argparse.Namespace, df: pl.DataFrame, src: str, row_col: str) -> None:
    """Argument and data checks (exit 2 through InputError / DataError)."""
    depth = args.censored_above
    if depth is None:
        return
    if args.family != "gaussian":
        raise InputError(f"--censored-above needs --family gaussian, not {args.family}")
    if args.transform == "log" and depth <= 0:
        raise InputError(f"--censored-above {depth:g} with --transform log: DEPTH must be positive")
    y = pl.col(args.outcome)
    fail_first(df, y.is_not_null() & (y > depth), f"observed value above --censored-above {depth:g} "
               "(censored rows must be empty)", src, args.outcome, row_col)
    if df[args.outcome].null_count() == df.height:
        raise DataError("every outcome is empty (censored): nothing to fit", file=src, column=args.outcome)


def outcome_grid(values: pl.Series, gi: np.ndarray, ti: np.ndarray, shape: tuple[int, int],
                 depth: float | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Groups x periods of raw values (NaN = no value); with ``depth``, present rows without a
    value are censored: they hold ``depth`` and flag +1 (absent periods stay NaN gaps)."""
    Y = np.full(shape, np.nan)
    Y[gi, ti] = values.cast(pl.Float64).fill_null(np.nan).to_numpy()
    if depth is None:
        return Y, None
    present = np.zeros(shape, dtype=bool)
    present[gi, ti] = True
    flag = (present & np.isnan(Y)).astype(float)
    return np.where(flag > 0, depth, Y), flag


def bound_groups(Y: np.ndarray, flag: np.ndarray | None, cut: float, model: engine.ModelSpec,
                 depth: float | None) -> dict[int, dict]:
    """Groups without enough uncensored pre-period values: their bound (or not-identified) result."""
    if flag is None:
        return {}
    out = {}
    pre = np.arange(Y.shape[1]) < cut
    threshold = float(engine.transform_outcome(np.array(depth), model.transform))
    for s in range(Y.shape[0]):
        raw = np.where(flag[s] > 0, np.nan, Y[s])
        r = bound_from_days(raw[pre], flag[s][pre], raw[~pre], flag[s][~pre], upper=threshold,
                            transform=model.transform, min_ranked_pre=MIN_RANKED_PRE,
                            labels=(f"censored (above {depth:g})", ""))
        if r["kind"] != "estimate":
            out[s] = r
    return out


def bound_entry(r: dict) -> dict:
    """The JSON of a bound group's ``level`` effect (or the error of a not-identified one)."""
    if r["kind"] != "bound":
        return {"effects": {}, "diagnostics": {}, "error": r["reason"]}
    level = {"kind": "bound", "side": r["side"], "bound": r["bound"], "estimate": None, "se": None,
             "ci_low": None, "ci_high": None, "p_value": None, "reason": r["reason"]}
    return {"effects": {"level": level}, "diagnostics": {}}


def bound_line(term: str, e: dict) -> str:
    """Text-table line of a bound."""
    rel = "<=" if e["side"] == "upper" else ">="
    return f"   {term:<18}bound: level change {rel} {e['bound']:.4g} ({e['side']} bound; no point estimate)"
