"""The Wikipedia studies: ``wiki-top100`` (shipped, offline) and ``wiki-views`` (lock-pinned API data).

Both measure **attention** (pageviews of an app's Wikipedia article), not downloads or users.
Each study fixes the parameters its data need (:func:`study_defaults`: store ``wikipedia``, the
language edition as country, the mapped apps, a window inside the data); ``-p`` still overrides.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from analysis.config import EVENTS_FILE, ROOT, locks_dir
from analysis.data.events import load_events
from analysis.data.sources import top100 as wp
from analysis.data.studies.base import StudyData, events_source, rel_path, sha256
from analysis.errors import InputError

MEASURES = [
    "What this measures: attention - daily pageviews of each app's Wikipedia article (all access methods, "
    "UTC days) - not downloads, installs, sign-ups or active users. Reading about an app is not using it.",
    "What it cannot say: how many people switched apps; anything about countries (a language edition is not a "
    "country: English Wikipedia readers are worldwide); why people looked (news coverage of a ban draws readers "
    "who never install the app). Pageviews include some automated traffic the 'user' agent filter misses.",
    "Sign convention: on the rank scale (log rank) negative = more attention (climbed the chart); on the views "
    "scale (log views) positive = more attention.",
]
TOP100_NOTES = [
    *MEASURES,
    "Censoring: an article absent from the top 100 on a day had fewer views than that day's #100 (day-specific "
    "threshold, 29,380 .. 72,897 views); its rank is > 100. The study runs the same per-event design as the app "
    "charts (analysis.models.events.estimates.fit_study) on the whole chart (depth 100, rank censored above it). Where the "
    "pre-period is entirely below the chart (Signal, Telegram, WhatsApp, Gab, Twitter, and Parler from "
    "2020-12-01) no ITS is estimable: the answer is then a bound, or 'not identified' with the reason.",
    wp.PARLER_NOTE,
    "Pageview-scale bounds (table pageview_bounds, analysis.models.events.pageview_bounds): the list also bounds each "
    "article's views - known where listed, at most the day's #100 views where not - so a listed window day gives "
    "'at least k times the highest daily views possible in the pre-period', for all events to that day together. "
    "They are bounds from the data under one stated assumption, not confidence bounds.",
    "Placebo year: the same weeks one year earlier (2019-12-01 .. 2020-02-29 are shipped; 52 weeks earlier, "
    "same weekdays) are fitted with the same design in the robustness section (table placebo_year).",
]

TOP100_DEFAULTS: dict = {
    "comparison_cutoff": "2021-01-08",  # first full UTC day after the Musk tweet (00:56 UTC 8 Jan)
    "pre_days": 34,  # from 2020-12-01 (first event X01: 2021-01-04); the year-earlier window 2019-12-03 .. is shipped
    "post_days": 30,
    "apps": list(wp.ARTICLES.values()),
    "countries": [wp.COUNTRY],
    "store": wp.STORE,
    "chart": wp.CHART,
    "censored": True,
    "errors": "ar1",  # AR(1) errors (censored pairwise likelihood): HAC under-covers at these series lengths
    "placebo_apps": ["Twitter"],
    "focus_app": "Parler",
    "focus_country": wp.COUNTRY,
    "coverage_replicates": 200,
}


def views_lock() -> Path:
    """``data/locks/wiki-views.json`` (``EXODUS_LOCKS_DIR`` relocates the directory)."""
    return locks_dir() / "wiki-views.json"


def study_defaults(study: str) -> dict:
    """Parameter values the study's data need (applied before ``-p`` overrides)."""
    if study == "wiki-top100":
        return dict(TOP100_DEFAULTS)
    if study == "wiki-views":
        from analysis.data.sources import pageviews as wikimedia

        lock = views_lock()
        if not lock.exists():
            return {}
        panel = wikimedia.load_locked_views(lock)
        return wikimedia.views_defaults(panel)
    if study == "wiki-dp":
        from analysis.data.studies import wiki_dp as wiki_dp_study

        return wiki_dp_study.study_defaults()
    return {}


def load(study: str) -> StudyData:
    if study == "wiki-top100":
        return load_top100_study()
    if study == "wiki-views":
        return load_views_study(views_lock())
    if study == "wiki-dp":
        from analysis.data.studies import wiki_dp as wiki_dp_study

        return wiki_dp_study.load_dp_study(wiki_dp_study.dp_lock())
    raise InputError(f"unknown Wikipedia study {study!r}; available: wiki-top100, wiki-views, wiki-dp")


def load_top100_study() -> StudyData:
    """The shipped English Wikipedia top-100 study (real, CC0, offline)."""
    t = wp.load_top100()
    rel = str(wp.DIR.relative_to(ROOT))
    return StudyData(
        name="wiki-top100",
        title="REAL DATA: English Wikipedia daily top-100 articles, 2020-11-15 .. 2021-03-15 and the same weeks "
              "a year earlier (CC0). Outcome: chart rank of each app's article (attention, not downloads)",
        synthetic=False,
        panel=wp.chart_panel(t.chart, wp.read_threshold(t.files[wp.THRESHOLD_FILE])),
        events=load_events(EVENTS_FILE),
        chart_depth=wp.DEPTH,
        inputs={**t.files, "events_jan2021.csv": EVENTS_FILE.read_bytes()},
        sources=[
            {"name": "English Wikipedia daily top-100 articles (Wikimedia REST API, via vtasca/wikipedia-pageviews)",
             "licence": wp.LICENCE, "url": wp.SOURCE_URL,
             "detail": (f"shipped in {rel} ({', '.join(t.files)}; SHA-256 verified against {rel}/SHA256SUMS); "
                        f"{len(wp.ARTICLES)} articles mapped to apps: "
                        + ", ".join(f"{a} -> {n}" for a, n in wp.ARTICLES.items())),
             "sha256": sha256(b"".join(t.files[f] for f in sorted(t.files)))},
            events_source(),
        ],
        views=t.views,
        notes=list(TOP100_NOTES),
        outcome="attention",
    )


def write_views_table(views: pl.DataFrame, path: Path) -> None:
    """Write :func:`views_table` as CSV (the report's ``tables/study_views.csv``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    views_table(views).write_csv(path, date_format="%Y-%m-%d")


def views_table(views: pl.DataFrame) -> pl.DataFrame:
    """The pageview outcome as shown in the report: one row per app, edition and day."""
    cols = [c for c in ("date", "app_name", "country", "article", "rank", "views", "censored", "threshold")
            if c in views.columns]
    return views.select(cols).sort("app_name", "country", "date")


VIEWS_NOTES = [
    *MEASURES,
    "Outcome of this study: daily pageviews (agent 'user', all access methods) of each app's article per "
    "language edition, uncensored. The outcome is log(daily pageviews): every effect in the answer is a change "
    "in log views, positive = more attention, multiples exp(effect) (the notebooks' 'rank' column holds the "
    "views, so their single-cutoff tables printed for rank read the same way: positive = more views). Days the "
    "API omits had 0 views and are left out of log-scale fits.",
    "A language edition stands in for a country only loosely (de ~ Germany/Austria/Switzerland, pt ~ Brazil and "
    "Portugal, es ~ Spain and Latin America, en worldwide).",
]


def load_views_study(lock: Path) -> StudyData:
    """The ``wiki-views`` study from its lock and the cached, verified bodies (never the network)."""
    from analysis.data.sources import pageviews as wikimedia
    if not lock.exists():
        raise InputError(
            f"study 'wiki-views' reads Wikimedia pageviews pinned by {rel_path(lock)}, which does not exist yet. With "
            "network access: exodus data fetch --source wikipedia --projects en.wikipedia,de.wikipedia --articles "
            "\"Signal,WhatsApp,Twitter,en:Telegram_(software),en:Parler,en:Gab_(social_network)\" --start 2020-11-01 "
            f"--end 2021-02-28 --lock {rel_path(lock)}. The shipped real study runs offline: exodus run --study wiki-top100")
    views = wikimedia.load_locked_views(lock)
    depth = int(views["views"].max()) + 1  # no chart: nothing is below it (pageviews are uncensored)
    panel = (views.filter(pl.col("views") > 0)
             .select("date", "store", "country", pl.lit("pageviews").alias("chart"), pl.col("article").alias("app_id"),
                     "app_name", pl.col("views").alias("rank"), pl.lit(depth, pl.Int64).alias("chart_depth"), "views"))
    blob = lock.read_bytes()
    return StudyData(
        name="wiki-views",
        title=f"REAL DATA: Wikimedia daily pageviews per article ({', '.join(sorted(views['country'].unique()))} "
              f"editions, {views['date'].min()} .. {views['date'].max()}); outcome: views, higher = more attention",
        synthetic=False,
        panel=panel,
        events=load_events(EVENTS_FILE),
        chart_depth=depth,
        inputs={lock.name: blob, "events_jan2021.csv": EVENTS_FILE.read_bytes()},
        sources=[{"name": "Wikimedia REST API, per-article daily pageviews", "licence": "CC0 1.0 (Wikimedia pageview data)",
                  "url": "https://wikimedia.org/api/rest_v1/metrics/pageviews/per-article/",
                  "detail": f"{views.select('country', 'article').n_unique()} article bodies pinned by SHA-256 in {rel_path(lock)}",
                  "lock": rel_path(lock), "sha256": sha256(blob)},
                 events_source()],
        views=views,
        notes=list(VIEWS_NOTES),
        outcome="views",
    )
