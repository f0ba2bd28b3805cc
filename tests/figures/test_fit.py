"""`exodus fit --figure`: the drawn paths are the fit's (checked against statsmodels), PNG and SVG
are written, bad paths exit 2 with nothing written.  All series synthetic (generated here)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from analysis import cli
from analysis.cli.fit import figure as fit_figure


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(["fit", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def annual(tmp_path_factory):
    rng = np.random.default_rng(2)
    t = np.arange(31.0)
    post = (t >= 19).astype(float)
    y = 50 + 0.5 * t - 3 * post - 1.5 * (t - 19) * post + rng.normal(0, 1, 31)  # synthetic
    path = tmp_path_factory.mktemp("fig") / "annual.csv"
    pl.DataFrame({"year": np.arange(1970, 2001), "y": y}).write_csv(path)
    return path, y


def chart_data(spec: dict) -> list[dict]:
    return next(iter(spec["datasets"].values()))


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_figure_is_written(annual, tmp_path, capsys, suffix):
    path, _ = annual
    out = tmp_path / f"fit{suffix}"
    code, text, _ = run(capsys, path, "--date-col", "year", "--outcome", "y", "--intervention", "1989",
                        "--figure", out, "--json")
    assert code == 0 and json.loads(text)["figure"] == str(out)
    head = out.read_bytes()[:8]
    assert head.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in out.read_bytes()[:200]


def test_drawn_paths_are_the_fitted_model(annual, capsys):
    """The figure's fitted and counterfactual values equal statsmodels' OLS fit of the same design."""
    import statsmodels.api as sm

    from analysis.cli.fit import command as cli_fit
    from analysis.figures.fit import chart

    path, y = annual
    args = _args(path)
    df, by, model = cli_fit.prepare(args)
    keep: dict = {}
    fits = cli_fit.fit_all(df, by, model, args, keep)
    frame = fit_figure.single_frame(keep, fits)
    t = np.arange(31.0)
    post = (t >= 19).astype(float)
    X = np.column_stack([np.ones(31), t, post, (t - 19) * post])
    r = sm.OLS(y, X).fit()
    assert frame["fitted"].to_numpy() == pytest.approx(r.fittedvalues, rel=1e-10)
    assert frame["counterfactual"][:19].null_count() == 19  # drawn after the intervention only
    assert frame["counterfactual"][19:].to_numpy() == pytest.approx(r.params[0] + r.params[1] * t[19:], rel=1e-10)
    assert frame["segment"].to_list() == [0] * 19 + [1] * 12
    spec = chart(frame, [df["year"].min().replace(year=1989)], "annual", "y", "", ["1989"]).to_dict()
    assert len(chart_data(spec)) == 31 and "1989" in json.dumps(spec["title"])


def _args(path):
    import argparse

    from analysis.cli.fit import command as cli_fit

    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    cli_fit.register(sub)
    return p.parse_args(["fit", str(path), "--date-col", "year", "--outcome", "y", "--intervention", "1989"])


@pytest.mark.parametrize(("name", "phrase"), [("fit.pdf", "must end in .png or .svg"),
                                              ("nodir/fit.png", "does not exist")])
def test_bad_figure_path_exits_2_and_writes_nothing(annual, tmp_path, capsys, name, phrase):
    path, _ = annual
    code, out, err = run(capsys, path, "--date-col", "year", "--outcome", "y", "--intervention", "1989",
                         "--figure", tmp_path / name)
    assert code == 2 and out == "" and phrase in err
    assert list(tmp_path.iterdir()) == []


def test_figure_with_censored_data_is_refused(annual, tmp_path, capsys):
    path, _ = annual
    code, _, err = run(capsys, path, "--date-col", "year", "--outcome", "y", "--intervention", "1989",
                       "--censored-above", "100", "--figure", tmp_path / "f.png")
    assert code == 2 and "not drawn for --censored-above" in err
