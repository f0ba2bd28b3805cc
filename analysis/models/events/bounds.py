"""Partial identification for series whose pre-period lies (almost) entirely below the chart.

A chart lists its top ``depth`` apps; on a day an app is below it, its latent log-rank exceeds
the censoring threshold ``c = log(depth + 0.5)``.  When (almost) every pre-period day is below the
chart (fewer than ``min_pre`` ranked pre-period days: every Signal series of the demo, MeWe, Gab),
the pre-period level, hence the counterfactual, is not located and no point estimate of the
window average or of the terms up to the app's entry into the chart exists.  What the data do
identify, under two assumptions stated in every ``reason`` (Manski 2003, *Partial Identification of
Probability Distributions*, Springer, ch. 1-2: bounds from censored outcomes under monotonicity-type
assumptions; Manski & Pepper 2000, Econometrica 68, for monotone-response assumptions):

- **A1** (stays below): without the events the app would have stayed below the chart on the window
  days, i.e. its counterfactual log-rank is ``>= c`` (what every pre-period day shows);
- **A2** (no push down): the events did not push the app down the chart on window days on which it
  is still below the chart (effect ``<= 0`` there).

**Window average** (``kind="bound"``, ``side="upper"``): on a ranked window day the effect is
``log r_t - cf_t <= log r_t - c`` (A1); on a censored window day it is ``<= 0`` (A2).  Averaging
over the ``W`` window days with a snapshot,

    window average <= (1/W) * sum over ranked window days of (log r_t - c).

The same bound replaces the forecast of a series whose pre-period is ranked early on but ends with
at least ``max_tail`` days below the chart (MeWe US, Parler GB: a post-election surge that faded out
of the chart): its counterfactual level at the events is only known to exceed ``c``, and the
forecast from the last ranked day, weeks earlier, is the trend's extrapolation (on the demo it
misses the true window average by 2 log-ranks); A1 is what those last days show.  Such a series
also takes the entry path below (its first terms fall on days below the chart, where the censored
AR(1) fit of the whole window is rank deficient).

A series never ranked in the window gets ``not_identified``: its bound would rest on A2 alone and
chart interference (other apps climbing push it down) can break A2 there.

**Entry bound.**  Let the app first be ranked on day ``e`` on or after the first event, and let
term ``k`` be the last event term with its first affected snapshot ``<= e``.  On the days of ``k``'s
segment (``e`` up to the day before the next term) the realised effect of terms ``1..k`` is at most
the segment's mean ``log r_t - c`` (A1): an upper bound on the *cumulative* effect of the terms up to
entry, reported on term ``k``'s row; the earlier terms are ``not_identified`` ("absorbed in the
entry bound").  A decaying term's jump is at most its realised (faded) effect when it is negative,
so the bound also bounds the jumps' sum in that case.

**Terms after entry.**  From day ``e`` on the app is (mostly) ranked, so the jump from one
post-entry segment to the next is identified: the later terms are estimated from a sub-fit of the
post-entry days with the censored AR(1) likelihood (:mod:`analysis.models.engine.censored_ar1`;
intercept, trend, day-of-week, the later terms and, as nuisance columns, the still-varying shape of
decaying pre-entry terms), censoring the days where the app drops out again (and, left-censored
at ``log(1.5)``, days at #1; where a segment is at #1 throughout, the left-censored fit is rank
deficient and the series is refitted with #1 as observed ``log 1``).  The intercept absorbs the
unknown counterfactual plus the cumulative entry effect.  The trend stays in (the engine's
design always has one; a trend-free sub-fit was not compared).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.models.engine import estimate as engine
from analysis.models.events.design import EventDesign, term_rows

TOP = 1.5  # a day at #1 is left-censored at log(1.5) (analysis.models.its.censoring.TOP_THRESHOLD)
MAX_TAIL = 7  # a pre-period ending with this many days below the chart: the entry path too
ASSUMPTIONS = ("A1: without the events the app would have stayed below the chart (counterfactual log-rank "
               ">= log(depth + 0.5)); A2: the events did not push it down on window days it is still below "
               "the chart (Manski 2003 partial identification)")


@dataclass(frozen=True)
class EntryPlan:
    """Where a fully censored series enters the chart: day index ``entry`` (or -1: never) and
    the index of the last term with its first snapshot ``<= entry`` (-1: before the first term)."""

    series: int
    entry: int
    term: int


def censored_tail(flag: np.ndarray, first: int) -> int:
    """Consecutive days below the chart (flag > 0) right before day ``first`` (gaps end the run)."""
    run = 0
    for v in flag[:first][::-1]:
        if v <= 0:
            break
        run += 1
    return run


def entry_plan(Y: np.ndarray, s: int, cutoffs: list[float]) -> EntryPlan:
    """The entry day of series ``s`` (first ranked day on or after the first cutoff) and its term."""
    first = int(cutoffs[0])
    ranked = np.nonzero(~np.isnan(Y[s, first:]))[0]
    if ranked.size == 0:
        return EntryPlan(s, -1, -1)
    e = first + int(ranked[0])
    return EntryPlan(s, e, int(np.searchsorted(np.asarray(cutoffs), e, side="right")) - 1)


def window_bound(logy: np.ndarray, flag: np.ndarray, w0: int, w1: int, threshold: float,
                 why: str = "pre-period (almost) entirely below the chart: no pre-period baseline") -> dict:
    """Upper bound on the window average of one series (1-d arrays on the design grid); ``why``
    opens the reason (why there is no point estimate)."""
    seg, fl = logy[w0:w1 + 1], flag[w0:w1 + 1]
    ranked = ~np.isnan(seg)
    W = int((ranked | (fl != 0)).sum())
    if not ranked.any():
        return {"kind": "not_identified",
                "reason": "pre-period and window entirely below the chart depth: never ranked, so there is no "
                          "point estimate, and a bound would rest on A2 alone (" + ASSUMPTIONS + ")"}
    b = float(np.sum(seg[ranked] - threshold) / W)
    return {"kind": "bound", "side": "upper", "bound": b,
            "reason": f"{why}. Under {ASSUMPTIONS}, "
                      f"the window average is at most (1/W) * sum over the {int(ranked.sum())} ranked of W = {W} "
                      f"window days of (log rank - {threshold:.4g})"}


def entry_bound_rows(plan: EntryPlan, logy: np.ndarray, design: EventDesign, threshold: float) -> list[dict]:
    """Rows of the terms up to entry: the entry bound on term ``plan.term``, the earlier terms
    absorbed.  Terms after entry are not touched here (:func:`post_entry_rows`)."""
    cut = [int(c) for c in design.cutoffs()]
    s = plan.series
    if plan.entry < 0:
        why = "never ranked on or after the first event: entirely below the chart depth"
        return [{"series": s, "event_id": t.id, "estimand": e, "kind": "not_identified", "reason": why}
                for t in design.terms for e in t.estimands]
    k = plan.term
    stop = cut[k + 1] if k + 1 < len(cut) else logy.shape[1]
    seg = logy[s, plan.entry:stop]
    m = float(np.nanmean(seg))
    ids = ", ".join(t.id for t in design.terms[:k + 1])
    rows = []
    for i, t in enumerate(design.terms[:k + 1]):
        for j, e in enumerate(t.estimands):
            if i == k and j == 0:
                rows.append({"series": s, "event_id": t.id, "estimand": e, "kind": "bound", "side": "upper",
                             "bound": m - threshold,
                             "reason": f"entry bound: the app enters the chart on day {plan.entry} after a pre-period "
                                       f"below it (or ending below it); the cumulative effect of the terms up to "
                                       f"entry ({ids}) is at most the mean log rank of the entry segment ({m:.4g}) "
                                       f"minus {threshold:.4g}, under {ASSUMPTIONS}"})
            else:
                rows.append({"series": s, "event_id": t.id, "estimand": e, "kind": "not_identified",
                             "reason": f"absorbed in the entry bound of {design.terms[k].id} (the app was below "
                                       "the chart before it)"})
    return rows


def post_entry_fit(logy: np.ndarray, flag: np.ndarray, threshold: float, members: list[int], entry: int,
                   k: int, design: EventDesign, weekday: np.ndarray, model: engine.ModelSpec,
                   top_coded: bool = True) -> tuple[engine.GridFit, list[int]] | None:
    """Censored AR(1) fit of the days from ``entry`` for the series ``members`` (same entry term
    ``k``); returns the fit and the indices of the reported (later) terms, or None without any.
    ``top_coded=False`` treats days at #1 as observed ``log 1`` (the fallback when a segment is at
    #1 throughout and its level is not located by the left-censored likelihood)."""
    T = logy.shape[1]
    cut = design.cutoffs()
    later = [i for i in range(k + 1, len(cut)) if cut[i] < T]
    if not later:
        return None
    nuisance = [i for i in range(k + 1) if design.terms[i].shape.kind != "step"]
    cols = nuisance + later
    idx = np.array(members)
    top = (logy[idx] == 0.0) & top_coded  # rank 1: left-censored, latent log-rank < log(1.5)
    y = np.where(flag[idx] > 0, threshold, np.where(top, np.log(TOP), logy[idx]))[:, entry:]
    fl = np.where(top, -1.0, flag[idx])[:, entry:]
    g = engine.fit_grid(y, np.arange(entry, T, dtype=float), [cut[i] for i in cols], model,
                        labels=[design.terms[i].id for i in cols], weekday=weekday[entry:],
                        flag=fl if model.censored else None, impacts=[design.terms[i].shape for i in cols],
                        name_all=True)
    return g, later


def entry_rows(logy: np.ndarray, flag: np.ndarray, series: list[int], design: EventDesign, weekday: np.ndarray,
               threshold: float, model: engine.ModelSpec, fits: list | None = None
               ) -> tuple[list[dict], dict[int, float]]:
    """Rows of every term for the fully censored ``series``: entry bounds, absorbed terms, and
    the post-entry sub-fit's estimates (or ``not_identified`` with its reason); rho-hat per series.
    ``fits``: a list to which each sub-fit is appended as (series indices, fit)."""
    cut = design.cutoffs()
    plans = [entry_plan(logy, s, cut) for s in series]
    rows: list[dict] = []
    rho: dict[int, float] = {}
    groups: dict[tuple[int, int], list[int]] = {}
    for pl_ in plans:
        rows += entry_bound_rows(pl_, logy, design, threshold)
        if pl_.entry >= 0:
            groups.setdefault((pl_.entry, pl_.term), []).append(pl_.series)
    for (entry, k), members in groups.items():
        for top_coded in (True, False):
            res = post_entry_fit(logy, flag, threshold, members, entry, k, design, weekday, model, top_coded)
            if res is None:
                break
            g, later = res
            done = [j for j in range(len(members)) if g.fit.ok[j] or not top_coded]
            rows += term_rows(g, design, later, np.array(members))
            if fits is not None:
                fits.append((np.array(members), g))
            for j in done:
                s = members[j]
                if g.fit.ok[j]:
                    rho[s] = float(g.fit.extra["rho"][j]) if "rho" in g.fit.extra else np.nan
                    continue
                why = f"post-entry sub-fit failed: {g.fit.reason[j] or 'not estimable'}"
                rows += [{"series": s, "event_id": design.terms[i].id, "estimand": e, "kind": "not_identified",
                          "reason": why} for i in later for e in design.terms[i].estimands]
            members = [m for j, m in enumerate(members) if j not in done]
            if not members:
                break
    return rows, rho
