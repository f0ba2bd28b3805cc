"""Per-event fits of chart-rank series: one term per registry event, plus a window average.

Every series (app x country x store) of a panel is fitted with the per-event design of
:mod:`analysis.models.events.design`: intercept, trend, day-of-week terms and, for each event term,
a level change at its first affected snapshot (plus a slope change or a decaying level where
declared), with AR(1) errors by exact ML by default (:mod:`analysis.models.engine.ar`).  All series are
fitted with the batched engine (:func:`analysis.models.engine.estimate.fit_grid`); series whose values end
before an event (a store removal) are fitted without the terms they cannot inform, and those
terms are reported as ``not_identified`` with the reason.  Series with days below the chart depth
(``status == "censored"`` in a :func:`analysis.data.censoring.complete_daily` panel) are fitted
with ``ModelSpec(censored=True, errors="ar1")``, the censored AR(1) likelihood.  Series whose
pre-period is (almost) entirely below the chart, or ends with ``MAX_TAIL`` days below it, are
partially identified (:mod:`analysis.models.events.bounds`: window-average and entry bounds under
stated assumptions, the terms after the app enters the chart from a post-entry censored AR(1)
sub-fit); coverage against the demo truth: :mod:`analysis.models.checks.truth_eval`.

Next to the per-event terms each series gets the window-average effect against a counterfactual
fitted on the pre-period only (:mod:`analysis.models.events.window`), and two warnings about
unmodelled breaks (diagnostics and the Lopez Bernal checklist): rho-hat at its bound
(>= ``RHO_AT_BOUND``), and the full-window rho-hat exceeding the pre-period-only rho-hat by more
than ``RHO_JUMP`` (breaks the design does not model push rho towards 1).

The output is the *Effects frame*, one row per series, event term and estimand: :data:`EFFECTS_SCHEMA`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl

from analysis.models.engine import estimate as engine
from analysis.models.events.bounds import MAX_TAIL, censored_tail, entry_rows, window_bound
from analysis.models.events.design import EventDesign, term_rows
from analysis.models.events.window import window_average

KEYS = ("app_name", "country", "store")
RHO_AT_BOUND = 0.98  # the optimiser's upper bound is analysis.models.engine.ar.RHO_BOUNDS[1] = 0.995
RHO_JUMP = 0.2
EFFECTS_SCHEMA = {
    "app_name": pl.String, "country": pl.String, "store": pl.String, "event_id": pl.String,
    "estimand": pl.String, "kind": pl.String, "estimate": pl.Float64, "se": pl.Float64,
    "ci_low": pl.Float64, "ci_high": pl.Float64, "side": pl.String, "bound": pl.Float64,
    "reason": pl.String, "window_start": pl.Date, "window_end": pl.Date, "best_rank": pl.Int64,
}


@dataclass
class EventFit:
    """Effects frame (contract), per-series diagnostics and the design that was fitted."""

    effects: pl.DataFrame
    diagnostics: pl.DataFrame  # app_name, country, store, n, n_pre, rho, rho_pre, censored, warnings
    design: EventDesign
    # What linear combinations of the coefficients need (analysis.models.events.attribution): the
    # series keys (row ``series`` = index), the raw values and censoring flags on the design grid,
    # and every engine fit with the series it covers (entry sub-fits included, grid from entry).
    keys: pl.DataFrame = field(default_factory=pl.DataFrame)
    values: np.ndarray | None = None
    flag: np.ndarray | None = None
    fits: list[tuple[np.ndarray, engine.GridFit]] = field(default_factory=list)
    entry: tuple[int, ...] = ()  # series on the entry path (analysis.models.events.bounds)


def series_grid(panel: pl.DataFrame, design: EventDesign, value: str = "rank", keys: tuple[str, ...] = KEYS
                ) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """(keys, raw values (S, T) with NaN where unknown, censoring flags (S, T): +1 below the chart).

    ``status`` (from ``complete_daily``) marks censored days; without it missing days are gaps.
    """
    days = pl.date_range(design.start, design.end, "1d", eager=True)
    win = panel.filter(pl.col("date").is_between(design.start, design.end))
    keydf = win.select(keys).unique().sort(list(keys)).with_row_index("series")
    win = win.join(keydf, on=list(keys)).with_columns(
        (pl.col("date") - pl.lit(design.start)).dt.total_days().alias("_t"))
    S, T = keydf.height, days.len()
    Y = np.full((S, T), np.nan)
    ranked = win.filter(pl.col(value).is_not_null())
    Y[ranked["series"].to_numpy(), ranked["_t"].to_numpy()] = ranked[value].cast(pl.Float64).to_numpy()
    flag = np.zeros((S, T))
    if "status" in win.columns:
        cens = win.filter(pl.col("status") == "censored")
        flag[cens["series"].to_numpy(), cens["_t"].to_numpy()] = 1.0
    return keydf, Y, flag


def _censored_model(seasonality: str, alpha: float) -> tuple[engine.ModelSpec, str]:
    """The censored AR(1) model (the engine's interface); a note if only a fallback exists."""
    try:
        return engine.ModelSpec("step", seasonality, "ar1", transform="log", censored=True, alpha=alpha), ""
    except ValueError as exc:  # an engine without the censored AR(1) likelihood
        note = f"censored AR(1) unavailable ({exc}); censored likelihood with HAC errors"
        return engine.ModelSpec("step", seasonality, "hac", transform="log", censored=True, alpha=alpha), note


def _fit_group(y: np.ndarray, flag: np.ndarray | None, design: EventDesign, kept: list[int],
               model: engine.ModelSpec, weekday: np.ndarray) -> engine.GridFit:
    cut = design.cutoffs()
    return engine.fit_grid(y, np.arange(y.shape[1], dtype=float), [cut[i] for i in kept], model,
                           labels=[design.terms[i].id for i in kept], weekday=weekday, flag=flag,
                           impacts=[design.terms[i].shape for i in kept], name_all=True)


def _unlocated(y: np.ndarray, cut: np.ndarray, kept: tuple[int, ...]) -> tuple[int, ...]:
    """Kept terms whose segment (its cutoff up to the next cutoff) has no day with a value: every
    day censored or a gap (e.g. a one-day event segment below the chart).  Their level is not
    located, and fitting them makes the design rank deficient and drops the whole series."""
    edges = [int(c) for c in cut] + [y.size]
    ranked = ~np.isnan(y)
    return tuple(i for i in kept if not ranked[edges[i]:edges[i + 1]].any())


def _absorbed(design: EventDesign, kept: tuple[int, ...], hidden: tuple[int, ...]) -> tuple[dict, dict]:
    """Reasons for terms left out because their segment has no value (:func:`_unlocated`), and
    for the next fitted term, whose level change then spans theirs too (cumulative)."""
    gone, into = {}, {}
    for i in hidden:
        nxt = next((j for j in kept if j > i), None)
        t = design.terms[i]
        tail = (f"; its change is absorbed in the row of {design.terms[nxt].id}" if nxt is not None
                else "; no later term")
        gone[i] = (f"no day with a value from its first affected snapshot {t.first_snapshot} to the next term (every "
                   f"day censored or missing): its level is not located{tail}")
        if nxt is not None:
            into.setdefault(nxt, []).append(t.id)
    recv = {j: f"cumulative change of {', '.join(ids)} and {design.terms[j].id} (the segment of {', '.join(ids)} "
               "has no day with a value)" for j, ids in into.items()}
    return gone, recv


def _plan(Y: np.ndarray, flag: np.ndarray, design: EventDesign, min_pre: int
          ) -> tuple[dict[tuple[bool, tuple[int, ...], tuple[int, ...]], list[int]], dict[int, str], list[int]]:
    """Group series by (censored, identifiable terms, terms absorbed because their segment has no
    value); series that cannot be fitted, with reasons;
    series whose pre-period is (almost) entirely below the chart (fewer than ``min_pre`` ranked
    pre-period days, some censored) or ends with ``MAX_TAIL`` or more days below it: partial
    identification (:mod:`analysis.models.events.bounds`)."""
    cut = np.array(design.cutoffs())
    T = Y.shape[1]
    has = ~np.isnan(Y) | (flag != 0)
    groups: dict[tuple[bool, tuple[int, ...]], list[int]] = {}
    bad: dict[int, str] = {}
    entry: list[int] = []
    for s in range(Y.shape[0]):
        obs = np.nonzero(has[s])[0]
        n_pre = int((obs < cut[0]).sum())
        n_ranked_pre = int((~np.isnan(Y[s, : int(cut[0])])).sum())
        if (n_ranked_pre < min_pre and flag[s, : int(cut[0])].any()) or censored_tail(flag[s], int(cut[0])) >= MAX_TAIL:
            entry.append(s)
            continue
        if n_pre < min_pre:
            bad[s] = f"{n_pre} pre-period days with a rank or a censored value (need {min_pre})"
            continue
        if (~np.isnan(Y[s])).sum() == 0:
            bad[s] = "never ranked in the window: entirely below the chart depth"
            continue
        kept = tuple(i for i, c in enumerate(cut) if obs.size and obs.max() >= c and c < T)
        hidden = _unlocated(Y[s], cut, kept)
        kept = tuple(i for i in kept if i not in hidden)
        if not kept:
            bad[s] = "no day with a value on or after the first event"
            continue
        groups.setdefault((bool(flag[s].any()), kept, hidden), []).append(s)
    return groups, bad, entry


def fit_events(panel: pl.DataFrame, design: EventDesign, *, errors: str = "ar1", seasonality: str = "dow",
               alpha: float = 0.05, min_pre: int = 14, window_days: int = 14, chart_depth: int = 200,
               value: str = "rank", transform: str = "log", threshold: float | None = None) -> EventFit:
    """Fit every (app, country, store) series of ``panel`` (``date``, ``value`` = rank, optional
    ``status``) with one term per event of ``design``; the window average covers ``window_days``
    days from the first event.  Every series gets rows: estimates, or ``not_identified`` with a reason.
    ``transform="none"``: ``value`` is on the modelling scale already (a log-rank contrast).
    ``threshold``: the censoring threshold on the modelling scale (default ``log(chart_depth + 0.5)``;
    ``exodus fit --censored-above`` passes its own).
    """
    keydf, Y, flag = series_grid(panel, design, value)
    days = pl.date_range(design.start, design.end, "1d", eager=True)
    weekday = days.dt.weekday().to_numpy()
    logy = engine.transform_outcome(Y, transform)
    threshold = float(np.log(chart_depth + 0.5)) if threshold is None else float(threshold)
    cens_y = np.where(flag > 0, threshold, logy)
    groups, bad, entry = _plan(Y, flag, design, min_pre)
    rows: list[dict] = []
    rho = np.full(keydf.height, np.nan)
    warn_fit: dict[int, str] = {}
    notes: dict[int, str] = {}
    fits: list[tuple[np.ndarray, engine.GridFit]] = []
    if entry:
        e_rows, e_rho = entry_rows(logy, flag, entry, design, weekday, threshold,
                                   _censored_model(seasonality, alpha)[0], fits=fits)
        rows += e_rows
        for s, r in e_rho.items():
            rho[s] = r
    for (censored, kept, hidden), members in groups.items():
        idx = np.array(members)
        if censored:
            model, note = _censored_model(seasonality, alpha)
            g = _fit_group(cens_y[idx], flag[idx], design, list(kept), model, weekday)
        else:
            model, note = engine.ModelSpec("step", seasonality, errors, transform=transform, alpha=alpha), ""
            g = _fit_group(logy[idx], None, design, list(kept), model, weekday)
        gone, recv = _absorbed(design, kept, hidden)
        rows += [r | ({"reason": recv[design.terms.index(design.term(r["event_id"]))]}
                      if design.terms.index(design.term(r["event_id"])) in recv else {})
                 for r in term_rows(g, design, list(kept), idx)]
        fits.append((idx, g))
        for j, s in enumerate(idx):
            if not g.fit.ok[j]:
                bad[int(s)] = g.fit.reason[j] or "not estimable"
            elif "rho" in g.fit.extra:
                rho[s] = g.fit.extra["rho"][j]
            notes[int(s)] = note
        for i, term in enumerate(design.terms):
            if i not in kept:
                for s in idx:
                    rows += [{"series": int(s), "event_id": term.id, "estimand": e, "kind": "not_identified",
                              "reason": gone.get(i, "no day with a value on or after its first affected snapshot "
                                                 f"{term.first_snapshot} (the series ends: e.g. a store removal)")}
                             for e in term.estimands]
        warn_fit.update({int(s): w for s, w in zip(idx, engine.warnings_for(g, engine.diagnostics_arrays(g))
                                                   if g.fit.ok.any() else [""] * len(idx), strict=True)})
    for s, why in bad.items():
        rows = [r for r in rows if r["series"] != s]
        rows += [{"series": s, "event_id": t.id, "estimand": e, "kind": "not_identified", "reason": why}
                 for t in design.terms for e in t.estimands]
    w_start = design.first_event
    w_end = min(design.end, w_start + timedelta(days=window_days - 1))
    wa_rows, rho_pre = _window_rows(logy, flag, design, weekday, alpha, min_pre, w_start, w_end, set(entry),
                                    threshold)
    effects = _assemble(rows + wa_rows, keydf, Y if transform == "log" else np.full_like(Y, np.nan), design,
                        w_start, w_end)
    diag = _diagnostics(keydf, Y, flag, design, rho, rho_pre, warn_fit, notes, bad)
    return EventFit(effects, diag, design, keydf, Y, flag, fits, tuple(entry))


def _window_rows(logy: np.ndarray, flag: np.ndarray, design: EventDesign, weekday: np.ndarray, alpha: float,
                 min_pre: int, w_start: date, w_end: date, entry: set[int], threshold: float,
                 max_tail: int = MAX_TAIL) -> tuple[list[dict], np.ndarray]:
    """Window-average rows: estimates (censored pre-period days through the censored AR(1)
    baseline), or the partial-identification bound of series below the chart in the pre-period."""
    first = float((design.first_event - design.start).days)
    w0, w1 = int((w_start - design.start).days), int((w_end - design.start).days)
    wa = window_average(logy, np.arange(logy.shape[1], dtype=float), first, (float(w0), float(w1)), weekday,
                        alpha=alpha, min_pre=min_pre, flag=flag, threshold=threshold)
    rows = []
    for s in range(logy.shape[0]):
        tail = censored_tail(flag[s], int(first))
        if s in entry:
            why = {} if tail < max_tail or (~np.isnan(logy[s, : int(first)])).sum() < min_pre else {
                "why": f"the pre-period ends with {tail} days below the chart (>= {max_tail}): the level at the "
                       "events is not located and a forecast would extrapolate the trend from the last ranked day"}
            b = window_bound(logy[s], flag[s], w0, w1, threshold, **why)
            rows.append({"series": s, "event_id": None, "estimand": "window_average", **b})
        elif wa.ok[s]:
            rows.append({"series": s, "event_id": None, "estimand": "window_average", "kind": "estimate",
                         "estimate": wa.estimate[s], "se": wa.se[s], "ci_low": wa.ci_low[s], "ci_high": wa.ci_high[s],
                         "reason": wa.reason[s] or None})
        else:
            rows.append({"series": s, "event_id": None, "estimand": "window_average", "kind": "not_identified",
                         "reason": wa.reason[s]})
    return rows, np.where(wa.ok, wa.rho_pre, np.nan)


def _assemble(rows: list[dict], keydf: pl.DataFrame, Y: np.ndarray, design: EventDesign,
              w_start: date, w_end: date) -> pl.DataFrame:
    """Rows -> the contract's Effects frame, with the best observed rank from each term's date."""
    df = pl.DataFrame(rows, schema={"series": pl.Int64, **{k: v for k, v in EFFECTS_SCHEMA.items()
                                                              if k not in (*KEYS, "window_start", "window_end",
                                                                           "best_rank")}})
    first = {t.id: (t.first_snapshot - design.start).days for t in design.terms}
    w0, w1 = (w_start - design.start).days, (w_end - design.start).days
    best = []
    for s, ev in zip(df["series"].to_list(), df["event_id"].to_list(), strict=True):
        seg = Y[s, w0:w1 + 1] if ev is None else Y[s, first[ev]:]
        best.append(int(np.nanmin(seg)) if np.isfinite(seg).any() else None)
    df = df.with_columns(
        pl.Series("best_rank", best, dtype=pl.Int64),
        pl.when(pl.col("estimand") == "window_average").then(pl.lit(w_start)).otherwise(None).alias("window_start"),
        pl.when(pl.col("estimand") == "window_average").then(pl.lit(w_end)).otherwise(None).alias("window_end"),
    )
    keys = keydf.with_columns(pl.col("series").cast(pl.Int64))
    order = {t.id: i for i, t in enumerate(design.terms)}
    return (df.join(keys, on="series")
            .with_columns(pl.col("event_id").replace_strict(order, default=len(order), return_dtype=pl.Int64)
                          .alias("_o"))
            .sort([*KEYS, "_o", "estimand"]).select(list(EFFECTS_SCHEMA)))


def _diagnostics(keydf: pl.DataFrame, Y: np.ndarray, flag: np.ndarray, design: EventDesign, rho: np.ndarray,
                 rho_pre: np.ndarray, warn_fit: dict[int, str], notes: dict[int, str],
                 bad: dict[int, str]) -> pl.DataFrame:
    first = int((design.first_event - design.start).days)
    out = []
    for s in range(keydf.height):
        w = [x for x in (warn_fit.get(s, ""), notes.get(s, "")) if x]
        w += rho_warnings(float(rho[s]), float(rho_pre[s]))
        out.append({"series": s, "n": int((~np.isnan(Y[s]) | (flag[s] != 0)).sum()),
                    "n_pre": int((~np.isnan(Y[s, :first]) | (flag[s, :first] != 0)).sum()),
                    "n_censored": int((flag[s] != 0).sum()), "rho": float(rho[s]), "rho_pre": float(rho_pre[s]),
                    "fitted": s not in bad, "warnings": "; ".join(w)})
    df = pl.DataFrame(out).with_columns(pl.col("rho", "rho_pre").fill_nan(None))
    return keydf.with_columns(pl.col("series").cast(pl.Int64)).join(df, on="series").drop("series")


def rho_warnings(rho: float, rho_pre: float) -> list[str]:
    """Unmodelled-break warnings: rho-hat at its bound, or well above the pre-period-only rho-hat."""
    w = []
    if np.isfinite(rho) and rho >= RHO_AT_BOUND:
        w.append(f"rho-hat = {rho:.3f} is at its bound (>= {RHO_AT_BOUND}): the errors behave like a random "
                 "walk, the level changes are identified from the days next to each cutoff only")
    if np.isfinite(rho) and np.isfinite(rho_pre) and rho - rho_pre > RHO_JUMP:
        w.append(f"full-window rho-hat {rho:.2f} exceeds the pre-period-only rho-hat {rho_pre:.2f} by more than "
                 f"{RHO_JUMP}: unmodelled breaks (events or shapes the design lacks) are absorbed by the errors")
    return w
