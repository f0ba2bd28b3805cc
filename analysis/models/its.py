"""Segmented regression for one interrupted time series (Lopez Bernal et al. 2017).

    y_t = b0 + b1 * t + b2 * post_t + b3 * (t - t0) * post_t + dow_t' g + e_t

``t`` counts days from the window start, ``post_t = 1[date >= intervention]``; ``b2`` is the
level change and ``b3`` the slope change at the intervention.  Standard errors are
Newey-West (HAC) with the lag rule ``floor(4 (n/100)^(2/9))`` (Newey & West 1994) and a
t reference distribution; the counterfactual is the fitted pre-period model continued
(``post = 0``), with a confidence interval from the HAC covariance.

With ``transform="log"`` the outcome is log(rank): ``exp(b2)`` is the ratio of ranks after vs
without the intervention (below 1 = the app climbed the chart).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl

from analysis.errors import NotEstimable

TRANSFORMS = ("log", "none")
SEASONALITY = ("dow", "none")


@dataclass(frozen=True)
class ITSSpec:
    """What to fit: declared before fitting (the impact model is not chosen from the data)."""

    intervention: date
    pre_days: int = 60
    post_days: int = 30
    transform: str = "log"
    seasonality: str = "dow"
    alpha: float = 0.05
    hac_maxlags: int | None = None  # None: Newey-West (1994) rule
    min_pre: int = 14
    min_post: int = 7

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {TRANSFORMS}, not {self.transform!r}")
        if self.seasonality not in SEASONALITY:
            raise ValueError(f"seasonality must be one of {SEASONALITY}, not {self.seasonality!r}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), not {self.alpha}")

    @property
    def start(self) -> date:
        return self.intervention - timedelta(days=self.pre_days)

    @property
    def end(self) -> date:
        """Last day of the window (inclusive): the post period has ``post_days`` days."""
        return self.intervention + timedelta(days=self.post_days - 1)


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
        spec = asdict(self.spec)
        spec["intervention"] = self.spec.intervention.isoformat()
        return {"spec": spec, "effects": self.effects.to_dicts(), "diagnostics": self.diagnostics}


def newey_west_lags(n: int) -> int:
    """Newey & West (1994) automatic lag: floor(4 (n/100)^(2/9))."""
    return int(math.floor(4 * (n / 100) ** (2 / 9)))


def design(dates: pl.Series, spec: ITSSpec) -> tuple[np.ndarray, list[str]]:
    """Design matrix for the segmented regression on the given (possibly gappy) dates."""
    d = dates.to_numpy().astype("datetime64[D]").astype(np.int64)
    t = (d - np.datetime64(spec.start, "D").astype(np.int64)).astype(float)
    t0 = float(spec.pre_days)
    post = (t >= t0).astype(float)
    cols = [np.ones_like(t), t, post, (t - t0) * post]
    names = ["intercept", "trend", "level", "slope"]
    if spec.seasonality == "dow":
        weekday = dates.dt.weekday().to_numpy()  # Mon = 1 .. Sun = 7; Monday is the reference
        for k, name in enumerate(["tue", "wed", "thu", "fri", "sat", "sun"], start=2):
            cols.append((weekday == k).astype(float))
            names.append(f"dow_{name}")
    return np.column_stack(cols), names


def fit_its(series: pl.DataFrame, spec: ITSSpec, value: str = "rank") -> ITSResult:
    """Fit the segmented regression to ``series`` (columns ``date`` and ``value``).

    Rows outside the window are ignored; days without a row (e.g. the app was below the chart
    depth) are missing and are *not* imputed: they reduce n and are reported in the
    diagnostics as coverage.  Raises :class:`NotEstimable` when the window has fewer than
    ``spec.min_pre`` pre-period or ``spec.min_post`` post-period observations.
    """
    import statsmodels.api as sm
    from scipy import stats
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.stats.stattools import durbin_watson

    win = series.filter(pl.col("date").is_between(spec.start, spec.end)).sort("date")
    win = win.filter(pl.col(value).is_not_null())
    n_pre = win.filter(pl.col("date") < spec.intervention).height
    n_post = win.height - n_pre
    if n_pre < spec.min_pre or n_post < spec.min_post:
        raise NotEstimable(
            f"{n_pre} of {spec.pre_days} pre-period and {n_post} of {spec.post_days} post-period "
            f"days observed (need at least {spec.min_pre} and {spec.min_post}); days without a "
            "rank are below the chart depth (censored) or after a store removal"
        )
    raw = win[value].cast(pl.Float64).to_numpy()
    y = np.log(raw) if spec.transform == "log" else raw
    X, names = design(win["date"], spec)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise NotEstimable("design matrix is rank deficient (too few distinct days in a segment)")
    lags = spec.hac_maxlags if spec.hac_maxlags is not None else newey_west_lags(len(y))
    res = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True)
    beta, cov = np.asarray(res.params), np.asarray(res.cov_params())
    se = np.sqrt(np.diag(cov))
    df_resid = float(res.df_resid)
    tcrit = float(stats.t.ppf(1 - spec.alpha / 2, df_resid))

    rows = []
    for term in ("level", "slope", "trend"):
        j = names.index(term)
        est, s = float(beta[j]), float(se[j])
        row = {
            "term": term,
            "estimate": est,
            "se": s,
            "ci_low": est - tcrit * s,
            "ci_high": est + tcrit * s,
            "p_value": float(2 * stats.t.sf(abs(est / s), df_resid)) if s > 0 else float("nan"),
        }
        if spec.transform == "log":
            row |= {
                "ratio": math.exp(est),
                "ratio_ci_low": math.exp(row["ci_low"]),
                "ratio_ci_high": math.exp(row["ci_high"]),
            }
        rows.append(row)
    effects = pl.DataFrame(rows)

    # Counterfactual: switch the intervention terms off.
    Xcf = X.copy()
    Xcf[:, names.index("level")] = 0.0
    Xcf[:, names.index("slope")] = 0.0
    cf = Xcf @ beta
    cf_se = np.sqrt(np.einsum("ij,jk,ik->i", Xcf, cov, Xcf))
    D = X - Xcf  # only the intervention columns
    eff = D @ beta
    eff_se = np.sqrt(np.einsum("ij,jk,ik->i", D, cov, D))
    fitted = X @ beta
    path = pl.DataFrame(
        {
            "date": win["date"],
            "post": X[:, names.index("level")].astype(bool),
            "observed": y,
            "fitted": fitted,
            "counterfactual": cf,
            "cf_low": cf - tcrit * cf_se,
            "cf_high": cf + tcrit * cf_se,
            "effect": eff,
            "effect_low": eff - tcrit * eff_se,
            "effect_high": eff + tcrit * eff_se,
        }
    )
    resid = np.asarray(res.resid)
    lb_lags = max(1, min(14, len(resid) // 5))
    lb = acorr_ljungbox(resid, lags=[lb_lags])
    diagnostics = {
        "n": len(y),
        "n_pre": n_pre,
        "n_post": n_post,
        "coverage_pre": n_pre / spec.pre_days,
        "coverage_post": n_post / spec.post_days,
        "hac_maxlags": lags,
        "durbin_watson": float(durbin_watson(resid)),
        "ljung_box_lag": lb_lags,
        "ljung_box_p": float(np.asarray(lb["lb_pvalue"])[0]),
        "residual_acf1": float(np.corrcoef(resid[:-1], resid[1:])[0, 1]),
        "r_squared": float(res.rsquared),
    }
    return ITSResult(spec, effects, path, diagnostics, dict(zip(names, map(float, beta), strict=True)))
