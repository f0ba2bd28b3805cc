"""`exodus fit`: the command-line contract, numbers against statsmodels, and input errors."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy.signal import lfilter

from analysis import cli
from analysis.models.engine.batched import newey_west_lags

T0 = date(2021, 1, 8)


@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    """Two countries of daily ranks with a level drop of 1.0 in log-rank at T0 (+ one other app)."""
    rng = np.random.default_rng(5)
    days = [T0 - timedelta(days=60) + timedelta(days=i) for i in range(90)]
    post = np.array([d >= T0 for d in days])
    rows = []
    for app in ("Signal", "Other"):
        for country in ("us", "de"):
            y = 4 + lfilter([1.0], [1.0, -0.5], rng.normal(0, 0.1, 90)) - (1.0 if app == "Signal" else 0) * post
            rows.append(pl.DataFrame({"day": days, "app": app, "country": country,
                                      "rank": np.round(np.exp(y)).astype(int)}))
    df = pl.concat(rows)
    path = tmp_path_factory.mktemp("fit") / "ranks.csv"
    df.write_csv(path)
    return path, df


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["fit", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_contract_with_groups_and_ratios(daily, capsys):
    path, _ = daily
    code, out, _ = run(capsys, path, "--date-col", "day", "--outcome", "rank", "--intervention", T0,
                       "--by", "app,country", "--transform", "log", "--errors", "ar1", "--json")
    assert code == 0
    fits = json.loads(out)["fits"]
    assert [f["group"] for f in fits] == [{"app": a, "country": c} for a in ("Other", "Signal") for c in ("de", "us")]
    f = fits[2]
    assert (f["n_pre"], f["n_post"]) == (60, 30)
    assert set(f["effects"]) == {"level", "slope"}
    assert set(f["effects"]["level"]) == {"kind", "estimate", "se", "ci_low", "ci_high", "p_value", "ratio", "ratio_ci_low",
                                          "ratio_ci_high"}
    assert f["model"]["errors"] == "ar1" and f["model"]["frequency"] == "daily"
    assert {"durbin_watson", "ljung_box_p", "residual_acf1", "warnings"} <= set(f["diagnostics"])
    assert abs(f["effects"]["level"]["estimate"] + 1.0) < 0.2 and f["effects"]["level"]["p_value"] < 1e-6
    assert abs(fits[0]["effects"]["level"]["estimate"]) < 0.2  # "Other" did not move


def test_numbers_equal_statsmodels_ols_hac_on_the_same_design(daily, capsys):
    path, df = daily
    _, out, _ = run(capsys, path, "--date-col", "day", "--outcome", "rank", "--intervention", T0,
                    "--where", "app=Signal", "--where", "country=us", "--transform", "log",
                    "--seasonality", "dow", "--json")
    lev = json.loads(out)["fits"][0]["effects"]["level"]
    s = df.filter(pl.col("app") == "Signal", pl.col("country") == "us").sort("day")
    t = np.arange(90.0)
    post = (t >= 60).astype(float)
    wd = s["day"].dt.weekday().to_numpy()
    X = np.column_stack([np.ones(90), t, post, (t - 60) * post] + [(wd == k).astype(float) for k in range(2, 8)])
    r = sm.OLS(np.log(s["rank"].to_numpy()), X).fit(cov_type="HAC", cov_kwds={"maxlags": newey_west_lags(90), "use_correction": True}, use_t=True)
    assert lev["estimate"] == pytest.approx(r.params[2], abs=1e-10)
    assert lev["se"] == pytest.approx(r.bse[2], rel=1e-9)
    assert lev["p_value"] == pytest.approx(r.pvalues[2], rel=1e-6)
    assert lev["ci_low"] == pytest.approx(r.conf_int()[2, 0], rel=1e-9)
    assert lev["ratio"] == pytest.approx(np.exp(r.params[2]))


def test_monthly_quasipoisson_with_exposure_equals_statsmodels(tmp_path, capsys):
    rng = np.random.default_rng(7)
    months = pl.date_range(date(2015, 1, 1), date(2020, 12, 1), "1mo", eager=True)
    n = months.len()
    t = np.arange(n, dtype=float)
    pop = rng.uniform(5e5, 6e5, n)
    post = (months >= date(2019, 1, 1)).to_numpy().astype(float)
    mu = pop * np.exp(-8 + 0.003 * t - 0.3 * post + 0.1 * np.sin(2 * np.pi * t / 12))
    y = rng.negative_binomial(20, 20 / (20 + mu))
    path = tmp_path / "monthly.parquet"
    pl.DataFrame({"month": months, "deaths": y, "pop": pop}).write_parquet(path)
    code, out, _ = run(capsys, path, "--date-col", "month", "--outcome", "deaths", "--intervention", "2019-01-01",
                       "--family", "quasipoisson", "--exposure", "pop", "--seasonality", "fourier:12:2",
                       "--errors", "iid", "--json")
    assert code == 0
    fit = json.loads(out)["fits"][0]
    assert fit["model"]["frequency"] == "monthly" and fit["n_pre"] == 48
    t0 = 48.0
    X = np.column_stack([np.ones(n), t, post, (t - t0) * post]
                        + [f(2 * np.pi * h * t / 12) for h in (1, 2) for f in (np.sin, np.cos)])
    r = sm.GLM(y, X, family=sm.families.Poisson(), exposure=pop).fit(scale="X2", use_t=True, tol=1e-13)
    lev = fit["effects"]["level"]
    assert lev["estimate"] == pytest.approx(r.params[2], abs=1e-8)
    assert lev["se"] == pytest.approx(r.bse[2], rel=1e-6)
    assert lev["ratio"] == pytest.approx(np.exp(r.params[2]))
    assert fit["diagnostics"]["dispersion"] == pytest.approx(r.scale, rel=1e-8)


def test_ar1_pulse_and_several_interventions(daily, capsys):
    path, _ = daily
    code, out, _ = run(capsys, path, "--date-col", "day", "--outcome", "rank", "--intervention", T0,
                       "--intervention", T0 + timedelta(days=10), "--where", "app=Signal", "--where", "country=de",
                       "--transform", "log", "--errors", "ar1", "--impact", "pulse", "--json")
    f = json.loads(out)["fits"][0]
    assert code == 0 and set(f["effects"]) == {"level", f"level@{T0 + timedelta(days=10)}"}
    assert 0 < f["diagnostics"]["rho"] < 1


def test_readable_table(daily, capsys):
    path, _ = daily
    code, out, _ = run(capsys, path, "--date-col", "day", "--outcome", "rank", "--intervention", T0,
                       "--by", "app", "--where", "country=us", "--transform", "log", "--errors", "ar1")
    assert code == 0
    assert "== app=Signal" in out and "ratio [95% CI]" in out and "rho" in out
    lines = [ln for ln in out.splitlines() if ln.strip().startswith("level")]
    assert len(lines) == 2


def test_group_without_post_period_is_reported_others_fitted(daily, tmp_path, capsys):
    path, df = daily
    cut = df.filter(~((pl.col("country") == "de") & (pl.col("day") >= T0)))
    p2 = tmp_path / "cut.csv"
    cut.write_csv(p2)
    code, out, err = run(capsys, p2, "--date-col", "day", "--outcome", "rank", "--intervention", T0,
                         "--by", "country", "--where", "app=Signal", "--json")
    fits = {f["group"]["country"]: f for f in json.loads(out)["fits"]}
    assert code == 0 and "no rows on or after" in fits["de"]["error"] and "level" in fits["us"]["effects"]
    assert "1 of 2 group(s) not estimable" in err


def write(tmp_path, text: str):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    return p


GOOD = "d,y,g\n" + "".join(f"2021-01-{i:02d},{10 + i},a\n" for i in range(1, 29))


@pytest.mark.parametrize(("text", "extra", "phrase"), [
    (GOOD.replace("2021-01-05,15", "2021-01-05,many"), [], "column 'y', row 5: not a number"),
    (GOOD.replace("2021-01-07,17", "2021-01-77,17"), [], "column 'd', row 7: unparseable date"),
    (GOOD.replace("2021-01-09,19", "2021-01-09,0"), ["--transform", "log"], "column 'y', row 9: log transform needs positive"),
    (GOOD.replace("2021-01-10,20", "2021-01-09,20"), [], "column 'd', row 10: duplicate date 2021-01-09"),
    (GOOD.replace("2021-01-03,13", "2021-01-03,-13"), ["--family", "poisson"], "row 3: family poisson needs non-negative"),
    (GOOD, ["--outcome", "z"], "missing column(s) ['z']"),
    (GOOD, ["--where", "g=b"], "no rows of"),
    (GOOD, ["--intervention", "2022-01-01"], "not inside the data"),
    (GOOD, ["--family", "poisson", "--transform", "log"], "log link already"),
    (GOOD, ["--exposure", "y"], "--exposure needs a count family"),
    (GOOD, ["--where", "g"], "--where expects COL=VALUE"),
])
def test_bad_input_names_file_column_row_and_exits_2(tmp_path, capsys, text, extra, phrase):
    p = write(tmp_path, text)
    argv = ["--date-col", "d", "--outcome", "y", "--intervention", "2021-01-15", *extra]
    if "--outcome" in extra:
        argv = ["--date-col", "d", "--intervention", "2021-01-15", *extra]
    code, _, err = run(capsys, p, *argv)
    assert code == 2
    assert phrase in err
    if "row" in phrase or "missing" in phrase:
        assert str(p) in err


@pytest.mark.parametrize("extra", [["--errors", "ar7"], ["--impact", "ramp"], ["--seasonality", "fourier:12:6"],
                                   ["--alpha", "2"], ["--intervention", "2021-13-01"]])
def test_bad_arguments_exit_2_naming_the_argument(tmp_path, capsys, extra):
    p = write(tmp_path, GOOD)
    with pytest.raises(SystemExit) as e:
        cli.main(["fit", str(p), "--date-col", "d", "--outcome", "y", "--intervention", "2021-01-15", *extra])
    assert e.value.code == 2
    assert f"argument {extra[0]}" in capsys.readouterr().err


def test_missing_file_exits_2(tmp_path, capsys):
    code, _, err = run(capsys, tmp_path / "nope.csv", "--date-col", "d", "--outcome", "y", "--intervention", "2021-01-15")
    assert code == 2 and "nope.csv: file not found" in err


def test_dow_on_monthly_data_is_refused(tmp_path, capsys):
    p = tmp_path / "m.csv"
    p.write_text("m,y\n" + "".join(f"2020-{i:02d}-01,{i}\n" for i in range(1, 13)))
    code, _, err = run(capsys, p, "--date-col", "m", "--outcome", "y", "--intervention", "2020-07-01", "--seasonality", "dow")
    assert code == 2 and "needs daily dates" in err and "monthly" in err


def test_autocorrelation_warning_is_one_json_entry(tmp_path, capsys):
    rng = np.random.default_rng(11)
    days = [T0 - timedelta(days=60) + timedelta(days=i) for i in range(90)]
    y = 3 + lfilter([1.0], [1.0, -0.9], rng.normal(0, 0.1, 90))
    p = tmp_path / "ac.csv"
    pl.DataFrame({"day": days, "y": y}).write_csv(p)
    _, out, _ = run(capsys, p, "--date-col", "day", "--outcome", "y", "--intervention", T0, "--json")
    warn = json.loads(out)["fits"][0]["diagnostics"]["warnings"]
    assert len(warn) == 1 and "too narrow" in warn[0] and "errors='ar1'" in warn[0]


def test_contrast_groups_carry_the_label_and_a_parallel_trends_test(daily, capsys):
    from analysis.models.events.contrast import parallel_trends

    path, df = daily
    code, out, _ = run(capsys, path, "--date-col", "day", "--outcome", "rank", "--intervention", T0, "--by", "app",
                       "--contrast", "country=us:de", "--transform", "log", "--errors", "ar1", "--json")
    assert code == 0
    fits = json.loads(out)["fits"]
    assert [f["group"] for f in fits] == [{"app": a, "contrast": "us - mean(de)"} for a in ("Other", "Signal")]
    assert fits[1]["model"]["contrast_scale"] == "log(outcome)"
    pt = fits[1]["diagnostics"]["parallel_trends"]
    assert set(pt) == {"slope_difference", "se", "p_value", "n_pre", "errors", "parallel"}
    w = df.filter(pl.col("app") == "Signal").pivot(on="country", index="day", values="rank").sort("day")
    d = np.log(w["us"].cast(pl.Float64).to_numpy()) - np.log(w["de"].cast(pl.Float64).to_numpy())
    # the contrast's level change is the model fitted to log(us) - log(de) by hand
    from analysis.models.engine import estimate as engine

    g = engine.fit_grid(d[None, :], np.arange(d.size, dtype=float), [60.0],
                        engine.ModelSpec("step+slope", "none", "ar1", transform="none"))
    assert fits[1]["effects"]["level"]["estimate"] == pytest.approx(g.fit.beta[0, g.design.col("level")], rel=1e-10)
    ref = parallel_trends(d, np.arange(d.size, dtype=float), 60.0, None, "none", "ar1")
    assert pt["slope_difference"] == pytest.approx(ref.slope_difference, rel=1e-10)
    assert pt["p_value"] == pytest.approx(ref.p_value, rel=1e-8)
    code, out, _ = run(capsys, path, "--date-col", "day", "--outcome", "rank", "--intervention", T0, "--by", "app",
                       "--contrast", "country=us:de", "--transform", "log")
    assert "== app=Other, contrast=us - mean(de)" in out and "parallel trends: pre-period slope difference" in out


def test_pool_adds_random_effects_estimates_across_groups(daily, capsys):
    from analysis.models.events.pooling import pool

    path, _ = daily
    code, out, _ = run(capsys, path, "--date-col", "day", "--outcome", "rank", "--intervention", T0,
                       "--intervention", T0 + timedelta(days=5), "--where", "app=Signal", "--by", "country",
                       "--transform", "log", "--errors", "ar1", "--impact", "step", "--pool", "--json")
    assert code == 0
    res = json.loads(out)
    pooled = {p["term"]: p for p in res["pooled"]}
    assert set(pooled) == {"level", f"level@{(T0 + timedelta(days=5)).isoformat()}"}
    assert set(pooled["level"]) == {"term", "estimate", "se", "ci_low", "ci_high", "tau2", "i2", "n_groups"}
    e = [f["effects"]["level"] for f in res["fits"]]
    ref = pool([x["estimate"] for x in e], [x["se"] for x in e], "reml")
    assert pooled["level"]["estimate"] == pytest.approx(ref.estimate, rel=1e-12)
    assert pooled["level"]["tau2"] == pytest.approx(ref.tau2, rel=1e-12) and pooled["level"]["n_groups"] == 2
    assert pooled["level"]["ci_low"] <= -1.0 <= pooled["level"]["ci_high"]


@pytest.mark.parametrize(("value", "phrase"), [("country=us", "expects COL=TREATED:C1"),
                                                ("country=us:us,de", "both treated and a control"),
                                                ("nation=us:de", "'nation'"),
                                                ("country=us:xx", "country = xx")])
def test_bad_contrast_exits_2(daily, capsys, value, phrase):
    path, _ = daily
    code, _, err = run(capsys, path, "--date-col", "day", "--outcome", "rank", "--intervention", T0,
                       "--by", "app", "--contrast", value)
    assert code == 2 and phrase in err
