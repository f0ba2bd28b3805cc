"""Segmented regression: numbers against closed forms and known simulation truth."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.signal import lfilter

from analysis.errors import NotEstimable
from analysis.models.its.model import ITSSpec, design, fit_its, newey_west_lags

T0 = date(2021, 1, 8)


def simulate(level: float, slope: float, rho: float, seed: int, pre: int = 60, post: int = 30,
             sigma: float = 0.08, base: float = 3.0) -> pl.DataFrame:
    """A log-rank series with a known level and slope change at T0 and AR(1) noise."""
    rng = np.random.default_rng(seed)
    n = pre + post
    t = np.arange(n)
    noise = lfilter([1.0], [1.0, -rho], rng.normal(0, sigma, n))
    post_ind = t >= pre
    y = base + 0.002 * t + post_ind * (level + slope * (t - pre)) + noise
    dates = [T0 - timedelta(days=pre) + timedelta(days=int(i)) for i in t]
    return pl.DataFrame({"date": dates, "y": np.exp(y)})


def hac_closed_form(X: np.ndarray, u: np.ndarray, lags: int) -> np.ndarray:
    """Newey-West covariance written out: Bartlett weights, small-sample factor n/(n-k)."""
    n, k = X.shape
    xu = X * u[:, None]
    S = xu.T @ xu
    for lag in range(1, lags + 1):
        w = 1 - lag / (lags + 1)
        G = xu[lag:].T @ xu[:-lag]
        S += w * (G + G.T)
    B = np.linalg.inv(X.T @ X)
    return B @ S @ B * n / (n - k)


def test_estimates_and_hac_errors_equal_the_closed_form():
    s = simulate(-1.0, 0.01, 0.6, seed=1)
    spec = ITSSpec(T0)
    r = fit_its(s, spec, value="y")
    X, names = design(s["date"], spec)
    y = np.log(s["y"].to_numpy())
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    V = hac_closed_form(X, y - X @ beta, newey_west_lags(len(y)))
    for term in ("level", "slope", "trend"):
        j = names.index(term)
        assert r.effect(term)["estimate"] == pytest.approx(beta[j], abs=1e-10)
        assert r.effect(term)["se"] == pytest.approx(np.sqrt(V[j, j]), rel=1e-8)


def test_level_change_recovered_within_ci():
    s = simulate(-1.2, 0.0, 0.3, seed=7)
    e = fit_its(s, ITSSpec(T0), value="y").effect("level")
    assert e["ci_low"] <= -1.2 <= e["ci_high"]
    assert e["ratio"] == pytest.approx(np.exp(e["estimate"]))
    assert e["p_value"] < 1e-6


def test_no_effect_is_not_significant_in_most_replicates():
    rejections = [fit_its(simulate(0.0, 0.0, 0.0, seed=i), ITSSpec(T0), value="y").effect("level")["p_value"] < 0.05
                  for i in range(40)]
    assert sum(rejections) <= 6  # nominal 5% of 40 = 2; allow sampling noise


def test_counterfactual_is_the_fit_without_intervention_terms():
    s = simulate(-0.8, 0.02, 0.5, seed=3)
    r = fit_its(s, ITSSpec(T0), value="y")
    p = r.path
    lvl, slp = r.params["level"], r.params["slope"]
    t_after = np.arange(p.filter("post").height)
    expected_effect = lvl + slp * t_after
    assert np.allclose(p.filter("post")["effect"].to_numpy(), expected_effect)
    assert np.allclose((p["fitted"] - p["counterfactual"]).to_numpy(), p["effect"].to_numpy())
    assert (p["cf_low"] <= p["counterfactual"]).all() and (p["counterfactual"] <= p["cf_high"]).all()
    assert (p.filter(~pl.col("post"))["effect"] == 0).all()


def test_gappy_series_use_calendar_time_not_row_numbers():
    s = simulate(-1.0, 0.0, 0.2, seed=5)
    gappy = s.filter(pl.int_range(pl.len()) % 3 != 0)
    r = fit_its(gappy, ITSSpec(T0), value="y")
    assert r.diagnostics["n"] == gappy.height
    assert r.diagnostics["coverage_pre"] == pytest.approx(40 / 60)
    assert r.effect("level")["ci_low"] <= -1.0 <= r.effect("level")["ci_high"]


def test_too_few_pre_period_points_is_not_estimable():
    s = simulate(-1.0, 0.0, 0.2, seed=5).filter(pl.col("date") >= T0 - timedelta(days=5))
    with pytest.raises(NotEstimable, match="5 of 60 pre-period"):
        fit_its(s, ITSSpec(T0), value="y")


def test_untransformed_outcome_has_no_ratio():
    s = simulate(-1.0, 0.0, 0.2, seed=5)
    e = fit_its(s, ITSSpec(T0, transform="none"), value="y").effect("level")
    assert "ratio" not in e


def test_invalid_spec_is_rejected():
    with pytest.raises(ValueError, match="transform"):
        ITSSpec(T0, transform="sqrt")
    with pytest.raises(ValueError, match="alpha"):
        ITSSpec(T0, alpha=1.5)


def test_demo_true_effects_recovered(demo, demo_window_fits):
    """On the demo, step-model level changes at the first event recover the window-average
    truth: most intervals cover it and the estimates are close to it.

    Newey-West intervals under-cover with AR(1) noise (rho = 0.6) on windows this short (measured
    here: 34 of 48 = 71% at nominal 95%; the Christmas season in the pre-period and the 15 Jan
    reversal inside the 30-day window add misspecification), so the bar is 65% coverage plus a
    small median error, not 95%.  An AR(1) error model restores coverage (test_models_its).
    """
    eff = demo_window_fits(demo, "hac")
    assert eff.height == 48
    covered = ((eff["ci_low"] <= eff["true_value"]) & (eff["true_value"] <= eff["ci_high"])).mean()
    assert covered >= 0.65
    assert (eff["estimate"] - eff["true_value"]).abs().median() < 0.15
    # The WhatsApp notice pushes WhatsApp down the chart (India/Europe-led): found where it is large.
    wa = eff.filter(pl.col("app_name") == "WhatsApp", pl.col("true_value") > 0.25)
    assert wa.height >= 8 and (wa["ci_low"] > 0).all()
    # Placebo apps have no latent effect, yet their true rank effect is positive (pushed down).
    placebo = eff.filter(pl.col("app_name") != "WhatsApp")
    assert (placebo["true_value"] > 0).mean() > 0.8


def test_truth_recovery_counts_covering_intervals():
    from analysis.models.its.series import truth_recovery

    eff = pl.DataFrame({
        "term": ["level", "level", "slope", "trend"],
        "estimate": [0.5, 1.0, 0.0, 9.0], "ci_low": [0.4, 0.1, -0.1, 8.0], "ci_high": [0.6, 0.2, 0.1, 10.0],
        "true_value": [0.5, 0.5, 0.05, 0.0],
    })
    out = truth_recovery(eff).to_dicts()
    assert out == [
        {"term": "level", "n_series": 2, "share_covered": 0.5, "median_abs_error": pytest.approx(0.25)},
        {"term": "slope", "n_series": 1, "share_covered": 1.0, "median_abs_error": pytest.approx(0.05)},
    ]


def test_itsspec_holds_one_model_spec_and_declares_no_model_field_itself():
    import dataclasses

    from analysis.models.engine.estimate import ModelSpec

    own = {f.name for f in dataclasses.fields(ITSSpec)}
    assert not own & {f.name for f in dataclasses.fields(ModelSpec)}, "ITSSpec re-declares model fields"
    spec = ITSSpec(T0, 60, 30, errors="ar1", hac_maxlags=3)
    assert spec.model == ModelSpec(errors="ar1", hac_maxlags=3)
    assert (spec.errors, spec.hac_maxlags, spec.transform) == ("ar1", 3, "log")
    moved = spec.with_(intervention=T0 + timedelta(days=1), errors="hac")
    assert moved.model.errors == "hac" and moved.intervention == T0 + timedelta(days=1) and moved.pre_days == 60
    with pytest.raises(ValueError, match="errors must be one of"):
        ITSSpec(T0, errors="nonsense")
    with pytest.raises(TypeError, match="unknown fields"):
        ITSSpec(T0, erors="ar1")
