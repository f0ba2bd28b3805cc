"""`exodus fit --group-col COL --treated VALUE`: the stacked two-group ITSA, every number against
statsmodels OLS with ``cov_type="hac-panel"`` (Newey-West within group) on synthetic annual,
quarterly and monthly series (generated here with fixed seeds)."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import polars as pl
import pytest

from analysis import cli

NAMES = ["intercept", "pre_trend", "level", "slope_change", "post_trend",
         "group", "group_trend", "group_level", "group_slope_change", "group_post_trend"]
# weights on the stacked columns (1, t, D, (t-t0)D, Z, Zt, ZD, Z(t-t0)D)
WEIGHTS = {"intercept": [0], "pre_trend": [1], "level": [2], "slope_change": [3], "post_trend": [1, 3],
           "group": [4], "group_trend": [5], "group_level": [6], "group_slope_change": [7],
           "group_post_trend": [5, 7]}


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(["fit", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def panel(dates: list, cut: int, seed: int, controls: int = 3, missing: tuple[int, int] | None = None) -> pl.DataFrame:
    """Synthetic: the treated unit drops 3 and bends by -1.5 per period at ``cut``; controls do not.
    ``missing``: (control index, period) left out of the file."""
    rng = np.random.default_rng(seed)
    n = len(dates)
    t = np.arange(n, dtype=float)
    post = (t >= cut).astype(float)
    rows = []
    for g in ["T", *(f"c{i}" for i in range(controls))]:
        y = 40 + 0.5 * t + rng.normal(0, 1, n) + (5 - 3 * post - 1.5 * (t - cut) * post if g == "T" else rng.normal(0, 2))
        rows += [{"when": d, "unit": g, "y": float(v)} for i, (d, v) in enumerate(zip(dates, y, strict=True))
                 if missing is None or (g, i) != (f"c{missing[0]}", missing[1])]
    return pl.DataFrame(rows)


def statsmodels_table(df: pl.DataFrame, dates: list, cut: int, lags: int, correction) -> dict:
    """The reference: controls averaged per period (all present), stacked, OLS hac-panel."""
    import statsmodels.api as sm

    wide = df.pivot(on="unit", index="when", values="y").sort("when")
    ctrl = [c for c in wide.columns if c.startswith("c")]
    pos = {d: i for i, d in enumerate(dates)}
    t1 = np.array([pos[d] for d in wide["when"]], dtype=float)
    y1 = wide["T"].to_numpy()
    y0 = wide.select(pl.mean_horizontal(ctrl).alias("m"), pl.all_horizontal(pl.col(ctrl).is_not_null()).alias("ok"))
    keep0 = y0["ok"].to_numpy()
    blocks = []
    for z, tt, yy in ((1.0, t1, y1), (0.0, t1[keep0], y0["m"].to_numpy()[keep0])):
        post = (tt >= cut).astype(float)
        base = np.column_stack([np.ones_like(tt), tt, post, (tt - cut) * post])
        blocks.append((np.hstack([base, z * base]), yy, np.full(tt.size, int(z))))
    X = np.vstack([b[0] for b in blocks])
    y = np.concatenate([b[1] for b in blocks])
    groups = np.concatenate([b[2] for b in blocks])
    r = sm.OLS(y, X).fit(cov_type="hac-panel", cov_kwds={"groups": groups, "maxlags": lags,
                                                          "use_correction": correction, "df_correction": False},
                         use_t=True)
    out = {}
    for name, cols in WEIGHTS.items():
        w = np.zeros(8)
        w[cols] = 1.0
        tt = r.t_test(w[None, :])
        ci = np.asarray(tt.conf_int())[0]
        out[name] = {"estimate": float(np.squeeze(tt.effect)), "se": float(np.squeeze(tt.sd)), "ci_low": ci[0],
                     "ci_high": ci[1], "p": float(np.squeeze(tt.pvalue))}
    return out


CASES = {
    "annual": ([int(y) for y in range(1970, 2001)], 19, "1989"),
    "quarterly": (pl.date_range(date(2010, 1, 1), date(2019, 10, 1), "3mo", eager=True).to_list(), 24, "2016-01-01"),
    "monthly": (pl.date_range(date(2015, 1, 1), date(2019, 12, 1), "1mo", eager=True).to_list(), 36, "2018-01-01"),
}


@pytest.mark.parametrize("freq", list(CASES))
@pytest.mark.parametrize(("lags", "correction"), [(2, "stata"), (1, "none")])
def test_two_group_terms_equal_statsmodels_hac_panel(tmp_path, capsys, freq, lags, correction):
    dates, cut, when = CASES[freq]
    df = panel(dates, cut, seed=len(dates), missing=(1, 5))  # one control missing in period 5: a gap
    p = tmp_path / f"{freq}.csv"
    df.write_csv(p)
    code, out, err = run(capsys, p, "--date-col", "when", "--outcome", "y", "--intervention", when,
                         "--group-col", "unit", "--treated", "T", "--hac-lags", lags, "--hac-correction", correction,
                         "--json")
    assert code == 0, err
    fit = json.loads(out)["fits"][0]
    assert fit["model"]["frequency"] == freq and fit["model"]["controls"] == ["c0", "c1", "c2"]
    n = len(dates)
    assert fit["diagnostics"]["n_treated"] == n and fit["diagnostics"]["n_control"] == n - 1
    ref = statsmodels_table(df, dates, cut, lags, "hac" if correction == "stata" else False)
    assert [t["name"] for t in fit["terms"]] == NAMES
    for t in fit["terms"]:
        for key in ("estimate", "se", "ci_low", "ci_high"):
            assert t[key] == pytest.approx(ref[t["name"]][key], rel=1e-8, abs=1e-10), (t["name"], key)
        assert t["p"] == pytest.approx(ref[t["name"]]["p"], rel=1e-6, abs=1e-300)
    assert fit["effects"]["level"]["estimate"] == pytest.approx(ref["group_level"]["estimate"], rel=1e-10)
    assert fit["effects"]["slope"]["estimate"] == pytest.approx(ref["group_slope_change"]["estimate"], rel=1e-10)


def test_by_groups_fit_their_own_two_group_panel(tmp_path, capsys):
    dates, cut, when = CASES["annual"]
    a, b = panel(dates, cut, 1).with_columns(pl.lit("a").alias("region")), panel(dates, cut, 2).with_columns(
        pl.lit("b").alias("region"))
    p = tmp_path / "two.csv"
    pl.concat([a, b]).write_csv(p)
    code, out, _ = run(capsys, p, "--date-col", "when", "--outcome", "y", "--intervention", when, "--by", "region",
                       "--group-col", "unit", "--treated", "T", "--hac-lags", 2, "--json")
    fits = json.loads(out)["fits"]
    assert code == 0 and [f["group"] for f in fits] == [{"region": "a"}, {"region": "b"}]
    ref = statsmodels_table(b, dates, cut, 2, "hac")
    assert fits[1]["terms"][7]["estimate"] == pytest.approx(ref["group_level"]["estimate"], rel=1e-10)
    assert fits[1]["terms"][7]["se"] == pytest.approx(ref["group_level"]["se"], rel=1e-8)


def test_two_group_text_names_the_design_and_the_unit(tmp_path, capsys):
    dates, cut, when = CASES["annual"]
    p = tmp_path / "a.csv"
    panel(dates, cut, 3).write_csv(p)
    code, out, _ = run(capsys, p, "--date-col", "when", "--outcome", "y", "--intervention", when,
                       "--group-col", "unit", "--treated", "T")
    assert code == 0 and "unit = T against the mean of 3 control(s) (c0, c1, c2)" in out
    assert "group_slope_change (per year)" in out and "group_level" in out


@pytest.mark.parametrize(("extra", "phrase"), [
    (["--group-col", "unit"], "go together"),
    (["--group-col", "unit", "--treated", "X"], "no rows of"),
    (["--group-col", "nope", "--treated", "T"], "missing column(s) ['nope']"),
    (["--treated", "T"], "go together"),
    (["--group-col", "unit", "--treated", "T", "--errors", "ar1"], "--errors hac or iid"),
    (["--group-col", "unit", "--treated", "T", "--impact", "pulse"], "step or step+slope"),
])
def test_bad_two_group_arguments_exit_2(tmp_path, capsys, extra, phrase):
    dates, cut, when = CASES["annual"]
    p = tmp_path / "a.csv"
    panel(dates, cut, 3).write_csv(p)
    code, _, err = run(capsys, p, "--date-col", "when", "--outcome", "y", "--intervention", when, *extra)
    assert code == 2 and phrase in err
