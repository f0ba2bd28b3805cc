"""Controlled interrupted time series: comparison series that share the treated series' shocks.

A comparison series (another app, another country) that was exposed to the same background
(holidays, chart-wide churn) but not to the intervention removes that background:

- ``method="difference"``: model ``y_treated - mean(y_controls)`` (on the modelling scale, so
  a log-rank difference is a log rank ratio);
- ``method="regressors"``: add each control's outcome as a regressor (its coefficient is
  estimated, not assumed to be 1).

A control is only valid if it did not itself break at the intervention: :func:`control_breaks`
fits the declared model to each control alone and flags any with a level or slope change whose
interval excludes zero.  Days where the treated series or any control lacks a value are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from analysis.errors import InputError, NotEstimable
from analysis.models.engine import transform_outcome
from analysis.models.its import ITSResult, ITSSpec, fit_frame, fit_its, window_days

METHODS = ("difference", "regressors")


def _pick(panel: pl.DataFrame, key: dict[str, str]) -> pl.DataFrame:
    out = panel
    for k, v in key.items():
        out = out.filter(pl.col(k) == v)
    if out.is_empty():
        raise InputError(f"no rows for series {key}")
    return out


def _label(key: dict[str, str]) -> str:
    return "·".join(str(v) for v in key.values())


def control_matrix(panel: pl.DataFrame, controls: Sequence[dict[str, str]], spec: ITSSpec,
                   value: str = "rank") -> dict[str, np.ndarray]:
    """Each control's outcome on the window's days, on the modelling scale (NaN = no value)."""
    days = window_days(spec)
    out = {}
    for key in controls:
        s = _pick(panel, key).select("date", value)
        v = days.to_frame().join(s, on="date", how="left")[value].cast(pl.Float64).to_numpy()
        out[f"control:{_label(key)}"] = transform_outcome(v, spec.transform)
    return out


def fit_controlled(panel: pl.DataFrame, treated: dict[str, str], controls: Sequence[dict[str, str]],
                   spec: ITSSpec, method: str = "difference", value: str = "rank") -> ITSResult:
    """Fit the treated series against ``controls`` (dicts of key column -> value)."""
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, not {method!r}")
    if not controls:
        raise InputError("give at least one control series")
    if spec.censored or spec.family != "gaussian":
        raise InputError("controlled ITS is implemented for uncensored gaussian models")
    t = _pick(panel, treated)
    ctrl = control_matrix(panel, controls, spec, value)
    if method == "regressors":
        ff = fit_frame(t, spec, [], value, covariates=ctrl)
        if ff.skipped.height:
            raise NotEstimable(ff.skipped["reason"][0])
        diag = ff.diagnostics.drop("series").row(0, named=True)
        names = ff.grid.design.names
        params = dict(zip(names, map(float, ff.grid.fit.beta[0]), strict=True))
        res = ITSResult(spec, ff.effects.drop("series"), ff.paths.drop("series"), diag, params)
    else:
        days = window_days(spec)
        mean_ctrl = np.mean(np.vstack(list(ctrl.values())), axis=0)  # NaN if any control is missing
        tv = days.to_frame().join(t.select("date", value), on="date", how="left")[value].cast(pl.Float64).to_numpy()
        diff = transform_outcome(tv, spec.transform) - mean_ctrl
        frame = pl.DataFrame({"date": days, "diff": diff}).filter(pl.col("diff").is_not_nan())
        # the difference is already on the modelling scale: fit it untransformed
        res = fit_its(frame, spec.with_(transform="none"), value="diff")
        res.spec = spec
        if spec.transform == "log":
            res.effects = res.effects.with_columns(
                pl.col("estimate").exp().alias("ratio"), pl.col("ci_low").exp().alias("ratio_ci_low"),
                pl.col("ci_high").exp().alias("ratio_ci_high"))
    res.diagnostics |= {"control_method": method, "controls": ", ".join(_label(c) for c in controls)}
    return res


def control_breaks(panel: pl.DataFrame, controls: Sequence[dict[str, str]], spec: ITSSpec,
                   value: str = "rank") -> pl.DataFrame:
    """Did a proposed control itself change at the intervention?  One row per control and term,
    with ``broke`` true where the interval excludes zero (then it is not a valid control)."""
    rows = []
    for key in controls:
        ff = fit_frame(_pick(panel, key), spec, [], value, residuals=False)
        if ff.skipped.height:
            rows.append(pl.DataFrame({"control": [_label(key)], "term": [None], "estimate": [None],
                                      "ci_low": [None], "ci_high": [None], "p_value": [None],
                                      "broke": [None], "note": [ff.skipped["reason"][0]]},
                                     schema_overrides={"term": pl.String, "estimate": pl.Float64,
                                                       "ci_low": pl.Float64, "ci_high": pl.Float64,
                                                       "p_value": pl.Float64, "broke": pl.Boolean}))
            continue
        e = ff.effects.filter(pl.col("term") != "trend").select("term", "estimate", "ci_low", "ci_high", "p_value")
        rows.append(e.with_columns(
            pl.lit(_label(key)).alias("control"),
            ((pl.col("ci_low") > 0) | (pl.col("ci_high") < 0)).alias("broke"),
            pl.lit("").alias("note"),
        ).select("control", "term", "estimate", "ci_low", "ci_high", "p_value", "broke", "note"))
    return pl.concat(rows, how="vertical_relaxed")
