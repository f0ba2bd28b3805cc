"""The BigTech.fail event table (real file from ../shared) and confounders from both tables."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analysis.data.events import load_events
from analysis.data.sources.bigtech import RELATIVE_PATH, confounders, load_bigtech
from analysis.errors import DataError
from tests.data.variants import assert_row_error, write_variant


@pytest.fixture(scope="module")
def bigtech(shared_data) -> pl.DataFrame:
    return load_bigtech(shared_data / RELATIVE_PATH)


def test_real_table_loads_with_the_documented_shape(bigtech):
    assert bigtech.height == 453  # PROVENANCE.md
    assert bigtech["date"].min() == date(2010, 12, 20) and bigtech["date"].max() == date(2021, 6, 4)
    window = bigtech.filter(pl.col("date").is_between(date(2020, 10, 1), date(2021, 4, 30)))
    assert window.height == 215
    assert window.filter(pl.col("tags").list.contains("capitol-riot")).height == 19
    assert window.filter(pl.col("tags").list.contains("alttech-growth")).height == 21


def test_key_january_2021_rows_are_present(bigtech):
    rows = dict(bigtech.select("slug", "date").iter_rows())
    assert rows["twitter-bans-trump"] == date(2021, 1, 8)
    assert rows["google-removes-parler-from-play-store"] == date(2021, 1, 8)
    assert rows["apple-removes-parler-from-app-store"] == date(2021, 1, 9)
    apple = bigtech.filter(pl.col("slug") == "apple-removes-parler-from-app-store")
    assert apple["corporations"][0].to_list() == ["apple", "amazon"]


def test_confounders_combine_both_tables_within_k_days(bigtech):
    near = confounders(load_events(), bigtech, date(2021, 1, 8), 1)
    assert set(near["source"]) == {"curated", "bigtech.fail"}
    assert near["days_from_intervention"].abs().max() <= 1
    ids = set(near["event_id"])
    assert {"X03", "X04", "X05", "X06", "twitter-bans-trump", "google-removes-parler-from-play-store"} <= ids
    assert "youtube-bans-trump" not in ids  # 12 Jan, outside +-1 day
    assert near.filter(pl.col("source") == "bigtech.fail")["date_precision"].str.contains(r"\+-1 day").all()


def test_a_curated_event_spread_over_days_counts_when_any_day_is_near(bigtech):
    near = confounders(load_events(), None, date(2021, 1, 8), 1)
    assert "X01" in set(near["event_id"])  # 4-7 Jan roll-out of WhatsApp's notice


def test_a_larger_window_never_flags_fewer_events(bigtech):
    ev = load_events()
    counts = [confounders(ev, bigtech, date(2021, 1, 8), k).height for k in (0, 1, 3, 7)]
    assert counts == sorted(counts) and counts[0] >= 5


@pytest.mark.parametrize(
    ("old", "new", "column", "phrase"),
    [
        ("2021-01-08,2021-01-08,Twitter Bans President Trump", "2021-01-88,2021-01-88,Twitter Bans President Trump",
         "date", "unparseable date"),
        (",twitter-bans-trump,", ",twitter-bans-technofog,", "slug", "duplicate slug"),
        ("https://bigtech.fail/events/twitter-bans-trump/", "http://example.com/x", "url", "bigtech.fail event URL"),
    ],
)
def test_bad_rows_name_file_column_and_row(shared_data, tmp_path, old, new, column, phrase):
    assert_row_error(load_bigtech, write_variant(shared_data / RELATIVE_PATH, tmp_path, old, new), column, phrase)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_bigtech(tmp_path / "nope.csv")


def test_source_record_carries_licence_attribution_and_the_documented_hash(shared_data):
    from analysis.data.sources.bigtech import default_path, source_record

    rec = source_record(default_path())
    assert "CC BY 4.0" in rec["licence"] and "Steve Russo" in rec["licence"]
    assert rec["sha256"] == "3133af7bff7008e14272c482049b41ae982d27132991a14d807028942276a358"  # PROVENANCE.md
