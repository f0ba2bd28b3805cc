"""Partial identification below the chart (analysis.models.events.bounds), the censored pre-period
baseline of the window average, and the truth evaluation (analysis.models.checks.truth_eval): arithmetic
by hand, bounds against the demo truth, coverage by simulation and on the demo."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.signal import lfilter

from analysis.models.checks.truth_eval import attach_truth, coverage_by
from analysis.models.events.bounds import entry_plan, window_bound
from analysis.models.events.window import window_average

C = float(np.log(200.5))
APPS = ["Signal", "Telegram", "WhatsApp", "Parler", "MeWe", "Rumble", "Gab", "Discord", "Twitter"]


def test_window_bound_is_the_mean_of_ranked_excess_over_all_window_days():
    logy = np.log(np.array([np.nan, np.nan, 50.0, 20.0, np.nan, 10.0]))
    flag = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0])  # day 4: a gap (no snapshot), not censored
    r = window_bound(logy, flag, 1, 5, C)
    # window days 1..5 with a snapshot: 1 (censored, A2: <= 0), 2, 3, 5 (ranked): W = 4
    expect = (np.log(50) + np.log(20) + np.log(10) - 3 * C) / 4
    assert r["kind"] == "bound" and r["side"] == "upper" and r["bound"] == pytest.approx(expect, abs=1e-12)
    assert "A1" in r["reason"] and "A2" in r["reason"] and "Manski" in r["reason"]
    never = window_bound(np.full(6, np.nan), np.ones(6), 1, 5, C)
    assert never["kind"] == "not_identified" and "never ranked" in never["reason"]


def test_entry_plan_finds_the_last_term_at_or_before_entry():
    Y = np.full((1, 20), np.nan)
    Y[0, 12:] = 100.0
    p = entry_plan(Y, 0, [10.0, 12.0, 15.0])
    assert (p.entry, p.term) == (12, 1)
    Y[0, 12] = np.nan
    assert entry_plan(Y, 0, [10.0, 12.0, 15.0]).term == 1  # entry on day 13: still term 1
    assert entry_plan(np.full((1, 20), np.nan), 0, [10.0]).entry == -1


def test_attach_truth_sums_the_terms_up_to_an_entry_bound():
    keys = {"app_name": "A", "country": "us", "store": "ios"}
    eff = pl.DataFrame([
        {**keys, "event_id": "X01", "estimand": "level", "kind": "not_identified", "side": None, "bound": None,
         "reason": "absorbed", "ci_low": None, "ci_high": None},
        {**keys, "event_id": "X03", "estimand": "decay", "kind": "bound", "side": "upper", "bound": -1.0,
         "reason": "entry bound: ...", "ci_low": None, "ci_high": None},
        {**keys, "event_id": "X04", "estimand": "level", "kind": "estimate", "side": None, "bound": None,
         "reason": None, "ci_low": -0.5, "ci_high": 0.1},
    ])
    truth = pl.DataFrame({**{k: [v] * 3 for k, v in keys.items()}, "event_id": ["X01", "X03", "X04"],
                          "estimand": ["level", "decay", "level"], "true_value": [-0.4, -0.8, 0.2]})
    out = attach_truth(eff, truth)
    assert out["true_value"].to_list() == pytest.approx([-0.4, -1.2, 0.2])
    assert out["holds"].to_list() == [None, True, None] and out["covered"].to_list() == [None, None, False]
    c = coverage_by(eff, truth, by=(), apps=None).row(0, named=True)
    assert (c["n_estimates"], c["coverage"], c["n_bounds"], c["bound_holds"]) == (1, 0.0, 1, 1.0)


@pytest.fixture(scope="module")
def demo_fits():
    from analysis.data.studies.registry import load_study
    from analysis.models.events.estimates import fit_study
    from analysis.params import StudyParams

    data = load_study("demo")
    return {s: fit_study(data, StudyParams(apps=APPS, store=s)) for s in ("ios", "google_play")}


@pytest.mark.parametrize("store", ["ios", "google_play"])
def test_bounds_hold_against_the_demo_truth(demo_fits, store):
    sf = demo_fits[store]
    e = attach_truth(sf.effects, sf.truth)
    wa = e.filter(pl.col("kind") == "bound", pl.col("estimand") == "window_average")
    # every Signal series (pre-period all below the chart) gets the window-average bound, and it holds
    assert set(wa.filter(pl.col("app_name") == "Signal")["country"]) == {"br", "de", "fr", "gb", "in", "us"}
    assert wa["true_value"].null_count() == 0 and wa["holds"].all()
    entry = e.filter(pl.col("kind") == "bound", pl.col("estimand") != "window_average")
    assert entry.height >= 6 and entry["true_value"].null_count() == 0 and entry["holds"].all()
    # no app is dropped: every series has a row per term and estimand, each with a kind and a reason
    ni = e.filter(pl.col("kind") != "estimate")
    assert ni["reason"].null_count() == 0
    assert e.group_by("app_name", "country").len()["len"].n_unique() == 1


def test_signal_us_terms_after_entry_are_estimated(demo_fits):
    e = demo_fits["ios"].effects.filter(pl.col("app_name") == "Signal", pl.col("country") == "us")
    kinds = dict(zip(e["event_id"].to_list(), e["kind"].to_list(), strict=True))
    assert kinds["X01"] == kinds["X02"] == "not_identified" and kinds["X03"] == "bound"
    assert kinds["X04+X05"] == kinds["X06"] == "estimate" and kinds[None] == "bound"


@pytest.mark.slow
def test_window_average_with_a_censored_pre_period_covers():
    """Study design: 60 pre-period days (about 40% below the chart), a 14-day window, day-of-week
    terms, AR(1) errors with rho 0.6; the baseline is fitted by the censored AR(1) likelihood."""
    T, PRE, H, n = 90, 60, 14, 300
    rng = np.random.default_rng(8)
    weekday = (np.arange(T) + 4) % 7 + 1
    dow = np.array([0.0, 0.05, 0.1, -0.05, 0.2, 0.3, -0.1])[weekday - 1] * 0.5
    u = lfilter([1.0], [1.0, -0.6], rng.normal(0, 0.3 * np.sqrt(1 - 0.36), (n, T + 60)), axis=1)[:, 60:]
    t = np.arange(T)
    effect = -1.0
    y = 5.2 + 0.002 * t + dow + u + np.where(t >= PRE, effect, 0.0)
    thr = 5.33  # about 40-45% of pre-period days above it: below the chart
    flag = np.where(y > thr, 1.0, 0.0)
    obs = np.where(flag > 0, np.nan, y)
    share = flag[:, :PRE].mean()
    assert 0.3 < share < 0.5
    w = window_average(obs, t.astype(float), PRE, (PRE, PRE + H - 1), weekday, flag=flag, threshold=thr)
    # the estimand over the ranked window days: the effect is constant, so its truth is `effect`.
    # A series whose ranked pre-period days miss a weekday is not fitted (rank deficient): ~3%
    ok = w.ok
    cover = ((w.ci_low[ok] <= effect) & (effect <= w.ci_high[ok])).mean()
    assert ok.mean() > 0.9 and cover >= 0.90, (ok.mean(), cover)
    print(f"censored-pre window average: fitted {ok.mean():.3f}, coverage {cover:.3f}")


@pytest.mark.slow
def test_demo_per_event_coverage_of_migration_apps_under_ar1():
    from analysis.data.studies.registry import load_study
    from analysis.models.checks.truth_eval import coverage_table
    from analysis.params import StudyParams

    tab = coverage_table(load_study("demo"), StudyParams(apps=APPS, store="ios"), errors=("ar1",))
    overall = tab.filter(pl.col("app_name") == "(all)").row(0, named=True)
    assert overall["n_estimates"] >= 80 and overall["coverage"] >= 0.88
    assert overall["bound_holds"] == 1.0


def test_a_pre_period_ending_below_the_chart_takes_the_entry_path(demo_fits):
    e = demo_fits["ios"].effects.filter(pl.col("app_name") == "MeWe", pl.col("country") == "us")
    wa = e.filter(pl.col("estimand") == "window_average").row(0, named=True)
    assert wa["kind"] == "bound" and "the pre-period ends with" in wa["reason"]
    assert e.filter(pl.col("kind") == "estimate").height >= 4  # the terms after its re-entry
