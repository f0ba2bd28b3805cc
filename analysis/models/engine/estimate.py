"""One entry point from a model specification and series on a regular grid to tidy results.

:func:`fit_grid` fits ``S`` series sharing one design (same periods, same interventions) with
the batched estimators and returns a :class:`GridFit`; :func:`effects_frame`,
:func:`path_frame` and :func:`diagnostics_frame` turn it into polars frames with a ``series``
index the caller maps back to its keys (app, country, group...).

Errors and families:

==============  ===========================================================================
``iid``         OLS, classical covariance, t(n-k)
``hac``         OLS, Newey-West covariance (lags floor(4 (n/100)^(2/9))), t(n-k)
``ar1``         regression with AR(1) errors, exact ML (= SARIMAX(1,0,0) with regressors),
                GLS covariance, t(n-k-1)
``ar1-reml``    as ``ar1`` with rho by restricted ML (less biased, closer to nominal coverage)
``arP``         P = 2..9: regression with AR(P) errors by statsmodels SARIMAX (one series at a
                time), observed-information covariance, normal reference
``poisson``...  log-link count models (``glm.py``), ``iid`` or ``hac`` only
``censored``    Tobit-type likelihood (``censored.py``) with ``iid`` or ``hac`` errors, or with
                AR(1) errors (``ar1``) by pairwise composite likelihood (``censored_ar1.py``)
==============  ===========================================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import special

from analysis.models.engine import ar as ar_mod
from analysis.models.engine import batched, censored_ar1, diagnostics, glm
from analysis.models.engine import tobit as censored
from analysis.models.engine.design import Design, Impact, Seasonality, build_design

TRANSFORMS = ("log", "none")
ERRORS = ("iid", "hac", "ar1", "ar1-reml", "arP")
FAMILIES = glm.FAMILIES
AUTOCORR_P = 0.05  # Ljung-Box p below which iid/HAC intervals are flagged as too narrow
OVERDISPERSION = 1.5  # Pearson dispersion above which Poisson intervals are flagged
RHO_NEAR_ONE = 0.95  # AR(1) coefficient above which a fit is flagged as close to a random walk
RHO_AT_LOWER = ar_mod.RHO_BOUNDS[0] + 1e-3  # rho-hat at the optimiser's lower bound: a degenerate fit


def ar_order(errors: str) -> int | None:
    """The AR order of an ``arP`` error model (``ar1``, ``ar1-reml`` give 1), else None."""
    if errors in ("ar1", "ar1-reml"):
        return 1
    m = re.fullmatch(r"ar([2-9])", errors)
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class ModelSpec:
    """What to fit, declared before fitting; invalid combinations raise ``ValueError``."""

    impact: str = "step+slope"
    seasonality: str = "dow"
    errors: str = "hac"
    family: str = "gaussian"
    transform: str = "log"
    censored: bool = False
    alpha: float = 0.05
    hac_maxlags: int | None = None
    hac_correction: bool = True  # OLS HAC: n/(n-k) as Stata's newey (statsmodels: use_correction=True)

    def __post_init__(self) -> None:
        Impact.parse(self.impact)
        Seasonality.parse(self.seasonality)
        if self.transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {TRANSFORMS}, not {self.transform!r}")
        if self.errors not in ("iid", "hac") and ar_order(self.errors) is None:
            raise ValueError(f"errors must be one of {ERRORS} (P = 2..9), not {self.errors!r}")
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, not {self.family!r}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), not {self.alpha}")
        if self.family != "gaussian":
            if self.transform != "none":
                raise ValueError(f"family {self.family!r} has a log link already; use transform 'none'")
            if self.errors not in ("iid", "hac"):
                raise ValueError(f"family {self.family!r} supports errors 'iid' or 'hac', not {self.errors!r}")
            if self.censored:
                raise ValueError("censoring is modelled for the gaussian family only")
        if self.censored and self.errors not in ("iid", "hac", "ar1"):
            raise ValueError(f"censored models support errors 'iid', 'hac' or 'ar1', not {self.errors!r}")
        if self.hac_maxlags is not None and self.hac_maxlags < 0:
            raise ValueError("hac_maxlags must be >= 0")

    @property
    def log_scale(self) -> bool:
        """Effects are on a log scale (log transform or log link): report ratios."""
        return self.transform == "log" or self.family != "gaussian"

    @property
    def impact_obj(self) -> Impact:
        return Impact.parse(self.impact)

    @property
    def seasonality_obj(self) -> Seasonality:
        return Seasonality.parse(self.seasonality)

    def describe_errors(self) -> str:
        if self.family != "gaussian":
            base = {"poisson": "Poisson (log link)", "quasipoisson": "quasi-Poisson (log link, Pearson dispersion)",
                    "negbin": "negative binomial NB2 (log link, alpha by ML)"}[self.family]
            return base + ("; Newey-West HAC sandwich" if self.errors == "hac" else "; model-based covariance")
        if self.censored and self.errors == "ar1":
            return ("censored likelihood with AR(1) errors (pairwise composite conditional likelihood), "
                    "covariance from the composite information, t reference")
        if self.censored:
            return ("censored (Tobit-type) likelihood; " + (
                "Newey-West sandwich of the score contributions" if self.errors == "hac"
                else "inverse observed information") + ", normal reference")
        return {
            "iid": "OLS, classical (iid) standard errors, t reference",
            "hac": "OLS, Newey-West HAC standard errors (lags floor(4(n/100)^(2/9))), t reference",
            "ar1": "AR(1) errors, exact maximum likelihood (GLS at rho-hat), t reference",
            "ar1-reml": "AR(1) errors, restricted maximum likelihood (GLS at rho-hat), t reference",
        }.get(self.errors, f"AR({ar_order(self.errors)}) errors by SARIMAX maximum likelihood, normal reference")

    def as_dict(self) -> dict[str, object]:
        return {"impact": self.impact, "seasonality": self.seasonality, "errors": self.errors,
                "family": self.family, "transform": self.transform, "censored": self.censored,
                "alpha": self.alpha}


@dataclass
class GridFit:
    """The fit of ``S`` series on a grid of ``T`` periods with one design."""

    model: ModelSpec
    design: Design
    fit: batched.BatchFit
    packed: batched.Packed
    t: np.ndarray  # (T,) time index of the grid
    cutoffs: tuple[float, ...]
    n_pre: np.ndarray  # (S,) rows before the first intervention
    n_post: np.ndarray
    offset: np.ndarray | None = None  # (S, T) grid log-exposure
    flag: np.ndarray | None = None  # (S, T) grid censoring flags
    y_grid: np.ndarray | None = None  # (S, T) modelling-scale outcome on the grid (NaN = missing)
    extra_diag: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def S(self) -> int:
        return self.y_grid.shape[0]

    def crit(self) -> np.ndarray:
        """Critical value of each series' two-sided interval."""
        a = self.model.alpha
        if self.fit.dist == "t":
            return special.stdtrit(np.where(self.fit.df_resid > 0, self.fit.df_resid, np.nan), 1 - a / 2)
        return np.full(self.S, special.ndtri(1 - a / 2))

    def pvalue(self, z: np.ndarray) -> np.ndarray:
        if self.fit.dist == "t":
            df = np.where(self.fit.df_resid > 0, self.fit.df_resid, np.nan)
            return 2 * special.stdtr(df[:, None] if z.ndim == 2 else df, -np.abs(z))
        return 2 * special.ndtr(-np.abs(z))


def transform_outcome(values: np.ndarray, transform: str) -> np.ndarray:
    """Modelling scale of an outcome: log or as is (NaN stays NaN)."""
    if transform == "log":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(values)
    return np.asarray(values, dtype=float)


def _ar_p(p: batched.Packed, design_X: np.ndarray, y_grid: np.ndarray, order: int) -> batched.BatchFit:
    """AR(P) errors via statsmodels SARIMAX on the full grid (NaN rows skipped by the filter)."""
    import warnings

    import statsmodels.api as sm

    S, T, k = p.shape
    beta = np.zeros((S, k))
    cov = np.tile(np.eye(k), (S, 1, 1))
    ok = np.zeros(S, dtype=bool)
    reason = [""] * S
    phis = np.zeros((S, order))
    llf = np.full(S, np.nan)
    for s in range(S):  # no batched AR(P) likelihood: statsmodels, one series at a time
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = sm.tsa.SARIMAX(y_grid[s], exog=design_X, order=(order, 0, 0), trend="n")
                r = m.fit(disp=False, method="bfgs", maxiter=1000, gtol=1e-8, cov_type="oim")
            beta[s], cov[s] = r.params[:k], np.asarray(r.cov_params())[:k, :k]
            phis[s], llf[s], ok[s] = r.params[k:k + order], r.llf, bool(np.all(np.isfinite(r.bse[:k])))
            reason[s] = "" if ok[s] else "SARIMAX covariance not finite"
        except (np.linalg.LinAlgError, ValueError) as exc:
            reason[s] = f"SARIMAX failed: {exc}"
    fitted = np.einsum("stk,sk->st", p.X, beta)
    resid = np.where(p.mask, p.y - fitted, 0.0)
    extra = {"loglik": llf} | {f"ar{i + 1}": phis[:, i] for i in range(order)}
    return batched.BatchFit(beta, cov, (p.n - k).astype(float), "normal", fitted, resid, resid, ok, reason, extra)


def fit_grid(
    y: np.ndarray,
    t: np.ndarray,
    cutoffs: Sequence[float],
    model: ModelSpec,
    *,
    labels: Sequence[str] | None = None,
    weekday: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    flag: np.ndarray | None = None,
    covariates: Mapping[str, np.ndarray] | None = None,
    residuals: bool = True,
    impacts: Sequence[Impact] | None = None,
    name_all: bool = False,
) -> GridFit:
    """Fit every row of ``y`` (S, T; modelling scale, NaN = missing) on the grid ``t``.

    ``offset``: (S, T) log-exposure for count families; ``flag``: (S, T) censoring flags (0
    observed, +1 right-, -1 left-censored; ``y`` holds the threshold on censored rows);
    ``covariates``: extra regressors on the grid (shared by all series); ``impacts``: one shape
    per cutoff instead of ``model.impact`` (per-event designs), ``name_all``: name every term
    ``TERM@LABEL`` (see :func:`analysis.models.engine.design.build_design`).
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    t = np.asarray(t, dtype=float)
    shapes = list(impacts) if impacts is not None else model.impact_obj
    design = build_design(t, list(cutoffs), shapes, model.seasonality_obj, weekday, labels, covariates, name_all)
    aux = {}
    if offset is not None:
        aux["offset"] = offset
    if flag is not None:
        aux["flag"] = flag.astype(float)
    p = batched.pack(design.X, y, t, **aux)
    order = ar_order(model.errors)
    if model.family != "gaussian":
        f = glm.glm(p, model.family, model.errors, p.aux.get("offset"), model.hac_maxlags)
    elif model.censored:
        fl = p.aux.get("flag", np.zeros_like(p.y))
        f = (censored_ar1.tobit_ar1(p, fl) if model.errors == "ar1"
             else censored.tobit(p, fl, model.errors, model.hac_maxlags))
    elif order == 1:
        f = ar_mod.ar1(p, residuals=residuals, method="reml" if model.errors == "ar1-reml" else "ml")
    elif order is not None:
        f = _ar_p(p, design.X, y, order)
    else:
        f = batched.ols(p, model.errors, model.hac_maxlags, model.hac_correction)
        n = p.n.astype(float)
        ssr = np.einsum("st,st->s", f.resid, f.resid)
        f.extra["loglik"] = -0.5 * n * (np.log(2 * np.pi * ssr / n) + 1)
    obs = ~np.isnan(y)
    pre = t[None, :] < cutoffs[0]
    return GridFit(model, design, f, p, t, tuple(float(c) for c in cutoffs),
                   (obs & pre).sum(axis=1), (obs & ~pre).sum(axis=1), offset, flag, y)


def _ratio_cols(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        pl.col("estimate").exp().alias("ratio"),
        pl.col("ci_low").exp().alias("ratio_ci_low"),
        pl.col("ci_high").exp().alias("ratio_ci_high"),
    )


def effects_frame(g: GridFit, terms: Sequence[str] | None = None) -> pl.DataFrame:
    """One row per estimable series and term: estimate, se, ci_low, ci_high, p_value (+ ratios).

    ``terms`` defaults to the intervention terms followed by ``trend``.
    """
    terms = list(terms) if terms is not None else [*g.design.effect_terms, "trend"]
    idx = [g.design.col(term) for term in terms]
    est = g.fit.beta[:, idx]
    se = g.fit.se[:, idx]
    q = g.crit()[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        pv = np.where(se > 0, g.pvalue(est / se), np.nan)
    S = g.S
    df = pl.DataFrame({
        "series": np.repeat(np.arange(S), len(terms)),
        "term": np.tile(np.array(terms, dtype=object), S).tolist(),
        "estimate": est.ravel(),
        "se": se.ravel(),
        "ci_low": (est - q * se).ravel(),
        "ci_high": (est + q * se).ravel(),
        "p_value": pv.ravel(),
    }).filter(pl.col("series").is_in(np.nonzero(g.fit.ok)[0].tolist()))
    return _ratio_cols(df) if g.model.log_scale else df


def contrast(g: GridFit, L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Estimates and standard errors of linear combinations ``L @ beta`` ((T, k) rows) per series."""
    est = np.einsum("tk,sk->st", L, g.fit.beta)
    var = np.einsum("tk,skl,tl->st", L, g.fit.cov, L)
    return est, np.sqrt(np.clip(var, 0, None))


def path_frame(g: GridFit, dates: Sequence | pl.Series) -> pl.DataFrame:
    """Observed, fitted and counterfactual (no intervention) paths with intervals, per series.

    One row per period that entered the likelihood (observed or censored).  ``effect`` is
    fitted minus counterfactual; ``cum_effect`` its running sum over every post-intervention
    period of the grid (observed or not) up to that date, with an interval.  Count families are
    shown on the log-rate scale (``observed`` = log(y / exposure)).
    """
    X = g.design.X
    Xcf = X.copy()
    Xcf[:, list(g.design.effect_cols)] = 0.0
    Dm = X - Xcf
    q = g.crit()[:, None]
    fitted, _ = contrast(g, X)
    cf, cf_se = contrast(g, Xcf)
    eff, eff_se = contrast(g, Dm)
    post = g.t >= g.cutoffs[0]
    cum, cum_se = contrast(g, np.cumsum(Dm * post[:, None], axis=0))
    observed = g.y_grid.copy()
    if g.model.family != "gaussian":
        with np.errstate(divide="ignore", invalid="ignore"):
            observed = np.log(np.where(observed > 0, observed, np.nan))
        if g.offset is not None:
            observed = observed - g.offset
    in_fit = ~np.isnan(g.y_grid)
    if g.offset is not None:
        in_fit &= ~np.isnan(g.offset)
    if g.flag is not None:
        observed = np.where(g.flag != 0, np.nan, observed)
    in_fit &= g.fit.ok[:, None]
    s_idx, t_idx = np.nonzero(in_fit)
    date_s = pl.Series("date", dates)
    cols = {
        "series": s_idx,
        "date": date_s.gather(t_idx),
        "post": post[t_idx],
        "observed": observed[s_idx, t_idx],
        "fitted": fitted[s_idx, t_idx],
        "counterfactual": cf[s_idx, t_idx],
        "cf_low": (cf - q * cf_se)[s_idx, t_idx],
        "cf_high": (cf + q * cf_se)[s_idx, t_idx],
        "effect": eff[s_idx, t_idx],
        "effect_low": (eff - q * eff_se)[s_idx, t_idx],
        "effect_high": (eff + q * eff_se)[s_idx, t_idx],
        "cum_effect": cum[s_idx, t_idx],
        "cum_effect_low": (cum - q * cum_se)[s_idx, t_idx],
        "cum_effect_high": (cum + q * cum_se)[s_idx, t_idx],
    }
    if g.flag is not None:
        cols["censored"] = (g.flag != 0)[s_idx, t_idx]
    return pl.DataFrame(cols)


def warnings_for(g: GridFit, diag: Mapping[str, np.ndarray]) -> list[str]:
    """Human-readable warnings per series, joined with '; ' (no message contains it); '' if none."""
    out = []
    m = g.model
    for s in range(g.S):
        w = []
        lb, acf1 = diag["ljung_box_p"][s], diag["residual_acf1"][s]
        if m.family == "gaussian" and not m.censored and m.errors in ("iid", "hac") and lb < AUTOCORR_P:
            w.append(f"residual autocorrelation (Ljung-Box p = {lb:.2g}, lag-1 ACF = {acf1:.2f}): "
                     f"{m.errors.upper() if m.errors == 'hac' else 'iid'} intervals are likely too narrow - "
                     "errors='ar1' models the autocorrelation")
        if ar_order(m.errors) == 1 and diag.get("rho", np.zeros(g.S))[s] <= RHO_AT_LOWER:
            w.append(f"rho-hat = {diag['rho'][s]:.3f} is at the lower bound of its search range: the AR(1) fit "
                     "is degenerate (typically too few rows per parameter, or an over-differenced series) - "
                     "its intervals are not reliable")
        if ar_order(m.errors) == 1 and diag.get("rho", np.zeros(g.S))[s] > RHO_NEAR_ONE:
            w.append(f"rho-hat = {diag['rho'][s]:.3f} is near 1: the fit is close to a random walk, so the level "
                     "change is identified from the days next to the cutoff only, and unmodelled breaks (other "
                     "events) or trends push rho towards 1 - check the alternative cutoffs")
        if ar_order(m.errors) and lb < AUTOCORR_P:
            w.append(f"autocorrelation remains in the AR innovations (Ljung-Box p = {lb:.2g})")
        if m.family == "poisson" and m.errors == "iid" and diag["dispersion"][s] > OVERDISPERSION:
            w.append(f"overdispersion (Pearson dispersion {diag['dispersion'][s]:.2f}): Poisson intervals "
                     "are too narrow - use quasipoisson or negbin")
        if m.family != "gaussian" and m.errors == "iid" and lb < AUTOCORR_P:
            w.append(f"autocorrelated Pearson residuals (Ljung-Box p = {lb:.2g}): use errors='hac'")
        out.append("; ".join(w))
    return out


def diagnostics_arrays(g: GridFit) -> dict[str, np.ndarray]:
    """Per-series diagnostics as arrays (residual tests on the model's innovations)."""
    f, p = g.fit, g.packed
    res = diagnostics.residual_summary(f.innov, p.mask)
    d: dict[str, np.ndarray] = {
        "n": p.n.astype(float), "n_pre": g.n_pre.astype(float), "n_post": g.n_post.astype(float),
        **res,
    }
    for key in ("hac_maxlags", "rho", "dispersion", "alpha", "sigma", "n_censored", "loglik", "ar1", "ar2"):
        if key in f.extra:
            d[key] = np.asarray(f.extra[key], dtype=float)
    if "loglik" in d:
        k = g.design.X.shape[1] + (1 if g.model.family != "poisson" and g.model.family != "quasipoisson" else 0)
        k += ar_order(g.model.errors) or 0
        d["aic"] = -2 * d["loglik"] + 2 * k
    if g.model.family == "gaussian" and not g.model.censored:
        y = np.where(p.mask, p.y, 0.0)
        mean = y.sum(axis=1) / np.maximum(p.n, 1)
        sst = np.einsum("st,st->s", np.where(p.mask, y - mean[:, None], 0.0), np.where(p.mask, y - mean[:, None], 0.0))
        d["r_squared"] = 1 - np.einsum("st,st->s", f.resid, f.resid) / np.where(sst > 0, sst, np.nan)
    return d


def diagnostics_frame(g: GridFit) -> pl.DataFrame:
    """One row per estimable series: counts, error-model parameters, residual tests, warnings."""
    d = diagnostics_arrays(g)
    ints = {"n", "n_pre", "n_post", "hac_maxlags", "ljung_box_lag", "n_censored"}
    cols: dict[str, object] = {"series": np.arange(g.S)}
    for key, v in d.items():
        cols[key] = v.astype(int) if key in ints else v
    cols["warnings"] = warnings_for(g, d)
    return pl.DataFrame(cols).filter(pl.col("series").is_in(np.nonzero(g.fit.ok)[0].tolist()))


def counts_frame(g: GridFit) -> pl.DataFrame:
    """Observation counts and error-model parameters only (no residual tests)."""
    cols: dict[str, object] = {"series": np.arange(g.S), "n": g.packed.n.astype(int),
                               "n_pre": g.n_pre.astype(int), "n_post": g.n_post.astype(int)}
    for key in ("rho", "dispersion", "alpha", "sigma", "loglik"):
        if key in g.fit.extra:
            cols[key] = np.asarray(g.fit.extra[key], dtype=float)
    return pl.DataFrame(cols).filter(pl.col("series").is_in(np.nonzero(g.fit.ok)[0].tolist()))


def skipped_reasons(g: GridFit) -> dict[int, str]:
    """Series that could not be estimated, with the reason."""
    return {s: g.fit.reason[s] or "not estimable" for s in range(g.S) if not g.fit.ok[s]}
