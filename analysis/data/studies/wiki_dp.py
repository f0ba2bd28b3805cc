"""The ``wiki-dp`` study: Wikimedia's differentially-private pageviews per country (issue 18).

It reads the lock ``data/locks/wiki-dp.json`` (``EXODUS_LOCKS_DIR`` relocates it) and the cached,
verified rows (:mod:`analysis.data.sources.wikimedia_dp`), never the network, and builds the app x
country x day panel (:mod:`analysis.data.sources.dp_panel`: summed over editions, a country-day without a
row censored below 450).  The run is the per-event design of the chart studies
(:func:`analysis.models.events.estimates.fit_study`: one term per registry event, censored AR(1) fits,
random-effects pooling across countries, and the contrast of the US against the countries where
the privacy shock dominated, India, Brazil and Germany by default: ``contrast_treated`` and
``contrast_controls`` are parameters).  Its cross-country tables (contrast, pooling, attention
multiples, noise) are computed from the run plan's fit by :mod:`analysis.models.events.cross_country`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from analysis.config import EVENTS_FILE, locks_dir
from analysis.data.events import load_events
from analysis.data.sources import dp_panel
from analysis.data.studies.base import StudyData, events_source, rel_path, sha256
from analysis.errors import InputError

FIRST_EVENT = date(2021, 1, 4)  # X01, the WhatsApp notice: the first event of the January cluster
CONTROLS = ("in", "br", "de")  # where the privacy shock dominated (WhatsApp's largest markets)
NOTES = [
    "What this measures: attention - daily pageviews per country of each app's Wikipedia articles in all language "
    "editions (Wikimedia's differentially-private release, summed over the editions released that day) - not "
    "downloads or users.",
    "Censoring: a (country, project, page) row is released only when its noised count exceeds 450, so a "
    "country-day with no released row of an app is censored: every edition had at most 450 views. The fit reads "
    "it through the chart studies' censoring machinery as a pseudo-rank 450e8 / views above the depth 1e8 (rank > "
    "depth exactly when views < 450): effects are changes in log(pseudo-rank) = -change in log(views), so a "
    "multiple exp(-L) is the factor on daily pageviews. A day missing upstream is unknown, not censored.",
    "Editions: a sum over the editions released that day leaves out editions at or below 450 that day, so it can "
    "understate the country's views by up to 450 per edition not released (tables/dp_panel.csv lists the editions).",
    "Noise: every released count carries Laplace noise of scale 30 (epsilon = 1). It adds a standard deviation of "
    "about sqrt(2k) * 30 / V to log(views) at V views over k editions (tables/dp_noise.csv, simulated at the "
    "observed levels): 0.094 at 450 views, 0.004 at 10,000. It is independent across days, so the fits' residual "
    "variance and standard errors already include it.",
    "Timing: pageviews are UTC-day totals; the event terms use the registry's first affected noon-UTC snapshot, so "
    "an event late on a UTC day is dated to the next day (a day's views straddle it).",
]


def dp_lock() -> Path:
    """``data/locks/wiki-dp.json`` (``EXODUS_LOCKS_DIR`` relocates the directory)."""
    return locks_dir() / "wiki-dp.json"


def _not_fetched(lock: Path) -> InputError:
    from analysis.data.sources.wikimedia_dp import fetch_command

    cmd = fetch_command(["Signal", "Telegram", "WhatsApp", "Parler", "Gab", "MeWe", "Rumble", "Element", "Threema",
                         "Twitter"], date(2020, 12, 1), date(2021, 2, 28), Path(rel_path(lock)))
    return InputError(f"study 'wiki-dp' reads Wikimedia's differentially-private pageviews pinned by {rel_path(lock)}, "
                      f"which does not exist yet. With network access: {cmd}. No sample is shipped "
                      "(docs/data-sources-wiki-dp.md says why)")


def load_panel(lock_path: Path) -> tuple[object, pl.DataFrame]:
    """(lock, app x country x day panel) from the lock and the verified cache."""
    from analysis.data.sources.wikimedia_dp import load_locked_dp

    if not lock_path.exists():
        raise _not_fetched(lock_path)
    lock, rows = load_locked_dp(lock_path)
    return lock, dp_panel.country_panel(rows, lock)


def study_defaults() -> dict:
    """Parameters the data need: the lock's apps, the contrast's countries where present, the
    window from the lock (34 days before 4 Jan 2021 and 30 from it at most)."""
    lock_path = dp_lock()
    if not lock_path.exists():
        return {}
    lock, panel = load_panel(lock_path)
    have = set(panel["country"].unique().to_list())
    controls = [c for c in CONTROLS if c in have]
    countries = (["us"] if "us" in have else []) + controls or sorted(have)[:4]
    apps = sorted(lock.apps)
    pre, post = min(60, (FIRST_EVENT - lock.start).days), min(30, (lock.end - FIRST_EVENT).days + 1)
    if pre < 7 or post < 7:
        raise InputError(f"the lock {lock_path} covers {lock.start} .. {lock.end}: the study needs at least 7 days "
                         f"before and from {FIRST_EVENT} (e.g. --start 2020-12-01 --end 2021-02-28)")
    focus = "Signal" if "Signal" in apps else apps[0]
    return {"apps": apps, "countries": countries, "store": dp_panel.STORE, "chart": dp_panel.CHART,
            "comparison_cutoff": FIRST_EVENT.isoformat(), "pre_days": pre, "post_days": post, "censored": True,
            "errors": "ar1", "contrast_treated": "us", "contrast_controls": controls or ["in"],
            "placebo_apps": ["Twitter"] if "Twitter" in apps else apps[:1], "focus_app": focus,
            "focus_country": countries[0], "coverage_replicates": 200}


def load_dp_study(lock_path: Path) -> StudyData:
    """The ``wiki-dp`` study data (never the network)."""
    from analysis.data.sources.wikimedia_dp import LICENCE, NOISE, README_URL

    lock, panel = load_panel(lock_path)
    blob = lock_path.read_bytes()
    ok = sum(d.status == "ok" for d in lock.days)
    return StudyData(
        name="wiki-dp",
        title=(f"REAL DATA: Wikimedia differentially-private daily pageviews per country ({lock.start} .. {lock.end}, "
               f"{panel['country'].n_unique()} countries); outcome: attention, not downloads"),
        synthetic=False, panel=dp_panel.rank_panel(panel), events=load_events(EVENTS_FILE),
        chart_depth=dp_panel.DEPTH,
        inputs={lock_path.name: blob, "events_jan2021.csv": EVENTS_FILE.read_bytes()},
        sources=[{"name": "Wikimedia differentially-private pageviews, country x project x page (historical)",
                  "licence": LICENCE, "url": README_URL,
                  "detail": (f"{ok} of {len(lock.days)} day files pinned by SHA-256 in {rel_path(lock_path)}; rows of "
                             f"the QIDs {lock.apps}; Laplace noise scale {NOISE['scale']:g}, released above 450"),
                  "lock": rel_path(lock_path), "sha256": sha256(blob)},
                 events_source()],
        views=panel, notes=list(NOTES), outcome="dp-views")
