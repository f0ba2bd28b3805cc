"""Design matrices: impact shapes, seasonality and several interventions, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.models.engine.design import Impact, Seasonality, build_design

T = np.arange(20, dtype=float)


def test_step_slope_columns_are_the_segmented_regression():
    d = build_design(T, [10], Impact.parse("step+slope"), Seasonality.parse("none"))
    assert d.names == ("intercept", "trend", "level", "slope")
    assert np.array_equal(d.X[:, d.col("level")], (T >= 10).astype(float))
    assert np.array_equal(d.X[:, d.col("slope")], np.clip(T - 10, 0, None))
    assert d.effect_terms == ("level", "slope")


def test_pulse_is_one_period_and_decay_halves_every_half_life():
    pulse = build_design(T, [10], Impact.parse("pulse"), Seasonality.parse("none"))
    assert pulse.X[:, pulse.col("level")].sum() == 1 and pulse.X[10, pulse.col("level")] == 1
    decay = build_design(T, [10], Impact.parse("decay:4"), Seasonality.parse("none"))
    col = decay.X[:, decay.col("level")]
    assert col[9] == 0 and col[10] == 1 and col[14] == pytest.approx(0.5) and col[18] == pytest.approx(0.25)


def test_later_interventions_are_named_by_date():
    d = build_design(T, [5, 12], Impact.parse("step+slope"), Seasonality.parse("none"),
                     labels=["2021-01-07", "2021-01-14"])
    assert d.effect_terms == ("level", "slope", "level@2021-01-14", "slope@2021-01-14")
    assert d.X[:, d.col("level@2021-01-14")].sum() == 8


def test_day_of_week_dummies_use_monday_as_reference():
    weekday = (np.arange(14) % 7) + 1
    d = build_design(np.arange(14.0), [7], Impact.parse("step"), Seasonality.parse("dow"), weekday=weekday)
    dow = d.X[:, [d.col(f"dow_{n}") for n in ("tue", "wed", "thu", "fri", "sat", "sun")]]
    assert np.array_equal(dow.sum(axis=1), (weekday != 1).astype(float))


def test_fourier_terms_have_the_declared_period_and_order():
    t = np.arange(36.0)
    d = build_design(t, [24], Impact.parse("step"), Seasonality.parse("fourier:12:2"))
    assert [n for n in d.names if n.startswith("fourier")] == ["fourier_sin1", "fourier_cos1", "fourier_sin2", "fourier_cos2"]
    assert np.allclose(d.X[:, d.col("fourier_cos2")], np.cos(4 * np.pi * t / 12))
    assert np.allclose(d.X[:12, d.col("fourier_sin1")], d.X[12:24, d.col("fourier_sin1")])


@pytest.mark.parametrize("text", ["steps", "decay:0", "decay:x", "pulse+slope"])
def test_unknown_impacts_are_rejected(text):
    with pytest.raises(ValueError, match="impact must be one of"):
        Impact.parse(text)


@pytest.mark.parametrize("text", ["fourier:12:6", "fourier:1:1", "fourier:12", "weekly"])
def test_invalid_seasonality_is_rejected(text):
    with pytest.raises(ValueError, match="fourier|seasonality must be one of"):
        Seasonality.parse(text)


def test_dow_without_weekdays_is_an_error():
    with pytest.raises(ValueError, match="daily data"):
        build_design(T, [10], Impact.parse("step"), Seasonality.parse("dow"))
