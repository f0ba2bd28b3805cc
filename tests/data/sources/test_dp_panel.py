"""The app x country x day panel of the differentially-private release: sums over editions,
censoring below 450, missing days, the pseudo-rank the censoring machinery reads, and the noise."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import polars as pl
import pytest

from analysis.data.censoring import complete_daily
from analysis.data.sources import dp_panel
from analysis.data.sources.wikimedia_dp import SCHEMA, DayEntry, DPLock

D1, D2, D3 = date(2021, 1, 4), date(2021, 1, 5), date(2021, 1, 6)


def rows() -> pl.DataFrame:
    r = [  # (date, country, code, project, page_id, title, qid, views, app)
        (D1, "India", "IN", "en.wikipedia", 1, "Signal_(software)", "Q19718090", 1000, "Signal"),
        (D1, "India", "IN", "hi.wikipedia", 2, "सिग्नल", "Q19718090", 500, "Signal"),
        (D1, "United States", "US", "en.wikipedia", 1, "Signal_(software)", "Q19718090", 2000, "Signal"),
        (D2, "India", "IN", "en.wikipedia", 1, "Signal_(software)", "Q19718090", 1200, "Signal"),  # hi not released
        (D1, "United States", "US", "en.wikipedia", 3, "WhatsApp", "Q1049511", 9000, "WhatsApp"),
    ]
    return pl.DataFrame(r, schema=SCHEMA, orient="row")


def lock() -> DPLock:
    days = [DayEntry(D1.isoformat(), "u1", "ok"), DayEntry(D2.isoformat(), "u2", "ok"),
            DayEntry(D3.isoformat(), "u3", "missing")]
    return DPLock({"Signal": "Q19718090", "WhatsApp": "Q1049511"}, D1, D3, days)


def test_views_are_summed_over_the_series_editions_and_all_editions_kept():
    p = dp_panel.country_panel(rows(), lock())
    assert p.height == 2 * 2 * 3  # apps x countries x days
    got = {(r["app_name"], r["country"], r["date"]): r for r in p.iter_rows(named=True)}
    d1, d2 = got[("Signal", "in", D1)], got[("Signal", "in", D2)]
    # hi is released on D1 only: the series is summed over en (released every day it has a row)
    assert (d1["views"], d1["views_all_editions"], d1["editions"], d1["n_editions"]) == (
        1000, 1500, "en.wikipedia,hi.wikipedia", 2)
    assert (d1["editions_used"], d1["n_used"], d1["country_name"]) == ("en.wikipedia", 1, "India")
    assert (d2["views"], d2["views_all_editions"], d2["editions"]) == (1200, 1200, "en.wikipedia")
    assert got[("Signal", "us", D1)]["status"] == "observed"


def test_a_released_day_without_a_row_is_censored_below_450_and_a_missing_day_is_unknown():
    p = dp_panel.country_panel(rows(), lock())
    status = {(r["app_name"], r["country"], r["date"]): r["status"] for r in p.iter_rows(named=True)}
    assert status[("Signal", "us", D2)] == "censored" and status[("WhatsApp", "in", D1)] == "censored"
    assert {s for (a, c, d), s in status.items() if d == D3} == {"no_snapshot"}
    assert set(p["threshold"]) == {450} and p.filter(pl.col("censored"))["views"].null_count() == 4


def test_a_series_with_two_editions_every_day_is_summed_over_both_and_censored_per_edition():
    r = rows().filter(pl.col("date") == D1)  # on D1 alone, India's Signal has en and hi
    one = DPLock({"Signal": "Q19718090"}, D1, D1, [DayEntry(D1.isoformat(), "u1", "ok")])
    p = dp_panel.country_panel(r, one).filter(pl.col("country") == "in")
    assert (p["views"][0], p["n_used"][0], p["editions_used"][0]) == (1500, 2, "en.wikipedia,hi.wikipedia")
    rp = dp_panel.rank_panel(p)
    assert rp.filter(pl.col("app_name") == "Signal")["rank"][0] == round(dp_panel.SCALE / 750)  # mean per edition


def test_the_pseudo_rank_is_censored_exactly_below_450_views_in_the_chart_machinery():
    p = dp_panel.country_panel(rows(), lock())
    rp = dp_panel.rank_panel(p)
    sig = rp.filter(pl.col("app_name") == "Signal", pl.col("country") == "in", pl.col("date") == D1)
    assert sig["rank"][0] == round(450 * 10**8 / 1000) and sig["chart_depth"][0] == dp_panel.DEPTH
    assert math.log(sig["rank"][0]) == pytest.approx(math.log(dp_panel.SCALE) - math.log(1000), abs=1e-9)
    assert round(dp_panel.SCALE / 450) == dp_panel.DEPTH  # 450 views sit exactly at the depth
    grid = complete_daily(rp, ["Signal", "WhatsApp"], D1, D3)
    want = {(r["app_name"], r["country"], r["date"]): r["status"] for r in p.iter_rows(named=True)}
    got = {(r["app_name"], r["country"], r["date"]): r["status"] for r in grid.iter_rows(named=True)}
    assert got == want  # observed, censored and no_snapshot agree with the panel's own statuses
    assert dp_panel.MARKER not in set(grid["app_name"])


def test_noise_effect_matches_the_laplace_delta_method_at_the_observed_levels():
    days = [date(2021, 1, d) for d in range(1, 21)]
    p = pl.DataFrame({"date": days * 2, "app_name": ["A"] * 40, "country": ["us"] * 20 + ["in"] * 20,
                      "views": [450] * 20 + [10_000] * 20, "n_used": [1] * 20 + [2] * 20,
                      "status": ["observed"] * 40})
    n = dp_panel.noise_effect(p, draws=20000).sort("country")
    rec = {r["country"]: r for r in n.iter_rows(named=True)}
    # sd of Laplace(b) is sqrt(2) b; over k rows sqrt(2k) b; on the log scale / V (delta method)
    assert rec["us"]["noise_sd_log_delta"] == pytest.approx(math.sqrt(2) * 30 / 450)  # 0.0943
    assert rec["in"]["noise_sd_log_delta"] == pytest.approx(2 * 30 / 10_000)
    for c in ("us", "in"):
        assert rec[c]["noise_sd_log_sim"] == pytest.approx(rec[c]["noise_sd_log_delta"], rel=0.05)
    assert rec["us"]["se_added_window_effect"] == pytest.approx(rec["us"]["noise_sd_log_sim"] * np.sqrt(1 / 14 + 1 / 34))
