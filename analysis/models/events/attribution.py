"""Attributable contrasts: how much of each series' change each group of events caused.

The question asks for the deplatformings' contribution *net of* the privacy shock (the WhatsApp
notice, Musk's tweet, the WhatsApp delay).  The per-event model (:mod:`analysis.models.events.fit`)
fits one term per event (merged where daily data cannot separate them):

    y_t = x_t' b + sum_k z_k(t)' beta_k + u_t,   u_t AR(1) (or the censored AR(1) likelihood),

with ``z_k(t)`` the columns of term ``k`` (a step ``1{t >= c_k}``, a decaying level, a slope).
The contribution of a group ``G`` of terms over the answer's window ``W`` (the window-average
window: ``window_days`` from the first event; the days with a value, observed or below the chart)
is the fitted path minus the counterfactual with ``G``'s terms switched off, averaged over ``W``:

    C_G = (1/|W|) sum_{t in W} sum_{k in G} z_k(t)' beta_k = L_G' beta,
    L_G = (1/|W|) sum_{t in W} (the design row at t, zero outside G's columns),

a linear combination of the coefficients, so ``Var(C_G) = L_G' Sigma L_G`` with ``Sigma`` the
fit's coefficient covariance under its error model (GLS at rho-hat for AR(1); the composite
information for the censored AR(1)), and the interval uses the fit's own reference distribution
(t with the fit's residual df).  Intervals are never added: the covariance between terms enters.
The groups partition the terms, so the groups' contributions add up to ``all_events`` (every
term).  Scale: the outcome's modelling scale (log rank; log views).

Bounds carry through.  A series on the entry path (:mod:`analysis.models.events.bounds`: its
pre-period lies below the chart) has its terms up to entry *absorbed* in one entry bound, and the
later terms estimated from a post-entry sub-fit.  For a group:

- none of its terms absorbed: ``L_G' beta`` of the sub-fit (the later terms' columns are zero
  before entry, the window's pre-entry days still count in ``|W|``);
- every absorbed term in the group: a bound, from the window-average bound ``B`` of all events
  (``C_all <= B`` under A1/A2 of :mod:`analysis.models.events.bounds`) minus the other groups'
  contributions (estimated from the sub-fit): ``C_G <= B - lower limit of C_rest`` (conservative:
  the one-sided ``1 - alpha/2`` limit; an upper bound; a lower bound mirrors it);
- absorbed terms of the group together with absorbed terms of another group: ``not_identified``,
  the reason naming them.

A merged term whose events belong to different groups (``X04+X05`` with an override moving one
of them) is never split: every group it touches is ``not_identified`` and the term's own
contribution is a row of its own, group ``mixed:<term id>``.

The truth (synthetic demo): :func:`group_truth` re-ranks the generator's world with the group's
terms switched off, exactly as :func:`analysis.data.demo.truth.window_effects` does for all events.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import numpy as np
import polars as pl

from analysis.data.events import GROUPS
from analysis.models.engine.estimate import GridFit
from analysis.models.events.fit import KEYS, EventFit

ALL = "all_events"
GROUP_ORDER = (*GROUPS, ALL)
CONTRAST_SCHEMA = {
    "app_name": pl.String, "country": pl.String, "store": pl.String, "group": pl.String, "kind": pl.String,
    "estimate": pl.Float64, "se": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "side": pl.String,
    "terms": pl.String, "reason": pl.String, "window_start": pl.Date, "window_end": pl.Date,
}


def parse_groups(items: list[str]) -> dict[str, str]:
    """``["X03:other", "X09:privacy_shock"]`` -> ``{"X03": "other", ...}``; ValueError names the bad item
    (format or unknown group; unknown event ids are checked against the registry by
    :func:`analysis.data.events.event_groups`)."""
    out: dict[str, str] = {}
    for item in items:
        eid, sep, group = (x.strip() for x in item.partition(":"))
        if not sep or not eid or not group:
            raise ValueError(f"groups item {item!r} is not EVENT_ID:GROUP (e.g. X03:other)")
        if group not in GROUPS:
            raise ValueError(f"groups item {item!r}: unknown group {group!r}; expected one of {tuple(GROUPS)}")
        if eid in out:
            raise ValueError(f"groups: event {eid!r} is given twice")
        out[eid] = group
    return out


def term_groups(fit: EventFit, groups: pl.DataFrame) -> dict[str, tuple[str, ...]]:
    """The groups of each term's events (one group, or several for a merge that mixes groups)."""
    of = dict(groups.select("event_id", "group").iter_rows())
    return {t.id: tuple(dict.fromkeys(of[e] for e in t.events)) for t in fit.design.terms}


def _window(fit: EventFit, window_days: int) -> tuple[int, int]:
    d = fit.design
    w0 = (d.first_event - d.start).days
    return w0, min((d.end - d.start).days, w0 + window_days - 1)


def fit_of(fit: EventFit, s: int) -> tuple[int, GridFit] | None:
    """(row j, GridFit) of the fit that estimated series ``s`` (the last one where it is ok)."""
    found = None
    for idx, g in fit.fits:
        hit = np.nonzero(idx == s)[0]
        if hit.size and g.fit.ok[hit[0]]:
            found = (int(hit[0]), g)
    return found


def _contrast(g: GridFit, j: int, days: np.ndarray, cols: list[int], positions: bool = False
              ) -> tuple[float, float, float]:
    """(estimate, se, critical value) of the mean over ``days`` (grid days) of the columns ``cols``.

    ``positions``: the outcome is a log chart position, so the standard error adds the rounding
    term of :func:`position_rounding_sd` to the coefficients' part."""
    t0 = int(g.t[0])
    inside = days[(days >= t0) & (days < t0 + g.t.size)] - t0
    L = np.zeros(g.design.X.shape[1])
    if inside.size and cols:
        L[cols] = g.design.X[inside][:, cols].sum(axis=0)
    L /= days.size
    est = float(L @ g.fit.beta[j])
    var = max(L @ g.fit.cov[j] @ L, 0.0)
    if positions and inside.size and cols:
        X = g.design.X[inside]
        fitted = X @ g.fit.beta[j]
        var += (position_rounding_sd(fitted, fitted - X[:, cols] @ g.fit.beta[j][cols]).sum() / days.size) ** 2
    return est, float(np.sqrt(var)), float(g.crit()[j])


def position_rounding_sd(log_with: np.ndarray, log_without: np.ndarray) -> np.ndarray:
    """Per day, the root-mean-square error that rounding to whole chart positions adds to a contrast
    ``log rank(with) - log rank(without)`` of two worlds at fitted log positions ``log_with`` and
    ``log_without``.

    A chart position is an integer: the app's continuous (virtual) rank ``v`` rounded, with an
    offset uniform on (-1/2, 1/2) (Sheppard 1898, "On the calculation of the most probable values of
    frequency-constants for data arranged according to equidistant divisions of a scale", Proc.
    London Math. Soc. 29), and floored at #1.  The model fits the continuous log rank; the
    contrast's truth compares two rounded positions.  Two worlds less than one place apart share
    the offset (they round together: zero error when they coincide); further apart their offsets
    are taken as independent.  The mean square of ``log round(v1) - log round(v0) - log(v1 / v0)``
    over the offsets is computed exactly enough by a 32-point midpoint rule.  Near the top of a
    chart it is not negligible (rank 3 against 4: about 0.1), far below it vanishes (rank 150:
    0.003).  The window average treats the days' rounding errors as perfectly correlated (a
    position persists while the latent rank moves within one place): the daily values are
    averaged, not their squares, a conservative choice."""
    u = (np.arange(32) + 0.5) / 32 - 0.5
    lv1, lv0 = np.asarray(log_with, float)[..., None], np.asarray(log_without, float)[..., None]

    def err(lv: np.ndarray) -> np.ndarray:  # log of the rounded position minus the log virtual rank
        return np.log(np.maximum(np.floor(np.exp(lv) + u + 0.5), 1.0)) - lv

    e1, e0 = err(lv1), err(lv0)
    common = ((e1 - e0) ** 2).mean(axis=-1)
    apart = (e1 ** 2).mean(-1) + (e0 ** 2).mean(-1) - 2 * e1.mean(-1) * e0.mean(-1)
    near = np.abs(np.exp(lv1) - np.exp(lv0))[..., 0] < 1.0
    return np.sqrt(np.where(near, common, apart))


def _cols(g: GridFit, term_ids: list[str]) -> list[int]:
    """Design columns of the terms ``term_ids`` (named ``ESTIMAND@TERM`` by the engine)."""
    return [i for i, n in enumerate(g.design.names) if any(n.endswith(f"@{t}") for t in term_ids)]


def _weighted(fit: EventFit, days: np.ndarray, last: int) -> list[str]:
    """Terms with a non-zero weight in the window: first snapshot on or before the last day used."""
    cut = fit.design.cutoffs()
    return [t.id for t, c in zip(fit.design.terms, cut, strict=True) if days.size and c <= last]


def _estimate(g: GridFit, j: int, days: np.ndarray, term_ids: list[str], note: str = "",
              positions: bool = False) -> dict:
    """An estimate row: the window contrast of ``term_ids`` with its interval (``note``: reason)."""
    est, se, q = _contrast(g, j, days, _cols(g, term_ids), positions)
    return {"kind": "estimate", "estimate": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se,
            "terms": ", ".join(term_ids), "reason": note or None}


def _targets(tg: dict[str, tuple[str, ...]], weighted: list[str]) -> dict[str, list[str]]:
    """Group (or ``mixed:<term>``) -> its weighted terms; ``all_events`` -> every weighted term."""
    out: dict[str, list[str]] = {g: [t for t in weighted if tg[t] == (g,)] for g in GROUPS}
    out[ALL] = list(weighted)
    out |= {f"mixed:{t}": [t] for t in weighted if len(tg[t]) > 1}
    return out


def _mixed_reason(tg: dict[str, tuple[str, ...]], weighted: list[str], group: str) -> str | None:
    mixed = [t for t in weighted if len(tg[t]) > 1 and group in tg[t]]
    if not mixed:
        return None
    return (f"the merged term{'s' if len(mixed) > 1 else ''} {', '.join(mixed)} join events of the groups "
            f"{', '.join(sorted({g for t in mixed for g in tg[t]}))} (same first affected snapshot): daily data "
            f"cannot split {'them' if len(mixed) > 1 else 'it'}; see the row{'s' if len(mixed) > 1 else ''} "
            + ", ".join(f"mixed:{t}" for t in mixed))


def _entry_row(fit: EventFit, s: int, days: np.ndarray, tg, weighted, group: str, terms: list[str],
               effects: pl.DataFrame, positions: bool = False) -> dict:
    """A group's row for a series on the entry path (module docstring)."""
    from analysis.models.events.bounds import entry_plan

    with np.errstate(divide="ignore", invalid="ignore"):
        logy = np.log(fit.values)
    plan = entry_plan(logy, s, fit.design.cutoffs())
    key = dict(zip(KEYS, fit.keys.row(s)[1:], strict=True))
    mine = effects.filter(*[pl.col(k) == v for k, v in key.items()])
    if plan.entry < 0:
        why = mine.filter(pl.col("kind") == "not_identified")["reason"].to_list()
        return {"kind": "not_identified", "terms": ", ".join(terms), "reason": why[0] if why else "never ranked"}
    absorbed = [t.id for t in fit.design.terms[: plan.term + 1] if t.id in weighted]
    found = fit_of(fit, s)
    in_g = [t for t in absorbed if t in terms]
    if not in_g:
        if found is None:
            return {"kind": "not_identified", "terms": ", ".join(terms),
                    "reason": "the post-entry sub-fit failed, so the terms after entry are not estimated"}
        return _estimate(found[1], found[0], days, terms, positions=positions)
    if len(in_g) < len(absorbed) or (group != ALL and any(len(tg[t]) > 1 for t in in_g)):
        others = ", ".join(f"{t} ({'+'.join(tg[t])})" for t in absorbed if t not in in_g)
        return {"kind": "not_identified", "terms": ", ".join(terms),
                "reason": f"{', '.join(in_g)} {'is' if len(in_g) == 1 else 'are'} absorbed with {others} "
                          f"in the entry bound of {absorbed[-1]}: the app was below the chart "
                          "before entering it, so the data do not separate them"}
    wa = mine.filter(pl.col("estimand") == "window_average", pl.col("kind") == "bound")
    rest = [t for t in weighted if t not in terms]
    if wa.height == 0 or (rest and found is None):
        return {"kind": "not_identified", "terms": ", ".join(terms),
                "reason": "no window-average bound (or no post-entry sub-fit) for the series"}
    b, side = float(wa["bound"][0]), wa["side"][0]
    lo = hi = 0.0
    if rest:
        r = _estimate(found[1], found[0], days, rest, positions=positions)
        lo, hi = r["ci_low"], r["ci_high"]
    bound = b - lo if side == "upper" else b - hi
    return {"kind": "bound", "side": side, "estimate": bound, "terms": ", ".join(terms),
            "ci_low": bound if side == "lower" else None, "ci_high": bound if side == "upper" else None,
            "reason": f"{'upper' if side == 'upper' else 'lower'} bound: the window-average bound of all events "
                      f"({b:.3g}, under the entry assumptions A1/A2)"
                      + (f" minus the interval limit of the other terms ({', '.join(rest)})" if rest else "")}


def contrasts(fit: EventFit, groups: pl.DataFrame, window_days: int = 14, positions: bool = False) -> pl.DataFrame:
    """One row per series x group (``deplatforming``, ``privacy_shock``, ``other``, ``all_events``,
    plus ``mixed:<term>`` for merges that mix groups): the contribution over the window with its
    interval, a bound, or ``not_identified`` with the reason (see the module docstring).

    ``groups``: :func:`analysis.data.events.event_groups` (``event_id``, ``group``).
    ``positions``: the outcome is a chart position (app-store or pageview-chart rank), so each
    interval carries the rounding to whole positions (:func:`position_rounding_sd`).
    """
    tg = term_groups(fit, groups)
    w0, w1 = _window(fit, window_days)
    d0 = fit.design.start
    has = ~np.isnan(fit.values) | (fit.flag != 0)
    entry_series = set(fit.entry)
    reasons = _not_fitted(fit.effects)
    rows = []
    for s in range(fit.keys.height):
        days = np.nonzero(has[s, w0:w1 + 1])[0] + w0
        weighted = _weighted(fit, days, int(days.max()) if days.size else -1)
        key = dict(zip(KEYS, fit.keys.row(s)[1:], strict=True))
        for group, terms in _targets(tg, weighted).items():
            mixed = _mixed_reason(tg, weighted, group) if group in GROUPS else None
            if mixed:
                row = {"kind": "not_identified", "terms": ", ".join(terms), "reason": mixed}
            elif not days.size:
                row = {"kind": "not_identified", "reason": "no day with a value in the window"}
            elif s in entry_series:
                row = _entry_row(fit, s, days, tg, weighted, group, terms, fit.effects, positions)
            elif (found := fit_of(fit, s)) is not None:
                row = _estimate(found[1], found[0], days, terms,
                                "" if terms else "no event of this group in the window: no contribution", positions)
            else:
                row = {"kind": "not_identified", "terms": ", ".join(terms),
                       "reason": reasons.get(tuple(key.values()), "not estimable")}
            rows.append({**key, "group": group, **row, "window_start": d0 + timedelta(days=w0),
                         "window_end": d0 + timedelta(days=w1)})
    return pl.DataFrame(rows, schema=CONTRAST_SCHEMA).with_columns(
        pl.col("group").replace_strict({g: i for i, g in enumerate(GROUP_ORDER)}, default=len(GROUP_ORDER),
                                       return_dtype=pl.Int64).alias("_o")).sort(*KEYS, "_o", "group").drop("_o")


def _not_fitted(effects: pl.DataFrame) -> dict[tuple, str]:
    ni = effects.filter(pl.col("kind") == "not_identified", pl.col("event_id").is_not_null())
    return {tuple(r[:3]): r[3] for r in ni.select(*KEYS, "reason").unique(list(KEYS), keep="first").iter_rows()}


def group_truth(demo, groups: pl.DataFrame, window: tuple[date, date], term_ids: Mapping[str, tuple[str, ...]]
                ) -> pl.DataFrame:
    """The demo's truth of every contrast (SYNTHETIC): per series and group, the mean over the
    window days with the app listed of ``log rank(all terms) - log rank(the group's terms off)``,
    re-ranking the generator's whole chart (as :func:`analysis.data.demo.truth.window_effects` does
    for all events).  ``term_ids``: the design's ``mixed:<term>`` rows -> their event ids.  A
    generator term whose events span groups cannot be switched off for one group: null truth."""
    from analysis.data.demo.truth import long_frame

    world, schedule = demo.world, demo.schedule
    of = dict(groups.select("event_id", "group").iter_rows())
    members = schedule.group_by("term_id", maintain_order=True).agg("event_id")
    events_of = {t: tuple(e) for t, e in members.iter_rows()}
    day0 = world.days[0]
    i0, i1 = (window[0] - day0).days, (window[1] - day0).days + 1
    z, rem = world.latent()
    with_ev = world.positions(z, rem, slice(i0, i1))
    targets = {g: {e for e, gg in of.items() if gg == g} for g in GROUPS}
    targets[ALL] = set(of)
    targets |= {k: set(v) for k, v in term_ids.items()}
    parts = []
    for name, evs in targets.items():
        off = tuple(t for t, e in events_of.items() if set(e) <= evs)
        split = any(set(e) & evs and not set(e) <= evs for e in events_of.values())
        zc, rc = world.latent(off)
        eff = np.log(with_ev) - np.log(world.positions(zc, rc, slice(i0, i1)))
        f = long_frame(world, world.days[i0:i1], eff=eff).filter(pl.col("eff").is_not_null())
        parts.append(f.group_by(*KEYS).agg(pl.col("eff").mean().alias("true_value"))
                     .with_columns(pl.lit(name).alias("group"),
                                   pl.when(pl.lit(split)).then(None).otherwise(pl.col("true_value"))
                                   .alias("true_value")))
    return pl.concat(parts).select(*KEYS, "group", "true_value")


def mixed_terms(fit: EventFit, groups: pl.DataFrame) -> dict[str, tuple[str, ...]]:
    """``mixed:<term>`` -> the term's event ids, for the merges that mix groups."""
    tg = term_groups(fit, groups)
    return {f"mixed:{t.id}": t.events for t in fit.design.terms if len(tg[t.id]) > 1}
