"""A seeded synthetic demo panel with known true effects.

**SYNTHETIC DEMO DATA.**  Nothing here is an observation.  The generator exists so that the
whole pipeline can run offline and so that tests and reports can show the models recover
known effects.  It is *calibrated* to facts reported in the press (sources cited below and in
the ``source_url`` column of the true-effects table), so that the demo looks like the real
problem: apps that start outside the chart (censored), hit #1 (floored), or are removed from a
store (structural missingness).

Model of the latent log-rank of series s = (app, country, store) on day t::

    y*[s,t] = log(base_rank[s]) + trend[s] * (t - t_mid) + dow[app, weekday(t)]
              + sum_k 1[t >= d_k] * (level_k + slope_k * (t - d_k)) + u[s,t]
    u[s,t]  = rho * u[s,t-1] + e[s,t],   e ~ N(0, sigma^2)

The observed rank is ``max(1, round(exp(y*)))``, ties broken so that ranks in a chart are
distinct; a series has no row on a day where that rank exceeds the chart depth (200, carried in
the panel's ``chart_depth`` column), and no rows after its app was removed from the store.  True effects are changes in the *latent*
log-rank (negative = climbing the chart); where the latent rank goes beyond 1 or the chart
depth, the observed series cannot show the full effect.

Calibration facts (reported; see ``../shared/data/reported_app_metrics`` for quotes):

- Signal: about #750 in US overall downloads on 4 Jan 2021 (App Annie, via
  https://www.businessinsider.com/signal-app-downloads-surge-elon-musk-tweet-whatsapp-2021-1)
  to #1 on the US App Store by 10-12 Jan (FOX Business via
  https://techdigits.com/signal-becomes-no-1-app-after-reaching-1-3m-downloads-monday).
  The surge was strongest in India and Europe, driven by WhatsApp's privacy notice
  (https://www.medianama.com/2021/01/223-whatsapp-defers-privacy-policy-update/).
- Telegram: #2 on the US App Store on 13 Jan 2021
  (https://www.androidpolice.com/2021/01/12/telegram-adds-25-million-new-users-in-just-72-hours-as-rival-apps-falter/).
- Parler: #1 on the US App Store on 8-9 Jan 2021, suspended by Google Play on 8 Jan and
  removed by Apple on 9 Jan (https://www.thewrap.com/parler-no-1-apple-store-google-play-suspended-trump-twitter/).
- MeWe: from #31 (8 Jan) to #12 (9 Jan) on the US App Store
  (https://national-conservative.com/parler-and-other-alt-tech-sites-are-surging-dramatically/),
  #5 by 11 Jan.

Everything else (baselines outside the US, effects on Rumble and Element, day-of-week
amplitudes, noise) is illustrative and labelled ``basis = "illustrative"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from scipy.signal import lfilter

from analysis.data.panel import SCHEMA, validate_panel

START = date(2020, 10, 1)
END = date(2021, 3, 31)
CHART = "top_free_overall"
CHART_DEPTH = 200
COUNTRIES = ("us", "gb", "de", "fr", "in", "br")
STORES = ("ios", "google_play")
DEFAULT_SEED = 20210108
RHO = 0.6
SIGMA = 0.08
SYNTHETIC_LABEL = "SYNTHETIC DEMO DATA"

# app_name -> (ios app id, Google Play package)
APPS: dict[str, tuple[str, str]] = {
    "Signal": ("org.whispersystems.signal", "org.thoughtcrime.securesms"),
    "Telegram": ("ph.telegra.Telegraph", "org.telegram.messenger"),
    "WhatsApp": ("net.whatsapp.WhatsApp", "com.whatsapp"),
    "Parler": ("com.parler.parler", "com.parler.parler"),
    "MeWe": ("com.mewe.mewe", "com.mewe"),
    "Rumble": ("com.rumble.battles", "com.rumble.battles"),
    "Element": ("im.vector.app", "im.vector.app"),
    "Threema": ("ch.threema.iapp", "ch.threema.app"),
    "Discord": ("com.hammerandchisel.discord", "com.discord"),
    "Twitter": ("com.atebits.Tweetie2", "com.twitter.android"),
    "Facebook Messenger": ("com.facebook.Messenger", "com.facebook.orca"),
}

# Baseline (October 2020) App Store rank per country; Google Play = App Store x factor.
# Threema is a paid app, so it practically never appears in a top-*free* chart.
BASE_RANK: dict[str, dict[str, float]] = {
    "Signal": {"us": 750, "gb": 320, "de": 260, "fr": 380, "in": 900, "br": 420},
    "Telegram": {"us": 150, "gb": 90, "de": 45, "fr": 70, "in": 12, "br": 25},
    "WhatsApp": {"us": 30, "gb": 6, "de": 3, "fr": 8, "in": 3, "br": 2},
    "Parler": {"us": 90, "gb": 300, "de": 900, "fr": 900, "in": 2000, "br": 700},
    "MeWe": {"us": 320, "gb": 900, "de": 1200, "fr": 1200, "in": 1500, "br": 1000},
    "Rumble": {"us": 220, "gb": 900, "de": 1500, "fr": 1500, "in": 2000, "br": 1200},
    "Element": {"us": 1500, "gb": 1500, "de": 330, "fr": 900, "in": 2500, "br": 2000},
    "Threema": {c: 5000 for c in COUNTRIES},
    "Discord": {"us": 12, "gb": 15, "de": 20, "fr": 18, "in": 45, "br": 30},
    "Twitter": {"us": 22, "gb": 18, "de": 35, "fr": 28, "in": 25, "br": 30},
    "Facebook Messenger": {"us": 10, "gb": 15, "de": 30, "fr": 25, "in": 20, "br": 10},
}
GOOGLE_PLAY_FACTOR = {"Telegram": 0.7, "WhatsApp": 0.8, "Signal": 0.8, "Parler": 1.2}

# Removal from a store: the last day with a rank (a noon-UTC snapshot still shows the app on
# the day of the evening-ET removal); see data/events/events_jan2021.csv, X05 and X06.
REMOVED_AFTER: dict[tuple[str, str], date] = {
    ("Parler", "google_play"): date(2021, 1, 8),
    ("Parler", "ios"): date(2021, 1, 9),
}

# Day-of-week pattern of log-rank (Mon..Sun), scaled per app: messaging apps climb a little
# at weekends (negative = better rank).
DOW_PATTERN = np.array([0.02, 0.02, 0.01, 0.0, -0.01, -0.03, -0.02])
DOW_AMPLITUDE = {
    "Signal": 1.0, "Telegram": 1.2, "WhatsApp": 0.8, "Parler": 0.5, "MeWe": 0.5, "Rumble": 0.7,
    "Element": 0.5, "Threema": 0.5, "Discord": 2.0, "Twitter": 0.6, "Facebook Messenger": 1.0,
}

_PRIVACY = "https://www.medianama.com/2021/01/223-whatsapp-defers-privacy-policy-update/"
_MUSK = "https://twitter.com/elonmusk/status/1347165127036977153"
_WRAP = "https://www.thewrap.com/parler-no-1-apple-store-google-play-suspended-trump-twitter/"
_NATCON = "https://national-conservative.com/parler-and-other-alt-tech-sites-are-surging-dramatically/"
_ANDROIDPOLICE = "https://www.androidpolice.com/2021/01/12/telegram-adds-25-million-new-users-in-just-72-hours-as-rival-apps-falter/"
_FOX = "https://techdigits.com/signal-becomes-no-1-app-after-reaching-1-3m-downloads-monday"
_IGAMBLER = "https://igambler.net/2021/01/12/trump-supporters-flock-to-mewe-gab-and-rumble-after-parler-goes-offline"


@dataclass(frozen=True)
class TrueEffect:
    """A known change in latent log-rank for one app from ``date`` on.

    ``level`` is the immediate shift (negative = climbs the chart), ``slope`` the change in
    daily trend after ``date``.  ``countries``/``stores`` of ``None`` mean all.
    """

    app: str
    date: date
    level: dict[str, float] | float
    slope: float = 0.0
    label: str = ""
    basis: str = "illustrative"
    source_url: str = ""
    stores: tuple[str, ...] = STORES

    def level_for(self, country: str) -> float:
        if isinstance(self.level, dict):
            return float(self.level.get(country, 0.0))
        return float(self.level)


def _to_rank(target: dict[str, float], base: dict[str, float]) -> dict[str, float]:
    """Level shifts that move each country from ``base`` to ``target`` rank."""
    return {c: math.log(target[c] / base[c]) for c in target}


def _chain(app: str, *targets: dict[str, float]) -> list[dict[str, float]]:
    base = BASE_RANK[app]
    out, prev = [], base
    for t in targets:
        out.append(_to_rank(t, prev))
        prev = {**prev, **t}
    return out


_sig = _chain(
    "Signal",
    {"us": 15, "gb": 2.5, "de": 1.2, "fr": 2.0, "in": 1.1, "br": 3.0},
    {"us": 1.2, "gb": 2.0, "de": 1.0, "fr": 1.7, "in": 1.0, "br": 2.6},
)
_tel = _chain(
    "Telegram",
    {"us": 40, "gb": 20, "de": 8, "fr": 12, "in": 2, "br": 3},
    {"us": 15, "gb": 16, "de": 7, "fr": 10, "in": 1.8, "br": 2.6},
    {"us": 2.2, "gb": 14, "de": 6.5, "fr": 9, "in": 1.8, "br": 2.5},
)
_mewe = _chain("MeWe", {"us": 31}, {"us": 12}, {"us": 5})

DEFAULT_EFFECTS: tuple[TrueEffect, ...] = (
    # WhatsApp privacy notice + Musk's tweet: the confound, strongest in India and Europe.
    TrueEffect("Signal", date(2021, 1, 7), _sig[0], 0.0, "privacy shock (WhatsApp notice, Musk tweet)", "reported", _FOX),
    TrueEffect("Signal", date(2021, 1, 9), _sig[1], 0.0, "deplatforming weekend (Trump ban, Parler removals)", "reported", _FOX),
    TrueEffect("Signal", date(2021, 1, 15), 0.2, 0.03, "WhatsApp delays its deadline; interest decays", "illustrative", _PRIVACY),
    TrueEffect("Telegram", date(2021, 1, 7), _tel[0], 0.0, "privacy shock (WhatsApp notice)", "illustrative", _PRIVACY),
    TrueEffect("Telegram", date(2021, 1, 9), _tel[1], 0.0, "deplatforming weekend", "illustrative", _ANDROIDPOLICE),
    TrueEffect("Telegram", date(2021, 1, 11), _tel[2], 0.0, "Parler offline; #2 in the US by 13 Jan", "reported", _ANDROIDPOLICE),
    TrueEffect("Telegram", date(2021, 1, 15), 0.2, 0.025, "WhatsApp delays its deadline; interest decays", "illustrative", _PRIVACY),
    TrueEffect("WhatsApp", date(2021, 1, 6), 0.5, 0.0, "privacy notice backlash", "illustrative", _PRIVACY),
    TrueEffect("WhatsApp", date(2021, 1, 15), -0.3, 0.0, "deadline delayed", "illustrative", _PRIVACY),
    TrueEffect("Parler", date(2021, 1, 7), {"us": math.log(5 / 90), "gb": math.log(60 / 300)}, 0.0, "Capitol attack aftermath", "reported", _NATCON),
    TrueEffect("Parler", date(2021, 1, 8), {"us": math.log(1 / 5)}, 0.0, "#1 on the US App Store on 8-9 Jan", "reported", _WRAP),
    TrueEffect("MeWe", date(2021, 1, 7), _mewe[0], 0.0, "#31 on the US App Store on 8 Jan", "reported", _NATCON),
    TrueEffect("MeWe", date(2021, 1, 9), _mewe[1], 0.0, "#12 on the US App Store on 9 Jan", "reported", _NATCON),
    TrueEffect("MeWe", date(2021, 1, 11), _mewe[2], 0.0, "#5 by 11 Jan", "reported", _NATCON),
    TrueEffect("MeWe", date(2021, 1, 15), 0.0, 0.03, "interest decays", "illustrative", _NATCON),
    TrueEffect("Rumble", date(2021, 1, 9), {"us": -0.7}, 0.0, "deplatforming weekend", "illustrative", _IGAMBLER),
    TrueEffect("Rumble", date(2021, 1, 11), {"us": -2.0}, 0.02, "Parler offline", "illustrative", _IGAMBLER),
    TrueEffect("Element", date(2021, 1, 11), {"de": -0.8, "fr": -0.5}, 0.0, "alternatives to WhatsApp", "illustrative", _PRIVACY),
)


@dataclass(frozen=True)
class DemoData:
    """The synthetic panel and everything needed to judge a model against the truth."""

    panel: pl.DataFrame  # the rank panel (SCHEMA)
    effects: pl.DataFrame  # one row per (app, country, store, date) true effect
    series: pl.DataFrame  # per-series base rank, trend, noise parameters, removal date
    latent: pl.DataFrame  # latent log-rank per series and day (before flooring/censoring)
    seed: int


def _series_frame(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng([seed, 1])
    rows = []
    for app in APPS:
        for country in COUNTRIES:
            for store in STORES:
                base = BASE_RANK[app][country] * (GOOGLE_PLAY_FACTOR.get(app, 1.0) if store == "google_play" else 1.0)
                rows.append(
                    {
                        "app_name": app,
                        "country": country,
                        "store": store,
                        "app_id": APPS[app][0 if store == "ios" else 1],
                        "base_rank": float(base),
                        # pre-existing drift, log-rank per day (about +-0.1 per month)
                        "trend_per_day": float(rng.normal(0.0, 0.1 / 30)),
                        "rho": RHO,
                        "sigma": SIGMA,
                        "dow_amplitude": DOW_AMPLITUDE[app],
                        "removed_after": REMOVED_AFTER.get((app, store)),
                    }
                )
    return pl.DataFrame(rows, schema_overrides={"removed_after": pl.Date})


def effects_frame(effects: tuple[TrueEffect, ...] = DEFAULT_EFFECTS) -> pl.DataFrame:
    """Expand :class:`TrueEffect` records into one row per (app, country, store, date)."""
    rows = [
        {
            "app_name": e.app,
            "country": c,
            "store": s,
            "date": e.date,
            "level": e.level_for(c),
            "slope": e.slope,
            "label": e.label,
            "basis": e.basis,
            "source_url": e.source_url,
        }
        for e in effects
        for c in COUNTRIES
        for s in e.stores
        if e.level_for(c) != 0.0 or e.slope != 0.0
    ]
    return pl.DataFrame(rows).sort(["app_name", "country", "store", "date"])


def generate_demo(
    seed: int = DEFAULT_SEED,
    effects: tuple[TrueEffect, ...] = DEFAULT_EFFECTS,
    start: date = START,
    end: date = END,
) -> DemoData:
    """Generate the synthetic demo deterministically from ``seed``."""
    series = _series_frame(seed)
    eff = effects_frame(effects)
    days = pl.date_range(start, end, "1d", eager=True)
    n_t, n_s = days.len(), series.height
    t = np.arange(n_t, dtype=float)
    weekday = days.dt.weekday().to_numpy() - 1  # Mon = 0

    rng = np.random.default_rng([seed, 2])
    shocks = rng.normal(0.0, SIGMA, size=(n_s, n_t))
    noise = lfilter([1.0], [1.0, -RHO], shocks, axis=1)

    y = (
        np.log(series["base_rank"].to_numpy())[:, None]
        + series["trend_per_day"].to_numpy()[:, None] * (t - t.mean())[None, :]
        + series["dow_amplitude"].to_numpy()[:, None] * DOW_PATTERN[weekday][None, :]
        + noise
    )
    index = {k: i for i, k in enumerate(zip(series["app_name"], series["country"], series["store"], strict=True))}
    day0 = start.toordinal()
    for e in eff.iter_rows(named=True):
        i = index[(e["app_name"], e["country"], e["store"])]
        after = np.clip(t - (e["date"].toordinal() - day0), 0, None)
        on = t >= (e["date"].toordinal() - day0)
        y[i] += on * (e["level"] + e["slope"] * after)

    latent = (
        series.select("app_name", "app_id", "country", "store", "removed_after")
        .with_columns(
            pl.Series("date", [days] * n_s, dtype=pl.List(pl.Date)),
            pl.Series("latent_log_rank", y.tolist(), dtype=pl.List(pl.Float64)),
        )
        .explode("date", "latent_log_rank")
    )
    panel = (
        latent.filter(pl.col("removed_after").is_null() | (pl.col("date") <= pl.col("removed_after")))
        .with_columns(
            pl.lit(CHART).alias("chart"),
            pl.col("latent_log_rank").exp().round(0).clip(lower_bound=1).cast(pl.Int64).alias("r0"),
        )
        .sort("date", "store", "country", "latent_log_rank")
        .with_columns(pl.int_range(pl.len()).over("date", "store", "country").alias("_i"))
        # distinct ranks: rank_i = max(r0_i, rank_{i-1} + 1) = i + cummax(r0 - i)
        .with_columns(
            (pl.col("_i") + (pl.col("r0") - pl.col("_i")).cum_max().over("date", "store", "country")).alias("rank")
        )
        .filter(pl.col("rank") <= CHART_DEPTH)
        .with_columns(pl.lit(CHART_DEPTH, dtype=pl.Int64).alias("chart_depth"))
        .select(*SCHEMA, "chart_depth")
    )
    return DemoData(
        panel=validate_panel(panel, source=f"synthetic demo (seed {seed})"),
        effects=eff,
        series=series,
        latent=latent.drop("removed_after"),
        seed=seed,
    )
