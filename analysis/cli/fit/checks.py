"""Refuse degenerate ``exodus fit`` inputs before fitting, naming the column, row or group.

Checks (each raises :class:`analysis.errors.InputError` / :class:`DataError`, exit 2):

- :func:`check_columns` - the date column is not also the outcome (or a ``--by``/exposure
  column), and the outcome is a plain numeric or text column: Date, Datetime, Boolean, List,
  Array and Struct outcomes are refused instead of being cast silently;
- :func:`check_finite` - no ``inf``/``-inf``/``NaN`` in the outcome or exposure (the row is named);
- :func:`check_allocation` - ``--by`` groups x grid periods stays under :data:`MAX_CELLS`
  (the fit holds several float64 matrices of that size);
- :func:`check_variation` - every group's outcome varies (a constant series makes the fit exact
  and its standard errors zero, so any effect would look "significant");
- :func:`check_rank` - every group's design, restricted to its observed rows, has full column
  rank (otherwise a term is not identified: e.g. a second intervention after a group's last row).

Groups with too few rows for the model are left to the engine, which reports them as not
estimable and fits the others.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from analysis.errors import DataError, InputError

MAX_CELLS = 20_000_000  # groups x periods; 8 bytes each, several matrices of this size
ROW = "_row"
_REFUSED_TYPES = (pl.Date, pl.Datetime, pl.Duration, pl.Time, pl.Boolean, pl.List, pl.Array, pl.Struct,
                  pl.Object, pl.Binary)


def _dtype_name(dtype: pl.DataType) -> str:
    return str(dtype)


def check_columns(df: pl.DataFrame, date_col: str, outcome: str, by: list[str], exposure: str | None,
                  src: str) -> None:
    """Roles do not overlap and the outcome's type is numeric (or text holding numbers)."""
    if outcome == date_col:
        raise InputError(f"--outcome and --date-col are the same column {outcome!r}; give the dated values "
                         "as the outcome and the dates as --date-col")
    for role, cols in (("--by", by), ("--exposure", [exposure] if exposure else [])):
        clash = {outcome, date_col} & set(cols)
        if clash:
            raise InputError(f"{role} column {sorted(clash)[0]!r} is also the date or the outcome column")
    for col, role in ((outcome, "outcome"), *((c, "exposure") for c in ([exposure] if exposure else []))):
        dtype = df.schema[col]
        if isinstance(dtype, _REFUSED_TYPES) or dtype in _REFUSED_TYPES:
            raise DataError(f"the {role} must be numeric, but the column has type {_dtype_name(dtype)} "
                            "(refused rather than cast)", file=src, column=col)
    for col in [date_col, *by]:
        dtype = df.schema[col]
        if isinstance(dtype, (pl.List, pl.Array, pl.Struct)) or dtype in (pl.Object, pl.Binary):
            raise DataError(f"has type {_dtype_name(dtype)}, which cannot be a date or a group key",
                            file=src, column=col)


def check_finite(df: pl.DataFrame, col: str, src: str) -> None:
    """No infinite or NaN value in the (numeric, already cast) column ``col``; names the row."""
    from analysis.data.csvcheck import fail_first

    c = pl.col(col)
    fail_first(df, c.is_not_null() & (c.is_infinite() | c.is_nan()), "not a finite number (inf or NaN)", src, col, ROW)


def check_allocation(n_groups: int, n_periods: int, by: list[str], src: str) -> None:
    """Refuse a grid of more than :data:`MAX_CELLS` cells (groups x periods)."""
    cells = n_groups * n_periods
    if cells > MAX_CELLS:
        gib = cells * 8 * 4 / 2**30
        raise InputError(
            f"--by {','.join(by) or '(none)'} gives {n_groups:,} groups x {n_periods:,} periods = {cells:,} cells "
            f"(about {gib:.1f} GiB to fit), over the cap of {MAX_CELLS:,}; is the --by column unique per row? "
            f"Select fewer groups with --where (file {src})")


def group_label(groups: pl.DataFrame, s: int, by: list[str]) -> str:
    return ", ".join(f"{c}={groups[c][s]}" for c in by) if by else "(the only group)"


def check_variation(y: np.ndarray, groups: pl.DataFrame, by: list[str], outcome: str) -> None:
    """Every group's observed outcome (rows of ``y``, NaN = missing) takes at least two values."""
    for s in range(y.shape[0]):
        obs = y[s][~np.isnan(y[s])]
        if obs.size >= 2 and np.ptp(obs) == 0:
            raise InputError(f"group {group_label(groups, s, by)}: the outcome {outcome!r} is constant "
                             f"({obs[0]:g} on all {obs.size} rows), so no effect is identified; "
                             "exclude the group with --where")


def check_rank(X: np.ndarray, names: list[str], y: np.ndarray, groups: pl.DataFrame, by: list[str],
               first_cut: int) -> None:
    """Full column rank of ``X`` (T, k) on each group's observed rows.  Groups the engine
    reports itself as not estimable are skipped: no more rows than columns, or no row before
    or none from the first intervention (grid position ``first_cut``) on."""
    k = X.shape[1]
    for s in range(y.shape[0]):
        obs = ~np.isnan(y[s])
        Xs = X[obs]
        if Xs.shape[0] <= k or not obs[:first_cut].any() or not obs[first_cut:].any():
            continue
        rank = np.linalg.matrix_rank(Xs)
        if rank < k:
            zero = [n for n, col in zip(names, Xs.T, strict=True) if not np.any(col)]
            what = f"; terms without any observed row: {', '.join(zero)}" if zero else ""
            raise InputError(f"group {group_label(groups, s, by)}: the design is rank-deficient (rank {rank} "
                             f"< {k} terms){what}; the model's terms are not all identified by this group's rows")




MAX_ABS = 1e100  # |outcome| above this: sums of squares of a few hundred rows overflow float64
MIN_RESID_DF = {"iid": 1, "hac": 2, "ar": 6}  # residual df (n - k) below which a fit is refused


def check_magnitude(df: pl.DataFrame, col: str, transform: str, src: str) -> None:
    """Refuse outcomes so large that the fit's sums of squares overflow (names the row)."""
    from analysis.data.csvcheck import fail_first

    if transform == "log":
        return
    c = pl.col(col)
    fail_first(df, c.is_not_null() & (c.abs() > MAX_ABS),
               f"too large to fit in double precision (|value| > {MAX_ABS:.0e}: its square overflows); "
               "rescale the outcome (e.g. divide it by 1e6) or use --transform log", src, col, ROW)


def min_rows(k: int, errors: str) -> tuple[int, int]:
    """(fewest rows with a value, residual df) a fit of ``k`` terms needs under ``errors``.

    Ordinary least squares needs one residual df for a variance (two for a HAC sandwich whose
    small-sample factor n/(n-k) is then at most n/2); AR(1) errors estimate rho from the
    residuals as well, and below 6 residual df its ML estimate runs to the boundary of its
    range (rho-hat = -0.98 on 5-7 rows with 4 terms, issue 20)."""
    df = MIN_RESID_DF["ar" if errors.startswith("ar") else errors]
    return k + df, df


def check_rows(k: int, y: np.ndarray, model, groups: pl.DataFrame, by: list[str]) -> dict[int, str]:
    """Groups with too few rows for the model (reasons by group index); all of them: exit 2."""
    need, df = min_rows(k, model.errors)
    n = (~np.isnan(y)).sum(axis=1)
    short = {s: f"{int(n[s])} rows with a value, but {k} terms with errors {model.errors} need at least {need} "
                f"({df} residual degrees of freedom)" for s in range(y.shape[0]) if n[s] < need}
    if len(short) == y.shape[0]:
        where = f"group {group_label(groups, 0, by)}: " if by else ""
        raise InputError(f"too few rows to fit: {where}{short[0]}; use fewer terms (--impact step, "
                         "--seasonality none) or more periods")
    return short


def check_segments(y: np.ndarray, cut: list[float], labels: list[str], model, groups: pl.DataFrame,
                   by: list[str], freq: str, skip: dict[int, str]) -> None:
    """Refuse ``--errors hac`` when a segment (the pre-period, or the periods from one
    intervention to the next) has fewer observed periods than the HAC lag + 2.

    Such a segment has its own level (and slope) column, so its fitted values pass (almost)
    through its observations: leverage near 1, residuals near 0, and the Newey-West sandwich
    built from those residuals collapses (median se 0.09 against an empirical sd of 0.33 for a
    one-day segment; 37-49% coverage of nominal 95%, issue 19).  AR(1) errors model the
    dependence instead of estimating it from the residuals and cover (92-98%)."""
    if model.errors != "hac":
        return
    from analysis.models.engine.batched import newey_west_lags

    edges = [0, *[int(c) for c in cut], y.shape[1]]
    names = ["the pre-period", *(f"the segment from {lab}" for lab in labels)]
    obs = ~np.isnan(y)
    for s in range(y.shape[0]):
        if s in skip:
            continue
        lag = model.hac_maxlags if model.hac_maxlags is not None else int(newey_west_lags(int(obs[s].sum())))
        for name, a, b in zip(names, edges[:-1], edges[1:], strict=True):
            m = int(obs[s, a:b].sum())
            if 0 < m < lag + 2:
                where = f" of group {group_label(groups, s, by)}" if by else ""
                raise InputError(
                    f"{name}{where} has {m} {freq} period(s) with a value, fewer than the HAC lag {lag} + 2: its "
                    "residuals are (near) zero and Newey-West standard errors are far too small there; use "
                    "--errors ar1 (AR(1) errors), or a smaller --hac-lags if the segment allows it")
