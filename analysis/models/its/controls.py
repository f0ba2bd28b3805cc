"""Controlled interrupted time series: comparison series that share the treated series' shocks.

A comparison series (another app, another country) that was exposed to the same background
(holidays, chart-wide churn) but not to the intervention removes that background:

- ``method="difference"``: model ``y_treated - mean(y_controls)`` (on the modelling scale, so
  a log-rank difference is a log rank ratio);
- ``method="regressors"``: add each control's outcome as a regressor (its coefficient is
  estimated, not assumed to be 1).

Controls are *supposed* to share the common shocks (the WhatsApp notice moved every country), so
"the control did not break at the intervention" is the wrong test: it rejects exactly the
controls a difference design needs.  What a control must satisfy is parallel trends before the
intervention: :func:`control_trends` tests, for each control, the pre-period slope of the
treated-minus-control difference (:func:`analysis.models.events.contrast.parallel_trends`).  Days where
the treated series or any control lacks a value are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from analysis.errors import InputError, NotEstimable
from analysis.models.engine.estimate import transform_outcome
from analysis.models.its.model import ITSResult, ITSSpec, fit_frame, fit_its, window_days

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


def control_trends(panel: pl.DataFrame, treated: dict[str, str], controls: Sequence[dict[str, str]],
                   spec: ITSSpec, value: str = "rank") -> pl.DataFrame:
    """Parallel pre-period trends of the treated series and each control: one row per control
    with the slope difference (treated minus control, per day), its se and p-value, and
    ``parallel`` (p >= 0.05; null when the pre-period is too short to test)."""
    from analysis.models.events.contrast import parallel_trends

    days = window_days(spec)
    t = (days - spec.start).dt.total_days().to_numpy().astype(float)
    tv = days.to_frame().join(_pick(panel, treated).select("date", value), on="date", how="left")[value]
    ty = transform_outcome(tv.cast(pl.Float64).to_numpy(), spec.transform)
    errors = spec.errors if spec.errors in ("iid", "hac", "ar1") else "ar1"
    rows = []
    for name, cy in control_matrix(panel, controls, spec, value).items():
        pt = parallel_trends(ty - cy, t, float(spec.pre_days), days.dt.weekday().to_numpy(), spec.seasonality, errors)
        rows.append({"control": name.removeprefix("control:")} | pt.as_dict())
    return pl.DataFrame(rows, schema_overrides={"parallel": pl.Boolean})
