"""Command-line edits of the event registry: shift an event, add one (drop one: ``exclude_events``).

The answer's per-event design reads its events from the registry (``data/events/``).  A student
who wants to see how the answer depends on the registry's dating does not have to copy and edit
the CSV (``events_file`` still works for wholesale changes); two run parameters edit it:

- ``event_shift=X04:+1`` moves event X04 one day later (``-1`` earlier): its ``date_utc``,
  ``date_end_utc`` and ``local_date`` move together, its clock time (``local_time``) is kept, so
  its first affected snapshot moves by exactly that many days;
- ``add_event=Y01:2021-01-14:deplatforming`` adds an event on that UTC day (optionally
  ``Y01:2021-01-14T18:30:deplatforming:Parler`` with a UTC clock time and the app concerned).
  Without a time the event could have happened at any moment of its UTC day, so its first
  possibly affected snapshot is that day's (:mod:`analysis.data.timing`).

Leaving an event out is ``exclude_events=X09`` (the design drops it and reports why).

The edits apply to the *analysis's* registry only: the synthetic demo's world (and so its known
truth) is generated from the curated registry, so an analysis that mis-dates an event is scored
against what really happened.  Every edit is checked: an unknown event id, a malformed item, an
added id that already exists or a kind outside the registry's kinds is a
:class:`~analysis.errors.ParameterError` naming the parameter and the item, never ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from analysis.data.events import KINDS
from analysis.errors import ParameterError

_SHIFT = re.compile(r"^(?P<id>[A-Za-z0-9_+-]+?):(?P<days>[+-]?\d+)$")
_ADD = re.compile(r"^(?P<id>[A-Za-z0-9_-]+):(?P<date>\d{4}-\d{2}-\d{2})(?:T(?P<time>\d{2}:\d{2}))?"
                  r":(?P<kind>[a-z_]+)(?::(?P<platform>.+))?$")
ADDED_NOTE = "added with -p add_event (no source: the analyst's assumption)"


@dataclass(frozen=True)
class AddedEvent:
    """One ``add_event`` item, parsed."""

    event_id: str
    day: date
    time: str | None  # "HH:MM" UTC, or None (any time of the UTC day)
    kind: str
    platform: str | None


def parse_shifts(items: Sequence[str]) -> dict[str, int]:
    """``["X04:+1", "X09:-2"]`` -> ``{"X04": 1, "X09": -2}``; ParameterError names a bad item."""
    out: dict[str, int] = {}
    for item in items:
        m = _SHIFT.match(item.strip())
        if not m:
            raise ParameterError(f"event_shift: {item!r} is not EVENT_ID:DAYS (e.g. X04:+1 or X04:-2)")
        if m["id"] in out:
            raise ParameterError(f"event_shift: event {m['id']} is shifted twice ({item!r})")
        out[m["id"]] = int(m["days"])
    return out


def parse_added(items: Sequence[str]) -> list[AddedEvent]:
    """``["Y01:2021-01-14:deplatforming", "Y02:2021-01-14T18:30:other:Parler"]`` -> events."""
    out = []
    for item in items:
        m = _ADD.match(item.strip())
        if not m:
            raise ParameterError(f"add_event: {item!r} is not EVENT_ID:YYYY-MM-DD[THH:MM]:KIND[:APP] "
                                 "(e.g. Y01:2021-01-14:deplatforming)")
        if m["kind"] not in KINDS:
            raise ParameterError(f"add_event: kind {m['kind']!r} of {item!r} is not one of {', '.join(KINDS)}")
        try:
            day = date.fromisoformat(m["date"])
            if m["time"]:
                hh, mm = (int(x) for x in m["time"].split(":"))
                if not (0 <= hh < 24 and 0 <= mm < 60):
                    raise ValueError(m["time"])
        except ValueError:
            raise ParameterError(f"add_event: {item!r} has an invalid date or time") from None
        out.append(AddedEvent(m["id"], day, m["time"], m["kind"], m["platform"]))
    return out


def check_overrides(shifts: Sequence[str], added: Sequence[str]) -> None:
    """Validate the syntax of both parameters (what needs no data)."""
    parse_shifts(shifts)
    ids = [a.event_id for a in parse_added(added)]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ParameterError(f"add_event: event id(s) {', '.join(dup)} added more than once")


def apply_overrides(events: pl.DataFrame, shifts: Sequence[str] = (), added: Sequence[str] = ()) -> pl.DataFrame:
    """The registry ``events`` (as :func:`analysis.data.events.load_events` returns it) with the
    ``event_shift`` and ``add_event`` edits applied, sorted as the loader sorts.

    Raises :class:`ParameterError` for a shift of an unknown event or an added id already in
    the registry.
    """
    check_overrides(shifts, added)
    by_id = parse_shifts(shifts)
    known = set(events["event_id"].to_list())
    unknown = sorted(set(by_id) - known)
    if unknown:
        raise ParameterError(f"event_shift: unknown event id(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if by_id:
        days = pl.col("event_id").replace_strict(by_id, default=0, return_dtype=pl.Int64)
        events = events.with_columns(
            (pl.col(c) + pl.duration(days=days)).cast(pl.Date).alias(c)
            for c in ("date_utc", "date_end_utc", "local_date"))
    new = parse_added(added)
    clash = sorted({a.event_id for a in new} & known)
    if clash:
        raise ParameterError(f"add_event: event id(s) {', '.join(clash)} already in the registry; "
                             "use event_shift to move a registry event")
    if new:
        rows = pl.DataFrame({
            "event_id": [a.event_id for a in new], "date_utc": [a.day for a in new],
            "date_end_utc": [None] * len(new), "local_date": [a.day for a in new],
            "local_tz": ["UTC"] * len(new), "local_time": [a.time for a in new],
            "event": [f"{a.event_id} (added event)" for a in new], "kind": [a.kind for a in new],
            "platform": [a.platform for a in new], "store": [None] * len(new),
            "source_url": [None] * len(new), "note": [ADDED_NOTE] * len(new),
        }, schema_overrides={"date_end_utc": pl.Date, "store": pl.String, "source_url": pl.String,
                             "local_time": pl.String, "platform": pl.String})
        if "local_time" not in events.columns:
            rows = rows.drop("local_time")
        events = pl.concat([events, rows.select(events.columns).cast(events.schema)], how="vertical")
    return events.sort("date_utc", "event_id")

