"""Per-event fits: numbers against statsmodels SARIMAX, the Effects frame contract, missing terms
reported, unmodelled-break warnings, and interval coverage at the study design."""

from __future__ import annotations

import warnings
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.signal import lfilter

from analysis.models.events.design import build_event_design
from analysis.models.events.fit import EFFECTS_SCHEMA, RHO_AT_BOUND, fit_events, rho_warnings

START = date(2020, 11, 1)
T = 90
EVENT_DAYS = {"E1": 60, "E2": 63, "E3": 67}  # days since START


def registry() -> pl.DataFrame:
    """A small registry in UTC: each event's first possible noon snapshot is its own day."""
    d = [START + timedelta(days=k) for k in EVENT_DAYS.values()]
    return pl.DataFrame({"event_id": list(EVENT_DAYS), "date_utc": d, "local_date": d, "local_tz": "UTC",
                         "event": ["one", "two", "three"], "kind": ["confound", "deplatforming", "deplatforming"]})


def design(**kw):
    return build_event_design(registry(), START, START + timedelta(days=T - 1), **kw)


def simulate(n: int, effects: dict[str, float], rho: float = 0.6, sigma: float = 0.1, seed: int = 1,
             slope: float = 0.0, extra_break: float = 0.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    days = [START + timedelta(days=int(i)) for i in t]
    dow = np.array([0.0, 0.05, 0.1, 0.02, -0.08, -0.12, 0.03])[[d.weekday() for d in days]]
    u = lfilter([1.0], [1.0, -rho], rng.normal(0, sigma, (n, T + 60)), axis=1)[:, 60:]
    mean = 4 + 0.004 * t + dow + sum(v * (t >= EVENT_DAYS[k]) for k, v in effects.items())
    mean = mean + slope * np.clip(t - EVENT_DAYS["E2"], 0, None) + extra_break * (t >= 75) * (t - 75)
    y = mean[None, :] + u
    return pl.DataFrame({"app_name": np.repeat([f"A{i}" for i in range(n)], T), "country": "us", "store": "ios",
                         "date": days * n, "rank": np.exp(y).ravel()})


def test_per_event_estimates_equal_statsmodels_sarimax():
    import statsmodels.api as sm

    panel = simulate(1, {"E1": -0.5, "E2": -1.0, "E3": 0.3}, slope=0.02, seed=3)
    des = design(overrides={"E2": "step+slope"})
    fit = fit_events(panel, des, errors="ar1", min_pre=14)
    e = fit.effects.filter(pl.col("kind") == "estimate", pl.col("estimand") != "window_average")
    t = np.arange(T, dtype=float)
    days = [START + timedelta(days=int(i)) for i in t]
    wd = np.array([d.weekday() for d in days])
    X = np.column_stack([np.ones(T), t, t >= 60, t >= 63, np.clip(t - 63, 0, None), t >= 67,
                         *[(wd == k).astype(float) for k in range(1, 7)]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.tsa.SARIMAX(np.log(panel["rank"].to_numpy()), exog=X, order=(1, 0, 0), trend="n").fit(
            disp=False, method="bfgs", maxiter=2000, gtol=1e-9, cov_type="oim")
    got = {(r["event_id"], r["estimand"]): r for r in e.iter_rows(named=True)}
    for (ev, est), j in {("E1", "level"): 2, ("E2", "level"): 3, ("E2", "slope"): 4, ("E3", "level"): 5}.items():
        assert got[(ev, est)]["estimate"] == pytest.approx(ref.params[j], abs=2e-4), (ev, est)
        assert got[(ev, est)]["se"] == pytest.approx(ref.bse[j], rel=0.1), (ev, est)
    assert fit.diagnostics["rho"][0] == pytest.approx(ref.params[-2], abs=2e-3)


def test_effects_frame_contract_and_terms_a_series_cannot_inform():
    panel = simulate(2, {"E1": -0.5, "E2": -1.0, "E3": 0.0}, seed=4)
    # A1 is removed from the store after day 64: E3 (day 67) cannot be estimated for it
    panel = panel.filter(~((pl.col("app_name") == "A1") & (pl.col("date") > START + timedelta(days=64))))
    fit = fit_events(panel, design())
    e = fit.effects
    assert e.schema == pl.Schema(EFFECTS_SCHEMA)
    a1 = e.filter(pl.col("app_name") == "A1")
    assert a1.filter(pl.col("event_id") == "E3")["kind"].to_list() == ["not_identified"]
    assert "no day with a value on or after" in a1.filter(pl.col("event_id") == "E3")["reason"][0]
    # the other terms of A1 equal a fit of its data with the E3 term left out of the design
    alone = fit_events(panel.filter(pl.col("app_name") == "A1"), build_event_design(
        registry().filter(pl.col("event_id") != "E3"), START, START + timedelta(days=T - 1)))
    for ev in ("E1", "E2"):
        assert (a1.filter(pl.col("event_id") == ev)["estimate"][0]
                == pytest.approx(alone.effects.filter(pl.col("event_id") == ev)["estimate"][0], rel=1e-10))
    wa = e.filter(pl.col("estimand") == "window_average", pl.col("app_name") == "A0").row(0, named=True)
    assert wa["event_id"] is None and wa["kind"] == "estimate"
    assert (wa["window_start"], wa["window_end"]) == (START + timedelta(days=60), START + timedelta(days=73))
    assert wa["best_rank"] == int(panel.filter(pl.col("app_name") == "A0", pl.col("date").is_between(
        wa["window_start"], wa["window_end"]))["rank"].min())
    assert e.filter(pl.col("kind") == "estimate").select(pl.col("estimate", "se", "ci_low").is_null().any()).row(0) == (
        False, False, False)


def test_series_below_the_chart_get_rows_with_reasons():
    panel = simulate(2, {"E1": -2.0}, seed=5).with_columns(pl.lit("observed").alias("status"))
    low = (pl.col("app_name") == "A1") & (pl.col("date") < START + timedelta(days=50))
    panel = panel.with_columns(pl.when(low).then(None).otherwise(pl.col("rank")).alias("rank"),
                               pl.when(low).then(pl.lit("censored")).otherwise(pl.col("status")).alias("status"))
    fit = fit_events(panel, design())
    a1 = fit.effects.filter(pl.col("app_name") == "A1")
    assert a1.height == 4  # three terms + window average: never silently dropped
    assert set(a1["kind"]) <= {"estimate", "bound", "not_identified"}
    assert a1.filter(pl.col("kind") != "estimate")["reason"].is_not_null().all()
    assert fit.diagnostics.filter(pl.col("app_name") == "A1")["n_censored"][0] == 50


def test_unmodelled_break_warnings():
    assert rho_warnings(0.5, 0.45) == []
    assert "at its bound" in rho_warnings(RHO_AT_BOUND, 0.9)[0]
    assert "exceeds the pre-period-only rho-hat 0.40" in rho_warnings(0.75, 0.4)[0]
    # a ramp from day 75 that the design lacks pushes the full-window rho-hat up
    fit = fit_events(simulate(1, {"E1": -0.5}, seed=6, rho=0.3, extra_break=0.08), design())
    d = fit.diagnostics.row(0, named=True)
    assert d["rho"] - d["rho_pre"] > 0.2
    assert "exceeds the pre-period-only rho-hat" in d["warnings"]


@pytest.mark.slow
def test_per_event_interval_coverage_at_the_study_design():
    """AR(1) errors (rho 0.6), 90-day windows, day-of-week terms, three events 3-4 days apart."""
    truth = {"E1": -0.5, "E2": -1.0, "E3": 0.3}
    fit = fit_events(simulate(1000, truth, seed=11), design())
    e = fit.effects.filter(pl.col("kind") == "estimate", pl.col("estimand") == "level").with_columns(
        pl.col("event_id").replace_strict(truth, return_dtype=pl.Float64).alias("truth"))
    cov = e.group_by("event_id").agg(((pl.col("ci_low") <= pl.col("truth")) & (pl.col("truth") <= pl.col("ci_high")))
                                     .mean().alias("coverage")).sort("event_id")
    print("per-event 95% coverage (AR(1), rho 0.6, T 90, 1000 series):", dict(cov.iter_rows()))
    assert cov["coverage"].min() >= 0.92
