"""The archive converter on the real sample snapshots, its layouts, bad files, and daily rules."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from analysis.cli import main
from analysis.data.panel import read_panel, validate_panel
from analysis.data.sources import archive as ar
from analysis.data.sources.daily import parse_rule, to_daily
from analysis.errors import DataError, InputError

T = "2021-01-08T12:00:31Z"
WHEN = datetime(2021, 1, 8, 12, 0, 31, tzinfo=UTC)


@pytest.fixture(scope="module")
def samples(shared_data) -> dict[str, Path]:
    d = shared_data / "app_rankings_sample"
    return {"ios": d / "us_TOP_FREE_IOS.json", "google_play": d / "us_TOP_FREE.json"}


def snapshot(tmp_path: Path, entries: object, name: str = "us_TOP_FREE_IOS.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(entries))
    return p


def apps(n: int, prefix: str = "app") -> list[dict]:
    return [{"appId": f"{prefix}.{i}", "title": f"App {i}"} for i in range(1, n + 1)]


# -- the real samples ------------------------------------------------------------------------

def test_real_samples_give_rank_as_position_and_depth_as_entries(samples):
    df = ar.read_files([samples["ios"], samples["google_play"]], T)
    depth = dict(df.group_by("store").agg(pl.col("chart_depth").first()).iter_rows())
    assert depth == {"ios": 100, "google_play": 199}  # PROVENANCE.md: 100 and 199 entries
    for store, n in depth.items():
        assert df.filter(pl.col("store") == store)["rank"].sort().to_list() == list(range(1, n + 1))
    assert set(df["country"]) == {"us"} and set(df["chart"]) == {"top_free_overall"}
    assert df["snapshot_utc"].unique().to_list() == [WHEN] and df["date"].unique().to_list() == [date(2021, 1, 8)]


def test_real_samples_match_the_ranks_documented_in_provenance(samples):
    df = ar.read_files([samples["ios"], samples["google_play"]], T)

    def rank(store: str, app_id: str) -> int:
        return int(df.filter(pl.col("store") == store, pl.col("app_id") == app_id)["rank"][0])

    assert rank("ios", "net.whatsapp.WhatsApp") == 11 and rank("google_play", "com.whatsapp") == 9
    assert rank("ios", "ph.telegra.Telegraph") == 21 and rank("google_play", "org.telegram.messenger") == 6
    assert rank("google_play", "com.whatsapp.w4b") == 165
    # first entries are ranks 1, by title
    top = df.filter(pl.col("rank") == 1).sort("store")["app_name"].to_list()
    assert top == ["BURGER KING® App", "TikTok"]


def test_known_apps_get_canonical_names_and_others_keep_their_store_title(samples):
    df = ar.read_files([samples["ios"]], T)
    tg = df.filter(pl.col("app_id") == "ph.telegra.Telegraph")
    assert tg["app_name"][0] == "Telegram"  # the store title is "Telegram Messenger"
    assert df.filter(pl.col("app_id") == "com.burbn.instagram")["app_name"][0] == "Instagram"


def test_converted_samples_form_a_valid_daily_panel_with_depth_and_time(samples, tmp_path):
    panel = to_daily(ar.read_files([samples["ios"], samples["google_play"]], T))
    out = tmp_path / "p.parquet"
    panel.write_parquet(out)
    back = read_panel(out)
    assert back.columns == ["date", "store", "country", "chart", "app_id", "app_name", "rank", "chart_depth", "snapshot_utc"]
    assert back.height == 299 and back.equals(panel)


# -- layouts ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("path", "store", "country", "chart", "when"),
    [
        ("app_store/rankings/us_TOP_FREE_IOS.json", "ios", "us", "top_free_overall", None),
        ("play_store/rankings/de_TOP_FREE.json", "google_play", "de", "top_free_overall", None),
        ("play_store/rankings/in_GROSSING.json", "google_play", "in", "top_grossing_overall", None),
        ("app_store/rankings/gb_TOP_PAID_IOS.json", "ios", "gb", "top_paid_overall", None),
        ("app_store/us/TOP_FREE_IOS_20201010_134503.json", "ios", "us", "top_free_overall",
         datetime(2020, 10, 10, 13, 45, 3, tzinfo=UTC)),
        ("play_store/br/TOP_FREE_20201010_134112.json", "google_play", "br", "top_free_overall",
         datetime(2020, 10, 10, 13, 41, 12, tzinfo=UTC)),
        ("/cache/0123abcd/us_TOP_FREE.json", "google_play", "us", "top_free_overall", None),
    ],
)
def test_store_country_chart_and_time_come_from_the_path(path, store, country, chart, when):
    f = ar.parse_path(path)
    assert (f.store, f.country, f.chart, f.snapshot_utc) == (store, country, chart, when)


def test_first_day_layout_takes_its_time_from_the_file_name(tmp_path):
    d = tmp_path / "app_store" / "us"
    d.mkdir(parents=True)
    p = snapshot(d, apps(3), "TOP_FREE_IOS_20201010_134503.json")
    df = ar.read_files([p])
    assert df["snapshot_utc"][0] == datetime(2020, 10, 10, 13, 45, 3, tzinfo=UTC)


def test_archive_path_is_the_inverse_of_parse_path():
    for (store, _native), chart in ar.NATIVE_CHARTS.items():
        p = ar.archive_path(store, "fr", chart)
        f = ar.parse_path(p)
        assert (f.store, f.country, f.chart) == (store, "fr", chart)


# -- bad files: clear errors naming file and entry -------------------------------------------

@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("xx_TOP_FREE_IOS.json", "unknown country 'xx'"),
        ("US_TOP_FREE_IOS.json", "unknown country 'US'"),
        ("us_TOP_NEW_IOS.json", "unknown chart 'TOP_NEW_IOS'"),
        ("us_TOP_FREE_IOS.txt", "not an archive chart file"),
    ],
)
def test_unknown_country_chart_or_name_is_refused_naming_the_file(tmp_path, name, phrase):
    p = snapshot(tmp_path, apps(2), name)
    with pytest.raises(DataError) as err:
        ar.read_files([p], T)
    assert phrase in str(err.value) and str(p) in str(err.value)


def test_truncated_real_snapshot_is_malformed_json_naming_the_file(samples, tmp_path):
    p = tmp_path / "us_TOP_FREE_IOS.json"
    p.write_bytes(samples["ios"].read_bytes()[:50_000])
    with pytest.raises(DataError, match=r"malformed JSON: .* line \d+ column \d+.*truncated") as err:
        ar.read_files([p], T)
    assert str(p) in str(err.value)


def test_duplicate_app_in_a_real_snapshot_names_both_entries(samples, tmp_path):
    entries = json.loads(samples["google_play"].read_text())
    entries.insert(150, entries[8])  # WhatsApp (#9) again at position 151
    p = snapshot(tmp_path, entries, "us_TOP_FREE.json")
    with pytest.raises(DataError) as err:
        ar.read_files([p], T)
    msg = str(err.value)
    assert "entry 151" in msg and "'com.whatsapp'" in msg and "entry 9" in msg and str(p) in msg


@pytest.mark.parametrize(
    ("entries", "phrase"),
    [
        ([], "no entries"),
        ({"apps": []}, "expected a JSON array"),
        ([{"appId": "a", "title": "A"}, "b"], "entry 2 is a JSON str"),
        ([{"appId": "a", "title": "A"}, {"title": "B"}], "entry 2: 'appId' is missing"),
        ([{"appId": "a", "title": ""}], "entry 1: 'title' is missing"),
    ],
)
def test_structurally_bad_snapshots_name_the_entry(tmp_path, entries, phrase):
    p = snapshot(tmp_path, entries)
    with pytest.raises(DataError, match=phrase):
        ar.read_files([p], T)


def test_a_snapshot_without_a_known_time_is_an_error_not_a_guess(samples):
    with pytest.raises(DataError, match="snapshot time unknown.*--snapshot-time"):
        ar.read_files([samples["ios"]])


@pytest.mark.parametrize("bad", ["2021-01-08 12:00", "yesterday"])
def test_snapshot_time_must_be_iso_with_a_zone(bad):
    with pytest.raises(DataError):
        ar.parse_time(bad)


def test_two_files_for_the_same_chart_and_time_are_refused(tmp_path):
    a = snapshot(tmp_path, apps(3))
    (tmp_path / "b").mkdir()
    b = snapshot(tmp_path / "b", apps(3))
    with pytest.raises(DataError, match="same chart and time"):
        ar.read_files([a, b], T)


# -- panel schema extension --------------------------------------------------------------------

def base_rows(**extra) -> pl.DataFrame:
    return pl.DataFrame({"date": ["2021-01-08"] * 2, "store": ["ios"] * 2, "country": ["us"] * 2,
                         "chart": ["top_free_overall"] * 2, "app_id": ["a", "b"], "app_name": ["A", "B"],
                         "rank": [1, 2], **extra})


def test_panel_rejects_a_rank_beyond_the_chart_depth():
    with pytest.raises(DataError, match="larger than the chart depth"):
        validate_panel(base_rows(chart_depth=[2, 1]))


def test_panel_rejects_a_depth_that_varies_within_a_chart_day():
    with pytest.raises(DataError, match="differs within one chart"):
        validate_panel(base_rows(chart_depth=[100, 200]))


def test_panel_rejects_a_snapshot_time_on_another_utc_day():
    with pytest.raises(DataError, match="not on the row's"):
        validate_panel(base_rows(snapshot_utc=["2021-01-09T00:30:00Z"] * 2))


def test_panel_without_optional_columns_is_unchanged():
    assert validate_panel(base_rows()).columns == ["date", "store", "country", "chart", "app_id", "app_name", "rank"]


def test_paid_and_grossing_charts_are_valid_panel_charts():
    assert validate_panel(base_rows().with_columns(pl.lit("top_grossing_overall").alias("chart"))).height == 2


# -- hourly -> daily ---------------------------------------------------------------------------

def hourly(ranks_by_hour: dict[int, list[str]], depth: int | None = None, day: date = date(2021, 1, 8)) -> pl.DataFrame:
    """Snapshot rows: for each UTC hour, the app ids in chart order."""
    rows = []
    for h, ids in ranks_by_hour.items():
        t = datetime(day.year, day.month, day.day, h, 5, tzinfo=UTC)
        for i, a in enumerate(ids, start=1):
            rows.append({"snapshot_utc": t, "date": day, "store": "ios", "country": "us", "chart": "top_free_overall",
                         "app_id": a, "app_name": a.upper(), "rank": i, "chart_depth": depth or len(ids)})
    return pl.DataFrame(rows).cast(ar.SNAPSHOT_SCHEMA)


def test_nearest_rule_takes_the_snapshot_closest_to_the_hour():
    s = hourly({6: ["a", "b", "c"], 11: ["b", "a", "c"], 14: ["c", "b", "a"]})
    d = to_daily(s, "nearest:12")
    assert dict(zip(d["app_id"], d["rank"], strict=True)) == {"b": 1, "a": 2, "c": 3}
    assert d["snapshot_utc"].dt.hour().unique().to_list() == [11]
    assert dict(zip(*to_daily(s, "nearest:0").select("app_id", "rank"), strict=True)) == {"a": 1, "b": 2, "c": 3}


def test_best_rule_takes_each_apps_best_rank_of_the_day():
    s = hourly({1: ["a", "b", "c"], 2: ["c", "a", "b"], 3: ["b", "c", "a"]})
    d = to_daily(s, "best")
    assert set(d["rank"]) == {1} and d["snapshot_utc"].is_null().all()


def test_median_rule_counts_absence_as_below_the_chart():
    # d is in the chart in 1 of 3 snapshots: its median is below the chart (censored, no row)
    s = hourly({1: ["a", "b", "d"], 2: ["b", "a", "c"], 3: ["a", "c", "b"]})
    d = to_daily(s, "median")
    got = dict(zip(d["app_id"], d["rank"], strict=True))
    assert got == {"a": 1, "b": 2, "c": 3} and "d" not in got


def test_aggregates_use_the_smallest_depth_of_the_day():
    s = pl.concat([hourly({1: ["a", "b", "c", "x"]}), hourly({2: ["b", "a", "c"]})])
    d = to_daily(s, "best")
    assert set(d["chart_depth"]) == {3} and "x" not in set(d["app_id"])  # x only at rank 4 > 3


@pytest.mark.parametrize("bad", ["nearest:24", "mean", "nearest", ""])
def test_unknown_daily_rule_is_an_input_error(bad):
    with pytest.raises(InputError):
        parse_rule(bad)


# -- command line ------------------------------------------------------------------------------

def test_cli_convert_prints_counts_and_writes_a_panel(samples, tmp_path, capsys):
    out = tmp_path / "panel.parquet"
    code = main(["data", "convert", "app-rankings", str(samples["ios"]), str(samples["google_play"]),
                 "--out", str(out), "--snapshot-time", T])
    text = capsys.readouterr().out
    assert code == 0 and "2 file(s), 2 snapshot(s), 299 snapshot rows -> 299 daily rows" in text
    assert "WhatsApp" in text and read_panel(out).height == 299


def test_cli_convert_of_a_bad_file_exits_2_and_writes_nothing(samples, tmp_path, capsys):
    bad = tmp_path / "us_TOP_FREE.json"
    bad.write_bytes(samples["google_play"].read_bytes()[:1000])
    out = tmp_path / "panel.parquet"
    code = main(["data", "convert", "app-rankings", str(bad), "--out", str(out), "--snapshot-time", T])
    err = capsys.readouterr().err
    assert code == 2 and "malformed JSON" in err and str(bad) in err and not out.exists()


def test_cli_convert_without_a_time_exits_2_naming_the_option(samples, tmp_path, capsys):
    code = main(["data", "convert", "app-rankings", str(samples["ios"]), "--out", str(tmp_path / "p.parquet")])
    assert code == 2 and "--snapshot-time" in capsys.readouterr().err
