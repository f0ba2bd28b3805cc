"""Robustness battery: placebo dates, alternative cutoffs, windows, donut, earlier year,
specification curve and Benjamini-Hochberg, on series with known breaks."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.signal import lfilter

from analysis.models.checks import robustness as rb
from analysis.models.its.model import ITSSpec, fit_its

T0 = date(2021, 1, 8)
START = date(2020, 9, 1)
KEYS = ["app_name", "country"]


def frame(breaks: dict[str, tuple[date, float]], days: int = 200, seed: int = 0, rho: float = 0.5,
          start: date = START) -> pl.DataFrame:
    """Daily ranks of apps with a level change in log-rank on a given date (or none)."""
    rng = np.random.default_rng(seed)
    out = []
    dates = [start + timedelta(days=i) for i in range(days)]
    for i, (app, (when, level)) in enumerate(breaks.items()):
        y = 3.5 + lfilter([1.0], [1.0, -rho], rng.normal(0, 0.08, days))
        y += level * np.array([d >= when for d in dates])
        out.append(pl.DataFrame({"date": dates, "app_name": app, "country": "us", "rank": np.exp(y) + 0 * i}))
    return pl.concat(out)


SPEC = ITSSpec(T0, 60, 30, errors="ar1", seasonality="none")


def test_bh_equals_statsmodels_multipletests():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.001, 0.04, 0.03, 0.5, np.nan, 0.02, 0.9])
    ok = ~np.isnan(p)
    q = rb.benjamini_hochberg(p)
    np.testing.assert_allclose(q[ok], multipletests(p[ok], method="fdr_bh")[1], rtol=1e-12)
    assert np.isnan(q[4])


def test_placebo_dates_leave_min_pre_and_min_post_days():
    d = rb.placebo_dates(SPEC)
    assert d[0] == SPEC.start + timedelta(days=SPEC.min_pre)
    assert d[-1] == T0 - timedelta(days=SPEC.min_post)
    assert len(d) == SPEC.pre_days - SPEC.min_pre - SPEC.min_post + 1


def test_placebo_in_time_finds_nothing_before_a_real_break():
    f = frame({"Real": (T0, -1.0), "Null": (date(2030, 1, 1), 0.0)}, seed=1)
    pt = rb.placebo_in_time(f, SPEC, KEYS, step=3)
    assert pt["placebo_date"].max() < T0 and pt.height == 2 * len(rb.placebo_dates(SPEC, 3))
    summary = rb.placebo_summary(rb.fit_frame(f, SPEC, KEYS).effects, pt, KEYS)
    real = summary.filter(pl.col("app_name") == "Real").row(0, named=True)
    assert real["placebo_p"] == pytest.approx(1 / (1 + real["n_placebo"]))  # more extreme than every placebo
    assert summary["placebo_rejection_rate"].max() <= 0.3


def test_alternative_cutoffs_locate_the_true_break_among_neighbouring_dates():
    true_day = T0 + timedelta(days=2)
    f = frame({"A": (true_day, -1.0)}, seed=2)
    events = pl.DataFrame({"date_utc": [true_day, T0], "event_id": ["E2", "E0"]})
    cut = rb.alternative_cutoffs(f, SPEC, KEYS, shifts=range(-3, 4), events=events)
    best = cut.filter(pl.col("delta_aic") == 0).row(0, named=True)
    assert best["shift_days"] == 2 and best["events_on_date"] == "E2"
    assert not cut.filter(pl.col("shift_days") == 0)["indistinguishable"][0]
    assert cut.height == 7


def test_window_sweep_and_donut_include_the_declared_fit():
    f = frame({"A": (T0, -0.7)}, seed=3)
    base = fit_its(f.filter(pl.col("app_name") == "A"), SPEC).effect("level")["estimate"]
    ws = rb.window_sweep(f, SPEC, KEYS, pre_days=(45, 60), post_days=(21, 30))
    assert ws.height == 4
    assert ws.filter(pl.col("pre_days") == 60, pl.col("post_days") == 30)["estimate"][0] == pytest.approx(base)
    dn = rb.donut(f, SPEC, KEYS, widths=(0, 2))
    assert dn.filter(pl.col("donut_days") == 0)["estimate"][0] == pytest.approx(base)
    assert dn.filter(pl.col("donut_days") == 2)["ci_low"][0] < -0.7 < dn.filter(pl.col("donut_days") == 2)["ci_high"][0]


def test_earlier_year_needs_data_and_says_so():
    f = frame({"A": (T0, -0.7)}, seed=4)
    est, note = rb.earlier_year(f, SPEC, KEYS)
    assert est.is_empty() and "no data" in note
    long = frame({"A": (T0, -0.7)}, days=500, seed=4, start=START - timedelta(days=364))
    est, note = rb.earlier_year(long, SPEC, KEYS)
    assert est.height == 1 and est["placebo_date"][0] == T0 - timedelta(weeks=52)
    assert est["ci_low"][0] < 0 < est["ci_high"][0]


def test_spec_curve_covers_the_grid_and_marks_the_declared_spec():
    f = frame({"A": (T0, -0.7)}, seed=5)
    grid = {"errors": ("hac", "ar1"), "impact": ("step", "step+slope"), "pre_days": (45, 60)}
    sc = rb.spec_curve(f, SPEC, KEYS, grid=grid)
    assert sc.height == 8 and sc["rank"].to_list() == list(range(1, 9))
    base = sc.filter("baseline")
    assert base.height == 1
    assert base["estimate"][0] == pytest.approx(fit_its(f, SPEC).effect("level")["estimate"])


def test_battery_runs_every_check_in_one_call():
    f = frame({"A": (T0, -0.7), "B": (date(2030, 1, 1), 0.0)}, seed=6)
    b = rb.battery(f, SPEC, KEYS, placebo_series=f.filter(pl.col("app_name") == "B"), placebo_step=5,
                   spec_grid={"errors": ("hac", "ar1")}, pre_days=(60,), post_days=(30,))
    assert {"q_value", "significant_bh"} <= set(b.actual.columns)
    assert b.actual.filter(pl.col("app_name") == "A")["significant_bh"][0]
    assert b.placebo_summary.height == 2 and b.cutoffs.height == 14 and b.spec_curve.height == 4
    assert b.placebo_units.height == 1 and "no data" in b.earlier_year_note


def test_battery_survives_windows_where_no_series_is_estimable():
    """A short post period leaves no admissible fit for some checks: the battery returns empty
    tables for them instead of failing (regression: a missing 'series' column)."""
    from datetime import date

    from analysis.data.demo.world import generate_demo
    from analysis.models.checks import robustness as rb
    from analysis.models.its.model import ITSSpec

    d = generate_demo()
    series = d.panel.filter(pl.col("store") == "ios", pl.col("app_name").is_in(["WhatsApp", "Signal"]),
                            pl.col("country").is_in(["in", "us"]))
    spec = ITSSpec(date(2021, 1, 6), 60, 9, errors="ar1")
    out = rb.battery(series, spec, ["app_name", "country"], events=None,
                     placebo_series=series.filter(pl.col("app_name") == "WhatsApp"),
                     spec_series=series.filter(pl.col("app_name") == "WhatsApp", pl.col("country") == "in"),
                     shifts=[-1, 0, 1], donut_widths=[0, 1], pre_days=[30, 60], post_days=[9])
    assert out.actual.height >= 1
