"""The Lopez Bernal checklist card flags what the fits and the events table show."""

from __future__ import annotations

from datetime import date

import polars as pl

from analysis.models.checks.checklist import checklist_card
from analysis.models.its.model import ITSSpec

SPEC = ITSSpec(date(2021, 1, 8), 60, 30)
EVENTS = pl.DataFrame({"event_id": ["X04", "X03"], "date_utc": [date(2021, 1, 8), date(2021, 1, 7)],
                       "date_end_utc": [None, None], "event": ["a", "b"]},
                      schema_overrides={"date_end_utc": pl.Date})


def diag(lb: list[float], n: int = 90) -> pl.DataFrame:
    return pl.DataFrame({"n": [n] * len(lb), "n_pre": [60] * len(lb), "n_post": [30] * len(lb), "ljung_box_p": lb})


def status(card: pl.DataFrame, item: str) -> str:
    return card.filter(pl.col("item") == item)["status"][0]


def test_autocorrelation_under_hac_is_a_warning_and_confounders_are_listed():
    card = checklist_card(SPEC, diag([0.001, 0.5]), EVENTS, confounder_days=3)
    assert status(card, "autocorrelation") == "warn"
    assert "1 of 2 series" in card.filter(pl.col("item") == "autocorrelation")["detail"][0]
    conf = card.filter(pl.col("item") == "confounding events nearby")
    assert conf["status"][0] == "warn" and "X03" in conf["detail"][0] and "X04" not in conf["detail"][0]


def test_clean_ar1_fit_without_nearby_events_passes():
    spec = SPEC.with_(errors="ar1")
    card = checklist_card(spec, diag([0.4, 0.6]), EVENTS.filter(pl.col("event_id") == "X04"))
    assert status(card, "autocorrelation") == "ok"
    assert status(card, "confounding events nearby") == "ok"
    assert status(card, "overdispersion") == "n/a"
    assert status(card, "seasonality") == "ok"


def test_missing_days_without_censoring_and_no_seasonality_are_warnings():
    card = checklist_card(SPEC.with_(seasonality="none"), diag([0.4], n=70))
    assert status(card, "chart-depth censoring") == "warn"
    assert status(card, "seasonality") == "warn"
    assert status(card, "confounding events nearby") == "n/a"


def test_unmodelled_breaks_item_from_rho_hats_and_parallel_trend_controls():
    d = diag([0.4, 0.6, 0.5]).with_columns(pl.Series("rho", [0.5, 0.99, 0.8]), pl.Series("rho_pre", [0.45, 0.9, 0.5]))
    card = checklist_card(SPEC.with_(errors="ar1"), d, control_check=pl.DataFrame(
        {"control": ["gb", "de"], "parallel": [True, False]}))
    row = card.filter(pl.col("item") == "unmodelled breaks (rho-hat)").row(0, named=True)
    assert row["status"] == "warn"
    assert row["detail"].startswith("1 of 3 series have rho-hat >= 0.98 (at its bound) and 1 a full-window")
    ctl = card.filter(pl.col("item") == "controls: parallel pre-period trends").row(0, named=True)
    assert ctl["status"] == "warn" and ctl["detail"].endswith(": de")
    ok = checklist_card(SPEC.with_(errors="ar1"), d.head(1))
    assert status(ok, "unmodelled breaks (rho-hat)") == "ok"
