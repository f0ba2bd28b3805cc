"""Interrupted time series of daily chart ranks (Lopez Bernal, Cummins & Gasparrini 2017).

The default model is the segmented regression

    y_t = b0 + b1 * t + b2 * post_t + b3 * (t - t0) * post_t + dow_t' g + e_t

``t`` counts days from the window start, ``post_t = 1[date >= intervention]``; ``b2`` is the
level change and ``b3`` the slope change at the intervention.  :class:`ITSSpec` declares the
rest before fitting: the impact shape (``step``, ``step+slope``, ``pulse``, ``decay:H``), later
interventions in the same window, seasonality (``none``, ``dow``, ``fourier:P:K``), the error
model (``iid``, ``hac`` Newey-West, ``ar1`` exact ML, ``ar1-reml``, ``arP``), the family
(``gaussian`` or log-link counts) and chart-depth censoring.  The counterfactual is the fitted
model with the intervention terms switched off, with a confidence interval.

With ``transform="log"`` the outcome is log(rank): ``exp(b2)`` is the ratio of ranks after vs
without the intervention (below 1 = the app climbed the chart).

Days without a rank: by default left out (not imputed) and reported as coverage.  With
``censored=True`` a day on which the chart was recorded but the app was not in it is
right-censored at ``log(chart_depth + 0.5)`` (the app was below the chart) up to the series' last
ranked day (later days: removed from the store, left out), days with no chart snapshot are gaps
(never censored; rules in ``bounds.py``), and rank 1 is left-censored at ``log(1.5)``; a
Tobit-type likelihood (``errors="iid"/"hac"``) or the censored AR(1) composite likelihood
(``errors="ar1"``, ``censored_ar1.py``) then uses them.  A series whose pre-period is (almost)
all below the chart gets a bound on its level change instead of an estimate (``bounds.py``).

All series of a frame are fitted together by the batched engine (``engine.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, timedelta

import numpy as np
import polars as pl

from analysis.errors import NotEstimable
from analysis.models.engine import estimate as engine
from analysis.models.engine.batched import newey_west_lags
from analysis.models.engine.design import Impact, Seasonality, build_design
from analysis.models.its.censoring import censoring_grid, level_bounds

TRANSFORMS = engine.TRANSFORMS
SEASONALITY = ("dow", "none", "fourier:PERIOD:K")
MIN_RANKED_PER_SEGMENT = 5  # censored fits: ranked (uncensored) days needed before and after

__all__ = ["ITSResult", "ITSSpec", "FrameFit", "design", "fit_frame", "fit_its", "newey_west_lags"]


_WINDOW_FIELDS = ("intervention", "pre_days", "post_days", "min_pre", "min_post", "chart_depth", "extra_interventions")
_MODEL_FIELDS = tuple(f.name for f in fields(engine.ModelSpec))


@dataclass(frozen=True, init=False)
class ITSSpec:
    """What to fit, declared before fitting (the impact model is not chosen from the data): a
    dated window around the intervention and **one** :class:`~analysis.models.engine.estimate.ModelSpec`.

    The model is not re-declared here: ``ITSSpec(t0, 60, 30, errors="ar1")`` builds
    ``ModelSpec(errors="ar1")`` (which validates it), and ``spec.errors``, ``spec.transform``, ...
    read that one object.  Window fields: ``intervention`` (first post-period day),
    ``pre_days``/``post_days``, ``min_pre``/``min_post`` (fewest observed days to fit),
    ``chart_depth`` (censoring threshold), ``extra_interventions`` (later breaks in the window).
    """

    intervention: date
    pre_days: int
    post_days: int
    model: engine.ModelSpec
    min_pre: int
    min_post: int
    chart_depth: int
    extra_interventions: tuple[date, ...]

    def __init__(self, intervention: date, pre_days: int = 60, post_days: int = 30, *,
                 model: engine.ModelSpec | None = None, min_pre: int = 14, min_post: int = 7,
                 chart_depth: int = 200, extra_interventions: tuple[date, ...] = (), **model_fields) -> None:
        unknown = set(model_fields) - set(_MODEL_FIELDS)
        if unknown:
            raise TypeError(f"ITSSpec got unknown fields {sorted(unknown)}")
        if model is None:
            model = engine.ModelSpec(**model_fields)
        elif model_fields:
            model = replace(model, **model_fields)
        for name, value in (("intervention", intervention), ("pre_days", pre_days), ("post_days", post_days),
                            ("model", model), ("min_pre", min_pre), ("min_post", min_post),
                            ("chart_depth", chart_depth), ("extra_interventions", tuple(extra_interventions))):
            object.__setattr__(self, name, value)
        if self.pre_days < 1 or self.post_days < 1:
            raise ValueError("pre_days and post_days must be >= 1")
        for d in self.extra_interventions:
            if not self.intervention < d <= self.end:
                raise ValueError(f"extra intervention {d} must be after {self.intervention} and within the window")
        if list(self.extra_interventions) != sorted(self.extra_interventions):
            raise ValueError("extra_interventions must be in ascending order")

    def __getattr__(self, name: str):
        """The model's fields (``errors``, ``transform``, ``alpha``, ...) read the one ModelSpec."""
        if name in _MODEL_FIELDS:
            return getattr(self.__dict__["model"], name)
        raise AttributeError(f"'ITSSpec' object has no attribute {name!r}")

    @property
    def start(self) -> date:
        return self.intervention - timedelta(days=self.pre_days)

    @property
    def end(self) -> date:
        """Last day of the window (inclusive): the post period has ``post_days`` days."""
        return self.intervention + timedelta(days=self.post_days - 1)

    @property
    def interventions(self) -> tuple[date, ...]:
        return (self.intervention, *self.extra_interventions)

    def with_(self, **changes) -> ITSSpec:
        """A copy with some fields changed, window or model (e.g. another date, or ``errors="ar1"``)."""
        window = {k: changes.pop(k) for k in list(changes) if k in _WINDOW_FIELDS}
        current = {k: getattr(self, k) for k in _WINDOW_FIELDS}
        return ITSSpec(**(current | window), model=replace(self.model, **changes) if changes else self.model)

    def as_dict(self) -> dict:
        """Window and model fields in one flat dict (dates as ISO strings)."""
        out = {k: getattr(self, k) for k in _WINDOW_FIELDS} | asdict(self.model)
        out["intervention"] = self.intervention.isoformat()
        out["extra_interventions"] = [d.isoformat() for d in self.extra_interventions]
        return out


@dataclass
class ITSResult:
    """Estimates, counterfactual path and diagnostics of one fit."""

    spec: ITSSpec
    effects: pl.DataFrame  # term, estimate, se, ci_low, ci_high, p_value, ratio...
    path: pl.DataFrame  # date, post, observed, fitted, counterfactual, cf_low, cf_high, effect...
    diagnostics: dict[str, float | int | str] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)

    def effect(self, term: str) -> dict[str, float]:
        return self.effects.filter(pl.col("term") == term).row(0, named=True)

    def to_dict(self) -> dict:
        return {"spec": self.spec.as_dict(), "effects": self.effects.to_dicts(), "diagnostics": self.diagnostics}


@dataclass
class FrameFit:
    """Fits of every series of a frame; ``keys`` maps the engine's ``series`` index to key columns."""

    spec: ITSSpec
    keys: pl.DataFrame  # series, <key columns>
    grid: engine.GridFit | None
    effects: pl.DataFrame
    paths: pl.DataFrame
    diagnostics: pl.DataFrame
    skipped: pl.DataFrame  # <key columns>, reason


def window_days(spec: ITSSpec) -> pl.Series:
    return pl.date_range(spec.start, spec.end, "1d", eager=True).alias("date")


def _cutoffs(spec: ITSSpec) -> tuple[list[float], list[str]]:
    return ([float((d - spec.start).days) for d in spec.interventions],
            [d.isoformat() for d in spec.interventions])


def design(dates: pl.Series, spec: ITSSpec) -> tuple[np.ndarray, list[str]]:
    """Design matrix of ``spec`` on the given (possibly gappy) dates, and its column names."""
    d = dates.to_numpy().astype("datetime64[D]").astype(np.int64)
    t = (d - np.datetime64(spec.start, "D").astype(np.int64)).astype(float)
    cut, labels = _cutoffs(spec)
    des = build_design(t, cut, Impact.parse(spec.impact), Seasonality.parse(spec.seasonality),
                       dates.dt.weekday().to_numpy(), labels)
    return des.X, list(des.names)


def grid_matrix(series: pl.DataFrame, keys: Sequence[str], spec: ITSSpec, value: str,
                snapshots: pl.DataFrame | None = None) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Raw values of every series on the window's days: (keys with ``series`` index, values (S, T)
    with NaN where there is no rank, censoring flags (S, T)).

    With ``spec.censored``, a day without a rank is right-censored only if the chart was recorded
    that day (rules in :mod:`analysis.models.its.censoring`); days with no snapshot and days after the
    series' last ranked day (a store removal) are gaps; rank 1 is left-censored."""
    keys = list(keys)
    T = window_days(spec).len()
    if keys:
        keydf = series.select(keys).unique().sort(keys).with_row_index("series")
    else:
        keydf = pl.DataFrame({"series": [0]}, schema={"series": pl.UInt32})
    last = (series.filter(pl.col(value).is_not_null()).group_by(keys).agg(pl.col("date").max().alias("_last"))
            if keys else pl.DataFrame({"_last": [series.filter(pl.col(value).is_not_null())["date"].max()]}))
    Y, cens = censoring_grid(series, keys, keydf, value, spec.start, T, snapshots)
    lastd = (keydf.join(last, on=keys, how="left") if keys else keydf.with_columns(last["_last"]))["_last"]
    last_t = np.array([(d - spec.start).days if d is not None else -1 for d in lastd.to_list()], dtype=float)
    flag = np.zeros((Y.shape[0], T))
    if spec.censored:
        tt = np.arange(T)[None, :]
        flag = np.where(cens & (tt <= last_t[:, None]), 1.0, 0.0)
        flag = np.where(Y == 1, -1.0, flag)
    return keydf, Y, flag


def _model_scale(Y: np.ndarray, flag: np.ndarray, spec: ITSSpec) -> np.ndarray:
    """Outcome on the modelling scale; censored rows hold their thresholds."""
    y = engine.transform_outcome(Y, spec.transform if spec.family == "gaussian" else "none")
    if spec.censored:
        hi = engine.transform_outcome(np.array(spec.chart_depth + 0.5), spec.transform)
        lo = engine.transform_outcome(np.array(1.5), spec.transform)
        y = np.where(flag > 0, hi, np.where(flag < 0, lo, y))
    return y


def unfit_reasons(Y: np.ndarray, flag: np.ndarray, spec: ITSSpec) -> dict[int, str]:
    """Series (row of ``Y``) that cannot be fitted before any model runs, with the reason."""
    T = Y.shape[1]
    pre = np.arange(T) < spec.pre_days
    in_fit = ~np.isnan(Y) | (flag != 0)
    n_pre, n_post = (in_fit & pre).sum(1), (in_fit & ~pre).sum(1)
    ranked = ~np.isnan(Y) & (flag == 0)  # censored fits: rank 1 is censored too
    r_pre, r_post = (ranked & pre).sum(1), (ranked & ~pre).sum(1)
    reasons: dict[int, str] = {}
    for s in range(Y.shape[0]):
        if n_pre[s] < spec.min_pre or n_post[s] < spec.min_post:
            reasons[s] = (f"{n_pre[s]} of {spec.pre_days} pre-period and {n_post[s]} of {spec.post_days} "
                          f"post-period days observed (need at least {spec.min_pre} and {spec.min_post}); "
                          + ("days after the last ranked day (a store removal) are left out" if spec.censored else
                             "days without a rank are below the chart depth (censored) or after a store removal"))
        elif spec.censored and min(r_pre[s], r_post[s]) < MIN_RANKED_PER_SEGMENT:
            reasons[s] = (f"only {r_pre[s]} pre-period and {r_post[s]} post-period days with an uncensored rank "
                          f"(need {MIN_RANKED_PER_SEGMENT} in each): the censored model cannot locate a series that "
                          "is almost always below the chart depth or at #1")
        elif spec.transform == "log" and spec.family == "gaussian" and np.nanmin(Y[s], initial=np.inf) <= 0:
            reasons[s] = "log transform needs positive values"
    return reasons


def _covariate_gaps(Y: np.ndarray, flag: np.ndarray, covariates: dict[str, np.ndarray]):
    """Days where a shared covariate is missing are left out of every series."""
    gap = np.zeros(Y.shape[1], dtype=bool)
    for v in covariates.values():
        gap |= np.isnan(np.asarray(v, dtype=float))
    Y = np.where(gap[None, :], np.nan, Y)
    flag = np.where(gap[None, :], 0.0, flag)
    return Y, flag, {k: np.nan_to_num(np.asarray(v, dtype=float)) for k, v in covariates.items()}


def _empty_fit_frames(key_schema: dict[str, pl.DataType], spec: ITSSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Effects and diagnostics of a fit with no fitted series: the same columns as a non-empty fit
    (incl. the engine's series index), so callers need no special case."""
    ratio = ({"ratio": pl.Float64, "ratio_ci_low": pl.Float64, "ratio_ci_high": pl.Float64}
             if spec.model.log_scale else {})
    effects = pl.DataFrame(schema={**key_schema, "term": pl.String, "estimate": pl.Float64, "se": pl.Float64,
                                   "ci_low": pl.Float64, "ci_high": pl.Float64, "p_value": pl.Float64,
                                   **ratio, "kind": pl.String, "series": pl.Int64})
    return effects, pl.DataFrame(schema={**key_schema, "loglik": pl.Float64, "series": pl.Int64})


def fit_frame(series: pl.DataFrame, spec: ITSSpec, keys: Sequence[str], value: str = "rank",
              residuals: bool = True, covariates: dict[str, np.ndarray] | None = None,
              snapshots: pl.DataFrame | None = None) -> FrameFit:
    """Fit every series (distinct ``keys``) of ``series`` in one batch; see :func:`fit_its`.

    ``covariates``: regressors on the window's days shared by all series (e.g. a control
    series); days where one is missing are left out.  ``residuals=False`` skips paths and
    residual diagnostics (faster; for the robustness battery).  ``snapshots`` (chart keys,
    ``date``): the days each chart was recorded, if the frame cannot tell (:mod:`.bounds`).

    Every effect row has ``kind`` = "estimate".  With ``spec.censored`` (and ``residuals``), a
    series that cannot be estimated is not dropped from ``effects``: it gets a ``level`` row of
    kind "bound" (side, bound, reason; :func:`analysis.models.its.censoring.level_bounds`) or
    "not_identified" (reason), and stays listed in ``skipped``.
    """
    keys = list(keys)
    keydf, Y, flag = grid_matrix(series, keys, spec, value, snapshots)
    days = window_days(spec)
    T = days.len()
    if covariates:
        Y, flag, covariates = _covariate_gaps(Y, flag, covariates)
    reasons = unfit_reasons(Y, flag, spec)
    fit_idx = np.array([s for s in range(Y.shape[0]) if s not in reasons], dtype=int)
    g = None
    effects = paths = diags = None
    if fit_idx.size:
        y = _model_scale(Y[fit_idx], flag[fit_idx], spec)
        if not spec.censored:
            y = np.where(np.isfinite(y), y, np.nan)
        cut, labels = _cutoffs(spec)
        g = engine.fit_grid(y, np.arange(T, dtype=float), cut, spec.model, labels=labels,
                            weekday=days.dt.weekday().to_numpy(),
                            flag=flag[fit_idx] if spec.censored else None, covariates=covariates,
                            residuals=residuals)
        for j, reason in engine.skipped_reasons(g).items():
            reasons[int(fit_idx[j])] = reason
        remap = pl.DataFrame({"_j": np.arange(fit_idx.size), "_s": fit_idx})

        def tag(df: pl.DataFrame) -> pl.DataFrame:
            df = (df.join(remap, left_on="series", right_on="_j").drop("series").rename({"_s": "series"})
                  .join(keydf.with_columns(pl.col("series").cast(pl.Int64)), on="series"))
            return df.select(*keys, *[c for c in df.columns if c not in keys and c != "series"], "series")

        effects = tag(engine.effects_frame(g)).with_columns(pl.lit("estimate").alias("kind"))
        base = (engine.diagnostics_frame(g) if residuals else
                engine.counts_frame(g))
        diags = base.with_columns(
            (pl.col("n_pre") / spec.pre_days).alias("coverage_pre"),
            (pl.col("n_post") / spec.post_days).alias("coverage_post"),
            pl.lit(spec.errors).alias("errors"),
        )
        diags = tag(diags)
        paths = tag(engine.path_frame(g, days)) if residuals else None
    skipped = pl.DataFrame(
        [{**{k: keydf[k][s] for k in keys}, "reason": r} for s, r in sorted(reasons.items())],
        schema={**{k: keydf.schema[k] for k in keys}, "reason": pl.String},
    )
    empty_keys = {k: keydf.schema[k] for k in keys}
    if effects is None:
        effects, diags = _empty_fit_frames(empty_keys, spec)
    if paths is None:
        paths = pl.DataFrame(schema={**empty_keys, "date": pl.Date, "series": pl.Int64})
    if spec.censored and residuals and reasons:
        effects = pl.concat([effects, identification_rows(series, spec, keys, value, keydf, reasons, snapshots)],
                            how="diagonal_relaxed")
    return FrameFit(spec, keydf, g, effects, paths, diags, skipped)


def identification_rows(series: pl.DataFrame, spec: ITSSpec, keys: Sequence[str], value: str,
                        keydf: pl.DataFrame, reasons: dict[int, str],
                        snapshots: pl.DataFrame | None = None) -> pl.DataFrame:
    """Bound or not-identified ``level`` rows for the series in ``reasons`` (not estimated)."""
    keys = list(keys)
    b = level_bounds(series, spec.intervention,
                     spec.chart_depth, keys=keys, value=value, pre_days=spec.pre_days, post_days=spec.post_days,
                     min_ranked_pre=MIN_RANKED_PER_SEGMENT, snapshots=snapshots)
    idx = keydf.with_columns(pl.col("series").cast(pl.Int64))
    b = (b.join(idx, on=keys, how="inner") if keys else b.with_columns(pl.lit(0, pl.Int64).alias("series")))
    why = pl.DataFrame({"series": list(reasons), "_why": list(reasons.values())},
                       schema={"series": pl.Int64, "_why": pl.String})
    b = b.join(why, on="series", how="inner").with_columns(
        pl.when(pl.col("kind") == "estimate").then(pl.lit("not_identified")).otherwise("kind").alias("kind"),
        pl.when(pl.col("kind") == "estimate").then("_why").otherwise("reason").alias("reason"),
    ).drop("_why")
    return b.sort("series")


def fit_its(series: pl.DataFrame, spec: ITSSpec, value: str = "rank") -> ITSResult:
    """Fit the model of ``spec`` to one series (columns ``date`` and ``value``).

    Rows outside the window are ignored.  Raises :class:`NotEstimable` when the window has fewer
    than ``spec.min_pre`` pre-period or ``spec.min_post`` post-period observations, or the fit
    is impossible (rank-deficient design, no convergence).
    """
    ff = fit_frame(series, spec, [], value)
    if ff.skipped.height:
        raise NotEstimable(ff.skipped["reason"][0])
    diag = ff.diagnostics.drop("series").row(0, named=True)
    diag = {k: v for k, v in diag.items() if not (isinstance(v, float) and math.isnan(v))}
    params = dict(zip(ff.grid.design.names, map(float, ff.grid.fit.beta[0]), strict=True))
    return ITSResult(spec, ff.effects.drop("series"), ff.paths.drop("series"), diag, params)
