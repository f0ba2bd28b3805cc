"""Censored days vs gaps, and level bounds when the pre-period is below the chart."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from analysis.data.censoring import complete_daily
from analysis.models.its.censoring import level_bounds
from analysis.models.its.model import ITSSpec, fit_frame, grid_matrix

START = date(2020, 11, 9)
T0 = START + timedelta(days=60)
DEPTH = 200


def day(i: int) -> date:
    return START + timedelta(days=i)


def panel(ranks: dict[str, dict[int, int]], country: str = "us") -> pl.DataFrame:
    """Rows only where an app was ranked (as the chart panel has them)."""
    rows = [{"date": day(i), "app_name": a, "country": country, "rank": r}
            for a, rr in ranks.items() for i, r in sorted(rr.items())]
    return pl.DataFrame(rows, schema={"date": pl.Date, "app_name": pl.String, "country": pl.String, "rank": pl.Int64})


def noisy(rng, centre: float, days) -> dict[int, int]:
    return {i: max(1, int(round(np.exp(centre + rng.normal(0, 0.1))))) for i in days}


def test_days_without_a_snapshot_are_gaps_and_other_unranked_days_censored():
    rng = np.random.default_rng(0)
    no_snapshot = {30, 31}
    a = noisy(rng, 3.0, [i for i in range(90) if i not in no_snapshot])
    b = noisy(rng, 5.0, [i for i in range(90) if i % 3 and i not in no_snapshot])
    spec = ITSSpec(T0, 60, 30, censored=True, chart_depth=DEPTH)
    keydf, Y, flag = grid_matrix(panel({"A": a, "B": b}), ["app_name", "country"], spec, "rank")
    ib = keydf["app_name"].to_list().index("B")
    for i in no_snapshot:  # no chart that day: a gap for every app, never censored
        assert flag[:, i].tolist() == [0.0, 0.0] and np.isnan(Y[:, i]).all()
    assert flag[ib, 3] == 1.0 and np.isnan(Y[ib, 3])  # the chart was recorded, B was not in it
    assert int((flag[ib] > 0).sum()) == sum(1 for i in range(90) if i % 3 == 0 and i not in no_snapshot)
    # a second country's snapshots do not make the first one's missing days censored
    other = panel({"A": noisy(rng, 3.0, range(90))}, country="gb")
    _, _, flag2 = grid_matrix(pl.concat([panel({"A": a, "B": b}), other]), ["app_name", "country"], spec, "rank")
    assert flag2[:, 30].tolist() == [0.0, 0.0, 0.0]


def test_status_column_decides_and_no_snapshot_days_are_left_out_of_the_fit():
    rng = np.random.default_rng(1)
    ranks = noisy(rng, 4.8, [i for i in range(90) if i % 4 and i not in (40, 41, 42)])
    raw = panel({"A": ranks, "B": noisy(rng, 3.0, [i for i in range(90) if i not in (40, 41, 42)])})
    raw = raw.with_columns(pl.lit("ios").alias("store"), pl.lit("top_free").alias("chart"), pl.lit("a").alias("app_id"))
    done = complete_daily(raw, ["A", "B"], START, day(89), default_depth=DEPTH).filter(pl.col("app_name") == "A")
    assert done.filter(pl.col("status") == "no_snapshot").height == 3
    spec = ITSSpec(T0, 60, 30, censored=True, chart_depth=DEPTH, errors="ar1", seasonality="none")
    ff = fit_frame(done, spec, ["app_name"])
    d = ff.diagnostics.row(0, named=True)
    n_cens = sum(1 for i in range(90) if i % 4 == 0 and i not in (40, 41, 42))
    assert d["n_censored"] == n_cens and d["n"] == 90 - 3
    assert ff.effects["kind"].to_list() == ["estimate"] * ff.effects.height


def test_level_bound_when_the_pre_period_is_below_the_chart():
    rng = np.random.default_rng(2)
    first = [5, 3, 2]
    ranks = {
        "Ref": noisy(rng, 3.0, range(90)),  # keeps every chart day recorded
        "Signal": {60: first[0], 61: first[1], 62: first[2], **noisy(rng, 1.0, range(63, 90))},
        "Fast": {60: 3, 61: 1, 62: 1, **noisy(rng, 1.0, range(63, 90))},  # #1 on day 2: log(1.5) caps it
        "Late": noisy(rng, 2.0, range(65, 90)),  # still below the chart on the first post days
        "Top": {**{i: 1 for i in range(60)}, **noisy(rng, 2.5, range(60, 90))},  # #1 throughout the pre-period
    }
    frame = panel(ranks)
    b = level_bounds(frame, T0, DEPTH, keys=["app_name"], pre_days=60, post_days=30)
    row = {r["app_name"]: r for r in b.to_dicts()}
    assert row["Ref"]["kind"] == "estimate"
    s = row["Signal"]
    assert (s["kind"], s["side"], s["best_rank"]) == ("bound", "upper", min(ranks["Signal"].values()))
    assert s["bound"] == pytest.approx(np.mean(np.log(first)) - np.log(DEPTH + 0.5), abs=1e-12)
    assert (s["window_start"], s["window_end"]) == (T0, T0 + timedelta(days=2))
    assert s["estimate"] is None and s["ci_low"] is None and "at most" in s["reason"]
    assert row["Fast"]["bound"] == pytest.approx((np.log(3) + 2 * np.log(1.5)) / 3 - np.log(DEPTH + 0.5), abs=1e-12)
    assert row["Late"]["kind"] == "not_identified" and "not all observed" in row["Late"]["reason"]
    top = row["Top"]
    assert (top["kind"], top["side"]) == ("bound", "lower")
    post = [ranks["Top"][i] for i in (60, 61, 62)]
    assert top["bound"] == pytest.approx(np.mean(np.log(post)) - np.log(1.5), abs=1e-12)

    spec = ITSSpec(T0, 60, 30, censored=True, chart_depth=DEPTH, errors="ar1")
    ff = fit_frame(frame, spec, ["app_name"])
    eff = ff.effects
    assert set(eff["app_name"]) == {"Ref", "Signal", "Fast", "Late", "Top"}  # nobody silently dropped
    sig = eff.filter(pl.col("app_name") == "Signal").row(0, named=True)
    assert sig["kind"] == "bound" and sig["estimate"] is None and sig["bound"] == pytest.approx(s["bound"])
    assert eff.filter(pl.col("app_name") == "Late")["kind"].to_list() == ["not_identified"]
    assert set(eff.filter(pl.col("app_name") == "Ref")["kind"]) == {"estimate"}
    assert set(ff.skipped["app_name"]) == {"Signal", "Fast", "Late", "Top"}


def test_upper_bound_holds_for_the_true_level_change_in_simulation():
    """Latent log-rank around 6.5 (rank ~650, below the chart) drops by 4.5 at the cutoff: the
    bound must lie above the true change in every series."""
    rng = np.random.default_rng(3)
    true = -4.5
    rows = []
    for s in range(40):
        latent = 6.5 + rng.normal(0, 0.3, 90)
        latent[60:] += true
        ranks = np.round(np.exp(latent)).astype(int)
        rows += [{"date": day(i), "app_name": f"s{s}", "rank": int(ranks[i])} for i in range(90) if ranks[i] <= DEPTH]
        rows += [{"date": day(i), "app_name": "ref", "rank": 1} for i in range(90)] if s == 0 else []
    b = level_bounds(pl.DataFrame(rows), T0, DEPTH, keys=["app_name"], pre_days=60, post_days=30)
    b = b.filter(pl.col("app_name") != "ref")
    assert (b["kind"] == "bound").all()
    assert (b["bound"] >= true).all()
    assert b["bound"].mean() - true < 1.5  # informative: within 1.5 log-ranks of the truth here


def test_upper_bound_when_the_post_period_is_at_number_one():
    """Located pre-period (ranked ~150 or below the chart), then #1 on every post day but a few."""
    rng = np.random.default_rng(4)
    pre = noisy(rng, 5.0, [i for i in range(60) if i % 2])  # odd days ranked, even days below the chart
    post = {i: 1 for i in range(60, 90)} | {85: 2, 86: 2}
    frame = panel({"Ref": noisy(rng, 3.0, range(90)), "Signal": pre | post})
    b = level_bounds(frame, T0, DEPTH, keys=["app_name"], pre_days=60, post_days=30)
    s = b.filter(pl.col("app_name") == "Signal").row(0, named=True)
    lims = [np.log(pre[i]) if i in pre else np.log(DEPTH + 0.5) for i in range(60)]
    assert (s["kind"], s["side"]) == ("bound", "upper")
    assert s["bound"] == pytest.approx(np.log(1.5) - np.mean(lims), abs=1e-12)
    ff = fit_frame(frame, ITSSpec(T0, 60, 30, censored=True, chart_depth=DEPTH, errors="ar1"), ["app_name"])
    row = ff.effects.filter(pl.col("app_name") == "Signal").row(0, named=True)
    assert row["kind"] == "bound" and row["bound"] == pytest.approx(s["bound"])
