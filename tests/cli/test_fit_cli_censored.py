"""`exodus fit --censored-above`: empty outcomes are censored, absent dates are gaps, bounds in the JSON."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.signal import lfilter

from analysis import cli
from analysis.models.engine import estimate as engine

T0 = date(2021, 1, 8)
DEPTH = 200
NO_SNAPSHOT = (20, 21)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Group a: around rank 180, often censored, climbs 1.0 log-rank at T0; group b: below the
    chart (~rank 1100) throughout the pre-period, climbs 4.0 log-rank.  Two dates have no rows."""
    rng = np.random.default_rng(1)
    days = [T0 - timedelta(days=60) + timedelta(days=i) for i in range(90)]
    post = np.array([d >= T0 for d in days])
    rows = []
    for g, base, eff in (("a", 5.2, -1.0), ("b", 7.0, -4.0)):
        y = base + lfilter([1.0], [1.0, -0.6], rng.normal(0, 0.15, 90)) + eff * post
        r = np.round(np.exp(y))
        rows += [{"day": d.isoformat(), "grp": g, "rank": "" if v > DEPTH else str(int(v))}
                 for i, (d, v) in enumerate(zip(days, r, strict=True)) if i not in NO_SNAPSHOT]
    df = pl.DataFrame(rows)
    path = tmp_path_factory.mktemp("cens") / "ranks.csv"
    df.write_csv(path)
    return path, df, days


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(["fit", *map(str, argv)])
    except SystemExit as exc:  # argparse rejects the argument itself
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_censored_ar1_json_estimates_and_bounds(ranks, capsys):
    path, df, days = ranks
    code, out, _ = run(capsys, path, "--date-col", "day", "--outcome", "rank", "--intervention", T0, "--by", "grp",
                       "--transform", "log", "--errors", "ar1", "--seasonality", "dow", "--censored-above", DEPTH,
                       "--json")
    assert code == 0
    a, b = json.loads(out)["fits"]
    assert a["model"]["censored_above"] == DEPTH and "AR(1)" in a["model"]["description"]
    assert {e["kind"] for e in a["effects"].values()} == {"estimate"}
    ga = df.filter(pl.col("grp") == "a")
    # absent dates are gaps: n counts the rows of the file, n_censored its empty outcomes
    assert a["diagnostics"]["n"] == ga.height == 88
    assert a["diagnostics"]["n_censored"] == (ga["rank"] == "").sum() > 10
    # same numbers as the engine on a grid built here (gaps NaN, censored rows at log(DEPTH))
    Y = np.full((1, 90), np.nan)
    flag = np.zeros((1, 90))
    for i, d in enumerate(days):
        hit = ga.filter(pl.col("day") == d.isoformat())
        if hit.height:
            v = hit["rank"][0]
            Y[0, i], flag[0, i] = (np.log(DEPTH), 1.0) if v == "" else (np.log(float(v)), 0.0)
    model = engine.ModelSpec(impact="step+slope", seasonality="dow", errors="ar1", transform="log", censored=True)
    g = engine.fit_grid(Y, np.arange(90.0), [60.0], model, labels=[T0.isoformat()],
                        weekday=np.array([d.isoweekday() for d in days]), flag=flag)
    assert a["effects"]["level"]["estimate"] == pytest.approx(g.fit.beta[0, g.design.col("level")], abs=1e-10)
    assert abs(a["effects"]["level"]["estimate"] + 1.0) < 3 * a["effects"]["level"]["se"]
    lev = b["effects"]["level"]
    assert set(b["effects"]) == {"level"} and "error" not in b
    assert (lev["kind"], lev["side"]) == ("bound", "upper")
    assert all(lev[k] is None for k in ("estimate", "se", "ci_low", "ci_high", "p_value"))
    first = [float(v) for v in df.filter(pl.col("grp") == "b", pl.col("day") >= T0.isoformat()).sort("day")["rank"][:3]]
    assert lev["bound"] == pytest.approx(np.mean(np.log(first)) - np.log(DEPTH), abs=1e-12)
    assert lev["bound"] >= -4.0 and "assuming" in lev["reason"]


def test_censored_table_prints_the_bound(ranks, capsys):
    path, _, _ = ranks
    code, out, _ = run(capsys, path, "--date-col", "day", "--outcome", "rank", "--intervention", T0, "--by", "grp",
                       "--transform", "log", "--errors", "hac", "--censored-above", DEPTH)
    assert code == 0
    assert "bound: level change <=" in out and "grp=a" in out


@pytest.mark.parametrize(("extra", "message"), [
    (["--censored-above", "x"], "not a number"),
    (["--censored-above", "100"], "row"),  # observed ranks above 100
    (["--censored-above", "200", "--family", "poisson", "--transform", "none"], "needs --family gaussian"),
    (["--censored-above", "-1"], "must be positive"),
])
def test_bad_censoring_arguments_exit_2(ranks, capsys, extra, message):
    path, _, _ = ranks
    code, _, err = run(capsys, path, "--date-col", "day", "--outcome", "rank", "--intervention", T0, "--by", "grp",
                       "--transform", "log", *extra)
    assert code == 2 and message in err
