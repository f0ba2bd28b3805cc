"""Frequencies of regular series: inference, grids, period indices and intervention years."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from analysis.errors import DataError, InputError
from analysis.models.its import frequency as freqs


@pytest.mark.parametrize(("interval", "start", "expected"), [
    ("1d", date(2021, 1, 1), "daily"), ("1w", date(2021, 1, 4), "weekly"), ("1mo", date(2020, 1, 15), "monthly"),
    ("3mo", date(2020, 2, 1), "quarterly"), ("1y", date(1970, 1, 1), "annual"), ("1y", date(1970, 7, 1), "annual"),
])
def test_inference_takes_the_coarsest_grid(interval, start, expected):
    dates = pl.date_range(start, start.replace(year=start.year + 40), interval, eager=True).head(30)
    assert freqs.infer(dates) == expected
    assert freqs.infer(dates.gather([0, 2, 3, 7, 29])) == expected  # gaps do not change the grid


def test_period_index_counts_periods_of_the_frequency():
    d = pl.Series([date(2000, 1, 1), date(2000, 4, 1), date(2001, 1, 1), date(2003, 1, 1)])
    assert freqs.period_index(d, date(2000, 1, 1), "quarterly").tolist() == [0, 1, 4, 12]
    assert freqs.period_index(d.gather([0, 2, 3]), date(2000, 1, 1), "annual").tolist() == [0, 1, 3]
    assert freqs.period_index(d, date(2000, 1, 1), "monthly").tolist() == [0, 3, 12, 36]
    w = pl.Series([date(2021, 1, 4), date(2021, 1, 18)])
    assert freqs.period_index(w, date(2021, 1, 4), "weekly").tolist() == [0, 2]
    assert np.array_equal(freqs.period_index(w, date(2021, 1, 4), "daily"), [0, 14])


def test_year_columns_read_as_january_first():
    df = pl.DataFrame({"yr": ["1989", " 1990.0", "1991"], "_row": [1, 2, 3]})
    out, is_year = freqs.read_dates(df, "yr", "f.csv", "_row")
    assert is_year and out["yr"].to_list() == [date(1989, 1, 1), date(1990, 1, 1), date(1991, 1, 1)]
    ints = pl.DataFrame({"yr": [2001, 2002], "_row": [1, 2]})
    assert freqs.read_dates(ints, "yr", "f.csv", "_row")[1]
    with pytest.raises(DataError, match=r"row 2: not a year"):
        freqs.read_dates(pl.DataFrame({"yr": [2001.0, 2001.5], "_row": [1, 2]}), "yr", "f.csv", "_row")


def test_off_grid_dates_name_the_first_bad_row():
    df = pl.DataFrame({"d": [date(2020, 1, 1), date(2020, 2, 1), date(2020, 3, 2), date(2020, 4, 2)],
                       "_row": [1, 2, 3, 4]})
    with pytest.raises(DataError, match=r"row 3: date off the monthly grid"):
        freqs.check_grid(df, "d", "monthly", "f.csv", "_row", False)
    freqs.check_grid(df, "d", "daily", "f.csv", "_row", False)  # any day is a day
    with pytest.raises(InputError, match="holds years"):
        freqs.check_grid(df, "d", "monthly", "f.csv", "_row", True)


def test_intervention_years_only_for_annual_data():
    assert freqs.intervention_arg("1989") == "1989" and freqs.intervention_arg("1989.0") == "1989"
    assert freqs.intervention_arg("2021-01-06") == "2021-01-06"
    with pytest.raises(ValueError, match="not a date"):
        freqs.intervention_arg("2021-13-01")
    assert freqs.resolve_intervention("1989", "annual") == date(1989, 1, 1)
    with pytest.raises(InputError, match="needs annual data"):
        freqs.resolve_intervention("1989", "monthly")
    assert freqs.slope_unit("quarterly") == "per quarter" and freqs.label(date(1989, 1, 1), "annual") == "1989"
