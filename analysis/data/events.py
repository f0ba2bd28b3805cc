"""The curated event table (``data/events/events_jan2021.csv``): loading and validation.

Dates are UTC days (``date_utc``, optionally ``date_end_utc`` for an event spread over days);
``local_date`` and ``local_tz`` keep the date where it happened, because a US-evening event
falls on the next UTC day and so after a noon-UTC chart snapshot of its local day.  An optional
``local_time`` column (``HH:MM`` on the local clock) pins the instant where it is known; see
:mod:`analysis.data.timing` for the first daily snapshot an event can affect.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from analysis.config import EVENTS_FILE
from analysis.data.csvcheck import read_table, row_checker
from analysis.errors import DataError

KINDS = ("deplatforming", "confound", "platform_action", "other")
STORES = ("ios", "google_play")
COLUMNS = (
    "event_id", "date_utc", "date_end_utc", "local_date", "local_tz", "event", "kind",
    "platform", "store", "source_url", "note",
)
OPTIONAL_COLUMNS = ("local_time",)


def load_events(path: str | Path = EVENTS_FILE) -> pl.DataFrame:
    """Read and validate the curated events table; every problem names file, column and row."""
    df, src = read_table(path, COLUMNS, "events", optional=OPTIONAL_COLUMNS)
    fail = row_checker(lambda: df, src)  # late binding: df is replaced as columns are parsed

    for col in ("event_id", "date_utc", "local_date", "local_tz", "event", "kind", "source_url"):
        fail(col, pl.col(col).is_null() | (pl.col(col).str.strip_chars() == ""), "required value is empty")
    fail("event_id", pl.col("event_id").is_duplicated(), "duplicate event_id")
    for col in ("date_utc", "date_end_utc", "local_date"):
        parsed = pl.col(col).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        fail(col, pl.col(col).is_not_null() & parsed.is_null(), "unparseable date (expected YYYY-MM-DD)")
        df = df.with_columns(parsed.alias(col))
    fail("date_end_utc", pl.col("date_end_utc") < pl.col("date_utc"), "date_end_utc is before date_utc")
    fail(
        "local_date",
        (pl.col("local_date") - pl.col("date_utc")).dt.total_days().abs() > 1,
        "local_date is more than one day from date_utc",
    )
    if "local_time" in df.columns:
        fail("local_time", pl.col("local_time").is_not_null()
             & pl.col("local_time").str.strptime(pl.Time, "%H:%M", strict=False).is_null(),
             "local_time is not HH:MM (24-hour local clock)")
    fail("kind", ~pl.col("kind").is_in(KINDS), f"unknown kind; expected one of {KINDS}")
    fail("store", pl.col("store").is_not_null() & ~pl.col("store").is_in(STORES), f"unknown store; expected one of {STORES}")
    fail("source_url", ~pl.col("source_url").str.contains(r"^https?://[^\s/]+\.[^\s]+$"), "source_url is not an http(s) URL")
    for row, tz in df.select("_row", "local_tz").iter_rows():
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise DataError("unknown IANA time zone", file=src, column="local_tz", row=int(row), value=tz) from None
    return df.drop("_row").sort("date_utc", "event_id")


def events_near(events: pl.DataFrame, when: date, days: int) -> pl.DataFrame:
    """Events whose UTC span comes within ``days`` of ``when``: potential confounders."""
    lo, hi = when - timedelta(days=days), when + timedelta(days=days)
    end = pl.coalesce("date_end_utc", "date_utc")
    return events.filter((pl.col("date_utc") <= hi) & (end >= lo)).with_columns(
        (pl.col("date_utc") - pl.lit(when)).dt.total_days().alias("days_from_intervention")
    )


def removals(events: pl.DataFrame) -> pl.DataFrame:
    """Store removals (``platform_action`` with a store): app name, store, removal date."""
    return events.filter(pl.col("kind") == "platform_action", pl.col("store").is_not_null()).select(
        pl.col("platform").alias("app_name"), "store", pl.col("date_utc").alias("removed_on")
    )


# The attribution groups: which registry kinds make up each group of event terms.  The question
# asks for the deplatformings' contribution *net of* the privacy shock, so the WhatsApp notice,
# Musk's tweet and the WhatsApp delay (kind ``confound``) form their own group.
GROUPS: dict[str, tuple[str, ...]] = {
    "deplatforming": ("deplatforming", "platform_action"),
    "privacy_shock": ("confound",),
    "other": ("other",),
}
GROUP_LABELS: dict[str, str] = {"deplatforming": "deplatforming", "privacy_shock": "privacy shock",
                                "other": "other", "all_events": "all events"}


def event_groups(events: pl.DataFrame, overrides: dict[str, str] | None = None) -> pl.DataFrame:
    """Each event's attribution group (``event_id``, ``kind``, ``group``).

    The default follows the registry's ``kind`` (:data:`GROUPS`); ``overrides`` maps an event id
    to a group name (one of :data:`GROUPS`), so a student can move, say, Musk's tweet (X03) into
    ``other``.  An override naming an unknown event or group is a :class:`DataError`, never
    ignored.
    """
    overrides = dict(overrides or {})
    kind_to_group = {k: g for g, kinds in GROUPS.items() for k in kinds}
    known = set(events["event_id"].to_list())
    for eid, group in overrides.items():
        if eid not in known:
            raise DataError(f"groups: unknown event id {eid!r}; known: {', '.join(sorted(known))}",
                            column="groups", value=eid)
        if group not in GROUPS:
            raise DataError(f"groups: unknown group {group!r} for {eid}; expected one of {tuple(GROUPS)}",
                            column="groups", value=group)
    return events.select(
        "event_id", "kind",
        pl.col("event_id").replace_strict(overrides, default=pl.col("kind").replace_strict(kind_to_group),
                                          return_dtype=pl.String).alias("group"),
    )
