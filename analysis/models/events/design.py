"""Per-event designs from the event registry: which events enter, when, and in what shape.

The registry (``data/events/events_jan2021.csv``) is parsed once into typed objects:

- :class:`EventTerm`: one regression term (or a pair, level + slope) of the per-event model.
  Its cutoff is the first daily chart snapshot the event can affect
  (:func:`analysis.data.timing.affected_snapshot_dates`, noon-UTC snapshots, the
  ``first_possible_snapshot`` by default), so a US-evening event falls on the next UTC day.
- :class:`EventDesign`: the terms of a window, in time order, plus the ``merges`` table.

Events whose first affected snapshots are closer than ``min_separation_days`` (by default: the
same day) cannot be separated by daily data: they are merged into one term whose id joins the
event ids with ``+`` in registry order (``"X04+X05"``), and the merge is reported with its
reason, never made silently.  The impact shape (``step``, ``step+slope`` or ``decay:H``, see
:mod:`analysis.models.engine.design`) is declared per event kind before fitting (Lopez Bernal,
Cummins & Gasparrini 2017) and can be overridden per event id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import numpy as np

    from analysis.models.engine.estimate import GridFit

from analysis.data.timing import affected_snapshot_dates
from analysis.models.engine.design import Impact

# Every kind enters by default: the Capitol attack (X02, kind "other") is one of the events the
# question names, and leaving a real break out of the model biases the terms next to it.
DEFAULT_KINDS = ("confound", "deplatforming", "platform_action", "other")
DEFAULT_SHAPES: Mapping[str, str] = {"confound": "step", "deplatforming": "step",
                                     "platform_action": "step", "other": "step"}
SNAPSHOT_RULES = ("first_possible", "first_certain")


@dataclass(frozen=True)
class EventTerm:
    """One term of the per-event model: ``events`` (registry ids) share the cutoff ``first_snapshot``."""

    id: str  # event ids joined with "+" in registry order
    events: tuple[str, ...]
    first_snapshot: date
    shape: Impact
    kinds: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # the registry's event descriptions

    @property
    def estimands(self) -> tuple[str, ...]:
        """``level`` (+ ``slope``) for steps, ``decay`` for a decaying level change."""
        if self.shape.kind == "decay":
            return ("decay",)
        return ("level", "slope") if self.shape.kind == "step+slope" else ("level",)


@dataclass(frozen=True)
class EventDesign:
    """The event terms of a window ``[start, end]`` (inclusive days), in time order."""

    terms: tuple[EventTerm, ...]
    start: date
    end: date
    merges: pl.DataFrame = field(compare=False)  # term_id, events, first_snapshot, reason
    excluded: pl.DataFrame = field(compare=False)  # event_id, reason

    @property
    def first_event(self) -> date:
        """The first affected snapshot of the earliest term: the pre-period ends the day before."""
        return self.terms[0].first_snapshot

    def cutoffs(self) -> list[float]:
        """Cutoffs as days since ``start``."""
        return [float((t.first_snapshot - self.start).days) for t in self.terms]

    def term(self, term_id: str) -> EventTerm:
        for t in self.terms:
            if t.id == term_id:
                return t
        raise KeyError(f"no event term {term_id!r}; terms: {[t.id for t in self.terms]}")


def _shape_for(ids: Sequence[str], kinds: Sequence[str], shapes: Mapping[str, str],
               overrides: Mapping[str, str]) -> Impact:
    """An override of any member id (or the joined id) wins; else the first member's kind shape."""
    joined = "+".join(ids)
    for key in (joined, *ids):
        if key in overrides:
            return Impact.parse(overrides[key])
    shape = Impact.parse(shapes.get(kinds[0], "step"))
    if shape.kind == "pulse":
        raise ValueError("a pulse is not an event shape here: use step, step+slope or decay:H")
    return shape


def build_event_design(
    events: pl.DataFrame,
    start: date,
    end: date,
    *,
    kinds: Sequence[str] = DEFAULT_KINDS,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    shapes: Mapping[str, str] = DEFAULT_SHAPES,
    overrides: Mapping[str, str] | None = None,
    min_separation_days: int = 1,
    snapshot_rule: str = "first_possible",
    snapshot_hour: int = 12,
) -> EventDesign:
    """Event terms for the window ``[start, end]`` from the registry ``events`` (``load_events``).

    Events enter when their kind is in ``kinds`` (or their id is in ``include``; ``include``
    alone selects exactly those ids when ``kinds`` is empty), they are not in ``exclude``, and
    their first affected snapshot lies strictly after ``start`` and on or before ``end`` (a
    pre-period is needed).  Events whose snapshots are less than ``min_separation_days`` apart
    (1 = same day only) join the previous term (chained), with a row in ``merges``.
    """
    if snapshot_rule not in SNAPSHOT_RULES:
        raise ValueError(f"snapshot_rule must be one of {SNAPSHOT_RULES}, not {snapshot_rule!r}")
    if min_separation_days < 1:
        raise ValueError("min_separation_days must be >= 1 (1: merge events on the same snapshot day)")
    if end <= start:
        raise ValueError(f"window end {end} must be after its start {start}")
    overrides = dict(overrides or {})
    timed = affected_snapshot_dates(events, snapshot_hour).with_row_index("_order")
    snap = f"{snapshot_rule}_snapshot"
    chosen = pl.col("kind").is_in(list(kinds))
    if include:
        chosen = chosen | pl.col("event_id").is_in(list(include))
    chosen = chosen & ~pl.col("event_id").is_in(list(exclude))
    inside = (pl.col(snap) > start) & (pl.col(snap) <= end)
    excluded = timed.filter(~(chosen & inside)).select(
        "event_id",
        pl.when(~chosen).then(pl.lit("not selected (kind ") + pl.col("kind") + pl.lit(")"))
        .otherwise(pl.lit("first affected snapshot ") + pl.col(snap).cast(pl.String)
                   + pl.lit(f" outside the window ({start} exclusive .. {end})")).alias("reason"))
    sel = timed.filter(chosen & inside).sort(snap, "_order")
    groups: list[list[dict]] = []
    for row in sel.iter_rows(named=True):
        if groups and (row[snap] - groups[-1][-1][snap]).days < min_separation_days:
            groups[-1].append(row)
        else:
            groups.append([row])
    terms, merges = [], []
    for g in groups:
        g = sorted(g, key=lambda r: r["_order"])  # registry order inside a term
        ids = tuple(r["event_id"] for r in g)
        first = min(r[snap] for r in g)
        k = tuple(r["kind"] for r in g)
        terms.append(EventTerm("+".join(ids), ids, first, _shape_for(ids, k, shapes, overrides), k,
                               tuple(r["event"] for r in g)))
        if len(g) > 1:
            days = ", ".join(f"{r['event_id']} {r[snap]}" for r in g)
            why = ("same first affected snapshot" if len({r[snap] for r in g}) == 1
                   else f"first affected snapshots less than {min_separation_days} day(s) apart")
            merges.append({"term_id": "+".join(ids), "events": ", ".join(ids), "first_snapshot": first,
                           "reason": f"{why} ({days}; {snapshot_rule.replace('_', ' ')} noon-UTC snapshot): "
                                     "daily data cannot separate them"})
    if not terms:
        raise ValueError(f"no selected event has its first affected snapshot inside {start} .. {end}")
    merges_df = pl.DataFrame(merges, schema={"term_id": pl.String, "events": pl.String,
                                             "first_snapshot": pl.Date, "reason": pl.String})
    return EventDesign(tuple(sorted(terms, key=lambda t: t.first_snapshot)), start, end, merges_df, excluded)


def terms_frame(design: EventDesign) -> pl.DataFrame:
    """The design as a table: term id, events, first snapshot, shape, estimands, kinds."""
    return pl.DataFrame({
        "term_id": [t.id for t in design.terms],
        "events": [", ".join(t.events) for t in design.terms],
        "first_snapshot": [t.first_snapshot for t in design.terms],
        "shape": [str(t.shape) for t in design.terms],
        "estimands": [", ".join(t.estimands) for t in design.terms],
        "kinds": [", ".join(t.kinds) for t in design.terms],
    })


def term_rows(g: GridFit, design: EventDesign, kept: list[int], series: np.ndarray) -> list[dict]:
    """Estimate rows of one engine fit (its series ``series``) for the kept terms: one row per term
    and estimand, with the fit's own critical value (used by the main fit and the entry sub-fits)."""
    rows = []
    q = g.crit()
    for j, s in enumerate(series):
        if not g.fit.ok[j]:
            continue
        for i in kept:
            term = design.terms[i]
            cols = [c for c in g.design.names if c.endswith(f"@{term.id}")]
            for col, estimand in zip(cols, term.estimands, strict=True):
                c = g.design.col(col)
                est, se = float(g.fit.beta[j, c]), float(g.fit.se[j, c])
                rows.append({"series": int(s), "event_id": term.id, "estimand": estimand, "kind": "estimate",
                             "estimate": est, "se": se, "ci_low": est - q[j] * se, "ci_high": est + q[j] * se})
    return rows
