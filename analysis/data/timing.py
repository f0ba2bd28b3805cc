"""When an event can first show in a daily chart series: time zones made explicit.

Chart days are UTC days, each represented by a snapshot at a fixed UTC hour (``nearest:H``).
Events are dated where they happened (``local_date``, ``local_tz`` in the events table).  A US
evening event (Trump's Twitter ban, Friday 8 Jan 2021, 6:21 pm ET = 23:21 UTC) comes *after* the
noon-UTC snapshot of its local day, so the first daily value it can affect is the next UTC
day's.  Without a clock time only a range is known: the local day spans two UTC days, so the
first *possibly* affected snapshot and the first *certainly* affected one can differ; the
functions here return both and flag the ambiguity instead of picking one silently.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl


def first_snapshot_after(t: datetime, snapshot_hour: int) -> date:
    """UTC date of the first daily snapshot (taken at ``snapshot_hour``:00 UTC) strictly after
    the instant ``t`` (an aware datetime)."""
    t = t.astimezone(UTC)
    same_day = datetime.combine(t.date(), time(snapshot_hour), UTC)
    return t.date() if t < same_day else t.date() + timedelta(days=1)


def local_day_span(local_date: date, tz: str) -> tuple[datetime, datetime]:
    """The local calendar day as a UTC interval [start, end)."""
    z = ZoneInfo(tz)
    start = datetime.combine(local_date, time(0), z)
    end = datetime.combine(local_date + timedelta(days=1), time(0), z)
    return start.astimezone(UTC), end.astimezone(UTC)


def first_affected_date(
    local_date: date, tz: str, snapshot_hour: int = 12, local_time: time | None = None
) -> tuple[date, date]:
    """(first possibly, first certainly) affected snapshot date of an event.

    With ``local_time`` the two are equal.  Without it the event could be at any moment of its
    local day: the earliest possible is the first snapshot after the local day starts, the
    certain one the first snapshot after it ends.
    """
    if local_time is not None:
        t = datetime.combine(local_date, local_time, ZoneInfo(tz))
        d = first_snapshot_after(t, snapshot_hour)
        return d, d
    start, end = local_day_span(local_date, tz)
    # an event at the very end of the day is still before ``end``
    return first_snapshot_after(start, snapshot_hour), first_snapshot_after(end - timedelta(microseconds=1), snapshot_hour)


def _first_after(t: pl.Expr, snapshot_hour: int) -> pl.Expr:
    """Vectorised :func:`first_snapshot_after` on a UTC datetime expression."""
    d = t.dt.date()
    at = d.cast(pl.Datetime("us", "UTC")) + pl.duration(hours=snapshot_hour)
    return pl.when(t < at).then(d).otherwise(d + pl.duration(days=1)).cast(pl.Date)


def affected_snapshot_dates(events: pl.DataFrame, snapshot_hour: int = 12) -> pl.DataFrame:
    """Add ``first_possible_snapshot``, ``first_certain_snapshot`` and ``ambiguous_day`` to
    the events table.

    The event's instant is bounded by its local day (``local_date`` in ``local_tz``), narrowed
    to its UTC day ``date_utc`` when that column is present, and pinned exactly by an optional
    ``local_time`` column (``HH:MM``, local clock).  ``ambiguous_day`` is true when the data
    cannot tell which daily value is the first after the event: an effect estimated at either
    date should be read with that in mind.
    """
    has_time = "local_time" in events.columns
    parts = []
    for tz in events["local_tz"].unique(maintain_order=True).to_list():  # a few zones, not rows
        def local(days: int, clock: pl.Expr | None = None, tz: str = tz) -> pl.Expr:
            t = (pl.col("local_date") + pl.duration(days=days)).cast(pl.Datetime("us"))
            if clock is not None:
                t = t + clock
            return t.dt.replace_time_zone(tz, ambiguous="earliest").dt.convert_time_zone("UTC")

        lo, hi = local(0), local(1) - pl.duration(microseconds=1)
        if "date_utc" in events.columns:
            day = pl.col("date_utc").cast(pl.Datetime("us", "UTC"))
            lo = pl.max_horizontal(lo, day)
            hi = pl.min_horizontal(hi, day + pl.duration(days=1) - pl.duration(microseconds=1))
        if has_time:
            hm = pl.col("local_time").str.strptime(pl.Time, "%H:%M", strict=False)
            clock = pl.duration(hours=hm.dt.hour(), minutes=hm.dt.minute())
            exact = local(0, clock)
            lo = pl.when(hm.is_not_null()).then(exact).otherwise(lo)
            hi = pl.when(hm.is_not_null()).then(exact).otherwise(hi)
        parts.append(events.with_row_index("_i").filter(pl.col("local_tz") == tz).with_columns(
            _first_after(lo, snapshot_hour).alias("first_possible_snapshot"),
            _first_after(hi, snapshot_hour).alias("first_certain_snapshot"),
        ))
    if not parts:
        return events.with_columns(pl.lit(None, dtype=pl.Date).alias("first_possible_snapshot"),
                                   pl.lit(None, dtype=pl.Date).alias("first_certain_snapshot"),
                                   pl.lit(None, dtype=pl.Boolean).alias("ambiguous_day"))
    return (
        pl.concat(parts).sort("_i").drop("_i")
        .with_columns((pl.col("first_possible_snapshot") != pl.col("first_certain_snapshot")).alias("ambiguous_day"))
    )
