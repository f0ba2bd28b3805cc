"""A seeded synthetic demo panel with known true effects.

**SYNTHETIC DEMO DATA.**  Nothing here is an observation.  The generator exists so that the
whole pipeline can run offline and so that tests and reports can judge the models against a
known truth.  It is *calibrated* to facts reported in the press (sources cited in
:mod:`analysis.data.demo.effects` and in the ``source_url`` column of the true effects), so that
the demo looks like the real problem: apps that start outside the chart (censored), hit #1
(floored), are removed from a store (structural missingness), and share common shocks.

The world (:mod:`analysis.data.demo.chart`): one full chart per store and country, 2,500
background apps plus the named apps, each with its own latent log-rank (AR(1) noise with
rho = 0.6, trend, day-of-week, Christmas season); an app's rank is its **position** among all
apps listed that day, so ranks are zero-sum (an app that climbs pushes the apps it passes
down).  The named apps add the November 2020 post-election surge of Parler, MeWe, Rumble and
Gab (pre-period) and one effect per registry event (``data/events/events_jan2021.csv``) placed
on the first affected snapshot that :mod:`analysis.data.timing` computes.  The panel has a row
for a named app on a day when its position is within the chart depth (200) and it is listed.

Calibration (US App Store, tested against ``../shared/data/reported_app_metrics``): Signal
about #750 on 4 Jan 2021 -> #1 from 10 Jan; Telegram #2-3 on 13 Jan; Parler #1 on 8-9 Jan then
removed (Google Play after 8 Jan, App Store after 9 Jan); MeWe #31 (8 Jan) -> #12 (9 Jan) ->
#5 (11 Jan).  Everything else is illustrative (``basis = "illustrative"``).

The truth (:mod:`analysis.data.demo.truth`): per event (level re-ranked against the world
without that event; slope/decay as latent parameters) and per window (re-ranked against the
world without any event): :func:`true_event_effects`, :func:`true_window_effects`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from analysis.data.apps import APPS
from analysis.data.demo import effects as de
from analysis.data.demo.chart import (
    N_BACKGROUND,
    RHO,
    SIGMA,
    World,
    ar1_filter,
    simulate_background,
)
from analysis.data.demo.effects import (  # noqa: F401  (re-exported)
    COUNTRIES,
    DEFAULT_EFFECTS,
    STORES,
    EventEffect,
    event_schedule,
)
from analysis.data.demo.truth import event_truth, long_frame, panel_truth, window_effects
from analysis.data.panel import SCHEMA, validate_panel

START = date(2020, 10, 1)
END = date(2021, 3, 31)
CHART = "top_free_overall"
CHART_DEPTH = 200
DEFAULT_SEED = 20210108
SYNTHETIC_LABEL = "SYNTHETIC DEMO DATA"
NAMED_APPS: tuple[str, ...] = tuple(de.BASE_RANK)

__all__ = ["APPS", "CHART", "CHART_DEPTH", "COUNTRIES", "N_BACKGROUND", "DEFAULT_EFFECTS", "DEFAULT_SEED", "END", "RHO",
           "SIGMA", "START", "STORES", "SYNTHETIC_LABEL", "DemoData", "EventEffect", "effects_frame",
           "event_schedule", "generate_demo", "true_event_effects", "true_window_effects"]


@dataclass(frozen=True)
class DemoData:
    """The synthetic panel and everything needed to judge a model against the truth."""

    panel: pl.DataFrame  # the rank panel (SCHEMA + chart_depth): named apps within the depth
    effects: pl.DataFrame  # latent effect parameters: one row per (app, country, store, event effect)
    series: pl.DataFrame  # per-series base rank, trend, noise parameters, removal date
    latent: pl.DataFrame  # per series and day: latent log-rank z and log position among all apps
    seed: int
    truth: pl.DataFrame = field(default_factory=pl.DataFrame)  # per series and day: re-ranked truth
    event_truth: pl.DataFrame = field(default_factory=pl.DataFrame)  # true_event_effects
    schedule: pl.DataFrame = field(default_factory=pl.DataFrame)  # event_id, term_id, date
    world: World | None = None


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _profiles(days: list[date]) -> tuple[np.ndarray, np.ndarray]:
    """(Christmas season profile, days since the November surge) per day."""
    p = np.array([(d - de.XMAS_PEAK).days for d in days], dtype=float)
    rise = np.clip((p + de.XMAS_RISE_DAYS) / de.XMAS_RISE_DAYS, 0.0, 1.0)
    xmas = np.where(p < 0, rise, 2.0 ** (-np.maximum(p, 0) / de.XMAS_HALF_LIFE))
    since_nov = np.array([(d - de.NOV_SURGE_START).days for d in days], dtype=float)
    return xmas, since_nov


def _series_frame(seed: int, charts: list[tuple[str, str]], removal_day: dict[tuple[str, str], date]) -> pl.DataFrame:
    rng = np.random.default_rng([seed, 1])
    trend = rng.normal(0.0, 0.1 / 30, size=(len(charts), len(NAMED_APPS)))  # about +-0.1 log-rank a month
    rows = [
        {"app_name": app, "country": country, "store": store, "app_id": APPS[app][0 if store == "ios" else 1],
         "base_rank": float(de.BASE_RANK[app][country] * (de.GOOGLE_PLAY_FACTOR.get(app, 1.0) if store == "google_play" else 1.0)),
         "trend_per_day": float(trend[c, a]), "rho": RHO, "sigma": SIGMA, "dow_amplitude": de.DOW_AMPLITUDE[app],
         "xmas_loading": de.XMAS_LOADING[app], "removed_after": removal_day.get((app, store))}
        for c, (store, country) in enumerate(charts) for a, app in enumerate(NAMED_APPS)
    ]
    return pl.DataFrame(rows, schema_overrides={"removed_after": pl.Date})


def _named_base(series: pl.DataFrame, seed: int, days: list[date], charts: list[tuple[str, str]]) -> np.ndarray:
    """(chart, day, app) latent log-rank of the named apps without any registry event."""
    c, a, n_t = len(charts), len(NAMED_APPS), len(days)
    t = np.arange(n_t, dtype=float)
    weekday = np.array([d.weekday() for d in days])
    xmas, since_nov = _profiles(days)
    shape = (c, a)
    col = {k: series[k].to_numpy().reshape(shape) for k in ("base_rank", "trend_per_day", "dow_amplitude", "xmas_loading")}
    nov = np.zeros((c, a, n_t))
    for ci, (_, country) in enumerate(charts):
        for ai, app in enumerate(NAMED_APPS):
            if app in de.NOV_SURGE:
                spike, lasting, h = de.NOV_SURGE[app]
                u = since_nov
                nov[ci, ai] = de.NOV_COUNTRY_SCALE[country] * np.where(u >= 0, spike * 2.0 ** (-np.maximum(u, 0) / h) + lasting, 0.0)
    noise = ar1_filter(np.random.default_rng([seed, 2]).normal(0.0, SIGMA, size=(c, a, n_t)), RHO)
    z = (np.log(col["base_rank"])[..., None] + col["trend_per_day"][..., None] * (t - t.mean())
         + col["dow_amplitude"][..., None] * de.DOW_PATTERN[weekday] + col["xmas_loading"][..., None] * xmas + nov + noise)
    return np.ascontiguousarray(z.transpose(0, 2, 1))


def _terms(effects: tuple[EventEffect, ...], schedule: pl.DataFrame, events: pl.DataFrame, days: list[date],
           charts: list[tuple[str, str]]) -> tuple[list[str], np.ndarray, np.ndarray, dict[tuple[str, str], date]]:
    """Latent effect and removal arrays per term (K, chart, day, app), and removal days."""
    term_of = dict(schedule.select("event_id", "term_id").iter_rows())
    date_of = dict(schedule.select("event_id", "date").iter_rows())
    missing = sorted({e.event_id for e in effects} - set(term_of))
    if missing:
        raise ValueError(f"demo effects name event(s) {missing} that are not in the events registry")
    terms = list(dict.fromkeys(schedule["term_id"]))
    eff = np.zeros((len(terms), len(charts), len(days), len(NAMED_APPS)))
    rem = np.zeros(eff.shape, dtype=bool)
    t = np.arange(len(days), dtype=float)
    for e in effects:
        u = t - (date_of[e.event_id] - days[0]).days
        g = np.ones_like(u) if e.half_life is None else 2.0 ** (-np.maximum(u, 0) / e.half_life)
        k, a = terms.index(term_of[e.event_id]), NAMED_APPS.index(e.app)
        for c, (store, country) in enumerate(charts):
            if store in e.stores:
                eff[k, c, :, a] += np.where(u >= 0, e.level_for(country) * g + e.slope * np.maximum(u, 0), 0.0)
    utc = dict(events.select("event_id", "date_utc").iter_rows())
    removal_day: dict[tuple[str, str], date] = {}
    for event_id, app, store in de.REMOVALS:
        if event_id not in term_of:
            continue
        last = utc[event_id]  # the noon-UTC snapshot of the removal day still lists the app
        removal_day[(app, store)] = last
        k, a = terms.index(term_of[event_id]), NAMED_APPS.index(app)
        off = np.array([d > last for d in days])
        for c, (s, _) in enumerate(charts):
            if s == store:
                rem[k, c, off, a] = True
    return terms, eff, rem, removal_day


def effects_frame(effects: tuple[EventEffect, ...], schedule: pl.DataFrame) -> pl.DataFrame:
    """The latent effect parameters, one row per (app, country, store, event effect) with a
    non-zero level or slope: event_id (term id), date (its first affected snapshot), level,
    slope, half_life, shape, label, basis, source_url."""
    term_of = dict(schedule.select("event_id", "term_id").iter_rows())
    date_of = dict(schedule.select("event_id", "date").iter_rows())
    rows = [
        {"app_name": e.app, "country": c, "store": s, "event_id": term_of[e.event_id], "date": date_of[e.event_id],
         "level": e.level_for(c), "slope": e.slope, "half_life": e.half_life, "shape": e.shape, "label": e.label,
         "basis": e.basis, "source_url": e.source_url}
        for e in effects for c in COUNTRIES for s in e.stores if e.level_for(c) != 0.0 or e.slope != 0.0
    ]
    return pl.DataFrame(rows, schema_overrides={"half_life": pl.Float64}).sort("app_name", "country", "store", "date")


def _load_events(events: pl.DataFrame | Path | None) -> pl.DataFrame:
    from analysis.data.events import load_events

    if isinstance(events, pl.DataFrame):
        return events
    return load_events() if events is None else load_events(events)


def generate_demo(
    seed: int = DEFAULT_SEED,
    effects: tuple[EventEffect, ...] = DEFAULT_EFFECTS,
    start: date = START,
    end: date = END,
    events: pl.DataFrame | Path | None = None,
) -> DemoData:
    """Generate the synthetic demo deterministically from ``seed`` (byte-identical panels for
    equal arguments).  ``events`` is the registry (default ``data/events/events_jan2021.csv``)
    that places each effect on its term's first affected snapshot."""
    ev = _load_events(events)
    schedule = event_schedule(ev)
    days = _days(start, end)
    charts = [(s, c) for s in STORES for c in COUNTRIES]
    terms, eff, rem, removal_day = _terms(effects, schedule, ev, days, charts)
    series = _series_frame(seed, charts, removal_day)
    weekday = np.array([d.weekday() for d in days])
    xmas, _ = _profiles(days)
    background = simulate_background(np.random.default_rng([seed, 3]), len(charts), weekday, xmas, de.DOW_PATTERN)
    world = World(days, charts, list(NAMED_APPS), background, _named_base(series, seed, days, charts), terms, eff, rem)
    truth = panel_truth(world)
    z_all, _ = world.latent()
    ids = series.select("app_name", "country", "store", "app_id")
    latent = (
        long_frame(world, latent_z=z_all).join(truth.select("app_name", "country", "store", "date", "rank"),
                                                on=["app_name", "country", "store", "date"])
        .join(ids, on=["app_name", "country", "store"])
        .select("app_name", "app_id", "country", "store", "date", "latent_z",
                pl.col("rank").log().alias("latent_log_rank"))
        .sort("app_name", "country", "store", "date")
    )
    panel = (
        truth.filter(pl.col("rank") <= CHART_DEPTH).join(ids, on=["app_name", "country", "store"])
        .with_columns(pl.lit(CHART).alias("chart"), pl.col("rank").cast(pl.Int64),
                      pl.lit(CHART_DEPTH, dtype=pl.Int64).alias("chart_depth"))
        .select(*SCHEMA, "chart_depth")
    )
    return DemoData(
        panel=validate_panel(panel, source=f"synthetic demo (seed {seed})"),
        effects=effects_frame(effects, schedule),
        series=series,
        latent=latent,
        seed=seed,
        truth=truth.sort("app_name", "country", "store", "date"),
        event_truth=event_truth(world, effects, schedule),
        schedule=schedule,
        world=world,
    )


def true_event_effects(effects: tuple[EventEffect, ...] = DEFAULT_EFFECTS, *, seed: int = DEFAULT_SEED,
                       demo: DemoData | None = None) -> pl.DataFrame:
    """The per-event truth for every simulated app x country x store and registry term (zero
    rows included): app_name, country, store, event_id (term id, e.g. ``"X04+X05"``), estimand
    (``level`` re-ranked on the term's first affected snapshot; ``slope`` per day and ``decay``
    half-life in days as latent parameters), true_value, date, latent_value, scale, rank_with,
    rank_without.  Pass ``demo`` to reuse a generated world (else it is generated from ``seed``)."""
    d = demo if demo is not None else generate_demo(seed=seed, effects=effects)
    return d.event_truth


def true_window_effects(panel_truth: pl.DataFrame | DemoData, window_start: date, window_end: date) -> pl.DataFrame:
    """Per series: the mean over [window_start, window_end] of the log-rank effect of ALL
    events (re-ranked against the world without any event; ``latent_value`` the mean latent
    shift), estimand ``"window_average"``.  ``panel_truth`` is :attr:`DemoData.truth` (or the
    demo itself)."""
    frame = panel_truth.truth if isinstance(panel_truth, DemoData) else panel_truth
    return window_effects(frame, window_start, window_end)
