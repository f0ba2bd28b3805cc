"""Hand-made Effects frames (the contract of analysis.models.events.design) for the answer tests."""

from __future__ import annotations

from datetime import date

import polars as pl

WINDOW = {"window_start": date(2021, 1, 9), "window_end": date(2021, 1, 22)}
SCHEMA = {"app_name": pl.String, "country": pl.String, "store": pl.String, "event_id": pl.String,
          "estimand": pl.String, "kind": pl.String, "estimate": pl.Float64, "se": pl.Float64,
          "ci_low": pl.Float64, "ci_high": pl.Float64, "side": pl.String, "bound": pl.Float64,
          "reason": pl.String, "window_start": pl.Date, "window_end": pl.Date, "best_rank": pl.Int64}


def row(app, country, store, event, estimand, kind="estimate", e=None, lo=None, hi=None, side=None, bound=None,
        reason=None, best=None) -> dict:
    r = {"app_name": app, "country": country, "store": store, "event_id": event, "estimand": estimand,
         "kind": kind, "estimate": e, "se": None if e is None else (hi - lo) / 3.92, "ci_low": lo, "ci_high": hi,
         "side": side, "bound": bound, "reason": reason, "window_start": None, "window_end": None,
         "best_rank": best}
    if event is None:
        r.update(WINDOW)
    return r


def effects() -> pl.DataFrame:
    rows = [
        row("Signal", "us", "ios", None, "window_average", e=-3.7, lo=-4.1, hi=-3.2, best=1),
        row("Signal", "us", "ios", "X04+X05", "level", e=-1.6, lo=-2.0, hi=-1.2, best=1),
        row("Signal", "us", "ios", "X01", "level", kind="bound", side="upper", bound=-1.1,
            reason="the pre-period is below the chart depth"),
        row("Signal", "us", "ios", "X03", "level", kind="not_identified", reason="every pre-period day is censored"),
        row("Telegram", "gb", "ios", None, "window_average", e=-1.2, lo=-1.6, hi=-0.8, best=4),
        row("Telegram", "gb", "ios", "X01", "level", e=-0.9, lo=-1.1, hi=-0.7, best=4),
        row("Telegram", "gb", "ios", "X01", "slope", e=-0.03, lo=-0.05, hi=-0.01, best=4),
        row("Telegram", "us", "ios", None, "window_average", e=-2.0, lo=-2.5, hi=-1.5, best=2),
        row("Telegram", "us", "ios", "X04+X05", "level", e=-0.8, lo=-1.3, hi=-0.3, best=2),
        row("Telegram", "us", "ios", "X03", "level", e=0.05, lo=-0.2, hi=0.3, best=2),
        row("WhatsApp", "in", "ios", None, "window_average", e=0.4, lo=0.2, hi=0.6, best=2),
    ]
    return pl.DataFrame(rows, schema=SCHEMA)


def truth() -> pl.DataFrame:
    return pl.DataFrame({
        "app_name": ["Signal", "Signal", "Telegram", "Telegram", "Telegram", "WhatsApp"],
        "country": ["us", "us", "gb", "gb", "us", "in"], "store": ["ios"] * 6,
        "event_id": [None, "X04+X05", None, "X01", "X03", None],
        "estimand": ["window_average", "level", "window_average", "level", "level", "window_average"],
        "true_value": [-3.9, -1.5, -1.0, -1.3, 0.0, 0.5],
    }, schema_overrides={"event_id": pl.String})
