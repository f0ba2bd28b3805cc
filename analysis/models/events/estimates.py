"""The study's main estimation, run once per report version and shared as artifacts.

The default analysis of a run is the per-event design (:mod:`analysis.models.events.design`,
:mod:`analysis.models.events.fit`): every selected app x country series of the selected store is
fitted with one term per registry event (merged where the data cannot separate them), AR(1)
errors, censoring below the chart depth, and a window-average effect against a counterfactual
fitted on the pre-period only.  Around it:

- ``pooled``: random-effects pooling of each term across the selected countries, per app
  (:func:`analysis.models.events.pooling.pool_frame`; REML, tau^2, I^2);
- ``contrast``: the treated country minus the mean of the control countries, per app, with the
  same per-event model and a pre-period parallel-trends test
  (:func:`analysis.models.events.contrast.fit_contrast`);
- ``truth`` (synthetic studies): the demo's per-event and window-average truth on the same keys.

:func:`fit_study` is called once per run, by the run plan (:mod:`analysis.report.run.plan`),
which passes the fit to every notebook as an artifact of the version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from analysis.data.outcome import POSITION_OUTCOMES
from analysis.models.events.attribution import parse_groups
from analysis.models.events.design import EventDesign, build_event_design, terms_frame
from analysis.models.events.fit import KEYS, fit_events

FRAMES = ("effects", "diagnostics", "pooled", "contrast", "contrast_diagnostics", "truth", "terms", "merges",
          "attribution", "paths")


@dataclass(frozen=True)
class EventStudySpec:
    """Everything the per-event fit depends on, parsed once from the run's parameters."""

    start: date
    end: date
    window_days: int
    kinds: tuple[str, ...]
    exclude: tuple[str, ...]
    shapes: tuple[tuple[str, str], ...]  # (event id, impact) overrides, e.g. ("X03", "decay:14")
    errors: str
    seasonality: str
    alpha: float
    chart_depth: int
    store: str
    contrast_treated: str
    contrast_controls: tuple[str, ...]
    groups: tuple[tuple[str, str], ...] = ()  # (event id, attribution group) overrides, e.g. ("X03", "other")

    def key(self, apps: list[str], countries: list[str], data_id: str) -> str:
        """Hash of the spec, the selection and the data: the artifact's identity."""
        blob = json.dumps([repr(self), sorted(apps), sorted(countries), data_id], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def parse_shapes(items: list[str]) -> tuple[tuple[str, str], ...]:
    """``["X03:decay:14", ...]`` -> ``(("X03", "decay:14"), ...)`` (split at the first colon; no
    equals sign, which papermill cannot parse inside a parameter value); ValueError names the bad
    item."""
    out = []
    for item in items:
        eid, sep, shape = item.partition(":")
        if not sep or not eid.strip() or not shape.strip():
            raise ValueError(f"event shape {item!r} is not EVENT_ID:IMPACT (e.g. X03:decay:14)")
        out.append((eid.strip(), shape.strip()))
    return tuple(out)


def event_spec(params, chart_depth: int, first_event: date) -> EventStudySpec:
    """The spec of a run: the window is ``pre_days`` before the first event in the registry's
    January cluster to ``post_days`` after it (90 days by default)."""
    return EventStudySpec(
        start=first_event - timedelta(days=params.pre_days), end=first_event + timedelta(days=params.post_days - 1),
        window_days=params.window_days, kinds=tuple(params.event_kinds), exclude=tuple(params.exclude_events),
        shapes=parse_shapes(params.event_shapes), errors=params.errors,
        seasonality=params.seasonality, alpha=params.alpha, chart_depth=chart_depth, store=params.store,
        contrast_treated=params.contrast_treated, contrast_controls=tuple(params.contrast_controls),
        groups=tuple(parse_groups(getattr(params, "groups", [])).items()))


def first_event_date(events: pl.DataFrame, kinds: tuple[str, ...], exclude: tuple[str, ...],
                     span: tuple[date, date], fallback: date) -> date:
    """First affected snapshot of the earliest event of the per-event design: selected ``kinds``,
    not in ``exclude``, inside the data's ``span``; ``fallback`` when there is none.

    The answer's window is anchored here, on the registry (as edited by ``event_shift`` /
    ``add_event``), not on ``comparison_cutoff``: that parameter dates only the single-cutoff
    comparison model, so moving it leaves the answer unchanged by design.
    """
    from analysis.data.timing import affected_snapshot_dates

    t = affected_snapshot_dates(events).filter(
        pl.col("kind").is_in(list(kinds)), ~pl.col("event_id").is_in(list(exclude)),
        pl.col("first_possible_snapshot").is_between(*span))
    return t["first_possible_snapshot"].min() if t.height else fallback


def design_for(spec: EventStudySpec, events: pl.DataFrame) -> EventDesign:
    return build_event_design(events, spec.start, spec.end, kinds=spec.kinds, exclude=spec.exclude,
                              overrides=dict(spec.shapes))


def study_panel(panel: pl.DataFrame, events: pl.DataFrame, apps: list[str], countries: list[str],
                spec: EventStudySpec) -> pl.DataFrame:
    """The daily grid of the selection over the window: observed, censored (below the chart),
    gap (no snapshot) or removed days (:func:`analysis.data.censoring.complete_daily`)."""
    from analysis.data.censoring import complete_daily
    from analysis.data.events import removals

    sel = panel.filter(pl.col("store") == spec.store, pl.col("country").is_in(countries))
    grid = complete_daily(sel, apps, spec.start, spec.end, removals(events), default_depth=spec.chart_depth)
    return grid.filter(pl.col("country").is_in(countries))


@dataclass
class StudyFit:
    """The main estimates of a run (see the module docstring); every frame is polars."""

    spec: EventStudySpec
    effects: pl.DataFrame
    diagnostics: pl.DataFrame
    pooled: pl.DataFrame
    contrast: pl.DataFrame
    contrast_diagnostics: pl.DataFrame
    truth: pl.DataFrame | None
    terms: pl.DataFrame
    merges: pl.DataFrame
    attribution: pl.DataFrame | None = None  # analysis.models.events.attribution.contrasts (+ true_value)
    paths: pl.DataFrame | None = None  # analysis.models.events.paths.model_paths (the answer's figures)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name in FRAMES:
            frame = getattr(self, name)
            if frame is not None:
                frame.write_parquet(directory / f"{name}.parquet")

    @classmethod
    def load(cls, spec: EventStudySpec, directory: Path) -> StudyFit:
        frames = {n: pl.read_parquet(directory / f"{n}.parquet") if (directory / f"{n}.parquet").exists() else None
                  for n in FRAMES}
        return cls(spec, **frames)


def demo_truth(truth, design: EventDesign, window: tuple[date, date]) -> pl.DataFrame:
    """The demo's truth on the Effects frame's keys: per-event rows and the window average.

    A term the design declares as decaying is estimated as ``estimand = "decay"``: its coefficient
    is the jump at the first affected snapshot, which then fades.  Its truth is the demo's
    re-ranked ``level`` on that day; the demo's own ``decay`` row (the true half-life, a shape
    parameter the design fixes rather than estimates) becomes ``half_life``.
    """
    from analysis.data.demo.world import true_window_effects

    decaying = [t.id for t in design.terms if t.shape.kind == "decay"]
    est = pl.col("estimand")
    per_event = truth.event_truth.select(*KEYS, "event_id", "estimand", "true_value").with_columns(
        pl.when(est == "decay").then(pl.lit("half_life"))
        .when((est == "level") & pl.col("event_id").is_in(decaying)).then(pl.lit("decay"))
        .otherwise(est).alias("estimand"))
    wa = true_window_effects(truth, *window).select(
        *KEYS, pl.lit(None, pl.String).alias("event_id"), "estimand", "true_value")
    return pl.concat([per_event, wa])


def run_spec(data, params) -> EventStudySpec:
    """The run's :class:`EventStudySpec` (window anchored on the first event of the cluster)."""
    span = (data.panel["date"].min(), data.panel["date"].max())
    first = first_event_date(data.events, tuple(params.event_kinds), tuple(params.exclude_events), span,
                             params.intervention)
    return event_spec(params, data.chart_depth, first)


def fit_study(data, params, spec: EventStudySpec | None = None) -> StudyFit:
    """Fit the run's per-event design, pooling and contrast (see the module docstring)."""
    from analysis.models.events.contrast import fit_contrast
    from analysis.models.events.pooling import pool_frame

    spec = spec or run_spec(data, params)
    design = design_for(spec, data.events)
    grid = study_panel(data.panel, data.events, params.apps, params.countries, spec)
    fit = fit_events(grid, design, errors=spec.errors, seasonality=spec.seasonality, alpha=spec.alpha,
                     window_days=spec.window_days, chart_depth=spec.chart_depth)
    pooled = pool_frame(fit.effects, by=("app_name", "store", "event_id", "estimand"), alpha=spec.alpha) \
        if fit.effects.height else pl.DataFrame()
    contrast, cdiag = _contrast(grid, design, spec, params.countries, fit_contrast)
    truth = None
    if data.truth is not None:
        w = fit.effects.filter(pl.col("estimand") == "window_average").select("window_start", "window_end").drop_nulls()
        window = (w["window_start"][0], w["window_end"][0]) if w.height else (design.first_event, design.end)
        truth = demo_truth(data.truth, design, window)
    return StudyFit(spec, fit.effects, fit.diagnostics, pooled, contrast, cdiag, truth, terms_frame(design),
                    design.merges, attribution_frame(fit, data, spec), _paths(fit, data, spec))


def _paths(fit, data, spec: EventStudySpec) -> pl.DataFrame:
    from analysis.data.events import event_groups
    from analysis.models.events.paths import model_paths

    return model_paths(fit, event_groups(data.events, dict(spec.groups)), spec.chart_depth)


def attribution_frame(fit, data, spec: EventStudySpec) -> pl.DataFrame:
    """The group contrasts of the fit (:mod:`analysis.models.events.attribution`), with the demo's
    re-ranked truth of each as ``true_value`` (null on real data)."""
    from analysis.data.events import event_groups
    from analysis.models.events import attribution

    groups = event_groups(data.events, dict(spec.groups))
    c = attribution.contrasts(fit, groups, spec.window_days, positions=data.outcome in POSITION_OUTCOMES)
    if data.truth is None or getattr(data.truth, "world", None) is None or c.height == 0:
        return c.with_columns(pl.lit(None, pl.Float64).alias("true_value"))
    window = (c["window_start"][0], c["window_end"][0])
    truth = attribution.group_truth(data.truth, groups, window, attribution.mixed_terms(fit, groups))
    return c.join(truth, on=[*KEYS, "group"], how="left", maintain_order="left")


def _contrast(grid: pl.DataFrame, design: EventDesign, spec: EventStudySpec, countries: list[str], fitter
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Treated minus mean(controls) per app, where all of them are selected (else empty)."""
    controls = [c for c in spec.contrast_controls if c in countries and c != spec.contrast_treated]
    if spec.contrast_treated not in countries or not controls:
        return pl.DataFrame(), pl.DataFrame()
    observed = grid.filter(pl.col("status") == "observed").select(*KEYS, "date", "rank")
    try:
        c = fitter(observed, design, spec.contrast_treated, controls, errors=spec.errors,
                   seasonality=spec.seasonality, alpha=spec.alpha, window_days=spec.window_days)
    except ValueError:  # a control with no ranked day at all: no contrast for this selection
        return pl.DataFrame(), pl.DataFrame()
    return c.effects, c.diagnostics
