"""`exodus fit --censored-above`: the study's event design and entry bounds (one design path).

Empty outcomes are censored, absent dates are gaps; every event of every group gets a row.
All series are synthetic (generated here with fixed seeds)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.signal import lfilter

from analysis import cli
from analysis.models.engine import estimate as engine
from analysis.models.engine.design import Impact
from analysis.models.events.design import EventDesign, EventTerm
from analysis.models.events.fit import fit_events

START = date(2021, 1, 1)
T1, T2 = 60, 61  # two events one day apart
DEPTH = 200


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = cli.main(["fit", *map(str, argv)])
    except SystemExit as exc:  # argparse rejects the argument itself
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def simulate(seed: int = 4) -> pl.DataFrame:
    """A study-format panel of synthetic ranks: AR(1) log-ranks around 150, two level drops of 0.5
    at days 60 and 61; series s0-s2 are below the chart (censored) on day 60, s5 on every
    pre-period day, s6 has no snapshot on two days (gaps)."""
    rng = np.random.default_rng(seed)
    t = np.arange(90)
    rows = []
    for g in range(7):
        y = np.log(150) + lfilter([1], [1, -0.5], rng.normal(0, 0.15, 90)) - 0.5 * (t >= T1) - 0.5 * (t >= T2)
        r = np.round(np.exp(y))
        if g < 3:
            r[T1] = 500
        if g == 5:
            r[:T1] = 500
        for i in range(90):
            if g == 6 and i in (20, 21):
                continue
            rows.append({"app_name": f"s{g}", "country": "us", "store": "ios", "date": START + timedelta(days=i),
                         "rank": None if r[i] > DEPTH else int(r[i]),
                         "status": "censored" if r[i] > DEPTH else "observed"})
    return pl.DataFrame(rows)


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    df = simulate()
    path = tmp_path_factory.mktemp("cens") / "ranks.csv"
    df.drop("status").write_csv(path)  # censored rows: empty rank; absent rows: gaps
    return path, df


def design(shape: str = "step") -> EventDesign:
    terms = tuple(EventTerm(d.isoformat(), (d.isoformat(),), d, Impact.parse(shape), ("intervention",),
                            (d.isoformat(),)) for d in (START + timedelta(days=T1), START + timedelta(days=T2)))
    empty_m = pl.DataFrame(schema={"term_id": pl.String, "events": pl.String, "first_snapshot": pl.Date,
                                   "reason": pl.String})
    return EventDesign(terms, START, START + timedelta(days=89), empty_m,
                       pl.DataFrame(schema={"event_id": pl.String, "reason": pl.String}))


def fit_json(capsys, path, *extra) -> list[dict]:
    code, out, err = run(capsys, path, "--date-col", "date", "--outcome", "rank", "--by", "app_name,country,store",
                         "--intervention", START + timedelta(days=T1), "--intervention", START + timedelta(days=T2),
                         "--impact", "step", "--transform", "log", "--seasonality", "dow", "--censored-above", DEPTH,
                         "--json", *extra)
    assert code == 0, err
    return json.loads(out)["fits"]


def test_same_panel_gives_the_same_rows_as_the_study(panel, capsys):
    """Issue 17: one design path.  Every number of `exodus fit` is the study's fit_events row."""
    path, df = panel
    fits = fit_json(capsys, path)
    study = fit_events(df, design(), seasonality="dow").effects.filter(pl.col("estimand") != "window_average")
    assert len(fits) == 7 and study.height == 14
    first = (START + timedelta(days=T1)).isoformat()
    for f in fits:
        rows = study.filter(pl.col("app_name") == f["group"]["app_name"]).to_dicts()
        assert len(rows) == len(f["effects"]) == 2  # every event has a row
        for r in rows:
            e = f["effects"]["level" if r["event_id"] == first else f"level@{r['event_id']}"]
            assert e["kind"] == r["kind"] and e["reason"] == r["reason"]
            for key in ("estimate", "se", "ci_low", "ci_high", "bound"):
                assert e.get(key) == (pytest.approx(r[key], rel=1e-12) if r[key] is not None else None), key
    assert fits[0]["model"]["censoring_threshold"] == pytest.approx(np.log(DEPTH + 0.5))
    by = {f["group"]["app_name"]: f for f in fits}
    assert by["s6"]["diagnostics"]["n"] == 88 and by["s4"]["diagnostics"]["n_censored"] == 0


def test_a_censored_event_day_keeps_the_series(panel, capsys):
    """Issue 19: a censored one-day event segment made the design rank deficient and dropped the
    series.  Now the first event has a row with the reason, and the second the cumulative change,
    equal to the censored AR(1) fit without the first event's term."""
    path, df = panel
    s0 = next(f for f in fit_json(capsys, path) if f["group"]["app_name"] == "s0")
    assert "error" not in s0
    lev1, lev2 = s0["effects"]["level"], s0["effects"][f"level@{START + timedelta(days=T2)}"]
    assert lev1["kind"] == "not_identified" and "level is not located" in lev1["reason"]
    assert lev2["kind"] == "estimate" and "cumulative change" in lev2["reason"]
    g = df.filter(pl.col("app_name") == "s0").sort("date")
    flag = (g["status"] == "censored").to_numpy().astype(float)[None]
    y = np.where(flag > 0, np.log(DEPTH + 0.5), np.log(g["rank"].cast(pl.Float64).fill_null(1.0).to_numpy()))
    model = engine.ModelSpec("step", "dow", "ar1", transform="log", censored=True)
    ref = engine.fit_grid(y, np.arange(90.0), [float(T2)], model, labels=["b"], weekday=g["date"].dt.weekday().to_numpy(),
                          flag=flag, impacts=[Impact.parse("step")], name_all=True)
    assert lev2["estimate"] == pytest.approx(ref.fit.beta[0, ref.design.col("level@b")], rel=1e-10)
    assert lev2["ci_low"] <= -1.0 <= lev2["ci_high"]  # the simulated cumulative change


def test_a_censored_pre_period_gets_the_entry_bound_and_the_second_event_a_row(panel, capsys):
    """Issue 19: with every pre-event day censored the bound averaged days t1..t1+2 (both events)
    and the second event had no row.  The entry bound uses the first event's segment only."""
    path, df = panel
    s5 = next(f for f in fit_json(capsys, path) if f["group"]["app_name"] == "s5")
    lev1, lev2 = s5["effects"]["level"], s5["effects"][f"level@{START + timedelta(days=T2)}"]
    seg = df.filter(pl.col("app_name") == "s5").sort("date")["rank"][T1:T2].cast(pl.Float64).to_numpy()
    assert (lev1["kind"], lev1["side"]) == ("bound", "upper")
    assert lev1["bound"] == pytest.approx(np.mean(np.log(seg)) - np.log(DEPTH + 0.5), rel=1e-12)
    assert lev2["kind"] == "estimate" and lev2["ci_low"] <= -0.5 <= lev2["ci_high"]


def test_censored_table_prints_bounds_and_reasons(panel, capsys):
    path, _ = panel
    code, out, _ = run(capsys, path, "--date-col", "date", "--outcome", "rank", "--by", "app_name",
                       "--intervention", START + timedelta(days=T1), "--intervention", START + timedelta(days=T2),
                       "--impact", "step", "--transform", "log", "--censored-above", DEPTH)
    assert code == 0
    assert "bound: change <=" in out and "not identified: no day with a value" in out and "app_name=s5" in out


@pytest.mark.parametrize(("extra", "message"), [
    (["--censored-above", "x"], "not a number"),
    (["--censored-above", "100"], "row"),  # observed ranks above 100
    (["--censored-above", "200", "--family", "poisson", "--transform", "none"], "needs --family gaussian"),
    (["--censored-above", "-1"], "must be positive"),
    (["--censored-above", "200", "--impact", "pulse"], "not pulse"),
    (["--censored-above", "200", "--errors", "hac", "--hac-lags", "2"], "automatic Newey-West lag"),
])
def test_bad_censoring_arguments_exit_2(panel, capsys, extra, message):
    path, _ = panel
    code, _, err = run(capsys, path, "--date-col", "date", "--outcome", "rank", "--by", "app_name",
                       "--intervention", START + timedelta(days=T1), "--transform", "log", *extra)
    assert code == 2 and message in err
