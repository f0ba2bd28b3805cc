"""Robustness figures and cards: built from the battery's frames, bannered when synthetic."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analysis import figures
from analysis.models.checks import robustness as rb
from analysis.models.checks.checklist import model_card
from analysis.models.checks.simulate import coverage_study, truth_coverage
from analysis.models.its.model import ITSSpec

SPEC = ITSSpec(date(2021, 1, 8), 60, 30, errors="ar1")


@pytest.fixture(scope="module")
def battery(demo):
    panel = demo.panel.filter(pl.col("store") == "ios", pl.col("app_name").is_in(["WhatsApp", "Telegram"]),
                              pl.col("country").is_in(["us", "de"]))
    return rb.battery(panel, SPEC, ["app_name", "country"], placebo_step=4, pre_days=(60,), post_days=(30,),
                      spec_series=panel.filter(pl.col("app_name") == "Telegram", pl.col("country") == "de"),
                      spec_grid={"errors": ("hac", "ar1"), "seasonality": ("dow", "none")})


def test_figures_carry_the_synthetic_banner(battery):
    charts = [
        figures.spec_curve(battery.spec_curve, True, "Telegram · DE", ["errors", "seasonality"], 0.05),
        figures.placebo_strip(battery.placebo_time, battery.actual, True),
        figures.cutoff_heatmap(battery.cutoffs, True),
        figures.coverage_bars(coverage_study(reps=50), True, 0.05),
    ]
    for chart in charts:
        spec = chart.to_dict()
        assert spec["title"]["text"].startswith("SYNTHETIC DEMO DATA")


def test_model_card_states_the_declared_error_model():
    card = dict(model_card(SPEC.with_(impact="decay:5", seasonality="fourier:7:2")).iter_rows())
    assert "exact maximum likelihood" in card["errors and inference"]
    assert "half-life of 5" in card["impact model"]
    assert "Fourier" in card["seasonality"]


def test_truth_coverage_skips_error_models_the_spec_does_not_allow(demo):
    panel = demo.panel.filter(pl.col("store") == "ios", pl.col("app_name") == "Discord")
    tc = truth_coverage(panel, demo.effects, SPEC.with_(errors="hac", censored=True), "ios")
    assert tc["errors"].to_list() == ["iid", "hac", "ar1"]  # ar1-reml is not available with censoring
    assert tc["replicates"].to_list() == [6, 6, 6]  # Discord has no true event: the target is 0
