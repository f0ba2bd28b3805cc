"""What a study's effects are measured on, and how the answer speaks about them.

- ``rank`` (app-store charts): log(rank), negative = climbed; window averages are also given
  as downloads multiples under the rank-downloads law (Garg & Telang 2013).
- ``attention`` (a pageview chart such as the Wikipedia top 100): log(rank) on the
  **pageview-chart rank**, negative = more attention.  Pageviews are attention, not downloads, so
  no downloads multiple is given (the ``downloads_factor*`` columns stay empty).
- ``views`` (uncensored per-article pageviews): log(daily pageviews), **positive** = more
  attention; effects are reported on that scale exactly as estimated, multiples are
  ``exp(+L)``; no downloads multiple.
- ``dp-views`` (the differentially-private per-country release, censored below 450): fitted as
  the pseudo-rank ``450e8 / views`` of :mod:`analysis.data.sources.dp_panel`, so the scale is the rank's
  (negative = more views) and ``exp(-L)`` is the factor on daily pageviews; no downloads multiple.
"""

from __future__ import annotations

import math

from analysis.errors import InputError

OUTCOMES = ("rank", "attention", "views", "dp-views")
POSITION_OUTCOMES = ("rank", "attention")  # whole chart positions (rounded): intervals carry the rounding
NOUNS = {"rank": "rank", "attention": "pageview-chart rank", "views": "daily pageviews",
         "dp-views": "daily pageviews"}
SCALES = {"rank": "change in log(rank) (negative = climbed)",
          "attention": "change in log(pageview-chart rank) (negative = more attention)",
          "views": "change in log(daily pageviews) (positive = more attention)",
          "dp-views": "change in log(450e8 / daily pageviews) (negative = more attention)"}
NOTES = {
    "attention": ("Outcome: the article's rank on the pageview chart (attention), not downloads: the effects are "
                  "changes in log(pageview-chart rank), negative = more attention; no downloads multiple is given."),
    "views": ("Outcome: the article's daily pageviews (attention), not downloads: the effects are changes in "
              "log(daily pageviews), positive = more attention; no downloads multiple is given."),
    "dp-views": ("Outcome: the app's daily pageviews per country (attention, differentially private, censored below "
                 "450), not downloads: the effects are changes in log(450e8 / views) = minus the change in "
                 "log(views), negative = more attention; exp(-effect) is the factor on daily pageviews; no "
                 "downloads multiple is given."),
}


def check_outcome(outcome: str) -> str:
    if outcome not in OUTCOMES:
        raise InputError(f"outcome {outcome!r} is not one of {OUTCOMES}")
    return outcome


def has_downloads(outcome: str) -> bool:
    """Only app-store ranks translate into downloads."""
    return check_outcome(outcome) == "rank"


def to_rank_scale(est: float | None, lo: float | None, hi: float | None, outcome: str
                  ) -> tuple[float | None, float | None, float | None]:
    """Effect and interval on a scale where negative = more (log rank, or minus log views), so
    one set of phrases ("×k more use", "at least") serves every outcome."""
    if check_outcome(outcome) != "views":
        return est, lo, hi
    neg = lambda x: None if x is None else -x  # noqa: E731
    return neg(est), neg(hi), neg(lo)


def multiple(x: float, outcome: str) -> float:
    """The multiple an effect ``x`` on the outcome's log scale means, above 1 = more (climbed or
    more views): ``exp(-x)`` for ranks, ``exp(x)`` for views."""
    return math.exp(x if check_outcome(outcome) == "views" else -x)
