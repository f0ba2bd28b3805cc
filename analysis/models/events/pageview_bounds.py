"""Bounds on the pageview scale from a top-100 chart: "at least k times its pre-period views".

A daily top-100 list of articles holds more than ranks.  On a day an article is listed its views
are known; on a day it is absent its views were at most that day's #100 views (the threshold;
:mod:`analysis.data.sources.top100`).  So the **highest daily views an article could have had in the
pre-period** is known exactly:

    M = max over pre-period days t of u_t,   u_t = views_t (listed) or threshold_t (absent).

Under one assumption, **A**: *without the events, the article's daily views in the window would
not have exceeded M*, every listed window day ``t`` gives a lower bound on the multiple of its
views over their no-event level, ``views_t / cf_t >= views_t / M`` (an absent window day gives
none: its views are only known to be positive).  This is a bound from the data and the list's
rule (partial identification of a censored outcome under a monotone bound on the counterfactual;
Manski 2003, *Partial Identification of Probability Distributions*, ch. 1-2; Manski & Pepper 2000,
Econometrica 68:997): there is no sampling distribution, so it is never called a confidence bound.
``M`` is itself the largest value the pre-period allows, so the bound is conservative (the
article's real pre-period views may have been far lower).

**Attribution.**  The bound on day ``t`` concerns the cumulative effect of *all events up to t*:
the first day an article is listed (its entry) bounds every event to then together, never the
event of that day alone (an entry bound is "by 8 Jan, all events to then").  A group of events
(:func:`analysis.data.events.event_groups`) gets a bound of its own only on the days on which
its events are the *only* ones that had happened; in the January 2021 cluster that holds for the
privacy shock on 4-5 Jan (the WhatsApp notice, before the Capitol attack) and for no other group.
Other group rows are ``not_identified`` with the reason, pointing to the all-events bound.

**No change not excluded.**  A multiple below 1 (WhatsApp's peak, 42,227 views, is below
December's highest #100 views, 48,663) cannot exclude "no change": the article's rank rose
because the day's threshold fell, not because the data show its views rose.

**Placebo year.**  The same bound on the same calendar weeks 52 weeks earlier (same weekdays, no
event): how the article moved where nothing happened (:mod:`analysis.models.checks.placebo_year`).

Event days are UTC days (``date_utc``): a daily pageview count covers the whole UTC day, so an
event can show on its own UTC day.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from analysis.data.events import GROUP_LABELS, GROUPS, event_groups
from analysis.models.checks.placebo_year import year_earlier_panel

ASSUMPTION = ("Bounds from the data, under one assumption: without the events, the article's daily views would "
              "not have exceeded the highest daily views it could have had in the pre-period (its listed views, "
              "or the day's #100 views on days it was not listed).")
ALL = "all_events"
COLUMNS = ("app_name", "country", "store", "group", "kind", "estimate", "ci_low", "ci_high", "multiple",
           "multiple_low", "multiple_high", "downloads_factor", "downloads_factor_low", "downloads_factor_high",
           "true_value", "sentence")
_FLOAT_NULLS = ("ci_low", "ci_high", "multiple", "multiple_high", "downloads_factor", "downloads_factor_low",
                "downloads_factor_high", "true_value")


def event_days(events: pl.DataFrame, first: date, last: date, overrides: dict[str, str] | None = None) -> pl.DataFrame:
    """Events whose UTC day falls in ``first .. last``: ``event_id``, ``group``, ``day``."""
    groups = event_groups(events, overrides)
    return (events.select("event_id", pl.col("date_utc").alias("day")).join(groups, on="event_id")
            .filter(pl.col("day").is_between(first, last)).select("event_id", "group", "day").sort("day", "event_id"))


def alone_spans(ev: pl.DataFrame, last: date) -> dict[str, tuple[date, date]]:
    """Per group: the days (first, last) on which its events are the only ones that had happened.

    The set of groups with an event to date only grows, so only the group of the earliest event
    can have such days: from its first day to the day before another group's first event.
    """
    if ev.height == 0:
        return {}
    first = ev.sort("day").row(0, named=True)
    other = ev.filter(pl.col("group") != first["group"])
    end = other["day"].min() - timedelta(days=1) if other.height else last
    return {first["group"]: (first["day"], end)} if end >= first["day"] else {}


def pre_ceiling(views: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """Per app: ``pre_max_views`` (M: the highest daily views possible in ``start .. end``), its
    date, whether it is listed views or a threshold, and the pre-period's day counts."""
    u = pl.coalesce("views", "threshold")
    return (views.filter(pl.col("date").is_between(start, end))
            .sort("date")
            .group_by("app_name", "country", "store", maintain_order=True)
            .agg(u.max().alias("pre_max_views"), pl.col("date").sort_by(u, descending=True).first().alias("pre_max_date"),
                 pl.col("views").sort_by(u, descending=True).first().is_not_null().alias("pre_max_listed"),
                 pl.len().alias("pre_days"), pl.col("views").is_not_null().sum().alias("pre_listed_days")))


def _events_to(ev: pl.DataFrame, dates: pl.DataFrame) -> pl.DataFrame:
    """For each ``date`` of ``dates``: the ids of the events on or before it (``events_to_then``)."""
    d = dates.select("date").unique()
    return (d.join(ev, how="cross").filter(pl.col("day") <= pl.col("date")).sort("day", "event_id")
            .group_by("date").agg(pl.col("event_id").str.join(", ").alias("events_to_then")))


def _peak(listed: pl.DataFrame, prefix: str) -> pl.DataFrame:
    """Per app: the listed day with the most views (earliest on a tie) and the listed-day counts."""
    return (listed.sort("date").group_by("app_name", maintain_order=True).agg(
        pl.col("date").sort_by("views", descending=True).first().alias(f"{prefix}date"),
        pl.col("views").max().alias(f"{prefix}views"),
        pl.col("date").min().alias("first_listed"), pl.col("date").max().alias("last_listed"),
        pl.len().alias("listed_days")))


def period_bounds(views: pl.DataFrame, events: pl.DataFrame, start: date, first: date, last: date,
                  overrides: dict[str, str] | None = None) -> pl.DataFrame:
    """One row per app and group (each of :data:`GROUPS`, and ``all_events``) of one period.

    Pre-period ``start .. first - 1``, window ``first .. last``.  ``multiple_low`` is the peak
    listed day's views over ``pre_max_views`` (null when the article is never listed on the days
    the row covers); ``entry_*`` is the first listed window day, bounding all events to then.
    """
    ev = event_days(events, first, last, overrides)
    ceiling = pre_ceiling(views, start, first - timedelta(days=1))
    listed = views.filter(pl.col("date").is_between(first, last), pl.col("views").is_not_null())
    spans = {ALL: (first, last), **alone_spans(ev, last)}
    parts = []
    for group in (*GROUPS, ALL):
        lo, hi = spans.get(group, (None, None))
        rows = ceiling.select("app_name", "country", "store").with_columns(
            pl.lit(group).alias("group"), pl.lit(lo, pl.Date).alias("span_start"), pl.lit(hi, pl.Date).alias("span_end"))
        if lo is not None:
            rows = rows.join(_peak(listed.filter(pl.col("date").is_between(lo, hi)), "bound_"), on="app_name", how="left")
        parts.append(rows)
    out = pl.concat(parts, how="diagonal_relaxed").join(ceiling, on=["app_name", "country", "store"], how="left")
    entry = (listed.sort("date").group_by("app_name").agg(pl.col("date").first().alias("entry_date"),
                                                           pl.col("views").first().alias("entry_views")))
    out = out.join(entry, on="app_name", how="left")
    for col in ("bound_date", "entry_date"):
        pref = col.removesuffix("date")
        out = out.join(_events_to(ev, out.select(pl.col(col).alias("date")).drop_nulls()).rename(
            {"date": col, "events_to_then": f"{pref}events"}), on=col, how="left")
    ratio = pl.col("bound_views") / pl.col("pre_max_views")
    return out.with_columns(
        ratio.alias("multiple_low"),
        (pl.col("entry_views") / pl.col("pre_max_views")).alias("entry_multiple_low"),
        (ratio > 1).alias("excludes_no_change"),
        pl.lit(", ".join(ev["event_id"].to_list())).alias("window_events"),
    ).sort("app_name", "group")


def _fmt_day(d: date | None) -> str:
    return f"{d.day} {d.strftime('%b')} {d.year}" if d is not None else ""


def _sentence(r: dict) -> str:
    """The row's plain statement (what the bound says, or why there is none)."""
    label = GROUP_LABELS.get(r["group"], r["group"])
    if r["span_start"] is None:
        see = f" (all events to {_fmt_day(r['all_bound_date'])}: see the all-events row)" if r["all_bound_date"] else ""
        return (f"{r['app_name']}, {label}: not identified alone: other groups' events had happened by its first "
                f"event, and the top 100 bounds only all events to a day together{see}.")
    if r["multiple_low"] is None:
        return (f"{r['app_name']}, {label}: not in the top 100 on any day from {_fmt_day(r['span_start'])} to "
                f"{_fmt_day(r['span_end'])}, so the data cannot exclude no change.")
    src = "listed views" if r["pre_max_listed"] else "the day's #100 views"
    text = (f"{r['app_name']}: at least \u00d7{r['multiple_low']:.2f} its highest possible pre-period daily views "
            f"({r['pre_max_views']:,}, {src} on {_fmt_day(r['pre_max_date'])}) on {_fmt_day(r['bound_date'])} "
            f"({r['bound_views']:,} views), all events to then ({r['bound_events']})")
    if r["multiple_low"] <= 1:
        text += "; below \u00d71, so the data cannot exclude no change"
    if r["group"] == ALL:
        text += (f". Entry: at least \u00d7{r['entry_multiple_low']:.2f} by {_fmt_day(r['entry_date'])}, "
                 f"all events to then")
    return text + "."


def _placebo_sentence(r: dict) -> str:
    if r["placebo_covered"] is False:
        return "no placebo year: the data do not cover the same weeks a year earlier"
    if r["placebo_multiple_low"] is None:
        text = "same weeks a year earlier (no event): not in the top 100 on those days, no jump seen"
    else:
        text = (f"same weeks a year earlier (no event): at least \u00d7{r['placebo_multiple_low']:.2f} its pre-period "
                f"ceiling on {_fmt_day(r['placebo_date'])}")
    if r.get("placebo_entrants") is not None and r["multiple_low"] is not None:
        text += (f"; then {r['placebo_entrants_at_least']} of the {r['placebo_entrants']} articles that entered the top "
                 f"100 from below reached at least \u00d7{r['multiple_low']:.2f} their pre-period ceiling")
    return text


def entrant_multiples(chart: pl.DataFrame, start: date, first: date, last: date, weeks: int = 52) -> pl.Series | None:
    """Peak multiples, over the same ceiling, of every article of the **whole chart** that is absent
    from the placebo year's pre-period and listed in its window: how often an article starting
    below the list jumps that far when none of the events happened.  ``chart`` has ``date``,
    ``app_id`` (the article), ``views`` and ``threshold``; None when the data lack those weeks."""
    moved = year_earlier_panel(chart.select("date", "app_id", "views", "threshold"), start, last, weeks)
    if moved["date"].n_unique() != (last - start).days + 1:
        return None
    pre = moved.filter(pl.col("date") < first)
    ceiling = pre["threshold"].max()  # an article absent on every pre-period day: at most the highest #100 views
    return (moved.filter(pl.col("date").is_between(first, last)).join(pre.select("app_id").unique(), on="app_id",
                                                                       how="anti")
            .group_by("app_id").agg((pl.col("views").max() / ceiling).alias("multiple"))["multiple"].sort())


def pageview_bounds(views: pl.DataFrame, events: pl.DataFrame, start: date, first: date, last: date,
                    overrides: dict[str, str] | None = None, weeks: int = 52,
                    chart: pl.DataFrame | None = None) -> pl.DataFrame:
    """The attribution-table rows (``kind`` bound or not_identified) of a top-100 views grid.

    ``views`` is :func:`analysis.data.sources.top100.views_grid` (one row per app and day, ``views``
    null when absent, ``threshold`` the day's #100 views).  The placebo columns repeat the
    all-events/group bound on the same weeks ``weeks`` earlier (``placebo_date`` is the real,
    unshifted day); ``placebo_covered`` is false when the data do not reach back that far.  With
    the whole ``chart`` (:func:`entrant_multiples`), ``placebo_entrants`` counts the articles that
    entered the list from below in the placebo weeks and ``placebo_entrants_at_least`` those of
    them that reached the row's ``multiple_low``.
    """
    main = period_bounds(views, events, start, first, last, overrides)
    shift = timedelta(weeks=weeks)
    moved = year_earlier_panel(views, start, last, weeks)
    covered = moved["date"].n_unique() == (last - start).days + 1
    if covered:
        plc = period_bounds(moved, events, start, first, last, overrides).select(
            "app_name", "group", pl.col("multiple_low").alias("placebo_multiple_low"),
            (pl.col("bound_date") - shift).alias("placebo_date"), pl.col("bound_views").alias("placebo_views"),
            pl.col("pre_max_views").alias("placebo_pre_max_views"))
        main = main.join(plc, on=["app_name", "group"], how="left")
    else:
        main = main.with_columns(pl.lit(None, pl.Float64).alias("placebo_multiple_low"),
                                 pl.lit(None, pl.Date).alias("placebo_date"), pl.lit(None, pl.Int64).alias("placebo_views"),
                                 pl.lit(None, pl.Int64).alias("placebo_pre_max_views"))
    ent = entrant_multiples(chart, start, first, last, weeks) if chart is not None and covered else None
    if ent is not None:
        at_least = ent.len() - np.searchsorted(ent.to_numpy(), main["multiple_low"].fill_null(np.inf).to_numpy())
        main = main.with_columns(pl.lit(ent.len(), pl.Int64).alias("placebo_entrants"),
                                 pl.when(pl.col("multiple_low").is_not_null()).then(pl.Series(at_least, dtype=pl.Int64))
                                 .alias("placebo_entrants_at_least"))
    else:
        main = main.with_columns(pl.lit(None, pl.Int64).alias("placebo_entrants"),
                                 pl.lit(None, pl.Int64).alias("placebo_entrants_at_least"))
    alld = main.filter(pl.col("group") == ALL).select("app_name", pl.col("bound_date").alias("all_bound_date"))
    main = main.join(alld, on="app_name", how="left").with_columns(pl.lit(covered).alias("placebo_covered"))
    text = pl.struct(pl.all()).map_elements(_sentence, return_dtype=pl.String)
    ptext = pl.struct(pl.all()).map_elements(_placebo_sentence, return_dtype=pl.String)
    main = main.with_columns(text.alias("sentence"), ptext.alias("placebo_sentence"))
    return main.with_columns(
        pl.when(pl.col("multiple_low").is_not_null()).then(pl.lit("bound")).otherwise(pl.lit("not_identified"))
        .alias("kind"),
        pl.col("multiple_low").log().alias("estimate"),
        pl.lit("lower").alias("side"),
        *[pl.lit(None, pl.Float64).alias(c) for c in _FLOAT_NULLS],
        pl.lit(ASSUMPTION).alias("assumption"),
    ).select(*COLUMNS, pl.exclude(*COLUMNS, "all_bound_date", "pre_listed_days")).sort("app_name", "group")


def bounds_for_run(data, params) -> pl.DataFrame:
    """:func:`pageview_bounds` of a run on a top-100 study (``data.views`` with a threshold):
    pre-period from the run's window start to the first event, window ``window_days`` from it."""
    from analysis.models.events.estimates import run_spec

    spec = run_spec(data, params)
    first = spec.start + timedelta(days=params.pre_days)
    views = data.views.filter(pl.col("app_name").is_in(list(params.apps)), pl.col("country").is_in(list(params.countries)))
    return pageview_bounds(views, data.events, spec.start, first, first + timedelta(days=params.window_days - 1),
                           chart=data.panel if "threshold" in data.panel.columns else None)


TOP100_STUDY = "wiki-top100"


def publish_pageview_bounds(out, data, params) -> pl.DataFrame | None:
    """Show and save :func:`bounds_for_run` as table ``pageview_bounds`` on the top-100 study
    (``wiki-top100``: a views grid with each day's #100 views as ``threshold``); None (nothing
    written) on any other study, including wiki-dp, whose fixed 450-view threshold is a release
    rule and is handled by its own censored model."""
    if data.name != TOP100_STUDY or data.views is None or "threshold" not in data.views.columns:
        return None
    bounds = bounds_for_run(data, params)
    out.table("pageview_bounds", bounds, "Bounds on the pageview scale from the top-100 list (bounds from the data, "
              "not confidence bounds): " + ASSUMPTION)
    return bounds
