"""Per-event design: terms from the registry via the timing table, merges reported, shapes declared."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analysis.data.events import load_events
from analysis.data.timing import affected_snapshot_dates
from analysis.models.events.design import build_event_design, terms_frame

START, END = date(2020, 11, 6), date(2021, 2, 3)


@pytest.fixture(scope="module")
def events():
    return load_events()


def test_terms_follow_the_timing_table_and_same_day_events_are_merged(events):
    d = build_event_design(events, START, END)
    timed = affected_snapshot_dates(events)
    snap = dict(zip(timed["event_id"], timed["first_possible_snapshot"], strict=True))
    # every selected event sits in exactly one term, at its own first affected snapshot
    for term in d.terms:
        assert {snap[e] for e in term.events} == {term.first_snapshot}
        assert term.id == "+".join(term.events)
    assert [t.id for t in d.terms] == ["X01", "X02", "X03", "X04+X05", "X06", "X07+X12", "X08", "X09", "X10",
                                       "X11"]
    assert d.first_event == date(2021, 1, 4)
    assert d.cutoffs()[0] == (date(2021, 1, 4) - START).days
    # merges are reported, with the reason
    assert d.merges["term_id"].to_list() == ["X04+X05", "X07+X12"]
    assert d.merges["reason"].str.contains("same first affected snapshot").all()
    # what was left out, and why
    assert d.excluded.is_empty()
    without_other = build_event_design(events, START, END, kinds=("confound", "deplatforming", "platform_action"))
    assert dict(zip(without_other.excluded["event_id"], without_other.excluded["reason"], strict=True)) == {
        "X02": "not selected (kind other)", "X11": "not selected (kind other)"}


def test_first_certain_rule_and_minimum_separation(events):
    d = build_event_design(events, START, END, snapshot_rule="first_certain")
    assert {t.id: t.first_snapshot for t in d.terms}["X04+X05"] == date(2021, 1, 9)
    assert "X07" in [t.id for t in d.terms] and "X12" not in [t.id for t in d.terms]  # 11 vs 12 Jan
    wide = build_event_design(events, START, END, min_separation_days=2)
    # chained: 7 Jan (X02) -> 8 Jan (X03) -> 9 Jan (X04, X05) -> 10 Jan (X06) -> 11 Jan (X07, X12)
    # -> 12 Jan (X08) -> 13 Jan (X09); 15 Jan is 2 days later; ids in registry order (UTC date, then id)
    chain = "X02+X03+X04+X05+X06+X07+X12+X08+X09"
    assert [t.id for t in wide.terms] == ["X01", chain, "X10", "X11"]
    assert wide.merges.filter(pl.col("term_id") == chain)["reason"][0].startswith(
        "first affected snapshots less than 2 day(s) apart")


def test_selection_shapes_and_overrides(events):
    d = build_event_design(events, START, END, kinds=("confound",), include=("X04",),
                           shapes={"confound": "decay:7", "deplatforming": "step+slope"}, overrides={"X10": "step"})
    tf = terms_frame(d)
    assert tf["term_id"].to_list() == ["X01", "X03", "X04", "X10"]
    assert dict(zip(tf["term_id"], tf["shape"], strict=True)) == {"X01": "decay:7", "X03": "decay:7",
                                                                  "X04": "step+slope", "X10": "step"}
    assert d.term("X04").estimands == ("level", "slope") and d.term("X01").estimands == ("decay",)
    excl = build_event_design(events, START, END, exclude=("X12",))
    assert "X07" in [t.id for t in excl.terms]
    with pytest.raises(ValueError, match="snapshot_rule"):
        build_event_design(events, START, END, snapshot_rule="noon")
    with pytest.raises(ValueError, match="no selected event"):
        build_event_design(events, date(2020, 10, 1), date(2020, 12, 1))
