"""The synthetic demo's calibration and its known true effects, one per registry event.

**SYNTHETIC DEMO DATA.**  Everything here parameterises the simulation in
:mod:`analysis.data.demo.world`; nothing is an observation.  Values marked ``basis="reported"`` are
chosen so that the simulated US App Store ranks match the press reports in
``../shared/data/reported_app_metrics`` (the tests check them); the rest is illustrative.

Scale: every effect is a shift of the *latent* log-rank (``log`` of the position an app would
have in a continuum of apps with one app per unit of rank; negative = climbs the chart).  In
that continuum a latent shift ``d`` moves an app from rank ``r`` to ``r * exp(d)``; in the
simulated chart the realised change in position also depends on the neighbours (ranks are
positions, ties impossible, #1 is a floor), which is why :mod:`analysis.data.demo.truth` writes
the truth for the rank outcome by re-ranking a counterfactual world.

Each :class:`EventEffect` belongs to one registry ``event_id``; the simulation places it on the
first affected snapshot computed by :func:`analysis.data.timing.affected_snapshot_dates`
(``first_possible_snapshot``, noon UTC) and events with the same first snapshot form one term
``"X04+X05"`` (:func:`event_schedule`).  Shape of an effect from its term date ``d`` on, at day
``u = t - d >= 0``::

    step:        level
    step+slope:  level + slope * u
    decay:H:     level * 2 ** (-u / H)            (a spike that halves every H days)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from analysis.data.timing import affected_snapshot_dates

COUNTRIES = ("us", "gb", "de", "fr", "in", "br")
STORES = ("ios", "google_play")

# Baseline (October 2020) App Store rank per country; Google Play = App Store x factor.
# Threema is a paid app, so it practically never appears in a top-*free* chart.
BASE_RANK: dict[str, dict[str, float]] = {
    "Signal": {"us": 750, "gb": 320, "de": 260, "fr": 380, "in": 900, "br": 420},
    "Telegram": {"us": 150, "gb": 90, "de": 45, "fr": 70, "in": 12, "br": 25},
    "WhatsApp": {"us": 30, "gb": 6, "de": 3, "fr": 8, "in": 3, "br": 2},
    "Parler": {"us": 90, "gb": 300, "de": 900, "fr": 900, "in": 2000, "br": 700},
    "MeWe": {"us": 320, "gb": 900, "de": 1200, "fr": 1200, "in": 1500, "br": 1000},
    "Rumble": {"us": 220, "gb": 900, "de": 1500, "fr": 1500, "in": 2000, "br": 1200},
    "Gab": {"us": 600, "gb": 1200, "de": 1500, "fr": 1800, "in": 2200, "br": 1500},
    "Element": {"us": 1500, "gb": 1500, "de": 330, "fr": 900, "in": 2500, "br": 2000},
    "Threema": {c: 5000 for c in COUNTRIES},
    "Discord": {"us": 12, "gb": 15, "de": 20, "fr": 18, "in": 45, "br": 30},
    "Twitter": {"us": 22, "gb": 18, "de": 35, "fr": 28, "in": 25, "br": 30},
    "Facebook Messenger": {"us": 10, "gb": 15, "de": 30, "fr": 25, "in": 20, "br": 10},
}
GOOGLE_PLAY_FACTOR = {"Telegram": 0.7, "WhatsApp": 0.8, "Signal": 0.8, "Parler": 1.2}

# Day-of-week pattern of log-rank (Mon..Sun), scaled per app: messaging apps climb a little
# at weekends (negative = better rank).  Background apps get random amplitudes.
DOW_PATTERN = np.array([0.02, 0.02, 0.01, 0.0, -0.01, -0.03, -0.02])
DOW_AMPLITUDE = {
    "Signal": 1.0, "Telegram": 1.2, "WhatsApp": 0.8, "Parler": 0.5, "MeWe": 0.5, "Rumble": 0.7,
    "Gab": 0.5, "Element": 0.5, "Threema": 0.5, "Discord": 2.0, "Twitter": 0.6, "Facebook Messenger": 1.0,
}

# Christmas install season (new phones): log-rank loading at the peak (25 Dec); the profile
# rises from 22 Dec and halves every XMAS_HALF_LIFE days after the peak.  Messaging and social
# apps climb; background apps get random loadings (games and gift apps climb, others fall), so
# the season moves positions rather than shifting every app alike.
XMAS_PEAK = date(2020, 12, 25)
XMAS_RISE_DAYS = 3
XMAS_HALF_LIFE = 2.5
XMAS_LOADING = {
    "Signal": -0.2, "Telegram": -0.3, "WhatsApp": -0.35, "Facebook Messenger": -0.35, "Discord": -0.4,
    "Twitter": -0.2, "Parler": 0.0, "MeWe": -0.1, "Rumble": -0.1, "Gab": 0.0, "Element": 0.0, "Threema": 0.0,
}

# November 2020 post-election surge of the alt-tech apps (Parler #1 on the US App Store around
# 8-9 Nov 2020): a spike from NOV_SURGE_START halving every ``half-life`` days plus a lasting
# part, in the US; other countries get NOV_COUNTRY_SCALE of it.  (app -> spike, lasting, half-life)
NOV_SURGE_START = date(2020, 11, 8)
NOV_SURGE = {"Parler": (-3.8, -0.6, 6.0), "MeWe": (-3.0, -0.4, 6.0), "Rumble": (-2.0, -0.5, 8.0), "Gab": (-1.0, -0.2, 6.0)}
NOV_COUNTRY_SCALE = {"us": 1.0, "gb": 0.4, "de": 0.1, "fr": 0.1, "in": 0.05, "br": 0.2}

_PRIVACY = "https://www.medianama.com/2021/01/223-whatsapp-defers-privacy-policy-update/"
_TELLFORCE = "https://www.tellforceblog.com/2021/02/telegram-was-the-most-popular-app-in-the-world-last-month.html"
_MUSK = "https://twitter.com/elonmusk/status/1347165127036977153"
_WRAP = "https://www.thewrap.com/parler-no-1-apple-store-google-play-suspended-trump-twitter/"
_NATCON = "https://national-conservative.com/parler-and-other-alt-tech-sites-are-surging-dramatically/"
_ANDROIDPOLICE = "https://www.androidpolice.com/2021/01/12/telegram-adds-25-million-new-users-in-just-72-hours-as-rival-apps-falter/"
_FOX = "https://techdigits.com/signal-becomes-no-1-app-after-reaching-1-3m-downloads-monday"
_IGAMBLER = "https://igambler.net/2021/01/12/trump-supporters-flock-to-mewe-gab-and-rumble-after-parler-goes-offline"


@dataclass(frozen=True)
class EventEffect:
    """A known change in one app's latent log-rank caused by registry event ``event_id``.

    ``level`` maps country -> shift (missing countries: 0) or is one number for all;
    ``slope`` is a change in daily trend (same in every affected country, scaled by nothing);
    ``half_life`` (days) turns the level into a decaying spike (``decay:H``).  ``stores``
    limits the effect to some stores.
    """

    event_id: str
    app: str
    level: dict[str, float] | float
    slope: float = 0.0
    half_life: float | None = None
    label: str = ""
    basis: str = "illustrative"
    source_url: str = ""
    stores: tuple[str, ...] = STORES

    def level_for(self, country: str) -> float:
        if isinstance(self.level, dict):
            return float(self.level.get(country, 0.0))
        return float(self.level)

    @property
    def shape(self) -> str:
        if self.half_life is not None:
            return f"decay:{self.half_life:g}"
        return "step+slope" if self.slope else "step"


def _scaled(us: float, **scale: float) -> dict[str, float]:
    """A US-centric effect: ``us`` in the US, ``us * scale[c]`` elsewhere."""
    return {"us": us, **{c: us * s for c, s in scale.items()}}


_DEPL = {"gb": 0.3, "br": 0.2, "de": 0.1, "fr": 0.1}  # deplatforming: US-centric

DEFAULT_EFFECTS: tuple[EventEffect, ...] = (
    # X01 WhatsApp privacy notice: India/Europe/Brazil-led; WhatsApp itself falls.
    EventEffect("X01", "Signal", {"us": -0.2, "gb": -1.6, "de": -2.2, "fr": -1.6, "in": -2.6, "br": -2.0}, 0.0, None,
                "WhatsApp privacy notice", "illustrative", _PRIVACY),
    EventEffect("X01", "Telegram", {"us": -0.6, "gb": -1.4, "de": -1.6, "fr": -1.4, "in": -2.0, "br": -2.2}, 0.0, None,
                "WhatsApp privacy notice", "illustrative", _TELLFORCE),
    EventEffect("X01", "WhatsApp", {"us": 0.15, "gb": 0.4, "de": 0.5, "fr": 0.4, "in": 0.6, "br": 0.5}, 0.0, None,
                "privacy notice backlash", "illustrative", _PRIVACY),
    EventEffect("X01", "Element", {"de": -0.8, "fr": -0.5, "gb": -0.3}, 0.0, None, "alternatives to WhatsApp",
                "illustrative", _PRIVACY),
    EventEffect("X01", "Threema", {"de": -0.8, "fr": -0.4, "gb": -0.3}, 0.0, None, "alternatives to WhatsApp",
                "illustrative", _PRIVACY),
    # X02 Capitol attack: the alt-tech apps start climbing in the US.
    EventEffect("X02", "Parler", _scaled(-4.0, gb=0.5, br=0.2), 0.0, None, "#1 on the US App Store on 8 Jan", "reported", _WRAP),
    EventEffect("X02", "MeWe", _scaled(-2.2, **_DEPL), 0.0, None, "#31 on the US App Store on 8 Jan", "reported", _NATCON),
    EventEffect("X02", "Rumble", _scaled(-0.5, **_DEPL), 0.0, None, "Capitol attack aftermath", "illustrative", _IGAMBLER),
    EventEffect("X02", "Gab", _scaled(-0.4, **_DEPL), 0.0, None, "Capitol attack aftermath", "illustrative", _IGAMBLER),
    # X03 Musk's "Use Signal": a worldwide spike on Signal that halves every 14 days.
    EventEffect("X03", "Signal", {"us": -4.0, "gb": -3.4, "de": -3.2, "fr": -3.2, "in": -3.8, "br": -3.0}, 0.0, 21.0,
                "Musk tweets 'Use Signal' (spike, half-life 21 days)", "reported", _FOX),
    # X04 Twitter bans Trump (+ X05 Google suspends Parler): US-centric deplatforming.
    EventEffect("X04", "Parler", _scaled(-0.8, gb=0.4, br=0.2), 0.0, None, "still #1 on the US App Store on 9 Jan", "reported", _WRAP),
    EventEffect("X04", "MeWe", _scaled(-1.0, **_DEPL), 0.0, None, "#12 on the US App Store on 9 Jan", "reported", _NATCON),
    EventEffect("X04", "Rumble", _scaled(-0.7, **_DEPL), 0.0, None, "deplatforming weekend", "illustrative", _IGAMBLER),
    EventEffect("X04", "Gab", _scaled(-1.0, **_DEPL), 0.0, None, "deplatforming weekend", "illustrative", _IGAMBLER),
    EventEffect("X04", "Signal", _scaled(-1.2, gb=0.2, de=0.1, fr=0.1, br=0.1), 0.0, None, "deplatforming weekend",
                "reported", _FOX),
    EventEffect("X04", "Telegram", _scaled(-1.5, gb=0.2, de=0.1, fr=0.1, br=0.2), 0.0, None, "deplatforming weekend",
                "illustrative", _ANDROIDPOLICE),
    # X06 Apple removes Parler (the app itself leaves the App Store: see REMOVALS).
    EventEffect("X06", "Signal", _scaled(-2.6, gb=0.1, de=0.05, fr=0.05, br=0.05), 0.0, None, "#1 in the US from 10 Jan",
                "reported", _FOX),
    EventEffect("X06", "Telegram", _scaled(-0.9, gb=0.2, br=0.2), 0.0, None, "Parler leaves the App Store", "illustrative",
                _ANDROIDPOLICE),
    EventEffect("X06", "Parler", _scaled(-0.8, gb=0.4), 0.0, None, "Apple's ultimatum makes news", "reported", _WRAP),
    EventEffect("X06", "MeWe", _scaled(-0.4, **_DEPL), 0.0, None, "Parler leaves the App Store", "illustrative", _NATCON),
    EventEffect("X06", "Rumble", _scaled(-0.5, **_DEPL), 0.0, None, "Parler leaves the App Store", "illustrative", _IGAMBLER),
    EventEffect("X06", "Gab", _scaled(-0.8, **_DEPL), 0.0, None, "Parler leaves the App Store", "illustrative", _IGAMBLER),
    # X07 AWS takes Parler offline: its users look elsewhere; interest then fades (slope).
    EventEffect("X07", "MeWe", _scaled(-0.7, **_DEPL), 0.03, None, "#5 on 11 Jan; interest fades", "reported", _IGAMBLER),
    EventEffect("X07", "Rumble", _scaled(-0.9, **_DEPL), 0.02, None, "Parler offline; interest fades", "illustrative", _IGAMBLER),
    EventEffect("X07", "Gab", _scaled(-1.5, **_DEPL), 0.03, None, "Parler offline; interest fades", "illustrative", _IGAMBLER),
    EventEffect("X07", "Telegram", _scaled(-1.7, gb=0.1, br=0.1), 0.0, None, "#2 in the US by 12-13 Jan", "reported",
                _ANDROIDPOLICE),
    EventEffect("X07", "Signal", _scaled(-0.3), 0.0, None, "Parler offline", "illustrative", _FOX),
    # X10 WhatsApp delays its deadline: the privacy shock partly reverses and interest fades.
    EventEffect("X10", "WhatsApp", {"us": -0.1, "gb": -0.25, "de": -0.3, "fr": -0.25, "in": -0.35, "br": -0.3}, 0.0, None,
                "deadline delayed", "illustrative", _PRIVACY),
    EventEffect("X10", "Signal", 0.2, 0.03, None, "deadline delayed; interest fades", "illustrative", _PRIVACY),
    EventEffect("X10", "Telegram", 0.2, 0.025, None, "deadline delayed; interest fades", "illustrative", _PRIVACY),
)

# Store removals: (event_id, app, store); the app has no rank from the day after the event's
# ``date_utc`` in the registry (a noon-UTC snapshot still shows it on the evening-ET removal day).
REMOVALS: tuple[tuple[str, str, str], ...] = (("X05", "Parler", "google_play"), ("X06", "Parler", "ios"))


def event_schedule(events: pl.DataFrame, snapshot_hour: int = 12) -> pl.DataFrame:
    """Registry events -> (event_id, term_id, date): each event's first possibly affected
    daily snapshot (:func:`analysis.data.timing.affected_snapshot_dates`) and its term: events
    with the same first snapshot are merged into one term named by their ids joined with "+"
    in registry order (e.g. ``"X04+X05"``)."""
    t = affected_snapshot_dates(events, snapshot_hour).with_row_index("_order")
    terms = (
        t.sort("_order").group_by("first_possible_snapshot", maintain_order=True)
        .agg(pl.col("event_id").str.join("+").alias("term_id"))
    )
    return (
        t.join(terms, on="first_possible_snapshot").sort("_order")
        .select("event_id", "term_id", pl.col("first_possible_snapshot").alias("date"), "date_utc")
    )
