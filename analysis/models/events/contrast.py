"""Contrast designs: a treated series minus the mean of control series, and the parallel-trends test.

``d_t = y_t(treated) - mean_c y_t(c)`` on the modelling scale (log rank: a log rank ratio), on the
dates where the treated series and every control have a value.  Controls are *supposed* to share
the common shocks (the WhatsApp notice hit Europe and India as well as the US): the contrast
removes them and leaves the treated-specific part (Lopez Bernal, Cummins & Gasparrini 2018,
"The use of controls in interrupted time series studies of public health interventions", Int J
Epidemiol 47:2082).  What a control must satisfy is parallel trends *before* the first event, not
"did not break" afterwards: :func:`parallel_trends` regresses the pre-period contrast on an
intercept, a trend and seasonal terms with AR(1) (or HAC) errors and tests the trend, i.e. the
difference between the treated and the mean control pre-period slopes (Wing, Simon &
Bello-Gomez 2018, Annu Rev Public Health 39:453, on pre-trend tests and their limits: a
non-rejection is not proof of parallel trends).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import special

from analysis.models.engine import ar as ar_mod
from analysis.models.engine import batched
from analysis.models.events.design import EventDesign
from analysis.models.events.fit import EventFit, fit_events
from analysis.models.events.window import baseline_design

TRENDS_P = 0.05  # pre-period slope difference with p below this: trends not parallel


@dataclass(frozen=True)
class ParallelTrends:
    """Pre-period slope difference (treated minus mean control, per period) and its test."""

    slope_difference: float
    se: float
    p_value: float
    n_pre: int
    errors: str

    @property
    def parallel(self) -> bool | None:
        """None when the pre-period is too short to test."""
        return None if np.isnan(self.p_value) else bool(self.p_value >= TRENDS_P)

    def as_dict(self) -> dict[str, float | int | str | bool]:
        return {"slope_difference": self.slope_difference, "se": self.se, "p_value": self.p_value,
                "n_pre": self.n_pre, "errors": self.errors, "parallel": self.parallel}


def contrast_label(treated: str, controls: Sequence[str]) -> str:
    """``"us - mean(gb,de)"``."""
    return f"{treated} - mean({','.join(controls)})"


def contrast_values(treated: np.ndarray, controls: np.ndarray) -> np.ndarray:
    """Treated (T,) minus the mean of controls (C, T); NaN where any of them is missing."""
    return np.asarray(treated, dtype=float) - np.mean(np.atleast_2d(controls), axis=0)


def parallel_trends(d: np.ndarray, t: np.ndarray, first_event: float, weekday: np.ndarray | None = None,
                    seasonality: str = "dow", errors: str = "ar1") -> ParallelTrends:
    """Test the trend of the pre-period contrast ``d`` (rows with ``t < first_event``).

    ``errors``: ``ar1`` (exact ML, t(n-k-1)), ``hac`` (Newey-West) or ``iid``.
    """
    t = np.asarray(t, dtype=float)
    pre = (t < first_event) & ~np.isnan(d)
    X = baseline_design(t[pre], None if weekday is None else np.asarray(weekday)[pre], seasonality)
    k = X.shape[1]
    if pre.sum() < k + 3:
        return ParallelTrends(np.nan, np.nan, np.nan, int(pre.sum()), errors)
    p = batched.pack(X, d[pre][None, :], t[pre])
    f = ar_mod.ar1(p, residuals=False) if errors == "ar1" else batched.ols(p, errors)
    b, se = float(f.beta[0, 1]), float(f.se[0, 1])
    pv = float(2 * special.stdtr(f.df_resid[0], -abs(b / se))) if se > 0 else np.nan
    return ParallelTrends(b, se, pv, int(pre.sum()), errors)


def contrast_panel(panel: pl.DataFrame, col: str, treated: str, controls: Sequence[str],
                   by: Sequence[str] = ("app_name", "store"), value: str = "rank") -> pl.DataFrame:
    """Per ``by`` group, the log-value contrast ``treated - mean(controls)`` of column ``col``.

    Returns ``by``, ``col`` (= the contrast label), ``date`` and ``value`` (the log contrast);
    dates where the treated series or any control has no value are left out.
    """
    if treated in controls:
        raise ValueError(f"the treated {col} {treated!r} cannot also be a control")
    label = contrast_label(treated, controls)
    wide = (panel.filter(pl.col(col).is_in([treated, *controls]), pl.col(value).is_not_null())
            .with_columns(pl.col(value).cast(pl.Float64).log().alias("_v"))
            .pivot(on=col, index=[*by, "date"], values="_v"))
    missing = [c for c in (treated, *controls) if c not in wide.columns]
    if missing:
        raise ValueError(f"no rows with {col} = {', '.join(missing)}")
    diff = pl.col(treated) - pl.mean_horizontal([pl.col(c) for c in controls])
    has_all = pl.all_horizontal([pl.col(c).is_not_null() for c in (treated, *controls)])
    return (wide.filter(has_all).select(*by, pl.lit(label).alias(col), "date", diff.alias(value))
            .sort([*by, "date"]))


def fit_contrast(panel: pl.DataFrame, design: EventDesign, treated: str, controls: Sequence[str],
                 col: str = "country", errors: str = "ar1", seasonality: str = "dow", alpha: float = 0.05,
                 window_days: int = 14) -> EventFit:
    """The per-event model of :func:`analysis.models.events.fit.fit_events` on the contrast series
    (one per app and store; the ``country`` key holds the contrast label), with the parallel-trends
    test of each contrast in the diagnostics (``pt_slope_difference``, ``pt_se``, ``pt_p_value``,
    ``pt_parallel``) and a warning where the pre-period trends differ."""
    keys = [k for k in ("app_name", "country", "store") if k != col]
    cp = contrast_panel(panel, col, treated, controls, keys, "rank")
    fit = fit_events(cp, design, errors=errors, seasonality=seasonality, alpha=alpha, window_days=window_days,
                     transform="none")
    first = float((design.first_event - design.start).days)
    rows = []
    for key, g in cp.group_by([*keys, col], maintain_order=True):
        t = (g["date"] - design.start).dt.total_days().to_numpy().astype(float)
        pt = parallel_trends(g["rank"].to_numpy(), t, first, g["date"].dt.weekday().to_numpy(), seasonality, errors)
        rows.append(dict(zip([*keys, col], key, strict=True)) | {f"pt_{k}": v for k, v in pt.as_dict().items()})
    pt_df = pl.DataFrame(rows).with_columns(pl.col("pt_parallel").cast(pl.Boolean))  # all-null: untestable everywhere
    diag = fit.diagnostics.join(pt_df, on=[*keys, col], how="left").with_columns(
        pl.when(pl.col("pt_parallel").is_null())
        .then(pl.concat_str([pl.col("warnings"), pl.when(pl.col("warnings") != "").then(pl.lit("; ")).otherwise(pl.lit("")),
                             pl.lit("pre-period too short to test parallel trends")]))
        .when(pl.col("pt_parallel").not_())
        .then(pl.concat_str([pl.col("warnings"), pl.when(pl.col("warnings") != "").then(pl.lit("; ")).otherwise(pl.lit("")),
                             pl.lit("pre-period trends differ (slope difference p = "),
                             pl.col("pt_p_value").round_sig_figs(2).cast(pl.String),
                             pl.lit("): the controls are not a valid comparison")]))
        .otherwise(pl.col("warnings")).alias("warnings"))
    return EventFit(fit.effects, diag, design)
