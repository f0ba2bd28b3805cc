"""Shared fixtures.  Real third-party data are read from ../shared/data, never copied."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.config import shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if not d.exists():
        pytest.skip(f"shared data directory {d} not present")
    return d


@pytest.fixture(scope="session")
def demo():
    from analysis.data.demo.world import generate_demo

    return generate_demo()


def _demo_window_fits(demo, errors: str):
    """Step-model level fits of WhatsApp and three placebo apps (iOS) at the first event term
    (X01, whose 60-day pre-period holds no event), joined to the demo's window-average truth:
    the mean over the post window of the log-rank effect of all events, re-ranked against the
    world without them (interference included: placebo apps are pushed down by the climbers)."""
    import polars as pl

    from analysis.data.demo.world import true_window_effects
    from analysis.models.its.model import ITSSpec
    from analysis.models.its.series import fit_panel

    when = demo.schedule["date"].min()
    panel = demo.panel.filter(pl.col("store") == "ios",
                              pl.col("app_name").is_in(["WhatsApp", "Discord", "Twitter", "Facebook Messenger"]))
    rows = []
    for post in (14, 30):
        spec = ITSSpec(when, 60, post, impact="step", errors=errors)
        truth = true_window_effects(demo, spec.intervention, spec.end).filter(pl.col("store") == "ios")
        rows.append(fit_panel(panel, spec).effects.filter(pl.col("term") == "level")
                    .join(truth.select("app_name", "country", "true_value"), on=["app_name", "country"]))
    return pl.concat(rows)


@pytest.fixture(scope="session")
def demo_window_fits():
    """:func:`_demo_window_fits` (shared by the HAC and AR(1) truth-recovery tests)."""
    return _demo_window_fits
