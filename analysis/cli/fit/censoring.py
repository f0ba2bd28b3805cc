"""``exodus fit --censored-above DEPTH``: censored outcomes on the command line.

Contract: a row whose outcome cell is empty is **censored**: its value is above ``DEPTH`` (e.g. a
rank below a chart of ``DEPTH`` places); a date without a row is a **gap** (unknown), never
censored.  This module holds the option and its data checks; the fit is the study's per-event
design with entry bounds (:mod:`analysis.cli.fit.censored`): one design path for the study and
the command line.
"""

from __future__ import annotations

import argparse

import numpy as np
import polars as pl

from analysis.data.csvcheck import fail_first
from analysis.errors import DataError, InputError


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
