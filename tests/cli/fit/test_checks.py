"""`exodus fit` refusals before fitting: too few residual df, overflowing outcomes, HAC with a
segment shorter than the lag + 2, and the AR(1) boundary warning.  All data synthetic."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from analysis import cli
from analysis.models.engine import estimate as engine
from tests.cli.test_bad_input import CUSTOM, GOOD, HEADER, panel_rows  # noqa: F401


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(["fit", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def write(tmp_path, y, start=date(2021, 1, 1), **cols) -> str:
    p = tmp_path / "s.csv"
    days = [start + timedelta(days=i) for i in range(len(y))]
    pl.DataFrame({"d": days, "y": np.asarray(y, dtype=float), **cols}).write_csv(p)
    return p


@pytest.mark.parametrize(("n", "errors", "need"), [(4, "hac", 6), (4, "iid", 5), (7, "ar1", 10), (9, "ar1", 10)])
def test_too_few_residual_df_exit_2_naming_the_minimum(tmp_path, capsys, n, errors, need):
    """Issue 20: 4 rows gave ZeroDivisionError in batched.py; 5-7 rows with ar1 gave rho-hat -0.98, exit 0."""
    p = write(tmp_path, np.random.default_rng(n).normal(size=n) + np.arange(n))
    code, _, err = run(capsys, p, "--date-col", "d", "--outcome", "y", "--intervention", date(2021, 1, 3),
                       "--errors", errors)
    assert code == 2 and "Traceback" not in err
    assert f"{n} rows with a value, but 4 terms with errors {errors} need at least {need}" in err


def test_iid_at_the_minimum_fits(tmp_path, capsys):
    p = write(tmp_path, [1.0, 2.5, 2.9, 1.0, 0.2])
    code, out, _ = run(capsys, p, "--date-col", "d", "--outcome", "y", "--intervention", date(2021, 1, 3),
                       "--errors", "iid", "--json")
    fit = json.loads(out)["fits"][0]
    assert code == 0 and fit["diagnostics"]["n"] == 5  # 4 terms + 1 residual df


def test_one_row_per_group_is_refused_with_the_reason(tmp_path, capsys):
    p = tmp_path / "g.csv"
    p.write_text("d,y,g\n2021-01-01,1,a\n2021-01-02,2,b\n2021-01-03,3,c\n")
    code, _, err = run(capsys, p, "--date-col", "d", "--outcome", "y", "--intervention", "2021-01-02", "--by", "g")
    assert code == 2 and "group g=a: 1 rows with a value" in err and "need at least 6" in err
    assert "Warning" not in err


def test_outcomes_near_1e300_are_refused_naming_the_row(tmp_path, capsys):
    y = np.arange(20.0) * 1e299
    p = write(tmp_path, y)
    code, out, err = run(capsys, p, "--date-col", "d", "--outcome", "y", "--intervention", date(2021, 1, 10))
    assert code == 2 and out == "" and "column 'y', row 2: too large" in err


def two_events(n=60, seed=1):
    """Synthetic: AR(1) noise, events on day 40 and day 41 (a one-day segment)."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 5 + lfilter([1.0], [1.0, -0.5], rng.normal(0, 0.3, n)) - 1.0 * (t >= 40) + 0.5 * (t >= 41)


def test_hac_with_a_one_day_event_segment_is_refused_and_names_it(tmp_path, capsys):
    """Issue 19: a one-day segment has leverage 1; HAC covered 37-49%.  Refused, ar1 suggested."""
    p = write(tmp_path, two_events())
    code, out, err = run(capsys, p, "--date-col", "d", "--outcome", "y", "--intervention", date(2021, 2, 10),
                         "--intervention", date(2021, 2, 11), "--impact", "step", "--errors", "hac")
    assert code == 2 and out == ""
    assert "the segment from 2021-02-10 has 1 daily period(s) with a value, fewer than the HAC lag 3 + 2" in err
    assert "--errors ar1" in err


def test_hac_segment_rule_uses_the_chosen_lag(tmp_path, capsys):
    p = write(tmp_path, two_events())
    base = ["--date-col", "d", "--outcome", "y", "--impact", "step", "--errors", "hac",
            "--intervention", date(2021, 2, 10), "--intervention", date(2021, 2, 13)]  # a 3-day segment
    code, _, err = run(capsys, p, *base)
    assert code == 2 and "has 3 daily period(s)" in err  # automatic lag 3: needs 5
    code, out, _ = run(capsys, p, *base, "--hac-lags", "1", "--json")
    assert code == 0 and json.loads(out)["fits"][0]["diagnostics"]["hac_maxlags"] == 1


def test_several_interventions_default_to_ar1(tmp_path, capsys):
    p = write(tmp_path, two_events())
    code, out, _ = run(capsys, p, "--date-col", "d", "--outcome", "y", "--intervention", date(2021, 2, 10),
                       "--intervention", date(2021, 2, 11), "--impact", "step", "--json")
    fit = json.loads(out)["fits"][0]
    assert code == 0 and fit["model"]["errors"] == "ar1"
    assert "[default for several interventions]" in fit["model"]["description"]
    assert [t["name"] for t in fit["terms"]] == ["intercept", "pre_trend", "level", "level@2021-02-11", "rho"]
    g = engine.fit_grid(two_events()[None], np.arange(60.0), [40.0, 41.0], engine.ModelSpec(
        "step", "none", "ar1", transform="none"), labels=["a", "b"])
    assert fit["terms"][3]["estimate"] == pytest.approx(g.fit.beta[0, 3], rel=1e-10)
    assert fit["terms"][4]["estimate"] == pytest.approx(g.fit.extra["rho"][0], rel=1e-10)
    assert fit["terms"][4]["se"] is None


def test_rho_at_the_lower_bound_warns():
    rng = np.random.default_rng(0)
    t = np.arange(40.0)
    y = 10 + (-1) ** t + rng.normal(0, 0.01, 40)  # synthetic, alternating: rho-hat runs to -0.98
    g = engine.fit_grid(y[None], t, [20.0], engine.ModelSpec("step+slope", "none", "ar1", transform="none"))
    w = engine.warnings_for(g, engine.diagnostics_arrays(g))[0]
    assert g.fit.extra["rho"][0] == pytest.approx(-0.98, abs=1e-6)
    assert "lower bound of its search range" in w


def test_a_short_group_among_others_is_reported_without_numpy_warnings(tmp_path, capsys):
    """Issue 20: one row (or a few) per --by group printed RuntimeWarnings and a misleading message."""
    rng = np.random.default_rng(1)
    rows = [{"d": date(2021, 1, 1) + timedelta(days=i), "g": "a", "y": float(rng.normal())} for i in range(30)]
    rows += [{"d": date(2021, 1, 13 + i), "g": "b", "y": float(i % 2)} for i in range(4)]
    p = tmp_path / "mix.csv"
    pl.DataFrame(rows).write_csv(p)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a numpy warning would fail the run
        code, out, err = run(capsys, p, "--date-col", "d", "--outcome", "y", "--intervention", date(2021, 1, 15),
                             "--by", "g", "--json")
    fits = {f["group"]["g"]: f for f in json.loads(out)["fits"]}
    assert code == 0 and "1 of 2 group(s) not estimable" in err
    assert fits["b"]["error"] == ("4 rows with a value, but 4 terms with errors hac need at least 6 "
                                  "(2 residual degrees of freedom)")
    assert [t["name"] for t in fits["a"]["terms"]][:3] == ["intercept", "pre_trend", "level"]


@pytest.mark.slow
def test_why_hac_is_refused_coverage_with_a_one_day_segment():
    """The simulation behind check_segments (synthetic, 300 series): two events one day apart,
    AR(1) errors (rho 0.5).  HAC intervals cover far below 95%, AR(1) intervals cover."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(2026)
    S, T = 300, 90
    t = np.arange(T, dtype=float)
    truth = np.array([-0.5, 0.5])
    y = 5 + lfilter([1.0], [1.0, -0.5], rng.normal(0, 0.3, (S, T)), axis=1) + truth[0] * (t >= 60) + truth[1] * (t >= 61)
    cover = {}
    for errors in ("hac", "ar1"):
        g = engine.fit_grid(y, t, [60.0, 61.0], engine.ModelSpec("step", "none", errors, transform="none"),
                            labels=["a", "b"])
        q = g.crit()
        cover[errors] = [float(np.mean(np.abs(g.fit.beta[:, g.design.col(n)] - v) <= q * g.fit.se[:, g.design.col(n)]))
                         for n, v in zip(("level", "level@b"), truth, strict=True)]
    assert max(cover["hac"]) < 0.6  # measured 0.437 and 0.387
    assert min(cover["ar1"]) > 0.9  # measured 0.970 and 0.943


DAYS = [date(2021, 1, 1) + __import__("datetime").timedelta(days=i) for i in range(40)]


def _fit(capsys, path, *extra):
    code = cli.main(["fit", str(path), "--date-col", "d", "--outcome", "y", "--intervention", "2021-01-20", *extra])
    err = capsys.readouterr().err.strip()
    print(err)
    return code, err


def _frame(y, **cols) -> pl.DataFrame:
    return pl.DataFrame({"d": DAYS[: len(y)], "y": y, **cols})


@pytest.mark.parametrize(("make", "extra", "phrases"), [
    (lambda: _frame([5.0] * 40), [], ["group (the only group)", "constant (5 on all 40 rows)"]),
    (lambda: pl.concat([_frame([float(i % 7) + i / 10 for i in range(40)], g=["a"] * 40),
                        _frame([float(i % 5) + i / 7 for i in range(30)], g=["b"] * 30)]),
     ["--intervention", "2021-02-05", "--by", "g", "--seasonality", "none"],
     ["group g=b", "rank-deficient", "level@2021-02-05"]),
    (lambda: _frame([1.0 + i for i in range(39)] + [float("inf")]), [], ["column 'y', row 40", "not a finite number"]),
    (lambda: _frame(DAYS[:40]), [], ["column 'y'", "type Date", "refused rather than cast"]),
    (lambda: _frame([i % 2 == 0 for i in range(40)]), [], ["column 'y'", "type Boolean"]),
    (lambda: _frame([[1.0, 2.0]] * 40), [], ["column 'y'", "type List"]),
    (lambda: _frame([1.0 + i for i in range(40)]), ["--outcome", "d"], ["--outcome and --date-col are the same column 'd'"]),
])
def test_fit_refuses_degenerate_designs_naming_group_or_row(make, extra, phrases, tmp_path, capsys):
    path = tmp_path / "data.parquet"
    make().write_parquet(path)
    code, err = _fit(capsys, path, *extra)
    assert code == 2 and err.startswith("exodus: error: ") and "\n" not in err and "Traceback" not in err
    for phrase in phrases:
        assert phrase in err, (phrase, err)


def test_fit_caps_what_by_may_allocate(tmp_path, capsys):
    n = 5000  # one group per row, 5,000 days: 25 million cells
    days = pl.date_range(date(2000, 1, 1), date(2000, 1, 1) + __import__("datetime").timedelta(days=n - 1), "1d", eager=True)
    path = tmp_path / "wide.csv"
    pl.DataFrame({"d": days, "y": [float(i % 9) for i in range(n)], "id": [f"r{i}" for i in range(n)]}).write_csv(path)
    code = cli.main(["fit", str(path), "--date-col", "d", "--outcome", "y", "--intervention", "2005-01-01", "--by", "id"])
    err = capsys.readouterr().err.strip()
    print(err)
    assert code == 2 and "5,000 groups x 5,000 periods = 25,000,000 cells" in err and "unique per row" in err


def test_fit_names_the_row_of_a_ragged_csv(tmp_path, capsys):
    path = tmp_path / "ragged.csv"
    path.write_text("d,y\n" + "".join(f"{d},{i}\n" for i, d in enumerate(DAYS)).replace("2021-01-04,3\n", "2021-01-04,3,9\n"))
    code, err = _fit(capsys, path)
    assert code == 2 and "ragged.csv" in err and "row 4" in err and "truncate_ragged_lines" not in err
