"""Missing days made explicit (censored / removed / no snapshot) and event timing in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import polars as pl
import pytest

from analysis.data.censoring import complete_daily, fit_rows, status_summary
from analysis.data.events import load_events, removals
from analysis.data.timing import affected_snapshot_dates, first_affected_date, first_snapshot_after
from analysis.errors import InputError

D1, D2, D3, D4 = (date(2021, 1, d) for d in (7, 8, 9, 10))


def panel(rows: list[tuple], depth: int = 3) -> pl.DataFrame:
    """rows: (date, app_name, rank) in ios/us/top_free_overall."""
    return pl.DataFrame(
        [{"date": d, "store": "ios", "country": "us", "chart": "top_free_overall", "app_id": a.lower(),
          "app_name": a, "rank": r, "chart_depth": depth} for d, a, r in rows]
    )


def status(done: pl.DataFrame, app: str) -> list[str]:
    return done.filter(pl.col("app_name") == app).sort("date")["status"].to_list()


def test_absent_from_a_recorded_chart_is_censored_with_the_depth_not_imputed():
    p = panel([(D1, "A", 1), (D1, "B", 2), (D2, "A", 1), (D3, "B", 1)])
    done = complete_daily(p, ["A", "B"], D1, D3)
    assert status(done, "A") == ["observed", "observed", "censored"]
    cens = done.filter(pl.col("status") == "censored")
    assert cens["rank"].is_null().all() and set(cens["chart_depth"]) == {3} and cens["censored"].all()


def test_a_day_without_any_snapshot_is_unknown_not_censored():
    p = panel([(D1, "A", 1), (D3, "A", 2)])
    done = complete_daily(p, ["A"], D1, D3)
    assert status(done, "A") == ["observed", "no_snapshot", "observed"]
    assert done.filter(pl.col("status") == "no_snapshot")["chart_depth"].is_null().all()


def test_an_app_never_in_the_chart_gets_a_fully_censored_series():
    p = panel([(D1, "A", 1), (D2, "A", 1)])
    assert status(complete_daily(p, ["A", "Threema"], D1, D2), "Threema") == ["censored", "censored"]


def test_days_after_a_store_removal_are_structural_missingness():
    p = panel([(D1, "Parler", 1), (D2, "Parler", 2), (D1, "A", 2), (D2, "A", 1), (D3, "A", 1), (D4, "A", 1)])
    rem = pl.DataFrame({"app_name": ["Parler"], "store": ["ios"], "removed_on": [D2]})
    done = complete_daily(p, ["Parler"], D1, D4, removals=rem)
    assert status(done, "Parler") == ["observed", "observed", "removed", "removed"]
    assert fit_rows(done)["date"].to_list() == [D1, D2]  # removed days never enter a model
    s = status_summary(done).row(0, named=True)
    assert (s["observed"], s["removed"], s["censored"]) == (2, 2, 0)


def test_removal_only_applies_to_its_store():
    p = panel([(D1, "Parler", 1), (D2, "A", 1)]).vstack(
        panel([(D1, "Parler", 1), (D2, "A", 1)]).with_columns(pl.lit("google_play").alias("store")))
    rem = pl.DataFrame({"app_name": ["Parler"], "store": ["google_play"], "removed_on": [D1]})
    done = complete_daily(p, ["Parler"], D1, D2, removals=rem)
    got = dict(done.filter(pl.col("date") == D2).select("store", "status").iter_rows())
    assert got == {"ios": "censored", "google_play": "removed"}


def test_demo_parler_is_removed_after_the_events_table_dates(demo):
    ev = load_events()
    done = complete_daily(demo.panel.filter(pl.col("country") == "us"), ["Parler"], date(2021, 1, 1),
                          date(2021, 1, 20), removals(ev))
    first_removed = done.filter(pl.col("removed")).group_by("store").agg(pl.col("date").min())
    assert dict(first_removed.iter_rows()) == {"google_play": date(2021, 1, 9), "ios": date(2021, 1, 10)}
    assert not done.filter(pl.col("removed"), pl.col("rank").is_not_null()).height


def test_without_depth_information_a_default_must_be_given():
    p = panel([(D1, "A", 1)]).drop("chart_depth")
    with pytest.raises(InputError, match="default_depth"):
        complete_daily(p, ["A"], D1, D1)
    assert complete_daily(p, ["A", "B"], D1, D1, default_depth=200).filter(pl.col("app_name") == "B")["chart_depth"][0] == 200


def test_an_inverted_window_is_an_input_error():
    with pytest.raises(InputError, match="empty window"):
        complete_daily(panel([(D1, "A", 1)]), ["A"], D2, D1)


# -- time zones ----------------------------------------------------------------------------

def test_trump_ban_on_us_friday_evening_first_shows_in_saturdays_noon_utc_snapshot():
    # 6:21 pm ET on Fri 8 Jan 2021 = 23:21 UTC: after the noon-UTC snapshot of the 8th
    assert first_affected_date(date(2021, 1, 8), "America/New_York", 12, time(18, 21)) == (D3, D3)
    # with a midnight-UTC snapshot it shows on the 9th; at 7:30 pm ET (00:30 UTC on the 9th) only on the 10th
    assert first_affected_date(date(2021, 1, 8), "America/New_York", 0, time(18, 21)) == (D3, D3)
    assert first_affected_date(date(2021, 1, 8), "America/New_York", 0, time(19, 30)) == (D4, D4)
    # a morning ET event is seen on its own UTC day
    assert first_affected_date(date(2021, 1, 8), "America/New_York", 12, time(6, 0)) == (D2, D2)


def test_without_a_clock_time_the_ambiguity_is_reported_not_resolved():
    possible, certain = first_affected_date(date(2021, 1, 8), "America/New_York", 12)
    assert (possible, certain) == (D2, D3)


def test_snapshot_boundary_is_strict():
    t = datetime(2021, 1, 8, 12, 0, tzinfo=UTC)
    assert first_snapshot_after(t, 12) == D3


def test_events_table_gets_first_affected_snapshots_with_local_time_and_utc_day():
    ev = load_events().with_columns(
        pl.when(pl.col("event_id") == "X04").then(pl.lit("18:21")).otherwise(None).alias("local_time"))
    out = affected_snapshot_dates(ev, 12)
    row = {r["event_id"]: r for r in out.iter_rows(named=True)}
    assert (row["X04"]["first_possible_snapshot"], row["X04"]["ambiguous_day"]) == (D3, False)
    # AWS cut-off: late Sunday 10 Jan PT, dated 11 Jan UTC: the noon-UTC snapshot of the 11th
    assert (row["X07"]["first_certain_snapshot"], row["X07"]["ambiguous_day"]) == (date(2021, 1, 11), False)
    # Capitol attack: only the local day is known: ambiguous between the 6th and the 7th
    assert (row["X02"]["first_possible_snapshot"], row["X02"]["first_certain_snapshot"]) == (date(2021, 1, 6), date(2021, 1, 7))
    assert out["event_id"].to_list() == ev["event_id"].to_list()


def test_events_loader_validates_an_optional_local_time(tmp_path):
    import csv
    import io

    from analysis.config import EVENTS_FILE

    rows = list(csv.DictReader(io.StringIO(EVENTS_FILE.read_text())))
    assert "local_time" in rows[0]  # the registry pins clock times where they are known
    rows[3]["local_time"] = "6pm"  # data row 4
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    p = tmp_path / "ev.csv"
    p.write_text(out.getvalue())
    from analysis.errors import DataError

    with pytest.raises(DataError, match="local_time is not HH:MM") as err:
        load_events(p)
    assert "row 4" in str(err.value)
