"""Calendar frequency of a regular series: reading, inference, spacing checks and period units.

An interrupted time series is a regression on *periods*, so the unit of every slope is one
period of the series' frequency (Lopez Bernal, Cummins & Gasparrini 2017, *Int J Epidemiol*
46:348: segmented regression with the time index in the series' own unit).  Reading the wrong
frequency silently changes the unit (a slope per month reported for yearly data is 12 times too
small), so the frequency is either stated (``--frequency``) or inferred from the dates and
printed, and dates off the frequency's grid are refused, never relabelled.

Frequencies and their grids (``first`` = the earliest date of the series):

==============  =================================================  ==========
``daily``       any calendar day                                   per day
``weekly``      a whole number of weeks from ``first``             per week
``monthly``     the day of the month of ``first``                  per month
``quarterly``   that day, every third month from ``first``'s month per quarter
``annual``      the month and day of ``first`` (or a year column)  per year
==============  =================================================  ==========

A *year column* (integers such as ``1989``, or whole floats such as ``1970.0``, as text or
numbers) reads as annual, each year as its 1 January.  Missing periods are gaps, not zeros.
Inference takes the coarsest grid all dates lie on (annual, quarterly, monthly, weekly, daily).
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import polars as pl

from analysis.data.csvcheck import fail_first
from analysis.errors import InputError

FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "annual")
UNIT = {"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter", "annual": "year"}
INTERVAL = {"daily": "1d", "weekly": "1w", "monthly": "1mo", "quarterly": "3mo", "annual": "1y"}
_YEAR = r"^\s*[0-9]{1,4}(\.0*)?\s*$"  # an --intervention year


def slope_unit(freq: str) -> str:
    """``per year``, ``per month``, ...: the unit of every trend and slope term."""
    return f"per {UNIT[freq]}"


def is_year_column(df: pl.DataFrame, col: str) -> bool:
    """A numeric column, or text whose every non-empty cell is a number: a column of years
    (whole numbers such as ``1989`` or ``1970.0``; others are refused by :func:`read_dates`)."""
    dtype = df.schema[col]
    if dtype.is_numeric():
        return True
    if dtype == pl.String:
        s = df[col].drop_nulls().str.strip_chars()
        s = s.filter(s != "")
        return s.len() > 0 and s.cast(pl.Float64, strict=False).null_count() == 0
    return False


def read_dates(df: pl.DataFrame, col: str, src: str, row_col: str) -> tuple[pl.DataFrame, bool]:
    """The column ``col`` as ``pl.Date``; a year column becomes 1 January of each year.

    Returns (frame, is_year).  Empty, unparseable or out-of-range cells stop with a
    :class:`~analysis.errors.DataError` naming the file, column and row."""
    dtype = df.schema[col]
    fail_first(df, pl.col(col).is_null() | (pl.col(col).cast(pl.String).str.strip_chars() == ""),
               "empty date", src, col, row_col)
    if is_year_column(df, col):
        year = pl.col(col).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
        fail_first(df, year.is_null() | (year != year.round(0)) | (year < 1) | (year > 9999),
                   "not a year (a whole number between 1 and 9999)", src, col, row_col)
        return df.with_columns(pl.date(year.cast(pl.Int32), 1, 1).alias(col)), True
    if dtype == pl.Date:
        parsed = pl.col(col)
    elif isinstance(dtype, pl.Datetime):
        parsed = pl.col(col).dt.date()
    else:
        parsed = pl.col(col).cast(pl.String).str.strip_chars().str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    fail_first(df, parsed.is_null(), "unparseable date (expected YYYY-MM-DD, or a year such as 1989)",
               src, col, row_col)
    return df.with_columns(parsed.alias(col)), False


def infer(dates: pl.Series, is_year: bool = False) -> str:
    """The coarsest frequency whose grid (anchored at the first date) holds every date."""
    if is_year:
        return "annual"
    u = dates.unique().sort()
    if u.len() < 2:
        return "daily"
    first = u[0]
    same_day = bool((u.dt.day() == first.day).all())
    months = (u.dt.year() - first.year) * 12 + u.dt.month() - first.month
    if same_day and bool((u.dt.month() == first.month).all()):
        return "annual"
    if same_day and bool((months % 3 == 0).all()):
        return "quarterly"
    if same_day:
        return "monthly"
    if bool(((u - first).dt.total_days() % 7 == 0).all()):
        return "weekly"
    return "daily"


def off_grid(col: str, first: date, freq: str) -> pl.Expr:
    """True on dates that are not on ``freq``'s grid anchored at ``first``."""
    d = pl.col(col)
    months = (d.dt.year().cast(pl.Int64) - first.year) * 12 + d.dt.month().cast(pl.Int64) - first.month
    if freq == "annual":
        return (d.dt.month() != first.month) | (d.dt.day() != first.day)
    if freq == "quarterly":
        return (d.dt.day() != first.day) | (months % 3 != 0)
    if freq == "monthly":
        return d.dt.day() != first.day
    if freq == "weekly":
        return (d - pl.lit(first)).dt.total_days() % 7 != 0
    return pl.lit(False)


def check_inferred(df: pl.DataFrame, col: str, freq: str, src: str, row_col: str) -> None:
    """An inferred ``daily``/``weekly`` frequency of dates spaced like a coarser one (median gap of
    a month, a quarter or a year; a week for daily) is a coarser series with a date off its grid:
    refused naming that row, rather than fitted with slopes per day (a silent relabelling)."""
    if freq not in ("daily", "weekly"):
        return
    gaps = df[col].unique().sort().diff().dt.total_days().drop_nulls()
    med = float(gaps.median()) if gaps.len() else 0.0
    likely = ("annual" if med >= 360 else "quarterly" if med >= 85 else "monthly" if med >= 28
              else "weekly" if med >= 7 and freq == "daily" else None)
    if likely is not None:
        check_grid(df, col, likely, src, row_col, False,
                   hint=f"; the dates are spaced like {likely} data (median gap {med:g} days): put every date on "
                        f"the {likely} grid, or give --frequency {freq} to fit them as {freq} data")


def check_grid(df: pl.DataFrame, col: str, freq: str, src: str, row_col: str, is_year: bool,
               hint: str = "") -> None:
    """Every date lies on ``freq``'s grid; the first one that does not is named (exit 2)."""
    if freq not in FREQUENCIES:
        raise InputError(f"--frequency must be one of {', '.join(FREQUENCIES)}, not {freq!r}")
    if is_year and freq != "annual":
        raise InputError(f"{src}: column {col!r} holds years, which are annual data, not {freq}")
    first = df[col].min()
    rule = {"annual": f"on {first:%m-%d} of every year", "quarterly": f"on day {first.day} of every third month",
            "monthly": f"on day {first.day} of every month", "weekly": f"a whole number of weeks after {first}",
            "daily": ""}[freq]
    fail_first(df, off_grid(col, first, freq), f"date off the {freq} grid of the series (dates must be {rule}, "
               f"as the first date {first}; never relabelled){hint}", src, col, row_col)


def period_index(dates: pl.Series, start: date, freq: str) -> np.ndarray:
    """Periods since ``start`` (days, weeks, months, quarters or years), as floats."""
    months = ((dates.dt.year().cast(pl.Int64) - start.year) * 12 + dates.dt.month().cast(pl.Int64) - start.month)
    if freq in ("monthly", "quarterly", "annual"):
        div = {"monthly": 1, "quarterly": 3, "annual": 12}[freq]
        return (months // div).to_numpy().astype(float)
    days = (dates.cast(pl.Int64) - (start - date(1970, 1, 1)).days).to_numpy().astype(float)
    return days / 7 if freq == "weekly" else days


def grid(start: date, end: date, freq: str) -> pl.Series:
    """Every period of the grid from ``start`` to ``end`` inclusive."""
    return pl.date_range(start, end, INTERVAL[freq], eager=True)


def label(d: date, freq: str) -> str:
    """A date as it is printed: the year alone for annual data, else ISO."""
    return str(d.year) if freq == "annual" else d.isoformat()


def intervention_arg(text: str) -> str:
    """Validate ``--intervention``: ``YYYY-MM-DD`` or a year ``YYYY`` (annual data only)."""
    t = text.strip()
    if re.fullmatch(_YEAR, t):
        if not 1 <= float(t) <= 9999:
            raise ValueError(f"not a year between 1 and 9999: {text!r}")
        return str(int(float(t)))
    try:
        return date.fromisoformat(t).isoformat()
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD) or a year (YYYY): {text!r}") from None


def resolve_intervention(text: str, freq: str) -> date:
    """The date of a validated ``--intervention``: a year is 1 January of it, for annual data only."""
    if "-" not in text:
        if freq != "annual":
            raise InputError(f"--intervention {text} is a year, which needs annual data; the data are {freq}: "
                             "give the date as YYYY-MM-DD")
        return date(int(text), 1, 1)
    return date.fromisoformat(text)
