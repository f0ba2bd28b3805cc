"""The same-weeks placebo year: the run's per-event design on the same calendar weeks one year
earlier, where none of the registry's January 2021 events happened.

The year-earlier data of the selection (``weeks`` = 52 earlier, so every day keeps its weekday)
are moved forward by ``weeks`` and fitted with exactly the run's design
(:func:`analysis.models.events.estimates.fit_study`: the same event terms on the same days, the same
censoring, error model and window average).  With no event, every term's true effect is zero: an
interval that excludes zero, or a bound that claims a climb, is a false positive (the "same
period in an earlier year" control of Lopez Bernal, Cummins & Gasparrini 2017, and the
year-earlier placebo of Bernal, Soumerai & Gasparrini 2018 on seasonality).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from analysis.models.events.estimates import StudyFit, fit_study, run_spec


@dataclass(frozen=True)
class PlaceboYear:
    """The placebo fit (None when the data do not cover the year-earlier window) and a note."""

    fit: StudyFit | None
    start: date  # year-earlier window, as in the data (before the shift)
    end: date
    weeks: int
    note: str


def year_earlier_panel(panel: pl.DataFrame, start: date, end: date, weeks: int = 52) -> pl.DataFrame:
    """Rows of ``panel`` dated ``start - weeks`` .. ``end - weeks``, moved forward by ``weeks``."""
    shift = timedelta(weeks=weeks)
    return (panel.filter(pl.col("date").is_between(start - shift, end - shift))
            .with_columns((pl.col("date") + shift).alias("date")))


def fit_placebo_year(data, params, weeks: int = 52) -> PlaceboYear:
    """Fit the run's design (``params``) on the selection's data ``weeks`` earlier.

    The year-earlier window must be covered: every day of it has at least one chart row of the
    selected store and countries, else ``fit`` is None and ``note`` says how many days are there.
    """
    spec = run_spec(data, params)
    shift = timedelta(weeks=weeks)
    lo, hi = spec.start - shift, spec.end - shift
    sel = data.panel.filter(pl.col("store") == params.store, pl.col("country").is_in(list(params.countries)))
    moved = year_earlier_panel(sel, spec.start, spec.end, weeks)
    need = (hi - lo).days + 1
    have = moved["date"].n_unique()
    if have < need:
        return PlaceboYear(None, lo, hi, weeks, f"the data hold {have} of the {need} days of the year-earlier window "
                                                f"{lo} .. {hi} ({weeks} weeks earlier): no placebo year")
    placebo = dataclasses.replace(data, panel=moved, truth=None)
    return PlaceboYear(fit_study(placebo, params, spec), lo, hi, weeks,
                       f"the run's per-event design on {lo} .. {hi} ({weeks} weeks earlier, same weekdays), dated as "
                       f"{spec.start} .. {spec.end}; no event happened then, so every true effect is zero")
