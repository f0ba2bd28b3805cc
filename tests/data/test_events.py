"""The curated event table: required events present, validation errors precise."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analysis.config import EVENTS_FILE
from analysis.data.events import COLUMNS, events_near, load_events, removals
from analysis.errors import DataError


@pytest.fixture(scope="module")
def events():
    return load_events()


@pytest.mark.parametrize(
    ("day", "words"),
    [
        ("2021-01-06", "Capitol"),
        ("2021-01-04", "privacy"),
        ("2021-01-07", "Use Signal"),
        ("2021-01-08", "realDonaldTrump"),
        ("2021-01-08", "Play Store"),
        ("2021-01-09", "App Store"),
        ("2021-01-11", "Amazon Web Services"),
        ("2021-01-11", "stop the steal"),
        ("2021-01-12", "70,000 QAnon"),
        ("2021-01-13", "Telegram removes"),
        ("2021-01-15", "15 May"),
        ("2021-01-20", "Inauguration"),
    ],
)
def test_required_events_are_present_with_sources(events, day, words):
    hit = events.filter(pl.col("date_utc") == date.fromisoformat(day), pl.col("event").str.contains(words, literal=True))
    assert hit.height == 1, (day, words)
    assert hit["source_url"][0].startswith("https://")


def test_confounds_and_deplatformings_are_typed(events):
    kinds = dict(zip(events["event_id"], events["kind"], strict=True))
    assert kinds["X01"] == "confound" and kinds["X03"] == "confound"
    assert kinds["X04"] == "deplatforming"


def test_facebook_stop_the_steal_ban_is_registered_with_its_newsroom_source(events):
    from analysis.data.timing import affected_snapshot_dates

    fb = affected_snapshot_dates(events).filter(pl.col("event_id") == "X12").row(0, named=True)
    assert fb["kind"] == "deplatforming" and fb["platform"] == "Facebook"
    assert fb["source_url"] == "https://about.fb.com/news/2021/01/preparing-for-inauguration-day/"
    assert (fb["local_date"], fb["local_tz"]) == (date(2021, 1, 11), "America/Los_Angeles")
    # Monday 11 Jan PT, no clock time: the noon-UTC snapshot of 11 Jan (if posted before 04:00 PT)
    # or of 12 Jan; both bounds are reported
    assert (fb["first_possible_snapshot"], fb["first_certain_snapshot"]) == (date(2021, 1, 11), date(2021, 1, 12))


def test_us_evening_event_keeps_its_local_date(events):
    aws = events.filter(pl.col("event_id") == "X07").row(0, named=True)
    assert aws["local_date"] == date(2021, 1, 10) and aws["date_utc"] == date(2021, 1, 11)


def test_store_removals_are_derived_from_events(events):
    r = removals(events).sort("store")
    assert r.to_dicts() == [
        {"app_name": "Parler", "store": "google_play", "removed_on": date(2021, 1, 8)},
        {"app_name": "Parler", "store": "ios", "removed_on": date(2021, 1, 9)},
    ]


def test_events_near_covers_spans(events):
    near = events_near(events, date(2021, 1, 8), 1)
    assert set(near["event_id"]) == {"X01", "X03", "X04", "X05", "X06"}  # X01 spans 4..7 Jan


def _mutate(tmp_path, column: str, row: int, value: str):
    df = pl.read_csv(EVENTS_FILE, infer_schema=False)
    df = df.with_columns(pl.when(pl.int_range(pl.len()) == row - 1).then(pl.lit(value)).otherwise(pl.col(column)).alias(column))
    p = tmp_path / "events.csv"
    df.select(COLUMNS).write_csv(p)
    return p


@pytest.mark.parametrize(
    ("column", "value", "phrase"),
    [
        ("kind", "riot", "unknown kind"),
        ("date_utc", "2021-01-32", "unparseable date"),
        ("source_url", "not a url", "not an http(s) URL"),
        ("local_tz", "Mars/Olympus", "unknown IANA time zone"),
        ("store", "windows", "unknown store"),
        ("event", "", "required value is empty"),
    ],
)
def test_malformed_events_name_column_and_row(tmp_path, column, value, phrase):
    p = _mutate(tmp_path, column, 3, value)
    with pytest.raises(DataError) as err:
        load_events(p)
    msg = str(err.value)
    assert str(p) in msg and f"column {column!r}" in msg and "row 3" in msg and phrase in msg


def test_html_in_event_titles_is_kept_verbatim_for_escaping_later(tmp_path):
    p = _mutate(tmp_path, "event", 2, "<script>alert(1)</script>")
    assert load_events(p)["event"].to_list().count("<script>alert(1)</script>") == 1


def test_event_groups_follow_registry_kinds_and_overrides():
    from analysis.data.events import event_groups, load_events
    from analysis.errors import DataError

    ev = load_events()
    g = dict(event_groups(ev).select("event_id", "group").iter_rows())
    assert {k for k, v in g.items() if v == "privacy_shock"} == {"X01", "X03", "X10"}
    assert {k for k, v in g.items() if v == "other"} == {"X02", "X11"}
    assert g["X05"] == g["X06"] == g["X04"] == "deplatforming"
    moved = dict(event_groups(ev, {"X03": "other"}).select("event_id", "group").iter_rows())
    assert moved["X03"] == "other" and moved["X01"] == "privacy_shock"
    with pytest.raises(DataError, match="unknown event id"):
        event_groups(ev, {"X99": "other"})
    with pytest.raises(DataError, match="unknown group"):
        event_groups(ev, {"X03": "nosuch"})
