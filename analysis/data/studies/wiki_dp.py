"""The ``wiki-dp`` study: Wikimedia's differentially-private pageviews per country (issue 18).

It reads the lock ``data/locks/wiki-dp.json`` (``EXODUS_LOCKS_DIR`` relocates it) and the cached,
verified rows (:mod:`analysis.data.sources.wikimedia_dp`), never the network, and builds the app x
country x day panel (:mod:`analysis.data.sources.dp_panel`: summed over editions, a country-day without a
row censored below 450).  The run is the per-event design of the chart studies
(:func:`analysis.models.events.estimates.fit_study`: one term per registry event, censored AR(1) fits,
random-effects pooling across countries, and the contrast of the US against the countries where
the privacy shock dominated, India, Brazil and Germany by default: ``contrast_treated`` and
``contrast_controls`` are parameters).  On top of the shared fit the study writes
(:func:`write_tables`):

- ``tables/attribution.csv``: the event terms summed by attribution group
  (:func:`analysis.data.events.event_groups`) per app and country, for the contrast, and pooled
  across countries, with the attention multiple ``exp(-L)`` (the factor on daily pageviews);
- ``tables/deplatforming_answer.csv``: for Signal and Telegram, what the deplatformings added in
  the US beyond the common privacy shock (the contrast's deplatforming group), as a multiple;
- ``tables/headline_multiples.csv``: the window-average effects as attention multiples;
- ``tables/dp_panel.csv`` (the panel with its editions) and ``tables/dp_noise.csv`` (what the
  Laplace noise adds at the observed levels, :func:`analysis.data.sources.dp_panel.noise_effect`).
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import polars as pl

from analysis.config import EVENTS_FILE, locks_dir
from analysis.data.events import event_groups, load_events
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
            "intervention_date": FIRST_EVENT.isoformat(), "pre_days": pre, "post_days": post, "censored": True,
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
        views=panel, notes=list(NOTES), outcome="dp-views", report_tables=write_tables)


def _sum_terms(g: pl.DataFrame) -> dict:
    est = float(g["estimate"].sum())
    se = math.sqrt(float((g["se"] ** 2).sum()))
    return {"estimate": est, "se": se, "n_terms": g.height, "terms": "+".join(g["event_id"].to_list())}


def attribution(effects: pl.DataFrame, events: pl.DataFrame, level: str, alpha: float = 0.05,
                groups: dict[str, str] | None = None) -> pl.DataFrame:
    """The ``level``-estimand event terms summed by attribution group, per app, country and store.

    A merged term (``"X04+X05"``) counts in a group when all its events are in it, else in
    ``mixed``.  The sum's standard error adds the terms' variances (their covariances are not in
    the Effects frame: stated as ``se_note``).  ``attention_multiple = exp(-estimate)``: the factor
    on daily pageviews (the pseudo-rank scale of :mod:`analysis.data.sources.dp_panel`).
    """
    from scipy.stats import norm

    g = dict(event_groups(events, groups).select("event_id", "group").iter_rows())
    est = effects.filter(pl.col("kind") == "estimate", pl.col("estimand") == "level", pl.col("se").is_not_null())
    est = est.with_columns(pl.col("event_id").map_elements(
        lambda t: (lambda s: s.pop() if len(s) == 1 else "mixed")({g.get(e, "other") for e in t.split("+")}),
        return_dtype=pl.String).alias("group"))
    rows = [{"level": level, "app_name": k[0], "country": k[1], "store": k[2], "group": k[3], **_sum_terms(part)}
            for k, part in est.group_by("app_name", "country", "store", "group", maintain_order=True)]
    out = pl.DataFrame(rows, schema={"level": pl.String, "app_name": pl.String, "country": pl.String,
                                     "store": pl.String, "group": pl.String, "estimate": pl.Float64,
                                     "se": pl.Float64, "n_terms": pl.Int64, "terms": pl.String})
    return _with_multiples(out, float(norm.ppf(1 - alpha / 2)))


def _with_multiples(out: pl.DataFrame, z: float) -> pl.DataFrame:
    return out.with_columns(
        (pl.col("estimate") - z * pl.col("se")).alias("ci_low"), (pl.col("estimate") + z * pl.col("se")).alias("ci_high"),
    ).with_columns(
        (-pl.col("estimate")).exp().alias("attention_multiple"),
        (-pl.col("ci_high")).exp().alias("multiple_low"), (-pl.col("ci_low")).exp().alias("multiple_high"),
        pl.lit("sum of term variances; covariances between terms not included").alias("se_note"),
    ).sort("level", "app_name", "country", "group")


def pooled_attribution(per_country: pl.DataFrame, alpha: float = 0.05) -> pl.DataFrame:
    """Each app's group sums pooled across the countries that have the same terms (at least two;
    random effects, REML: :func:`analysis.models.events.pooling.pool`)."""
    from scipy.stats import norm

    from analysis.models.events.pooling import pool

    rows = []  # only sums of the same terms are pooled (a country where a term is not identified differs)
    for (app, store, group, _), g in per_country.group_by("app_name", "store", "group", "terms", maintain_order=True):
        g = g.filter(pl.col("se") > 0)
        if g.height < 2:
            continue
        p = pool(g["estimate"].to_list(), g["se"].to_list(), "reml", alpha)
        rows.append({"level": "pooled", "app_name": app, "country": "pooled(" + ",".join(sorted(g["country"])) + ")",
                     "store": store, "group": group, "estimate": p.estimate, "se": p.se,
                     "n_terms": int(g["n_terms"].max()), "terms": g["terms"][0]})
    if not rows:
        return per_country.clear()
    return _with_multiples(pl.DataFrame(rows), float(norm.ppf(1 - alpha / 2))).select(per_country.columns)


def headline_multiples(effects: pl.DataFrame) -> pl.DataFrame:
    """Window-average effects as attention multiples (exp(-L) on daily pageviews)."""
    wa = effects.filter(pl.col("estimand") == "window_average", pl.col("kind") == "estimate")
    return wa.select("app_name", "country", "window_start", "window_end", "estimate", "ci_low", "ci_high",
                     (-pl.col("estimate")).exp().alias("attention_multiple"),
                     (-pl.col("ci_high")).exp().alias("multiple_low"),
                     (-pl.col("ci_low")).exp().alias("multiple_high")).sort("app_name", "country")


def deplatforming_answer(att: pl.DataFrame, apps: tuple[str, ...] = ("Signal", "Telegram")) -> pl.DataFrame:
    """One sentence per app: what the deplatformings added in the treated country beyond the common
    privacy shock (the contrast's deplatforming group), or why it is not available."""
    rows = []
    for app in apps:
        c = att.filter(pl.col("level") == "contrast", pl.col("app_name") == app, pl.col("group") == "deplatforming")
        if c.height == 0:
            rows.append({"app_name": app, "contrast": None, "attention_multiple": None, "multiple_low": None,
                         "multiple_high": None, "sentence": f"{app}: no contrast estimate (the app is not in the lock, "
                         "or a control country has no observed pre-period day: censored below 450)"})
            continue
        r = c.row(0, named=True)
        rows.append({"app_name": app, "contrast": r["country"], "attention_multiple": r["attention_multiple"],
                     "multiple_low": r["multiple_low"], "multiple_high": r["multiple_high"],
                     "sentence": f"{app}: beyond the common privacy shock ({r['country']}), the deplatformings "
                                 f"({r['terms']}) multiplied daily pageviews by {r['attention_multiple']:.2f} "
                                 f"(95% CI {r['multiple_low']:.2f} .. {r['multiple_high']:.2f}); attention, not downloads"})
    return pl.DataFrame(rows, schema={"app_name": pl.String, "contrast": pl.String, "attention_multiple": pl.Float64,
                                      "multiple_low": pl.Float64, "multiple_high": pl.Float64, "sentence": pl.String})


def study_tables(data: StudyData, fit, alpha: float = 0.05) -> dict[str, pl.DataFrame]:
    """The study's own tables from the shared fit (:class:`analysis.models.events.estimates.StudyFit`)."""
    per = attribution(fit.effects, data.events, "country", alpha)
    parts = [per, pooled_attribution(per, alpha)]
    if fit.contrast.height:
        parts.append(attribution(fit.contrast, data.events, "contrast", alpha))
    spec = fit.spec
    window = data.views.filter(pl.col("date").is_between(spec.start, spec.end))
    pre = max((FIRST_EVENT - spec.start).days, 1)
    att = pl.concat(parts, how="vertical_relaxed")
    return {"attribution": att, "deplatforming_answer": deplatforming_answer(att),
            "headline_multiples": headline_multiples(fit.effects),
            "dp_panel": window,
            "dp_noise": dp_panel.noise_effect(window, window_days=spec.window_days, pre_days=pre)}


def write_tables(data: StudyData, fit, params, build: Path) -> None:
    """Write :func:`study_tables` under ``<build>/tables/`` from the run plan's study fit."""
    out = build / "tables"
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in study_tables(data, fit, params.alpha).items():
        frame.write_csv(out / f"{name}.csv", date_format="%Y-%m-%d", float_precision=10)
