"""Command-line edits of the event registry (event_shift, add_event) and the renamed cutoff:
each moves the answer's numbers the way it claims, and a bad item stops with exit code 2."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analysis.data.event_overrides import apply_overrides
from analysis.data.events import load_events
from analysis.data.timing import affected_snapshot_dates
from analysis.errors import ParameterError
from analysis.params import resolve

SELECTION = {"apps": "Telegram,Signal", "countries": "us,in"}


def _snapshots(events: pl.DataFrame) -> dict[str, date]:
    return dict(affected_snapshot_dates(events).select("event_id", "first_possible_snapshot").iter_rows())


def test_shift_moves_every_date_of_the_event_and_its_first_snapshot_by_the_days_given():
    reg = load_events()
    moved = apply_overrides(reg, ["X04:+1", "X01:-2"])
    before, after = _snapshots(reg), _snapshots(moved)
    # X04: Trump's ban, 18:21 ET on 8 Jan = 23:21 UTC, after the noon snapshot -> 9 Jan; +1 day -> 10 Jan
    assert before["X04"] == date(2021, 1, 9) and after["X04"] == date(2021, 1, 10)
    assert after["X01"] == date(2021, 1, 2)  # the WhatsApp notice, 2 days earlier
    x01 = moved.filter(pl.col("event_id") == "X01").row(0, named=True)
    assert (x01["date_utc"], x01["date_end_utc"], x01["local_date"]) == (date(2021, 1, 2), date(2021, 1, 5), date(2021, 1, 2))
    untouched = [e for e in before if e not in ("X04", "X01")]
    assert all(before[e] == after[e] for e in untouched)


def test_added_event_enters_the_registry_on_its_utc_day_or_after_its_clock_time():
    moved = apply_overrides(load_events(), added=["Y01:2021-01-14:deplatforming", "Y02:2021-01-14T18:30:other:Parler"])
    snap = _snapshots(moved)
    assert snap["Y01"] == date(2021, 1, 14)  # any time of the UTC day: the noon snapshot may already show it
    assert snap["Y02"] == date(2021, 1, 15)  # 18:30 UTC is after the noon snapshot
    y02 = moved.filter(pl.col("event_id") == "Y02").row(0, named=True)
    assert (y02["kind"], y02["platform"], y02["local_tz"]) == ("other", "Parler", "UTC")


@pytest.mark.parametrize(("shift", "add", "message"), [
    (["X99:+1"], [], r"unknown event id\(s\) X99"),
    (["X04:one"], [], "is not EVENT_ID:DAYS"),
    (["X04:+1", "X04:-1"], [], "shifted twice"),
    ([], ["X04:2021-01-14:deplatforming"], "already in the registry"),
    ([], ["Y01:2021-01-14:riot"], "kind 'riot'"),
    ([], ["Y01:14 Jan:deplatforming"], "is not EVENT_ID:YYYY-MM-DD"),
    ([], ["Y01:2021-02-30:other"], "invalid date"),
])
def test_bad_registry_edits_are_refused_with_the_item_named(shift, add, message):
    with pytest.raises(ParameterError, match=message) as exc:
        apply_overrides(load_events(), shift, add)
    assert exc.value.exit_code == 2


def test_intervention_date_is_refused_with_its_new_name_and_the_way_to_move_events():
    with pytest.raises(ParameterError) as exc:
        resolve({"intervention_date": "2021-01-12"})
    text = str(exc.value)
    assert exc.value.exit_code == 2
    assert "comparison_cutoff" in text and "event_shift=X04:+1" in text and "exclude_events" in text


@pytest.fixture(scope="module")
def answers():
    """The answer table (Telegram, Signal; us, in) of the default registry and of each edit."""
    import dataclasses

    from analysis.data.studies.registry import load_study
    from analysis.models.events.estimates import fit_study
    from analysis.report.answer.table import answer_table

    loaded = load_study("demo", event_shift=["X10:+3"])  # generated once; the other edits reuse its world
    demo = dataclasses.replace(loaded, events=load_events())
    out = {"loaded": loaded}
    for name, extra in {"default": {}, "shift": {"event_shift": "X10:+3"}, "drop": {"exclude_events": "X09"},
                        "add": {"add_event": "Y01:2021-01-25:deplatforming"},
                        "cutoff": {"comparison_cutoff": "2021-01-12"}}.items():
        p = resolve({**SELECTION, **extra})
        data = dataclasses.replace(demo, events=apply_overrides(demo.events, p.event_shift, p.add_event))
        fit = fit_study(data, p)
        out[name] = (fit, answer_table(fit.effects, truth=fit.truth, synthetic=True, events=data.events))
    return out


def _terms(answer: pl.DataFrame) -> dict[str, float]:
    rows = answer.filter(pl.col("app_name") == "Telegram", pl.col("country") == "us", pl.col("event_id").is_not_null())
    return dict(rows.select("event_id", "estimate").iter_rows())


def test_shifting_an_event_moves_its_term_and_the_neighbouring_estimates(answers):
    design_default = answers["default"][0].terms
    design_shift = answers["shift"][0].terms
    first = dict(design_shift.select("term_id", "first_snapshot").iter_rows())
    base = dict(design_default.select("term_id", "first_snapshot").iter_rows())
    assert (first["X10"] - base["X10"]).days == 3  # WhatsApp's delay of its deadline, three days later
    d, s = _terms(answers["default"][1]), _terms(answers["shift"][1])
    assert abs(d["X10"] - s["X10"]) > 1e-3  # the term now compares different days
    assert d["X01"] != s["X01"]  # every term of the joint fit moves a little


def test_dropping_and_adding_events_change_the_answers_terms(answers):
    d, x, a = _terms(answers["default"][1]), _terms(answers["drop"][1]), _terms(answers["add"][1])
    assert "X09" in d and "X09" not in x and "Y01" in a and "Y01" not in d
    assert d["X10"] != x["X10"] and d["X11"] != a["X11"]
    added = answers["add"][1].filter(pl.col("event_id") == "Y01")
    assert added["true_value"].is_null().all()  # the demo world has no such event: no truth to claim
    # X11's true effect is 0 and Y01 is a spurious term next to it: its estimate is near zero too
    assert abs(a["Y01"]) < 0.2


def test_load_study_edits_the_analysis_events_but_generates_the_demo_from_the_registry(answers):
    from analysis.config import EVENTS_FILE

    edited = answers["loaded"]
    x10 = edited.events.filter(pl.col("event_id") == "X10")["date_utc"].item()
    assert x10 == date(2021, 1, 18)  # 15 Jan + 3
    assert edited.inputs["events_jan2021.csv"] == EVENTS_FILE.read_bytes()
    schedule = edited.truth.schedule  # the simulated world keeps the real date of the delay
    assert "X10" in schedule["event_id"].to_list()
    assert schedule.filter(pl.col("event_id") == "X10")["date"].item() == date(2021, 1, 15)


def test_comparison_cutoff_leaves_the_answer_unchanged_as_documented(answers):
    d, c = answers["default"][1], answers["cutoff"][1]
    assert d.equals(c)
