"""Dose design for the privacy shock: WhatsApp's response per country as the dose of the common
shock, with a US-specific deplatforming term (a triple difference).

Estimand.  For a migration app ``a`` (Signal, Telegram...) and one store, let ``theta_c`` be its
effect in country ``c`` over the event window (the window-average log-rank effect against a
pre-period-only counterfactual, or one event term's level change) and ``d_c`` the same effect for
WhatsApp in ``c``: how hard the privacy notice hit WhatsApp there (its rank worsening, > 0).  The
meta-regression across countries

    theta_c = alpha + beta * d_c + gamma * 1[c = treated] + b_c + e_c,   b_c ~ N(0, tau^2),  e_c ~ N(0, se_c^2)

reads ``beta`` as the app's log-rank response per unit of WhatsApp's (the privacy channel,
identified by how the shock's strength varies across countries) and ``gamma`` as the treated
country's (US) effect *beyond* what its privacy-shock dose predicts: the deplatforming effect
as a triple difference (post vs pre, US vs other countries, net of the dose).  Assumptions: the
dose-response is linear and common to countries; no other US-specific shock in the window; the
dose is measured without error (WhatsApp's estimation error is ignored, which attenuates
``beta`` towards 0 and is noted).  Estimation: weighted least squares with weights
``1/(se_c^2 + tau^2)``, ``tau^2`` by the method of moments for meta-regression (DerSimonian &
Laird 1986 generalised; Raudenbush 2009), covariance ``(X'WX)^-1``, normal reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import special

TERMS = ("intercept", "dose", "treated")


@dataclass(frozen=True)
class DoseFit:
    """Coefficients (``intercept``, ``dose`` = beta, ``treated`` = gamma) with se and CI."""

    coefficients: pl.DataFrame  # term, estimate, se, ci_low, ci_high, p_value
    tau2: float
    n_groups: int
    data: pl.DataFrame  # country, theta, se, dose


def meta_regression(y: np.ndarray, se: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Random-effects meta-regression: (beta, covariance, tau^2) by the method of moments."""
    y, v = np.asarray(y, float), np.asarray(se, float) ** 2
    k, p = X.shape
    if k <= p:
        raise ValueError(f"{k} groups cannot identify {p} coefficients: need more countries")
    W = np.diag(1 / v)
    A = np.linalg.inv(X.T @ W @ X)
    P = W - W @ X @ A @ X.T @ W
    q = float(y @ P @ y)  # residual heterogeneity statistic Q_E
    tau2 = max(0.0, (q - (k - p)) / float(np.trace(P)))
    Ws = np.diag(1 / (v + tau2))
    cov = np.linalg.inv(X.T @ Ws @ X)
    beta = cov @ X.T @ Ws @ y
    return beta, cov, tau2


def dose_design(effects: pl.DataFrame, app: str, store: str, *, dose_app: str = "WhatsApp",
                treated: str = "us", estimand: str = "window_average", event_id: str | None = None,
                countries: Sequence[str] | None = None, alpha: float = 0.05) -> DoseFit:
    """Fit the dose design from an Effects frame (``fit_events`` output) for ``app`` in ``store``.

    ``estimand``/``event_id`` select the effect used for both the app and the dose
    (``window_average`` with a null event id by default).
    """
    sel = effects.filter(pl.col("store") == store, pl.col("estimand") == estimand, pl.col("kind") == "estimate",
                         pl.col("event_id").is_null() if event_id is None else pl.col("event_id") == event_id)
    if countries is not None:
        sel = sel.filter(pl.col("country").is_in(list(countries)))
    y = sel.filter(pl.col("app_name") == app).select("country", pl.col("estimate").alias("theta"), "se")
    d = sel.filter(pl.col("app_name") == dose_app).select("country", pl.col("estimate").alias("dose"))
    data = y.join(d, on="country", how="inner").sort("country")
    if treated not in data["country"].to_list():
        raise ValueError(f"no estimate for {app} and {dose_app} in the treated country {treated!r} ({store})")
    X = np.column_stack([np.ones(data.height), data["dose"].to_numpy(), (data["country"] == treated).to_numpy()])
    beta, cov, tau2 = meta_regression(data["theta"].to_numpy(), data["se"].to_numpy(), X.astype(float))
    se = np.sqrt(np.diag(cov))
    z = special.ndtri(1 - alpha / 2)
    coef = pl.DataFrame({"term": list(TERMS), "estimate": beta, "se": se, "ci_low": beta - z * se,
                         "ci_high": beta + z * se, "p_value": 2 * special.ndtr(-np.abs(beta / se))})
    return DoseFit(coef, tau2, data.height, data)
