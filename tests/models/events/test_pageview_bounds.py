"""Pageview-scale bounds from the shipped top-100 list, checked against a hand computation from
the CSVs (read with the csv module, not the package's loader)."""

from __future__ import annotations

import csv
import math
from datetime import date, timedelta

import polars as pl
import pytest

from analysis.data.events import load_events
from analysis.data.sources import top100 as wp
from analysis.models.events.pageview_bounds import (
    ASSUMPTION,
    COLUMNS,
    alone_spans,
    event_days,
    pageview_bounds,
)

START, FIRST, LAST = date(2020, 12, 1), date(2021, 1, 4), date(2021, 1, 17)


def _csv(name: str) -> list[dict]:
    with open(wp.DIR / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def hand():
    """Per day: #100 views; per (article, day): views -- straight from the shipped files."""
    thr = {date.fromisoformat(r["date"]): int(r["views_at_rank_100"]) for r in _csv(wp.THRESHOLD_FILE)}
    views = {}
    for f, *_ in wp.WINDOW_FILES.values():
        for r in _csv(f):
            views[(r["article"], date.fromisoformat(r["date"]))] = int(r["views"])
    return thr, views


@pytest.fixture(scope="module")
def bounds():
    t = wp.load_top100()
    return pageview_bounds(t.views, load_events(), START, FIRST, LAST)


def _days(a: date, b: date) -> list[date]:
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


def _ceiling(thr, views, article, a, b):
    return max(views.get((article, d), thr[d]) for d in _days(a, b))


def _row(bounds, app, group):
    return bounds.filter(pl.col("app_name") == app, pl.col("group") == group).row(0, named=True)


def test_signal_all_events_bound_is_peak_views_over_the_pre_period_ceiling(bounds, hand):
    thr, views = hand
    m = _ceiling(thr, views, "Signal_(software)", START, FIRST - timedelta(days=1))
    assert not any(("Signal_(software)", d) in views for d in _days(START, FIRST - timedelta(days=1)))
    assert m == 48663  # December's highest #100 views (25 Dec 2020)
    peak = max(views[("Signal_(software)", d)] for d in (date(2021, 1, 9), date(2021, 1, 10)))
    assert peak == 199246
    r = _row(bounds, "Signal", "all_events")
    assert r["kind"] == "bound" and r["side"] == "lower"
    assert r["multiple_low"] == pytest.approx(peak / m, rel=1e-12)  # 4.094
    assert r["estimate"] == pytest.approx(math.log(peak / m))
    assert r["bound_date"] == date(2021, 1, 10) and r["pre_max_date"] == date(2020, 12, 25)
    assert r["ci_low"] is None and r["ci_high"] is None and r["downloads_factor_low"] is None
    # entry bound: 8 Jan, for all events to then (X01 .. X05), never one event alone
    assert r["entry_date"] == date(2021, 1, 8)
    assert r["entry_multiple_low"] == pytest.approx(views[("Signal_(software)", date(2021, 1, 8))] / m)
    assert r["entry_events"] == "X01, X02, X03, X04, X05"
    assert "all events to then" in r["sentence"] and "95%" not in r["sentence"]
    assert r["excludes_no_change"] is True


def test_whatsapp_cannot_exclude_no_change(bounds, hand):
    thr, views = hand
    m = _ceiling(thr, views, "WhatsApp", START, FIRST - timedelta(days=1))
    r = _row(bounds, "WhatsApp", "all_events")
    assert r["bound_views"] == 42227 == max(v for (a, d), v in views.items() if a == "WhatsApp" and FIRST <= d <= LAST)
    assert r["multiple_low"] == pytest.approx(42227 / m) and r["multiple_low"] < 1
    assert r["excludes_no_change"] is False
    assert "cannot exclude no change" in r["sentence"]


def test_placebo_year_uses_the_same_weeks_52_weeks_earlier(bounds, hand):
    thr, views = hand
    shift = timedelta(weeks=52)
    # WhatsApp was listed on 17-18 Dec 2019: its placebo ceiling is its own listed peak, 59,704
    m = _ceiling(thr, views, "WhatsApp", START - shift, FIRST - timedelta(days=1) - shift)
    r = _row(bounds, "WhatsApp", "all_events")
    assert m == 59704 == r["placebo_pre_max_views"]
    assert not any(("WhatsApp", d) in views for d in _days(FIRST - shift, LAST - shift))
    assert r["placebo_multiple_low"] is None and "no jump" in r["placebo_sentence"]
    assert _row(bounds, "Signal", "all_events")["placebo_covered"] is True


def test_groups_get_a_bound_only_on_days_their_events_alone_had_happened(bounds):
    ev = event_days(load_events(), FIRST, LAST)
    assert alone_spans(ev, LAST) == {"privacy_shock": (date(2021, 1, 4), date(2021, 1, 5))}  # X01, before X02
    moved = event_days(load_events(), FIRST, LAST, overrides={"X02": "privacy_shock"})
    assert alone_spans(moved, LAST) == {"privacy_shock": (date(2021, 1, 4), date(2021, 1, 7))}  # up to X04
    for app in ("Signal", "Parler", "Telegram"):
        for g in ("deplatforming", "other", "privacy_shock"):
            r = _row(bounds, app, g)
            assert r["kind"] == "not_identified" and r["multiple_low"] is None
    assert "cannot exclude no change" in _row(bounds, "Signal", "privacy_shock")["sentence"]
    assert "not identified alone" in _row(bounds, "Signal", "deplatforming")["sentence"]


def test_a_group_listed_while_alone_gets_its_own_bound():
    """SYNTHETIC views grid: an article listed on a privacy-shock-only day is bounded for that group."""
    days = _days(START, LAST)
    thr = [50_000] * len(days)
    v = [None] * len(days)
    v[days.index(date(2021, 1, 5))] = 150_000  # listed on the 5th: only X01 (privacy shock) had happened
    grid = pl.DataFrame({"date": days, "app_name": "Synthetic", "country": "en", "store": "wikipedia",
                         "views": v, "threshold": thr}, schema_overrides={"views": pl.Int64})
    b = pageview_bounds(grid, load_events(), START, FIRST, LAST)
    r = b.filter(pl.col("group") == "privacy_shock").row(0, named=True)
    assert r["kind"] == "bound" and r["multiple_low"] == pytest.approx(3.0) and r["bound_events"] == "X01"
    assert b.filter(pl.col("group") == "all_events")["multiple_low"][0] == pytest.approx(3.0)
    assert b["placebo_covered"].to_list() == [False] * 4  # no year-earlier days in this grid


def test_table_has_the_attribution_columns_first(bounds):
    assert tuple(bounds.columns[:len(COLUMNS)]) == COLUMNS
    assert set(bounds["assumption"]) == {ASSUMPTION}
    assert bounds.height == 6 * 4


def test_placebo_entrants_count_articles_that_jumped_as_far_a_year_earlier(hand):
    """How often an article starting below the list jumps that far when none of the events happened."""
    thr, views = hand
    shift = timedelta(weeks=52)
    pre = _days(START - shift, FIRST - timedelta(days=1) - shift)
    win = _days(FIRST - shift, LAST - shift)
    ceiling = max(thr[d] for d in pre)
    in_pre = {a for (a, d) in views if d in set(pre)}
    peak: dict[str, int] = {}
    for (a, d), v in views.items():
        if d in set(win) and a not in in_pre:
            peak[a] = max(peak.get(a, 0), v)
    k = 199246 / 48663
    t = wp.load_top100()
    chart = wp.chart_panel(t.chart, wp.read_threshold(t.files[wp.THRESHOLD_FILE]))
    b = pageview_bounds(t.views, load_events(), START, FIRST, LAST, chart=chart)
    r = _row(b, "Signal", "all_events")
    assert r["placebo_entrants"] == len(peak) == 366
    assert r["placebo_entrants_at_least"] == sum(v / ceiling >= k for v in peak.values()) == 38
    assert "38 of the 366 articles" in r["placebo_sentence"]
    assert _row(b, "Signal", "deplatforming")["placebo_entrants_at_least"] is None  # no bound, no count
