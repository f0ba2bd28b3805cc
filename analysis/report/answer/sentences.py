"""Sentences generated from the numbers of the answer table.

Every number in a sentence is computed from the row it describes, with one formatter
(:func:`fmt`, two significant digits), so a test can recompute it from the table.  On the model
scale an effect ``L`` is a change in log(rank) (negative = climbed the chart); sentences speak in
one direction convention (:func:`direction`): the rank multiple ``exp(-L)`` as "×40 more use"
or, below 1, "×1.1 less use" (pageview studies: "more attention"), so a number shown is never
below 1 and the word carries the sign; and, for window averages, in downloads
multiples under the rank-downloads power law (Garg & Telang 2013; see
:mod:`analysis.models.downloads.window`).  Bounds read as bounds ("at least"), merged event
terms are named as not separable by the data, and "not identified" says why.
"""

from __future__ import annotations

import math
from datetime import date

import polars as pl

from analysis.data import outcome as O
from analysis.errors import InputError

COUNTRY_NAMES = {"us": "the US", "gb": "the UK", "de": "Germany", "fr": "France", "in": "India", "br": "Brazil",
                 "ca": "Canada", "it": "Italy", "jp": "Japan", "es": "Spain"}
STORE_NAMES = {"ios": "App Store", "google_play": "Google Play"}
DEPLATFORMING_KINDS = ("deplatforming", "platform_action")


def fmt(x: float) -> str:
    """Two significant digits, no scientific notation, thousands separated: 40.3 -> '40',
    2.345 -> '2.3', 0.456 -> '0.46', 1234 -> '1,200'."""
    if x is None or not math.isfinite(x):
        raise ValueError(f"cannot format {x!r}")
    if x == 0:
        return "0"
    digits = math.floor(math.log10(abs(x)))
    r = round(x, 1 - digits)
    if r != 0 and math.floor(math.log10(abs(r))) != digits:  # 9.96 -> 10: one digit more
        digits += 1
        r = round(x, 1 - digits)
    return f"{int(r):,}" if digits >= 1 else f"{r:.{1 - digits}f}"


WIKI_EDITIONS = {"en": "English", "de": "German", "fr": "French", "pt": "Portuguese", "es": "Spanish", "hi": "Hindi"}


def place(country: str, store: str) -> str:
    """'the US (App Store)'; a Wikipedia "country" is a language edition: 'English Wikipedia'."""
    if store == "wikipedia":
        return f"{WIKI_EDITIONS.get(country, country)} Wikipedia"
    return f"{COUNTRY_NAMES.get(country, country.upper())} ({STORE_NAMES.get(store, store)})"


def window_label(start: date | None, end: date | None) -> str:
    """'9-22 Jan 2021' (en dash), or a generic phrase when the window is unknown."""
    if start is None or end is None:
        return "the post-period window"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}\u2013{end.day} {end:%b %Y}"
    return f"{start.day} {start:%b}\u2013{end.day} {end:%b %Y}"


def event_names(events: pl.DataFrame) -> dict[str, tuple[str, str]]:
    """event_id -> (short description, kind) from the registry (text before a parenthesis)."""
    return {r["event_id"]: (r["event"].split(" (")[0].strip(), r["kind"])
            for r in events.select("event_id", "event", "kind").iter_rows(named=True)}


def term_ids(term: str) -> list[str]:
    return [t.strip() for t in term.split("+")]


def term_kinds(term: str, names: dict[str, tuple[str, str]]) -> list[str]:
    return [names[t][1] for t in term_ids(term) if t in names]


def event_label(term: str, names: dict[str, tuple[str, str]]) -> str:
    """'X03 (Elon Musk tweets "Use Signal")'; a merged term lists every event and says the data
    cannot separate them.  An id missing from the registry is an input error."""
    ids = term_ids(term)
    missing = [t for t in ids if t not in names]
    if missing:
        raise InputError(f"effects: column 'event_id' value {term!r}: event(s) {missing} are not in the "
                         "event registry (data/events/events_jan2021.csv)")
    text = "; ".join(names[t][0] for t in ids)
    if len(ids) > 1:
        return f"{term} ({text}: events the data cannot separate, estimated as one term)"
    return f"{term} ({text})"


USE_WORDS = {"rank": "use", "attention": "attention", "views": "attention", "dp-views": "attention"}  # what "more" is more of


def direction(m: float, word: str = "use") -> str:
    """The one direction convention of every sentence: a multiple ``m`` in the direction of
    more use (``exp(-L)`` of a log-rank effect ``L``) as '×40 more use', or, below 1, as
    '×1.1 less use' (``1/m``): the number shown is never below 1, the word carries the sign."""
    return f"\u00d7{fmt(m)} more {word}" if m >= 1 else f"\u00d7{fmt(1 / m)} less {word}"


def _span(a: float, b: float, word: str) -> str:
    """A multiple interval ``a <= b`` (direction of more use): '×30–×55 more use',
    '×1.3 less to ×1.2 more use' when it spans no change."""
    if a >= 1 or b < 1:
        lo, hi = (a, b) if a >= 1 else (1 / b, 1 / a)
        return f"\u00d7{fmt(lo)}\u2013\u00d7{fmt(hi)} {'more' if a >= 1 else 'less'} {word}"
    return f"\u00d7{fmt(1 / a)} less to \u00d7{fmt(b)} more {word}"


def rank_phrase(est: float | None, lo: float | None, hi: float | None, level: float, word: str = "use") -> str:
    """A log-rank effect ``est`` and its (possibly one-sided) interval as multiples in the
    direction of more use (:func:`direction`): 'saw ×40 more use (95% CI ×30–×55 more use)'."""
    pct = f"{round(level * 100)}%"
    m = lambda x: math.exp(-x)  # noqa: E731  (log rank -> multiple, above 1 = more use)
    if lo is None and hi is not None:  # L <= hi: at least exp(-hi) in the direction of more use
        conf = _at_least(m(hi), word)
        if est is None:
            return f"saw {conf} (one-sided {pct} bound)"
        return f"saw {direction(m(est), word)} ({conf} with {pct} confidence)"
    if hi is None and lo is not None:  # L >= lo: at most exp(-lo)
        conf = _at_most(m(lo), word)
        if est is None:
            return f"saw {conf} (one-sided {pct} bound)"
        return f"saw {direction(m(est), word)} ({conf} with {pct} confidence)"
    ci = f"{pct} CI {_span(m(hi), m(lo), word)}"
    if hi < 0 or lo > 0:
        return f"saw {direction(m(est), word)} ({ci})"
    return f"saw no clear change ({direction(m(est), word)}; {ci})"


def _at_least(m: float, word: str) -> str:
    """The multiple is at least ``m``: 'at least ×40 more use' or 'at most ×2 less use'."""
    return f"at least {direction(m, word)}" if m >= 1 else f"at most {direction(m, word)}"


def _at_most(m: float, word: str) -> str:
    """The multiple is at most ``m``: 'at most ×40 more use' or 'at least ×2 less use'."""
    return f"at most {direction(m, word)}" if m >= 1 else f"at least {direction(m, word)}"


def slope_phrase(est: float | None, lo: float | None, hi: float | None, level: float, word: str = "use") -> str:
    """A slope in log rank per day as a daily % change in the direction of more use:
    'saw 3.0% more use per day (95% CI 1.0–5.1% more use per day)'."""
    def pct(x: float) -> float:
        return 100 * math.expm1(-x)

    def one(p: float) -> str:
        return f"{fmt(abs(p))}% {'more' if p >= 0 else 'less'} {word}"
    if lo is None or hi is None:
        b, bound = (hi, "at least") if lo is None else (lo, "at most")
        return f"saw {bound} {one(pct(b))} per day (one-sided {round(level * 100)}% bound)"
    a, b = pct(hi), pct(lo)  # a <= b
    if a >= 0 or b < 0:
        x, y = (a, b) if a >= 0 else (b, a)
        ci = f"{fmt(abs(x))}\u2013{fmt(abs(y))}% {'more' if a >= 0 else 'less'} {word}"
    else:
        ci = f"{one(a)} to {one(b)}"
    return f"saw {one(pct(est))} per day ({round(level * 100)}% CI {ci} per day)"


def downloads_phrase(low: float | None, high: float | None, exponent: tuple[float, float]) -> str:
    """The downloads multiples in the same convention: '×3.0–×5.0 more downloads' (below 1:
    'fewer downloads', the number inverted)."""
    law = f"under the rank\u2013downloads law (exponent {exponent[0]:g}\u2013{exponent[1]:g})"
    if low is not None and high is not None:
        return f"this corresponds to {_span(low, high, 'downloads').replace('less', 'fewer')} {law}"
    if low is not None:
        return f"this corresponds to {_at_least(low, 'downloads').replace('less', 'fewer')} {law}"
    if high is not None:
        return f"this corresponds to {_at_most(high, 'downloads').replace('less', 'fewer')} {law}"
    return ""


def window_sentence(r: dict, exponent: tuple[float, float], level: float, outcome: str = "rank") -> str:
    """Sentence of a window-average row (see :func:`analysis.report.answer.table.answer_table`); the
    noun and the sign follow ``outcome`` (:mod:`analysis.data.outcome`)."""
    noun = O.NOUNS[O.check_outcome(outcome)]
    word = USE_WORDS[outcome]
    head = f"In {place(r['country'], r['store'])}, by its {noun}, {r['app_name']}"
    when = (f"on average over {window_label(r.get('window_start'), r.get('window_end'))} against a forecast "
            "from the pre-period (all events together)")
    if r["kind"] == "not_identified":
        return f"{head}'s change on average over {window_label(r.get('window_start'), r.get('window_end'))} " \
               f"is not identified: {r.get('reason') or 'the estimator gave no reason'}."
    floor = ""
    if r.get("best_rank") == 1 and r["kind"] == "bound":
        also = " and the downloads" if outcome == "rank" else ""
        floor = (f" {r['app_name']} reached #1, where the rank cannot rise further, so the climb{also} "
                 f"{'are lower bounds' if also else 'is a lower bound'}.")
    elif r["kind"] == "bound" and r.get("reason"):
        floor = f" This is a bound: {r['reason']}."
    dl = downloads_phrase(r.get("downloads_factor_low"), r.get("downloads_factor_high"), exponent)
    scaled = O.to_rank_scale(r.get("estimate"), r.get("ci_low"), r.get("ci_high"), outcome)
    body = f"{head} {rank_phrase(*scaled, level, word)} {when}"
    return f"{body}; {dl}.{floor}" if dl else f"{body}.{floor}"


def event_sentence(r: dict, names: dict[str, tuple[str, str]], others: list[str], level: float,
                   outcome: str = "rank") -> str:
    """Sentence of a per-event row; ``others`` are the series' other event terms in the model."""
    label = event_label(r["event_id"], names)
    noun = O.NOUNS[O.check_outcome(outcome)]
    word = USE_WORDS[outcome]
    scaled = O.to_rank_scale(r.get("estimate"), r.get("ci_low"), r.get("ci_high"), outcome)
    est = r["estimand"]
    head = f"In {place(r['country'], r['store'])}, at {label}, by its {noun}, {r['app_name']}"
    if r["kind"] == "not_identified":
        return f"{head}'s {est} change is not identified: {r.get('reason') or 'the estimator gave no reason'}."
    if est == "slope":
        text = f"{head} {slope_phrase(*scaled, level, word)} after the event"
    else:
        when = "initially (the effect then fades)" if est == "decay" else "at the first chart snapshot after it"
        text = f"{head} {rank_phrase(*scaled, level, word)} {when}"
    confounds = [o for o in others if "confound" in term_kinds(o, names)]
    if any(k in DEPLATFORMING_KINDS for k in term_kinds(r["event_id"], names)) and confounds:
        named = [f"{o} ({'; '.join(names[t][0] for t in term_ids(o))})" for o in confounds]
        text += ", beyond what " + (", ".join(named[:-1]) + " and " if len(named) > 1 else "") + named[-1] + " explain"
    elif others:
        text += f", net of the other {len(others)} event term(s) in the model"
    text += "."
    if r["kind"] == "bound":
        text += f" This is a bound: {r.get('reason') or 'the pre-period is below the chart'}."
    if r.get("best_rank") == 1:
        text += " The app reached #1, where ranks cannot rise further: the climb may be understated."
    return text
