"""Strict reading of one Wikimedia per-article pageview body: a hostile or broken server is
refused with a clear :class:`~analysis.data.sources.remote.RemoteError`, never a traceback or a silent change.

The body (Wikimedia REST API, "Pageviews per article",
https://wikimedia.org/api/rest_v1/#/Pageviews%20data) is UTF-8 JSON
``{"items": [{"project", "article", "granularity": "daily", "timestamp": "YYYYMMDD00", "access",
"agent", "views"}, ...]}``.  :func:`parse_items` checks, for every item:

- the body is UTF-8 and complete JSON (the byte where decoding stops is named);
- ``project`` and ``article`` are the ones asked for (a payload naming another article, e.g.
  after an upstream redirect, is never pinned as the asked one), ``granularity`` is daily;
- ``timestamp`` is ``YYYYMMDD00`` inside the requested days, each day at most once (a repeated
  day would otherwise replace or double a count);
- ``views`` is a JSON integer (not a boolean, not a fraction: ``12.7`` is not truncated to
  ``12``) from 0 to :data:`MAX_DAILY_VIEWS`.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import polars as pl

from analysis.data.sources.remote import RemoteError

MAX_DAILY_VIEWS = 10**10  # far above any article's day (the English main page has ~10^7); fits Int64


def _decode(body: bytes, what: str) -> object:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RemoteError(f"{what} is not UTF-8 (byte {exc.start} of {len(body)} is {body[exc.start:exc.start + 1]!r}); "
                          "nothing was cached") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RemoteError(f"{what} is not complete JSON ({exc.msg} at character {exc.pos} of {len(text)}): "
                          "truncated? nothing was cached") from None


def _views(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RemoteError(f"{where}: views {value!r} is not a whole count ({type(value).__name__}); refused, "
                          "never truncated")
    if not 0 <= value <= MAX_DAILY_VIEWS:
        raise RemoteError(f"{where}: views {value} is outside 0..{MAX_DAILY_VIEWS:,} (a day's views of one article)")
    return value


def _day(value: object, where: str, start: date | None, end: date | None) -> date:
    ts = value if isinstance(value, str) else ""
    try:
        if len(ts) != 10 or not ts.endswith("00"):
            raise ValueError
        day = datetime.strptime(ts[:8], "%Y%m%d").date()
    except ValueError:
        raise RemoteError(f"{where}: timestamp {value!r} is not YYYYMMDD00") from None
    if (start and day < start) or (end and day > end):
        raise RemoteError(f"{where}: day {day} is outside the requested {start} .. {end}")
    return day


def parse_items(body: bytes, where: str, project: str, article: str, start: date | None = None,
                end: date | None = None) -> pl.DataFrame:
    """``date``, ``views`` of one body, every item checked (see the module docstring)."""
    what = f"{where}: the response for {project} {article!r}"
    payload = _decode(body, what)
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise RemoteError(f"{what} has no 'items' list")
    asked = article.replace(" ", "_")
    rows: dict[date, int] = {}
    for i, it in enumerate(items, start=1):
        at = f"{what}, item {i}"
        if not isinstance(it, dict) or "timestamp" not in it or "views" not in it:
            raise RemoteError(f"{at} lacks a valid timestamp or views")
        named = (it.get("project", project), str(it.get("article", asked)).replace(" ", "_"))
        if named != (project, asked):
            raise RemoteError(f"{at} is for {named[0]} {named[1]!r}, not the article asked for: another article's "
                              "numbers (a redirect upstream?) are never pinned as this one's")
        if it.get("granularity", "daily") != "daily":
            raise RemoteError(f"{at}: granularity {it.get('granularity')!r}, not daily")
        day = _day(it["timestamp"], at, start, end)
        if day in rows:
            raise RemoteError(f"{at}: day {day} appears twice in the body; which count is right cannot be told")
        rows[day] = _views(it["views"], at)
    return pl.DataFrame({"date": list(rows), "views": list(rows.values())},
                        schema={"date": pl.Date, "views": pl.Int64})
