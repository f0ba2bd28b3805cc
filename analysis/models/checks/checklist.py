"""The Lopez Bernal checklist card: what an ITS analysis must declare and check.

After Lopez Bernal, Cummins & Gasparrini (2017, Int J Epidemiol 46:348): the impact model is
chosen before looking at the data; enough points before and after; seasonality; residual
autocorrelation; overdispersion of counts; and other events near the intervention (time-varying
confounders), plus how chart-depth censoring was handled and whether controls are valid.
Each item is ``ok``, ``warn`` or ``n/a`` with a one-line detail; the card works for one fit or a
panel (counts of series).
"""

from __future__ import annotations

import polars as pl

from analysis.models.engine.design import Impact, Seasonality
from analysis.models.engine.estimate import AUTOCORR_P, OVERDISPERSION
from analysis.models.its.model import ITSSpec

MIN_POINTS = 8  # before and after the intervention (Penfold & Zhang 2013; Lopez Bernal 2017)


def _count(diag: pl.DataFrame, expr: pl.Expr) -> int:
    return int(diag.select(expr.sum()).item()) if diag.height else 0


def _censoring_note(spec) -> str:
    model = "AR(1) censored composite likelihood" if spec.errors == "ar1" else "Tobit-type likelihood"
    return (f"days below rank {spec.chart_depth} are right-censored and rank 1 left-censored, days without a "
            f"chart snapshot are gaps ({model}); a series below the chart all pre-period gets a bound, not an estimate")


def checklist_card(spec: ITSSpec, diagnostics: pl.DataFrame, events: pl.DataFrame | None = None,
                   confounder_days: int = 3, control_check: pl.DataFrame | None = None,
                   n_skipped: int = 0) -> pl.DataFrame:
    """The checklist as a table (item, status, detail) for the fits summarised in ``diagnostics``
    (one row per fitted series, as returned by ``fit_panel`` / ``fit_frame``)."""
    from analysis.data.events import events_near

    n = diagnostics.height
    rows: list[tuple[str, str, str]] = []
    imp = Impact.parse(spec.impact)
    dates = ", ".join(d.isoformat() for d in spec.interventions)
    rows.append(("impact model declared before fitting", "ok",
                 f"{imp.describe()}; intervention(s) {dates}; window {spec.start} .. {spec.end}"))
    short = _count(diagnostics, (pl.col("n_pre") < MIN_POINTS) | (pl.col("n_post") < MIN_POINTS)) if n else 0
    rows.append(("enough points before and after", "warn" if short else "ok",
                 f"{short} of {n} series have fewer than {MIN_POINTS} points on one side" if short else
                 f"all {n} fitted series have >= {MIN_POINTS} points on each side"
                 + (f"; {n_skipped} series not estimable (listed separately)" if n_skipped else "")))
    season = Seasonality.parse(spec.seasonality)
    rows.append(("seasonality", "ok" if season.kind != "none" else "warn",
                 season.describe() if season.kind != "none" else
                 "no seasonal terms: weekly chart cycles end up in the residuals"))
    if n and "ljung_box_p" in diagnostics.columns:
        bad = _count(diagnostics, pl.col("ljung_box_p") < AUTOCORR_P)
        robust = spec.errors not in ("iid", "hac")
        if spec.errors in ("iid", "hac") and not spec.censored and spec.family == "gaussian":
            status = "warn" if bad else "ok"
            detail = (f"{bad} of {n} series have residual autocorrelation (Ljung-Box p < {AUTOCORR_P}); "
                      f"{spec.errors.upper()} intervals are then too narrow (see the coverage simulation in "
                      "04_robustness); use errors='ar1'")
        else:
            status = "warn" if bad else "ok"
            detail = (f"error model: {spec.model.describe_errors()}; {bad} of {n} series still show "
                      f"autocorrelated {'innovations' if robust else 'residuals'} (Ljung-Box p < {AUTOCORR_P})")
        rows.append(("autocorrelation", status, detail))
    else:
        rows.append(("autocorrelation", "n/a", "no residual diagnostics computed"))
    if spec.family == "gaussian":
        rows.append(("overdispersion", "n/a", "continuous outcome (log rank); not a count model"))
    else:
        over = _count(diagnostics, pl.col("dispersion") > OVERDISPERSION) if n else 0
        handled = spec.family in ("quasipoisson", "negbin") or spec.errors == "hac"
        rows.append(("overdispersion", "ok" if handled or not over else "warn",
                     f"{over} of {n} series have Pearson dispersion > {OVERDISPERSION}; "
                     + ("handled by the model" if handled else "Poisson intervals are too narrow")))
    if spec.censored:
        rows.append(("chart-depth censoring", "ok", _censoring_note(spec)))
    else:
        cov = _count(diagnostics, (pl.col("n") < spec.pre_days + spec.post_days)) if n else 0
        rows.append(("chart-depth censoring", "warn" if cov else "ok",
                     f"{cov} of {n} series miss days (below the chart depth or removed); those days are "
                     "left out, which biases effects towards zero near the depth; censored=True models them"
                     if cov else "every fitted series is ranked on every day of the window"))
    if events is not None:
        near = pl.concat([events_near(events, d, confounder_days) for d in spec.interventions]).unique("event_id")
        others = near.filter(~pl.col("date_utc").is_in(list(spec.interventions)))
        rows.append(("confounding events nearby", "warn" if others.height else "ok",
                     (f"{others.height} other event(s) within {confounder_days} days: "
                      + "; ".join(f"{r['event_id']} {r['date_utc']}" for r in others.sort("date_utc", "event_id").iter_rows(named=True))
                      + " - an effect at the date cannot be attributed to one event alone (see alternative cutoffs)")
                     if others.height else f"no other curated event within {confounder_days} days"))
    else:
        rows.append(("confounding events nearby", "n/a", "no events table given"))
    if control_check is not None:
        rows.append(control_item(control_check))
    if "rho_pre" in diagnostics.columns and "rho" in diagnostics.columns:
        rows.append(rho_break_item(diagnostics))
    return pl.DataFrame(rows, schema=["item", "status", "detail"], orient="row")


def control_item(control_check: pl.DataFrame) -> tuple[str, str, str]:
    """Controls judged by parallel pre-period trends (``controls.control_trends``), not by whether
    they share the shock."""
    bad = control_check.filter(pl.col("parallel").not_().fill_null(True))
    return ("controls: parallel pre-period trends", "warn" if bad.height else "ok",
            ("controls whose pre-period trend differs from the treated series (or cannot be tested): "
             + ", ".join(sorted(set(bad["control"].to_list())))) if bad.height
            else "every control's pre-period slope matches the treated series' (p >= 0.05); "
                 "controls may share the common shocks")


def rho_break_item(diagnostics: pl.DataFrame) -> tuple[str, str, str]:
    """Unmodelled breaks: rho-hat at its bound, or the full-window rho-hat well above the
    pre-period-only one (thresholds of :mod:`analysis.models.events.fit`)."""
    from analysis.models.events.fit import RHO_AT_BOUND, RHO_JUMP

    d = diagnostics.filter(pl.col("rho").is_not_null())
    at_bound = _count(d, pl.col("rho") >= RHO_AT_BOUND)
    jump = _count(d, (pl.col("rho") - pl.col("rho_pre")) > RHO_JUMP)
    n = d.height
    if not n:
        return ("unmodelled breaks (rho-hat)", "n/a", "no AR(1) fit")
    detail = (f"{at_bound} of {n} series have rho-hat >= {RHO_AT_BOUND} (at its bound) and {jump} a full-window "
              f"rho-hat more than {RHO_JUMP} above the pre-period-only rho-hat: breaks the design does not model "
              "are absorbed by the errors" if at_bound or jump else
              f"no series has rho-hat at its bound or more than {RHO_JUMP} above its pre-period-only value")
    return ("unmodelled breaks (rho-hat)", "warn" if at_bound or jump else "ok", detail)


def model_card(spec: ITSSpec) -> pl.DataFrame:
    """The declared model as a two-column table (item, value), for every spec option."""
    from analysis.models.engine.batched import newey_west_lags

    m = spec.model
    outcome = {"log": "log(rank)", "none": "rank"}[spec.transform] if spec.family == "gaussian" else \
        f"count, {spec.family} with log link"
    errors = m.describe_errors()
    if spec.errors == "hac":
        errors += f"; {spec.hac_maxlags if spec.hac_maxlags is not None else newey_west_lags(spec.pre_days + spec.post_days)} lags at full coverage"
    return pl.DataFrame({
        "item": ["intervention(s) (first post day, UTC)", "window", "impact model", "outcome", "seasonality",
                 "errors and inference", "confidence level", "days without a rank"],
        "value": [
            ", ".join(d.isoformat() for d in spec.interventions),
            f"{spec.start} .. {spec.end} ({spec.pre_days} pre, {spec.post_days} post days)",
            Impact.parse(spec.impact).describe(),
            outcome,
            Seasonality.parse(spec.seasonality).describe(),
            errors,
            f"{(1 - spec.alpha):.0%}",
            (f"right-censored below rank {spec.chart_depth} (rank 1 left-censored) up to the last ranked day"
             if spec.censored else
             f"left out, not imputed; series with fewer than {spec.min_pre} pre- or {spec.min_post} post-period "
             "ranks are not estimated"),
        ],
    })
