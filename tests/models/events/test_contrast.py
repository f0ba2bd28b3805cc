"""Contrast designs: the contrast series by hand, the parallel-trends test, and the per-event
model on the contrast recovering the treated-specific effect."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.signal import lfilter

from analysis.models.events.contrast import contrast_panel, fit_contrast, parallel_trends
from analysis.models.events.design import build_event_design

START = date(2020, 11, 1)
T = 90


def panel(us_drift: float = 0.0, seed: int = 1) -> pl.DataFrame:
    """A shared shock on day 60 (-1.0 everywhere) and a US-only one on day 64 (-0.7)."""
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    days = [START + timedelta(days=int(i)) for i in t]
    common = 0.05 * rng.normal(size=T).cumsum() - 1.0 * (t >= 60)
    rows = []
    for c in ("us", "gb", "de", "fr"):
        own = (-0.7 * (t >= 64) + us_drift * t) if c == "us" else 0.0
        y = 4 + common + own + lfilter([1.0], [1.0, -0.5], rng.normal(0, 0.05, T))
        rows.append(pl.DataFrame({"app_name": "Telegram", "country": c, "store": "ios", "date": days,
                                  "rank": np.exp(y)}))
    return pl.concat(rows)


def registry() -> pl.DataFrame:
    d = [START + timedelta(days=60), START + timedelta(days=64)]
    return pl.DataFrame({"event_id": ["X01", "X04"], "date_utc": d, "local_date": d, "local_tz": "UTC",
                         "event": ["privacy", "deplatforming"], "kind": ["confound", "deplatforming"]})


def test_contrast_series_is_treated_minus_mean_control_logs():
    p = panel()
    cp = contrast_panel(p, "country", "us", ["gb", "de"], by=("app_name", "store"))
    assert cp["country"].unique().to_list() == ["us - mean(gb,de)"]
    w = p.pivot(on="country", index="date", values="rank").sort("date")
    ref = np.log(w["us"].to_numpy()) - (np.log(w["gb"].to_numpy()) + np.log(w["de"].to_numpy())) / 2
    assert cp["rank"].to_numpy() == pytest.approx(ref, rel=1e-12)
    with pytest.raises(ValueError, match="no rows with country = xx"):
        contrast_panel(p, "country", "us", ["xx"], by=("app_name", "store"))


def test_parallel_trends_accepts_shared_shocks_and_rejects_a_drift():
    t = np.arange(T, dtype=float)
    ok = parallel_trends(np.zeros(T) + 0.05 * np.random.default_rng(0).normal(size=T), t, 60, None, "none", "iid")
    assert ok.parallel and ok.n_pre == 60
    drift = parallel_trends(0.01 * t + 0.05 * np.random.default_rng(0).normal(size=T), t, 60, None, "none", "iid")
    assert not drift.parallel and drift.slope_difference == pytest.approx(0.01, abs=0.002)
    short = parallel_trends(np.zeros(T), t, 3, None, "none", "iid")
    assert short.parallel is None


def test_contrast_fit_removes_the_common_shock_and_keeps_the_us_one():
    des = build_event_design(registry(), START, START + timedelta(days=T - 1))
    fit = fit_contrast(panel(), des, "us", ["gb", "de", "fr"])
    lev = {r["event_id"]: r for r in fit.effects.filter(pl.col("estimand") == "level").iter_rows(named=True)}
    assert lev["X01"]["ci_low"] <= 0.0 <= lev["X01"]["ci_high"]
    assert lev["X04"]["ci_low"] <= -0.7 <= lev["X04"]["ci_high"]
    d = fit.diagnostics.row(0, named=True)
    assert d["country"] == "us - mean(gb,de,fr)" and d["pt_parallel"]
    drifting = fit_contrast(panel(us_drift=0.01), des, "us", ["gb", "de", "fr"]).diagnostics.row(0, named=True)
    assert not drifting["pt_parallel"] and "pre-period trends differ" in drifting["warnings"]
