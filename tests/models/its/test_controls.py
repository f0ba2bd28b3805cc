"""Controlled ITS: a shared background shock is removed; controls are judged by parallel pre-trends."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from analysis.errors import InputError
from analysis.models.engine.batched import newey_west_lags
from analysis.models.its.controls import control_trends, fit_controlled
from analysis.models.its.model import ITSSpec, fit_its

T0 = date(2021, 1, 8)
SPEC = ITSSpec(T0, 60, 30, errors="ar1", seasonality="none")


@pytest.fixture(scope="module")
def panel():
    """Treated and control share a background shock at T0 (-0.5); the treated app also has its
    own effect (-0.8); 'Broken' has an unrelated +1.0 jump; 'Drifting' a pre-period trend of its own."""
    rng = np.random.default_rng(9)
    days = [SPEC.start + timedelta(days=i) for i in range(90)]
    post = np.array([d >= T0 for d in days])
    background = 0.1 * rng.normal(size=90).cumsum() - 0.5 * post
    rows = []
    for app, own in (("Treated", -0.8), ("Control", 0.0), ("Broken", 1.0), ("Drifting", 0.0)):
        drift = 0.01 * np.arange(90) if app == "Drifting" else 0.0
        y = 4 + background + own * post + drift + rng.normal(0, 0.03, 90)
        rows.append(pl.DataFrame({"date": days, "app_name": app, "country": "us", "rank": np.exp(y)}))
    return pl.concat(rows)


def test_difference_removes_the_shared_shock(panel):
    treated, control = {"app_name": "Treated", "country": "us"}, [{"app_name": "Control", "country": "us"}]
    naive = fit_its(panel.filter(pl.col("app_name") == "Treated"), SPEC).effect("level")
    ctl = fit_controlled(panel, treated, control, SPEC, "difference")
    lev = ctl.effect("level")
    assert lev["ci_low"] <= -0.8 <= lev["ci_high"]
    assert abs(lev["estimate"] + 0.8) < abs(naive["estimate"] + 0.8)
    assert lev["ratio"] == pytest.approx(np.exp(lev["estimate"]))
    # the same as fitting the log-rank difference by hand
    wide = panel.pivot(on="app_name", index="date", values="rank")
    manual = wide.select("date", (pl.col("Treated").log() - pl.col("Control").log()).alias("d"))
    ref = fit_its(manual, SPEC.with_(transform="none"), value="d").effect("level")
    assert lev["estimate"] == pytest.approx(ref["estimate"], abs=1e-12)


def test_control_as_regressor_estimates_its_coefficient(panel):
    ctl = fit_controlled(panel, {"app_name": "Treated", "country": "us"}, [{"app_name": "Control", "country": "us"}],
                         SPEC, "regressors")
    assert ctl.params["control:Control·us"] == pytest.approx(1.0, abs=0.15)
    assert ctl.effect("level")["ci_low"] <= -0.8 <= ctl.effect("level")["ci_high"]
    assert ctl.diagnostics["control_method"] == "regressors"


def test_controls_are_judged_by_parallel_pre_trends_not_by_sharing_the_shock(panel):
    """'Control' and 'Broken' both change at T0 yet have parallel pre-period trends: valid
    (a difference design needs controls that share the common shocks); 'Drifting' is not."""
    treated = {"app_name": "Treated", "country": "us"}
    check = control_trends(panel, treated, [{"app_name": a, "country": "us"} for a in ("Control", "Broken", "Drifting")],
                           SPEC.with_(errors="hac"))
    par = dict(zip(check["control"], check["parallel"], strict=True))
    assert par == {"Control·us": True, "Broken·us": True, "Drifting·us": False}
    drift = check.filter(pl.col("control") == "Drifting·us").row(0, named=True)
    assert drift["slope_difference"] == pytest.approx(-0.01, abs=0.002) and drift["p_value"] < 1e-6
    # the slope difference is the trend of the pre-period difference series, by hand (OLS + HAC)
    wide = panel.filter(pl.col("date") < T0).pivot(on="app_name", index="date", values="rank").sort("date")
    d = (wide["Treated"].log() - wide["Control"].log()).to_numpy()
    X = sm.add_constant(np.arange(d.size, dtype=float))
    ref = sm.OLS(d, X).fit(cov_type="HAC", cov_kwds={"maxlags": newey_west_lags(d.size), "use_correction": True})
    ctl = check.filter(pl.col("control") == "Control·us").row(0, named=True)
    assert ctl["slope_difference"] == pytest.approx(ref.params[1], rel=1e-8)
    assert ctl["se"] == pytest.approx(ref.bse[1], rel=1e-8)


def test_controls_must_be_given(panel):
    with pytest.raises(InputError, match="at least one control"):
        fit_controlled(panel, {"app_name": "Treated"}, [], SPEC)
