"""`exodus fit` on annual, quarterly and monthly series: frequency, HAC lag and correction, the
whole coefficient table, each number against statsmodels OLS with ``cov_type="HAC"``.

All series here are synthetic (generated in the tests with a fixed seed).
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy.signal import lfilter

from analysis import cli

TERMS = ("intercept", "pre_trend", "level", "slope_change", "post_trend")
# term -> weights on (intercept, trend, level, slope)
WEIGHTS = {"intercept": [1, 0, 0, 0], "pre_trend": [0, 1, 0, 0], "level": [0, 0, 1, 0],
           "slope_change": [0, 0, 0, 1], "post_trend": [0, 1, 0, 1]}


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(["fit", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def synthetic(n: int, cut: int, seed: int) -> np.ndarray:
    """Synthetic segmented series with AR(1) noise: level -3, slope change -1.5 per period at ``cut``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=float)
    post = (t >= cut).astype(float)
    return 50 + 0.5 * t - 3 * post - 1.5 * (t - cut) * post + lfilter([1.0], [1.0, -0.4], rng.normal(0, 1, n))


def statsmodels_terms(y: np.ndarray, cut: int, lags: int, correction: bool, alpha: float = 0.05) -> dict:
    import statsmodels.api as sm

    t = np.arange(y.size, dtype=float)
    post = (t >= cut).astype(float)
    X = np.column_stack([np.ones_like(t), t, post, (t - cut) * post])
    r = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": correction}, use_t=True)
    out = {}
    for name, w in WEIGHTS.items():
        tt = r.t_test(np.array([w], dtype=float))
        ci = np.asarray(tt.conf_int(alpha=alpha))[0]
        out[name] = {"estimate": float(np.squeeze(tt.effect)), "se": float(np.squeeze(tt.sd)),
                     "ci_low": float(ci[0]), "ci_high": float(ci[1]), "p": float(np.squeeze(tt.pvalue))}
    return out


def assert_terms_match(terms: list[dict], ref: dict) -> None:
    by_name = {t["name"]: t for t in terms}
    assert [t["name"] for t in terms] == list(TERMS)
    for name in TERMS:
        assert set(by_name[name]) == {"name", "estimate", "se", "ci_low", "ci_high", "p"}
        for key in ("estimate", "se", "ci_low", "ci_high"):
            assert by_name[name][key] == pytest.approx(ref[name][key], rel=1e-8, abs=1e-10), (name, key)
        assert by_name[name]["p"] == pytest.approx(ref[name]["p"], rel=1e-6, abs=1e-300), name


@pytest.fixture(scope="module")
def annual(tmp_path_factory):
    """31 synthetic yearly values 1970..2000, an intervention in 1989 (the 20th year), a year column."""
    y = synthetic(31, 19, seed=19)
    path = tmp_path_factory.mktemp("annual") / "annual.csv"
    pl.DataFrame({"year": np.arange(1970, 2001), "y": y}).write_csv(path)
    return path, y


@pytest.mark.parametrize(("lags", "correction"), [(1, "stata"), (3, "stata"), (2, "none"), (None, "stata")])
def test_annual_year_column_terms_equal_statsmodels_hac(annual, capsys, lags, correction):
    path, y = annual
    extra = ["--hac-lags", lags] if lags is not None else []
    code, out, _ = run(capsys, path, "--date-col", "year", "--outcome", "y", "--intervention", 1989, *extra,
                       "--hac-correction", correction, "--json")
    assert code == 0
    fit = json.loads(out)["fits"][0]
    m = fit["model"]
    assert (m["frequency"], m["frequency_inferred"], m["slope_unit"]) == ("annual", True, "per year")
    assert m["interventions"] == ["1989"] and (fit["n_pre"], fit["n_post"]) == (19, 12)
    used = 3 if lags is None else lags  # floor(4 (31/100)^(2/9)) = 3
    assert fit["diagnostics"]["hac_maxlags"] == used
    assert m["hac_lags"] == ("auto" if lags is None else lags) and m["hac_correction"] == correction
    assert_terms_match(fit["terms"], statsmodels_terms(y, 19, used, correction == "stata"))
    # the existing keys stay: effects.level and effects.slope are the table's level and slope_change
    lev = fit["effects"]["level"]
    assert lev["estimate"] == pytest.approx(fit["terms"][2]["estimate"], rel=1e-12)
    assert lev["p_value"] == pytest.approx(fit["terms"][2]["p"], rel=1e-12)
    assert fit["effects"]["slope"]["estimate"] == pytest.approx(fit["terms"][3]["estimate"], rel=1e-12)


def test_annual_dates_as_january_first_are_annual_not_monthly(annual, tmp_path, capsys):
    """Issue 19: YYYY-01-01 dates were read as monthly and the slope came out per month."""
    _, y = annual
    p = tmp_path / "jan1.csv"
    pl.DataFrame({"d": [f"{yr}-01-01" for yr in range(1970, 2001)], "y": y}).write_csv(p)
    code, out, _ = run(capsys, p, "--date-col", "d", "--outcome", "y", "--intervention", "1989-01-01", "--json")
    fit = json.loads(out)["fits"][0]
    assert code == 0 and fit["model"]["frequency"] == "annual"
    slope = {t["name"]: t for t in fit["terms"]}["slope_change"]["estimate"]
    assert slope == pytest.approx(statsmodels_terms(y, 19, 3, True)["slope_change"]["estimate"], rel=1e-10)
    assert slope == pytest.approx(-1.5, abs=0.3)  # the simulated truth, per year
    code, out, _ = run(capsys, p, "--date-col", "d", "--outcome", "y", "--intervention", "1989")
    assert code == 0 and "annual (inferred), slopes per year" in out
    assert "slope_change (per year)" in out and "post_trend (per year)" in out


def test_float_years_and_the_text_table(annual, tmp_path, capsys):
    _, y = annual
    p = tmp_path / "float_years.csv"
    p.write_text("yr,y\n" + "".join(f"{yr}.0,{v}\n" for yr, v in zip(range(1970, 2001), y, strict=True)))
    code, out, _ = run(capsys, p, "--date-col", "yr", "--outcome", "y", "--intervention", "1989", "--hac-lags", "1")
    assert code == 0
    ref = statsmodels_terms(y, 19, 1, True)
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("post_trend"))
    assert f"{ref['post_trend']['estimate']:.4g}" in line and f"{ref['post_trend']['se']:.4g}" in line
    assert "lag 1 (--hac-lags)" in out and "HAC lags 1" in out


@pytest.mark.parametrize(("freq", "interval", "n", "cut"), [("quarterly", "3mo", 40, 24), ("monthly", "1mo", 60, 36)])
def test_quarterly_and_monthly_terms_equal_statsmodels(tmp_path, capsys, freq, interval, n, cut):
    dates = pl.date_range(date(2010, 1, 1), date(2030, 1, 1), interval, eager=True).head(n)
    y = synthetic(n, cut, seed=n)
    p = tmp_path / f"{freq}.csv"
    pl.DataFrame({"d": dates, "y": y}).write_csv(p)
    code, out, _ = run(capsys, p, "--date-col", "d", "--outcome", "y", "--intervention", dates[cut], "--hac-lags", 2,
                       "--json")
    fit = json.loads(out)["fits"][0]
    assert code == 0 and fit["model"]["frequency"] == freq
    assert fit["model"]["slope_unit"] == f"per {'quarter' if freq == 'quarterly' else 'month'}"
    assert_terms_match(fit["terms"], statsmodels_terms(y, cut, 2, True))
    # stating the frequency gives the same fit, and says it was not inferred
    _, out2, _ = run(capsys, p, "--date-col", "d", "--outcome", "y", "--intervention", dates[cut], "--hac-lags", 2,
                     "--frequency", freq, "--json")
    f2 = json.loads(out2)["fits"][0]
    assert f2["terms"] == fit["terms"] and f2["model"]["frequency_inferred"] is False


def test_dates_off_the_stated_grid_are_refused_naming_the_row(tmp_path, capsys):
    p = tmp_path / "mixed.csv"
    p.write_text("d,y\n" + "".join(f"20{10 + i:02d}-01-01,{i}\n" for i in range(12)).replace("2015-01-01", "2015-02-01"))
    code, _, err = run(capsys, p, "--date-col", "d", "--outcome", "y", "--intervention", "2018", "--frequency", "annual")
    assert code == 2 and "column 'd', row 6" in err and "off the annual grid" in err and str(p) in err
    code, _, err = run(capsys, p, "--date-col", "d", "--outcome", "y", "--intervention", "2018-01-01",
                       "--frequency", "quarterly")
    assert code == 2 and "row 6" in err and "quarterly grid" in err


@pytest.mark.parametrize(("extra", "phrase"), [
    (["--intervention", "1989"], "is a year, which needs annual data"),
    (["--intervention", "2020-01-06", "--frequency", "annual"], "row 2: date off the annual grid"),
])
def test_a_year_intervention_needs_annual_data(tmp_path, capsys, extra, phrase):
    p = tmp_path / "weekly.csv"
    p.write_text("d,y\n" + "".join(f"{d},{i % 5}\n" for i, d in
                                   enumerate(pl.date_range(date(2019, 12, 30), date(2020, 12, 28), "1w", eager=True))))
    code, _, err = run(capsys, p, "--date-col", "d", "--outcome", "y", *extra)
    assert code == 2 and phrase in err


def test_year_column_with_another_frequency_and_bad_years_exit_2(annual, tmp_path, capsys):
    path, _ = annual
    code, _, err = run(capsys, path, "--date-col", "year", "--outcome", "y", "--intervention", "1989",
                       "--frequency", "monthly")
    assert code == 2 and "holds years" in err
    p = tmp_path / "half.csv"
    p.write_text("yr,y\n1990,1\n1991.5,2\n1992,3\n")
    code, _, err = run(capsys, p, "--date-col", "yr", "--outcome", "y", "--intervention", "1991")
    assert code == 2 and "column 'yr', row 2: not a year" in err and "1991.5" in err


@pytest.mark.parametrize(("extra", "phrase"), [(["--hac-lags", "-1"], "argument --hac-lags"),
                                               (["--hac-lags", "x"], "argument --hac-lags"),
                                               (["--frequency", "hourly"], "argument --frequency")])
def test_bad_option_values_exit_2(annual, capsys, extra, phrase):
    path, _ = annual
    with pytest.raises(SystemExit) as e:
        cli.main(["fit", str(path), "--date-col", "year", "--outcome", "y", "--intervention", "1989", *extra])
    assert e.value.code == 2 and phrase in capsys.readouterr().err


@pytest.mark.parametrize(("extra", "phrase"), [(["--errors", "ar1", "--hac-lags", "2"], "--hac-lags applies"),
                                               (["--errors", "iid", "--hac-correction", "none"], "--hac-correction none")])
def test_contradictory_hac_options_exit_2(annual, capsys, extra, phrase):
    path, _ = annual
    code, _, err = run(capsys, path, "--date-col", "year", "--outcome", "y", "--intervention", "1989", *extra)
    assert code == 2 and phrase in err


def test_monthly_dates_with_one_off_day_are_refused_not_read_as_daily(tmp_path, capsys):
    """Inference must not fall back to daily (slopes per day) because one date is off the grid."""
    p = tmp_path / "m.csv"
    p.write_text("m,y\n" + "".join(f"2020-{i:02d}-{'02' if i == 7 else '01'},{i % 4}\n" for i in range(1, 13)))
    code, out, err = run(capsys, p, "--date-col", "m", "--outcome", "y", "--intervention", "2020-06-01")
    assert code == 2 and out == "" and "row 7: date off the monthly grid" in err and "--frequency daily" in err
    code, out, _ = run(capsys, p, "--date-col", "m", "--outcome", "y", "--intervention", "2020-06-01",
                       "--frequency", "daily", "--errors", "iid", "--json")
    assert code == 0 and json.loads(out)["fits"][0]["model"]["slope_unit"] == "per day"  # stated, so honoured


def test_contrast_parallel_trends_are_per_period_like_the_main_slope(tmp_path, capsys):
    """Issue 19: the contrast's parallel-trends slope was per day while the main slope was per month."""
    from analysis.models.events.contrast import parallel_trends

    months = pl.date_range(date(2015, 1, 1), date(2019, 12, 1), "1mo", eager=True)
    rng = np.random.default_rng(3)
    n = months.len()
    rows = [pl.DataFrame({"m": months, "unit": u, "y": 10 + s * np.arange(n) + rng.normal(0, 0.3, n)})
            for u, s in (("T", 0.05), ("C", 0.02))]  # synthetic: pre-trend difference 0.03 per month
    p = tmp_path / "c.csv"
    pl.concat(rows).write_csv(p)
    code, out, _ = run(capsys, p, "--date-col", "m", "--outcome", "y", "--intervention", "2018-01-01",
                       "--contrast", "unit=T:C", "--errors", "iid", "--json")
    fit = json.loads(out)["fits"][0]
    d = rows[0]["y"].to_numpy() - rows[1]["y"].to_numpy()
    ref = parallel_trends(d, np.arange(n, dtype=float), 36.0, None, "none", "iid")
    assert code == 0 and fit["diagnostics"]["parallel_trends"]["slope_difference"] == pytest.approx(
        ref.slope_difference, rel=1e-10)
    assert ref.slope_difference == pytest.approx(0.03, abs=0.01)  # per month, not per day
