"""Design matrices of interrupted time-series models: impact shapes and seasonality.

The impact model is declared before fitting (Lopez Bernal et al. 2017): one of

- ``step``: a level change ``1[t >= t0]``;
- ``step+slope``: a level change and a slope change ``(t - t0) 1[t >= t0]``;
- ``pulse``: a one-period change ``1[t0 <= t < t0 + 1]``;
- ``decay:H``: a level change that halves every ``H`` periods, ``1[t >= t0] 2^(-(t - t0)/H)``.

Every shape's immediate effect is named ``level`` (and the slope change ``slope``), so that a
fit always reports ``level``; with several interventions the later ones are suffixed
``@YYYY-MM-DD`` (``level@2021-01-11``).  Time ``t`` counts periods (rows of a regular series:
days, weeks or months) from the window start, so gaps stay gaps.

Seasonality: ``none``, ``dow`` (day-of-week dummies, Monday the reference; daily data only) or
``fourier:P:K`` (``K`` sine/cosine pairs of period ``P`` periods, e.g. ``fourier:12:2`` on
monthly data as in Lopez Bernal et al. 2017, or ``fourier:7:2`` on daily data).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

IMPACTS = ("step", "step+slope", "pulse", "decay:HALF_LIFE")
SEASONALITIES = ("none", "dow", "fourier:PERIOD:K")
DOW_NAMES = ("tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Impact:
    """An impact shape; ``half_life`` (periods) only for ``decay``."""

    kind: str
    half_life: float | None = None

    @classmethod
    def parse(cls, text: str) -> Impact:
        """Parse ``step``, ``step+slope``, ``pulse`` or ``decay:H`` (H > 0 periods)."""
        t = text.strip().lower()
        if t in ("step", "step+slope", "pulse"):
            return cls(t)
        m = re.fullmatch(r"decay:([0-9]*\.?[0-9]+)", t)
        if m and float(m.group(1)) > 0:
            return cls("decay", float(m.group(1)))
        raise ValueError(f"impact must be one of {IMPACTS} (HALF_LIFE > 0 periods), not {text!r}")

    def __str__(self) -> str:
        return f"decay:{self.half_life:g}" if self.kind == "decay" else self.kind

    @property
    def terms(self) -> tuple[str, ...]:
        return ("level", "slope") if self.kind == "step+slope" else ("level",)

    def describe(self) -> str:
        if self.kind == "decay":
            return f"level change decaying with a half-life of {self.half_life:g} periods"
        return {
            "step": "level change at the intervention (step)",
            "step+slope": "level change + slope change at the intervention (segmented regression)",
            "pulse": "one-period change at the intervention (pulse)",
        }[self.kind]


@dataclass(frozen=True)
class Seasonality:
    """Seasonal terms: ``none``, ``dow`` or Fourier pairs of ``period`` with ``order`` harmonics."""

    kind: str
    period: float | None = None
    order: int | None = None

    @classmethod
    def parse(cls, text: str) -> Seasonality:
        t = text.strip().lower()
        if t in ("none", "dow"):
            return cls(t)
        m = re.fullmatch(r"fourier:([0-9]*\.?[0-9]+):([0-9]+)", t)
        if m:
            period, order = float(m.group(1)), int(m.group(2))
            if period < 2 or order < 1 or 2 * order >= period:
                raise ValueError(
                    f"fourier:PERIOD:K needs PERIOD >= 2 and 1 <= K < PERIOD/2, not {text!r}"
                )
            return cls("fourier", period, order)
        raise ValueError(f"seasonality must be one of {SEASONALITIES}, not {text!r}")

    def __str__(self) -> str:
        return f"fourier:{self.period:g}:{self.order}" if self.kind == "fourier" else self.kind

    def describe(self) -> str:
        if self.kind == "dow":
            return "day-of-week dummies (Monday reference)"
        if self.kind == "fourier":
            return f"Fourier terms, period {self.period:g} periods, {self.order} harmonic(s)"
        return "none"


@dataclass(frozen=True)
class Design:
    """A design matrix with column names; ``effect_cols`` are switched off for the counterfactual."""

    X: np.ndarray  # (T, k)
    names: tuple[str, ...]
    effect_cols: tuple[int, ...]
    interventions: tuple[str, ...]  # labels of the cutoffs, in order

    def col(self, name: str) -> int:
        return self.names.index(name)

    @property
    def effect_terms(self) -> tuple[str, ...]:
        return tuple(self.names[j] for j in self.effect_cols)


def impact_columns(t: np.ndarray, t0: float, impact: Impact) -> list[np.ndarray]:
    """The columns of one intervention at time ``t0`` (level first, then slope)."""
    post = (t >= t0).astype(float)
    if impact.kind == "step":
        return [post]
    if impact.kind == "step+slope":
        return [post, (t - t0) * post]
    if impact.kind == "pulse":
        return [((t >= t0) & (t < t0 + 1)).astype(float)]
    return [post * np.exp2(-np.clip(t - t0, 0, None) / impact.half_life)]


def seasonal_columns(t: np.ndarray, weekday: np.ndarray | None, season: Seasonality) -> tuple[list[np.ndarray], list[str]]:
    """Day-of-week dummies (``weekday`` 1 = Monday .. 7) or Fourier pairs in ``t``."""
    if season.kind == "none":
        return [], []
    if season.kind == "dow":
        if weekday is None:
            raise ValueError("seasonality 'dow' needs daily data (a weekday for every row)")
        return [(weekday == k).astype(float) for k in range(2, 8)], [f"dow_{d}" for d in DOW_NAMES]
    cols, names = [], []
    for h in range(1, season.order + 1):
        w = 2 * math.pi * h * t / season.period
        cols += [np.sin(w), np.cos(w)]
        names += [f"fourier_sin{h}", f"fourier_cos{h}"]
    return cols, names


def build_design(
    t: np.ndarray,
    cutoffs: Sequence[float],
    impact: Impact | Sequence[Impact],
    seasonality: Seasonality,
    weekday: np.ndarray | None = None,
    labels: Sequence[str] | None = None,
    covariates: Mapping[str, np.ndarray] | None = None,
    name_all: bool = False,
) -> Design:
    """Intercept, trend, the impact columns of each cutoff, seasonal terms and covariates.

    ``t`` is the time index in periods, ``cutoffs`` the first post-intervention time of each
    intervention (ascending), ``labels`` their names (dates) used to suffix later terms.
    ``impact`` is one shape for every cutoff or one per cutoff (per-event designs, where events
    differ in shape); ``name_all`` suffixes the first cutoff's terms too (``level@X03``), so
    every term names its event.
    """
    t = np.asarray(t, dtype=float)
    if not cutoffs:
        raise ValueError("at least one intervention is needed")
    if list(cutoffs) != sorted(cutoffs):
        raise ValueError("interventions must be in ascending order")
    labels = list(labels) if labels is not None else [f"{c:g}" for c in cutoffs]
    impacts = [impact] * len(cutoffs) if isinstance(impact, Impact) else list(impact)
    if len(impacts) != len(cutoffs):
        raise ValueError(f"{len(impacts)} impact shapes for {len(cutoffs)} interventions")
    cols = [np.ones_like(t), t]
    names = ["intercept", "trend"]
    effect_cols = []
    for i, (t0, lab, imp) in enumerate(zip(cutoffs, labels, impacts, strict=True)):
        for term, col in zip(imp.terms, impact_columns(t, float(t0), imp), strict=True):
            effect_cols.append(len(cols))
            cols.append(col)
            names.append(term if i == 0 and not name_all else f"{term}@{lab}")
    s_cols, s_names = seasonal_columns(t, weekday, seasonality)
    cols += s_cols
    names += s_names
    for name, values in (covariates or {}).items():
        cols.append(np.asarray(values, dtype=float))
        names.append(name)
    return Design(np.column_stack(cols), tuple(names), tuple(effect_cols), tuple(labels))
